"""Duplicate detection: found variants, untouched near misses, hard conflicts, clusters."""

from __future__ import annotations

import csv
import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mezame.cleaning.dedupe import (
    CompanyRecord,
    ContactRecord,
    DedupePolicy,
    DuplicateReport,
    cluster_pairs,
    find_company_duplicates,
    find_contact_duplicates,
)

VARIANTS_CSV = Path(__file__).resolve().parents[1] / "data" / "company_variants.csv"


def _company(id_: int, name: str, **fields: object) -> CompanyRecord:
    return CompanyRecord(id=id_, external_id=f"K{id_}", name=name, **fields)  # type: ignore[arg-type]


def _clustered(report: DuplicateReport) -> set[frozenset[int]]:
    return {frozenset(c.ids) for c in report.clusters}


def _same_pairs(groups: Iterable[Sequence[int]]) -> set[tuple[int, int]]:
    return {pair for ids in groups for pair in itertools.combinations(sorted(ids), 2)}


def _precision_recall(
    predicted: Iterable[Sequence[int]], truth: dict[int, str]
) -> tuple[float, float]:
    groups: dict[str, list[int]] = {}
    for row, label in truth.items():
        groups.setdefault(label, []).append(row)
    found, true = _same_pairs(predicted), _same_pairs(groups.values())
    hits = len(found & true)
    return hits / max(1, len(found)), hits / max(1, len(true))


def _variant_records() -> tuple[list[CompanyRecord], dict[int, str]]:
    with VARIANTS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = [
        CompanyRecord(
            id=row_number,
            external_id=row["external_id"],
            name=row["name"],
            corporate_number=row["corporate_number"] or None,
            phone=row["phone"] or None,
            website=row["website"] or None,
            email_domains=(row["email"],) if row["email"] else (),
            postal_code=row["postal_code"] or None,
            address=row["address"] or None,
        )
        for row_number, row in enumerate(rows, start=1)
    ]
    return records, {r.id: row["cluster"] for r, row in zip(records, rows, strict=True)}


def test_variant_file_precision_and_recall() -> None:
    records, truth = _variant_records()
    assert len(records) >= 150
    report = find_company_duplicates(records)
    precision, recall = _precision_recall([c.ids for c in report.clusters], truth)
    print(f"company_variants.csv: pairwise precision {precision:.4f}, recall {recall:.4f}")
    assert precision >= 0.98
    assert recall >= 0.90
    assert report.stats.pairs_after_blocking < report.stats.all_pairs / 10


def test_variant_file_detection_does_not_depend_on_row_order() -> None:
    records, _ = _variant_records()
    expected = find_company_duplicates(records)
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    again = find_company_duplicates(shuffled)
    assert {(p.a, p.b, p.score) for p in again.pairs} == {
        (p.a, p.b, p.score) for p in expected.pairs
    }
    assert _clustered(again) == _clustered(expected)


