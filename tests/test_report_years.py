"""``citynet report --years A B``: the two years of the network maps (report --help), in either order; the same
year twice draws that year alone; a year outside the dyad-year panel, or one value where two are needed, is one
message with its fix, exit 2 (README, "exit codes": a bad option), before the report is built.

The workspace is made by hand: ``init`` and a dyad-year panel of four edges in 2010, 2011 and 2013 (no 2012), so
the panel's years are "2010–2011, 2013"."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.cli import invoke

PANEL_YEARS = "2010–2011, 2013"  # the years of the panel below, by hand


@pytest.fixture
def ws(tmp_path, capsys):
    ws = tmp_path / "ws"
    assert invoke(capsys, "-q", "init", "-w", ws)[0] == 0
    (ws / "metrics").mkdir()
    pd.DataFrame({"city_a": ["110000", "110000", "310000", "110000"],
                  "city_b": ["310000", "320100", "320100", "310000"],
                  "year": [2010, 2011, 2013, 2013], "collab": [3, 1, 2, 5]}).to_parquet(ws / "metrics" / "dyad_year.parquet")
    return ws


@pytest.mark.parametrize("years,which", [
    (("1990", "2030"), "1990 and 2030 are"),
    (("2012", "2013"), "2012 is"),  # inside the panel's span, but a year it lacks
    (("2030", "2030"), "2030 is"),  # the same year twice, outside: named once
    (("-1", "2010"), "-1 is"),
    (("0", "0"), "0 is"),
])
def test_a_year_outside_the_panel_is_one_message_before_the_report(ws, capsys, years, which):
    out_file = ws.parent / "r.html"
    code, out, err = invoke(capsys, "report", "-w", ws, "--permutations", "0", "--out", out_file, "--years", *years)
    assert code == 2, (out, err)
    assert err.splitlines() == [
        f"error: --years {' '.join(years)}: {which} not in the panel (its years: {PANEL_YEARS})",
        "  fix: give two years of the panel, e.g. --years 2010 2013 (or leave --years out for its first and last)"]
    assert not out_file.exists()


def test_years_without_the_second_value_before_another_option(ws, capsys):
    """click said "Invalid value for '--years': '--permutations' is not a valid integer"."""
    code, out, err = invoke(capsys, "report", "-w", ws, "--years", "2010", "--permutations", "0")
    assert code == 2, (out, err)
    assert err.splitlines()[0] == "error: --years takes 2 values and has 1: the next word, --permutations, is an option"
    assert err.splitlines()[1] == "  fix: give --years its 2 values (--years A B), see citynet report --help"


def test_the_same_year_twice_draws_that_year_alone(ws, capsys):
    out_file = ws.parent / "r.html"
    code, out, err = invoke(capsys, "report", "-w", ws, "--permutations", "0", "--out", out_file,
                            "--years", "2013", "2013")
    assert code == 0, (out, err)
    html = out_file.read_text(encoding="utf-8")
    assert 'id="map-2013"' in html and html.count('id="map-20') == 1  # one network map, of 2013 alone
    assert html.count("Best-connected cities, ") == 1 and "Best-connected cities, 2013" in html


def test_a_panel_without_years_is_left_to_its_section(ws, capsys):
    """The early check reads the panel's years; a panel without a year column (not one citynet wrote) was a
    KeyError traceback there: now the command does what it does without --years (the maps section says it cannot
    be drawn)."""
    pd.DataFrame({"city_a": ["110000"], "city_b": ["310000"], "yr": [2010], "collab": [3]}).to_parquet(
        ws / "metrics" / "dyad_year.parquet")
    with_years = invoke(capsys, "report", "-w", ws, "--permutations", "0", "--out", ws.parent / "a.html",
                        "--years", "2010", "2011")
    without = invoke(capsys, "report", "-w", ws, "--permutations", "0", "--out", ws.parent / "b.html")
    assert with_years[0] == without[0] == 0, (with_years, without)
    assert "Could not build this section" in (ws.parent / "a.html").read_text(encoding="utf-8")
