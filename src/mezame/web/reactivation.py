"""掘り起こしリスト: the ranked dormant customers, the threshold suggestions, the changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mezame.adapters.csv_export import csv_text, encode
from mezame.api.deps import DbSession
from mezame.dormancy.changes import CHANGE_KINDS, Change
from mezame.dormancy.priority import CHANGE_NAMES, KIND_NAMES
from mezame.dormancy.results import service as results
from mezame.dormancy.results.service import ALL_BANDS, REASON_VALUES, Filters
from mezame.dormancy.rules import KINDS, DormancyKind
from mezame.dormancy.service import recompute
from mezame.dormancy.suggest import KindSuggestion
from mezame.errors import InvalidInputError, NotFoundError
from mezame.vocabulary import Role
from mezame.web.auth import MarketingPageUser, Pages, TeamUser
from mezame.web.labels import N_
from mezame.web.render import Viewer

router = APIRouter(include_in_schema=False)

# The dormant list and its settings are marketing's to change (SPEC: who uses it).
PER_PAGE = 50
CSV_LIMIT = 100_000

KIND_LABELS = {
    "former_customer": N_("Former customer"),
    "lost_deal": N_("Lost or postponed deal"),
    "contact_only": N_("Contact only"),
}
TRIGGER_LABELS = {
    "last_order": N_("Last order"),
    "contract_end": N_("Contract ended"),
    "cancellation": N_("Cancellation"),
    "lost_deal": N_("Deal lost"),
    "postponed_deal": N_("Deal postponed"),
    "acquisition": N_("Acquired, no response since"),
    "last_response": N_("Last response"),
}
REASON_LABELS = {
    "price": N_("Price"),
    "function": N_("Function"),
    "timing": N_("Timing"),
    "competitor": N_("Competitor"),
    "unknown": N_("Unknown"),
}
BAND_LABELS = {
    "high": N_("High"),
    "medium": N_("Medium"),
    "low": N_("Low"),
    "gone": N_("Excluded (asleep too long)"),
}
CHANNEL_LABELS = {
    "phone": N_("Call"),
    "mail": N_("Mail"),
    "dm": N_("Direct mail"),
    "none": N_("No channel"),
}
CHANGE_LABELS = {
    "price_cut": N_("Price cut or campaign"),
    "new_feature": N_("New feature"),
    "new_season": N_("New season"),
    "case_study": N_("Case study"),
    "price_rise": N_("Price rise (explains silence)"),
}
assert set(CHANGE_LABELS) == {k.value for k in CHANGE_KINDS} == {k.value for k in CHANGE_NAMES}
assert set(KIND_LABELS) == {k.value for k in KIND_NAMES}


def _is_partial(request: Request) -> bool:
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _filters(kind: str, reason: str, owner: str, band: str) -> Filters:
    try:
        owner_id = int(owner) if owner else None
    except ValueError:
        raise InvalidInputError(f"owner は数字です: {owner!r}") from None
    return Filters(kind=kind or None, reason=reason or None, owner_id=owner_id, band=band or None)


Choice = Annotated[str, Query(max_length=30)]


@router.get("/reactivation", response_class=HTMLResponse)
def reactivation(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: TeamUser,
    kind: Choice = "",
    reason: Choice = "",
    owner: Choice = "",
    band: Choice = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The reactivation list, best first, filtered; htmx swaps just the results."""
    try:
        filters = _filters(kind, reason, owner, band)
    except InvalidInputError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    result = results.list_dormant(session, filters=filters, page=page, per_page=PER_PAGE)
    params = {"kind": kind, "reason": reason, "owner": owner, "band": band}
    kept = {k: v for k, v in params.items() if v}

    def page_link(number: int) -> str:
        query = urlencode({**kept, "page": number} if number > 1 else kept)
        return "/reactivation" + (f"?{query}" if query else "")

    context = {
        "result": result,
        "filters": params,
        "page_link": page_link,
        "csv_query": urlencode(kept),
        "run": results.latest_run(session),
        "owners": results.owners(session),
        "kinds": [k.value for k in KINDS],
        "reasons": REASON_VALUES,
        "bands": ALL_BANDS,
        "kind_labels": KIND_LABELS,
        "trigger_labels": TRIGGER_LABELS,
        "reason_labels": REASON_LABELS,
        "band_labels": BAND_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "can_edit": user.role in (Role.MARKETING.value, Role.ADMIN.value),
        "flash": request.session.pop("flash_reactivation", None),
    }
    template = "_reactivation_results.html" if _is_partial(request) else "reactivation.html"
    response = pages.render(request, template, context)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/reactivation.csv")
