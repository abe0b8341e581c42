"""What the contact-policy page and `mezame cadence set` share, on SQLite and PostgreSQL:
changing some fields keeps the rest, a refused change saves nothing, the last change is
remembered with its author, and contacts are counted per cadence."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.cadence import CadencePolicy
from mezame.cadence.service import cadence_counts, set_cadence
from mezame.errors import InvalidInputError
from mezame.models import Contact
from mezame.policy.service import last_change, load_policy, update_policy
from tests.mail_helpers import add_contacts


def test_update_policy_changes_some_fields_and_keeps_the_rest(session: Session) -> None:
    assert last_change(session, CadencePolicy) is None
    user = create_user(
        session, email="m@example.jp", name="マーケ", role="marketing", password="x" * 12
    )
    update_policy(session, CadencePolicy, {"cap_mails": "2"}, user_id=user.id)
    update_policy(session, CadencePolicy, {"quiet_from": "21:00"}, user_id=user.id)
    session.commit()
    policy = load_policy(session, CadencePolicy)
    assert policy.cap_mails == 2 and policy.quiet_from == time(21)
    assert policy.monthly_interval_days == 25 and policy.quiet_until == time(8)
    change = last_change(session, CadencePolicy)
    assert change is not None and change.by == "マーケ"
    assert abs((change.at - datetime.now(UTC)).total_seconds()) < 60


def test_a_refused_change_saves_nothing(session: Session) -> None:
    with pytest.raises(ValidationError) as refused:
        update_policy(session, CadencePolicy, {"cap_mails": 0, "quiet_until": None}, user_id=None)
    assert [e["loc"] for e in refused.value.errors()] == [("cap_mails",)]
    with pytest.raises(ValidationError, match="give both, or neither") as pair:
        update_policy(session, CadencePolicy, {"quiet_until": None}, user_id=None)
    assert pair.value.errors()[0]["type"] == "quiet_hours_pair"
    with pytest.raises(InvalidInputError, match="colour"):
        update_policy(session, CadencePolicy, {"colour": "red"}, user_id=None)
    assert last_change(session, CadencePolicy) is None
    assert load_policy(session, CadencePolicy) == CadencePolicy()


def test_contacts_are_counted_per_cadence_without_merged_ones(session: Session) -> None:
    assert cadence_counts(session) == {"monthly": 0, "seasonal": 0}
    ids = add_contacts(session, 5)
    set_cadence(session, contacts=ids[:3], cadence="seasonal", at=datetime.now(UTC))
    session.execute(update(Contact).where(Contact.id == ids[0]).values(merged_into_id=ids[4]))
    assert cadence_counts(session) == {"monthly": 2, "seasonal": 2}