def test_demo_world_planted_duplicates_are_found() -> None:
    from mezame.demo.world import generate_world
    from mezame.ingest.fields import ImportKind

    world = generate_world(companies=800, seed=11, as_of=date(2026, 3, 1))
    rows = world.rows[ImportKind.COMPANIES]
    emails: dict[object, list[str]] = {}
    for contact in world.rows[ImportKind.CONTACTS]:
        if contact.get("email") and contact.get("company_external_id"):
            emails.setdefault(contact["company_external_id"], []).append(str(contact["email"]))

    def text(value: object) -> str | None:
        return None if value is None else str(value)

    records = [
        CompanyRecord(
            id=row_number,
            external_id=text(row["external_id"]),
            name=str(row["name"]),
            corporate_number=text(row.get("corporate_number")),
            phone=text(row.get("phone")),
            website=text(row.get("website")),
            email_domains=tuple(emails.get(row["external_id"], ())),
            postal_code=text(row.get("postal_code")),
            address=text(row.get("address")),
        )
        for row_number, row in enumerate(rows)
    ]
    row_of = {r.external_id: r.id for r in records}
    original = {
        row_of[d["duplicate"]]: row_of[d["original"]] for d in world.planted.duplicate_companies
    }
    assert original, "the demo world plants duplicate companies"
    truth = {r.id: str(original.get(r.id, r.id)) for r in records}
    report = find_company_duplicates(records)
    precision, recall = _precision_recall([c.ids for c in report.clusters], truth)
    print(f"demo world: pairwise precision {precision:.4f}, recall {recall:.4f}")
    assert precision >= 0.98
    assert recall >= 0.90
    clustered = {frozenset(c.external_ids) for c in report.clusters}
    for near in world.planted.near_miss_companies:
        assert not any({near["a"], near["b"]} <= ids for ids in clustered), near


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Near misses: other companies whatever the shared city.
        (
            _company(1, "株式会社山田製作所", address="東京都千代田区丸の内1-2-3"),
            _company(2, "株式会社山田製作", address="東京都千代田区丸の内2-1-1"),
        ),
        (
            _company(
                1, "三協工業株式会社", postal_code="541-0053", address="大阪市中央区本町1-1-1"
            ),
            _company(
                2, "三共工業株式会社", postal_code="541-0053", address="大阪市中央区本町2-2-2"
            ),
        ),
        (_company(1, "東日本電設株式会社"), _company(2, "西日本電設株式会社")),
        (_company(1, "株式会社ミナミ"), _company(2, "株式会社ミナモ")),
        # The same name in another city, another corporate number.
        (
            _company(
                1,
                "株式会社丸山商店",
                corporate_number="5835678256246",
                address="札幌市中央区北1条西2-1",
            ),
            _company(2, "株式会社丸山商店", corporate_number="", address="福岡市中央区天神1-1-1"),
        ),
        (
            _company(1, "株式会社丸山商店", address="神奈川県横浜市西区1-1-1"),
            _company(2, "丸山商店(株)", address="神奈川県川崎市川崎区1-1-1"),
        ),
        (
            _company(1, "株式会社みなと製菓", postal_code="100-0001"),
            _company(2, "株式会社みなと製菓", postal_code="530-0001"),
        ),
        # Free mail is no company evidence: the cities still differ.
        (
            _company(1, "田中工務店", email_domains=("a@gmail.com",), address="東京都世田谷区1-1"),
            _company(2, "田中工務店", email_domains=("b@gmail.com",), address="大阪府堺市堺区1-1"),
        ),
        # Phone shared, names unalike: not the same company on that alone.
        (
            _company(1, "株式会社北斗システム", phone="03-1111-2222"),
            _company(2, "株式会社南海物流", phone="03-1111-2222"),
        ),
    ],
)
def test_near_misses_are_not_candidates(a: CompanyRecord, b: CompanyRecord) -> None:
    report = find_company_duplicates([a, b])
    assert report.pairs == ()
    assert report.clusters == ()


def test_two_different_valid_corporate_numbers_forbid_a_merge() -> None:
    report = find_company_duplicates(
        [
            _company(1, "株式会社アルファ", corporate_number="5835678256246", phone="03-1111-1111"),
            _company(2, "株式会社アルファ", corporate_number="1000013050246", phone="03-1111-1111"),
        ]
    )
    assert report.pairs == ()


def test_an_invalid_corporate_number_is_neither_evidence_nor_conflict() -> None:
    invalid = "2835678256246"
    unrelated = find_company_duplicates(
        [
            _company(1, "株式会社ブルースカイ", corporate_number=invalid),
            _company(2, "株式会社ブルーオーシャン", corporate_number=invalid),
        ]
    )
    assert unrelated.pairs == ()
    same = find_company_duplicates(
        [
            _company(
                1, "株式会社ひかり通信", corporate_number="5835678256246", phone="03-3333-5555"
            ),
            _company(2, "ひかり通信(株)", corporate_number=invalid, phone="03-3333-5555"),
        ]
    )
    assert [(p.a, p.b) for p in same.pairs] == [(1, 2)]


