"""Recompute dormancy, statistics and priority for every customer, set-based, and store it.

`recompute(session, as_of=…)` reads the history as columns (mezame.dormancy.history.service),
runs the pure core — rules → statistics → reasons → changes → priority → approach — and
replaces the stored results with one bulk insert in rank order (COPY on PostgreSQL). The
threshold suggestions and the fitted models are kept with the run.

Reading the results and editing the settings is mezame.dormancy.results.service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mezame.dormancy import approach, priority, rules, suggest
from mezame.dormancy.changes import (
    CHANGE_KINDS,
    REASONS,
    ChangesPolicy,
    epoch_day,
    match_changes,
    price_rise_confidence,
)
from mezame.dormancy.history.service import (
    Companies,
    Contacts,
    Orders,
    Responses,
    columns,
    company_texts,
    epoch_day_sql,
    last_lines,
    load_companies,
    load_contacts,
    load_deals,
    load_orders,
    positions,
)
from mezame.dormancy.priority import BANDS, FACTORS, PriorityInputs, PriorityPolicy
from mezame.dormancy.reasons import ReasonTerms, classify_reasons
from mezame.dormancy.rules import KINDS, MISSING, TRIGGERS, DormancyKind, DormancyPolicy
from mezame.dormancy.statistics import CustomerStats, customer_statistics
from mezame.models import Deal, DormancyRun, DormantCustomer, utcnow
from mezame.policy.service import load_policy
from mezame.vocabulary import LostReason

log = logging.getLogger("mezame.dormancy")

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RecomputeSummary:
    """What one recompute found: counts per kind and band, the models, and how long it took."""

    run_id: int
    as_of: date
    counts: dict[str, int]
    models: dict[str, Any]
    seconds: float

    def dormant(self, kind: DormancyKind) -> int:
        return self.counts.get(f"dormant.{kind.value}", 0)


# ---------------------------------------------------------------------------------------------
# The recompute


def recompute(
    session: Session, *, as_of: date, progress: Progress | None = None
) -> RecomputeSummary:
    """Compute and store dormancy, statistics and priority for every customer as of a day."""
    started = time.perf_counter()
    started_at = utcnow()

    def step(name: str) -> None:
        log.info("dormancy: %s (%.1fs)", name, time.perf_counter() - started)
        if progress is not None:
            progress(name)

    policy = load_policy(session, DormancyPolicy)
    changes = load_policy(session, ChangesPolicy).sorted()
    weights = load_policy(session, PriorityPolicy)
    terms = load_policy(session, ReasonTerms)
    as_of_day = epoch_day(as_of)

    step("load")
    c = load_companies(session, as_of, as_of_day)
    orders = load_orders(session, c, as_of, as_of_day)
    load_deals(session, c, as_of, as_of_day)
    contacts, responses = load_contacts(session, c, policy, as_of, as_of_day)
    needs_lines = bool(policy.former_customer_by_line) or any(
        ch.product_line for ch in changes.changes
    )
    company_lines = last_lines(session, c.ids, as_of) if needs_lines else None

    step("classify")
    line_months = None
    if policy.former_customer_by_line and company_lines is not None:
        line_months = np.full(c.ids.size, -1, dtype=np.int64)
        for line, months in policy.former_customer_by_line.items():
            line_months[company_lines == line] = months
    by_company = rules.classify_companies(
        rules.CompanyFacts(
            last_order=c.last_order,
            contract_end=c.contract_end,
            cancellation=c.cancellation,
            last_lost=c.last_lost,
            last_lost_postponed=c.last_lost_postponed,
            open_deals=c.open_deals,
            line_months=line_months,
        ),
        policy,
        as_of=as_of_day,
    )
    related = (c.order_count > 0) | c.has_deals | (c.last_order != MISSING)
    company_of_contact = np.maximum(contacts.company, 0)
    candidates = ~((contacts.company >= 0) & related[company_of_contact])
    by_contact = rules.classify_contacts(
        rules.ContactFacts(
            company_has_relationship=~candidates,
            acquired=contacts.acquired,
            last_response=contacts.last_response,
        ),
        policy,
        as_of=as_of_day,
    )

    step("statistics")
    stats = customer_statistics(orders.company, orders.day, orders.amount, c.ids.size, as_of)

    step("records")
    records = _records(c, contacts, by_company, by_contact, stats, company_lines)

    step("reasons")
    reason, confidence, inferred, matched_terms = _reasons(
        session, records, c, by_company, changes, terms, as_of
    )

    step("priority")
    n = records.kind.size
    change_match = match_changes(
        changes,
        fell_asleep=records.fell_asleep,
        reason=reason,
        lines=records.line,
        as_of=as_of_day,
    )
    has_change = change_match.change >= 0
    change_kind = np.full(n, -1, dtype=np.int8)
    for position, change in enumerate(changes.changes):
        change_kind[change_match.change == position] = CHANGE_KINDS.index(change.kind)
    kind_rules = [policy.rule(k) for k in KINDS]
    threshold_months = np.array([r.after_months for r in kind_rules])[records.kind]
    if line_months is not None:
        from_line = (records.company >= 0) & (
            records.kind == KINDS.index(DormancyKind.FORMER_CUSTOMER)
        )
        own = line_months[np.maximum(records.company, 0)]
        threshold_months = np.where(from_line & (own >= 0), own, threshold_months)
    bound_months = np.array([r.exclude_after_months for r in kind_rules])[records.kind]
    # Current interest is the lead score (SPEC 6.2); until signals are scored it is zero.
    interest = np.zeros(n)
    scored = priority.score(
        PriorityInputs(
            kind=records.kind,
            asleep_days=as_of_day - records.fell_asleep,
            threshold_days=priority.threshold_days(threshold_months),
            bound_days=priority.threshold_days(bound_months),
            order_count=records.order_count,
            spend=records.spend,
            contract_months=records.contract_months.astype(np.float64),
            p_alive=records.p_alive,
            expected_value=records.expected_value,
            reason=reason,
            reason_confidence=np.where(
                reason == REASONS.index(LostReason.UNKNOWN), 0.0, confidence
            ),
            change_answers_reason=change_match.answers_reason,
            has_change=has_change,
            interest=interest,
            reachable=records.mailable | records.has_phone | records.has_address,
        ),
        weights,
    )
    chosen = approach.choose(
        kind=records.kind,
        top_band=scored.band == BANDS.index("high"),
        interest=interest,
        mailable=records.mailable,
        has_phone=records.has_phone,
        has_address=records.has_address,
        change_kind=change_kind,
        change_answers_reason=change_match.answers_reason,
    )

    step("write")
    asleep_days = as_of_day - records.fell_asleep
    ranked_first = np.lexsort(
        (records.tiebreak, asleep_days, -scored.score, records.excluded.astype(np.int8))
    )
    ranked = ~records.excluded
    rank = np.zeros(n, dtype=np.int64)
    rank[ranked_first] = np.arange(1, n + 1)
    band_names = np.array([*BANDS, "gone"], dtype=object)[
        np.where(records.excluded, len(BANDS), scored.band)
    ]
    change_on = np.array([None, *(ch.on.isoformat() for ch in changes.changes)], dtype=object)[
        change_match.change + 1
    ]
    change_text = np.array([None, *(ch.description for ch in changes.changes)], dtype=object)[
        change_match.change + 1
    ]
    change_kind_names = np.array([None, *(k.value for k in CHANGE_KINDS)], dtype=object)[
        change_kind.astype(np.int64) + 1
    ]
    columns: dict[str, Any] = {
        "kind": np.array([k.value for k in KINDS], dtype=object)[records.kind],
        "company_id": _nullable(records.company_id),
        "contact_id": _nullable(records.contact_id),
        "owner_id": _nullable(records.owner),
        "fell_asleep_on": np.datetime_as_string(records.fell_asleep.astype("datetime64[D]")),
        "trigger": np.array([t.value for t in TRIGGERS], dtype=object)[records.trigger],
        "asleep_days": asleep_days,
        "excluded": records.excluded,
        "rank": np.where(ranked, rank, -1),
        "score": scored.score,
        "band": band_names,
        "reason": np.array([r.value for r in REASONS], dtype=object)[reason],
        "reason_confidence": np.round(confidence, 3),
        "reason_inferred": inferred,
        "reason_terms": matched_terms,
        "product_line": records.line if records.line is not None else np.full(n, None, object),
        "order_count": records.order_count,
        "spend": np.round(records.spend).astype(np.int64),
        "contract_months": records.contract_months,
        "p_alive": np.round(records.p_alive, 4),
        "expected_value": np.round(records.expected_value),
        "interest": interest,
        "change_kind": change_kind_names,
        "change_on": change_on,
        "change_description": change_text,
        "change_answers_reason": change_match.answers_reason,
        "channel": np.array(approach.CHANNELS, dtype=object)[chosen.channel],
        "angle": np.array(approach.ANGLES, dtype=object)[chosen.angle],
    }
    for i, factor in enumerate(FACTORS):
        columns[f"pts_{factor}"] = scored.contributions[:, i]
    _replace_results(session, columns, ranked_first)

    step("suggest")
    suggestions = _suggestions(session, orders, c, contacts, responses, stats, policy, as_of_day)

    undated = candidates & (contacts.acquired == MISSING) & (contacts.last_response == MISSING)
    counts = _counts(records, band_names, int(undated.sum()))
    run = DormancyRun(
        as_of=as_of,
        started_at=started_at,
        finished_at=utcnow(),
        counts=counts,
        models=stats.models,
        suggestions={k: s.as_json() for k, s in suggestions.items()},
        policy={
            "rules": policy.model_dump(mode="json"),
            "priority": weights.model_dump(mode="json"),
            "changes": changes.model_dump(mode="json"),
        },
    )
    session.add(run)
    session.flush()
    seconds = time.perf_counter() - started
    step("done")
    return RecomputeSummary(run.id, as_of, counts, stats.models, round(seconds, 2))


def _nullable(ids: IntArray) -> NDArray[np.object_]:
    out = ids.astype(object)
    out[ids <= 0] = None
    return out


@dataclass(frozen=True, slots=True)
class _Records:
    """Every dormant record, companies first then contacts (before ranking)."""

    kind: NDArray[np.int8]
    company: IntArray  # position in companies, -1 = none
    company_id: IntArray  # 0 = none
    contact_id: IntArray
    owner: IntArray
    fell_asleep: IntArray
    trigger: NDArray[np.int8]
    excluded: BoolArray
    order_count: IntArray
    spend: FloatArray
    contract_months: IntArray
    p_alive: FloatArray
    expected_value: FloatArray
    line: NDArray[np.object_] | None
    mailable: BoolArray
    has_phone: BoolArray
    has_address: BoolArray
    tiebreak: IntArray  # stable order among equals: company records by id, then contacts
    companies: int  # the first `companies` records are company records


def _records(
    c: Companies,
    contacts: Contacts,
    by_company: rules.Dormancy,
    by_contact: rules.Dormancy,
    stats: CustomerStats,
    company_lines: NDArray[np.object_] | None,
) -> _Records:
    """One row per dormant record with the contact to approach, its owner and its facts."""
    cp = by_company.index
    lost = by_company.kind == KINDS.index(DormancyKind.LOST_DEAL)
    # The company's first contact: the fallback when no order or deal names one.
    first_contact = np.full(c.ids.size, np.iinfo(np.int64).max, dtype=np.int64)
    has_company = contacts.company >= 0
    np.minimum.at(first_contact, contacts.company[has_company], contacts.ids[has_company])
    first_contact[first_contact == np.iinfo(np.int64).max] = 0
    company_contact = np.where(
        lost,
        np.where(c.lost_deal_contact[cp] > 0, c.lost_deal_contact[cp], c.latest_deal_contact[cp]),
        np.where(c.order_contact[cp] > 0, c.order_contact[cp], c.latest_deal_contact[cp]),
    )
    company_contact = np.where(company_contact > 0, company_contact, first_contact[cp])
    contact_position = positions(contacts.ids, company_contact)
    known = contact_position >= 0
    safe = np.maximum(contact_position, 0)
    company_owner = np.where(c.owner[cp] > 0, c.owner[cp], np.where(lost, c.lost_deal_owner[cp], 0))

    pp = by_contact.index
    contact_company = contacts.company[pp]
    in_company = contact_company >= 0
    safe_company = np.maximum(contact_company, 0)
    contact_owner = np.where(
        contacts.owner[pp] > 0, contacts.owner[pp], np.where(in_company, c.owner[safe_company], 0)
    )
    line = None
    if company_lines is not None:
        line = np.concatenate(
            [company_lines[cp], np.where(in_company, company_lines[safe_company], np.array(None))]
        )
    n_company, n_contact = cp.size, pp.size
    return _Records(
        kind=np.concatenate([by_company.kind, by_contact.kind]),
        company=np.concatenate([cp, contact_company]),
        company_id=np.concatenate([c.ids[cp], np.where(in_company, c.ids[safe_company], 0)]),
        contact_id=np.concatenate([np.where(known, company_contact, 0), contacts.ids[pp]]),
        owner=np.concatenate([company_owner, contact_owner]),
        fell_asleep=np.concatenate([by_company.fell_asleep, by_contact.fell_asleep]),
        trigger=np.concatenate([by_company.trigger, by_contact.trigger]),
        excluded=np.concatenate([by_company.excluded, by_contact.excluded]),
        order_count=np.concatenate([c.order_count[cp], np.zeros(n_contact, np.int64)]),
        spend=np.concatenate(
            [np.where(lost, c.lost_deal_amount[cp], c.spend[cp]), np.zeros(n_contact)]
        ),
        contract_months=np.concatenate([c.contract_months[cp], np.zeros(n_contact, np.int64)]),
        p_alive=np.concatenate(
            [np.where(lost, np.nan, stats.p_alive[cp]), np.full(n_contact, np.nan)]
        ),
        expected_value=np.concatenate(
            [np.where(lost, np.nan, stats.expected_value[cp]), np.full(n_contact, np.nan)]
        ),
        line=line,
        mailable=np.concatenate([known & contacts.mailable[safe], contacts.mailable[pp]]),
        has_phone=np.concatenate(
            [(known & contacts.has_phone[safe]) | c.has_phone[cp], contacts.has_phone[pp]]
        ),
        has_address=np.concatenate([c.has_address[cp], in_company & c.has_address[safe_company]]),
        tiebreak=np.concatenate([c.ids[cp], contacts.ids[pp] + int(c.ids.max(initial=0)) + 1]),
        companies=n_company,
    )


def _reasons(
    session: Session,
    records: _Records,
    c: Companies,
    by_company: rules.Dormancy,
    changes: ChangesPolicy,
    terms: ReasonTerms,
    as_of: date,
) -> tuple[NDArray[np.int8], FloatArray, BoolArray, NDArray[np.object_]]:
    """The reason per record: from its words where they say one, else a price rise it followed."""
    n = records.kind.size
    unknown = REASONS.index(LostReason.UNKNOWN)
    reason = np.full(n, unknown, dtype=np.int8)
    confidence = np.zeros(n)
    matched = np.full(n, None, dtype=object)
    k = records.companies
    texts = company_texts(session, by_company.index, c, records.fell_asleep[:k], as_of)
    with_text = [i for i, t in enumerate(texts) if t]
    if with_text:
        verdicts = classify_reasons([texts[i] for i in with_text], terms)
        positions = np.array(with_text, dtype=np.int64)
        reason[positions] = [REASONS.index(v.reason) for v in verdicts]
        confidence[positions] = [
            v.confidence if v.reason is not LostReason.UNKNOWN else 0.0 for v in verdicts
        ]
        matched[positions] = [", ".join(v.matched)[:300] or None for v in verdicts]
    # Former customers whose words name nothing, asleep since around a price rise: price.
    rise = price_rise_confidence(changes, records.fell_asleep)
    former = records.kind == KINDS.index(DormancyKind.FORMER_CUSTOMER)
    inferred = former & (reason == unknown) & (rise > 0)
    reason[inferred] = REASONS.index(LostReason.PRICE)
    confidence[inferred] = np.round(rise[inferred], 3)
    # Words that say price and a silence that began at a price rise are two independent
    # witnesses: either may be wrong, both rarely are (noisy-OR).
    agree = (np.arange(n) < k) & ~inferred & (reason == REASONS.index(LostReason.PRICE))
    confidence[agree] = np.round(1.0 - (1.0 - confidence[agree]) * (1.0 - rise[agree]), 3)
    return reason, confidence, inferred, matched


def _replace_results(session: Session, columns: dict[str, Any], order: IntArray) -> None:
    """Delete the previous results and insert these in rank order, one bulk statement."""
    names = list(columns)
    values = []
    for name in names:
        array = np.asarray(columns[name])[order]
        if array.dtype.kind == "f" and np.isnan(array).any():
            nullable = array.astype(object)
            nullable[np.isnan(array)] = None  # NaN is SQL NULL
            values.append(nullable.tolist())
        elif name == "rank":
            nullable = array.astype(object)
            nullable[array < 0] = None
            values.append(nullable.tolist())
        else:
            values.append(array.tolist())
    rows = list(zip(*values, strict=True))
    conn = session.connection()
    session.execute(delete(DormantCustomer))
    table = DormantCustomer.__tablename__
    column_list = ", ".join(names)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    elif rows:
        placeholders = ", ".join("?" for _ in names)
        # Table and column names are this module's constants, never input.
        sql = f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})"  # noqa: S608
        conn.exec_driver_sql(sql, rows)


def _suggestions(
    session: Session,
    orders: Orders,
    c: Companies,
    contacts: Contacts,
    responses: Responses,
    stats: CustomerStats,
    policy: DormancyPolicy,
    as_of_day: int,
) -> dict[str, suggest.KindSuggestion]:
    rate = policy.suggest_max_return_rate
    former = suggest.suggest(
        DormancyKind.FORMER_CUSTOMER,
        orders.company,
        orders.day,
        as_of=as_of_day,
        max_return_rate=rate,
        p_alive=(stats.summary_ids, stats.summary_p_alive),
    )
    lost_companies = np.flatnonzero(c.last_lost != MISSING)
    deals_company, deals_opened, deals_closed = columns(
        session,
        select(
            Deal.company_id,
            func.coalesce(epoch_day_sql(session, Deal.opened_on), MISSING),
            func.coalesce(epoch_day_sql(session, Deal.closed_on), MISSING),
        ).where(Deal.company_id.is_not(None)),
        3,
    )
    deal_position = positions(c.ids, deals_company)
    ids = np.concatenate([deal_position, deal_position, orders.company])
    days = np.concatenate([deals_opened, deals_closed, orders.day])
    keep = np.isin(ids, lost_companies) & (days != MISSING) & (days <= as_of_day)
    lost = suggest.suggest(
        DormancyKind.LOST_DEAL, ids[keep], days[keep], as_of=as_of_day, max_return_rate=rate
    )
    acquired = np.flatnonzero(contacts.acquired != MISSING)
    contact_ids = np.concatenate([acquired, responses.contact])
    contact_days = np.concatenate([contacts.acquired[acquired], responses.day])
    keep = (contact_ids >= 0) & (contact_days <= as_of_day)
    touch = suggest.suggest(
        DormancyKind.CONTACT_ONLY,
        contact_ids[keep],
        contact_days[keep],
        as_of=as_of_day,
        max_return_rate=rate,
    )
    return {s.kind: s for s in (former, lost, touch)}


def _counts(records: _Records, band_names: NDArray[np.object_], undated: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for i, kind in enumerate(KINDS):
        of_kind = records.kind == i
        counts[f"dormant.{kind.value}"] = int(of_kind.sum())
        counts[f"excluded.{kind.value}"] = int((of_kind & records.excluded).sum())
    for band in (*BANDS, "gone"):
        counts[f"band.{band}"] = int((band_names == band).sum())
    counts["ranked"] = int((~records.excluded).sum())
    counts["undated_contacts"] = int(undated)
    return counts
