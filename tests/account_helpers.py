"""Shared pieces of the account tests: argon2 at test strength, so logins cost microseconds."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from mezame.accounts import service as accounts


def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with the smallest parameters: the same code paths, a thousandth of the cost.

    Production verifies at ~0.15 s a password; the throttle tests verify dozens.
    """
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", hasher.hash("mezame-timing-equaliser"))
