"""`mezame dormant`, `mezame rank` and `mezame dormancy …`: who sleeps, who to wake first, why."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from mezame.adapters.csv_export import write_csv
from mezame.cli.app import app, console, err_console, unit_of_work
from mezame.dormancy.priority import format_day
from mezame.dormancy.results import service as results
from mezame.dormancy.results.service import DormantRow, Filters
from mezame.dormancy.rules import DormancyKind
from mezame.dormancy.service import recompute

dormancy_app = typer.Typer(help="休眠の判定と提案 (dormancy: recompute, threshold suggestions).")
app.add_typer(dormancy_app, name="dormancy")


class Kind(StrEnum):
    FORMER_CUSTOMER = "former_customer"
    LOST_DEAL = "lost_deal"
    CONTACT_ONLY = "contact_only"


class Band(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    GONE = "gone"


class Reason(StrEnum):
    PRICE = "price"
    FUNCTION = "function"
    TIMING = "timing"
    COMPETITOR = "competitor"
    UNKNOWN = "unknown"


class Encoding(StrEnum):
    UTF8 = "utf-8"
    CP932 = "cp932"


KIND_JA = {
    "former_customer": "既存顧客",
    "lost_deal": "失注・見送り",
    "contact_only": "接点のみ",
}
TRIGGER_JA = {
    "last_order": "最終受注",
    "contract_end": "契約終了",
    "cancellation": "解約",
    "lost_deal": "失注",
    "postponed_deal": "見送り",
    "acquisition": "接点取得",
    "last_response": "最終反応",
}
REASON_JA = {
    "price": "価格",
    "function": "機能",
    "timing": "タイミング",
    "competitor": "競合",
    "unknown": "不明",
}
BAND_JA = {"high": "高", "medium": "中", "low": "低", "gone": "除外"}

AsOfOption = Annotated[
    datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="The day to judge as of (default: today)."),
]


def _ensure_results(session: Session) -> results.RunInfo:
    """The latest run; computed now (as of today) when there has never been one."""
    run = results.latest_run(session)
    if run is None:
        err_console.print("[dim]まだ計算していないため、今日の時点で計算します…[/dim]")
        recompute(session, as_of=date.today())
        run = results.latest_run(session)
        assert run is not None
    return run


@dormancy_app.command("recompute")
def recompute_command(
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Judge dormancy, fit the statistics and rank everyone again (what the nightly job does)."""
    day = as_of.date() if as_of is not None else date.today()
    with unit_of_work() as session, console.status("休眠・統計・優先度を計算しています…"):
        summary = recompute(session, as_of=day)
    if as_json:
        typer.echo(json.dumps({"as_of": day.isoformat(), **summary.counts}, ensure_ascii=False))
        return
    table = Table(title=f"休眠顧客 ({format_day(day, 'ja')}時点、{summary.seconds} 秒)")
    table.add_column("種類")
    table.add_column("休眠", justify="right")
    table.add_column("うち除外", justify="right")
    for kind in DormancyKind:
        table.add_row(
            KIND_JA[kind.value],
            f"{summary.counts[f'dormant.{kind.value}']:,}",
            f"{summary.counts[f'excluded.{kind.value}']:,}",
        )
    console.print(table)
    bands = "、".join(
        f"{BAND_JA[b]} {summary.counts[f'band.{b}']:,}" for b in ("high", "medium", "low")
    )
    console.print(f"優先度: {bands}")


