"""キャンペーン: the campaign list with its KPIs, one campaign's stats and controls, a new one.

Who may do what: every team member reads the list and the stats (sales follows up on
what a campaign stirred and should see it); creating, sending, pausing, stopping and
the conversion goal are marketing's (and admin's), checked on every POST.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mezame.api.deps import DbSession
from mezame.campaigns import service as campaigns
from mezame.campaigns.definition.service import (
    StepTemplatesMissing,
    create_from_plan,
    read_definition,
)
from mezame.campaigns.kinds import (
    BRANCH_LABELS,
    MAX_WAIT_DAYS,
    WAIT_LABELS,
    Branch,
    CampaignKind,
    Recurrence,
    StepProblem,
    StepsInvalid,
    WaitEvent,
)
from mezame.campaigns.kpis import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, ConversionGoal, format_rate
from mezame.campaigns.plan import CampaignPlan, read_plan
from mezame.campaigns.stats import service as stats
from mezame.campaigns.stats.service import DayStats
from mezame.campaigns.status import CampaignStatus
from mezame.errors import InvalidInputError, NotFoundError
from mezame.vocabulary import Role
from mezame.web.auth import MarketingPageUser, Pages, TeamUser
from mezame.web.forms import FieldError
from mezame.web.labels import N_
from mezame.web.render import Viewer

router = APIRouter(include_in_schema=False)


KIND_LABELS = {
    "one_off": N_("One-off"),
    "recurring": N_("Recurring"),
    "sequence": N_("Step sequence"),
}
STATUS_LABELS = {
    "draft": N_("Draft"),
    "scheduled": N_("Scheduled"),
    "sending": N_("Sending now"),
    "paused": N_("Paused"),
    "stopped": N_("Stopped"),
    "finished": N_("Finished"),
}
SEND_STATUS_LABELS = {
    "pending": N_("Waiting to send"),
    "claimed": N_("Being sent"),
    "sending": N_("On the wire"),
    "sent": N_("Sent (accepted)"),
    "failed": N_("Failed"),
    "unknown": N_("Outcome unknown"),
    "skipped": N_("Skipped"),
    "cancelled": N_("Cancelled"),
}
GOAL_LABELS = {
    "reply": N_("Reply"),
    "download": N_("Document download"),
    "inquiry": N_("Inquiry or demo request"),
    "deal": N_("Deal opened"),
    "none": N_("No goal"),
}
assert set(GOAL_LABELS) == {g.value for g in ConversionGoal}
assert set(STATUS_LABELS) == {s.value for s in CampaignStatus}

# What each button may do from each status (the transitions are campaigns.status's).
SENDABLE = {"draft", "scheduled", "paused"}
PAUSABLE = {"scheduled", "sending"}
STOPPABLE = {"draft", "scheduled", "sending", "paused"}


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


def _can_edit(user: Viewer) -> bool:
    return user.role in (Role.MARKETING.value, Role.ADMIN.value)


def _common() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "goal_labels": GOAL_LABELS,
        "pct": format_rate,
    }


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(
    request: Request, session: DbSession, pages: Pages, user: TeamUser
) -> HTMLResponse:
    """Every campaign, newest first, with 不達率, open rate, CTR, CVR and unsubscribe rate."""
    rows = stats.kpi_overview(session, tz=_tz(request))
    context = {**_common(), "rows": rows, "can_edit": _can_edit(user)}
    return pages.render(request, "campaigns.html", context)


# ---------------------------------------------------------------------------------------------
# The daily chart: mails sent per day, and first opens and clicks by the day they happened,
# as SVG rectangles computed here (no JavaScript, no chart library).

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 220, 36


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # sent / opened / clicked
    value: int
    day: date


@dataclass(frozen=True)
class DailyChart:
    bars: list[Bar]
    ticks: list[tuple[float, date]]  # x of the day's centre, the day
    top: int  # the value at the top of the axis
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    pad: int = CHART_PAD

    @property
    def bottom(self) -> int:
        return self.height - self.pad

    @property
    def right(self) -> int:
        return self.width - 8


def daily_chart(days: list[DayStats]) -> DailyChart | None:
    """Three bars per day (sent, first human opens, first clicks) on one scale."""
    if not days:
        return None
    values = [(d.kpis.counts.sent, d.first_opens, d.first_clicks) for d in days]
    top = max(max(v) for v in values) or 1
    span_x = CHART_WIDTH - CHART_PAD - 8
    span_y = CHART_HEIGHT - 2 * CHART_PAD
    slot = span_x / len(days)
    bar = min(slot * 0.8 / 3, 18.0)
    bars: list[Bar] = []
    ticks: list[tuple[float, date]] = []
    every = max(1, round(len(days) / 8))  # at most about eight day labels
    for i, (day, triple) in enumerate(zip((d.day for d in days), values, strict=True)):
        centre = CHART_PAD + slot * (i + 0.5)
        for j, (series, value) in enumerate(
            zip(("sent", "opened", "clicked"), triple, strict=True)
        ):
            height = span_y * value / top
            bars.append(
                Bar(
                    x=round(centre + (j - 1.5) * bar, 1),
                    y=round(CHART_HEIGHT - CHART_PAD - height, 1),
                    width=round(bar * 0.9, 1),
                    height=round(height, 1),
                    series=series,
                    value=value,
                    day=day,
                )
            )
        if i % every == 0:
            ticks.append((round(centre, 1), day))
    return DailyChart(bars=bars, ticks=ticks, top=top)


# ---------------------------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    pages: Pages,
    user: Viewer,
    campaign_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        found = stats.campaign_kpis(session, campaign_id, tz=_tz(request))
    except NotFoundError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    progress = campaigns.campaign_progress(session, campaign_id=campaign_id)
    defined = read_definition(session, campaign_id, now=datetime.now(UTC))
    context = {
        **_common(),
        "stats": found,
        "scheduled_at": defined.scheduled_at,
        # A sequence's mails: when each goes out and to whom.
        "sequence": defined.steps if defined.kind == CampaignKind.SEQUENCE else [],
        "branch_labels": BRANCH_LABELS,
        "wait_labels": WAIT_LABELS,
        "progress": progress,
        "send_status_labels": SEND_STATUS_LABELS,
        "chart": daily_chart(found.daily),
        "can_edit": _can_edit(user),
        # A recurring campaign is never sent itself: its monthly runs are.
        "can_send": found.status in SENDABLE and found.kind != CampaignKind.RECURRING,
        "can_pause": found.status in PAUSABLE,
        "can_stop": found.status in STOPPABLE,
        "can_schedule": found.status == CampaignStatus.DRAFT.value,
        "goals": [g.value for g in ConversionGoal],
        "max_window": MAX_WINDOW_DAYS,
        "error": error,
        "flash": request.session.pop("flash_campaign", None),
    }
    return pages.render(request, "campaign.html", context, status_code=status_code)


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign_form(
    request: Request, session: DbSession, pages: Pages, _user: MarketingPageUser
) -> HTMLResponse:
    """Name, kind, audience (segment), mail (template or written here), goal → a draft."""
    return _new_page(request, session, pages)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request, session: DbSession, pages: Pages, user: TeamUser, campaign_id: int
) -> HTMLResponse:
    """Progress, KPIs in total, per mail and per day, and the controls."""
    return _detail(request, session, pages, user, campaign_id)


def _act(
    request: Request,
    session: Session,
    pages: Pages,
    user: Viewer,
    campaign_id: int,
    action: str,
) -> Response:
    try:
        if action == "send":
            campaigns.start_sending(session, campaign_id=campaign_id, as_of=datetime.now(UTC))
        elif action == "pause":
            campaigns.pause_campaign(session, campaign_id=campaign_id)
        else:
            campaigns.stop_campaign(session, campaign_id=campaign_id)
    except NotFoundError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    except InvalidInputError as exc:
        session.rollback()
        return _detail(request, session, pages, user, campaign_id, error=str(exc), status_code=400)
    if action == "send":
        # Queued only once the status change is committed, so the worker sees `sending`.
        session.commit()
        from mezame.queue import queue_campaign_send

        queue_campaign_send(campaign_id)
    request.session["flash_campaign"] = action
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/campaigns/{campaign_id}/send")
def send_campaign(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, campaign_id: int
) -> Response:
    """Send now, or resume a paused campaign: the worker's `send_campaign` task does it."""
    return _act(request, session, pages, user, campaign_id, "send")


