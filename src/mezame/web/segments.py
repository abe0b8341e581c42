"""セグメント: the segment list with live counts, and the rule builder with a live count.

The builder is rows of field / operator / value generated from the whitelist in
mezame.segments.filters; changing a field or operator re-renders that row (htmx), and
any change re-counts. Rows are keyed by a random token so adding and removing rows
needs no client script. Definitions with nested groups (made through the API or the
CLI) are edited as JSON on the same page.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from mezame.api.deps import DbSession
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import Segment, User
from mezame.segments import service
from mezame.segments.filters import FIELDS, FieldSpec, FieldType, Group, Op, Rule
from mezame.web.auth import MarketingPageUser, Pages
from mezame.web.labels import COMPANY_STATUS, CONSENT_BASIS, N_
from mezame.web.render import Viewer

router = APIRouter(include_in_schema=False)

# Segments decide who is mailed: marketing's tool (sales: 403).

FIELD_LABELS = {
    "company.name": N_("Company name"),
    "company.industry": N_("Industry"),
    "company.status": N_("Company status"),
    "company.employee_count": N_("Employees"),
    "company.owner": N_("Company owner"),
    "contact.department": N_("Department"),
    "contact.title": N_("Job title"),
    "contact.source": N_("Lead source"),
    "contact.email_domain": N_("Mail domain"),
    "contact.owner": N_("Contact owner"),
    "contact.acquired_on": N_("Acquired on"),
    "dormancy.kind": N_("Dormancy kind"),
    "dormancy.reason": N_("Reason for leaving"),
    "dormancy.band": N_("Priority band"),
    "dormancy.rank": N_("Priority rank"),
    "lead.band": N_("Lead band"),
    "lead.score": N_("Lead score"),
    "tag": N_("Tag"),
    "consent.basis": N_("Consent basis"),
    "consent.mailable": N_("Mailable now"),
    "last_activity": N_("Last activity"),
    "segment": N_("Segment"),
}
OP_LABELS = {
    "eq": N_("is"),
    "neq": N_("is not"),
    "in": N_("is one of"),
    "not_in": N_("is none of"),
    "contains": N_("contains"),
    "starts_with": N_("starts with"),
    "gt": N_("greater than"),
    "gte": N_("at least"),
    "lt": N_("less than"),
    "lte": N_("at most"),
    "between": N_("between"),
    "is_empty": N_("is empty"),
    "is_not_empty": N_("is not empty"),
    "within_days": N_("within the last … days"),
    "older_than_days": N_("more than … days ago"),
}
# Where the generic wording reads wrong, the field's own.
FIELD_OP_LABELS = {
    ("tag", "eq"): N_("has"),
    ("tag", "neq"): N_("does not have"),
    ("tag", "in"): N_("has any of"),
    ("tag", "not_in"): N_("has none of"),
    ("segment", "eq"): N_("is in"),
    ("segment", "neq"): N_("is not in"),
    ("last_activity", "is_empty"): N_("never"),
    ("last_activity", "is_not_empty"): N_("ever"),
    ("dormancy.kind", "is_empty"): N_("is not dormant"),
    ("dormancy.kind", "is_not_empty"): N_("is dormant"),
}
CHOICE_LABELS = {
    "company.status": COMPANY_STATUS,
    "consent.basis": CONSENT_BASIS,
    "dormancy.kind": {
        "former_customer": N_("Former customer"),
        "lost_deal": N_("Lost or postponed deal"),
        "contact_only": N_("Contact only"),
    },
    "dormancy.reason": {
        "price": N_("Price"),
        "function": N_("Function"),
        "timing": N_("Timing"),
        "competitor": N_("Competitor"),
        "unknown": N_("Unknown"),
    },
    "dormancy.band": {
        "high": N_("High"),
        "medium": N_("Medium"),
        "low": N_("Low"),
        "gone": N_("Excluded (asleep too long)"),
    },
    "lead.band": {"hot": N_("Hot"), "warm": N_("Warm"), "cold": N_("Cold")},
}
assert set(FIELD_LABELS) == set(FIELDS)
assert all(set(CHOICE_LABELS[f]) == set(FIELDS[f].choices) for f in CHOICE_LABELS)

_TOKEN = re.compile(r"^rules-([0-9a-f]{1,16})-field$")
_LIST_SPLIT = re.compile(r"[,、\n]")


@dataclass(frozen=True)
class RowView:
    """One builder row as the template draws it."""

    token: str
    spec: FieldSpec
    op: Op
    value: Any

    @property
    def values(self) -> list[str]:
        """The value(s) as strings, for inputs and selected options."""
        if self.value is None:
            return []
        items = self.value if isinstance(self.value, list) else [self.value]
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def _new_token() -> str:
    return secrets.token_hex(4)


def _row(field: str, op: str | None = None, value: Any = None, token: str | None = None) -> RowView:
    spec = FIELDS.get(field) or FIELDS["company.industry"]
    chosen = Op(op) if op in {o.value for o in spec.ops} else spec.ops[0]
    return RowView(token=token or _new_token(), spec=spec, op=chosen, value=value)


def _raw_value(form: FormData, token: str, spec: FieldSpec, op: Op) -> Any:
    """The value a row's inputs give, in the JSON shape parse_definition expects."""
    values = [v for v in form.getlist(f"rules-{token}-value") if isinstance(v, str)]
    if op in (Op.IS_EMPTY, Op.IS_NOT_EMPTY):
        return None
    if op == Op.BETWEEN:
        return [v.strip() for v in values[:2]]
    if op in (Op.IN, Op.NOT_IN):
        if spec.type in (FieldType.CHOICE, FieldType.USER):
            return [v for v in values if v]
        return [part.strip() for v in values for part in _LIST_SPLIT.split(v) if part.strip()]
    first = values[0].strip() if values else ""
    if spec.type == FieldType.BOOLEAN:
        return {"true": True, "false": False}.get(first, first)
    return first


