"""The template library: list, create, edit, duplicate, delete, install built-ins, preview.

Built-in templates are mezame's: `install_builtin_templates` writes them by name and
refreshes them on upgrade, so they are read-only here; the team duplicates one to edit it.
A campaign step copies a template's content (`step_content`), so later edits never change a
mail already created.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mezame.campaigns.kinds import StepSpec
from mezame.campaigns.service import StepContent
from mezame.errors import InvalidInputError, NotFoundError
from mezame.mail.message import SenderIdentity
from mezame.mail.render import (
    Footer,
    TemplateProblem,
    compile_content,
    finish_html,
    finish_text,
    html_to_text,
    render_content,
)
from mezame.models import CampaignStep, Contact, MailTemplate
from mezame.recipients.service import recipient_for_contact
from mezame.sending.compose import (
    Recipient,
    merge_fields,
    missing_requirement,
    sample_recipient,
)
from mezame.templates.library import builtin_templates
from mezame.templates.types import MessageType, Requirement

MAX_NAME = 200


def list_templates(session: Session) -> list[MailTemplate]:
    """Built-ins first, then the team's, each by message type and name."""
    order = {t.value: i for i, t in enumerate(MessageType)}
    rows = list(session.scalars(select(MailTemplate)))
    return sorted(rows, key=lambda t: (not t.builtin, order.get(t.message_type, 99), t.name))


def get_template(session: Session, template_id: int) -> MailTemplate:
    template = session.get(MailTemplate, template_id)
    if template is None:
        raise NotFoundError(f"template {template_id} does not exist")
    return template


@dataclass(frozen=True)
class TemplateFields:
    """What an author writes; checked by `check_fields` before anything is stored."""

    name: str
    message_type: str
    subject: str
    html: str
    text: str | None = None
    requires: str | None = None


def check_fields(fields: TemplateFields) -> TemplateFields:
    """Normalised fields, or InvalidInputError naming the field (and part and line)."""
    name = fields.name.strip()
    if not name:
        raise InvalidInputError("name: empty")
    if len(name) > MAX_NAME:
        raise InvalidInputError(f"name: longer than {MAX_NAME} characters")
    if fields.message_type not in {t.value for t in MessageType}:
        raise InvalidInputError(f"message_type: unknown {fields.message_type!r}")
    requires = fields.requires or None
    if requires is not None and requires not in {r.value for r in Requirement}:
        raise InvalidInputError(f"requires: unknown {requires!r}")
    text = fields.text if fields.text and fields.text.strip() else None
    try:
        compile_content(subject=fields.subject, html=fields.html, text=text)
    except TemplateProblem as exc:
        raise InvalidInputError(str(exc)) from exc
    return TemplateFields(
        name=name,
        message_type=fields.message_type,
        subject=fields.subject.strip(),
        html=fields.html,
        text=text,
        requires=requires,
    )


def _name_taken(session: Session, name: str, *, other_than: int | None = None) -> bool:
    query = select(MailTemplate.id).where(MailTemplate.name == name)
    if other_than is not None:
        query = query.where(MailTemplate.id != other_than)
    return session.scalar(query.limit(1)) is not None


def create_template(
    session: Session, fields: TemplateFields, *, user_id: int | None = None
) -> MailTemplate:
    checked = check_fields(fields)
    if _name_taken(session, checked.name):
        raise InvalidInputError(f"name: a template named {checked.name!r} already exists")
    template = MailTemplate(
        name=checked.name,
        message_type=checked.message_type,
        subject=checked.subject,
        html_body=checked.html,
        text_body=checked.text,
        requires=checked.requires,
        builtin=False,
        updated_by_id=user_id,
    )
    session.add(template)
    session.flush()
    return template


def _editable(session: Session, template_id: int) -> MailTemplate:
    template = get_template(session, template_id)
    if template.builtin:
        raise InvalidInputError(
            f"template {template_id} is built-in and read-only: duplicate it to edit"
        )
    return template


def update_template(
    session: Session, template_id: int, fields: TemplateFields, *, user_id: int | None = None
) -> MailTemplate:
    template = _editable(session, template_id)
    checked = check_fields(fields)
    if _name_taken(session, checked.name, other_than=template_id):
        raise InvalidInputError(f"name: a template named {checked.name!r} already exists")
    template.name = checked.name
    template.message_type = checked.message_type
    template.subject = checked.subject
    template.html_body = checked.html
    template.text_body = checked.text
    template.requires = checked.requires
    template.updated_by_id = user_id
    session.flush()
    return template


def duplicate_template(
    session: Session, template_id: int, *, user_id: int | None = None
) -> MailTemplate:
    """An editable copy named "… のコピー" (numbered when that name is taken)."""
    source = get_template(session, template_id)
    base = f"{source.name[: MAX_NAME - 12]} のコピー"
    name, n = base, 1
    while _name_taken(session, name):
        n += 1
        name = f"{base} ({n})"
    copy = MailTemplate(
        name=name,
        message_type=source.message_type,
        subject=source.subject,
        html_body=source.html_body,
        text_body=source.text_body,
        requires=source.requires,
        builtin=False,
        updated_by_id=user_id,
    )
    session.add(copy)
    session.flush()
    return copy


def delete_template(session: Session, template_id: int) -> None:
    """Delete a team template; steps copied from it keep their content, lose the link."""
    template = _editable(session, template_id)
    session.execute(
        update(CampaignStep)
        .where(CampaignStep.template_id == template_id)
        .values(template_id=None)
        .execution_options(synchronize_session=False)
    )
    session.delete(template)
    session.flush()


