"""名寄せ over the database, on SQLite and PostgreSQL: detection, decisions, merges and undo."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from mezame.cleaning import service
from mezame.cleaning.dedupe import DedupePolicy
from mezame.cleaning.merges import service as merges
from mezame.cleaning.merges.service import ReviewDecision
from mezame.cleaning.survivorship import SurvivorshipPolicy, SurvivorshipRule
from mezame.db import make_engine
from mezame.demo.service import load_demo
from mezame.errors import InvalidInputError
from mezame.ingest.fields import ImportKind
from mezame.ingest.service import import_file
from mezame.models import (
    Base,
    Company,
    ConsentRecord,
    Contact,
    Deal,
    DuplicateDecision,
    EngagementEvent,
    Order,
    SalesActivity,
    SurveyAnswer,
)
from mezame.pipeline import run_pipeline
from mezame.policy.service import save_policy

BOOKKEEPING = {"merges", "merged_records", "merge_moved_rows", "duplicate_decisions"}
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every customer table, every column: what undo must restore exactly."""
    session.flush()
    return {
        table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
        for table in Base.metadata.sorted_tables
        if table.name not in BOOKKEEPING
    }


def counts(session: Session) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(session).items()}


def _company(session: Session, code: str, name: str, **fields: Any) -> Company:
    company = Company(import_key=code, external_id=code, name=name, **fields)
    session.add(company)
    session.flush()
    return company


def _with_history(session: Session, company: Company, n: int) -> Contact:
    """A contact with an event, a consent, a deal, an order, an activity and a survey."""
    contact = Contact(
        import_key=f"P-{company.external_id}-{n}",
        external_id=f"P-{company.external_id}-{n}",
        company_id=company.id,
        name=f"担当 {n}",
        email=f"person{n}@{company.external_id}.co.jp".lower(),
    )
    session.add(contact)
    session.flush()
    key = f"{company.external_id}-{n}"
    session.add_all(
        [
            EngagementEvent(
                dedupe_key=key.encode().ljust(16, b".")[:16],
                type="mail_opened",
                occurred_at=AT,
                contact_id=contact.id,
            ),
            ConsentRecord(contact_id=contact.id, basis="business_card", obtained_at=AT),
            Deal(import_key=f"D{key}", company_id=company.id, contact_id=contact.id, name="商談"),
            Order(
                import_key=f"O{key}",
                company_id=company.id,
                contact_id=contact.id,
                ordered_on=date(2025, 4, 1),
                amount=100_000,
            ),
            SalesActivity(
                import_key=f"A{key}",
                company_id=company.id,
                contact_id=contact.id,
                kind="call",
                occurred_at=AT,
            ),
            SurveyAnswer(
                import_key=f"S{key}",
                company_id=company.id,
                contact_id=contact.id,
                survey="NPS",
                answered_at=AT,
                nps_score=9,
            ),
        ]
    )
    session.flush()
    return contact


def _yamada(session: Session) -> tuple[Company, Company, Company]:
    """山田製作所 three times (two certain, one for review) and its near miss 山田製作."""
    a = _company(
        session,
        "C001",
        "株式会社山田製作所",
        phone="03-3211-1111",
        corporate_number="5835678256246",
        notes="価格重視",
    )
    b = _company(
        session,
        "C002",
        "㈱山田製作所",
        phone="(03)3211-1111",
        website="https://www.yamada-ss.co.jp/",
        notes="展示会で名刺交換",
    )
    c = _company(session, "C003", "山田製作所(株)")
    _company(session, "C004", "株式会社山田製作", phone="03-3211-2222")
    return a, b, c


def test_find_duplicates_speaks_in_db_ids_and_external_ids(session: Session) -> None:
    a, b, c = _yamada(session)
    report = service.find_duplicates(session, "companies")
    (cluster,) = report.clusters
    assert cluster.ids == (a.id, b.id, c.id)
    assert cluster.external_ids == ("C001", "C002", "C003")
    assert not cluster.auto  # C003 shares only the name: the weakest link needs a person
    assert "電話番号が一致 (same phone number)" in cluster.evidence
    strong = next(p for p in report.pairs if (p.a, p.b) == (a.id, b.id))
    assert strong.score >= DedupePolicy().auto_merge


