"""BG/NBD: the published CDNOW fit, the analytic gradient, predictions and the CDNOW holdout AUC."""

from __future__ import annotations

import gzip
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from mezame.errors import InvalidInputError
from mezame.stats import bgnbd
from mezame.stats.bgnbd import BGNBDParams
from mezame.stats.rfm import summarise

DATA = Path(__file__).resolve().parents[1] / "data"
HAS_LIFETIMES = importlib.util.find_spec("lifetimes") is not None

# Fader, Hardie & Lee (2005), section 5: the 2,357-customer CDNOW cohort, weeks.
PUBLISHED = BGNBDParams(
    r=0.243, alpha=4.414, a=0.793, b=2.426, loglik=-9582.4, n=2357, converged=True
)


def cdnow_summary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = np.genfromtxt(DATA / "cdnow_customers_summary.csv", delimiter=",", names=True)
    return table["x"], table["t_x"], table["T"]


@pytest.fixture(scope="module")
def cdnow_fit() -> BGNBDParams:
    return bgnbd.fit_bgnbd(*cdnow_summary())


def test_fit_reproduces_the_published_cdnow_estimates(cdnow_fit: BGNBDParams) -> None:
    assert cdnow_fit.converged
    assert cdnow_fit.n == 2357
    assert round(cdnow_fit.r, 3) == PUBLISHED.r
    assert round(cdnow_fit.alpha, 3) == PUBLISHED.alpha
    assert round(cdnow_fit.a, 3) == PUBLISHED.a
    assert round(cdnow_fit.b, 3) == PUBLISHED.b
    assert round(cdnow_fit.loglik, 1) == PUBLISHED.loglik


def test_loglik_is_the_sum_of_per_customer_loglik(cdnow_fit: BGNBDParams) -> None:
    x, t_x, T = cdnow_summary()
    per_customer = bgnbd.log_likelihood(cdnow_fit, x, t_x, T)
    assert per_customer.shape == x.shape
    assert per_customer.sum() == pytest.approx(cdnow_fit.loglik, rel=1e-12)


def test_fit_is_a_maximum(cdnow_fit: BGNBDParams) -> None:
    x, t_x, T = cdnow_summary()
    _, gradient = bgnbd.log_likelihood_with_gradient(cdnow_fit, x, t_x, T)
    assert np.abs(gradient).max() < 1e-2  # per 2,357 customers: flat at the optimum
    for name in ("r", "alpha", "a", "b"):
        moved = _with(cdnow_fit, **{name: getattr(cdnow_fit, name) * 1.01})
        assert bgnbd.log_likelihood(moved, x, t_x, T).sum() < cdnow_fit.loglik


def _with(params: BGNBDParams, **changes: float) -> BGNBDParams:
    values = {k: getattr(params, k) for k in ("r", "alpha", "a", "b")} | changes
    return BGNBDParams(**values, loglik=0.0, n=0, converged=False)


@pytest.mark.parametrize(
    "point",
    [
        (0.243, 4.414, 0.793, 2.426),  # the optimum
        (1.7, 0.9, 3.2, 0.6),  # far from it, b < 1
        (0.05, 40.0, 0.2, 9.0),
    ],
)
def test_analytic_gradient_matches_finite_differences(point: tuple[float, ...]) -> None:
    x, t_x, T = cdnow_summary()
    params = _with(PUBLISHED, **dict(zip(("r", "alpha", "a", "b"), point, strict=True)))
    value, gradient = bgnbd.log_likelihood_with_gradient(params, x, t_x, T)
    assert value == pytest.approx(bgnbd.log_likelihood(params, x, t_x, T).sum(), rel=1e-12)
    for i, name in enumerate(("r", "alpha", "a", "b")):
        step = 1e-6 * getattr(params, name)
        up = _with(params, **{name: getattr(params, name) + step})
        down = _with(params, **{name: getattr(params, name) - step})
        numeric = (
            bgnbd.log_likelihood(up, x, t_x, T).sum() - bgnbd.log_likelihood(down, x, t_x, T).sum()
        ) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-3), name


