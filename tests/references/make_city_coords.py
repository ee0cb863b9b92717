"""Writes ``data/city_coords.csv``, the city attributes ``conley_ppml.R`` joins to ``synth_city_year.csv`` (run
once; the CSV is committed): each city's centroid (``lon``, ``lat``: citynet's city set, the coordinates
``conley`` uses), its ``region`` (a fixed effect without singletons for the cross-sections) and ``w``, a made-up
population-like regression weight (lognormal, seed 11, mean ≈ 5, three decimals) for the weighted PPML.
Usage: python tests/references/make_city_coords.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from citynet.etl.cities import city_set

OUT = Path(__file__).parent / "data"


def main() -> None:
    codes = pd.read_csv(OUT / "synth_city_year.csv", usecols=["city_code"])["city_code"].drop_duplicates()
    c = city_set().cities.assign(city_code=lambda d: d["city_code"].astype(int)).set_index("city_code")
    out = c.loc[codes.sort_values().to_numpy(), ["lon", "lat", "region"]].reset_index()
    rng = np.random.default_rng(11)
    out["w"] = np.round(np.exp(rng.normal(1.3, 0.8, len(out))), 3)
    out.to_csv(OUT / "city_coords.csv", index=False)  # shortest round-trip decimals


if __name__ == "__main__":
    main()
