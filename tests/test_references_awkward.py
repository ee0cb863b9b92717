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
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citynet.errors import AnalysisError, UserError

HERE = Path(__file__).parent / "references"
REF = json.loads((HERE / "references.json").read_text(encoding="utf-8"))["awkward"]
EXACT, ITER, PPML = 1e-8, 1e-6, 1e-7
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
    same(r, key, EXACT if model != "ppml" else PPML, names={"fit_x1": "x1"})
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
                                     ("fepois_weights", "cnt ~ x1 + x4 | city_code + year", "ppml", PPML)):
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
    same(r, "fepois_city", PPML)


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


def test_a_ppml_that_settles_on_its_last_iteration_is_not_said_unconverged(aw):
    """pyfixest sets its convergence flag at the start of the pass after the one whose deviance settled, so a fit
    that settles on its last allowed iteration was flagged, and citynet printed 'PPML did not converge'. The
    iterations this fit needs are found from pyfixest itself; allowed exactly those, the fit is said converged
    and equals fixest's (1e-7); allowed fewer, the warning stays."""
    import pyfixest as pf

    fml, d = "cnt ~ x1 + x4 | city_code + year", aw.dropna(subset=["cnt", "x1", "x4"])
    d = d[d.groupby("city_code")["cnt"].transform("sum") > 0]
    flag = next(m for m in range(2, 60) if pf.fepois(fml, d, iwls_tol=1e-12, iwls_maxiter=m).convergence)
    settled = flag - 1  # the iterations the fit uses: settled on the last one of them
    r = fit(aw, fml, model="ppml", vcov="cluster:city_code", engine_kw={"iwls_maxiter": settled})
    same(r, "fepois_city", PPML)
    assert not any("did not converge" in n for n in r.notes), r.notes
    short = fit(aw, fml, model="ppml", vcov="cluster:city_code", engine_kw={"iwls_maxiter": settled - 2})
    assert any(n.startswith("Warning: PPML did not converge") for n in short.notes), short.notes


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


_FIXEST_NA = re.compile(r"(\d+) observations? removed because of NA (?:and infinite )?values \(([^)]*)\)")
_FIXEST_ZERO_WEIGHT = re.compile(r"(\d+) observations? removed because of 0-weight")


def fixest_removed(key: str) -> tuple[int, dict[str, int], int]:
    """fixest's printed note: the NA total, its count by part (LHS, RHS, IV, vcov, Weights) and the 0-weight rows."""
    text = " ".join(REF[key]["notes"])
    m = _FIXEST_NA.search(text)
    parts = {p.split(":")[0].strip(): int(p.split(":")[1].strip().split("/")[0]) for p in m.group(2).split(",")}
    zero = _FIXEST_ZERO_WEIGHT.search(text)
    return int(m.group(1)), parts, int(zero.group(1)) if zero else 0


@pytest.mark.parametrize("key,formula,kw,variables", [
    ("ols_city", BASE, {"vcov": "cluster:city_code"}, {"LHS": "y", "RHS": "x1"}),
    ("ols_province", BASE, {"vcov": "cluster:province"}, {"LHS": "y", "RHS": "x1"}),
    ("ols_weights", BASE, {"vcov": "cluster:city_code", "weights": "w"}, {"LHS": "y", "RHS": "x1"}),
    ("ols_lag", "y ~ L(x1, 1) + x4 | city_code + year", {}, {"LHS": "y", "RHS": "l1_x1"}),
    ("iv_province", "y ~ x4 | city_code + year | x1 ~ z", {"model": "2sls", "vcov": "cluster:province"},
     {"LHS": "y", "IV": "x1"}),
    ("iv_weights", "y ~ x4 | city_code + year | x1 ~ z", {"model": "2sls", "weights": "w"}, {"LHS": "y", "IV": "x1"}),
    ("fepois_province", "cnt ~ x1 + x4 | city_code + year", {"model": "ppml", "vcov": "cluster:province"},
     {"RHS": "x1"}),
])
def test_rows_with_missing_values_are_counted_as_fixest_counts_them(aw, key, formula, kw, variables):
    """fixest prints "NOTE: 9 observations removed because of NA values (LHS: 2, RHS: 4, vcov: 3)"; citynet left
    them out without a word (pyfixest's silent drop). Now a note counts them by variable, n_missing their number,
    and the rows fitted are fixest's rows (its obs()), one by one."""
    r = fit(aw, formula, **kw)
    total, by_part, zero_weight = fixest_removed(key)
    note = next(n for n in r.notes if "with a missing value left out (" in n)
    for part, var in variables.items():
        assert f"{var}: {by_part[part]}" in note
    cluster = by_part.get("vcov", 0)
    if cluster:
        assert f"{cluster} observations with a missing province (the cluster) left out" in " ".join(r.notes)
    weight_rows = by_part.get("Weights", 0) + zero_weight
    if weight_rows:
        assert f"({weight_rows} rows with a missing or zero weight left out)" in " ".join(r.notes)
    assert int(note.split()[0]) + cluster + by_part.get("Weights", 0) == total
    assert r.stats["n_missing"] == total - by_part.get("Weights", 0)
    assert (r.stats["n_missing"] + weight_rows + r.stats.get("n_singletons", 0) + r.stats.get("n_separated", 0)
            == REF[key]["removed"])
    kept = aw.drop(index=REF[key]["removed_rows"])  # one row per city and year
    assert sorted(zip(r.raw._data["city_code"], r.raw._data["year"], strict=True)) == \
        sorted(zip(kept["city_code"], kept["year"], strict=True))


