"""RFM summaries from transaction logs: hand-computed cases, a plain-Python oracle, lifetimes."""

from __future__ import annotations

import importlib.util
import warnings
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezame.errors import InvalidInputError
from mezame.stats.rfm import Period, period_index, summarise

HAS_LIFETIMES = importlib.util.find_spec("lifetimes") is not None

# 2024-01-01 is a Monday; 2024 is a leap year.
LOG = [
    ("A", "2024-01-01", 100.0),
    ("A", "2024-01-01", 50.0),  # same day: one purchase of 150
    ("A", "2024-01-03", 30.0),
    ("A", "2024-02-15", 70.0),
    ("A", "2024-04-30", 999.0),  # after the observation end: ignored
    ("B", "2024-01-10", 40.0),
    ("C", "2024-01-20", 10.0),
    ("C", "2024-03-05", 20.0),
    ("D", "2024-03-10", 60.0),
]
IDS = np.array([row[0] for row in LOG])
DATES = np.array([row[1] for row in LOG], dtype="datetime64[D]")
AMOUNTS = np.array([row[2] for row in LOG])
END = np.datetime64("2024-03-31")


@pytest.mark.parametrize(
    ("period", "frequency", "recency", "T", "monetary"),
    [
        # A: days Jan 1, Jan 3, Feb 15; B: Jan 10; C: Jan 20, Mar 5; D: Mar 10.
        ("day", [2, 0, 1, 0], [45, 0, 45, 0], [90, 81, 71, 21], [50.0, 0.0, 20.0, 0.0]),
        # Mon-Sun weeks from Jan 1 (week 0): A weeks 0, 0, 6; B 1; C 2, 9; D 9; the end is week 12.
        ("week", [1, 0, 1, 0], [6, 0, 7, 0], [12, 11, 10, 3], [70.0, 0.0, 20.0, 0.0]),
        # A Jan, Jan, Feb; B Jan; C Jan, Mar; D Mar; the end is March.
        ("month", [1, 0, 1, 0], [1, 0, 2, 0], [2, 2, 2, 0], [70.0, 0.0, 20.0, 0.0]),
    ],
)
def test_hand_computed_summary(
    period: Period, frequency: list[int], recency: list[int], T: list[int], monetary: list[float]
) -> None:
    summary = summarise(IDS, DATES, observation_end=END, amounts=AMOUNTS, period=period)
    assert summary.customer_ids.tolist() == ["A", "B", "C", "D"]
    assert summary.frequency.tolist() == frequency
    assert summary.recency.tolist() == recency
    assert summary.T.tolist() == T
    assert summary.monetary_value is not None
    assert summary.monetary_value.tolist() == monetary
    assert summary.frequency_holdout is None and summary.duration_holdout is None


def test_calibration_and_holdout() -> None:
    summary = summarise(
        IDS, DATES, observation_end=END, calibration_end="2024-01-31", amounts=AMOUNTS
    )
    # D first bought after the calibration end, so it has no calibration history.
    assert summary.customer_ids.tolist() == ["A", "B", "C"]
    assert summary.frequency.tolist() == [1, 0, 0]
    assert summary.recency.tolist() == [2, 0, 0]
    assert summary.T.tolist() == [30, 21, 11]
    assert summary.monetary_value is not None
    assert summary.monetary_value.tolist() == [30.0, 0.0, 0.0]
    assert summary.frequency_holdout is not None
    assert summary.frequency_holdout.tolist() == [1, 0, 1]  # A on Feb 15, C on Mar 5
    assert summary.duration_holdout == 60


def test_without_amounts_and_with_integer_ids() -> None:
    summary = summarise([7, 3, 7], ["2024-01-01", "2024-01-05", "2024-01-09"], observation_end=END)
    assert summary.customer_ids.tolist() == [3, 7]
    assert summary.frequency.tolist() == [0, 1]
    assert summary.monetary_value is None


def test_weeks_start_on_monday() -> None:
    days = np.array(["2024-01-07", "2024-01-08", "2024-01-14", "2024-01-15"], dtype="datetime64[D]")
    assert np.diff(period_index(days, "week")).tolist() == [1, 0, 1]  # Sun | Mon..Sun | Mon


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"dates": DATES[:3]}, "同じ長さ"),
        ({"dates": np.where(IDS == "B", np.datetime64("NaT"), DATES)}, "日付が空"),
        ({"calibration_end": "2024-05-01"}, "calibration_end は observation_end 以前"),
        ({"observation_end": "2023-12-31"}, "以前の取引がありません"),
        ({"period": "quarter"}, "period は"),
        ({"amounts": np.where(IDS == "C", np.nan, AMOUNTS)}, "金額"),
    ],
)
def test_unusable_input_is_rejected(kwargs: dict[str, object], problem: str) -> None:
    arguments: dict[str, object] = {"observation_end": END, "amounts": AMOUNTS, "dates": DATES}
    arguments |= kwargs
    with pytest.raises(InvalidInputError, match=problem):
        summarise(IDS, **arguments)  # type: ignore[arg-type]