def test_email_domains_of_live_contacts_are_company_evidence(session: Session) -> None:
    a = _company(session, "C001", "株式会社ひかり通信")
    b = _company(session, "C002", "ひかり通信(株)")
    for company, n in ((a, 1), (b, 2)):
        session.add(
            Contact(
                import_key=f"P{n}",
                company_id=company.id,
                email=f"Person{n}@Hikari-Tsushin.co.jp",
            )
        )
    session.flush()
    (cluster,) = service.find_duplicates(session, "companies").clusters
    assert "ドメインが一致 (same web or email domain)" in cluster.evidence


def test_thresholds_come_from_the_policy_store(session: Session) -> None:
    _yamada(session)
    save_policy(session, DedupePolicy(review=0.85, auto_merge=0.95))
    (cluster,) = service.find_duplicates(session, "companies").clusters
    assert cluster.external_ids == ("C001", "C002")  # the name-only link fell below review


def test_auto_merge_moves_every_child_row_and_hides_the_merged(session: Session) -> None:
    a, b, c = _yamada(session)
    history = [_with_history(session, company, n) for n, company in enumerate((a, b, c), 1)]
    before = counts(session)
    (merged,) = merges.auto_merge(session, kind="companies")
    assert (merged.survivor_id, merged.merged_ids) == (a.id, (b.id,))
    assert merged.method == "auto" and merged.score and merged.evidence
    assert counts(session) == before  # soft merge: nothing deleted, nothing added
    assert merged.moved_rows == {
        "contacts.company_id": 1,
        "deals.company_id": 1,
        "orders.company_id": 1,
        "sales_activities.company_id": 1,
        "survey_answers.company_id": 1,
    }
    session.expire_all()
    assert session.get(Company, b.id).merged_into_id == a.id  # type: ignore[union-attr]
    assert session.get(Contact, history[1].id).company_id == a.id  # type: ignore[union-attr]
    survivor = session.get(Company, a.id)
    assert survivor is not None
    assert survivor.website == "https://www.yamada-ss.co.jp/"  # filled from the merged record
    assert survivor.notes == "価格重視\n展示会で名刺交換"
    assert survivor.name == "株式会社山田製作所"
    # The merged record is gone from detection: only the review link to C003 is left.
    (cluster,) = service.find_duplicates(session, "companies").clusters
    assert cluster.external_ids == ("C001", "C003")


def test_undo_restores_exactly_and_remembers_the_answer(session: Session) -> None:
    a, b, c = _yamada(session)
    for n, company in enumerate((a, b, c), 1):
        _with_history(session, company, n)
    before = snapshot(session)
    (merged,) = merges.auto_merge(session, kind="companies")
    assert snapshot(session) != before
    undone = merges.undo_merge(session, merge_id=merged.merge_id, user_id=None)
    assert undone.undone_at is not None
    session.expire_all()
    assert snapshot(session) == before
    # Undone means "not these two": the next automatic merge leaves them alone.
    assert merges.auto_merge(session, kind="companies") == []
    with pytest.raises(InvalidInputError, match="already undone"):
        merges.undo_merge(session, merge_id=merged.merge_id, user_id=None)


def test_a_later_merge_of_the_same_records_must_be_undone_first(session: Session) -> None:
    a, _, c = _yamada(session)
    (first,) = merges.auto_merge(session, kind="companies")
    second = merges.merge_records(session, kind="companies", ids=[a.id, c.id], user_id=None)
    assert second.method == "manual" and second.score is not None
    with pytest.raises(InvalidInputError, match=f"merge {second.merge_id} came later"):
        merges.undo_merge(session, merge_id=first.merge_id, user_id=None)
    merges.undo_merge(session, merge_id=second.merge_id, user_id=None)
    merges.undo_merge(session, merge_id=first.merge_id, user_id=None)
    hidden = session.scalar(select(func.count()).where(Company.merged_into_id.is_not(None)))
    assert hidden == 0


