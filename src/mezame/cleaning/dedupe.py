"""Duplicate candidates among companies and contacts: blocking, scoring with evidence, clustering.

Pure. Records are normalised once into integer key columns; candidate pairs come only from
blocks — same valid 法人番号, same name skeleton, phone, web/email domain or street address, and
sorted neighbourhoods of the name for typos — never from all pairs. Pairs are scored with numpy
and rapidfuzz's C scorers. A one-character difference in a short Japanese name is usually another
company (三協工業 / 三共工業), so a similar name alone never reaches the review threshold (a
long one may, at the same postal code); the phone, domain, address or 法人番号 must agree. Hard
conflicts forbid a merge outright: two different valid 法人番号, the same name in another
prefecture or city with nothing else shared, or two different branches (支店) of one company.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import IntFlag
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator
from rapidfuzz.distance import Indel
from rapidfuzz.process import cpdist

from mezame.cleaning.normalize import (
    LegalForm,
    LegalFormPosition,
    check_corporate_number,
    company_name_key,
    is_free_mail_domain,
    normalize_address,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    normalize_text,
    website_domain,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class DedupePolicy(BaseModel):
    """Thresholds and block limits of duplicate detection (a business policy: edited in the UI)."""

    model_config = ConfigDict(frozen=True)
    policy_key: ClassVar[str] = "cleaning.dedupe"

    # At or above: merged without asking.
    auto_merge: float = Field(default=0.90, ge=0.0, le=1.0)
    # At or above (and below auto_merge): shown for a human to decide.
    review: float = Field(default=0.75, ge=0.0, le=1.0)
    # In an exact-key block, each record meets at most this many others.
    block_window: int = Field(default=30, ge=1)
    # Sorted-neighbourhood width for similar-name candidates.
    fuzzy_window: int = Field(default=8, ge=0)
    fuzzy_min_similarity: float = Field(default=0.75, ge=0.0, le=1.0)  # below: not similar at all
    # A long name this similar at the same postal code (a few streets) is worth a look; without
    # the postal code, long names differing in one part (藤本/坂本ライン…) are other companies.
    long_name: int = Field(default=12, ge=1)
    long_name_similarity: float = Field(default=0.92, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> DedupePolicy:
        if not self.review <= self.auto_merge:
            raise ValueError("thresholds must satisfy 0 <= review <= auto_merge <= 1")
        return self


@dataclass(frozen=True, slots=True)
class CompanyRecord:
    """A company as stored, the fields duplicate detection looks at."""

    id: int
    external_id: str | None
    name: str
    corporate_number: str | None = None
    phone: str | None = None
    website: str | None = None
    email_domains: tuple[str, ...] = ()  # its contacts' email addresses or domains
    postal_code: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A contact as stored, the fields duplicate detection looks at."""

    id: int
    external_id: str | None
    name: str | None
    company_id: int | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None


@dataclass(frozen=True, slots=True)
class CandidatePair:
    """Two records that may be one, with the score and the evidence in words."""

    a: int  # record id, a < b
    b: int
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DuplicateCluster:
    """Records linked by candidate pairs; score is the weakest link that joined them."""

    cluster_id: int
    ids: tuple[int, ...]
    external_ids: tuple[str | None, ...]
    score: float
    evidence: tuple[str, ...]
    auto: bool  # every link is at or above the auto-merge threshold


@dataclass(frozen=True, slots=True)
class DetectionStats:
    """How much work blocking saved."""

    records: int
    all_pairs: int  # n(n-1)/2: what comparing everything would cost
    pairs_after_blocking: int  # pairs actually scored
    candidates: int  # pairs at or above the review threshold
    capped_blocks: int  # exact-key blocks larger than the window (compared by neighbourhood)


