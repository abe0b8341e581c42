"""Who is looking at a page: login, logout, the language switch, and the role check per page."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mezame.accounts.rules import wait_minutes
from mezame.accounts.service import log_in, user_for_session
from mezame.api.deps import SESSION_EPOCH, DbSession
from mezame.models import User, utcnow
from mezame.vocabulary import Role
from mezame.web.csrf import new_csrf_token
from mezame.web.i18n import LOCALES
from mezame.web.render import Renderer, Viewer

router = APIRouter(include_in_schema=False)

# Set by "log out everywhere": the login form says why the user sees it again.
FLASH_LOGGED_OUT_EVERYWHERE = "flash_logged_out_everywhere"


class LoginRequired(Exception):
    """No logged-in user: HTML pages send the browser to the login form."""


class PageForbidden(Exception):
    """The user's role may not open this page."""


def page_user(*roles: Role) -> Callable[..., Viewer]:
    """A dependency admitting logged-in users of these roles (admin always) to a page."""
    allowed = {r.value for r in roles} | {Role.ADMIN.value}

    def check(request: Request, session: DbSession) -> Viewer:
        user = user_for_session(
            session,
            user_id=request.session.get("user_id"),
            epoch=request.session.get(SESSION_EPOCH),
        )
        if user is None:
            # Unknown, deactivated, or logged out everywhere since: the login is forgotten.
            request.session.pop("user_id", None)
            request.session.pop(SESSION_EPOCH, None)
            raise LoginRequired
        viewer = Viewer.of(user)
        request.state.user = viewer
        if viewer.role not in allowed:
            raise PageForbidden
        return viewer

    return check


# Companies and contacts are for both teams; admin pages for admins only.
TeamUser = Annotated[Viewer, Depends(page_user(Role.MARKETING, Role.SALES))]
MarketingPageUser = Annotated[Viewer, Depends(page_user(Role.MARKETING))]
AdminPageUser = Annotated[Viewer, Depends(page_user())]


def renderer(request: Request) -> Renderer:
    """The app's page renderer (built once by pages.install)."""
    return request.app.state.web_renderer  # type: ignore[no-any-return]


Pages = Annotated[Renderer, Depends(renderer)]


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else "/": never redirect to another origin."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def client_ip(request: Request) -> str:
    """The address the throttle counts: the peer, or what a trusted reverse proxy forwarded
    (uvicorn rewrites the peer for MEZAME_FORWARDED_ALLOW_IPS; see cli/serving.py)."""
    return (request.client.host if request.client else "")[:45]


def fresh_session(request: Request) -> None:
    """Forget everything of the session but its language; a new CSRF token."""
    locale = request.session.get("locale")
    request.session.clear()
    if locale is not None:
        request.session["locale"] = locale
    new_csrf_token(request.session)


def start_session(request: Request, user: User) -> None:
    """A fresh session for this user: nothing from before survives, the CSRF token included."""
    fresh_session(request)
    request.session["user_id"] = user.id
    request.session[SESSION_EPOCH] = user.session_epoch


def too_many_attempts(
    request: Request,
    pages: Renderer,
    template: str,
    context: dict[str, object],
    retry_at: datetime,
) -> Response:
    """The throttle's refusal (429), telling roughly when to try again."""
    now = utcnow()
    seconds = max(1, math.ceil((retry_at - now).total_seconds()))
    return pages.render(
        request,
        template,
        {**context, "retry_minutes": wait_minutes(retry_at, now)},
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def login_url(next_path: str) -> str:
    """The login form, returning to `next_path` afterwards."""
    return "/login?" + urlencode({"next": next_path}) if next_path != "/" else "/login"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, pages: Pages, next: str = "/") -> Response:
    """The login form (already logged in: straight on)."""
    if request.session.get("user_id") is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    context = {
        "next": safe_next(next),
        "error": None,
        "logged_out_everywhere": request.session.pop(FLASH_LOGGED_OUT_EVERYWHERE, False),
    }
    return pages.render(request, "login.html", context)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: DbSession,
    pages: Pages,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; on success start a fresh session and go where the user was headed."""
    check = log_in(session, email=email, password=password, client_ip=client_ip(request))
    context = {"next": safe_next(next), "email": email}
    if check.retry_at is not None:
        # Before any password check and whether or not the account exists: no discovery.
        return too_many_attempts(
            request, pages, "login.html", {**context, "error": "throttled"}, check.retry_at
        )
    if check.user is None:
        # One message for unknown email and wrong password alike: no account discovery.
        return pages.render(request, "login.html", {**context, "error": "invalid"}, status_code=400)
    start_session(request, check.user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    new_csrf_token(request.session)
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def switch_language(
    request: Request,
    locale: Annotated[str, Form()],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Show the UI in another language for the rest of the session."""
    if locale in LOCALES:
        request.session["locale"] = locale
    return RedirectResponse(safe_next(next), status_code=303)
