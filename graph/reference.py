"""The pandas computation of the yearly city networks and city-year counts, straight from the
canonical tables, following graph/network_filter.py exactly. The contract tests compare both
stores against it; the metrics layer may reuse it (it needs no store).

``tables`` is the dict of canonical DataFrames (``graph.tables.read_canonical``); the cleaning of
``graph.tables.clean`` is applied first, as the loaders do.
"""

from __future__ import annotations

from citynet.graph.network_filter import NetworkFilter
from citynet.graph.tables import clean

from citynet.lazy_module import lazy_module

pd = lazy_module("pandas")

EDGE_COLUMNS = ["network", "year", "src", "dst", "weight"]
COUNT_COLUMNS = [
    "green_patents",
    "collab_patents",
    "collab_patents_intraprov",
    "transfers_out",
    "transfers_in",
    "transfers_local",
    "transfers_other",
    "transfers_intraprov",
    "citations_made",
    "citations_received",
    "citations_foreign",
]


def _prepared(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return tables if tables.get("_clean") is not None else {**clean(tables), "_clean": pd.DataFrame()}


def _passes(patents: pd.DataFrame, flt: NetworkFilter) -> pd.Series:
    ok = pd.Series(True, index=patents.index)
    if flt.kind != "all":
        ok &= patents["patent_kind"].eq(flt.kind).fillna(False)
    if flt.green == "wipo":
        ok &= patents["green"].fillna(False).astype(bool)
    elif flt.green == "y02":
        ok &= patents["y02"].fillna(False).astype(bool)
    if flt.requires_grant:
        ok &= patents["granted"].fillna(False).astype(bool)
    return ok


def _year(patents: pd.DataFrame, flt: NetworkFilter) -> pd.Series:
    return patents["grant_year"] if flt.year_basis == "grant" else patents["app_year"]


def _in_years(year: pd.Series, years) -> pd.Series:
    ok = year.notna()
    if years is not None:
        ok &= year.isin(list(years))
    return ok


def _filtered_patents(t, flt, years) -> pd.DataFrame:
    p = t["patents"]
    f = p.loc[_passes(p, flt), ["patent_id"]].assign(year=_year(p, flt)[_passes(p, flt)])
    return f[_in_years(f["year"], years)].astype({"year": "int64"})


def _patent_cities(t) -> pd.DataFrame:
    pa_ = t["patent_applicants"]
    return pa_.loc[pa_["city_code"].notna(), ["patent_id", "city_code"]].drop_duplicates()


def _filtered_transfers(t, flt, years) -> pd.DataFrame:
    p = t["patents"]
    ok_ids = p.loc[_passes(p, flt), "patent_id"]
    tr = t["transfers"]
    tr = tr[tr["patent_id"].isin(ok_ids) & tr["from_city"].notna() & tr["to_city"].notna()]
    return tr[_in_years(tr["year"], years)].astype({"year": "int64"})


def _citations(t) -> pd.DataFrame:
    ci = t["citations"]
    ci = ci[ci["cited_patent_id"].notna()]
    return ci.groupby(["citing_patent_id", "cited_patent_id"]).size().rename("refs").reset_index()


def reference_city_edges(tables: dict[str, pd.DataFrame], flt: NetworkFilter, years=None) -> pd.DataFrame:
    """``network, year, src, dst, weight`` for collab (src < dst), transfer and citation."""
    t = _prepared(tables)
    fp = _filtered_patents(t, flt, years)
    pc = _patent_cities(t).merge(fp, on="patent_id")
    pairs = pc.merge(pc[["patent_id", "city_code"]], on="patent_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["city_code_a"] < pairs["city_code_b"]]
    collab = pairs.groupby(["year", "city_code_a", "city_code_b"]).size().rename("weight").reset_index()
    collab = collab.rename(columns={"city_code_a": "src", "city_code_b": "dst"}).assign(network="collab")

    tr = _filtered_transfers(t, flt, years)
    tr = tr[tr["from_city"] != tr["to_city"]]
    transfer = tr.groupby(["year", "from_city", "to_city"]).size().rename("weight").reset_index()
    transfer = transfer.rename(columns={"from_city": "src", "to_city": "dst"}).assign(network="transfer")

    ci = _citations(t).merge(fp.rename(columns={"patent_id": "citing_patent_id"}), on="citing_patent_id")
    pcs = _patent_cities(t)
    ci = ci.merge(pcs.rename(columns={"patent_id": "citing_patent_id", "city_code": "dst"}), on="citing_patent_id")
    ci = ci.merge(pcs.rename(columns={"patent_id": "cited_patent_id", "city_code": "src"}), on="cited_patent_id")
    ci = ci[ci["src"] != ci["dst"]]
    citation = ci.groupby(["year", "src", "dst"])["refs"].sum().rename("weight").reset_index().assign(network="citation")

    out = pd.concat([collab, transfer, citation], ignore_index=True)
    return _edge_frame(out)


def _edge_frame(out: pd.DataFrame) -> pd.DataFrame:
    out = out.reindex(columns=EDGE_COLUMNS)
    out = out.astype({"network": str, "year": "int64", "src": str, "dst": str, "weight": "int64"})
    return out.sort_values(["network", "year", "src", "dst"]).reset_index(drop=True)


def reference_city_year_counts(tables: dict[str, pd.DataFrame], flt: NetworkFilter, years=None) -> pd.DataFrame:
    """``city_code, year`` and every count of network_filter.py's docstring (non-zero city-years)."""
    t = _prepared(tables)
    prov = t["cities"].set_index("city_code")["province_code"]
    fp = _filtered_patents(t, flt, years)
    pc = _patent_cities(t).merge(fp, on="patent_id")
    ci_all = t["citations"]
    made = ci_all.groupby("citing_patent_id").size()
    foreign = ci_all[ci_all["foreign"].fillna(False).astype(bool)].groupby("citing_patent_id").size()
    pc = pc.assign(
        citations_made=pc["patent_id"].map(made).fillna(0).astype("int64"),
        citations_foreign=pc["patent_id"].map(foreign).fillna(0).astype("int64"),
    )
    frames = [
        pc.groupby(["city_code", "year"]).agg(
            green_patents=("patent_id", "size"),
            citations_made=("citations_made", "sum"),
            citations_foreign=("citations_foreign", "sum"),
        )
    ]
    pairs = pc[["patent_id", "year", "city_code"]].merge(pc[["patent_id", "city_code"]], on="patent_id", suffixes=("", "_o"))
    pairs = pairs[pairs["city_code"] != pairs["city_code_o"]]
    pairs = pairs.assign(same=(pairs["city_code"].map(prov) == pairs["city_code_o"].map(prov)).astype(int))
    per_patent = pairs.groupby(["city_code", "year", "patent_id"])["same"].max().reset_index()
    frames.append(
        per_patent.groupby(["city_code", "year"]).agg(
            collab_patents=("patent_id", "size"), collab_patents_intraprov=("same", "sum")
        )
    )

    tr = _filtered_transfers(t, flt, years)
    tr = tr.assign(same=(tr["from_city"].map(prov) == tr["to_city"].map(prov)).astype(int))
    local = tr[tr["from_city"] == tr["to_city"]]
    other = tr[tr["from_city"] != tr["to_city"]]
    out_ = other.groupby(["from_city", "year"]).agg(transfers_out=("same", "size"), ip_out=("same", "sum"))
    in_ = other.groupby(["to_city", "year"]).agg(transfers_in=("same", "size"), ip_in=("same", "sum"))
    out_.index.names = in_.index.names = ["city_code", "year"]
    loc = local.groupby(["from_city", "year"]).size().rename("transfers_local").to_frame()
    loc.index.names = ["city_code", "year"]
    frames += [out_, in_, loc]

    # citations received: from any corpus patent to the city's filtered patents, by the citing patent's year
    p = t["patents"]
    citing_year = pd.DataFrame({"citing_patent_id": p["patent_id"], "year": _year(p, flt)})
    citing_year = citing_year[_in_years(citing_year["year"], years)].astype({"year": "int64"})
    ok_cited = p.loc[_passes(p, flt), "patent_id"]
    rc = _citations(t)
    rc = rc[rc["cited_patent_id"].isin(ok_cited)].merge(citing_year, on="citing_patent_id")
    rc = rc.merge(_patent_cities(t).rename(columns={"patent_id": "cited_patent_id"}), on="cited_patent_id")
    frames.append(rc.groupby(["city_code", "year"])["refs"].sum().rename("citations_received").to_frame())

    df = pd.concat(frames, axis=1).fillna(0)
    df = df.reindex(columns=[*COUNT_COLUMNS, "ip_out", "ip_in"], fill_value=0)
    df["transfers_other"] = df["transfers_out"] + df["transfers_in"]
    df["transfers_intraprov"] = df["ip_out"] + df["ip_in"]
    df = df.drop(columns=["ip_out", "ip_in"]).reset_index()
    return count_frame(df)


def count_frame(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=["city_code", "year", *COUNT_COLUMNS]).fillna(0)
    df = df.astype({"city_code": str, "year": "int64", **dict.fromkeys(COUNT_COLUMNS, "int64")})
    df = df[df[COUNT_COLUMNS].sum(axis=1) > 0]
    return df.sort_values(["city_code", "year"]).reset_index(drop=True)
