"""Match keys for Japanese customer data: company names, phones, emails, postal codes, 法人番号,
addresses.

Pure. Nothing here replaces what the user wrote: every function returns a key to store beside
the original. NFKC alone is not enough for Japanese business data — it leaves ‐ − – — ― ー and
〜/～ as different characters, splits a lone ゛ into a space and a combining mark, turns ㊑ into a
bare 株, and knows nothing of 髙/高 or 﨑/崎 — so the corrections are made here explicitly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import jaconv
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.exceptions import ValidationError
from stdnum.jp import cn


class LegalForm(StrEnum):
    """A company's legal form (法人格), canonical spelling."""

    KABUSHIKI = "株式会社"
    YUGEN = "有限会社"
    GODO = "合同会社"
    GOSHI = "合資会社"
    GOMEI = "合名会社"
    IPPAN_SHADAN = "一般社団法人"
    IPPAN_ZAIDAN = "一般財団法人"
    KOEKI_SHADAN = "公益社団法人"
    KOEKI_ZAIDAN = "公益財団法人"
    SHADAN = "社団法人"
    ZAIDAN = "財団法人"
    IRYO = "医療法人"
    GAKKO = "学校法人"
    SHAKAI_FUKUSHI = "社会福祉法人"
    NPO = "特定非営利活動法人"
    ZEIRISHI = "税理士法人"
    BENGOSHI = "弁護士法人"
    KANSA = "監査法人"
    SHIHO_SHOSHI = "司法書士法人"
    GYOSEI_SHOSHI = "行政書士法人"
    SHAROSHI = "社会保険労務士法人"


class LegalFormPosition(StrEnum):
    """Where the legal form stands: 前株 (before the name), 後株 (after it), or nowhere."""

    BEFORE = "前"
    AFTER = "後"
    NONE = "none"


