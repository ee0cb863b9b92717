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
in the store's meta (``loaded:<table>``); the next load processes only the rows of the partitions
whose digest differs, which are exactly the rows that can differ from what the store holds (unless
the store was edited outside ``citynet load``: then ``--rebuild``). A new year re-reads that year; an
applicant re-located by the corpus vote changes its links' ``city_code`` and re-reads one bucket of
each year it has links in. When a ``patent_id`` is repeated in ``patents`` (the last row wins,
whatever its year) the per-partition path is not used and the load reads every row, as before.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from citynet.graph.tables import LOAD_FORMAT

YEAR_ENTITIES = ("Patent", "APPLIED", "CITES")
NO_YEAR = "none"  # the partition of rows whose patent has no application year (or is not in patents)
BUCKETS = 64  # partitions per year: a few scattered changes (re-located applicants) re-read 1/64 of a year each
PATENT_DIGEST_COLS = ("patent_id", "app_date", "app_year", "pub_number", "grant_date", "granted", "patent_kind",
                      "ipc_main", "ipc", "cpc", "green", "green_topics", "y02", "title")


def _connect():
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 2")
    return con, duckdb.__version__


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def year_digests(canonical_dir: Path, cities_digest: str | None, con=None) -> dict[str, dict[str, str]] | None:
    """``{store table: {year: digest}}`` for ``YEAR_ENTITIES`` (years as strings, ``"none"`` for rows
    without a year), or None when the per-year path does not apply (a table missing, a repeated
    patent_id)."""
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
        have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(files['patents'])})").fetchall()}
        pcols = ", ".join(f"p.{c}" for c in PATENT_DIGEST_COLS if c in have)
        if own:
            con.execute(_PY.format(src=_q(files["patents"])))
        n, distinct = con.execute("SELECT count(*), count(DISTINCT patent_id) FROM py").fetchall()[0]
        if n != distinct:
            return None
        con.execute(f"CREATE OR REPLACE TEMP TABLE ap AS SELECT DISTINCT applicant_id FROM read_parquet({_q(files['applicants'])})")
        parts = {
            # the partition computed from the row itself (ids are distinct here, so joining ``py``
            # would find the same one; the join cost a third of the patents' digest)
            "patents": f"""
                SELECT {_PART.format(t='p.')} AS y, count(*) AS n, sum(hash(struct_pack({pcols}))::HUGEINT) AS h
                FROM read_parquet({_q(files['patents'])}) p WHERE p.patent_id IS NOT NULL GROUP BY 1""",
            "patent_applicants": f"""
                SELECT py.part AS y, count(*) AS n,
                       sum(hash(struct_pack(l.patent_id, l.applicant_id, l.seq, l.city_code,
                                            k := ap.applicant_id IS NOT NULL))::HUGEINT) AS h
                FROM read_parquet({_q(files['patent_applicants'])}) l
                LEFT JOIN py ON py.patent_id = l.patent_id
                LEFT JOIN ap ON ap.applicant_id = l.applicant_id GROUP BY 1""",
            "citations": f"""
                SELECT py.part AS y, count(*) AS n,
                       sum(hash(struct_pack(c.citing_patent_id, c.cited_patent_id, c."foreign",
                                            k := q.patent_id IS NOT NULL))::HUGEINT) AS h
                FROM read_parquet({_q(files['citations'])}) c
                LEFT JOIN py ON py.patent_id = c.citing_patent_id
                LEFT JOIN py q ON q.patent_id = c.cited_patent_id GROUP BY 1""",
        }
        got = {t: {(NO_YEAR if y is None else y): f"{n}:{h}" for y, n, h in con.execute(sql).fetchall()}
               for t, sql in parts.items()}
    finally:
        if own:
            con.close()
    inputs = {"Patent": ("patents", "citations"), "APPLIED": ("patent_applicants",), "CITES": ("citations",)}
    out: dict[str, dict[str, str]] = {}
    for name, tables in inputs.items():
        years = sorted(set().union(*(got[t] for t in tables)))
        out[name] = {}
        for y in years:
            text = json.dumps([LOAD_FORMAT, version, name, cities_digest, [got[t].get(y) for t in tables]])
            out[name][y] = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
    return out


def changed_years(old: dict[str, str] | None, new: dict[str, str]) -> set[str] | None:
    """The years whose digest differs between two loads (a year present in only one of them included);
    None when there is no previous record (every year)."""
    if not old:
        return None
    return {y for y in set(old) | set(new) if old.get(y) != new.get(y)}


def years_of(parts) -> list[str]:
    """The years (and ``"none"``) of a set of partitions, sorted."""
    return sorted({p.split("/")[0] for p in parts}, key=lambda y: (y == NO_YEAR, y))


# every patent's partition: its application year and one of BUCKETS buckets of its id (DuckDB hash)
_PART = ("CASE WHEN {t}app_year IS NULL THEN NULL ELSE CAST({t}app_year AS VARCHAR) || '/' || "
         f"CAST(hash({{t}}patent_id) % {BUCKETS} AS VARCHAR) END")
_PY = ("CREATE TEMP TABLE py AS SELECT patent_id, app_year, " + _PART.format(t="") + " AS part "
       "FROM read_parquet({src})")
