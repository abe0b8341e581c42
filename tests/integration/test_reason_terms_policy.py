"""The reason terms are a policy: the shipped file until the team saves its own version."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mezame.dormancy.reasons import ReasonTerms, classify_reasons, default_terms
from mezame.policy.service import load_policy, save_policy
from mezame.vocabulary import LostReason


def test_saved_terms_replace_the_shipped_ones(session: Session) -> None:
    assert load_policy(session, ReasonTerms) == default_terms()
    rules = default_terms().reasons
    timing = rules[LostReason.TIMING]
    edited = ReasonTerms(
        reasons={
            **rules,
            LostReason.TIMING: timing.model_copy(update={"terms": {**timing.terms, "決算後": 3.0}}),
        }
    )
    save_policy(session, edited)
    session.commit()
    loaded = load_policy(session, ReasonTerms)
    assert loaded == edited
    assert classify_reasons(["決算後にまた"], loaded)[0].reason is LostReason.TIMING
    assert classify_reasons(["決算後にまた"])[0].reason is LostReason.UNKNOWN
