"""Cell values as Japanese business files write them: dates, amounts, emails, choices.

Pure: standard library only. Every parser takes what a CSV or .xlsx cell holds
(str, int, float, date, datetime) and returns the typed value or raises
ValueProblem whose message is the reason shown to the user.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

# Naive times in Japanese business files are Japan time. A fixed +09:00 is exact (Japan has
# had no daylight saving time since 1951) and much cheaper than a ZoneInfo per million rows.
JST = timezone(timedelta(hours=9), "JST")
_JST_SUFFIX = "+09:00"

# Excel's 1900 date system counts days from 1899-12-30 (it believes 1900 was a leap year,
# so the offset is right for every serial after 60). Only five-digit serials are read as
# dates (1927-05-18 … 2173-10-14): a bare 2026 or 202611 is far more likely a typo.
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_SERIAL_MIN, _EXCEL_SERIAL_MAX = 10_000, 99_999

# (first Gregorian year, first day) of the eras still found in customer files.
_ERAS: dict[str, tuple[int, date]] = {
    "令和": (2019, date(2019, 5, 1)),
    "R": (2019, date(2019, 5, 1)),
    "平成": (1989, date(1989, 1, 8)),
    "H": (1989, date(1989, 1, 8)),
    "昭和": (1926, date(1926, 12, 25)),
    "S": (1926, date(1926, 12, 25)),
}

_DATE_FORMS = "2026/11/23、2026-11-23、2026年11月23日、令和8年11月23日、Excel の日付シリアル値"
_SEP_DATE = re.compile(r"(\d{4})([/\-.])(\d{1,2})\2(\d{1,2})")
_KANJI_DATE = re.compile(r"(\d{4})年\s*(\d{1,2})月\s*(\d{1,2})日")
_ERA_DATE = re.compile(
    r"(令和|平成|昭和|[RHS])\s*(元|\d{1,2})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})日?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"(\d{5})(\.\d+)?")
_CLOCK_TIME = re.compile(
    r"(?:T|\s*)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d{2}:?\d{2})?"
)
_KANJI_TIME = re.compile(r"\s*(\d{1,2})時(?:\s*(\d{1,2})分(?:\s*(\d{1,2})秒)?)?")

# △ and ▲ mark negative numbers in Japanese accounts; \ is how CP932 decodes the yen sign.
_MINUS_SIGNS = frozenset("-−‐‑–—ー△▲")
_CURRENCY = ("¥", "\\", "円", "JPY", "jpy")
_UNIT_SUFFIXES = ("名", "人", "社", "件", "秒", "点")
_MULTIPLIERS = {"千": 1_000, "万": 10_000, "億": 100_000_000}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACES = re.compile(r"[\s,]+")
_WHITESPACE = re.compile(r"\s")


class ValueProblem(ValueError):
    """A cell that cannot be read as its field's type; the message is the reason for the user."""


def is_blank(raw: object) -> bool:
    """True for an empty cell: None or only whitespace."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


@lru_cache(maxsize=8192)
def normalise_label(text: str) -> str:
    """Fold a header or a choice for matching: NFKC, case-folded, no spaces or punctuation.

    'メール・アドレス', 'ﾒｰﾙｱﾄﾞﾚｽ', 'E-mail' and 'Mail Opened' become 'メールアドレス',
    'メールアドレス', 'email' and 'mailopened'.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZC")


def cell_text(raw: object) -> str:
    """The cell as trimmed text; whole-number floats from Excel lose their '.0'."""
    if isinstance(raw, str):
        text = raw.strip()
    elif isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    elif isinstance(raw, datetime):
        text = raw.isoformat(sep=" ")
    else:
        text = str(raw).strip()
    if "\x00" in text:
        raise ValueProblem("NUL 文字が含まれています")
    return text


def parse_text(raw: object, max_length: int | None = None) -> str:
    """Trimmed text, at most max_length characters."""
    text = cell_text(raw)
    if max_length is not None and len(text) > max_length:
        raise ValueProblem(f"{max_length} 文字を超えています ({len(text)} 文字)")
    return text


