"""Company and contact lists over 100,000 companies and 200,000 contacts on SQLite.

Times the read services the UI and API call (a page of 50, with search), median of 5 runs
each, against a 100 ms ceiling for an interactive response. For comparison it also times
the naive alternative the services avoid: an exact count of a common search.

    .venv/bin/python benchmarks/customer_lists.py [--companies 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from mezame.customers import service
from mezame.db import make_engine, migrate
from mezame.models import Company, Contact

CEILING_MS = 100.0
STEMS = ["ひかり", "みなと", "さくら", "あおば", "東西", "日本", "中央", "富士", "アクメ", "ミライ"]
KINDS = ["製作所", "商事", "工業", "システム", "物産", "建設", "電機", "ソリューションズ"]


def _seed(session: Session, companies: int) -> None:
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    for i in range(companies):
        name = f"{rng.choice(STEMS)}{rng.choice(KINDS)}{i}"
        rows.append(
            {
                "import_key": f"C{i:07}",
                "external_id": f"C{i:07}",
                "name": f"株式会社{name}" if i % 3 else f"{name}株式会社",
                "status": rng.choice(["customer", "former", "prospect", "unknown"]),
                "address": f"東京都千代田区丸の内{i % 9 + 1}-{i % 20 + 1}",
            }
        )
    session.execute(insert(Company), rows)
    contacts = [
        {
            "import_key": f"P{j:07}",
            "external_id": f"P{j:07}",
            "company_id": j // 2 + 1,
            "name": f"山田 太郎{j}",
            "email": f"user{j}@corp{j // 2}.example.jp",
        }
        for j in range(companies * 2)
    ]
    session.execute(insert(Contact), contacts)
    session.commit()


def _median_ms(run: Callable[[], object], repeat: int = 5) -> float:
    run()  # warm the page cache
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=100_000)
    args = parser.parse_args()
    n = args.companies
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        with Session(engine) as session:
            started = time.perf_counter()
            _seed(session, n)
            seconds = time.perf_counter() - started
            print(f"seeded {n:,} companies, {2 * n:,} contacts in {seconds:.1f} s")
            rare = f"{n // 2}"  # one company name ends in it (and a few contain it)
            cases: dict[str, Callable[[], object]] = {
                "companies page 1": lambda: service.list_companies(
                    session, query=None, page=1, per_page=50
                ),
                "companies page 1,000": lambda: service.list_companies(
                    session, query=None, page=1000, per_page=50
                ),
                "companies q=株式会社 (common)": lambda: service.list_companies(
                    session, query="株式会社", page=1, per_page=50
                ),
                f"companies q={rare} (rare)": lambda: service.list_companies(
                    session, query=rare, page=1, per_page=50
                ),
                "companies q=<external id>": lambda: service.list_companies(
                    session, query=f"C{n // 3:07}", page=1, per_page=50
                ),
                "contacts page 1": lambda: service.list_contacts(
                    session, query=None, page=1, per_page=50
                ),
                f"contacts q=corp{rare}. (email)": lambda: service.list_contacts(
                    session, query=f"corp{rare}.", page=1, per_page=50
                ),
                "contacts q=みなと商事 (company)": lambda: service.list_contacts(
                    session, query="みなと商事", page=1, per_page=50
                ),
            }
            timings = {label: _median_ms(run) for label, run in cases.items()}
            naive_ms = _median_ms(
                lambda: session.scalar(
                    select(func.count(Company.id)).where(Company.name.ilike("%株式会社%"))
                )
            )
        engine.dispose()
    width = max(map(len, timings))
    for label, ms in timings.items():
        print(f"{label:<{width}}  {ms:8.1f} ms")
    print(f"{'naive exact count of q=株式会社':<{width}}  {naive_ms:8.1f} ms (what the cap avoids)")
    worst = max(timings.values())
    print(
        json.dumps(
            {
                "name": "customer_lists",
                "figure": round(worst, 1),
                "unit": "ms (slowest list/search page, median)",
                "reference": CEILING_MS,
                "ratio": round(worst / CEILING_MS, 3),
                "companies": n,
                "contacts": 2 * n,
                "naive_exact_count_ms": round(naive_ms, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
