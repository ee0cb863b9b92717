"""FE OLS, clustering, PPML, 2SLS/KP and 3SLS against statsmodels / linearmodels references (1e-6)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from citynet.analysis.estimators import fit, gravity, stepwise
from citynet.analysis.formula import lag, prepare, rewrite_calls
from citynet.analysis.system import paper002_system, three_sls

from citynet.errors import AnalysisError


def make_panel(n_city=60, n_year=10, seed=0, drop_frac=0.0):
    rng = np.random.default_rng(seed)
    codes = [f"{110000 + 100 * i}" for i in range(n_city)]
    df = pd.DataFrame({"city_code": np.repeat(codes, n_year), "year": np.tile(np.arange(2010, 2010 + n_year), n_city)})
    a = np.repeat(rng.normal(size=n_city), n_year)
    g = np.tile(rng.normal(size=n_year), n_city)
    df["x1"] = rng.normal(size=len(df)) + 0.5 * a
    df["x2"] = rng.normal(size=len(df)) + 0.3 * g
    u = np.repeat(rng.normal(size=n_city), n_year) * 0.5 + rng.normal(size=len(df)) * (1 + 0.5 * np.abs(df["x1"]))
    df["y"] = 1 + 0.5 * df["x1"] - 0.3 * df["x2"] + a + g + u
    df["count"] = rng.poisson(np.exp(0.5 + 0.4 * df["x1"] + 0.3 * a + 0.2 * g))
    if drop_frac:
        df = df.sample(frac=1 - drop_frac, random_state=seed).sort_index()
    return df.reset_index(drop=True)


def test_ols_no_fe_cluster_matches_statsmodels():
    df = make_panel()
    r = fit(df, "y ~ x1 + x2", vcov={"CRV1": "city_code"})
    groups = pd.factorize(df["city_code"])[0]
    ref = smf.ols("y ~ x1 + x2", df).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    np.testing.assert_allclose(r.params.values, ref.params.values, rtol=1e-6)
    np.testing.assert_allclose(r.se.values, ref.bse.values, rtol=1e-6)
    np.testing.assert_allclose(r.pvalues.values, ref.pvalues.values, rtol=1e-6, atol=1e-10)
    assert r.vcov == "cluster:city_code"


def test_twoway_fe_cluster_matches_statsmodels_dummies():
    """With every FE level counted (ssc k_fixef='full') CRV1 equals statsmodels on dummies."""
    df = make_panel(drop_frac=0.1)
    r = fit(df, "y ~ x1 + x2 | city_code + year", vcov="cluster:city_code", ssc={"k_fixef": "full"})
    groups = pd.factorize(df["city_code"])[0]
    ref = smf.ols("y ~ x1 + x2 + C(city_code) + C(year)", df).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    for v in ("x1", "x2"):
        assert r.params[v] == pytest.approx(ref.params[v], rel=1e-6)
        assert r.se[v] == pytest.approx(ref.bse[v], rel=1e-6)
    assert r.r2 == pytest.approx(ref.rsquared, rel=1e-6)
    assert r.adj_r2 == pytest.approx(ref.rsquared_adj, rel=1e-6)
    assert r.fixed_effects == ["city_code", "year"]


def test_twoway_fe_default_nested_convention():
    """Default (reghdfe/fixest): city FE nested in city clusters are not counted in k."""
    df = make_panel()
    r = fit(df, "y ~ x1 + x2 | city_code + year")  # default: cluster by city_code
    groups = pd.factorize(df["city_code"])[0]
    ref = smf.ols("y ~ x1 + x2 + C(city_code) + C(year)", df).fit(
        cov_type="cluster", cov_kwds={"groups": groups})
    n, G = len(df), df["city_code"].nunique()
    k_full = ref.df_model + 1
    k_nested = 2 + df["year"].nunique()  # slopes + the levels of the non-nested year FE
    factor = np.sqrt((n - k_full) / (n - k_nested))
    np.testing.assert_allclose(r.se[["x1", "x2"]].values, ref.bse[["x1", "x2"]].values * factor, rtol=1e-6)
    assert r.df_resid == G - 1


def test_hc1_matches_statsmodels():
    df = make_panel()
    r = fit(df, "y ~ x1 + x2", vcov="hc1")
    ref = smf.ols("y ~ x1 + x2", df).fit(cov_type="HC1")
    np.testing.assert_allclose(r.se.values, ref.bse.values, rtol=1e-6)
    assert r.vcov == "hc1"


def test_ppml_matches_statsmodels_poisson_glm():
    df = make_panel()
    r = fit(df, "count ~ x1 + x2 | city_code + year", model="ppml", vcov="hc1")
    X = pd.get_dummies(df[["city_code", "year"]].astype(str), drop_first=True).astype(float)
    X = sm.add_constant(pd.concat([df[["x1", "x2"]], X], axis=1))
    ref = sm.GLM(df["count"], X, family=sm.families.Poisson()).fit(tol=1e-12)
    for v in ("x1", "x2"):
        assert r.params[v] == pytest.approx(ref.params[v], rel=1e-5, abs=1e-7)
    assert r.model == "ppml"


def test_lags_by_year_not_row():
    df = make_panel(n_city=3, n_year=5).drop(index=[2])  # city 0 lacks 2012
    lagged = lag(df, "x1", 1)
    row = df[(df.city_code == df.city_code.iloc[0]) & (df.year == 2013)].index[0]
    assert np.isnan(lagged[row])  # no 2012 row: missing, not 2011's value
    row14 = df[(df.city_code == df.city_code.iloc[0]) & (df.year == 2014)].index[0]
    assert lagged[row14] == df.loc[row, "x1"]
    d2, fml = prepare(df, "ln1p(count) ~ L(x1, 1) + l2_ln_count")
    assert fml == "ln_count ~ l1_x1 + l2_ln_count"
    assert {"ln_count", "l1_x1", "l2_ln_count"} <= set(d2.columns)


def test_rewrite_calls_names_the_derived_columns():
    """The public rewrite (used by inference.py to name the tested coefficient): hand-written expected names,
    innermost call first, default lag 1, leads as f, and a plain term left as it is."""
    assert rewrite_calls("ln1p(y) ~ L(x, 2) + F(z) + L(ln1p(count), 1) + w | city_code + year") == (
        "ln_y ~ l2_x + f1_z + l1_ln_count + w | city_code + year")
    assert rewrite_calls("y ~ x") == "y ~ x"


def test_a_categorical_absorbed_by_the_city_effects_is_one_message():
    """C(tier) of a tier fixed per city is absorbed by the city fixed effects (each level's dummy is a sum of city
    dummies): one message naming its levels and the fixed effects, the fix naming C(tier) (was: a traceback from
    pandas' eval of 'C(tier)[T.b]')."""
    df = make_panel(n_city=30, n_year=5)
    df["tier"] = np.where(df["city_code"].str[3].astype(int) % 3 == 0, "a", np.where(
        df["city_code"].str[3].astype(int) % 3 == 1, "b", "c"))
    with pytest.raises(AnalysisError) as e:
        fit(df, "y ~ C(tier) + x1 | city_code + year")
    assert "C(tier)[T.b] is collinear with the fixed effects city_code + year" in e.value.message
    assert "C(tier)[T.c] is collinear with the fixed effects city_code + year" in e.value.message
    assert e.value.fix.startswith("drop C(tier) (")


def test_missing_column_lists_panel_columns():
    df = make_panel()
    with pytest.raises(AnalysisError) as e:
        fit(df, "y ~ x1 + nonexistent | city_code + year")
    assert "nonexistent" in e.value.message and "x2" in e.value.fix


def test_singular_design_names_terms():
    df = make_panel()
    df["x3"] = 2 * df["x1"] - df["x2"]
    df["tier"] = (df["city_code"].str[3] == "1").astype(float)
    with pytest.raises(AnalysisError) as e:
        fit(df, "y ~ x1 + x2 + x3 + tier | city_code + year")
    msg = e.value.message
    assert "x3" in msg and "x1" in msg and "x2" in msg and "tier" in msg and "fixed effects" in msg


def test_stepwise_columns():
    df = make_panel()
    cols = stepwise(df, "y", ["x1", "x2"], fe="city_code + year")
    assert [list(c.params.index) for c in cols] == [["x1"], ["x1", "x2"]]


def test_2sls_kp_equals_robust_first_stage_f_with_one_endogenous():
    rng = np.random.default_rng(3)
    df = make_panel()
    df["z1"], df["z2"], v = rng.normal(size=(3, len(df)))
    df["xe"] = 0.6 * df["z1"] + 0.4 * df["z2"] + v + rng.normal(size=len(df)) * (1 + df["z1"] ** 2)
    df["y2"] = 1.0 * df["xe"] + 0.5 * df["x1"] + v + rng.normal(size=len(df))
    for vc in (None, "hc1", "iid"):
        r = fit(df, "y2 ~ x1 | city_code + year | xe ~ z1 + z2", vcov=vc)
        assert r.model == "2sls"
        assert r.stats["kp_rk_f"] == pytest.approx(r.stats["first_stage_F"], rel=1e-6)
        assert 0 <= r.stats["kp_rk_pvalue"] < 0.01
    # 2SLS point estimate against linearmodels on demeaned data (no FE)
    from linearmodels.iv import IV2SLS

    r = fit(df, "y2 ~ x1 | xe ~ z1 + z2", vcov="hc1")
    ref = IV2SLS.from_formula("y2 ~ 1 + x1 + [xe ~ z1 + z2]", df).fit(cov_type="robust", debiased=True)
    assert r.params["xe"] == pytest.approx(ref.params["xe"], rel=1e-6)


def test_kp_general_rank_test_two_endogenous():
    from citynet.analysis.estimators import kleibergen_paap_rk

    rng = np.random.default_rng(4)
    n = 2000
    Z = rng.normal(size=(n, 3))
    X = np.column_stack([Z @ [1, 0.5, 0] + rng.normal(size=n), Z @ [0, 0.3, 1] + rng.normal(size=n)])
    stat, dof = kleibergen_paap_rk(X, Z)
    assert dof == 2 and stat > 100
    Xw = np.column_stack([Z @ [1, 0.5, 0] + rng.normal(size=n), Z @ [2, 1.0, 0] + rng.normal(size=n)])
    stat_w, _ = kleibergen_paap_rk(Xw, Z)  # rank 1 first stage: the rk test does not reject much
    assert stat_w < stat


# ------------------------------------------------------------------------------------------- 3SLS
def _system_data(seed=5, fe=True):
    rng = np.random.default_rng(seed)
    df = make_panel(n_city=50, n_year=8, seed=seed)
    n = len(df)
    df["w1"], df["w2"], df["w3"] = rng.normal(size=(3, n))
    e = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=n)
    # y1 depends on y2 (endogenous) and w1; y2 depends on y1 and w2, w3
    a = np.repeat(rng.normal(size=50), 8) if fe else 0
    b0, b1 = 0.4, 0.3
    rhs1 = 0.8 * df["w1"] + a + e[:, 0]
    rhs2 = 0.5 * df["w2"] - 0.4 * df["w3"] + e[:, 1]
    df["y1"] = (rhs1 + b0 * rhs2) / (1 - b0 * b1)
    df["y2"] = b1 * df["y1"] + rhs2
    return df


