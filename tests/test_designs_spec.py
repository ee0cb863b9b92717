"""The designs' spec kinds end to end on a workspace, the LM/LR table against spreg, and the bad-input
messages (unknown kind, missing variable, chain that does not connect)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import spreg
from citynet.analysis import spatial as S
from citynet.analysis.spatial.synth import simulate_sdm_panel
from citynet.analysis.spatial_tests import spatial_test_table, spatial_tests
from citynet.analysis.spec import run_spec
from citynet.etl.cities import city_set

from citynet.errors import AnalysisError
from citynet.workspace import Workspace

ALL = city_set().cities["city_code"].tolist()


def _workspace(tmp_path, seed=0, years=range(2010, 2018)):
    rng = np.random.default_rng(seed)
    codes = ALL
    n = len(codes)
    w = S.inverse_distance()
    inv = np.linalg.inv(np.eye(n) - 0.3 * w.matrix)
    eta = rng.normal(0, 0.5, n)
    cohort = rng.choice([2012, 2014, 0], n)
    rows = []
    for t in years:
        z1, z2 = rng.normal(size=(2, n))
        u = rng.normal(size=n)
        x = rng.normal(0, 1, n)
        endo = z1 + 0.5 * z2 + 0.5 * u + rng.normal(size=n)
        med = 0.5 * x + eta + rng.normal(size=n)
        lny = inv @ (x + 0.4 * med + 0.5 * endo + eta + 0.3 * u)
        d = ((cohort > 0) & (t >= cohort)).astype(int)
        rows.append(pd.DataFrame({"city_code": codes, "year": t, "x": x, "lny": lny + 0.5 * d, "med": med,
                                  "endo": endo, "z1": z1, "z2": z2, "d": d}))
    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.metrics.mkdir()
    pd.concat(rows).to_parquet(ws.panel("city-year"), index=False)
    return ws


def test_lr_rows_equal_spreg_panel_fe_likelihoods():
    """LR SDM vs SAR with the direct likelihood (correction='none') = 2(ℓ_SDM − ℓ_SAR) from spreg's
    Panel_FE_Lag on [X, WX] and on X; LM rows = spatial.lm_tests."""
    codes = ALL[:60]
    w = S.knn(codes=codes, k=5)
    df = simulate_sdm_panel(w, 6, [1.0], [0.6], 0.3, seed=4)
    t = spatial_tests(df, "y", ["x1"], w, fe="city", correction="none").set_index("test")
    y = df.pivot(index="year", columns="city_code", values="y")[w.codes].to_numpy()
    X = df.pivot(index="year", columns="city_code", values="x1")[w.codes].to_numpy()
    WX = X @ w.matrix.T
    lw = w.to_libpysal()
    sdm = spreg.Panel_FE_Lag(y.reshape(-1, 1), np.column_stack([X.ravel(), WX.ravel()]), lw)
    sar = spreg.Panel_FE_Lag(y.reshape(-1, 1), X.reshape(-1, 1), lw)
    assert t.loc["LR: SDM vs SAR", "stat"] == pytest.approx(2 * (sdm.logll - sar.logll), rel=1e-4, abs=1e-4)
    sem = spreg.Panel_FE_Error(y.reshape(-1, 1), X.reshape(-1, 1), lw)
    assert t.loc["LR: SDM vs SEM", "stat"] == pytest.approx(2 * (sdm.logll - sem.logll), rel=1e-4, abs=1e-4)
    lm = S.lm_tests(df, "y", ["x1"], w, fe="city")
    assert t.loc["Robust LM-error", "stat"] == lm.loc["robust_LM_error", "stat"]
    md = spatial_test_table(t.reset_index()).to_markdown()
    assert "LR: SDM vs SEM" in md and "Statistic" in md


def test_design_kinds_from_a_spec(tmp_path):
    ws = _workspace(tmp_path)
    spec = {
        "spec": {"title": "designs"},
        "tables": [
            {"name": "tests", "models": [{"name": "spatial_tests", "kind": "spatial_tests", "y": "lny", "x": ["x"],
                                          "time_effects": True}]},
            {"name": "iv", "models": [{"name": "2SLS", "kind": "iv", "y": "lny", "endog": ["endo"],
                                       "instruments": ["z1", "z2"], "exog": ["x"]}]},
            {"name": "med", "models": [{"name": "mediation", "kind": "mediation", "chain": ["x", "med", "lny"],
                                        "reps": 99}]},
            {"name": "thr", "models": [{"name": "TH", "kind": "threshold", "y": "lny", "x": ["x"], "q": "z1",
                                        "n_thresholds": 1, "reps": 19, "grid": 40}]},
            {"name": "psm", "models": [{"name": "PSM", "kind": "psm", "y": "lny", "treat": "d", "covariates": ["x"],
                                        "k": 2}]},
            {"name": "sa", "models": [{"name": "SA", "kind": "sunab", "y": "lny", "treat": "d", "controls": ["x"]}],
             "stats": ["att"]},
            {"name": "wild", "models": [{"name": "(1)", "formula": "lny ~ x | city_code + year",
                                         "inference": "wild:199"},
                                        {"name": "(2)", "formula": "lny ~ x | city_code + year", "vcov": "conley:300"}],
             "stats": ["wild_pvalue", "wild_ci_low", "wild_ci_high"]},
        ],
    }
    out = run_spec(spec, ws)
    tests = json.loads((ws.results / "spatial_tests.json").read_text())
    assert [r["test"] for r in tests][:4] == ["LM-lag", "Robust LM-lag", "LM-error", "Robust LM-error"]
    assert (ws.results / "spatial_tests.md").exists() and (ws.results / "mediation.md").exists()
    assert (ws.results / "2SLS_first_stage.md").exists()
    iv = out.results["iv"][0]
    assert abs(iv.params["endo"] - 0.5) < 0.2  # planted (through the spatial multiplier ≈ 0.5–0.6)
    assert (ws.results / "TH_lr.png").exists() and (ws.results / "TH_tests.md").exists()
    assert (ws.results / "PSM_balance.md").exists() and out.results["psm"][0].stats["k"] == 2
    sa = out.results["sa"][0]
    assert abs(sa.stats["att"] - 0.5) < 4 * sa.stats["att_se"]
    assert (ws.results / "SA.png").exists() and (ws.results / "SA_cells.csv").exists()
    wild = out.results["wild"]
    assert wild[0].stats["wild_ci_low"] < wild[0].params["x"] < wild[0].stats["wild_ci_high"]
    assert wild[1].vcov.startswith("conley")
    assert "Wild" in out.tables["wild"].to_markdown()


@pytest.mark.parametrize("model,match", [
    ({"kind": "tobit_xyz"}, "unknown kind"),
    ({"kind": "event-study"}, "unknown kind 'event-study' \\(did you mean 'event_study'\\?\\)"),
    ({"kind": "Fit"}, "did you mean 'fit'"),
    ({"kind": "iv", "y": "lny", "endog": ["nope"], "instruments": ["z1"]}, "nope"),
    ({"kind": "mediation", "paths": [["x", "med"], ["endo", "lny"]]}, "do not connect"),
    ({"kind": "spatial_tests", "y": "lny", "x": ["missing_col"]}, "missing_col"),
    ({"formula": "lny ~ x", "inference": "wild:lots"}, "cannot read inference"),
    ({"kind": "threshold", "y": "lny", "x": ["x"], "q": "d"}, "distinct value"),
    ({"kind": "threshold", "y": "lny", "x": "endo", "q": "d"}, "distinct value"),  # one name, not its letters
    ({"kind": "cs_cov", "y": "lny", "covariates": "x", "method": "aipw"}, "unknown CS method"),
    # a missing key or a value of the wrong shape (each a KeyError or TypeError traceback inside the estimator)
    ({"kind": "did", "treat": "d"}, r"\(kind did\) has no 'y'"),
    ({"kind": "cs", "treat": "d"}, r"\(kind cs\) has no 'y'"),
    ({"kind": "psm_did", "y": "lny"}, "has no 'covariates'"),
    ({"kind": "sdm", "y": "lny"}, "has no 'x'"),
    ({"kind": "3sls"}, "has no 'equations'"),
    ({"kind": "event_study", "y": ["lny"]}, r'y = \["lny"\] is not a text'),
    ({"kind": "cs", "y": 5}, "y = 5 is not a text"),
    ({"kind": "event_study", "y": "lny", "leads": "3"}, 'leads = "3" is not a whole number'),
    ({"kind": "event_study", "y": "lny", "lags": -2}, "lags = -2 is not a whole number of at least 0"),
    ({"kind": "psm", "y": "lny", "covariates": ["x"], "k": 0}, "k = 0 is not a whole number of at least 1"),
    ({"kind": "psm", "y": "lny", "covariates": [1]}, "covariates = \\[1\\] is not a list of column names"),
    ({"kind": "tobit", "y": "lny", "x": "x", "left": "zero"}, 'left = "zero" is not a number'),
    ({"kind": "psm", "y": "lny", "covariates": ["x"], "replace": "yes"}, 'replace = "yes" is not true or false'),
    # a sample that keeps no row (pyfixest's Rust core aborted the whole process under Sun–Abraham), reversed years
    ({"kind": "sunab", "y": "lny", "treat": "d", "sample": {"years": [2030, 2031]}}, "keeps no row"),
    ({"kind": "honest", "y": "lny", "treat": "d", "sample": "year > 2030"}, "keeps no row"),
    ({"kind": "did", "y": "lny", "treat": "d", "sample": {"years": [2012, 2010]}}, r"is not \[first, last\]"),
    ({"kind": "honest", "y": "lny", "treat": "d", "Mbar": []}, r"Mbar = \[\] is not a list of numbers"),
    ({"kind": "honest", "y": "lny", "treat": "d", "M": [0, -1]}, r"M = \[0, -1\] is not a list of numbers"),
    # a vcov that is not a text, or clusters by a column the panel lacks (a KeyError inside Sun–Abraham)
    # a W whose k is not a count of neighbours (int() of the text, or knn's own bound, inside the model's run)
    ({"kind": "moran", "var": "lny", "w": "knn:x"}, "k = 'x' is not a whole number of at least 1"),
    ({"kind": "moran", "var": "lny", "w": "knn:0"}, "k = '0' is not a whole number of at least 1"),
    ({"kind": "moran", "var": "lny", "w": "knn:5000"}, "W 'knn:5000': k must be between 1 and"),
    # an island under contiguity: its own message and fix (queen:nearest), not "cannot be estimated on this sample"
    ({"kind": "moran", "var": "lny", "w": "queen"}, r"^\d+ cities have no neighbour under W 'queen'.*海口市"),
    ({"kind": "sunab", "y": "lny", "treat": "d", "vcov": 3}, "vcov = 3 is not a text"),
    ({"kind": "sunab", "y": "lny", "treat": "d", "vcov": "cluster:nope"}, "vcov 'cluster:nope' names 'nope'"),
])
def test_bad_design_specs_give_one_message(tmp_path, model, match):
    ws = _workspace(tmp_path, years=range(2010, 2013))
    with pytest.raises(AnalysisError, match=match) as e:
        run_spec({"models": [{"name": "m", **model}]}, ws)
    assert e.value.fix
