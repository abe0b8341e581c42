"""Read companies, contacts and a contact's timeline as plain dataclasses (no ORM object leaks).

Lists stay fast over hundreds of thousands of rows: newest first by primary key (an index
walk that stops once the page is full), substring search bounded by that walk, exact
matches on the indexed external id, and a count that stops at COUNT_CAP + 1 rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from mezame.errors import NotFoundError
from mezame.models import (
    Company,
    ConsentRecord,
    Contact,
    Deal,
    EngagementEvent,
    Order,
    SalesActivity,
    SurveyAnswer,
)

# Counting stops here: "10,000+" tells a user as much as an exact 123,456 and costs far less.
COUNT_CAP = 10_000
MAX_PER_PAGE = 200
COMPANY_CONTACTS_SHOWN = 100

# Entries that close a record another entry opened (deal -> outcome, order -> cancellation).
_OUTCOME_KINDS = frozenset({"deal_won", "deal_lost", "deal_postponed", "contract_cancelled"})

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `total` is exact unless `total_capped` (then it is COUNT_CAP)."""

    items: list[T]
    page: int
    per_page: int
    total: int
    total_capped: bool

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total or (
            self.total_capped and len(self.items) == self.per_page
        )

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def page_count(self) -> int | None:
        """Number of pages, or None when the total is only known to exceed the cap."""
        if self.total_capped:
            return None
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class Count:
    """A number of rows; `capped` means "at least `value`" (value is then COUNT_CAP)."""

    value: int
    capped: bool


@dataclass(frozen=True)
class CompanySummary:
    id: int
    name: str
    external_id: str | None
    corporate_number: str | None
    industry: str | None
    status: str
    address: str | None
    phone: str | None
    contact_count: int
    last_ordered_on: date | None


@dataclass(frozen=True)
class ContactSummary:
    id: int
    name: str | None
    email: str | None
    external_id: str | None
    company_id: int | None
    company_name: str | None
    department: str | None
    title: str | None
    phone: str | None
    source: str | None
    last_seen_at: datetime | None


@dataclass(frozen=True)
class CompanyDetail:
    id: int
    name: str
    name_kana: str | None
    external_id: str | None
    corporate_number: str | None
    industry: str | None
    employee_count: int | None
    status: str
    status_updated_at: date | None
    phone: str | None
    website: str | None
    postal_code: str | None
    address: str | None
    source: str | None
    notes: str | None
    contact_count: int
    contacts: list[ContactSummary]  # the newest COMPANY_CONTACTS_SHOWN
    order_count: int
    order_total: int
    last_ordered_on: date | None
    deal_outcomes: dict[str, int]  # outcome -> number of deals
    merged_into_id: int | None = None  # set when a merge folded this company into another