def text_parser(max_length: int | None) -> Callable[[object], str]:
    """parse_text for one column, with the common case (a clean str cell) kept short."""

    def parse(raw: object) -> str:
        if raw.__class__ is not str:
            return parse_text(raw, max_length)
        text = raw.strip()
        if "\x00" in text or (max_length is not None and len(text) > max_length):
            return parse_text(text, max_length)  # raises with the reason
        return text

    return parse


def parse_email(raw: object) -> str:
    """An email address with its domain lower-cased; full-width forms are folded first."""
    text = cell_text(raw)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if text[:7].lower() == "mailto:":
        text = text[7:]
    local, at, domain = text.rpartition("@")
    if (
        not at
        or not local
        or "@" in local
        or _WHITESPACE.search(text)
        or "." not in domain
        or domain.startswith((".", "-"))
        or domain.endswith(".")
        or ".." in domain
    ):
        raise ValueProblem("メールアドレスの形式ではありません")
    if len(text) > 320:
        raise ValueProblem("メールアドレスが長すぎます")
    return f"{local}@{domain.lower()}"


def parse_date(raw: object, tz: tzinfo = JST) -> date:
    """A calendar date from the forms Japanese files carry; a time part is allowed and dropped."""
    if isinstance(raw, datetime):
        return raw.astimezone(tz).date() if raw.tzinfo else raw.date()
    if isinstance(raw, date):
        return raw
    moment = _parse_moment(raw)
    if isinstance(moment, datetime):
        return moment.astimezone(tz).date() if moment.tzinfo else moment.date()
    return moment


def parse_datetime(raw: object, tz: tzinfo = JST) -> datetime:
    """An aware datetime; naive values (and bare dates, at midnight) are taken as local to tz."""
    if tz is JST and isinstance(raw, str) and len(raw) >= 16 and raw[4] in "-/":
        try:  # the common '2026/11/23 10:00:00' in one C call, offset included
            return datetime.fromisoformat(raw.strip().replace("/", "-") + _JST_SUFFIX)
        except ValueError:
            pass  # an offset of its own, or a form only the general parser knows
    if isinstance(raw, datetime):
        moment: date = raw
    elif isinstance(raw, date):
        moment = raw
    else:
        moment = _parse_moment(raw)
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time())
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _parse_moment(raw: object) -> date:
    """A date or datetime (naive unless the text carries an offset) from a cell."""
    if isinstance(raw, bool):
        raise ValueProblem(f"日付として読めません ({_DATE_FORMS})")
    if isinstance(raw, int | float):
        return _excel_serial(float(raw))
    text = unicodedata.normalize("NFKC", cell_text(raw))
    if len(text) >= 10 and text[4] == "-":
        try:  # the ISO forms machines write; C-fast, so tried first
            return datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
        except ValueError:
            pass
    if _SERIAL.fullmatch(text):
        return _excel_serial(float(text))
    day, rest = _split_date(text)
    if not rest:
        return day
    return datetime.combine(day, _parse_time(rest))


def _split_date(text: str) -> tuple[date, str]:
    """The date at the start of text and whatever follows it."""
    try:
        if m := _SEP_DATE.match(text):
            return date(int(m[1]), int(m[3]), int(m[4])), text[m.end() :]
        if m := _KANJI_DATE.match(text):
            return date(int(m[1]), int(m[2]), int(m[3])), text[m.end() :]
        if m := _ERA_DATE.match(text.upper() if text[:1].isascii() else text):
            first_year, first_day = _ERAS[m[1]]
            year = first_year + (0 if m[2] == "元" else int(m[2]) - 1)
            day = date(year, int(m[3]), int(m[4]))
            if day < first_day:
                raise ValueProblem(f"{m[1]}{m[2]}年{m[3]}月{m[4]}日という日付はありません")
            return day, text[m.end() :]
        if m := _COMPACT_DATE.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3])), ""
    except ValueError as exc:
        if isinstance(exc, ValueProblem):
            raise
        raise ValueProblem("存在しない日付です") from None
    raise ValueProblem(f"日付として読めません ({_DATE_FORMS})")


