"""`mezame duplicates` lists candidate duplicates; `mezame merge` merges them or undoes a merge."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from mezame.cleaning.merges.service import MergeOutcome, auto_merge, undo_merge
from mezame.cleaning.service import KINDS, find_duplicates
from mezame.cli.app import EXIT_BAD_INPUT, app, console, err_console, unit_of_work

_KIND_LABELS = {"companies": "取引先", "contacts": "担当者"}


class KindChoice(StrEnum):
    COMPANIES = "companies"
    CONTACTS = "contacts"


@app.command("duplicates")
def duplicates(
    kind: Annotated[KindChoice, typer.Option(help="companies or contacts.")] = (
        KindChoice.COMPANIES
    ),
    as_json: Annotated[
        bool,
        typer.Option("--json", help='JSON list of {"ids": [external ids], "score", "evidence"}.'),
    ] = False,
) -> None:
    """Print the candidate duplicate clusters (名寄せ候補) with their score and evidence."""
    with unit_of_work() as session:
        report = find_duplicates(session, kind.value)
    if as_json:
        clusters = [
            {"ids": list(c.external_ids), "score": c.score, "evidence": list(c.evidence)}
            for c in report.clusters
        ]
        typer.echo(json.dumps(clusters, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"名寄せ候補 ({_KIND_LABELS[kind.value]}) — {len(report.clusters):,} 件")
    table.add_column("#", justify="right")
    table.add_column("外部ID (ids)")
    table.add_column("スコア", justify="right")
    table.add_column("判定")
    table.add_column("根拠 (evidence)")
    for cluster in report.clusters:
        table.add_row(
            str(cluster.cluster_id),
            "\n".join(
                e or f"(#{i})" for e, i in zip(cluster.external_ids, cluster.ids, strict=True)
            ),
            f"{cluster.score:.2f}",
            "自動統合" if cluster.auto else "要確認",
            "\n".join(cluster.evidence),
        )
    console.print(table)
    stats = report.stats
    console.print(
        f"{stats.records:,} 件を比較: 全組合せ {stats.all_pairs:,} のうち "
        f"ブロッキング後 {stats.pairs_after_blocking:,} 組を採点"
    )


@app.command("merge")
def merge(
    auto: Annotated[
        bool, typer.Option("--auto", help="Apply every merge above the auto-merge threshold.")
    ] = False,
    undo: Annotated[
        int | None, typer.Option("--undo", metavar="MERGE_ID", help="Undo this merge.")
    ] = None,
    kind: Annotated[
        KindChoice | None, typer.Option(help="With --auto: only companies or contacts.")
    ] = None,
) -> None:
    """Merge the certain duplicates (--auto), or undo one merge (--undo MERGE_ID)."""
    if auto == (undo is not None):
        err_console.print("[red]error:[/red] give either --auto or --undo MERGE_ID")
        raise typer.Exit(EXIT_BAD_INPUT)
    with unit_of_work() as session:
        if undo is not None:
            undone = undo_merge(session, merge_id=undo, user_id=None)
            console.print(
                f"統合 {undone.merge_id} を取り消しました: "
                f"{_names(undone.merged_external_ids, undone.merged_ids)} を復元"
            )
            return
        kinds = (kind.value,) if kind is not None else KINDS
        outcomes = [m for k in kinds for m in auto_merge(session, kind=k)]
    _print_merges(outcomes)


def _names(external_ids: tuple[str | None, ...], ids: tuple[int, ...]) -> str:
    return ", ".join(e or f"#{i}" for e, i in zip(external_ids, ids, strict=True))


def _print_merges(outcomes: list[MergeOutcome]) -> None:
    table = Table(title=f"自動統合 — {len(outcomes):,} 件")
    table.add_column("統合ID", justify="right")
    table.add_column("種類")
    table.add_column("残す (survivor)")
    table.add_column("統合した (merged)")
    table.add_column("スコア", justify="right")
    table.add_column("移した行", justify="right")
    for m in outcomes:
        table.add_row(
            str(m.merge_id),
            _KIND_LABELS.get(m.kind, m.kind),
            f"{m.survivor_external_id or f'#{m.survivor_id}'} {m.survivor_name or ''}",
            _names(m.merged_external_ids, m.merged_ids),
            "" if m.score is None else f"{m.score:.2f}",
            f"{sum(m.moved_rows.values()):,}",
        )
    console.print(table)
    if outcomes:
        console.print("取り消すには: mezame merge --undo 統合ID")
