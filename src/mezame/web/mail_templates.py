"""テンプレート: the template library, the editor with a live per-contact preview, test sends."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from mezame.adapters.mail import link_signer, sender_identity, sender_parts
from mezame.api.deps import DbSession
from mezame.config import Settings
from mezame.errors import InvalidInputError, NotFoundError
from mezame.mail.render import TemplateProblem
from mezame.models import MailTemplate
from mezame.recipients.service import recipient_for_contact
from mezame.sending.service import send_test
from mezame.templates import service as templates
from mezame.templates.types import MessageType
from mezame.web.auth import MarketingPageUser, Pages
from mezame.web.headers import CONTENT_SECURITY_POLICY
from mezame.web.labels import N_
from mezame.web.render import Viewer

router = APIRouter(include_in_schema=False)

# Templates are marketing's tool (sales sees the mails in campaigns, not the library).

MESSAGE_TYPE_LABELS = {
    "newsletter": N_("Monthly newsletter"),
    "reproposal_price": N_("Re-proposal: price"),
    "reproposal_function": N_("Re-proposal: function"),
    "reproposal_timing": N_("Re-proposal: timing"),
    "reproposal_competitor": N_("Re-proposal: competitor"),
    "hisashiburi": N_("Long time no see"),
    "followup_2days": N_("Follow-up after 2 days"),
    "reminder_1week": N_("Reminder after 1 week"),
    "aftercare_1m": N_("After contract: 1 month"),
    "aftercare_3m": N_("After contract: 3 months"),
    "aftercare_6m": N_("After contract: 6 months"),
    "aftercare_12m": N_("After contract: 12 months"),
    "custom": N_("Custom"),
}
REQUIRES_LABELS = {"change": N_("Needs a change since last time")}
assert set(MESSAGE_TYPE_LABELS) == {t.value for t in MessageType}

# The preview is the author's HTML in a sandboxed iframe (no scripts, no same origin); it
# inherits this page's policy, so its inline styles and remote images must be allowed here.
EDITOR_CSP = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
).replace("img-src 'self' data:", "img-src 'self' data: https:")


class EditorForm(BaseModel):
    """The editor's fields as typed (kept on errors so nothing is lost).

    Also the form model of the create and save handlers (`Annotated[EditorForm, Form()]`):
    a field left empty in the form takes its default, other form fields (csrf_token) are
    ignored, and a value over its length is a 422 as for a single `Form()` parameter.
    """

    name: str = Field(default="", max_length=200)
    message_type: str = Field(default=MessageType.CUSTOM.value, max_length=30)
    subject: str = Field(default="", max_length=500)
    html_body: str = Field(default="", max_length=200_000)
    text_body: str = Field(default="", max_length=200_000)
    requires: str = Field(default="", max_length=30)

    @classmethod
    def of(cls, t: MailTemplate) -> EditorForm:
        # A stored template is shown as it is, never refused by the form's limits.
        return cls.model_construct(
            name=t.name,
            message_type=t.message_type,
            subject=t.subject,
            html_body=t.html_body,
            text_body=t.text_body or "",
            requires=t.requires or "",
        )

    def fields(self) -> templates.TemplateFields:
        return templates.TemplateFields(
            name=self.name,
            message_type=self.message_type,
            subject=self.subject,
            html=self.html_body,
            text=self.text_body or None,
            requires=self.requires or None,
        )


EditorFields = Annotated[EditorForm, Form()]
TypeField = Annotated[str, Form(max_length=30)]
SubjectField = Annotated[str, Form(max_length=500)]
BodyField = Annotated[str, Form(max_length=200_000)]
ContactField = Annotated[str, Form(max_length=320)]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _preview(
    request: Request, session: DbSession, form: EditorForm, contact: str
) -> dict[str, Any]:
    """The preview's context: the rendered mail, or the problem (part and line)."""
    settings = _settings(request)
    try:
        contact_id = templates.find_contact(session, contact)
        shown = templates.preview_content(
            session,
            subject=form.subject,
            html=form.html_body,
            text=form.text_body or None,
            requires=form.requires or None,
            contact_id=contact_id,
            identity=sender_identity(settings),
            unsubscribe_url=link_signer(settings).unsubscribe_url(0),
            today=datetime.now(ZoneInfo(settings.timezone)).date(),
        )
    except (TemplateProblem, NotFoundError) as exc:
        return {"preview": None, "problem": str(exc)}
    return {"preview": shown, "problem": None}


def _editor(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: Viewer,
    *,
    template: MailTemplate | None,
    form: EditorForm,
    contact: str = "",
    error: str | None = None,
    sent: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "template": template,
        "form": form,
        "contact": contact,
        "error": error,
        "sent": sent,
        "test_to": user.email,
        "type_labels": MESSAGE_TYPE_LABELS,
        "requires_labels": REQUIRES_LABELS,
        "read_only": template is not None and template.builtin,
        **_preview(request, session, form, contact),
    }
    return pages.render(
        request,
        "mail_template.html",
        context,
        status_code=status_code,
        headers={"Content-Security-Policy": EDITOR_CSP},
    )


@router.get("/templates", response_class=HTMLResponse)
def template_list(
    request: Request, session: DbSession, pages: Pages, _user: MarketingPageUser
) -> HTMLResponse:
    """Built-ins (marked) and the team's templates."""
    context = {
        "templates": templates.list_templates(session),
        "type_labels": MESSAGE_TYPE_LABELS,
        "requires_labels": REQUIRES_LABELS,
    }
    return pages.render(request, "mail_templates.html", context)


