"""The data-quality report: what is wrong with the customer database, and what to fix first.

Pure. The seeds name four faults that make reactivation fail — status unknown or stale,
company names written inconsistently, no record of past hearings, missing contact details —
and mezame adds three checks of the values themselves (corporate numbers, email syntax, role
mailboxes). Each check counts the records it flags per value class of their company (past
customer, lost or postponed deal, other); the service counts, this module weighs and ranks.

What to fix first: impact = severity × Σ value weight × reach. Reach is how many people the
faulty records keep from being woken: a contact or a deal is one, a company is all its
contacts (a stale status misjudges every one of them), at least one. Severity says how much
of a reactivation each of them loses (no email: they cannot be mailed at all; a role
mailbox: it is mailed, to nobody in particular); the value weight says how much they were
worth waking (a past customer more than a card from a trade show). Both are business policy.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mezame.cleaning.normalize import ROLE_LOCAL_PARTS, ROLE_PREFIXES


class QualityFault(StrEnum):
    """The four faults of the seeds, and invalid values."""

    STATUS = "status"
    NAMES = "names"
    HEARING = "hearing"
    CONTACT_DETAILS = "contact_details"
    VALIDITY = "validity"


class RecordKind(StrEnum):
    COMPANY = "company"
    CONTACT = "contact"
    DEAL = "deal"


class ValueClass(StrEnum):
    """What the record's company has been to us: the better, the more a fault costs."""

    CUSTOMER = "customer"  # ordered at least once (current or former customer)
    LOST_DEAL = "lost_deal"  # no order, but a deal lost or postponed
    OTHER = "other"  # prospects and contacts only


class QualityCheck(StrEnum):
    STATUS_UNKNOWN = "status_unknown"
    STATUS_STALE = "status_stale"
    DUPLICATE_COMPANIES = "duplicate_companies"
    CONTACT_NO_HEARING = "contact_no_hearing"
    DEAL_NO_NOTES = "deal_no_notes"
    LOST_DEAL_NO_REASON = "lost_deal_no_reason"
    CONTACT_NO_EMAIL = "contact_no_email"
    CONTACT_NO_PHONE = "contact_no_phone"
    CONTACT_NO_NAME = "contact_no_name"
    COMPANY_NO_CONTACT = "company_no_contact"
    INVALID_CORPORATE_NUMBER = "invalid_corporate_number"
    INVALID_EMAIL = "invalid_email"
    ROLE_ADDRESS = "role_address"


class Bilingual(BaseModel):
    """A text in Japanese and English (the CLI, the API and the UI each pick one)."""

    model_config = ConfigDict(frozen=True)

    ja: str
    en: str

    def in_locale(self, locale: str) -> str:
        return self.en if locale == "en" else self.ja


class CheckSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    fault: QualityFault
    kind: RecordKind
    title: Bilingual
    why: Bilingual  # what the fault costs a reactivation; {months} is the stale limit


def _t(ja: str, en: str) -> Bilingual:
    return Bilingual(ja=ja, en=en)


FAULT_TITLES: dict[QualityFault, Bilingual] = {
    QualityFault.STATUS: _t("ステータスが不明・未更新", "Status unknown or stale"),
    QualityFault.NAMES: _t("会社名の表記ゆれ（重複登録）", "Inconsistent company names"),
    QualityFault.HEARING: _t("過去のヒアリング記録がない", "No record of past hearings"),
    QualityFault.CONTACT_DETAILS: _t("連絡先の記載漏れ", "Missing contact details"),
    QualityFault.VALIDITY: _t("誤った値", "Invalid values"),
}

