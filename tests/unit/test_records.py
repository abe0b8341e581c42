"""Import parsing and validation: headers, cell values, rows and import keys (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mezame.errors import InvalidInputError
from mezame.ingest.fields import FIELDS, FieldType, ImportKind
from mezame.ingest.records import (
    ParsedRow,
    RowError,
    RowValidator,
    company_key_for_name,
    event_dedupe_key,
    format_row_error,
    import_key,
    mapping_from_document,
    normalise_header,
    resolve_mapping,
)
from mezame.ingest.service import FIELD_COLUMNS, table_for
from mezame.ingest.values import (
    JST,
    ValueProblem,
    choice_parser,
    parse_amount,
    parse_choice,
    parse_date,
    parse_datetime,
    parse_email,
    parse_integer,
    parse_json_object,
)

# --- headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "normalised"),
    [
        ("メールアドレス", "メールアドレス"),
        ("ﾒｰﾙｱﾄﾞﾚｽ", "メールアドレス"),  # half-width katakana
        ("メール・アドレス", "メールアドレス"),
        ("　会社名　", "会社名"),  # ideographic spaces
        ("会社名（正式）", "会社名正式"),
        ("E-mail", "email"),
        ("Company Name", "companyname"),
        ("company_name", "companyname"),
        ("ＴＥＬ", "tel"),  # full-width Latin
        ("〒", "〒"),  # a symbol, not punctuation: kept
    ],
)
def test_headers_normalise(header: str, normalised: str) -> None:
    assert normalise_header(header) == normalised


@pytest.mark.parametrize(
    ("kind", "headers", "expected"),
    [
        (
            ImportKind.COMPANIES,
            ["顧客コード", "会社名", "法人番号", "電話番号", "住所", "業種"],
            ["external_id", "name", "corporate_number", "phone", "address", "industry"],
        ),
        (
            ImportKind.CONTACTS,
            ["ﾒｰﾙｱﾄﾞﾚｽ", "担当者名", "部署", "役職", "会社名"],
            ["email", "name", "department", "title", "company_name"],
        ),
        (
            ImportKind.DEALS,
            ["商談名", "フェーズ", "失注理由", "受注日", "金額", "顧客コード"],
            ["name", "phase", "lost_reason", "closed_on", "amount", "company_external_id"],
        ),
        (
            ImportKind.ORDERS,
            ["Customer Code", "Order Date", "Amount", "契約開始日", "契約終了日", "解約日"],
            [
                *("company_external_id", "ordered_on", "amount"),
                *("contract_start", "contract_end", "cancelled_on"),
            ],
        ),
        (
            ImportKind.EVENTS,
            ["E-mail", "Event Type", "Timestamp", "URL"],
            ["contact_email", "type", "occurred_at", "url"],
        ),
        (ImportKind.EVENTS, ["contact_email", "type", "occurred_at"], None),  # field names
    ],
)
def test_headers_map_to_fields(
    kind: ImportKind, headers: list[str], expected: list[str] | None
) -> None:
    mapping = resolve_mapping(kind, headers)
    assert list(mapping.fields.values()) == (expected or headers)
    assert mapping.unmapped == []


def test_unknown_headers_are_left_unmapped() -> None:
    mapping = resolve_mapping(ImportKind.COMPANIES, ["会社名", "社長の趣味"])
    assert mapping.fields == {"会社名": "name"}
    assert mapping.unmapped == ["社長の趣味"]


def test_user_mapping_wins_over_aliases_and_can_ignore_columns() -> None:
    mapping = resolve_mapping(
        ImportKind.COMPANIES,
        ["得意先CD", "得意先名", "会社名", "メモ"],
        {"得意先ＣＤ": "external_id", "得意先名": "name", "メモ": None},
    )
    # 会社名 would also mean `name`; the user's choice of 得意先名 wins and 会社名 is left out.
    assert mapping.fields == {"得意先CD": "external_id", "得意先名": "name"}
    assert mapping.unmapped == ["会社名", "メモ"]


def test_two_columns_for_one_field_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="複数の列"):
        resolve_mapping(ImportKind.CONTACTS, ["メール", "メールアドレス", "担当者コード"])


@pytest.mark.parametrize(
    ("kind", "headers", "message"),
    [
        (ImportKind.COMPANIES, ["顧客コード", "電話番号"], "会社名"),
        (ImportKind.ORDERS, ["顧客コード", "金額"], "受注日"),
        (ImportKind.CONTACTS, ["担当者名", "部署"], "担当者コードかメールアドレス"),
        (ImportKind.EVENTS, ["種別", "日時"], "担当者コード、メールアドレス、訪問者ID"),
    ],
)
def test_missing_columns_are_refused(kind: ImportKind, headers: list[str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        resolve_mapping(kind, headers)


def test_mapping_documents_flat_sectioned_and_wrong() -> None:
    assert mapping_from_document({"得意先CD": "external_id"}, ImportKind.COMPANIES) == {
        "得意先CD": "external_id"
    }
    sectioned = {"contacts": {"Mail": "email"}, "companies": {"CD": "external_id"}}
    assert mapping_from_document(sectioned, ImportKind.CONTACTS) == {"Mail": "email"}
    assert mapping_from_document(sectioned, ImportKind.EVENTS) == {}
    assert mapping_from_document({"columns": {"X": None}}, ImportKind.EVENTS) == {"X": None}
    with pytest.raises(InvalidInputError, match="nmae"):
        mapping_from_document({"社名": "nmae"}, ImportKind.COMPANIES)


@pytest.mark.parametrize("kind", list(ImportKind))
def test_no_alias_means_two_fields_of_one_kind(kind: ImportKind) -> None:
    seen: dict[str, str] = {}
    for spec in FIELDS[kind]:
        for alias in {normalise_header(a) for a in (spec.name, *spec.aliases)}:
            assert seen.setdefault(alias, spec.name) == spec.name, (kind, alias)


# --- dates and times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026/11/23", date(2026, 11, 23)),
        ("2026-11-23", date(2026, 11, 23)),
        ("2026.11.23", date(2026, 11, 23)),
        ("2026/1/5", date(2026, 1, 5)),
        ("2026年11月23日", date(2026, 11, 23)),
        ("2026年 1月 5日", date(2026, 1, 5)),
        ("２０２６／１１／２３", date(2026, 11, 23)),  # full-width
        ("20261123", date(2026, 11, 23)),
        ("2026/11/23 10:00", date(2026, 11, 23)),  # the time is dropped
        ("2026/11/23 0:00:00", date(2026, 11, 23)),
        ("46349", date(2026, 11, 23)),  # Excel serial (1900 system)
        (46349, date(2026, 11, 23)),
        (46349.75, date(2026, 11, 23)),
        ("令和8年11月23日", date(2026, 11, 23)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R8.11.23", date(2026, 11, 23)),
        ("r8/1/5", date(2026, 1, 5)),
        ("H31.4.30", date(2019, 4, 30)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("㋿8年11月23日", date(2026, 11, 23)),  # the one-character era sign
        (datetime(2026, 11, 23, 23, 30), date(2026, 11, 23)),  # from .xlsx
        (date(2026, 11, 23), date(2026, 11, 23)),
        ("2026-11-23T20:00:00Z", date(2026, 11, 24)),  # an aware time is read in Japan time
    ],
)
def test_dates(raw: object, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2026/13/01",
        "2026/02/30",
        "23/11/2026",
        "11/23/26",
        "2026",  # a year is not an Excel serial
        "202611",
        "9999",
        "令和元年4月30日",  # before 令和 began
        "明日",
        "2026/11/23 25:00",
        "2026/11/23 午前",
        True,
    ],
)
def test_bad_dates(raw: object) -> None:
    with pytest.raises(ValueProblem):
        parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026/11/23 10:00", datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),
        ("2026/11/23 10:00:30", datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC)),
        ("2026-11-23 10:00:30.5", datetime(2026, 11, 23, 1, 0, 30, 500000, tzinfo=UTC)),
        ("2026/1/5 9:05", datetime(2026, 1, 5, 0, 5, tzinfo=UTC)),
        ("2026年11月23日 10時30分", datetime(2026, 11, 23, 1, 30, tzinfo=UTC)),
        ("2026/11/23", datetime(2026, 11, 22, 15, 0, tzinfo=UTC)),  # midnight in Japan
        ("2026-11-23T10:00:00+09:00", datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),
        ("2026-11-23T01:00:00Z", datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),
        ("2026-11-23 10:00:00-05:00", datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),
        ("46349.5", datetime(2026, 11, 23, 3, 0, tzinfo=UTC)),  # serial noon, Japan time
        (datetime(2026, 11, 23, 10, 0), datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),  # naive xlsx
        ("R8.11.23 10:00", datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),
    ],
)
def test_datetimes_are_aware_and_naive_means_japan_time(raw: object, expected: datetime) -> None:
    parsed = parse_datetime(raw)
    assert parsed.tzinfo is not None
    assert parsed == expected


def test_naive_datetimes_follow_the_given_zone() -> None:
    utc_minus_5 = timezone(timedelta(hours=-5))
    assert parse_datetime("2026/11/23 10:00", tz=utc_minus_5) == datetime(
        2026, 11, 23, 15, 0, tzinfo=UTC
    )
    assert parse_datetime("2026/11/23 10:00").utcoffset() == JST.utcoffset(None)


# --- amounts, integers, emails, choices, JSON ----------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234,000", 1_234_000),
        ("￥1,234", 1234),
        ("¥1,234", 1234),
        ("\\1,234", 1234),  # CP932 decodes the yen sign as a backslash
        ("1,234円", 1234),
        ("１，２３４円", 1234),
        ("-1,234", -1234),
        ("−1,234", -1234),
        ("△1,234", -1234),
        ("▲500", -500),
        ("¥-500", -500),
        ("-¥500", -500),
        ("JPY 1,000", 1000),
        ("1000.00", 1000),
        ("120万円", 1_200_000),
        ("1.5億", 150_000_000),
        ("0", 0),
        (98000, 98000),
        (98000.0, 98000),
    ],
)
def test_amounts(raw: object, expected: int) -> None:
    assert parse_amount(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12.5", "端数"),  # yen has no minor unit: refused, not rounded
        (12.5, "端数"),
        ("1.234,00", "端数"),  # European grouping reads as a fraction: refused
        ("abc", "金額"),
        ("¥", "金額"),
        ("1,234ドル", "金額"),
    ],
)
def test_bad_amounts(raw: object, reason: str) -> None:
    with pytest.raises(ValueProblem, match=reason):
        parse_amount(raw)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_amounts_round_trip_through_every_written_form(value: int) -> None:
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,}"
    full_width = digits.translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))
    for written in (
        f"{value:,}",
        f"{sign}￥{digits}",
        f"{sign}{digits}円",
        f"{sign}{full_width}円",
        str(value),
    ):
        assert parse_amount(written) == value, written


@pytest.mark.parametrize(
    ("raw", "expected"), [("1,200", 1200), ("１２００", 1200), ("300名", 300), ("45秒", 45), (7, 7)]
)
def test_integers(raw: object, expected: int) -> None:
    assert parse_integer(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Taro.Yamada@Example.CO.JP", "Taro.Yamada@example.co.jp"),
        ("  taro@example.jp ", "taro@example.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
        ("mailto:taro@example.jp", "taro@example.jp"),
    ],
)
def test_emails(raw: str, expected: str) -> None:
    assert parse_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["taro", "taro@", "@example.jp", "taro@example", "ta ro@example.jp", "a@b@c.jp", "a@.jp"]
)
def test_bad_emails(raw: str) -> None:
    with pytest.raises(ValueProblem):
        parse_email(raw)


def _spec(kind: ImportKind, name: str) -> tuple[tuple[str, str], ...]:
    return next(s.choices for s in FIELDS[kind] if s.name == name)


@pytest.mark.parametrize(
    ("kind", "name", "raw", "expected"),
    [
        (ImportKind.EVENTS, "type", "開封", "mail_opened"),
        (ImportKind.EVENTS, "type", "Mail Opened", "mail_opened"),
        (ImportKind.EVENTS, "type", "mail_opened", "mail_opened"),
        (ImportKind.EVENTS, "type", "資料ＤＬ", "document_download"),
        (ImportKind.DEALS, "outcome", "失注", "lost"),
        (ImportKind.DEALS, "outcome", "見送り", "postponed"),
        (ImportKind.ACTIVITIES, "kind", "Web会議", "online_meeting"),
        (ImportKind.ACTIVITIES, "kind", "ＴＥＬ", "call"),
        (ImportKind.COMPANIES, "status", "休眠", "former"),
        (ImportKind.CONTACTS, "consent_basis", "名刺交換", "business_card"),
    ],
)
def test_choices(kind: ImportKind, name: str, raw: str, expected: str) -> None:
    assert parse_choice(raw, choice_parser(_spec(kind, name))) == expected


def test_unknown_choice_lists_the_accepted_values() -> None:
    with pytest.raises(ValueProblem, match="lost"):
        parse_choice("たぶん", choice_parser(_spec(ImportKind.DEALS, "outcome")))


def test_json_payload_must_be_an_object() -> None:
    assert parse_json_object('{"score": 3}') == {"score": 3}
    with pytest.raises(ValueProblem):
        parse_json_object("[1, 2]")
    with pytest.raises(ValueProblem):
        parse_json_object("{broken")


# --- rows --------------------------------------------------------------------------------


def _validate(
    kind: ImportKind, row: dict[str, object], line: int = 2
) -> ParsedRow | list[RowError]:
    return RowValidator(kind, resolve_mapping(kind, list(row))).validate(line, row)


def test_a_valid_row_becomes_typed_values_and_a_key() -> None:
    parsed = _validate(
        ImportKind.ORDERS,
        {"顧客コード": "C001", "受注日": "2026/4/1", "金額": "￥1,200,000", "商品": "年間保守"},
    )
    assert isinstance(parsed, ParsedRow)
    assert parsed.values == {
        "company_external_id": "C001",
        "ordered_on": date(2026, 4, 1),
        "amount": 1_200_000,
        "product": "年間保守",
    }
    assert isinstance(parsed.key, str) and parsed.key.startswith("nat:")


def test_every_bad_cell_of_a_row_is_reported() -> None:
    errors = _validate(
        ImportKind.ORDERS,
        {"顧客コード": "C001", "受注日": "2026/13/1", "金額": "12.5", "解約日": ""},
        line=7,
    )
    assert isinstance(errors, list)
    assert [(e.line, e.field, e.column, e.value) for e in errors] == [
        (7, "ordered_on", "受注日", "2026/13/1"),
        (7, "amount", "金額", "12.5"),
    ]


def test_required_cells_must_not_be_empty() -> None:
    errors = _validate(ImportKind.COMPANIES, {"顧客コード": "C1", "会社名": "  "})
    assert isinstance(errors, list)
    assert [(e.field, e.reason) for e in errors] == [("name", "必須項目が空です")]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            {"担当者名": "山田", "メールアドレス": "", "担当者コード": ""},
            "担当者コードかメールアドレス",
        ),
        ({"従業員数": "-3", "会社名": "A"}, "範囲外"),
        ({"会社名": "A", "法人番号": "12345"}, "13桁"),
        ({"会社名": "A" * 301}, "300 文字"),
    ],
)
def test_row_rules(row: dict[str, object], reason: str) -> None:
    kind = ImportKind.CONTACTS if "担当者名" in row else ImportKind.COMPANIES
    errors = _validate(kind, row)
    assert isinstance(errors, list)
    assert reason in errors[0].reason


def test_extra_cells_past_the_header_are_an_error() -> None:
    validator = RowValidator(
        ImportKind.COMPANIES, resolve_mapping(ImportKind.COMPANIES, ["会社名"])
    )
    errors = validator.validate(5, {"会社名": "株式会社A"}, extra_cells=1)
    assert isinstance(errors, list) and errors[0].field is None and errors[0].line == 5


def test_nps_must_be_between_0_and_10() -> None:
    row = {
        "アンケート名": "NPS 2026",
        "回答日時": "2026/1/1",
        "メールアドレス": "a@b.jp",
        "NPS": "11",
    }
    errors = _validate(ImportKind.SURVEYS, row)
    assert isinstance(errors, list) and errors[0].field == "nps_score"


def test_error_lines_read_file_line_field_reason_value() -> None:
    error = RowError(12, "amount", "12.5", "円未満の端数は扱えません", "金額")
    assert (
        format_row_error("orders.csv", error)
        == "orders.csv:12: field '金額' (amount): 円未満の端数は扱えません (value '12.5')"
    )
    row_error = RowError(3, None, "", "担当者コードかメールアドレスが必要です")
    assert format_row_error("c.csv", row_error) == "c.csv:3: 担当者コードかメールアドレスが必要です"


# --- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "values", "key"),
    [
        (ImportKind.COMPANIES, {"external_id": "C001", "name": "A"}, "ext:C001"),
        (
            ImportKind.COMPANIES,
            {"corporate_number": "1234567890123", "name": "A"},
            "corp:1234567890123",
        ),
        (ImportKind.COMPANIES, {"name": "株式会社A"}, "name:株式会社A"),
        (ImportKind.CONTACTS, {"external_id": "P1", "email": "a@b.jp"}, "ext:P1"),
        (ImportKind.CONTACTS, {"email": "Taro@example.jp"}, "email:taro@example.jp"),
        (ImportKind.DEALS, {"external_id": "D-9", "name": "x"}, "ext:D-9"),
    ],
)
def test_import_keys(kind: ImportKind, values: dict[str, object], key: str) -> None:
    assert import_key(kind, values) == key


def test_long_names_are_hashed_into_the_key_column() -> None:
    key = company_key_for_name("株" * 300)
    assert len(key) <= 200 and key.startswith("name#")
    assert key == company_key_for_name("株" * 300)


def test_natural_keys_depend_on_identifying_fields_only() -> None:
    base = {
        "company_external_id": "C1",
        "ordered_on": date(2026, 4, 1),
        "amount": 1000,
        "product": "保守",
    }
    same = import_key(ImportKind.ORDERS, {**base, "notes": "メモが変わっても同じ注文"})
    assert import_key(ImportKind.ORDERS, base) == same
    assert import_key(ImportKind.ORDERS, {**base, "amount": 2000}) != same


def test_event_keys_are_16_bytes_and_ignore_the_offset_an_instant_is_written_in() -> None:
    jst = {"contact_email": "a@b.jp", "type": "mail_opened"}
    at_jst = parse_datetime("2026/11/23 10:00")
    at_utc = parse_datetime("2026-11-23T01:00:00Z")
    key = event_dedupe_key({**jst, "occurred_at": at_jst})
    assert len(key) == 16
    assert key == event_dedupe_key({**jst, "occurred_at": at_utc})
    assert key == event_dedupe_key({**jst, "contact_email": "A@B.JP", "occurred_at": at_jst})
    assert key != event_dedupe_key({**jst, "type": "mail_clicked", "occurred_at": at_jst})
    assert event_dedupe_key({"external_id": "E1", **jst, "occurred_at": at_jst}) == (
        event_dedupe_key({"external_id": "E1", "type": "site_visit", "occurred_at": at_utc})
    )


def test_text_fields_fit_their_columns() -> None:
    for kind, columns in FIELD_COLUMNS.items():
        table = table_for(kind)
        specs = {s.name: s for s in FIELDS[kind]}
        for field, column in columns.items():
            spec, length = specs[field], getattr(table.c[column].type, "length", None)
            if spec.type is FieldType.TEXT and length is not None:
                limit = 13 if field == "corporate_number" else spec.max_length
                assert limit is not None and limit <= length, (kind, field)
