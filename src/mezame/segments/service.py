"""Segments: save, compile to SQL, count and preview; and the contact tags they filter by.

A definition compiles into one SQL condition on contacts. Every (field, operator) pair
maps to code here; user values are only ever bound parameters. Conditions over other
tables are uncorrelated `IN (SELECT …)` subqueries, which SQLite and PostgreSQL both
evaluate once (a hashed or ephemeral set) instead of once per contact. Each positive
condition is written so it is never NULL, which makes `NOT` (the negative operators,
"not in segment") exact.

Shape for speed at a million contacts (benchmarks/segment_count.py), none of it changing
what a definition means:
- The company rules of one group that share a sign read one company row, so they become
  one company subquery (`all` of two of them is `company_id IN (SELECT id FROM companies
  WHERE a AND b)`), one set to build and one probe per contact instead of two.
- Within a group, conditions on the contact's own columns come first and subqueries last,
  so a contact that fails a plain comparison is never looked up in a set.
- SQLite cannot know how many companies an `IN (SELECT …)` yields and always drives the
  query through ix_contacts_company_id from it: a random row read per contact, slower than
  reading the whole table once the set holds a quarter of the companies. So on SQLite a
  company set that large (judged from a sample of the companies first) is written
  `+company_id IN …`, which keeps the index out of it.
- "Not merged" is written for each planner (see `_not_merged`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import Grouping, UnaryExpression

from mezame.campaigns.status import CampaignStatus
from mezame.compliance.service import MailableRules, mailable_rules, normalised_email
from mezame.errors import InvalidInputError, NotFoundError
from mezame.ingest.service import dialect_insert
from mezame.models import (
    Campaign,
    Company,
    ConsentRecord,
    Contact,
    ContactTag,
    DormantCustomer,
    Segment,
)
from mezame.segments.filters import (
    FIELDS,
    MAX_TAG,
    NEGATIONS,
    DefinitionError,
    FieldType,
    Group,
    Op,
    Rule,
    find_cycle,
    parse_definition,
    referenced_segments,
)
from mezame.vocabulary import ConsentBasis

Condition = ColumnElement[bool]


@dataclass
class Context:
    """What a definition is evaluated against: the day, who asks, and the saved segments."""

    as_of: date
    user_id: int | None
    mailable: Callable[[], MailableRules]
    # Loads a saved segment's definition by id (raises NotFoundError).
    load_segment: Callable[[int], Group]
    # PostgreSQL: a negated membership as NOT EXISTS (an anti-join at any size), because its
    # NOT IN over a subquery too big for work_mem rescans the subquery for every contact; a
    # plain one as IN (a hashed semi-join). SQLite: always IN (SELECT …), built once into an
    # ephemeral index instead of an index probe per contact.
    correlated: bool = False
    # Inside an odd number of NOTs: the condition being compiled will be negated.
    negating: bool = False
    # Segments being expanded right now: a reference back into one is a cycle.
    expanding: list[int] = field(default_factory=list)
    # SQLite: whether the companies meeting a condition are too many to drive the query
    # from ix_contacts_company_id (see the module docstring). None elsewhere.
    broad_companies: Callable[[Condition], bool] | None = None


def _member(
    ctx: Context, outer: Any, inner: Any, *conditions: Condition, negated: bool = False
) -> Condition:
    """True when some row with inner == outer meets `conditions` (never NULL)."""
    if ctx.correlated and ctx.negating != negated:
        return exists().where(inner == outer, *conditions)
    return and_(outer.is_not(None), outer.in_(select(inner).where(inner.is_not(None), *conditions)))


def _not(condition: Condition) -> Condition:
    """NOT, with NOT NOT x written as x: PostgreSQL turns `x IN (subquery)` into a hashed
    semi-join, but under two NOTs it probes the subquery row by row (minutes at 1M rows)."""
    if isinstance(condition, UnaryExpression) and condition.operator is operators.inv:
        inner = condition.element
        return inner.element if isinstance(inner, Grouping) else inner  # type: ignore[return-value]
    return not_(condition)


@dataclass(frozen=True)
class _CompanyRules:
    """Company rules of one group with the same sign: they all read the contact's company."""

    rules: tuple[Rule, ...]
    negated: bool


_Unit = Rule | Group | _CompanyRules


