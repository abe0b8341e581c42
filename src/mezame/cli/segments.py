"""Segment and tag commands: segment list|show|count|create|delete, tag add|remove."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from mezame.cli.app import EXIT_BAD_INPUT, app, console, err_console, unit_of_work
from mezame.config import get_settings
from mezame.segments import service

segment_app = typer.Typer(help="Segments: saved contact filters, counted in SQL.")
tag_app = typer.Typer(help="Contact tags (segments filter by them).")
app.add_typer(segment_app, name="segment")
app.add_typer(tag_app, name="tag")

SegmentId = Annotated[int, typer.Argument(help="Segment id (see `mezame segment list`).")]


def _today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def _read_definition(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        err_console.print(f"[red]error:[/red] {path}: {exc}")
    except json.JSONDecodeError as exc:
        err_console.print(f"[red]error:[/red] {path} line {exc.lineno}: {exc.msg}")
    raise typer.Exit(EXIT_BAD_INPUT)


@segment_app.command("list")
def segment_list() -> None:
    """Every segment with its last count."""
    with unit_of_work() as session:
        segments = service.list_segments(session)
        table = Table(show_edge=False, pad_edge=False)
        for header in ("id", "名前 name", "件数 last count", "数えた日時 counted at"):
            table.add_column(header)
        for s in segments:
            table.add_row(
                str(s.id),
                s.name,
                "—" if s.last_count is None else f"{s.last_count:,}",
                "—" if s.last_counted_at is None else f"{s.last_counted_at:%Y-%m-%d %H:%M} UTC",
            )
    console.print(table)


@segment_app.command("show")
def segment_show(segment_id: SegmentId) -> None:
    """A segment's definition as JSON."""
    with unit_of_work() as session:
        s = service.get_segment(session, segment_id)
        out = {"id": s.id, "name": s.name, "description": s.description, "definition": s.definition}
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


@segment_app.command("count")
def segment_count(
    segment_id: SegmentId,
    user: Annotated[
        int | None, typer.Option(help='The user "me" stands for in the definition.')
    ] = None,
) -> None:
    """Count a segment now (and keep the figure for the list)."""
    with unit_of_work() as session:
        segment = service.get_segment(session, segment_id)
        count = service.refresh_count(
            session, segment, as_of=_today(), at=datetime.now(ZoneInfo("UTC")), user_id=user
        )
    typer.echo(f"{count}")


@segment_app.command("create")
def segment_create(
    name: Annotated[str, typer.Argument(help="Segment name, e.g. 価格で離脱・優先度高.")],
    file: Annotated[Path, typer.Option("--file", help="The definition as JSON (UTF-8).")],
    description: Annotated[str | None, typer.Option(help="What the segment is for.")] = None,
) -> None:
    """Save a segment from a JSON definition file."""
    definition = _read_definition(file)
    with unit_of_work() as session:
        segment = service.create_segment(
            session, name=name, definition=definition, description=description
        )
        segment_id = segment.id
    console.print(f"segment [bold]{segment_id}[/bold] created")


@segment_app.command("delete")
def segment_delete(segment_id: SegmentId) -> None:
    """Delete a segment no other segment and no unfinished campaign uses."""
    with unit_of_work() as session:
        service.delete_segment(session, segment_id)
    console.print(f"segment {segment_id} deleted")


ContactId = Annotated[int, typer.Argument(help="Contact id.")]
TagName = Annotated[str, typer.Argument(help="Tag, e.g. 展示会2026.")]


@tag_app.command("add")
def tag_add(contact_id: ContactId, tag: TagName) -> None:
    """Tag a contact (nothing happens if it has the tag already)."""
    with unit_of_work() as session:
        added = service.add_tag(session, contact_id=contact_id, tag=tag, source="cli")
    console.print("tagged" if added else "already tagged")


@tag_app.command("remove")
def tag_remove(contact_id: ContactId, tag: TagName) -> None:
    """Remove a tag from a contact."""
    with unit_of_work() as session:
        removed = service.remove_tag(session, contact_id=contact_id, tag=tag)
    console.print("removed" if removed else "the contact did not have this tag")
