"""How long a silence means "dormant": evidence from a company's own order history.

Two views for suggesting a dormancy threshold (SPEC 3.2), both in days:

- the distribution of gaps between consecutive purchases (pooled over customers);
- the return curve: among customers who were ever silent for at least g days
  (between two orders, or still silent at `as_of`), the share who ordered again
  after such a silence. The suggested threshold is the shortest g after which
  fewer than a chosen share came back.

A silence still open at `as_of` counts as "not returned (yet)", so the curve is
what the data shows so far, not a forecast; P(alive) from `mezame.stats.bgnbd`
is the model-based complement.

    quantiles = gap_quantiles(ids, dates)
    curve = return_curve(ids, dates, as_of=np.datetime64("2025-03-31"))
    dormancy_gap(curve, max_return_rate=0.10)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mezame.errors import InvalidInputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_PROBABILITIES = (0.5, 0.75, 0.9, 0.95, 0.99)
DEFAULT_GAP_STEP_DAYS = 30


@dataclass(frozen=True, slots=True, eq=False)
class GapQuantiles:
    """Quantiles of the days between consecutive purchases."""

    probabilities: FloatArray
    gap_days: FloatArray
    gaps: int  # gaps observed
    customers: int  # customers with at least one repeat purchase


@dataclass(frozen=True, slots=True, eq=False)
class ReturnCurve:
    """Per candidate silence g: customers who reached it and who ordered again after it."""

    gap_days: IntArray
    reached: IntArray  # customers silent for ≥ g days at some point, up to as_of
    returned: IntArray  # of those, customers who ordered again after a silence of ≥ g days

    @property
    def return_rate(self) -> FloatArray:
        """returned / reached; NaN where nobody reached the gap."""
        with np.errstate(invalid="ignore", divide="ignore"):
            rate: FloatArray = self.returned / self.reached
        return np.where(self.reached > 0, rate, np.nan)


@dataclass(frozen=True, slots=True)
class _Histories:
    """Distinct purchase days, sorted by customer then day."""

    customer: IntArray
    day: IntArray
    customers: int


def distinct(values: IntArray) -> IntArray:
    """The sorted distinct values."""
    # Plain np.unique hashes int64 since NumPy 2.3: forty times slower than a sort here.
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _histories(
    customer_ids: ArrayLike, dates: ArrayLike, until: np.datetime64 | None = None
) -> _Histories:
    ids = np.asarray(customer_ids)
    days = np.asarray(dates, dtype="datetime64[D]")
    if ids.ndim != 1 or days.shape != ids.shape:
        raise InvalidInputError("顧客IDと日付は同じ長さの 1 次元配列にしてください")
    if np.isnat(days).any():
        row = int(np.flatnonzero(np.isnat(days))[0])
        raise InvalidInputError(f"日付が空の取引があります (最初は {row} 行目)")
    if until is not None:
        keep = days <= until
        ids, days = ids[keep], days[keep]
    if ids.size == 0:
        return _Histories(np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
    customers, customer = np.unique(ids, return_inverse=True)
    day = days.astype(np.int64)
    base = int(day.min())
    span = int(day.max()) - base + 1
    keys = distinct(customer.astype(np.int64) * span + (day - base))
    return _Histories(keys // span, keys % span + base, int(customers.size))


def _gaps(histories: _Histories) -> tuple[IntArray, IntArray]:
    """Days between consecutive purchases of the same customer, and whose gap each is."""
    same = histories.customer[1:] == histories.customer[:-1]
    gaps = np.diff(histories.day)[same]
    return gaps, histories.customer[1:][same]


def inter_purchase_gaps(customer_ids: ArrayLike, dates: ArrayLike) -> IntArray:
    """Days between consecutive purchase days of each customer (same-day orders count once)."""
    return _gaps(_histories(customer_ids, dates))[0]


def gap_quantiles(
    customer_ids: ArrayLike,
    dates: ArrayLike,
    probabilities: ArrayLike = DEFAULT_PROBABILITIES,
) -> GapQuantiles | None:
    """Quantiles of the inter-purchase gaps pooled over customers; None without any repeat."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 1 or ((probs < 0) | (probs > 1)).any():
        raise InvalidInputError("probabilities は 0 以上 1 以下の値の並びにしてください")
    gaps, owner = _gaps(_histories(customer_ids, dates))
    if gaps.size == 0:
        return None
    return GapQuantiles(
        probabilities=probs,
        gap_days=np.quantile(gaps, probs),
        gaps=int(gaps.size),
        customers=int(distinct(owner).size),
    )


def return_curve(
    customer_ids: ArrayLike,
    dates: ArrayLike,
    *,
    as_of: np.datetime64 | dt.date | str,
    gap_days: ArrayLike | None = None,
) -> ReturnCurve:
    """Share of customers who ordered again after a silence of at least g days, per g.

    Orders after `as_of` are ignored. By default g runs in steps of 30 days up to
    the longest silence seen.
    """
    end: np.datetime64 = np.array([as_of], dtype="datetime64[D]")[0]
    if np.isnat(end):
        raise InvalidInputError("as_of が日付ではありません")
    histories = _histories(customer_ids, dates, until=end)
    gaps, owner = _gaps(histories)
    # Longest silence each customer ended by ordering again (0 for one-time buyers) ...
    longest_returned = np.zeros(histories.customers, dtype=np.int64)
    np.maximum.at(longest_returned, owner, gaps)
    # ... and the longest silence each reached, counting the one still open at as_of.
    last_day = np.full(histories.customers, np.iinfo(np.int64).min)
    np.maximum.at(last_day, histories.customer, histories.day)
    open_silence = end.astype(np.int64) - last_day
    longest_reached = np.maximum(longest_returned, open_silence)

    if gap_days is None:
        longest = int(longest_reached.max(initial=0))
        grid = np.arange(DEFAULT_GAP_STEP_DAYS, longest + 1, DEFAULT_GAP_STEP_DAYS, dtype=np.int64)
    else:
        grid = np.asarray(gap_days, dtype=np.int64)
        if grid.ndim != 1 or (grid <= 0).any():
            raise InvalidInputError("gap_days は正の日数の並びにしてください")
    return ReturnCurve(
        gap_days=grid,
        reached=_at_least(longest_reached, grid),
        returned=_at_least(longest_returned, grid),
    )


def _at_least(values: IntArray, thresholds: IntArray) -> IntArray:
    """How many values are ≥ each threshold."""
    ordered = np.sort(values)
    return (ordered.size - np.searchsorted(ordered, thresholds, side="left")).astype(np.int64)


def dormancy_gap(
    curve: ReturnCurve, *, max_return_rate: float, min_customers: int = 30
) -> int | None:
    """The shortest gap after which fewer than `max_return_rate` of customers came back.

    Gaps reached by fewer than `min_customers` customers are too thin to judge and
    are skipped; None when no gap qualifies.
    """
    if not 0 < max_return_rate <= 1:
        raise InvalidInputError("max_return_rate は 0 より大きく 1 以下にしてください")
    enough = curve.reached >= max(min_customers, 1)
    rate = curve.return_rate
    qualifies = enough & (np.where(enough, rate, 1.0) < max_return_rate)
    if not qualifies.any():
        return None
    return int(curve.gap_days[np.flatnonzero(qualifies)[0]])
