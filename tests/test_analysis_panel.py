"""Panel assembly: covariates keyed by code or name (with/without 市), coverage, policies, transforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.panel import assemble_panel, filter_sample, winsorize
from citynet.etl.cities import city_set

from citynet.errors import AnalysisError, DataError


@pytest.fixture(scope="module")
def metrics():
    codes = city_set().cities["city_code"].tolist()[:30]
    years = list(range(2008, 2016))
    return pd.DataFrame({"city_code": np.repeat(codes, len(years)), "year": np.tile(years, len(codes)),
                         "green_patents": np.arange(len(codes) * len(years)) % 7})


def test_covariates_by_name_with_and_without_shi(tmp_path, metrics):
    cs = city_set().cities.set_index("city_code")
    codes = metrics["city_code"].unique()[:10]
    names = [cs.loc[c, "name_zh"] if i % 2 else cs.loc[c, "name_zh"].removesuffix("市") for i, c in enumerate(codes)]
    cov = pd.DataFrame({"城市": np.repeat(names + ["不存在市"], 2), "年份": [2010, 2011] * 11, "gdp": 1.0})
    path = tmp_path / "cov.csv"
    cov.to_csv(path, index=False, encoding="utf-8")
    panel, rep = assemble_panel(metrics, path)
    assert rep.matched_rows == 20 and rep.unmatched_keys == ["不存在市"]
    assert rep.covariate_rows == 22 and rep.quarantined_by_reason == {"unknown_city": 2}  # rows not loaded, counted
    assert panel["gdp"].notna().sum() == 20
    assert rep.panel_rows_without_covariates == len(metrics) - 20
    assert rep.covariate_rows_outside_panel == 0
    assert {"low_carbon", "carbon_trading", "low_carbon_year"} <= set(panel.columns)


def test_covariate_rows_outside_the_panel_are_counted(metrics):
    """A left join keeps the metrics panel's city-years: covariate rows of other years (or cities without a panel
    row) are not in the panel, and the coverage says how many (by hand: 3 cities × 2 years after the panel's)."""
    codes = metrics["city_code"].unique()[:3]
    last = int(metrics["year"].max())
    cov = pd.DataFrame({"city_code": np.repeat(codes, 3), "year": [last, last + 1, last + 2] * 3, "gdp": 1.0})
    panel, rep = assemble_panel(metrics, cov)
    assert rep.matched_rows == 9 and rep.covariate_rows_outside_panel == 6
    assert panel["gdp"].notna().sum() == 3
    assert "6 loaded rows were for city-years the metrics panel does not have" in str(rep)
    _, outer = assemble_panel(metrics, cov, how="outer")
    assert outer.covariate_rows_outside_panel == 0  # kept


def test_covariates_xlsx_and_dta_by_code(tmp_path, metrics):
    codes = metrics["city_code"].unique()[:5]
    cov = pd.DataFrame({"city_code": np.repeat(codes, 3), "year": [2009, 2010, 2011] * 5, "x": 2.0})
    cov.to_excel(tmp_path / "c.xlsx", index=False)
    cov.to_stata(tmp_path / "c.dta", write_index=False, version=118)
    for f in ("c.xlsx", "c.dta"):
        panel, rep = assemble_panel(metrics, tmp_path / f, policies=False)
        assert rep.matched_rows == 15 and panel["x"].notna().sum() == 15


def test_covariates_matching_nothing_names_keys(tmp_path, metrics):
    cov = pd.DataFrame({"city": ["Atlantis", "Gotham"], "year": [2010, 2010], "x": [1, 2]})
    with pytest.raises(DataError) as e:
        assemble_panel(metrics, cov)
    assert "Atlantis" in e.value.message and "Gotham" in e.value.message


def test_policy_coding_changes_treatment_year(metrics):
    a, _ = assemble_panel(metrics, policies=["low_carbon"], low_carbon_coding="announce")
    b, _ = assemble_panel(metrics, policies=["low_carbon"], low_carbon_coding="effective")
    treated = a["low_carbon_year"].notna()
    assert treated.any()
    np.testing.assert_array_equal(b.loc[treated, "low_carbon_year"], a.loc[treated, "low_carbon_year"] + 1)
    assert (a["low_carbon"] >= b["low_carbon"]).all()


def test_transforms_and_filters(metrics):
    panel, _ = assemble_panel(metrics, policies=False, ln=["green_patents"], lags={"green_patents": [1, 2]})
    assert np.allclose(panel["ln_green_patents"], np.log1p(panel["green_patents"]))
    first = panel[panel["year"] == 2008]
    assert first["l1_green_patents"].isna().all()
    w = winsorize(panel, ["green_patents"], p=0.1)
    assert w["green_patents"].max() <= panel["green_patents"].quantile(0.9)
    beijing = filter_sample(panel, drop_municipalities=True)
    assert "110000" not in set(beijing["city_code"])
    assert filter_sample(panel, years=(2010, 2012))["year"].between(2010, 2012).all()
    east = filter_sample(panel, regions=["east"])
    cs = city_set().cities.set_index("city_code")
    assert (east["city_code"].map(cs["region"]) == "east").all()


def test_low_carbon_from_the_covariates_has_its_cohort(metrics):
    """low_carbon carried by the covariates (ingest --policies): low_carbon_year is each city's first panel year
    with low_carbon = 1, by hand (it was missing, so cohort = "low_carbon_year", the docs' advice, stopped)."""
    codes = metrics["city_code"].unique()
    start = {codes[0]: 2010, codes[1]: 2013, codes[2]: 2008}  # the others never treated
    cov = metrics[["city_code", "year"]].assign(
        low_carbon=lambda d: [int(y >= start.get(c, 9999)) for c, y in zip(d["city_code"], d["year"], strict=True)])
    panel, _ = assemble_panel(metrics, cov)
    got = panel.groupby("city_code")["low_carbon_year"].first()
    assert got[codes[0]] == 2010 and got[codes[1]] == 2013 and got[codes[2]] == 2008
    assert got.drop(list(start)).isna().all()
    assert (panel.groupby("city_code")["low_carbon_year"].nunique(dropna=False) == 1).all()


def test_sample_years_are_one_range_for_the_api_and_the_spec():
    """filter_sample's years are (first, last), both included, as the SPEC's are: a set of years, one year or a
    reversed pair is one message (the API took (2020, 2008) as the two years 2008 and 2020, the SPEC refused it)."""
    panel = pd.DataFrame({"city_code": ["110000"] * 6, "year": range(2008, 2014), "y": range(6)})
    assert filter_sample(panel, years=(2009, 2011))["year"].tolist() == [2009, 2010, 2011]
    assert filter_sample(panel, years=[2010, 2010])["year"].tolist() == [2010]
    assert filter_sample(panel, years=np.array([2012, 2013]))["year"].tolist() == [2012, 2013]
    for bad in ([2013, 2009], [2009, 2010, 2012], [2010], "2010-2012", [2010.0, 2012], [True, 2012]):
        with pytest.raises(AnalysisError, match=r"is not \[first, last\]"):
            filter_sample(panel, years=bad)


def test_a_dyad_panel_sample_applies_every_filter_or_says_why_not():
    """The dyad-year panel (city_a, city_b; no city_code): exclude_years was ignored without a word, and
    drop_municipalities/regions/tiers too; now the years are left out and the city filters are one message."""
    dyads = pd.DataFrame({"city_a": ["110000", "310000"] * 3, "city_b": ["320100"] * 6,
                          "year": [2010, 2010, 2011, 2011, 2012, 2012], "same_province": [0, 0, 0, 0, 0, 1]})
    assert sorted(filter_sample(dyads, exclude_years=[2011])["year"].unique()) == [2010, 2012]
    assert len(filter_sample(dyads, years=(2011, 2012), query="same_province == 0")) == 3
    for key in ({"drop_municipalities": True}, {"regions": ["east"]}, {"tiers": ["municipality"]}):
        with pytest.raises(AnalysisError, match="no city_code"):
            filter_sample(dyads, **key)


def test_a_lag_of_a_key_column_is_its_value_a_year_before():
    """``l1_year`` (a trend's lag) and ``f1_year`` were a pandas traceback ("the column label 'year' is not
    unique"): the lag's work frame put the value under the key's own name. Values written by hand."""
    from citynet.analysis.formula import derive

    df = pd.DataFrame({"city_code": ["110000", "110000", "110000", "320100", "320100"],
                       "year": [2010, 2011, 2012, 2011, 2012], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = derive(df, ["y ~ l1_year + f1_year + l1_x"])
    assert out["l1_year"].tolist()[1:3] == [2010, 2011] and pd.isna(out["l1_year"].iloc[0])
    assert out["f1_year"].tolist()[:2] == [2011, 2012] and pd.isna(out["f1_year"].iloc[2])
    assert pd.isna(out["l1_x"].iloc[3]) and out["l1_x"].tolist()[1:3] == [1.0, 2.0] and out["l1_x"].iloc[4] == 4.0


def test_sample_keys_of_the_wrong_shape_are_one_message_or_read_as_meant():
    """exclude_years = 2015 (a number for a list) was a TypeError traceback through a SPEC; exclude_years =
    ["2015"] (texts) left every year in, tiers = ["1"] kept no row without naming the tiers, regions = "east" was
    read letter by letter (unknown regions a, e, s, t) and drop_municipalities = "no" (a text, so true) dropped
    them. A single year or name is the list of it; the others are one message (the oracle: the city set's tiers
    and regions, counted by pandas)."""
    cs = city_set().cities
    panel = pd.DataFrame({"city_code": np.repeat(cs["city_code"].to_numpy(), 3), "year": np.tile([2014, 2015, 2016],
                                                                                                   len(cs))})
    tier = panel["city_code"].map(cs.set_index("city_code")["tier"])
    region = panel["city_code"].map(cs.set_index("city_code")["region"])
    assert filter_sample(panel, exclude_years=2015)["year"].unique().tolist() == [2014, 2016]
    pd.testing.assert_frame_equal(filter_sample(panel, regions="east"), panel[region == "east"])
    pd.testing.assert_frame_equal(filter_sample(panel, tiers="municipality"), panel[tier == "municipality"])
    for key, words in (({"exclude_years": ["2015"]}, "sample exclude_years = ['2015'] is not a list of years"),
                       ({"exclude_years": 2015.0}, "is not a list of years"),
                       ({"tiers": ["1"]}, "unknown tier(s) ['1']"),
                       ({"regions": [1]}, "sample regions = [1] is not a list of names"),
                       ({"drop_municipalities": "no"}, "sample drop_municipalities = 'no' is not true or false")):
        with pytest.raises(AnalysisError) as err:
            filter_sample(panel, **key)
        assert words in err.value.message, err.value.message
