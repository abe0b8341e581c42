"""Email KPIs of campaigns, read from the send log in a few GROUP BYs.

Tracking and bounce intake keep each send row current (first open, human open, open and
click counts, bounce and unsubscribe times), so the figures come from campaign_sends
alone; only conversions look further, at the goal events of each recipient after their
mail (engagement_events by (contact_id, occurred_at)) or at deals opened for them.
The per-step and per-day figures are one scan grouped by (step, day), summed here over
a few hundred groups at most; the rates are campaigns.kpis.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import Session

from mezame.campaigns.kpis import (
    GOAL_EVENTS,
    ConversionGoal,
    EmailKpis,
    SendCounts,
    conversion_goal,
    window_days,
)
from mezame.campaigns.service import get_campaign
from mezame.errors import InvalidInputError
from mezame.models import Campaign, CampaignSend, CampaignStep, Contact, Deal, EngagementEvent

TOKYO = ZoneInfo("Asia/Tokyo")
S = CampaignSend


@dataclass(frozen=True)
class StepStats:
    position: int
    subject: str
    kpis: EmailKpis


@dataclass(frozen=True)
class DayStats:
    """One calendar day (in the business time zone): the mails sent that day and their fate,
    plus the recipients who first opened (as a person) or first clicked that day."""

    day: date
    kpis: EmailKpis
    first_opens: int
    first_clicks: int


@dataclass(frozen=True)
class CampaignStats:
    campaign_id: int
    name: str
    kind: str
    status: str
    goal: ConversionGoal
    window_days: int
    total: EmailKpis
    steps: list[StepStats]
    daily: list[DayStats]


@dataclass(frozen=True)
class CampaignSummary:
    """A row of the campaign list."""

    campaign_id: int
    name: str
    kind: str
    status: str
    goal: ConversionGoal
    created_at: datetime
    kpis: EmailKpis


def set_conversion_goal(
    session: Session, *, campaign_id: int, goal: str, days: int | None = None
) -> Campaign:
    """What counts as the campaign's conversion, and for how many days after each mail."""
    campaign = get_campaign(session, campaign_id)
    try:
        campaign.conversion_goal = conversion_goal(goal).value
        if days is not None:
            campaign.conversion_window_days = window_days(days)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
    session.flush()
    return campaign


# ---------------------------------------------------------------------------------------------
# SQL pieces: SQLite and PostgreSQL spell dates and intervals differently.


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _local_day(session: Session, column: Any, tz: ZoneInfo) -> ColumnElement[Any]:
    """The calendar day of a UTC timestamp in `tz`."""
    if _is_postgres(session):
        return cast(func.timezone(tz.key, column), Date)
    # SQLite stores naive UTC; a fixed offset is exact for zones without summer time (Japan).
    offset = tz.utcoffset(datetime.now(UTC).replace(tzinfo=None))
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return func.date(column, f"{minutes:+d} minutes")


def _plus_days(session: Session, column: Any, days: Any) -> ColumnElement[Any]:
    """A UTC timestamp `days` later (`days` a number or an integer column)."""
    if _is_postgres(session):
        return column + days * literal_column("interval '1 day'")  # type: ignore[no-any-return]
    # Same text layout as stored values (microseconds), so string comparison orders them.
    moved = func.strftime("%Y-%m-%d %H:%M:%f", column, func.printf("%+d days", days))
    return moved.concat("000")


def _local_day_plus(session: Session, column: Any, days: Any, tz: ZoneInfo) -> ColumnElement[Any]:
    day = _local_day(session, column, tz)
    if _is_postgres(session):
        return day + days  # type: ignore[no-any-return]
    return func.date(day, func.printf("%+d days", days))


_SENT = or_(S.sent_at.is_not(None), S.bounced_at.is_not(None))
_DELIVERED = and_(S.sent_at.is_not(None), S.bounced_at.is_(None))


def _day_bucket(session: Session, column: Any, tz: ZoneInfo) -> ColumnElement[Any]:
    """A grouping key from which `_bucket_day` gives the calendar day in `tz`.

    PostgreSQL converts the time zone itself. On SQLite the key is the stored UTC hour
    ('2026-11-02 01'): a date() call per row costs more than the rest of the aggregate,
    and hours convert exactly, summer time included, for zones offset by whole hours.
    """
    if _is_postgres(session):
        return _local_day(session, column, tz)
    return func.substr(column, 1, 13)


def _bucket_day(value: Any, tz: ZoneInfo) -> date | None:
    if value is None or isinstance(value, date):
        return value
    hour = datetime.strptime(str(value), "%Y-%m-%d %H").replace(tzinfo=UTC)
    return hour.astimezone(tz).date()


