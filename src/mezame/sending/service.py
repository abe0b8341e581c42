"""The campaign sender: claim, render, send, mark — resumable, at most once per row.

One sender run holds a campaign at a time (a lease on the campaign row, with a
heartbeat). It streams the campaign's pending rows in keyset pages, so memory stays
flat with the audience size:

    producer  — a page of due rows, checked again for suppression and consent, claimed
                (committed), rendered, queued (the queue is bounded: back-pressure);
    workers   — one per SMTP connection: MAIL, RCPT, DATA, then ask the ledger to mark
                the row `sending` and only then send the body;
    committer — group commit: the `sending` marks of every worker waiting right now,
                with a last suppression check, plus the outcomes and events recorded
                since the last flush, in one transaction.

The sender commits below the shells (here and in sendlog): each commit is a checkpoint.
A crash leaves `claimed` rows (never on the wire: sent again) and `sending` rows
(maybe delivered: reported as `unknown`, not sent again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mezame.adapters.dkim import DkimSigner
from mezame.adapters.smtp import Delivery, DeliveryResult, MailTransport
from mezame.campaigns.status import CampaignStatus
from mezame.errors import NotFoundError
from mezame.mail.links import LinkSigner
from mezame.mail.message import SenderIdentity
from mezame.models import Campaign, CampaignStep
from mezame.sending.compose import Composer, Recipient, StepTemplates, sample_recipient
from mezame.sending.options import SendOptions, SendReport
from mezame.sendlog.service import CampaignBusy, Outcome, SendLog, acquire_campaign, new_run_id

__all__ = ["CampaignBusy", "SendOptions", "SendReport", "SenderParts", "run_campaign", "send_test"]

log = logging.getLogger("mezame.sending")


@dataclass
class _Job:
    recipient: Recipient
    message: bytes


@dataclass
class _Committer:
    """Group commit of `sending` marks, outcomes and events; also the heartbeat and status check."""

    ledger: SendLog
    report: SendReport
    stop: asyncio.Event
    clock: Callable[[], datetime]
    progress: Callable[[SendReport], None] | None = None
    marks: list[tuple[Recipient, asyncio.Future[bool]]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    failures: list[tuple[Recipient, str]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Rows refused at the last check because their address was suppressed a moment ago.
    suppressed_now: set[int] = field(default_factory=set)
    last_heartbeat: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    last_status_check: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    error: BaseException | None = None

    async def mark_sending(self, recipient: Recipient) -> bool:
        """Durably mark the row `sending`; False means: do not send the body."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.marks.append((recipient, future))
        self.wake.set()
        return await future

    def record(self, recipient: Recipient, delivery: Delivery) -> None:
        # Outcomes ride along with the next marks' commit (a body is waiting on those) or
        # go within outcome_delay_seconds: a commit of their own each time would cost a
        # third of the commits, and a crash leaves only that moment's outcomes `unknown`.
        self.outcomes.append(Outcome(recipient, delivery))

    def fail(self, recipient: Recipient, detail: str) -> None:
        self.failures.append((recipient, detail))

    @property
    def idle(self) -> bool:
        return not (self.marks or self.outcomes or self.failures)

    async def run(self, done: asyncio.Event) -> None:
        options = self.ledger.options
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=options.outcome_delay_seconds)
            self.wake.clear()
            if self.marks:
                # Gather the marks of the workers that will be ready in a moment into this
                # commit: one commit per message would cost more than the conversation.
                await asyncio.sleep(options.commit_delay_seconds)
            if not self.idle or done.is_set() or self._checks_due():
                self.flush()
            if done.is_set() and (self.idle or self.error is not None):
                return

    def _checks_due(self) -> bool:
        options = self.ledger.options
        now = self.clock()
        return (now - self.last_heartbeat).total_seconds() >= options.heartbeat_seconds or (
            now - self.last_status_check
        ).total_seconds() >= options.status_check_seconds

    def flush(self) -> None:
        marks, self.marks = self.marks, []
        outcomes, self.outcomes = self.outcomes, []
        failures, self.failures = self.failures, []
        now = self.clock()
        allowed: set[int] = set()
        try:
            with self.ledger.writer_session() as session:
                sendlog = self.ledger
                if marks:
                    recipients = [r for r, _ in marks]
                    allowed = sendlog.mark_sending(session, recipients, self.suppressed_now)
                if outcomes:
                    sendlog.record_outcomes(
                        session, outcomes, now, self.report, self.suppressed_now
                    )
                if failures:
                    sendlog.record_failures(session, failures, self.report)
                self._heartbeat_and_status(session, now)
                session.commit()
        except Exception as exc:
            # Nothing of this batch is durable: no body may leave, and the run stops. Its
            # rows stay `claimed` (sent by the next run) or `sending` (reported unknown).
            log.exception("the sender could not write its ledger; stopping")
            self.error = exc
            allowed = set()
            self.stop.set()
        for recipient, future in marks:
            future.set_result(recipient.send_id in allowed)
        if self.progress is not None and (outcomes or failures) and self.error is None:
            self.progress(self.report)

    def _heartbeat_and_status(self, session: Session, now: datetime) -> None:
        options = self.ledger.options
        if (now - self.last_heartbeat).total_seconds() >= options.heartbeat_seconds:
            self.ledger.heartbeat(session, now)
            self.last_heartbeat = now
        if (now - self.last_status_check).total_seconds() >= options.status_check_seconds:
            status = self.ledger.campaign_status(session)
            self.last_status_check = now
            if status != CampaignStatus.SENDING.value:  # paused or stopped: wind down
                self.stop.set()