@router.post("/campaigns/{campaign_id}/pause")
def pause_campaign(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, campaign_id: int
) -> Response:
    """Pause: the running sender stops within seconds; "send" resumes."""
    return _act(request, session, pages, user, campaign_id, "pause")


@router.post("/campaigns/{campaign_id}/stop")
def stop_campaign(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, campaign_id: int
) -> Response:
    """Stop for good: mails not yet sent are cancelled."""
    return _act(request, session, pages, user, campaign_id, "stop")


@router.post("/campaigns/{campaign_id}/schedule", response_class=HTMLResponse)
def schedule(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    campaign_id: int,
    send_at: Annotated[str, Form(max_length=20)],
) -> Response:
    """Send a draft at a later time (the queue's periodic task starts it then)."""
    from mezame.scheduling.service import schedule_campaign

    try:
        at = _local_time(send_at, _tz(request), "send at")
        schedule_campaign(session, campaign_id=campaign_id, at=at, now=datetime.now(UTC))
    except NotFoundError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    except InvalidInputError as exc:
        session.rollback()
        return _detail(request, session, pages, user, campaign_id, error=str(exc), status_code=400)
    request.session["flash_campaign"] = "schedule"
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/campaigns/{campaign_id}/goal", response_class=HTMLResponse)
def set_goal(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    campaign_id: int,
    goal: Annotated[str, Form(max_length=20)],
    window_days: Annotated[int, Form(ge=1, le=MAX_WINDOW_DAYS)] = DEFAULT_WINDOW_DAYS,
) -> Response:
    """What counts as this campaign's conversion, and for how many days after each mail."""
    try:
        stats.set_conversion_goal(session, campaign_id=campaign_id, goal=goal, days=window_days)
    except NotFoundError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    except InvalidInputError as exc:
        return _detail(request, session, pages, user, campaign_id, error=str(exc), status_code=400)
    request.session["flash_campaign"] = "goal"
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