def definition_from_form(form: FormData, *, complete_only: bool = False) -> dict[str, Any]:
    """The builder's rows (or its JSON box, for nested definitions) as a raw definition.

    `complete_only` leaves out rows whose value is still blank: the live count shows what
    the finished rows select while the user is typing.
    """
    text = form.get("definition_json")
    if isinstance(text, str) and text.strip():
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"JSON line {exc.lineno}: {exc.msg}") from None
        if not isinstance(parsed, dict):
            raise InvalidInputError("JSON: expected an object with match and rules")
        return parsed
    rules: list[dict[str, Any]] = []
    for key in form:
        found = _TOKEN.match(key)
        if not found:
            continue
        token = found.group(1)
        name, op = form.get(key), form.get(f"rules-{token}-op")
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None or not isinstance(op, str) or op not in {o.value for o in spec.ops}:
            rules.append({"field": name, "op": op})
            continue
        value = _raw_value(form, token, spec, Op(op))
        if complete_only and value in ("", [], ["", ""]):
            continue
        rules.append({"field": name, "op": op, "value": value})
    return {"match": form.get("match") or "all", "rules": rules}


def _rows_of(definition: Group) -> list[RowView] | None:
    """Builder rows for a flat definition; None when it nests groups (JSON editing)."""
    rows = []
    for item in definition.rules:
        if not isinstance(item, Rule):
            return None
        value = item.value.isoformat() if isinstance(item.value, date) else item.value
        if isinstance(value, list):
            value = [v.isoformat() if isinstance(v, date) else v for v in value]
        rows.append(_row(item.field, item.op.value, value))
    return rows


