"""The task queue: Huey on SQLite embedded by default, on Redis when MEZAME_QUEUE_URL says so.

The instance is built from settings on first use, never at import time, so
tests and the CLI choose their own backend. Task bodies are thin: they open a
unit of work, call one service, and commit.
"""

from __future__ import annotations

import logging

from huey import Huey, RedisHuey, SqliteHuey, crontab

from mezame.config import Settings, get_settings
from mezame.db import make_engine, session_scope
from mezame.models import utcnow
from mezame.pipeline import run_pipeline

log = logging.getLogger("mezame.queue")
_huey: Huey | None = None


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
        register_tasks(_huey)
    return _huey


def use_huey(huey: Huey) -> Huey:
    """Install a specific Huey (tests, a worker on another backend) with the tasks on it."""
    global _huey
    _huey = huey
    register_tasks(huey)
    return huey


def run_pipeline_job(settings: Settings) -> dict[str, int]:
    """Run the whole pipeline as of now and commit its results."""
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            summary = run_pipeline(session, as_of=utcnow())
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

    return {"pipeline": pipeline, "nightly_pipeline": nightly_pipeline}
