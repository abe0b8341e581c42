"""`mezame import KIND FILE`: CSV or .xlsx into mezame, all or nothing unless told otherwise."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine

from mezame.adapters.importers.tabular import write_rejects
from mezame.cli.app import EXIT_BAD_INPUT, app, console, engine, err_console
from mezame.db import session_scope
from mezame.errors import MezameError
from mezame.ingest.fields import FIELDS, ImportKind
from mezame.ingest.records import describe_row_error, format_row_error
from mezame.ingest.service import (
    ImportRejected,
    ImportReport,
    import_file,
    read_mapping,
    record_failed_run,
)

PRINTED_ERRORS = 30


class Encoding(StrEnum):
    AUTO = "auto"
    UTF8 = "utf-8"
    CP932 = "cp932"


@app.command("import")
def import_command(
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or .xlsx file.")],
    mapping: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="YAML mapping {列名: 項目名}."),
    ] = None,
    encoding: Annotated[Encoding, typer.Option(help="CSV encoding.")] = Encoding.AUTO,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and preview; write nothing.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Write the good rows; reject only the bad ones.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Rejected rows CSV (default with --skip-invalid: FILE-rejects.csv)."),
    ] = None,
) -> None:
    """Import companies, contacts, deals, orders, activities, events or surveys from CSV/.xlsx."""
    eng = engine()
    try:
        columns = read_mapping(mapping.read_text(encoding="utf-8"), kind=kind) if mapping else None
        with (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            ) as bar,
            session_scope(eng) as session,
        ):
            task = bar.add_task(f"{file.name} を読み込み中", total=None)
            report = import_file(
                session,
                kind=kind,
                path=file,
                mapping=columns,
                encoding=encoding.value,
                skip_invalid=skip_invalid,
                dry_run=dry_run,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except ImportRejected as rejected:
        if dry_run:
            _print_mapping(rejected.report)
            _print_preview(rejected.report)
        else:
            _record_failure(eng, kind, file, str(rejected), rejected.report)
        _print_errors(rejected.report)
        if rejects is not None:
            _write_rejects(rejected.report, rejects)
        err_console.print(f"[red]rejected:[/red] {rejected}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except MezameError as exc:
        if not dry_run:
            _record_failure(eng, kind, file, str(exc), None)
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    finally:
        eng.dispose()
    if dry_run:
        _print_mapping(report)
        _print_preview(report)
    _print_errors(report)
    if report.rejected_rows:
        _write_rejects(report, rejects or Path(f"{file.stem}-rejects.csv"))
    _print_summary(report)


def _record_failure(
    eng: Engine, kind: ImportKind, file: Path, problem: str, report: ImportReport | None
) -> None:
    """Record the failed run in its own transaction, after the import's was rolled back."""
    with session_scope(eng) as session:
        record_failed_run(session, kind=kind, path=file, problem=problem, report=report)


def _print_errors(report: ImportReport) -> None:
    errors = report.errors
    for error in errors[:PRINTED_ERRORS]:
        err_console.print(
            format_row_error(report.file, error), markup=False, highlight=False, soft_wrap=True
        )
    more = len(errors) - PRINTED_ERRORS + (report.rejected - len(report.rejected_rows))
    if more > 0:
        err_console.print(f"… and {more} more errors ({report.rejected} rows rejected)")


def _write_rejects(report: ImportReport, path: Path) -> None:
    """The rejected rows as CSV: their original cells, line and reasons."""
    write_rejects(
        path,
        report.headers,
        (
            (r.line, r.cells, "; ".join(describe_row_error(e) for e in r.errors))
            for r in report.rejected_rows
        ),
    )
    err_console.print(f"rejected rows written to {path}")


def _print_mapping(report: ImportReport) -> None:
    specs = {spec.name: spec for spec in FIELDS[report.kind]}
    table = Table(title=f"列の対応 ({report.file}, {report.encoding or report.format})")
    table.add_column("列 (ファイル)")
    table.add_column("項目")
    table.add_column("型")
    for header in report.headers:
        name = report.mapping.get(header)
        if name is None:
            table.add_row(header, "[dim]— 取り込まない[/dim]", "")
        else:
            spec = specs[name]
            table.add_row(header, name + (" *" if spec.required else ""), spec.type.value)
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


def _print_preview(report: ImportReport) -> None:
    if not report.preview:
        return
    names = list(report.mapping.values())
    table = Table(title=f"最初の {len(report.preview)} 行")
    table.add_column("行")
    for name in names:
        table.add_column(name)
    for row in report.preview:
        cells = ["" if row.values.get(n) is None else str(row.values[n]) for n in names]
        table.add_row(str(row.line), *cells)
    console.print(table)


def _print_summary(report: ImportReport) -> None:
    verb = "would be " if report.dry_run else ""
    console.print(
        f"[bold]{report.kind.value}[/bold] {report.file}: {report.rows_total} rows — "
        f"{verb}inserted {report.inserted}, {verb}updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {report.rejected}"
        + (f", companies created {report.companies_created}" if report.companies_created else "")
        + (f", consents {report.consents_created}" if report.consents_created else "")
        + (f", duplicate keys {report.duplicates} (last row wins)" if report.duplicates else "")
    )
