"""The words of the demo world: names, places, products and the phrases salespeople write.

Pure data. Every string that lands in a CP932 file (companies, orders) must be
encodable in CP932; the unit tests write the files and so check it.
"""

from __future__ import annotations

from typing import NamedTuple

# (kanji, kana, romaji). 髙 and 齋 are CP932 extensions that break naive Shift_JIS decoding.
SURNAMES: tuple[tuple[str, str, str], ...] = (
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"),
    ("伊藤", "イトウ", "ito"),
    ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"),
    ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"),
    ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"),
    ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"),
    ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"),
    ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"),
    ("石川", "イシカワ", "ishikawa"),
    ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"),
    ("石井", "イシイ", "ishii"),
    ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"),
    ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"),
    ("後藤", "ゴトウ", "goto"),
    ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"),
    ("遠藤", "エンドウ", "endo"),
    ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"),
    ("西村", "ニシムラ", "nishimura"),
    ("福田", "フクダ", "fukuda"),
    ("太田", "オオタ", "ota"),
    ("三浦", "ミウラ", "miura"),
    ("藤井", "フジイ", "fujii"),
    ("岡本", "オカモト", "okamoto"),
    ("松田", "マツダ", "matsuda"),
    ("中川", "ナカガワ", "nakagawa"),
    ("原田", "ハラダ", "harada"),
    ("小野", "オノ", "ono"),
    ("竹内", "タケウチ", "takeuchi"),
    ("金子", "カネコ", "kaneko"),
    ("和田", "ワダ", "wada"),
    ("中山", "ナカヤマ", "nakayama"),
    ("石田", "イシダ", "ishida"),
    ("上田", "ウエダ", "ueda"),
    ("森田", "モリタ", "morita"),
    ("髙橋", "タカハシ", "takahashi"),
    ("齋藤", "サイトウ", "saito"),
    ("渡邊", "ワタナベ", "watanabe"),
)

GIVEN_NAMES: tuple[tuple[str, str, str], ...] = (
    ("健一", "ケンイチ", "kenichi"),
    ("大輔", "ダイスケ", "daisuke"),
    ("翔太", "ショウタ", "shota"),
    ("拓也", "タクヤ", "takuya"),
    ("直樹", "ナオキ", "naoki"),
    ("誠", "マコト", "makoto"),
    ("浩二", "コウジ", "koji"),
    ("剛", "ツヨシ", "tsuyoshi"),
    ("和也", "カズヤ", "kazuya"),
    ("隆", "タカシ", "takashi"),
    ("修", "オサム", "osamu"),
    ("亮", "リョウ", "ryo"),
    ("健太", "ケンタ", "kenta"),
    ("雄一", "ユウイチ", "yuichi"),
    ("哲也", "テツヤ", "tetsuya"),
    ("聡", "サトシ", "satoshi"),
    ("博之", "ヒロユキ", "hiroyuki"),
    ("一郎", "イチロウ", "ichiro"),
    ("陽介", "ヨウスケ", "yosuke"),
    ("達也", "タツヤ", "tatsuya"),
    ("恵", "メグミ", "megumi"),
    ("美香", "ミカ", "mika"),
    ("裕子", "ユウコ", "yuko"),
    ("由美", "ユミ", "yumi"),
    ("直美", "ナオミ", "naomi"),
    ("真由美", "マユミ", "mayumi"),
    ("智子", "トモコ", "tomoko"),
    ("彩", "アヤ", "aya"),
    ("さくら", "サクラ", "sakura"),
    ("麻衣", "マイ", "mai"),
    ("千尋", "チヒロ", "chihiro"),
    ("美咲", "ミサキ", "misaki"),
    ("奈々", "ナナ", "nana"),
    ("香織", "カオリ", "kaori"),
    ("理恵", "リエ", "rie"),
    ("久美子", "クミコ", "kumiko"),
)

