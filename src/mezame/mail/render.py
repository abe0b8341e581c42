"""Mail templates: sandboxed Jinja2 for subject, HTML and text, with merge fields.

Template authors are marketers, not developers, and a template is data anyone on the
team can edit: it runs in Jinja's immutable sandbox (no access to internals, no
mutation of the context), output is capped, and errors name the part and line.
The text part is derived from the HTML when the author wrote none; CSS is inlined
because most mail clients drop <style> blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html import escape, unescape
from typing import Any

import css_inline
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# A generous newsletter is 100 kB; anything far beyond that is a runaway loop.
MAX_PART_CHARS = 512_000
MAX_SUBJECT_CHARS = 300


class TemplateProblem(ValueError):
    """A template that cannot be used; the message names the part and, when known, the line."""


class _MailSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `*` and `**` bounded so `"x" * 10**9` cannot exhaust memory."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise TemplateProblem(f"exponent {right} is too large for a template")
        if operator == "*":
            count, seq = (left, right) if isinstance(left, int) else (right, left)
            if (
                isinstance(count, int)
                and hasattr(seq, "__len__")
                and count * len(seq) > MAX_PART_CHARS
            ):
                raise TemplateProblem("repetition too large for a template")
        return super().call_binop(context, operator, left, right)


def _environment(*, autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _MailSandbox(
        autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.globals.clear()  # no range(), lipsum(), dict() …: merge fields and filters only
    return env


_HTML_ENV = _environment(autoescape=True)
_TEXT_ENV = _environment(autoescape=False)


def _compile(part: str, source: str, env: ImmutableSandboxedEnvironment) -> Template:
    try:
        return env.from_string(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        raise TemplateProblem(f"{part}{where}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class CompiledContent:
    """One step's templates, compiled once and rendered per contact."""

    subject: Template
    html: Template
    text: Template | None  # None: derive each mail's text from its HTML


@dataclass(frozen=True, slots=True)
class RenderedContent:
    subject: str
    html: str
    text: str | None


def compile_content(*, subject: str, html: str, text: str | None) -> CompiledContent:
    """Compile the three parts; a syntax error raises TemplateProblem naming the part."""
    if not subject.strip():
        raise TemplateProblem("subject: empty")
    if not html.strip():
        raise TemplateProblem("html: empty")
    compiled_html = _compile("html", html, _HTML_ENV)
    if text and text.strip():
        compiled_text: Template | None = _compile("text", text, _TEXT_ENV)
    else:
        # The text part's template is derived from the HTML template once, not per mail;
        # when that does not compile (a "<" inside a tag), each mail's HTML is converted.
        try:
            compiled_text = _compile("text", html_to_text(html), _TEXT_ENV)
        except TemplateProblem:
            compiled_text = None
    return CompiledContent(
        subject=_compile("subject", subject, _TEXT_ENV), html=compiled_html, text=compiled_text
    )


def _bounded(part: str, chunks: Iterator[str], limit: int) -> str:
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise TemplateProblem(f"{part}: output longer than {limit:,} characters")
        out.append(chunk)
    return "".join(out)


def _render_part(part: str, template: Template, context: Mapping[str, Any], limit: int) -> str:
    try:
        return _bounded(part, template.generate(context), limit)
    except TemplateProblem:
        raise
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise TemplateProblem(f"{part}{f' line {line}' if line else ''}: {exc}") from exc


def render_content(compiled: CompiledContent, context: Mapping[str, Any]) -> RenderedContent:
    """Subject (one line), HTML and optional text for one contact."""
    subject = _render_part("subject", compiled.subject, context, MAX_SUBJECT_CHARS * 4)
    subject = " ".join(subject.split())[:MAX_SUBJECT_CHARS]
    html = _render_part("html", compiled.html, context, MAX_PART_CHARS)
    text = (
        _render_part("text", compiled.text, context, MAX_PART_CHARS)
        if compiled.text is not None
        else None
    )
    return RenderedContent(subject=subject, html=html, text=text)


_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def inline_css(html: str) -> str:
    """<style> rules moved into style attributes (only when there is a <style> block)."""
    if "<style" not in html.lower():
        return html
    return str(_INLINER.inline(html))


_DROP = re.compile(r"<(head|style|script|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_ANCHOR = re.compile(
    r"""<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1[^>]*>(.*?)</a\s*>""", re.IGNORECASE | re.DOTALL
)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLOCK_END = re.compile(r"</(p|div|h[1-6]|tr|table|ul|ol|blockquote)\s*>", re.IGNORECASE)
_ITEM = re.compile(r"<li\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINE_EDGES = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n\n\n+")


def html_to_text(html: str) -> str:
    """A readable text part from HTML: paragraphs as blank lines, links as `text (URL)`.

    Regular expressions rather than an HTML parser: this runs once per message and the
    parser is twenty times slower; mail HTML is simple enough for the difference not to show.
    """

    def anchor(match: re.Match[str]) -> str:
        url = unescape(match.group(2)).strip()
        label = _TAG.sub("", match.group(3)).strip()
        if not url.lower().startswith(("http://", "https://", "mailto:")):
            return label
        return f"{label} ( {url} )" if label and unescape(label) != url else url

    text = _DROP.sub("", html)
    text = _ANCHOR.sub(anchor, text)
    text = _BREAK.sub("\n", text)
    text = _BLOCK_END.sub("\n\n", text)
    text = _ITEM.sub("\n・", text)
    text = _SPACES.sub(" ", unescape(_TAG.sub("", text)))
    text = _LINE_EDGES.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


@dataclass(frozen=True, slots=True)
class Footer:
    """What every mail must end with (特定電子メール法): sender, postal address, how to stop."""

    sender_name: str
    postal_address: str
    contact_email: str
    unsubscribe_url: str

    def text(self) -> str:
        return (
            "\n――――――――――――――――――――\n"
            f"送信者: {self.sender_name}\n"
            f"住所: {self.postal_address}\n"
            f"お問い合わせ: {self.contact_email}\n"
            "今後このメールの配信を希望されない場合は、以下のURLから配信停止できます。\n"
            f"{self.unsubscribe_url}\n"
        )

    def html(self) -> str:
        url = escape(self.unsubscribe_url, quote=True)
        return (
            '<div style="margin-top:32px;padding-top:12px;border-top:1px solid #ccc;'
            'font-size:12px;color:#666;line-height:1.6">'
            f"送信者: {escape(self.sender_name)}<br>"
            f"住所: {escape(self.postal_address)}<br>"
            f"お問い合わせ: {escape(self.contact_email)}<br>"
            "今後このメールの配信を希望されない場合は、"
            f'<a href="{url}">こちらから配信停止</a>できます。</div>'
        )


_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def finish_html(html: str, footer: Footer, open_pixel_url: str) -> str:
    """The HTML with the legal footer and the open pixel before </body> (or at the end)."""
    pixel = (
        f'<img src="{escape(open_pixel_url, quote=True)}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    tail = footer.html() + pixel
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + tail
    at = ends[-1].start()
    return html[:at] + tail + html[at:]


def finish_text(text: str, footer: Footer) -> str:
    return text.rstrip("\n") + "\n" + footer.text()
