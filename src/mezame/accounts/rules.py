"""The account rules in plain data: what a password must be, and when a login may be tried.

Brute force is slowed per email address (one account guessed at) and per client address (one
machine guessing at many accounts). A refused attempt checks no password, so at most
`failures` passwords are ever verified per key in any window, and the refusal looks the same
whether or not the account exists.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class LoginLimit:
    """At most `failures` failed logins per key in any `window`; further attempts wait."""

    failures: int
    window: timedelta


PER_EMAIL = LoginLimit(failures=5, window=timedelta(minutes=15))
PER_CLIENT = LoginLimit(failures=20, window=timedelta(minutes=15))
# Attempts older than this count toward nothing; they are deleted as new ones are recorded.
KEEP_ATTEMPTS = timedelta(days=1)


def normalise_email(email: str) -> str:
    """The form every stored and compared login email takes."""
    return email.strip().lower()


def password_problem(password: str) -> str | None:
    """Why a new password cannot be used (English, with the rule), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    return None


def retry_at(failures: Sequence[datetime], limit: LoginLimit, now: datetime) -> datetime | None:
    """When one key may try again, given its failed attempts (any order); None: now.

    A failure counts for `limit.window` after it happened. The key is refused while
    `limit.failures` of them count, until the newest `limit.failures`-th one stops counting.
    """
    counting = sorted((t for t in failures if t > now - limit.window), reverse=True)
    if len(counting) < limit.failures:
        return None
    return counting[limit.failures - 1] + limit.window


def wait_minutes(until: datetime, now: datetime) -> int:
    """Whole minutes until `until`, rounded up and at least 1: what a refusal tells the user."""
    return max(1, math.ceil((until - now).total_seconds() / 60))
