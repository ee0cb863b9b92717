"""``citynet fit`` on a small workspace built here with numpy (planted effects), and the example specs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from citynet.etl.cities import city_set
from click.testing import CliRunner

from citynet.cli import cli
from citynet.errors import AnalysisError, UserError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def build_workspace(root: Path, n_city=80, years=range(2006, 2021), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    cs = city_set().cities
    codes = cs["city_code"].tolist()[:n_city]
    years = np.array(list(years))
    n = n_city * len(years)
    df = pd.DataFrame({"city_code": np.repeat(codes, len(years)), "year": np.tile(years, n_city)})
    a = np.repeat(rng.normal(0, 1, n_city), len(years))
    g = np.tile(np.linspace(0, 1, len(years)), n_city)
    cohort = np.repeat(rng.choice([2010, 2012, 2017, 9999], size=n_city, p=[0.2, 0.2, 0.2, 0.4]), len(years))
    low_carbon = (df["year"].to_numpy() >= cohort).astype(int)
    df["green_patents"] = rng.poisson(np.exp(2 + a + g + 0.3 * low_carbon))
    for c in ("collab_patents", "collab_partners", "transfers_out", "transfers_in", "transfers_local",
              "transfers_other", "transfer_partners_out", "citations_made", "citations_received", "collab_patents_intraprov",
              "transfers_intraprov"):
        df[c] = rng.poisson(np.exp(1 + 0.5 * a + 0.5 * g))
    df["collab_intensity"] = df["collab_patents"] / df["collab_partners"].clip(lower=1)
    df["transfer_intensity_out"] = df["transfers_out"] / df["transfer_partners_out"].clip(lower=1)
    for c in ("collab_degree", "collab_betweenness", "transfer_outdegree", "transfer_indegree", "transfer_betweenness"):
        df[c] = rng.uniform(0, 0.3, n)
    for c in ("partners_continuing", "partners_new", "partners_exited", "citations_foreign"):
        df[c] = rng.poisson(2, n)
    (root / "metrics").mkdir(parents=True)
    (root / "canonical").mkdir()
    df.to_parquet(root / "metrics" / "city_year.parquet")
    cov = pd.DataFrame({"city_code": df["city_code"], "year": df["year"],
                        "gdp_per_capita": np.exp(10 + 0.3 * a + 0.05 * (df["year"] - 2006) + rng.normal(0, 0.1, n)),
                        "population": np.exp(6 + 0.2 * a + rng.normal(0, 0.05, n)),
                        "industry_share": rng.uniform(0.3, 0.6, n), "rd_intensity": rng.uniform(0.005, 0.03, n),
                        "fdi": np.exp(rng.normal(3, 1, n)), "low_carbon": low_carbon})
    cov.to_parquet(root / "canonical" / "covariates.parquet")
    # dyad-year
    c = cs.set_index("city_code").loc[codes]
    ii, jj = np.triu_indices(n_city, 1)
    from citynet.etl.cities import haversine_km

    dist = haversine_km(c["lon"].to_numpy()[ii], c["lat"].to_numpy()[ii], c["lon"].to_numpy()[jj],
                        c["lat"].to_numpy()[jj]) + 10
    rows = []
    for t in years[-3:]:
        mu = np.exp(3 - 1.0 * (np.log(dist) - 6))
        rows.append(pd.DataFrame({"city_a": np.array(codes)[ii], "city_b": np.array(codes)[jj], "year": t,
                                  "collab": rng.poisson(mu), "transfer_ab": 0, "transfer_ba": 0, "citations_ab": 0,
                                  "citations_ba": 0, "distance_km": dist, "same_province": 0}))
    pd.concat(rows).to_parquet(root / "metrics" / "dyad_year.parquet")
    return root


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("ws"))


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False, standalone_mode=False)


def test_fit_formula_json(ws):
    r = run(["fit", "-w", str(ws), "--formula", "green_patents ~ low_carbon | city_code + year", "--model", "ppml",
             "--json"])
    out = json.loads(r.output)
    c = out["coefficients"]["low_carbon"]
    assert out["nobs"] == 80 * 15
    assert set(c) >= {"coef", "se", "ci_low", "ci_high", "pvalue"}
    assert c["ci_low"] < 0.3 < c["ci_high"]


def test_fit_formula_table_with_lags_and_cluster(ws):
    r = run(["fit", "-w", str(ws), "--formula",
             "ln_collab_patents ~ l1_collab_degree + L(ln1p(gdp_per_capita), 1) | city_code + year", "--vcov", "hc1"])
    assert "DC (t−1)" in r.output and "City FE" in r.output and "HC1" in r.output  # labels: metrics.labels


def test_fit_gravity_dyad_year(ws):
    r = run(["fit", "-w", str(ws), "--panel", "dyad-year", "--model", "ppml", "--json",
             "--formula", "collab ~ log_distance | origin_year + dest_year"])
    out = json.loads(r.output)
    c = out["coefficients"]["log_distance"]
    assert c["ci_low"] < -1.0 < c["ci_high"]
    assert isinstance(out["notes"], list)  # the table notes (drops, retries, warnings) travel with --json


@pytest.mark.parametrize("model", ["ols", "ppml"])
def test_dyad_fixed_effects_are_columns_for_every_model(ws, model):
    """origin_year, dest_year and pair are columns of the dyad-year panel for any model: OLS said the panel had
    no origin_year. The fit equals pyfixest's on its own interactions (city_a^year + city_b^year), clustered by
    the city pairs written out here."""
    import pyfixest as pf

    r = run(["fit", "-w", str(ws), "--panel", "dyad-year", "--model", model, "--json",
             "--formula", "collab ~ log_distance | origin_year + dest_year"])
    got = json.loads(r.output)["coefficients"]
    dy = pd.read_parquet(ws / "metrics" / "dyad_year.parquet").assign(
        log_distance=lambda d: np.log(d["distance_km"].astype(float)),
        pair=lambda d: d["city_a"].astype(str) + "-" + d["city_b"].astype(str))
    fml = "collab ~ log_distance | city_a^year + city_b^year"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = (pf.feols if model == "ols" else pf.fepois)(fml, dy, vcov={"CRV1": "pair"})
    for term in ("log_distance",):
        assert got[term]["coef"] == pytest.approx(ref.coef()[term], rel=1e-6)
        assert got[term]["se"] == pytest.approx(ref.se()[term], rel=1e-4)


def test_a_gravity_model_takes_a_lag_as_any_formula(ws):
    """PPML on the dyad-year panel with a lagged outcome among its regressors: the gravity path said the dyad
    panel had no l1_collab. It equals pyfixest's fepois with the pair's previous-year collab written out here
    (a pair absent the year before: missing, the row dropped)."""
    import pyfixest as pf

    r = run(["fit", "-w", str(ws), "--panel", "dyad-year", "--model", "ppml", "--json",
             "--formula", "collab ~ log_distance + l1_collab | origin_year + dest_year"])
    got = json.loads(r.output)["coefficients"]
    dy = pd.read_parquet(ws / "metrics" / "dyad_year.parquet").assign(
        log_distance=lambda d: np.log(d["distance_km"].astype(float)),
        pair=lambda d: d["city_a"].astype(str) + "-" + d["city_b"].astype(str))
    before = dy.assign(year=dy["year"] + 1)[["pair", "year", "collab"]].rename(columns={"collab": "l1_collab"})
    dy = dy.merge(before, on=["pair", "year"], how="left")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois("collab ~ log_distance + l1_collab | city_a^year + city_b^year", dy, vcov={"CRV1": "pair"})
    for term in ("log_distance", "l1_collab"):
        assert got[term]["coef"] == pytest.approx(ref.coef()[term], rel=1e-6)
        assert got[term]["se"] == pytest.approx(ref.se()[term], rel=1e-4)


def test_cli_and_spec_take_regression_weights(ws, tmp_path):
    """--weights on the command line and weights in a SPEC's fit model give the API's numbers (statsmodels' WLS
    in tests/test_fit_weights.py); weights on another kind, or with --inference, is one message (it would be
    ignored, or the inference unweighted)."""
    from citynet.analysis.estimators import fit
    from citynet.analysis.spec import load_panels, run_spec

    from citynet.workspace import Workspace

    fml = "ln_green_patents ~ low_carbon | city_code + year"
    r = run(["fit", "-w", str(ws), "--formula", fml, "--weights", "population", "--json"])
    got = json.loads(r.output)
    want = fit(load_panels(Workspace.open(ws))("city-year"), fml, weights="population")
    assert got["coefficients"]["low_carbon"]["coef"] == pytest.approx(want.params["low_carbon"], rel=1e-12)
    assert "Weighted by population." in got["notes"]
    res = run_spec({"models": [{"name": "w", "formula": fml, "weights": "population"}]}, Workspace.open(ws), tmp_path)
    (column,), = res.results.values()
    assert column.params["low_carbon"] == pytest.approx(want.params["low_carbon"], rel=1e-12)
    with pytest.raises(AnalysisError, match="weights is read by kinds fit, did and event_study only"):
        run_spec({"models": [{"name": "d", "kind": "cs", "y": "ln_green_patents", "weights": "population"}]},
                 Workspace.open(ws), tmp_path)
    with pytest.raises(UserError, match="--weights and --inference exclude each other"):
        run(["fit", "-w", str(ws), "--formula", fml, "--weights", "population", "--inference", "wild:9"])


def test_a_regressor_absorbed_by_the_fixed_effects_is_named(ws):
    with pytest.raises(AnalysisError, match=r"every one is collinear with them \(log_distance is constant within "
                                            r"each pair\)"):
        run(["fit", "-w", str(ws), "--panel", "dyad-year", "--formula", "collab ~ log_distance | pair + year"])


def test_fit_gravity_sample_is_applied(ws, tmp_path):
    """--sample on the dyad-year panel restricts the gravity sample (it was ignored): the fit equals the fit
    of a workspace whose dyad-year panel holds only the selected year (filtered here with pandas); the
    fixture has 80 cities, so at most 80·79/2 = 3,160 pairs in one year."""
    import shutil

    def fit_json(w, *extra):
        r = run(["fit", "-w", str(w), "--panel", "dyad-year", "--model", "ppml", "--json",
                 "--formula", "collab ~ log_distance | origin_year + dest_year", *extra])
        return json.loads(r.output)

    only = tmp_path / "only2020"
    shutil.copytree(ws, only)
    dy = pd.read_parquet(only / "metrics" / "dyad_year.parquet")
    dy[dy["year"] == 2020].to_parquet(only / "metrics" / "dyad_year.parquet")
    full, sampled, filtered = fit_json(ws), fit_json(ws, "--sample", "year == 2020"), fit_json(only)
    assert sampled["nobs"] == filtered["nobs"] <= 3160 < full["nobs"]
    assert sampled["coefficients"]["log_distance"]["coef"] == pytest.approx(
        filtered["coefficients"]["log_distance"]["coef"], rel=1e-9)


def test_fit_missing_column_error_lists_columns(ws):
    from citynet.cli import main

    with pytest.raises(SystemExit) as e:
        main(["fit", "-w", str(ws), "--formula", "green_patents ~ nope | city_code + year"])
    assert e.value.code == 5


def test_fit_spec_writes_outputs(ws, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text("""
[spec]
name = "mini"
title = "Mini"
vcov = "cluster:city_code"
labels = { low_carbon = "Low-carbon pilot" }

