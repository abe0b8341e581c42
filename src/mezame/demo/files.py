"""Write a demo world as the files a Japanese team really has: CP932 CSV, Excel, UTF-8 exports.

Each file uses the Japanese headers the importer maps by itself, and the date
and amount spellings those tools write (2026/11/23, 2026年11月23日, 令和8年…,
"1,234,000", ￥ and 円), so loading the demo exercises the importer as a
customer's files would. The same world always gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from mezame.demo.world import DemoWorld, Row
from mezame.ingest.fields import ImportKind

# Canonical field → the header a Japanese export writes for it.
HEADERS: dict[ImportKind, tuple[tuple[str, str], ...]] = {
    ImportKind.COMPANIES: (
        ("external_id", "顧客コード"),
        ("name", "会社名"),
        ("name_kana", "会社名カナ"),
        ("corporate_number", "法人番号"),
        ("industry", "業種"),
        ("employee_count", "従業員数"),
        ("phone", "電話番号"),
        ("website", "ホームページ"),
        ("postal_code", "郵便番号"),
        ("address", "住所"),
        ("status", "顧客区分"),
        ("status_updated_on", "ステータス更新日"),
        ("source", "獲得経路"),
        ("notes", "備考"),
        ("owner_email", "担当営業メール"),
    ),
    ImportKind.CONTACTS: (
        ("external_id", "担当者コード"),
        ("company_external_id", "顧客コード"),
        ("company_name", "会社名"),
        ("name", "担当者名"),
        ("name_kana", "フリガナ"),
        ("department", "部署"),
        ("title", "役職"),
        ("email", "メールアドレス"),
        ("phone", "電話番号"),
        ("mobile", "携帯電話"),
        ("source", "接点"),
        ("acquired_on", "接点取得日"),
        ("hearing_notes", "ヒアリングメモ"),
        ("consent_basis", "配信同意"),
        ("consent_obtained_on", "同意取得日"),
        ("owner_email", "担当営業メール"),
    ),
    ImportKind.DEALS: (
        ("external_id", "商談コード"),
        ("company_external_id", "顧客コード"),
        ("company_name", "会社名"),
        ("contact_external_id", "担当者コード"),
        ("name", "商談名"),
        ("phase", "フェーズ"),
        ("outcome", "結果"),
        ("lost_reason", "失注理由"),
        ("amount", "見込金額"),
        ("product", "商品"),
        ("opened_on", "商談開始日"),
        ("closed_on", "完了日"),
        ("notes", "商談メモ"),
        ("owner_email", "担当営業メール"),
    ),
    ImportKind.ORDERS: (
        ("external_id", "受注番号"),
        ("company_external_id", "顧客コード"),
        ("company_name", "会社名"),
        ("contact_external_id", "担当者コード"),
        ("deal_external_id", "商談コード"),
        ("product", "商品名"),
        ("product_line", "商品カテゴリ"),
        ("ordered_on", "受注日"),
        ("amount", "金額"),
        ("contract_start", "契約開始日"),
        ("contract_end", "契約終了日"),
        ("cancelled_on", "解約日"),
        ("notes", "備考"),
    ),
    ImportKind.ACTIVITIES: (
        ("external_id", "活動ID"),
        ("company_external_id", "顧客コード"),
        ("company_name", "会社名"),
        ("contact_external_id", "担当者コード"),
        ("deal_external_id", "商談コード"),
        ("user_email", "営業担当メール"),
        ("kind", "活動種別"),
        ("occurred_at", "活動日時"),
        ("subject", "件名"),
        ("note", "内容"),
    ),
    ImportKind.EVENTS: (
        ("external_id", "イベントID"),
        ("contact_email", "メールアドレス"),
        ("visitor_id", "訪問者ID"),
        ("type", "イベント種別"),
        ("occurred_at", "日時"),
        ("campaign", "キャンペーン"),
        ("url", "URL"),
        ("document", "資料名"),
        ("webinar", "ウェビナー名"),
        ("watch_seconds", "視聴秒数"),
        ("payload", "詳細JSON"),
    ),
    ImportKind.SURVEYS: (
        ("external_id", "回答ID"),
        ("company_external_id", "顧客コード"),
        ("company_name", "会社名"),
        ("contact_email", "メールアドレス"),
        ("survey", "アンケート名"),
        ("answered_at", "回答日時"),
        ("nps_score", "NPS"),
        ("comment", "コメント"),
    ),
}

# File name and encoding per kind, in import order (references point backwards only).
FILES: tuple[tuple[ImportKind, str, str], ...] = (
    (ImportKind.COMPANIES, "companies.csv", "cp932"),  # 顧客台帳 saved by Japanese Excel
    (ImportKind.CONTACTS, "contacts.xlsx", ""),  # the sales team's spreadsheet
    (ImportKind.DEALS, "deals.csv", "utf-8-sig"),  # SFA export (Excel-friendly BOM)
    (ImportKind.ORDERS, "orders.csv", "cp932"),  # 販売管理 export
    (ImportKind.ACTIVITIES, "activities.csv", "utf-8"),
    (ImportKind.EVENTS, "events.csv", "utf-8"),  # MA tool export
    (ImportKind.SURVEYS, "surveys.csv", "utf-8"),
)
PLANTED_FILE = "planted.json"
_REIWA_START = 2018  # 令和1年 = 2019


def _slash(day: date) -> str:
    return f"{day.year}/{day.month:02d}/{day.day:02d}"


def _kanji(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _reiwa(day: date) -> str:
    return f"令和{day.year - _REIWA_START}年{day.month}月{day.day}日"


class _Spelling:
    """Chooses, row by row, how a tool spells a date or an amount; seeded by the world."""

    def __init__(self, seed: int, kind: ImportKind) -> None:
        self.rng = np.random.default_rng([seed, list(ImportKind).index(kind)])

    def date(self, day: date, forms: Sequence[tuple[Callable[[date], str], float]]) -> str:
        roll, total = self.rng.random(), 0.0
        for spell, share in forms:
            total += share
            if roll < total:
                return spell(day)
        return forms[-1][0](day)

    def amount(self, yen: int) -> str:
        roll = self.rng.random()
        if roll < 0.6:
            return f"{yen:,}"
        if roll < 0.8:
            return f"￥{yen:,}"
        if roll < 0.9:
            return f"{yen:,}円"
        return str(yen)


Spell = Callable[[object], str]


def _text(value: object) -> str:
    if isinstance(value, str):  # the common case first
        return value
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, datetime):
        return value.isoformat(" ")[:19].replace("-", "/")
    if isinstance(value, date):
        return _slash(value)
    return str(value)


def _spellers(kind: ImportKind, spell: _Spelling) -> list[tuple[str, Spell]]:
    """Per column, how this kind's source system writes the value."""

    def dates(forms: Sequence[tuple[Callable[[date], str], float]]) -> Spell:
        return lambda v: spell.date(v, forms) if isinstance(v, date) else _text(v)

    def amount(v: object) -> str:
        return spell.amount(v) if isinstance(v, int) else _text(v)

    def minutes(v: object) -> str:  # SFA activity logs keep minutes only
        return v.isoformat(" ")[:16].replace("-", "/") if isinstance(v, datetime) else _text(v)

    def iso_seconds(v: object) -> str:  # MA tools export ISO-like timestamps
        return v.isoformat(" ")[:19] if isinstance(v, datetime) else _text(v)

    special: dict[str, Spell] = {}
    if kind is ImportKind.DEALS:
        deal_dates = dates(((_slash, 0.6), (_kanji, 0.25), (date.isoformat, 0.15)))
        special = {"opened_on": deal_dates, "closed_on": deal_dates, "amount": amount}
    elif kind is ImportKind.ORDERS:
        order_dates = dates(((_slash, 0.85), (_kanji, 0.05), (_reiwa, 0.10)))
        special = {
            name: order_dates
            for name in ("ordered_on", "contract_start", "contract_end", "cancelled_on")
        }
        special["amount"] = amount
    elif kind is ImportKind.ACTIVITIES:
        special = {"occurred_at": minutes}
    elif kind is ImportKind.EVENTS:
        encoded: dict[int, str] = {}  # events share payload objects: encode each once

        def payload(v: object) -> str:
            if v is None:
                return ""
            key = id(v)
            if key not in encoded:
                encoded[key] = _text(v)
            return encoded[key]

        special = {"occurred_at": iso_seconds, "payload": payload}
    return [(name, special.get(name, _text)) for name, _ in HEADERS[kind]]


