"""Three fits that gave another estimator than the one asked for without a word.

1. Conley standard errors on data without a ``year`` column: a cross-section (each city once) is Conley's sum over
   every pair within the cutoff; a panel (a city on several rows) would have summed over pairs of any two years — a
   city's own rows of other years at distance 0, fixest's panel convention, which nests clustering by city — and
   serial lags were dropped without the years. Both are refused (exit 5), the cross-section kept.
2. Clusters of one observation each (a cross-section clustered by city, ``--cluster`` on a row id): the
   cluster-robust variance is then the heteroskedasticity-robust one (``G/(G−1)·(N−1)/(N−K) = N/(N−K)`` at G = N).
   pyfixest 0.60 and fixest say nothing; citynet keeps the numbers and says so in a note.
3. ``lag(x)`` in a formula, R's spelling: formulaic's lag takes the previous *row* (another city's last year, the year
   before a gap); refused with the panel lag ``L(x, 1)``, which is aligned by year within the city.

References: statsmodels (HC0, HC1, one-way cluster; OLS on lags written by hand), and counts worked by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from citynet.analysis.estimators import fit
from citynet.analysis.inference import conley, fit_with_inference
from click.testing import CliRunner

from citynet.cli import cli
from citynet.errors import AnalysisError
from tests.test_fit_cli import build_workspace


def _cities(n: int) -> pd.DataFrame:
    """n cities on a parallel, 6° of longitude apart (≥ 570 km): a cutoff of 1e-6 km pairs each only with itself."""
    return pd.DataFrame({"city_code": [str(i) for i in range(n)], "lon": 80 + 6.0 * np.arange(n), "lat": 30.0})


def _panel(n_city: int, years: list[int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city_code": np.repeat(np.arange(n_city).astype(str), len(years)),
                       "year": np.tile(years, n_city)})
    df["x"] = rng.normal(size=len(df))
    df["y"] = 1 + 0.5 * df["x"] + rng.normal(size=len(df)) * (1 + np.abs(df["x"]))
    return df


# ------------------------------------------------------------------------------------------------ Conley
def test_conley_on_a_panel_without_year_is_refused():
    """4 cities × 3 years = 12 rows, the year column dropped: one message counting them (hand: 12 rows, 4 cities,
    3 rows per city), exit 5; with the year column the same data fit."""
    df = _panel(4, [2010, 2011, 2012])
    with pytest.raises(AnalysisError) as err:
        conley(df.drop(columns="year"), "y ~ x", 200, cities=_cities(4))
    assert err.value.exit_code == 5
    assert err.value.message == (
        "Conley standard errors: the data hold 12 rows of 4 cities (a panel: up to 3 rows per city) and no year "
        "column, so the pairs within the cutoff would be taken across every year, a city's own rows of other years "
        "included — not Conley's pairs within a year")
    assert err.value.fix.startswith("keep the panel's year column, named year")
    with pytest.raises(AnalysisError, match="no year column"):  # the same through the inference option
        fit_with_inference(df.rename(columns={"year": "t"}), "y ~ x", "conley:200")
    assert conley(df, "y ~ x", 200, cities=_cities(4)).se.notna().all()


def test_conley_lags_without_year_are_refused():
    """Serial lags need the years: they were left out without a word (the cross-section below has no lag to take)."""
    xs = _panel(30, [2010]).drop(columns="year")
    with pytest.raises(AnalysisError) as err:
        conley(xs, "y ~ x", 1e-6, lag=2, cities=_cities(30))
    assert err.value.message == ("Conley standard errors with serial lags (lag 2) need the years, and the data have "
                                 "no year column")


def test_conley_on_a_cross_section_without_year_stays():
    """Each city once, no year column: Conley as before; a cutoff below every distance leaves each city paired only
    with itself, which is statsmodels' HC0 (White)."""
    xs = _panel(40, [2010], seed=3).drop(columns="year")
    r = conley(xs, "y ~ x", 1e-6, cities=_cities(40))
    ref = sm.OLS(xs["y"], sm.add_constant(xs["x"])).fit(cov_type="HC0")
    assert np.allclose(r.se[["Intercept", "x"]].to_numpy(), ref.bse[["const", "x"]].to_numpy(), rtol=1e-10)


