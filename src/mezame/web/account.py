"""The logged-in user's own account: change the password, log out on every device."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mezame.accounts import service as accounts
from mezame.accounts.rules import MIN_PASSWORD_LENGTH, password_problem
from mezame.api.deps import DbSession
from mezame.web.auth import (
    FLASH_LOGGED_OUT_EVERYWHERE,
    Pages,
    TeamUser,
    client_ip,
    fresh_session,
    start_session,
    too_many_attempts,
)
from mezame.web.forms import FieldError
from mezame.web.labels import N_

router = APIRouter(include_in_schema=False)

PasswordField = Annotated[str, Form(max_length=1000)]

FLASH_CHANGED = "flash_account_changed"


def _page(
    request: Request,
    pages: Pages,
    *,
    errors: dict[str, FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return pages.render(request, "account.html", _context(request, errors), status_code=status_code)


def _context(request: Request, errors: dict[str, FieldError] | None = None) -> dict[str, Any]:
    return {
        "errors": errors or {},
        "min_password_length": MIN_PASSWORD_LENGTH,
        "password_changed": request.session.pop(FLASH_CHANGED, None),
    }


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, pages: Pages, _user: TeamUser) -> HTMLResponse:
    """Who is logged in, the password form and the "log out everywhere" button."""
    return _page(request, pages)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: TeamUser,
    current_password: PasswordField = "",
    new_password: PasswordField = "",
    new_password_confirm: PasswordField = "",
) -> Response:
    """Change one's own password; other sessions end, this one goes on (post/redirect/get).

    Errors name the field and never show a password back.
    """
    errors: dict[str, FieldError] = {}
    if not current_password:
        errors["current_password"] = FieldError(N_("Enter your current password."))
    if password_problem(new_password):
        errors["new_password"] = FieldError(
            N_("At least %(n)s characters."), {"n": MIN_PASSWORD_LENGTH}
        )
    elif new_password != new_password_confirm:
        errors["new_password_confirm"] = FieldError(N_("The two new passwords differ."))
    if errors:
        return _page(request, pages, errors=errors, status_code=400)
    check = accounts.change_own_password(
        session,
        user_id=user.id,
        current_password=current_password,
        new_password=new_password,
        client_ip=client_ip(request),
    )
    if check.retry_at is not None:
        context = _context(request)
        return too_many_attempts(request, pages, "account.html", context, check.retry_at)
    if check.user is None:
        wrong = FieldError(N_("The current password is incorrect."))
        return _page(request, pages, errors={"current_password": wrong}, status_code=400)
    start_session(request, check.user)  # this session carries the new epoch
    request.session[FLASH_CHANGED] = True
    return RedirectResponse("/account", status_code=303)


@router.post("/account/logout-everywhere")
def logout_everywhere(request: Request, session: DbSession, user: TeamUser) -> Response:
    """End every session of this user, this one included, then show the login form."""
    accounts.log_out_everywhere(session, accounts.get_user(session, user.id))
    fresh_session(request)
    request.session[FLASH_LOGGED_OUT_EVERYWHERE] = True
    return RedirectResponse("/login", status_code=303)
