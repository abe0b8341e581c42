"""One recipient's message, from the step's compiled templates to signed MIME bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Protocol

from mezame.mail.links import LinkSigner, rewrite_html_links, rewrite_text_links
from mezame.mail.message import MailParts, MessageLayout, SenderIdentity, assemble
from mezame.mail.render import (
    CompiledContent,
    Footer,
    compile_content,
    finish_html,
    finish_text,
    html_to_text,
    render_content,
)
from mezame.templates.types import REASON_LABELS_JA, SKIP_REASONS, Requirement


@dataclass(frozen=True, slots=True)
class Recipient:
    """A claimed send row with the contact fields the merge fields use.

    Everything after `company_name` is optional: the owner (contact's, else company's), the
    company's last order, and the contact's dormancy record with its one change since.
    """

    send_id: int
    step_id: int
    contact_id: int
    attempts: int
    email: str
    name: str | None
    department: str | None
    title: str | None
    company_name: str | None
    owner_name: str | None = None
    owner_email: str | None = None
    last_product: str | None = None
    last_ordered_on: date | None = None
    last_amount: int | None = None
    dormancy_reason: str | None = None
    fell_asleep_on: date | None = None
    change: str | None = None  # the one change since last time, in the team's words


def sample_recipient() -> Recipient:
    """A made-up contact for previews and test sends when no real one is chosen."""
    return Recipient(
        send_id=0,
        step_id=0,
        contact_id=0,
        attempts=0,
        email="yamada@example.jp",
        name="山田 太郎",
        department="営業部",
        title="部長",
        company_name="株式会社サンプル",
        owner_name="鈴木 一郎",
        owner_email="suzuki@example.jp",
        last_product="受発注クラウド 年間プラン",
        last_ordered_on=date(2025, 4, 1),
        last_amount=1_200_000,
        dormancy_reason="price",
        fell_asleep_on=date(2025, 4, 1),
        change="年間プランを10%値下げしました",
    )


class StepTemplates(Protocol):
    id: int
    position: int
    subject: str
    html_body: str
    text_body: str | None
    requires: str | None


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (0 when `end` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def merge_fields(recipient: Recipient, identity: SenderIdentity, today: date) -> dict[str, Any]:
    """The names a template may use. Missing text is empty; a missing date, amount, month
    count or change is None (printed as nothing, and false in `{% if %}`)."""
    booking = identity.booking_url
    asleep = recipient.fell_asleep_on
    reason = recipient.dormancy_reason or ""
    return {
        "contact": {
            "name": recipient.name or "",
            "email": recipient.email,
            "department": recipient.department or "",
            "title": recipient.title or "",
        },
        "company": {"name": recipient.company_name or ""},
        "owner": {"name": recipient.owner_name or "", "email": recipient.owner_email or ""},
        "last_purchase": {
            "product": recipient.last_product or "",
            "date": recipient.last_ordered_on,
            "amount": recipient.last_amount,
        },
        "dormancy": {
            "reason": reason,
            "reason_label": REASON_LABELS_JA.get(reason, ""),
            "months": months_between(asleep, today) if asleep is not None else None,
        },
        "change": recipient.change or None,
        "booking": {
            "url": booking,
            "line": f"オンライン相談の空き枠はこちらからご予約いただけます: {booking}"
            if booking
            else "",
        },
        "sender": {
            "name": identity.name,
            "email": identity.email,
            "address": identity.postal_address,
        },
    }


def missing_requirement(requires: str | None, recipient: Recipient) -> str | None:
    """Why this recipient may not get a mail that requires `requires` (None: they may)."""
    if requires == Requirement.CHANGE and not recipient.change:
        return SKIP_REASONS[Requirement.CHANGE]
    return None


@dataclass
class Composer:
    identity: SenderIdentity
    signer: LinkSigner
    tz: tzinfo
    steps: dict[int, tuple[CompiledContent, MessageLayout, str | None]]
    sign: Callable[[bytes], bytes] | None = None

    @classmethod
    def for_steps(
        cls,
        steps: Iterable[StepTemplates],
        *,
        campaign_id: int,
        identity: SenderIdentity,
        signer: LinkSigner,
        tz: tzinfo,
        sign: Callable[[bytes], bytes] | None = None,
    ) -> Composer:
        if not identity.postal_address.strip():
            # 特定電子メール法 §4: no mail leaves without the sender's postal address.
            raise ValueError("the sender's postal address is not set (MEZAME_SENDER_ADDRESS)")
        # Contexts to prove the compile-time CSS inlining on: a contact with every merge
        # field and one with none, so both sides of the usual {% if %} are rendered.
        today = datetime.now(tz).date()
        full = sample_recipient()
        bare = Recipient(0, 0, 0, 0, full.email, None, None, None, None)
        samples = [merge_fields(r, identity, today) for r in (full, bare)]
        compiled = {
            step.id: (
                compile_content(
                    subject=step.subject,
                    html=step.html_body,
                    text=step.text_body,
                    samples=samples,
                ),
                MessageLayout.for_sender(
                    identity, feedback_id=f"{campaign_id}:{step.position}:mezame"
                ),
                step.requires,
            )
            for step in steps
        }
        return cls(identity=identity, signer=signer, tz=tz, steps=compiled, sign=sign)

    def compose(self, recipient: Recipient, *, now: datetime, subject_prefix: str = "") -> bytes:
        """The finished message; ValueError (TemplateProblem included) when it cannot be built."""
        content, layout, requires = self.steps[recipient.step_id]
        missing = missing_requirement(requires, recipient)
        if missing is not None:
            # The audience freeze skips these; a change withdrawn since must not send a
            # re-proposal that states nothing.
            raise ValueError(missing)
        signer = self.signer
        send_id = recipient.send_id
        unsubscribe_url = signer.unsubscribe_url(send_id)
        token = unsubscribe_url.rpartition("/")[2]  # also in the mailto: subject
        own_prefix = f"{signer.base_url}/u/"
        clicks: dict[str, str] = {}  # the text part repeats the HTML part's links

        def click(url: str) -> str:
            signed = clicks.get(url)
            if signed is None:
                signed = clicks[url] = signer.click_url(send_id, url)
            return signed

        today = now.astimezone(self.tz).date()
        rendered = render_content(content, merge_fields(recipient, self.identity, today))
        html = rewrite_html_links(rendered.html, click, own_prefix=own_prefix)
        if rendered.text is not None:
            text = rewrite_text_links(rendered.text, click, own_prefix=own_prefix)
        else:
            text = html_to_text(html)
        footer = Footer(
            sender_name=self.identity.name,
            postal_address=self.identity.postal_address,
            contact_email=self.identity.email,
            unsubscribe_url=unsubscribe_url,
        )
        message = assemble(
            layout,
            MailParts(
                to_name=recipient.name,
                to_address=recipient.email,
                subject=subject_prefix + rendered.subject,
                text=finish_text(text, footer),
                html=finish_html(html, footer, signer.open_url(send_id)),
                message_id=signer.message_id(send_id, self.identity.domain),
                unsubscribe_url=unsubscribe_url,
                unsubscribe_mailto=f"mailto:{self.identity.unsubscribe_email}"
                f"?subject=unsubscribe-{token}",
            ),
            date=now.astimezone(self.tz),
        )
        return self.sign(message) if self.sign is not None else message