# ---------------------------------------------------------------------------------------------
# A new campaign.


def _new_page(
    request: Request,
    session: Session,
    pages: Pages,
    *,
    form: dict[str, str] | None = None,
    steps: list[dict[str, str]] | None = None,
    step_errors: dict[int, dict[str, FieldError]] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        **_common(),
        "kinds": [k.value for k in CampaignKind],
        "steps": steps or [_blank_step() for _ in range(STEP_ROWS)],
        "step_errors": step_errors or {},
        "step_field_labels": STEP_FIELD_LABELS,
        "branches": [(b.value, BRANCH_LABELS[b]) for b in Branch],
        "wait_events": [(w.value, WAIT_LABELS[w]) for w in WaitEvent],
        "max_wait_days": MAX_WAIT_DAYS,
        "segments": _segments(session),
        "templates": _templates(session),
        "goals": [g.value for g in ConversionGoal],
        "max_window": MAX_WINDOW_DAYS,
        "form": form
        or {
            "name": "",
            "kind": "one_off",
            "segment_id": "",
            "template_id": "",
            "subject": "",
            "html": "",
            "goal": ConversionGoal.REPLY.value,
            "window_days": str(DEFAULT_WINDOW_DAYS),
            "send_at": "",
            "monthly_day": "1",
            "monthly_time": "09:00",
        },
        "error": error,
    }
    return pages.render(request, "campaign_new.html", context, status_code=status_code)


# ---------------------------------------------------------------------------------------------
# A step sequence's mails: a fixed number of rows in the plain form (static/campaign_new.js only
# hides the unused ones). Each row becomes a dict that the campaign's plan carries to the
# service (campaigns.kinds.check_steps: the same rules as a steps file and the API); this page
# only reads the rows and words the problems.

