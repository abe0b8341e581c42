"""`mezame import`: exit codes, printed errors, the rejects file, and rollback on rejection."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.cli import app
from mezame.config import get_settings
from mezame.ingest import service
from mezame.models import Company, ImportRun

BAD = (
    "顧客コード,会社名,従業員数\r\n"
    "C001,㈱良品,10\r\n"  # line 2
    "C002,,5\r\n"  # line 3: name is required
    "C003,株式会社悪例,たくさん\r\n"  # line 4: not an integer
)


@pytest.fixture
def cli_db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MEZAME_DATABASE_URL", str(sqlite_engine.url))
    get_settings.cache_clear()
    yield sqlite_engine
    get_settings.cache_clear()


def companies_and_runs(engine: Engine) -> tuple[list[str], list[str]]:
    with Session(engine) as s:
        names = s.scalars(select(Company.external_id).order_by(Company.external_id)).all()
        runs = s.scalars(select(ImportRun.status).order_by(ImportRun.id)).all()
    return [n or "" for n in names], list(runs)


def test_rejected_file_exits_2_prints_lines_and_writes_nothing(
    cli_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_ROWS", 1)  # line 2 is written before line 3 fails
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD.encode("cp932"))
    result = CliRunner().invoke(app, ["import", "companies", str(path)])
    assert result.exit_code == 2, result.output
    assert "bad.csv:3: field '会社名' (name): 必須項目が空です (value '')" in result.output
    assert "bad.csv:4: field '従業員数' (employee_count)" in result.output
    assert companies_and_runs(cli_db) == ([], ["failed"])


def test_skip_invalid_writes_good_rows_and_a_rejects_file(cli_db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD.encode("cp932"))
    rejects = tmp_path / "rejects.csv"
    args = ["import", "companies", str(path), "--skip-invalid", "--rejects", str(rejects)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "inserted 1" in result.output and "rejected 2" in result.output
    assert companies_and_runs(cli_db) == (["C001"], ["partial"])
    raw = rejects.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "顧客コード,会社名,従業員数,行,エラー"
    assert lines[1].startswith("C002,,5,3,field '会社名' (name)")


def test_dry_run_shows_the_mapping_and_writes_nothing(cli_db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes("顧客コード,会社名,社長の趣味\r\nC001,㈱髙橋,釣り\r\n".encode("cp932"))
    result = CliRunner().invoke(app, ["import", "companies", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "external_id" in result.output and "取り込まない" in result.output
    assert "would be inserted 1" in result.output
    with Session(cli_db) as s:
        assert s.scalar(select(func.count()).select_from(Company)) == 0
