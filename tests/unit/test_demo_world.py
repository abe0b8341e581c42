"""The demo world is deterministic, consistent, and carries the patterns later stages must find."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mezame.demo.companies import corporate_check_digit, is_valid_corporate_number
from mezame.demo.files import FILES, HEADERS, PLANTED_FILE, write_world
from mezame.demo.timeline import add_months
from mezame.demo.world import DemoWorld, Row, generate_world
from mezame.ingest.fields import ImportKind as K
from mezame.ingest.records import resolve_mapping

AS_OF = date(2026, 11, 23)
LEGAL_FORMS = re.compile(
    r"株式会社|有限会社|合同会社|\(株\)|\(有\)|\(同\)|㈱|㈲|co\.,ltd\.|ltd\.|llc|kabushikikaisha"
)


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate_world(companies=600, seed=11, as_of=AS_OF)


def _by(rows: list[Row], key: str) -> dict[object, Row]:
    return {r[key]: r for r in rows}


def test_same_seed_same_world_other_seed_other_world() -> None:
    a = generate_world(companies=120, seed=3, as_of=AS_OF)
    b = generate_world(companies=120, seed=3, as_of=AS_OF)
    c = generate_world(companies=120, seed=4, as_of=AS_OF)
    assert a.rows == b.rows
    assert a.planted == b.planted
    assert a.rows[K.COMPANIES] != c.rows[K.COMPANIES]
    assert a.rows[K.EVENTS] != c.rows[K.EVENTS]


def test_every_kind_has_rows_and_the_requested_company_count(world: DemoWorld) -> None:
    assert len(world.rows[K.COMPANIES]) == 600
    for kind in K:
        assert world.rows[kind], kind
    assert len({r["external_id"] for r in world.rows[K.COMPANIES]}) == 600


def test_every_reference_resolves(world: DemoWorld) -> None:
    companies = {r["external_id"] for r in world.rows[K.COMPANIES]}
    contacts = _by(world.rows[K.CONTACTS], "external_id")
    emails = {str(r["email"]).lower() for r in contacts.values() if r["email"]}
    deals = {r["external_id"] for r in world.rows[K.DEALS]}
    for kind in (K.CONTACTS, K.DEALS, K.ORDERS, K.ACTIVITIES, K.SURVEYS):
        for row in world.rows[kind]:
            assert row["company_external_id"] in companies, (kind, row)
            contact = row.get("contact_external_id")
            assert contact is None or contact in contacts, (kind, row)
            deal = row.get("deal_external_id")
            assert deal is None or deal in deals, (kind, row)
    for kind in (K.EVENTS, K.SURVEYS):
        for row in world.rows[kind]:
            email = row["contact_email"]
            assert email is None or str(email).lower() in emails, (kind, row)
    for row in world.rows[K.EVENTS]:
        assert row["contact_email"] or row["visitor_id"], row
    for kind in K:
        ids = [r["external_id"] for r in world.rows[kind]]
        assert len(ids) == len(set(ids)), kind


def test_nothing_happens_on_or_after_as_of(world: DemoWorld) -> None:
    start = world.planted.history_start
    for kind in K:
        for row in world.rows[kind]:
            for name, value in row.items():
                if name == "contract_end":  # a running contract ends in the future
                    continue
                if isinstance(value, datetime):
                    assert start <= value.date() < AS_OF, (kind, name, value)
                    assert value.tzinfo is not None
                elif isinstance(value, date):
                    assert start <= value < AS_OF, (kind, name, value)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("7000012050002", True),  # 国税庁
        ("1180301018771", True),  # トヨタ自動車
        ("2180301018771", False),
        ("７００００１２０５０００２", True),  # full-width digits are the same number
        ("700001205000", False),
    ],
)
def test_corporate_number_check_digit(number: str, valid: bool) -> None:
    assert is_valid_corporate_number(number) is valid


def test_check_digit_of_the_base() -> None:
    assert corporate_check_digit("000012050002") == "7"
    with pytest.raises(ValueError, match="12 digits"):
        corporate_check_digit("12345")


def test_corporate_numbers_are_valid_except_the_planted_typos(world: DemoWorld) -> None:
    invalid = set(world.planted.invalid_corporate_numbers)
    assert invalid
    numbers = {r["external_id"]: r["corporate_number"] for r in world.rows[K.COMPANIES]}
    assert sum(1 for n in numbers.values() if n) > 450
    for code, number in numbers.items():
        if number:
            assert is_valid_corporate_number(str(number)) is (code not in invalid), code


def _core_name(name: str) -> str:
    """The name without legal form, width or spacing differences."""
    folded = re.sub(r"\s", "", unicodedata.normalize("NFKC", name).casefold())
    return LEGAL_FORMS.sub("", folded)


def test_planted_duplicates_are_the_same_name_written_differently(world: DemoWorld) -> None:
    companies = _by(world.rows[K.COMPANIES], "external_id")
    duplicates = world.planted.duplicate_companies
    assert 0.03 * 600 <= len(duplicates) <= 0.05 * 600
    labels: set[str] = set()
    for dup in duplicates:
        copy, original = companies[dup["duplicate"]], companies[dup["original"]]
        assert copy["name"] != original["name"]
        labels.update(dup["variants"])  # type: ignore[arg-type]
        if "英語表記" not in dup["variants"]:  # type: ignore[operator]
            assert _core_name(str(copy["name"])) == _core_name(str(original["name"]))
        if dup["shares_corporate_number"]:
            copy_number = unicodedata.normalize("NFKC", str(copy["corporate_number"]))
            assert copy_number == original["corporate_number"]
        if dup["shares_phone"]:
            digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", str(copy["phone"])))
            assert digits == re.sub(r"\D", "", str(original["phone"]))
    assert len(labels & {"(株)", "（株）", "㈱", "前後入替", "法人格なし", "空白", "英語表記"}) >= 4
    # Contacts hang off some duplicates too, so a merge has something to move.
    on_duplicates = {c["company_external_id"] for c in world.rows[K.CONTACTS]}
    assert on_duplicates & {d["duplicate"] for d in duplicates}


def test_near_misses_are_distinct_companies(world: DemoWorld) -> None:
    companies = _by(world.rows[K.COMPANIES], "external_id")
    kinds = {m["kind"] for m in world.planted.near_miss_companies}
    assert kinds == {"truncated", "homophone", "similar_core", "same_name_other_city"}
    for miss in world.planted.near_miss_companies:
        a, b = companies[miss["a"]], companies[miss["b"]]
        assert a["phone"] != b["phone"] or a["phone"] is None
        if a["corporate_number"] and b["corporate_number"]:
            assert a["corporate_number"] != b["corporate_number"]
        if miss["kind"] == "same_name_other_city":
            assert a["name"] == b["name"]
            assert str(a["address"])[:3] != str(b["address"])[:3]


def _churn_rate(world: DemoWorld, group: set[str], low: date, high: date) -> float:
    """Churns per customer-month in [low, high), from first purchase to the planted churn."""
    first: dict[str, date] = {}
    for order in world.rows[K.ORDERS]:
        code, day = str(order["company_external_id"]), order["ordered_on"]
        assert isinstance(day, date)
        if code in group:
            first[code] = min(first.get(code, day), day)
    churns, days = 0, 0
    for code, start in first.items():
        churn = world.planted.churned.get(code)
        end = date.fromisoformat(str(churn["on"])) if churn else high
        days += max((min(end, high) - max(start, low)).days, 0)
        churns += churn is not None and low <= end < high
    return churns / days * 30.4


def _cancellation_share(world: DemoWorld, group: set[str], low: date, high: date) -> float:
    """Of the group's subscribers under contract at `low`, the share that cancelled by `high`."""
    started: dict[str, date] = {}
    cancelled: dict[str, date] = {}
    for order in world.rows[K.ORDERS]:
        code, start = str(order["company_external_id"]), order["contract_start"]
        if code in group and isinstance(start, date):
            started[code] = min(started.get(code, start), start)
            if isinstance(order["cancelled_on"], date):
                cancelled[code] = order["cancelled_on"]
    at_risk = [c for c, s in started.items() if s < low and cancelled.get(c, high) >= low]
    assert len(at_risk) >= 15
    return sum(1 for c in at_risk if low <= cancelled.get(c, high) < high) / len(at_risk)


