"""The referees' designs against the R packages of their authors: numbers stored in
``tests/references/designs.json`` by ``tests/references/designs.R`` (fixest 0.14.2, did 2.1.2 with DRDID
1.0.6, plm 2.6-2; the versions and command are in the JSON's ``meta``), so CI needs no R.

Tolerances, and why:
- Sun–Abraham (``fixest::sunab``) and 2SLS (``fixest::feols(y ~ x | fe | endo ~ instr)``): the same
  least squares, 1e-10 on coefficients, 1e-9 relative on standard errors.
- Callaway–Sant'Anna with covariates (``did::att_gt(xformla, est_method)``, analytic SEs): outcome
  regression is exact (1e-12); DR and IPW fit a logit — DRDID by ``glm`` (IRLS stopped at a relative
  deviance change of 1e-8), citynet by Newton to a step of 1e-12 — so ATT 1e-9, SEs 5e-6 relative.
- Random-effects Tobit (``plm::pldv(model = "random")``): plm's Gauss–Hermite quadrature is not adaptive,
  so the reference uses R = 100 nodes (exact to 1e-8 in the log-likelihood); citynet's default 12
  adaptive nodes: log-likelihood 5e-5, coefficients 1e-5; SEs from numerical Hessians on both sides, 2e-3.

Conventions that differ (both numbers are reproduced below):
- Sun–Abraham: cohorts never observed at the reference period (treated from the first year on) are
  dropped by citynet (their cell effects are not identified relative to it); fixest keeps them. The
  synth fixture's 2010 cohort is dropped on both sides for the comparison.
- did's SE of the ``group`` aggregation's overall effect indexes the (g,t) rows' group vector with
  1..#cohorts in its weight influence function (``wif``), i.e. uses the first cohort's indicator for every
  cohort; citynet uses each cohort's. The test reproduces did's number by the same substitution.
- Cragg–Donald F: citynet follows ivreg2, ``(N − L − k_exog − FE levels)/L · λ_min``; fixest's ``cd`` uses
  ``(N − K − L − 1)/L`` with the same λ_min (canonical correlation): converted here exactly.
- fixest's ``ivf`` (first-stage F, i.i.d.) equals citynet's partial F under ``iid``; under clustering
  citynet's partial F is the Wald F with the model's covariance, fixest's ``ivwald``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.cs_covariates import _wif, att_gt_covariates
from citynet.analysis.iv import iv2sls
from citynet.analysis.sunab import sun_abraham
from citynet.analysis.tobit import re_tobit

HERE = Path(__file__).parent / "references"
REF = json.loads((HERE / "designs.json").read_text())


@pytest.fixture(scope="module")
def cy() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "synth_city_year.csv")


@pytest.fixture(scope="module")
def mp() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "mpdta.csv")


def _f(x) -> np.ndarray:
    """A stored vector as floats (did's NA, stored as null, is NaN)."""
    return np.array(np.atleast_1d(x), dtype=float)


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


# ----------------------------------------------------------------------------------------- Sun–Abraham
def _check_sunab(r, ref, skip=0):
    terms = [f"l={t.split('::')[1]}" for t in ref["term"][skip:]]
    assert list(r.result.params.index) == terms
    assert np.allclose(r.result.params[terms], ref["coef"][skip:], rtol=0, atol=1e-10)
    assert np.allclose(r.result.se[terms], ref["se"][skip:], rtol=1e-9, atol=0)
    assert r.result.stats["att"] == pytest.approx(ref["att"], abs=1e-10)
    assert r.result.stats["att_se"] == pytest.approx(ref["att_se"], rel=1e-9)
    assert r.result.nobs == ref["nobs"]


def test_sunab_mpdta_equals_fixest(mp):
    r = _quiet(sun_abraham, mp, "lemp", cohort="first.treat", unit="countyreal", vcov="cluster:countyreal")
    _check_sunab(r, REF["sunab_mpdta"])


def test_sunab_synth_with_control_equals_fixest(cy):
    r = _quiet(sun_abraham, cy[cy["first_treat"] != 2010], "ln_green", cohort="first_treat", controls=["x1"],
               vcov="cluster:city_code")
    ref = REF["sunab_synth"]
    assert ref["term"][0] == "x1"
    assert r.saturated.params["x1"] == pytest.approx(ref["coef"][0], abs=1e-10)
    assert r.saturated.se["x1"] == pytest.approx(ref["se"][0], rel=1e-9)
    _check_sunab(r, ref, skip=1)


def test_sunab_drops_cohorts_without_reference_period(cy):
    """The 2010 cohort (treated from the first year) is dropped with a note: same numbers as without it."""
    r = _quiet(sun_abraham, cy, "ln_green", cohort="first_treat", controls=["x1"], vcov="cluster:city_code")
    assert "cohorts 2010 dropped" in r.result.notes[0]
    _check_sunab(r, REF["sunab_synth"], skip=1)


# ------------------------------------------------------------------------ Callaway–Sant'Anna + covariates
CS_CASES = {
    "cs_mpdta_lpop_dr": ("mp", ["lpop"], "dr", "never", "varying"),
    "cs_mpdta_lpop_reg": ("mp", ["lpop"], "reg", "never", "varying"),
    "cs_mpdta_lpop_ipw": ("mp", ["lpop"], "ipw", "never", "varying"),
    "cs_mpdta_lpop_dr_notyet": ("mp", ["lpop"], "dr", "notyet", "varying"),
    "cs_mpdta_lpop_dr_universal": ("mp", ["lpop"], "dr", "never", "universal"),
    "cs_synth_x_dr": ("cy", ["x1", "x2"], "dr", "never", "varying"),
    "cs_synth_x_reg": ("cy", ["x1", "x2"], "reg", "never", "varying"),
    "cs_synth_x_ipw": ("cy", ["x1", "x2"], "ipw", "never", "varying"),
    "cs_synth_x_dr_notyet": ("cy", ["x1", "x2"], "dr", "notyet", "varying"),
    "cs_synth_x_dr_universal": ("cy", ["x1", "x2"], "dr", "never", "universal"),
}


@pytest.mark.parametrize("key", list(CS_CASES))
def test_cs_covariates_equal_did_att_gt_and_aggte(key, mp, cy):
    data, x, method, control, base = CS_CASES[key]
    df, y, g, unit = (mp, "lemp", "first.treat", "countyreal") if data == "mp" else \
        (cy, "ln_green", "first_treat", "city_code")
    ref = REF[key]
    atol, rtol = (1e-12, 1e-10) if method == "reg" else (1e-9, 5e-6)
    r = att_gt_covariates(df, y, x, cohort=g, unit=unit, method=method, control=control, base=base,
                          bootstrap=False)
    # ATT(g,t): did lists the reference cells ATT(g, g-1) = 0 under the universal base, citynet omits them
    R = pd.DataFrame({"group": _f(ref["g"]), "time": _f(ref["t"]), "att_r": _f(ref["att"]), "se_r": _f(ref["se"])})
    if base == "universal":
        R = R[R["time"] != R["group"] - 1]
    m = R.merge(r.att_gt, on=["group", "time"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    assert np.allclose(m["att"], m["att_r"], rtol=0, atol=atol)
    assert np.allclose(m["se"], m["se_r"], rtol=rtol, atol=0)
    a = r.aggregates
    assert a["simple"]["att"][0] == pytest.approx(ref["simple"], abs=atol)
    assert a["simple"]["se"][0] == pytest.approx(ref["simple_se"], rel=rtol)
    dyn = a["dynamic"].set_index("term")
    e = [int(v) for v in np.atleast_1d(ref["e"])]
    keep = [i for i, v in enumerate(e) if f"e={v}" in dyn.index]
    assert len(keep) == len(e) - (base == "universal")  # did's e = -1 reference under universal
    terms = [f"e={e[i]}" for i in keep]
    assert np.allclose(dyn.loc[terms, "att"], _f(ref["dynamic"])[keep], rtol=0, atol=atol)
    assert np.allclose(dyn.loc[terms, "se"], _f(ref["dynamic_se"])[keep], rtol=rtol, atol=0)
    assert dyn.loc["overall", "att"] == pytest.approx(ref["dynamic_overall"], abs=atol)
    assert dyn.loc["overall", "se"] == pytest.approx(ref["dynamic_overall_se"], rel=rtol)
    cal = a["calendar"].set_index("term")
    terms = [f"t={int(v)}" for v in np.atleast_1d(ref["calendar"])]
    assert np.allclose(cal.loc[terms, "att"], _f(ref["calendar_att"]), rtol=0, atol=atol)
    assert np.allclose(cal.loc[terms, "se"], _f(ref["calendar_se"]), rtol=rtol, atol=0)
    assert cal.loc["overall", "att"] == pytest.approx(ref["calendar_overall"], abs=atol)
    assert cal.loc["overall", "se"] == pytest.approx(ref["calendar_overall_se"], rel=rtol)
    grp = a["group"].set_index("term")
    terms = [f"g={int(v)}" for v in np.atleast_1d(ref["group"])]
    assert np.allclose(grp.loc[terms, "att"], _f(ref["group_att"]), rtol=0, atol=atol)
    assert np.allclose(grp.loc[terms, "se"], _f(ref["group_se"]), rtol=rtol, atol=0)
    assert grp.loc["overall", "att"] == pytest.approx(ref["group_overall"], abs=atol)
    # overall group SE: did's wif uses the first cohort's indicator for every cohort (module docstring)
    tab, Gu = r.att_gt, _cohorts(df, g, unit, r)
    glist = np.array(sorted(tab["group"].unique()), dtype=float)
    pgl = np.array([np.mean(Gu == gg) for gg in glist])
    psig = []
    for gg in glist:
        k = np.flatnonzero((tab["group"] == gg) & (tab["time"] >= gg))
        psig.append(r.inf[:, k].mean(axis=1))
    Pg = np.column_stack(psig)
    thg = grp.loc[[f"g={int(v)}" for v in glist], "att"].to_numpy()
    n = len(Gu)

    def se_with(groups_for_wif):
        psi = Pg @ (pgl / pgl.sum()) + _wif(np.arange(len(glist)), pgl, Gu, groups_for_wif) @ thg
        return float(np.sqrt((psi**2).sum()) / n)

    assert grp.loc["overall", "se"] == pytest.approx(se_with(glist), rel=1e-12)
    did_like = tab["group"].to_numpy(float)[:len(glist)]  # did: group[1:length(glist)] of the (g,t) rows
    assert se_with(did_like) == pytest.approx(ref["group_overall_se"], rel=rtol)
    assert abs(grp.loc["overall", "se"] / ref["group_overall_se"] - 1) > 1e-3  # the difference is real


def _cohorts(df, g, unit, r):
    """Cohort per unit in the order of the result's influence-function rows (units sorted as citynet)."""
    years = df.groupby(unit)["year"].nunique()
    first = df.groupby(unit)[g].first()
    first = first[(years == years.max()) & (first != df["year"].min())]
    assert len(first) == r.inf.shape[0]
    return first.sort_index().to_numpy(float)


# ------------------------------------------------------------------------------------------------ 2SLS
IV_CASES = {
    "iv_one": (["x1"], ["low_carbon", "z1"], "cluster:city_code"),
    "iv_two": (["x1", "ln_collab"], ["low_carbon", "z1", "green_patents"], "cluster:city_code"),
    "iv_two_hc1": (["x1", "ln_collab"], ["low_carbon", "z1", "green_patents"], "hc1"),
    "iv_two_iid": (["x1", "ln_collab"], ["low_carbon", "z1", "green_patents"], "iid"),
}


@pytest.mark.parametrize("key", list(IV_CASES))
def test_2sls_equals_fixest_iv(key, cy):
    endog, instr, vcov = IV_CASES[key]
    ref = REF[key]
    r = iv2sls(cy, "ln_green", endog, instr, ["x2"], fe="city_code + year", vcov=vcov)
    terms = [t.removeprefix("fit_") for t in ref["term"]]
    assert np.allclose(r.result.params[terms], ref["coef"], rtol=0, atol=1e-10)
    assert np.allclose(r.result.se[terms], ref["se"], rtol=1e-9, atol=0)
    assert r.result.nobs == ref["nobs"]
    first_c = ref["first_coef"] if isinstance(ref["first_coef"], list) else [ref["first_coef"]]
    first_s = ref["first_se"] if isinstance(ref["first_se"], list) else [ref["first_se"]]
    ivwald, ivf = np.atleast_1d(ref["ivwald"]), np.atleast_1d(ref["ivf"])
    for j, fs in enumerate(r.first_stages):
        names = list(first_c[j])
        assert np.allclose(fs.params[names], [first_c[j][k] for k in names], rtol=0, atol=1e-10)
        assert np.allclose(fs.se[names], [first_s[j][k] for k in names], rtol=1e-9, atol=0)
        assert fs.stats["partial_F"] == pytest.approx(ivwald[j], rel=1e-9)
        if vcov == "iid":
            assert fs.stats["partial_F"] == pytest.approx(ivf[j], rel=1e-9)
    n, K, L = ref["nobs"], len(endog), len(instr)
    res_dof = n - L - 1 - (cy["city_code"].nunique() + cy["year"].nunique() - 1)  # one exogenous: x2
    cd_fixest = r.diagnostics["cragg_donald_F"] * (n - K - L - 1) / res_dof
    assert cd_fixest == pytest.approx(ref["cd"], rel=1e-9)
    got = [r.result.r2, r.result.adj_r2, r.result.r2_within]  # the second stage's, as fixest's r2()
    assert np.allclose(got, [ref["r2"][k] for k in ("r2", "ar2", "wr2")], rtol=1e-9, atol=0)


# ----------------------------------------------------------------------------------- random-effects Tobit
def test_re_tobit_equals_plm_pldv(cy):
    ref = REF["tobit_re"]
    r = re_tobit(cy, "ln_collab", ["x1", "x2", "low_carbon"], left=0.0)
    assert r.censored == ref["n_cens"] and r.result.nobs == ref["nobs"]
    names = {"(Intercept)": "Intercept", "x1": "x1", "x2": "x2", "low_carbon": "low_carbon",
             "sd.nu": "sigma_e", "sd.eta": "sigma_u"}  # plm: nu idiosyncratic, eta individual
    mine = [names[t] for t in ref["term"]]
    assert r.loglik == pytest.approx(ref["loglik"], abs=5e-5)
    assert np.allclose(r.result.params[mine], ref["coef"], rtol=0, atol=1e-5)
    assert np.allclose(r.result.se[mine], ref["se"], rtol=2e-3, atol=0)
