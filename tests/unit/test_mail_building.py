"""Pure mail building: RFC 2047 headers, MIME assembly, signed links, sandboxed templates."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mezame.adapters.smtp import data_payload
from mezame.mail.links import LinkSigner, rewrite_html_links, rewrite_text_links
from mezame.mail.message import (
    MailParts,
    MessageLayout,
    SenderIdentity,
    assemble,
    encode_header_text,
    format_address,
)
from mezame.mail.ratelimit import RateLimits
from mezame.mail.render import (
    Footer,
    TemplateProblem,
    compile_content,
    finish_html,
    html_to_text,
    inline_css,
    render_content,
)

SENDER = SenderIdentity(
    "株式会社めざめ", "news@mezame.example.jp", "東京都千代田区1-1", "u@mezame.example.jp"
)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200))
def test_encoded_header_text_decodes_back_and_keeps_lines_short(text: str) -> None:
    encoded = encode_header_text(text)
    assert all(len(line) <= 78 for line in encoded.split("\r\n"))
    assert str(make_header(decode_header(encoded.replace("\r\n", "")))) == text or encoded == text


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_header_text("件名\r\nBcc: victim@example.jp")
    with pytest.raises(ValueError):
        format_address("x", "a@example.jp>\r\nBcc: v@example.jp")


def test_assembled_message_parses_with_both_parts_and_the_compliance_headers() -> None:
    layout = MessageLayout.for_sender(SENDER, feedback_id="1:1:mezame")
    parts = MailParts(
        to_name="佐藤 花子",
        to_address="hanako@example.jp",
        subject="【ご案内】来期4月スタートに間に合うスケジュールのご提案（株式会社サンプル様）",
        text="本文\n.先頭がドットの行\n",
        html="<p>本文</p>",
        message_id="tok@mezame.example.jp",
        unsubscribe_url="https://mezame.example.jp/u/tok",
        unsubscribe_mailto="mailto:u@mezame.example.jp?subject=unsubscribe-tok",
    )
    raw = assemble(layout, parts, date=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == parts.subject
    assert message["To"].addresses[0].display_name == "佐藤 花子"
    assert message["From"].addresses[0].display_name == "株式会社めざめ"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<https://mezame.example.jp/u/tok>" in str(message["List-Unsubscribe"])
    assert message["Message-ID"] == "<tok@mezame.example.jp>"
    assert message.get_body(("plain",)).get_content() == parts.text
    assert message.get_body(("html",)).get_content() == parts.html
    # SMTP DATA: leading dots doubled, terminated by a lone dot.
    payload = data_payload(raw)
    assert payload.endswith(b"\r\n.\r\n") and b"\r\n.\r\n" not in payload[:-5]


def test_signed_tokens_round_trip_and_reject_tampering_and_other_purposes() -> None:
    signer = LinkSigner(b"secret", "https://mezame.example.jp")
    token = signer.send_token("unsubscribe", 12345)
    assert signer.read_send_token("unsubscribe", token) == 12345
    assert signer.read_send_token("open", token) is None
    assert LinkSigner(b"other", "https://x").read_send_token("unsubscribe", token) is None
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert signer.read_send_token("unsubscribe", forged) is None
    click = signer.click_url(7, "https://example.jp/a?b=1&c=2").rsplit("/", 1)[1]
    assert signer.read_click(click) == (7, "https://example.jp/a?b=1&c=2")
    tag = click.partition(".")[2]
    evil = (
        LinkSigner(b"attacker", "https://x").click_url(7, "https://evil.example").rsplit("/", 1)[1]
    )
    assert signer.read_click(evil) is None
    assert signer.read_click(evil.partition(".")[0] + "." + tag) is None
    assert signer.read_click("garbage") is None


def test_links_are_rewritten_except_mailto_and_unsubscribe() -> None:
    signer = LinkSigner(b"secret", "https://mezame.example.jp")
    html = (
        "<a href=\"https://example.jp/x?a=1&amp;b=2\">x</a> <a href='mailto:a@example.jp'>m</a>"
        ' <a class="c" href="https://mezame.example.jp/u/tok">stop</a> <a href="#top">t</a>'
    )
    out = rewrite_html_links(
        html, lambda u: signer.click_url(1, u), own_prefix="https://mezame.example.jp/u/"
    )
    assert "https://example.jp/x" not in out and "mailto:a@example.jp" in out
    assert 'href="https://mezame.example.jp/u/tok"' in out and 'href="#top"' in out
    token = out.split('href="https://mezame.example.jp/c/')[1].split('"')[0]
    assert signer.read_click(token) == (1, "https://example.jp/x?a=1&b=2")
    text = rewrite_text_links(
        "詳しくは https://example.jp/y をご覧ください", lambda u: f"<{u}>", own_prefix="-"
    )
    assert text == "詳しくは <https://example.jp/y> をご覧ください"


def test_templates_render_merge_fields_inside_the_sandbox() -> None:
    compiled = compile_content(
        subject="{{ contact.name }}様", html="<p>{{ company.name }}</p>", text=None
    )
    rendered = render_content(
        compiled, {"contact": {"name": "佐藤"}, "company": {"name": "<b>A&B</b>"}}
    )
    assert rendered.subject == "佐藤様"
    assert rendered.html == "<p>&lt;b&gt;A&amp;B&lt;/b&gt;</p>"  # autoescaped
    assert rendered.text == "<b>A&B</b>"  # the text part, derived from the HTML template, is raw
    # A "<" inside a Jinja tag defeats deriving the text template: each mail's HTML is converted.
    tricky = compile_content(subject="s", html="<b>{% if 1 < 2 %}小{% endif %}</b>", text=None)
    assert tricky.text is None
    assert render_content(tricky, {}).html == "<b>小</b>"
    for evil in (
        "{{ ''.__class__.__mro__ }}",
        "{{ contact.name.__class__ }}",
        "{% for x in range(10) %}{% endfor %}",
        "{{ 'x' * 100000000 }}",
    ):
        with pytest.raises(TemplateProblem):
            render_content(
                compile_content(subject="s", html=evil, text=None), {"contact": {"name": "a"}}
            )


def test_template_errors_name_the_part_and_line() -> None:
    with pytest.raises(TemplateProblem, match=r"html line 2"):
        compile_content(subject="s", html="<p>\n{% if %}</p>", text=None)
    with pytest.raises(TemplateProblem, match=r"^subject"):
        compile_content(subject="{{ unclosed", html="<p>x</p>", text=None)
    compiled = compile_content(subject="s", html="{{ missing.field }}", text=None)
    with pytest.raises(TemplateProblem, match=r"^html"):
        render_content(compiled, {})


def test_text_part_from_html_keeps_paragraphs_and_links() -> None:
    html = (
        "<html><head><style>p{}</style><title>t</title></head><body><h1>お知らせ</h1>"
        "<p>本文&amp;詳細<br>二行目</p><ul><li>一</li><li>二</li></ul>"
        '<p><a href="https://example.jp/a">詳しく読む</a></p></body></html>'
    )
    assert html_to_text(html) == (
        "お知らせ\n\n本文&詳細\n二行目\n\n・一\n・二\n\n詳しく読む ( https://example.jp/a )\n"
    )


def test_css_is_inlined_and_the_footer_and_pixel_land_before_body_end() -> None:
    html = inline_css(
        "<html><head><style>p { color: red }</style></head><body><p>x</p></body></html>"
    )
    assert '<p style="color: red;">x</p>' in html
    footer = Footer("株式会社<めざめ>", "東京都", "news@example.jp", "https://m.example.jp/u/t")
    done = finish_html(html, footer, "https://m.example.jp/o/t.gif")
    assert done.index("株式会社&lt;めざめ&gt;") < done.index("o/t.gif") < done.index("</body>")


def test_rate_limits_hold_back_the_message_over_the_limit() -> None:
    limits = RateLimits(per_minute=2, per_hour=3)
    assert limits.wait_seconds(0.0) == 0
    limits.record(0.0)
    limits.record(1.0)
    assert limits.wait_seconds(2.0) == pytest.approx(58.0)
    assert limits.wait_seconds(60.5) == 0
    limits.record(60.5)
    assert limits.wait_seconds(121.0) == pytest.approx(3600.0 - 121.0)
    assert RateLimits().wait_seconds(5.0) == 0