class CorporateNumberStatus(StrEnum):
    """What a 法人番号 cell holds."""

    VALID = "valid"
    INVALID = "invalid"  # present but wrong length, not digits, or a bad check digit: never trusted
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class CompanyName:
    """A company name's match keys; `original` is what the user wrote."""

    original: str
    normalized: str  # whole name after normalize_text
    stem: str  # the name without legal form, branch or spaces: the match key
    skeleton: (
        str  # stem without punctuation, long vowels or kana size/script: spelling variants meet
    )
    legal_form: LegalForm | None
    position: LegalFormPosition
    branch: str | None  # 支店/営業所 … written after the name; a branch is its own record


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A phone number in E.164 (+81…) with its extension (内線) apart."""

    e164: str
    extension: str | None


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """An email address folded for matching, with what its domain and local part tell."""

    address: str  # local@domain, lower-cased
    local: str
    domain: str
    free_mail: bool  # gmail.com, yahoo.co.jp …: says nothing about the company
    role: bool  # info@, sales@, お問い合わせ@ …: a mailbox, not a person


@dataclass(frozen=True, slots=True)
class CorporateNumberCheck:
    """A 法人番号 cell checked against its length and check digit."""

    status: CorporateNumberStatus
    number: str | None  # digits without separators; None when absent

    @property
    def valid_number(self) -> str | None:
        """The number when it can be trusted as a key, else None."""
        return self.number if self.status is CorporateNumberStatus.VALID else None


@dataclass(frozen=True, slots=True)
class Address:
    """A Japanese address split for matching."""

    original: str
    normalized: str
    prefecture: (
        str | None
    )  # 東京都, 大阪府 …; inferred from a 政令指定都市 or unique 特別区 when left out
    city: str | None  # 市区町村: 横浜市 (not its ward), 千代田区, 東郷町 (without its 郡)
    key: str | None  # city + street up to the block number (1-2-3), building dropped


# --- text -----------------------------------------------------------------------------------

# Applied before NFKC. A lone ゛/゜ would become a space plus a combining mark; as the combining
# mark it joins the kana before it (か゛ → が). Circled legal-form ideographs would lose their
# circle and melt into the name (㊑ → 株), so they become the bracketed form.
_BEFORE_NFKC = str.maketrans(
    {
        "\u309b": "\u3099",
        "\u309c": "\u309a",
        "㊑": "(株)",
        "㊒": "(有)",
        "㊓": "(社)",
        "㊔": "(名)",
        "㊖": "(財)",
        "㊩": "(医)",
        "㊫": "(学)",
        "㊮": "(資)",
    }
)

# 異体字 and 旧字体 that NFKC leaves alone but that name the same company (髙島屋 = 高島屋).
_VARIANT_KANJI = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "碕": "崎",
        "\ufa10": "塚",
        "邊": "辺",
        "邉": "辺",
        "澤": "沢",
        "濱": "浜",
        "濵": "浜",
        "國": "国",
        "廣": "広",
        "櫻": "桜",
        "瀨": "瀬",
        "冨": "富",
        "眞": "真",
        "寳": "宝",
        "寶": "宝",
        "鐵": "鉄",
        "會": "会",
        "實": "実",
        "榮": "栄",
        "藝": "芸",
        "德": "徳",
        "黑": "黒",
        "惠": "恵",
        "經": "経",
        "澁": "渋",
        "條": "条",
        "圓": "円",
        "萬": "万",
        "壽": "寿",
        "驛": "駅",
        "應": "応",
        "藏": "蔵",
        "豐": "豊",
        "舘": "館",
        "槇": "槙",
        "嶋": "島",
        "嶌": "島",
        "峯": "峰",
        "齋": "斎",
        "齊": "斉",
        # Wave dash and its look-alikes (CP932 files swap 〜 and ～).
        "〜": "~",
        "∼": "~",
        "〰": "~",
        "∽": "~",
    }
)

# Hyphens, dashes, minus signs, box-drawing lines and the long-vowel mark: people type any of
# them for any other. After kana the run is a long vowel (ー); elsewhere a hyphen (-).
_DASH_RUN = re.compile(
    "[-\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe63\u2500\u2501\u30fc]+"
)
_KANA = re.compile("[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe]")
# Control and format characters that are not whitespace (whitespace becomes one space).
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000e-\u001b\u007f-\u0084\u0086-\u009f\u00ad\u200b-\u200f"
    "\u202a-\u202e\u2060\ufeff]"
)
# str.translate with a dict is slow; these find whether a translation is needed at all.
_NEEDS_BEFORE_NFKC = re.compile("[\u309b\u309c\u3291-\u3296\u32a9\u32ab\u32ae]")
_NEEDS_VARIANT = re.compile(f"[{''.join(chr(c) for c in _VARIANT_KANJI)}]")


def _dash(match: re.Match[str]) -> str:
    start = match.start()
    return "ー" if start and _KANA.match(match.string, start - 1) else "-"


@lru_cache(maxsize=65536)
def normalize_text(text: str) -> str:
    """NFKC with the Japanese corrections above, spaces collapsed to one, case folded."""
    if _NEEDS_BEFORE_NFKC.search(text):
        text = text.translate(_BEFORE_NFKC)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text).casefold())
    if text.isascii():
        if "--" in text:
            text = _DASH_RUN.sub("-", text)
    else:
        # casefold can leave a character NFKC would still change (a decomposed ǰ).
        text = unicodedata.normalize("NFKC", text)
        if _NEEDS_VARIANT.search(text):
            text = text.translate(_VARIANT_KANJI)
        text = _DASH_RUN.sub(_dash, text)
    return " ".join(text.split())


# --- company names ----------------------------------------------------------------------------

# Spellings of each legal form after normalize_text (NFKC turns ㈱ and （株） into "(株)", ㍿
# into 株式会社; text is case-folded; spaces inside brackets are dropped before matching).
# Japanese words and bracketed abbreviations may stand before or after the name.
_JAPANESE_FORMS: dict[LegalForm, tuple[str, ...]] = {
    LegalForm.KABUSHIKI: ("株式会社", "(株)", "カブシキガイシャ", "カブシキカイシャ"),
    LegalForm.YUGEN: ("有限会社", "(有)", "ユウゲンガイシャ", "ユウゲンカイシャ"),
    LegalForm.GODO: ("合同会社", "(同)", "ゴウドウガイシャ", "ゴウドウカイシャ"),
    LegalForm.GOSHI: ("合資会社", "(資)"),
    LegalForm.GOMEI: ("合名会社", "(名)"),
    LegalForm.IPPAN_SHADAN: ("一般社団法人", "(一社)", "(一般社団)"),
    LegalForm.IPPAN_ZAIDAN: ("一般財団法人", "(一財)", "(一般財団)"),
    LegalForm.KOEKI_SHADAN: ("公益社団法人", "(公社)"),
    LegalForm.KOEKI_ZAIDAN: ("公益財団法人", "(公財)"),
    LegalForm.SHADAN: ("社団法人", "(社)"),
    LegalForm.ZAIDAN: ("財団法人", "(財)"),
    LegalForm.IRYO: ("医療法人社団", "医療法人財団", "医療法人", "(医)"),
    LegalForm.GAKKO: ("学校法人", "(学)"),
    LegalForm.SHAKAI_FUKUSHI: ("社会福祉法人", "(社福)", "(福)"),
    LegalForm.NPO: ("特定非営利活動法人", "npo法人", "(特非)", "(npo)"),
    LegalForm.ZEIRISHI: ("税理士法人",),
    LegalForm.BENGOSHI: ("弁護士法人",),
    LegalForm.KANSA: ("有限責任監査法人", "監査法人"),
    LegalForm.SHIHO_SHOSHI: ("司法書士法人",),
    LegalForm.GYOSEI_SHOSHI: ("行政書士法人",),
    LegalForm.SHAROSHI: ("社会保険労務士法人",),
}
# English renderings, only after the name. Co., Ltd., Inc., Corp. and K.K. are how 株式会社 is
# written in English; Ltd. alone is taken as 株式会社 too, the far more common case here.
_ENGLISH_FORMS: dict[LegalForm, tuple[str, ...]] = {
    LegalForm.KABUSHIKI: (
        r"co\.?\s*,?\s*ltd\.?",
        r"company\s*,?\s*limited",
        r"kabushiki[\s-]*kaisha",
        r"k\.\s?k\.?",
        r"kk",
        r"inc\.?",
        r"incorporated",
        r"corporation",
        r"corp\.?",
        r"ltd\.?",
        r"limited",
    ),
    LegalForm.YUGEN: (r"yugen[\s-]*kaisha", r"y\.\s?k\.?", r"yk"),
    LegalForm.GODO: (r"godo[\s-]*kaisha", r"l\.\s?l\.\s?c\.?", r"llc", r"g\.\s?k\.?", r"gk"),
}
# Japanese spellings by first and by last character, longest first, for str.startswith/endswith
# (a regex alternation searched at every position costs ten times more).
_BY_FIRST: dict[str, list[tuple[str, LegalForm]]] = {}
_BY_LAST: dict[str, list[tuple[str, LegalForm]]] = {}
for _form, _spellings in _JAPANESE_FORMS.items():
    for _spelling in _spellings:
        _BY_FIRST.setdefault(_spelling[0], []).append((_spelling, _form))
        _BY_LAST.setdefault(_spelling[-1], []).append((_spelling, _form))
for _table in (_BY_FIRST, _BY_LAST):
    for _entries in _table.values():
        _entries.sort(key=lambda entry: -len(entry[0]))
_FIRST_CHARS = tuple(_BY_FIRST)
_LAST_CHARS = tuple(_BY_LAST)
_ENGLISH_GROUPS = {f"e{i}": form for i, form in enumerate(_ENGLISH_FORMS)}
_ENGLISH_FORM = re.compile(
    r"(?<![a-z0-9])\s*,?\s*(?:"
    + "|".join(
        f"(?P<e{i}>{'|'.join(spellings)})" for i, spellings in enumerate(_ENGLISH_FORMS.values())
    )
    + ")$"
)
_ENGLISH_LAST_CHARS = frozenset("dcknpa.")
_ENGLISH_TAIL = 28  # longer than any English spelling with its leading ", "
_PAREN_SPACES = re.compile(r"\(\s*([^()\s]{1,4})\s*\)")


def _leading_form(text: str) -> tuple[str, LegalForm] | None:
    for spelling, form in _BY_FIRST.get(text[:1], ()):
        if text.startswith(spelling):
            return spelling, form
    return None


def _trailing_form(text: str) -> tuple[int, LegalForm] | None:
    """Where a legal form at the end of text starts, and which form it is."""
    for spelling, form in _BY_LAST.get(text[-1:], ()):
        if text.endswith(spelling):
            return len(text) - len(spelling), form
    if text[-1:] in _ENGLISH_LAST_CHARS:
        offset = max(0, len(text) - _ENGLISH_TAIL)
        if match := _ENGLISH_FORM.search(text, offset):
            group = match.lastgroup
            assert group is not None
            return match.start(), _ENGLISH_GROUPS[group]
    return None


def _split_legal_form(text: str) -> tuple[str, LegalForm | None, LegalFormPosition]:
    """The name without its legal forms, the first form found, and where it stood."""
    form: LegalForm | None = None
    position = LegalFormPosition.NONE
    if "(" in text:
        text = _PAREN_SPACES.sub(r"(\1)", text)
    while text.startswith(_FIRST_CHARS) and (leading := _leading_form(text)):
        if form is None:
            form, position = leading[1], LegalFormPosition.BEFORE
        text = text[len(leading[0]) :].lstrip()
    while text.endswith(_LAST_CHARS) or text[-1:] in _ENGLISH_LAST_CHARS:
        trailing = _trailing_form(text)
        if trailing is None:
            break
        if form is None:
            form, position = trailing[1], LegalFormPosition.AFTER
        text = text[: trailing[0]].rstrip(" ,")
    return text, form, position


# 本社/本店 only say "the head office": dropped. The rest name a branch, which is its own record
# (another address, phone and people) of the same company: kept apart from the stem so that
# 山田製作所 大阪支店 and 山田製作所 share a stem but are not taken for duplicates on the name.
_HEAD_OFFICE = ("本社", "本店")
_BRANCH_WORD = re.compile("支店|支社|営業所|出張所|事業所|工場|本社|本店")
_BRANCH_TOKEN = re.compile(
    r"\S{1,12}?(?:支店|支社|営業所|出張所|事業所|工場)|\S{0,12}?(?:本社|本店)"
)
_PLACES = (
    "北海道|青森|岩手|宮城|秋田|山形|福島|茨城|栃木|群馬|埼玉|千葉|東京|神奈川|新潟|富山|石川|福井"
    "|山梨|長野|岐阜|静岡|愛知|三重|滋賀|京都|大阪|兵庫|奈良|和歌山|鳥取|島根|岡山|広島|山口|徳島"
    "|香川|愛媛|高知|福岡|佐賀|長崎|熊本|大分|宮崎|鹿児島|沖縄|札幌|仙台|横浜|川崎|名古屋|神戸"
    "|北九州|博多|関東|関西|東北|北陸|中部|東海|近畿|中国|四国|九州|首都圏|東日本|西日本"
)
_PLACE_BRANCH = re.compile(rf"(?:{_PLACES})(?:支店|支社|営業所|出張所|本社|本店)$")
_INNER_FORM = re.compile("|".join(re.escape(s) for f in _JAPANESE_FORMS.values() for s in f))


def _branch(token: str) -> str | None:
    return None if token.endswith(_HEAD_OFFICE) else token


def _split_branch(text: str) -> tuple[str, str | None]:
    """The name without a trailing branch, and the branch (None for none or the head office)."""
    if not _BRANCH_WORD.search(text):
        return text, None
    head, space, last = text.rpartition(" ")
    if space and _BRANCH_TOKEN.fullmatch(last) and _split_legal_form(head)[0].strip():
        return head, _branch(last)
    # No space: a branch right after the legal form (山田(株)大阪支店), or after a place name.
    for match in _INNER_FORM.finditer(text):
        rest = text[match.end() :].strip()
        if match.start() and rest and _BRANCH_TOKEN.fullmatch(rest):
            return text[: match.end()], _branch(rest)
    place = _PLACE_BRANCH.search(text)
    if place and place.start():
        return text[: place.start()], _branch(place[0])
    return text, None


_EDGE_PUNCTUATION = "-,.・·/:;'\"「」『』 "
_SKELETON_DROP = re.compile(r"[\W_ー]+")
_HIRAGANA = re.compile("[\u3041-\u3096]")
_SMALL_KANA = re.compile("[ァィゥェォッャュョヮヵヶ]")


def _skeleton(stem: str) -> str:
    """The stem with spelling variation removed: punctuation, ー, hiragana/katakana, kana size."""
    if _HIRAGANA.search(stem):
        stem = jaconv.hira2kata(stem)
    if _SMALL_KANA.search(stem):
        stem = jaconv.enlarge_smallkana(stem).replace("ヶ", "ケ")
    return _SKELETON_DROP.sub("", stem)


def company_name_key(name: str) -> CompanyName:
    """Split a company name into its match keys: stem, skeleton, legal form and its position."""
    normalized = normalize_text(name)
    text, branch = _split_branch(normalized)
    text, form, position = _split_legal_form(text)
    stem = text.replace(" ", "").strip(_EDGE_PUNCTUATION)
    # Strip again: edge punctuation can hide a second legal form ("株式会社・(株)ABC").
    while stem:
        rest, extra_form, extra_position = _split_legal_form(stem)
        rest = rest.strip(_EDGE_PUNCTUATION)
        if rest == stem:
            break
        if form is None:
            form, position = extra_form, extra_position
        stem = rest
    return CompanyName(
        original=name,
        normalized=normalized,
        stem=stem,
        skeleton=_skeleton(stem),
        legal_form=form,
        position=position,
        branch=branch.replace(" ", "") if branch else None,
    )


# --- phones -----------------------------------------------------------------------------------

_EXTENSION = re.compile(r"(?:内線|内|ext\.?|extension|x|#)\s*:?\s*(\d{1,6})\)?\s*$")
_PHONE_NOISE = re.compile(r"\(?(?:代表|代)\)?|tel\.?|電話|phone|:|：")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_JP_NATIONAL = re.compile(r"0([1-9]\d{8,9})|\+81([1-9]\d{8,9})")


def normalize_phone(raw: str | None, region: str = "JP") -> PhoneNumber | None:
    """The number in E.164, or None when blank or not a valid number for the region."""
    if raw is None:
        return None
    text = normalize_text(raw)
    extension = None
    if match := _EXTENSION.search(text):
        extension, text = match[1], text[: match.start()]
    text = _PHONE_NOISE.sub(" ", text).strip()
    if not text:
        return None
    if region == "JP" and (digits := _JP_NATIONAL.fullmatch(_PHONE_SEPARATORS.sub("", text))):
        # The common case, built directly: phonenumbers.parse costs three times the check.
        national = digits[1] or digits[2]
        number = phonenumbers.PhoneNumber(country_code=81, national_number=int(national))
        if not phonenumbers.is_valid_number(number):
            return None
        return PhoneNumber(e164=f"+81{national}", extension=extension)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return PhoneNumber(e164=e164, extension=extension or number.extension or None)


# --- email and web domains --------------------------------------------------------------------

# Mailboxes anyone can open: sharing one says nothing about sharing a company. ISP domains are
# here too, since small Japanese firms often use their provider's address.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.co.jp",
        "ymail.ne.jp",
        "yahoo.com",
        "yahoo.ne.jp",
        "hotmail.com",
        "hotmail.co.jp",
        "outlook.com",
        "outlook.jp",
        "live.jp",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "zoho.com",
        "gmx.com",
        "mail.com",
        "qq.com",
        "163.com",
        "naver.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "ymobile.ne.jp",
        "nifty.com",
        "nifty.ne.jp",
        "ocn.ne.jp",
        "biglobe.ne.jp",
        "so-net.ne.jp",
        "plala.or.jp",
        "dion.ne.jp",
        "ybb.ne.jp",
        "odn.ne.jp",
        "infoseek.jp",
        "excite.co.jp",
        "goo.jp",
        "mail.goo.ne.jp",
        "jcom.home.ne.jp",
        "zaq.ne.jp",
        "eonet.ne.jp",
        "tiki.ne.jp",
        "coara.or.jp",
        "sannet.ne.jp",
        "hi-ho.ne.jp",
        "kcn.ne.jp",
        "ab.auone-net.jp",
    }
)

# Local parts that name a function, not a person.
ROLE_LOCAL_PARTS = frozenset(
    {
        "info",
        "information",
        "sales",
        "support",
        "contact",
        "contactus",
        "inquiry",
        "inquiries",
        "enquiry",
        "toiawase",
        "otoiawase",
        "office",
        "admin",
        "administrator",
        "webmaster",
        "postmaster",
        "hostmaster",
        "noreply",
        "no-reply",
        "donotreply",
        "hr",
        "recruit",
        "saiyo",
        "saiyou",
        "jinji",
        "eigyo",
        "eigyou",
        "soumu",
        "somu",
        "keiri",
        "press",
        "pr",
        "koho",
        "kouhou",
        "marketing",
        "customer",
        "service",
        "help",
        "helpdesk",
        "desk",
        "mail",
        "staff",
        "team",
        "hello",
        "general",
        "order",
        "orders",
        "billing",
        "accounts",
        "uketsuke",
        "madoguchi",
        "daihyo",
        "お問い合わせ",
        "お問合せ",
        "お問合わせ",
        "問い合わせ",
        "問合せ",
        "営業",
        "総務",
        "採用",
        "広報",
        "人事",
        "経理",
        "代表",
        "受付",
        "窓口",
        "サポート",
        "インフォ",
    }
)
# A local part starting with one of these (info-tokyo, sales.east) is a role mailbox too.
ROLE_PREFIXES = ("info", "sales", "support", "contact", "inquiry", "toiawase", "webmaster")
_LOCAL_TOKEN = re.compile(r"[._+\-]")
# Second-level labels under which a registrant gets the third label (example.co.jp, x.com.au).
_SECOND_LEVELS = frozenset(
    {"co", "ne", "or", "ac", "go", "gr", "ed", "lg", "ad", "com", "net", "org"}
)


def registrable_domain(host: str) -> str:
    """The domain a company registers: tokyo.example.co.jp → example.co.jp, www.x.com → x.com."""
    labels = host.strip(".").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVELS else 2
    return ".".join(labels[-keep:])


def is_free_mail_domain(domain: str) -> bool:
    """True for gmail.com, yahoo.co.jp, ISP mail and their sub-domains."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in FREE_MAIL_DOMAINS for i in range(len(labels) - 1))


