"""Vertex and graph measures on one yearly city graph, computed with igraph.

Every function takes an ``igraph.Graph`` whose vertices are **all N cities of the city set** (vertex
``i`` = ``i``-th city in ``city_code`` order, isolated cities included) and returns a NumPy array of
length N (or a scalar). N, not the number of cities with edges, is the denominator of every
normalisation, so an isolated city is a genuine zero and a city's score does not move when an
unrelated city enters the network.

Weights. Edge attribute ``weight`` is the count (patents, transfers, citations). Measures built on
shortest paths (betweenness, harmonic closeness) read a weight as a *length* ``1/w``: a pair of
cities with more joint patents is closer (METHODS, "weighted shortest paths treat weights as lengths").
Measures built on walks or tie strength (strength, eigenvector, PageRank, Burt's constraint, Leiden
modularity) use ``w`` itself. ``weighted=False`` ignores weights.

Every result equals networkx to 1e-9 (``tests/test_metrics_measures.py``); where networkx uses a
different scale, the conversion is stated in the function.
"""

from __future__ import annotations

import random
import sys
import warnings

import numpy as np


def _import_igraph():
    """``import igraph`` without its optional matplotlib drawing back-end.

    python-igraph imports ``matplotlib.pyplot`` at import time when matplotlib is installed (about 1 s,
    a third of a one-year ``citynet metrics``); citynet never draws through igraph. Unless matplotlib is
    already loaded, igraph is imported with ``matplotlib`` marked missing in ``sys.modules`` (igraph then
    keeps its placeholder module) and the mark is removed afterwards, so a later ``import matplotlib``
    works as usual."""
    if "igraph" in sys.modules or "matplotlib" in sys.modules:
        import igraph

        return igraph
    sys.modules["matplotlib"] = None  # type: ignore[assignment]  # ImportError for igraph's probe
    try:
        import igraph
    finally:
        if sys.modules.get("matplotlib", 0) is None:
            del sys.modules["matplotlib"]
    return igraph


ig = _import_igraph()

DAMPING = 0.85
LEIDEN_SEED = 20190326  # Traag et al. 2019, Sci. Rep. 9:5233 — any fixed seed; labels must be reproducible


def build_graph(n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, directed: bool) -> ig.Graph:
    """A graph over ``n`` vertices with edges ``src[k] → dst[k]`` and attributes ``weight`` and ``length = 1/weight``.

    Edges must be simple (one row per pair, per ordered pair when directed) and weights positive.
    """
    g = ig.Graph(n=n, directed=directed)
    g.add_edges(np.column_stack([src, dst]).astype(np.int64))  # faster than Graph(edges=...)
    w = np.asarray(weight, dtype=float)
    g.es["weight"] = w.tolist()
    g.es["length"] = (1.0 / w).tolist()
    return g


def degree_centrality(g: ig.Graph, mode: str = "all") -> np.ndarray:
    """Degree centrality ``C_D(i) = k_i / (N − 1)`` (Freeman 1979).

    ``k_i`` is the number of distinct neighbours (``mode`` ``"out"``/``"in"`` for directed graphs:
    destinations/origins). Equals ``networkx.degree_centrality`` (``in_``/``out_degree_centrality``).
    """
    n = g.vcount()
    k = np.asarray(g.degree(mode=mode, loops=False), dtype=float)
    return k / (n - 1) if n > 1 else np.zeros(n)


def betweenness(g: ig.Graph, weighted: bool = False) -> np.ndarray:
    """Normalised betweenness centrality (Freeman 1977; Brandes 2001 algorithm).

    ``C_B(i) = Σ_{s≠i≠t} σ_st(i) / σ_st`` with ``σ_st`` the number of shortest s–t paths and
    ``σ_st(i)`` those through ``i``; for an undirected graph each unordered pair {s, t} counts once and
    the sum is divided by ``(N−1)(N−2)/2``, for a directed graph ordered pairs count and the divisor is
    ``(N−1)(N−2)``. The result lies in [0, 1] (1 = the centre of a star). ``weighted=True`` uses
    lengths ``1/w`` (igraph compares path lengths with a relative tolerance, so ties such as
    ``1/2 + 1/2 = 1/1`` are ties). Equals ``networkx.betweenness_centrality(normalized=True)``.
    """
    n = g.vcount()
    if n < 3:
        return np.zeros(n)
    raw = np.asarray(g.betweenness(directed=g.is_directed(), weights="length" if weighted else None), dtype=float)
    pairs = (n - 1) * (n - 2) if g.is_directed() else (n - 1) * (n - 2) / 2
    return raw / pairs


