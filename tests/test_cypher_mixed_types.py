"""Values of mixed types and positions of positions: the same answers on Neo4j 5.26 and the embedded store
(graph/compat_coalesce.py, graph/compat_case.py, graph/compat_functions.py; found session 36). Every query runs on
both real engines; the expected rows are Neo4j's documented meaning worked by hand on hand_tables (the Neo4j run
checks them), with each value's type (an integer is not a float here)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from citynet.graph.compat import Unsupported


@pytest.fixture
def store(hand_store):
    """hand_tables on both engines, loaded once for this module (tests/conftest.py): every test here only reads.
    ``citynet query`` on a workspace of its own: tests/test_cypher_own_store.py."""
    return hand_store


def typed(v):
    """A value with its type, for comparing what the stores return: ``1`` and ``1.0`` differ."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return ("int", int(v))
    if isinstance(v, float | np.floating):
        return ("float", float(v))
    if isinstance(v, list | tuple | np.ndarray):
        return [typed(x) for x in v]
    return v


def rows(df) -> list[list]:
    """The frame's rows as the values of its columns (``df.values`` would make a row of an integer and a float
    floats)."""
    return [[typed(df[c].iloc[k]) for c in df.columns] for k in range(len(df))]


def N(v):  # noqa: N802 - an integer, as typed() gives it
    return ("int", v)


def F(v):  # noqa: N802 - a float
    return ("float", v)

# -- 1. coalesce of integers and floats: the first non-null argument as it is -----------------------------------
# (query, parameters, Neo4j's rows). The embedded store returned floats for all of them (1.0, 2015.0, 3.0, …).
COALESCE = [
    ("RETURN coalesce(null, 1, 2.5) AS v, coalesce(null, 2.5, 1) AS w", {}, [[N(1), F(2.5)]]),
    ("RETURN coalesce($y, 0.5) AS v, coalesce($missing, 2, 0.5) AS w", {"y": 3, "missing": None}, [[N(3), N(2)]]),
    ("MATCH (p:Patent) RETURN p.patent_id AS id, coalesce(p.app_year, 0.5) AS y ORDER BY id",
     {}, [["p1", N(2015)], ["p2", N(2015)], ["p3", N(2015)], ["p4", N(2016)], ["p5", N(2016)]]),
    ("MATCH (p:Patent) RETURN coalesce(p.app_year, 0.5)", {}, [[N(2015)]] * 3 + [[N(2016)]] * 2),  # (named by its text)
    # a column of integers and floats is floats on Neo4j's side too (pandas): the same on both
    ("MATCH (p:Patent) RETURN p.patent_id AS id, coalesce(p.grant_date.year, 0.5) AS g ORDER BY id",
     {}, [["p1", F(2017.0)], ["p2", F(0.5)], ["p3", F(2018.0)], ["p4", F(0.5)], ["p5", F(0.5)]]),
    # an aggregate, grouped: 5 patents, 2 applicants of Jiangsu (hand_tables)
    ("MATCH (p:Patent) RETURN p.app_year AS y, coalesce(count(p), 0.5) AS n ORDER BY y", {},
     [[N(2015), N(3)], [N(2016), N(2)]]),
    ("MATCH (p:Patent) RETURN coalesce(sum(p.app_year), 0.5) AS s", {}, [[N(10077)]]),
    # Neo4j's sum of no values is the integer 0, also of a float property (citynet writes LadybugDB's null sum
    # as coalesce(sum(x), 0): it was 0.0)
    ("MATCH (c:City) WHERE c.lat > 100 RETURN sum(c.lat) AS s", {}, [[N(0)]]),
]


@pytest.mark.parametrize("query, params, expected", COALESCE)
def test_coalesce_returns_its_first_non_null_argument_as_it_is(store, query, params, expected):
    got = store.query(query, params)
    assert sorted(rows(got), key=repr) == sorted(expected, key=repr)
    if query.endswith("coalesce(p.app_year, 0.5)"):
        assert list(got.columns) == ["coalesce(p.app_year, 0.5)"]