CHECKS: dict[QualityCheck, CheckSpec] = {
    QualityCheck.STATUS_UNKNOWN: CheckSpec(
        fault=QualityFault.STATUS,
        kind=RecordKind.COMPANY,
        title=_t("ステータス不明の会社", "Companies with unknown status"),
        why=_t(
            "ステータスが分からない会社は休眠顧客かどうか判定できず、掘り起こしの対象から漏れます。",
            "With no status, nobody can tell whether the company is dormant, so it drops out "
            "of every reactivation list.",
        ),
    ),
    QualityCheck.STATUS_STALE: CheckSpec(
        fault=QualityFault.STATUS,
        kind=RecordKind.COMPANY,
        title=_t(
            "ステータスが{months}か月以上未更新の会社", "Status not updated for {months} months"
        ),
        why=_t(
            "取引が止まっても「取引中」のままなど、実態と違うステータスで休眠判定が狂います。",
            "An unchecked status misleads the dormancy rules: a customer who stopped buying "
            "still reads as a customer.",
        ),
    ),
    QualityCheck.DUPLICATE_COMPANIES: CheckSpec(
        fault=QualityFault.NAMES,
        kind=RecordKind.COMPANY,
        title=_t("表記ゆれで重複登録された会社", "Companies entered under several spellings"),
        why=_t(
            "同じ会社の取引履歴が分散して価値を低く見積もり、同じ相手に二重に送信してしまいます。",
            "One company's history is split between records, so it looks less valuable, and it "
            "receives every mail twice.",
        ),
    ),
    QualityCheck.CONTACT_NO_HEARING: CheckSpec(
        fault=QualityFault.HEARING,
        kind=RecordKind.CONTACT,
        title=_t("ヒアリング記録のない担当者", "Contacts without hearing notes"),
        why=_t(
            "前回の話を踏まえた再提案ができず、営業が一から聞き直すことになります。",
            "A re-proposal cannot build on what was said last time; sales has to ask "
            "everything again.",
        ),
    ),
    QualityCheck.DEAL_NO_NOTES: CheckSpec(
        fault=QualityFault.HEARING,
        kind=RecordKind.DEAL,
        title=_t("商談メモのない商談", "Deals without notes"),
        why=_t(
            "どこまで話が進み、何が決め手にならなかったのかが分かりません。",
            "Nobody can tell how far the deal went or what held it back.",
        ),
    ),
    QualityCheck.LOST_DEAL_NO_REASON: CheckSpec(
        fault=QualityFault.HEARING,
        kind=RecordKind.DEAL,
        title=_t("失注・見送り理由のない商談", "Lost or postponed deals without a reason"),
        why=_t(
            "理由別（価格・機能・タイミング・競合）の再提案ができません。",
            "There can be no re-proposal by reason (price, function, timing, competitor).",
        ),
    ),
    QualityCheck.CONTACT_NO_EMAIL: CheckSpec(
        fault=QualityFault.CONTACT_DETAILS,
        kind=RecordKind.CONTACT,
        title=_t("メールアドレスのない担当者", "Contacts without an email address"),
        why=_t(
            "メールが一切届きません。メールは掘り起こしの主な手段です。",
            "They cannot be mailed at all, and mail is the main way to wake customers up.",
        ),
    ),
    QualityCheck.CONTACT_NO_PHONE: CheckSpec(
        fault=QualityFault.CONTACT_DETAILS,
        kind=RecordKind.CONTACT,
        title=_t("電話番号のない担当者", "Contacts without a phone number"),
        why=_t(
            "ホットリードになっても営業が電話でフォローできません。",
            "When they turn hot, sales cannot call them.",
        ),
    ),
    QualityCheck.CONTACT_NO_NAME: CheckSpec(
        fault=QualityFault.CONTACT_DETAILS,
        kind=RecordKind.CONTACT,
        title=_t(
            "担当者名のない担当者（「ご担当者様」など）",
            "Contacts without a person's name (or “ご担当者様”)",
        ),
        why=_t(
            "「○○様」と宛名を書けず、電話でも誰を呼べばよいか分かりません。",
            "Mail cannot be addressed to a person, and on the phone sales does not know whom "
            "to ask for.",
        ),
    ),
    QualityCheck.COMPANY_NO_CONTACT: CheckSpec(
        fault=QualityFault.CONTACT_DETAILS,
        kind=RecordKind.COMPANY,
        title=_t("担当者が登録されていない会社", "Companies without any contact"),
        why=_t(
            "個人宛てにメールも電話もできる相手がいません。",
            "There is nobody at the company to write to or to ask for.",
        ),
    ),
    QualityCheck.INVALID_CORPORATE_NUMBER: CheckSpec(
        fault=QualityFault.VALIDITY,
        kind=RecordKind.COMPANY,
        title=_t("法人番号が正しくない会社", "Invalid corporate numbers"),
        why=_t(
            "チェックデジットが合わない入力ミスで、重複判定の最も強いキーとして使えません。",
            "The check digit fails, so it is a typo and cannot serve as the strongest key for "
            "finding duplicates.",
        ),
    ),
    QualityCheck.INVALID_EMAIL: CheckSpec(
        fault=QualityFault.VALIDITY,
        kind=RecordKind.CONTACT,
        title=_t("形式の誤ったメールアドレス", "Malformed email addresses"),
        why=_t(
            "不達になり、不達率が上がって他のメールの到達率まで下げます。",
            "They bounce, and bounces raise the bounce rate and hurt delivery of every other mail.",
        ),
    ),
    QualityCheck.ROLE_ADDRESS: CheckSpec(
        fault=QualityFault.VALIDITY,
        kind=RecordKind.CONTACT,
        title=_t("共有アドレス（info@・sales@ など）", "Role addresses (info@, sales@ …)"),
        why=_t(
            "特定の個人に届かず、開封やクリックが誰の関心なのか分かりません。",
            "They reach no one in particular; an open or a click cannot be tied to a person.",
        ),
    ),
}

