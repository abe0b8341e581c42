"""BG/NBD and Gamma-Gamma from files: a customer summary or a transaction log in, fits out.

The I/O half of `mezame model bgnbd`; the models are `mezame.stats`. Files are CSV (UTF-8 or
CP932) or .xlsx. Columns are read whole and converted with NumPy, each distinct date or
amount parsed once, so a log of millions of rows costs seconds. Every bad cell is reported
as FILE:LINE: column 'name': reason.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mezame.adapters.csv_export import neutralise
from mezame.adapters.importers.tabular import open_table
from mezame.errors import InvalidInputError
from mezame.ingest.values import ValueProblem, parse_amount, parse_date
from mezame.stats import bgnbd, gamma_gamma
from mezame.stats.bgnbd import BGNBDParams
from mezame.stats.gamma_gamma import GammaGammaParams
from mezame.stats.rfm import Period, RFMSummary, summarise

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Column names a summary may use: lifetimes' (frequency, recency, T, monetary_value) or the
# papers' (x, t_x, T, zbar).
SUMMARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "frequency": ("frequency", "x"),
    "recency": ("recency", "t_x"),
    "T": ("T",),
}
MONETARY_COLUMNS = ("monetary_value", "zbar", "monetary")
# Without a holdout to match, predictions look one year ahead.
DEFAULT_HORIZON: dict[Period, int] = {"day": 365, "week": 52, "month": 12}


@dataclass(frozen=True, slots=True)
class ModelFit:
    """The BG/NBD fit and, when spend was given, the Gamma-Gamma fit."""

    purchases: BGNBDParams
    spend: GammaGammaParams | None

    def as_json(self) -> dict[str, float | int | bool]:
        """The parameters as `mezame model bgnbd --json` prints them."""
        p = self.purchases
        out: dict[str, float | int | bool] = {
            "r": p.r,
            "alpha": p.alpha,
            "a": p.a,
            "b": p.b,
            "loglik": p.loglik,
            "n": p.n,
            "converged": p.converged,
        }
        if self.spend is not None:
            s = self.spend
            out |= {
                "p": s.p,
                "q": s.q,
                "gamma": s.gamma,
                "spend_loglik": s.loglik,
                "spend_n": s.n,
                "spend_converged": s.converged,
            }
        return out


@dataclass(frozen=True, slots=True)
class Predictions:
    """Per customer of a transaction log: its summary, P(alive) and what to expect."""

    fit: ModelFit
    summary: RFMSummary
    horizon: float  # periods ahead that expected_purchases covers
    p_alive: FloatArray
    expected_purchases: FloatArray
    expected_spend: FloatArray | None  # mean spend per purchase, when amounts were given


@dataclass(frozen=True, slots=True)
class _Columns:
    """Raw cells of the wanted columns, and the file line of each row."""

    path: Path
    lines: IntArray
    cells: dict[str, list[str]]
    headers: dict[str, str]  # wanted name → header as written in the file

    def where(self, row: int, field: str) -> str:
        return f"{self.path.name}:{int(self.lines[row])}: 列 '{self.headers[field]}'"


def _find_header(headers: Sequence[str], names: Sequence[str]) -> str | None:
    for name in names:
        if name in headers:
            return name
    folded = {h.casefold(): h for h in headers}
    for name in names:
        if name.casefold() in folded:
            return folded[name.casefold()]
    return None


def _read_columns(
    path: Path, required: Mapping[str, Sequence[str]], optional: Mapping[str, Sequence[str]]
) -> _Columns:
    """The cells of the required columns (error if one is missing) and the optional ones found."""
    with open_table(path) as table:
        headers: dict[str, str] = {}
        for field, names in required.items():
            header = _find_header(table.headers, names)
            if header is None:
                raise InvalidInputError(
                    f"{path.name}:{table.header_line}: 列 {' / '.join(map(repr, names))} "
                    f"がありません (ある列: {', '.join(table.headers)})"
                )
            headers[field] = header
        for field, names in optional.items():
            if (header := _find_header(table.headers, names)) is not None:
                headers[field] = header
        positions = [table.headers.index(header) for header in headers.values()]
        width = max(positions) + 1
        lines: list[int] = []
        rows: list[Sequence[object]] = []
        for line, row in table.cell_rows():
            lines.append(line)
            rows.append(row if len(row) >= width else [*row, *[None] * (width - len(row))])
    cells = {
        field: ["" if v is None else str(v).strip() for v in map(itemgetter(position), rows)]
        for field, position in zip(headers, positions, strict=True)
    }
    if not lines:
        raise InvalidInputError(f"{path.name}: データ行がありません")
    return _Columns(path, np.asarray(lines, dtype=np.int64), cells, headers)


def _numbers(columns: _Columns, field: str) -> FloatArray:
    values = columns.cells[field]
    try:
        return np.asarray(values, dtype=np.float64)
    except ValueError:
        for row, value in enumerate(values):
            try:
                float(value)
            except ValueError:
                reason = "空です" if not value else f"数値ではありません ({value!r})"
                raise InvalidInputError(f"{columns.where(row, field)}: {reason}") from None
        raise


def _parsed_by_distinct(
    columns: _Columns, field: str, parse: Callable[[str], object], dtype: str
) -> NDArray[Any]:
    """Each distinct cell parsed once; the first bad cell in the file is the error."""
    distinct, first, inverse = np.unique(
        np.asarray(columns.cells[field]), return_index=True, return_inverse=True
    )
    parsed = np.empty(distinct.size, dtype=dtype)
    problems: list[tuple[int, str]] = []
    for k, text in enumerate(distinct.tolist()):
        try:
            parsed[k] = parse(text)
        except ValueProblem as exc:
            problems.append((int(first[k]), str(exc)))
    if problems:
        row, reason = min(problems)
        raise InvalidInputError(f"{columns.where(row, field)}: {reason}")
    return parsed[inverse]


def _date(text: str) -> dt.date:
    if not text:
        raise ValueProblem("日付が空です")
    return parse_date(text)  # 2026/11/23, 2026年11月23日, 20261123, 令和8年…, Excel serials


def _amount(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return float(parse_amount(text))  # ¥1,234 / 1,234円 / △500


def _fit_spend(frequency: FloatArray, monetary: FloatArray) -> GammaGammaParams | None:
    """Gamma-Gamma on customers with repeat purchases and a positive mean spend."""
    repeat = (frequency > 0) & (monetary > 0)
    if not repeat.any():
        return None
    return gamma_gamma.fit_gamma_gamma(frequency[repeat], monetary[repeat])


def fit_summary_file(path: Path) -> ModelFit:
    """Fit BG/NBD (and Gamma-Gamma with a monetary column) to a per-customer summary file."""
    columns = _read_columns(path, SUMMARY_COLUMNS, {"monetary_value": MONETARY_COLUMNS})
    x, t_x, T = (_numbers(columns, field) for field in SUMMARY_COLUMNS)
    for bad, message in bgnbd.history_problems(x, t_x, T):
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"{path.name}:{int(columns.lines[row])}: {message} (全 {int(bad.sum())} 行)"
            )
    fit = bgnbd.fit_bgnbd(x, t_x, T)
    spend = None
    if "monetary_value" in columns.cells:
        spend = _fit_spend(x, _numbers(columns, "monetary_value"))
    return ModelFit(fit, spend)


def predict_from_transactions(
    path: Path,
    *,
    customer_column: str,
    date_column: str,
    amount_column: str | None = None,
    period: Period = "week",
    calibration_end: dt.date | None = None,
    observation_end: dt.date | None = None,
    horizon: float | None = None,
) -> Predictions:
    """Summarise a transaction log per customer, fit BG/NBD on it and predict each customer.

    The fit sees purchases up to `calibration_end` (default: the observation end, which
    defaults to the last date in the file). `horizon` is in periods; by default the holdout
    after the calibration end, or one year.
    """
    required: dict[str, Sequence[str]] = {"customer": (customer_column,), "date": (date_column,)}
    if amount_column is not None:
        required["amount"] = (amount_column,)
    columns = _read_columns(path, required, {})
    customers = np.asarray(columns.cells["customer"])
    if (blank := customers == "").any():
        row = int(np.flatnonzero(blank)[0])
        raise InvalidInputError(f"{columns.where(row, 'customer')}: 顧客IDが空です")
    dates = _parsed_by_distinct(columns, "date", _date, "datetime64[D]")
    amounts = None
    if amount_column is not None:
        amounts = _parsed_by_distinct(columns, "amount", _amount, "float64")
    end = observation_end or dates.max().item()
    summary = summarise(
        customers,
        dates,
        observation_end=end,
        amounts=amounts,
        calibration_end=calibration_end,
        period=period,
    )
    x = summary.frequency.astype(np.float64)
    fit = bgnbd.fit_bgnbd(x, summary.recency, summary.T)
    spend = None
    expected_spend = None
    if summary.monetary_value is not None:
        spend = _fit_spend(x, summary.monetary_value)
        if spend is not None and spend.q > 1:  # the mean spend exists only for q > 1
            expected_spend = gamma_gamma.expected_average_spend(spend, x, summary.monetary_value)
    if horizon is None:
        horizon = summary.duration_holdout or DEFAULT_HORIZON[period]
    return Predictions(
        fit=ModelFit(fit, spend),
        summary=summary,
        horizon=horizon,
        p_alive=bgnbd.p_alive(fit, x, summary.recency, summary.T),
        expected_purchases=bgnbd.expected_purchases(fit, horizon, x, summary.recency, summary.T),
        expected_spend=expected_spend,
    )


def _formatted(values: NDArray[np.generic], spec: str) -> list[str]:
    return [format(v, spec) for v in values.tolist()]


def write_predictions(predictions: Predictions, path: Path) -> int:
    """Write one row per customer as CSV (UTF-8 with BOM, for Excel); return the row count."""
    s = predictions.summary
    header = ["customer_id", "frequency", "recency", "T", "p_alive", "expected_purchases"]
    columns: list[Iterable[str]] = [
        (neutralise(str(c)) for c in s.customer_ids.tolist()),  # CSV injection
        _formatted(s.frequency, "d"),
        _formatted(s.recency, ".10g"),
        _formatted(s.T, ".10g"),
        _formatted(predictions.p_alive, ".6f"),
        _formatted(predictions.expected_purchases, ".6f"),
    ]
    if s.frequency_holdout is not None:
        header.append("frequency_holdout")
        columns.append(_formatted(s.frequency_holdout, "d"))
    if s.monetary_value is not None:
        header.append("monetary_value")
        columns.append(_formatted(s.monetary_value, ".2f"))
    if predictions.expected_spend is not None:
        header.append("expected_average_spend")
        columns.append(_formatted(predictions.expected_spend, ".2f"))
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(zip(*columns, strict=True))
    return int(s.customer_ids.size)
