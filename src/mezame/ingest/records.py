"""From a file's raw rows to typed records: header mapping, row validation, import keys.

Pure: no database, no framework. The service reads rows with an importer
adapter, validates them here, resolves references and writes.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import partial
from typing import Any, NamedTuple

from mezame.errors import InvalidInputError
from mezame.ingest.fields import FIELDS, FieldSpec, FieldType, ImportKind
from mezame.ingest.values import (
    JST,
    ValueProblem,
    choice_parser,
    normalise_label,
    parse_amount,
    parse_choice,
    parse_date,
    parse_datetime,
    parse_email,
    parse_integer,
    parse_json_object,
    parse_text,
    text_parser,
)

normalise_header = normalise_label
_KIND_NAMES = frozenset(k.value for k in ImportKind)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
IMPORT_KEY_LENGTH = 200  # the import_key column's width
_MEMO_SIZE = 200_000  # distinct values remembered per column (a 50k-contact email list fits)

# Integer fields and the values they may take (the database checks nps_score too).
_INTEGER_BOUNDS: dict[str, tuple[int, int]] = {
    "employee_count": (0, 10_000_000),
    "watch_seconds": (0, 10_000_000),
    "nps_score": (0, 10),
}

# Rows of these kinds must name at least one of these fields, or they cannot be keyed or linked.
_NEEDS_ONE_OF: dict[ImportKind, tuple[tuple[str, ...], str]] = {
    ImportKind.CONTACTS: (("external_id", "email"), "担当者コードかメールアドレスが必要です"),
    ImportKind.EVENTS: (
        ("contact_external_id", "contact_email", "visitor_id"),
        "担当者コード、メールアドレス、訪問者IDのいずれかが必要です",
    ),
    ImportKind.ORDERS: (
        ("company_external_id", "company_name", "contact_external_id", "contact_email"),
        "取引先 (顧客コードか会社名) が必要です",
    ),
    ImportKind.SURVEYS: (
        ("company_external_id", "company_name", "contact_external_id", "contact_email"),
        "取引先か担当者 (顧客コード、会社名、担当者コード、メールアドレス) が必要です",
    ),
}


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row (or one cell of it) cannot be imported."""

    line: int
    field: str | None  # canonical field name; None when the row as a whole is wrong
    value: str
    reason: str
    column: str | None = None  # the header as written in the file


class ParsedRow(NamedTuple):
    """A valid row: typed values by field name, and the key that makes re-imports idempotent."""

    line: int
    values: dict[str, Any]
    key: str | bytes  # import_key, or the 16-byte dedupe_key for events


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Which file column feeds which field, and what was left out."""

    fields: dict[str, str]  # header as written → field name
    unmapped: list[str]
    warnings: list[str] = field(default_factory=list)

    def header_for(self, field_name: str) -> str | None:
        return next((h for h, f in self.fields.items() if f == field_name), None)


def field_specs(kind: ImportKind) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in FIELDS[kind]}


def mapping_from_document(document: object, kind: ImportKind) -> dict[str, str | None]:
    """The {header: field} mapping in a parsed YAML/JSON mapping document.

    Accepts a flat {header: field} document, one under `columns:`, or one section
    per kind ({contacts: {...}, events: {...}}). A null field ignores the column.
    """
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InvalidInputError("マッピングは「列名: 項目名」の形式で書いてください")
    section = document.get(kind.value, document.get("columns"))
    if isinstance(section, dict):
        document = section
    elif _KIND_NAMES & set(document):
        return {}  # a mapping file with sections only for other kinds
    specs = field_specs(kind)
    mapping: dict[str, str | None] = {}
    for header, target in document.items():
        name = None if target in (None, "", "-") else str(target).strip()
        if name is not None and name not in specs:
            allowed = ", ".join(specs)
            raise InvalidInputError(
                f"マッピングの項目名 {name!r} ({kind.value} の列 {header!r}) は不明です。"
                f"使える項目: {allowed}"
            )
        mapping[str(header)] = name
    return mapping


def resolve_mapping(
    kind: ImportKind, headers: Iterable[str], user_mapping: Mapping[str, str | None] | None = None
) -> ColumnMapping:
    """Map file headers to fields: the user's mapping first, then the catalogue's aliases.

    Raises InvalidInputError when two columns claim one field or a required column is missing.
    """
    headers = list(headers)
    aliases: dict[str, str] = {}
    for spec in FIELDS[kind]:
        for alias in (spec.name, *spec.aliases):
            aliases.setdefault(normalise_header(alias), spec.name)
    chosen = {normalise_header(h): target for h, target in (user_mapping or {}).items()}
    warnings = [
        f"マッピングの列 {h!r} はファイルにありません"
        for h in (user_mapping or {})
        if normalise_header(h) not in {normalise_header(x) for x in headers}
    ]
    by_field: dict[str, list[str]] = {}
    user_claimed = {t for t in chosen.values() if t is not None}
    unmapped: list[str] = []
    for header in headers:
        key = normalise_header(header)
        if key in chosen:
            target = chosen[key]
        else:
            target = aliases.get(key)
            if target in user_claimed:
                target = None  # the user's mapping feeds this field from another column
        if target is None:
            unmapped.append(header)
        else:
            by_field.setdefault(target, []).append(header)
    clashes = {f: hs for f, hs in by_field.items() if len(hs) > 1}
    if clashes:
        detail = "; ".join(f"{f} ← {', '.join(map(repr, hs))}" for f, hs in clashes.items())
        raise InvalidInputError(
            f"複数の列が同じ項目に当たります ({detail})。マッピングでどれか一つを選んでください"
        )
    missing = [s for s in FIELDS[kind] if s.required and s.name not in by_field]
    if missing:
        names = ", ".join(f"{_label(s)} ({s.name})" for s in missing)
        raise InvalidInputError(f"必須の列がありません: {names}")
    if kind in _NEEDS_ONE_OF:
        options, reason = _NEEDS_ONE_OF[kind]
        if not any(o in by_field for o in options):
            raise InvalidInputError(f"列が足りません: {reason}")
    return ColumnMapping({hs[0]: f for f, hs in by_field.items()}, unmapped, warnings)


def _label(spec: FieldSpec) -> str:
    """The Japanese header a user would write for a field (its first alias)."""
    return spec.aliases[0] if spec.aliases else spec.name


def _parser(spec: FieldSpec, tz: tzinfo) -> Callable[[object], Any]:
    """The function that turns a cell into this field's typed value."""
    if spec.name == "corporate_number":
        return _parse_corporate_number
    match spec.type:
        case FieldType.TEXT:
            return text_parser(spec.max_length)
        case FieldType.EMAIL:
            return _memoised(parse_email)
        case FieldType.DATE:
            return partial(parse_date, tz=tz)
        case FieldType.DATETIME:
            return partial(parse_datetime, tz=tz)
        case FieldType.AMOUNT:
            return parse_amount
        case FieldType.INTEGER:
            return partial(_parse_bounded_integer, bounds=_INTEGER_BOUNDS.get(spec.name))
        case FieldType.CHOICE:
            return _memoised(partial(parse_choice, table=choice_parser(spec.choices)))
        case FieldType.JSON:
            return parse_json_object


