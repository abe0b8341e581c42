"""Read the stored reactivation list (掘り起こしリスト) and edit the dormancy settings.

Rows come back in rank order (their id order) with the company, the contact to approach and
the owner joined in; each row carries its factor contributions, so its explanation and its
suggested opening are built in the reader's language when shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from mezame.customers.service import COUNT_CAP, MAX_PER_PAGE, Page
from mezame.dormancy import approach, priority
from mezame.dormancy.changes import Change, ChangeKind, ChangesPolicy
from mezame.dormancy.priority import BANDS, FACTORS, Explained, RecordFacts
from mezame.dormancy.rules import KINDS, DormancyKind, DormancyPolicy, KindRule
from mezame.dormancy.suggest import KindSuggestion
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import Company, Contact, DormancyRun, DormantCustomer, User
from mezame.policy.service import load_policy, save_policy
from mezame.vocabulary import LostReason

ALL_BANDS = (*BANDS, "gone")
REASON_VALUES = tuple(r.value for r in LostReason)


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; None means any. Excluded (gone) rows only when asked."""

    kind: str | None = None
    reason: str | None = None
    owner_id: int | None = None
    band: str | None = None

    def __post_init__(self) -> None:
        checks = (
            ("kind", self.kind, [k.value for k in KINDS]),
            ("reason", self.reason, REASON_VALUES),
            ("band", self.band, ALL_BANDS),
        )
        for name, value, allowed in checks:
            if value is not None and value not in allowed:
                raise InvalidInputError(f"{name} は {', '.join(allowed)} のいずれかです: {value!r}")


@dataclass(frozen=True)
class DormantRow:
    """One ranked dormant record with the names a reader needs."""

    id: int
    rank: int | None
    kind: str
    company_id: int | None
    company_name: str | None
    company_external_id: str | None
    contact_id: int | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    owner_id: int | None
    owner_name: str | None
    fell_asleep_on: date
    trigger: str
    asleep_days: int
    excluded: bool
    score: float
    band: str
    reason: str
    reason_confidence: float
    reason_inferred: bool
    reason_terms: str | None
    product_line: str | None
    order_count: int
    spend: int
    contract_months: int
    p_alive: float | None
    expected_value: float | None
    interest: float
    change_kind: str | None
    change_on: date | None
    change_description: str | None
    change_answers_reason: bool
    channel: str
    angle: str
    contributions: dict[str, float] = field(default_factory=dict)

    @property
    def asleep_months(self) -> int:
        return priority.months(self.asleep_days)

    def facts(self) -> RecordFacts:
        return RecordFacts(
            kind=DormancyKind(self.kind),
            asleep_days=self.asleep_days,
            order_count=self.order_count,
            spend=self.spend,
            contract_months=self.contract_months,
            p_alive=self.p_alive,
            expected_value=self.expected_value,
            reason=LostReason(self.reason),
            reason_inferred=self.reason_inferred,
            change_kind=ChangeKind(self.change_kind) if self.change_kind else None,
            change_on=self.change_on,
            change_description=self.change_description,
            change_answers_reason=self.change_answers_reason,
            interest=self.interest,
        )

    def explanation(self, locale: str) -> list[Explained]:
        """The factors that moved this row most, with their signed points, in `locale`."""
        return priority.explain(self.contributions, self.facts(), locale)

    def opening(self, locale: str) -> str:
        """The suggested message angle, in `locale`."""
        return approach.angle_text(self.angle, self.change_description, locale)

    def channel_name(self, locale: str) -> str:
        return approach.channel_name(self.channel, locale)


Owner = aliased(User)


def _select() -> Any:
    d = DormantCustomer
    return (
        select(
            d,
            Company.name,
            Company.external_id,
            Contact.name,
            Contact.email,
            func.coalesce(Contact.phone, Contact.mobile, Company.phone),
            Owner.name,
        )
        .outerjoin(Company, Company.id == d.company_id)
        .outerjoin(Contact, Contact.id == d.contact_id)
        .outerjoin(Owner, Owner.id == d.owner_id)
    )


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    d = DormantCustomer
    conditions: list[ColumnElement[bool]] = []
    if filters.band == "gone":
        conditions.append(d.excluded.is_(True))
    else:
        conditions.append(d.excluded.is_(False))
        if filters.band is not None:
            conditions.append(d.band == filters.band)
    if filters.kind is not None:
        conditions.append(d.kind == filters.kind)
    if filters.reason is not None:
        conditions.append(d.reason == filters.reason)
    if filters.owner_id is not None:
        conditions.append(d.owner_id == filters.owner_id)
    return conditions


