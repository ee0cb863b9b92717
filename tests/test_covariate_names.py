"""Covariate headers that are not names (``GDP (亿元)``, ``gdp-pc``, ``2006年人口``, ``人均GDP``, ``R&D``):
``ingest --covariates`` gives each a formula name and prints and stores the mapping; ``fit`` takes the new
name or the header in backquotes (formulas, ``--sample``, SPEC files); a header written without backquotes,
or an unknown name, is one message with the near names (exit 5). Coefficients are checked against a
least-squares fit with city and year dummies in numpy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli import exit_code, invoke
from tests.test_fit_cli import build_workspace
from tests.test_ingest_stream import _lines

HEADERS = {"GDP (亿元)": "GDP_亿元", "gdp-pc": "gdp_pc", "2006年人口": "v2006年人口", "人均GDP": "人均GDP",
           "R&D": "R_D", "ＦＤＩ（％）": "FDI"}  # (the last: full width, NFKC)


def test_formula_names_of_headers():
    from citynet.etl.covariates import formula_name

    for header, name in {**HEADERS, "class": "class_", "(%)": "v", "a.b c": "a_b_c", "émissions": "émissions",
                         "CO₂ (t)": "CO2_t", " x ": "x"}.items():
        assert formula_name(header) == name, header


def _covariate_file(path: Path, codes, years, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(codes) * len(years)
    df = pd.DataFrame({"城市代码": np.repeat(codes, len(years)), "年份": np.tile(years, len(codes))})
    for h in HEADERS:
        df[h] = rng.normal(0, 1, n).round(6)
    df.to_csv(path, index=False, encoding="utf-8")
    return df


def _export_and_panel(root: Path):
    """``raw/`` with a 300-row export, and a city-year panel workspace (tests/test_fit_cli.py's) with its panel."""
    raw = root / "raw"
    raw.mkdir()
    export = raw / "patents.csv"
    export.write_text("".join(_lines("patents.csv.gz")[:300]), encoding="utf-8")
    panel = build_workspace(root / "panel", n_city=40)
    return raw, export, panel, pd.read_parquet(panel / "metrics" / "city_year.parquet")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A real ``citynet ingest`` of a small export with a covariate file of such headers; the fits run on a
    city-year panel (tests/test_fit_cli.py's numpy one) with the ``covariates.parquet`` that ingest wrote."""
    root = tmp_path_factory.mktemp("names")
    raw, export, panel, cy = _export_and_panel(root)
    cov = _covariate_file(raw / "controls.csv", sorted(cy["city_code"].unique()), sorted(cy["year"].unique()))
    w = root / "ws"
    assert exit_code("ingest", "-w", w, export, "--covariates", raw / "controls.csv") == 0
    shutil.copyfile(w / "canonical" / "covariates.parquet", panel / "canonical" / "covariates.parquet")
    return w, panel, cy, cov


def test_ingest_names_the_columns_for_formulas_and_says_so(ws, tmp_path, capsys):
    w, _, _, cov = ws
    table = pd.read_parquet(w / "canonical" / "covariates.parquet")
    assert list(table.columns) == ["city_code", "year", *HEADERS.values()]
    for header, name in HEADERS.items():  # the values are the file's, under the new name
        got = table.set_index(["city_code", "year"])[name].sort_index()
        want = cov.set_index(["城市代码", "年份"])[header].sort_index()
        assert np.allclose(got.to_numpy(), want.to_numpy())
    rep = json.loads((w / "reports" / "ingest.json").read_text(encoding="utf-8"))
    assert rep["covariates"][0]["renamed"] == {h: n for h, n in HEADERS.items() if h != n}
    # printed: the mapping, one line
    export = tmp_path / "p.csv"
    export.write_text("".join(_lines("patents.csv.gz")[:50]), encoding="utf-8")
    code, out, err = invoke(capsys, "ingest", "-w", tmp_path / "w2", export, "--covariates",
                            Path(rep["covariates"][0]["file"]))
    assert code == 0
    line = next(ln for ln in (out + err).splitlines() if "renamed for formulas" in ln)
    assert "'GDP (亿元)' → GDP_亿元" in line and "'R&D' → R_D" in line and "人均GDP" not in line


def test_two_headers_with_one_formula_name_are_refused(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text("city_code,year,GDP(亿元),GDP (亿元)\n320100,2010,1,2\n", encoding="utf-8")
    export = tmp_path / "p.csv"
    export.write_text("".join(_lines("patents.csv.gz")[:50]), encoding="utf-8")
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "w", export, "--covariates", f)
    assert code == 3 and err.count("error:") == 1
    assert "'GDP(亿元)' and 'GDP (亿元)' would both be called GDP_亿元" in err


def _ols_fe(cy: pd.DataFrame, cov: pd.DataFrame, x: list[str]) -> np.ndarray:
    """ln(1+green_patents) on the covariates ``x`` (headers) and city and year dummies (numpy lstsq)."""
    d = cy.merge(cov.rename(columns={"城市代码": "city_code", "年份": "year"}).astype({"city_code": str}),
                 on=["city_code", "year"])
    dummies = pd.get_dummies(d[["city_code", "year"]].astype(str), drop_first=True).to_numpy(float)
    X = np.column_stack([d[x].to_numpy(float), np.ones(len(d)), dummies])
    beta, *_ = np.linalg.lstsq(X, np.log1p(d["green_patents"].to_numpy(float)), rcond=None)
    return beta[: len(x)]


def test_fit_takes_the_new_names_or_the_headers_in_backquotes(ws, capsys):
    _, w, cy, cov = ws
    want = _ols_fe(cy, cov, ["GDP (亿元)", "R&D", "2006年人口"])
    for rhs in ("GDP_亿元 + R_D + v2006年人口", "`GDP (亿元)` + `R&D` + `2006年人口`"):
        code, out, err = invoke(capsys, "fit", "-w", w, "--formula", f"ln_green_patents ~ {rhs} | city_code + year",
                                "--json")
        assert code == 0, err
        coef = json.loads(out)["coefficients"]
        assert list(coef) == ["GDP_亿元", "R_D", "v2006年人口"]
        assert np.allclose([coef[n]["coef"] for n in coef], want, rtol=1e-8, atol=1e-10)
    # the coefficient a wild bootstrap tests, named by its header
    code, out, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ `GDP (亿元)` + `R&D` | city_code + year",
                            "--inference", "wild:99", "--param", "`R&D`", "--json")
    assert code == 0, err
    assert 0 <= json.loads(out)["stats"]["wild_pvalue"] <= 1
    # a Chinese name that is a name already, lagged; and --sample with a header in backquotes
    code, out, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ L(人均GDP, 1) | city_code + year",
                            "--sample", "`gdp-pc` > -10", "--json")
    assert code == 0, err
    assert list(json.loads(out)["coefficients"]) == ["l1_人均GDP"]


