"""Each firm's life with the vendor: how it came, what it bought, and when and why it left.

Buyers of supplies follow the BG/NBD story (Fader, Hardie & Lee 2005): purchases
are Poisson with a gamma-distributed rate while alive, and after each purchase a
customer drops out with a beta-distributed probability; spend per order is
Gamma-Gamma. Subscribers renew yearly or on three-year terms and cancel with a
monthly hazard. The price rise raises price-sensitive customers' dropout and
makes many of them cancel at their first renewal at the new price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from mezame.demo import lexicon as lx
from mezame.demo.companies import Firm
from mezame.demo.timeline import PRICE_RISE_PERCENT, Timeline, add_months, randint, weighted

KINDS = ("base_customer", "new_customer", "prospect", "contact_only")
KIND_WEIGHTS = (0.24, 0.30, 0.30, 0.16)
PRICE_FACTOR = 1 + PRICE_RISE_PERCENT / 100

# BG/NBD population: λ ~ Gamma(r, 1/α) purchases a year; p ~ Beta(a, b) dropout per purchase.
BUYER_RATE_SHAPE, BUYER_RATE_SCALE = 2.5, 7.0
BUYER_DROPOUT_A, BUYER_DROPOUT_B = 1.0, 20.0
# Gamma-Gamma spend: order value ~ Gamma(p, ν), ν ~ Gamma(q, γ); mean ≈ p·γ/(q−1) yen.
SPEND_P, SPEND_Q, SPEND_GAMMA = 6.0, 4.0, 40_000.0
SUBSCRIBER_MONTHLY_HAZARD = 0.008


@dataclass(slots=True)
class OrderRecord:
    """One order or one contract term, before it becomes a row."""

    firm: int
    day: int  # 受注日
    product: str
    line: str
    amount: int
    contract_start: int | None = None
    contract_end: date | None = None  # may lie after as_of: the term runs on
    cancelled: int | None = None
    note: str | None = None
    deal: int | None = None


@dataclass(slots=True)
class Account:
    """What happened between the vendor and one firm over the two years."""

    firm: int
    kind: str
    lead_source: str
    lead_day: int | None  # first contact; None when it predates the history
    deal_day: int | None = None  # new customers: when the winning deal opened
    acquired_day: int | None = None  # customers: first visible purchase
    subscriber: bool = False
    long_contract: bool = False
    price_sensitive: bool = False
    satisfaction: float = 0.0
    churn_day: int | None = None
    churn_cause: str | None = None  # price / other
    cancelled: bool = False
    orders: list[OrderRecord] = field(default_factory=list)

    @property
    def is_customer(self) -> bool:
        return self.kind in ("base_customer", "new_customer")

    def active_on(self, day: int) -> bool:
        return (
            self.is_customer
            and self.acquired_day is not None
            and self.acquired_day <= day
            and (self.churn_day is None or day < self.churn_day)
        )


def show_days(timeline: Timeline) -> list[tuple[int, str]]:
    """(day, 展示会 name with year) for every trade show held inside the history."""
    out: list[tuple[int, str]] = []
    for year in range(timeline.start.year, timeline.as_of.year + 1):
        for name, month, day in lx.TRADE_SHOWS:
            d = timeline.day_of(date(year, month, day))
            if 0 <= d < timeline.days:
                out.append((d, f"{name} {year}"))
    return sorted(out)


def _pick(rng: np.random.Generator, items: tuple[tuple[str, float], ...]) -> str:
    return items[weighted(rng, [x[1] for x in items])][0]


def _lead(
    rng: np.random.Generator, shows: list[tuple[int, str]], before: int, *, window: int
) -> tuple[str, int | None]:
    """A lead source and the day the lead came in, at most `window` days before `before`."""
    source = _pick(rng, lx.LEAD_SOURCES)
    if source == "展示会":
        fitting = [d for d, _ in shows if before - window <= d <= before]
        if fitting:
            return source, fitting[-1]
        source = "資料請求"
    day = before - randint(rng, 0, 60)
    return source, day if day >= 0 else None


def plan_accounts(rng: np.random.Generator, timeline: Timeline, firms: list[Firm]) -> list[Account]:
    """Decide each firm's kind and when it first appeared, then simulate what customers bought."""
    shows = show_days(timeline)
    kinds = rng.choice(len(KINDS), size=len(firms), p=np.array(KIND_WEIGHTS))
    accounts: list[Account] = []
    for firm, k in zip(firms, kinds, strict=True):
        kind = KINDS[int(k)]
        if kind == "base_customer":
            acc = Account(firm.index, kind, _pick(rng, lx.LEAD_SOURCES), None)
        elif kind == "new_customer":
            won = timeline.business_day(rng, 45, timeline.days - 10)
            duration = int(np.clip(rng.lognormal(np.log(50), 0.5), 14, 200))
            opened = max(0, won - duration)
            source, lead = _lead(rng, shows, opened, window=150)
            acc = Account(firm.index, kind, source, lead, deal_day=opened, acquired_day=won)
        elif kind == "prospect":
            opened = timeline.business_day(rng, 0, timeline.days - 3)
            source, lead = _lead(rng, shows, opened, window=150)
            acc = Account(firm.index, kind, source, lead, deal_day=opened)
        else:
            source = _pick(
                rng,
                (("展示会", 0.55), ("資料請求", 0.25), ("問い合わせ", 0.12), ("ウェビナー", 0.08)),
            )
            if source == "展示会" and shows:
                lead_day = shows[randint(rng, 0, len(shows))][0]
            else:
                lead_day = timeline.business_day(rng, 0, timeline.days)
            acc = Account(firm.index, kind, source, lead_day)
        # Small firms and thin-margin trades feel a price rise most.
        sensitive = 0.22 + 0.2 * (firm.employees < 30)
        sensitive += 0.1 * (firm.industry in ("小売業", "運輸業", "食品製造業"))
        acc.price_sensitive = bool(rng.random() < sensitive)
        acc.satisfaction = float(rng.normal())
        if acc.is_customer:
            acc.subscriber = bool(rng.random() < 0.5)
            acc.long_contract = acc.subscriber and bool(rng.random() < 0.3)
            if acc.subscriber:
                _simulate_subscriber(rng, timeline, firm, acc)
            else:
                _simulate_buyer(rng, timeline, acc)
        accounts.append(acc)
    return accounts


