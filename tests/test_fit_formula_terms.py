"""A formula's terms are read at the '+', ',' and '|' that stand outside parentheses and quotes, by one helper
(``formula.split_outside_parentheses``): the syntax check split a side at every '+', so ``I(x1 + +x2)`` (Python's
unary plus) and ``ref='a++b'`` were "an empty term"; ``y | fe ~ x`` was a ValueError traceback; ``I(a | b)`` —
which pyfixest cuts at its '|' all the same — gave a message about another term. Expected values: statsmodels OLS
with city dummies, and terms split by hand."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf
from citynet.analysis.estimators import _terms, fit

from citynet.errors import AnalysisError, UserError
from tests.test_analysis_estimators import make_panel
from tests.test_fit_quoted_text import _levels_panel


def test_a_plus_inside_parentheses_is_part_of_its_term_against_statsmodels():
    """I(x1 + +x2) is the regressor x1 + x2: equal to statsmodels' OLS of y on s = x1 + x2 and city dummies (iid
    SEs). It was refused: "has an empty term in 'I(x1 + +x2)'"."""
    df = make_panel()
    r = fit(df, "y ~ I(x1 + +x2) | city_code", vcov="iid")
    ref = smf.ols("y ~ s + C(city_code)", df.assign(s=df["x1"] + df["x2"])).fit()
    assert r.nobs == 600
    np.testing.assert_allclose(r.params.to_numpy(), [ref.params["s"]], rtol=1e-9)
    np.testing.assert_allclose(r.se.to_numpy(), [ref.bse["s"]], rtol=1e-8)


def test_a_quoted_reference_holding_plus_signs_reaches_the_reference_check():
    with pytest.raises(AnalysisError) as err:
        fit(_levels_panel(), "y ~ i(kind, ref='a++b')", vcov="iid")
    assert err.value.message.startswith("i(kind, ref='a++b'): the reference 'a++b' is not a value of kind")


@pytest.mark.parametrize("formula, words", [
    ("y | city_code ~ x1", "has a '|' before its first '~'"),
    ("y ~ I(x1 | x2) | city_code", "has a '|' or '~' inside parentheses, where pyfixest cuts the formula all the same"),
    ("y ~ I(~x1) | city_code", "has a '|' or '~' inside parentheses"),
])
def test_a_bar_or_tilde_where_pyfixest_cannot_read_it_is_one_usage_message(formula, words):
    """'y | city_code ~ x1' was "ValueError: not enough values to unpack" (a traceback from citynet fit); 'I(x1 |
    x2)' said the term city_code was text (the cut made 'x2) | city_code' a fixed-effect part)."""
    with pytest.raises(UserError) as err:
        fit(make_panel(), formula)
    assert err.value.exit_code == 2
    assert words in err.value.message


def test_a_sum_in_a_bootstrapped_formula_is_named_whole():
    """The wild bootstrap takes columns: I(x1 + x2) is one expression (it said 'I(x1, x2) are expressions')."""
    from citynet.analysis.inference import fit_with_inference

    with pytest.raises(AnalysisError) as err:
        fit_with_inference(make_panel(), "y ~ I(x1 + x2) | city_code", "wild:9")
    assert "I(x1 + x2) is an expression" in err.value.message


@pytest.mark.parametrize("side, terms", [
    ("log(x + 1) + i(kind, ref='a+b') + 1 + z", ["log(x + 1)", "i(kind, ref='a+b')", "z"]),
    ("0 + x", ["x"]),
    (None, []),
    ("log(x", ["log(x"]),  # does not close: one term, for the fit's syntax check to name
])
def test_the_terms_of_a_side_by_hand(side, terms):
    assert _terms(side) == terms


def test_two_endogenous_regressors_in_one_sum_are_still_pyfixest_s_limit():
    """pyfixest counts I(d + w) as two endogenous regressors ("Multiple endogenous variables are currently not
    supported"): the message stays citynet's."""
    df = make_panel().assign(z=lambda d: d["x1"] * 0.5, w=lambda d: d["x2"] * 2)
    with pytest.raises(AnalysisError, match="more than one endogenous regressor"):
        fit(df, "y ~ 1 | city_code | I(x2 + w) ~ z")
