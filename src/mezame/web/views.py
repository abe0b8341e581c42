"""The pages: home, companies, contacts with their timeline, and user administration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mezame.accounts import service as accounts
from mezame.accounts.rules import MIN_PASSWORD_LENGTH
from mezame.api.deps import DbSession
from mezame.customers import service as customers
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import User
from mezame.vocabulary import Role
from mezame.web.auth import AdminPageUser, Pages, TeamUser
from mezame.web.forms import FieldError
from mezame.web.labels import N_

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
SearchText = Annotated[str, Query(max_length=200)]


def _is_partial(request: Request) -> bool:
    """An htmx swap of the results only (a history restore needs the whole page)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _page_link(path: str, params: dict[str, Any]) -> Callable[[int], str]:
    """A function page -> URL keeping the other filters (for the pager)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}

    def link(page: int) -> str:
        query = urlencode({**kept, "page": page} if page > 1 else kept)
        return f"{path}?{query}" if query else path

    return link


def _list_response(
    request: Request, pages: Pages, template: str, partial: str, context: dict[str, Any]
) -> HTMLResponse:
    response = pages.render(request, partial if _is_partial(request) else template, context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    response.headers["Vary"] = "HX-Request"
    return response


def _not_found(request: Request, pages: Pages) -> HTMLResponse:
    return pages.render(request, "error.html", {"status": 404}, status_code=404)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession, pages: Pages, _user: TeamUser) -> HTMLResponse:
    """Start page: how much is in the database and where to go."""
    return pages.render(request, "home.html", {"counts": customers.count_customers(session)})


@router.get("/companies", response_class=HTMLResponse)
def companies(
    request: Request,
    session: DbSession,
    pages: Pages,
    _user: TeamUser,
    q: SearchText = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    """Companies with search and paging; htmx swaps just the results while typing."""
    result = customers.list_companies(session, query=q, page=page, per_page=PER_PAGE)
    context = {"q": q, "result": result, "page_link": _page_link("/companies", {"q": q})}
    return _list_response(request, pages, "companies.html", "_companies_results.html", context)


@router.get("/companies/{company_id}", response_class=HTMLResponse)
def company(
    request: Request, session: DbSession, pages: Pages, _user: TeamUser, company_id: int
) -> Response:
    """One company: details, business so far and its contacts."""
    try:
        detail = customers.get_company(session, company_id=company_id)
    except NotFoundError:
        return _not_found(request, pages)
    if detail.merged_into_id is not None:  # an old link: the company lives on in its survivor
        return RedirectResponse(f"/companies/{detail.merged_into_id}", status_code=303)
    return pages.render(request, "company.html", {"company": detail})


@router.get("/contacts", response_class=HTMLResponse)
def contacts(
    request: Request,
    session: DbSession,
    pages: Pages,
    _user: TeamUser,
    q: SearchText = "",
    page: PageNumber = 1,
    company_id: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    """Contacts with search and paging, optionally of one company."""
    result = customers.list_contacts(
        session, query=q, company_id=company_id, page=page, per_page=PER_PAGE
    )
    company_name = None
    if company_id is not None:
        try:
            company_name = customers.get_company(session, company_id=company_id).name
        except NotFoundError:
            return _not_found(request, pages)
    context = {
        "q": q,
        "result": result,
        "company_id": company_id,
        "company_name": company_name,
        "page_link": _page_link("/contacts", {"q": q, "company_id": company_id}),
    }
    return _list_response(request, pages, "contacts.html", "_contacts_results.html", context)


@router.get("/contacts/{contact_id}", response_class=HTMLResponse)
def contact(
    request: Request, session: DbSession, pages: Pages, _user: TeamUser, contact_id: int
) -> Response:
    """One contact: who they are, and everything that happened with them, newest first."""
    try:
        detail = customers.get_contact(session, contact_id=contact_id)
        if detail.merged_into_id is not None:  # an old link: the contact lives on in its survivor
            return RedirectResponse(f"/contacts/{detail.merged_into_id}", status_code=303)
        timeline = customers.contact_timeline(session, contact_id=contact_id, tz=pages.tz)
    except NotFoundError:
        return _not_found(request, pages)
    return pages.render(request, "contact.html", {"contact": detail, "timeline": timeline})


_FLASH_USER_CHANGED = "flash_user_changed"
_LAST_ADMIN = N_(
    "%(email)s is the last active admin. Make another user admin first, so that someone can "
    "still manage users."
)


def _users_page(
    request: Request,
    session: DbSession,
    pages: Pages,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    refused: FieldError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return pages.render(
        request,
        "admin_users.html",
        {
            "users": accounts.list_users(session),
            "roles": [r.value for r in Role],
            "error": error,
            "form": form or {"email": "", "name": "", "role": Role.MARKETING.value},
            "created": request.session.pop("flash_user_created", None),
            "changed": request.session.pop(_FLASH_USER_CHANGED, None),
            "refused": refused,
            "min_password_length": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(
    request: Request, session: DbSession, pages: Pages, _user: AdminPageUser
) -> HTMLResponse:
    """Everyone who can log in, and a form to add someone."""
    return _users_page(request, session, pages)


@router.post("/admin/users", response_class=HTMLResponse)
def admin_add_user(
    request: Request,
    session: DbSession,
    pages: Pages,
    _user: AdminPageUser,
    email: Annotated[str, Form(max_length=320)],
    name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Add a user, then show the list again (post/redirect/get)."""
    try:
        user = accounts.create_user(
            session,
            email=email,
            name=name.strip() or email,
            role=role,
            password=password,
            locale=pages.settings.default_locale,
        )
    except InvalidInputError as exc:
        form = {"email": email, "name": name, "role": role}
        return _users_page(request, session, pages, error=str(exc), form=form, status_code=400)
    request.session["flash_user_created"] = user.email
    return RedirectResponse("/admin/users", status_code=303)


def _change_user(
    request: Request,
    session: DbSession,
    pages: Pages,
    user_id: int,
    change: Callable[[User], None],
) -> Response:
    """Apply one admin change to a user, then show the list again (post/redirect/get)."""
    try:
        user = accounts.get_user(session, user_id)
    except NotFoundError:
        return _not_found(request, pages)
    try:
        change(user)
    except accounts.LastAdminError:
        refused = FieldError(_LAST_ADMIN, {"email": user.email})
        return _users_page(request, session, pages, refused=refused, status_code=400)
    request.session[_FLASH_USER_CHANGED] = user.email
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/role", response_class=HTMLResponse)
def admin_set_role(
    request: Request,
    session: DbSession,
    pages: Pages,
    _user: AdminPageUser,
    user_id: int,
    role: Annotated[Role, Form()],
) -> Response:
    """Give a user another role; their sessions end, so the new role holds from the next page."""
    return _change_user(
        request, session, pages, user_id, lambda user: accounts.set_role(session, user, role)
    )


@router.post("/admin/users/{user_id}/active", response_class=HTMLResponse)
def admin_set_active(
    request: Request,
    session: DbSession,
    pages: Pages,
    _user: AdminPageUser,
    user_id: int,
    active: Annotated[bool, Form()],
) -> Response:
    """Deactivate a user (logged out at once, API tokens stop working) or let them back in."""
    return _change_user(
        request, session, pages, user_id, lambda user: accounts.set_active(session, user, active)
    )
