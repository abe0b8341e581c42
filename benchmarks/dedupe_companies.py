"""Duplicate detection over 200,000 synthetic Japanese companies (target: under 60 s here).

Companies are drawn from a name-part vocabulary (surnames, places, coined katakana words, trade
words, legal forms), each with its own phone, domain, address and often a 法人番号; ~5 % of the
rows are planted duplicates written with mezame.cleaning.variants (the generators the tests use)
and partly stripped of their fields, a few with a typo or a corrupted 法人番号. Distinct
companies get distinct names, except planted "same name, another city" pairs, because a name
with no place can only be told apart by a human. Also measured in the same run: the all-pairs
count blocking avoids, and the floor — normalising the names alone.

    .venv/bin/python benchmarks/dedupe_companies.py [--companies N] [--seed S]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from dataclasses import dataclass

from mezame.cleaning.dedupe import CompanyRecord, find_company_duplicates
from mezame.cleaning.normalize import LegalForm, LegalFormPosition, company_name_key, normalize_text
from mezame.cleaning.variants import (
    AddressParts,
    PhoneParts,
    address_variant,
    corrupt_corporate_number,
    name_variant,
    phone_variant,
    random_corporate_number,
    typo,
    write_name,
)

REFERENCE_SECONDS = 60.0
DUPLICATE_SHARE = 0.05
SAME_NAME_OTHER_CITY_SHARE = 0.01


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _words(
    "山田 田中 佐藤 鈴木 高橋 伊藤 渡辺 中村 小林 加藤 吉田 山本 松本 井上 木村 林"
    " 清水 山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤"
    " 近藤 村上 遠藤 青木 坂本 斉藤 福田 太田 西村 藤井 金子 岡本 藤原 中野 三浦 原田"
    " 松田 竹内 中川 小野 田村 和田 石田 上田 森田 柴田 酒井 工藤 横山 宮崎 宮本 内田"
    " 高木 安藤 島田 谷口 大野 高田 丸山 今井 河野 藤本 村田 武田 上野 杉山 増田 小山"
    " 大塚 平野 菅原 久保 松井 岩崎 桜井 木下 野口 松尾 菊地 野村"
)
PLACES = _words(
    "東京 大阪 名古屋 横浜 京都 神戸 札幌 仙台 広島 福岡 北海道 東北 関東 関西 九州 四国 中部 北陸"
    " 東海 湘南 多摩 武蔵野 東日本 西日本 日本 東洋 大和 富士 信州 北斗 朝日 旭 昭和 平成 明治 三協"
    " 三共 三和 共栄 協和 共和 太陽 日の出 日進 日新 第一 中央 国際 新日本 全日本 白鳥 若葉 青葉"
    " 千代田 浪速 筑紫 瀬戸内 南海 北陸 常磐 房総 越後 出雲 吉備 阿蘇 琉球 蝦夷 飛騨 紀州 播磨"
)
COINED = _words(
    "サンライズ アルファ ベータ オメガ グローバル ユニバーサル パシフィック アジア ジャパン"
    " ネクスト フューチャー ミライ スマイル ハーモニー エース トップ ワールド クリエイト"
    " テクノ ネオ プライム ロイヤル ゴールド シルバー ブルー グリーン スター"
    " サン スカイ オーシャン マリン フォレスト リバー アーバン メトロ シティ"
    " ライフ ヘルス ケア ビジョン インター ユニ エコ デジタル スマート"
    " リンク ネット クラウド データ アイ・エム ケイ・ティー エヌ・エス ベイサイド ハーバー"
    " コスモ"
)
MIDDLES = [""] * 12 + _words(
    "精密 総合 技研 産業 電子 機械 化成 物産 通商 開発 興産 ビジネス エンジニア テック"
    " メディカル フード ホーム ライン システム 情報 環境 設備 工芸"
)
TRADES = _words(
    "製作所 工業 商事 電機 建設 運輸 食品 化学 システム テクノロジー ソリューションズ 物流 不動産"
    " 印刷 商店 興業 産業 通信 電子 設計 サービス ホールディングス エンジニアリング 開発 精工 製薬"
    " 工務店 商会 販売 企画 技研 電設 設備 鋼業 木材 紙業 薬品 塗装 運送 観光 保険サービス"
    " コンサルティング 研究所 製菓 酒造 水産 農園 繊維 化工 産商"
)
FORMS = (
    [(LegalForm.KABUSHIKI, LegalFormPosition.BEFORE)] * 40
    + [(LegalForm.KABUSHIKI, LegalFormPosition.AFTER)] * 30
    + [(LegalForm.YUGEN, LegalFormPosition.BEFORE)] * 10
    + [(LegalForm.YUGEN, LegalFormPosition.AFTER)] * 5
    + [(LegalForm.GODO, LegalFormPosition.BEFORE)] * 5
    + [(LegalForm.IPPAN_SHADAN, LegalFormPosition.BEFORE)] * 2
    + [(LegalForm.IRYO, LegalFormPosition.BEFORE)] * 2
    + [(None, LegalFormPosition.NONE)] * 6
)
# (prefecture, city, area code, postal area) — towns are shared between cities on purpose.
CITIES = (
    ("東京都", "千代田区", "03", "100"),
    ("東京都", "中央区", "03", "104"),
    ("東京都", "港区", "03", "105"),
    ("東京都", "新宿区", "03", "160"),
    ("東京都", "品川区", "03", "141"),
    ("東京都", "大田区", "03", "144"),
    ("東京都", "八王子市", "042", "192"),
    ("神奈川県", "横浜市", "045", "231"),
    ("神奈川県", "川崎市", "044", "210"),
    ("埼玉県", "さいたま市", "048", "330"),
    ("千葉県", "千葉市", "043", "260"),
    ("大阪府", "大阪市", "06", "530"),
    ("大阪府", "堺市", "072", "590"),
    ("愛知県", "名古屋市", "052", "450"),
    ("京都府", "京都市", "075", "600"),
    ("兵庫県", "神戸市", "078", "650"),
    ("北海道", "札幌市", "011", "060"),
    ("宮城県", "仙台市", "022", "980"),
    ("広島県", "広島市", "082", "730"),
    ("福岡県", "福岡市", "092", "810"),
    ("静岡県", "浜松市", "053", "430"),
    ("新潟県", "新潟市", "025", "950"),
)
TOWNS = _words(
    "本町 栄町 中町 緑町 旭町 錦町 幸町 寿町 港町 駅前 新町 東町 西町 南町 北町 元町 大手町 桜町"
)


@dataclass(slots=True)
class Company:
    """One real company behind the rows."""

    stem: str
    form: LegalForm | None
    position: LegalFormPosition
    corporate_number: str | None
    phone: PhoneParts | None
    domain: str | None
    address: AddressParts | None
    postal: str | None

    @property
    def name(self) -> str:
        return write_name(self.stem, self.form, self.position)


def _stem(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        head = rng.choice(SURNAMES + PLACES) + rng.choice(COINED)  # 山田テクノ, 大阪アルファ
    elif roll < 0.6:
        head = rng.choice(SURNAMES)
    elif roll < 0.8:
        head = rng.choice(PLACES)
    else:
        head = rng.choice(COINED)
    return head + rng.choice(MIDDLES) + rng.choice(TRADES)


def _company(rng: random.Random, stem: str, used_phones: set[str], serial: int) -> Company:
    prefecture, city, area, zone = rng.choice(CITIES)
    form, position = rng.choice(FORMS)
    phone = None
    if rng.random() < 0.85:
        while phone is None or phone.e164 in used_phones:
            digits = 6 - len(area) + 4
            local = str(rng.randrange(2 * 10 ** (digits - 1), 10**digits))
            phone = PhoneParts(area, local[:-4], local[-4:])
        used_phones.add(phone.e164)
    address = None
    if rng.random() < 0.85:
        block = (rng.randint(1, 9), rng.randint(1, 30), rng.randint(1, 25))
        building = f"{stem[:2]}ビル{rng.randint(2, 9)}F" if rng.random() < 0.3 else ""
        address = AddressParts(prefecture, city, rng.choice(TOWNS), block, building)
    return Company(
        stem=stem,
        form=form,
        position=position,
        corporate_number=random_corporate_number(rng) if rng.random() < 0.5 else None,
        phone=phone,
        domain=f"c{serial:06d}.co.jp" if rng.random() < 0.4 else None,
        address=address,
        postal=f"{zone}{rng.randrange(10_000):04d}" if rng.random() < 0.6 else None,
    )


def _row(rng: random.Random, company: Company, duplicate: bool) -> dict[str, str | None]:
    """A row as someone typed it; a duplicate keeps each field with some chance, reformatted."""
    keep = 0.6 if duplicate else 1.0
    name = company.name
    corporate = company.corporate_number
    if duplicate:
        stem = typo(rng, company.stem) if rng.random() < 0.05 else company.stem
        name = name_variant(rng, stem, company.form, company.position)
        if corporate and rng.random() < 0.05:
            corporate = corrupt_corporate_number(rng, corporate)
    phone, address = company.phone, company.address
    written_phone = None
    if phone and rng.random() < keep:
        plain = f"{phone.area}-{phone.exchange}-{phone.subscriber}"
        written_phone = phone_variant(rng, phone) if duplicate else plain
    return {
        "name": name,
        "corporate_number": corporate if rng.random() < keep else None,
        "phone": written_phone,
        "website": f"https://www.{company.domain}/"
        if company.domain and rng.random() < keep
        else None,
        "email": f"sales@{company.domain}" if company.domain and rng.random() < 0.3 else None,
        "postal_code": company.postal if company.postal and rng.random() < keep else None,
        "address": address_variant(rng, address) if address and rng.random() < keep else None,
    }


def synthetic_companies(n: int, seed: int) -> tuple[list[CompanyRecord], list[int]]:
    """n company rows and, per row, the index of the real company behind it."""
    rng = random.Random(seed)
    n_duplicates = int(n * DUPLICATE_SHARE)
    n_companies = n - n_duplicates
    used_names: set[str] = set()
    used_phones: set[str] = set()
    companies: list[Company] = []
    while len(companies) < n_companies:
        if companies and rng.random() < SAME_NAME_OTHER_CITY_SHARE:
            other = rng.choice(companies)
            twin = _company(rng, other.stem, used_phones, len(companies))
            if other.address and twin.address and twin.address.city != other.address.city:
                companies.append(twin)
            continue
        stem = _stem(rng)
        if stem in used_names:
            continue
        used_names.add(stem)
        companies.append(_company(rng, stem, used_phones, len(companies)))
    truth = list(range(n_companies)) + [rng.randrange(n_companies) for _ in range(n_duplicates)]
    rng.shuffle(truth)
    records = []
    seen: set[int] = set()
    for row, company_index in enumerate(truth):
        values = _row(rng, companies[company_index], duplicate=company_index in seen)
        seen.add(company_index)
        records.append(
            CompanyRecord(
                id=row,
                external_id=f"K{row:07d}",
                name=str(values["name"]),
                corporate_number=values["corporate_number"],
                phone=values["phone"],
                website=values["website"],
                email_domains=(values["email"],) if values["email"] else (),
                postal_code=values["postal_code"],
                address=values["address"],
            )
        )
    return records, truth


def pairwise(clusters: list[tuple[int, ...]], truth: list[int]) -> tuple[float, float]:
    """Pairwise precision and recall of predicted clusters against the true companies."""
    predicted = {pair for ids in clusters for pair in itertools.combinations(sorted(ids), 2)}
    groups: dict[int, list[int]] = {}
    for row, company in enumerate(truth):
        groups.setdefault(company, []).append(row)
    true = {pair for rows in groups.values() for pair in itertools.combinations(rows, 2)}
    hits = len(predicted & true)
    return hits / max(1, len(predicted)), hits / max(1, len(true))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=20260301)
    args = parser.parse_args()

    started = time.perf_counter()
    records, truth = synthetic_companies(args.companies, args.seed)
    print(f"generated {len(records):,} rows in {time.perf_counter() - started:.1f} s")

    # The floor: normalising the names alone, caches cold.
    normalize_text.cache_clear()
    started = time.perf_counter()
    for record in records:
        company_name_key(record.name)
    floor = time.perf_counter() - started
    normalize_text.cache_clear()

    started = time.perf_counter()
    report = find_company_duplicates(records)
    elapsed = time.perf_counter() - started

    precision, recall = pairwise([c.ids for c in report.clusters], truth)
    stats = report.stats
    print(f"detection: {elapsed:.1f} s, {len(records) / elapsed:,.0f} companies/s")
    print(f"floor (names normalised only): {floor:.1f} s")
    print(f"all pairs avoided: {stats.all_pairs:,}")
    print(f"pairs after blocking: {stats.pairs_after_blocking:,}")
    print(f"candidates (>= review): {stats.candidates:,}; clusters: {len(report.clusters):,}")
    print(f"capped blocks: {stats.capped_blocks}")
    print(f"auto-merge clusters: {sum(c.auto for c in report.clusters):,}")
    print(f"pairwise precision {precision:.4f}, recall {recall:.4f}")
    print(
        json.dumps(
            {
                "name": "dedupe_companies_200k",
                "figure": round(elapsed, 2),
                "unit": "s",
                "reference": REFERENCE_SECONDS,
                "ratio": round(elapsed / REFERENCE_SECONDS, 4),
                "companies": len(records),
                "companies_per_s": round(len(records) / elapsed),
                "floor_normalise_names_s": round(floor, 2),
                "all_pairs": stats.all_pairs,
                "pairs_after_blocking": stats.pairs_after_blocking,
                "candidates": stats.candidates,
                "precision": round(precision, 4),
                "recall": round(recall, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
