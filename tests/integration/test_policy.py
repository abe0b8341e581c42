"""Business policies: defaults until saved, saved values round-trip, stale values fail clearly."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from mezame.errors import InvalidInputError
from mezame.models import PolicySetting
from mezame.policy.service import load_policy, save_policy


class ExamplePolicy(BaseModel):
    policy_key: ClassVar[str] = "example"
    months: int = Field(default=12, ge=1)
    kinds: list[str] = Field(default_factory=lambda: ["former_customer"])


def test_defaults_until_saved_then_saved_value(session: Session) -> None:
    assert load_policy(session, ExamplePolicy) == ExamplePolicy()
    save_policy(session, ExamplePolicy(months=6, kinds=["lost_deal"]))
    save_policy(session, ExamplePolicy(months=9, kinds=["lost_deal"]))
    session.commit()
    assert load_policy(session, ExamplePolicy) == ExamplePolicy(months=9, kinds=["lost_deal"])
    assert session.query(PolicySetting).count() == 1


def test_invalid_saved_value_names_the_policy(session: Session) -> None:
    session.add(PolicySetting(key="example", value={"months": 0}))
    session.flush()
    with pytest.raises(InvalidInputError, match="'example'"):
        load_policy(session, ExamplePolicy)
