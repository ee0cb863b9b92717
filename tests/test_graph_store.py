"""Contract tests of the graph layer: the same tests on the embedded store (LadybugDB) and on a real
Neo4j 5.26 server started by the test session (tests/conftest.py). The stores' projections and
city-year counts must equal the pandas computation of graph/reference.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from citynet.graph.network_filter import NetworkFilter
from citynet.graph.reference import reference_city_edges, reference_city_year_counts
from citynet.graph.store import GraphStore, open_store
from citynet.graph.tables import clean, entity_rows

from bench.canonical_synth import synth_tables, write_tables
from citynet import cypher
from citynet.errors import StoreError
from citynet.workspace import Workspace

BACKENDS = ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)]
FILTERS = [
    NetworkFilter(),
    NetworkFilter(green="all", kind="all"),
    NetworkFilter(green="y02", kind="all", granted_only=True),
    NetworkFilter(green="all", kind="invention", year_basis="grant"),
]


# -- data ------------------------------------------------------------------------------------------
def hand_tables() -> dict[str, pd.DataFrame]:
    """Four cities in two provinces, five patents; numbers checked by hand in test_hand_numbers."""
    cities = pd.DataFrame({
        "city_code": ["320100", "320500", "310000", "110000"],
        "name_zh": ["南京市", "苏州市", "上海市", "北京市"],
        "short_name": ["南京", "苏州", "上海", "北京"],
        "province_code": ["320000", "320000", "310000", "110000"],
        "province_zh": ["江苏省", "江苏省", "上海市", "北京市"],
        "lon": [118.8, 120.6, 121.5, 116.4], "lat": [32.1, 31.3, 31.2, 39.9],
        "tier": ["2", "2", "1", "1"], "region": ["east"] * 4,
    })
    applicants = pd.DataFrame({
        "applicant_id": ["a1", "a2", "a3", "a4", "a5"],
        "name": ["南京大学", "苏州公司", "上海公司", "北京研究院", "某个人"],
        "kind": ["university", "firm", "firm", "institute", "individual"],
        "country": ["CN"] * 5,
        "city_code": ["320100", "320500", "310000", "110000", None],
        "province_code": ["320000", "320000", "310000", "110000", None],
        "located_by": ["address", "address", "name", "address", "unresolved"],
    })
    d = dt.date
    patents = pd.DataFrame({
        "patent_id": ["p1", "p2", "p3", "p4", "p5"],
        "app_date": [d(2015, 1, 1), d(2015, 2, 1), d(2015, 3, 1), d(2016, 1, 1), d(2016, 5, 1)],
        "app_year": [2015, 2015, 2015, 2016, 2016],
        "pub_number": ["CN1A", "CN2A", "CN3A", "CN4A", "CN5A"],
        "grant_date": [d(2017, 1, 1), None, d(2018, 1, 1), None, None],
        "granted": [True, False, True, False, False],
        "patent_kind": ["invention", "invention", "utility", "invention", "invention"],
        "ipc_main": ["H01M"] * 5, "ipc": [["H01M"]] * 5, "cpc": [[], [], ["Y02E"], [], []],
        "green": [True, True, True, True, False], "green_topics": [["energy"]] * 5,
        "y02": [False, False, True, False, False], "title": ["t"] * 5,
    })
    patent_applicants = pd.DataFrame({
        "patent_id": ["p1", "p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4", "p5"],
        "applicant_id": ["a1", "a2", "a3", "a1", "a4", "a2", "a3", "a1", "a5", "a1"],
        "seq": [1, 2, 3, 1, 2, 1, 2, 1, 2, 1],
        "city_code": ["320100", "320500", "310000", "320100", "110000", "320500", "310000", "320100", None, "320100"],
    })
    transfers = pd.DataFrame({
        "transfer_id": ["t1", "t2", "t3", "t4"],
        "patent_id": ["p1", "p2", "p4", "p5"],
        "date": [d(2016, 1, 1), d(2016, 2, 1), d(2017, 1, 1), d(2017, 1, 1)],
        "year": [2016, 2016, 2017, 2017],
        "from_applicant_id": ["a1", "a1", "a1", "a1"],
        "to_applicant_id": ["a2", "a3", "a1", "a4"],
        "from_city": ["320100", "320100", "320100", "320100"],
        "to_city": ["320500", "310000", "320100", "110000"],
    })
    citations = pd.DataFrame({
        "citing_patent_id": ["p4", "p4", "p4", "p2"],
        "cited_ref": ["CN1A", "US123", "CN9Z", "CN1A"],
        "cited_patent_id": ["p1", None, None, "p1"],
        "foreign": [False, True, False, False],
    })
    return {"cities": cities, "applicants": applicants, "patents": patents, "patent_applicants": patent_applicants,
            "transfers": transfers, "citations": citations}


def small_synth(seed: int = 7) -> dict[str, pd.DataFrame]:
    return synth_tables(500, seed=seed, years=(2010, 2013), n_cities=25)


# -- fixtures --------------------------------------------------------------------------------------
def _workspace(tmp_path: Path, backend: str, server=None) -> Workspace:
    ws = Workspace.open(tmp_path, create=True)
    ws.settings["store"]["backend"] = backend
    if server is not None:
        ws.settings["store"].update(uri=server.uri, user=server.user, password=server.password)
    return ws


@pytest.fixture(params=BACKENDS)
def ws(request, tmp_path) -> Workspace:
    server = request.getfixturevalue("neo4j_clean") if request.param == "neo4j" else None
    return _workspace(tmp_path, request.param, server)


@pytest.fixture
def store(ws):
    s = open_store(ws)
    yield s
    s.close()


def load_tables(store: GraphStore, tables: dict, folder: Path) -> dict:
    write_tables(tables, folder)
    return store.load(folder)


# -- tests -----------------------------------------------------------------------------------------
def test_interface(store):
    assert isinstance(store, GraphStore)
    assert store.backend in ("embedded", "neo4j")


def test_load_counts(store, tmp_path):
    tables = small_synth()
    counts = load_tables(store, tables, tmp_path / "canonical")
    rows = entity_rows(clean({k: v.copy() for k, v in tables.items()}))
    in_store = store.counts()
    for name, frame in rows.items():
        assert counts[name] == {"rows": len(frame), "new": len(frame), "changed": 0}
        assert in_store.get(name, 0) == len(frame), name
    got = store.query("MATCH (p:Patent) WHERE p.patent_id = $id RETURN p.patent_id AS patent_id, p.app_year AS app_year",
                      {"id": tables["patents"]["patent_id"].iloc[0]})
    assert got["app_year"].iloc[0] == tables["patents"]["app_year"].iloc[0]
    got = store.query("MATCH (c:City {city_code: $c}) RETURN c.name_zh AS n", {"c": tables["cities"]["city_code"].iloc[0]})
    assert got["n"].iloc[0] == tables["cities"]["name_zh"].iloc[0]


def test_hand_numbers(store, tmp_path):
    tables = hand_tables()
    load_tables(store, tables, tmp_path / "canonical")
    flt = NetworkFilter()  # invention, WIPO green, all
    store.build_projections(flt)
    e = store.city_edges(flt)
    collab = {(r.year, r.src, r.dst): r.weight for r in e[e.network == "collab"].itertuples()}
    # p1: 320100, 320500, 310000 -> three pairs; p2: 320100-110000; p3 is utility; p4 has one located city
    assert collab == {(2015, "310000", "320100"): 1, (2015, "310000", "320500"): 1, (2015, "320100", "320500"): 1,
                      (2015, "110000", "320100"): 1}
    transfer = {(r.year, r.src, r.dst): r.weight for r in e[e.network == "transfer"].itertuples()}
    assert transfer == {(2016, "320100", "320500"): 1, (2016, "320100", "310000"): 1}  # p5 is not green; t3 is local
    citation = {(r.year, r.src, r.dst): r.weight for r in e[e.network == "citation"].itertuples()}
    # p2 (320100, 110000) cites p1 (320100, 320500, 310000); p4 (320100) cites p1
    assert citation == {(2015, "320500", "320100"): 1, (2015, "310000", "320100"): 1,
                        (2015, "320500", "110000"): 1, (2015, "310000", "110000"): 1, (2015, "320100", "110000"): 1,
                        (2016, "320500", "320100"): 1, (2016, "310000", "320100"): 1}
    c = store.city_year_counts(flt).set_index(["city_code", "year"])
    nj15 = c.loc[("320100", 2015)]
    assert nj15["green_patents"] == 2 and nj15["collab_patents"] == 2 and nj15["collab_patents_intraprov"] == 1
    assert nj15["citations_made"] == 1 and nj15["citations_received"] == 1
    nj16 = c.loc[("320100", 2016)]
    assert nj16["green_patents"] == 1 and nj16["citations_made"] == 3 and nj16["citations_foreign"] == 1
    assert nj16["transfers_out"] == 2 and nj16["transfers_intraprov"] == 1 and nj16["citations_received"] == 1
    assert c.loc[("320500", 2016), "transfers_in"] == 1
    assert ("320100", 2017) in c.index and c.loc[("320100", 2017), "transfers_local"] == 1
    assert store.patent_years() == {2015, 2016, 2017, 2018}  # application years, and p1's and p3's grants
    assert store.has_patents([2017]) and store.has_patents([2010, 2016]) and not store.has_patents([2019, 2030])
    # of one year basis (a refresh of a filter's years): filed 2015–2016, granted 2017–2018
    assert store.patent_years("application") == {2015, 2016} and store.patent_years("grant") == {2017, 2018}
    assert store.has_patents([2016], "application") and not store.has_patents([2017, 2018], "application")
    assert store.has_patents([2018], "grant") and not store.has_patents([2015, 2016], "grant")


def test_a_city_pair_counts_once_per_patent_whatever_its_applicants(store, tmp_path):
    """Hand-worked: a sixth applicant in Suzhou (320500) joins p1 (whose a2 is in Suzhou already) and p2,
    and p2 cites p1 twice (refs 2). A patent's city pair counts once however many of its applicants
    share a city; a citation's pairs weigh its refs once (both engines: Neo4j runs its own form)."""
    tables = hand_tables()
    tables["applicants"] = pd.concat([tables["applicants"], pd.DataFrame({
        "applicant_id": ["a6"], "name": ["苏州研究所"], "kind": ["institute"], "country": ["CN"],
        "city_code": ["320500"], "province_code": ["320000"], "located_by": ["address"]})], ignore_index=True)
    tables["patent_applicants"] = pd.concat([tables["patent_applicants"], pd.DataFrame({
        "patent_id": ["p1", "p2"], "applicant_id": ["a6", "a6"], "seq": [4, 3],
        "city_code": ["320500", "320500"]})], ignore_index=True)
    tables["citations"] = pd.concat([tables["citations"], pd.DataFrame({
        "citing_patent_id": ["p2"], "cited_ref": ["CN1A (2)"], "cited_patent_id": ["p1"], "foreign": [False]})],
        ignore_index=True)
    load_tables(store, tables, tmp_path / "canonical")
    flt = NetworkFilter()
    store.build_projections(flt)
    e = store.city_edges(flt)
    collab = {(r.year, r.src, r.dst): r.weight for r in e[e.network == "collab"].itertuples()}
    # p1: {320100, 320500, 310000}; p2: {320100, 110000, 320500}; Nanjing-Suzhou from both
    assert collab == {(2015, "310000", "320100"): 1, (2015, "310000", "320500"): 1, (2015, "320100", "320500"): 2,
                      (2015, "110000", "320100"): 1, (2015, "110000", "320500"): 1}
    citation = {(r.year, r.src, r.dst): r.weight for r in e[e.network == "citation"].itertuples()}
    # p2 (2015, refs 2) cites p1: cited {320100, 320500, 310000} x citing {320100, 110000, 320500}, pairs of
    # two cities; p4 (2016, Nanjing) cites p1 once
    assert citation == {(2015, "320100", "110000"): 2, (2015, "320100", "320500"): 2, (2015, "320500", "320100"): 2,
                        (2015, "320500", "110000"): 2, (2015, "310000", "320100"): 2, (2015, "310000", "110000"): 2,
                        (2015, "310000", "320500"): 2, (2016, "320500", "320100"): 1, (2016, "310000", "320100"): 1}
    pd.testing.assert_frame_equal(e, reference_city_edges(tables, flt))
    c = store.city_year_counts(flt).set_index(["city_code", "year"])
    sz15 = c.loc[("320500", 2015)]  # Suzhou: p1 (a2, a6) and p2 (a6); both with a Jiangsu partner (Nanjing)
    assert sz15["green_patents"] == 2 and sz15["collab_patents"] == 2 and sz15["collab_patents_intraprov"] == 2
    assert sz15["citations_received"] == 2  # p2 cites p1 with refs 2, once for Suzhou
    assert c.loc[("110000", 2015), "collab_patents_intraprov"] == 0 and c.loc[("320500", 2016), "citations_received"] == 1
    pd.testing.assert_frame_equal(store.city_year_counts(flt), reference_city_year_counts(tables, flt))


