"""collab_eigenvector(_w) are the same to the last digit whatever order the edges come in."""

import random

import igraph as ig
import networkx as nx
import numpy as np
from citynet.metrics.measures import eigenvector


def test_eigenvector_bit_identical_under_edge_order():
    rng = random.Random(11)
    n = 60
    edges = sorted({tuple(sorted(rng.sample(range(n), 2))) for _ in range(240)})
    weights = [rng.randint(1, 9) for _ in edges]
    results = []
    for k in range(6):
        idx = list(range(len(edges)))
        random.Random(k).shuffle(idx)
        g = ig.Graph(n=n, edges=[edges[i] for i in idx], directed=False)
        g.es["weight"] = [float(weights[i]) for i in idx]
        results.append((eigenvector(g, weighted=False).tobytes(), eigenvector(g, weighted=True).tobytes()))
    assert len(set(results)) == 1
    # and the values are networkx's (on the largest component, scaled to max 1)
    h = nx.Graph()
    h.add_weighted_edges_from((a, b, w) for (a, b), w in zip(edges, weights, strict=True))
    comp = max(nx.connected_components(h), key=len)
    ref = nx.eigenvector_centrality_numpy(h.subgraph(comp), weight="weight")
    top = max(ref.values())
    x = np.frombuffer(results[0][1])
    for node, v in ref.items():
        assert abs(x[node] - v / top) < 1e-12