_KIND_UNITS: dict[RecordKind, Bilingual] = {
    RecordKind.COMPANY: _t("社", "companies"),
    RecordKind.CONTACT: _t("名", "contacts"),
    RecordKind.DEAL: _t("件", "deals"),
}

# 1.0: they cannot be approached at all. 0.8: they are approached wrongly or not at all, for
# one field's fix. Down to 0.2: the approach works, only less well (no phone for the hot-lead
# call, no name for "○○様", notes that only sales' memory can fill in, a weaker dedupe key).
DEFAULT_SEVERITY: dict[QualityCheck, float] = {
    QualityCheck.CONTACT_NO_EMAIL: 1.0,
    QualityCheck.INVALID_EMAIL: 1.0,
    QualityCheck.COMPANY_NO_CONTACT: 1.0,
    QualityCheck.STATUS_UNKNOWN: 0.8,
    QualityCheck.STATUS_STALE: 0.8,
    QualityCheck.DUPLICATE_COMPANIES: 0.6,
    QualityCheck.LOST_DEAL_NO_REASON: 0.5,
    QualityCheck.CONTACT_NO_PHONE: 0.4,
    QualityCheck.CONTACT_NO_NAME: 0.3,
    QualityCheck.ROLE_ADDRESS: 0.3,
    QualityCheck.CONTACT_NO_HEARING: 0.25,
    QualityCheck.DEAL_NO_NOTES: 0.25,
    QualityCheck.INVALID_CORPORATE_NUMBER: 0.2,
}
DEFAULT_VALUE_WEIGHTS: dict[ValueClass, float] = {
    ValueClass.CUSTOMER: 3.0,
    ValueClass.LOST_DEAL: 2.0,
    ValueClass.OTHER: 1.0,
}


class QualityPolicy(BaseModel):
    """Business settings of the data-quality report."""

    policy_key: ClassVar[str] = "quality"

    # A status nobody has confirmed for this long is stale (SPEC 2: "status unknown or stale").
    stale_status_months: int = Field(default=12, ge=1, le=120)
    # A name containing one of these stands for "whoever reads it", not a person.
    placeholder_names: list[str] = Field(
        default_factory=lambda: ["ご担当者", "担当者様", "御中", "窓口", "不明", "未確認"]
    )
    role_local_parts: list[str] = Field(default_factory=lambda: sorted(ROLE_LOCAL_PARTS))
    role_prefixes: list[str] = Field(default_factory=lambda: sorted(ROLE_PREFIXES))
    severity: dict[QualityCheck, float] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    value_weights: dict[ValueClass, float] = Field(
        default_factory=lambda: dict(DEFAULT_VALUE_WEIGHTS)
    )

    @field_validator("role_local_parts", "role_prefixes")
    @classmethod
    def _folded_words(cls, words: list[str]) -> list[str]:
        folded = sorted({w.strip().lower() for w in words if w.strip()})
        if any("@" in w for w in folded):
            raise ValueError("give local parts without '@' (info, not info@)")
        return folded

    @field_validator("placeholder_names")
    @classmethod
    def _placeholders(cls, words: list[str]) -> list[str]:
        return sorted({w.strip() for w in words if w.strip()})

    @field_validator("severity")
    @classmethod
    def _severity(cls, values: dict[QualityCheck, float]) -> dict[QualityCheck, float]:
        if any(not 0.0 <= v <= 1.0 for v in values.values()):
            raise ValueError("severities are between 0 and 1")
        # A check added after the team saved its policy starts from its default.
        return {**DEFAULT_SEVERITY, **values}

    @field_validator("value_weights")
    @classmethod
    def _weights(cls, values: dict[ValueClass, float]) -> dict[ValueClass, float]:
        if any(v < 0 for v in values.values()):
            raise ValueError("value weights cannot be negative")
        return {**DEFAULT_VALUE_WEIGHTS, **values}