# (query, Neo4j's rows): a boolean, text or date beside another type. LadybugDB gives coalesce one type: the first
# returned the texts 'True' and 'False' (Neo4j: booleans), the others stopped with "Implicit cast is not supported";
# refused with one message, from the query's text where the types show, from the engine's typeof where they do not
COALESCE_REFUSED = [
    ("MATCH (p:Patent) RETURN p.patent_id AS id, coalesce(p.green, 0) AS v ORDER BY id",
     [["p1", True], ["p2", True], ["p3", True], ["p4", True], ["p5", False]]),
    ("MATCH (p:Patent) RETURN p.patent_id AS id, coalesce(p.grant_date.year, 'pending') AS v ORDER BY id",
     [["p1", N(2017)], ["p2", "pending"], ["p3", N(2018)], ["p4", "pending"], ["p5", "pending"]]),
    ("UNWIND [true, null] AS x RETURN coalesce(x, 0) AS v", [[True], [N(0)]]),
    ("UNWIND [1, null] AS x UNWIND ['a'] AS s RETURN coalesce(x, s) AS v", [[N(1)], ["a"]]),
    ("RETURN coalesce([1], [0.5]) AS v", [[[N(1)]]]),  # (a list of integers beside one of floats: [1.0])
]


@pytest.mark.parametrize("query, expected", COALESCE_REFUSED)
def test_a_coalesce_of_values_of_other_types_is_refused_on_the_embedded_store(store, query, expected):
    if store.backend == "neo4j":
        assert rows(store.query(query)) == expected
        return
    with pytest.raises(Unsupported) as err:
        store.query(query)
    assert "has arguments of different types" in err.value.message and "coalesce" in err.value.message
    assert "\n" not in err.value.message and "toString" in err.value.fix


# -- 2. CASE with a branch whose type the query does not show ---------------------------------------------------
# LadybugDB types a CASE by its last THEN and converts the other branches to it (engine bug 28): of an integer x,
# CASE WHEN x > 1 THEN x ELSE y END gave 0 for y = 0.5 (and 'a' beside 1 the text '1'). Integers beside floats are
# floats (Neo4j's column of both is floats too); other mixtures are refused.
CASES = [
    ("UNWIND [1, 2] AS x UNWIND [0.5] AS y RETURN x, CASE WHEN x > 1 THEN x ELSE y END AS v ORDER BY x",
     [[N(1), F(0.5)], [N(2), F(2.0)]]),
    ("UNWIND [1, 2] AS x UNWIND [0.5] AS y RETURN CASE WHEN x > 1 THEN y ELSE x END AS v ORDER BY v",
     [[F(0.5)], [F(1.0)]]),
    ("UNWIND [1, 2.5] AS x RETURN CASE WHEN x > 2 THEN x ELSE 0 END AS v ORDER BY v", [[F(0.0)], [F(2.5)]]),
    ("UNWIND [1, 2] AS x RETURN CASE WHEN x > 1 THEN x ELSE 0 END AS v ORDER BY v", [[N(0)], [N(2)]]),
    ("UNWIND [1, 2, 3] AS x UNWIND [0.5] AS y RETURN sum(CASE WHEN x > 1 THEN x ELSE y END) AS s", [[F(5.5)]]),
    ("UNWIND [1, 2] AS x UNWIND [0.5] AS y RETURN x, CASE WHEN x > 1 THEN CASE WHEN x > 5 THEN x ELSE y END "
     "ELSE 0 END AS v ORDER BY x", [[N(1), F(0.0)], [N(2), F(0.5)]]),
    ("UNWIND [[1], [2, 3]] AS l RETURN CASE WHEN size(l) > 1 THEN l ELSE [] END AS v ORDER BY size(v)",
     [[[]], [[N(2), N(3)]]]),
    ("MATCH (p:Patent) WITH p.app_year AS y, p.patent_id AS id RETURN id, CASE WHEN id = 'p1' THEN y ELSE 0.5 END "
     "AS v ORDER BY id", [["p1", F(2015.0)]] + [[p, F(0.5)] for p in ("p2", "p3", "p4", "p5")]),
]


