"""The treatment of a staggered design: each city's first treated year (its cohort ``g``), checked.

Every design that dates cities (event study, placebo, PSM-DID, Callaway–Sant'Anna, Sun–Abraham, the
two-stage and covariate CS) takes its cohorts here, from either

- a 0/1 ``treat`` column: ``g_i = min{t : D_it = 1}``, missing for a city never treated; or
- a ``cohort`` column of first-treatment years, one value per city, where 0, ``inf`` or missing mean
  never treated — the convention of ``did::att_gt`` (``gname``: 0 for the never-treated) and of
  ``fixest::sunab`` (any value outside the sample's years).

Staggered adoption is absorbing: a city stays treated from ``g_i`` on. A 0/1 treatment that returns to
0 (a pilot that ended) is taken so, as a user computing ``gname`` by hand would, and the result says so
in a note naming the cities (Callaway & Sant'Anna 2021, §2 assumption 1; Sun & Abraham 2021, §2).

Example: a city treated 2012–2014 and then untreated has ``g = 2012`` and the note "treat returns to 0
after it was 1 in 1 city …".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from citynet.errors import AnalysisError


class Cohorts(NamedTuple):
    """``g``: the first treated year of each row's city (missing: never treated); ``notes``: what the
    table's notes should say about how it was read."""

    g: pd.Series
    notes: list[str]


def check_treatment(df: pd.DataFrame, treat: str) -> None:
    """A treatment whose first year > 0 dates a cohort must be a 0/1 indicator: a continuous column (a
    centrality) or a count gave every city a "cohort" in its first year with a positive value, silently."""
    values = pd.to_numeric(df[treat], errors="coerce")
    if df[treat].notna().any() and values.isna().all():
        raise AnalysisError(f"the treatment {treat!r} is not a number", fix="give a 0/1 column, or cohort = \"COLUMN\"")
    other = values.dropna()
    other = other[~other.isin([0, 1])]
    if len(other):
        shown = ", ".join(f"{v:g}" for v in other.unique()[:3])
        raise AnalysisError(
            f"the treatment {treat!r} is not a 0/1 indicator ({len(other):,} rows hold other values, e.g. {shown}); "
            "an event study or a staggered DID dates each city by its first treated year",
            fix="give a 0/1 column (1 from the year a city is treated, e.g. low_carbon), or the first-treatment year "
                "as cohort = \"COLUMN\"; for a continuous regressor, fit it (kind = \"fit\")")


def _examples(units: pd.Index) -> str:
    shown = ", ".join(map(str, units[:3]))
    return shown + (", …" if len(units) > 3 else "")


ABSORBING = ("each is taken as treated from its first treated year on (staggered adoption); for a treatment "
             "that ends, give the cohort yourself or fit the TWFE DID (kind = \"did\")")


def switching_off(df: pd.DataFrame, treat: str, unit: str, time: str, reading: str = ABSORBING) -> list[str]:
    """The note for a 0/1 treatment that returns to 0 after a 1 in some city, saying how the design reads it."""
    d = df[[unit, time, treat]].dropna().sort_values([unit, time], kind="stable")
    ever = d.groupby(unit, sort=False)[treat].cummax()
    off = d.loc[(ever > 0) & (d[treat] == 0), unit].unique()
    if not len(off):
        return []
    return [f"{treat} returns to 0 after it was 1 in {len(off):,} cit{'y' if len(off) == 1 else 'ies'} "
            f"({_examples(pd.Index(off))}); {reading}"]


def _cohort_column(df: pd.DataFrame, cohort: str, unit: str) -> pd.Series:
    values = pd.to_numeric(df[cohort], errors="coerce")
    if df[cohort].notna().any() and values.isna().all():
        raise AnalysisError(f"the cohort column {cohort!r} is not a number",
                            fix="give each city's first treated year (0 or empty for a city never treated)")
    g = values.astype(float).where(lambda v: np.isfinite(v) & (v > 0))
    spread = g.groupby(df[unit].to_numpy()).nunique(dropna=False)
    varying = spread.index[spread > 1]
    if len(varying):
        raise AnalysisError(
            f"the cohort column {cohort!r} takes more than one value within {len(varying):,} "
            f"cit{'y' if len(varying) == 1 else 'ies'} ({_examples(varying)}); a cohort is a city's first treated "
            "year, the same in every year",
            fix="give one first treated year per city (0 or empty for never treated), or a 0/1 column as treat")
    return g


def first_treated(df: pd.DataFrame, treat: str | None, cohort: str | None, unit: str = "city_code",
                  time: str = "year") -> Cohorts:
    """Each row's cohort ``g`` (module docstring): the ``cohort`` column when given, else the first year
    with ``treat`` = 1; missing for a city never treated."""
    if cohort:
        if cohort not in df.columns:
            raise AnalysisError(f"cohort column {cohort!r} is not in the panel",
                                fix="name the column of first treated years (e.g. low_carbon_year)")
        return Cohorts(_cohort_column(df, cohort, unit), [])
    if not treat or treat not in df.columns:
        raise AnalysisError(f"treatment column {treat!r} is not in the panel",
                            fix="set treat = \"COLUMN\" (0/1) or cohort = \"COLUMN\" (first treated years)")
    check_treatment(df, treat)
    first = df.loc[df[treat] > 0].groupby(unit)[time].min()
    return Cohorts(df[unit].map(first).astype(float), switching_off(df, treat, unit, time))
