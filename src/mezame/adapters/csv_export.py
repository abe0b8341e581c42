"""CSV files that Excel opens correctly: UTF-8 with a BOM, or CP932 for older Japanese Excel.

Every cell that a spreadsheet would read as a formula (starting with = + - @, a tab or a
carriage return) gets a leading apostrophe: an exported customer name must never run as
=HYPERLINK(…) on the reader's machine (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from mezame.errors import InvalidInputError

ENCODINGS = ("utf-8", "cp932")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def neutralise(value: Cell) -> str:
    """The cell as text, defused if a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return text  # a number is data, even a negative one
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """The whole file as text, CRLF line ends (what Excel writes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def encode(text: str, encoding: str) -> bytes:
    """UTF-8 with BOM, or CP932; a character CP932 lacks is an error naming its line."""
    if encoding == "utf-8":
        return "\ufeff".encode() + text.encode("utf-8")
    if encoding != "cp932":
        raise InvalidInputError(f"encoding は {' / '.join(ENCODINGS)} のいずれかです: {encoding!r}")
    try:
        return text.encode("cp932")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise InvalidInputError(
            f"{line} 行目の文字 {text[exc.start : exc.end]!r} は CP932 (Shift_JIS) で書けません。"
            "--encoding utf-8 を使ってください"
        ) from None


def write_csv(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]], *, encoding: str
) -> int:
    """Write the file (built in memory first: a bad character leaves no half file); its size."""
    data = encode(csv_text(header, rows), encoding)
    path.write_bytes(data)
    return len(data)
