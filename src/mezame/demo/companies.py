"""Demo companies: names, places, corporate numbers, re-entered duplicates and near misses."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import numpy as np

from mezame.demo import lexicon as lx
from mezame.demo.timeline import randint, weighted

Word = tuple[str, str, str]  # kanji, kana, romaji

# Near misses: distinct companies a careless merge would fold together.
NEAR_MISS_KINDS = ("truncated", "homophone", "similar_core", "same_name_other_city")
_CORP_KIND_CODE = {"株式会社": "01", "有限会社": "02", "合同会社": "05"}
_WEIGHTS = (1, 2) * 6


def corporate_check_digit(base12: str) -> str:
    """The 法人番号 check digit: 9 − (Σ Pn×Qn mod 9), Pn from the right, Qn = 1, 2, 1, 2, …"""
    if len(base12) != 12 or not base12.isdigit():
        raise ValueError(f"a corporate number base has 12 digits, not {base12!r}")
    total = sum(w * int(d) for w, d in zip(_WEIGHTS, reversed(base12), strict=True))
    return str(9 - total % 9)


def is_valid_corporate_number(number: str) -> bool:
    """True for 13 digits (after NFKC) whose first digit is the check digit of the other twelve."""
    digits = unicodedata.normalize("NFKC", number)
    return len(digits) == 13 and digits.isdigit() and digits[0] == corporate_check_digit(digits[1:])


@dataclass(slots=True)
class Firm:
    """One real company; a planted duplicate is a second company row for the same firm."""

    index: int
    external_id: str
    stem: Word
    core: Word
    legal: int  # index into lexicon.LEGAL_FORMS
    legal_first: bool  # 前株 (株式会社山田) or 後株 (山田株式会社)
    industry: str
    place: int  # index into lexicon.PLACES
    address: str
    postal_code: str
    phone: str
    domain: str
    website: str | None
    employees: int
    corporate_number: str | None  # as registered (valid)
    written_corporate_number: str | None  # as typed into the CRM (a few are wrong)
    owner: int
    near_miss: str | None = None
    notes: str | None = None

    @property
    def base(self) -> str:
        return self.stem[0] + self.core[0]

    @property
    def legal_form(self) -> str:
        return lx.LEGAL_FORMS[self.legal][0]

    @property
    def name(self) -> str:
        return self.legal_form + self.base if self.legal_first else self.base + self.legal_form

    @property
    def kana(self) -> str:
        return self.stem[1] + self.core[1]

    @property
    def english(self) -> str:
        return f"{self.stem[2]} {self.core[2]} {lx.LEGAL_FORMS[self.legal][4]}"

    @property
    def short_name(self) -> str:
        return self.base


@dataclass(slots=True)
class DuplicateRecord:
    """The same firm re-entered under another 顧客コード, written differently."""

    firm: int
    external_id: str
    name: str
    variants: list[str]
    phone: str | None
    corporate_number: str | None
    address: str | None
    postal_code: str | None
    shares_phone: bool
    shares_corporate_number: bool


@dataclass(slots=True)
class CompanyBook:
    """Every firm, the duplicate rows and the near-miss pairs."""

    firms: list[Firm]
    duplicates: list[DuplicateRecord]
    near_misses: list[tuple[int, int, str]] = field(default_factory=list)
    invalid_corporate_numbers: list[int] = field(default_factory=list)


_INDUSTRY_WEIGHTS = [i[2] for i in lx.INDUSTRIES]
_LEGAL_WEIGHTS = [f[5] for f in lx.LEGAL_FORMS]
_PLACE_WEIGHTS = [p.weight for p in lx.PLACES]


def _digits(rng: np.random.Generator, n: int, *, first_nonzero: bool = False) -> str:
    low = 2 * 10 ** (n - 1) if first_nonzero else 0
    return f"{randint(rng, low, 10**n):0{n}d}"


def _phone(rng: np.random.Generator, place: int) -> str:
    area, local = lx.PLACES[place].area_code, lx.PLACES[place].local_digits
    number = _digits(rng, local, first_nonzero=True)
    cut = local - 4
    return f"{area}-{number[:cut]}-{number[cut:]}"


def _mobile(rng: np.random.Generator) -> str:
    prefix = ("090", "080", "070")[randint(rng, 0, 3)]
    return f"{prefix}-{_digits(rng, 4, first_nonzero=True)}-{_digits(rng, 4)}"


def _address(rng: np.random.Generator, place: int, stem: str) -> tuple[str, str]:
    pref, city, towns, *_ = lx.PLACES[place]
    town = towns[randint(rng, 0, len(towns))]
    chome, ban, go = randint(rng, 1, 6), randint(rng, 1, 30), randint(rng, 1, 25)
    address = f"{pref}{city}{town}{chome}-{ban}-{go}"
    if rng.random() < 0.45:
        building = lx.BUILDINGS[randint(rng, 0, len(lx.BUILDINGS))]
        address += f" {stem}{building}{randint(rng, 1, 9)}F"
    postal = f"{lx.PLACES[place].postal_prefix}-{_digits(rng, 4)}"
    return address, postal


class _Registry:
    """Draws unique names, domains and corporate numbers."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.names: set[tuple[str, int]] = set()  # (base, place): same name elsewhere is allowed
        self.bases: set[str] = set()
        self.domains: set[str] = set()
        self.numbers: set[str] = set()

    def corporate_number(self, place: int, legal_form: str) -> str:
        offices = lx.PLACES[place].registry_offices
        while True:
            office = offices[randint(self.rng, 0, len(offices))]
            base = office + _CORP_KIND_CODE[legal_form] + _digits(self.rng, 6)
            number = corporate_check_digit(base) + base
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def domain(self, stem: Word, core: Word, legal: int) -> str:
        slug = f"{stem[2]}-{core[2]}".lower().replace(" ", "")
        tld = ".co.jp" if legal == 0 else (".jp", ".com", ".co.jp")[randint(self.rng, 0, 3)]
        candidate, n = slug + tld, 2
        while candidate in self.domains:
            candidate, n = f"{slug}{n}{tld}", n + 1
        self.domains.add(candidate)
        return candidate


