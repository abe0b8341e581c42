"""Request-scoped dependencies: the session (the request owns the commit) and who is asking."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from mezame.accounts.service import user_for_session, user_for_token
from mezame.models import User
from mezame.vocabulary import Role

# The login cookie's copy of users.session_epoch: a different one means "logged out everywhere".
SESSION_EPOCH = "session_epoch"


def get_db(request: Request) -> Iterator[Session]:
    """A session per request: committed when the handler returns, rolled back if it raises."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


DbSession = Annotated[Session, Depends(get_db)]


def current_user(request: Request, session: DbSession) -> User:
    """The user behind a bearer token or the login cookie; 401 otherwise."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = user_for_token(session, auth[7:].strip())
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API token")
        request.state.via_token = True
        return user
    if "user_id" in request.session:
        user = user_for_session(
            session,
            user_id=request.session["user_id"],
            epoch=request.session.get(SESSION_EPOCH),
        )
        if user is not None:
            request.state.via_token = False
            return user
        request.session.clear()
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "login required",
        headers={"WWW-Authenticate": "Bearer"},
    )


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that admits only the given roles (admin is always admitted)."""
    allowed = {r.value for r in roles} | {Role.ADMIN.value}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {user.role} may not do this (needs {', '.join(sorted(allowed))})",
            )
        return user

    return check


AnyUser = Annotated[User, Depends(require_roles(Role.MARKETING, Role.SALES))]
MarketingUser = Annotated[User, Depends(require_roles(Role.MARKETING))]
SalesUser = Annotated[User, Depends(require_roles(Role.SALES))]
AdminUser = Annotated[User, Depends(require_roles())]