def test_a_merge_into_a_merged_survivor_repoints_the_chain(session: Session) -> None:
    a, b, c = _yamada(session)
    first = merges.merge_records(session, kind="companies", ids=[b.id, c.id], user_id=None)
    assert first.survivor_id == b.id
    second = merges.merge_records(session, kind="companies", ids=[a.id, b.id], user_id=None)
    assert second.moved_rows["companies.merged_into_id"] == 1
    session.expire_all()
    assert session.get(Company, c.id).merged_into_id == a.id  # type: ignore[union-attr]
    merges.undo_merge(session, merge_id=second.merge_id, user_id=None)
    session.expire_all()
    assert session.get(Company, c.id).merged_into_id == b.id  # type: ignore[union-attr]


def test_different_valid_corporate_numbers_forbid_even_a_manual_merge(session: Session) -> None:
    a = _company(session, "C001", "株式会社アルファ", corporate_number="5835678256246")
    b = _company(session, "C002", "株式会社アルファ", corporate_number="1000013050246")
    with pytest.raises(InvalidInputError, match="法人番号が異なる"):
        merges.merge_records(session, kind="companies", ids=[a.id, b.id], user_id=None)


def test_review_decisions_are_remembered(session: Session) -> None:
    a, b, c = _yamada(session)
    d = _company(session, "C005", "大和物流株式会社", phone="042-721-2323")
    e = _company(session, "C006", "大和物流(株)")
    outcome = merges.decide(
        session,
        kind="companies",
        ids=[d.id, e.id],
        decision=ReviewDecision.NOT_DUPLICATE,
        user_id=None,
    )
    assert outcome is None
    merges.decide(
        session, kind="companies", ids=[a.id, c.id], decision=ReviewDecision.REJECT, user_id=None
    )
    merges.decide(
        session, kind="companies", ids=[b.id, c.id], decision=ReviewDecision.REJECT, user_id=None
    )
    clusters = service.find_duplicates(session, "companies").clusters
    assert [cl.external_ids for cl in clusters] == [("C001", "C002")]
    stored = session.execute(
        select(DuplicateDecision.record_a, DuplicateDecision.record_b, DuplicateDecision.decision)
    ).all()
    assert (d.id, e.id, "not_duplicate") in stored
    merged = merges.decide(
        session, kind="companies", ids=[a.id, b.id], decision=ReviewDecision.ACCEPT, user_id=None
    )
    assert merged is not None and merged.method == "review"
    queue, waiting_auto = service.review_queue(session, "companies")
    assert queue == [] and waiting_auto == 0


def test_the_review_queue_holds_the_clusters_between_the_thresholds(session: Session) -> None:
    _yamada(session)
    _company(session, "C005", "大和物流株式会社", phone="042-721-2323")
    _company(session, "C006", "大和物流(株)", address="東京都町田市原町田1-1-1")
    items, waiting_auto = service.review_queue(session, "companies")
    assert waiting_auto == 1  # C001 + C002 by phone, inside the C001–C003 cluster
    # Strongest first: the weakest link of the 山田 cluster is 前株 vs 後株 (0.77 < 0.80).
    assert [i.cluster.external_ids for i in items] == [("C005", "C006"), ("C001", "C002", "C003")]
    first = items[1].members[0]
    assert first.name == "株式会社山田製作所"
    assert ("phone", "03-3211-1111") in first.details