def test_an_engine_file_replaces_only_its_own_blocks():
    """``projections.neo4j.cypher`` holds two of the three blocks and ``read.neo4j.cypher`` three of many:
    Neo4j gets those and the shared others, in the shared file's order."""
    shared, neo4j = cypher.blocks("projections", "embedded"), cypher.blocks("projections", "neo4j")
    assert list(shared) == list(neo4j) == ["compute_collab", "compute_transfer", "compute_citation"]
    assert neo4j["compute_transfer"] == shared["compute_transfer"]
    assert neo4j["compute_collab"] != shared["compute_collab"] and neo4j["compute_citation"] != shared["compute_citation"]
    shared, neo4j = cypher.blocks("read", "embedded"), cypher.blocks("read", "neo4j")
    assert list(shared) == list(neo4j)
    assert {b for b in shared if shared[b] != neo4j[b]} == {"counts_patents", "counts_collab", "counts_received"}


def test_projections_equal_reference(store, tmp_path):
    tables = small_synth()
    load_tables(store, tables, tmp_path / "canonical")
    for flt in FILTERS:  # several filters side by side in one store
        store.build_projections(flt)
    for flt in FILTERS:
        pd.testing.assert_frame_equal(store.city_edges(flt), reference_city_edges(tables, flt), obj=flt.key)
        pd.testing.assert_frame_equal(store.city_year_counts(flt), reference_city_year_counts(tables, flt), obj=flt.key)
        years = [2011, 2012]
        pd.testing.assert_frame_equal(store.city_edges(flt, years), reference_city_edges(tables, flt, years))
        pd.testing.assert_frame_equal(store.city_year_counts(flt, years), reference_city_year_counts(tables, flt, years))


