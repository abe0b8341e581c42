"""配信ルール: the contact policy (SPEC 5.4) in plain words, and the form that changes it.

A thin shell over the same pieces as `mezame cadence show|set` and the API: the policy is
loaded and saved by mezame.policy.service, validated by CadencePolicy alone, and the
sender reads it back with load_policy. This page only turns the model's errors into
words next to the field, and keeps what the user typed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from mezame.api.deps import DbSession
from mezame.cadence import CadencePolicy
from mezame.cadence.service import cadence_counts
from mezame.policy.service import last_change, load_policy, update_policy
from mezame.vocabulary import Role
from mezame.web.auth import MarketingPageUser, Pages, TeamUser
from mezame.web.forms import FieldError
from mezame.web.labels import N_
from mezame.web.render import Viewer

router = APIRouter(include_in_schema=False)

# Everyone reads the rules (sales asks why a customer got no mail); marketing changes them.

NUMBER_FIELDS = (
    "monthly_interval_days",
    "seasonal_interval_days",
    "cap_mails",
    "cap_window_days",
    "reminder_wait_days",
)
TIME_FIELDS = ("quiet_from", "quiet_until")
SWITCHES = ("weekends_off", "holidays_off", "year_end_off")
EDITABLE = NUMBER_FIELDS + TIME_FIELDS + SWITCHES
# Errors about the pair of quiet hours (the model checks them together) show under both.
QUIET_HOURS = "quiet_hours"

FIELD_LABELS = {
    "monthly_interval_days": N_("Monthly contacts: days between mails"),
    "seasonal_interval_days": N_("Unresponsive contacts: days between mails"),
    "cap_mails": N_("Cap: mails per contact"),
    "cap_window_days": N_("Cap: counted over (days)"),
    "reminder_wait_days": N_("Days to wait for a response to a reminder"),
    "quiet_from": N_("Quiet hours from"),
    "quiet_until": N_("Quiet hours until"),
    "weekends_off": N_("No mail at weekends"),
    "holidays_off": N_("No mail on public holidays"),
    "year_end_off": N_("No mail over the year-end holidays (12/29–1/3)"),
    QUIET_HOURS: N_("Quiet hours"),
}
assert set(FIELD_LABELS) - {QUIET_HOURS} == set(EDITABLE) <= set(CadencePolicy.model_fields)

# Messages per pydantic error type; anything else shows the model's own (English) words.
_NUMBER = N_("Enter a whole number from %(min)s to %(max)s.")
_TIME = N_("Enter a time of day such as 20:00 (00:00 to 23:59).")
ERROR_MESSAGES = {
    "int_parsing": _NUMBER,
    "int_from_float": _NUMBER,
    "int_type": _NUMBER,
    "greater_than_equal": _NUMBER,
    "less_than_equal": _NUMBER,
    "time_parsing": _TIME,
    "time_type": _TIME,
    "quiet_hours_pair": N_("Give both times, or leave both empty for no quiet hours."),
    "quiet_hours_equal": N_(
        "The start and the end must differ: equal times leave no time to send."
    ),
    "quiet_hours_zone": N_("Give local times without a time zone."),
}


def bounds(name: str) -> tuple[int, int]:
    """The model's limits for a number field (the form's min and max come from here too)."""
    low, high = 1, 10_000
    for rule in CadencePolicy.model_fields[name].metadata:
        if isinstance(rule, Ge):
            low = int(rule.ge)  # type: ignore[call-overload]
        elif isinstance(rule, Le):
            high = int(rule.le)  # type: ignore[call-overload]
    return low, high


def field_errors(exc: ValidationError) -> dict[str, FieldError]:
    """The model's complaints keyed by form field (the quiet-hour pair under QUIET_HOURS)."""
    found: dict[str, FieldError] = {}
    for error in exc.errors():
        loc = error["loc"]
        name = str(loc[0]) if loc else QUIET_HOURS
        if name not in FIELD_LABELS:
            name = QUIET_HOURS if error["type"].startswith("quiet_hours") else "policy"
        message = ERROR_MESSAGES.get(error["type"], error["msg"])
        params: dict[str, Any] = {}
        if message == _NUMBER and name in NUMBER_FIELDS:
            params = dict(zip(("min", "max"), bounds(name), strict=True))
        elif message == _NUMBER:
            message = error["msg"]
        found.setdefault(name, FieldError(message, params))
    return found


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else ""


_HOUR_ONLY = re.compile(r"^(\d{1,2})$")
_SHORT_HOUR = re.compile(r"^(\d):(\d{2})$")


def _typed(text: str) -> str:
    """What the user typed, with full-width digits and colons made half-width (２０：００)."""
    return unicodedata.normalize("NFKC", text).strip()


def _time_text(text: str) -> str | None:
    """A time field for the model: empty is no quiet hours, 20 is 20:00, 8:00 is 08:00."""
    value = _typed(text)
    if not value:
        return None
    if _HOUR_ONLY.match(value):
        return f"{int(value):02d}:00"
    return _SHORT_HOUR.sub(r"0\1:\2", value)


