"""The rows of the store tables computed by DuckDB from the canonical Parquet files, streamed in
bounded batches: the load's memory is set by ``[store] load_memory_limit`` (DuckDB's limit; it
spills to a temporary folder beyond it) and ``[store] load_batch_rows`` (rows per Arrow batch handed
to the store), not by the corpus.

The SQL applies the cleaning rules of ``graph.tables`` (module docstring there; the pandas
``clean`` + ``entity_rows`` are the reference these rows are tested against):

- duplicate natural keys keep the last row in file order (``patent_applicants``: the lowest ``seq``,
  ties to the earlier row);
- a city code outside ``cities`` is stored as unknown (null);
- links, transfers and citations whose patent or applicant is unknown (neither in the canonical
  tables nor already in the store) are dropped; a citation whose cited patent is unknown is kept
  for the reference counts only.

``row_hash`` is DuckDB's 64-bit ``hash`` of the row's typed values (a ``struct_pack`` of the store
columns), shifted into the signed range: ``graph.tables.row_hash`` computes the same number from a
pandas frame, so the Neo4j offline importer's rows and these agree.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
from citynet.etl.schema import CANONICAL
from citynet.graph.load_years import part_expr
from citynet.graph.tables import (
    APPLICANT_COLS,
    CITY_COLS,
    ENTITY,
    PATENT_COLS,
    STORE_TYPES,
    TABLES,
    arrow_schema,
)

from citynet.errors import DataError
from citynet.sqltext import sql_string

DEFAULT_MEMORY_LIMIT = "2GB"
DEFAULT_BATCH_ROWS = 500_000
SQL_TYPES = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN",
             pa.date32(): "DATE", pa.list_(pa.string()): "VARCHAR[]"}
NO_YEAR = "none"
# the link key of each partitioned store table (its rows belong to this patent's partition)
PART_KEY = {"Patent": "patent_id", "APPLIED": "patent_id", "CITES": "citing_patent_id"}


def sql_type(col: str) -> str:
    return SQL_TYPES[STORE_TYPES.get(col, pa.string())]


def hash_expr(cols) -> str:
    """``row_hash`` of a row of ``cols`` (DuckDB ``hash`` of a struct, as a signed 64-bit integer)."""
    packed = ", ".join(f'"{c}" := "{c}"' for c in cols)
    return f"CAST(CAST(hash(struct_pack({packed})) AS HUGEINT) - 9223372036854775808 AS BIGINT)"


def connect(memory_limit: str | None = None, temp_dir: Path | None = None):
    """An in-memory DuckDB with two threads, the memory limit and a spill folder."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 2")
    con.execute(f"SET memory_limit = '{(memory_limit or DEFAULT_MEMORY_LIMIT).replace(chr(39), '')}'")
    if temp_dir is not None:
        con.execute(f"SET temp_directory = {sql_string(temp_dir)}")
    con.execute("SET preserve_insertion_order = true")
    return con


