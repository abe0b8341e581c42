"""Deals (商談), sales activities and NPS answers, written the way a sales team writes them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mezame.demo import lexicon as lx
from mezame.demo.campaigns import PRICE_NOTICE_DAYS
from mezame.demo.companies import Firm
from mezame.demo.lifecycle import Account, OrderRecord, list_price
from mezame.demo.people import Person
from mezame.demo.timeline import Timeline, randint, weighted

DAY = 86400
REASONS = ("price", "function", "timing", "competitor", "unknown")
# Why deals were lost or postponed, before and after the price rise.
LOST_MIX = {"before": (0.30, 0.24, 0.10, 0.24, 0.12), "after": (0.46, 0.18, 0.08, 0.18, 0.10)}
POSTPONED_MIX = (0.15, 0.05, 0.65, 0.0, 0.15)
ENGLISH_SHARE = 0.1
# Customers who leave over a price rise nearly always say so somewhere; a few just go quiet.
PRICE_TRACE_SHARE = 0.88


@dataclass(slots=True)
class DealRecord:
    index: int
    external_id: str
    firm: int
    person: int | None
    name: str
    phase: str
    outcome: str  # open / won / lost / postponed
    reason: str | None  # true category for lost and postponed deals
    lost_reason: str | None
    amount: int
    product: str
    opened: int
    closed: int | None
    notes: str | None
    owner: int


@dataclass(slots=True)
class ActivityRecord:
    firm: int
    person: int | None
    deal: int | None
    owner: int
    kind: str
    seconds: int
    subject: str
    note: str | None


@dataclass(slots=True)
class SurveyRecord:
    firm: int
    person: int
    survey: str
    seconds: int
    score: int
    comment: str | None


@dataclass(slots=True)
class SalesBook:
    deals: list[DealRecord] = field(default_factory=list)
    activities: list[ActivityRecord] = field(default_factory=list)
    surveys: list[SurveyRecord] = field(default_factory=list)


def _choice(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[randint(rng, 0, len(items))]


def _fiscal_year(timeline: Timeline, day: int) -> int:
    when = timeline.on(day)
    return when.year if when.month >= 4 else when.year - 1


def _reason_text(rng: np.random.Generator, reason: str) -> tuple[str | None, str | None]:
    """A 失注理由 and a 商談メモ for the category; sometimes only one says it, sometimes neither."""
    texts = lx.LOST_REASONS[reason]
    english = [t for t in texts if t.isascii() and t.strip("-")]
    japanese = [t for t in texts if not t.isascii() or not t.strip("-")]
    pool = english if english and rng.random() < ENGLISH_SHARE else japanese
    lost: str | None = pool[randint(rng, 0, len(pool))] or None
    notes: str | None = _choice(rng, lx.DEAL_NOTES[reason]) or None
    roll = rng.random()
    if reason != "unknown" and roll < 0.12:
        lost = None  # the field was left empty; the reason is only in the notes
    elif roll < 0.45:
        notes = None
    return lost, notes


class _Desk:
    """Builds deals and activities for one world."""

    def __init__(
        self,
        rng: np.random.Generator,
        timeline: Timeline,
        firms: list[Firm],
        people: list[Person],
    ) -> None:
        self.rng = rng
        self.timeline = timeline
        self.firms = firms
        self.people = people
        self.book = SalesBook()
        self.staff: dict[int, list[int]] = {}
        for p in people:
            if p.duplicate_of is None and not p.role_mailbox:
                self.staff.setdefault(p.firm, []).append(p.index)

    def contact(self, firm: int, *, primary: bool = False) -> int | None:
        staff = self.staff.get(firm, [])
        if not staff:
            return None
        return staff[0] if primary else staff[randint(self.rng, 0, len(staff))]

    def seconds(self, day: int) -> int:
        """A moment in business hours on `day`."""
        return day * 86400 + randint(self.rng, 9 * 3600, 18 * 3600)

    def deal(
        self,
        firm: int,
        *,
        name: str,
        product: str,
        amount: int,
        opened: int,
        closed: int | None,
        outcome: str,
        reason: str | None = None,
    ) -> DealRecord:
        rng = self.rng
        lost_reason: str | None = None
        if outcome in ("lost", "postponed"):
            assert reason is not None
            lost_reason, notes = _reason_text(rng, reason)
            phase = _choice(rng, lx.DEAL_PHASES_LOST)
        elif outcome == "won":
            notes, phase = _choice(rng, lx.DEAL_NOTES["won"]) or None, "受注"
        else:
            notes, phase = (
                _choice(rng, lx.DEAL_NOTES["open"]) or None,
                _choice(rng, lx.DEAL_PHASES_OPEN),
            )
        deal = DealRecord(
            index=len(self.book.deals),
            external_id=f"SD{300001 + len(self.book.deals)}",
            firm=firm,
            person=self.contact(firm, primary=True),
            name=name,
            phase=phase,
            outcome=outcome,
            reason=reason,
            lost_reason=lost_reason,
            amount=amount,
            product=product,
            opened=opened,
            closed=closed,
            notes=notes.format(product=product) if notes else None,
            owner=self.firms[firm].owner,
        )
        self.book.deals.append(deal)
        self._deal_activities(deal)
        return deal

    def _deal_activities(self, deal: DealRecord) -> None:
        rng, end = self.rng, deal.closed if deal.closed is not None else self.timeline.days - 1
        steps = lx.ACTIVITY_STEPS
        count = randint(rng, 2, len(steps) + 1)
        days = self.timeline.seasonal_days(rng, deal.opened, end + 1, count)
        moments = sorted(self.seconds(int(day)) for day in days)  # the steps happen in order
        for i, moment in enumerate(moments):
            subject, notes = steps[min(i, len(steps) - 1)]
            kind = {
                "初回アポイント": "call",
                "見積送付": "mail",
                "見積フォロー": "call",
            }.get(subject) or _choice(rng, ("visit", "online_meeting", "visit"))
            note = _choice(rng, notes) if rng.random() < 0.8 else None
            self.activity(deal.firm, moment // DAY, kind, subject, note, deal=deal, at=moment)
        if deal.outcome in ("lost", "postponed") and deal.closed is not None:
            subject = "失注連絡" if deal.outcome == "lost" else "見送り連絡"
            note = deal.lost_reason or deal.notes
            self.activity(
                deal.firm, deal.closed, _choice(rng, ("call", "mail")), subject, note, deal=deal
            )

    def activity(
        self,
        firm: int,
        day: int,
        kind: str,
        subject: str,
        note: str | None,
        *,
        deal: DealRecord | None = None,
        at: int | None = None,
    ) -> None:
        person = deal.person if deal is not None else self.contact(firm)
        self.book.activities.append(
            ActivityRecord(
                firm=firm,
                person=person,
                deal=deal.index if deal is not None else None,
                owner=self.firms[firm].owner,
                kind=kind,
                seconds=self.seconds(day) if at is None else at,
                subject=subject,
                note=note,
            )
        )

    def reason(self, day: int, *, postponed: bool) -> str:
        mix = (
            POSTPONED_MIX
            if postponed
            else LOST_MIX["after" if day >= self.timeline.price_rise else "before"]
        )
        return REASONS[weighted(self.rng, mix)]


def _duration(rng: np.random.Generator) -> int:
    return int(np.clip(rng.lognormal(np.log(45), 0.6), 10, 240))


def make_sales(
    rng: np.random.Generator,
    timeline: Timeline,
    firms: list[Firm],
    accounts: list[Account],
    people: list[Person],
) -> SalesBook:
    """Deals for every customer and prospect, with the activities around them and NPS answers."""
    desk = _Desk(rng, timeline, firms, people)
    last = timeline.days - 1
    for firm, acc in zip(firms, accounts, strict=True):
        short = firm.short_name
        if acc.kind == "new_customer" and acc.orders:
            first = acc.orders[0]
            assert acc.deal_day is not None
            deal = desk.deal(
                firm.index,
                name=f"{short}様 {first.product} 導入",
                product=first.product,
                amount=first.amount,
                opened=acc.deal_day,
                closed=first.day,
                outcome="won",
            )
            first.deal = deal.index
        if acc.is_customer:
            _customer_deals(rng, timeline, desk, firm, acc)
            _customer_activities(rng, timeline, desk, firm, acc)
        elif acc.kind == "prospect":
            assert acc.deal_day is not None
            opened = acc.deal_day
            for _ in range(min(5, 1 + int(rng.poisson(1.5)))):
                if opened > last:
                    break
                closed = opened + _duration(rng)
                if rng.random() < 0.7:
                    plan, annual = lx.SUBSCRIPTION_PLANS[randint(rng, 0, 3)]
                    product, amount = f"{plan}（年間）", list_price(timeline, opened, annual, 1000)
                else:
                    product, price = lx.EQUIPMENT[randint(rng, 0, len(lx.EQUIPMENT))]
                    amount = list_price(timeline, opened, price * randint(rng, 2, 12), 1000)
                if closed > last:
                    desk.deal(
                        firm.index,
                        name=f"{short}様 {product} 導入",
                        product=product,
                        amount=amount,
                        opened=opened,
                        closed=None,
                        outcome="open",
                    )
                    break
                postponed = rng.random() < 0.38
                desk.deal(
                    firm.index,
                    name=f"{short}様 {product} 導入",
                    product=product,
                    amount=amount,
                    opened=opened,
                    closed=closed,
                    outcome="postponed" if postponed else "lost",
                    reason=desk.reason(closed, postponed=postponed),
                )
                opened = closed + randint(rng, 60, 300)
    _surveys(rng, timeline, desk, accounts)
    return desk.book


def _customer_deals(
    rng: np.random.Generator, timeline: Timeline, desk: _Desk, firm: Firm, acc: Account
) -> None:
    """Up-sell deals while the customer is active, and the lost renewal of a price churner."""
    assert acc.acquired_day is not None
    end = acc.churn_day if acc.churn_day is not None else timeline.days
    day = acc.acquired_day + int(rng.exponential(365 / 2.0))
    while day < end - 10:
        product, price = lx.SERVICES[randint(rng, 0, len(lx.SERVICES))]
        closed: int | None = day + _duration(rng)
        roll = rng.random()
        if closed is not None and closed >= timeline.days:
            outcome, closed = "open", None
        else:
            outcome = "won" if roll < 0.45 else "lost" if roll < 0.8 else "postponed"
        reason = (
            desk.reason(day, postponed=outcome == "postponed")
            if outcome in ("lost", "postponed")
            else None
        )
        amount = list_price(timeline, day, price, 1000)
        deal = desk.deal(
            firm.index,
            name=f"{firm.short_name}様 {product} 追加",
            product=product,
            amount=amount,
            opened=day,
            closed=closed,
            outcome=outcome,
            reason=reason,
        )
        if outcome == "won" and closed is not None and closed < end:
            acc.orders.append(
                OrderRecord(firm.index, closed, product, lx.LINE_SERVICE, amount, deal=deal.index)
            )
        day += int(rng.exponential(365 / 2.0)) + 30
    churned = acc.churn_day
    if acc.cancelled and acc.churn_cause == "price" and churned is not None and rng.random() < 0.6:
        # The renewal they did not sign, lost on price.
        fy = _fiscal_year(timeline, churned) + 1
        contract = next(o for o in reversed(acc.orders) if o.contract_start is not None)
        desk.deal(
            firm.index,
            name=f"{firm.short_name}様 契約更新（{fy}年度）",
            product=contract.product,
            amount=contract.amount,
            opened=max(acc.acquired_day, churned - randint(rng, 20, 60)),
            closed=churned,
            outcome="lost",
            reason="price",
        )
    acc.orders.sort(key=lambda o: o.day)


def _customer_activities(
    rng: np.random.Generator, timeline: Timeline, desk: _Desk, firm: Firm, acc: Account
) -> None:
    """Regular follow-ups while active; the price-rise talk; the cancellation call."""
    assert acc.acquired_day is not None
    end = acc.churn_day if acc.churn_day is not None else timeline.days
    day = acc.acquired_day + int(rng.exponential(100)) + 14
    while day < end:
        subject, notes = lx.FOLLOW_UPS[randint(rng, 0, len(lx.FOLLOW_UPS))]
        kind = _choice(rng, ("visit", "call", "call", "mail", "online_meeting"))
        desk.activity(firm.index, day, kind, subject, _choice(rng, notes) or None)
        day += int(rng.exponential(100)) + 14
    rise = timeline.price_rise
    if acc.price_sensitive and acc.active_on(rise - 20) and rng.random() < 0.5:
        talk = min(timeline.days - 1, rise + randint(rng, -20, 40))
        desk.activity(firm.index, talk, "call", "価格改定のご説明", _choice(rng, lx.PRICE_TALK))
    if acc.cancelled and acc.churn_day is not None and acc.churn_cause is not None:
        desk.activity(
            firm.index, acc.churn_day, "call", "解約のお申し出", lx.CANCEL_TALK[acc.churn_cause]
        )
    elif acc.churn_cause == "price" and rng.random() < PRICE_TRACE_SHARE:
        _price_trace(rng, timeline, desk, firm, acc)


def _price_trace(
    rng: np.random.Generator, timeline: Timeline, desk: _Desk, firm: Firm, acc: Account
) -> None:
    """What a buyer who stopped at the new price said, after the notice or their last order.

    The reply, the question or the rep's call comes weeks after whichever was later: the
    notice, or the last order (the rep calls when the usual next one does not come).
    """
    last_order = acc.orders[-1].day if acc.orders else timeline.price_rise
    since = max(last_order, timeline.price_rise - PRICE_NOTICE_DAYS)
    day = min(timeline.days - 1, since + randint(rng, 7, 60))
    kind, subject, notes = lx.PRICE_TRACES[randint(rng, 0, len(lx.PRICE_TRACES))]
    desk.activity(firm.index, day, kind, subject, _choice(rng, notes))


def survey_days(timeline: Timeline) -> list[int]:
    """The yearly 顧客満足度アンケート: four months into the history, then a year later."""
    return [day for day in (120, 120 + 365) if day < timeline.days]


def _surveys(
    rng: np.random.Generator, timeline: Timeline, desk: _Desk, accounts: list[Account]
) -> None:
    """NPS from each active customer's main contact: satisfaction drives both score and churn."""
    for day in survey_days(timeline):
        name = f"{timeline.on(day).year}年 顧客満足度アンケート"
        after_rise = day >= timeline.price_rise
        for acc in accounts:
            if not acc.active_on(day):
                continue
            for person in desk.staff.get(acc.firm, []):
                if desk.people[person].email is not None and rng.random() < 0.35:
                    _answer(rng, desk, acc, person, name, day, after_rise)


def _answer(
    rng: np.random.Generator,
    desk: _Desk,
    acc: Account,
    person: int,
    name: str,
    day: int,
    after_rise: bool,
) -> None:
    """One NPS answer: satisfaction drives the score (and churn); the price rise lowers it."""
    penalty = 2.2 if acc.price_sensitive and after_rise else 0.0
    raw = 7.4 + 1.8 * acc.satisfaction - penalty + rng.normal(0, 0.9)
    score = int(np.clip(round(raw), 0, 10))
    band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    if band == "detractor" and penalty and rng.random() < 0.7:
        band = "price"
    comment = _choice(rng, lx.NPS_COMMENTS[band]) or None
    answered = min(desk.timeline.days - 1, day + randint(rng, 0, 14))
    desk.book.surveys.append(
        SurveyRecord(acc.firm, person, name, desk.seconds(answered), score, comment)
    )
