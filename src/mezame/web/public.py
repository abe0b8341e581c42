"""The pages a mail recipient reaches without an account: unsubscribe, click redirect, pixel.

No login, no CSRF token (pages.install exempts /u/), no cookies set, no redirect after an
unsubscribe: mail providers POST the one-click request (RFC 8058) without any of them.
A GET never unsubscribes, because link scanners fetch every URL in a mail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mezame.adapters.mail import link_signer
from mezame.api.deps import DbSession
from mezame.tracking import service as tracking
from mezame.web.render import Renderer

router = APIRouter(include_in_schema=False)
# The one-click unsubscribe POST carries no CSRF token: the signed URL token is the authority.
CSRF_EXEMPT = ("/u/",)

# A transparent 1×1 GIF.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
NO_STORE = {"Cache-Control": "no-store, private", "X-Robots-Tag": "noindex, nofollow"}


def _page(
    request: Request, template: str, context: dict[str, Any], status_code: int
) -> HTMLResponse:
    """Render without the session-bound extras (no CSRF token, hence no session cookie)."""
    renderer: Renderer = request.app.state.web_renderer
    locale = renderer.locale_for(request, None)
    html = (
        renderer.environments[locale]
        .get_template(template)
        .render({"user": None, "nav": [], "csrf_token": "", "path": request.url.path, **context})
    )
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str, session: DbSession) -> HTMLResponse:
    """Ask before unsubscribing: a GET changes nothing."""
    signer = link_signer(request.app.state.settings)
    target = tracking.unsubscribe_target(session, signer=signer, token=token)
    if target is None:
        return _page(request, "public_unsubscribe.html", {"state": "invalid"}, 404)
    context = {"state": "confirm", "email": tracking.mask_address(target.email), "token": token}
    return _page(request, "public_unsubscribe.html", context, 200)


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe_now(request: Request, token: str, session: DbSession) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058) and the confirmation form: effective at once, repeatable."""
    signer = link_signer(request.app.state.settings)
    # The mail provider's one-click POST and the confirmation form are the same request.
    target = tracking.unsubscribe(
        session, signer=signer, token=token, source="unsubscribe-url", at=datetime.now(UTC)
    )
    if target is None:
        return _page(request, "public_unsubscribe.html", {"state": "invalid"}, 404)
    session.commit()  # before the answer: "takes effect at once"
    context = {"state": "done", "email": tracking.mask_address(target.email)}
    return _page(request, "public_unsubscribe.html", context, 200)


@router.get("/c/{token}")
def click(request: Request, token: str, session: DbSession) -> Response:
    """Record the click and go on to the signed target; a bad signature goes nowhere."""
    signer = link_signer(request.app.state.settings)
    hit = tracking.record_click(
        session,
        signer=signer,
        token=token,
        at=datetime.now(UTC),
        user_agent=request.headers.get("user-agent", ""),
    )
    if hit is None or not hit.target.lower().startswith(("http://", "https://")):
        return _page(request, "public_unsubscribe.html", {"state": "bad_link"}, 400)
    session.commit()
    return RedirectResponse(hit.target, status_code=302, headers=NO_STORE)


@router.get("/o/{token}.gif")
def open_pixel(request: Request, token: str, session: DbSession) -> Response:
    """The open pixel: always the same image, an event only for a token we signed."""
    signer = link_signer(request.app.state.settings)
    tracking.record_open(
        session,
        signer=signer,
        token=token,
        at=datetime.now(UTC),
        user_agent=request.headers.get("user-agent", ""),
    )
    session.commit()
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)