def test_a_header_without_backquotes_or_an_unknown_name_is_one_message(ws, capsys):
    _, w, _, _ = ws
    cases = {"GDP (亿元)": "'GDP (亿元)' is the column GDP_亿元: write GDP_亿元 or `GDP (亿元)`",
             "R&D": "'R&D' is the column R_D: write R_D or `R&D`",
             "gdp-pc": "'gdp-pc' is the column gdp_pc",
             "2006年人口": "'2006年人口' is the column v2006年人口",
             "GDP_亿园": "did you mean 'GDP_亿元'?",
             "`GDP (亿园)`": "'GDP_亿园', which the panel does not have ('GDP_亿园': did you mean 'GDP_亿元'?)"}
    for term, text in cases.items():
        code, _, err = invoke(capsys, "fit", "-w", w, "--formula", f"ln_green_patents ~ {term} | city_code + year")
        assert code == 5, (term, err)
        assert text in err and err.count("error:") == 1 and len(err.strip().splitlines()) == 2, (term, err)
    code, _, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ `GDP (亿元) | city_code + year")
    assert code == 2 and "unmatched backquote" in err


def test_a_spec_file_names_headers_in_backquotes(ws, tmp_path, capsys):
    _, w, cy, cov = ws
    spec = tmp_path / "spec.toml"
    spec.write_text('[spec]\nname = "names"\n\n[[models]]\nname = "m1"\n'
                    'formula = "ln_green_patents ~ `GDP (亿元)` + `R&D` | city_code + year"\n'
                    'sample = {query = "`gdp-pc` > 0"}\n', encoding="utf-8")
    code, out, err = invoke(capsys, "fit", "-w", w, spec, "--json", "--out", tmp_path / "res")
    assert code == 0, err
    (m1,) = json.loads(out)["names"]
    d = cy.merge(cov.rename(columns={"城市代码": "city_code", "年份": "year"}), on=["city_code", "year"])
    keep = cov[cov["gdp-pc"] > 0]
    want = _ols_fe(cy, keep, ["GDP (亿元)", "R&D"])
    assert len(d) > m1["nobs"] > 0
    assert np.allclose([m1["coefficients"][n]["coef"] for n in ("GDP_亿元", "R_D")], want, rtol=1e-8, atol=1e-10)


def test_map_takes_a_covariate_by_its_header(ws, tmp_path, capsys):
    _, w, _, _ = ws
    for var in ("GDP (亿元)", "`GDP (亿元)`", "GDP_亿元"):
        out = tmp_path / f"{len(var)}.png"
        code, _, err = invoke(capsys, "map", "-w", w, "--var", var, "--year", "2010", "--out", out)
        assert code == 0 and out.stat().st_size > 10_000, (var, err)


def test_the_python_api_names_the_columns_as_ingest_does():
    from citynet.analysis.panel import assemble_panel

    metrics = pd.DataFrame({"city_code": ["320100", "320100"], "year": [2010, 2011], "green_patents": [1, 2]})
    cov = pd.DataFrame({"城市": ["南京", "南京市"], "年份": [2010, 2011], **{h: [1.0, 2.0] for h in HEADERS}})
    panel, _ = assemble_panel(metrics, cov, policies=False)
    assert list(panel.columns) == ["city_code", "year", "green_patents", *HEADERS.values()]
    assert panel["GDP_亿元"].tolist() == [1.0, 2.0]


def test_stata_export_labels_a_renamed_covariate_with_its_header(ws, tmp_path, capsys):
    _, w, _, _ = ws
    out = tmp_path / "cy.dta"
    code, _, err = invoke(capsys, "export", "-w", w, "--panel", "city-year", "--out", out)
    assert code == 0, err
    with pd.io.stata.StataReader(out) as r:
        labels = r.variable_labels()
        names = list(r.read().columns)
    assert {"GDP_亿元", "gdp_pc", "v2006年人口", "R_D", "人均GDP", "FDI"} <= set(names)
    assert labels["GDP_亿元"] == "GDP (亿元)" and labels["R_D"] == "R&D" and labels["FDI"] == "ＦＤＩ（％）"


@pytest.fixture(scope="module")
def ws_regions(ws, tmp_path_factory):
    """The panel of ``ws`` with one more covariate, a region of each city under the header ``区域 (组)`` (8 groups,
    a city keeps its group): a cluster variable named by its header, ingested by ``citynet ingest``."""
    _, panel, cy, cov = ws
    root = tmp_path_factory.mktemp("regions")
    codes = sorted(cy["city_code"].unique())
    groups = cov.assign(**{"区域 (组)": cov["城市代码"].map({c: k % 8 + 1 for k, c in enumerate(codes)})})
    groups.to_csv(root / "controls.csv", index=False, encoding="utf-8")
    export = root / "patents.csv"
    export.write_text("".join(_lines("patents.csv.gz")[:50]), encoding="utf-8")
    assert exit_code("ingest", "-w", root / "ing", export, "--covariates", root / "controls.csv") == 0
    w = root / "panel"
    shutil.copytree(panel, w)
    shutil.copyfile(root / "ing" / "canonical" / "covariates.parquet", w / "canonical" / "covariates.parquet")
    return w, cy, groups


def test_cluster_takes_a_header_in_backquotes_as_the_formula_does(ws_regions, capsys):
    w, cy, groups = ws_regions
    want = _ols_fe(cy, groups, ["GDP (亿元)"])
    d = cy.merge(groups.rename(columns={"城市代码": "city_code", "年份": "year"}), on=["city_code", "year"])
    fits = {}
    for cluster in ("`区域 (组)`", "区域_组", "区域 (组)"):
        code, out, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ `GDP (亿元)` | city_code + year",
                                "--cluster", cluster, "--json")
        assert code == 0, (cluster, err)
        fits[cluster] = r = json.loads(out)
        assert r["vcov"] == "cluster:区域_组"
        assert r["stats"]["n_clusters"] == d["区域 (组)"].nunique() == 8  # pandas' count of the groups
        assert np.isclose(r["coefficients"]["GDP_亿元"]["coef"], want[0], rtol=1e-8)
    assert len({f["coefficients"]["GDP_亿元"]["se"] for f in fits.values()}) == 1
    # the wild bootstrap clusters by it too; and two-way clusters, one of them in backquotes
    code, out, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ `GDP (亿元)` | city_code + year",
                            "--cluster", "`区域 (组)`", "--inference", "wild:99", "--json")
    assert code == 0, err
    assert json.loads(out)["stats"]["n_clusters"] == 8
    code, out, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ `GDP (亿元)` | city_code + year",
                            "--cluster", "`区域 (组)` + year", "--json")
    assert code == 0, err
    assert json.loads(out)["vcov"] == "cluster:区域_组+year"


def test_an_unknown_cluster_or_map_variable_is_the_formulas_message(ws_regions, tmp_path, capsys):
    w, _, _ = ws_regions
    fml = ("--formula", "ln_green_patents ~ `GDP (亿元)` | city_code + year")
    cases = {("fit", *fml, "--cluster", "`区域 (祖)`"): "--cluster names '区域_祖', which the panel does not have "
                                                       "('区域_祖': did you mean '区域_组'?)",
             ("fit", *fml, "--cluster", "provnce_code"): "--cluster names 'provnce_code'",
             ("fit", *fml, "--cluster", "区域_祖", "--inference", "wild:99"): "did you mean '区域_组'?",
             ("map", "--var", "`GDP (亿园)`", "--out", tmp_path / "m.png"): "--var names 'GDP_亿园', which the panel "
                                                                           "does not have ('GDP_亿园': did you mean "
                                                                           "'GDP_亿元'?)"}
    for args, text in cases.items():
        code, _, err = invoke(capsys, args[0], "-w", w, *args[1:])
        assert code == 5, (args, err)
        assert text in err and err.count("error:") == 1 and len(err.strip().splitlines()) == 2, (args, err)
    code, _, err = invoke(capsys, "fit", "-w", w, *fml, "--cluster", "`区域 (组)")
    assert code == 2 and "unmatched backquote" in err


