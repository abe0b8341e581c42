"""Cadence commands (`mezame cadence show|set|contact`) and `mezame campaign schedule`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from sqlalchemy import select

from mezame.cadence import Cadence, CadencePolicy, japanese_date
from mezame.cadence.service import set_cadence
from mezame.campaigns.kinds import Recurrence
from mezame.cli.app import EXIT_BAD_INPUT, app, console, err_console, unit_of_work
from mezame.cli.mail import campaign_app
from mezame.config import get_settings
from mezame.models import Contact
from mezame.policy.service import load_policy, update_policy
from mezame.scheduling.service import schedule_campaign

cadence_app = typer.Typer(help="The contact policy: intervals, the cap, quiet hours, holidays.")
app.add_typer(cadence_app, name="cadence")


def parse_local_time(text: str, *, zone: str) -> datetime:
    """2026-12-01T09:00 (Japan time unless the text names an offset) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r}: expected a date and time like 2026-12-01T09:00") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(zone))


@cadence_app.command("show")
def cadence_show() -> None:
    """The saved policy (or the defaults) and when mail may next go out."""
    with unit_of_work() as session:
        policy = load_policy(session, CadencePolicy)
    for field, value in policy.model_dump(mode="json").items():
        console.print(f"  {field:<24} {value}")
    now = datetime.now(UTC)
    zone = policy.zone
    if policy.is_send_time(now):
        console.print("mail may go out now")
    else:
        at = policy.next_send_time(now).astimezone(zone)
        console.print(f"outside the send window: next {japanese_date(at, zone)} {at:%H:%M}")


@cadence_app.command("set")
def cadence_set(
    values: Annotated[
        list[str],
        typer.Argument(help="FIELD=VALUE pairs, e.g. cap_mails=3 quiet_from=21:00 (none: clear)."),
    ],
) -> None:
    """Change fields of the contact policy; the rest keeps its current value."""
    changes: dict[str, object] = {}
    for pair in values:
        field, sep, value = pair.partition("=")
        if not sep or not field:
            err_console.print(f"[red]error:[/red] {pair!r}: expected FIELD=VALUE")
            raise typer.Exit(EXIT_BAD_INPUT)
        if field not in CadencePolicy.model_fields or field == "policy_key":
            known = ", ".join(CadencePolicy.model_fields)
            err_console.print(f"[red]error:[/red] {field}: unknown field (known: {known})")
            raise typer.Exit(EXIT_BAD_INPUT)
        changes[field] = None if value.lower() in ("none", "") else value
    with unit_of_work() as session:
        try:
            update_policy(session, CadencePolicy, changes, user_id=None)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"]) or "policy"
                err_console.print(f"[red]error:[/red] {where}: {error['msg']}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    console.print("cadence policy saved")


@cadence_app.command("contact")
def cadence_contact(
    contact_ids: Annotated[list[int], typer.Argument(help="Contact ids.")],
    seasonal: Annotated[
        bool,
        typer.Option("--seasonal/--monthly", help="Unresponsive (seasonal) or back to monthly."),
    ] = True,
) -> None:
    """Mark contacts unresponsive (mailed about once a quarter) or back to monthly."""
    cadence = Cadence.SEASONAL if seasonal else Cadence.MONTHLY
    with unit_of_work() as session:
        found = set(session.scalars(select(Contact.id).where(Contact.id.in_(contact_ids))))
        missing = sorted(set(contact_ids) - found)
        if missing:
            err_console.print(f"[red]error:[/red] no such contact: {missing}")
            raise typer.Exit(EXIT_BAD_INPUT)
        changed = set_cadence(session, contacts=contact_ids, cadence=cadence, at=datetime.now(UTC))
    console.print(f"{changed} contact(s) now {cadence.value}")


@campaign_app.command("schedule")
def campaign_schedule(
    campaign_id: Annotated[int, typer.Argument(help="Campaign id.")],
    at: Annotated[
        str, typer.Option(help="Start, e.g. 2026-12-01T09:00 (Japan time unless an offset).")
    ],
    recurrence: Annotated[
        str | None,
        typer.Option(help="For a recurring campaign: monthly:DAY@HH:MM, e.g. monthly:1@09:00."),
    ] = None,
) -> None:
    """Start a draft campaign at a set time (a recurring one: its runs from then on)."""
    settings = get_settings()
    try:
        start = parse_local_time(at, zone=settings.timezone)
        rule = Recurrence.parse(recurrence) if recurrence is not None else None
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    with unit_of_work() as session:
        campaign = schedule_campaign(
            session, campaign_id=campaign_id, at=start, now=datetime.now(UTC), recurrence=rule
        )
        kind = campaign.kind
    local = start.astimezone(ZoneInfo(settings.timezone))
    when = f"{japanese_date(local, ZoneInfo(settings.timezone))} {local:%H:%M}"
    console.print(f"campaign {campaign_id} ({kind}) scheduled from {when}")
