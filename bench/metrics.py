"""Benchmark of the metrics layer: a full refresh of 15 years × 3 networks on the city set, and the same
measures computed with networkx in the same run (the peer users would otherwise use).

    python -m bench.metrics                       # 1M-patent embedded store (built once, cached)
    python -m bench.metrics --patents 200000      # a smaller store
    python -m bench.metrics --synthetic           # no store: synthetic edge tables of the same size

Store mode: ``bench/canonical_synth.py`` writes 1M patents of canonical tables, ``citynet``'s embedded
store loads them and builds the projections (not timed: that is ``bench.load``'s business), then
``run_metrics`` is timed end to end — store reads, igraph metrics, the three Parquet panels and the
``CityYear`` write-back. Targets: full refresh ≤ 10 s; igraph ≥ 20× faster than networkx.

The ratio compares the computation only (same edge tables in memory for both): the igraph path is
``metrics.panels.compute_panels``; the networkx path computes the same measures with networkx
(Louvain stands in for Leiden, which networkx lacks) and is checked against ours on betweenness.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

YEARS = (2006, 2020)


def synthetic_edges(n_years: int = 15, m: int = 12_000, seed: int = 0, start: int = YEARS[0]):
    """Edge and count tables shaped like a large store's: heavy-tailed city activity, m draws per network-year."""
    from citynet.etl.cities import city_set

    rng = np.random.default_rng(seed)
    codes = city_set().cities["city_code"].to_numpy()
    n = len(codes)
    p = 1.0 / np.arange(1, n + 1) ** 0.9
    p = rng.permutation(p / p.sum())
    frames = []
    for net in ("collab", "transfer", "citation"):
        for y in range(start, start + n_years):
            a, b = rng.choice(n, m, p=p), rng.choice(n, m, p=p)
            if net == "collab":
                a, b = np.minimum(a, b), np.maximum(a, b)
            frames.append(pd.DataFrame({"network": net, "year": y, "src": codes[a], "dst": codes[b], "weight": 1}))
    e = pd.concat(frames)
    e = e[e["src"] != e["dst"]].groupby(["network", "year", "src", "dst"], as_index=False)["weight"].sum()
    counts = pd.DataFrame({"city_code": np.tile(codes, n_years), "year": np.repeat(np.arange(start, start + n_years), n)})
    for col in ("green_patents", "collab_patents", "transfers_out", "transfers_in", "citations_made"):
        counts[col] = rng.poisson(20, len(counts))
    return e, counts


def networkx_metrics(edges: pd.DataFrame, codes: np.ndarray, years) -> dict[str, np.ndarray]:
    """The per-city measures of ``city_year_panel`` and the network-year summaries, with networkx."""
    import networkx as nx

    n = len(codes)
    pos = {c: i for i, c in enumerate(codes)}
    out: dict[str, list] = {}

    def put(name, d):
        out.setdefault(name, []).append(np.array([d.get(i, 0.0) for i in range(n)], dtype=float))

    for y in years:
        graphs = {}
        for net, directed in (("collab", False), ("transfer", True), ("citation", True)):
            sub = edges[(edges["network"] == net) & (edges["year"] == y)]
            G = nx.DiGraph() if directed else nx.Graph()
            G.add_nodes_from(range(n))
            G.add_weighted_edges_from(
                (pos[s], pos[d], int(w)) for s, d, w in zip(sub["src"], sub["dst"], sub["weight"], strict=True))
            for _u, _v, a in G.edges(data=True):
                a["length"] = 1.0 / a["weight"]
            graphs[net] = G
        G = graphs["collab"]
        put("collab_degree", nx.degree_centrality(G))
        put("collab_betweenness", nx.betweenness_centrality(G))
        put("collab_betweenness_w", nx.betweenness_centrality(G, weight="length"))
        giant = max(nx.connected_components(G), key=len)
        if len(giant) > 1:
            put("collab_eigenvector", nx.eigenvector_centrality_numpy(G.subgraph(giant)))
            put("collab_eigenvector_w", nx.eigenvector_centrality_numpy(G.subgraph(giant), weight="weight"))
        put("collab_harmonic", nx.harmonic_centrality(G))
        put("collab_harmonic_w", nx.harmonic_centrality(G, distance="length"))
        put("collab_pagerank", nx.pagerank(G, weight="weight", tol=1e-12))
        put("collab_clustering", nx.clustering(G))
        put("collab_coreness", nx.core_number(G))
        put("collab_constraint", nx.constraint(G, weight="weight"))
        comms = nx.community.louvain_communities(G, weight="weight", seed=1)
        out.setdefault("modularity", []).append(nx.community.modularity(G, comms, weight="weight"))
        T = graphs["transfer"]
        put("transfer_outdegree", nx.out_degree_centrality(T))
        put("transfer_indegree", nx.in_degree_centrality(T))
        put("transfer_betweenness", nx.betweenness_centrality(T))
        put("transfer_betweenness_w", nx.betweenness_centrality(T, weight="length"))
        put("transfer_pagerank", nx.pagerank(T, weight="weight", tol=1e-12))
        Q = graphs["citation"]
        put("citation_indegree", nx.in_degree_centrality(Q))
        put("citation_outdegree", nx.out_degree_centrality(Q))
        for net, H in graphs.items():
            U = H.to_undirected() if H.is_directed() else H
            out.setdefault(f"{net}_summary", []).append(
                (nx.density(H), nx.transitivity(U), nx.number_connected_components(U)))
    return {k: (np.concatenate(v) if isinstance(v[0], np.ndarray) else v) for k, v in out.items()}


