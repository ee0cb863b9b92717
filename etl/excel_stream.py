"""The first sheet of an ``.xlsx`` (or old ``.xls``) export in batches of records, for the streaming ingest.

``pandas.read_excel`` builds the whole sheet as Python objects, then a frame of them, then a frame of
strings, and the ingest held that frame while it worked: reading a sheet of 849,240 rows × 13 columns
(64 MB) that way peaked at 2.05 GB. Here python-calamine (Rust) holds the sheet's cells, compactly, and
hands out its rows one by one (``CalamineSheet.iter_rows``); each batch of ``batch_rows`` rows becomes a
frame of strings with the text ``read_excel(dtype=str)`` gives every cell (its header parsed by pandas' own
parser, ``TextParser``; the cells converted as pandas' calamine engine converts them): the same sheet peaks
at 1.45 GB, with less CPU (docs/scale.md). An XLSX keeps its texts in one table for the whole workbook (its
shared strings), which calamine reads before any row, so no reader of the format holds much less. A workbook of several
sheets is parsed once by its survey (``etl.readers.survey_workbook``), which hands its first sheet over here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd


def _pandas_cell(value):
    """A cell as pandas' calamine engine gives it to its parser (``CalamineReader.get_sheet_data``): a whole
    float as an int, a date as a datetime at midnight; other values as they are."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def _rows_from_a1(sheet, top: int, left: int) -> Iterator[list]:
    """The sheet's rows from its cell A1, as ``to_python(skip_empty_area=False)`` has them (what
    ``read_excel`` reads), from ``iter_rows`` with ``top`` empty rows and ``left`` empty cells added."""
    width = left + sheet.width
    for _ in range(top):
        yield [""] * width
    pad = [""] * left
    for row in sheet.iter_rows():
        yield pad + row if left else row


def _padding(sheet, rows: int) -> tuple[int, int] | None:
    """The empty rows and cells to add before ``iter_rows``'s (python-calamine 0.9 starts its rows at the
    sheet's first row but its cells at the first column that holds something; other versions may not):
    the first that gives the first ``rows`` rows of ``to_python(skip_empty_area=False)``, else None."""
    want = sheet.to_python(skip_empty_area=False, nrows=rows)
    top, left = sheet.start if sheet.start is not None else (0, 0)
    for pad in dict.fromkeys([(0, left), (top, left), (0, 0), (top, 0)]):
        got = list(itertools.islice(_rows_from_a1(sheet, *pad), len(want)))
        if got == want:
            return pad
    return None


def _header(row: list) -> list[str]:
    """The header row's names as ``pandas.read_excel`` names its columns (its parser: an empty cell
    ``Unnamed: k``, a repeated name ``X.1``, a number's text)."""
    from pandas.io.parsers import TextParser

    data = [[_pandas_cell(c) for c in row]]
    return [str(c) for c in TextParser(data, header=0, dtype=str, keep_default_na=False,
                                       skip_blank_lines=False).read().columns]


def _text(value) -> str:
    """A cell's text as ``read_excel(dtype=str)`` gives it (its parser writes ``str`` of the converted cell)."""
    return value if type(value) is str else str(_pandas_cell(value))


def _records(rows: list[list], header: list[str]) -> pd.DataFrame:
    """Records as a frame of strings, column by column (most cells are text already: only the others are
    converted; pandas' parser would look at every cell, 1.5 times slower)."""
    columns = zip(*rows, strict=True) if rows else ([] for _ in header)
    frame = pd.DataFrame({i: [_text(c) for c in col] for i, col in enumerate(columns)})
    frame.columns = header
    return frame.astype(str)


def _a1(row: int, col: int) -> str:
    """A cell's name (0-based row and column): ``(5, 1)`` → ``B6``."""
    letters, col = "", col + 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def refuse_merged_records(path: Path | str, sheet, header_row: int, header: list[str]) -> None:
    """Stop at merged cells that span rows of records (a sheet formatted by hand: the same 申请日 or 申请人地址 shown
    for several records). Excel shows the value across the range but keeps it in its first cell only, as every
    reader of the format does: the records below it would be read without it — quarantined for a missing field,
    or loaded without an address (its applicant then located otherwise) — without a word. Merges within a row
    (a title across the columns, a note below the records) lose nothing and are left alone."""
    from citynet.errors import DataError

    try:  # (a calamine sheet, or the ranges as a survey kept them: etl.readers.Sheet.merged)
        merged = (sheet if isinstance(sheet, list) else sheet.merged_cell_ranges) or []
    except Exception:  # noqa: BLE001 - a format whose merges calamine does not read: nothing to say
        return
    spans = sorted(((r0, c0, r1, c1) for (r0, c0), (r1, c1) in merged if r1 > r0 and r1 >= header_row),
                   key=lambda s: (s[1], s[0]))  # left to right, then top to bottom
    if not spans:
        return
    rows = sorted({r + 1 for r0, _, r1, _ in spans for r in range(max(r0 + 1, header_row), r1 + 1)})
    columns = list(dict.fromkeys(header[c] if c < len(header) else _a1(0, c)[:-1] for _, c0, _, c1 in spans
                                 for c in range(c0, c1 + 1)))
    refs = ", ".join(f"{_a1(r0, c0)}:{_a1(r1, c1)}" for r0, c0, r1, c1 in spans[:8])
    more = f" and {len(spans) - 8:,} more" if len(spans) > 8 else ""
    shown = ", ".join(map(str, rows[:10])) + (f" … ({len(rows):,} rows)" if len(rows) > 10 else "")
    raise DataError(
        f"{path}: merged cells span records ({refs}{more}; columns {', '.join(columns[:6])}): Excel shows a merged "
        f"value on every row of the range but keeps it in the first cell only, so row{'s' if len(rows) > 1 else ''} {shown} "
        "would be read without it",
        fix="in Excel select the sheet, unmerge (Home → Merge & Center), fill the emptied cells (Find & Select → "
            "Go To Special → Blanks, type = and the cell above, Ctrl+Enter), save and ingest again")


