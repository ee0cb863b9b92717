"""Collaboration by the kinds of the partners (paper 002: 高校、科研机构和企业), city-year columns from the
canonical tables ``patents``, ``patent_applicants`` and ``applicants``.

A co-applied patent has at least two distinct applicants. Every unordered pair of its applicants with
kinds (k_a, k_b) — firm 产, university 学, institute 研, government 政 (individuals and "other" are
left out) — belongs to one kind pair:

=============  =========  ==============================================
column suffix  label      pair
=============  =========  ==============================================
``firm_univ``  产-学       firm–university
``firm_inst``  产-研       firm–institute
``univ_inst``  学-研       university–institute
``firm_firm``  产-产       firm–firm
``gov``        政-*        any pair with a government body
=============  =========  ==============================================

For city i and year t (application year), ``copat_<pair>`` = number of filtered co-applied patents with
at least one such pair in which an applicant located in city i takes part (the partner in any city,
the same one included), and ``partners_<pair>`` = number of distinct partner applicants of city i's
applicants in such pairs. Applicants without a city are not attributed (their partners still count
them as partners). The patent filter is the panel's (green definition, patent kind, granted only).
One DuckDB query (``COUNTS_SQL``): a self-join of the co-applied patents' links on ``patent_id`` and
one group-by.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from citynet.sqltext import sql_string

MEMORY_LIMIT = "1GB"  # default of [metrics] memory_limit: DuckDB's limit while it selects the years' rows
KIND_CODES = {"firm": "产", "university": "学", "institute": "研", "government": "政"}
PAIRS = {("firm", "university"): "firm_univ", ("firm", "institute"): "firm_inst",
         ("institute", "university"): "univ_inst", ("firm", "firm"): "firm_firm"}
PAIR_LABELS = {"firm_univ": "产-学 firm–university", "firm_inst": "产-研 firm–institute",
               "univ_inst": "学-研 university–institute", "firm_firm": "产-产 firm–firm", "gov": "政-* with government"}
PAIR_KEYS = ("firm_univ", "firm_inst", "univ_inst", "firm_firm", "gov")
COLUMNS = [f"{m}_{k}" for k in PAIR_KEYS for m in ("copat", "partners")]
LABELS = {**{f"copat_{k}": f"co-applied patents, {v}" for k, v in PAIR_LABELS.items()},
          **{f"partners_{k}": f"partners, {v}" for k, v in PAIR_LABELS.items()}}


def filter_patents(patents: pd.DataFrame, green: str = "wipo", kind: str = "invention",
                   granted_only: bool = False, year_basis: str = "application") -> pd.DataFrame:
    """The patents of a network filter: green ``wipo`` (column ``green``), ``y02`` or ``all``; ``kind``
    invention | utility | design | all; granted only; ``patent_id, app_year`` where ``app_year`` is the
    grant year (granted patents only) when ``year_basis`` is ``grant``."""
    p = patents
    if year_basis == "grant":
        p = p[p["granted"].astype(bool) & p["grant_date"].notna()]
        p = p.assign(app_year=pd.to_datetime(p["grant_date"]).dt.year.astype("int64"))
    if green == "wipo":
        p = p[p["green"].astype(bool)]
    elif green == "y02":
        p = p[p["y02"].astype(bool)]
    if kind != "all":
        p = p[p["patent_kind"] == kind]
    if granted_only:
        p = p[p["granted"].astype(bool)]
    return p[["patent_id", "app_year"]]


# Every count of one query over ``l`` (patent_id, applicant_id, _y: the filtered patents' links and their
# panel year) and ``a`` (applicant_id, kind, city_code): the applicants of a kind (``KIND_CODES``) of each
# co-applied patent, their unordered pairs, each pair's key (``PAIRS``; and ``gov`` when one side is a
# government body), each side's city with the other side as partner, and the distinct patents and partners
# per city, year and key.
_KEY = " ".join(f"WHEN lo = {sql_string(a)} AND hi = {sql_string(b)} THEN {sql_string(k)}"
                for (a, b), k in PAIRS.items())
_KINDS = ", ".join(sql_string(k) for k in KIND_CODES)
COUNTS_SQL = f"""
WITH pa AS (
    SELECT DISTINCT l.patent_id, l.applicant_id, l._y AS year, a.kind, CAST(a.city_code AS VARCHAR) AS city_code
    FROM l JOIN a ON a.applicant_id = l.applicant_id
    WHERE a.kind IN ({_KINDS})),
co AS (
    SELECT * FROM pa WHERE patent_id IN (SELECT patent_id FROM pa GROUP BY patent_id HAVING count(*) >= 2)),