def _units(group: Group) -> list[_Unit]:
    """The group's items with its company rules bundled by sign, cheapest first."""
    units: list[_Unit] = []
    company: dict[bool, list[Rule]] = {False: [], True: []}
    for item in group.rules:
        if isinstance(item, Rule) and item.field in _COMPANY_COLUMNS:
            company[item.op in NEGATIONS].append(item)
        else:
            units.append(item)
    for negated, rules in company.items():
        if len(rules) == 1:
            units.append(rules[0])
        elif rules:
            units.append(_CompanyRules(tuple(rules), negated))
    return sorted(units, key=_cost)  # stable: equal costs keep the order they were given


def _cost(unit: _Unit) -> int:
    """0: a comparison on the contact's own row; 1: needs a subquery (or may)."""
    if isinstance(unit, Group):
        return max((_cost(item) for item in unit.rules), default=0)
    if isinstance(unit, Rule):
        return 0 if unit.field in _ROW_FIELDS else 1
    return 1


def _compile_unit(unit: _Unit, match: str, ctx: Context) -> Condition:
    if isinstance(unit, Group):
        return compile_group(unit, ctx)
    if isinstance(unit, Rule):
        return compile_rule(unit, ctx)
    if not unit.negated:
        tests = [_company_test(r.field, r.op, r.value, ctx) for r in unit.rules]
        return _company(ctx, and_(*tests) if match == "all" else or_(*tests))
    # NOT a AND NOT b = NOT (a OR b), NOT a OR NOT b = NOT (a AND b): one company row.
    ctx.negating = not ctx.negating
    try:
        tests = [_company_test(r.field, NEGATIONS[r.op], r.value, ctx) for r in unit.rules]
        return _not(_company(ctx, or_(*tests) if match == "all" else and_(*tests)))
    finally:
        ctx.negating = not ctx.negating


def compile_group(group: Group, ctx: Context) -> Condition:
    parts = [_compile_unit(unit, group.match, ctx) for unit in _units(group)]
    if not parts:
        # An empty "all" is everyone, an empty "any" no one (as in logic).
        return true() if group.match == "all" else false()
    if len(parts) == 1:
        return parts[0]
    return and_(*parts) if group.match == "all" else or_(*parts)


def compile_rule(rule: Rule, ctx: Context) -> Condition:
    positive = NEGATIONS.get(rule.op)
    if positive is None:
        return _positive(rule.field, rule.op, rule.value, ctx)
    ctx.negating = not ctx.negating
    try:
        return _not(_positive(rule.field, positive, rule.value, ctx))
    finally:
        ctx.negating = not ctx.negating


def _day(as_of: date, days: int) -> date:
    return as_of - timedelta(days=days)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _compare(column: Any, op: Op, value: Any, ctx: Context, *, text: bool = False) -> Condition:
    """A non-NULL condition on one nullable column (lower-cased matching for text search)."""
    present = column.is_not(None)
    if op == Op.IS_NOT_EMPTY:
        return and_(present, func.trim(column) != "") if text else present
    if op == Op.EQ:
        test = column == value
    elif op == Op.IN:
        test = column.in_(value)
    elif op == Op.CONTAINS:
        test = func.lower(column).contains(value.lower(), autoescape=True)
    elif op == Op.STARTS_WITH:
        test = func.lower(column).startswith(value.lower(), autoescape=True)
    elif op == Op.GT:
        test = column > value
    elif op == Op.GTE:
        test = column >= value
    elif op == Op.LT:
        test = column < value
    elif op == Op.LTE:
        test = column <= value
    elif op == Op.BETWEEN:
        test = column.between(value[0], value[1])
    elif op == Op.WITHIN_DAYS:
        test = column >= _day(ctx.as_of, value)
    elif op == Op.OLDER_THAN_DAYS:
        test = column < _day(ctx.as_of, value)
    else:
        raise AssertionError(f"no SQL for {op}")
    return and_(present, test)


def _users(value: Any, ctx: Context) -> Any:
    """User ids with "me" resolved to whoever evaluates the segment."""

    def one(v: Any) -> int:
        if v == "me":
            if ctx.user_id is None:
                raise InvalidInputError('"me" needs a logged-in user (give a user id instead)')
            return ctx.user_id
        return int(v)

    return [one(v) for v in value] if isinstance(value, list) else one(value)