def _converted(
    session: Session,
    goal: ConversionGoal,
    days: Any,
    tz: ZoneInfo,
    *where: Any,
    per_campaign: bool = False,
) -> Any:
    """The delivered sends (matching `where`) whose contact reached `goal` within `days`
    after the mail: a subquery of (id, campaign_id, step_id, sent_at), each send once.

    Joined from the goal events (or deals) to the sends and counted apart from the other
    figures, so the main scan stays a plain aggregate; `per_campaign`: `days` is the
    campaigns' own window column.
    """
    sends = select(S.id, S.campaign_id, S.step_id, S.sent_at)
    if per_campaign:
        sends = sends.join(Campaign, Campaign.id == S.campaign_id)
    if goal is ConversionGoal.DEAL:
        # Deals carry a day, not a moment: one opened on the mail's day counts.
        in_window = and_(
            Deal.opened_on >= _local_day(session, S.sent_at, tz),
            Deal.opened_on <= _local_day_plus(session, S.sent_at, days, tz),
        )
        by_contact = sends.join(Deal, and_(Deal.contact_id == S.contact_id, in_window))
        by_company = sends.join(Contact, Contact.id == S.contact_id).join(
            Deal, and_(Deal.company_id == Contact.company_id, in_window)
        )
        return union(by_contact.where(_DELIVERED, *where), by_company.where(_DELIVERED, *where))
    # The goal events first, then the sends of each event's contact (by index): goal events
    # are few next to the mails, so this beats the planners' default of probing the events
    # once per send (SQLite) or scanning every send to merge (PostgreSQL).
    goal_events = (
        select(EngagementEvent.contact_id, EngagementEvent.occurred_at)
        .where(EngagementEvent.type.in_([t.value for t in GOAL_EVENTS[goal]]))
        .cte(f"goal_events_{goal.value}")
        .prefix_with("MATERIALIZED")
    )
    conditions = (
        S.contact_id == goal_events.c.contact_id,
        goal_events.c.occurred_at >= S.sent_at,
        goal_events.c.occurred_at < _plus_days(session, S.sent_at, days),
        _DELIVERED,
        *where,
    )
    if _is_postgres(session):
        # OFFSET 0 keeps the planner from flattening the lateral back into a merge join.
        hits = sends.where(*conditions).offset(0).lateral()
        return select(hits).select_from(goal_events).join(hits, true()).distinct()
    # SQLite has no LATERAL, but walks a materialised CTE first by itself.
    return sends.where(*conditions).distinct()


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def _sum(column: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((_DELIVERED, column), else_=0)), 0)


def _count_columns() -> list[ColumnElement[int]]:
    """The SendCounts fields but conversions, as aggregates over campaign_sends (see kpis)."""
    clicked = S.clicked_at.is_not(None)
    return [
        _count(_SENT).label("sent"),
        _count(S.bounced_at.is_not(None)).label("bounced"),
        _count(and_(_DELIVERED, or_(S.opened_at.is_not(None), clicked))).label("opened"),
        _count(and_(_DELIVERED, or_(S.human_opened_at.is_not(None), clicked))).label(
            "human_opened"
        ),
        _sum(S.opens).label("opens"),
        _sum(S.machine_opens).label("machine_opens"),
        _count(and_(_DELIVERED, clicked)).label("clicked"),
        _sum(S.clicks).label("clicks"),
        _count(and_(_DELIVERED, S.unsubscribed_at.is_not(None))).label("unsubscribed"),
    ]


_FIELDS = (
    "sent",
    "bounced",
    "opened",
    "human_opened",
    "opens",
    "machine_opens",
    "clicked",
    "clicks",
    "unsubscribed",
)


def _counts(row: Any, converted: int) -> SendCounts:
    return SendCounts(**{name: int(getattr(row, name)) for name in _FIELDS}, converted=converted)


# ---------------------------------------------------------------------------------------------


