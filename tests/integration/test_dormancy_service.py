"""Recompute over a small known world, on SQLite and PostgreSQL: exact kinds, triggers, ranks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.db import session_scope
from mezame.dormancy.changes import Change, ChangeKind, ChangesPolicy
from mezame.dormancy.results import service as results
from mezame.dormancy.results.service import Filters
from mezame.dormancy.service import recompute
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import (
    Company,
    Contact,
    Deal,
    DormancyRun,
    DormantCustomer,
    EngagementEvent,
    Order,
)
from mezame.policy.service import save_policy

AS_OF = date(2026, 11, 23)


def _world(engine: Engine) -> dict[str, int]:
    """Companies A–G and three lone contacts, each planted for one rule."""
    with session_scope(engine) as s:
        owner = create_user(
            s, email="sato@example.jp", name="佐藤", role="sales", password="x" * 12
        )
        ids: dict[str, int] = {"owner": owner.id}

        def company(key: str, **fields: object) -> Company:
            c = Company(import_key=key, name=f"株式会社{key}", **fields)
            s.add(c)
            s.flush()
            ids[key] = c.id
            return c

        a = company("A", owner_id=owner.id, address="東京都千代田区1-1", phone="03-1111-1111")
        b = company("B")
        c = company("C", owner_id=owner.id)
        d = company("D")
        e = company("E")
        f = company("F")
        g = company("G")
        pa = Contact(
            import_key="pa", company_id=a.id, name="山田 花子", email="hanako@a.example.jp"
        )
        pd = Contact(
            import_key="pd", company_id=d.id, name="鈴木 一郎", email="ichiro@d.example.jp"
        )
        pc = Contact(import_key="pc", company_id=c.id, name="田中", email="tanaka@c.example.jp")
        lone = Contact(
            import_key="p1",
            name="名刺 太郎",
            email="taro@x.example.jp",
            acquired_on=date(2026, 1, 15),
        )
        answered = Contact(
            import_key="p2",
            name="問合 次郎",
            email="jiro@y.example.jp",
            acquired_on=date(2026, 1, 15),
        )
        undated = Contact(import_key="p3", name="日付 なし", email="nashi@z.example.jp")
        s.add_all([pa, pd, pc, lone, answered, undated])
        s.flush()
        ids.update(pa=pa.id, pd=pd.id, pc=pc.id, p1=lone.id, p2=answered.id, p3=undated.id)
        s.add_all(
            [
                Order(
                    import_key="a1", company_id=a.id, ordered_on=date(2024, 3, 1), amount=100_000
                ),
                Order(
                    import_key="a2",
                    company_id=a.id,
                    contact_id=pa.id,
                    ordered_on=date(2025, 1, 10),
                    amount=200_000,
                ),
                Order(
                    import_key="b1",
                    company_id=b.id,
                    ordered_on=date(2025, 5, 20),
                    amount=900_000,
                    contract_start=date(2025, 6, 1),
                    contract_end=date(2027, 5, 31),
                ),
                Order(
                    import_key="c1",
                    company_id=c.id,
                    ordered_on=date(2024, 9, 20),
                    amount=600_000,
                    contract_start=date(2024, 10, 1),
                    contract_end=date(2025, 9, 30),
                    cancelled_on=date(2025, 9, 15),
                    notes="値上げに伴い解約",
                ),
                Order(import_key="g1", company_id=g.id, ordered_on=date(2019, 1, 1), amount=50_000),
                Deal(
                    import_key="d1",
                    company_id=d.id,
                    contact_id=pd.id,
                    name="D 導入",
                    outcome="lost",
                    lost_reason="価格",
                    amount=1_200_000,
                    opened_on=date(2026, 8, 1),
                    closed_on=date(2026, 10, 1),
                ),
                Deal(
                    import_key="e1",
                    company_id=e.id,
                    name="E 導入",
                    outcome="postponed",
                    lost_reason="時期尚早",
                    amount=500_000,
                    opened_on=date(2026, 4, 1),
                    closed_on=date(2026, 6, 30),
                ),
                Deal(
                    import_key="f1",
                    company_id=f.id,
                    name="F 初回",
                    outcome="lost",
                    lost_reason="価格",
                    opened_on=date(2025, 11, 1),
                    closed_on=date(2026, 1, 1),
                ),
                Deal(
                    import_key="f2", company_id=f.id, name="F 再提案", opened_on=date(2026, 11, 1)
                ),
                EngagementEvent(
                    dedupe_key=b"\x01" * 16,
                    type="inquiry",
                    occurred_at=datetime(2026, 10, 1, 3, 0, tzinfo=UTC),
                    contact_id=answered.id,
                ),
                EngagementEvent(
                    dedupe_key=b"\x02" * 16,
                    type="mail_unsubscribed",
                    occurred_at=datetime(2025, 3, 1, 3, 0, tzinfo=UTC),
                    contact_id=pa.id,
                ),
            ]
        )
        save_policy(
            s,
            ChangesPolicy(
                changes=(
                    Change(
                        on=date(2026, 9, 1),
                        kind=ChangeKind.PRICE_CUT,
                        description="年間プランを10%値下げ",
                    ),
                    Change(
                        on=date(2025, 9, 1), kind=ChangeKind.PRICE_RISE, description="15%値上げ"
                    ),
                )
            ),
        )
    return ids


def _rows(session: Session, band: str | None = None, **filters: object) -> list[results.DormantRow]:
    return list(results.iter_dormant(session, filters=Filters(band=band, **filters)))  # type: ignore[arg-type]


def test_recompute_finds_each_kind_with_its_trigger_and_reason(engine: Engine) -> None:
    ids = _world(engine)
    with session_scope(engine) as s:
        summary = recompute(s, as_of=AS_OF)
    assert {k: v for k, v in summary.counts.items() if not k.startswith("band.")} == {
        "dormant.former_customer": 3,
        "excluded.former_customer": 1,
        "dormant.lost_deal": 2,
        "excluded.lost_deal": 0,
        "dormant.contact_only": 1,
        "excluded.contact_only": 0,
        "ranked": 5,
        "undated_contacts": 1,
    }
    with Session(engine) as s:
        ranked = _rows(s)
        by_key = {row.company_id: row for row in ranked if row.kind != "contact_only"}
        found = {(row.kind, row.trigger, row.fell_asleep_on, row.reason) for row in ranked}
        assert found == {
            ("former_customer", "last_order", date(2025, 1, 10), "unknown"),
            ("former_customer", "cancellation", date(2025, 9, 15), "price"),
            ("lost_deal", "lost_deal", date(2026, 10, 1), "price"),
            ("lost_deal", "postponed_deal", date(2026, 6, 30), "timing"),
            ("contact_only", "acquisition", date(2026, 1, 15), "unknown"),
        }
        assert [row.rank for row in ranked] == [1, 2, 3, 4, 5]
        # The price-churned former customer, with a price cut since, comes first; the lone
        # business card last.
        first, last = ranked[0], ranked[-1]
        assert first.company_id == ids["C"] and first.contact_id == ids["pc"]
        assert first.change_kind == "price_cut" and first.change_answers_reason
        assert first.contract_months == 11 and first.spend == 600_000
        assert first.explanation("ja")[0].factor == "change"
        assert "値下げ" in first.explanation("ja")[0].text
        assert first.angle == "price_offer" and "10%値下げ" in first.opening("ja")
        assert (
            last.kind == "contact_only" and last.contact_id == ids["p1"] and last.company_id is None
        )
        # The contact to approach: the one on the last order, the lost deal's contact.
        a, d = by_key[ids["A"]], by_key[ids["D"]]
        assert a.contact_id == ids["pa"] and d.contact_id == ids["pd"]
        assert a.owner_id == ids["owner"] and a.owner_name == "佐藤"
        assert a.channel in ("dm", "phone")  # unsubscribed: never mail
        assert a.asleep_days == (AS_OF - date(2025, 1, 10)).days
        gone = _rows(s, band="gone")
        assert [(g.company_id, g.excluded, g.rank) for g in gone] == [(ids["G"], True, None)]
        assert ids["B"] not in by_key and ids["F"] not in by_key


def test_filters_and_a_second_run_replaces_the_first(engine: Engine) -> None:
    ids = _world(engine)
    with session_scope(engine) as s:
        recompute(s, as_of=AS_OF)
        recompute(s, as_of=AS_OF)
    with Session(engine) as s:
        assert s.scalar(select(func.count(DormantCustomer.id))) == 6
        assert s.scalar(select(func.count(DormancyRun.id))) == 2
        lost = _rows(s, kind="lost_deal")
        assert {r.company_id for r in lost} == {ids["D"], ids["E"]}
        assert [r.rank for r in lost] == sorted(r.rank or 0 for r in lost)
        assert {r.company_id for r in _rows(s, reason="price")} == {ids["C"], ids["D"]}
        assert {r.company_id for r in _rows(s, owner_id=ids["owner"])} == {ids["A"], ids["C"]}
        page = results.list_dormant(s, filters=Filters(), page=2, per_page=2)
        assert [r.rank for r in page.items] == [3, 4] and page.total == 5 and page.has_next
        assert results.owners(s) == [(ids["owner"], "佐藤")]
        with pytest.raises(InvalidInputError):
            Filters(kind="sleeping")


def test_as_of_in_the_past_ignores_what_came_later(engine: Engine) -> None:
    _world(engine)
    with session_scope(engine) as s:
        summary = recompute(s, as_of=date(2025, 6, 1))
    # On 2025-06-01: A ordered in January (awake), C's contract ran, D–F had no closed deal
    # yet, G was long gone; the lone contacts were not acquired yet.
    assert summary.counts["dormant.former_customer"] == 1
    assert summary.counts["excluded.former_customer"] == 1
    assert summary.counts["dormant.lost_deal"] == 0
    assert summary.counts["dormant.contact_only"] == 0


def test_deleting_a_company_removes_its_row(engine: Engine) -> None:
    ids = _world(engine)
    with session_scope(engine) as s:
        recompute(s, as_of=AS_OF)
    with session_scope(engine) as s:
        s.execute(delete(Order).where(Order.company_id == ids["C"]))
        s.execute(delete(Contact).where(Contact.company_id == ids["C"]))
        s.execute(delete(Company).where(Company.id == ids["C"]))
    with Session(engine) as s:
        assert ids["C"] not in {r.company_id for r in _rows(s)}


def test_thresholds_suggestions_and_changes_are_settings(engine: Engine) -> None:
    _world(engine)
    with session_scope(engine) as s:
        recompute(s, as_of=AS_OF)
        assert set(results.suggestions(s)) == {"former_customer", "lost_deal", "contact_only"}
        with pytest.raises(NotFoundError):  # four customers suggest nothing
            results.use_suggestion(s, kind="former_customer")
        policy = results.set_threshold(s, kind="former_customer", after_months=24)
        assert policy.former_customer.after_months == 24
        with pytest.raises(InvalidInputError, match="upper bound"):
            results.set_threshold(s, kind="contact_only", after_months=30)
        summary = recompute(s, as_of=AS_OF)
        assert summary.counts["dormant.former_customer"] == 1  # only G, asleep for years
        added = results.add_change(
            s, Change(on=date(2026, 3, 1), kind=ChangeKind.NEW_SEASON, description="4月稼働")
        )
        assert [c.kind for c in added.changes] == ["price_rise", "new_season", "price_cut"]
        removed = results.remove_change(s, index=1)
        assert [c.kind for c in removed.changes] == ["price_rise", "price_cut"]
        with pytest.raises(NotFoundError):
            results.remove_change(s, index=5)
