"""The panels of ``citynet metrics`` against the networks rebuilt here from ``canonical/*.parquet`` with pandas
and networkx, by the definitions of docs/methods.md §2–3 — nothing of citynet's own (neither its store, nor
``graph.reference``, nor ``metrics.measures``) computes an expected value.

One synthetic corpus through the command line (synth → ingest → load → metrics), three filters: every
technology by application year, every granted patent by grant year, the default WIPO green inventions. For
each: every city-year column (counts, degree, strength, betweenness with 1/w lengths compared as exact
fractions, harmonic closeness, eigenvector centrality on the largest component, PageRank, clustering,
coreness, Burt's constraint, churn, transfer and citation degrees), every dyad-year count, and the
network-year statistics (modularity of the panel's own partition by networkx).
"""

from __future__ import annotations

from fractions import Fraction

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from citynet.cli import cli

FILTERS = {  # key: (green, kind, granted only, year basis)
    "all.all.all": ("all", "all", False, "application"),
    "all.all.granted.grantyear": ("all", "all", True, "grant"),
    "invention.wipo.all": ("wipo", "invention", False, "application"),
}


def run(args):
    r = CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from citynet.synth import SynthConfig, synthesize

    root = tmp_path_factory.mktemp("metrics-networkx")
    synthesize(root / "s", SynthConfig(seed=5, n_patents=8_000, years=(2012, 2016)))
    w = root / "ws"
    run(["ingest", "-w", str(w), str(root / "s" / "raw" / "patents.csv"),
         "--transfers", str(root / "s" / "raw" / "transfers.csv")])
    run(["load", "-w", str(w)])
    for key in FILTERS:
        run(["metrics", "-w", str(w), "--network", key])
    return w


# --- the networks, from the canonical tables ------------------------------------------------------------------
def _tables(w):
    return {t: pd.read_parquet(w / "canonical" / f"{t}.parquet")
            for t in ("patents", "patent_applicants", "applicants", "transfers", "citations", "cities")}


def _filtered(t, green, kind, granted, basis):
    p = t["patents"]
    m = pd.Series(True, index=p.index)
    if kind != "all":
        m &= p["patent_kind"] == kind
    if green == "wipo":
        m &= p["green"]
    elif green == "y02":
        m &= p["y02"]
    if granted or basis == "grant":
        m &= p["granted"]
    p = p[m]
    year = pd.to_datetime(p["grant_date"]).dt.year if basis == "grant" else p["app_year"]
    return p.assign(year=year.astype(int))[["patent_id", "year"]]


def _patent_cities(t):
    pa = t["patent_applicants"]
    return pa.loc[pa["city_code"].notna(), ["patent_id", "city_code"]].drop_duplicates()


def _edges(t, fp):
    pc = _patent_cities(t)
    pcy = pc.merge(fp, on="patent_id")
    pairs = pcy.merge(pcy, on=["patent_id", "year"])
    collab = pairs[pairs["city_code_x"] < pairs["city_code_y"]].groupby(["year", "city_code_x", "city_code_y"]).size()
    tr = t["transfers"]
    tr = tr[tr["patent_id"].isin(fp["patent_id"]) & tr["from_city"].notna() & tr["to_city"].notna()]
    transfer = tr[tr["from_city"] != tr["to_city"]].groupby(["year", "from_city", "to_city"]).size()
    ci = t["citations"].dropna(subset=["cited_patent_id"])
    ci = ci.merge(fp.rename(columns={"patent_id": "citing_patent_id"}), on="citing_patent_id")
    ci = ci.merge(pc.rename(columns={"patent_id": "citing_patent_id", "city_code": "to"}), on="citing_patent_id")
    ci = ci.merge(pc.rename(columns={"patent_id": "cited_patent_id", "city_code": "fr"}), on="cited_patent_id")
    citation = ci[ci["fr"] != ci["to"]].groupby(["year", "fr", "to"]).size()
    return {"collab": collab, "transfer": transfer, "citation": citation}


