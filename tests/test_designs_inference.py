"""Wild cluster bootstrap, randomization inference and Conley SEs against references written by others
(pyfixest's wildboottest / ritest, statsmodels' sandwich covariances) and brute-force refits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
from citynet.analysis.inference import (
    WildBootstrap,
    _absorb,
    _design,
    _weights,
    conley,
    conley_meat,
    fit_with_inference,
    parse_inference,
    randomization_inference,
    wild_cluster_bootstrap,
)
from statsmodels.stats import sandwich_covariance as sc

from citynet.errors import AnalysisError


def _small_panel(G=10, T=6, seed=1, beta=0.1):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(G):
        a = rng.normal()
        for t in range(T):
            x = rng.normal() + 0.3 * a
            rows.append((g, 2000 + t, x, rng.normal(), beta * x + a + 0.2 * t + rng.normal() * (1 + g % 3)))
    return pd.DataFrame(rows, columns=["city_code", "year", "x", "z", "y"])


@pytest.mark.parametrize("fml", ["y ~ x + z | city_code + year", "y ~ x + z | year", "y ~ x + z"])
def test_wild_pvalue_equals_pyfixest_wildboottest_full_enumeration(fml):
    """G = 10 clusters, 2^10 Rademacher sign vectors enumerated by both: the p-values are equal."""
    df = _small_panel()
    mine = wild_cluster_bootstrap(df, fml, "x", reps=9999, ci=False)
    assert mine["enumerated"] == 1.0 and mine["reps"] == 1024
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pf.feols(fml, df, vcov={"CRV1": "city_code"})
        ref = f.wildboottest(param="x", reps=9999, seed=1)
    assert mine["pvalue"] == pytest.approx(float(ref["Pr(>|t|)"]), abs=1e-12)


def test_wild_bootstraps_the_fits_sample_without_its_singletons():
    """Two cities seen in one year only are fixed-effect singletons: the fit drops them (as fixest), and so does
    the bootstrap now — their clusters had counted in G (12 where the fit has 10), changing the draws and the
    p-value. G = 10 is enumerated (2^10 sign vectors), equal to pyfixest's wildboottest on its fit."""
    df = _small_panel()
    extra = pd.DataFrame({"city_code": [97, 98], "year": [2001, 2003], "x": [0.5, -1.0], "z": [0.1, 0.2],
                          "y": [3.0, -2.0]})
    df = pd.concat([df, extra], ignore_index=True)
    fml = "y ~ x + z | city_code + year"
    mine = wild_cluster_bootstrap(df, fml, "x", reps=9999, ci=False)
    assert mine["clusters"] == 10 and mine["enumerated"] == 1.0 and mine["reps"] == 1024
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pf.feols(fml, df, vcov={"CRV1": "city_code"})
        ref = f.wildboottest(param="x", reps=9999, seed=1)
    assert len(df) - 2 == f._N  # pyfixest's fit left the two singletons out, as fixest does
    assert mine["pvalue"] == pytest.approx(float(ref["Pr(>|t|)"]), abs=1e-12)


