"""Mail commands: campaign create|send|pause|stop|status, send-test, bounces process."""

from __future__ import annotations

import asyncio
import imaplib
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mezame.adapters.mail import link_signer, sender_parts
from mezame.adapters.mailboxes import ImapBounces, mark_maildir_seen, read_maildir
from mezame.bounces.service import IntakeReport, process_message
from mezame.cadence import CadencePolicy
from mezame.campaigns import service as campaigns
from mezame.campaigns.kinds import Recurrence, parse_steps
from mezame.cli.app import EXIT_BAD_INPUT, app, console, engine, err_console, unit_of_work
from mezame.config import Settings, get_settings
from mezame.errors import MezameError, NotFoundError
from mezame.policy.service import load_policy
from mezame.recipients.service import recipient_for_contact
from mezame.scheduling.service import waiting_until
from mezame.sending.service import SendOptions, SendReport, run_campaign, send_test
from mezame.templates.service import get_template, sequence_step, step_content

campaign_app = typer.Typer(help="Email campaigns: create, send, pause, stop, status.")
bounces_app = typer.Typer(help="Bounce and complaint intake.")
app.add_typer(campaign_app, name="campaign")
app.add_typer(bounces_app, name="bounces")


def _read(path: Path | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err_console.print(f"[red]error:[/red] {what} {path}: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


@campaign_app.command("create")
def campaign_create(
    name: Annotated[str, typer.Argument(help="Campaign name, e.g. 2026年11月ニュースレター.")],
    subject: Annotated[str | None, typer.Option(help="Subject template (Jinja2).")] = None,
    template: Annotated[
        int | None, typer.Option(help="Library template id (`mezame template list`) for the mail.")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="HTML template file (UTF-8).")] = None,
    text: Annotated[
        Path | None, typer.Option(help="Text template; derived from HTML if absent.")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="one_off, recurring (runs each month) or sequence (steps).")
    ] = "one_off",
    priority: Annotated[
        int, typer.Option(help="Higher mails a contact first when campaigns compete.")
    ] = 0,
    segment: Annotated[
        int | None, typer.Option(help="Saved segment id: the audience (else every contact).")
    ] = None,
    steps: Annotated[
        Path | None,
        typer.Option(help="YAML file of mails with waits and branches (instead of --subject)."),
    ] = None,
    recurrence: Annotated[
        str | None, typer.Option(help="monthly:DAY@HH:MM (Japan time), for --kind recurring.")
    ] = None,
) -> None:
    """Create a campaign (a draft until sent or scheduled): one mail, or the mails of --steps."""
    sources = [steps is not None, template is not None, subject is not None or html is not None]
    if sum(sources) != 1 or (sources[2] and (subject is None or html is None)):
        err_console.print(
            "[red]error:[/red] give --template ID, or --subject and --html, for one mail; "
            "or --steps FILE"
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        rule = Recurrence.parse(recurrence) if recurrence is not None else None
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    with unit_of_work() as session:
        if steps is not None:
            contents = _steps_from_file(session, steps)
        elif template is not None:
            contents = [step_content(get_template(session, template))]
        else:
            contents = [
                campaigns.StepContent(
                    subject=subject or "",
                    html=_read(html, "HTML template") or "",
                    text=_read(text, "text template"),
                )
            ]
        campaign = campaigns.create_campaign(
            session,
            name=name,
            steps=contents,
            kind=kind,
            priority=priority,
            segment_id=segment,
            recurrence=rule,
        )
    console.print(f"campaign [bold]{campaign.id}[/bold] created ({kind}, draft)")


def _steps_from_file(session: Session, path: Path) -> list[campaigns.StepContent]:
    """The mails of a steps file; html_file and text_file are read next to it."""
    try:
        specs = parse_steps(_read(path, "steps file") or "")
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {path}: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    contents = []
    for spec in specs:
        html_text = None
        if spec.html_file is not None:
            html_text = _read(path.parent / spec.html_file, "HTML template")
        text_part = None
        if spec.text_file is not None:
            text_part = _read(path.parent / spec.text_file, "text template")
        contents.append(sequence_step(session, spec, html=html_text, text=text_part))
    return contents


def _print_report(report: SendReport) -> None:
    console.print(
        f"sent {report.sent:,} · failed {report.failed:,} · skipped {report.skipped:,} · "
        f"retried {report.retried:,} · remaining {report.remaining:,} · status {report.status}"
    )
    unknown = report.unknown + report.recovered_unknown
    if unknown:
        err_console.print(
            f"[yellow]{unknown} mail(s) have an unknown outcome[/yellow] (the sender stopped "
            "mid-conversation); they are not sent again. See `mezame campaign status`."
        )


@campaign_app.command("send")
def campaign_send(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    wait: Annotated[
        bool, typer.Option(help="Wait for retries that are due later (else leave them queued).")
    ] = True,
) -> None:
    """Send (or resume) a campaign. Without an audience yet, it is frozen now from the
    campaign's segment (else every contact): those without consent, on the suppression list
    or held back by the contact policy are skipped, each with its reason in the log."""
    settings = get_settings()
    with unit_of_work() as session:
        counts = campaigns.freeze_first_audience(
            session, campaign_id=campaign_id, as_of=datetime.now(UTC)
        )
        if counts is not None:
            console.print(f"audience: {counts.queued:,} to send, {counts.skipped:,} skipped")
        total = sum(campaigns.campaign_progress(session, campaign_id=campaign_id).counts.values())
        cadence = load_policy(session, CadencePolicy)
    options = SendOptions(
        max_attempts=settings.smtp_max_attempts,
        retry_base_seconds=settings.smtp_retry_base_seconds,
        wait_for_retries=wait,
        cadence=cadence,  # the cap again, and quiet hours, weekends and holidays
    )
    eng = engine()
    try:
        with Progress(
            TextColumn("[bold]sending[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("send", total=total)

            def progress(report: SendReport) -> None:
                bar.update(task, completed=report.sent + report.failed + report.skipped)

            report = asyncio.run(_send_until_signal(eng, campaign_id, settings, options, progress))
    except MezameError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except ValueError as exc:  # settings the law requires, or a template that will not build
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    finally:
        eng.dispose()
    _print_report(report)
    if report.waiting_until is not None:
        local = report.waiting_until.astimezone(ZoneInfo(settings.timezone))
        console.print(
            f"outside the send window: the rest goes out from {local:%Y-%m-%d %H:%M} "
            "(the worker's resume task sends it)"
        )


async def _send_until_signal(
    eng: Engine,
    campaign_id: int,
    settings: Settings,
    options: SendOptions,
    progress: Callable[[SendReport], None],
) -> SendReport:
    """SIGINT/SIGTERM stop the run gracefully: messages on the wire finish, the rest stay queued."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await run_campaign(
        eng,
        campaign_id=campaign_id,
        parts=sender_parts(settings),
        options=options,
        progress=progress,
        stop=stop,
    )


@campaign_app.command("pause")
def campaign_pause(campaign_id: Annotated[int, typer.Argument(help="Campaign id.")]) -> None:
    """Pause: a running sender stops within seconds; `campaign send` resumes."""
    with unit_of_work() as session:
        campaigns.pause_campaign(session, campaign_id=campaign_id)
    console.print(f"campaign {campaign_id} paused")


@campaign_app.command("stop")
def campaign_stop(campaign_id: Annotated[int, typer.Argument(help="Campaign id.")]) -> None:
    """Stop for good: mails not yet sent are cancelled."""
    with unit_of_work() as session:
        campaigns.stop_campaign(session, campaign_id=campaign_id)
    console.print(f"campaign {campaign_id} stopped")


@campaign_app.command("status")
def campaign_status(campaign_id: Annotated[int, typer.Argument(help="Campaign id.")]) -> None:
    """Counts by send status, and every send whose outcome a crash left unknown."""
    with unit_of_work() as session:
        progress = campaigns.campaign_progress(session, campaign_id=campaign_id)
        waiting = waiting_until(session, campaign_id=campaign_id, now=datetime.now(UTC))
    console.print(f"[bold]{progress.name}[/bold] ({progress.status})")
    if waiting is not None and progress.status == "sending":
        local = waiting.astimezone(ZoneInfo(get_settings().timezone))
        console.print(f"  waiting: the next mail goes out from {local:%Y-%m-%d %H:%M}")
    for status, count in sorted(progress.counts.items()):
        console.print(f"  {status:<10} {count:>9,}")
    for unknown in progress.unknown:
        console.print(f"  unknown: send {unknown.send_id} to {unknown.email} ({unknown.detail})")


@app.command("send-test")
def send_test_command(
    to: Annotated[str, typer.Argument(help="Address that receives the test mail.")],
    campaign_id: Annotated[int, typer.Option("--campaign", help="Campaign whose mail to send.")],
    step: Annotated[int, typer.Option(help="Which mail of the campaign (1 = first).")] = 1,
    contact_id: Annotated[
        int | None, typer.Option("--contact", help="Render for this contact's merge fields.")
    ] = None,
) -> None:
    """Send one mail of a campaign to yourself, rendered for a contact, marked [テスト]."""
    settings = get_settings()
    with unit_of_work() as session:
        step_row = campaigns.step_of(session, campaign_id, step)
        try:
            recipient = (
                recipient_for_contact(session, contact_id) if contact_id is not None else None
            )
        except NotFoundError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    try:
        delivery = asyncio.run(
            send_test(
                sender_parts(settings),
                step=step_row,
                campaign_id=campaign_id,
                to=to,
                recipient=recipient,
            )
        )
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if delivery.result.value != "accepted":
        err_console.print(
            f"[red]not sent:[/red] {delivery.result.value} {delivery.code or ''} {delivery.reply}"
        )
        raise typer.Exit(1)
    console.print(f"test mail sent to {to}")


@bounces_app.command("process")
def bounces_process(
    maildir: Annotated[Path | None, typer.Option(help="Maildir holding bounce mails.")] = None,
    imap: Annotated[
        bool, typer.Option(help="Read the IMAP folder of MEZAME_BOUNCE_IMAP_*.")
    ] = False,
) -> None:
    """Read bounces, complaints and mailto unsubscribes; suppress, retry, record events."""
    if (maildir is None) == (not imap):
        err_console.print("[red]error:[/red] give exactly one of --maildir DIR or --imap")
        raise typer.Exit(EXIT_BAD_INPUT)
    settings = get_settings()
    signer = link_signer(settings)
    total = IntakeReport()
    now = datetime.now(UTC)
    if maildir is not None:
        try:
            messages = list(read_maildir(maildir))
        except (ValueError, OSError) as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        with unit_of_work() as session:
            for _key, raw in messages:
                total.add(process_message(session, raw, signer=signer, source="maildir", at=now))
        mark_maildir_seen(maildir, [key for key, _ in messages])
    else:
        try:
            box = ImapBounces(settings)
        except (OSError, imaplib.IMAP4.error, ValueError) as exc:  # ssl errors are OSErrors
            where = f"{settings.bounce_imap_host}:{settings.bounce_imap_port}"
            err_console.print(f"[red]error:[/red] IMAP {where}: {exc}")
            raise typer.Exit(1) from None
        try:
            messages = list(box.unseen())
            with unit_of_work() as session:
                for _uid, raw in messages:
                    total.add(process_message(session, raw, signer=signer, source="imap", at=now))
            box.mark_seen(uid for uid, _ in messages)
        finally:
            box.close()
    console.print(
        f"{total.messages} messages: {total.hard} hard, {total.soft} soft, "
        f"{total.complaints} complaints, {total.unsubscribed} unsubscribes; "
        f"{total.suppressed} addresses suppressed, {total.resent} mails queued again, "
        f"{total.duplicates} already processed, {total.not_bounces} not bounces"
    )