# Name stems a Japanese company is built from: surnames, places, lucky words, katakana.
COMPANY_STEMS: tuple[tuple[str, str, str], ...] = (
    ("山田", "ヤマダ", "Yamada"),
    ("田中", "タナカ", "Tanaka"),
    ("鈴木", "スズキ", "Suzuki"),
    ("中村", "ナカムラ", "Nakamura"),
    ("小林", "コバヤシ", "Kobayashi"),
    ("加藤", "カトウ", "Kato"),
    ("吉田", "ヨシダ", "Yoshida"),
    ("松本", "マツモト", "Matsumoto"),
    ("井上", "イノウエ", "Inoue"),
    ("木村", "キムラ", "Kimura"),
    ("清水", "シミズ", "Shimizu"),
    ("池田", "イケダ", "Ikeda"),
    ("橋本", "ハシモト", "Hashimoto"),
    ("石川", "イシカワ", "Ishikawa"),
    ("前田", "マエダ", "Maeda"),
    ("藤田", "フジタ", "Fujita"),
    ("岡田", "オカダ", "Okada"),
    ("後藤", "ゴトウ", "Goto"),
    ("村上", "ムラカミ", "Murakami"),
    ("近藤", "コンドウ", "Kondo"),
    ("坂本", "サカモト", "Sakamoto"),
    ("西村", "ニシムラ", "Nishimura"),
    ("福田", "フクダ", "Fukuda"),
    ("太田", "オオタ", "Ota"),
    ("岡本", "オカモト", "Okamoto"),
    ("中野", "ナカノ", "Nakano"),
    ("原田", "ハラダ", "Harada"),
    ("竹内", "タケウチ", "Takeuchi"),
    ("金子", "カネコ", "Kaneko"),
    ("和田", "ワダ", "Wada"),
    ("石田", "イシダ", "Ishida"),
    ("柴田", "シバタ", "Shibata"),
    ("酒井", "サカイ", "Sakai"),
    ("宮本", "ミヤモト", "Miyamoto"),
    ("内田", "ウチダ", "Uchida"),
    ("高木", "タカギ", "Takagi"),
    ("安藤", "アンドウ", "Ando"),
    ("丸山", "マルヤマ", "Maruyama"),
    ("今井", "イマイ", "Imai"),
    ("藤原", "フジワラ", "Fujiwara"),
    ("平野", "ヒラノ", "Hirano"),
    ("大塚", "オオツカ", "Otsuka"),
    ("千葉", "チバ", "Chiba"),
    ("久保", "クボ", "Kubo"),
    ("杉山", "スギヤマ", "Sugiyama"),
    ("髙島", "タカシマ", "Takashima"),
    ("東洋", "トウヨウ", "Toyo"),
    ("大和", "ダイワ", "Daiwa"),
    ("日本", "ニホン", "Nihon"),
    ("中央", "チュウオウ", "Chuo"),
    ("東邦", "トウホウ", "Toho"),
    ("富士", "フジ", "Fuji"),
    ("北斗", "ホクト", "Hokuto"),
    ("昭和", "ショウワ", "Showa"),
    ("東亜", "トウア", "Toa"),
    ("太平", "タイヘイ", "Taihei"),
    ("旭", "アサヒ", "Asahi"),
    ("大成", "タイセイ", "Taisei"),
    ("共栄", "キョウエイ", "Kyoei"),
    ("丸正", "マルショウ", "Marusho"),
    ("日東", "ニットウ", "Nitto"),
    ("明和", "メイワ", "Meiwa"),
    ("朝日", "アサヒ", "Asahi"),
    ("北陸", "ホクリク", "Hokuriku"),
    ("関東", "カントウ", "Kanto"),
    ("関西", "カンサイ", "Kansai"),
    ("中部", "チュウブ", "Chubu"),
    ("東海", "トウカイ", "Tokai"),
    ("九州", "キュウシュウ", "Kyushu"),
    ("瀬戸内", "セトウチ", "Setouchi"),
    ("湘南", "ショウナン", "Shonan"),
    ("武蔵", "ムサシ", "Musashi"),
    ("相模", "サガミ", "Sagami"),
    ("城南", "ジョウナン", "Jonan"),
    ("浪速", "ナニワ", "Naniwa"),
    ("尾張", "オワリ", "Owari"),
    ("三河", "ミカワ", "Mikawa"),
    ("若葉", "ワカバ", "Wakaba"),
    ("青葉", "アオバ", "Aoba"),
    ("桜", "サクラ", "Sakura"),
    ("緑", "ミドリ", "Midori"),
    ("白鳥", "シラトリ", "Shiratori"),
    ("黒潮", "クロシオ", "Kuroshio"),
    ("光", "ヒカリ", "Hikari"),
    ("サンライズ", "サンライズ", "Sunrise"),
    ("ミライ", "ミライ", "Mirai"),
    ("テクノ", "テクノ", "Techno"),
    ("ネクスト", "ネクスト", "Next"),
    ("アーク", "アーク", "Arc"),
    ("クレスト", "クレスト", "Crest"),
    ("エムケー", "エムケー", "MK"),
    ("ケイエス", "ケイエス", "KS"),
    ("NKS", "エヌケーエス", "NKS"),
    ("ABC", "エービーシー", "ABC"),
    ("TMC", "ティーエムシー", "TMC"),
    ("JPS", "ジェーピーエス", "JPS"),
)

