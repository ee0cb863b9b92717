"""Canonical tables as the graph layer sees them: reading, the cleaning shared by the store loaders
and the pandas reference (so both see the same rows), and the rows of each node/relationship table.

Cleaning rules (documented in docs/cypher.md, applied identically by ``graph.reference``):

- duplicate natural keys keep the last row (``patent_applicants``: the lowest ``seq``);
- a city code outside the city set (``cities``) is treated as unknown (null);
- a ``patent_applicants`` row whose patent or applicant is unknown, a transfer whose applicants are
  unknown and a citation whose citing patent is unknown cannot be stored as relationships and are
  dropped; a citation's ``cited_patent_id`` outside the corpus is kept for the reference counts only.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from citynet.etl.schema import CANONICAL

from citynet.errors import DataError
from citynet.lazy_module import lazy_module

pd = lazy_module("pandas")

TABLES = ("cities", "applicants", "patents", "patent_applicants", "transfers", "citations")


def canonical_rows(canonical_dir: Path, names=TABLES) -> int:
    """Rows of the canonical tables ``names`` (default: all six), from the Parquet footers (no data read)."""
    import pyarrow.parquet as pq

    total = 0
    for name in names:
        f = Path(canonical_dir) / f"{name}.parquet"
        with contextlib.suppress(Exception):  # a damaged file: read_canonical names it
            total += pq.ParquetFile(f).metadata.num_rows if f.exists() else 0
    return total


def read_canonical(canonical_dir: Path, progress=None, names=TABLES) -> dict[str, pd.DataFrame]:
    """The six canonical tables; a missing table other than ``cities`` reads as empty, and so does a
    table not in ``names``. ``progress(rows_read_so_far)`` is called after each table."""
    canonical_dir = Path(canonical_dir)
    out: dict[str, pd.DataFrame] = {}
    done = 0
    for name in TABLES:
        f = canonical_dir / f"{name}.parquet"
        if name not in names:
            out[name] = CANONICAL[name].empty_table().to_pandas()
            continue
        if f.exists():
            try:
                out[name] = pd.read_parquet(f)
            except Exception as exc:  # pyarrow raises several types for a damaged file
                raise DataError(f"{f}: cannot read ({exc})", fix="re-run `citynet ingest` to rewrite it") from exc
        elif name == "cities":
            raise DataError(f"{f} is missing", fix=f"run `citynet ingest -w {canonical_dir.parent}` first")
        else:
            out[name] = CANONICAL[name].empty_table().to_pandas()
        missing = [c for c in CANONICAL[name].names if c not in out[name].columns and not c.startswith("source_")]
        if name == "patents":  # optional columns may be absent, but never the key (a damaged file: one message)
            missing = [c for c in missing if c in ("patent_id", "app_date", "app_year")]
        if missing:
            raise DataError(f"{f}: missing columns {missing}", fix="re-run `citynet ingest` on the exports: it writes every canonical table with its columns")
        done += len(out[name])
        if progress is not None:
            progress(done)
    return out


# Which canonical tables the rows of each store table are computed from (``clean`` + ``entity_rows``).
# Keys already in the store also enter ``clean``, but they change only when Patent or Applicant rows
# are written, i.e. when ``patents`` or ``applicants`` changed, which are inputs of every table that
# uses them. LOAD_FORMAT changes whenever the row preparation does (so an upgrade reloads).
LOAD_FORMAT = 2  # 2: rows prepared and hashed by DuckDB (graph/prepare.py)
ENTITY_INPUTS: dict[str, tuple[str, ...]] = {
    "City": ("cities",),
    "Applicant": ("applicants", "cities"),
    "Patent": ("patents", "citations"),
    "LOCATED_IN": ("applicants", "cities"),
    "APPLIED": ("patent_applicants", "patents", "applicants", "cities"),
    "CITES": ("citations", "patents"),
    "TRANSFERRED": ("transfers", "applicants", "cities"),
}


def input_keys(canonical_dir: Path) -> dict[str, str]:
    """Per store table, a digest of the content of the canonical tables it is computed from (the
    digests of ``canonical/manifest.json``, or the files hashed when it is missing or stale). Equal
    keys at two loads mean equal rows, so the second load can skip the table without reading it."""
    import hashlib
    import json

    from citynet.etl.manifest import digests

    d = digests(Path(canonical_dir), TABLES)
    out = {}
    for name, inputs in ENTITY_INPUTS.items():
        text = json.dumps([LOAD_FORMAT, name, [[t, d[t]] for t in inputs]])
        out[name] = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return out


def _strings(values):
    """Strings as one Arrow string array (nulls kept), from a Series, Index, array or Arrow array."""
    import pyarrow as pa

    if isinstance(values, pd.Series | pd.Index):  # Arrow-backed strings: no copy; object: no Python loop
        if values.dtype == object:
            values = pa.array(values, type=pa.string(), from_pandas=True)
        else:
            values = pa.array(values, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def key_set(*parts):
    """The distinct non-null strings of ``parts`` (Series, Index, arrays) as one Arrow array, for
    ``isin``: built once per load instead of once per membership test."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = [_strings(p) for p in parts if p is not None]
    if not arrays:
        return pa.array([], pa.string())
    out = pc.unique(pc.drop_null(pa.chunked_array(arrays, type=pa.string())))
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def isin(s: pd.Series, keys) -> np.ndarray:
    """``s.isin(keys)`` for string keys through Arrow (pandas' Arrow-string isin is slow at scale);
    ``keys`` may be a ``key_set``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = _strings(s)
    keys = keys if isinstance(keys, pa.Array) else key_set(keys)
    return pc.is_in(values, value_set=keys).to_numpy(zero_copy_only=False).astype(bool)


def _null_outside(s: pd.Series, known) -> pd.Series:
    s = s.astype(object)
    return s.where(isin(s, known), None)


def clean(tables: dict[str, pd.DataFrame], known_patents=None, known_applicants=None) -> dict[str, pd.DataFrame]:
    """The cleaned tables (see the module docstring). ``known_*`` add keys already in a store."""
    cities = tables["cities"].drop_duplicates("city_code", keep="last").reset_index(drop=True)
    city_set = key_set(cities["city_code"].dropna().astype(str))

    applicants = tables["applicants"].drop_duplicates("applicant_id", keep="last").reset_index(drop=True)
    applicants["city_code"] = _null_outside(applicants["city_code"], city_set)
    patents = tables["patents"].drop_duplicates("patent_id", keep="last").reset_index(drop=True)
    grant = pd.to_datetime(patents["grant_date"], errors="coerce")
    patents["grant_year"] = grant.dt.year.astype("Int64")
    patents["app_year"] = pd.to_numeric(patents["app_year"], errors="coerce").astype("Int64")

    pat_keys = key_set(patents["patent_id"], known_patents)
    app_keys = key_set(applicants["applicant_id"], known_applicants)

    pa_ = tables["patent_applicants"]
    pa_ = pa_[isin(pa_["patent_id"], pat_keys) & isin(pa_["applicant_id"], app_keys)]
    pa_ = pa_.sort_values("seq", kind="stable").drop_duplicates(["patent_id", "applicant_id"], keep="first")
    pa_ = pa_.reset_index(drop=True)
    pa_["city_code"] = _null_outside(pa_["city_code"], city_set)

    tr = tables["transfers"].drop_duplicates("transfer_id", keep="last")
    tr = tr[isin(tr["from_applicant_id"], app_keys) & isin(tr["to_applicant_id"], app_keys)].reset_index(drop=True)
    tr["from_city"] = _null_outside(tr["from_city"], city_set)
    tr["to_city"] = _null_outside(tr["to_city"], city_set)
    tr["year"] = pd.to_numeric(tr["year"], errors="coerce").astype("Int64")

    ci = tables["citations"]
    ci = ci[isin(ci["citing_patent_id"], pat_keys)].reset_index(drop=True)
    ci["cited_patent_id"] = _null_outside(ci["cited_patent_id"], pat_keys)
    return {
        "cities": cities,
        "applicants": applicants,
        "patents": patents,
        "patent_applicants": pa_,
        "transfers": tr,
        "citations": ci,
    }


@dataclass(frozen=True)
class Entity:
    """A node or relationship table of the store and the canonical columns it is loaded from."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]  # declared order (relationships: FROM key, TO key, properties)
    rel: bool = False
    ends: tuple[str, str] = ("", "")  # relationships: the labels of the FROM and TO nodes


