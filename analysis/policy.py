"""Policy dummies for the analysis panel, from ``etl.policies`` (the pilot lists of ``etl/data``).

``policy_panel`` gives, per city and year, ``low_carbon`` = 1[t ≥ first pilot year] under the chosen
treatment-year coding (``announce`` 2010/2012/2017, ``source`` 2011/2012/2017, ``effective``
2011/2013/2018 — see ``etl.policies``; paper 004 codes 2011/2013/2017), ``carbon_trading`` likewise,
and ``low_carbon_year`` (the cohort, NaN for never-treated cities) that the DID estimators use.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def policy_panel(cities: Sequence[str], years: Sequence[int], coding: str = "announce",
                 county_units: str = "prefecture", carbon_coding: str = "launch") -> pd.DataFrame:
    """``city_code, year, low_carbon, carbon_trading, low_carbon_year, carbon_trading_year``."""
    from citynet.etl.policies import carbon_trading_year, low_carbon_treatment_year, policy_dummies

    out = policy_dummies(list(cities), list(years), coding=coding, county_units=county_units,
                         carbon_coding=carbon_coding)
    out["low_carbon_year"] = out["city_code"].map(low_carbon_treatment_year(coding, county_units))
    out["carbon_trading_year"] = out["city_code"].map(carbon_trading_year(carbon_coding))
    return out


def cohort_from_dummy(df: pd.DataFrame, treat: str, unit: str = "city_code", year: str = "year") -> pd.Series:
    """First year with ``treat == 1`` per unit, broadcast to rows (NaN: never treated in the sample)."""
    first = df.loc[df[treat] > 0].groupby(unit)[year].min()
    return df[unit].map(first).astype(float)


def policy_synergy(docs: pd.DataFrame) -> pd.DataFrame:
    """Paper 002's provincial policy-synergy indices per province-year, from ``canonical/policy_docs``:

    ``zts`` = mean number of issuing bodies per policy (主体协同), ``gjs`` = mean number of Rothwell tool
    classes (supply, demand, environment) per policy, 1–3 (工具协同), ``rps = zts × gjs`` (协同度), and
    ``n_policies``. Province-years without a policy are absent (not zero): the indices are undefined there.
    """
    g = docs.groupby(["province_code", "year"])
    out = g.agg(zts=("n_bodies", "mean"), gjs=("n_tools", "mean"), n_policies=("n_bodies", "size")).reset_index()
    out["rps"] = out["zts"] * out["gjs"]
    return out[["province_code", "year", "zts", "gjs", "rps", "n_policies"]]


def join_synergy(panel: pd.DataFrame, synergy: pd.DataFrame) -> pd.DataFrame:
    """Left-join the province-year indices to a city-year panel by ``province_code`` (from the city code)."""
    p = panel.copy()
    key = p["province_code"] if "province_code" in p.columns else p["city_code"].astype(str).str[:2] + "0000"
    p["_prov"] = key.astype(str)
    s = synergy.rename(columns={"province_code": "_prov"})
    s["_prov"] = s["_prov"].astype(str)
    return p.merge(s.drop(columns=["n_policies"]), on=["_prov", "year"], how="left").drop(columns="_prov")