STEP_ROWS = 5
STEP_FIELDS = ("template", "subject", "wait_days", "wait_until", "branch", "then_seasonal")
STEP_FIELD_LABELS = {
    "step": N_("The mail"),
    "template": N_("Template"),
    "subject": N_("Subject"),
    "wait_days": N_("Days after the previous mail"),
    "wait_until": N_("Send sooner"),
    "branch": N_("Who gets it"),
    "then_seasonal": N_("No response: seasonal pace"),
}
# StepSpec's fields as the form names them.
_SPEC_FIELDS = {
    "template_id": "template",
    "subject": "subject",
    "wait_days": "wait_days",
    "wait_until": "wait_until",
    "branch": "branch",
    "then_seasonal": "then_seasonal",
}
_CHOOSE_TEMPLATE = N_("Choose a template for this mail.")
_DAYS = N_("Enter a whole number of days from 0 to %(max)s.")
_CHOOSE = N_("Choose one of the options.")
_FIRST_STEP = N_(
    "The first mail goes out when the campaign starts: it has no wait and no condition."
)
_GONE_TEMPLATE = N_("This template does not exist any more: choose another one.")
_SUBJECT_TOO_LONG = N_("The subject is too long (at most 500 characters).")


async def step_rows(request: Request) -> list[dict[str, str]]:
    """The step rows of the posted form, as typed (the form is parsed once and cached)."""
    form = await request.form()
    return [
        {name: str(form.get(f"step{n}_{name}", ""))[:1000] for name in STEP_FIELDS}
        for n in range(1, STEP_ROWS + 1)
    ]


def _blank_step() -> dict[str, str]:
    return dict.fromkeys(STEP_FIELDS, "")


def _is_blank(row: Mapping[str, str]) -> bool:
    return all(
        not row[name].strip() or (name == "branch" and row[name] == "always") for name in row
    )


def _spec_item(row: Mapping[str, str]) -> dict[str, Any]:
    """A row as a StepSpec mapping: what is left empty takes the spec's default."""
    item: dict[str, Any] = {}
    if row["template"].strip():
        item["template_id"] = row["template"].strip()
    if row["subject"].strip():
        item["subject"] = row["subject"].strip()
    if row["wait_days"].strip():
        item["wait_days"] = row["wait_days"].strip()
    for name in ("wait_until", "branch"):
        if row[name]:
            item[name] = row[name]
    if row["then_seasonal"]:
        item["then_seasonal"] = True
    return item


def _step_error(problem: StepProblem) -> tuple[str, FieldError]:
    """The form field a problem belongs to, and its words (an English msgid and params)."""
    field = _SPEC_FIELDS.get(problem.field.split(".")[0], "")
    if problem.kind == "first_step":
        return "step", FieldError(_FIRST_STEP)
    if field in ("", "template"):  # the form has no HTML: a mail without content lacks a template
        return "template", FieldError(_CHOOSE_TEMPLATE)
    if field == "wait_days":
        return field, FieldError(_DAYS, {"max": MAX_WAIT_DAYS})
    if field in ("wait_until", "branch"):
        return field, FieldError(_CHOOSE)
    if field == "subject" and problem.kind == "string_too_long":
        return field, FieldError(_SUBJECT_TOO_LONG)
    return field, FieldError(problem.message)


def _step_numbers(rows: list[dict[str, str]]) -> list[int]:
    """The rows that are mails: the filled ones, and the first always."""
    return [n for n, row in enumerate(rows, start=1) if n == 1 or not _is_blank(row)]


def _step_errors(
    numbers: list[int], exc: StepsInvalid | StepTemplatesMissing
) -> dict[int, dict[str, FieldError]]:
    """The service's problems with the sequence, per row number and form field."""
    errors: dict[int, dict[str, FieldError]] = {}
    if isinstance(exc, StepsInvalid):
        found = [(p.step, *_step_error(p)) for p in exc.problems]
    else:
        found = [(step, "template", FieldError(_GONE_TEMPLATE)) for step in exc.missing]
    for step, field, error in found:
        errors.setdefault(numbers[step - 1], {}).setdefault(field, error)
    return errors


def _segments(session: Session) -> list[tuple[int, str]]:
    from mezame.segments.service import list_segments

    return [(s.id, s.name) for s in list_segments(session)]