CITY_COLS = ("city_code", "name_zh", "short_name", "province_code", "province_zh", "lon", "lat", "tier", "region")
APPLICANT_COLS = ("applicant_id", "name", "kind", "country", "city_code", "province_code", "located_by")
PATENT_COLS = (
    "patent_id", "app_date", "app_year", "pub_number", "grant_date", "granted", "patent_kind", "ipc_main", "ipc",
    "cpc", "green", "green_topics", "y02", "title", "grant_year", "refs_made", "refs_foreign",
)

ENTITIES: tuple[Entity, ...] = (
    Entity("City", ("city_code",), (*CITY_COLS, "row_hash")),
    Entity("Applicant", ("applicant_id",), (*APPLICANT_COLS, "row_hash")),
    Entity("Patent", ("patent_id",), (*PATENT_COLS, "row_hash")),
    Entity("LOCATED_IN", ("applicant_id",), ("applicant_id", "city_code", "row_hash"), rel=True,
           ends=("Applicant", "City")),
    Entity("APPLIED", ("applicant_id", "patent_id"), ("applicant_id", "patent_id", "seq", "city_code", "row_hash"), rel=True,
           ends=("Applicant", "Patent")),
    Entity("CITES", ("citing_patent_id", "cited_patent_id"), ("citing_patent_id", "cited_patent_id", "refs", "row_hash"), rel=True,
           ends=("Patent", "Patent")),
    Entity(
        "TRANSFERRED",
        ("transfer_id",),
        ("from_applicant_id", "to_applicant_id", "transfer_id", "patent_id", "date", "year", "from_city", "to_city", "row_hash"),
        rel=True,
        ends=("Applicant", "Applicant"),
    ),
)
ENTITY = {e.name: e for e in ENTITIES}


