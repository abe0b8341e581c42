"""Cadence and restraint (SPEC 5.4, 過度なアプローチを避ける): how often a contact may be mailed,
and when mail may go out at all.

Two kinds of rule:

- per contact: a first mail of a campaign waits for the contact's cadence interval after
  the last mail of any other campaign (monthly by default, seasonal — about every three
  months — for contacts marked unresponsive), and no contact gets more than `cap_mails`
  mails in any `cap_window_days` (sequence follow-ups count here; they are exempt from the
  interval, or a two-day follow-up could never go out);
- send windows: nothing leaves in quiet hours, at weekends, on Japanese public holidays,
  or over 年末年始 (12/29–1/3); mail due then waits for the next window.

The defaults are conservative, for B2B mail to Japanese offices. The interval days are a
little shorter than the calendar period on purpose: a newsletter on a fixed day each month
is 28 days after the previous one in February, and a holiday that pushed last month's
mail back a few days must not make this month's skip everyone.

The service applies these rules in SQL for whole audiences; `restraint_reason` is the
same decision for one contact (the send-time check and the tests use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import ClassVar, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holidays.countries.japan import Japan
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from mezame.messages import N_


class Cadence(StrEnum):
    """How often a contact hears from us (contacts.cadence)."""

    MONTHLY = "monthly"
    SEASONAL = "seasonal"  # unresponsive: about once a quarter


CADENCE_LABELS = {
    Cadence.MONTHLY: N_("Monthly"),
    Cadence.SEASONAL: N_("Seasonal (about every three months)"),
}


def _year_end(day: date) -> bool:
    """年末年始: most Japanese offices are closed from 12/29 to 1/3."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


@lru_cache(maxsize=64)
def _japanese_holidays(year: int) -> frozenset[date]:
    return frozenset(Japan(years=year))


def japanese_holiday_name(day: date) -> str | None:
    """The holiday's Japanese name (勤労感謝の日 …), or None on an ordinary day."""
    if day not in _japanese_holidays(day.year):
        return None
    name = Japan(years=day.year, language="ja").get(day)
    return str(name) if name else None


class CadencePolicy(BaseModel):
    """The team's contact policy: intervals, the cap, and the send windows."""

    policy_key: ClassVar[str] = "mail_cadence"

    monthly_interval_days: int = Field(default=25, ge=1, le=365)
    seasonal_interval_days: int = Field(default=84, ge=1, le=730)
    # At most this many mails to one contact in any rolling window, across campaigns.
    cap_mails: int = Field(default=4, ge=1, le=100)
    cap_window_days: int = Field(default=30, ge=1, le=365)
    # Quiet hours, local time: [quiet_from, quiet_until), across midnight when from > until.
    # Both None: no quiet hours.
    quiet_from: time | None = time(20, 0)
    quiet_until: time | None = time(8, 0)
    weekends_off: bool = True
    holidays_off: bool = True  # Japanese public holidays (振替休日 included)
    year_end_off: bool = True  # 年末年始, 12/29–1/3
    timezone: str = "Asia/Tokyo"
    # SPEC 5.4: a contact who does not respond (no open, no click) to a reminder within
    # this many days goes back to the seasonal cadence.
    reminder_wait_days: int = Field(default=7, ge=1, le=90)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _quiet_pair(self) -> Self:
        # Error types of their own, so a form can say in its own words what is wrong.
        if (self.quiet_from is None) != (self.quiet_until is None):
            raise PydanticCustomError(
                "quiet_hours_pair", "quiet_from and quiet_until: give both, or neither"
            )
        if self.quiet_from is not None and self.quiet_from == self.quiet_until:
            raise PydanticCustomError(
                "quiet_hours_equal",
                "quiet_from and quiet_until: equal times would never allow sending",
            )
        if any(t is not None and t.tzinfo is not None for t in (self.quiet_from, self.quiet_until)):
            raise PydanticCustomError(
                "quiet_hours_zone", "quiet hours are local times: give them without a time zone"
            )
        return self

    @classmethod
    def always_open(cls, **overrides: object) -> CadencePolicy:
        """Intervals and cap as usual, but no send windows (tests, benchmarks, an operator
        who takes the timing into their own hands)."""
        values: dict[str, object] = {
            "quiet_from": None,
            "quiet_until": None,
            "weekends_off": False,
            "holidays_off": False,
            "year_end_off": False,
        }
        values.update(overrides)
        return cls.model_validate(values)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def interval_days(self, cadence: str) -> int:
        return (
            self.seasonal_interval_days
            if cadence == Cadence.SEASONAL
            else self.monthly_interval_days
        )

    def day_closed(self, day: date) -> str | None:
        """Why no mail goes out on this local day (an English msgid), or None."""
        if self.year_end_off and _year_end(day):
            return N_("year-end holidays")
        if self.holidays_off and day in _japanese_holidays(day.year):
            return N_("public holiday")
        if self.weekends_off and day.weekday() >= 5:
            return N_("weekend")
        return None

    def _open_spans(self) -> list[tuple[time, time | None]]:
        """The day's sending spans in local time; None as an end means midnight."""
        start, end = self.quiet_from, self.quiet_until
        if start is None or end is None:
            return [(time(0), None)]
        if start > end:  # quiet across midnight, e.g. 20:00–08:00
            return [(end, start)]
        return [(time(0), start), (end, None)]

    def is_send_time(self, at: datetime) -> bool:
        """May mail leave at this instant (an aware datetime)?"""
        local = at.astimezone(self.zone)
        if self.day_closed(local.date()) is not None:
            return False
        now = local.time().replace(tzinfo=None)
        return any(start <= now and (end is None or now < end) for start, end in self._open_spans())

    def next_send_time(self, at: datetime) -> datetime:
        """The first instant at or after `at` when mail may leave (in `at`'s time zone)."""
        zone = self.zone
        local = at.astimezone(zone)
        day, now = local.date(), local.time().replace(tzinfo=None)
        for _ in range(400):
            if self.day_closed(day) is None:
                for start, end in self._open_spans():
                    if end is None or now < end:
                        moment = max(start, now)
                        return datetime.combine(day, moment, tzinfo=zone).astimezone(at.tzinfo)
            day, now = day + timedelta(days=1), time(0)
        raise ValueError("the cadence policy leaves no day open for sending")


@dataclass(frozen=True, slots=True)
class RestraintFacts:
    """What the decision needs to know about one contact at one moment."""

    cadence: str
    first_mail: bool  # the campaign's first mail to them (sequence follow-ups are not)
    last_other_mail: datetime | None  # the last mail of another campaign (sent or on the wire)
    mails_in_window: int  # mails in the cap window, this one not included


def japanese_date(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日"


def cap_reason(policy: CadencePolicy) -> str:
    return f"cap: {policy.cap_mails} mails in {policy.cap_window_days} days"


def restraint_reason(policy: CadencePolicy, facts: RestraintFacts, *, at: datetime) -> str | None:
    """Why this contact may not get this mail at `at` (the send log's wording), or None."""
    if facts.first_mail and facts.last_other_mail is not None:
        since = at - timedelta(days=policy.interval_days(facts.cadence))
        if facts.last_other_mail > since:
            when = japanese_date(facts.last_other_mail, policy.zone)
            return f"cadence: last mail {when} ({facts.cadence})"
    if facts.mails_in_window >= policy.cap_mails:
        return cap_reason(policy)
    return None


def priority_reason(campaign_id: int, priority: int) -> str:
    return f"priority: campaign {campaign_id} (priority {priority}) mails them first"
