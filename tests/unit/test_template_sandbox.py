"""The mail template sandbox: no internals, no imports, bounded output, loops and calls;
every error names the part and the line. And the merge fields and filters templates use."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mezame.mail.message import SenderIdentity
from mezame.mail.render import (
    MAX_PART_CHARS,
    TemplateProblem,
    compile_content,
    date_ja,
    render_content,
    yen,
)
from mezame.sending.compose import Recipient, merge_fields, missing_requirement, months_between

CONTEXT = {"contact": {"name": "佐藤"}, "company": {"name": "株式会社サンプル"}}


def _render(html: str) -> str:
    return render_content(compile_content(subject="s", html=html, text=None), CONTEXT).html


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("<p>\n{{ ''.__class__ }}</p>", 2),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", 1),
        ("\n\n{{ contact.name.__class__.__init__.__globals__ }}", 3),
        ("{{ cycler.__init__.__globals__.os }}", 1),  # Jinja's globals are gone
        ("{{ joiner }}{{ namespace }}{{ lipsum() }}", 1),
        ("{{ contact.__len__() }}", 1),
        ("{{ contact.name.format(contact) }}", 1),  # str.format reaches attributes
        ("{{ 'a'.center(1000000000) }}", 1),
        ("{{ 'a'|center(1000000000) }}", 1),  # only a short list of filters exists
        ("{{ 'x'|attr('__class__') }}", 1),
    ],
)
def test_no_path_to_python_internals_or_unbounded_helpers(source: str, line: int) -> None:
    with pytest.raises(TemplateProblem, match=rf"^html line {line}: "):
        _render(source)


@pytest.mark.parametrize(
    ("source", "tag", "line"),
    [
        ("{% import 'os' as os %}", "import", 1),
        ("<p>\n{% from 'x' import y %}", "from … import", 2),
        ("{% include 'secrets.html' %}", "include", 1),
        ("\n\n{% extends 'base.html' %}", "extends", 3),
    ],
)
def test_no_imports_or_includes(source: str, tag: str, line: int) -> None:
    with pytest.raises(TemplateProblem, match=rf"^html line {line}: \{{% {tag} %\}} is not"):
        compile_content(subject="s", html=source, text=None)


@pytest.mark.parametrize(
    "source",
    [
        # Nested loops over a long (but allowed) string: 2.5e11 iterations without output.
        "{% set s = 'x' * 500000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        # Exponential recursion without output.
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(50) }}",
        # Endless recursion.
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        # Doubling a string with ~ or + in a few lines.
        "{% set s = 'x' * 400000 %}{% set s = s ~ s %}{{ s|length }}",
        "{% set s = 'x' * 400000 %}{% set s = s + s %}{{ s|length }}",
        "{% set s = 'x' * 400000 %}{{ [s, s, s]|join }}",
        "{{ 'x' * 100000000 }}",
        "{{ 2 ** 100000 }}",
        # Output longer than the limit, a piece at a time.
        "{% set s = 'x' * 100000 %}{% for c in 'abcdefghij' %}{{ s }}{% endfor %}",
    ],
)
def test_loops_calls_strings_and_output_are_bounded(source: str) -> None:
    with pytest.raises(TemplateProblem, match=r"^html"):
        _render(source)


def test_a_modest_loop_and_macro_still_work() -> None:
    out = _render(
        "{% macro hi(n) %}{{ n }}様{% endmacro %}"
        "{% for p in ['A社', 'B社'] %}{{ loop.index }}:{{ hi(p) }} {% endfor %}"
        "{{ contact.name|upper }}{{ 'abc'.upper() }}"
    )
    assert out == "1:A社様 2:B社様 佐藤ABC"


def test_runtime_errors_name_the_part_and_line() -> None:
    with pytest.raises(TemplateProblem, match=r"^html line 3: ZeroDivisionError"):
        _render("<p>\n</p>\n{{ 1 / 0 }}")
    with pytest.raises(TemplateProblem, match=r"^html line 2: 'nope' is undefined"):
        _render("<p>\n{{ nope.x }}</p>")
    compiled = compile_content(subject="{{ contact.name }}\n{{ missing }}", html="x", text=None)
    with pytest.raises(TemplateProblem, match=r"^subject line 2"):
        render_content(compiled, CONTEXT)
    compiled = compile_content(subject="s", html="<p>x</p>", text="a\n{{ int('x') }}")
    with pytest.raises(TemplateProblem, match=r"^text line 2"):
        render_content(compiled, CONTEXT)


def test_template_source_size_is_bounded() -> None:
    with pytest.raises(TemplateProblem, match=r"^html: longer than"):
        compile_content(subject="s", html="x" * (MAX_PART_CHARS + 1), text=None)


def test_missing_values_print_as_nothing() -> None:
    compiled = compile_content(
        subject="s", html="[{{ a }}][{{ b.c }}][{{ a|yen }}][{{ a|date_ja }}]", text=None
    )
    assert render_content(compiled, {"a": None, "b": {"c": None}}).html == "[][][][]"


def test_date_ja_and_yen() -> None:
    assert date_ja(date(2026, 11, 23)) == "2026年11月23日"
    assert yen(1_234_000) == "¥1,234,000"
    assert yen(-500) == "-¥500"
    compiled = compile_content(subject="s", html="{{ d|date_ja }} {{ n|yen }}", text=None)
    assert render_content(compiled, {"d": date(2026, 1, 5), "n": 98000}).html == (
        "2026年1月5日 ¥98,000"
    )


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_yen_reads_back_as_the_amount(amount: int) -> None:
    text = yen(amount)
    assert int(text.replace("¥", "").replace(",", "")) == amount
    assert text.lstrip("-").startswith("¥")


@given(st.dates(), st.dates())
def test_months_between_counts_whole_months(start: date, end: date) -> None:
    months = months_between(start, end)
    assert months >= 0
    if end >= start:
        # Adding the months to the start never passes the end; one more month would.
        total = start.year * 12 + start.month - 1 + months
        assert (total // 12, total % 12 + 1) <= (end.year, end.month)
        assert months <= (end - start).days // 28


IDENTITY = SenderIdentity(
    name="株式会社めざめ商事",
    email="news@mezame.example.jp",
    postal_address="東京都千代田区丸の内1-1-1",
    unsubscribe_email="stop@mezame.example.jp",
    booking_url="https://mezame.example.jp/booking",
)


def _recipient(**changes: object) -> Recipient:
    base = {
        "send_id": 1,
        "step_id": 1,
        "contact_id": 1,
        "attempts": 0,
        "email": "sato@example.jp",
        "name": "佐藤 一郎",
        "department": "購買部",
        "title": None,
        "company_name": "株式会社みなと物流",
    }
    base.update(changes)
    return Recipient(**base)  # type: ignore[arg-type]


def test_merge_fields_for_a_dormant_former_customer() -> None:
    fields = merge_fields(
        _recipient(
            owner_name="鈴木 花子",
            owner_email="suzuki@mezame.example.jp",
            last_product="受発注クラウド",
            last_ordered_on=date(2025, 3, 31),
            last_amount=2_400_000,
            dormancy_reason="price",
            fell_asleep_on=date(2025, 5, 23),
            change="年間プランを10%値下げしました",
        ),
        IDENTITY,
        date(2026, 11, 23),
    )
    assert fields["owner"] == {"name": "鈴木 花子", "email": "suzuki@mezame.example.jp"}
    assert fields["last_purchase"] == {
        "product": "受発注クラウド",
        "date": date(2025, 3, 31),
        "amount": 2_400_000,
    }
    assert fields["dormancy"] == {"reason": "price", "reason_label": "価格", "months": 18}
    assert fields["change"] == "年間プランを10%値下げしました"
    assert fields["booking"]["url"] == "https://mezame.example.jp/booking"
    assert "https://mezame.example.jp/booking" in fields["booking"]["line"]


def test_a_contact_without_history_has_empty_fields_and_no_change() -> None:
    fields = merge_fields(_recipient(), IDENTITY, date(2026, 11, 23))
    assert fields["owner"] == {"name": "", "email": ""}
    assert fields["last_purchase"] == {"product": "", "date": None, "amount": None}
    assert fields["dormancy"] == {"reason": "", "reason_label": "", "months": None}
    assert fields["change"] is None
    assert missing_requirement("change", _recipient()) == "no change to state"
    assert missing_requirement("change", _recipient(change="新機能")) is None
    assert missing_requirement(None, _recipient()) is None
