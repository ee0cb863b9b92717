"""Low-carbon and carbon-trading pilot dummies on the city set."""

from __future__ import annotations

import numpy as np
import pytest
from citynet.etl.cities import city_set
from citynet.etl.policies import (
    carbon_trading_year,
    low_carbon_treatment_year,
    policy_dummies,
    unmatched_pilot_units,
)


def code(name: str) -> str:
    c = city_set().cities
    return c.loc[c["name_zh"] == name, "city_code"].item()


def test_known_cities_announce_coding():
    y = low_carbon_treatment_year()
    assert y[code("深圳市")] == 2010  # batch 1 (and through 广东省)
    assert y[code("广州市")] == 2010  # province pilot 广东 (batch 1) beats its own batch-2 entry
    assert y[code("北京市")] == 2012
    assert y[code("苏州市")] == 2012
    assert y[code("南京市")] == 2017
    assert y[code("黑河市")] == 2017  # 逊克县 mapped to its prefecture
    assert np.isnan(y[code("无锡市")])
    assert y.index.tolist() == city_set().codes


def test_codings():
    src, eff = low_carbon_treatment_year("source"), low_carbon_treatment_year("effective")
    assert src[code("杭州市")] == 2011 and eff[code("杭州市")] == 2011
    assert src[code("北京市")] == 2012 and eff[code("北京市")] == 2013
    assert src[code("南京市")] == 2017 and eff[code("南京市")] == 2018
    with pytest.raises(ValueError):
        low_carbon_treatment_year("bogus")


def test_county_units():
    ignore = low_carbon_treatment_year(county_units="ignore")
    assert np.isnan(ignore[code("黑河市")])  # only 逊克县 was a pilot
    assert ignore[code("宜昌市")] == 2010  # still treated through 湖北省
    assert low_carbon_treatment_year()[code("酒泉市")] == 2017  # 敦煌市


def test_unmatched_units_listed():
    # outside the prefecture-level city set: province-administered units and an XPCC city
    assert unmatched_pilot_units() == ["济源市", "琼中黎族苗族自治县", "第一师阿拉尔市"]
    assert unmatched_pilot_units("ignore") == []


def test_carbon_trading():
    launch, designated = carbon_trading_year(), carbon_trading_year("designated")
    assert launch[code("深圳市")] == 2013 and launch[code("武汉市")] == 2014 and launch[code("福州市")] == 2016
    assert designated[code("重庆市")] == 2011 and designated[code("福州市")] == 2016
    assert np.isnan(carbon_trading_year(include_fujian=False)[code("福州市")])
    assert np.isnan(launch[code("南京市")])


def test_policy_dummies_staggered():
    d = policy_dummies(years=range(2009, 2019))
    assert list(d.columns) == ["city_code", "year", "low_carbon", "carbon_trading"]
    assert len(d) == len(city_set()) * 10
    bj = d[d["city_code"] == "110000"].set_index("year")
    assert bj.loc[2011, "low_carbon"] == 0 and bj.loc[2012, "low_carbon"] == 1 and bj.loc[2018, "low_carbon"] == 1
    assert bj.loc[2012, "carbon_trading"] == 0 and bj.loc[2013, "carbon_trading"] == 1
    # once treated, always treated
    assert (d.sort_values(["city_code", "year"]).groupby("city_code")["low_carbon"].diff().fillna(0) >= 0).all()


def test_paper004_coding_is_2011_2013_2017():
    from citynet.etl.policies import low_carbon_treatment_year

    years = low_carbon_treatment_year(coding="paper004")
    announce = low_carbon_treatment_year(coding="announce")
    mapping = {2010: 2011, 2012: 2013, 2017: 2017}
    assert (years.dropna() == announce.dropna().map(mapping)).all()
