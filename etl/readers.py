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
import io
import itertools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from citynet.errors import DataError

SAMPLE_BYTES = 4 << 20
FIELD_LIMIT = 131_072  # Python csv's default field limit: a longer field is damage, not data
BOM_TEXT = "\ufeff"  # a byte-order mark, as decoded text
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the first bytes of an OLE file: an old Excel workbook (.xls), an encrypted one
SHOW_LIMIT = 32_000  # a quarantine cell stays under Excel's 32,767-character cell limit
RESERVED = {"_row", "_source_file"}
_SURROGATE = re.compile("[\udc80-\udcff]")
_UNSAFE = re.compile("[\udc80-\udcff\x00]")


@dataclass
class RawTable:
    """What a reader returns: records as strings, plus the records it could not split into fields."""

    path: Path
    frame: pd.DataFrame  # all columns str (missing → ""), plus int column ``_row``
    encoding: str
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (row, raw text shown safely, reason)
    header_row: int = 1  # the spreadsheet row of the header (below a title: etl.headers.header_row_below)

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.malformed)


_WIDE_CHAR = re.compile("[^\x00-\x7f\ufffd]")  # a character decoded from several bytes
GB18030_AFTER_BOM = "gb18030-utf8bom"  # GBK/GB18030 text behind a UTF-8 byte-order mark (_BomGb18030Decoder)


class _BomGb18030Decoder(codecs.IncrementalDecoder):
    """GB18030 from the start of a file that begins with a UTF-8 byte-order mark (EF BB BF), the mark skipped: a GBK
    export that a tool prefixed with the mark. Read as GB18030 the mark's bytes would be a character and take the
    first byte of the header with them (申请号 read as 锘?请号); read as UTF-8 every Chinese character is invalid."""

    def __init__(self, errors: str = "strict"):
        super().__init__(errors)
        self._inner = codecs.getincrementaldecoder("gb18030")(errors)
        self._head: bytes | None = b""  # the first bytes, until the mark can be told (None: told)

    def decode(self, data, final: bool = False) -> str:
        if self._head is None:
            return self._inner.decode(data, final)
        self._head += bytes(data)
        if len(self._head) < len(codecs.BOM_UTF8) and not final:
            return ""
        head, self._head = self._head, None
        return self._inner.decode(head.removeprefix(codecs.BOM_UTF8), final)

    def reset(self) -> None:
        self._inner.reset()
        self._head = b""


def _bom_gb18030(name: str):
    if name.replace("_", "-") != GB18030_AFTER_BOM:
        return None
    gb = codecs.lookup("gb18030")

    def decode(data, errors: str = "strict"):
        data = bytes(data)
        return gb.decode(data.removeprefix(codecs.BOM_UTF8), errors)[0], len(data)

    return codecs.CodecInfo(gb.encode, decode, incrementalencoder=gb.incrementalencoder,
                            incrementaldecoder=_BomGb18030Decoder, name=GB18030_AFTER_BOM)


codecs.register(_bom_gb18030)