def test_wild_on_an_interaction_of_two_columns_is_pyfixests_on_the_hand_made_pairs():
    """``cluster = "a^b"`` (one way: the pairs of values) bootstraps the same clusters as a column of the pairs
    made here by hand: 2 × 5 = 10 clusters, all 2^10 sign vectors, p-value equal to pyfixest's wildboottest."""
    df = _small_panel(G=20, T=5)
    df["half"] = np.where(df["city_code"] < 10, "north", "south")
    df["pair"] = np.where(df["half"] == "north", 10_000, 20_000) + df["year"]  # the interaction, written out
    fml = "y ~ x + z | city_code"
    r = fit_with_inference(df, fml, "wild:9999", cluster="half^year")
    assert "clusters half^year" in r.notes[-1] and "all sign vectors" in r.notes[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols(fml, df, vcov={"CRV1": "pair"}).wildboottest(param="x", reps=9999, seed=1)
    assert r.stats["wild_pvalue"] == pytest.approx(float(ref["Pr(>|t|)"]), abs=1e-12)


def test_wild_with_fixed_effects_constant_within_the_absorbed_one():
    """``city_code + half^year`` with clusters by city (as ``city_code + province_code^year``): the city is
    absorbed and each half's year dummies sum to its indicator, which the city demeaning removes. Those
    collinear dummies made X'X near-singular: β̂ of x was −0.34327 where pyfixest (on its fixed effects, on
    every dummy) gives −0.34289, and the p-value followed it. Now β̂ is pyfixest's and the p-value is that of
    explicit refits with every dummy (``_brute_p``) on the same 1,024 sign vectors. The interaction was a
    traceback (no column ``half^year``), and ``x + x`` a singular matrix: one regressor, as the fit takes it."""
    df = _small_panel(G=10, T=5)
    df["half"] = np.where(df["city_code"] < 5, "north", "south")
    df["pair"] = np.where(df["half"] == "north", 10_000, 20_000) + df["year"]  # the interaction, written out
    mine = wild_cluster_bootstrap(df, "y ~ x + x + z | city_code + half^year", "x", reps=9999, ci=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fml in ("y ~ x + z | city_code + pair", "y ~ x + z + C(pair) + C(city_code)"):
            assert mine["coef"] == pytest.approx(pf.feols(fml, df).coef()["x"], abs=1e-12)
    v, enumerated = _weights("rademacher", 10, 9999, None)
    assert enumerated and mine["enumerated"] == 1.0
    assert mine["pvalue"] == pytest.approx(_brute_p(df, 0.0, v, fe=("city_code", "pair")), abs=1e-12)


def test_wild_with_collinear_regressors_is_one_message():
    df = _small_panel().assign(x2=lambda d: 2 * d["x"])
    with pytest.raises(AnalysisError, match="found its regressors collinear"):
        wild_cluster_bootstrap(df, "y ~ x + x2 | city_code + year", "x", reps=99, ci=False)


def _brute_p(df, r, v, fe=("city_code", "year")):
    """WCR11 by explicit refits with dummy variables for every FE level (no algebraic shortcut; collinear
    dummies left in: least squares' minimum-norm solution and the pseudo-inverse give x's estimable β and
    variance)."""
    d = df.sort_values(["city_code", "year"]).reset_index(drop=True)
    D = pd.get_dummies(d[list(fe)].astype(str), drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([d[["x", "z"]].to_numpy(float), D, np.ones(len(d))])
    y = d["y"].to_numpy(float)
    g = pd.factorize(d["city_code"])[0]

    def t_of(yy):
        b = np.linalg.lstsq(X, yy, rcond=None)[0]
        u = yy - X @ b
        c = np.linalg.pinv(X.T @ X)[:, 0]
        s = np.bincount(g, (X @ c) * u)
        return (b[0] - r) / np.sqrt(s @ s)

    Xo = X[:, 1:]
    gam = np.linalg.lstsq(Xo, y - r * X[:, 0], rcond=None)[0]
    fitted = Xo @ gam + r * X[:, 0]
    ut = y - fitted
    t0 = t_of(y)
    tb = np.array([t_of(fitted + v[g, b] * ut) for b in range(v.shape[1])])
    return float(np.mean(np.abs(tb) > abs(t0) * (1 + 1e-9)))


def test_wild_pvalues_and_interval_equal_brute_force_refits():
    """p(r) at 0 and just inside/outside both interval ends equals explicit refits on the same 256 draws."""
    df = _small_panel(G=8, T=5, seed=4, beta=0.5)
    d = df.sort_values(["city_code", "year"]).reset_index(drop=True)
    des = _design(d, "y ~ x + z | city_code + year", "city_code")
    y, X, names = _absorb(des["data"], "y", ["x", "z"], ["city_code", "year"], "city_code")
    v, enum = _weights("rademacher", 8, 999, 0)
    assert enum
    wb = WildBootstrap(X, y, names.index("x"), des["data"]["city_code"].to_numpy(), v)
    lo, hi = wb.ci(0.90)
    assert lo < wb.beta[0] < hi
    span = hi - lo
    for r in (0.0, lo - 0.01 * span, lo + 0.01 * span, hi - 0.01 * span, hi + 0.01 * span):
        assert wb.pvalue(r) == pytest.approx(_brute_p(d, r, v), abs=1e-12)
    assert wb.pvalue(lo - 0.01 * span) < 0.10 <= wb.pvalue(lo + 0.01 * span)
    assert wb.pvalue(hi + 0.01 * span) < 0.10 <= wb.pvalue(hi - 0.01 * span)


def test_wild_planted_effect_interval_covers_truth_and_is_seeded():
    rng = np.random.default_rng(7)
    N, T = 60, 8
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(T), N)})
    df["x"] = rng.normal(size=len(df))
    df["z"] = rng.normal(size=len(df))
    df["y"] = 0.4 * df["x"] + np.repeat(rng.normal(size=N), T) + rng.normal(size=len(df))
    a = wild_cluster_bootstrap(df, "y ~ x + z | city_code + year", "x", reps=499, seed=3)
    b = wild_cluster_bootstrap(df, "y ~ x + z | city_code + year", "x", reps=499, seed=3)
    assert a == b
    assert a["ci_low"] < 0.4 < a["ci_high"] and a["pvalue"] < 0.01


