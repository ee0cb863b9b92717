"""``citynet ingest``: raw exports → canonical tables, quarantine and ``reports/ingest.json``.

Data moves one way: read in batches (readers.stream_table) → map headers (headers) → validate and
normalise each batch (patents) → the batch's rows to ``canonical/state/`` (stream) → the duplicate
rule over the corpus (stream, DuckDB) → transfers → applicants (ids, kinds) → locate (locate) →
canonical Parquet. Re-running with the same inputs rewrites the same tables (idempotent). To add a
new year, ``IngestOptions.append_from`` (``citynet ingest --append``) takes the state of the corpus
ingested before instead of reading its files again; the result is that of one ingest of all files.
Progress: ``Steps`` reports each step's rows and rows/s, and each batch read (docs/scale.md).
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from citynet.etl import manifest, stream
from citynet.etl.applicants import build_applicants
from citynet.etl.cities import city_set
from citynet.etl.classify import KINDS, GreenMatcher, applicant_kind_codes
from citynet.etl.covariates import COVARIATE_HEADERS, load_covariates
from citynet.etl.harmonize import RULES, harmonize_names, merge_summary, name_keys_arrow, write_names_table
from citynet.etl.headers import (
    PATENT_FIELDS,
    PATENT_ONE_OF,
    PATENT_REQUIRED,
    TRANSFER_FIELDS,
    TRANSFER_REQUIRED,
    detect_dialect,
    first_row_naming,
    header_row_below,
    resolve_columns,
    unusable_dialect,
)
from citynet.etl.normalize import to_arrow
from citynet.etl.patents import normalise_patent_batch
from citynet.etl.quarantine import Quarantine
from citynet.etl.readers import (
    ArrowBatch,
    Irregular,
    Sheet,
    other_sheets,
    peek_rows,
    read_table,
    stream_table,
    summarise,
)
from citynet.etl.schema import CANONICAL
from citynet.etl.transfers import process_transfer_records

from citynet.errors import DataError

log = logging.getLogger("citynet.ingest")
Progress = Callable[[str], None]


class Steps:
    """Truthful progress of the ingest steps through a ``Progress`` callback of one-line messages.

    ``begin(name, rows)`` ends the running step and announces the next one (``"<name>: N rows…"``,
    sent as soon as the step starts); the end of a step is announced as ``"✓ <name>: N rows in
    S s (R rows/s)"`` (lines that start with ``✓`` are a finished step; the CLI keeps them on screen).
    Reading a patent export also reports each batch as it is written (rows so far, rows/s); the other
    steps report their rows when they end, never guessed inside one."""

    def __init__(self, emit: Progress):
        self.emit = emit
        self.current: tuple[str, int, float] | None = None

    def begin(self, name: str, rows: int | None = None) -> None:
        import time

        self.end()
        self.current = (name, int(rows or 0), time.perf_counter())
        self.emit(f"{name}: {rows:,} rows…" if rows else f"{name}…")

    def end(self) -> None:
        import time

        if self.current is None:
            return
        name, rows, t0 = self.current
        self.current = None
        secs = max(time.perf_counter() - t0, 1e-9)
        rate = f" ({rows / secs:,.0f} rows/s)" if rows else ""
        self.emit(f"✓ {name}: {rows:,} rows in {secs:.1f} s{rate}" if rows else f"✓ {name} in {secs:.1f} s")


@dataclass
class IngestOptions:
    encoding: str = "auto"
    columns: dict[str, str] = field(default_factory=dict)
    transfer_columns: dict[str, str] = field(default_factory=dict)
    today: dt.date | None = None
    stream: stream.StreamSettings | None = None  # [ingest] memory_limit, block_mb
    append_from: stream.State | None = None  # --append: the state of the corpus ingested before


def _mapped(path: Path, open_at, headers_of, fields, required, one_of, mapping, opts: IngestOptions,
            section: str, header_row: int | None = None, source: str | None = None):
    """``(raw, columns)``: the file opened by ``open_at(header_row)`` and its fields resolved.
    A header that a database wrote below a title (:func:`headers.header_row_below`) is found when the first
    row names no field: the file is then read from it (the rows above are not records; the report names the
    row; rows keep their numbers in the file)."""
    raw = open_at(header_row or 1)
    headers = headers_of(raw)
    unusable_dialect(headers, source or str(path))
    try:
        return raw, resolve_columns(headers, fields, required, one_of, mapping, source=source or str(path),
                                    config_section=section)
    except DataError as exc:
        if header_row is not None or "unrecognised header layout" not in exc.message:
            raise
        rows = peek_rows(path, opts.encoding)
        found = header_row_below(rows, fields, required, one_of, mapping)
        if found is None:
            _refuse_another_encoding(path, headers, getattr(raw, "encoding", None), fields, required, one_of,
                                     mapping, exc)
            raise
    return _mapped(path, open_at, headers_of, fields, required, one_of, mapping, opts, section, found)


def _sheet_fields(sheet, fields, required, one_of, mapping) -> int | None:
    """The row of ``sheet``'s header (1, or one below a title) when it names every required field of a record
    kind (:func:`headers.header_row_below`'s test, from row 1); else None."""
    def names_every_field(names: list[str]) -> bool:
        try:
            resolve_columns(names, fields, required, one_of, mapping)
        except DataError:
            return False
        return len(names) >= len(required)

    return first_row_naming(sheet.rows, names_every_field)


def _survey_sheets(patent_files: list[Path], opts: IngestOptions) -> tuple[list, dict[Path, dict]]:
    """What the sheets after the first of the patent workbooks hold (citynet reads a workbook's first sheet as the
    patent export). A sheet whose header names the transfer fields (``--transfers``' aliases or citynet.toml
    ``[transfer_columns]``) is read as transfer records (a :class:`TransferInput` ``FILE (sheet NAME)``): a
    database that exports a search's patents and their transfers in one workbook. One whose header names the
    patent fields stops the ingest (a DataError naming the sheets; the same header as the first sheet's: the
    message of ``readers.check_other_sheets``, said when the file is read): they would be left out. Any other
    sheet that holds something (a search query, notes, another table) is not read and is said:
    ``{path: {"sheets_not_read": [{sheet, header, rows}], "sheets_read_as_transfers": [names]}}``."""
    transfers: list[TransferInput] = []
    notes: dict[Path, dict] = {}
    for path in patent_files:
        sheets = other_sheets(path) if path.is_file() else []
        if not sheets:
            continue
        first = peek_rows(path, opts.encoding)
        if _sheet_fields(Sheet("", first, len(first)), PATENT_FIELDS, PATENT_REQUIRED, PATENT_ONE_OF,
                         opts.columns) is None:
            continue  # the first sheet is no patent export (a note before the data): the reader says so
        not_read, patents = [], []
        for sheet in sheets:
            row = _sheet_fields(sheet, TRANSFER_FIELDS, TRANSFER_REQUIRED, (), opts.transfer_columns)
            if row is not None:
                transfers.append(TransferInput(path, sheet.name, row))
                notes.setdefault(path, {}).setdefault("sheets_read_as_transfers", []).append(sheet.name)
                continue
            row = _sheet_fields(sheet, PATENT_FIELDS, PATENT_REQUIRED, PATENT_ONE_OF, opts.columns)
            if row is not None:
                same = len(first) >= row and [c for c in first[row - 1] if c.strip()] == sheet.header(row)
                if not same:  # (the same header: an export split over sheets, readers.check_other_sheets says it)
                    patents.append(f"{sheet.name!r} ({sheet.height - row:,} rows below its header on row {row}: "
                                   f"{summarise(sheet.header(row), limit=6)})")
                continue
            header_at = next((k for k, r in enumerate(sheet.rows, start=1) if any(c.strip() for c in r)), 1)
            not_read.append({"sheet": sheet.name, "header": sheet.header(header_at), "header_row": header_at,
                             "rows": sheet.height - header_at})
        if patents:
            raise DataError(
                f"{path}: patent records on other sheets than the first, with another header: {'; '.join(patents)}; "
                "citynet reads the first sheet of a workbook as the patent export, so they would be left out",
                fix="save each sheet as a file of its own (Excel: right-click the sheet tab → Move or Copy → (new "
                    "book), or save it as 'CSV UTF-8') and give every file to citynet ingest")
        if not_read:
            notes.setdefault(path, {})["sheets_not_read"] = not_read
    return transfers, notes


def _repeated_headers(cols: dict[str, str], headers: list[str]) -> dict[str, list[str]]:
    """The fields read from a header the file repeats: ``{field: [header, "header (2)", …]}`` — the first column
    is read, the others (renamed by ``readers.unique_headers``) are not, unless ``[columns]`` names one."""
    out = {}
    for fld, header in cols.items():
        again = [h for h in headers if re.fullmatch(re.escape(header) + r" \(\d+\)", h)]
        if again:
            out[fld] = [header, *again]
    return out


_ESCAPED_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")  # a byte the encoding could not decode, as readers show it


def _refuse_another_encoding(path: Path, headers: list[str], encoding: str | None, fields, required, one_of, mapping,
                             exc: DataError) -> None:
    """The header names no field as read, but does in another encoding (``--encoding utf-8`` on a GBK file,
    ``gbk`` or ``latin-1`` on a UTF-8 one): one message naming that encoding instead of the header layout's."""
    if not encoding or encoding == "xlsx":
        return
    raw_names = [_ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m[1], 16)), h) for h in headers if h != "_row"]
    try:  # each name's bytes as read; utf-8-sig would put a byte-order mark before every one
        as_read = "utf-8" if codecs.lookup(encoding).name == "utf-8-sig" else encoding
    except LookupError:
        return
    for other in ("utf-8", "gb18030", "utf-16"):
        try:
            if codecs.lookup(other).name == codecs.lookup(as_read).name:
                continue
            names = [h.encode(as_read, "surrogateescape").decode(other).lstrip("\ufeff") for h in raw_names]
            resolve_columns(names, fields, required, one_of, mapping, source=str(path))
        except (UnicodeError, LookupError, DataError):
            continue
        raise DataError(
            f"{path}: read as {encoding} (the encoding given), the header names no field; read as {other} it does "
            f"({summarise(names, limit=5)})",
            fix=f"drop --encoding (and [inputs] encoding): citynet detects UTF-8, GB18030 and UTF-16; or pass "
                f"--encoding {other}") from exc


