"""The graph store interface and what both implementations share.

``open_store(ws)`` returns an :class:`EmbeddedStore` (LadybugDB under ``<ws>/store/``) or a
:class:`Neo4jStore` (Neo4j 5.26 over Bolt); both satisfy :class:`GraphStore`. All Cypher text comes
from ``cypher/`` (see ``cypher/__init__.py``); user values always travel as query parameters.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from citynet.graph.network_filter import NetworkFilter
from citynet.graph.reference import COUNT_COLUMNS, EDGE_COLUMNS, count_frame
from citynet.graph.tables import (
    ENTITIES,
    ENTITY,
    arrow_schema,
    canonical_rows,
    input_keys,
    isin,
    key_set,
)

from citynet import cypher
from citynet.errors import StoreError
from citynet.lazy_module import lazy_module

pd = lazy_module("pandas")

SCHEMA_VERSION = 1
NETWORKS = ("collab", "transfer", "citation")
Progress = Callable[[str, int, int], None]  # (stage, done, total)
FETCH_IDS = 50_000  # keys per store look-up of a load that prepared some partitions
# stored rows per fetch of some years' rows (embedded store): LadybugDB holds a query's result in its
# page cache, so all years of a 10M-patent corpus's APPLIED rows in one query overflowed the default
# 1GB [store] buffer_pool (session 12); the years are fetched in groups of about this many rows
FETCH_ROWS = 2_000_000
# A load that re-reads years holding at least 1/HASH_SHARE of a partitioned table's stored rows (an
# applicant re-located by an append's vote has links in every year) fetches the row hashes of every
# stored row instead of the years' keys and hashes: one scan of the table, about a ninth of the cost per
# row (at 1M patents 0.09 s against 0.81 s for the links); a prepared row whose hash is among them is
# stored as it is, and the few others are looked up one key each, while that costs less than fetching
# their years' keys: one look-up costs about as much as KEY_LOOKUP_ROWS fetched rows (docs/scale.md,
# "Fifth round (session 13): the load after an append")
HASH_SHARE = 8
# the store tables whose stored rows of canonical patents a load deletes when the canonical tables no
# longer have them (BaseStore._find_gone)
GONE_CHECKED = ("APPLIED", "CITES")
# the applicants a load found that the canonical tables no longer have and that this corpus wrote (merged
# into another by the names' harmonisation after an append): deleted, with their LOCATED_IN, once the load's
# links are written and none is left (BaseStore._note_orphans, _sweep_orphans)
ORPHANS_META = "orphans"
PARTS_META = "partitions:"  # + a store table: its partitions' digests and rows (``BaseStore._part_record``)
BEHIND_META = "panels_behind:"  # + a filter key: the years loads changed since its panels were computed
# a `citynet query --write` changed the store outside a load ({"what", "since", "rewrite"}): the digests and
# row hashes that a load trusts no longer tell what the store holds, so the next load reads every canonical
# table and compares it with the store (``rewrite``: and writes every row again), then removes the record
# (BaseStore.write_query, BaseStore.load)
OUTSIDE_META = "changed_outside_load"
# the patents the store held beyond the canonical tables at the last load that read the Patent table (an earlier
# corpus: load only adds): `citynet metrics` refuses such a store, whose panels would mix the two corpora
BEYOND_META = "patents_beyond_canonical"
BEYOND_FROM_META = "patents_beyond_from"  # the other workspace they came from, when known
# the clauses of a write that can only remove rows: the next load finds what is missing by comparing keys and
# row hashes; any other write clause (CREATE, MERGE, SET, REMOVE, a procedure, COPY, …) may leave a row with
# its key and its row hash but other properties (or a second relationship with the same key): every row is
# written again
DELETING_CLAUSES = frozenset({"DELETE", "DETACH"})
# refused-in-read-only words that change no stored row (transactions of a CALL { … } IN TRANSACTIONS included)
NO_ROW_CHANGE = frozenset({"SHOW", "TERMINATE", "CHECKPOINT", "EXPORT", "TRANSACTION", "TRANSACTIONS", "USE"})
FEW_ABSENT = 5_000  # applicants outside the canonical tables whose links are looked up one by one
KEY_LOOKUP_ROWS = 3_000
# the share of [store] load_memory_limit that DuckDB works within while the store copies the tables it
# has prepared into an empty store (BaseStore._stage_beside_copies), from the hand-over of the first of
# the tables whose copy holds memory growing with the patents (before it, the store copies the cities
# and applicants, and DuckDB prepares the patents' rows, the longest write, within its whole limit)
BESIDE_MEMORY = 0.5
BESIDE_SHARED_FROM = ("Patent", "APPLIED", "CITES")
# DuckDB's threads from that hand-over on: the store's COPY runs on one thread and is the load's critical
# path; with DuckDB on two threads beside it, Patent's COPY took 70 s at 10M patents, with one 58 s, and
# DuckDB's work beside it no longer (docs/scale.md, "Thirteenth round (session 19)")
BESIDE_THREADS = 1


def ENTITY_SCHEMA(name: str, key_only: bool = False):  # noqa: N802 - reads as a constant table
    """The Arrow schema of store table ``name``'s rows (``key_only``: its key and ``row_hash``)."""
    e = ENTITY[name]
    return arrow_schema([*e.key, "row_hash"] if key_only else e.columns)


@runtime_checkable
class GraphStore(Protocol):
    backend: str  # "embedded" | "neo4j"

    def close(self) -> None: ...
    def ensure_schema(self) -> None: ...
    def load(self, canonical_dir: Path, progress: Callable | None = None) -> dict: ...
    def build_projections(self, flt: NetworkFilter, years: list[int] | None = None) -> dict: ...
    def city_edges(self, flt: NetworkFilter, years: list[int] | None = None) -> pd.DataFrame: ...
    def patent_years(self, basis: str | None = None) -> set[int]: ...
    def has_patents(self, years, basis: str | None = None) -> bool: ...
    def city_year_counts(self, flt: NetworkFilter, years: list[int] | None = None) -> pd.DataFrame: ...
    def write_city_year(self, panel: pd.DataFrame, network: str, panel_years: list[int] | None = None) -> None: ...
    def panels_computed(self, flt_key: str, years: list[int] | None, panel_years: list[int]) -> list[int]: ...
    def query(self, cypher: str, params: dict | None = None, write: bool = False) -> pd.DataFrame: ...


