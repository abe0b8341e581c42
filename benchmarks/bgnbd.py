"""BG/NBD fit on 1,000,000 synthetic customers: mezame against lifetimes.BetaGeoFitter.fit.

Customers are drawn from the BG/NBD process with the published CDNOW parameters
(r = 0.243, α = 4.414, a = 0.793, b = 2.426, weeks), first purchases spread so that
T is 30 to 39 weeks as in the CDNOW cohort, and purchase times recorded to the day
as a real order log is. Both fitters get the same arrays in the same run; lifetimes
needs the `bench` extra.

    .venv/bin/python benchmarks/bgnbd.py [--customers 1000000] [--seed 2005]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from mezame.stats.bgnbd import BGNBDParams, compress_histories, fit_bgnbd

CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
NAMES = ("r", "alpha", "a", "b")
REQUIRED_AGREEMENT = 1e-3


def simulate(customers: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, t_x, T in weeks (to the day) from the BG/NBD generative process (FHL 2005, section 2)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(CDNOW["r"], 1.0 / CDNOW["alpha"], customers)  # purchases per week
    dropout = rng.beta(CDNOW["a"], CDNOW["b"], customers)
    age_days = rng.integers(30 * 7, 39 * 7 + 1, customers)
    age = age_days / 7.0
    # Purchases while alive follow a Poisson process; the customer drops out right after
    # repeat purchase J ~ Geometric(p), so x = min(N(T), J).
    purchases = rng.poisson(rate * age)
    x = np.minimum(purchases, rng.geometric(dropout))
    # Given N(T) = n events, the x-th event time is T times the x-th of n uniform order
    # statistics: T · Beta(x, n - x + 1).
    last = age * rng.beta(np.maximum(x, 1), purchases - x + 1)
    last_day = np.where(x > 0, np.minimum(np.ceil(last * 7.0), age_days), 0)
    return x.astype(np.float64), last_day / 7.0, age


def relative_difference(ours: BGNBDParams, theirs: dict[str, float]) -> float:
    return max(abs(getattr(ours, k) - theirs[k]) / abs(theirs[k]) for k in NAMES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2005)
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter  # the `bench` extra

    x, t_x, T = simulate(args.customers, args.seed)
    condensed = compress_histories(x, t_x, T)
    print(
        f"{args.customers:,} customers, {int((x > 0).sum()):,} with repeat purchases, "
        f"{condensed.x.size:,} distinct (x, t_x, T) histories"
    )

    started = time.perf_counter()
    ours = fit_bgnbd(x, t_x, T)
    mezame_seconds = time.perf_counter() - started

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        reference = BetaGeoFitter().fit(x, t_x, T)
        lifetimes_seconds = time.perf_counter() - started
        # For scale only: lifetimes on the same histories condensed with weights, as mezame does.
        started = time.perf_counter()
        BetaGeoFitter().fit(condensed.x, condensed.t_x, condensed.T, weights=condensed.count)
        lifetimes_condensed_seconds = time.perf_counter() - started
    theirs = {k: float(reference.params_[k]) for k in NAMES}

    def row(label: str, values: dict[str, float], extra: str = "") -> str:
        numbers = "  ".join(f"{k}={values[k]:.6f}" for k in NAMES)
        return f"{label:<26} {numbers}{extra}"

    print(row("drawn from (CDNOW)", CDNOW))
    print(
        row(
            "mezame fit_bgnbd",
            {k: getattr(ours, k) for k in NAMES},
            f"  loglik={ours.loglik:.3f}  converged={ours.converged}  {mezame_seconds:.3f} s",
        )
    )
    print(row("lifetimes BetaGeoFitter", theirs, f"  {lifetimes_seconds:.3f} s"))
    print(
        f"(for scale: lifetimes given the {condensed.x.size:,} condensed histories as weights "
        f"takes {lifetimes_condensed_seconds:.3f} s)"
    )
    difference = relative_difference(ours, theirs)
    ratio = lifetimes_seconds / mezame_seconds
    print(
        f"max relative parameter difference {difference:.2e} (required < {REQUIRED_AGREEMENT:g}); "
        f"mezame is {ratio:.1f}x faster (target >= 10x). lifetimes' fit includes its Hessian "
        "for standard errors; mezame's includes condensing the customers to distinct histories."
    )
    print(
        json.dumps(
            {
                "name": "bgnbd_fit_1m" if args.customers == 1_000_000 else "bgnbd_fit",
                "figure": round(mezame_seconds, 4),
                "unit": "s",
                "reference": round(lifetimes_seconds, 4),
                "ratio": round(ratio, 2),
                "max_rel_param_diff": float(f"{difference:.3e}"),
                "customers": args.customers,
            }
        )
    )


if __name__ == "__main__":
    main()
