"""The data-quality report's arithmetic: weights, reach, shares, the fix-first order, the policy."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mezame.quality.report import (
    CHECKS,
    DEFAULT_SEVERITY,
    CheckCount,
    QualityCheck,
    QualityFault,
    QualityPolicy,
    QualityReport,
    RecordKind,
    ValueClass,
    build_report,
    months_before,
)

AS_OF = date(2026, 11, 23)
TOTALS = {RecordKind.COMPANY: 100, RecordKind.CONTACT: 400, RecordKind.DEAL: 50}


def _counts(**flagged: CheckCount) -> dict[QualityCheck, CheckCount]:
    counts = {check: CheckCount(records={}) for check in QualityCheck}
    counts.update({QualityCheck(name): count for name, count in flagged.items()})
    return counts


def _report(
    counts: dict[QualityCheck, CheckCount], policy: QualityPolicy | None = None
) -> QualityReport:
    return build_report(
        as_of=AS_OF,
        totals=TOTALS,
        counts=counts,
        fault_affected={QualityFault.STATUS: {RecordKind.COMPANY: 30}},
        affected={RecordKind.COMPANY: 40, RecordKind.CONTACT: 0, RecordKind.DEAL: 5},
        duplicate_clusters=0,
        policy=policy or QualityPolicy(),
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 23), 12, date(2025, 11, 23)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2026, 1, 15), 1, date(2025, 12, 15)),
        (date(2026, 12, 31), 6, date(2026, 6, 30)),
        (date(2026, 5, 31), 24, date(2024, 5, 31)),
    ],
)
def test_months_before_clamps_to_the_end_of_the_month(
    day: date, months: int, expected: date
) -> None:
    assert months_before(day, months) == expected


@given(st.dates(min_value=date(1900, 1, 1)), st.integers(min_value=0, max_value=240))
def test_months_before_never_lands_later_and_keeps_the_month_distance(
    day: date, months: int
) -> None:
    earlier = months_before(day, months)
    assert earlier <= day
    assert (day.year - earlier.year) * 12 + day.month - earlier.month == months


def test_impact_is_severity_times_value_weighted_reach() -> None:
    report = _report(
        _counts(
            contact_no_email=CheckCount(
                records={ValueClass.CUSTOMER: 2, ValueClass.LOST_DEAL: 1, ValueClass.OTHER: 4}
            ),
            status_stale=CheckCount(
                records={ValueClass.CUSTOMER: 3},
                reach={ValueClass.CUSTOMER: 10, ValueClass.OTHER: 0},
            ),
        )
    )
    no_email = report.result(QualityCheck.CONTACT_NO_EMAIL)
    assert no_email.count == 7
    assert no_email.reach == 7  # a contact reaches itself
    assert no_email.impact == pytest.approx(1.0 * (3 * 2 + 2 * 1 + 1 * 4))
    assert no_email.share == pytest.approx(7 / 400)
    stale = report.result(QualityCheck.STATUS_STALE)
    assert (stale.count, stale.reach) == (3, 10)
    assert stale.impact == pytest.approx(0.8 * 3 * 10)
    assert [f.check for f in report.fix_first] == [
        QualityCheck.STATUS_STALE,
        QualityCheck.CONTACT_NO_EMAIL,
    ]
    assert [f.rank for f in report.fix_first] == [1, 2]


def test_a_fault_no_record_has_is_not_on_the_to_do_list() -> None:
    report = _report(_counts())
    assert report.fix_first == []
    assert all(r.count == 0 and r.impact == 0 for r in report.checks)
    assert [r.check for r in report.checks] == list(QualityCheck)


def test_zero_severity_keeps_the_count_but_drops_it_from_fix_first() -> None:
    policy = QualityPolicy(severity={QualityCheck.ROLE_ADDRESS: 0.0})
    report = _report(_counts(role_address=CheckCount(records={ValueClass.OTHER: 9})), policy)
    assert report.result(QualityCheck.ROLE_ADDRESS).count == 9
    assert report.fix_first == []


def test_value_weights_decide_between_equal_counts() -> None:
    counts = _counts(
        contact_no_email=CheckCount(records={ValueClass.OTHER: 10}),
        invalid_email=CheckCount(records={ValueClass.CUSTOMER: 10}),
    )
    assert [f.check for f in _report(counts).fix_first] == [
        QualityCheck.INVALID_EMAIL,
        QualityCheck.CONTACT_NO_EMAIL,
    ]
    flat = QualityPolicy(value_weights={ValueClass.CUSTOMER: 1.0})
    # Same impact: the order of CHECKS (the seeds' order) breaks the tie.
    assert [f.check for f in _report(counts, flat).fix_first] == [
        QualityCheck.CONTACT_NO_EMAIL,
        QualityCheck.INVALID_EMAIL,
    ]


def test_reason_says_how_many_how_valuable_and_why_in_both_languages() -> None:
    report = _report(
        _counts(
            status_unknown=CheckCount(
                records={ValueClass.CUSTOMER: 1200, ValueClass.LOST_DEAL: 3},
                reach={ValueClass.CUSTOMER: 2500, ValueClass.LOST_DEAL: 3},
            ),
            contact_no_phone=CheckCount(records={ValueClass.OTHER: 5}),
        )
    )
    first, second = report.fix_first
    assert first.check is QualityCheck.STATUS_UNKNOWN
    assert first.title.ja == "ステータス不明の会社"
    assert first.reason.ja.startswith(
        "1,203社（うち取引実績のある会社1,200社、失注・見送りの会社3社、担当者2,503名に影響）。"
    )
    assert first.reason.en.startswith(
        "1,203 companies (1,200 at past customers, 3 with lost or postponed deals, "
        "2,503 contacts affected). "
    )
    assert first.reason.in_locale("en") == first.reason.en
    assert first.reason.in_locale("ja") == first.reason.ja
    assert second.reason.ja.startswith("5名。")  # nothing valuable to mention
    assert second.reason.en.startswith("5 contacts. When they turn hot")


def test_stale_title_and_cut_off_follow_the_policy() -> None:
    report = _report(_counts(), QualityPolicy(stale_status_months=6))
    assert report.stale_before == date(2026, 5, 23)
    title = report.result(QualityCheck.STATUS_STALE).title
    assert title.ja == "ステータスが6か月以上未更新の会社"
    assert title.en == "Status not updated for 6 months"


def test_faults_group_their_checks_and_carry_the_unions_given() -> None:
    report = _report(_counts())
    by_fault = {f.fault: f for f in report.faults}
    assert list(by_fault) == list(QualityFault)
    assert by_fault[QualityFault.STATUS].checks == [
        QualityCheck.STATUS_UNKNOWN,
        QualityCheck.STATUS_STALE,
    ]
    assert by_fault[QualityFault.STATUS].share == {RecordKind.COMPANY: 0.3}
    assert by_fault[QualityFault.HEARING].affected == {}
    assert report.affected_share == {
        RecordKind.COMPANY: 0.4,
        RecordKind.CONTACT: 0.0,
        RecordKind.DEAL: 0.1,
    }
    assert {c for f in report.faults for c in f.checks} == set(QualityCheck)


def test_every_check_has_a_spec_and_a_default_severity() -> None:
    assert set(CHECKS) == set(QualityCheck) == set(DEFAULT_SEVERITY)
    assert {spec.fault for spec in CHECKS.values()} == set(QualityFault)


def test_missing_counts_are_an_error_not_a_zero() -> None:
    counts = _counts()
    del counts[QualityCheck.ROLE_ADDRESS]
    with pytest.raises(ValueError, match="role_address"):
        _report(counts)


def test_an_empty_database_has_no_shares_to_divide_by_zero() -> None:
    report = build_report(
        as_of=AS_OF,
        totals={},
        counts=_counts(),
        fault_affected={},
        affected={RecordKind.COMPANY: 0},
        duplicate_clusters=0,
        policy=QualityPolicy(),
    )
    assert report.affected_share == {RecordKind.COMPANY: 0.0}
    assert all(r.share == 0.0 for r in report.checks)


def test_policy_merges_saved_values_over_the_defaults() -> None:
    policy = QualityPolicy.model_validate(
        {
            "severity": {"role_address": 0.5},
            "value_weights": {"other": 0.5},
            "role_local_parts": [" Info ", "SALES", "sales", ""],
        }
    )
    assert policy.severity[QualityCheck.ROLE_ADDRESS] == 0.5
    assert policy.severity[QualityCheck.CONTACT_NO_EMAIL] == 1.0
    assert policy.value_weights == {
        ValueClass.CUSTOMER: 3.0,
        ValueClass.LOST_DEAL: 2.0,
        ValueClass.OTHER: 0.5,
    }
    assert policy.role_local_parts == ["info", "sales"]
    assert "info" in QualityPolicy().role_local_parts
    assert "お問い合わせ" in QualityPolicy().role_local_parts


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("stale_status_months", 0, "greater than or equal to 1"),
        ("severity", {"role_address": 1.5}, "between 0 and 1"),
        ("severity", {"no_such_check": 0.5}, "no_such_check"),
        ("value_weights", {"customer": -1}, "cannot be negative"),
        ("role_local_parts", ["info@"], "without '@'"),
    ],
)
def test_policy_rejects_nonsense_with_the_reason(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        QualityPolicy.model_validate({field: value})