# ------------------------------------------------------------------------------------- clusters of one
NOTE_ONE_WAY = ("Every cluster of {var} holds one observation ({n} clusters of one): these are heteroskedasticity-"
                "robust standard errors (the same as --vcov hc1's), not clustered ones.")


def test_clusters_of_one_observation_are_said_and_the_numbers_kept():
    """50 rows, one per id: the note, and the SEs are statsmodels' HC1 (unchanged); clusters of 10 rows: no note, the
    SEs statsmodels' one-way cluster SEs."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"id": np.arange(50), "g": np.repeat(np.arange(5), 10), "x": rng.normal(size=50)})
    df["y"] = 0.5 * df["x"] + rng.normal(size=50) * (1 + np.abs(df["x"]))
    X = sm.add_constant(df["x"])
    r = fit(df, "y ~ x", vcov="cluster:id")
    assert NOTE_ONE_WAY.format(var="id", n=50) in r.notes
    hc1 = sm.OLS(df["y"], X).fit(cov_type="HC1")
    assert np.allclose(r.se[["Intercept", "x"]].to_numpy(), hc1.bse[["const", "x"]].to_numpy(), rtol=1e-10)
    r = fit(df, "y ~ x", vcov="cluster:g")
    assert not [n for n in r.notes if n.startswith("Every cluster")]
    crv1 = sm.OLS(df["y"], X).fit(cov_type="cluster", cov_kwds={"groups": df["g"]})
    assert np.allclose(r.se[["Intercept", "x"]].to_numpy(), crv1.bse[["const", "x"]].to_numpy(), rtol=1e-10)
    # two-way with one way of single rows: V_id − V_id∩g = 0, so they are the one-way clusters by g
    r = fit(df, "y ~ x", vcov="cluster:id+g")
    assert ("Every cluster of id holds one observation: the two-way clustered standard errors are those clustered by "
            "g alone.") in r.notes
    assert np.allclose(r.se[["Intercept", "x"]].to_numpy(), crv1.bse[["const", "x"]].to_numpy(), rtol=1e-10)


def test_a_cross_section_clustered_by_city_says_so_through_fit(tmp_path):
    """``citynet fit`` on one year of the city-year panel (80 cities), clustered by city (the default, and
    --cluster city_code): the note in the JSON and the table; the whole panel (15 rows per city): none."""
    ws = build_workspace(tmp_path / "ws")
    note = NOTE_ONE_WAY.format(var="city_code", n=80)
    for extra in ([], ["--cluster", "city_code"]):
        res = CliRunner().invoke(cli, ["fit", "-w", str(ws), "--formula", "green_patents ~ gdp_per_capita",
                                       "--sample", "year == 2015", "--json", *extra])
        assert res.exit_code == 0, res.output
        doc = json.loads(res.stdout)
        assert doc["nobs"] == 80 and note in doc["notes"]
    res = CliRunner().invoke(cli, ["fit", "-w", str(ws), "--formula", "green_patents ~ gdp_per_capita",
                                   "--sample", "year == 2015"])
    assert res.exit_code == 0 and note in res.stdout, res.output
    res = CliRunner().invoke(cli, ["fit", "-w", str(ws), "--formula", "green_patents ~ gdp_per_capita", "--json"])
    assert res.exit_code == 0 and not [n for n in json.loads(res.stdout)["notes"] if n.startswith("Every cluster")]


# ------------------------------------------------------------------------------------------------ lag() and others
def _gapped_panel() -> pd.DataFrame:
    """City A in 2010–2012, 2014, 2015 (no 2013), city B in 2010–2013: a lag by year and a lag by row differ at A's
    2014 (no 2013 row: missing; by row, 2012's 3) and at B's 2010 (its first year: missing; by row, A's last 5)."""
    df = pd.DataFrame({"city_code": ["A"] * 5 + ["B"] * 4,
                       "year": [2010, 2011, 2012, 2014, 2015, 2010, 2011, 2012, 2013],
                       "x": [1.0, 2, 3, 4, 5, 10, 20, 30, 40]})
    df["y"] = [0.5, 1.0, 2.5, 2.0, 4.5, 1.0, 9.0, 22.0, 28.0]
    return df


def test_lag_is_one_message_and_the_panel_lags_are_by_year():
    """formulaic's lag(x) — what an R user writes — took the previous *row*: A's 2014 got 2012's x, B's 2010 got A's
    2015 (the demo: N = 5,054 of 5,055, where L(x, 1) has 4,718), exit 0. Now one message with L(x, 1) (exit 5). The
    year-aligned lag by hand — A: ·, 1, 2, ·, 4; B: ·, 10, 20, 30 — fitted by statsmodels OLS on those 6 rows equals
    L(x, 1), l1_x and fixest's l(x, 1) (iid SEs)."""
    df = _gapped_panel()
    for formula, k in (("y ~ lag(x)", 1), ("y ~ I(x - lag(x, 2))", 2)):
        with pytest.raises(AnalysisError) as err:
            fit(df, formula, vcov="iid")
        assert err.value.exit_code == 5
        assert err.value.message.startswith("lag() in") and "formulaic's lag, which shifts rows" in err.value.message
        assert err.value.fix.startswith(f"write L(x, {k}) or l{k}_x: x ")
    hand = pd.DataFrame({"y": df["y"], "lag": [np.nan, 1, 2, np.nan, 4, np.nan, 10, 20, 30]}).dropna()
    ref = sm.OLS(hand["y"], sm.add_constant(hand["lag"])).fit()
    for formula in ("y ~ L(x, 1)", "y ~ l1_x", "y ~ l(x, 1)", "y ~ l(x)"):
        r = fit(df, formula, vcov="iid")
        assert r.nobs == 6
        np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(r.se.to_numpy(), ref.bse.to_numpy(), rtol=1e-9)
    # a lead by hand — A: 2, 3, ·, 5, ·; B: 20, 30, 40, · — the same by f(x, 1), F(x, 1) and L(x, -1)
    hand = pd.DataFrame({"y": df["y"], "lead": [2, 3, np.nan, 5, np.nan, 20, 30, 40, np.nan]}).dropna()
    ref = sm.OLS(hand["y"], sm.add_constant(hand["lead"])).fit()
    for formula in ("y ~ f(x, 1)", "y ~ F(x, 1)", "y ~ L(x, -1)"):
        r = fit(df, formula, vcov="iid")
        np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), rtol=1e-9)


def test_a_sample_may_name_a_lag_the_formula_does_not_use():
    """--sample "l1_x > 1.5" with a formula without l1_x: 'names l1_x, which the panel does not have' (did you mean
    another lag?), though a lag is a name a formula may use. The lag by year of the whole panel — A: ·, 1, 2, ·, 4;
    B: ·, 10, 20, 30 — is above 1.5 in rows A2012, A2015, B2011–B2013: statsmodels OLS of y on x on those 5 rows; the
    fit's data keep their columns (the lag is not added)."""
    df = _gapped_panel()
    hand = df.iloc[[2, 4, 6, 7, 8]]
    ref = sm.OLS(hand["y"], sm.add_constant(hand["x"])).fit()
    r = fit(df, "y ~ x", vcov="iid", sample="l1_x > 1.5")
    assert r.nobs == 5
    np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), rtol=1e-9)
    from citynet.analysis.sample import apply_sample

    assert list(apply_sample(df, "l1_x > 1.5").columns) == list(df.columns)
    with pytest.raises(AnalysisError, match="names 'l1_z', which the panel does not have"):
        apply_sample(df, "l1_z > 1")
