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
