"""The history dormancy is judged from, read as NumPy columns with a handful of queries.

Each query is one pass over its table (orders, contracts, deals, contacts, responses,
activities); aggregates are done by the database (GROUP BY) or by NumPy on whole columns, so
the cost grows with the tables, not with a Python loop over rows. Only the texts of dormant
companies (cancellation notes, lost-deal reasons, sales notes and survey comments around the
day they fell asleep) come back as Python strings.

Days are int64 counts since 1970-01-01 (rules.MISSING for "never"); companies and contacts
are numbered by their position in id order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from mezame.dormancy import rules
from mezame.dormancy.rules import MISSING, DormancyPolicy
from mezame.models import (
    Company,
    Contact,
    Deal,
    EngagementEvent,
    Order,
    SalesActivity,
    SurveyAnswer,
)
from mezame.stats.thresholds import distinct
from mezame.vocabulary import DealOutcome, EventType

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

FETCH_BATCH = 200_000
# Notes and comments this near the day a company fell asleep tell why it left: the talk about
# a price rise before the last order, the cancellation call after it.
TEXT_BEFORE_LEAVING_DAYS = 120
TEXT_AFTER_LEAVING_DAYS = 90
OUTCOME_CODES = {DealOutcome.OPEN: 0, DealOutcome.WON: 1, DealOutcome.LOST: 2}
OUTCOME_POSTPONED = 3


def epoch_day_sql(session: Session, column: Any, *, timestamp: bool = False) -> ColumnElement[int]:
    """Days since 1970-01-01 of a date (or UTC day of a timestamp), computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        day = cast(func.timezone("UTC", column) if timestamp else column, Date)
        return type_coerce(day - literal_column("DATE '1970-01-01'"), Integer)
    # unixepoch() reads dates and the stored UTC timestamps alike, and is cheaper than julianday().
    return type_coerce(func.unixepoch(column), Integer) // 86400


def columns(session: Session, stmt: Any, count: int) -> list[IntArray]:
    """The statement's integer columns as int64 arrays (NULL must be coalesced away in SQL).

    Rows come straight from the driver's cursor: integers need no result processing, and
    building Row objects cost three times the fetch itself over millions of rows.
    """
    result = session.connection().execute(stmt)
    cursor = result.cursor
    chunks: list[NDArray[np.int64]] = []
    try:
        while rows := cursor.fetchmany(FETCH_BATCH):
            flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * count)
            chunks.append(flat.reshape(-1, count))
    finally:
        result.close()
    if not chunks:
        return [np.zeros(0, dtype=np.int64) for _ in range(count)]
    table = np.concatenate(chunks)
    return [np.ascontiguousarray(table[:, i]) for i in range(count)]


def positions(ids: IntArray, keys: IntArray) -> IntArray:
    """Where each key sits in the sorted `ids` (-1 when absent)."""
    position = np.searchsorted(ids, keys)
    inside = position < ids.size
    found = np.zeros(keys.size, dtype=bool)
    found[inside] = ids[position[inside]] == keys[inside]
    return np.where(found, position, -1)


def latest_per_group(groups: IntArray, days: IntArray, n: int) -> tuple[IntArray, IntArray]:
    """For each group 0..n-1: the row with the latest day (ties: the last row), -1 for none."""
    row = np.full(n, -1, dtype=np.int64)
    day = np.full(n, MISSING, dtype=np.int64)
    if groups.size:
        order = np.lexsort((np.arange(groups.size), days, groups))
        last = np.r_[groups[order][1:] != groups[order][:-1], True]
        chosen = order[last]
        row[groups[chosen]] = chosen
        day[groups[chosen]] = days[chosen]
    return row, day


def take(values: IntArray, row: IntArray, fill: int = 0) -> IntArray:
    """values[row] where row ≥ 0, else `fill`."""
    if values.size == 0:
        return np.full(row.size, fill, dtype=np.int64)
    return np.where(row >= 0, values[np.maximum(row, 0)], fill)


# ---------------------------------------------------------------------------------------------
# The history, as arrays


