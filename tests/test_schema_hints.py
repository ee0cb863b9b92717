"""A property or label the schema lacks: the embedded store's refusal names what the schema has.

Expected texts are written by hand from DESIGN.md's schema (cypher/schema.embedded.cypher)."""

from __future__ import annotations

import pytest
from citynet.graph.schema_hints import property_hint, schema, table_hint
from citynet.graph.store import open_store

from citynet.errors import QueryError
from tests.test_graph_store import _workspace, hand_tables, load_tables


def test_schema_is_designs():
    tables = schema()
    assert tables["City"] == ("NODE", ["city_code", "name_zh", "short_name", "province_code", "province_zh", "lon",
                                       "lat", "tier", "region"])
    assert tables["APPLIED"] == ("REL", ["seq", "city_code"])
    assert "Meta" not in tables and all("row_hash" not in props for _, props in tables.values())


@pytest.mark.parametrize("msg, statement, words", [
    ("Cannot find property year for p.", "MATCH (p:Patent) RETURN p.year",
     "Patent has no property year (did you mean app_year or grant_year?); its properties: patent_id, app_date"),
    ("Cannot find property year for r.", "MATCH (a)-[ r : APPLIED ]->(p) RETURN r.year",
     "APPLIED has no property year; its properties: seq, city_code"),
    ("Cannot find property name_zh for x.", "MATCH (x) RETURN x.name_zh",
     "x has no property name_zh; name_zh is a property of City.name_zh: give x that label"),
    ("Cannot find property foo for x.", "MATCH (x) RETURN x.foo", "no label has a property foo"),
])
def test_property_hint(msg, statement, words):
    assert property_hint(msg, statement).startswith(words)


def test_table_hint():
    hint = table_hint("Binder exception: Table APPLYED does not exist.")
    assert hint.startswith("the store has no label or relationship type APPLYED (did you mean APPLIED?); "
                           "labels: City, Applicant, Patent, CityYear; relationship types: LOCATED_IN, APPLIED")
    assert property_hint("Binder exception: Table APPLYED does not exist.", "") is None


def test_embedded_store_refusal_names_the_properties(tmp_path):
    store = open_store(_workspace(tmp_path, "embedded"))
    try:
        load_tables(store, hand_tables(), tmp_path / "canonical")
        with pytest.raises(QueryError) as err:
            store.query("MATCH (c:City) RETURN c.name ORDER BY c.city_code")
        assert "City has no property name (did you mean name_zh or short_name?)" in err.value.fix
        with pytest.raises(QueryError) as err:
            store.query("MATCH (c:Cty) RETURN count(*)")
        assert "no label or relationship type Cty (did you mean City" in err.value.fix
        assert store.query("MATCH (c:City) RETURN c.name_zh AS n ORDER BY n")["n"].tolist() == [
            "上海市", "北京市", "南京市", "苏州市"]
    finally:
        store.close()


def test_city_year_hint_names_the_metric_columns_the_store_holds(tmp_path):
    import pandas as pd

    store = open_store(_workspace(tmp_path, "embedded"))
    try:
        load_tables(store, hand_tables(), tmp_path / "canonical")
        store.write_city_year(pd.DataFrame({"city_code": ["320100"], "year": [2015], "collab_degree": [0.5]}),
                              "invention.wipo.all")
        with pytest.raises(QueryError) as err:
            store.query("MATCH (y:CityYear) RETURN y.collab_degre")
        assert "CityYear has no property collab_degre (did you mean collab_degree?); its properties: key, city_code, " \
               "year, network, collab_degree" in err.value.fix
    finally:
        store.close()