def test_price_sensitive_customers_leave_after_the_price_rise(world: DemoWorld) -> None:
    planted = world.planted
    rise = planted.price_rise_on
    assert rise == add_months(AS_OF.replace(day=1), -14)
    year_after = rise + timedelta(days=365)
    sensitive = set(planted.price_sensitive)
    others = {str(r["external_id"]) for r in world.rows[K.COMPANIES]} - sensitive
    before = _churn_rate(world, sensitive, planted.history_start, rise)
    after = _churn_rate(world, sensitive, rise, year_after)
    # Margins hold for every seed 0–11, not just this one.
    assert after > 1.5 * before
    assert after > 3 * _churn_rate(world, others, rise, year_after)
    # Visible in the orders file alone: their contracts carry the 解約日.
    cancelled_sensitive = _cancellation_share(world, sensitive, rise, year_after)
    assert cancelled_sensitive > 2 * _cancellation_share(world, others, rise, year_after)
    # … and their renewal deals and the notes say why.
    price_notes = [
        o for o in world.rows[K.ORDERS] if o["cancelled_on"] and "価格" in str(o["notes"] or "")
    ]
    assert price_notes
    assert all(
        o["company_external_id"] in planted.churned_after_price_rise
        for o in price_notes
        if "値上げ" in str(o["notes"]) or "価格改定" in str(o["notes"])
    )