# Stems that sound alike but are different companies (三協/三共): the near misses.
HOMOPHONE_STEMS: tuple[tuple[tuple[str, str, str], tuple[str, str, str]], ...] = (
    (("三協", "サンキョウ", "Sankyo"), ("三共", "サンキョウ", "Sankyo")),
    (("協和", "キョウワ", "Kyowa"), ("共和", "キョウワ", "Kyowa")),
    (("新和", "シンワ", "Shinwa"), ("信和", "シンワ", "Shinwa")),
    (("大東", "ダイトウ", "Daito"), ("大同", "ダイドウ", "Daido")),
    (("東邦", "トウホウ", "Toho"), ("東方", "トウホウ", "Toho")),
    (("日光", "ニッコウ", "Nikko"), ("日興", "ニッコウ", "Nikko")),
)

# Industry → (label, name cores (kanji, kana, romaji), weight). 業種 as a CRM records it.
INDUSTRIES: tuple[tuple[str, tuple[tuple[str, str, str], ...], float], ...] = (
    (
        "製造業",
        (
            ("製作所", "セイサクショ", "Seisakusho"),
            ("工業", "コウギョウ", "Kogyo"),
            ("精機", "セイキ", "Seiki"),
            ("精工", "セイコウ", "Seiko"),
            ("電機", "デンキ", "Denki"),
            ("化成", "カセイ", "Kasei"),
            ("金属", "キンゾク", "Kinzoku"),
            ("鉄工所", "テッコウショ", "Tekkosho"),
            ("樹脂", "ジュシ", "Jushi"),
            ("機械", "キカイ", "Kikai"),
            ("技研", "ギケン", "Giken"),
            ("電子", "デンシ", "Denshi"),
            ("印刷", "インサツ", "Insatsu"),
            ("包装", "ホウソウ", "Hoso"),
        ),
        0.27,
    ),
    (
        "卸売業",
        (
            ("商事", "ショウジ", "Shoji"),
            ("物産", "ブッサン", "Bussan"),
            ("商会", "ショウカイ", "Shokai"),
            ("通商", "ツウショウ", "Tsusho"),
            ("貿易", "ボウエキ", "Boeki"),
            ("産業", "サンギョウ", "Sangyo"),
        ),
        0.14,
    ),
    (
        "小売業",
        (
            ("商店", "ショウテン", "Shoten"),
            ("ストア", "ストア", "Store"),
            ("薬品", "ヤクヒン", "Yakuhin"),
            ("販売", "ハンバイ", "Hanbai"),
        ),
        0.08,
    ),
    (
        "情報通信業",
        (
            ("システム", "システム", "System"),
            ("ソフト", "ソフト", "Soft"),
            ("情報システム", "ジョウホウシステム", "Joho System"),
            ("データ", "データ", "Data"),
            ("テック", "テック", "Tech"),
            ("ネットワークス", "ネットワークス", "Networks"),
        ),
        0.10,
    ),
    (
        "建設業",
        (
            ("建設", "ケンセツ", "Kensetsu"),
            ("工務店", "コウムテン", "Komuten"),
            ("設備", "セツビ", "Setsubi"),
            ("電設", "デンセツ", "Densetsu"),
            ("住建", "ジュウケン", "Juken"),
            ("建工", "ケンコウ", "Kenko"),
        ),
        0.12,
    ),
    (
        "医療・福祉",
        (
            ("メディカル", "メディカル", "Medical"),
            ("ケアサービス", "ケアサービス", "Care Service"),
            ("薬局", "ヤッキョク", "Yakkyoku"),
            ("医療サービス", "イリョウサービス", "Iryo Service"),
        ),
        0.07,
    ),
    (
        "運輸業",
        (
            ("運輸", "ウンユ", "Unyu"),
            ("物流", "ブツリュウ", "Butsuryu"),
            ("倉庫", "ソウコ", "Soko"),
            ("ロジスティクス", "ロジスティクス", "Logistics"),
        ),
        0.07,
    ),
    (
        "食品製造業",
        (
            ("食品", "ショクヒン", "Shokuhin"),
            ("製菓", "セイカ", "Seika"),
            ("フーズ", "フーズ", "Foods"),
            ("水産", "スイサン", "Suisan"),
        ),
        0.06,
    ),
    (
        "不動産業",
        (
            ("不動産", "フドウサン", "Fudosan"),
            ("地所", "ジショ", "Jisho"),
            ("ホーム", "ホーム", "Home"),
        ),
        0.04,
    ),
    (
        "サービス業",
        (
            ("サービス", "サービス", "Service"),
            ("企画", "キカク", "Kikaku"),
            ("コンサルティング", "コンサルティング", "Consulting"),
        ),
        0.05,
    ),
)

