"""``citynet load`` / ``citynet query`` and the query library: the same library queries give the same
rows on LadybugDB and on Neo4j; typed parameters; read-only refusal; errors without tracebacks."""

from __future__ import annotations

import io
import json
import shlex

import pandas as pd
import pytest
from citynet.graph.network_filter import NetworkFilter
from citynet.graph.reference import reference_city_edges
from citynet.graph.store import open_store

from bench.canonical_synth import synth_tables, write_tables
from citynet import cypher
from citynet.commands.query import parse_params, rows_of
from citynet.errors import UserError
from citynet.workspace import Workspace
from tests.cli import invoke

FLT = NetworkFilter(green="all", kind="all")


def run(capsys, *args) -> tuple[int, str, str]:
    return invoke(capsys, *args)


def make_ws(tmp_path, tables=None) -> Workspace:
    tables = tables or synth_tables(800, seed=3, years=(2010, 2012), n_cities=20)
    write_tables(tables, tmp_path / "canonical")
    (tmp_path / "citynet.toml").write_text('[network]\ngreen = "all"\nkind = "all"\n', encoding="utf-8")
    return Workspace.open(tmp_path)


def test_parse_params_typed():
    p = parse_params(["n=5", "x=1.5", 's="320100"', "t=text", "b=true", "l=[1,2]", "z=null", "c:str=320100",
                      "f:float=2", "m={\"a\": 1}"])
    assert p == {"n": 5, "x": 1.5, "s": "320100", "t": "text", "b": True, "l": [1, 2], "z": None, "c": "320100",
                 "f": 2.0, "m": {"a": 1}}
    assert parse_params(["city=320100"], {"city": "str"}) == {"city": "320100"}
    with pytest.raises(UserError):
        parse_params(["n:int=abc"])
    with pytest.raises(UserError):
        parse_params(["no-equals"])
    # a list as Cypher writes it (single quotes) was "not a valid json"
    assert parse_params(["codes=['110000', '310000']", "q=['it\\'s', 2]"]) == {"codes": ["110000", "310000"],
                                                                           "q": ["it's", 2]}
    with pytest.raises(UserError, match="is not a valid json"):
        parse_params(["bad=['a\", 'b']"])
    # an unknown type is named as such (it said "is not NAME=VALUE"); a parameter given twice is refused
    # (the last one was kept, silently)
    with pytest.raises(UserError) as err:
        parse_params(["code:date=5"])
    assert err.value.message == "--param 'code:date=5': unknown type 'date' (the types: str, int, float, bool, json)"
    with pytest.raises(UserError) as err:
        parse_params(["code=1", "year=2015", "code:int=2"])
    assert err.value.message == "--param code is given twice ('code=1' and 'code:int=2')"
    assert parse_params(["t=a:b", "u:str=x=y"]) == {"t": "a:b", "u": "x=y"}  # ':' and '=' in a value are text


def test_library_is_documented():
    lib = cypher.library()
    assert set(lib) == {"top_partners", "shortest_path", "within_hops", "bridging_applicants", "transfer_inflows",
                        "partner_churn"}
    for q in lib.values():
        assert q.description and q.params
        for engine in cypher.ENGINES:
            body = q.text(engine)
            for p in q.params:
                assert f"${p.name}" in body, (q.name, engine, p.name)


