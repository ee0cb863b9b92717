"""The CI sample of bench/fuzz_analysis.py: random ``citynet fit`` formulas (with mistakes, and of the panel's own columns), SPEC files and covariate tables on the
test suite's workspace — every one a result or one message with a documented exit code, never a traceback, and
every covariate table's rows balanced. A fixed seed; the longer run takes a seed and a count."""

from __future__ import annotations

import json

import pytest

from bench.fuzz_analysis import run
from tests.test_fit_cli import build_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("fuzz") / "ws")


@pytest.mark.parametrize("kind,count", [("fit", 150), ("fit_valid", 60), ("spec", 60), ("covariates", 150)])
def test_the_analysis_fuzz_sample_finds_no_traceback(ws, kind, count):
    report = run(seed=20261206, count=count, workspace=ws, kinds=[kind])
    assert not report["failures"], json.dumps(report["failures"][:3], ensure_ascii=False, indent=1)
    assert sum(report["outcomes"][kind].values()) == count
    if kind == "fit_valid":  # the valid formulas reach the estimators: most of them are fitted
        assert report["outcomes"][kind].get("0", 0) >= count // 2, report["outcomes"]


@pytest.mark.parametrize("output, problem", [
    ("| | (1) |\n", None),  # a result (exit 0)
    ("warning: the panels are older than the corpus\nerror: the formula names 'x'\n  fix: use one of the panel's "
     "columns\n", None),
    ("error: the formula names 'x'\n", "the message has no 'fix:' line"),
    ("error: the formula names 'x'\n  fix: \n", "the message has no 'fix:' line"),
    ("Error: no such option --nope\n", "with 0 'error:' lines"),
    ("error: a\n  fix: b\nerror: c\n  fix: d\n", "with 2 'error:' lines"),
])
def test_the_judge_wants_one_error_line_with_its_fix(output, problem):
    """README: a refusal is one message with its fix (a helper's wrapper checked it; now the judge does)."""
    from bench.fuzz_analysis import refusal_problem

    found = refusal_problem(0 if problem is None and output.startswith("|") else 5, output)
    assert (found is None) if problem is None else (problem in found)


def test_the_valid_specs_give_each_kind_only_what_it_takes():
    """The spec_valid swaps (examples/README.md): vcov = conley:KM for kind fit only, tobit's vcov oim or
    cluster:city_code, a 3SLS's fe as its example wrote it, and a threshold regressor (x) never also a control —
    each made a "valid" SPEC that was refused (seed 2026120901: cases 6, 7, 14, 20)."""
    import random
    import tomllib

    from bench.fuzz_analysis import example_models, spec_valid_case

    fe_3sls = {str(m.get("equations")): m.get("fe") for m, _ in example_models() if m.get("kind") == "3sls"}
    rng = random.Random(2026120901)
    for _ in range(300):
        for m in tomllib.loads(spec_valid_case(rng))["models"]:
            kind = m.get("kind", "fit")
            if kind != "fit":
                assert not str(m.get("vcov", "")).startswith("conley"), m
            if kind == "tobit" and "vcov" in m:
                assert m["vcov"] in ("oim", "cluster:city_code"), m
            if kind == "3sls":
                assert m.get("fe") == fe_3sls[str(m["equations"])], m
            assert not set(m.get("x") or []) & set(m.get("controls") or []), m