FUNCTION_HEADERS = {"log": "log_", "C": "C_", "I": "I_", "np": "np_", "exp": "exp_", "i": "i_", "L": "L"}


def test_the_formula_functions_are_those_of_formulaic_and_pyfixest():
    """etl/formula_words.py is the list of names a formula calls (the etl layer owns it, analysis reads it): formulaic's
    transforms and pyfixest's i(); a panel column of such a name shadows the function in every formula."""
    import formulaic.transforms
    import pyfixest as pf
    from citynet.etl.formula_words import FORMULA_FUNCTIONS

    assert set(formulaic.transforms.TRANSFORMS) | {"i"} == FORMULA_FUNCTIONS
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"y": rng.normal(size=50), "x": rng.uniform(1, 2, 50), "g": np.repeat(np.arange(5), 10)})
    for col, fml in (("log", "y ~ log(x)"), ("i", "y ~ i(g)"), ("C", "y ~ C(g)")):
        with pytest.raises(Exception, match="not callable"):
            pf.feols(fml, data=d.assign(**{col: 1.0}))
        assert len(pf.feols(fml, data=d.assign(**{col + "_": 1.0})).coef()) > 1


def test_a_covariate_named_as_a_formula_function_gets_a_trailing_underscore(ws, tmp_path, capsys):
    _, panel, cy, _ = ws
    rng = np.random.default_rng(2)
    codes, years = sorted(cy["city_code"].unique()), sorted(cy["year"].unique())
    cov = pd.DataFrame({"city_code": np.repeat(codes, len(years)), "year": np.tile(years, len(codes))})
    for h in FUNCTION_HEADERS:
        cov[h] = rng.normal(0, 1, len(cov)).round(6)
    cov["x"] = rng.uniform(1, 3, len(cov)).round(6)
    cov.to_csv(tmp_path / "fun.csv", index=False, encoding="utf-8")
    export = tmp_path / "p.csv"
    export.write_text("".join(_lines("patents.csv.gz")[:50]), encoding="utf-8")
    code, out, err = invoke(capsys, "ingest", "-w", tmp_path / "ing", export, "--covariates", tmp_path / "fun.csv")
    assert code == 0, err
    assert "'log' → log_" in " ".join((out + err).split())
    table = tmp_path / "ing" / "canonical" / "covariates.parquet"
    assert list(pd.read_parquet(table).columns) == ["city_code", "year", *FUNCTION_HEADERS.values(), "x"]
    renamed = {h: n for h, n in FUNCTION_HEADERS.items() if h != n}
    rep = json.loads((tmp_path / "ing" / "reports" / "ingest.json").read_text(encoding="utf-8"))
    assert rep["covariates"][0]["renamed"] == renamed
    import pyarrow.parquet as pq

    meta = json.loads(pq.read_schema(table).metadata[b"citynet_covariate_headers"])
    assert {n: h for h, n in renamed.items()}.items() <= meta.items()
    w = tmp_path / "panel"
    shutil.copytree(panel, w)
    shutil.copyfile(table, w / "canonical" / "covariates.parquet")
    # the renamed columns in a formula that also calls log(), I() and np.log: the functions still work
    code, out, err = invoke(capsys, "fit", "-w", w, "--formula",
                            "ln_green_patents ~ log_ + C_ + `I` + I(2 * x) + np.log(x) | city_code + year", "--json")
    assert code == 0, err
    coef = json.loads(out)["coefficients"]
    want = _ols_fe(cy, cov.assign(x2=2 * cov["x"], lx=np.log(cov["x"])).rename(columns={"city_code": "城市代码",
                                                                                      "year": "年份"}),
                   ["log", "C", "I", "x2", "lx"])
    assert list(coef)[:3] == ["log_", "C_", "I_"]
    assert np.allclose([c["coef"] for c in coef.values()], want, rtol=1e-7, atol=1e-10)
    # the old name written bare: the formula's message naming the new one
    code, _, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ log + x | city_code + year")
    assert code == 5 and "'log' is the column log_: write log_ or `log`" in err, err


