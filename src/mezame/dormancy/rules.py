"""Who is dormant, of which kind, since when and why then (SPEC 3.1, 3.4), over whole arrays.

The unit of a dormant record depends on the kind:

- **former customer** (取引のあった既存顧客) and **lost or postponed deal** (失注・見送り) are
  companies: orders, contracts and deals belong to the company, and a company is won back as
  a whole. The record names one contact to approach (the one on the latest order or deal).
- **contact only** (接点のみ) is a person: a business card or a download says nothing about
  the company, and each such person is approached on their own.

A company with orders (or a won deal) is judged as a former customer; a company without any,
whose latest closed deal was lost or postponed, as a lost deal; an open deal means sales is
working on it and nobody is dormant. Contacts of companies with neither orders nor deals (or
of no company) are judged as contact only.

"Fell asleep" is the last sign of the relationship: for a former customer the latest of its
last order, the end of an uncancelled contract, a cancellation and a later lost deal; for a
lost deal the day it closed; for a contact the latest of acquisition (接点取得日) and a response.
A record is dormant once its kind's threshold (in calendar months) has passed since then, and
excluded as probably gone to a competitor once the kind's upper bound has passed too.

Days are int64 counts since 1970-01-01; MISSING marks "never". Nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mezame.vocabulary import EventType

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

MISSING = np.iinfo(np.int64).min // 2  # "never": smaller than any day, safe to compare
DAYS_PER_MONTH = 30.4375


class DormancyKind(StrEnum):
    FORMER_CUSTOMER = "former_customer"
    LOST_DEAL = "lost_deal"
    CONTACT_ONLY = "contact_only"


KINDS: tuple[DormancyKind, ...] = tuple(DormancyKind)


class Trigger(StrEnum):
    """What marked the day a record fell asleep."""

    LAST_ORDER = "last_order"
    CONTRACT_END = "contract_end"
    CANCELLATION = "cancellation"
    LOST_DEAL = "lost_deal"
    POSTPONED_DEAL = "postponed_deal"
    ACQUISITION = "acquisition"
    LAST_RESPONSE = "last_response"


TRIGGERS: tuple[Trigger, ...] = tuple(Trigger)


class KindRule(BaseModel):
    """Dormant after `after_months` of silence; excluded as gone after `exclude_after_months`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    after_months: int = Field(ge=0, le=240)
    exclude_after_months: int = Field(ge=1, le=600)

    @model_validator(mode="after")
    def _bound_after_threshold(self) -> KindRule:
        if self.exclude_after_months <= self.after_months:
            raise ValueError(
                f"除外の上限 ({self.exclude_after_months} か月) は休眠の基準 "
                f"({self.after_months} か月) より長くしてください / the upper bound must exceed "
                "the threshold"
            )
        return self


# Responses end a contact-only silence: things a person does on their own initiative.
# Opens, clicks and site visits are interest (the lead score), not a renewed relationship.
DEFAULT_RESPONSES = (
    EventType.MAIL_REPLIED,
    EventType.INQUIRY,
    EventType.DEMO_REQUEST,
    EventType.DOCUMENT_DOWNLOAD,
    EventType.WEBINAR_ATTENDED,
)


class DormancyPolicy(BaseModel):
    """The dormancy rules the team edits (SPEC 3.1, 3.2, 3.4); defaults from the seeds."""

    policy_key: ClassVar[str] = "dormancy.rules"
    model_config = ConfigDict(frozen=True, extra="forbid")

    former_customer: KindRule = KindRule(after_months=12, exclude_after_months=60)
    lost_deal: KindRule = KindRule(after_months=0, exclude_after_months=36)
    contact_only: KindRule = KindRule(after_months=3, exclude_after_months=24)
    # Product line (of the last order) → months, for lines bought on another rhythm.
    former_customer_by_line: dict[str, int] = Field(default_factory=dict)
    response_events: tuple[EventType, ...] = DEFAULT_RESPONSES
    # Suggest the silence after which fewer than this share of customers ever came back.
    suggest_max_return_rate: float = Field(default=0.10, gt=0, le=1)

    @model_validator(mode="after")
    def _line_thresholds_below_bound(self) -> DormancyPolicy:
        for line, months in self.former_customer_by_line.items():
            if not line.strip():
                raise ValueError("商品ラインの名前が空です / empty product line name")
            if not 0 <= months < self.former_customer.exclude_after_months:
                raise ValueError(
                    f"商品ライン {line!r} の基準 {months} か月は 0 以上、除外の上限 "
                    f"({self.former_customer.exclude_after_months} か月) 未満にしてください"
                )
        return self

    def rule(self, kind: DormancyKind) -> KindRule:
        rule: KindRule = getattr(self, kind.value)
        return rule