def plain(value):
    """A parameter value as plain Python (numpy scalars and arrays, pandas NA → None)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def outside_write_kind(query: str) -> str | None:
    """What a query run with write access may do to the stored rows: None (it reads, or only inspects),
    ``"deleted"`` (DELETE / DETACH DELETE only: rows can only be missing) or ``"changed"`` (anything else).

    >>> outside_write_kind("MATCH (p:Patent) RETURN count(*)")
    >>> outside_write_kind("MATCH (p:Patent {app_year: 2010}) DETACH DELETE p")
    'deleted'
    >>> outside_write_kind("MATCH (p:Patent) SET p.granted = false")
    'changed'
    """
    from citynet.graph.readonly import refusals

    found = {f for f in refusals(query) if not f.startswith("function ")} - NO_ROW_CHANGE
    if not found:
        return None
    return "deleted" if found <= DELETING_CLAUSES else "changed"


def year_params(years) -> dict:
    if years is None:
        return {"all_years": True, "years": [-1]}
    return {"all_years": False, "years": [int(y) for y in years] or [-1]}


class BaseStore:
    """Load orchestration, projections and reads in terms of ``_run`` and the engine's writers."""

    backend = "base"
    read_only = False
    # whether an empty store copies each table on a second thread while DuckDB prepares the next ones
    # (:meth:`_stage_beside_copies`); else every table is copied after DuckDB's release
    copies_beside = False

    # -- engine hooks --
    def _run(self, statement: str, params: dict | None = None) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError

    def _write_entity(self, name: str, new: pd.DataFrame, changed: pd.DataFrame, progress) -> None:  # pragma: no cover
        """Insert ``new`` and update ``changed`` rows of store table ``name`` (at least one is non-empty)."""
        raise NotImplementedError

    def _delete_rows(self, name: str, keys) -> None:  # pragma: no cover - engine hook
        """Delete the relationships of ``name`` with the keys ``keys`` (an Arrow table of its key columns)."""
        raise NotImplementedError

    def _fetch(self, name: str) -> pd.DataFrame:  # pragma: no cover
        """Keys and ``row_hash`` of every row of store table ``name``."""
        raise NotImplementedError

    def _create_schema(self) -> None:
        for stmt in cypher.statements("schema", self.backend):
            self._rows(stmt, {})

    def _has_data(self) -> bool:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- cypher files --
    def _blocks(self, name: str) -> dict[str, list[str]]:
        cache = self.__dict__.setdefault("_block_cache", {})
        if name not in cache:
            cache[name] = cypher.blocks(name, self.backend)
        return cache[name]

    def _exec_block(self, file: str, block: str, params: dict | None = None) -> pd.DataFrame:
        out = pd.DataFrame()
        for stmt in self._blocks(file)[block]:
            out = self._run(stmt, params)
        return out

    def _block_rows(self, file: str, block: str, params: dict | None = None) -> list[tuple]:
        """The last statement's rows of ``block``, as tuples: the meta reads and writes of every command
        need no pandas, so a reload that changes nothing does not import it (``citynet.lazy_module``)."""
        out: list[tuple] = []
        for stmt in self._blocks(file)[block]:
            out = self._rows(stmt, params or {})
        return out

    def _rows(self, statement: str, params: dict) -> list[tuple]:
        """``statement``'s result as a list of tuples, for small results (the embedded store overrides this)."""
        return list(self._run(statement, params).itertuples(index=False, name=None))

    # -- meta --
    def _get_meta(self, key: str) -> str | None:
        rows = self._block_rows("load", "get_meta", {"key": key})
        return rows[0][0] if rows else None

    def _set_meta(self, key: str, value: str) -> None:
        self._block_rows("load", "set_meta", {"key": key, "value": value})

    def patents_beyond_canonical(self) -> int | None:
        """The patents the store held beyond the canonical tables at the last load that counted them (meta
        ``patents_beyond_canonical``, :data:`BEYOND_META`); None when no load counted them (an older store)."""
        raw = self._get_meta(BEYOND_META)
        return int(raw) if raw and raw.isdigit() else None

    def record_patents_beyond_canonical(self, n: int, workspace: str | None = None) -> None:
        """Keep ``n`` (see :meth:`patents_beyond_canonical`) for the commands after this load; ``workspace``: the
        other workspace whose load left them (a shared Neo4j database, ``lifecycle.other_workspace``), kept while
        some remain (:meth:`patents_beyond_from`)."""
        if self._get_meta(BEYOND_META) != str(int(n)):
            self._set_meta(BEYOND_META, str(int(n)))
        if workspace or (not n and self._get_meta(BEYOND_FROM_META)):
            self._set_meta(BEYOND_FROM_META, workspace or "")

    def patents_beyond_from(self) -> str | None:
        """The other workspace whose load left the patents of :meth:`patents_beyond_canonical` (None: unknown, or
        an earlier corpus of this workspace)."""
        return self._get_meta(BEYOND_FROM_META) or None

    # -- writes outside a load --
    def outside_write(self) -> dict | None:
        """The record of meta ``changed_outside_load`` (:data:`OUTSIDE_META`), or None: no write outside a
        load since the last load."""
        raw = self._get_meta(OUTSIDE_META)
        if not raw:
            return None
        try:
            rec = json.loads(raw)
        except ValueError:
            rec = None
        return rec if isinstance(rec, dict) else {"rewrite": True}

    def tables_behind(self, canonical_dir: Path) -> list[str]:
        """The store tables whose last load read other canonical tables than ``canonical_dir`` holds now
        (their ``graph.tables.input_keys`` differ from meta ``loaded:<table>``): an ingest since the last load.
        Empty when the store is current, or when it records no load (an older store: nothing to compare)."""
        loaded = {name: rec for name, rec in self._load_records().items() if rec}
        if not loaded or not (Path(canonical_dir) / "patents.parquet").is_file():
            return []
        keys = input_keys(Path(canonical_dir))
        return [name for name, rec in loaded.items() if rec.get("inputs") != keys[name]]

    def _load_records(self, names=None) -> dict[str, dict]:
        """Meta ``loaded:<table>`` of each store table (of ``names``, default all): what its last load read and
        wrote (``inputs``: its ``graph.tables.input_keys``), ``{}`` for a table never loaded."""
        names = [e.name for e in ENTITIES] if names is None else names
        return {n: json.loads(self._get_meta(f"loaded:{n}") or "{}") for n in names}

    def write_query(self, cypher_text: str, params: dict | None = None) -> tuple[pd.DataFrame, dict | None]:
        """``query(cypher_text, params, write=True)`` that records, in meta ``changed_outside_load``, that the
        store was changed outside a load (:func:`outside_write_kind`; a query that only reads records
        nothing): the next ``load`` then no longer trusts the digests and row hashes of its last load, which
        no longer describe the store. Returns the rows and the record (None: nothing recorded).

        The record is written before the query runs (a write interrupted after its commit is accounted for)
        and again after it: the query may have deleted the Meta nodes (``MATCH (n) DETACH DELETE n``), whose
        schema version is then written again too (a store with tables and no version was refused as one
        built by an older citynet). A query the store refused (QueryError: it ran in one transaction, rolled
        back) leaves the record as it was, unless it committed in batches (``CALL { … } IN TRANSACTIONS``)."""
        from citynet.graph.lifecycle import utc_now

        from citynet.errors import QueryError

        kind = outside_write_kind(cypher_text)
        if kind is None or self.read_only:  # (a read-only store refuses the write itself)
            return self.query(cypher_text, params, write=True), None
        version = self._schema_version()
        before = self._get_meta(OUTSIDE_META)
        old = self.outside_write() or {}
        rec = {"what": "citynet query --write", "since": old.get("since") or utc_now(),
               "rewrite": kind == "changed" or bool(old.get("rewrite"))}
        self._set_meta(OUTSIDE_META, json.dumps(rec))
        try:
            df = self.query(cypher_text, params, write=True)
        except QueryError:
            from citynet.graph.readonly import refusals

            if "TRANSACTIONS" not in refusals(cypher_text):
                self._set_meta(OUTSIDE_META, before or "")
            raise
        if version is not None and self._schema_version() is None:
            self._set_meta("schema_version", str(version))
        self._set_meta(OUTSIDE_META, json.dumps(rec))
        return df, rec

    # -- schema --
    def ensure_schema(self) -> None:
        """Create the schema if missing, record the schema version; refuse a store of another version."""
        version = self._schema_version()
        if version is None and self._has_data():
            version = 0
        from citynet.graph.lifecycle import store_options

        opts = store_options(self)  # (a Neo4j store named: `citynet load -w WS` alone loads [store] backend's)
        if version is not None and version != SCHEMA_VERSION:
            raise StoreError(
                f"the {self.backend} store {self.location} was built by schema version {version}; "
                f"this citynet uses schema version {SCHEMA_VERSION}",
                fix=f"rebuild it from the canonical tables: citynet load -w WS{opts} --rebuild",
            )
        if self.read_only:
            if version is None:
                raise StoreError(f"the {self.backend} store {self.location} is empty",
                                 fix=f"load it first: citynet load -w WS{opts}", exit_code=2)
            return
        self._create_schema()
        if version is None:
            self._set_meta("schema_version", str(SCHEMA_VERSION))

    def _schema_version(self) -> int | None:
        try:
            rows = self._block_rows("load", "schema_version")
        except StoreError:
            return None
        if not rows or rows[0][0] is None:
            return None
        try:
            return int(rows[0][0])
        except ValueError:
            return 0

    # -- load --
    def load(self, canonical_dir: Path, progress: Callable | None = None, memory_limit: str | None = None,
             batch_rows: int | None = None) -> dict:
        """Idempotent, incremental upsert of the canonical tables. Returns, per store table,
        ``{"rows": canonical rows, "new": inserted, "changed": updated}``, plus ``"skipped": True``
        for a table that was not read.

        A store table whose canonical inputs have the digests recorded at its last load
        (``graph.tables.input_keys``, meta ``loaded:<table>``) is skipped without reading them, so
        a reload that changes nothing reads no table. The rows of the others are prepared by DuckDB
        from the Parquet files (``graph.prepare``; only the partitions whose digests changed, see
        ``graph.load_years``) and written in batches of ``batch_rows`` (default 500,000), DuckDB
        working within ``memory_limit`` (default 2GB). Every table's rows to write (into an empty store
        all of them, else the new and changed ones) are written to files and DuckDB is closed before the
        store writes any, so DuckDB's memory and the store's are not held at once (docs/scale.md, "The
        load's memory at 10,000,000 patents: the rest" and "The refresh's memory at 10,000,000 patents");
        except into an empty embedded store, which copies each table on a second thread once its files
        are written while DuckDB, within half its limit and on one thread, writes the next tables' and
        then the year digests (``_stage_beside_copies``; docs/scale.md, "Thirteenth round (session 19)").
        The years whose projections the written rows change are marked stale for every network
        filter built so far (meta ``stale:<filter>``); ``refresh_projections`` and ``city_edges``
        rebuild just those."""
        self.ensure_schema()
        report = progress or (lambda stage, done, total: None)
        keys = input_keys(Path(canonical_dir))
        done = {}
        # changed by `citynet query --write` since: every table is read and compared with the store (and,
        # after a write that may have changed properties, written again), and every projection rebuilt
        outside = self.outside_write()
        for name, rec in (self._load_records() if outside is None else {}).items():
            if rec.get("inputs") == keys[name]:
                done[name] = rec
        if outside is not None:
            for flt_key in self._built_filters():  # (the write may have changed projections too)
                self._set_meta(f"stale:{flt_key}", json.dumps("all"))
        if len(done) < len(ENTITIES):
            from citynet.graph import load_years as ly

            # partitions named with another number of buckets (a store loaded before session 15): the
            # partitioned tables are read whole once, together, so that every record names the same ones
            if any(n in done and ("years" in done[n] or ly.BUCKETS_META in done[n])
                   and done[n].get(ly.BUCKETS_META) != ly.BUCKETS for n in ly.YEAR_ENTITIES):
                done = {n: r for n, r in done.items() if n not in ly.YEAR_ENTITIES}
        counts: dict[str, dict] = {e.name: {"rows": int(done[e.name].get("rows", 0)), "new": 0, "changed": 0,
                                            "skipped": True} for e in ENTITIES if e.name in done}
        if len(done) < len(ENTITIES):
            from citynet.graph.prepare import Prepared

            self._remove_leftover_rows()

            total = canonical_rows(Path(canonical_dir))
            report("reading canonical tables", 0, total)  # the footers' rows (fewer on the per-year path)
            import duckdb

            try:
                with Prepared(Path(canonical_dir), memory_limit, batch_rows) as prep:
                    report("reading canonical tables", total, total)
                    self._load_prepared(prep, keys, done, counts, report, outside)
            except duckdb.OutOfMemoryException as exc:
                from citynet.errors import out_of_memory

                raise out_of_memory(exc, "preparing the rows needed more memory than [store] load_memory_limit = "
                                         f"{memory_limit or 'default'}",
                                    fix="raise [store] load_memory_limit in citynet.toml (e.g. \"3GB\") and run "
                                        "citynet load again (the rows written so far are kept)") from exc
        swept = self._sweep_orphans()  # (also those of a load killed after writing its links)
        for name, n in zip(("Applicant", "LOCATED_IN"), swept, strict=True):
            if n:
                counts[name]["deleted"] = counts[name].get("deleted", 0) + n
        if outside is not None:  # the store holds the canonical tables again
            self._set_meta(OUTSIDE_META, "")
        report("done", 1, 1)
        return {e.name: counts[e.name] for e in ENTITIES}

    def _remove_leftover_rows(self) -> None:
        """Delete the batch-file folders (``citynet-rows-*``, ``citynet-copy-*``) that a load killed
        midway left in the store folder (at 10M patents up to 1.6 GB). Only a load writes them, and the
        workspace lock and the engine's write lock let one load run at a time."""
        import shutil

        folder = getattr(self, "store_dir", None)
        if folder is None:
            return
        for pattern in ("citynet-rows-*", "citynet-copy-*"):
            for d in Path(folder).glob(pattern):
                if d.is_dir():
                    shutil.rmtree(d, ignore_errors=True)

    def _load_prepared(self, prep, keys: dict, done: dict, counts: dict, report, outside: dict | None = None) -> None:
        """The body of ``load`` for the store tables not in ``done``; ``outside``: the record of a write
        outside a load (:meth:`outside_write`): every partition is read, and with ``rewrite`` every
        stored row counts as changed."""
        from citynet.graph import load_years as ly

        canonical_dir = prep.dir
        # the row-group sums of patents.parquet from the last load (keyed by the groups' bytes)
        try:
            groups = json.loads(self._get_meta(ly.GROUPS_META) or "{}")
        except ValueError:
            groups = {}
        groups = groups if isinstance(groups, dict) else {}
        built_filters = self._built_filters()  # none on a first load: nothing can be stale
        empty = self.backend == "embedded" and all(self._exec_block("load", f"any_{n}").empty
                                                    for n in ("Patent", "Applicant"))
        # into an empty embedded store each table is copied beside DuckDB's work on the next (unless a
        # table turns out to hold rows, below), and the year digests, which serve only the records written
        # after the copies, are computed once every table's files are written, beside the copies
        # (_stage_beside_copies), instead of before the first of them (8.5 s at 10M patents)
        beside = self.copies_beside and empty and not built_filters
        later = beside and not prep.repeated

        def digests() -> dict | None:
            report("year digests", 0, 1)
            found = ly.year_digests(canonical_dir, prep.cities_key(), con=prep.con, cache=groups,
                                    repeated=prep.repeated)
            report("year digests", 1, 1)
            return found

        def keep_groups() -> None:  # (the patents' row-group sums, for the next load's digests)
            if ydig is not None:
                self._set_meta(ly.GROUPS_META, json.dumps(groups, sort_keys=True))

        ydig = None if prep.repeated or later else digests()
        keep_groups()
        todo_years = [n for n in ly.YEAR_ENTITIES if n not in done]
        years = None  # None: every row; else the partitions (year/bucket) whose rows must be re-read
        regrouped = False  # the store's partitions were recorded with another number of buckets
        read: dict[str, set[str]] = {}  # per store table: the partitions its rows are prepared from
        records: dict[str, dict] = {}  # per store table: its partitions record, read once (_part_record)
        if ydig is not None and todo_years and outside is None:
            recs = self._load_records(todo_years)
            parts = {n: self._part_record(n, records) for n in todo_years}
            # (a record whose partitions were named with another number of buckets: every row, once)
            olds = {n: ly.changed_years(parts[n].get("years"), ydig[n], recs[n].get(ly.BUCKETS_META))
                    for n in todo_years}
            regrouped = any(parts[n] and recs[n].get(ly.BUCKETS_META) != ly.BUCKETS for n in todo_years)
            if all(o is not None for o in olds.values()):
                # each table re-reads the partitions whose own digest changed; Patent and CITES share
                # the selection of patents and citations (a patent's row counts its citations)
                main = set().union(*(olds.get(n, set()) for n in ("Patent", "CITES")))
                read = {"Patent": main, "CITES": main, "APPLIED": olds.get("APPLIED", set())}
                years = main | read["APPLIED"]
        # Neo4j matches relationship ends by the nodes' elementIds, which its _fetch records: read
        # the node keys whole there, as before; the embedded store is asked only about the keys at hand
        whole: dict[str, pd.DataFrame] = {}
        if self.backend != "embedded":
            report("store keys", 0, 3)
            for i, name in enumerate(("City", "Applicant", "Patent")):
                whole[name] = self._fetch(name)
                report("store keys", i + 1, 3)
        label = "preparing rows" if years is None else (
            f"preparing years {_years_label(ly.years_of(years))}" if years else "preparing rows (no year changed)")
        if regrouped:  # a long read that a user should not have to guess the reason of
            label = "preparing every row, once (year partitions recorded by an older citynet)"
        if outside is not None:
            label = (f"preparing every row ({outside.get('what', 'a write')} changed the store"
                     f"{', every row is written again' if outside.get('rewrite') else ''})")
        report(label, 0, 1)
        if self.backend != "embedded":
            empty = all(whole[n].empty for n in ("Patent", "Applicant"))
        # keys referenced but not in the canonical tables count as known when the store holds them
        prep.clean(read["Patent"] if read else None,
                   known=None if empty else (lambda label_, ids: self._known(label_, ids, whole)),
                   link_parts=read["APPLIED"] if read else None)
        report(label, 1, 1)

        def record(e, n_rows: int, n_new: int, n_changed: int, by_part: dict) -> None:
            parted = e.name in ly.YEAR_ENTITIES and ydig is not None
            rec = {"inputs": keys[e.name], "rows": n_rows}
            if parted:
                if years is not None:  # the other partitions' rows are as recorded at the last load
                    old = self._stored_part_rows(e.name, records)
                    by_part = {**{y: n for y, n in old.items() if y not in read[e.name]}, **by_part}
                rec.update(rows=sum(by_part.values()))
                rec[ly.BUCKETS_META] = ly.BUCKETS
                # (apart from the small record that every load reads, a no-op reload included: at 1,024
                # buckets a year they are about 0.7 MB per table)
                self._set_meta(f"{PARTS_META}{e.name}", json.dumps({"years": ydig[e.name], "year_rows": by_part}))
            counts[e.name] = {"rows": rec["rows"], "new": n_new, "changed": n_changed}
            if e.name in ly.YEAR_ENTITIES and years is not None:
                counts[e.name]["years"] = ly.years_of(read[e.name])
                counts[e.name]["partitions"] = len(read[e.name])
            self._set_meta(f"loaded:{e.name}", json.dumps(rec))
            records.pop(e.name, None)  # (written: read again if asked)

        # every store table's rows to write are put in batch files while DuckDB is open: all of a table
        # with no stored row and no projection to mark stale (staged), else its new and changed rows
        # (diffed against the stored ones); DuckDB is closed before the store copies any of them (but
        # into an empty embedded store: _stage_beside_copies), so
        # that DuckDB's memory and the store's are not held at the same time (docs/scale.md, "The
        # refresh's memory at 10,000,000 patents"). Every table's stored rows are thus fetched before this
        # load writes any: the links and citations of a patent moved to another year are still found by
        # the year the store holds, since the move changes the digests of both years' partitions
        writes: list[tuple] = []
        todo = [e for e in ENTITIES if e.name not in done]
        # (an empty embedded store: the stored rows are asked for before the store copies any)
        stored_of = {e.name: self._stored(prep, e, whole, records) for e in todo} if beside else {}
        beside = beside and all(v is None for v in stored_of.values())
        if later and not beside:  # (a store with rows the first check did not see: the digests now)
            ydig = digests()
            keep_groups()
            later = False
        with tempfile.TemporaryDirectory(prefix="citynet-rows-", dir=getattr(self, "store_dir", None)) as rows_dir:
            if beside:  # every table staged whole: copied on a second thread while DuckDB prepares the next
                def digests_beside() -> None:
                    import duckdb

                    nonlocal ydig
                    try:
                        ydig = digests()
                    except duckdb.OutOfMemoryException:
                        # (DuckDB's share beside the copies too small for their joins over every patent,
                        # as at 80MB, where they fit before the copies: once more within the whole limit)
                        prep.share_memory(1.0)
                        ydig = digests()

                # (with the digests still to come, the year tables' rows are counted per partition all the
                # same: their records use them once the digests are known)
                self._stage_beside_copies(prep, [(e, e.name in ly.YEAR_ENTITIES and (later or ydig is not None))
                                                 for e in todo], Path(rows_dir), record, report,
                                          last=digests_beside if later else None, last_for=set(ly.YEAR_ENTITIES))
                if later:  # (the copying thread has ended: the store is this thread's again)
                    keep_groups()
                return
            for e in todo:
                parted = e.name in ly.YEAR_ENTITIES and ydig is not None
                # (a store with rows: reading its keys and hashes and the diff take seconds at 10M patents
                # before the first row is prepared, reported from their start)
                comparing = f"comparing {e.name}" if not empty else None
                if comparing:
                    report(comparing, 0, 1)
                stored = self._stored(prep, e, whole, records)
                if stored is None and not built_filters:  # (files, rows, rows per partition, no diff)
                    if comparing:
                        report(comparing, 1, 1)
                    writes.append((e, *prep.write_batches(e.name, parted, Path(rows_dir), report), None))
                else:  # (the comparison ends inside, before the rows are written)
                    writes.append((e, *self._load_entity(prep, e, parted, stored, built_filters, Path(rows_dir),
                                                         report, comparing,
                                                         rewrite=bool(outside and outside.get("rewrite")))))
            gone_links = next((d[3] for e, *_, d in writes if e.name == "APPLIED" and d is not None), None)
            if "Applicant" not in done or gone_links is not None:
                self._note_orphans(prep, whole, gone_links)
            prep.release()  # DuckDB's memory goes before the store's grows
            for e, files, n, by_part, diff in writes:
                if diff is None:
                    self._copy_staged(e, files, n, by_part, record, report)
                else:  # (the changed rows' file, new rows, changed rows, the gone rows' file, gone rows)
                    self._write_diffed(e.name, files, *diff, report)
                    record(e, n, diff[1], diff[2], by_part)
                    if diff[4]:
                        counts[e.name]["deleted"] = diff[4]

    def _stage_beside_copies(self, prep, tables: list[tuple], folder: Path, record, report,
                             last: Callable[[], None] | None = None, last_for: set[str] = frozenset()) -> None:
        """Into an empty store, each table's rows are written to batch files by DuckDB (``tables``: (table,
        partitioned), in order) and copied by the store on a second thread as soon as they are written, one
        table after the other in the same order, while DuckDB writes the next tables' files: the ``COPY``s
        (one per table, on one thread: the files' order) are the same as after DuckDB's release, and both
        engines release the GIL, so the load uses the second core. Once the patents are handed over
        (:data:`BESIDE_SHARED_FROM`), DuckDB works within :data:`BESIDE_MEMORY` of ``[store]
        load_memory_limit``, so that the two engines together stay within about the memory of the store's
        copies alone (docs/scale.md, "Eighth round (session 16): the load on two cores"). ``last``: DuckDB's
        work after every table's files (the year digests into an empty store), before it is closed; the
        records of the tables in ``last_for`` wait for it. Only the copying thread touches the store until
        it ends."""
        import queue
        import threading

        lock = threading.Lock()

        def said(stage: str, done: int, total: int) -> None:  # (progress from either thread)
            with lock:
                report(stage, done, total)

        jobs: queue.Queue = queue.Queue()
        failed: list[BaseException] = []
        stop = threading.Event()
        ran_last = threading.Event()
        if last is None:
            ran_last.set()

        def recorded(e, *args) -> None:
            if e.name in last_for:
                ran_last.wait()
            record(e, *args)

        def copy() -> None:
            while (job := jobs.get()) is not None:
                if stop.is_set() or failed:
                    continue
                try:
                    self._copy_staged(*job, recorded, said)
                except BaseException as exc:  # re-raised by the preparing thread
                    failed.append(exc)

        thread = threading.Thread(target=copy, name="citynet-copy", daemon=True)
        thread.start()
        try:
            shared = False
            for e, parted in tables:
                if failed:
                    break
                files, n, by_part = prep.write_batches(e.name, parted, folder, said)
                if not shared and e.name in BESIDE_SHARED_FROM:
                    prep.share_memory(BESIDE_MEMORY, threads=BESIDE_THREADS)
                    shared = True
                jobs.put((e, files, n, by_part))
            if last is not None and not failed:
                last()
            ran_last.set()
            prep.release()  # DuckDB's memory goes before the store's grows further
        except BaseException:
            stop.set()  # the copy under way ends; the tables not yet copied are not
            raise
        finally:
            ran_last.set()  # (a record waiting for ``last`` is written without what it gave)
            jobs.put(None)
            thread.join()
        if failed:
            raise failed[0]

    def _copy_staged(self, e, files: list[tuple[Path, int]], n: int, by_part: dict, record, report) -> None:
        """Copy the batch ``files`` of the ``n`` rows of store table ``e`` (no stored row: all new)."""
        report(e.name, 0, n)
        self._copy_rows_files(e.name, files, lambda done: report(e.name, done, n))
        record(e, n, n, 0, by_part)

    def _copy_rows_files(self, name: str, files: list[tuple[Path, int]], progress: Callable[[int], None]) -> None:
        """Write the rows of the batch files ``files`` ((path, rows), in order) of the empty store table
        ``name``, deleting each once copied; ``progress(rows done)``. The embedded store copies them all
        in one ``COPY``."""
        done = 0
        for f, rows in files:
            self._copy_rows_file(name, f)
            f.unlink()
            done += rows
            progress(done)

    def _copy_rows_file(self, name: str, path: Path) -> None:
        """Write the rows of the batch file ``path`` (new rows of ``name``; the embedded store copies the file)."""
        import pyarrow.parquet as pq

        self._write_rows(name, pq.read_table(path), None, lambda *_: None)

    def _load_entity(self, prep, e, parted: bool, stored, built_filters: list, folder: Path, report,
                     comparing: str | None = None, rewrite: bool = False):
        """Diff store table ``e`` against its ``stored`` keys and row hashes (``_stored``) and write its
        new rows, in order, to batch files of ``load_batch_rows`` rows in ``folder`` and its changed rows
        to one file, and the keys of its stored rows that the canonical tables no longer have
        (``_find_gone``) to another (``_write_diffed`` deletes and writes them once DuckDB is closed);
        returns (the new rows' files with their rows, rows prepared, rows per partition, (the changed
        rows' file or None, new, changed, the gone rows' file or None, gone)). ``rewrite``: the stored row
        hashes are not trusted (a write outside a load may have changed properties and kept them): every
        prepared row the store holds counts as changed, and is written again."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        con = prep.con
        sql = prep.rows_sql(e.name, part=parted)
        by_part: dict[str, int] = {}
        # the rows are stored first and then read in order (graph.prepare.Prepared.rows_sql)
        con.execute(f"CREATE OR REPLACE TEMP TABLE r_rows AS {sql}")
        n_rows = con.execute("SELECT count(*) FROM r_rows").fetchall()[0][0]
        if parted:
            by_part = {str(p): int(c) for p, c in con.execute("SELECT _part, count(*) FROM r_rows GROUP BY 1").fetchall()}
        on = " AND ".join(f"s.{k} = r.{k}" for k in e.key)
        if stored is None:
            con.execute("CREATE OR REPLACE TEMP TABLE r_new AS SELECT * FROM r_rows")
            con.execute("CREATE OR REPLACE TEMP TABLE r_changed AS SELECT * FROM r_rows WHERE FALSE")
        else:
            keycols = ", ".join(e.key)
            # only the stored rows whose key was prepared are compared (a load that re-reads a few
            # buckets of a year fetches the whole year's rows: grouping them all cost more than the diff),
            # kept in DuckDB part by part as the store hands them over
            con.execute(f"CREATE OR REPLACE TEMP TABLE stored_raw AS SELECT {keycols}, row_hash FROM r_rows WHERE FALSE")
            _keep_stored(con, e, stored.extra())
            new_patents = prep.new_patents and parted and e.name != "Patent"
            if new_patents:  # only the years of rows whose patent the store held before this load
                stored.not_new(con)
            hashed = self._hashes_first(stored) and not rewrite
            if hashed:  # the matched rows are stored as they are: only the others (r_miss) are compared
                n_hit = self._match_hashes(con, e, stored, new_patents)
            else:
                _keep_stored(con, e, stored.rows(stored.years, stored.no_year))
            con.execute(f"CREATE OR REPLACE TEMP TABLE stored AS SELECT {keycols}, min(row_hash) AS row_hash "
                        f"FROM stored_raw GROUP BY {keycols}")
            con.execute("DROP TABLE stored_raw")
            if rewrite:
                con.execute("UPDATE stored SET row_hash = NULL")
            # (unsorted: they are read ORDER BY _o below)
            rows = "r_miss" if hashed else "r_rows"
            con.execute(f"CREATE OR REPLACE TEMP TABLE r_new AS SELECT r.* FROM {rows} r ANTI JOIN stored s ON {on}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE r_changed AS SELECT r.* FROM {rows} r JOIN stored s ON {on} "
                        "WHERE s.row_hash IS DISTINCT FROM r.row_hash")
            if hashed:
                from citynet.graph.prepare import PART_KEY

                if new_patents:  # the rows of new patents (never matched: a relationship needs its nodes)
                    con.execute(f"INSERT INTO r_new SELECT r.* FROM r_rows r SEMI JOIN new_patents n "
                                f"ON n.patent_id = r.{PART_KEY[e.name]}")
                # (every key in ``stored`` was prepared: those not missed were matched by their hashes)
                stored.matched = n_hit + con.execute(f"SELECT count(*) FROM stored s SEMI JOIN r_miss r ON {on}"
                                                     ).fetchall()[0][0]
                con.execute("DROP TABLE r_miss")
            else:
                stored.matched = con.execute("SELECT count(*) FROM stored").fetchall()[0][0]
        con.execute(f"CREATE OR REPLACE TEMP TABLE r_gone AS SELECT {', '.join(e.key)} FROM r_rows WHERE FALSE")
        if stored is not None and parted and e.name in GONE_CHECKED:
            self._find_gone(prep, e, stored)
        n_new, n_changed, n_gone = (con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                                    for t in ("r_new", "r_changed", "r_gone"))
        if e.name == "Patent":  # the patents not in the store before: no stored link or citation has them
            con.execute("CREATE OR REPLACE TEMP TABLE new_patents AS SELECT patent_id FROM r_new")
            prep.new_patents = True
        if (n_new or n_changed or n_gone) and built_filters:
            # marked before the write, so that an interrupted load leaves them stale
            stale = self._affected(prep, e.name)
            if n_changed and e.name in ("Patent", "TRANSFERRED"):  # the years they had
                key = e.key[0]
                ids = con.sql(f"SELECT {key} FROM r_changed").to_arrow_table().to_pandas()
                stale = _merge_years(stale, self._stored_years(e.name, ids))
            self._mark_stale(stale, built_filters)
        if comparing:  # (compared: what follows is the writing of the rows, reported by rows)
            report(comparing, 1, 1)
        changed = None
        if n_changed:
            changed = folder / f"{e.name}-changed.parquet"
            pq.write_table(pa.concat_tables(list(prep.stream("SELECT * FROM r_changed ORDER BY _o"))), changed,
                           compression="none")
        gone = None
        if n_gone:
            gone = folder / f"{e.name}-gone.parquet"
            pq.write_table(con.sql("SELECT * FROM r_gone ORDER BY ALL").to_arrow_table(), gone, compression="none")
        files = prep.write_files("r_new", e.name, folder, report, n_new)[0] if n_new else []
        for t in ("r_rows", "r_new", "r_changed", "r_gone", "stored"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        return files, n_rows, by_part, (changed, n_new, n_changed, gone, n_gone)

    def _find_gone(self, prep, e, stored) -> None:
        """Fill ``r_gone`` with the stored rows of ``e`` (links, citations) of canonical patents in the
        partitions this load re-read whose key the canonical tables no longer have: an applicant merged
        into another by the names' harmonisation after an append, a record replaced by the duplicate rule.
        A canonical patent's links and citations are the canonical ones; rows of patents outside the
        canonical tables are never deleted (a store may hold another corpus: ``--rebuild``).

        The stored rows of the re-read partitions were matched against the prepared ones (their number:
        ``stored.matched``, by row hash or by key);
        when the rows the loads recorded in those partitions (meta ``year_rows``) outnumber them, the
        re-read years' stored rows are fetched again and compared (the store read whole: at once). A
        store whose loads recorded no partition rows is not checked."""
        from citynet.graph.prepare import PART_KEY

        con = prep.con
        parts = prep.link_parts if e.name == "APPLIED" else prep.parts
        excess = None  # stored rows of the re-read partitions that no prepared row matched
        if stored.whole is None:
            recorded = stored.part_rows
            expected = sum(recorded.values()) if parts is None else sum(recorded.get(p, 0) for p in parts)
            excess = expected - stored.matched
            if not recorded or excess <= 0:
                return
        wanted = "TRUE" if parts is None else \
            f"part IN (SELECT part FROM {'wanted_links' if e.name == 'APPLIED' else 'wanted'})"
        con.execute(f"CREATE OR REPLACE TEMP TABLE gone_pats AS SELECT patent_id FROM pyu WHERE {wanted}")
        on = " AND ".join(f"s.{k} = r.{k}" for k in e.key)

        def keep(tables) -> int:
            _insert_parts(con, tables, f"""INSERT INTO r_gone SELECT {', '.join('s.' + k for k in e.key)} FROM stored_arrow s
                                           SEMI JOIN gone_pats q ON q.patent_id = s.{PART_KEY[e.name]} ANTI JOIN r_rows r ON {on}""")
            return con.execute("SELECT count(*) FROM r_gone").fetchall()[0][0]

        # an applicant merged into another (harmonisation after an append) is the usual cause: the links of
        # the applicants outside the canonical tables, looked up from their keys, when they account for
        # every unmatched row; else every changed year's rows are fetched again
        if excess is not None and e.name == "APPLIED" and keep(self._absent_applicant_links(con)) == excess:
            con.execute("DROP TABLE gone_pats")
            return
        con.execute("DELETE FROM r_gone")
        keep([stored.whole] if stored.whole is not None else stored.rows(stored.years, stored.no_year))
        con.execute("DROP TABLE gone_pats")

    def _note_orphans(self, prep, whole: dict, gone_links: Path | None) -> None:
        """Add to meta ``orphans`` the applicants that the store holds, the canonical tables no longer
        have, and this workspace's corpus wrote: an id of its own of one of the corpus's names (a name the
        names' harmonisation merged into another applicant, ``applicant_names.parquet``) or the applicant
        of a link this load deletes (``gone_links``: links of canonical patents). Applicants of another
        corpus a store may hold are neither (a shared one keeps its links, and the sweep keeps it)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        ids: set[str] = set()
        names_file = prep.dir / "applicant_names.parquet"
        if names_file.exists():
            from citynet.etl.applicants import applicant_ids

            t = pq.read_table(names_file, columns=["name", "rule"])
            merged = t.filter(pc.not_equal(t.column("rule"), "identity")).column("name").to_pandas()
            ids |= set(applicant_ids(merged).dropna())
        if gone_links is not None:
            ids |= set(pq.read_table(gone_links, columns=["applicant_id"]).column("applicant_id").to_pylist())
        if not ids:
            return
        con = prep.con
        con.register("former_arrow", pa.table({"applicant_id": pa.array(sorted(ids), pa.string())}))
        absent = [a for (a,) in con.execute("SELECT f.applicant_id FROM former_arrow f ANTI JOIN cl_applicants c "
                                            "ON c.applicant_id = f.applicant_id ORDER BY 1").fetchall()]
        con.unregister("former_arrow")
        held = self._known("Applicant", absent, whole) if absent else []
        if held:
            before = json.loads(self._get_meta(ORPHANS_META) or "[]")
            self._set_meta(ORPHANS_META, json.dumps(sorted(set(before) | set(held))))

    def _sweep_orphans(self) -> tuple[int, int]:
        """Delete the applicants of meta ``orphans`` (``_note_orphans``) that have no link left (no
        ``APPLIED``, no ``TRANSFERRED`` either way), with their ``LOCATED_IN``; returns (nodes, LOCATED_IN)
        deleted. Run after the load's writes, and by every load while the meta lists any."""
        raw = self._get_meta(ORPHANS_META)
        ids = json.loads(raw) if raw else []
        if not ids:
            return 0, 0
        got = self._exec_block("load", "unlinked_applicants", {"ids": ids})
        gone = sorted(got["k"].tolist()) if not got.empty else []
        if gone:
            self._exec_block("load", "delete_applicants", {"ids": gone})
        self._set_meta(ORPHANS_META, "[]")
        return len(gone), int(got["located"].sum()) if gone else 0

    def _absent_applicant_links(self, con):
        """The links (keys) of the applicants the store holds and the canonical tables do not (at most
        :data:`FEW_ABSENT` of them, one look-up each; none when more), in one Arrow table (or none)."""
        import pyarrow as pa

        held = self._run_arrow(self._blocks("load")["applicant_ids"][0], {})
        con.register("held_arrow", held)
        absent = [a for (a,) in con.execute("SELECT DISTINCT h.applicant_id FROM held_arrow h ANTI JOIN cl_applicants c "
                                            "ON c.applicant_id = h.applicant_id ORDER BY 1").fetchall()]
        con.unregister("held_arrow")
        if len(absent) > FEW_ABSENT:
            return []
        (stmt,) = self._blocks("load")["applicant_links"]
        schema = pa.schema([("applicant_id", pa.string()), ("patent_id", pa.string())])
        got = list(self._run_each(stmt, ({"applicant_id": a} for a in absent), schema))
        # one table: each statement of BaseStore._find_gone's ``keep`` builds a hash table over every
        # prepared row (at 10M patents, 98 applicants' links one table each cost 21 s of CPU)
        return [pa.concat_tables(got)] if got else []

    def _run_each(self, stmt: str, params, schema):
        """The non-empty results of ``stmt`` run once per parameter map of ``params`` (one key look-up
        each: the engine starts from a node's primary-key index, where a batch of keys is planned as a
        scan of every relationship), as Arrow tables of ``schema``."""
        for p in params:
            got = self._run_arrow(stmt, p)
            if got.num_rows:
                yield got.select(schema.names).cast(schema)

    def _write_diffed(self, name: str, files: list[tuple[Path, int]], changed: Path | None, n_new: int,
                      n_changed: int, gone: Path | None, n_gone: int, report) -> None:
        """Delete the ``gone`` rows of store table ``name``, then write the new rows' batch ``files`` and
        the ``changed`` rows' file (``_load_entity``), as they were streamed from DuckDB, deleting each
        file once written."""
        import pyarrow.parquet as pq

        if gone is not None:
            self._delete_rows(name, pq.read_table(gone))
            gone.unlink()
        total = n_new + n_changed
        if total:
            self._write_new_rows(name, files, changed, total, report)

    def _write_new_rows(self, name: str, files: list[tuple[Path, int]], changed: Path | None, total: int,
                        report) -> None:
        """Write the new rows' batch ``files`` and the ``changed`` rows' file of store table ``name``
        (``total`` rows), deleting each file once written: the changed rows with the first batch of new
        ones (the embedded store copies them all in one ``COPY``)."""
        import pyarrow.parquet as pq

        report(name, 0, total)
        rows = pq.read_table(changed) if changed is not None else None
        if changed is not None:
            changed.unlink()
        written = 0
        for f, n in files:
            if rows is None:
                self._copy_rows_file(name, f)
            else:
                self._write_rows(name, pq.read_table(f), rows, lambda *_: None)
            f.unlink()
            written += n + (len(rows) if rows is not None else 0)
            rows = None
            report(name, written, total)
        if rows is not None:
            self._write_rows(name, None, rows, lambda *_: None)
            report(name, total, total)

    def _write_rows(self, name: str, new, changed, progress) -> None:
        """``_write_entity`` with Arrow batches (the embedded store takes them as they are, Neo4j as pandas)."""
        empty = ENTITY_SCHEMA(name).empty_table()
        new = new if new is not None else empty
        changed = changed if changed is not None else empty
        if not len(new) and not len(changed):
            return
        if self.backend != "embedded":
            new, changed = (t.to_pandas(date_as_object=False) for t in (new, changed))
        self._write_entity(name, new, changed, progress)

    def _stored(self, prep, e, whole: dict, records: dict | None = None):
        """The stored keys and row hashes of ``e`` that the prepared rows can match, as a
        :class:`_Stored` (None: the store holds no row of ``e``). On the embedded store, for the
        partitioned tables, the rows of the prepared years' patents are fetched as they are iterated,
        some years at a time (:data:`FETCH_ROWS`), so neither the engine's page cache nor Python holds
        every year's stored rows at once. ``records``: the load's partitions records (:meth:`_part_record`)."""
        import pyarrow as pa

        if e.name in whole:
            df = whole[e.name]
        elif self.backend != "embedded" or e.name not in ("Patent", "APPLIED", "CITES"):
            df = self._fetch(e.name)
        else:
            if self._exec_block("load", f"any_{e.name}").empty:
                return None
            from citynet.graph.prepare import PART_KEY

            col = PART_KEY[e.name]
            parts = prep.link_parts if e.name == "APPLIED" else prep.parts
            years = None if parts is None else sorted({int(p.split("/")[0]) for p in parts if p != "none"})
            no_year = parts is None or "none" in parts
            if years is None:  # every year: the years in the store
                years = [int(y) for y in self._exec_block("read", "app_years")["year"].dropna()]
            # and those of prepared patents outside the canonical patents (links to an older corpus's)
            src = {"Patent": "SELECT patent_id FROM sel_patents", "APPLIED": "SELECT patent_id FROM cl_links",
                   "CITES": "SELECT citing_patent_id FROM cl_citations WHERE cited_patent_id IS NOT NULL"}[e.name]
            ids = prep.con.sql(f"SELECT DISTINCT {col} FROM ({src}) WHERE {col} IS NOT NULL AND {col} NOT IN "
                               f"(SELECT patent_id FROM py) ORDER BY 1").to_arrow_table().column(0)
            return _Stored(self, e, years, no_year, ids, parts=parts, records=records)
        if df is None or df.empty:
            return None
        df = df[[*e.key, "row_hash"]]
        return _Stored(self, e, [], False, None, records=records, whole=pa.Table.from_pandas(
            df.astype({"row_hash": "int64"}), preserve_index=False).cast(ENTITY_SCHEMA(e.name, key_only=True)))

    def _hashes_first(self, stored) -> bool:
        """Whether the stored rows of ``stored`` are matched by the row hashes of the whole table first
        (:meth:`_match_hashes`): when the years to fetch hold at least 1/:data:`HASH_SHARE` of the rows the
        last load recorded (never when the store is read whole)."""
        if not stored.years:
            return False
        recorded = stored.year_rows
        total = sum(recorded.values())
        return total > 0 and sum(recorded.get(y, 0) for y in stored.years) * HASH_SHARE >= total

    def _match_hashes(self, con, e, stored, new_patents: bool) -> int:
        """Match the prepared rows against the row hashes of every stored row of ``e``: a prepared row
        whose ``row_hash`` (a hash of every column, the key included) the store holds is stored as it is;
        a link or citation of a patent this load found new (``new_patents``, after the ``Patent`` diff)
        cannot be stored (a relationship needs its nodes); the rest, new or changed rows, go to ``r_miss``
        (whole rows) and their stored keys and hashes to ``stored_raw``: looked up one key each, or, when
        there are too many for that, from their years' rows (:meth:`_Stored.rows`). Returns the rows
        matched (they are neither new nor changed, so that no join over them is needed)."""
        con.execute("CREATE OR REPLACE TEMP TABLE stored_h (row_hash BIGINT)")
        _insert_parts(con, stored.hashes(), "INSERT INTO stored_h SELECT row_hash FROM stored_arrow")
        from citynet.graph.prepare import PART_KEY

        # (the rows of new patents are not matched at all: only a new or changed row of a patent the store
        # had could meet another row's hash, about (such rows) x (stored rows) / 2^64)
        not_new = f"ANTI JOIN new_patents n ON n.patent_id = r.{PART_KEY[e.name]}" if new_patents else ""
        # one pass (an anti join on the hash, with nulls kept: one hash table over the stored hashes; at
        # 10M patents 12M hashes against the prepared links); the matched rows are counted, not kept
        n_old = con.execute(f"SELECT count(*) FROM r_rows r {not_new}").fetchall()[0][0]
        con.execute(f"CREATE OR REPLACE TEMP TABLE r_miss AS SELECT r.* FROM r_rows r {not_new} "
                    f"WHERE NOT coalesce(r.row_hash IN (SELECT row_hash FROM stored_h WHERE row_hash IS NOT NULL), FALSE)")
        con.execute("DROP TABLE stored_h")
        bare = ", ".join(e.key)
        missing = con.sql(f"SELECT {bare}, any_value(_part) AS _part FROM r_miss "
                          "GROUP BY ALL ORDER BY ALL").to_arrow_table()
        n_hit = n_old - con.execute("SELECT count(*) FROM r_miss").fetchall()[0][0]
        if not len(missing):
            return n_hit
        parts = set(missing.column("_part").to_pylist())
        years = sorted({int(p.split("/")[0]) for p in parts if p != "none"})
        recorded = stored.year_rows
        keyed = missing.select(list(e.key))
        if len(missing) * KEY_LOOKUP_ROWS <= sum(recorded.get(y, 0) for y in years) and \
                len(keyed) == len(keyed.drop_null()):
            _keep_stored(con, e, [stored.lookup(keyed)], "r_miss")
        else:  # every changed year: a row moved from another year is stored under the year it had
            _keep_stored(con, e, stored.rows(stored.years, stored.no_year), "r_miss")
        return n_hit

    def _part_record(self, name: str, records: dict | None = None) -> dict:
        """The digests (``years``) and rows (``year_rows``) per partition of store table ``name`` as its
        last load recorded them: meta ``partitions:<name>``, or, written before session 15, ``loaded:<name>``
        (``load`` then reads the table whole: its bucket count is not recorded). Empty when not recorded.
        ``records``: a load's records read so far (at 10M patents about 0.7 MB each), this one kept in it."""
        if records is not None:
            if name not in records:
                records[name] = self._part_record(name)
            return records[name]
        for key in (f"{PARTS_META}{name}", f"loaded:{name}"):
            try:
                rec = json.loads(self._get_meta(key) or "{}")
            except ValueError:
                return {}
            if isinstance(rec, dict) and ("years" in rec or "year_rows" in rec):
                return rec
        return {}

    def _stored_part_rows(self, name: str, records: dict | None = None) -> dict[str, int]:
        """Rows of store table ``name`` per partition ``year/bucket``, as the loads recorded them
        (:meth:`_part_record`, ``year_rows``); empty when not recorded."""
        parts = self._part_record(name, records).get("year_rows", {})
        try:
            return {str(p): int(n) for p, n in parts.items()} if isinstance(parts, dict) else {}
        except (ValueError, TypeError):
            return {}

    def _run_arrow(self, statement: str, params: dict):  # pragma: no cover - engine hook
        """``statement``'s result as an Arrow table (the embedded store overrides this)."""
        import pyarrow as pa

        return pa.Table.from_pandas(self._run(statement, params), preserve_index=False)

    def _known(self, label: str, ids: list[str], whole: dict) -> list[str]:
        """Which of ``ids`` (keys of nodes ``label``) the store holds."""
        if label in whole:
            e = ENTITY[label]
            return list(whole[label].loc[isin(whole[label][e.key[0]], key_set(pd.Series(ids))), e.key[0]])
        out: list[str] = []
        for i in range(0, len(ids), FETCH_IDS):
            got = self._exec_block("load", f"known_{label}", {"ids": ids[i:i + FETCH_IDS]})
            out.extend(got["k"].tolist() if not got.empty else [])
        return out

    def _affected(self, prep, name: str):
        """The projection years that the rows about to be written (``r_new``, ``r_changed``) of store
        table ``name`` can change: "all", or ``{"app": years, "grant": years}`` for filters on the
        application and on the grant year.

        Projections and city-year counts read APPLIED.city_code, CITES, TRANSFERRED and Patent and City
        properties, by the patent's application or grant year (citations: the citing patent's; transfers:
        the transfer year). New and changed rows change their own years (the years a changed Patent or
        TRANSFERRED row had before are added by ``_stored_years``, read before the write); an APPLIED row
        also changes the years of the patents that cite its patent (the citation projection and counts
        take the cited patent's city from its links). A changed City row marks every year. Applicant and
        LOCATED_IN rows change no projection."""
        con = prep.con
        if name in ("Applicant", "LOCATED_IN"):
            return {"app": [], "grant": []}
        if name == "City":
            return "all"
        if name == "TRANSFERRED":
            ty = sorted(int(y) for (y,) in con.execute(
                "SELECT DISTINCT year FROM (SELECT year FROM r_new UNION ALL SELECT year FROM r_changed) "
                "WHERE year IS NOT NULL").fetchall())
            return {"app": ty, "grant": ty}
        col = "citing_patent_id" if name == "CITES" else "patent_id"
        rows = f"(SELECT {col} AS id FROM r_new UNION SELECT {col} FROM r_changed UNION SELECT {col} FROM r_gone)"
        # the links' partitions are chosen apart from the patents' (graph.prepare.Prepared.clean): their
        # patents' years come from the whole patents table (distinct ids whenever partitions are chosen)
        pats = "c_patents" if name == "APPLIED" and prep.link_parts is not None else "sel_patents"
        if name == "APPLIED":  # a link's city is also the cited city of the citations to its patent (CITED and
            # citations_received count them in the citing patent's year): those patents' years too
            rows = (f"(SELECT id FROM {rows} UNION SELECT c.citing_patent_id FROM c_citations c "
                    f"SEMI JOIN {rows} x ON x.id = c.cited_patent_id)")
        # one pass over the rows (for APPLIED a join of every citation) and the patents: their years, and
        # whether a patent is known only to the store (its year is not at hand: every year)
        unknown, app, grant = con.execute(
            f"SELECT count(*) FILTER (WHERE p.patent_id IS NULL), list(DISTINCT CAST(p.app_year AS BIGINT)), "
            f"list(DISTINCT year(p.grant_date)) FROM {rows} x LEFT JOIN {pats} p ON p.patent_id = x.id").fetchall()[0]
        if unknown:
            return "all"
        return {"app": sorted({int(a) for a in app or () if a is not None}),
                "grant": sorted({int(g) for g in grant or () if g is not None})}

    def counts(self) -> dict[str, int]:
        """Nodes per label and relationships per type."""
        out = {}
        for block in ("count_nodes", "count_rels"):
            df = self._exec_block("load", block)
            out.update({str(r.label): int(r.n) for r in df.itertuples()})
        return out

    # -- projections --
    def _params(self, flt: NetworkFilter, years) -> dict:
        return {**flt.params(), **year_params(years)}

    def _patent_params(self, flt: NetworkFilter, years) -> dict:
        """``_params`` plus ``app_years``/``grant_years``: the years as plain lists on the filter's year
        basis (all years in the store when ``years`` is None; ``[-1]`` for the other basis)."""
        params = self._params(flt, years)
        basis = "grant" if params["grant_year"] else "app"
        if years is None:
            listed = sorted(int(y) for y in self._exec_block("read", f"{basis}_years")["year"].dropna())
        else:
            listed = [int(y) for y in years]
        params["app_years"] = (listed or [-1]) if basis == "app" else [-1]
        params["grant_years"] = (listed or [-1]) if basis == "grant" else [-1]
        return params

    def build_projections(self, flt: NetworkFilter, years: list[int] | None = None) -> dict:
        """(Re)build COLLABORATED/TRANSFERRED_TO/CITED of ``flt.key`` for ``years`` (None: all).

        The rows are computed in the store (``cypher/projections.cypher``) and compared with the
        stored relationships of those years; only new, re-weighted and vanished edges are written
        (``cypher/projection_write.<engine>.cypher``), so rebuilding unchanged years writes nothing.
        Returns, per network, ``edges``, ``weight`` and the ``new``/``changed``/``deleted`` edge counts."""
        if self.read_only:
            raise StoreError("the store is open read-only; projections need write access",
                             fix="open it without read_only (citynet load builds them)")
        params = self._patent_params(flt, years)
        summary = {}
        for net in NETWORKS:
            fresh = edge_rows(self._exec_block("projections", f"compute_{net}", params))
            stored = edge_rows(self._exec_block("read", f"edges_{net}", params))
            new, changed, gone = edge_diff(fresh, stored)
            for op, rows in (("delete", gone), ("update", changed), ("create", new)):
                if len(rows):
                    self._write_projection(net, op, rows, flt.key)
            summary[net] = {"edges": len(fresh), "weight": int(fresh["weight"].sum()),
                            "new": len(new), "changed": len(changed), "deleted": len(gone)}
        built, stale = self._projection_state(flt)
        if years is None or built == "all":
            value = "all" if years is None else built
        else:
            value = sorted(set(built or []) | {int(y) for y in years})
        if stale == "all":
            value, stale = ("all" if years is None else sorted({int(y) for y in years})), []
        else:
            stale = [] if years is None else sorted(set(stale) - {int(y) for y in years})
        self._set_meta(f"projection:{flt.key}", json.dumps(value))
        self._set_meta(f"stale:{flt.key}", json.dumps(stale))
        return summary

    def _write_projection(self, net: str, op: str, rows: pd.DataFrame, network: str) -> None:  # pragma: no cover
        """Write projection ``rows`` (src, dst, year, weight) of ``net``: ``op`` is create/update/delete."""
        raise NotImplementedError

    def _projection_state(self, flt: NetworkFilter):
        """``(built, stale)``: the years whose projections of ``flt`` were built ("all", a list, or None)
        and the years a later load changed since ("all" or a list)."""
        raw = self._get_meta(f"projection:{flt.key}")
        st = self._get_meta(f"stale:{flt.key}")
        return (None if raw is None else json.loads(raw)), (json.loads(st) if st else [])

    def _built_years(self, flt: NetworkFilter):
        built, _ = self._projection_state(flt)
        return built

    def _stored_years(self, name: str, rows: pd.DataFrame) -> dict:
        """``{"app": years, "grant": years}`` stored for the Patent or TRANSFERRED rows' keys (read
        before they are overwritten, so that a row moved to another year marks its old year too)."""
        if name == "Patent":
            df = self._exec_block("read", "stored_patent_years", {"ids": plain(list(rows["patent_id"]))})
            return {"app": sorted({int(y) for y in df.get("app_year", pd.Series()).dropna()}),
                    "grant": sorted({int(y) for y in df.get("grant_year", pd.Series()).dropna()})}
        df = self._exec_block("read", "stored_transfer_years", {"ids": plain(list(rows["transfer_id"]))})
        ty = sorted({int(y) for y in df.get("year", pd.Series()).dropna()})
        return {"app": ty, "grant": ty}

    def _built_filters(self) -> list[str]:
        """Keys of the network filters whose projections were built."""
        df = self._exec_block("load", "meta_with_prefix", {"prefix": "projection:"})
        return [] if df.empty else [k.split(":", 1)[1] for k in df["key"]]

    def _mark_stale(self, years, filters: list[str]) -> None:
        """Add ``years`` (``_affected``) to the stale years of the network ``filters`` (a filter
        on the grant year, key ``….grantyear``, takes the grant years)."""
        for flt_key in filters:
            add = years if years == "all" else years["grant" if flt_key.endswith(".grantyear") else "app"]
            # stale: the projections to rebuild (build_projections clears them); behind: the panels that
            # no longer show the store (cleared by the metrics run that recomputes those years)
            for key in (f"stale:{flt_key}", f"{BEHIND_META}{flt_key}"):
                old = self._get_meta(key)
                self._set_meta(key, json.dumps(_merge_years(json.loads(old) if old else [], add)))

    def panels_behind(self, flt_key: str) -> list[int] | str:
        """The years (or "all") whose store rows a load changed since the panels of network filter
        ``flt_key`` were computed (:meth:`panels_computed`): those panel years no longer show the store,
        e.g. every year whose applicants an ``ingest --append`` re-located, after a ``metrics --years``
        of the new year only."""
        raw = self._get_meta(f"{BEHIND_META}{flt_key}")
        return json.loads(raw) if raw else []

    def panels_computed(self, flt_key: str, years: list[int] | None, panel_years: list[int]) -> list[int]:
        """Record that the panels of ``flt_key`` were computed from the store as it is for ``years`` (None:
        every year); returns the years of ``panel_years`` still behind the store (:meth:`panels_behind`)."""
        behind = self.panels_behind(flt_key)
        if years is None:
            left: list[int] = []
        else:  # (a year outside the panels is not shown by them: a refresh that adds it computes it)
            was = set(panel_years) if behind == "all" else {int(y) for y in behind}
            left = sorted((was - {int(y) for y in years}) & {int(y) for y in panel_years})
        if behind or left:
            self._set_meta(f"{BEHIND_META}{flt_key}", json.dumps(left))
        return left

    def missing_years(self, flt: NetworkFilter, years=None):
        """The years of ``flt`` to (re)build before reading ``years`` (None: every year): None means
        all of them, a list those years ([] nothing): never built, or changed by a load since."""
        built, stale = self._projection_state(flt)
        if built is None or stale == "all":
            return None if years is None else sorted({int(y) for y in years})
        if years is None:
            return sorted(stale) if built == "all" else None
        req = {int(y) for y in years}
        missing = set() if built == "all" else req - set(built)
        return sorted(missing | (req & set(stale)))

    def projections_current(self, flt: NetworkFilter) -> bool:
        """Whether the projections of ``flt`` are built for every year and no load changed them since."""
        return self.missing_years(flt) == []

    def refresh_projections(self, flt: NetworkFilter) -> dict | None:
        """Build what ``missing_years`` names for every year: all years when never built, only the years
        that loads changed otherwise; None when nothing is missing."""
        missing = self.missing_years(flt)
        if missing == []:
            return None
        return self.build_projections(flt, missing)

    def patent_years(self, basis: str | None = None) -> set[int]:
        """The years of the stored patents (a scan of every patent): application and grant years, or those of
        one ``basis`` (``application``, ``grant``: a filter's year basis)."""
        blocks = {"application": ["app_years"], "grant": ["grant_years"]}.get(basis, ["app_years", "grant_years"])
        return {int(y) for block in blocks for y in self._exec_block("read", block)["year"].dropna()}

    def has_patents(self, years, basis: str | None = None) -> bool:
        """Whether a stored patent was filed or granted in one of ``years`` (the scan stops at the first); of one
        ``basis`` only (``application``: filed, ``grant``: granted), as :meth:`patent_years`."""
        block = {"application": "any_patent_filed_in", "grant": "any_patent_granted_in"}.get(basis, "any_patent_of_years")
        return not self._exec_block("read", block, {"years": [int(y) for y in years]}).empty

    def city_edges(self, flt: NetworkFilter, years: list[int] | None = None) -> pd.DataFrame:
        """``network, year, src, dst, weight``; builds the filter's missing or stale projections first."""
        if not self.read_only:
            missing = self.missing_years(flt, years)
            if missing is None or missing:
                self.build_projections(flt, missing)
        return self._read_edges(flt, years)

    def _read_edges(self, flt, years) -> pd.DataFrame:
        params = self._params(flt, years)
        frames = []
        for net in NETWORKS:
            df = self._exec_block("read", f"edges_{net}", params)
            frames.append(df.reindex(columns=["year", "src", "dst", "weight"]).assign(network=net))
        out = pd.concat(frames, ignore_index=True).reindex(columns=EDGE_COLUMNS)
        out = out.astype({"network": str, "year": "int64", "src": str, "dst": str, "weight": "int64"})
        return out.sort_values(["network", "year", "src", "dst"]).reset_index(drop=True)

    def city_year_counts(self, flt: NetworkFilter, years: list[int] | None = None) -> pd.DataFrame:
        """``city_code, year`` and the counts of graph/network_filter.py (the non-zero city-years)."""
        params = self._patent_params(flt, years)
        key = ["city_code", "year"]
        frames = []
        for block in ("counts_patents", "counts_collab", "counts_received"):
            df = self._exec_block("read", block, params)
            if not df.empty:
                frames.append(df.astype({"city_code": str, "year": "int64"}).set_index(key))
        tr = self._exec_block("read", "counts_transfers", params)
        if not tr.empty:
            tr = tr.astype({"year": "int64", "src": str, "dst": str, "same_province": "int64", "n": "int64"})
            local = tr[tr["src"] == tr["dst"]]
            other = tr[tr["src"] != tr["dst"]].assign(ip=lambda d: d["same_province"] * d["n"])
            out_ = other.groupby(["src", "year"]).agg(transfers_out=("n", "sum"), ip_out=("ip", "sum"))
            in_ = other.groupby(["dst", "year"]).agg(transfers_in=("n", "sum"), ip_in=("ip", "sum"))
            loc = local.groupby(["src", "year"])["n"].sum().rename("transfers_local").to_frame()
            for f in (out_, in_, loc):
                f.index.names = key
                frames.append(f)
        if not frames:
            return count_frame(pd.DataFrame(columns=[*key, *COUNT_COLUMNS]))
        df = pd.concat(frames, axis=1).fillna(0)
        df = df.reindex(columns=[*COUNT_COLUMNS, "ip_out", "ip_in"], fill_value=0)
        df["transfers_other"] = df["transfers_out"] + df["transfers_in"]
        df["transfers_intraprov"] = df["ip_out"] + df["ip_in"]
        return count_frame(df.drop(columns=["ip_out", "ip_in"]).reset_index())


def _years_label(years) -> str:
    ys = sorted(years, key=lambda y: (y == "none", y))
    return ", ".join(ys[:6]) + (f" (+{len(ys) - 6})" if len(ys) > 6 else "")


def _year_groups(years: list[int], rows: dict[int, int], limit: int) -> list[list[int]]:
    """``years`` in ascending groups of at most ``limit`` recorded ``rows`` each (a year over the limit is
    a group of its own; a year without a record counts 0).

    >>> _year_groups([2011, 2012, 2013, 2014], {2011: 5, 2012: 4, 2013: 9, 2014: 1}, 10)
    [[2011, 2012], [2013, 2014]]
    """
    groups: list[list[int]] = []
    n = 0
    for y in sorted(years):
        k = rows.get(y, 0)
        if groups and n + k <= limit:
            groups[-1].append(y)
            n += k
        else:
            groups.append([y])
            n = k
    return groups


class _Stored:
    """The stored keys and row hashes of store table ``e`` that a load's diff can match: ``whole`` (a
    store read whole, e.g. Neo4j), or on the embedded store those of the patents of ``years`` (of
    patents without a year: ``no_year``) and of the patents ``ids`` (outside the canonical tables),
    fetched as they are asked for."""

    def __init__(self, store, e, years: list[int], no_year: bool, ids, whole=None, parts: set[str] | None = None,
                 records: dict | None = None):
        self.store, self.e, self.years, self.no_year, self.ids, self.whole = store, e, years, no_year, ids, whole
        self.records = records  # the load's partitions records (BaseStore._part_record)
        self.parts = parts  # the partitions whose digests changed (None: every one)
        self.matched = 0  # stored rows the diff matched with prepared ones (set by BaseStore._load_entity)
        self.schema = ENTITY_SCHEMA(e.name, key_only=True)

    @functools.cached_property
    def part_rows(self) -> dict[str, int]:
        """Rows of ``e`` per partition ``year/bucket`` as the loads recorded them (read once per diff:
        the meta is written after every table's diff)."""
        return self.store._stored_part_rows(self.e.name, self.records)

    @functools.cached_property
    def year_rows(self) -> dict[int, int]:
        """:attr:`part_rows` per application year; empty when not recorded."""
        out: dict[int, int] = {}
        for part, n in self.part_rows.items():
            head = part.split("/")[0]
            if head.isdigit():
                out[int(head)] = out.get(int(head), 0) + n
        return out

    def rows(self, years: list[int], no_year: bool):
        """The rows of the patents of ``years`` (and without a year: ``no_year``), one query per group
        of years of about :data:`FETCH_ROWS` recorded rows (the patents without a year with the first)."""
        s = self.store
        asks = [{"years": group, "no_year": no_year and i == 0}
                for i, group in enumerate(_year_groups(years, self.year_rows, FETCH_ROWS))]
        if no_year and not asks:
            asks = [{"years": [], "no_year": True}]
        if not asks:
            return
        (stmt,) = s._blocks("load")[f"fetch_years_{self.e.name}"]
        for ask in asks:
            t = s._run_arrow(stmt, ask)
            if t.num_rows:
                yield t.select(self.schema.names).cast(self.schema)

    def not_new(self, con) -> None:
        """Drop from ``years`` and ``no_year`` the changed partitions whose prepared rows (``r_rows``) all
        belong to patents in ``new_patents`` (those the ``Patent`` diff of this load found absent from the
        store): a stored relationship needs its nodes, so the rows of a new patent are new. A changed
        partition with no prepared row (its rows moved to another year, or deleted) is kept: the store
        still holds its rows under the year it has."""
        from citynet.graph.prepare import PART_KEY

        old = {str(p) for (p,) in con.execute(
            f"SELECT DISTINCT r._part FROM r_rows r ANTI JOIN new_patents n ON n.patent_id = r.{PART_KEY[self.e.name]}"
        ).fetchall()}
        prepared = {str(p) for (p,) in con.execute("SELECT DISTINCT _part FROM r_rows").fetchall()}
        if self.parts is None:  # every year was to be read: the units are years
            kept = {str(y) for y in self.years if str(y) not in {p.split("/")[0] for p in prepared - old}}
            kept |= {p.split("/")[0] for p in old}
            heads = kept | ({"none"} if "none" in old or "none" not in prepared else set())
        else:  # (a partition that no load recorded rows of holds none, unless nothing was recorded; one
            # that held rows may hold rows the canonical tables no longer have: BaseStore._find_gone)
            recorded = self.part_rows
            heads = {p.split("/")[0] for p in self.parts if p in old or not recorded or recorded.get(p, 0) > 0}
        self.years = [y for y in self.years if str(y) in heads]
        self.no_year = self.no_year and "none" in heads

    def hashes(self):
        """The ``row_hash`` of every stored row (one scan of the relationship or node table)."""
        import pyarrow as pa

        (stmt,) = self.store._blocks("load")[f"fetch_hashes_{self.e.name}"]
        t = self.store._run_arrow(stmt, {})
        yield t.select(["row_hash"]).cast(pa.schema([self.schema.field("row_hash")]))

    def extra(self):
        """The rows read whole, or those of the patents ``ids``."""
        import pyarrow as pa

        if self.whole is not None:
            yield self.whole
            return
        for i in range(0, len(self.ids), FETCH_IDS):
            got = self.store._exec_block("load", f"fetch_ids_{self.e.name}",
                                         {"ids": self.ids.slice(i, FETCH_IDS).to_pylist()})
            if not got.empty:
                yield pa.Table.from_pandas(got[[*self.e.key, "row_hash"]], preserve_index=False).cast(self.schema)

    def lookup(self, keys):
        """The stored rows with the keys ``keys`` (an Arrow table of ``e``'s key columns), one statement
        per key (:meth:`BaseStore._run_each`)."""
        import pyarrow as pa

        (stmt,) = self.store._blocks("load")[f"fetch_key_{self.e.name}"]
        got = list(self.store._run_each(stmt, keys.to_pylist(), self.schema))
        return pa.concat_tables(got) if got else self.schema.empty_table()


def _keep_stored(con, e, tables, rows: str = "r_rows") -> None:
    """Add to ``stored_raw`` the rows of ``tables`` (keys and row hashes of ``e``) whose key is in the
    DuckDB table ``rows`` (the prepared rows, or those the row-hash match missed)."""
    on = " AND ".join(f"s.{k} = r.{k}" for k in e.key)
    _insert_parts(con, tables, f"INSERT INTO stored_raw SELECT {', '.join('s.' + k for k in e.key)}, s.row_hash "
                               f"FROM stored_arrow s SEMI JOIN {rows} r ON {on}")


def _insert_parts(con, tables, sql: str) -> None:
    """Run ``sql`` (an ``INSERT`` reading the view ``stored_arrow``) on DuckDB ``con`` once per Arrow table
    of ``tables``, each registered as ``stored_arrow`` while it runs (the stored rows arrive part by part)."""
    for part in tables:
        con.register("stored_arrow", part)
        con.execute(sql)
        con.unregister("stored_arrow")


def _merge_years(a, b):
    """Union of two year sets, each "all", a list, or ``{"app": list, "grant": list}``."""
    if a == "all" or b == "all":
        return "all"
    if isinstance(a, dict) or isinstance(b, dict):
        a = a if isinstance(a, dict) else {"app": a, "grant": a}
        b = b if isinstance(b, dict) else {"app": b, "grant": b}
        return {k: _merge_years(a[k], b[k]) for k in ("app", "grant")}
    return sorted({int(y) for y in a} | {int(y) for y in b})


EDGE_KEY = ["src", "dst", "year"]


def edge_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Projection rows as ``src, dst, year, weight`` with fixed dtypes (an empty result included)."""
    df = df.reindex(columns=[*EDGE_KEY, "weight"])
    return df.astype({"src": str, "dst": str, "year": "int64", "weight": "int64"})


def edge_diff(fresh: pd.DataFrame, stored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(new, changed, gone)``: edges of ``fresh`` not stored, stored with another weight (the fresh
    weight), and stored edges that ``fresh`` no longer has."""
    both = fresh.merge(stored, on=EDGE_KEY, how="outer", suffixes=("", "_stored"), indicator=True)
    new = both.loc[both["_merge"] == "left_only", [*EDGE_KEY, "weight"]]
    gone = both.loc[both["_merge"] == "right_only", [*EDGE_KEY, "weight_stored"]].rename(columns={"weight_stored": "weight"})
    same_key = both[both["_merge"] == "both"]
    changed = same_key.loc[same_key["weight"] != same_key["weight_stored"], [*EDGE_KEY, "weight"]]
    return tuple(edge_rows(d).reset_index(drop=True) for d in (new, changed, gone))


# LadybugDB's page cache (its own default is 80 % of the machine's memory). Its COPYs' partitions count
# against it: at 10M patents 1GB made APPLIED's COPY evict and re-read pages (58 s, 18 s of it in the
# kernel), 2GB not (36 s); what the copies free is returned (citynet/memory.py), so the load's peak fell
# all the same (docs/scale.md, "Thirteenth round (session 19)")
DEFAULT_BUFFER_POOL = "2GB"


def size_bytes(value, what: str) -> int:
    """``"2GB"``, ``"512MB"``, ``"1.5GiB"`` as bytes; a number without a unit or anything else is a usage error
    (``citynet.workspace.parse_size``)."""
    from citynet.workspace import parse_size

    return parse_size(value, what)


def load_settings(ws) -> dict:
    """``memory_limit`` and ``batch_rows`` of ``store.load`` from ``[store] load_memory_limit`` and
    ``load_batch_rows`` (defaults: graph/prepare.py), checked: ``load`` calls it before it touches the store.
    The limit is handed to DuckDB as number and unit (``"5 GB"`` → ``"5GB"``); a plain ``5`` (DuckDB: "Unknown unit
    for memory") is refused here."""
    import re

    from citynet.errors import UserError

    s = _store_settings(ws)
    limit = s.get("load_memory_limit")
    if limit is not None:
        size_bytes(limit, "[store] load_memory_limit")
        limit = re.sub(r"\s+", "", str(limit))
    rows = s.get("load_batch_rows")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise UserError(f"[store] load_batch_rows = {rows!r} is not a whole number of rows", fix="e.g. 500000")
    return {"memory_limit": limit, "batch_rows": rows}


def _store_settings(ws) -> dict:
    return dict(ws.settings.get("store", {}))


NEO4J_DEFAULTS = {"uri": "bolt://localhost:7687", "user": "neo4j", "database": "neo4j"}


def _refuse_empty(ws, settings: dict, **given) -> None:
    """An empty ``--uri``/``--user`` or ``[store] uri``/``user``/``database``/``password_env`` (``uri = ""``) was
    silently replaced by the default: one message each (exit 2). An empty setting is refused also when the option
    is given (``--uri`` over ``uri = ""`` went on without a word), as citynet.toml's other mistakes are."""
    from citynet.errors import UserError

    for key, default in NEO4J_DEFAULTS.items():
        if given.get(key) is not None and not str(given[key]).strip():
            raise UserError(f"--{key} is empty", fix=f"give it (e.g. --{key} {default}), or leave the option out "
                                                     f"([store] {key} of citynet.toml, else {default})")
    for key, default in {**NEO4J_DEFAULTS, "password_env": "NEO4J_PASSWORD"}.items():
        value = settings.get(key)
        if value is not None and not str(value).strip():
            option = f" (--{key} is given, but the line is still a mistake of the file)" if given.get(key) else ""
            raise UserError(f"{ws.config_path} [store] {key} is empty{option}",
                            fix=f'write the value (e.g. {key} = "{default}"), or remove the line (the default is '
                                f"{default})")


def open_store(ws, backend: str | None = None, uri: str | None = None, user=None, password=None,
               read_only: bool = False, buffer_pool: tuple[str, str] | None = None) -> GraphStore:
    """The workspace's store: ``backend`` (default ``[store] backend``), for Neo4j ``uri``/``user``/
    ``password`` (defaults: ``[store]``, the password also from ``$NEO4J_PASSWORD``).
    ``read_only=True`` opens it so that the engine itself refuses writes. ``buffer_pool``: (size, name
    of the setting it comes from) instead of ``[store] buffer_pool`` (``citynet metrics``)."""
    s = _store_settings(ws)
    backend = backend or s.get("backend") or "embedded"
    if backend == "embedded":
        from citynet.graph.embedded import EmbeddedStore

        pool, what = buffer_pool or (s.get("buffer_pool", DEFAULT_BUFFER_POOL), "[store] buffer_pool")
        return EmbeddedStore(Path(ws.store), read_only=read_only, buffer_pool=size_bytes(pool, what))
    if backend == "neo4j":
        from citynet.graph.neo4j_store import PASSWORD_ENV, Neo4jStore

        _refuse_empty(ws, s, uri=uri, user=user)
        env = s.get("password_env") or PASSWORD_ENV
        # --password, then [store] password, then the variable (docs/configuration.md); the source is named
        # when the server refuses the password
        source = next(((what, value) for what, value in (("--password", password),
                                                          ("citynet.toml [store] password", s.get("password")),
                                                          (f"env {env}", os.environ.get(env))) if value), (None, None))
        return Neo4jStore(
            uri or s.get("uri") or NEO4J_DEFAULTS["uri"],
            user or s.get("user") or NEO4J_DEFAULTS["user"],
            source[1],
            database=s.get("database") or NEO4J_DEFAULTS["database"],
            read_only=read_only,
            password_from=source[0],
            password_env=env,
        )
    raise StoreError(f"unknown store backend {backend!r}", fix="use --store embedded or --store neo4j ([store] backend)")