@pytest.mark.parametrize("cov", ["unadjusted", "robust"])
def test_3sls_matches_linearmodels_no_fe(cov):
    from linearmodels.system import IV3SLS

    df = _system_data(fe=False)
    res = three_sls(df, {"a": "y1 ~ y2 + w1", "b": "y2 ~ y1 + w2 + w3"}, fe=None, vcov=cov)
    ref = IV3SLS.from_formula({"a": "y1 ~ 1 + w1 + [y2 ~ w2 + w3]", "b": "y2 ~ 1 + w2 + w3 + [y1 ~ w1]"}, df).fit(
        method="gls", cov_type=cov, debiased=False)
    for eq, names in (("a", ["Intercept", "y2", "w1"]), ("b", ["Intercept", "y1", "w2", "w3"])):
        got = res[eq]
        for v in names:
            assert got.params[v] == pytest.approx(ref.params[f"{eq}_{v}"], rel=1e-6, abs=1e-9)
            assert got.se[v] == pytest.approx(ref.std_errors[f"{eq}_{v}"], rel=1e-6)


def test_3sls_names_a_regressor_the_fixed_effects_absorb():
    """A city attribute (a tier dummy, the same in every year of a city) beside city effects: its within-city
    deviations are all zero. The message said "singular design among y2, w1, tier" (found by the analysis fuzzer,
    session 37); it now names the absorbed one. Without city effects the same system fits."""
    df = _system_data(fe=True)
    df["tier"] = (df["city_code"].str[2:4].astype(int) % 2).astype(float)  # constant within a city, by construction
    system = {"a": "y1 ~ y2 + w1 + tier", "b": "y2 ~ y1 + w2 + w3"}
    with pytest.raises(AnalysisError) as err:
        three_sls(df, system, fe="city_code + year")
    assert err.value.message.startswith("3SLS equation a: tier does not vary within city_code + year: the fixed "
                                        "effects absorb it (singular design among y2, w1, tier)")
    assert err.value.fix == 'drop tier from equation a, or write fe = "none"'
    assert "tier" in three_sls(df, system, fe="year")["a"].params.index