def test_cli_load_and_query_embedded(tmp_path, capsys):
    ws = make_ws(tmp_path)
    code, out, err = run(capsys, "-q", "load", "-w", str(tmp_path))
    assert code == 0, err
    edges = reference_city_edges({n: pd.read_parquet(tmp_path / "canonical" / f"{n}.parquet") for n in
                                  ("cities", "applicants", "patents", "patent_applicants", "transfers", "citations")}, FLT)
    collab = edges[(edges.network == "collab") & (edges.year == 2011)]
    deg = pd.concat([collab.groupby("src").weight.sum(), collab.groupby("dst").weight.sum()]).groupby(level=0).sum()
    city = deg.idxmax()
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--named", "top_partners", "--param", f"city={city}",
                         "--param", "year=2011", "--param", "limit=100", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    expect = collab[(collab.src == city) | (collab.dst == city)]
    assert sorted(r["weight"] for r in rows) == sorted(expect.weight.tolist())
    assert {"partner", "name_zh", "province_code", "weight"} == set(rows[0])
    # the city by its Chinese name (it matched no city code: "0 rows", exit 0): the same rows; no such city: exit 2
    from citynet.etl.cities import city_set

    name = city_set().cities.set_index("city_code").loc[city, "name_zh"]
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--named", "top_partners", "--param", f"city={name}",
                         "--param", "year=2011", "--param", "limit=100", "--format", "json")
    assert code == 0 and json.loads(out) == rows, err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--named", "top_partners", "--param", "city=火星",
                         "--param", "year=2011")
    assert code == 2 and "neither a 6-digit city code nor the name of a city" in err, err
    # 通什市 (renamed 五指山市 in 2001, 469001) is a county-level city under Hainan province itself, in no city of
    # the set: it had been turned into 469001 and answered 0 rows, exit 0
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--named", "top_partners", "--param", "city=通什市",
                         "--param", "year=2011")
    assert code == 2 and "names the unit 469001, which is no city of the city set" in err, err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (c:City) RETURN count(*) AS n", "--format", "csv")
    assert code == 0 and out.splitlines() == ["n", "20"]
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--file", str(cypher.ROOT / "queries" / "within_hops.cypher"),
                         "--param", f"city={city}", "--param", "year=2011")
    assert code == 0 and "hops" in out
    # a .cypher saved by Windows Notepad (UTF-8 with BOM) runs; a file that is not text is one message, exit 2
    bom = tmp_path / "count.cypher"
    bom.write_bytes("\ufeffMATCH (c:City) RETURN count(*) AS n".encode())
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--file", str(bom), "--format", "csv")
    assert code == 0 and out.splitlines() == ["n", "20"], err
    binary = tmp_path / "q.cypher"
    binary.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xaf\xff\xfe")
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--file", str(binary))
    assert code == 2 and "not a UTF-8 text file" in err and "Traceback" not in err, err
    # read-only by default, enforced by the read-only database
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (c:City) SET c.name_zh = 'x'")
    assert code == 2 and "read-only" in err and "--write" in err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--write", "MATCH (c:City) SET c.tier = 'x' RETURN count(*) AS n",
                         "--format", "json")
    assert code == 0 and json.loads(out) == [{"n": 20}]
    # syntax error: the query and the position
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (c:City RETURN c")
    assert code == 2 and "MATCH (c:City RETURN c" in err and "offset" in err
    # missing parameter
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--named", "top_partners", "--param", "year=2011")
    assert code == 2 and "city" in err
    # reload changes nothing
    code, out, err = run(capsys, "load", "-w", str(tmp_path))
    assert code == 0
    assert ws.store.exists()


def test_cli_refuses_a_value_of_another_type_and_a_parameter_not_given(tmp_path, capsys):
    """A newcomer's slips on the default (embedded) store, each one message and no rows: a city code given
    as a number (Neo4j finds no row, LadybugDB would convert it and find one; exit 2 — a query the store
    refuses, not an unreachable store (4), which scripts retry — the rewrite named), a
    $parameter not given (Neo4j refuses it, LadybugDB would read null; exit 2), a --param the query does not
    use, an empty query; and LadybugDB-only result types (a 128-bit sum, an interval, a blob) as JSON."""
    make_ws(tmp_path)
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    city = pd.read_parquet(tmp_path / "canonical" / "cities.parquet")["city_code"].iloc[0]
    query = "MATCH (c:City) WHERE c.city_code = $code RETURN c.name_zh AS name"
    code, out, err = run(capsys, "query", "-w", str(tmp_path), query, "--param", f"code={city}")
    assert code == 2 and out == ""
    assert f"c.city_code is text and is compared with the integer {int(city)} ($code)" in err
    assert f"--param code:str={int(city)}" in err and "Traceback" not in err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), query, "--param", f"code:str={city}", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 1
    code, out, err = run(capsys, "query", "-w", str(tmp_path), query)
    assert code == 2 and out == "" and "the query uses $code, not given" in err and "--param code=VALUE" in err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "UNWIND [1, 2] AS x RETURN sum(x) AS s", "--format", "json")
    assert code == 0 and json.loads(out) == [{"s": 3}]  # LadybugDB's 128-bit sum: an integer, not a traceback
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "RETURN interval('1 day') AS i, to_blob('ab') AS b",
                         "--format", "json")
    assert code == 0 and json.loads(out) == [{"i": "P1D", "b": "6162"}]  # LadybugDB-only types: no traceback
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--named", "within_hops", "--param", f"city={city}",
                         "--param", "year=2011", "--param", "hops=3")  # the library query's parameter is k
    assert code == 2 and "the query has no parameter $hops (its parameters: city, k, year, network)" in err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), query, "--param", f"code:str={city}", "--param", "cod=1")
    assert code == 2 and "no parameter $cod (its parameters: code)" in err
    for blank in ("  ", "// a comment only"):
        code, out, err = run(capsys, "query", "-w", str(tmp_path), blank)
        assert code == 2 and "the query is empty" in err