[sample]
years = [2007, 2020]

[[models]]
name = "(1)"
formula = "ln_green_patents ~ low_carbon | city_code + year"

[[models]]
name = "(2)"
formula = "ln_green_patents ~ low_carbon + l1_ln_gdp_per_capita | city_code + year"
sample = { drop_municipalities = true }

[[models]]
name = "ES"
kind = "event_study"
y = "ln_green_patents"
leads = 3
lags = 3
""", encoding="utf-8")
    out = tmp_path / "out"
    r = run(["fit", "-w", str(ws), str(spec), "--out", str(out)])
    assert "Low-carbon pilot" in r.output
    for ext in ("md", "tex", "csv", "html", "json"):
        assert (out / f"mini.{ext}").exists()
    assert (out / "ES.png").exists()
    assert f"wrote ES.png, ES_coefficients.csv to {out}" in " ".join(r.output.split())
    quiet = run(["-q", "fit", "-w", str(ws), str(spec), "--out", str(out)])  # -q: only errors
    assert quiet.output == ""


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_examples_run(ws, tmp_path, name):
    from citynet.analysis.spec import run_spec

    from citynet.workspace import Workspace

    res = run_spec(EXAMPLES / name, Workspace.open(ws), tmp_path)
    assert res.tables and all(len(v) for v in res.results.values())


@pytest.mark.parametrize("args,code,words", [
    (["--formula", "green_patents ~ low_carbon | city_code + year", "--sample", "year > 2030"], 5,
     ["sample is empty", "year > 2030", "2006–2020"]),
    (["--formula", "green_patents ~ low_carbon | city_code + year", "--sample", "year == 2010"], 5,
     ["alone in its fixed-effect group", "coarser fixed effects"]),
    (["--formula", "green_patents ~ low_carbon + city_label | city_code + year"], 5,
     ["'city_label' is text", "C(city_label)"]),
    (["--formula", "green_patents ~ low_carbon + | city_code + year"], 2, ["empty term"]),
    (["--formula", "green_patents ~ (low_carbon | city_code + year"], 2, ["unbalanced parentheses"]),
    (["--formula", "green_patents ~ low_carbn | city_code + year"], 5, ["did you mean 'low_carbon'"]),
    (["--formula", "ln_green_patent ~ low_carbon | city_code + year"], 5, ["did you mean 'ln_green_patents'"]),
    (["green_patents ~ low_carbon | city_code + year"], 2, ["is a formula, not a spec file", "--formula"]),
    # with an option of a formula fit: the same message (it said that --cluster applies to a --formula fit)
    (["green_patents ~ low_carbon | city_code + year", "--cluster", "province_code"], 2,
     ["is a formula, not a spec file", "--formula"]),
    # a dependent variable pyfixest fitted anyway (a 0 with a NaN SE, a perfect fit), or --inference tracebacked on
    (["--formula", "1 ~ low_carbon | city_code + year"], 5, ["the number 1, not a column"]),
    (["--formula", "low_carbon ~ low_carbon | year"], 5, ["both the dependent variable and a regressor"]),
    (["--formula", "low_carbon ~ green_patents | city_code", "--sample", "year < 2009"], 5,
     ["low_carbon is 0 in every one of the", "nothing to explain"]),
    (["--formula", "log(green_patents) ~ low_carbon | city_code + year", "--inference", "wild:9"], 5,
     ["log(green_patents) is an expression", "ln_X = ln(1+X)"]),
    (["--formula", "log(green_patents) ~ low_carbon | city_code + year", "--model", "ppml"], 5,
     ["PPML models a count", "not log(green_patents)"]),
    # a log of a variable that is 0 in every row of the sample: pyfixest's Rust core aborted the process (exit 134)
    (["--formula", "green_patents ~ log(partners_new) | city_code + year", "--sample", "partners_new == 0"], 5,
     ["the estimation sample is empty with --sample 'partners_new == 0': log(partners_new) is −∞ or undefined in "
      "every one of the", "use ln_partners_new = ln(1 + partners_new) (0 in every row here"]),
    (["--formula", "log(partners_new) ~ low_carbon | city_code + year", "--sample", "partners_new == 0"], 5,
     ["(partners_new ≤ 0 in each)", "or a Poisson model of partners_new (--model ppml)"]),
    (["--formula", "green_patents ~ I(1/partners_new) + np.sqrt(partners_new - 1) | city_code + year", "--sample",
      "partners_new == 0"], 5, ["I(1/partners_new), np.sqrt(partners_new - 1) are infinite or undefined in every one "
                                "of the", "check the expression's domain"]),
    # an instrument absorbed by the city fixed effects: a ZeroDivisionError in the first-stage diagnostics
    (["--formula", "ln_collab_patents ~ collab_betweenness | city_code + year | collab_degree ~ tier_high"], 5,
     ["no excluded instrument left", "not identified"]),
    # an option the chosen path does not read is refused, not dropped (README: 2 = bad option)
    (["--panel", "dyad-year", "--model", "ppml", "--formula", "collab ~ log_distance | origin_year + dest_year",
      "--inference", "wild:9"], 2, ["--inference works on the city-year panel"]),
    (["--panel", "dyad-year", "--model", "ppml", "--formula", "collab ~ log_distance | origin_year + dest_year",
      "--sample", "year > 2030"], 5, ["sample is empty", "year > 2030", "2018–2020"]),
    (["--formula", "green_patents ~ low_carbon | city_code + year", "--param", "low_carbon"], 2,
     ["--param", "no --inference"]),
    (["--formula", "green_patents ~ low_carbon | city_code + year", "--out", "tables"], 2,
     ["--out is the folder of a SPEC's outputs"]),
    ([str(EXAMPLES / "p001_tables3_5.toml"), "--vcov", "hc1"], 2, ["--vcov applies to a --formula fit"]),
    ([str(EXAMPLES / "p001_tables3_5.toml"), "--model", "ppml", "--sample", "year > 2010"], 2,
     ["--model, --sample apply to a --formula fit"]),
])
def test_fit_bad_input_one_message_and_exit_code(ws, tmp_path, args, code, words):
    """Each user mistake: one message naming the term and the fix, the README's exit code, no traceback."""
    import subprocess
    import sys

    df = pd.read_parquet(ws / "metrics" / "city_year.parquet")
    if "city_label" not in df.columns:
        df.assign(city_label="c" + df["city_code"].astype(str)).to_parquet(ws / "metrics" / "city_year.parquet")
    p = subprocess.run([sys.executable, "-m", "citynet", "fit", "-w", str(ws), *args], capture_output=True, text=True)
    out = p.stdout + p.stderr
    assert p.returncode == code, out
    assert "Traceback" not in out
    for w in words:
        assert w in out, out