def _read_mapped(path: Path, fields, required, one_of, mapping, opts: IngestOptions, section: str,
                 sheet: str | None = None, header_row: int | None = None, label: str | None = None):
    """A file (or a ``sheet`` of a workbook, its header on ``header_row``: :func:`_survey_sheets`) read whole and
    mapped to ``fields``; its records' ``_source_file`` is ``label`` (default: the path)."""
    raw, cols = _mapped(path, lambda row: read_table(path, opts.encoding, row, sheet=sheet),
                        lambda raw: [c for c in raw.frame.columns if c != "_row"],
                        fields, required, one_of, mapping, opts, section, header_row, source=label)
    headers = [c for c in raw.frame.columns if c != "_row"]
    frame = raw.frame[list(cols.values())].copy()
    frame.columns = list(cols.keys())
    # keep the raw fields too (for quarantine rows): under their original headers
    original = raw.frame.drop(columns="_row")
    original.columns = [f"raw:{c}" for c in original.columns]
    frame = pd.concat([frame, original], axis=1)
    frame["_source_file"] = label or str(path)
    frame["_row"] = raw.frame["_row"].to_numpy()
    return raw, frame, detect_dialect(headers)


def _map_batch(frame: pd.DataFrame, cols: dict[str, str], path: Path) -> pd.DataFrame:
    """A batch of raw records under the canonical field names, with the raw fields kept under
    ``raw:<header>`` (for quarantine rows), ``_source_file`` and ``_row`` (as ``_read_mapped``)."""
    mapped = frame[list(cols.values())].copy()
    mapped.columns = list(cols.keys())
    original = frame.drop(columns="_row")
    original.columns = [f"raw:{c}" for c in original.columns]
    mapped = pd.concat([mapped, original], axis=1)
    mapped["_source_file"] = str(path)
    mapped["_row"] = frame["_row"].to_numpy()
    return mapped


