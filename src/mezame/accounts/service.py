"""Create users, check passwords, issue and resolve API tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mezame.errors import InvalidInputError
from mezame.models import ApiToken, User, utcnow
from mezame.vocabulary import Role

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps login timing the same either way.
_DUMMY_HASH = _hasher.hash("mezame-timing-equaliser")
TOKEN_PREFIX = "mzm_"  # noqa: S105 (a marker, not a secret)
MIN_PASSWORD_LENGTH = 10


def create_user(
    session: Session, *, email: str, name: str, role: Role | str, password: str, locale: str = "ja"
) -> User:
    """Add a user; the password is stored only as an argon2id hash."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInputError(f"email {email!r} is not an email address")
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"role {role!r} is not one of {allowed}") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
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


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, else None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
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
