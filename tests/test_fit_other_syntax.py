"""Formulas and options written as Stata, R or a Chinese input method writes them — each one message with the
fixest form as its fix (exit 2 for what a formula cannot read, 5 for a function it does not know), and the look-alikes
that are fixest and fit. The fixes are the documented fixest spellings (docs/methods.md §4, ``citynet fit --help``)."""

from __future__ import annotations

import pandas as pd
import pytest
from citynet.analysis.estimators import fit
from citynet.analysis.formula import column_names

from citynet.errors import AnalysisError, UserError
from tests.test_fit_silent_cases import _gapped_panel


@pytest.mark.parametrize("formula,error,words,fix", [
    # Stata: a command, options after a comma, operators (pyfixest: "no '~'", or "Unable to evaluate factor")
    ("reg y x, fe", UserError, "is a Stata command", "--cluster VAR for cluster(VAR)"),
    ("y ~ x | city_code + year, cluster(city_code)", UserError, "', cluster(city_code)' reads like Stata's options",
     "--cluster VAR for cluster(VAR)"),
    ("y ~ x, robust", UserError, "a ',' outside parentheses", "--vcov hc1 for robust"),
    ("y ~ L.x", UserError, "'L.x' in 'y ~ L.x' is Stata's operator for x one year earlier", "write L(x, 1) or l1_x"),
    ("y ~ L2.x", UserError, "for x 2 years earlier", "write L(x, 2) or l2_x"),
    ("y ~ F.x", UserError, "for x one year later", "write F(x, 1) or f1_x"),
    ("y ~ D.x", UserError, "the change of x from the year before", "write I(x - l1_x)"),
    ("y ~ x + i.year", UserError, "'i.year' in", "write i(year) or C(year)"),
    ("y ~ c.x#c.x", UserError, "a '#': Stata's interaction", "write a:b for Stata's a#b"),
    ("y ~ l(x, 1:2)", UserError, "'l(x, 1:2)' in 'y ~ l(x, 1:2)': fixest's several lags in one call",
     "write L(x, 1) + L(x, 2) (or l1_x + l2_x)"),
    # R and fixest words a formula does not know (pyfixest: "name 'ln' is not defined")
    ("ln(y) ~ x", AnalysisError, "ln() in 'ln(y) ~ x' is not a function", "write log(y) for ln y"),
    ("y ~ lead(x)", AnalysisError, "lead() in", "write F(x, 1) or f1_x"),
    ("y ~ d(x)", AnalysisError, "d() in", "write I(x - l1_x)"),
    ("y ~ sqrt(x)", AnalysisError, "sqrt() in", "write np.sqrt(x)"),
    # a Chinese input method's full-width operators (it was "has no '~'", or "cannot read the term")
    ("y ～ x ＋ L（x, 1）", UserError, "has the full-width ～ ＋ （ ） of a Chinese input method",
     "write it in ASCII: 'y ~ x + L(x, 1)'"),
])
def test_other_languages_formulas_are_one_message(formula, error, words, fix):
    """What an economist used to Stata or R writes: one message naming the term, its fixest form as the fix, exit 2
    for a formula that cannot be read, 5 for a function a formula does not know (as for a column it does not have)."""
    with pytest.raises(error) as err:
        fit(_gapped_panel(), formula)
    assert err.value.exit_code == (2 if error is UserError else 5)
    assert words in err.value.message
    assert fix in err.value.fix


def test_text_and_grouping_that_look_like_stata_are_fitted():
    """Not Stata: np.log(x) (a dot after np), commas inside a call, a text reference like Stata's i.x."""
    df = _gapped_panel().assign(g=["i.x", "c"] * 4 + ["i.x"])
    for formula in ("y ~ np.log(x)", "y ~ i(g, x, ref='i.x')", "y ~ i(g, x, ref='c')"):
        assert fit(df, formula, vcov="iid").nobs == 9


@pytest.mark.parametrize("value", ["city_code year", "city_code, year", "city_code,year"])
def test_two_cluster_columns_without_plus_are_one_message(value):
    """reghdfe's cluster(a b), a list: --cluster 'city_code year' was read as one column, 'city_code_year' (did you
    mean 'city_code'?), exit 5. Now a usage message (exit 2) with fixest's two-way a + b and the pairs' a^b."""
    columns = pd.Index(["city_code", "year", "x"])
    with pytest.raises(UserError) as err:
        column_names(value, columns, "--cluster", several=True)
    assert err.value.exit_code == 2
    assert err.value.message == f"--cluster {value!r} lists 2 columns without '+'"
    assert err.value.fix.startswith("write city_code + year for clusters by each (two-way")
    assert "or city_code^year for one cluster per combination" in err.value.fix
    assert column_names("city_code + year", columns, "--cluster", several=True) == "city_code+year"
    with pytest.raises(AnalysisError, match="--cluster names 'city_code x_'"):  # not all columns: the unknown name
        column_names("city_code x_", columns, "--cluster", several=True)


@pytest.mark.parametrize("value", ["0", "year >= 2010", "x y"])
def test_an_unknown_column_is_named_as_written(value):
    """map --var 0 said "--var names 'v0'" and --var 'year >= 2010' "names 'year_2010'": the formula names of what
    the user wrote, which the user never wrote. The message quotes the value as given."""
    columns = pd.Index(["city_code", "year", "x"])
    with pytest.raises(AnalysisError) as err:
        column_names(value, columns, "--var")
    assert str(err.value).startswith(f"--var names {value!r}, which the panel does not have"), str(err.value)


def test_a_spec_vcov_of_two_listed_columns_is_the_same_message():
    """A SPEC's vcov = "cluster:city_code year" was 'names 'city_code year', which the panel does not have'; the
    --cluster message now, and "cluster:city_code + year" is fixest's two-way clustering."""
    from citynet.analysis.estimators import parse_vcov

    df = pd.DataFrame({"city_code": ["a"], "year": [2010], "x": [1.0]})
    with pytest.raises(UserError) as err:
        parse_vcov("cluster:city_code year", df)
    assert err.value.message == "vcov 'cluster:city_code year' lists 2 columns without '+'"
    assert err.value.fix.startswith("write city_code + year for clusters by each")
    assert parse_vcov("cluster:city_code + year", df)[1] == "cluster:city_code + year"
