"""From a transaction log to per-customer frequency, recency, age and spend (RFM).

The summary the BG/NBD and Gamma-Gamma models take, with the conventions of
lifetimes' `summary_data_from_transaction_data`: dates are first reduced to
periods (day, Monday-to-Sunday week, or calendar month) and purchases in the
same period count once, their amounts summed.

- frequency x: distinct purchase periods minus one (repeat purchases);
- recency t_x: periods from the first to the last purchase;
- T: periods from the first purchase to the end of the (calibration) window;
- monetary value: mean amount of the repeat periods (first one excluded), 0 when x = 0.

With a calibration end, the summary covers purchases up to that date and adds,
per customer, the number of distinct purchase periods after it up to the
observation end (the holdout used to validate a model). Customers whose first
purchase falls after the calibration end are not in the summary.

    summary = summarise(ids, dates, observation_end=np.datetime64("1998-06-30"),
                        calibration_end=np.datetime64("1997-09-30"), period="week")
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mezame.errors import InvalidInputError

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# 1970-01-01 (day 0 of datetime64) was a Thursday: shifting by 3 days starts weeks on Monday.
_DAYS_FROM_MONDAY_AT_EPOCH = 3


@dataclass(frozen=True, slots=True, eq=False)
class RFMSummary:
    """One row per customer (sorted by id); times are in whole periods."""

    customer_ids: NDArray[Any]
    frequency: IntArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray | None  # only when amounts were given
    frequency_holdout: IntArray | None  # only with a calibration end
    duration_holdout: float | None  # periods from calibration end to observation end
    period: Period


def period_index(dates: NDArray[np.datetime64], period: Period) -> IntArray:
    """Number of the period each date falls in, counted from the datetime64 epoch."""
    days = dates.astype("datetime64[D]")
    if period == "day":
        return days.astype(np.int64)
    if period == "week":
        return (days.astype(np.int64) + _DAYS_FROM_MONDAY_AT_EPOCH) // 7
    if period == "month":
        return days.astype("datetime64[M]").astype(np.int64)
    raise InvalidInputError(f"period は {', '.join(PERIODS)} のいずれかにしてください: {period!r}")


def _day(value: np.datetime64 | dt.date | str, name: str) -> np.datetime64:
    day: np.datetime64 = np.array([value], dtype="datetime64[D]")[0]
    if np.isnat(day):
        raise InvalidInputError(f"{name} が日付ではありません")
    return day


def _distinct_periods(customer: IntArray, periods: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct (customer, period) pairs sorted by customer then period, and each row's pair."""
    base = int(periods.min())
    span = int(periods.max()) - base + 1
    keys, pair_of_row = np.unique(customer * span + (periods - base), return_inverse=True)
    return keys // span, keys % span + base, pair_of_row


def summarise(
    customer_ids: ArrayLike,
    dates: ArrayLike,
    *,
    observation_end: np.datetime64 | dt.date | str,
    amounts: ArrayLike | None = None,
    calibration_end: np.datetime64 | dt.date | str | None = None,
    period: Period = "day",
) -> RFMSummary:
    """Summarise transactions up to `observation_end` (inclusive) into one RFM row per customer."""
    ids = np.asarray(customer_ids)
    days = np.asarray(dates, dtype="datetime64[D]")
    money = None if amounts is None else np.asarray(amounts, dtype=np.float64)
    if ids.ndim != 1 or days.shape != ids.shape or (money is not None and money.shape != ids.shape):
        raise InvalidInputError("顧客ID・日付・金額は同じ長さの 1 次元配列にしてください")
    if np.isnat(days).any():
        row = int(np.flatnonzero(np.isnat(days))[0])
        raise InvalidInputError(f"日付が空の取引があります (最初は {row} 行目)")
    if money is not None and not np.isfinite(money).all():
        row = int(np.flatnonzero(~np.isfinite(money))[0])
        raise InvalidInputError(f"金額が数値ではない取引があります (最初は {row} 行目)")
    observed = _day(observation_end, "observation_end")
    window_end = observed if calibration_end is None else _day(calibration_end, "calibration_end")
    if window_end > observed:
        raise InvalidInputError("calibration_end は observation_end 以前にしてください")

    in_window = days <= window_end
    if not in_window.any():
        raise InvalidInputError(f"{window_end} 以前の取引がありません")
    customers, customer = np.unique(ids[in_window], return_inverse=True)
    periods = period_index(days, period)
    end = int(period_index(np.array([window_end]), period)[0])

    pair_customer, pair_period, pair_of_row = _distinct_periods(
        customer.astype(np.int64), periods[in_window]
    )
    purchases = np.bincount(pair_customer, minlength=customers.size)
    first_pair = np.concatenate(([0], np.cumsum(purchases)[:-1]))
    first = pair_period[first_pair]
    frequency = purchases - 1

    monetary_value = None
    if money is not None:
        period_spend = np.bincount(pair_of_row, weights=money[in_window])
        repeat_spend = np.bincount(pair_customer, weights=period_spend) - period_spend[first_pair]
        monetary_value = np.where(frequency > 0, repeat_spend / np.maximum(frequency, 1), 0.0)

    frequency_holdout = None
    duration_holdout = None
    if calibration_end is not None:
        frequency_holdout = _holdout_periods(
            customers, ids, periods, (days > window_end) & (days <= observed)
        )
        duration_holdout = float(period_index(np.array([observed]), period)[0] - end)

    return RFMSummary(
        customer_ids=customers,
        frequency=frequency.astype(np.int64),
        recency=(pair_period[first_pair + frequency] - first).astype(np.float64),
        T=(end - first).astype(np.float64),
        monetary_value=monetary_value,
        frequency_holdout=frequency_holdout,
        duration_holdout=duration_holdout,
        period=period,
    )


def _holdout_periods(
    customers: NDArray[Any], ids: NDArray[Any], periods: IntArray, in_holdout: NDArray[np.bool_]
) -> IntArray:
    """Distinct purchase periods in the holdout per calibration customer (others ignored)."""
    counts = np.zeros(customers.size, dtype=np.int64)
    holdout_ids = ids[in_holdout]
    if holdout_ids.size == 0:
        return counts
    position = np.searchsorted(customers, holdout_ids)
    known = position < customers.size
    known[known] = customers[position[known]] == holdout_ids[known]
    if not known.any():
        return counts
    pair_customer, _, _ = _distinct_periods(position[known], periods[in_holdout][known])
    counts += np.bincount(pair_customer, minlength=customers.size)
    return counts
