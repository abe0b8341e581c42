"""Mail commands: campaign create|send|pause|stop|status, send-test, bounces process."""

from __future__ import annotations

import asyncio
import imaplib
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, select

from mezame.adapters.mail import link_signer, sender_parts
from mezame.adapters.mailboxes import ImapBounces, mark_maildir_seen, read_maildir
from mezame.bounces.service import IntakeReport, process_message
from mezame.campaigns import service as campaigns
from mezame.cli.app import EXIT_BAD_INPUT, app, console, engine, err_console, unit_of_work
from mezame.config import Settings, get_settings
from mezame.errors import MezameError
from mezame.models import CampaignSend, Contact
from mezame.sending.service import SendOptions, SendReport, run_campaign, send_test

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
    subject: Annotated[str, typer.Option(help="Subject template (Jinja2).")],
    html: Annotated[Path, typer.Option(help="HTML template file (UTF-8).")],
    text: Annotated[
        Path | None, typer.Option(help="Text template; derived from HTML if absent.")
    ] = None,
) -> None:
    """Create a one-off campaign with one mail (a draft until sent)."""
    with unit_of_work() as session:
        campaign = campaigns.create_campaign(
            session,
            name=name,
            steps=[
                campaigns.StepContent(
                    subject=subject,
                    html=_read(html, "HTML template") or "",
                    text=_read(text, "text template"),
                )
            ],
        )
    console.print(f"campaign [bold]{campaign.id}[/bold] created (draft)")


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
    """Send (or resume) a campaign. Without an audience yet, every contact is considered:
    those without consent or on the suppression list are skipped and logged."""
    settings = get_settings()
    with unit_of_work() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        has_rows = session.scalar(
            select(CampaignSend.id).where(CampaignSend.campaign_id == campaign_id).limit(1)
        )
        if has_rows is None:
            counts = campaigns.freeze_audience(
                session, campaign_id=campaign.id, as_of=datetime.now(UTC)
            )
            console.print(f"audience: {counts.queued:,} to send, {counts.skipped:,} skipped")
        total = sum(campaigns.campaign_progress(session, campaign_id=campaign_id).counts.values())
    options = SendOptions(
        max_attempts=settings.smtp_max_attempts,
        retry_base_seconds=settings.smtp_retry_base_seconds,
        wait_for_retries=wait,
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
    console.print(f"[bold]{progress.name}[/bold] ({progress.status})")
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
        contact = session.get(Contact, contact_id) if contact_id is not None else None
        if contact_id is not None and contact is None:
            err_console.print(f"[red]error:[/red] contact {contact_id} does not exist")
            raise typer.Exit(EXIT_BAD_INPUT)
        company_name = contact.company.name if contact is not None and contact.company else None
    try:
        delivery = asyncio.run(
            send_test(
                sender_parts(settings),
                step=step_row,
                campaign_id=campaign_id,
                to=to,
                contact=contact,
                company_name=company_name,
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
