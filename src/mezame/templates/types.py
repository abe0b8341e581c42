"""The message types of SPEC 5.2 and what a template may require of a contact."""

from __future__ import annotations

from enum import StrEnum


class MessageType(StrEnum):
    NEWSLETTER = "newsletter"  # 月次ニュースレター (four parts)
    REPROPOSAL_PRICE = "reproposal_price"  # 再提案: 価格
    REPROPOSAL_FUNCTION = "reproposal_function"  # 再提案: 機能
    REPROPOSAL_TIMING = "reproposal_timing"  # 再提案: 時期
    REPROPOSAL_COMPETITOR = "reproposal_competitor"  # 再提案: 競合
    HISASHIBURI = "hisashiburi"  # お久しぶりです (short, personal)
    FOLLOWUP_2DAYS = "followup_2days"  # 2日後フォロー
    REMINDER_1WEEK = "reminder_1week"  # 1週間後リマインド
    AFTERCARE_1M = "aftercare_1m"  # 契約後フォロー 1か月
    AFTERCARE_3M = "aftercare_3m"
    AFTERCARE_6M = "aftercare_6m"
    AFTERCARE_12M = "aftercare_12m"
    CUSTOM = "custom"


class Requirement(StrEnum):
    """A merge field without which a template's mail must not go out."""

    CHANGE = "change"  # a re-proposal states exactly one change since last time


# Why a contact was skipped (the send log's detail), per requirement.
SKIP_REASONS: dict[Requirement, str] = {Requirement.CHANGE: "no change to state"}

# How a dormancy reason reads in a Japanese mail ({{ dormancy.reason_label }}).
REASON_LABELS_JA: dict[str, str] = {
    "price": "価格",
    "function": "機能",
    "timing": "導入時期",
    "competitor": "他社製品",
    "unknown": "",
}
