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
