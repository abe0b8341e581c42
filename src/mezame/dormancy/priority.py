"""Who to wake first (SPEC 4.1, 4.2): an additive score whose every point is explained.

The score is a sum of signed contributions, one per factor, so "why is this one here" is
answered by the factors themselves: the largest contributions, with their sign, in Japanese
and English. Factors (weights are the `PriorityPolicy` the team edits):

- kind: former customers come back more readily than lost deals, lost deals than contacts;
- value before dormancy: order count, spend (the deal amount for a lost deal) and months
  under contract — percentiles within the kind, so they read as "top x %";
- statistics: P(alive) from BG/NBD (signed around the kind's median) and the expected spend
  over the next year (BG/NBD × Gamma-Gamma);
- time asleep: from nothing at the kind's threshold down to the full weight at its upper bound;
- reason × change: a change since they left that answers their reason (price → price cut …)
  counts its weight times the reason's confidence; any other change a little;
- current interest: the lead score (0–100) once it exists;
- reach: no way to contact them at all costs points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mezame.dormancy.changes import ANSWERS, CHANGE_KINDS, REASONS, ChangeKind
from mezame.dormancy.rules import DAYS_PER_MONTH, KINDS, DormancyKind
from mezame.vocabulary import LostReason

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

FACTORS = (
    "kind",
    "frequency",
    "spend",
    "contract",
    "expected_value",
    "p_alive",
    "asleep",
    "change",
    "interest",
    "reach",
)
BANDS = ("high", "medium", "low")
CONTRACT_MONTHS_FULL = 36  # three-year terms count in full
EXPLAINED_FACTORS = 4


class PriorityPolicy(BaseModel):
    """Points per factor at its strongest, and the score bands (高・中・低)."""

    policy_key: ClassVar[str] = "dormancy.priority"
    model_config = ConfigDict(frozen=True, extra="forbid")

    former_customer: float = Field(default=10.0, ge=0, le=100)
    lost_deal: float = Field(default=6.0, ge=0, le=100)
    contact_only: float = Field(default=0.0, ge=0, le=100)
    frequency: float = Field(default=8.0, ge=0, le=100)
    spend: float = Field(default=10.0, ge=0, le=100)
    contract: float = Field(default=8.0, ge=0, le=100)
    expected_value: float = Field(default=8.0, ge=0, le=100)
    p_alive: float = Field(default=6.0, ge=0, le=100)
    asleep: float = Field(default=20.0, ge=0, le=100)
    # A change that answers the reason, by how directly it removes the obstacle: a lower price
    # removes a price objection; a case study only argues against a competitor.
    price_cut_for_price: float = Field(default=30.0, ge=0, le=100)
    new_feature_for_function: float = Field(default=26.0, ge=0, le=100)
    new_season_for_timing: float = Field(default=20.0, ge=0, le=100)
    case_study_for_competitor: float = Field(default=18.0, ge=0, le=100)
    change_other: float = Field(default=5.0, ge=0, le=100)
    interest: float = Field(default=25.0, ge=0, le=100)
    unreachable: float = Field(default=15.0, ge=0, le=100)
    band_high: float = Field(default=40.0, ge=-100, le=300)
    band_medium: float = Field(default=20.0, ge=-100, le=300)

    @model_validator(mode="after")
    def _bands_ordered(self) -> PriorityPolicy:
        if self.band_medium >= self.band_high:
            raise ValueError("「中」の下限は「高」の下限より低くしてください / medium below high")
        return self


@dataclass(frozen=True, slots=True)
class PriorityInputs:
    """Per dormant record (non-excluded), everything the score reads."""

    kind: NDArray[np.int8]  # index into KINDS
    asleep_days: IntArray
    threshold_days: IntArray  # the kind's threshold for this record, in days
    bound_days: IntArray  # the kind's upper bound, in days
    order_count: IntArray
    spend: FloatArray  # yen before dormancy; a lost deal's amount
    contract_months: FloatArray
    p_alive: FloatArray  # NaN where the model says nothing (no repeat purchase)
    expected_value: FloatArray  # yen over the next year; NaN where unknown
    reason: NDArray[np.int8]  # index into REASONS
    reason_confidence: FloatArray  # of the reason; 0 for unknown
    change_answers_reason: BoolArray
    has_change: BoolArray
    interest: FloatArray  # lead score 0..100
    reachable: BoolArray


@dataclass(frozen=True, slots=True)
class Priority:
    """Scores, their parts (records × FACTORS) and bands."""

    contributions: FloatArray
    score: FloatArray
    band: NDArray[np.int8]  # index into BANDS


def _percentile_within(
    values: FloatArray, groups: NDArray[np.int8], usable: BoolArray
) -> FloatArray:
    """Each usable value's share of its group at or below it (0..1]; 0 elsewhere."""
    out = np.zeros(values.size)
    for group in np.unique(groups[usable]):
        members = usable & (groups == group)
        ordered = np.sort(values[members])
        out[members] = np.searchsorted(ordered, values[members], side="right") / ordered.size
    return out


