"""Multiple estimation (``sw``, ``sw0``, ``csw``, ``csw0``, ``mvsw``, several dependent variables).

The expansions are fixest's documented ones (its help page ``stepwise`` and its vignette "Multiple
estimations", written out by hand here); the coefficients and standard errors are pyfixest's own
multiple estimation (``FixestMulti``), an implementation citynet does not use for it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from citynet.analysis.estimators import fit
from citynet.analysis.multiple import expand
from click.testing import CliRunner

from citynet.cli import cli
from citynet.errors import AnalysisError
from tests.test_fit_cli import build_workspace


@pytest.mark.parametrize("formula, models", [
    # fixest's help page "stepwise": y ~ x1 + sw(x2, x3) and its variants
    ("y ~ x1 + sw(x2, x3)", ["y ~ x1 + x2", "y ~ x1 + x3"]),
    ("y ~ x1 + sw0(x2, x3)", ["y ~ x1", "y ~ x1 + x2", "y ~ x1 + x3"]),
    ("y ~ x1 + csw(x2, x3)", ["y ~ x1 + x2", "y ~ x1 + x2 + x3"]),
    ("y ~ x1 + csw0(x2, x3)", ["y ~ x1", "y ~ x1 + x2", "y ~ x1 + x2 + x3"]),
    ("y ~ x1 + mvsw(x2, x3)", ["y ~ x1", "y ~ x1 + x2", "y ~ x1 + x3", "y ~ x1 + x2 + x3"]),
    # the vignette's first illustration (without its split sample): fixed effects outermost, then the
    # dependent variables, then the regressors' steps
    ("c(y1, y2) ~ x1 + csw(x2, x2^2) | sw0(species)",
     ["y1 ~ x1 + x2", "y1 ~ x1 + x2 + x2^2", "y2 ~ x1 + x2", "y2 ~ x1 + x2 + x2^2",
      "y1 ~ x1 + x2 | species", "y1 ~ x1 + x2 + x2^2 | species", "y2 ~ x1 + x2 | species",
      "y2 ~ x1 + x2 + x2^2 | species"]),
    ("y ~ x | csw(city_code, year)", ["y ~ x | city_code", "y ~ x | city_code + year"]),
    ("y ~ csw0(a, b) | fe | e ~ z", ["y ~ 1 | fe | e ~ z", "y ~ a | fe | e ~ z", "y ~ a + b | fe | e ~ z"]),
    # a term with commas of its own, and a covariate's header in backquotes
    ("y ~ sw(x, i(year, d, ref=2010))", ["y ~ x", "y ~ i(year, d, ref=2010)"]),
    ("y ~ csw(`GDP (亿元)`, `人口,万人`)", ["y ~ `GDP (亿元)`", "y ~ `GDP (亿元)` + `人口,万人`"]),
    ("y ~ x | city_code + year", ["y ~ x | city_code + year"]),
])
def test_expansion_is_fixests(formula, models):
    assert expand(formula) == models


@pytest.mark.parametrize("formula, words", [
    ("y ~ sw(a, b) + csw(c, d)", "2 stepwise functions"),
    ("y ~ x | fe | e ~ sw(z1, z2)", "instruments"),
    ("y ~ sw()", "no terms"),
])
def test_what_fixest_does_not_read_is_one_message(formula, words):
    with pytest.raises(AnalysisError, match=words):
        expand(formula)


def _panel(seed: int = 7) -> pd.DataFrame:
    """A random panel (numpy, not citynet's generator): 60 units × 10 years."""
    rng = np.random.default_rng(seed)
    n_unit, years = 60, np.arange(2010, 2020)
    df = pd.DataFrame({"city_code": np.repeat([f"{k:06d}" for k in range(100000, 100000 + n_unit)], len(years)),
                       "year": np.tile(years, n_unit)})
    u = np.repeat(rng.normal(size=n_unit), len(years))
    df["x1"] = rng.normal(size=len(df)) + 0.5 * u
    df["x2"] = rng.normal(size=len(df))
    df["y1"] = 1.0 + 0.8 * df["x1"] - 0.3 * df["x2"] + u + rng.normal(size=len(df))
    df["y2"] = 0.5 * df["x2"] + rng.normal(size=len(df))
    return df


def test_coefficients_are_pyfixests_multiple_estimation():
    df = _panel()
    formula = "c(y1, y2) ~ csw(x1, x2) | csw0(city_code, year)"
    ours = [fit(df, f, vcov="cluster:city_code") for f in expand(formula)]
    theirs = pf.feols("y1 + y2 ~ csw(x1, x2) | csw0(city_code, year)", df, vcov={"CRV1": "city_code"})
    models = list(theirs.all_fitted_models.values())
    assert len(ours) == len(models) == 12
    for r, m in zip(ours, models, strict=True):
        assert r.depvar == m._depvar
        coef, se = m.coef(), m.se()
        assert list(r.params.index) == list(coef.index)
        np.testing.assert_allclose(r.params.to_numpy(), coef.to_numpy(), rtol=1e-10)
        np.testing.assert_allclose(r.se.to_numpy(), se.to_numpy(), rtol=1e-10)


def test_one_model_step_refuses_several_with_the_formulas():
    with pytest.raises(AnalysisError, match="asks for 2 models") as err:
        fit(_panel(), "y1 ~ sw(x1, x2) | city_code")
    assert "'y1 ~ x1 | city_code'; 'y1 ~ x2 | city_code'" in err.value.fix


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("ws_multi"))


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False, standalone_mode=False)