def _store_workspace(patents: int, workdir: Path, seed: int = 0):
    """A workspace with canonical tables and a loaded embedded store (cached under ``workdir``)."""
    from citynet.graph.network_filter import NetworkFilter
    from citynet.graph.store import open_store

    from bench.canonical_synth import synth_tables, write_tables
    from citynet.workspace import Workspace

    ws = Workspace.open(workdir / f"ws-{patents}-{seed}", create=True)
    ws.settings["years"] = {"start": YEARS[0], "end": YEARS[1]}
    stamp = ws.root / ".built"
    if not stamp.exists():
        shutil.rmtree(ws.store, ignore_errors=True)
        t = time.perf_counter()
        write_tables(synth_tables(patents, seed, years=YEARS), ws.canonical)
        print(f"  synthetic canonical tables: {patents:,} patents ({time.perf_counter() - t:.1f} s)")
        t = time.perf_counter()
        store = open_store(ws)
        try:
            store.load(ws.canonical)
            store.build_projections(NetworkFilter())
        finally:
            store.close()
        print(f"  embedded store loaded and projected ({time.perf_counter() - t:.1f} s, not part of the benchmark)")
        stamp.write_text("ok")
    return ws


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patents", type=int, default=1_000_000, help="patents in the synthetic store (default 1M)")
    ap.add_argument("--synthetic", action="store_true", help="skip the store: synthetic edge tables")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where to keep the benchmark store (default: a cache folder in the temp dir)")
    ap.add_argument("--nx-years", type=int, default=15, help="years computed with networkx (ratio per year)")
    a = ap.parse_args(argv)

    from citynet.etl.cities import city_set
    from citynet.graph.network_filter import NetworkFilter
    from citynet.metrics.panels import compute_panels
    from citynet.metrics.pipeline import TableStore, run_metrics

    cities = city_set().cities
    codes = cities["city_code"].to_numpy()
    years = list(range(YEARS[0], YEARS[1] + 1))
    flt = NetworkFilter()
    print(f"bench.metrics: {len(years)} years × 3 networks on the city set (N = {len(codes)})")

    source = "synthetic edge tables"
    store = None
    if not a.synthetic:
        try:
            from citynet.graph.store import open_store

            import bench.canonical_synth  # noqa: F401
        except ImportError as exc:  # the graph layer is not there: say so, and fall back
            print(f"  no store available ({exc}); using synthetic edge tables")
        else:
            workdir = a.workdir or Path(tempfile.gettempdir()) / "citynet-bench-metrics"
            ws = _store_workspace(a.patents, workdir)
            store = open_store(ws)
            source = f"embedded store, {a.patents:,} patents"
    if store is None:
        from citynet.workspace import Workspace

        e, c = synthetic_edges()
        store = TableStore(e, c)
        ws = Workspace.open(Path(tempfile.mkdtemp(prefix="citynet-bench-")), create=True)
        ws.settings["years"] = {"start": YEARS[0], "end": YEARS[1]}

    try:
        t = time.perf_counter()
        run = run_metrics(ws, flt, store=store)
        full = time.perf_counter() - t
        edges = store.city_edges(flt)
        counts = store.city_year_counts(flt)
    finally:
        store.close()
    per_net = edges.groupby("network").size().to_dict()
    print(f"  source: {source}; edges per network over {len(years)} years: {per_net}")
    print(f"  full refresh (run_metrics): {full:.2f} s  "
          f"[{', '.join(f'{k} {v:.2f}' for k, v in run.seconds.items())}]  target ≤ 10 s: "
          f"{'met' if full <= 10 else 'NOT met'}")

    t = time.perf_counter()
    panels = compute_panels(edges, counts, cities, years)
    ours = time.perf_counter() - t
    nx_years = years[: max(1, min(a.nx_years, len(years)))]
    t = time.perf_counter()
    ref = networkx_metrics(edges, codes, nx_years)
    theirs = time.perf_counter() - t
    cy = panels.city_year[panels.city_year["year"].isin(nx_years)]
    for col in ("collab_betweenness", "transfer_betweenness", "collab_constraint", "collab_coreness"):
        np.testing.assert_allclose(cy[col].to_numpy(dtype=float), ref[col], atol=1e-9, equal_nan=True)
    scale = len(years) / len(nx_years)
    print(f"  igraph (compute_panels, all {len(years)} years, 3 panels): {ours:.2f} s")
    print(f"  networkx (same measures, {len(nx_years)} years{', scaled to all' if scale != 1 else ''}): "
          f"{theirs * scale:.2f} s")
    ratio = theirs * scale / ours
    print(f"  ratio networkx / igraph: {ratio:.1f}×  target ≥ 20×: {'met' if ratio >= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