def test_idempotent_reload(store, tmp_path):
    tables = small_synth()
    load_tables(store, tables, tmp_path / "canonical")
    flt = NetworkFilter(green="all")
    store.build_projections(flt)
    before, edges = store.counts(), store.city_edges(flt)
    again = store.load(tmp_path / "canonical")
    assert all(c["new"] == 0 and c["changed"] == 0 for c in again.values())
    store.build_projections(flt)
    assert store.counts() == before
    pd.testing.assert_frame_equal(store.city_edges(flt), edges)


def test_incremental_year(store, tmp_path):
    tables = small_synth()
    flt = NetworkFilter(green="all", kind="all")
    early_ids = set(tables["patents"].loc[tables["patents"]["app_year"] <= 2012, "patent_id"])
    early = dict(tables)
    early["patents"] = tables["patents"][tables["patents"]["patent_id"].isin(early_ids)]
    early["patent_applicants"] = tables["patent_applicants"][tables["patent_applicants"]["patent_id"].isin(early_ids)]
    early["transfers"] = tables["transfers"][tables["transfers"]["patent_id"].isin(early_ids)]
    early["citations"] = tables["citations"][tables["citations"]["citing_patent_id"].isin(early_ids)]
    load_tables(store, early, tmp_path / "early")
    store.build_projections(flt)
    old_edges = store.city_edges(flt, [2010, 2011])
    counts = load_tables(store, tables, tmp_path / "full")
    assert counts["Patent"]["new"] == len(tables["patents"]) - len(early_ids)
    assert counts["Patent"]["changed"] == 0
    store.build_projections(flt, [2013])  # only the new year
    pd.testing.assert_frame_equal(store._read_edges(flt, [2010, 2011]), old_edges)
    pd.testing.assert_frame_equal(store.city_edges(flt, [2013]), reference_city_edges(tables, flt, [2013]))
    store.build_projections(flt)
    pd.testing.assert_frame_equal(store.city_edges(flt), reference_city_edges(tables, flt))
    pd.testing.assert_frame_equal(store.city_year_counts(flt), reference_city_year_counts(tables, flt))


