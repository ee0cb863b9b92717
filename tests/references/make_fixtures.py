"""Writes the synthetic fixtures the R reference scripts read (run once; the CSVs are committed).

``synth_city_year.csv``: the true green city-year panel of ``citynet synth`` (seed 1, 200,000 patents,
2010–2019; ``citynet.synth.model.true_panels``) with a few derived regressors.
``synth_dyad_year.csv``: the full dyad-year grid (zeros included) of the 60 largest cities, seed 2,
2,000,000 patents, 2013–2017 (dense enough for origin-year and destination-year PPML).
``synth_w.csv``: a row-standardised-ready inverse-distance matrix (cut-off 600 km) of the 60 cities and
``synth_spatial.csv`` the balanced city-year panel of those cities for the spatial models.
Usage: python tests/references/make_fixtures.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from citynet.synth.model import SynthConfig, city_parameters, draw_green, true_panels

OUT = Path(__file__).parent / "data"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    cfg = SynthConfig(seed=1, n_patents=200_000, years=(2010, 2019), policy_effect=0.23, distance_decay=1.35)
    cy, _ = true_panels(cfg)
    rng = np.random.default_rng(7)
    cy = cy.drop(columns="expected")
    cy["ln_green"] = np.log1p(cy["green_patents"])
    cy["ln_collab"] = np.log1p(cy["collab_patents"])
    cy["x1"] = rng.normal(size=len(cy)) + 0.3 * cy["low_carbon"]
    cy["x2"] = rng.normal(size=len(cy))
    cy["z1"] = rng.normal(size=len(cy))
    first = cy[cy["low_carbon"] == 1].groupby("city_code")["year"].min()
    cy["first_treat"] = cy["city_code"].map(first).fillna(0).astype(int)
    cy.to_csv(OUT / "synth_city_year.csv", index=False, float_format="%.17g")

    cfg2 = SynthConfig(seed=2, n_patents=2_000_000, years=(2013, 2017), policy_effect=0.23, distance_decay=1.35)
    p = city_parameters(cfg2)
    draws = draw_green(cfg2, p)
    top = np.sort(np.argsort(-p.size)[:60])
    n = len(p.codes)
    rows = []
    for d in draws:
        c = np.zeros((n, n))
        c[d.pair_i, d.pair_j] = d.pair_n
        ii, jj = np.triu_indices(len(top), 1)
        a, b = top[ii], top[jj]
        rows.append(pd.DataFrame({"city_a": p.codes[a], "city_b": p.codes[b], "year": int(d.year),
                                  "collab": c[a, b].astype(int), "log_distance": np.log(p.dist[a, b])}))
    pd.concat(rows, ignore_index=True).to_csv(OUT / "synth_dyad_year.csv", index=False, float_format="%.17g")

    codes = p.codes[top]
    dist = p.dist[np.ix_(top, top)]
    w = np.where((dist > 0) & (dist < 600), 1.0 / np.where(dist > 0, dist, 1.0), 0.0)
    # cities without a neighbour within 600 km get their nearest one
    for i in np.flatnonzero(w.sum(1) == 0):
        j = np.argsort(dist[i])[1]
        w[i, j] = w[j, i] = 1.0 / dist[i, j]
    pd.DataFrame(w, columns=codes).assign(city_code=codes).to_csv(OUT / "synth_w.csv", index=False,
                                                                   float_format="%.17g")
    sp = cy[cy["city_code"].isin(set(codes))].copy()
    sp["city_code"] = pd.Categorical(sp["city_code"], categories=list(codes))
    sp = sp.sort_values(["year", "city_code"])
    sp["city_code"] = sp["city_code"].astype(str)
    sp[["city_code", "year", "ln_green", "x1", "x2", "low_carbon"]].to_csv(
        OUT / "synth_spatial.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
