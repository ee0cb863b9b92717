"""Hansen panel threshold: SSR surfaces against brute-force pyfixest fits of the regime design (single and
double, bootstrap-like outcome columns), LR confidence sets, planted thresholds, tables, plot, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from citynet.analysis.threshold import (
    _grid,
    _search,
    _Within,
    lr_critical,
    lr_plot,
    panel_threshold,
    threshold_tables,
)

from citynet.errors import AnalysisError


def _panel(N=120, T=8, seed=0, cuts=(3.0, 7.0), slopes=(0.2, 1.0, 1.8)):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2006, 2006 + T), N)})
    n = len(df)
    df["x"], df["z"] = rng.normal(size=(2, n))
    df["q"] = rng.uniform(0, 10, n)
    slope = np.select([df["q"] <= cuts[0], df["q"] <= cuts[1]], slopes[:2], slopes[2])
    df["y"] = np.repeat(rng.normal(size=N), T) + slope * df["x"] + 0.3 * df["z"] + rng.normal(size=n)
    return df


def _brute_ssr(df, yname, cuts):
    edges = [-np.inf, *sorted(cuts), np.inf]
    cols = {f"r{i}": df["x"] * ((df["q"] > a) & (df["q"] <= b)) for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))}
    d = df.assign(**cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pf.feols(f"{yname} ~ {' + '.join(cols)} + z | city_code", d)
    return float((np.asarray(f._u_hat) ** 2).sum())


def test_ssr_surface_equals_brute_force_fits():
    df = _panel(N=30, T=5, seed=1)
    cand = _grid(df["q"].to_numpy(), 15, 0.05)
    w = _Within(df, "y", ["x"], "q", ["z"], "city_code", cand)
    rng = np.random.default_rng(0)
    extra = rng.normal(size=(len(df), 2))
    df = df.assign(y1=extra[:, 0], y2=extra[:, 1])
    Y = np.column_stack([w.y, w.dm(extra)])
    S1 = _search(w, Y, trim=0.05)
    S2 = _search(w, Y, fixed=[4], trim=0.05)
    for j in (0, 6, len(cand) - 1):
        for c, yname in enumerate(["y", "y1", "y2"]):
            assert S1[j, c] == pytest.approx(_brute_ssr(df, yname, [cand[j]]), rel=1e-9)
            if j != 4 and np.isfinite(S2[j, c]):
                assert S2[j, c] == pytest.approx(_brute_ssr(df, yname, [cand[4], cand[j]]), rel=1e-9)


def test_planted_double_threshold_recovered_with_lr_sets():
    df = _panel(N=150, T=8, seed=2)
    r = panel_threshold(df, "y", ["x"], "q", ["z"], reps=99, grid=150)
    assert (r.tests["pvalue"] < 0.05).all()
    th = r.thresholds.set_index("threshold")
    for name, true in (("γ1 (double, refined)", 7.0), ("γ2 (double)", 3.0)):
        est = th.loc[name, "estimate"]
        assert abs(est - true) < 0.3
    assert list(r.result.params.index)[:3] == ["x·I(q≤" + f"{min(th['estimate']):.4g})",
                                               f"x·I({min(th['estimate']):.4g}<q≤{max(th['estimate']):.4g})",
                                               f"x·I(q>{max(th['estimate']):.4g})"]
    for b, true in zip(r.result.params.iloc[:3], (0.2, 1.0, 1.8), strict=True):
        assert abs(b - true) < 0.15
    lr = r.lr["single"]
    inside = lr.loc[lr["LR"] <= lr_critical(), "gamma"]
    assert r.thresholds.iloc[0]["ci_low"] <= r.thresholds.iloc[0]["estimate"] <= r.thresholds.iloc[0]["ci_high"]
    assert not inside.empty and lr["LR"].min() == pytest.approx(0.0, abs=1e-9)
    assert lr_critical(0.95) == pytest.approx(7.3523, abs=1e-4)
    again = panel_threshold(df, "y", ["x"], "q", ["z"], reps=99, grid=150)
    assert again.tests.equals(r.tests)


def test_tables_and_plot(tmp_path):
    df = _panel(N=60, T=6, seed=3, cuts=(5.0, 5.0), slopes=(0.0, 1.0, 1.0))
    r = panel_threshold(df, "y", ["x"], "q", [], n_thresholds=1, reps=49, grid=60)
    t1, t2 = threshold_tables(r)
    assert "Single threshold" in t1.to_markdown() and "95% CI" in t2.to_markdown()
    assert abs(r.thresholds.iloc[0]["estimate"] - 5.0) < 0.5
    p = lr_plot(r, tmp_path / "lr.png")
    assert p.stat().st_size > 0


def test_bad_threshold_inputs():
    df = _panel(N=20, T=4)
    with pytest.raises(AnalysisError, match="distinct value") as e:
        panel_threshold(df.assign(q=1.0), "y", ["x"], "q", reps=9)
    assert "varies" in e.value.fix
    with pytest.raises(AnalysisError, match="balanced panel"):
        panel_threshold(df.iloc[1:], "y", ["x"], "q", reps=9)


def test_a_regressor_both_in_x_and_controls_is_one_message():
    """fuzz_analysis seed 9902 (spec_valid cases 2 and 87: the example's threshold model with controls swapped to
    ["l1_collab_degree"], its x): the fit said 'l1_collab_degree is collinear with _thr0, _thr1, _thr2' — the
    regime columns' internal names — and told the user to drop it as a time-invariant city variable. x·1(q ≤ γ) +
    x·1(q > γ) = x: the control is the sum of the regime terms; one message before any grid search."""
    df = _panel(N=20, T=4)
    with pytest.raises(AnalysisError) as e:
        panel_threshold(df, "y", ["x"], "q", controls=["z", "x"], reps=9)
    assert e.value.exit_code == 5
    assert e.value.message.startswith("x is both a regime-dependent regressor (x) and a control")
    assert e.value.fix == "list x in x or in controls, not in both"
