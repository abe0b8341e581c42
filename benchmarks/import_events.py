"""Import 1,000,000 engagement events from CSV into a fresh SQLite database, through the service.

Target: well under 2 minutes on SQLite on a 2-core machine. The ceiling, in the
same run, is a bare sqlite3 executemany of the same rows into the same table
(same indexes, same pragmas): no CSV, no validation, no SQLAlchemy.

    .venv/bin/python benchmarks/import_events.py [--rows N] [--contacts N] [--seed S]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from mezame.db import make_engine, migrate, session_scope
from mezame.ingest.fields import ImportKind
from mezame.ingest.service import import_file

# (type as a Japanese MA tool exports it, canonical type, weight)
EVENT_TYPES = [
    ("配信", "mail_sent", 40),
    ("開封", "mail_opened", 22),
    ("クリック", "mail_clicked", 8),
    ("サイト訪問", "site_visit", 18),
    ("資料ダウンロード", "document_download", 5),
    ("ウェビナー申込", "webinar_registered", 3),
    ("ウェビナー参加", "webinar_attended", 2),
    ("お問い合わせ", "inquiry", 1),
    ("配信停止", "mail_unsubscribed", 1),
]
CAMPAIGNS = [f"{y}年{m}月 定期メルマガ" for y in (2025, 2026) for m in range(1, 13)]
PAGES = ["/", "/pricing", "/product/overview", "/case/manufacturing", "/blog/dx-2026", "/contact"]
DOCUMENTS = ["製品カタログ2026", "導入事例集", "料金表", "ホワイトペーパー: 休眠顧客の掘り起こし"]
WEBINARS = ["営業DXセミナー", "はじめてのMA活用", "製造業のデジタル販促"]
JST_OFFSET = timedelta(hours=9)


def contacts_csv(path: Path, count: int) -> list[str]:
    """Write a contacts file (the events' contacts) and return the emails."""
    emails = [f"user{i:06d}@example{i % 997:03d}.co.jp" for i in range(count)]
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["担当者コード", "担当者名", "メールアドレス", "会社名"])
        for i, email in enumerate(emails):
            writer.writerow([f"P{i:06d}", f"担当者{i}", email, f"株式会社サンプル{i % 5000:04d}"])
    return emails


class Event(NamedTuple):
    email: str
    label: str  # the type as the MA tool exported it
    type: str  # the canonical type
    at: str  # Japan time, as exported: 2026/11/23 10:00:00
    campaign: str
    url: str
    document: str
    webinar: str


def events(rows: int, emails: list[str], seed: int) -> Iterator[Event]:
    """Seeded events over two years: mostly mail, some site visits, a few downloads."""
    rng = random.Random(seed)
    labels, types, weights = zip(*EVENT_TYPES, strict=True)
    start = datetime(2024, 12, 1, 9, 0)
    span = 2 * 365 * 86_400
    for _ in range(rows):
        index = rng.choices(range(len(labels)), weights=weights)[0]
        kind = types[index]
        yield Event(
            email=rng.choice(emails),
            label=labels[index],
            type=kind,
            at=(start + timedelta(seconds=rng.randrange(span))).strftime("%Y/%m/%d %H:%M:%S"),
            campaign=rng.choice(CAMPAIGNS) if kind.startswith("mail_") else "",
            url="https://example.jp" + rng.choice(PAGES)
            if kind in {"site_visit", "mail_clicked"}
            else "",
            document=rng.choice(DOCUMENTS) if kind == "document_download" else "",
            webinar=rng.choice(WEBINARS) if kind.startswith("webinar_") else "",
        )


def events_csv(path: Path, rows: int, emails: list[str], seed: int) -> None:
    headers = [
        "メールアドレス",
        "イベント種別",
        "日時",
        "キャンペーン",
        "URL",
        "資料名",
        "ウェビナー名",
    ]
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(headers)
        for e in events(rows, emails, seed):
            writer.writerow([e.email, e.label, e.at, e.campaign, e.url, e.document, e.webinar])


def fresh_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def import_with_service(url: str, kind: ImportKind, path: Path) -> tuple[float, int]:
    engine = make_engine(url)
    began = time.perf_counter()
    with session_scope(engine) as session:
        report = import_file(session, kind=kind, path=path)
    seconds = time.perf_counter() - began
    engine.dispose()
    return seconds, report.inserted


def ceiling(db_path: Path, rows: int, emails: list[str], seed: int) -> float:
    """Seconds for a bare sqlite3 executemany of the same events (rows prepared untimed)."""
    conn = sqlite3.connect(db_path)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "cache_size=-200000",
    ):
        conn.execute(f"PRAGMA {pragma}")
    contact_ids = dict(conn.execute("SELECT lower(email), id FROM contacts"))
    sql = (
        "INSERT INTO engagement_events (dedupe_key, type, occurred_at, contact_id, campaign, url,"
        " document, webinar) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
    )
    seconds = 0.0
    chunk: list[tuple[object, ...]] = []

    def flush() -> float:
        began = time.perf_counter()
        conn.executemany(sql, chunk)
        chunk.clear()
        return time.perf_counter() - began

    for e in events(rows, emails, seed):
        moment = datetime.strptime(e.at, "%Y/%m/%d %H:%M:%S") - JST_OFFSET
        chunk.append(
            (
                hashlib.blake2b(f"{e.email}{e.type}{e.at}".encode(), digest_size=16).digest(),
                e.type,
                moment.replace(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                contact_ids[e.email],
                e.campaign or None,
                e.url or None,
                e.document or None,
                e.webinar or None,
            )
        )
        if len(chunk) >= 100_000:
            seconds += flush()
    seconds += flush()
    began = time.perf_counter()
    conn.commit()
    seconds += time.perf_counter() - began
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mezame-bench-") as tmp:
        work = Path(tmp)
        emails = contacts_csv(work / "contacts.csv", args.contacts)
        began = time.perf_counter()
        events_csv(work / "events.csv", args.rows, emails, args.seed)
        size_mb = (work / "events.csv").stat().st_size / 1e6
        took = time.perf_counter() - began
        print(f"generated {args.rows:,} events ({size_mb:.0f} MB) in {took:.1f} s")

        url = fresh_database(work / "service.db")
        seconds, inserted = import_with_service(url, ImportKind.CONTACTS, work / "contacts.csv")
        print(f"contacts: {inserted:,} in {seconds:.1f} s")
        event_seconds, inserted = import_with_service(url, ImportKind.EVENTS, work / "events.csv")
        figure = args.rows / event_seconds
        print(f"events via import_file: {inserted:,} inserted in {event_seconds:.1f} s")
        print(f"  = {figure:,.0f} rows/s")

        ceiling_url = fresh_database(work / "ceiling.db")
        import_with_service(ceiling_url, ImportKind.CONTACTS, work / "contacts.csv")
        ceiling_seconds = ceiling(work / "ceiling.db", args.rows, emails, args.seed)
        reference = args.rows / ceiling_seconds
        print(
            f"ceiling (bare sqlite3 executemany): {ceiling_seconds:.1f} s = {reference:,.0f} rows/s"
        )

    print(
        json.dumps(
            {
                "name": "import_events_sqlite",
                "figure": round(figure),
                "unit": "rows/s",
                "reference": round(reference),
                "ratio": round(figure / reference, 3),
                "seconds": round(event_seconds, 1),
                "rows": args.rows,
                "target_seconds": 120,
            }
        )
    )


if __name__ == "__main__":
    main()
