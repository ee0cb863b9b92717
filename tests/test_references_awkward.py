"""citynet's fit against fixest 0.14.2 on an awkward panel (``tests/references/data/awkward_city_year.csv``, written by
``tests/references/make_awkward.py``; fixest's numbers in ``references.json["awkward"]``, written by
``tests/references/references.R``: ``R_LIBS=~/.cache/r-reference Rscript tests/references/references.R``).

The panel holds what real panels hold: fixed-effect singletons (one a cascade), missing values in the outcome, a
regressor and the cluster variable, regressors absorbed by the fixed effects or collinear with others, a lag
across a gap, weights with zeros, i() interactions, the log of a count with zeros, a count with all-zero cities, a
dummy that separates, and a two-way clustered covariance matrix that is not positive semi-definite.
Each case: coefficients, standard errors (1e-8 exact, 1e-6 where both iterate), N, and what is said dropped.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citynet.errors import UserError

HERE = Path(__file__).parent / "references"
REF = json.loads((HERE / "references.json").read_text(encoding="utf-8"))["awkward"]
EXACT, ITER = 1e-8, 1e-6
BASE = "y ~ x1 + x4 | city_code + year"


@pytest.fixture(scope="module")
def aw() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "awkward_city_year.csv", dtype={"city_code": str, "province": str})


def fit(*args, **kw):
    from citynet.analysis.estimators import fit as _fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _fit(*args, **kw)


def same(res, key: str, tol: float, names: dict[str, str] | None = None) -> None:
    """Coefficients, SEs and N of ``res`` equal fixest's (``names``: fixest's name → citynet's)."""
    ref = REF[key]
    names = names or {}
    want = {names.get(k, k): v for k, v in ref["coef"].items()}
    want_se = {names.get(k, k): v for k, v in ref["se"].items()}
    assert sorted(res.params.index) == sorted(want)
    got = [res.params[k] for k in want]
    np.testing.assert_allclose(got, list(want.values()), rtol=tol, atol=tol * 1e-2)
    np.testing.assert_allclose([res.se[k] for k in want], [want_se[k] for k in want], rtol=tol, atol=tol * 1e-4)
    assert res.nobs == ref["nobs"]
    if isinstance(ref["n_clusters"], int | float):  # write_json17 writes a NULL as {}
        assert res.stats["n_clusters"] == ref["n_clusters"]


@pytest.mark.parametrize("key,vcov", [("ols_city", "cluster:city_code"), ("ols_hc1", "hc1")])
def test_singletons_are_dropped_repeatedly_and_said(aw, key, vcov):
    """fixest: 6 rows with a missing value, then 5 singletons (cities 103400, 103500; the year 2018; the year 2019,
    which leaves city 103600 alone in its group: a cascade). Same N, and the note counts the singletons."""
    r = fit(aw, BASE, vcov=vcov)
    same(r, key, EXACT)
    na = int(aw[["y", "x1", "x4"]].isna().any(axis=1).sum())
    singletons = REF[key]["removed"] - na
    assert singletons == 5 and r.stats["n_singletons"] == singletons
    assert any(n.startswith("5 observations alone in their fixed-effect group") for n in r.notes)


@pytest.mark.parametrize("key,formula,model,vcov", [
    ("ols_province", BASE, "ols", "cluster:province"),
    ("iv_province", "y ~ x4 | city_code + year | x1 ~ z", "2sls", "cluster:province"),
    ("fepois_province", "cnt ~ x1 + x4 | city_code + year", "ppml", "cluster:province"),
])
def test_rows_without_a_cluster_are_left_out_as_fixest_leaves_them(aw, key, formula, model, vcov):
    """A missing province (3 rows): fixest leaves the rows out ("NA values (vcov: 3)"); pyfixest stopped with
    "CRV inference not supported with missing values", which citynet passed on as its error."""
    r = fit(aw, formula, model=model, vcov=vcov)
    same(r, key, EXACT if model != "ppml" else ITER, names={"fit_x1": "x1"})
    assert "3 observations with a missing province (the cluster) left out, as fixest leaves them out." in r.notes


