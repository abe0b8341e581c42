"""Mail templates: sandboxed Jinja2 for subject, HTML and text, with merge fields.

Template authors are marketers, not developers, and a template is data anyone on the
team can edit: it runs in Jinja's immutable sandbox (no access to internals, no
mutation of the context), output is capped, and errors name the part and line.
The text part is derived from the HTML when the author wrote none; CSS is inlined
because most mail clients drop <style> blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape, unescape
from types import TracebackType
from typing import Any

import css_inline
from jinja2 import StrictUndefined, Template, TemplateError, nodes, pass_eval_context
from jinja2.sandbox import ImmutableSandboxedEnvironment

# A generous newsletter is 100 kB; anything far beyond that is a runaway loop.
MAX_PART_CHARS = 512_000
MAX_SUBJECT_CHARS = 300
MAX_SOURCE_CHARS = 200_000
# Loop iterations plus calls (macros, methods) in one part of one mail: a newsletter needs a
# few dozen; nested loops over long strings or recursive macros would need billions.
MAX_STEPS = 20_000


class TemplateProblem(ValueError):
    """A template that cannot be used; the message names the part and, when known, the line."""


def _count_step(eval_ctx: Any, steps: int = 1) -> None:
    # The evaluation context is created per render: the budget is per part, per mail.
    used = getattr(eval_ctx, "mezame_steps", 0) + steps
    if used > MAX_STEPS:
        raise TemplateProblem(f"more than {MAX_STEPS:,} loop iterations and calls")
    eval_ctx.mezame_steps = used


@pass_eval_context
def _loop_guard(eval_ctx: Any, iterable: Iterable[Any]) -> Iterator[Any]:
    """Wrapped around every {% for %} iterable by the compiler pass below."""
    for item in iterable:
        _count_step(eval_ctx)
        yield item


def _size_guard(value: Any) -> Any:
    """Wrapped around every `~` concatenation: doubling a string in a few lines stays bounded."""
    if isinstance(value, str) and len(value) > MAX_PART_CHARS:
        raise TemplateProblem(f"a string longer than {MAX_PART_CHARS:,} characters")
    return value


def _join(items: Iterable[Any], separator: str = "") -> str:
    parts = [str(item) for item in items]
    if sum(map(len, parts)) + len(separator) * len(parts) > MAX_PART_CHARS:
        raise TemplateProblem(f"join: longer than {MAX_PART_CHARS:,} characters")
    return separator.join(parts)


def date_ja(value: date | datetime | None) -> str:
    """A day as Japanese business mail writes it: 2026年11月23日 (None: empty)."""
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


def yen(amount: int | float | None) -> str:
    """Whole yen with separators: ¥1,234,000 (None: empty)."""
    if amount is None:
        return ""
    whole = round(amount)
    return f"-¥{-whole:,}" if whole < 0 else f"¥{whole:,}"


# Filters a mail needs; the rest of Jinja's (format, center, indent, wordwrap, replace, attr,
# list, batch …) can build huge strings from small arguments or reach into objects.
_ALLOWED_FILTERS = [
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "e",
    "escape",
    "first",
    "int",
    "last",
    "length",
    "lower",
    "round",
    "string",
    "striptags",
    "title",
    "trim",
    "truncate",
    "upper",
    "urlencode",
    "wordcount",
]
# String methods a template may call; e.g. center(10**9) and format() may not.
_ALLOWED_STR_METHODS = frozenset(
    [
        "upper",
        "lower",
        "strip",
        "lstrip",
        "rstrip",
        "title",
        "capitalize",
        "startswith",
        "endswith",
        "isdigit",
    ]
)
_FORBIDDEN_TAGS = {
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Include: "include",
    nodes.Extends: "extends",
}


class _MailSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with bounded arithmetic, calls, loops and strings."""

    intercepted_binops = frozenset(["*", "**", "+"])

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
        return _size_guard(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _count_step(__context.eval_ctx)
        return super().call(__context, __obj, *args, **kwargs)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and callable(value) and attr not in _ALLOWED_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        # str.format is not on the allowed list at all, so it needs no sandboxed wrapper.
        return None


def _environment(*, autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _MailSandbox(
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # A missing value (no last purchase, no change) prints as nothing, never "None".
        finalize=lambda value: "" if value is None else value,
    )
    env.globals.clear()  # no range(), lipsum(), dict(), cycler …: merge fields and filters only
    kept = {name: env.filters[name] for name in _ALLOWED_FILTERS}
    env.filters.clear()
    env.filters.update(kept)
    env.filters.update(
        join=_join,
        date_ja=date_ja,
        yen=yen,
        mezame_loop_guard=_loop_guard,
        mezame_size_guard=_size_guard,
    )
    return env


_HTML_ENV = _environment(autoescape=True)
_TEXT_ENV = _environment(autoescape=False)


def _guarded(tree: nodes.Template, part: str) -> nodes.Template:
    """Refuse imports and includes; bound every loop and every concatenation."""
    for tag, name in _FORBIDDEN_TAGS.items():
        for node in tree.find_all(tag):
            raise TemplateProblem(f"{part} line {node.lineno}: {{% {name} %}} is not allowed")
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(
            loop.iter, "mezame_loop_guard", [], [], None, None, lineno=loop.lineno
        )
    for concat in list(tree.find_all(nodes.Concat)):
        # Filter nodes share Concat's fields; wrap by moving the operands into a new Concat.
        inner = nodes.Concat(concat.nodes, lineno=concat.lineno)
        guard = nodes.Filter(inner, "mezame_size_guard", [], [], None, None, lineno=concat.lineno)
        concat.nodes = [guard]
    return tree


def _compile(part: str, source: str, env: ImmutableSandboxedEnvironment) -> Template:
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateProblem(f"{part}: longer than {MAX_SOURCE_CHARS:,} characters")
    try:
        tree = env.parse(source)
        return env.from_string(_guarded(tree, part))
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        raise TemplateProblem(f"{part}{where}: {exc}") from exc


def _template_line(traceback: TracebackType | None) -> int | None:
    """The template line an error happened on (Jinja rewrites its frames to template lines)."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


@dataclass(frozen=True, slots=True)
class CompiledContent:
    """One step's templates, compiled once and rendered per contact."""

    subject: Template
    html: Template
    text: Template | None  # None: derive each mail's text from its HTML
    # The HTML template's CSS was inlined once at compile time (or it has none): its
    # mails need no inlining of their own.
    css_inlined: bool = False


@dataclass(frozen=True, slots=True)
class RenderedContent:
    subject: str
    html: str
    text: str | None


def compile_content(
    *,
    subject: str,
    html: str,
    text: str | None,
    samples: Sequence[Mapping[str, Any]] = (),
) -> CompiledContent:
    """Compile the three parts; a syntax error raises TemplateProblem naming the part.

    `samples`: merge-field contexts to prove a compile-time CSS inlining on (a sender
    passes some; a one-off preview passes none and inlines its one rendering).
    """
    if not subject.strip():
        raise TemplateProblem("subject: empty")
    if not html.strip():
        raise TemplateProblem("html: empty")
    compiled_html = _compile("html", html, _HTML_ENV)
    css_inlined = not _has_style(html)
    if not css_inlined and samples:
        inlined = _inlined_source(html, compiled_html, samples)
        if inlined is not None:
            compiled_html, css_inlined = inlined, True
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
        subject=_compile("subject", subject, _TEXT_ENV),
        html=compiled_html,
        text=compiled_text,
        css_inlined=css_inlined,
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
    except (
        TemplateError,
        TemplateProblem,
        ArithmeticError,
        LookupError,
        TypeError,
        ValueError,
        RecursionError,
    ) as exc:
        # Whatever a template's own expressions raise (1/0, int("x"), a missing key …) is
        # the template's problem, reported with its part and line, never a crash.
        line = getattr(exc, "lineno", None) or _template_line(exc.__traceback__)
        message = str(exc) if isinstance(exc, TemplateError | TemplateProblem) else repr(exc)
        if isinstance(exc, TemplateProblem) and message.startswith(part):
            raise
        raise TemplateProblem(f"{part}{f' line {line}' if line else ''}: {message}") from exc


def render_content(compiled: CompiledContent, context: Mapping[str, Any]) -> RenderedContent:
    """Subject (one line), HTML and optional text for one contact."""
    subject = _render_part("subject", compiled.subject, context, MAX_SUBJECT_CHARS * 4)
    subject = " ".join(subject.split())[:MAX_SUBJECT_CHARS]
    html = _render_part("html", compiled.html, context, MAX_PART_CHARS)
    if not compiled.css_inlined:
        html = inline_css(html)
    text = (
        _render_part("text", compiled.text, context, MAX_PART_CHARS)
        if compiled.text is not None
        else None
    )
    return RenderedContent(subject=subject, html=html, text=text)


_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def _has_style(html: str) -> bool:
    return "<style" in html.lower()


def inline_css(html: str) -> str:
    """<style> rules moved into style attributes (only when there is a <style> block)."""
    if not _has_style(html):
        return html
    return str(_INLINER.inline(html))


_JINJA_MARKUP = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PLACEHOLDER = re.compile(r"<!--mezame-jinja:(\d+)-->")
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
# Selectors whose match depends on siblings, position or attribute values: a loop or a
# condition in the template changes what they match, so such CSS is inlined per mail.
_STRUCTURAL_CSS = re.compile(r":(?:nth|first|last|only)-|:empty|:not\(|:has\(|[+~\[]")


def _inlined_source(
    html: str, compiled: Template, samples: Sequence[Mapping[str, Any]]
) -> Template | None:
    """The HTML template with its CSS inlined once, or None when that might not give each
    mail exactly what inlining the mail itself gives (every mail then inlines its own).

    Inlining parses the HTML, and Jinja markup is not HTML (a loop inside <table> would be
    moved out of it), so each piece of markup stands in as an HTML comment meanwhile. The
    result is trusted only when every piece comes back in place and the sample contexts
    render to the same mails both ways.
    """
    styles = _STYLE_BLOCK.findall(html)
    first_statement = html.find("{%")
    last_style_end = max(m.end() for m in _STYLE_BLOCK.finditer(html)) if styles else -1
    if (
        not styles
        or any(_JINJA_MARKUP.search(css) or _STRUCTURAL_CSS.search(css) for css in styles)
        or 0 <= first_statement < last_style_end  # a style block inside a condition or loop
    ):
        return None
    markup: list[str] = []

    def stand_in(match: re.Match[str]) -> str:
        markup.append(match.group(0))
        return f"<!--mezame-jinja:{len(markup) - 1}-->"

    # Rendering drops the source's last newline; the parser would move it into <body>.
    inlined = inline_css(_JINJA_MARKUP.sub(stand_in, html.removesuffix("\n")))
    if [int(n) for n in _PLACEHOLDER.findall(inlined)] != list(range(len(markup))):
        return None
    source = _PLACEHOLDER.sub(lambda m: markup[int(m.group(1))], inlined)
    try:
        candidate = _compile("html", source, _HTML_ENV)
        for context in samples:
            per_mail = inline_css(_render_part("html", compiled, context, MAX_PART_CHARS))
            if _render_part("html", candidate, context, MAX_PART_CHARS) != per_mail:
                return None
    except TemplateProblem:
        return None
    return candidate


_DROP = re.compile(r"<(head|style|script|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_ANCHOR = re.compile(
    r"""<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1[^>]*>(.*?)</a\s*>""", re.IGNORECASE | re.DOTALL
)
# A <br> ending a source line is one line break, not two.
_BREAK = re.compile(r"<br\s*/?>[ \t]*\r?\n?", re.IGNORECASE)
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


def finish_html(html: str, footer: Footer, open_pixel_url: str | None) -> str:
    """The HTML with the legal footer and the open pixel (None: no pixel, as in previews)
    before </body> (or at the end)."""
    tail = footer.html()
    if open_pixel_url is not None:
        tail += (
            f'<img src="{escape(open_pixel_url, quote=True)}" width="1" height="1" alt="" '
            'style="display:block;border:0;width:1px;height:1px">'
        )
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + tail
    at = ends[-1].start()
    return html[:at] + tail + html[at:]


def finish_text(text: str, footer: Footer) -> str:
    return text.rstrip("\n") + "\n" + footer.text()
