"""Separation in PPML: the linear-programme check against the hand-worked examples of ppmlhdfe's
separation primer (github.com/sergiocorreia/ppmlhdfe, guides/separation_primer.md), and through ``fit``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.estimators import _fe_groups, fit
from citynet.analysis.separation import design, separated

PRIMER = {
    # y, regressors, fixed effects, separated rows (0-based) as the primer works them out
    "regressor": ({"y": [0, 0, 0, 1, 2, 3], "x": [1, 1, 0, 0, 0, 0]}, ["x"], [], {0, 1}),
    "combination": ({"y": [0, 0, 0, 1, 2, 3], "x1": [2, -1, 0, 0, 5, 6], "x2": [-1, 2, 0, 0, -10, -12]},
                    ["x1", "x2"], [], {0}),
    "fixed_effects": ({"y": [0, 1, 0, 0, 1], "id1": [1, 1, 2, 2, 2], "id2": [1, 1, 1, 2, 2]}, [], ["id1", "id2"], {2}),
    "fixed_effects_not": ({"y": [0, 1, 0, 0, 1, 1e-6, 1e-6, 1e-6], "id1": [1, 1, 2, 2, 2, 2, 2, 2],
                           "id2": [1, 1, 1, 2, 2, 1, 1, 1]}, [], ["id1", "id2"], set()),
}


@pytest.mark.parametrize("case", sorted(PRIMER))
def test_separation_check_finds_the_primers_separated_rows(case):
    data, xs, fe, want = PRIMER[case]
    df = pd.DataFrame(data)
    sep = separated(df["y"].to_numpy(float), design(df, xs, _fe_groups(df, fe)))
    assert set(np.flatnonzero(sep)) == want


def test_no_zero_outcome_means_no_separation():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [0.0, 1.0, 0.0]})
    assert not separated(df["y"].to_numpy(), design(df, ["x"], [])).any()


def test_ppml_drops_separated_rows_and_matches_the_fit_without_them():
    """A dummy that is 1 only on some zero-outcome rows of cities that also have positive counts: the
    fixed-effect check cannot see it; the separation check drops those rows, and the estimates equal
    pyfixest's on the data without them (where the dummy is all zero and leaves the model)."""
    import pyfixest as pf

    rng = np.random.default_rng(7)
    n_city, n_year = 60, 10
    df = pd.DataFrame({"city": np.repeat(np.arange(n_city), n_year), "year": np.tile(np.arange(n_year), n_city)})
    df["x"] = rng.normal(size=len(df))
    mu = np.exp(0.3 * df["x"] + rng.normal(size=n_city)[df["city"]] - 0.5)
    df["y"] = rng.poisson(mu).astype(float)
    zeros = np.flatnonzero(df["y"].to_numpy() == 0)
    pick = zeros[:: max(1, len(zeros) // 12)][:12]
    df["d"] = 0.0
    df.loc[pick, "d"] = 1.0
    r = fit(df, "y ~ x + d | city + year", model="ppml", allow_collinear=True)
    assert r.nobs <= len(df) - len(pick)
    assert any("separated by a combination" in n for n in r.notes)
    clean = df.drop(index=pick)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois("y ~ x | city + year", clean, vcov="iid", iwls_tol=1e-10)
    assert r.nobs == ref._N
    np.testing.assert_allclose(r.params["x"], ref.coef()["x"], rtol=1e-8)