@pytest.mark.parametrize("key,formula,vcov", [
    ("ols_province_year", BASE, "cluster:province+year"),
    ("ols_two_year", "y ~ x1 + x4 + d | city_code + year", "cluster:two+year"),
])
def test_a_two_way_clustered_vcov_is_made_positive_definite_as_fixest_does(aw, key, formula, vcov):
    """V_A + V_B − V_AB has a negative eigenvalue here; fixest sets it to 1e-16 (and warns), which changes every SE.
    citynet reported pyfixest's raw matrix: x1's SE 0.0175 for fixest's 0.0344 on ols_two_year (p 0.026 vs 0.051)."""
    assert REF[key]["warnings"] == ["The VCOV matrix is not positive definite and was 'fixed' (see ?vcov)."]
    r = fit(aw, formula, vcov=vcov)
    same(r, key, EXACT)
    assert any("was not positive semi-definite" in n and "as fixest does" in n for n in r.notes)
    V = np.asarray(r.raw._vcov)
    assert np.linalg.eigvalsh(V).min() > 0
    np.testing.assert_allclose(r.se.to_numpy(), np.sqrt(np.diag(V)), rtol=1e-12)


def test_a_positive_definite_vcov_is_left_alone(aw):
    r = fit(aw, BASE, vcov="cluster:city_code+year")
    assert not any("positive semi-definite" in n for n in r.notes)


def test_weights_with_zeros_and_a_missing_weight(aw):
    for key, formula, model, tol in (("ols_weights", BASE, "ols", EXACT),
                                     ("fepois_weights", "cnt ~ x1 + x4 | city_code + year", "ppml", ITER)):
        same(fit(aw, formula, model=model, vcov="cluster:city_code", weights="w"), key, tol)


def test_collinear_regressors_are_named_as_fixest_names_them(aw):
    """x2 is constant within cities, x3 a trend, x5 = x1 + 2·x4: fixest drops all three; citynet refuses by default
    and, with allow_collinear, drops the same three with a note and gives fixest's estimates."""
    formula = "y ~ x1 + x2 + x3 + x4 + x5 | city_code + year"
    assert REF["ols_collinear"]["collin"] == ["x2", "x3", "x5"]
    with pytest.raises(UserError, match="x2 is collinear with the fixed effects"):
        fit(aw, formula)
    r = fit(aw, formula, allow_collinear=True)
    same(r, "ols_collinear", EXACT)
    assert any("dropped x2, x3, x5" in n for n in r.notes)


def test_a_lag_across_a_gap_interactions_and_a_log_with_zeros(aw):
    same(fit(aw, "y ~ L(x1, 1) + x4 | city_code + year"), "ols_lag", EXACT, names={"l(x1, 1)": "l1_x1"})
    same(fit(aw, "y ~ x1 + i(region, x4, ref='east') | city_code + year"), "ols_i", EXACT)
    r = fit(aw, "np.log(cnt) ~ x1 + x4 | city_code + year")
    same(r, "ols_log", EXACT)
    assert any(n.startswith("Warning: log(cnt) is −∞ or undefined") for n in r.notes)


def test_fepois_drops_all_zero_cities_as_fixest(aw):
    r = fit(aw, "cnt ~ x1 + x4 | city_code + year", model="ppml", vcov="cluster:city_code")
    same(r, "fepois_city", ITER)


