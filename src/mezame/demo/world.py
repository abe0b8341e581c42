"""The demo world: a Japanese B2B vendor's two years of customers, deals, orders and signals.

`generate_world` is pure and deterministic for a seed. Its rows are keyed by the
canonical import field names (mezame.ingest.fields), one list per ImportKind,
and `planted` records the patterns the later stages must find: duplicates and
near misses, the churn after the price rise, the dormant contacts waking up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from mezame.demo.companies import CompanyBook, make_company_book
from mezame.demo.engagement import make_events
from mezame.demo.eventlog import EventLog
from mezame.demo.lifecycle import Account, plan_accounts, show_days
from mezame.demo.people import Person, make_people
from mezame.demo.rows import SALES_REPS, Row, RowWriter
from mezame.demo.sales import SalesBook, make_sales
from mezame.demo.timeline import (
    FEATURE_NAME,
    PRICE_CUT_PERCENT,
    PRICE_RISE_PERCENT,
    Timeline,
    make_timeline,
)
from mezame.ingest.fields import ImportKind

MIN_COMPANIES = 20
FORMER_AFTER_DAYS = 365  # a customer with nothing for a year is dormant (SPEC 3.1 default)
CONTACT_ONLY_AFTER_DAYS = 90  # a contact with no response for three months
LOST_DEAL_AFTER_DAYS = 90


@dataclass(frozen=True, slots=True)
class Planted:
    """The ground truth behind the rows, for tests and for checking the later stages."""

    as_of: date
    history_start: date
    price_rise_on: date
    price_rise_percent: int
    feature_release_on: date
    feature_name: str
    price_cut_on: date  # announced: the annual plans cost less again
    price_cut_percent: int
    duplicate_companies: list[dict[str, object]]
    near_miss_companies: list[dict[str, object]]
    invalid_corporate_numbers: list[str]
    duplicate_contacts: list[dict[str, str]]
    price_sensitive: list[str]
    long_contract: list[str]
    churned: dict[str, dict[str, object]]
    churned_after_price_rise: list[str]
    dormant: dict[str, str]
    warming_contacts: list[dict[str, str]]
    machine_openers: list[str]
    deal_reasons: dict[str, str]
    stale_status: list[str]

    def as_json(self) -> dict[str, object]:
        """The same facts with dates as ISO strings, for planted.json."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out


@dataclass(frozen=True, slots=True)
class DemoWorld:
    seed: int
    as_of: date
    rows: dict[ImportKind, list[Row]]
    planted: Planted
    counts: dict[str, int] = field(default_factory=dict)


def generate_world(*, companies: int, seed: int, as_of: date) -> DemoWorld:
    """`companies` company rows (duplicates included) and everything that happened with them."""
    if companies < MIN_COMPANIES:
        raise ValueError(f"a demo world needs at least {MIN_COMPANIES} companies, not {companies}")
    rng = np.random.default_rng(seed)
    timeline = make_timeline(as_of)
    book = make_company_book(rng, companies=companies, n_owners=len(SALES_REPS))
    accounts = plan_accounts(rng, timeline, book.firms)
    people = make_people(rng, timeline, book, accounts, show_days(timeline))
    sales = make_sales(rng, timeline, book.firms, accounts, people)
    dormant = dormant_firms(timeline, accounts, sales)
    events = make_events(rng, timeline, accounts, people, sales.deals, dormant)
    writer = RowWriter(rng, timeline, book, accounts, people, sales)
    rows = {
        ImportKind.COMPANIES: writer.companies(),
        ImportKind.CONTACTS: writer.contacts(),
        ImportKind.DEALS: writer.deals(),
        ImportKind.ORDERS: writer.orders(),
        ImportKind.ACTIVITIES: writer.activities(),
        ImportKind.EVENTS: writer.events(events),
        ImportKind.SURVEYS: writer.surveys(),
    }
    planted = _planted(timeline, book, accounts, people, sales, dormant, events, writer.stale)
    return DemoWorld(seed, as_of, rows, planted, {k.value: len(v) for k, v in rows.items()})


