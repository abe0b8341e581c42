"""The data-quality report over 1,000,000 contacts and 200,000 companies on SQLite.

Times `quality_report` (every SQL aggregate, the email column checked vectorised, duplicate
detection over all companies), duplicate detection alone, and the email checks alone. The
figure is the email syntax check over the whole column; its reference is what the vectorised
prefilter avoids: email-validator called on every address, on the same column in the same
run (the verdicts must match).

    .venv/bin/python benchmarks/quality_report.py [--contacts 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mezame.cleaning.normalize import is_valid_email
from mezame.cleaning.service import find_duplicates
from mezame.db import make_engine, migrate
from mezame.models import Company, Contact, Deal, Order
from mezame.quality.emails import invalid_emails, role_addresses
from mezame.quality.report import QualityPolicy
from mezame.quality.service import quality_report

AS_OF = date(2026, 11, 23)
STEMS = ["ひかり", "みなと", "さくら", "あおば", "東西", "日本", "中央", "富士", "アクメ", "ミライ"]
KINDS = ["製作所", "商事", "工業", "システム", "物産", "建設", "電機", "ソリューションズ"]
BATCH = 50_000


def _email(rng: random.Random, j: int) -> str | None:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.08:
        return f"{rng.choice(['info', 'sales', 'soumu', 'contact'])}@corp{j // 5}.co.jp"
    if roll < 0.09:
        return rng.choice([f"user{j}..x@corp.jp", f"user{j}@corp", f"user {j}@corp.jp"])
    if roll < 0.10:
        return f"山田{j}@corp{j // 5}.co.jp"  # valid, but not plain: email-validator decides
    return f"user{j}.taro@corp{j // 5}.co.jp"


def _seed(session: Session, contacts: int) -> None:
    rng = random.Random(7)
    companies = contacts // 5
    rows: list[dict[str, Any]] = []
    for i in range(companies):
        rows.append(
            {
                "import_key": f"C{i:07}",
                "external_id": f"C{i:07}",
                "name": f"株式会社{rng.choice(STEMS)}{rng.choice(KINDS)}{i}",
                "status": rng.choice(["customer", "former", "prospect", "unknown"]),
                "status_updated_at": date(2020 + i % 7, 1 + i % 12, 1),
                "phone": f"03-{i // 10000:04}-{i % 10000:04}",
            }
        )
        if len(rows) == BATCH:
            session.execute(insert(Company), rows)
            rows.clear()
    if rows:
        session.execute(insert(Company), rows)
    orders = [
        {"import_key": f"O{i}", "company_id": i + 1, "ordered_on": date(2024, 1, 1), "amount": 1}
        for i in range(0, companies, 3)
    ]
    session.execute(insert(Order), orders)
    deals = [
        {"import_key": f"D{i}", "company_id": i + 1, "name": "商談", "outcome": "lost"}
        for i in range(1, companies, 4)
    ]
    session.execute(insert(Deal), deals)
    for start in range(0, contacts, BATCH):
        session.execute(
            insert(Contact),
            [
                {
                    "import_key": f"P{j:08}",
                    "external_id": f"P{j:08}",
                    "company_id": j // 5 + 1,
                    "name": f"山田 太郎{j}" if j % 50 else None,
                    "email": _email(rng, j),
                    "phone": "03-0000-0000" if j % 4 else None,
                    "hearing_notes": "聞き取り済" if j % 3 else None,
                }
                for j in range(start, min(start + BATCH, contacts))
            ],
        )
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.contacts
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        with Session(engine) as session:
            started = time.perf_counter()
            _seed(session, n)
            seconds = time.perf_counter() - started
            print(f"seeded {n // 5:,} companies, {n:,} contacts in {seconds:.1f} s")
            started = time.perf_counter()
            report = quality_report(session, as_of=AS_OF)
            report_s = time.perf_counter() - started
            started = time.perf_counter()
            find_duplicates(session, "companies")
            duplicates_s = time.perf_counter() - started
            emails = [e for e in session.scalars(select(Contact.email)) if e]
        engine.dispose()
    policy = QualityPolicy()
    started = time.perf_counter()
    invalid = invalid_emails(emails)
    vectorised_s = time.perf_counter() - started
    started = time.perf_counter()
    role = role_addresses(
        emails, local_parts=policy.role_local_parts, prefixes=policy.role_prefixes
    )
    role_s = time.perf_counter() - started
    started = time.perf_counter()
    naive_invalid = sum(not is_valid_email(e) for e in emails)
    naive_s = time.perf_counter() - started
    assert naive_invalid == int(invalid.sum()), "the prefilter changed a verdict"
    for check in report.checks:
        print(f"{check.check:<26} {check.count:>9,}")
    print(f"report                     {report_s:8.2f} s")
    print(f"  of which duplicates      {duplicates_s:8.2f} s (cleaning.service.find_duplicates)")
    print(f"email syntax, vectorised   {vectorised_s:8.2f} s ({len(emails):,} addresses)")
    print(f"role addresses, vectorised {role_s:8.2f} s ({int(role.sum()):,} found)")
    print(f"email-validator each       {naive_s:8.2f} s")
    print(
        json.dumps(
            {
                "name": "quality_report",
                "figure": round(vectorised_s, 2),
                "unit": "s (email syntax check over the whole column, email-validator semantics)",
                "reference": round(naive_s, 2),
                "ratio": round(vectorised_s / naive_s, 4),
                "report_seconds": round(report_s, 2),
                "duplicates_seconds": round(duplicates_s, 2),
                "contacts": n,
                "companies": n // 5,
            }
        )
    )


if __name__ == "__main__":
    main()
