"""How the staggered designs read the treatment (analysis/treatment.py), on hand-made panels: the cohort
column's never-treated written 0 (did::att_gt's ``gname``), missing or inf give the same estimates; a
cohort that varies within a city and a text cohort are one message; a 0/1 treatment that returns to 0 is
read as absorbing, and every design's result says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.treatment import first_treated

from citynet.errors import AnalysisError

YEARS = range(2010, 2018)


def _panel() -> pd.DataFrame:
    """Twelve cities over 2010–2017: four treated from 2013, four from 2015, four never; an outcome
    with a jump of 1 after treatment, a city and a year effect and a little deterministic noise."""
    rows = []
    for i in range(12):
        g = 2013 if i < 4 else (2015 if i < 8 else np.nan)
        for t in YEARS:
            d = int(not np.isnan(g) and t >= g)
            rows.append({"city_code": f"c{i:02d}", "year": t, "treat": d, "g": g,
                         "y": 0.3 * i + 0.1 * (t - 2010) + d + 0.05 * np.sin(7 * i + t)})
    return pd.DataFrame(rows)


def test_first_treated_by_hand():
    df = _panel()
    df.loc[(df.city_code == "c00") & (df.year >= 2016), "treat"] = 0  # a pilot that ended
    g, notes = first_treated(df, "treat", None)
    assert g[df.city_code == "c00"].unique().tolist() == [2013.0]
    assert g[df.city_code == "c11"].isna().all()
    assert len(notes) == 1 and "returns to 0" in notes[0] and "1 city (c00)" in notes[0]
    assert first_treated(_panel(), "treat", None).notes == []  # absorbing: no note


@pytest.mark.parametrize("never", [0, np.inf, np.nan])
def test_never_treated_coded_as_did_or_fixest(never):
    """0 (did's gname), inf or missing: the same cohorts, so the same estimates in every design."""
    from citynet.analysis.did import callaway_santanna, event_study
    from citynet.analysis.sunab import sun_abraham

    df = _panel()
    coded = df.assign(g=df["g"].fillna(never))
    assert first_treated(coded, None, "g").g.equals(first_treated(df, None, "g").g)
    for fe in ("city_code + year", "year"):  # without city effects a never-treated "cohort 0" showed as post_L
        a = event_study(df, "y", treat=None, cohort="g", leads=2, lags=2, fe=fe)
        b = event_study(coded, "y", treat=None, cohort="g", leads=2, lags=2, fe=fe)
        pd.testing.assert_series_equal(a.result.params, b.result.params)
    for control in ("never", "notyet"):
        a = callaway_santanna(df, "y", treat=None, cohort="g", control=control)
        b = callaway_santanna(coded, "y", treat=None, cohort="g", control=control)
        assert a.simple.nobs == b.simple.nobs == len(df)
        assert a.simple.params["ATT"] == b.simple.params["ATT"]
    a = sun_abraham(df, "y", treat=None, cohort="g")
    b = sun_abraham(coded, "y", treat=None, cohort="g")
    pd.testing.assert_series_equal(a.result.params, b.result.params)


def test_event_study_and_cs_take_the_treatment_and_the_cohort_alike():
    from citynet.analysis.did import callaway_santanna, event_study

    df = _panel()
    a = event_study(df, "y", treat="treat", leads=2, lags=2)
    b = event_study(df, "y", treat=None, cohort="g", leads=2, lags=2)
    pd.testing.assert_series_equal(a.result.params, b.result.params)
    assert callaway_santanna(df, "y", treat="treat").simple.params["ATT"] == pytest.approx(
        callaway_santanna(df, "y", treat=None, cohort="g").simple.params["ATT"], abs=1e-12)


def test_a_treatment_that_ends_is_read_as_absorbing_with_a_note_in_every_design():
    from citynet.analysis.cs_covariates import att_gt_covariates
    from citynet.analysis.did import callaway_santanna, event_study, placebo, psm_did
    from citynet.analysis.psm import psm_did as psm_did_k
    from citynet.analysis.sunab import sun_abraham

    df = _panel().assign(x=lambda d: np.cos(np.arange(len(d))))
    ended = df.copy()
    ended.loc[ended.city_code.isin(["c00", "c04"]) & (ended.year >= 2016), "treat"] = 0
    absorbing = event_study(df, "y", treat="treat", leads=2, lags=2)
    es = event_study(ended, "y", treat="treat", leads=2, lags=2)
    pd.testing.assert_series_equal(es.result.params, absorbing.result.params)  # the same cohorts
    results = [es.result, callaway_santanna(ended, "y", treat="treat").simple,
               sun_abraham(ended, "y", treat="treat").result, placebo(ended, "y", "treat", n=5).real,
               psm_did(ended, "y", ["x"], "treat").result, psm_did_k(ended, "y", ["x"], "treat").result]
    for r in results:
        assert any("returns to 0 after it was 1 in 2 cities (c00, c04)" in n for n in r.notes), r.name
    assert any("returns to 0" in n for n in att_gt_covariates(ended, "y", ["x"], treat="treat", reps=9).notes)
    assert not any("returns to 0" in n for n in absorbing.result.notes)


def test_cohort_mistakes_are_one_message():
    from citynet.analysis.did import event_study

    df = _panel()
    df.loc[(df.city_code == "c01") & (df.year == 2017), "g"] = 2014
    with pytest.raises(AnalysisError, match=r"more than one value within 1 city \(c01\)"):
        event_study(df, "y", treat=None, cohort="g")
    with pytest.raises(AnalysisError, match="cohort column 'g' is not a number"):
        event_study(_panel().assign(g="soon"), "y", treat=None, cohort="g")
    with pytest.raises(AnalysisError, match="cohort column 'gg' is not in the panel"):
        event_study(_panel(), "y", treat=None, cohort="gg")


def test_the_two_stage_did_takes_a_treatment_that_ends_as_given_and_says_so():
    """Gardner's two-stage DID (as did2s) reads the 0/1 treatment row by row: the years after a treatment ended are
    untreated rows of its first stage. The estimate is that reading (city and year effects by least squares on the
    D = 0 rows, written out with numpy, then the mean residual of the D = 1 rows) and the note says so; a 0/1
    column with other values is one message (it was compared with 1 silently)."""
    from citynet.analysis.did import gardner_did

    ended = _panel()
    ended.loc[ended.city_code.isin(["c00", "c04"]) & (ended.year >= 2016), "treat"] = 0
    r = gardner_did(ended, "y", treat="treat")
    untreated = ended["treat"] == 0
    dummies = pd.get_dummies(ended[["city_code", "year"]].astype(str), drop_first=False).to_numpy(float)
    beta = np.linalg.lstsq(dummies[untreated.to_numpy()], ended.loc[untreated, "y"].to_numpy(), rcond=None)[0]
    by_hand = (ended["y"] - dummies @ beta)[~untreated].mean()
    assert r.params["treat"] == pytest.approx(by_hand, abs=1e-10)
    assert any("returns to 0 after it was 1 in 2 cities (c00, c04)" in n and "did2s" in n for n in r.notes)
    assert not any("returns to 0" in n for n in gardner_did(_panel(), "y", treat="treat").notes)
    with pytest.raises(AnalysisError, match="not a 0/1 indicator"):
        gardner_did(_panel().assign(treat=lambda d: d["treat"] * 2), "y", treat="treat")