def test_cli_prints_one_column_per_model_and_a_json_list(ws):
    formula = "ln_collab_patents ~ csw(l1_collab_degree, l1_collab_betweenness) | sw0(city_code + year)"
    table = _run(["fit", "-w", str(ws), "--formula", formula]).output
    header = next(line for line in table.splitlines() if line.startswith("|  |"))
    assert header.count("|") == 6  # a label column and four models
    assert "| City FE | No | No | Yes | Yes |" in table
    out = json.loads(_run(["fit", "-w", str(ws), "--formula", formula, "--json"]).output)
    assert [sorted(m["coefficients"]) for m in out] == [
        ["Intercept", "l1_collab_degree"], ["Intercept", "l1_collab_betweenness", "l1_collab_degree"],
        ["l1_collab_degree"], ["l1_collab_betweenness", "l1_collab_degree"]]
    single = json.loads(_run(["fit", "-w", str(ws), "--formula", "ln_collab_patents ~ l1_collab_degree | city_code",
                              "--json"]).output)
    assert isinstance(single, dict)  # one model: one object, as before


def test_spec_model_with_stepwise_functions_gives_a_column_each(ws, tmp_path):
    spec = tmp_path / "steps.toml"
    spec.write_text('[[tables]]\nname = "steps"\n[[tables.models]]\nname = "M"\n'
                    'formula = "ln_collab_patents ~ sw(l1_collab_degree, l1_collab_betweenness) | city_code + year"\n',
                    encoding="utf-8")
    _run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "out")])
    csv = pd.read_csv(tmp_path / "out" / "steps.csv")
    assert list(csv.columns[1:]) == ["M (1)", "M (2)"]


def test_fixed_effects_alone_column_against_statsmodels_dummies():
    """csw0's first model, y ~ 1 | fe, was an AttributeError (pyfixest gives it no R²): its R², adjusted R² and
    residual degrees of freedom are those of OLS on the fixed effects' dummies (statsmodels)."""
    import statsmodels.formula.api as smf

    df = _panel()
    first, second = (fit(df, f) for f in expand("y1 ~ csw0(x1) | city_code + year"))
    dummies = smf.ols("y1 ~ C(city_code) + C(year)", df).fit()
    assert first.params.empty and first.nobs == len(df)
    assert first.r2 == pytest.approx(dummies.rsquared, rel=1e-10)
    assert first.adj_r2 == pytest.approx(dummies.rsquared_adj, rel=1e-10)
    assert first.df_resid == dummies.df_resid
    assert list(second.params.index) == ["x1"]