def test_orders_peak_at_fiscal_year_end(world: DemoWorld) -> None:
    months: dict[int, int] = defaultdict(int)
    for order in world.rows[K.ORDERS]:
        ordered = order["ordered_on"]
        assert isinstance(ordered, date)
        months[ordered.month] += 1
    assert months[3] > 1.4 * (sum(months.values()) / 12)


def test_nps_is_lower_for_customers_who_later_churned(world: DemoWorld) -> None:
    scores: dict[bool, list[int]] = {True: [], False: []}
    for answer in world.rows[K.SURVEYS]:
        score = answer["nps_score"]
        assert isinstance(score, int) and 0 <= score <= 10
        scores[answer["company_external_id"] in world.planted.churned].append(score)
    mean = {k: sum(v) / len(v) for k, v in scores.items()}
    assert mean[True] < mean[False] - 0.2


def test_lost_deals_carry_reasons_in_japanese_english_or_not_at_all(world: DemoWorld) -> None:
    deals = _by(world.rows[K.DEALS], "external_id")
    reasons = world.planted.deal_reasons
    assert set(reasons.values()) == {"price", "function", "timing", "competitor", "unknown"}
    for code, reason in reasons.items():
        assert deals[code]["outcome"] in ("失注", "見送り")
        if reason == "unknown":
            text = f"{deals[code]['lost_reason'] or ''}{deals[code]['notes'] or ''}"
            assert "価格" not in text and "予算" not in text
    texts = [str(d["lost_reason"]) for d in deals.values() if d["lost_reason"]]
    assert any(t.isascii() for t in texts) and any(not t.isascii() for t in texts)
    assert any(d["lost_reason"] is None and d["notes"] for c, d in deals.items() if c in reasons)


def _recent_hot(world: DemoWorld, days: int = 60) -> set[str]:
    """Emails with a click or a pricing-page visit in the last `days` days."""
    since = AS_OF - timedelta(days=days)
    hot: set[str] = set()
    for event in world.rows[K.EVENTS]:
        when, email = event["occurred_at"], event["contact_email"]
        assert isinstance(when, datetime)
        clicked = event["type"] == "クリック"
        pricing = event["type"] == "サイト訪問" and event["url"] == "/pricing"
        if email and when.date() >= since and (clicked or pricing):
            hot.add(str(email))
    return hot


