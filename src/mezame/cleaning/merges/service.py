"""名寄せ, acting: merges with survivorship, review decisions, and exact undo.

A merge is soft: the merged records stay, hidden by `merged_into_id`, so undo is exact. Every
row that pointed at them — found through the foreign keys, so tables added later move too — is
re-pointed to the survivor in set-based SQL and listed in merge_moved_rows; the survivor's
replaced values are kept in the merge, the merged records' values in merged_records.
Services flush; the caller commits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Column, Date, Table, func, insert, literal, select, update
from sqlalchemy.orm import Session

from mezame.cleaning.dedupe import DedupePolicy, find_company_duplicates, find_contact_duplicates
from mezame.cleaning.service import (
    Kind,
    company_records,
    contact_records,
    find_duplicates,
    id_chunks,
    record_table,
)
from mezame.cleaning.survivorship import (
    COMPANY_FIELDS,
    CONTACT_FIELDS,
    FieldRule,
    MergeInput,
    MergePlan,
    SurvivorshipPolicy,
    company_merge_conflicts,
    plan_merge,
)
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import Base, DuplicateDecision, Merge, MergedRecord, UTCDateTime, utcnow
from mezame.policy.service import load_policy

_FIELDS: dict[str, Mapping[str, FieldRule]] = {
    "companies": COMPANY_FIELDS,
    "contacts": CONTACT_FIELDS,
}
# Merge bookkeeping points at records by plain ids; it is history, never moved.
_BOOKKEEPING = frozenset({"merges", "merged_records", "merge_moved_rows", "duplicate_decisions"})


class ReviewDecision(StrEnum):
    """What a person answers about a candidate cluster in the review queue."""

    ACCEPT = "accept"  # merge them
    REJECT = "reject"  # not now, not as proposed: never proposed again
    NOT_DUPLICATE = "not_duplicate"  # different companies or people: never linked again


_STORED_DECISION = {
    ReviewDecision.REJECT: "rejected",
    ReviewDecision.NOT_DUPLICATE: "not_duplicate",
}


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """One merge as the shells show it."""

    merge_id: int
    kind: str
    method: str  # auto / review / manual
    survivor_id: int
    survivor_external_id: str | None
    survivor_name: str | None
    merged_ids: tuple[int, ...]
    merged_external_ids: tuple[str | None, ...]
    score: float | None
    evidence: tuple[str, ...]
    changed_fields: tuple[str, ...]
    moved_rows: dict[str, int]  # "deals.company_id" -> rows re-pointed to the survivor
    merged_at: datetime
    undone_at: datetime | None


def decide(
    session: Session,
    *,
    kind: Kind,
    ids: Sequence[int],
    decision: ReviewDecision,
    user_id: int | None,
) -> MergeOutcome | None:
    """Carry out a person's answer about a cluster: merge it, or remember that it is not one."""
    ids = _distinct_live(session, kind, ids)
    if decision is ReviewDecision.ACCEPT:
        return merge_records(session, kind=kind, ids=ids, method="review", user_id=user_id)
    _remember(session, kind, ids, _STORED_DECISION[decision], user_id)
    return None


def _remember(
    session: Session, kind: str, ids: Iterable[int], decision: str, user_id: int | None
) -> None:
    """Store the decision for every pair of ids (the latest answer about a pair wins)."""
    pairs = {(min(a, b), max(a, b)) for a, b in itertools.combinations(set(ids), 2)}
    existing = {
        (row.record_a, row.record_b): row
        for row in session.scalars(
            select(DuplicateDecision).where(
                DuplicateDecision.kind == kind,
                DuplicateDecision.record_a.in_([a for a, _ in pairs]),
            )
        )
        if (row.record_a, row.record_b) in pairs
    }
    now = utcnow()
    for a, b in sorted(pairs):
        row = existing.get((a, b))
        if row is None:
            session.add(
                DuplicateDecision(
                    kind=kind,
                    record_a=a,
                    record_b=b,
                    decision=decision,
                    decided_at=now,
                    decided_by_id=user_id,
                )
            )
        else:
            row.decision, row.decided_at, row.decided_by_id = decision, now, user_id
    session.flush()


