"""Count representative segments over 1,000,000 contacts on SQLite and PostgreSQL.

Target (issue 5, item 1): every segment count finishes in under 1 s on both backends, with
the indexes the migrations create. The data: 200,000 companies, 1,000,000 contacts,
dormant records for 15 %, 300,000 tags, consent records for two thirds, 10,000
suppressions and 3,000,000 engagement events. Each count goes through
`mezame.segments.service.count_segment`, as the live count in the UI does; the figure per
segment is the median of three runs.

The databases are generated once (NumPy columns, bulk insert, indexes rebuilt after the
load) and cached: the SQLite file under ~/.cache/mezame/bench, the PostgreSQL database
`segbench` (created next to MEZAME_BENCH_POSTGRES_URL or MEZAME_TEST_POSTGRES_URL when the
server answers) marked with the generator's key.

    .venv/bin/python benchmarks/segment_count.py [--scale 1.0] [--seed 5] [--cache-dir DIR]
        [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mezame.customers.activity.service import note_activity_since
from mezame.db import make_engine, migrate, session_scope
from mezame.segments.service import count_segment

GENERATOR_VERSION = 3  # 2: last_seen_at from the events, as imports keep it; 3: consent index
AS_OF = date(2026, 11, 23)
FULL_SIZE = {
    "companies": 200_000,
    "contacts": 1_000_000,
    "dormant": 150_000,
    "tags": 300_000,
    "consents": 700_000,
    "suppressions": 10_000,
    "events": 3_000_000,
}
CEILING_SECONDS = 1.0
TIMEOUT_MS = 30_000  # a count past this is reported as timed out, not waited for
OWNERS = 10
INDUSTRIES = [
    "製造業",
    "情報通信業",
    "卸売業",
    "小売業",
    "建設業",
    "運輸業",
    "医療・福祉",
    "サービス業",
]
DEPARTMENTS = [
    "営業部",
    "総務部",
    "情報システム部",
    "経理部",
    "製造部",
    "マーケティング部",
    "購買部",
]
TITLES = ["部長", "課長", "係長", "主任", "担当", "代表取締役"]
SOURCES = ["展示会", "問い合わせ", "資料請求", "名刺交換", "紹介"]
TAGS = [
    "展示会2026",
    "VIP",
    "競合",
    "セミナー参加",
    "要フォロー",
    "ニュースレター",
    "代理店",
    "休眠",
]
TAG_WEIGHTS = [0.3, 0.05, 0.1, 0.2, 0.1, 0.15, 0.05, 0.05]
EVENT_TYPES = ["mail_sent", "mail_opened", "mail_clicked", "site_visit", "document_download"]
EVENT_WEIGHTS = [0.5, 0.25, 0.06, 0.16, 0.03]

SEGMENTS: dict[str, dict[str, Any]] = {
    "simple": {
        "match": "all",
        "rules": [{"field": "company.industry", "op": "eq", "value": "製造業"}],
    },
    "nested": {
        "match": "all",
        "rules": [
            {"field": "company.status", "op": "in", "value": ["customer", "former"]},
            {
                "match": "any",
                "rules": [
                    {"field": "contact.title", "op": "in", "value": ["部長", "課長"]},
                    {"field": "lead.band", "op": "eq", "value": "hot"},
                    {"field": "company.employee_count", "op": "gte", "value": 300},
                ],
            },
            {"field": "contact.department", "op": "neq", "value": "経理部"},
        ],
    },
    "tag": {
        "match": "all",
        "rules": [
            {"field": "tag", "op": "eq", "value": "展示会2026"},
            {"field": "tag", "op": "neq", "value": "競合"},
        ],
    },
    "dormancy": {
        "match": "all",
        "rules": [
            {"field": "dormancy.reason", "op": "eq", "value": "price"},
            {"field": "dormancy.band", "op": "in", "value": ["high", "medium"]},
        ],
    },
    "last_activity": {
        "match": "all",
        "rules": [
            {"field": "last_activity", "op": "older_than_days", "value": 180},
            {"field": "consent.basis", "op": "neq", "value": "none"},
        ],
    },
    "mailable_mine": {
        "match": "all",
        "rules": [
            {"field": "consent.mailable", "op": "eq", "value": True},
            {"field": "contact.owner", "op": "eq", "value": "me"},
        ],
    },
}

IntArray = NDArray[np.int64]
Table = tuple[str, list[str], Callable[[], Iterator[tuple[Any, ...]]]]


def sizes(scale: float) -> dict[str, int]:
    return {name: max(1, round(count * scale)) for name, count in FULL_SIZE.items()}


def _days(days: IntArray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def _moments(seconds: IntArray) -> list[str]:
    """'YYYY-MM-DD HH:MM:SS' in UTC (SQLite's stored form; PostgreSQL reads it in UTC)."""
    text_ = np.datetime_as_string(seconds.astype("datetime64[s]"))
    return np.char.replace(text_, "T", " ").tolist()


def _maybe(values: list[Any], keep: NDArray[np.bool_]) -> list[Any]:
    return [v if k else None for v, k in zip(values, keep.tolist(), strict=True)]


def _pick(
    rng: np.random.Generator, pool: list[str], n: int, p: list[float] | None = None
) -> list[str]:
    return np.array(pool, dtype=object)[rng.choice(len(pool), n, p=p)].tolist()


def tables(n: dict[str, int], seed: int) -> list[Table]:
    """Every table to load, as (name, columns, rows factory); the arrays are built once."""
    rng = np.random.default_rng(seed)
    day0 = np.datetime64("2019-01-01", "D").astype(np.int64)
    today = np.datetime64(AS_OF, "D").astype(np.int64)
    stamp = "2026-01-01 00:00:00"

    nco, nc = n["companies"], n["contacts"]
    co_ids = np.arange(1, nco + 1)
    co_owner = rng.integers(1, OWNERS + 1, nco)
    companies = (
        "companies",
        [
            "id",
            "import_key",
            "name",
            "industry",
            "employee_count",
            "status",
            "owner_id",
            "created_at",
            "updated_at",
        ],
        lambda: zip(
            co_ids.tolist(),
            [f"C{i}" for i in co_ids.tolist()],
            [f"株式会社ベンチ{i}" for i in co_ids.tolist()],
            _maybe(_pick(rng, INDUSTRIES, nco), rng.random(nco) < 0.9),
            _maybe(
                np.round(rng.lognormal(3.5, 1.2, nco)).astype(np.int64).tolist(),
                rng.random(nco) < 0.8,
            ),
            _pick(rng, ["prospect", "customer", "former", "unknown"], nco, [0.4, 0.3, 0.25, 0.05]),
            _maybe(co_owner.tolist(), rng.random(nco) < 0.9),
            [stamp] * nco,
            [stamp] * nco,
            strict=True,
        ),
    )
    ct_ids = np.arange(1, nc + 1)
    ct_company = rng.integers(1, nco + 1, nc)
    seen = today * 86_400 - rng.integers(0, 700 * 86_400, nc)
    merged = rng.random(nc) < 0.01
    contacts = (
        "contacts",
        [
            "id",
            "import_key",
            "company_id",
            "department",
            "title",
            "source",
            "email",
            "owner_id",
            "acquired_on",
            "last_seen_at",
            "lead_score",
            "lead_band",
            "merged_into_id",
            "created_at",
            "updated_at",
        ],
        lambda: zip(
            ct_ids.tolist(),
            [f"P{i}" for i in ct_ids.tolist()],
            ct_company.tolist(),
            _maybe(_pick(rng, DEPARTMENTS, nc), rng.random(nc) < 0.85),
            _maybe(_pick(rng, TITLES, nc), rng.random(nc) < 0.7),
            _pick(rng, SOURCES, nc),
            _maybe(
                [
                    f"p{i}@c{c}.example.jp"
                    for i, c in zip(ct_ids.tolist(), ct_company.tolist(), strict=True)
                ],
                rng.random(nc) < 0.95,
            ),
            _maybe(rng.integers(1, OWNERS + 1, nc).tolist(), rng.random(nc) < 0.8),
            _days(rng.integers(day0, today, nc)),
            _maybe(_moments(seen), rng.random(nc) < 0.2),
            rng.integers(0, 100, nc).tolist(),
            _pick(rng, ["hot", "warm", "cold", ""], nc, [0.05, 0.15, 0.3, 0.5]),
            np.where(merged, np.maximum(ct_ids - 1, 1), 0).tolist(),
            [stamp] * nc,
            [stamp] * nc,
            strict=True,
        ),
    )
    nd = n["dormant"]
    d_contact = rng.choice(nc, nd, replace=False) + 1
    dormant_cols = [
        "id",
        "kind",
        "company_id",
        "contact_id",
        "fell_asleep_on",
        "trigger",
        "asleep_days",
        "excluded",
        "rank",
        "score",
        "band",
        "reason",
        "reason_confidence",
        "reason_inferred",
        "order_count",
        "spend",
        "contract_months",
        "interest",
        "change_answers_reason",
        "channel",
        "angle",
    ]
    pts = [
        f"pts_{f}"
        for f in (
            "kind",
            "frequency",
            "spend",
            "contract",
            "expected_value",
            "p_alive",
            "asleep",
            "change",
            "interest",
            "reach",
        )
    ]
    band = _pick(rng, ["high", "medium", "low", "gone"], nd, [0.2, 0.3, 0.4, 0.1])
    dormant = (
        "dormant_customers",
        dormant_cols + pts,
        lambda: (
            (
                i + 1,
                kind,
                company,
                contact,
                "2025-01-01",
                "last_order",
                500,
                b == "gone",
                None if b == "gone" else i + 1,
                10.0,
                b,
                reason,
                0.8,
                False,
                3,
                100000,
                12,
                0.1,
                False,
                "mail",
                "reason",
                *([0.0] * len(pts)),
            )
            for i, (kind, company, contact, b, reason) in enumerate(
                zip(
                    _pick(rng, ["former_customer", "lost_deal", "contact_only"], nd),
                    ct_company[d_contact - 1].tolist(),
                    d_contact.tolist(),
                    band,
                    _pick(
                        rng,
                        ["price", "function", "timing", "competitor", "unknown"],
                        nd,
                        [0.35, 0.2, 0.2, 0.15, 0.1],
                    ),
                    strict=True,
                )
            )
        ),
    )
    tag_rows: list[tuple[int, str]] = []
    for tag, weight in zip(TAGS, TAG_WEIGHTS, strict=True):
        k = round(n["tags"] * weight)
        tag_rows.extend((int(c) + 1, tag) for c in rng.choice(nc, k, replace=False))
    tags = (
        "contact_tags",
        ["id", "contact_id", "tag", "source", "created_at"],
        lambda: ((i + 1, c, t, "import", stamp) for i, (c, t) in enumerate(tag_rows)),
    )
    ncs = n["consents"]
    consent_contact = rng.choice(nc, ncs, replace=False) + 1
    obtained = today * 86_400 - rng.integers(0, 1500 * 86_400, ncs)
    consents = (
        "consent_records",
        ["id", "contact_id", "basis", "channel", "obtained_at", "withdrawn_at", "recorded_at"],
        lambda: zip(
            range(1, ncs + 1),
            consent_contact.tolist(),
            _pick(rng, ["opt_in", "business_card", "existing_transaction"], ncs, [0.3, 0.5, 0.2]),
            ["email"] * ncs,
            _moments(obtained),
            _maybe([stamp] * ncs, rng.random(ncs) < 0.05),
            [stamp] * ncs,
            strict=True,
        ),
    )
    ns = n["suppressions"]
    suppressed = rng.choice(nc, ns, replace=False) + 1
    suppressions = (
        "suppressions",
        ["id", "email", "reason", "created_at"],
        lambda: zip(
            range(1, ns + 1),
            [f"p{i}@c{ct_company[i - 1]}.example.jp" for i in suppressed.tolist()],
            ["unsubscribed"] * ns,
            [stamp] * ns,
            strict=True,
        ),
    )
    ne = n["events"]
    # Engaged contacts act again and again: a skewed share of the list makes most events.
    ev_contact = (rng.pareto(1.2, ne) * nc / 20).astype(np.int64) % nc + 1
    ev_at = today * 86_400 - rng.integers(0, 730 * 86_400, ne)
    events = (
        "engagement_events",
        ["id", "dedupe_key", "type", "occurred_at", "contact_id"],
        lambda: zip(
            range(1, ne + 1),
            [i.to_bytes(16, "big") for i in range(1, ne + 1)],
            _pick(rng, EVENT_TYPES, ne, EVENT_WEIGHTS),
            _moments(ev_at),
            ev_contact.tolist(),
            strict=True,
        ),
    )
    users = (
        "users",
        ["id", "email", "name", "role", "password_hash", "created_at", "updated_at"],
        lambda: (
            (i, f"rep{i}@example.jp", f"営業{i}", "marketing", "!", stamp, stamp)
            for i in range(1, OWNERS + 1)
        ),
    )
    return [users, companies, contacts, dormant, tags, consents, suppressions, events]


def _merged_null(
    table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    """0 means NULL for merged_into_id and "" for lead_band (cheaper to build as arrays)."""
    if table != "contacts":
        yield from rows
        return
    m, b = columns.index("merged_into_id"), columns.index("lead_band")
    for row in rows:
        r = list(row)
        r[m] = r[m] or None
        r[b] = r[b] or None
        yield tuple(r)


# --- SQLite -----------------------------------------------------------------------------------


def build_sqlite(path: Path, n: dict[str, int], seed: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "journal_mode=OFF",
        "synchronous=OFF",
        "foreign_keys=OFF",
        "cache_size=-1000000",
        "locking_mode=EXCLUSIVE",
        "temp_store=MEMORY",
    ):
        db.execute(f"PRAGMA {pragma}")
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")  # rebuilt once after the load: far faster
    db.execute("BEGIN")
    for table, columns, rows in tables(n, seed):
        began = time.perf_counter()
        marks = ", ".join("?" for _ in columns)
        db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            _merged_null(table, columns, rows()),
        )
        print(f"  sqlite {table}: {time.perf_counter() - began:.1f} s", flush=True)
    db.execute("COMMIT")
    for _name, sql in indexes:
        db.execute(sql)
    db.execute("PRAGMA locking_mode=NORMAL")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        note_activity_since(session, after_event_id=0)  # what an events import does last
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def sqlite_database(cache_dir: Path, n: dict[str, int], seed: int) -> Path:
    path = cache_dir / f"segments-v{GENERATOR_VERSION}-{n['contacts']}c-seed{seed}.db"
    if path.exists():
        print(f"cached database: {path}")
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for stale in cache_dir.glob(partial.name + "*"):
        stale.unlink()
    began = time.perf_counter()
    build_sqlite(partial, n, seed)
    partial.rename(path)  # only a complete database is ever reused
    print(f"generated {path} in {time.perf_counter() - began:.0f} s")
    return path


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_engine(n: dict[str, int], seed: int) -> Engine | None:
    """The `segbench` database next to the configured server, built unless already current.

    Other scales get their own database (segbench_10000 …) so a quick run keeps the big one.
    """
    full = n["contacts"] == FULL_SIZE["contacts"]
    database = "segbench" if full else f"segbench_{n['contacts']}"
    base = os.environ.get("MEZAME_BENCH_POSTGRES_URL") or os.environ.get(
        "MEZAME_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    admin = make_engine(str(make_url(base).set(database="postgres")), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
            )
            if not exists:
                conn.execute(text(f"CREATE DATABASE {database}"))
    except Exception as exc:  # any connection failure: PostgreSQL is not here
        print(f"PostgreSQL not reachable ({type(exc).__name__}); SQLite only")
        return None
    finally:
        admin.dispose()
    engine = make_engine(str(make_url(base).set(database=database)))
    key = f"segments-v{GENERATOR_VERSION}-{n['contacts']}c-seed{seed}"
    with engine.connect() as conn:
        current = conn.scalar(
            text("SELECT obj_description('contacts'::regclass)")
            if conn.scalar(text("SELECT to_regclass('contacts')"))
            else text("SELECT NULL")
        )
    if current == key:
        print(f"cached database: {database}")
        return engine
    began = time.perf_counter()
    build_postgres(engine, n, seed, key)
    print(f"generated {database} in {time.perf_counter() - began:.0f} s")
    return engine


def build_postgres(engine: Engine, n: dict[str, int], seed: int, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET session_replication_role = replica")  # no FK triggers during the load
        cur.execute("SET timezone = 'UTC'")
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND indexname LIKE 'ix\\_%'"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        for table, columns, rows in tables(n, seed):
            began = time.perf_counter()
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in _merged_null(table, columns, rows()):
                    copy.write_row(row)
            print(f"  postgres {table}: {time.perf_counter() - began:.1f} s", flush=True)
        for _name, sql in indexes:
            cur.execute(sql)
        for table in (
            "users",
            "companies",
            "contacts",
            "dormant_customers",
            "contact_tags",
            "consent_records",
            "suppressions",
            "engagement_events",
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        raw.commit()
    finally:
        raw.close()
    with session_scope(engine) as session:
        note_activity_since(session, after_event_id=0)  # what an events import does last
    with engine.begin() as conn:
        conn.execute(text(f"COMMENT ON TABLE contacts IS '{key}'"))  # complete: reusable
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


# --- measurement ------------------------------------------------------------------------------


def measure(engine: Engine, backend: str) -> tuple[dict[str, float], list[str]]:
    """The median of three counts per segment, through the service; and those that timed out."""
    figures: dict[str, float] = {}
    timed_out: list[str] = []
    with Session(engine) as session:
        for name, definition in SEGMENTS.items():
            runs: list[float] = []
            count = -1
            for _ in range(3):
                began = time.perf_counter()
                try:
                    with session.begin_nested() if backend == "postgresql" else nullcontext():
                        if backend == "postgresql":
                            session.execute(text(f"SET LOCAL statement_timeout = {TIMEOUT_MS}"))
                        count = count_segment(session, definition, as_of=AS_OF, user_id=3)
                except OperationalError:
                    timed_out.append(name)
                    runs = [TIMEOUT_MS / 1000] * 3
                    break
                runs.append(time.perf_counter() - began)
            figures[name] = statistics.median(runs)
            print(
                f"  {backend:10} {name:14} {count:>9,} contacts  {figures[name] * 1000:7.0f} ms"
                f"  (runs: {', '.join(f'{r * 1000:.0f}' for r in runs)} ms)",
                flush=True,
            )
        session.rollback()
    return figures, timed_out


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mezame" / "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 contacts")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=_default_cache())
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    n = sizes(args.scale)
    print("sizes: " + ", ".join(f"{k} {v:,}" for k, v in n.items()))

    results: dict[str, dict[str, float]] = {}
    timed_out: dict[str, list[str]] = {}
    sqlite_engine = make_engine(f"sqlite:///{sqlite_database(args.cache_dir, n, args.seed)}")
    results["sqlite"], timed_out["sqlite"] = measure(sqlite_engine, "sqlite")
    sqlite_engine.dispose()
    if not args.no_postgres:
        pg = postgres_engine(n, args.seed)
        if pg is not None:
            results["postgresql"], timed_out["postgresql"] = measure(pg, "postgresql")
            pg.dispose()

    slowest = {backend: max(figures.values()) for backend, figures in results.items()}
    figure = max(slowest.values())
    print(
        json.dumps(
            {
                "name": "segment_count",
                "figure": round(figure, 3),
                "unit": "s",
                "reference": CEILING_SECONDS,
                "ratio": round(figure / CEILING_SECONDS, 3),
                "contacts": n["contacts"],
                **{f"{b}_slowest_s": round(s, 3) for b, s in slowest.items()},
                **{
                    f"{b}_{name}_s": round(v, 3)
                    for b, figures in results.items()
                    for name, v in figures.items()
                },
                # Counts stopped at the PostgreSQL statement timeout (figure = the timeout).
                "timed_out": {b: names for b, names in timed_out.items() if names},
                "target": "figure < 1.0 on every backend",
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
