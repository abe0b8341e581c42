"""Segments (saved contact filters: CRUD, live count, preview) and contact tags."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, Field

from mezame.api.deps import AnyUser, DbSession, MarketingUser
from mezame.models import Segment
from mezame.segments import service
from mezame.segments.filters import FIELDS

router = APIRouter(tags=["segments"])

Definition = Annotated[
    dict[str, Any],
    Body(
        description='{"match": "all"|"any", "rules": [{"field", "op", "value"} | group, ...]}',
        examples=[{"match": "all", "rules": [{"field": "tag", "op": "eq", "value": "VIP"}]}],
    ),
]


class SegmentIn(BaseModel):
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    definition: dict[str, Any]


class SegmentPatch(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    definition: dict[str, Any] | None = None


class SegmentOut(BaseModel):
    id: int
    name: str
    description: str | None
    definition: dict[str, Any]
    last_count: int | None
    last_counted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Segment) -> SegmentOut:
        return cls(
            id=s.id,
            name=s.name,
            description=s.description,
            definition=s.definition,
            last_count=s.last_count,
            last_counted_at=s.last_counted_at,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class CountOut(BaseModel):
    count: int
    as_of: date


class PreviewContactOut(BaseModel):
    id: int
    name: str | None
    email: str | None
    department: str | None
    title: str | None
    company_id: int | None
    company_name: str | None


class PreviewOut(BaseModel):
    count: int
    as_of: date
    contacts: list[PreviewContactOut]


class FieldOut(BaseModel):
    field: str
    type: str
    ops: list[str]
    choices: list[str]


def _today(request: Request) -> date:
    return datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()


@router.get("/segments/fields", response_model=list[FieldOut])
def segment_fields(_user: MarketingUser) -> list[FieldOut]:
    """The whitelist: every field a rule may use, its operators and its choices."""
    return [
        FieldOut(
            field=s.name, type=s.type.value, ops=[o.value for o in s.ops], choices=list(s.choices)
        )
        for s in FIELDS.values()
    ]


@router.get("/segments", response_model=list[SegmentOut])
def list_segments(session: DbSession, _user: MarketingUser) -> list[SegmentOut]:
    return [SegmentOut.of(s) for s in service.list_segments(session)]


@router.post("/segments", response_model=SegmentOut, status_code=201)
def create_segment(session: DbSession, user: MarketingUser, payload: SegmentIn) -> SegmentOut:
    segment = service.create_segment(
        session,
        name=payload.name,
        description=payload.description,
        definition=payload.definition,
        user_id=user.id,
    )
    return SegmentOut.of(segment)


@router.post("/segments/count", response_model=CountOut)
def count_definition(
    request: Request, session: DbSession, user: MarketingUser, definition: Definition
) -> CountOut:
    """The live count of a definition not saved yet (what the builder shows as rules change)."""
    day = _today(request)
    count = service.count_segment(session, definition, as_of=day, user_id=user.id)
    return CountOut(count=count, as_of=day)


SegmentId = Annotated[int, Path(ge=1)]


@router.get("/segments/{segment_id}", response_model=SegmentOut)
def get_segment(session: DbSession, _user: MarketingUser, segment_id: SegmentId) -> SegmentOut:
    return SegmentOut.of(service.get_segment(session, segment_id))


@router.patch("/segments/{segment_id}", response_model=SegmentOut)
def update_segment(
    session: DbSession, _user: MarketingUser, segment_id: SegmentId, payload: SegmentPatch
) -> SegmentOut:
    segment = service.update_segment(
        session,
        segment_id,
        name=payload.name,
        description=payload.description,
        definition=payload.definition,
    )
    return SegmentOut.of(segment)


@router.delete("/segments/{segment_id}", status_code=204)
def delete_segment(session: DbSession, _user: MarketingUser, segment_id: SegmentId) -> Response:
    service.delete_segment(session, segment_id)
    return Response(status_code=204)


@router.get("/segments/{segment_id}/preview", response_model=PreviewOut)
def preview_segment(
    request: Request,
    session: DbSession,
    user: MarketingUser,
    segment_id: SegmentId,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PREVIEW)] = service.PREVIEW_LIMIT,
) -> PreviewOut:
    """The count now (stored on the segment) and the first contacts with their company."""
    segment = service.get_segment(session, segment_id)
    day = _today(request)
    count = service.refresh_count(
        session, segment, as_of=day, at=datetime.now(UTC), user_id=user.id
    )
    contacts = service.preview_segment(session, segment, as_of=day, user_id=user.id, limit=limit)
    return PreviewOut(
        count=count,
        as_of=day,
        contacts=[PreviewContactOut(**vars(c)) for c in contacts],
    )


# --- tags -------------------------------------------------------------------------------------

ContactId = Annotated[int, Path(ge=1)]
Tag = Annotated[str, Path(min_length=1, max_length=50)]


class TagsOut(BaseModel):
    contact_id: int
    tags: list[str]


class TagCountOut(BaseModel):
    tag: str
    contacts: int


@router.get("/tags", response_model=list[TagCountOut])
def list_tags(session: DbSession, _user: AnyUser) -> list[TagCountOut]:
    """Every tag in use, with how many contacts carry it."""
    return [TagCountOut(tag=t, contacts=n) for t, n in service.tag_counts(session)]


@router.get("/contacts/{contact_id}/tags", response_model=TagsOut)
def contact_tags(session: DbSession, _user: AnyUser, contact_id: ContactId) -> TagsOut:
    return TagsOut(contact_id=contact_id, tags=service.contact_tags(session, contact_id))


@router.put("/contacts/{contact_id}/tags/{tag}", response_model=TagsOut)
def add_tag(session: DbSession, _user: AnyUser, contact_id: ContactId, tag: Tag) -> TagsOut:
    """Tag a contact (safe to repeat)."""
    service.add_tag(session, contact_id=contact_id, tag=tag, source="api")
    return TagsOut(contact_id=contact_id, tags=service.contact_tags(session, contact_id))


@router.delete("/contacts/{contact_id}/tags/{tag}", response_model=TagsOut)
def remove_tag(session: DbSession, _user: AnyUser, contact_id: ContactId, tag: Tag) -> TagsOut:
    service.remove_tag(session, contact_id=contact_id, tag=tag)
    return TagsOut(contact_id=contact_id, tags=service.contact_tags(session, contact_id))
