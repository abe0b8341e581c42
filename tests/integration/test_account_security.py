"""Login throttling, revocable sessions and user management, on every backend and via the CLI."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.accounts import service as accounts
from mezame.accounts.rules import KEEP_ATTEMPTS, PER_CLIENT, PER_EMAIL
from mezame.cli import app
from mezame.config import get_settings
from mezame.db import alembic_config, migrate
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import LoginAttempt, User
from tests.account_helpers import cheap_hashing

PASSWORD = "correct-horse-battery"
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
IP = "192.0.2.10"


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_hashing(monkeypatch)


def _user(session: Session, email: str = "sato@example.jp", role: str = "marketing") -> User:
    return accounts.create_user(session, email=email, name="佐藤", role=role, password=PASSWORD)


def _try(
    session: Session,
    password: str,
    *,
    at: datetime = NOW,
    email: str = "sato@example.jp",
    ip: str = IP,
) -> accounts.PasswordCheck:
    check = accounts.log_in(session, email=email, password=password, client_ip=ip, now=at)
    session.commit()  # what the web shell does after each login
    return check


def _failures(session: Session, **key: str) -> int:
    query = select(func.count()).select_from(LoginAttempt).filter_by(succeeded=False, **key)
    return session.scalar(query) or 0


# --- throttling -----------------------------------------------------------------------


def test_the_sixth_attempt_is_refused_before_the_password_is_checked(session: Session) -> None:
    _user(session)
    session.commit()
    for n in range(PER_EMAIL.failures):
        check = _try(session, "wrong-password", at=NOW + n * timedelta(minutes=1))
        assert check.user is None and check.retry_at is None  # checked and wrong
    refused = _try(session, PASSWORD, at=NOW + timedelta(minutes=5), email=" SATO@example.jp")
    assert refused.user is None
    assert refused.retry_at == NOW + PER_EMAIL.window  # the first failure stops counting then
    assert _failures(session, email="sato@example.jp") == PER_EMAIL.failures  # not recorded
    assert _try(session, PASSWORD, at=NOW + PER_EMAIL.window).user is not None


def test_an_unknown_email_is_throttled_exactly_like_a_real_one(session: Session) -> None:
    _user(session)
    session.commit()
    outcomes = {}
    for email in ("sato@example.jp", "nobody@example.jp"):
        for _ in range(PER_EMAIL.failures):
            _try(session, "wrong-password", email=email, ip=email)
        outcomes[email] = _try(session, PASSWORD, email=email, ip=email)
    assert outcomes["sato@example.jp"] == outcomes["nobody@example.jp"]
    assert outcomes["nobody@example.jp"].retry_at == NOW + PER_EMAIL.window


def test_one_client_guessing_at_many_accounts_is_refused_after_twenty(session: Session) -> None:
    _user(session)
    session.commit()
    for n in range(PER_CLIENT.failures):
        assert _try(session, "guess", email=f"u{n}@example.jp").retry_at is None
    assert _try(session, PASSWORD).retry_at == NOW + PER_CLIENT.window
    assert _try(session, PASSWORD, ip="198.51.100.7").user is not None  # another client


def test_a_successful_login_clears_that_emails_failures_only(session: Session) -> None:
    _user(session)
    _user(session, "tanaka@example.jp")
    session.commit()
    for _ in range(PER_EMAIL.failures - 1):
        _try(session, "wrong-password")
        _try(session, "wrong-password", email="tanaka@example.jp", ip="198.51.100.7")
    assert _try(session, PASSWORD).user is not None
    assert _failures(session, email="sato@example.jp") == 0
    assert _failures(session, email="tanaka@example.jp") == PER_EMAIL.failures - 1
    assert session.scalar(select(func.count()).select_from(LoginAttempt).filter_by(succeeded=True))
    # The count starts again: five more wrong passwords are checked before a refusal.
    for _ in range(PER_EMAIL.failures):
        assert _try(session, "wrong-password").retry_at is None
    assert _try(session, PASSWORD).retry_at is not None


def test_attempts_older_than_a_day_are_pruned_when_one_is_recorded(session: Session) -> None:
    old = NOW - KEEP_ATTEMPTS - timedelta(seconds=1)
    session.add_all(
        [
            LoginAttempt(email="a@example.jp", client_ip=IP, attempted_at=old, succeeded=False),
            LoginAttempt(email="b@example.jp", client_ip=IP, attempted_at=NOW, succeeded=False),
        ]
    )
    session.commit()
    _try(session, "wrong-password", at=NOW + timedelta(seconds=1))
    kept = session.scalars(select(LoginAttempt.email).order_by(LoginAttempt.id)).all()
    assert kept == ["b@example.jp", "sato@example.jp"]


def test_parallel_guesses_cannot_pass_the_limit_together(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt is visible to the others before any of them counts."""
    with Session(engine) as s:
        for _ in range(PER_EMAIL.failures - 1):
            _try(s, "wrong-password")
    checked: list[str] = []

    def slow_wrong_password(_session: Session, *, email: str, password: str) -> None:
        checked.append(password)
        time.sleep(0.2)  # argon2 takes about this long

    monkeypatch.setattr(accounts, "authenticate", slow_wrong_password)
    start = threading.Barrier(6)

    def guess(n: int) -> None:
        with Session(engine) as s:
            start.wait()
            _try(s, f"guess-{n}", at=NOW + timedelta(seconds=1))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) <= 1


