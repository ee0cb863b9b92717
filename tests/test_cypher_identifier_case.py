"""Labels, relationship types and property names in another case than the schema's (graph/compat_names.py; found
by the fuzzing helper, session 37): Neo4j reads ``:CIty``, ``-[:applied]->``, ``c.NAME_ZH`` as other names (no row,
null), LadybugDB ignored the case and answered with the schema's (337 cities). The same for a map's keys (session 38):
``{Name: 1}.name``, ``r.CITY`` of ``UNWIND $rows AS r`` with rows ``[{city: …}]``, ``x.NAME_ZH`` of a city reached
through ``collect``/``UNWIND``: null on Neo4j, the value on LadybugDB. Every query runs on both real engines: Neo4j's
rows are its documented meaning worked by hand on hand_tables (4 cities, 5 patents, 10 APPLIED, 5 of them seq 1) or
on the query's own maps (a key read by case: null unless the map spells it so); the embedded store refuses with one
message naming the name and the spelling it differs from."""

from __future__ import annotations

import json
import re

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


def _neo4js_rows_or_refusal(store, query: str, params: dict | None, neo4j: list) -> Unsupported | None:
    """On Neo4j, assert the query's rows are ``neo4j`` (None); on the embedded store, the refusal it must raise."""
    if store.backend == "neo4j":
        assert rows(store.query(query, params)) == neo4j
        return None
    with pytest.raises(Unsupported) as err:
        store.query(query, params)
    return err.value


@pytest.mark.parametrize("query, written, spelled, neo4j, right", WRONG)
def test_a_name_in_another_case_is_neo4js_answer_or_refused_with_the_schemas_spelling(
        store, query, written, spelled, neo4j, right):
    assert rows(store.query(_spelled(query, written, spelled))) == right  # the schema's spelling: the same on both
    if (err := _neo4js_rows_or_refusal(store, query, None, neo4j)) is None:
        return
    message, fix = err.message, err.fix
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
    rows_param = 'rows=[{"city": "320100"}]'  # a parameter's map read in another case (session 38)
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "UNWIND $rows AS r RETURN r.CITY AS x",
                         "--param", rows_param)
    assert code == 2 and out == "" and "Traceback" not in err
    assert "r.CITY differs from the map's key city only by case" in err and "write r.city" in err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "UNWIND $rows AS r RETURN r.city AS x",
                         "--param", rows_param, "--format", "json")
    assert code == 0 and json.loads(out) == [{"x": "320100"}]


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


# -- an alias named like a variable in another case (session 39) -------------------------------------------------
# LadybugDB's names ignore case, so RETURN c.city_code AS C ORDER BY C sorted by the node c (its binder refused:
# "Order by NODE is not supported") and RETURN 10 - x AS X ORDER BY X by x; Neo4j sorts by the alias. hand_tables'
# cities: 110000 北京市, 310000 上海市, 320100 南京市, 320500 苏州市 (tiers 1, 1, 2, 2); Neo4j orders texts by code
# point: 上 U+4E0A, 北 U+5317, 南 U+5357, 苏 U+82CF.
ALIAS_ORDER = [
    ("MATCH (c:City) RETURN c.city_code AS C ORDER BY C", [["110000"], ["310000"], ["320100"], ["320500"]]),
    ("MATCH (c:City) RETURN c.name_zh AS C ORDER BY C DESC LIMIT 2", [["苏州市"], ["南京市"]]),
    ("MATCH (c:City) WITH c.city_code AS C ORDER BY C DESC LIMIT 2 RETURN C ORDER BY C", [["320100"], ["320500"]]),
    ("UNWIND [3, 1, 2] AS x WITH x RETURN 10 - x AS X ORDER BY X LIMIT 2", [[N(7)], [N(8)]]),  # LadybugDB: 9, 8
    ("MATCH (c:City) RETURN c.tier AS C, c.name_zh AS n ORDER BY C DESC, c.city_code",  # a key not returned
     [["2", "南京市"], ["2", "苏州市"], ["1", "北京市"], ["1", "上海市"]]),
    ("MATCH (c:City) RETURN c.tier AS C, count(*) AS n ORDER BY C", [["1", N(2)], ["2", N(2)]]),
    # two columns in two cases, sorted by the second: LadybugDB sorted by the first (X: the codes); sorted after it
    ("MATCH (c:City) RETURN c.city_code AS X, c.name_zh AS x ORDER BY x",
     [["310000", "上海市"], ["110000", "北京市"], ["320100", "南京市"], ["320500", "苏州市"]]),
    ("MATCH (c:City) RETURN c.tier AS tier, count(*) AS Tier, min(c.city_code) AS m ORDER BY m DESC, Tier LIMIT 1",
     [["2", N(2), "320100"]]),
]


