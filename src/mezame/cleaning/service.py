"""名寄せ, finding: candidate duplicates among the stored customers, and the review queue.

Detection loads only the columns it compares, streamed, into the pure records of
cleaning.dedupe, with the thresholds from the policy store, and leaves out the pairs a person
decided are not duplicates. Merging and undo are in cleaning.merges.service. Services flush;
the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.orm import Session

from mezame.cleaning.dedupe import (
    CompanyRecord,
    ContactRecord,
    DedupePolicy,
    DuplicateCluster,
    DuplicateReport,
    find_company_duplicates,
    find_contact_duplicates,
)
from mezame.errors import InvalidInputError
from mezame.models import Base, Company, Contact, DuplicateDecision
from mezame.policy.service import load_policy

Kind = Literal["companies", "contacts"]
KINDS: tuple[Kind, ...] = get_args(Kind)
CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit
_STREAM = 20_000


@dataclass(frozen=True, slots=True)
class CandidateMember:
    """A record in the review queue, with what a person compares."""

    id: int
    external_id: str | None
    name: str | None
    details: tuple[tuple[str, str], ...]  # (field, value) for the non-empty fields shown


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A candidate cluster waiting for a person's decision."""

    kind: str
    cluster: DuplicateCluster
    members: tuple[CandidateMember, ...]


def record_table(kind: str) -> Table:
    """The table of companies or of contacts; another kind is bad input."""
    if kind not in KINDS:
        raise InvalidInputError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    return Base.metadata.tables[kind]


# --- detection ------------------------------------------------------------------------------


def find_duplicates(session: Session, kind: Kind) -> DuplicateReport:
    """Candidate duplicates among the live (unmerged) records, with DB ids, external ids,
    score and evidence; pairs a person rejected or marked not-duplicate are left out."""
    policy = load_policy(session, DedupePolicy)
    apart = decided_pairs(session, kind)
    if kind == "companies":
        return find_company_duplicates(list(company_records(session)), policy, apart=apart)
    record_table(kind)
    return find_contact_duplicates(list(contact_records(session)), policy, apart=apart)


def decided_pairs(session: Session, kind: str) -> set[tuple[int, int]]:
    """Record-id pairs a person decided are not to be merged."""
    rows = session.execute(
        select(DuplicateDecision.record_a, DuplicateDecision.record_b).where(
            DuplicateDecision.kind == kind
        )
    )
    return {(a, b) for a, b in rows}


def _email_domain(session: Session, email: Any) -> ColumnElement[str]:
    """The part after the @, lower-cased, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.lower(func.split_part(email, "@", 2))
    return func.lower(func.substr(email, func.instr(email, "@") + 1))


def company_records(session: Session, ids: Sequence[int] | None = None) -> Iterator[CompanyRecord]:
    """Live companies with the email domains of their live contacts, streamed."""
    live_contacts = [
        Contact.company_id.is_not(None),
        Contact.email.is_not(None),
        Contact.merged_into_id.is_(None),
    ]
    if ids is not None:
        live_contacts.append(Contact.company_id.in_(ids))
    domain = _email_domain(session, Contact.email)
    domains: dict[int, list[str]] = {}
    for company_id, found in session.execute(
        select(Contact.company_id, domain).where(*live_contacts).distinct()
    ):
        if found and company_id is not None:
            domains.setdefault(company_id, []).append(found)
    query = select(
        Company.id,
        Company.external_id,
        Company.name,
        Company.corporate_number,
        Company.phone,
        Company.website,
        Company.postal_code,
        Company.address,
    ).where(Company.merged_into_id.is_(None))
    if ids is not None:
        query = query.where(Company.id.in_(ids))
    for row in session.execute(query.order_by(Company.id).execution_options(yield_per=_STREAM)):
        yield CompanyRecord(
            id=row.id,
            external_id=row.external_id,
            name=row.name,
            corporate_number=row.corporate_number,
            phone=row.phone,
            website=row.website,
            email_domains=tuple(sorted(domains.get(row.id, ()))),
            postal_code=row.postal_code,
            address=row.address,
        )


def contact_records(session: Session, ids: Sequence[int] | None = None) -> Iterator[ContactRecord]:
    query = select(
        Contact.id,
        Contact.external_id,
        Contact.name,
        Contact.company_id,
        Contact.email,
        Contact.phone,
        Contact.mobile,
    ).where(Contact.merged_into_id.is_(None))
    if ids is not None:
        query = query.where(Contact.id.in_(ids))
    for row in session.execute(query.order_by(Contact.id).execution_options(yield_per=_STREAM)):
        yield ContactRecord(
            id=row.id,
            external_id=row.external_id,
            name=row.name,
            company_id=row.company_id,
            email=row.email,
            phone=row.phone,
            mobile=row.mobile,
        )


# --- review queue ---------------------------------------------------------------------------

_SHOWN = {
    "companies": ("corporate_number", "phone", "address", "website"),
    "contacts": ("email", "company_name", "department", "phone", "mobile"),
}


def review_queue(session: Session, kind: Kind) -> tuple[list[ReviewItem], int]:
    """Clusters with a link below the auto-merge threshold, strongest first, with their
    members; and how many certain clusters wait for the automatic merge."""
    report = find_duplicates(session, kind)
    waiting = sorted((c for c in report.clusters if not c.auto), key=lambda c: (-c.score, c.ids[0]))
    members = _members(session, kind, [i for c in waiting for i in c.ids])
    items = [
        ReviewItem(kind=kind, cluster=c, members=tuple(members[i] for i in c.ids)) for c in waiting
    ]
    return items, len(report.auto_clusters)


def _members(session: Session, kind: str, ids: Sequence[int]) -> dict[int, CandidateMember]:
    table = record_table(kind)
    shown = _SHOWN[kind]
    found: dict[int, CandidateMember] = {}
    for chunk in id_chunks(ids):
        if kind == "companies":
            query = select(table.c.id, table.c.external_id, table.c.name, *table.c[shown])
        else:
            company = Company.__table__
            query = select(
                table.c.id,
                table.c.external_id,
                table.c.name,
                table.c.email,
                company.c.name.label("company_name"),
                table.c.department,
                table.c.phone,
                table.c.mobile,
            ).outerjoin(company, company.c.id == table.c.company_id)
        for row in session.execute(query.where(table.c.id.in_(chunk))):
            values = row._mapping
            found[row.id] = CandidateMember(
                id=row.id,
                external_id=row.external_id,
                name=row.name,
                details=tuple((f, str(values[f])) for f in shown if values[f]),
            )
    return found


def id_chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])
