"""The contact policy's pure rules: send windows (JST, weekends, holidays, 年末年始), the
per-contact restraint decision, recurrences and sequence steps files."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mezame.cadence import (
    CadencePolicy,
    RestraintFacts,
    japanese_holiday_name,
    restraint_reason,
)
from mezame.campaigns.kinds import Branch, Recurrence, WaitEvent, parse_steps

JST = ZoneInfo("Asia/Tokyo")
POLICY = CadencePolicy()


def jst(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=JST)  # type: ignore[misc]


def test_labour_thanksgiving_day_is_a_holiday_and_closed() -> None:
    assert japanese_holiday_name(date(2026, 11, 23)) == "勤労感謝の日"
    assert japanese_holiday_name(date(2026, 11, 24)) is None
    assert POLICY.day_closed(date(2026, 11, 23)) == "public holiday"
    assert not POLICY.is_send_time(jst(2026, 11, 23, 10, 0))
    assert POLICY.model_copy(update={"holidays_off": False}).is_send_time(jst(2026, 11, 23, 10))


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (jst(2026, 11, 24, 7, 59, 59), False),
        (jst(2026, 11, 24, 8, 0), True),  # quiet hours end at 08:00 sharp
        (jst(2026, 11, 24, 19, 59, 59), True),
        (jst(2026, 11, 24, 20, 0), False),  # and start at 20:00 sharp
        (jst(2026, 11, 24, 23, 30), False),
        (jst(2026, 11, 25, 0, 30), False),
        (jst(2026, 11, 21, 10, 0), False),  # Saturday
        (jst(2026, 11, 22, 10, 0), False),  # Sunday
        (jst(2026, 12, 29, 10, 0), False),  # 年末年始
        (jst(2027, 1, 3, 10, 0), False),
        (jst(2027, 1, 4, 10, 0), True),
    ],
)
def test_send_windows(moment: datetime, allowed: bool) -> None:
    assert POLICY.is_send_time(moment) is allowed
    # The same instant in UTC is judged the same: windows are local to the policy's zone.
    assert POLICY.is_send_time(moment.astimezone(UTC)) is allowed


def test_weekends_can_be_allowed() -> None:
    assert CadencePolicy(weekends_off=False).is_send_time(jst(2026, 11, 21, 10, 0))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # the holiday evening → Tuesday 08:00
        (jst(2026, 11, 23, 22, 0), jst(2026, 11, 24, 8, 0)),
        # Friday after hours → past the weekend and the Monday holiday
        (jst(2026, 11, 20, 20, 30), jst(2026, 11, 24, 8, 0)),
        # early morning → the same day at 08:00
        (jst(2026, 11, 24, 6, 15), jst(2026, 11, 24, 8, 0)),
        # inside the window → unchanged
        (jst(2026, 11, 24, 13, 7, 5), jst(2026, 11, 24, 13, 7, 5)),
        # 年末年始 → the first working day of 2027
        (jst(2026, 12, 28, 21, 0), jst(2027, 1, 4, 8, 0)),
    ],
)
def test_next_send_time(moment: datetime, expected: datetime) -> None:
    found = POLICY.next_send_time(moment.astimezone(UTC))
    assert found == expected
    assert found.tzinfo is UTC  # in the caller's zone


def test_a_daytime_quiet_span_splits_the_day() -> None:
    lunch = CadencePolicy(quiet_from=time(12), quiet_until=time(13))
    assert lunch.is_send_time(jst(2026, 11, 24, 11, 59))
    assert not lunch.is_send_time(jst(2026, 11, 24, 12, 30))
    assert lunch.is_send_time(jst(2026, 11, 24, 23, 0))
    assert lunch.next_send_time(jst(2026, 11, 24, 12, 30)) == jst(2026, 11, 24, 13, 0)


def test_no_quiet_hours() -> None:
    open_all_day = CadencePolicy(quiet_from=None, quiet_until=None)
    assert open_all_day.is_send_time(jst(2026, 11, 24, 3, 0))
    assert not open_all_day.is_send_time(jst(2026, 11, 23, 3, 0))  # still a holiday
    assert CadencePolicy.always_open().is_send_time(jst(2026, 11, 23, 3, 0))


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"quiet_from": "20:00", "quiet_until": None}, "quiet_from and quiet_until"),
        ({"quiet_from": "08:00", "quiet_until": "08:00"}, "never allow sending"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"cap_mails": 0}, "cap_mails"),
    ],
)
def test_bad_policies_are_refused_with_the_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        CadencePolicy.model_validate(values)


whole_minutes = st.times().map(lambda t: t.replace(second=0, microsecond=0))
quiet_spans = st.one_of(
    st.just((None, None)),
    st.tuples(whole_minutes, whole_minutes).filter(lambda span: span[0] != span[1]),
)
policies = st.builds(
    lambda span, weekends, holidays, year_end: CadencePolicy(
        quiet_from=span[0],
        quiet_until=span[1],
        weekends_off=weekends,
        holidays_off=holidays,
        year_end_off=year_end,
    ),
    quiet_spans,
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=300)
@given(
    policy=policies,
    moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
)
def test_next_send_time_is_the_first_open_instant(policy: CadencePolicy, moment: datetime) -> None:
    found = policy.next_send_time(moment)
    assert found >= moment
    assert policy.is_send_time(found)
    if found > moment:
        # Nothing open just before it (windows open on whole minutes here).
        assert not policy.is_send_time(max(moment, found - timedelta(seconds=1)))


NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 10:00 JST


def _facts(**values: object) -> RestraintFacts:
    base: dict[str, object] = {
        "cadence": "monthly",
        "first_mail": True,
        "last_other_mail": None,
        "mails_in_window": 0,
    }
    base.update(values)
    return RestraintFacts(**base)  # type: ignore[arg-type]


def test_a_first_mail_waits_for_the_cadence_interval() -> None:
    recent = NOW - timedelta(days=POLICY.monthly_interval_days - 1)
    assert (
        restraint_reason(POLICY, _facts(last_other_mail=recent), at=NOW)
        == "cadence: last mail 2026年10月31日 (monthly)"
    )
    old_enough = NOW - timedelta(days=POLICY.monthly_interval_days)
    assert restraint_reason(POLICY, _facts(last_other_mail=old_enough), at=NOW) is None
    # Seasonal contacts wait about three months.
    two_months = NOW - timedelta(days=60)
    assert restraint_reason(
        POLICY, _facts(cadence="seasonal", last_other_mail=two_months), at=NOW
    ) == ("cadence: last mail 2026年9月25日 (seasonal)")


def test_a_follow_up_skips_the_interval_but_not_the_cap() -> None:
    yesterday = NOW - timedelta(days=1)
    assert (
        restraint_reason(POLICY, _facts(first_mail=False, last_other_mail=yesterday), at=NOW)
        is None
    )
    assert (
        restraint_reason(POLICY, _facts(first_mail=False, mails_in_window=4), at=NOW)
        == "cap: 4 mails in 30 days"
    )
    assert restraint_reason(POLICY, _facts(first_mail=False, mails_in_window=3), at=NOW) is None


def test_recurrence_runs_monthly_and_only_the_latest_is_due() -> None:
    monthly = Recurrence.parse("monthly:1@09:00")
    assert monthly.occurrence(2026, 12) == jst(2026, 12, 1, 9, 0)
    start = jst(2026, 11, 1)
    assert monthly.latest_due(jst(2026, 12, 1, 8, 59), since=start) == (
        "2026-11",
        jst(2026, 11, 1, 9, 0),
    )
    assert monthly.latest_due(jst(2027, 2, 15), since=start) == ("2027-02", jst(2027, 2, 1, 9))
    # Nothing before the recurring campaign was scheduled.
    assert monthly.latest_due(jst(2026, 11, 20), since=jst(2026, 11, 10)) is None


@pytest.mark.parametrize("text", ["weekly:1", "monthly:31@09:00", "monthly:x", "monthly:1@25:00"])
def test_bad_recurrences_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="recurrence"):
        Recurrence.parse(text)


def test_a_steps_file_reads_waits_and_branches() -> None:
    steps = parse_steps(
        """