def test_changed_row_is_updated(store, tmp_path):
    tables = hand_tables()
    load_tables(store, tables, tmp_path / "v1")
    flt = NetworkFilter()
    store.build_projections(flt)
    tables["applicants"].loc[tables["applicants"]["applicant_id"] == "a4", "city_code"] = "310000"
    pa_ = tables["patent_applicants"]
    pa_.loc[pa_["applicant_id"] == "a4", "city_code"] = "310000"
    counts = load_tables(store, tables, tmp_path / "v2")
    assert counts["Applicant"]["changed"] == 1 and counts["LOCATED_IN"]["changed"] == 1
    assert counts["APPLIED"]["changed"] == 1 and counts["Patent"]["changed"] == 0
    got = store.query("MATCH (a:Applicant {applicant_id: 'a4'})-[:LOCATED_IN]->(c:City) RETURN c.city_code AS c")
    assert got["c"].tolist() == ["310000"]
    rebuilt = store.build_projections(flt)
    assert rebuilt["collab"]["new"] + rebuilt["collab"]["changed"] + rebuilt["collab"]["deleted"] > 0
    pd.testing.assert_frame_equal(store.city_edges(flt), reference_city_edges(tables, flt))


@pytest.mark.parametrize("few", [0, 20_000])
def test_changed_relationships_deleted_one_by_one_or_by_one_scan(tmp_path, monkeypatch, few):
    """The embedded store deletes a load's changed relationships one statement each (up to FEW_CHANGED)
    or with one ``LOAD FROM`` (more): both leave the rows of a fresh load (a4 moved: its LOCATED_IN and
    APPLIED rows deleted and copied again, each once)."""
    from citynet.graph import embedded

    monkeypatch.setattr(embedded, "FEW_CHANGED", few)
    tables = hand_tables()
    with open_store(_workspace(tmp_path / "inc", "embedded", None)) as s:
        load_tables(s, tables, tmp_path / "v1")
        tables["applicants"].loc[tables["applicants"]["applicant_id"] == "a4", "city_code"] = "310000"
        pa_ = tables["patent_applicants"]
        pa_.loc[pa_["applicant_id"] == "a4", "city_code"] = "310000"
        counts = load_tables(s, tables, tmp_path / "v2")
        assert counts["LOCATED_IN"]["changed"] == 1 and counts["APPLIED"]["changed"] == 1
        rows = {n: s._fetch(n).sort_values(list(s._fetch(n).columns)).reset_index(drop=True)
                for n in ("LOCATED_IN", "APPLIED")}
    with open_store(_workspace(tmp_path / "fresh", "embedded", None)) as f:
        load_tables(f, tables, tmp_path / "v3")
        for n, got in rows.items():
            want = f._fetch(n)
            pd.testing.assert_frame_equal(got, want.sort_values(list(want.columns)).reset_index(drop=True), obj=n)