def test_no_missing_value_no_note(aw):
    r = fit(aw.dropna(subset=["y", "x1"]), BASE)
    assert "n_missing" not in r.stats and not any("missing value" in n for n in r.notes)


IV = "y ~ x4 | city_code + year | x1 ~ z"


@pytest.mark.parametrize("key,vcov", [("iv_city", "cluster:city_code"), ("iv_province", "cluster:province"),
                                      ("iv_year", "cluster:year"), ("iv_hc1", "hc1"), ("iv_iid", "iid"),
                                      ("iv_province_year", "cluster:province^year")])
def test_both_2sls_paths_give_fixest_small_sample_standard_errors(aw, key, vcov):
    """fit --model 2sls (pyfixest, its _k_fe) and kind iv (linearmodels, _fe_dof) count the fixed effects in k each
    their own way; with a cluster nesting the city FE (city, province), one nesting only the year FE (year), HC1 and
    iid both give fixest's SEs. kind iv kept the 5 singletons fixest drops (N 267 for 262: SEs off by up to 0.95 %,
    R² 0.746 for 0.738) and dropped the rows with a missing value without a word."""
    from citynet.analysis.iv import iv2sls

    same(fit(aw, IV, model="2sls", vcov=vcov), key, EXACT, names={"fit_x1": "x1"})
    res = iv2sls(aw, "y", ["x1"], ["z"], ["x4"], vcov=vcov).result
    same(res, key, EXACT, names={"fit_x1": "x1"})
    ref = REF[key]["r2"]
    np.testing.assert_allclose([res.r2, res.adj_r2, res.r2_within], [ref["r2"], ref["ar2"], ref["wr2"]], rtol=1e-9)
    total, by_part, _ = fixest_removed(key)
    assert res.stats["n_singletons"] == REF[key]["removed"] - total == 5
    assert f"{total} observations with a missing value left out (y: {by_part['LHS']}, x1: {by_part['IV']}" in \
        " ".join(res.notes)


def test_kind_iv_leaves_out_an_instrument_the_fixed_effects_absorb_as_fixest_does(aw):
    """A city-level instrument (constant within each city, no missing value) beside z: the city FE absorb it.
    fixest removes such an instrument and fits on z (its iv_city numbers), and so does fit --model 2sls; kind iv
    stopped ('zc does not vary once the fixed effects are absorbed'). Now it leaves it out with a note; with no
    instrument left it still stops."""
    from citynet.analysis.iv import iv2sls

    aw = aw.assign(zc=aw["city_code"].astype(int) % 7 + 0.5)
    res = iv2sls(aw, "y", ["x1"], ["z", "zc"], ["x4"], vcov="cluster:city_code").result
    same(res, "iv_city", EXACT, names={"fit_x1": "x1"})
    assert any(n.startswith("The instrument zc (not varying once the fixed effects are absorbed) left out")
               for n in res.notes), res.notes
    with pytest.raises(AnalysisError, match="'zc' does not vary once the fixed effects are absorbed"):
        iv2sls(aw, "y", ["x1"], ["zc"], ["x4"], vcov="cluster:city_code")