def reactivation_csv(
    session: DbSession,
    _user: TeamUser,
    kind: Choice = "",
    reason: Choice = "",
    owner: Choice = "",
    band: Choice = "",
    encoding: Annotated[str, Query(pattern="^(utf-8|cp932)$")] = "utf-8",
) -> Response:
    """The filtered list as an Excel-friendly CSV (UTF-8 with BOM, or CP932)."""
    filters = _filters(kind, reason, owner, band)
    rows = results.iter_dormant(session, filters=filters, limit=CSV_LIMIT)
    data = encode(csv_text(results.CSV_HEADER, map(results.csv_row, rows)), encoding)
    run = results.latest_run(session)
    day = run.as_of.isoformat() if run else "none"
    return Response(
        data,
        media_type=f"text/csv; charset={'shift_jis' if encoding == 'cp932' else 'utf-8'}",
        headers={"Content-Disposition": f'attachment; filename="reactivation-{day}.csv"'},
    )


@router.post("/reactivation/recompute")
def reactivation_recompute(
    request: Request, session: DbSession, _user: MarketingPageUser
) -> Response:
    """Judge, fit and rank everyone again now, then show the list."""
    today = datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()
    summary = recompute(session, as_of=today)
    request.session["flash_reactivation"] = summary.counts.get("ranked", 0)
    return RedirectResponse("/reactivation", status_code=303)


# ---------------------------------------------------------------------------------------------
# Thresholds: the data's suggestion per kind, with its table and chart.

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 560, 220, 36


@dataclass(frozen=True)
class Chart:
    """A return-rate curve drawn as SVG coordinates (no JavaScript, no chart library)."""

    rate_points: str
    alive_points: str
    suggestion_x: float | None
    target_y: float
    ticks: list[tuple[float, str]]  # x, months
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    pad: int = CHART_PAD

    @property
    def bottom(self) -> int:
        return self.height - self.pad

    @property
    def right(self) -> int:
        return self.width - 8


def _chart(s: KindSuggestion) -> Chart | None:
    points = [p for p in s.curve if p.return_rate is not None]
    if len(points) < 2:
        return None
    last = max(p.gap_days for p in points)
    x_span = CHART_WIDTH - CHART_PAD - 8
    y_span = CHART_HEIGHT - 2 * CHART_PAD

    def x(days: float) -> float:
        return round(CHART_PAD + x_span * days / last, 1)

    def y(share: float) -> float:
        return round(CHART_HEIGHT - CHART_PAD - y_span * share, 1)

    rate = " ".join(f"{x(p.gap_days)},{y(p.return_rate or 0)}" for p in points)
    alive = " ".join(
        f"{x(p.gap_days)},{y(p.median_p_alive)}" for p in points if p.median_p_alive is not None
    )
    step = max(1, round(last / 30.4 / 6))
    ticks = [(x(m * 30.4375), str(m)) for m in range(0, int(last / 30.4375) + 1, step)]
    return Chart(
        rate_points=rate,
        alive_points=alive,
        suggestion_x=x(s.suggested_days) if s.suggested_days and s.suggested_days <= last else None,
        target_y=y(s.max_return_rate),
        ticks=ticks,
    )


@router.get("/reactivation/thresholds", response_class=HTMLResponse)
def thresholds(request: Request, session: DbSession, pages: Pages, user: TeamUser) -> HTMLResponse:
    """Per kind: the current threshold, the data's suggestion, its table and chart, "use this"."""
    return _thresholds_page(request, session, pages, user)