@dataclass(frozen=True, slots=True)
class DuplicateReport:
    """Candidate pairs, their clusters and the blocking statistics.

    `auto_clusters` are what the automatic merge applies: records linked by pairs at or above
    the auto-merge threshold alone. A cluster with one weaker link (山田製作所 ×2 by phone, a
    third by the name only) is still merged where it is certain; the rest waits for review.
    """

    pairs: tuple[CandidatePair, ...]
    clusters: tuple[DuplicateCluster, ...]
    stats: DetectionStats
    auto_clusters: tuple[DuplicateCluster, ...] = ()


class _Evidence(IntFlag):
    CORPORATE_NUMBER = 1
    SAME_STEM = 2
    SPELLING_VARIANT = 4
    SIMILAR_NAME = 8
    POSITION_DIFFERS = 16
    FORM_DIFFERS = 32
    PHONE = 64
    DOMAIN = 128
    ADDRESS = 256
    POSTAL_CODE = 512
    CITY = 1024
    NAME_DIFFERS = 2048
    OTHER_SCRIPT = 4096


_COMPANY_EVIDENCE = {
    _Evidence.CORPORATE_NUMBER: "法人番号が一致 (same corporate number)",
    _Evidence.SAME_STEM: "法人格を除いた社名が一致 (same name apart from the legal form)",
    _Evidence.SPELLING_VARIANT: "社名の表記ゆれ (same name, spelling variant)",
    _Evidence.SIMILAR_NAME: "社名が類似 {similarity:.2f} (similar name)",
    _Evidence.POSITION_DIFFERS: "前株と後株の違い (legal form before vs after the name)",
    _Evidence.FORM_DIFFERS: "法人格が異なる (different legal form)",
    _Evidence.PHONE: "電話番号が一致 (same phone number)",
    _Evidence.DOMAIN: "ドメインが一致 (same web or email domain)",
    _Evidence.ADDRESS: "住所が一致 (same address)",
    _Evidence.POSTAL_CODE: "郵便番号が一致 (same postal code)",
    _Evidence.CITY: "所在地の市区町村が一致 (same city)",
    _Evidence.NAME_DIFFERS: "社名は異なる・社名変更の可能性 (different name, renamed?)",
    _Evidence.OTHER_SCRIPT: (
        "英語表記と日本語表記・法人格が一致 (English and Japanese name, same legal form)"
    ),
}

# Score of the name evidence before corroboration; corroboration adds the bonuses.
_NAME_SAME = 0.80
_NAME_VARIANT = 0.78  # same skeleton: ・, ー, kana size or script differ
_NAME_POSITION_DIFFERS = 0.77  # 前株 vs 後株: people mistype it, but it is another name
_NAME_FORM_DIFFERS = 0.70  # 株式会社 vs 有限会社: a conversion, or another company
_NAME_RENAMED = 0.80  # same valid 法人番号, names unalike
# "Daiwa Consulting Co., Ltd." and 株式会社大和コンサルティング cannot be compared letter by
# letter; the same legal form makes them worth a look once an address or phone agrees.
_NAME_OTHER_SCRIPT = 0.64
_CORPORATE_NUMBER = 0.97
_BONUS_PHONE = 0.15
_BONUS_DOMAIN = 0.13
_BONUS_ADDRESS = 0.12
_BONUS_POSTAL = 0.03
_BONUS_CITY = 0.02
_MAX_SCORE = 0.99


def _fuzzy_name_score(similarity: FloatArray) -> FloatArray:
    """0.60 at the similarity floor, below 0.73 even for near-identical names: never a
    candidate on its own, one agreeing phone, domain or address away from review."""
    return 0.60 + 0.5 * (similarity - 0.75)


# --- columns ----------------------------------------------------------------------------------