def test_kind_iv_with_two_way_clusters_is_one_message(aw):
    """kind iv read cluster:city_code+year as one column: "the formula names 'city_code+year'"."""
    from citynet.analysis.iv import iv2sls

    with pytest.raises(UserError, match=r"kind iv clusters by one variable, not two \(city_code\+year\)") as e:
        iv2sls(aw, "y", ["x1"], ["z"], ["x4"], vcov="cluster:city_code+year")
    assert "formula" not in str(e.value)


@pytest.mark.parametrize("key,vcov", [("iv_weights", "cluster:city_code"), ("iv_weights_hc1", "hc1")])
def test_a_weighted_2sls_has_the_weighted_second_stage_r2(aw, key, vcov):
    """A weighted fit --model 2sls printed no R² (pyfixest: NaN). Its coefficients and SEs are fixest's; its R²,
    adjusted and within R² are the weighted second stage's, 1 − Σwû²/Σw(y − ȳ_w)², computed in references.R from
    fixest's own residuals. fixest's r2() itself divides the unweighted Σû² by the weighted sums (0.986 here: the
    first assertion reproduces it from the sums), which is no weighted regression's R²; docs/methods.md says so."""
    s = REF["iv_weights"]["sums"]
    ref = REF[key]["r2"]
    np.testing.assert_allclose([ref["r2"], ref["wr2"]], [1 - s["ssq_iv_residuals"] / s["ssr_null"],
                                                         1 - s["ssq_iv_residuals"] / s["ssr_fe_only"]], rtol=1e-12)
    r = fit(aw, IV, model="2sls", vcov=vcov, weights="w")
    same(r, key, EXACT, names={"fit_x1": "x1"})
    np.testing.assert_allclose([r.r2, r.adj_r2, r.r2_within], [s["r2"], s["ar2"], s["wr2"]], rtol=1e-9)


def test_a_separating_level_of_i_is_found_and_said(aw):
    """kind is "b" on exactly the four zero-count rows where s = 1 (make_awkward.py): i(kind)'s level b separates.
    The separation check did not run with an i() term ("could not run on this design"): the fit went on with
    fixest's non-converging estimates. Now the four rows are found; b, left without a row, is one message (pyfixest
    does not form a level without rows, so kind::b vanished from the table without a word), and with
    allow_collinear the fit equals fixest's on the rows it does not separate (s = 0: kind::b absent there too)."""
    formula = "cnt ~ x1 + i(kind, ref='a') | city_code + year"
    assert REF["fepois_i_separated"]["collin"] == ["kind::b"]  # fixest: 25 iterations, then "collinear"
    with pytest.raises(UserError, match=r"kind::b is constant once the 4 observations separated"):
        fit(aw, formula, model="ppml", vcov="cluster:city_code")
    r = fit(aw, formula, model="ppml", vcov="cluster:city_code", allow_collinear=True)
    same(r, "fepois_i_without_separated", PPML)
    assert not any("could not run" in n for n in r.notes)
    assert any(n.startswith("PPML: 4 observations separated by a combination") for n in r.notes)
    assert any(n.startswith("cnt: dropped kind::b: kind::b is constant once the 4 observations") for n in r.notes)


def test_ppml_with_i_runs_the_separation_check(aw):
    r = fit(aw, "cnt ~ x1 + i(region, x4, ref='east') | city_code + year", model="ppml")
    assert not any("separation checked by fixed-effect groups only" in n for n in r.notes)


def test_ppml_standard_errors_are_the_sandwich_at_the_estimates(aw):
    """pyfixest (as fixest) forms the PPML covariance from the IRLS weights of the iteration before the last; at its
    tolerance 1e-10 the SEs were up to 4.5e-7 from fixest's and the sandwich at the estimates (fepois_city), 2.6e-6 for
    fixest at glm.tol 1e-11 without FE (its iteration before the last was further off): at 1e-12 both equal it.
    fixest's numbers at glm.tol 1e-12 (references.R); its default-tolerance ones are 2.6e-6 away."""
    r = fit(aw, "cnt ~ x1 + x4", model="ppml", vcov="hc1")
    same(r, "fepois_nofe_hc1", EXACT, names={"(Intercept)": "Intercept"})
    loose = REF["fepois_nofe_hc1"]["fixest_default"]["se"]
    assert abs(r.se["Intercept"] / loose["(Intercept)"] - 1) > 2e-6


