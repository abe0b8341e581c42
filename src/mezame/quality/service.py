"""Build the data-quality report from the database.

Counts are SQL aggregates, one query per table, grouped by the value class of the record's
company (joined from the companies that ordered and those with a lost or postponed deal).
The email checks need email-validator, which SQL cannot run: the addresses are read once as
a column and checked vectorised (quality.emails). Duplicate companies come from the cleaning
service's detection. Lists are pages ordered newest first; merged-away records are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, reduce
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from mezame.cleaning.dedupe import DuplicateCluster
from mezame.cleaning.service import find_duplicates
from mezame.errors import InvalidInputError
from mezame.models import Company, Contact, Deal, Order, SalesActivity
from mezame.policy.service import load_policy
from mezame.quality.emails import invalid_emails, role_addresses
from mezame.quality.report import (
    CHECKS,
    CheckCount,
    DuplicateGroup,
    QualityCheck,
    QualityFault,
    QualityOverview,
    QualityPolicy,
    QualityRecord,
    QualityReport,
    RecordKind,
    RecordPage,
    ValueClass,
    build_report,
    check_title,
    months_before,
)
from mezame.vocabulary import CompanyStatus, DealOutcome

MAX_PER_PAGE = 200
_FETCH_CHUNK = 50_000  # rows per round trip when reading the email column
_ID_CHUNK = 500  # ids per IN (...) list
# Value class codes in arrays, in this order.
_VALUE_CODES = (ValueClass.CUSTOMER, ValueClass.LOST_DEAL, ValueClass.OTHER)
_EMAIL_CHECKS = (QualityCheck.INVALID_EMAIL, QualityCheck.ROLE_ADDRESS)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _blank(column: Any) -> ColumnElement[bool]:
    return or_(column.is_(None), func.trim(column) == "")


def _present(column: Any) -> ColumnElement[bool]:
    return and_(column.is_not(None), func.trim(column) != "")


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, literal_column("1")), else_=literal_column("0"))


def _invalid_corporate_number(number: Any) -> ColumnElement[bool]:
    """A 法人番号 failing its length, digits or check digit, in SQL.

    The rule of cleaning.normalize.check_corporate_number (stdnum.jp.cn), written so both
    SQLite and PostgreSQL count it without reading the column out: the first digit is
    9 − (Σ digit × weight mod 9) over the other twelve, weights 2,1,2,1… from the left.
    tests/integration/test_quality_service.py checks the two agree.
    """
    only_digits = reduce(lambda text, d: func.replace(text, d, ""), "0123456789", number) == ""

    def digit(position: int) -> ColumnElement[int]:
        return cast(func.substr(number, position, 1), Integer)

    checksum = reduce(
        lambda total, term: total + term,
        (digit(p) * (1 if p % 2 else 2) for p in range(3, 14)),
        digit(2) * 2,
    )
    # CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and casting a
    # non-digit to an integer fails there.
    return and_(
        _present(number),
        case(
            (and_(func.length(number) == 13, only_digits), digit(1) != 9 - checksum % 9),
            else_=true(),
        ),
    )


@dataclass(frozen=True)
class _ValueJoin:
    """The companies that ordered and those with a lost or postponed deal, to outer-join."""

    ordered: FromClause
    lost: FromClause

    @classmethod
    def build(cls) -> _ValueJoin:
        ordered = select(Order.company_id).group_by(Order.company_id).subquery("ordered")
        lost = (
            select(Deal.company_id)
            .where(
                Deal.company_id.is_not(None),
                Deal.outcome.in_((DealOutcome.LOST.value, DealOutcome.POSTPONED.value)),
            )
            .group_by(Deal.company_id)
            .subquery("lost")
        )
        return cls(ordered, lost)

    def join(self, source: FromClause, company_id: Any) -> FromClause:
        return source.outerjoin(self.ordered, self.ordered.c.company_id == company_id).outerjoin(
            self.lost, self.lost.c.company_id == company_id
        )

    def code(self) -> ColumnElement[int]:
        """0 customer, 1 lost deal, 2 other: the index into _VALUE_CODES."""
        # Literal codes, not bound parameters: PostgreSQL matches a GROUP BY expression to the
        # select list by its text, and two parameters never look the same.
        return case(
            (self.ordered.c.company_id.is_not(None), literal_column("0")),
            (self.lost.c.company_id.is_not(None), literal_column("1")),
            else_=literal_column("2"),
        )


@dataclass(frozen=True)
class _Table:
    """A table with the joins its checks need and the SQL condition of each check."""

    kind: RecordKind
    source: FromClause  # the table with its helper joins (not the value join)
    company_id: Any
    live: ColumnElement[bool]
    conditions: dict[QualityCheck, ColumnElement[bool]]
    reach: ColumnElement[int] | None = None  # people behind a record, when not one


def _tables(stale_before: date, policy: QualityPolicy) -> dict[RecordKind, _Table]:
    noted_contacts = (
        select(SalesActivity.contact_id)
        .where(SalesActivity.contact_id.is_not(None), _present(SalesActivity.note))
        .group_by(SalesActivity.contact_id)
        .subquery("noted_contacts")
    )
    noted_deals = (
        select(SalesActivity.deal_id)
        .where(SalesActivity.deal_id.is_not(None), _present(SalesActivity.note))
        .group_by(SalesActivity.deal_id)
        .subquery("noted_deals")
    )
    staffed = (
        select(Contact.company_id, func.count().label("contacts"))
        .where(Contact.company_id.is_not(None), Contact.merged_into_id.is_(None))
        .group_by(Contact.company_id)
        .subquery("staffed")
    )
    unknown = or_(_blank(Company.status), Company.status == CompanyStatus.UNKNOWN.value)
    company = _Table(
        kind=RecordKind.COMPANY,
        source=Company.__table__.outerjoin(staffed, staffed.c.company_id == Company.id),
        company_id=Company.id,
        live=Company.merged_into_id.is_(None),
        conditions={
            QualityCheck.STATUS_UNKNOWN: unknown,
            QualityCheck.STATUS_STALE: and_(
                ~unknown,
                or_(Company.status_updated_at.is_(None), Company.status_updated_at < stale_before),
            ),
            QualityCheck.COMPANY_NO_CONTACT: staffed.c.company_id.is_(None),
            QualityCheck.INVALID_CORPORATE_NUMBER: _invalid_corporate_number(
                Company.corporate_number
            ),
        },
        # A company's fault reaches all its contacts; one without contacts is one record.
        reach=func.coalesce(staffed.c.contacts, literal_column("1")),
    )
    contact = _Table(
        kind=RecordKind.CONTACT,
        source=Contact.__table__.outerjoin(
            noted_contacts, noted_contacts.c.contact_id == Contact.id
        ),
        company_id=Contact.company_id,
        live=Contact.merged_into_id.is_(None),
        conditions={
            QualityCheck.CONTACT_NO_HEARING: and_(
                _blank(Contact.hearing_notes), noted_contacts.c.contact_id.is_(None)
            ),
            QualityCheck.CONTACT_NO_EMAIL: _blank(Contact.email),
            QualityCheck.CONTACT_NO_PHONE: and_(_blank(Contact.phone), _blank(Contact.mobile)),
            QualityCheck.CONTACT_NO_NAME: or_(
                _blank(Contact.name),
                *(
                    Contact.name.contains(word, autoescape=True)
                    for word in policy.placeholder_names
                ),
            ),
        },
    )
    deal = _Table(
        kind=RecordKind.DEAL,
        source=Deal.__table__.outerjoin(noted_deals, noted_deals.c.deal_id == Deal.id),
        company_id=Deal.company_id,
        live=true(),
        conditions={
            QualityCheck.DEAL_NO_NOTES: and_(_blank(Deal.notes), noted_deals.c.deal_id.is_(None)),
            QualityCheck.LOST_DEAL_NO_REASON: and_(
                Deal.outcome.in_((DealOutcome.LOST.value, DealOutcome.POSTPONED.value)),
                _blank(Deal.lost_reason),
            ),
        },
    )
    return {t.kind: t for t in (company, contact, deal)}


def _any(conditions: Iterable[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(false(), *conditions)


@dataclass(frozen=True)
class _EmailScan:
    """Every live contact with an address: id, value class code and what is wrong with it."""

    ids: IntArray
    value_codes: IntArray
    invalid: BoolArray
    role: BoolArray
    other_fault: BoolArray  # flagged by a SQL check (no phone, no name, no hearing)

    def flagged(self, check: QualityCheck) -> BoolArray:
        return self.invalid if check is QualityCheck.INVALID_EMAIL else self.role


@dataclass(frozen=True)
class _Counts:
    by_check: dict[QualityCheck, CheckCount]
    faults: dict[QualityFault, dict[RecordKind, int]]
    any_fault: int
    total: int


def _by_value(codes: IntArray) -> dict[ValueClass, int]:
    counts = np.bincount(codes, minlength=len(_VALUE_CODES))
    return {v: int(counts[i]) for i, v in enumerate(_VALUE_CODES)}


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _ID_CHUNK):
        yield ids[start : start + _ID_CHUNK]


class _Scan:
    """One look at the database for one report: each expensive part is computed at most once."""

    def __init__(self, session: Session, *, as_of: date, policy: QualityPolicy) -> None:
        self.session = session
        self.as_of = as_of
        self.policy = policy
        self.stale_before = months_before(as_of, policy.stale_status_months)
        self.tables = _tables(self.stale_before, policy)
        self.values = _ValueJoin.build()

    # --- counts -------------------------------------------------------------------------

    def _table_counts(
        self, table: _Table, faults: dict[QualityFault, Sequence[QualityCheck]]
    ) -> _Counts:
        checks = list(table.conditions)
        code = self.values.code()
        reach = table.reach
        columns: list[ColumnElement[Any]] = [func.sum(_flag(table.conditions[c])) for c in checks]
        if reach is not None:
            columns += [
                func.sum(case((table.conditions[c], reach), else_=literal_column("0")))
                for c in checks
            ]
        columns += [
            func.sum(_flag(_any(table.conditions[c] for c in fs))) for fs in faults.values()
        ]
        columns.append(func.sum(_flag(_any(table.conditions.values()))))
        stmt = (
            select(code, func.count(), *columns)
            .select_from(self.values.join(table.source, table.company_id))
            .where(table.live)
            .group_by(code)
        )
        records: dict[QualityCheck, dict[ValueClass, int]] = {c: {} for c in checks}
        reached: dict[QualityCheck, dict[ValueClass, int]] = {c: {} for c in checks}
        fault_counts = dict.fromkeys(faults, 0)
        total = any_fault = 0
        for row in self.session.execute(stmt):
            value = _VALUE_CODES[row[0]]
            total += row[1]
            sums = iter(int(n or 0) for n in row[2:])
            for check in checks:
                records[check][value] = next(sums)
            if reach is not None:
                for check in checks:
                    reached[check][value] = next(sums)
            for fault in faults:
                fault_counts[fault] += next(sums)
            any_fault += next(sums)
        return _Counts(
            {
                c: CheckCount(records=records[c], reach=reached[c] if reach is not None else None)
                for c in checks
            },
            {f: {table.kind: n} for f, n in fault_counts.items()},
            any_fault,
            total,
        )

    @cached_property
    def emails(self) -> _EmailScan:
        table = self.tables[RecordKind.CONTACT]
        other = _any(
            cond
            for check, cond in table.conditions.items()
            if check is not QualityCheck.CONTACT_NO_EMAIL
        )
        stmt = (
            select(Contact.id, Contact.email, self.values.code(), _flag(other))
            .select_from(self.values.join(table.source, Contact.company_id))
            .where(table.live, _present(Contact.email))
        )
        ids: list[int] = []
        emails: list[str] = []
        codes: list[int] = []
        others: list[int] = []
        # Core rows through the session's connection: the ORM's per-row work would double the
        # cost of reading a million addresses, and streaming keeps memory to one chunk.
        result = self.session.connection().execution_options(stream_results=True).execute(stmt)
        for rows in result.partitions(_FETCH_CHUNK):
            chunk_ids, chunk_emails, chunk_codes, chunk_others = zip(*rows, strict=True)
            ids.extend(chunk_ids)
            emails.extend(chunk_emails)
            codes.extend(chunk_codes)
            others.extend(chunk_others)
        return _EmailScan(
            ids=np.asarray(ids, dtype=np.int64),
            value_codes=np.asarray(codes, dtype=np.int64),
            invalid=invalid_emails(emails),
            role=role_addresses(
                emails,
                local_parts=self.policy.role_local_parts,
                prefixes=self.policy.role_prefixes,
            ),
            other_fault=np.asarray(others, dtype=bool),
        )

    @cached_property
    def duplicate_groups(self) -> tuple[DuplicateCluster, ...]:
        return find_duplicates(self.session, "companies").clusters

    def _duplicate_counts(self) -> tuple[CheckCount, int]:
        """Duplicate members per value class, and how many no SQL check flags already."""
        members = sorted({i for group in self.duplicate_groups for i in group.ids})
        table = self.tables[RecordKind.COMPANY]
        assert table.reach is not None
        code = self.values.code()
        flagged = _flag(_any(table.conditions.values()))
        records = dict.fromkeys(ValueClass, 0)
        reach = dict.fromkeys(ValueClass, 0)
        unflagged = 0
        for chunk in _chunks(members):
            stmt = (
                select(code, flagged, func.count(), func.sum(table.reach))
                .select_from(self.values.join(table.source, Company.id))
                .where(table.live, Company.id.in_(chunk))
                .group_by(code, flagged)
            )
            for value_code, is_flagged, n, people in self.session.execute(stmt):
                records[_VALUE_CODES[value_code]] += n
                reach[_VALUE_CODES[value_code]] += int(people)
                if not is_flagged:
                    unflagged += n
        return CheckCount(records=records, reach=reach), unflagged

    def report(self) -> QualityReport:
        company = self._table_counts(
            self.tables[RecordKind.COMPANY],
            {
                QualityFault.STATUS: (QualityCheck.STATUS_UNKNOWN, QualityCheck.STATUS_STALE),
                QualityFault.CONTACT_DETAILS: (QualityCheck.COMPANY_NO_CONTACT,),
                QualityFault.VALIDITY: (QualityCheck.INVALID_CORPORATE_NUMBER,),
            },
        )
        contact = self._table_counts(
            self.tables[RecordKind.CONTACT],
            {
                QualityFault.HEARING: (QualityCheck.CONTACT_NO_HEARING,),
                QualityFault.CONTACT_DETAILS: (
                    QualityCheck.CONTACT_NO_EMAIL,
                    QualityCheck.CONTACT_NO_PHONE,
                    QualityCheck.CONTACT_NO_NAME,
                ),
            },
        )
        deal = self._table_counts(
            self.tables[RecordKind.DEAL],
            {QualityFault.HEARING: (QualityCheck.DEAL_NO_NOTES, QualityCheck.LOST_DEAL_NO_REASON)},
        )
        scan = self.emails
        duplicates, duplicates_unflagged = self._duplicate_counts()
        email_flagged = scan.invalid | scan.role

        counts = {**company.by_check, **contact.by_check, **deal.by_check}
        counts[QualityCheck.DUPLICATE_COMPANIES] = duplicates
        for check in _EMAIL_CHECKS:
            counts[check] = CheckCount(records=_by_value(scan.value_codes[scan.flagged(check)]))
        faults: dict[QualityFault, dict[RecordKind, int]] = {f: {} for f in QualityFault}
        for part in (company, contact, deal):
            for fault, per_kind in part.faults.items():
                faults[fault].update(per_kind)
        faults[QualityFault.NAMES][RecordKind.COMPANY] = sum(duplicates.records.values())
        faults[QualityFault.VALIDITY][RecordKind.CONTACT] = int(email_flagged.sum())
        return build_report(
            as_of=self.as_of,
            totals={
                RecordKind.COMPANY: company.total,
                RecordKind.CONTACT: contact.total,
                RecordKind.DEAL: deal.total,
            },
            counts=counts,
            fault_affected=faults,
            affected={
                RecordKind.COMPANY: company.any_fault + duplicates_unflagged,
                # Contacts with an address are never counted by "no email", so the SQL
                # union and the email flags overlap only through the other SQL checks.
                RecordKind.CONTACT: contact.any_fault
                + int((email_flagged & ~scan.other_fault).sum()),
                RecordKind.DEAL: deal.any_fault,
            },
            duplicate_clusters=len(self.duplicate_groups),
            policy=self.policy,
        )

    # --- lists --------------------------------------------------------------------------

    def records(self, check: QualityCheck, *, page: int, per_page: int) -> RecordPage:
        kind = CHECKS[check].kind
        title, why = check_title(check, self.policy), CHECKS[check].why
        offset = (page - 1) * per_page
        if check is QualityCheck.DUPLICATE_COMPANIES:
            groups = self.duplicate_groups
            return RecordPage(
                check=check,
                kind=kind,
                title=title,
                why=why,
                page=page,
                per_page=per_page,
                total=len(groups),
                groups=self._groups(groups[offset : offset + per_page]),
            )
        if check in _EMAIL_CHECKS:
            scan = self.emails
            ids = np.sort(scan.ids[scan.flagged(check)])[::-1]
            wanted = [int(i) for i in ids[offset : offset + per_page]]
            records = self._records(kind, Contact.id.in_(wanted)) if wanted else []
            return RecordPage(
                check=check,
                kind=kind,
                title=title,
                why=why,
                page=page,
                per_page=per_page,
                total=int(ids.size),
                records=records,
            )
        table = self.tables[kind]
        condition = and_(table.live, table.conditions[check])
        total = self.session.scalar(select(func.count()).select_from(table.source).where(condition))
        return RecordPage(
            check=check,
            kind=kind,
            title=title,
            why=why,
            page=page,
            per_page=per_page,
            total=total or 0,
            records=self._records(
                kind, condition, source=table.source, limit=per_page, offset=offset
            ),
        )

    def _records(
        self,
        kind: RecordKind,
        condition: ColumnElement[bool],
        *,
        source: FromClause | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[QualityRecord]:
        columns: tuple[Any, ...]
        if kind is RecordKind.COMPANY:
            columns = (
                Company.id,
                Company.external_id,
                Company.name,
                Company.status,
                Company.status_updated_at,
                Company.corporate_number,
            )
            source = source if source is not None else Company.__table__
        else:
            model = Contact if kind is RecordKind.CONTACT else Deal
            columns = (
                model.id,
                model.external_id,
                model.name,
                model.company_id,
                Company.name.label("company_name"),
                Contact.email if kind is RecordKind.CONTACT else Deal.outcome,
            )
            source = (source if source is not None else model.__table__).outerjoin(
                Company.__table__, Company.id == model.company_id
            )
        stmt = (
            select(*columns)
            .select_from(source)
            .where(condition)
            .order_by(columns[0].desc())
            .limit(limit)
            .offset(offset)
        )
        # The columns are named after QualityRecord's fields.
        return [QualityRecord(kind=kind, **row._mapping) for row in self.session.execute(stmt)]

    def _groups(self, groups: Sequence[DuplicateCluster]) -> list[DuplicateGroup]:
        ids = [i for group in groups for i in group.ids]
        names: dict[int, str] = {}
        for chunk in _chunks(ids):
            query = select(Company.id, Company.name).where(Company.id.in_(chunk))
            names.update((company_id, name) for company_id, name in self.session.execute(query))
        return [
            DuplicateGroup(
                ids=list(group.ids),
                external_ids=list(group.external_ids),
                names=[names.get(i, "") for i in group.ids],
                score=group.score,
                evidence=list(group.evidence),
            )
            for group in groups
        ]


def _scan(session: Session, as_of: date, policy: QualityPolicy | None) -> _Scan:
    return _Scan(session, as_of=as_of, policy=policy or load_policy(session, QualityPolicy))


def quality_report(
    session: Session, *, as_of: date, policy: QualityPolicy | None = None
) -> QualityReport:
    """Counts of every check, per fault and overall, and what to fix first."""
    return _scan(session, as_of, policy).report()


def quality_records(
    session: Session,
    *,
    check: QualityCheck | str,
    as_of: date,
    page: int = 1,
    per_page: int = 50,
    policy: QualityPolicy | None = None,
) -> RecordPage:
    """One page of the records a check flags, newest first (duplicate groups for names)."""
    try:
        check = QualityCheck(check)
    except ValueError:
        raise InvalidInputError(
            f"unknown quality check {check!r} (one of {', '.join(QualityCheck)})"
        ) from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInputError(f"page must be >= 1 and per_page 1..{MAX_PER_PAGE}")
    return _scan(session, as_of, policy).records(check, page=page, per_page=per_page)


def quality_overview(
    session: Session, *, as_of: date, sample: int = 10, policy: QualityPolicy | None = None
) -> QualityOverview:
    """The report and the first `sample` records of every check (none when sample is 0)."""
    if not 0 <= sample <= MAX_PER_PAGE:
        raise InvalidInputError(f"sample must be 0..{MAX_PER_PAGE}")
    scan = _scan(session, as_of, policy)
    report = scan.report()
    samples = (
        {check: scan.records(check, page=1, per_page=sample) for check in QualityCheck}
        if sample
        else {}
    )
    return QualityOverview(report=report, samples=samples)
