"""The merge-field columns of a contact, as SQL the sender's claim query and previews share.

Per contact: the owner (the contact's, else the company's), the company's last order, and
the contact's dormancy record — its own (contact-only) record first, else its company's,
best-ranked first — with the one change since last time the dormancy run matched to it.
Each is one indexed lookup per row of a page, never a pass over all contacts in Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, aliased

from mezame.errors import NotFoundError
from mezame.models import Company, Contact, DormantCustomer, Order, User
from mezame.sending.compose import Recipient

MERGE_COLUMNS = (
    "owner_name",
    "owner_email",
    "last_product",
    "last_ordered_on",
    "last_amount",
    "dormancy_reason",
    "fell_asleep_on",
    "change",
)


def _dormancy_row() -> ColumnElement[Any]:
    """The contact's dormancy record id: its own first, then its company's, in rank order.

    Two lookups rather than one ordered by "is it the contact's own": each uses its index,
    and SQLite cannot order a subquery by an outer column.
    """

    def first(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return (
            select(DormantCustomer.id)
            .where(condition)
            .order_by(DormantCustomer.id)
            .limit(1)
            .correlate(Contact)
            .scalar_subquery()
        )

    return func.coalesce(
        first(DormantCustomer.contact_id == Contact.id),
        first(DormantCustomer.company_id == Contact.company_id),
    )


def change_of_contact() -> ColumnElement[Any]:
    """The one change since last time for the contact in the enclosing query (NULL: none)."""
    return (
        select(DormantCustomer.change_description)
        .where(DormantCustomer.id == _dormancy_row())
        .correlate(Contact)
        .scalar_subquery()
    )


def with_merge_fields(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`query` (which selects from Contact outer-joined to Company) plus MERGE_COLUMNS."""
    owner = aliased(User)
    last = aliased(Order)
    dormant = aliased(DormantCustomer)
    last_order = (
        select(Order.id)
        .where(Order.company_id == Contact.company_id)
        .order_by(Order.ordered_on.desc(), Order.id.desc())
        .limit(1)
        .correlate(Contact)
        .scalar_subquery()
    )
    return (
        query.add_columns(
            owner.name.label("owner_name"),
            owner.email.label("owner_email"),
            last.product.label("last_product"),
            last.ordered_on.label("last_ordered_on"),
            last.amount.label("last_amount"),
            dormant.reason.label("dormancy_reason"),
            dormant.fell_asleep_on.label("fell_asleep_on"),
            dormant.change_description.label("change"),
        )
        .outerjoin(owner, owner.id == func.coalesce(Contact.owner_id, Company.owner_id))
        .outerjoin(last, last.id == last_order)
        .outerjoin(dormant, dormant.id == _dormancy_row())
    )


def merge_values(row: Any) -> dict[str, Any]:
    """The MERGE_COLUMNS of a result row, as Recipient keyword arguments."""
    mapping = row._mapping
    return {name: mapping[name] for name in MERGE_COLUMNS}


def recipient_for_contact(
    session: Session, contact_id: int, *, email: str | None = None
) -> Recipient:
    """A Recipient for previews and test sends (send id 0: its links record nothing)."""
    row = session.execute(
        with_merge_fields(
            select(
                Contact.id,
                Contact.email,
                Contact.name,
                Contact.department,
                Contact.title,
                Company.name.label("company_name"),
            )
            .select_from(Contact)
            .outerjoin(Company, Company.id == Contact.company_id)
            .where(Contact.id == contact_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    return Recipient(
        send_id=0,
        step_id=0,
        contact_id=row.id,
        attempts=0,
        email=email or (row.email or "").strip(),
        name=row.name,
        department=row.department,
        title=row.title,
        company_name=row.company_name,
        **merge_values(row),
    )
