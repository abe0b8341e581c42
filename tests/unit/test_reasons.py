"""Reason classification (SPEC 4.3): Japanese and English, negations, structured values."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mezame.demo.world import generate_world
from mezame.dormancy.reasons import (
    ReasonRules,
    ReasonTerms,
    ReasonVerdict,
    WeightedPattern,
    classify_reasons,
    default_terms,
)
from mezame.ingest.fields import ImportKind
from mezame.vocabulary import LostReason

P, F, T, C, U = (
    LostReason.PRICE,
    LostReason.FUNCTION,
    LostReason.TIMING,
    LostReason.COMPETITOR,
    LostReason.UNKNOWN,
)


def one(text: str | None) -> ReasonVerdict:
    return classify_reasons([text])[0]


# The phrasings the issue names, then phrasings written apart from the terms file.
PHRASINGS = [
    ("予算オーバー", P),
    ("高い", P),
    ("値上げ", P),
    ("機能不足", F),
    ("連携できない", F),
    ("時期尚早", T),
    ("来期検討", T),
    ("稟議が通らず", T),
    ("他社に決定", C),
    ("競合", C),
    ("価格面で折り合わず失注", P),
    ("ご予算と合わなかった", P),
    ("見積りが予算の倍", P),
    ("他社より2割高いと言われた", P),
    ("値上げを理由に解約", P),
    ("料金プランが高すぎる", P),
    ("費用がかかりすぎる", P),
    ("コスト削減のため解約", P),
    ("予算が確保できず断念（金額面）", P),
    ("ランニングコストが負担", P),
    ("値引き要求に応じられず", P),
    ("解約（他社の安価なサービスへ切替）", P),
    ("必要な機能が足りない", F),
    ("SSO非対応のため見送り", F),
    ("オンプレミス対応不可", F),
    ("既存の会計ソフトと連携できず", F),
    ("操作性が現場に合わない", F),
    ("使い勝手が悪いとの評価", F),
    ("カスタマイズ要件を満たせない", F),
    ("多言語対応していない", F),
    ("動作が重いとのクレーム", F),
    ("求める仕様に合わない", F),
    ("今は時期ではない", T),
    ("来年度予算で再検討", T),
    ("タイミングが合わず", T),
    ("プロジェクト凍結のため保留", T),
    ("組織変更が落ち着いてから再検討", T),
    ("半年後に再度連絡", T),
    ("4月以降に改めて検討", T),
    ("今期は見送り、来期に再提案", T),
    ("決算期で忙しく延期", T),
    ("稟議が下りず次年度へ", T),
    ("他社に流れた", C),
    ("既に他社で導入済み", C),
    ("競合他社のツールを採用", C),
    ("C社に決まった", C),
    ("コンペで負けた", C),
    ("既存ベンダーで継続", C),
    ("内製化することに", C),
    ("連絡が取れなくなった", U),
    ("先方都合により", U),
    ("その他", U),
    ("担当者退職", U),
    ("要確認", U),
]

ENGLISH = [
    ("The price was too high for them", P),
    ("They said it's too pricey", P),
    ("Budget exceeded", P),
    ("Cheaper alternative found", P),
    ("Doesn't support SSO", F),
    ("Lacks API access", F),
    ("Missing features they need", F),
    ("Not compatible with their ERP", F),
    ("Not the right time", T),
    ("Postponed to next quarter", T),
    ("On hold until the merger closes", T),
    ("Went with a competitor", C),
    ("Chose another vendor", C),
    ("They went with Salesforce", C),
    ("No reply", U),
    ("N/A", U),
]

NEGATED = [
    ("価格は問題ないが、機能不足", F),
    ("価格面では特に不満はない。来期に再検討", T),
    ("機能は十分だが予算オーバー", P),
    ("機能面に問題はなく、時期の問題", T),
    ("価格以外の理由で他社に決定", C),
    ("他社ではなく内部事情", U),
    ("価格は問題ない", U),
    ("価格については特に問題なし", U),
    ("機能面では満足", U),
    ("Price was not an issue; timing was", T),
    ("Price wasn't a problem", U),
    ("Not because of price, they chose a competitor", C),
    ("Pricing was competitive but they had no budget this year", T),
]


@pytest.mark.parametrize(("text", "reason"), PHRASINGS + ENGLISH + NEGATED)
def test_phrasings(text: str, reason: LostReason) -> None:
    verdict = one(text)
    assert verdict.reason is reason, verdict
    assert (verdict.matched != ()) is (reason is not U)


def test_a_negated_term_is_not_evidence_but_a_still_broken_thing_is() -> None:
    assert one("価格は問題ない").reason is U
    assert one("価格が問題").reason is P
    assert one("機能は十分ではない").reason is F  # 十分 followed by ではない is no praise


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("価格", P),
        ("【価格】", P),
        ("Price", P),
        ("ＰＲＩＣＥ", P),
        ("機能", F),
        ("function", F),
        ("時期", T),
        ("timing", T),
        ("競合", C),
        ("competitor", C),
        ("他社", C),
    ],
)
def test_structured_lost_reason_values_map_with_high_confidence(
    value: str, reason: LostReason
) -> None:
    verdict = one(value)
    assert verdict.reason is reason
    assert verdict.confidence >= 0.9


def test_structured_line_in_front_of_notes_outweighs_a_passing_mention() -> None:
    verdict = one("競合\n価格の話も出たが決め手はサポート体制")
    assert verdict.reason is C
    assert "競合" in verdict.matched


def test_matched_terms_explain_the_verdict() -> None:
    assert one("予算オーバーのため見送り").matched == ("予算オーバー",)
    assert one("稟議が通らず来期再申請予定").matched == ("稟議が通ら", "来期", "再申請")


def test_confidence_reflects_margin_and_strength() -> None:
    clean = one("予算オーバー、値上げ後の価格では継続困難")
    mixed = one("価格が高く、他社製品を採用")
    weak = one("費用がかかる")
    assert clean.reason is P and mixed.reason in (P, C) and weak.reason is P
    assert clean.confidence > weak.confidence
    assert clean.confidence > mixed.confidence
    tied = one("価格と機能")  # two plain words, two reasons: a coin toss
    assert tied.confidence < 0.5


def test_a_bracketed_qualifier_names_the_reason_behind_the_decision() -> None:
    assert one("他社に決定（価格面）").reason is P
    assert one("稟議が通らず（予算超過）").reason is P
    assert one("他社に決定（提案内容）").reason is C


def test_width_and_case_do_not_matter() -> None:
    assert one("ｺｽﾄが見合わない").reason is P
    assert one("ＴＯＯ ＥＸＰＥＮＳＩＶＥ").reason is P
    assert one("English words match whole: costa rica").reason is U


@pytest.mark.parametrize("blank", [None, "", "   ", "\n", "-", "不明", "諸事情により"])
def test_no_reason_is_an_honest_unknown(blank: str | None) -> None:
    verdict = one(blank)
    assert verdict == ReasonVerdict(U, 1.0, ())


def test_one_verdict_per_text_each_distinct_text_read_once() -> None:
    texts = ["予算オーバー", None, "競合", "予算オーバー"] * 50_000
    verdicts = classify_reasons(texts)
    assert len(verdicts) == len(texts)
    assert [v.reason for v in verdicts[:4]] == [P, U, C, P]
    assert verdicts[0] is verdicts[-4]  # the cached verdict, not a second reading


@given(st.text(max_size=80))
def test_any_text_gets_a_bounded_confidence(text: str) -> None:
    verdict = one(text)
    assert 0.0 <= verdict.confidence <= 1.0
    assert (verdict.reason is U) == (verdict.matched == ())


def test_demo_world_deals_are_classified_as_planted() -> None:
    world = generate_world(companies=600, seed=11, as_of=date(2026, 11, 23))
    truth = world.planted.deal_reasons
    deals = {row["external_id"]: row for row in world.rows[ImportKind.DEALS]}
    ids = sorted(truth)
    texts = [
        "\n".join(str(v) for v in (deals[i]["lost_reason"], deals[i]["notes"]) if v) for i in ids
    ]
    verdicts = classify_reasons(texts)
    hits = Counter(truth[i] for i, v in zip(ids, verdicts, strict=True) if v.reason == truth[i])
    totals = Counter(truth.values())
    assert len(ids) > 300 and set(totals) == {r.value for r in LostReason}
    for reason, total in totals.items():
        assert hits[reason] / total >= 0.95, (reason, hits[reason], total)


# --- the terms are a policy the team edits -------------------------------------------------


def test_default_policy_is_the_shipped_file_and_round_trips_as_json() -> None:
    terms = ReasonTerms()
    assert terms == default_terms()
    assert terms.reasons[P].terms["予算オーバー"] > 0
    assert ReasonTerms.model_validate(terms.model_dump(mode="json")) == terms


def test_an_edited_policy_changes_the_verdict() -> None:
    assert one("ライセンス体系が複雑").reason is U
    rules = default_terms().reasons
    price = rules[P].model_copy(update={"terms": {**rules[P].terms, "ライセンス体系": 3.0}})
    edited = ReasonTerms(reasons={**rules, P: price})
    assert classify_reasons(["ライセンス体系が複雑"], edited)[0].reason is P
    plain = ReasonTerms(negation_after=[], negation_before=[])
    assert classify_reasons(["価格は問題ない"], plain)[0].reason is P


def test_a_pattern_the_team_writes_is_checked() -> None:
    with pytest.raises(ValidationError, match="invalid regular expression"):
        WeightedPattern(pattern="(価格", weight=2)
    with pytest.raises(ValidationError, match="named groups"):
        WeightedPattern(pattern="(?P<x>価格)", weight=2)
    with pytest.raises(ValidationError):
        ReasonRules(terms={"価格": 0})
    with pytest.raises(ValidationError, match="fallback"):
        ReasonTerms(reasons={U: ReasonRules(terms={"不明": 1})})
    with pytest.raises(ValidationError, match="empty value"):
        ReasonTerms(structured={P: ["・"]})