class CheckCount(BaseModel):
    """What the service counted for one check, per value class of the records' companies."""

    model_config = ConfigDict(frozen=True)

    records: dict[ValueClass, int]
    reach: dict[ValueClass, int] | None = None  # people behind the records; None: the records


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, clamped to the month's end (3/31 − 1 month = 2/28)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - date(year, month, 1)).days
    return date(year, month, min(day.day, last_day))


# --- the report ----------------------------------------------------------------------------


class CheckResult(BaseModel):
    """One check: how many records it flags, out of how many, and what that costs."""

    model_config = ConfigDict(frozen=True)

    check: QualityCheck
    fault: QualityFault
    kind: RecordKind
    title: Bilingual
    count: int
    total: int  # records of this kind
    share: float  # count / total (0 when there are none)
    by_value: dict[ValueClass, int]
    reach: int  # contacts (for companies) or records kept from reactivation
    impact: float  # severity × value-weighted reach: the fix-first order


class FaultSummary(BaseModel):
    """A fault over its checks: records affected by at least one of them, per kind."""

    model_config = ConfigDict(frozen=True)

    fault: QualityFault
    title: Bilingual
    checks: list[QualityCheck]
    affected: dict[RecordKind, int]
    share: dict[RecordKind, float]


class FixFirst(BaseModel):
    """One entry of the to-do list, most harmful first, with the reason in words."""

    model_config = ConfigDict(frozen=True)

    rank: int
    check: QualityCheck
    fault: QualityFault
    kind: RecordKind
    title: Bilingual
    count: int
    impact: float
    reason: Bilingual


class QualityReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: date
    stale_before: date  # a status last confirmed before this day is stale
    totals: dict[RecordKind, int]
    checks: list[CheckResult]
    faults: list[FaultSummary]
    affected: dict[RecordKind, int]  # records with at least one problem
    affected_share: dict[RecordKind, float]
    duplicate_clusters: int  # groups of company records that are one company
    fix_first: list[FixFirst]

    def result(self, check: QualityCheck) -> CheckResult:
        return next(r for r in self.checks if r.check is check)


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _shares(
    counts: dict[RecordKind, int], totals: dict[RecordKind, int]
) -> dict[RecordKind, float]:
    return {kind: _share(n, totals.get(kind, 0)) for kind, n in counts.items()}


def check_title(check: QualityCheck, policy: QualityPolicy) -> Bilingual:
    title = CHECKS[check].title
    months = policy.stale_status_months
    return Bilingual(ja=title.ja.format(months=months), en=title.en.format(months=months))


def _reason(result: CheckResult) -> Bilingual:
    """The fix-first sentence: how many, how many of them valuable or reaching further, why."""
    unit = _KIND_UNITS[result.kind]
    why = CHECKS[result.check].why
    customers = result.by_value.get(ValueClass.CUSTOMER, 0)
    lost = result.by_value.get(ValueClass.LOST_DEAL, 0)
    ja_parts = []
    en_parts = []
    if customers:
        ja_parts.append(f"うち取引実績のある会社{customers:,}{unit.ja}")
        en_parts.append(f"{customers:,} at past customers")
    if lost:
        ja_parts.append(f"{'' if customers else 'うち'}失注・見送りの会社{lost:,}{unit.ja}")
        en_parts.append(f"{lost:,} with lost or postponed deals")
    if result.kind is RecordKind.COMPANY and result.reach != result.count:
        ja_parts.append(f"担当者{result.reach:,}名に影響")
        en_parts.append(f"{result.reach:,} contacts affected")
    ja_of = f"（{'、'.join(ja_parts)}）" if ja_parts else ""
    en_of = f" ({', '.join(en_parts)})" if en_parts else ""
    return Bilingual(
        ja=f"{result.count:,}{unit.ja}{ja_of}。{why.ja}",
        en=f"{result.count:,} {unit.en}{en_of}. {why.en}",
    )


