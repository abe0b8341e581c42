"""`mezame quality`: the data-quality report, what to fix first, and the first records of each."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from mezame.cli.app import app, console, unit_of_work
from mezame.config import get_settings
from mezame.quality.report import (
    QualityCheck,
    QualityOverview,
    QualityRecord,
    RecordKind,
    RecordPage,
)
from mezame.quality.service import MAX_PER_PAGE, quality_overview


class Language(StrEnum):
    JA = "ja"
    EN = "en"


_HEAD = {
    "ja": {
        "title": "データ品質レポート（{day}時点）",
        "faults": "四つの問題と誤った値",
        "fault": "問題",
        "company": "会社",
        "contact": "担当者",
        "deal": "商談",
        "total": "全件",
        "affected": "いずれかに該当",
        "fix_first": "まず直すもの",
        "rank": "順",
        "check": "項目",
        "share": "割合",
        "reason": "理由",
        "none": "問題は見つかりませんでした。",
        "more": "ほか {n:,} 件",
    },
    "en": {
        "title": "Data-quality report (as of {day})",
        "faults": "The four faults and invalid values",
        "fault": "Fault",
        "company": "Companies",
        "contact": "Contacts",
        "deal": "Deals",
        "total": "All records",
        "affected": "With any problem",
        "fix_first": "Fix first",
        "rank": "#",
        "check": "Check",
        "share": "Share",
        "reason": "Why",
        "none": "No problems found.",
        "more": "and {n:,} more",
    },
}


def _day(day: date, lang: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if lang == "ja" else day.isoformat()


def _cell(count: int, share: float) -> str:
    return f"{count:,} ({share:.1%})"


def _record_line(check: QualityCheck, record: QualityRecord) -> str:
    """id, external id, name and the values at fault, as one line."""
    parts = [f"#{record.id}", record.external_id, record.name or "—"]
    if check in (QualityCheck.STATUS_UNKNOWN, QualityCheck.STATUS_STALE):
        updated = record.status_updated_at
        parts += [record.status, updated.isoformat() if updated else "—"]
    elif check is QualityCheck.INVALID_CORPORATE_NUMBER:
        parts.append(record.corporate_number)
    elif record.kind is not RecordKind.COMPANY:
        parts += [record.company_name, record.email or record.outcome]
    return "  ".join(p for p in parts if p)


def _sample_lines(page: RecordPage) -> list[str]:
    if page.groups:
        return [
            f"{g.score:.2f}  "
            + " / ".join(f"#{i} {n}" for i, n in zip(g.ids, g.names, strict=True))
            + f"  ({'; '.join(g.evidence)})"
            for g in page.groups
        ]
    return [_record_line(page.check, r) for r in page.records]


def _print(overview: QualityOverview, lang: str) -> None:
    head = _HEAD[lang]
    report = overview.report
    console.print(f"[bold]{head['title'].format(day=_day(report.as_of, lang))}[/bold]")
    kinds = list(RecordKind)
    faults = Table(title=head["faults"], title_justify="left")
    faults.add_column(head["fault"])
    for kind in kinds:
        faults.add_column(head[kind.value], justify="right")
    faults.add_row(head["total"], *(f"{report.totals.get(k, 0):,}" for k in kinds))
    for fault in report.faults:
        faults.add_row(
            fault.title.in_locale(lang),
            *(
                _cell(fault.affected[k], fault.share[k]) if k in fault.affected else ""
                for k in kinds
            ),
        )
    faults.add_row(
        f"[bold]{head['affected']}[/bold]",
        *(_cell(report.affected[k], report.affected_share[k]) for k in kinds),
    )
    console.print(faults)
    if not report.fix_first:
        console.print(head["none"])
        return
    todo = Table(title=head["fix_first"], title_justify="left", show_lines=True)
    todo.add_column(head["rank"], justify="right")
    todo.add_column(head["check"], ratio=1, overflow="fold")
    todo.add_column(head["share"], justify="right", no_wrap=True)
    todo.add_column(head["reason"], ratio=2, overflow="fold")
    for item in report.fix_first:
        todo.add_row(
            str(item.rank),
            item.title.in_locale(lang),
            f"{report.result(item.check).share:.1%}",
            item.reason.in_locale(lang),
        )
    console.print(todo)
    for item in report.fix_first:
        page = overview.samples.get(item.check)
        if page is None or page.total == 0:
            continue
        console.print(f"\n[bold]{item.title.in_locale(lang)}[/bold]")
        for line in _sample_lines(page):
            console.print(f"  {line}", markup=False, highlight=False)
        shown = len(page.groups) + len(page.records)
        if page.total > shown:
            console.print(f"  {head['more'].format(n=page.total - shown)}")


@app.command("quality")
def quality_command(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report, lists and fix-first order as JSON.")
    ] = False,
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The day to judge staleness on (default: today)."),
    ] = None,
    sample: Annotated[
        int, typer.Option(min=0, max=MAX_PER_PAGE, help="Records listed per check.")
    ] = 10,
    lang: Annotated[Language, typer.Option(help="ja or en (tables; JSON has both).")] = Language.JA,
) -> None:
    """Data-quality report: the four faults of a customer database, and what to fix first."""
    settings = get_settings()
    day = as_of.date() if as_of else datetime.now(ZoneInfo(settings.timezone)).date()
    with unit_of_work() as session:
        overview = quality_overview(session, as_of=day, sample=sample)
    if json_output:
        typer.echo(overview.model_dump_json(indent=2))
    else:
        _print(overview, lang.value)
