"""The main navigation: one entry per screen, shown to the roles that may open it.

Screens of one kind share a menu (顧客データ, メール配信) so the bar fits a laptop
screen with every entry visible. A new screen adds one NavItem here (its route checks
the same roles with page_user()).
"""

from __future__ import annotations

from dataclasses import dataclass

from mezame.vocabulary import Role
from mezame.web.labels import N_

EVERYONE = frozenset({Role.MARKETING.value, Role.SALES.value})


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # English msgid
    roles: frozenset[str] = EVERYONE  # admin always sees everything

    def visible_to(self, role: str) -> bool:
        return role == Role.ADMIN.value or role in self.roles

    def is_active(self, current_path: str) -> bool:
        if self.path == "/":
            return current_path == "/"
        return current_path == self.path or current_path.startswith(self.path + "/")


@dataclass(frozen=True)
class NavGroup:
    """A menu of screens under one label."""

    label: str  # English msgid
    items: tuple[NavItem, ...]


@dataclass(frozen=True)
class MenuEntry:
    """What one user sees in the bar: a link, or a menu of links (`children`)."""

    label: str
    path: str | None  # None for a menu
    active: bool  # this page, or a page of this menu
    children: tuple[MenuEntry, ...] = ()


NAV: list[NavItem | NavGroup] = [
    NavItem("/", N_("Home")),
    NavItem("/reactivation", N_("Reactivation list")),
    NavGroup(
        N_("Customer data"),
        (
            NavItem("/companies", N_("Companies")),
            NavItem("/contacts", N_("Contacts")),
            NavItem("/duplicates", N_("Duplicates"), frozenset({Role.MARKETING.value})),
            NavItem("/quality", N_("Data quality"), frozenset({Role.MARKETING.value})),
        ),
    ),
    NavGroup(
        N_("Email marketing"),
        (
            # Sales reads the figures too (read-only): it follows up on what a campaign stirred.
            NavItem("/campaigns", N_("Campaigns")),
            NavItem("/segments", N_("Segments"), frozenset({Role.MARKETING.value})),
            NavItem("/templates", N_("Templates"), frozenset({Role.MARKETING.value})),
            # Everyone reads the contact policy (why did this customer get no mail?).
            NavItem("/cadence", N_("Contact policy")),
        ),
    ),
    NavItem("/admin/users", N_("Users"), frozenset()),
]


def menu_for(role: str, current_path: str, nav: list[NavItem | NavGroup] = NAV) -> list[MenuEntry]:
    """The bar as this role sees it on this page; a menu with nothing to show is left out."""
    entries: list[MenuEntry] = []
    for entry in nav:
        if isinstance(entry, NavItem):
            if entry.visible_to(role):
                entries.append(_link(entry, current_path))
            continue
        children = tuple(_link(i, current_path) for i in entry.items if i.visible_to(role))
        if children:
            active = any(c.active for c in children)
            entries.append(MenuEntry(entry.label, None, active, children))
    return entries


def _link(item: NavItem, current_path: str) -> MenuEntry:
    return MenuEntry(item.label, item.path, item.is_active(current_path))