# Cores that differ by one character but name different businesses (精機/精工).
SIMILAR_CORES: tuple[tuple[str, str], ...] = (
    ("精機", "精工"),
    ("商事", "商会"),
    ("電機", "電子"),
    ("建設", "建工"),
    ("物産", "物流"),
)

# (legal form, abbreviation in parentheses, circled abbreviation, kana, English suffix, weight)
LEGAL_FORMS: tuple[tuple[str, str, str, str, str, float], ...] = (
    ("株式会社", "株", "㈱", "カブシキガイシャ", "Co., Ltd.", 0.78),
    ("有限会社", "有", "㈲", "ユウゲンガイシャ", "Ltd.", 0.14),
    ("合同会社", "同", "", "ゴウドウガイシャ", "LLC", 0.08),
)


class Place(NamedTuple):
    prefecture: str
    city: str
    towns: tuple[str, ...]
    area_code: str
    local_digits: int  # digits after the area code (a Japanese landline has ten in all)
    postal_prefix: str
    registry_offices: tuple[str, ...]  # 登記所 codes: the first four digits of a 法人番号 base
    weight: float


# prefecture | city | towns | area code | local digits | postal prefix | registry offices | weight %
_PLACE_TABLE = """
東京都|千代田区|神田小川町 岩本町 内神田|03|8|101|0100 0104|6
東京都|中央区|日本橋本町 八丁堀 新川|03|8|103|0100 0104|5
東京都|港区|芝浦 浜松町 三田|03|8|108|0104 0105|5
東京都|大田区|蒲田 大森西 羽田|03|8|144|0108 0111|6
東京都|江東区|新木場 東陽 亀戸|03|8|135|0106 0110|4
東京都|八王子市|明神町 旭町 石川町|042|7|192|0133|2
大阪府|大阪市北区|梅田 天満 中崎|06|8|530|1200|5
大阪府|大阪市中央区|本町 船場中央 谷町|06|8|541|1200 1201|4
大阪府|東大阪市|高井田 長田 荒本|06|8|577|1222|4
大阪府|堺市堺区|神南辺町 戎島町 中瓦町|072|7|590|1207|2
愛知県|名古屋市中区|栄 錦 丸の内|052|7|460|1800|5
愛知県|名古屋市中村区|名駅 則武 太閤|052|7|450|1800|3
愛知県|豊田市|元城町 喜多町 挙母町|0565|6|471|1803|3
神奈川県|横浜市港北区|新横浜 綱島東 菊名|045|7|222|0200|4
神奈川県|川崎市川崎区|駅前本町 砂子 殿町|044|7|210|0202|3
埼玉県|さいたま市大宮区|桜木町 宮町 吉敷町|048|7|330|0300|4
静岡県|浜松市中央区|板屋町 鍛冶町 砂山町|053|7|430|0803|4
静岡県|静岡市葵区|呉服町 紺屋町 追手町|054|7|420|0800|2
京都府|京都市下京区|烏丸通 四条通 西七条|075|7|600|1300|3
兵庫県|神戸市中央区|三宮町 元町通 港島|078|7|650|1400|4
福岡県|福岡市博多区|博多駅前 祇園町 東比恵|092|7|812|2900|5
北海道|札幌市中央区|北一条西 大通西 南三条西|011|7|060|4300|4
宮城県|仙台市青葉区|一番町 本町 中央|022|7|980|3700|3
広島県|広島市中区|紙屋町 八丁堀 大手町|082|7|730|2400|3
新潟県|新潟市中央区|万代 東大通 古町通|025|7|950|4100|2
岡山県|岡山市北区|駅前町 表町 磨屋町|086|7|700|2600|2
長野県|長野市|南千歳 鶴賀 大字南長野|026|7|380|2000|2
"""


