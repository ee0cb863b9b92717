"""DID, event study, placebo, PSM-DID, Callaway–Sant'Anna, Gardner; planted-effect recovery; tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.did import callaway_santanna, did, event_study, gardner_did, placebo, psm_did
from citynet.analysis.estimators import fit, gravity
from citynet.analysis.figures import event_study_plot, placebo_plot
from citynet.analysis.results import FitResult
from citynet.analysis.tables import regression_table


def staggered(n_city=120, years=range(2006, 2016), seed=0, effect=0.5, dynamic=0.0, het=False, never_share=0.4):
    """y = a_i + g_t + τ_{g}(t−g) D + e; cohorts 2009/2011/2013 and never-treated."""
    rng = np.random.default_rng(seed)
    years = np.array(list(years))
    cohorts = rng.choice([2009.0, 2011.0, 2013.0, np.nan], size=n_city,
                         p=[(1 - never_share) / 3] * 3 + [never_share])
    codes = [f"{100000 + i}" for i in range(n_city)]
    df = pd.DataFrame({"city_code": np.repeat(codes, len(years)), "year": np.tile(years, n_city)})
    g = np.repeat(cohorts, len(years))
    a = np.repeat(rng.normal(size=n_city), len(years))
    df["x"] = rng.normal(size=len(df)) + 0.3 * a
    e_t = df["year"] - g
    D = (df["year"] >= g).astype(float).to_numpy()
    tau = effect + dynamic * np.where(D > 0, e_t, 0)
    if het:
        tau = tau * np.where(g == 2009, 2.0, np.where(g == 2011, 1.0, 0.3))
    df["y"] = a + 0.1 * (df["year"] - 2006) + 0.5 * df["x"] + tau * D + rng.normal(size=len(df)) * 0.5
    df["low_carbon"] = D.astype(int)
    df["low_carbon_year"] = g
    df["true_tau"] = tau * D
    return df


def test_did_recovers_effect_and_event_study_flat_pre():
    df = staggered()
    r = did(df, "y", "low_carbon", ["x"])
    assert abs(r.params["low_carbon"] - 0.5) < 4 * r.se["low_carbon"]
    es = event_study(df, "y", "low_carbon", controls=["x"], leads=3, lags=3)
    c = es.coefficients().set_index("term")
    assert "pre_1" in c.index and c.loc["pre_1", "coef"] == 0
    assert {"pre_3", "pre_2", "current", "post_1", "post_3"} <= set(c.index)
    assert all(abs(c.loc[t, "coef"]) < 0.25 for t in ("pre_3", "pre_2"))
    assert abs(c.loc["post_2", "coef"] - 0.5) < 0.25


def test_event_study_bins_end_points():
    df = staggered(dynamic=0.1, effect=0.2)
    es = event_study(df, "y", "low_carbon", leads=2, lags=2)
    # post_2 collects all k >= 2: its coefficient is a weighted mean of τ(k) for k >= 2, so > τ(2)
    c = es.coefficients().set_index("term")
    assert c.loc["post_2", "coef"] > 0.2 + 0.1 * 2 - 0.1


def test_placebo_distribution_centred_and_real_outside(tmp_path):
    df = staggered(effect=0.6)
    pl = placebo(df, "y", "low_carbon", controls=["x"], n=200, seed=1)
    assert abs(pl.draws.mean()) < 0.05
    assert pl.pvalue < 0.02
    # one placebo draw equals a direct TWFE fit on the same reassignment (FWL exactness)
    assert pl.estimate == pytest.approx(did(df, "y", "low_carbon", ["x"]).params["low_carbon"], rel=1e-8)
    p = placebo_plot(pl, tmp_path / "placebo.png")
    assert p.stat().st_size > 1000


def test_placebo_draw_equals_twfe_on_reassigned_data():
    """The FWL β̂ of a draw is the TWFE coefficient on that reassignment."""
    df = staggered(n_city=40)
    pl = placebo(df, "y", "low_carbon", n=1, seed=3)
    rng = np.random.default_rng(3)
    units = df["city_code"].unique()
    per_unit = df.groupby("city_code", sort=False)["low_carbon_year"].first().reindex(units)
    ty = per_unit.dropna().to_numpy()
    chosen = rng.choice(len(units), size=len(ty), replace=False)
    gy = np.full(len(units), np.inf)
    gy[chosen] = rng.permutation(ty)
    d2 = df.assign(fake=(df["year"].to_numpy() >= gy[pd.Index(units).get_indexer(df["city_code"])]).astype(int))
    ref = fit(d2, "y ~ fake | city_code + year").params["fake"]
    assert pl.draws[0] == pytest.approx(ref, rel=1e-6)


def test_psm_did_balance_improves():
    df = staggered(n_city=200, seed=4)
    rng = np.random.default_rng(5)
    # treated cities are richer: selection on an observable
    rich = df.groupby("city_code")["low_carbon_year"].first().notna()
    z = df["city_code"].map(rich).astype(float) * 0.8 + rng.normal(size=len(df)) * 0.5
    df["gdp"] = z + 0.2 * np.repeat(rng.normal(size=200), 10)
    df["pop"] = rng.normal(size=len(df))
    out = psm_did(df, "y", ["gdp", "pop"], "low_carbon", caliper=0.5)
    assert out.balance.loc["gdp", "bias_after"] < out.balance.loc["gdp", "bias_before"]
    assert len(out.matched_units) == out.matched_units["control"].nunique()  # without replacement
    assert "low_carbon" in out.result.params.index


def test_callaway_santanna_unbiased_where_twfe_is_biased():
    """Heterogeneous, dynamic effects: TWFE is biased; CS simple ATT recovers the truth."""
    df = staggered(n_city=300, seed=6, effect=0.3, dynamic=0.3, het=True, never_share=0.3)
    truth = df.loc[df["low_carbon"] == 1, "true_tau"].mean()  # ATT averaged over treated cells
    twfe = did(df, "y", "low_carbon").params["low_carbon"]
    cs = callaway_santanna(df, "y", "low_carbon")
    boot = callaway_santanna(df, "y", "low_carbon", se="bootstrap", n_boot=60, seed=1)
    assert boot.simple.params["ATT"] == cs.simple.params["ATT"] and len(boot.boot) == 60
    assert 0.6 < boot.simple.se["ATT"] / cs.simple.se["ATT"] < 1.6  # two conventions, one sampling s.d.
    # simple aggregation weights cells by group size = the mean over treated cell-units in a balanced panel
    assert abs(cs.simple.params["ATT"] - truth) < 3 * cs.simple.se["ATT"]
    assert abs(cs.simple.params["ATT"] - truth) < 0.2
    assert abs(twfe - truth) > 0.5  # TWFE is far off (forbidden comparisons with early cohorts)
    cs_ny = callaway_santanna(df, "y", "low_carbon", control="notyet")
    assert abs(cs_ny.simple.params["ATT"] - truth) < 0.25
    assert "post_1" in cs.dynamic.params.index
    g2 = gardner_did(df, "y", "low_carbon")
    assert abs(g2.params["low_carbon"] - truth) < 0.2
    g2b = gardner_did(df, "y", "low_carbon", se="bootstrap", n_boot=40)
    assert g2b.params["low_carbon"] == g2.params["low_carbon"] and g2b.vcov == "bootstrap"
    assert 0.6 < g2b.se["low_carbon"] / g2.se["low_carbon"] < 1.6


def test_event_study_plot_and_table_outputs(tmp_path):
    df = staggered()
    es = event_study(df, "y", "low_carbon", controls=["x"])
    p = event_study_plot(es, tmp_path / "es.png")
    assert p.stat().st_size > 1000
    r1 = did(df, "y", "low_carbon", name="(1)")
    r2 = did(df, "y", "low_carbon", ["x"], vcov="hc1", name="(2)")
    spatial_like = FitResult(depvar="y", params=pd.Series({"x": 0.5, "rho": 0.2}), se=pd.Series({"x": 0.1, "rho": 0.05}),
                             nobs=1000, model="sdm", fixed_effects=["city"], vcov="ml_information",
                             stats={"rho": 0.2}, r2=0.4, name="SDM")
    t = regression_table([r1, r2, spatial_like], labels={"low_carbon": "DID", "y": "ln NP"}, stats=["rho"])
    md = t.to_markdown()
    assert "DID" in md and "City FE" in md and "Year FE" in md and "Adj. R²" in md and "(0." in md
    assert "\\*\\*\\*" in md
    rows = {r[0]: r[1:] for r in t.rows}
    assert rows["Year FE"] == ["Yes", "Yes", "No"]
    assert rows["N"][0] == f"{len(df):,}"
    tex = t.to_latex()
    assert "\\toprule" in tex and "$^{***}$" in tex
    assert t.to_csv().splitlines()[0].startswith(",")
    assert "<table" in t.to_html()
    paths = t.write(str(tmp_path / "tab"))
    assert len(paths) == 4


# ----------------------------------------------------------------------------- planted recovery
def _policy_panel(rng, n_city=150, years=np.arange(2008, 2018), beta=0.3):
    cohort = rng.choice([2010, 2012, 2015, np.inf], size=n_city, p=[0.2, 0.2, 0.2, 0.4])
    a = rng.normal(1.5, 1.0, n_city)
    g = rng.normal(0, 0.2, len(years))
    D = (years[None, :] >= cohort[:, None]).astype(float)
    mu = np.exp(a[:, None] + g[None, :] + beta * D)
    # overdispersed counts (negative binomial, mean mu): PPML is consistent, the clustered SE covers
    y = rng.negative_binomial(5, 5 / (5 + mu))
    return pd.DataFrame({"city_code": np.repeat(np.arange(n_city), len(years)).astype(str),
                         "year": np.tile(years, n_city), "green_patents": y.ravel(), "low_carbon": D.ravel()})


def _dyad_panel(rng, n=70, years=(2016, 2017, 2018), decay=1.0):
    xy = rng.uniform(0, 1500, size=(n, 2))
    size = rng.normal(0, 0.7, n)
    ii, jj = np.triu_indices(n, 1)
    dist = np.hypot(*(xy[ii] - xy[jj]).T) + 20
    rows = []
    for t, gt in zip(years, rng.normal(0, 0.1, len(years)), strict=True):
        mu = np.exp(2 + size[ii] + size[jj] + gt - decay * (np.log(dist) - 6))
        rows.append(pd.DataFrame({"city_a": ii, "city_b": jj, "year": t, "log_distance": np.log(dist),
                                  "collab": rng.poisson(mu)}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.slow
def test_planted_effects_covered_in_17_of_20_draws():
    cover_policy = cover_decay = 0
    for s in range(20):
        rng = np.random.default_rng(1000 + s)
        r = fit(_policy_panel(rng), "green_patents ~ low_carbon | city_code + year", model="ppml",
                vcov={"CRV1": "city_code"})
        lo, hi = r.conf_int().loc["low_carbon"]
        cover_policy += lo <= 0.3 <= hi
        g = gravity(_dyad_panel(rng), "collab", ["log_distance"])
        lo, hi = g.conf_int().loc["log_distance"]
        cover_decay += lo <= -1.0 <= hi
    assert cover_policy >= 17, cover_policy
    assert cover_decay >= 17, cover_decay


def test_gardner_is_deterministic_across_hash_seeds():
    """The same two-stage DID with a control in two processes with different PYTHONHASHSEED: the repr of
    the estimate is identical (the first stage is an exact solve, not an iterative one)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    fixture = Path(__file__).parent / "references" / "data" / "synth_city_year.csv"
    code = ("import pandas as pd; from citynet.analysis.did import gardner_did; "
            f"cy = pd.read_csv({str(fixture)!r}, dtype={{'city_code': str}}); "
            "r = gardner_did(cy, 'ln_green', 'low_carbon', controls=['x1']); "
            "print(repr(float(r.params['low_carbon'])), repr(float(r.se['low_carbon'])))")
    outs = []
    for seed in ("0", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.append(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    assert outs[0] == outs[1], outs