_CONTACT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "contact.department": Contact.department,
    "contact.title": Contact.title,
    "contact.source": Contact.source,
    "contact.owner": Contact.owner_id,
    "contact.acquired_on": Contact.acquired_on,
    "lead.band": Contact.lead_band,
    "lead.score": Contact.lead_score,
}
_COMPANY_COLUMNS: dict[str, ColumnElement[Any]] = {
    "company.name": Company.name,
    "company.industry": Company.industry,
    "company.status": Company.status,
    "company.employee_count": Company.employee_count,
    "company.owner": Company.owner_id,
}
_DORMANCY_COLUMNS: dict[str, ColumnElement[Any]] = {
    "dormancy.kind": DormantCustomer.kind,
    "dormancy.reason": DormantCustomer.reason,
    "dormancy.band": DormantCustomer.band,
    "dormancy.rank": DormantCustomer.rank,
}
_TEXT_FIELDS = {
    "contact.department",
    "contact.title",
    "contact.source",
    "company.name",
    "company.industry",
}
_GIVEN_BASES = tuple(b.value for b in ConsentBasis if b != ConsentBasis.NONE)
# Fields compiled to a comparison on the contact's own row (no subquery).
_ROW_FIELDS = frozenset({*_CONTACT_COLUMNS, "contact.email_domain", "last_activity"})
# SQLite: a company set holding more than this share of the companies is not driven from.
BROAD_COMPANY_SHARE = 0.25
COMPANY_SAMPLE = 1000
_PLUS = operators.custom_op("+")


def _company_test(name: str, op: Op, value: Any, ctx: Context) -> Condition:
    """The condition on the company row (never NULL)."""
    if FIELDS[name].type == FieldType.USER and value is not None:
        value = _users(value, ctx)
    return _compare(_COMPANY_COLUMNS[name], op, value, ctx, text=name in _TEXT_FIELDS)


def _company(ctx: Context, test: Condition) -> Condition:
    """The contact's company meets `test`."""
    outer: Any = Contact.company_id
    if ctx.broad_companies is not None and not ctx.negating and ctx.broad_companies(test):
        # Unary plus: the same value, but SQLite no longer reads it from the index.
        outer = UnaryExpression(outer.expression, operator=_PLUS, type_=Integer())
    return _member(ctx, outer, Company.id, test)


def _positive(name: str, op: Op, value: Any, ctx: Context) -> Condition:
    if name in _COMPANY_COLUMNS:
        return _company(ctx, _company_test(name, op, value, ctx))
    spec = FIELDS[name]
    if spec.type == FieldType.USER and value is not None:
        value = _users(value, ctx)
    text = name in _TEXT_FIELDS
    if name in _CONTACT_COLUMNS:
        return _compare(_CONTACT_COLUMNS[name], op, value, ctx, text=text)
    if name in _DORMANCY_COLUMNS:
        # The dormant record that names this contact: the person mezame would approach.
        test = _compare(_DORMANCY_COLUMNS[name], op, value, ctx)
        return _member(ctx, Contact.id, DormantCustomer.contact_id, test)
    if name == "contact.email_domain":
        domains = value if isinstance(value, list) else [value]
        address = normalised_email(Contact.email)
        return and_(
            Contact.email.is_not(None),
            or_(*(address.endswith("@" + d, autoescape=True) for d in domains)),
        )
    if name == "tag":
        tags = value if isinstance(value, list) else [value]
        return _member(ctx, Contact.id, ContactTag.contact_id, ContactTag.tag.in_(tags))
    if name == "consent.basis":
        return _consent(ctx, value if isinstance(value, list) else [value])
    if name == "consent.mailable":
        mailable = ctx.mailable().mailable()
        return mailable if value else _not(mailable)
    if name == "last_activity":
        return _activity(op, value, ctx)
    if name == "segment":
        return _segment(int(value), ctx)
    raise AssertionError(f"no SQL for field {name}")


def _live_consent(
    ctx: Context, bases: tuple[str, ...] | list[str], *, negated: bool = False
) -> Condition:
    return _member(
        ctx,
        Contact.id,
        ConsentRecord.contact_id,
        ConsentRecord.channel == "email",
        ConsentRecord.withdrawn_at.is_(None),
        ConsentRecord.basis.in_(bases),
        negated=negated,
    )