_MATCHER: list = []  # one GreenMatcher per process, shared by the worker threads (its cache: dict reads/writes)


def _stage_batch(frame: pd.DataFrame | ArrowBatch, cols: dict[str, str], path: str, folder: str, file_no: int, batch_no: int,
                 pos: int, today: dt.date) -> tuple[list[pd.DataFrame], int]:
    """Check, normalise and stage one batch (``etl.patents.normalise_patent_batch`` → ``State.write_batch``);
    returns the batch's quarantine frames and its record count. Runs in a worker thread or inline."""
    _warm()
    arrow = frame if isinstance(frame, ArrowBatch) else None
    if arrow is not None:
        frame = arrow.frame()
    fq = _RawHeaders()
    records = _map_batch(frame, cols, Path(path))
    del frame
    cand = normalise_patent_batch(records, fq, today=today, matcher=_MATCHER[0])
    for part in (cand.patents, cand.applicant_links, cand.first_addresses, cand.citation_refs):
        part["_pos"] = pos + cand.survivors[part["_pos"].to_numpy()]
    if arrow is not None:  # the survivors' raw fields taken from the Arrow batch (no pandas round trip)
        rb = arrow.batch.take(pa.array(cand.survivors, type=pa.int64()))
        raw_rows = pa.table(
            [*rb.columns, pa.array([path] * rb.num_rows, pa.string()),
             pa.array(arrow.first_row + cand.survivors, pa.int64()), pa.array(pos + cand.survivors, pa.int64())],
            names=[f"raw:{c}" for c in rb.schema.names] + ["_source_file", "_row", "_pos"])
    else:
        keep_raw = [c for c in records.columns if c.startswith("raw:") or c in ("_source_file", "_row")]
        raw_rows = records[keep_raw].iloc[cand.survivors].reset_index(drop=True)
        raw_rows["_pos"] = pos + cand.survivors
    stream.State(Path(folder)).write_batch(file_no, batch_no, cand, raw_rows)
    return fq.frames, len(records)


class _Inline:
    """The interface of a pool's ``submit`` without threads (small files, ``workers = 1``)."""

    class _Done:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

    def submit(self, fn, *args):
        return self._Done(fn(*args))


def _pool(workers: int):
    """A pool of ``workers`` threads for the batch normalisation: its work is Arrow kernels and Parquet
    writes, which release the GIL, so two threads use two cores without starting processes (each
    imported pandas, pyarrow and the classification tables again) or sending batches between them."""
    from concurrent.futures import ThreadPoolExecutor

    _warm()  # the classification tables, once, before the threads share them
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="citynet-ingest")


def _warm() -> None:
    if not _MATCHER:
        _MATCHER.append(GreenMatcher())


def _take(pending, fq: Quarantine) -> int:
    """The oldest batch in flight: its quarantine rows to ``fq`` (batch order); returns its records."""
    frames, n = pending.popleft().result()
    fq.frames.extend(frames)
    return n


def _batch_progress(steps: Steps, path: Path, n_rows: int, t0: float) -> None:
    import time

    secs = max(time.perf_counter() - t0, 1e-9)
    steps.emit(f"reading {path.name}: {n_rows:,} rows ({n_rows / secs:,.0f} rows/s)…")


def _stream_patent_file(path: Path, state: stream.State, opts: IngestOptions, settings: stream.StreamSettings,
                        q_pat: Quarantine, pool, steps: Steps) -> dict:
    """Read, check and normalise one patent export batch by batch into ``state``; returns its report entry.

    The batches are read here (Arrow's reader threads) and checked, normalised and staged by ``pool``
    (worker threads, or inline), at most ``workers + 1`` batches in flight; their quarantine rows are
    taken in batch order, so the result does not depend on the number of workers. A file that proves
    irregular midway (a record with another field count) is read again by the careful reader, its
    batches so far discarded (``etl.readers.Irregular``)."""
    import time
    from collections import deque

    file_no = state.meta["next_file"]
    pos0 = state.meta["next_pos"]
    today = opts.today or dt.date.today()
    in_flight = max(1, settings.workers) + 1
    for careful in (False, True):
        fq = _RawHeaders()
        state.drop_file(file_no)
        raw, cols = _mapped(
            path, lambda row, careful=careful: stream_table(path, opts.encoding, settings.block, careful=careful,
                                                            header_row=row),
            lambda raw: list(raw.header), PATENT_FIELDS, PATENT_REQUIRED, PATENT_ONE_OF, opts.columns, opts,
            "columns")
        headers = list(raw.header)
        n_rows, pos, t0 = 0, pos0, time.perf_counter()
        pending: deque = deque()
        try:
            for batch_no, frame in enumerate(raw.batches(lazy=True)):
                n = len(frame)
                pending.append(pool.submit(_stage_batch, frame, cols, str(path), str(state.folder), file_no,
                                           batch_no, pos, today))
                del frame
                pos += n
                while len(pending) >= in_flight:
                    n_rows += _take(pending, fq)
                    _batch_progress(steps, path, n_rows, t0)
            while pending:
                n_rows += _take(pending, fq)
                _batch_progress(steps, path, n_rows, t0)
        except Irregular:
            for fut in pending:  # let the staged writes finish before the file's batches are dropped
                with contextlib.suppress(Exception):
                    fut.result()
            continue  # read again by the careful path
        break
    fq.add_malformed(str(path), raw.malformed)
    state.write_quarantine(file_no, fq.frames)
    q_pat.frames.extend(fq.frames)
    rows_read = n_rows + len(raw.malformed)
    state.meta["next_file"] = file_no + 1
    state.meta["next_pos"] = pos
    steps.current = (steps.current[0], rows_read, steps.current[2])  # rows known once read
    repeated = _repeated_headers(cols, headers)
    return {"file": str(path), "kind": "patents", "dialect": detect_dialect(headers), "encoding": raw.encoding,
            **({"repeated_headers": repeated} if repeated else {}),
            "rows_read": rows_read, **({"header_row": raw.header_row} if raw.header_row > 1 else {})}


