"""Who is looking at a page: login, logout, the language switch, and the role check per page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mezame.accounts.service import authenticate
from mezame.api.deps import DbSession
from mezame.models import User
from mezame.vocabulary import Role
from mezame.web.csrf import new_csrf_token
from mezame.web.i18n import LOCALES
from mezame.web.render import Renderer, Viewer

router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """No logged-in user: HTML pages send the browser to the login form."""


class PageForbidden(Exception):
    """The user's role may not open this page."""


def page_user(*roles: Role) -> Callable[..., Viewer]:
    """A dependency admitting logged-in users of these roles (admin always) to a page."""
    allowed = {r.value for r in roles} | {Role.ADMIN.value}

    def check(request: Request, session: DbSession) -> Viewer:
        user_id = request.session.get("user_id")
        user = session.get(User, user_id) if user_id is not None else None
        if user is None or not user.is_active:
            request.session.pop("user_id", None)
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


def login_url(next_path: str) -> str:
    """The login form, returning to `next_path` afterwards."""
    return "/login?" + urlencode({"next": next_path}) if next_path != "/" else "/login"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, pages: Pages, next: str = "/") -> Response:
    """The login form (already logged in: straight on)."""
    if request.session.get("user_id") is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return pages.render(request, "login.html", {"next": safe_next(next), "error": None})


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
    user = authenticate(session, email=email, password=password)
    if user is None:
        # One message for unknown email and wrong password alike: no account discovery.
        return pages.render(
            request,
            "login.html",
            {"next": safe_next(next), "error": "invalid", "email": email},
            status_code=400,
        )
    locale = request.session.get("locale")
    request.session.clear()  # rotate: nothing from before the login survives, token included
    request.session["user_id"] = user.id
    if locale is not None:
        request.session["locale"] = locale
    new_csrf_token(request.session)
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
