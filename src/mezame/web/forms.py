"""What the form pages share: a problem with one field, shown beside it in the user's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    message: str  # English msgid, translated by the template
    params: dict[str, Any] = field(default_factory=dict)