class _Factorizer:
    """Dense integer ids for string keys; -1 for a missing key."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __call__(self, value: str | None) -> int:
        if not value:
            return -1
        return self.ids.setdefault(value, len(self.ids))


_FORM_CODES = {form: code for code, form in enumerate(LegalForm, start=1)}
_POSITION_CODES = {
    LegalFormPosition.NONE: 0,
    LegalFormPosition.BEFORE: 1,
    LegalFormPosition.AFTER: 2,
}


@dataclass(frozen=True, slots=True)
class _CompanyColumns:
    """Match keys of every company as aligned arrays (index = position in the record list)."""

    skeleton: npt.NDArray[np.object_]
    reversed_skeleton: npt.NDArray[np.object_]
    length: IntArray
    latin: BoolArray  # the stem is written in Latin letters only (an English name)
    stem: IntArray
    skeleton_id: IntArray
    form: IntArray
    position: IntArray
    branch: IntArray
    corporate_number: IntArray
    phone: IntArray
    domain: IntArray  # shape (n, 2): up to two distinct non-free domains
    prefecture: IntArray
    city: IntArray
    address: IntArray
    postal_code: IntArray
    postal_zone: IntArray  # first three digits: the delivery area


def _company_domains(record: CompanyRecord) -> list[str]:
    found: list[str] = []
    for raw in (record.website, *record.email_domains):
        domain = website_domain(raw)
        if domain and not is_free_mail_domain(domain) and domain not in found:
            found.append(domain)
    return found[:2]


def _company_columns(records: Sequence[CompanyRecord]) -> _CompanyColumns:
    n = len(records)
    ids = {
        name: _Factorizer()
        for name in (
            [
                "stem",
                "skel",
                "branch",
                "corp",
                "phone",
                "domain",
                "pref",
                "city",
                "addr",
                "zip",
                "zone",
            ]
        )
    }
    skeletons: list[str] = [""] * n
    columns = np.full((n, 14), -1, dtype=np.int64)
    for row, record in enumerate(records):
        name = company_name_key(record.name)
        skeletons[row] = name.skeleton
        phone = normalize_phone(record.phone)
        address = normalize_address(record.address)
        postal = normalize_postal_code(record.postal_code)
        domains = _company_domains(record)
        columns[row] = (
            ids["stem"](name.stem),
            ids["skel"](name.skeleton),
            _FORM_CODES[name.legal_form] if name.legal_form else 0,
            _POSITION_CODES[name.position],
            ids["branch"](name.branch),
            ids["corp"](check_corporate_number(record.corporate_number).valid_number),
            ids["phone"](phone.e164 if phone else None),
            ids["domain"](domains[0] if domains else None),
            ids["domain"](domains[1] if len(domains) > 1 else None),
            ids["pref"](address.prefecture if address else None),
            ids["city"](address.city if address else None),
            ids["addr"](address.key if address else None),
            ids["zip"](postal),
            ids["zone"](postal[:3] if postal else None),
        )
    skeleton = np.array(skeletons, dtype=object)
    return _CompanyColumns(
        skeleton=skeleton,
        reversed_skeleton=np.array([s[::-1] for s in skeletons], dtype=object),
        length=np.fromiter((len(s) for s in skeletons), dtype=np.int64, count=n),
        latin=np.fromiter((s.isascii() for s in skeletons), dtype=bool, count=n),
        stem=columns[:, 0],
        skeleton_id=columns[:, 1],
        form=columns[:, 2],
        position=columns[:, 3],
        branch=columns[:, 4],
        corporate_number=columns[:, 5],
        phone=columns[:, 6],
        domain=columns[:, 7:9],
        prefecture=columns[:, 9],
        city=columns[:, 10],
        address=columns[:, 11],
        postal_code=columns[:, 12],
        postal_zone=columns[:, 13],
    )


# --- blocking ---------------------------------------------------------------------------------


def _block_pairs(
    members: IntArray, keys: IntArray, order: IntArray, window: int
) -> tuple[IntArray, IntArray, int]:
    """Pairs of members sharing a key: all of them in small blocks, a sliding window in big ones.

    Sorted by (key, order, member), pairing each member with the next `window` members of its
    block gives every pair of a block of up to window+1 records and a sorted neighbourhood
    (by `order`, e.g. the city) inside larger ones.
    """
    keep = keys >= 0
    members, keys, order = members[keep], keys[keep], order[keep]
    sort = np.lexsort((members, order, keys))
    members, keys = members[sort], keys[sort]
    lefts: list[IntArray] = []
    rights: list[IntArray] = []
    for distance in range(1, window + 1):
        same = keys[:-distance] == keys[distance:]
        if not same.any():
            break  # blocks are contiguous: none is longer than this
        lefts.append(members[:-distance][same])
        rights.append(members[distance:][same])
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.array([], int)
    sizes = np.diff(np.r_[starts, len(keys)])
    capped = int((sizes > window + 1).sum())
    return _concat(lefts), _concat(rights), capped


def _neighbour_pairs(
    strings: npt.NDArray[np.object_], usable: BoolArray, window: int, cutoff: float
) -> tuple[IntArray, IntArray]:
    """Sorted-neighbourhood pairs whose strings are at least `cutoff` similar (rapidfuzz, in C)."""
    members = np.flatnonzero(usable)
    if len(members) < 2 or window < 1:
        return np.array([], np.int64), np.array([], np.int64)
    order = members[np.argsort(strings[members], kind="stable")]
    lefts: list[IntArray] = []
    rights: list[IntArray] = []
    for distance in range(1, min(window, len(order) - 1) + 1):
        left, right = order[:-distance], order[distance:]
        similarity = cpdist(
            strings[left],
            strings[right],
            scorer=Indel.normalized_similarity,
            score_cutoff=cutoff,
            workers=-1,
        )
        close = similarity >= cutoff
        lefts.append(left[close])
        rights.append(right[close])
    return _concat(lefts), _concat(rights)


def _concat(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts).astype(np.int64) if parts else np.array([], np.int64)


def _unique_pairs(
    lefts: list[IntArray], rights: list[IntArray], n: int
) -> tuple[IntArray, IntArray]:
    left, right = _concat(lefts), _concat(rights)
    low, high = np.minimum(left, right), np.maximum(left, right)
    codes = np.unique(low[low != high] * n + high[low != high])
    return codes // n, codes % n


def _company_candidate_pairs(
    columns: _CompanyColumns, policy: DedupePolicy
) -> tuple[IntArray, IntArray, int]:
    n = len(columns.length)
    everyone = np.arange(n, dtype=np.int64)
    lefts: list[IntArray] = []
    rights: list[IntArray] = []
    capped = 0
    # Inside a big block, neighbours are records of the same name, or (by name) of the same city.
    both_domains = np.r_[everyone, everyone]
    blocks = (
        (everyone, columns.corporate_number, columns.skeleton_id),
        (everyone, columns.skeleton_id, columns.city),
        (everyone, columns.phone, columns.skeleton_id),
        (both_domains, columns.domain.T.ravel(), columns.skeleton_id[both_domains]),
        (everyone, columns.address, columns.skeleton_id),
    )
    for members, keys, order in blocks:
        left, right, block_capped = _block_pairs(members, keys, order, policy.block_window)
        lefts.append(left)
        rights.append(right)
        capped += block_capped
    usable = columns.length >= 2
    for strings in (columns.skeleton, columns.reversed_skeleton):
        left, right = _neighbour_pairs(
            strings, usable, policy.fuzzy_window, policy.fuzzy_min_similarity
        )
        lefts.append(left)
        rights.append(right)
    first, second = _unique_pairs(lefts, rights, n)
    return first, second, capped


# --- scoring ----------------------------------------------------------------------------------


def _both(column: IntArray, i: IntArray, j: IntArray) -> tuple[BoolArray, BoolArray]:
    """(both known and equal, both known and different)."""
    a, b = column[i], column[j]
    known = (a >= 0) & (b >= 0)
    return known & (a == b), known & (a != b)


def _company_conflicts(
    c: _CompanyColumns, i: IntArray, j: IntArray
) -> tuple[BoolArray, BoolArray, BoolArray]:
    """(hard conflict, shared phone/domain/法人番号, same address) of each pair."""
    corp_same, corp_conflict = _both(c.corporate_number, i, j)
    phone_same, _ = _both(c.phone, i, j)
    address_same, _ = _both(c.address, i, j)
    domain_same = np.zeros(len(i), dtype=bool)
    for a in range(2):
        for b in range(2):
            domain_same |= (c.domain[i, a] >= 0) & (c.domain[i, a] == c.domain[j, b])
    shared = phone_same | domain_same | corp_same
    # Another prefecture or city (or, without addresses, another postal area) is another
    # company of the same name, unless a phone, domain or 法人番号 says it moved.
    _, prefecture_differs = _both(c.prefecture, i, j)
    city_known = (c.city[i] >= 0) & (c.city[j] >= 0)
    _, city_differs = _both(c.city, i, j)
    _, zone_differs = _both(c.postal_zone, i, j)
    elsewhere = prefecture_differs | city_differs | (~city_known & zone_differs)
    # A branch is its own record: two branches never merge, nor a branch with the company
    # unless the phone or the street address shows it is the same office.
    branch_i, branch_j = c.branch[i], c.branch[j]
    branch_conflict = (branch_i != branch_j) & (
        ((branch_i >= 0) & (branch_j >= 0)) | ~(phone_same | address_same)
    )
    hard = corp_conflict | branch_conflict | (elsewhere & ~shared)
    return hard, np.stack([phone_same, domain_same, corp_same]), address_same


def _score_company_pairs(
    c: _CompanyColumns, i: IntArray, j: IntArray, policy: DedupePolicy
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Score, evidence flags and name similarity of each pair (0 for a hard conflict)."""
    similarity = np.asarray(
        cpdist(c.skeleton[i], c.skeleton[j], scorer=Indel.normalized_similarity, workers=-1),
        dtype=np.float64,
    )
    hard, (phone, domain, corp), address = _company_conflicts(c, i, j)
    stem_same, _ = _both(c.stem, i, j)
    skeleton_same, _ = _both(c.skeleton_id, i, j)
    stem_same &= c.length[i] > 0
    skeleton_same &= c.length[i] > 0
    form_both = (c.form[i] > 0) & (c.form[j] > 0)
    form_differs = form_both & (c.form[i] != c.form[j])
    position_differs = form_both & ~form_differs & (c.position[i] != c.position[j])
    postal, _ = _both(c.postal_code, i, j)
    city, _ = _both(c.city, i, j)
    _, prefecture_differs = _both(c.prefecture, i, j)
    city &= ~prefecture_differs
    shortest = np.minimum(c.length[i], c.length[j])
    similar = ~skeleton_same & (similarity >= policy.fuzzy_min_similarity) & (shortest > 0)

    name = np.zeros(len(i))
    name = np.where(similar, _fuzzy_name_score(similarity), name)
    long_and_close = (
        similar
        & postal
        & (shortest >= policy.long_name)
        & (similarity >= policy.long_name_similarity)
    )
    name = np.where(long_and_close, policy.review, name)
    name = np.where(skeleton_same & ~stem_same, _NAME_VARIANT, name)
    name = np.where(stem_same, _NAME_SAME, name)
    name = np.where(skeleton_same & position_differs, _NAME_POSITION_DIFFERS, name)
    name = np.where(skeleton_same & form_differs, _NAME_FORM_DIFFERS, name)
    other_script = (
        (c.latin[i] != c.latin[j]) & (shortest > 0) & form_both & ~form_differs & (name == 0)
    )
    name = np.where(other_script & (phone | address), _NAME_OTHER_SCRIPT, name)

    bonus = (
        _BONUS_PHONE * phone
        + _BONUS_DOMAIN * domain
        + _BONUS_ADDRESS * address
        + _BONUS_POSTAL * (postal & ~address)
        + _BONUS_CITY * (city & ~address)
    )
    score = np.where(name > 0, name + bonus, 0.0)
    score = np.where(corp & (name > 0), np.maximum(score, _CORPORATE_NUMBER), score)
    score = np.where(corp & (name == 0), _NAME_RENAMED, score)
    score = np.round(np.where(hard, 0.0, np.minimum(score, _MAX_SCORE)), 4).astype(np.float64)

    flags = (
        _Evidence.CORPORATE_NUMBER * corp
        + _Evidence.SAME_STEM * stem_same
        + _Evidence.SPELLING_VARIANT * (skeleton_same & ~stem_same)
        + _Evidence.SIMILAR_NAME * similar
        + _Evidence.POSITION_DIFFERS * (skeleton_same & position_differs)
        + _Evidence.FORM_DIFFERS * (skeleton_same & form_differs)
        + _Evidence.PHONE * phone
        + _Evidence.DOMAIN * domain
        + _Evidence.ADDRESS * address
        + _Evidence.POSTAL_CODE * (postal & ~address)
        + _Evidence.CITY * (city & ~address)
        + _Evidence.NAME_DIFFERS * (corp & (name == 0))
        + _Evidence.OTHER_SCRIPT * (other_script & (phone | address))
    ).astype(np.int64)
    return score, flags, similarity


