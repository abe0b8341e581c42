"""The main navigation: one entry per screen, shown to the roles that may open it.

A new screen adds one NavItem here (its route checks the same roles with page_user()).
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


NAV: list[NavItem] = [
    NavItem("/", N_("Home")),
    NavItem("/companies", N_("Companies")),
    NavItem("/contacts", N_("Contacts")),
    NavItem("/reactivation", N_("Reactivation list")),
    # Sales reads the figures too (read-only): it follows up on what a campaign stirred.
    NavItem("/campaigns", N_("Campaigns")),
    NavItem("/duplicates", N_("Duplicates"), frozenset({Role.MARKETING.value})),
    NavItem("/quality", N_("Data quality"), frozenset({Role.MARKETING.value})),
    NavItem("/segments", N_("Segments"), frozenset({Role.MARKETING.value})),
    NavItem("/templates", N_("Templates"), frozenset({Role.MARKETING.value})),
    # Everyone reads the contact policy (why did this customer get no mail?); marketing edits.
    NavItem("/cadence", N_("Contact policy")),
    NavItem("/admin/users", N_("Users"), frozenset()),
]
