"""Per-partition digests of the canonical tables, so that a load after a re-ingest reads, prepares
and diffs only the rows whose inputs changed.

The store tables ``Patent``, ``APPLIED`` and ``CITES`` hold one row per patent, applicant link and
citation; each row belongs to the partition of its patent (of the citing patent for ``CITES``): the
patent's application year and one of ``BUCKETS`` buckets of its ``patent_id`` (DuckDB ``hash``), e.g.
``"2020/17"``; ``"none"`` for a patent without a year and for links and citations whose patent is not
in ``patents``. For every partition, DuckDB computes over the canonical Parquet files, in one pass and
without pandas, a digest of everything its rows are computed from (``graph.tables.clean`` and
``entity_rows``):

- its ``patents`` rows (the columns the store keeps);
- its ``patent_applicants`` rows, each with whether its applicant is in ``applicants``;
- its ``citations`` (citing, cited, foreign), each with whether the cited patent is in ``patents``;
- a digest of the city set (``graph.prepare.Prepared.cities_key``: a city code outside it is stored as unknown), the load
  format and the DuckDB version (its ``hash`` function).

A partition's digest is the count and the sum (mod 2^128) of DuckDB's 64-bit ``hash`` of each such
row, so it does not depend on row order and counts repeated rows. ``citynet load`` keeps the digests
in the store's meta (``partitions:<table>``, with the bucket count in ``loaded:<table>``: partitions
named with another count are not compared, the table is read whole once); the next load processes only the rows of the partitions
whose digest differs, which are exactly the rows that can differ from what the store holds (unless
the store was edited outside ``citynet load``: then ``--rebuild``). A new year re-reads that year; an
applicant re-located by the corpus vote changes its links' ``city_code`` and re-reads one bucket of
each year it has links in. When a ``patent_id`` is repeated in ``patents`` (the last row wins,
whatever its year) the per-partition path is not used and the load reads every row, as before.

The patents' sums are added up per Parquet row group (``patent_group_sums``): ``patents.parquet`` is
written one year per row group, and the store's meta (``GROUPS_META``) keeps each group's sums under a
BLAKE2b digest of its bytes, so a load hashes again only the row groups whose bytes changed (a new
year's). The sums are exact integers, so the digests equal those of hashing every row.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from citynet.graph.tables import LOAD_FORMAT

from citynet.sqltext import sql_string

YEAR_ENTITIES = ("Patent", "APPLIED", "CITES")
NO_YEAR = "none"  # the partition of rows whose patent has no application year (or is not in patents)
GROUPS_META = "digest_groups:patents"  # store meta: patent_group_sums' cache
BUCKETS_META = "buckets"  # key of ``loaded:<table>`` recording the BUCKETS its partitions were named with
# partitions per year: a few scattered changes (re-located applicants, merged applicants' links) re-read
# 1/1,024 of a year each (64 until session 15: at 10M patents a few thousand changed links of old patents
# touched 628 of 896 buckets, three quarters of the old links). The meta records it (``BUCKETS_META``): a
# store whose last load used another count is read whole once (its partitions' names mean other rows)
BUCKETS = 1024
PATENT_DIGEST_COLS = ("patent_id", "app_date", "app_year", "pub_number", "grant_date", "granted", "patent_kind",
                      "ipc_main", "ipc", "cpc", "green", "green_topics", "y02", "title")


def _connect():
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 2")
    return con, duckdb.__version__


def year_digests(canonical_dir: Path, cities_digest: str | None, con=None,
                 cache: dict | None = None, repeated: bool | None = None) -> dict[str, dict[str, str]] | None:
    """``{store table: {year: digest}}`` for ``YEAR_ENTITIES`` (years as strings, ``"none"`` for rows
    without a year), or None when the per-year path does not apply (a table missing, a repeated
    patent_id). ``cache``: the row-group sums of ``patents`` from the last call (``patent_group_sums``),
    updated in place to this file's row groups. ``repeated``: whether a ``patent_id`` is repeated, when
    the caller has counted it on ``con``'s ``py`` (``graph.prepare.Prepared.repeated``), else counted here."""
    d = Path(canonical_dir)
    files = {t: d / f"{t}.parquet" for t in ("patents", "patent_applicants", "citations", "applicants")}
    if not all(f.exists() for f in files.values()):
        return None
    own = con is None  # else: a connection that already holds ``py`` (graph.prepare.Prepared)
    if own:
        con, version = _connect()
    else:
        import duckdb

        version = duckdb.__version__
    try:
        have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(files['patents'])})").fetchall()}
        pcols = ", ".join(f"p.{c}" for c in PATENT_DIGEST_COLS if c in have)
        if own:
            con.execute(f"CREATE TEMP TABLE py AS SELECT patent_id, app_year, {part_expr()} AS part "
                        f"FROM read_parquet({sql_string(files['patents'])})")
        if repeated is None or own:
            n, distinct = con.execute("SELECT count(*), count(DISTINCT patent_id) FROM py").fetchall()[0]
            repeated = n != distinct
        if repeated:
            return None
        con.execute(f"CREATE OR REPLACE TEMP TABLE ap AS SELECT DISTINCT applicant_id FROM read_parquet({sql_string(files['applicants'])})")
        parts = {
            # the partition computed from the row itself (ids are distinct here, so joining ``py``
            # would find the same one; the join cost a third of the patents' digest)
            "patents": f"""
                SELECT {part_expr('p.')} AS y, count(*) AS n, sum(hash(struct_pack({pcols}))::HUGEINT) AS h
                FROM read_parquet({sql_string(files['patents'])}) p WHERE p.patent_id IS NOT NULL GROUP BY 1""",
            "patent_applicants": f"""
                SELECT py.part AS y, count(*) AS n,
                       sum(hash(struct_pack(l.patent_id, l.applicant_id, l.seq, l.city_code,
                                            k := ap.applicant_id IS NOT NULL))::HUGEINT) AS h
                FROM read_parquet({sql_string(files['patent_applicants'])}) l
                LEFT JOIN py ON py.patent_id = l.patent_id
                LEFT JOIN ap ON ap.applicant_id = l.applicant_id GROUP BY 1""",
            "citations": f"""
                SELECT py.part AS y, count(*) AS n,
                       sum(hash(struct_pack(c.citing_patent_id, c.cited_patent_id, c."foreign",
                                            k := q.patent_id IS NOT NULL))::HUGEINT) AS h
                FROM read_parquet({sql_string(files['citations'])}) c
                LEFT JOIN py ON py.patent_id = c.citing_patent_id
                LEFT JOIN py q ON q.patent_id = c.cited_patent_id GROUP BY 1""",
        }
        sums = patent_group_sums(files["patents"], con, version, pcols, cache)
        if sums is not None:  # the patents' digest from its row groups, only changed ones hashed again
            parts.pop("patents")
        got = {t: {(NO_YEAR if y is None else y): f"{n}:{h}" for y, n, h in con.execute(sql).fetchall()}
               for t, sql in parts.items()}
        if sums is not None:
            got["patents"] = {(NO_YEAR if y is None else y): f"{n}:{h}" for y, (n, h) in sums.items()}
    finally:
        if own:
            con.close()
    inputs = {"Patent": ("patents", "citations"), "APPLIED": ("patent_applicants",), "CITES": ("citations",)}
    out: dict[str, dict[str, str]] = {}
    for name, tables in inputs.items():
        years = sorted(set().union(*(got[t] for t in tables)))
        out[name] = {}
        # the text json.dumps([LOAD_FORMAT, version, name, cities_digest, [sums of each table]]) gives,
        # built from its fixed head (17,408 partitions a table at 1,024 buckets: 0.16 s in json.dumps)
        head = json.dumps([LOAD_FORMAT, version, name, cities_digest])[:-1] + ", ["
        for y in years:
            text = head + ", ".join(_json_sum(got[t].get(y)) for t in tables) + "]]"
            out[name][y] = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
    return out


