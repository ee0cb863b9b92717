"""2SLS with several endogenous regressors: pyfixest (one endogenous), closed-form 2SLS on the
dummy-variable design (two), linearmodels' first-stage diagnostics, Cragg–Donald = KP under i.i.d."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from citynet.analysis.estimators import kleibergen_paap_rk
from citynet.analysis.iv import first_stage_table, iv2sls
from linearmodels.iv import IV2SLS

from citynet.errors import AnalysisError


def _panel(N=80, T=8, seed=0, b1=1.0, b2=-0.5):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2005, 2005 + T), N)})
    n = len(df)
    a = np.repeat(rng.normal(size=N), T)
    z1, z2, z3, u = rng.normal(size=(4, n))
    df["w"] = rng.normal(size=n)
    df["x1"] = z1 + 0.5 * z2 + 0.8 * u + a + rng.normal(size=n)
    df["x2"] = z2 - 0.4 * z3 + 0.8 * u + rng.normal(size=n)
    df["y"] = b1 * df["x1"] + b2 * df["x2"] + 0.3 * df["w"] + a + u
    df["z1"], df["z2"], df["z3"] = z1, z2, z3
    return df


@pytest.mark.parametrize("vcov,fe", [("cluster:city_code", "city_code + year"), ("hc1", "city_code + year"),
                                     ("iid", "year"), ("cluster:city_code", "none")])
def test_one_endogenous_equals_pyfixest(vcov, fe):
    df = _panel()
    r = iv2sls(df, "y", ["x1"], ["z1", "z2"], ["w"], fe=fe, vcov=vcov).result
    fml = "y ~ w | " + (f"{fe} | " if fe != "none" else "") + "x1 ~ z1 + z2"
    v = {"cluster:city_code": {"CRV1": "city_code"}, "hc1": "hetero", "iid": "iid"}[vcov]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pf.feols(fml, df, vcov=v)
    assert np.allclose(r.params[["w", "x1"]].to_numpy(), f.coef()[["w", "x1"]].to_numpy(), rtol=1e-8)
    assert np.allclose(r.se[["w", "x1"]].to_numpy(), f.se()[["w", "x1"]].to_numpy(), rtol=1e-6)


def test_two_endogenous_equal_closed_form_dummy_variable_2sls():
    """β = (X'P_W X)⁻¹X'P_W y with every FE level as a dummy; CRV1 with fixest's factor (city FE nested)."""
    df = _panel(N=40, T=6, seed=2)
    r = iv2sls(df, "y", ["x1", "x2"], ["z1", "z2", "z3"], ["w"], vcov="cluster:city_code").result
    D = pd.get_dummies(df[["city_code", "year"]].astype(str), drop_first=True, dtype=float).to_numpy()
    one = np.ones((len(df), 1))
    X = np.column_stack([df[["w", "x1", "x2"]].to_numpy(), D, one])
    W = np.column_stack([df[["w", "z1", "z2", "z3"]].to_numpy(), D, one])
    PX = W @ np.linalg.lstsq(W, X, rcond=None)[0]
    b = np.linalg.solve(PX.T @ X, PX.T @ df["y"].to_numpy())
    assert np.allclose(r.params[["w", "x1", "x2"]].to_numpy(), b[:3], rtol=1e-8)
    u = df["y"].to_numpy() - X @ b
    bread = np.linalg.inv(PX.T @ PX)
    g = df["city_code"].to_numpy()
    S = np.zeros((40, X.shape[1]))
    np.add.at(S, pd.factorize(g)[0], PX * u[:, None])
    n, G = len(df), 40
    k = 3 + 6  # slopes + year levels (city FE nested in the clusters count as one, less one redundancy)
    V = bread @ (S.T @ S) @ bread * G / (G - 1) * (n - 1) / (n - k)
    assert np.allclose(r.se[["w", "x1", "x2"]].to_numpy(), np.sqrt(np.diag(V))[:3], rtol=1e-6)


def test_first_stage_diagnostics_equal_linearmodels():
    """No FE: partial R², Shea's partial R² and the robust partial Wald of linearmodels' first_stage."""
    rng = np.random.default_rng(0)
    n = 300
    d = pd.DataFrame(rng.normal(size=(n, 4)), columns=["z1", "z2", "z3", "w"])
    u = rng.normal(size=n)
    d["x1"] = d.z1 + d.z2 + u + rng.normal(size=n)
    d["x2"] = d.z2 - d.z3 + u + rng.normal(size=n)
    d["y"] = d.x1 - d.x2 + u
    d["const"] = 1.0
    mine = iv2sls(d, "y", ["x1", "x2"], ["z1", "z2", "z3"], ["w"], fe="none", vcov="hc1")
    ref = IV2SLS(d.y, d[["const", "w"]], d[["x1", "x2"]], d[["z1", "z2", "z3"]]).fit(cov_type="robust")
    diag = ref.first_stage.diagnostics
    k_fs = 3 + 1 + 1
    for j, e in enumerate(["x1", "x2"]):
        fs = mine.first_stages[j]
        assert fs.stats["shea_partial_r2"] == pytest.approx(diag.loc[e, "shea.rsquared"], rel=1e-8)
        assert fs.stats["partial_r2"] == pytest.approx(diag.loc[e, "partial.rsquared"], rel=1e-8)
        wald = fs.stats["partial_F"] * 3 * n / (n - k_fs)  # undo our /L and HC1 factor
        assert wald == pytest.approx(diag.loc[e, "f.stat"], rel=1e-6)
    assert np.allclose(mine.result.params[["x1", "x2"]].to_numpy(), ref.params[["x1", "x2"]].to_numpy(), rtol=1e-8)


def test_cragg_donald_equals_kleibergen_paap_under_iid():
    """Kleibergen & Paap (2006): with i.i.d. errors the rk statistic is the Cragg–Donald statistic."""
    df = _panel(seed=3)
    r = iv2sls(df, "y", ["x1", "x2"], ["z1", "z2", "z3"], ["w"], vcov="iid")
    assert r.diagnostics["kp_rk_f"] == pytest.approx(r.diagnostics["cragg_donald_F"], rel=1e-8)
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(500, 3))
    X = Z @ rng.normal(size=(3, 2)) + rng.normal(size=(500, 2))
    X -= X.mean(0)
    Z -= Z.mean(0)
    PzX = Z @ np.linalg.lstsq(Z, X, rcond=None)[0]
    MzX = X - PzX
    cd = np.linalg.eigvals(np.linalg.solve(MzX.T @ MzX / 500, X.T @ PzX)).real.min()
    assert kleibergen_paap_rk(X, Z, vcov="iid", scale=1.0)[0] == pytest.approx(cd, rel=1e-9)


def test_planted_effects_recovered_and_table():
    zs = []
    for seed in range(3):
        r = iv2sls(_panel(N=150, seed=10 + seed), "y", ["x1", "x2"], ["z1", "z2", "z3"], ["w"])
        z = (r.result.params[["x1", "x2"]].to_numpy() - [1.0, -0.5]) / r.result.se[["x1", "x2"]].to_numpy()
        assert np.all(np.abs(z) < 4), z
        zs.append(z)
    t = first_stage_table(r)
    md = t.to_markdown()
    assert "Cragg–Donald Wald F" in md and "Shea partial R²" in md and "First stage: x2" in md


def test_iv_errors_name_the_key():
    df = _panel()
    with pytest.raises(AnalysisError, match="only 1 instruments"):
        iv2sls(df, "y", ["x1", "x2"], ["z1"])
    with pytest.raises(AnalysisError, match="does not have"):
        iv2sls(df, "y", ["x1"], ["nope"])
