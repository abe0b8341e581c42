"""Template commands: template list|show|preview|install-builtin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from mezame.adapters.mail import link_signer, sender_identity
from mezame.cli.app import EXIT_BAD_INPUT, app, console, err_console, unit_of_work
from mezame.config import get_settings
from mezame.mail.render import TemplateProblem
from mezame.templates import service as templates

template_app = typer.Typer(help="Mail templates: list, show, preview, install the built-ins.")
app.add_typer(template_app, name="template")


@template_app.command("list")
def template_list() -> None:
    """Every template: built-ins first, then the team's."""
    with unit_of_work() as session:
        rows = templates.list_templates(session)
        table = Table()
        for column in ("ID", "名前", "種類", "組み込み", "必須"):
            table.add_column(column)
        for t in rows:
            table.add_row(
                str(t.id),
                escape(t.name),
                t.message_type,
                "✓" if t.builtin else "",
                t.requires or "",
            )
    console.print(table)


@template_app.command("show")
def template_show(template_id: Annotated[int, typer.Argument(help="Template id.")]) -> None:
    """A template's subject, HTML and text as stored."""
    with unit_of_work() as session:
        t = templates.get_template(session, template_id)
        console.print(f"[bold]{escape(t.name)}[/bold] ({t.message_type})")
        console.print(f"件名: {escape(t.subject)}")
        console.print("--- HTML ---", markup=False)
        console.print(t.html_body, markup=False, highlight=False)
        if t.text_body:
            console.print("--- text ---", markup=False)
            console.print(t.text_body, markup=False, highlight=False)


@template_app.command("preview")
def template_preview(
    template_id: Annotated[int, typer.Argument(help="Template id.")],
    contact_id: Annotated[
        int | None, typer.Option("--contact", help="Render for this contact (default: a sample).")
    ] = None,
    html: Annotated[bool, typer.Option(help="Print the HTML instead of the text part.")] = False,
) -> None:
    """Render a template for a contact: subject and text part (or HTML), footer included."""
    settings = get_settings()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    with unit_of_work() as session:
        template = templates.get_template(session, template_id)
        try:
            shown = templates.preview(
                session,
                template,
                contact_id,
                identity=sender_identity(settings),
                unsubscribe_url=link_signer(settings).unsubscribe_url(0),
                today=today,
            )
        except TemplateProblem as exc:
            err_console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    console.print(f"件名: {shown.subject}", markup=False)
    console.print(shown.html if html else shown.text, markup=False, highlight=False)
    if shown.skipped_because:
        err_console.print(
            f"[yellow]this contact would be skipped:[/yellow] {escape(shown.skipped_because)}"
        )


@template_app.command("install-builtin")
def template_install_builtin() -> None:
    """Add or refresh the built-in Japanese templates (never touches the team's own)."""
    with unit_of_work() as session:
        report = templates.install_builtin_templates(session)
    console.print(
        f"built-in templates: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    )