def _json_sum(v: str | None) -> str:
    """``json.dumps`` of a partition's ``"rows:sum"`` (digits, a colon and a sign: nothing to escape)."""
    return "null" if v is None else f'"{v}"'


def _group_keys(path: Path, pcols: str, version: str) -> list[tuple[str, int, int]] | None:
    """Per row group of the Parquet file ``path``: (a BLAKE2b digest of its bytes, first row, rows).

    The digest covers the group's bytes (every column chunk: pages, dictionaries, page headers), its
    row count and columns' codecs, and — for every group — the file's schema, the hashed columns,
    ``BUCKETS``, ``LOAD_FORMAT`` and the DuckDB version: whatever a group's sums are computed from. None
    (no cache: every row hashed) unless the groups' byte spans are contiguous and cover the file
    from its magic bytes to its footer, so that no byte of the data escapes the digests."""
    import pyarrow.parquet as pq

    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size < 12:
            return None
        fh.seek(size - 8)
        tail = fh.read(8)
        if tail[4:] != b"PAR1":
            return None
        footer_start = size - 8 - int.from_bytes(tail[:4], "little")
        meta = pq.ParquetFile(fh).metadata
        # (the Parquet schema's text without its first line, which names the object's address)
        schema = str(meta.schema).split("\n", 1)[-1]
        head = json.dumps([LOAD_FORMAT, version, BUCKETS, pcols, schema, str(meta.schema.to_arrow_schema())])
        spans, row = [], 0
        for i in range(meta.num_row_groups):
            rg = meta.row_group(i)
            lo = hi = None
            codecs = []
            for j in range(rg.num_columns):
                c = rg.column(j)
                start = c.dictionary_page_offset if c.has_dictionary_page and c.dictionary_page_offset else c.data_page_offset
                end = c.data_page_offset
                if start is None or end is None or start > end:
                    return None
                end = start + c.total_compressed_size
                lo = start if lo is None else min(lo, start)
                hi = end if hi is None else max(hi, end)
                codecs.append(c.compression)
            if lo is None:
                return None
            spans.append((lo, hi, row, rg.num_rows, codecs))
            row += rg.num_rows
        bounds = [4] + [h for _, h, *_ in spans]
        if [s[0] for s in spans] != bounds[:-1] or bounds[-1] != footer_start:
            return None  # a gap or an overlap: not every byte is covered
        out = []
        for lo, hi, first, n, codecs in spans:
            h = hashlib.blake2b(digest_size=16)
            h.update(json.dumps([head, n, codecs]).encode())
            fh.seek(lo)
            left = hi - lo
            while left:
                chunk = fh.read(min(left, 1 << 24))
                if not chunk:
                    return None
                h.update(chunk)
                left -= len(chunk)
            out.append((h.hexdigest(), first, n))
    return out


