"""citynet's estimators against the R packages their authors maintain (numbers stored by
``tests/references/references.R``, regenerated with ``make references`` where R is installed).

Tolerances: 1e-8 (relative) where both sides solve exactly (OLS, 3SLS, CS means, did2s, Moran, effects
at given parameters); 1e-6 where both iterate (PPML IRLS, the concentrated ML of the spatial models).
Standard errors: CS (every ATT(g,t), the simple and the dynamic aggregation) and did2s are compared with
citynet's default analytic standard errors, which are the authors' (did's influence function with
``bstrap = FALSE``; did2s's first-stage-corrected GMM, clustered by city); citynet's other convention,
a city bootstrap (``se="bootstrap"``), has no R counterpart (did's bootstrap is a multiplier bootstrap).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).parent / "references"
REF = json.loads((HERE / "references.json").read_text(encoding="utf-8"))
EXACT, ITER = 1e-8, 1e-6


def close(got, want, tol):
    got, want = np.asarray(got, float), np.asarray(want, float)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 1e-2)


@pytest.fixture(scope="module")
def cy() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "synth_city_year.csv", dtype={"city_code": str})


@pytest.fixture(scope="module")
def dy() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "synth_dyad_year.csv", dtype={"city_a": str, "city_b": str})


FML = "ln_green ~ x1 + x2 + low_carbon | city_code + year"


@pytest.mark.parametrize("key,vcov", [("feols_cluster", {"CRV1": "city_code"}), ("feols_hc1", "hc1"),
                                      ("feols_iid", "iid")])
def test_feols_matches_fixest(cy, key, vcov):
    from citynet.analysis.estimators import fit

    r, ref = fit(cy, FML, vcov=vcov), REF[key]
    names = list(ref["coef"])
    close(r.params[names], [ref["coef"][k] for k in names], EXACT)
    close(r.se[names], [ref["se"][k] for k in names], EXACT)
    assert r.nobs == ref["nobs"]


def test_fepois_matches_fixest(cy):
    from citynet.analysis.estimators import fit

    r = fit(cy, "green_patents ~ x1 + low_carbon | city_code + year", model="ppml", vcov={"CRV1": "city_code"})
    ref = REF["fepois_cluster"]
    names = list(ref["coef"])
    close(r.params[names], [ref["coef"][k] for k in names], ITER)
    close(r.se[names], [ref["se"][k] for k in names], ITER)
    assert r.nobs == ref["nobs"]


@pytest.mark.parametrize("key,vcov", [("gravity", None), ("gravity_hc1", "hc1")])
def test_gravity_matches_fixest(dy, key, vcov):
    """Origin-year and destination-year FE; fixest drops all-zero and singleton groups repeatedly."""
    from citynet.analysis.estimators import gravity

    r, ref = gravity(dy, "collab", ["log_distance"], vcov=vcov), REF[key]
    assert r.nobs == ref["nobs"]
    close(r.params["log_distance"], ref["coef"]["log_distance"], ITER)
    close(r.se["log_distance"], ref["se"]["log_distance"], ITER)


def test_twfe_did_matches_fixest(cy):
    from citynet.analysis.did import did

    r, ref = did(cy, "ln_green", "low_carbon", vcov={"CRV1": "city_code"}), REF["did_twfe"]
    close(r.params["low_carbon"], ref["coef"]["low_carbon"], EXACT)
    close(r.se["low_carbon"], ref["se"]["low_carbon"], EXACT)


def test_event_study_matches_fixest(cy):
    from citynet.analysis.did import event_study

    es = event_study(cy, "ln_green", treat="low_carbon", leads=3, lags=3, vcov={"CRV1": "city_code"})
    ref = REF["event_study"]
    name = {"rel::-3": "pre_3", "rel::-2": "pre_2", "rel::0": "current", "rel::1": "post_1",
            "rel::2": "post_2", "rel::3": "post_3"}
    for k, v in name.items():
        close(es.result.params[v], ref["coef"][k], EXACT)
        close(es.result.se[v], ref["se"][k], EXACT)


def _cs_frame(key: str, cy: pd.DataFrame, never: float) -> tuple[pd.DataFrame, str, str]:
    """The cohort column ``g`` with the never-treated coded ``never`` (did::att_gt's data: 0)."""
    if key.startswith("cs_mpdta"):
        mp = pd.read_csv(HERE / "data" / "mpdta.csv")
        return mp.assign(g=mp["first.treat"].replace(0, never)), "lemp", "countyreal"
    return cy.assign(g=cy["first_treat"].replace(0, never)), "ln_green", "city_code"


@pytest.mark.parametrize("never", [0, np.nan], ids=["never_0_as_did", "never_missing"])
@pytest.mark.parametrize("key", ["cs_mpdta_notyet", "cs_mpdta_never", "cs_synth_notyet", "cs_synth_never"])
def test_callaway_santanna_matches_did(cy, key, never):
    """Every ATT(g,t) (pre-period cells included) with its analytic SE, the simple and the dynamic
    aggregation of did::att_gt + aggte (varying base period) to 1e-8; the never-treated coded 0 in the
    cohort column as did's ``gname`` codes them (once taken as treated "in year 0", so always treated and
    dropped: the never-treated control group was empty) or missing."""
    from citynet.analysis.did import callaway_santanna

    df, y, unit = _cs_frame(key, cy, never)
    r = callaway_santanna(df, y, treat=None, cohort="g", unit=unit,
                          control="notyet" if key.endswith("notyet") else "never")
    ref = REF[key]
    want = pd.Series(ref["att"], index=pd.MultiIndex.from_arrays([ref["g"], ref["t"]]))
    got = r.att_gt.set_index(["g", "t"])["att"]
    got.index = pd.MultiIndex.from_arrays([got.index.get_level_values(0).astype(int),
                                           got.index.get_level_values(1).astype(int)])
    assert sorted(got.index) == sorted(want.index)
    close(got.reindex(want.index), want, EXACT)
    se = r.att_gt.set_index(["g", "t"])["se_analytic"]
    se.index = got.index
    close(se.reindex(want.index), pd.Series(ref["se"], index=want.index), EXACT)
    close(r.simple.params["ATT"], ref["simple"], EXACT)
    close(r.simple.se["ATT"], ref["simple_se"], EXACT)
    from citynet.analysis.did import _event_name

    names = [_event_name(int(e)) for e in ref["e"]]
    dyn = pd.Series(ref["dynamic"], index=names)
    close(r.dynamic.params.reindex(dyn.index), dyn, EXACT)
    close(r.dynamic.se.reindex(names), pd.Series(ref["dynamic_se"], index=names), EXACT)
    close(r.dynamic_se_analytic.reindex(names), pd.Series(ref["dynamic_se"], index=names), EXACT)


@pytest.mark.parametrize("key,controls", [("did2s", []), ("did2s_x1", ["x1"])])
def test_gardner_matches_did2s(cy, key, controls):
    """Exact (R's lm on the dummy design) to 1e-10; did2s::did2s, whose first stage is fixest::feols at
    fixef.tol 1e-6, to 1e-6; the first-stage-corrected clustered SE of did2s to 1e-6."""
    from citynet.analysis.did import gardner_did

    r = gardner_did(cy, "ln_green", "low_carbon", controls=controls)
    close(r.params["low_carbon"], REF[key + "_exact"], 1e-10)
    close(r.params["low_carbon"], REF[key]["coef"], ITER)
    close(r.se["low_carbon"], REF[key]["se"], ITER)
    assert r.stats["se_analytic"] == r.se["low_carbon"]


@pytest.mark.parametrize("key,fe", [("three_sls_fe", "city_code + year"), ("three_sls", None)])
def test_three_sls_matches_systemfit(cy, key, fe):
    from citynet.analysis.system import three_sls

    r = three_sls(cy, {"eq1": "ln_green ~ ln_collab + x1", "eq2": "ln_collab ~ ln_green + x2"}, fe=fe,
                  instruments=["x1", "x2", "z1"])
    ref = REF[key]
    for k, want in ref["coef"].items():
        eq, var = k.split("_", 1)
        var = "Intercept" if var == "(Intercept)" else var
        res = r[eq]
        close(res.params[var], want, EXACT)
        close(res.se[var], ref["se"][k], EXACT)


@pytest.fixture(scope="module")
def spatial():
    from citynet.analysis.spatial.weights import from_matrix

    wdf = pd.read_csv(HERE / "data" / "synth_w.csv", dtype={"city_code": str}).set_index("city_code")
    w = from_matrix(wdf)
    sp = pd.read_csv(HERE / "data" / "synth_spatial.csv", dtype={"city_code": str})
    return w, sp


def _ring(codes: list[str]):
    from citynet.analysis.spatial.weights import from_matrix

    n = len(codes)
    m = np.zeros((n, n))
    for i in range(n):
        m[i, (i + 1) % n] = m[i, (i - 1) % n] = 0.5
    return from_matrix(m, codes)


@pytest.mark.parametrize("key,fe,correction", [("sdm_city", "city", "leeyu"),
                                               ("sdm_twoway_ring_direct", "twoway", "none")])
def test_sdm_matches_splm(spatial, key, fe, correction):
    """splm::spml(model='within', lag=TRUE) with W·x as regressors (the SDM): city FE with LeeYu=TRUE (the
    T/(T−1) correction), two-way FE by the direct approach (LeeYu=FALSE). splm's two-way LeeYu=TRUE is the
    direct approach plus Lee–Yu's analytic bias correction, a different estimator from the transformation
    approach of citynet's (and xsmle's) ``correction='leeyu'``; that one is checked against hand-worked
    likelihood identities in test_spatial_sdm.py."""
    from citynet.analysis.spatial.sdm import fit_sdm

    w, sp = spatial
    if key.endswith("ring_direct"):
        # splm lags the demeaned y, citynet demeans the lag of the raw y: the same with two-way FE only when
        # W's columns also sum to one (a ring); with the inverse-distance W the two conventions differ
        w = _ring(w.codes)
    r = fit_sdm(sp, "ln_green", ["x1", "x2"], w, fe=fe, correction=correction, effects_draws=0, tests=False)
    ref = REF[key]
    p = r.coef.params
    close(r.rho, ref["rho"], ITER)
    got = [p.get("rho", r.rho), p["x1"], p["x2"], p["W*x1"], p["W*x2"]]
    close(got, list(ref["coef"].values()), ITER)
    se = r.coef.se
    close([se["rho"], se["x1"], se["x2"], se["W*x1"], se["W*x2"]], ref["se"], ITER)
    close(r.sigma2, ref["sigma2"], ITER)


def test_effects_match_dense_inverse_in_r(spatial):
    """LeSage–Pace direct/indirect/total at splm's two-way estimates, against R's dense inverse."""
    from citynet.analysis.spatial.sdm import lesage_pace_effects

    w, _ = spatial
    c = REF["sdm_twoway"]["coef"]
    eff = lesage_pace_effects([c["x1"], c["x2"]], [c["w_x1"], c["w_x2"]], REF["sdm_twoway"]["rho"], w,
                              names=["x1", "x2"])
    for v in ("x1", "x2"):
        for e in ("direct", "indirect", "total"):
            close(eff.loc[v, e], REF["impacts_twoway"][v][e], EXACT)
    lm = REF["lagsarlm_2017"]  # spatialreg::impacts of a cross-section SDM
    c = lm["coef"]
    eff = lesage_pace_effects([c["x1"], c["x2"]], [c["lag.x1"], c["lag.x2"]], lm["rho"], w)
    close(eff["direct"], lm["direct"], EXACT)
    close(eff["indirect"], lm["indirect"], EXACT)
    close(eff["total"], lm["total"], EXACT)


def test_moran_matches_spdep(spatial):
    from citynet.analysis.spatial.moran import moran_global

    w, sp = spatial
    x = sp[sp["year"] == 2017].set_index("city_code").loc[w.codes, "ln_green"].to_numpy()
    m, ref = moran_global(x, w, permutations=0), REF["moran_2017"]
    for k in ("I", "EI", "VI_rand", "VI_norm", "z_rand", "z_norm"):
        close(m[k], ref[k], EXACT)
