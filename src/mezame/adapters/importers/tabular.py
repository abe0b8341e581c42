"""Read CSV and .xlsx files as a stream of rows: (line number, {header: value}).

CSV encoding is detected: UTF-8 with or without BOM, else CP932, the code page
Japanese Excel writes ("cp932", never "shift_jis": that codec fails on ①, 髙
and ㈱ and maps 〜 and − to other characters). Line numbers are what a user
sees: physical file lines for CSV (a quoted cell spanning lines still reports
the line its row starts on), Excel row numbers for .xlsx.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple

from mezame.errors import InvalidInputError

ENCODINGS = ("auto", "utf-8", "cp932")
_CODECS = {
    "utf-8": "utf-8-sig",
    "utf8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "cp932": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
    "sjis": "cp932",
    "shift_jis": "cp932",
}
_SNIFF_CHUNK = 1 << 20
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class TabularRow(NamedTuple):
    """One data row: where it starts, its cells by header, and non-empty cells past the header."""

    line: int
    cells: dict[str, object]
    extra_cells: int


class TabularFile(ABC):
    """An open CSV or .xlsx file: its headers, its rows, and how far reading has got."""

    format: str
    encoding: str | None
    headers: list[str]
    header_line: int

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows_read = 0

    @abstractmethod
    def cell_rows(self) -> Iterator[tuple[int, Sequence[object]]]:
        """(line, cells in header order) of the data rows, skipping fully empty ones."""

    def rows(self) -> Iterator[TabularRow]:
        """The data rows after the header, skipping fully empty ones."""
        headers = self.headers
        width = len(headers)
        for line, cells in self.cell_rows():
            extra = 0
            if len(cells) > width:
                extra = sum(1 for cell in cells[width:] if not _blank(cell))
            yield TabularRow(line, dict(zip(headers, cells, strict=False)), extra)

    @abstractmethod
    def progress(self) -> tuple[int, int]:
        """(done, total) in bytes for CSV, in rows for .xlsx."""

    @abstractmethod
    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> TabularFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_table(path: Path, *, encoding: str = "auto") -> TabularFile:
    """Open a CSV or .xlsx file (told apart by content, not name) for reading."""
    with path.open("rb") as probe:
        head = probe.read(4)
    if head.startswith(_XLS_MAGIC):
        raise InvalidInputError(
            f"{path.name}: 古い Excel 形式 (.xls) は読めません。.xlsx か CSV で保存し直してください"
        )
    if head.startswith(_XLSX_MAGIC):
        return XlsxFile(path)
    return CsvFile(path, encoding=encoding)


def _header_names(raw: Iterable[object]) -> list[str]:
    """Headers as strings; blanks get a column name and repeats a suffix, so none is lost."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for index, value in enumerate(raw, start=1):
        name = "" if value is None else str(value).strip().lstrip("\ufeff")
        name = name or f"列{index}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def detect_encoding(path: Path) -> str:
    """utf-8-sig or cp932, from the first stretch of the file that is not plain ASCII."""
    with path.open("rb") as stream:
        first = stream.read(_SNIFF_CHUNK)
        if first.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if first.startswith(_UTF16_BOMS):
            raise InvalidInputError(
                f"{path.name}: UTF-16 のファイルは読めません。"
                "「CSV UTF-8 (コンマ区切り)」か「CSV (コンマ区切り)」で保存してください"
            )
        chunk = first
        while chunk and chunk.isascii():
            chunk = stream.read(_SNIFF_CHUNK)
    if not chunk:
        return "utf-8-sig"
    for candidate in ("utf-8-sig", "cp932"):
        try:
            codecs.getincrementaldecoder(candidate)().decode(chunk, final=False)
        except UnicodeDecodeError:
            continue
        return candidate
    line, detail = _locate_decode_error(path, "utf-8")
    raise InvalidInputError(
        f"{path.name}:{line}: 文字コードを判別できません "
        f"(UTF-8 でも CP932 でもありません: {detail})"
    )


