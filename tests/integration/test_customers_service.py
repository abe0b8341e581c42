"""The read services on SQLite and PostgreSQL: search semantics, capped counts, the timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from mezame.customers import service
from mezame.errors import NotFoundError
from mezame.models import Company, Contact, Deal, EngagementEvent, Order, SalesActivity


def _seed(session: Session) -> dict[str, int]:
    acme = Company(import_key="C1", external_id="C1", name="株式会社アクメ", name_kana="アクメ")
    odd = Company(import_key="C2", external_id="C2", name="50%_Off Trading")
    other = Company(import_key="C3", external_id="C3", name="ベータ商事")
    session.add_all([acme, odd, other])
    session.flush()
    yamada = Contact(
        import_key="P1", company_id=acme.id, name="山田 花子", email="Hanako@ACME.example.jp"
    )
    loner = Contact(import_key="P2", name=None, email="someone@free.example.jp")
    session.add_all([yamada, loner])
    session.flush()
    session.add_all(
        [
            EngagementEvent(
                dedupe_key=b"\x01" * 16,
                type="mail_clicked",
                occurred_at=datetime(
                    2026, 11, 23, 15, 30, tzinfo=UTC
                ),  # 00:30 on the 24th in Tokyo
                contact_id=yamada.id,
                url="https://acme.example.jp/pricing",
            ),
            # A company-level activity naming no contact belongs on the contact's timeline ...
            SalesActivity(
                import_key="A1",
                company_id=acme.id,
                kind="visit",
                occurred_at=datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
            ),
            # ... but another contact's activity does not.
            SalesActivity(
                import_key="A2",
                company_id=acme.id,
                contact_id=loner.id,
                kind="call",
                occurred_at=datetime(2026, 11, 2, 1, 0, tzinfo=UTC),
            ),
            Deal(
                import_key="D1",
                company_id=acme.id,
                contact_id=yamada.id,
                name="再提案",
                outcome="won",
                opened_on=date(2026, 11, 24),
                closed_on=date(2026, 11, 24),
                amount=500_000,
            ),
            Order(
                import_key="O1", company_id=acme.id, ordered_on=date(2026, 11, 24), amount=500_000
            ),
        ]
    )
    session.flush()
    return {"acme": acme.id, "odd": odd.id, "yamada": yamada.id, "loner": loner.id}


def _company_names(session: Session, query: str | None) -> list[str]:
    page = service.list_companies(session, query=query, page=1, per_page=50)
    return [c.name for c in page.items]


def test_company_search_is_a_literal_case_insensitive_substring(session: Session) -> None:
    _seed(session)
    assert _company_names(session, "アクメ") == ["株式会社アクメ"]
    assert _company_names(session, "off trading") == ["50%_Off Trading"]
    assert _company_names(session, "%") == ["50%_Off Trading"]
    assert _company_names(session, "_") == ["50%_Off Trading"]
    assert _company_names(session, "C3") == ["ベータ商事"]
    assert _company_names(session, "C") == []  # external ids match exactly, not by substring
    assert _company_names(session, "  ") == ["ベータ商事", "50%_Off Trading", "株式会社アクメ"]


def test_contact_search_by_email_and_company_name(session: Session) -> None:
    ids = _seed(session)

    def found(query: str) -> list[int]:
        page = service.list_contacts(session, query=query, page=1, per_page=50)
        return [c.id for c in page.items]

    assert found("hanako@acme") == [ids["yamada"]]
    assert found("株式会社アクメ") == [ids["yamada"]]
    assert found("free.example") == [ids["loner"]]
    only_acme = service.list_contacts(
        session, query=None, company_id=ids["acme"], page=1, per_page=50
    )
    assert [c.company_name for c in only_acme.items] == ["株式会社アクメ"]


def test_counts_are_capped(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(session)
    monkeypatch.setattr(service, "COUNT_CAP", 2)
    page = service.list_companies(session, query=None, page=1, per_page=1)
    assert (page.total, page.total_capped, page.has_next, page.page_count) == (2, True, True, None)
    exact = service.list_companies(session, query="アクメ", page=1, per_page=1)
    assert (exact.total, exact.total_capped, exact.has_next, exact.page_count) == (
        1,
        False,
        False,
        1,
    )


def test_company_detail(session: Session) -> None:
    ids = _seed(session)
    acme = service.get_company(session, company_id=ids["acme"])
    assert acme.contact_count == 1 and acme.order_count == 1 and acme.order_total == 500_000
    assert acme.deal_outcomes == {"won": 1}
    with pytest.raises(NotFoundError):
        service.get_company(session, company_id=10**9)


def test_timeline_in_local_days(session: Session) -> None:
    ids = _seed(session)
    entries = service.contact_timeline(session, contact_id=ids["yamada"], tz=ZoneInfo("Asia/Tokyo"))
    # The click at 00:30 on the 24th (Tokyo) is after the deal and order dated that day.
    assert [e.kind for e in entries] == [
        "mail_clicked",
        "order",
        "deal_won",
        "deal_opened",
        "visit",
    ]
    assert entries[1].all_day and entries[1].at == datetime(
        2026, 11, 24, tzinfo=ZoneInfo("Asia/Tokyo")
    )
    assert service.contact_timeline(session, contact_id=ids["loner"])[0].kind == "call"
    with pytest.raises(NotFoundError):
        service.contact_timeline(session, contact_id=10**9)
