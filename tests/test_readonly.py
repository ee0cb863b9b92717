"""Read-only means no side effects (both stores, from the CLI): file/URL access, settings, transaction
management, users and engine maintenance are refused without --write by an allow-list; strings and
comments do not fool it; out-of-range parameters are one message."""

from __future__ import annotations

import json
import os

import pytest
from citynet.graph.readonly import refusals

from bench.canonical_synth import synth_tables, write_tables
from tests.cli import invoke

EMBEDDED_SIDE_EFFECTS = [
    "LOAD FROM '/etc/passwd' (file_format='csv', header=false, delim=':') RETURN *",
    "COPY (RETURN 1 AS x) TO '{ws}/canonical/patents.parquet'",
    "EXPORT DATABASE '{ws}/exported'",
    "IMPORT DATABASE '{ws}/exported'",
    "ATTACH '{ws}/other.lbug' AS other (dbtype lbug)",
    "INSTALL json",
    "LOAD EXTENSION json",
    "CHECKPOINT",
    "CALL threads=1",
    "MATCH (c:City) RETURN c.city_code LIMIT 1; COPY (RETURN 1 AS x) TO '{ws}/x.csv'",
    "MATCH (c:City) /* harmless */ CALL { COPY (RETURN 1 AS x) TO '{ws}/x.csv' } RETURN c",
]
NEO4J_SIDE_EFFECTS = [
    "LOAD CSV FROM 'file:///../../etc/passwd' AS line RETURN line",
    "LOAD CSV FROM 'http://127.0.0.1:1/x.csv' AS line RETURN line",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "CALL db.clearQueryCaches()",
    "SHOW USERS",
    "SHOW SETTINGS",
    "CALL dbms.listConfig()",
    "USE system SHOW DATABASES",
    "RETURN apoc.text.join(['a'], ',') AS x",
]
ALLOWED = [
    "MATCH (c:City) WHERE c.name_zh <> 'LOAD CSV FROM x' RETURN count(*) AS n // COPY TO",
    "MATCH (c:City) WITH c ORDER BY c.city_code SKIP 0 LIMIT 3 RETURN c.city_code AS code UNION "
    "MATCH (c:City) RETURN c.city_code AS code",
    "OPTIONAL MATCH (c:City {city_code: '000000'}) RETURN c IS NULL AS missing",
    "UNWIND [1, 2] AS x RETURN {set: x, load: x} AS m",
]


def run(capsys, *args) -> tuple[int, str, str]:
    return invoke(capsys, *args)


def _snapshot(root) -> dict:
    return {os.path.join(d, f): os.stat(os.path.join(d, f)).st_size for d, _, fs in os.walk(root) for f in fs}


def test_allow_list_units():
    for q in EMBEDDED_SIDE_EFFECTS + NEO4J_SIDE_EFFECTS:
        assert refusals(q), q
    for q in ALLOWED:
        assert not refusals(q), (q, refusals(q))
    assert refusals("MATCH (load:City) RETURN load")  # a keyword as a variable: backticks
    assert not refusals("MATCH (`load`:City) RETURN `load`")


def test_cli_embedded_read_only(tmp_path, capsys):
    write_tables(synth_tables(200, seed=2, years=(2010, 2011), n_cities=10), tmp_path / "canonical")
    assert run(capsys, "-q", "load", "-w", str(tmp_path))[0] == 0
    before = _snapshot(tmp_path)
    for q in EMBEDDED_SIDE_EFFECTS:
        code, out, err = run(capsys, "query", "-w", str(tmp_path), q.replace("{ws}", str(tmp_path)))
        assert code == 2 and "refused in read-only mode" in err and "--write" in err, (q, err)
        assert len(err.strip().splitlines()) == 2 and "root:" not in out  # one message + fix; no /etc/passwd
    assert _snapshot(tmp_path) == before
    for q in ALLOWED:
        code, out, err = run(capsys, "query", "-w", str(tmp_path), q, "--format", "json")
        assert code == 0, (q, err)
    # the store still opens read-only after the refused CHECKPOINT
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "MATCH (c:City) RETURN count(*) AS n", "--format", "json")
    assert code == 0 and json.loads(out) == [{"n": 10}]
    code, out, err = run(capsys, "query", "-w", str(tmp_path), "RETURN $n AS n", "--param", f"n={10**30}")
    assert code == 2 and "64-bit" in err and len(err.strip().splitlines()) == 2


@pytest.mark.neo4j
def test_cli_neo4j_read_only(tmp_path, capsys, neo4j_clean):
    write_tables(synth_tables(200, seed=2, years=(2010, 2011), n_cities=10), tmp_path / "canonical")
    conn = ["--store", "neo4j", "--uri", neo4j_clean.uri, "--user", neo4j_clean.user, "--password", neo4j_clean.password]
    assert run(capsys, "-q", "load", "-w", str(tmp_path), *conn)[0] == 0
    for q in NEO4J_SIDE_EFFECTS:
        code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, q)
        assert code == 2 and "refused in read-only mode" in err, (q, err)
        assert "root:" not in out
    for q in ALLOWED + ["CALL db.labels() YIELD label RETURN label"]:
        code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, q, "--format", "json")
        assert code == 0, (q, err)
    code, out, err = run(capsys, "query", "-w", str(tmp_path), *conn, "RETURN $n AS n", "--param", f"n={-10**30}")
    assert code == 2 and "64-bit" in err
