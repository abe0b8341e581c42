"""`mezame demo-data` writes the demo files; `mezame demo` loads them, runs the pipeline, serves."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.table import Table

from mezame.cli.app import app, console, engine, unit_of_work
from mezame.db import migrate
from mezame.demo.files import write_world
from mezame.demo.service import ensure_demo_users, load_demo, seed_demo_campaigns
from mezame.demo.timeline import JST
from mezame.demo.world import MIN_COMPANIES, SALES_REPS, generate_world
from mezame.dormancy.priority import format_day
from mezame.pipeline import run_pipeline

_STEP_LABELS = {
    "generate": "デモデータ生成",
    "files": "ファイル書き出し",
    "companies": "取引先",
    "contacts": "担当者",
    "deals": "商談",
    "orders": "受注・契約",
    "activities": "営業活動",
    "events": "行動履歴",
    "surveys": "アンケート",
    "merged_companies": "名寄せで統合 (取引先)",
    "merged_contacts": "名寄せで統合 (担当者)",
    "dormant_former_customer": "休眠: 既存顧客",
    "dormant_lost_deal": "休眠: 失注・見送り",
    "dormant_contact_only": "休眠: 接点のみ",
}
_KIND_LABELS = {"one_off": "単発", "recurring": "毎月", "sequence": "ステップ配信"}

CompaniesOption = Annotated[
    int, typer.Option(min=MIN_COMPANIES, help="Company rows, planted duplicates included.")
]
SeedOption = Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")]
AsOfOption = Annotated[
    datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="The world's today (default: today)."),
]


def _as_of(value: datetime | None) -> date:
    return value.date() if value is not None else date.today()


@app.command("demo-data")
def demo_data(
    companies: CompaniesOption = 2000,
    seed: SeedOption = 42,
    as_of: AsOfOption = None,
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory for the files.")] = Path(
        "demo-data"
    ),
) -> None:
    """Write a Japanese B2B demo data set (CSV/.xlsx with Japanese headers) and planted.json."""
    with console.status("デモデータを生成しています…"):
        world = generate_world(companies=companies, seed=seed, as_of=_as_of(as_of))
        files = write_world(world, out)
    console.print(f"{out}/ に書き出しました（seed {seed}、{format_day(world.as_of, 'ja')}時点）")
    table = Table()
    table.add_column("ファイル")
    table.add_column("種類")
    table.add_column("行数", justify="right")
    for kind, path in files:
        table.add_row(path.name, kind.value, f"{len(world.rows[kind]):,}")
    console.print(table)
    owners = ", ".join(email for email, _ in SALES_REPS)
    console.print(
        f"担当営業メールの列はユーザー {owners} を指します。"
        "手で取り込む前に `mezame user add … --role sales` で作成してください"
        "（`mezame demo` は自動で作成して取り込みます）。"
    )


@app.command("demo")
def demo(
    companies: CompaniesOption = 2000,
    seed: SeedOption = 42,
    as_of: AsOfOption = None,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the web UI afterwards.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port for the web UI.")] = 8000,
    out: Annotated[Path, typer.Option(file_okay=False, help="Where the demo files go.")] = Path(
        "demo-data"
    ),
) -> None:
    """Set up the database, load the demo data, run the pipeline, then serve the UI."""
    today = _as_of(as_of)
    eng = engine()
    migrate(eng)
    eng.dispose()
    with (
        unit_of_work() as session,
        Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            TaskProgressColumn(),
            console=console,
        ) as bar,
    ):
        logins = ensure_demo_users(session)
        tasks: dict[str, TaskID] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(_STEP_LABELS.get(step, step), total=total or None)
            bar.update(tasks[step], completed=done, total=total or None)

        reports = load_demo(
            session,
            companies=companies,
            seed=seed,
            as_of=today,
            directory=out,
            progress=progress,
        )
        summary = run_pipeline(session, as_of=datetime.combine(today, time(), JST))
        drafts = [
            (c.id, c.name, c.kind)
            for c in seed_demo_campaigns(session, now=datetime.now(JST), tz=ZoneInfo("Asia/Tokyo"))
        ]

    imported = Table(title=f"取り込み ({out}/)")
    for column in ("種類", "行数", "追加", "更新", "変更なし"):
        imported.add_column(column, justify="left" if column == "種類" else "right")
    for step, report in reports.items():
        imported.add_row(
            _STEP_LABELS.get(step, step),
            f"{report.rows_total:,}",
            f"{report.inserted:,}",
            f"{report.updated:,}",
            f"{report.unchanged:,}",
        )
    console.print(imported)

    figures = Table(title=f"集計（{format_day(today, 'ja')}時点）")
    figures.add_column("項目")
    figures.add_column("値", justify="right")
    for name, count in summary.counts.items():
        figures.add_row(_STEP_LABELS.get(name, name), f"{count:,}")
    for field in dataclasses.fields(summary):
        value = getattr(summary, field.name)
        if field.name not in ("as_of", "counts") and isinstance(value, int | float | str):
            figures.add_row(field.name, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(figures)

    ready = Table(title="下書きのキャンペーン（送信ボタンを押すまで誰にも送りません）")
    for column in ("ID", "名前", "種類"):
        ready.add_column(column)
    for campaign_id, name, kind in drafts:
        ready.add_row(str(campaign_id), name, _KIND_LABELS.get(kind, kind))
    console.print(ready)

    users = Table(title="デモ用ログイン")
    for column in ("メールアドレス", "パスワード", "ロール"):
        users.add_column(column)
    for email, password, role in logins:
        users.add_row(email, password, role)
    console.print(users)
    if serve:
        from mezame.cli.serving import serve_forever

        console.print(f"http://127.0.0.1:{port} で公開します (Ctrl+C で終了)")
        serve_forever(host="127.0.0.1", port=port, with_worker=True)
