"""Read API for companies, contacts and a contact's timeline (any logged-in role)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from mezame.api.deps import AnyUser, DbSession
from mezame.customers import service
from mezame.customers.service import COUNT_CAP, MAX_PER_PAGE

router = APIRouter(tags=["customers"])

SearchQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Substring of the name, kana, email or company name; or an exact external id",
    ),
]
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="1-based page number")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Rows per page")]

ItemT = TypeVar("ItemT", bound=BaseModel)


class PageOut(BaseModel, Generic[ItemT]):
    """One page of a list; when `total_capped`, there are more than `total` rows."""

    model_config = ConfigDict(from_attributes=True)

    items: list[ItemT]
    page: int
    per_page: int
    total: int = Field(description=f"exact, or {COUNT_CAP} when total_capped")
    total_capped: bool
    has_next: bool


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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


class CompanyDetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    contacts: list[ContactOut] = Field(description="the newest contacts (up to 100)")
    order_count: int
    order_total: int = Field(description="yen")
    last_ordered_on: date | None
    deal_outcomes: dict[str, int] = Field(description="deal outcome -> number of deals")
    merged_into_id: int | None = Field(
        default=None, description="the survivor, when a merge folded this company into it"
    )


class ContactDetailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    consent_basis: str | None
    merged_into_id: int | None = Field(
        default=None, description="the survivor, when a merge folded this contact into it"
    )


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    source: str = Field(description="event / activity / deal / order / survey")
    kind: str = Field(
        description="event type, activity kind, deal_opened / deal_won / deal_lost / "
        "deal_postponed, order, contract_cancelled or survey"
    )
    title: str | None
    detail: str | None
    url: str | None
    amount: int | None = Field(description="yen")
    score: int | None = Field(description="NPS 0–10 for surveys")
    watch_seconds: int | None
    period_start: date | None
    period_end: date | None
    all_day: bool = Field(description="a dated record: only the day is meaningful")
    record_id: int


@router.get("/companies", response_model=PageOut[CompanyOut])
def list_companies(
    session: DbSession,
    _user: AnyUser,
    q: SearchQuery = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> PageOut[CompanyOut]:
    """Companies, newest first, optionally filtered by `q`."""
    result = service.list_companies(session, query=q, page=page, per_page=per_page)
    return PageOut[CompanyOut].model_validate(result)


@router.get("/companies/{company_id}", response_model=CompanyDetailOut)
def get_company(session: DbSession, _user: AnyUser, company_id: int) -> CompanyDetailOut:
    """One company with its contacts, order totals and deal outcomes."""
    return CompanyDetailOut.model_validate(service.get_company(session, company_id=company_id))


@router.get("/contacts", response_model=PageOut[ContactOut])
def list_contacts(
    session: DbSession,
    _user: AnyUser,
    q: SearchQuery = None,
    company_id: Annotated[int | None, Query(description="Only this company's contacts")] = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> PageOut[ContactOut]:
    """Contacts, newest first, optionally filtered by `q` and company."""
    result = service.list_contacts(
        session, query=q, company_id=company_id, page=page, per_page=per_page
    )
    return PageOut[ContactOut].model_validate(result)


@router.get("/contacts/{contact_id}", response_model=ContactDetailOut)
def get_contact(session: DbSession, _user: AnyUser, contact_id: int) -> ContactDetailOut:
    """One contact with its company name and mail consent."""
    return ContactDetailOut.model_validate(service.get_contact(session, contact_id=contact_id))


@router.get("/contacts/{contact_id}/timeline", response_model=list[TimelineEntryOut])
def contact_timeline(
    request: Request,
    session: DbSession,
    _user: AnyUser,
    contact_id: int,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TimelineEntryOut]:
    """The contact's history, newest first (events, activities, deals, orders, surveys)."""
    tz = ZoneInfo(request.app.state.settings.timezone)
    entries = service.contact_timeline(session, contact_id=contact_id, limit=limit, tz=tz)
    return [TimelineEntryOut.model_validate(e) for e in entries]
