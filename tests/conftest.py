"""Shared fixtures: a migrated database per backend, clean for every test.

SQLite always runs. PostgreSQL runs when it answers at MEZAME_TEST_POSTGRES_URL
(default: the local server, database `test`); in CI (CI=true) a missing server
is a failure, elsewhere the PostgreSQL half of the suite skips with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from mezame.db import make_engine, migrate
from mezame.models import Base

POSTGRES_URL = os.environ.get(
    "MEZAME_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MEZAME_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def service_unavailable(what: str, reason: str) -> None:
    """Fail in CI, skip elsewhere: CI must exercise every backend."""
    message = f"{what} not reachable ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; CI requires it — .ci/run should have started it")
    pytest.skip(f"{message}; start it or set MEZAME_TEST_POSTGRES_URL / MEZAME_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (cheaper than migrating again)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """The PostgreSQL test database, rebuilt from the migrations once per run."""
    engine = make_engine(POSTGRES_URL, pool_pre_ping=True)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # any connection failure means "not available"
        engine.dispose()
        service_unavailable("PostgreSQL", f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    migrate(engine)
    yield engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database on each backend; code under test may commit freely."""
    if request.param == "sqlite":
        path = tmp_path / "mezame.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("postgres_engine")
        _truncate_all(eng)
        yield eng


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """SQLite only, for tests whose subject is not the backend (API, browser, CLI)."""
    path = tmp_path / "mezame.db"
    shutil.copyfile(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s
