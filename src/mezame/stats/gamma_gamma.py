"""Gamma-Gamma spend model and customer lifetime value.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis", Journal of Marketing Research
42(4), 415-430; the model and its likelihood as written in Fader & Hardie (2013),
"The Gamma-Gamma Model of Monetary Value" (note 025) — equation numbers below are
the note's. Each transaction value z ~ Gamma(p, ν) with ν ~ Gamma(q, γ) across
customers; the model uses a customer's repeat purchases x and their mean value m̄.

    spend = fit_gamma_gamma(x[x > 0], monetary[x > 0])
    expected_average_spend(spend, x, monetary)
    customer_lifetime_value(model, spend, x, t_x, T, monetary,
                            horizon_periods=12, discount_rate_per_period=0.01, period_length=4.345)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize  # type: ignore[import-untyped]
from scipy.special import digamma, gammaln  # type: ignore[import-untyped]

from mezame.errors import InvalidInputError
from mezame.stats.bgnbd import BGNBDParams, expected_purchases, weighted_sum

FloatArray = NDArray[np.float64]

_LOG_BOUND = 30.0


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters: transaction value ~ Gamma(p, ν), ν ~ Gamma(q, γ)."""

    p: float
    q: float
    gamma: float
    loglik: float  # total log-likelihood of the mean spends at the estimate
    n: int  # customers the fit saw (sum of weights)
    converged: bool


def _as_float(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _validate(x: FloatArray, monetary: FloatArray, weights: FloatArray) -> None:
    if not (x.shape == monetary.shape == weights.shape) or x.ndim != 1:
        raise InvalidInputError("x, monetary, weights は同じ長さの 1 次元配列にしてください")
    if x.size == 0:
        raise InvalidInputError("リピート購入のある顧客が 1 件もありません")
    checks = (
        (~np.isfinite(x) | ~np.isfinite(monetary), "値が数値ではありません (NaN/inf)"),
        ((x < 1) | (x != np.floor(x)), "リピート購入回数 x は 1 以上の整数にしてください"),
        (monetary <= 0, "平均購入金額は正の値にしてください"),
        (weights < 0, "weights は 0 以上にしてください"),
    )
    for bad, message in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"{message} ({int(bad.sum())} 件、最初は {row} 行目)")


def _value_and_gradient(
    p: float, q: float, gamma: float, x: FloatArray, m: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Σ w ln f(m̄ | p, q, γ; x) of note 025 eq. (1a) and its derivatives in (p, q, γ)."""
    px = p * x
    log_spread = np.log(gamma + m * x)
    # ln f = ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln γ + (px-1) ln m̄ + px ln x - (px+q) ln(γ + m̄x)
    log_f = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_spread
    )
    psi = digamma(px + q)
    gradient = np.array(
        [
            weighted_sum(w, x * (psi - digamma(px) + np.log(m) + np.log(x) - log_spread)),
            weighted_sum(w, psi - digamma(q) + np.log(gamma) - log_spread),
            weighted_sum(w, q / gamma - (px + q) / (gamma + m * x)),
        ]
    )
    return weighted_sum(w, log_f), gradient


def log_likelihood_with_gradient(
    params: GammaGammaParams, x: ArrayLike, monetary: ArrayLike, weights: ArrayLike | None = None
) -> tuple[float, FloatArray]:
    """Total ln L of the mean spends and its analytic gradient in (p, q, γ)."""
    xs, ms = _as_float(x), _as_float(monetary)
    w = np.ones_like(xs) if weights is None else _as_float(weights)
    _validate(xs, ms, w)
    return _value_and_gradient(params.p, params.q, params.gamma, xs, ms, w)


def fit_gamma_gamma(
    x: ArrayLike, monetary: ArrayLike, weights: ArrayLike | None = None
) -> GammaGammaParams:
    """Maximum-likelihood fit of note 025 eq. (1a) on customers with repeat purchases (x ≥ 1).

    `monetary` is the mean value of the x repeat transactions (the first purchase
    excluded, as in the papers and `mezame.stats.rfm`).
    """
    xs, ms = _as_float(x), _as_float(monetary)
    w = np.ones_like(xs) if weights is None else _as_float(weights)
    _validate(xs, ms, w)
    total = float(w.sum())

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        p, q, gamma = (float(v) for v in params)
        value, gradient = _value_and_gradient(p, q, gamma, xs, ms, w)
        return -value / total, -gradient * params / total

    # Start at p = 1, q = 2 and the γ that makes the population mean pγ/(q-1) the observed mean.
    mean_spend = weighted_sum(w, ms) / total
    result = minimize(
        objective,
        np.log(np.array([1.0, 2.0, mean_spend])),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 3,
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9},
    )
    p, q, gamma = (float(v) for v in np.exp(result.x))
    return GammaGammaParams(
        p=p,
        q=q,
        gamma=gamma,
        loglik=_value_and_gradient(p, q, gamma, xs, ms, w)[0],
        n=round(total),
        converged=bool(result.success) and bool(np.all(np.abs(result.x) < _LOG_BOUND)),
    )


def expected_average_spend(
    params: GammaGammaParams, x: ArrayLike, monetary: ArrayLike
) -> FloatArray:
    """E[Z | p, q, γ, m̄, x] = (γ + m̄x) p / (px + q - 1), note 025 eq. (5).

    A weighted mean of the population mean pγ/(q-1) and the customer's own m̄;
    for x = 0 it is the population mean. Needs q > 1 for the mean to exist.
    """
    p, q, gamma = params.p, params.q, params.gamma
    xs, ms = np.broadcast_arrays(_as_float(x), _as_float(monetary))
    # Without repeat purchases m̄ has no weight (px = 0); zero it so a NaN cannot leak through.
    ms = np.where(xs > 0, ms, 0.0)
    result: FloatArray = (gamma + ms * xs) * p / (p * xs + q - 1.0)
    return result


def customer_lifetime_value(
    bgnbd: BGNBDParams,
    gg: GammaGammaParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    *,
    horizon_periods: int,
    discount_rate_per_period: float,
    period_length: float,
) -> FloatArray:
    """Discounted expected spend over the next `horizon_periods` periods, per customer.

    CLV = Σ_{k=1..H} E[Z] · (E[Y(k·L)] - E[Y((k-1)·L)]) / (1 + d)^k, with E[Y] from
    BG/NBD eq. (10), E[Z] from Gamma-Gamma eq. (5) and L = `period_length` in the
    model's time unit (e.g. 4.345 weeks per month) — the discrete form lifetimes uses.
    """
    if horizon_periods < 0 or period_length <= 0 or discount_rate_per_period <= -1:
        raise InvalidInputError(
            "horizon_periods は 0 以上、period_length は正、割引率は -1 より大きくしてください"
        )
    xs, txs, Ts, ms = np.broadcast_arrays(
        _as_float(x), _as_float(t_x), _as_float(T), _as_float(monetary)
    )
    spend = expected_average_spend(gg, xs, ms)
    value = np.zeros(xs.shape)
    previous = np.zeros(xs.shape)
    for k in range(1, horizon_periods + 1):
        cumulative = expected_purchases(bgnbd, k * period_length, xs, txs, Ts)
        value += spend * (cumulative - previous) / (1.0 + discount_rate_per_period) ** k
        previous = cumulative
    return value