@dataclass(frozen=True)
class ContactDetail:
    id: int
    name: str | None
    name_kana: str | None
    email: str | None
    external_id: str | None
    company_id: int | None
    company_name: str | None
    department: str | None
    title: str | None
    phone: str | None
    mobile: str | None
    source: str | None
    acquired_on: date | None
    hearing_notes: str | None
    last_seen_at: datetime | None
    consent_basis: str | None  # the latest unwithdrawn e-mail consent, if any
    merged_into_id: int | None = None  # set when a merge folded this contact into another


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened with a contact; `source` says which table, `kind` what exactly.

    Kinds: event types (vocabulary.EventType), activity kinds (vocabulary.ActivityKind),
    deal_opened / deal_won / deal_lost / deal_postponed, order, contract_cancelled, survey.
    """

    at: datetime
    source: str  # event / activity / deal / order / survey
    kind: str
    title: str | None = None
    detail: str | None = None
    url: str | None = None
    amount: int | None = None
    score: int | None = None
    watch_seconds: int | None = None
    period_start: date | None = None  # contract period of an order
    period_end: date | None = None
    all_day: bool = False  # dated, not timed (deals, orders): show the day only
    record_id: int = 0


def list_companies(
    session: Session, *, query: str | None, page: int, per_page: int
) -> Page[CompanySummary]:
    """Companies, newest first, matching name, kana, external id or corporate number."""
    page, per_page = _bounded(page, per_page)
    conditions: list[ColumnElement[bool]] = [Company.merged_into_id.is_(None)]
    term = (query or "").strip()
    if term:
        conditions.append(
            or_(
                _contains(session, Company.name, term),
                _contains(session, Company.name_kana, term),
                Company.external_id == term,
                Company.corporate_number == term,
            )
        )
    stmt = (
        select(
            Company.id,
            Company.name,
            Company.external_id,
            Company.corporate_number,
            Company.industry,
            Company.status,
            Company.address,
            Company.phone,
        )
        .where(*conditions)
        .order_by(Company.id.desc())
    )
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    ids = [r.id for r in rows]
    contact_counts = _contact_counts(session, ids)
    last_orders = dict(
        session.execute(
            select(Order.company_id, func.max(Order.ordered_on))
            .where(Order.company_id.in_(ids))
            .group_by(Order.company_id)
        ).all()
    )
    items = [
        CompanySummary(
            id=r.id,
            name=r.name,
            external_id=r.external_id,
            corporate_number=r.corporate_number,
            industry=r.industry,
            status=r.status,
            address=r.address,
            phone=r.phone,
            contact_count=contact_counts.get(r.id, 0),
            last_ordered_on=last_orders.get(r.id),
        )
        for r in rows
    ]
    total, capped = _total(
        session, select(Company.id).where(*conditions), page, per_page, len(items)
    )
    return Page(items=items, page=page, per_page=per_page, total=total, total_capped=capped)


def list_contacts(
    session: Session,
    *,
    query: str | None,
    company_id: int | None = None,
    page: int,
    per_page: int,
) -> Page[ContactSummary]:
    """Contacts, newest first, matching name, kana, email, external id or company name."""
    page, per_page = _bounded(page, per_page)
    conditions: list[ColumnElement[bool]] = [Contact.merged_into_id.is_(None)]
    if company_id is not None:
        conditions.append(Contact.company_id == company_id)
    term = (query or "").strip()
    if term:
        matching_companies = select(Company.id).where(_contains(session, Company.name, term))
        matches = [
            _contains(session, Contact.name, term),
            _contains(session, Contact.name_kana, term),
            Contact.external_id == term,
            Contact.company_id.in_(matching_companies),
        ]
        if term.isascii():
            # E-mail addresses are ASCII: a Japanese term cannot match one, so skip that scan.
            matches.append(_contains(session, Contact.email, term))
        conditions.append(or_(*matches))
    stmt = (
        _contact_summary_select()
        .where(*conditions)
        .order_by(Contact.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [_contact_summary(r) for r in session.execute(stmt)]
    total, capped = _total(
        session, select(Contact.id).where(*conditions), page, per_page, len(items)
    )
    return Page(items=items, page=page, per_page=per_page, total=total, total_capped=capped)


def get_company(session: Session, *, company_id: int) -> CompanyDetail:
    """One company with its contacts, order totals and deal outcomes."""
    company = session.get(Company, company_id)
    if company is None:
        raise NotFoundError(f"company {company_id} does not exist")
    contacts = [
        _contact_summary(r)
        for r in session.execute(
            _contact_summary_select()
            .where(Contact.company_id == company_id, Contact.merged_into_id.is_(None))
            .order_by(Contact.id.desc())
            .limit(COMPANY_CONTACTS_SHOWN)
        )
    ]
    order_count, order_total, last_ordered_on = session.execute(
        select(
            func.count(Order.id),
            func.coalesce(func.sum(Order.amount), 0),
            func.max(Order.ordered_on),
        ).where(Order.company_id == company_id)
    ).one()
    deal_outcomes = dict(
        session.execute(
            select(Deal.outcome, func.count(Deal.id))
            .where(Deal.company_id == company_id)
            .group_by(Deal.outcome)
        ).all()
    )
    return CompanyDetail(
        id=company.id,
        name=company.name,
        name_kana=company.name_kana,
        external_id=company.external_id,
        corporate_number=company.corporate_number,
        industry=company.industry,
        employee_count=company.employee_count,
        status=company.status,
        status_updated_at=company.status_updated_at,
        phone=company.phone,
        website=company.website,
        postal_code=company.postal_code,
        address=company.address,
        source=company.source,
        notes=company.notes,
        contact_count=_contact_counts(session, [company_id]).get(company_id, 0),
        contacts=contacts,
        order_count=order_count,
        order_total=int(order_total),
        last_ordered_on=last_ordered_on,
        deal_outcomes=deal_outcomes,
        merged_into_id=company.merged_into_id,
    )


def get_contact(session: Session, *, contact_id: int) -> ContactDetail:
    """One contact with its company's name and current mail consent."""
    row = session.execute(
        select(Contact, Company.name.label("company_name"))
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(Contact.id == contact_id)
    ).first()
    if row is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    contact: Contact = row.Contact
    consent_basis = session.scalar(
        select(ConsentRecord.basis)
        .where(
            ConsentRecord.contact_id == contact_id,
            ConsentRecord.channel == "email",
            ConsentRecord.withdrawn_at.is_(None),
        )
        .order_by(ConsentRecord.obtained_at.desc(), ConsentRecord.id.desc())
        .limit(1)
    )
    return ContactDetail(
        id=contact.id,
        name=contact.name,
        name_kana=contact.name_kana,
        email=contact.email,
        external_id=contact.external_id,
        company_id=contact.company_id,
        company_name=row.company_name,
        department=contact.department,
        title=contact.title,
        phone=contact.phone,
        mobile=contact.mobile,
        source=contact.source,
        acquired_on=contact.acquired_on,
        hearing_notes=contact.hearing_notes,
        last_seen_at=contact.last_seen_at,
        consent_basis=consent_basis,
        merged_into_id=contact.merged_into_id,
    )


