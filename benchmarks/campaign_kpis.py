"""Email KPIs of one campaign of 1,000,000 sends: `campaign_kpis` (totals, per step, per day,
conversions within the window) and `kpi_overview`, on SQLite or PostgreSQL.

The data: 1,000,000 contacts, one campaign with two mails (800,000 + 200,000 sends over
three days), 40 % opened (a quarter of those by a machine only), 5 % clicked, 1 %
bounced, 0.3 % unsubscribed; 20,000 inquiries, some inside the 14-day window, some
after it; one mail_opened / mail_clicked event per opened / clicked send.

The reference, in the same run on the same data: unique opens and clickers alone read
the way the per-send columns avoid, from the engagement events by the send id in their
JSON payload. Both are the best of three runs.

    .venv/bin/python benchmarks/campaign_kpis.py [--sends 1000000] [--database-url URL]

Without --database-url a temporary SQLite file is used; a PostgreSQL URL is emptied first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from mezame.campaigns.service import StepContent, create_campaign
from mezame.campaigns.stats.service import campaign_kpis, kpi_overview, set_conversion_goal
from mezame.db import make_engine, migrate


def _series(n: int) -> str:
    return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "


def _moment(pg: bool, days: str, hours: str = "0") -> str:
    """A UTC moment `days` days and `hours` hours after 2026-11-02 01:00 (10:00 in Tokyo)."""
    if pg:
        return (
            f"(timestamptz '2026-11-02 01:00:00+00' + ({days}) * interval '1 day'"
            f" + ({hours}) * interval '1 hour')"
        )
    return (
        f"strftime('%Y-%m-%d %H:%M:%f', '2026-11-02 01:00:00', printf('%+d days', {days}),"
        f" printf('%+d hours', {hours})) || '000'"
    )


def seed(engine: Engine, sends: int) -> int:
    pg = engine.dialect.name == "postgresql"
    with Session(engine) as session:
        campaign = create_campaign(
            session,
            name="100万通ニュースレター",
            steps=[
                StepContent(subject="{{ contact.name }}様 11月号", html="<p>本文</p>"),
                StepContent(subject="{{ contact.name }}様 資料のご案内", html="<p>本文</p>"),
            ],
            kind="sequence",
        )
        session.flush()
        campaign_id = campaign.id
        steps = (
            session.execute(
                text("SELECT id FROM campaign_steps WHERE campaign_id = :c ORDER BY position"),
                {"c": campaign_id},
            )
            .scalars()
            .all()
        )
        session.commit()
    key = "decode(md5('{k}' || i::text), 'hex')" if pg else "randomblob(16)"
    payload = (
        "json_build_object('campaign_id', {c}, 'send_id', i)"
        if pg
        else "json_object('campaign_id', {c}, 'send_id', i)"
    )
    statements = [
        _series(sends) + "INSERT INTO contacts (import_key, name, email, lead_score) "
        "SELECT 'P' || i, '山田 太郎' || i, 'user' || i || '@example.jp', 0 FROM s",
        # Send i goes to contact i; ids of both start at 1 in a fresh database.
        _series(sends)
        + "INSERT INTO campaign_sends (campaign_id, step_id, contact_id, status, email, attempts,"
        " queued_at, sent_at, opened_at, human_opened_at, opens, machine_opens, clicked_at,"
        " clicks, bounced_at, unsubscribed_at) "
        f"SELECT {campaign_id}, CASE WHEN i % 5 = 0 THEN {steps[1]} ELSE {steps[0]} END, i,"
        " 'sent', 'user' || i || '@example.jp', 1,"
        f" {_moment(pg, '0')}, {_moment(pg, 'i % 3')},"
        f" CASE WHEN i % 10 < 4 THEN {_moment(pg, 'i % 3', '2')} END,"
        f" CASE WHEN i % 10 < 3 THEN {_moment(pg, 'i % 3', '5')} END,"
        " CASE WHEN i % 10 < 4 THEN 1 + i % 2 ELSE 0 END,"
        " CASE WHEN i % 10 = 3 THEN 1 ELSE 0 END,"
        f" CASE WHEN i % 20 = 0 THEN {_moment(pg, 'i % 3', '6')} END,"
        " CASE WHEN i % 20 = 0 THEN 1 ELSE 0 END,"
        f" CASE WHEN i % 100 = 7 THEN {_moment(pg, 'i % 3', '1')} END,"
        f" CASE WHEN i % 300 = 1 THEN {_moment(pg, 'i % 3', '7')} END"
        " FROM s",
        _series(sends)
        + "INSERT INTO engagement_events (dedupe_key, type, occurred_at, contact_id, payload) "
        f"SELECT {key.format(k='o')}, 'mail_opened', {_moment(pg, 'i % 3', '2')}, i,"
        f" {payload.format(c=campaign_id)} FROM s WHERE i % 10 < 4",
        _series(sends)
        + "INSERT INTO engagement_events (dedupe_key, type, occurred_at, contact_id, payload) "
        f"SELECT {key.format(k='c')}, 'mail_clicked', {_moment(pg, 'i % 3', '6')}, i,"
        f" {payload.format(c=campaign_id)} FROM s WHERE i % 20 = 0",
        # Inquiries 0–39 days after the mail: about a third fall in the 14-day window.
        _series(sends)
        + "INSERT INTO engagement_events (dedupe_key, type, occurred_at, contact_id) "
        f"SELECT {key.format(k='q')}, 'inquiry', {_moment(pg, 'i % 3 + i % 40', '3')}, i"
        " FROM s WHERE i % 50 = 0",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    with Session(engine) as session:
        set_conversion_goal(session, campaign_id=campaign_id, goal="inquiry", days=14)
        session.commit()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return campaign_id


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def from_events(engine: Engine, campaign_id: int) -> tuple[int, int]:
    """Unique openers and clickers read from the events' JSON payloads (the reference)."""
    pg = engine.dialect.name == "postgresql"
    send = "(payload->>'send_id')" if pg else "json_extract(payload, '$.send_id')"
    campaign = "(payload->>'campaign_id')" if pg else "json_extract(payload, '$.campaign_id')"
    value = f"'{campaign_id}'" if pg else str(campaign_id)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                f"SELECT count(DISTINCT CASE WHEN type = 'mail_opened' THEN {send} END),"
                f" count(DISTINCT CASE WHEN type = 'mail_clicked' THEN {send} END)"
                " FROM engagement_events"
                f" WHERE type IN ('mail_opened', 'mail_clicked') AND {campaign} = {value}"
            )
        ).one()
    return int(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'kpis.db'}"
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        migrate(engine)
        start = time.perf_counter()
        campaign_id = seed(engine, args.sends)
        print(
            f"seeded {args.sends:,} sends in {time.perf_counter() - start:.1f} s"
            f" ({engine.dialect.name})"
        )

        def stats() -> Any:
            with Session(engine) as session:
                return campaign_kpis(session, campaign_id)

        def overview() -> Any:
            with Session(engine) as session:
                return kpi_overview(session)

        kpis_s, found = best_of(3, stats)
        overview_s, _ = best_of(3, overview)
        events_s, (openers, clickers) = best_of(3, lambda: from_events(engine, campaign_id))
        engine.dispose()
    c = found.total.counts
    assert c.sent == args.sends and c.opened == openers and c.clicked == clickers
    print(
        f"campaign_kpis  {kpis_s:7.3f} s  (totals, 2 steps, {len(found.daily)} days, conversions)"
    )
    print(f"kpi_overview   {overview_s:7.3f} s")
    print(f"from events    {events_s:7.3f} s  (unique opens and clicks only, JSON payloads)")
    print(
        f"sent {c.sent:,} bounced {c.bounced:,} opened {c.opened:,} human {c.human_opened:,} "
        f"clicked {c.clicked:,} converted {c.converted:,}"
    )
    print(
        json.dumps(
            {
                "name": "campaign_kpis",
                "figure": round(kpis_s, 3),
                "unit": f"s (campaign_kpis of one campaign of {args.sends:,} sends)",
                "reference": round(events_s, 3),
                "ratio": round(kpis_s / events_s, 3),
                "overview_seconds": round(overview_s, 3),
                "backend": engine.dialect.name,
                "sends": args.sends,
                "converted": c.converted,
            }
        )
    )


if __name__ == "__main__":
    main()