def _consent(ctx: Context, bases: list[str]) -> Condition:
    """A live e-mail consent record of one of `bases`; "none" means no live record at all."""
    given = [b for b in bases if b != ConsentBasis.NONE.value]
    parts: list[Condition] = []
    if given:
        parts.append(_live_consent(ctx, given))
    if len(given) < len(bases):
        parts.append(_not(_live_consent(ctx, _GIVEN_BASES, negated=True)))
    return or_(*parts) if len(parts) > 1 else parts[0]


def _activity(op: Op, days: int | None, ctx: Context) -> Condition:
    """The contact's last activity (contacts.last_seen_at, see customers.activity) vs a cutoff."""
    last = Contact.last_seen_at
    known = last.is_not(None)  # every branch is TRUE or FALSE, never NULL: NOT must invert it
    if op == Op.IS_NOT_EMPTY:
        return known
    assert days is not None
    cutoff = _moment(_day(ctx.as_of, days))
    if op == Op.WITHIN_DAYS:
        return and_(known, last >= cutoff)
    if op == Op.OLDER_THAN_DAYS:
        return and_(known, last < cutoff)
    raise AssertionError(f"no SQL for last_activity {op}")


def _segment(segment_id: int, ctx: Context) -> Condition:
    if segment_id in ctx.expanding:
        path = " → ".join(str(s) for s in [*ctx.expanding, segment_id])
        raise InvalidInputError(f"segments refer to each other in a cycle: {path}")
    definition = ctx.load_segment(segment_id)
    ctx.expanding.append(segment_id)
    try:
        # Inlined: membership is "not merged and the definition holds", and the outer query
        # already requires "not merged".
        return compile_group(definition, ctx)
    finally:
        ctx.expanding.pop()


# --- evaluating -------------------------------------------------------------------------------

SegmentSource = Segment | Group | Mapping[str, Any]
PREVIEW_LIMIT = 20
MAX_PREVIEW = 200


def definition_of(source: SegmentSource) -> Group:
    """The checked definition of a saved segment, a parsed definition or raw JSON."""
    if isinstance(source, Group):
        return source
    raw = source.definition if isinstance(source, Segment) else source
    try:
        return parse_definition(raw)
    except DefinitionError as exc:
        raise InvalidInputError(str(exc)) from None


def _not_merged(session: Session) -> Condition:
    """Not merged into another contact, written for the backend's planner."""
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL knows the column's share of NULLs; for coalesce(…) = 0 it has no
        # statistics, guesses 0.5 % of the contacts and picks nested loops (seconds at 1M).
        return Contact.merged_into_id.is_(None)
    # SQLite would walk ix_contacts_merged_into_id for IS NULL: nearly every contact, one
    # random row lookup at a time (seconds at 1M).
    return func.coalesce(Contact.merged_into_id, 0) == 0


