"""A team's mistakes with the Neo4j store, each one message with its fix and a documented exit code (README):
an address the driver refuses, a password from a place the user forgot, a server that goes away during a
command. The server is the suite's real Neo4j (tests/conftest.py); a server that goes away is a TCP relay of
the test in front of it that cuts the connection when a marked query passes."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from urllib.parse import urlsplit

import pytest

from citynet.errors import EXIT_STORE, EXIT_USAGE
from tests.cli import invoke
from tests.test_query_cli import make_ws

pytestmark = pytest.mark.neo4j
EMPTY = "error: the neo4j store {} (database neo4j) is empty"


def neo4j_ws(tmp_path, server, **store) -> None:
    """A workspace of the query tests whose citynet.toml points at ``server`` (``store``: more [store] lines)."""
    make_ws(tmp_path)
    toml = tmp_path / "citynet.toml"
    lines = "".join(f'{k} = "{v}"\n' for k, v in store.items())
    toml.write_text(toml.read_text() + f'[store]\nbackend = "neo4j"\nuri = "{server.uri}"\n{lines}',
                    encoding="utf-8")


@pytest.mark.parametrize("uri", ["bolt://127.0.0.1:{port}?x=1", "bolt://user:pw@127.0.0.1:{port}"])
def test_an_address_the_driver_refuses_is_usage(tmp_path, capsys, neo4j_server, uri):
    """A query string or user:password@ in a bolt:// address: the driver's ConfigurationError, a mistake of the
    address (exit 2, like a port out of range or an http:// address), not an unreachable store (it was 4)."""
    make_ws(tmp_path)
    uri = uri.format(port=urlsplit(neo4j_server.uri).port)
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "--store", "neo4j", "--uri", uri,
                            "--password", neo4j_server.password, "RETURN 1")
    assert code == EXIT_USAGE and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"error: invalid Neo4j address {uri!r}: ")
    assert lines[1] == "  fix: use --uri bolt://HOST:PORT"


def test_the_refused_password_names_where_it_came_from(tmp_path, capsys, monkeypatch, neo4j_clean):
    """A ``[store] password`` left in citynet.toml wins over NEO4J_PASSWORD (docs/configuration.md: --password,
    then [store] password, then the variable): the user who exported the right password read "refused the
    credentials" and a fix that named all three. The message now names the one used."""
    neo4j_ws(tmp_path, neo4j_clean, password="an-old-password")
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_clean.password)
    fix = ("  fix: give the right password: --password, else citynet.toml [store] password, else env NEO4J_PASSWORD "
           "(the first one set is used)")
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "RETURN 1")
    assert code == EXIT_STORE and out == ""
    assert err.splitlines() == [f"error: Neo4j at {neo4j_clean.uri} refused the credentials of user 'neo4j' "
                                "(password from citynet.toml [store] password)", fix]
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "--password", "not-the-password", "RETURN 1")
    assert code == EXIT_STORE and err.splitlines() == [
        f"error: Neo4j at {neo4j_clean.uri} refused the credentials of user 'neo4j' (password from --password)", fix]
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "--password", neo4j_clean.password, "RETURN 1")
    assert code == EXIT_USAGE and err.splitlines()[0] == EMPTY.format(neo4j_clean.uri)  # in: nothing loaded yet