@dataclass(slots=True)
class Companies:
    ids: IntArray
    owner: IntArray  # 0 = none
    has_phone: BoolArray
    has_address: BoolArray
    # orders
    order_count: IntArray
    spend: FloatArray
    last_order: IntArray
    order_contact: IntArray  # contact on the latest order that names one; 0 = none
    contract_end: IntArray
    cancellation: IntArray
    contract_months: IntArray
    # deals
    open_deals: IntArray
    has_deals: BoolArray
    last_lost: IntArray
    last_lost_postponed: BoolArray
    lost_deal_id: IntArray  # 0 = none
    lost_deal_contact: IntArray
    lost_deal_owner: IntArray
    lost_deal_amount: FloatArray
    latest_deal_contact: IntArray


@dataclass(slots=True)
class Contacts:
    ids: IntArray
    company: IntArray  # position in companies, -1 = none
    owner: IntArray
    acquired: IntArray
    last_response: IntArray
    mailable: BoolArray
    has_phone: BoolArray


def load_companies(session: Session, as_of: date, as_of_day: int) -> Companies:
    ids, owner, phone, address = columns(
        session,
        select(
            Company.id,
            func.coalesce(Company.owner_id, 0),
            case((func.coalesce(Company.phone, "") != "", 1), else_=0),
            case((func.coalesce(Company.address, "") != "", 1), else_=0),
        )
        .where(Company.merged_into_id.is_(None))
        .order_by(Company.id),
        4,
    )
    n = ids.size
    return Companies(
        ids=ids,
        owner=owner,
        has_phone=phone.astype(bool),
        has_address=address.astype(bool),
        order_count=np.zeros(n, dtype=np.int64),
        spend=np.zeros(n),
        last_order=np.full(n, MISSING, dtype=np.int64),
        order_contact=np.zeros(n, dtype=np.int64),
        contract_end=np.full(n, MISSING, dtype=np.int64),
        cancellation=np.full(n, MISSING, dtype=np.int64),
        contract_months=np.zeros(n, dtype=np.int64),
        open_deals=np.zeros(n, dtype=np.int64),
        has_deals=np.zeros(n, dtype=bool),
        last_lost=np.full(n, MISSING, dtype=np.int64),
        last_lost_postponed=np.zeros(n, dtype=bool),
        lost_deal_id=np.zeros(n, dtype=np.int64),
        lost_deal_contact=np.zeros(n, dtype=np.int64),
        lost_deal_owner=np.zeros(n, dtype=np.int64),
        lost_deal_amount=np.zeros(n),
        latest_deal_contact=np.zeros(n, dtype=np.int64),
    )


@dataclass(frozen=True, slots=True)
class Orders:
    company: IntArray  # position
    day: IntArray
    amount: FloatArray