def _write_csv(path: Path, kind: ImportKind, rows: list[Row], encoding: str, seed: int) -> None:
    plan = _spellers(kind, _Spelling(seed, kind))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in HEADERS[kind]])
    writer.writerows([spell(row.get(name)) for name, spell in plan] for row in rows)
    # strict: a character CP932 cannot hold is a bug in the generator, not something to hide.
    path.write_bytes(buffer.getvalue().encode(encoding, errors="strict"))


def _write_xlsx(path: Path, kind: ImportKind, rows: list[Row], seed: int, stamp: date) -> None:
    """An Excel sheet with real date cells, and some dates typed in as text (as people do)."""
    spell = _Spelling(seed, kind)
    book = Workbook(write_only=True)
    moment = datetime(stamp.year, stamp.month, stamp.day)
    book.properties.creator = "mezame demo"
    book.properties.created = book.properties.modified = moment
    sheet = book.create_sheet("担当者一覧")
    sheet.append([header for _, header in HEADERS[kind]])
    for row in rows:
        cells: list[object] = []
        for name, _ in HEADERS[kind]:
            value = row.get(name)
            if isinstance(value, date):
                cells.append(_kanji(value) if spell.rng.random() < 0.2 else value)
            else:
                cells.append(value)
        sheet.append(cells)
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()
    # openpyxl stamps each zip member with the current time; pin it so the bytes repeat.
    fixed = (stamp.year, stamp.month, stamp.day, 0, 0, 0)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=fixed)
            member.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(member, source.read(info.filename))
    path.write_bytes(out.getvalue())


def write_world(world: DemoWorld, directory: Path) -> list[tuple[ImportKind, Path]]:
    """Write every file and planted.json into `directory`; the files in import order."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[tuple[ImportKind, Path]] = []
    for kind, name, encoding in FILES:
        path = directory / name
        rows = world.rows[kind]
        if name.endswith(".xlsx"):
            _write_xlsx(path, kind, rows, world.seed, world.as_of)
        else:
            _write_csv(path, kind, rows, encoding, world.seed)
        written.append((kind, path))
    planted = json.dumps(world.planted.as_json(), ensure_ascii=False, indent=2)
    (directory / PLANTED_FILE).write_text(planted + "\n", encoding="utf-8")
    return written