def detect_encoding(path: Path) -> str:
    """``utf-8-sig``, ``utf-16``, ``utf-8`` or ``gb18030``, by BOM and then by strict decoding of a sample; a UTF-8
    byte-order mark before text that is GB18030 and not UTF-8: :data:`GB18030_AFTER_BOM`."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    # the sample ends at its last line end, LF or a lone CR (a CR-only file cut mid-character read as GB18030)
    cut = max(head.rfind(b"\n"), head.rfind(b"\r")) if len(head) == SAMPLE_BYTES else len(head)
    sample = head[: cut if cut > 0 else len(head)]
    if head.startswith(codecs.BOM_UTF8):
        text = sample[3:].decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        if bad and bad > len(_WIDE_CHAR.findall(text)):  # mostly not UTF-8 (a UTF-8 export with a few bad bytes is)
            try:
                sample[3:].decode("gb18030")
                return GB18030_AFTER_BOM
            except UnicodeDecodeError:
                pass
        return "utf-8-sig"  # (its undecodable records are quarantined, or the file refused: _check_decodable)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
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


def read_csv(path: Path, encoding: str = "auto", header_row: int = 1) -> RawTable:
    """Read a delimited text file (comma, tab, semicolon or pipe, detected from the header line).

    Fast path: pyarrow's multithreaded reader, taken only when the file is regular (decodes cleanly, no
    blank line, no NUL, every record has the header's field count, no field over :data:`FIELD_LIMIT`).
    Otherwise the careful path (:func:`_read_careful`) splits the file with Python's ``csv`` module,
    numbers every record as a spreadsheet would (blank lines count as rows) and sets damaged records
    apart one by one, so one bad row never refuses the file.
    """
    enc = _resolve_encoding(path, encoding) or _best_effort_encoding(path)
    start = line_offset(path, enc, header_row)
    if start is not None and _regular_bytes(path, enc, start):
        try:
            fast = _read_fast(path, enc, start, header_row)
        except (pa.ArrowException, UnicodeError, ValueError, OverflowError, KeyError):
            fast = None  # anything irregular: the careful path reads it record by record
        if fast is not None:
            return fast
    return _read_careful(path, enc, header_row)


_LINE_END = re.compile(rb"\r\n|\r|\n")
_LINE_END_TEXT = re.compile(r"\r\n|\r|\n")


def line_offset(path: Path, enc: str, line: int) -> int | None:
    """The byte offset of line ``line`` (1-based) of a CSV whose header sits below a title (the lines above are
    a database's title or search query: not records); None for UTF-16, whose newlines are two bytes (the
    careful path skips the lines in the decoded text). In UTF-8 and GB18030 a newline byte is never part of
    another character."""
    if line <= 1:
        return 0
    if _wide(enc):
        return None
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    # a line ends at CR LF, LF or a lone CR (Excel for Mac's "CSV (Macintosh)"; readline() knew only LF and put
    # the header of such a file at its end)
    for count, end in enumerate(_LINE_END.finditer(head), start=1):
        if count == line - 1:
            return end.end()
    return len(head)  # fewer lines in the sample (the header is among its first rows: peek_rows)


def _wide(enc: str) -> bool:
    """UTF-16 or UTF-32 (any spelling, either byte order): a newline is several bytes, and a stream without a
    byte-order mark cannot be decoded from its middle; such files are read by the careful path from the start."""
    return codecs.lookup(enc).name.startswith(("utf-16", "utf-32"))


def _open_at(path: Path, enc: str, start: int):
    """``path`` as text from byte ``start`` (the header's line)."""
    fh = open(path, "rb")  # noqa: SIM115 (the text wrapper closes it)
    fh.seek(start)
    return io.TextIOWrapper(fh, encoding=enc, errors="replace", newline="")


def _resolve_encoding(path: Path, encoding: str | None) -> str | None:
    """The encoding to read ``path`` with: the user's (checked to exist) or the detected one; ``None`` when
    detection fails. An unknown name is a :class:`DataError`."""
    try:
        enc = detect_encoding(path) if encoding in ("auto", "", None) else encoding
        codecs.lookup(enc)
    except LookupError as exc:
        raise DataError(f"{path}: unknown encoding {encoding!r}", fix="use utf-8, gb18030, utf-16 or latin-1") from exc
    except DataError:
        return None
    return enc


def _best_effort_encoding(path: Path) -> str:
    """For a file that neither UTF-8 nor GB18030 decode completely: the one with fewer bad bytes
    (the bad records are then quarantined by the careful path)."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    errs = {enc: head.decode(enc, errors="replace").count("\ufffd") for enc in ("utf-8", "gb18030")}
    return min(errs, key=lambda e: (errs[e], e != "utf-8"))


_IRREGULAR = re.compile(rb"\x00|\n\n|\n\r\n|\r\r")


def _irregular_bytes(chunk) -> bool:
    """A NUL byte or a blank line in ``chunk`` (bytes or a memoryview: not copied; what
    :func:`_regular_bytes` looks for): the matches of ``_IRREGULAR``, found with numpy — the control
    bytes (below 14: NUL, LF, CR and a few others) are picked out in one pass and only they are looked at
    (Python's regular expression visited every byte: 1.2 s of CPU per 330 MB against 0.15 s)."""
    a = np.frombuffer(chunk, dtype=np.uint8)
    at = np.flatnonzero(a < 14)
    if not len(at):
        return False
    v = a[at]
    if (v == 0).any():
        return True
    adjacent = np.diff(at) == 1  # two control bytes side by side: \n\n or \r\r
    lf, cr = v == 10, v == 13
    if (adjacent & ((lf[:-1] & lf[1:]) | (cr[:-1] & cr[1:]))).any():
        return True
    return bool((adjacent[:-1] & adjacent[1:] & lf[:-2] & cr[1:-1] & lf[2:]).any())  # \n\r\n


def _regular_bytes(path: Path, enc: str, start: int = 0) -> bool:
    """No blank line and no NUL byte from byte ``start`` on (UTF-16 and UTF-32 files always go the careful way)."""
    if _wide(enc):
        return False
    tail = b""
    with open(path, "rb") as fh:
        fh.seek(start)
        while block := fh.read(16 << 20):
            chunk = tail + block
            if _irregular_bytes(chunk):
                return False
            tail = chunk[-2:]
    return True


def _read_fast(path: Path, enc: str, start: int = 0, header_row: int = 1) -> RawTable | None:
    arrow_enc = "utf8" if enc in ("utf-8", "utf-8-sig") else enc
    with _open_at(path, enc, start) as fh:
        header_line = fh.readline()
    delimiter = _delimiter(header_line)
    header = _header(path, enc, delimiter, start)
    if header is None or len(set(header)) != len(header):
        return None  # duplicated / empty / reserved header names: renamed by the careful path
    source = open(path, "rb")  # noqa: SIM115 (closed below)
    source.seek(start)
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(encoding=arrow_enc, block_size=64 << 20),
            # no invalid_row_handler: pyarrow decodes the bad row's text before calling it (and a bad byte
            # there is an ignored exception); a wrong field count raises and the careful path takes over
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=_string_columns(header), strings_can_be_null=False,
                quoted_strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError, OverflowError):
        return None
    finally:
        source.close()
    if table.num_columns != len(header):
        return None
    table = table.rename_columns(header)  # a first name read with a byte-order mark (_header)
    for col in table.columns:
        if len(col) and pc.max(pc.utf8_length(col)).as_py() > FIELD_LIMIT:
            return None
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    frame.columns = [str(c) for c in frame.columns]
    frame["_row"] = pd.RangeIndex(len(frame)) + header_row + 1
    return RawTable(path=path, frame=frame, encoding=enc, header_row=header_row)


def _delimiter(header_line: str) -> str:
    """The most frequent of comma, tab, semicolon and pipe in the header line (comma on a tie)."""
    return max([",", "\t", ";", "|"], key=header_line.count)


def _header(path: Path, enc: str, delimiter: str, start: int = 0) -> list[str] | None:
    """The header as given, or None when a name is empty, duplicated or reserved. A byte-order mark that
    the codec keeps as text (GB18030's ``84 31 95 33``: a UTF-8 export with BOM converted by ``iconv``) is
    not part of the first name."""
    with _open_at(path, enc, start) as fh:
        header = next(csv.reader(fh, delimiter=delimiter), [])
    if header and header[0].startswith(BOM_TEXT):
        header[0] = header[0][1:]
    fixed = unique_headers(header)
    return header if fixed == header and not any("\ufffd" in h for h in header) else None


def _string_columns(header: list[str]) -> dict[str, pa.DataType]:
    """Arrow's ``column_types`` for ``header``, every column text, under the first name as Arrow reads it
    too (with a byte-order mark the codec kept: :func:`_header`)."""
    return {name: pa.string() for name in [*header, BOM_TEXT + header[0]]} if header else {}


def unique_headers(header: list[str]) -> list[str]:
    """Header names made usable: empty → ``column_<n>``; a repeat → ``<name> (2)``; reserved names
    (``_row``, ``_source_file``, anything starting ``raw:``) get `` (input)``. Spreadsheet column
    numbers are 1-based."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        name = _safe_text(str(name)).strip() or f"column_{i}"
        if name in RESERVED or name.startswith("raw:"):
            name = f"{name} (input)"
        base, k = name, 1
        while name in seen:
            k += 1
            name = f"{base} ({k})"
        seen.add(name)
        out.append(name)
    return out


def summarise(names, limit: int = 20, width: int = 60) -> str:
    """``a, b, c … and 4,990 more headers``: a list of names for a one-screen message."""
    names = [n if len(n) <= width else n[: width - 1] + "…" for n in map(str, names)]
    shown = ", ".join(names[:limit])
    return shown + (f" … and {len(names) - limit:,} more headers" if len(names) > limit else "")


def _safe_text(s: str) -> str:
    """Undecodable bytes (surrogate escapes) as ``\\xNN`` and NUL as ``\\x00``: safe to show and to write."""
    if not s or (s.isprintable() and s.isascii()):
        return s
    return _UNSAFE.sub(lambda m: f"\\x{(ord(m.group()) & 0xFF):02x}", s)


def _careful_records(path: Path, enc: str, header_row: int = 1):
    """The careful path's reading: first the usable header names, then ``(row, record, reason, shown)`` for
    each record, split with Python's csv module as the file is read (never the whole file in memory).
    ``reason`` is None for a record that loads; else why not (:func:`_damage`), ``shown`` its source text as
    the file has it (safe to show; quotes and all), ``record`` then None. Blank lines are rows, not records.
    The header is line ``header_row`` (the lines above it, a title, are skipped; rows keep their numbers)."""
    try:
        yield from _careful_split(path, enc, header_row)
    except UnicodeError as exc:  # surrogateescape keeps any byte but an ASCII one cut short (odd UTF-16)
        raise DataError(f"{path}: cannot decode the file as {enc}", fix="save it as UTF-8 (Excel: 'CSV UTF-8')") from exc


def _careful_split(path: Path, enc: str, header_row: int):
    csv.field_size_limit(sys.maxsize if sys.maxsize < 2**63 else 2**62)
    with open(path, encoding=enc, errors="surrogateescape", newline="") as fh:
        first = fh.readline()
        if first.startswith(BOM_TEXT):
            first = first[1:]
        source_lines = itertools.chain([first], fh)
        for _ in range(header_row - 1):  # a title above the header: its lines are not records
            next(source_lines, None)
        head = next(source_lines, "")
        delimiter = _delimiter(_LINE_END_TEXT.split(head, 1)[0])
        pending: list[str] = []  # the source lines of the record being read (its raw text, quotes and all)

        def lines():
            for line in itertools.chain([head], source_lines):
                pending.append(line)
                yield line

        reader = csv.reader(lines(), delimiter=delimiter)
        header = next(reader, None)
        pending.clear()
        if header is None or not any(h.strip() for h in header):
            raise DataError(f"{path}: the file has no header row", fix="the first row must name the columns")
        names = unique_headers(header)
        yield names
        ncols = len(names)
        row = header_row
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # pragma: no cover - field_size_limit is lifted; kept as a row-level guard
                row += 1
                pending.clear()
                yield row, None, "malformed_row", f"(unreadable record: {exc})"
                continue
            row += 1
            if not rec:
                pending.clear()
                continue  # a blank line: a row in a spreadsheet, but no record
            reason = _damage(rec, ncols)
            if reason is None:
                pending.clear()
                yield row, rec, None, ""
                continue
            raw = "".join(pending).rstrip("\r\n")  # as the file has it (re-joined fields would lose its quotes)
            pending.clear()
            shown = _safe_text(raw)
            if len(shown) > SHOW_LIMIT:
                shown = shown[:SHOW_LIMIT] + f"… ({len(raw):,} characters in all)"
            yield row, None, reason, shown


def _string_frame(records: list[list[str]], rows: list[int], names: list[str]) -> pd.DataFrame:
    """Records as a frame of Arrow-backed strings under ``names``, plus ``_row``."""
    frame = pd.DataFrame(records, columns=names, dtype=pd.StringDtype("pyarrow")) if records else pd.DataFrame(
        {n: pd.Series([], dtype=pd.StringDtype("pyarrow")) for n in names})
    frame["_row"] = pd.Series(rows, dtype="int64")
    return frame


def _check_decodable(path: Path, enc: str, undecodable: int, good: int) -> None:
    """A file whose records are mostly undecodable is in another encoding: the file, not a row, is wrong."""
    if undecodable and undecodable >= good:
        raise DataError(
            f"{path}: cannot decode the file as {enc}: {undecodable:,} of {undecodable + good:,} records have "
            "invalid bytes",
            fix="save it as UTF-8 (Excel: 'CSV UTF-8'), or pass the encoding: citynet ingest --encoding gb18030 "
                "(or citynet.toml [inputs] encoding = '…')",
        )


def _read_careful(path: Path, enc: str, header_row: int = 1) -> RawTable:
    """The whole file by the careful path: :func:`_careful_stream` in one batch; damaged records become
    ``malformed``."""
    raw = _careful_stream(path, enc, header_row, batch_rows=sys.maxsize)
    frames = list(raw.batches())
    frame = frames[0] if frames else _string_frame([], [], raw.header)
    return RawTable(path=path, frame=frame, encoding=enc, malformed=raw.malformed, header_row=header_row)


def _careful_stream(path: Path, enc: str, header_row: int, batch_rows: int) -> RawStream:
    """A CSV by the careful path in batches of ``batch_rows`` records, read as they are handed out: memory is
    bounded by a batch whatever the file's size (the whole file in Python lists cost about 5.6 times its
    size: 0.9 GB more peak for a 165 MB export with one blank line). Damaged records are added to the
    stream's ``malformed`` as they are met; a file mostly undecodable stops at its end (DataError), as
    :func:`_read_careful` stops before its first record."""
    header_only = _careful_records(path, enc, header_row)
    names = next(header_only)
    header_only.close()
    malformed: list[tuple[int, str, str]] = []

    def batches(lazy: bool = False):
        malformed.clear()  # (read again from the start: a second iteration repeats, not adds)
        records = _careful_records(path, enc, header_row)
        next(records)
        good: list[list[str]] = []
        good_rows: list[int] = []
        kept = undecodable = 0
        for row, rec, reason, shown in records:
            if reason is None:
                good.append(rec)
                good_rows.append(row)
                if len(good) == batch_rows:
                    kept += len(good)
                    yield _string_frame(good, good_rows, names)
                    good, good_rows = [], []
            else:
                malformed.append((row, shown, reason))
                undecodable += reason == "bad_encoding"
        kept += len(good)
        _check_decodable(path, enc, undecodable, kept)
        if good:
            yield _string_frame(good, good_rows, names)

    return RawStream(path=path, header=list(names), encoding=enc, batches=batches, malformed=malformed,
                     streamed=False, header_row=header_row)


def _damage(rec: list[str], ncols: int) -> str | None:
    """Why a record cannot load as it is (None: it can)."""
    if any(_SURROGATE.search(f) for f in rec):
        return "bad_encoding"
    if len(rec) != ncols:
        return "malformed_row"
    for f in rec:
        if len(f) > FIELD_LIMIT:
            return "overlong_field"
        if "\x00" in f:
            return "nul_character"
    return None


def _read_sheet(path: Path, header_row: int, sheet: str | int = 0) -> pd.DataFrame:
    """A sheet of a workbook (.xlsx or old .xls; the first by default) by python-calamine, every cell as text,
    the header on spreadsheet row ``header_row``; ``_row`` is each record's spreadsheet row (empty rows are
    kept)."""
    frame = pd.read_excel(path, sheet_name=sheet, dtype=str, engine="calamine", keep_default_na=False,
                          header=header_row - 1)
    frame = frame.fillna("").astype(str)
    frame.columns = unique_headers([("" if str(c).startswith("Unnamed: ") else str(c)) for c in frame.columns])
    frame["_row"] = pd.RangeIndex(len(frame)) + header_row + 1
    return frame


PEEK_ROWS = 30  # the rows of a sheet looked at for its header (a header below a title is among them)


@dataclass
class Sheet:
    """A sheet of a workbook as :func:`survey_workbook` saw it."""

    name: str
    rows: list[list[str]]  # its first rows as cell texts (the header among them)
    height: int  # its rows, from row 1 to its last row that holds something
    values: list[list] = field(default_factory=list, repr=False)  # the same rows as calamine's values
    hidden: bool = False  # hidden in Excel (Format → Sheet → Hide, or only by a macro)
    merged: list = field(default_factory=list, repr=False)  # its merged ranges ((row, col), (row, col)), 0-based

    def header(self, row: int = 1) -> list[str]:
        """The non-empty cells of spreadsheet row ``row``."""
        return [c for c in self.rows[row - 1] if c.strip()] if len(self.rows) >= row else []

    def holds_something(self) -> bool:
        return bool(self.height) and any(c for row in self.rows for c in row)


@dataclass
class Workbook:
    """One reading of every sheet of a workbook (:func:`survey_workbook`): what :func:`peek_rows`,
    :func:`other_sheets` and :func:`check_other_sheets` say of it, without parsing a sheet again."""

    path: Path
    names: list[str]  # every sheet's name, in the workbook's order
    sheets: list[Sheet]  # the worksheets (a chart sheet has no cells), in order: the first is the one read
    peek: int  # the rows of each sheet kept (Sheet.rows)

    @property
    def first(self) -> Sheet | None:
        return self.sheets[0] if self.sheets else None


_SURVEYS: dict[tuple, Workbook] = {}  # the workbooks surveyed by this process, by _book_key (a few rows each)
_PARSED: dict[tuple, object] = {}  # at most one: the first sheet of the workbook surveyed last, parsed
_SURVEY_LOCK = __import__("threading").Lock()


def _book_key(path: Path) -> tuple:
    """The workbook as it is now: a file written again (another size or time) is surveyed again."""
    st = path.stat()
    return str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns


def _cell_text(value) -> str:
    text = str(value).strip()
    return text[:-2] if isinstance(value, float) and text.endswith(".0") else text


def survey_workbook(path: str | Path, peek: int = PEEK_ROWS, keep_first: bool = False) -> Workbook:
    """Every sheet of an .xlsx/.xlsm or old .xls workbook read once: its name, whether it is hidden, its height
    and its first ``peek`` rows. Parsing a sheet means reading all of it (calamine has no partial read), so the
    survey is kept for the process (a few rows per sheet) and the first sheet's parse is handed to the stream
    that reads its records (``keep_first``; :func:`take_first_sheet`): the ingest parses each sheet once where it
    parsed the first sheet three times (the survey of the other sheets, the check of them, the records). Raises
    what calamine raises for a file that is no workbook."""
    import python_calamine

    path = Path(path)
    key = _book_key(path)
    with _SURVEY_LOCK:
        known = _SURVEYS.get(key)
        if known is not None and known.peek >= peek:
            return known
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    sheets, first = [], None
    try:
        meta = {m.name: m for m in book.sheets_metadata}
        for i, name in enumerate(book.sheet_names):
            if name in meta and str(meta[name].typ).rsplit(".", 1)[-1] != "WorkSheet":
                continue  # a chart sheet, a macro or dialog sheet: no cells (pandas' sheet 0 is the first worksheet)
            try:
                sheet = book.get_sheet_by_index(i)
                values = sheet.to_python(skip_empty_area=False, nrows=peek)
            except Exception:  # noqa: BLE001 - a chart sheet or another kind: no cells to read
                continue
            if first is None:
                first = sheet
            height = sheet.start[0] + sheet.height if sheet.height and sheet.start is not None else 0
            hidden = str(getattr(meta.get(name), "visible", "")).rsplit(".", 1)[-1] in ("Hidden", "VeryHidden")
            try:
                merged = list(sheet.merged_cell_ranges or [])
            except Exception:  # noqa: BLE001 - a format whose merges calamine does not read
                merged = []
            sheets.append(Sheet(name=str(name), rows=[[_cell_text(v) for v in row] for row in values],
                                height=height, values=values, hidden=hidden, merged=merged))
            del sheet
        names = [str(n) for n in book.sheet_names]
    finally:
        book.close()
    survey = Workbook(path=path, names=names, sheets=sheets, peek=peek)
    with _SURVEY_LOCK:
        if len(_SURVEYS) >= 64:
            _SURVEYS.pop(next(iter(_SURVEYS)))
        _SURVEYS[key] = survey
        if keep_first and first is not None:
            _PARSED.clear()  # never two parsed sheets held: the one of the workbook surveyed before goes
            _PARSED[key] = first
    return survey


def take_first_sheet(path: Path):
    """The first sheet of ``path`` as :func:`survey_workbook` parsed it (``keep_first``), handed over once; None when
    it is not held (then the caller parses it). A held sheet of another workbook is let go: the stream of this one
    is not to hold two."""
    key = _book_key(path)
    with _SURVEY_LOCK:
        sheet = _PARSED.pop(key, None)
        _PARSED.clear()
    return sheet


def _is_workbook(path: Path) -> bool:
    """An .xlsx/.xlsm by its zip signature, an .xls by the OLE one (an HTML table named .xls is not)."""
    suffix = path.suffix.lower()
    if suffix not in SPREADSHEETS:
        return False
    with open(path, "rb") as fh:
        head = fh.read(4)
    return head.startswith(b"PK\x03\x04" if suffix in (".xlsx", ".xlsm") else OLE_MAGIC)


_SHEET_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheet\b")


def _sheet_count(path: Path) -> int:
    """How many sheets the workbook has, without opening it as one where it can be told (an .xlsx lists them in
    ``xl/workbook.xml``; calamine's open reads the whole shared-strings table: 0.6 s for 200,000 records)."""
    import zipfile

    import python_calamine

    with _SURVEY_LOCK:
        known = _SURVEYS.get(_book_key(path))
    if known is not None:
        return len(known.names)
    try:
        with zipfile.ZipFile(path) as z:
            return len(_SHEET_TAG.findall(z.read("xl/workbook.xml")))
    except (zipfile.BadZipFile, KeyError, OSError):
        pass
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return len(book.sheet_names)
    finally:
        book.close()


def check_other_sheets(path: Path, header_row: int = 1, survey: Workbook | None = None) -> None:
    """Stop where a workbook holds records on more sheets than the first, which citynet reads: a sheet after
    it whose row ``header_row`` is the first sheet's header and that has rows below it (a database that
    splits a large export over sheets). Other sheets (notes, charts, a search query) are left alone. From the
    workbook's survey (:func:`survey_workbook`; ``survey`` when the caller has it): no sheet is parsed again."""
    path = Path(path)
    if survey is None or survey.peek < header_row:
        if _sheet_count(path) < 2:
            return
        survey = survey_workbook(path, max(PEEK_ROWS, header_row))
    if len(survey.sheets) < 2:
        return
    first_sheet = survey.sheets[0]
    if first_sheet.hidden and first_sheet.holds_something():
        shown = [s.name for s in survey.sheets if not s.hidden]
        raise DataError(
            f"{path}: the first sheet, {first_sheet.name!r}, is hidden in Excel ({first_sheet.height:,} rows), and "
            f"citynet reads a workbook's first sheet; Excel shows {summarise(map(repr, shown), limit=6) or 'no sheet'}",
            fix="save the sheet of records as a workbook of its own (Excel: right-click its tab → Move or Copy → (new "
                "book)) or as 'CSV UTF-8', and give that file")

    def header_of(sheet: Sheet) -> list[str]:
        cells = list(sheet.rows[header_row - 1]) if len(sheet.rows) >= header_row else []
        while cells and not cells[-1]:
            cells.pop()
        return cells

    first = header_of(survey.sheets[0])
    records = {s.name: s.height - header_row for s in survey.sheets if s.height} if first else {}
    like = [s.name for s in survey.sheets[1:] if records.get(s.name, 0) > 0 and header_of(s) == first]
    if like:
        hidden = {s.name for s in survey.sheets if s.hidden}
        counts = ", ".join(f"{name!r} {records[name]:,} row{'s' if records[name] != 1 else ''}"
                           + (" (hidden)" if name in hidden else "") for name in [survey.sheets[0].name, *like])
        raise DataError(
            f"{path}: the workbook holds records on {len(like) + 1} sheets with the same header ({counts}); "
            "citynet reads the first sheet of a file, so the others would be left out",
            fix="save each sheet as a file of its own (Excel: right-click the sheet tab → Move or Copy → (new "
                "book), or save it as 'CSV UTF-8') and give every file to citynet ingest")


def other_sheets(path: str | Path, peek: int = PEEK_ROWS, keep_first: bool = True) -> list[Sheet]:
    """The sheets after the first of an .xlsx/.xlsm workbook or an old .xls one (citynet reads a workbook's
    first sheet as the export) that hold something, each with its first ``peek`` rows as cell texts; [] for any
    other file and a workbook of one sheet. A sheet that is not a sheet of cells (a chart sheet) is skipped.
    The workbook's survey (:func:`survey_workbook`) keeps the first sheet parsed for the stream of its records
    (``keep_first``: a patent export; not a covariate table, which pandas reads)."""
    path = Path(path)
    if not _is_workbook(path):
        return []  # an HTML table named .xls (one table), a file that is no workbook: its reader says what it is
    try:
        if _sheet_count(path) < 2:
            return []  # (nothing parsed: the stream parses the one sheet)
        survey = survey_workbook(path, peek, keep_first=keep_first)
    except Exception:  # noqa: BLE001 - a damaged or encrypted workbook: read_excel / read_xls word it
        return []
    return [s for s in survey.sheets[1:] if s.holds_something()]


def sheets_not_read(path: str | Path) -> list[dict]:
    """The sheets after the first of a workbook that hold something, as the ingest report names them (a reader
    of a workbook reads its first sheet): ``[{sheet, header, header_row, rows}]``, the header the first row that
    holds something among the first rows, ``rows`` the rows below it (to the sheet's last)."""
    out = []
    for sheet in other_sheets(path, keep_first=False):
        at = next((k for k, r in enumerate(sheet.rows, start=1) if any(c.strip() for c in r)), 1)
        out.append({"sheet": sheet.name, "header": sheet.header(at), "header_row": at, "rows": sheet.height - at,
                    **({"hidden": True} if sheet.hidden else {})})
    return out


def say_sheets_not_read(name: str, sheets: list[dict], what: str, fix: str) -> str:
    """The one warning naming ``sheets`` (:func:`sheets_not_read`) of workbook ``name``."""
    parts = []
    for sh in sheets:
        rows = f"{sh['rows']:,} row{'s' if sh['rows'] != 1 else ''}"
        header = (f"header on row {sh['header_row']}: {summarise(sh['header'], limit=6)}" if sh["header"]
                  else "no header")
        parts.append(f"{sh['sheet']!r} ({'hidden in Excel, ' if sh.get('hidden') else ''}{rows} below its {header})")
    which = "sheet" if len(parts) == 1 else f"{len(parts)} sheets"
    return f"warning: {name}: {which} not read: {'; '.join(parts)} — {what}. {fix}"


def _peek_texts(values: list[list], rows: int) -> list[list[str]]:
    """A sheet's first rows (calamine's values, from A1) as ``pandas.read_excel(header=None, dtype=str,
    keep_default_na=False, nrows=rows)`` gives their cells (its parser: etl.excel_stream)."""
    from citynet.etl.excel_stream import _pandas_cell
    from pandas.io.parsers import TextParser

    data = [[_pandas_cell(c) for c in row] for row in values[:rows]]
    if not data:
        return []
    frame = TextParser(data, header=None, dtype=str, keep_default_na=False, skip_blank_lines=False).read()
    return frame.fillna("").astype(str).to_numpy().tolist()


def read_excel(path: Path, header_row: int = 1, sheet: str | None = None) -> RawTable:
    """Read the first sheet of an .xlsx workbook (or the sheet named ``sheet``: :func:`other_sheets`), the header
    on row ``header_row``. By python-calamine (Rust): the same cells as openpyxl, pandas' default engine, several
    times faster (``bench/spreadsheets.py``)."""
    try:
        frame = _read_sheet(path, header_row, 0 if sheet is None else sheet)
    except Exception as exc:  # noqa: BLE001 - calamine raises many kinds for damaged files
        raise DataError(f"{path}: cannot read as an Excel workbook: {exc}", fix="save it again as .xlsx") from exc
    if sheet is None:
        check_first_sheet(path, header_row, [c for c in frame.columns if c != "_row"])
    else:
        _refuse_merged_in_sheet(path, sheet, header_row, frame)
    return RawTable(path=path, frame=frame, encoding="xlsx", header_row=header_row)


def check_first_sheet(path: Path, header_row: int, header: list[str]) -> None:
    """The checks of a workbook whose first sheet is read whole (covariates, a --transfers workbook, policy
    documents), from one survey: :func:`check_other_sheets`, then merged cells that span the first sheet's records,
    which stop as on a patent sheet (``excel_stream.refuse_merged_records``) — a city name merged over its years'
    rows in a yearbook table left every year but the first without its city (quarantined as an unknown city)."""
    try:
        survey = survey_workbook(path, max(PEEK_ROWS, header_row))
    except Exception:  # noqa: BLE001 - read above; without a survey no ranges to tell, the sheets checked alone
        check_other_sheets(path, header_row)
        return
    check_other_sheets(path, header_row, survey)
    if survey.sheets:
        from citynet.etl.excel_stream import refuse_merged_records

        refuse_merged_records(path, survey.sheets[0].merged, header_row, header)


def _refuse_merged_in_sheet(path: Path, sheet: str, header_row: int, frame: pd.DataFrame) -> None:
    """A later sheet read by name (transfer records in a patent workbook: the ingest surveyed the workbook): merged
    cells that span its records stop as they do on the first sheet (``excel_stream.refuse_merged_records``), from
    the survey's ranges (the sheet is not parsed again)."""
    from citynet.etl.excel_stream import refuse_merged_records

    with _SURVEY_LOCK:
        survey = _SURVEYS.get(_book_key(path))
    found = next((s for s in survey.sheets if s.name == sheet), None) if survey is not None else None
    if found is not None:
        refuse_merged_records(f"{path} (sheet {sheet})", found.merged, header_row,
                              [c for c in frame.columns if c != "_row"])


def read_xls(path: Path, header_row: int = 1, sheet: str | None = None) -> RawTable:
    """Read an ``.xls`` export: an old Excel workbook (BIFF, first sheet, by python-calamine) or an HTML page
    holding the records as a table, which several Chinese databases save as their "Excel" export and Excel
    opens as a sheet (:func:`read_html_table`). The header is on row ``header_row``; every cell is its text
    (a date cell as ``2015-03-12 00:00:00``, a whole number without ``.0``)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(OLE_MAGIC):
        try:
            frame = _read_sheet(path, header_row, 0 if sheet is None else sheet)
        except Exception as exc:  # noqa: BLE001 - calamine raises many kinds for damaged or encrypted files
            raise DataError(f"{path}: cannot read as an old Excel workbook (.xls): {exc}",
                            fix="open it in Excel and save it as .xlsx without a password (or as 'CSV UTF-8', "
                                "then name it .csv)") from exc
        if sheet is None:
            check_first_sheet(path, header_row, [c for c in frame.columns if c != "_row"])
        else:
            _refuse_merged_in_sheet(path, sheet, header_row, frame)
        return RawTable(path=path, frame=frame, encoding="xls", header_row=header_row)
    if _HTML_START.match(head):
        return read_html_table(path, head, header_row)
    if head.startswith(b"PK\x03\x04"):
        what, fix = "an Excel workbook (.xlsx) named .xls", f"rename it to {path.stem}.xlsx"
    elif head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml"):
        what, fix = "an Excel 2003 XML workbook", "open it in Excel and save it as .xlsx"
    elif _texty(head):
        what, fix = "text, not a workbook (a CSV named .xls?)", f"if it is a CSV, rename it to {path.stem}.csv"
    else:
        what, fix = "neither an old Excel workbook nor an HTML table", \
            "open it in Excel and save it as .xlsx (or as 'CSV UTF-8', then name it .csv)"
    raise DataError(f"{path}: the file is {what}", fix=fix)


_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|meta|body|table|style)\b",
                         re.I | re.S)
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", re.I)
_CELL_SPACE = re.compile(r"[ \t\r\n\f\v\xa0\u3000]+")


def read_html_table(path: Path, head: bytes = b"", header_row: int = 1) -> RawTable:
    """Read the largest ``<table>`` of an HTML page (an "Excel" export saved as ``.xls``) by ``lxml``: the
    header on row ``header_row`` (the first), each cell its text as Excel shows it (white space runs as one
    space, ``<br>`` a line break). A row with another number of cells than the header is quarantined
    (``malformed_row``) with its text; the encoding is the page's ``<meta charset>``, else detected as for
    a CSV."""
    cells, enc = _html_rows(path)
    if header_row > len(cells):
        raise DataError(f"{path}: the table has no row {header_row}", fix="export the records again as Excel or CSV")
    header, records = cells[header_row - 1], cells[header_row:]
    good, good_rows, malformed = [], [], []
    for row, rec in enumerate(records, start=header_row + 1):
        if not any(rec):
            continue  # an empty row of the sheet, no record
        reason = _damage(rec, len(header))
        if reason:
            malformed.append((row, _safe_text("\t".join(rec))[:SHOW_LIMIT], reason))
            continue
        good.append(rec)
        good_rows.append(row)
    names = unique_headers(header)
    frame = pd.DataFrame(good, columns=names, dtype=str) if good else pd.DataFrame(columns=names, dtype=str)
    frame["_row"] = np.asarray(good_rows, dtype=np.int64)
    return RawTable(path=path, frame=frame, encoding=f"html ({enc})", malformed=malformed, header_row=header_row)


def _html_rows(path: Path) -> tuple[list[list[str]], str]:
    """The cell texts of every row of the page's largest table, and the encoding the page was read with."""
    import lxml.html

    data = path.read_bytes()
    declared = _CHARSET.search(data[:8192])
    enc = declared.group(1).decode("ascii").lower() if declared else detect_encoding(path)
    if enc in ("gb2312", "gbk", "x-gbk", "cp936"):
        enc = "gb18030"  # the declared charsets' superset, as browsers read them
    try:
        text = data.decode(enc, errors="surrogateescape")
    except LookupError as exc:
        raise DataError(f"{path}: the page declares an unknown charset {enc!r}",
                        fix="open it in Excel and save it as .xlsx or 'CSV UTF-8'") from exc
    # a NUL byte is damage, as in a CSV (nul_character): lxml would make it U+FFFD, as the HTML standard has it, and
    # the cell would load altered ('320100\x00' as 南京); it passes the parse as a private-use character
    doc = lxml.html.document_fromstring(text.lstrip(BOM_TEXT).replace("\x00", _NUL_MARK))
    for br in doc.iter("br"):
        br.tail = "\n" + (br.tail or "")
    tables = doc.xpath("//table")
    rows_of = [t.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr") for t in tables]
    if not rows_of or not max(map(len, rows_of)):
        raise DataError(f"{path}: the page holds no table", fix="export the records again as Excel or CSV")
    rows = max(rows_of, key=len)
    cells = [["\n".join(_CELL_SPACE.sub(" ", line).strip() for line in c.text_content().split("\n")).strip()
              .replace(_NUL_MARK, "\x00") for c in r.xpath("./td|./th")] for r in rows]
    return cells, enc


_NUL_MARK = "\U0010fffd"  # the last private-use character: a page's NUL through lxml (_html_rows)


READERS = {".csv": read_csv, ".txt": read_csv, ".tsv": read_csv, ".xlsx": read_excel, ".xlsm": read_excel,
           ".xls": read_xls}


#: what the first bytes of a file say it is, for a file whose suffix says otherwise
_MAGIC = ((b"PK\x03\x04", "xlsx"), (OLE_MAGIC, "ole"), (b"<stata_dta>", "dta"), (b"PAR1", "parquet"),
          (b"%PDF", "pdf"))


def check_content(path: Path) -> None:
    """Refuse, with what the file really is and the fix, a file a reader would misread: an empty file, an
    Excel workbook or a Stata, Parquet or PDF file named ``.csv``, and an ``.xlsx`` that is not a workbook
    (a CSV renamed, an old ``.xls``, a password-protected workbook). Reads the first bytes only."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        raise DataError(f"{path}: the file is empty (0 bytes)", fix="export it again (the download or copy did not finish)")
    kind = next((k for magic, k in _MAGIC if head.startswith(magic)), None)
    suffix = path.suffix.lower()
    if READERS.get(suffix) is read_csv and kind is not None:
        what = {"xlsx": "an Excel workbook (.xlsx)", "ole": "an old Excel workbook (.xls) or another Office file",
                "dta": "a Stata dataset (.dta)", "parquet": "a Parquet file", "pdf": "a PDF document"}[kind]
        fix = {"xlsx": f"rename it to {path.stem}.xlsx (citynet reads its first sheet), or save it from Excel as "
                       "'CSV UTF-8'",
               "ole": f"an old workbook: rename it to {path.stem}.xls (citynet reads those too), or save it from "
                      "Excel as .xlsx or 'CSV UTF-8'",
               "dta": "in Stata: export delimited using file.csv, or export excel using file.xlsx, firstrow(variables)",
               }.get(kind, "export the records as CSV or XLSX")
        raise DataError(f"{path}: the file is {what}, not a {suffix} text file", fix=fix)
    if READERS.get(suffix) is read_excel and kind != "xlsx":
        what = ("an old Excel workbook (.xls) or a password-protected one" if kind == "ole"
                else "not an Excel workbook" + (" (it looks like text: a CSV named .xlsx?)" if _texty(head) else ""))
        raise DataError(f"{path}: the file is {what}",
                        fix=f"an old workbook: rename it to {path.stem}.xls (citynet reads those too); a "
                            "password-protected one: open it in Excel and save it as .xlsx without a password"
                            if kind == "ole" else f"if it is a CSV, rename it to {path.stem}.csv")


def _texty(head: bytes) -> bool:
    """The first bytes read as text: UTF-16 with a BOM, or UTF-8 / GB18030 without NUL bytes (the last three
    bytes may cut a character)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in head:
        return False
    for enc in ("utf-8", "gb18030"):
        try:
            head[:-3].decode(enc)
            return True
        except UnicodeDecodeError:
            continue
    return False


def sheet_note(path: str | Path) -> str:
    """For an XLSX workbook of several sheets: a sentence naming them (citynet reads the first); else ""."""
    path = Path(path)
    if READERS.get(path.suffix.lower()) is not read_excel or not path.is_file():
        return ""
    try:
        import python_calamine

        book = python_calamine.CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
        book.close()
    except Exception:  # noqa: BLE001 - only a note for a message; the reader has read the file already
        return ""
    if len(names) < 2:
        return ""
    return (f"\n  the workbook has {len(names)} sheets ({summarise(names, limit=8)}) and citynet reads the first, "
            f"{names[0]!r}: move the data sheet to the front (or save it alone as .xlsx or 'CSV UTF-8')")


def read_table(path: str | Path, encoding: str = "auto", header_row: int = 1, sheet: str | None = None) -> RawTable:
    """Dispatch on the file suffix; ``header_row`` > 1: the header sits below a title (:func:`peek_rows`), the
    rows above are skipped (a workbook's, or a CSV's lines). ``sheet``: that sheet of a workbook (default: its
    first)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file", fix="check the path (relative paths are from the current folder)")
    check_content(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(
            f"{path}: unsupported file type {path.suffix!r}",
            fix=f"export as one of {', '.join(sorted(READERS))}",
        )
    if sheet is not None:
        return reader(path, header_row=header_row, sheet=sheet)
    if reader is read_csv:
        if is_tagged_records(path, encoding):
            return read_tagged_records(path, encoding)
        return read_csv(path, encoding, header_row)
    return reader(path, header_row=header_row)


_TAG_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9/]*-[^\x00-\x7f:：]+)[:：]\s?(.*)$")


def is_tagged_records(path: Path, encoding: str = "auto") -> bool:
    """The file is in CNKI's "detailed" text export: records as blocks of ``Key-标签: value`` lines (an
    English key, a hyphen, the Chinese label, a colon), blank lines between them, e.g.
    ``SrcDatabase-来源库: 中国专利``."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    first = head.decode("utf-8", errors="replace").lstrip(BOM_TEXT + " \t\r\n").split("\n", 1)[0].strip()
    return bool(_TAG_LINE.match(first)) and "," not in first.split(":", 1)[0]


def read_tagged_records(path: Path, encoding: str = "auto") -> RawTable:
    """Read CNKI's "detailed" text export (:func:`is_tagged_records`): one record per block of lines, each
    ``Key-标签: value`` a field under its ``Key-标签`` header (the header names CNKI's tables use, which the
    alias table knows). A line without a tag continues the field before it (a line break in an abstract); a
    tag repeated in a record adds its value after a ``;``. Headers in the order they first appear; a record's
    ``_row`` is the line it starts on; a block whose first line has no tag is quarantined
    (``malformed_row``) with its text."""
    enc = _resolve_encoding(path, encoding) or _best_effort_encoding(path)
    with open(path, "rb") as fh:
        text = fh.read().decode(enc, errors="surrogateescape").lstrip(BOM_TEXT)
    records: list[tuple[int, dict[str, str]]] = []
    malformed: list[tuple[int, str, str]] = []
    headers: dict[str, None] = {}
    current: dict[str, str] | None = None
    last = ""
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 etc. stay in values
        line = line.rstrip("\r").rstrip()
        if not line.strip():
            current = None
            continue
        tagged = _TAG_LINE.match(line.strip())
        if current is None:
            if not tagged:
                malformed.append((number, _safe_text(line)[:SHOW_LIMIT], "malformed_row"))
                current = {}  # the rest of this block belongs to the quarantined record
                last = ""
                continue
            current = {}
            records.append((number, current))
        if tagged:
            last = tagged.group(1).strip()
            headers.setdefault(last, None)
            value = tagged.group(2).strip()
            current[last] = f"{current[last]};{value}" if last in current else value
        elif last:
            current[last] += "\n" + line.strip()
    names = list(headers)
    frame = pd.DataFrame([[rec.get(h, "") for h in names] for _, rec in records], columns=names, dtype=str)
    if any(_SURROGATE.search(v) for _, rec in records for v in rec.values()):
        raise DataError(f"{path}: cannot decode the file as {enc}",
                        fix="save it as UTF-8, or pass the encoding: citynet ingest --encoding gb18030")
    frame.columns = unique_headers(names)
    frame["_row"] = np.asarray([row for row, _ in records], dtype=np.int64)
    return RawTable(path=path, frame=frame, encoding=f"cnki tagged ({enc})", malformed=malformed)


SPREADSHEETS = (".xlsx", ".xlsm", ".xls")


def peek_rows(path: str | Path, encoding: str = "auto", rows: int = 30, sheet: str | None = None) -> list[list[str]]:
    """The first ``rows`` rows of an export as cell texts, the header among them: to find a header that a
    database wrote below a title (``incoPat 专利数据导出``, a search query, an empty row). A CSV's first 4 MB
    decoded as :func:`read_csv` would; a workbook's first sheet (or ``sheet``); an HTML table's rows. Empty rows
    are kept."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SPREADSHEETS:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        if suffix == ".xls" and _HTML_START.match(head):
            return _html_rows(path)[0][:rows]
        if sheet is None and rows <= PEEK_ROWS:  # the workbook's survey (each sheet parsed once)
            first = survey_workbook(path).first
            if first is not None:
                return _peek_texts(first.values, rows)
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=str, engine="calamine",
                              keep_default_na=False, header=None, nrows=rows)
        return frame.fillna("").astype(str).to_numpy().tolist()
    enc = _resolve_encoding(path, encoding) or _best_effort_encoding(path)
    with open(path, "rb") as fh:
        text = fh.read(SAMPLE_BYTES).decode(enc, errors="replace").lstrip(BOM_TEXT)
    delimiter = _delimiter(_LINE_END_TEXT.split(text, 1)[0])
    return list(itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), rows))




# --- streaming --------------------------------------------------------------------------------------
BLOCK_BYTES = 32 << 20  # bytes of CSV per streamed batch (about 100,000 patent records)


class Irregular(Exception):
    """The streamed file turned out irregular midway (a record with another field count, a field over
    :data:`FIELD_LIMIT`): its batches so far are void and the careful path reads it again."""


@dataclass
class RawStream:
    """A raw export read in batches: ``header`` (usable names), ``encoding``, ``batches()`` (frames of
    strings with ``_row``, as :class:`RawTable` ``frame``), ``malformed`` (filled by the careful path)."""

    path: Path
    header: list[str]
    encoding: str
    batches: object  # a callable returning an iterator of DataFrames
    malformed: list[tuple[int, str, str]] = field(default_factory=list)
    streamed: bool = True
    header_row: int = 1  # as RawTable's


def stream_table(path: str | Path, encoding: str = "auto", block_bytes: int = BLOCK_BYTES,
                 careful: bool = False, batch_rows: int = 100_000, header_row: int = 1) -> RawStream:
    """Open an export for reading in bounded batches.

    A regular CSV (see :func:`read_csv`) is streamed with Arrow's incremental reader
    (``pyarrow.csv.open_csv``), ``block_bytes`` at a time: memory is bounded by the block, not the file.
    Another CSV (``careful``, irregular, UTF-16) is read by the careful path as its batches of ``batch_rows``
    records are handed out (:func:`_careful_stream`), also bounded. An XLSX and an old XLS workbook are handed out
    in batches from the workbook's cells (:func:`_excel_stream`). Other files (an HTML table named .xls, CNKI's
    tagged records) are read whole by :func:`read_table` and handed out in slices of ``batch_rows``. The batches carry the same values and ``_row`` numbers as
    :func:`read_table`'s frame. A streamed batch iterator raises :class:`Irregular` when the file
    proves irregular midway; the caller then calls again with ``careful=True``.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file", fix="check the path (relative paths are from the current folder)")
    check_content(path)
    if READERS.get(path.suffix.lower()) is read_csv and not is_tagged_records(path, encoding):
        enc = _resolve_encoding(path, encoding)
        if not careful and enc is not None and not _wide(enc):
            opened = _open_stream(path, enc, block_bytes, header_row)  # (bytes checked as read)
            if opened is not None:
                return opened
        return _careful_stream(path, enc or _best_effort_encoding(path), header_row, batch_rows)
    if READERS.get(path.suffix.lower()) is read_excel or _is_workbook(path):  # .xlsx/.xlsm, an old .xls workbook
        opened = _excel_stream(path, header_row, batch_rows)
        if opened is not None:
            return opened
    raw = read_table(path, encoding, header_row)
    frame = raw.frame

    def slices(lazy: bool = False):
        for start in range(0, len(frame), batch_rows):
            yield frame.iloc[start:start + batch_rows].reset_index(drop=True)

    header = [c for c in frame.columns if c != "_row"]
    return RawStream(path=path, header=header, encoding=raw.encoding, batches=slices, malformed=raw.malformed,
                     streamed=False, header_row=raw.header_row)


