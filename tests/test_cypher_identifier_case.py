"""Labels, relationship types and property names in another case than the schema's (graph/compat_names.py; found
by the fuzzing helper, session 37): Neo4j reads ``:CIty``, ``-[:applied]->``, ``c.NAME_ZH`` as other names (no row,
null), LadybugDB ignored the case and answered with the schema's (337 cities). Every query runs on both real
engines: Neo4j's rows are its documented meaning worked by hand on hand_tables (4 cities, 5 patents, 10 APPLIED,
5 of them seq 1); the embedded store refuses with one message naming the name and the schema's spelling."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from citynet.graph.compat import Unsupported
from citynet.graph.compat_names import found
from citynet.graph.store import open_store

from citynet import cypher
from citynet.errors import QueryError
from tests.test_cypher_mixed_types import rows


@pytest.fixture
def store(hand_store):
    """hand_tables on both engines, loaded once for this module (tests/conftest.py): every test here only reads.
    Writes in another case, and a metric column written for the test: tests/test_cypher_own_store.py."""
    return hand_store


def N(v):  # noqa: N802 - an integer, as rows() gives it
    return ("int", v)


# (query, what the message names, the schema's spelling, Neo4j's rows, the rows of the query as the schema spells it)
WRONG = [
    ("MATCH (c:CIty) RETURN count(c) AS n", ":CIty", "City", [[N(0)]], [[N(4)]]),
    ("MATCH (c:`city`) RETURN count(*) AS n", ":city", "City", [[N(0)]], [[N(4)]]),
    ("MATCH (n) WHERE n:city RETURN count(*) AS n", ":city", "City", [[N(0)]], [[N(4)]]),
    ("MATCH (c:City|patent) RETURN count(*) AS n", ":patent", "Patent", [[N(4)]], [[N(9)]]),
    ("MATCH (a)-[:applied]->(p) RETURN count(*) AS n", ":applied", "APPLIED", [[N(0)]], [[N(10)]]),
    ("MATCH (a:Applicant)-[:Located_In]->(c:City) RETURN count(*) AS n", ":Located_In", "LOCATED_IN", [[N(0)]], [[N(4)]]),
    ("MATCH (c:City) WHERE c.city_code = '320100' RETURN c.NAME_ZH AS x", "c.NAME_ZH", "name_zh", [[None]], [["南京市"]]),
    ("MATCH (c:City) RETURN c.Name_Zh AS x ORDER BY x LIMIT 1", "c.Name_Zh", "name_zh", [[None]], [["上海市"]]),
    ("MATCH (c:City {CITY_CODE: '320100'}) RETURN c.name_zh AS x", "{CITY_CODE: …}", "city_code", [], [["南京市"]]),
    ("MATCH (c:City) WHERE c.Name_Zh IS NULL RETURN count(*) AS n", "c.Name_Zh", "name_zh", [[N(4)]], [[N(0)]]),
    ("MATCH (c:City) WITH c AS x WHERE x.city_code = '320100' RETURN x.NAME_ZH AS v", "x.NAME_ZH", "name_zh",
     [[None]], [["南京市"]]),
    ("MATCH (a:Applicant)-[r:APPLIED]->(p:Patent) WHERE r.SEQ = 1 RETURN count(*) AS n", "r.SEQ", "seq",
     [[N(0)]], [[N(5)]]),
    ("MATCH (c:City {city_code: '320100'}) RETURN c {.NAME_ZH} AS v", "c {.NAME_ZH}", "name_zh",
     [[{"NAME_ZH": None}]], [[{"name_zh": "南京市"}]]),
]


def _spelled(query: str, written: str, spelled: str) -> str:
    name = written.strip(":{}. …").split(".")[-1]
    return query.replace(f"`{name}`", spelled).replace(name, spelled)


@pytest.mark.parametrize("query, written, spelled, neo4j, right", WRONG)
def test_a_name_in_another_case_is_neo4js_answer_or_refused_with_the_schemas_spelling(
        store, query, written, spelled, neo4j, right):
    assert rows(store.query(_spelled(query, written, spelled))) == right  # the schema's spelling: the same on both
    if store.backend == "neo4j":
        assert rows(store.query(query)) == neo4j
        return
    with pytest.raises(Unsupported) as err:
        store.query(query)
    message, fix = err.value.message, err.value.fix
    assert f"{written} differs from the schema's {spelled} only by case" in message and "\n" not in message
    assert spelled in fix and written not in fix


def test_several_names_are_one_message():
    with pytest.raises(Unsupported) as err:
        from citynet.graph.compat_names import check

        check("MATCH (c:CIty)<-[:located_in]-(a) RETURN c.NAME_ZH AS n")
    assert ":CIty, :located_in and c.NAME_ZH differ from the schema's City, LOCATED_IN and name_zh only by case" \
        in err.value.message
    assert err.value.fix.startswith("write :City, :LOCATED_IN, c.name_zh ")


NOT_NAMES = [
    "WITH {Name_Zh: 1} AS m RETURN m.Name_Zh AS v",  # a map's key, not a property (the same answer on both)
    "MATCH (c:City) RETURN c.name_zh AS Name_Zh ORDER BY Name_Zh",  # an alias
    "UNWIND [1] AS city RETURN [x IN [city] | city] AS l",  # a variable after | is no label
    "RETURN date({year: 2015, Month: 1}) AS d",  # a function's map
    "MATCH (c:City) RETURN c {.name_zh, City: c.city_code} AS m",  # a map projection's key
    "MATCH (p:Patent) RETURN p.app_date.Year AS y",  # a date's component (Neo4j reads it in any case)
    "MATCH (c:City) WHERE c.name_zh = 'City' RETURN c.city_code AS `name_zh`",
    "RETURN 1 IS :: INTEGER AS b",
]


@pytest.mark.parametrize("query", NOT_NAMES)
def test_what_is_not_a_schema_name_is_left_alone(query):
    assert found(query) == []


def test_every_query_citynet_ships_passes():
    """The library's queries and citynet's own (load, projections, city_year …) spell every name as the schema."""
    texts = [q.text(e) for q in cypher.library().values() for e in ("embedded", "neo4j")
             if cypher.path(f"queries/{q.name}", e).exists()]
    texts += [p.read_text(encoding="utf-8") for p in cypher.path("read", "embedded").parent.glob("*.cypher")]
    assert texts
    for text in texts:
        assert found(text) == [], text[:200]


@pytest.mark.parametrize("query", [
    "MATCH (c:City) WHERE c.city_code = '320100' RETURN C.name_zh AS x",
    # a variable read without a property (session 37: these had returned c's values on the embedded store)
    "MATCH (c:City) WHERE c.city_code = '320100' RETURN C AS x",
    "MATCH (c:City) RETURN count(C) AS n",
    "MATCH (c:City) WHERE C:City RETURN count(*) AS n",
    "MATCH (c:City) WHERE c.city_code = '320100' RETURN {a: C} AS m",
    "MATCH (c:City) WHERE c.city_code = '320100' RETURN [x IN [1] | C] AS l",
    "MATCH (c:City) WITH c.name_zh AS v RETURN V ORDER BY V LIMIT 1",
])
def test_a_variable_read_in_another_case_is_refused(store, query):
    """``MATCH (c:City) RETURN C.name_zh`` or ``RETURN C``: Neo4j refuses it (``C`` is not defined), LadybugDB
    read ``c``."""
    written = "V" if " AS v " in query else "C"
    if store.backend == "neo4j":
        with pytest.raises(QueryError, match=f"Variable `{written}` not defined"):
            store.query(query)
        return
    with pytest.raises(Unsupported) as err:
        store.query(query)
    bound = written.lower()
    assert f"the variable {written} is not bound, the query binds {bound}" in err.value.message and \
        err.value.fix == f"write {bound} (every use of a variable in one case)"


@pytest.mark.parametrize("query", [
    "MATCH (c:City) RETURN {C: c.city_code} AS m ORDER BY m.C LIMIT 1",  # a map's key
    "MATCH (c:City) WITH c.name_zh AS C RETURN C ORDER BY C LIMIT 1",  # bound by AS: both spellings are variables
    "MATCH (c:City) RETURN count(c) AS n",
    "MATCH (a:Applicant)-[r:APPLIED|LOCATED_IN]->(x) RETURN count(r) AS n",  # types after : and |
])
def test_what_is_no_variable_read_is_left_alone(store, query):
    """Names that are no variable read in another case: both engines answer, the same."""
    assert store.query(query).shape[0] == 1


def test_the_refusal_reaches_the_user_as_exit_2(tmp_path, capsys):
    from tests.test_query_cli import make_ws, run

    make_ws(tmp_path)
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (c:CIty) RETURN count(c) AS n")
    assert code == 2 and out == "" and "Traceback" not in err
    assert ":CIty differs from the schema's City only by case" in err and "write :City" in err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (c:City) RETURN count(c) AS n",
                         "--format", "json")
    assert code == 0 and json.loads(out)[0]["n"] > 0
    ws = make_ws(tmp_path)  # a metric column of the store, read by citynet query's own reader
    with open_store(ws) as s:
        city = s.query("MATCH (c:City) RETURN min(c.city_code) AS c")["c"].iloc[0]
        s.write_city_year(pd.DataFrame({"city_code": [city], "year": [2011], "green_patents": [3]}), "invention.wipo.all")
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (y:CityYear) RETURN y.Green_Patents AS g")
    assert code == 2 and "y.Green_Patents differs from the schema's green_patents only by case" in err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (y:CityYear) RETURN y.green_patents AS g",
                         "--format", "json")
    assert code == 0 and json.loads(out) == [{"g": 3}]


def test_two_pattern_variables_of_one_name_in_two_cases_are_refused(store):
    """``MATCH (c:City {…320100}), (C:City {…110000})``: Neo4j binds two cities (南京, 北京); LadybugDB read one
    variable, both columns 南京市 (session 37)."""
    query = ("MATCH (c:City {city_code: '320100'}), (C:City {city_code: '110000'}) "
             "RETURN c.name_zh AS a, C.name_zh AS b")
    if store.backend == "neo4j":
        assert store.query(query).values.tolist() == [["南京市", "北京市"]]
        return
    with pytest.raises(Unsupported) as err:
        store.query(query)
    assert "the pattern variables C and c differ only by case" in err.value.message
    assert err.value.fix == "name them apart (e.g. C and c2)"
