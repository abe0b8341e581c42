"""Priority: additive, explained, and monotone where the seeds say it must be."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezame.dormancy import approach
from mezame.dormancy.changes import (
    CHANGE_KINDS,
    INFERRED_PRICE_CONFIDENCE,
    REASONS,
    Change,
    ChangeKind,
    ChangesPolicy,
    epoch_day,
    match_changes,
    price_rise_confidence,
)
from mezame.dormancy.priority import (
    BANDS,
    FACTORS,
    PriorityInputs,
    PriorityPolicy,
    RecordFacts,
    explain,
    score,
)
from mezame.dormancy.rules import KINDS, DormancyKind
from mezame.vocabulary import LostReason

FORMER = KINDS.index(DormancyKind.FORMER_CUSTOMER)
LOST = KINDS.index(DormancyKind.LOST_DEAL)
CONTACT = KINDS.index(DormancyKind.CONTACT_ONLY)
PRICE = REASONS.index(LostReason.PRICE)


def inputs(n: int, **overrides: object) -> PriorityInputs:
    base: dict[str, object] = {
        "kind": np.full(n, FORMER, dtype=np.int8),
        "asleep_days": np.full(n, 400),
        "threshold_days": np.full(n, 365),
        "bound_days": np.full(n, 1826),
        "order_count": np.full(n, 5),
        "spend": np.full(n, 1_000_000.0),
        "contract_months": np.zeros(n),
        "p_alive": np.full(n, np.nan),
        "expected_value": np.full(n, np.nan),
        "reason": np.full(n, REASONS.index(LostReason.UNKNOWN), dtype=np.int8),
        "reason_confidence": np.zeros(n),
        "change_answers_reason": np.zeros(n, dtype=bool),
        "has_change": np.zeros(n, dtype=bool),
        "interest": np.zeros(n),
        "reachable": np.ones(n, dtype=bool),
    }
    base.update(overrides)
    return PriorityInputs(**base)  # type: ignore[arg-type]


def test_score_is_the_sum_of_its_contributions_and_bands_follow_the_policy() -> None:
    policy = PriorityPolicy()
    result = score(
        inputs(
            3,
            kind=np.array([FORMER, LOST, CONTACT], dtype=np.int8),
            reachable=np.array([True, True, False]),
        ),
        policy,
    )
    assert result.contributions.shape == (3, len(FACTORS))
    assert np.allclose(result.contributions.sum(axis=1), result.score, atol=0.02)
    kind_points = result.contributions[:, FACTORS.index("kind")]
    assert kind_points.tolist() == [policy.former_customer, policy.lost_deal, policy.contact_only]
    assert result.contributions[2, FACTORS.index("reach")] == -policy.unreachable
    expected = [0 if s >= 40 else 1 if s >= 20 else 2 for s in result.score]
    assert result.band.tolist() == expected
    assert BANDS[result.band[2]] == "low"


def test_a_price_cut_answers_price_in_full_times_the_confidence() -> None:
    result = score(
        inputs(
            3,
            reason=np.full(3, PRICE, dtype=np.int8),
            reason_confidence=np.array([1.0, 0.5, 1.0]),
            change_answers_reason=np.array([True, True, False]),
            has_change=np.array([True, True, True]),
        ),
        PriorityPolicy(),
    )
    change = result.contributions[:, FACTORS.index("change")]
    assert change.tolist() == [30.0, 15.0, 5.0]
    low = score(
        inputs(
            1,
            reason=np.full(1, PRICE, dtype=np.int8),
            reason_confidence=np.array([0.1]),
            change_answers_reason=np.array([True]),
        ),
        PriorityPolicy(),
    )
    assert low.contributions[0, FACTORS.index("change")] == 5.0  # never below any change


def test_time_asleep_costs_nothing_at_the_threshold_and_everything_at_the_bound() -> None:
    result = score(inputs(3, asleep_days=np.array([365, 1095, 1826])), PriorityPolicy())
    asleep = result.contributions[:, FACTORS.index("asleep")]
    assert asleep[0] == 0 and asleep[2] == -20.0
    assert asleep[1] == pytest.approx(-20.0 * 730 / 1461, abs=0.01)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),  # kind
            st.integers(0, 4),  # reason
            st.floats(0, 1),  # confidence
            st.integers(365, 1800),  # asleep
            st.integers(0, 50),  # orders
            st.floats(0, 1e8),  # spend
            st.booleans(),  # has some change already
        ),
        min_size=2,
        max_size=30,
    ),
    st.data(),
)
def test_adding_a_price_cut_never_lowers_a_price_churned_customer(rows, data) -> None:  # type: ignore[no-untyped-def]
    n = len(rows)
    kind, reason, confidence, asleep, orders, spend, changed = (
        np.array(c) for c in zip(*rows, strict=True)
    )
    who = data.draw(st.integers(0, n - 1))
    reason[who], kind[who] = PRICE, FORMER
    common = {
        "kind": kind.astype(np.int8),
        "asleep_days": asleep.astype(np.int64),
        "order_count": orders.astype(np.int64),
        "spend": spend.astype(np.float64),
        "reason": reason.astype(np.int8),
        "reason_confidence": confidence.astype(np.float64),
    }
    before = score(inputs(n, **common, has_change=changed.astype(bool)), PriorityPolicy())
    answers = np.zeros(n, dtype=bool)
    answers[who] = True
    has = changed.astype(bool)
    has[who] = True
    after = score(
        inputs(n, **common, has_change=has, change_answers_reason=answers), PriorityPolicy()
    )
    assert after.score[who] >= before.score[who]
    # … nor its rank: every other record scores exactly as before.
    others = np.arange(n) != who
    assert np.array_equal(after.score[others], before.score[others])
    assert (after.score > after.score[who]).sum() <= (before.score > before.score[who]).sum()


@settings(max_examples=40, deadline=None)
@given(st.integers(365, 1800), st.integers(1, 400))
def test_longer_asleep_never_scores_higher(asleep: int, more: int) -> None:
    result = score(inputs(2, asleep_days=np.array([asleep, asleep + more])), PriorityPolicy())
    assert result.score[1] <= result.score[0]


def _facts(**overrides: object) -> RecordFacts:
    base: dict[str, object] = {
        "kind": DormancyKind.FORMER_CUSTOMER,
        "asleep_days": 426,
        "order_count": 12,
        "spend": 2_043_900,
        "contract_months": 36,
        "p_alive": 0.12,
        "expected_value": 79_633.0,
        "reason": LostReason.PRICE,
        "reason_inferred": False,
        "change_kind": ChangeKind.PRICE_CUT,
        "change_on": date(2026, 9, 1),
        "change_description": "年間プランを10%値下げしました",
        "change_answers_reason": True,
        "interest": 0.0,
    }
    base.update(overrides)
    return RecordFacts(**base)  # type: ignore[arg-type]


def test_explanations_name_the_top_factors_with_their_sign_in_both_languages() -> None:
    points = dict.fromkeys(FACTORS, 0.0) | {
        "change": 27.8,
        "kind": 10.0,
        "asleep": -12.5,
        "spend": 9.2,
        "p_alive": -1.0,
        "frequency": 0.01,
    }
    ja = explain(points, _facts(), "ja")
    en = explain(points, _facts(), "en")
    assert [e.factor for e in ja] == ["change", "asleep", "kind", "spend"]
    assert [e.points for e in ja] == [27.8, -12.5, 10.0, 9.2]
    assert ja[0].text == "価格が理由で離脱 × 値下げ・キャンペーン（2026年9月1日）"
    assert en[0].text == "left over price × price cut (Sep 1, 2026)"
    assert ja[1].text == "休眠 13 か月" and en[1].text == "asleep 13 months"
    assert ja[3].text == "累計取引額 2,043,900円" and en[3].text == "¥2,043,900 spent before"
    inferred = explain(points, _facts(reason_inferred=True), "ja")[0].text
    assert inferred.startswith("値上げ後に休眠（価格が理由と推定）")


def _changes() -> ChangesPolicy:
    return ChangesPolicy(
        changes=(
            Change(on=date(2025, 9, 1), kind=ChangeKind.PRICE_RISE, description="値上げ"),
            Change(on=date(2026, 3, 1), kind=ChangeKind.NEW_FEATURE, description="API"),
            Change(on=date(2026, 9, 1), kind=ChangeKind.PRICE_CUT, description="値下げ"),
            Change(
                on=date(2026, 10, 1),
                kind=ChangeKind.CASE_STUDY,
                description="事例",
                product_line="消耗品",
            ),
            Change(on=date(2027, 1, 1), kind=ChangeKind.NEW_SEASON, description="未来"),
        )
    )


def test_changes_since_falling_asleep_answering_the_reason_first() -> None:
    as_of = epoch_day(date(2026, 11, 23))
    fell = np.array(
        [
            epoch_day(date(y, m, 1))
            for y, m in [(2025, 10), (2025, 10), (2026, 9), (2026, 10), (2025, 10)]
        ]
    )
    reason = np.array(
        [
            REASONS.index(r)
            for r in (
                LostReason.PRICE,
                LostReason.FUNCTION,
                LostReason.PRICE,
                LostReason.TIMING,
                LostReason.COMPETITOR,
            )
        ],
        dtype=np.int8,
    )
    lines = np.array(["機器", "機器", "機器", "機器", "消耗品"], dtype=object)
    match = match_changes(_changes(), fell_asleep=fell, reason=reason, lines=lines, as_of=as_of)
    # price → the price cut; function → the feature although the cut is newer; a cut on the
    # day they fell asleep is not "since"; nothing after; the case study only for its line.
    assert match.change.tolist() == [2, 1, -1, -1, 3]
    assert match.answers_reason.tolist() == [True, True, False, False, True]


def test_a_price_rise_explains_silence_near_it_less_and_less() -> None:
    rise = epoch_day(date(2025, 9, 1))
    offsets = [-31, -25, -10, 0, 30, 180, 364, 366]
    confidence = price_rise_confidence(_changes(), np.array([rise + o for o in offsets]))
    by_offset = dict(zip(offsets, confidence.tolist(), strict=True))
    assert by_offset[0] == INFERRED_PRICE_CONFIDENCE
    assert by_offset[-31] == 0 and by_offset[366] == 0
    assert 0 < by_offset[-25] < by_offset[-10] < by_offset[0]
    assert by_offset[0] > by_offset[30] > by_offset[180] > by_offset[364] > 0


def test_change_descriptions_must_say_something() -> None:
    with pytest.raises(ValueError):
        Change(on=date(2026, 1, 1), kind=ChangeKind.PRICE_CUT, description="   ")


def test_approach_channel_and_angle() -> None:
    price_cut = CHANGE_KINDS.index(ChangeKind.PRICE_CUT)
    result = approach.choose(
        kind=np.array([FORMER, FORMER, LOST, CONTACT, CONTACT, FORMER], dtype=np.int8),
        top_band=np.array([True, False, False, True, False, False]),
        interest=np.array([0, 0, 0, 0, 80, 0], dtype=np.float64),
        mailable=np.array([True, True, False, True, False, False]),
        has_phone=np.array([True, True, True, True, True, False]),
        has_address=np.array([True, True, True, False, False, False]),
        change_kind=np.array([price_cut, price_cut, -1, -1, -1, -1], dtype=np.int8),
        change_answers_reason=np.array([True, False, False, False, False, False]),
    )
    assert [approach.CHANNELS[c] for c in result.channel] == [
        "phone",
        "mail",
        "dm",
        "mail",
        "phone",
        "none",
    ]
    assert [approach.ANGLES[a] for a in result.angle] == [
        "price_offer",
        "whats_new",
        "ask_again",
        "reminder",
        "reminder",
        "catch_up",
    ]
    assert approach.angle_text("price_offer", "年間プラン10%値下げ", "ja").endswith(
        "：年間プラン10%値下げ"
    )