def campaign_kpis(session: Session, campaign_id: int, *, tz: ZoneInfo = TOKYO) -> CampaignStats:
    """Totals, per step and per day of sending (days in `tz`) of one campaign."""
    campaign = get_campaign(session, campaign_id)
    goal = conversion_goal(campaign.conversion_goal)
    has_goal = goal is not ConversionGoal.NONE
    mine = S.campaign_id == campaign_id
    conversions: dict[tuple[int, date | None], int] = {}
    if has_goal:
        won = _converted(session, goal, campaign.conversion_window_days, tz, mine).subquery()
        won_day = _day_bucket(session, won.c.sent_at, tz)
        for step_id, day_value, n in session.execute(
            select(won.c.step_id, won_day, func.count()).group_by(won.c.step_id, won_day)
        ):
            key = (step_id, _bucket_day(day_value, tz))
            conversions[key] = conversions.get(key, 0) + int(n)
    day = _day_bucket(session, S.sent_at, tz).label("day")
    query = select(S.step_id, day, *_count_columns()).where(mine).group_by(S.step_id, day)
    cells: dict[tuple[int, date | None], SendCounts] = defaultdict(SendCounts)
    for row in session.execute(query):
        cells[(row.step_id, _bucket_day(row.day, tz))] += _counts(row, 0)
    by_step: dict[int, SendCounts] = defaultdict(SendCounts)
    by_day: dict[date, SendCounts] = defaultdict(SendCounts)
    for (step_id, sent_day), cell in cells.items():
        counts = replace(cell, converted=conversions.get((step_id, sent_day), 0))
        by_step[step_id] += counts
        if sent_day is not None:
            by_day[sent_day] += counts
    opens, clicks = _first_engagement_by_day(session, campaign_id, tz)
    steps = session.execute(
        select(CampaignStep.id, CampaignStep.position, CampaignStep.subject)
        .where(CampaignStep.campaign_id == campaign_id)
        .order_by(CampaignStep.position)
    ).all()
    total = sum(by_step.values(), SendCounts())
    return CampaignStats(
        campaign_id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        status=campaign.status,
        goal=goal,
        window_days=campaign.conversion_window_days,
        total=EmailKpis(total, has_goal),
        steps=[
            StepStats(position, subject, EmailKpis(by_step.get(step_id, SendCounts()), has_goal))
            for step_id, position, subject in steps
        ],
        daily=[
            DayStats(
                day=d,
                kpis=EmailKpis(by_day.get(d, SendCounts()), has_goal),
                first_opens=opens.get(d, 0),
                first_clicks=clicks.get(d, 0),
            )
            for d in sorted(set(by_day) | set(opens) | set(clicks))
        ],
    )


def _first_engagement_by_day(
    session: Session, campaign_id: int, tz: ZoneInfo
) -> tuple[dict[date, int], dict[date, int]]:
    """Recipients by the day they first opened (as a person) and first clicked: one scan
    grouped by both days (a few hundred groups at most), split here."""
    opened = _day_bucket(session, S.human_opened_at, tz).label("opened")
    clicked = _day_bucket(session, S.clicked_at, tz).label("clicked")
    rows = session.execute(
        select(opened, clicked, func.count().label("n"))
        .where(
            S.campaign_id == campaign_id,
            _DELIVERED,
            or_(S.human_opened_at.is_not(None), S.clicked_at.is_not(None)),
        )
        .group_by(opened, clicked)
    )
    opens: dict[date, int] = defaultdict(int)
    clicks: dict[date, int] = defaultdict(int)
    for open_day, click_day, n in rows:
        if (day := _bucket_day(open_day, tz)) is not None:
            opens[day] += int(n)
        if (day := _bucket_day(click_day, tz)) is not None:
            clicks[day] += int(n)
    return dict(opens), dict(clicks)


def kpi_overview(
    session: Session, *, limit: int = 200, tz: ZoneInfo = TOKYO
) -> list[CampaignSummary]:
    """The newest `limit` campaigns with their KPIs: one GROUP BY over their sends, and one
    small query per conversion goal in use."""
    campaigns = session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)).all()
    if not campaigns:
        return []
    by_goal: dict[ConversionGoal, list[int]] = defaultdict(list)
    for c in campaigns:
        by_goal[conversion_goal(c.conversion_goal)].append(c.id)
    converted: dict[int, int] = {}
    for goal, members in by_goal.items():
        if goal is ConversionGoal.NONE:
            continue
        won = _converted(
            session,
            goal,
            Campaign.conversion_window_days,
            tz,
            S.campaign_id.in_(members),
            per_campaign=True,
        ).subquery()
        converted.update(
            (campaign_id, int(n))
            for campaign_id, n in session.execute(
                select(won.c.campaign_id, func.count()).group_by(won.c.campaign_id)
            )
        )
    rows = session.execute(
        select(S.campaign_id, *_count_columns())
        .where(S.campaign_id.in_([c.id for c in campaigns]))
        .group_by(S.campaign_id)
    )
    counts = {row.campaign_id: _counts(row, converted.get(row.campaign_id, 0)) for row in rows}
    return [_summary(c, counts.get(c.id, SendCounts())) for c in campaigns]


def _summary(campaign: Campaign, counts: SendCounts) -> CampaignSummary:
    goal = conversion_goal(campaign.conversion_goal)
    return CampaignSummary(
        campaign_id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        status=campaign.status,
        goal=goal,
        created_at=campaign.created_at,
        kpis=EmailKpis(counts, goal is not ConversionGoal.NONE),
    )
