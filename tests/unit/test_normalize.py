"""Match keys for Japanese customer data: names, phones, emails, postcodes, 法人番号, addresses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mezame.cleaning.normalize import (
    CorporateNumberStatus,
    LegalForm,
    LegalFormPosition,
    check_corporate_number,
    company_name_key,
    is_free_mail_domain,
    is_role_local_part,
    is_valid_email,
    normalize_address,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    normalize_text,
    website_domain,
)
from mezame.cleaning.variants import (
    full_width,
    half_width,
    random_corporate_number,
    spellings,
    write_name,
)

KK = LegalForm.KABUSHIKI
BEFORE, AFTER, NONE = LegalFormPosition.BEFORE, LegalFormPosition.AFTER, LegalFormPosition.NONE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits
        ("ﾔﾏﾀﾞ", "ヤマダ"),  # half-width katakana
        ("ｶﾞｯｺｳ", "ガッコウ"),  # half-width voiced marks compose
        ("か゛", "が"),  # a lone ゛ joins its kana instead of becoming " ゙"
        ("山田\u3000製作所", "山田 製作所"),  # ideographic space
        ("  山田 \t\n 製作所  ", "山田 製作所"),
        ("山田\u200b製作所", "山田製作所"),  # zero-width space
        ("髙島屋", "高島屋"),
        ("山﨑", "山崎"),
        ("渡邊", "渡辺"),
        ("サンライズ‐テック", "サンライズーテック"),  # hyphen after kana: long vowel
        ("サンライズ−テック", "サンライズーテック"),  # minus sign
        ("サンライズ－テック", "サンライズーテック"),  # full-width hyphen-minus
        ("ｻﾝﾗｲｽﾞｰﾃｯｸ", "サンライズーテック"),
        ("1ー2ー3", "1-2-3"),  # long-vowel mark between digits: a hyphen
        ("1―2–3", "1-2-3"),
        ("スマイル〜ライフ", "スマイル~ライフ"),  # wave dash
        ("スマイル～ライフ", "スマイル~ライフ"),  # full-width tilde
        ("ABC Co., LTD.", "abc co., ltd."),
        ("㈱山田", "(株)山田"),
        ("㊑山田", "(株)山田"),  # circled 株 keeps its legal-form meaning
        ("㍿山田", "株式会社山田"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@given(st.text())
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@pytest.mark.parametrize(
    ("name", "stem", "form", "position"),
    [
        ("株式会社山田製作所", "山田製作所", KK, BEFORE),
        ("山田製作所株式会社", "山田製作所", KK, AFTER),
        ("㈱山田製作所", "山田製作所", KK, BEFORE),
        ("(株)山田製作所", "山田製作所", KK, BEFORE),
        ("（株）山田製作所", "山田製作所", KK, BEFORE),
        ("( 株 ) 山田製作所", "山田製作所", KK, BEFORE),
        ("山田製作所㈱", "山田製作所", KK, AFTER),
        ("山田製作所（株）", "山田製作所", KK, AFTER),
        ("㊑山田製作所", "山田製作所", KK, BEFORE),
        ("㍿山田製作所", "山田製作所", KK, BEFORE),
        ("株式会社　山田　製作所", "山田製作所", KK, BEFORE),
        ("山田製作所", "山田製作所", None, NONE),
        ("ﾔﾏﾀﾞ･ﾃｯｸ(株)", "ヤマダ・テック", KK, AFTER),
        ("ｶﾌﾞｼｷｶﾞｲｼｬ ﾔﾏﾀﾞ", "ヤマダ", KK, BEFORE),  # a name_kana column
        ("有限会社佐藤電機", "佐藤電機", LegalForm.YUGEN, BEFORE),
        ("(有)佐藤電機", "佐藤電機", LegalForm.YUGEN, BEFORE),
        ("㈲佐藤電機", "佐藤電機", LegalForm.YUGEN, BEFORE),
        ("佐藤電機(有)", "佐藤電機", LegalForm.YUGEN, AFTER),
        ("合同会社ミライラボ", "ミライラボ", LegalForm.GODO, BEFORE),
        ("(同)ミライラボ", "ミライラボ", LegalForm.GODO, BEFORE),
        ("ミライラボ LLC", "ミライラボ", LegalForm.GODO, AFTER),
        ("合資会社山本酒造", "山本酒造", LegalForm.GOSHI, BEFORE),
        ("合名会社山本酒造", "山本酒造", LegalForm.GOMEI, BEFORE),
        ("一般社団法人日本データ協会", "日本データ協会", LegalForm.IPPAN_SHADAN, BEFORE),
        ("(一社)日本データ協会", "日本データ協会", LegalForm.IPPAN_SHADAN, BEFORE),
        ("一般財団法人日本財団", "日本財団", LegalForm.IPPAN_ZAIDAN, BEFORE),
        ("公益社団法人日本協会", "日本協会", LegalForm.KOEKI_SHADAN, BEFORE),
        ("公益財団法人日本協会", "日本協会", LegalForm.KOEKI_ZAIDAN, BEFORE),
        ("社団法人日本協会", "日本協会", LegalForm.SHADAN, BEFORE),
        ("㈳日本協会", "日本協会", LegalForm.SHADAN, BEFORE),
        ("財団法人日本協会", "日本協会", LegalForm.ZAIDAN, BEFORE),
        ("医療法人社団健康会", "健康会", LegalForm.IRYO, BEFORE),
        ("医療法人 健康会", "健康会", LegalForm.IRYO, BEFORE),
        ("学校法人青葉学園", "青葉学園", LegalForm.GAKKO, BEFORE),
        ("㈻青葉学園", "青葉学園", LegalForm.GAKKO, BEFORE),
        ("社会福祉法人さくら会", "さくら会", LegalForm.SHAKAI_FUKUSHI, BEFORE),
        ("特定非営利活動法人みどりの森", "みどりの森", LegalForm.NPO, BEFORE),
        ("NPO法人 みどりの森", "みどりの森", LegalForm.NPO, BEFORE),
        ("ABC Trading Co., Ltd.", "abctrading", KK, AFTER),
        ("ABC TRADING CO.,LTD", "abctrading", KK, AFTER),
        ("ＡＢＣ　Ｔｒａｄｉｎｇ　Ｃｏ．，Ｌｔｄ．", "abctrading", KK, AFTER),
        ("ABC, Inc.", "abc", KK, AFTER),
        ("ABC Corporation", "abc", KK, AFTER),
        ("ABC Corp.", "abc", KK, AFTER),
        ("ABC Ltd.", "abc", KK, AFTER),
        ("ABC K.K.", "abc", KK, AFTER),
        ("ABC KK", "abc", KK, AFTER),
        ("Zinc", "zinc", None, NONE),  # "inc" inside a word is not a legal form
        ("Costco", "costco", None, NONE),
        ("株式会社", "", KK, BEFORE),
    ],
)
def test_company_name_legal_forms(
    name: str, stem: str, form: LegalForm | None, position: LegalFormPosition
) -> None:
    key = company_name_key(name)
    assert (key.stem, key.legal_form, key.position) == (stem, form, position)
    assert key.original == name


@pytest.mark.parametrize(
    ("name", "stem", "branch"),
    [
        ("株式会社山田製作所 大阪支店", "山田製作所", "大阪支店"),
        ("山田製作所株式会社 大阪支店", "山田製作所", "大阪支店"),
        ("山田製作所(株)大阪支店", "山田製作所", "大阪支店"),
        ("株式会社山田製作所大阪支店", "山田製作所", "大阪支店"),
        ("株式会社山田製作所 第二工場", "山田製作所", "第二工場"),
        ("山田製作所株式会社 本社", "山田製作所", None),  # the head office is the company
        ("株式会社山田製作所東京本社", "山田製作所", None),
        ("株式会社 山田工場", "山田工場", None),  # a company named …工場 is not a branch
        ("山田 工場", "山田工場", None),
    ],
)
def test_branch_is_kept_apart_from_the_stem(name: str, stem: str, branch: str | None) -> None:
    key = company_name_key(name)
    assert (key.stem, key.branch) == (stem, branch)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ヤマダ・テック", "ヤマダテック"),
        ("コンピューターサービス", "コンピュータサービス"),
        ("キャノン販売", "キヤノン販売"),
        ("ひかり通信", "ヒカリ通信"),
        ("日の出印刷", "日ノ出印刷"),
        ("スマイル〜ライフ", "スマイルライフ"),
        ("霞ヶ浦物産", "霞ケ浦物産"),
    ],
)
def test_spelling_variants_share_the_skeleton_not_the_stem(a: str, b: str) -> None:
    key_a, key_b = company_name_key(a), company_name_key(b)
    assert key_a.stem != key_b.stem
    assert key_a.skeleton == key_b.skeleton


@pytest.mark.parametrize(
    ("a", "b"),
    [("山田製作所", "山田製作"), ("三協工業", "三共工業"), ("東日本電設", "西日本電設")],
)
def test_near_misses_keep_different_keys(a: str, b: str) -> None:
    assert company_name_key(a).skeleton != company_name_key(b).skeleton


# Stems without characters that spell a legal form or a branch (株, 会社, 支店 …).
_STEM_CHARS = "山田川中本北南東西大小新光電機工業商精密産技研建設運輸和協共栄"
_KATAKANA = "アイウエオキクケコサシスセソタチテトナニノマミムメモヤユヨラリルレロワン"
stems = st.text(alphabet=_STEM_CHARS + _KATAKANA + "ー・", min_size=2, max_size=12).filter(
    lambda s: s[0] not in "ー・" and s[-1] not in "ー・"
)
forms = st.sampled_from([KK, LegalForm.YUGEN, LegalForm.GODO, LegalForm.IPPAN_SHADAN])


@given(stems, forms, st.sampled_from([BEFORE, AFTER]), st.data())
def test_legal_form_width_and_space_variants_share_the_stem(
    stem: str, form: LegalForm, position: LegalFormPosition, data: st.DataObject
) -> None:
    reference = company_name_key(write_name(stem, form, BEFORE))
    spelling = data.draw(st.sampled_from(spellings(form, position)))
    separator = data.draw(st.sampled_from(["", " ", "\u3000"]))
    written = write_name(stem, form, position, spelling, separator)
    width = data.draw(st.sampled_from([str, full_width, half_width]))
    variant = company_name_key(width(written))
    assert variant.stem == reference.stem
    assert variant.legal_form is form
    assert variant.position is position
    dropped = company_name_key(stem)
    assert dropped.stem == reference.stem and dropped.legal_form is None


@given(stems, forms, st.sampled_from([BEFORE, AFTER, NONE]))
def test_company_name_key_is_idempotent(
    stem: str, form: LegalForm, position: LegalFormPosition
) -> None:
    key = company_name_key(write_name(stem, form, position))
    again = company_name_key(key.stem)
    assert (again.stem, again.skeleton) == (key.stem, key.skeleton)


@pytest.mark.parametrize(
    ("raw", "e164", "extension"),
    [
        ("03-1234-5678", "+81312345678", None),
        ("(03)1234-5678", "+81312345678", None),
        ("03(1234)5678", "+81312345678", None),
        ("０３－１２３４－５６７８", "+81312345678", None),
        ("０３（１２３４）５６７８", "+81312345678", None),
        ("03ー1234ー5678", "+81312345678", None),
        ("0312345678", "+81312345678", None),
        ("+81-3-1234-5678", "+81312345678", None),
        ("+81 (0)3 1234 5678", "+81312345678", None),
        ("TEL: 03.1234.5678", "+81312345678", None),
        ("03-1234-5678（代表）", "+81312345678", None),
        ("03-1234-5678 内線123", "+81312345678", "123"),
        ("03-1234-5678 ext. 45", "+81312345678", "45"),
        ("06-6123-4567", "+81661234567", None),
        ("045-201-7777", "+81452017777", None),
        ("0276-45-1919", "+81276451919", None),
        ("090-1234-5678", "+819012345678", None),
        ("0120-123-456", "+81120123456", None),
    ],
)
def test_phone_to_e164(raw: str, e164: str, extension: str | None) -> None:
    phone = normalize_phone(raw)
    assert phone is not None
    assert (phone.e164, phone.extension) == (e164, extension)


@pytest.mark.parametrize("raw", [None, "", "1234", "0000000000", "代表", "03-1234"])
def test_not_a_phone_number(raw: str | None) -> None:
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    ("raw", "address", "domain", "free", "role"),
    [
        ("Taro.Yamada@Example.CO.JP", "taro.yamada@example.co.jp", "example.co.jp", False, False),
        ("ｉｎｆｏ＠ｙａｍａｄａ．ｃｏ．ｊｐ", "info@yamada.co.jp", "yamada.co.jp", False, True),
        ("mailto:sales@yamada.co.jp", "sales@yamada.co.jp", "yamada.co.jp", False, True),
        ("sales-tokyo@yamada.co.jp", "sales-tokyo@yamada.co.jp", "yamada.co.jp", False, True),
        ("support2@yamada.co.jp", "support2@yamada.co.jp", "yamada.co.jp", False, True),
        ("contact@yamada.co.jp", "contact@yamada.co.jp", "yamada.co.jp", False, True),
        ("お問い合わせ@山田.jp", "お問い合わせ@山田.jp", "山田.jp", False, True),
        ("yamada@gmail.com", "yamada@gmail.com", "gmail.com", True, False),
        ("info@gmail.com", "info@gmail.com", "gmail.com", True, True),
        ("taro@yahoo.co.jp", "taro@yahoo.co.jp", "yahoo.co.jp", True, False),
        ("taro@mail.ocn.ne.jp", "taro@mail.ocn.ne.jp", "mail.ocn.ne.jp", True, False),
        ("taro@docomo.ne.jp", "taro@docomo.ne.jp", "docomo.ne.jp", True, False),
        ("hrk@yamada.co.jp", "hrk@yamada.co.jp", "yamada.co.jp", False, False),
        ("information.desk@x.jp", "information.desk@x.jp", "x.jp", False, False),
    ],
)
def test_email(raw: str, address: str, domain: str, free: bool, role: bool) -> None:
    email = normalize_email(raw)
    assert email is not None
    assert (email.address, email.domain, email.free_mail, email.role) == (
        address,
        domain,
        free,
        role,
    )


@pytest.mark.parametrize("raw", [None, "", "yamada", "a@b", "@x.jp", "a b@x.jp", "a@x..jp"])
def test_not_an_email(raw: str | None) -> None:
    assert normalize_email(raw) is None


def test_free_mail_and_role_helpers() -> None:
    assert is_free_mail_domain("gmail.com") and is_free_mail_domain("xx.so-net.ne.jp")
    assert not is_free_mail_domain("yamada.co.jp")
    assert not is_free_mail_domain("notgmail.com")
    assert is_role_local_part("info") and is_role_local_part("info+news")
    assert is_role_local_part("webmaster") and is_role_local_part("営業")
    assert not is_role_local_part("taro.yamada") and not is_role_local_part("infinity")


def test_email_syntax_check_uses_no_dns() -> None:
    assert is_valid_email("taro@no-such-company-xyz.co.jp")  # no DNS look-up
    assert not is_valid_email("taro@@example.com")
    assert not is_valid_email("taro example@example.com")


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.yamada-ss.co.jp/company/", "yamada-ss.co.jp"),
        ("yamada-ss.co.jp", "yamada-ss.co.jp"),
        ("http://tokyo.yamada.com:8080/x", "yamada.com"),
        ("taro@mail.yamada.co.jp", "yamada.co.jp"),
        ("ＷＷＷ．ＹＡＭＡＤＡ．ＪＰ", "yamada.jp"),
        ("https://yamada.jimdofree.com/", "yamada.jimdofree.com"),  # a site of its own
        ("https://www.facebook.com/yamada", None),  # everyone's domain
        ("not a url", None),
        (None, None),
    ],
)
def test_website_domain(raw: str | None, domain: str | None) -> None:
    assert website_domain(raw) == domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("〒123-4567", "1234567"),
        ("１２３－４５６７", "1234567"),
        ("〒 100-0005", "1000005"),
        ("1234567", "1234567"),
        ("123ー4567", "1234567"),
        ("郵便番号: 530-0001", "5300001"),
        ("123-456", None),
        ("12345678", None),
        ("abc-defg", None),
        ("", None),
        (None, None),
    ],
)
def test_postal_code(raw: str | None, expected: str | None) -> None:
    assert normalize_postal_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "status", "number"),
    [
        ("5835678256246", CorporateNumberStatus.VALID, "5835678256246"),
        ("5-8356-7825-6246", CorporateNumberStatus.VALID, "5835678256246"),
        ("５８３５６７８２５６２４６", CorporateNumberStatus.VALID, "5835678256246"),
        ("5 8356 7825 6246", CorporateNumberStatus.VALID, "5835678256246"),
        ("2835678256246", CorporateNumberStatus.INVALID, "2835678256246"),  # check digit
        ("5835678256247", CorporateNumberStatus.INVALID, "5835678256247"),  # a digit mistyped
        ("583567825624", CorporateNumberStatus.INVALID, "583567825624"),  # 12 digits
        ("58356782562460", CorporateNumberStatus.INVALID, "58356782562460"),
        ("583567825624X", CorporateNumberStatus.INVALID, "583567825624x"),
        ("", CorporateNumberStatus.ABSENT, None),
        ("  ", CorporateNumberStatus.ABSENT, None),
        (None, CorporateNumberStatus.ABSENT, None),
    ],
)
def test_corporate_number(
    raw: str | None, status: CorporateNumberStatus, number: str | None
) -> None:
    check = check_corporate_number(raw)
    assert (check.status, check.number) == (status, number)
    assert check.valid_number == (number if status is CorporateNumberStatus.VALID else None)


@given(st.randoms(use_true_random=False))
def test_generated_corporate_numbers_are_valid(rng: object) -> None:
    number = random_corporate_number(rng)  # type: ignore[arg-type]
    assert check_corporate_number(number).status is CorporateNumberStatus.VALID


@pytest.mark.parametrize(
    ("raw", "prefecture", "city", "key"),
    [
        (
            "〒100-0005 東京都千代田区丸の内一丁目2番3号 丸の内ビル5F",
            "東京都",
            "千代田区",
            "千代田区丸の内1-2-3",
        ),
        ("千代田区丸の内1-2-3", "東京都", "千代田区", "千代田区丸の内1-2-3"),
        ("東京都千代田区丸の内１－２－３　丸の内ビル", "東京都", "千代田区", "千代田区丸の内1-2-3"),
        ("東京都千代田区丸の内1ー2ー3", "東京都", "千代田区", "千代田区丸の内1-2-3"),
        ("神奈川県横浜市中区山下町1番地", "神奈川県", "横浜市", "横浜市山下町1"),
        ("横浜市中区山下町1", "神奈川県", "横浜市", "横浜市山下町1"),
        ("大阪府大阪市北区梅田3-1-1", "大阪府", "大阪市", "大阪市梅田3-1-1"),
        ("中央区銀座1-1-1", None, "中央区", "中央区銀座1-1-1"),  # 中央区 is in many cities
        (
            "北海道札幌市中央区北1条西2丁目1-1 札幌ビル3F",
            "北海道",
            "札幌市",
            "札幌市北1条西2-1-1",
        ),
        ("愛知県愛知郡東郷町大字春木446-1", "愛知県", "東郷町", "東郷町春木446-1"),
        ("三重県四日市市安島1丁目2の3", "三重県", "四日市市", "四日市市安島1-2-3"),
        ("奈良県大和郡山市北郡山町248-4", "奈良県", "大和郡山市", "大和郡山市北郡山町248-4"),
        ("東京都千代田区霞が関1-1", "東京都", "千代田区", "千代田区霞ケ関1-1"),
        ("東京都千代田区霞ヶ関1丁目1番", "東京都", "千代田区", "千代田区霞ケ関1-1"),
        ("宮城県仙台市青葉区一番町4丁目7番17号", "宮城県", "仙台市", "仙台市一番町4-7-17"),
        ("東京都港区芝公園四丁目2番8号", "東京都", "港区", "港区芝公園4-2-8"),
        ("東京都", "東京都", None, None),
    ],
)
def test_address(raw: str, prefecture: str | None, city: str | None, key: str | None) -> None:
    address = normalize_address(raw)
    assert address is not None
    assert (address.prefecture, address.city, address.key) == (prefecture, city, key)


def test_blank_address() -> None:
    assert normalize_address(None) is None
    assert normalize_address("  ") is None
