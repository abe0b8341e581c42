"""Load and save business policies.

A policy is a pydantic model defined next to the domain code that uses it, with a class
attribute `policy_key`; its defaults are the product's defaults, and the saved row only
records what the team changed. Settings in config.py are infrastructure; these are business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from mezame.errors import InvalidInputError
from mezame.models import User
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


def update_policy(
    session: Session, policy_type: type[P], changes: Mapping[str, object], *, user_id: int | None
) -> P:
    """Change some fields of the saved policy (the rest keeps its value) and save it.

    The model validates the whole result: a pydantic ValidationError (nothing saved) names
    each field that is wrong, for the CLI and the web form to show in their own words.
    """
    unknown = sorted(set(changes) - set(policy_type.model_fields))
    if unknown:
        raise InvalidInputError(f"{_key(policy_type)}: unknown field(s) {', '.join(unknown)}")
    current = load_policy(session, policy_type).model_dump(mode="json")
    policy = policy_type.model_validate({**current, **changes})
    save_policy(session, policy, user_id=user_id)
    return policy


@dataclass(frozen=True)
class PolicyChange:
    """When the saved policy last changed, and by whom (None: a CLI or a deleted user)."""

    at: datetime
    by: str | None


def last_change(session: Session, policy_type: type[BaseModel]) -> PolicyChange | None:
    """The saved row's last change; None while the defaults apply."""
    row = session.get(PolicySetting, _key(policy_type))
    if row is None:
        return None
    user = session.get(User, row.updated_by_id) if row.updated_by_id is not None else None
    return PolicyChange(at=row.updated_at, by=user.name if user is not None else None)