def _evidence_words(flags: int, similarity: float) -> tuple[str, ...]:
    return tuple(
        text.format(similarity=similarity)
        for flag, text in _COMPANY_EVIDENCE.items()
        if flags & flag
    )


# --- clustering -------------------------------------------------------------------------------


def cluster_pairs(
    pairs: Iterable[tuple[int, int, float]],
    *,
    threshold: float,
    cannot_link: Callable[[Sequence[int], Sequence[int]], bool] | None = None,
) -> list[tuple[tuple[int, ...], float]]:
    """Union-find clusters of the pairs scoring at least threshold, strongest pairs first.

    Returns (sorted member ids, weakest joining score) per cluster of two or more, sorted by
    first member. cannot_link(members_a, members_b) may refuse to join two clusters (a hard
    conflict between any of their members); the result does not depend on the order of the
    pairs nor on which end of a pair comes first.
    """
    edges = sorted(
        {(min(a, b), max(a, b), s) for a, b, s in pairs if a != b and s >= threshold},
        key=lambda edge: (-edge[2], edge[0], edge[1]),
    )
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    weakest: dict[int, float] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, score in edges:
        root_a, root_b = root(a), root(b)
        if root_a == root_b:
            continue
        group_a, group_b = members.get(root_a, [root_a]), members.get(root_b, [root_b])
        if cannot_link is not None and cannot_link(group_a, group_b):
            continue
        if len(group_a) < len(group_b) or (len(group_a) == len(group_b) and root_b < root_a):
            root_a, root_b, group_a, group_b = root_b, root_a, group_b, group_a
        parent[root_b] = root_a
        members[root_a] = group_a + group_b
        members.pop(root_b, None)
        weakest[root_a] = min(score, weakest.get(root_a, score), weakest.pop(root_b, score))
    clusters = [(tuple(sorted(group)), weakest[r]) for r, group in members.items()]
    return sorted(clusters)


