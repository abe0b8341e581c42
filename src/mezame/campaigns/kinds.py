"""Campaign kinds: one-off, recurring (one run per occurrence), and step sequences.

A recurring campaign never mails anyone itself: on each occurrence (a day of the month
and a time, Japan time by default) it is copied into a campaign run of its own, keyed by
the month, so each run has its own send log and KPIs and creating it twice is impossible.

A sequence's later mails go to the contacts whose previous mail was sent, once the wait
is over: `wait_days` after it was sent, or earlier when `wait_until` names an event
(opened, clicked) that has happened. The branch then decides who gets the mail; the rest
get a `skipped` row saying why, so the decision is made once and the log shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml  # type: ignore[import-untyped]
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mezame.campaigns.status import CampaignStatus
from mezame.messages import N_


class CampaignKind(StrEnum):
    ONE_OFF = "one_off"
    RECURRING = "recurring"
    SEQUENCE = "sequence"


class WaitEvent(StrEnum):
    """An event on the previous mail that ends a sequence step's wait early."""

    OPENED = "opened"
    CLICKED = "clicked"


class Branch(StrEnum):
    """Who gets a sequence step, judged on their previous mail when the wait is over."""

    ALWAYS = "always"
    OPENED = "opened"
    NOT_OPENED = "not_opened"
    CLICKED = "clicked"
    NOT_CLICKED = "not_clicked"


BRANCH_LABELS = {
    Branch.ALWAYS: N_("Everyone who got the previous mail"),
    Branch.OPENED: N_("Only those who opened the previous mail"),
    Branch.NOT_OPENED: N_("Only those who did not open the previous mail"),
    Branch.CLICKED: N_("Only those who clicked in the previous mail"),
    Branch.NOT_CLICKED: N_("Only those who did not click in the previous mail"),
}
WAIT_LABELS = {
    WaitEvent.OPENED: N_("or sooner, once they open it"),
    WaitEvent.CLICKED: N_("or sooner, once they click in it"),
}


def branch_skip_reason(branch: Branch, previous_position: int) -> str:
    """The send log's wording for a contact the branch leaves out."""
    missing = {
        Branch.OPENED: "did not open",
        Branch.NOT_OPENED: "opened",
        Branch.CLICKED: "did not click",
        Branch.NOT_CLICKED: "clicked",
    }[branch]
    return f"branch: {missing} mail {previous_position}"


class Recurrence(BaseModel):
    """When a recurring campaign's runs start: a day of each month at a local time."""

    model_config = ConfigDict(extra="forbid")

    # Up to the 28th, so every month has the day.
    day: int = Field(ge=1, le=28)
    hour: int = Field(default=9, ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)
    timezone: str = "Asia/Tokyo"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @classmethod
    def parse(cls, text: str) -> Recurrence:
        """'monthly:1@09:00' — the 1st of each month at 09:00 (Japan time)."""
        kind, _, rest = text.strip().partition(":")
        day_text, _, clock = rest.partition("@")
        hour_text, _, minute_text = (clock or "09:00").partition(":")
        if kind != "monthly" or not day_text.isdigit():
            raise ValueError(
                f"recurrence {text!r}: expected monthly:DAY@HH:MM, e.g. monthly:1@09:00"
            )
        try:
            return cls(day=int(day_text), hour=int(hour_text), minute=int(minute_text or 0))
        except (ValidationError, ValueError) as exc:
            raise ValueError(f"recurrence {text!r}: {exc}") from exc

    def occurrence(self, year: int, month: int) -> datetime:
        """This month's run time, in UTC."""
        zone = ZoneInfo(self.timezone)
        return datetime(year, month, self.day, self.hour, self.minute, tzinfo=zone).astimezone(UTC)

    def latest_due(self, now: datetime, *, since: datetime) -> tuple[str, datetime] | None:
        """The latest occurrence at or before `now` and not before `since`: (key, when).

        Only the latest: after a long outage, one run goes out, not a month's backlog.
        """
        local = now.astimezone(ZoneInfo(self.timezone))
        year, month = local.year, local.month
        for _ in range(2):
            at = self.occurrence(year, month)
            if at <= now:
                return (f"{year:04d}-{month:02d}", at) if at >= since else None
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return None

    def next_at(self, moment: datetime) -> datetime:
        """The first occurrence at or after `moment`, in UTC."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        year, month = local.year, local.month
        at = self.occurrence(year, month)
        if at < moment:
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)
            at = self.occurrence(year, month)
        return at

    def describe(self) -> str:
        return f"monthly:{self.day}@{self.hour:02d}:{self.minute:02d}"


def next_run_at(
    *,
    kind: str,
    status: str,
    scheduled_at: datetime | None,
    recurrence: Recurrence | None,
    now: datetime,
) -> datetime | None:
    """When a scheduled campaign next starts: its start time, or its next monthly run."""
    if status != CampaignStatus.SCHEDULED or scheduled_at is None:
        return None
    if kind == CampaignKind.RECURRING and recurrence is not None:
        return recurrence.next_at(max(now, scheduled_at))
    return scheduled_at


MAX_WAIT_DAYS = 365


class StepSpec(BaseModel):
    """One mail of a sequence as written in a steps file (YAML)."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=500)
    html: str | None = None
    html_file: str | None = None
    text: str | None = None
    text_file: str | None = None
    template_id: int | None = Field(default=None, ge=1)
    wait_days: int = Field(default=0, ge=0, le=MAX_WAIT_DAYS)
    wait_until: WaitEvent | None = None
    branch: Branch = Branch.ALWAYS
    # SPEC 5.4: those who do not respond to this mail (the reminder) go back to seasonal.
    then_seasonal: bool = False

    @model_validator(mode="after")
    def _content(self) -> StepSpec:
        if self.html is not None and self.html_file is not None:
            raise ValueError("give html or html_file, not both")
        if self.template_id is None and self.html is None and self.html_file is None:
            raise ValueError("needs html, html_file or template_id")
        if self.template_id is None and not self.subject:
            raise ValueError("needs a subject (or a template_id)")
        return self


