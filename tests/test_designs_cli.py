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