def test_fit_warns_collinear_with_fixed_effects_and_few_clusters(ws):
    """A regressor that is a city constant plus rounding noise (the demo's ln population case) and 20 clusters:
    both warnings reach the CLI output and the table notes."""
    import subprocess
    import sys

    df = pd.read_parquet(ws / "metrics" / "city_year.parquet")
    rng = np.random.default_rng(1)
    codes = df["city_code"].astype("category").cat.codes.to_numpy()
    df = df.assign(ln_pop_const=6 + 0.01 * codes + 1e-6 * rng.normal(size=len(df)), region20=codes % 20)
    df.to_parquet(ws / "metrics" / "city_year.parquet")
    p = subprocess.run([sys.executable, "-m", "citynet", "fit", "-w", str(ws), "--formula",
                        "green_patents ~ low_carbon + ln_pop_const | city_code + year", "--cluster", "region20"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "ln_pop_const is (nearly) collinear with the fixed effects city_code + year" in p.stderr
    assert "residual variance after demeaning" in p.stderr
    assert "only 20 clusters" in p.stderr and "wild cluster bootstrap" in p.stderr
    assert "collinear" in p.stdout  # the note is in the table too


def test_truncation_warning_for_granted_by_application_year(ws):
    from citynet.analysis.estimators import fit

    df = pd.read_parquet(ws / "metrics" / "city_year.parquet")
    df.attrs["citynet"] = {"filter": {"granted_only": True, "year_basis": "application"}}
    r = fit(df, "green_patents ~ collab_patents | city_code + year")
    assert any("right truncation" in n and "year <= 2017" in n for n in r.notes)
    r = fit(df, "green_patents ~ collab_patents | city_code + year", sample="year <= 2017")
    assert not any("truncation" in n for n in r.notes)
    df.attrs["citynet"] = {"filter": {"granted_only": False, "year_basis": "application"}}
    assert not any("truncation" in n for n in fit(df, "green_patents ~ collab_patents | city_code + year").notes)


def test_spec_model_that_cannot_be_estimated_is_one_message(ws, tmp_path):
    """A spatial model whose two regressors are the same column: the estimator's singular matrix becomes
    one message naming the table and the model, exit 5, no traceback."""
    import subprocess
    import sys

    spec = tmp_path / "bad.toml"
    spec.write_text("""
[[tables]]
name = "spatial"
  [[tables.models]]
  name = "SDM twice x"
  kind = "sdm"
  y = "ln_green_patents"
  x = ["ln_gdp_per_capita", "ln_gdp_per_capita"]
  w = "inverse_distance"
  fe = "city"
  effects_draws = 0
""", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "citynet", "fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    out = p.stdout + p.stderr
    assert "Traceback" not in out, out
    assert p.returncode == 5, out
    assert "SDM twice x" in out


def test_spec_model_key_typo_is_refused(ws, tmp_path):
    """A misspelt model key (smaple = {…}) was ignored: the model was fitted on the whole sample, exit 0. Now one
    message naming the near key, exit 5 (README: analysis error, a bad SPEC file)."""
    import subprocess
    import sys

    spec = tmp_path / "typo.toml"
    spec.write_text('[spec]\nname = "t"\n[[models]]\nname = "(1)"\n'
                    'formula = "ln_green_patents ~ low_carbon | city_code + year"\nsmaple = { years = [2010, 2020] }\n',
                    encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "citynet", "fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert p.returncode == 5 and "unknown key 'smaple' (did you mean 'sample'?)" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "o" / "t.md").exists()


def test_model_keys_cover_what_the_estimators_read():
    """MODEL_KEYS holds every key the analysis code reads from a model (m.get("k"), m["k"], "k" in m,
    _require(m, "k")) and every key of the shipped examples, so that the typo check never refuses a real key."""
    import re
    import tomllib

    from citynet.analysis.spec import MODEL_KEYS

    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r'\bm\.get\("(\w+)"|\bm\["(\w+)"\]|"(\w+)" (?:not )?in m\b|_require\(m, "(\w+)"')
    read = {k for f in (root / "analysis").rglob("*.py") for g in pattern.findall(f.read_text(encoding="utf-8"))
            for k in g if k}
    shipped = set()
    for f in (root / "examples").glob("*.toml"):
        d = tomllib.loads(f.read_text(encoding="utf-8"))
        shipped |= {k for t in d.get("tables", [d]) for m in t.get("models", []) for k in m}
    assert read <= MODEL_KEYS, read - MODEL_KEYS
    assert shipped <= MODEL_KEYS, shipped - MODEL_KEYS


@pytest.mark.parametrize("text, words", [
    ('[[table]]\nname = "a"\n[[table.models]]\nformula = "y ~ x"\n', "the spec: unknown key 'table' (did you mean 'tables'?)"),
    ('[tables]\nname = "a"\n[[tables.models]]\nformula = "y ~ x"\n', "the spec's tables are not a list of tables"),
    ('[[tables]]\nname = "a"\n[[tables.model]]\nformula = "y ~ x"\n', "table 'a': unknown key 'model' (did you mean 'models'?)"),
    ('[[tables]]\nname = "t/1"\n[[tables.models]]\nformula = "y ~ x"\n', "table name 't/1' is not a file name"),
    ('[[tables]]\nname = "a"\n[[tables.models]]\nformula = "y ~ x"\nsample = 2010\n', "is neither a table nor a query"),
])
def test_spec_shape_mistakes_are_one_message_before_any_fit(ws, tmp_path, text, words):
    spec = tmp_path / "s.toml"
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(AnalysisError) as err:
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "out")])
    assert words in str(err.value)
    assert not (tmp_path / "out" / "t").exists()  # the '/' made a folder