def is_role_local_part(local: str) -> bool:
    """True for info, sales-tokyo, support2, お問い合わせ …: a shared mailbox."""
    base = local.split("+", 1)[0]
    bare = base.rstrip("0123456789")
    if base in ROLE_LOCAL_PARTS or bare in ROLE_LOCAL_PARTS:
        return True
    first = _LOCAL_TOKEN.split(base, 1)[0].rstrip("0123456789")
    return first in ROLE_PREFIXES


def normalize_email(raw: str | None) -> EmailAddress | None:
    """The address folded for matching (NFKC, lower-case), or None when it is not one."""
    if raw is None:
        return None
    text = normalize_text(raw)
    if text.startswith("mailto:"):
        text = text[7:]
    local, at, domain = text.rpartition("@")
    domain = domain.rstrip(".")
    if not at or not local or "@" in local or " " in text or "." not in domain:
        return None
    if domain.startswith((".", "-")) or ".." in domain:
        return None
    return EmailAddress(
        address=f"{local}@{domain}",
        local=local,
        domain=domain,
        free_mail=is_free_mail_domain(domain),
        role=is_role_local_part(local),
    )


def is_valid_email(raw: str) -> bool:
    """Whether the address is syntactically valid (email-validator, no DNS look-up)."""
    try:
        validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# Site builders, blogs and social networks: their domain is shared by unrelated companies.