def _excel_stream(path: Path, header_row: int, batch_rows: int) -> RawStream | None:
    """An .xlsx (or old .xls) export's first sheet in batches (:mod:`etl.excel_stream`: the same cells as :func:`read_excel`,
    less peak memory — 704 against 852 MB for 200,000 records — and the ingest holds a batch of strings, not the
    sheet's); None when the whole-sheet reader must read it (a sheet without records, a damaged workbook: its
    messages). A workbook of several sheets is surveyed first (:func:`survey_workbook`, unless the ingest has
    surveyed it already): the check of its other sheets reads the survey, and the records the survey's parse of
    the first sheet."""
    from citynet.etl.excel_stream import excel_batches

    try:
        survey = survey_workbook(path, max(PEEK_ROWS, header_row), keep_first=True) if _sheet_count(path) > 1 \
            else None
        opened = excel_batches(path, header_row, batch_rows)
    except DataError:
        raise  # (merged cells across records: excel_stream.refuse_merged_records)
    except Exception:  # noqa: BLE001 - calamine raises many kinds for damaged files: read_excel words them
        return None
    if opened is None:
        return None
    if survey is not None:
        check_other_sheets(path, header_row, survey)
    header, batches = opened
    return RawStream(path=path, header=header, encoding="xls" if path.suffix.lower() == ".xls" else "xlsx",
                     batches=batches, streamed=False, header_row=header_row)


