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
Vectorised: one self-join of ``patent_applicants`` on ``patent_id`` and two group-bys.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
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


def partner_kind_panel(patents: pd.DataFrame, patent_applicants: pd.DataFrame, applicants: pd.DataFrame,
                       cities: Sequence[str], years: Sequence[int], *, green: str = "wipo",
                       kind: str = "invention", granted_only: bool = False,
                       year_basis: str = "application") -> pd.DataFrame:
    """``city_code, year`` × every city and year, plus ``COLUMNS`` (zeros where there is no such pair)."""
    p = filter_patents(patents, green, kind, granted_only, year_basis)
    p = p[p["app_year"].isin(list(years))]
    a = applicants[["applicant_id", "kind", "city_code"]].rename(columns={"city_code": "app_city"})
    pa = (patent_applicants[["patent_id", "applicant_id"]].drop_duplicates()
          .merge(p, on="patent_id").merge(a, on="applicant_id"))
    pa = pa[pa["kind"].isin(list(KIND_CODES))]
    pa = pa[pa.groupby("patent_id")["applicant_id"].transform("size") >= 2]  # co-applied only
    pairs = pa.merge(pa, on=["patent_id", "app_year"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["applicant_id_a"] < pairs["applicant_id_b"]]
    ka, kb = pairs["kind_a"].to_numpy(), pairs["kind_b"].to_numpy()
    lo, hi = np.where(ka <= kb, ka, kb), np.where(ka <= kb, kb, ka)
    key = pd.Series([PAIRS.get((x, y)) for x, y in zip(lo, hi, strict=True)], index=pairs.index, dtype=object)
    gov = (ka == "government") | (kb == "government")
    rows = []
    for mask, name in ((key.notna(), None), (pd.Series(gov, index=pairs.index), "gov")):
        sub = pairs[mask]
        k = key[mask] if name is None else pd.Series("gov", index=sub.index)
        both = pd.concat([
            pd.DataFrame({"patent_id": sub["patent_id"], "year": sub["app_year"], "city_code": sub["app_city_a"],
                          "partner": sub["applicant_id_b"], "pair": k}),
            pd.DataFrame({"patent_id": sub["patent_id"], "year": sub["app_year"], "city_code": sub["app_city_b"],
                          "partner": sub["applicant_id_a"], "pair": k}),
        ], ignore_index=True)
        rows.append(both[both["city_code"].notna()])
    long = pd.concat(rows, ignore_index=True)
    full = pd.MultiIndex.from_product([sorted(map(str, cities)), sorted(years)], names=["city_code", "year"])
    out = pd.DataFrame(index=full)
    if len(long):
        long["city_code"] = long["city_code"].astype(str)
        g = long.groupby(["city_code", "year", "pair"])
        cop = g["patent_id"].nunique().unstack("pair")
        par = g["partner"].nunique().unstack("pair")
    else:
        cop = par = pd.DataFrame(index=full)
    for k in PAIR_KEYS:
        out[f"copat_{k}"] = (cop[k] if k in cop.columns else pd.Series(dtype=float)).reindex(full).fillna(0).astype("int64")
        out[f"partners_{k}"] = (par[k] if k in par.columns else pd.Series(dtype=float)).reindex(full).fillna(0).astype(
            "int64")
    return out.reset_index()


def from_workspace(ws, cities: Sequence[str], years: Sequence[int], flt: dict | None = None) -> pd.DataFrame | None:
    """The panel from a workspace's canonical tables (None when they are absent); ``flt`` = the city-year
    panel's filter (``green``, ``kind``, ``granted_only``, ``year_basis``).

    Computed one panel year at a time: every count is per (city, year), so the year's patents, their
    applicant links and those applicants are all a year needs, and the memory is that of the largest
    year, not of the corpus. The rows are then in ``partner_kind_panel``'s order (city, year)."""
    need = [ws.canonical / f"{t}.parquet" for t in ("patents", "patent_applicants", "applicants")]
    if not all(p.exists() for p in need):
        return None
    flt = flt or {}
    basis = flt.get("year_basis", "application")
    cols = (["patent_id", "app_year", "green", "y02", "patent_kind", "granted"], ["patent_id", "applicant_id"],
            ["applicant_id", "kind", "city_code"])  # only what the panel uses: the patents table has titles
    if basis == "grant":
        cols = ([*cols[0], "grant_date"], *cols[1:])
    ys = sorted({int(y) for y in years})
    if not ys:
        return pd.DataFrame({"city_code": pd.Series(dtype=object), "year": pd.Series(dtype="int64"),
                             **{c: pd.Series(dtype="int64") for c in COLUMNS}})
    args = {"green": flt.get("green", "wipo"), "kind": flt.get("kind", "invention"),
            "granted_only": bool(flt.get("granted_only", False)), "year_basis": basis}
    parts = []
    limit = memory_limit(getattr(ws, "settings", None))
    import duckdb

    try:
        with _YearReader(need, cols, ys, args, limit) as reader:
            for y in ys:
                pat, pa, app = reader.year(y)
                parts.append(partner_kind_panel(pat, pa, app, cities, [y], **args))
    except duckdb.OutOfMemoryException as exc:
        from citynet.errors import out_of_memory

        raise out_of_memory(exc, f"the partner-kind columns needed more memory than [metrics] memory_limit = "
                                 f"{limit // 2**20}MiB",
                            fix="raise [metrics] memory_limit in citynet.toml (e.g. \"2GB\") and run again") from exc
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["city_code", "year"], kind="stable").reset_index(drop=True)


