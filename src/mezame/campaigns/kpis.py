"""Email KPIs from send counts: 不達率, open rate, CTR, click-to-open, CVR, unsubscribe rate.

The counts come from one GROUP BY over the send log (campaigns.stats.service); this
module only turns them into rates. Definitions, in the order a mail travels:

- sent: mails the server took (or that came back as a bounce);
- delivered = sent − bounced; bounce rate (不達率) = bounced / sent;
- every later count is over delivered mails only, so no rate can pass 100 %;
- a click proves a human saw the mail, so a clicker counts as a (human) opener even when
  the pixel was blocked: clickers ⊆ human openers ⊆ openers ⊆ delivered, which makes
  CTR = click-to-open × open rate exactly;
- open rate counts human opens; the raw open rate also counts opens made only by a
  machine (Apple Mail Privacy Protection and image proxies fetch every pixel) and is
  shown flagged, never as the headline;
- a zero denominator gives None (shown as "—"): 0 of 0 is not 0 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum

from mezame.vocabulary import EventType


class ConversionGoal(StrEnum):
    """What counts as a campaign's success (CVR): set per campaign."""

    REPLY = "reply"
    DOWNLOAD = "download"
    INQUIRY = "inquiry"
    DEAL = "deal"  # a deal opened for the contact or their company
    NONE = "none"


# The events that count as reaching each goal; DEAL is read from the deals table instead.
GOAL_EVENTS: Mapping[ConversionGoal, tuple[EventType, ...]] = {
    ConversionGoal.REPLY: (EventType.MAIL_REPLIED,),
    ConversionGoal.DOWNLOAD: (EventType.DOCUMENT_DOWNLOAD,),
    ConversionGoal.INQUIRY: (EventType.INQUIRY, EventType.DEMO_REQUEST),
    ConversionGoal.DEAL: (),
    ConversionGoal.NONE: (),
}
DEFAULT_WINDOW_DAYS = 14
MAX_WINDOW_DAYS = 365


def conversion_goal(value: str) -> ConversionGoal:
    """The goal named `value`, or a clear error listing the choices."""
    try:
        return ConversionGoal(value)
    except ValueError:
        choices = ", ".join(g.value for g in ConversionGoal)
        raise ValueError(f"conversion goal: {value!r} is not one of {choices}") from None


def window_days(value: int) -> int:
    """A conversion window in days, 1 to MAX_WINDOW_DAYS."""
    if not 1 <= value <= MAX_WINDOW_DAYS:
        raise ValueError(f"conversion window: {value} days is not between 1 and {MAX_WINDOW_DAYS}")
    return value


@dataclass(frozen=True)
class SendCounts:
    """What happened to a group of sends (a campaign, a step, a day); see the module doc."""

    sent: int = 0
    bounced: int = 0
    opened: int = 0  # delivered mails opened by anyone, machines included
    human_opened: int = 0  # … by a person (a human-looking open, or a click)
    opens: int = 0  # every open hit, repeats and machines included
    machine_opens: int = 0  # the hits that looked like a machine's prefetch
    clicked: int = 0  # delivered mails with at least one click
    clicks: int = 0  # every click
    unsubscribed: int = 0
    converted: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name}: {getattr(self, f.name)} is negative")
        delivered = self.sent - self.bounced
        chain = [
            ("bounced", self.bounced, "sent", self.sent),
            ("opened", self.opened, "delivered", delivered),
            ("human_opened", self.human_opened, "opened", self.opened),
            ("clicked", self.clicked, "human_opened", self.human_opened),
            ("unsubscribed", self.unsubscribed, "delivered", delivered),
            ("converted", self.converted, "delivered", delivered),
            ("machine_opens", self.machine_opens, "opens", self.opens),
        ]
        for name, value, bound_name, bound in chain:
            if value > bound:
                raise ValueError(f"{name}: {value} exceeds {bound_name} ({bound})")
        # A mail opened only by clicking (pixel blocked) has a click but no open hit.
        if self.opens + self.clicked < self.opened:
            raise ValueError(f"opens: {self.opens} is fewer than the mails opened ({self.opened})")
        if self.clicks < self.clicked:
            raise ValueError(f"clicks: {self.clicks} is fewer than the clickers ({self.clicked})")

    @property
    def delivered(self) -> int:
        return self.sent - self.bounced

    def __add__(self, other: SendCounts) -> SendCounts:
        return SendCounts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class EmailKpis:
    counts: SendCounts
    has_goal: bool  # without a goal there is no CVR (None), not a CVR of 0 %

    @property
    def delivered(self) -> int:
        return self.counts.delivered

    @property
    def bounce_rate(self) -> float | None:
        """不達率: bounced / sent."""
        return rate(self.counts.bounced, self.counts.sent)

    @property
    def open_rate(self) -> float | None:
        """Unique human opens / delivered: the headline open rate."""
        return rate(self.counts.human_opened, self.delivered)

    @property
    def raw_open_rate(self) -> float | None:
        """Unique opens including machine-only ones / delivered (inflated by MPP)."""
        return rate(self.counts.opened, self.delivered)

    @property
    def machine_only_opened(self) -> int:
        """Delivered mails whose every open looked like a machine's: why raw > human."""
        return self.counts.opened - self.counts.human_opened

    @property
    def ctr(self) -> float | None:
        """Unique clickers / delivered."""
        return rate(self.counts.clicked, self.delivered)

    @property
    def click_to_open(self) -> float | None:
        """Unique clickers / unique human openers."""
        return rate(self.counts.clicked, self.counts.human_opened)

    @property
    def cvr(self) -> float | None:
        """Converted sends / delivered, when the campaign has a goal."""
        return rate(self.counts.converted, self.delivered) if self.has_goal else None

    @property
    def unsubscribe_rate(self) -> float | None:
        return rate(self.counts.unsubscribed, self.delivered)

    def rates(self) -> dict[str, float | None]:
        """Every rate by name (the API's and the CLI's JSON)."""
        return {
            "bounce_rate": self.bounce_rate,
            "open_rate": self.open_rate,
            "raw_open_rate": self.raw_open_rate,
            "ctr": self.ctr,
            "click_to_open": self.click_to_open,
            "cvr": self.cvr,
            "unsubscribe_rate": self.unsubscribe_rate,
        }


def format_rate(value: float | None, *, digits: int = 1) -> str:
    """12.3% (half-width, as Japanese business documents write it), or — when undefined."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"
