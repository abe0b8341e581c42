"""The built-in templates shipped with mezame: builtin/index.yaml and the HTML beside it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml  # type: ignore[import-untyped]

from mezame.templates.types import MessageType, Requirement


@dataclass(frozen=True, slots=True)
class BuiltinTemplate:
    name: str
    message_type: MessageType
    subject: str
    html: str
    requires: Requirement | None


@cache
def builtin_templates() -> tuple[BuiltinTemplate, ...]:
    """Every built-in template, in the index's order (read once per process)."""
    folder = files("mezame.templates") / "builtin"
    index = yaml.safe_load((folder / "index.yaml").read_text(encoding="utf-8"))
    out = []
    for entry in index:
        requires = entry.get("requires")
        out.append(
            BuiltinTemplate(
                name=entry["name"],
                message_type=MessageType(entry["message_type"]),
                subject=entry["subject"],
                html=(folder / entry["file"]).read_text(encoding="utf-8"),
                requires=Requirement(requires) if requires else None,
            )
        )
    return tuple(out)
