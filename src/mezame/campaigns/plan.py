"""A new campaign as its author describes it: one input for the web form, the API and the CLI.

The shape (types, ranges) is pydantic's; which fields go together is `check_plan`'s, and a
sequence's mails are checked by `campaigns.kinds.check_steps` like a steps file. Templates
and segments are looked up by `campaigns.definition.service`, which writes the campaign.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mezame.campaigns.kinds import (
    CampaignKind,
    Recurrence,
    StepProblem,
    StepsInvalid,
    StepSpec,
    check_steps,
)
from mezame.campaigns.kpis import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, ConversionGoal
from mezame.errors import InvalidInputError

MAX_STEPS = 20
MAX_BODY = 200_000


class MailSource(StrEnum):
    """Where a new campaign's mails come from."""

    TEMPLATE = "template"  # one mail, copied from a library template
    INLINE = "inline"  # one mail written in the request
    STEPS = "steps"  # the mails of a sequence, each from a template or written out


class CampaignPlan(BaseModel):
    """Name, kind, audience, mail(s), goal and start of a new campaign."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, examples=["12月 お久しぶりです"])
    kind: CampaignKind = CampaignKind.ONE_OFF
    priority: int = Field(
        default=0,
        ge=-100,
        le=100,
        description="Higher mails a contact first when campaigns compete",
    )
    segment_id: int | None = Field(
        default=None, ge=1, description="The audience: a saved segment (none: every contact)"
    )
    template_id: int | None = Field(
        default=None, ge=1, description="One mail copied from this library template …"
    )
    subject: str | None = Field(
        default=None, max_length=500, description="… or one mail written here: subject (Jinja2)"
    )
    html: str | None = Field(default=None, max_length=MAX_BODY, description="… and HTML body")
    text: str | None = Field(
        default=None, max_length=MAX_BODY, description="… and text part (derived when absent)"
    )
    steps: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=MAX_STEPS,
        description=(
            "… or the mails of a sequence, in order. Each: template_id, or subject and html "
            "(and text); subject overrides the template's; wait_days (0–365 after the previous "
            "mail), wait_until (opened | clicked: sooner once that happens), branch (always | "
            "opened | not_opened | clicked | not_clicked), then_seasonal. The first mail has no "
            "wait and no branch."
        ),
    )
    recurrence: Recurrence | None = Field(
        default=None, description="A recurring campaign's runs: day of the month and time"
    )
    goal: ConversionGoal = Field(default=ConversionGoal.NONE, description="What CVR counts")
    window_days: int = Field(default=DEFAULT_WINDOW_DAYS, ge=1, le=MAX_WINDOW_DAYS)
    send_at: datetime | None = Field(
        default=None,
        description="Start then (without an offset: Japan time); a recurring one runs from then",
    )


def read_plan(data: Mapping[str, Any]) -> CampaignPlan:
    """A plan from plain values (a form, a file): InvalidInputError names each bad field."""
    try:
        return CampaignPlan.model_validate(data)
    except ValidationError as exc:
        found = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'campaign'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInputError(found) from None


def check_plan(plan: CampaignPlan) -> MailSource:
    """Where the mail comes from, once the fields agree; InvalidInputError names the fields."""
    given = {
        MailSource.TEMPLATE: ["template_id"] if plan.template_id is not None else [],
        MailSource.INLINE: [
            name for name in ("subject", "html", "text") if getattr(plan, name) is not None
        ],
        MailSource.STEPS: ["steps"] if plan.steps is not None else [],
    }
    sources = [source for source, names in given.items() if names]
    if not sources:
        raise InvalidInputError(
            "mail: choose a template (template_id), or write a subject and an HTML body "
            "(subject, html), or give the mails of a sequence (steps)"
        )
    if len(sources) > 1:
        named = ", ".join(name for source in sources for name in given[source])
        raise InvalidInputError(
            f"mail: give one of template_id, subject and html, or steps — not several ({named})"
        )
    source = sources[0]
    if source == MailSource.INLINE:
        for name in ("subject", "html"):
            if not (getattr(plan, name) or "").strip():
                raise InvalidInputError(
                    f"{name}: empty (a mail written here needs subject and html)"
                )
    if source == MailSource.STEPS and not plan.steps:
        raise InvalidInputError("steps: a sequence needs at least one mail")
    if plan.kind == CampaignKind.RECURRING and plan.recurrence is None:
        raise InvalidInputError("recurrence: a recurring campaign needs its day and time")
    if plan.kind != CampaignKind.RECURRING and plan.recurrence is not None:
        raise InvalidInputError("recurrence: only a recurring campaign has one")
    return source


# Files are read only by the CLI, next to its steps file: a request names none on the server.
_FILE_FIELDS = ("html_file", "text_file")


def check_written_steps(items: Sequence[object]) -> list[StepSpec]:
    """`check_steps` for mails given in a request or a form, where the HTML is in the step."""
    problems = [
        StepProblem(number, name, "extra_forbidden", "files are for steps files: give html / text")
        for number, item in enumerate(items, start=1)
        if isinstance(item, dict)
        for name in _FILE_FIELDS
        if name in item
    ]
    try:
        specs = check_steps(items)
    except StepsInvalid as exc:
        problems.extend(exc.problems)
        specs = []
    if problems:
        raise StepsInvalid(sorted(problems, key=lambda p: p.step))
    return specs