def _graph(cities, s, year, directed):
    g = nx.DiGraph() if directed else nx.Graph()
    g.add_nodes_from(cities)
    if year in s.index.get_level_values(0):
        for (a, b), w in s.loc[year].items():
            g.add_edge(a, b, weight=int(w), length=Fraction(1, int(w)))
    return g


def _eigen(g, weight):
    """Leading eigenvector of the largest component (ties: the lowest code), max 1; 0 elsewhere."""
    comp = min(nx.connected_components(g), key=lambda c: (-len(c), min(c)))
    out = dict.fromkeys(g, 0.0)
    if len(comp) < 2:
        return out
    nodes = sorted(comp)
    vals, vecs = np.linalg.eigh(nx.to_numpy_array(g.subgraph(nodes), nodelist=nodes, weight=weight))
    x = np.abs(vecs[:, np.argmax(vals)])
    out.update(zip(nodes, x / x.max(), strict=True))
    return out


def _expected_city_year(t, fp, years):
    cities = sorted(t["cities"]["city_code"])
    n = len(cities)
    e = _edges(t, fp)
    rows = []
    partners = {}
    for y in years:
        g, tr, q = (_graph(cities, e["collab"], y, False), _graph(cities, e["transfer"], y, True),
                    _graph(cities, e["citation"], y, True))
        bc, bcw = nx.betweenness_centrality(g), nx.betweenness_centrality(g, weight="length")
        hc, hcw = nx.harmonic_centrality(g), nx.harmonic_centrality(g, distance="length")
        pr = nx.pagerank(g, alpha=0.85, tol=1e-13, max_iter=10_000)
        tpr = nx.pagerank(tr, alpha=0.85, tol=1e-13, max_iter=10_000)
        tbc, tbcw = nx.betweenness_centrality(tr), nx.betweenness_centrality(tr, weight="length")
        ev, evw = (_eigen(g, None), _eigen(g, "weight")) if g.number_of_edges() else ({}, {})
        cl, core, cons = nx.clustering(g), nx.core_number(g), nx.constraint(g, weight="weight")
        for c in cities:
            k, s, to, ti = g.degree(c), g.degree(c, weight="weight"), tr.out_degree(c), tr.in_degree(c)
            now, before = set(g[c]), partners.get((c, y - 1), set())
            partners[(c, y)] = now
            first = y == years[0]
            rows.append({
                "city_code": c, "year": y, "collab_partners": k, "collab_strength": s,
                "collab_intensity": s / k if k else 0.0, "collab_degree": k / (n - 1),
                "collab_betweenness": bc[c], "collab_betweenness_w": bcw[c],
                "collab_harmonic": hc[c] / (n - 1), "collab_harmonic_w": float(hcw[c]) / (n - 1),
                "collab_eigenvector": ev.get(c, 0.0), "collab_eigenvector_w": evw.get(c, 0.0),
                "collab_pagerank": pr[c], "collab_clustering": cl[c], "collab_coreness": core[c],
                "collab_constraint": cons[c],
                "partners_continuing": np.nan if first else len(now & before),
                "partners_new": np.nan if first else len(now - before),
                "partners_exited": np.nan if first else len(before - now),
                "transfer_partners_out": to, "transfer_partners_in": ti,
                "transfer_intensity_out": tr.out_degree(c, weight="weight") / to if to else 0.0,
                "transfer_outdegree": to / (n - 1), "transfer_indegree": ti / (n - 1),
                "transfer_betweenness": tbc[c], "transfer_betweenness_w": tbcw[c], "transfer_pagerank": tpr[c],
                "citation_indegree": q.in_degree(c) / (n - 1), "citation_outdegree": q.out_degree(c) / (n - 1),
            })
    return pd.DataFrame(rows)


