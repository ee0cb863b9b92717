"""Neo4j's offline importer for the first load (graph/neo4j_import.py): the imported store holds the
same labels, keys, properties and relationship types as the batched loader writes; a database with
data is never imported into; Docker users get the files and the exact commands."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from citynet.graph.neo4j_import import ImporterProgress, first_load, write_import_files
from citynet.graph.network_filter import NetworkFilter
from citynet.graph.reference import reference_city_edges
from citynet.graph.store import open_store

from bench.canonical_synth import write_tables
from citynet.errors import StoreError
from tests.test_graph_store import _workspace, hand_tables, small_synth

# Meta nodes are the store's bookkeeping (schema version, load state, per-table digests), not data
DUMP_NODES = "MATCH (n) WHERE NOT n:Meta RETURN labels(n) AS labels, properties(n) AS props"
DUMP_RELS = ("MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(a) AS a, properties(b) AS b, "
             "properties(r) AS props")


def _dump(store) -> list[str]:
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v.iso_format() if hasattr(v, "iso_format") else v

    rows = []
    for q in (DUMP_NODES, DUMP_RELS):
        df = store.query(q)
        for rec in df.to_dict("records"):
            rec = plain(rec)
            for end in ("a", "b"):  # relationship ends by their key only
                if end in rec:
                    rec[end] = {k: v for k, v in rec[end].items() if k.endswith(("_id", "city_code", "key"))}
            rows.append(json.dumps(rec, sort_keys=True, ensure_ascii=False))
    return sorted(rows)


def test_bulk_import_equals_the_batched_load(neo4j_clean, tmp_path):
    tables = small_synth()
    tables["patents"].loc[0, "title"] = 'two\nlines, a "quote"\r\nand a comma'  # the importer's multiline mode
    write_tables(tables, tmp_path / "canonical")
    assert write_import_files(tmp_path / "canonical", tmp_path / "files").multiline
    ws = _workspace(tmp_path / "ws", "neo4j", neo4j_clean)
    events: list[tuple[str, int, int]] = []
    with open_store(ws) as store:
        store.ensure_schema()  # citynet load creates the schema first: Meta alone is still empty
        counts = first_load(store, neo4j_clean, tmp_path / "canonical", progress=lambda *e: events.append(e))
        assert counts is not None and counts["Patent"]["new"] == len(tables["patents"])
        # the importer's own phases, read from its report as it ran, between the server's stop and start
        stages = list(dict.fromkeys(stage for stage, _, _ in events))
        assert stages[stages.index("stopping the server") + 1:stages.index("starting the server")] == [
            "neo4j-admin: node import", "neo4j-admin: relationship import", "neo4j-admin: relationship linking",
            "neo4j-admin: post processing"]
        nodes = sum(len(tables[t]) for t in ("cities", "applicants", "patents")) + 1  # + the Meta node
        assert ("neo4j-admin: node import", nodes, nodes) in events
        imported = _dump(store)
        assert not [x for x in store._run("MATCH (n) UNWIND labels(n) AS l RETURN DISTINCT l")["l"]
                    if x.startswith("CitynetEmptyList")]  # the importer's marks are gone
        again = store.load(tmp_path / "canonical")  # nothing to add: the incremental path agrees
        assert all(c["new"] == 0 and c["changed"] == 0 for c in again.values())
        constraints = set(store._run("SHOW CONSTRAINTS YIELD name RETURN name")["name"])
        flt = NetworkFilter(green="all", kind="all")
        store.build_projections(flt)
        pd.testing.assert_frame_equal(store.city_edges(flt), reference_city_edges(tables, flt))
    neo4j_clean.reset_database()
    with open_store(ws) as store:
        store.ensure_schema()
        store.load(tmp_path / "canonical")
        assert _dump(store) == imported
        assert set(store._run("SHOW CONSTRAINTS YIELD name RETURN name")["name"]) == constraints


def test_no_import_into_a_database_with_data(neo4j_clean, tmp_path):
    write_tables(hand_tables(), tmp_path / "canonical")
    ws = _workspace(tmp_path / "ws", "neo4j", neo4j_clean)
    with open_store(ws) as store:
        store.ensure_schema()
        store.load(tmp_path / "canonical")
        before = store.counts()
        assert first_load(store, neo4j_clean, tmp_path / "canonical") is None  # incremental path instead
        assert store.counts() == before
    with pytest.raises(StoreError) as err:
        neo4j_clean.admin(["database", "import", "full", "neo4j"])  # offline only
    assert "running" in err.value.message


def _cli(capsys, *args) -> tuple[int, str]:
    from tests.cli import invoke

    code, out, err = invoke(capsys, *args)
    return code, out + err


def test_import_dir_prints_the_docker_commands(tmp_path, capsys):
    ws = _workspace(tmp_path / "ws", "embedded")
    write_tables(hand_tables(), ws.canonical)
    out = tmp_path / "import"
    nowhere = ("--store", "neo4j", "--uri", "bolt://127.0.0.1:1", "--password", "x" * 8)
    # the import replaces the database: one that cannot be checked is refused, and nothing is written
    code, output = _cli(capsys, "load", "-w", str(ws.root), *nowhere, "--import-dir", str(out))
    assert code == 4 and "cannot reach" in output and "--rebuild" in output and not out.exists(), output
    assert "Traceback" not in output
    code, output = _cli(capsys, "load", "-w", str(ws.root), *nowhere, "--rebuild", "--import-dir", str(out))
    assert code == 0, output
    assert "docker compose stop neo4j" in output
    assert f"-v {out.resolve()}:/import:ro neo4j neo4j-admin database import full neo4j" in output
    assert "--nodes=Patent=/import/Patent.csv" in output and "--relationships=CITES=/import/CITES.csv" in output
    head = (out / "APPLIED.csv").read_text(encoding="utf-8").splitlines()[0]
    assert head == ':START_ID,:END_ID,seq:long,city_code,row_hash:long'  # integer ids; type from the option
    assert "--id-type=integer" in output and "--multiline-fields=false" in output
    files = write_import_files(ws.canonical, tmp_path / "again")
    assert {n for n, _ in files.nodes} == {"City", "Applicant", "Patent", "Meta"}
    assert not files.multiline
    code, output = _cli(capsys, "load", "-w", str(ws.root), "--import-dir", str(out))
    assert code == 2 and "--store neo4j" in output


def test_import_dir_only_for_an_empty_database_and_a_folder_of_its_own(neo4j_clean, tmp_path, capsys):
    """--import-dir's lines replace the database (--overwrite-destination): they are printed only after the
    database was found to hold no graph (the oracle: a count of its nodes); files of an earlier run are
    replaced, a folder with other files is refused untouched."""
    ws = _workspace(tmp_path / "ws", "embedded")
    tables = hand_tables()
    tables["transfers"] = tables["transfers"].iloc[:0]  # no TRANSFERRED file this time
    write_tables(tables, ws.canonical)
    server = ("--store", "neo4j", "--uri", neo4j_clean.uri, "--password", neo4j_clean.password)
    out = tmp_path / "import"
    out.mkdir()
    (out / "TRANSFERRED.csv").write_text("an earlier run's file of a table that is empty now\n", encoding="utf-8")
    code, output = _cli(capsys, "load", "-w", str(ws.root), *server, "--import-dir", str(out))
    assert code == 0, output
    assert "EMPTY database neo4j" in output and "docker compose stop neo4j" in output
    assert not (out / "TRANSFERRED.csv").exists()  # no transfers now: the earlier file is not left behind
    assert (out / "Patent.csv").is_file()

    theirs = tmp_path / "mine"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep me", encoding="utf-8")
    code, output = _cli(capsys, "load", "-w", str(ws.root), *server, "--import-dir", str(theirs))
    assert code == 2 and "holds other files (notes.txt)" in output, output
    assert [p.name for p in theirs.iterdir()] == ["notes.txt"]

    with neo4j_clean.driver() as d:
        d.execute_query("CREATE (:City {city_code: '999999'})")
    fresh = tmp_path / "fresh"
    code, output = _cli(capsys, "load", "-w", str(ws.root), *server, "--import-dir", str(fresh))
    assert code == 2 and "already holds a graph" in output and "--rebuild" in output, output
    assert not fresh.exists()
    with neo4j_clean.driver() as d:
        assert d.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 1  # untouched
    code, output = _cli(capsys, "load", "-w", str(ws.root), *server, "--rebuild", "--import-dir", str(fresh))
    assert code == 0 and "--overwrite-destination=true" in output, output


def test_citynet_load_takes_the_import_path_with_the_local_server(neo4j_clean, tmp_path, capsys):
    """One command: `citynet load --store neo4j` on the empty database of a local server whose data
    folder is known imports offline, restarts the server (same port, same options) and loads nothing
    more; the next load is incremental."""
    ws = _workspace(tmp_path / "ws", "embedded")
    tables = hand_tables()
    write_tables(tables, ws.canonical)
    (ws.root / "citynet.toml").write_text(f'[store]\nneo4j_data = "{neo4j_clean.data_dir}"\n', encoding="utf-8")
    args = ["load", "-w", str(ws.root), "--store", "neo4j", "--uri", neo4j_clean.uri, "--password", neo4j_clean.password]
    admin_log = neo4j_clean.data_dir / "citynet-admin.log"
    admin_log.unlink(missing_ok=True)
    try:
        code, output = _cli(capsys, *args)
    finally:
        # the command restarted the session's server through its state file: follow the new process
        from citynet.neo4j_server import Neo4jServer

        neo4j_clean._pid, neo4j_clean._process = Neo4jServer.from_state(neo4j_clean.data_dir).pid, None
    assert neo4j_clean.is_running()
    assert code == 0, output
    assert "IMPORT DONE" in admin_log.read_text()  # the offline importer ran
    admin_log.unlink()
    with neo4j_clean.driver() as d:
        n = d.execute_query("MATCH (p:Patent) RETURN count(p) AS n").records[0]["n"]
    assert n == len(tables["patents"])
    code, output = _cli(capsys, *args)
    assert code == 0 and not admin_log.exists(), output  # incremental


def test_the_next_load_completes_an_import_run_by_hand(neo4j_clean, tmp_path):
    """The Docker path: the files of --import-dir imported by neo4j-admin outside citynet (here the
    local server's), then `citynet load` sets the empty lists the importer cannot write and removes
    the importer's marks; the counts of [] equal the canonical tables' (the oracle)."""
    tables = small_synth(seed=11)
    write_tables(tables, tmp_path / "canonical")
    files = write_import_files(tmp_path / "canonical", tmp_path / "files")
    assert files.empty_list_nodes > 0
    neo4j_clean.stop()
    try:
        neo4j_clean.admin(files.admin_args())
    finally:
        neo4j_clean.start()
    ws = _workspace(tmp_path / "ws", "neo4j", neo4j_clean)
    with open_store(ws) as store:
        store.load(tmp_path / "canonical")
        assert store._run("MATCH (n:CitynetEmptyList) RETURN count(n) AS n")["n"][0] == 0
        for col in ("ipc", "cpc", "green_topics"):
            stored = store._run(f"MATCH (p:Patent) WHERE p.{col} = [] RETURN count(p) AS n")["n"][0]
            expected = sum(not isinstance(v, str) and hasattr(v, "__len__") and len(v) == 0
                           for v in tables["patents"][col])
            assert stored == expected, col
        assert expected > 0  # green_topics: most patents are not green


def test_the_importer_report_read_as_progress():
    """``ImporterProgress`` on the report of a real ``neo4j-admin database import full`` (Neo4j 5.26.30,
    1,000,000 synthetic patents; tests/fixtures/neo4j/import_report_5.26.txt, from "Import starting" on):
    its four phases in order, each rising through the percents it printed to its rows, and finished."""
    from pathlib import Path

    report = (Path(__file__).parent / "fixtures" / "neo4j" / "import_report_5.26.txt").read_text(encoding="utf-8")
    events: list[tuple[str, int, int]] = []
    progress = ImporterProgress(lambda *e: events.append(e), nodes=1_500_337, relationships=3_460_630)
    for line in report.splitlines():
        progress(line)
    progress.close()
    stages = list(dict.fromkeys(stage for stage, _, _ in events))
    assert stages == ["neo4j-admin: node import", "neo4j-admin: relationship import",
                      "neo4j-admin: relationship linking", "neo4j-admin: post processing"]
    for stage in stages:
        done = [d for s, d, _ in events if s == stage]
        total = 1_500_337 if stage.endswith("node import") else 3_460_630
        assert done[0] == 0 and done[-1] == total and done == sorted(done), stage
        assert len(done) == 21  # the start, then 5 %, 10 %, …, 100 %: each once (the end repeats none)


def test_an_interrupted_import_leaves_a_load_that_did_not_finish(neo4j_clean, tmp_path):
    """The importer replaces the database, and with it the Meta nodes in which ``citynet load`` had recorded
    "running" and its writer lock: a Ctrl-C after the import (during the schema, the empty lists or the
    projections) left a store that looked finished — queries and metrics answered from it, without the empty
    lists. Now the import carries those nodes: right after it the load is still "running" and locked by its
    writer (so a reader gets exit 4 "did not finish"), and the end of the load records it complete."""
    from citynet.graph import lifecycle

    tables = small_synth()
    write_tables(tables, tmp_path / "canonical")
    ws = _workspace(tmp_path / "ws", "neo4j", neo4j_clean)
    with open_store(ws) as store:
        store.ensure_schema()
        with lifecycle.writing(store, "citynet load"):
            assert first_load(store, neo4j_clean, tmp_path / "canonical") is not None
            assert lifecycle.state(store)["state"] == "running"  # a reader now: "did not finish", exit 4
            assert '"what": "citynet load"' in (lifecycle.held_by(store) or "")
            assert store._run("MATCH (m:Meta {key: 'schema_version'}) RETURN count(*) AS n")["n"][0] == 1
        assert lifecycle.state(store)["state"] == "complete" and lifecycle.held_by(store) is None
    neo4j_clean.reset_database()


def test_a_stopped_first_load_leaves_no_import_files(neo4j_clean, tmp_path):
    """The import files are as large as the canonical tables: a first load stopped once they are written
    (Ctrl-C) removes them from the server's data folder, and the database is left as it was (empty)."""
    write_tables(hand_tables(), tmp_path / "canonical")
    ws = _workspace(tmp_path / "ws", "neo4j", neo4j_clean)

    def interrupt(stage, done, total):
        if stage == "stopping the server":
            assert (neo4j_clean.data_dir / "citynet-import" / "Patent.csv").is_file()
            raise KeyboardInterrupt

    with open_store(ws) as store:
        store.ensure_schema()
        with pytest.raises(KeyboardInterrupt):
            first_load(store, neo4j_clean, tmp_path / "canonical", progress=interrupt)
        assert not (neo4j_clean.data_dir / "citynet-import").exists()
        assert store._run("MATCH (n) WHERE NOT n:Meta RETURN count(n) AS n")["n"][0] == 0