def test_ppml_that_does_not_converge_says_so(aw):
    """pyfixest stops after its maximum of IRLS iterations without a word (its convergence flag false); fixest warns
    "Absence of convergence" (references.R: fepois_separated). A note says it."""
    r = fit(aw, "cnt ~ x1 + x4 | city_code + year", model="ppml", engine_kw={"iwls_maxiter": 3})
    assert any(n.startswith("Warning: PPML did not converge in 3 iterations") for n in r.notes)
    assert REF["fepois_separated"]["warnings"][0].startswith("Absence of convergence")
    assert not any("did not converge" in n for n in fit(aw, "cnt ~ x1 + x4 | city_code + year", model="ppml").notes)


@pytest.fixture(scope="module")
def aw_cohorts(aw) -> pd.DataFrame:
    """The awkward panel with ft, the first year of d = 1 (0: never treated), as references.R forms it."""
    first = aw[aw["d"] == 1].groupby("city_code")["year"].min()
    return aw.assign(ft=aw["city_code"].map(first).fillna(0).astype(int))


def _same_sunab(r, ref) -> None:
    terms = [f"l={t.split('::')[1]}" for t in ref["term"][1:]]
    assert ref["term"][0] == "x1" and list(r.result.params.index) == terms
    np.testing.assert_allclose(r.saturated.params["x1"], ref["coef"][0], rtol=EXACT)
    np.testing.assert_allclose(r.result.params[terms], ref["coef"][1:], rtol=EXACT, atol=1e-10)
    np.testing.assert_allclose(r.result.se[terms], ref["se"][1:], rtol=EXACT)
    np.testing.assert_allclose([r.result.stats["att"], r.result.stats["att_se"]], [ref["att"], ref["att_se"]], rtol=EXACT)
    assert r.result.nobs == ref["nobs"]


def test_sunab_on_an_unbalanced_panel_with_missing_values_and_singletons(aw_cohorts):
    """fixest's sunab on the awkward panel (missing y and x1, singletons, a gap). Cohort 2019 is never observed at the
    reference period: citynet drops its city (a note) and equals fixest on the panel without it. fixest 0.14.2 itself
    marks as missing the row whose number is that cohort's index (city 100000's 2012, nothing missing there) and keeps
    the cohort, so its numbers change with the row order (references.R: sunab_full, sunab_full_sorted)."""
    from citynet.analysis.sunab import sun_abraham

    full, resorted = REF["sunab_full"], REF["sunab_full_sorted"]
    assert 2 in full["removed_rows"] and not aw_cohorts.loc[2, ["y", "x1"]].isna().any()
    assert abs(full["att"] - resorted["att"]) > 1e-3
    r = sun_abraham(aw_cohorts, "y", cohort="ft", controls=["x1"], vcov="cluster:city_code")
    _same_sunab(r, REF["sunab_without_2019"])
    assert "1 units of cohorts 2019 dropped" in r.result.notes[0]
    assert "6 observations with a missing value left out (y: 2, x1: 4), as fixest leaves them out." in r.result.notes


def test_sunab_weighs_cells_by_the_estimation_sample(aw_cohorts):
    """City 100300 (cohort 2014) kept in 2015 only: a fixed-effect singleton in the cell (2014, 1). pyfixest drops it;
    the ATT's weights counted it (ATT 1.0314 for fixest's 1.0396), silently. Now the cells count the rows fitted."""
    from citynet.analysis.sunab import sun_abraham

    a = aw_cohorts[(aw_cohorts["city_code"] != "103600")
                   & ~((aw_cohorts["city_code"] == "100300") & (aw_cohorts["year"] != 2015))]
    r = sun_abraham(a, "y", cohort="ft", controls=["x1"], vcov="cluster:city_code")
    _same_sunab(r, REF["sunab_singleton"])
    assert any(n.startswith("4 observations alone in their fixed-effect group") for n in r.result.notes)