@pytest.mark.parametrize("query, expected", ALIAS_ORDER)
def test_an_alias_named_like_a_variable_in_another_case_sorts_by_the_alias(store, query, expected):
    assert rows(store.query(query)) == expected


# two names of one projection, or an AS name and a later pattern variable, that differ only by case: two variables
# on Neo4j, one on LadybugDB (which read WITH x, x * 10 AS X RETURN x, X as 1, 1 and 2, 2; C of WITH c, count(*) AS
# C as the node; RETURN … AS X, … AS x ORDER BY x sorted by X). (query, Neo4j's rows, the names the refusal gives)
CASE_TWINS = [
    ("UNWIND [1, 2] AS x WITH x, x * 10 AS X RETURN x AS a, X AS b ORDER BY a", [[N(1), N(10)], [N(2), N(20)]],
     "the WITH binds x and X"),
    ("MATCH (c:City) WITH c, count(*) AS C RETURN c.city_code AS k, C AS n ORDER BY k",
     [["110000", N(1)], ["310000", N(1)], ["320100", N(1)], ["320500", N(1)]], "the WITH binds c and C"),
    ("MATCH (c:City) WITH *, c.tier AS C RETURN C AS t ORDER BY t", [["1"], ["1"], ["2"], ["2"]],
     "the WITH binds c and C"),
    # sorted by the second of two columns in two cases, with a key that is no column (nothing to sort after the
    # engine by); LadybugDB sorted by the first (X)
    ("MATCH (c:City) RETURN c.city_code AS X, c.name_zh AS x ORDER BY x, c.tier",
     [["310000", "上海市"], ["110000", "北京市"], ["320100", "南京市"], ["320500", "苏州市"]],
     "ORDER BY x in a RETURN of the columns X and x"),
    # a pattern variable after an AS name in another case: Neo4j binds every city, LadybugDB read C (one row)
    ("MATCH (a:City {city_code: '110000'}) WITH a AS C MATCH (c:City) RETURN C.city_code AS x, c.city_code AS y "
     "ORDER BY y", [["110000", "110000"], ["110000", "310000"], ["110000", "320100"], ["110000", "320500"]],
     "the pattern variable c and C, bound before it by AS"),
]


@pytest.mark.parametrize("query, neo4j, named", CASE_TWINS)
def test_two_names_of_a_projection_in_two_cases_are_neo4js_rows_or_refused(store, query, neo4j, named):
    if (err := _neo4js_rows_or_refusal(store, query, None, neo4j)) is None:
        return
    assert named in err.message and "differ only by case" in err.message and err.fix.startswith("name ")


def test_an_aggregating_withs_alias_in_another_case_is_refused_naming_the_case(store):
    """An ordered aggregating WITH by an alias named like a variable is refused on the embedded store (as for the
    same name in one case); the message says why C is c there. Neo4j: tiers 1 and 2 hold two cities each."""
    query = "MATCH (c:City) WITH c.tier AS C, count(*) AS n ORDER BY C DESC LIMIT 1 RETURN C, n"
    if (err := _neo4js_rows_or_refusal(store, query, None, [["2", N(2)]])) is not None:
        assert "LadybugDB's names ignore case: C is c there" in err.message
        assert err.fix == "give the alias another name (… AS total … ORDER BY total)"


