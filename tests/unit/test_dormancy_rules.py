"""Dormancy rules over arrays: kinds, triggers, thresholds in calendar months, upper bounds."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mezame.dormancy.rules import (
    KINDS,
    MISSING,
    TRIGGERS,
    CompanyFacts,
    ContactFacts,
    DormancyKind,
    DormancyPolicy,
    KindRule,
    Trigger,
    add_months,
    classify_companies,
    classify_contacts,
)

AS_OF = date(2026, 11, 23)


def d(day: str) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


def days(*values: str | None) -> np.ndarray:
    return np.array([MISSING if v is None else d(v) for v in values], dtype=np.int64)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2025-01-31", 1, "2025-02-28"),  # clamped to the month's end
        ("2024-01-31", 1, "2024-02-29"),  # leap year
        ("2025-11-23", 12, "2026-11-23"),
        ("2025-03-31", -1, "2025-02-28"),
        ("2025-12-15", 3, "2026-03-15"),  # across the year
        ("2025-06-10", 0, "2025-06-10"),
    ],
)
def test_add_months_is_calendar_arithmetic(start: str, months: int, expected: str) -> None:
    assert add_months(days(start), months)[0] == d(expected)


@given(st.dates(date(1990, 1, 1), date(2090, 1, 1)), st.integers(0, 240))
def test_add_months_never_goes_back_and_lands_in_the_target_month(day: date, months: int) -> None:
    result = np.datetime64(int(add_months(days(day.isoformat()), months)[0]), "D").item()
    assert result >= day
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months


def _companies(**columns: np.ndarray) -> CompanyFacts:
    n = len(next(iter(columns.values())))
    base = {
        "last_order": np.full(n, MISSING),
        "contract_end": np.full(n, MISSING),
        "cancellation": np.full(n, MISSING),
        "last_lost": np.full(n, MISSING),
        "last_lost_postponed": np.zeros(n, dtype=bool),
        "open_deals": np.zeros(n, dtype=np.int64),
    }
    return CompanyFacts(**{**base, **columns})


def _judged(facts: CompanyFacts, policy: DormancyPolicy | None = None) -> dict[int, tuple]:
    result = classify_companies(facts, policy or DormancyPolicy(), as_of=d(AS_OF.isoformat()))
    return {
        int(i): (KINDS[k], TRIGGERS[t], int(f), bool(x))
        for i, k, t, f, x in zip(
            result.index,
            result.kind,
            result.trigger,
            result.fell_asleep,
            result.excluded,
            strict=True,
        )
    }


def test_former_customer_after_twelve_months_to_the_day() -> None:
    judged = _judged(_companies(last_order=days("2025-11-23", "2025-11-24", "2026-06-01")))
    assert judged == {0: (DormancyKind.FORMER_CUSTOMER, Trigger.LAST_ORDER, d("2025-11-23"), False)}


def test_a_running_contract_keeps_a_customer_awake() -> None:
    judged = _judged(
        _companies(
            last_order=days("2024-01-10", "2024-01-10"),
            contract_end=days("2027-01-09", "2025-01-09"),
        )
    )
    assert judged == {
        1: (DormancyKind.FORMER_CUSTOMER, Trigger.CONTRACT_END, d("2025-01-09"), False)
    }


def test_the_latest_sign_is_the_trigger_cancellation_winning_ties() -> None:
    judged = _judged(
        _companies(
            last_order=days("2025-03-01", "2025-05-01", "2025-02-01"),
            cancellation=days("2025-05-01", "2025-04-01", None),
            last_lost=days(None, None, "2025-06-30"),
            last_lost_postponed=np.array([False, False, True]),
        )
    )
    assert judged[0][1:3] == (Trigger.CANCELLATION, d("2025-05-01"))
    assert judged[1][1:3] == (Trigger.LAST_ORDER, d("2025-05-01"))
    # A customer whose later re-proposal was postponed: still a former customer, since then.
    assert judged[2][:3] == (DormancyKind.FORMER_CUSTOMER, Trigger.POSTPONED_DEAL, d("2025-06-30"))


def test_lost_deals_are_dormant_on_close_and_open_deals_block() -> None:
    judged = _judged(
        _companies(
            last_lost=days("2026-11-23", "2026-10-01", "2026-10-01", None),
            last_lost_postponed=np.array([False, True, False, False]),
            open_deals=np.array([0, 0, 1, 0]),
        )
    )
    assert judged == {
        0: (DormancyKind.LOST_DEAL, Trigger.LOST_DEAL, d("2026-11-23"), False),
        1: (DormancyKind.LOST_DEAL, Trigger.POSTPONED_DEAL, d("2026-10-01"), False),
    }


def test_beyond_the_upper_bound_is_excluded_as_gone() -> None:
    judged = _judged(
        _companies(
            last_order=days("2021-11-23", "2021-11-24", None),
            last_lost=days(None, None, "2023-11-23"),
        )
    )
    assert judged[0][3] is True  # exactly 60 months
    assert judged[1][3] is False
    assert judged[2][3] is True  # lost deals: 36 months


def test_threshold_per_product_line() -> None:
    facts = _companies(
        last_order=days("2026-05-01", "2026-05-01", "2026-05-01"),
        line_months=np.array([6, -1, 3]),
    )
    assert sorted(_judged(facts)) == [0, 2]  # the default 12 months keeps the middle awake


def test_contact_only_from_acquisition_or_the_last_response() -> None:
    facts = ContactFacts(
        company_has_relationship=np.array([False, False, False, True, False]),
        acquired=days("2026-08-23", "2026-01-10", "2026-08-24", "2025-01-01", None),
        last_response=days(None, "2026-05-01", None, None, None),
    )
    result = classify_contacts(facts, DormancyPolicy(), as_of=d(AS_OF.isoformat()))
    assert result.index.tolist() == [0, 1]
    assert [TRIGGERS[t] for t in result.trigger] == [Trigger.ACQUISITION, Trigger.LAST_RESPONSE]
    assert result.fell_asleep.tolist() == [d("2026-08-23"), d("2026-05-01")]
    assert result.excluded.tolist() == [False, False]


def test_policy_rejects_a_bound_below_the_threshold_and_bad_lines() -> None:
    with pytest.raises(ValueError, match="upper bound"):
        KindRule(after_months=12, exclude_after_months=12)
    with pytest.raises(ValueError, match="商品ライン"):
        DormancyPolicy(former_customer_by_line={"消耗品": 60})
    with pytest.raises(ValueError, match="空"):
        DormancyPolicy(former_customer_by_line={" ": 3})


def test_defaults_are_the_seeds() -> None:
    policy = DormancyPolicy()
    assert policy.former_customer.after_months == 12
    assert policy.lost_deal.after_months == 0
    assert policy.contact_only.after_months == 3