@dataclass
class ArrowBatch:
    """One streamed batch as Arrow (cheap to send to another process: its buffers are pickled as they
    are); ``frame()`` is the batch as :func:`stream_table` hands it out, ``first_row`` its first ``_row``."""

    batch: pa.RecordBatch
    first_row: int

    def __len__(self) -> int:
        return self.batch.num_rows

    def frame(self) -> pd.DataFrame:
        frame = self.batch.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
        frame.columns = [str(c) for c in frame.columns]
        frame["_row"] = pd.RangeIndex(self.first_row, self.first_row + len(frame))
        return frame


class _Utf8Check:
    """Whether a byte stream, given block by block, is UTF-8: each block checked whole by Arrow's validator,
    the bytes of a character cut by the block's end carried to the next block (``valid(b"")`` at the end).

    Why: Arrow's CSV reader checks every field on its own (``check_utf8``), which cost more than the parse
    itself on Chinese text (measured: 44 % of the read's CPU, against about 0.6 ns per byte for a whole
    block). CSV separators and quotes are ASCII, so the file is UTF-8 exactly when every field is."""

    def __init__(self):
        self._carry = b""  # the first bytes of a character the previous block cut

    @staticmethod
    def _whole(data) -> bool:
        buf = pa.py_buffer(data)
        offsets = pa.py_buffer(np.array([0, buf.size], dtype=np.int64).tobytes())
        try:
            pa.LargeStringArray.from_buffers(1, offsets, buf).validate(full=True)
        except pa.ArrowInvalid:
            return False
        return True

    @staticmethod
    def _complete(view) -> int:
        """The length of ``view``'s longest prefix that does not end inside a character (at most 3 bytes
        shorter than ``view``)."""
        n = len(view)
        for back in range(1, min(4, n) + 1):
            b = view[n - back]
            if b < 0x80:
                return n
            if b >= 0xC0:  # the lead byte of the last character: complete when its sequence fits
                need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
                return n - back if back < need else n
        return n  # only continuation bytes: not UTF-8 whatever follows (the check says so)

    def valid(self, view) -> bool:
        if not len(view):  # the end of the stream
            ok, self._carry = not self._carry, b""
            return ok
        if len(view) < 8:
            data = self._carry + bytes(view)
            cut = self._complete(data)
            self._carry = data[cut:]
            return self._whole(data[:cut])
        start = 0
        while start < 3 and 0x80 <= view[start] < 0xC0:  # the rest of the character the last block cut
            start += 1
        head = self._carry + bytes(view[:start])
        cut = self._complete(view)
        self._carry = bytes(view[cut:])
        return (not head or self._whole(head)) and self._whole(view[start:cut])