@dataclass(frozen=True)
class StepProblem:
    """What is wrong with one mail of a sequence: which step, which field, and how."""

    step: int  # 1-based, in the order the steps were given
    field: str  # a StepSpec field, or "" for the mail as a whole
    kind: str  # pydantic's error type (int_parsing, greater_than_equal …), or one of ours
    message: str  # English

    def __str__(self) -> str:
        return f"step {self.step}: {self.field or 'step'}: {self.message}"


class StepsInvalid(ValueError):
    """Every problem of a sequence's steps (a steps file's, the web form's)."""

    def __init__(self, problems: list[StepProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def check_steps(items: Sequence[object]) -> list[StepSpec]:
    """A sequence's mails validated against StepSpec, and the first mail has no wait and no
    branch. The one set of rules for the CLI's steps file and the web form; raises
    StepsInvalid naming each step and field."""
    if not items:
        raise StepsInvalid([StepProblem(1, "", "missing", "a sequence needs at least one mail")])
    steps: list[StepSpec] = []
    problems: list[StepProblem] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(StepProblem(number, "", "dict_type", "expected a mapping of fields"))
            continue
        try:
            steps.append(StepSpec.model_validate(item))
        except ValidationError as exc:
            problems.extend(
                StepProblem(
                    number,
                    ".".join(str(p) for p in e["loc"]),
                    e["type"],
                    e["msg"].removeprefix("Value error, "),
                )
                for e in exc.errors()
            )
    if steps and not any(p.step == 1 for p in problems):  # steps[0] is the first mail
        head = steps[0]
        if head.wait_days or head.wait_until or head.branch != Branch.ALWAYS:
            problems.insert(
                0, StepProblem(1, "", "first_step", "the first mail has no wait and no branch")
            )
    if problems:
        raise StepsInvalid(problems)
    return steps


def parse_steps(text: str) -> list[StepSpec]:
    """A steps file: a YAML list of mails. Errors name the step and the field."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"steps file: not valid YAML: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise ValueError("steps file: expected a list of mails (- subject: …)")
    try:
        return check_steps(data)
    except StepsInvalid as exc:
        # The first step with a problem, all of its problems.
        number = exc.problems[0].step
        found = "; ".join(
            f"{p.field}: {p.message}" if p.field else p.message
            for p in exc.problems
            if p.step == number
        )
        raise ValueError(f"steps file: step {number}: {found}") from None
