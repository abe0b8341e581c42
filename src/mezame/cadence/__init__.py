"""Cadence and restraint: the contact policy (pure rules) and its SQL (cadence.service)."""

from mezame.cadence.rules import (
    Cadence,
    CadencePolicy,
    RestraintFacts,
    japanese_date,
    japanese_holiday_name,
    restraint_reason,
)

__all__ = [
    "Cadence",
    "CadencePolicy",
    "RestraintFacts",
    "japanese_date",
    "japanese_holiday_name",
    "restraint_reason",
]