def _thresholds_page(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: Viewer,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = results.suggestions(session)
    policy = results.thresholds(session)
    kinds: list[dict[str, Any]] = []
    for kind in DormancyKind:
        s = found.get(kind.value)
        kinds.append(
            {
                "kind": kind.value,
                "rule": policy.rule(kind),
                "suggestion": s,
                "chart": _chart(s) if s else None,
                "quantiles": s.quantiles if s else [],
            }
        )
    context = {
        "kinds": kinds,
        "kind_labels": KIND_LABELS,
        "run": results.latest_run(session),
        "can_edit": user.role in (Role.MARKETING.value, Role.ADMIN.value),
        "error": error,
        "saved": request.session.pop("flash_threshold", None),
    }
    return pages.render(request, "reactivation_thresholds.html", context, status_code=status_code)


@router.post("/reactivation/thresholds/{kind}/use", response_class=HTMLResponse)
def use_suggestion(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, kind: str
) -> Response:
    """ "Use this": the suggestion becomes the kind's threshold."""
    try:
        results.use_suggestion(session, kind=kind, user_id=user.id)
    except (InvalidInputError, NotFoundError) as exc:
        return _thresholds_page(request, session, pages, user, error=str(exc), status_code=400)
    request.session["flash_threshold"] = kind
    return RedirectResponse("/reactivation/thresholds", status_code=303)


@router.post("/reactivation/thresholds/{kind}", response_class=HTMLResponse)
def set_threshold(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    kind: str,
    after_months: Annotated[int, Form(ge=0, le=240)],
    exclude_after_months: Annotated[int, Form(ge=1, le=600)],
) -> Response:
    """Set a kind's threshold and upper bound by hand."""
    try:
        results.set_threshold(
            session,
            kind=kind,
            after_months=after_months,
            exclude_after_months=exclude_after_months,
            user_id=user.id,
        )
    except InvalidInputError as exc:
        return _thresholds_page(request, session, pages, user, error=str(exc), status_code=400)
    request.session["flash_threshold"] = kind
    return RedirectResponse("/reactivation/thresholds", status_code=303)


# ---------------------------------------------------------------------------------------------
# Changes since customers left (前回からの変化).


@router.get("/reactivation/changes", response_class=HTMLResponse)
def changes(request: Request, session: DbSession, pages: Pages, user: TeamUser) -> HTMLResponse:
    """What changed since customers left; marketing adds and removes entries."""
    return _changes_page(request, session, pages, user)


def _changes_page(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: Viewer,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "changes": list(enumerate(results.changes(session).changes)),
        "change_labels": CHANGE_LABELS,
        "can_edit": user.role in (Role.MARKETING.value, Role.ADMIN.value),
        "error": error,
        "form": form
        or {
            "on": date.today().isoformat(),
            "kind": "price_cut",
            "description": "",
            "product_line": "",
        },
    }
    return pages.render(request, "reactivation_changes.html", context, status_code=status_code)


@router.post("/reactivation/changes", response_class=HTMLResponse)
def add_change(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    on: Annotated[str, Form(max_length=10)],
    kind: Annotated[str, Form(max_length=20)],
    description: Annotated[str, Form(max_length=500)],
    product_line: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Record a change (post/redirect/get)."""
    form = {"on": on, "kind": kind, "description": description, "product_line": product_line}
    try:
        change = Change.model_validate(
            {"on": on, "kind": kind, "description": description, "product_line": product_line}
        )
    except ValueError as exc:
        return _changes_page(
            request, session, pages, user, error=str(exc), form=form, status_code=400
        )
    results.add_change(session, change, user_id=user.id)
    return RedirectResponse("/reactivation/changes", status_code=303)


@router.post("/reactivation/changes/{index}/delete")
def remove_change(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, index: int
) -> Response:
    """Delete one change."""
    try:
        results.remove_change(session, index=index, user_id=user.id)
    except NotFoundError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    return RedirectResponse("/reactivation/changes", status_code=303)
