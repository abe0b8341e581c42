"""The data-quality report over hand-made records on SQLite and PostgreSQL: exact ids per check."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from stdnum.jp import cn

from mezame.cleaning.normalize import CorporateNumberStatus, check_corporate_number
from mezame.demo.service import ensure_demo_users
from mezame.demo.world import generate_world
from mezame.errors import InvalidInputError
from mezame.ingest.fields import ImportKind
from mezame.ingest.service import import_file
from mezame.models import Company, Contact, Deal, Order, SalesActivity
from mezame.policy.service import save_policy
from mezame.quality.report import (
    QualityCheck,
    QualityFault,
    QualityPolicy,
    RecordKind,
    ValueClass,
)
from mezame.quality.service import quality_overview, quality_records, quality_report

AS_OF = date(2026, 11, 23)  # a status checked before 2025-11-23 is stale
VALID_NUMBER = "7000012050002"  # 国税庁's own 法人番号: check digit 7


@dataclass
class Ids:
    companies: dict[str, int]
    contacts: dict[str, int]
    deals: dict[str, int]


def _contact(key: str, company: Company, **fields: object) -> Contact:
    return Contact(import_key=key, external_id=key, company_id=company.id, **fields)


@pytest.fixture
def ids(session: Session) -> Ids:
    """Four live companies (one merged away), six live contacts (one merged away), four deals."""
    acme = Company(
        import_key="C1",
        external_id="C1",
        name="株式会社アクメ",
        status="customer",
        status_updated_at=date(2026, 6, 1),
        corporate_number=VALID_NUMBER,
    )
    acme_again = Company(  # the same company typed again: a duplicate, status unknown
        import_key="C2",
        external_id="C2",
        name="(株)アクメ",
        status="unknown",
        corporate_number=VALID_NUMBER,
    )
    beta = Company(
        import_key="C3",
        external_id="C3",
        name="ベータ工業株式会社",
        status="prospect",
        status_updated_at=date(2024, 1, 1),
        corporate_number="1234567890123",  # bad check digit
    )
    gamma = Company(
        import_key="C4",
        external_id="C4",
        name="ガンマ商事",
        status="former",
        corporate_number="12345",  # too short; status never dated
    )
    session.add_all([acme, acme_again, beta, gamma])
    session.flush()
    merged = Company(  # folded into acme: counts nowhere
        import_key="C5",
        external_id="C5",
        name="アクメ株式会社",
        status="unknown",
        corporate_number="9999999999999",
        merged_into_id=acme.id,
    )
    session.add(merged)
    session.flush()
    contacts = {
        "P1": _contact(
            "P1",
            acme,
            name="山田 太郎",
            email="taro@acme.co.jp",
            phone="03-1234-5678",
            hearing_notes="来期の予算で再検討",
        ),
        "P2": _contact("P2", acme, name="受付 花子", email="info@acme.co.jp"),
        "P3": _contact("P3", acme, name="  ", email="a..b@acme.co.jp", mobile="090-1111-2222"),
        "P4": _contact("P4", acme, name="経理部 ご担当者様", phone="03-0000-0000"),
        "P5": _contact(
            "P5",
            beta,
            name="鈴木 次郎",
            email="Sales-East@beta.example.jp",
            phone="06-1234-5678",
            hearing_notes="価格で他社に決定",
        ),
        "P6": _contact("P6", gamma, name="佐藤 三郎", email="saburo@gamma.jp", phone="052-1"),
        "P7": _contact("P7", acme, name=None),  # merged into P1 below: counts nowhere
    }
    session.add_all(contacts.values())
    session.flush()
    contacts["P7"].merged_into_id = contacts["P1"].id
    deals = {
        "D1": Deal(import_key="D1", company_id=acme.id, name="導入", outcome="won", notes="決裁済"),
        "D2": Deal(import_key="D2", company_id=beta.id, name="提案", outcome="lost"),
        "D3": Deal(
            import_key="D3",
            company_id=acme.id,
            name="追加",
            outcome="postponed",
            lost_reason="予算",
            notes="",
        ),
        "D4": Deal(import_key="D4", company_id=gamma.id, name="更新", outcome="open"),
    }
    session.add_all(deals.values())
    session.flush()
    session.add(Order(import_key="O1", company_id=acme.id, ordered_on=date(2025, 4, 1), amount=1))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    session.add_all(
        [
            SalesActivity(
                import_key="A1",
                contact_id=contacts["P2"].id,
                kind="call",
                occurred_at=at,
                note="電話で近況を確認",
            ),
            SalesActivity(
                import_key="A2",
                deal_id=deals["D2"].id,
                kind="visit",
                occurred_at=at,
                note="予算未定",
            ),
            SalesActivity(
                import_key="A3", deal_id=deals["D4"].id, kind="call", occurred_at=at, note="   "
            ),
        ]
    )
    session.commit()
    return Ids(
        companies={c.external_id or "": c.id for c in (acme, acme_again, beta, gamma)},
        contacts={k: c.id for k, c in contacts.items()},
        deals={k: d.id for k, d in deals.items()},
    )


def _flagged(
    session: Session, check: QualityCheck, policy: QualityPolicy | None = None
) -> list[int]:
    page = quality_records(session, check=check, as_of=AS_OF, per_page=200, policy=policy)
    if page.groups:
        return sorted(i for g in page.groups for i in g.ids)
    return sorted(r.id for r in page.records)


def test_each_check_flags_exactly_the_faulty_records(session: Session, ids: Ids) -> None:
    c, p, d = ids.companies, ids.contacts, ids.deals
    expected = {
        QualityCheck.STATUS_UNKNOWN: [c["C2"]],
        QualityCheck.STATUS_STALE: [c["C3"], c["C4"]],
        QualityCheck.DUPLICATE_COMPANIES: [c["C1"], c["C2"]],
        QualityCheck.CONTACT_NO_HEARING: [p["P3"], p["P4"], p["P6"]],
        QualityCheck.DEAL_NO_NOTES: [d["D3"], d["D4"]],
        QualityCheck.LOST_DEAL_NO_REASON: [d["D2"]],
        QualityCheck.CONTACT_NO_EMAIL: [p["P4"]],
        QualityCheck.CONTACT_NO_PHONE: [p["P2"]],
        QualityCheck.CONTACT_NO_NAME: [p["P3"], p["P4"]],
        QualityCheck.COMPANY_NO_CONTACT: [c["C2"]],
        QualityCheck.INVALID_CORPORATE_NUMBER: [c["C3"], c["C4"]],
        QualityCheck.INVALID_EMAIL: [p["P3"]],
        QualityCheck.ROLE_ADDRESS: [p["P2"], p["P5"]],
    }
    found = {check: _flagged(session, check) for check in QualityCheck}
    assert found == {check: sorted(v) for check, v in expected.items()}
    report = quality_report(session, as_of=AS_OF)
    assert {r.check: r.count for r in report.checks} == {k: len(v) for k, v in expected.items()}


def test_counts_per_value_class_reach_faults_and_overall_share(session: Session, ids: Ids) -> None:
    report = quality_report(session, as_of=AS_OF)
    assert report.totals == {RecordKind.COMPANY: 4, RecordKind.CONTACT: 6, RecordKind.DEAL: 4}
    customer, lost, other = ValueClass.CUSTOMER, ValueClass.LOST_DEAL, ValueClass.OTHER
    stale = report.result(QualityCheck.STATUS_STALE)
    assert stale.by_value == {customer: 0, lost: 1, other: 1}
    assert stale.reach == 2  # beta's and gamma's one contact each
    duplicates = report.result(QualityCheck.DUPLICATE_COMPANIES)
    assert duplicates.by_value == {customer: 1, lost: 0, other: 1}
    assert duplicates.reach == 4 + 1  # acme's four live contacts; the copy has none (counts 1)
    assert report.duplicate_clusters == 1
    assert report.result(QualityCheck.CONTACT_NO_HEARING).by_value == {
        customer: 2,
        lost: 0,
        other: 1,
    }
    assert report.result(QualityCheck.ROLE_ADDRESS).by_value == {customer: 1, lost: 1, other: 0}
    assert report.result(QualityCheck.LOST_DEAL_NO_REASON).by_value == {
        customer: 0,
        lost: 1,
        other: 0,
    }
    faults = {f.fault: f.affected for f in report.faults}
    assert faults == {
        QualityFault.STATUS: {RecordKind.COMPANY: 3},
        QualityFault.NAMES: {RecordKind.COMPANY: 2},
        QualityFault.HEARING: {RecordKind.CONTACT: 3, RecordKind.DEAL: 3},
        QualityFault.CONTACT_DETAILS: {RecordKind.COMPANY: 1, RecordKind.CONTACT: 3},
        QualityFault.VALIDITY: {RecordKind.COMPANY: 2, RecordKind.CONTACT: 3},
    }
    # acme is flagged only as a duplicate, P5 only by its role address: the unions count them.
    assert report.affected == {RecordKind.COMPANY: 4, RecordKind.CONTACT: 5, RecordKind.DEAL: 3}
    assert report.affected_share[RecordKind.CONTACT] == pytest.approx(5 / 6)
    assert report.fix_first[0].check is QualityCheck.DUPLICATE_COMPANIES
    assert {f.check for f in report.fix_first} == set(QualityCheck)


def test_lists_carry_ids_external_ids_and_the_value_at_fault(session: Session, ids: Ids) -> None:
    stale = quality_records(session, check="status_stale", as_of=AS_OF)
    assert [(r.id, r.external_id, r.status, r.status_updated_at) for r in stale.records] == [
        (ids.companies["C4"], "C4", "former", None),
        (ids.companies["C3"], "C3", "prospect", date(2024, 1, 1)),
    ]
    assert stale.kind is RecordKind.COMPANY
    assert stale.title.ja == "ステータスが12か月以上未更新の会社"
    invalid = quality_records(session, check=QualityCheck.INVALID_EMAIL, as_of=AS_OF)
    (record,) = invalid.records
    assert (record.id, record.email, record.company_id, record.company_name) == (
        ids.contacts["P3"],
        "a..b@acme.co.jp",
        ids.companies["C1"],
        "株式会社アクメ",
    )
    lost = quality_records(session, check=QualityCheck.LOST_DEAL_NO_REASON, as_of=AS_OF)
    assert [(r.kind, r.outcome, r.company_name) for r in lost.records] == [
        (RecordKind.DEAL, "lost", "ベータ工業株式会社")
    ]
    numbers = quality_records(session, check=QualityCheck.INVALID_CORPORATE_NUMBER, as_of=AS_OF)
    assert [r.corporate_number for r in numbers.records] == ["12345", "1234567890123"]
    (group,) = quality_records(session, check=QualityCheck.DUPLICATE_COMPANIES, as_of=AS_OF).groups
    assert sorted(zip(group.ids, group.external_ids, group.names, strict=True)) == [
        (ids.companies["C1"], "C1", "株式会社アクメ"),
        (ids.companies["C2"], "C2", "(株)アクメ"),
    ]
    assert group.evidence and 0 < group.score <= 1


def test_lists_page_newest_first(session: Session, ids: Ids) -> None:
    p = ids.contacts
    first = quality_records(session, check="contact_no_hearing", as_of=AS_OF, per_page=2)
    second = quality_records(session, check="contact_no_hearing", as_of=AS_OF, page=2, per_page=2)
    assert [r.id for r in first.records] == [p["P6"], p["P4"]]
    assert [r.id for r in second.records] == [p["P3"]]
    assert (first.total, first.has_next, second.has_next, second.page_count) == (3, True, False, 2)
    roles = quality_records(session, check="role_address", as_of=AS_OF, page=2, per_page=1)
    assert [r.id for r in roles.records] == [p["P2"]]
    beyond = quality_records(session, check="role_address", as_of=AS_OF, page=5, per_page=1)
    assert (beyond.records, beyond.total) == ([], 2)


def test_the_saved_policy_moves_the_limits(session: Session, ids: Ids) -> None:
    save_policy(
        session,
        QualityPolicy(
            stale_status_months=36, placeholder_names=["受付"], role_local_parts=["saburo"]
        ),
    )
    session.commit()
    # 2024-01-01 is within 36 months; the never-dated status stays stale.
    assert _flagged(session, QualityCheck.STATUS_STALE) == [ids.companies["C4"]]
    p = ids.contacts
    assert _flagged(session, QualityCheck.CONTACT_NO_NAME) == sorted([p["P2"], p["P3"]])
    # info@ is still caught by the prefixes; saburo@ now is a role word.
    assert _flagged(session, QualityCheck.ROLE_ADDRESS) == sorted([p["P2"], p["P5"], p["P6"]])
    passed = _flagged(session, QualityCheck.STATUS_STALE, policy=QualityPolicy())
    assert passed == sorted([ids.companies["C3"], ids.companies["C4"]])


def test_overview_samples_every_check(session: Session, ids: Ids) -> None:
    overview = quality_overview(session, as_of=AS_OF, sample=1)
    assert set(overview.samples) == set(QualityCheck)
    assert all(len(s.records) + len(s.groups) == min(1, s.total) for s in overview.samples.values())
    assert overview.samples[QualityCheck.CONTACT_NO_EMAIL].records[0].id == ids.contacts["P4"]
    assert quality_overview(session, as_of=AS_OF, sample=0).samples == {}


def test_bad_requests_say_what_is_wrong(session: Session) -> None:
    with pytest.raises(InvalidInputError, match="unknown quality check 'no_such'"):
        quality_records(session, check="no_such", as_of=AS_OF)
    with pytest.raises(InvalidInputError, match="per_page"):
        quality_records(session, check="role_address", as_of=AS_OF, per_page=0)
    with pytest.raises(InvalidInputError, match="sample"):
        quality_overview(session, as_of=AS_OF, sample=-1)


def test_an_empty_database_reports_nothing_to_fix(session: Session) -> None:
    report = quality_report(session, as_of=AS_OF)
    assert report.fix_first == []
    assert report.affected == {RecordKind.COMPANY: 0, RecordKind.CONTACT: 0, RecordKind.DEAL: 0}


def test_sql_corporate_number_check_agrees_with_check_corporate_number(session: Session) -> None:
    rng = random.Random(13)
    numbers: list[str] = []
    for i in range(240):
        base = "".join(rng.choice("0123456789") for _ in range(12))
        match i % 4:
            case 0:
                numbers.append(cn.calc_check_digit(base) + base)  # valid
            case 1:
                numbers.append(str((int(cn.calc_check_digit(base)) + 1 + i % 8) % 10) + base)
            case 2:
                numbers.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 13))))
            case _:
                digits = list(cn.calc_check_digit(base) + base)
                digits[rng.randrange(13)] = rng.choice("abX-. ")
                numbers.append("".join(digits))
    numbers += ["", " ", "0000000000000", "9999999999999"]
    session.add_all(
        Company(import_key=f"N{i}", name=f"会社{i}", corporate_number=n)
        for i, n in enumerate(numbers)
    )
    session.commit()
    expected = sorted(
        i + 1
        for i, n in enumerate(numbers)
        if check_corporate_number(n).status is CorporateNumberStatus.INVALID
    )
    found: list[int] = []
    for page in (1, 2):
        result = quality_records(
            session, check="invalid_corporate_number", as_of=AS_OF, page=page, per_page=200
        )
        found += [r.id for r in result.records]
    assert sorted(found) == expected
    assert 100 < len(expected) < len(numbers)


def test_finds_the_invalid_corporate_numbers_planted_in_the_demo(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    world = generate_world(companies=2000, seed=42, as_of=AS_OF)
    rows = world.rows[ImportKind.COMPANIES]
    path = tmp_path / "companies.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    with Session(sqlite_engine) as session:
        ensure_demo_users(session)
        import_file(session, kind=ImportKind.COMPANIES, path=path)
        session.commit()
        page = quality_records(session, check="invalid_corporate_number", as_of=AS_OF, per_page=200)
    planted = world.planted.invalid_corporate_numbers
    assert len(planted) == 19
    assert sorted(r.external_id or "" for r in page.records) == sorted(planted)
