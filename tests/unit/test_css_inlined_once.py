"""CSS inlined once per campaign step gives every mail what inlining the mail would give."""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import date
from functools import cache

import css_inline
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezame.mail.links import LinkSigner
from mezame.mail.message import SenderIdentity
from mezame.mail.render import CompiledContent, compile_content, render_content
from mezame.sending.compose import Recipient, merge_fields, sample_recipient
from mezame.templates.library import builtin_templates

IDENTITY = SenderIdentity(
    "株式会社めざめ",
    "news@mezame.example.jp",
    "東京都千代田区1-1",
    "u@mezame.example.jp",
    booking_url="https://mezame.example.jp/booking?from=mail&x=1",
)
TODAY = date(2026, 11, 23)
_SERIALISER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


def samples() -> list[dict[str, object]]:
    full = sample_recipient()
    bare = Recipient(0, 0, 0, 0, full.email, None, None, None, None)
    return [merge_fields(r, IDENTITY, TODAY) for r in (full, bare)]


def normalised(html: str) -> str:
    """Both ways through the same HTML5 parser and serialiser: `&#34;` and `"` compare equal."""
    return str(_SERIALISER.inline(html))


def per_mail(subject: str, html: str, context: dict[str, object]) -> str:
    """The reference: render first, then inline this one mail."""
    return render_content(compile_content(subject=subject, html=html, text=None), context).html


@cache
def builtin_both_ways() -> list[tuple[str, CompiledContent, CompiledContent]]:
    """Each built-in template compiled with the inlining proved once, and without samples."""
    return [
        (
            t.name,
            compile_content(subject=t.subject, html=t.html, text=None, samples=samples()),
            compile_content(subject=t.subject, html=t.html, text=None),
        )
        for t in builtin_templates()
    ]


def test_every_builtin_template_is_inlined_once() -> None:
    for name, once, _ in builtin_both_ways():
        assert once.css_inlined, name


awkward_text = st.text(
    alphabet=st.sampled_from(list("山田太郎株式会社<>&\"' abc{}%#\n")), max_size=30
)


@settings(max_examples=60, deadline=None)
@given(
    name=awkward_text,
    company=awkward_text,
    change=st.one_of(st.none(), awkward_text),
    product=st.one_of(st.none(), awkward_text),
    amount=st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
)
def test_inlined_once_renders_what_inlining_each_mail_renders(
    name: str, company: str, change: str | None, product: str | None, amount: int | None
) -> None:
    recipient = replace(
        sample_recipient(),
        name=name,
        company_name=company,
        change=change,
        last_product=product,
        last_amount=amount,
    )
    context = merge_fields(recipient, IDENTITY, TODAY)
    for name, once, each in builtin_both_ways():
        expected = normalised(render_content(each, context).html)
        assert normalised(render_content(once, context).html) == expected, name


@pytest.mark.parametrize(
    "html",
    [
        # A loop inside a table: the parser would move the markup out of the table.
        "<html><head><style>td{color:red}</style></head><body><table>"
        "{% for w in contact.name %}<tr><td>{{ w }}</td></tr>{% endfor %}</table></body></html>",
        # Which element is first depends on the condition.
        "<html><head><style>p:first-child{color:red}</style></head><body>"
        "{% if change %}<p>{{ change }}</p>{% endif %}<p>本文</p></body></html>",
        # The style block itself is conditional.
        "<html><head>{% if change %}<style>p{color:red}</style>{% endif %}</head>"
        "<body><p>本文</p></body></html>",
        # Markup in the CSS.
        "<html><head><style>p{color:{{ 'red' }}}</style></head><body><p>x</p></body></html>",
    ],
)
def test_templates_it_cannot_prove_are_inlined_per_mail(html: str) -> None:
    compiled = compile_content(subject="s", html=html, text=None, samples=samples())
    assert not compiled.css_inlined
    for context in samples():
        rendered = render_content(compiled, context).html
        assert "<style" not in rendered
        assert rendered == per_mail("s", html, context)


def test_link_tags_are_the_rfc_2104_hmac_of_the_purpose_key() -> None:
    # The pads are hashed once for speed; the tags must stay what hmac.digest gives, or
    # every link in every mail already sent would stop working.
    secret = b"a-deployment-secret"
    signer = LinkSigner(secret, "https://mezame.example.jp")
    for purpose in LinkSigner.PURPOSES:
        key = hmac.digest(secret, b"mezame-link:" + purpose.encode(), "sha256")
        for data in (b"", b"\x00" * 8, "https://例え.jp/?q=1".encode() * 20):
            assert signer._tag(purpose, data) == hmac.digest(key, data, "sha256")[:12]