def test_no_password_names_the_variable_read(tmp_path, capsys, monkeypatch, neo4j_clean):
    """``[store] password_env = "TEAM_PW"`` with TEAM_PW unset and NEO4J_PASSWORD set: the fix named
    NEO4J_PASSWORD, the variable the user had set and citynet did not read."""
    neo4j_ws(tmp_path, neo4j_clean, password_env="TEAM_PW")
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_clean.password)
    monkeypatch.delenv("TEAM_PW", raising=False)
    fix = ("  fix: give the right password: --password, else citynet.toml [store] password, else env TEAM_PW "
           "(the first one set is used)")
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "RETURN 1")
    assert code == EXIT_STORE and out == ""
    assert err.splitlines() == [
        f"error: no password for Neo4j user 'neo4j' at {neo4j_clean.uri}: no --password, no [store] password, and "
        "TEAM_PW is not set (NEO4J_PASSWORD is set, but citynet.toml [store] password_env names TEAM_PW)", fix]
    monkeypatch.setenv("TEAM_PW", "")
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "RETURN 1")
    assert code == EXIT_STORE and err.splitlines()[0].endswith("and TEAM_PW is empty (NEO4J_PASSWORD is set, but "
                                                              "citynet.toml [store] password_env names TEAM_PW)")
    monkeypatch.setenv("TEAM_PW", "wrong-password-here")
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "RETURN 1")
    assert code == EXIT_STORE and err.splitlines() == [
        f"error: Neo4j at {neo4j_clean.uri} refused the credentials of user 'neo4j' (password from env TEAM_PW)", fix]
    monkeypatch.setenv("TEAM_PW", neo4j_clean.password)
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "RETURN 1")
    assert code == EXIT_USAGE and err.splitlines()[0] == EMPTY.format(neo4j_clean.uri)


class CuttingRelay:
    """127.0.0.1:port relays to the Neo4j server; a connection whose client sends ``marker`` is closed at once
    (both ways), as a server that stops does to a command midway."""

    def __init__(self, target: tuple[str, int], marker: bytes):
        self.target, self.marker = target, marker
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.open += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, check: bool) -> None:
        try:
            while data := src.recv(65536):
                if check and self.marker in data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.sock.close()
        for s in self.open:
            s.close()


def test_a_connection_lost_midway_is_one_message(tmp_path, capsys, caplog, neo4j_clean):
    """The server goes away while a command runs (killed during a load, in the session that found this): the
    driver's own log — "<CONNECTION> error: Failed to read from defunct connection …" and, in a load's managed
    transactions, a "Transaction failed and will be retried in …" line per retry, two dozen lines — came
    before citynet's message, whose fix said to start Neo4j or use the embedded store. Now one message (the
    driver's text inside it), exit 4, and the fix says to restart the server and run the command again."""
    make_ws(tmp_path)
    host = urlsplit(neo4j_clean.uri)
    relay = CuttingRelay((host.hostname, host.port), marker=b"cut-the-line-here")
    uri = f"bolt://127.0.0.1:{relay.port}"
    try:
        conn = ["--store", "neo4j", "--uri", uri, "--password", neo4j_clean.password]
        code, out, err = invoke(capsys, "-q", "load", "-w", tmp_path, *conn)
        assert code == 0, err
        code, out, err = invoke(capsys, "query", "-w", tmp_path, *conn, "RETURN 'through' AS x", "--format", "csv")
        assert code == 0 and out.splitlines() == ["x", "through"]  # the relay passes everything else
        with caplog.at_level(logging.DEBUG):
            code, out, err = invoke(capsys, "query", "-w", tmp_path, *conn, "RETURN 'cut-the-line-here' AS x")
    finally:
        relay.close()
    assert code == EXIT_STORE and out == ""
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"error: lost the connection to Neo4j at {uri} (")
    assert lines[1] == ("  fix: check that the server still runs (`citynet neo4j status --data DIR`; Docker: "
                        "`docker compose ps`), start it again if it stopped, then run the command again (a load "
                        "resumes: loads are idempotent upserts)")
    assert not [r for r in caplog.records if r.name.startswith("neo4j")]


