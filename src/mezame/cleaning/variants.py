"""How people write the same company differently: variant generators for planting duplicates.

Pure. Demo data, tests and the benchmark plant duplicates with these, so that what detection is
measured on is what the normaliser is meant to absorb: legal forms moved or abbreviated (前株/後株,
㈱, (株), Co., Ltd.), full-/half-width forms, spaces, dash and 異体字 variants, reformatted phone
numbers and addresses — and, apart from those, plain typos.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import jaconv
from stdnum.jp import cn

from mezame.cleaning.normalize import LegalForm, LegalFormPosition

# How each legal form is written before/after a Japanese name, and in English (after only).
JAPANESE_SPELLINGS: dict[LegalForm, tuple[str, ...]] = {
    LegalForm.KABUSHIKI: ("株式会社", "(株)", "（株）", "㈱"),
    LegalForm.YUGEN: ("有限会社", "(有)", "（有）", "㈲"),
    LegalForm.GODO: ("合同会社", "(同)", "（同）"),
    LegalForm.GOSHI: ("合資会社", "(資)"),
    LegalForm.GOMEI: ("合名会社", "(名)"),
    LegalForm.IPPAN_SHADAN: ("一般社団法人", "(一社)", "（一社）"),
    LegalForm.IPPAN_ZAIDAN: ("一般財団法人", "(一財)"),
    LegalForm.KOEKI_SHADAN: ("公益社団法人", "(公社)"),
    LegalForm.KOEKI_ZAIDAN: ("公益財団法人", "(公財)"),
    LegalForm.SHADAN: ("社団法人", "㈳"),
    LegalForm.ZAIDAN: ("財団法人", "㈶"),
    LegalForm.IRYO: ("医療法人", "医療法人社団", "(医)"),
    LegalForm.GAKKO: ("学校法人", "㈻"),
    LegalForm.SHAKAI_FUKUSHI: ("社会福祉法人", "(福)"),
    LegalForm.NPO: ("特定非営利活動法人", "NPO法人"),
}
ENGLISH_SPELLINGS: dict[LegalForm, tuple[str, ...]] = {
    LegalForm.KABUSHIKI: (
        "Co., Ltd.",
        "Co.,Ltd.",
        "CO., LTD.",
        "Co. Ltd",
        "Inc.",
        "Corporation",
        "Corp.",
        "K.K.",
    ),
    LegalForm.YUGEN: ("Y.K.",),
    LegalForm.GODO: ("LLC", "G.K."),
}
# 新字体 → 異体字 people type for the same name (髙島屋, 山﨑).
VARIANT_KANJI = {"高": "髙", "崎": "﨑", "沢": "澤", "辺": "邊", "浜": "濱", "国": "國", "広": "廣"}
_DASHES = ("‐", "−", "–", "―", "ｰ")
# Kanji that an IME swaps for one another: the typos people make in a name.
_CONFUSABLE = {
    "協": "共",
    "共": "協",
    "工": "興",
    "興": "工",
    "精": "製",
    "製": "精",
    "成": "正",
    "正": "成",
    "産": "参",
    "電": "伝",
    "機": "器",
    "器": "機",
    "業": "行",
    "会": "界",
    "商": "小",
    "事": "時",
    "田": "多",
    "野": "乃",
    "島": "嶋",
    "藤": "東",
    "東": "藤",
    "光": "工",
    "和": "輪",
    "新": "真",
    "信": "進",
    "進": "信",
    "ン": "ソ",
    "ソ": "ン",
    "シ": "ツ",
    "ツ": "シ",
    "ー": "",
    "ッ": "ツ",
}


def write_name(
    stem: str,
    form: LegalForm | None,
    position: LegalFormPosition,
    spelling: str | None = None,
    separator: str = "",
) -> str:
    """The name as written: stem with its legal form, in the given spelling, before or after."""
    if form is None or position is LegalFormPosition.NONE:
        return stem
    written = spelling or form.value
    if position is LegalFormPosition.BEFORE:
        return f"{written}{separator}{stem}"
    return f"{stem}{separator or (' ' if written.isascii() else '')}{written}"


def spellings(form: LegalForm, position: LegalFormPosition) -> tuple[str, ...]:
    """Every spelling of form usable at position (English ones only after the name)."""
    japanese = JAPANESE_SPELLINGS.get(form, (form.value,))
    if position is LegalFormPosition.AFTER:
        return japanese + ENGLISH_SPELLINGS.get(form, ())
    return japanese


def full_width(text: str) -> str:
    """Letters, digits and symbols as full-width characters (ＡＢＣ１２３)."""
    return str(jaconv.h2z(text, kana=True, ascii=True, digit=True))


def half_width(text: str) -> str:
    """Katakana, letters and digits as half-width characters (ﾔﾏﾀﾞ)."""
    return str(jaconv.z2h(text, kana=True, ascii=True, digit=True))


def name_variant(
    rng: random.Random, stem: str, form: LegalForm | None, position: LegalFormPosition
) -> str:
    """Another way of writing the same company: legal form moved, abbreviated, dropped or
    spelled in English, full-/half-width, spaces, dash and 異体字 variants. Never a typo."""
    roll = rng.random()
    if form is not None and roll < 0.15:
        position = LegalFormPosition.NONE  # the legal form left out
    elif form is not None and roll < 0.35:
        position = (
            LegalFormPosition.AFTER
            if position is LegalFormPosition.BEFORE
            else LegalFormPosition.BEFORE
        )
    written_stem = stem
    if rng.random() < 0.2:
        written_stem = "".join(VARIANT_KANJI.get(ch, ch) for ch in written_stem)
    if "ー" in written_stem and rng.random() < 0.3:
        written_stem = written_stem.replace("ー", rng.choice(_DASHES))
    if "・" in written_stem and rng.random() < 0.4:
        written_stem = written_stem.replace("・", rng.choice(("", "･", " ")))
    if len(written_stem) >= 4 and rng.random() < 0.15:
        cut = rng.randrange(1, len(written_stem))
        written_stem = written_stem[:cut] + rng.choice((" ", "\u3000")) + written_stem[cut:]
    spelling = None
    if form is not None and position is not LegalFormPosition.NONE:
        spelling = rng.choice(spellings(form, position))
    separator = rng.choice(("", "", " ", "\u3000"))
    name = write_name(written_stem, form, position, spelling, separator)
    width = rng.random()
    if width < 0.12:
        name = half_width(name)
    elif width < 0.24:
        name = full_width(name)
    elif written_stem.isascii() and width < 0.4:
        name = name.upper() if width < 0.32 else name.lower()
    return name


def typo(rng: random.Random, stem: str) -> str:
    """The stem with one IME-style slip: a confusable kanji or kana, or a dropped character."""
    positions = [i for i, ch in enumerate(stem) if ch in _CONFUSABLE]
    if positions:
        i = rng.choice(positions)
        return stem[:i] + _CONFUSABLE[stem[i]] + stem[i + 1 :]
    if len(stem) >= 3:
        i = rng.randrange(1, len(stem))
        return stem[:i] + stem[i + 1 :]
    return stem


@dataclass(frozen=True, slots=True)
class PhoneParts:
    """A Japanese phone number as area code, exchange and subscriber digits."""

    area: str
    exchange: str
    subscriber: str

    @property
    def e164(self) -> str:
        """+81 and the digits without the trunk 0."""
        return "+81" + (self.area + self.exchange + self.subscriber)[1:]


def random_phone(rng: random.Random) -> PhoneParts:
    """A plausible fixed-line number in one of the big cities' area codes."""
    area = rng.choice(("03", "06", "045", "052", "092", "011", "022", "075", "078", "082"))
    exchange_digits = 6 - len(area)
    exchange = str(rng.randrange(2 * 10 ** (exchange_digits - 1), 10**exchange_digits))
    return PhoneParts(area, exchange, f"{rng.randrange(10_000):04d}")