# --- sessions -------------------------------------------------------------------------


def _cookie(user: User) -> dict[str, object]:
    return {"user_id": user.id, "epoch": user.session_epoch}


def test_session_epoch_starts_at_zero_and_any_revocation_ends_old_cookies(
    session: Session,
) -> None:
    admin = _user(session, "admin@example.jp", role="admin")
    user = _user(session)
    session.commit()
    assert user.session_epoch == 0
    changes = [
        lambda: accounts.set_password(session, user, "another-password"),
        lambda: accounts.set_role(session, user, "sales"),
        lambda: accounts.set_active(session, user, False),
        lambda: accounts.set_active(session, user, True),
        lambda: accounts.log_out_everywhere(session, user),
    ]
    for change in changes:
        before = _cookie(user)
        change()
        session.commit()
        assert accounts.user_for_session(session, **_cookie(user)) is (
            user if user.is_active else None
        )
        assert accounts.user_for_session(session, **before) is None
    accounts.set_role(session, user, "sales")  # no change: nobody is logged out
    accounts.set_active(session, user, True)
    assert user.session_epoch == len(changes)
    assert accounts.user_for_session(session, **_cookie(admin)) is admin
    assert accounts.user_for_session(session, user_id=admin.id, epoch=None) is None
    assert accounts.user_for_session(session, user_id="1", epoch=0) is None


def test_a_password_change_needs_the_current_password_and_ends_other_sessions(
    session: Session,
) -> None:
    user = _user(session)
    session.commit()
    old_cookie = _cookie(user)

    def change(current: str) -> accounts.PasswordCheck:
        check = accounts.change_own_password(
            session,
            user_id=user.id,
            current_password=current,
            new_password="a-brand-new-password",
            client_ip=IP,
            now=NOW,
        )
        session.commit()
        return check

    assert change("wrong-password").user is None
    assert accounts.user_for_session(session, **old_cookie) is user  # nothing changed
    assert _failures(session, email="sato@example.jp") == 1  # counted like a login
    assert change(PASSWORD).user is user
    assert accounts.user_for_session(session, **old_cookie) is None
    assert accounts.authenticate(session, email=user.email, password="a-brand-new-password")
    with pytest.raises(InvalidInputError, match="at least"):
        accounts.change_own_password(
            session,
            user_id=user.id,
            current_password="a-brand-new-password",
            new_password="short",
            client_ip=IP,
        )


def test_a_stolen_session_cannot_guess_the_current_password_forever(session: Session) -> None:
    user = _user(session)
    session.commit()
    outcomes = [
        accounts.change_own_password(
            session,
            user_id=user.id,
            current_password=guess,
            new_password="attacker-password",
            client_ip=IP,
            now=NOW,
        )
        for guess in [f"guess-{n}" for n in range(PER_EMAIL.failures)] + [PASSWORD]
    ]
    assert outcomes[-1].user is None and outcomes[-1].retry_at is not None
    assert accounts.authenticate(session, email=user.email, password=PASSWORD)


# --- user management ------------------------------------------------------------------