def _build_report(
    ids: Sequence[int],
    external_ids: Sequence[str | None],
    pairs: list[tuple[int, int, float, tuple[str, ...]]],
    cannot_link: Callable[[Sequence[int], Sequence[int]], bool],
    policy: DedupePolicy,
    stats: DetectionStats,
    apart: Collection[tuple[int, int]],
) -> DuplicateReport:
    """Pairs (by row index) → report in record ids, with clusters.

    `apart` holds record-id pairs a person said are not duplicates: such a pair is dropped and
    its two records are never joined, not even through a third record.
    """
    row_of = {record_id: row for row, record_id in enumerate(ids)}
    apart_rows = {
        (min(row_of[a], row_of[b]), max(row_of[a], row_of[b]))
        for a, b in apart
        if a in row_of and b in row_of
    }
    if apart_rows:
        pairs = [p for p in pairs if (min(p[0], p[1]), max(p[0], p[1])) not in apart_rows]
        detected_conflict = cannot_link

        def cannot_link(group_a: Sequence[int], group_b: Sequence[int]) -> bool:
            told_apart = any((min(x, y), max(x, y)) in apart_rows for x in group_a for y in group_b)
            return told_apart or detected_conflict(group_a, group_b)

    def clusters_at(threshold: float) -> tuple[DuplicateCluster, ...]:
        found = cluster_pairs(
            ((a, b, s) for a, b, s, _ in pairs), threshold=threshold, cannot_link=cannot_link
        )
        found.sort(key=lambda cluster: ids[cluster[0][0]])
        cluster_of = {row: number for number, (rows, _) in enumerate(found) for row in rows}
        words: list[list[str]] = [[] for _ in found]
        for a, b, score, pair_words in pairs:
            number = cluster_of.get(a)
            if score >= threshold and number is not None and number == cluster_of.get(b):
                words[number].extend(w for w in pair_words if w not in words[number])
        return tuple(
            DuplicateCluster(
                cluster_id=number + 1,
                ids=tuple(ids[r] for r in rows),
                external_ids=tuple(external_ids[r] for r in rows),
                score=round(score, 4),
                evidence=tuple(words[number]),
                auto=score >= policy.auto_merge,
            )
            for number, (rows, score) in enumerate(found)
        )

    candidates = tuple(
        CandidatePair(min(ids[a], ids[b]), max(ids[a], ids[b]), round(s, 4), words)
        for a, b, s, words in sorted(pairs, key=lambda p: (-p[2], ids[p[0]], ids[p[1]]))
    )
    return DuplicateReport(
        pairs=candidates,
        clusters=clusters_at(policy.review),
        stats=stats,
        auto_clusters=clusters_at(policy.auto_merge),
    )