class _Paced(io.RawIOBase):
    """A binary file that Arrow's streaming CSV reader may read at most ``ahead`` bytes beyond what the
    caller has taken (``took``): without it the reader's background read-ahead buffers the whole file
    (measured: 1.2 GiB of Arrow memory after the first batch of a 1.3 GB export). A read waits at most
    ``patience`` seconds for room, then goes on (never a deadlock; at worst the old read-ahead)."""

    def __init__(self, path: Path, ahead: int, patience: float = 30.0, utf8: bool = False, start: int = 0):
        import threading

        self._fh = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._fh.seek(start)  # the header's line (a title above it is not read)
        self._ahead, self._patience = ahead, patience
        self._read = self._taken = 0
        self._cv = threading.Condition()
        self._tail = b""
        self._utf8 = _Utf8Check() if utf8 else None
        self.irregular = False  # a NUL byte or a blank line was read (see _regular_bytes), or bytes not UTF-8

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        with self._cv:
            self._cv.wait_for(lambda: self._read - self._taken < self._ahead, timeout=self._patience)
        n = self._fh.readinto(buf)
        if n:
            view = memoryview(buf).cast("B")[:n]  # searched where it is (a copy of each block cost page faults)
            if _irregular_bytes(view) or _irregular_bytes(self._tail + bytes(view[:2])):
                self.irregular = True
            self._tail = (self._tail + bytes(view[-2:]))[-2:]
            if self._utf8 is not None and not self._utf8.valid(view):
                self.irregular = True
        elif self._utf8 is not None and not self._utf8.valid(b""):  # the end: a character cut short
            self.irregular = True
        with self._cv:
            self._read += n or 0
        return n

    def read_buffer(self, nbytes: int) -> pa.Buffer:
        """The next ``nbytes`` (fewer at the end) in a buffer of Arrow's memory pool, which Arrow's reader
        calls instead of ``read`` when it exists: ``read`` made a new Python ``bytes`` of each block (a
        fresh 32 MiB mapping from the C library, faulted in page by page by the kernel's copy), while the
        pool hands the pages of the blocks already parsed back (measured: a quarter of the read's page
        faults)."""
        buf = pa.allocate_buffer(nbytes)
        n = self.readinto(memoryview(buf))
        return buf if n == nbytes else buf.slice(0, n)

    def took(self, nbytes: int) -> None:
        with self._cv:
            self._taken += nbytes
            self._cv.notify_all()

    def close(self) -> None:
        with self._cv:
            self._taken = self._read + self._ahead  # wake a waiting read
            self._cv.notify_all()
        self._fh.close()
        super().close()