_REGION_PREFIXES: tuple[Word, ...] = (
    ("東", "ヒガシ", "Higashi"),
    ("西", "ニシ", "Nishi"),
    ("南", "ミナミ", "Minami"),
    ("北", "キタ", "Kita"),
    ("新", "シン", "Shin"),
    ("第一", "ダイイチ", "Daiichi"),
)


def _free_stem(rng: np.random.Generator, reg: _Registry, cores: list[str]) -> Word:
    """A stem that makes a new name with every one of `cores`."""
    for attempt in range(400):
        stem = lx.COMPANY_STEMS[randint(rng, 0, len(lx.COMPANY_STEMS))]
        if attempt >= 100:  # a very large world runs out of two-part names: prefix a region
            region = _REGION_PREFIXES[randint(rng, 0, len(_REGION_PREFIXES))]
            stem = (region[0] + stem[0], region[1] + stem[1], region[2] + stem[2].lower())
        if all(stem[0] + core not in reg.bases for core in cores):
            return stem
    raise RuntimeError("could not draw a unique company name")


def _draw_identity(rng: np.random.Generator, reg: _Registry) -> tuple[Word, Word, int]:
    """An industry, and a stem and core whose combination is not taken yet."""
    ind = weighted(rng, _INDUSTRY_WEIGHTS)
    cores = lx.INDUSTRIES[ind][1]
    core = cores[randint(rng, 0, len(cores))]
    return _free_stem(rng, reg, [core[0]]), core, ind


def _make_firm(
    rng: np.random.Generator,
    reg: _Registry,
    index: int,
    stem: Word,
    core: Word,
    industry: int,
    *,
    n_owners: int,
    place: int | None = None,
) -> Firm:
    legal = weighted(rng, _LEGAL_WEIGHTS)
    if place is None:
        place = weighted(rng, _PLACE_WEIGHTS)
    reg.bases.add(stem[0] + core[0])
    reg.names.add((stem[0] + core[0], place))
    address, postal = _address(rng, place, stem[0])
    employees = int(np.clip(rng.lognormal(3.4, 1.1), 2, 3000))
    number: str | None = reg.corporate_number(place, lx.LEGAL_FORMS[legal][0])
    # Small firms' records often lack the 法人番号: nobody looked it up.
    if rng.random() < (0.22 if employees < 20 else 0.08):
        number = None
    domain = reg.domain(stem, core, legal)
    return Firm(
        index=index,
        external_id=f"K{10001 + index}",
        stem=stem,
        core=core,
        legal=legal,
        legal_first=bool(rng.random() < 0.6),
        industry=lx.INDUSTRIES[industry][0],
        place=place,
        address=address,
        postal_code=postal,
        phone=_phone(rng, place),
        domain=domain,
        website=None if rng.random() < 0.15 else f"https://www.{domain}/",
        employees=employees,
        corporate_number=number,
        written_corporate_number=number,
        owner=randint(rng, 0, n_owners),
        notes=lx.COMPANY_NOTES[randint(rng, 0, len(lx.COMPANY_NOTES))]
        if rng.random() < 0.12
        else None,
    )


