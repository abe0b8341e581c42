"""Template endpoints: the library (CRUD, duplicate), per-contact preview, test send."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from mezame.adapters.mail import link_signer, sender_identity, sender_parts
from mezame.api.deps import DbSession, MarketingUser
from mezame.config import Settings
from mezame.errors import InvalidInputError
from mezame.mail.render import TemplateProblem
from mezame.models import MailTemplate
from mezame.recipients.service import recipient_for_contact
from mezame.sending.service import send_test
from mezame.templates import service as templates
from mezame.templates.types import MessageType, Requirement

router = APIRouter(prefix="/templates", tags=["templates"])


class TemplateIn(BaseModel):
    name: str = Field(max_length=200)
    message_type: MessageType = MessageType.CUSTOM
    subject: str = Field(max_length=500, description="Jinja2 (sandboxed), one line")
    html_body: str = Field(max_length=200_000, description="Jinja2 (sandboxed) HTML")
    text_body: str | None = Field(
        default=None, max_length=200_000, description="Derived from the HTML when empty"
    )
    requires: Requirement | None = Field(
        default=None, description='"change": contacts without a change to state are skipped'
    )

    def fields(self) -> templates.TemplateFields:
        return templates.TemplateFields(
            name=self.name,
            message_type=self.message_type.value,
            subject=self.subject,
            html=self.html_body,
            text=self.text_body,
            requires=self.requires.value if self.requires else None,
        )


class TemplateOut(BaseModel):
    id: int
    name: str
    message_type: str
    subject: str
    html_body: str
    text_body: str | None
    builtin: bool
    requires: str | None
    updated_at: datetime

    @classmethod
    def of(cls, t: MailTemplate) -> TemplateOut:
        return cls(
            id=t.id,
            name=t.name,
            message_type=t.message_type,
            subject=t.subject,
            html_body=t.html_body,
            text_body=t.text_body,
            builtin=t.builtin,
            requires=t.requires,
            updated_at=t.updated_at,
        )


class PreviewOut(BaseModel):
    subject: str
    html: str = Field(description="With the legal footer; links as written (not rewritten)")
    text: str
    contact_id: int | None
    skipped_because: str | None = Field(
        description="Why this contact would get no mail from a campaign (e.g. no change to state)"
    )


class TestSendIn(BaseModel):
    to: str = Field(max_length=320, description="The address that receives the test mail")
    contact_id: int | None = Field(default=None, description="Whose merge fields to use")


class TestSendOut(BaseModel):
    result: str
    code: int | None
    reply: str


@router.get("", response_model=list[TemplateOut])
def list_templates(session: DbSession, _user: MarketingUser) -> list[TemplateOut]:
    """Built-in templates first, then the team's."""
    return [TemplateOut.of(t) for t in templates.list_templates(session)]


@router.post("", status_code=201, response_model=TemplateOut)
def create_template(body: TemplateIn, session: DbSession, user: MarketingUser) -> TemplateOut:
    """A new template; syntax errors are 422 naming the part and line."""
    return TemplateOut.of(templates.create_template(session, body.fields(), user_id=user.id))


@router.get("/{template_id}", response_model=TemplateOut)
def get_template(template_id: int, session: DbSession, _user: MarketingUser) -> TemplateOut:
    return TemplateOut.of(templates.get_template(session, template_id))


@router.put("/{template_id}", response_model=TemplateOut)
def update_template(
    template_id: int, body: TemplateIn, session: DbSession, user: MarketingUser
) -> TemplateOut:
    """Replace a team template (built-ins are read-only: duplicate them)."""
    return TemplateOut.of(
        templates.update_template(session, template_id, body.fields(), user_id=user.id)
    )


@router.delete("/{template_id}", status_code=204)
def delete_template(template_id: int, session: DbSession, _user: MarketingUser) -> Response:
    """Delete a team template; campaign mails copied from it keep their content."""
    templates.delete_template(session, template_id)
    return Response(status_code=204)


@router.post("/{template_id}/duplicate", status_code=201, response_model=TemplateOut)
def duplicate_template(template_id: int, session: DbSession, user: MarketingUser) -> TemplateOut:
    """An editable copy (how a built-in is customised)."""
    return TemplateOut.of(templates.duplicate_template(session, template_id, user_id=user.id))


@router.get("/{template_id}/preview", response_model=PreviewOut)
def preview_template(
    template_id: int,
    request: Request,
    session: DbSession,
    _user: MarketingUser,
    contact_id: Annotated[int | None, Query(description="Default: a sample contact")] = None,
) -> PreviewOut:
    """The template rendered for a contact: subject, HTML with footer, text."""
    settings: Settings = request.app.state.settings
    template = templates.get_template(session, template_id)
    try:
        shown = templates.preview(
            session,
            template,
            contact_id,
            identity=sender_identity(settings),
            unsubscribe_url=link_signer(settings).unsubscribe_url(0),
            today=datetime.now(ZoneInfo(settings.timezone)).date(),
        )
    except TemplateProblem as exc:
        raise InvalidInputError(str(exc)) from exc
    return PreviewOut(
        subject=shown.subject,
        html=shown.html,
        text=shown.text,
        contact_id=contact_id,
        skipped_because=shown.skipped_because,
    )


@router.post("/{template_id}/test-send", response_model=TestSendOut)
def test_send_template(
    template_id: int, body: TestSendIn, request: Request, session: DbSession, _user: MarketingUser
) -> TestSendOut:
    """Send the template once to `to`, rendered for a contact, subject marked [テスト]."""
    settings: Settings = request.app.state.settings
    template = templates.get_template(session, template_id)
    recipient = (
        recipient_for_contact(session, body.contact_id) if body.contact_id is not None else None
    )
    try:
        # A sync endpoint runs in a worker thread without an event loop: one of its own.
        delivery = asyncio.run(
            send_test(
                sender_parts(settings),
                step=templates.as_step(template),
                campaign_id=0,
                to=body.to.strip(),
                recipient=recipient,
            )
        )
    except ValueError as exc:  # a template problem, an unusable address, no postal address
        raise InvalidInputError(str(exc)) from exc
    return TestSendOut(result=delivery.result.value, code=delivery.code, reply=delivery.reply)
