"""名寄せ API (marketing): candidate duplicates, review decisions, merges and their undo."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from mezame.api.deps import DbSession, MarketingUser
from mezame.cleaning import service
from mezame.cleaning.merges import service as merges
from mezame.cleaning.merges.service import ReviewDecision
from mezame.cleaning.service import KINDS, Kind

router = APIRouter(tags=["cleaning"])

Ids = Annotated[list[int], Field(min_length=2, max_length=100, description="record ids (DB ids)")]


class ClusterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ids: list[int] = Field(description="record ids (DB ids)")
    external_ids: list[str | None] = Field(description="external ids from import (顧客コード …)")
    score: float = Field(description="the weakest link that joined the cluster, 0–1")
    evidence: list[str] = Field(description="why they look like one record, in words")
    auto: bool = Field(description="at or above the auto-merge threshold")


class StatsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    records: int
    all_pairs: int = Field(description="what comparing everything would cost")
    pairs_after_blocking: int = Field(description="pairs actually scored")
    candidates: int


class DuplicatesOut(BaseModel):
    kind: Kind
    clusters: list[ClusterOut]
    stats: StatsOut


class DecisionIn(BaseModel):
    ids: Ids
    decision: ReviewDecision = Field(
        description="accept: merge them; reject / not_duplicate: never propose them again"
    )


class MergeIn(BaseModel):
    kind: Kind
    ids: Ids


class AutoMergeIn(BaseModel):
    kind: Kind | None = Field(default=None, description="both kinds when left out")


class MergeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    merge_id: int
    kind: str
    method: str = Field(description="auto / review / manual")
    survivor_id: int
    survivor_external_id: str | None
    survivor_name: str | None
    merged_ids: list[int]
    merged_external_ids: list[str | None]
    score: float | None
    evidence: list[str]
    changed_fields: list[str] = Field(description="survivor fields that took another value")
    moved_rows: dict[str, int] = Field(description='"table.column" -> rows re-pointed')
    merged_at: datetime
    undone_at: datetime | None


class DecisionOut(BaseModel):
    decision: ReviewDecision
    merge: MergeOut | None = Field(description="the merge, when the decision was accept")


@router.get("/duplicates/{kind}", response_model=DuplicatesOut)
def list_duplicates(session: DbSession, _user: MarketingUser, kind: Kind) -> DuplicatesOut:
    """Candidate duplicate clusters among the live records, with score and evidence."""
    report = service.find_duplicates(session, kind)
    return DuplicatesOut(
        kind=kind,
        clusters=[ClusterOut.model_validate(c) for c in report.clusters],
        stats=StatsOut.model_validate(report.stats),
    )


@router.post("/duplicates/{kind}/decisions", response_model=DecisionOut)
def decide(session: DbSession, user: MarketingUser, kind: Kind, body: DecisionIn) -> DecisionOut:
    """Accept (merge), reject, or mark a candidate cluster as not duplicates (remembered)."""
    merged = merges.decide(
        session, kind=kind, ids=body.ids, decision=body.decision, user_id=user.id
    )
    return DecisionOut(
        decision=body.decision, merge=None if merged is None else MergeOut.model_validate(merged)
    )


@router.get("/merges", response_model=list[MergeOut])
def list_merges(
    session: DbSession,
    _user: MarketingUser,
    kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[MergeOut]:
    """Merges, newest first, undone ones included (undone_at set)."""
    return [MergeOut.model_validate(m) for m in merges.list_merges(session, kind=kind, limit=limit)]


@router.post("/merges", response_model=MergeOut, status_code=status.HTTP_201_CREATED)
def merge(session: DbSession, user: MarketingUser, body: MergeIn) -> MergeOut:
    """Merge these records into one (survivorship picks the survivor and its values)."""
    merged = merges.merge_records(session, kind=body.kind, ids=body.ids, user_id=user.id)
    return MergeOut.model_validate(merged)


@router.post("/merges/auto", response_model=list[MergeOut])
def auto_merge(
    session: DbSession, user: MarketingUser, body: AutoMergeIn | None = None
) -> list[MergeOut]:
    """Apply every merge at or above the auto-merge threshold."""
    kinds: tuple[Kind, ...] = (body.kind,) if body and body.kind else KINDS
    return [
        MergeOut.model_validate(m)
        for kind in kinds
        for m in merges.auto_merge(session, kind=kind, user_id=user.id)
    ]


@router.post("/merges/{merge_id}/undo", response_model=MergeOut)
def undo(session: DbSession, user: MarketingUser, merge_id: int) -> MergeOut:
    """Undo a merge: the merged records and every moved row come back exactly."""
    return MergeOut.model_validate(merges.undo_merge(session, merge_id=merge_id, user_id=user.id))
