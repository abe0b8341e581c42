"""`mezame dormancy recompute`, `mezame dormant`, `mezame rank` (CSV for Excel), suggestions."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from mezame.cli import app
from mezame.config import get_settings
from mezame.db import session_scope
from mezame.models import Company, Contact, Deal, Order

AS_OF = "2026-11-23"
EVIL = '=HYPERLINK("http://evil.example/","x")'


@pytest.fixture
def cli_db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MEZAME_DATABASE_URL", str(sqlite_engine.url))
    get_settings.cache_clear()
    with session_scope(sqlite_engine) as s:
        former = Company(import_key="K1", external_id="K1", name="株式会社ひかり製作所")
        evil = Company(import_key="K2", external_id="K2", name=EVIL)
        s.add_all([former, evil])
        s.flush()
        s.add_all(
            [
                Contact(import_key="P1", company_id=former.id, name="山田 花子", email="h@x.jp"),
                Order(
                    import_key="O1",
                    company_id=former.id,
                    ordered_on=date(2025, 2, 1),
                    amount=1_200_000,
                    notes=None,
                ),
                Deal(
                    import_key="D1",
                    company_id=evil.id,
                    name="商談",
                    outcome="lost",
                    lost_reason="競合",
                    amount=800_000,
                    opened_on=date(2026, 1, 10),
                    closed_on=date(2026, 3, 31),
                ),
            ]
        )
    yield sqlite_engine
    get_settings.cache_clear()


def test_recompute_then_list_and_rank(cli_db: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["dormancy", "recompute", "--as-of", AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["dormant.former_customer"] == 1 and counts["dormant.lost_deal"] == 1

    result = runner.invoke(app, ["dormant", "--kind", "former_customer", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["company"], r["trigger"], r["fell_asleep_on"]) for r in rows] == [
        ("株式会社ひかり製作所", "last_order", "2025-02-01")
    ]

    result = runner.invoke(app, ["rank", "--json", "--limit", "1"])
    ranked = json.loads(result.output)
    assert ranked["rank"] == 1 and ranked["factors"]
    assert {"ja", "en", "points", "factor"} <= set(ranked["factors"][0])

    table = runner.invoke(app, ["rank"])
    assert table.exit_code == 0 and "掘り起こしリスト" in table.output


def test_rank_csv_for_excel_neutralises_formulas(cli_db: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["dormancy", "recompute", "--as-of", AS_OF]).exit_code == 0
    out = tmp_path / "rank.csv"
    result = runner.invoke(app, ["rank", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:6] == ["順位", "優先度", "スコア", "種類", "顧客コード", "会社名"]
    names = [row[5] for row in rows[1:]]
    assert "'" + EVIL in names and EVIL not in names
    assert all(row[13] for row in rows[1:])  # 離脱理由

    sjis = tmp_path / "rank-sjis.csv"
    result = runner.invoke(app, ["rank", "--csv", str(sjis), "--encoding", "cp932"])
    assert result.exit_code == 0, result.output
    text = sjis.read_bytes().decode("cp932")
    assert "株式会社ひかり製作所" in text and "競合" in text


def test_suggest_and_bad_options(cli_db: Engine) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["dormancy", "suggest", "--json"])  # computes first, as of today
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output.splitlines()[-1])) == {
        "former_customer",
        "lost_deal",
        "contact_only",
    }
    # Two customers are no evidence: "use this" has nothing to use and says so.
    result = runner.invoke(app, ["dormancy", "suggest", "--use", "former_customer"])
    assert result.exit_code == 2 and "提案値" in result.output
    assert runner.invoke(app, ["rank", "--encoding", "latin-1"]).exit_code == 2
