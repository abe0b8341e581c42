"""Segment definitions: only whitelisted fields and operators, and errors that say where."""

from __future__ import annotations

from datetime import date

import pytest

from mezame.segments.filters import (
    FIELDS,
    DefinitionError,
    Group,
    Op,
    Rule,
    find_cycle,
    parse_definition,
    referenced_segments,
    uses_me,
)


def _problems(data: object) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return caught.value.problems


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "definition: expected an object with match and rules"),
        ({"match": "some", "rules": []}, "match: must be all or any, not 'some'"),
        (
            {"rules": [{"field": "password", "op": "eq", "value": 1}]},
            "rules[0].field: unknown field 'password'",
        ),
        (
            {"rules": [{"field": "tag", "op": "gt", "value": "x"}]},
            "rules[0].op: tag takes eq, neq, in, not_in, not 'gt'",
        ),
        (
            {"rules": [{"field": "tag", "op": "eq"}]},
            "rules[0].value: expected non-empty text, got None",
        ),
        (
            {"rules": [{"field": "lead.score", "op": "gt", "value": True}]},
            "rules[0].value: expected a whole number, got True",
        ),
        (
            {"rules": [{"field": "lead.score", "op": "between", "value": [9, 1]}]},
            "rules[0].value: low 9 is above high 1",
        ),
        (
            {"rules": [{"field": "contact.acquired_on", "op": "gte", "value": "2026/01/01"}]},
            "rules[0].value: expected a date as YYYY-MM-DD, got '2026/01/01'",
        ),
        (
            {"rules": [{"field": "company.status", "op": "in", "value": ["customer", "vip"]}]},
            "rules[0].value: [1]: expected one of prospect, customer, former, unknown, got 'vip'",
        ),
        (
            {"rules": [{"field": "dormancy.kind", "op": "is_empty", "value": "x"}]},
            "rules[0].value: is_empty takes no value",
        ),
        (
            {"rules": [{"field": "last_activity", "op": "within_days", "value": -1}]},
            "rules[0].value: -1 is outside 0–36500",
        ),
        (
            {"rules": [{"field": "contact.owner", "op": "eq", "value": "boss"}]},
            "rules[0].value: expected a user id or \"me\", got 'boss'",
        ),
        (
            {"rules": [{"field": "tag", "op": "eq", "value": "x", "sql": "1=1"}]},
            "rules[0]: unknown keys sql",
        ),
        (
            {"rules": [{"field": "consent.mailable", "op": "eq", "value": "yes"}]},
            "rules[0].value: expected true or false, got 'yes'",
        ),
    ],
)
def test_each_error_names_its_place(data: object, problem: str) -> None:
    assert _problems(data) == [problem]


def test_nested_errors_carry_the_whole_path() -> None:
    data = {
        "match": "any",
        "rules": [
            {"field": "tag", "op": "eq", "value": "VIP"},
            {"field": "tag", "op": "eq", "value": "VIP"},
            {
                "match": "all",
                "rules": [
                    {"field": "company.industry", "op": "contains", "value": ""},
                    {
                        "match": "any",
                        "rules": [{"field": "lead.band", "op": "eq", "value": "hot!"}],
                    },
                ],
            },
        ],
    }
    assert _problems(data) == [
        "rules[2].rules[0].value: expected non-empty text, got ''",
        "rules[2].rules[1].rules[0].value: expected one of hot, warm, cold, got 'hot!'",
    ]


def test_depth_and_size_are_bounded() -> None:
    deep: dict[str, object] = {"match": "all", "rules": []}
    for _ in range(6):
        deep = {"match": "all", "rules": [deep]}
    assert any("nested deeper than 5" in p for p in _problems(deep))
    many = {"rules": [{"field": "tag", "op": "eq", "value": "x"}] * 201}
    assert _problems(many) == ["too many rules: 201 (at most 200)"]


def test_values_are_normalised_and_round_trip() -> None:
    parsed = parse_definition(
        {
            "rules": [
                {
                    "field": "contact.email_domain",
                    "op": "in",
                    "value": ["@Example.JP", "example.jp", "b.jp"],
                },
                {
                    "field": "contact.acquired_on",
                    "op": "between",
                    "value": ["2026-01-01", "2026-03-31"],
                },
                {"field": "contact.owner", "op": "eq", "value": "me"},
                {"field": "lead.score", "op": "gte", "value": "40"},
            ]
        }
    )
    rules = [r for r in parsed.rules if isinstance(r, Rule)]
    assert rules[0].value == ["example.jp", "b.jp"]
    assert rules[1].value == [date(2026, 1, 1), date(2026, 3, 31)]
    assert rules[3].value == 40
    assert uses_me(parsed)
    assert parse_definition(parsed.as_json()) == parsed


def test_every_field_has_operators_and_choice_fields_have_choices() -> None:
    for spec in FIELDS.values():
        assert spec.ops
        assert all(isinstance(op, Op) for op in spec.ops)
    assert FIELDS["dormancy.band"].choices == ("high", "medium", "low", "gone")
    assert FIELDS["consent.basis"].choices == (
        "opt_in",
        "business_card",
        "existing_transaction",
        "none",
    )


def test_segment_references_and_cycles() -> None:
    definition = parse_definition(
        {
            "rules": [
                {"field": "segment", "op": "eq", "value": 2},
                {"match": "any", "rules": [{"field": "segment", "op": "neq", "value": 3}]},
            ]
        }
    )
    assert referenced_segments(definition) == {2, 3}
    assert find_cycle(1, {1: {2}, 2: {3}, 3: set()}) is None
    assert find_cycle(1, {1: {2}, 2: {3}, 3: {1}}) == [1, 2, 3, 1]
    assert find_cycle(1, {1: {1}}) == [1, 1]
    assert Group().rules == ()
