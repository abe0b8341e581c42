"""Survivorship: which record of a duplicate cluster survives a merge, and which value each field
keeps.

Pure. A field keeps the newest non-empty value (the most recently updated record that has
one), or — by policy — the value from the most trusted source; the other criterion breaks
ties, then the survivor's own value. The name stays the survivor's; notes are joined, never
dropped; the first contact date is the earliest and the last-seen time the latest. An invalid
法人番号 or a status of "unknown" counts as empty, so it never overwrites a real value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from mezame.cleaning.normalize import check_corporate_number, normalize_text


class SurvivorshipRule(StrEnum):
    """How a field's surviving value is chosen among the records' non-empty values."""

    NEWEST = "newest"  # the most recently updated record's value; source trust breaks ties
    MOST_TRUSTED = "most_trusted"  # the most trusted source's value; recency breaks ties


class SurvivorshipPolicy(BaseModel):
    """Survivorship settings (a business policy: edited in the UI)."""

    model_config = ConfigDict(frozen=True)
    policy_key: ClassVar[str] = "cleaning.survivorship"

    rule: SurvivorshipRule = SurvivorshipRule.NEWEST
    # Sources (獲得経路 / 接点), most trusted first; unlisted and empty sources come after. A
    # contract and a scanned business card are checked facts; a web form is typed in a hurry;
    # a telemarketing list is bought.
    source_trust: tuple[str, ...] = Field(
        default=(
            "既存取引",
            "名刺交換",
            "展示会",
            "紹介",
            "問い合わせ",
            "資料請求",
            "ウェビナー",
            "テレアポ",
        )
    )


class FieldRule(StrEnum):
    """How one field of the survivor is filled from the cluster."""

    PICK = "pick"  # one record's value, by the policy's rule
    KEEP = "keep"  # the survivor's own value; another record's only when the survivor has none
    JOIN = "join"  # every distinct text, the survivor's first (notes: nothing is lost)
    EARLIEST = "earliest"
    LATEST = "latest"


# A name is how people know the record: a variant spelling (ﾔﾏﾀﾞ(株)) never replaces it.
COMPANY_FIELDS: Mapping[str, FieldRule] = {
    "name": FieldRule.KEEP,
    "name_kana": FieldRule.PICK,
    "corporate_number": FieldRule.PICK,
    "industry": FieldRule.PICK,
    "employee_count": FieldRule.PICK,
    "phone": FieldRule.PICK,
    "website": FieldRule.PICK,
    "postal_code": FieldRule.PICK,
    "address": FieldRule.PICK,
    "status": FieldRule.PICK,
    "status_updated_at": FieldRule.LATEST,
    "owner_id": FieldRule.PICK,
    "source": FieldRule.PICK,
    "notes": FieldRule.JOIN,
}
CONTACT_FIELDS: Mapping[str, FieldRule] = {
    "company_id": FieldRule.PICK,
    "name": FieldRule.KEEP,
    "name_kana": FieldRule.PICK,
    "department": FieldRule.PICK,
    "title": FieldRule.PICK,
    "email": FieldRule.PICK,
    "phone": FieldRule.PICK,
    "mobile": FieldRule.PICK,
    "source": FieldRule.PICK,
    "acquired_on": FieldRule.EARLIEST,
    "hearing_notes": FieldRule.JOIN,
    "owner_id": FieldRule.PICK,
    "last_seen_at": FieldRule.LATEST,
}


@dataclass(frozen=True, slots=True)
class MergeInput:
    """One record of a cluster to merge, as survivorship sees it."""

    id: int
    external_id: str | None
    source: str | None
    updated_at: datetime
    values: Mapping[str, object]  # every field of the rule table


@dataclass(frozen=True, slots=True)
class MergePlan:
    """The survivor, the records folded into it, and the survivor's fields that change."""

    survivor: int
    merged: tuple[int, ...]
    changes: dict[str, object]


def is_empty(field: str, value: object) -> bool:
    """A value that says nothing: blank, an unknown status, or an invalid 法人番号."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    if field == "status":
        return value == "unknown"
    if field == "corporate_number":
        return check_corporate_number(str(value)).valid_number is None
    return False


def _trust_rank(source: str | None, policy: SurvivorshipPolicy) -> int:
    if source:
        key = normalize_text(source)
        for rank, trusted in enumerate(policy.source_trust):
            if normalize_text(trusted) == key:
                return rank
    return len(policy.source_trust)


def choose_survivor(records: Sequence[MergeInput]) -> MergeInput:
    """The record that keeps its identity: the oldest (lowest id: the longest history) of those
    with an external id, the code other files name it by."""
    return min(records, key=lambda r: (r.external_id is None, r.id))


def plan_merge(
    records: Sequence[MergeInput], fields: Mapping[str, FieldRule], policy: SurvivorshipPolicy
) -> MergePlan:
    """Who survives and which of its fields take another record's value."""
    if len(records) < 2:
        raise ValueError("a merge needs at least two records")
    if len({r.id for r in records}) != len(records):
        raise ValueError("a record appears twice in the merge")
    survivor = choose_survivor(records)

    def newest(r: MergeInput) -> float:
        return -r.updated_at.timestamp()

    def preference(r: MergeInput) -> tuple[float, float, bool, int]:
        trust = float(_trust_rank(r.source, policy))
        first, second = (
            (newest(r), trust) if policy.rule is SurvivorshipRule.NEWEST else (trust, newest(r))
        )
        return first, second, r.id != survivor.id, r.id

    ranked = sorted(records, key=preference)
    changes: dict[str, object] = {}
    for field, rule in fields.items():
        present = [r for r in ranked if not is_empty(field, r.values.get(field))]
        if not present:
            continue
        value: object
        if rule is FieldRule.KEEP and not is_empty(field, survivor.values.get(field)):
            continue
        if rule in (FieldRule.PICK, FieldRule.KEEP):
            value = present[0].values[field]
        elif rule is FieldRule.JOIN:
            texts: list[str] = []
            for r in sorted(present, key=lambda r: (r.id != survivor.id, r.id)):
                text = str(r.values[field]).strip()
                if text not in texts:
                    texts.append(text)
            value = "\n".join(texts)
        else:
            values = [r.values[field] for r in present]
            value = min(values) if rule is FieldRule.EARLIEST else max(values)  # type: ignore[type-var]
        if value != survivor.values.get(field):
            changes[field] = value
    merged = tuple(sorted(r.id for r in records if r.id != survivor.id))
    return MergePlan(survivor=survivor.id, merged=merged, changes=changes)


def company_merge_conflicts(records: Sequence[MergeInput]) -> list[str]:
    """Why these companies must not be merged: two different valid 法人番号 are two companies."""
    numbers: dict[str, list[int]] = {}
    for record in records:
        number = check_corporate_number(_text(record.values.get("corporate_number"))).valid_number
        if number:
            numbers.setdefault(number, []).append(record.id)
    if len(numbers) < 2:
        return []
    listed = ", ".join(f"{n} (#{', #'.join(map(str, ids))})" for n, ids in sorted(numbers.items()))
    return [f"法人番号が異なる (different corporate numbers): {listed}"]


def _text(value: object) -> str | None:
    return None if value is None else str(value)