def test_spec_sample_may_be_a_query_as_sample_is(ws, tmp_path):
    """sample = "year >= 2012" (a string, as --sample) was a TypeError traceback: it is {query = …}. And a SPEC's
    sample keeps the lag of its first year, as --sample does and fixest's subset: the lag is computed on every
    row, then the sample is taken (the SPEC dropped 2012's lag: 640 observations against --sample's 720)."""
    formula = "ln_collab_patents ~ l1_collab_degree | city_code + year"
    samples = {"as_text": '"year >= 2012"', "as_table": '{query = "year >= 2012"}', "years": "{years = [2012, 2020]}"}
    for name, sample in samples.items():
        spec = tmp_path / f"{name}.toml"
        spec.write_text(f'[[tables]]\nname = "{name}"\n[[tables.models]]\nformula = "{formula}"\nsample = {sample}\n',
                        encoding="utf-8")
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path)])
    fits = [json.loads((tmp_path / f"{n}.json").read_text(encoding="utf-8"))[0] for n in samples]
    cli = json.loads(run(["fit", "-w", str(ws), "--formula", formula, "--sample", "year >= 2012", "--json"]).output)
    wild = json.loads(run(["fit", "-w", str(ws), "--formula", formula, "--sample", "year >= 2012", "--json",
                           "--inference", "wild:99"]).output)
    assert {f["nobs"] for f in fits} == {cli["nobs"], wild["nobs"]} == {80 * 9}  # 2012–2020, 2012's lag from 2011
    coef = cli["coefficients"]["l1_collab_degree"]["coef"]
    assert all(f["coefficients"]["l1_collab_degree"]["coef"] == pytest.approx(coef, rel=1e-12) for f in fits)