def _collab_by_hand(tmp_path, year: int, kind: str | None) -> tuple[int, int]:
    """(city pairs, patents summed over them) of the co-applications of ``year``, from the canonical Parquet
    tables with pandas: a patent links every two distinct cities of its applicants (``kind``: its patent kind
    only, None: every patent)."""
    pa = pd.read_parquet(tmp_path / "canonical" / "patent_applicants.parquet")
    pats = pd.read_parquet(tmp_path / "canonical" / "patents.parquet")
    pats = pats[pats.app_year == year]
    if kind is not None:
        pats = pats[pats.patent_kind == kind]
    pc = pa.dropna(subset=["city_code"])[["patent_id", "city_code"]].drop_duplicates()
    pc = pc[pc.patent_id.isin(pats.patent_id)]
    pairs = pc.merge(pc, on="patent_id")
    pairs = pairs[pairs.city_code_x < pairs.city_code_y]
    return int(len(pairs.groupby(["city_code_x", "city_code_y"]))), int(len(pairs))


def test_cli_network_binds_network_in_every_query_and_refuses_what_it_cannot_filter(tmp_path, capsys):
    """--network KEY binds $network in an ad-hoc query too (it was refused: "the query uses $network, not
    given"); a query without $network is refused with --network (it changed nothing: every stored filter's
    edges summed); a filter whose projections the store does not hold is one message naming those it holds
    (it answered 0 rows, exit 0), as is --network with --param network."""
    make_ws(tmp_path)  # [network] all.all.all
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    utility = NetworkFilter(green="all", kind="utility")
    assert utility.key == "utility.all.all"
    with open_store(Workspace.open(tmp_path)) as s:  # a second filter's projections, as metrics builds them
        s.build_projections(utility)
    ws = str(tmp_path)
    adhoc = ("MATCH (c:City)-[r:COLLABORATED {year: 2011, network: $network}]->(d:City) "
             "RETURN count(*) AS pairs, sum(r.weight) AS patents")
    for key, kind in (("all.all.all", None), ("utility.all.all", "utility")):
        pairs, patents = _collab_by_hand(tmp_path, 2011, kind)
        assert pairs > 0
        for how in (["--network", key], ["--param", f"network={key}"]):
            code, out, err = run(capsys, "query", "-w", ws, adhoc, *how, "--format", "json")
            assert code == 0 and json.loads(out) == [{"pairs": pairs, "patents": patents}], (how, err)
    # without --network: the workspace's [network] filter, as the library queries
    code, out, err = run(capsys, "query", "-w", ws, adhoc, "--format", "json")
    assert code == 0 and json.loads(out) == [dict(zip(("pairs", "patents"), _collab_by_hand(tmp_path, 2011, None),
                                                       strict=True))], err
    # --network on a query without $network: refused, not ignored
    unfiltered = "MATCH (c:City)-[r:COLLABORATED {year: 2011}]->(d:City) RETURN count(*) AS n"
    code, out, err = run(capsys, "query", "-w", ws, unfiltered, "--network", "utility.all.all")
    assert code == 2 and out == "" and err.startswith("error: --network only applies to queries that use $network;")
    assert "fix: drop --network, or filter on it in the query" in err and len(err.strip().splitlines()) == 2
    code, out, err = run(capsys, "query", "-w", ws, "--named", "bridging_applicants", "--param", "province_a=110000",
                         "--param", "province_b=310000", "--network", "utility.all.all")
    assert code == 2 and "--network only applies to queries that use $network" in err
    assert "bridging_applicants takes no network filter" in err
    code, out, err = run(capsys, "query", "-w", ws, adhoc, "--network", "utility.all.all",
                         "--param", "network=all.all.all")
    assert code == 2
    assert "the network filter is given twice: --network utility.all.all and --param network=all.all.all" in err
    # a filter never projected: one message listing the store's, for a library query and an ad-hoc one
    city = pd.read_parquet(tmp_path / "canonical" / "cities.parquet")["city_code"].iloc[0]
    for args in (["--named", "top_partners", "--param", f"city={city}", "--param", "year=2011", "--network",
                  "invention.wipo.all"],
                 ["--named", "top_partners", "--param", f"city={city}", "--param", "year=2011", "--param",
                  "network=invention.wipo.all"],
                 [adhoc, "--network", "invention.wipo.all"]):
        for fmt in ("table", "csv"):  # (table: the lean reader, csv: the store path)
            code, out, err = run(capsys, "query", "-w", ws, *args, "--format", fmt)
            assert code == 2 and out == "", (args, err)
            assert err.splitlines()[0] == ("error: the store holds no projections of network filter "
                                           "'invention.wipo.all' (it holds those of: all.all.all, utility.all.all)")
            assert f"citynet metrics -w {ws} --network invention.wipo.all" in err
    code, out, err = run(capsys, "query", "-w", ws, adhoc, "--network", "invention.wipo")
    assert code == 2 and "'invention.wipo' is not a network filter key" in err