# --- companies --------------------------------------------------------------------------------


def find_company_duplicates(
    records: Sequence[CompanyRecord],
    policy: DedupePolicy | None = None,
    *,
    apart: Collection[tuple[int, int]] = (),
) -> DuplicateReport:
    """Candidate duplicate companies at or above the review threshold, paired and clustered;
    record-id pairs in `apart` (decided by a person: not duplicates) are never linked."""
    policy = policy or DedupePolicy()
    n = len(records)
    columns = _company_columns(records)
    i, j, capped = _company_candidate_pairs(columns, policy)
    score, flags, similarity = _score_company_pairs(columns, i, j, policy)
    keep = np.flatnonzero(score >= policy.review)
    pairs = [
        (
            int(i[k]),
            int(j[k]),
            float(score[k]),
            _evidence_words(int(flags[k]), float(similarity[k])),
        )
        for k in keep
    ]

    def cannot_link(group_a: Sequence[int], group_b: Sequence[int]) -> bool:
        left = np.repeat(np.asarray(group_a, dtype=np.int64), len(group_b))
        right = np.tile(np.asarray(group_b, dtype=np.int64), len(group_a))
        return bool(_company_conflicts(columns, left, right)[0].any())

    stats = DetectionStats(
        records=n,
        all_pairs=n * (n - 1) // 2,
        pairs_after_blocking=len(i),
        candidates=len(pairs),
        capped_blocks=capped,
    )
    return _build_report(
        [r.id for r in records],
        [r.external_id for r in records],
        pairs,
        cannot_link,
        policy,
        stats,
        apart,
    )