def _locate_decode_error(path: Path, encoding: str) -> tuple[int, str]:
    """The first physical line that does not decode, and the offending bytes."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as stream:
        for line_number, line in enumerate(stream, start=1):
            try:
                decoder.decode(line, final=False)
            except UnicodeDecodeError as exc:
                return line_number, f"バイト {line[exc.start : exc.start + 4].hex(' ')}"
    return 0, "ファイル末尾"


def _sniff_delimiter(header_line: str) -> str:
    """Tab for tab-separated exports, else comma."""
    return "\t" if header_line.count("\t") > header_line.count(",") else ","


class CsvFile(TabularFile):
    """A CSV (or tab-separated) file, decoded as UTF-8 or CP932."""

    format = "csv"

    def __init__(self, path: Path, *, encoding: str = "auto") -> None:
        super().__init__(path)
        if encoding == "auto":
            self.encoding = self._codec = detect_encoding(path)
        elif encoding.lower() in _CODECS:
            self.encoding = self._codec = _CODECS[encoding.lower()]
        else:
            raise InvalidInputError(
                f"文字コード {encoding!r} には対応していません (auto, utf-8, cp932)"
            )
        self._total = path.stat().st_size
        self._binary = path.open("rb")
        self._text: IO[str] = io.TextIOWrapper(self._binary, encoding=self._codec, newline="")
        self._reader = csv.reader(self._text, delimiter=self._delimiter())
        self._last_line = 0
        self.headers = []
        self.header_line = 0
        try:
            for line, cells in self._records():
                if any(cell.strip() for cell in cells):
                    self.headers, self.header_line = _header_names(cells), line
                    break
            if not self.headers:
                raise InvalidInputError(f"{path.name}: ヘッダー行がありません (空のファイルです)")
        except BaseException:
            self.close()
            raise

    def _delimiter(self) -> str:
        with self.path.open("rb") as stream:
            sample = stream.read(64 * 1024)
        first_line = sample.split(b"\n", 1)[0].decode(self._codec, errors="replace")
        return _sniff_delimiter(first_line)

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """Raw CSV records with the physical line each starts on."""
        reader = self._reader
        try:
            for cells in reader:
                start, self._last_line = self._last_line + 1, reader.line_num
                yield start, cells
        except UnicodeDecodeError:
            line, detail = _locate_decode_error(self.path, self._codec)
            raise InvalidInputError(
                f"{self.path.name}:{line}: {self._codec.removesuffix('-sig')} "
                f"として読めない文字があります ({detail})。--encoding を確かめてください"
            ) from None
        except csv.Error as exc:
            raise InvalidInputError(
                f"{self.path.name}:{self._last_line + 1}: CSV として読めません ({exc})"
            ) from None

    def cell_rows(self) -> Iterator[tuple[int, Sequence[object]]]:
        for line, cells in self._records():
            if not "".join(cells).strip():
                continue
            self.rows_read += 1
            yield line, cells

    def progress(self) -> tuple[int, int]:
        return (self._binary.tell() if not self._binary.closed else self._total), self._total

    def close(self) -> None:
        self._text.close()


class XlsxFile(TabularFile):
    """The first sheet of an .xlsx workbook; the first non-empty row is the header."""

    format = "xlsx"
    encoding = None

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        from openpyxl import load_workbook  # only .xlsx imports pay for openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        # A file object, not the path: openpyxl would refuse an upload spooled without .xlsx.
        self._stream = path.open("rb")
        try:
            self._book = load_workbook(self._stream, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            self._stream.close()
            raise InvalidInputError(f"{path.name}: .xlsx として読めません ({exc})") from None
        sheet = self._book.worksheets[0]
        self._total = sheet.max_row or 0
        self._rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        self.headers = []
        self.header_line = 0
        for number, values in self._rows:
            if any(not _blank(v) for v in values):
                self.headers, self.header_line = _header_names(values), number
                break
        if not self.headers:
            self.close()
            raise InvalidInputError(f"{path.name}: ヘッダー行がありません (空のシートです)")
        self._position = self.header_line

    def cell_rows(self) -> Iterator[tuple[int, Sequence[object]]]:
        for number, values in self._rows:
            self._position = number
            if all(_blank(v) for v in values):
                continue
            self.rows_read += 1
            yield number, values

    def progress(self) -> tuple[int, int]:
        return self._position, self._total

    def close(self) -> None:
        self._book.close()
        self._stream.close()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def write_rejects(
    path: Path, headers: list[str], rejected: Iterable[tuple[int, Mapping[str, object], str]]
) -> None:
    """Write rejected rows as CSV (original columns, 行, エラー), UTF-8 with BOM for Excel."""
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*headers, "行", "エラー"])
        for line, cells, reason in rejected:
            row = ["" if cells.get(h) is None else str(cells.get(h)) for h in headers]
            writer.writerow([*row, line, reason])