def test_two_returned_columns_in_two_cases_run_when_not_sorted_by_the_second(store):
    """RETURN … AS X, … AS x without ORDER BY x: both engines return both columns (LadybugDB sorts by the first of
    the two, which ORDER BY X names)."""
    assert rows(store.query("MATCH (c:City) RETURN c.city_code AS X, c.name_zh AS x ORDER BY X LIMIT 2")) == \
        [["110000", "北京市"], ["310000", "上海市"]]
    # each part of a UNION binds its own names: C of the first part is no variable of the second
    union = "MATCH (c:City) RETURN c.city_code AS C UNION MATCH (c:City) WHERE c.tier = '1' RETURN c.name_zh AS C"
    assert sorted(r[0] for r in rows(store.query(union))) == ["110000", "310000", "320100", "320500", "上海市", "北京市"]


# -- a map's keys and properties of variables bound otherwise (session 38) ---------------------------------------
# (query, parameters, what the message names, the spelling it differs from, Neo4j's rows). Neo4j reads a map's key
# by case: a key the map does not spell so is null (the LadybugDB answer, checked by hand in session 38, is the
# value of the key spelled otherwise: 1, '南京', 南京市 …).
MAP_KEYS = [
    ("RETURN {Name: 1}.name AS x", {}, "{Name: 1}.name", "Name", [[None]]),
    ("UNWIND [{a: 1}] AS r RETURN r.A AS x", {}, "r.A", "a", [[None]]),
    ("UNWIND $rows AS r RETURN r.CITY AS x", {"rows": [{"city": "南京"}]}, "r.CITY", "city", [[None]]),
    ("WITH $m AS r RETURN r.CITY AS x", {"m": {"city": "南京"}}, "r.CITY", "city", [[None]]),
    ("RETURN $m.CITY AS x", {"m": {"city": "南京"}}, "$m.CITY", "city", [[None]]),
    ("UNWIND $rows AS r RETURN r.info.CITY AS x", {"rows": [{"info": {"city": 1}}]}, "r.info.CITY", "city", [[None]]),
    ("MATCH (c:City {city_code: '320100'}) WITH c {.name_zh} AS m RETURN m.NAME_ZH AS x", {}, "m.NAME_ZH", "name_zh",
     [[None]]),
    ("MATCH (c:City {city_code: '320100'}) WITH collect(c {.name_zh}) AS ms UNWIND ms AS m RETURN m.NAME_ZH AS x", {},
     "m.NAME_ZH", "name_zh", [[None]]),
    ("UNWIND $rows AS r WITH r WHERE r.CITY IS NULL RETURN count(*) AS n", {"rows": [{"city": "a"}, {"city": None}]},
     "r.CITY", "city", [[N(2)]]),  # LadybugDB: 1
    ("RETURN $rows[0].CITY AS x", {"rows": [{"city": 1}]}, "$rows[0].CITY", "city", [[None]]),
    ("UNWIND $rows AS r WITH r.info AS i RETURN i.CITY AS x", {"rows": [{"info": {"city": 1}}]}, "i.CITY", "city",
     [[None]]),
    ("WITH {city: 1} AS m RETURN m {.CITY} AS x", {}, "m {.CITY}", "city", [[{"CITY": None}]]),  # LadybugDB {CITY: 1}
]
# a property of a node reached otherwise than by a pattern variable: the schema's spelling, as for c.NAME_ZH
OTHERWISE = [
    ("MATCH (c:City) WITH collect(c) AS cs UNWIND cs AS x RETURN x.NAME_ZH AS v ORDER BY v LIMIT 2", "x.NAME_ZH",
     [[None], [None]]),
    ("MATCH (a:Applicant)-[r:APPLIED]->(p:Patent) WITH collect(r) AS rs UNWIND rs AS x RETURN count(x.SEQ) AS n",
     "x.SEQ", [[N(0)]]),  # LadybugDB: 10
    ("MATCH (c:City {city_code: '320100'}) WITH [c] AS cs UNWIND cs AS x RETURN x.NAME_ZH AS v", "x.NAME_ZH",
     [[None]]),
    ("MATCH (c:City) WITH collect(c) AS cs RETURN cs[0].NAME_ZH AS v", "cs[0].NAME_ZH", [[None]]),
    ("MATCH (c:City {city_code: '320100'}) WITH {c: c} AS m RETURN m.c.NAME_ZH AS x", "m.c.NAME_ZH", [[None]]),
    ("MATCH p = (a:Applicant)-[:LOCATED_IN]->(c:City {city_code: '320100'}) RETURN nodes(p)[1].NAME_ZH AS v",
     "nodes(p)[1].NAME_ZH", [[None]]),  # a1 (南京大学) alone is located in 320100
]