def load_orders(session: Session, c: Companies, as_of: date, as_of_day: int) -> Orders:
    """Every order up to as_of in one pass, folded per company: counts, spend, dates, contracts.

    A contract runs to its end unless cancelled by as_of; a cancellation after as_of had not
    happened yet. Months under contract run from start to end or cancellation.
    """
    company_id, day, amount, contact, start, end, cancelled = columns(
        session,
        select(
            Order.company_id,
            epoch_day_sql(session, Order.ordered_on),
            Order.amount,
            func.coalesce(Order.contact_id, 0),
            func.coalesce(epoch_day_sql(session, Order.contract_start), MISSING),
            func.coalesce(epoch_day_sql(session, Order.contract_end), MISSING),
            func.coalesce(epoch_day_sql(session, Order.cancelled_on), MISSING),
        ).where(Order.ordered_on <= as_of),
        7,
    )
    # Orders of a merged-away company count once the merge has moved them to the survivor.
    position = positions(c.ids, company_id)
    kept = position >= 0
    position, day, amount, contact = position[kept], day[kept], amount[kept], contact[kept]
    start, end, cancelled = start[kept], end[kept], cancelled[kept]
    n = c.ids.size
    c.order_count = np.bincount(position, minlength=n).astype(np.int64)
    c.spend = np.bincount(position, weights=amount.astype(np.float64), minlength=n).astype(
        np.float64
    )
    np.maximum.at(c.last_order, position, day)
    named = contact > 0
    row, _ = latest_per_group(position[named], day[named], n)
    c.order_contact = take(contact[named], row)

    cancelled = np.where(cancelled <= as_of_day, cancelled, MISSING)
    np.maximum.at(c.cancellation, position, cancelled)
    running = end != MISSING
    np.maximum.at(
        c.contract_end, position[running], np.where(cancelled == MISSING, end, MISSING)[running]
    )
    dated = running & (start != MISSING)
    stop = np.where(cancelled != MISSING, cancelled, end)
    months_per_company = np.bincount(
        position[dated], weights=np.maximum(stop - start, 0)[dated], minlength=n
    )
    c.contract_months = (months_per_company // rules.DAYS_PER_MONTH).astype(np.int64)
    return Orders(position, day, amount.astype(np.float64))


def load_deals(session: Session, c: Companies, as_of: date, as_of_day: int) -> None:
    """Open deals, the last won deal (a customer) and the latest lost or postponed one."""
    outcome = case(
        (Deal.outcome == DealOutcome.OPEN.value, 0),
        (Deal.outcome == DealOutcome.WON.value, 1),
        (Deal.outcome == DealOutcome.LOST.value, 2),
        (Deal.outcome == DealOutcome.POSTPONED.value, OUTCOME_POSTPONED),
        else_=-1,
    )
    deal_id, company_id, code, opened, closed, contact, owner, amount = columns(
        session,
        select(
            Deal.id,
            Deal.company_id,
            outcome,
            func.coalesce(epoch_day_sql(session, Deal.opened_on), MISSING),
            # A closed deal without a close date closed when it opened, as far as we know.
            func.coalesce(
                epoch_day_sql(session, func.coalesce(Deal.closed_on, Deal.opened_on)), MISSING
            ),
            func.coalesce(Deal.contact_id, 0),
            func.coalesce(Deal.owner_id, 0),
            func.coalesce(Deal.amount, 0),
        ).where(
            Deal.company_id.is_not(None),
            or_(Deal.opened_on.is_(None), Deal.opened_on <= as_of),
        ),
        8,
    )
    kept = positions(c.ids, company_id) >= 0
    deal_id, company_id, code, opened, closed, contact, owner, amount = (
        column[kept]
        for column in (deal_id, company_id, code, opened, closed, contact, owner, amount)
    )
    position = positions(c.ids, company_id)
    n = c.ids.size
    c.has_deals[position] = True
    known = code >= 0
    closed_by_then = (closed != MISSING) & (closed <= as_of_day)
    # A deal closed after as_of was still open on as_of.
    still_open = known & (
        (code == OUTCOME_CODES[DealOutcome.OPEN]) | ((closed != MISSING) & ~closed_by_then)
    )
    c.open_deals = np.bincount(position[still_open], minlength=n).astype(np.int64)
    won = (code == OUTCOME_CODES[DealOutcome.WON]) & closed_by_then
    np.maximum.at(c.last_order, position[won], closed[won])
    not_won = np.isin(code, [OUTCOME_CODES[DealOutcome.LOST], OUTCOME_POSTPONED]) & closed_by_then
    row, day = latest_per_group(position[not_won], closed[not_won], n)
    c.last_lost = day
    c.last_lost_postponed = take(code[not_won], row, -1) == OUTCOME_POSTPONED
    c.lost_deal_id = take(deal_id[not_won], row)
    c.lost_deal_contact = take(contact[not_won], row)
    c.lost_deal_owner = take(owner[not_won], row)
    c.lost_deal_amount = take(amount[not_won], row).astype(np.float64)
    named = known & (contact > 0)
    row, _ = latest_per_group(position[named], np.maximum(opened, closed)[named], n)
    c.latest_deal_contact = take(contact[named], row)


@dataclass(frozen=True, slots=True)
class Responses:
    contact: IntArray  # position in contacts
    day: IntArray


def load_contacts(
    session: Session, c: Companies, policy: DormancyPolicy, as_of: date, as_of_day: int
) -> tuple[Contacts, Responses]:
    ids, company_id, acquired, owner, mailable, phone = columns(
        session,
        select(
            Contact.id,
            func.coalesce(Contact.company_id, 0),
            func.coalesce(epoch_day_sql(session, Contact.acquired_on), MISSING),
            func.coalesce(Contact.owner_id, 0),
            case((func.coalesce(Contact.email, "") != "", 1), else_=0),
            case(
                (
                    or_(
                        func.coalesce(Contact.phone, "") != "",
                        func.coalesce(Contact.mobile, "") != "",
                    ),
                    1,
                ),
                else_=0,
            ),
        )
        .where(Contact.merged_into_id.is_(None))
        .order_by(Contact.id),
        6,
    )
    # Acquisition after as_of has not happened yet.
    acquired = np.where(acquired > as_of_day, MISSING, acquired)
    before_end = EngagementEvent.occurred_at < day_after(as_of)
    event_contact, event_day = columns(
        session,
        select(
            EngagementEvent.contact_id,
            epoch_day_sql(session, EngagementEvent.occurred_at, timestamp=True),
        ).where(
            EngagementEvent.type.in_([e.value for e in policy.response_events]),
            EngagementEvent.contact_id.is_not(None),
            before_end,
        ),
        2,
    )
    activity_contact, activity_day = columns(
        session,
        select(
            SalesActivity.contact_id,
            epoch_day_sql(session, func.max(SalesActivity.occurred_at), timestamp=True),
        )
        .where(SalesActivity.contact_id.is_not(None), SalesActivity.occurred_at < day_after(as_of))
        .group_by(SalesActivity.contact_id),
        2,
    )
    unsubscribed = distinct(
        columns(
            session,
            select(EngagementEvent.contact_id).where(
                EngagementEvent.type.in_(
                    [EventType.MAIL_UNSUBSCRIBED.value, EventType.MAIL_BOUNCED.value]
                ),
                EngagementEvent.contact_id.is_not(None),
                before_end,
            ),
            1,
        )[0]
    )
    n = ids.size
    last_response = np.full(n, MISSING, dtype=np.int64)
    event_position = positions(ids, event_contact)
    kept = event_position >= 0
    event_position, event_day = event_position[kept], event_day[kept]
    np.maximum.at(last_response, event_position, event_day)
    activity_position = positions(ids, activity_contact)
    kept = activity_position >= 0
    np.maximum.at(last_response, activity_position[kept], activity_day[kept])
    contacts = Contacts(
        ids=ids,
        company=positions(c.ids, company_id),
        owner=owner,
        acquired=acquired,
        last_response=last_response,
        mailable=mailable.astype(bool) & (positions(unsubscribed, ids) < 0),
        has_phone=phone.astype(bool),
    )
    return contacts, Responses(event_position, event_day)


def day_after(day: date) -> datetime:
    """Midnight UTC after `day`: events before it happened on or before that day."""
    return datetime.fromordinal(day.toordinal() + 1).replace(tzinfo=UTC)


def last_lines(session: Session, company_ids: IntArray, as_of: date) -> NDArray[np.object_]:
    """The product line of each company's last order (None where unknown)."""
    last = (
        select(Order.company_id, func.max(Order.ordered_on).label("last"))
        .where(Order.ordered_on <= as_of)
        .group_by(Order.company_id)
        .subquery()
    )
    rows = session.execute(
        select(Order.company_id, Order.product_line).join(
            last, and_(Order.company_id == last.c.company_id, Order.ordered_on == last.c.last)
        )
    ).all()
    lines = np.full(company_ids.size, None, dtype=object)
    if rows:
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        lines[positions(company_ids, ids)] = [r[1] for r in rows]
    return lines


# ---------------------------------------------------------------------------------------------
# Reasons


def company_texts(
    session: Session,
    company_positions: IntArray,
    c: Companies,
    fell_asleep: IntArray,
    as_of: date,
) -> list[str | None]:
    """Per company record, what was written when it left, one field per line, strongest first.

    The latest cancellation's note; the latest lost or postponed deal's reason and notes —
    unless the company kept ordering after that deal, which then was not why it left; then
    the sales notes and survey comments from around the day it fell asleep, oldest first.
    """
    n = company_positions.size
    lines: list[list[str]] = [[] for _ in range(n)]
    record_of_company = {int(c.ids[p]): i for i, p in enumerate(company_positions)}
    telling = c.last_lost[company_positions] >= c.last_order[company_positions]
    telling_deal = np.where(telling, c.lost_deal_id[company_positions], 0)
    cancelled = (
        select(Order.company_id, Order.notes)
        .where(
            Order.cancelled_on.is_not(None),
            Order.cancelled_on <= as_of,
            Order.notes.is_not(None),
            Order.notes != "",
        )
        .order_by(Order.cancelled_on.desc())
    )
    seen: set[int] = set()
    for company_id, notes in session.execute(cancelled):
        record = record_of_company.get(company_id)
        if record is not None and notes and company_id not in seen:
            seen.add(company_id)
            lines[record].append(notes)
    record_of_deal = {int(d): i for i, d in enumerate(telling_deal.tolist()) if d}
    for deal_id, lost_reason, notes in in_chunks(
        session,
        lambda ids: select(Deal.id, Deal.lost_reason, Deal.notes).where(Deal.id.in_(ids)),
        list(record_of_deal),
    ):
        lines[record_of_deal[deal_id]] += [t for t in (lost_reason, notes) if t]
    for company_id, text in texts_around_leaving(
        session, c.ids[company_positions], fell_asleep, telling_deal, as_of
    ):
        lines[record_of_company[company_id]].append(text)
    return ["\n".join(dict.fromkeys(parts)) if parts else None for parts in lines]


def texts_around_leaving(
    session: Session,
    company_ids: IntArray,
    fell_asleep: IntArray,
    telling_deal: IntArray,
    as_of: date,
) -> list[tuple[int, str]]:
    """(company id, text) of activity subjects and notes and survey comments near leaving.

    The window per company goes into a temporary table so the database joins it with the
    indexed activities and answers: one query each, whatever the number of companies.
    Activities of other deals are left out: they tell why that deal ended.
    """
    window = Table(
        "dormancy_text_window",
        MetaData(),
        Column("company_id", Integer, primary_key=True),
        Column("first_day", Integer),
        Column("last_day", Integer),
        Column("deal_id", Integer),
        prefixes=["TEMPORARY"],
    )
    conn = session.connection()
    window.create(conn)
    try:
        rows = list(
            zip(
                company_ids.tolist(),
                (fell_asleep - TEXT_BEFORE_LEAVING_DAYS).tolist(),
                (fell_asleep + TEXT_AFTER_LEAVING_DAYS).tolist(),
                telling_deal.tolist(),
                strict=True,
            )
        )
        if rows:
            conn.execute(
                window.insert(),
                [
                    {"company_id": a, "first_day": b, "last_day": d, "deal_id": e}
                    for a, b, d, e in rows
                ],
            )
        end = day_after(as_of)
        activity_day = epoch_day_sql(session, SalesActivity.occurred_at, timestamp=True)
        activities = (
            select(SalesActivity.company_id, SalesActivity.subject, SalesActivity.note)
            .join(window, window.c.company_id == SalesActivity.company_id)
            .where(
                activity_day.between(window.c.first_day, window.c.last_day),
                SalesActivity.occurred_at < end,
                or_(SalesActivity.deal_id.is_(None), SalesActivity.deal_id == window.c.deal_id),
            )
            .order_by(SalesActivity.occurred_at)
        )
        answer_day = epoch_day_sql(session, SurveyAnswer.answered_at, timestamp=True)
        comments = (
            select(SurveyAnswer.company_id, SurveyAnswer.comment)
            .join(window, window.c.company_id == SurveyAnswer.company_id)
            .where(
                answer_day.between(window.c.first_day, window.c.last_day),
                SurveyAnswer.answered_at < end,
                SurveyAnswer.comment.is_not(None),
            )
            .order_by(SurveyAnswer.answered_at)
        )
        texts = [
            (company_id, text)
            for company_id, subject, note in conn.execute(activities)
            for text in (subject, note)
            if text and company_id is not None
        ]
        texts += [
            (company_id, comment)
            for company_id, comment in conn.execute(comments)
            if comment and company_id is not None
        ]
    finally:
        window.drop(conn)
    return texts


def in_chunks(session: Session, query: Callable[[list[int]], Any], ids: list[int]) -> list[Any]:
    """Rows of `query(chunk)` over ids in chunks small enough for any backend's IN list."""
    rows: list[Any] = []
    for start in range(0, len(ids), 10_000):
        rows.extend(session.execute(query(ids[start : start + 10_000])).all())
    return rows