def test_decisions_name_missing_or_merged_records(session: Session) -> None:
    a, b, _ = _yamada(session)
    with pytest.raises(InvalidInputError, match="two different ids"):
        merges.decide(
            session, kind="companies", ids=[a.id, a.id], decision=ReviewDecision.REJECT, user_id=1
        )
    merges.merge_records(session, kind="companies", ids=[a.id, b.id], user_id=None)
    with pytest.raises(InvalidInputError, match=f"#{b.id} → #{a.id}"):
        merges.merge_records(session, kind="companies", ids=[a.id, b.id], user_id=None)


def test_contacts_merge_moves_their_events_and_consents(session: Session) -> None:
    company = _company(session, "C001", "株式会社ひかり通信")
    first = _with_history(session, company, 1)
    second = _with_history(session, company, 2)
    second.name, second.email = first.name, first.email.upper()  # type: ignore[union-attr]
    session.flush()
    before = snapshot(session)
    (merged,) = merges.auto_merge(session, kind="contacts")
    assert merged.moved_rows == {
        "consent_records.contact_id": 1,
        "deals.contact_id": 1,
        "engagement_events.contact_id": 1,
        "orders.contact_id": 1,
        "sales_activities.contact_id": 1,
        "survey_answers.contact_id": 1,
    }
    assert merged.survivor_external_id == "P-C001-1"
    merges.undo_merge(session, merge_id=merged.merge_id, user_id=None)
    session.expire_all()
    assert snapshot(session) == before


def test_survivorship_policy_from_the_store_decides_field_values(session: Session) -> None:
    a = _company(session, "C001", "株式会社大和物流", phone="042-721-2323", source="テレアポ")
    b = _company(session, "C002", "大和物流株式会社", phone="042-721-2323", source="既存取引")
    a.industry, b.industry = "運輸業", "倉庫業"
    session.flush()
    save_policy(session, SurvivorshipPolicy(rule=SurvivorshipRule.MOST_TRUSTED))
    merged = merges.merge_records(session, kind="companies", ids=[a.id, b.id], user_id=None)
    session.expire_all()
    survivor = session.get(Company, merged.survivor_id)
    assert survivor is not None and survivor.industry == "倉庫業"


def test_reimporting_after_a_merge_attaches_rows_to_the_survivor(
    session: Session, tmp_path: Path
) -> None:
    a, b, _ = _yamada(session)
    merges.merge_records(session, kind="companies", ids=[a.id, b.id], user_id=None)
    path = tmp_path / "contacts.csv"
    path.write_text(
        "担当者コード,顧客コード,担当者名,メールアドレス\n"
        "P9,C002,佐藤 花子,hanako@yamada.example.jp\n",
        encoding="utf-8",
    )
    report = import_file(session, kind=ImportKind.CONTACTS, path=path)
    assert report.rejected == 0
    contact = session.scalar(select(Contact).where(Contact.external_id == "P9"))
    assert contact is not None and contact.company_id == a.id


def test_pipeline_merges_the_certain_duplicates_and_counts_the_living(session: Session) -> None:
    _yamada(session)
    summary = run_pipeline(session, as_of=AT)
    assert summary.counts["merged_companies"] == 1
    assert summary.counts["companies"] == 3  # four rows, one merged away
    assert summary.counts["merged_contacts"] == 0


def _pairwise(
    predicted: list[tuple[str | None, ...]], truth: dict[str, str]
) -> tuple[float, float]:
    found = {tuple(sorted(p)) for ids in predicted for p in itertools.combinations(ids, 2)}
    groups: dict[str, list[str]] = {}
    for code, label in truth.items():
        groups.setdefault(label, []).append(code)
    true = {tuple(sorted(p)) for ids in groups.values() for p in itertools.combinations(ids, 2)}
    hits = len(found & true)
    return hits / max(1, len(found)), hits / max(1, len(true))


