"""A quoted text in a formula (``i(kind, ref='east, coastal')``) is one value whatever it holds: a comma split it into
two arguments ("its third argument coastal' has no name", or the text's first half taken for the reference and
pyfixest's own words), a parenthesis made the formula's parentheses unbalanced. Expected values are worked by hand
(group means) and the refusals are those pyfixest itself cannot read (its parser cuts a formula at '|', '~' and
brackets before it reads quotes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.estimators import fit
from citynet.analysis.formula import split_outside_parentheses

from citynet.errors import AnalysisError, UserError


def _levels_panel() -> pd.DataFrame:
    """Six city-years in three groups, two of whose names hold a comma: 'a, b' (y 1, 3: mean 2), 'c' (4, 6: 5) and
    'd, e' (9, 11: 10)."""
    return pd.DataFrame({"city_code": ["A", "A", "B", "B", "C", "C"], "year": [2010, 2011] * 3,
                         "kind": ["a, b", "a, b", "c", "c", "d, e", "d, e"],
                         "y": [1.0, 3.0, 4.0, 6.0, 9.0, 11.0]})


def test_a_reference_level_holding_a_comma_is_one_level_worked_by_hand():
    """OLS of y on the dummies of kind with 'a, b' the reference: the intercept is the reference's mean, 2, and each
    coefficient a group's mean minus 2 (c: 3, 'd, e': 8). Every residual is ±1, so σ² = 6 / (6 − 3) = 2: the
    intercept's iid SE is √(2/2) = 1 and each difference's √(2·(1/2 + 1/2)) = √2. It was "i(kind, ref='a, b'):
    its third argument b' has no name"."""
    r = fit(_levels_panel(), "y ~ i(kind, ref='a, b')", vcov="iid")
    params = r.params.to_dict()
    assert params == pytest.approx({"Intercept": 2.0, "kind::c": 3.0, "kind::d, e": 8.0}, abs=1e-10)
    assert r.se.to_dict() == pytest.approx({"Intercept": 1.0, "kind::c": np.sqrt(2), "kind::d, e": np.sqrt(2)},
                                           rel=1e-10)
    # the comma may stand without its space, and the other level be the reference: 'd, e' mean 10, so c is −5
    r = fit(_levels_panel(), 'y ~ i(kind, ref="d, e")', vcov="iid")
    assert r.params.to_dict() == pytest.approx({"Intercept": 10.0, "kind::a, b": -8.0, "kind::c": -5.0}, abs=1e-10)


@pytest.mark.parametrize("ref", ["'a,b'", "'a, b, c'", "'c, d'"])
def test_a_reference_with_a_comma_that_is_no_level_is_named_whole(ref):
    """'a,b' (no space) is not the level 'a, b': the whole text is named, with the levels quoted since they hold
    commas. 'a,b' was taken as 'a' by the check and left to pyfixest ("Value `'a,b'` for
    `TreatmentContrasts.base` is not among the provided levels", fix "check the formula, the sample …")."""
    with pytest.raises(AnalysisError) as err:
        fit(_levels_panel(), f"y ~ i(kind, ref={ref})", vcov="iid")
    assert err.value.exit_code == 5
    assert err.value.message == (f"i(kind, ref={ref}): the reference {ref} is not a value of kind in the estimation "
                                 "sample ('a, b', 'c', 'd, e')")
    assert err.value.fix == "choose a value the sample has, a number bare and a text quoted: ref='a, b'"


@pytest.mark.parametrize("ref", ["'a&b'", "'x^2'", "'a=b'"])
def test_any_other_character_of_a_quoted_reference_reaches_the_reference_check(ref):
    """'a&b' was "cannot read the term" (exit 2), 'x^2' "is not a power": characters of a text, which pyfixest reads."""
    with pytest.raises(AnalysisError) as err:
        fit(_levels_panel(), f"y ~ i(kind, ref={ref})", vcov="iid")
    assert err.value.message.startswith(f"i(kind, ref={ref}): the reference {ref} is not a value of kind")


@pytest.mark.parametrize("ref, held", [("'a|b'", "|"), ("'a(b'", "("), ("'a)b'", ")"), ("'a~b'", "~"),
                                       ("'a[b'", "[")])
def test_a_quoted_text_pyfixest_cannot_read_is_one_usage_message(ref, held):
    """pyfixest cuts the formula at '|' and '~' and reads brackets before it reads quotes ("Each formula part can
    contain at most one '~'", "Formula ended before quote context was closed", "unterminated string literal"); a
    parenthesis was "unbalanced parentheses" here, and 'a|b' a text regressor's message for another column."""
    with pytest.raises(UserError) as err:
        fit(_levels_panel(), f"y ~ i(kind, ref={ref}) | year", vcov="iid")
    assert err.value.exit_code == 2
    assert f"has the text {ref} holding {held}, which pyfixest reads as the formula's own" in err.value.message
    assert f"g.str.replace('{held}', '/')" in err.value.fix


def test_a_quote_never_closed_is_one_usage_message():
    with pytest.raises(UserError) as err:
        fit(_levels_panel(), "y ~ i(kind, ref='c)", vcov="iid")
    assert err.value.exit_code == 2
    assert err.value.message == "the formula \"y ~ i(kind, ref='c)\" has a quote ' that is not closed"


@pytest.mark.parametrize("text, sep, parts", [
    ("log(x + 1) + i(kind, ref='a+b') + z", "+", ["log(x + 1) ", " i(kind, ref='a+b') ", " z"]),
    ("kind, d, ref='east, coastal'", ",", ["kind", " d", " ref='east, coastal'"]),
    ('kind, ref="a, (b"', ",", ["kind", ' ref="a, (b"']),
    ("`人口,万人`, x", ",", ["`人口,万人`", " x"]),
    ("y ~ x", "+", ["y ~ x"]),
    ("", ",", [""]),
])
def test_split_outside_parentheses_by_hand(text, sep, parts):
    assert split_outside_parentheses(text, sep) == parts


@pytest.mark.parametrize("text, words", [("(a", "unbalanced parentheses"), ("a) + (b", "unbalanced parentheses"),
                                         ("a + 'b", "a quote ' that is not closed")])
def test_split_outside_parentheses_refuses_what_does_not_close(text, words):
    with pytest.raises(ValueError, match=words):
        split_outside_parentheses(text, "+")