def _row(record: DormantCustomer, *names: Any) -> DormantRow:
    company_name, company_code, contact_name, email, phone, owner_name = names
    return DormantRow(
        id=record.id,
        rank=record.rank,
        kind=record.kind,
        company_id=record.company_id,
        company_name=company_name,
        company_external_id=company_code,
        contact_id=record.contact_id,
        contact_name=contact_name,
        contact_email=email,
        contact_phone=phone,
        owner_id=record.owner_id,
        owner_name=owner_name,
        fell_asleep_on=record.fell_asleep_on,
        trigger=record.trigger,
        asleep_days=record.asleep_days,
        excluded=record.excluded,
        score=record.score,
        band=record.band,
        reason=record.reason,
        reason_confidence=record.reason_confidence,
        reason_inferred=record.reason_inferred,
        reason_terms=record.reason_terms,
        product_line=record.product_line,
        order_count=record.order_count,
        spend=record.spend,
        contract_months=record.contract_months,
        p_alive=record.p_alive,
        expected_value=record.expected_value,
        interest=record.interest,
        change_kind=record.change_kind,
        change_on=record.change_on,
        change_description=record.change_description,
        change_answers_reason=record.change_answers_reason,
        channel=record.channel,
        angle=record.angle,
        contributions={f: getattr(record, f"pts_{f}") for f in FACTORS},
    )


def list_dormant(
    session: Session, *, filters: Filters, page: int = 1, per_page: int = 50
) -> Page[DormantRow]:
    """One page of the reactivation list, best first."""
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    conditions = _conditions(filters)
    stmt = _select().where(*conditions).order_by(DormantCustomer.id)
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    items = [_row(*r) for r in rows]
    ids = select(DormantCustomer.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(ids)) or 0
    capped = total > COUNT_CAP
    return Page(
        items=items,
        page=page,
        per_page=per_page,
        total=COUNT_CAP if capped else total,
        total_capped=capped,
    )


def iter_dormant(
    session: Session, *, filters: Filters, limit: int | None = None, batch: int = 5_000
) -> Iterator[DormantRow]:
    """The whole (filtered) list in rank order, read in batches by id: for exports."""
    after = 0
    left = limit
    while left is None or left > 0:
        size = batch if left is None else min(batch, left)
        stmt = (
            _select()
            .where(*_conditions(filters), DormantCustomer.id > after)
            .order_by(DormantCustomer.id)
            .limit(size)
        )
        rows = session.execute(stmt).all()
        if not rows:
            return
        for r in rows:
            yield _row(*r)
        after = rows[-1][0].id
        if left is not None:
            left -= len(rows)