def _parse_bounded_integer(raw: object, bounds: tuple[int, int] | None) -> int:
    value = parse_integer(raw)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ValueProblem(f"{bounds[0]}〜{bounds[1]} の範囲外です")
    return value


def _parse_corporate_number(raw: object) -> str:
    """法人番号: 13 digits; hyphens, spaces and full-width digits are folded away."""
    text = unicodedata.normalize("NFKC", parse_text(raw))
    digits = "".join(ch for ch in text if ch not in "-‐− ")
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
        raise ValueProblem("法人番号は13桁の数字です")
    return digits


class RowValidator:
    """Validates the rows of one file of one kind against its column mapping.

    validate() runs once per row of files with millions of rows, so it is kept
    to plain loops and dict lookups: everything per column is prepared here.
    """

    def __init__(self, kind: ImportKind, mapping: ColumnMapping, *, tz: tzinfo = JST) -> None:
        self.kind = kind
        specs = field_specs(kind)
        self._columns = [
            (header, name, _parser(specs[name], tz), specs[name].required)
            for header, name in mapping.fields.items()
        ]
        self._needs, self._needs_reason = _NEEDS_ONE_OF.get(kind, ((), ""))
        self._key: Callable[[Mapping[str, Any]], str | bytes] = (
            event_dedupe_key if kind is ImportKind.EVENTS else partial(import_key, kind)
        )

    def validate(
        self, line: int, cells: Mapping[str, object], extra_cells: int = 0
    ) -> ParsedRow | list[RowError]:
        """The typed row, or every problem found in it."""
        values: dict[str, Any] = {}
        errors: list[RowError] | None = None
        for header, name, parse, required in self._columns:
            raw = cells.get(header)
            if raw.__class__ is str and (not raw or raw.isspace()):
                raw = None
            if raw is None:
                values[name] = None
                if required:
                    errors = errors or []
                    errors.append(RowError(line, name, "", "必須項目が空です", header))
                continue
            try:
                values[name] = parse(raw)
            except ValueProblem as problem:
                errors = errors or []
                errors.append(RowError(line, name, _shown(raw), str(problem), header))
        if extra_cells:
            reason = f"ヘッダーより {extra_cells} 個多くのセルがあります"
            errors = [RowError(line, None, "", reason), *(errors or [])]
        if errors:
            return errors
        if self._needs and not any(map(values.get, self._needs)):
            return [RowError(line, None, "", self._needs_reason)]
        return ParsedRow(line, values, self._key(values))