def test_weights_are_the_same_as_repeated_rows() -> None:
    x, t_x, T = cdnow_summary()
    condensed = bgnbd.compress_histories(x, t_x, T)
    assert condensed.count.sum() == x.size
    assert condensed.x.size < x.size  # CDNOW customers do share histories
    weighted = bgnbd.fit_bgnbd(condensed.x, condensed.t_x, condensed.T, weights=condensed.count)
    direct = bgnbd.fit_bgnbd(x, t_x, T)
    assert weighted.n == direct.n
    for name in ("r", "alpha", "a", "b", "loglik"):
        assert getattr(weighted, name) == pytest.approx(getattr(direct, name), rel=1e-8)


def test_condensing_by_sorting_gives_the_same_histories(monkeypatch: pytest.MonkeyPatch) -> None:
    x, t_x, T = cdnow_summary()
    weights = np.arange(x.size) % 3  # zero weights included
    numbered = bgnbd.compress_histories(x, t_x, T, weights=weights)
    monkeypatch.setattr(bgnbd, "_KEY_LIMIT", 0)  # as if the histories were too varied to number
    sorted_ = bgnbd.compress_histories(x, t_x, T, weights=weights)
    for field in ("x", "t_x", "T", "count"):
        np.testing.assert_array_equal(getattr(numbered, field), getattr(sorted_, field))
    assert numbered.count.sum() == weights.sum()


@pytest.mark.parametrize(
    ("x", "t_x", "T", "problem"),
    [
        ([1], [5.0], [4.0], "t_x が観測期間 T を超えています"),
        ([0], [1.0], [4.0], "x=0"),
        ([1.5], [1.0], [4.0], "整数"),
        ([-1], [0.0], [4.0], "整数"),
        ([1], [np.nan], [4.0], "NaN"),
        ([], [], [], "1 件も"),
    ],
)
def test_impossible_histories_are_rejected(
    x: list[float], t_x: list[float], T: list[float], problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        bgnbd.fit_bgnbd(x, t_x, T)


def test_the_papers_worked_example(cdnow_fit: BGNBDParams) -> None:
    # FHL section 5: a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226
    # repeat purchases in the next 39 weeks.
    assert bgnbd.expected_purchases(cdnow_fit, 39, 2, 30.43, 38.86) == pytest.approx(
        1.226, abs=5e-4
    )


def test_p_alive_edge_cases(cdnow_fit: BGNBDParams) -> None:
    p = cdnow_fit
    # No repeat purchase: the dropout coin has not been tossed yet, whatever T is.
    assert bgnbd.p_alive(p, [0, 0, 0], [0, 0, 0], [0.0, 38.0, 1e9]).tolist() == [1.0, 1.0, 1.0]
    # Bought at the very end of the window: only the coin after that purchase counts.
    at_end = bgnbd.p_alive(p, 3, 20.0, 20.0)
    assert at_end == pytest.approx(1 / (1 + p.a / (p.b + 3 - 1)))
    # Silent for ever: dead, without overflow.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        silent = bgnbd.p_alive(p, [1, 400], [1.0, 30.0], [1e12, 1e12])
    assert silent[0] < 1e-12 and silent[1] == 0.0


def test_unconditional_expectation_is_the_mean_of_the_count_distribution(
    cdnow_fit: BGNBDParams,
) -> None:
    n = np.arange(3000)
    for t in (1.0, 39.0, 78.0, 520.0):
        probabilities = bgnbd.probability_of_n_purchases(cdnow_fit, t, n)
        assert probabilities.min() >= 0
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-9)
        expected = bgnbd.expected_purchases_new_customer(cdnow_fit, t)
        assert (n * probabilities).sum() == pytest.approx(expected, rel=1e-9)
    # A new customer is a customer with x = 0, t_x = 0 observed for T = 0.
    assert bgnbd.expected_purchases(cdnow_fit, 39, 0, 0, 0) == pytest.approx(
        bgnbd.expected_purchases_new_customer(cdnow_fit, 39)
    )
    assert bgnbd.probability_of_n_purchases(cdnow_fit, 0.0, [0, 1, 5]).tolist() == [1.0, 0.0, 0.0]


