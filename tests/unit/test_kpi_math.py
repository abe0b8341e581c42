"""The KPI arithmetic: definitions pinned on a worked example, invariants by hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mezame.campaigns.kpis import (
    ConversionGoal,
    EmailKpis,
    SendCounts,
    conversion_goal,
    format_rate,
    rate,
    window_days,
)


def test_a_worked_example() -> None:
    counts = SendCounts(
        sent=1000,
        bounced=40,
        opened=480,
        human_opened=300,
        opens=900,
        machine_opens=250,
        clicked=60,
        clicks=95,
        unsubscribed=6,
        converted=12,
    )
    k = EmailKpis(counts, has_goal=True)
    assert k.delivered == 960
    assert k.bounce_rate == 0.04
    assert k.open_rate == 300 / 960
    assert k.raw_open_rate == 480 / 960
    assert k.machine_only_opened == 180
    assert k.ctr == 60 / 960
    assert k.click_to_open == 60 / 300
    assert k.cvr == 12 / 960
    assert k.unsubscribe_rate == 6 / 960
    assert format_rate(k.bounce_rate) == "4.0%"
    assert format_rate(k.open_rate, digits=2) == "31.25%"


def test_nothing_sent_gives_no_rates_not_zero_percent() -> None:
    k = EmailKpis(SendCounts(), has_goal=True)
    assert all(value is None for value in k.rates().values())
    assert format_rate(k.open_rate) == "—"
    # Everything bounced: a bounce rate, but nothing to open or click.
    all_bounced = EmailKpis(SendCounts(sent=3, bounced=3), has_goal=True)
    assert all_bounced.bounce_rate == 1.0
    assert all_bounced.open_rate is None and all_bounced.ctr is None and all_bounced.cvr is None
    # Delivered but unopened: 0 % open rate, and click-to-open undefined.
    quiet = EmailKpis(SendCounts(sent=5), has_goal=True)
    assert quiet.open_rate == 0.0 and quiet.click_to_open is None


def test_without_a_goal_there_is_no_cvr() -> None:
    assert EmailKpis(SendCounts(sent=10), has_goal=False).cvr is None
    assert EmailKpis(SendCounts(sent=10), has_goal=True).cvr == 0.0


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"sent": -1}, "sent: -1 is negative"),
        ({"sent": 2, "bounced": 3}, "bounced: 3 exceeds sent (2)"),
        ({"sent": 2, "bounced": 1, "opened": 2, "opens": 2}, "opened: 2 exceeds delivered (1)"),
        (
            {"sent": 5, "opened": 1, "human_opened": 2, "opens": 2},
            "human_opened: 2 exceeds opened (1)",
        ),
        (
            {"sent": 5, "opened": 2, "human_opened": 1, "clicked": 2, "clicks": 2, "opens": 2},
            "clicked: 2 exceeds human_opened (1)",
        ),
        ({"sent": 5, "opens": 1, "machine_opens": 2}, "machine_opens: 2 exceeds opens (1)"),
        ({"sent": 5, "opened": 3, "opens": 2}, "opens: 2 is fewer than the mails opened (3)"),
        (
            {"sent": 5, "opened": 1, "human_opened": 1, "clicked": 1, "clicks": 0},
            "clicks: 0 is fewer than the clickers (1)",
        ),
        ({"sent": 1, "unsubscribed": 2}, "unsubscribed: 2 exceeds delivered (1)"),
        ({"sent": 1, "converted": 2}, "converted: 2 exceeds delivered (1)"),
    ],
)
def test_impossible_counts_are_refused_naming_the_field(
    counts: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SendCounts(**counts)


def test_goals_and_windows_are_checked() -> None:
    assert conversion_goal("deal") is ConversionGoal.DEAL
    with pytest.raises(ValueError, match="conversion goal: 'sale' is not one of reply"):
        conversion_goal("sale")
    assert window_days(14) == 14
    with pytest.raises(ValueError, match="conversion window: 0 days"):
        window_days(0)
    with pytest.raises(ValueError, match="conversion window: 366 days"):
        window_days(366)


@st.composite
def send_counts(draw: st.DrawFn) -> SendCounts:
    """Any consistent counts: each stage a subset of the one before."""
    sent = draw(st.integers(0, 10_000))
    bounced = draw(st.integers(0, sent))
    delivered = sent - bounced
    opened = draw(st.integers(0, delivered))
    human = draw(st.integers(0, opened))
    clicked = draw(st.integers(0, human))
    opens = draw(st.integers(max(0, opened - clicked), opened * 5 + 1))
    return SendCounts(
        sent=sent,
        bounced=bounced,
        opened=opened,
        human_opened=human,
        opens=opens,
        machine_opens=draw(st.integers(0, opens)),
        clicked=clicked,
        clicks=draw(st.integers(clicked, clicked * 4 + 1)),
        unsubscribed=draw(st.integers(0, delivered)),
        converted=draw(st.integers(0, delivered)),
    )


@given(send_counts(), st.booleans())
def test_every_rate_is_a_share_or_undefined(counts: SendCounts, has_goal: bool) -> None:
    k = EmailKpis(counts, has_goal)
    for name, value in k.rates().items():
        assert value is None or 0.0 <= value <= 1.0, (name, value)
    assert (k.cvr is None) == (not has_goal or k.delivered == 0)
    assert k.raw_open_rate is None or (k.open_rate is not None and k.open_rate <= k.raw_open_rate)


@given(send_counts())
def test_ctr_is_click_to_open_times_open_rate(counts: SendCounts) -> None:
    k = EmailKpis(counts, has_goal=True)
    if k.click_to_open is None:
        # Nobody opened: nobody clicked either, so CTR is 0 or undefined.
        assert k.ctr in (None, 0.0)
    else:
        assert k.open_rate is not None and k.ctr is not None
        assert k.ctr == pytest.approx(k.click_to_open * k.open_rate)


@given(send_counts(), st.integers(1, 100))
def test_more_clickers_never_lower_ctr_and_more_bounces_never_lower_the_bounce_rate(
    counts: SendCounts, extra: int
) -> None:
    before = EmailKpis(counts, has_goal=True)
    # One more delivered mail that was opened and clicked by a person.
    clicked_more = SendCounts(sent=1, opened=1, human_opened=1, opens=1, clicked=1, clicks=1)
    after = EmailKpis(counts + clicked_more, has_goal=True)
    assert after.ctr is not None and (before.ctr is None or after.ctr >= before.ctr)
    assert after.open_rate is not None and (
        before.open_rate is None or after.open_rate >= before.open_rate
    )
    bounced_more = EmailKpis(counts + SendCounts(sent=extra, bounced=extra), has_goal=True)
    assert bounced_more.bounce_rate is not None
    assert before.bounce_rate is None or bounced_more.bounce_rate >= before.bounce_rate
    # Bounces take nothing from the delivered mails' rates.
    assert bounced_more.open_rate == before.open_rate and bounced_more.ctr == before.ctr


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_rate_is_none_only_without_a_denominator(part: int, whole: int) -> None:
    value = rate(part, whole)
    assert (value is None) == (whole == 0)
    if value is not None:
        assert value == part / whole