def test_rebuild_writes_only_the_difference(store, tmp_path):
    tables = hand_tables()
    load_tables(store, tables, tmp_path / "canonical")
    flt = NetworkFilter()
    first = store.build_projections(flt)
    assert first["collab"] == {"edges": 4, "weight": 4, "new": 4, "changed": 0, "deleted": 0}
    again = store.build_projections(flt)
    assert all(v["new"] == v["changed"] == v["deleted"] == 0 for v in again.values())
    n = {"n": flt.key}
    store.query("MATCH (a:City {city_code: '310000'})-[r:COLLABORATED]->(b:City {city_code: '320100'}) "
                "WHERE r.network = $n SET r.weight = 999", n, write=True)
    store.query("MATCH (a:City {city_code: '320100'})-[r:COLLABORATED]->(b:City {city_code: '320500'}) "
                "WHERE r.network = $n DELETE r", n, write=True)
    store.query("MATCH (a:City {city_code: '110000'}), (b:City {city_code: '310000'}) "
                "CREATE (a)-[:COLLABORATED {year: 2015, network: $n, weight: 5}]->(b)", n, write=True)
    store.query("MATCH (a:City {city_code: '110000'}), (b:City {city_code: '310000'}) "
                "CREATE (a)-[:CITED {year: 2014, network: $n, weight: 2}]->(b)", n, write=True)
    repaired = store.build_projections(flt, [2015])
    assert repaired["collab"] == {"edges": 4, "weight": 4, "new": 1, "changed": 1, "deleted": 1}
    assert repaired["citation"]["deleted"] == 0  # the stray 2014 edge is outside the rebuilt year
    store.build_projections(flt)
    pd.testing.assert_frame_equal(store.city_edges(flt), reference_city_edges(tables, flt))


def test_city_edges_builds_missing_projections(store, tmp_path):
    tables = hand_tables()
    load_tables(store, tables, tmp_path / "canonical")
    flt = NetworkFilter(green="all", kind="all")
    pd.testing.assert_frame_equal(store.city_edges(flt), reference_city_edges(tables, flt))


