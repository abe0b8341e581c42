"""What changed since a customer left (前回からの変化): the offers/changes setting and its matching.

The seeds' rule for a re-proposal is to name exactly one change since last time: a price
cut for those who left over price, a new feature for those who missed one, a new season for
bad timing, a peer's case study against a competitor. The team records changes as a policy;
a dormant record is matched with the changes made after it fell asleep (and on or before
as_of), preferring the one that answers its reason, then the most recent.

A recorded price rise is not an offer: it explains silence. Former customers who fell asleep
around a price rise (from `PRICE_RISE_BEFORE_DAYS` before to `PRICE_RISE_AFTER_DAYS` after it)
and whose own words name no reason are taken to have left over price — the seeds'
値上げ後に休眠化した顧客 — with a confidence that fades with the distance from the rise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mezame.vocabulary import LostReason

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

PRICE_RISE_BEFORE_DAYS = 30  # the last order just before the rise; the next one never came
PRICE_RISE_AFTER_DAYS = 365  # cancelled on the notice or at the first renewal at the new price
INFERRED_PRICE_CONFIDENCE = 0.75  # at the rise itself; less with distance


class ChangeKind(StrEnum):
    PRICE_CUT = "price_cut"  # 値下げ・キャンペーン
    NEW_FEATURE = "new_feature"  # 機能追加
    NEW_SEASON = "new_season"  # 新しい期・導入時期
    CASE_STUDY = "case_study"  # 導入事例
    PRICE_RISE = "price_rise"  # 値上げ (explains silence; never offered)


CHANGE_KINDS: tuple[ChangeKind, ...] = tuple(ChangeKind)

# The change that answers each reason (SPEC 5.2's four re-proposal sentences).
ANSWERS: dict[LostReason, ChangeKind] = {
    LostReason.PRICE: ChangeKind.PRICE_CUT,
    LostReason.FUNCTION: ChangeKind.NEW_FEATURE,
    LostReason.TIMING: ChangeKind.NEW_SEASON,
    LostReason.COMPETITOR: ChangeKind.CASE_STUDY,
}


class Change(BaseModel):
    """One change the team can mention: when, what kind, for which product line, in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on: date
    kind: ChangeKind
    description: str = Field(min_length=1, max_length=500)
    product_line: str | None = Field(default=None, max_length=100)

    @field_validator("description")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("説明を入力してください / describe the change")
        return value.strip()

    @field_validator("product_line")
    @classmethod
    def _blank_is_all(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class ChangesPolicy(BaseModel):
    """The offers/changes setting: what is new since customers left."""

    policy_key: ClassVar[str] = "dormancy.changes"
    model_config = ConfigDict(frozen=True, extra="forbid")

    changes: tuple[Change, ...] = ()

    def sorted(self) -> ChangesPolicy:
        """The same changes, oldest first (how they are stored and shown)."""
        return ChangesPolicy(changes=tuple(sorted(self.changes, key=lambda c: (c.on, c.kind))))


def epoch_day(day: date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


@dataclass(frozen=True, slots=True)
class ChangeMatch:
    """Per record: the change to mention (-1: none) and whether it answers the reason."""

    change: IntArray  # index into the policy's changes
    answers_reason: NDArray[np.bool_]


def _applies(change: Change, lines: NDArray[np.object_] | None, n: int) -> NDArray[np.bool_]:
    if change.product_line is None:
        return np.ones(n, dtype=bool)
    if lines is None:
        return np.zeros(n, dtype=bool)
    return np.asarray(lines == change.product_line, dtype=bool)


def match_changes(
    policy: ChangesPolicy,
    *,
    fell_asleep: IntArray,
    reason: NDArray[np.int8],
    lines: NDArray[np.object_] | None,
    as_of: int,
) -> ChangeMatch:
    """For each record, the latest offerable change since it fell asleep, answering ones first.

    `reason` indexes `REASONS`; `lines` holds each record's product line (or None).
    """
    n = fell_asleep.size
    best = np.full(n, -1, dtype=np.int64)
    best_answers = np.zeros(n, dtype=bool)
    best_day = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    for position, change in enumerate(policy.changes):
        if change.kind is ChangeKind.PRICE_RISE:
            continue
        day = epoch_day(change.on)
        if day > as_of:
            continue
        eligible = (fell_asleep < day) & _applies(change, lines, n)
        answering = {r for r, k in ANSWERS.items() if k is change.kind}
        answers = eligible & np.isin(reason, [REASONS.index(r) for r in answering])
        # Better: answers the reason where the current best does not, or same standing but newer.
        better = eligible & (
            (answers & ~best_answers) | ((answers == best_answers) & (day >= best_day))
        )
        best = np.where(better, position, best)
        best_answers = np.where(better, answers, best_answers)
        best_day = np.where(better, day, best_day)
    return ChangeMatch(change=best, answers_reason=best_answers)


REASONS: tuple[LostReason, ...] = tuple(LostReason)


def price_rise_confidence(policy: ChangesPolicy, fell_asleep: IntArray) -> FloatArray:
    """Per record, how likely a recorded price rise explains its silence (0: none is near).

    Highest for silence that began right at a rise, fading to nothing at the window's edges:
    the further from the rise, the likelier another cause.
    """
    best = np.zeros(fell_asleep.size)
    for change in policy.changes:
        if change.kind is not ChangeKind.PRICE_RISE:
            continue
        offset = (fell_asleep - epoch_day(change.on)).astype(np.float64)
        edge = np.where(offset < 0, PRICE_RISE_BEFORE_DAYS, PRICE_RISE_AFTER_DAYS)
        closeness = np.clip(1.0 - np.abs(offset) / edge, 0.0, 1.0)
        best = np.maximum(best, INFERRED_PRICE_CONFIDENCE * closeness)
    return best