@pytest.mark.parametrize("query, expected", CASES)
def test_the_branches_of_a_case_of_unshown_types_keep_their_values(store, query, expected):
    assert rows(store.query(query)) == expected


# (query, Neo4j's rows): a text, a boolean or a list of floats beside other values: refused on the embedded store
REFUSED = [
    ("UNWIND ['a', 'b'] AS s UNWIND [1] AS x RETURN CASE WHEN s = 'a' THEN s ELSE x END AS v ORDER BY s",
     [["a"], [N(1)]]),
    ("UNWIND [1, 2] AS x RETURN CASE WHEN x > 1 THEN x ELSE true END AS v ORDER BY x", [[True], [N(2)]]),
    # a text beside a float: the texts were read as numbers, 1.5 and 2.0 (the branch cast to a float)
    ("UNWIND ['1.5', '2'] AS s RETURN CASE WHEN s = 'x' THEN 0.5 ELSE s END AS v", [["1.5"], ["2"]]),
    ("UNWIND [[1], [2, 3]] AS l RETURN CASE WHEN size(l) > 1 THEN l ELSE [0.5] END AS v ORDER BY size(l)",
     [[[F(0.5)]], [[N(2), N(3)]]]),
]


@pytest.mark.parametrize("query, expected", REFUSED)
def test_a_case_of_values_of_other_types_is_refused_on_the_embedded_store(store, query, expected):
    if store.backend == "neo4j":
        assert rows(store.query(query)) == expected
        return
    with pytest.raises(Unsupported) as err:
        store.query(query)
    assert "different types" in err.value.message and "engine bug 28" in err.value.message
    assert "\n" not in err.value.message and "toString" in err.value.fix


def test_a_case_column_is_named_by_its_text_as_written(store):
    """The column of an unaliased CASE was named by citynet's rewriting (``CASE WHEN p.green THEN CAST((1) AS
    DOUBLE) …``, ``CASE WHEN p.patent_kind = 'utility' …``); Neo4j names it by the text of the query."""
    one, two = "CASE WHEN p.green THEN 1 ELSE 0.5 END", "CASE p.patent_kind WHEN 'utility' THEN 1 ELSE 0 END"
    got = store.query(f"MATCH (p:Patent) RETURN {one}, {two}, p.patent_id AS id ORDER BY id")
    assert list(got.columns) == [one, two, "id"]
    assert rows(got)[4] == [F(0.5), N(0), "p5"]


# -- 3. a position of a position (LadybugDB's parser: a predicate or property after it needs brackets) ------------
POSITIONS = [
    ("WITH [[1, 2], [3]] AS l RETURN l[0][1] IS NULL AS a, l[1][0] IS NOT NULL AS b, -l[0][1] AS c, l[0][-1] AS d",
     [[False, True, N(-2), N(2)]]),
    ("WITH [['ab', 'c'], ['d']] AS l RETURN l[0][1] STARTS WITH 'c' AS a, l[0][0] =~ 'a.*' AS b, "
     "l[1][0] CONTAINS 'd' AS c, l[0][1] ENDS WITH 'c' AS d, l[0][0] = 'ab' AS e", [[True, True, True, True, True]]),
    ("WITH [[[1, 2]], [[3]]] AS l RETURN l[0][0][1] IS NULL AS a, l[0][0][0..1][0] IS NULL AS b", [[False, False]]),
    ("WITH [{k: [1, 2]}] AS l RETURN l[0].k[1] AS a, l[0].k[0] IS NULL AS b, size(l[0].k) AS c", [[N(2), False, N(2)]]),
    ("UNWIND [[[1, 2]], [[3, 4]]] AS m WITH m WHERE m[0][0] > 1 AND m[0][1] IS NOT NULL RETURN m[0][1] AS x",
     [[N(4)]]),
    ("MATCH (p:Patent) WITH collect(p.ipc) AS l RETURN l[0][0] STARTS WITH 'H01' AS a, l[-1][0] IS NULL AS b",
     [[True, False]]),
]


@pytest.mark.parametrize("query, expected", POSITIONS)
def test_a_position_of_a_position_before_a_predicate(store, query, expected):
    assert rows(store.query(query)) == expected
