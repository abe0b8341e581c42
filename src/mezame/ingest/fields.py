"""What each import kind accepts: canonical fields, their types, and the headers that mean them.

Pure data. Headers match after normalisation (NFKC, case-folded, spaces and
punctuation dropped), so 'メールアドレス', 'ﾒｰﾙｱﾄﾞﾚｽ' and 'E-mail' all find `email`.
In every file except the companies file, 顧客コード names the *company* the row
belongs to, because that is how Japanese CRMs and 販売管理 exports use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    DATE = "date"
    DATETIME = "datetime"
    AMOUNT = "amount"  # whole yen: 1,234 / ￥1,234 / 1,234円
    INTEGER = "integer"
    CHOICE = "choice"  # mapped through FieldSpec.choices
    JSON = "json"


class ImportKind(StrEnum):
    COMPANIES = "companies"
    CONTACTS = "contacts"
    DEALS = "deals"
    ORDERS = "orders"
    ACTIVITIES = "activities"
    EVENTS = "events"
    SURVEYS = "surveys"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: FieldType
    aliases: tuple[str, ...] = ()
    required: bool = False
    # Accepted spellings (normalised like headers) → canonical value, for CHOICE fields.
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None


def _f(
    name: str,
    type_: FieldType,
    *aliases: str,
    required: bool = False,
    choices: tuple[tuple[str, str], ...] = (),
    max_length: int | None = None,
) -> FieldSpec:
    return FieldSpec(name, type_, aliases, required, choices, max_length)


T, E, D, DT, A, INT, C, J = (
    FieldType.TEXT,
    FieldType.EMAIL,
    FieldType.DATE,
    FieldType.DATETIME,
    FieldType.AMOUNT,
    FieldType.INTEGER,
    FieldType.CHOICE,
    FieldType.JSON,
)

COMPANY_STATUS = (
    ("prospect", "prospect"), ("見込み", "prospect"), ("見込", "prospect"), ("見込客", "prospect"),
    ("customer", "customer"), ("既存", "customer"), ("既存顧客", "customer"),
    ("取引中", "customer"), ("顧客", "customer"),
    ("former", "former"), ("休眠", "former"), ("取引停止", "former"), ("解約", "former"),
    ("過去顧客", "former"), ("unknown", "unknown"), ("不明", "unknown"),
)  # fmt: skip
DEAL_OUTCOME = (
    ("open", "open"), ("進行中", "open"), ("商談中", "open"), ("検討中", "open"),
    ("won", "won"), ("受注", "won"), ("成約", "won"), ("契約", "won"),
    ("lost", "lost"), ("失注", "lost"), ("不成立", "lost"),
    ("postponed", "postponed"), ("見送り", "postponed"), ("保留", "postponed"),
    ("延期", "postponed"),
)  # fmt: skip
ACTIVITY_KIND = (
    ("call", "call"), ("電話", "call"), ("架電", "call"), ("tel", "call"),
    ("mail", "mail"), ("email", "mail"), ("メール", "mail"),
    ("visit", "visit"), ("訪問", "visit"), ("来訪", "visit"),
    ("onlinemeeting", "online_meeting"), ("オンライン商談", "online_meeting"),
    ("web会議", "online_meeting"), ("オンライン", "online_meeting"),
    ("other", "other"), ("その他", "other"),
)  # fmt: skip
EVENT_TYPE = (
    ("mailsent", "mail_sent"), ("配信", "mail_sent"), ("送信", "mail_sent"),
    ("maildelivered", "mail_delivered"), ("到達", "mail_delivered"),
    ("mailopened", "mail_opened"), ("open", "mail_opened"), ("開封", "mail_opened"),
    ("mailclicked", "mail_clicked"), ("click", "mail_clicked"), ("クリック", "mail_clicked"),
    ("mailbounced", "mail_bounced"), ("bounce", "mail_bounced"), ("不達", "mail_bounced"),
    ("mailunsubscribed", "mail_unsubscribed"), ("unsubscribe", "mail_unsubscribed"),
    ("配信停止", "mail_unsubscribed"),
    ("mailreplied", "mail_replied"), ("reply", "mail_replied"), ("返信", "mail_replied"),
    ("documentdownload", "document_download"), ("download", "document_download"),
    ("資料ダウンロード", "document_download"), ("資料dl", "document_download"),
    ("webinarregistered", "webinar_registered"), ("ウェビナー申込", "webinar_registered"),
    ("webinarattended", "webinar_attended"), ("ウェビナー参加", "webinar_attended"),
    ("ウェビナー視聴", "webinar_attended"),
    ("sitevisit", "site_visit"), ("pageview", "site_visit"), ("サイト訪問", "site_visit"),
    ("inquiry", "inquiry"), ("問い合わせ", "inquiry"), ("お問い合わせ", "inquiry"),
    ("demorequest", "demo_request"), ("デモ依頼", "demo_request"),
    ("デモ申込", "demo_request"),
)  # fmt: skip
CONSENT_BASIS = (
    ("optin", "opt_in"), ("オプトイン", "opt_in"), ("同意済", "opt_in"), ("同意", "opt_in"),
    ("businesscard", "business_card"), ("名刺", "business_card"),
    ("名刺交換", "business_card"),
    ("existingtransaction", "existing_transaction"), ("取引関係", "existing_transaction"),
    ("既存取引", "existing_transaction"),
    ("none", "none"), ("なし", "none"), ("未取得", "none"),
)  # fmt: skip

_COMPANY_REF = (
    _f("company_external_id", T, "顧客コード", "会社コード", "取引先コード", "企業コード",
       "company code", "customer code", "account id"),
    _f("company_name", T, "会社名", "企業名", "取引先名", "顧客名", "社名", "company",
       "company name", "account name", max_length=300),
)  # fmt: skip
_CONTACT_REF = (
    _f("contact_external_id", T, "担当者コード", "担当者id", "contact code", "contact id"),
    _f("contact_email", E, "メールアドレス", "メール", "email", "e-mail", "mail address"),
)  # fmt: skip
_OWNER = (_f("owner_email", E, "担当営業メール", "営業担当メール", "owner email", "owner"),)

FIELDS: dict[ImportKind, tuple[FieldSpec, ...]] = {
    ImportKind.COMPANIES: (
        _f(
            "external_id",
            T,
            "顧客コード",
            "会社コード",
            "取引先コード",
            "企業コード",
            "company code",
            "customer code",
            "account id",
            max_length=100,
        ),
        _f(
            "name",
            T,
            "会社名",
            "企業名",
            "取引先名",
            "顧客名",
            "社名",
            "company",
            "company name",
            "account name",
            required=True,
            max_length=300,
        ),
        _f("name_kana", T, "会社名カナ", "会社名フリガナ", "フリガナ", "name kana", max_length=300),
        _f("corporate_number", T, "法人番号", "corporate number", max_length=20),
        _f("industry", T, "業種", "業界", "industry", max_length=100),
        _f("employee_count", INT, "従業員数", "社員数", "employees", "employee count"),
        _f("phone", T, "電話番号", "代表電話", "電話", "tel", "phone", max_length=50),
        _f("website", T, "ホームページ", "url", "website", "web site", max_length=300),
        _f("postal_code", T, "郵便番号", "〒", "postal code", "zip", max_length=10),
        _f("address", T, "住所", "所在地", "address", max_length=500),
        _f("status", C, "顧客区分", "ステータス", "取引状況", "status", choices=COMPANY_STATUS),
        _f("status_updated_on", D, "ステータス更新日", "status updated", "status updated on"),
        _f("source", T, "獲得経路", "流入経路", "source", max_length=100),
        _f("notes", T, "備考", "メモ", "notes", "note"),
        *_OWNER,
    ),
    ImportKind.CONTACTS: (
        _f(
            "external_id",
            T,
            "担当者コード",
            "担当者id",
            "contact code",
            "contact id",
            max_length=100,
        ),
        *_COMPANY_REF,
        _f("name", T, "担当者名", "氏名", "お名前", "名前", "contact name", "name", max_length=200),
        _f("name_kana", T, "担当者名カナ", "フリガナ", "ふりがな", "name kana", max_length=200),
        _f("department", T, "部署", "部署名", "所属", "department", max_length=200),
        _f("title", T, "役職", "役職名", "title", "job title", "position", max_length=200),
        _f("email", E, "メールアドレス", "メール", "email", "e-mail", "mail address"),
        _f("phone", T, "電話番号", "電話", "tel", "phone", max_length=50),
        _f("mobile", T, "携帯電話", "携帯番号", "携帯", "mobile", max_length=50),
        _f("source", T, "獲得経路", "接点", "流入経路", "source", max_length=100),
        _f(
            "acquired_on",
            D,
            "接点取得日",
            "名刺交換日",
            "獲得日",
            "登録日",
            "acquired on",
            "acquired",
        ),
        _f("hearing_notes", T, "ヒアリングメモ", "ヒアリング内容", "ヒアリング", "hearing notes"),
        _f(
            "consent_basis",
            C,
            "同意区分",
            "配信同意",
            "consent",
            "consent basis",
            choices=CONSENT_BASIS,
        ),
        _f("consent_obtained_on", D, "同意取得日", "consent date", "consent obtained on"),
        *_OWNER,
    ),
    ImportKind.DEALS: (
        _f(
            "external_id",
            T,
            "商談コード",
            "商談id",
            "商談番号",
            "deal code",
            "deal id",
            max_length=100,
        ),
        *_COMPANY_REF,
        *_CONTACT_REF,
        _f(
            "name",
            T,
            "商談名",
            "案件名",
            "deal name",
            "deal",
            "name",
            required=True,
            max_length=300,
        ),
        _f("phase", T, "フェーズ", "商談フェーズ", "ステージ", "phase", "stage", max_length=50),
        _f(
            "outcome",
            C,
            "結果",
            "商談結果",
            "ステータス",
            "outcome",
            "status",
            choices=DEAL_OUTCOME,
        ),
        _f("lost_reason", T, "失注理由", "見送り理由", "lost reason"),
        _f("amount", A, "金額", "見込金額", "見積金額", "amount"),
        _f("product", T, "商品", "商品名", "製品", "product", max_length=200),
        _f("opened_on", D, "商談開始日", "作成日", "opened on", "created"),
        _f("closed_on", D, "完了日", "クローズ日", "受注日", "失注日", "closed on", "close date"),
        _f("notes", T, "商談メモ", "メモ", "備考", "notes", "note"),
        *_OWNER,
    ),
    ImportKind.ORDERS: (
        _f(
            "external_id",
            T,
            "受注番号",
            "注文番号",
            "契約番号",
            "伝票番号",
            "order id",
            "order number",
            "contract id",
            max_length=100,
        ),
        *_COMPANY_REF,
        *_CONTACT_REF,
        _f("deal_external_id", T, "商談コード", "商談id", "deal code", "deal id"),
        _f("product", T, "商品", "商品名", "製品", "品名", "product", max_length=200),
        _f(
            "product_line",
            T,
            "商品カテゴリ",
            "商品区分",
            "製品ライン",
            "product line",
            max_length=100,
        ),
        _f(
            "ordered_on", D, "受注日", "注文日", "契約日", "ordered on", "order date", required=True
        ),
        _f("amount", A, "金額", "受注金額", "契約金額", "売上", "amount", required=True),
        _f("contract_start", D, "契約開始日", "contract start"),
        _f("contract_end", D, "契約終了日", "contract end"),
        _f("cancelled_on", D, "解約日", "cancelled on", "cancellation date"),
        _f("notes", T, "備考", "メモ", "notes", "note"),
    ),
    ImportKind.ACTIVITIES: (
        _f("external_id", T, "活動id", "活動番号", "activity id", max_length=100),
        *_COMPANY_REF,
        *_CONTACT_REF,
        _f("deal_external_id", T, "商談コード", "商談id", "deal code", "deal id"),
        _f("user_email", E, "営業担当メール", "対応者メール", "user email", "user"),
        _f(
            "kind",
            C,
            "活動種別",
            "種別",
            "手段",
            "kind",
            "type",
            required=True,
            choices=ACTIVITY_KIND,
        ),
        _f(
            "occurred_at",
            DT,
            "活動日時",
            "日時",
            "活動日",
            "実施日",
            "occurred at",
            "date",
            required=True,
        ),
        _f("subject", T, "件名", "タイトル", "subject", max_length=300),
        _f("note", T, "内容", "メモ", "備考", "note", "notes"),
    ),
    ImportKind.EVENTS: (
        _f("external_id", T, "イベントid", "event id", max_length=100),
        *_CONTACT_REF,
        _f("visitor_id", T, "訪問者id", "visitor id", max_length=64),
        _f(
            "type",
            C,
            "イベント種別",
            "種別",
            "type",
            "event",
            "event type",
            required=True,
            choices=EVENT_TYPE,
        ),
        _f(
            "occurred_at", DT, "日時", "発生日時", "occurred at", "timestamp", "date", required=True
        ),
        _f("campaign", T, "キャンペーン", "配信名", "campaign", max_length=200),
        _f("url", T, "url", "ページurl", "page", max_length=2000),
        _f("document", T, "資料名", "資料", "document", max_length=300),
        _f("webinar", T, "ウェビナー名", "ウェビナー", "webinar", max_length=300),
        _f("watch_seconds", INT, "視聴秒数", "視聴時間秒", "watch seconds"),
        _f("payload", J, "payload", "詳細json"),
    ),
    ImportKind.SURVEYS: (
        _f("external_id", T, "回答id", "response id", max_length=100),
        *_COMPANY_REF,
        *_CONTACT_REF,
        _f("survey", T, "アンケート名", "調査名", "survey", required=True, max_length=200),
        _f("answered_at", DT, "回答日時", "回答日", "answered at", "date", required=True),
        _f("nps_score", INT, "nps", "推奨度", "npsスコア", "score", "nps score"),
        _f("comment", T, "コメント", "自由回答", "comment"),
    ),
}
