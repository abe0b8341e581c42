"""The template library: built-in Japanese mails and the team's own, copied into campaign steps."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from mezame.models.base import Base, Timestamped


class MailTemplate(Timestamped, Base):
    """A reusable mail: subject, HTML and text (sandboxed Jinja2) for one message type.

    Built-ins are shipped with mezame and refreshed by `install_builtin_templates`; the team
    edits a duplicate. A campaign step copies the content when it is created, so editing a
    template never changes a mail already queued.
    """

    __tablename__ = "mail_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # templates.types.MessageType: newsletter, reproposal_price, …, custom
    message_type: Mapped[str] = mapped_column(String(30), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)  # derived from the HTML when empty
    builtin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A merge field without which the mail must not go out ("change": a re-proposal).
    requires: Mapped[str | None] = mapped_column(String(20))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
