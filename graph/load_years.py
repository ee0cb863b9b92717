"""Per-year digests of the canonical tables, so that a load after a re-ingest reads, prepares and
diffs only the years whose rows changed.

The store tables ``Patent``, ``APPLIED`` and ``CITES`` hold one row per patent, applicant link and
citation; each row belongs to the application year of its patent (of the citing patent for
``CITES``). For every year y, DuckDB computes over the canonical Parquet files, in one pass and
without pandas, a digest of everything the rows of year y are computed from (``graph.tables.clean``
and ``entity_rows``):

- ``patents`` rows of year y (the columns the store keeps);
- ``patent_applicants`` rows of y's patents, each with whether its applicant is in ``applicants``;
- ``citations`` made by y's patents (citing, cited, foreign), each with whether the cited patent is
  in ``patents``;
- the ``cities`` table's digest (a city code outside the city set is stored as unknown), the load
  format and the DuckDB version (its ``hash`` function).

A year's digest is the count and the sum (mod 2^128) of DuckDB's 64-bit ``hash`` of each such row,
so it does not depend on row order and counts repeated rows. ``citynet load`` keeps the digests in
the store's meta (``loaded:<table>``); the next load processes only the rows of the years whose
digest differs (plus the patents without a year), which are exactly the rows that can differ from
what the store holds (unless the store was edited outside ``citynet load``: then ``--rebuild``).
When a ``patent_id`` is repeated in ``patents`` (the last row wins, whatever its year) the
per-year path is not used and the load reads every row, as before.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from citynet.graph.tables import LOAD_FORMAT

YEAR_ENTITIES = ("Patent", "APPLIED", "CITES")
NO_YEAR = "none"  # the partition of rows whose patent has no application year (or is not in patents)
PATENT_DIGEST_COLS = ("patent_id", "app_date", "app_year", "pub_number", "grant_date", "granted", "patent_kind",
                      "ipc_main", "ipc", "cpc", "green", "green_topics", "y02", "title")


def _connect():
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 2")
    return con, duckdb.__version__


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def year_digests(canonical_dir: Path, cities_digest: str | None) -> dict[str, dict[str, str]] | None:
    """``{store table: {year: digest}}`` for ``YEAR_ENTITIES`` (years as strings, ``"none"`` for rows
    without a year), or None when the per-year path does not apply (a table missing, a repeated
    patent_id)."""
    d = Path(canonical_dir)
    files = {t: d / f"{t}.parquet" for t in ("patents", "patent_applicants", "citations", "applicants")}
    if not all(f.exists() for f in files.values()):
        return None
    con, version = _connect()
    try:
        have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(files['patents'])})").fetchall()}
        cols = ", ".join(c for c in PATENT_DIGEST_COLS if c in have)
        con.execute(f"CREATE TEMP TABLE py AS SELECT patent_id, app_year FROM read_parquet({_q(files['patents'])})")
        n, distinct = con.execute("SELECT count(*), count(DISTINCT patent_id) FROM py").fetchone()
        if n != distinct:
            return None
        con.execute(f"CREATE TEMP TABLE ap AS SELECT DISTINCT applicant_id FROM read_parquet({_q(files['applicants'])})")
        parts = {
            "patents": f"""
                SELECT app_year AS y, count(*) AS n, sum(hash(struct_pack({cols}))::HUGEINT) AS h
                FROM read_parquet({_q(files['patents'])}) GROUP BY 1""",
            "patent_applicants": f"""
                SELECT py.app_year AS y, count(*) AS n,
                       sum(hash(struct_pack(l.patent_id, l.applicant_id, l.seq, l.city_code,
                                            k := ap.applicant_id IS NOT NULL))::HUGEINT) AS h
                FROM read_parquet({_q(files['patent_applicants'])}) l
                LEFT JOIN py ON py.patent_id = l.patent_id
                LEFT JOIN ap ON ap.applicant_id = l.applicant_id GROUP BY 1""",
            "citations": f"""
                SELECT py.app_year AS y, count(*) AS n,
                       sum(hash(struct_pack(c.citing_patent_id, c.cited_patent_id, c."foreign",
                                            k := q.patent_id IS NOT NULL))::HUGEINT) AS h
                FROM read_parquet({_q(files['citations'])}) c
                LEFT JOIN py ON py.patent_id = c.citing_patent_id
                LEFT JOIN py q ON q.patent_id = c.cited_patent_id GROUP BY 1""",
        }
        got = {t: {(NO_YEAR if y is None else str(int(y))): f"{n}:{h}" for y, n, h in con.execute(sql).fetchall()}
               for t, sql in parts.items()}
    finally:
        con.close()
    inputs = {"Patent": ("patents", "citations"), "APPLIED": ("patent_applicants",), "CITES": ("citations",)}
    out: dict[str, dict[str, str]] = {}
    for name, tables in inputs.items():
        years = sorted(set().union(*(got[t] for t in tables)))
        out[name] = {}
        for y in years:
            text = json.dumps([LOAD_FORMAT, version, name, cities_digest, [got[t].get(y) for t in tables]])
            out[name][y] = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return out


def changed_years(old: dict[str, str] | None, new: dict[str, str]) -> set[str] | None:
    """The years whose digest differs between two loads (a year present in only one of them included);
    None when there is no previous record (every year)."""
    if not old:
        return None
    return {y for y in set(old) | set(new) if old.get(y) != new.get(y)}


def read_years(canonical_dir: Path, years: set[str]):
    """``patents``, ``patent_applicants`` and ``citations`` rows of ``years`` (``"none"``: rows whose
    patent has no year or is not in ``patents``), as DataFrames, and every ``patent_id`` of
    ``patents`` (for the cleaning's known keys). Filtered in DuckDB; only those rows reach pandas."""
    import pyarrow as pa

    d = Path(canonical_dir)
    f = {t: _q(d / f"{t}.parquet") for t in ("patents", "patent_applicants", "citations")}
    ys = sorted(int(y) for y in years if y != NO_YEAR)
    none = NO_YEAR in years
    con, _ = _connect()
    try:
        con.execute(f"CREATE TEMP TABLE py AS SELECT patent_id, app_year FROM read_parquet({f['patents']})")
        con.register("wanted", pa.table({"y": pa.array(ys, pa.int64())}))
        pick = f"(py.app_year IN (SELECT y FROM wanted){' OR py.app_year IS NULL' if none else ''})"
        # file_row_number keeps each table's row order (the cleaning keeps the last or first duplicate)
        patents = con.sql(f"""
            SELECT p.* EXCLUDE (file_row_number) FROM read_parquet({f['patents']}, file_row_number = true) p
            JOIN py USING (patent_id) WHERE {pick} ORDER BY p.file_row_number""").to_arrow_table()
        links = con.sql(f"""
            SELECT l.* EXCLUDE (file_row_number)
            FROM read_parquet({f['patent_applicants']}, file_row_number = true) l
            LEFT JOIN py USING (patent_id)
            WHERE {pick}{' OR py.patent_id IS NULL' if none else ''} ORDER BY l.file_row_number""").to_arrow_table()
        cites = con.sql(f"""
            SELECT c.* EXCLUDE (file_row_number)
            FROM read_parquet({f['citations']}, file_row_number = true) c
            LEFT JOIN py ON py.patent_id = c.citing_patent_id
            WHERE {pick}{' OR py.patent_id IS NULL' if none else ''} ORDER BY c.file_row_number""").to_arrow_table()
        ids = con.sql("SELECT patent_id FROM py").to_arrow_table()
    finally:
        con.close()
    return patents.to_pandas(), links.to_pandas(), cites.to_pandas(), ids.column(0).to_pandas()