def test_3sls_twoway_fe_matches_linearmodels_on_within_data():
    from linearmodels.system import IV3SLS

    df = _system_data(fe=True).sample(frac=0.9, random_state=1)  # unbalanced
    res = three_sls(df, {"a": "y1 ~ y2 + w1", "b": "y2 ~ y1 + w2 + w3"}, fe="city_code + year")
    # reference: within-transform by exact dummy projection, then linearmodels without constant
    D = pd.get_dummies(df[["city_code", "year"]].astype(str), drop_first=True).astype(float)
    D.insert(0, "const", 1.0)
    Dm = D.to_numpy()
    cols = ["y1", "y2", "w1", "w2", "w3"]
    V = df[cols].to_numpy()
    W = pd.DataFrame(V - Dm @ np.linalg.lstsq(Dm, V, rcond=None)[0], columns=cols)
    ref = IV3SLS.from_formula({"a": "y1 ~ 0 + w1 + [y2 ~ w2 + w3]", "b": "y2 ~ 0 + w2 + w3 + [y1 ~ w1]"}, W).fit(
        method="gls", cov_type="unadjusted", debiased=False)
    for eq, names in (("a", ["y2", "w1"]), ("b", ["y1", "w2", "w3"])):
        for v in names:
            assert res[eq].params[v] == pytest.approx(ref.params[f"{eq}_{v}"], rel=1e-6)
            assert res[eq].se[v] == pytest.approx(ref.std_errors[f"{eq}_{v}"], rel=1e-6)
    assert res["a"].fixed_effects == ["city_code", "year"]
    # recovers the structural parameters
    assert abs(res["a"].params["y2"] - 0.4) < 0.15 and abs(res["b"].params["y1"] - 0.3) < 0.15