def _cluster_randomised(seed=0, effect=0.0, G=40, T=5):
    rng = np.random.default_rng(seed)
    treat = rng.permutation(np.r_[np.ones(G // 2), np.zeros(G - G // 2)])
    df = pd.DataFrame({"city_code": np.repeat(np.arange(G), T), "year": np.tile(np.arange(T), G)})
    df["d"] = np.repeat(treat, T)
    df["z"] = rng.normal(size=len(df))
    df["y"] = effect * df["d"] + 0.5 * df["z"] + np.repeat(rng.normal(size=G), T) + rng.normal(size=len(df))
    return df


@pytest.mark.parametrize("effect", [0.0, 0.4])
def test_ri_pvalue_agrees_with_pyfixest_ritest(effect):
    """A cluster-randomised treatment (constant within city): permuting city paths = pyfixest's cluster
    ritest. Both are Monte Carlo p-values from different streams: agree within 4 binomial SEs."""
    df = _cluster_randomised(seed=3, effect=effect)
    mine = randomization_inference(df, "y ~ d + z | year", "d", reps=2000, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pf.feols("y ~ d + z | year", df)
        ref = f.ritest("d", cluster="city_code", reps=2000, rng=np.random.default_rng(2))
    assert mine["coef"] == pytest.approx(float(f.coef()["d"]), rel=1e-8)
    p_ref = float(ref["Pr(>|t|)"])
    se = np.sqrt(max(p_ref * (1 - p_ref), 0.01) / 2000) * np.sqrt(2)
    assert abs(mine["pvalue"] - p_ref) < 4 * se


def test_ri_staggered_paths_planted_effect():
    rng = np.random.default_rng(5)
    N, T = 80, 10
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2006, 2006 + T), N)})
    cohort = rng.choice([2009, 2011, 2013, 9999], N)
    df["d"] = (df["year"] >= np.repeat(cohort, T)).astype(float)
    df["y"] = 0.5 * df["d"] + np.repeat(rng.normal(size=N), T) + rng.normal(size=len(df))
    r = randomization_inference(df, "y ~ d | city_code + year", "d", reps=499, seed=0)
    assert r["pvalue"] == pytest.approx(1 / 500)
    df["y0"] = df["y"] - 0.5 * df["d"]
    r0 = randomization_inference(df, "y0 ~ d | city_code + year", "d", reps=499, seed=0)
    assert r0["pvalue"] > 0.01


def _cities(n, groups=None, seed=0):
    rng = np.random.default_rng(seed)
    if groups is None:
        lon, lat = rng.uniform(100, 120, n), rng.uniform(20, 40, n)
    else:  # cities of one group share coordinates; groups ≥ 500 km apart
        lon = 80 + 6.0 * np.asarray(groups, float)
        lat = np.full(n, 30.0)
    return pd.DataFrame({"city_code": [str(i) for i in range(n)], "lon": lon, "lat": lat})


def test_conley_tiny_cutoff_is_hc0():
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame({"city_code": np.arange(n).astype(str), "year": 2010, "x": rng.normal(size=n)})
    df["y"] = 1 + 0.5 * df["x"] + rng.normal(size=n) * (1 + np.abs(df["x"]))
    r = conley(df, "y ~ x", cutoff_km=1e-6, cities=_cities(n))
    ref = sm.OLS(df["y"], sm.add_constant(df["x"])).fit(cov_type="HC0")
    assert np.allclose(r.se[["Intercept", "x"]].to_numpy(), ref.bse[["const", "x"]].to_numpy(), rtol=1e-10)