def test_demo_world_duplicates_are_found_merged_and_the_merges_undone(
    engine: Engine, tmp_path: Path
) -> None:
    """The planted duplicates through the database; then every auto merge and its undo."""
    with Session(engine) as s:
        load_demo(s, companies=600, seed=11, as_of=date(2026, 3, 1), directory=tmp_path / "demo")
        s.commit()
    planted = json.loads((tmp_path / "demo" / "planted.json").read_text(encoding="utf-8"))
    with Session(engine) as s:
        codes = s.scalars(select(Company.external_id)).all()
        report = service.find_duplicates(s, "companies")
        original = {d["duplicate"]: d["original"] for d in planted["duplicate_companies"]}
        assert len(original) >= 20
        truth = {code: original.get(code, code) for code in codes if code is not None}
        precision, recall = _pairwise([c.external_ids for c in report.clusters], truth)
        print(f"demo world via DB: pairwise precision {precision:.4f}, recall {recall:.4f}")
        assert precision >= 0.98
        assert recall >= 0.90
        clustered = [set(c.external_ids) for c in report.clusters]
        for near in planted["near_miss_companies"]:
            assert not any({near["a"], near["b"]} <= ids for ids in clustered), near

        before = snapshot(s)
        done = merges.auto_merge(s, kind="companies") + merges.auto_merge(s, kind="contacts")
        assert len(done) >= 20
        assert counts(s) == {name: len(rows) for name, rows in before.items()}
        for merge in reversed(done):
            merges.undo_merge(s, merge_id=merge.merge_id, user_id=None)
        s.expire_all()
        assert snapshot(s) == before


# --- property: merges lose nothing, undo restores exactly -------------------------------------

# Values a field may hold: blanks, variants and an invalid 法人番号 exercise survivorship.
PHONES = st.sampled_from([None, "", "03-1111-2222", "06-6201-3333"])
NOTES = st.sampled_from([None, "価格重視", "担当交代あり"])
CORPORATE = st.sampled_from([None, "5835678256246", "2835678256246"])  # one valid, one not
STATUS = st.sampled_from(["unknown", "customer", "prospect"])
SOURCES = st.sampled_from([None, "展示会", "既存取引", "テレアポ"])

company_spec = st.fixed_dictionaries(
    {
        "phone": PHONES,
        "notes": NOTES,
        "corporate_number": CORPORATE,
        "status": STATUS,
        "source": SOURCES,
        "age_days": st.integers(0, 400),
        "contacts": st.lists(
            st.fixed_dictionaries(
                {
                    "email": st.sampled_from([None, "taro@example.co.jp", "hana@example.co.jp"]),
                    "title": st.sampled_from([None, "部長", "課長"]),
                    "events": st.integers(0, 3),
                    "consent": st.booleans(),
                    "acquired": st.sampled_from([None, date(2024, 4, 1), date(2025, 9, 1)]),
                }
            ),
            max_size=3,
        ),
        "deals": st.integers(0, 2),
        "orders": st.integers(0, 2),
        "activities": st.integers(0, 2),
        "surveys": st.integers(0, 1),
    }
)


@contextmanager
def _database(template: Path, directory: Path, n: int) -> Iterator[Session]:
    path = directory / f"merge-{n}.db"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()
        path.unlink()


