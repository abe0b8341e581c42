"""Users and their roles, passwords, login throttling, revocable sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, false, func, select, update
from sqlalchemy.orm import Session

from mezame.accounts.rules import (
    KEEP_ATTEMPTS,
    PER_CLIENT,
    PER_EMAIL,
    LoginLimit,
    normalise_email,
    password_problem,
    retry_at,
)
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import ApiToken, LoginAttempt, User, utcnow
from mezame.vocabulary import Role

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps login timing the same either way.
_DUMMY_HASH = _hasher.hash("mezame-timing-equaliser")
TOKEN_PREFIX = "mzm_"  # noqa: S105 (a marker, not a secret)


class LastAdminError(InvalidInputError):
    """The change would leave nobody able to administer mezame."""


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of a throttled password check."""

    user: User | None  # whose password it was; None: wrong email or password, or refused
    retry_at: datetime | None = None  # set when refused for too many failures: nothing checked


def create_user(
    session: Session, *, email: str, name: str, role: Role | str, password: str, locale: str = "ja"
) -> User:
    """Add a user; the password is stored only as an argon2id hash."""
    email = normalise_email(email)
    if "@" not in email:
        raise InvalidInputError(f"email {email!r} is not an email address")
    role = _role(role)
    if problem := password_problem(password):
        raise InvalidInputError(problem)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InvalidInputError(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name,
        role=role.value,
        password_hash=_hasher.hash(password),
        locale=locale,
    )
    session.add(user)
    session.flush()
    return user


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"role {role!r} is not one of {allowed}") from None


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (unthrottled: see log_in)."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.is_active:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- login throttling -------------------------------------------------------------------


def log_in(
    session: Session, *, email: str, password: str, client_ip: str, now: datetime | None = None
) -> PasswordCheck:
    """A login through the throttle (PER_EMAIL, PER_CLIENT); commits the attempt first."""
    return _throttled(
        session,
        email=normalise_email(email),
        client_ip=client_ip,
        now=now or utcnow(),
        check=lambda: authenticate(session, email=email, password=password),
    )


def change_own_password(
    session: Session,
    *,
    user_id: int,
    current_password: str,
    new_password: str,
    client_ip: str,
    now: datetime | None = None,
) -> PasswordCheck:
    """Replace a user's password if the current one is right; every other session ends.

    The current password is checked through the login throttle: a stolen session must not
    become a way to guess it. Commits the attempt first, like log_in.
    """
    if problem := password_problem(new_password):
        raise InvalidInputError(f"new password: {problem}")
    user = get_user(session, user_id)

    def check() -> User | None:
        return user if user.is_active and _verify(user.password_hash, current_password) else None

    outcome = _throttled(
        session, email=user.email, client_ip=client_ip, now=now or utcnow(), check=check
    )
    if outcome.user is not None:
        set_password(session, outcome.user, new_password)
    return outcome


def _throttled(
    session: Session,
    *,
    email: str,
    client_ip: str,
    now: datetime,
    check: Callable[[], User | None],
) -> PasswordCheck:
    attempt = LoginAttempt(email=email, client_ip=client_ip, attempted_at=now, succeeded=False)
    session.add(attempt)
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - KEEP_ATTEMPTS))
    # A checkpoint, like the sender's: the attempt counts as a failure until it succeeds, and
    # must be visible to concurrent logins before this one counts. Otherwise a burst of
    # parallel guesses would all see the same old count and all be checked.
    session.commit()
    waits = [
        _retry_at(session, LoginAttempt.email == email, PER_EMAIL, now, attempt.id),
        _retry_at(session, LoginAttempt.client_ip == client_ip, PER_CLIENT, now, attempt.id),
    ]
    if refused := [w for w in waits if w is not None]:
        # Refused attempts check nothing, so they are no failures and do not extend the wait.
        session.delete(attempt)
        return PasswordCheck(user=None, retry_at=max(refused))
    user = check()
    if user is not None:
        attempt.succeeded = True
        session.execute(
            delete(LoginAttempt).where(
                LoginAttempt.email == email,
                LoginAttempt.succeeded == false(),
                LoginAttempt.id != attempt.id,
            )
        )
    return PasswordCheck(user=user)


def _retry_at(
    session: Session,
    key: ColumnElement[bool],
    limit: LoginLimit,
    now: datetime,
    attempt_id: int,
) -> datetime | None:
    """When this key may try again: its newest failures (at most the limit) decide."""
    failures = session.scalars(
        select(LoginAttempt.attempted_at)
        .where(
            key,
            LoginAttempt.succeeded == false(),
            LoginAttempt.attempted_at > now - limit.window,
            LoginAttempt.id != attempt_id,
        )
        .order_by(LoginAttempt.attempted_at.desc())
        .limit(limit.failures)
    ).all()
    return retry_at(failures, limit, now)


# --- sessions ---------------------------------------------------------------------------


def user_for_session(session: Session, *, user_id: object, epoch: object) -> User | None:
    """The active user a login cookie names, if the cookie is newer than their last revocation."""
    if not isinstance(user_id, int) or not isinstance(epoch, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.session_epoch != epoch:
        return None
    return user


def log_out_everywhere(session: Session, user: User) -> None:
    """End every session of this user, on every device (the current one included)."""
    # Raised in SQL: two revocations at once must not both write the same new epoch.
    user.session_epoch = User.session_epoch + 1
    session.flush()


# --- user management --------------------------------------------------------------------


def list_users(session: Session) -> Sequence[User]:
    """Everyone who has an account, active or not, in the order they were added."""
    return session.scalars(select(User).order_by(User.id)).all()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFoundError(f"no user with email {normalise_email(email)}")
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give the user a new password; every session they had ends."""
    if problem := password_problem(password):
        raise InvalidInputError(problem)
    user.password_hash = _hasher.hash(password)
    log_out_everywhere(session, user)


def set_active(session: Session, user: User, active: bool) -> None:
    """Let the user log in again, or stop them at once (their sessions end, tokens stop)."""
    if user.is_active == active:
        return
    if not active:
        _keep_an_admin(session, user)
    user.is_active = active
    log_out_everywhere(session, user)


def set_role(session: Session, user: User, role: Role | str) -> None:
    """Change what the user may do; they log in again under the new role."""
    new_role = _role(role)
    if user.role == new_role.value:
        return
    _keep_an_admin(session, user)
    user.role = new_role.value
    log_out_everywhere(session, user)


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to take the last active admin away (nobody could manage users any more)."""
    if user.role != Role.ADMIN.value or not user.is_active:
        return
    others = session.scalar(
        select(func.count(User.id)).where(
            User.role == Role.ADMIN.value, User.is_active, User.id != user.id
        )
    )
    if not others:
        raise LastAdminError(
            f"{user.email} is the last active admin: make another user admin first"
        )


# --- API tokens -------------------------------------------------------------------------


def _token_digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough and lookups stay O(1).
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, *, user_id: int, name: str) -> str:
    """Issue a bearer token for an integration; the plaintext is shown once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user_id, name=name, token_hash=_token_digest(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user behind an unrevoked token, else None."""
    row = session.execute(
        select(ApiToken.id, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _token_digest(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.User.is_active:
        return None
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
    return row.User


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0
