"""`mezame duplicates` and `mezame merge`: the JSON contract, the table, auto merge and undo."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.cli import app
from mezame.config import get_settings
from mezame.db import session_scope
from mezame.models import Company, Contact


@pytest.fixture
def cli_db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MEZAME_DATABASE_URL", str(sqlite_engine.url))
    get_settings.cache_clear()
    with session_scope(sqlite_engine) as s:
        s.add_all(
            [
                Company(
                    import_key="K1",
                    external_id="K0001",
                    name="株式会社山田製作所",
                    phone="03-3211-1111",
                ),
                Company(
                    import_key="K2", external_id="K0002", name="山田製作所(株)", phone="0332111111"
                ),
                Company(import_key="K3", external_id="K0003", name="大和物流株式会社"),
                Company(import_key="K4", external_id="K0004", name="大和物流(株)"),
                Company(import_key="K5", external_id="K0005", name="三共工業株式会社"),
                Company(import_key="K6", external_id="K0006", name="三協工業株式会社"),
            ]
        )
        s.flush()
        s.add_all(
            [
                Contact(import_key="P1", external_id="T1", name="山田 太郎", email="T@x.co.jp"),
                Contact(import_key="P2", external_id="T2", name="山田太郎", email="t@X.co.jp"),
            ]
        )
    yield sqlite_engine
    get_settings.cache_clear()


def test_duplicates_json_lists_clusters_by_external_id(cli_db: Engine) -> None:
    result = CliRunner().invoke(app, ["duplicates", "--json"])
    assert result.exit_code == 0, result.output
    clusters = json.loads(result.stdout)
    assert [c["ids"] for c in clusters] == [["K0001", "K0002"], ["K0003", "K0004"]]
    for cluster in clusters:
        assert set(cluster) == {"ids", "score", "evidence"}
        assert isinstance(cluster["score"], float) and 0.75 <= cluster["score"] <= 1
        assert all(isinstance(words, str) for words in cluster["evidence"])
    assert "電話番号が一致 (same phone number)" in clusters[0]["evidence"]
    contacts = CliRunner().invoke(app, ["duplicates", "--kind", "contacts", "--json"])
    assert [c["ids"] for c in json.loads(contacts.stdout)] == [["T1", "T2"]]


def test_duplicates_table_says_what_blocking_saved(cli_db: Engine) -> None:
    result = CliRunner().invoke(app, ["duplicates"])
    assert result.exit_code == 0, result.output
    assert "K0001" in result.output and "自動統合" in result.output and "要確認" in result.output
    assert "全組合せ 15 のうち" in result.output


def test_merge_auto_then_undo(cli_db: Engine) -> None:
    runner = CliRunner()
    merged = runner.invoke(app, ["merge", "--auto"])
    assert merged.exit_code == 0, merged.output
    assert "K0002" in merged.output and "T2" in merged.output
    with Session(cli_db) as s:
        hidden = s.scalars(select(Company.external_id).where(Company.merged_into_id.is_not(None)))
        assert hidden.all() == ["K0002"]
    after = json.loads(runner.invoke(app, ["duplicates", "--json"]).stdout)
    assert [c["ids"] for c in after] == [["K0003", "K0004"]]

    undone = runner.invoke(app, ["merge", "--undo", "1"])
    assert undone.exit_code == 0, undone.output
    assert "K0002" in undone.output
    with Session(cli_db) as s:
        assert (
            s.scalar(select(Company.merged_into_id).where(Company.external_id == "K0002")) is None
        )
    again = runner.invoke(app, ["merge", "--undo", "1"])
    assert again.exit_code == 2 and "already undone" in again.output


def test_merge_needs_exactly_one_action(cli_db: Engine) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["merge"]).exit_code == 2
    assert runner.invoke(app, ["merge", "--auto", "--undo", "1"]).exit_code == 2
    missing = runner.invoke(app, ["merge", "--undo", "99"])
    assert missing.exit_code == 2 and "merge 99 does not exist" in missing.output