def test_injection_through_parameters_is_inert(store, tmp_path):
    load_tables(store, hand_tables(), tmp_path / "canonical")
    before = store.counts()
    attacks = [
        "320100' OR 1=1 //",
        "320100\"}) MATCH (n) DETACH DELETE n //",
        "x'}) DETACH DELETE c WITH 1 AS x MATCH (c:City {city_code:'320100",
        "$city",
    ]
    for bad in attacks:
        got = store.query(cypher.text("queries/top_partners", store.backend),
                          {"city": bad, "year": 2015, "limit": 10, "network": "invention.wipo.all"})
        assert got.empty
        got = store.query("MATCH (c:City) WHERE c.city_code = $city RETURN c.city_code AS c", {"city": bad})
        assert got.empty
    assert store.counts() == before


def test_read_only_refusal(store, tmp_path):
    load_tables(store, hand_tables(), tmp_path / "canonical")
    before = store.counts()
    for q in ("CREATE (:City {city_code: '999999'})", "MATCH (c:City) SET c.name_zh = 'x'",
              "MATCH (c:City) DETACH DELETE c", "MERGE (c:City {city_code: '999998'})"):
        with pytest.raises(StoreError) as err:
            store.query(q)
        assert "write" in (err.value.message + (err.value.fix or "")).lower()
    assert store.counts() == before
    store.query("CREATE (:City {city_code: '999999'})", write=True)
    assert store.counts()["City"] == before["City"] + 1


def test_engine_read_only_mode(ws, tmp_path):
    with open_store(ws) as s:
        load_tables(s, hand_tables(), tmp_path / "canonical")
    with open_store(ws, read_only=True) as ro:
        ro.ensure_schema()
        assert ro.query("MATCH (c:City) RETURN count(*) AS n")["n"].iloc[0] == 4
        with pytest.raises(StoreError):
            # a write that the keyword check would not catch: refused by the engine itself
            ro.query("MATCH (c:City) SET c.name_zh = 'x'", write=False)
        with pytest.raises(StoreError):
            ro.query("MATCH (c:City) SET c.name_zh = 'x'", write=True)


def test_older_schema_version_refused(store, tmp_path):
    load_tables(store, hand_tables(), tmp_path / "canonical")
    store.query("MATCH (m:Meta {key: 'schema_version'}) SET m.value = '0'", write=True)
    with pytest.raises(StoreError) as err:
        store.ensure_schema()
    assert "schema version 0" in err.value.message and "--rebuild" in err.value.fix
    store.clear()
    store.ensure_schema()
    assert store.counts() == {"Meta": 1}


def test_syntax_error_has_position(store):
    store.ensure_schema()
    with pytest.raises(StoreError) as err:
        store.query("MATCH (c:City RETURN c")
    assert "MATCH (c:City RETURN c" in err.value.message
    assert "line" in err.value.message.lower() or "offset" in err.value.message.lower()


@pytest.mark.neo4j
def test_neo4j_query_over_the_transaction_memory_says_how_to_get_more(neo4j_clean, tmp_path):
    """A real server's memory pool refusal (the test server: 768 MB heap, so about 540 MB per
    transaction) is one message whose fix names the heap, not the query library."""
    with open_store(_workspace(tmp_path, "neo4j", neo4j_clean)) as s, pytest.raises(StoreError) as err:
        s.query("UNWIND range(1, 200000000) AS x WITH collect(x) AS xs RETURN size(xs) AS n")
    assert "MemoryPoolOutOfMemoryError" in err.value.message
    assert "--heap" in err.value.fix


@pytest.mark.neo4j
def test_neo4j_server_version_is_checked_at_connection(neo4j_clean, tmp_path):
    """The suite's real server (5.26) passes; an older agent string is one message naming 5.26, a newer
    or calendar-versioned one passes."""
    from citynet.graph.neo4j_store import check_server_version

    with open_store(_workspace(tmp_path, "neo4j", neo4j_clean)) as s:
        assert s.driver.get_server_info().agent.startswith("Neo4j/5.26.")
    for agent in ("Neo4j/5.26.30", "Neo4j/5.23.0", "Neo4j/2025.01.0", "Memgraph/2.1", None):
        check_server_version(agent, "bolt://db:7687")
    for agent in ("Neo4j/5.20.0", "Neo4j/4.4.30"):
        with pytest.raises(StoreError) as err:
            check_server_version(agent, "bolt://db:7687")
        assert agent.split("/")[1] in err.value.message and "5.26" in err.value.fix


