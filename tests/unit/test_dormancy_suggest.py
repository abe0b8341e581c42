"""Threshold suggestions from a constructed history whose answer is known."""

from __future__ import annotations

import numpy as np

from mezame.dormancy.rules import DormancyKind
from mezame.dormancy.suggest import MIN_CUSTOMERS, KindSuggestion, suggest

AS_OF = int(np.datetime64("2026-11-23", "D").astype(np.int64))


def _history() -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """100 customers ordering every 30 days; half stopped 400 days ago and never came back.

    Silences of 30 days always end in an order; nobody came back after 60 days or more.
    """
    ids, days = [], []
    for customer in range(100):
        stop = AS_OF - (400 if customer % 2 else 15)
        for k in range(12):
            ids.append(customer)
            days.append(stop - 30 * k)
    alive_ids = np.arange(100)
    alive = np.where(alive_ids % 2, 0.05, 0.9)
    return np.array(ids), np.array(days), (alive_ids, alive)


def test_suggests_the_silence_after_which_nobody_came_back() -> None:
    ids, days, alive = _history()
    result = suggest(
        DormancyKind.FORMER_CUSTOMER, ids, days, as_of=AS_OF, max_return_rate=0.1, p_alive=alive
    )
    assert result.entities == 100
    assert result.gaps == 1100
    assert dict(result.quantiles)[0.5] == 30
    first, second = result.curve[0], result.curve[1]
    assert (first.gap_days, first.reached, first.returned, first.return_rate) == (30, 100, 100, 1.0)
    assert (second.gap_days, second.returned, second.return_rate) == (60, 0, 0.0)
    assert result.suggested_days == 60 and result.suggested_months == 2
    # Those silent 60+ days now are the 50 who stopped: their median P(alive) is theirs.
    assert second.median_p_alive == 0.05
    assert first.median_p_alive is None or first.median_p_alive >= 0.05


def test_too_few_customers_suggest_nothing() -> None:
    ids, days, _ = _history()
    few = ids < MIN_CUSTOMERS - 1
    result = suggest(
        DormancyKind.CONTACT_ONLY, ids[few], days[few], as_of=AS_OF, max_return_rate=0.1
    )
    assert result.suggested_days is None and result.suggested_months is None


def test_empty_history_and_json_round_trip() -> None:
    empty = suggest(
        DormancyKind.LOST_DEAL,
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        as_of=AS_OF,
        max_return_rate=0.1,
    )
    assert empty.entities == 0 and empty.curve == []
    ids, days, alive = _history()
    full = suggest(
        DormancyKind.FORMER_CUSTOMER, ids, days, as_of=AS_OF, max_return_rate=0.1, p_alive=alive
    )
    assert KindSuggestion.from_json(full.as_json()) == full