def _templates(session: Session) -> list[tuple[int, str]]:
    from mezame.templates.service import list_templates

    return [(t.id, t.name) for t in list_templates(session)]


@router.post("/campaigns", response_class=HTMLResponse)
def create_campaign(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    steps: Annotated[list[dict[str, str]], Depends(step_rows)],
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=20)] = "one_off",
    segment_id: Annotated[str, Form(max_length=20)] = "",
    template_id: Annotated[str, Form(max_length=20)] = "",
    subject: Annotated[str, Form(max_length=500)] = "",
    html: Annotated[str, Form(max_length=200_000)] = "",
    goal: Annotated[str, Form(max_length=20)] = "none",
    window_days: Annotated[int, Form(ge=1, le=MAX_WINDOW_DAYS)] = DEFAULT_WINDOW_DAYS,
    send_at: Annotated[str, Form(max_length=20)] = "",
    monthly_day: Annotated[str, Form(max_length=2)] = "1",
    monthly_time: Annotated[str, Form(max_length=5)] = "09:00",
) -> Response:
    """Create the draft, scheduled when a time is given (post/redirect/get); sending now is
    a button on its page. A step sequence's mails come from the step rows."""
    form = {
        "name": name,
        "kind": kind,
        "segment_id": segment_id,
        "template_id": template_id,
        "subject": subject,
        "html": html,
        "goal": goal,
        "window_days": str(window_days),
        "send_at": send_at,
        "monthly_day": monthly_day,
        "monthly_time": monthly_time,
    }
    numbers = _step_numbers(steps)
    try:
        campaign = create_from_plan(
            session,
            _plan(form, steps, numbers, _tz(request)),
            user_id=user.id,
            tz=_tz(request),
            now=datetime.now(UTC),
        )
    except (StepsInvalid, StepTemplatesMissing) as exc:
        session.rollback()
        return _new_page(
            request,
            session,
            pages,
            form=form,
            steps=steps,
            step_errors=_step_errors(numbers, exc),
            status_code=400,
        )
    except (InvalidInputError, NotFoundError) as exc:
        session.rollback()
        return _new_page(
            request, session, pages, form=form, steps=steps, error=str(exc), status_code=400
        )
    return RedirectResponse(f"/campaigns/{campaign.id}", status_code=303)


def _number(value: str, field: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInputError(f"{field}: not a number: {value!r}") from None


def _local_time(value: str, tz: ZoneInfo, field: str) -> datetime:
    """A datetime-local input (2026-12-01T09:00) read in the business time zone."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=tz)
    except ValueError:
        raise InvalidInputError(f"{field}: not a date and time: {value!r}") from None


def _recurrence(form: dict[str, str]) -> Recurrence:
    hour, _, minute = form["monthly_time"].partition(":")
    try:
        return Recurrence(day=int(form["monthly_day"]), hour=int(hour), minute=int(minute or 0))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InvalidInputError(f"monthly: day 1–28 and a time HH:MM ({exc})") from None


def _plan(
    form: dict[str, str], rows: list[dict[str, str]], numbers: list[int], tz: ZoneInfo
) -> CampaignPlan:
    """The form as a plan. The form shows every mail field: a sequence takes its rows, else a
    chosen template wins over a subject and body typed beside it."""
    kind = form["kind"]
    data: dict[str, Any] = {
        "name": form["name"],
        "kind": kind,
        "segment_id": _number(form["segment_id"], "segment"),
        "goal": form["goal"],
        "window_days": int(form["window_days"]),
        "send_at": _local_time(form["send_at"], tz, "send at") if form["send_at"] else None,
    }
    if kind == CampaignKind.SEQUENCE.value:
        data["steps"] = [_spec_item(rows[n - 1]) for n in numbers]
    elif (template := _number(form["template_id"], "template")) is not None:
        data["template_id"] = template
    elif form["subject"].strip() and form["html"].strip():
        data |= {"subject": form["subject"], "html": form["html"]}
    if kind == CampaignKind.RECURRING.value:
        data["recurrence"] = _recurrence(form)
    return read_plan(data)