def _oracle(
    ids: list[int],
    dates: list[np.datetime64],
    amounts: list[float],
    end: np.datetime64,
    calibration_end: np.datetime64,
    period: Period,
) -> dict[int, tuple[int, int, int, float, int]]:
    """The definition, one customer at a time: x, t_x, T, monetary, holdout periods."""

    def index(day: np.datetime64) -> int:
        return int(period_index(np.array([day]), period)[0])

    spend: dict[int, dict[int, float]] = defaultdict(dict)
    later: dict[int, set[int]] = defaultdict(set)
    for customer, day, amount in zip(ids, dates, amounts, strict=True):
        if day <= calibration_end:
            per = spend[customer]
            per[index(day)] = per.get(index(day), 0.0) + amount
        elif day <= end:
            later[customer].add(index(day))
    result = {}
    for customer, per in spend.items():
        periods = sorted(per)
        repeats = [per[p] for p in periods[1:]]
        result[customer] = (
            len(periods) - 1,
            periods[-1] - periods[0],
            index(calibration_end) - periods[0],
            sum(repeats) / len(repeats) if repeats else 0.0,
            len(later[customer]),
        )
    return result


transactions = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=8),
        st.integers(min_value=0, max_value=400),
        st.floats(min_value=0.0, max_value=1e4),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    transactions,
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=100),
    st.sampled_from(["day", "week", "month"]),
)
def test_matches_the_definition_on_random_logs(
    log: list[tuple[int, int, float]], calibration: int, holdout: int, period: Period
) -> None:
    start = np.datetime64("2023-11-20")
    ids = [row[0] for row in log]
    dates = [start + row[1] for row in log]
    amounts = [row[2] for row in log]
    calibration_end, end = start + calibration, start + calibration + holdout
    if min(dates) > calibration_end:
        return
    summary = summarise(
        np.array(ids),
        np.array(dates),
        observation_end=end,
        calibration_end=calibration_end,
        amounts=np.array(amounts),
        period=period,
    )
    expected = _oracle(ids, dates, amounts, end, calibration_end, period)
    assert summary.customer_ids.tolist() == sorted(expected)
    assert summary.monetary_value is not None and summary.frequency_holdout is not None
    for i, customer in enumerate(summary.customer_ids.tolist()):
        x, t_x, T, monetary, repeats_later = expected[customer]
        assert summary.frequency[i] == x
        assert summary.recency[i] == t_x
        assert summary.T[i] == T
        assert summary.monetary_value[i] == pytest.approx(monetary, rel=1e-12, abs=1e-9)
        assert summary.frequency_holdout[i] == repeats_later


@pytest.mark.skipif(not HAS_LIFETIMES, reason="lifetimes (the `bench` extra) is not installed")
@pytest.mark.parametrize(("period", "freq"), [("day", "D"), ("week", "W")])
def test_equals_lifetimes_summary(period: Period, freq: str) -> None:
    rng = np.random.default_rng(7)
    ids = rng.integers(0, 300, 3000)
    dates = np.datetime64("2022-01-01") + rng.integers(0, 700, ids.size)
    amounts = rng.gamma(2.0, 30.0, ids.size).round(2)
    end = np.datetime64("2023-10-29")  # a Sunday, so lifetimes' week rounding keeps nothing later
    keep = dates <= end
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pandas as pd
            from lifetimes.utils import summary_data_from_transaction_data

            frame = pd.DataFrame({"id": ids[keep], "date": dates[keep], "amount": amounts[keep]})
            reference = summary_data_from_transaction_data(
                frame, "id", "date", "amount", observation_period_end=str(end), freq=freq
            ).sort_index()
    except Exception as error:  # lifetimes' utilities break on some pandas versions
        pytest.skip(f"lifetimes' summary_data_from_transaction_data failed here: {error!r}")
    summary = summarise(ids, dates, observation_end=end, amounts=amounts, period=period)
    assert summary.customer_ids.tolist() == reference.index.tolist()
    assert summary.frequency.tolist() == reference["frequency"].tolist()
    assert summary.recency.tolist() == reference["recency"].tolist()
    assert summary.T.tolist() == reference["T"].tolist()
    assert summary.monetary_value is not None
    np.testing.assert_allclose(summary.monetary_value, reference["monetary_value"], rtol=1e-12)