def _round(amount: float, unit: int = 100) -> int:
    return round(amount / unit) * unit


def list_price(timeline: Timeline, day: int, amount: float, unit: int = 100) -> int:
    """List amounts rise by PRICE_RISE_PERCENT from the price-rise date on."""
    return _round(amount * (PRICE_FACTOR if day >= timeline.price_rise else 1.0), unit)


def _churn_note(rng: np.random.Generator, cause: str) -> str:
    notes = lx.CHURN_NOTES[cause]
    return notes[randint(rng, 0, len(notes))]


def _simulate_subscriber(
    rng: np.random.Generator, timeline: Timeline, firm: Firm, acc: Account
) -> None:
    """Contract terms from the first visible one until cancellation or as_of."""
    plan = 0 if firm.employees < 20 else 1 if firm.employees < 100 else 2
    plan_name, annual = lx.SUBSCRIPTION_PLANS[plan]
    months = 36 if acc.long_contract else 12
    product = f"{plan_name}（{'3年契約' if acc.long_contract else '年間'}）"
    if acc.acquired_day is None:  # an existing customer: the export starts at their renewal
        start = timeline.first_of_next_month(timeline.business_day(rng, 0, 330))
        ordered = max(0, start - randint(rng, 5, 25))
        acc.acquired_day = ordered
    else:
        ordered = acc.acquired_day
        start = timeline.first_of_next_month(ordered)
        if start >= timeline.days:
            start = ordered
    hazard = SUBSCRIBER_MONTHLY_HAZARD * np.exp(-1.0 * acc.satisfaction)
    hazard *= 0.4 if acc.long_contract else 1.0
    renewal_shock_done = False
    while start < timeline.days:
        end_date = add_months(timeline.on(start), months) - timedelta(days=1)
        end_day = timeline.day_of(end_date)
        years = 3 if acc.long_contract else 1
        fee = list_price(timeline, start, annual * years * (0.9 if years == 3 else 1.0), 1000)
        record = OrderRecord(acc.firm, ordered, product, lx.LINE_SUBSCRIPTION, fee, start, end_date)
        cancel, cause = None, "other"
        for m in range(months):
            t = timeline.months_later(start, m)
            if t >= timeline.days:
                break
            since_rise = t - timeline.price_rise
            h = hazard
            if acc.price_sensitive and 0 <= since_rise < 365:
                # The notice lands: a wave of mid-term cancellations, then a raised hazard.
                h *= 14.0 if since_rise < 60 else 2.5
            if rng.random() < h:
                cancel = t + randint(rng, 0, 28)
                cause = "price" if acc.price_sensitive and 0 <= since_rise < 365 else "other"
                break
        if cancel is None and not renewal_shock_done and end_day + 1 >= timeline.price_rise:
            # The first renewal at the new price: more price-sensitive customers walk away.
            renewal_shock_done = True
            if rng.random() < (0.5 if acc.price_sensitive else 0.05):
                cancel = max(timeline.price_rise, end_day - randint(rng, 0, 40))
                cause = "price"
        if cancel is not None and cancel < min(timeline.days, end_day + 1):
            record.cancelled = cancel
            record.note = _churn_note(rng, cause)
            acc.orders.append(record)
            acc.churn_day, acc.churn_cause, acc.cancelled = cancel, cause, True
            break
        acc.orders.append(record)
        start = end_day + 1
        ordered = start - randint(rng, 5, 25)
    until = acc.churn_day if acc.churn_day is not None else timeline.days
    first = acc.orders[0].day if acc.orders else until
    rate = float(rng.gamma(2.0, 3.5))
    day = timeline.next_purchase(rng, first, rate)
    while day < until:
        acc.orders.append(_supplies_order(rng, timeline, acc.firm, day, mean_spend=60_000.0))
        day = timeline.next_purchase(rng, day, rate)
    acc.orders.sort(key=lambda o: o.day)


