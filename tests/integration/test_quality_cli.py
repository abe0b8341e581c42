"""`mezame quality`: Rich tables in Japanese or English, and the same report as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from mezame.cli import app
from mezame.config import get_settings
from mezame.db import session_scope
from mezame.models import Company, Contact
from mezame.quality.report import QualityCheck


@pytest.fixture
def cli_db(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MEZAME_DATABASE_URL", str(sqlite_engine.url))
    get_settings.cache_clear()
    with session_scope(sqlite_engine) as s:
        company = Company(
            import_key="C1",
            external_id="C1",
            name="株式会社アクメ",
            status="customer",
            status_updated_at=date(2024, 4, 1),
            corporate_number="1234567890123",
        )
        s.add(company)
        s.flush()
        s.add_all(
            [
                Contact(import_key="P1", external_id="P1", company_id=company.id, name="山田 太郎"),
                Contact(
                    import_key="P2",
                    external_id="P2",
                    company_id=company.id,
                    name="受付",
                    email="info@acme.example.jp",
                    phone="03-1234-5678",
                    hearing_notes="聞き取り済",
                ),
            ]
        )
    yield sqlite_engine
    get_settings.cache_clear()


def test_json_has_counts_lists_and_the_fix_first_order(cli_db: Engine) -> None:
    result = CliRunner().invoke(
        app, ["quality", "--json", "--as-of", "2026-11-23", "--sample", "1"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    report = body["report"]
    assert set(report) == {
        "as_of",
        "stale_before",
        "totals",
        "checks",
        "faults",
        "affected",
        "affected_share",
        "duplicate_clusters",
        "fix_first",
    }
    assert report["as_of"] == "2026-11-23"
    counts = {c["check"]: c["count"] for c in report["checks"]}
    assert counts == {
        **dict.fromkeys((c.value for c in QualityCheck), 0),
        "status_stale": 1,
        "invalid_corporate_number": 1,
        "contact_no_email": 1,
        "contact_no_phone": 1,
        "contact_no_hearing": 1,
        "role_address": 1,
    }
    assert report["affected"] == {"company": 1, "contact": 2, "deal": 0}
    assert [f["check"] for f in report["fix_first"]][:2] == ["status_stale", "contact_no_email"]
    assert all({"ja", "en"} == set(f["reason"]) for f in report["fix_first"])
    assert {f["fault"] for f in report["faults"]} == {
        "status",
        "names",
        "hearing",
        "contact_details",
        "validity",
    }
    samples = body["samples"]
    assert set(samples) == {c.value for c in QualityCheck}
    (stale,) = samples["status_stale"]["records"]
    assert (stale["external_id"], stale["status_updated_at"]) == ("C1", "2024-04-01")
    assert samples["role_address"]["records"][0]["email"] == "info@acme.example.jp"


def test_tables_in_japanese_then_english(cli_db: Engine) -> None:
    runner = CliRunner()
    ja = runner.invoke(app, ["quality", "--as-of", "2026-11-23"], env={"COLUMNS": "160"})
    assert ja.exit_code == 0, ja.output
    assert "データ品質レポート（2026年11月23日時点）" in ja.output
    assert "まず直すもの" in ja.output and "ステータスが12か月以上未更新の会社" in ja.output
    assert "#1  C1  株式会社アクメ  customer  2024-04-01" in ja.output  # the sample lists
    assert "#1  C1  株式会社アクメ  1234567890123" in ja.output
    assert "受付  株式会社アクメ  info@acme.example.jp" in ja.output
    en = runner.invoke(
        app, ["quality", "--as-of", "2026-11-23", "--lang", "en"], env={"COLUMNS": "160"}
    )
    assert en.exit_code == 0, en.output
    assert "Fix first" in en.output and "Status not updated for 12 months" in en.output
    assert "まず直すもの" not in en.output


def test_a_bad_date_is_refused(cli_db: Engine) -> None:
    result = CliRunner().invoke(app, ["quality", "--as-of", "23/11/2026"])
    assert result.exit_code == 2