def test_a_separating_dummy_is_one_message_naming_separation(aw):
    """s is 1 only where cnt = 0: its PPML coefficient is −∞. citynet's separation check drops the rows it
    separates (ppmlhdfe), four, leaving s constant; the message said "s is collinear with the fixed effects", which is
    not why. fixest (at tight tolerances) stops after 25 iterations and drops s as collinear; its x1 is citynet's
    with s left out, on four rows fewer (the separated ones carry no information on x1)."""
    formula = "cnt ~ x1 + s | city_code + year"
    with pytest.raises(UserError, match=r"s is constant once the 4 observations separated") as e:
        fit(aw, formula, model="ppml", vcov="cluster:city_code")
    assert "collinear with the fixed effects" not in str(e.value)
    r = fit(aw, formula, model="ppml", vcov="cluster:city_code", allow_collinear=True)
    ref = REF["fepois_separated"]
    assert ref["collin"] == ["s"] and list(r.params.index) == ["x1"]
    np.testing.assert_allclose(r.params["x1"], ref["coef"]["x1"], rtol=1e-5)
    assert r.nobs == ref["nobs"] - 4


def test_ppml_without_fixed_effects_checks_separation_on_the_complete_rows(aw):
    """The separation check ran on the frame with its missing x1 and said it "could not run on this design"."""
    r = fit(aw, "cnt ~ x1 + x4", model="ppml", vcov="hc1")
    assert not any("could not run" in n for n in r.notes)
    assert not any("fixed-effect groups with an all-zero" in n for n in r.notes)


def test_one_cluster_is_one_message(aw):
    """G/(G−1) with G = 1: the SE was printed as inf with a "only 1 clusters" warning (fixest stops)."""
    with pytest.raises(UserError, match="has one value in the estimation sample"):
        fit(aw.assign(one="a"), BASE, vcov="cluster:one")


def test_a_lag_on_duplicated_city_years_is_one_message(aw):
    """fixest: "The panel identifiers contain duplicate values"; citynet took the first row's value silently."""
    twice = pd.concat([aw, aw[aw["city_code"] == "100200"]])
    with pytest.raises(UserError, match=r"a lag of x1 needs one row per city_code and year, and 16 rows"):
        fit(twice, "y ~ L(x1, 1) | city_code + year")
    fit(twice, "y ~ x1 | city_code + year")  # without a lag duplicates are rows like any other (fixest fits them)


def test_a_separating_dummy_dropped_with_allow_collinear_is_said_separating(aw):
    r = fit(aw, "cnt ~ x1 + x2 + s | city_code + year", model="ppml", allow_collinear=True)
    dropped = [n for n in r.notes if n.startswith("cnt: dropped")]
    assert len(dropped) == 2
    assert dropped[0].startswith("cnt: dropped s: s is constant once the 4 observations separated")
    assert dropped[1] == "cnt: dropped x2 (x2 is collinear with the fixed effects city_code + year)."


@pytest.mark.parametrize("key,formula,kw", [
    ("ols_city", BASE, {"vcov": "cluster:city_code"}),
    ("ols_two_year", "y ~ x1 + x4 + d | city_code + year", {"vcov": "cluster:two+year"}),
    ("ols_weights", BASE, {"vcov": "cluster:city_code", "weights": "w"}),
    ("ols_collinear", "y ~ x1 + x2 + x3 + x4 + x5 | city_code + year", {"allow_collinear": True}),
    ("ols_lag", "y ~ L(x1, 1) + x4 | city_code + year", {}),
    ("ols_i", "y ~ x1 + i(region, x4, ref='east') | city_code + year", {}),
    ("ols_log", "np.log(cnt) ~ x1 + x4 | city_code + year", {}),
    ("iv_province", "y ~ x4 | city_code + year | x1 ~ z", {"model": "2sls", "vcov": "cluster:province"}),
])
def test_r2_adjusted_and_within_as_fixest(aw, key, formula, kw):
    """fixest's r2, ar2 and wr2 (singletons dropped, absorbed regressors, weights, a lag, a log with zeros);
    a 2SLS fit's are its second stage's (residuals y − X̂β: pyfixest gives NaN, and the tables had a blank)."""
    r = fit(aw, formula, **kw)
    ref = REF[key]["r2"]
    np.testing.assert_allclose([r.r2, r.adj_r2, r.r2_within], [ref["r2"], ref["ar2"], ref["wr2"]], rtol=1e-9)