def test_spec_sample_keeps_the_lags_of_every_kind(ws, tmp_path):
    """A did's lagged control: with years = [2008, 2020] the 2008 rows keep 2007's value (80 cities × 13 years)."""
    spec = tmp_path / "did.toml"
    spec.write_text('[[tables]]\nname = "did"\n[[tables.models]]\nkind = "did"\ny = "ln_green_patents"\n'
                    'treat = "low_carbon"\ncontrols = ["l1_ln_gdp_per_capita"]\nsample = {years = [2008, 2020]}\n',
                    encoding="utf-8")
    run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path)])
    assert json.loads((tmp_path / "did.json").read_text(encoding="utf-8"))[0]["nobs"] == 80 * 13


def test_a_community_label_is_a_group_never_a_number():
    """collab_community numbers each year's Leiden communities by size (1 = the largest): fitted as a regressor
    (or its lag or log) it was an amount without a word. Refused (exit 5, AnalysisError) with the grouping forms;
    i(), C() and a fixed effect by year use it as groups. The panel is made here: 2 communities × 3 years."""
    from citynet.analysis.estimators import fit

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"city_code": np.repeat([f"{c}00" for c in range(1100, 1130)], 3),
                       "year": np.tile([2018, 2019, 2020], 30)})
    df["collab_community"] = rng.integers(1, 3, len(df))
    df["x"] = rng.normal(size=len(df))
    df["y"] = df["x"] + rng.normal(size=len(df))
    for formula in ("y ~ x + collab_community | city_code", "y ~ x + l1_collab_community | city_code",
                    "y ~ x + ln_collab_community", "y ~ x + L(collab_community, 1) | year"):
        with pytest.raises(AnalysisError, match="is a Leiden community label") as err:
            fit(df, formula)
        assert "collab_community^year" in err.value.fix
    for formula in ("y ~ x + i(collab_community) | city_code", "y ~ x | city_code + collab_community^year",
                    "y ~ x + C(collab_community) | city_code"):
        assert "x" in fit(df, formula).params.index