def _open_stream(path: Path, enc: str, block_bytes: int, header_row: int = 1) -> RawStream | None:
    arrow_enc = "utf8" if enc in ("utf-8", "utf-8-sig") else enc
    start = line_offset(path, enc, header_row)
    if start is None:
        return None
    with _open_at(path, enc, start) as fh:
        header_line = fh.readline()
    delimiter = _delimiter(header_line)
    header = _header(path, enc, delimiter, start)
    if header is None or len(set(header)) != len(header):
        return None

    def batches(lazy: bool = False):
        utf8 = arrow_enc == "utf8"  # checked on the bytes as read (_Utf8Check), not field by field
        paced = _Paced(path, ahead=3 * block_bytes, utf8=utf8, start=start)
        try:
            reader = pacsv.open_csv(
                paced,
                read_options=pacsv.ReadOptions(encoding=arrow_enc, block_size=block_bytes, use_threads=True),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types=_string_columns(header), strings_can_be_null=False,
                    quoted_strings_can_be_null=False, check_utf8=not utf8),
            )
            row = header_row + 1
            for rb in reader:
                if rb.num_columns != len(header):
                    raise Irregular(str(path))
                if rb.schema.names != header:  # a first name read with a byte-order mark (_header)
                    rb = pa.RecordBatch.from_arrays(rb.columns, names=header)
                for col in rb.columns:  # characters counted only where the bytes could exceed the limit
                    if len(col) and pc.max(pc.binary_length(col)).as_py() > FIELD_LIMIT \
                            and pc.max(pc.utf8_length(col)).as_py() > FIELD_LIMIT:
                        raise Irregular(str(path))
                if paced.irregular:
                    raise Irregular(str(path))
                batch = ArrowBatch(rb, row)
                row += rb.num_rows
                paced.took(block_bytes)
                yield batch if lazy else batch.frame()
            if paced.irregular:
                raise Irregular(str(path))
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError, OverflowError) as exc:
            raise Irregular(str(path)) from exc
        finally:
            paced.close()

    return RawStream(path=path, header=list(header), encoding=enc, batches=batches, header_row=header_row)
