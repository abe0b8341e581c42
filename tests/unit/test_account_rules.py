"""The login throttle's arithmetic and the password rule, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mezame.accounts.rules import (
    MIN_PASSWORD_LENGTH,
    PER_CLIENT,
    PER_EMAIL,
    LoginLimit,
    normalise_email,
    password_problem,
    retry_at,
    wait_minutes,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_the_limits_are_five_per_email_and_twenty_per_client_in_fifteen_minutes() -> None:
    assert LoginLimit(failures=5, window=timedelta(minutes=15)) == PER_EMAIL
    assert LoginLimit(failures=20, window=timedelta(minutes=15)) == PER_CLIENT


def test_the_sixth_attempt_waits_until_the_oldest_failure_stops_counting() -> None:
    failures = [NOW - n * MINUTE for n in range(1, 6)]  # 1 to 5 minutes ago
    assert retry_at(failures[:4], PER_EMAIL, NOW) is None
    assert retry_at(failures, PER_EMAIL, NOW) == NOW - 5 * MINUTE + PER_EMAIL.window
    # Order does not matter, and failures beyond the newest five change nothing.
    older = [NOW - 6 * MINUTE, NOW - 7 * MINUTE]
    assert retry_at(failures[::-1] + older, PER_EMAIL, NOW) == NOW + 10 * MINUTE


def test_failures_older_than_the_window_do_not_count() -> None:
    failures = [NOW - PER_EMAIL.window] + [NOW - n * MINUTE for n in range(1, 5)]
    assert retry_at(failures, PER_EMAIL, NOW) is None  # exactly 15 minutes old: expired
    assert retry_at(failures, PER_EMAIL, NOW - timedelta(seconds=1)) is not None


def test_wait_minutes_rounds_up_and_is_never_zero() -> None:
    assert wait_minutes(NOW + timedelta(minutes=14, seconds=1), NOW) == 15
    assert wait_minutes(NOW + 10 * MINUTE, NOW) == 10
    assert wait_minutes(NOW + timedelta(seconds=1), NOW) == 1
    assert wait_minutes(NOW, NOW) == 1


def test_password_rule_and_email_form() -> None:
    assert password_problem("x" * MIN_PASSWORD_LENGTH) is None
    problem = password_problem("x" * (MIN_PASSWORD_LENGTH - 1))
    assert problem is not None and str(MIN_PASSWORD_LENGTH) in problem
    assert normalise_email("  Sato@Example.JP ") == "sato@example.jp"


limits = st.builds(
    LoginLimit,
    failures=st.integers(min_value=1, max_value=6),
    window=st.integers(min_value=1, max_value=30).map(lambda m: m * MINUTE),
)
# Attempt times as seconds after NOW (sorted: attempts happen one after another).
attempt_times = st.lists(st.integers(min_value=0, max_value=4 * 3600), max_size=60).map(sorted)


@given(limit=limits, seconds=attempt_times)
def test_never_more_than_the_limit_of_passwords_checked_in_any_window(
    limit: LoginLimit, seconds: list[int]
) -> None:
    """Every attempt fails (the worst case); refused ones are not recorded, as in the service."""
    checked: list[datetime] = []
    for offset in seconds:
        now = NOW + timedelta(seconds=offset)
        wait = retry_at(checked, limit, now)
        counting = [t for t in checked if t > now - limit.window]
        if wait is None:
            assert len(counting) < limit.failures  # admitted only below the limit
            checked.append(now)
        else:
            assert len(counting) >= limit.failures  # refused only at the limit
            assert wait > now
            assert retry_at(checked, limit, wait) is None  # and admitted again when told
    for i, start in enumerate(checked):
        in_window = [t for t in checked[i:] if t < start + limit.window]
        assert len(in_window) <= limit.failures