def _entry_ok(entry) -> bool:
    """Whether a cached group entry has the shape ``{partition: [rows, "sum"]}``."""
    try:
        return isinstance(entry, dict) and all(
            isinstance(y, str) and isinstance(v, list) and len(v) == 2 and isinstance(v[0], int)
            and isinstance(v[1], str) and int(v[1]) >= 0 for y, v in entry.items())
    except ValueError:
        return False


def patent_group_sums(path: Path, con, version: str, pcols: str, cache: dict | None
                      ) -> dict[str | None, tuple[int, int]] | None:
    """``{partition: (rows, sum of row hashes)}`` of ``patents.parquet`` (the ``"patents"`` query of
    ``year_digests``), summed over its row groups: a group whose digest (``_group_keys``) is in
    ``cache`` contributes its recorded sums, the others are hashed by DuckDB (only their rows are read:
    ``file_row_number`` ranges skip the other row groups). ``cache`` (``{group digest: {partition:
    [rows, sum]}}``) is replaced in place by this file's groups. None without a cache or when the
    file's layout does not allow one: the caller hashes every row."""
    if cache is None:
        return None
    keys = _group_keys(path, pcols, version)
    if keys is None:
        return None
    fresh: dict[str, dict[str, list]] = {}
    cache_ok = {k: v for k, v in cache.items() if _entry_ok(v)}  # a malformed entry: hashed again
    todo = [(k, first, n) for k, first, n in keys if k not in cache_ok]
    if todo:
        ranges = " OR ".join(f"(file_row_number >= {first} AND file_row_number < {first + n})" for _, first, n in todo)
        grp = "CASE " + " ".join(f"WHEN file_row_number < {first + n} THEN {i}" for i, (_, first, n) in enumerate(todo)) + " END"
        rows = con.execute(f"""
            SELECT {grp} AS g, {part_expr('p.')} AS y, count(*) AS n,
                   sum(hash(struct_pack({pcols}))::HUGEINT) AS h
            FROM read_parquet({sql_string(path)}, file_row_number = true) p
            WHERE p.patent_id IS NOT NULL AND ({ranges}) GROUP BY 1, 2""").fetchall()
        for k, _, _ in todo:
            fresh[k] = {}
        for g, y, n, h in rows:
            fresh[todo[g][0]][NO_YEAR if y is None else "p" + y] = [int(n), str(h)]
    groups = {k: (fresh[k] if k in fresh else cache_ok[k]) for k, _, _ in keys}
    out: dict[str | None, tuple[int, int]] = {}
    for parts in groups.values():
        for y, (n, h) in parts.items():
            key = None if y == NO_YEAR else y[1:]
            a, b = out.get(key, (0, 0))
            out[key] = (a + n, b + int(h))
    cache.clear()
    cache.update(groups)
    return out


def changed_years(old: dict[str, str] | None, new: dict[str, str], buckets: int | None) -> set[str] | None:
    """The years whose digest differs between two loads (a year present in only one of them included);
    None when there is no previous record (every year) or when its partitions were named with another
    number of buckets (``buckets``: the record's, None when it has none: 64, before they were recorded)."""
    if not old or buckets != BUCKETS:
        return None
    return {y for y in set(old) | set(new) if old.get(y) != new.get(y)}


def years_of(parts) -> list[str]:
    """The years (and ``"none"``) of a set of partitions, sorted."""
    return sorted({p.split("/")[0] for p in parts}, key=lambda y: (y == NO_YEAR, y))


def part_expr(t: str = "") -> str:
    """The SQL of every patent's partition: its application year and one of ``BUCKETS`` buckets of its id
    (DuckDB ``hash``); ``t``: the columns' qualifier (``"p."``). Built when asked, from ``BUCKETS``."""
    return (f"CASE WHEN {t}app_year IS NULL THEN NULL ELSE CAST({t}app_year AS VARCHAR) || '/' || "
            f"CAST(hash({t}patent_id) % {BUCKETS} AS VARCHAR) END")