def _parse_time(text: str) -> time:
    """The time of day after a date: ' 10:00', 'T10:00:00+09:00', ' 10時30分'."""
    try:
        if m := _CLOCK_TIME.fullmatch(text):
            micro = int((m[4] or "0").ljust(6, "0"))
            offset = _parse_offset(m[5]) if m[5] else None
            return time(int(m[1]), int(m[2]), int(m[3] or 0), micro, tzinfo=offset)
        if m := _KANJI_TIME.fullmatch(text):
            return time(int(m[1]), int(m[2] or 0), int(m[3] or 0))
    except ValueError:
        raise ValueProblem("存在しない時刻です") from None
    raise ValueProblem("日付のあとの時刻が読めません (例: 2026/11/23 10:00)")


def _parse_offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    return UTC if minutes == 0 else timezone(timedelta(minutes=sign * minutes))


def _excel_serial(serial: float) -> datetime:
    """The naive datetime an Excel (1900 system) serial number stands for."""
    if not _EXCEL_SERIAL_MIN <= serial < _EXCEL_SERIAL_MAX + 1:
        raise ValueProblem(
            f"日付として読めません ({_DATE_FORMS}; シリアル値は "
            f"{_EXCEL_SERIAL_MIN}〜{_EXCEL_SERIAL_MAX})"
        )
    return _EXCEL_EPOCH + timedelta(seconds=round(serial * 86_400))


def parse_amount(raw: object) -> int:
    """Whole yen from '1,234,000', '￥1,234', '1,234円', '△500', '120万円'.

    Fractions of a yen are rejected rather than rounded: JPY has no minor unit,
    so '12.5' in a yen column is a mistake worth showing, not money to guess at.
    """
    return _parse_number(
        raw, strip=_CURRENCY, what="金額", fraction_reason="円未満の端数は扱えません"
    )


def parse_integer(raw: object) -> int:
    """A whole number: '1,200', '１２００', '300名', '45秒'."""
    return _parse_number(
        raw, strip=_UNIT_SUFFIXES, what="整数", fraction_reason="整数ではありません"
    )


def _parse_number(raw: object, *, strip: tuple[str, ...], what: str, fraction_reason: str) -> int:
    if isinstance(raw, bool):
        raise ValueProblem(f"{what}として読めません")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueProblem(fraction_reason)
        return int(raw)
    text = _SPACES.sub("", unicodedata.normalize("NFKC", cell_text(raw)))
    negative = False
    for _ in range(2):  # sign and currency come in either order: -¥1,000 / ¥-1,000
        if text[:1] in _MINUS_SIGNS:
            negative, text = True, text[1:]
        for mark in strip:
            text = text.removeprefix(mark)
    for mark in strip:
        text = text.removesuffix(mark)
    multiplier = 1
    if text[-1:] in _MULTIPLIERS:
        multiplier, text = _MULTIPLIERS[text[-1]], text[:-1]
    if not _NUMBER.fullmatch(text):
        raise ValueProblem(f"{what}として読めません")
    try:
        value = Decimal(text) * multiplier
    except InvalidOperation:
        raise ValueProblem(f"{what}として読めません") from None
    if value != value.to_integral_value():
        raise ValueProblem(fraction_reason)
    return -int(value) if negative else int(value)


def choice_parser(choices: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The lookup a CHOICE field matches against: every spelling and every canonical value."""
    table = {normalise_label(spelling): value for spelling, value in choices}
    for value in {value for _, value in choices}:
        table.setdefault(normalise_label(value), value)
    return table


def parse_choice(raw: object, table: dict[str, str]) -> str:
    """The canonical value a spelling stands for."""
    value = table.get(normalise_label(cell_text(raw)))
    if value is None:
        accepted = "、".join(sorted(set(table.values())))
        raise ValueProblem(f"選択肢にありません (使える値: {accepted})")
    return value


def parse_json_object(raw: object) -> dict[str, Any]:
    """A JSON object (the event payload)."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(cell_text(raw))
    except json.JSONDecodeError as exc:
        raise ValueProblem(f"JSON として読めません ({exc.msg}, 位置 {exc.pos})") from None
    if not isinstance(value, dict):
        raise ValueProblem("JSON のオブジェクト ({...}) ではありません")
    return value