def _choices(session: DbSession, exclude: int | None) -> dict[str, Any]:
    users = [(u.id, u.name) for u in session.scalars(select(User).order_by(User.name))]
    segments = [
        (s.id, s.name)
        for s in session.scalars(select(Segment).order_by(Segment.name))
        if s.id != exclude
    ]
    return {"users": users, "segments": segments}


def _base_context(session: DbSession, segment_id: int | None = None) -> dict[str, Any]:
    return {
        "fields": list(FIELDS.values()),
        "field_labels": FIELD_LABELS,
        "op_labels": OP_LABELS,
        "field_op_labels": FIELD_OP_LABELS,
        "choice_labels": CHOICE_LABELS,
        "types": FieldType,
        **_choices(session, segment_id),
    }


def _today(pages: Pages) -> date:
    return datetime.now(pages.tz).date()


@router.get("/segments", response_class=HTMLResponse)
def segments_page(
    request: Request, session: DbSession, pages: Pages, _user: MarketingPageUser
) -> HTMLResponse:
    """Every segment; each row fetches its live count after the page shows."""
    context = {
        "segments": service.list_segments(session),
        "flash": request.session.pop("flash_segments", None),
    }
    return pages.render(request, "segments.html", context)


@router.get("/segments/new", response_class=HTMLResponse)
def new_segment(
    request: Request, session: DbSession, pages: Pages, _user: MarketingPageUser
) -> HTMLResponse:
    context = {
        **_base_context(session),
        "segment": None,
        "name": "",
        "description": "",
        "match": "all",
        "rows": [_row("company.industry")],
        "definition_json": "",
        "preview": [],
        "error": None,
        "flash": None,
    }
    return pages.render(request, "segment_edit.html", context)


@router.get("/segments/row", response_class=HTMLResponse)
def builder_row(
    request: Request, session: DbSession, pages: Pages, _user: MarketingPageUser
) -> HTMLResponse:
    """One builder row for the chosen field and operator (keeps the value it had)."""
    params = request.query_params
    token = params.get("token") or ""
    token = token if re.fullmatch(r"[0-9a-f]{1,16}", token) else _new_token()
    field = params.get(f"rules-{token}-field") or params.get("field") or "company.industry"
    op = params.get(f"rules-{token}-op")
    spec = FIELDS.get(field)
    if spec is not None and op not in {o.value for o in spec.ops}:
        op = None
    values = params.getlist(f"rules-{token}-value")
    value: Any = values if len(values) > 1 else (values[0] if values else None)
    context = {**_base_context(session), "row": _row(field, op, value, token)}
    # The form counts again once the new row is in place.
    return pages.render(
        request, "_segment_row.html", context, headers={"HX-Trigger-After-Swap": "rules-changed"}
    )


@router.get("/segments/row/removed")
def removed_row(_user: MarketingPageUser) -> Response:
    """The row is gone (hx-swap=delete): ask the form to count again."""
    return Response(status_code=200, headers={"HX-Trigger-After-Swap": "rules-changed"})


@router.post("/segments/count", response_class=HTMLResponse)
async def live_count(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser
) -> HTMLResponse:
    """The count of the definition being built (not saved): the builder's live figure."""
    form = await request.form()
    try:
        definition = definition_from_form(form, complete_only=True)
        count: int | None = service.count_segment(
            session, definition, as_of=_today(pages), user_id=user.id
        )
        error = None
    except (InvalidInputError, NotFoundError) as exc:
        count, error = None, str(exc)
    return pages.render(request, "_segment_count.html", {"count": count, "error": error})


@router.get("/segments/{segment_id}/count", response_class=HTMLResponse)
def saved_count(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, segment_id: int
) -> HTMLResponse:
    """A saved segment counted now (the figure is kept for next time)."""
    try:
        segment = service.get_segment(session, segment_id)
        count: int | None = service.refresh_count(
            session, segment, as_of=_today(pages), at=datetime.now(UTC), user_id=user.id
        )
        error = None
    except (InvalidInputError, NotFoundError) as exc:
        count, error = None, str(exc)
    return pages.render(request, "_segment_count.html", {"count": count, "error": error})


