"""Invariant over random histories of campaigns, priorities, sequences, days passing,
unsubscribes and consent withdrawals: no contact is ever mailed within their cadence
interval or beyond the cap, and no suppressed or unconsenting contact is mailed at all.

Runs on SQLite (a fresh copy of the migrated template per example) with the recording
transport, which checks the database at the moment each body would leave.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mezame.adapters.smtp import RecordingTransport
from mezame.cadence import CadencePolicy
from mezame.cadence.service import set_cadence
from mezame.campaigns.service import StepContent, create_campaign, freeze_audience
from mezame.compliance.service import suppress
from mezame.db import make_engine
from mezame.mail.compliance import SuppressionReason
from mezame.mail.links import LinkSigner
from mezame.models import (
    Campaign,
    CampaignSend,
    CampaignStep,
    Company,
    ConsentRecord,
    Contact,
    Suppression,
)
from mezame.policy.service import save_policy
from mezame.scheduling.service import advance_campaigns
from mezame.sending.service import SenderParts, SendOptions, run_campaign
from tests.mail_helpers import BASE_URL, FAST, IDENTITY, SECRET

START = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
PEOPLE = 5
# Small numbers, so random histories hit the boundaries.
POLICY = CadencePolicy.always_open(
    monthly_interval_days=10, seasonal_interval_days=25, cap_mails=2, cap_window_days=14
)
MAIL = StepContent(subject="件名", html="<p>本文</p>")
SEQUENCE = [
    MAIL,
    StepContent(subject="2通目", html="<p>2</p>", wait_days=1),
    StepContent(subject="3通目", html="<p>3</p>", wait_days=2),
]

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("campaign"),
            st.integers(0, 3),  # priority
            st.lists(st.booleans(), min_size=PEOPLE, max_size=PEOPLE),  # audience
            st.booleans(),  # a sequence?
        ),
        st.tuples(st.just("run")),
        st.tuples(st.just("days"), st.integers(0, 12)),
        st.tuples(st.sampled_from(["unsubscribe", "withdraw", "seasonal"]), st.integers(0, 4)),
    ),
    min_size=1,
    max_size=12,
)


def _seed(engine: Engine, consented: list[bool], seasonal: list[bool]) -> list[int]:
    with Session(engine) as s:
        save_policy(s, POLICY)
        company = Company(import_key="c", name="株式会社テスト")
        s.add(company)
        s.flush()
        ids = []
        for i in range(PEOPLE):
            contact = Contact(
                import_key=f"p{i}",
                company_id=company.id,
                name=f"担当{i}",
                email=f"user{i}@example.jp",
                cadence="seasonal" if seasonal[i] else "monthly",
            )
            s.add(contact)
            s.flush()
            if consented[i]:
                s.add(
                    ConsentRecord(
                        contact_id=contact.id,
                        basis="opt_in",
                        obtained_at=START - timedelta(days=30),
                    )
                )
            ids.append(contact.id)
        s.commit()
        return ids


def _may_mail(engine: Engine, address: str) -> bool:
    with Session(engine) as s:
        if s.scalar(select(Suppression.id).where(Suppression.email == address)):
            return False
        return (
            s.scalar(
                select(ConsentRecord.id)
                .join(Contact, Contact.id == ConsentRecord.contact_id)
                .where(Contact.email == address, ConsentRecord.withdrawn_at.is_(None))
            )
            is not None
        )


def _check_history(engine: Engine, cadence_history: dict[int, list[tuple[datetime, str]]]) -> None:
    with Session(engine) as s:
        sent = s.execute(
            select(
                CampaignSend.contact_id,
                CampaignSend.campaign_id,
                CampaignStep.position,
                CampaignSend.sent_at,
            )
            .join(CampaignStep, CampaignStep.id == CampaignSend.step_id)
            .where(CampaignSend.status == "sent")
        ).all()
    for contact, campaign, position, at in sent:
        mine = [r for r in sent if r.contact_id == contact]
        window = [r for r in mine if at - timedelta(days=POLICY.cap_window_days) < r.sent_at <= at]
        assert len(window) <= POLICY.cap_mails, f"contact {contact}: {len(window)} mails by {at}"
        if position != 1:
            continue
        cadence = [c for since, c in cadence_history[contact] if since <= at][-1]
        interval = timedelta(days=POLICY.interval_days(cadence))
        for other in mine:
            if other.campaign_id != campaign and other.sent_at <= at:
                assert at - other.sent_at >= interval, (
                    f"contact {contact} ({cadence}): campaign {campaign} at {at}, "
                    f"campaign {other.campaign_id} at {other.sent_at}"
                )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    consented=st.lists(st.booleans(), min_size=PEOPLE, max_size=PEOPLE),
    seasonal=st.lists(st.booleans(), min_size=PEOPLE, max_size=PEOPLE),
    ops=operations,
)
def test_no_history_breaks_cadence_cap_suppression_or_consent(
    sqlite_template: Path, consented: list[bool], seasonal: list[bool], ops: list[tuple]
) -> None:  # type: ignore[type-arg]
    folder = Path(tempfile.mkdtemp(prefix="mezame-cadence-"))
    shutil.copyfile(sqlite_template, folder / "db.sqlite")
    engine = make_engine(f"sqlite:///{folder / 'db.sqlite'}")
    try:
        ids = _seed(engine, consented, seasonal)
        cadence_history = {
            c: [(START - timedelta(days=1000), "seasonal" if seasonal[i] else "monthly")]
            for i, c in enumerate(ids)
        }
        clock = {"now": START}
        violations: list[str] = []
        options = SendOptions(**{**FAST.__dict__, "cadence": POLICY})
        signer = LinkSigner(SECRET, BASE_URL)
        for number, op in enumerate(ops):
            with Session(engine) as s:
                if op[0] == "campaign":
                    _, priority, mask, sequence = op
                    campaign = create_campaign(
                        s,
                        name=f"c{number}",
                        kind="sequence" if sequence else "one_off",
                        steps=SEQUENCE if sequence else [MAIL],
                        priority=priority,
                    )
                    audience = [c for c, chosen in zip(ids, mask, strict=True) if chosen]
                    freeze_audience(
                        s,
                        campaign_id=campaign.id,
                        contacts=select(Contact.id).where(Contact.id.in_(audience)),
                        as_of=clock["now"],
                    )
                elif op[0] == "days":
                    clock["now"] += timedelta(days=op[1], minutes=1)
                    advance_campaigns(s, now=clock["now"])
                elif op[0] == "unsubscribe":
                    suppress(
                        s,
                        email=f"user{op[1]}@example.jp",
                        reason=SuppressionReason.UNSUBSCRIBED,
                        source="test",
                    )
                elif op[0] == "withdraw":
                    for record in s.scalars(
                        select(ConsentRecord).where(ConsentRecord.contact_id == ids[op[1]])
                    ):
                        record.withdrawn_at = clock["now"]
                elif op[0] == "seasonal" and set_cadence(
                    s, contacts=[ids[op[1]]], cadence="seasonal", at=clock["now"]
                ):
                    cadence_history[ids[op[1]]].append((clock["now"], "seasonal"))
                s.commit()
            if op[0] == "run":
                with Session(engine) as s:
                    runnable = s.scalars(
                        select(Campaign.id)
                        .where(Campaign.status.in_(["draft", "sending"]))
                        .order_by(Campaign.priority.desc(), Campaign.id)
                    ).all()

                def check(address: str) -> None:
                    if not _may_mail(engine, address):
                        violations.append(address)

                for campaign_id in runnable:
                    transport = RecordingTransport(connections=2, on_body=check)
                    parts = SenderParts(transport=transport, identity=IDENTITY, signer=signer)
                    asyncio.run(
                        run_campaign(
                            engine,
                            campaign_id=campaign_id,
                            parts=parts,
                            options=options,
                            clock=lambda: clock["now"],
                        )
                    )
        assert violations == []
        _check_history(engine, cadence_history)
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