def _expected_counts(t, fp, basis):
    prov = t["cities"].set_index("city_code")["province_code"]
    pc = _patent_cities(t).merge(fp, on="patent_id")
    key = ["city_code", "year"]
    out = {"green_patents": pc.groupby(key)["patent_id"].nunique()}
    other = pc.merge(pc[["patent_id", "city_code"]], on="patent_id")
    other = other[other["city_code_x"] != other["city_code_y"]].rename(columns={"city_code_x": "city_code"})
    out["collab_patents"] = other.groupby(key)["patent_id"].nunique()
    same = other[other["city_code"].map(prov) == other["city_code_y"].map(prov)]
    out["collab_patents_intraprov"] = same.groupby(key)["patent_id"].nunique()
    tr = t["transfers"]
    tr = tr[tr["patent_id"].isin(fp["patent_id"]) & tr["from_city"].notna() & tr["to_city"].notna()]
    away = tr[tr["from_city"] != tr["to_city"]]
    by = {"from": away.groupby(["from_city", "year"]).size(), "to": away.groupby(["to_city", "year"]).size()}
    for s in by.values():
        s.index.names = key
    out["transfers_out"], out["transfers_in"] = by["from"], by["to"]
    out["transfers_local"] = tr[tr["from_city"] == tr["to_city"]].groupby(["from_city", "year"]).size() \
        .rename_axis(key)
    ip = away[away["from_city"].map(prov) == away["to_city"].map(prov)]
    out["transfers_intraprov"] = pd.concat([ip.groupby(["from_city", "year"]).size().rename_axis(key),
                                            ip.groupby(["to_city", "year"]).size().rename_axis(key)]) \
        .groupby(level=[0, 1]).sum()
    made = t["citations"].merge(pc.rename(columns={"patent_id": "citing_patent_id"}), on="citing_patent_id")
    out["citations_made"] = made.groupby(key).size()
    out["citations_foreign"] = made[made["foreign"].fillna(False).astype(bool)].groupby(key).size()
    # received: from any corpus patent (dated by its own year on the filter's basis) to the filtered patents
    citing = _filtered(t, "all", "all", basis == "grant", basis).rename(columns={"patent_id": "citing_patent_id"})
    rec = t["citations"][t["citations"]["cited_patent_id"].isin(fp["patent_id"])].merge(citing, on="citing_patent_id")
    rec = rec.merge(_patent_cities(t).rename(columns={"patent_id": "cited_patent_id"}), on="cited_patent_id")
    out["citations_received"] = rec.groupby(key).size()
    df = pd.DataFrame(out).fillna(0).astype(int)
    df["transfers_other"] = df["transfers_out"] + df["transfers_in"]
    return df.reset_index()


