"""One recipient's message, from the step's compiled templates to signed MIME bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
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
    inline_css,
    render_content,
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A claimed send row with the contact fields the merge fields use."""

    send_id: int
    step_id: int
    contact_id: int
    attempts: int
    email: str
    name: str | None
    department: str | None
    title: str | None
    company_name: str | None


class StepTemplates(Protocol):
    id: int
    position: int
    subject: str
    html_body: str
    text_body: str | None


def merge_fields(recipient: Recipient, identity: SenderIdentity) -> dict[str, Any]:
    """The names a template may use (missing values are empty, never "None")."""
    return {
        "contact": {
            "name": recipient.name or "",
            "email": recipient.email,
            "department": recipient.department or "",
            "title": recipient.title or "",
        },
        "company": {"name": recipient.company_name or ""},
        "sender": {
            "name": identity.name,
            "email": identity.email,
            "address": identity.postal_address,
        },
    }


@dataclass
class Composer:
    identity: SenderIdentity
    signer: LinkSigner
    tz: tzinfo
    steps: dict[int, tuple[CompiledContent, MessageLayout]]
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
        compiled = {
            step.id: (
                compile_content(subject=step.subject, html=step.html_body, text=step.text_body),
                MessageLayout.for_sender(
                    identity, feedback_id=f"{campaign_id}:{step.position}:mezame"
                ),
            )
            for step in steps
        }
        return cls(identity=identity, signer=signer, tz=tz, steps=compiled, sign=sign)

    def compose(self, recipient: Recipient, *, now: datetime, subject_prefix: str = "") -> bytes:
        """The finished message; ValueError (TemplateProblem included) when it cannot be built."""
        content, layout = self.steps[recipient.step_id]
        signer = self.signer
        send_id = recipient.send_id
        unsubscribe_url = signer.unsubscribe_url(send_id)
        own_prefix = f"{signer.base_url}/u/"

        def click(url: str) -> str:
            return signer.click_url(send_id, url)

        rendered = render_content(content, merge_fields(recipient, self.identity))
        html = rewrite_html_links(inline_css(rendered.html), click, own_prefix=own_prefix)
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
        token = signer.send_token("unsubscribe", send_id)
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