def _distinct_live(session: Session, kind: str, ids: Sequence[int]) -> list[int]:
    """The ids, checked: at least two, each an existing record not merged away."""
    table = record_table(kind)
    wanted = sorted(set(ids))
    if len(wanted) < 2:
        raise InvalidInputError(f"a {kind} merge or decision needs at least two different ids")
    found: dict[int, int | None] = {
        record_id: merged_into
        for record_id, merged_into in session.execute(
            select(table.c.id, table.c.merged_into_id).where(table.c.id.in_(wanted))
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFoundError(f"{kind} {', '.join(map(str, missing))} do not exist")
    merged = [f"#{i} → #{found[i]}" for i in wanted if found[i] is not None]
    if merged:
        raise InvalidInputError(f"already merged into another record: {', '.join(merged)}")
    return wanted


# --- merging ------------------------------------------------------------------------------


def auto_merge(session: Session, *, kind: Kind, user_id: int | None = None) -> list[MergeOutcome]:
    """Merge the records linked at or above the auto-merge threshold (report.auto_clusters)."""
    report = find_duplicates(session, kind)
    clusters = [(c.ids, c.score, c.evidence) for c in report.auto_clusters]
    return _merge_clusters(session, kind, clusters, method="auto", user_id=user_id)


def merge_records(
    session: Session,
    *,
    kind: Kind,
    ids: Sequence[int],
    method: Literal["review", "manual"] = "manual",
    user_id: int | None,
) -> MergeOutcome:
    """Merge these records into one survivor; the evidence is recomputed among them alone."""
    ids = _distinct_live(session, kind, ids)
    policy = load_policy(session, DedupePolicy)
    if kind == "companies":
        report = find_company_duplicates(list(company_records(session, ids)), policy)
    else:
        report = find_contact_duplicates(list(contact_records(session, ids)), policy)
    together = [c for c in report.clusters if set(c.ids) == set(ids)]
    score = together[0].score if together else None
    evidence = (
        together[0].evidence
        if together
        else tuple(dict.fromkeys(w for p in report.pairs for w in p.evidence))
    )
    (outcome,) = _merge_clusters(
        session, kind, [(tuple(ids), score, evidence)], method=method, user_id=user_id
    )
    return outcome


def _merge_clusters(
    session: Session,
    kind: str,
    clusters: Sequence[tuple[tuple[int, ...], float | None, tuple[str, ...]]],
    *,
    method: str,
    user_id: int | None,
) -> list[MergeOutcome]:
    if not clusters:
        return []
    table = record_table(kind)
    fields = _FIELDS[kind]
    policy = load_policy(session, SurvivorshipPolicy)
    rows = _rows(session, table, [i for ids, _, _ in clusters for i in ids])
    now = utcnow()
    merges: list[Merge] = []
    plans: list[MergePlan] = []
    for ids, score, evidence in clusters:
        inputs = [_merge_input(rows[i], fields) for i in ids]
        if kind == "companies" and (conflicts := company_merge_conflicts(inputs)):
            raise InvalidInputError(f"companies {list(ids)} cannot be merged: {conflicts[0]}")
        plan = plan_merge(inputs, fields, policy)
        survivor = rows[plan.survivor]
        before = {f: _to_json(survivor[f]) for f in plan.changes}
        if plan.changes:
            before["updated_at"] = _to_json(survivor["updated_at"])
        plans.append(plan)
        merges.append(
            Merge(
                kind=kind,
                survivor_id=plan.survivor,
                method=method,
                score=score,
                evidence=list(evidence),
                survivor_before=before,
                survivor_after={f: _to_json(v) for f, v in plan.changes.items()},
                merged_at=now,
                merged_by_id=user_id,
            )
        )
    session.add_all(merges)
    session.flush()
    session.add_all(
        MergedRecord(
            merge_id=merge.id,
            record_id=i,
            external_id=rows[i]["external_id"],
            snapshot={c: _to_json(v) for c, v in rows[i].items()},
        )
        for merge, plan in zip(merges, plans, strict=True)
        for i in plan.merged
    )
    session.flush()
    for plan in plans:
        if plan.changes:
            session.execute(
                update(table)
                .where(table.c.id == plan.survivor)
                .values(**plan.changes, updated_at=now)
            )
    moved: dict[int, dict[str, int]] = {m.id: {} for m in merges}
    for chunk in id_chunks([m.id for m in merges]):
        _move_children(session, kind, chunk, moved)
        _hide_merged(session, table, chunk)
    return [
        _outcome(merge, rows[plan.survivor], [rows[i] for i in plan.merged], moved[merge.id])
        for merge, plan in zip(merges, plans, strict=True)
    ]


def _rows(session: Session, table: Table, ids: Sequence[int]) -> dict[int, Mapping[str, Any]]:
    found: dict[int, Mapping[str, Any]] = {}
    for chunk in id_chunks(ids):
        for row in session.execute(select(table).where(table.c.id.in_(chunk))):
            found[row.id] = dict(row._mapping)
    missing = sorted(set(ids) - set(found))
    if missing:
        raise NotFoundError(f"{table.name} {', '.join(map(str, missing))} do not exist")
    hidden = [i for i in ids if found[i]["merged_into_id"] is not None]
    if hidden:
        raise InvalidInputError(f"{table.name} {hidden} were already merged into another record")
    return found


def _merge_input(row: Mapping[str, Any], fields: Mapping[str, FieldRule]) -> MergeInput:
    return MergeInput(
        id=row["id"],
        external_id=row["external_id"],
        source=row["source"],
        updated_at=row["updated_at"],
        values={f: row[f] for f in fields},
    )


def child_columns(kind: str) -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) that points at a record of this kind: its foreign keys, and the
    records merged into it (so a chain of merges always points at a live record)."""
    parent = record_table(kind)
    found: list[tuple[Table, Column[Any]]] = []
    for table in Base.metadata.sorted_tables:
        if table.name in _BOOKKEEPING:
            continue
        for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
            if fk.column.table is parent:
                found.append((table, fk.parent))
    found.append((parent, parent.c.merged_into_id))
    return found


def _primary_key(table: Table) -> Column[Any]:
    (pk,) = table.primary_key.columns
    return pk


def _kept_stamp(table: Table) -> dict[str, Any]:
    """Re-pointing a row is bookkeeping, not an edit: its updated_at stays (undo is exact)."""
    return {"updated_at": table.c.updated_at} if "updated_at" in table.c else {}


def _move_children(
    session: Session, kind: str, merge_ids: Sequence[int], moved: dict[int, dict[str, int]]
) -> None:
    """Re-point every row of these merges' merged records to the survivor, listing each."""
    mr, m, mv = _bookkeeping()
    merged = select(mr.c.record_id).where(mr.c.merge_id.in_(merge_ids))
    for table, column in child_columns(kind):
        pk = _primary_key(table)
        listed = session.execute(
            insert(mv).from_select(
                ["merge_id", "table_name", "column_name", "row_id", "from_id"],
                select(mr.c.merge_id, literal(table.name), literal(column.name), pk, column)
                .join(mr, mr.c.record_id == column)
                .where(mr.c.merge_id.in_(merge_ids)),
            )
        )
        if not listed.rowcount:  # type: ignore[attr-defined]
            continue
        survivor = (
            select(m.c.survivor_id)
            .join(mr, mr.c.merge_id == m.c.id)
            .where(mr.c.record_id == column, mr.c.merge_id.in_(merge_ids))
            .scalar_subquery()
        )
        session.execute(
            update(table)
            .where(column.in_(merged))
            .values({column.name: survivor, **_kept_stamp(table)})
        )
        counts = session.execute(
            select(mv.c.merge_id, func.count())
            .where(
                mv.c.merge_id.in_(merge_ids),
                mv.c.table_name == table.name,
                mv.c.column_name == column.name,
            )
            .group_by(mv.c.merge_id)
        )
        for merge_id, count in counts:
            moved[merge_id][f"{table.name}.{column.name}"] = count


def _hide_merged(session: Session, table: Table, merge_ids: Sequence[int]) -> None:
    mr, m, _ = _bookkeeping()
    survivor = (
        select(m.c.survivor_id)
        .join(mr, mr.c.merge_id == m.c.id)
        .where(mr.c.record_id == table.c.id, mr.c.merge_id.in_(merge_ids))
        .scalar_subquery()
    )
    session.execute(
        update(table)
        .where(table.c.id.in_(select(mr.c.record_id).where(mr.c.merge_id.in_(merge_ids))))
        .values(merged_into_id=survivor, **_kept_stamp(table))
    )


# --- undo ---------------------------------------------------------------------------------


def undo_merge(session: Session, *, merge_id: int, user_id: int | None) -> MergeOutcome:
    """Undo a merge exactly: the merged records come back with their ids, every row moved is
    pointed back, and the survivor's replaced values return. The pair is then remembered as
    rejected, so the next automatic merge does not redo it."""
    merge = session.get(Merge, merge_id)
    if merge is None:
        raise NotFoundError(f"merge {merge_id} does not exist")
    if merge.undone_at is not None:
        raise InvalidInputError(f"merge {merge_id} was already undone")
    table = record_table(merge.kind)
    merged = list(
        session.scalars(
            select(MergedRecord.record_id)
            .where(MergedRecord.merge_id == merge_id)
            .order_by(MergedRecord.record_id)
        )
    )
    involved = [merge.survivor_id, *merged]
    later = session.scalar(
        select(Merge.id)
        .where(
            Merge.kind == merge.kind,
            Merge.id > merge_id,
            Merge.undone_at.is_(None),
            Merge.survivor_id.in_(involved)
            | Merge.id.in_(
                select(MergedRecord.merge_id).where(MergedRecord.record_id.in_(involved))
            ),
        )
        .order_by(Merge.id.desc())
        .limit(1)
    )
    if later is not None:
        raise InvalidInputError(
            f"merge {later} came later and involves the same records: undo it first"
        )
    _move_back(session, merge)
    session.execute(
        update(table)
        .where(table.c.id.in_(merged), table.c.merged_into_id == merge.survivor_id)
        .values(merged_into_id=None, **_kept_stamp(table))
    )
    _restore_survivor(session, table, merge)
    merge.undone_at = utcnow()
    merge.undone_by_id = user_id
    session.flush()
    _remember(session, merge.kind, involved, "rejected", user_id)
    return list_merges(session, merge_ids=[merge_id])[0]


def _move_back(session: Session, merge: Merge) -> None:
    _, _, mv = _bookkeeping()
    groups = session.execute(
        select(mv.c.table_name, mv.c.column_name).where(mv.c.merge_id == merge.id).distinct()
    ).all()
    for table_name, column_name in groups:
        table = Base.metadata.tables.get(table_name)
        if table is None or column_name not in table.c:
            raise InvalidInputError(
                f"merge {merge.id} moved rows of {table_name}.{column_name}, which no longer exists"
            )
        column, pk = table.c[column_name], _primary_key(table)
        same_group = (
            mv.c.merge_id == merge.id,
            mv.c.table_name == table_name,
            mv.c.column_name == column_name,
        )
        origin = select(mv.c.from_id).where(*same_group, mv.c.row_id == pk).scalar_subquery()
        session.execute(
            update(table)
            # A row someone re-pointed since the merge stays where they put it.
            .where(pk.in_(select(mv.c.row_id).where(*same_group)), column == merge.survivor_id)
            .values({column_name: origin, **_kept_stamp(table)})
        )


def _restore_survivor(session: Session, table: Table, merge: Merge) -> None:
    """Put back the survivor's replaced values; a field edited since the merge keeps the edit."""
    if not merge.survivor_after:
        return
    current = dict(
        session.execute(select(table).where(table.c.id == merge.survivor_id)).one()._mapping
    )
    untouched = current["updated_at"] == merge.merged_at
    restore: dict[str, Any] = {}
    for field, after in merge.survivor_after.items():
        if untouched or current[field] == _from_json(table.c[field], after):
            restore[field] = _from_json(table.c[field], merge.survivor_before.get(field))
    if untouched:
        restore["updated_at"] = _from_json(table.c.updated_at, merge.survivor_before["updated_at"])
    if restore:
        session.execute(update(table).where(table.c.id == merge.survivor_id).values(**restore))


# --- reading merges -----------------------------------------------------------------------


def list_merges(
    session: Session,
    *,
    kind: Kind | None = None,
    merge_ids: Sequence[int] | None = None,
    limit: int = 50,
) -> list[MergeOutcome]:
    """Merges, newest first (or the ones asked for), with who survived and what moved."""
    query = select(Merge).order_by(Merge.id.desc())
    if kind is not None:
        query = query.where(Merge.kind == kind)
    if merge_ids is not None:
        query = query.where(Merge.id.in_(merge_ids))
    merges = list(session.scalars(query.limit(max(1, limit))))
    ids = [m.id for m in merges]
    merged: dict[int, list[Mapping[str, Any]]] = {i: [] for i in ids}
    for row in session.execute(
        select(MergedRecord.merge_id, MergedRecord.record_id, MergedRecord.external_id)
        .where(MergedRecord.merge_id.in_(ids))
        .order_by(MergedRecord.record_id)
    ):
        merged[row.merge_id].append({"id": row.record_id, "external_id": row.external_id})
    _, _, mv = _bookkeeping()
    moved: dict[int, dict[str, int]] = {i: {} for i in ids}
    for merge_id, table_name, column_name, count in session.execute(
        select(mv.c.merge_id, mv.c.table_name, mv.c.column_name, func.count())
        .where(mv.c.merge_id.in_(ids))
        .group_by(mv.c.merge_id, mv.c.table_name, mv.c.column_name)
    ):
        moved[merge_id][f"{table_name}.{column_name}"] = count
    survivors: dict[tuple[str, int], Mapping[str, Any]] = {}
    for kind_name in {m.kind for m in merges}:
        table = record_table(kind_name)
        wanted = [m.survivor_id for m in merges if m.kind == kind_name]
        for chunk in id_chunks(wanted):
            for row in session.execute(
                select(table.c.id, table.c.external_id, table.c.name).where(table.c.id.in_(chunk))
            ):
                survivors[(kind_name, row.id)] = dict(row._mapping)
    missing: Mapping[str, Any] = {"id": 0, "external_id": None, "name": None}
    return [
        _outcome(m, survivors.get((m.kind, m.survivor_id), missing), merged[m.id], moved[m.id])
        for m in merges
    ]


def _outcome(
    merge: Merge,
    survivor: Mapping[str, Any],
    merged: Sequence[Mapping[str, Any]],
    moved: dict[str, int],
) -> MergeOutcome:
    return MergeOutcome(
        merge_id=merge.id,
        kind=merge.kind,
        method=merge.method,
        survivor_id=merge.survivor_id,
        survivor_external_id=survivor["external_id"],
        survivor_name=survivor["name"],
        merged_ids=tuple(r["id"] for r in merged),
        merged_external_ids=tuple(r["external_id"] for r in merged),
        score=merge.score,
        evidence=tuple(merge.evidence),
        changed_fields=tuple(merge.survivor_after),
        moved_rows=dict(sorted(moved.items())),
        merged_at=merge.merged_at,
        undone_at=merge.undone_at,
    )


# --- helpers ------------------------------------------------------------------------------


def _bookkeeping() -> tuple[Table, Table, Table]:
    """merged_records, merges and merge_moved_rows as tables, for set-based SQL."""
    tables = Base.metadata.tables
    return tables["merged_records"], tables["merges"], tables["merge_moved_rows"]


def _to_json(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _from_json(column: Column[Any], value: Any) -> object:
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    return value