def _core(kanji: str) -> tuple[Word, int]:
    """The core word and its industry, looked up by its kanji."""
    for ind, (_, cores, _) in enumerate(lx.INDUSTRIES):
        for core in cores:
            if core[0] == kanji:
                return core, ind
    raise KeyError(kanji)


def _near_miss_pair(
    rng: np.random.Generator, reg: _Registry, kind: str, index: int, n_owners: int
) -> tuple[Firm, Firm]:
    """Two distinct firms whose names a careless merge would equate."""
    if kind == "truncated":  # 山田製作所 vs 山田製作
        a_core, ind = _core("製作所")
        b_core = ("製作", "セイサク", "Seisaku")
        stem = _free_stem(rng, reg, [a_core[0], b_core[0]])
        a = _make_firm(rng, reg, index, stem, a_core, ind, n_owners=n_owners)
        b = _make_firm(rng, reg, index + 1, stem, b_core, ind, n_owners=n_owners)
    elif kind == "homophone":  # 三協工業 vs 三共工業
        a_stem, b_stem = lx.HOMOPHONE_STEMS[randint(rng, 0, len(lx.HOMOPHONE_STEMS))]
        ind = weighted(rng, _INDUSTRY_WEIGHTS)
        cores = lx.INDUSTRIES[ind][1]
        free = [c for c in cores if {a_stem[0] + c[0], b_stem[0] + c[0]}.isdisjoint(reg.bases)]
        core = (free or list(cores))[randint(rng, 0, len(free or cores))]
        a = _make_firm(rng, reg, index, a_stem, core, ind, n_owners=n_owners)
        b = _make_firm(rng, reg, index + 1, b_stem, core, ind, n_owners=n_owners)
    elif kind == "similar_core":  # 東洋精機 vs 東洋精工
        a_kanji, b_kanji = lx.SIMILAR_CORES[randint(rng, 0, len(lx.SIMILAR_CORES))]
        (a_core, a_ind), (b_core, b_ind) = _core(a_kanji), _core(b_kanji)
        stem = _free_stem(rng, reg, [a_kanji, b_kanji])
        a = _make_firm(rng, reg, index, stem, a_core, a_ind, n_owners=n_owners)
        b = _make_firm(rng, reg, index + 1, stem, b_core, b_ind, n_owners=n_owners)
    else:  # same_name_other_city: 大和商会 in 大阪 and in 福岡, two different companies
        stem, core, ind = _draw_identity(rng, reg)
        a = _make_firm(rng, reg, index, stem, core, ind, n_owners=n_owners)
        other = a.place
        while lx.PLACES[other].prefecture == lx.PLACES[a.place].prefecture:
            other = weighted(rng, _PLACE_WEIGHTS)
        b = _make_firm(rng, reg, index + 1, stem, core, ind, n_owners=n_owners, place=other)
        b.legal, b.legal_first = a.legal, a.legal_first
    return a, b


_HALF_KATAKANA: dict[str, str] = {}
for _code in range(0xFF66, 0xFF9E):
    _half = chr(_code)
    _HALF_KATAKANA[unicodedata.normalize("NFKC", _half)] = _half
    for _mark in ("ﾞ", "ﾟ"):
        _composed = unicodedata.normalize("NFKC", _half + _mark)
        if len(_composed) == 1:
            _HALF_KATAKANA[_composed] = _half + _mark


def to_half_width(text: str) -> str:
    """Katakana to half-width (ｶﾀｶﾅ), as old 販売管理 systems store it."""
    return "".join(_HALF_KATAKANA.get(ch, ch) for ch in text)


def to_full_width(text: str) -> str:
    """ASCII letters and digits to full-width (ＡＢＣ１２３)."""
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch for ch in text)


def name_variant(rng: np.random.Generator, firm: Firm) -> tuple[str, list[str]]:
    """The firm's name as someone else typed it: legal-form spelling, position, width, spaces."""
    legal, abbr, circled, _, _, _ = lx.LEGAL_FORMS[firm.legal]
    base = firm.base
    labels: list[str] = []
    if firm.stem[0].isascii() and rng.random() < 0.7:
        base, labels = to_full_width(firm.stem[0]) + firm.core[0], ["全角英数"]
    elif any("ァ" <= ch <= "ヶ" for ch in base) and rng.random() < 0.5:
        base, labels = to_half_width(base), ["半角カナ"]
    elif rng.random() < 0.2:
        base, labels = f"{firm.stem[0]} {firm.core[0]}", ["空白"]
    forms: list[tuple[str, str]] = [
        (f"({abbr}){base}" if firm.legal_first else f"{base}({abbr})", f"({abbr})"),
        (f"（{abbr}）{base}" if firm.legal_first else f"{base}（{abbr}）", f"（{abbr}）"),
        (f"{base}{legal}" if firm.legal_first else f"{legal}{base}", "前後入替"),
        (base, "法人格なし"),
        (f"{legal}　{base}" if firm.legal_first else f"{base} {legal}", "空白"),
        (firm.english, "英語表記"),
    ]
    if circled:
        forms.append((f"{circled}{base}" if firm.legal_first else f"{base}{circled}", circled))
    weights = [3.0, 2.0, 2.0, 1.0, 1.0, 0.7] + ([3.0] if circled else [])
    name, label = forms[weighted(rng, weights)]
    if label == "英語表記":
        labels = []
    return name, [*labels, label]


