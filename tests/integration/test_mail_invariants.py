"""Invariants over random histories: nothing ever mails a suppressed or unconsenting contact.

Runs on SQLite (a fresh copy of the migrated template per example); the sender uses the
recording transport, which checks the database at the moment each body would leave.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mezame.adapters.smtp import RecordingTransport
from mezame.bounces.service import apply_failure
from mezame.campaigns.service import StepContent, create_campaign, freeze_audience
from mezame.compliance.service import mailable_rules, suppress, unsubscribe_send
from mezame.db import make_engine
from mezame.mail.bounces import BounceKind, FailedRecipient
from mezame.mail.compliance import (
    ConsentFact,
    ConsentPolicy,
    SuppressionReason,
    consent_cutoffs,
    consent_verdict,
    normalise_address,
)
from mezame.mail.links import LinkSigner
from mezame.models import CampaignSend, Company, ConsentRecord, Contact, Order, Suppression
from mezame.policy.service import save_policy
from mezame.sending.service import SenderParts, run_campaign
from tests.mail_helpers import BASE_URL, FAST, IDENTITY, SECRET

TODAY = datetime.now(UTC)
SIGNER = LinkSigner(SECRET, BASE_URL)
BASES = ["opt_in", "business_card", "existing_transaction", "none"]

consents = st.lists(
    st.tuples(
        st.sampled_from(BASES),
        st.integers(min_value=0, max_value=2000),  # days ago
        st.booleans(),  # withdrawn
    ),
    max_size=3,
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("schedule"), st.integers(0, 5)),
        st.tuples(st.sampled_from(["run", "run_racing_unsubscribe"]), st.integers(0, 5)),
        st.tuples(
            st.sampled_from(["unsubscribe", "hard", "soft", "complaint", "manual", "withdraw"]),
            st.integers(0, 5),
        ),
    ),
    min_size=1,
    max_size=8,
)


def _fresh(template: Path) -> tuple[Engine, Path]:
    folder = Path(tempfile.mkdtemp(prefix="mezame-hyp-"))
    shutil.copyfile(template, folder / "db.sqlite")
    return make_engine(f"sqlite:///{folder / 'db.sqlite'}"), folder


def _seed(
    engine: Engine, people: list[list[tuple[str, int, bool]]], order_days: list[int | None]
) -> list[int]:
    with Session(engine) as s:
        ids = []
        for i, (records, ordered) in enumerate(zip(people, order_days, strict=True)):
            company = Company(import_key=f"c{i}", name=f"会社{i}")
            s.add(company)
            s.flush()
            if ordered is not None:
                s.add(
                    Order(
                        import_key=f"o{i}",
                        company_id=company.id,
                        ordered_on=(TODAY - timedelta(days=ordered)).date(),
                        amount=100_000,
                    )
                )
            # Contacts 4 and 5 share an address with 0 and 1 (duplicates across companies).
            email = f"user{i % 4}@example.jp" if i >= 4 else f"user{i}@example.jp"
            contact = Contact(
                import_key=f"p{i}", company_id=company.id, name=f"担当{i}", email=email
            )
            s.add(contact)
            s.flush()
            for basis, days, withdrawn in records:
                s.add(
                    ConsentRecord(
                        contact_id=contact.id,
                        basis=basis,
                        obtained_at=TODAY - timedelta(days=days),
                        withdrawn_at=TODAY if withdrawn else None,
                    )
                )
            ids.append(contact.id)
        s.commit()
        return ids


def _may_mail_now(engine: Engine, address: str) -> bool:
    """The truth at this instant, from the pure rules: not suppressed and some contact consents."""
    with Session(engine) as s:
        if s.scalar(select(Suppression.id).where(Suppression.email == normalise_address(address))):
            return False
        cutoffs = consent_cutoffs(ConsentPolicy(), as_of=TODAY.date())
        for contact in s.scalars(select(Contact).where(Contact.email == address)):
            facts = [
                ConsentFact(r.basis, r.obtained_at.date(), r.withdrawn_at is not None)
                for r in s.scalars(
                    select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
                )
            ]
            last = s.scalar(select(Order.ordered_on).where(Order.company_id == contact.company_id))
            if consent_verdict(facts, last_transaction_on=last, cutoffs=cutoffs).allowed:
                return True
        return False


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(consents, min_size=6, max_size=6),
    order_days=st.lists(st.one_of(st.none(), st.integers(0, 2000)), min_size=6, max_size=6),
    ops=operations,
)
# Consent withdrawn between freezing the audience and sending; an unsubscribe mid-run.
@example(
    people=[[("opt_in", 10, False)]] * 6,
    order_days=[None] * 6,
    ops=[("schedule", 0), ("withdraw", 2), ("run", 0)],
)
@example(
    people=[[("opt_in", 10, False)]] * 6,
    order_days=[None] * 6,
    ops=[("schedule", 0), ("run_racing_unsubscribe", 3)],
)
def test_no_history_ever_mails_a_suppressed_or_unconsenting_contact(
    sqlite_template: Path,
    people: list[list[tuple[str, int, bool]]],
    order_days: list[int | None],
    ops: list[tuple[str, int]],
) -> None:
    engine, folder = _fresh(sqlite_template)
    try:
        ids = _seed(engine, people, order_days)
        violations: list[str] = []
        delivered: list[str] = []
        scheduled: list[int] = []
        for number, (op, who) in enumerate(ops):
            contact_id = ids[who]
            address = f"user{who % 4}@example.jp"
            with Session(engine) as s:
                if op == "schedule":  # the audience is frozen now, sent at a later "run"
                    campaign = create_campaign(
                        s,
                        name=f"c{number}",
                        steps=[StepContent(subject="件名", html="<p>本文</p>")],
                    )
                    freeze_audience(s, campaign_id=campaign.id, as_of=TODAY)
                    scheduled.append(campaign.id)
                elif op in ("run", "run_racing_unsubscribe"):
                    race = {"pending": op == "run_racing_unsubscribe"}

                    def refuse(_recipient: str, race=race, who_address=address):  # type: ignore[no-untyped-def]
                        # Another request unsubscribes someone while the campaign runs.
                        if race["pending"]:
                            race["pending"] = False
                            with Session(engine) as other:
                                suppress(
                                    other,
                                    email=who_address,
                                    reason=SuppressionReason.UNSUBSCRIBED,
                                    source="race",
                                )
                                other.commit()
                        return None

                    def check(recipient: str) -> None:
                        delivered.append(recipient)
                        if not _may_mail_now(engine, recipient):
                            violations.append(recipient)

                    for campaign_id in scheduled:
                        transport = RecordingTransport(connections=2, refuse=refuse, on_body=check)
                        parts = SenderParts(transport=transport, identity=IDENTITY, signer=SIGNER)
                        asyncio.run(
                            run_campaign(engine, campaign_id=campaign_id, parts=parts, options=FAST)
                        )
                    scheduled.clear()
                elif op == "unsubscribe":
                    send_id = s.scalar(
                        select(CampaignSend.id).where(CampaignSend.contact_id == contact_id)
                    )
                    if send_id is not None:
                        unsubscribe_send(s, send_id=send_id, source="test", at=TODAY)
                    else:
                        suppress(
                            s, email=address, reason=SuppressionReason.UNSUBSCRIBED, source="test"
                        )
                elif op in ("hard", "soft", "complaint"):
                    kind = {
                        "hard": BounceKind.HARD,
                        "soft": BounceKind.SOFT,
                        "complaint": BounceKind.COMPLAINT,
                    }[op]
                    apply_failure(
                        s,
                        failure=FailedRecipient(address, kind, None, None),
                        report_key=f"r{number}",
                        message_ids=(),
                        signer=SIGNER,
                        source="test",
                        at=TODAY,
                    )
                elif op == "manual":
                    suppress(s, email=address, reason=SuppressionReason.MANUAL, source="test")
                else:  # withdraw every consent of the contact
                    for record in s.scalars(
                        select(ConsentRecord).where(ConsentRecord.contact_id == contact_id)
                    ):
                        record.withdrawn_at = TODAY
                s.commit()
        assert violations == []
        # Every run ended cleanly: nothing is left claimed or mid-conversation.
        with Session(engine) as s:
            sends = s.execute(select(CampaignSend.email, CampaignSend.status)).all()
        assert all(status != "sending" and status != "claimed" for _email, status in sends)
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(consents, min_size=6, max_size=6),
    order_days=st.lists(st.one_of(st.none(), st.integers(0, 2000)), min_size=6, max_size=6),
    accept_card=st.booleans(),
    card_months=st.one_of(st.none(), st.integers(1, 60)),
    accept_existing=st.booleans(),
    existing_months=st.one_of(st.none(), st.integers(1, 60)),
)
def test_the_sql_consent_rule_agrees_with_the_pure_one(
    sqlite_template: Path,
    people: list[list[tuple[str, int, bool]]],
    order_days: list[int | None],
    accept_card: bool,
    card_months: int | None,
    accept_existing: bool,
    existing_months: int | None,
) -> None:
    engine, folder = _fresh(sqlite_template)
    try:
        ids = _seed(engine, people, order_days)
        policy = ConsentPolicy(
            accept_business_card=accept_card,
            business_card_max_months=card_months,
            accept_existing_transaction=accept_existing,
            existing_transaction_max_months=existing_months,
        )
        as_of: date = TODAY.date()
        with Session(engine) as s:
            save_policy(s, policy)
            rules = mailable_rules(s, as_of=as_of)
            consented = dict(
                s.execute(
                    select(Contact.id, rules.clauses()["consented"]).where(Contact.id.in_(ids))
                ).all()
            )
        cutoffs = consent_cutoffs(policy, as_of=as_of)
        for contact_id, records, ordered in zip(ids, people, order_days, strict=True):
            facts = [
                ConsentFact(basis, (TODAY - timedelta(days=days)).astimezone(UTC).date(), withdrawn)
                for basis, days, withdrawn in records
            ]
            last = (TODAY - timedelta(days=ordered)).date() if ordered is not None else None
            expected = consent_verdict(facts, last_transaction_on=last, cutoffs=cutoffs).allowed
            assert bool(consented[contact_id]) == expected, (records, ordered, policy)
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