_HIDDEN_ROW = re.compile(rb"<(?:\w+:)?row\b[^>]*?\bhidden=\"(?:1|true)\"")


def rows_hidden_by_a_filter(path: Path, sheet_name: str) -> int:
    """The rows of sheet ``sheet_name`` of an .xlsx that an AutoFilter hides in Excel (the user filtered the
    records, e.g. to one kind, and saved): 0 unless the workbook defines a filter range for that sheet (Excel's
    ``_xlnm._FilterDatabase`` name, in ``xl/workbook.xml``: a few kB read); then the sheet's XML is scanned as it
    is decompressed (1.5 s for 200,000 records, under load) for rows marked hidden."""
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(path) as z:
            book = z.read("xl/workbook.xml")
            if b"_xlnm._FilterDatabase" not in book:
                return 0
            root = ElementTree.fromstring(book)
            local = lambda el: el.tag.rsplit("}", 1)[-1]  # noqa: E731 - a tag without its namespace
            sheets = [el for el in root.iter() if local(el) == "sheet"]
            filtered = {int(el.get("localSheetId", -1)) for el in root.iter()
                        if local(el) == "definedName" and el.get("name") == "_xlnm._FilterDatabase"}
            at = next((i for i, el in enumerate(sheets) if el.get("name") == sheet_name), None)
            if at is None or at not in filtered:
                return 0
            rid = next(v for k, v in sheets[at].attrib.items() if k.rsplit("}", 1)[-1] == "id")
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next(el.get("Target") for el in rels.iter() if el.get("Id") == rid)
            member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            hidden, tail = 0, b""
            with z.open(member) as fh:
                while block := fh.read(16 << 20):
                    chunk = tail + block
                    cut = chunk.rfind(b"<")  # a tag the block cut goes to the next
                    cut = cut if cut > 0 else len(chunk)
                    hidden += len(_HIDDEN_ROW.findall(chunk, 0, cut))
                    tail = chunk[cut:]
                hidden += len(_HIDDEN_ROW.findall(tail))
            return hidden
    except (zipfile.BadZipFile, KeyError, StopIteration, ElementTree.ParseError, OSError, ValueError):
        return 0  # (a workbook calamine reads but not so: nothing said)


def excel_batches(path: Path, header_row: int, batch_rows: int) -> tuple[list[str], Callable[..., Iterator]] | None:
    """The header (usable names, as :func:`etl.readers.read_excel`'s frame has them) and a callable that
    yields the records of the first sheet below it as frames of strings with ``_row`` (the spreadsheet row),
    ``batch_rows`` at a time (a second call reads the workbook again). ``None`` when the sheet has no record below
    row ``header_row`` (the whole-sheet reader says what is wrong with such a sheet), or when its rows cannot
    be matched to what ``read_excel`` reads (:func:`_padding`: the whole-sheet reader then reads it)."""
    import python_calamine
    from citynet.etl.readers import take_first_sheet, unique_headers

    sheet = take_first_sheet(path)  # parsed by the workbook's survey (a workbook of several sheets), else here
    if sheet is None:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            sheet = book.get_sheet_by_index(0)  # (calamine parses the whole sheet here: kept for the first batches)
        finally:
            book.close()
    pad = _padding(sheet, header_row + 1)
    if pad is None:
        return None
    rows = _rows_from_a1(sheet, *pad)
    above = [next(rows, None) for _ in range(header_row)]
    if above[-1] is None or next(rows, None) is None:
        return None
    names = _header(above[-1])
    header = unique_headers([("" if str(c).startswith("Unnamed: ") else str(c)) for c in names])
    refuse_merged_records(path, sheet, header_row, header)
    hidden = rows_hidden_by_a_filter(path, sheet.name) if path.suffix.lower() in (".xlsx", ".xlsm") else 0
    if hidden:
        from citynet.errors import DataError

        raise DataError(
            f"{path}: a filter hides {hidden:,} row{'s' if hidden != 1 else ''} of sheet {sheet.name!r} in Excel; "
            "citynet reads every row the file holds, so they would be read although Excel does not show them",
            fix="to read every row: in Excel Data → Clear (the filter), save and ingest again; to read only the rows "
                "shown: select them, copy, paste into a new workbook (Excel copies only visible rows) and ingest that")
    parsed = [sheet]

    def batches(lazy: bool = False) -> Iterator[pd.DataFrame]:
        if parsed:
            rows = _rows_from_a1(parsed.pop(), *pad)
        else:  # a second reading parses the workbook again
            book = python_calamine.CalamineWorkbook.from_path(str(path))
            try:
                rows = _rows_from_a1(book.get_sheet_by_index(0), *pad)
            finally:
                book.close()
        for _ in range(header_row):
            next(rows)
        first = header_row + 1
        while True:
            chunk = list(itertools.islice(rows, batch_rows))
            if not chunk:
                return
            frame = _records(chunk, header)
            frame["_row"] = pd.RangeIndex(first, first + len(frame))
            first += len(frame)
            yield frame

    return header, batches