@pytest.mark.parametrize("key,controls", [("did2s", []), ("did2s_x1", ["x1"])])
def test_two_stage_did_on_an_unbalanced_panel_as_did2s(aw, key, controls):
    """did2s 1.2.1 on the awkward panel (its first stage is fixest at fixef.tol 1e-6: 1e-6). Two treated rows fall in
    years no untreated row has (100000's 2018, 103600's 2019): no Y(0) to impute, so both leave the ATT out; citynet
    counted them in N (271 for 269) without a word and the rows missing y or x1 without a word. did2s itself is run
    with the city codes prefixed: with the code 100000 it loses that city's dummy in the SE (fixest's
    sparse_model_matrix writes it 1e+05), 0.21599 for 0.21611 (did2s_code_100000)."""
    from citynet.analysis.did import gardner_did

    ref = REF[key]
    r = gardner_did(aw, "y", treat="d", controls=controls)
    np.testing.assert_allclose([r.params["d"], r.se["d"]], [ref["coef"], ref["se"]], rtol=ITER)
    assert r.nobs == ref["nobs"]
    assert "2 treated observations left out of the ATT: no untreated observation" in " ".join(r.notes)
    assert f"with a missing value left out (y: 2{', x1: 4' if controls else ''})" in " ".join(r.notes)
    if not controls:
        assert abs(REF["did2s_code_100000"]["se"] / ref["se"] - 1) > 5e-4


@pytest.mark.parametrize("key,vcov", [("iv_city", "cluster:city_code"), ("iv_year", "cluster:year"),
                                      ("iv_hc1", "hc1"), ("iv_iid", "iid")])
def test_first_stage_f_and_its_p_value_as_fixest(aw, key, vcov):
    """fixest's fitstat ivwald: the Wald F with the model's VCOV on F(L, N − K) (K without the FE nested in the
    cluster: 252, 226, 219). The statistic was equal; its p-value was pyfixest's χ²(L): 6.6e-25 for 5.2e-21."""
    ref = REF[key]["ivwald"]
    r = fit(aw, IV, model="2sls", vcov=vcov)
    np.testing.assert_allclose([r.stats["first_stage_F"], r.stats["first_stage_F_pvalue"]], [ref["stat"], ref["p"]],
                               rtol=1e-8)


def test_an_absorbed_instrument_is_said_left_out(aw):
    """x2 is constant within cities: fixest removes the instrument and says so; pyfixest removed it silently."""
    assert REF["iv_absorbed_instrument"]["collin"] == ["x2"]
    assert any("instrument 'x2' has been removed" in n for n in REF["iv_absorbed_instrument"]["notes"])
    r = fit(aw, "y ~ x4 | city_code + year | x1 ~ z + x2", model="2sls", vcov="cluster:city_code")
    same(r, "iv_absorbed_instrument", EXACT, names={"fit_x1": "x1"})
    assert ("The instrument x2 (x2 is constant within each city_code) left out, as fixest leaves it out; excluded "
            "instrument: z.") in r.notes


@pytest.mark.parametrize("allow_collinear", [False, True])
def test_an_endogenous_regressor_the_exogenous_ones_determine_is_refused(aw, allow_collinear):
    """x5 = x1 + 2·x4: fixest stops ("fully explained by the exogenous variables"). With allow_collinear citynet
    dropped x1 — the endogenous regressor — and printed the OLS of y on x4 and x5 as a 2SLS."""
    assert "fully explained by the exogenous" in REF["iv_endogenous_determined"]
    with pytest.raises(UserError, match="the endogenous regressor x1 is a linear combination of the exogenous"):
        fit(aw, "y ~ x4 + x5 | city_code + year | x1 ~ z", model="2sls", allow_collinear=allow_collinear)


def test_a_negative_ppml_outcome_is_one_message_naming_it(aw):
    """pyfixest's "fitting … failed: The dependent variable must be a weakly positive number" was the message."""
    bad = aw.assign(cnt=aw["cnt"].where(aw.index != 5, -1))
    with pytest.raises(UserError, match=r"cnt is negative in 1 of 273 rows \(smallest -1\)") as e:
        fit(bad, "cnt ~ x1 + x4 | city_code + year", model="ppml")
    assert "failed" not in str(e.value)


def test_mediation_says_the_singletons_its_steps_drop(aw):
    """The three steps share one sample (y, x1, x4 present): fixest's N of y ~ x1 + x4 | city + year and its five
    singletons. The steps' notes were emptied, so the singletons left without a word."""
    from citynet.analysis.mediation import mediation, mediation_table

    res = mediation(aw, "x1", "x4", "y", reps=0)
    assert [s.nobs for s in res.steps] == [REF["ols_city"]["nobs"]] * 3
    notes = mediation_table(res).notes
    assert sum(n.startswith("5 observations alone in their fixed-effect group") for n in notes) == 1
    assert "6 observations with a missing value left out (y: 2, x1: 4), as fixest leaves them out." in notes
