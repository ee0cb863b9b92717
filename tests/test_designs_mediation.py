"""Three-step mediation: Sobel against statsmodels OLS, the fast cluster bootstrap against pyfixest refits
on resampled panels, the OLS identity c = c' + a·b, a planted indirect effect and the chain errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
from citynet.analysis.mediation import bootstrap_indirect, mediation, mediation_table, resolve_chain

from citynet.errors import AnalysisError


def _panel(N=60, T=8, a=0.5, b=0.4, c=0.3, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2008, 2008 + T), N)})
    n = len(df)
    eta = np.repeat(rng.normal(size=N), T)
    df["w"] = rng.normal(size=n)
    df["x"] = rng.normal(size=n) + 0.5 * eta
    df["m"] = a * df["x"] + 0.2 * df["w"] + eta + rng.normal(size=n)
    df["y"] = c * df["x"] + b * df["m"] - 0.1 * df["w"] + eta + 0.1 * df["year"] + rng.normal(size=n)
    return df


def test_sobel_equals_statsmodels_no_fe():
    df = _panel()
    r = mediation(df, "x", "m", "y", ["w"], fe="none", vcov="hc1", reps=0)
    s2 = sm.OLS(df["m"], sm.add_constant(df[["x", "w"]])).fit(cov_type="HC1")
    s3 = sm.OLS(df["y"], sm.add_constant(df[["x", "m", "w"]])).fit(cov_type="HC1")
    a, sa, b, sb = s2.params["x"], s2.bse["x"], s3.params["m"], s3.bse["m"]
    z = a * b / np.sqrt(b * b * sa * sa + a * a * sb * sb)
    assert r.effects["indirect"] == pytest.approx(a * b, rel=1e-9)
    assert r.effects["sobel_z"] == pytest.approx(z, rel=1e-7)


def test_sobel_equals_statsmodels_dummy_fe_iid():
    df = _panel(N=30, T=5)
    r = mediation(df, "x", "m", "y", ["w"], vcov="iid", reps=0)
    D = pd.get_dummies(df[["city_code", "year"]].astype(str), drop_first=True, dtype=float)
    s2 = sm.OLS(df["m"], sm.add_constant(pd.concat([df[["x", "w"]], D], axis=1))).fit()
    s3 = sm.OLS(df["y"], sm.add_constant(pd.concat([df[["x", "m", "w"]], D], axis=1))).fit()
    a, sa, b, sb = s2.params["x"], s2.bse["x"], s3.params["m"], s3.bse["m"]
    assert r.effects["sobel_z"] == pytest.approx(a * b / np.sqrt(b * b * sa * sa + a * a * sb * sb), rel=1e-7)
    assert r.effects["c"] == pytest.approx(r.effects["c_prime"] + r.effects["indirect"], abs=1e-10)


def test_bootstrap_draws_equal_pyfixest_refits_on_resampled_panels():
    df = _panel(N=25, T=6, seed=3)
    draws = bootstrap_indirect(df, "x", "m", "y", ["w"], ["city_code", "year"], "city_code", reps=4, seed=11)
    rng = np.random.default_rng(11)
    codes, uniq = pd.factorize(df["city_code"].astype(str))
    G = len(uniq)
    for i in range(4):
        pick = rng.integers(0, G, G)
        parts = [df[codes == g].assign(city_code=k) for k, g in enumerate(pick)]
        bs = pd.concat(parts, ignore_index=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = pf.feols("m ~ x + w | city_code + year", bs).coef()["x"]
            b = pf.feols("y ~ x + m + w | city_code + year", bs).coef()["m"]
        assert draws[i] == pytest.approx(a * b, rel=1e-6)


def test_planted_indirect_effect_in_bootstrap_interval_and_table():
    df = _panel(N=120, T=8, seed=5)
    r = mediation(df, "x", "m", "y", ["w"], reps=400, seed=1)
    e = r.effects
    assert e["boot_ci_low"] < 0.2 < e["boot_ci_high"]
    assert e["sobel_p"] < 0.01
    assert abs(e["a"] - 0.5) < 4 * r.steps[1].se["x"] and abs(e["b"] - 0.4) < 4 * r.steps[2].se["m"]
    md = mediation_table(r).to_markdown()
    assert "Sobel z" in md and "Bootstrap 95% CI (400 draws)" in md and "sequential ignorability" in md
    again = mediation(df, "x", "m", "y", ["w"], reps=400, seed=1)
    assert np.array_equal(again.draws, r.draws)


def test_chain_errors_name_the_key():
    with pytest.raises(AnalysisError, match="do not connect"):
        resolve_chain({"paths": [["x", "m"], ["m2", "y"]]})
    with pytest.raises(AnalysisError, match="three variables"):
        resolve_chain({"chain": ["x", "y"]})
    with pytest.raises(AnalysisError, match="distinct"):
        resolve_chain({"chain": ["x", "x", "y"]})
    assert resolve_chain({"paths": [["x", "m"], ["m", "y"]]}) == ("x", "m", "y")