def memory_limit(settings: dict | None) -> int:
    """``[metrics] memory_limit`` in bytes (default ``MEMORY_LIMIT``); a malformed size is a usage error."""
    from citynet.graph.store import size_bytes

    value = ((settings or {}).get("metrics") or {}).get("memory_limit", MEMORY_LIMIT)
    return size_bytes(value, "[metrics] memory_limit")


class _YearReader:
    """The three tables restricted to what the panel of one year can use, before pandas sees them: the
    filtered patents of that year (``filter_patents``' rules; on the grant basis, the grant year), their
    applicant links and those applicants. The panel's own joins would drop the other rows anyway.

    DuckDB reads each Parquet file once (both cores; about 5× pyarrow's read-then-filter on a
    1M-patent corpus) into temporary tables of the filtered patents of the requested years, their links
    and applicants, within ``MEMORY_LIMIT`` (beyond it DuckDB spills them to its temporary folder);
    pandas then receives one year at a time."""

    def __init__(self, paths, cols, years: list[int], flt: dict, limit: int):
        self.paths, self.cols, self.years, self.flt, self.limit = paths, cols, years, flt, limit

    def __enter__(self):
        import duckdb
        import pyarrow as pa

        def sel(c, t="") -> str:
            return ", ".join(f'{t}"{x}"' for x in c)

        import tempfile

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
            cond.append(f"patent_kind = '{str(f['kind']).replace(chr(39), chr(39) * 2)}'")
        if f["granted_only"]:
            cond.append("granted")
        cond.append(f"CAST({yr} AS BIGINT) IN (SELECT y FROM wanted)")
        con.execute(f"CREATE TEMP TABLE p AS SELECT {sel(self.cols[0])}, CAST({yr} AS BIGINT) AS _y "
                    f"FROM read_parquet({sql_string(pat)}) WHERE {' AND '.join(cond)}")
        con.execute(f"CREATE TEMP TABLE l AS SELECT {sel(self.cols[1], 'l.')}, p._y FROM read_parquet({sql_string(links)}) l "
                    "JOIN (SELECT patent_id, _y FROM p) p ON p.patent_id = l.patent_id")
        con.execute(f"CREATE TEMP TABLE a AS SELECT {sel(self.cols[2])} FROM read_parquet({sql_string(app)}) "
                    "WHERE applicant_id IN (SELECT applicant_id FROM l)")
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()
        self._tmp.cleanup()

    def year(self, y: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The patents, links and applicants of year ``y``, in the files' row order."""
        con, c = self.con, self.cols

        def sel(cols, t="") -> str:
            return ", ".join(f'{t}"{x}"' for x in cols)

        out = [con.sql(f"SELECT {sel(c[0])} FROM p WHERE _y = {int(y)}").to_arrow_table(),
               con.sql(f"SELECT {sel(c[1])} FROM l WHERE _y = {int(y)}").to_arrow_table(),
               con.sql(f"SELECT {sel(c[2])} FROM a WHERE applicant_id IN "
                       f"(SELECT applicant_id FROM l WHERE _y = {int(y)})").to_arrow_table()]
        return tuple(t.to_pandas() for t in out)


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