@router.get("/templates/new", response_class=HTMLResponse)
def template_new(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser
) -> HTMLResponse:
    """An empty editor."""
    return _editor(request, session, pages, user, template=None, form=EditorForm())


@router.post("/templates", response_class=HTMLResponse)
def template_create(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    form: EditorFields,
) -> Response:
    """Save a new template (post/redirect/get); errors keep what was typed."""
    try:
        created = templates.create_template(session, form.fields(), user_id=user.id)
    except InvalidInputError as exc:
        return _editor(
            request,
            session,
            pages,
            user,
            template=None,
            form=form,
            error=str(exc),
            status_code=400,
        )
    return RedirectResponse(f"/templates/{created.id}", status_code=303)


@router.post("/templates/preview", response_class=HTMLResponse)
def template_preview(
    request: Request,
    session: DbSession,
    pages: Pages,
    _user: MarketingPageUser,
    subject: SubjectField = "",
    html_body: BodyField = "",
    text_body: BodyField = "",
    requires: TypeField = "",
    contact: ContactField = "",
) -> HTMLResponse:
    """The live preview (htmx): the editor's current text rendered for the chosen contact."""
    form = EditorForm(subject=subject, html_body=html_body, text_body=text_body, requires=requires)
    return pages.render(
        request,
        "_template_preview.html",
        _preview(request, session, form, contact),
        headers={"Content-Security-Policy": EDITOR_CSP},
    )


def _template_or_404(
    request: Request, session: DbSession, pages: Pages, template_id: int
) -> MailTemplate | HTMLResponse:
    try:
        return templates.get_template(session, template_id)
    except NotFoundError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)


@router.get("/templates/{template_id}", response_class=HTMLResponse)
def template_editor(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, template_id: int
) -> HTMLResponse:
    """The editor: subject, HTML and text, live preview for a contact, save, duplicate, test."""
    found = _template_or_404(request, session, pages, template_id)
    if isinstance(found, HTMLResponse):
        return found
    saved = request.session.pop("flash_template", None)
    return _editor(
        request, session, pages, user, template=found, form=EditorForm.of(found), sent=saved
    )


@router.post("/templates/{template_id}", response_class=HTMLResponse)
def template_save(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    template_id: int,
    form: EditorFields,
) -> Response:
    """Save a team template; a built-in is read-only (duplicate it)."""
    found = _template_or_404(request, session, pages, template_id)
    if isinstance(found, HTMLResponse):
        return found
    try:
        templates.update_template(session, template_id, form.fields(), user_id=user.id)
    except InvalidInputError as exc:
        return _editor(
            request,
            session,
            pages,
            user,
            template=found,
            form=form,
            error=str(exc),
            status_code=400,
        )
    request.session["flash_template"] = "saved"
    return RedirectResponse(f"/templates/{template_id}", status_code=303)


@router.post("/templates/{template_id}/duplicate")
def template_duplicate(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, template_id: int
) -> Response:
    """An editable copy, opened in the editor."""
    try:
        copy = templates.duplicate_template(session, template_id, user_id=user.id)
    except NotFoundError:
        return pages.render(request, "error.html", {"status": 404}, status_code=404)
    return RedirectResponse(f"/templates/{copy.id}", status_code=303)


@router.post("/templates/{template_id}/delete")
def template_delete(
    request: Request, session: DbSession, pages: Pages, user: MarketingPageUser, template_id: int
) -> Response:
    """Delete a team template (campaign mails copied from it keep their content)."""
    found = _template_or_404(request, session, pages, template_id)
    if isinstance(found, HTMLResponse):
        return found
    try:
        templates.delete_template(session, template_id)
    except InvalidInputError as exc:
        return _editor(
            request,
            session,
            pages,
            user,
            template=found,
            form=EditorForm.of(found),
            error=str(exc),
            status_code=400,
        )
    return RedirectResponse("/templates", status_code=303)


@router.post("/templates/{template_id}/test-send", response_class=HTMLResponse)
def template_test_send(
    request: Request,
    session: DbSession,
    pages: Pages,
    user: MarketingPageUser,
    template_id: int,
    to: Annotated[str, Form(max_length=320)] = "",
    contact: ContactField = "",
) -> Response:
    """Send the saved template once to `to` (default: the user's own address), marked [テスト]."""
    found = _template_or_404(request, session, pages, template_id)
    if isinstance(found, HTMLResponse):
        return found
    address = to.strip() or user.email
    try:
        contact_id = templates.find_contact(session, contact)
        recipient = recipient_for_contact(session, contact_id) if contact_id else None
        delivery = asyncio.run(
            send_test(
                sender_parts(_settings(request)),
                step=templates.as_step(found),
                campaign_id=0,
                to=address,
                recipient=recipient,
            )
        )
    except (NotFoundError, ValueError) as exc:
        problem, status = str(exc), 400
    else:
        if delivery.result.value == "accepted":
            request.session["flash_template"] = f"sent:{address}"
            return RedirectResponse(f"/templates/{template_id}", status_code=303)
        problem = f"{delivery.result.value} {delivery.code or ''} {delivery.reply}".strip()
        status = 502  # the SMTP server refused: not the user's input
    return _editor(
        request,
        session,
        pages,
        user,
        template=found,
        form=EditorForm.of(found),
        contact=contact,
        error=problem,
        status_code=status,
    )