def test_a_panel_column_named_log_is_one_message_naming_it_and_the_fix(ws, tmp_path, capsys):
    """A column named ``log`` (a workspace's covariates.parquet written before ingest renamed such headers, a
    [panel_options] derive, a data frame of one's own) hides formulaic's log(): ``log(x)`` used to fail with
    "Unable to evaluate factor `log(x)`. [TypeError: 'Series' object is not callable]". Now: one message naming
    the column and the fix, exit 5. ``np.log(x)`` does not call the column and still fits (numpy lstsq); the old
    workspace's ``log`` covariate is read as ``log_`` by fit, so ``log(x)`` there fits too."""
    from citynet.analysis.estimators import fit

    from citynet.errors import AnalysisError

    _, panel, cy, _ = ws
    rng = np.random.default_rng(5)
    df = cy.assign(ln_g=np.log1p(cy["green_patents"]), x=rng.uniform(1, 3, len(cy)), log=rng.normal(size=len(cy)))
    with pytest.raises(AnalysisError) as e:
        fit(df, "ln_g ~ log(x) | city_code + year")
    msg = " ".join([e.value.message, e.value.fix])
    assert "column named 'log'" in msg and "log()" in msg and "log → log_" in msg and "re-ingest" in msg
    assert "not callable" not in msg and e.value.exit_code == 5
    dummies = pd.get_dummies(df[["city_code", "year"]].astype(str), drop_first=True).to_numpy(float)
    X = np.column_stack([np.log(df["x"].to_numpy()), np.ones(len(df)), dummies])
    want = np.linalg.lstsq(X, df["ln_g"].to_numpy(float), rcond=None)[0][0]
    assert fit(df, "ln_g ~ np.log(x) | city_code + year").params.iloc[0] == pytest.approx(want, rel=1e-8)
    assert fit(df.rename(columns={"log": "log_"}), "ln_g ~ log(x) | city_code + year").params.iloc[0] == (
        pytest.approx(want, rel=1e-8))
    # a workspace ingested before the rename: covariates.parquet has a column 'log'
    w = tmp_path / "old"
    shutil.copytree(panel, w)
    cov = pd.read_parquet(w / "canonical" / "covariates.parquet")
    cov.assign(log=rng.normal(size=len(cov))).to_parquet(w / "canonical" / "covariates.parquet")
    code, out, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ log(gdp_pc) + log_ | "
                            "city_code + year", "--json")
    assert code == 0, err
    assert list(json.loads(out)["coefficients"]) == ["log(gdp_pc)", "log_"]
    # a derived column named log in a SPEC: the same message through the command line
    spec = tmp_path / "derive.toml"
    spec.write_text('[spec]\nname = "t"\n[panel_options]\nderive = { log = "gdp_pc * 2" }\n'
                    '[[models]]\nformula = "ln_green_patents ~ log(gdp_pc) | city_code + year"\n',
                    encoding="utf-8")
    code, out, err = invoke(capsys, "fit", "-w", w, spec, "--out", tmp_path / "out")
    assert code == 5 and "column named 'log'" in err and err.count("error:") == 1