@app.command("dormant")
def dormant(
    kind: Annotated[Kind | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    include_gone: Annotated[
        bool, typer.Option("--include-gone", help="Also those asleep beyond the upper bound.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Dormant customers: kind, since when, for how long, and what put them to sleep."""
    with unit_of_work() as session:
        run = _ensure_results(session)
        kind_value = kind.value if kind else None
        rows = list(results.iter_dormant(session, filters=Filters(kind=kind_value), limit=limit))
        if include_gone:
            gone = Filters(kind=kind_value, band="gone")
            rows += list(results.iter_dormant(session, filters=gone, limit=limit))
    if as_json:
        for row in rows:
            typer.echo(json.dumps(_dormant_json(row), ensure_ascii=False))
        return
    table = Table(title=f"休眠顧客 ({format_day(run.as_of, 'ja')}時点)")
    for column in ("種類", "会社", "担当者", "休眠開始", "休眠", "きっかけ"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            KIND_JA[row.kind] + (" (除外)" if row.excluded else ""),
            row.company_name or "—",
            row.contact_name or row.contact_email or "—",
            format_day(row.fell_asleep_on, "ja"),
            f"{row.asleep_months} か月",
            TRIGGER_JA[row.trigger],
        )
    console.print(table)
    counts = "、".join(f"{KIND_JA[k.value]} {run.dormant(k.value):,}" for k in DormancyKind)
    console.print(f"全体: {counts}")


def _dormant_json(row: DormantRow) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "company_id": row.company_id,
        "company": row.company_name,
        "company_external_id": row.company_external_id,
        "contact_id": row.contact_id,
        "contact": row.contact_name,
        "email": row.contact_email,
        "fell_asleep_on": row.fell_asleep_on.isoformat(),
        "asleep_days": row.asleep_days,
        "trigger": row.trigger,
        "excluded": row.excluded,
    }


def _rank_json(row: DormantRow) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "score": row.score,
        "band": row.band,
        **_dormant_json(row),
        "owner": row.owner_name,
        "reason": row.reason,
        "reason_confidence": row.reason_confidence,
        "reason_inferred": row.reason_inferred,
        "p_alive": row.p_alive,
        "expected_value": row.expected_value,
        "change": row.change_description,
        "channel": row.channel,
        "angle": row.angle,
        "opening": {"ja": row.opening("ja"), "en": row.opening("en")},
        "factors": [
            {
                "factor": ja.factor,
                "points": ja.points,
                "ja": ja.text,
                "en": en.text,
            }
            for ja, en in zip(row.explanation("ja"), row.explanation("en"), strict=True)
        ],
    }


@app.command("rank")
def rank(
    limit: Annotated[int, typer.Option(min=1, help="The best N.")] = 20,
    kind: Annotated[Kind | None, typer.Option(help="Only this kind.")] = None,
    reason: Annotated[Reason | None, typer.Option(help="Only this reason.")] = None,
    band: Annotated[Band | None, typer.Option(help="Only this priority band.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", dir_okay=False, help="Write an Excel-friendly CSV.")
    ] = None,
    encoding: Annotated[
        Encoding, typer.Option(help="CSV encoding: utf-8 (with BOM) or cp932 (Shift_JIS).")
    ] = Encoding.UTF8,
) -> None:
    """Who to wake first, with the factors that put them there and how to approach them."""
    filters = Filters(
        kind=kind.value if kind else None,
        reason=reason.value if reason else None,
        band=band.value if band else None,
    )
    with unit_of_work() as session:
        run = _ensure_results(session)
        rows = list(results.iter_dormant(session, filters=filters, limit=limit))
        if csv_file is not None:
            size = write_csv(
                csv_file, results.CSV_HEADER, map(results.csv_row, rows), encoding=encoding.value
            )
    if csv_file is not None:
        console.print(
            f"{csv_file} に {len(rows):,} 件を書き出しました ({size:,} バイト、{encoding.value})"
        )
        return
    if as_json:
        for row in rows:
            typer.echo(json.dumps(_rank_json(row), ensure_ascii=False))
        return
    table = Table(title=f"掘り起こしリスト ({format_day(run.as_of, 'ja')}時点)")
    for column in (
        "順位",
        "スコア",
        "会社 / 担当者",
        "種類",
        "休眠",
        "理由",
        "主な要因",
        "アプローチ",
    ):
        table.add_column(column)
    for row in rows:
        factors = "\n".join(f"{e.points:+.1f} {e.text}" for e in row.explanation("ja"))
        table.add_row(
            str(row.rank),
            f"{row.score:.1f} ({BAND_JA[row.band]})",
            f"{row.company_name or '—'}\n{row.contact_name or row.contact_email or ''}",
            KIND_JA[row.kind],
            f"{row.asleep_months} か月",
            REASON_JA[row.reason] + ("（推定）" if row.reason_inferred else ""),
            factors,
            f"{row.channel_name('ja')}: {row.opening('ja')}",
        )
    console.print(table)


@dormancy_app.command("suggest")
def suggest_command(
    as_json: Annotated[bool, typer.Option("--json", help="The suggestions as JSON.")] = False,
    use: Annotated[
        Kind | None, typer.Option("--use", help="Save this kind's suggestion as its threshold.")
    ] = None,
) -> None:
    """Thresholds suggested by the company's own history (gap quantiles, return rate, P(alive))."""
    with unit_of_work() as session:
        _ensure_results(session)
        found = results.suggestions(session)
        policy = results.thresholds(session)
        if use is not None:
            policy = results.use_suggestion(session, kind=use.value)
    if as_json:
        typer.echo(json.dumps({k: s.as_json() for k, s in found.items()}, ensure_ascii=False))
        return
    table = Table(title="休眠の基準の提案")
    for column in ("種類", "現在の基準", "提案", "対象", "間隔 中央値", "90%点", "提案の根拠"):
        table.add_column(column)
    for kind in DormancyKind:
        s = found.get(kind.value)
        if s is None:
            continue
        quantiles = dict(s.quantiles)
        share = f"{s.max_return_rate:.0%}"
        basis = (
            f"{s.suggested_days} 日以上空くと戻るのは {share} 未満"
            if s.suggested_days
            else "データ不足"
        )
        table.add_row(
            KIND_JA[kind.value],
            f"{policy.rule(kind).after_months} か月",
            f"{s.suggested_months} か月" if s.suggested_months else "—",
            f"{s.entities:,}",
            f"{quantiles[0.5]:.0f} 日" if 0.5 in quantiles else "—",
            f"{quantiles[0.9]:.0f} 日" if 0.9 in quantiles else "—",
            basis,
        )
    console.print(table)
    if use is not None:
        months = policy.rule(DormancyKind(use.value)).after_months
        console.print(
            f"{KIND_JA[use.value]} の基準を {months} か月にしました（次の再計算から使われます）"
        )