def build_report(
    *,
    as_of: date,
    totals: dict[RecordKind, int],
    counts: dict[QualityCheck, CheckCount],
    fault_affected: dict[QualityFault, dict[RecordKind, int]],
    affected: dict[RecordKind, int],
    duplicate_clusters: int,
    policy: QualityPolicy,
) -> QualityReport:
    """Weigh the counted checks, sum them up per fault and rank what to fix first.

    `counts` holds, per check, the flagged records (and the people behind them) per value
    class of their company;
    `fault_affected` and `affected` are records flagged by at least one check (the service
    counts those unions, which cannot be summed from the per-check counts).
    """
    missing = set(QualityCheck) - set(counts)
    if missing:
        raise ValueError(f"counts missing for {sorted(missing)}")
    results: list[CheckResult] = []
    for check, spec in CHECKS.items():
        counted = counts[check]
        by_value = {v: counted.records.get(v, 0) for v in ValueClass}
        reach = by_value if counted.reach is None else counted.reach
        count = sum(by_value.values())
        total = totals.get(spec.kind, 0)
        weighted = sum(policy.value_weights[v] * reach.get(v, 0) for v in ValueClass)
        results.append(
            CheckResult(
                check=check,
                fault=spec.fault,
                kind=spec.kind,
                title=check_title(check, policy),
                count=count,
                total=total,
                share=_share(count, total),
                by_value=by_value,
                reach=sum(reach.values()),
                impact=round(policy.severity[check] * weighted, 3),
            )
        )
    faults = [
        FaultSummary(
            fault=fault,
            title=title,
            checks=[c for c, s in CHECKS.items() if s.fault is fault],
            affected=fault_affected.get(fault, {}),
            share=_shares(fault_affected.get(fault, {}), totals),
        )
        for fault, title in FAULT_TITLES.items()
    ]
    # Ties keep the order of CHECKS, which lists the seeds' faults in their order.
    ranked = sorted((r for r in results if r.impact > 0), key=lambda r: -r.impact)
    fix_first = [
        FixFirst(
            rank=i,
            check=r.check,
            fault=r.fault,
            kind=r.kind,
            title=r.title,
            count=r.count,
            impact=r.impact,
            reason=_reason(r),
        )
        for i, r in enumerate(ranked, start=1)
    ]
    return QualityReport(
        as_of=as_of,
        stale_before=months_before(as_of, policy.stale_status_months),
        totals=totals,
        checks=results,
        faults=faults,
        affected=affected,
        affected_share=_shares(affected, totals),
        duplicate_clusters=duplicate_clusters,
        fix_first=fix_first,
    )


# --- the lists behind the counts ------------------------------------------------------------


class QualityRecord(BaseModel):
    """A flagged record as the lists show it; the fields that explain the fault are filled."""

    model_config = ConfigDict(frozen=True)

    kind: RecordKind
    id: int
    external_id: str | None
    name: str | None
    company_id: int | None = None
    company_name: str | None = None
    status: str | None = None
    status_updated_at: date | None = None
    corporate_number: str | None = None
    email: str | None = None
    outcome: str | None = None


class DuplicateGroup(BaseModel):
    """Company records that are one company, as duplicate detection found them."""

    model_config = ConfigDict(frozen=True)

    ids: list[int]
    external_ids: list[str | None]
    names: list[str]
    score: float
    evidence: list[str]


class RecordPage(BaseModel):
    """One page of a check's list: records, or duplicate groups for duplicate_companies."""

    model_config = ConfigDict(frozen=True)

    check: QualityCheck
    kind: RecordKind
    title: Bilingual
    why: Bilingual
    page: int
    per_page: int
    total: int  # records or, for duplicate_companies, groups
    records: list[QualityRecord] = Field(default_factory=list)
    groups: list[DuplicateGroup] = Field(default_factory=list)

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.per_page))


class QualityOverview(BaseModel):
    """The report with the first records of every check: what `mezame quality --json` prints."""

    model_config = ConfigDict(frozen=True)

    report: QualityReport
    samples: dict[QualityCheck, RecordPage]