- subject: "{{ contact.name }}様 資料のご案内"
  html: "<p>本文</p>"
- subject: "詳しい資料をお送りしますか?"
  html_file: followup.html
  wait_days: 2
  wait_until: clicked
  branch: opened
- subject: "リマインド"
  html: "<p>念のため</p>"
  wait_days: 7
  branch: not_clicked
  then_seasonal: true
"""
    )
    assert [s.branch for s in steps] == [Branch.ALWAYS, Branch.OPENED, Branch.NOT_CLICKED]
    assert steps[1].wait_until is WaitEvent.CLICKED and steps[1].html_file == "followup.html"
    assert steps[2].then_seasonal and steps[2].wait_days == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- subject: a\n  html: b\n- subject: c\n  html: d\n  branch: maybe", "step 2: branch"),
        ("- subject: a\n  html: b\n  wait_days: 3", "step 1: the first mail has no wait"),
        ("- subject: a", "step 1: .*needs html"),
        ("- subject: a\n  html: b\n  colour: red", "step 1: colour"),
        ("subject: a", "expected a list"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_a_bad_steps_file_names_the_step_and_field(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_steps(text)


def test_check_steps_names_every_problem_of_every_step() -> None:
    """The rules the web form's step rows go through (the steps file's, one source)."""
    from mezame.campaigns.kinds import StepsInvalid, check_steps

    good = check_steps([{"template_id": "4"}, {"template_id": 5, "wait_days": "2"}])
    assert [s.template_id for s in good] == [4, 5] and good[1].wait_days == 2
    with pytest.raises(StepsInvalid) as caught:
        check_steps(
            [
                {"template_id": 1, "branch": "opened"},
                {"template_id": 2, "wait_days": -1, "wait_until": "replied"},
                {"subject": "リマインド", "wait_days": 3},
            ]
        )
    found = {(p.step, p.field, p.kind) for p in caught.value.problems}
    assert found == {
        (1, "", "first_step"),
        (2, "wait_days", "greater_than_equal"),
        (2, "wait_until", "enum"),
        (3, "", "value_error"),
    }