def test_cli_refuses_a_city_code_of_no_city_and_parameters_no_query_takes(tmp_path, capsys):
    """A 6-digit code that is no city (999999, a district's 320102) was sent as is: 0 rows, exit 0; now one
    message as for a name of no city. A list parameter's fix is the list written as texts (it said
    --param codes:str=110000, which the engine then refused in its own words); LIMIT -1, a range the library
    declares (within_hops k: 1..30), each one message without the engine's text or the query echoed."""
    make_ws(tmp_path)
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    ws = str(tmp_path)
    cities = pd.read_parquet(tmp_path / "canonical" / "cities.parquet").set_index("city_code")
    city = cities.index[0]
    for fmt in ("json", "csv"):
        code, out, err = run(capsys, "query", "-w", ws, "--named", "top_partners", "--param", "city=999999",
                             "--param", "year=2011", "--format", fmt)
        assert code == 2 and out == "" and err.splitlines() == [
            "error: --param city=999999: no city of the city set has the code 999999",
            "  fix: e.g. --param city=320100 or --param city=南京 (the cities: MATCH (c:City) RETURN c.city_code, "
            "c.name_zh)"], err
    code, out, err = run(capsys, "query", "-w", ws, "--named", "shortest_path", "--param", "city_a=320102",
                         "--param", f"city_b={city}", "--param", "year=2011")  # 玄武区 of 南京市
    assert code == 2 and err.splitlines() == [
        "error: --param city_a=320102: no city of the city set has the code 320102 (it lies in 南京市, city code "
        "320100)", "  fix: --param city_a=320100"], err
    # a list parameter of numbers against the text city_code: the fix is the list as texts, and it works
    two = sorted(cities.index[:2])
    query = "MATCH (c:City) WHERE c.city_code IN $codes RETURN c.name_zh AS name ORDER BY c.city_code"
    code, out, err = run(capsys, "query", "-w", ws, query, "--param", f"codes=[{int(two[0])},{int(two[1])}]")
    assert code == 2 and out == ""
    fix = f"--param \"codes=['{two[0]}','{two[1]}']\""
    assert err.splitlines()[1] == f"  fix: give the list with texts: {fix}", err
    code, out, err = run(capsys, "query", "-w", ws, query, *shlex.split(fix), "--format", "json")
    assert code == 0 and json.loads(out) == [{"name": cities.loc[c, "name_zh"]} for c in two], err
    # LIMIT -1: one message (it was the engine's runtime error and the whole library query)
    code, out, err = run(capsys, "query", "-w", ws, "--named", "top_partners", "--param", f"city={city}",
                         "--param", "year=2011", "--param", "limit=-1")
    assert code == 2 and err.splitlines() == ["error: --param limit=-1: LIMIT takes a whole number of 0 or more",
                                              "  fix: e.g. --param limit=10"], err
    code, out, err = run(capsys, "query", "-w", ws, "MATCH (c:City) RETURN c.city_code AS c SKIP $s", "--param", "s=1.5")
    assert code == 2 and err.startswith("error: --param s=1.5: SKIP takes a whole number of 0 or more"), err
    code, out, err = run(capsys, "query", "-w", ws, "MATCH (c:City) RETURN c.city_code AS c ORDER BY c LIMIT $n",
                         "--param", "n=0", "--format", "json")
    assert code == 0 and json.loads(out) == []
    # within_hops declares k in 1..30: 0, 31 and 1000 refused, the ends accepted
    for k in (0, 31, 1000):
        code, out, err = run(capsys, "query", "-w", ws, "--named", "within_hops", "--param", f"city={city}",
                             "--param", "year=2011", "--param", f"k={k}")
        assert code == 2 and err.splitlines() == [
            f"error: --param k={k} is outside 1..30, the range within_hops declares for it",
            "  fix: give k between 1 and 30"], err
    for k in (1, 30):
        code, out, err = run(capsys, "query", "-w", ws, "--named", "within_hops", "--param", f"city={city}",
                             "--param", "year=2011", "--param", f"k={k}", "--format", "json")
        assert code == 0, err
    # an unknown type and a parameter given twice, through the command line
    code, out, err = run(capsys, "query", "-w", ws, "MATCH (c:City {city_code: $code}) RETURN c.name_zh",
                         "--param", "code:date=5")
    assert code == 2 and "unknown type 'date' (the types: str, int, float, bool, json)" in err
    code, out, err = run(capsys, "query", "-w", ws, "MATCH (c:City {city_code: $code}) RETURN c.name_zh",
                         "--param", "code:str=1", "--param", "code:str=2")
    assert code == 2 and "--param code is given twice" in err


def test_cli_older_schema_version(tmp_path, capsys):
    make_ws(tmp_path, synth_tables(50, seed=1, years=(2010, 2010), n_cities=5))
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--write",
                         "MATCH (m:Meta {key: 'schema_version'}) SET m.value = '0'")
    assert code == 0
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (c:City) RETURN count(*)")
    assert code == 4 and "schema version 0" in err and "--rebuild" in err
    code, out, err = run(capsys, "load", "-w", str(tmp_path))
    assert code == 4 and "schema version 0" in err
    code, out, err = run(capsys, "-q", "load", "-w", str(tmp_path), "--rebuild")
    assert code == 0, err
    assert run(capsys, "query", "-w", str(tmp_path), "MATCH (c:City) RETURN count(*) AS n", "--format", "csv")[1].split() == ["n", "5"]