def _centred_within(values: FloatArray, groups: NDArray[np.int8], usable: BoolArray) -> FloatArray:
    """-1..1: below or above the group's median, by rank; 0 where unusable."""
    share = _percentile_within(values, groups, usable)
    return np.where(usable, 2.0 * share - 1.0, 0.0)


def score(inputs: PriorityInputs, policy: PriorityPolicy) -> Priority:
    """The additive score of every record, vectorised; contributions columns follow FACTORS."""
    kind_points = np.array([getattr(policy, k.value) for k in KINDS])
    with_orders = inputs.order_count > 0
    with_spend = inputs.spend > 0
    alive_known = np.isfinite(inputs.p_alive)
    value_known = np.isfinite(inputs.expected_value) & (inputs.expected_value > 0)
    span = np.maximum(inputs.bound_days - inputs.threshold_days, 1)
    overslept = np.clip((inputs.asleep_days - inputs.threshold_days) / span, 0.0, 1.0)
    answer_points = np.zeros(len(REASONS))
    for reason, change in ANSWERS.items():
        answer_points[REASONS.index(reason)] = getattr(policy, f"{change.value}_for_{reason.value}")
    any_change = np.where(
        inputs.has_change | inputs.change_answers_reason, policy.change_other, 0.0
    )
    # A change that answers the reason is never worth less than one that does not.
    change_points = np.where(
        inputs.change_answers_reason,
        np.maximum(answer_points[inputs.reason] * inputs.reason_confidence, any_change),
        any_change,
    )
    columns = {
        "kind": kind_points[inputs.kind],
        "frequency": policy.frequency
        * _percentile_within(inputs.order_count.astype(np.float64), inputs.kind, with_orders),
        "spend": policy.spend * _percentile_within(inputs.spend, inputs.kind, with_spend),
        "contract": policy.contract
        * np.clip(inputs.contract_months / CONTRACT_MONTHS_FULL, 0.0, 1.0),
        "expected_value": policy.expected_value
        * _percentile_within(np.nan_to_num(inputs.expected_value), inputs.kind, value_known),
        "p_alive": policy.p_alive
        * _centred_within(np.nan_to_num(inputs.p_alive), inputs.kind, alive_known),
        "asleep": -policy.asleep * overslept,
        "change": change_points,
        "interest": policy.interest * np.clip(inputs.interest, 0.0, 100.0) / 100.0,
        "reach": np.where(inputs.reachable, 0.0, -policy.unreachable),
    }
    contributions = np.round(np.column_stack([columns[f] for f in FACTORS]), 2)
    total = contributions.sum(axis=1)
    band = np.where(total >= policy.band_high, 0, np.where(total >= policy.band_medium, 1, 2))
    return Priority(
        contributions=contributions, score=np.round(total, 2), band=band.astype(np.int8)
    )


def rank_order(scores: FloatArray, tiebreak: IntArray) -> IntArray:
    """Positions by score, highest first; ties go to the smaller `tiebreak`."""
    return np.lexsort((tiebreak, -scores))


# ---------------------------------------------------------------------------------------------
# Explanations, in the record's own numbers.


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """One stored record, as much as its explanation needs."""

    kind: DormancyKind
    asleep_days: int
    order_count: int
    spend: int
    contract_months: int
    p_alive: float | None
    expected_value: float | None
    reason: LostReason
    reason_inferred: bool
    change_kind: ChangeKind | None
    change_on: date | None
    change_description: str | None
    change_answers_reason: bool
    interest: float


@dataclass(frozen=True, slots=True)
class Explained:
    factor: str
    points: float
    text: str


def format_day(day: date, locale: str) -> str:
    """2026年11月23日 / Nov 23, 2026."""
    if locale == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day:%b} {day.day}, {day.year}"


