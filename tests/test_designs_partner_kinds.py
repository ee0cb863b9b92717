"""Collaboration by partner kinds against a plain pandas/loop computation from canonical tables, and the
columns in the analysis panel."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from citynet.metrics.partner_kinds import COLUMNS, PAIR_KEYS, partner_kind_panel


def _canonical(seed=0, n_app=60, n_pat=400):
    rng = np.random.default_rng(seed)
    cities = ["110000", "310000", "440100", "440300"]
    kinds = ["firm", "university", "institute", "government", "individual", "other"]
    app = pd.DataFrame({"applicant_id": np.arange(n_app), "kind": rng.choice(kinds, n_app, p=[.4, .2, .15, .1, .1, .05]),
                        "city_code": rng.choice(cities + [None], n_app)})
    pat = pd.DataFrame({"patent_id": [f"P{i}" for i in range(n_pat)], "app_year": rng.choice([2015, 2016, 2017], n_pat),
                        "green": rng.random(n_pat) < 0.7, "y02": rng.random(n_pat) < 0.5,
                        "patent_kind": rng.choice(["invention", "utility"], n_pat), "granted": rng.random(n_pat) < 0.6})
    rows = []
    for pid in pat["patent_id"]:
        k = int(rng.choice([1, 2, 3, 4], p=[.4, .35, .15, .1]))
        for s, a in enumerate(rng.choice(n_app, k, replace=False)):
            rows.append((pid, int(a), s + 1))
    pa = pd.DataFrame(rows, columns=["patent_id", "applicant_id", "seq"])
    return pat, pa, app, cities


def _reference(pat, pa, app, cities, years, green, kind):
    """Loop over patents and applicant pairs (the definition, written out)."""
    ok = pat.copy()
    if green == "wipo":
        ok = ok[ok["green"]]
    if kind != "all":
        ok = ok[ok["patent_kind"] == kind]
    kinds = app.set_index("applicant_id")["kind"].to_dict()
    city = app.set_index("applicant_id")["city_code"].to_dict()
    pairname = {frozenset(["firm", "university"]): "firm_univ", frozenset(["firm", "institute"]): "firm_inst",
                frozenset(["university", "institute"]): "univ_inst", frozenset(["firm"]): "firm_firm"}
    pats, partners = {}, {}
    for pid, yr in zip(ok["patent_id"], ok["app_year"], strict=True):
        apps = sorted(set(pa.loc[pa["patent_id"] == pid, "applicant_id"]))
        for a, b in itertools.combinations(apps, 2):
            ka, kb = kinds[a], kinds[b]
            keys = []
            if frozenset([ka, kb]) in pairname:
                keys.append(pairname[frozenset([ka, kb])])
            if "government" in (ka, kb) and {ka, kb} <= {"firm", "university", "institute", "government"}:
                keys.append("gov")
            for key in keys:
                for me, other in ((a, b), (b, a)):
                    c = city[me]
                    if c is None:
                        continue
                    pats.setdefault((c, yr, key), set()).add(pid)
                    partners.setdefault((c, yr, key), set()).add(other)
    rows = []
    for c in cities:
        for y in years:
            r = {"city_code": c, "year": y}
            for k in PAIR_KEYS:
                r[f"copat_{k}"] = len(pats.get((c, y, k), ()))
                r[f"partners_{k}"] = len(partners.get((c, y, k), ()))
            rows.append(r)
    return pd.DataFrame(rows)


def test_partner_kind_columns_equal_the_written_out_definition():
    pat, pa, app, cities = _canonical()
    for green, kind in (("wipo", "invention"), ("all", "all")):
        mine = partner_kind_panel(pat, pa, app, cities, [2015, 2016, 2017], green=green, kind=kind)
        ref = _reference(pat, pa, app, cities, [2015, 2016, 2017], green, kind)
        pd.testing.assert_frame_equal(mine[["city_code", "year", *COLUMNS]].reset_index(drop=True),
                                      ref[["city_code", "year", *COLUMNS]], check_dtype=False)
        assert mine[COLUMNS].to_numpy().sum() > 0


def test_columns_reach_the_analysis_panel(tmp_path):
    from citynet.analysis.spec import load_panels

    from citynet.workspace import Workspace

    pat, pa, app, cities = _canonical(seed=1)
    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.metrics.mkdir()
    ws.canonical.mkdir(exist_ok=True)
    pat.to_parquet(ws.canonical / "patents.parquet")
    pa.to_parquet(ws.canonical / "patent_applicants.parquet")
    app.to_parquet(ws.canonical / "applicants.parquet")
    pd.DataFrame({"city_code": np.repeat(cities, 3), "year": np.tile([2015, 2016, 2017], 4), "y": 1.0}).to_parquet(
        ws.panel("city-year"), index=False)
    df = load_panels(ws)("city-year")
    ref = _reference(pat, pa, app, cities, [2015, 2016, 2017], "wipo", "invention")
    m = df.merge(ref, on=["city_code", "year"], suffixes=("", "_ref"))
    assert len(m) == 12 and all((m[c] == m[f"{c}_ref"]).all() for c in COLUMNS)


def test_metrics_writes_the_columns_into_the_city_year_panel_and_exports(tmp_path):
    """``run_metrics`` on a workspace with canonical tables: the ten columns are in metrics/city_year.parquet
    (equal to the written-out definition, zeros elsewhere), and the CSV and Stata exports carry them with
    the labels of metrics/labels.py."""
    from citynet.graph.network_filter import NetworkFilter
    from citynet.metrics.export import export_panel
    from citynet.metrics.labels import LABELS
    from citynet.metrics.pipeline import TableStore, read_panel, run_metrics

    from citynet.workspace import Workspace

    pat, pa, app, cities = _canonical(seed=2)
    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.canonical.mkdir(exist_ok=True)
    pat.to_parquet(ws.canonical / "patents.parquet")
    pa.to_parquet(ws.canonical / "patent_applicants.parquet")
    app.to_parquet(ws.canonical / "applicants.parquet")
    years = [2015, 2016, 2017]
    edges = pd.DataFrame({"network": "collab", "year": years, "src": cities[0], "dst": cities[1], "weight": 1})
    counts = pd.DataFrame({"city_code": np.repeat(cities, 3), "year": np.tile(years, 4), "green_patents": 1,
                           "collab_patents": 1, "transfers_out": 0, "citations_made": 0})
    run_metrics(ws, NetworkFilter(), store=TableStore(edges, counts))
    cy = read_panel(ws.panel("city-year"))
    ref = _reference(pat, pa, app, cities, years, "wipo", "invention")
    m = cy.merge(ref, on=["city_code", "year"], how="left", suffixes=("", "_ref"))
    assert ref[COLUMNS].to_numpy().sum() > 0
    for c in COLUMNS:
        assert (m[c] == m[f"{c}_ref"].fillna(0)).all(), c
        assert cy[c].dtype == "int64"
    csv = pd.read_csv(export_panel(ws, "city-year", None, tmp_path / "cy.csv"), dtype={"city_code": str})
    assert set(COLUMNS) <= set(csv.columns)
    path = export_panel(ws, "city-year", None, tmp_path / "cy.dta")
    with pd.io.stata.StataReader(path) as rd:
        labels = rd.variable_labels()
    for c in COLUMNS:
        assert labels[c] == LABELS[c].stata and LABELS[c].en and LABELS[c].zh
    assert labels["copat_firm_univ"].startswith("产学 ")