def _phone_variant(rng: np.random.Generator, phone: str) -> str:
    digits = phone.replace("-", "")
    area, rest = phone.split("-", 1)
    choice = randint(rng, 0, 4)
    if choice == 0:
        return digits
    if choice == 1:
        middle, last = rest.split("-")
        return f"{area}({middle}){last}"
    if choice == 2:
        return to_full_width(phone).replace("-", "－")
    return phone


def make_company_book(rng: np.random.Generator, *, companies: int, n_owners: int) -> CompanyBook:
    """companies rows in all: firms, ~4 % of them re-entered as duplicates, and near-miss pairs."""
    n_dup = max(1, round(companies * 0.04))
    n_pairs = max(4, round(companies * 0.01)) if companies >= 100 else 1
    n_firms = companies - n_dup
    reg = _Registry(rng)
    firms: list[Firm] = []
    near: list[tuple[int, int, str]] = []
    for p in range(n_pairs):
        kind = NEAR_MISS_KINDS[p % len(NEAR_MISS_KINDS)]
        a, b = _near_miss_pair(rng, reg, kind, len(firms), n_owners)
        a.near_miss = b.near_miss = kind
        firms += [a, b]
        near.append((a.index, b.index, kind))
    while len(firms) < n_firms:
        stem, core, ind = _draw_identity(rng, reg)
        firms.append(_make_firm(rng, reg, len(firms), stem, core, ind, n_owners=n_owners))
    # Shuffle so the near misses are not the first rows of the file, then renumber.
    order = rng.permutation(len(firms))
    firms = [firms[int(i)] for i in order]
    position = {f.index: i for i, f in enumerate(firms)}
    for i, f in enumerate(firms):
        f.index, f.external_id = i, f"K{10001 + i}"
    near = [(position[a], position[b], k) for a, b, k in near]

    # A few numbers were typed with a wrong check digit (always invalid: any other first digit).
    with_number = [f.index for f in firms if f.corporate_number is not None]
    invalid = sorted(
        int(i) for i in rng.choice(with_number, size=max(1, len(firms) // 100), replace=False)
    )
    for i in invalid:
        number = firms[i].corporate_number
        assert number is not None
        wrong = (int(number[0]) + randint(rng, 1, 9)) % 10
        firms[i].written_corporate_number = str(wrong) + number[1:]

    candidates = [f for f in firms if f.near_miss is None]
    picked = rng.choice(len(candidates), size=min(n_dup, len(candidates)), replace=False)
    duplicates: list[DuplicateRecord] = []
    for j, k in enumerate(sorted(int(x) for x in picked)):
        f = candidates[k]
        name, labels = name_variant(rng, f)
        typed_right = f.written_corporate_number == f.corporate_number
        shares_number = f.corporate_number is not None and typed_right and rng.random() < 0.45
        number = f.corporate_number if shares_number else None
        if number is not None and "全角英数" in labels:
            number = to_full_width(number)
        shares_phone = rng.random() < 0.5
        # Re-entered by hand (next free code) or imported from a trade-show card scan.
        code = f"K{10001 + n_firms + j}" if rng.random() < 0.6 else f"EXPO-{j + 1:04d}"
        duplicates.append(
            DuplicateRecord(
                firm=f.index,
                external_id=code,
                name=name,
                variants=labels,
                phone=_phone_variant(rng, f.phone) if shares_phone else None,
                corporate_number=number,
                address=f.address.split(" ")[0] if rng.random() < 0.7 else None,
                postal_code=f.postal_code if rng.random() < 0.5 else None,
                shares_phone=shares_phone,
                shares_corporate_number=shares_number,
            )
        )
    return CompanyBook(firms, duplicates, near, invalid)


def mobile_number(rng: np.random.Generator) -> str:
    return _mobile(rng)


def direct_line(rng: np.random.Generator, firm: Firm) -> str:
    return _phone(rng, firm.place)