def _place(line: str) -> Place:
    pref, city, towns, area, local, postal, offices, weight = line.split("|")
    return Place(
        pref, city, tuple(towns.split()), area, int(local), postal, tuple(offices.split()),
        float(weight),
    )  # fmt: skip


PLACES: tuple[Place, ...] = tuple(_place(line) for line in _PLACE_TABLE.strip().splitlines())

BUILDINGS: tuple[str, ...] = (
    "ビル",
    "第一ビル",
    "第二ビル",
    "センタービル",
    "会館",
    "ビルディング",
    "スクエア",
    "タワー",
)

DEPARTMENTS_BY_INDUSTRY: dict[str, tuple[str, ...]] = {
    "製造業": (
        "生産管理部",
        "製造部",
        "購買部",
        "品質管理部",
        "総務部",
        "経営企画室",
        "情報システム部",
    ),
    "卸売業": ("営業部", "業務部", "物流部", "総務部", "経理部", "情報システム課"),
    "小売業": ("店舗運営部", "商品部", "総務部", "経理部", "管理部"),
    "情報通信業": ("開発部", "営業部", "管理部", "コーポレート本部", "カスタマーサクセス部"),
    "建設業": ("工事部", "業務部", "総務部", "積算部", "管理部"),
    "医療・福祉": ("事務局", "医事課", "総務課", "購買課", "施設管理課"),
    "運輸業": ("運行管理部", "業務部", "倉庫管理課", "総務部", "営業部"),
    "食品製造業": ("製造部", "品質保証部", "購買部", "総務部", "営業部"),
    "不動産業": ("管理部", "営業部", "総務部", "経理部"),
    "サービス業": ("管理部", "営業部", "総務部", "経営企画室"),
}

# (title, weight): most contacts are hands-on staff or section heads.
TITLES: tuple[tuple[str, float], ...] = (
    ("", 0.18),
    ("担当", 0.14),
    ("主任", 0.12),
    ("係長", 0.12),
    ("課長", 0.18),
    ("次長", 0.04),
    ("部長", 0.12),
    ("マネージャー", 0.04),
    ("取締役", 0.03),
    ("代表取締役", 0.03),
)

ROLE_MAILBOXES: tuple[tuple[str, str], ...] = (
    ("info", "ご担当者様"),
    ("sales", "営業部 ご担当者様"),
    ("soumu", "総務部 ご担当者様"),
    ("contact", "お問い合わせ窓口"),
)

FREE_MAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "yahoo.co.jp", "outlook.jp")

# Trade shows (展示会) by the month and day they are held each year.
TRADE_SHOWS: tuple[tuple[str, int, int], ...] = (
    ("Japan IT Week 春", 4, 10),
    ("ものづくりワールド 東京", 6, 18),
    ("国際物流総合展", 9, 11),
    ("Japan IT Week 秋", 10, 23),
    ("建設DX展", 12, 4),
    ("スマート工場EXPO", 1, 22),
)

# Where a company or contact first came from (獲得経路).
LEAD_SOURCES: tuple[tuple[str, float], ...] = (
    ("展示会", 0.30),
    ("資料請求", 0.22),
    ("問い合わせ", 0.18),
    ("ウェビナー", 0.10),
    ("紹介", 0.10),
    ("テレアポ", 0.10),
)