# --- contacts ---------------------------------------------------------------------------------

_HONORIFICS = ("様", "さま", "さん", "殿", "御中")
_SAME_EMAIL = 0.97
_SAME_MAILBOX = 0.92  # a shared mailbox (info@) with the same or no name
_SAME_EMAIL_OTHER_NAME = 0.80
_NAME_COMPANY_PHONE = 0.95
_NAME_COMPANY = 0.80
_NAME_COMPANY_OTHER_PHONE = 0.76
_SIMILAR_PERSON = 0.8


def person_name_key(name: str | None) -> str | None:
    """A person's name folded for matching: NFKC, 髙→高, no spaces or honorific (様)."""
    if not name:
        return None
    key = normalize_text(name).replace(" ", "")
    for honorific in _HONORIFICS:
        key = key.removesuffix(honorific)
    return key or None


def find_contact_duplicates(
    records: Sequence[ContactRecord],
    policy: DedupePolicy | None = None,
    *,
    apart: Collection[tuple[int, int]] = (),
) -> DuplicateReport:
    """Contacts with the same email (case-insensitive), or the same name, company and phone;
    record-id pairs in `apart` are never linked."""
    policy = policy or DedupePolicy()
    n = len(records)
    names = [person_name_key(r.name) for r in records]
    emails = [normalize_email(r.email) for r in records]
    phones: list[set[str]] = []
    for record in records:
        numbers = (normalize_phone(record.phone), normalize_phone(record.mobile))
        phones.append({p.e164 for p in numbers if p})

    blocks: dict[tuple[str, object], list[int]] = {}
    for row, record in enumerate(records):
        if email := emails[row]:
            blocks.setdefault(("email", email.address), []).append(row)
        if names[row] and record.company_id is not None:
            blocks.setdefault(("name", (names[row], record.company_id)), []).append(row)
    candidates: set[tuple[int, int]] = set()
    for rows in blocks.values():
        for offset, a in enumerate(rows):
            for b in rows[offset + 1 : offset + 1 + policy.block_window]:
                candidates.add((a, b))

    def names_differ(a: int, b: int) -> bool:
        name_a, name_b = names[a], names[b]
        if not name_a or not name_b or name_a == name_b:
            return False
        return bool(Indel.normalized_similarity(name_a, name_b) < _SIMILAR_PERSON)

    def score(a: int, b: int) -> tuple[float, tuple[str, ...]]:
        email_a, email_b = emails[a], emails[b]
        same_email = (
            email_a is not None and email_b is not None and email_a.address == email_b.address
        )
        same_name = names[a] is not None and names[a] == names[b]
        same_company = (
            records[a].company_id is not None and records[a].company_id == records[b].company_id
        )
        same_phone = bool(phones[a] & phones[b])
        other_phone = bool(phones[a]) and bool(phones[b]) and not same_phone
        words: list[str] = []
        result = 0.0
        if same_email and email_a is not None:
            if email_a.role:
                if names_differ(a, b):
                    return 0.0, ()
                result = _SAME_MAILBOX
                words.append("代表メールアドレスが一致 (same shared mailbox)")
            else:
                result = _SAME_EMAIL_OTHER_NAME if names_differ(a, b) else _SAME_EMAIL
                words.append("メールアドレスが一致 (same email address)")
                if names_differ(a, b):
                    words.append("氏名が異なる (different names)")
        if same_name and same_company:
            if same_phone:
                value = _NAME_COMPANY_PHONE
            elif other_phone:
                value = _NAME_COMPANY_OTHER_PHONE
            else:
                value = _NAME_COMPANY
            result = max(result, value)
            words += ["氏名が一致 (same name)", "会社が一致 (same company)"]
        if same_phone and result:
            words.append("電話番号が一致 (same phone number)")
        return result, tuple(words)

    pairs: list[tuple[int, int, float, tuple[str, ...]]] = []
    for a, b in sorted(candidates):
        value, words = score(a, b)
        if value >= policy.review:
            pairs.append((a, b, value, words))

    def cannot_link(group_a: Sequence[int], group_b: Sequence[int]) -> bool:
        # Two people behind one shared mailbox must not be chained together through it.
        for a in group_a:
            for b in group_b:
                email_a, email_b = emails[a], emails[b]
                personal_same = (
                    email_a is not None
                    and email_b is not None
                    and not email_a.role
                    and email_a.address == email_b.address
                )
                if names_differ(a, b) and not personal_same:
                    return True
        return False

    stats = DetectionStats(
        records=n,
        all_pairs=n * (n - 1) // 2,
        pairs_after_blocking=len(candidates),
        candidates=len(pairs),
        capped_blocks=sum(1 for rows in blocks.values() if len(rows) > policy.block_window + 1),
    )
    return _build_report(
        [r.id for r in records],
        [r.external_id for r in records],
        pairs,
        cannot_link,
        policy,
        stats,
        apart,
    )