@router.get("/segments/{segment_id}", response_class=HTMLResponse)
def edit_segment(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, segment_id: int
) -> HTMLResponse:
    """The builder for a saved segment, with the first contacts in it."""
    try:
        segment = service.get_segment(session, segment_id)
    except NotFoundError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    definition = service.definition_of(segment)
    rows = _rows_of(definition)
    try:
        preview = service.preview_segment(session, segment, as_of=_today(pages), user_id=user.id)
    except (InvalidInputError, NotFoundError):
        preview = []
    context = {
        **_base_context(session, segment.id),
        "segment": segment,
        "name": segment.name,
        "description": segment.description or "",
        "match": definition.match,
        "rows": rows or [],
        "definition_json": ""
        if rows is not None
        else json.dumps(segment.definition, ensure_ascii=False, indent=2),
        "preview": preview,
        "error": None,
        "flash": request.session.pop("flash_segments", None),
    }
    return pages.render(request, "segment_edit.html", context)


async def _save(
    request: Request, session: DbSession, pages: Pages, user: Viewer, segment_id: int | None
) -> Response:
    form = await request.form()
    name = str(form.get("name") or "")
    description = str(form.get("description") or "")
    try:
        definition = definition_from_form(form)
        if segment_id is None:
            segment = service.create_segment(
                session, name=name, description=description, definition=definition, user_id=user.id
            )
        else:
            segment = service.update_segment(
                session, segment_id, name=name, description=description, definition=definition
            )
    except (InvalidInputError, NotFoundError) as exc:
        session.rollback()
        raw = form.get("definition_json")
        parsed_rows = None
        try:
            parsed_rows = _rows_of(service.definition_of(definition_from_form(form)))
        except (InvalidInputError, NotFoundError):
            parsed_rows = None
        existing = session.get(Segment, segment_id) if segment_id is not None else None
        context = {
            **_base_context(session, segment_id),
            "segment": existing,
            "name": name,
            "description": description,
            "match": str(form.get("match") or "all"),
            "rows": parsed_rows if parsed_rows is not None else _rows_from_form(form),
            "definition_json": raw if isinstance(raw, str) else "",
            "preview": [],
            "error": str(exc),
            "flash": None,
        }
        return pages.render(request, "segment_edit.html", context, status_code=422)
    request.session["flash_segments"] = "saved"
    return RedirectResponse(f"/segments/{segment.id}", status_code=303)


def _rows_from_form(form: FormData) -> list[RowView]:
    """The rows as typed, even when invalid, so a failed save loses nothing."""
    rows = []
    for key in form:
        found = _TOKEN.match(key)
        if found:
            token = found.group(1)
            op = form.get(f"rules-{token}-op")
            values = [v for v in form.getlist(f"rules-{token}-value") if isinstance(v, str)]
            rows.append(
                _row(
                    str(form.get(key)),
                    op if isinstance(op, str) else None,
                    values if len(values) > 1 else (values[0] if values else None),
                    token,
                )
            )
    return rows


@router.post("/segments/new")
async def create_segment(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser
) -> Response:
    return await _save(request, session, pages, user, None)


@router.post("/segments/{segment_id}")
async def update_segment(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, segment_id: int
) -> Response:
    return await _save(request, session, pages, user, segment_id)


@router.post("/segments/{segment_id}/delete")
def delete_segment(
    request: Request, session: DbSession, pages: Pages, _user: MarketingPageUser, segment_id: int
) -> Response:
    try:
        service.delete_segment(session, segment_id)
    except (InvalidInputError, NotFoundError) as exc:
        request.session["flash_segments"] = str(exc)
        return RedirectResponse(f"/segments/{segment_id}", status_code=303)
    request.session["flash_segments"] = "deleted"
    return RedirectResponse("/segments", status_code=303)