def test_same_valid_corporate_number_is_strong_evidence() -> None:
    report = find_company_duplicates(
        [
            _company(1, "株式会社グリーンフィールド", corporate_number="5-8356-7825-6246"),
            _company(2, "グリーンフィールド", corporate_number="５８３５６７８２５６２４６"),
        ]
    )
    (pair,) = report.pairs
    assert pair.score >= DedupePolicy().auto_merge
    assert "法人番号が一致 (same corporate number)" in pair.evidence
    (cluster,) = report.clusters
    assert cluster.auto and cluster.external_ids == ("K1", "K2")


def test_renamed_company_with_same_corporate_number_goes_to_review() -> None:
    report = find_company_duplicates(
        [
            _company(1, "株式会社旭日商事", corporate_number="5835678256246"),
            _company(2, "株式会社アサヒホールディングス", corporate_number="5835678256246"),
        ]
    )
    (pair,) = report.pairs
    policy = DedupePolicy()
    assert policy.review <= pair.score < policy.auto_merge
    assert any("社名変更" in words for words in pair.evidence)


def test_evidence_scores_order_the_candidates() -> None:
    records = [
        _company(1, "株式会社大和物流", phone="042-721-2323"),
        _company(2, "大和物流株式会社", phone="(042)721-2323"),  # 後株 + same phone: auto
        _company(3, "大和物流(株)"),  # same name, nothing else: review
    ]
    report = find_company_duplicates(records)
    scores = {(p.a, p.b): p for p in report.pairs}
    policy = DedupePolicy()
    assert scores[(1, 2)].score >= policy.auto_merge
    assert "電話番号が一致 (same phone number)" in scores[(1, 2)].evidence
    assert "前株と後株の違い (legal form before vs after the name)" in scores[(1, 2)].evidence
    assert policy.review <= scores[(2, 3)].score < policy.auto_merge
    (cluster,) = report.clusters
    assert cluster.ids == (1, 2, 3) and not cluster.auto


def test_short_name_typo_needs_corroboration() -> None:
    alone = [_company(1, "東洋精密工業株式会社"), _company(2, "東洋精蜜工業株式会社")]
    assert find_company_duplicates(alone).pairs == ()
    with_phone = [
        _company(1, "東洋精密工業株式会社", phone="0276-45-1919"),
        _company(2, "東洋精蜜工業株式会社", phone="0276451919"),
    ]
    (pair,) = find_company_duplicates(with_phone).pairs
    assert pair.score < DedupePolicy().auto_merge
    assert any(words.startswith("社名が類似") for words in pair.evidence)


def test_a_branch_is_its_own_record() -> None:
    records = [
        _company(1, "株式会社山田製作所", corporate_number="5835678256246"),
        _company(2, "株式会社山田製作所 大阪支店", corporate_number="5835678256246"),
        _company(3, "山田製作所(株)大阪支店", phone="06-6345-3232"),
        _company(4, "株式会社山田製作所 大阪支店", phone="06-6345-3232"),
        _company(5, "株式会社山田製作所 名古屋支店", phone="052-111-2222"),
    ]
    assert _clustered(find_company_duplicates(records)) == {frozenset({2, 3, 4})}


def test_a_chain_through_a_record_without_place_does_not_join_two_cities() -> None:
    records = [
        _company(1, "株式会社中央電機", address="愛知県名古屋市中区丸の内1-1-1"),
        _company(2, "中央電機株式会社"),
        _company(3, "株式会社中央電機", address="福岡県北九州市小倉北区1-1"),
    ]
    report = find_company_duplicates(records)
    assert {(p.a, p.b) for p in report.pairs} == {(1, 2), (2, 3)}
    (cluster,) = report.clusters
    assert len(cluster.ids) == 2 and {1, 3} - set(cluster.ids)


def test_big_blocks_are_windowed_not_compared_in_full() -> None:
    records = [
        _company(i, "株式会社山田商店", address=f"東京都港区芝{i}-1-1") for i in range(1, 201)
    ]
    report = find_company_duplicates(records, DedupePolicy(block_window=10))
    assert report.stats.capped_blocks >= 1
    assert report.stats.pairs_after_blocking <= 200 * 10 * 5
    assert report.stats.all_pairs == 200 * 199 // 2