def harmonic_closeness(g: ig.Graph, mode: str = "all", weighted: bool = False) -> np.ndarray:
    """Harmonic closeness ``H(i) = (1/(N−1)) Σ_{j≠i} 1/d(i, j)`` with ``1/∞ = 0`` (Marchiori & Latora
    2000; Rochat 2009).

    Defined on disconnected graphs, unlike classic closeness. ``mode="in"`` uses distances *to* ``i``
    (for a directed graph: how easily ``i`` is reached). ``weighted=True``: lengths ``1/w``, so values
    can exceed 1. networkx's ``harmonic_centrality`` is the unnormalised sum (and uses ``d(j, i)``):
    divide it by ``N − 1``.
    """
    n = g.vcount()
    if n < 2:
        return np.zeros(n)
    h = g.harmonic_centrality(mode=mode, weights="length" if weighted else None, normalized=True)
    return np.asarray(h, dtype=float)


def eigenvector(g: ig.Graph, weighted: bool = False) -> np.ndarray:
    """Eigenvector centrality on the largest connected component, scaled to max 1 (Bonacich 1972).

    ``x = (1/λ) A x`` for the leading eigenvalue ``λ`` of the (weighted) adjacency matrix of the
    component with the most cities (ties: the one holding the lowest city index); cities outside it
    get 0. On a disconnected graph the leading eigenvector of the whole matrix lives on whichever
    component has the largest ``λ`` — with weights a tiny, heavy pair could take it — so the
    component is fixed first. Undirected graphs only. networkx: ``eigenvector_centrality_numpy`` on
    that component, divided by its maximum.
    """
    n = g.vcount()
    out = np.zeros(n)
    if g.ecount() == 0:
        return out
    comps = g.connected_components(mode="weak")
    members = max(comps, key=lambda c: (len(c), -min(c)))
    if len(members) < 2:
        return out
    sub = g.induced_subgraph(members)
    # the adjacency matrix built in a canonical order and solved by LAPACK (symmetric eigensolver): the
    # same graph gives the same digits whatever order its edges came in (igraph's ARPACK run varied by
    # up to 2e-15 between identical runs)
    edges = np.asarray(sub.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    w = np.asarray(sub.es["weight"], dtype=float) if weighted and "weight" in sub.es.attributes() \
        else np.ones(len(edges))
    lo, hi = edges.min(axis=1), edges.max(axis=1)
    order = np.lexsort((w, hi, lo))
    a = np.zeros((sub.vcount(), sub.vcount()))
    np.add.at(a, (lo[order], hi[order]), w[order])
    a = a + np.triu(a, 1).T
    np.fill_diagonal(a, 2 * np.diag(a))  # a loop counts twice in A, as in igraph and networkx
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        vals, vecs = np.linalg.eigh(a)
    x = np.abs(vecs[:, int(np.argmax(vals))])
    out[np.asarray(members)] = x / x.max()
    return out


def pagerank(g: ig.Graph, weighted: bool = True, damping: float = DAMPING) -> np.ndarray:
    """PageRank (Brin & Page 1998): ``p = (1−d)/N + d (Σ_j p_j w_ji / s_j + Σ_{j dangling} p_j / N)``.

    ``d = 0.85``; a random walk follows edges in proportion to their weight ``w`` (directed graphs:
    along the arrow), jumps uniformly with probability ``1−d``, and leaves a city without out-edges
    (isolates included) uniformly. Scores sum to 1 over the N cities. igraph's PRPACK solver is exact;
    networkx's power iteration matches it with ``tol=1e-15``.
    """
    pr = g.pagerank(directed=g.is_directed(), damping=damping, weights="weight" if weighted else None)
    return np.asarray(pr, dtype=float)


def clustering(g: ig.Graph) -> np.ndarray:
    """Local clustering coefficient ``C(i) = 2 T_i / (k_i (k_i − 1))`` (Watts & Strogatz 1998).

    ``T_i``: triangles through ``i``; 0 when ``k_i < 2``. Unweighted, direction ignored. Equals
    ``networkx.clustering``.
    """
    return np.asarray(g.transitivity_local_undirected(mode="zero"), dtype=float)


def coreness(g: ig.Graph) -> np.ndarray:
    """k-core index: the largest k such that ``i`` belongs to a subgraph of minimum degree k
    (Seidman 1983; Batagelj & Zaversnik 2003). Isolates: 0. Equals ``networkx.core_number``."""
    return np.asarray(g.coreness(mode="all"), dtype=float)


def constraint(g: ig.Graph, weighted: bool = True) -> np.ndarray:
    """Burt's constraint (Burt 1992, *Structural Holes*, ch. 2).

    ``c_i = Σ_{j ∈ N(i)} (p_ij + Σ_{q ∈ N(i), q ≠ i, j} p_iq p_qj)²`` with proportional tie strength
    ``p_ij = (a_ij + a_ji) / Σ_k (a_ik + a_ki)`` and ``a`` the weights. High values: few, mutually
    connected partners (no brokerage); a single partner gives 1. **NaN for isolates** (no contacts: the
    measure is undefined, and 0 would wrongly mean maximal brokerage). Equals ``networkx.constraint``.
    """
    c = np.asarray(g.constraint(weights="weight" if weighted else None), dtype=float)
    c[np.asarray(g.degree(), dtype=int) == 0] = np.nan
    return c


def leiden(g: ig.Graph, weighted: bool = True, resolution: float = 1.0, seed: int = LEIDEN_SEED) -> tuple[np.ndarray, float]:
    """Leiden communities maximising modularity (Traag, Waltman & van Eck 2019, Sci. Rep. 9:5233).

    Modularity ``Q = (1/2m) Σ_ij (w_ij − γ s_i s_j / 2m) δ(c_i, c_j)`` with ``γ = resolution``; the
    algorithm runs until an iteration no longer improves Q, with a fixed seed so that labels are
    reproducible. Labels are renumbered 1, 2, … by community size (largest first; ties by lowest city
    index); isolated cities get 0 (no community). Returns the labels and Q (networkx
    ``community.modularity`` of the same partition gives the same Q).
    """
    n = g.vcount()
    labels = np.zeros(n, dtype=np.int64)
    if g.ecount() == 0:
        return labels, 0.0
    und = g if not g.is_directed() else g.as_undirected(mode="collapse", combine_edges={"weight": "sum"})
    w = "weight" if weighted else None
    rng_state = random.getstate()
    random.seed(seed)
    try:
        part = und.community_leiden(objective_function="modularity", weights=w, resolution=resolution,
                                    n_iterations=-1)
    finally:
        random.setstate(rng_state)
    memb = np.asarray(part.membership, dtype=np.int64)
    active = np.asarray(und.degree(), dtype=int) > 0
    sizes = np.bincount(memb[active], minlength=memb.max() + 1)
    first = np.full(memb.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, memb, np.arange(n))
    order = np.lexsort((first, -sizes))  # largest first, then lowest city index
    rank = np.empty_like(order)
    rank[order] = np.arange(1, len(order) + 1)
    labels[active] = rank[memb[active]]
    q = und.modularity(memb, weights=w, resolution=resolution)
    return labels, float(q)


def graph_summary(g: ig.Graph) -> dict[str, float]:
    """Network-year statistics over the N cities of the city set.

    - ``nodes``: cities with at least one edge; ``edges``: pairs (ordered when directed);
      ``total_weight``: ``Σ w``;
    - ``density = E / (N(N−1)/2)`` undirected, ``E / (N(N−1))`` directed;
    - ``components``: (weakly) connected components with two cities or more; ``giant_share``: cities of
      the largest component / N;
    - ``clustering``: global transitivity ``3 × triangles / connected triples`` (Wasserman & Faust
      1994), direction ignored; ``networkx.transitivity``;
    - ``mean_degree = 2E/N`` undirected, ``E/N`` directed (mean out-degree = mean in-degree).
    """
    n, e = g.vcount(), g.ecount()
    directed = g.is_directed()
    deg = np.asarray(g.degree(), dtype=int)
    sizes = np.asarray(g.connected_components(mode="weak").sizes()) if n else np.zeros(0, int)
    possible = n * (n - 1) if directed else n * (n - 1) / 2
    trans = g.transitivity_undirected(mode="zero") if e else 0.0
    if directed and e:
        trans = g.as_undirected(mode="collapse").transitivity_undirected(mode="zero")
    return {
        "nodes": int((deg > 0).sum()),
        "edges": int(e),
        "total_weight": float(np.sum(g.es["weight"])) if e else 0.0,
        "density": e / possible if possible else 0.0,
        "components": int((sizes >= 2).sum()),
        "giant_share": float(sizes.max() / n) if n else 0.0,  # no edges: 1/N (a single city)
        "clustering": float(trans),
        "mean_degree": (e if directed else 2 * e) / n if n else 0.0,
    }
