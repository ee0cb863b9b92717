"""Readers: a raw export file → a DataFrame of strings with its spreadsheet row numbers.

One reader per format (CSV, XLSX; a new format is a new reader). Encodings: UTF-8, UTF-8 with BOM,
UTF-16 with BOM and GB18030 (Excel's "CSV" on Chinese Windows) are detected; anything else stops
with a message naming the file. Every record gets ``_row``: its row number as a spreadsheet shows it
(header = row 1, first record = row 2). Records whose field count differs from the header's are
returned separately as malformed, with their row numbers, so that nothing is dropped silently.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from citynet.errors import DataError

SAMPLE_BYTES = 4 << 20


@dataclass
class RawTable:
    """What a reader returns: records as strings, plus the records it could not split into fields."""

    path: Path
    frame: pd.DataFrame  # all columns str (missing → ""), plus int column ``_row``
    encoding: str
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (row, raw text)

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.malformed)


def detect_encoding(path: Path) -> str:
    """``utf-8-sig``, ``utf-16``, ``utf-8`` or ``gb18030``, by BOM and then by strict decoding of a sample."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    cut = head.rfind(b"\n") if len(head) == SAMPLE_BYTES else len(head)
    sample = head[: cut if cut > 0 else len(head)]
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    raise DataError(
        f"{path}: cannot decode the file as UTF-8 or GB18030",
        fix="save it as UTF-8 (Excel: 'CSV UTF-8') or pass the encoding in citynet.toml [inputs] encoding = '…'",
    )


def read_csv(path: Path, encoding: str = "auto") -> RawTable:
    """Read a delimited text file (comma, tab or semicolon, detected from the header line)."""
    enc = detect_encoding(path) if encoding in ("auto", "", None) else encoding
    arrow_enc = "utf8" if enc in ("utf-8", "utf-8-sig") else enc
    with open(path, encoding=enc, errors="replace") as fh:
        header_line = fh.readline()
    delimiter = max([",", "\t", ";"], key=header_line.count)
    invalid: list[str] = []

    def on_invalid(row) -> str:
        invalid.append(row.text)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=arrow_enc, block_size=64 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=_all_string(path, enc, delimiter), strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}: cannot read as {enc} CSV: {exc}",
            fix="check the encoding (UTF-8 or GB18030) and that the file is a delimited export",
        ) from exc
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    frame.columns = [str(c) for c in frame.columns]
    malformed: list[tuple[int, str]] = []
    if invalid:
        bad_records = _malformed_record_numbers(path, enc, delimiter, len(frame.columns))
        malformed = [(rec + 2, text) for rec, text in zip(bad_records, invalid, strict=False)]
        bad_set = set(bad_records)
        good = [i for i in range(len(frame) + len(bad_records)) if i not in bad_set]
        frame["_row"] = pd.Series(good, dtype="int64") + 2
    else:
        frame["_row"] = pd.RangeIndex(len(frame)) + 2
    return RawTable(path=path, frame=frame, encoding=enc, malformed=malformed)


def _all_string(path: Path, enc: str, delimiter: str) -> dict[str, pa.DataType]:
    with open(path, encoding=enc, errors="replace", newline="") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), [])
    return {name: pa.string() for name in header}


def _malformed_record_numbers(path: Path, enc: str, delimiter: str, ncols: int) -> list[int]:
    """0-based record numbers (after the header) whose field count differs from the header's."""
    with open(path, encoding=enc, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        return [i for i, rec in enumerate(reader) if len(rec) != ncols and rec]


def read_excel(path: Path) -> RawTable:
    """Read the first sheet of an .xlsx workbook; the first row is the header."""
    try:
        frame = pd.read_excel(path, dtype=str, engine="openpyxl", keep_default_na=False)
    except Exception as exc:  # openpyxl raises many kinds for corrupt files
        raise DataError(f"{path}: cannot read as an Excel workbook: {exc}", fix="save it again as .xlsx") from exc
    frame = frame.fillna("").astype(str)
    frame.columns = [str(c) for c in frame.columns]
    frame["_row"] = pd.RangeIndex(len(frame)) + 2
    return RawTable(path=path, frame=frame, encoding="xlsx")


READERS = {".csv": read_csv, ".txt": read_csv, ".tsv": read_csv, ".xlsx": read_excel, ".xlsm": read_excel}


def read_table(path: str | Path, encoding: str = "auto") -> RawTable:
    """Dispatch on the file suffix."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file", fix="check the path (relative paths are from the current folder)")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(
            f"{path}: unsupported file type {path.suffix!r}",
            fix=f"export as one of {', '.join(sorted(READERS))}",
        )
    if reader is read_csv:
        return read_csv(path, encoding)
    return reader(path)