def contact_timeline(
    session: Session, *, contact_id: int, limit: int = 200, tz: tzinfo = UTC
) -> list[TimelineEntry]:
    """The contact's history, newest first: events, activities, deals, orders, surveys.

    Deals and activities that name no contact but belong to the contact's company are
    included (imports often carry only the company); orders are always the company's.
    Day-only records (deals, orders) are placed at the start of that day in `tz`.
    """
    contact = session.execute(
        select(Contact.id, Contact.company_id).where(Contact.id == contact_id)
    ).first()
    if contact is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    company_id = contact.company_id
    limit = max(1, limit)
    entries = [
        *_event_entries(session, contact_id, limit),
        *_activity_entries(session, contact_id, company_id, limit),
        *_deal_entries(session, contact_id, company_id, limit, tz),
        *_order_entries(session, company_id, limit, tz),
        *_survey_entries(session, contact_id, limit),
    ]
    # Same moment and record (a deal opened and won the same day): the outcome is the newer.
    entries.sort(
        key=lambda e: (e.at, e.source, e.record_id, e.kind in _OUTCOME_KINDS), reverse=True
    )
    return entries[:limit]


def count_customers(session: Session) -> dict[str, Count]:
    """Headline counts for the home page (capped like the lists)."""
    return {
        "companies": Count(
            *_capped_count(session, select(Company.id).where(Company.merged_into_id.is_(None)))
        ),
        "contacts": Count(
            *_capped_count(session, select(Contact.id).where(Contact.merged_into_id.is_(None)))
        ),
        "open_deals": Count(*_capped_count(session, select(Deal.id).where(Deal.outcome == "open"))),
    }


def _bounded(page: int, per_page: int) -> tuple[int, int]:
    return max(1, page), min(max(1, per_page), MAX_PER_PAGE)


def _contains(session: Session, column: Any, term: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; % and _ in the term are literal."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE already ignores ASCII case; ilike's lower() on every row costs 3-4x.
        return column.like(pattern, escape="\\")  # type: ignore[no-any-return]
    return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]


def _total(
    session: Session, ids: Select[Any], page: int, per_page: int, shown: int
) -> tuple[int, bool]:
    """The total behind a page: a short page is the last one, so only a full page needs a count."""
    if shown < per_page and (shown > 0 or page == 1):
        return (page - 1) * per_page + shown, False
    return _capped_count(session, ids)


def _capped_count(session: Session, ids: Select[Any]) -> tuple[int, bool]:
    """Count matching rows up to COUNT_CAP; beyond it report (COUNT_CAP, True)."""
    n = session.scalar(select(func.count()).select_from(ids.limit(COUNT_CAP + 1).subquery())) or 0
    return (COUNT_CAP, True) if n > COUNT_CAP else (n, False)


def _contact_counts(session: Session, company_ids: Sequence[int]) -> dict[int, int]:
    if not company_ids:
        return {}
    rows = session.execute(
        select(Contact.company_id, func.count(Contact.id))
        .where(Contact.company_id.in_(company_ids), Contact.merged_into_id.is_(None))
        .group_by(Contact.company_id)
    )
    return {company_id: n for company_id, n in rows if company_id is not None}


def _contact_summary_select() -> Select[*tuple[Any, ...]]:
    return select(
        Contact.id,
        Contact.name,
        Contact.email,
        Contact.external_id,
        Contact.company_id,
        Company.name.label("company_name"),
        Contact.department,
        Contact.title,
        Contact.phone,
        Contact.source,
        Contact.last_seen_at,
    ).outerjoin(Company, Company.id == Contact.company_id)


def _contact_summary(r: Any) -> ContactSummary:
    return ContactSummary(
        id=r.id,
        name=r.name,
        email=r.email,
        external_id=r.external_id,
        company_id=r.company_id,
        company_name=r.company_name,
        department=r.department,
        title=r.title,
        phone=r.phone,
        source=r.source,
        last_seen_at=r.last_seen_at,
    )


