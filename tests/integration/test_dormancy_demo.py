"""The quality bar on the demo data: who left after the price rise ranks first now it is lower.

The demo plants customers who left because of the price rise (planted.json
`churned_after_price_rise`) and records a price cut since (the offers/changes setting).
Most of them say so somewhere (a cancellation note, a lost renewal, the talk about the rise,
a reply to the notice, what they told the rep who called about the missing order), and
those must all rank in the top decile of the reactivation list. The few who just went quiet
are told from other churners only by when they stopped, so the bar for all of them together
is a share: 90 % in the top decile, where chance would put 10 %.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.cli import app
from mezame.config import get_settings
from mezame.demo.service import load_demo
from mezame.demo.timeline import JST
from mezame.models import Company, DormantCustomer
from mezame.pipeline import run_pipeline

AS_OF = date(2026, 11, 23)


def test_price_churned_customers_rank_in_the_top_decile(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with Session(sqlite_engine) as s:
        load_demo(s, companies=2000, seed=42, as_of=AS_OF, directory=tmp_path / "demo")
        summary = run_pipeline(s, as_of=datetime.combine(AS_OF, time(), JST))
        s.commit()
    assert summary.counts["dormant_former_customer"] > 100
    assert summary.counts["dormant_lost_deal"] > 100
    assert summary.counts["dormant_contact_only"] > 100
    planted = json.loads((tmp_path / "demo" / "planted.json").read_text(encoding="utf-8"))
    price_churned = set(planted["churned_after_price_rise"])
    with Session(sqlite_engine) as s:
        ranked = s.execute(
            select(
                DormantCustomer.rank,
                Company.external_id,
                DormantCustomer.reason,
                DormantCustomer.reason_inferred,
                DormantCustomer.change_kind,
            )
            .join(Company, Company.id == DormantCustomer.company_id)
            .where(DormantCustomer.rank.is_not(None))
        ).all()
        total = s.scalar(
            select(DormantCustomer.rank).order_by(DormantCustomer.rank.desc()).limit(1)
        )
    assert total is not None
    decile, quartile = total // 10, total // 4
    theirs = [r for r in ranked if r.external_id in price_churned]
    assert len(theirs) >= 40
    said_price = [r for r in theirs if r.reason == "price" and not r.reason_inferred]
    assert len(said_price) >= 0.8 * len(theirs), f"{len(said_price)} of {len(theirs)} said price"
    assert [r.external_id for r in said_price if r.rank > decile] == []
    assert all(r.change_kind == "price_cut" for r in said_price)
    in_decile = sum(r.rank <= decile for r in theirs) / len(theirs)
    in_quartile = sum(r.rank <= quartile for r in theirs) / len(theirs)
    assert in_decile >= 0.9, f"{in_decile:.0%} of {len(theirs)} in the top decile"
    assert in_quartile >= 0.9, f"{in_quartile:.0%} in the top quartile"


def test_mezame_demo_prints_the_dormant_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEZAME_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["demo", "--no-serve", "--companies", "60", "--as-of", AS_OF.isoformat()]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    for label in ("休眠: 既存顧客", "休眠: 失注・見送り", "休眠: 接点のみ"):
        assert label in result.output
    # And the list is there to read.
    listed = CliRunner().invoke(app, ["rank", "--json", "--limit", "3"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 3