def test_the_last_active_admin_stays_an_active_admin(session: Session) -> None:
    admin = _user(session, "admin@example.jp", role="admin")
    session.commit()
    with pytest.raises(accounts.LastAdminError, match="last active admin"):
        accounts.set_active(session, admin, False)
    with pytest.raises(accounts.LastAdminError, match="last active admin"):
        accounts.set_role(session, admin, "marketing")
    other = _user(session, "second@example.jp", role="admin")
    accounts.set_role(session, admin, "marketing")  # another admin remains
    with pytest.raises(accounts.LastAdminError):
        accounts.set_active(session, other, False)
    assert other.is_active and other.role == "admin"


def test_unknown_users_and_roles_say_what_is_wrong(session: Session) -> None:
    user = _user(session)
    with pytest.raises(NotFoundError, match=r"no user with email nobody@example\.jp"):
        accounts.user_by_email(session, "Nobody@example.jp")
    with pytest.raises(NotFoundError, match="no user with id 999"):
        accounts.get_user(session, 999)
    with pytest.raises(InvalidInputError, match="role 'boss' is not one of"):
        accounts.set_role(session, user, "boss")
    assert accounts.user_by_email(session, " SATO@example.jp") is user


def test_migration_downgrades_and_upgrades_again(engine: Engine) -> None:
    def schema() -> tuple[bool, bool]:
        with engine.connect() as conn:
            found = inspect(conn)
            columns = {c["name"] for c in found.get_columns("users")}
            return "login_attempts" in found.get_table_names(), "session_epoch" in columns

    command.downgrade(alembic_config(engine), "0010")
    try:
        assert schema() == (False, False)
    finally:
        migrate(engine)
    assert schema() == (True, True)


# --- CLI ------------------------------------------------------------------------------


@pytest.fixture
def cli_database(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MEZAME_DATABASE_URL", f"sqlite:///{sqlite_engine.url.database}")
    get_settings.cache_clear()
    yield sqlite_engine
    get_settings.cache_clear()


def test_cli_lists_users_with_japanese_dates(cli_database: Engine) -> None:
    with Session(cli_database) as s:
        _user(s, "admin@example.jp", role="admin")
        user = _user(s)
        user.last_login_at = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 11/23 01:30 in Tokyo
        user.name = "佐藤 一郎"
        s.commit()
    result = CliRunner().invoke(app, ["user", "list"])
    assert result.exit_code == 0, result.output
    line = next(row for row in result.output.splitlines() if "sato@example.jp" in row)
    assert "佐藤 一郎" in line and "marketing" in line and "有効" in line
    assert "2026年11月23日" in line
    admin_line = next(row for row in result.output.splitlines() if "admin@example.jp" in row)
    assert "—" in admin_line  # never logged in


def test_cli_manages_a_user_and_refuses_unknown_emails(cli_database: Engine) -> None:
    with Session(cli_database) as s:
        _user(s, "admin@example.jp", role="admin")
        _user(s)
        s.commit()
    runner = CliRunner()
    new = "new-password-123"
    changed = runner.invoke(app, ["user", "password", "Sato@example.jp"], input=f"{new}\n{new}\n")
    assert changed.exit_code == 0, changed.output
    assert "Repeat for confirmation" in changed.output and new not in changed.output
    short = runner.invoke(app, ["user", "password", "sato@example.jp", "--password", "short"])
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    assert runner.invoke(app, ["user", "role", "sato@example.jp", "sales"]).exit_code == 0
    assert runner.invoke(app, ["user", "role", "sato@example.jp", "boss"]).exit_code == 2
    assert runner.invoke(app, ["user", "deactivate", "sato@example.jp"]).exit_code == 0
    with Session(cli_database) as s:
        user = accounts.user_by_email(s, "sato@example.jp")
        assert (user.role, user.is_active, user.session_epoch) == ("sales", False, 3)
        assert accounts.authenticate(s, email=user.email, password=new) is None  # inactive
    assert runner.invoke(app, ["user", "activate", "sato@example.jp"]).exit_code == 0
    with Session(cli_database) as s:
        assert accounts.authenticate(s, email="sato@example.jp", password=new)
    last_admin = runner.invoke(app, ["user", "deactivate", "admin@example.jp"])
    assert last_admin.exit_code == 2 and "last active admin" in last_admin.output
    for args in (["password"], ["deactivate"], ["activate"], ["role"]):
        extra = ["sales"] if args == ["role"] else []
        unknown = runner.invoke(app, ["user", *args, "nobody@example.jp", *extra])
        assert unknown.exit_code == 2, args
        assert "no user with email nobody@example.jp" in unknown.output