@pytest.mark.parametrize("query, params, written, spelled, neo4j", MAP_KEYS)
def test_a_maps_key_read_in_another_case_is_neo4js_null_or_refused(store, query, params, written, spelled, neo4j):
    if (err := _neo4js_rows_or_refusal(store, query, params, neo4j)) is None:
        return
    assert f"{written} differs from the map's key {spelled} only by case" in err.message
    assert "\n" not in err.message
    head, key, tail = re.fullmatch(r"(.*?)(\w+)(}?)", written).groups()
    assert err.fix == f"write {head}{spelled}{tail} (the key as the map spells it)"


@pytest.mark.parametrize("query, written, neo4j", OTHERWISE)
def test_a_property_of_a_node_bound_otherwise_in_another_case_is_null_or_refused(store, query, written, neo4j):
    if (err := _neo4js_rows_or_refusal(store, query, None, neo4j)) is None:
        return
    spelled = written.rsplit(".", 1)[1].lower()
    assert f"{written} differs from the schema's {spelled} only by case" in err.message
    assert f"write {written.rsplit('.', 1)[0]}.{spelled} " in err.fix


# A map that spells one key in two cases: Neo4j reads each key as spelled; LadybugDB reads the first spelling for
# both (session 38: {a: 1, A: 2} gives m.a = m.A = 1; {A: 2, a: 1} gives 2 for both).
TWO_SPELLINGS = [
    ("WITH {a: 1, A: 2} AS m RETURN m.A AS y", {}, "m.A", "a", [[N(2)]]),
    ("WITH {A: 2, a: 1} AS m RETURN m.a AS y", {}, "m.a", "A", [[N(1)]]),
    ("RETURN $m.CITY AS y", {"m": {"city": 1, "CITY": 2}}, "$m.CITY", "city", [[N(2)]]),
    ("MATCH (c:City {city_code: '320100'}) RETURN c {.name_zh, NAME_ZH: 1}.NAME_ZH AS x", {},
     "c {.name_zh, NAME_ZH: 1}.NAME_ZH", "name_zh", [[N(1)]]),
]


@pytest.mark.parametrize("query, params, written, first, neo4j", TWO_SPELLINGS)
def test_a_map_with_one_key_in_two_cases_is_read_as_spelled_or_refused(store, query, params, written, first, neo4j):
    if (err := _neo4js_rows_or_refusal(store, query, params, neo4j)) is None:
        return
    key = written.rsplit(".", 1)[1]
    assert f"{written} reads a map that has the keys {first} and {key}, which differ only by case" in \
        err.message and f"reads the first of them, {first}," in err.message


