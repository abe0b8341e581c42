"""BG/NBD model: who is still alive and how many purchases to expect.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting Your Customers'
the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2),
275-284 — cited below as FHL (equation numbers of the paper). P(alive) follows
Hardie's note 021 ("Computing P(alive) Using the BG/NBD Model").

A customer is summarised by x (repeat purchases), t_x (time of the last one
since the first purchase) and T (time since the first purchase), all in the same
period unit. Typical use, with arrays from `mezame.stats.rfm.summarise`:

    model = fit_bgnbd(x, t_x, T)
    p_alive(model, x, t_x, T)                    # P(still a customer)
    expected_purchases(model, 12, x, t_x, T)     # purchases in the next 12 periods
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize  # type: ignore[import-untyped]
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1, xlogy  # type: ignore[import-untyped]

from mezame.errors import InvalidInputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Log-parameters stay inside these bounds so exp() never overflows while the optimiser explores.
_LOG_BOUND = 30.0
# Histories are numbered (x, t_x, T) -> one int64 while the numbering fits.
_KEY_LIMIT = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class BGNBDParams:
    """Fitted BG/NBD parameters: purchase rate ~ Gamma(r, α), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    loglik: float  # total log-likelihood of the data at the estimate
    n: int  # customers the fit saw (sum of weights)
    converged: bool


@dataclass(frozen=True, slots=True)
class Triples:
    """Distinct (x, t_x, T) histories with how many customers share each."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    count: FloatArray


def _as_float(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def weighted_sum(weights: FloatArray, values: FloatArray) -> float:
    """Σ w·v in one pass; einsum rather than BLAS dot, whose threads stall on a busy machine."""
    return float(np.einsum("i,i->", weights, values))


def history_problems(
    x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[tuple[NDArray[np.bool_], str], ...]:
    """(rows that break a rule, the rule) for each rule a BG/NBD history must keep."""
    return (
        (~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(T), "値が数値ではありません (NaN/inf)"),
        ((x < 0) | (x != np.floor(x)), "購入回数 x は 0 以上の整数にしてください"),
        (t_x < 0, "最終購入時点 t_x が負です"),
        (t_x > T, "最終購入時点 t_x が観測期間 T を超えています"),
        ((x == 0) & (t_x != 0), "リピート購入がない (x=0) のに t_x が 0 ではありません"),
    )


def validate_histories(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    """Reject histories the model cannot describe, naming the first offending row."""
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1:
        raise InvalidInputError("x, t_x, T は同じ長さの 1 次元配列にしてください")
    for bad, message in history_problems(x, t_x, T):
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"{message} ({int(bad.sum())} 件、最初は {row} 行目)")


def _codes(values: FloatArray) -> tuple[FloatArray, IntArray]:
    """The distinct values, sorted, and each element's position among them."""
    distinct = np.unique(values)
    return distinct, np.searchsorted(distinct, values)


