"""`mezame campaign stats` (a campaign's email KPIs in total, per mail and per day) and
`mezame campaign goal` (what counts as its conversion)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from mezame.api.campaigns import stats_out
from mezame.campaigns.kpis import DEFAULT_WINDOW_DAYS, EmailKpis, format_rate
from mezame.campaigns.stats.service import campaign_kpis, set_conversion_goal
from mezame.cli.app import console, unit_of_work
from mezame.cli.mail import campaign_app
from mezame.config import get_settings

GOAL_NAMES = {
    "reply": "返信",
    "download": "資料ダウンロード",
    "inquiry": "問い合わせ・デモ依頼",
    "deal": "商談化",
    "none": "なし",
}


def _table(first_column: str) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column(first_column)
    for header in (
        "配信 sent",
        "到達 delivered",
        "不達率 bounce",
        "開封率 open",
        "機械込み raw open",
        "開封数 opens",
        "CTR",
        "CTOR",
        "CVR",
        "配信停止率 unsub",
    ):
        table.add_column(header, justify="right")
    return table


def _cells(k: EmailKpis) -> list[str]:
    c = k.counts
    return [
        f"{c.sent:,}",
        f"{k.delivered:,}",
        format_rate(k.bounce_rate),
        format_rate(k.open_rate),
        format_rate(k.raw_open_rate),
        f"{c.opens:,}",
        format_rate(k.ctr),
        format_rate(k.click_to_open),
        format_rate(k.cvr),
        format_rate(k.unsubscribe_rate),
    ]


@campaign_app.command("stats")
def campaign_stats(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    by_step: Annotated[bool, typer.Option("--by-step", help="One row per mail.")] = False,
    daily: Annotated[bool, typer.Option("--daily", help="One row per day of sending.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
) -> None:
    """Sent, delivered, 不達率, open rate (people; raw incl. machine opens), CTR,
    click-to-open, CVR and unsubscribe rate. — means nothing to divide by."""
    tz = ZoneInfo(get_settings().timezone)
    with unit_of_work() as session:
        found = campaign_kpis(session, campaign_id, tz=tz)
    if json_output:
        typer.echo(stats_out(found).model_dump_json(indent=2))
        return
    goal = GOAL_NAMES.get(found.goal.value, found.goal.value)
    console.print(
        f"[bold]{escape(found.name)}[/bold] ({found.status}) · 成果 goal: {goal}"
        + (f" · {found.window_days}日以内" if found.goal.value != "none" else "")
    )
    table = _table("")
    table.add_row("合計 total", *_cells(found.total))
    if by_step:
        for step in found.steps:
            table.add_row(f"{step.position}通目 {escape(step.subject[:24])}", *_cells(step.kpis))
    console.print(table)
    if daily:
        days = _table("日付 day")
        days.add_column("初回開封 first opens", justify="right")
        days.add_column("初回クリック first clicks", justify="right")
        for d in found.daily:
            label = f"{d.day.year}年{d.day.month}月{d.day.day}日"
            days.add_row(label, *_cells(d.kpis), f"{d.first_opens:,}", f"{d.first_clicks:,}")
        console.print(days)
    machine = found.total.machine_only_opened
    if machine:
        console.print(
            f"[yellow]機械的な開封のみ {machine:,} 通[/yellow] (Apple Mail のプライバシー保護や"
            "セキュリティ製品の自動取得): 開封率には含めず、raw open に含めています。"
        )


@campaign_app.command("goal")
def campaign_goal(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    goal: Annotated[str, typer.Argument(help="reply, download, inquiry, deal or none.")],
    days: Annotated[
        int, typer.Option(help="How many days after each mail a goal event still counts.")
    ] = DEFAULT_WINDOW_DAYS,
) -> None:
    """Set what counts as the campaign's conversion (CVR) and its window."""
    with unit_of_work() as session:
        set_conversion_goal(session, campaign_id=campaign_id, goal=goal, days=days)
    console.print(f"campaign {campaign_id}: goal {goal}, {days} days")
