"""Segment definitions: composable rule groups over a closed whitelist of fields and operators.

A definition is `{"match": "all"|"any", "rules": [rule | group, ...]}`; a rule is
`{"field", "op", "value"}`. Every field names its type and the operators it allows, so no
user text ever becomes SQL: the service compiles each (field, op) pair with code it owns.
`parse_definition` turns untrusted JSON into the model and says exactly where it is wrong
("rules[2].rules[0].value: …").

Meaning of the negative operators, the same for every field: `neq`, `not_in` and
`is_empty` are the complement of `eq`, `in` and `is_not_empty`. So a contact without a
company matches `company.industry neq 製造業`, and one with no dormant record matches
`dormancy.reason not_in [price]`. Fields over many rows (tags, dormancy, consent, events)
match when some row satisfies the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mezame.dormancy.rules import KINDS
from mezame.vocabulary import CompanyStatus, ConsentBasis, LostReason


class Op(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    WITHIN_DAYS = "within_days"
    OLDER_THAN_DAYS = "older_than_days"


_OP_VALUES = frozenset(o.value for o in Op)
# Each negative operator is "not" its positive twin; the compiler only knows the positives.
NEGATIONS: Mapping[Op, Op] = {Op.NEQ: Op.EQ, Op.NOT_IN: Op.IN, Op.IS_EMPTY: Op.IS_NOT_EMPTY}


class FieldType(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    NUMBER = "number"
    DATE = "date"
    USER = "user"  # a user id, or "me" (whoever evaluates the segment)
    TAG = "tag"
    BOOLEAN = "boolean"
    ACTIVITY = "activity"  # days since the last sign of life
    SEGMENT = "segment"  # membership of another saved segment


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    ops: tuple[Op, ...]
    choices: tuple[str, ...] = ()


_TEXT_OPS = (
    Op.EQ,
    Op.NEQ,
    Op.IN,
    Op.NOT_IN,
    Op.CONTAINS,
    Op.STARTS_WITH,
    Op.IS_EMPTY,
    Op.IS_NOT_EMPTY,
)
_CHOICE_OPS = (Op.EQ, Op.NEQ, Op.IN, Op.NOT_IN)
_NUMBER_OPS = (Op.EQ, Op.NEQ, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN)
_OPTIONAL_NUMBER_OPS = (*_NUMBER_OPS, Op.IS_EMPTY, Op.IS_NOT_EMPTY)
_USER_OPS = (Op.EQ, Op.NEQ, Op.IN, Op.NOT_IN, Op.IS_EMPTY, Op.IS_NOT_EMPTY)

LEAD_BANDS = ("hot", "warm", "cold")
DORMANCY_BANDS = ("high", "medium", "low", "gone")

FIELDS: Mapping[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("company.name", FieldType.TEXT, (Op.CONTAINS, Op.STARTS_WITH, Op.EQ, Op.NEQ)),
        FieldSpec("company.industry", FieldType.TEXT, _TEXT_OPS),
        FieldSpec(
            "company.status", FieldType.CHOICE, _CHOICE_OPS, tuple(s.value for s in CompanyStatus)
        ),
        FieldSpec("company.employee_count", FieldType.NUMBER, _OPTIONAL_NUMBER_OPS),
        FieldSpec("company.owner", FieldType.USER, _USER_OPS),
        FieldSpec("contact.department", FieldType.TEXT, _TEXT_OPS),
        FieldSpec("contact.title", FieldType.TEXT, _TEXT_OPS),
        FieldSpec("contact.source", FieldType.TEXT, _TEXT_OPS),
        FieldSpec("contact.email_domain", FieldType.TEXT, (Op.EQ, Op.NEQ, Op.IN, Op.NOT_IN)),
        FieldSpec("contact.owner", FieldType.USER, _USER_OPS),
        FieldSpec(
            "contact.acquired_on",
            FieldType.DATE,
            (
                Op.GT,
                Op.GTE,
                Op.LT,
                Op.LTE,
                Op.BETWEEN,
                Op.WITHIN_DAYS,
                Op.OLDER_THAN_DAYS,
                Op.IS_EMPTY,
                Op.IS_NOT_EMPTY,
            ),
        ),
        FieldSpec(
            "dormancy.kind",
            FieldType.CHOICE,
            (*_CHOICE_OPS, Op.IS_EMPTY, Op.IS_NOT_EMPTY),
            tuple(k.value for k in KINDS),
        ),
        FieldSpec(
            "dormancy.reason", FieldType.CHOICE, _CHOICE_OPS, tuple(r.value for r in LostReason)
        ),
        FieldSpec("dormancy.band", FieldType.CHOICE, _CHOICE_OPS, DORMANCY_BANDS),
        FieldSpec("dormancy.rank", FieldType.NUMBER, (Op.LTE, Op.LT, Op.GTE, Op.GT, Op.BETWEEN)),
        FieldSpec(
            "lead.band", FieldType.CHOICE, (*_CHOICE_OPS, Op.IS_EMPTY, Op.IS_NOT_EMPTY), LEAD_BANDS
        ),
        FieldSpec("lead.score", FieldType.NUMBER, _NUMBER_OPS),
        FieldSpec("tag", FieldType.TAG, (Op.EQ, Op.NEQ, Op.IN, Op.NOT_IN)),
        FieldSpec(
            "consent.basis", FieldType.CHOICE, _CHOICE_OPS, tuple(b.value for b in ConsentBasis)
        ),
        FieldSpec("consent.mailable", FieldType.BOOLEAN, (Op.EQ,)),
        FieldSpec(
            "last_activity",
            FieldType.ACTIVITY,
            (Op.WITHIN_DAYS, Op.OLDER_THAN_DAYS, Op.IS_EMPTY, Op.IS_NOT_EMPTY),
        ),
        FieldSpec("segment", FieldType.SEGMENT, (Op.EQ, Op.NEQ)),
    )
}

MAX_DEPTH = 5  # groups inside groups
MAX_RULES = 200  # rules in one definition, all levels
MAX_LIST = 500  # values of one in / not_in
MAX_TEXT = 200
MAX_DAYS = 36_500
MAX_TAG = 50


class Rule(BaseModel):
    """One condition; `value` is already checked and normalised by parse_definition."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    op: Op
    value: Any = None

    def spec(self) -> FieldSpec:
        return FIELDS[self.field]