def _day_start(d: date, tz: tzinfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz)


def _contact_or_company(
    contact_col: Any, company_col: Any, contact_id: int, company_id: int | None
) -> ColumnElement[bool]:
    if company_id is None:
        return contact_col == contact_id  # type: ignore[no-any-return]
    return or_(contact_col == contact_id, (contact_col.is_(None)) & (company_col == company_id))


def _event_entries(session: Session, contact_id: int, limit: int) -> list[TimelineEntry]:
    events = session.scalars(
        select(EngagementEvent)
        .where(EngagementEvent.contact_id == contact_id)
        .order_by(EngagementEvent.occurred_at.desc(), EngagementEvent.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(
            at=e.occurred_at,
            source="event",
            kind=e.type,
            title=e.document or e.webinar or e.campaign,
            detail=_event_detail(e),
            url=e.url,
            watch_seconds=e.watch_seconds,
            record_id=e.id,
        )
        for e in events
    ]


def _event_detail(event: EngagementEvent) -> str | None:
    payload = event.payload or {}
    for key in ("message", "questions", "subject", "comment"):
        value = payload.get(key)
        if value:
            return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return None


def _activity_entries(
    session: Session, contact_id: int, company_id: int | None, limit: int
) -> list[TimelineEntry]:
    activities = session.scalars(
        select(SalesActivity)
        .where(
            _contact_or_company(
                SalesActivity.contact_id, SalesActivity.company_id, contact_id, company_id
            )
        )
        .order_by(SalesActivity.occurred_at.desc(), SalesActivity.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(
            at=a.occurred_at,
            source="activity",
            kind=a.kind,
            title=a.subject,
            detail=a.note,
            record_id=a.id,
        )
        for a in activities
    ]


def _deal_entries(
    session: Session, contact_id: int, company_id: int | None, limit: int, tz: tzinfo
) -> list[TimelineEntry]:
    deals = session.scalars(
        select(Deal)
        .where(_contact_or_company(Deal.contact_id, Deal.company_id, contact_id, company_id))
        .order_by(func.coalesce(Deal.closed_on, Deal.opened_on).desc(), Deal.id.desc())
        .limit(limit)
    )
    entries: list[TimelineEntry] = []
    for d in deals:
        opened = _day_start(d.opened_on, tz) if d.opened_on else d.created_at
        entries.append(
            TimelineEntry(
                at=opened,
                source="deal",
                kind="deal_opened",
                title=d.name,
                detail=d.phase,
                amount=d.amount,
                all_day=d.opened_on is not None,
                record_id=d.id,
            )
        )
        if d.outcome != "open" and d.closed_on is not None:
            entries.append(
                TimelineEntry(
                    at=_day_start(d.closed_on, tz),
                    source="deal",
                    kind=f"deal_{d.outcome}",
                    title=d.name,
                    detail=d.lost_reason if d.outcome != "won" else d.notes,
                    amount=d.amount,
                    all_day=True,
                    record_id=d.id,
                )
            )
    return entries


def _order_entries(
    session: Session, company_id: int | None, limit: int, tz: tzinfo
) -> list[TimelineEntry]:
    if company_id is None:
        return []
    orders = session.scalars(
        select(Order)
        .where(Order.company_id == company_id)
        .order_by(Order.ordered_on.desc(), Order.id.desc())
        .limit(limit)
    )
    entries: list[TimelineEntry] = []
    for o in orders:
        entries.append(
            TimelineEntry(
                at=_day_start(o.ordered_on, tz),
                source="order",
                kind="order",
                title=o.product,
                detail=o.notes,
                amount=o.amount,
                all_day=True,
                period_start=o.contract_start,
                period_end=o.contract_end,
                record_id=o.id,
            )
        )
        if o.cancelled_on is not None:
            entries.append(
                TimelineEntry(
                    at=_day_start(o.cancelled_on, tz),
                    source="order",
                    kind="contract_cancelled",
                    title=o.product,
                    amount=o.amount,
                    all_day=True,
                    record_id=o.id,
                )
            )
    return entries


def _survey_entries(session: Session, contact_id: int, limit: int) -> list[TimelineEntry]:
    answers = session.scalars(
        select(SurveyAnswer)
        .where(SurveyAnswer.contact_id == contact_id)
        .order_by(SurveyAnswer.answered_at.desc(), SurveyAnswer.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(
            at=s.answered_at,
            source="survey",
            kind="survey",
            title=s.survey,
            detail=s.comment,
            score=s.nps_score,
            record_id=s.id,
        )
        for s in answers
    ]
