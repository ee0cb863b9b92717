"""Spatial panel models: effects against dense LeSage–Pace, SAR/SEM against spreg, Lee–Yu against the
explicit transformed likelihood, LM tests against spreg, and planted parameters on synthetic panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import spreg
from citynet.analysis.results import FitResult
from citynet.analysis.spatial import (
    UnbalancedPanelError,
    effects_dense,
    fit_sar,
    fit_sdm,
    fit_sem,
    from_matrix,
    gdp_nested,
    inverse_distance,
    inverse_squared_distance,
    knn,
    lesage_pace_effects,
    lm_tests_arrays,
    simulate_effects,
)
from citynet.analysis.spatial.panel import helmert_complement
from citynet.analysis.spatial.synth import simulate_sdm_panel
from citynet.etl.cities import city_set
from scipy import optimize

ALL = city_set().cities["city_code"].tolist()
BETA, THETA, RHO = [1.0, -0.5], [0.5, 0.3], 0.4


def _weights(kind: str, codes):
    if kind == "inverse":
        return inverse_distance(codes=codes)
    if kind == "knn":
        return knn(codes=codes, k=6)
    if kind == "nested":
        rng = np.random.default_rng(0)
        return gdp_nested(pd.Series(rng.lognormal(size=len(codes)), index=codes), codes=codes)
    if kind == "raw":  # not row-standardised
        return inverse_distance(codes=codes, row_standardise=False)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["inverse", "knn", "nested", "raw"])
def test_effects_equal_dense_lesage_pace(kind):
    w = _weights(kind, ALL[:120])
    beta, theta = np.array([0.8, -0.3, 0.05]), np.array([0.4, 0.2, -0.6])
    rho = 0.55 if kind != "raw" else 0.55 / np.abs(w.eigenvalues()).max()
    mine = lesage_pace_effects(beta, theta, rho, w)
    ref = effects_dense(beta, theta, rho, w.matrix)
    assert np.allclose(mine.to_numpy(), ref.to_numpy(), atol=1e-10, rtol=0)


def test_simulated_effects_are_seeded_and_collapse_with_zero_variance():
    w = inverse_distance(codes=ALL[:80])
    beta, theta = np.array([1.0]), np.array([0.5])
    V = np.diag([0.01, 0.02, 0.001])
    a = simulate_effects(beta, theta, 0.3, V, w, draws=200, seed=7)
    b = simulate_effects(beta, theta, 0.3, V, w, draws=200, seed=7)
    assert np.array_equal(a, b)
    z = simulate_effects(beta, theta, 0.3, np.zeros((3, 3)), w, draws=5, seed=1)
    ref = effects_dense(beta, theta, 0.3, w.matrix).to_numpy()
    assert np.allclose(z, ref[None], atol=1e-10)


@pytest.fixture(scope="module")
def city_panel():
    w = inverse_squared_distance(codes=ALL[:150])
    return w, simulate_sdm_panel(w, 10, BETA, THETA, RHO, seed=11)


def test_fit_sdm_result_layout(city_panel):
    w, df = city_panel
    r = fit_sdm(df, "y", ["x1", "x2"], w, fe="city", effects_draws=300, seed=0)
    assert isinstance(r.coef, FitResult)
    assert list(r.coef.params.index) == ["x1", "x2", "W*x1", "W*x2", "rho"]
    assert r.coef.stats["rho"] == r.coef.params["rho"] == r.rho
    assert set(r.effects) == {"direct", "indirect", "total"}
    assert [f.name for f in r.table()] == ["SDM", "Direct", "Indirect", "Total"]
    assert r.coef.nobs == 1500 and r.coef.fixed_effects == ["city"]
    assert 0 < r.coef.r2 <= 1 and 0 < r.coef.r2_within <= 1
    # effects at the estimate equal the dense computation at the estimate
    p = r.coef.params
    ref = effects_dense(p[["x1", "x2"]].to_numpy(), p[["W*x1", "W*x2"]].to_numpy(), p["rho"], w.matrix)
    for eff in ("direct", "indirect", "total"):
        assert np.allclose(r.effects[eff].params.to_numpy(), ref[eff].to_numpy(), atol=1e-10)
        assert (r.effects[eff].se > 0).all()
    again = fit_sdm(df, "y", ["x1", "x2"], w, fe="city", effects_draws=300, seed=0)
    assert np.array_equal(again.effects["total"].se.to_numpy(), r.effects["total"].se.to_numpy())
    assert r.lr_tests.shape[0] == 2 and r.wald_tests.shape[0] == 2


@pytest.mark.parametrize("fe,year_sd", [("city", 0.0), ("twoway", 1.0)])
@pytest.mark.parametrize("kind", ["isd", "knn"])
def test_sdm_recovers_planted_parameters(fe, year_sd, kind):
    """Over three draws (N = 150, T = 10) every estimate lies within 3.5 SE of the planted value, the mean
    z-score is small, and the total effect (β+θ)/(1−ρ) is recovered within 3.5 simulated SE."""
    codes = ALL[:150]
    w = inverse_squared_distance(codes=codes) if kind == "isd" else knn(codes=codes, k=6)
    true = np.array([*BETA, *THETA, RHO])
    true_total = (np.array(BETA) + np.array(THETA)) / (1 - RHO)
    zs = []
    for seed in range(3):
        df = simulate_sdm_panel(w, 10, BETA, THETA, RHO, year_sd=year_sd, seed=100 + seed)
        r = fit_sdm(df, "y", ["x1", "x2"], w, fe=fe, effects_draws=200, seed=seed, tests=False)
        z = (r.coef.params.to_numpy() - true) / r.coef.se.to_numpy()
        assert np.all(np.abs(z) < 3.5), z
        zt = (r.effects["total"].params.to_numpy() - true_total) / r.effects["total"].se.to_numpy()
        assert np.all(np.abs(zt) < 3.5), zt
        zs.append(z)
    assert np.all(np.abs(np.mean(zs, axis=0)) < 2.5)


def _demeaned_inputs(N=40, T=6, seed=0):
    """A panel whose X is already city-demeaned (spreg's information matrix uses the raw X in one
    cross term; with demeaned X raw = transformed and the formulas coincide)."""
    w = knn(codes=ALL[:N], k=4)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, N, 2))
    X -= X.mean(axis=0, keepdims=True)
    eta = rng.normal(size=N)
    A = np.eye(N) - 0.35 * w.matrix
    y = np.stack([np.linalg.solve(A, X[t] @ [1.0, -0.7] + eta + rng.normal(size=N)) for t in range(T)])
    rows = [(c, 2000 + t, y[t, i], X[t, i, 0], X[t, i, 1]) for t in range(T) for i, c in enumerate(w.codes)]
    return w, pd.DataFrame(rows, columns=["city_code", "year", "y", "x1", "x2"]), y, X


def test_sar_city_fe_matches_spreg_panel_fe_lag():
    """Direct approach (correction='none') = Elhorst (2003) as in spreg 1.9 ``Panel_FE_Lag``. spreg stops
    its bounded search at xatol = 1e-7, hence tolerances of 1e-5 on ρ and β and 1e-4 (relative) on V."""
    w, df, y, X = _demeaned_inputs()
    mine = fit_sar(df, "y", ["x1", "x2"], w, fe="city", correction="none")
    ref = spreg.Panel_FE_Lag(y.reshape(-1, 1), X.reshape(-1, 2), w.to_libpysal())
    assert mine.params["rho"] == pytest.approx(ref.rho, abs=1e-5)
    assert np.allclose(mine.params[["x1", "x2"]].to_numpy(), ref.betas[:2, 0], atol=1e-5)
    assert mine.stats["sigma2"] == pytest.approx(float(np.ravel(ref.sig2)[0]), rel=1e-5)
    V = mine.raw["vcov"].to_numpy()
    assert np.allclose(V, ref.vm, rtol=1e-4, atol=1e-9)


def test_sem_city_fe_matches_spreg_panel_fe_error():
    w, df, y, X = _demeaned_inputs(seed=1)
    mine = fit_sem(df, "y", ["x1", "x2"], w, fe="city", correction="none")
    ref = spreg.Panel_FE_Error(y.reshape(-1, 1), X.reshape(-1, 2), w.to_libpysal())
    assert mine.params["lambda"] == pytest.approx(ref.lam, abs=1e-5)
    assert np.allclose(mine.params[["x1", "x2"]].to_numpy(), ref.betas[:2, 0], atol=1e-5)
    assert np.allclose(mine.raw["vcov"].to_numpy(), ref.vm, rtol=1e-4, atol=1e-9)


def test_lee_yu_city_fe_rescales_sigma2_only():
    w, df, *_ = _demeaned_inputs(seed=2)
    a = fit_sdm(df, "y", ["x1", "x2"], w, fe="city", correction="none", effects_draws=0, tests=False)
    b = fit_sdm(df, "y", ["x1", "x2"], w, fe="city", correction="leeyu", effects_draws=0, tests=False)
    T = 6
    assert np.allclose(a.coef.params.to_numpy(), b.coef.params.to_numpy(), atol=1e-8)
    assert b.sigma2 == pytest.approx(a.sigma2 * T / (T - 1), rel=1e-8)


def test_two_way_lee_yu_equals_explicit_transformed_likelihood():
    """Closed-form check of the transformation approach: maximise the Gaussian likelihood of
    (F_T' ⊗ F_N') y = ρ (I ⊗ F_N'WF_N)(F_T' ⊗ F_N') y + (F_T' ⊗ F_N')[X, WX] δ + ε with all
    parameters free (scipy) and compare with fit_sdm(fe='twoway')."""
    N, T = 25, 5
    w = knn(codes=ALL[:N], k=4)
    df = simulate_sdm_panel(w, T, BETA, THETA, RHO, year_sd=1.0, seed=3)
    r = fit_sdm(df, "y", ["x1", "x2"], w, fe="twoway", effects_draws=0, tests=False)
    W = w.matrix
    y = df.pivot(index="year", columns="city_code", values="y")[w.codes].to_numpy()
    X = np.stack([df.pivot(index="year", columns="city_code", values=c)[w.codes].to_numpy()
                  for c in ("x1", "x2")], axis=2)
    Z = np.concatenate([X, np.einsum("ij,tjk->tik", W, X)], axis=2)
    FT, FN = helmert_complement(T), helmert_complement(N)
    P = np.kron(FT.T, FN.T)
    ys = P @ y.ravel()
    wys = P @ (y @ W.T).ravel()
    Zs = P @ Z.reshape(T * N, -1)
    Ws = FN.T @ W @ FN
    m = ys.size

    def negll(par):
        rho, s2 = par[0], np.exp(par[-1])
        e = ys - rho * wys - Zs @ par[1:-1]
        return -(-m / 2 * np.log(2 * np.pi * s2) + (T - 1) * np.linalg.slogdet(np.eye(N - 1) - rho * Ws)[1]
                 - e @ e / (2 * s2))

    start = np.r_[0.1, np.zeros(4), 0.0]
    opt = optimize.minimize(negll, start, method="BFGS", options={"gtol": 1e-9})
    assert -opt.fun == pytest.approx(r.loglik, abs=1e-6)
    assert opt.x[0] == pytest.approx(r.rho, abs=1e-4)
    assert np.allclose(opt.x[1:-1], r.coef.params.iloc[:4].to_numpy(), atol=1e-4)
    assert np.exp(opt.x[-1]) == pytest.approx(r.sigma2, rel=1e-4)

    # vcov='hessian' equals the inverse numerical Hessian of this likelihood at the estimate; the default
    # (expected information) differs from it in finite samples but not by much
    rh = fit_sdm(df, "y", ["x1", "x2"], w, fe="twoway", effects_draws=0, tests=False, vcov="hessian")
    est = np.r_[r.rho, r.coef.params.iloc[:4].to_numpy(), r.sigma2]

    def nll(par):  # σ² itself, not its log
        return negll(np.r_[par[:-1], np.log(par[-1])])

    k = est.size
    h = 1e-4 * np.maximum(np.abs(est), 1e-2)
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            H[i, j] = (nll(est + ei + ej) - nll(est + ei - ej) - nll(est - ei + ej) + nll(est - ei - ej)) / (
                4 * h[i] * h[j])
    Vnum = np.linalg.inv(H)[:-1, :-1]
    order = [1, 2, 3, 4, 0]  # mine: δ then ρ
    Vnum = Vnum[np.ix_(order, order)]
    assert np.allclose(rh.vcov.to_numpy(), Vnum, rtol=2e-3, atol=1e-7)
    assert np.allclose(np.sqrt(np.diag(r.vcov)), np.sqrt(np.diag(Vnum)), rtol=0.25)


def test_lm_tests_equal_spreg_cross_section():
    """With T = 1 and no fixed effects the panel LM forms reduce to Anselin et al. (1996) as in spreg."""
    w = inverse_distance(codes=ALL[:90])
    rng = np.random.default_rng(5)
    X = rng.normal(size=(90, 2))
    y = np.linalg.solve(np.eye(90) - 0.5 * w.matrix, X @ [1.0, 2.0] + rng.normal(size=90))
    mine = lm_tests_arrays(y[None, :], X[None, :, :], w.matrix, fe="none")
    ols = spreg.OLS(y.reshape(-1, 1), X, w=w.to_libpysal(), spat_diag=True)
    assert mine.loc["LM_lag", "stat"] == pytest.approx(ols.lm_lag[0], rel=1e-9)
    assert mine.loc["LM_error", "stat"] == pytest.approx(ols.lm_error[0], rel=1e-9)
    assert mine.loc["robust_LM_lag", "stat"] == pytest.approx(ols.rlm_lag[0], rel=1e-9)
    assert mine.loc["robust_LM_error", "stat"] == pytest.approx(ols.rlm_error[0], rel=1e-9)
    assert mine.loc["LM_lag", "pvalue"] == pytest.approx(ols.lm_lag[1], rel=1e-6, abs=1e-12)


def test_lr_and_wald_tests_pick_the_planted_model():
    w = knn(codes=ALL[:150], k=6)
    # SEM data: θ = −ρβ holds → SDM vs SEM not rejected, SDM vs SAR rejected
    beta = np.array(BETA)
    df = simulate_sdm_panel(w, 10, beta, -RHO * beta, RHO, seed=21)
    r = fit_sdm(df, "y", ["x1", "x2"], w, fe="city", effects_draws=0)
    lr = r.lr_tests["pvalue"]
    assert lr.iloc[1] > 0.01 and lr.iloc[0] < 1e-4
    assert r.wald_tests["pvalue"].iloc[1] > 0.01 and r.wald_tests["pvalue"].iloc[0] < 1e-4
    # SAR data: θ = 0 → SDM vs SAR not rejected
    df = simulate_sdm_panel(w, 10, beta, [0.0, 0.0], RHO, seed=22)
    r = fit_sdm(df, "y", ["x1", "x2"], w, fe="city", effects_draws=0)
    assert r.lr_tests["pvalue"].iloc[0] > 0.01
    assert r.lr_tests["stat"].iloc[0] == pytest.approx(r.wald_tests["stat"].iloc[0], rel=0.5, abs=2)


def test_panel_lm_tests_detect_lag_dependence(city_panel):
    w, df = city_panel
    from citynet.analysis.spatial import lm_tests

    t = lm_tests(df, "y", ["x1", "x2"], w, fe="city")
    assert t.loc["LM_lag", "pvalue"] < 1e-6
    assert list(t.index) == ["LM_lag", "LM_error", "robust_LM_lag", "robust_LM_error"]


def test_unbalanced_panel_is_an_error(city_panel):
    w, df = city_panel
    with pytest.raises(UnbalancedPanelError):
        fit_sdm(df.iloc[1:], "y", ["x1", "x2"], w, effects_draws=0)


def test_sdm_with_some_regressors_lagged(city_panel):
    w, df = city_panel
    r = fit_sdm(df, "y", ["x1", "x2"], w, wx=["x2"], effects_draws=100, tests=True)
    assert list(r.coef.params.index) == ["x1", "x2", "W*x2", "rho"]
    ref = effects_dense(r.coef.params[["x1", "x2"]].to_numpy(), [0.0, r.coef.params["W*x2"]], r.rho, w.matrix)
    assert np.allclose(r.effects["direct"].params.to_numpy(), ref["direct"].to_numpy(), atol=1e-10)
    assert r.lr_tests["df"].tolist() == [1, 1]


def test_lr_time_effects_detects_planted_year_effects():
    from citynet.analysis.spatial import lr_time_effects

    w = knn(codes=ALL[:100], k=6)
    with_years = simulate_sdm_panel(w, 8, BETA, THETA, RHO, year_sd=1.0, seed=31)
    without = simulate_sdm_panel(w, 8, BETA, THETA, RHO, year_sd=0.0, seed=32)
    a = lr_time_effects(with_years, "y", ["x1", "x2"], w)
    b = lr_time_effects(without, "y", ["x1", "x2"], w)
    assert a["df"] == 7 and a["pvalue"] < 1e-6
    assert b["pvalue"] > 0.001


def test_from_matrix_roundtrip():
    w = inverse_distance(codes=ALL[:20])
    m = from_matrix(w.to_frame())
    assert np.allclose(m.matrix, w.matrix) and m.real_eigenvalues