_FACTS = pa.schema([("name", pa.string()), ("kind", pa.string()), ("key", pa.string()), ("rule", pa.string())])


def _name_facts(state: stream.State, names: pd.Series) -> pd.DataFrame:
    """``kind`` (``applicant_kind``) and harmonisation ``key``/``rule`` (``name_keys``) of each distinct
    name, indexed by name in the order of ``names``. Both are functions of the name alone (Arrow compute:
    RE2 keyword rules, the place-name sets of ``has_division``), so the names of earlier ingests are taken
    from ``state`` (``names/``) and only new names computed, then kept there for the next append."""
    known = [pq.read_table(f) for f in state.files_of("names")]
    every = to_arrow(names)
    if known:  # each name's row among the kept facts (null: a new name), looked up in Arrow
        kept = pa.concat_tables(known)
        row = pc.index_in(every, value_set=kept.column("name").cast(every.type))
        at = np.flatnonzero(pc.is_null(row).to_numpy(zero_copy_only=False))
    else:
        at = np.arange(len(names))
    new = every.take(pa.array(at))
    order = pc.sort_indices(new)  # same bytes every run: by name (UTF-8 bytes: code point order)
    new, at = new.take(order), at[order.to_numpy()]
    kind = applicant_kind_codes(new)
    key, rule = name_keys_arrow(new, kind == KINDS.index("individual"))
    fresh = pa.table([new, pa.array(KINDS, pa.string()).take(kind), key, pa.array(RULES, pa.string()).take(rule)],
                     schema=pa.schema([pa.field(f.name, pa.large_string()) for f in _FACTS])).cast(_FACTS)
    stream.write_state_file(state.run_file("names"), fresh)
    out = {}
    for col in ("kind", "key", "rule"):  # the new names' facts put in their places, the others as kept
        values = (kept.column(col).take(row).to_numpy(zero_copy_only=False).astype(object, copy=True) if known
                  else np.empty(len(names), dtype=object))
        values[at] = fresh.column(col).to_numpy()
        out[col] = values
    return pd.DataFrame(out, index=pd.Index(names.to_numpy(dtype=object), name="name"), dtype=object)


def _staged_rows(state: stream.State, kind: str) -> int:
    return sum(pq.read_metadata(f).num_rows for f in state.files_of(kind))


def write_table(frame: pd.DataFrame, name: str, folder: Path) -> Path:
    """Write a canonical table with its Arrow schema (extra columns kept after the contract ones)."""
    schema = CANONICAL[name]
    cols = [f.name for f in schema] + [c for c in frame.columns if c not in schema.names]
    table = pa.Table.from_pandas(frame[cols], preserve_index=False)
    table = table.cast(pa.schema([schema.field(c) if c in schema.names else table.schema.field(c) for c in cols]))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    manifest.record(path)
    return path


@dataclass(frozen=True)
class TransferInput:
    """A transfer file given with ``--transfers``, or a sheet of transfer records in a patent workbook
    (:func:`_survey_sheets`), which is named ``FILE (sheet NAME)`` in the report and the quarantine."""

    path: Path
    sheet: str | None = None
    header_row: int | None = None

    @property
    def label(self) -> str:
        return str(self.path) if self.sheet is None else f"{self.path} (sheet {self.sheet})"


def _read_transfers(earlier: list[pd.DataFrame], inputs: list[TransferInput], opts: IngestOptions):
    """Read the transfer files and sheets (``inputs``) and check every transfer record, ``earlier``
    (``--append``: the records kept in the state) first: returns ``[(input, raw, records)]``, the
    ``TransferBatch`` (None without records) and the rejected records' quarantine. Runs in a thread while the
    patents are read."""
    read = []
    for inp in inputs:
        raw, frame, _dialect = _read_mapped(inp.path, TRANSFER_FIELDS, TRANSFER_REQUIRED, (), opts.transfer_columns,
                                            opts, "transfer_columns", inp.sheet, inp.header_row, inp.label)
        read.append((inp, raw, frame))
    frames = [*earlier, *(frame for _, _, frame in read)]
    rejected = _RawHeaders()
    tb = process_transfer_records(pd.concat(frames, ignore_index=True), rejected, today=opts.today) if frames else None
    return read, tb, rejected


def _take_transfers(tr_job: _Background, earlier_tr: list, state: stream.State, files_report: list[dict],
                    q_tr: Quarantine, steps: Steps) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """The transfer thread's result (``_read_transfers``): each file's report entry, its reader's and its
    checks' quarantine rows (in that order) and its records kept in ``state``; returns the checked
    transfers, their applicant names and addresses. The files' raw fields are dropped here (the thread's
    result is taken, not kept): they are in the state (at 10M the mapped frame alone, 106 MB, was held beside
    locating)."""
    read, tb, tr_quarantine = tr_job.take()
    for entry, _frame, malformed in earlier_tr:
        q_tr.add_malformed(entry["file"], malformed)
        files_report.append(entry)
    for inp, raw, frame in read:
        q_tr.add_malformed(inp.label, raw.malformed)
        entry = {"file": inp.label, "kind": "transfers", "encoding": raw.encoding, "rows_read": raw.rows_read,
                 **({"workbook": str(inp.path), "sheet": inp.sheet} if inp.sheet is not None else {}),
                 **({"header_row": raw.header_row} if raw.header_row > 1 else {})}
        files_report.append(entry)
        state.add_transfer_file(entry, frame, raw.malformed)
    q_tr.frames.extend(tr_quarantine.frames)  # after the reader's rows, as when checked here
    steps.current = (steps.current[0], sum(raw.rows_read for _, raw, _ in read)
                     + sum(len(f) for _, f, _ in earlier_tr), steps.current[2])
    return _no_transfers() if tb is None else (tb.transfers, tb.names, tb.addresses)