@pytest.mark.parametrize("kind, extra, words, fix", [
    ("fit", 'fe = "city_code"', "fe = \"city_code\" is not read: kind \"fit\" reads its model from formula",
     'write the fixed effects after "|" in the formula'),
    ("fit", 'controls = ["population"]', "controls = [\"population\"] is not read", "write the variables in the formula"),
    ("fit", 'instruments = ["tier_high"]', "instruments = [\"tier_high\"] is not read", 'or use kind = "iv"'),
    ("fit", 'cluster = "province_code"', "cluster = \"province_code\" is not read",
     'write vcov = "cluster:province_code"'),
    ("did", 'y = "ln_green_patents"', "formula is read by kind \"fit\" only", 'write kind = "fit" to fit the formula'),
    ("did", 'y = "ln_green_patents"\ncluster = "province_code"\nformula = "x ~ y"', "formula is read by kind",
     "write kind"),
])
def test_a_spec_key_the_kind_does_not_read_is_refused(ws, tmp_path, kind, extra, words, fix):
    """A key another kind reads was ignored by a kind that does not read it: kind fit with fe = "city_code" beside
    its formula fitted the formula's city + year effects, with cluster = "province_code" it clustered by city_code
    (the default), a did given a formula fitted without the formula's controls — each exit 0 without a word. Now
    one message naming the key and where to write it instead, exit 5, before any file is written."""
    spec = tmp_path / "s.toml"
    body = f'kind = "{kind}"\n{extra}\n'
    if "formula" not in extra:
        body += 'formula = "ln_green_patents ~ low_carbon + population | city_code + year"\n'
    spec.write_text(f'[spec]\nname = "t"\n[[models]]\nname = "(1)"\n{body}', encoding="utf-8")
    with pytest.raises(AnalysisError) as err:
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "o")])
    assert err.value.exit_code == 5 and words in err.value.message and fix in err.value.fix, (err.value.message,
                                                                                             err.value.fix)
    assert not (tmp_path / "o" / "t.md").exists()
    # the keys where they are read: the same model as kind fit with vcov, and as kind did with its keys
    spec.write_text('[spec]\nname = "t"\n[[models]]\nname = "(1)"\nvcov = "cluster:province_code"\n'
                    'formula = "ln_green_patents ~ low_carbon | city_code + year"\n[[models]]\nname = "(2)"\n'
                    'kind = "did"\ny = "ln_green_patents"\ncontrols = ["population"]\nfe = "city_code + year"\n',
                    encoding="utf-8")
    run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "ok")])
    assert (tmp_path / "ok" / "t.md").exists()