LIST_COLS = ("ipc", "cpc", "green_topics")

# the store's column types (every other column: string)
_STR, _I64, _F64, _BOOL, _DATE = pa.string(), pa.int64(), pa.float64(), pa.bool_(), pa.date32()
STORE_TYPES = {
    "lon": _F64, "lat": _F64, "app_date": _DATE, "grant_date": _DATE, "date": _DATE, "app_year": _I64,
    "grant_year": _I64, "refs_made": _I64, "refs_foreign": _I64, "refs": _I64, "seq": _I64, "year": _I64,
    "row_hash": _I64, "weight": _I64, "granted": _BOOL, "green": _BOOL, "y02": _BOOL,
    "ipc": pa.list_(_STR), "cpc": pa.list_(_STR), "green_topics": pa.list_(_STR),
}


def arrow_schema(columns) -> pa.Schema:
    """The store's Arrow types of ``columns``."""
    return pa.schema([pa.field(c, STORE_TYPES.get(c, _STR)) for c in columns])


def to_arrow(df: pd.DataFrame, types: dict | None = None) -> pa.Table:
    """``df`` as an Arrow table with the store's column types (NaN/NA/None become nulls)."""
    types = types or STORE_TYPES
    arrays = []
    for c in df.columns:
        t = types.get(c, _STR)
        s = df[c]
        if t == _I64:
            s = pd.to_numeric(s, errors="coerce").astype("Int64")
        elif t == _F64:
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif t == _BOOL:
            s = s.astype("boolean")
        elif t == _DATE:
            arrays.append(pa.array(pd.to_datetime(s, errors="coerce"), from_pandas=True).cast(_DATE))
            continue
        elif t == _STR and s.dtype != object and not pd.api.types.is_string_dtype(s):
            s = s.astype(object).where(s.notna(), None)
        arrays.append(pa.array(s, type=t, from_pandas=True))
    return pa.Table.from_arrays(arrays, names=list(df.columns))