def _broad_companies(session: Session) -> Callable[[Condition], bool]:
    """Whether more than BROAD_COMPANY_SHARE of the companies meet a condition (SQLite).

    Read from an even spread of about COMPANY_SAMPLE company ids (every company when there
    are fewer): a few milliseconds whatever the condition, where counting in full would
    scan every company again for a condition no index serves.
    """
    span: list[tuple[int, int]] = []

    def broad(test: Condition) -> bool:
        if not span:
            # Two subqueries: SQLite reads min() and max() alone off the key, together it scans.
            low, high = session.execute(
                select(
                    select(func.min(Company.id)).scalar_subquery(),
                    select(func.max(Company.id)).scalar_subquery(),
                )
            ).one()
            span.append((low or 0, high or 0))
        low, high = span[0]
        step = max(1, (high - low + 1) // COMPANY_SAMPLE)
        ids = select(literal(low, Integer).label("id")).cte("sample", recursive=True)
        ids = ids.union_all(select(ids.c.id + step).where(ids.c.id + step <= high))
        seen, hits = session.execute(
            select(func.count(), func.count(case((test, 1)))).where(
                Company.id.in_(select(ids.c.id))
            )
        ).one()
        return bool(hits > seen * BROAD_COMPANY_SHARE)

    return broad


def _loader(session: Session) -> Callable[[int], Group]:
    def load(segment_id: int) -> Group:
        return definition_of(get_segment(session, segment_id))

    return load


def segment_condition(
    session: Session, source: SegmentSource, *, as_of: date, user_id: int | None = None
) -> Condition:
    """The definition as one SQL condition on `Contact` (merged contacts not yet excluded)."""
    definition = definition_of(source)
    rules: list[MailableRules] = []

    def mailable() -> MailableRules:
        if not rules:  # the consent policy is read once, and only when a rule needs it
            rules.append(mailable_rules(session, as_of=as_of))
        return rules[0]

    postgres = session.get_bind().dialect.name == "postgresql"
    ctx = Context(
        as_of=as_of,
        user_id=user_id,
        mailable=mailable,
        load_segment=_loader(session),
        correlated=postgres,
        broad_companies=None if postgres else _broad_companies(session),
    )
    if isinstance(source, Segment):
        ctx.expanding.append(source.id)
    return compile_group(definition, ctx)


def segment_contacts(
    session: Session, source: SegmentSource, *, as_of: date, user_id: int | None = None
) -> Select[tuple[int]]:
    """The ids of the contacts in the segment, as a SELECT (never loaded into Python)."""
    condition = segment_condition(session, source, as_of=as_of, user_id=user_id)
    # A contact merged into another is kept only for undo: the survivor is the one in the list.
    return select(Contact.id).where(_not_merged(session), condition)


def count_segment(
    session: Session, source: SegmentSource, *, as_of: date, user_id: int | None = None
) -> int:
    condition = segment_condition(session, source, as_of=as_of, user_id=user_id)
    stmt = select(func.count()).select_from(Contact)
    return session.scalar(stmt.where(_not_merged(session), condition)) or 0


@dataclass(frozen=True)
class PreviewContact:
    id: int
    name: str | None
    email: str | None
    department: str | None
    title: str | None
    company_id: int | None
    company_name: str | None


def preview_segment(
    session: Session,
    source: SegmentSource,
    *,
    as_of: date,
    user_id: int | None = None,
    limit: int = PREVIEW_LIMIT,
) -> list[PreviewContact]:
    """The first contacts of the segment (oldest first) with their company."""
    condition = segment_condition(session, source, as_of=as_of, user_id=user_id)
    rows = session.execute(
        select(
            Contact.id,
            Contact.name,
            Contact.email,
            Contact.department,
            Contact.title,
            Contact.company_id,
            Company.name,
        )
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(_not_merged(session), condition)
        .order_by(Contact.id)
        .limit(max(1, min(limit, MAX_PREVIEW)))
    )
    return [PreviewContact(*r) for r in rows]


def refresh_count(
    session: Session, segment: Segment, *, as_of: date, at: datetime, user_id: int | None = None
) -> int:
    """Count a saved segment now and keep the figure on it (the list shows it)."""
    count = count_segment(session, segment, as_of=as_of, user_id=user_id)
    segment.last_count = count
    segment.last_counted_at = at
    session.flush()
    return count


# --- saving -----------------------------------------------------------------------------------

MAX_NAME = 200


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def get_segment(session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFoundError(f"segment {segment_id} does not exist")
    return segment


def _checked_name(session: Session, name: str, *, segment_id: int | None = None) -> str:
    clean = name.strip()
    if not clean:
        raise InvalidInputError("name: empty")
    if len(clean) > MAX_NAME:
        raise InvalidInputError(f"name: longer than {MAX_NAME} characters")
    clash = session.scalar(select(Segment.id).where(Segment.name == clean))
    if clash is not None and clash != segment_id:
        raise InvalidInputError(f"name: a segment named {clean!r} already exists")
    return clean


def _checked_definition(session: Session, raw: Any, *, segment_id: int | None = None) -> Group:
    """Parse, check that every referenced segment exists and that no cycle forms."""
    definition = definition_of(raw)
    wanted = referenced_segments(definition)
    if not wanted:
        return definition
    if segment_id in wanted:
        raise InvalidInputError(f"segment: a segment cannot include itself ({segment_id})")
    saved = {s.id: s for s in session.scalars(select(Segment))}
    missing = sorted(wanted - set(saved))
    if missing:
        raise InvalidInputError(f"segment: no segment {', '.join(map(str, missing))}")
    if segment_id is not None:
        references = {sid: referenced_segments(definition_of(s)) for sid, s in saved.items()}
        references[segment_id] = wanted
        cycle = find_cycle(segment_id, references)
        if cycle:
            path = " → ".join(str(s) for s in cycle)
            raise InvalidInputError(f"segment: segments would refer to each other: {path}")
    return definition


def create_segment(
    session: Session,
    *,
    name: str,
    definition: Any,
    description: str | None = None,
    user_id: int | None = None,
) -> Segment:
    segment = Segment(
        name=_checked_name(session, name),
        description=(description or "").strip() or None,
        definition=_checked_definition(session, definition).as_json(),
        created_by_id=user_id,
    )
    session.add(segment)
    session.flush()
    return segment


def update_segment(
    session: Session,
    segment_id: int,
    *,
    name: str | None = None,
    definition: Any = None,
    description: str | None = None,
) -> Segment:
    """Change what is given; a new definition clears the stored count."""
    segment = get_segment(session, segment_id)
    if name is not None:
        segment.name = _checked_name(session, name, segment_id=segment_id)
    if description is not None:
        segment.description = description.strip() or None
    if definition is not None:
        checked = _checked_definition(session, definition, segment_id=segment_id)
        segment.definition = checked.as_json()
        segment.last_count = None
        segment.last_counted_at = None
    session.flush()
    return segment


_OPEN_CAMPAIGN = (
    CampaignStatus.DRAFT.value,
    CampaignStatus.SCHEDULED.value,
    CampaignStatus.SENDING.value,
    CampaignStatus.PAUSED.value,
)


def delete_segment(session: Session, segment_id: int) -> None:
    """Delete a segment no other segment and no unfinished campaign uses."""
    segment = get_segment(session, segment_id)
    users = [
        other.name
        for other in session.scalars(select(Segment).where(Segment.id != segment_id))
        if segment_id in referenced_segments(definition_of(other))
    ]
    if users:
        raise InvalidInputError(
            f"segment {segment.name!r} is used by segment(s): {', '.join(users)}"
        )
    campaigns = list(
        session.scalars(
            select(Campaign.name).where(
                Campaign.segment_id == segment_id, Campaign.status.in_(_OPEN_CAMPAIGN)
            )
        )
    )
    if campaigns:
        raise InvalidInputError(
            f"segment {segment.name!r} is the audience of campaign(s): {', '.join(campaigns)}"
        )
    # No foreign key on campaigns.segment_id (see models.campaigns): finished ones let go here.
    session.execute(
        update(Campaign).where(Campaign.segment_id == segment_id).values(segment_id=None)
    )
    session.delete(segment)
    session.flush()


# --- tags -------------------------------------------------------------------------------------


def normalise_tag(tag: str) -> str:
    clean = " ".join(tag.split())
    if not clean:
        raise InvalidInputError("tag: empty")
    if len(clean) > MAX_TAG:
        raise InvalidInputError(f"tag: longer than {MAX_TAG} characters")
    return clean


def add_tag(session: Session, *, contact_id: int, tag: str, source: str | None = None) -> bool:
    """Tag a contact; True when it did not have the tag yet (safe to repeat)."""
    clean = normalise_tag(tag)
    if session.get(Contact, contact_id) is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    stmt = (
        dialect_insert(session, ContactTag.__table__)
        .values(contact_id=contact_id, tag=clean, source=source, created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["contact_id", "tag"])
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT that returns the new id.
        .returning(ContactTag.id)
    )
    return session.execute(stmt).first() is not None


def remove_tag(session: Session, *, contact_id: int, tag: str) -> bool:
    """Untag a contact; True when it had the tag."""
    stmt = delete(ContactTag).where(
        ContactTag.contact_id == contact_id, ContactTag.tag == normalise_tag(tag)
    )
    return bool(session.execute(stmt).rowcount)


def contact_tags(session: Session, contact_id: int) -> list[str]:
    return list(
        session.scalars(
            select(ContactTag.tag)
            .where(ContactTag.contact_id == contact_id)
            .order_by(ContactTag.tag)
        )
    )


def tag_counts(session: Session, *, limit: int = 500) -> list[tuple[str, int]]:
    """Every tag in use with how many contacts carry it, most used first."""
    rows = session.execute(
        select(ContactTag.tag, func.count())
        .group_by(ContactTag.tag)
        .order_by(func.count().desc(), ContactTag.tag)
        .limit(limit)
    )
    return [(tag, count) for tag, count in rows]
