"""Writes ``data/awkward_city_year.csv``: a small hand-built city-year panel with what real panels hold and
estimators mishandle silently (run once; the CSV is committed; ``references.R`` fits it with fixest).

36 cities (6 provinces, 3 regions), 2010–2017, unbalanced: a city observed in one year only, one whose first
of two years lacks x1 (a singleton once missing values go), one with a gap (no 2013: its 2014 lag is missing),
one that starts in 2014; a year (2018) held by one city only, and a cascade (city 103600: 2010 and 2019, the
year 2019 its alone, so dropping that singleton leaves the city a singleton). Columns: ``x2`` constant within
each city and ``x3`` a linear trend (both absorbed by the fixed effects), ``x5 = x1 + 2·x4`` (collinear), ``d`` a
staggered 0/1 treatment, ``y`` continuous, ``cnt`` a count whose three cities are all zero, ``s`` 1 on four
zero-count rows only (it separates), ``kind`` a
factor whose level "b" is s (an i() level that separates), ``z`` an instrument for x1, ``w`` a weight (0 in two rows, missing in one),
``province`` a cluster missing in three rows, ``two`` a two-valued cluster (two-way clustering by it and the
year gives a covariance matrix that is not positive semi-definite), missing values in x1 and y.
Usage: python tests/references/make_awkward.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "data" / "awkward_city_year.csv"


def main() -> None:
    rng = np.random.default_rng(20240)
    provinces, regions = ["11", "12", "13", "14", "15", "16"], ["east", "central", "west"]
    rows = []
    for c in range(37):
        a, size = rng.normal(), rng.lognormal(3, 0.5)
        for t in range(2010, 2018):
            rows.append(dict(city_code=f"{100000 + 100 * c}", year=t, province=provinces[c % 6],
                             region=regions[c % 3], alpha=a, size=size))
    df = pd.DataFrame(rows)
    city, year = df["city_code"], df["year"]
    df = df[~(((city == "103500") & (year != 2012)) | ((city == "103400") & ~year.isin([2011, 2012]))
              | ((city == "103300") & (year == 2013)) | ((city == "103200") & (year < 2014))
              | ((city == "103600") & (year != 2010)))]
    first = df.groupby("city_code").first()
    extra = [dict(city_code=c, year=t, province=first.loc[c, "province"], region=first.loc[c, "region"],
                  alpha=first.loc[c, "alpha"], size=first.loc[c, "size"]) for c, t in (("100000", 2018), ("103600", 2019))]
    df = pd.concat([df, pd.DataFrame(extra)]).sort_values(["city_code", "year"]).reset_index(drop=True)
    n, t = len(df), df["year"] - 2010
    df["x1"] = rng.normal(size=n)
    df["x2"] = 2 * df["alpha"] + 1
    df["x3"] = 0.3 * t + 1.0
    df["x4"] = rng.normal(size=n) + 0.5 * df["x1"]
    df["x5"] = df["x1"] + 2 * df["x4"]
    df["d"] = ((df["city_code"].str[2:4].astype(int) % 3 == 0) & (df["year"] >= 2014)).astype(int)
    df["y"] = 0.5 * df["x1"] - 0.3 * df["x4"] + 0.4 * df["d"] + df["alpha"] + 0.1 * t + rng.normal(size=n)
    cnt = rng.poisson(np.exp(0.3 * df["x1"] + 0.2 * df["x4"] + 0.5 * df["alpha"] + 0.05 * t))
    cnt[df["city_code"].isin(["100100", "100700", "101300"]).to_numpy()] = 0
    df["cnt"] = cnt
    df["w"] = np.round(df["size"] * rng.uniform(0.5, 1.5, size=n), 3)
    df["z"] = 0.8 * df["x1"] + rng.normal(size=n)
    df["two"] = np.where(df["city_code"] < "101800", "a", "b")
    df.loc[[3, 40, 77], "x1"] = np.nan
    df.loc[(df["city_code"] == "103400") & (df["year"] == 2011), "x1"] = np.nan
    df.loc[[10, 120], "y"] = np.nan
    df.loc[[15, 99, 200], "province"] = np.nan
    df.loc[[50, 60], "w"] = 0.0
    df.loc[[70], "w"] = np.nan
    positive = df.groupby("city_code")["cnt"].transform("sum") > 0
    df["s"] = 0
    df.loc[df.index[(df["cnt"] == 0) & positive & df["x1"].notna() & (df["year"] < 2018)][:4], "s"] = 1
    # kind: an i() factor whose level "b" separates (it is s), "c" a level that does not (every fourth city-year)
    c_index = df["city_code"].str[2:4].astype(int)
    df["kind"] = np.where(df["s"] == 1, "b", np.where((c_index + df["year"]) % 4 == 0, "c", "a"))
    df.drop(columns=["alpha", "size"]).to_csv(OUT, index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