def test_an_ingest_without_covariates_says_it_keeps_the_earlier_ones(tmp_path, capsys):
    """Covariates are carried over by an ingest that gives none (fit, map and export join them to the new
    corpus): said, with the file's columns; an ingest that gives covariates says nothing of the kind."""
    f = tmp_path / "c.csv"
    f.write_text("city_code,year,gdp,pop\n320100,2010,1,2\n", encoding="utf-8")
    export = tmp_path / "p.csv"
    export.write_text("".join(_lines("patents.csv.gz")[:50]), encoding="utf-8")
    code, out, err = invoke(capsys, "ingest", "-w", tmp_path / "w", export, "--covariates", f)
    assert code == 0 and "kept from an earlier ingest" not in out + err
    code, out, err = invoke(capsys, "ingest", "-w", tmp_path / "w", export)
    assert code == 0
    line = next(ln for ln in (out + err).splitlines() if "covariates: kept from an earlier ingest" in ln)
    assert "gdp, pop" in line and "--covariates FILE" in line
    assert list(pd.read_parquet(tmp_path / "w" / "canonical" / "covariates.parquet").columns) == [
        "city_code", "year", "gdp", "pop"]


def test_a_covariate_named_like_a_panel_column_is_name_cov_everywhere(tmp_path, capsys):
    """A yearbook's own ``green_patents`` and a ``collab_degree`` column: export wrote them as ``*_cov`` while
    fit and map used citynet's columns under those names and knew no ``*_cov`` (the user's data silently
    unused). Now they are ``green_patents_cov`` and ``collab_degree_cov`` in fit, map and export alike, the
    panel's columns keep their names, and ingest says so. The coefficient is numpy's least squares on the
    file's values with city and year dummies."""
    raw, export, panel, cy = _export_and_panel(tmp_path)
    rng = np.random.default_rng(5)
    codes, years = sorted(cy["city_code"].unique()), sorted(cy["year"].unique())
    cov = pd.DataFrame({"城市代码": np.repeat(codes, len(years)), "年份": np.tile(years, len(codes))})
    cov["green_patents"] = rng.normal(0, 1, len(cov)).round(6)
    cov["collab_degree"] = rng.normal(0, 1, len(cov)).round(6)
    cov.to_csv(raw / "yearbook.csv", index=False, encoding="utf-8")
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", export, "--covariates", raw / "yearbook.csv")
    assert code == 0, err
    assert "green_patents → green_patents_cov, collab_degree → collab_degree_cov" in " ".join(err.split())
    shutil.copyfile(tmp_path / "ws" / "canonical" / "covariates.parquet", panel / "canonical" / "covariates.parquet")

    code, out, err = invoke(capsys, "fit", "-w", panel, "--formula",
                            "ln_green_patents ~ green_patents_cov + collab_degree_cov | city_code + year", "--json")
    assert code == 0, err
    coef = json.loads(out)["coefficients"]
    d = cy.merge(cov.rename(columns={"城市代码": "city_code", "年份": "year", "green_patents": "gp_file"})
                 .astype({"city_code": str}), on=["city_code", "year"])
    dummies = pd.get_dummies(d[["city_code", "year"]].astype(str), drop_first=True).to_numpy(float)
    X = np.column_stack([d[["gp_file", "collab_degree_y"]].to_numpy(float), np.ones(len(d)), dummies])
    want, *_ = np.linalg.lstsq(X, np.log1p(d["green_patents"].to_numpy(float)), rcond=None)
    assert np.allclose([coef["green_patents_cov"]["coef"], coef["collab_degree_cov"]["coef"]], want[:2], rtol=1e-8)
    out_file = tmp_path / "cy.csv"
    assert invoke(capsys, "export", "-w", panel, "--panel", "city-year", "--out", out_file)[0] == 0
    exported = pd.read_csv(out_file, encoding="utf-8-sig", dtype={"city_code": str})
    assert {"green_patents", "green_patents_cov", "collab_degree", "collab_degree_cov"} <= set(exported.columns)
    assert exported["green_patents"].sum() == cy["green_patents"].sum()
    code, _, err = invoke(capsys, "map", "-w", panel, "--var", "collab_degree_cov", "--out", tmp_path / "m.png")
    assert code == 0 and (tmp_path / "m.png").exists(), err