class Prepared:
    """The canonical tables of ``canonical_dir`` as DuckDB views (``c_<table>``, with ``rn`` = row in
    file order), the partition of every patent (``py``), and the SQL of each store table's rows.

    ``parts``: None for every row; else the partitions (``"YYYY/b"``, ``"none"``) whose
    ``patents`` and ``citations`` rows are prepared, and ``link_parts`` those of ``patent_applicants``
    (the small tables are always whole). ``known(label, ids)`` returns which of ``ids`` the store already holds (keys of
    ``Patent`` or ``Applicant``): they count as known for links whose patent or applicant is not in
    the canonical tables."""

    def __init__(self, canonical_dir: Path, memory_limit: str | None = None, batch_rows: int | None = None):
        self.dir = Path(canonical_dir)
        self.batch_rows = int(batch_rows or DEFAULT_BATCH_ROWS)
        self.memory_limit = memory_limit or DEFAULT_MEMORY_LIMIT
        self._tmp = tempfile.TemporaryDirectory(prefix="citynet-load-")
        self.con = connect(memory_limit, Path(self._tmp.name))
        self.present: dict[str, bool] = {}
        for name in TABLES:
            self._view(name)
        self.repeated = self._partitions()
        self.parts: set[str] | None = None
        self.link_parts: set[str] | None = None
        # set by the store's load once the temporary table ``new_patents`` holds the patents its Patent
        # diff found absent from the store (graph.store.BaseStore._match_hashes)
        self.new_patents = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()
        self._tmp.cleanup()

    def release(self) -> None:
        """Close DuckDB and remove its spill folder now (its memory is returned before the store copies
        the rows written by ``write_batches``, the pages it freed to the kernel too: they stayed in the C
        library's arenas, ``citynet/memory.py``); the relations are gone after this."""
        from citynet.memory import return_freed_memory

        self.close()
        return_freed_memory()

    def share_memory(self, fraction: float, threads: int | None = None) -> None:
        """Lower DuckDB's memory limit to ``fraction`` of the load's (``memory_limit``), and its threads to
        ``threads`` when given: the rest is left to the store, which copies the tables already prepared
        while DuckDB prepares the next ones (``graph.store.BaseStore._stage_beside_copies``); beyond the
        new limit DuckDB spills."""
        import re

        if threads is not None:
            self.con.execute(f"SET threads TO {int(threads)}")

        # the number scaled in the unit it was given in, as DuckDB reads units ("2GB": 10^9 bytes)
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", self.memory_limit)
        if m is None:
            return
        self.con.execute(f"SET memory_limit = '{float(m.group(1)) * fraction:.6g}{m.group(2) or 'B'}'")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the canonical tables --
    def _view(self, name: str) -> None:
        f = self.dir / f"{name}.parquet"
        schema = CANONICAL[name]
        if not f.exists():
            if name == "cities":
                raise DataError(f"{f} is missing", fix=f"run `citynet ingest -w {self.dir.parent}` first")
            empty = schema.empty_table()
            self.con.register(f"e_{name}", empty)
            self.con.execute(f"CREATE TEMP VIEW c_{name} AS SELECT *, CAST(0 AS BIGINT) AS rn FROM e_{name}")
            self.present[name] = False
            return
        try:
            have = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(f)})").fetchall()]
        except Exception as exc:  # duckdb raises several types for a damaged file
            raise DataError(f"{f}: cannot read ({exc})", fix="re-run `citynet ingest` to rewrite it") from exc
        missing = [c for c in schema.names if c not in have and not c.startswith("source_")]
        if name == "patents":  # optional columns may be absent, but never the key
            missing = [c for c in missing if c in ("patent_id", "app_date", "app_year")]
        if missing:
            raise DataError(f"{f}: missing columns {missing}",
                            fix="re-run `citynet ingest` on the exports: it writes every canonical table with its columns")
        cols = []
        for c in schema.names:
            if c.startswith("source_"):
                continue
            typ = {pa.string(): "VARCHAR", pa.list_(pa.string()): "VARCHAR[]"}.get(schema.field(c).type)
            cols.append(f'"{c}"' if c in have else f'CAST(NULL AS {typ or "VARCHAR"}) AS "{c}"')
        self.con.execute(f"CREATE TEMP VIEW c_{name} AS SELECT {', '.join(cols)}, file_row_number AS rn "
                         f"FROM read_parquet({sql_string(f)}, file_row_number = true)")
        self.present[name] = True

    def _partitions(self) -> bool:
        """``py``: every patent's partition; returns whether a ``patent_id`` is repeated."""
        self.con.execute(f"""
            CREATE TEMP TABLE py AS SELECT patent_id, app_year, {part_expr()} AS part, rn FROM c_patents""")
        n, distinct = self.con.execute("SELECT count(*), count(DISTINCT patent_id) FROM py").fetchall()[0]
        # one partition per patent_id (a repeated id: its last row's, as the cleaning keeps it)
        if n != distinct:
            self.con.execute("""CREATE TEMP TABLE pyu AS SELECT patent_id, part FROM py
                                QUALIFY row_number() OVER (PARTITION BY patent_id ORDER BY rn DESC) = 1""")
        else:  # the same rows: not copied
            self.con.execute("CREATE TEMP VIEW pyu AS SELECT patent_id, part FROM py")
        return n != distinct

    def cities_key(self) -> str:
        """A digest of the city set (the codes a link's ``city_code`` is checked against): what the
        partition digests depend on in ``cities``, whatever the file's bytes."""
        import hashlib

        (codes,) = self.con.execute("SELECT coalesce(string_agg(DISTINCT CAST(city_code AS VARCHAR), ',' "
                                    "ORDER BY CAST(city_code AS VARCHAR)), '') FROM c_cities").fetchall()[0]
        return hashlib.blake2b(codes.encode(), digest_size=16).hexdigest()

    def rows_of(self, names=TABLES) -> int:
        """Rows of the canonical tables ``names`` (Parquet footers)."""
        import pyarrow.parquet as pq

        total = 0
        for name in names:
            f = self.dir / f"{name}.parquet"
            if self.present.get(name):
                with contextlib.suppress(Exception):
                    total += pq.ParquetFile(f).metadata.num_rows
        return total

    # -- cleaning --
    def clean(self, parts: set[str] | None, known: Callable[[str, list[str]], list[str]] | None = None,
              link_parts: set[str] | None = ...) -> None:
        """Build the cleaned relations for ``parts`` (None: every row) of ``patents`` and ``citations``
        and ``link_parts`` (default: ``parts``) of ``patent_applicants``: each store table reads the
        partitions whose own digest changed (``graph.load_years``), so an applicant re-located by the
        corpus vote re-reads its links' partitions, not their patents and citations. ``known`` looks
        keys up in the store."""
        con = self.con
        if link_parts is ...:
            link_parts = parts
        if (parts is None) != (link_parts is None):
            raise ValueError("parts and link_parts: both None (every row) or both sets")
        self.parts, self.link_parts = parts, link_parts
        con.execute("CREATE OR REPLACE TEMP TABLE city_set AS SELECT DISTINCT CAST(city_code AS VARCHAR) AS code "
                    "FROM c_cities WHERE city_code IS NOT NULL")
        con.execute("""CREATE OR REPLACE TEMP TABLE cl_cities AS SELECT * FROM c_cities
                       QUALIFY row_number() OVER (PARTITION BY city_code ORDER BY rn DESC) = 1""")
        con.execute("""CREATE OR REPLACE TEMP TABLE cl_applicants AS
                       SELECT * REPLACE (CASE WHEN city_code IN (SELECT code FROM city_set) THEN city_code END AS city_code)
                       FROM c_applicants
                       QUALIFY row_number() OVER (PARTITION BY applicant_id ORDER BY rn DESC) = 1""")
        # the partitions read: patents, and links and citations by their (citing) patent's partition
        def picked(table: str, chosen: set[str] | None) -> tuple[str, str]:
            """(the WHERE of ``chosen``'s rows by ``py.part``, the clause adding rows without a patent)."""
            if chosen is None:
                return "TRUE", ""
            con.register("wanted_arrow", pa.table({"part": pa.array(sorted(p for p in chosen if p != NO_YEAR), pa.string())}))
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT part FROM wanted_arrow")
            con.unregister("wanted_arrow")
            none = NO_YEAR in chosen
            return (f"(py.part IN (SELECT part FROM {table}){' OR py.part IS NULL' if none else ''})",
                    " OR py.patent_id IS NULL" if none else "")

        pick, orphan = picked("wanted", parts)
        lpick, lorphan = picked("wanted_links", link_parts)
        dedupe = ("QUALIFY row_number() OVER (PARTITION BY p.patent_id ORDER BY p.rn DESC) = 1"
                  if self.repeated else "")
        if parts is None:
            con.execute(f"CREATE OR REPLACE TEMP VIEW sel_patents AS SELECT p.* FROM c_patents p {dedupe}")
        else:  # repeated ids never take the per-partition path (graph.load_years)
            # a partition is its patent's year and a bucket: the same condition on app_year lets DuckDB skip
            # the other years' row groups of the year-sorted patents (etl/stream.py: write_patents)
            con.execute(f"""CREATE OR REPLACE TEMP TABLE sel_patents AS SELECT p.* FROM c_patents p
                            JOIN pyu py USING (patent_id) WHERE {pick} AND {_year_filter(parts)}""")
        # links and citations carry their (citing) patent's partition (part_) and whether that patent is
        # a canonical one (canon_). Each relation below is stored in a temporary table (DuckDB spills
        # them beyond the memory limit) and each statement holds at most one hash table over every
        # patent: with DuckDB 2.0, a statement that probed two or three such tables and sorted or
        # windowed the result ran out of memory at any limit once the corpus was large enough
        # (docs/scale.md, "The load's memory at 10,000,000 patents")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE sel_links AS
                        SELECT l.*, py.part AS part_, py.patent_id IS NOT NULL AS canon_ FROM c_patent_applicants l
                        LEFT JOIN pyu py ON py.patent_id = l.patent_id WHERE {lpick}{lorphan}""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE sel_citations AS
                        SELECT c.*, py.part AS part_, py.patent_id IS NOT NULL AS canon_ FROM c_citations c
                        LEFT JOIN pyu py ON py.patent_id = c.citing_patent_id WHERE {pick}{orphan}""")
        # keys: every canonical patent and applicant, plus those the store holds among the rest (extra_pat)
        # (without a repeated id, ``py``'s ids are distinct and not null: no hash aggregate needed)
        distinct = "DISTINCT " if self.repeated else ""
        con.execute(f"CREATE OR REPLACE TEMP TABLE known_pat AS SELECT {distinct}patent_id FROM py WHERE patent_id IS NOT NULL")
        con.execute("CREATE OR REPLACE TEMP TABLE extra_pat (patent_id VARCHAR)")
        con.execute("CREATE OR REPLACE TEMP TABLE known_app AS SELECT DISTINCT applicant_id FROM cl_applicants "
                    "WHERE applicant_id IS NOT NULL")
        if known is not None:
            self._add_known(known)
        con.execute("""CREATE OR REPLACE TEMP TABLE cl_links AS
            SELECT l.patent_id, l.applicant_id, l.seq,
                   CASE WHEN l.city_code IN (SELECT code FROM city_set) THEN l.city_code END AS city_code, l.rn, l.part_
            FROM sel_links l
            WHERE (l.canon_ OR l.patent_id IN (SELECT patent_id FROM extra_pat))
              AND l.applicant_id IN (SELECT applicant_id FROM known_app)
            QUALIFY row_number() OVER (PARTITION BY l.patent_id, l.applicant_id ORDER BY l.seq ASC NULLS LAST, l.rn) = 1""")
        con.execute("""CREATE OR REPLACE TEMP TABLE cl_citations AS
            SELECT c.citing_patent_id, k.patent_id AS cited_patent_id, c."foreign", c.rn, c.part_
            FROM sel_citations c LEFT JOIN known_pat k ON k.patent_id = c.cited_patent_id
            WHERE c.canon_ OR c.citing_patent_id IN (SELECT patent_id FROM extra_pat)""")

    def _add_known(self, known) -> None:
        """Add to ``known_pat``/``known_app`` the referenced keys outside the canonical tables that the
        store holds (a store loaded from an earlier corpus)."""
        con = self.con
        # without the "none" partition, every selected link and citation has its patent in ``patents``
        orphans = self.parts is None or NO_YEAR in self.parts or NO_YEAR in self.link_parts
        refs = {  # (a canonical patent is known: canon_)
            "Patent": ("""SELECT patent_id AS k FROM sel_links WHERE NOT canon_
                         UNION SELECT citing_patent_id FROM sel_citations WHERE NOT canon_
                         UNION """ if orphans else "") + "SELECT cited_patent_id AS k FROM sel_citations",
            "Applicant": """SELECT applicant_id AS k FROM sel_links UNION SELECT from_applicant_id FROM c_transfers
                            UNION SELECT to_applicant_id FROM c_transfers""",
        }
        for label, table, col in (("Patent", "known_pat", "patent_id"), ("Applicant", "known_app", "applicant_id")):
            ids = con.sql(f"SELECT DISTINCT r.k FROM ({refs[label]}) r ANTI JOIN {table} t ON t.{col} = r.k "
                          "WHERE r.k IS NOT NULL ORDER BY 1").to_arrow_table().column(0).to_pylist()
            if ids:
                found = known(label, ids)
                if found:
                    con.register("found_arrow", pa.table({col: pa.array(sorted(set(found)), pa.string())}))
                    con.execute(f"INSERT INTO {table} SELECT {col} FROM found_arrow")
                    if label == "Patent":
                        con.execute("INSERT INTO extra_pat SELECT patent_id FROM found_arrow")
                    con.unregister("found_arrow")

    # -- store rows --
    def rows_sql(self, name: str, part: bool = False) -> str:
        """The SQL of store table ``name``'s rows (declared columns, store types, ``row_hash``) and their
        fixed order (column ``_o``: not sorted here — store the rows, then read them ``ORDER BY _o``,
        since DuckDB 2.0 ran out of memory sorting a join's output in the same statement); with
        ``part``, also each row's partition (``_part``)."""
        e = ENTITY[name]
        cols = [c for c in e.columns if c != "row_hash"]
        typed = _casts(cols)
        extra = f", coalesce(_part, '{NO_YEAR}') AS _part" if part else ""
        body = _BODY[name].replace("{part}", part_expr("p."))  # (built from load_years.BUCKETS when asked)
        inner = f"SELECT {typed}, _o{extra} FROM ({body})"
        return f"SELECT *, {hash_expr(cols)} AS row_hash FROM ({inner})"

    def write_batches(self, name: str, part: bool, folder: Path,
                      report: Callable[[str, int, int], None]) -> tuple[list[tuple[Path, int]], int, dict[str, int]]:
        """Write the rows of store table ``name`` in order to Parquet files of ``batch_rows`` rows in
        ``folder`` (uncompressed, the store's column types: each file is one ``COPY``); returns the
        files with their rows, the rows and, with ``part``, the rows per partition."""
        if name == "Patent" and self.parts is None and not self.repeated:
            return self._write_patents_in_file_order(part, folder, report)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE r_rows AS {self.rows_sql(name, part=part)}")
        ((total,),) = self.con.execute("SELECT count(*) FROM r_rows").fetchall()  # (a stored table: its row count)
        out = self.write_files("r_rows", name, folder, report, total, part=part)
        self.con.execute("DROP TABLE r_rows")
        return out

    def _write_patents_in_file_order(self, part: bool, folder: Path, report: Callable[[str, int, int], None]
                                     ) -> tuple[list[tuple[Path, int]], int, dict[str, int]]:
        """``Patent``'s rows when every patent is read and no id is repeated: the canonical rows in file
        order (``_o``) without sorting them. DuckDB keeps a single table's row order through projections
        (``preserve_insertion_order``; a join does not promise it), so the patents are streamed from
        their file alone; each patent's citation counts, the one join, come in file order from a sort of
        two numbers per patent (``ORDER BY rn``) and are placed beside each batch by position; the row
        hash is then computed over each batch, again a single table. The sort of every column that
        ``rows_sql`` needs for this order took 26 s of the 36 s of these rows at 10M patents
        (docs/scale.md, "Twelfth round (session 18)")."""
        e = ENTITY["Patent"]
        cols = [c for c in e.columns if c != "row_hash"]
        counted = ("refs_made", "refs_foreign")
        counts = self.con.sql(f"""
            SELECT {_REFS} FROM py LEFT JOIN ({_citation_counts("c_citations")}) r ON r.citing_patent_id = py.patent_id
            ORDER BY py.rn""").to_arrow_table()
        body = f"SELECT {_PATENT_SELECT}, p.rn AS _o, {part_expr('p.')} AS _part FROM c_patents p"
        typed = _casts(c for c in cols if c not in counted)
        rows = self.con.sql(f"SELECT {typed}, _o, _part FROM ({body})").to_arrow_reader(self.batch_rows)
        hasher = self.con.cursor()  # (the reader holds the connection; a cursor shares the database)
        hashed = f"SELECT * EXCLUDE (_part), {hash_expr(cols)} AS row_hash, _part FROM patent_batch"
        done = 0

        def batches() -> Iterator[pa.Table]:
            nonlocal done
            for batch in _rebatched(rows, self.batch_rows):
                n = len(batch)
                batch = (batch.append_column("refs_made", counts.column("refs_made").slice(done, n))
                         .append_column("refs_foreign", counts.column("refs_foreign").slice(done, n)))
                done += n
                hasher.register("patent_batch", batch.select([*cols, "_o", "_part"]))
                yield _typed(hasher.sql(hashed).to_arrow_table(), ("_part",))
                hasher.unregister("patent_batch")

        try:
            out = self._write_stream(batches(), "Patent", folder, report, part, total=len(counts))
        finally:
            hasher.close()
        if done != len(counts):  # (one count per patent row, by position: a mismatch is a bug, never data)
            raise RuntimeError(f"Patent rows: {done} patents read, {len(counts)} citation counts")
        return out

    def write_files(self, table: str, name: str, folder: Path, report: Callable[[str, int, int], None],
                    total: int, part: bool = False) -> tuple[list[tuple[Path, int]], int, dict[str, int]]:
        """Write the rows of the DuckDB table ``table`` (rows of store table ``name``) ``ORDER BY _o`` to
        Parquet files ``<name>-NNNNN.parquet`` of ``batch_rows`` rows in ``folder`` (as ``write_batches``);
        progress ``preparing <name>`` out of ``total``, the table's rows."""
        return self._write_stream(self.stream(f"SELECT * FROM {table} ORDER BY _o", keep=("_part",) if part else ()),
                                  name, folder, report, part, total)

    def _write_stream(self, tables: Iterator[pa.Table], name: str, folder: Path,
                      report: Callable[[str, int, int], None], part: bool, total: int
                      ) -> tuple[list[tuple[Path, int]], int, dict[str, int]]:
        """Write ``tables`` (rows of store table ``name`` in order, in the store's types, with ``_part``
        when ``part``) to the batch files of :meth:`write_files`."""
        import pyarrow.parquet as pq

        label = f"preparing {name}"
        report(label, 0, total)
        files: list[tuple[Path, int]] = []
        by_part: dict[str, int] = {}
        n = 0
        for batch in tables:
            if part:
                vc = batch.column("_part").value_counts()
                for v, c in zip(vc.field(0).to_pylist(), vc.field(1).to_pylist(), strict=True):
                    by_part[v] = by_part.get(v, 0) + c
                batch = batch.drop_columns(["_part"])
            f = folder / f"{name}-{len(files):05d}.parquet"
            pq.write_table(batch, f, compression="none")
            files.append((f, len(batch)))
            n += len(batch)
            report(label, n, total)
        return files, n, by_part

    def stream(self, sql: str, keep=()) -> Iterator[pa.Table]:
        """The result of ``sql`` in Arrow tables of about ``batch_rows`` rows (the store's column
        types; columns starting with ``_`` dropped, except those in ``keep``)."""
        for t in _rebatched(self.con.sql(sql).to_arrow_reader(self.batch_rows), self.batch_rows):
            yield _typed(t, keep)


def _rebatched(reader, rows: int) -> Iterator[pa.Table]:
    """The record batches of ``reader`` gathered into tables of at least ``rows`` rows (the last: the rest)."""
    pending: list[pa.RecordBatch] = []
    n = 0
    for batch in reader:
        if not len(batch):
            continue
        pending.append(batch)
        n += len(batch)
        if n >= rows:
            yield pa.Table.from_batches(pending)
            pending, n = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _year_filter(parts: set[str]) -> str:
    """A condition on ``p.app_year`` that every patent of the partitions ``parts`` meets (their years,
    null for ``"none"``); implied by the partition, it only lets the Parquet reader skip row groups.

    >>> _year_filter({"2019/3", "2020/17", "none"})
    '(p.app_year IN (2019, 2020) OR p.app_year IS NULL)'
    """
    heads = {p.split("/")[0] for p in parts if p != NO_YEAR}
    if not all(h.isdigit() for h in heads):
        return "TRUE"
    years = ", ".join(str(y) for y in sorted(int(h) for h in heads))
    terms = ([f"p.app_year IN ({years})"] if years else []) + (["p.app_year IS NULL"] if NO_YEAR in parts else [])
    return f"({' OR '.join(terms)})" if terms else "FALSE"


def _typed(t: pa.Table, keep=()) -> pa.Table:
    keep = [c for c in keep if c in t.column_names]
    t = t.drop_columns([c for c in t.column_names if c.startswith("_") and c not in keep])
    cols = [c for c in t.column_names if c not in keep]
    schema = arrow_schema(cols)
    for c in keep:
        schema = schema.append(t.schema.field(c))
    return t.select([*cols, *keep]).cast(schema)


_CITY = ", ".join(f'"{c}"' for c in CITY_COLS if c not in ("lon", "lat"))
_APPL = ", ".join(f'"{c}"' for c in APPLICANT_COLS)
_PAT = ", ".join(f'p."{c}"' for c in PATENT_COLS if c not in ("grant_year", "refs_made", "refs_foreign", "app_year"))
# Patent's columns but the citation counts, and the counts from a join with _citation_counts (``r``)
_PATENT_SELECT = f"{_PAT}, CAST(p.app_year AS BIGINT) AS app_year, year(p.grant_date) AS grant_year"
_REFS = "coalesce(r.made, 0) AS refs_made, coalesce(r.foreign_, 0) AS refs_foreign"


def _citation_counts(citations: str) -> str:
    """Per citing patent of the relation ``citations``: its references (``made``) and foreign ones (``foreign_``)."""
    return f"""SELECT citing_patent_id, count(*) AS made, count(*) FILTER (WHERE coalesce("foreign", FALSE)) AS foreign_
               FROM {citations} GROUP BY 1"""


def _casts(cols) -> str:
    """The select list casting each of ``cols`` to its store type (``sql_type``)."""
    return ", ".join(f'CAST("{c}" AS {sql_type(c)}) AS "{c}"' for c in cols)


_BODY = {
    "City": f"""SELECT {_CITY}, CASE WHEN isnan(lon) THEN NULL ELSE lon END AS lon,
                       CASE WHEN isnan(lat) THEN NULL ELSE lat END AS lat, rn AS _o FROM cl_cities""",
    "Applicant": f"SELECT {_APPL}, rn AS _o FROM cl_applicants",
    "Patent": f"""SELECT {_PATENT_SELECT}, {_REFS}, p.rn AS _o, {{part}} AS _part
                  FROM sel_patents p LEFT JOIN ({_citation_counts("cl_citations")}) r ON r.citing_patent_id = p.patent_id""",
    "LOCATED_IN": "SELECT applicant_id, city_code, rn AS _o FROM cl_applicants WHERE city_code IS NOT NULL",
    "APPLIED": "SELECT applicant_id, patent_id, seq, city_code, rn AS _o, part_ AS _part FROM cl_links",
    "CITES": """SELECT citing_patent_id, cited_patent_id, count(*) AS refs, min(rn) AS _o, any_value(part_) AS _part
                FROM cl_citations
                WHERE cited_patent_id IS NOT NULL GROUP BY citing_patent_id, cited_patent_id""",
    "TRANSFERRED": """SELECT from_applicant_id, to_applicant_id, transfer_id, patent_id, date, year,
                             CASE WHEN from_city IN (SELECT code FROM city_set) THEN from_city END AS from_city,
                             CASE WHEN to_city IN (SELECT code FROM city_set) THEN to_city END AS to_city, rn AS _o
                      FROM (SELECT * FROM c_transfers
                            QUALIFY row_number() OVER (PARTITION BY transfer_id ORDER BY rn DESC) = 1)
                      WHERE from_applicant_id IN (SELECT applicant_id FROM known_app)
                        AND to_applicant_id IN (SELECT applicant_id FROM known_app)""",
}
