"""Spatial weights, panel alignment and Moran's I against closed forms and esda."""

from __future__ import annotations

import esda
import numpy as np
import pandas as pd
import pytest
from citynet.analysis.spatial import (
    UnbalancedPanelError,
    align_panel,
    economic_distance,
    gdp_nested,
    inverse_distance,
    inverse_squared_distance,
    knn,
    moran_by_year,
    moran_global,
    moran_local,
    moran_scatter,
)
from citynet.analysis.spatial.weights import distances_km
from citynet.etl.cities import city_set

CODES = city_set().cities["city_code"].tolist()[:60]


@pytest.fixture(scope="module")
def gdp() -> pd.Series:
    rng = np.random.default_rng(3)
    return pd.Series(rng.lognormal(10, 0.5, len(CODES)), index=CODES)


def test_inverse_distance_closed_form():
    d, order = distances_km(codes=CODES)
    w = inverse_distance(codes=CODES)
    assert order == CODES == w.codes
    off = ~np.eye(len(CODES), dtype=bool)
    assert np.allclose(w.raw[off], 1 / d[off])
    assert np.allclose(w.matrix.sum(axis=1), 1)
    w2 = inverse_squared_distance(codes=CODES)
    expect = np.where(off, 1 / np.where(off, d, 1) ** 2, 0)
    assert np.allclose(w2.matrix, expect / expect.sum(axis=1, keepdims=True), rtol=1e-12)
    wc = inverse_distance(codes=CODES, cutoff_km=500)
    assert np.all(wc.raw[d > 500] == 0)