def row_hash(frame: pd.DataFrame) -> np.ndarray:
    """The 64-bit ``row_hash`` of each row (int64): DuckDB's ``hash`` of the row's values in the store's
    types (``graph.prepare.hash_expr``), so these frames and the DuckDB-prepared load agree."""
    import duckdb
    from citynet.graph.prepare import hash_expr

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads TO 1")
        con.register("frame", to_arrow(frame))
        got = con.sql(f"SELECT {hash_expr(list(frame.columns))} FROM frame").to_arrow_table()
    finally:
        con.close()
    return got.column(0).to_numpy().astype(np.int64)


def entity_rows(t: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Rows of every store table, in declared column order, with ``row_hash``, from cleaned tables."""
    out: dict[str, pd.DataFrame] = {}
    cities = t["cities"].reindex(columns=list(CITY_COLS))
    cities["lon"] = pd.to_numeric(cities["lon"], errors="coerce").astype(float)
    cities["lat"] = pd.to_numeric(cities["lat"], errors="coerce").astype(float)
    out["City"] = cities
    out["Applicant"] = t["applicants"].reindex(columns=list(APPLICANT_COLS))

    ci = t["citations"]
    made = ci.groupby("citing_patent_id").size()
    foreign = ci[ci["foreign"].fillna(False).astype(bool)].groupby("citing_patent_id").size()
    p = t["patents"].reindex(columns=list(PATENT_COLS))
    for c in ("app_date", "grant_date"):
        p[c] = pd.to_datetime(p[c], errors="coerce")
    for c in ("granted", "green", "y02"):
        p[c] = p[c].astype("boolean")
    p["refs_made"] = p["patent_id"].map(made).fillna(0).astype("int64")
    p["refs_foreign"] = p["patent_id"].map(foreign).fillna(0).astype("int64")
    p["app_year"] = p["app_year"].astype("Int64")
    p["grant_year"] = p["grant_year"].astype("Int64")
    out["Patent"] = p

    a = t["applicants"]
    out["LOCATED_IN"] = a.loc[a["city_code"].notna(), ["applicant_id", "city_code"]].reset_index(drop=True)
    pa_ = t["patent_applicants"][["applicant_id", "patent_id", "seq", "city_code"]].copy()
    pa_["seq"] = pd.to_numeric(pa_["seq"], errors="coerce").astype("Int64")
    out["APPLIED"] = pa_.reset_index(drop=True)
    cites = ci[ci["cited_patent_id"].notna()]
    out["CITES"] = (
        cites.groupby(["citing_patent_id", "cited_patent_id"]).size().rename("refs").astype("int64").reset_index()
    )
    tr = t["transfers"][list(ENTITY["TRANSFERRED"].columns[:-1])].copy()
    tr["date"] = pd.to_datetime(tr["date"], errors="coerce")
    out["TRANSFERRED"] = tr.reset_index(drop=True)

    for name, frame in out.items():
        frame = frame.reset_index(drop=True)
        frame["row_hash"] = row_hash(frame) if len(frame) else np.array([], dtype=np.int64)
        out[name] = frame[list(ENTITY[name].columns)]
    return out


def diff(rows: pd.DataFrame, existing: pd.DataFrame, key: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(new, changed)``: rows whose key is not in ``existing``, and rows whose row_hash differs."""
    if existing is None or existing.empty:
        return rows, rows.iloc[0:0]
    ex = existing[[*key, "row_hash"]]
    if len(ex) > 2 * len(rows):  # a load of some years: keep the stored rows whose keys can match (Arrow is_in)
        keep = np.ones(len(ex), dtype=bool)
        for c in key:
            keep &= isin(ex[c], key_set(rows[c]))
        ex = ex[keep]
    ex = ex.rename(columns={"row_hash": "_old"}).drop_duplicates(list(key))
    m = rows.merge(ex, on=list(key), how="left", indicator=True)
    new = m["_merge"].eq("left_only").to_numpy()
    changed = (m["_merge"].eq("both") & m["_old"].ne(m["row_hash"])).to_numpy()
    return rows[new], rows[changed]
