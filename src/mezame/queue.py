"""The task queue: Huey on SQLite embedded by default, on Redis when MEZAME_QUEUE_URL says so.

The instance is built from settings on first use, never at import time, so
tests and the CLI choose their own backend. Task bodies are thin: they open a
unit of work, call one service, and commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from huey import Huey, RedisHuey, SqliteHuey, crontab

from mezame.config import Settings, get_settings
from mezame.db import make_engine, session_scope
from mezame.models import utcnow
from mezame.pipeline import run_pipeline

log = logging.getLogger("mezame.queue")
_huey: Huey | None = None
_tasks: dict[str, Any] = {}  # the task wrappers on _huey: calling one queues it


def build_huey(settings: Settings) -> Huey:
    """A Huey for these settings: `redis://…` scales out, anything else stays embedded."""
    if settings.queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("mezame", url=settings.queue_url)
    path = settings.queue_url.removeprefix("sqlite:///") or str(settings.queue_path())
    return SqliteHuey("mezame", filename=path)


def get_huey() -> Huey:
    """The process-wide queue, built from settings on first use."""
    global _huey
    if _huey is None:
        _huey = build_huey(get_settings())
        _tasks.update(register_tasks(_huey))
    return _huey


def use_huey(huey: Huey) -> Huey:
    """Install a specific Huey (tests, a worker on another backend) with the tasks on it."""
    global _huey
    _huey = huey
    _tasks.clear()
    _tasks.update(register_tasks(huey))
    return huey


def queue_campaign_send(campaign_id: int) -> None:
    """Queue the sender for one campaign (the UI's send and resume buttons)."""
    get_huey()
    _tasks["send_campaign"](campaign_id)


def run_pipeline_job(settings: Settings) -> dict[str, int]:
    """Run the whole pipeline as of now and commit its results."""
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            # The business day is Japan's (settings.timezone): at 02:30 JST it is already today.
            summary = run_pipeline(session, as_of=datetime.now(ZoneInfo(settings.timezone)))
    finally:
        engine.dispose()
    log.info("pipeline done: %s", summary.counts)
    return summary.counts


def register_tasks(huey: Huey) -> dict[str, object]:
    """Attach mezame's tasks to a Huey instance; later stages add theirs here."""

    @huey.task(name="pipeline")
    def pipeline() -> dict[str, int]:
        """The pipeline on demand (after an import, from the UI)."""
        return run_pipeline_job(get_settings())

    # Huey schedules in UTC: 17:30 UTC is 02:30 in Tokyo, after the working day.
    # Periodic tasks keep no result, so the on-demand task above is what callers await.
    @huey.periodic_task(crontab(minute="30", hour="17"), name="nightly_pipeline")
    def nightly_pipeline() -> dict[str, int]:
        return run_pipeline_job(get_settings())

    @huey.task(name="send_campaign")
    def send_campaign(campaign_id: int) -> dict[str, int | str]:
        """Send (or resume) one campaign; the UI's "send" button queues this."""
        return send_campaign_job(get_settings(), campaign_id)

    # Campaigns left `sending` without a live sender (a crashed worker, soft bounces queued
    # again after the campaign finished) are picked up again within ten minutes.
    @huey.periodic_task(crontab(minute="*/10"), name="resume_campaigns")
    def resume_campaigns() -> list[int]:
        return resume_campaigns_job(get_settings())

    # Scheduled campaigns start, recurring ones get their run, sequences their next mail;
    # each campaign with mail to send now gets a sender run of its own on the queue.
    @huey.periodic_task(crontab(minute="*"), name="advance_campaigns")
    def advance_campaigns() -> list[int]:
        to_send = advance_campaigns_job(get_settings())
        for campaign_id in to_send:
            send_campaign(campaign_id)
        return to_send

    return {
        "pipeline": pipeline,
        "nightly_pipeline": nightly_pipeline,
        "send_campaign": send_campaign,
        "resume_campaigns": resume_campaigns,
        "advance_campaigns": advance_campaigns,
    }


def send_campaign_job(settings: Settings, campaign_id: int) -> dict[str, int | str]:
    """Run the sender for one campaign with the configured SMTP server, identity and DKIM."""
    import asyncio
    from dataclasses import asdict

    from mezame.adapters.mail import sender_parts
    from mezame.cadence.rules import CadencePolicy
    from mezame.policy.service import load_policy
    from mezame.sending.service import SendOptions, run_campaign

    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        cadence = load_policy(session, CadencePolicy)
    options = SendOptions(
        max_attempts=settings.smtp_max_attempts,
        retry_base_seconds=settings.smtp_retry_base_seconds,
        wait_for_retries=False,  # a worker thread does not sit on a retry; the next run does
        cadence=cadence,  # the cap again, and quiet hours, weekends and holidays
    )
    try:
        report = asyncio.run(
            run_campaign(
                engine, campaign_id=campaign_id, parts=sender_parts(settings), options=options
            )
        )
    finally:
        engine.dispose()
    log.info("campaign %s: %s", campaign_id, report)
    return asdict(report)


def advance_campaigns_job(settings: Settings) -> list[int]:
    """Start, repeat and continue due campaigns (scheduling.service); returns those to send."""
    from mezame.scheduling.service import advance_campaigns

    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            report = advance_campaigns(session, now=utcnow())
    finally:
        engine.dispose()
    if report.to_send or report.seasonal:
        log.info("campaigns advanced: %s", report)
    return report.to_send


def resume_campaigns_job(settings: Settings) -> list[int]:
    """Send every campaign that is `sending` with due mails and no live sender."""
    from mezame.sending.options import SendOptions
    from mezame.sendlog.service import CampaignBusy, campaigns_to_resume

    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            ids = campaigns_to_resume(session, now=utcnow(), options=SendOptions())
    finally:
        engine.dispose()
    resumed = []
    for campaign_id in ids:
        try:
            send_campaign_job(settings, campaign_id)
            resumed.append(campaign_id)
        except CampaignBusy:
            continue  # another worker took it in the meantime
    return resumed
