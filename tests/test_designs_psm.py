"""PSM-DID: neighbours against scikit-learn, greedy matching without replacement by hand, matching
weights and balance by hand, caliper, and a planted effect under selection on observables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.psm import balance_table, match, psm_did
from sklearn.neighbors import NearestNeighbors

from citynet.errors import AnalysisError


def test_k_neighbours_with_replacement_equal_sklearn():
    rng = np.random.default_rng(0)
    logit = pd.Series(rng.normal(size=60), index=[f"c{i:02d}" for i in range(60)])
    d = pd.Series((rng.random(60) < 0.3).astype(int), index=logit.index)
    pairs = match(logit, d, k=3, replace=True)
    ctrl = logit[d == 0].sort_index()
    nn = NearestNeighbors(n_neighbors=3).fit(ctrl.to_numpy()[:, None])
    dist, idx = nn.kneighbors(logit[d == 1].sort_index().to_numpy()[:, None])
    for i, u in enumerate(logit[d == 1].sort_index().index):
        mine = pairs[pairs["treated"] == u]
        assert list(mine["control"]) == list(ctrl.index[idx[i]])
        assert np.allclose(mine["distance"], dist[i])


def test_greedy_matching_without_replacement_by_hand():
    logit = pd.Series({"t1": 0.9, "t2": 0.5, "a": 0.85, "b": 0.55, "c": 0.0, "e": 0.52})
    d = pd.Series({"t1": 1, "t2": 1, "a": 0, "b": 0, "c": 0, "e": 0})
    # t1 (highest) takes a, then b (0.9-0.55=.35 < 0.9-.52=.38); t2 is left with e, c
    p = match(logit, d, k=2, replace=False)
    assert list(map(tuple, p[["treated", "control"]].to_numpy())) == [("t1", "a"), ("t1", "b"), ("t2", "e"), ("t2", "c")]
    p = match(logit, d, k=2, replace=False, caliper=0.1)
    assert list(map(tuple, p[["treated", "control"]].to_numpy())) == [("t1", "a"), ("t2", "e"), ("t2", "b")]
    cal = match(logit, d, k=1, replace=False, caliper=0.1)
    assert list(map(tuple, cal[["treated", "control"]].to_numpy())) == [("t1", "a"), ("t2", "e")]


def _panel(N=300, T=10, effect=0.5, seed=0):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=N)
    x2 = rng.normal(size=N)
    p = 1 / (1 + np.exp(-(-1 + 1.2 * x1 - 0.8 * x2)))
    tr = rng.random(N) < p
    cohort = np.where(tr, rng.choice([2011, 2013], N), 0)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2006, 2006 + T), N)})
    df["x1"] = np.repeat(x1, T) + 0.1 * rng.normal(size=len(df))
    df["x2"] = np.repeat(x2, T) + 0.1 * rng.normal(size=len(df))
    df["d"] = ((np.repeat(cohort, T) > 0) & (df["year"] >= np.repeat(cohort, T))).astype(int)
    trend = np.repeat(0.15 * x1 - 0.1 * x2, T) * (df["year"] - 2006)  # selection on observables in trends
    df["y"] = np.repeat(rng.normal(size=N), T) + trend + effect * df["d"] + rng.normal(size=len(df)) * 0.5
    return df


def test_matching_weights_and_balance_by_hand():
    df = _panel(N=120, seed=1)
    r = psm_did(df, "y", ["x1", "x2"], treat="d", k=2, replace=True)
    kk = r.matches.groupby("treated")["control"].transform("size")
    by_hand = (1 / kk).groupby(r.matches["control"]).sum()
    assert np.allclose(r.weights[by_hand.index].to_numpy(), by_hand.to_numpy())
    pre = df[df["year"] < 2011].groupby("city_code")[["x1", "x2"]].mean()
    treated = r.weights.index[(r.weights == 1) & r.weights.index.isin(r.matches["treated"])]
    mc = (pre.loc[by_hand.index, "x1"] * by_hand).sum() / by_hand.sum()
    assert r.balance.loc["x1", "mean_control_matched"] == pytest.approx(mc, rel=1e-12)
    assert r.balance.loc["x1", "mean_treated_matched"] == pytest.approx(pre.loc[treated, "x1"].mean(), rel=1e-12)
    assert (r.balance["bias_matched"].abs() < r.balance["bias_unmatched"].abs()).all()
    csv = balance_table(r).to_csv()
    assert "Unmatched" in csv and "%reduct |bias|" in csv


@pytest.mark.parametrize("replace,weighted,k", [(True, True, 3), (False, False, 1)])
def test_planted_effect_psm_closer_than_naive(replace, weighted, k):
    """Treatment selected on x1, x2, which also drive the outcome's trend: the naive TWFE DID is biased,
    matching on x removes most of the bias."""
    from citynet.analysis.estimators import fit

    errs_psm, errs_naive = [], []
    for seed in range(3):
        df = _panel(seed=10 + seed)
        r = psm_did(df, "y", ["x1", "x2"], treat="d", controls=[], k=k, caliper=0.2, replace=replace,
                    weighted=weighted)
        naive = fit(df, "y ~ d | city_code + year")
        errs_psm.append(r.result.params["d"] - 0.5)
        errs_naive.append(naive.params["d"] - 0.5)
    assert abs(np.mean(errs_psm)) < 0.5 * abs(np.mean(errs_naive))


def test_caliper_too_narrow_is_one_message():
    df = _panel(N=60, seed=2)
    with pytest.raises(AnalysisError, match="within the caliper") as e:
        psm_did(df, "y", ["x1", "x2"], treat="d", caliper=1e-9)
    assert "widen caliper" in e.value.fix


def test_time_invariant_covariate_is_matched_on_not_a_did_control():
    """Matching on a city attribute constant over time (tier_high-like) stopped the DID as collinear with the
    city fixed effects; it is matched on, left out of the DID with a note, in both PSM estimators. The DID's
    coefficient equals the DID on the matched sample without it (pyfixest directly)."""
    import pyfixest as pf
    from citynet.analysis.did import psm_did as psm_did_nn

    df = _panel(N=120, seed=4)
    df["big"] = (df.groupby("city_code")["x1"].transform("mean") > 0).astype(int)
    r = psm_did(df, "y", ["x1", "big"], treat="d", k=1, replace=False)
    assert list(r.result.params.index) == ["d", "x1"]
    assert any("big matched on; constant within each city" in n for n in r.result.notes)
    matched = df[df["city_code"].isin(set(r.matches["treated"]) | set(r.matches["control"]))]
    direct = pf.feols("y ~ d + x1 | city_code + year", matched, vcov={"CRV1": "city_code"})
    assert r.result.params["d"] == pytest.approx(direct.coef()["d"], rel=1e-10)
    nn = psm_did_nn(df, "y", ["x1", "big"], treat="d")
    assert list(nn.result.params.index) == ["d", "x1"] and any("big matched on" in n for n in nn.result.notes)


def test_text_covariate_and_continuous_treatment_are_one_message():
    from citynet.analysis.did import event_study

    df = _panel(N=60, seed=5).assign(region=lambda d: np.where(d["city_code"] % 2, "east", "west"))
    with pytest.raises(AnalysisError, match="the PSM covariate 'region' is text"):
        psm_did(df, "y", ["x1", "region"], treat="d")
    with pytest.raises(AnalysisError, match="the treatment 'x1' is not a 0/1 indicator"):
        event_study(df, "y", treat="x1")