SHARED_WEB_HOSTS = frozenset(
    {
        "jimdo.com",
        "jimdofree.com",
        "jimdosite.com",
        "wixsite.com",
        "wix.com",
        "fc2.com",
        "ameblo.jp",
        "ameba.jp",
        "hatenablog.com",
        "hatena.ne.jp",
        "blogspot.com",
        "wordpress.com",
        "note.com",
        "peraichi.com",
        "thebase.in",
        "base.shop",
        "stores.jp",
        "myshopify.com",
        "rakuten.co.jp",
        "amazon.co.jp",
        "google.com",
        "facebook.com",
        "instagram.com",
        "twitter.com",
        "x.com",
        "linkedin.com",
        "line.me",
        "goo.ne.jp",
        "yahoo.co.jp",
    }
)
_URL_PREFIX = re.compile(r"^(?:[a-z][a-z0-9+.\-]*://)?(?:[^@/]*@)?")


def website_domain(raw: str | None) -> str | None:
    """The registrable domain of a website or an email address, lower-cased, or None."""
    if raw is None:
        return None
    text = normalize_text(raw)
    if "@" in text and "/" not in text:
        text = text.rpartition("@")[2]
    host = _URL_PREFIX.sub("", text).split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    if "." not in host or " " in host or not host.replace("-", "").replace(".", "").isalnum():
        return None
    domain = registrable_domain(host)
    if domain in SHARED_WEB_HOSTS:
        # yamada.jimdofree.com is Yamada's own; jimdofree.com or facebook.com is everyone's.
        return host if host != domain else None
    return domain