def test_a_rebuild_stopped_midway_is_a_load_that_did_not_finish(tmp_path, capsys, monkeypatch, neo4j_clean):
    """``load --rebuild`` empties the database in batches before it loads; stopped in between (the server killed
    while it deleted, in the session that found this), the store had lost its Meta nodes in the first batch and
    kept the rest: "built by schema version 0; this citynet uses schema version 1", exit 4, as if another
    citynet had built it. Now the Meta nodes go last and the store says the rebuild did not finish, with the
    command that finishes it (the store options included: this workspace's citynet.toml says embedded)."""
    import pandas as pd
    from citynet.graph.neo4j_store import Neo4jStore

    make_ws(tmp_path)
    conn = ["--store", "neo4j", "--uri", neo4j_clean.uri, "--password", neo4j_clean.password]
    count = ["MATCH (p:Patent) RETURN count(p) AS n", "--format", "csv"]
    assert invoke(capsys, "-q", "load", "-w", tmp_path, *conn)[0] == 0
    patents = len(pd.read_parquet(tmp_path / "canonical" / "patents.parquet", columns=["patent_id"]))
    assert invoke(capsys, "query", "-w", tmp_path, *conn, *count)[1].splitlines() == ["n", str(patents)]

    real = Neo4jStore._exec_block

    def stopped(self, file, block, params=None):
        if block == "delete_data":  # a part of the rows deleted, then the process stops
            self._run("MATCH (p:Patent) WITH p LIMIT 100 DETACH DELETE p")
            raise KeyboardInterrupt
        return real(self, file, block, params)

    monkeypatch.setattr(Neo4jStore, "_exec_block", stopped)
    code, out, err = invoke(capsys, "-q", "load", "-w", tmp_path, *conn, "--rebuild")
    assert code == 130, err
    monkeypatch.setattr(Neo4jStore, "_exec_block", real)
    for args in (count, ["MATCH (c:City) RETURN count(c) AS n"]):
        code, out, err = invoke(capsys, "query", "-w", tmp_path, *conn, *args)
        assert code == EXIT_STORE and out == ""
        lines = err.splitlines()
        assert len(lines) == 2 and lines[0].startswith(
            f"error: the last load of the neo4j store {neo4j_clean.uri} (database neo4j) did not finish (citynet load "
            "--rebuild started ")
        assert lines[1] == (f"  fix: run it again: `citynet load -w {tmp_path} --store neo4j --uri {neo4j_clean.uri} "
                            "--rebuild`")
    assert invoke(capsys, "-q", "load", "-w", tmp_path, *conn, "--rebuild")[0] == 0
    assert invoke(capsys, "query", "-w", tmp_path, *conn, *count)[1].splitlines() == ["n", str(patents)]


