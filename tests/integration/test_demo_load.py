"""The demo loads through the real importer on every backend, idempotently, and from the CLI."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.cli import app
from mezame.config import get_settings
from mezame.db import make_engine
from mezame.demo.service import DEMO_PASSWORD, DEMO_SEGMENTS, load_demo
from mezame.models import (
    Campaign,
    CampaignSend,
    CampaignStep,
    Company,
    Contact,
    Deal,
    EngagementEvent,
    Order,
    SalesActivity,
    Segment,
    SurveyAnswer,
    User,
)

TABLES = {
    "companies": Company.id,
    "contacts": Contact.id,
    "deals": Deal.id,
    "orders": Order.id,
    "activities": SalesActivity.id,
    "events": EngagementEvent.id,
    "surveys": SurveyAnswer.id,
}


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {name: s.scalar(select(func.count(col))) or 0 for name, col in TABLES.items()}


def _load(engine: Engine, directory: Path) -> dict[str, int]:
    with Session(engine) as s:
        reports = load_demo(s, companies=60, seed=7, as_of=date(2026, 11, 23), directory=directory)
        s.commit()
    assert all(r.rejected == 0 for r in reports.values())
    return {kind: r.rows_total for kind, r in reports.items()}


def test_demo_loads_every_kind_and_loading_again_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    rows = _load(engine, tmp_path / "demo")
    first = _counts(engine)
    for kind, count in first.items():
        assert count > 0, kind
        assert count == rows[kind], kind  # every row of every file arrived
    steps: list[str] = []
    with Session(engine) as s:
        load_demo(
            s,
            companies=60,
            seed=7,
            as_of=date(2026, 11, 23),
            directory=tmp_path / "again",
            progress=lambda step, _done, _total: steps.append(step),
        )
        s.commit()
    assert _counts(engine) == first
    assert steps[0] == "generate" and steps[-1] == "surveys"
    with Session(engine) as s:
        owners = s.scalars(select(User.email).where(User.role == "sales")).all()
        assert len(owners) == 3
        assert s.scalar(select(func.count(Company.id)).where(Company.owner_id.is_not(None)))


def test_mezame_demo_without_serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEZAME_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["demo", "--no-serve", "--companies", "60"])
        assert result.exit_code == 0, result.output
        assert "取り込み" in result.output and "集計" in result.output
        assert "marketing@demo.mezame.jp" in result.output and DEMO_PASSWORD in result.output
        assert (tmp_path / "demo-data" / "companies.csv").exists()
        assert re.search(r"集計（\d{4}年\d{1,2}月\d{1,2}日時点）", result.output)
        again = runner.invoke(app, ["demo", "--no-serve", "--companies", "60"])
        assert again.exit_code == 0, again.output
        # Segments and draft campaigns to look at, made once; nothing scheduled or sent.
        engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
        with Session(engine) as s:
            assert s.scalar(select(func.count(Segment.id))) == len(DEMO_SEGMENTS)
            campaigns = s.scalars(select(Campaign).order_by(Campaign.id)).all()
            assert [(c.kind, c.status, c.scheduled_at) for c in campaigns] == [
                ("one_off", "draft", None),
                ("sequence", "draft", None),
                ("one_off", "draft", None),
            ]
            assert all(c.segment_id is not None for c in campaigns)
            steps = s.scalars(
                select(CampaignStep.wait_days)
                .where(CampaignStep.campaign_id == campaigns[1].id)
                .order_by(CampaignStep.position)
            ).all()
            assert steps == [0, 2, 7]
            assert s.scalar(select(func.count(CampaignSend.id))) == 0
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_mezame_demo_data_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "files"
    result = CliRunner().invoke(
        app, ["demo-data", "--companies", "40", "--seed", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "activities.csv",
            "companies.csv",
            "contacts.xlsx",
            "deals.csv",
            "events.csv",
            "orders.csv",
            "planted.json",
            "surveys.csv",
        ]
    )
    assert "companies.csv" in result.output and "40" in result.output