def test_split_samples_are_pyfixests_fsplit():
    """fixest's fsplit: the full sample, then one per value, the samples outermost; coefficients and SEs as
    pyfixest's own split estimation gives them."""
    from citynet.analysis.estimators import apply_sample
    from citynet.analysis.multiple import split_samples

    df = _panel().assign(region=lambda d: np.where(d["city_code"].astype(int) % 3 == 0, "east",
                                                   np.where(d["city_code"].astype(int) % 3 == 1, "west", "central")))
    samples = split_samples(df, "region", full=True)
    assert [label for label, _ in samples] == ["Full sample", "central", "east", "west"]
    ours = [fit(apply_sample(df, q), f, vcov="cluster:city_code") for _, q in samples
            for f in expand("y1 ~ csw(x1, x2) | city_code + year")]
    theirs = list(pf.feols("y1 ~ csw(x1, x2) | city_code + year", df, fsplit="region",
                           vcov={"CRV1": "city_code"}).all_fitted_models.values())
    assert len(ours) == len(theirs) == 8
    for r, m in zip(ours, theirs, strict=True):
        assert r.nobs == m._N
        np.testing.assert_allclose(r.params.to_numpy(), m.coef().to_numpy(), rtol=1e-10)
        np.testing.assert_allclose(r.se.to_numpy(), m.se().to_numpy(), rtol=1e-10)
    assert [q for _, q in split_samples(df.assign(big=(df["x1"] > 0).astype(int)), "big", "year >= 2012")] == [
        "(year >= 2012) and (`big` == 0)", "(year >= 2012) and (`big` == 1)"]


def test_a_quoted_text_inside_a_stepwise_function_is_one_value():
    """sw(i(g, x, ref='a)b'), x2) was cut at the quoted parenthesis: 'y ~ i(g, x, ref='a)b' + , x2)', one broken
    formula, which the next message then quoted. Quotes are skipped as backquotes are (written out by hand)."""
    assert expand("y ~ sw(i(g, x, ref='a)b'), x2)") == ["y ~ i(g, x, ref='a)b')", "y ~ x2"]
    assert expand('y ~ csw(i(g, x, ref="a,b"), x2)') == ['y ~ i(g, x, ref="a,b")', 'y ~ i(g, x, ref="a,b") + x2']


def test_split_values_are_those_of_the_sample():
    """fixest subsets the split variable before it takes its values (fixest_env: split = split[subset]), so a split
    with a sample is pyfixest's split of the rows the sample keeps: --split year --sample 'year >= 2012' gave one
    model per year of the panel, the years before 2012 empty, each with a warning."""
    from citynet.analysis.estimators import apply_sample
    from citynet.analysis.multiple import split_samples

    df = _panel()
    samples = split_samples(df, "year", "year >= 2012")
    kept = df[df["year"] >= 2012]
    assert [label for label, _ in samples] == [f"year = {y}" for y in sorted(kept["year"].unique())]
    ours = [fit(apply_sample(df, q), "y1 ~ x1 + x2", vcov="hetero") for _, q in samples]
    theirs = list(pf.feols("y1 ~ x1 + x2", kept, split="year", vcov="hetero").all_fitted_models.values())
    assert len(ours) == len(theirs)
    for r, m in zip(ours, theirs, strict=True):
        assert r.nobs == m._N
        np.testing.assert_allclose(r.params.to_numpy(), m.coef().to_numpy(), rtol=1e-10)
    assert [label for label, _ in split_samples(df, "year", "year > 3000")] == [  # keeps none: each model says so
        f"year = {y}" for y in sorted(df["year"].unique())]


