"""HonestDiD smoothness FLCI: M = 0 equals the closed-form minimum-variance estimator under linear
trends; one pre-period is the hand-worked linear extrapolation with bias M; widths grow with M; spec."""

from __future__ import annotations

import numpy as np
import pytest
from citynet.analysis.honest import cv_abs_normal, flci_sd, honest_sd
from scipy import stats


def _inputs():
    rng = np.random.default_rng(0)
    periods = np.array([-4, -3, -2, 0, 1, 2])
    A = rng.normal(size=(6, 6))
    S = A @ A.T / 6 * 0.01 + np.eye(6) * 0.005
    beta = np.array([0.01, -0.02, 0.0, 0.3, 0.35, 0.4])
    return beta, S, periods


def test_m_zero_is_the_minimum_variance_unbiased_estimator():
    beta, S, periods = _inputs()
    r = flci_sd(beta, S, periods, 0.0)
    pre = periods < 0
    a = (periods + 1.0)[pre]
    lp = np.array([1.0, 0, 0])
    c0 = lp @ (periods + 1.0)[~pre]
    Spp, Spq = S[np.ix_(pre, pre)], S[np.ix_(pre, ~pre)]
    K = np.block([[2 * Spp, a[:, None]], [a[None, :], np.zeros((1, 1))]])
    v = np.linalg.solve(K, np.concatenate([-2 * Spq @ lp, [-c0]]))[:3]
    w = np.concatenate([v, lp])
    assert r["estimate"] == pytest.approx(w @ beta, abs=1e-10)
    assert r["half_length"] == pytest.approx(stats.norm.ppf(0.975) * np.sqrt(w @ S @ w), rel=1e-9)


def test_one_pre_period_is_linear_extrapolation_with_bias_m():
    S = np.array([[0.01, 0.002], [0.002, 0.02]])
    beta = np.array([-0.05, 0.4])
    for M in (0.0, 0.03, 0.2):
        r = flci_sd(beta, S, [-2, 0], M)
        w = np.array([1.0, 1.0])  # θ̂ = β_0 + β_{-2}: δ_0 = −δ_{-2} under a linear trend
        s = np.sqrt(w @ S @ w)
        assert r["estimate"] == pytest.approx(0.35, abs=1e-12)
        assert r["max_bias"] == pytest.approx(M, abs=1e-9)
        assert r["half_length"] == pytest.approx(s * cv_abs_normal(M / s), rel=1e-9)


def test_intervals_widen_with_m():
    beta, S, periods = _inputs()
    r = honest_sd(beta, S, periods, [0, 0.02, 0.05, 0.1])
    h = r.table["half_length"].to_numpy()
    assert np.all(np.diff(h) > 0)
    assert cv_abs_normal(0.0) == pytest.approx(stats.norm.ppf(0.975), rel=1e-9)


def test_rm_bounds_hand_worked():
    """Δ^RM(M̄) identified set by hand: pre changes (β_{-2} − β_{-3}, 0 − β_{-2}) = (−0.03, 0.01), m = 0.03;
    the first post effect may be off by M̄·m (δ_0 − δ_{-1} ≤ M̄m); the average of three post effects by
    M̄·m·(1 + 2 + 3)/3 = 2M̄m (δ_t ≤ (t+1)M̄m)."""
    from citynet.analysis.honest import rm_bounds

    beta = np.array([0.02, -0.01, 0.3, 0.35, 0.4])
    periods = [-3, -2, 0, 1, 2]
    r = rm_bounds(beta, periods, [0.0, 0.5, 1.0, 2.0])
    assert np.allclose(r["lb"], 0.3 - np.array([0, 0.5, 1, 2]) * 0.03, atol=1e-15)
    assert np.allclose(r["ub"], 0.3 + np.array([0, 0.5, 1, 2]) * 0.03, atol=1e-15)
    assert r.attrs["breakdown"] == pytest.approx(0.3 / 0.03)
    a = rm_bounds(beta, periods, [1.0], l_post=np.full(3, 1 / 3))
    assert a["estimate"][0] == pytest.approx(0.35) and a["ub"][0] == pytest.approx(0.35 + 2 * 0.03)
    assert a.attrs["breakdown"] == pytest.approx(0.35 / 0.06)


def test_rm_bounds_equal_the_linear_program_for_any_target():
    """The closed form (Σ_t |Σ_{u≥t} l_u|) against the LP over δ_post written out, with a signed target."""
    from citynet.analysis.honest import rm_bounds
    from scipy.optimize import linprog

    beta = np.array([0.05, -0.02, 0.01, 0.2, -0.1, 0.3, 0.25])
    periods = [-4, -3, -2, 0, 1, 2, 3]
    lp = np.array([1.0, -2.0, 0.5, 0.7])
    Mbar = 1.5
    r = rm_bounds(beta, periods, [Mbar], l_post=lp)
    m = max(abs(np.diff([0.05, -0.02, 0.01, 0.0])))
    T = 4
    D = np.eye(T) - np.eye(T, k=-1)  # δ_t − δ_{t−1}, δ_{−1} = 0
    A = np.vstack([D, -D])
    b = np.full(2 * T, Mbar * m)
    hi = -linprog(-lp, A_ub=A, b_ub=b, bounds=[(None, None)] * T, method="highs").fun
    lo = linprog(lp, A_ub=A, b_ub=b, bounds=[(None, None)] * T, method="highs").fun
    est = lp @ beta[3:]
    assert r["ub"][0] == pytest.approx(est - lo, abs=1e-12)
    assert r["lb"][0] == pytest.approx(est - hi, abs=1e-12)


def test_rm_bounds_bad_periods():
    from citynet.analysis.honest import rm_bounds

    from citynet.errors import AnalysisError

    with pytest.raises(AnalysisError, match="not consecutive"):
        rm_bounds(np.zeros(3), [-3, 0, 1], [1.0])
    with pytest.raises(AnalysisError, match="pre-period"):
        rm_bounds(np.zeros(2), [0, 1], [1.0])


def test_the_smoothness_bound_where_highs_presolve_fails():
    """fuzz_analysis seed 9902 (spec_valid case 23: kind honest on collab_degree, leads 4, lags 3, years 2008–2020):
    the weights Nelder–Mead tried, w = (−1.727e-4, 2.457e-4, 1.00002666) on the pre periods −4, −3, −2 and 1 on
    period 0, made HiGHS' presolve stop with "Solve error" — 'the smoothness bound could not be computed', exit 5.
    By hand: δ_{−4} = δ_{−1} = 0 and |δ_{t−1} − 2δ_t + δ_{t+1}| ≤ 1. At t = −1, δ_0 ≤ 1 − δ_{−2} (the periods after 0
    do not enter w'δ and follow freely), so max w'δ = 1 + max a·δ_{−3} + (b − 1)·δ_{−2} with a = 2.457e-4,
    b − 1 = 2.666e-5, over |δ_{−2} − 2δ_{−3}| ≤ 1, |δ_{−3} − 2δ_{−2}| ≤ 1: a parallelogram with vertices ±(1, 1),
    ±(1/3, −1/3), both coefficients positive, so (1, 1): 1 + 2.457e-4 + 2.666e-5."""
    from citynet.analysis.honest import _sd_max_bias

    w = np.array([-1.72716264e-04, 2.45742211e-04, 1.00002666e+00, 1.0, 0.0, 0.0, 0.0])
    a, b1 = 2.45742211e-04, 1.00002666 - 1
    assert _sd_max_bias(w, np.array([-4, -3, -2, 0, 1, 2, 3])) == pytest.approx(1 + a + b1, abs=1e-12)
