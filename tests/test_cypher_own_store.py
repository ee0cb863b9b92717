"""Both-engine Cypher tests that need a store of their own, each test a fresh one loaded with hand_tables (on Neo4j
after ``neo4j_clean``): queries that write, and ``citynet query`` on a workspace of its own. They were in
test_cypher_compat, test_cypher_identifier_case and test_cypher_mixed_types, whose other tests only read and share
one store per module (``hand_store``, tests/conftest.py), which ``neo4j_clean`` would empty midway."""

from __future__ import annotations

import pandas as pd
import pytest
from citynet.graph.compat import Unsupported, for_embedded
from citynet.graph.store import open_store

from tests.test_cypher_identifier_case import N
from tests.test_cypher_mixed_types import rows
from tests.test_graph_store import BACKENDS, _workspace, hand_tables, load_tables


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """hand_tables in a store of the test's own, writable."""
    server = request.getfixturevalue("neo4j_clean") if request.param == "neo4j" else None
    with open_store(_workspace(tmp_path / "ws", request.param, server)) as s:
        load_tables(s, hand_tables(), tmp_path / "canonical")
        yield s


# -- test_cypher_compat: a MERGE of a relationship -----------------------------------------------------------------
def test_merge_of_a_relationship_is_refused_on_the_embedded_store(store):
    """LadybugDB 0.20.4 ends the process (segfault) on the second MERGE of a relationship from one start
    node (docs/cypher.md, engine bug 4): refused with the MATCH … CREATE rewrite; Neo4j runs it."""
    merge = ("MERGE (a:Applicant {applicant_id: $a}) MERGE (p:Patent {patent_id: $p}) "
             "MERGE (a)-[r:APPLIED]->(p) RETURN count(r) AS n")
    if store.backend == "neo4j":
        assert store.query(merge, {"a": "x0", "p": "y0"}, write=True)["n"].iloc[0] == 1
        return
    with pytest.raises(Unsupported) as err:
        store.query(merge, {"a": "x0", "p": "y0"}, write=True)
    assert "MERGE of a relationship" in err.value.message and "CREATE" in err.value.fix
    for_embedded("MERGE (m:Meta {key: $k}) SET m.value = $v")  # nodes alone are fine


# -- test_cypher_identifier_case: writes and a metric column in another case than the schema's ----------------------
def test_writes_in_another_case_are_refused_and_change_nothing(store):
    """``SET c.Tier`` sets another property on Neo4j (``c.tier`` stays '2'); ``CREATE (:city …)`` a node of another
    label (``City`` stays 4 nodes); LadybugDB wrote the schema's ``tier`` and a ``City``."""
    set_tier = "MATCH (c:City {city_code: '320100'}) SET c.Tier = '9' RETURN c.tier AS t"
    create = "CREATE (x:city {city_code: '999999'}) RETURN count(*) AS n"
    if store.backend == "neo4j":
        assert rows(store.query(set_tier, write=True)) == [["2"]]
        assert rows(store.query(create, write=True)) == [[N(1)]]
    else:
        for query, written, spelled in ((set_tier, "c.Tier", "tier"), (create, ":city", "City")):
            with pytest.raises(Unsupported, match=f"{written} differs from the schema's {spelled} only by case"):
                store.query(query, write=True)
    assert rows(store.query("MATCH (c:City) RETURN count(c) AS n, min(c.tier) AS t")) == [[N(4), "1"]]
    assert rows(store.query("MATCH (c:City {city_code: '320100'}) RETURN c.tier AS t")) == [["2"]]


def test_a_metric_column_of_the_store_in_another_case_is_refused(store):
    """CityYear's metric columns are the store's, not the schema file's: ``y.Green_Patents`` is null on Neo4j,
    the column ``green_patents`` on LadybugDB (read from the store's own list)."""
    panel = pd.DataFrame({"city_code": ["320100", "320500"], "year": [2015, 2015], "green_patents": [2, 1]})
    store.write_city_year(panel, "invention.wipo.all")
    right = "MATCH (y:CityYear) RETURN y.green_patents AS g ORDER BY g"
    assert rows(store.query(right)) == [[N(1)], [N(2)]]
    wrong = "MATCH (y:CityYear) RETURN y.Green_Patents AS g"
    if store.backend == "neo4j":
        assert rows(store.query(wrong)) == [[None], [None]]
        return
    with pytest.raises(Unsupported, match="y.Green_Patents differs from the schema's green_patents only by case"):
        store.query(wrong)


# -- test_cypher_mixed_types: what citynet query prints ------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_citynet_query_prints_neo4j_s_integers(request, tmp_path, capsys, backend):
    """What the user sees: ``citynet query`` printed 1.0 and 2015.0 on the embedded store for Neo4j's 1 and 2015,
    and the refusal of a CASE of a text beside a number is one message, exit 2 (the same CSV on both stores)."""
    from tests.cli import invoke

    server = request.getfixturevalue("neo4j_clean") if backend == "neo4j" else None
    with open_store(_workspace(tmp_path / "ws", backend, server)) as s:
        load_tables(s, hand_tables(), tmp_path / "canonical")
    where = ["--store", "neo4j", "--uri", server.uri, "--user", server.user, "--password", server.password] \
        if server else []
    query = ("MATCH (p:Patent) RETURN p.patent_id AS id, coalesce(p.app_year, 0.5) AS y, "
             "coalesce(p.grant_date.year, 0.5) AS g, coalesce(null, 1, 2.5) AS c ORDER BY id LIMIT 3")
    code, out, err = invoke(capsys, "query", "-w", tmp_path / "ws", *where, "--format", "csv", query)
    assert code == 0, err
    assert out.splitlines() == ["id,y,g,c", "p1,2015,2017.0,1", "p2,2015,0.5,1", "p3,2015,2018.0,1"]
    mixed = "UNWIND ['a', 'b'] AS s UNWIND [1] AS x RETURN CASE WHEN s = 'a' THEN s ELSE x END AS v"
    code, out, err = invoke(capsys, "query", "-w", tmp_path / "ws", *where, "--format", "csv", mixed)
    if backend == "neo4j":
        assert (code, sorted(out.splitlines())) == (0, ["1", "a", "v"]), err
    else:
        assert code == 2 and "engine bug 28" in err and "fix: give every branch one type" in err, err
