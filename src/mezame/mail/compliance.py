"""Who may be mailed (特定電子メール法) and who must never be: consent rules and suppression.

The law lets a sender mail those who opted in, those who handed over their address in
writing (a business card), and those "in a transaction relationship". Whether a former
customer who went quiet years ago is still in such a relationship is the company's
call, so it is a setting; the default is conservative and anything looser carries a
warning the UI shows next to the setting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, Field

from mezame.messages import N_
from mezame.vocabulary import ConsentBasis


class SuppressionReason(StrEnum):
    """Why an address is on the global suppression list; every reason blocks every mail."""

    UNSUBSCRIBED = "unsubscribed"
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCES = "soft_bounces"  # too many soft bounces in the window
    COMPLAINT = "complaint"
    MANUAL = "manual"


class ConsentPolicy(BaseModel):
    """Which consent bases count, and for how long."""

    policy_key: ClassVar[str] = "mail_consent"

    accept_business_card: bool = True
    # None: a business card counts for as long as the consent record stands.
    business_card_max_months: int | None = Field(default=None, ge=1, le=240)
    accept_existing_transaction: bool = True
    # A transaction relationship counts this long after the last order or contract end.
    existing_transaction_max_months: int | None = Field(default=24, ge=1, le=240)

    def warnings(self) -> list[str]:
        """English msgids of the legal risks of the current setting (the shells translate them)."""
        out: list[str] = []
        if self.accept_existing_transaction and (
            self.existing_transaction_max_months is None
            or self.existing_transaction_max_months > 24
        ):
            out.append(
                N_(
                    "Former customers whose last transaction is more than two years old may no "
                    "longer count as an existing business relationship under the Act on "
                    "Specified Electronic Mail. Confirm this with your legal advisor."
                )
            )
        if self.accept_business_card and self.business_card_max_months is None:
            out.append(
                N_(
                    "Business-card consent has no age limit. The law accepts it, but recipients "
                    "who met you long ago complain more often."
                )
            )
        return out


class BouncePolicy(BaseModel):
    """How many soft bounces an address may collect before it is suppressed."""

    policy_key: ClassVar[str] = "mail_bounces"

    soft_bounce_limit: int = Field(default=3, ge=1, le=50)
    soft_bounce_window_days: int = Field(default=90, ge=1, le=730)
    # A soft-bounced send is tried again after this long (while under the limit).
    soft_bounce_retry_hours: int = Field(default=24, ge=1, le=720)


@dataclass(frozen=True, slots=True)
class ConsentFact:
    """One stored consent record, as far as the rules care."""

    basis: str
    obtained_on: date
    withdrawn: bool


@dataclass(frozen=True, slots=True)
class ConsentVerdict:
    allowed: bool
    basis: str | None
    reason: str  # English, for the send log: which basis, or why none counts


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (clamped to the month's last day)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


@dataclass(frozen=True, slots=True)
class ConsentCutoffs:
    """The policy resolved for one day: per basis, None = not accepted, else the oldest date."""

    opt_in: date
    business_card: date | None
    existing_transaction: date | None


def consent_cutoffs(policy: ConsentPolicy, *, as_of: date) -> ConsentCutoffs:
    """What the policy means on `as_of` (the SQL audience query uses these same dates)."""
    business_card = (
        (
            months_before(as_of, policy.business_card_max_months)
            if policy.business_card_max_months
            else date.min
        )
        if policy.accept_business_card
        else None
    )
    existing = (
        (
            months_before(as_of, policy.existing_transaction_max_months)
            if policy.existing_transaction_max_months
            else date.min
        )
        if policy.accept_existing_transaction
        else None
    )
    return ConsentCutoffs(
        opt_in=date.min, business_card=business_card, existing_transaction=existing
    )


def consent_verdict(
    facts: Iterable[ConsentFact],
    *,
    last_transaction_on: date | None,
    cutoffs: ConsentCutoffs,
) -> ConsentVerdict:
    """May this contact be mailed? Opt-in wins, then business card, then a recent transaction.

    An existing-transaction record counts while the later of its own date and the
    company's last order or contract end is on or after the cutoff.
    """
    live = [f for f in facts if not f.withdrawn]
    if any(f.basis == ConsentBasis.OPT_IN for f in live):
        return ConsentVerdict(True, ConsentBasis.OPT_IN, "opt-in")
    if cutoffs.business_card is not None and any(
        f.basis == ConsentBasis.BUSINESS_CARD and f.obtained_on >= cutoffs.business_card
        for f in live
    ):
        return ConsentVerdict(True, ConsentBasis.BUSINESS_CARD, "business card")
    if cutoffs.existing_transaction is not None:
        for fact in live:
            if fact.basis != ConsentBasis.EXISTING_TRANSACTION:
                continue
            latest = max(fact.obtained_on, last_transaction_on or date.min)
            if latest >= cutoffs.existing_transaction:
                return ConsentVerdict(
                    True, ConsentBasis.EXISTING_TRANSACTION, "existing transaction"
                )
        if any(f.basis == ConsentBasis.EXISTING_TRANSACTION for f in live):
            return ConsentVerdict(False, None, "existing transaction too old")
    return ConsentVerdict(False, None, "no consent")


def normalise_address(address: str) -> str:
    """The form suppressions are keyed by: trimmed and lower-cased (domains are case-free,
    and no real mailbox distinguishes local parts by case)."""
    return address.strip().lower()