def add_months(days: IntArray, months: IntArray | int) -> IntArray:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 → 28 Feb)."""
    when = days.astype("datetime64[D]")
    month = when.astype("datetime64[M]")
    day_of_month = (when - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    result: IntArray = target.astype("datetime64[D]").astype(np.int64) + np.minimum(
        day_of_month, length - 1
    )
    return result


@dataclass(frozen=True, slots=True)
class CompanyFacts:
    """Per company (one element each), the dates that decide its dormancy; MISSING if none."""

    last_order: IntArray  # last order (or won deal) on or before as_of
    contract_end: IntArray  # latest end of a contract not cancelled by as_of
    cancellation: IntArray  # latest cancellation on or before as_of
    last_lost: IntArray  # latest close of a lost or postponed deal
    last_lost_postponed: BoolArray  # that latest closed-not-won deal was postponed (見送り)
    open_deals: IntArray  # deals still open
    line_months: IntArray | None = None  # per-company former-customer threshold (product line)


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """Per contact: whether the company already speaks for it, and its dated touches."""

    company_has_relationship: BoolArray  # the company has orders or deals: not contact-only
    acquired: IntArray  # 接点取得日, or the first known touch
    last_response: IntArray  # latest response event or sales activity


@dataclass(frozen=True, slots=True)
class Dormancy:
    """The dormant records of one judgement: indexes into the facts and what was found."""

    index: IntArray  # position in the facts arrays
    kind: NDArray[np.int8]  # index into KINDS
    fell_asleep: IntArray
    trigger: NDArray[np.int8]  # index into TRIGGERS
    excluded: BoolArray  # beyond the kind's upper bound: probably gone


def _code(values: tuple[StrEnum, ...], member: StrEnum) -> int:
    return values.index(member)


def _judge(
    index: IntArray,
    kind: NDArray[np.int8],
    fell_asleep: IntArray,
    trigger: NDArray[np.int8],
    threshold_months: IntArray,
    bound_months: IntArray,
    as_of: int,
) -> Dormancy:
    dormant = add_months(fell_asleep, threshold_months) <= as_of
    excluded = add_months(fell_asleep, bound_months) <= as_of
    return Dormancy(
        index=index[dormant],
        kind=kind[dormant],
        fell_asleep=fell_asleep[dormant],
        trigger=trigger[dormant],
        excluded=excluded[dormant],
    )


def classify_companies(facts: CompanyFacts, policy: DormancyPolicy, *, as_of: int) -> Dormancy:
    """Former customers and lost deals among companies, with when and how they fell asleep."""
    n = facts.last_order.size
    customer = facts.last_order != MISSING
    no_open_deal = facts.open_deals == 0
    former = customer & no_open_deal
    lost = ~customer & no_open_deal & (facts.last_lost != MISSING)

    # Candidates in tie-break order: on the same day the more telling trigger wins.
    lost_trigger = np.where(
        facts.last_lost_postponed,
        _code(TRIGGERS, Trigger.POSTPONED_DEAL),
        _code(TRIGGERS, Trigger.LOST_DEAL),
    )
    candidates = np.stack(
        [facts.cancellation, facts.last_lost, facts.contract_end, facts.last_order]
    )
    candidate_trigger = np.stack(
        [
            np.full(n, _code(TRIGGERS, Trigger.CANCELLATION)),
            lost_trigger,
            np.full(n, _code(TRIGGERS, Trigger.CONTRACT_END)),
            np.full(n, _code(TRIGGERS, Trigger.LAST_ORDER)),
        ]
    )
    latest = np.argmax(candidates, axis=0)
    fell_asleep = candidates[latest, np.arange(n)]
    trigger = candidate_trigger[latest, np.arange(n)].astype(np.int8)

    former_rule, lost_rule = policy.former_customer, policy.lost_deal
    threshold = np.where(former, former_rule.after_months, lost_rule.after_months)
    if facts.line_months is not None:
        threshold = np.where(former & (facts.line_months >= 0), facts.line_months, threshold)
    bound = np.where(former, former_rule.exclude_after_months, lost_rule.exclude_after_months)
    kind = np.where(
        former, _code(KINDS, DormancyKind.FORMER_CUSTOMER), _code(KINDS, DormancyKind.LOST_DEAL)
    ).astype(np.int8)
    trigger = np.where(lost, lost_trigger, trigger).astype(np.int8)
    fell_asleep = np.where(lost, facts.last_lost, fell_asleep)
    judged = np.flatnonzero(former | lost)
    return _judge(
        judged,
        kind[judged],
        fell_asleep[judged],
        trigger[judged],
        threshold[judged].astype(np.int64),
        bound[judged].astype(np.int64),
        as_of,
    )


def classify_contacts(facts: ContactFacts, policy: DormancyPolicy, *, as_of: int) -> Dormancy:
    """Contact-only records: no response for the threshold after acquisition or the last one.

    A contact with neither an acquisition date nor any response cannot be dated and is left out.
    """
    responded = facts.last_response > facts.acquired
    fell_asleep = np.maximum(facts.acquired, facts.last_response)
    judged = np.flatnonzero(~facts.company_has_relationship & (fell_asleep != MISSING))
    trigger = np.where(
        responded, _code(TRIGGERS, Trigger.LAST_RESPONSE), _code(TRIGGERS, Trigger.ACQUISITION)
    ).astype(np.int8)
    rule = policy.contact_only
    count = judged.size
    return _judge(
        judged,
        np.full(count, _code(KINDS, DormancyKind.CONTACT_ONLY), dtype=np.int8),
        fell_asleep[judged],
        trigger[judged],
        np.full(count, rule.after_months, dtype=np.int64),
        np.full(count, rule.exclude_after_months, dtype=np.int64),
        as_of,
    )