def test_conley_uniform_kernel_over_co_located_groups_is_crv0():
    rng = np.random.default_rng(1)
    n = 150
    groups = np.repeat(np.arange(15), 10)
    df = pd.DataFrame({"city_code": np.arange(n).astype(str), "year": 2010, "x": rng.normal(size=n)})
    df["y"] = 0.3 * df["x"] + np.repeat(rng.normal(size=15), 10) + rng.normal(size=n)
    r = conley(df, "y ~ x", cutoff_km=100, cities=_cities(n, groups))
    ref = sm.OLS(df["y"], sm.add_constant(df["x"])).fit(cov_type="cluster",
                                                         cov_kwds={"groups": groups, "use_correction": False})
    assert np.allclose(r.se[["Intercept", "x"]].to_numpy(), ref.bse[["const", "x"]].to_numpy(), rtol=1e-10)


def test_conley_bartlett_kernel_on_the_equator_is_newey_west():
    """Cities on the equator, one degree of longitude apart, in the rows' order: the great-circle distance of rows
    j apart is R·j·(π/180), so the Bartlett kernel with a cutoff of L + 1 steps weighs them 1 − j/(L + 1), which is
    Newey–West's weight of lag j with L lags: citynet's Bartlett Conley = statsmodels' ``cov_hac`` (Bartlett
    weights, no small-sample correction) of the same OLS."""
    from citynet.etl.cities import EARTH_RADIUS_KM

    rng = np.random.default_rng(3)
    n, L = 80, 3
    df = pd.DataFrame({"city_code": [str(i) for i in range(n)], "year": 2010, "x": rng.normal(size=n)})
    shock = np.convolve(rng.normal(size=n + 4), np.ones(5) / 5, mode="valid")  # errors correlated with neighbours
    df["y"] = 1 + 0.4 * df["x"] + shock
    cities = pd.DataFrame({"city_code": df["city_code"], "lon": 90.0 + np.arange(n, dtype=float), "lat": 0.0})
    cutoff = EARTH_RADIUS_KM * np.radians(L + 1)
    res = sm.OLS(df["y"].to_numpy(), sm.add_constant(df["x"].to_numpy())).fit()
    ref = sc.cov_hac(res, nlags=L, weights_func=sc.weights_bartlett, use_correction=False)
    r = conley(df, "y ~ x", cutoff_km=cutoff, kernel="bartlett", cities=cities)
    assert np.allclose(r.se[["Intercept", "x"]].to_numpy(), np.sqrt(np.diag(ref)), rtol=1e-9)
    assert "bartlett kernel" in r.notes[0]
    uniform = conley(df, "y ~ x", cutoff_km=cutoff, cities=cities)  # the kernel is not ignored
    assert not np.allclose(uniform.se.to_numpy(), r.se.to_numpy(), rtol=1e-3)


def test_conley_panel_lags_are_newey_west_panel():
    """Cutoff below every distance: only the serial part remains = statsmodels' cov_nw_panel (Bartlett)."""
    rng = np.random.default_rng(2)
    N, T, L = 30, 8, 2
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T).astype(str), "year": np.tile(np.arange(T), N)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = 0.3 * df["x"] + rng.normal(size=len(df))
    X = sm.add_constant(df[["x"]].to_numpy())
    res = sm.OLS(df["y"].to_numpy(), X).fit()
    ref = sc.cov_nw_panel(res, L, [(i * T, (i + 1) * T) for i in range(N)], use_correction=False)
    c = _cities(N)
    lon = c.set_index("city_code").loc[df["city_code"], "lon"].to_numpy()
    lat = c.set_index("city_code").loc[df["city_code"], "lat"].to_numpy()
    meat = conley_meat(X * res.resid[:, None], lon, lat, 1e-6, time=df["year"].to_numpy(),
                       unit=df["city_code"].to_numpy(), lag=L)
    bread = np.linalg.inv(X.T @ X)
    assert np.allclose(bread @ meat @ bread, ref, rtol=1e-10)
    r = conley(df, "y ~ x", cutoff_km=1e-6, lag=L, cities=c)
    assert np.allclose(r.se.to_numpy(), np.sqrt(np.diag(ref)), rtol=1e-9)