def test_paper002_variants_run():
    rng = np.random.default_rng(7)
    df = make_panel(n_city=40, n_year=8)
    for c in ("transfers_out", "collab_patents", "transfer_partners_out", "transfer_intensity_out",
              "transfers_local", "transfers_other", "collab_partners", "collab_intensity", "gdp_per_capita"):
        df[c] = rng.poisson(5, size=len(df)).astype(float)
    base = paper002_system(df, "base", controls_gtr=["gdp_per_capita"])
    assert len(base) == 1 and set(base[0].equations) == {"ln_transfers_out", "ln_collab_patents"}
    assert len(paper002_system(df, "transfer_margins")) == 2


def test_gravity_fe_and_recovery():
    rng = np.random.default_rng(11)
    n, years = 40, [2015, 2016, 2017]
    xy = rng.uniform(0, 1000, size=(n, 2))
    rows = []
    for i in range(n):
        for j in range(i + 1, n):
            d = np.hypot(*(xy[i] - xy[j])) + 10
            for t in years:
                rows.append((i, j, t, np.log(d)))
    dy = pd.DataFrame(rows, columns=["city_a", "city_b", "year", "log_distance"])
    m = np.exp(1 + 0.02 * dy["city_a"] - 0.01 * dy["city_b"] - 1.2 * (dy["log_distance"] - 6))
    dy["collab"] = rng.poisson(m)
    r = gravity(dy, "collab", ["log_distance"])
    assert r.fixed_effects == ["origin_year", "dest_year"]
    ci = r.conf_int().loc["log_distance"]
    assert ci["ci_low"] < -1.2 < ci["ci_high"]