def _supplies_order(
    rng: np.random.Generator, timeline: Timeline, firm: int, day: int, *, mean_spend: float
) -> OrderRecord:
    roll = rng.random()
    catalogue, line = (
        (lx.SUPPLIES, lx.LINE_SUPPLIES)
        if roll < 0.8
        else (lx.SERVICES[:3], lx.LINE_SERVICE)
        if roll < 0.9
        else (lx.EQUIPMENT, lx.LINE_EQUIPMENT)
    )
    product = catalogue[randint(rng, 0, len(catalogue))][0]
    amount = float(rng.gamma(SPEND_P, mean_spend / SPEND_P))
    note = "年度末まとめ発注" if timeline.on(day).month == 3 and rng.random() < 0.25 else None
    return OrderRecord(
        firm, day, product, line, max(1000, list_price(timeline, day, amount)), note=note
    )


def _simulate_buyer(rng: np.random.Generator, timeline: Timeline, acc: Account) -> None:
    """BG/NBD purchases with Gamma-Gamma spend; the price rise raises dropout for the sensitive."""
    rate = float(rng.gamma(BUYER_RATE_SHAPE, BUYER_RATE_SCALE))
    dropout = float(rng.beta(BUYER_DROPOUT_A, BUYER_DROPOUT_B))
    dropout = min(0.95, dropout * float(np.exp(-1.0 * acc.satisfaction)))
    dropout_after = min(0.95, dropout + 0.25) if acc.price_sensitive else dropout
    # Some price-sensitive buyers simply stop at the new price.
    stops_at_rise = acc.price_sensitive and rng.random() < 0.35
    nu = float(rng.gamma(SPEND_Q, 1.0 / SPEND_GAMMA))
    mean_spend = SPEND_P / nu
    if acc.acquired_day is None:
        day = timeline.business_day(rng, 0, 60)
        acc.acquired_day = day
        acc.orders.append(_supplies_order(rng, timeline, acc.firm, day, mean_spend=mean_spend))
    else:
        day = acc.acquired_day
        items = rng.choice(len(lx.EQUIPMENT), size=randint(rng, 1, 4), replace=False)
        total = sum(lx.EQUIPMENT[int(i)][1] * randint(rng, 1, 5) for i in items)
        first = lx.EQUIPMENT[int(items[0])][0] + (" 他" if len(items) > 1 else "")
        acc.orders.append(
            OrderRecord(acc.firm, day, first, lx.LINE_EQUIPMENT, list_price(timeline, day, total))
        )
    while True:
        after = day >= timeline.price_rise
        if rng.random() < (dropout_after if after else dropout):
            acc.churn_day = day
            acc.churn_cause = "price" if acc.price_sensitive and after else "other"
            return
        nxt = timeline.next_purchase(rng, day, rate)
        if stops_at_rise and day < timeline.price_rise <= nxt:
            acc.churn_day = timeline.price_rise + randint(rng, 0, 30)
            acc.churn_cause = "price"
            return
        if nxt >= timeline.days:
            return
        day = nxt
        acc.orders.append(_supplies_order(rng, timeline, acc.firm, day, mean_spend=mean_spend))