def _build_companies(session: Session, specs: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """The companies and their histories; (company ids, contact ids)."""
    company_ids: list[int] = []
    contact_ids: list[int] = []
    serial = itertools.count(1)
    for n, spec in enumerate(specs):
        stamp = AT - timedelta(days=spec["age_days"])
        company = Company(
            import_key=f"C{n}",
            external_id=f"C{n}",
            name=f"株式会社テスト{n}",
            phone=spec["phone"],
            notes=spec["notes"],
            corporate_number=spec["corporate_number"],
            status=spec["status"],
            source=spec["source"],
            created_at=stamp,
            updated_at=stamp,
        )
        session.add(company)
        session.flush()
        company_ids.append(company.id)
        people: list[Contact] = []
        for m, person in enumerate(spec["contacts"]):
            contact = Contact(
                import_key=f"P{n}-{m}",
                external_id=f"P{n}-{m}",
                company_id=company.id,
                name=f"担当{m}",
                email=person["email"],
                title=person["title"],
                acquired_on=person["acquired"],
                created_at=stamp,
                updated_at=stamp,
            )
            session.add(contact)
            session.flush()
            people.append(contact)
            contact_ids.append(contact.id)
            for _ in range(person["events"]):
                session.add(
                    EngagementEvent(
                        dedupe_key=next(serial).to_bytes(16, "big"),
                        type="mail_opened",
                        occurred_at=AT,
                        contact_id=contact.id,
                    )
                )
            if person["consent"]:
                session.add(ConsentRecord(contact_id=contact.id, basis="opt_in", obtained_at=AT))
        first = people[0].id if people else None
        for kind, count in (
            ("deals", spec["deals"]),
            ("orders", spec["orders"]),
            ("activities", spec["activities"]),
            ("surveys", spec["surveys"]),
        ):
            for _ in range(count):
                key = f"{kind}-{next(serial)}"
                session.add(_company_child(kind, key, company.id, first))
    session.flush()
    return company_ids, contact_ids


def _company_child(kind: str, key: str, company_id: int, contact_id: int | None) -> object:
    if kind == "deals":
        return Deal(import_key=key, company_id=company_id, contact_id=contact_id, name="商談")
    if kind == "orders":
        return Order(
            import_key=key,
            company_id=company_id,
            contact_id=contact_id,
            ordered_on=date(2025, 5, 1),
            amount=50_000,
        )
    if kind == "activities":
        return SalesActivity(
            import_key=key,
            company_id=company_id,
            contact_id=contact_id,
            kind="visit",
            occurred_at=AT,
        )
    return SurveyAnswer(
        import_key=key, company_id=company_id, contact_id=contact_id, survey="NPS", answered_at=AT
    )


def _pointing_at_hidden(session: Session) -> int:
    """Rows whose company or contact is a merged-away record (must be none)."""
    hidden_companies = select(Company.id).where(Company.merged_into_id.is_not(None))
    hidden_contacts = select(Contact.id).where(Contact.merged_into_id.is_not(None))
    found = 0
    for model in (Contact, Deal, Order, SalesActivity, SurveyAnswer):
        where = model.company_id.in_(hidden_companies)
        found += session.scalar(select(func.count()).select_from(model).where(where)) or 0
    for model in (Deal, Order, SalesActivity, SurveyAnswer, EngagementEvent, ConsentRecord):
        where = model.contact_id.in_(hidden_contacts)
        found += session.scalar(select(func.count()).select_from(model).where(where)) or 0
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("merge-property")


examples = itertools.count()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(company_spec, min_size=2, max_size=4),
    data=st.data(),
)
def test_merge_keeps_every_row_and_undo_restores_exactly(
    sqlite_template: Path, workdir: Path, specs: list[dict[str, Any]], data: st.DataObject
) -> None:
    with _database(sqlite_template, workdir, next(examples)) as session:
        company_ids, contact_ids = _build_companies(session, specs)
        before = snapshot(session)
        chosen = data.draw(
            st.lists(st.sampled_from(company_ids), min_size=2, unique=True), label="companies"
        )
        merged_companies = merges.merge_records(session, kind="companies", ids=chosen, user_id=None)
        assert counts(session) == {name: len(rows) for name, rows in before.items()}
        assert _pointing_at_hidden(session) == 0

        if len(contact_ids) >= 2:
            people = data.draw(
                st.lists(st.sampled_from(contact_ids), min_size=2, max_size=3, unique=True),
                label="contacts",
            )
            contact_merge = merges.merge_records(session, kind="contacts", ids=people, user_id=None)
            assert counts(session) == {name: len(rows) for name, rows in before.items()}
            assert _pointing_at_hidden(session) == 0
            merges.undo_merge(session, merge_id=contact_merge.merge_id, user_id=None)
        merges.undo_merge(session, merge_id=merged_companies.merge_id, user_id=None)
        session.expire_all()
        assert snapshot(session) == before
