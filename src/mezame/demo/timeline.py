"""The demo's clock: two years of days up to as_of, with the March peak and the price rise."""

from __future__ import annotations

import bisect
import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate

import numpy as np
import numpy.typing as npt

JST = timezone(timedelta(hours=9), "JST")
HISTORY_DAYS = 730
PRICE_RISE_MONTHS_BEFORE = 14  # the rise takes effect on the 1st of the month 14 months back
PRICE_RISE_PERCENT = 15
FEATURE_RELEASE_MONTHS_BEFORE = 5
FEATURE_NAME = "在庫連携API"
# Announced two months back: the annual plans cost less again (the "price now lower").
PRICE_CUT_MONTHS_BEFORE = 2
PRICE_CUT_PERCENT = 10

# Business volume by month: 年度末 (March) peaks, お盆 (August) dips, September closes a half.
MONTH_WEIGHT = (0.9, 1.0, 1.8, 0.9, 0.85, 1.0, 0.95, 0.7, 1.2, 1.0, 1.0, 1.15)
WEEKEND_WEIGHT = 0.08

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def randint(rng: np.random.Generator, low: int, high: int) -> int:
    """A uniform integer in [low, high) (cheaper than Generator.integers for one draw)."""
    return low + int(rng.random() * (high - low))


def weighted(rng: np.random.Generator, weights: Sequence[float]) -> int:
    """An index drawn in proportion to `weights` (cheaper than Generator.choice for one draw)."""
    cumulative = list(accumulate(weights))
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (clamped to the month's end)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


@dataclass(frozen=True, slots=True)
class Timeline:
    """Day indexes 0..days-1 map to start..as_of-1; nothing happens on or after as_of."""

    start: date
    days: int
    price_rise: int
    feature_release: int
    price_cut: int
    weight: FloatArray
    cumulative: FloatArray  # running sum of weight: "business time" for seasonal Poisson processes

    @property
    def as_of(self) -> date:
        return self.start + timedelta(days=self.days)

    def on(self, day: int) -> date:
        return self.start + timedelta(days=int(day))

    def day_of(self, when: date) -> int:
        return (when - self.start).days

    def at(self, seconds: int) -> datetime:
        """An aware JST datetime `seconds` after the start of the first day."""
        base = datetime(self.start.year, self.start.month, self.start.day, tzinfo=JST)
        return base + timedelta(seconds=int(seconds))

    def months_later(self, day: int, months: int) -> int:
        return self.day_of(add_months(self.on(day), months))

    def first_of_next_month(self, day: int) -> int:
        when = self.on(day)
        return day if when.day == 1 else self.day_of(add_months(when.replace(day=1), 1))

    def seasonal_days(self, rng: np.random.Generator, low: int, high: int, n: int) -> IntArray:
        """n days in [low, high), drawn in proportion to business volume (weekdays, March)."""
        low, high = max(0, low), min(self.days, max(high, low + 1))
        floor = float(self.cumulative[low - 1]) if low > 0 else 0.0
        target = floor + rng.random(n) * (float(self.cumulative[high - 1]) - floor)
        days = np.searchsorted(self.cumulative, target, side="right")
        return np.clip(days, low, high - 1).astype(np.int64)

    def business_day(self, rng: np.random.Generator, low: int, high: int) -> int:
        return int(self.seasonal_days(rng, low, high, 1)[0])

    def next_purchase(self, rng: np.random.Generator, day: int, per_year: float) -> int:
        """The next event of a Poisson process with `per_year` events, run in business time."""
        mean_business_days = 365.0 * float(self.cumulative[-1]) / self.days / per_year
        target = float(self.cumulative[day]) + rng.exponential(mean_business_days)
        return int(np.searchsorted(self.cumulative, target))


def make_timeline(as_of: date) -> Timeline:
    """Two years of history ending the day before as_of."""
    start = as_of - timedelta(days=HISTORY_DAYS)
    dates = [start + timedelta(days=i) for i in range(HISTORY_DAYS)]
    weight = np.array(
        [MONTH_WEIGHT[d.month - 1] * (WEEKEND_WEIGHT if d.weekday() >= 5 else 1.0) for d in dates],
        dtype=np.float64,
    )
    rise = add_months(as_of.replace(day=1), -PRICE_RISE_MONTHS_BEFORE)
    release = add_months(as_of.replace(day=1), -FEATURE_RELEASE_MONTHS_BEFORE)
    cut = add_months(as_of.replace(day=1), -PRICE_CUT_MONTHS_BEFORE)
    return Timeline(
        start=start,
        days=HISTORY_DAYS,
        price_rise=(rise - start).days,
        feature_release=(release - start).days,
        price_cut=(cut - start).days,
        weight=weight,
        cumulative=np.cumsum(weight),
    )