def test_drop_separated_removes_all_zero_fixed_effect_groups():
    from citynet.analysis.estimators import drop_separated

    df = pd.DataFrame({
        "y": [0, 0, 1, 0, 2, 0],
        "o": ["a", "a", "b", "b", "c", "c"],
        "d": ["x", "y", "x", "z", "y", "z"],
    })
    # origin a is all zero → rows 0, 1; destination z is all zero → rows 3, 5; then origins b and c are
    # singletons (rows 2, 4) and go too: nothing is left
    kept, n = drop_separated(df, "y", ["o", "d"])
    assert n == 6 and kept.empty
    kept, n = drop_separated(df, "y", ["o^d"])  # interacted groups: every cell is a singleton
    assert n == 6


def test_drop_separated_repeats_until_none_remain():
    """Hand-worked: pass 1 drops row 5 (destination z all zero, a singleton); that leaves origin c a
    singleton (row 4), dropped in pass 2; then every group has ≥ 2 rows and a positive sum."""
    from citynet.analysis.estimators import drop_separated

    df = pd.DataFrame({"y": [1, 2, 3, 0, 4, 0], "o": list("aabbcc"), "d": list("xyxyyz")})
    kept, n = drop_separated(df, "y", ["o", "d"])
    assert n == 2 and kept.index.tolist() == [0, 1, 2, 3]


