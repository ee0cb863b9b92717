"""RE Tobit: without censoring it is the Gaussian random-intercept model (statsmodels MixedLM by ML);
planted censored parameters; marginal effects against the derivative of E[max(c, y)]; bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from citynet.analysis.tobit import re_tobit
from scipy import stats

from citynet.errors import AnalysisError


def _panel(N=150, T=8, seed=0, su=0.8):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(T), N)})
    n = len(df)
    df["x1"], df["x2"] = rng.normal(size=(2, n))
    df["ys"] = 0.5 + 1.0 * df["x1"] - 0.5 * df["x2"] + np.repeat(rng.normal(size=N) * su, T) + rng.normal(size=n)
    return df


def test_uncensored_equals_mixedlm_ml():
    df = _panel().assign(y=lambda d: d["ys"] + 10)
    r = re_tobit(df, "y", ["x1", "x2"], left=-100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = smf.mixedlm("y ~ x1 + x2", df, groups="city_code").fit(reml=False)
    p = r.result.params
    assert r.loglik == pytest.approx(m.llf, abs=1e-5)
    assert np.allclose(p[["Intercept", "x1", "x2"]].to_numpy(), m.params[["Intercept", "x1", "x2"]].to_numpy(),
                       atol=1e-5)
    assert p["sigma_u"] == pytest.approx(float(np.sqrt(m.cov_re.values[0, 0])), rel=1e-4)
    assert p["sigma_e"] == pytest.approx(float(np.sqrt(m.scale)), rel=1e-4)
    assert np.allclose(r.result.se[["x1", "x2"]].to_numpy(), m.bse[["x1", "x2"]].to_numpy(), rtol=1e-3)


def test_planted_censored_parameters_recovered():
    zs = []
    for seed in range(3):
        df = _panel(N=200, seed=10 + seed)
        df["y"] = df["ys"].clip(lower=0)
        r = re_tobit(df, "y", ["x1", "x2"], left=0)
        assert 0.3 < r.censored / len(df) < 0.5
        true = pd.Series({"x1": 1.0, "x2": -0.5, "Intercept": 0.5, "sigma_u": 0.8, "sigma_e": 1.0})
        z = (r.result.params[true.index] - true) / r.result.se[true.index]
        assert (z.abs() < 4).all(), z
        zs.append(z)


def test_marginal_effects_are_derivatives_of_the_censored_mean():
    df = _panel(seed=5)
    df["y"] = df["ys"].clip(lower=0.2)
    r = re_tobit(df, "y", ["x1", "x2"], left=0.2)
    b = r.result.params
    s = b["sigma_e"]

    def mean_ey(shift):
        m = b["Intercept"] + b["x1"] * (df["x1"] + shift) + b["x2"] * df["x2"]
        z = (m - 0.2) / s
        return float((0.2 + (m - 0.2) * stats.norm.cdf(z) + s * stats.norm.pdf(z)).mean())

    h = 1e-5
    assert r.marginal.params["x1"] == pytest.approx((mean_ey(h) - mean_ey(-h)) / (2 * h), rel=1e-6)
    assert (r.marginal.se > 0).all() and (r.marginal_uncensored.se > 0).all()


def test_values_below_the_censoring_point_are_an_error():
    df = _panel()
    with pytest.raises(AnalysisError, match="below the censoring point") as e:
        re_tobit(df, "ys", ["x1"], left=0)
    assert "left =" in e.value.fix


def test_one_regressor_gives_its_marginal_effects_as_two_do():
    """With one regressor the delta method's Jacobian is one row (scipy returns it 1-d): it was a ValueError.
    The AME checked as the derivative of the censored mean, its SE against the delta method written out here."""
    from scipy.optimize import approx_fprime

    df = _panel(seed=6)
    df["y"] = df["ys"].clip(lower=0.2)
    r = re_tobit(df, "y", ["x1"], left=0.2)
    b = r.result.params
    s = b["sigma_e"]

    def mean_ey(shift):
        m = b["Intercept"] + b["x1"] * (df["x1"] + shift)
        z = (m - 0.2) / s
        return float((0.2 + (m - 0.2) * stats.norm.cdf(z) + s * stats.norm.pdf(z)).mean())

    h = 1e-5
    assert r.marginal.params["x1"] == pytest.approx((mean_ey(h) - mean_ey(-h)) / (2 * h), rel=1e-6)
    th, V = r.result.raw["theta"], r.result.raw["vcov"]
    X = np.column_stack([df["x1"], np.ones(len(df))])

    def ame(t):
        return stats.norm.cdf((X @ t[:2] - 0.2) / np.exp(t[3])).mean() * t[0]

    g = approx_fprime(th, ame, 1e-6)
    assert r.marginal.se["x1"] == pytest.approx(float(np.sqrt(g @ V @ g)), rel=1e-4)


def test_a_text_variable_is_one_message():
    df = _panel(N=30, seed=7).assign(region=lambda d: np.where(d["city_code"] % 2, "east", "west"), y=lambda d: d["ys"])
    with pytest.raises(AnalysisError, match="the Tobit's variable 'region' is text"):
        re_tobit(df, "y", ["x1", "region"], left=-100)