def test_cli_no_store_and_unreachable_neo4j(tmp_path, capsys):
    make_ws(tmp_path, synth_tables(50, seed=1, years=(2010, 2010), n_cities=5))
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (c:City) RETURN c")
    assert code == 2 and "citynet load" in err  # a step run before the one it needs: usage
    code, out, err = run(capsys, "load", "-w", str(tmp_path), "--store", "neo4j", "--uri", "bolt://127.0.0.1:1",
                         "--password", "whatever-password")
    assert code == 4 and "cannot reach Neo4j" in err and "citynet neo4j start" in err and "docker compose up -d" in err


@pytest.mark.neo4j
def test_cli_neo4j(tmp_path, capsys, neo4j_clean):
    make_ws(tmp_path, synth_tables(200, seed=2, years=(2010, 2011), n_cities=10))
    conn = ["--store", "neo4j", "--uri", neo4j_clean.uri, "--user", neo4j_clean.user]
    code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, "--password", "wrong-password-here", "RETURN 1")
    assert code == 4 and "refused the credentials" in err and "NEO4J_PASSWORD" in err
    conn += ["--password", neo4j_clean.password]
    code, out, err = run(capsys, "-q", "load", "-w", str(tmp_path), *conn)
    assert code == 0, err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, "MATCH (c:City) RETURN count(*) AS n", "--format", "json")
    assert code == 0 and json.loads(out) == [{"n": 10}]
    code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, "MATCH (c:City) SET c.name_zh = 'x'")
    assert code == 2 and "--write" in err  # refused by the READ_ACCESS session
    code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, "MATCH (c:City RETURN c")
    assert code == 2 and "MATCH (c:City RETURN c" in err and "offset" in err
    # a query Neo4j 5.26 answers wrongly is refused on it: exit 2 like any refused query (it was 4, "store
    # unreachable or incompatible", which scripts retry)
    code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn,
                         "MATCH (a:Applicant) WHERE a.kind IN ['firm'] AND (true XOR a.kind IN ['x']) RETURN count(*)")
    assert code == 2 and out == "" and "refused on the Neo4j store" in err
    # --network binds $network of an ad-hoc query on Neo4j too (the load built the [network] filter's
    # projections, all.all.all); a filter never projected: one message naming the store's
    adhoc = ("MATCH (c:City)-[r:COLLABORATED {year: 2011, network: $network}]->(d:City) "
             "RETURN count(*) AS pairs, sum(r.weight) AS patents")
    code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, adhoc, "--network", "all.all.all",
                         "--format", "json")
    assert code == 0 and json.loads(out) == [dict(zip(("pairs", "patents"), _collab_by_hand(tmp_path, 2011, None),
                                                       strict=True))], err
    code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, adhoc, "--network", "utility.all.all")
    assert code == 2 and out == "" and err.splitlines()[0] == (
        "error: the store holds no projections of network filter 'utility.all.all' (it holds those of: all.all.all)")
    # nodes, relationships and paths print as the same JSON from both stores (LadybugDB's _ID, _LABEL and
    # null properties left out, a path as its nodes)
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0  # the embedded store of the same workspace
    for query in ("MATCH (c:City) RETURN c ORDER BY c.city_code LIMIT 3",
                  "MATCH (a:Applicant)-[r:APPLIED]->(p:Patent) RETURN r, p ORDER BY a.applicant_id, p.patent_id LIMIT 3",
                  "MATCH x = (a:Applicant)-[:LOCATED_IN]->(:City) RETURN x ORDER BY a.applicant_id LIMIT 2"):
        code, neo, err = run(capsys, "query", "-w", str(tmp_path), *conn, query, "--format", "json")
        assert code == 0, err
        code, emb, err = run(capsys, "query", "-w", str(tmp_path), query, "--format", "json")
        assert code == 0, err
        assert json.loads(emb) == json.loads(neo) and json.loads(neo), query
    query = "MATCH (p:Patent) RETURN p, p.ipc AS ipc, p.app_date AS d ORDER BY p.patent_id LIMIT 3"
    neo = run(capsys, "query", "-w", str(tmp_path), *conn, query, "--format", "csv")[1]
    emb = run(capsys, "query", "-w", str(tmp_path), query, "--format", "csv")[1]
    rows = [pd.read_csv(io.StringIO(text), dtype=str) for text in (neo, emb)]  # cells: JSON text, ISO dates
    assert rows[0]["ipc"].tolist() == rows[1]["ipc"].tolist() and rows[0]["d"].tolist() == rows[1]["d"].tolist()
    assert [json.loads(c) for c in rows[0]["p"]] == [json.loads(c) for c in rows[1]["p"]]
    # without ORDER BY each store gives its own order: both print the rows sorted by their values, the same bytes
    query = "MATCH (a:Applicant) RETURN a.kind AS kind, a.city_code AS city, a.applicant_id AS id"
    neo = run(capsys, "query", "-w", str(tmp_path), *conn, query, "--format", "csv")[1]
    assert neo == run(capsys, "query", "-w", str(tmp_path), query, "--format", "csv")[1]
    assert neo == run(capsys, "query", "-w", str(tmp_path), query + " ORDER BY kind, city, id", "--format", "csv")[1]


