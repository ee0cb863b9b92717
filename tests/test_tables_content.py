"""What a regression table prints: one label table, no repeated N/R² under spatial effects, no FE rows for
Callaway–Sant'Anna, the placebo column's own numbers, p < 0.001, sample names that match the panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult
from citynet.analysis.spec import _variant_name
from citynet.analysis.tables import fmt_p, regression_table
from citynet.metrics.labels import LABELS, label, term_label


def fr(model="ols", params=None, name=None, fe=("city_code", "year"), **kw):
    params = params or {"low_carbon": 0.1, "l1_ln_gdp_per_capita": 0.2}
    return FitResult(depvar=kw.pop("depvar", "ln_green_patents"), params=pd.Series(params),
                     se=pd.Series(dict.fromkeys(params, 0.05)), nobs=kw.pop("nobs", 100), model=model,
                     fixed_effects=list(fe), name=name, r2=kw.pop("r2", 0.3), adj_r2=kw.pop("adj_r2", None), **kw)


def rows(t):
    return {r[0]: r[1:] for r in t.rows}


def test_one_label_table_for_every_variable():
    assert term_label("l1_ln_gdp_per_capita") == "ln GDP per capita (t−1)"
    assert term_label("ln_population") == "ln population"  # not "ln_population" beside "ln GDP per capita"
    assert term_label("l1_collab_degree") == "DC (t−1)" and term_label("W_l1_collab_degree") == "W·DC (t−1)"
    assert term_label("rho") == "ρ (W·y)"
    # threshold regime terms are labelled part by part (the variable inside I(·) too)
    assert term_label("l1_collab_degree·I(l1_ln_gdp_per_capita≤11.56)") == "DC (t−1)·I(ln GDP per capita (t−1) ≤ 11.56)"
    assert term_label("x·I(10.2<q≤1e+03)") == "x·I(10.2 < q ≤ 1e+03)"
    assert LABELS["gdp_per_capita"].zh.startswith("人均GDP") and label("gdp_per_capita").startswith("pgdp 人均GDP")
    t = regression_table([fr(name="3SLS")])
    assert "ln GDP per capita (t−1)" in rows(t) and "ln green patents" in rows(t)["Dependent variable"]
    assert not any(r[0].startswith("l1_") for r in t.rows)


def test_spatial_effects_do_not_repeat_n_r2_or_fe():
    sdm = fr("sdm", name="SDM", fe=("city_code",))
    eff = [fr(f"sdm_{e}_effect", name=e.capitalize(), fe=("city_code",)) for e in ("direct", "indirect", "total")]
    r = rows(regression_table([sdm, *eff]))
    assert r["N"] == ["100", "", "", ""]
    assert r["R² / pseudo R²"] == ["0.300", "", "", ""]
    assert r["City FE"] == ["Yes", "", "", ""]


def test_callaway_santanna_has_no_two_way_fe():
    cs = fr("cs_did", params={"ATT": 0.07}, name="Callaway-Sant'Anna")
    r = rows(regression_table([fr(name="TWFE"), cs]))
    assert r["City FE"] == ["Yes", "—"] and r["Year FE"] == ["Yes", "—"]


def test_placebo_column_shows_placebo_numbers_and_p():
    real = fr(name="(1)", params={"low_carbon": 0.072})
    pl = FitResult(depvar="ln_green_patents", params=pd.Series({"low_carbon": 0.0004}),
                   se=pd.Series({"low_carbon": 0.015}), pvalues=pd.Series({"low_carbon": np.nan}), nobs=100,
                   model="placebo", fixed_effects=["city_code", "year"], vcov="placebo", name="Placebo",
                   stats={"placebo_real": 0.072, "placebo_pvalue": 0.0, "placebo_draws": 1000.0})
    t = regression_table([real, pl])
    r = rows(t)
    # the placebo mean (no stars: its p is the placebo p), in three significant digits below the decimals
    assert r["Low-carbon pilot"] == ["0.072", "0.000400"]
    assert r["Real estimate"] == ["", "0.072"]
    assert r["Placebo p (share |placebo| ≥ |real|)"] == ["", "< 0.001"]
    assert r["Placebo draws"] == ["", "1,000"]
    assert any("SD of the placebo estimates" in n for n in t.notes)


def test_p_values_never_print_as_zero():
    assert fmt_p(0.0) == "< 0.001" and fmt_p(0.0004) == "< 0.001" and fmt_p(0.0123) == "0.012"
    assert fmt_p(float("nan")) == ""


def test_sample_variant_names_follow_the_panel():
    panel = pd.DataFrame({"year": [2018, 2019, 2020]})
    assert _variant_name("Drop 2020–2022", {"exclude_years": [2020, 2021, 2022]}, panel) == "Drop 2020"
    assert _variant_name("Drop 2019–2022", {"exclude_years": [2019, 2020, 2021, 2022]}, panel) == "Drop 2019–2020"
    assert _variant_name("Drop 2021–2022", {"exclude_years": [2021, 2022]}, panel) == "Drop 2021–2022 (none in the panel)"
    assert _variant_name("Drop municipalities", {"drop_municipalities": True}, panel) == "Drop municipalities"


def test_every_written_table_names_its_network_filter(tmp_path):
    """Inside ``source_note`` every ``Table.write`` (regression tables and side tables alike) puts the filter
    in the notes of the .md, .tex and .html files; the .csv stays a grid; outside, nothing is added."""
    from citynet.analysis.tables import Table, filter_note, source_note

    meta = {"network": "invention.y02.granted", "first_year": 2006, "last_year": 2020,
            "filter": {"green": "y02", "kind": "invention", "granted_only": True, "year_basis": "application"}}
    note = filter_note(meta)
    assert note == ("Network filter invention.y02.granted (invention patents, green by CPC Y02/Y04S, granted only, "
                    "by application year); panel 2006–2020.")
    assert filter_note(None) is None and filter_note({}) is None
    side = Table(header=["Test", "Statistic"], rows=[["LM lag", "1.0"]], notes=["LM tests."])
    with source_note(note):
        regression_table([fr()]).write(str(tmp_path / "reg"))
        side.write(str(tmp_path / "side"))
    for stem in ("reg", "side"):
        for ext in ("md", "tex", "html"):
            assert "Network filter invention.y02.granted (invention patents" in (tmp_path / f"{stem}.{ext}").read_text(
                encoding="utf-8"), (stem, ext)
        assert "Network filter" not in (tmp_path / f"{stem}.csv").read_text(encoding="utf-8")
    assert side.notes == ["LM tests."]  # the table object itself is not changed
    side.write(str(tmp_path / "plain"))
    assert "Network filter" not in (tmp_path / "plain.md").read_text(encoding="utf-8")


def test_a_coefficient_below_the_decimals_shows_its_significant_digits():
    """A coefficient of GDP in yuan (0.000231, SE 0.0000451) printed ``0.000*** (0.000)``: now three
    significant digits, as etable prints them; below 1e-6 in scientific notation; others keep 3 decimals."""
    res = FitResult(depvar="green_patents", params=pd.Series({"gdp": 0.000231, "pop": 2.31e-7, "x": 0.553}),
                    se=pd.Series({"gdp": 0.0000451, "pop": 1e-7, "x": 0.059}), nobs=100, model="ols",
                    fixed_effects=[], pvalues=pd.Series({"gdp": 0.0001, "pop": 0.2, "x": 0.0001}))
    cells = [r[1] for r in regression_table([res]).rows]
    shown = [c for c in cells if c.startswith(("0.", "(", "2."))]
    assert shown == ["0.000231***", "(0.0000451)", "2.31e-07", "(1.00e-07)", "0.553***", "(0.059)"], cells


def test_the_report_and_the_regression_tables_print_a_number_by_one_rule(tmp_path):
    """``report.fmt_stat`` (Table 2) gave three significant digits from 0.1 down and scientific notation below
    0.001 (2.31e-04), the report's other tables ``digits`` decimals whatever the value (a density of 3.5e-05
    as 0.0000, a coefficient of 0.000231 in the JSON fallback as 0.000), the regression tables ``digits``
    decimals with significant digits only where a value would print as 0: the same number printed two or
    three ways. Now every one prints by ``tables.fmt_number``; the strings below are written by hand."""
    import json

    from citynet.analysis import report
    from citynet.analysis.tables import fmt_number

    cases = [(0.000231, 3, "0.000231"), (0.0000451, 3, "0.0000451"), (2.31e-7, 3, "2.31e-07"),
             (0.002578, 3, "0.003"), (0.0123, 3, "0.012"), (0.553, 3, "0.553"), (-0.00023, 3, "-0.000230"),
             (2 / 56616, 4, "0.00003533"), (0.00612, 4, "0.0061"), (209.0, 3, "209.000"),
             (0.0, 4, "0.0000")]
    for x, d, want in cases:
        assert fmt_number(x, d) == want, (x, d)
        assert report._fmt(x, d) == want, (x, d)
        if d == 3:
            assert report.fmt_stat(x) == want, x
    # the report's HTML groups thousands, the LaTeX and CSV tables keep plain digits; 100,000 up: no decimals
    assert report._fmt(12345.678) == "12,345.678" and fmt_number(12345.678) == "12345.678"
    assert report.fmt_stat(123456.7) == "123,457" and fmt_number(123456.7) == "123457"
    assert report._fmt(None) == report._fmt(np.nan) == "–" and fmt_number(np.nan) == ""
    # a coefficient: the regression table and the report's rendering of the same results JSON
    res = FitResult(depvar="green_patents", params=pd.Series({"gdp": 0.000231}), se=pd.Series({"gdp": 0.0000451}),
                    nobs=100, model="ols", fixed_effects=[], pvalues=pd.Series({"gdp": 0.2}))
    cells = [r[1] for r in regression_table([res]).rows][1:3]  # (the first row names the outcome)
    jp = tmp_path / "t.json"
    jp.write_text(json.dumps([{"name": "(1)", "nobs": 100,
                               "coefficients": {"gdp": {"coef": 0.000231, "se": 0.0000451}}}]), encoding="utf-8")
    html_ = report._table_from_json(jp)
    assert cells == ["0.000231", "(0.0000451)"], cells
    assert ">0.000231<" in html_ and ">(0.0000451)<" in html_, html_