# The maps of one list spelling a key in two cases: LadybugDB gives the list's maps one set of keys (session 38:
# [{city: 1}, {CITY: 2}] came back as [{CITY: 1}, {CITY: 2}], [{a: 1}] + [{A: 2}] as [{a: 1}, {a: 2}]); Neo4j keeps
# each map as written.
LISTS = [
    ("RETURN [{city: 1}, {CITY: 2}] AS l", {}, "[{city: 1}, {CITY: 2}]", "city", "CITY",
     [[[{"city": 1}, {"CITY": 2}]]]),
    ("UNWIND $rows AS r RETURN r.city AS x", {"rows": [{"city": 1}, {"CITY": 2}]}, "$rows", "city", "CITY",
     [[N(1)], [None]]),
    ("RETURN $rows AS l", {"rows": [{"city": 1}, {"CITY": 2}]}, "$rows", "city", "CITY",
     [[[{"city": 1}, {"CITY": 2}]]]),
    ("RETURN [{m: {city: 1}}, {m: {CITY: 2}}] AS l", {}, "[{m: {city: 1}}, {m: {CITY: 2}}]", "city", "CITY",
     [[[{"m": {"city": 1}}, {"m": {"CITY": 2}}]]]),
    ("RETURN [{a: 1}] + [{A: 2}] AS l", {}, "[{a: 1}] + [{A: 2}]", "a", "A", [[[{"a": 1}, {"A": 2}]]]),
]


@pytest.mark.parametrize("query, params, shown, a, b, neo4j", LISTS)
def test_a_list_whose_maps_spell_a_key_in_two_cases_is_kept_or_refused(store, query, params, shown, a, b, neo4j):
    if (err := _neo4js_rows_or_refusal(store, query, params, neo4j)) is None:
        return
    assert f"the maps of the list {shown} spell one key as {a} and as {b}" in err.message
    assert err.fix == f"spell the key one way ({a} or {b}) in every map of the list"


# The maps of one list with other keys or the same keys in another order: LadybugDB gives all the maps of a list the
# keys of one of them by position (session 38: [{a: 1, b: 2}, {b: 3, a: 4}] came back as [{b: 1, a: 2}, {b: 3, a: 4}],
# so r.a read 2 in the first row; [{a: 1}, {b: 2}] as [{b: 1}, {b: 2}]) or fails; Neo4j keeps each map as written.
ORDERS = [
    ("UNWIND $rows AS r RETURN r.a AS x, r.b AS y", {"rows": [{"a": 1, "b": 2}, {"b": 3, "a": 4}]}, "$rows",
     "{a, b} and {b, a}", [[N(1), N(2)], [N(4), N(3)]]),
    ("RETURN [{a: 1}, {b: 2}] AS l", {}, "[{a: 1}, {b: 2}]", "{a} and {b}", [[[{"a": 1}, {"b": 2}]]]),
    ("RETURN $rows AS l", {"rows": [{"a": 1}, {"b": 2}]}, "$rows", "{a} and {b}", [[[{"a": 1}, {"b": 2}]]]),
    ("UNWIND [{a: 1}, {b: 2}] AS r RETURN r.a AS x, r.b AS y", {}, "[{a: 1}, {b: 2}]", "{a} and {b}",
     [[N(1), None], [None, N(2)]]),
]


@pytest.mark.parametrize("query, params, shown, keys, neo4j", ORDERS)
def test_a_list_whose_maps_differ_in_their_keys_is_kept_or_refused(store, query, params, shown, keys, neo4j):
    if (err := _neo4js_rows_or_refusal(store, query, params, neo4j)) is None:
        return
    assert f"the maps of the list {shown} have other keys or another order ({keys})" in err.message
    assert err.fix == "give every map of the list the same keys in the same order (null for a missing value)"