@pytest.mark.neo4j
def test_a_union_and_a_column_of_integers_with_nulls_print_alike_on_both_stores(tmp_path, capsys, neo4j_clean):
    """A UNION without ALL drops duplicates in an order of the store's, which the last part's ORDER BY does not
    undo (LadybugDB printed 120000 before 110000): its rows print sorted by their values. A column of integers
    with a null printed as floats (2015.0) in CSV on both stores and in every format on Neo4j. Oracles: pandas
    on the canonical tables."""
    make_ws(tmp_path)
    conn = ["--store", "neo4j", "--uri", neo4j_clean.uri, "--user", neo4j_clean.user, "--password",
            neo4j_clean.password]
    assert run(capsys, "-q", "load", "-w", str(tmp_path), *conn)[0] == 0
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    applicants = pd.read_parquet(tmp_path / "canonical" / "applicants.parquet").dropna(subset=["city_code"])
    top = [applicants[applicants.kind == k].city_code.sort_values(ascending=False).head(4) for k in ("firm", "individual")]
    union = ("MATCH (a:Applicant {kind: 'firm'}) WHERE a.city_code IS NOT NULL RETURN a.city_code AS c ORDER BY c DESC "
             "LIMIT 4 UNION MATCH (a:Applicant {kind: 'individual'}) WHERE a.city_code IS NOT NULL RETURN a.city_code AS c "
             "ORDER BY c DESC LIMIT 4")
    patents = pd.read_parquet(tmp_path / "canonical" / "patents.parquet")
    years = pd.to_datetime(patents.grant_date).dt.year.astype("Int64").value_counts(dropna=False).sort_index()
    assert years.index.hasnans and len(years) > 2  # patents not granted: a null among the years
    granted = "MATCH (p:Patent) RETURN p.grant_date.year AS g, count(*) AS n"
    for fmt in ("csv", "json", "table"):
        for query, want in ((union, sorted(set(pd.concat(top)))),
                            (granted, [(None if pd.isna(y) else int(y), int(n)) for y, n in years.items()])):
            neo = run(capsys, "query", "-w", str(tmp_path), *conn, query, "--format", fmt)
            emb = run(capsys, "query", "-w", str(tmp_path), query, "--format", fmt)
            assert neo[0] == emb[0] == 0 and neo[1] == emb[1], (neo, emb)
            if fmt == "json":
                got = [tuple(r.values()) for r in json.loads(neo[1])]
                assert got == [(c,) for c in want] if query == union else got == want
            if fmt == "csv" and query == granted:
                assert ".0," not in neo[1] and neo[1].splitlines()[1] == f"{want[0][0]},{want[0][1]}"


@pytest.mark.neo4j
def test_library_identical_on_both_stores(tmp_path, neo4j_clean):
    tables = synth_tables(1500, seed=11, years=(2010, 2012), n_cities=30)
    write_tables(tables, tmp_path / "canonical")
    ws = Workspace.open(tmp_path)
    ws.settings["store"].update(uri=neo4j_clean.uri, user=neo4j_clean.user, password=neo4j_clean.password)
    edges = reference_city_edges(tables, FLT)
    collab = edges[(edges.network == "collab") & (edges.year == 2011)]
    deg = pd.concat([collab.groupby("src").weight.sum(), collab.groupby("dst").weight.sum()]).groupby(level=0).sum()
    city = deg.idxmax()
    far = deg.idxmin()
    tr = edges[edges.network == "transfer"]
    sink = tr.groupby("dst").weight.sum().idxmax()
    provinces = tables["cities"].set_index("city_code")["province_code"]
    top_provs = deg.index.map(provinces).value_counts().index[:2].tolist()
    base = {"network": FLT.key}
    cases = [
        ("top_partners", {"city": city, "year": 2011, "limit": 50}),
        ("shortest_path", {"city_a": city, "city_b": far, "year": 2011}),
        ("shortest_path", {"city_a": far, "city_b": city, "year": 2012}),
        ("within_hops", {"city": city, "k": 2, "year": 2011}),
        ("within_hops", {"city": far, "k": 3, "year": 2012}),
        ("bridging_applicants", {"province_a": top_provs[0], "province_b": top_provs[-1], "year_from": 2010,
                                 "year_to": 2012, "limit": 100}),
        ("transfer_inflows", {"city": sink, "year_from": 2010, "year_to": 2015}),
        ("partner_churn", {"city": city, "year_a": 2011, "year_b": 2012}),
    ]
    results = {}
    for backend in ("embedded", "neo4j"):
        with open_store(ws, backend=backend) as s:
            s.load(tmp_path / "canonical")
            s.build_projections(FLT)
            for i, (name, params) in enumerate(cases):
                df = s.query(cypher.text(f"queries/{name}", backend), {**base, **params})
                results[(backend, i)] = rows_of(df)
    for i, (name, _) in enumerate(cases):
        assert results[("embedded", i)] == results[("neo4j", i)], name
    nonempty = [name for i, (name, _) in enumerate(cases) if results[("embedded", i)]]
    assert {"top_partners", "shortest_path", "within_hops", "transfer_inflows", "partner_churn"} <= set(nonempty)
    # top_partners equals the reference edges
    expect = collab[(collab.src == city) | (collab.dst == city)]
    assert sorted(r["weight"] for r in results[("embedded", 0)]) == sorted(expect.weight.tolist())