# Products: (name, product line, list price in yen, kind). Subscription prices are per year.
SUBSCRIPTION_PLANS: tuple[tuple[str, int], ...] = (
    ("クラウド受発注 ベーシック", 360_000),
    ("クラウド受発注 スタンダード", 720_000),
    ("クラウド受発注 プロ", 1_440_000),
)
LINE_SUBSCRIPTION = "クラウドサービス"
LINE_EQUIPMENT = "機器"
LINE_SUPPLIES = "消耗品"
LINE_SERVICE = "保守・サービス"
EQUIPMENT: tuple[tuple[str, int], ...] = (
    ("ハンディターミナル HT-300", 168_000),
    ("ラベルプリンタ LP-50", 98_000),
    ("バーコードスキャナ BS-10", 38_000),
    ("モバイルプリンタ MP-2", 72_000),
)
SUPPLIES: tuple[tuple[str, int], ...] = (
    ("感熱ラベル 50mm×30mm（20巻）", 24_000),
    ("インクリボン（10本）", 18_000),
    ("専用ロール紙（30巻）", 15_000),
    ("ラベル台紙 A4（500枚）", 12_000),
)
SERVICES: tuple[tuple[str, int], ...] = (
    ("年間保守サポート", 120_000),
    ("導入支援パック", 200_000),
    ("オンサイト研修", 150_000),
    ("在庫連携オプション", 240_000),
    ("追加ID（10ユーザー）", 96_000),
)

DEAL_PHASES_OPEN: tuple[str, ...] = ("アポ獲得", "ヒアリング", "提案", "見積提出", "交渉")
DEAL_PHASES_LOST: tuple[str, ...] = ("ヒアリング", "提案", "見積提出", "交渉")

# Lost / postponed reasons as salespeople type them, by category. Truth for the classifier.
LOST_REASONS: dict[str, tuple[str, ...]] = {
    "price": (
        "予算オーバーのため見送り",
        "他社に決定（価格面）",
        "価格が合わず",
        "見積金額が高いとのこと",
        "コストが見合わない",
        "値上げ後の価格では継続困難",
        "稟議が通らず（予算超過）",
        "初期費用がネック",
        "月額費用が予算を超える",
        "費用対効果が合わないとの判断",
        "Too expensive",
        "Over budget",
        "Price too high compared to competitor",
    ),
    "function": (
        "必要な連携機能がない",
        "基幹システムと連携できない",
        "機能不足",
        "在庫管理機能が弱い",
        "スマホ対応していない",
        "帳票のカスタマイズができない",
        "要件を満たさず",
        "Missing integration with their ERP",
        "Feature gap: no mobile app",
    ),
    "timing": (
        "来期検討とのこと",
        "時期尚早",
        "今期は予算枠なし、来年度再検討",
        "システム刷新が来年のため保留",
        "担当者異動のため一旦保留",
        "繁忙期のため導入時期を再調整",
        "稟議が通らず来期再申請予定",
        "Revisit next fiscal year",
        "Bad timing, reorganisation underway",
    ),
    "competitor": (
        "他社製品を採用",
        "競合A社に決定",
        "既存ベンダーとの関係を優先",
        "他社に決定（提案内容）",
        "競合のサポート体制を評価されて失注",
        "Lost to competitor",
        "Chose incumbent vendor",
    ),
    "unknown": ("", "", "", "諸事情により", "先方都合", "-", "不明"),
}

# Longer deal notes (商談メモ), per category; {product} is filled in.
DEAL_NOTES: dict[str, tuple[str, ...]] = {
    "price": (
        "見積提示後、先方より他社は月額2割ほど安いとの話あり。値引きを検討したが折り合わず。",
        "導入効果には納得いただけたが、決裁者から費用面でストップがかかった。",
        "{product}の年額がネック。価格改定があれば再提案の余地あり。",
        "値上げのご案内後、コスト削減の方針で見直しになったとのこと。",
    ),
    "function": (
        "販売管理システムとの連携が必須要件。現状のAPIでは対応できず、ロードマップ次第で再提案。",
        "現場はハンディでの棚卸しを希望。{product}の在庫連携が未対応のため見送り。",
        "帳票レイアウトの自由度を重視されており、要件を満たせなかった。",
    ),
    "timing": (
        "決裁者より来期（4月以降）に再検討との回答。秋頃に再度連絡する。",
        "基幹システムの入れ替えが来年予定。その後にあらためて検討したいとのこと。",
        "繁忙期に入るため導入は難しいとのこと。落ち着いた頃に再訪問。",
    ),
    "competitor": (
        "競合B社の提案を採用。既存取引の関係が決め手とのこと。",
        "他社のほうがサポート拠点が近いという評価。",
        "相見積もりの結果、他社製品に決定。",
    ),
    "unknown": ("", "", "先方からの連絡が途絶えた。", "担当者と連絡が取れず終了。"),
    "won": (
        "トライアル後に本契約。決め手はサポート体制とのこと。",
        "現場の評価が高く、{product}で正式発注。",
        "年度末までの導入を希望され、即決。",
        "",
    ),
    "open": (
        "見積提出済み。来週回答予定。",
        "デモ実施。現場担当者の評価は上々。",
        "先方で比較検討中。次回は決裁者同席の予定。",
        "",
    ),
}