pairs AS (
    SELECT x.patent_id, x.year, x.applicant_id AS id_a, y.applicant_id AS id_b, x.city_code AS city_a,
           y.city_code AS city_b, least(x.kind, y.kind) AS lo, greatest(x.kind, y.kind) AS hi
    FROM co x JOIN co y ON x.patent_id = y.patent_id AND x.applicant_id < y.applicant_id),
keyed AS (
    SELECT patent_id, year, id_a, id_b, city_a, city_b, CASE {_KEY} END AS pair FROM pairs
    UNION ALL
    SELECT patent_id, year, id_a, id_b, city_a, city_b, 'gov' FROM pairs WHERE lo = 'government' OR hi = 'government'),
sides AS (
    SELECT DISTINCT city_code, year, pair, patent_id, partner FROM (
        SELECT city_a AS city_code, year, pair, patent_id, id_b AS partner FROM keyed
        UNION ALL
        SELECT city_b, year, pair, patent_id, id_a FROM keyed)
    WHERE pair IS NOT NULL AND city_code IS NOT NULL)
SELECT city_code, CAST(year AS BIGINT) AS year, pair, count(DISTINCT patent_id) AS copat,
       count(DISTINCT partner) AS partners
FROM sides GROUP BY city_code, year, pair
"""


def partner_kind_panel(patents: pd.DataFrame, patent_applicants: pd.DataFrame, applicants: pd.DataFrame,
                       cities: Sequence[str], years: Sequence[int], *, green: str = "wipo",
                       kind: str = "invention", granted_only: bool = False,
                       year_basis: str = "application") -> pd.DataFrame:
    """``city_code, year`` × every city and year, plus ``COLUMNS`` (zeros where there is no such pair).

    The tables in memory; ``from_workspace`` computes the same panel from the canonical files."""
    import duckdb

    p = filter_patents(patents, green, kind, granted_only, year_basis)
    p = p[p["app_year"].isin(list(years))]
    con = duckdb.connect()
    try:
        con.execute("SET threads = 1")
        con.register("p_", p[["patent_id", "app_year"]])
        con.register("links_", patent_applicants[["patent_id", "applicant_id"]])
        con.register("a", applicants[["applicant_id", "kind", "city_code"]])
        con.execute("CREATE TEMP VIEW l AS SELECT links_.patent_id, links_.applicant_id, p_.app_year AS _y "
                    "FROM links_ JOIN p_ ON p_.patent_id = links_.patent_id")
        long = con.sql(COUNTS_SQL).to_df()
    finally:
        con.close()
    return _wide(long, cities, years)


def _wide(long: pd.DataFrame, cities: Sequence[str], years: Sequence[int]) -> pd.DataFrame:
    """The counts of ``COUNTS_SQL`` (one row per city, year and key) as one row per city and year of
    ``cities`` × ``years``, zeros where a key has no row."""
    full = pd.MultiIndex.from_product([sorted(map(str, cities)), sorted(years)], names=["city_code", "year"])
    out = pd.DataFrame(index=full)
    wide = (long.astype({"city_code": str, "year": "int64"})
            .pivot(index=["city_code", "year"], columns="pair", values=["copat", "partners"])
            if len(long) else None)
    for k in PAIR_KEYS:
        for m in ("copat", "partners"):
            col = wide[(m, k)] if wide is not None and (m, k) in wide.columns else pd.Series(dtype=float)
            out[f"{m}_{k}"] = col.reindex(full).fillna(0).astype("int64")
    return out.reset_index()


def from_workspace(ws, cities: Sequence[str], years: Sequence[int], flt: dict | None = None) -> pd.DataFrame | None:
    """The panel from a workspace's canonical tables (None when they are absent); ``flt`` = the city-year
    panel's filter (``green``, ``kind``, ``granted_only``, ``year_basis``).

    DuckDB selects the requested years' filtered patents, their applicant links and those applicants
    from the Parquet files and counts every year in one query (``COUNTS_SQL``), within ``[metrics]
    memory_limit`` (beyond it, it spills to its temporary folder); pandas sees only the counts. The
    rows are in ``partner_kind_panel``'s order (city, year)."""
    need = [ws.canonical / f"{t}.parquet" for t in ("patents", "patent_applicants", "applicants")]
    if not all(p.exists() for p in need):
        return None
    flt = flt or {}
    basis = flt.get("year_basis", "application")
    ys = sorted({int(y) for y in years})
    if not ys:
        return pd.DataFrame({"city_code": pd.Series(dtype=object), "year": pd.Series(dtype="int64"),
                             **{c: pd.Series(dtype="int64") for c in COLUMNS}})
    args = {"green": flt.get("green", "wipo"), "kind": flt.get("kind", "invention"),
            "granted_only": bool(flt.get("granted_only", False)), "year_basis": basis}
    limit = memory_limit(getattr(ws, "settings", None))
    import duckdb

    try:
        with _Selection(need, ys, args, limit) as selection:
            long = selection.con.sql(COUNTS_SQL).to_df()
    except duckdb.OutOfMemoryException as exc:
        from citynet.errors import out_of_memory

        raise out_of_memory(exc, f"the partner-kind columns needed more memory than [metrics] memory_limit = "
                                 f"{limit // 2**20}MiB",
                            fix="raise [metrics] memory_limit in citynet.toml (e.g. \"2GB\") and run again") from exc
    return _wide(long, cities, ys)


