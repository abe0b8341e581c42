"""Load and save business policies.

A policy is a pydantic model defined next to the domain code that uses it, with a class
attribute `policy_key`; its defaults are the product's defaults, and the saved row only
records what the team changed. Settings in config.py are infrastructure; these are business.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from mezame.errors import InvalidInputError
from mezame.models.policy import PolicySetting

P = TypeVar("P", bound=BaseModel)


def _key(policy_type: type[BaseModel]) -> str:
    key = getattr(policy_type, "policy_key", None)
    if not isinstance(key, str):
        raise TypeError(f"{policy_type.__name__} needs a `policy_key: ClassVar[str]`")
    return key


def load_policy(session: Session, policy_type: type[P]) -> P:
    """The saved policy, or the defaults when the team never changed it."""
    key = _key(policy_type)
    row = session.get(PolicySetting, key)
    if row is None:
        return policy_type()
    try:
        return policy_type.model_validate(row.value)
    except ValidationError as exc:
        raise InvalidInputError(f"saved policy {key!r} is no longer valid: {exc}") from exc


def save_policy(session: Session, policy: BaseModel, *, user_id: int | None = None) -> None:
    """Store the whole policy (validated by its model) as the new current value."""
    key = _key(type(policy))
    value = policy.model_dump(mode="json")
    row = session.get(PolicySetting, key)
    if row is None:
        session.add(PolicySetting(key=key, value=value, updated_by_id=user_id))
    else:
        row.value = value
        row.updated_by_id = user_id
    session.flush()