@dataclass(frozen=True)
class InstallReport:
    added: int
    updated: int
    unchanged: int


def install_builtin_templates(session: Session) -> InstallReport:
    """Write the shipped templates by name; idempotent, never touches the team's templates.

    A team template that took a built-in's name keeps it: that built-in is left out.
    """
    existing = {t.name: t for t in session.scalars(select(MailTemplate))}
    added = updated = unchanged = 0
    for shipped in builtin_templates():
        row = existing.get(shipped.name)
        requires = shipped.requires.value if shipped.requires else None
        if row is None:
            session.add(
                MailTemplate(
                    name=shipped.name,
                    message_type=shipped.message_type.value,
                    subject=shipped.subject,
                    html_body=shipped.html,
                    text_body=None,
                    requires=requires,
                    builtin=True,
                )
            )
            added += 1
        elif not row.builtin:
            continue
        elif (row.message_type, row.subject, row.html_body, row.text_body, row.requires) == (
            shipped.message_type.value,
            shipped.subject,
            shipped.html,
            None,
            requires,
        ):
            unchanged += 1
        else:
            row.message_type = shipped.message_type.value
            row.subject = shipped.subject
            row.html_body = shipped.html
            row.text_body = None
            row.requires = requires
            updated += 1
    session.flush()
    return InstallReport(added=added, updated=updated, unchanged=unchanged)


def step_content(template: MailTemplate) -> StepContent:
    """A campaign mail copied from a template (the step keeps its own snapshot)."""
    return StepContent(
        subject=template.subject,
        html=template.html_body,
        text=template.text_body,
        template_id=template.id,
        requires=template.requires,
    )


def sequence_step(
    session: Session, spec: StepSpec, *, html: str | None = None, text: str | None = None
) -> StepContent:
    """A sequence mail from its spec (campaigns.kinds.check_steps): the template's copy, its
    subject and text part overridable, or the spec's own HTML; with its wait and branch.

    `html` and `text` are the contents of the spec's html_file and text_file, which only
    the caller knows where to read. NotFoundError when the template does not exist.
    """
    if spec.template_id is not None:
        base = step_content(get_template(session, spec.template_id))
    else:
        base = StepContent(subject="", html=(html if html is not None else spec.html) or "")
    text_part = text if text is not None else spec.text
    return replace(
        base,
        subject=spec.subject or base.subject,
        text=text_part if text_part is not None else base.text,
        wait_days=spec.wait_days,
        wait_until=spec.wait_until,
        branch=spec.branch,
        then_seasonal=spec.then_seasonal,
    )


# ---------------------------------------------------------------------------------------------
# Preview


def find_contact(session: Session, query: str) -> int | None:
    """A contact id from what someone typed in the picker: an id or an email address."""
    query = query.strip()
    if not query:
        return None
    if query.isdigit():
        found = session.scalar(select(Contact.id).where(Contact.id == int(query)))
    else:
        found = session.scalar(
            select(Contact.id)
            .where(func.lower(Contact.email) == query.lower(), Contact.merged_into_id.is_(None))
            .order_by(Contact.id)
            .limit(1)
        )
    if found is None:
        raise NotFoundError(f"contact {query!r} not found")
    return found


@dataclass(frozen=True)
class Preview:
    """One mail as a contact would read it: footer added, links as written (not rewritten)."""

    subject: str
    html: str
    text: str
    recipient: Recipient
    # Why this contact would be skipped (e.g. "no change to state"), else None.
    skipped_because: str | None


def preview_content(
    session: Session,
    *,
    subject: str,
    html: str,
    text: str | None,
    requires: str | None,
    contact_id: int | None,
    identity: SenderIdentity,
    unsubscribe_url: str,
    today: date,
) -> Preview:
    """Render content for a contact (None: a sample one); TemplateProblem names part and line."""
    recipient = (
        recipient_for_contact(session, contact_id) if contact_id is not None else sample_recipient()
    )
    compiled = compile_content(subject=subject, html=html, text=text or None)
    rendered = render_content(compiled, merge_fields(recipient, identity, today))
    footer = Footer(
        sender_name=identity.name,
        postal_address=identity.postal_address,
        contact_email=identity.email,
        unsubscribe_url=unsubscribe_url,
    )
    plain = rendered.text if rendered.text is not None else html_to_text(rendered.html)
    return Preview(
        subject=rendered.subject,
        html=finish_html(rendered.html, footer, None),
        text=finish_text(plain, footer),
        recipient=recipient,
        skipped_because=missing_requirement(requires, recipient),
    )


def preview(
    session: Session,
    source: MailTemplate | CampaignStep,
    contact_id: int | None,
    *,
    identity: SenderIdentity,
    unsubscribe_url: str,
    today: date,
) -> Preview:
    """A saved template or campaign mail rendered for a contact."""
    return preview_content(
        session,
        subject=source.subject,
        html=source.html_body,
        text=source.text_body,
        requires=source.requires,
        contact_id=contact_id,
        identity=identity,
        unsubscribe_url=unsubscribe_url,
        today=today,
    )


@dataclass
class TemplateStep:
    """A template as the sender's one-step mail (for test sends)."""

    id: int
    subject: str
    html_body: str
    text_body: str | None
    requires: str | None
    position: int = 1


def as_step(template: MailTemplate) -> TemplateStep:
    return TemplateStep(
        id=template.id,
        subject=template.subject,
        html_body=template.html_body,
        text_body=template.text_body,
        requires=template.requires,
    )
