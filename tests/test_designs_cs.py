"""CS with covariates: intercept-only = 2×2 difference of mean changes with its closed-form SE; the
influence functions of the DR, OR and IPW 2×2 estimators equal the numerical Gateaux derivative
(perturbing one unit's weight); aggregations by hand; planted effect under selection on covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.cs_covariates import att_gt_covariates, did_2x2

from citynet.errors import AnalysisError


def _panel(N=300, T=10, seed=0, effect=0.5, select=1.0):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=N)
    x2 = rng.normal(size=N)
    p = 1 / (1 + np.exp(-(select * x1 - 0.5)))
    tr = rng.random(N) < p
    cohort = np.where(tr, rng.choice([2010, 2012, 2014], N), 0)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2006, 2006 + T), N)})
    df["x1"], df["x2"] = np.repeat(x1, T), np.repeat(x2, T)
    c = np.repeat(cohort, T)
    df["d"] = ((c > 0) & (df["year"] >= c)).astype(int)
    trend = 0.2 * df["x1"] * (df["year"] - 2006)
    df["y"] = np.repeat(rng.normal(size=N), T) + trend + effect * df["d"] + rng.normal(size=len(df)) * 0.5
    return df


def test_intercept_only_is_the_difference_of_mean_changes():
    df = _panel(select=0.0)
    r = {m: att_gt_covariates(df, "y", [], treat="d", method=m, bootstrap=False) for m in ("dr", "reg", "ipw")}
    wide = df.pivot(index="city_code", columns="year", values="y")
    g = df[df["d"] == 1].groupby("city_code")["year"].min().reindex(wide.index).fillna(0)
    for row in r["dr"].att_gt.sample(8, random_state=0).itertuples():
        base = row.group - 1 if row.time >= row.group else row.time - 1
        dy = wide[row.time] - wide[base]
        t, c = dy[g == row.group], dy[g == 0]
        assert row.att == pytest.approx(t.mean() - c.mean(), abs=1e-10)
        assert row.se_analytic == pytest.approx(np.sqrt(t.var(ddof=0) / len(t) + c.var(ddof=0) / len(c)), rel=1e-8)
        for m in ("reg", "ipw"):
            other = r[m].att_gt.set_index(["group", "time"]).loc[(row.group, row.time)]
            assert other["att"] == pytest.approx(row.att, abs=1e-9)


@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
def test_influence_function_is_the_gateaux_derivative(method):
    rng = np.random.default_rng(3)
    n = 400
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    D = (rng.random(n) < 1 / (1 + np.exp(-X[:, 1]))).astype(float)
    dy = X @ [0.2, 0.5, -0.3] + 0.7 * D + rng.normal(size=n)
    att, psi = did_2x2(dy, D, X, method)
    eps = 1e-6
    for i in (0, 5, 17, 123):
        w = np.full(n, 1 - eps)
        w[i] += n * eps
        att_e, _ = did_2x2(dy, D, X, method, w=w)
        assert psi[i] == pytest.approx((att_e - att) / eps, rel=1e-3, abs=1e-4)


def test_aggregations_by_hand_and_uniform_band():
    df = _panel(seed=4)
    r = att_gt_covariates(df, "y", ["x1", "x2"], treat="d", reps=499, seed=1)
    tab = r.att_gt
    share = df.groupby("city_code")["d"].max()
    first = df[df["d"] == 1].groupby("city_code")["year"].min()
    pg = {g: (first == g).sum() / len(share) for g in (2010, 2012, 2014)}
    post = tab[tab["time"] >= tab["group"]]
    w = post["group"].map(pg)
    assert r.aggregates["simple"]["att"].iloc[0] == pytest.approx((post["att"] * w).sum() / w.sum(), rel=1e-12)
    e2 = tab[tab["time"] - tab["group"] == 2]
    w2 = e2["group"].map(pg)
    dyn = r.aggregates["dynamic"].set_index("term")
    assert dyn.loc["e=2", "att"] == pytest.approx((e2["att"] * w2).sum() / w2.sum(), rel=1e-12)
    grp = r.aggregates["group"].set_index("term")
    assert grp.loc["g=2012", "att"] == pytest.approx(post[post["group"] == 2012]["att"].mean(), rel=1e-12)
    assert r.crit > 1.96 and (tab["ci_high"] - tab["ci_low"] > 0).all()
    assert (r.aggregates["simple"]["se"] > 0).all()


def test_planted_effect_with_selection_on_covariates():
    for seed in range(3):
        df = _panel(seed=20 + seed, select=1.5)
        naive = att_gt_covariates(df, "y", [], treat="d", bootstrap=False).aggregates["simple"].iloc[0]
        assert abs(naive["att"] - 0.5) > 4 * naive["se"]  # the unconditional design is biased here
        for m in ("dr", "reg", "ipw"):
            a = att_gt_covariates(df, "y", ["x1", "x2"], treat="d", method=m, bootstrap=False).aggregates["simple"]
            assert abs(a["att"].iloc[0] - 0.5) < 4 * a["se"].iloc[0], (m, a)


def test_bad_method_and_no_never_treated():
    df = _panel(N=60)
    with pytest.raises(AnalysisError, match="unknown CS method"):
        att_gt_covariates(df, "y", ["x1"], treat="d", method="gmm")
    df2 = df[df.groupby("city_code")["d"].transform("max") == 1]
    with pytest.raises(AnalysisError, match="never-treated") as e:
        att_gt_covariates(df2, "y", ["x1"], treat="d")
    assert "notyet" in e.value.fix