def owners(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every user who owns a row of the list: the owner filter's choices."""
    stmt = (
        select(User.id, User.name)
        .where(User.id.in_(select(DormantCustomer.owner_id).distinct()))
        .order_by(User.name)
    )
    return [(r[0], r[1]) for r in session.execute(stmt)]


@dataclass(frozen=True)
class RunInfo:
    id: int
    as_of: date
    finished_at: datetime | None
    counts: dict[str, int]
    models: dict[str, Any]

    def dormant(self, kind: str) -> int:
        return int(self.counts.get(f"dormant.{kind}", 0))


def latest_run(session: Session) -> RunInfo | None:
    """The latest recompute's date, counts and models; None before the first."""
    run = session.scalars(select(DormancyRun).order_by(DormancyRun.id.desc()).limit(1)).first()
    if run is None:
        return None
    return RunInfo(run.id, run.as_of, run.finished_at, dict(run.counts), dict(run.models))


def suggestions(session: Session) -> dict[str, KindSuggestion]:
    """The latest recompute's threshold suggestions per kind ({} before the first)."""
    run = session.scalars(select(DormancyRun).order_by(DormancyRun.id.desc()).limit(1)).first()
    if run is None:
        return {}
    return {kind: KindSuggestion.from_json(data) for kind, data in run.suggestions.items()}


def set_threshold(
    session: Session,
    *,
    kind: str,
    after_months: int,
    exclude_after_months: int | None = None,
    user_id: int | None = None,
) -> DormancyPolicy:
    """Save a kind's threshold (and optionally its upper bound); the next recompute uses it."""
    if kind not in [k.value for k in KINDS]:
        raise InvalidInputError(f"kind は {', '.join(k.value for k in KINDS)} のいずれかです")
    policy = load_policy(session, DormancyPolicy)
    current: KindRule = policy.rule(DormancyKind(kind))
    bound = (
        exclude_after_months if exclude_after_months is not None else current.exclude_after_months
    )
    try:
        rule = KindRule(after_months=after_months, exclude_after_months=bound)
        updated = DormancyPolicy.model_validate({**policy.model_dump(), kind: rule.model_dump()})
    except ValueError as exc:
        raise InvalidInputError(f"{kind}: {exc}") from exc
    save_policy(session, updated, user_id=user_id)
    return updated


def use_suggestion(session: Session, *, kind: str, user_id: int | None = None) -> DormancyPolicy:
    """Take the latest suggestion for a kind as its threshold ("use this")."""
    suggestion = suggestions(session).get(kind)
    if suggestion is None or suggestion.suggested_months is None:
        raise NotFoundError(
            f"{kind} の提案値がまだありません (再計算するか、データを増やしてください)"
        )
    return set_threshold(
        session, kind=kind, after_months=suggestion.suggested_months, user_id=user_id
    )


def thresholds(session: Session) -> DormancyPolicy:
    return load_policy(session, DormancyPolicy)


def changes(session: Session) -> ChangesPolicy:
    """The offers/changes setting, oldest first."""
    return load_policy(session, ChangesPolicy).sorted()


def add_change(session: Session, change: Change, *, user_id: int | None = None) -> ChangesPolicy:
    """Record a change the team can mention (a price cut, a feature …)."""
    updated = ChangesPolicy(changes=(*changes(session).changes, change)).sorted()
    save_policy(session, updated, user_id=user_id)
    return updated


def remove_change(session: Session, *, index: int, user_id: int | None = None) -> ChangesPolicy:
    """Delete the change at `index` of the list as shown (oldest first)."""
    current = changes(session)
    if not 0 <= index < len(current.changes):
        raise NotFoundError(f"変更 {index} はありません")
    updated = ChangesPolicy(changes=current.changes[:index] + current.changes[index + 1 :])
    save_policy(session, updated, user_id=user_id)
    return updated


CSV_HEADER = (
    "順位",
    "優先度",
    "スコア",
    "種類",
    "顧客コード",
    "会社名",
    "担当者",
    "メールアドレス",
    "電話番号",
    "担当営業",
    "休眠開始日",
    "休眠月数",
    "きっかけ",
    "離脱理由",
    "前回からの変化",
    "推奨チャネル",
    "アプローチの切り口",
    "主な要因",
)


def csv_row(row: DormantRow) -> list[str | int | float | None]:
    """One row of the Excel export, in Japanese (the header is CSV_HEADER)."""
    factors = " / ".join(f"{e.text} ({e.points:+.1f})" for e in row.explanation("ja"))
    reason = priority.REASON_NAMES[LostReason(row.reason)][0]
    return [
        row.rank,
        priority.BAND_NAMES[row.band][0],
        row.score,
        priority.KIND_NAMES[DormancyKind(row.kind)][0],
        row.company_external_id,
        row.company_name,
        row.contact_name,
        row.contact_email,
        row.contact_phone,
        row.owner_name,
        row.fell_asleep_on.isoformat(),
        row.asleep_months,
        priority.TRIGGER_NAMES[row.trigger][0],
        reason + ("（推定）" if row.reason_inferred else ""),
        row.change_description,
        row.channel_name("ja"),
        row.opening("ja"),
        factors,
    ]
