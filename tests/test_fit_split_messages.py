"""``citynet fit --split COL`` names its samples as the user wrote them: ``--split year (year = 2006)``. It said "with
--sample '`year` == 2006'" — an option the user never wrote, holding the query citynet made of the split. The test
workspace (tests/test_fit_cli.build_workspace) has 80 cities in each of 2006–2020, so a one-year sample holds 80
city-years, each alone in its city's fixed-effect group."""

from __future__ import annotations

import pytest

from bench.in_process import run_citynet
from tests.test_fit_cli import build_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("split") / "ws")


def _fit(ws, *args):
    code, out, escaped = run_citynet(["fit", "-w", str(ws), *args])
    assert escaped is None and "Traceback" not in out, out
    return code, out


def test_a_split_whose_every_sample_fails_names_the_split(ws):
    code, out = _fit(ws, "--formula", "ln_green_patents ~ low_carbon | city_code", "--split", "year")
    assert code == 5, out  # the README's exit code of an analysis error
    assert ("error: every one of the 80 observations with --split year (year = 2006) is alone in its fixed-effect "
            "group (city_code), so nothing is left once singletons are dropped") in out
    assert "fix: split by a coarser column, or fit the split samples with coarser fixed effects" in out
    assert "--sample" not in out and "`year`" not in out


def test_a_split_with_a_sample_names_both_as_written(ws):
    """--sample 'year >= 2010' and --split year: the years the sample keeps, as fixest's split (2010 first, each
    city once in it); a sample that keeps no row: each split sample is empty; a text value is quoted (region)."""
    code, out = _fit(ws, "--formula", "ln_green_patents ~ low_carbon | city_code", "--split", "year",
                     "--sample", "year >= 2010")
    assert code == 5, out
    assert ("error: every one of the 80 observations with --split year (year = 2010) and --sample 'year >= 2010' is "
            "alone in its fixed-effect group (city_code)") in out
    code, out = _fit(ws, "--formula", "ln_green_patents ~ low_carbon | city_code", "--split", "year",
                     "--sample", "year > 2030")
    assert code == 5, out
    assert ("error: the estimation sample is empty with --split year (year = 2006) and --sample 'year > 2030': 0 of "
            "1,200 rows") in out  # 80 cities × 15 years
    assert "widen --sample" not in out and "`year`" not in out
    code, out = _fit(ws, "--formula", "ln_green_patents ~ low_carbon", "--split", "region", "--sample", "year > 2030")
    assert code == 5, out
    assert "error: the estimation sample is empty with --split region (region = '" in out
    assert "and --sample 'year > 2030': 0 of 1,200 rows" in out and "`region`" not in out


def test_the_columns_an_fsplit_leaves_out_are_named_by_the_split(ws):
    """--fsplit year: the full sample is fitted (80 × 15 = 1,200 rows), each year's column left out with a warning
    naming --fsplit year and the year (it said "on the sample `year` == 2006" and "with --sample …")."""
    code, out = _fit(ws, "--formula", "ln_green_patents ~ low_carbon | city_code", "--fsplit", "year", "--json")
    assert code == 0, out
    assert ("Warning: column year = 2006 was not fitted (ln_green_patents ~ low_carbon | city_code on --fsplit year "
            "(year = 2006)): every one of the 80 observations with --fsplit year (year = 2006) is alone") in out
    assert "--sample" not in out and "`year`" not in out
    assert '"nobs": 1200' in out


def test_a_spec_split_is_named_as_the_spec_writes_it(ws, tmp_path):
    """A SPEC model's split = "year": the message named no sample at all, with the fix 'use a wider sample'; an
    fsplit's left-out column said 'on the sample `year` == 2006'."""
    spec = tmp_path / "s.toml"
    for key in ("split", "fsplit"):
        spec.write_text(f'[[models]]\nname = "s"\nformula = "ln_green_patents ~ low_carbon | city_code"\n'
                        f'{key} = "year"\n', encoding="utf-8")
        code, out = _fit(ws, str(spec), "--out", str(tmp_path / key))
        words = (f"every one of the 80 observations with {key} = 'year' (year = 2006) is alone in its fixed-effect "
                 "group (city_code)")
        if key == "split":
            assert code == 5 and f"error: {words}" in out, out
            assert "fix: split by a coarser column" in out
        else:
            assert code == 0, out
            assert f"city_code on fsplit = 'year' (year = 2006)): {words}" in out  # (the table's note: '\\|')
        assert "`year`" not in out