def test_two_way_fe_fit_is_identical_across_hash_seeds():
    """pyfixest collects fixed effects in a set (their order followed the hash seed, and the last digits
    of the estimates with it); citynet pins the formula's order (analysis/pyfixest_order.py)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    fixture = Path(__file__).parent / "references" / "data" / "synth_city_year.csv"
    code = ("import pandas as pd, warnings; warnings.simplefilter('ignore'); "
            "from citynet.analysis.estimators import fit; "
            f"cy = pd.read_csv({str(fixture)!r}, dtype={{'city_code': str}}); "
            "r = fit(cy, 'ln_green ~ low_carbon + x1 + x2 | city_code + year'); "
            "print(repr(r.params.tolist()), repr(r.se.tolist()))")
    outs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                           capture_output=True, text=True, check=True).stdout for seed in range(6)}
    assert len(outs) == 1, outs


def test_a_log_of_a_count_with_zeros_says_how_many_observations_it_dropped():
    """log(count) of a count with zeros: the zeros leave the fit (−∞), as in fixest; the note says how
    many and names ln(1 + x) and PPML. Reference: statsmodels OLS on the rows with count > 0."""
    df = make_panel()
    zeros = int((df["count"] == 0).sum())
    assert zeros > 0
    r = fit(df, "log(count) ~ x1 + x2", vcov="hetero")
    ref = smf.ols("np.log(count) ~ x1 + x2", df[df["count"] > 0]).fit()
    assert r.nobs == len(df) - zeros
    np.testing.assert_allclose(r.params.values, ref.params.values, rtol=1e-8)
    (note,) = [n for n in r.notes if n.startswith("Warning: log(count)")]
    assert f"for the {zeros:,} of {len(df):,} observations with count ≤ 0" in note and "ln_count" in note
    assert not [n for n in fit(df, "ln_count ~ x1 + x2", vcov="hetero").notes if "log(" in n]


def _staggered(seed: int = 3) -> pd.DataFrame:
    """40 cities × 2006–2015; half treated from 2010 (a numpy panel, not citynet's generator)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat([f"{k:06d}" for k in range(110000, 110040)], 10),
                       "year": np.tile(np.arange(2006, 2016), 40)})
    df["low_carbon"] = ((df.index // 10 < 20) & (df["year"] >= 2010)).astype(int)
    df["y"] = 0.3 * df["low_carbon"] + rng.normal(size=len(df))
    return df


def test_event_study_over_years_without_treated_units_says_which_years():
    """i(year, low_carbon) is 0 in 2006–2009 (no city treated yet): the message names the years, the sample
    that keeps the others and never 'drop year::2006:low_carbon', which no formula can write."""
    df = _staggered()
    with pytest.raises(AnalysisError) as err:
        fit(df, "y ~ i(year, low_carbon, ref=2010) | city_code + year")
    assert ("year::2006:low_carbon, year::2007:low_carbon, year::2008:low_carbon, year::2009:low_carbon are 0 in "
            "every row of the sample (low_carbon is 0 wherever year is 2006, 2007, 2008, 2009)") in str(err.value)
    assert '--sample "year >= 2010"' in err.value.fix and "ref=" not in err.value.fix
    with pytest.raises(AnalysisError) as err:
        fit(df, "y ~ i(year, low_carbon, ref=2010) | city_code + year", sample="year >= 2009")
    assert "i(year, low_carbon, ref=2009)" in err.value.fix
    r = fit(df, "y ~ i(year, low_carbon, ref=2010) | city_code + year", sample="year >= 2010")
    assert list(r.params.index) == [f"year::{t}:low_carbon" for t in range(2011, 2016)]


@pytest.mark.parametrize("sample, message, fix", [
    ("yaer >= 2010", "names 'yaer', which the panel does not have ('yaer': did you mean 'year'?)", "columns: city_code"),
    ("region == east", "'east' is a value of region, read as a column name", "region == 'east'"),
    ("low_carbon = 1 and year >= 2008", "has a single '=' (an assignment)", "low_carbon == 1 and year >= 2008"),
    ("year >= 2010 and", "is not a complete condition", 'joined by and / or'),
    ("year >== 2010", "is not a complete condition", 'joined by and / or'),
])
def test_sample_filter_mistakes_say_what_to_write(sample, message, fix):
    df = _staggered().assign(region=lambda d: np.where(d["city_code"] < "110020", "east", "west"))
    with pytest.raises(AnalysisError) as err:
        fit(df, "y ~ low_carbon | city_code + year", sample=sample)
    assert message in str(err.value) and fix in err.value.fix


@pytest.mark.parametrize("formula, words", [
    ("y ~ 1 | city_code + year | low_carbon ~ instrument", r"has an IV part \(a 2SLS\)"),
    ("y ~ 1 | city_code + year", "has no regressor for inference 'wild:99' to test"),
])
def test_inference_of_a_2sls_or_of_no_regressor_is_one_message(formula, words):
    """Both were tracebacks (an IndexError choosing the tested coefficient)."""
    from citynet.analysis.inference import fit_with_inference

    df = _staggered().assign(instrument=lambda d: d["low_carbon"] + np.random.default_rng(0).normal(size=len(d)))
    with pytest.raises(AnalysisError, match=words):
        fit_with_inference(df, formula, "wild:99")


def test_a_quoted_reference_level_is_a_level_against_statsmodels_dummies():
    """i(region, d, ref='east') (fixest's and pyfixest's syntax): 'east' was read as a column name ("the formula
    names 'east', which the panel does not have"). The interactions equal OLS on hand-made region × d dummies
    (statsmodels) with year dummies."""
    df = make_panel()
    df["region"] = np.array(["east", "west", "central"])[np.arange(len(df)) // 10 % 3]
    df["d"] = (df["x1"] > 0).astype(int)
    r = fit(df, "y ~ i(region, d, ref='east') | year", vcov="iid")
    for k in ("west", "central"):
        df[f"d_{k}"] = ((df["region"] == k) & (df["d"] == 1)).astype(float)
    ref = smf.ols("y ~ d_central + d_west + C(year)", df).fit()
    assert len(r.params) == 2
    np.testing.assert_allclose(sorted(r.params.to_numpy()), sorted(ref.params[["d_central", "d_west"]]), rtol=1e-8)
    np.testing.assert_allclose(sorted(r.se.to_numpy()), sorted(ref.bse[["d_central", "d_west"]]), rtol=1e-8)


@pytest.mark.parametrize("formula, words, fix", [
    ("y ~ x1 | year | x2 ~ x1", "x1 is both an exogenous regressor and an excluded instrument", "drop x1 from the"),
    ("y ~ x2 + x1 | year | x2 ~ count", "x2 is both an exogenous regressor and the endogenous one", "write it once"),
    ("y ~ i(year, x1, ref=2012) | city_code | x2 ~ x1", "x1 is both an exogenous regressor and an excluded", "drop x1"),
    ("y ~ i(year, x1, ref=2009) | city_code", "the reference 2009 is not a value of year in the estimation sample "
                                              "(2010–2019)", "ref=2010"),
    ("y ~ i(region, x1, ref='south') | year", "the reference 'south' is not a value of region", "ref='central'"),
    ("y ~ i(region, x1, ref=east) | year", "ref=east: east is not a column", "write ref='east'"),
    ("y ~ i(year, x1, ref=c(2011, 2012)) | city_code", "i() takes one reference level here", "for several"),
    ("y ~ i(year, x1, ref=[2011, 2012]) | city_code", "i() takes one reference level here", "for several"),
    ("y ~ i(year, x1, 2011) | city_code", "its third argument 2011 has no name", "i(year, x1, ref=2011)"),
    ("y ~ x1 | city_code | ~ x2", "has no endogenous regressor before its '~'", "endogenous ~ instrument1"),
    ("y ~ x1 | city_code | x2 ~", "has no instrument after its '~'", "endogenous ~ instrument1"),
])
def test_roles_and_references_a_formula_gets_wrong_are_one_message(formula, words, fix):
    """pyfixest's own words were "Instruments specified as covariates", "Endogeneous variables specified as
    covariates", "Value `2009` for `TreatmentContrasts.base` is not among the provided levels", "name 'c' is not
    defined", "factor_interaction() takes from 1 to 2 positional arguments but 3 were given", "'SimpleFormula' object
    has no attribute 'lhs'" and "The IV system is underdetermined"."""
    df = make_panel()
    df["region"] = np.array(["east", "west", "central"])[np.arange(len(df)) // 10 % 3]
    with pytest.raises(AnalysisError, match=re.escape(words)) as err:
        fit(df, formula)
    assert fix in err.value.fix


def test_3sls_equation_that_fails_the_order_condition_is_one_message():
    """y1 ~ y2 + w1 and y2 ~ y1 + w1 + w2: the second equation leaves out no exogenous variable of the system
    (w1, w2 are its own), so it is not identified (order condition, Wooldridge 2010 §9.2.2) — numpy said
    "Singular matrix". The first (y2 instrumented by w2) alone is fine; both fine once w3 is in the first only."""
    df = _system_data()
    with pytest.raises(AnalysisError, match=r"equation eq2 \(y2 ~ y1 \+ w1 \+ w2\) is not identified: 1 endogenous "
                                            r"regressor \(y1\) and 0 exogenous variables"):
        three_sls(df, ["y1 ~ y2 + w1", "y2 ~ y1 + w1 + w2"])
    with pytest.raises(AnalysisError, match=r"equation eq1 \(y1 ~ y2\) is not identified"):
        three_sls(df, ["y1 ~ y2", "y2 ~ y1"])
    assert three_sls(df, ["y1 ~ y2 + w1 + w3", "y2 ~ y1 + w1 + w2"]) is not None


def test_clusters_by_an_interaction_match_statsmodels_on_the_pairs():
    """--cluster province_code^year (fixest's cluster = ~a^b: one cluster per pair of values) was pyfixest's
    "None of [Index(['province_code^year'])] are in the [columns]"; the SEs equal statsmodels' clustered by the
    pairs written out by hand."""
    df = make_panel()
    df["province"] = (df["city_code"].astype(int) // 1000 % 7).astype(str)
    r = fit(df, "y ~ x1 + x2", vcov="cluster:province^year")
    groups = pd.factorize(df["province"] + "_" + df["year"].astype(str))[0]
    ref = smf.ols("y ~ x1 + x2", df).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    np.testing.assert_allclose(r.params.values, ref.params.values, rtol=1e-8)
    np.testing.assert_allclose(r.se.values, ref.bse.values, rtol=1e-6)
    assert "province^year" in r.vcov


def test_a_caret_power_is_one_message_not_a_silent_other_model():
    """x^2 in a formula is x crossed with itself (formulaic's and R's rule): y ~ x1 + x1^2 fitted y ~ x1 without a word,
    and I(count^2) is Python's xor (count XOR 2: on the demo a coefficient of 0.044 where I(count**2) gives 0.0001).
    Both are one message with I(x**2); the crossing of a group, (x1 + x2)^2, is read as fixest reads it: statsmodels'
    x1 + x2 + x1:x2."""
    df = make_panel()
    for formula, term in (("y ~ x1 + x1^2", "x1^2"), ("y ~ I(count^2) | city_code", "count^2"), ("x1^2 ~ x2", "x1^2")):
        with pytest.raises(AnalysisError, match=re.escape(f"'{term}' in") + ".* is not a power") as err:
            fit(df, formula)
        assert "I(" + term.replace("^", "**") + ")" in err.value.fix
    square = fit(df, "y ~ x1 + I(x1**2)", vcov="iid")
    ref = smf.ols("y ~ x1 + I(x1**2)", df).fit()
    np.testing.assert_allclose(square.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    crossed = fit(df, "y ~ (x1 + x2)^2", vcov="iid")
    ref = smf.ols("y ~ x1 + x2 + x1:x2", df).fit()
    np.testing.assert_allclose(crossed.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)


def test_a_sample_comparing_with_a_value_the_column_cannot_hold_is_one_message():
    """year == '2010' (a number against a text) kept no row; region != 'East' (the panel holds 'east') kept every
    row, east included, without a word. Both are one message naming the value meant; a value absent without a near
    one (region == 'south') is left to the empty-sample message, which now says what the column holds."""
    from citynet.analysis.estimators import apply_sample
    from citynet.analysis.panel import filter_sample

    df = make_panel()
    df["region"] = np.array(["east", "west", "central"])[np.arange(len(df)) // 10 % 3]
    for query, words in (("year == '2012'", "year is a number and '2012' a text: write year == 2012"),
                         ("region != 'East'", "region has no value 'East' (did you mean 'east'?)"),
                         ("region == 'Esat'", "region has no value 'Esat' (did you mean 'east'?)"),
                         ("`region` == 'centrl' and year > 2011", "did you mean 'central'?")):
        with pytest.raises(AnalysisError, match=re.escape(words)):
            apply_sample(df, query)
        with pytest.raises(AnalysisError, match=re.escape(words)):
            filter_sample(df, query=query)
    assert len(apply_sample(df, "region != 'east' and year == 2012")) == (df.query("year == 2012")["region"] != "east").sum()
    with pytest.raises(AnalysisError, match=r"region has no value 'south' \(its values: central, east, west\)"):
        fit(df, "y ~ x1", sample="region == 'south'")


def test_a_sample_of_a_list_of_texts_or_a_text_on_the_left_is_checked_as_column_op_text():
    """``region not in ['East']`` and ``'East' != region`` kept every row, east included; ``region in ['east',
    'Wset']`` kept east alone — each without a word (only ``column ==|!= 'text'`` was checked). ``year >= '2012'``
    was pandas' 'Invalid comparison between dtype=int64 and str' with a list of columns for fix, and ``year in
    ['2012', '2013']`` an empty sample. Now each is one message naming what was meant; an order of texts
    (``region >= 'e'``) and a list the column holds pass as before (the oracle: pandas' query of the same text)."""
    from citynet.analysis.estimators import apply_sample

    df = make_panel()
    df["region"] = np.array(["east", "west", "central"])[np.arange(len(df)) // 10 % 3]
    for query, words in (("region not in ['East']", "region has no value 'East' (did you mean 'east'?)"),
                         ("'East' != region", "region has no value 'East' (did you mean 'east'?)"),
                         ("region in ['east', 'Wset']", "region has no value 'Wset' (did you mean 'west'?)"),
                         ("year > 2010 and region in ('centrl',)", "did you mean 'central'?"),
                         ("year >= '2012'", "year is a number and '2012' a text: write year >= 2012"),
                         ("'2012' < year", "year is a number and '2012' a text: write year > 2012"),
                         ("year in ['2012', '2013']",
                          "year is a number and ['2012', '2013'] texts: write year in [2012, 2013]")):
        with pytest.raises(AnalysisError, match=re.escape(words)):
            apply_sample(df, query)
    for query in ("region in ['east', 'west']", "region not in ['east'] and year >= 2012", "region >= 'e'",
                  "'east' == region"):
        pd.testing.assert_frame_equal(apply_sample(df, query), df.query(query))