def test_policy_validates_its_thresholds() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        DedupePolicy(auto_merge=0.7, review=0.8)
    stricter = DedupePolicy(review=0.85)
    records = [_company(1, "株式会社大和物流"), _company(2, "大和物流(株)")]
    assert find_company_duplicates(records).pairs
    assert find_company_duplicates(records, stricter).pairs == ()


# --- contacts ---------------------------------------------------------------------------------


def _contact(id_: int, name: str | None, **fields: object) -> ContactRecord:
    return ContactRecord(id=id_, external_id=f"T{id_}", name=name, **fields)  # type: ignore[arg-type]


def test_contacts_with_the_same_email_case_insensitive() -> None:
    report = find_contact_duplicates(
        [
            _contact(1, "山田 太郎", email="Taro.Yamada@Example.co.jp"),
            _contact(2, "山田太郎", email="taro.yamada@example.CO.JP"),
            _contact(3, "山田花子", email="hanako@example.co.jp"),
        ]
    )
    (pair,) = report.pairs
    assert (pair.a, pair.b) == (1, 2) and pair.score >= DedupePolicy().auto_merge
    assert pair.evidence[0] == "メールアドレスが一致 (same email address)"


def test_contacts_with_the_same_name_company_and_phone() -> None:
    report = find_contact_duplicates(
        [
            _contact(1, "髙橋 一郎様", company_id=7, phone="03-1234-5678"),
            _contact(2, "高橋一郎", company_id=7, mobile="090-0000-0000", phone="0312345678"),
            _contact(3, "高橋一郎", company_id=8, phone="03-1234-5678"),  # another company
        ]
    )
    assert [(p.a, p.b) for p in report.pairs] == [(1, 2)]
    assert report.pairs[0].score >= DedupePolicy().auto_merge


def test_people_behind_one_shared_mailbox_stay_apart() -> None:
    report = find_contact_duplicates(
        [
            _contact(1, "山田太郎", email="info@example.co.jp"),
            _contact(2, None, email="INFO@example.co.jp"),
            _contact(3, "佐藤花子", email="info@example.co.jp"),
        ]
    )
    assert {(p.a, p.b) for p in report.pairs} == {(1, 2), (2, 3)}
    for cluster in report.clusters:
        assert not {1, 3} <= set(cluster.ids)


# --- clustering -------------------------------------------------------------------------------

edges = st.lists(
    st.tuples(st.integers(0, 15), st.integers(0, 15), st.floats(0.0, 1.0)), max_size=40
)


@given(edges)
def test_clusters_partition_the_records(pairs: list[tuple[int, int, float]]) -> None:
    clusters = cluster_pairs(pairs, threshold=0.5)
    members = [m for ids, _ in clusters for m in ids]
    assert len(members) == len(set(members))  # disjoint: "same cluster" is transitive
    linked = {frozenset((a, b)) for a, b, s in pairs if s >= 0.5 and a != b}
    cluster_of = {m: n for n, (ids, _) in enumerate(clusters) for m in ids}
    for pair in linked:
        a, b = tuple(pair)
        assert cluster_of[a] == cluster_of[b]  # without conflicts: connected components
    for ids, score in clusters:
        assert len(ids) >= 2 and score >= 0.5


@given(edges, st.randoms(use_true_random=False))
def test_clusters_are_symmetric_and_order_free(
    pairs: list[tuple[int, int, float]], rng: random.Random
) -> None:
    colour = {i: i % 3 for i in range(16)}

    def cannot_link(a: Sequence[int], b: Sequence[int]) -> bool:
        return any(colour[x] == 0 and colour[y] == 0 and x != y for x in a for y in b)

    expected = cluster_pairs(pairs, threshold=0.3, cannot_link=cannot_link)
    flipped = [(b, a, s) for a, b, s in pairs]
    rng.shuffle(flipped)
    assert cluster_pairs(flipped, threshold=0.3, cannot_link=cannot_link) == expected
    for ids, _ in expected:
        assert sum(colour[i] == 0 for i in ids) <= 1  # the conflict held across the chain
