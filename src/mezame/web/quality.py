"""データ品質: the data-quality report, what to fix first, and each check's records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from mezame.api.deps import DbSession
from mezame.quality import service
from mezame.quality.report import QualityCheck, RecordKind
from mezame.web.auth import MarketingPageUser, Pages
from mezame.web.labels import N_

router = APIRouter(include_in_schema=False)

# Keeping the list clean is marketing's job (SPEC: who uses it); the lists cross all owners.
PER_PAGE = 50

KIND_LABELS = {
    RecordKind.COMPANY: N_("Companies"),
    RecordKind.CONTACT: N_("Contacts"),
    RecordKind.DEAL: N_("Deals"),
}


def _today(pages: Pages) -> date:
    return datetime.now(pages.tz).date()


@router.get("/quality", response_class=HTMLResponse)
def quality(
    request: Request, session: DbSession, pages: Pages, _user: MarketingPageUser
) -> HTMLResponse:
    """Counts per fault and check, the share of records affected, and what to fix first."""
    report = service.quality_report(session, as_of=_today(pages))
    return pages.render(request, "quality.html", {"report": report, "kind_labels": KIND_LABELS})


@router.get("/quality/{check}", response_class=HTMLResponse)
def quality_check(
    request: Request,
    session: DbSession,
    pages: Pages,
    _user: MarketingPageUser,
    check: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The records one check flags, newest first, each linking to its company or contact."""
    try:
        known = QualityCheck(check)
    except ValueError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    result = service.quality_records(
        session, check=known, as_of=_today(pages), page=page, per_page=PER_PAGE
    )
    context = {
        "result": result,
        "page_link": lambda n: f"{request.url.path}?page={n}" if n > 1 else request.url.path,
    }
    partial = (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )
    response = pages.render(
        request, "_quality_records.html" if partial else "quality_check.html", context
    )
    response.headers["Vary"] = "HX-Request"
    return response