def dormant_firms(timeline: Timeline, accounts: list[Account], sales: SalesBook) -> dict[int, str]:
    """Firm index → dormant kind at as_of, by SPEC 3.1's default rules."""
    last = timeline.days - 1
    latest_deal: dict[int, tuple[int, str]] = {}
    for d in sales.deals:
        closed = d.closed if d.closed is not None else timeline.days
        if d.firm not in latest_deal or closed >= latest_deal[d.firm][0]:
            latest_deal[d.firm] = (closed, d.outcome)
    out: dict[int, str] = {}
    for acc in accounts:
        if acc.is_customer:
            last_order = max(o.day for o in acc.orders) if acc.orders else -1
            cancelled = [o.cancelled for o in acc.orders if o.cancelled is not None]
            silent_since = max([last_order, *cancelled])
            if (
                cancelled or acc.churn_day is not None
            ) and silent_since <= last - FORMER_AFTER_DAYS:
                out[acc.firm] = "former_customer"
        elif acc.kind == "prospect" and acc.firm in latest_deal:
            closed, outcome = latest_deal[acc.firm]
            if outcome in ("lost", "postponed") and closed <= last - LOST_DEAL_AFTER_DAYS:
                out[acc.firm] = "lost_deal"
        elif acc.kind == "contact_only" and (acc.lead_day or 0) <= last - CONTACT_ONLY_AFTER_DAYS:
            out[acc.firm] = "contact_only"
    return out


def _planted(
    timeline: Timeline,
    book: CompanyBook,
    accounts: list[Account],
    people: list[Person],
    sales: SalesBook,
    dormant: dict[int, str],
    events: EventLog,
    stale: list[int],
) -> Planted:
    firms = book.firms

    def code(firm: int) -> str:
        return firms[firm].external_id

    churned: dict[str, dict[str, object]] = {
        code(a.firm): {
            "on": timeline.on(a.churn_day).isoformat(),
            "cause": a.churn_cause,
            "cancelled": a.cancelled,
        }
        for a in accounts
        if a.churn_day is not None
    }
    warming = [
        {
            "contact": people[i].external_id,
            "email": people[i].email or "",
            "company": code(people[i].firm),
            "dormant_kind": dormant[people[i].firm],
            "since": timeline.at(events.warm_from[i]).isoformat(),
        }
        for i in events.warming
    ]
    return Planted(
        as_of=timeline.as_of,
        history_start=timeline.start,
        price_rise_on=timeline.on(timeline.price_rise),
        price_rise_percent=PRICE_RISE_PERCENT,
        feature_release_on=timeline.on(timeline.feature_release),
        feature_name=FEATURE_NAME,
        price_cut_on=timeline.on(timeline.price_cut),
        price_cut_percent=PRICE_CUT_PERCENT,
        duplicate_companies=[
            {
                "duplicate": d.external_id,
                "original": code(d.firm),
                "name": d.name,
                "original_name": firms[d.firm].name,
                "variants": d.variants,
                "shares_phone": d.shares_phone,
                "shares_corporate_number": d.shares_corporate_number,
            }
            for d in book.duplicates
        ],
        near_miss_companies=[
            {
                "a": code(a),
                "b": code(b),
                "kind": kind,
                "a_name": firms[a].name,
                "b_name": firms[b].name,
            }
            for a, b, kind in book.near_misses
        ],
        invalid_corporate_numbers=[code(i) for i in book.invalid_corporate_numbers],
        duplicate_contacts=[
            {"duplicate": p.external_id, "original": people[p.duplicate_of].external_id}
            for p in people
            if p.duplicate_of is not None
        ],
        price_sensitive=[code(a.firm) for a in accounts if a.is_customer and a.price_sensitive],
        long_contract=[code(a.firm) for a in accounts if a.long_contract],
        churned=churned,
        churned_after_price_rise=[
            code(a.firm)
            for a in accounts
            if a.churn_cause == "price"
            and a.churn_day is not None
            and a.churn_day >= timeline.price_rise
        ],
        dormant={code(f): kind for f, kind in sorted(dormant.items())},
        warming_contacts=warming,
        machine_openers=[p.external_id for p in people if p.machine_opener],
        deal_reasons={d.external_id: d.reason for d in sales.deals if d.reason is not None},
        stale_status=[code(i) for i in stale],
    )


__all__ = [
    "SALES_REPS",
    "DemoWorld",
    "Planted",
    "Row",
    "generate_world",
]