def test_a_few_dormant_contacts_wake_up_and_the_rest_stay_quiet(world: DemoWorld) -> None:
    planted = world.planted
    warming = {w["email"] for w in planted.warming_contacts}
    assert len(warming) >= 10
    assert all(w["company"] in planted.dormant for w in planted.warming_contacts)
    hot = _recent_hot(world)
    assert warming <= hot
    dormant_emails = {
        str(c["email"])
        for c in world.rows[K.CONTACTS]
        if c["company_external_id"] in planted.dormant and c["email"]
    } - warming
    assert len(dormant_emails) > 10 * len(warming)
    assert len(dormant_emails & hot) < 0.05 * len(dormant_emails)
    # Quiet before they woke: no clicks in the months before the waking.
    since = {w["email"]: datetime.fromisoformat(w["since"]) for w in planted.warming_contacts}
    for event in world.rows[K.EVENTS]:
        email, when = event["contact_email"], event["occurred_at"]
        if email in since and event["type"] == "クリック":
            assert isinstance(when, datetime)
            assert not since[email] - timedelta(days=150) < when < since[email]


def test_machine_opens_follow_delivery_within_a_minute(world: DemoWorld) -> None:
    emails = {
        c["email"]
        for c in world.rows[K.CONTACTS]
        if c["external_id"] in set(world.planted.machine_openers)
    }
    sent: dict[tuple[object, object], datetime] = {}
    gaps: list[float] = []
    for event in world.rows[K.EVENTS]:
        key, when = (event["contact_email"], event["campaign"]), event["occurred_at"]
        assert isinstance(when, datetime)
        if event["type"] == "配信":
            sent[key] = when
        elif event["type"] == "開封" and event["contact_email"] in emails:
            gaps.append((when - sent[key]).total_seconds())
    assert gaps and max(gaps) < 60


def test_files_are_byte_identical_for_a_seed_and_map_to_the_fields(tmp_path: Path) -> None:
    world = generate_world(companies=80, seed=5, as_of=AS_OF)
    first = write_world(world, tmp_path / "a")
    second = write_world(generate_world(companies=80, seed=5, as_of=AS_OF), tmp_path / "b")
    assert [k for k, _ in first] == [k for k, _, _ in FILES]
    for (_, a), (_, b) in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert (tmp_path / "a" / PLANTED_FILE).read_bytes() == (
        tmp_path / "b" / PLANTED_FILE
    ).read_bytes()
    planted = json.loads((tmp_path / "a" / PLANTED_FILE).read_text(encoding="utf-8"))
    assert planted["price_rise_on"] == world.planted.price_rise_on.isoformat()

    paths = dict(first)
    for kind, headers in HEADERS.items():  # the importer maps every header by itself
        mapping = resolve_mapping(kind, [h for _, h in headers])
        assert mapping.fields == {h: f for f, h in headers}, kind
        assert mapping.unmapped == []

    companies = paths[K.COMPANIES].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        companies.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(companies.decode("cp932"))))
    assert len(rows) == 80 and rows[0]["顧客コード"] == world.rows[K.COMPANIES][0]["external_id"]
    assert paths[K.DEALS].read_bytes().startswith(b"\xef\xbb\xbf")
    orders = paths[K.ORDERS].read_bytes().decode("cp932")
    assert "￥" in orders and "令和" in orders and re.search(r'"\d{1,3}(,\d{3})+"', orders)
    sheet = load_workbook(paths[K.CONTACTS], read_only=True).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0]) == [h for _, h in HEADERS[K.CONTACTS]]
    assert len(cells) == 1 + len(world.rows[K.CONTACTS])
    assert any(isinstance(v, datetime) for row in cells[1:] for v in row)