def test_knn_and_economic_and_nested(gdp):
    w = knn(codes=CODES, k=4)
    assert np.all((w.raw > 0).sum(axis=1) == 4)
    d, _ = distances_km(codes=CODES)
    i = 7
    nearest = set(np.argsort(np.where(np.arange(len(CODES)) == i, np.inf, d[i]))[:4])
    assert set(np.flatnonzero(w.raw[i])) == nearest
    we = economic_distance(gdp, codes=CODES)
    y = gdp.to_numpy()
    assert np.isclose(we.raw[0, 1], 1 / abs(y[0] - y[1]))
    wn = gdp_nested(gdp, codes=CODES)
    wd = inverse_distance(codes=CODES, row_standardise=False).raw
    raw = wd @ np.diag(y / y.mean())
    assert np.allclose(wn.matrix, raw / raw.sum(axis=1, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("builder", ["inverse", "nested", "economic"])
def test_eigenvalues_of_the_symmetric_similar_matrix(builder, gdp):
    w = {"inverse": lambda: inverse_distance(codes=CODES), "nested": lambda: gdp_nested(gdp, codes=CODES),
         "economic": lambda: economic_distance(gdp, codes=CODES)}[builder]()
    assert w.real_eigenvalues
    ref = np.sort(np.linalg.eigvals(w.matrix).real)
    assert np.allclose(np.sort(w.eigenvalues()), ref, atol=1e-10)
    assert np.isclose(w.logdet(0.37), np.linalg.slogdet(np.eye(w.n) - 0.37 * w.matrix)[1], atol=1e-10)


def test_subset_restandardises():
    w = inverse_distance(codes=CODES)
    s = w.subset(CODES[5:20])
    ref = inverse_distance(codes=CODES[5:20])
    assert np.allclose(s.matrix, ref.matrix)
    assert np.allclose(np.sort(s.eigenvalues()), np.sort(ref.eigenvalues()))


def test_align_panel_names_missing_city_years():
    w = inverse_distance(codes=CODES[:10])
    panel = pd.DataFrame([(c, t, 1.0) for c in CODES[:10] for t in (2010, 2011)], columns=["city_code", "year", "v"])
    ap = align_panel(panel, ["v"], w)
    assert ap["v"].shape == (2, 10)
    bad = panel.drop(index=3)
    with pytest.raises(UnbalancedPanelError, match="1 of 20 city-years"):
        align_panel(bad, ["v"], w)
    # the panel covers fewer cities than W: W is restricted and the fact recorded
    ap = align_panel(panel[panel.city_code.isin(CODES[:6])], ["v"], w)
    assert ap.w.n == 6 and ap.notes


def _libpysal(w):
    return w.to_libpysal()


@pytest.mark.parametrize("kind", ["inverse", "knn"])
def test_global_moran_equals_esda(kind):
    w = inverse_distance(codes=CODES) if kind == "inverse" else knn(codes=CODES, k=5)
    rng = np.random.default_rng(0)
    x = rng.normal(size=w.n) + 2 * (w.matrix @ rng.normal(size=w.n))
    mine = moran_global(x, w, permutations=0)
    ref = esda.Moran(x, _libpysal(w), permutations=0)
    for key in ["I", "EI", "VI_norm", "z_norm", "p_norm", "VI_rand", "z_rand", "p_rand"]:
        assert mine[key] == pytest.approx(getattr(ref, key), abs=1e-10, rel=1e-10), key


def test_global_moran_permutation_pvalue_detects_planted_clustering():
    w = knn(codes=CODES, k=5)
    rng = np.random.default_rng(1)
    x = np.linalg.solve(np.eye(w.n) - 0.8 * w.matrix, rng.normal(size=w.n))
    r = moran_global(x, w, permutations=499, seed=1)
    assert r["I"] > 0.2 and r["p_sim"] < 0.01 and r["p_norm"] < 0.01
    assert moran_global(x, w, permutations=99, seed=5)["p_sim"] == moran_global(x, w, permutations=99, seed=5)["p_sim"]


def test_local_moran_equals_esda():
    w = inverse_distance(codes=CODES)
    rng = np.random.default_rng(2)
    x = rng.lognormal(size=w.n)
    mine = moran_local(x, w, permutations=99, seed=0)
    ref = esda.Moran_Local(x, _libpysal(w), permutations=99, seed=0)
    assert np.allclose(mine["Is"], ref.Is, atol=1e-10, rtol=1e-10)
    assert np.array_equal(mine["quadrant"].to_numpy(), ref.q)
    assert np.allclose(mine["EI"], ref.EI, atol=1e-10)
    assert np.allclose(mine["VI"], ref.VI, atol=1e-10, rtol=1e-10)
    assert mine["p_sim"].between(0.01, 1).all()


def test_moran_by_year_and_scatter(tmp_path):
    w = inverse_distance(codes=CODES)
    rng = np.random.default_rng(4)
    rows = [(c, t, v) for t in (2007, 2020) for c, v in zip(CODES, rng.normal(size=len(CODES)), strict=True)]
    panel = pd.DataFrame(rows, columns=["city_code", "year", "v"])
    by_year = moran_by_year(panel, "v", w, permutations=0)
    assert list(by_year.index) == [2007, 2020]
    x07 = panel[panel.year == 2007].set_index("city_code").loc[w.codes, "v"].to_numpy()
    assert by_year.loc[2007, "I"] == pytest.approx(esda.Moran(x07, _libpysal(w), permutations=0).I, abs=1e-12)
    out = tmp_path / "moran_2007.png"
    r = moran_scatter(panel, "v", w, 2007, out, labels=dict(zip(CODES, CODES, strict=True)), label_top=3)
    assert out.stat().st_size > 1000
    # slope of the scatter = Moran's I for row-standardised W
    assert r["slope"] == pytest.approx(by_year.loc[2007, "I"], abs=1e-12)
    assert sum(v for k, v in r.items() if k.startswith("n_")) == len(CODES)


def test_moran_of_a_cross_section_without_variation_is_undefined_not_low_low():
    """A year in which every city has the same value (no green patent anywhere): z'z = 0, so I and every I_i are
    0/0 — undefined. They are NaN without numpy's division warnings reaching the user (a spec's Moran's I printed
    them), and the local quadrants are none: NaN compared with 0 had put every city in LL (low-low)."""
    import warnings

    w = inverse_distance(codes=CODES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = moran_global(np.zeros(w.n), w, permutations=99)
        loc = moran_local(np.full(w.n, 3.0), w, permutations=99)
        by_year = moran_by_year(pd.DataFrame({"city_code": CODES * 2, "year": [2019] * w.n + [2020] * w.n,
                                              "v": [0.0] * w.n + list(range(w.n))}), "v", w, permutations=0)
    assert np.isnan([g[k] for k in ("I", "z_norm", "p_norm", "z_rand", "p_rand", "p_sim")]).all()
    assert g["EI"] == -1 / (w.n - 1) and g["n"] == w.n
    assert loc[["Is", "z", "lag_z", "quadrant", "p_sim"]].isna().all().all() and loc["quadrant_label"].isna().all()
    assert np.isnan(by_year.loc[2019, "I"]) and by_year.loc[2020, "I"] == pytest.approx(
        esda.Moran(np.arange(w.n, dtype=float), _libpysal(w), permutations=0).I, abs=1e-12)
