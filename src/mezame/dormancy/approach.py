"""How to approach each dormant record: the channel and the message angle (SPEC 4.1, 5.2).

Channel: a phone call for the best former customers and lost deals (an existing relationship
makes the call easy, the seeds say) and for anyone showing interest now; otherwise mail when
the contact can be mailed, direct mail (DM) to a postal address, the phone as a last resort.

Angle: the re-proposal states exactly one change since last time and picks it by the reason
they left — price → the lower price, function → the new feature, timing → the new season,
competitor → a peer's case study. Without a fitting change, former customers get a catch-up
(近況伺い), lost deals a question about what changed on their side, contacts a reminder
with something useful (業界ニュース・ワンポイント知識).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mezame.dormancy.changes import CHANGE_KINDS, ChangeKind
from mezame.dormancy.rules import KINDS, DormancyKind

BoolArray = NDArray[np.bool_]

CHANNELS = ("phone", "mail", "dm", "none")
ANGLES = (
    "price_offer",
    "new_feature",
    "new_timing",
    "case_study",
    "whats_new",
    "catch_up",
    "ask_again",
    "reminder",
)
HOT_INTEREST = 60.0  # lead score from which a call beats a mail

# A change that answers the reason gives the angle named after it.
_ANSWER_ANGLE = {
    ChangeKind.PRICE_CUT: "price_offer",
    ChangeKind.NEW_FEATURE: "new_feature",
    ChangeKind.NEW_SEASON: "new_timing",
    ChangeKind.CASE_STUDY: "case_study",
}


@dataclass(frozen=True, slots=True)
class Approach:
    channel: NDArray[np.int8]  # index into CHANNELS
    angle: NDArray[np.int8]  # index into ANGLES


def choose(
    *,
    kind: NDArray[np.int8],
    top_band: BoolArray,
    interest: NDArray[np.float64],
    mailable: BoolArray,
    has_phone: BoolArray,
    has_address: BoolArray,
    change_kind: NDArray[np.int8],  # index into CHANGE_KINDS, -1 for none
    change_answers_reason: BoolArray,
) -> Approach:
    """Channel and angle per record, vectorised."""
    contact_only = kind == KINDS.index(DormancyKind.CONTACT_ONLY)
    call = has_phone & ((top_band & ~contact_only) | (interest >= HOT_INTEREST))
    channel = np.select(
        [call, mailable, has_address, has_phone],
        [CHANNELS.index(c) for c in ("phone", "mail", "dm", "phone")],
        default=CHANNELS.index("none"),
    )
    answer_angle = np.full(kind.size, -1)
    for change, name in _ANSWER_ANGLE.items():
        answer_angle = np.where(
            change_answers_reason & (change_kind == CHANGE_KINDS.index(change)),
            ANGLES.index(name),
            answer_angle,
        )
    fallback = np.select(
        [change_kind >= 0, kind == KINDS.index(DormancyKind.FORMER_CUSTOMER), contact_only],
        [ANGLES.index("whats_new"), ANGLES.index("catch_up"), ANGLES.index("reminder")],
        default=ANGLES.index("ask_again"),
    )
    angle = np.where(answer_angle >= 0, answer_angle, fallback)
    return Approach(channel=channel.astype(np.int8), angle=angle.astype(np.int8))


CHANNEL_NAMES = {
    "phone": ("電話", "phone"),
    "mail": ("メール", "mail"),
    "dm": ("DM（郵送）", "direct mail"),
    "none": ("連絡手段なし", "no channel"),
}

# The opening the angle suggests; {change} is the change's own description.
ANGLE_TEXTS = {
    "price_offer": (
        "前回のお見積りより抑えられる見込みです：{change}",
        "It now costs less：{change}",
    ),
    "new_feature": (
        "ご要望の多かった機能を追加しました：{change}",
        "The feature you missed is here：{change}",
    ),
    "new_timing": (
        "新しい期のスタートに間に合うスケジュールをご提案できます：{change}",
        "A schedule that fits your next term：{change}",
    ),
    "case_study": (
        "同業他社での導入成果をご紹介します：{change}",
        "How a peer in your industry gained：{change}",
    ),
    "whats_new": (
        "前回からの変化をひとつお伝えします：{change}",
        "One thing that changed since last time：{change}",
    ),
    "catch_up": (
        "ご無沙汰しています。その後のご状況を伺います",
        "Catch up: how are things since your last order?",
    ),
    "ask_again": ("その後のご検討状況と変化を伺います", "Ask what has changed on their side since"),
    "reminder": (
        "業界ニュースやワンポイント知識で思い出していただく",
        "A useful tip or industry news to be remembered",
    ),
}
assert set(ANGLE_TEXTS) == set(ANGLES) and set(CHANNEL_NAMES) == set(CHANNELS)


def angle_text(angle: str, change_description: str | None, locale: str) -> str:
    """The suggested opening in `locale`, with the change described where the angle has one."""
    ja, en = ANGLE_TEXTS[angle]
    template = ja if locale == "ja" else en
    return template.format(change=change_description or "")


def channel_name(channel: str, locale: str) -> str:
    ja, en = CHANNEL_NAMES[channel]
    return ja if locale == "ja" else en