def _no_transfers() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    return (pd.DataFrame(columns=["transfer_id", "patent_id", "date", "year", "from_name", "to_name"]),
            pd.Series([], dtype="object"), pd.DataFrame(columns=["name", "address"]))


def _applicant_names(state: stream.State, dups: pd.DataFrame, transfer_names: pd.Series,
                     settings: stream.StreamSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The distinct applicant names (the kept records' and ``transfer_names``) harmonised: the names table
    (``harmonize_names``: variants of one organisation → one id) and the applicants (``build_applicants``:
    id, representative name, kind). What they are computed from (the names' counts, kinds and keys) is
    dropped on return, before locating (the peak of the ingest at 10M, docs/scale.md, session 18)."""
    counts = stream.name_counts(state, dups, transfer_names, settings)
    facts = _name_facts(state, pd.Series(counts.index.astype(object)))  # kind, harmonisation key: once per name,
    kind_of = facts["kind"]                                             # kept for --append
    names_table = harmonize_names(None, kinds=kind_of, counts=counts, keys=facts)
    reps = names_table.drop_duplicates("representative")  # each representative's id, hashed once
    applicants = build_applicants(names_table["representative"], kinds=kind_of,
                                  ids=pd.Series(reps["applicant_id"].to_numpy(), index=reps["representative"].to_numpy()))
    return names_table, applicants


def _refuse_an_append_of_nothing(entries: list[dict], frames: list) -> None:
    """``ingest --append``: refuse (as a whole ingest does) when no record of the new patent files can be
    loaded: each is empty or every row of it was rejected (the reasons, summarised, like
    :meth:`Quarantine.nothing_loaded`); the corpus before stays as it was."""
    new = _RawHeaders()
    new.frames = list(frames)
    t = new.table()
    rejected = len(t[["source_file", "source_row"]].drop_duplicates()) if len(t) else 0
    if rejected >= sum(int(e["rows_read"]) for e in entries):
        raise new.nothing_loaded([e["file"] for e in entries])


class _RawHeaders(Quarantine):
    """Quarantine rows with the raw fields under their original headers."""

    def add(self, raw, reason_code, field_name, detail=None):  # noqa: D401
        keep = [c for c in raw.columns if c.startswith("raw:") or c.startswith("_")]
        renamed = raw[keep].rename(columns=lambda c: c[4:] if c.startswith("raw:") else c)
        super().add(renamed, reason_code, field_name, detail)


def _hashed(path: Path, fn, *args):
    """``fn(*args)`` (which writes ``path``), then the digest of ``path`` for its manifest entry
    (``manifest.record``): ``(value, digest)``."""
    value = fn(*args)
    return value, manifest.file_digest(path)


class _Background:
    """``fn(*args)`` in a thread; ``result()`` waits for it (and raises its error), reporting how long
    the step ran and how long the caller waited."""

    def __init__(self, fn, *args, name: str):
        import threading
        import time

        self.t0, self.t1 = time.perf_counter(), None
        self.value, self.error = None, None

        def run():
            try:
                self.value = fn(*args)
            except BaseException as exc:  # noqa: BLE001 (re-raised by result())
                self.error = exc
            finally:
                self.t1 = time.perf_counter()

        self.thread = threading.Thread(target=run, name=name, daemon=True)
        self.thread.start()

    def wait(self) -> None:
        self.thread.join()

    def result(self):
        self.wait()
        if self.error is not None:
            raise self.error
        return self.value

    def take(self):
        """``result()``, no longer held here (the caller's reference is the only one)."""
        value, self.value = self.result(), None
        return value

    def finish(self, emit, what: str, rows) -> object:
        """``result()``, then ``emit`` one line: ``what``, its rows (``rows(value)``), how long it ran and how
        long the caller waited for it."""
        import time

        waited = time.perf_counter()
        value = self.result()
        waited, ran, n = time.perf_counter() - waited, self.t1 - self.t0, rows(value)
        emit(f"✓ {what}: {n:,} rows in {ran:.1f} s, alongside the steps above, {waited:.1f} s waited for "
             f"({n / max(ran, 1e-9):,.0f} rows/s)")
        return value


@contextlib.contextmanager
def _arrow_allocator():
    """Arrow's memory for the ingest from an allocator that keeps freed pages for the next batch.

    Arrow's default pool (mimalloc) returned freed pages to the kernel and backed new ones with
    transparent huge pages, so every batch faulted in and zeroed its memory again: measured with
    ``perf`` on the 1M-patent ingest, 21 % of all CPU time was the kernel zeroing pages
    (``clear_page_erms``). The C library's allocator removes that but, with two threads normalising,
    its per-thread arenas grew with the export (1.0 → 1.8 GiB over a 2M export). jemalloc with purging
    of freed pages after some seconds keeps both flat. ``citynet ingest`` sets
    ``ARROW_DEFAULT_MEMORY_POOL`` before pyarrow loads (for Arrow's own C++ allocations), and
    ``JE_ARROW_MALLOC_CONF`` so that jemalloc does not purge at all until :func:`_release_arrow_memory`
    (the decay set here reaches only arenas created after it; measured in docs/scale.md, "Fifth
    round"); this sets pyarrow's default to the same pool (jemalloc where the wheel has it, else the C
    library's)."""
    before = pa.default_memory_pool()
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(JEMALLOC_DECAY_MS)
    except NotImplementedError:  # a pyarrow built without jemalloc
        pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)
    import gc

    threshold = gc.get_threshold()
    gc.set_threshold(100_000, 50, 50)  # few container objects live long here; Python's collector ran 2 % of CPU
    try:
        yield
    finally:
        pa.set_memory_pool(before)
        gc.set_threshold(*threshold)


def _release_arrow_memory() -> None:
    """Hand the pages Arrow's pool keeps for reuse back to the kernel (jemalloc's purge).

    ``citynet ingest`` asks jemalloc never to purge on its own (``citynet/commands/ingest.py:
    JEMALLOC_CONF``), so the batches reuse each other's pages; once the exports are read, what the reading
    used is returned here, so the corpus steps (DuckDB, pandas) do not add to it."""
    pa.default_memory_pool().release_unused()


JEMALLOC_DECAY_MS = 5_000  # freed pages kept this long for the next batch before they go back to the kernel


def ingest(
    ws,
    patent_files: list[Path],
    transfer_files: list[Path] = (),
    covariate_files: list[Path] = (),
    opts: IngestOptions | None = None,
    progress: Progress | None = None,
) -> dict:
    """Run the whole ETL into workspace ``ws``; returns the report also written to reports/ingest.json."""
    jobs: list[_Background] = []
    with _arrow_allocator():
        try:
            return _ingest(ws, patent_files, transfer_files, covariate_files, opts, progress, jobs)
        finally:
            for job in jobs:  # never leave a thread writing into the staging folder
                job.wait()


def _ingest(ws, patent_files, transfer_files, covariate_files, opts, progress, jobs) -> dict:
    opts = opts or IngestOptions()
    steps = Steps(progress or (lambda msg: log.info(msg)))
    step = steps.begin
    if not patent_files and opts.append_from is None:
        raise DataError("no patent export given", fix="citynet ingest -w WS raw/patents.csv [more files]")
    q_pat, q_tr, q_cov = _RawHeaders(), _RawHeaders(), Quarantine()
    files_report: list[dict] = []

    settings = opts.stream or stream.StreamSettings()
    canon = ws.canonical
    state = stream.State(canon / stream.STATE)
    if opts.append_from is not None:  # --append: the files ingested before are not read again
        state = opts.append_from.link_into(canon / stream.STATE)
        files_report.extend(state.meta["files"])
        q_pat.frames.extend(state.quarantine_frames())
    state.meta["runs"] = int(state.meta.get("runs", 0)) + 1  # names this ingest's files of what it keeps
    new_from = state.meta["next_file"]  # the first file number of this ingest
    previous = None  # --append: the patent table of the corpus before, when its duplicates were kept too
    if opts.append_from is not None and state.files_of("dups"):
        previous = opts.append_from.folder.parent / "patents.parquet"
        previous = previous if previous.is_file() else None
    # the transfer files are read and checked by a thread while the patents are read (they do not depend
    # on the patents); their quarantine rows, report entries and state files are taken in order below
    earlier_tr = list(state.transfer_files())  # --append: the transfer records ingested before
    sheet_transfers, unread = _survey_sheets(list(map(Path, patent_files)), opts)  # the workbooks' other sheets
    tr_inputs = [TransferInput(Path(f)) for f in transfer_files] + sheet_transfers
    tr_job = _Background(_read_transfers, [f for _, f, _ in earlier_tr], tr_inputs, opts,
                         name="citynet-ingest-transfers") if tr_inputs or earlier_tr else None
    if tr_job is not None:
        jobs.append(tr_job)
    big = sum(Path(p).stat().st_size for p in patent_files if Path(p).is_file()) > 2 * settings.block
    pool = _pool(settings.workers) if big and settings.workers > 1 else _Inline()
    earlier_files, earlier_frames = len(files_report), len(q_pat.frames)
    try:
        for path in map(Path, patent_files):
            step(f"reading {path.name}")
            entry = _stream_patent_file(path, state, opts, settings, q_pat, pool, steps)
            entry.update(unread.get(path, {}))  # sheets_not_read, sheets_read_as_transfers
            files_report.append(entry)
            state.meta["files"].append(entry)
    finally:
        if not isinstance(pool, _Inline):
            pool.shutdown(wait=True, cancel_futures=True)
    _release_arrow_memory()
    if opts.append_from is not None and patent_files:
        _refuse_an_append_of_nothing(files_report[earlier_files:], q_pat.frames[earlier_frames:])

    step("patents: de-duplication", state.meta["next_pos"])
    before = state.files_of("dups")
    old_dups = pq.read_table(before[-1], columns=["_pos"]).column("_pos").to_numpy() if before else None
    dups = stream.duplicates(state, settings, new_from if opts.append_from is not None else None)
    dropped = None  # --append: the records of the corpus before that are duplicates now
    if opts.append_from is not None and old_dups is not None:
        pos = dups["_pos"].to_numpy()
        dropped = pos[(pos < opts.append_from.meta["next_pos"]) & ~np.isin(pos, old_dups)]
    # --append: the numbers of those records (a new record holds each now): the only earlier rows that go
    gone = None if dropped is None else pa.array(dups["patent_id"].to_numpy()[np.isin(pos, dropped)], pa.string())
    # the citations and the year-sorted patent table depend on the kept records only: each is written by
    # a thread while the next steps run (DuckDB and Arrow release the GIL, the applicant steps are mostly
    # Python), each of the three with a third of the memory limit, the citations with one DuckDB thread
    settings = settings.divided(3)
    # (each thread also hashes the file it wrote for the manifest, off the serial end of the ingest)
    cit_job = _Background(_hashed, canon / "citations.parquet", stream.resolve_citations, state, dups,
                          canon / "citations.parquet", replace(settings, threads=1),
                          None if previous is None else previous.parent / "citations.parquet",
                          new_from, old_dups, dropped, name="citynet-ingest-citations")
    jobs.append(cit_job)
    patents_path = canon / "patents.parquet"
    pat_job = _Background(_hashed, patents_path, stream.write_patents, state, dups, patents_path,  # by app_year,
                          settings, previous, new_from, gone, name="citynet-ingest-patents")  # then corpus order
    jobs.append(pat_job)
    # the duplicates' quarantine rows (their raw fields read back from the state) by a thread too: nothing
    # but the quarantine file and the report needs them; taken after the rows before them (same order)
    dup_rows = _RawHeaders()
    dup_job = _Background(stream.quarantine_duplicates, state, dups, dup_rows, name="citynet-ingest-duplicates")
    jobs.append(dup_job)

    def take_duplicate_rows() -> None:
        dup_job.result()
        q_pat.frames.extend(dup_rows.frames)

    step("patents: counts", state.meta["next_pos"] - len(dups))
    summary = stream.patent_summary(stream.write_kept(  # the report's counts: ties in corpus order
        state, "patents", dups, stream.SUMMARY_SCHEMA, None, columns=stream.SUMMARY_COLUMNS))
    if summary["count"] == 0:
        take_duplicate_rows()
        entries = [f for f in files_report if f["kind"] == "patents"]
        raise q_pat.nothing_loaded([f["file"] for f in entries], note="".join(
            f"; {Path(f['file']).name} names {cols[0]!r} {len(cols)} times and its first column was read as {fld} "
            f"(another: citynet.toml [columns] {fld} = {json.dumps(cols[1], ensure_ascii=False)})"
            for f in entries for fld, cols in f.get("repeated_headers", {}).items()))

    transfers, transfer_names, transfer_addr = _no_transfers()
    if tr_job is not None:
        step("transfers: reading and validation (alongside the patents)")
        transfers, transfer_names, transfer_addr = _take_transfers(tr_job, earlier_tr, state, files_report, q_tr, steps)
    state.save()

    step("applicants: names and kinds", _staged_rows(state, "links") + len(transfer_names))
    names_table, applicants = _applicant_names(state, dups, transfer_names, settings)
    del transfer_names
    id_of = names_table.set_index("name")["applicant_id"]

    if previous is not None:  # --append: the patent table's thread first (its new rows, DuckDB, the previous groups):
        pat_job.wait()        # beside locating, the peak of the append at 10M (docs/scale.md, session 14)
    _release_arrow_memory()  # the pages of the steps before back to the kernel (at 10M Arrow held 783 MiB in the counts)
    step("applicants: locating (address, corpus vote, name)", len(applicants))
    located = stream.locate(state, dups, names_table, transfer_addr, applicants[["applicant_id", "name", "kind"]],
                            settings, new_from if opts.append_from is not None else None, dropped)
    address_status = located.attrs.get("address_status", {})
    del transfer_addr
    applicants = applicants.merge(located, on="applicant_id", how="left", suffixes=("", "_loc"))
    del located
    applicants = applicants[[f.name for f in CANONICAL["applicants"]]]
    city_of = applicants.set_index("applicant_id")["city_code"]

    step("patent applicants and transfers: ids and cities", _staged_rows(state, "links") + len(transfers))
    pa_counts = stream.write_patent_applicants(state, dups, id_of, city_of, canon / "patent_applicants.parquet",
                                               None if previous is None else previous.parent, new_from, gone)
    pa_digest = _Background(manifest.file_digest, canon / "patent_applicants.parquet", name="citynet-ingest-digest")
    jobs.append(pa_digest)

    if len(transfers):
        transfers = transfers.assign(
            from_applicant_id=transfers["from_name"].map(id_of), to_applicant_id=transfers["to_name"].map(id_of)
        )
        transfers["from_city"] = transfers["from_applicant_id"].map(city_of)
        transfers["to_city"] = transfers["to_applicant_id"].map(city_of)
    else:
        transfers = transfers.assign(from_applicant_id=None, to_applicant_id=None, from_city=None, to_city=None)
    transfers = transfers[[f.name for f in CANONICAL["transfers"]]]
    steps.end()
    cit_counts, cit_digest = cit_job.finish(steps.emit, "citations: resolving references", lambda c: c[0]["count"])
    _, pat_digest = pat_job.finish(steps.emit, "patents: the year-sorted patent table", lambda _: summary["count"])

    step("writing canonical tables", summary["count"] + len(applicants) + pa_counts["links"] + len(transfers)
         + cit_counts["count"])
    write_table(city_set().cities, "cities", canon)
    write_table(applicants, "applicants", canon)
    write_names_table(names_table, canon)
    manifest.record(patents_path, pat_digest)
    manifest.record(canon / "patent_applicants.parquet", pa_digest.result())
    write_table(transfers, "transfers", canon)
    manifest.record(canon / "citations.parquet", cit_digest)

    cov_reports, cov_tables = [], []
    for path in map(Path, covariate_files):
        step(f"reading covariates {path.name}")
        cov, rep = load_covariates(path, q_cov)
        cov_tables.append(cov)
        cov_reports.append(rep)
        files_report.append({"file": str(path), "kind": "covariates", "encoding": "auto", "rows_read": rep["rows_read"]})

    if cov_tables:
        headers: dict[str, str] = {}  # formula name → the header it had (the first file's)
        for rep in cov_reports:
            for header, name in rep["renamed"].items():
                headers.setdefault(name, header)
        conflicts = write_covariates(cov_tables, canon / "covariates.parquet", headers,
                                     [rep["file"] for rep in cov_reports])
        for rep in cov_reports:  # values given again, differently, by a later file: kept out, and said
            if rep["file"] in conflicts:
                rep["values_not_kept"] = conflicts[rep["file"]]
    take_duplicate_rows()
    written = [*q_pat.write(ws.quarantine, "patents"), *q_tr.write(ws.quarantine, "transfers"),
               *q_cov.write(ws.quarantine, "covariates")]
    step("quarantine and report")
    report = _report(files_report, q_pat, q_tr, q_cov, summary, applicants, pa_counts, transfers, cit_counts, cov_reports)
    report["quarantine_files"] = [f"{ws.quarantine.name}/{p.name}" for p in written]  # none: no row was quarantined
    report["applicants"]["harmonised"] = merge_summary(names_table)
    report["addresses"] = address_status
    steps.end()
    ws.reports.mkdir(parents=True, exist_ok=True)
    (ws.reports / "ingest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


def write_covariates(tables: list[pd.DataFrame], path: Path, headers: dict[str, str] | None = None,
                     files: list[str] | None = None) -> dict[str, dict]:
    """Several covariate files are joined on (city_code, year); a variable given by two files keeps
    the first file's value where it has one. ``headers`` (formula name → the file's header, for the
    columns ``load_covariates`` renamed) goes into the Parquet schema metadata (``COVARIATE_HEADERS``),
    where ``export`` finds the Stata variable labels.

    Returns the values a later file gave differently for a city-year and variable an earlier file had
    already given — kept out, never silently: ``{file: {column: {"cells": n, "examples": [[city_code,
    year, kept, not kept], …up to 3]}}}`` (``files`` names the tables, in order; empty when none differ).

    >>> a = pd.DataFrame({"city_code": ["110000", "120000"], "year": [2010, 2010], "gdp": [1.5, 2.0]})
    >>> b = pd.DataFrame({"city_code": ["110000", "130100"], "year": [2010, 2010], "gdp": [9.9, 3.0]})
    >>> import tempfile; d = Path(tempfile.mkdtemp())
    >>> write_covariates([a, b], d / "c.parquet", files=["a.csv", "b.csv"])
    {'b.csv': {'gdp': {'cells': 1, 'examples': [['110000', 2010, 1.5, 9.9]]}}}
    >>> pd.read_parquet(d / "c.parquet")["gdp"].tolist()
    [1.5, 2.0, 3.0]
    """
    keys = ["city_code", "year"]
    names = files or [f"file {i + 1}" for i in range(len(tables))]
    conflicts: dict[str, dict] = {}
    merged = tables[0].set_index(keys)
    for name, t in zip(names[1:], tables[1:], strict=True):
        later = t.set_index(keys)
        for col in merged.columns.intersection(later.columns):
            kept, other = merged[col].align(later[col], join="inner")
            differ = kept.notna() & other.notna() & (kept.astype(object) != other.astype(object))
            if differ.any():
                ex = [[c, int(y), _plain(k), _plain(o)] for (c, y), k, o in
                      zip(kept.index[differ][:3], kept[differ][:3], other[differ][:3], strict=True)]
                conflicts.setdefault(name, {})[col] = {"cells": int(differ.sum()), "examples": ex}
        merged = merged.combine_first(later)
    table = pa.Table.from_pandas(merged.reset_index().sort_values(keys), preserve_index=False)
    if headers:
        meta = {**(table.schema.metadata or {}), COVARIATE_HEADERS: json.dumps(headers, ensure_ascii=False).encode()}
        table = table.replace_schema_metadata(meta)
    pq.write_table(table, path)
    return conflicts


def _plain(v: object) -> object:
    """A numpy scalar as the Python value JSON and messages print."""
    return v.item() if hasattr(v, "item") else v


def _report(files, q_pat, q_tr, q_cov, summary, applicants, pa_counts, transfers, cit_counts, cov_reports) -> dict:
    quarantined = {}
    for q in (q_pat, q_tr, q_cov):
        quarantined.update(q.counts())
    loaded_by_file = summary["by_file"]
    for f in files:
        qcounts = quarantined.get(f["file"], {})
        f["rows_quarantined"] = int(sum(qcounts.values()))
        f["quarantined_by_reason"] = {k: int(v) for k, v in qcounts.items()}
        if f["kind"] == "patents":
            f["rows_loaded"] = int(loaded_by_file.get(f["file"], 0))
        else:
            f["rows_loaded"] = f["rows_read"] - f["rows_quarantined"]
        f["balanced"] = f["rows_read"] == f["rows_loaded"] + f["rows_quarantined"]
        if not f["balanced"]:
            raise RuntimeError(f"row accounting broken for {f['file']}: {f}")  # a bug, never user data
    loc = applicants["located_by"].value_counts()
    n_app = len(applicants)
    return {
        "generated": dt.datetime.now().isoformat(timespec="seconds"),
        "files": files,
        "totals": {
            "rows_read": int(sum(f["rows_read"] for f in files)),
            "rows_loaded": int(sum(f["rows_loaded"] for f in files)),
            "rows_quarantined": int(sum(f["rows_quarantined"] for f in files)),
        },
        "patents": {k: v for k, v in summary.items() if k != "by_file"},
        "applicants": {
            "count": int(n_app),
            "by_kind": {k: int(v) for k, v in applicants["kind"].value_counts().items()},
            "located_by": {k: int(v) for k, v in loc.items()},
            "located_by_share": {k: round(float(v) / n_app, 4) for k, v in loc.items()} if n_app else {},
            "located_share": round(float(applicants["city_code"].notna().mean()), 4) if n_app else 0.0,
        },
        "patent_applicants": {
            "links": pa_counts["links"],
            "located_share": round(pa_counts["located"] / pa_counts["links"], 4) if pa_counts["links"] else 0.0,
            "first_applicant_located_share": round(pa_counts["first_located"] / pa_counts["first"], 4)
            if pa_counts["first"]
            else 0.0,
        },
        "transfers": {
            "count": int(len(transfers)),
            "both_cities_known": int((transfers["from_city"].notna() & transfers["to_city"].notna()).sum()),
        },
        "citations": {k: int(v) for k, v in cit_counts.items()},
        "covariates": cov_reports,
    }