def months(days: int) -> int:
    return int(days // DAYS_PER_MONTH)


def yen(amount: float, locale: str) -> str:
    """2,043,900円 / ¥2,043,900 (the yen sign is not in CP932, the Excel export's encoding)."""
    return f"{round(amount):,}円" if locale == "ja" else f"¥{round(amount):,}"


KIND_NAMES = {
    DormancyKind.FORMER_CUSTOMER: ("既存顧客（取引実績あり）", "former customer"),
    DormancyKind.LOST_DEAL: ("失注・見送りの商談", "lost or postponed deal"),
    DormancyKind.CONTACT_ONLY: ("接点のみ", "contact only"),
}
REASON_NAMES = {
    LostReason.PRICE: ("価格", "price"),
    LostReason.FUNCTION: ("機能", "function"),
    LostReason.TIMING: ("タイミング", "timing"),
    LostReason.COMPETITOR: ("競合", "a competitor"),
    LostReason.UNKNOWN: ("不明", "unknown"),
}
TRIGGER_NAMES = {
    "last_order": ("最終受注", "last order"),
    "contract_end": ("契約終了", "contract ended"),
    "cancellation": ("解約", "cancellation"),
    "lost_deal": ("失注", "deal lost"),
    "postponed_deal": ("見送り", "deal postponed"),
    "acquisition": ("接点取得（以後反応なし）", "acquired, no response since"),
    "last_response": ("最終反応", "last response"),
}
BAND_NAMES = {
    "high": ("高", "high"),
    "medium": ("中", "medium"),
    "low": ("低", "low"),
    "gone": ("除外（休眠が長すぎる）", "excluded (asleep too long)"),
}
CHANGE_NAMES = {
    ChangeKind.PRICE_CUT: ("値下げ・キャンペーン", "price cut"),
    ChangeKind.NEW_FEATURE: ("機能追加", "new feature"),
    ChangeKind.NEW_SEASON: ("新しい期・導入時期", "new season"),
    ChangeKind.CASE_STUDY: ("導入事例", "case study"),
    ChangeKind.PRICE_RISE: ("値上げ", "price rise"),
}
assert set(CHANGE_NAMES) == set(CHANGE_KINDS)


def _pick(pair: tuple[str, str], locale: str) -> str:
    return pair[0] if locale == "ja" else pair[1]


def describe(factor: str, facts: RecordFacts, locale: str) -> str:
    """What a factor says about this record, in `locale` (ja or en)."""
    ja = locale == "ja"
    if factor == "kind":
        return _pick(KIND_NAMES[facts.kind], locale)
    if factor == "frequency":
        return (
            f"過去の受注 {facts.order_count:,} 回" if ja else f"{facts.order_count:,} past orders"
        )
    if factor == "spend":
        if facts.kind is DormancyKind.LOST_DEAL:
            amount = yen(facts.spend, locale)
            return f"商談金額 {amount}" if ja else f"deal worth {amount}"
        amount = yen(facts.spend, locale)
        return f"累計取引額 {amount}" if ja else f"{amount} spent before"
    if factor == "contract":
        m = facts.contract_months
        return f"契約期間 計 {m} か月" if ja else f"{m} months under contract"
    if factor == "expected_value":
        value = yen(facts.expected_value or 0.0, locale)
        return f"今後1年の期待購入額 {value}" if ja else f"expected spend next year {value}"
    if factor == "p_alive":
        p = round(100 * (facts.p_alive or 0.0))
        return f"まだ離れていない確率 {p}%" if ja else f"P(still a customer) {p}%"
    if factor == "asleep":
        m = months(facts.asleep_days)
        return f"休眠 {m} か月" if ja else f"asleep {m} months"
    if factor == "change":
        return _describe_change(facts, locale)
    if factor == "interest":
        s = round(facts.interest)
        return f"現在の関心（リードスコア {s}）" if ja else f"current interest (lead score {s})"
    if factor == "reach":
        return "連絡手段なし（メール・電話・住所）" if ja else "no way to reach them"
    raise ValueError(f"unknown factor {factor!r}")


def _describe_change(facts: RecordFacts, locale: str) -> str:
    ja = locale == "ja"
    kind = facts.change_kind
    change = _pick(CHANGE_NAMES[kind], locale) if kind is not None else ""
    when = f"（{format_day(facts.change_on, locale)}）" if facts.change_on else ""
    if not ja and facts.change_on:
        when = f" ({format_day(facts.change_on, locale)})"
    if facts.change_answers_reason:
        reason = _pick(REASON_NAMES[facts.reason], locale)
        if facts.reason_inferred:
            left = "値上げ後に休眠（価格が理由と推定）" if ja else "went quiet after a price rise"
        else:
            left = f"{reason}が理由で離脱" if ja else f"left over {reason}"
        return f"{left} × {change}{when}"
    return f"前回から変化あり: {change}{when}" if ja else f"something changed since: {change}{when}"


def explain(
    contributions: dict[str, float],
    facts: RecordFacts,
    locale: str,
    *,
    top: int = EXPLAINED_FACTORS,
) -> list[Explained]:
    """The `top` factors that moved this record most, largest first, with their sign."""
    moved = [(f, p) for f, p in contributions.items() if abs(p) >= 0.05]
    moved.sort(key=lambda item: (-abs(item[1]), FACTORS.index(item[0])))
    return [Explained(f, p, describe(f, facts, locale)) for f, p in moved[:top]]


def threshold_days(after_months: IntArray | int) -> IntArray:
    """A threshold in months as days, for the time-asleep factor's scale."""
    return np.round(np.asarray(after_months, dtype=np.float64) * DAYS_PER_MONTH).astype(np.int64)


def day_of(epoch_days: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(epoch_days))
