"""Templates over SQLite and PostgreSQL: the built-ins, merge fields from the database, the
re-proposal's one change (and who is skipped without one), and a real send through aiosmtpd."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from email import message_from_bytes, policy

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from mezame.campaigns.service import create_campaign, freeze_audience, step_of
from mezame.errors import InvalidInputError
from mezame.mail.render import html_to_text
from mezame.models import CampaignSend, DormantCustomer, MailTemplate
from mezame.sending.service import run_campaign
from mezame.templates import service as templates
from mezame.templates.library import builtin_templates
from mezame.templates.types import MessageType
from tests.mail_helpers import FAST, IDENTITY, CollectingHandler, parts_for, smtp_server
from tests.template_helpers import CHANGE, seed_world

TODAY = date(2026, 11, 23)
UNSUBSCRIBE = "https://mezame.example.jp/u/preview"
REPROPOSALS = {
    MessageType.REPROPOSAL_PRICE,
    MessageType.REPROPOSAL_FUNCTION,
    MessageType.REPROPOSAL_TIMING,
    MessageType.REPROPOSAL_COMPETITOR,
}


def _by_type(session: Session) -> dict[str, MailTemplate]:
    return {t.message_type: t for t in templates.list_templates(session) if t.builtin}


def test_one_builtin_per_message_type_installed_idempotently(session: Session) -> None:
    mine = templates.create_template(
        session,
        templates.TemplateFields(
            name="自社版ニュースレター", message_type="newsletter", subject="件名", html="<p>x</p>"
        ),
    )
    first = templates.install_builtin_templates(session)
    assert (first.added, first.updated, first.unchanged) == (12, 0, 0)
    assert set(_by_type(session)) == {t.value for t in MessageType} - {"custom"}
    again = templates.install_builtin_templates(session)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 12)
    # An upgrade that changed a shipped template refreshes it; the team's are never touched.
    newsletter = _by_type(session)["newsletter"]
    newsletter.subject = "古い件名"
    session.flush()
    refreshed = templates.install_builtin_templates(session)
    assert (refreshed.updated, refreshed.unchanged) == (1, 11)
    assert newsletter.subject == builtin_templates()[0].subject
    assert (mine.subject, mine.html_body, mine.builtin) == ("件名", "<p>x</p>", False)


def test_builtins_are_read_only_and_duplicated_to_edit(session: Session) -> None:
    templates.install_builtin_templates(session)
    builtin = _by_type(session)["hisashiburi"]
    fields = templates.TemplateFields(
        name="x", message_type="hisashiburi", subject="s", html="<p>x</p>"
    )
    with pytest.raises(InvalidInputError, match="read-only: duplicate it"):
        templates.update_template(session, builtin.id, fields)
    with pytest.raises(InvalidInputError, match="read-only"):
        templates.delete_template(session, builtin.id)
    copy = templates.duplicate_template(session, builtin.id)
    second = templates.duplicate_template(session, builtin.id)
    assert (copy.name, second.name) == ("お久しぶりです のコピー", "お久しぶりです のコピー (2)")
    assert (copy.html_body, copy.builtin) == (builtin.html_body, False)
    edited = templates.update_template(
        session, copy.id, fields.__class__(**{**fields.__dict__, "name": "私のお久しぶり"})
    )
    assert edited.name == "私のお久しぶり"


def test_a_syntax_error_is_refused_with_its_part_and_line(session: Session) -> None:
    with pytest.raises(InvalidInputError, match=r"^html line 3: "):
        templates.create_template(
            session,
            templates.TemplateFields(
                name="壊れた", message_type="custom", subject="s", html="<p>\n\n{% if %}</p>"
            ),
        )


def _preview(session: Session, template: MailTemplate, contact_id: int) -> templates.Preview:
    return templates.preview(
        session,
        template,
        contact_id,
        identity=IDENTITY,
        unsubscribe_url=UNSUBSCRIBE,
        today=TODAY,
    )


def test_every_builtin_renders_for_a_dormant_customer(session: Session) -> None:
    world = seed_world(session)
    templates.install_builtin_templates(session)
    for message_type, template in _by_type(session).items():
        shown = _preview(session, template, world.dormant_contact)
        body = html_to_text(shown.html)
        assert "佐藤 一郎" in body, message_type
        assert "{{" not in shown.html + shown.subject and "None" not in body, message_type
        # The legal footer and the reader's way out, links as written (not rewritten).
        assert IDENTITY.postal_address in body and UNSUBSCRIBE in shown.html, message_type
        assert IDENTITY.postal_address in shown.text, message_type
        assert "/c/" not in shown.html
        assert shown.skipped_because is None
        if message_type != "hisashiburi":  # the personal note skips the company line
            assert "株式会社みなと物流" in body, message_type
        if message_type not in ("newsletter",):
            assert "鈴木 花子" in body, message_type  # from the owner, not the company
    hisashiburi = _preview(session, _by_type(session)["hisashiburi"], world.dormant_contact)
    assert "2025年3月31日に受発注クラウド 年間プラン" in hisashiburi.text
    assert "お久しぶりです" in hisashiburi.subject and "鈴木 花子" in hisashiburi.subject
    aftercare = _preview(session, _by_type(session)["aftercare_3m"], world.dormant_contact)
    assert "受発注クラウド 年間プランのご利用開始から3か月" in aftercare.text


def test_the_newsletter_has_its_four_parts_in_order(session: Session) -> None:
    world = seed_world(session)
    templates.install_builtin_templates(session)
    shown = _preview(session, _by_type(session)["newsletter"], world.newcomer)
    text = shown.text
    parts = ["いつもお世話になっております", "ワンポイント知識", "詳しく読む", "いつでも相談OK"]
    positions = [text.index(p) for p in parts]
    assert positions == sorted(positions)
    consult = text[positions[-1] :]
    # No booking page configured: the line offers a reply instead; with one, the slots link.
    assert "ご返信いただければ" in consult
    booked = templates.preview(
        session,
        _by_type(session)["newsletter"],
        world.newcomer,
        identity=IDENTITY.__class__(**{**_identity_fields(), "booking_url": "https://b.jp/s"}),
        unsubscribe_url=UNSUBSCRIBE,
        today=TODAY,
    )
    assert 'href="https://b.jp/s"' in booked.html and "空き枠" in booked.text


def _identity_fields() -> dict[str, str]:
    return {
        "name": IDENTITY.name,
        "email": IDENTITY.email,
        "postal_address": IDENTITY.postal_address,
        "unsubscribe_email": IDENTITY.unsubscribe_email,
    }


def test_each_reproposal_states_exactly_one_change(session: Session) -> None:
    world = seed_world(session)
    templates.install_builtin_templates(session)
    found = _by_type(session)
    for message_type in REPROPOSALS:
        template = found[message_type.value]
        assert template.requires == "change"
        shown = _preview(session, template, world.dormant_contact)
        assert shown.html.count(CHANGE) == 1 and shown.text.count(CHANGE) == 1, message_type
        assert "ひとつ変わったこと" in shown.text
        # A colleague at the same company gets the company's change.
        assert CHANGE in _preview(session, template, world.colleague).text
        # Without a change the preview says the contact would be skipped.
        nothing = _preview(session, template, world.newcomer)
        assert nothing.skipped_because == "no change to state"
        assert CHANGE not in nothing.text


def test_a_reproposal_campaign_skips_contacts_without_a_change_and_sends_the_rest(
    engine: Engine,
) -> None:
    with Session(engine) as s:
        world = seed_world(s)
        templates.install_builtin_templates(s)
        template = _by_type(s)["reproposal_price"]
        campaign = create_campaign(
            s, name="価格で離脱した顧客への再提案", steps=[templates.step_content(template)]
        )
        counts = freeze_audience(s, campaign_id=campaign.id, as_of=datetime.now(UTC))
        step = step_of(s, campaign.id, 1)
        assert (step.template_id, step.requires) == (template.id, "change")
        rows = {
            r.contact_id: r.detail
            for r in s.execute(select(CampaignSend.contact_id, CampaignSend.detail))
        }
        s.commit()
        campaign_id = campaign.id
    assert (counts.queued, counts.skipped) == (2, 1)
    assert rows == {
        world.dormant_contact: None,
        world.colleague: None,
        world.newcomer: ("no change to state"),
    }
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        report = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert report.sent == 2
    [mail] = handler.to("sato@minato.example.jp")
    message = message_from_bytes(mail.data, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (
        message["Subject"]
        == "株式会社みなと物流 佐藤 一郎様 以前のお見積りについて、ひとつご報告です"
    )
    assert html.count(CHANGE) == 1 and text.count(CHANGE) == 1
    assert "受発注クラウド 年間プランをご検討いただいた際" in text  # the last purchase
    assert "鈴木 花子" in text and "suzuki@mezame.example.jp" in text  # the owner signs
    assert not handler.to("tanaka@sakura.example.jp")


def test_a_change_withdrawn_after_the_freeze_stops_the_mail(engine: Engine) -> None:
    with Session(engine) as s:
        world = seed_world(s)
        templates.install_builtin_templates(s)
        template = _by_type(s)["reproposal_price"]
        campaign = create_campaign(s, name="再提案", steps=[templates.step_content(template)])
        freeze_audience(s, campaign_id=campaign.id, as_of=datetime.now(UTC))
        # The next dormancy run no longer finds a change for the company.
        s.execute(delete(DormantCustomer))
        s.commit()
        campaign_id = campaign.id
    handler = CollectingHandler()
    with smtp_server(handler) as port:
        report = asyncio.run(
            run_campaign(engine, campaign_id=campaign_id, parts=parts_for(port), options=FAST)
        )
    assert report.sent == 0 and handler.messages == []
    with Session(engine) as s:
        details = s.scalars(
            select(CampaignSend.detail).where(CampaignSend.contact_id == world.dormant_contact)
        ).all()
    assert [d for d in details if d and re.search("no change to state", d)]


def test_deleting_a_template_keeps_the_campaign_mail_copied_from_it(session: Session) -> None:
    mine = templates.create_template(
        session,
        templates.TemplateFields(
            name="展示会のお礼",
            message_type="custom",
            subject="{{ contact.name }}様",
            html="<p>ご来場ありがとうございました</p>",
        ),
    )
    campaign = create_campaign(session, name="お礼", steps=[templates.step_content(mine)])
    templates.delete_template(session, mine.id)
    step = step_of(session, campaign.id, 1)
    session.refresh(step)
    assert step.template_id is None
    assert step.html_body == "<p>ご来場ありがとうございました</p>"
    world = seed_world(session)
    shown = templates.preview(
        session, step, world.newcomer, identity=IDENTITY, unsubscribe_url=UNSUBSCRIBE, today=TODAY
    )
    assert shown.subject == "田中 花子様"


def test_the_contact_picker_takes_an_id_or_an_address(session: Session) -> None:
    world = seed_world(session)
    assert templates.find_contact(session, str(world.newcomer)) == world.newcomer
    assert templates.find_contact(session, " Tanaka@Sakura.example.jp ") == world.newcomer
    assert templates.find_contact(session, "") is None
    with pytest.raises(Exception, match="not found"):
        templates.find_contact(session, "nobody@example.jp")