def test_cli_split_and_spec_split(ws, tmp_path):
    formula = "ln_collab_patents ~ l1_collab_degree | city_code + year"
    table = _run(["fit", "-w", str(ws), "--formula", formula, "--fsplit", "tier_high"]).output
    assert "|  | Full sample | tier_high = 0 | tier_high = 1 |" in table
    out = json.loads(_run(["fit", "-w", str(ws), "--formula", formula, "--split", "tier_high", "--json"]).stdout)
    alone = json.loads(_run(["fit", "-w", str(ws), "--formula", formula, "--sample", "tier_high == 1", "--json"]).stdout)
    assert out[1]["coefficients"] == alone["coefficients"] and out[1]["nobs"] == alone["nobs"]
    with pytest.raises(Exception, match="--split and --fsplit exclude each other"):
        _run(["fit", "-w", str(ws), "--formula", formula, "--split", "tier_high", "--fsplit", "tier_high"])
    spec = tmp_path / "split.toml"
    spec.write_text(f'[[tables]]\nname = "split"\n[[tables.models]]\nname = "M"\nformula = "{formula}"\n'
                    'split = "tier_high"\n', encoding="utf-8")
    _run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path)])
    assert list(pd.read_csv(tmp_path / "split.csv").columns[1:]) == ["M tier_high = 0", "M tier_high = 1"]


def test_split_on_another_kind_is_refused_not_ignored(ws, tmp_path):
    spec = tmp_path / "did.toml"
    spec.write_text('[[tables]]\nname = "d"\n[[tables.models]]\nkind = "did"\ny = "ln_green_patents"\n'
                    'split = "tier_high"\n', encoding="utf-8")
    with pytest.raises(AnalysisError, match='split/fsplit is read by kind "fit" only'):
        _run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path)])


def test_a_model_the_data_cannot_identify_leaves_its_column_out_with_a_note(ws, tmp_path):
    """sw(x, tier_high) with city fixed effects: tier_high is constant within each city, so its model has no
    regressor left. The multiple estimation stopped at it (after fitting the others for nothing); now the other
    column is the same fit as alone, and the table, standard error and the JSON notes name the column left out.
    A typo stops before any fit, and a multiple estimation of which no model can be fitted is its first error."""
    formula = "ln_collab_patents ~ sw(l1_collab_degree, tier_high) | city_code + year"
    run = CliRunner().invoke(cli, ["fit", "-w", str(ws), "--formula", formula, "--json"])
    assert run.exit_code == 0, run.output
    (only,) = json.loads(run.stdout)
    alone = json.loads(_run(["fit", "-w", str(ws), "--formula", formula.replace("sw(l1_collab_degree, tier_high)",
                                                                               "l1_collab_degree"), "--json"]).stdout)
    assert only["coefficients"] == alone["coefficients"] and only["nobs"] == alone["nobs"]
    left_out = ("Warning: column (2) was not fitted (ln_collab_patents ~ tier_high | city_code + year): no regressor "
                "of the model")
    assert any(n.startswith(left_out) and "tier_high is constant within each city_code" in n for n in only["notes"])
    assert left_out in run.stderr
    spec = tmp_path / "steps.toml"
    spec.write_text(f'[[tables]]\nname = "steps"\n[[tables.models]]\nname = "M"\nformula = "{formula}"\n',
                    encoding="utf-8")
    _run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "out"), "-q"])
    assert list(pd.read_csv(tmp_path / "out" / "steps.csv").columns[1:]) == ["M (1)"]
    assert "column M (2) was not fitted" in (tmp_path / "out" / "steps.md").read_text(encoding="utf-8")
    with pytest.raises(AnalysisError, match="l1_colab_degree"):  # a typo in one model: no fit at all
        _run(["fit", "-w", str(ws), "--formula", formula.replace("sw(l1_collab_degree", "sw(l1_colab_degree")])
    with pytest.raises(AnalysisError, match="no regressor of the model"):
        _run(["fit", "-w", str(ws), "--formula", "ln_collab_patents ~ sw(tier_high, tier) | city_code + year"])