def memory_limit(settings: dict | None) -> int:
    """``[metrics] memory_limit`` in bytes (default ``MEMORY_LIMIT``); a malformed size is a usage error."""
    from citynet.graph.store import size_bytes

    value = ((settings or {}).get("metrics") or {}).get("memory_limit", MEMORY_LIMIT)
    return size_bytes(value, "[metrics] memory_limit")


class _Selection:
    """The three tables restricted to what the requested years' panel can use, as DuckDB temporary tables
    ``l`` (patent_id, applicant_id, _y: the links of the filtered patents — ``filter_patents``' rules — of
    those years, with the panel year: on the grant basis, the grant year) and ``a`` (applicant_id, kind,
    city_code: those links' applicants), the names ``COUNTS_SQL`` reads. The panel's joins would drop
    the other rows anyway.

    DuckDB reads each Parquet file once (both cores; about 5× pyarrow's read-then-filter on a
    1M-patent corpus), within ``[metrics] memory_limit`` (beyond it DuckDB spills to its temporary
    folder)."""

    def __init__(self, paths, years: list[int], flt: dict, limit: int):
        self.paths, self.years, self.flt, self.limit = paths, years, flt, limit

    def __enter__(self):
        import tempfile

        import duckdb
        import pyarrow as pa

        pat, links, app = self.paths
        self._tmp = tempfile.TemporaryDirectory(prefix="citynet-metrics-")
        self.con = con = duckdb.connect(":memory:")
        con.execute("SET threads TO 2")
        con.execute(f"SET memory_limit = '{max(1, self.limit // 2**20)}MiB'")
        con.execute(f"SET temp_directory = {sql_string(self._tmp.name)}")
        con.execute("SET preserve_insertion_order = false")
        con.register("wanted", pa.table({"y": pa.array(self.years, pa.int64())}))
        f = self.flt
        if f["year_basis"] == "grant":
            yr, cond = "year(grant_date)", ["granted", "grant_date IS NOT NULL"]
        else:
            yr, cond = "app_year", []
        # the same rows filter_patents keeps (a null flag or kind is not kept there either)
        cond += {"wipo": ["green"], "y02": ["y02"]}.get(f["green"], [])
        if f["kind"] != "all":
            cond.append(f"patent_kind = {sql_string(str(f['kind']))}")
        if f["granted_only"]:
            cond.append("granted")
        cond.append(f"CAST({yr} AS BIGINT) IN (SELECT y FROM wanted)")
        con.execute(f"CREATE TEMP TABLE p AS SELECT patent_id, CAST({yr} AS BIGINT) AS _y "
                    f"FROM read_parquet({sql_string(pat)}) WHERE {' AND '.join(cond)}")
        con.execute(f"CREATE TEMP TABLE l AS SELECT l.patent_id, l.applicant_id, p._y "
                    f"FROM read_parquet({sql_string(links)}) l JOIN p ON p.patent_id = l.patent_id")
        con.execute(f"CREATE TEMP TABLE a AS SELECT applicant_id, kind, city_code FROM read_parquet({sql_string(app)}) "
                    "WHERE applicant_id IN (SELECT applicant_id FROM l)")
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()
        self._tmp.cleanup()


def add_to_city_year(ws, city_year: pd.DataFrame, flt: dict | None = None) -> pd.DataFrame:
    """``city_year`` with the ``COLUMNS`` of its cities and years (the panel's own values replaced), or
    unchanged when the workspace has no canonical tables (a panel computed from a store alone)."""
    if city_year.empty:
        return city_year
    pk = from_workspace(ws, city_year["city_code"].astype(str).unique(), sorted(city_year["year"].unique()), flt)
    if pk is None:
        return city_year
    pk["city_code"] = pk["city_code"].astype(city_year["city_code"].dtype)
    base = city_year.drop(columns=[c for c in COLUMNS if c in city_year.columns])
    out = base.merge(pk, on=["city_code", "year"], how="left")
    out[COLUMNS] = out[COLUMNS].fillna(0).astype("int64")
    out.attrs = city_year.attrs
    return out