# Look-alikes that read what the map or the schema spells: the same rows on both stores (worked by hand).
ALIKE = [
    ("RETURN {name: 1}.name AS x", {}, [[N(1)]]),
    ("WITH {NAME_ZH: 1} AS m RETURN m.NAME_ZH AS x", {}, [[N(1)]]),  # a map's own key, though the schema has name_zh
    ("RETURN {Name: 1, Names: 2}.Names AS x", {}, [[N(2)]]),  # keys that differ by more than case
    ("UNWIND $rows AS r RETURN r.city AS x", {"rows": [{"city": "南京"}]}, [["南京"]]),
    ("RETURN $m.Name AS x", {"m": {"Name": 1}}, [[N(1)]]),
    ("UNWIND $rows AS r MATCH (c:City {city_code: r.CITY_CODE}) RETURN c.name_zh AS x",
     {"rows": [{"CITY_CODE": "320100"}]}, [["南京市"]]),  # a parameter's key in upper case, read as spelled
    ("UNWIND $rows AS r RETURN r.city AS x", {"rows": [{"city": 1, "CITY": 2}]}, [[N(1)]]),  # the first spelling
    ("WITH {a: 1, A: 2} AS m RETURN m.a AS x", {}, [[N(1)]]),
    ("RETURN {m: {city: 1}, n: {CITY: 2}}.n.CITY AS x", {}, [[N(2)]]),  # two maps, each with its own key
    ("MATCH (c:City) WITH collect(c) AS cs UNWIND cs AS x RETURN x.name_zh AS v ORDER BY v LIMIT 1", {}, [["上海市"]]),
    ("MATCH (c:City {city_code: '320100'}) WITH {c: c} AS m RETURN m.c.name_zh AS x", {}, [["南京市"]]),
    ("MATCH (c:City {city_code: '320100'}) RETURN c {.name_zh, NAME_ZH: 1}.name_zh AS x", {}, [["南京市"]]),
    ("MATCH (c:City {city_code: '320100'}) WITH c {.name_zh, Tier: c.tier} AS m RETURN m.Tier AS x", {}, [["2"]]),
    ("UNWIND [{a: 1}] AS r RETURN r.a AS x UNION UNWIND [{A: 1}] AS r RETURN r.A AS x", {}, [[N(1)]]),  # two rs
    ("WITH {a: 1} AS m WITH {A: 2} AS m RETURN m.A AS x", {}, [[N(2)]]),  # m bound again
    ("WITH {city: 1} AS m RETURN m {.city} AS x", {}, [[{"city": 1}]]),
    ("UNWIND $rows AS r RETURN r.a AS x, r.b AS y", {"rows": [{"a": 1, "b": None}, {"a": 3, "b": 4}]},
     [[N(1), None], [N(3), N(4)]]),  # the same keys in the same order, a null among them
    ("RETURN size($rows) AS n", {"rows": [{"a": 1, "b": 2}, {"b": 3, "a": 4}]}, [[N(2)]]),  # counted, not read
    ("MATCH (c:City {city_code: '320100'}) WITH {NAME_ZH: c.name_zh} AS c RETURN c.NAME_ZH AS x", {}, [["南京市"]]),
]


@pytest.mark.parametrize("query, params, expected", ALIKE)
def test_a_key_read_as_its_map_spells_it_runs_on_both_stores(store, query, params, expected):
    assert rows(store.query(query, params)) == expected


def test_a_long_list_parameter_is_judged_by_every_map_in_it():
    """The check looks at each distinct kind of map of a list parameter once (graph/compat_names.py: _distinct), so a
    list of 200,000 rows costs its distinct signatures; a map that differs anywhere in it is still found."""
    from citynet.graph.compat import Unsupported
    from citynet.graph.compat_names import check

    rows = [{"city": "320100", "n": i} for i in range(200_000)]
    check("UNWIND $rows AS r RETURN r.city AS c, r.n AS n", params={"rows": rows})
    for other, words in (({"CITY": "x", "n": 1}, "as city and as CITY"), ({"n": 1, "city": "x"}, "another order"),
                         ({"city": None, "n": 1.5, "extra": [{"Deep": 1}, {"deep": 2}]}, "other keys")):
        rows[150_000] = other
        with pytest.raises(Unsupported, match=words):
            check("UNWIND $rows AS r RETURN r.city AS c, r.n AS n", params={"rows": rows})
