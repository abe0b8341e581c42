"""The main menu: who sees which screen, and which entry is lit on a page."""

from __future__ import annotations

from mezame.web.navigation import NAV, MenuEntry, NavGroup, NavItem, menu_for


def _paths(entries: list[MenuEntry]) -> set[str]:
    found: set[str] = set()
    for entry in entries:
        if entry.path is not None:
            found.add(entry.path)
        found |= {c.path for c in entry.children if c.path is not None}
    return found


def _every_path() -> set[str]:
    paths: set[str] = set()
    for entry in NAV:
        items = entry.items if isinstance(entry, NavGroup) else (entry,)
        paths |= {i.path for i in items}
    return paths


def test_admin_sees_every_screen() -> None:
    assert _paths(menu_for("admin", "/")) == _every_path()


def test_sales_sees_no_marketing_or_admin_screen() -> None:
    paths = _paths(menu_for("sales", "/"))
    assert {"/campaigns", "/cadence", "/companies", "/reactivation"} <= paths
    assert not paths & {"/segments", "/templates", "/duplicates", "/quality", "/admin/users"}


def test_the_page_and_its_menu_are_lit() -> None:
    entries = menu_for("marketing", "/segments/12")
    email = next(e for e in entries if any(c.path == "/segments" for c in e.children))
    assert email.active and email.path is None
    assert [c.path for c in email.children if c.active] == ["/segments"]
    assert not any(e.active for e in entries if e is not email)


def test_a_menu_with_nothing_visible_is_left_out() -> None:
    nav: list[NavItem | NavGroup] = [
        NavItem("/", "Home"),
        NavGroup("Admin", (NavItem("/admin/x", "X", frozenset()),)),
    ]
    assert [e.label for e in menu_for("sales", "/", nav)] == ["Home"]
    assert [e.label for e in menu_for("admin", "/", nav)] == ["Home", "Admin"]
