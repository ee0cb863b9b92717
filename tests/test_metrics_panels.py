"""Panels from hand-made edge and count tables: normalisations worked by hand, churn, balance, dyads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.etl.cities import city_set, haversine_km
from citynet.metrics.panels import (
    CITY_YEAR_COLUMNS,
    CITY_YEAR_CONTRACT,
    DYAD_YEAR_COLUMNS,
    NETWORK_YEAR_COLUMNS,
    city_year_panel,
    compute_panels,
    dyad_year_panel,
)

CITIES = city_set().cities
N = len(CITIES)
BJ, TJ, SJZ, TS, SH, NJ, SZ = "110000", "120000", "130100", "130200", "310000", "320100", "320500"
UND_PAIRS = (N - 1) * (N - 2) / 2
DIR_PAIRS = (N - 1) * (N - 2)


def edges(rows):
    return pd.DataFrame(rows, columns=["network", "year", "src", "dst", "weight"])


def row(panel, code, year=2010):
    r = panel[(panel["city_code"] == code) & (panel["year"] == year)]
    assert len(r) == 1
    return r.iloc[0]


def test_star_collab_normalisations():
    # BJ in the centre of a star with TJ, SJZ, TS: 3 pairs of leaves pass through BJ
    e = edges([("collab", 2010, BJ, TJ, 2), ("collab", 2010, SJZ, BJ, 1), ("collab", 2010, BJ, TS, 3)])
    p = city_year_panel(e, None, CITIES, [2010])
    bj = row(p, BJ)
    assert bj["collab_partners"] == 3
    assert bj["collab_strength"] == 6
    assert bj["collab_intensity"] == pytest.approx(2.0)
    assert bj["collab_degree"] == pytest.approx(3 / (N - 1))
    assert bj["collab_betweenness"] == pytest.approx(3 / UND_PAIRS)
    assert row(p, TJ)["collab_betweenness"] == 0
    assert row(p, TJ)["collab_degree"] == pytest.approx(1 / (N - 1))
    assert bj["collab_coreness"] == 1 and bj["collab_clustering"] == 0
    assert bj["collab_constraint"] == pytest.approx(sum((w / 6) ** 2 for w in (2, 1, 3)))
    assert row(p, TJ)["collab_constraint"] == pytest.approx(1.0)
    assert np.isnan(row(p, SH)["collab_constraint"])
    # harmonic: BJ reaches 3 cities at distance 1; TJ reaches BJ at 1 and two leaves at 2
    assert bj["collab_harmonic"] == pytest.approx(3 / (N - 1))
    assert row(p, TJ)["collab_harmonic"] == pytest.approx((1 + 0.5 + 0.5) / (N - 1))
    assert bj["collab_eigenvector"] == pytest.approx(1.0)
    assert row(p, TJ)["collab_eigenvector"] == pytest.approx(1 / np.sqrt(3))


def test_weighted_betweenness_uses_inverse_weight_as_length():
    # BJ–TJ once (length 1); BJ–SH and SH–TJ five times each (length 0.2 + 0.2 = 0.4 < 1): SH brokers
    e = edges([("collab", 2010, BJ, TJ, 1), ("collab", 2010, BJ, SH, 5), ("collab", 2010, SH, TJ, 5)])
    p = city_year_panel(e, None, CITIES, [2010])
    assert row(p, SH)["collab_betweenness"] == 0  # unweighted: a triangle, no broker
    assert row(p, SH)["collab_betweenness_w"] == pytest.approx(1 / UND_PAIRS)
    assert row(p, BJ)["collab_betweenness_w"] == 0
    # harmonic with lengths: BJ reaches SH at 0.2 and TJ at 0.4
    assert row(p, BJ)["collab_harmonic_w"] == pytest.approx((5 + 2.5) / (N - 1))


def test_directed_transfer_normalisations():
    # BJ ⇄ TJ ⇄ SJZ and BJ → SH. TJ lies on the ordered pairs (BJ, SJZ), (SJZ, BJ), (SJZ, SH)
    e = edges([("transfer", 2010, BJ, TJ, 4), ("transfer", 2010, TJ, SJZ, 1), ("transfer", 2010, SJZ, TJ, 1),
               ("transfer", 2010, TJ, BJ, 1), ("transfer", 2010, BJ, SH, 2)])
    p = city_year_panel(e, None, CITIES, [2010])
    tj, bj = row(p, TJ), row(p, BJ)
    assert tj["transfer_betweenness"] == pytest.approx(3 / DIR_PAIRS)
    # BJ is on SJZ→SH and TJ→SH
    assert bj["transfer_betweenness"] == pytest.approx(2 / DIR_PAIRS)
    assert bj["transfer_partners_out"] == 2 and bj["transfer_partners_in"] == 1
    assert bj["transfer_outdegree"] == pytest.approx(2 / (N - 1))
    assert bj["transfer_indegree"] == pytest.approx(1 / (N - 1))
    assert bj["transfer_intensity_out"] == pytest.approx(6 / 2)
    assert row(p, SH)["transfer_intensity_out"] == 0
    # a one-way chain: only the ordered pair BJ→SJZ counts, once
    e = edges([("transfer", 2010, BJ, TJ, 1), ("transfer", 2010, TJ, SJZ, 1)])
    p = city_year_panel(e, None, CITIES, [2010])
    assert row(p, TJ)["transfer_betweenness"] == pytest.approx(1 / DIR_PAIRS)


def test_citation_direction():
    # knowledge flows from the cited city (src) to the citing city (dst): NJ's patents cite BJ and SH
    e = edges([("citation", 2010, BJ, NJ, 3), ("citation", 2010, SH, NJ, 1)])
    p = city_year_panel(e, None, CITIES, [2010])
    assert row(p, NJ)["citation_indegree"] == pytest.approx(2 / (N - 1))
    assert row(p, BJ)["citation_outdegree"] == pytest.approx(1 / (N - 1))


def test_partner_churn_three_years():
    e = edges([
        ("collab", 2010, BJ, TJ, 1), ("collab", 2010, BJ, SJZ, 2),
        ("collab", 2011, TJ, BJ, 1), ("collab", 2011, BJ, TS, 1),
        ("collab", 2012, BJ, TS, 1), ("collab", 2012, BJ, SH, 1), ("collab", 2012, NJ, BJ, 1),
    ])
    p = city_year_panel(e, None, CITIES, [2010, 2011, 2012])
    churn = ["partners_continuing", "partners_new", "partners_exited"]
    # first panel year: t-1 unobserved -> <NA>, for every city
    assert p.loc[p["year"] == 2010, churn].isna().all().all()
    assert tuple(row(p, BJ, 2011)[churn]) == (1, 1, 1)  # TJ stays, TS new, SJZ exits
    assert tuple(row(p, BJ, 2012)[churn]) == (1, 2, 1)  # TS stays, SH and NJ new, TJ exits
    assert tuple(row(p, SJZ, 2011)[churn]) == (0, 0, 1)
    assert tuple(row(p, TJ, 2012)[churn]) == (0, 0, 1)
    assert tuple(row(p, SZ, 2012)[churn]) == (0, 0, 0)
    for y in (2011, 2012):
        r = row(p, BJ, y)
        assert r["partners_continuing"] + r["partners_new"] == r["collab_partners"]
        prev = row(p, BJ, y - 1)
        assert r["partners_continuing"] + r["partners_exited"] == prev["collab_partners"]
    # a later first year (a refresh of 2012 alone) still gets churn from the 2011 edges
    q = city_year_panel(e, None, CITIES, [2012], first_year=2010)
    assert tuple(row(q, BJ, 2012)[churn]) == (1, 2, 1)


def test_balanced_panel_with_zeros():
    e = edges([("collab", 2011, BJ, TJ, 1), ("transfer", 2011, SH, NJ, 2)])
    counts = pd.DataFrame({"city_code": [BJ, NJ], "year": [2011, 2011], "green_patents": [5, 2],
                           "transfers_in": [0, 2]})
    panels = compute_panels(e, counts, CITIES, [2010, 2011, 2012])
    p = panels.city_year
    assert list(p.columns) == list(CITY_YEAR_COLUMNS)
    assert list(p.columns[: len(CITY_YEAR_CONTRACT)]) == list(CITY_YEAR_CONTRACT)
    assert len(p) == 3 * N and not p.duplicated(["city_code", "year"]).any()
    assert set(p["city_code"]) == set(CITIES["city_code"])
    later = p[p["year"] > 2010]
    nan_ok = {"partners_continuing", "partners_new", "partners_exited", "collab_constraint"}
    assert not later.drop(columns=list(nan_ok)).isna().any().any()
    assert not p[list(set(CITY_YEAR_CONTRACT) - nan_ok)].isna().any().any()
    assert row(p, BJ, 2011)["green_patents"] == 5
    assert row(p, NJ, 2011)["transfers_in"] == 2
    iso = row(p, SZ, 2011)
    zero_cols = [c for c in CITY_YEAR_COLUMNS
                 if c not in ("city_code", "year", "collab_constraint", "collab_pagerank", "transfer_pagerank")]
    assert (iso[zero_cols] == 0).all()
    assert 0 < iso["collab_pagerank"] < row(p, BJ, 2011)["collab_pagerank"]  # teleport mass only
    assert iso["collab_community"] == 0 and row(p, BJ, 2011)["collab_community"] == 1
    # an empty year is all zeros too
    assert (p.loc[p["year"] == 2012, ["collab_partners", "collab_betweenness", "transfers_out"]] == 0).all().all()
    assert list(panels.network_year.columns) == list(NETWORK_YEAR_COLUMNS)
    assert len(panels.network_year) == 9


def test_dyad_year_panel():
    e = edges([("collab", 2010, TJ, BJ, 2), ("transfer", 2010, SH, BJ, 3), ("transfer", 2010, BJ, SH, 1),
               ("citation", 2010, NJ, SZ, 4), ("citation", 2011, SZ, NJ, 5)])
    d = dyad_year_panel(e, CITIES, [2010, 2011])
    assert list(d.columns) == list(DYAD_YEAR_COLUMNS)
    assert len(d) == 2 * N * (N - 1) // 2
    assert (d["city_a"] < d["city_b"]).all()
    assert not d.duplicated(["city_a", "city_b", "year"]).any()

    def pair(a, b, y):
        r = d[(d["city_a"] == a) & (d["city_b"] == b) & (d["year"] == y)]
        assert len(r) == 1
        return r.iloc[0]

    assert pair(BJ, TJ, 2010)["collab"] == 2 and pair(BJ, TJ, 2011)["collab"] == 0
    r = pair(BJ, SH, 2010)
    assert (r["transfer_ab"], r["transfer_ba"]) == (1, 3)
    r = pair(NJ, SZ, 2010)  # NJ -> SZ knowledge flow: SZ cites NJ
    assert (r["citations_ab"], r["citations_ba"]) == (4, 0)
    assert tuple(pair(NJ, SZ, 2011)[["citations_ab", "citations_ba"]]) == (0, 5)
    assert r["same_province"] == 1 and pair(BJ, SH, 2010)["same_province"] == 0
    c = CITIES.set_index("city_code")
    expect = haversine_km(c.loc[BJ, "lon"], c.loc[BJ, "lat"], c.loc[SH, "lon"], c.loc[SH, "lat"])
    assert pair(BJ, SH, 2011)["distance_km"] == pytest.approx(float(expect), rel=1e-12)
    assert 1000 < float(expect) < 1150
    np.testing.assert_allclose(d["log_distance"], np.log(d["distance_km"]))
    assert d["collab"].sum() == 2 and d["transfer_ab"].sum() + d["transfer_ba"].sum() == 4


def test_unknown_city_is_an_error():
    from citynet.errors import DataError

    with pytest.raises(DataError, match="999999"):
        city_year_panel(edges([("collab", 2010, BJ, "999999", 1)]), None, CITIES, [2010])