def _memoised(parse: Callable[[object], Any]) -> Callable[[object], Any]:
    """parse with a bounded memo, for columns whose values repeat (emails, choices)."""
    memo: dict[object, Any] = {}

    def run(raw: object) -> Any:
        try:
            return memo[raw]
        except KeyError:
            value = parse(raw)
            if len(memo) < _MEMO_SIZE:
                memo[raw] = value
            return value

    return run


def _shown(raw: object) -> str:
    return raw if isinstance(raw, str) else str(raw)


def _bounded(prefix: str, text: str) -> str:
    """prefix:text, or a hash of text when that would not fit the key column."""
    key = f"{prefix}:{text}"
    if len(key) <= IMPORT_KEY_LENGTH:
        return key
    return f"{prefix}#{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"


def company_key_for_name(name: str) -> str:
    """The import_key of a company known only by its name (e.g. from a business-card list)."""
    return _bounded("name", name)


def _natural_key(*parts: object) -> str:
    joined = "\x1f".join(_key_part(p) for p in parts)
    return "nat:" + hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


def _key_part(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def company_ref(values: Mapping[str, Any]) -> str:
    """How a row names its company, for natural keys: by code, else by name."""
    if values.get("company_external_id"):
        return f"ext:{values['company_external_id']}"
    if values.get("company_name"):
        return f"name:{values['company_name']}"
    return ""


def contact_ref(values: Mapping[str, Any]) -> str:
    """How a row names its contact, for natural keys: by code, else by lower-cased email."""
    if values.get("contact_external_id"):
        return f"ext:{values['contact_external_id']}"
    if values.get("contact_email"):
        return f"email:{values['contact_email'].lower()}"
    return ""


def import_key(kind: ImportKind, values: Mapping[str, Any]) -> str:
    """What makes a re-import update a row: the external id, else a natural key.

    companies: 顧客コード, else 法人番号, else the name; contacts: 担当者コード, else the
    email; deals, orders, activities, surveys: their code, else a hash of the fields
    that identify them.
    """
    if values.get("external_id"):
        return _bounded("ext", values["external_id"])
    match kind:
        case ImportKind.COMPANIES:
            if values.get("corporate_number"):
                return f"corp:{values['corporate_number']}"
            return company_key_for_name(values["name"])
        case ImportKind.CONTACTS:
            if values.get("email"):
                return _bounded("email", values["email"].lower())
            raise ValueError("a contact needs 担当者コード or メールアドレス")
        case ImportKind.DEALS:
            return _natural_key(
                company_ref(values), contact_ref(values), values["name"], values.get("opened_on")
            )
        case ImportKind.ORDERS:
            return _natural_key(
                company_ref(values),
                contact_ref(values),
                values["ordered_on"],
                values.get("product"),
                values["amount"],
                values.get("contract_start"),
            )
        case ImportKind.ACTIVITIES:
            return _natural_key(
                company_ref(values),
                contact_ref(values),
                values["kind"],
                values["occurred_at"],
                values.get("subject"),
            )
        case ImportKind.SURVEYS:
            return _natural_key(
                values["survey"], company_ref(values), contact_ref(values), values["answered_at"]
            )
        case ImportKind.EVENTS:
            raise ValueError("events are keyed by event_dedupe_key")


def event_dedupe_key(values: Mapping[str, Any]) -> bytes:
    """blake2b-128 of the event's external id, else of who did what, when and where.

    The time enters as microseconds since the Unix epoch, so the same instant
    written with another offset (10:00+09:00, 01:00Z) is the same event.
    """
    get = values.get
    if external_id := get("external_id"):
        text = f"ext:{external_id}"
    else:
        if code := get("contact_external_id"):
            who = f"ext:{code}"
        elif email := get("contact_email"):
            who = f"email:{email.lower()}"
        else:
            who = f"visitor:{get('visitor_id') or ''}"
        text = "\x1f".join(
            (
                who,
                values["type"],
                str((values["occurred_at"] - _EPOCH) // _MICROSECOND),
                get("url") or "",
                get("document") or "",
                get("webinar") or "",
                get("campaign") or "",
            )
        )
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def format_row_error(file: str, error: RowError) -> str:
    """FILE:LINE: field 'x': reason (value '…') — the one-line form the CLI and logs print."""
    return f"{file}:{error.line}: {describe_row_error(error)}"


def describe_row_error(error: RowError) -> str:
    """field 'x': reason (value '…'), or just the reason when the whole row is wrong."""
    if error.field is None:
        return error.reason
    name = error.column or error.field
    shown = error.value if len(error.value) <= 60 else error.value[:57] + "…"
    label = f"'{name}'" if name == error.field else f"'{name}' ({error.field})"
    return f"field {label}: {error.reason} (value '{shown}')"