def test_a_long_result_prints_every_row_in_plain_aligned_columns(tmp_path, capsys):
    """Beyond RICH_ROWS rows the table is plain columns (rich took 34 s for 200,000 rows): every row, in
    order, each column starting at the same display cell (a Chinese character is two cells wide)."""
    from rich.cells import cell_len

    from citynet.commands.query import RICH_ROWS

    make_ws(tmp_path)
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    n = RICH_ROWS + 500
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "--param", f"n={n}",
                         "UNWIND range(1, $n) AS i RETURN i, CASE WHEN i % 2 = 0 THEN '南京市' ELSE 'x' END AS name, "
                         "i * 10 AS tens")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["i", "name", "tens"] and set(lines[1].replace(" ", "")) == {"-"}
    body = lines[2:2 + n]
    assert [row.split() for row in body] == [[str(i), "南京市" if i % 2 == 0 else "x", str(10 * i)]
                                             for i in range(1, n + 1)]
    name_at, tens_at = lines[0].index("name"), lines[0].index("tens")
    for row in body[:4]:
        parts = row.split()
        assert cell_len(row[:row.index(parts[1], len(parts[0]))]) == name_at
        assert cell_len(row[:row.rindex(parts[2])]) == tens_at
    assert f"{n:,} rows" in out + err