def test_write_city_year(store, tmp_path):
    load_tables(store, hand_tables(), tmp_path / "canonical")
    panel = pd.DataFrame({"city_code": ["320100", "320500"], "year": [2015, 2015],
                          "green_patents": [2, 1], "collab_degree": [0.5, 0.25]})
    store.write_city_year(panel, "invention.wipo.all")
    panel["green_patents"] = [3, 1]
    store.write_city_year(panel, "invention.wipo.all")
    got = store.query(
        "MATCH (y:CityYear)-[:OF_CITY]->(c:City) WHERE y.network = $n "
        "RETURN c.city_code AS city_code, y.year AS year, y.green_patents AS g, y.collab_degree AS d ORDER BY city_code",
        {"n": "invention.wipo.all"})
    assert got["city_code"].tolist() == ["320100", "320500"]
    assert got["g"].tolist() == [3, 1] and got["d"].tolist() == [0.5, 0.25]


def test_a_full_write_of_city_years_removes_the_years_the_panel_no_longer_holds(store, tmp_path):
    """A refresh had written 2014 (a year outside the data, then refused) and another filter 2014 too; the
    next full run's panel is 2015-2016: the network's 2014 rows go, the other filter's stay (both stores)."""
    load_tables(store, hand_tables(), tmp_path / "canonical")

    def panel(years):
        return pd.DataFrame({"city_code": ["320100"] * len(years), "year": years, "green_patents": [1] * len(years)})

    store.write_city_year(panel([2014, 2015]), "invention.wipo.all")
    store.write_city_year(panel([2014]), "utility.y02.granted")
    store.write_city_year(panel([2015, 2016]), "invention.wipo.all", panel_years=[2015, 2016])
    got = store.query("MATCH (y:CityYear) RETURN y.network AS n, y.year AS year ORDER BY n, year")
    assert list(zip(got["n"], got["year"], strict=True)) == [
        ("invention.wipo.all", 2015), ("invention.wipo.all", 2016), ("utility.y02.granted", 2014)]


@pytest.mark.neo4j
def test_neo4j_reads_keys_back_page_by_page(neo4j_clean, tmp_path, monkeypatch):
    from citynet.graph import neo4j_store as neo4j_store
    from citynet.graph.tables import ENTITY

    tables = small_synth()
    expected = entity_rows(clean({k: v.copy() for k, v in tables.items()}))
    with open_store(_workspace(tmp_path, "neo4j", neo4j_clean)) as s:
        load_tables(s, tables, tmp_path / "canonical")
        one_page = {name: s._fetch(name) for name in ENTITY}
        monkeypatch.setattr(neo4j_store, "PAGE", 7)
        for name, frame in one_page.items():
            key = list(ENTITY[name].key)
            paged = s._fetch(name)
            assert len(paged) == len(expected[name]) and not paged.duplicated(key).any(), name
            pd.testing.assert_frame_equal(paged.sort_values(key).reset_index(drop=True),
                                          frame.sort_values(key).reset_index(drop=True), obj=name)
        again = s.load(tmp_path / "canonical")
    assert all(c["new"] == 0 and c["changed"] == 0 for c in again.values())


def test_panels_behind_the_store_are_the_years_loads_changed_until_recomputed(store):
    """A load's stale years are also the years whose panels no longer show the store, per filter, until a
    metrics run recomputes them (a refresh: only its years; a full run: every year); a year outside the
    panels is not behind them; "all" (a changed city) is every panel year. Both stores keep it in their meta."""
    store.ensure_schema()
    store._mark_stale({"app": [2001, 2005, 2006], "grant": [2007]}, ["k", "k.grantyear"])
    assert store.panels_behind("k") == [2001, 2005, 2006] and store.panels_behind("k.grantyear") == [2007]
    assert store.panels_behind("never") == []
    assert store.panels_computed("k", [2005], [2004, 2005, 2006]) == [2006]  # 2001: not a panel year
    assert store.panels_behind("k") == [2006]
    store._mark_stale("all", ["k"])
    assert store.panels_behind("k") == "all"
    assert store.panels_computed("k", [2005], [2004, 2005, 2006]) == [2004, 2006]
    assert store.panels_computed("k", None, [2004, 2005, 2006]) == [] and store.panels_behind("k") == []
