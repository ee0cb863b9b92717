"""Streaming ingest of patent exports: bounded batches on disk, the duplicate rule out of core.

Each export is read in bounded batches (``etl.readers.stream_table``: Arrow's incremental CSV reader),
each batch is checked and normalised on its own (``etl.patents.normalise_patent_batch``: every check
there looks at one record), and what survives is written at once to the ingest's *state*, a folder of
Parquet files next to the canonical tables (``canonical/state/``):

==========================  =====================================================================
``patents/F_B.parquet``      the patent row of every record that passed the per-record checks, with
                             ``_pos`` (its position in the corpus: file order, then row order) and
                             ``_filled`` (its number of non-empty mapped fields)
``raw/F_B.arrow``            the same records' raw fields, Arrow IPC (read only for the duplicates,
                             memory-mapped: no encoding or compression on the way in or out)
``links/``, ``first/``,      applicant names (with ``seq``), the first applicant's address and
``refs/``                    province code, and the citation references of the same records
``quarantine/F.parquet``     the rows the per-record checks and the reader rejected, per file
``files.json``               per input file: rows read, dialect, encoding; the next free ``_pos``;
                             ``runs``, the number of ingests and appends that made this state
``dups/rN.parquet``          the corpus's duplicate records (``_pos``, kept row, ``patent_id``)
``votes/rN.parquet``         the kept records' address votes per applicant name (status, city,
                             province, country: records)
``addr/rN.parquet``          every (address, province code) pair parsed, one file per run (the
                             pairs that run parsed)
``names/rN.parquet``         each name's applicant kind and harmonisation key, one file per run
``cites/F_B.parquet``        per staged reference: its publication-number stem and application number
==========================  =====================================================================

So memory is bounded by the batch (``[ingest] block_mb``), not by the export. The duplicate rule —
per application number keep the record with most non-empty fields, ties to the earlier in file order
(rejected copies are quarantined as ``duplicate`` with the kept row) — runs in DuckDB over
``_pos``/``_filled``/``patent_id`` with a memory limit (``[ingest] memory_limit``, default 3GB),
spilling to a temporary folder, two threads. The kept rows are then copied batch by batch in
``_pos`` order into ``patents.parquet``; links, addresses and references of kept records likewise.
``citynet ingest --append`` reuses the state of the files ingested before (their records are not read
again) and re-decides the duplicates, the applicants and the citations over old and new records,
which gives exactly what one ingest of all files gives. What it decides again is limited to what the
new records touch where the rule allows (docs/scale.md, "What an append recomputes"): the duplicate
rule for the new application numbers only, the votes of the new and newly dropped records only, the
parse of new address pairs and the kind and key of new names only, the patent and patent-applicant
tables merged from the previous ones; the per-name and per-reference results above are functions of
their input alone, so keeping them cannot change a result.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from citynet.etl.schema import CANONICAL

from citynet.sqltext import sql_string_list

DEFAULT_MEMORY_LIMIT = "3GB"
DEFAULT_BLOCK_MB = 32
DEFAULT_WORKERS = 2
STATE = "state"
KINDS = ("patents", "raw", "links", "first", "refs")
_STR = pa.string()
LINKS_SCHEMA = pa.schema([("_pos", pa.int64()), ("patent_id", _STR), ("name", _STR), ("seq", pa.int16())])
FIRST_SCHEMA = pa.schema([("_pos", pa.int64()), ("patent_id", _STR), ("name", _STR), ("address", _STR),
                          ("country_province", _STR)])
REFS_SCHEMA = pa.schema([("_pos", pa.int64()), ("citing_patent_id", _STR), ("cited_ref", _STR)])
PATENTS_STAGED = pa.schema(list(CANONICAL["patents"]) + [pa.field("_pos", pa.int64()), pa.field("_filled", pa.int16())])
SUMMARY_COLUMNS = ["patent_kind", "granted", "green", "y02", "app_year", "source_file"]  # patent_summary's
SUMMARY_SCHEMA = pa.schema([PATENTS_STAGED.field(c) for c in SUMMARY_COLUMNS])


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", re.I)  # a DuckDB memory size: number, unit


@dataclass
class StreamSettings:
    """``[ingest]`` of citynet.toml: ``memory_limit`` (DuckDB's, for the corpus-wide steps; e.g. "3GB"),
    ``block_mb`` (MiB of CSV per streamed batch) and ``workers`` (threads that normalise batches)."""

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    block_mb: int = DEFAULT_BLOCK_MB
    threads: int = 2
    workers: int = DEFAULT_WORKERS
    block_bytes: int | None = None  # overrides block_mb (tests: many batches from a small file)

    def divided(self, parts: int) -> StreamSettings:
        """These settings with ``1/parts`` of the memory limit: for ``parts`` corpus steps that run at once
        (together within ``memory_limit``)."""
        import dataclasses

        m = _SIZE.fullmatch(self.memory_limit)
        return dataclasses.replace(self, memory_limit=f"{float(m.group(1)) / parts:g}{m.group(2)}" if m
                                   else self.memory_limit)

    @property
    def block(self) -> int:
        return self.block_bytes or self.block_mb << 20

    @classmethod
    def from_settings(cls, settings: dict | None) -> StreamSettings:
        from citynet.errors import UserError

        s = dict((settings or {}).get("ingest", {}) or {})
        out = cls(memory_limit=str(s.get("memory_limit", DEFAULT_MEMORY_LIMIT)), block_mb=s.get("block_mb", DEFAULT_BLOCK_MB),
                  workers=s.get("workers", DEFAULT_WORKERS))
        if not isinstance(out.workers, int) or isinstance(out.workers, bool) or not 1 <= out.workers <= 64:
            raise UserError(f"citynet.toml [ingest] workers = {out.workers!r}: not a whole number from 1 to 64",
                            fix="e.g. [ingest] workers = 2")
        if not isinstance(out.block_mb, int) or isinstance(out.block_mb, bool) or not 1 <= out.block_mb <= 4096:
            raise UserError(f"citynet.toml [ingest] block_mb = {out.block_mb!r}: not a whole number of MiB from 1 to 4096",
                            fix="e.g. [ingest] block_mb = 32")
        if not _SIZE.fullmatch(out.memory_limit):
            raise UserError(f"citynet.toml [ingest] memory_limit = {out.memory_limit!r}: not a size",
                            fix='e.g. [ingest] memory_limit = "3GB"')
        return out


class State:
    """The ingest state folder (module docstring): staged batches of every file of the corpus."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = {"version": 1, "files": [], "next_pos": 0, "next_file": 0, "transfer_files": []}

    # --- reading and carrying over an earlier state ---------------------------------------------
    @classmethod
    def load(cls, folder: Path) -> State | None:
        p = Path(folder) / "files.json"
        if not p.is_file():
            return None
        st = cls(folder)
        st.meta = json.loads(p.read_text(encoding="utf-8"))
        return st

    def link_into(self, target: Path) -> State:
        """A copy of this state under ``target`` (hard links where the file system allows: nothing is
        rewritten; files are never modified in place)."""
        target = Path(target)
        for f in sorted(self.folder.rglob("*")):
            if f.is_file() and f.name != "files.json":  # rewritten by save()
                dst = target / f.relative_to(self.folder)
                dst.parent.mkdir(parents=True, exist_ok=True)
                try:
                    dst.hardlink_to(f)
                except OSError:
                    shutil.copy2(f, dst)
        new = State(target)
        new.meta = json.loads(json.dumps(self.meta))
        return new

    def save(self) -> None:
        """Write ``files.json`` as a new file (never through a hard link to the published state)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "files.json.tmp"
        tmp.write_text(json.dumps(self.meta, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.folder / "files.json")

    # --- writing ------------------------------------------------------------------------------------
    def path(self, kind: str, file_no: int, batch_no: int) -> Path:
        return self.folder / kind / f"{file_no:05d}_{batch_no:06d}.parquet"

    def files_of(self, kind: str) -> list[Path]:
        folder = self.folder / kind
        if kind == "raw":  # Arrow IPC (a state written before: Parquet)
            return sorted([*folder.glob("*.arrow"), *folder.glob("*.parquet")], key=lambda f: f.stem)
        return sorted(folder.glob("*.parquet"))

    def files_split(self, kind: str, new_from: int | None) -> tuple[list[Path], list[Path]]:
        """The files of ``kind`` of the input files numbered below ``new_from`` (an append's earlier
        files) and from ``new_from`` on (its new files); ``new_from`` None: every file is new."""
        files = self.files_of(kind)
        if new_from is None:
            return [], files
        return ([f for f in files if _file_no(f) < new_from], [f for f in files if _file_no(f) >= new_from])

    def run_file(self, kind: str) -> Path:
        """The file of ``kind`` that this ingest adds to what the ingests before kept (``addr/``: the
        address pairs parsed, ``names/``: each name's kind and harmonisation key, ``cites/``: … one
        file per ingest or append, ``r<run>.parquet``; see ``etl.pipeline``)."""
        return self.folder / kind / f"r{int(self.meta.get('runs', 0)):05d}.parquet"

    def drop_file(self, file_no: int) -> None:
        """Forget the batches of one file (its stream turned out irregular: read again carefully)."""
        for kind in (*KINDS, "quarantine"):
            for f in (self.folder / kind).glob(f"{file_no:05d}_*.*"):
                f.unlink()

    def write_batch(self, file_no: int, batch_no: int, batch, raw: pd.DataFrame) -> None:
        """Write one normalised batch (``etl.patents.CandidateBatch``, ``_pos`` already global)."""
        _write(batch.patents, PATENTS_STAGED, self.path("patents", file_no, batch_no), "patents")
        _write(batch.applicant_links, LINKS_SCHEMA, self.path("links", file_no, batch_no))
        _write(batch.first_addresses, FIRST_SCHEMA, self.path("first", file_no, batch_no))
        _write(batch.citation_refs, REFS_SCHEMA, self.path("refs", file_no, batch_no))
        p = self.path("raw", file_no, batch_no).with_suffix(".arrow")
        p.parent.mkdir(parents=True, exist_ok=True)
        table = raw if isinstance(raw, pa.Table) else pa.Table.from_pandas(raw, preserve_index=False)
        with pa.OSFile(str(p), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)  # Arrow IPC: written as it is, read back memory-mapped (module docstring)
        from citynet.transaction import settle_early

        for kind in KINDS:  # final: on disk and hashed while the next batches are read
            settle_early(p if kind == "raw" else self.path(kind, file_no, batch_no))

    def write_quarantine(self, file_no: int, frames: list[pd.DataFrame]) -> None:
        """The rows of one file rejected before the duplicate rule (kept for ``--append``)."""
        p = self.folder / "quarantine" / f"{file_no:05d}_q.parquet"
        p.parent.mkdir(parents=True, exist_ok=True)
        if frames:
            t = pd.concat(frames, ignore_index=True)
            t = t.astype({c: "string[pyarrow]" for c in t.columns if c != "source_row"})
            pq.write_table(pa.Table.from_pandas(t, preserve_index=False), p)

    def quarantine_frames(self) -> list[pd.DataFrame]:
        out = []
        for f in sorted((self.folder / "quarantine").glob("*.parquet")):
            t = pq.read_table(f).to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"),
                                                        pa.large_string(): pd.StringDtype("pyarrow")}.get)
            out.append(t)
        return out


    def add_transfer_file(self, entry: dict, frame: pd.DataFrame, malformed: list) -> None:
        """Keep one transfer file's mapped records (transfers are few: re-checked whole on ``--append``)."""
        n = len(self.meta["transfer_files"])
        p = self.folder / "transfers" / f"{n:05d}.parquet"
        p.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), p)
        self.meta["transfer_files"].append({"entry": dict(entry), "malformed": [list(m) for m in malformed]})

    def transfer_files(self):
        """``(report entry, records, malformed rows)`` of the transfer files kept in the state, in order."""
        for n, t in enumerate(list(self.meta["transfer_files"])):
            frame = pq.read_table(self.folder / "transfers" / f"{n:05d}.parquet").to_pandas(
                types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
            yield dict(t["entry"]), frame, [tuple(m) for m in t["malformed"]]


# Staged files are written once and read once or twice by this ingest: no dictionary pages, no column
# statistics, LZ4 for the wide patent rows (a batch's writes cost about half of Parquet's defaults).
_FAST = {"use_dictionary": False, "write_statistics": False}
_WRITE_OPTS = {"patents": {**_FAST, "compression": "lz4"}}


def _file_no(batch_file: Path) -> int:
    """The input file number of a staged batch file (``F_B.parquet``, :meth:`State.path`)."""
    return int(batch_file.stem.split("_")[0])


def write_state_file(path: Path, table: pa.Table, **options) -> None:
    """``table`` written to ``path`` as a new file: aside, then renamed into place — never through a hard
    link to the published state (``ingest --append`` links the unchanged state into its staging folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, **options)
    tmp.replace(path)


def _write(frame: pd.DataFrame | pa.Table, schema: pa.Schema, path: Path, kind: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame[schema.names], preserve_index=False)
    pq.write_table(table.select(schema.names).cast(schema), path,
                   **_WRITE_OPTS.get(kind, {**_FAST, "compression": "none"}))


def _connect(settings: StreamSettings):
    """A DuckDB connection for one corpus step (``etl/duckdb_scratch.py``: an empty catalog of its own, this
    thread's instance) within ``settings``' memory limit and threads; a context manager."""
    from citynet.etl.duckdb_scratch import scratch

    return scratch(settings.memory_limit, settings.threads)


DUPS_SCHEMA = pa.schema([("_pos", pa.int64()), ("kept_row", pa.int64()), ("patent_id", _STR), ("kept_file", _STR)])


def duplicates(state: State, settings: StreamSettings, new_from: int | None = None) -> pd.DataFrame:
    """The duplicate rule over every staged record: for each application number the record with the most
    non-empty fields is kept, ties to the earliest ``_pos``. Returns the others (``_pos``, ``kept_row`` and
    ``kept_file``: the kept record's row and its file, ``patent_id``), sorted by ``_pos``, and keeps them in the state
    (``dups/``). DuckDB, out of core.

    ``new_from`` (``ingest --append``: the first file number of this ingest): the rule is decided again only
    for the application numbers of the new files (a semi-join); every other number has the same records as
    before, so its duplicates are the ones the state kept."""
    files = state.files_of("patents")
    if not files:
        return pd.DataFrame({"_pos": np.array([], dtype=np.int64), "kept_row": np.array([], dtype=np.int64),
                             "patent_id": np.array([], dtype=object), "kept_file": np.array([], dtype=object)})
    before = state.files_of("dups")
    if before and "kept_file" not in pq.read_schema(before[-1]).names:
        new_from = None  # a state kept by an older citynet (no kept_file): the rule decided again over every record
    new_files = state.files_split("patents", new_from)[1]
    # the window sorts only the records whose number is not unique (a hash count finds them): the others
    # are kept whatever the rule, and sorting every record by number cost twice the CPU. The kept record's
    # input file is that of its staged file (DuckDB's filename, one value per file: carrying source_file
    # through the window cost three times as much CPU as the filename at 2 % duplicates)
    window = """WITH r_ AS ({rows}),
                shared_ AS (SELECT patent_id FROM r_ GROUP BY patent_id HAVING count(*) > 1)
                SELECT _pos, kept_row, patent_id, inputs_.input AS kept_file FROM (
                  SELECT _pos, patent_id,
                         first_value(_pos) OVER w AS kept_pos,
                         first_value(source_row) OVER w AS kept_row,
                         first_value(filename) OVER w AS kept_staged
                  FROM (SELECT * FROM r_ SEMI JOIN shared_ USING (patent_id))
                  WINDOW w AS (PARTITION BY patent_id ORDER BY _filled DESC, _pos ASC)
                ) LEFT JOIN inputs_ ON inputs_.staged = kept_staged WHERE _pos <> kept_pos"""
    cols = "_pos, patent_id, _filled, source_row, filename"
    entries = state.meta["files"]  # the patent files' report entries, by input file number (State.path)
    inputs = pa.table({"staged": [str(f) for f in files],
                       "input": [entries[n]["file"] if n < len(entries) else None for n in map(_file_no, files)]},
                      schema=pa.schema([("staged", pa.string()), ("input", pa.string())]))
    read = f"read_parquet({sql_string_list(files)}, filename=true)"
    with _connect(settings) as con:
        con.register("inputs_", inputs)
        if new_from is not None and before:
            con.execute(f"CREATE TABLE new_ids AS SELECT DISTINCT patent_id FROM read_parquet({sql_string_list(new_files)})"
                        if new_files else "CREATE TABLE new_ids (patent_id VARCHAR)")
            touched = window.format(rows=f"SELECT {cols} FROM {read} SEMI JOIN new_ids USING (patent_id)")
            query = f"""SELECT * FROM ({touched}) UNION ALL
                        SELECT _pos, kept_row, patent_id, kept_file FROM read_parquet({sql_string_list(before[-1:])}) ANTI JOIN new_ids USING (patent_id)
                        ORDER BY _pos"""
        else:
            query = window.format(rows=f"SELECT {cols} FROM {read}") + " ORDER BY _pos"
        dup = con.sql(query).to_arrow_table().cast(DUPS_SCHEMA)
    write_state_file(state.run_file("dups"), dup)
    for f in before:  # only the newest is read; the older ones are not carried (they are not in this state)
        f.unlink()
    return pd.DataFrame({"_pos": dup.column("_pos").to_numpy(), "kept_row": dup.column("kept_row").to_numpy(),
                         "patent_id": dup.column("patent_id").to_numpy(zero_copy_only=False),
                         "kept_file": dup.column("kept_file").to_numpy(zero_copy_only=False)})


def quarantine_duplicates(state: State, dups: pd.DataFrame, quarantine) -> None:
    """Quarantine the raw fields of the duplicate records (reason ``duplicate``, ``kept row N of FILE``: the
    record kept for the application number, which may be in another input file)."""
    if dups.empty:
        return
    dpos = sorted_positions(dups["_pos"])
    kept = dups.set_index("_pos")
    kept = "kept row " + kept["kept_row"].astype(str) + (" of " + kept["kept_file"].astype(str)).where(
        kept["kept_file"].notna(), "")
    for f in state.files_of("raw"):
        t = pa.ipc.open_file(pa.memory_map(str(f))).read_all() if f.suffix == ".arrow" else pq.read_table(f)
        sel = in_sorted(t.column("_pos"), dpos)
        if sel is None or not pc.any(sel).as_py():
            continue
        rows = t.filter(sel).to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
        detail = rows["_pos"].map(kept)
        quarantine.add(rows.drop(columns="_pos"), "duplicate", "app_number", detail)


def write_kept(state: State, kind: str, dups: pd.DataFrame, schema: pa.Schema, path: Path | None,
               columns: list[str] | None = None) -> pa.Table | None:
    """The staged rows of ``kind`` whose record is kept, in ``_pos`` order (the staged files are in that
    order already), cast to ``schema``: written batch by batch to ``path``, or returned when ``path`` is
    None (``columns``: only those)."""
    writer = None
    parts = []
    try:
        for t in _kept_tables(state.files_of(kind), dups, schema, columns):
            if path is None:
                parts.append(t)
                continue
            if writer is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(path, schema)
            if t.num_rows:
                writer.write_table(t)
        if path is not None and writer is None:
            pq.write_table(schema.empty_table(), path)
    finally:
        if writer is not None:
            writer.close()
    if path is None:
        return pa.concat_tables(parts) if parts else schema.empty_table()
    return None


def _kept_batches(files: list[Path], dups: pd.DataFrame, columns: list[str] | None = None):
    """The staged rows of ``files`` whose record is kept (not in ``dups``), one table per file in their
    order (``columns``: only those and ``_pos`` are read)."""
    dpos = sorted_positions(dups["_pos"])
    for f in files:
        t = pq.read_table(f, columns=None if columns is None else [*columns, "_pos"])
        hit = in_sorted(t.column("_pos"), dpos)
        yield t if hit is None else t.filter(pc.invert(hit))


def sorted_positions(positions) -> np.ndarray:
    """Record positions (``_pos``: a numpy array or Series) as a sorted int64 array for :func:`in_sorted`."""
    return np.sort(np.asarray(positions, dtype=np.int64))


def in_sorted(pos: pa.Array | pa.ChunkedArray, sorted_pos: np.ndarray) -> pa.Array | None:
    """``pc.is_in(pos, sorted_pos)`` for the ``_pos`` of one staged file or batch (one stretch of the corpus):
    only the positions of ``sorted_pos`` (:func:`sorted_positions`) within the stretch's range are put in the
    hash table; None when there are none. A hash table of every duplicate per file cost 1.5 s over the 99
    files of 10M patents (docs/scale.md, session 20)."""
    if not len(sorted_pos) or not len(pos):
        return None
    lo, hi = pc.min_max(pos).values()
    mine = sorted_pos[np.searchsorted(sorted_pos, lo.as_py()):np.searchsorted(sorted_pos, hi.as_py(), side="right")]
    return pc.is_in(pos, value_set=pa.array(mine)) if len(mine) else None


def _kept_tables(files: list[Path], dups: pd.DataFrame, schema: pa.Schema, columns: list[str] | None = None):
    """:func:`_kept_batches` cast to ``schema``."""
    for t in _kept_batches(files, dups, columns):
        yield t.select(schema.names).cast(schema)


def _in_year_order(files: list[Path]) -> bool:
    """Whether the staged patent rows of ``files`` (in corpus order) have non-decreasing ``app_year`` and no
    missing one: then corpus order is already the order of ``patents.parquet`` (year, then position), for
    every subset of the rows too. Exports sorted by date are (the synthetic ones are); reads one small
    column per file."""
    last = None
    for f in files:
        y = pq.read_table(f, columns=["app_year"]).column("app_year")
        if y.null_count:
            return False
        if not len(y):
            continue
        a = y.to_numpy()
        if (last is not None and a[0] < last) or bool((np.diff(a) < 0).any()):
            return False
        last = a[-1]
    return True


PATENT_ROW_GROUP = 131_072  # rows per row group of patents.parquet at most (never two years in one)


def write_patents(state: State, dups: pd.DataFrame, path: Path, settings: StreamSettings,
                  previous: Path | None = None, new_from: int | None = None, gone: pa.Array | None = None) -> None:
    """``patents.parquet``: the kept staged patent rows sorted by ``app_year``, then by their position in
    the corpus (file order, then row), in row groups that never hold two years (at most
    :data:`PATENT_ROW_GROUP` rows) — so a reader that filters one year touches only that year's row
    groups (Parquet min/max statistics). One DuckDB sort (memory limit, spilling), written batch by batch;
    none when the staged rows are in year order already (:func:`_in_year_order`): they are then read file
    by file in corpus order, which is the sorted order, and cut into the same row groups.

    ``previous`` (``ingest --append``: the table of the corpus before, ``new_from``: the first file number of
    this ingest): only the new files' kept rows are sorted; the previous table is read row group by row
    group (already in this order: a new record comes after every old one of its year), without the rows
    whose application number a new record now holds, and the new rows of each year go after the old
    ones. The same rows in the same order, cut into the same row groups as a sort of the whole corpus.
    ``gone``: the application numbers of the previous rows that a new record replaces (None: every number
    of a new record is looked for)."""
    schema = CANONICAL["patents"]
    cols = ", ".join(f'"{n}"' for n in schema.names)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not state.files_of("patents"):
        pq.write_table(schema.empty_table(), path)
        return
    if previous is None and _in_year_order(state.files_of("patents")):  # no sort: read in corpus order
        with pq.ParquetWriter(path, schema) as writer:
            _write_year_groups(writer, _kept_tables(state.files_of("patents"), dups, schema), schema)
        return
    with _connect(settings) as con, pq.ParquetWriter(path, schema) as writer:
        if previous is None:
            rel = _kept_glob(state, "patents", dups, con)
            reader = con.sql(f"SELECT {cols} FROM {rel} ORDER BY app_year, _pos").to_arrow_reader(PATENT_ROW_GROUP)
            _write_year_groups(writer, (pa.Table.from_batches([b]) for b in reader), schema)
        else:
            new_files = state.files_split("patents", new_from)[1]
            new = schema.empty_table()
            if new_files:
                rel = _kept_glob(state, "patents", dups, con, files=new_files)
                new = con.sql(f"SELECT {cols} FROM {rel} ORDER BY app_year, _pos").to_arrow_table().cast(schema)
            _write_year_groups(writer, _merged_by_year(previous, new, gone), schema)


def _merged_by_year(previous: Path, new: pa.Table, gone: pa.Array | None = None):
    """The rows of ``previous`` (a ``patents.parquet``, one year per row group) without those whose
    ``patent_id`` is in ``new`` (``gone``: those numbers, when known — the replaced records', far fewer than
    the new ones), with ``new`` (sorted by ``app_year``) after each year's old rows."""
    far = np.iinfo(np.int64).max  # a null year sorts last, as in DuckDB's ORDER BY
    years = pc.fill_null(new.column("app_year").cast(pa.int64()), far).to_numpy()
    taken = gone if gone is not None else pc.unique(new.column("patent_id").combine_chunks()) if new.num_rows else None
    taken = taken if taken is not None and len(taken) else None
    pf = pq.ParquetFile(previous)
    done = 0
    for g in range(pf.num_row_groups):
        t = pf.read_row_group(g)
        if not t.num_rows:
            continue
        y = t.column("app_year")[0].as_py()
        upto = int(np.searchsorted(years, far if y is None else y, side="left"))
        if upto > done:  # the new rows of the years before this group's
            yield new.slice(done, upto - done)
            done = upto
        if taken is not None:
            t = t.filter(pc.invert(pc.is_in(t.column("patent_id"), value_set=taken)))
        yield t
    if done < new.num_rows:
        yield new.slice(done)


def _write_year_groups(writer, tables, schema: pa.Schema) -> None:
    """Write a stream of patent rows sorted by year as row groups that never hold two years: the stream is
    cut into batches of :data:`PATENT_ROW_GROUP` rows by position (so the groups do not depend on how the
    rows arrived), each batch split where the year changes, and consecutive parts of one year joined while
    they fit in one group."""
    pending: list[pa.Table] = []
    held, year = 0, None

    def put(t: pa.Table) -> None:
        nonlocal pending, held, year
        y = t.column("app_year").to_numpy(zero_copy_only=False)
        cuts = [0, *(np.flatnonzero(np.diff(y)) + 1).tolist(), len(y)]
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            if b == a:
                continue
            part = t.slice(a, b - a)
            if pending and (int(y[a]) != year or held + part.num_rows > PATENT_ROW_GROUP):
                writer.write_table(pa.concat_tables(pending), row_group_size=PATENT_ROW_GROUP)
                pending, held = [], 0
            pending.append(part)
            held += part.num_rows
            year = int(y[a])

    for batch in _rechunked((t.cast(schema) for t in tables), PATENT_ROW_GROUP):
        put(batch)
    if pending:
        writer.write_table(pa.concat_tables(pending), row_group_size=PATENT_ROW_GROUP)


def patent_summary(path: Path | pa.Table) -> dict:
    """What the ingest report says about ``patents.parquet``: counts by kind, granted, green, Y02, years,
    rows per source file (read column by column; ties in counts keep the order of the first record, so
    give the rows in corpus order: a table, or a Parquet file in that order)."""
    cols = ["patent_kind", "granted", "green", "y02", "app_year", "source_file"]
    t = path.select(cols) if isinstance(path, pa.Table) else pq.read_table(path, columns=cols)
    n = t.num_rows

    def counts(col):
        vc = pc.value_counts(t.column(col)).to_pylist() if n else []
        return sorted(((d["values"], d["counts"]) for d in vc), key=lambda kv: (-kv[1],))

    years = t.column("app_year")
    return {
        "count": n,
        "by_kind": {k: int(v) for k, v in counts("patent_kind")},
        "granted": int(pc.sum(t.column("granted")).as_py() or 0),
        "green_wipo": int(pc.sum(t.column("green")).as_py() or 0),
        "y02": int(pc.sum(t.column("y02")).as_py() or 0),
        "years": [int(pc.min(years).as_py()), int(pc.max(years).as_py())] if n else [],
        "by_file": {k: int(v) for k, v in counts("source_file")},
    }


def resolve_citations(state: State, dups: pd.DataFrame, out: Path, settings: StreamSettings,
                      previous: Path | None = None, new_from: int | None = None,
                      old_dups: np.ndarray | None = None, dropped: np.ndarray | None = None) -> dict:
    """``citations.parquet`` from the staged references of the kept records, one staged batch at a time
    (``etl.patents.resolve_references``); the corpus's publication-number stems and application numbers
    are DuckDB tables (memory limit, spilling). Returns the counts for the ingest report.

    ``previous`` (``ingest --append``: the citations table of the corpus before; ``new_from``: the first file
    number of this ingest; ``old_dups``: the duplicates' positions then; ``dropped``: the earlier records that
    are duplicates now): the earlier references are the previous table's rows (:class:`_OldCitations`),
    only those whose answer can have changed joined again; the new files' references are joined whole."""
    from citynet.etl.patents import CITED_STEM

    schema = CANONICAL["citations"]
    counts = {"count": 0, "in_corpus": 0, "foreign": 0}
    dpos = sorted_positions(dups["_pos"])
    refs = state.files_of("refs")
    for f in refs:
        if not (state.folder / "cites" / f.name).is_file():
            ref_keys(state, f, pq.read_table(f))
    with _connect(settings) as con:
        writer = pq.ParquetWriter(out, schema)
        try:
            kept = _kept_glob(state, "patents", dups, con)  # corpus order (_pos), not the table's year order
            old = None
            if previous is not None and old_dups is not None and dropped is not None:
                old = _OldCitations(state, dups, con, previous, new_from, old_dups, dropped)
                refs = state.files_split("refs", new_from)[1] if old.usable else refs
                old = old if old.usable else None
            # the look-ups hold only what some reference asks for (every batch joins them: a table of the
            # whole corpus made each batch's join cost as much as the corpus)
            keys = [state.folder / "cites" / f.name for f in refs]
            asked = " UNION ALL ".join(
                ([f"SELECT stem, pid FROM read_parquet({sql_string_list(keys)})"] if keys else [])
                + (["SELECT stem, pid FROM old_asked_"] if old is not None else [])) \
                or "SELECT NULL::VARCHAR AS stem, NULL::VARCHAR AS pid"
            con.execute(f"CREATE TABLE asked_stems AS SELECT DISTINCT stem FROM ({asked}) WHERE stem <> ''")
            con.execute(f"CREATE TABLE asked_ids AS SELECT DISTINCT pid AS patent_id FROM ({asked}) WHERE pid IS NOT NULL")
            # the first patent (in corpus order) of each stem, as drop_duplicates("stem") keeps it
            con.execute(f"""
                CREATE TABLE pubs AS SELECT stem, cited FROM (
                  SELECT regexp_replace(coalesce(pub_number, ''), '{CITED_STEM}', '') AS stem,
                         patent_id AS cited, _pos AS rn
                  FROM {kept})
                SEMI JOIN asked_stems USING (stem)
                QUALIFY row_number() OVER (PARTITION BY stem ORDER BY rn) = 1""")
            con.execute(f"CREATE TABLE ids AS SELECT DISTINCT patent_id FROM {kept} SEMI JOIN asked_ids USING (patent_id)")
            con.execute("DROP TABLE asked_stems")  # only the look-ups are joined from here (the asked keys: 4.5
            con.execute("DROP TABLE asked_ids")    # million stems at 10M, beside locating)

            def tables():
                if old is not None:
                    yield from old.tables(schema, dpos)
                for parts in _in_groups(_kept_refs(state, refs, dpos), JOINED_BATCHES):
                    yield from _resolve_batches(con, parts, schema)
                    del parts  # not held while the next group is read

            for table in tables():
                writer.write_table(table)
                counts["count"] += table.num_rows
                counts["in_corpus"] += table.num_rows - table.column("cited_patent_id").null_count
                counts["foreign"] += int(pc.sum(table.column("foreign")).as_py() or 0)
        finally:
            writer.close()
    return counts


class _OldCitations:
    """``ingest --append``: the citations of the earlier references from the previous table.

    The previous table holds, per earlier staged batch of references, the rows of the records kept then
    (``old_dups``: the duplicates then), in staged order, each with the answer of the look-ups then. Now the
    rows of the ``dropped`` records go, and a row's answer can change only where a look-up's answer did: a
    stem's first patent in corpus order changes only if that patent was dropped or no earlier patent had
    the stem (new records come after every earlier one), so only stems of dropped or new records; an
    application number is new to the corpus only if a new record holds it (a dropped record's number is
    held by the record that replaced it). So only the rows whose stem is one of those, or whose answer was
    none and whose number is new, are joined again (their keys: DuckDB table ``old_asked_``, which the
    look-ups must hold too). ``usable`` is False when the previous table does not have the rows this
    expects (then every reference is joined again)."""

    def __init__(self, state: State, dups: pd.DataFrame, con, previous: Path, new_from: int, old_dups: np.ndarray,
                 dropped: np.ndarray):
        from citynet.etl.patents import CITED_STEM

        self.state, self.con, self.previous = state, con, previous
        self.files = state.files_split("refs", new_from)[0]
        self.old_dups, self.dropped = sorted_positions(old_dups), sorted_positions(dropped)
        stem = f"regexp_replace(coalesce(pub_number, ''), '{CITED_STEM}', '')"
        old_patents, new_patents = state.files_split("patents", new_from)
        changed = ["SELECT NULL::VARCHAR AS stem, NULL::VARCHAR AS patent_id WHERE false"]
        if new_patents:
            changed.append(f"SELECT {stem} AS stem, patent_id FROM {_kept_glob(state, 'patents', dups, con, new_patents)}")
        if len(dropped) and old_patents:
            con.register("dropped_", pa.table({"_pos": self.dropped}))
            changed.append(f"SELECT {stem} AS stem, NULL AS patent_id FROM read_parquet({sql_string_list(old_patents)}) "
                           "SEMI JOIN dropped_ USING (_pos)")
        keys = [state.folder / "cites" / f.name for f in self.files]
        self.usable = previous.is_file() and all(  # the keys resolve_citations wrote before this
            pq.read_metadata(k).num_rows == pq.read_metadata(f).num_rows for f, k in zip(self.files, keys, strict=True))
        if not self.usable or not keys:
            self.stems = self.numbers = pa.array([], pa.large_string())
        else:  # only the changed stems and new numbers some earlier reference asks for: one hash join, small sets
            con.execute(f"CREATE TEMP TABLE changed_ AS {' UNION ALL '.join(changed)}")
            asked = f"read_parquet({sql_string_list(keys)})"
            self.stems = con.sql(f"SELECT DISTINCT stem FROM {asked} SEMI JOIN changed_ USING (stem) WHERE stem <> ''"
                                 ).to_arrow_table().column(0).combine_chunks().cast(pa.large_string())
            self.numbers = con.sql(f"SELECT DISTINCT pid FROM {asked} SEMI JOIN changed_ ON changed_.patent_id = pid"
                                   ).to_arrow_table().column(0).combine_chunks().cast(pa.large_string())
        if self.usable:
            self._find_again()

    def _batch(self, f: Path) -> tuple[int, pa.Array | None, pa.Table]:
        """One earlier staged batch: how many rows the previous table has of it (its records kept then),
        which of those are kept now (None: all), and their keys (:func:`ref_keys`) kept now."""
        pos = pq.read_table(f, columns=["_pos"]).column("_pos")
        keys = pq.read_table(self.state.folder / "cites" / f.name)  # written by resolve_citations before this
        if keys.num_rows != len(pos):
            keys = ref_keys(self.state, f, pq.read_table(f))
        hit = in_sorted(pos, self.old_dups)
        if hit is not None:
            keys, pos = keys.filter(pc.invert(hit)), pos.filter(pc.invert(hit))
        gone = in_sorted(pos, self.dropped)
        keep = None if gone is None else pc.invert(gone)
        return keys.num_rows, keep, keys if keep is None else keys.filter(keep)

    def _find_again(self) -> None:
        """Per earlier batch (``batches``): its rows in the previous table, which are kept now, and the
        candidates to join again (their indices among the rows kept now, keys, and whether the stem is
        a changed one: the others are joined again only if their answer was none); the candidates' keys
        as DuckDB table ``old_asked_`` (the look-ups must hold them). ``usable`` False when the previous
        table's rows do not add up."""
        left = pq.ParquetFile(self.previous).metadata.num_rows
        self.batches = []
        for f in self.files:
            n, keep, keys = self._batch(f)
            if n > left:
                self.usable = False
                return
            left -= n
            stem = pc.is_in(keys.column("stem"), value_set=self.stems)
            cand = pc.or_(stem, pc.fill_null(pc.is_in(keys.column("pid"), value_set=self.numbers), False))
            idx = pa.array(np.flatnonzero(cand.to_numpy(zero_copy_only=False)), pa.int64())
            self.batches.append((n, keep, idx, keys.take(idx), stem.take(idx)))
        self.usable = left == 0
        self.con.register("old_asked_", pa.concat_tables([b[3] for b in self.batches]) if self.batches
                          else REF_KEYS.empty_table())

    def tables(self, schema: pa.Schema, dpos: np.ndarray):
        """The earlier references' rows of the citations table now, one table per staged batch (``dpos``: the
        duplicates now), each column in the chunks the whole join gives (:func:`_resolve_batch`: the citing
        numbers as read from the batch, the rest one chunk), so the file's pages are cut where they were."""
        rows = _sliced(pq.ParquetFile(self.previous), ["cited_ref", "cited_patent_id", "foreign"])
        for f, (n, keep, idx, keys, stem) in zip(self.files, self.batches, strict=True):
            prev = rows(n)
            if keep is not None:
                prev = prev.filter(keep)
            if not prev.num_rows:
                continue
            cited = prev.column("cited_patent_id").combine_chunks().cast(schema.field("cited_patent_id").type)
            again = pc.or_(stem, pc.is_null(cited.take(idx)))  # a changed stem, or a new number and no answer
            idx, keys = idx.filter(again), keys.filter(again)
            if len(idx):
                redone = _resolve_batch(self.con, prev.take(idx).append_column("citing_patent_id", pa.nulls(len(idx), _STR)),
                                        keys, schema)
                mask = np.zeros(len(cited), dtype=bool)
                mask[idx.to_numpy()] = True
                cited = pc.replace_with_mask(cited, pa.array(mask), redone.column("cited_patent_id").combine_chunks())
            t = pq.read_table(f, columns=["citing_patent_id", "_pos"])
            hit = in_sorted(t.column("_pos"), dpos)
            t = t if hit is None else t.filter(pc.invert(hit))
            yield pa.table({"citing_patent_id": t.column("citing_patent_id"),
                            "cited_ref": prev.column("cited_ref").combine_chunks(), "cited_patent_id": cited,
                            "foreign": prev.column("foreign").combine_chunks()}).cast(schema)


def _sliced(pf: pq.ParquetFile, columns: list[str] | None = None):
    """A function that returns the next ``n`` rows of ``pf`` (``columns``: only those), read batch by batch."""
    batches = pf.iter_batches(batch_size=65_536, columns=columns)
    empty = pf.schema_arrow.empty_table()
    buf: list[pa.Table] = [empty.select(columns) if columns else empty]
    held = 0

    def take(n: int) -> pa.Table:
        nonlocal buf, held
        while held < n:
            b = pa.Table.from_batches([next(batches)])
            buf.append(b)
            held += b.num_rows
        whole = pa.concat_tables(buf)
        buf, held = [whole.slice(n)], held - n
        return whole.slice(0, n)

    return take


REF_KEYS = pa.schema([("stem", pa.large_string()), ("pid", pa.large_string())])


def ref_keys(state: State, refs_file: Path, t: pa.Table) -> pa.Table:
    """Per staged reference of ``refs_file`` (rows ``t``): its publication-number ``stem`` and, for a
    ``CN``/``ZL`` reference, its normalised application number ``pid`` (null when not one). Functions of the
    reference alone (Arrow regular expressions, the check digit), computed once and kept in the state
    (``cites/``, same file name as the batch), so ``ingest --append`` only joins the old references to the
    corpus again."""
    from citynet.etl.normalize import app_numbers_arrow
    from citynet.etl.patents import CITED_STEM

    path = state.folder / "cites" / refs_file.name
    if path.is_file():
        keys = pq.read_table(path)
        if keys.num_rows == t.num_rows:
            return keys
    ref = t.column("cited_ref").combine_chunks().cast(pa.large_string())
    stems = pc.replace_substring_regex(pc.fill_null(ref, ""), CITED_STEM, "")
    chinese = pc.fill_null(pc.or_(pc.starts_with(ref, "CN"), pc.starts_with(ref, "ZL")), False)
    pid = pa.nulls(len(ref), pa.large_string())
    if pc.any(chinese).as_py():
        found, _ = app_numbers_arrow(ref.filter(chinese))
        idx = np.flatnonzero(chinese.to_numpy(zero_copy_only=False))
        pid = pc.take(found, pa.array(np.searchsorted(idx, np.arange(len(ref))).clip(0, len(idx) - 1)))
        pid = pc.if_else(chinese, pid, pa.scalar(None, pa.large_string()))
    keys = pa.table([stems, pid], schema=REF_KEYS)
    write_state_file(path, keys, **_FAST, compression="none")
    return keys


def _kept_refs(state: State, refs: list[Path], dpos: np.ndarray):
    """Per staged batch of references in ``refs`` that has a kept record (not at a position in ``dpos``):
    its kept rows and their keys (:func:`ref_keys`)."""
    for f in refs:
        t = pq.read_table(f)
        keys = ref_keys(state, f, t)
        hit = in_sorted(t.column("_pos"), dpos)
        if hit is not None:
            keep = pc.invert(hit)
            t, keys = t.filter(keep), keys.filter(keep)
        if t.num_rows:
            yield t, keys


JOINED_BATCHES = 4  # staged batches joined to the look-ups at once (one hash table each time; more: more memory)


def _resolve_batches(con, parts: list[tuple[pa.Table, pa.Table]], schema: pa.Schema):
    """:func:`_resolve_batch` of each (references, keys) of ``parts``, one table per part, from one join of
    them all: every join builds its hash tables of the look-ups (millions of stems at 10M patents), so
    joining :data:`JOINED_BATCHES` staged batches at once builds them that many times less often. Each
    part's rows are a slice of the joined table, one chunk per column as a join of the part alone gives
    (the file's pages are the same)."""
    if len(parts) <= 1:
        yield from (_resolve_batch(con, t, keys, schema) for t, keys in parts)
        return
    whole = _resolve_batch(con, pa.concat_tables([t for t, _ in parts]), pa.concat_tables([k for _, k in parts]),
                           schema)
    at = 0
    for t, _ in parts:
        yield whole.slice(at, t.num_rows)
        at += t.num_rows


def _resolve_batch(con, t: pa.Table, keys: pa.Table, schema: pa.Schema) -> pa.Table:
    """``etl.patents.resolve_references`` on one batch of references, its look-ups in DuckDB (``pubs``:
    stem → first patent in corpus order; ``ids``: the corpus's application numbers) on the references'
    keys (:func:`ref_keys`): by publication-number stem, else — for a ``CN``/``ZL`` reference — by its
    normalised application number when that is a corpus patent; ``foreign`` when it does not start with
    ``CN``/``ZL``."""
    ref = t.column("cited_ref").combine_chunks().cast(pa.large_string())
    con.register("b_", pa.table({"i": np.arange(len(ref)), "stem": keys.column("stem"), "pid": keys.column("pid")}))
    cited = con.sql("""SELECT coalesce(p.cited, d.patent_id) FROM b_ LEFT JOIN pubs p ON p.stem = b_.stem
                       LEFT JOIN ids d ON d.patent_id = b_.pid ORDER BY b_.i""").to_arrow_table()
    con.unregister("b_")
    cited = cited.column(0).combine_chunks().cast(pa.large_string())
    chinese = pc.or_(pc.starts_with(ref, "CN"), pc.starts_with(ref, "ZL"))
    return pa.table({"citing_patent_id": t.column("citing_patent_id"), "cited_ref": ref, "cited_patent_id": cited,
                     "foreign": pc.invert(chinese)}).cast(schema)


def _kept_glob(state: State, kind: str, dups: pd.DataFrame, con, files: list[Path] | None = None) -> str:
    """A DuckDB relation text: the staged rows of ``kind`` (or of ``files``) whose record is kept (``dups``
    registered)."""
    con.register("dups_", pa.table({"_pos": pa.array(dups["_pos"].to_numpy(), pa.int64())}))
    return f"(SELECT * FROM read_parquet({sql_string_list(state.files_of(kind) if files is None else files)}) " \
           "ANTI JOIN dups_ USING (_pos))"


def name_counts(state: State, dups: pd.DataFrame, more: pd.Series, settings: StreamSettings) -> pd.Series:
    """Mentions of each distinct applicant name: the kept records' applicant names and ``more`` (the
    transfer records' names), counted in DuckDB. Index: name; values: mentions."""
    more = pa.table({"name": pa.array(more.dropna().astype(object).to_numpy(), pa.string())})
    with _connect(settings) as con:
        con.register("more_", more)
        if state.files_of("links"):
            rel = _kept_glob(state, "links", dups, con)
            names = f"SELECT name FROM {rel} UNION ALL SELECT name FROM more_"
        else:
            names = "SELECT name FROM more_"
        t = con.sql(f"SELECT name, count(*) AS n FROM ({names}) WHERE name IS NOT NULL GROUP BY name").to_arrow_table()
    return pd.Series(t.column("n").to_numpy().astype(np.int64), index=pd.Index(t.column("name").to_pylist(), dtype=object),
                     name="count")


VOTES_SCHEMA = pa.schema([("name", _STR), ("status", _STR), ("city_code", _STR), ("province_code", _STR),
                          ("country", _STR), ("n", pa.int64())])


def locate(state: State, dups: pd.DataFrame, names: pd.DataFrame, transfer_addr: pd.DataFrame,
           applicants: pd.DataFrame, settings: StreamSettings, new_from: int | None = None,
           dropped: np.ndarray | None = None) -> pd.DataFrame:
    """``etl.locate.locate_from_relation`` over the kept records' first addresses (staged, read by DuckDB)
    and the transfer records' addresses (``name``, ``address``; no province code), each name mapped to
    its ``applicant_id`` by ``names`` (``name``, ``applicant_id``). Out of core: memory is DuckDB's limit
    plus one row per applicant.

    The records' votes are counted per *name* (status, city, province, country: records) and kept in the
    state (``votes/``), and summed per applicant through ``names``. ``new_from`` (``ingest --append``: the
    first file number of this ingest) and ``dropped`` (the positions of earlier records that are
    duplicates now): the votes kept by the ingest before, plus the new files' kept records, minus the
    dropped records — only those records' addresses are read and parsed — which is the count over every
    kept record (a name's votes do not depend on which applicant it belongs to)."""
    from citynet.etl.locate import ParsedPairs, address_votes, locate_from_relation

    before = state.files_of("votes")
    incremental = new_from is not None and dropped is not None and bool(before)
    with _connect(settings) as con:
        con.register("names_", pa.table({
            "name": pa.array(names["name"].astype(object).to_numpy(), pa.string()),
            "applicant_id": pa.array(names["applicant_id"].astype(object).to_numpy(), pa.string())}))
        con.register("tr_addr_", pa.table({
            "name": pa.array(transfer_addr["name"].astype(object).where(transfer_addr["name"].notna(), None)
                             .to_numpy(), pa.string()),
            "address": pa.array(transfer_addr["address"].astype(object).where(transfer_addr["address"].notna(), None)
                                .to_numpy(), pa.string())}))
        cols = "name, address, country_province AS province_hint"
        old_files, new_files = state.files_split("first", new_from if incremental else None)
        parts = ["SELECT NULL::VARCHAR AS name, NULL::VARCHAR AS address, NULL::VARCHAR AS province_hint, "
                 "NULL::VARCHAR AS src, 0 AS w WHERE false",
                 "SELECT name, address, '' AS province_hint, 't' AS src, 1 AS w FROM tr_addr_"]
        if new_files:
            parts.append(f"SELECT {cols}, 'r' AS src, 1 AS w FROM {_kept_glob(state, 'first', dups, con, new_files)}")
        if old_files and len(dropped):
            con.register("dropped_", pa.table({"_pos": pa.array(dropped, pa.int64())}))
            parts.append(f"SELECT {cols}, 'r' AS src, -1 AS w FROM read_parquet({sql_string_list(old_files)}) "
                         "SEMI JOIN dropped_ USING (_pos)")
        parsed = ParsedPairs(known=state.files_of("addr"), out=state.run_file("addr"))
        address_votes(con, " UNION ALL ".join(parts), "rows_votes", parsed=parsed, keys=("name", "src"), weight="w")
        kept = f"UNION ALL SELECT * FROM read_parquet({sql_string_list(before[-1:])})" if incremental else ""
        con.execute(f"""CREATE TABLE name_votes AS
            SELECT name, status, city_code, province_code, country, sum(n)::BIGINT AS n FROM (
              SELECT name, status, city_code, province_code, country, n FROM rows_votes WHERE src = 'r' {kept})
            GROUP BY ALL HAVING sum(n) <> 0""")
        write_state_file(state.run_file("votes"),
                         con.sql("SELECT * FROM name_votes ORDER BY ALL").to_arrow_table().cast(VOTES_SCHEMA))
        for f in before:
            f.unlink()
        con.execute("""CREATE TABLE loc_votes AS
            SELECT n.applicant_id, v.status, v.city_code, v.province_code, v.country, sum(v.n)::BIGINT AS n FROM (
              SELECT name, status, city_code, province_code, country, n FROM name_votes UNION ALL
              SELECT name, status, city_code, province_code, country, n FROM rows_votes WHERE src = 't') v
            LEFT JOIN names_ n USING (name) GROUP BY ALL""")
        return locate_from_relation(applicants, con, None)


PA_BATCH = 500_000  # rows per row group of patent_applicants.parquet


def _rechunked(tables, n: int):
    """The rows of a stream of Arrow tables in batches of exactly ``n`` (the last one shorter), each one
    chunk: the row groups of a table written batch by batch then do not depend on how the rows arrived."""
    buf: list[pa.Table] = []
    held = 0
    for t in tables:
        if not t.num_rows:
            continue
        buf.append(t)
        held += t.num_rows
        while held >= n:
            whole = pa.concat_tables(buf)
            yield whole.slice(0, n).combine_chunks()
            rest = whole.slice(n)
            buf, held = ([rest] if rest.num_rows else []), rest.num_rows
    if held:
        yield pa.concat_tables(buf).combine_chunks()


def index_in_many(values: pa.Array | pa.ChunkedArray, value_set: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``pc.index_in(values, value_set)`` (the first position in ``value_set`` of each value, null where
    none; ``value_set`` without nulls) for a ``value_set`` much larger than ``values``' distinct values,
    called batch after batch with the same ``value_set``. ``pc.index_in`` builds a hash table of
    ``value_set`` at every call: at 10M patents 800,000 applicant names for each of 100 staged batches,
    about 0.24 s a batch, one core (docs/scale.md, session 16). Here the hash table is of the batch's
    distinct values (``dictionary_encode``) and ``value_set`` is looked up in it: about 0.05 s a batch."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    enc = pc.dictionary_encode(values)  # null values: null indices
    where = pc.fill_null(pc.index_in(value_set, value_set=enc.dictionary), -1).to_numpy()
    hit = np.flatnonzero(where >= 0)
    found, first = np.unique(where[hit], return_index=True)  # the first position of each distinct value
    pos = np.full(len(enc.dictionary) + 1, -1, dtype=np.int32)  # the last one: a null value's
    pos[found] = hit[first]
    out = pos[pc.fill_null(enc.indices, -1).to_numpy()]
    return pa.array(out, mask=out < 0)


def _in_groups(items, n: int):
    """The items of a stream in lists of ``n`` (the last one shorter, none empty), in order."""
    held: list = []
    for item in items:
        held.append(item)
        if len(held) == n:
            yield held
            held = []
    if held:
        yield held


def _links_with_ids(files: list[Path], dups: pd.DataFrame, ids: pa.Table, id_of: pd.Series, city_of: pd.Series):
    """The staged applicant names of ``files`` whose record is kept, each with its ``applicant_id`` (None for a
    name without one) and that applicant's city, only the first (lowest ``seq``) of each (record, applicant):
    ``patent_id``, ``applicant_id``, ``seq``, ``city_code`` in staged order (``_pos``, then ``seq``), one
    table per :data:`JOINED_BATCHES` staged batches. Arrow and a hash of (record, applicant) per table — a
    record's names are all in one batch — instead of a join, a window and a sort of every link in DuckDB (same
    rows, same order); several batches at once look the names up that many times less often
    (:func:`index_in_many`)."""
    names, app_ids = ids.column("name"), id_of.to_numpy(dtype=object)  # ``ids``: id_of as Arrow (name, applicant_id)
    ids = ids.column("applicant_id")
    codes = pa.array(pd.factorize(app_ids, use_na_sentinel=True)[0].astype(np.int64))  # one per applicant_id
    cities = pa.array(city_of.reindex(app_ids).astype(object).where(lambda c: c.notna(), None).to_numpy(), pa.string())
    kept = (t for t in _kept_batches(files, dups, ["patent_id", "name", "seq"]) if t.num_rows)
    for t in (pa.concat_tables(g) for g in _in_groups(kept, JOINED_BATCHES)):
        at = index_in_many(t.column("name"), names)  # null: a name without an id
        code = pc.fill_null(pc.take(codes, at), -1).to_numpy()
        key = t.column("_pos").to_numpy() * (len(ids) + 2) + (code + 1)  # (record, applicant); no id: one group
        first = ~pd.Series(key).duplicated(keep="first").to_numpy()  # rows are in (_pos, seq) order
        rows = pa.array(np.flatnonzero(first))
        yield pa.table({"patent_id": t.column("patent_id").take(rows), "applicant_id": pc.take(ids, at).take(rows),
                        "seq": t.column("seq").take(rows), "city_code": pc.take(cities, at).take(rows)})


def _old_links(previous: Path, ids: pa.Table, cities: pa.Table, gone: pa.Array):
    """``ingest --append``: the rows of the previous ``patent_applicants.parquet`` (in the canonical folder
    ``previous``), one row group at a time in file order, without the records whose ``patent_id`` is in
    ``gone``, each ``applicant_id`` replaced by the id its names have now (``ids``: name, applicant_id) and
    its city (``cities``: applicant_id, city_code) looked up again. Arrow look-ups per row group: no join,
    no sort of the old links, memory of one row group (a DuckDB re-map ordered by row number held a
    gigabyte at 10M patents, docs/scale.md)."""
    names = pq.read_table(previous / "applicant_names.parquet", columns=["name", "applicant_id"])
    now = pc.take(ids.column("applicant_id"), pc.index_in(names.column("name").cast(pa.string()),
                                                          value_set=ids.column("name"), skip_nulls=True))
    pairs = pa.table({"old": names.column("applicant_id").cast(pa.string()), "new": now}).filter(
        pc.and_(pc.is_valid(now), pc.is_valid(names.column("applicant_id"))))
    pairs = pairs.group_by(["old", "new"], use_threads=False).aggregate([])  # the distinct (old id, id now)
    old, app_ids = pairs.column("old").combine_chunks(), pairs.column("new").combine_chunks()
    if len(pc.unique(old)) != len(old):  # harmonisation keeps an applicant's names together (docstring above)
        raise RuntimeError("ingest --append: an applicant of the corpus before has names in two applicants now")
    # each old id's city now, looked up once: per row group only the old ids are looked up, in a hash
    # table of the group's distinct ids (index_in_many), not of every id (two tables of 800,000 ids per
    # group of 500,000 links cost 0.7 s a group at 10M patents, docs/scale.md, session 20)
    city_of_old = pc.take(cities.column("city_code").combine_chunks(),
                          pc.index_in(app_ids, value_set=cities.column("applicant_id").combine_chunks(),
                                      skip_nulls=True))
    pf = pq.ParquetFile(previous / "patent_applicants.parquet")
    for g in range(pf.num_row_groups):
        t = pf.read_row_group(g, columns=["patent_id", "applicant_id", "seq"])
        if len(gone):
            t = t.filter(pc.invert(pc.is_in(t.column("patent_id"), value_set=gone)))
        at = index_in_many(t.column("applicant_id"), old)
        yield pa.table({"patent_id": t.column("patent_id"), "applicant_id": pc.take(app_ids, at),
                        "seq": t.column("seq"), "city_code": pc.take(city_of_old, at)})


def write_patent_applicants(state: State, dups: pd.DataFrame, id_of: pd.Series, city_of: pd.Series, out: Path,
                            previous: Path | None = None, new_from: int | None = None,
                            gone: pa.Array | None = None) -> dict:
    """``patent_applicants.parquet`` from the staged applicant names of the kept records, in their staged
    order (``_pos``, then ``seq``): each name's ``applicant_id`` (two variants of one firm on one patent:
    the first kept), its city: :func:`_links_with_ids`, one staged batch at a time, written in row groups
    of :data:`PA_BATCH` rows whatever the batches. Returns the counts of the ingest report.

    ``previous`` (``ingest --append``: the canonical folder of the corpus before, ``new_from``: the first file
    number of this ingest): the earlier records' rows are those of the previous table — without the records
    whose application number a new record now holds — with each ``applicant_id`` replaced by the id its
    names have now (harmonisation maps every name of an applicant to one key, so an applicant's names stay
    together and only its id can change: the first of each (record, applicant) is the same row) and its
    city looked up again (:func:`_old_links`); only the new files' names are looked up and windowed.
    ``gone``: the application numbers of the earlier records that a new record replaces (None: the new
    records' numbers, read)."""
    schema = CANONICAL["patent_applicants"]
    c = {"links": 0, "located": 0, "first": 0, "first_located": 0}
    with pq.ParquetWriter(out, schema) as writer:
        if not state.files_of("links"):
            return c
        ids = pa.table({"name": pa.array(id_of.index.to_numpy(dtype=object), pa.string()),
                        "applicant_id": pa.array(id_of.to_numpy(dtype=object), pa.string())})
        files = state.files_split("links", None if previous is None else new_from)[1]
        parts: list = []
        if previous is not None:
            cities = pa.table({"applicant_id": pa.array(city_of.index.to_numpy(dtype=object), pa.string()),
                               "city_code": pa.array(city_of.astype(object).where(city_of.notna(), None).to_numpy(),
                                                     pa.string())})
            if gone is None:
                new_patents = _kept_batches(state.files_split("patents", new_from)[1], dups, ["patent_id"])
                gone = pc.unique(pa.chunked_array([t.column("patent_id") for t in new_patents], pa.string()).combine_chunks())
            parts.append(_old_links(previous, ids, cities, gone))
        parts.append(_links_with_ids(files, dups, ids, id_of, city_of))
        for table in _rechunked((t for part in parts for t in part), PA_BATCH):
            table = table.cast(schema)
            writer.write_table(table)
            located = pc.is_valid(table.column("city_code"))
            first = pc.equal(table.column("seq"), 1)
            c["links"] += table.num_rows
            c["located"] += int(pc.sum(located).as_py() or 0)
            c["first"] += int(pc.sum(first).as_py() or 0)
            c["first_located"] += int(pc.sum(pc.and_(located, first)).as_py() or 0)
    return c