# --- postal codes and corporate numbers -------------------------------------------------------

_POSTAL_NOISE = re.compile(r"〒|郵便番号|[-\s:]")


def normalize_postal_code(raw: str | None) -> str | None:
    """The 7 digits of a Japanese postal code (〒123-4567 → 1234567), or None."""
    if raw is None:
        return None
    digits = _POSTAL_NOISE.sub("", normalize_text(raw))
    return digits if len(digits) == 7 and digits.isascii() and digits.isdigit() else None


def check_corporate_number(raw: str | None) -> CorporateNumberCheck:
    """Check a 法人番号: 13 digits whose first digit is the check digit over the other twelve."""
    if raw is None:
        return CorporateNumberCheck(CorporateNumberStatus.ABSENT, None)
    compact = normalize_text(raw).replace("-", "").replace(" ", "")
    if not compact:
        return CorporateNumberCheck(CorporateNumberStatus.ABSENT, None)
    try:
        return CorporateNumberCheck(CorporateNumberStatus.VALID, cn.validate(compact))
    except ValidationError:
        return CorporateNumberCheck(CorporateNumberStatus.INVALID, compact)


# --- addresses --------------------------------------------------------------------------------

PREFECTURES = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
]
# Cities an address may start with, its prefecture left out: the 政令指定都市 and the 特別区
# whose names no ward elsewhere shares (中央区, 港区 and 北区 exist in other cities too).
_CITY_PREFECTURE = {
    "札幌市": "北海道",
    "仙台市": "宮城県",
    "さいたま市": "埼玉県",
    "千葉市": "千葉県",
    "横浜市": "神奈川県",
    "川崎市": "神奈川県",
    "相模原市": "神奈川県",
    "新潟市": "新潟県",
    "静岡市": "静岡県",
    "浜松市": "静岡県",
    "名古屋市": "愛知県",
    "京都市": "京都府",
    "大阪市": "大阪府",
    "堺市": "大阪府",
    "神戸市": "兵庫県",
    "岡山市": "岡山県",
    "広島市": "広島県",
    "北九州市": "福岡県",
    "福岡市": "福岡県",
    "熊本市": "熊本県",
    **{
        f"{ward}区": "東京都"
        for ward in [
            "千代田",
            "新宿",
            "文京",
            "台東",
            "墨田",
            "江東",
            "品川",
            "目黒",
            "大田",
            "世田谷",
            "渋谷",
            "中野",
            "杉並",
            "豊島",
            "荒川",
            "板橋",
            "練馬",
            "足立",
            "葛飾",
            "江戸川",
        ]
    },
}
# Municipalities whose own name holds 市/区/町/村/郡, which a plain "up to the first 市" reading
# would cut short.
_ODD_CITIES = [
    "大和郡山市",
    "小郡市",
    "蒲郡市",
    "四日市市",
    "廿日市市",
    "野々市市",
    "大町市",
    "十日町市",
    "東村山市",
    "武蔵村山市",
    "羽村市",
    "大村市",
    "田村市",
    "村山市",
    "余市町",
    "上市町",
    "市川市",
    "市原市",
    "町田市",
    "郡山市",
    "郡上市",
]
_PREFECTURE = re.compile(rf"^(?:{'|'.join(PREFECTURES)})")
_CITY = re.compile(
    rf"^(?:(?P<odd>{'|'.join(_ODD_CITIES)})|(?:[^\d市区町村郡]{{1,5}}郡)?(?P<city>[^\d]{{1,7}}?[市区町村]))"
)
_WARD = re.compile(r"^[^\d市区]{1,4}区")
_KANJI_DIGITS = {k: i for i, k in enumerate("〇一二三四五六七八九")}
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十百千]+(?=丁目|番地|番(?![町丁])|号)")
_BLOCK_SUFFIX = re.compile(r"丁目|番地|番(?![町丁])|号(?!室)")
_BETWEEN_KANJI_KE = re.compile(r"(?<=[\u4e00-\u9fff])[ヶケヵが](?=[\u4e00-\u9fff])")
_BLOCK = re.compile(r"\d+(?:-\d+)*")
_DASH_REPEAT = re.compile("-{2,}")
_NO_BETWEEN_NUMBERS = re.compile(r"(?<=[\d-])の(?=\d)")
_LEADING_POSTAL = re.compile(r"^(?:〒|郵便番号)?\s*\d{3}-?\d{4}\s*")