class Group(BaseModel):
    """Rules joined by AND (`all`) or OR (`any`); groups nest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: Literal["all", "any"] = "all"
    rules: tuple[Rule | Group, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The stored form (dates as ISO strings)."""
        return self.model_dump(mode="json")


class DefinitionError(ValueError):
    """A definition that cannot be used; `problems` are "path: message" lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_definition(data: Any) -> Group:
    """Check untrusted JSON and build the definition; every problem names its place."""
    problems: list[str] = []
    counter = [0]
    group = _group(data, "", 1, problems, counter)
    if counter[0] > MAX_RULES:
        problems.append(f"too many rules: {counter[0]} (at most {MAX_RULES})")
    if problems or group is None:
        raise DefinitionError(problems or ["the definition is empty"])
    return group


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _group(
    data: Any, path: str, depth: int, problems: list[str], counter: list[int]
) -> Group | None:
    where = path or "definition"
    if not isinstance(data, Mapping):
        problems.append(f"{where}: expected an object with match and rules")
        return None
    unknown = sorted(set(data) - {"match", "rules"})
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(map(str, unknown))}")
    match = data.get("match", "all")
    if match not in ("all", "any"):
        problems.append(f"{_at(path, 'match')}: must be all or any, not {match!r}")
    if depth > MAX_DEPTH:
        problems.append(f"{where}: groups nested deeper than {MAX_DEPTH} levels")
        return None
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        problems.append(f"{_at(path, 'rules')}: expected a list")
        return None
    items: list[Rule | Group] = []
    for i, item in enumerate(raw_rules):
        item_path = _at(path, f"rules[{i}]")
        sub: Rule | Group | None
        if isinstance(item, Mapping) and "match" in item:
            sub = _group(item, item_path, depth + 1, problems, counter)
        else:
            counter[0] += 1
            sub = _rule(item, item_path, problems)
        if sub is not None:
            items.append(sub)
    if match not in ("all", "any"):
        return None
    return Group(match=match, rules=tuple(items))


def _rule(data: Any, path: str, problems: list[str]) -> Rule | None:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a rule {{field, op, value}} or a group {{match, rules}}")
        return None
    unknown = sorted(set(data) - {"field", "op", "value"})
    if unknown:
        problems.append(f"{path}: unknown keys {', '.join(map(str, unknown))}")
        return None
    name = data.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        problems.append(f"{path}.field: unknown field {name!r}")
        return None
    raw_op = data.get("op")
    op = Op(raw_op) if raw_op in _OP_VALUES else None
    if op is None or op not in spec.ops:
        allowed = ", ".join(o.value for o in spec.ops)
        problems.append(f"{path}.op: {spec.name} takes {allowed}, not {raw_op!r}")
        return None
    try:
        value = _value(spec, op, data.get("value"))
    except ValueError as exc:
        problems.append(f"{path}.value: {exc}")
        return None
    return Rule(field=spec.name, op=op, value=value)


def _value(spec: FieldSpec, op: Op, raw: Any) -> Any:
    """The checked, normalised value of one rule (raises ValueError saying what is wrong)."""
    if op in (Op.IS_EMPTY, Op.IS_NOT_EMPTY):
        if raw not in (None, "", []):
            raise ValueError(f"{op.value} takes no value")
        return None
    if op in (Op.WITHIN_DAYS, Op.OLDER_THAN_DAYS):
        return _int(raw, "a number of days", 0, MAX_DAYS)
    if op in (Op.IN, Op.NOT_IN):
        if not isinstance(raw, list) or not raw:
            raise ValueError("expected a non-empty list")
        if len(raw) > MAX_LIST:
            raise ValueError(f"at most {MAX_LIST} values")
        values: list[Any] = []
        for i, item in enumerate(raw):
            try:
                one = _scalar(spec, item)
            except ValueError as exc:
                raise ValueError(f"[{i}]: {exc}") from None
            if one not in values:
                values.append(one)
        return values
    if op == Op.BETWEEN:
        if not isinstance(raw, list) or len(raw) != 2:
            raise ValueError("expected [low, high]")
        low, high = _scalar(spec, raw[0]), _scalar(spec, raw[1])
        if low > high:
            raise ValueError(f"low {low} is above high {high}")
        return [low, high]
    return _scalar(spec, raw)


def _int(raw: Any, what: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"expected {what}, got {raw!r}")
    try:
        number = int(raw)
    except ValueError:
        raise ValueError(f"expected {what}, got {raw!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{number} is outside {low}–{high}")
    return number


def _scalar(spec: FieldSpec, raw: Any) -> Any:
    if spec.type in (FieldType.TEXT, FieldType.TAG):
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"expected non-empty text, got {raw!r}")
        text = raw.strip()
        limit = MAX_TAG if spec.type == FieldType.TAG else MAX_TEXT
        if len(text) > limit:
            raise ValueError(f"longer than {limit} characters")
        if spec.name == "contact.email_domain":
            text = text.lstrip("@").lower()
            if not text or "@" in text:
                raise ValueError(f"not a mail domain: {raw!r}")
        return text
    if spec.type == FieldType.CHOICE:
        if raw not in spec.choices:
            raise ValueError(f"expected one of {', '.join(spec.choices)}, got {raw!r}")
        return raw
    if spec.type == FieldType.NUMBER:
        return _int(raw, "a whole number", -(10**12), 10**12)
    if spec.type == FieldType.DATE:
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            pass
        raise ValueError(f"expected a date as YYYY-MM-DD, got {raw!r}")
    if spec.type == FieldType.USER:
        if raw == "me":
            return "me"
        return _int(raw, 'a user id or "me"', 1, 2**31 - 1)
    if spec.type == FieldType.BOOLEAN:
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, got {raw!r}")
        return raw
    if spec.type == FieldType.SEGMENT:
        return _int(raw, "a segment id", 1, 2**31 - 1)
    raise ValueError(f"{spec.name} takes no value here")


def walk(group: Group) -> Iterator[Rule]:
    """Every rule of a definition, at any depth."""
    for item in group.rules:
        if isinstance(item, Group):
            yield from walk(item)
        else:
            yield item


def referenced_segments(group: Group) -> set[int]:
    """The saved segments this definition includes or excludes."""
    return {int(rule.value) for rule in walk(group) if rule.field == "segment"}


def uses_me(group: Group) -> bool:
    """True when the definition means "mine", so its count depends on who asks."""
    for rule in walk(group):
        if FIELDS[rule.field].type == FieldType.USER:
            values = rule.value if isinstance(rule.value, list) else [rule.value]
            if "me" in values:
                return True
    return False


def find_cycle(start: int, references: Mapping[int, Iterable[int]]) -> list[int] | None:
    """A path start → … → start through segment references, or None when there is none."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        for nxt in references.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None
