"""Conley standard errors and the (weighted) PPML pseudo R² against fixest 0.14.2's numbers committed in
``tests/references/conley_ppml.json`` (written by ``tests/references/conley_ppml.R`` on ``synth_city_year.csv``
joined to ``city_coords.csv``; CI needs no R).

Conley: fixest's ``vcov_conley`` and citynet's ``conley`` coincide, with these settings mapped —
``distance = "spherical"`` (fixest's default "triangular" is an equirectangular approximation), no small-sample
factor (``ssc(K.adj = FALSE)``; fixest multiplies by n/(n − K) by default) and the cutoff as the same great-circle
angle (fixest's haversine uses an Earth radius of 6376 km, citynet's 6371.0088 km: citynet's ``C`` km is fixest's
``C·6376/6371.0088``). On one period the two definitions are the same; on a panel fixest sums over every pair
within the cutoff whatever the years (a city's rows of all years are pairs at distance 0), citynet over pairs of
the same year (Conley–Hsiang); the reference for the latter is fixest's own Conley meat of each year's scores,
summed (``fixest:::vcov_conley_internal``), and citynet's ``conley_meat`` without ``time`` reproduces fixest's
all-pairs panel number.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.estimators import fit
from citynet.analysis.inference import FIXEST_EARTH_RADIUS_KM, conley, conley_meat
from citynet.etl.cities import EARTH_RADIUS_KM
from scipy.special import gammaln

REF_DIR = Path(__file__).parent / "references"
REF = json.loads((REF_DIR / "conley_ppml.json").read_text())
RTOL = 1e-9  # observed agreement ≤ 1e-12 (different summation order only)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    data = REF_DIR / "data"
    cy = pd.read_csv(data / "synth_city_year.csv").merge(pd.read_csv(data / "city_coords.csv"), on="city_code")
    return cy.assign(city_code=cy["city_code"].astype(str))


@pytest.fixture(scope="module")
def cities(panel) -> pd.DataFrame:
    return panel.drop_duplicates("city_code")[["city_code", "lon", "lat"]]


def _se(ref: dict) -> pd.Series:
    return pd.Series(ref).rename(index={"(Intercept)": "Intercept"})


def test_the_radii_are_the_ones_the_reference_script_maps():
    assert REF["meta"]["radius_citynet_km"] == EARTH_RADIUS_KM
    assert REF["meta"]["radius_fixest_km"] == FIXEST_EARTH_RADIUS_KM
    assert REF["meta"]["packages"]["fixest"] == "0.14.2"


@pytest.mark.parametrize("fe", ["nofe", "region"])
@pytest.mark.parametrize("km", [100, 200, 500])
def test_conley_cross_section_equals_fixest_vcov_conley(panel, cities, fe, km):
    """One year (337 cities), with and without a fixed effect: citynet's conley:KM = fixest's vcov_conley at the
    same great-circle cutoff, spherical distance, ssc(K.adj = FALSE)."""
    ref = REF[f"xs_{fe}_{km}"]
    xs = panel[panel["year"] == ref["year"]]
    fml = "ln_green ~ x1 + x2" + (" | region" if fe == "region" else "")
    r = conley(xs, fml, km, cities=cities)
    assert r.nobs == ref["nobs"]
    assert np.allclose(r.params[list(_se(ref["coef"]).index)], _se(ref["coef"]), rtol=1e-10)
    se = _se(ref["se"])
    assert np.allclose(r.se[se.index], se, rtol=RTOL)


@pytest.mark.parametrize("km", [100, 500])
def test_fixest_nominal_cutoff_is_citynet_at_the_cutoff_scaled_by_the_radii(panel, cities, km):
    """fixest's vcov_conley(cutoff = KM, spherical) counts the pairs within KM·6371.0088/6376 citynet-km: at 100
    and 500 km some pair lies in between (the SEs differ from citynet's conley:KM by up to 0.4%), at 200 km none."""
    ref = REF[f"xs_nofe_{km}"]
    xs = panel[panel["year"] == ref["year"]]
    nominal = _se(ref["se_spherical_nominal_cutoff"])
    assert not np.allclose(nominal, _se(ref["se"]), rtol=1e-6)
    r = conley(xs, "ln_green ~ x1 + x2", km * EARTH_RADIUS_KM / FIXEST_EARTH_RADIUS_KM, cities=cities)
    assert np.allclose(r.se[nominal.index], nominal, rtol=RTOL)


def test_fixest_default_conley_is_another_estimator(panel, cities):
    """For the record: fixest's defaults (triangular distance, n/(n − K)) are within 2% of citynet's here — not
    equal, and not meant to be; the settings above are the mapping."""
    ref = REF["xs_nofe_200"]
    xs = panel[panel["year"] == ref["year"]]
    r = conley(xs, "ln_green ~ x1 + x2", 200, cities=cities)
    default = _se(ref["se_fixest_default"])
    ratio = r.se[default.index] / default
    assert not np.allclose(ratio, 1.0, rtol=1e-6) and np.allclose(ratio, 1.0, atol=0.02)


@pytest.mark.parametrize("km", [200, 500])
def test_conley_panel_same_year_pairs_equal_fixest_meat_per_year(panel, cities, km):
    """Two-way FE panel (3,370 city-years): citynet's conley:KM (pairs within a year) = fixest's Conley meat of each
    year's scores, summed, between the panel fit's bread."""
    ref = REF[f"panel_{km}"]
    r = conley(panel, "ln_green ~ x1 + x2 | city_code + year", km, cities=cities)
    assert r.nobs == ref["nobs"]
    assert np.allclose(r.params[["x1", "x2"]], _se(ref["coef"]), rtol=1e-9)
    assert np.allclose(r.se[["x1", "x2"]], _se(ref["se_same_year"]), rtol=RTOL)


@pytest.mark.parametrize("km", [200, 500])
def test_conley_meat_without_time_is_fixest_panel_conley(panel, cities, km):
    """fixest's own panel Conley (every pair within the cutoff, any years) = citynet's ``conley_meat`` without
    ``time`` on the same fit's scores: the definitions differ only in the pairs summed."""
    ref = REF[f"panel_{km}"]
    r = fit(panel, "ln_green ~ x1 + x2 | city_code + year", vcov="hc1")
    f = r.raw
    X, u = np.asarray(f._X, float), np.asarray(f._u_hat, float).ravel()
    c = cities.set_index("city_code").loc[f._data["city_code"]]
    meat = conley_meat(X * u[:, None], c["lon"].to_numpy(), c["lat"].to_numpy(), km)
    bread = np.linalg.inv(X.T @ X)
    se = np.sqrt(np.diag(bread @ meat @ bread))
    assert np.allclose(se, _se(ref["se_all_pairs"])[["x1", "x2"]], rtol=RTOL)
    assert not np.allclose(se, _se(ref["se_same_year"])[["x1", "x2"]], rtol=1e-3)


# ------------------------------------------------------------------------------------- PPML pseudo R²
PPML = {
    "ppml_twfe": ("green_patents ~ x1 + x2 | city_code + year", None),
    "ppml_twfe_w": ("green_patents ~ x1 + x2 | city_code + year", "w"),
    "ppml_twfe_w_mean1": ("green_patents ~ x1 + x2 | city_code + year", "w_mean1"),
    "ppml_year_w": ("green_patents ~ x1 + x2 | year", "w"),
    "ppml_nofe_w": ("green_patents ~ x1 + x2", "w"),
}


def _ppml(panel, key):
    fml, w = PPML[key]
    data = panel.assign(w_mean1=panel["w"] / panel["w"].mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(data, fml, model="ppml", vcov="hc1", weights=w)


@pytest.mark.parametrize("key", list(PPML))
def test_ppml_pseudo_r2_is_one_minus_fixest_loglik_ratio(panel, key):
    """citynet's pseudo R² = 1 − logLik(fepois)/logLik(fepois(y ~ 1, weights)) on the fit's sample, both fixest's;
    unweighted it is fixest's r2(fit, "pr2") as well. It no longer depends on the weights' scale (w and
    w/mean(w) give one number)."""
    ref = REF[key]
    r = _ppml(panel, key)
    assert r.nobs == ref["nobs"]
    assert r.stats["pseudo_r2"] == pytest.approx(ref["pr2_null_fit"], rel=1e-9)
    if PPML[key][1] is None:
        assert r.stats["pseudo_r2"] == pytest.approx(ref["pr2_fixest"], rel=1e-9)
    assert REF["ppml_twfe_w"]["pr2_null_fit"] == pytest.approx(REF["ppml_twfe_w_mean1"]["pr2_null_fit"], rel=1e-12)


@pytest.mark.parametrize("key", [k for k, (_, w) in PPML.items() if w])
def test_fixest_weighted_pr2_differs_only_by_its_unweighted_log_factorials(panel, key):
    """fixest 0.14.2's weighted r2(fit, "pr2") (−1.44, −6.6, −7.0 here; 0.674 with weights of mean ≈ 1) is
    reproduced from citynet's log-likelihoods by fixest's null log-likelihood, which weights sy and N but not
    Σ log y!: ℓ₀(fixest) = ℓ₀ + Σ wᵢ log yᵢ! − Σ log yᵢ!. The documented reason citynet does not report it."""
    ref = REF[key]
    r = _ppml(panel, key)
    f = r.raw
    ll = float(f._loglik)  # pyfixest's Σ wᵢ(yᵢ log μ̂ᵢ − μ̂ᵢ − log yᵢ!), fixest's logLik
    assert ll == pytest.approx(ref["loglik"], rel=1e-9)
    ll0 = ll / (1 - r.stats["pseudo_r2"])  # citynet's ℓ₀
    y = np.asarray(f._Y_untransformed, float).ravel()
    w = f._data[PPML[key][1]].to_numpy(float)
    ll0_fixest = ll0 + np.sum(w * gammaln(y + 1)) - np.sum(gammaln(y + 1))
    assert ll0_fixest == pytest.approx(ref["ll_null_fixest"], rel=1e-9)
    assert 1 - ll / ll0_fixest == pytest.approx(ref["pr2_fixest"], rel=1e-8)


def test_weighted_ppml_table_shows_its_pseudo_r2(panel):
    """The regression table's "R² / pseudo R²" cell of a weighted PPML was blank (pyfixest's None); now fixest's
    logLik ratio, printed like the unweighted one."""
    from citynet.analysis.tables import regression_table

    t = regression_table([_ppml(panel, "ppml_twfe"), _ppml(panel, "ppml_twfe_w")])
    row = next(r[1:] for r in t.rows if r[0] == "R² / pseudo R²")
    assert row == [f"{REF['ppml_twfe']['pr2_fixest']:.3f}", f"{REF['ppml_twfe_w']['pr2_null_fit']:.3f}"]
