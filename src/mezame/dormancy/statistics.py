"""Per-customer statistics for dormancy and priority: BG/NBD P(alive), expected spend (SPEC 3.3).

The customer base's purchase history (one row per order) is summarised per company in weeks,
BG/NBD is fitted on everyone (Fader, Hardie & Lee 2005), then Gamma-Gamma on those with
repeat purchases for the spend per order; expected value is the next year's expected
purchases times that spend. Too little history, or a fit that does not converge, leaves the
statistics out (NaN) rather than guessing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mezame.errors import InvalidInputError
from mezame.stats import bgnbd, gamma_gamma, rfm

log = logging.getLogger("mezame.dormancy")

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

MIN_REPEAT_CUSTOMERS = 20  # fewer and the BG/NBD fit says more about noise than customers
EXPECTED_VALUE_WEEKS = 52


@dataclass(frozen=True, slots=True)
class CustomerStats:
    p_alive: FloatArray  # per company; NaN: no model or no repeat purchase
    expected_value: FloatArray  # per company, yen over the next year; NaN: no model
    models: dict[str, Any]
    summary_ids: IntArray  # companies in the RFM summary (positions)
    summary_p_alive: FloatArray


def customer_statistics(
    company: IntArray, day: IntArray, amount: FloatArray, n_companies: int, as_of: date
) -> CustomerStats:
    """BG/NBD P(alive) and expected purchases, Gamma-Gamma spend, per company (SPEC 3.3)."""
    p_alive = np.full(n_companies, np.nan)
    expected = np.full(n_companies, np.nan)
    none = CustomerStats(p_alive, expected, {}, np.zeros(0, np.int64), np.zeros(0))
    if company.size == 0:
        return none
    summary = rfm.summarise(
        company,
        day.astype("datetime64[D]"),
        observation_end=as_of,
        amounts=amount,
        period="week",
    )
    x, t_x, big_t = summary.frequency, summary.recency, summary.T
    if int((x > 0).sum()) < MIN_REPEAT_CUSTOMERS:
        return none
    try:
        model = bgnbd.fit_bgnbd(x, t_x, big_t)
    except InvalidInputError as exc:
        log.warning("BG/NBD fit skipped: %s", exc)
        return none
    if not model.converged:
        log.warning("BG/NBD fit did not converge: %s", model)
        return none
    models: dict[str, Any] = {
        "bgnbd": {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b, "n": model.n},
        "period": "week",
    }
    positions = summary.customer_ids.astype(np.int64)
    alive = bgnbd.p_alive(model, x, t_x, big_t)
    p_alive[positions] = np.where(x > 0, alive, np.nan)
    purchases = bgnbd.expected_purchases(model, EXPECTED_VALUE_WEEKS, x, t_x, big_t)
    monetary = summary.monetary_value
    assert monetary is not None
    repeat = (x > 0) & (monetary > 0)
    spend: FloatArray = np.where(monetary > 0, monetary, 0.0)
    if int(repeat.sum()) >= MIN_REPEAT_CUSTOMERS:
        try:
            gg = gamma_gamma.fit_gamma_gamma(x[repeat], monetary[repeat])
        except InvalidInputError as exc:
            log.warning("Gamma-Gamma fit skipped: %s", exc)
        else:
            if gg.converged and gg.q > 1:
                spend = gamma_gamma.expected_average_spend(gg, x, monetary)
                models["gamma_gamma"] = {"p": gg.p, "q": gg.q, "gamma": gg.gamma, "n": gg.n}
    if "gamma_gamma" not in models:
        # No spend model: each customer's own mean order (the first one included).
        totals = np.bincount(company, weights=amount, minlength=n_companies)
        counts = np.bincount(company, minlength=n_companies)
        spend = totals[positions] / np.maximum(counts[positions], 1)
    expected[positions] = np.where(np.isfinite(purchases), purchases * spend, np.nan)
    return CustomerStats(p_alive, expected, models, positions, np.where(x > 0, alive, np.nan))
