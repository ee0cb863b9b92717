"""Entropy-weight and PCA composite indices against hand-worked examples, numpy and sklearn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.indices import entropy_weight_index, pca_index


def test_entropy_hand_worked_example():
    # two indicators, three observations
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 10.0, 40.0]})
    idx, w = entropy_weight_index(df, ["a", "b"])
    # normalised: a' = (0, .5, 1), b' = (0, 0, 1)
    # p_a = (0, 1/3, 2/3): e_a = -(1/ln 3)(1/3 ln 1/3 + 2/3 ln 2/3); p_b = (0, 0, 1): e_b = 0
    e_a = -(1 / np.log(3)) * (1 / 3 * np.log(1 / 3) + 2 / 3 * np.log(2 / 3))
    d = np.array([1 - e_a, 1.0])
    wa, wb = d / d.sum()
    assert w["a"] == pytest.approx(wa, abs=1e-14) and w["b"] == pytest.approx(wb, abs=1e-14)
    assert np.allclose(idx.to_numpy(), [0.0, 0.5 * wa, wa + wb], atol=1e-14)


def test_entropy_negative_indicator_and_pooled_formula():
    rng = np.random.default_rng(0)
    n, T = 30, 4
    df = pd.DataFrame({
        "city_code": np.tile(np.arange(n), T), "year": np.repeat(np.arange(2010, 2010 + T), n),
        "x1": rng.lognormal(size=n * T), "x2": rng.uniform(size=n * T), "pollution": rng.gamma(2, size=n * T),
    })
    res = entropy_weight_index(df, ["x1", "x2", "pollution"], negative=["pollution"])
    x = df[["x1", "x2", "pollution"]].to_numpy()
    xn = (x - x.min(0)) / (x.max(0) - x.min(0))
    xn[:, 2] = (x[:, 2].max() - x[:, 2]) / (x[:, 2].max() - x[:, 2].min())
    p = xn / xn.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -np.nansum(np.where(p > 0, p * np.log(p), 0), axis=0) / np.log(n * T)
    w = (1 - e) / (1 - e).sum()
    assert np.allclose(res.weights.to_numpy(), w, atol=1e-14)
    assert np.allclose(res.index.to_numpy(), xn @ w, atol=1e-14)
    assert res.weights.sum() == pytest.approx(1.0)
    # the negative indicator enters reversed: the city with the most pollution gets 0 on it
    assert res.details["normalised"]["pollution"].iloc[int(np.argmax(x[:, 2]))] == 0.0


def test_entropy_by_year_and_errors():
    df = pd.DataFrame({"year": [1, 1, 1, 2, 2, 2], "a": [1.0, 2, 3, 1, 5, 9], "b": [3.0, 1, 2, 2, 2, 7]})
    res = entropy_weight_index(df, ["a", "b"], pooled=False, by="year")
    assert list(res.weights.index) == [1, 2]
    one = entropy_weight_index(df[df.year == 2].reset_index(drop=True), ["a", "b"])
    assert np.allclose(res.weights.loc[2].to_numpy(), one.weights.to_numpy())
    assert np.allclose(res.index[df.year == 2].to_numpy(), one.index.to_numpy())
    with pytest.raises(ValueError, match="without variation"):
        entropy_weight_index(df.assign(c=1.0), ["a", "c"])
    with pytest.raises(ValueError, match="not among columns"):
        entropy_weight_index(df, ["a"], negative=["b"])


def test_pca_matches_sklearn_and_sign_convention():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(1)
    f = rng.normal(size=200)
    df = pd.DataFrame({f"x{j}": f * s + rng.normal(size=200) * 0.6 for j, s in enumerate([1.0, 0.8, 1.2, 0.5])})
    df["noise"] = rng.normal(size=200)
    cols = list(df.columns)
    res = pca_index(df, cols, n_components=1)
    z = (df - df.mean()) / df.std(ddof=1)
    sk = PCA().fit(z.to_numpy())
    assert np.allclose(res.details["eigenvalues"].to_numpy(), sk.explained_variance_, rtol=1e-10)
    assert np.allclose(res.details["explained_variance_ratio"].to_numpy(), sk.explained_variance_ratio_, rtol=1e-10)
    s1 = sk.transform(z.to_numpy())[:, 0]
    assert np.allclose(np.abs(res.index.to_numpy()), np.abs(s1), atol=1e-10)
    assert np.corrcoef(res.index, z.mean(axis=1))[0, 1] > 0  # sign convention
    assert np.corrcoef(res.index, f)[0, 1] > 0.9  # recovers the planted common factor
    # negating an input flips nothing in the index once it is declared negative
    neg = pca_index(df.assign(x0=-df["x0"]), cols, negative=["x0"])
    assert np.allclose(neg.index.to_numpy(), res.index.to_numpy(), atol=1e-10)


def test_pca_component_selection():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 300))
    df = pd.DataFrame({"a1": a + 0.3 * rng.normal(size=300), "a2": a + 0.3 * rng.normal(size=300),
                       "b1": b + 0.3 * rng.normal(size=300), "b2": b + 0.3 * rng.normal(size=300)})
    k = pca_index(df, list(df), n_components="kaiser")
    assert k.details["n_components"] == 2
    lam = k.details["eigenvalues"].to_numpy()[:2]
    sc = k.details["scores"].to_numpy()
    assert np.allclose(k.index.to_numpy(), sc @ (lam / lam.sum()), atol=1e-12)
    share = pca_index(df, list(df), n_components=0.99)
    assert share.details["n_components"] >= 3
