"""名寄せ候補: the review queue of candidate duplicates, decisions, automatic merges and undo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mezame.api.deps import DbSession
from mezame.cleaning import service
from mezame.cleaning.merges import service as merges
from mezame.cleaning.merges.service import ReviewDecision
from mezame.cleaning.service import KINDS, Kind
from mezame.errors import InvalidInputError, NotFoundError
from mezame.web.auth import MarketingPageUser, Pages
from mezame.web.labels import N_

router = APIRouter(include_in_schema=False)

# Keeping the list clean is marketing's job (SPEC: who uses it).
SHOWN_CLUSTERS = 50
SHOWN_MERGES = 20

KIND_LABELS = {"companies": N_("Companies"), "contacts": N_("Contacts")}
FIELD_LABELS = {
    "corporate_number": N_("Corporate number"),
    "phone": N_("Phone"),
    "mobile": N_("Mobile"),
    "address": N_("Address"),
    "website": N_("Website"),
    "email": N_("Email"),
    "company_name": N_("Company"),
    "department": N_("Department"),
}
METHOD_LABELS = {"auto": N_("Automatic"), "review": N_("Reviewed"), "manual": N_("Manual")}
DECISION_DONE = {
    ReviewDecision.REJECT: N_("Rejected: this suggestion will not come back."),
    ReviewDecision.NOT_DUPLICATE: N_("Recorded as different records: never proposed again."),
}


@router.get("/duplicates", response_class=HTMLResponse)
def duplicates(
    request: Request,
    session: DbSession,
    pages: Pages,
    _user: MarketingPageUser,
    kind: Annotated[Kind, Query()] = "companies",
) -> HTMLResponse:
    """The review queue: clusters between the thresholds, with the evidence in words."""
    items, waiting_auto = service.review_queue(session, kind)
    context = {
        "kind": kind,
        "kinds": KINDS,
        "kind_labels": KIND_LABELS,
        "field_labels": FIELD_LABELS,
        "method_labels": METHOD_LABELS,
        "items": items[:SHOWN_CLUSTERS],
        "total": len(items),
        "waiting_auto": waiting_auto,
        "merges": merges.list_merges(session, kind=kind, limit=SHOWN_MERGES),
        "flash": request.session.pop("flash_duplicates", None),
    }
    return pages.render(request, "duplicates.html", context)


@router.post("/duplicates/{kind}/decide", response_class=HTMLResponse)
def decide(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    kind: Kind,
    ids: Annotated[list[int], Form(max_length=100)],
    decision: Annotated[ReviewDecision, Form()],
) -> Response:
    """Accept (merge), reject or mark as not duplicates; htmx swaps the card for the result."""
    context: dict[str, object] = {"kind": kind, "merge": None, "message": None, "error": None}
    try:
        merged = merges.decide(session, kind=kind, ids=ids, decision=decision, user_id=user.id)
        context.update(merge=merged, message=DECISION_DONE.get(decision))
    except (InvalidInputError, NotFoundError) as exc:  # e.g. merged meanwhile in another tab
        context["error"] = str(exc)
    return _answer(request, pages, "_duplicate_result.html", context, kind=kind)


@router.post("/duplicates/{kind}/auto")
def merge_automatically(
    request: Request, session: DbSession, user: MarketingPageUser, kind: Kind
) -> Response:
    """Apply the automatic merges now instead of waiting for the nightly pipeline."""
    merged = merges.auto_merge(session, kind=kind, user_id=user.id)
    request.session["flash_duplicates"] = {"merged": len(merged)}
    return RedirectResponse(f"/duplicates?kind={kind}", status_code=303)


@router.post("/merges/{merge_id}/undo", response_class=HTMLResponse)
def undo(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, merge_id: int
) -> Response:
    """Undo a merge; htmx swaps the merge's undo button for its undone state."""
    context: dict[str, object] = {"m": None, "error": None}
    try:
        context["m"] = undone = merges.undo_merge(session, merge_id=merge_id, user_id=user.id)
        kind = undone.kind
    except (InvalidInputError, NotFoundError) as exc:  # undone already, or a later merge first
        context["error"] = str(exc)
        kind = request.query_params.get("kind", "companies")
    return _answer(request, pages, "_merge_state.html", context, kind=kind)


def _answer(
    request: Request, pages: Pages, fragment: str, context: dict[str, object], *, kind: str
) -> Response:
    """htmx gets the fragment to swap in (errors too: htmx swaps only 2xx answers); a plain
    form post goes back to the queue, which shows the outcome once."""
    if request.headers.get("hx-request") == "true":
        return pages.render(request, fragment, context)
    request.session["flash_duplicates"] = {"error": context["error"], "saved": True}
    return RedirectResponse(f"/duplicates?kind={kind}", status_code=303)
