"""run_metrics on an in-memory store: a one-year refresh gives the same panels as a full run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.etl.cities import city_set
from citynet.graph.network_filter import NetworkFilter
from citynet.metrics.pipeline import PANELS, TableStore, parse_years, read_panel, run_metrics

from citynet.errors import UserError
from citynet.workspace import Workspace

CODES = city_set().cities["city_code"].to_numpy()


def _tables(years, seed=7, m=150):
    rng = np.random.default_rng(seed)
    hubs = rng.choice(len(CODES), 40, replace=False)  # most of the city set stays isolated
    rows = []
    for net in ("collab", "transfer", "citation"):
        for y in years:
            a, b = CODES[rng.choice(hubs, m)], CODES[rng.choice(hubs, m)]
            if net == "collab":
                a, b = np.minimum(a, b), np.maximum(a, b)
            rows.append(pd.DataFrame({"network": net, "year": y, "src": a, "dst": b, "weight": 1}))
    e = pd.concat(rows)
    e = e[e["src"] != e["dst"]].groupby(["network", "year", "src", "dst"], as_index=False)["weight"].sum()
    c = pd.DataFrame({"city_code": np.repeat(CODES[hubs], len(years)), "year": np.tile(list(years), len(hubs))})
    for col in ("green_patents", "collab_patents", "transfers_out", "citations_made"):
        c[col] = rng.poisson(3, len(c))
    return e, c


def _assert_same(ws_a, ws_b):
    for name in PANELS:
        a, b = read_panel(ws_a.panel(name)), read_panel(ws_b.panel(name))
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-12)
        assert a.attrs == b.attrs


def test_full_run_writes_three_panels_with_metadata(tmp_path):
    e, c = _tables(range(2010, 2013))
    ws = Workspace.open(tmp_path / "ws", create=True)
    store = TableStore(e, c)
    run = run_metrics(ws, NetworkFilter(green="y02"), store=store)
    assert run.panel_years == [2010, 2011, 2012]
    assert not ws.panel("city-year").exists()  # not the default filter: metrics/<key>/ only
    ws.select_network("invention.y02.all")
    cy = read_panel(ws.panel("city-year"))
    assert len(cy) == 3 * len(CODES)
    assert cy.attrs["citynet"]["network"] == "invention.y02.all"
    assert cy.attrs["citynet"]["n_cities"] == len(CODES)
    assert len(read_panel(ws.panel("dyad-year"))) == 3 * len(CODES) * (len(CODES) - 1) // 2
    network, written = store.written[-1]
    assert network == "invention.y02.all" and len(written) == 3 * len(CODES)


def test_years_setting_fixes_the_panel_range(tmp_path):
    """``[years]`` within the stored years sets the panel's range; beyond them it is refused (rows of zeros
    for years without any data were written before)."""
    e, c = _tables(range(2010, 2014))
    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.settings["years"] = {"start": 2011, "end": 2012}
    run = run_metrics(ws, NetworkFilter(), store=TableStore(e, c))
    assert run.panel_years == [2011, 2012]
    assert sorted(read_panel(ws.panel("city-year"))["year"].unique()) == [2011, 2012]
    ws.settings["years"] = {"start": 2010, "end": 2014}
    with pytest.raises(UserError, match="reaches beyond the stored patents' application years .2010–2013."):
        run_metrics(ws, NetworkFilter(), store=TableStore(e, c))


def test_refresh_of_a_new_year_equals_full_run(tmp_path):
    e, c = _tables(range(2010, 2015))
    flt = NetworkFilter()
    full = Workspace.open(tmp_path / "full", create=True)
    run_metrics(full, flt, store=TableStore(e, c))

    inc = Workspace.open(tmp_path / "inc", create=True)
    old = TableStore(e[e["year"] < 2014], c[c["year"] < 2014])
    run_metrics(inc, flt, store=old)
    store = TableStore(e, c)  # the yearly refresh: 2014 arrives
    run = run_metrics(inc, flt, years=[2014], store=store)
    assert run.years == [2014] and run.churn_years == []
    assert run.panel_years == list(range(2010, 2015))
    _assert_same(full, inc)
    assert set(store.written[-1][1]["year"]) == {2014}


def test_refresh_of_a_middle_year_equals_full_run(tmp_path):
    e, c = _tables(range(2010, 2015))
    flt = NetworkFilter()
    full = Workspace.open(tmp_path / "full", create=True)
    run_metrics(full, flt, store=TableStore(e, c))

    inc = Workspace.open(tmp_path / "inc", create=True)
    stale_e, stale_c = _tables(range(2010, 2015), seed=99)  # 2012 was computed from other data
    e_old = pd.concat([e[e["year"] != 2012], stale_e[stale_e["year"] == 2012]])
    c_old = pd.concat([c[c["year"] != 2012], stale_c[stale_c["year"] == 2012]])
    run_metrics(inc, flt, store=TableStore(e_old, c_old))
    before = read_panel(inc.panel("city-year"))
    run = run_metrics(inc, flt, years=[2012], store=TableStore(e, c))
    assert run.years == [2012] and run.churn_years == [2013]
    _assert_same(full, inc)
    after = read_panel(inc.panel("city-year"))
    # 2013: only churn moved; every other year untouched
    keep = ~after["year"].isin([2012, 2013])
    pd.testing.assert_frame_equal(after[keep], before[keep])
    y13 = after["year"] == 2013
    assert not after.loc[y13, "partners_new"].equals(before.loc[y13, "partners_new"])
    pd.testing.assert_series_equal(after.loc[y13, "collab_partners"], before.loc[y13, "collab_partners"])


def test_refresh_refuses_another_filter_and_gaps(tmp_path):
    e, c = _tables(range(2010, 2012))
    ws = Workspace.open(tmp_path / "ws", create=True)
    run_metrics(ws, NetworkFilter(), store=TableStore(e, c))
    with pytest.raises(UserError, match="invention.y02.all"):
        run_metrics(ws, NetworkFilter(green="y02"), years=[2011], store=TableStore(e, c))
    e, c = _tables(range(2008, 2016))  # a store that holds the years around the panel's
    with pytest.raises(UserError, match="--years 2014 would leave 2012–2013 out of the panel, whose years are 2010–2011"):
        run_metrics(ws, NetworkFilter(), years=[2014], store=TableStore(e, c))
    with pytest.raises(UserError, match="--years 2008 would leave 2009 out of the panel"):
        run_metrics(ws, NetworkFilter(), years=[2008], store=TableStore(e, c))
    with pytest.raises(UserError, match="--years 1800: the store has no patent filed in that year .its patents were filed in 2008–2015"):
        run_metrics(ws, NetworkFilter(), years=[1800], store=TableStore(e, c))  # the store's years first


def test_refresh_refuses_panels_without_metadata(tmp_path):
    e, c = _tables(range(2010, 2012))
    ws = Workspace.open(tmp_path / "ws", create=True)
    run_metrics(ws, NetworkFilter(), store=TableStore(e, c))
    path = ws.filter_panel("city-year", "invention.wipo.all")
    pd.read_parquet(path).to_parquet(path)  # metadata lost
    with pytest.raises(UserError, match="changed or damaged"):  # the manifest's hash sees the change first
        run_metrics(ws, NetworkFilter(), years=[2011], store=TableStore(e, c))
    (ws.root / ".citynet" / "manifest.json").unlink()  # a workspace without a manifest: the metadata check
    with pytest.raises(UserError, match="metadata"):
        run_metrics(ws, NetworkFilter(), years=[2011], store=TableStore(e, c))


def test_empty_store_is_a_user_error(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    empty = pd.DataFrame(columns=["network", "year", "src", "dst", "weight"])
    with pytest.raises(UserError, match="no patent"):
        run_metrics(ws, NetworkFilter(), store=TableStore(empty))


def test_a_refresh_of_years_the_store_has_no_patent_of_is_a_user_error(tmp_path):
    """``--years`` outside every year of the store (a typo, or exports not loaded yet) is refused with
    the store's years, never an empty panel; so is a range that reaches beyond them (2013: a full run's
    panel, 2010–2012, would not hold it); years within them are computed."""
    e, c = _tables(range(2010, 2013))
    ws = Workspace.open(tmp_path / "ws", create=True)
    with pytest.raises(UserError, match="no patent filed in those years .its patents were filed in 2010–2012"):
        run_metrics(ws, NetworkFilter(), years=[2030, 2031], store=TableStore(e, c))
    with pytest.raises(UserError, match="no patent passes the network filter 'invention.wipo.all' in 2013"):
        run_metrics(ws, NetworkFilter(), years=[2012, 2013], store=TableStore(e, c))
    run = run_metrics(ws, NetworkFilter(), years=[2011, 2012], store=TableStore(e, c))
    assert run.panel_years == [2011, 2012]


def test_panels_of_years_without_any_edge_are_zeros():
    """A year range with no edge at all (a filter no patent of those years passes): the panels are
    computed, every count zero (before, the edge index failed on no group)."""
    from citynet.metrics.panels import compute_panels

    empty = pd.DataFrame(columns=["network", "year", "src", "dst", "weight"])
    cities = city_set().cities
    panels = compute_panels(empty, None, cities, [2030, 2031])
    assert len(panels.city_year) == 2 * len(cities)
    assert (panels.city_year["collab_degree"] == 0).all()
    n = len(cities)
    assert len(panels.dyad_year) == 2 * n * (n - 1) // 2 and len(panels.network_year) == 6


def test_parse_years():
    assert parse_years("2019") == [2019]
    assert parse_years("2015-2017") == [2015, 2016, 2017]
    assert parse_years(None) is None
    with pytest.raises(UserError):
        parse_years("2020-2018")
    with pytest.raises(UserError):
        parse_years("recent")


def test_cli_metrics_full_and_refresh(tmp_path, monkeypatch):
    from citynet.graph import store as graph_store
    from click.testing import CliRunner

    from citynet.cli import cli

    e, c = _tables(range(2010, 2013))
    monkeypatch.setattr(graph_store, "open_store", lambda ws, backend=None, uri=None, **kw: TableStore(e, c))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "citynet.toml").write_text('[network]\ngreen = "y02"\n', encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli, ["metrics", "-w", str(ws)])
    assert res.exit_code == 0, res.output
    assert "invention.y02.all" in res.output
    assert read_panel(ws / "metrics" / "city_year.parquet").attrs["citynet"]["network"] == "invention.y02.all"
    res = runner.invoke(cli, ["metrics", "-w", str(ws), "--years", "2011", "--kind", "invention"])
    assert res.exit_code == 0, res.output
    assert "churn of 2012" in " ".join(res.output.split())
    res = runner.invoke(cli, ["metrics", "-w", str(ws), "--years", "2011", "--green", "wipo"])
    assert res.exit_code != 0 and isinstance(res.exception, UserError)