# Why a customer left (解約理由 in the order notes), by cause.
CHURN_NOTES: dict[str, tuple[str, ...]] = {
    "price": (
        "解約理由：価格改定後の費用負担",
        "値上げに伴い解約",
        "解約（他社の安価なサービスへ切替）",
        "更新時の価格に納得いただけず解約",
    ),
    "other": (
        "解約理由：事業縮小",
        "担当者退職に伴い利用停止",
        "社内システム刷新のため解約",
        "解約（機能面で他社へ乗り換え）",
        "",
    ),
}

# Sales activity subjects and notes by step.
ACTIVITY_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("初回アポイント", ("業務課題のヒアリング日程を調整。", "展示会のお礼と訪問のご提案。")),
    (
        "ヒアリング",
        (
            "現状はExcelで受発注を管理。月末締めの集計に2日かかっている。",
            "在庫の過不足が課題。棚卸しは年2回、紙で実施。",
            "電話とFAXでの受注が多く、入力ミスが発生している。",
        ),
    ),
    ("デモ実施", ("オンラインでデモ。現場リーダーも参加し好感触。", "ハンディ連携のデモを実施。")),
    ("見積送付", ("見積書をメールで送付。", "3プランの比較見積を提出。")),
    ("見積フォロー", ("見積のご確認状況を伺う。社内検討中。", "稟議の進捗を確認。")),
    ("クロージング", ("決裁者と面談。導入時期を調整。", "契約条件の最終確認。")),
)
FOLLOW_UPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("定例訪問", ("利用状況を確認。特に問題なし。", "追加拠点への展開を打診。")),
    ("フォロー電話", ("消耗品の在庫状況を確認。", "新機能のご案内。")),
    ("契約更新のご案内", ("更新時期のご案内。", "更新見込み。担当者変更あり。")),
    ("活用状況ヒアリング", ("現場での定着度を確認。入力漏れが減ったとの声。", "")),
)
PRICE_TALK = (
    "価格改定のご説明。費用負担が大きいとの反応。他社サービスも比較中とのこと。",
    "値上げについて問い合わせあり。継続は社内で再検討するとのこと。",
)
# How a buyer who stopped ordering at the new price let it be known: a reply to the notice,
# a question about the new price list, what they told the rep who called about the missing
# order. (kind, subject, notes); subjects and notes are as varied as the reps who log them.
PRICE_TRACES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "mail",
        "価格改定のお知らせへのご返信",
        (
            "新価格では費用負担が大きく継続が難しいとのご返信。発注はいったん止めるとのこと。",
            "値上げ幅が想定以上で予算が厳しいとのご意見。今後の発注は未定。",
            "改定後の単価では予算内に収まらないとのご連絡。",
        ),
    ),
    (
        "call",
        "新料金表についてのお問い合わせ",
        (
            "新しい料金表の確認のお電話。値上げ後は割高に感じるとのこと。",
            "改定後の価格について質問あり。他社の安価な消耗品と比較しているとのこと。",
            "値上げの理由を聞かれた。説明したが、この価格では高いと納得はされていない様子。",
        ),
    ),
    (
        "call",
        "発注状況の確認",
        (
            "しばらくご発注がないため連絡。値上げの件で先方から連絡、価格が合わず今回は見送りとのこと。",
            "定期発注が止まっているため確認。価格改定後は予算的に厳しいとのお話。",
            "ご発注が途絶えている件。値上がり分のコストを吸収できず、当面は手持ちの在庫で回すとのこと。",
            "前回から発注なし。価格改定を受けてコスト削減のため仕入れ先を見直したとのこと。",
        ),
    ),
    (
        "visit",
        "定例訪問",
        (
            "価格改定後の費用負担が重いとのこと。発注は控えている。",
            "値上げ後の単価では割高で、稟議が通らないとのこと。",
        ),
    ),
    (
        "mail",
        "Follow-up on the new price list",
        (
            "Customer replied that the new prices are over budget; orders paused.",
            "They find the price increase too steep and are buying elsewhere for now.",
        ),
    ),
)
CANCEL_TALK = {
    "price": "解約のお申し出。理由は価格改定後の費用負担。",
    "other": "解約のお申し出。社内事情によるとのこと。",
}

