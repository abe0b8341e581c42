"""Reading CSV (UTF-8 / CP932) and .xlsx: encodings, headers and the line numbers users see."""

from __future__ import annotations

import codecs
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from mezame.adapters.importers.tabular import TabularRow, open_table, write_rejects
from mezame.errors import InvalidInputError

# Characters Japanese Excel files carry that Shift_JIS proper cannot encode or maps differently.
HARD = "①髙㈱〜"


def read(path: Path, encoding: str = "auto") -> tuple[list[str], list[TabularRow], str | None]:
    with open_table(path, encoding=encoding) as table:
        return table.headers, list(table.rows()), table.encoding


def test_cp932_is_detected_and_decoded_as_cp932(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(f"会社名,担当者名\n{HARD}商事,髙橋\n".encode("cp932"))
    headers, rows, encoding = read(path)
    assert encoding == "cp932"
    assert headers == ["会社名", "担当者名"]
    # 〜 is byte 81 60, which CP932 reads as U+FF5E: the character Excel on Windows shows.
    assert rows[0].cells == {"会社名": "①髙㈱～商事", "担当者名": "髙橋"}
    with pytest.raises(UnicodeEncodeError):
        HARD.encode("shift_jis")


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_utf8_with_or_without_bom(tmp_path: Path, bom: bytes) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(bom + f"会社名,メモ\n{HARD},〜\n".encode())
    headers, rows, encoding = read(path)
    assert encoding == "utf-8-sig"
    assert headers == ["会社名", "メモ"]
    assert rows[0].cells == {"会社名": HARD, "メモ": "〜"}


def test_detection_looks_past_a_long_ascii_start(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    ascii_rows = "".join(f"C{i:07d},Example Co\n" for i in range(80_000))  # > 1 MB
    path.write_bytes(("code,name\n" + ascii_rows + "C9,㈱サンプル\n").encode("cp932"))
    _, rows, encoding = read(path)
    assert encoding == "cp932"
    assert rows[-1].cells["name"] == "㈱サンプル"
    assert rows[-1].line == 80_002


def test_line_numbers_are_physical_lines_even_with_newlines_in_cells(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(
        "\n"  # line 1: blank, before the header
        "会社名,備考\n"  # line 2: header
        '株式会社A,"一行目\n二行目\n三行目"\n'  # lines 3-5
        "\n"  # line 6: blank, skipped
        "株式会社B,\n"  # line 7
        " , \n"  # line 8: only spaces, skipped
        "株式会社C,最後\n",  # line 9
        encoding="utf-8",
    )
    with open_table(path) as table:
        rows = list(table.rows())
        assert table.header_line == 2
    assert [r.line for r in rows] == [3, 7, 9]
    assert rows[0].cells["備考"] == "一行目\n二行目\n三行目"


def test_crlf_line_endings_count_once(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes('会社名,備考\r\nA,"x\r\ny"\r\nB,z\r\n'.encode("cp932"))
    _, rows, _ = read(path)
    assert [(r.line, r.cells["会社名"]) for r in rows] == [(2, "A"), (4, "B")]


def test_a_decode_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "会社名\n株式会社A\n株式会社B\n".encode() + "株式会社髙\n".encode("cp932") + b"C\n"
    )
    with pytest.raises(InvalidInputError, match=r"mixed\.csv:4: utf-8"):
        read(path, encoding="utf-8")


def test_explicit_encoding_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "sjis.csv"
    path.write_bytes("会社名\n㈱テスト\n".encode("cp932"))
    assert read(path, encoding="cp932")[1][0].cells == {"会社名": "㈱テスト"}
    with pytest.raises(InvalidInputError, match="shift-jis"):
        read(path, encoding="shift-jis")


def test_blank_and_repeated_headers_keep_every_column(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("会社名,,会社名\nA,x,B\n", encoding="utf-8")
    headers, rows, _ = read(path)
    assert headers == ["会社名", "列2", "会社名 (2)"]
    assert rows[0].cells == {"会社名": "A", "列2": "x", "会社名 (2)": "B"}


def test_cells_past_the_header_are_counted_and_short_rows_padded(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2,3,\n4\n", encoding="utf-8")
    _, rows, _ = read(path)
    assert (rows[0].extra_cells, rows[1].extra_cells) == (1, 0)
    assert rows[1].cells == {"a": "4"}


def test_tab_separated_files(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("会社名\t電話番号\n株式会社A\t03-1234-5678\n", encoding="utf-8")
    assert read(path)[1][0].cells == {"会社名": "株式会社A", "電話番号": "03-1234-5678"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "ヘッダー行"),
        (codecs.BOM_UTF16_LE + "会社名\n".encode("utf-16-le"), "UTF-16"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        (b"PK\x03\x04 not really a workbook", ".xlsx"),
        ("会社名\n".encode() + b"\xff\xfe\xfd\n", "文字コードを判別できません"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=message):
        read(path)


def test_xlsx_rows_keep_excel_row_numbers_and_cell_types(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "取引先一覧 2026年度"  # a title row above the header
    sheet.append([])
    sheet.append(["顧客コード", "会社名", "受注日", "金額"])  # row 3: the header
    sheet.append(["C001", "㈱髙橋", datetime(2026, 4, 1), 1200000])
    sheet.append([])  # row 5: empty, skipped
    sheet.append([1002, "株式会社B", 46349, "¥98,000"])
    path = tmp_path / "companies.xlsx"
    book.save(path)

    with open_table(path) as table:
        assert (table.format, table.encoding) == ("xlsx", None)
        # The first non-empty row is the title; a real header row is the user's job to put first.
        assert table.header_line == 1
    del table

    sheet.delete_rows(1, 2)
    book.save(path)
    with open_table(path) as table:
        rows = list(table.rows())
        assert table.headers == ["顧客コード", "会社名", "受注日", "金額"]
        assert table.progress() == (4, 4)
    assert [r.line for r in rows] == [2, 4]
    assert rows[0].cells == {
        "顧客コード": "C001",
        "会社名": "㈱髙橋",
        "受注日": datetime(2026, 4, 1),
        "金額": 1200000,
    }
    assert rows[1].cells["顧客コード"] == 1002


def test_progress_reaches_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("a\n" + "x\n" * 50_000, encoding="utf-8")
    with open_table(path) as table:
        for _ in table.rows():
            pass
        assert table.progress() == (path.stat().st_size, path.stat().st_size)
        assert table.rows_read == 50_000


def test_rejects_file_opens_in_excel(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    write_rejects(path, ["会社名", "金額"], [(3, {"会社名": "㈱A", "金額": "12.5"}, "端数")])
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    assert raw.decode("utf-8-sig").splitlines() == ["会社名,金額,行,エラー", "㈱A,12.5,3,端数"]