def _kanji_number(match: re.Match[str]) -> str:
    """Kanji numerals as digits: 三 → 3, 十二 → 12, 二十三 → 23, 百五 → 105."""
    total, current = 0, 0
    for ch in match[0]:
        if ch in _KANJI_DIGITS:
            current = current * 10 + _KANJI_DIGITS[ch]
        else:
            unit = {"十": 10, "百": 100, "千": 1000}[ch]
            total += (current or 1) * unit
            current = 0
    return str(total + current)


def normalize_address(raw: str | None) -> Address | None:
    """Prefecture, city and a street key (丁目/番地/号 and every dash as -) of an address."""
    if raw is None:
        return None
    normalized = normalize_text(raw)
    text = _LEADING_POSTAL.sub("", normalized.replace(" ", ""))
    text = text.removeprefix("日本国").removeprefix("日本")
    if not text:
        return None
    prefecture = None
    if match := _PREFECTURE.match(text):
        prefecture, text = match[0], text[match.end() :]
    city = None
    if match := _CITY.match(text):
        city = match["odd"] or match["city"]
        text = text[match.end() :]
        if city.endswith("市") and (ward := _WARD.match(text)):
            text = text[ward.end() :]  # a 政令指定都市's ward: the city decides "another city"
    if prefecture is None and city is not None:
        prefecture = _CITY_PREFECTURE.get(city)
    street = _KANJI_NUMBER.sub(_kanji_number, text.replace("大字", ""))
    street = _BLOCK_SUFFIX.sub("-", street)
    street = _NO_BETWEEN_NUMBERS.sub("-", street)
    street = _BETWEEN_KANJI_KE.sub("ケ", street)
    street = _DASH_REPEAT.sub("-", street)
    # The street ends at the first 1-2-3 run (Sapporo's 北1条西2-1-1 has a bare 1 first);
    # what follows is the building and floor, which tenants of one address do not share.
    blocks = list(_BLOCK.finditer(street))
    block = next((b for b in blocks if "-" in b[0]), blocks[0] if blocks else None)
    street = street[: block.end()] if block else street.strip("-")
    key = f"{city}{street}" if city and street else None
    return Address(raw, normalized, prefecture, city, key)