def _close(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.isclose(a, b, rtol=1e-9, atol=1e-12) | (np.isnan(a) & np.isnan(b))


@pytest.mark.parametrize("key", list(FILTERS))
def test_city_year_panel_equals_networkx_on_the_canonical_tables(ws, key):
    t = _tables(ws)
    fp = _filtered(t, *FILTERS[key])
    panel = pd.read_parquet(ws / "metrics" / key / "city_year.parquet")
    panel["year"] = panel["year"].astype(int)
    years = sorted(panel["year"].unique())
    assert years == list(range(fp["year"].min(), fp["year"].max() + 1))  # first to last year with a patent
    want = _expected_city_year(t, fp, years).merge(_expected_counts(t, fp, FILTERS[key][3]), on=["city_code", "year"], how="left")
    want = want.fillna({c: 0 for c in want.columns if c.startswith(("green", "collab_pat", "transfers", "citations"))})
    assert len(panel) == len(want) == len(t["cities"]) * len(years)  # balanced: every city, every year
    got = panel.merge(want, on=["city_code", "year"], suffixes=("", "_nx"))
    assert len(got) == len(panel)
    for c in want.columns.drop(["city_code", "year"]):
        ok = _close(got[c].astype(float), got[f"{c}_nx"])
        assert ok.all(), (key, c, got.loc[~ok, ["city_code", "year", c, f"{c}_nx"]].head(3).to_dict("records"))
    # the test is not empty: edges, churn and isolated cities in every network
    assert (got["collab_partners"] > 0).sum() > 20 and (got["collab_partners"] == 0).sum() > 20
    assert (got["partners_exited"] > 0).any() and (got["transfer_partners_out"] > 0).any()
    assert (got["citation_indegree"] > 0).any() and got["collab_constraint"].isna().any()
    assert (got["citations_received"] > 0).any()


@pytest.mark.parametrize("key", list(FILTERS))
def test_dyad_and_network_year_panels_equal_networkx(ws, key):
    t = _tables(ws)
    fp = _filtered(t, *FILTERS[key])
    cities = sorted(t["cities"]["city_code"])
    n = len(cities)
    e = _edges(t, fp)
    dy = pd.read_parquet(ws / "metrics" / key / "dyad_year.parquet")
    years = sorted(int(y) for y in dy["year"].unique())
    assert len(dy) == n * (n - 1) // 2 * len(years)
    dy = dy.assign(year=dy["year"].astype(int)).set_index(["year", "city_a", "city_b"])
    for col, s in (("collab", e["collab"]),
                   ("transfer_ab", e["transfer"][e["transfer"].index.get_level_values(1)
                                                 < e["transfer"].index.get_level_values(2)]),
                   ("citations_ab", e["citation"][e["citation"].index.get_level_values(1)
                                                  < e["citation"].index.get_level_values(2)])):
        s = s[s.index.get_level_values(0).isin(years)]
        assert int(dy[col].sum()) == int(s.sum()), col
        assert (dy.loc[s.index, col].to_numpy() == s.to_numpy()).all(), col
    for col, s in (("transfer_ba", e["transfer"]), ("citations_ba", e["citation"])):
        s = s[(s.index.get_level_values(1) > s.index.get_level_values(2)) & s.index.get_level_values(0).isin(years)]
        s.index = pd.MultiIndex.from_arrays([s.index.get_level_values(0), s.index.get_level_values(2),
                                             s.index.get_level_values(1)])
        assert int(dy[col].sum()) == int(s.sum()), col
        assert (dy.loc[s.index, col].to_numpy() == s.to_numpy()).all(), col
    ny = pd.read_parquet(ws / "metrics" / key / "network_year.parquet")
    cy = pd.read_parquet(ws / "metrics" / key / "city_year.parquet")
    for net, directed in (("collab", False), ("transfer", True), ("citation", True)):
        for y in years:
            g = _graph(cities, e[net], y, directed)
            m = g.number_of_edges()
            comps = list(nx.weakly_connected_components(g) if directed else nx.connected_components(g))
            want = {"nodes": sum(1 for v in g if g.degree(v)), "edges": m,
                    "total_weight": sum(w for *_, w in g.edges(data="weight")),
                    "density": m / (n * (n - 1) if directed else n * (n - 1) / 2),
                    "components": sum(len(c) > 1 for c in comps), "giant_share": max(map(len, comps)) / n,
                    "clustering": nx.transitivity(nx.Graph(g.to_undirected() if directed else g)),
                    "mean_degree": (m if directed else 2 * m) / n}
            if net == "collab" and m:
                lab = cy[cy["year"] == y].set_index("city_code")["collab_community"]
                parts = [set(lab.index[lab == k]) for k in sorted(set(lab)) if k > 0]
                want["communities"] = len(parts)
                want["modularity"] = nx.community.modularity(g, parts + [{c} for c in lab.index[lab == 0]])
            row = ny[(ny["network"] == net) & (ny["year"] == y)].iloc[0]
            for k, v in want.items():
                assert _close(row[k], v), (key, net, y, k, row[k], v)
