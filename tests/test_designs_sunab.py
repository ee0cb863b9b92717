"""Sun–Abraham IW event study: exact on a noise-free panel (closed form), δ_{g,l} equal to pyfixest's
saturated event study, its period aggregation, a planted dynamic effect, and the last-cohort rule."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from citynet.analysis.sunab import sun_abraham


def _panel(N=90, T=10, noise=0.5, seed=0, never=True):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(N), T), "year": np.tile(np.arange(2006, 2006 + T), N)})
    choices = [2009, 2011, 2013, 0] if never else [2009, 2011, 2013]
    coh = np.repeat(rng.choice(choices, N), T)
    df["g"] = coh
    df["d"] = ((coh > 0) & (df["year"] >= coh)).astype(int)
    rel = df["year"] - coh
    slope = np.select([coh == 2009, coh == 2011], [0.5, 1.0], 1.5)
    df["tau"] = np.where(df["d"] == 1, (rel + 1) * slope, 0.0)
    df["y"] = np.repeat(rng.normal(size=N), T) + 0.1 * (df["year"] - 2006) ** 1.5 + df["tau"] \
        + noise * rng.normal(size=len(df))
    return df


def test_noise_free_panel_recovers_cells_and_iw_weights_exactly():
    df = _panel(noise=0.0)
    r = sun_abraham(df, "y", treat="d")
    truth = df[df["d"] == 1].groupby(["g", df["year"] - df["g"]])["tau"].first()
    for c in r.cells[r.cells["rel_time"] >= 0].itertuples():
        assert c.delta == pytest.approx(truth.loc[(int(c.cohort), int(c.rel_time))], abs=1e-8)
    pre = r.cells[r.cells["rel_time"] < 0]
    assert np.allclose(pre["delta"], 0, atol=1e-8)
    for lval in (0, 2, 4):
        cell = df[(df["d"] == 1) & (df["year"] - df["g"] == lval)]
        assert r.result.params[f"l={lval}"] == pytest.approx(cell["tau"].mean(), abs=1e-8)  # n-share weights
    post = df[df["d"] == 1]
    assert r.result.stats["att"] == pytest.approx(post["tau"].mean(), abs=1e-8)


def test_cells_and_period_aggregates_equal_pyfixest_saturated_event_study():
    df = _panel(seed=2)
    r = sun_abraham(df, "y", treat="d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.event_study(df, yname="y", idname="city_code", tname="year", gname="g", estimator="saturated",
                             cluster="city_code")
        coef = fit.coef()
        agg = fit.aggregate()
    for c in r.cells.itertuples():
        key = f"rel_time::{float(c.rel_time)}:first_treated_period::{int(c.cohort)}"
        assert c.delta == pytest.approx(coef[key], rel=1e-7, abs=1e-9)
    for lval in (0, 1, 3):
        assert r.result.params[f"l={lval}"] == pytest.approx(float(agg.loc[lval, "Estimate"]), rel=1e-7)
        assert r.result.se[f"l={lval}"] == pytest.approx(float(agg.loc[lval, "Std. Error"]), rel=1e-6)


def test_planted_dynamic_effect_and_window():
    df = _panel(N=200, seed=4)
    r = sun_abraham(df, "y", treat="d", leads=3, lags=4)
    assert list(r.result.params.index) == ["l=-3", "l=-2", "l=0", "l=1", "l=2", "l=3", "l=4"]
    for lval in range(0, 5):
        cell = df[(df["d"] == 1) & (df["year"] - df["g"] == lval)]
        assert abs(r.result.params[f"l={lval}"] - cell["tau"].mean()) < 4 * r.result.se[f"l={lval}"]
    c = r.coefficients()
    assert c.loc[c["rel_time"] == -1, "coef"].item() == 0.0


def test_without_never_treated_the_last_cohort_is_the_control():
    df = _panel(noise=0.0, never=False)
    r = sun_abraham(df, "y", treat="d")
    assert set(r.cells["cohort"]) == {2009.0, 2011.0}
    assert "last cohort (2013)" in r.result.notes[0]
    truth = df[df["d"] == 1].groupby(["g", df["year"] - df["g"]])["tau"].first()
    for c in r.cells[r.cells["rel_time"] >= 0].itertuples():
        assert c.delta == pytest.approx(truth.loc[(int(c.cohort), int(c.rel_time))], abs=1e-8)