def test_inference_spec_parsing_and_errors():
    assert parse_inference("wild:999") == ("wild", {"reps": 999, "weights": "rademacher"})
    assert parse_inference("conley:250km:2") == ("conley", {"cutoff_km": 250.0, "lag": 2})
    with pytest.raises(AnalysisError, match="unknown inference"):
        parse_inference("jackknife:5")
    with pytest.raises(AnalysisError, match="cannot read"):
        parse_inference("wild:many")
    df = _small_panel()
    with pytest.raises(AnalysisError, match="not a regressor"):
        wild_cluster_bootstrap(df, "y ~ x | year", "z")
    r = fit_with_inference(df, "y ~ x + z | city_code + year", "wild:999", param="x")
    assert {"wild_pvalue", "wild_ci_low", "wild_ci_high"} <= set(r.stats)


def test_conley_keeps_the_fits_notes():
    """The rows the fit left out (a missing x, counted by pandas here) were said by fit and dropped by conley, which
    returned its own note only."""
    rng = np.random.default_rng(1)
    n = 60
    df = pd.DataFrame({"city_code": np.arange(n).astype(str), "year": 2010, "x": rng.normal(size=n)})
    df["y"] = 1 + 0.5 * df["x"] + rng.normal(size=n)
    df.loc[[4, 9, 30], "x"] = np.nan
    r = conley(df, "y ~ x", cutoff_km=100, cities=_cities(n))
    k = int(df["x"].isna().sum())
    assert f"{k} observations with a missing value left out (x: {k}), as fixest leaves them out." in r.notes
    assert r.notes[0].startswith("Conley (1999) standard errors") and r.nobs == n - k


def test_the_few_clusters_warning_of_a_wild_bootstrap_fit_does_not_ask_for_it():
    """With fewer than 40 clusters the fit warned '… use the wild cluster bootstrap' beside the wild cluster
    bootstrap's own p-value: advice to do what was done. Under --inference wild it says to read the bootstrap's
    p-value and CI; a plain fit keeps the advice."""
    from citynet.analysis.estimators import fit
    from citynet.analysis.inference import fit_with_inference

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": np.repeat(np.arange(12), 10), "x": rng.normal(size=120)})
    df["y"] = 0.5 * df["x"] + rng.normal(size=120) + df["g"] * 0.1
    wild = fit_with_inference(df, "y ~ x", "wild:99", cluster="g")
    plain = fit(df, "y ~ x", vcov="cluster:g")
    few = [n for n in wild.notes if n.startswith("Warning: only 12 clusters")]
    assert len(few) == 1 and "read the wild cluster bootstrap's p-value and CI" in few[0], wild.notes
    assert any("use the wild cluster bootstrap" in n for n in plain.notes), plain.notes


def test_an_expression_among_the_regressors_is_one_message_with_its_column_form():
    """fuzz_analysis seed 9901 (fit_valid: 'collab_degree ~ … + C(region) + … | year --inference wild:19'): the message
    was "terms ['C(region)'] are not plain panel columns", its fix a SPEC's [panel_options] derive — a key that
    --formula has not. A grouping is a fixed effect after '|'; any expression may be derived in a SPEC."""
    df = _small_panel().assign(region=lambda d: np.where(d["city_code"] < 5, "e", "w"))
    for inference in ("wild:9", "ri:9"):
        with pytest.raises(AnalysisError) as e:
            fit_with_inference(df, "y ~ x + C(region) | year", inference, param="x")
        assert e.value.message == ("wild bootstrap, randomization inference and Conley SEs take panel columns as "
                                   "regressors: C(region) is an expression")
        assert e.value.fix.startswith("absorb region as a fixed effect after '|' (… | city_code + year + region), or ")
    with pytest.raises(AnalysisError) as e:
        fit_with_inference(df, "y ~ x + np.exp(z) | year", "wild:9", param="x")
    assert e.value.message.endswith(": np.exp(z) is an expression")
    assert e.value.fix.startswith("use columns the panel has or derives (ln_X = ln(1+X), l1_X, f1_X)")
    assert fit_with_inference(df, "y ~ x | year + region", "wild:9", param="x").nobs == len(df)
