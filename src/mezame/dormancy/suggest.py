"""Threshold suggestions per dormancy kind from the company's own history (SPEC 3.2).

For each kind, the silences its records actually had and whether they came back after them:

- former customers: gaps between purchase days (the customer base's rhythm);
- lost deals: gaps between sales touches (deal opened or closed, order) of companies that
  ever lost or postponed a deal — after how long a silence did any come back;
- contacts: gaps between a contact's acquisition and their responses.

Each gets the gap quantiles, the return curve (of those silent ≥ g days, the share who came
back) and the suggestion: the shortest g after which fewer than `max_return_rate` came back.
Former customers also get the median P(alive) of the customers silent that long now, the
model's view of the same question.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mezame.dormancy.rules import DAYS_PER_MONTH, DormancyKind
from mezame.stats.thresholds import distinct, dormancy_gap, gap_quantiles, return_curve

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

STEP_DAYS = 30
MAX_MONTHS_SHOWN = 60
MIN_CUSTOMERS = 30


@dataclass(frozen=True, slots=True)
class CurvePoint:
    gap_days: int
    reached: int
    returned: int
    return_rate: float | None
    median_p_alive: float | None = None


@dataclass(frozen=True, slots=True)
class KindSuggestion:
    """What the data says about one kind's threshold."""

    kind: str
    entities: int  # customers, companies or contacts with any history
    gaps: int
    quantiles: list[tuple[float, float]] = field(default_factory=list)  # (probability, days)
    curve: list[CurvePoint] = field(default_factory=list)
    suggested_days: int | None = None
    max_return_rate: float = 0.1

    @property
    def suggested_months(self) -> int | None:
        """The suggestion in whole months, rounded up (a threshold is never shorter than it)."""
        if self.suggested_days is None:
            return None
        return max(1, math.ceil(self.suggested_days / DAYS_PER_MONTH))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KindSuggestion:
        values = dict(data)
        values["quantiles"] = [tuple(q) for q in values.get("quantiles", [])]
        values["curve"] = [CurvePoint(**p) for p in values.get("curve", [])]
        return cls(**values)


def suggest(
    kind: DormancyKind,
    ids: IntArray,
    days: IntArray,
    *,
    as_of: int,
    max_return_rate: float,
    p_alive: tuple[IntArray, FloatArray] | None = None,
) -> KindSuggestion:
    """The suggestion for one kind from its (entity, day) history; p_alive = (ids, P(alive))."""
    if ids.size == 0:
        return KindSuggestion(kind.value, 0, 0, max_return_rate=max_return_rate)
    dates = days.astype("datetime64[D]")
    end = np.datetime64(int(as_of), "D")
    quantiles = gap_quantiles(ids, dates)
    grid = np.arange(STEP_DAYS, int(MAX_MONTHS_SHOWN * DAYS_PER_MONTH) + 1, STEP_DAYS)
    curve = return_curve(ids, dates, as_of=end, gap_days=grid)
    # Trim the tail nobody reached.
    reached_any = np.flatnonzero(curve.reached > 0)
    last = int(reached_any[-1]) + 1 if reached_any.size else 0
    medians = _median_p_alive_by_silence(ids, days, as_of, grid[:last], p_alive)
    rates = curve.return_rate
    points = [
        CurvePoint(
            gap_days=int(curve.gap_days[i]),
            reached=int(curve.reached[i]),
            returned=int(curve.returned[i]),
            return_rate=None if math.isnan(rates[i]) else round(float(rates[i]), 4),
            median_p_alive=medians[i] if medians is not None else None,
        )
        for i in range(last)
    ]
    return KindSuggestion(
        kind=kind.value,
        entities=int(distinct(ids).size),
        gaps=quantiles.gaps if quantiles is not None else 0,
        quantiles=[]
        if quantiles is None
        else [
            (float(p), round(float(d), 1))
            for p, d in zip(quantiles.probabilities, quantiles.gap_days, strict=True)
        ],
        curve=points,
        suggested_days=dormancy_gap(
            curve, max_return_rate=max_return_rate, min_customers=MIN_CUSTOMERS
        ),
        max_return_rate=max_return_rate,
    )


def _median_p_alive_by_silence(
    ids: IntArray,
    days: IntArray,
    as_of: int,
    grid: IntArray,
    p_alive: tuple[IntArray, FloatArray] | None,
) -> list[float | None] | None:
    """Per gap g: the median P(alive) of entities whose current silence is at least g days."""
    if p_alive is None:
        return None
    alive_ids, alive = p_alive
    order = np.argsort(ids, kind="stable")
    sorted_ids, sorted_days = ids[order], days[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    last_day = np.maximum.reduceat(sorted_days, starts)
    entity = sorted_ids[starts]
    position = np.searchsorted(alive_ids, entity)
    known = position < alive_ids.size
    known[known] = alive_ids[position[known]] == entity[known]
    known[known] = np.isfinite(alive[position[known]])
    silence = as_of - last_day[known]
    values = alive[position[known]]
    out: list[float | None] = []
    for g in grid:
        chosen = values[silence >= g]
        out.append(round(float(np.median(chosen)), 4) if chosen.size >= MIN_CUSTOMERS else None)
    return out
