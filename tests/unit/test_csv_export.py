"""Excel-friendly CSV: BOM or CP932, and no formula ever reaches a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from mezame.adapters.csv_export import csv_text, encode, neutralise, write_csv
from mezame.errors import InvalidInputError


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+81-3-1234", "'+81-3-1234"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("株式会社テスト", "株式会社テスト"),
        (-1200, "-1200"),  # numbers are data
        (None, ""),
    ],
)
def test_neutralise(cell: str | int | None, shown: str) -> None:
    assert neutralise(cell) == shown


def test_utf8_has_a_bom_and_cp932_is_shift_jis(tmp_path: Path) -> None:
    rows = [["株式会社髙橋①", "=1+1"]]
    write_csv(tmp_path / "u.csv", ["会社名", "メモ"], rows, encoding="utf-8")
    data = (tmp_path / "u.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == "会社名,メモ\r\n株式会社髙橋①,'=1+1\r\n"
    write_csv(tmp_path / "s.csv", ["会社名", "メモ"], rows, encoding="cp932")
    assert (tmp_path / "s.csv").read_bytes().decode("cp932").splitlines()[
        1
    ] == "株式会社髙橋①,'=1+1"


def test_a_character_cp932_lacks_is_an_error_naming_the_line() -> None:
    text = csv_text(["a"], [["ok"], ["ok"], ["絵文字😀"]])
    with pytest.raises(InvalidInputError, match="4 行目"):
        encode(text, "cp932")
    with pytest.raises(InvalidInputError):
        encode(text, "latin-1")