# Newsletter, webinars and documents: the four-part newsletter links to these pages.
FEATURE_PAGES: tuple[str, ...] = (
    "/features/order-entry",
    "/features/inventory",
    "/features/handy-terminal",
    "/features/reports",
    "/features/inventory-api",
)
CASE_PAGES: tuple[str, ...] = (
    "/cases/manufacturing-yamagata",
    "/cases/wholesale-osaka",
    "/cases/construction-nagoya",
    "/cases/logistics-saitama",
    "/cases/food-hokkaido",
)
BLOG_PAGES: tuple[str, ...] = (
    "/blog/fax-ordering-dx",
    "/blog/inventory-count-tips",
    "/blog/year-end-closing",
    "/blog/invoice-system",
    "/blog/label-printing-basics",
    "/blog/handy-terminal-choice",
)
SUPPORT_PAGES: tuple[str, ...] = (
    "/support/faq",
    "/support/manual",
    "/news",
    "/support/release-notes",
)
PRICING_PAGE = "/pricing"
CONTACT_PAGE = "/contact"
DOCUMENTS: tuple[str, ...] = (
    "サービス紹介資料",
    "料金プラン表",
    "導入事例集（製造業）",
    "在庫管理DXガイド",
    "ホワイトペーパー：受発注業務の効率化",
)
WEBINARS: tuple[str, ...] = (
    "受発注業務DXセミナー 〜Excel管理からの脱却〜",
    "在庫管理の基本と改善事例",
    "導入企業に聞く！現場定着のコツ",
    "インボイス・電帳法対応のポイント",
    "物流コスト削減のためのデータ活用",
    "年度末の繁忙期を乗り切る業務改善",
    "ハンディターミナル活用入門",
    "製造業の原価管理入門",
)
WEBINAR_QUESTIONS: tuple[str, ...] = (
    "既存の基幹システムと連携できますか？",
    "導入までの期間はどれくらいですか？",
    "料金プランの違いを教えてください。",
    "ハンディは他社製でも使えますか？",
)
INQUIRY_MESSAGES: tuple[str, ...] = (
    "受発注の管理方法について相談したいです。",
    "料金について詳しく知りたい。",
    "在庫連携の仕組みについて教えてください。",
    "デモを見せていただけますか。",
)
OPEN_USER_AGENTS: tuple[str, ...] = (
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
)
# Apple Mail Privacy Protection fetches every image at delivery through its proxy.
MACHINE_OPEN_USER_AGENT = "Mozilla/5.0"

# NPS comments by band: promoters, passives, detractors, and price complaints after the rise.
NPS_COMMENTS: dict[str, tuple[str, ...]] = {
    "promoter": (
        "サポートが丁寧で助かっています。",
        "在庫確認の手間が大幅に減りました。",
        "現場でも使いやすいと好評です。",
        "",
        "",
    ),
    "passive": (
        "概ね満足しています。帳票の自由度が上がると嬉しいです。",
        "特に不満はありません。",
        "動作がもう少し速いと助かります。",
        "",
        "",
    ),
    "detractor": (
        "問い合わせの回答が遅いことがある。",
        "動作が重い時間帯がある。",
        "必要な機能が足りない。",
        "",
    ),
    "price": (
        "値上げ後の価格に見合う価値を感じにくい。",
        "価格改定の幅が大きすぎる。",
        "費用負担が重くなった。",
        "",
    ),
}

COMPANY_NOTES: tuple[str, ...] = (
    "前任者退職のため引継ぎ中",
    "ヒアリング未実施",
    "代表番号のみ把握",
    "年度末に発注が集中",
    "支店あり（要確認）",
    "請求先は本社経理部",
)
HEARING_NOTES: tuple[str, ...] = (
    "現行はExcelで受発注管理。月末の集計に2日かかっている。",
    "来期（4月）にシステム刷新予定。比較検討の候補に入れたいとのこと。",
    "FAX受注が全体の6割。入力の二度手間が課題。",
    "倉庫が2拠点あり、在庫の可視化が課題。",
    "決裁は社長。予算は年度初めに確定する。",
    "ハンディでの棚卸しに関心あり。",
)