def test_rows_without_order_by_come_sorted_by_their_values(tmp_path, capsys):
    """The store's own order depends on how it was loaded (an append, then an incremental load, puts new rows
    last): a query whose last RETURN has no ORDER BY prints its rows sorted by their values, left to right
    (the oracle: the canonical applicants counted by pandas and sorted); with ORDER BY, the query's order; LIMIT
    without ORDER BY is said to choose rows the store's way."""
    make_ws(tmp_path)
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    applicants = pd.read_parquet(tmp_path / "canonical" / "applicants.parquet")
    located = applicants.dropna(subset=["city_code"])
    want = located.groupby("city_code").size().rename("n").reset_index().rename(columns={"city_code": "c"})
    query = "MATCH (a:Applicant)-[:LOCATED_IN]->(c:City) RETURN c.city_code AS c, count(*) AS n"
    for fmt in ("csv", "json"):
        code, out, err = run(capsys, "query", "-w", str(tmp_path), query, "--format", fmt)
        assert code == 0, err
        got = pd.read_csv(io.StringIO(out), dtype={"c": str}) if fmt == "csv" else pd.DataFrame(json.loads(out))
        pd.testing.assert_frame_equal(got, want.sort_values("c", ignore_index=True), check_dtype=False)
    code, out, err = run(capsys, "query", "-w", str(tmp_path), query + " ORDER BY n DESC, c DESC", "--format", "json")
    assert [r["c"] for r in json.loads(out)] == want.sort_values(["n", "c"], ascending=False).c.tolist()
    code, out, err = run(capsys, "query", "-w", str(tmp_path), query + " LIMIT 2", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 2 and "LIMIT/SKIP without ORDER BY" in err


def test_two_columns_of_one_name_are_refused_as_neo4j_refuses_them(tmp_path, capsys):
    """``RETURN c.name_zh AS a, c.city_code AS a`` (or the same expression twice): Neo4j refuses it ("Multiple
    result columns with the same name are not supported", neo4j/neo4j#4331); LadybugDB answered both columns and
    the printers, which key a row by column name, showed one — the table a blank second column, CSV and JSON the
    codes under the name a, without a word. Now one message and exit 2 in every format, read-only or --write; a
    query naming its columns apart gives both (the oracle: the canonical cities' table)."""
    make_ws(tmp_path)
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    ws = str(tmp_path)
    for query in ("MATCH (c:City) RETURN c.name_zh AS a, c.city_code AS a ORDER BY c.city_code LIMIT 2",
                  "MATCH (c:City) RETURN c.name_zh, c.name_zh ORDER BY c.name_zh LIMIT 2"):
        name = "a" if " AS a" in query else "c.name_zh"
        for extra in (["--format", "table"], ["--format", "json"], ["--format", "csv"], ["--write"]):
            code, out, err = run(capsys, "query", "-w", ws, query, *extra)
            assert code == 2 and out == "" and err.splitlines() == [
                f"error: the query returns two columns named {name!r} (Neo4j refuses this: multiple result columns "
                "with the same name are not supported)",
                f"  fix: name each column with AS, e.g. RETURN … AS {name}_1, … AS {name}_2"], (extra, err)
    cities = pd.read_parquet(tmp_path / "canonical" / "cities.parquet").sort_values("city_code").head(2)
    code, out, err = run(capsys, "query", "-w", ws, "MATCH (c:City) RETURN c.name_zh AS a, c.city_code AS b "
                         "ORDER BY c.city_code LIMIT 2", "--format", "json")
    assert code == 0 and json.loads(out) == [{"a": n, "b": c} for n, c in zip(cities.name_zh, cities.city_code, strict=True)], err


def test_a_query_of_several_statements_is_refused(tmp_path, capsys):
    """"MATCH (c:City) RETURN count(*) AS n; MATCH (p:Patent) RETURN count(*) AS n" printed the patents' count alone
    under n on the embedded store (each statement ran, the last one's rows were printed; with --write every
    statement wrote) — Neo4j refuses a text of two statements. Now one message, exit 2, read-only or --write; a
    trailing ';' and a ';' inside a string or a comment are one statement (the oracle: the canonical cities)."""
    make_ws(tmp_path)
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    ws = str(tmp_path)
    two = "MATCH (c:City) RETURN count(*) AS n; MATCH (p:Patent) RETURN count(*) AS n"
    for extra in (["--format", "csv"], ["--format", "json"], ["--write"]):
        code, out, err = run(capsys, "query", "-w", ws, two, *extra)
        assert code == 2 and out == "" and err.splitlines()[0] == (
            "error: the query holds 2 statements separated by ';': citynet query runs one statement"), err
    n = len(pd.read_parquet(tmp_path / "canonical" / "cities.parquet"))
    for one in ("MATCH (c:City) RETURN count(*) AS n;",
                "MATCH (c:City) WHERE c.name_zh <> 'a;b' RETURN count(*) AS n // c; d"):
        code, out, err = run(capsys, "query", "-w", ws, one, "--format", "json")
        assert code == 0 and json.loads(out) == [{"n": n}], err


LIBRARY = ("top_partners", "shortest_path", "within_hops", "bridging_applicants", "transfer_inflows", "partner_churn")


@pytest.mark.parametrize("args,ignored", [
    (["MATCH (n) DETACH DELETE n", "--list", "--write"], "a query text and --write"),
    (["--list", "--write"], "--write"),
    (["--list", "--named", "top_partners", "--param", "city=320100"], "--named and --param"),
    (["--list", "--file", "q.cypher"], "--file"),
    (["--list", "--network", "invention.wipo.all"], "--network"),
    (["--list", "--format", "json"], "--format"),
    (["--list", "--store", "neo4j", "--uri", "bolt://127.0.0.1:9"], "--store and --uri"),
    (["--list", "MATCH (c:City) RETURN count(*)", "--format", "csv"], "a query text and --format"),
])
def test_list_with_a_query_or_an_option_that_runs_one_is_refused(tmp_path, monkeypatch, capsys, args, ignored):
    """``query "MATCH (n) DETACH DELETE n" --list --write`` printed the library and exited 0, as if the query had
    run. --list runs no query (query --help, docs/cypher.md): one message, exit 2 (README: usage), and nothing
    printed on stdout."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "query", *args)
    assert code == 2, (out, err)
    lines = err.splitlines()
    assert lines[0] == f"error: --list prints the library queries and runs none, so {ignored} would be ignored", err
    assert lines[1].startswith("  fix: run `citynet query --list` alone") and len(lines) == 2, err
    assert out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("extra", [[], ["-w", "."], ["-q"]])
def test_list_alone_or_with_a_workspace_lists_the_library(tmp_path, monkeypatch, capsys, extra):
    """The library is the same for every workspace: -w (and -q/-v) are taken with --list; the six queries of
    docs/cypher.md are listed."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "query", "--list", *extra)
    assert code == 0, err
    assert sorted(ln.split(":")[0] for ln in out.splitlines() if not ln.startswith(" ")) == sorted(LIBRARY)