def compress_histories(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> Triples:
    """Collapse customers with identical (x, t_x, T) into one weighted row each, sorted."""
    xs, ts, Ts = _as_float(x), _as_float(t_x), _as_float(T)
    validate_histories(xs, ts, Ts)
    w = np.ones_like(xs) if weights is None else _as_float(weights)
    if w.shape != xs.shape or not (w >= 0).all():
        raise InvalidInputError("weights は x と同じ長さの 0 以上の数にしてください")
    if xs.size == 0 or w.sum() == 0:
        raise InvalidInputError("顧客が 1 件もありません")
    t_values, t_code = _codes(ts)
    T_values, T_code = _codes(Ts)
    x_code = xs.astype(np.int64)
    if (int(x_code.max()) + 1) * t_values.size * T_values.size > _KEY_LIMIT:
        return _compress_by_sorting(xs, ts, Ts, w)
    # One integer per history, so one sort of integers finds the distinct histories.
    key = (x_code * t_values.size + t_code) * T_values.size + T_code
    if weights is None:
        keys, counts = np.unique(key, return_counts=True)
        count = counts.astype(np.float64)
    else:
        keys, inverse = np.unique(key, return_inverse=True)
        count = np.bincount(inverse, weights=w, minlength=keys.size)
    rest, T_index = np.divmod(keys, T_values.size)
    x_value, t_index = np.divmod(rest, t_values.size)
    return Triples(x_value.astype(np.float64), t_values[t_index], T_values[T_index], count)


def _compress_by_sorting(xs: FloatArray, ts: FloatArray, Ts: FloatArray, w: FloatArray) -> Triples:
    """compress_histories for data too varied to number every history with one int64."""
    order = np.lexsort((Ts, ts, xs))
    xs, ts, Ts, w = xs[order], ts[order], Ts[order], w[order]
    starts = np.flatnonzero(
        np.concatenate(([True], (xs[1:] != xs[:-1]) | (ts[1:] != ts[:-1]) | (Ts[1:] != Ts[:-1])))
    )
    return Triples(xs[starts], ts[starts], Ts[starts], np.add.reduceat(w, starts))


def log_likelihood(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """ln L(r, α, a, b | x, t_x, T) per customer, FHL eq. (6) in the log form of section 7."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    xs, ts, Ts = _as_float(x), _as_float(t_x), _as_float(T)
    # ln A1 + ln A2 = ln[Γ(r+x) α^r / Γ(r)] + ln[B(a, b+x) / B(a, b)]
    log_a1_a2 = gammaln(r + xs) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xs) - betaln(a, b)
    log_a3 = -(r + xs) * np.log(alpha + Ts)
    # b + x - 1 is only used where x > 0; max(x, 1) keeps the log finite elsewhere.
    log_a4 = np.log(a) - np.log(b + np.maximum(xs, 1.0) - 1.0) - (r + xs) * np.log(alpha + ts)
    # ln(A3 + δ(x>0) A4) by logsumexp: both terms underflow for large x or T.
    result: FloatArray = log_a1_a2 + np.where(xs > 0, np.logaddexp(log_a3, log_a4), log_a3)
    return result


class _Objective:
    """Weighted log-likelihood of distinct histories and its analytic gradient.

    Terms that depend on x alone (the Γ and Beta functions) are summed once per
    distinct x, logs of α + T and α + t_x once per distinct value; only the
    combination ln(A3 + A4) runs over every history with repeat purchases.
    """

    def __init__(self, triples: Triples) -> None:
        self.total = float(triples.count.sum())
        self.distinct_x, which = np.unique(triples.x, return_inverse=True)
        self.count_by_x = np.bincount(which, weights=triples.count).astype(np.float64)
        once = triples.x == 0
        self.once_T, self.once_count = triples.T[once], triples.count[once]
        repeat = ~once
        self.count, self.x = triples.count[repeat], triples.x[repeat]
        self.x_values, self.x_code = _codes(self.x)
        self.t_values, self.t_code = _codes(triples.t_x[repeat])
        self.T_values, self.T_code = _codes(triples.T[repeat])

    def value_and_gradient(
        self, r: float, alpha: float, a: float, b: float
    ) -> tuple[float, FloatArray]:
        """Σ w ln L and its derivatives in (r, α, a, b)."""
        xs, wx, n = self.distinct_x, self.count_by_x, self.total
        # ln A1 + ln A2, per distinct x; ψ = Γ'/Γ gives their derivatives.
        value = weighted_sum(wx, gammaln(r + xs) - gammaln(r) + betaln(a, b + xs) - betaln(a, b))
        value += n * r * np.log(alpha)
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + xs)
        d_r = weighted_sum(wx, digamma(r + xs) - digamma(r)) + n * np.log(alpha)
        d_alpha = n * r / alpha
        d_a = weighted_sum(wx, psi_ab - psi_abx)
        d_b = weighted_sum(wx, digamma(b + xs) - digamma(b) + psi_ab - psi_abx)

        # x = 0: only ln A3 = -r ln(α + T).
        log_once = np.log(alpha + self.once_T)
        value -= r * weighted_sum(self.once_count, log_once)
        d_r -= weighted_sum(self.once_count, log_once)
        d_alpha -= r * weighted_sum(self.once_count, 1.0 / (alpha + self.once_T))

        # x > 0: ln(A3 + A4) = ln A3 + ln(1 + e^d) with d = ln A4 - ln A3, stable for any d.
        w, rx = self.count, r + self.x
        log_T = np.log(alpha + self.T_values)[self.T_code]
        log_t = np.log(alpha + self.t_values)[self.t_code]
        d = np.log(a) - np.log(b + self.x_values - 1.0)[self.x_code] + rx * (log_T - log_t)
        value += weighted_sum(w, np.logaddexp(0.0, d) - rx * log_T)
        # ∂ ln(A3 + A4) = (1 - s) ∂ ln A3 + s ∂ ln A4, where s = A4 / (A3 + A4) = expit(d).
        ws = w * expit(d)
        inv_T = (1.0 / (alpha + self.T_values))[self.T_code]
        inv_t = (1.0 / (alpha + self.t_values))[self.t_code]
        d_r += weighted_sum(ws, log_T - log_t) - weighted_sum(w, log_T)
        d_alpha += weighted_sum(ws * rx, inv_T - inv_t) - weighted_sum(w * rx, inv_T)
        d_a += ws.sum() / a
        d_b -= weighted_sum(ws, (1.0 / (b + self.x_values - 1.0))[self.x_code])
        return float(value), np.array([d_r, d_alpha, d_a, d_b], dtype=np.float64)

    def __call__(self, log_params: FloatArray) -> tuple[float, FloatArray]:
        """Mean negative log-likelihood and its gradient in θ = ln(r, α, a, b)."""
        params = np.exp(log_params)
        value, gradient = self.value_and_gradient(*(float(v) for v in params))
        # Chain rule: ∂/∂θ = param · ∂/∂param.
        return -value / self.total, -gradient * params / self.total


def log_likelihood_with_gradient(
    params: BGNBDParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> tuple[float, FloatArray]:
    """Total ln L over customers and its analytic gradient in (r, α, a, b) — what the fit uses."""
    objective = _Objective(compress_histories(x, t_x, T, weights))
    return objective.value_and_gradient(params.r, params.alpha, params.a, params.b)


def _start(triples: Triples) -> FloatArray:
    """A start near typical fits: r = 1, α from the pooled repeat rate, p ~ Beta(1, 3)."""
    repeats = weighted_sum(triples.count, triples.x)
    exposure = weighted_sum(triples.count, triples.T)
    rate = repeats / exposure if repeats > 0 and exposure > 0 else 1.0
    start: FloatArray = np.log(np.array([1.0, 1.0 / rate, 1.0, 3.0]))
    return start


def fit_bgnbd(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> BGNBDParams:
    """Maximum-likelihood fit of FHL eq. (6) with L-BFGS-B on log-parameters.

    `weights` counts customers per row (for data already condensed to distinct
    histories, as Fader and Hardie do); rows are condensed here in any case.
    """
    triples = compress_histories(x, t_x, T, weights)
    objective = _Objective(triples)
    result = minimize(
        objective,
        _start(triples),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9},
    )
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    return BGNBDParams(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        loglik=objective.value_and_gradient(r, alpha, a, b)[0],
        n=round(objective.total),
        converged=bool(result.success) and bool(np.all(np.abs(result.x) < _LOG_BOUND)),
    )


def p_alive(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(alive | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x-1) ((α+T)/(α+t_x))^(r+x)) (note 021).

    A customer without repeat purchases is alive by the model's assumption: the
    dropout coin is only tossed after a repeat purchase.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    xs, ts, Ts = np.broadcast_arrays(_as_float(x), _as_float(t_x), _as_float(T))
    log_odds_dead = (
        np.log(a)
        - np.log(b + np.maximum(xs, 1.0) - 1.0)
        + (r + xs) * (np.log(alpha + Ts) - np.log(alpha + ts))
    )
    return np.where(xs > 0, expit(-log_odds_dead), 1.0)


def _expected_from(
    params: BGNBDParams, t: FloatArray, x: FloatArray, alpha_plus_T: FloatArray
) -> FloatArray:
    """(a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x-1; t/(α+T+t))].

    The numerator of FHL eq. (10) (eq. (9) when x = 0, T = 0). Euler's transform
    ₂F₁(A,B;C;z) = (1-z)^(C-A-B) ₂F₁(C-A, C-B; C; z) turns the bracket into
    1 - (1-z)^(a-1) ₂F₁(a+b-1-r, a-1; a+b+x-1; z), which stays finite for any x.
    Needs a ≠ 1 and a + b > 1, as the closed form does.
    """
    r, a, b = params.r, params.a, params.b
    z = t / (alpha_plus_T + t)
    c = a + b + x - 1.0
    log_tail = (a - 1.0) * np.log1p(-z) + np.log(hyp2f1(a + b - 1.0 - r, a - 1.0, c, z))
    result: FloatArray = c / (a - 1.0) * -np.expm1(log_tail)
    return result


def expected_purchases(
    params: BGNBDParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next t periods, FHL eq. (10)."""
    ts, xs, txs, Ts = np.broadcast_arrays(_as_float(t), _as_float(x), _as_float(t_x), _as_float(T))
    # Eq. (10)'s denominator is exactly 1 / P(alive).
    return p_alive(params, xs, txs, Ts) * _expected_from(params, ts, xs, params.alpha + Ts)


def expected_purchases_new_customer(params: BGNBDParams, t: ArrayLike) -> FloatArray:
    """E[X(t)]: expected repeat purchases of a new customer within t periods, FHL eq. (9)."""
    ts = _as_float(t)
    return _expected_from(params, ts, np.zeros_like(ts), np.full_like(ts, params.alpha))


def probability_of_n_purchases(params: BGNBDParams, t: ArrayLike, n: ArrayLike) -> FloatArray:
    """P(X(t) = n): probability of exactly n repeat purchases within t periods, FHL eq. (8).

    The finite sum 1 - (α/(α+t))^r Σ_{j<n} Γ(r+j)/(Γ(r) j!) (t/(α+t))^j is the
    negative-binomial tail P(NB(r, α/(α+t)) ≥ n), evaluated as the regularised
    incomplete beta I_{t/(α+t)}(n, r).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ts, ns = np.broadcast_arrays(_as_float(t), _as_float(n))
    q = ts / (alpha + ts)
    first = np.exp(
        betaln(a, b + ns)
        - betaln(a, b)
        + gammaln(r + ns)
        - gammaln(r)
        - gammaln(ns + 1.0)
        + r * np.log(alpha / (alpha + ts))
        + xlogy(ns, q)
    )
    m = np.maximum(ns, 1.0)
    second = np.exp(betaln(a + 1.0, b + m - 1.0) - betaln(a, b)) * betainc(m, r, q)
    probability: FloatArray = np.where(ns > 0, first + second, first)
    return probability
