"""Survivorship: who survives a merge and which value each field keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mezame.cleaning.survivorship import (
    COMPANY_FIELDS,
    CONTACT_FIELDS,
    MergeInput,
    SurvivorshipPolicy,
    SurvivorshipRule,
    company_merge_conflicts,
    plan_merge,
)

OLD = datetime(2025, 1, 1, tzinfo=UTC)
NEW = datetime(2026, 6, 1, tzinfo=UTC)


def _company(
    id_: int,
    *,
    updated_at: datetime = OLD,
    source: str | None = None,
    external_id: str | None = "K",
    **values: object,
) -> MergeInput:
    fields = dict.fromkeys(COMPANY_FIELDS)
    fields["status"] = "unknown"
    fields["source"] = source
    fields.update(values)
    return MergeInput(
        id=id_,
        external_id=None if external_id is None else f"{external_id}{id_}",
        source=source,
        updated_at=updated_at,
        values=fields,
    )


def test_the_oldest_record_with_an_external_id_survives() -> None:
    plan = plan_merge(
        [_company(3), _company(1, external_id=None), _company(2)],
        COMPANY_FIELDS,
        SurvivorshipPolicy(),
    )
    assert plan.survivor == 2
    assert plan.merged == (1, 3)


def test_newest_non_empty_value_wins_by_default() -> None:
    plan = plan_merge(
        [
            _company(1, phone="03-1111-1111", website=None),
            _company(2, updated_at=NEW, phone="03-2222-2222", website=None),
            _company(3, updated_at=NEW, phone=None, website="https://example.jp"),
        ],
        COMPANY_FIELDS,
        SurvivorshipPolicy(),
    )
    assert plan.survivor == 1
    assert plan.changes["phone"] == "03-2222-2222"  # newer, non-empty
    assert plan.changes["website"] == "https://example.jp"  # only one has it


def test_most_trusted_source_wins_when_the_policy_says_so() -> None:
    records = [
        _company(1, source="テレアポ", phone="03-1111-1111"),
        _company(2, updated_at=NEW, source="Ｗｅｂ", phone="03-3333-3333"),  # unlisted: last
        _company(3, source="名刺交換", phone="03-2222-2222"),
    ]
    trusted = plan_merge(
        records, COMPANY_FIELDS, SurvivorshipPolicy(rule=SurvivorshipRule.MOST_TRUSTED)
    )
    assert trusted.changes["phone"] == "03-2222-2222"
    assert trusted.changes["source"] == "名刺交換"
    newest = plan_merge(records, COMPANY_FIELDS, SurvivorshipPolicy())
    assert newest.changes["phone"] == "03-3333-3333"


def test_trust_breaks_ties_between_equally_new_values() -> None:
    records = [
        _company(1, source="資料請求", industry="製造業"),
        _company(2, source="既存取引", industry="卸売業"),
    ]
    plan = plan_merge(records, COMPANY_FIELDS, SurvivorshipPolicy())
    assert plan.changes == {"industry": "卸売業", "source": "既存取引"}


def test_the_name_stays_unless_the_survivor_has_none() -> None:
    records = [
        _company(1, name="株式会社山田製作所"),
        _company(2, updated_at=NEW, name="ﾔﾏﾀﾞｾｲｻｸｼｮ(株)"),
    ]
    assert "name" not in plan_merge(records, COMPANY_FIELDS, SurvivorshipPolicy()).changes
    blank = [_company(1, name=" "), _company(2, name="山田製作所")]
    assert plan_merge(blank, COMPANY_FIELDS, SurvivorshipPolicy()).changes["name"] == "山田製作所"


def test_an_invalid_corporate_number_or_unknown_status_never_overwrites() -> None:
    records = [
        _company(1, corporate_number="5835678256246", status="customer"),
        _company(2, updated_at=NEW, corporate_number="2835678256246", status="unknown"),
    ]
    assert plan_merge(records, COMPANY_FIELDS, SurvivorshipPolicy()).changes == {}
    fixed = [
        _company(1, corporate_number="2835678256246"),
        _company(2, corporate_number="5835678256246"),
    ]
    changes = plan_merge(fixed, COMPANY_FIELDS, SurvivorshipPolicy()).changes
    assert changes["corporate_number"] == "5835678256246"


def test_notes_are_joined_never_dropped() -> None:
    records = [
        _company(2, notes="価格重視"),
        _company(1, notes="担当交代あり"),
        _company(3, updated_at=NEW, notes="価格重視"),
    ]
    plan = plan_merge(records, COMPANY_FIELDS, SurvivorshipPolicy())
    assert plan.changes["notes"] == "担当交代あり\n価格重視"


def test_contact_dates_keep_the_first_meeting_and_the_last_sighting() -> None:
    def contact(id_: int, acquired: date | None, seen: datetime | None) -> MergeInput:
        values = dict.fromkeys(CONTACT_FIELDS)
        values.update(acquired_on=acquired, last_seen_at=seen, name="山田 太郎")
        return MergeInput(id_, f"T{id_}", None, OLD, values)

    plan = plan_merge(
        [contact(1, date(2024, 5, 1), OLD), contact(2, date(2023, 4, 1), None)],
        CONTACT_FIELDS,
        SurvivorshipPolicy(),
    )
    assert plan.changes == {"acquired_on": date(2023, 4, 1)}
    plan = plan_merge(
        [contact(1, None, OLD), contact(2, None, NEW)], CONTACT_FIELDS, SurvivorshipPolicy()
    )
    assert plan.changes == {"last_seen_at": NEW}


def test_two_valid_corporate_numbers_are_a_conflict() -> None:
    assert (
        company_merge_conflicts(
            [
                _company(1, corporate_number="5835678256246"),
                _company(2, corporate_number="5-8356-7825-6246"),  # the same number, written apart
                _company(3, corporate_number="2835678256246"),  # invalid: no evidence either way
            ]
        )
        == []
    )
    (conflict,) = company_merge_conflicts(
        [
            _company(1, corporate_number="5835678256246"),
            _company(2, corporate_number="1000013050246"),
        ]
    )
    assert "法人番号が異なる" in conflict and "#1" in conflict and "#2" in conflict


def test_a_merge_needs_two_distinct_records() -> None:
    with pytest.raises(ValueError, match="at least two"):
        plan_merge([_company(1)], COMPANY_FIELDS, SurvivorshipPolicy())
    with pytest.raises(ValueError, match="twice"):
        plan_merge([_company(1), _company(1)], COMPANY_FIELDS, SurvivorshipPolicy())