SPEC_TEXT_FOR_ENCODINGS = ('[spec]\nname = "表"\n[[models]]\nname = "(1)"\n'
                           'formula = "ln_green_patents ~ low_carbon | city_code + year"\n')


@pytest.mark.parametrize("data, words", [
    ("\ufeff" + SPEC_TEXT_FOR_ENCODINGS, None),
    (SPEC_TEXT_FOR_ENCODINGS.encode("gb18030"), "is not UTF-8 text: it looks like GBK/GB18030"),
    (SPEC_TEXT_FOR_ENCODINGS.replace('name = "表"', 'name ＝ "表"'), "has the full-width character '＝'"),
])
def test_a_spec_file_is_read_as_citynet_toml_is(ws, tmp_path, data, words):
    """A SPEC saved by Notepad with a byte order mark was 'Invalid statement (at line 1, column 1)' with the fix
    'correct the TOML syntax at that line' — of a correct file; a GBK file was Python's codec error. A SPEC is now
    read as citynet.toml is (workspace.read_config_file): the BOM skipped, and GBK and a full-width '＝' each one
    message naming what to change, exit 2."""
    spec = tmp_path / "s.toml"
    spec.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    if words is None:
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "o")])
        assert (tmp_path / "o" / "表.md").exists()
        return
    with pytest.raises(UserError) as err:
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "o")])
    assert err.value.exit_code == 2 and words in err.value.message, err.value.message


def test_spec_exclude_years_may_be_one_year(ws, tmp_path):
    """sample = {exclude_years = 2015} (one year, not a list) was a TypeError traceback (the column title's
    "Drop 2015" was made from it); it is the list [2015], as --sample "year != 2015" gives."""
    spec = tmp_path / "s.toml"
    spec.write_text('[spec]\nname = "t"\n[[models]]\nname = "Drop 2015"\n'
                    'formula = "ln_green_patents ~ low_carbon | city_code + year"\nsample = {exclude_years = 2015}\n',
                    encoding="utf-8")
    run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "o")])
    got = json.loads((tmp_path / "o" / "t.json").read_text(encoding="utf-8"))[0]
    cli = json.loads(run(["fit", "-w", str(ws), "--formula", "ln_green_patents ~ low_carbon | city_code + year",
                          "--sample", "year != 2015", "--json"]).output)
    assert got["nobs"] == cli["nobs"] == 80 * 14
    assert got["coefficients"]["low_carbon"]["coef"] == pytest.approx(cli["coefficients"]["low_carbon"]["coef"], rel=1e-12)


@pytest.mark.parametrize("options, words", [
    ('winsorize = { columns = ["collab_degree"], p = 0.01 }', "[panel_options]: unknown key 'winsorize' (did you mean 'winsor'?)"),
    ('low_carbon_coding = "announced"', "[panel_options] low_carbon_coding = 'announced' is not a coding"),
    ('derive = "x = 1"', "[panel_options] derive = 'x = 1' is not a table of name = \"expression\""),
    ('winsor = { columns = ["collab_degree"], p = 5 }', "[panel_options] winsor.p = 5 is not a share from 0 to 0.5"),
    ('winsor = { colums = ["collab_degree"] }', "is not a table of columns, p, by, suffix"),
])
def test_spec_panel_options_mistakes_are_one_message_before_any_fit(ws, tmp_path, options, words):
    """[panel_options] was read without a check: winsorize = {…} for winsor and an unknown coding were ignored
    (the columns not winsorised, the default coding), derive = "x = 1" was an AttributeError traceback and
    winsor.p = 5 said the model 'cannot be estimated'. Each is now one message, exit 5, before any file."""
    spec = tmp_path / "s.toml"
    spec.write_text(f'[spec]\nname = "t"\n[panel_options]\n{options}\n[[models]]\nname = "a"\n'
                    'formula = "ln_green_patents ~ low_carbon + collab_degree | city_code + year"\n', encoding="utf-8")
    with pytest.raises(AnalysisError) as err:
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "o")])
    assert err.value.exit_code == 5 and words in err.value.message, err.value.message
    assert not (tmp_path / "o" / "t.md").exists()