def test_predictions_stay_finite_at_extremes(cdnow_fit: BGNBDParams) -> None:
    x = np.array([0, 1, 50, 1000, 1000, 3])
    t_x = np.array([0, 0.0, 37.0, 38.5, 1.0, 1e5])
    T = np.array([1e7, 38.0, 38.0, 38.86, 38.86, 1e5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for t in (0.0, 1e-6, 39.0, 1e6):
            expected = bgnbd.expected_purchases(cdnow_fit, t, x, t_x, T)
            assert np.isfinite(expected).all() and (expected >= 0).all()
        assert np.isfinite(bgnbd.log_likelihood(cdnow_fit, x, t_x, T)).all()


history = st.tuples(
    st.integers(min_value=0, max_value=300),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.1, max_value=5000.0),
).map(lambda h: (h[0], 0.0 if h[0] == 0 else h[1] * h[2], h[2]))


@settings(max_examples=200, deadline=None)
@given(history, st.floats(min_value=0.0, max_value=5000.0))
def test_p_alive_is_a_probability_that_decays_with_silence(
    h: tuple[int, float, float], extra: float
) -> None:
    x, t_x, T = h
    now = float(bgnbd.p_alive(PUBLISHED, x, t_x, T))
    later = float(bgnbd.p_alive(PUBLISHED, x, t_x, T + extra))
    assert 0.0 <= later <= now <= 1.0


@settings(max_examples=200, deadline=None)
@given(history, st.lists(st.floats(min_value=0.0, max_value=1e4), min_size=2, max_size=6))
def test_expected_purchases_are_non_negative_and_grow_with_the_horizon(
    h: tuple[int, float, float], horizons: list[float]
) -> None:
    x, t_x, T = h
    t = np.sort(np.array(horizons))
    expected = bgnbd.expected_purchases(PUBLISHED, t, x, t_x, T)
    assert np.isfinite(expected).all()
    assert (expected >= 0).all()
    assert (np.diff(expected) >= -1e-9 * np.maximum(expected[1:], 1.0)).all()


@pytest.mark.skipif(not HAS_LIFETIMES, reason="lifetimes (the `bench` extra) is not installed")
def test_predictions_equal_lifetimes_on_cdnow(cdnow_fit: BGNBDParams) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter

        reference = BetaGeoFitter()
        x, t_x, T = cdnow_summary()
        reference.fit(x, t_x, T)
        expected_ref = reference.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T)
        alive_ref = reference.conditional_probability_alive(x, t_x, T)
        new_ref = reference.expected_number_of_purchases_up_to_time(np.array([1.0, 39.0, 78.0]))
        count_ref = [reference.probability_of_n_purchases_up_to_time(39.0, k) for k in range(6)]
    fitted = reference.params_
    for name in ("r", "alpha", "a", "b"):
        assert getattr(cdnow_fit, name) == pytest.approx(fitted[name], rel=1e-4)
    # Predictions compared at lifetimes' own parameters, so only the formulas differ.
    params = _with(PUBLISHED, **{k: float(fitted[k]) for k in ("r", "alpha", "a", "b")})
    np.testing.assert_allclose(bgnbd.expected_purchases(params, 39, x, t_x, T), expected_ref, 1e-9)
    np.testing.assert_allclose(bgnbd.p_alive(params, x, t_x, T), alive_ref, 1e-12)
    np.testing.assert_allclose(
        bgnbd.expected_purchases_new_customer(params, [1.0, 39.0, 78.0]), new_ref, 1e-9
    )
    np.testing.assert_allclose(
        bgnbd.probability_of_n_purchases(params, 39.0, np.arange(6)), count_ref, 1e-9
    )


# --- Quality bar: the CDNOW holdout (calibration to 1997-09-30, holdout to 1998-06-30) ---

