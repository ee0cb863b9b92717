"""Integration: ``citynet metrics`` on the embedded store equals the panels of the pandas reference."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("citynet.graph.store")
canonical_synth = pytest.importorskip("bench.canonical_synth")

from citynet.etl.cities import city_set  # noqa: E402
from citynet.graph.network_filter import NetworkFilter  # noqa: E402
from citynet.graph.reference import reference_city_edges, reference_city_year_counts  # noqa: E402
from citynet.graph.store import open_store  # noqa: E402
from citynet.metrics.panels import compute_panels  # noqa: E402
from citynet.metrics.pipeline import PANELS, read_panel  # noqa: E402

from citynet.cli import cli  # noqa: E402
from citynet.workspace import Workspace  # noqa: E402


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    ws = Workspace.open(tmp_path_factory.mktemp("metrics-store") / "ws", create=True)
    tables = canonical_synth.synth_tables(600, seed=3, years=(2015, 2018))
    canonical_synth.write_tables(tables, ws.canonical)
    store = open_store(ws)
    try:
        store.load(ws.canonical)
    finally:
        store.close()
    return ws, tables


@pytest.mark.slow
def test_cli_metrics_on_embedded_store_equals_reference(loaded):
    ws, tables = loaded
    res = CliRunner().invoke(cli, ["metrics", "-w", str(ws.root), "--store", "embedded"])
    assert res.exit_code == 0, res.output
    flt = NetworkFilter()
    cy = read_panel(ws.panel("city-year"))
    years = sorted(cy["year"].unique().tolist())
    ref = compute_panels(reference_city_edges(tables, flt), reference_city_year_counts(tables, flt),
                         city_set().cities, years)
    for name in PANELS:
        ours = read_panel(ws.panel(name))
        want = getattr(ref, name)
        if name == "city_year":  # plus the partner-kind columns, from the canonical tables (metrics/partner_kinds.py)
            from citynet.metrics.partner_kinds import COLUMNS, partner_kind_panel

            pk = partner_kind_panel(tables["patents"], tables["patent_applicants"], tables["applicants"],
                                    city_set().cities["city_code"].astype(str), years)
            pk["city_code"] = pk["city_code"].astype(want["city_code"].dtype)
            want = want.merge(pk, on=["city_code", "year"], how="left")
            assert list(ours.columns[-len(COLUMNS):]) == COLUMNS and ours[COLUMNS].to_numpy().sum() > 0
        pd.testing.assert_frame_equal(ours, want, check_dtype=False, check_exact=False, atol=1e-12)
    assert cy.attrs["citynet"]["network"] == flt.key
    store = open_store(ws, read_only=True)
    try:
        n = store.query("MATCH (c:CityYear) WHERE c.network = $net RETURN count(*) AS n", {"net": flt.key})
    finally:
        store.close()
    assert int(n.iloc[0, 0]) == len(cy)


def test_partner_kinds_year_by_year_equal_the_whole_table_panel(loaded):
    """``from_workspace`` selects the years' rows from the files in DuckDB; the panel is that of the whole tables
    (application and grant year bases), and ``[metrics] memory_limit`` is checked like any size."""
    from citynet.metrics.partner_kinds import from_workspace, partner_kind_panel

    from citynet.errors import UserError

    ws, tables = loaded
    cities = city_set().cities["city_code"].astype(str).tolist()
    years = list(range(2014, 2020))
    for flt in ({"green": "wipo", "kind": "invention"},
                {"green": "all", "kind": "all", "granted_only": True, "year_basis": "grant"}):
        got = from_workspace(ws, cities, years, flt)
        want = partner_kind_panel(tables["patents"], tables["patent_applicants"], tables["applicants"],
                                  cities, years, **flt)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        assert want.iloc[:, 2:].to_numpy().sum() > 0
    bad = Workspace(ws.root, settings={**ws.settings, "metrics": {"memory_limit": "lots"}})
    with pytest.raises(UserError, match=r"\[metrics\] memory_limit"):
        from_workspace(bad, cities, years, {})


def test_metrics_opens_the_store_with_its_own_buffer_pool_setting(loaded):
    """``[metrics] buffer_pool`` (default 2.5GB) sizes LadybugDB's cache for ``citynet metrics``; a
    malformed size is one message naming that setting (exit 2)."""
    from citynet.metrics.pipeline import BUFFER_POOL, metrics_buffer_pool, run_metrics

    from citynet.errors import UserError

    ws, _ = loaded
    assert metrics_buffer_pool(ws) == BUFFER_POOL == "2.5GB"
    bad = Workspace(ws.root, settings={**ws.settings, "metrics": {"buffer_pool": "lots"}})
    with pytest.raises(UserError, match=r"\[metrics\] buffer_pool") as err:
        run_metrics(bad, NetworkFilter())
    assert err.value.exit_code == 2
