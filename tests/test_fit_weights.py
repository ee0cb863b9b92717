"""Regression weights (fixest's ``weights``, Stata's ``[aweight]``): ``fit(weights=…)``, ``citynet fit --weights``
and a SPEC's ``weights`` key, against statsmodels' weighted least squares and weighted Poisson GLM on a hand-made
panel (the fixed effects as dummies)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from citynet.analysis.estimators import fit

from citynet.errors import AnalysisError


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(3)
    rows = []
    for c in range(25):
        a = rng.normal()
        for t in range(2010, 2018):
            x = rng.normal() + 0.2 * a
            pop = float(np.exp(rng.normal(5, 0.8)))
            mu = np.exp(0.3 + 0.4 * x + 0.5 * a + 0.05 * (t - 2010))
            rows.append({"city_code": f"c{c:02d}", "year": t, "x": x, "pop": pop,
                         "y": 1 + 0.5 * x + a + 0.1 * (t - 2010) + rng.normal() / np.sqrt(pop / 100),
                         "n": int(rng.poisson(mu))})
    return pd.DataFrame(rows)


def _dummies(df: pd.DataFrame) -> pd.DataFrame:
    return pd.get_dummies(df[["city_code", "year"]].astype(str), drop_first=True, dtype=float)


def test_weighted_least_squares_with_fixed_effects_is_statsmodels_wls(panel):
    got = fit(panel, "y ~ x | city_code + year", vcov="iid", weights="pop")
    X = pd.concat([panel[["x"]], _dummies(panel)], axis=1).assign(const=1.0)
    ref = sm.WLS(panel["y"], X, weights=panel["pop"]).fit()
    assert got.params["x"] == pytest.approx(ref.params["x"], rel=1e-9)
    assert any(n == "Weighted by pop." for n in got.notes)
    plain = fit(panel, "y ~ x", vcov="iid", weights="pop")  # no FE: the iid SE as statsmodels' too
    ref = sm.WLS(panel["y"], sm.add_constant(panel[["x"]]), weights=panel["pop"]).fit()
    assert plain.params["x"] == pytest.approx(ref.params["x"], rel=1e-9)
    assert plain.se["x"] == pytest.approx(ref.bse["x"], rel=1e-9)
    assert fit(panel, "y ~ x | city_code + year").params["x"] != pytest.approx(got.params["x"], rel=1e-3)


def test_weighted_poisson_is_statsmodels_weighted_glm(panel):
    got = fit(panel, "n ~ x | city_code + year", model="ppml", weights="pop")
    X = pd.concat([panel[["x"]], _dummies(panel)], axis=1).assign(const=1.0)
    ref = sm.GLM(panel["n"], X, family=sm.families.Poisson(), var_weights=panel["pop"]).fit(tol=1e-12)
    assert got.params["x"] == pytest.approx(ref.params["x"], rel=1e-6)


def test_missing_zero_and_negative_weights(panel):
    d = panel.copy()
    d.loc[[0, 8, 16, 24, 32], "pop"] = np.nan  # one row of each of seven cities (no city left alone)
    d.loc[[40, 48], "pop"] = 0.0
    got = fit(d, "y ~ x | city_code + year", weights="pop")
    want = fit(d.drop(index=[0, 8, 16, 24, 32, 40, 48]), "y ~ x | city_code + year", weights="pop")
    assert got.nobs == len(d) - 7 and got.params["x"] == want.params["x"]
    assert any("7 rows with a missing or zero weight left out" in n for n in got.notes)
    with pytest.raises(AnalysisError, match="weights pop are negative in 1 rows"):
        fit(d.assign(pop=lambda f: f["pop"].where(f.index != 10, -1.0)), "y ~ x", weights="pop")


def test_weighted_event_study_is_statsmodels_wls_on_event_dummies_made_by_hand(panel):
    """A weighted event study (kind event_study, weights = "pop"): its leads and lags equal statsmodels' WLS on
    event-time dummies written here (binned at ±2, −1 left out, never-treated cities 0) and the FE dummies."""
    from citynet.analysis.did import event_study

    start = {f"c{c:02d}": (2013 if c < 8 else 2015 if c < 16 else None) for c in range(25)}
    d = panel.assign(treat=[int(start[c] is not None and t >= start[c])
                            for c, t in zip(panel["city_code"], panel["year"], strict=True)])
    es = event_study(d, "y", treat="treat", leads=2, lags=2, weights="pop")
    rel = pd.Series([np.nan if start[c] is None else min(max(t - start[c], -2), 2)
                     for c, t in zip(d["city_code"], d["year"], strict=True)])
    names = {-2: "pre_2", 0: "current", 1: "post_1", 2: "post_2"}
    E = pd.DataFrame({n: (rel == k).astype(float).to_numpy() for k, n in names.items()})
    X = pd.concat([E, _dummies(d)], axis=1).assign(const=1.0)
    ref = sm.WLS(d["y"].to_numpy(), X, weights=d["pop"].to_numpy()).fit()
    for n in names.values():
        assert es.result.params[n] == pytest.approx(ref.params[n], rel=1e-8, abs=1e-10)


def test_weights_that_are_never_positive_are_one_message_naming_them(panel):
    """--weights copat_gov on the demo (0 in every row): 'the estimation sample is empty: 0 of 5,055 rows have every
    variable of the formula', its fix a wider --sample — the weights unnamed. Now the weights' message (exit 5); the
    200 rows of this panel counted by hand (25 cities × 8 years)."""
    for value in (0.0, np.nan):
        with pytest.raises(AnalysisError) as err:
            fit(panel.assign(pop=value), "y ~ x | city_code + year", weights="pop")
        assert err.value.exit_code == 5
        assert err.value.message == ("the weights pop are missing or 0 in every one of the 200 rows, and a fit leaves "
                                     "such rows out")
        assert err.value.fix == "weight by a column that is positive (population, GDP …)"
