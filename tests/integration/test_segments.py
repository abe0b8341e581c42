"""Segments in SQL agree with a plain-Python reading of the same definition, on both backends.

The oracle below restates each field's meaning (mezame.segments.filters docstring) over
in-memory rows; hypothesis builds small random datasets and definitions and the count,
the id list and the oracle must agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from mezame.accounts.service import create_user
from mezame.campaigns.service import StepContent, create_campaign, freeze_audience
from mezame.customers.activity.service import note_activity_since
from mezame.errors import InvalidInputError, NotFoundError
from mezame.models import (
    CampaignSend,
    Company,
    ConsentRecord,
    Contact,
    ContactTag,
    DormantCustomer,
    EngagementEvent,
    Segment,
)
from mezame.segments import service
from mezame.segments.filters import (
    NEGATIONS,
    Group,
    Op,
    parse_definition,
)
from mezame.vocabulary import CONTACT_ACTIVITY_EVENTS

AS_OF = date(2026, 11, 23)
TEXTS = ["Sales", "sales team", "営業部", "50%_off", "", " ", None]
INDUSTRIES = ["製造業", "IT", "Retail", "", None]
EMAILS = ["a@Example.jp", " b@example.jp", "c@other.co.jp", "d@sub.example.jp", "", None]
DOMAINS = ["example.jp", "other.co.jp", "EXAMPLE.JP", "sub.example.jp", "nowhere.jp"]
TAGS = ["vip", "展示会2026", "x_y"]
BASES = ["opt_in", "business_card", "existing_transaction", "none"]
EVENT_TYPES = ["mail_opened", "site_visit", "mail_sent", "inquiry"]


# --- the oracle -------------------------------------------------------------------------------


@dataclass
class Row:
    """One contact with everything the fields read, flattened."""

    id: int
    company: dict[str, Any] | None
    attrs: dict[str, Any]
    email: str | None
    tags: set[str] = field(default_factory=set)
    dormant: list[dict[str, Any]] = field(default_factory=list)
    consents: list[tuple[str, bool]] = field(default_factory=list)  # (basis, withdrawn)
    activity: list[datetime] = field(default_factory=list)  # engagement events + last seen


def _compare(x: Any, op: Op, v: Any, *, text: bool = False) -> bool:
    if op == Op.IS_NOT_EMPTY:
        return x is not None and (not text or x.strip(" ") != "")
    if x is None:
        return False
    if op == Op.EQ:
        return bool(x == v)
    if op == Op.IN:
        return x in v
    if op == Op.CONTAINS:
        return v.lower() in x.lower()
    if op == Op.STARTS_WITH:
        return bool(x.lower().startswith(v.lower()))
    if op == Op.GT:
        return bool(x > v)
    if op == Op.GTE:
        return bool(x >= v)
    if op == Op.LT:
        return bool(x < v)
    if op == Op.LTE:
        return bool(x <= v)
    if op == Op.BETWEEN:
        return bool(v[0] <= x <= v[1])
    if op == Op.WITHIN_DAYS:
        return bool(x >= AS_OF - timedelta(days=v))
    if op == Op.OLDER_THAN_DAYS:
        return bool(x < AS_OF - timedelta(days=v))
    raise AssertionError(op)


TEXT_FIELDS = {"company.name", "company.industry", "contact.department", "contact.title"}


def _positive(row: Row, name: str, op: Op, v: Any, user_id: int) -> bool:
    if name in ("contact.owner", "company.owner") and v is not None:
        v = [user_id if x == "me" else x for x in v] if isinstance(v, list) else v
        v = user_id if v == "me" else v
    text = name in TEXT_FIELDS
    group, _, attr = name.partition(".")
    if group == "company":
        return row.company is not None and _compare(row.company[attr], op, v, text=text)
    if name in ("contact.department", "contact.title", "contact.owner", "contact.acquired_on"):
        return _compare(row.attrs[attr], op, v, text=text)
    if group == "lead":
        return _compare(row.attrs["lead_" + attr], op, v)
    if group == "dormancy":
        return any(_compare(d[attr], op, v) for d in row.dormant)
    if name == "contact.email_domain":
        domains = v if isinstance(v, list) else [v]
        address = (row.email or "").strip(" ").lower()
        return row.email is not None and any(address.endswith("@" + d) for d in domains)
    if name == "tag":
        return bool(row.tags & set(v if isinstance(v, list) else [v]))
    if name == "consent.basis":
        live = {b for b, withdrawn in row.consents if not withdrawn}
        wanted = set(v if isinstance(v, list) else [v])
        return bool(live & (wanted - {"none"})) or (
            "none" in wanted and not live & {"opt_in", "business_card", "existing_transaction"}
        )
    if name == "last_activity":
        if op == Op.IS_NOT_EMPTY:
            return bool(row.activity)
        cutoff = datetime.combine(AS_OF - timedelta(days=v), time.min, tzinfo=UTC)
        recent = any(a >= cutoff for a in row.activity)
        return recent if op == Op.WITHIN_DAYS else bool(row.activity) and not recent
    raise AssertionError(name)


def oracle(group: Group, row: Row, user_id: int) -> bool:
    results = []
    for item in group.rules:
        if isinstance(item, Group):
            results.append(oracle(item, row, user_id))
            continue
        positive = NEGATIONS.get(item.op)
        op = positive or item.op
        hit = _positive(row, item.field, op, item.value, user_id)
        results.append(not hit if positive else hit)
    return all(results) if group.match == "all" else any(results)


# --- random data and definitions --------------------------------------------------------------

days_ago = st.integers(min_value=0, max_value=400)
companies_st = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["株式会社Sales", "sales商事", "50%_off工業", "ABC"]),
            "industry": st.sampled_from(INDUSTRIES),
            "status": st.sampled_from(["prospect", "customer", "former", "unknown"]),
            "employee_count": st.one_of(st.none(), st.integers(1, 500)),
            "owner": st.sampled_from([None, 0, 1]),
        }
    ),
    max_size=4,
)
contacts_st = st.lists(
    st.fixed_dictionaries(
        {
            "company": st.one_of(st.none(), st.integers(0, 3)),
            "department": st.sampled_from(TEXTS),
            "title": st.sampled_from(TEXTS),
            "email": st.sampled_from(EMAILS),
            "owner": st.sampled_from([None, 0, 1]),
            "acquired": st.one_of(st.none(), days_ago),
            "lead_band": st.sampled_from([None, "hot", "warm", "cold"]),
            "lead_score": st.integers(0, 100),
            "merged": st.sampled_from([False, False, False, True]),
            "tags": st.sets(st.sampled_from(TAGS), max_size=2),
            "dormant": st.lists(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(["former_customer", "lost_deal", "contact_only"]),
                        "reason": st.sampled_from(["price", "function", "timing", "unknown"]),
                        "band": st.sampled_from(["high", "medium", "low", "gone"]),
                        "rank": st.one_of(st.none(), st.integers(1, 20)),
                    }
                ),
                max_size=2,
            ),
            "consents": st.lists(st.tuples(st.sampled_from(BASES), st.booleans()), max_size=2),
            "events": st.lists(st.tuples(st.sampled_from(EVENT_TYPES), days_ago), max_size=3),
            "seen": st.one_of(st.none(), days_ago),
        }
    ),
    min_size=2,
    max_size=8,
)

choice = st.sampled_from
owner_value = st.sampled_from(["me", 0, 1])  # 0/1: index into the users made per example


def _rules_for(name: str) -> st.SearchStrategy[dict[str, Any]]:
    def rule(
        op: str, value: st.SearchStrategy[Any] = st.none()
    ) -> st.SearchStrategy[dict[str, Any]]:
        return value.map(lambda v: {"field": name, "op": op, "value": v})

    text = st.sampled_from(["Sales", "sales", "営業", "50%_", "%", "_"])
    if name in ("company.industry",):
        vals = st.sampled_from([i for i in INDUSTRIES if i])
        return st.one_of(
            rule("eq", vals),
            rule("neq", vals),
            rule("in", st.lists(vals, min_size=1, max_size=2)),
            rule("not_in", st.lists(vals, min_size=1, max_size=2)),
            rule("contains", text),
            rule("is_empty"),
            rule("is_not_empty"),
        )
    if name == "company.name":
        return st.one_of(
            rule("contains", text),
            rule("starts_with", text),
            rule("eq", st.just("ABC")),
            rule("neq", st.just("ABC")),
        )
    if name in ("contact.department", "contact.title"):
        vals = st.sampled_from(["Sales", "sales team", "営業部"])
        return st.one_of(
            rule("eq", vals),
            rule("neq", vals),
            rule("in", st.lists(vals, min_size=1, max_size=2)),
            rule("not_in", st.lists(vals, min_size=1, max_size=2)),
            rule("contains", text),
            rule("starts_with", text),
            rule("is_empty"),
            rule("is_not_empty"),
        )
    if name == "company.status":
        vals = st.sampled_from(["prospect", "customer", "former", "unknown"])
        return st.one_of(
            rule("eq", vals),
            rule("neq", vals),
            rule("in", st.lists(vals, min_size=1, max_size=3)),
            rule("not_in", st.lists(vals, min_size=1, max_size=2)),
        )
    if name in ("company.employee_count", "lead.score", "dormancy.rank"):
        n = st.integers(0, 500) if name != "dormancy.rank" else st.integers(0, 20)
        ops = ["gt", "gte", "lt", "lte"] + ([] if name == "dormancy.rank" else ["eq", "neq"])
        parts = [rule(op, n) for op in ops]
        parts.append(rule("between", st.tuples(n, n).map(lambda t: sorted(t))))
        if name == "company.employee_count":
            parts += [rule("is_empty"), rule("is_not_empty")]
        return st.one_of(*parts)
    if name in ("contact.owner", "company.owner"):
        return st.one_of(
            rule("eq", owner_value),
            rule("neq", owner_value),
            rule("in", st.lists(owner_value, min_size=1, max_size=2)),
            rule("not_in", st.lists(owner_value, min_size=1, max_size=2)),
            rule("is_empty"),
            rule("is_not_empty"),
        )
    if name == "contact.acquired_on":
        d = days_ago.map(lambda n: (AS_OF - timedelta(days=n)).isoformat())
        return st.one_of(
            rule("gt", d),
            rule("lte", d),
            rule("between", st.tuples(d, d).map(lambda t: sorted(t))),
            rule("within_days", days_ago),
            rule("older_than_days", days_ago),
            rule("is_empty"),
            rule("is_not_empty"),
        )
    if name == "contact.email_domain":
        vals = st.sampled_from(DOMAINS)
        return st.one_of(
            rule("eq", vals),
            rule("neq", vals),
            rule("in", st.lists(vals, min_size=1, max_size=2)),
            rule("not_in", st.lists(vals, min_size=1, max_size=2)),
        )
    if name.startswith("dormancy.") or name in ("lead.band", "consent.basis"):
        pools = {
            "dormancy.kind": ["former_customer", "lost_deal", "contact_only"],
            "dormancy.reason": ["price", "function", "timing", "competitor", "unknown"],
            "dormancy.band": ["high", "medium", "low", "gone"],
            "lead.band": ["hot", "warm", "cold"],
            "consent.basis": BASES,
        }
        vals = st.sampled_from(pools[name])
        parts = [
            rule("eq", vals),
            rule("neq", vals),
            rule("in", st.lists(vals, min_size=1, max_size=3)),
            rule("not_in", st.lists(vals, min_size=1, max_size=2)),
        ]
        if name in ("dormancy.kind", "lead.band"):
            parts += [rule("is_empty"), rule("is_not_empty")]
        return st.one_of(*parts)
    if name == "tag":
        vals = st.sampled_from(TAGS)
        return st.one_of(
            rule("eq", vals),
            rule("neq", vals),
            rule("in", st.lists(vals, min_size=1, max_size=2)),
            rule("not_in", st.lists(vals, min_size=1, max_size=2)),
        )
    if name == "last_activity":
        return st.one_of(
            rule("within_days", days_ago),
            rule("older_than_days", days_ago),
            rule("is_empty"),
            rule("is_not_empty"),
        )
    raise AssertionError(name)


FIELD_NAMES = [
    "company.name",
    "company.industry",
    "company.status",
    "company.employee_count",
    "company.owner",
    "contact.department",
    "contact.title",
    "contact.email_domain",
    "contact.owner",
    "contact.acquired_on",
    "dormancy.kind",
    "dormancy.reason",
    "dormancy.band",
    "dormancy.rank",
    "lead.band",
    "lead.score",
    "tag",
    "consent.basis",
    "last_activity",
]
any_rule = st.sampled_from(FIELD_NAMES).flatmap(_rules_for)
definitions = st.recursive(
    st.fixed_dictionaries(
        {"match": st.sampled_from(["all", "any"]), "rules": st.lists(any_rule, max_size=3)}
    ),
    lambda inner: st.fixed_dictionaries(
        {
            "match": st.sampled_from(["all", "any"]),
            "rules": st.lists(st.one_of(any_rule, inner), max_size=3),
        }
    ),
    max_leaves=6,
)


def _bind_users(raw: Any, users: list[int]) -> Any:
    """Owner values 0/1 in generated rules are indexes into the users of this example."""
    if isinstance(raw, dict):
        if raw.get("field") in ("contact.owner", "company.owner"):
            value = raw.get("value")
            mapped = (
                [users[v] if isinstance(v, int) else v for v in value]
                if isinstance(value, list)
                else (users[value] if isinstance(value, int) else value)
            )
            return {**raw, "value": mapped}
        return {k: _bind_users(v, users) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_bind_users(v, users) for v in raw]
    return raw


def _seed(
    s: Session, companies: list[dict[str, Any]], people: list[dict[str, Any]]
) -> tuple[list[int], list[Row]]:
    users = [
        create_user(
            s, email=f"u{i}@example.jp", name=f"u{i}", role="marketing", password="pw-123456789"
        ).id
        for i in range(2)
    ]
    made: list[tuple[Company, dict[str, Any]]] = []
    for n, c in enumerate(companies):
        company = Company(
            import_key=f"c{n}",
            name=c["name"],
            industry=c["industry"],
            status=c["status"],
            employee_count=c["employee_count"],
            owner_id=None if c["owner"] is None else users[c["owner"]],
        )
        s.add(company)
        made.append((company, c))
    s.flush()
    rows: list[Row] = []
    now = datetime.combine(AS_OF, time(12), tzinfo=UTC)
    for n, p in enumerate(people):
        pair = made[p["company"]] if p["company"] is not None and p["company"] < len(made) else None
        contact = Contact(
            import_key=f"p{n}",
            company_id=pair[0].id if pair else None,
            department=p["department"],
            title=p["title"],
            email=p["email"],
            owner_id=None if p["owner"] is None else users[p["owner"]],
            acquired_on=None if p["acquired"] is None else AS_OF - timedelta(days=p["acquired"]),
            lead_band=p["lead_band"],
            lead_score=p["lead_score"],
            last_seen_at=None if p["seen"] is None else now - timedelta(days=p["seen"]),
        )
        s.add(contact)
        s.flush()
        if p["merged"]:
            contact.merged_into_id = contact.id  # only the marker matters to segments
        for tag in p["tags"]:
            s.add(ContactTag(contact_id=contact.id, tag=tag))
        for d in p["dormant"]:
            s.add(_dormant(contact, d))
        for basis, withdrawn in p["consents"]:
            s.add(
                ConsentRecord(
                    contact_id=contact.id,
                    basis=basis,
                    obtained_at=now,
                    withdrawn_at=now if withdrawn else None,
                )
            )
        activity = [] if contact.last_seen_at is None else [contact.last_seen_at]
        for k, (kind, ago) in enumerate(p["events"]):
            at = now - timedelta(days=ago)
            s.add(
                EngagementEvent(
                    dedupe_key=f"{n:04}-{k:04}-evt-pad".encode()[:16].ljust(16, b"."),
                    type=kind,
                    occurred_at=at,
                    contact_id=contact.id,
                )
            )
            if kind in CONTACT_ACTIVITY_EVENTS:
                activity.append(at)
        if p["merged"]:
            continue
        company_data = None
        if pair:
            company_data = {**pair[1], "owner": pair[0].owner_id}
        rows.append(
            Row(
                id=contact.id,
                company=company_data,
                email=p["email"],
                tags=set(p["tags"]),
                attrs={
                    "department": p["department"],
                    "title": p["title"],
                    "owner": contact.owner_id,
                    "acquired_on": contact.acquired_on,
                    "lead_band": p["lead_band"],
                    "lead_score": p["lead_score"],
                },
                dormant=list(p["dormant"]),
                consents=list(p["consents"]),
                activity=activity,
            )
        )
    s.flush()
    # Events went in directly, as a bulk import writes them: the import's own upkeep raises
    # each contact's last activity (customers.activity) before anyone counts a segment.
    note_activity_since(s, after_event_id=0)
    s.flush()
    return users, rows


def _dormant(contact: Contact, d: dict[str, Any]) -> DormantCustomer:
    return DormantCustomer(
        kind=d["kind"],
        company_id=contact.company_id,
        contact_id=contact.id,
        fell_asleep_on=AS_OF,
        trigger="last_order",
        asleep_days=400,
        excluded=d["band"] == "gone",
        rank=d["rank"],
        score=1.0,
        band=d["band"],
        reason=d["reason"],
        reason_confidence=1.0,
        reason_inferred=False,
        order_count=1,
        spend=1,
        contract_months=0,
        interest=0.0,
        change_answers_reason=False,
        channel="mail",
        angle="x",
        **{
            f"pts_{f}": 0.0
            for f in (
                "kind",
                "frequency",
                "spend",
                "contract",
                "expected_value",
                "p_alive",
                "asleep",
                "change",
                "interest",
                "reach",
            )
        },
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    companies=companies_st, people=contacts_st, raws=st.lists(definitions, min_size=3, max_size=8)
)
def test_sql_agrees_with_the_oracle(
    session: Session,
    companies: list[dict[str, Any]],
    people: list[dict[str, Any]],
    raws: list[dict[str, Any]],
) -> None:
    try:
        users, rows = _seed(session, companies, people)
        event(f"contacts={len(rows)}")
        for raw in raws:
            definition = parse_definition(_bind_users(raw, users))
            expected = sorted(r.id for r in rows if oracle(definition, r, users[0]))
            ids = sorted(
                session.scalars(
                    service.segment_contacts(session, definition, as_of=AS_OF, user_id=users[0])
                )
            )
            assert ids == expected, definition.as_json()
            assert service.count_segment(session, definition, as_of=AS_OF, user_id=users[0]) == len(
                expected
            )
    finally:
        session.rollback()


# --- fixed cases ------------------------------------------------------------------------------


def _contacts(s: Session, **columns: list[Any]) -> list[int]:
    n = len(next(iter(columns.values())))
    made = [Contact(import_key=f"k{i}", **{k: v[i] for k, v in columns.items()}) for i in range(n)]
    s.add_all(made)
    s.flush()
    return [c.id for c in made]


def _ids(s: Session, definition: dict[str, Any], user_id: int | None = None) -> list[int]:
    stmt = service.segment_contacts(s, definition, as_of=AS_OF, user_id=user_id)
    return sorted(s.scalars(stmt))


def _one(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"match": "all", "rules": [{"field": field, "op": op, "value": value}]}


def test_edges_of_days_blanks_and_like_wildcards(session: Session) -> None:
    ids = _contacts(
        session,
        acquired_on=[AS_OF - timedelta(days=30), AS_OF - timedelta(days=31), None],
        department=["50%_off", "500 off", " "],
    )
    assert _ids(session, _one("contact.acquired_on", "within_days", 30)) == ids[:1]
    assert _ids(session, _one("contact.acquired_on", "older_than_days", 30)) == ids[1:2]
    assert _ids(session, _one("contact.department", "contains", "%_")) == ids[:1]
    assert _ids(session, _one("contact.department", "is_empty")) == ids[2:]


def _companies(s: Session, *rows: tuple[str, str]) -> list[int]:
    made = [
        Company(import_key=f"c{i}", name=f"c{i}", status=status, industry=industry)
        for i, (status, industry) in enumerate(rows)
    ]
    s.add_all(made)
    s.flush()
    return [c.id for c in made]


def _group(match: str, *rules: tuple[str, str, Any]) -> dict[str, Any]:
    return {"match": match, "rules": [{"field": f, "op": o, "value": v} for f, o, v in rules]}


def test_company_rules_of_a_group_read_one_company(session: Session) -> None:
    """Same-sign company rules of a group become one company subquery, meaning unchanged."""
    both, customer, maker = _companies(
        session, ("customer", "製造業"), ("customer", "IT"), ("prospect", "製造業")
    )
    a, b, c, d = _contacts(session, company_id=[both, customer, maker, None])
    cases = [
        ("all", "eq", "eq", [a]),
        ("any", "eq", "eq", [a, b, c]),
        ("all", "neq", "neq", [d]),  # neither a customer nor 製造業 (no company: neither)
        ("any", "neq", "neq", [b, c, d]),  # not both
    ]
    for match, status_op, industry_op, expected in cases:
        definition = _group(
            match,
            ("company.status", status_op, "customer"),
            # Neutral (no contact has a department): a third rule of another kind.
            ("contact.department", "is_empty" if match == "all" else "is_not_empty", None),
            ("company.industry", industry_op, "製造業"),
        )
        assert _ids(session, definition) == expected, (match, status_op)
        sql = str(service.segment_contacts(session, definition, as_of=AS_OF).compile())
        assert sql.count("FROM companies") == 1, sql
    # Rules of opposite signs stay apart: customers outside 製造業.
    mixed = _group(
        "all", ("company.status", "eq", "customer"), ("company.industry", "neq", "製造業")
    )
    assert _ids(session, mixed) == [b]


def test_not_merged_is_written_for_each_planner(session: Session) -> None:
    """PostgreSQL gets IS NULL (it has statistics for it; for coalesce(…) = 0 it guesses
    0.5 % of the contacts and chooses nested loops); SQLite gets coalesce, so it does not
    walk ix_contacts_merged_into_id."""
    a, b = _contacts(session, lead_band=["hot", "hot"])
    session.get(Contact, b).merged_into_id = a  # type: ignore[union-attr]
    session.flush()
    stmt = service.segment_contacts(session, _one("lead.band", "eq", "hot"), as_of=AS_OF)
    sql = str(stmt.compile(session.get_bind()))
    postgres = session.get_bind().dialect.name == "postgresql"
    assert ("contacts.merged_into_id IS NULL" in sql) is postgres, sql
    assert ("coalesce(contacts.merged_into_id" in sql) is not postgres, sql
    assert list(session.scalars(stmt)) == [a]
    assert service.count_segment(session, _one("lead.band", "eq", "hot"), as_of=AS_OF) == 1


def test_sqlite_reads_every_contact_for_a_broad_company_set(sqlite_engine: Any) -> None:
    """SQLite assumes an IN (SELECT …) set is small and drives the query through
    ix_contacts_company_id from it; past a quarter of the companies that is slower than
    one pass over the contacts, so the broad set is written to keep the index out."""
    with Session(sqlite_engine) as s:
        ids = _companies(s, *[("customer", "製造業")] + [("prospect", "IT")] * 7)
        _contacts(s, company_id=[ids[i % 8] for i in range(40)])

        def plan(definition: dict[str, Any]) -> str:
            stmt = service.segment_contacts(s, definition, as_of=AS_OF)
            compiled = stmt.compile(sqlite_engine, compile_kwargs={"literal_binds": True})
            rows = s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            return " | ".join(str(r[-1]) for r in rows)

        narrow = _one("company.status", "eq", "customer")  # 1 of 8 companies
        broad = _one("company.status", "eq", "prospect")  # 7 of 8
        assert "ix_contacts_company_id" in plan(narrow)
        assert "ix_contacts_company_id" not in plan(broad)
        assert "SCAN contacts" in plan(broad)
        assert len(_ids(s, narrow)) == 5
        assert len(_ids(s, broad)) == 35


def test_mailable_now_follows_the_consent_rules(session: Session) -> None:
    ids = _contacts(session, email=["ok@x.jp", "gone@x.jp", None, "none@x.jp"])
    now = datetime.combine(AS_OF, time(9), tzinfo=UTC)
    for contact_id in ids[:3]:
        session.add(ConsentRecord(contact_id=contact_id, basis="opt_in", obtained_at=now))
    session.flush()
    from mezame.compliance.service import suppress
    from mezame.mail.compliance import SuppressionReason

    suppress(session, email="GONE@x.jp", reason=SuppressionReason.UNSUBSCRIBED, source="test")
    assert _ids(session, _one("consent.mailable", "eq", True)) == ids[:1]
    assert _ids(session, _one("consent.mailable", "eq", False)) == ids[1:]


def test_segments_compose_and_refuse_cycles(session: Session) -> None:
    ids = _contacts(session, lead_band=["hot", "warm", "cold"])
    hot = service.create_segment(session, name="hot", definition=_one("lead.band", "eq", "hot"))
    warm_or_hot = service.create_segment(
        session,
        name="warm or hot",
        definition={
            "match": "any",
            "rules": [
                {"field": "segment", "op": "eq", "value": hot.id},
                {"field": "lead.band", "op": "eq", "value": "warm"},
            ],
        },
    )
    not_hot = _one("segment", "neq", hot.id)
    assert _ids(session, warm_or_hot) == ids[:2]
    assert _ids(session, not_hot) == ids[1:]
    with pytest.raises(InvalidInputError, match=r"refer to each other: \d+ → \d+ → \d+"):
        service.update_segment(session, hot.id, definition=_one("segment", "eq", warm_or_hot.id))
    with pytest.raises(InvalidInputError, match="cannot include itself"):
        service.update_segment(session, hot.id, definition=_one("segment", "eq", hot.id))
    with pytest.raises(InvalidInputError, match="used by segment"):
        service.delete_segment(session, hot.id)
    with pytest.raises(InvalidInputError, match="already exists"):
        service.create_segment(session, name=" hot ", definition=_one("tag", "eq", "x"))
    with pytest.raises(NotFoundError):
        service.get_segment(session, 10_000)


def test_me_needs_a_user(session: Session) -> None:
    with pytest.raises(InvalidInputError, match='"me" needs a logged-in user'):
        service.count_segment(session, _one("contact.owner", "eq", "me"), as_of=AS_OF)


def test_a_campaign_without_a_list_mails_its_segment(session: Session) -> None:
    ids = _contacts(session, email=["a@x.jp", "b@x.jp", "c@x.jp"], lead_band=["hot", "hot", "cold"])
    now = datetime.combine(AS_OF, time(9), tzinfo=UTC)
    for contact_id in ids:
        session.add(ConsentRecord(contact_id=contact_id, basis="opt_in", obtained_at=now))
    session.get(Contact, ids[1]).merged_into_id = ids[0]  # type: ignore[union-attr]
    segment = service.create_segment(session, name="hot", definition=_one("lead.band", "eq", "hot"))
    campaign = create_campaign(session, name="c", steps=[StepContent(subject="s", html="<p>x</p>")])
    campaign.segment_id = segment.id
    counts = freeze_audience(session, campaign_id=campaign.id, as_of=now)
    assert (counts.queued, counts.skipped) == (1, 0)
    sent_to = session.scalars(
        select(CampaignSend.contact_id).where(CampaignSend.campaign_id == campaign.id)
    )
    assert list(sent_to) == [ids[0]]
    # A segment that an unfinished campaign mails cannot be deleted.
    with pytest.raises(InvalidInputError, match="audience of campaign"):
        service.delete_segment(session, segment.id)
    campaign.status = "finished"
    service.delete_segment(session, segment.id)
    assert session.get(Segment, segment.id) is None
    assert campaign.segment_id is None or session.scalar(select(CampaignSend.id)) is not None


def test_tags_are_idempotent_and_normalised(session: Session) -> None:
    (contact,) = _contacts(session, name=["山田"])
    assert service.add_tag(session, contact_id=contact, tag="  展示会  2026 ")
    assert not service.add_tag(session, contact_id=contact, tag="展示会 2026")
    assert service.contact_tags(session, contact) == ["展示会 2026"]
    assert _ids(session, _one("tag", "eq", "展示会 2026")) == [contact]
    assert service.remove_tag(session, contact_id=contact, tag="展示会 2026")
    assert not service.remove_tag(session, contact_id=contact, tag="展示会 2026")
    with pytest.raises(InvalidInputError, match="tag: longer than 50"):
        service.add_tag(session, contact_id=contact, tag="x" * 51)
    with pytest.raises(NotFoundError):
        service.add_tag(session, contact_id=contact + 100, tag="x")
    assert session.scalar(select(ContactTag.id)) is None