def phone_variant(rng: random.Random, phone: PhoneParts) -> str:
    """The number written one of the ways Japanese files write it."""
    a, e, s = phone.area, phone.exchange, phone.subscriber
    form = rng.choice(
        (
            f"{a}-{e}-{s}",
            f"({a}){e}-{s}",
            f"{a}({e}){s}",
            f"{a}{e}{s}",
            f"+81-{a[1:]}-{e}-{s}",
            f"{a}-{e}-{s}（代表）",
            f"{a}-{e}-{s} 内線{rng.randrange(100, 999)}",
            f"{a}ー{e}ー{s}",
        )
    )
    return full_width(form) if rng.random() < 0.15 else form


@dataclass(frozen=True, slots=True)
class AddressParts:
    """A Japanese address: prefecture, city, town, 丁目-番-号 and an optional building."""

    prefecture: str
    city: str
    town: str
    block: tuple[int, int, int]
    building: str = ""


_KANJI_NUMERALS = "〇一二三四五六七八九"


def _kanji(number: int) -> str:
    if number < 10:
        return _KANJI_NUMERALS[number]
    tens, ones = divmod(number, 10)
    return (
        ("" if tens == 1 else _KANJI_NUMERALS[tens])
        + "十"
        + (_KANJI_NUMERALS[ones] if ones else "")
    )


def address_variant(rng: random.Random, address: AddressParts) -> str:
    """The address written another way: 丁目番地号 or dashes, kanji numerals, no prefecture,
    full-width digits, with or without the building."""
    chome, ban, go = address.block
    block = rng.choice(
        (
            f"{chome}-{ban}-{go}",
            f"{chome}丁目{ban}番{go}号",
            f"{chome}丁目{ban}-{go}",
            f"{_kanji(chome)}丁目{ban}番地{go}",
            f"{chome}ー{ban}ー{go}",
        )
    )
    head = address.city if rng.random() < 0.25 else address.prefecture + address.city
    building = f" {address.building}" if address.building and rng.random() < 0.5 else ""
    text = f"{head}{address.town}{block}{building}"
    return full_width(text) if rng.random() < 0.15 else text


def random_corporate_number(rng: random.Random) -> str:
    """A 13-digit 法人番号 with a correct check digit (the first digit)."""
    body = f"{rng.randrange(10**12):012d}"
    return str(cn.calc_check_digit(body)) + body


def corrupt_corporate_number(rng: random.Random, number: str) -> str:
    """The number with one digit mistyped: its check digit no longer matches."""
    i = rng.randrange(1, 13)
    # 0 ↔ 9 changes the weighted sum by a multiple of 9 and would keep the check digit right.
    others = [d for d in "0123456789" if (int(d) - int(number[i])) % 9]
    return number[:i] + rng.choice(others) + number[i + 1 :]
