"""``citynet fit --inference`` and the example spec of the referee designs on the CLI test workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from citynet.cli import cli, main
from tests.test_fit_cli import build_workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "referee_designs.toml"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("ws"))


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False, standalone_mode=False)


def test_fit_inference_wild_and_conley(ws):
    r = run(["fit", "-w", str(ws), "--formula", "ln_green_patents ~ low_carbon | city_code + year",
             "--inference", "wild:199", "--json"])
    out = json.loads(r.output)
    assert 0 <= out["stats"]["wild_pvalue"] <= 1
    assert out["stats"]["wild_ci_low"] < out["coefficients"]["low_carbon"]["coef"] < out["stats"]["wild_ci_high"]
    r = run(["fit", "-w", str(ws), "--formula", "ln_green_patents ~ low_carbon | city_code + year",
             "--inference", "conley:300:1", "--json"])
    assert json.loads(r.output)["vcov"] == "conley:300km,lag1"


def test_fit_inference_bad_value_is_one_message(ws, capsys):
    with pytest.raises(SystemExit) as e:
        main(["fit", "-w", str(ws), "--formula", "ln_green_patents ~ low_carbon | city_code + year",
              "--inference", "jackknife:9"])
    assert e.value.code == 5
    err = capsys.readouterr().err
    assert "unknown inference" in err and "Traceback" not in err


def test_referee_designs_example_writes_its_outputs(ws, tmp_path):
    from citynet.analysis.spec import run_spec

    from citynet.workspace import Workspace

    res = run_spec(EXAMPLE, Workspace.open(ws), tmp_path)
    assert {"designs_inference", "designs_sunab", "designs_iv", "designs_tobit", "designs_threshold",
            "designs_psm", "designs_cs"} <= set(res.tables)
    for f in ("designs_sunab.png", "designs_2sls_first_stage.md", "designs_threshold_lr.png",
              "designs_psm_balance.md", "designs_mediation.md", "designs_spatial_tests.md", "designs_cs.png", "designs_honest.png",
              "designs_honest_table.md", "designs_honest_rm.png", "designs_honest_rm_table.md"):
        assert (tmp_path / f).exists(), f
    import pandas as pd

    rm = pd.read_csv(tmp_path / "designs_honest_rm.csv")
    assert {"lb", "ub", "ci_lb", "ci_ub"} <= set(rm.columns) and rm["ci_lb"].notna().all()
    assert (rm["ci_lb"] <= rm["ci_ub"]).all() and rm["ci_ub"].is_monotonic_increasing  # sets widen with M̄
    assert "95% confidence set" in (tmp_path / "designs_honest_rm_table.md").read_text()


BOM = b"\xef\xbb\xbf"


def test_a_specs_csv_files_start_with_a_bom_as_export_writes_them(ws, tmp_path, capsys):
    """``citynet fit SPEC`` writes its tables and side tables as ``citynet export --format csv`` writes a panel:
    UTF-8 with a byte order mark (EF BB BF), so that Excel shows the Chinese name of a covariate; pandas with
    encoding="utf-8-sig" reads the name back. ``--no-bom``: the same files in plain UTF-8 (the bytes after the
    mark), and a --formula fit, which writes no file, refuses the option."""
    import shutil

    import pandas as pd

    from tests.cli import invoke

    w = tmp_path / "ws"
    shutil.copytree(ws, w)
    cov = pd.read_parquet(w / "canonical" / "covariates.parquet")
    cov["人均GDP"] = cov["gdp_per_capita"] / 1e4
    cov.to_parquet(w / "canonical" / "covariates.parquet")
    spec = tmp_path / "bom.toml"
    spec.write_text('[spec]\nname = "表3"\n[spec.labels]\nlow_carbon = "低碳试点"\n'
                    '[[models]]\nname = "(1)"\nformula = "ln_green_patents ~ low_carbon + 人均GDP | city_code + year"\n'
                    '[[models]]\nname = "匹配"\nkind = "psm_did"\ny = "ln_green_patents"\n'
                    'covariates = ["人均GDP", "population"]\n', encoding="utf-8")
    with_bom, plain = tmp_path / "bom", tmp_path / "plain"
    for out, extra in ((with_bom, []), (plain, ["--no-bom"])):
        code, _, err = invoke(capsys, "-q", "fit", "-w", w, spec, "--out", out, *extra)
        assert code == 0, err
    table, side = with_bom / "表3.csv", with_bom / "匹配_balance.csv"
    for f in (table, side):
        raw = f.read_bytes()
        assert raw.startswith(BOM) and not raw[3:].startswith(BOM)
        assert (plain / f.name).read_bytes() == raw[3:]  # --no-bom: the same CSV without the mark
    rows = pd.read_csv(table, encoding="utf-8-sig", header=None, dtype=str, keep_default_na=False)
    assert {"人均GDP", "低碳试点"} <= set(rows[0])
    bal = pd.read_csv(side, encoding="utf-8-sig", index_col=0)
    assert "人均GDP" in bal.index
    assert not str(bal.index.name or "").startswith("\ufeff")
    # plain UTF-8 read as UTF-8: the first cell has no stray mark
    assert not (plain / "表3.csv").read_text(encoding="utf-8").startswith("\ufeff")
    code, _, err = invoke(capsys, "fit", "-w", w, "--formula", "ln_green_patents ~ low_carbon | city_code + year",
                          "--no-bom")
    assert code == 2 and "--no-bom" in err and err.count("\n") <= 3


def test_wild_bootstrap_with_two_way_clusters_is_one_message(ws, tmp_path, capsys):
    """--inference wild with --cluster A+B (and the same in a SPEC: vcov = "cluster:A+B") used to stop with "the
    formula names 'city_code+year', which the panel does not have" (exit 5); the bootstrap resamples one-way
    clusters, so it is one usage message (exit 2) naming one-way clusters and the analytic two-way SEs."""
    from tests.cli import invoke

    fml = "ln_green_patents ~ low_carbon | city_code + year"
    code, out, err = invoke(capsys, "fit", "-w", ws, "--formula", fml, "--inference", "wild:99",
                            "--cluster", "city_code+year")
    assert code == 2 and out == ""
    text = " ".join(err.split())
    assert "one-way clusters" in text and "'city_code+year' are two-way" in text
    assert "analytic two-way clustered SEs" in text and "--cluster city_code+year" in text
    assert err.count("error:") == 1
    spec = tmp_path / "wild2.toml"
    spec.write_text(f'[spec]\nname = "w"\n[[models]]\nformula = "{fml}"\ninference = "wild:99"\n'
                    'vcov = "cluster:city_code + year"\n', encoding="utf-8")
    code, _, err = invoke(capsys, "fit", "-w", ws, spec, "--out", tmp_path / "out")
    assert code == 2 and "two-way" in err and not list((tmp_path / "out").glob("w.*"))
    # two-way analytic SEs without the bootstrap still fit
    code, out, err = invoke(capsys, "fit", "-w", ws, "--formula", fml, "--cluster", "city_code+year", "--json")
    assert code == 0 and "low_carbon" in out