def test_a_second_workspace_loaded_into_the_same_database(tmp_path, capsys, monkeypatch, neo4j_clean):
    """Two workspaces pointed at one Neo4j database: the second load said its extra patents were "an earlier
    corpus: ingest replaces the canonical tables", with the fix ``--rebuild`` (which deletes the first team's
    graph without saying so); metrics in the first workspace said "an ingest since the last load changed …"
    (there was none) with the fix ``citynet load -w WS`` (its citynet.toml says embedded: that loads the
    embedded store). Now both name the other workspace and give each workspace its own database."""
    from bench.canonical_synth import synth_tables

    a, b = tmp_path / "a", tmp_path / "b"
    make_ws(a)
    make_ws(b, synth_tables(300, seed=5, years=(2010, 2012), n_cities=20))
    uri = neo4j_clean.uri
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_clean.password)  # (metrics has no --password)
    conn = ["--store", "neo4j", "--uri", uri]
    assert invoke(capsys, "-q", "load", "-w", a, *conn)[0] == 0
    import pandas as pd

    held = len(pd.read_parquet(a / "canonical" / "patents.parquet", columns=["patent_id"]))
    ids_b = set(pd.read_parquet(b / "canonical" / "patents.parquet", columns=["patent_id"])["patent_id"])
    beyond = held - len(ids_b & set(pd.read_parquet(a / "canonical" / "patents.parquet")["patent_id"]))

    def fix(ws, other):
        return (f"  fix: give each workspace its own database: `citynet neo4j start --data DIR --port N` (a second "
                f"local server), then `citynet load -w {ws} --store neo4j --uri bolt://127.0.0.1:N`; or `citynet load "
                f"-w {ws} --store neo4j --uri {uri} --rebuild`, which deletes the graph of {other}")

    for _ in range(2):  # the second load of b still knows where the extra patents came from
        code, out, err = invoke(capsys, "load", "-w", b, *conn)
        assert code == 0
        warning = err[err.index("warning:"):].splitlines()
        assert warning == [
            f"warning: the store holds {beyond:,} patents beyond this workspace's canonical tables: the database's "
            f"last load came from another workspace, {a.resolve()}. The two corpora are now one graph: its projections "
            "and the other workspace's queries mix them, and `citynet metrics` refuses the store in both workspaces.",
            fix(b, a.resolve())]
    code, out, err = invoke(capsys, "metrics", "-w", a, *conn)
    assert code == EXIT_USAGE and err.splitlines() == [
        f"error: the store was last loaded from another workspace, {b.resolve()}, not from this one's canonical "
        "tables: the panels would mix the two corpora", fix(a, b.resolve())]
    # a query answers about the database, which holds both corpora: said in both workspaces (it was silent)
    both = held + len(ids_b) - (held - beyond)
    for ws, other in ((a, b), (b, a)):
        code, out, err = invoke(capsys, "query", "-w", ws, *conn, "MATCH (p:Patent) RETURN count(p) AS n",
                                "--format", "csv")
        assert code == 0 and out.splitlines() == ["n", str(both)]
        assert err.splitlines() == [
            f"warning: the Neo4j database holds the graph another workspace loaded, {other.resolve()}: this answer is "
            "about that graph (with this workspace's corpus if both were loaded), not this workspace's corpus alone",
            fix(ws, other.resolve())]
    code, out, err = invoke(capsys, "metrics", "-w", b, *conn)
    assert code == EXIT_USAGE and err.splitlines() == [
        f"error: the store holds {beyond:,} patents beyond this workspace's canonical tables, loaded from another "
        f"workspace, {a.resolve()}: the panels would mix the two corpora", fix(b, a.resolve())]
    assert invoke(capsys, "-q", "load", "-w", b, *conn, "--rebuild")[0] == 0
    code, out, err = invoke(capsys, "load", "-w", b, *conn)
    assert code == 0 and "warning" not in err
    assert invoke(capsys, "-q", "metrics", "-w", b, *conn)[0] == 0
    code, out, err = invoke(capsys, "query", "-w", b, *conn, "MATCH (p:Patent) RETURN count(p) AS n", "--format", "csv")
    assert code == 0 and out.splitlines() == ["n", str(len(ids_b))] and err == ""


def test_the_fix_of_an_empty_neo4j_store_names_it(tmp_path, capsys, monkeypatch, neo4j_clean):
    """A workspace whose citynet.toml says embedded, used with ``--store neo4j`` on each command (docs/neo4j.md):
    the fix of an empty Neo4j store said ``citynet load -w WS``, which loads the embedded store (exit 0) and
    leaves the Neo4j one empty. The fixes now name the store."""
    make_ws(tmp_path)
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_clean.password)
    conn = ["--store", "neo4j", "--uri", neo4j_clean.uri]
    code, out, err = invoke(capsys, "query", "-w", tmp_path, *conn, "RETURN 1")
    assert code == EXIT_USAGE and err.splitlines() == [
        EMPTY.format(neo4j_clean.uri), f"  fix: load it first: citynet load -w WS --store neo4j --uri {neo4j_clean.uri}"]
    code, out, err = invoke(capsys, "metrics", "-w", tmp_path, *conn)
    assert code == EXIT_USAGE and err.splitlines() == [
        "error: the store is empty — run `citynet load` first",
        f"  fix: citynet load -w {tmp_path} --store neo4j --uri {neo4j_clean.uri}   (then citynet metrics again)"]
    code, out, err = invoke(capsys, "metrics", "-w", tmp_path)  # the embedded store of citynet.toml: as before
    assert code == EXIT_USAGE and err.splitlines()[1] == f"  fix: citynet load -w {tmp_path}   (then citynet metrics again)"
