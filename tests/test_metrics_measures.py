"""Every igraph measure of metrics.measures equals networkx (1e-9) on random graphs over the full city set.

Weighted shortest paths: igraph gets lengths 1/w; networkx gets the integer lengths 420/w
(420 = lcm(1..7)), the same lengths scaled by a constant — shortest paths and their counts are the
same, and integers make networkx's exact tie test agree with igraph's tolerant one (1/2 + 1/2 == 1/1).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from citynet.etl.cities import city_set
from citynet.metrics import measures as M

TOL = 1e-9
LCM = 420
N = len(city_set())


def _random(directed: bool, seed: int, m: int = 700):
    rng = np.random.default_rng(seed)
    active = N // 2  # the other half of the city set stays isolated
    a, b = rng.integers(0, active, m), rng.integers(0, active, m)
    keep = a != b
    a, b = a[keep], b[keep]
    if not directed:
        a, b = np.minimum(a, b), np.maximum(a, b)
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    w = rng.integers(1, 8, len(pairs))
    g = M.build_graph(N, pairs[:, 0], pairs[:, 1], w, directed)
    G = nx.DiGraph() if directed else nx.Graph()
    G.add_nodes_from(range(N))
    for (u, v), ww in zip(pairs.tolist(), w.tolist(), strict=True):
        G.add_edge(u, v, weight=ww, length=LCM // ww)
    return g, G


def _arr(d: dict) -> np.ndarray:
    return np.array([d[i] for i in range(N)], dtype=float)


@pytest.fixture(scope="module", params=[1, 2])
def und(request):
    return _random(False, request.param)


@pytest.fixture(scope="module", params=[3, 4])
def dig(request):
    return _random(True, request.param)


def test_degree(und, dig):
    g, G = und
    np.testing.assert_allclose(M.degree_centrality(g), _arr(nx.degree_centrality(G)), atol=TOL)
    g, G = dig
    np.testing.assert_allclose(M.degree_centrality(g, "out"), _arr(nx.out_degree_centrality(G)), atol=TOL)
    np.testing.assert_allclose(M.degree_centrality(g, "in"), _arr(nx.in_degree_centrality(G)), atol=TOL)


def test_betweenness_undirected(und):
    g, G = und
    np.testing.assert_allclose(M.betweenness(g), _arr(nx.betweenness_centrality(G)), atol=TOL)
    np.testing.assert_allclose(M.betweenness(g, weighted=True),
                               _arr(nx.betweenness_centrality(G, weight="length")), atol=TOL)


def test_betweenness_directed(dig):
    g, G = dig
    np.testing.assert_allclose(M.betweenness(g), _arr(nx.betweenness_centrality(G)), atol=TOL)
    np.testing.assert_allclose(M.betweenness(g, weighted=True),
                               _arr(nx.betweenness_centrality(G, weight="length")), atol=TOL)


def test_harmonic(und):
    g, G = und
    np.testing.assert_allclose(M.harmonic_closeness(g), _arr(nx.harmonic_centrality(G)) / (N - 1), atol=TOL)
    # lengths 1/w = (420/w)/420, so 1/d scales by 420
    ref = _arr(nx.harmonic_centrality(G, distance="length")) * LCM / (N - 1)
    np.testing.assert_allclose(M.harmonic_closeness(g, weighted=True), ref, atol=TOL)


@pytest.mark.parametrize("weighted", [False, True])
def test_eigenvector_on_giant_component(und, weighted):
    g, G = und
    giant = max(nx.connected_components(G), key=len)
    ref = nx.eigenvector_centrality_numpy(G.subgraph(giant), weight="weight" if weighted else None)
    top = max(abs(v) for v in ref.values())
    expect = np.zeros(N)
    for k, v in ref.items():
        expect[k] = abs(v) / top
    np.testing.assert_allclose(M.eigenvector(g, weighted=weighted), expect, atol=TOL)


@pytest.mark.parametrize("weighted", [False, True])
def test_pagerank(und, dig, weighted):
    for g, G in (und, dig):
        ref = nx.pagerank(G, alpha=0.85, weight="weight" if weighted else None, tol=1e-15, max_iter=100_000)
        np.testing.assert_allclose(M.pagerank(g, weighted=weighted), _arr(ref), atol=TOL)


def test_clustering_and_coreness(und):
    g, G = und
    np.testing.assert_allclose(M.clustering(g), _arr(nx.clustering(G)), atol=TOL)
    np.testing.assert_array_equal(M.coreness(g), _arr(nx.core_number(G)))


@pytest.mark.parametrize("weighted", [False, True])
def test_constraint(und, weighted):
    g, G = und
    ours = M.constraint(g, weighted=weighted)
    ref = _arr(nx.constraint(G, weight="weight" if weighted else None))
    isolated = np.array([G.degree(i) == 0 for i in range(N)])
    assert np.isnan(ours[isolated]).all() and np.isnan(ref[isolated]).all()
    np.testing.assert_allclose(ours[~isolated], ref[~isolated], atol=TOL)


def test_leiden_partition_and_modularity(und):
    g, G = und
    labels, q = M.leiden(g)
    deg = np.array([G.degree(i) for i in range(N)])
    assert (labels[deg == 0] == 0).all() and (labels[deg > 0] >= 1).all()
    sizes = np.bincount(labels[labels > 0])[1:]
    assert (np.diff(sizes) <= 0).all()  # 1 = largest
    comms = [set(np.flatnonzero(labels == k).tolist()) for k in range(1, labels.max() + 1)]
    comms += [{i} for i in np.flatnonzero(labels == 0).tolist()]
    assert q == pytest.approx(nx.community.modularity(G, comms, weight="weight"), abs=TOL)
    assert q > 0.1
    # reproducible
    again, q2 = M.leiden(g)
    np.testing.assert_array_equal(labels, again)
    assert q == q2


def test_graph_summary(und, dig):
    for g, G in (und, dig):
        s = M.graph_summary(g)
        directed = G.is_directed()
        U = G.to_undirected() if directed else G
        comps = [c for c in nx.connected_components(U) if len(c) >= 2]
        assert s["nodes"] == sum(1 for i in range(N) if U.degree(i) > 0)
        assert s["edges"] == G.number_of_edges()
        assert s["total_weight"] == pytest.approx(G.size(weight="weight"))
        assert s["density"] == pytest.approx(nx.density(G), abs=TOL)
        assert s["components"] == len(comps)
        assert s["giant_share"] == pytest.approx(max(len(c) for c in comps) / N, abs=TOL)
        assert s["clustering"] == pytest.approx(nx.transitivity(U), abs=TOL)
        k = np.mean([d for _, d in (G.out_degree() if directed else G.degree())])
        assert s["mean_degree"] == pytest.approx(k, abs=TOL)


def test_city_year_columns_equal_networkx_by_city_code():
    """The panel puts each measure on the right city and year (random two-year tables, codes shuffled)."""
    import pandas as pd
    from citynet.metrics.panels import city_year_panel

    rng = np.random.default_rng(11)
    codes = city_set().cities["city_code"].to_numpy()
    active = rng.permutation(codes)[:150]
    frames = []
    for net in ("collab", "transfer"):
        for y in (2015, 2016):
            a, b = rng.choice(active, 500), rng.choice(active, 500)
            frames.append(pd.DataFrame({"network": net, "year": y, "src": a, "dst": b,
                                        "weight": rng.integers(1, 8, 500)}))
    edges = pd.concat(frames, ignore_index=True)  # duplicates and self-loops included on purpose
    panel = city_year_panel(edges, None, city_set().cities, [2015, 2016]).set_index(["year", "city_code"])
    for y in (2015, 2016):
        for net, directed in (("collab", False), ("transfer", True)):
            sub = edges[(edges["network"] == net) & (edges["year"] == y) & (edges["src"] != edges["dst"])]
            G = nx.DiGraph() if directed else nx.Graph()
            G.add_nodes_from(codes)
            for s, d, w in zip(sub["src"], sub["dst"], sub["weight"], strict=True):
                if G.has_edge(s, d):
                    G[s][d]["weight"] += int(w)
                else:
                    G.add_edge(s, d, weight=int(w))
            p = panel.loc[y]

            def check(col, ref, p=p):
                np.testing.assert_allclose(p.loc[codes, col].to_numpy(dtype=float),
                                           np.array([ref[c] for c in codes], dtype=float), atol=TOL, equal_nan=True)

            if directed:
                check("transfer_outdegree", nx.out_degree_centrality(G))
                check("transfer_indegree", nx.in_degree_centrality(G))
                check("transfer_betweenness", nx.betweenness_centrality(G))
                check("transfer_pagerank", nx.pagerank(G, weight="weight", tol=1e-15, max_iter=100_000))
                check("transfer_partners_out", dict(G.out_degree()))
                check("transfer_intensity_out", {c: (G.out_degree(c, weight="weight") / G.out_degree(c))
                                                 if G.out_degree(c) else 0.0 for c in codes})
            else:
                check("collab_degree", nx.degree_centrality(G))
                check("collab_betweenness", nx.betweenness_centrality(G))
                check("collab_harmonic", {c: v / (N - 1) for c, v in nx.harmonic_centrality(G).items()})
                check("collab_pagerank", nx.pagerank(G, weight="weight", tol=1e-15, max_iter=100_000))
                check("collab_clustering", nx.clustering(G))
                check("collab_coreness", nx.core_number(G))
                check("collab_constraint", nx.constraint(G, weight="weight"))
                check("collab_intensity", {c: (G.degree(c, weight="weight") / G.degree(c)) if G.degree(c) else 0.0
                                           for c in codes})