@dataclass
class SenderParts:
    """What a run needs from the outside: where it sends, as whom, how it signs."""

    transport: MailTransport
    identity: SenderIdentity
    signer: LinkSigner
    dkim: DkimSigner | None = None
    tz: tzinfo = UTC


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_campaign(
    engine: Engine,
    *,
    campaign_id: int,
    parts: SenderParts,
    options: SendOptions | None = None,
    progress: Callable[[SendReport], None] | None = None,
    clock: Callable[[], datetime] = _utcnow,
    stop: asyncio.Event | None = None,
) -> SendReport:
    """Send a campaign's due rows until none is left, it is paused or stopped, or `stop` is set."""
    options = options or SendOptions()
    stop = stop or asyncio.Event()
    run_id = new_run_id()
    report = SendReport(campaign_id=campaign_id)
    with Session(engine, expire_on_commit=False) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFoundError(f"campaign {campaign_id} does not exist")
        steps = list(
            session.scalars(select(CampaignStep).where(CampaignStep.campaign_id == campaign_id))
        )
        campaign_name = campaign.name
    # Templates and the legal identity are checked before the lease is taken: a campaign
    # that cannot be built is left as it was, not half-started.
    composer = Composer.for_steps(
        steps,
        campaign_id=campaign_id,
        identity=parts.identity,
        signer=parts.signer,
        tz=parts.tz,
        sign=parts.dkim.sign if parts.dkim is not None else None,
    )
    with Session(engine, expire_on_commit=False) as session:
        released, report.recovered_unknown = acquire_campaign(
            session, campaign_id=campaign_id, run_id=run_id, now=clock(), options=options
        )
        session.commit()
    if released or report.recovered_unknown:
        log.warning(
            "campaign %s: a previous run stopped early: %d rows released, %d outcomes unknown",
            campaign_id,
            released,
            report.recovered_unknown,
        )
    ledger = SendLog(
        engine=engine,
        campaign_id=campaign_id,
        campaign_name=campaign_name,
        run_id=run_id,
        options=options,
        positions={s.id: s.position for s in steps},
    )
    committer = _Committer(ledger=ledger, report=report, stop=stop, clock=clock, progress=progress)
    # Composed messages waiting for a connection: enough that composing goes on while every
    # connection waits on the server or the commit; few enough that memory stays flat.
    queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=parts.transport.connections * 8)
    in_flight = _Counter()
    done = asyncio.Event()
    committer_task = asyncio.create_task(committer.run(done))
    workers = [
        asyncio.create_task(_worker(slot, queue, parts, committer, stop, in_flight, clock, options))
        for slot in range(parts.transport.connections)
    ]
    try:
        await _produce(ledger, composer, committer, queue, stop, in_flight, clock, options)
    finally:
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers, return_exceptions=True)
        done.set()
        committer.wake.set()
        await committer_task
        await parts.transport.close()
        ledger.release(report, clock())
    if committer.error is not None:
        raise committer.error
    return report


@dataclass
class _Counter:
    value: int = 0
    zero: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, n: int) -> None:
        self.value += n
        if self.value == 0:
            self.zero.set()
        else:
            self.zero.clear()


