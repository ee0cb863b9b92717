"""citynet's fit against fixest 0.14.2 on an awkward panel (``tests/references/data/awkward_city_year.csv``, written by
``tests/references/make_awkward.py``; fixest's numbers in ``references.json["awkward"]``, written by
``tests/references/references.R``: ``R_LIBS=~/.cache/r-reference Rscript tests/references/references.R``).

The panel holds what real panels hold: fixed-effect singletons (one a cascade), missing values in the outcome, a
regressor and the cluster variable, regressors absorbed by the fixed effects or collinear with others, a lag
across a gap, weights with zeros, i() interactions, the log of a count with zeros, a count with all-zero cities, a
dummy that separates, and a two-way clustered covariance matrix that is not positive semi-definite.
Each case: coefficients, standard errors (1e-8 exact, 1e-6 where both iterate), N, and what is said dropped.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citynet.errors import UserError

HERE = Path(__file__).parent / "references"
REF = json.loads((HERE / "references.json").read_text(encoding="utf-8"))["awkward"]
EXACT, ITER = 1e-8, 1e-6
BASE = "y ~ x1 + x4 | city_code + year"


@pytest.fixture(scope="module")
def aw() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "awkward_city_year.csv", dtype={"city_code": str, "province": str})


def fit(*args, **kw):
    from citynet.analysis.estimators import fit as _fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _fit(*args, **kw)


def same(res, key: str, tol: float, names: dict[str, str] | None = None) -> None:
    """Coefficients, SEs and N of ``res`` equal fixest's (``names``: fixest's name → citynet's)."""
    ref = REF[key]
    names = names or {}
    want = {names.get(k, k): v for k, v in ref["coef"].items()}
    want_se = {names.get(k, k): v for k, v in ref["se"].items()}
    assert sorted(res.params.index) == sorted(want)
    got = [res.params[k] for k in want]
    np.testing.assert_allclose(got, list(want.values()), rtol=tol, atol=tol * 1e-2)
    np.testing.assert_allclose([res.se[k] for k in want], [want_se[k] for k in want], rtol=tol, atol=tol * 1e-4)
    assert res.nobs == ref["nobs"]
    if isinstance(ref["n_clusters"], int | float):  # write_json17 writes a NULL as {}
        assert res.stats["n_clusters"] == ref["n_clusters"]


@pytest.mark.parametrize("key,formula,vcov", [
    ("ols_two_year", "y ~ x1 + x4 + d | city_code + year", "cluster:two+year"),
])
def test_a_two_way_clustered_vcov_is_made_positive_definite_as_fixest_does(aw, key, formula, vcov):
    """V_A + V_B − V_AB has a negative eigenvalue here; fixest sets it to 1e-16 (and warns), which changes every SE.
    citynet reported pyfixest's raw matrix: x1's SE 0.0175 for fixest's 0.0344 on ols_two_year (p 0.026 vs 0.051)."""
    assert REF[key]["warnings"] == ["The VCOV matrix is not positive definite and was 'fixed' (see ?vcov)."]
    r = fit(aw, formula, vcov=vcov)
    same(r, key, EXACT)
    assert any("was not positive semi-definite" in n and "as fixest does" in n for n in r.notes)
    V = np.asarray(r.raw._vcov)
    assert np.linalg.eigvalsh(V).min() > 0
    np.testing.assert_allclose(r.se.to_numpy(), np.sqrt(np.diag(V)), rtol=1e-12)


def test_a_positive_definite_vcov_is_left_alone(aw):
    r = fit(aw, BASE, vcov="cluster:city_code+year")
    assert not any("positive semi-definite" in n for n in r.notes)


def test_a_lag_on_duplicated_city_years_is_one_message(aw):
    """fixest: "The panel identifiers contain duplicate values"; citynet took the first row's value silently."""
    twice = pd.concat([aw, aw[aw["city_code"] == "100200"]])
    with pytest.raises(UserError, match=r"a lag of x1 needs one row per city_code and year, and 16 rows"):
        fit(twice, "y ~ L(x1, 1) | city_code + year")
    fit(twice, "y ~ x1 | city_code + year")  # without a lag duplicates are rows like any other (fixest fits them)
