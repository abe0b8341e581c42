"""Users, argon2 passwords and API tokens, on every backend, and through the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mezame.accounts import service as accounts
from mezame.cli import app
from mezame.config import get_settings
from mezame.errors import InvalidInputError
from mezame.models import ApiToken, User, utcnow


def test_password_is_stored_as_argon2id_and_checked(session: Session) -> None:
    accounts.create_user(
        session, email="Sato@Example.JP", name="佐藤", role="marketing", password="correct horse"
    )
    user = session.scalar(select(User))
    assert user is not None
    assert user.email == "sato@example.jp"
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert accounts.authenticate(session, email="sato@example.jp", password="correct horse")
    assert accounts.authenticate(session, email="sato@example.jp", password="wrong horse!") is None
    assert accounts.authenticate(session, email="nobody@example.jp", password="x" * 12) is None


@pytest.mark.parametrize(
    ("email", "role", "password", "message"),
    [
        ("not-an-email", "sales", "long enough pw", "not an email"),
        ("a@example.jp", "boss", "long enough pw", "role"),
        ("a@example.jp", "sales", "short", "at least"),
    ],
)
def test_bad_user_input_says_what_is_wrong(
    session: Session, email: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        accounts.create_user(session, email=email, name="x", role=role, password=password)


def test_duplicate_user_is_refused(session: Session) -> None:
    accounts.create_user(session, email="a@example.jp", name="a", role="sales", password="p" * 10)
    with pytest.raises(InvalidInputError, match="already exists"):
        accounts.create_user(
            session, email="A@example.jp", name="b", role="sales", password="p" * 10
        )


def test_inactive_user_cannot_log_in(session: Session) -> None:
    user = accounts.create_user(
        session, email="a@example.jp", name="a", role="sales", password="p" * 10
    )
    user.is_active = False
    assert accounts.authenticate(session, email="a@example.jp", password="p" * 10) is None


def test_api_token_resolves_until_revoked(session: Session) -> None:
    user = accounts.create_user(
        session, email="crm@example.jp", name="CRM", role="marketing", password="p" * 10
    )
    token = accounts.create_api_token(session, user_id=user.id, name="Salesforce")
    assert token.startswith(accounts.TOKEN_PREFIX)
    stored = session.scalar(select(ApiToken))
    assert stored is not None and token not in stored.token_hash
    resolved = accounts.user_for_token(session, token)
    assert resolved is not None and resolved.id == user.id
    assert accounts.user_for_token(session, token + "x") is None
    stored.revoked_at = utcnow()
    assert accounts.user_for_token(session, token) is None


def test_cli_user_add_creates_a_user_who_can_log_in(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEZAME_DATABASE_URL", f"sqlite:///{sqlite_engine.url.database}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            ["user", "add", "tanaka@example.jp", "--role", "sales", "--name", "田中"],
            input="s3cret-password\ns3cret-password\n",
        )
        assert result.exit_code == 0, result.output
        bad = CliRunner().invoke(
            app, ["user", "add", "x@example.jp", "--role", "sales", "--password", "short"]
        )
        assert bad.exit_code == 2
        assert "at least" in bad.output
    finally:
        get_settings.cache_clear()
    with Session(sqlite_engine) as s:
        assert accounts.authenticate(s, email="tanaka@example.jp", password="s3cret-password")