async def _produce(
    ledger: SendLog,
    composer: Composer,
    committer: _Committer,
    queue: asyncio.Queue[_Job | None],
    stop: asyncio.Event,
    in_flight: _Counter,
    clock: Callable[[], datetime],
    options: SendOptions,
) -> None:
    after = 0
    window = options.cadence
    while not stop.is_set():
        now = clock()
        if window is not None and not window.is_send_time(now):
            # Quiet hours, a weekend or a holiday: what is left waits for the next window
            # (the resume task picks it up then); what is on the wire finishes.
            committer.report.waiting_until = window.next_send_time(now)
            ledger.defer(committer.report.waiting_until)
            return
        recipients, skipped, last_id = ledger.claim_page(after=after, now=now)
        committer.report.skipped += skipped
        if last_id:
            after = last_id
        if not recipients:
            if last_id:
                continue
            # The scan reached the end: wait for what is on the wire (it may come back for
            # a retry), then look again from the start for retries that are due.
            if in_flight.value:
                await _wait_any(in_flight.zero, stop)
                await _flushed(committer)
                after = 0
                continue
            await _flushed(committer)
            if not ledger.has_pending():
                return
            due = ledger.next_retry_at()
            if due is None or not options.wait_for_retries:
                if due is None:
                    after = 0
                    continue
                return
            delay = (due - clock()).total_seconds()
            if delay > 0:
                await _sleep_unless(stop, min(delay, options.status_check_seconds))
            after = 0
            continue
        for recipient in recipients:
            if stop.is_set():
                return  # the rest stay claimed and are released at the end
            try:
                message = composer.compose(recipient, now=clock())
            except ValueError as exc:  # a template error or an unusable address
                committer.fail(recipient, f"could not build the message: {exc}")
                continue
            in_flight.add(1)
            await queue.put(_Job(recipient, message))


async def _flushed(committer: _Committer) -> None:
    """Wait until everything recorded so far is committed."""
    while not committer.idle and committer.error is None:
        committer.wake.set()
        await asyncio.sleep(0.001)


async def _wait_any(event: asyncio.Event, stop: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()), asyncio.create_task(stop.wait())]
    _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _worker(
    slot: int,
    queue: asyncio.Queue[_Job | None],
    parts: SenderParts,
    committer: _Committer,
    stop: asyncio.Event,
    in_flight: _Counter,
    clock: Callable[[], datetime],
    options: SendOptions,
) -> None:
    outages = 0
    window = options.cadence
    while (job := await queue.get()) is not None:
        recipient = job.recipient
        try:
            if stop.is_set():
                continue  # left claimed: released at the end of the run
            if window is not None and not window.is_send_time(clock()):
                # The send window closed while the message waited in the queue: it waits
                # for the next one (released at the end of the run, with the rest).
                continue
            delivery = await parts.transport.deliver(
                slot,
                sender=parts.identity.email,
                recipient=recipient.email,
                message=job.message,
                before_body=lambda r=recipient: committer.mark_sending(r),  # type: ignore[misc]
            )
            committer.record(recipient, delivery)
            if delivery.result is DeliveryResult.CONNECTION:
                outages += 1
                backoff = min(options.max_outage_backoff_seconds, 0.25 * 2 ** min(outages, 10))
                await _sleep_unless(stop, backoff)
            else:
                outages = 0
        finally:
            in_flight.add(-1)


async def send_test(
    parts: SenderParts,
    *,
    step: StepTemplates,
    campaign_id: int,
    to: str,
    recipient: Recipient | None,
) -> Delivery:
    """One mail of a campaign to `to`, with a contact's merge fields, subject marked [テスト].

    `recipient`: the contact whose merge fields to use (recipients.service), or None for a
    sample contact. Links and the unsubscribe URL carry send id 0: they work, record nothing.
    """
    composer = Composer.for_steps(
        [step],
        campaign_id=campaign_id,
        identity=parts.identity,
        signer=parts.signer,
        tz=parts.tz,
        sign=parts.dkim.sign if parts.dkim is not None else None,
    )
    base = recipient if recipient is not None else sample_recipient()
    recipient = replace(base, send_id=0, step_id=step.id, email=to)
    message = composer.compose(recipient, now=datetime.now(UTC), subject_prefix="[テスト] ")

    async def go_ahead() -> bool:
        return True

    try:
        return await parts.transport.deliver(
            0, sender=parts.identity.email, recipient=to, message=message, before_body=go_ahead
        )
    finally:
        await parts.transport.close()
