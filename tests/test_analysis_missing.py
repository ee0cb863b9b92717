"""Rows left out for missing values are said, counted by variable, by the estimators that form their own sample
(mediation, 3SLS, the random-effects Tobit, Callaway–Sant'Anna with covariates): each dropped them without a word
(``dropna``). Expected counts: pandas' own counts of the missing cells planted in the synth panel."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parent / "references" / "data" / "synth_city_year.csv"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    cy = pd.read_csv(DATA, dtype={"city_code": str})
    cities = cy["city_code"].unique()
    cy.loc[cy.index[cy["city_code"] == cities[3]][2], "x1"] = np.nan
    cy.loc[cy.index[cy["city_code"] == cities[5]][4], "x1"] = np.nan
    cy.loc[cy.index[cy["city_code"] == cities[8]][1], "x2"] = np.nan
    cy.loc[cy.index[cy["city_code"] == cities[8]][3], "ln_green"] = np.nan
    return cy


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


def _expected(panel: pd.DataFrame, cols: list[str]) -> str:
    n = int(panel[cols].isna().any(axis=1).sum())
    by = ", ".join(f"{c}: {int(k)}" for c, k in panel[cols].isna().sum().items() if k)
    return f"{n} observations with a missing value left out ({by}), as fixest leaves them out."


def test_mediation_says_the_rows_it_leaves_out(panel):
    from citynet.analysis.mediation import mediation, mediation_table

    res = _quiet(mediation, panel, "x1", "x2", "ln_green", reps=0)
    note = _expected(panel, ["ln_green", "x1", "x2"])
    assert res.notes == [note] and note in mediation_table(res).notes
    assert res.steps[0].nobs == len(panel) - 4


def test_three_sls_says_the_rows_it_leaves_out(panel):
    from citynet.analysis.system import three_sls

    res = _quiet(three_sls, panel, {"a": "ln_green ~ ln_collab + x1", "b": "ln_collab ~ ln_green + x2"},
                 instruments=["x1", "x2", "z1"])
    note = _expected(panel, ["ln_green", "ln_collab", "x1", "x2", "z1"])
    assert all(note in eq.notes for eq in res.equations.values())
    assert res.nobs == len(panel) - 4


def test_re_tobit_says_the_rows_it_leaves_out(panel):
    from citynet.analysis.tobit import re_tobit

    small = panel[panel["city_code"].isin(panel["city_code"].unique()[:12])]
    r = _quiet(re_tobit, small, "ln_green", ["x1"], nodes=8).result
    assert _expected(small, ["ln_green", "x1"]) in r.notes


def test_cs_with_covariates_says_what_it_drops(panel):
    """Missing cells, then the cities they leave short of a year, then the cities treated in the first year (did's
    "Dropped N units that were already treated in the first period")."""
    from citynet.analysis.cs_covariates import att_gt_covariates

    r = _quiet(att_gt_covariates, panel, "ln_green", ["x1"], cohort="first_treat", bootstrap=False)
    cols = ["ln_green", "x1"]
    assert _expected(panel, cols) in r.notes
    short = panel.loc[panel[cols].isna().any(axis=1), "city_code"].nunique()
    assert f"{short} cities not observed (with every variable) in all {panel['year'].nunique()} years dropped" in \
        " ".join(r.notes)
    complete = panel[~panel["city_code"].isin(panel.loc[panel[cols].isna().any(axis=1), "city_code"])]
    first = complete.loc[complete["first_treat"] == panel["year"].min(), "city_code"].nunique()
    assert first > 0
    assert f"{first} cities already treated in the first year ({panel['year'].min()}) dropped" in " ".join(r.notes)


def test_threshold_says_missing_values_made_the_panel_unbalanced(panel):
    """The panel is balanced; the planted missing cells make it unbalanced once left out. The message said only that
    cities lack some years, as if rows were absent."""
    from citynet.analysis.threshold import panel_threshold

    from citynet.errors import UserError

    with pytest.raises(UserError, match=r"once the rows with a missing value are left out \(3 observations with a "
                                        r"missing value left out \(ln_green: 1, x1: 2\)\)"):
        _quiet(panel_threshold, panel, "ln_green", ["x1"], q="z1")
