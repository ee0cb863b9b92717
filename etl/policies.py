"""Staggered policy dummies on the city set: low-carbon city pilots and carbon-trading pilots.

Sources are the package reference files ``etl/data/low_carbon_pilots.csv`` (the three NDRC batches)
and ``etl/data/carbon_ets_pilots.csv`` (see ``etl/data/PROVENANCE.md`` for what is uncertain).
A user may pass their own CSV with the same columns (``path=``).

Low-carbon pilots (``low_carbon_treatment_year``)
    Units are mapped to the city set as follows:

    - ``province`` pilot (广东省 …): every city of the province is treated;
    - ``municipality`` / ``prefecture`` pilot: that city (matched on the official name ``name_zh``);
    - county-level units (county, county-level city, district: 逊克县, 共青城市, 普洱市思茅区 …):
      ``county_units="prefecture"`` treats the parent prefecture (column ``prefecture_zh``), as most
      of the literature does; ``county_units="ignore"`` leaves them out;
    - units outside the city set (济源市 and 琼中黎族苗族自治县 are administered by their province,
      第一师阿拉尔市 belongs to the XPCC) match no city and are reported by ``unmatched_pilot_units``.

    Treatment year (``coding``):

    - ``"announce"``: the year the NDRC notice was issued (2010 / 2012 / 2017);
    - ``"source"``: the year coded by the source script (2011 / 2012 / 2017);
    - ``"effective"``: announce + 1 (2011 / 2013 / 2018), the first full year under the pilot;
    - ``"paper004"``: 2011 / 2013 / 2017, the coding of paper 004 (METHODS.md).

    A city reached by several units (深圳 in batch 1 on its own and through 广东省) keeps the
    earliest year: ``year_i = min_u year_u`` over the units u that cover city i.

Carbon-trading pilots (``carbon_trading_year``)
    ``coding="designated"``: the year of the NDRC notice (2011 for the seven pilots; 福建, not part of
    that notice, gets its launch year); ``coding="launch"``: the year trading started (深圳 2013,
    北京/上海/广东/天津 2013, 湖北/重庆 2014, 福建 2016). Province pilots treat all their cities;
    ``include_fujian=False`` drops 福建.

The dummy of a staggered policy is ``D_it = 1[t ≥ year_i]`` (0 for never-treated cities).
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd
from citynet.etl.cities import city_set

LOW_CARBON_CODINGS = ("announce", "source", "effective", "paper004")
PAPER004_BATCH_YEARS = {1: 2011, 2: 2013, 3: 2017}
COUNTY_UNITS = ("prefecture", "ignore")
CARBON_CODINGS = ("designated", "launch")
_PREFECTURE_LEVELS = {"municipality", "prefecture"}


def _read(name: str, path: str | None) -> pd.DataFrame:
    if path:
        return pd.read_csv(path, dtype=str)
    with resources.as_file(resources.files("citynet.etl") / "data" / name) as p:
        return pd.read_csv(p, dtype=str)


@functools.cache
def _name_to_code() -> dict[str, str]:
    c = city_set().cities
    return dict(zip(c["name_zh"], c["city_code"], strict=True))


@functools.cache
def _province_to_codes() -> dict[str, tuple[str, ...]]:
    c = city_set().cities
    return {p: tuple(g["city_code"]) for p, g in c.groupby("province_zh")}


def _cities_of_unit(level: str, name: str, prefecture: str | None, county_units: str) -> tuple[str, ...]:
    """City codes a pilot unit covers (empty when it matches nothing in the city set)."""
    names = _name_to_code()
    if level == "province":
        return _province_to_codes().get(name, ())
    if level in _PREFECTURE_LEVELS:
        return (names[name],) if name in names else ()
    if county_units == "ignore":
        return ()
    if prefecture and prefecture in names:
        return (names[prefecture],)
    return ()


def _low_carbon_units(coding: str, county_units: str, path: str | None) -> pd.DataFrame:
    if coding not in LOW_CARBON_CODINGS:
        raise ValueError(f"coding must be one of {LOW_CARBON_CODINGS}, not {coding!r}")
    if county_units not in COUNTY_UNITS:
        raise ValueError(f"county_units must be one of {COUNTY_UNITS}, not {county_units!r}")
    units = _read("low_carbon_pilots.csv", path)
    announce = units["announce_year"].astype(int)
    year = {
        "announce": announce,
        "source": units["source_year_coding"].astype(int),
        "effective": announce + 1,
        "paper004": units["batch"].astype(int).map(PAPER004_BATCH_YEARS),
    }[coding]
    units = units.assign(year=year)
    units["cities"] = [
        _cities_of_unit(lv, nm, pf if isinstance(pf, str) and pf else None, county_units)
        for lv, nm, pf in zip(units["unit_level"], units["name_zh"], units["prefecture_zh"], strict=True)
    ]
    return units


def unmatched_pilot_units(county_units: str = "prefecture", path: str | None = None) -> list[str]:
    """Low-carbon pilot units that match no city of the city set (with ``county_units`` applied)."""
    units = _low_carbon_units("announce", county_units, path)
    miss = units[units["cities"].map(len) == 0]
    if county_units == "ignore":
        miss = miss[miss["unit_level"].isin(_PREFECTURE_LEVELS | {"province"})]
    return miss["name_zh"].tolist()


def _earliest(units: pd.DataFrame, name: str) -> pd.Series:
    pairs = units[["cities", "year"]].explode("cities").dropna(subset=["cities"])
    first = pairs.groupby("cities")["year"].min()
    codes = city_set().cities["city_code"]
    out = first.reindex(codes.to_numpy()).astype("float64")
    out.index.name = "city_code"
    return out.rename(name)


def low_carbon_treatment_year(
    coding: str = "announce", county_units: str = "prefecture", path: str | None = None
) -> pd.Series:
    """First year each city of the city set is a low-carbon pilot (index ``city_code``; NaN: never)."""
    return _earliest(_low_carbon_units(coding, county_units, path), "low_carbon_year")


def carbon_trading_year(coding: str = "launch", include_fujian: bool = True, path: str | None = None) -> pd.Series:
    """First year each city is covered by a carbon-trading pilot (index ``city_code``; NaN: never)."""
    if coding not in CARBON_CODINGS:
        raise ValueError(f"coding must be one of {CARBON_CODINGS}, not {coding!r}")
    units = _read("carbon_ets_pilots.csv", path)
    if not include_fujian:
        units = units[units["pilot_zh"] != "福建省"]
    launch = units["trading_launch"].str[:4].astype(float)
    designated = pd.to_numeric(units["designated"].str[:4], errors="coerce")
    year = launch if coding == "launch" else designated.fillna(launch)
    units = units.assign(year=year)
    units["cities"] = [
        _cities_of_unit("province" if lv == "province" else "prefecture", nm, None, "ignore")
        for lv, nm in zip(units["unit_level"], units["pilot_zh"], strict=True)
    ]
    return _earliest(units, "carbon_trading_year")


def staggered_dummy(first_year: pd.Series, cities: list[str] | pd.Series, years) -> pd.DataFrame:
    """``D_it = 1[t ≥ first_year_i]`` on the grid cities × years (never treated: 0)."""
    cities = list(cities)
    years = list(years)
    grid = pd.DataFrame(
        {"city_code": np.repeat(cities, len(years)), "year": np.tile(np.asarray(years, dtype=int), len(cities))}
    )
    fy = grid["city_code"].map(first_year).to_numpy(dtype=float)
    grid["treated"] = (grid["year"].to_numpy() >= fy).astype("int8")  # NaN compares False
    return grid


def policy_dummies(
    cities: list[str] | pd.Series | None = None,
    years=range(2006, 2021),
    coding: str = "announce",
    county_units: str = "prefecture",
    carbon_coding: str = "launch",
    include_fujian: bool = True,
) -> pd.DataFrame:
    """``city_code``, ``year``, ``low_carbon``, ``carbon_trading`` (0/1) for every city and year."""
    cities = city_set().codes if cities is None else list(cities)
    lc = staggered_dummy(low_carbon_treatment_year(coding, county_units), cities, years)
    ct = staggered_dummy(carbon_trading_year(carbon_coding, include_fujian), cities, years)
    return lc.rename(columns={"treated": "low_carbon"}).assign(carbon_trading=ct["treated"].to_numpy())
