"""`mezame model bgnbd`: fit BG/NBD (and Gamma-Gamma) to a summary or a transaction log."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mezame.cli.app import EXIT_BAD_INPUT, app, console, err_console
from mezame.errors import MezameError
from mezame.ingest.values import ValueProblem, parse_date
from mezame.modeling.service import (
    ModelFit,
    fit_summary_file,
    predict_from_transactions,
    write_predictions,
)

model_app = typer.Typer(help="統計モデル (statistical models of the customer base).")
app.add_typer(model_app, name="model")


class PeriodChoice(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _date_option(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueProblem as exc:
        raise _fail(f"{option}: {exc}") from None


def _show(fit: ModelFit, as_json: bool) -> None:
    values = fit.as_json()
    if as_json:
        typer.echo(json.dumps(values, ensure_ascii=False))
        return
    table = Table(title="BG/NBD" + (" + Gamma-Gamma" if fit.spend else ""))
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for name, value in values.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        table.add_row(name, shown)
    console.print(table)


@model_app.command("bgnbd")
def bgnbd_command(
    summary: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Per-customer summary: frequency, recency, T (or x, t_x, T) [, monetary_value].",
        ),
    ] = None,
    transactions: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Transaction log, one purchase per row."),
    ] = None,
    customer_col: Annotated[str, typer.Option(help="Customer id column.")] = "customer_id",
    date_col: Annotated[str, typer.Option(help="Purchase date column.")] = "date",
    amount_col: Annotated[
        str | None, typer.Option(help="Amount column: adds Gamma-Gamma and expected spend.")
    ] = None,
    calibration_end: Annotated[
        str | None, typer.Option(help="Fit on purchases up to this date; the rest is holdout.")
    ] = None,
    observation_end: Annotated[
        str | None, typer.Option(help="End of observation (default: the last date in the file).")
    ] = None,
    period: Annotated[PeriodChoice, typer.Option(help="Time unit of the model.")] = (
        PeriodChoice.WEEK
    ),
    horizon: Annotated[
        float | None,
        typer.Option(min=0, help="Periods ahead to predict (default: the holdout, or a year)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Predictions CSV (transactions mode).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the parameters as JSON.")] = False,
) -> None:
    """Fit BG/NBD: from --summary print the parameters; from --transactions also predict."""
    if (summary is None) == (transactions is None):
        raise _fail("--summary か --transactions のどちらか一方を指定してください")
    try:
        if summary is not None:
            _show(fit_summary_file(summary), as_json)
            return
        assert transactions is not None
        if out is None:
            raise _fail("--transactions には --out (予測の出力先 CSV) が必要です")
        predictions = predict_from_transactions(
            transactions,
            customer_column=customer_col,
            date_column=date_col,
            amount_column=amount_col,
            period=period.value,
            calibration_end=_date_option(calibration_end, "--calibration-end"),
            observation_end=_date_option(observation_end, "--observation-end"),
            horizon=horizon,
        )
        written = write_predictions(predictions, out)
    except MezameError as exc:
        raise _fail(str(exc)) from None
    _show(predictions.fit, as_json)
    err_console.print(f"{written:,} 顧客の予測を {out} に書き出しました", highlight=False)
