"""Dormancy threshold evidence: inter-purchase gaps and the return-after-silence curve."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezame.errors import InvalidInputError
from mezame.stats.thresholds import (
    distinct,
    dormancy_gap,
    gap_quantiles,
    inter_purchase_gaps,
    return_curve,
)

LOG = [
    ("A", "2024-01-01"),
    ("A", "2024-01-31"),  # gap 30
    ("A", "2024-04-30"),  # gap 90, then silent 60 days at as_of
    ("B", "2024-01-01"),  # one-time buyer, silent 180 days at as_of
    ("C", "2024-01-01"),
    ("C", "2024-01-01"),  # same day: not a gap
    ("C", "2024-01-11"),  # gap 10
    ("C", "2024-03-11"),  # gap 60, then silent 110 days at as_of
    ("D", "2024-07-15"),  # after as_of
]
IDS = np.array([row[0] for row in LOG])
DATES = np.array([row[1] for row in LOG], dtype="datetime64[D]")
AS_OF = np.datetime64("2024-06-29")


def test_gaps_between_consecutive_purchase_days() -> None:
    assert sorted(inter_purchase_gaps(IDS, DATES).tolist()) == [10, 30, 60, 90]


def test_gap_quantiles_pool_all_gaps() -> None:
    quantiles = gap_quantiles(IDS, DATES, probabilities=[0.0, 0.5, 1.0])
    assert quantiles is not None
    assert quantiles.gap_days.tolist() == [10.0, 45.0, 90.0]
    assert (quantiles.gaps, quantiles.customers) == (4, 2)


def test_no_repeat_purchase_means_no_quantiles() -> None:
    assert gap_quantiles(["a", "b"], ["2024-01-01", "2024-02-01"]) is None


def test_return_curve_counts_customers_reaching_and_ending_each_silence() -> None:
    curve = return_curve(IDS, DATES, as_of=AS_OF, gap_days=[10, 30, 60, 90, 120, 180, 200])
    # Longest silence ended by an order: A 90, B none, C 60.
    # Longest silence reached (the open one included): A 90, B 180, C 110.
    assert curve.reached.tolist() == [3, 3, 3, 3, 1, 1, 0]
    assert curve.returned.tolist() == [2, 2, 2, 1, 0, 0, 0]
    rate = curve.return_rate
    np.testing.assert_allclose(rate[:6], [2 / 3, 2 / 3, 2 / 3, 1 / 3, 0, 0])
    assert np.isnan(rate[6])


def test_default_grid_steps_by_30_days_to_the_longest_silence() -> None:
    curve = return_curve(IDS, DATES, as_of=AS_OF)
    assert curve.gap_days.tolist() == [30, 60, 90, 120, 150, 180]


def test_orders_after_as_of_are_not_seen() -> None:
    earlier = return_curve(IDS, DATES, as_of="2024-02-15", gap_days=[30, 40])
    # A: gap 30 ended, 15 days open; B: 45 open; C: gap 10 ended, 35 open.
    assert earlier.reached.tolist() == [3, 1]
    assert earlier.returned.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("max_return_rate", "min_customers", "expected"),
    [(0.5, 1, 90), (0.5, 3, 90), (0.3, 1, 120), (0.3, 2, None), (0.7, 1, 10)],
)
def test_dormancy_gap_is_the_first_gap_few_come_back_from(
    max_return_rate: float, min_customers: int, expected: int | None
) -> None:
    curve = return_curve(IDS, DATES, as_of=AS_OF, gap_days=[10, 30, 60, 90, 120, 180, 200])
    found = dormancy_gap(curve, max_return_rate=max_return_rate, min_customers=min_customers)
    assert found == expected


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda: return_curve(IDS, DATES, as_of=AS_OF, gap_days=[0, 30]), "gap_days"),
        (lambda: return_curve(IDS, DATES[:2], as_of=AS_OF), "同じ長さ"),
        (lambda: gap_quantiles(IDS, DATES, probabilities=[1.5]), "probabilities"),
        (
            lambda: dormancy_gap(return_curve(IDS, DATES, as_of=AS_OF), max_return_rate=0),
            "max_return_rate",
        ),
    ],
)
def test_unusable_input_is_rejected(call: object, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        call()  # type: ignore[operator]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 1000)), min_size=1, max_size=200),
    st.integers(0, 1200),
)
def test_curve_matches_the_definition_on_random_logs(
    log: list[tuple[int, int]], as_of_day: int
) -> None:
    start = np.datetime64("2020-01-01")
    ids = np.array([row[0] for row in log])
    dates = np.array([start + row[1] for row in log])
    grid = np.arange(1, 1300, 7)
    curve = return_curve(ids, dates, as_of=start + as_of_day, gap_days=grid)

    # The definition, one customer at a time.
    days_of: dict[int, set[int]] = {}
    for customer, day in log:
        if day <= as_of_day:
            days_of.setdefault(customer, set()).add(day)
    ended, reached = [], []
    for days in days_of.values():
        ordered = sorted(days)
        longest_gap = max((b - a for a, b in itertools.pairwise(ordered)), default=0)
        ended.append(longest_gap)
        reached.append(max(longest_gap, as_of_day - ordered[-1]))
    assert curve.returned.tolist() == [sum(v >= g for v in ended) for g in grid]
    assert curve.reached.tolist() == [sum(v >= g for v in reached) for g in grid]


def test_distinct_is_sorted_unique_and_handles_empty() -> None:
    values = np.array([5, 3, 5, 1, 3], dtype=np.int64)
    assert distinct(values).tolist() == [1, 3, 5]
    assert distinct(np.array([], dtype=np.int64)).size == 0
