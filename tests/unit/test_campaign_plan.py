"""A new campaign's plan (pure): which fields go together, inline steps, and the next run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mezame.campaigns.kinds import Recurrence, StepsInvalid, next_run_at
from mezame.campaigns.plan import (
    CampaignPlan,
    MailSource,
    check_plan,
    check_written_steps,
    read_plan,
)
from mezame.errors import InvalidInputError


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        ({"template_id": 3}, MailSource.TEMPLATE),
        ({"subject": "s", "html": "<p>x</p>"}, MailSource.INLINE),
        ({"subject": "s", "html": "<p>x</p>", "text": "x"}, MailSource.INLINE),
        ({"kind": "sequence", "steps": [{"template_id": 3}]}, MailSource.STEPS),
        ({"kind": "recurring", "template_id": 3, "recurrence": {"day": 1}}, MailSource.TEMPLATE),
    ],
)
def test_one_source_of_mail_is_accepted(fields: dict[str, Any], source: MailSource) -> None:
    assert check_plan(CampaignPlan(name="n", **fields)) == source


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, "mail: choose a template"),
        ({"template_id": 3, "subject": "s"}, "not several (template_id, subject)"),
        ({"template_id": 3, "steps": [{"template_id": 3}]}, "(template_id, steps)"),
        ({"text": "only text"}, "subject: empty"),
        ({"subject": "s", "html": "  "}, "html: empty"),
        ({"steps": []}, "steps: a sequence needs at least one mail"),
        ({"kind": "recurring", "template_id": 3}, "recurrence: a recurring campaign needs"),
        ({"template_id": 3, "recurrence": {"day": 1}}, "recurrence: only a recurring campaign"),
    ],
)
def test_fields_that_disagree_are_named(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidInputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        check_plan(CampaignPlan(name="n", **fields))


def test_read_plan_names_each_bad_field() -> None:
    with pytest.raises(InvalidInputError) as caught:
        read_plan({"name": "n", "kind": "weekly", "goal": "sale", "window_days": 0})
    message = str(caught.value)
    assert "kind: Input should be 'one_off'" in message
    assert "goal: Input should be" in message and "window_days:" in message


def test_written_steps_never_name_a_file_and_keep_every_problem() -> None:
    with pytest.raises(StepsInvalid) as caught:
        check_written_steps(
            [
                {"subject": "s", "html_file": "/etc/passwd"},
                {"template_id": 1, "wait_days": "-1"},
            ]
        )
    found = [(p.step, p.field, p.kind) for p in caught.value.problems]
    assert found == [(1, "html_file", "extra_forbidden"), (2, "wait_days", "greater_than_equal")]
    specs = check_written_steps([{"template_id": 1}, {"subject": "s", "html": "h", "wait_days": 2}])
    assert [s.wait_days for s in specs] == [0, 2]


def test_the_next_monthly_run_is_at_or_after_the_moment_in_japan_time() -> None:
    first = Recurrence(day=1, hour=9)
    # 1 December 09:00 JST is 00:00 UTC; a minute later the next is 1 January.
    assert first.next_at(datetime(2026, 12, 1, 0, 0, tzinfo=UTC)) == datetime(
        2026, 12, 1, 0, 0, tzinfo=UTC
    )
    assert first.next_at(datetime(2026, 12, 1, 0, 1, tzinfo=UTC)) == datetime(
        2027, 1, 1, 0, 0, tzinfo=UTC
    )
    # 30 November 20:00 UTC is already 1 December 05:00 in Tokyo: today's run is still ahead.
    assert first.next_at(datetime(2026, 11, 30, 20, 0, tzinfo=UTC)) == datetime(
        2026, 12, 1, 0, 0, tzinfo=UTC
    )


def test_only_a_scheduled_campaign_has_a_next_run() -> None:
    now = datetime(2026, 11, 10, tzinfo=UTC)
    start = datetime(2026, 12, 20, tzinfo=UTC)
    monthly = Recurrence(day=1)
    assert (
        next_run_at(
            kind="one_off", status="scheduled", scheduled_at=start, recurrence=None, now=now
        )
        == start
    )
    # A recurring campaign runs from its start on: the first occurrence after it.
    assert next_run_at(
        kind="recurring", status="scheduled", scheduled_at=start, recurrence=monthly, now=now
    ) == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert next_run_at(
        kind="recurring", status="scheduled", scheduled_at=now, recurrence=monthly, now=now
    ) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    for status in ("draft", "sending", "paused", "stopped", "finished"):
        assert (
            next_run_at(kind="one_off", status=status, scheduled_at=start, recurrence=None, now=now)
            is None
        )