def test_spec_winsor_columns_may_be_one_name(ws, tmp_path):
    """winsor = {columns = "collab_degree"} was read letter by letter ("winsorize: no column 'c'"); one name is
    the list of it: the same estimate as columns = ["collab_degree"]."""
    got = []
    for columns in ('"collab_degree"', '["collab_degree"]'):
        spec = tmp_path / "s.toml"
        spec.write_text(f'[spec]\nname = "t"\n[panel_options]\nwinsor = {{ columns = {columns}, p = 0.05 }}\n'
                        '[[models]]\nname = "a"\nformula = "ln_green_patents ~ collab_degree | city_code + year"\n',
                        encoding="utf-8")
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "o")])
        got.append(json.loads((tmp_path / "o" / "t.json").read_text(encoding="utf-8"))[0])
    plain = json.loads(run(["fit", "-w", str(ws), "--formula", "ln_green_patents ~ collab_degree | city_code + year",
                            "--json"]).output)
    assert got[0]["coefficients"] == got[1]["coefficients"] != plain["coefficients"]


def test_a_low_carbon_coding_beside_the_covariates_low_carbon(ws, tmp_path, caplog):
    """Covariates that carry low_carbon were the panel's treatment whatever coding was asked for, without a word.
    A SPEC's [panel_options] low_carbon_coding is now applied (the covariates' column set aside, said at info level):
    its estimate is that of the same panel with the covariates' column dropped — the coding's years, from
    citynet's policy table — and differs from the covariates' own. citynet.toml [analysis] low_carbon_coding =
    "source" is not applied over the user's column: a warning says so; the default coding says nothing."""
    import logging
    import shutil

    import pandas as pd

    w = tmp_path / "ws"
    shutil.copytree(ws, w)
    spec = tmp_path / "s.toml"
    spec.write_text('[spec]\nname = "t"\n[panel_options]\nlow_carbon_coding = "paper004"\n[[models]]\nname = "a"\n'
                    'formula = "ln_green_patents ~ low_carbon | city_code + year"\n', encoding="utf-8")
    formula = ["fit", "-w", str(w), "--formula", "ln_green_patents ~ low_carbon | city_code + year", "--json"]
    with caplog.at_level(logging.INFO):
        run(["fit", "-w", str(w), str(spec), "--out", str(tmp_path / "o"), "--json"])
        own = json.loads(run(formula).output)["coefficients"]["low_carbon"]
        (w / "citynet.toml").write_text('[analysis]\nlow_carbon_coding = "source"\n', encoding="utf-8")
        run(formula)
    said = [r.getMessage() for r in caplog.records if "low_carbon_coding" in r.getMessage()]
    assert len(said) == 2, said
    assert "low_carbon_coding = 'paper004' is applied" in said[0] and "set aside" in said[0]
    assert "citynet.toml [analysis] low_carbon_coding = 'source' is not applied" in said[1]
    assert "covariates.parquet carries a low_carbon column" in said[1]
    applied = json.loads((tmp_path / "o" / "t.json").read_text(encoding="utf-8"))
    # the reference: the same fit on covariates without their low_carbon column (paper004's years from the table)
    cov = w / "canonical" / "covariates.parquet"
    pd.read_parquet(cov).drop(columns=["low_carbon"]).to_parquet(cov)
    (w / "citynet.toml").write_text('[analysis]\nlow_carbon_coding = "paper004"\n', encoding="utf-8")
    reference = json.loads(run(formula).output)["coefficients"]["low_carbon"]
    assert applied[0]["coefficients"]["low_carbon"] == reference != own


def test_spec_out_named_like_a_file_is_refused(ws, tmp_path):
    """citynet fit SPEC --out results/table3.md made a folder named table3.md and wrote t.md, t.csv … inside it,
    exit 0: --out is the tables' folder. A name ending like one of its files is one message, exit 2, nothing
    made; a folder of that name that exists already is used as before."""
    spec = tmp_path / "s.toml"
    spec.write_text('[spec]\nname = "t"\n[[models]]\nname = "a"\nformula = "ln_green_patents ~ low_carbon | '
                    'city_code + year"\n', encoding="utf-8")
    with pytest.raises(UserError) as err:
        run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "res" / "table3.md")])
    assert err.value.exit_code == 2 and "names a file, and --out is the folder of the tables" in err.value.message
    assert err.value.fix.startswith(f"--out {tmp_path / 'res' / 'table3'}") and not (tmp_path / "res").exists()
    (tmp_path / "old.md").mkdir()
    run(["fit", "-w", str(ws), str(spec), "--out", str(tmp_path / "old.md")])
    assert (tmp_path / "old.md" / "t.md").exists()