# lifetimes 0.11.3 BetaGeoFitter on the same weekly calibration summary; used when it is absent.
LIFETIMES_CALIBRATION_FIT = {"r": 0.28433784, "alpha": 6.7245215, "a": 0.70773783, "b": 2.37230184}


def cdnow_transactions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer ids, purchase days and dollar values of the CDNOW master log."""
    with gzip.open(DATA / "CDNOW_master.txt.gz", "rt", encoding="ascii") as lines:
        table = np.loadtxt(lines, skiprows=1)  # id, YYYYMMDD, CDs, dollars: exact in float64
    customer, yyyymmdd = table[:, 0].astype(np.int64), table[:, 1].astype(np.int64)
    months = (yyyymmdd // 10000 - 1970) * 12 + yyyymmdd // 100 % 100 - 1
    days = months.astype("datetime64[M]").astype("datetime64[D]") + (yyyymmdd % 100 - 1)
    return customer, days, table[:, 3]


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) statistic, ties counted half."""
    ranks = rankdata(score)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def paired_auc_z(better: np.ndarray, baseline: np.ndarray, positive: np.ndarray) -> float:
    """DeLong et al. (1988) z statistic for AUC(better) - AUC(baseline) on the same customers."""
    n_pos, n_neg = positive.sum(), (~positive).sum()
    components = []
    for score in (better, baseline):
        ranks = rankdata(score)
        v10 = (ranks[positive] - rankdata(score[positive])) / n_neg
        v01 = 1 - (ranks[~positive] - rankdata(score[~positive])) / n_pos
        components.append((v10, v01))
    s10 = np.cov(components[0][0], components[1][0])
    s01 = np.cov(components[0][1], components[1][1])
    variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / n_pos
    variance += (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n_neg
    difference = components[0][0].mean() - components[1][0].mean()
    return float(difference / np.sqrt(variance))


def test_cdnow_holdout_auc_matches_lifetimes_and_beats_recency() -> None:
    customer, days, _ = cdnow_transactions()
    summary = summarise(
        customer,
        days,
        observation_end=np.datetime64("1998-06-30"),
        calibration_end=np.datetime64("1997-09-30"),
        period="week",
    )
    assert summary.customer_ids.size == 23570 and summary.duration_holdout == 39.0
    assert summary.frequency_holdout is not None
    repeated = summary.frequency_holdout > 0
    x, t_x, T = summary.frequency, summary.recency, summary.T

    model = bgnbd.fit_bgnbd(x, t_x, T)
    ours = bgnbd.expected_purchases(model, summary.duration_holdout, x, t_x, T)
    if HAS_LIFETIMES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifetimes import BetaGeoFitter

            reference = BetaGeoFitter().fit(x, t_x, T)
            theirs = np.asarray(
                reference.conditional_expected_number_of_purchases_up_to_time(
                    summary.duration_holdout, x, t_x, T
                )
            )
        source = "lifetimes.BetaGeoFitter"
    else:
        reference_params = _with(PUBLISHED, **LIFETIMES_CALIBRATION_FIT)
        theirs = bgnbd.expected_purchases(reference_params, summary.duration_holdout, x, t_x, T)
        source = "lifetimes' pinned parameters"
    recency_only = t_x - T  # the more recent the last purchase, the higher

    auc_ours, auc_theirs, auc_recency = (auc(s, repeated) for s in (ours, theirs, recency_only))
    z = paired_auc_z(ours, recency_only, repeated)
    print(
        f"\nCDNOW holdout AUC (repeat purchase in the 39 weeks after 1997-09-30, "
        f"{repeated.sum()} of {repeated.size} customers): mezame {auc_ours:.4f}, "
        f"{source} {auc_theirs:.4f}, recency alone {auc_recency:.4f} (DeLong z vs recency {z:.1f})"
    )
    assert auc_ours >= auc_theirs - 1e-6  # same model; only optimiser rounding may differ
    assert auc_ours > auc_recency + 0.005
    assert z > 3.0  # the gain over recency is not noise