@dataclass
class PolicyForm:
    """The form's fields as typed (strings and ticks), kept when the model refuses them."""

    numbers: dict[str, str]
    times: dict[str, str]
    switches: dict[str, bool]

    @classmethod
    def of(cls, policy: CadencePolicy) -> PolicyForm:
        return cls(
            numbers={name: str(getattr(policy, name)) for name in NUMBER_FIELDS},
            times={name: _hhmm(getattr(policy, name)) for name in TIME_FIELDS},
            switches={name: bool(getattr(policy, name)) for name in SWITCHES},
        )

    def changes(self) -> dict[str, object]:
        """The fields for update_policy (the model parses and checks every one)."""
        values: dict[str, object] = {name: _typed(text) for name, text in self.numbers.items()}
        values.update({name: _time_text(text) for name, text in self.times.items()})
        values.update(self.switches)
        return values


@dataclass(frozen=True)
class Phrase:
    """A sentence of the summary: an English msgid and its parameters."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)


def pace(days: int) -> Phrase:
    """An interval as a marketer says it: 25 days is once a month, 84 about every 3 months."""
    months = round(days / 30.4)
    if days >= 20 and months == 1:
        return Phrase(N_("At most once a month"))
    if days >= 20:
        return Phrase(N_("At most about once every %(months)s months"), {"months": months})
    return Phrase(N_("At most once every %(days)s days"), {"days": days})


def quiet_phrase(policy: CadencePolicy) -> Phrase:
    start, end = policy.quiet_from, policy.quiet_until
    if start is None or end is None:
        return Phrase(N_("Mail may go out at any hour"))
    params = {"start": _hhmm(start), "end": _hhmm(end)}
    if start > end:
        return Phrase(N_("No mail from %(start)s to %(end)s the next morning"), params)
    return Phrase(N_("No mail from %(start)s to %(end)s"), params)


def _page(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: Viewer,
    *,
    form: PolicyForm | None = None,
    errors: dict[str, FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    policy = load_policy(session, CadencePolicy)
    now = datetime.now(UTC)
    send_now = policy.is_send_time(now)
    context = {
        "policy": policy,
        "monthly_pace": pace(policy.monthly_interval_days),
        "seasonal_pace": pace(policy.seasonal_interval_days),
        "quiet": quiet_phrase(policy),
        "japan_time": policy.timezone == "Asia/Tokyo",
        "send_now": send_now,
        "next_send": None if send_now else policy.next_send_time(now),
        "counts": cadence_counts(session),
        "changed": last_change(session, CadencePolicy),
        "form": form or PolicyForm.of(policy),
        "errors": errors or {},
        "field_labels": FIELD_LABELS,
        "bounds": {name: bounds(name) for name in NUMBER_FIELDS},
        "can_edit": user.role in (Role.MARKETING.value, Role.ADMIN.value),
        "saved": request.session.pop("flash_cadence", None),
    }
    return pages.render(request, "cadence.html", context, status_code=status_code)


@router.get("/cadence", response_class=HTMLResponse)
def cadence_page(request: Request, session: DbSession, pages: Pages, user: TeamUser) -> Response:
    """The rules in words, the contacts on each cadence, and (marketing) the form."""
    return _page(request, session, pages, user)


NumberField = Annotated[str, Form(max_length=20)]
TimeField = Annotated[str, Form(max_length=20)]
SwitchField = Annotated[str, Form(max_length=10)]


@router.post("/cadence", response_class=HTMLResponse)
def save_cadence(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    monthly_interval_days: NumberField = "",
    seasonal_interval_days: NumberField = "",
    cap_mails: NumberField = "",
    cap_window_days: NumberField = "",
    reminder_wait_days: NumberField = "",
    quiet_from: TimeField = "",
    quiet_until: TimeField = "",
    weekends_off: SwitchField = "",
    holidays_off: SwitchField = "",
    year_end_off: SwitchField = "",
) -> Response:
    """Save the whole form (post/redirect/get); refused values stay in the form, explained."""
    form = PolicyForm(
        numbers={
            "monthly_interval_days": monthly_interval_days,
            "seasonal_interval_days": seasonal_interval_days,
            "cap_mails": cap_mails,
            "cap_window_days": cap_window_days,
            "reminder_wait_days": reminder_wait_days,
        },
        times={"quiet_from": quiet_from, "quiet_until": quiet_until},
        # An unticked box is not sent at all.
        switches={
            "weekends_off": bool(weekends_off),
            "holidays_off": bool(holidays_off),
            "year_end_off": bool(year_end_off),
        },
    )
    try:
        update_policy(session, CadencePolicy, form.changes(), user_id=user.id)
    except ValidationError as exc:
        return _page(
            request,
            session,
            pages,
            user,
            form=form,
            errors=field_errors(exc),
            status_code=400,
        )
    request.session["flash_cadence"] = True
    return RedirectResponse("/cadence", status_code=303)
