"""The task queue runs real jobs: embedded on SQLite, and on Redis for scale-out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from huey import Huey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mezame.config import Settings, get_settings
from mezame.models import Company
from mezame.queue import build_huey, register_tasks
from mezame.worker import start_embedded_consumer
from tests.conftest import REDIS_URL, service_unavailable


@pytest.fixture
def settings(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Settings:
    url = f"sqlite:///{sqlite_engine.url.database}"
    monkeypatch.setenv("MEZAME_DATABASE_URL", url)
    get_settings.cache_clear()
    with Session(sqlite_engine) as s:
        s.add(Company(import_key="ext:C1", external_id="C1", name="株式会社みらい商事"))
        s.commit()
    yield get_settings()
    get_settings.cache_clear()


def _run_nightly_through(huey: Huey) -> dict[str, int]:
    tasks = register_tasks(huey)
    result = tasks["pipeline"]()
    consumer = start_embedded_consumer(huey)
    try:
        return result.get(blocking=True, timeout=30)
    finally:
        consumer.stop(graceful=True)


def test_embedded_sqlite_queue_runs_the_nightly_pipeline(
    settings: Settings, tmp_path: Path
) -> None:
    huey = build_huey(settings.model_copy(update={"queue_url": f"sqlite:///{tmp_path}/q.db"}))
    assert type(huey).__name__ == "SqliteHuey"
    counts = _run_nightly_through(huey)
    assert counts["companies"] == 1


@pytest.mark.redis
def test_redis_queue_runs_the_nightly_pipeline(settings: Settings) -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        service_unavailable("Redis", str(exc))
    huey = build_huey(settings.model_copy(update={"queue_url": REDIS_URL}))
    assert type(huey).__name__ == "RedisHuey"
    huey.flush()
    counts = _run_nightly_through(huey)
    assert counts["companies"] == 1


def test_default_queue_is_embedded_beside_the_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/crm.db", queue_url="")
    huey = build_huey(settings)
    assert huey.storage.filename == str(tmp_path / "crm-queue.db")


def test_nightly_job_is_scheduled_at_0230_tokyo(tmp_path: Path) -> None:
    huey = build_huey(Settings(queue_url=f"sqlite:///{tmp_path}/q.db"))
    periodic = register_tasks(huey)["nightly_pipeline"].task_class()
    assert periodic.validate_datetime(datetime(2026, 11, 23, 17, 30))  # 02:30 JST, in UTC
    assert not periodic.validate_datetime(datetime(2026, 11, 23, 2, 30))
    assert sorted(t.name for t in huey._registry.periodic_tasks) == [
        "advance_campaigns",
        "nightly_pipeline",
        "resume_campaigns",
    ]
