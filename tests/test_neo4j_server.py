"""The local Neo4j 5.26 server (citynet.neo4j_server, ``citynet neo4j``) against a real server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import neo4j
import pytest
from click.testing import CliRunner

from citynet import neo4j_server as server_module
from citynet.cli import cli
from citynet.errors import StoreError
from citynet.neo4j_server import (
    FAST_STARTUP_JVM_OPTIONS,
    NEO4J_VERSION,
    STATE_FILE_NAME,
    Neo4jServer,
    find_maven,
    free_port,
    port_is_free,
)

# --- the session server ----------------------------------------------------------------------------


def test_server_answers_cypher_over_bolt(neo4j_server: Neo4jServer) -> None:
    with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=neo4j_server.auth) as driver:
        records, _, _ = driver.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1
        records, _, _ = driver.execute_query("CALL dbms.components() YIELD versions, edition")
    assert records[0]["versions"] == [NEO4J_VERSION]
    assert records[0]["edition"] == "community"


def test_wrong_password_is_rejected(neo4j_server: Neo4jServer) -> None:
    with (
        neo4j.GraphDatabase.driver(neo4j_server.uri, auth=(neo4j_server.user, "not-the-password")) as driver,
        pytest.raises(neo4j.exceptions.AuthError),
    ):
        driver.verify_connectivity()


def test_settings_reach_the_server(neo4j_server: Neo4jServer) -> None:
    from tests.conftest import TEST_TRANSACTION_TIMEOUT

    with neo4j_server.driver() as driver:
        records, _, _ = driver.execute_query(
            "SHOW SETTINGS YIELD name, value WHERE name = $name RETURN value", name="db.transaction.timeout")
    assert records[0]["value"] == TEST_TRANSACTION_TIMEOUT
    assert "db.transaction.timeout=10m" in (neo4j_server.data_dir / "citynet-settings.conf").read_text()


@pytest.mark.neo4j
def test_unknown_setting_is_a_clear_error(tmp_path: Path) -> None:
    server = Neo4jServer(tmp_path, password="long-enough-password", jvm_options=FAST_STARTUP_JVM_OPTIONS,
                         settings={"db.no_such_setting": "1"})
    with pytest.raises(StoreError, match="No declared setting with name: db.no_such_setting") as caught:
        server.start(timeout=120)
    assert "Traceback" not in caught.value.message and "\tat org.neo4j" not in caught.value.message
    assert "correct or drop the setting" in (caught.value.fix or "")
    assert not server.is_running()


def test_state_file_records_the_running_server(neo4j_server: Neo4jServer) -> None:
    state = json.loads((neo4j_server.data_dir / STATE_FILE_NAME).read_text())
    assert state["pid"] == neo4j_server.pid
    assert state["port"] == neo4j_server.port
    assert state["uri"] == neo4j_server.uri == f"bolt://127.0.0.1:{neo4j_server.port}"
    assert (state["user"], state["password"]) == neo4j_server.auth
    again = Neo4jServer.from_state(neo4j_server.data_dir)
    assert (again.uri, again.auth, again.pid) == (neo4j_server.uri, neo4j_server.auth, neo4j_server.pid)
    assert again.is_running()


def test_cli_status_reports_the_running_server(neo4j_server: Neo4jServer) -> None:
    result = CliRunner().invoke(cli, ["neo4j", "status", "--data", str(neo4j_server.data_dir), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["running"] is True
    assert status["pid"] == neo4j_server.pid
    assert status["uri"] == neo4j_server.uri
    assert status["installed"] is True


def test_reset_database_drops_data_constraints_and_indexes(neo4j_clean: Neo4jServer) -> None:
    neo4j_server = neo4j_clean  # start from an empty database whatever ran before
    with neo4j_server.driver() as driver:
        driver.execute_query("CREATE CONSTRAINT city_code IF NOT EXISTS FOR (c:City) REQUIRE c.city_code IS UNIQUE")
        driver.execute_query("CREATE INDEX patent_year IF NOT EXISTS FOR (p:Patent) ON (p.app_year)")
        driver.execute_query("CREATE (:City {city_code: '110000'})-[:CITED {year: 2010}]->(:City {city_code: '310000'})")
        neo4j_server.reset_database()
        nodes, _, _ = driver.execute_query("MATCH (n) RETURN count(n) AS n")
        constraints, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name")
        indexes, _, _ = driver.execute_query("SHOW INDEXES YIELD type")
    assert nodes[0]["n"] == 0
    assert constraints == []
    assert {record["type"] for record in indexes} <= {"LOOKUP"}


def test_neo4j_clean_gives_an_empty_database(neo4j_clean: Neo4jServer) -> None:
    with neo4j_clean.driver() as driver:
        records, _, _ = driver.execute_query("MATCH (n) RETURN count(n) AS n")
    assert records[0]["n"] == 0


# --- a second server, driven through the command line ----------------------------------------------


def test_cli_start_status_stop_frees_the_port(neo4j_server: Neo4jServer, tmp_path: Path) -> None:
    """Start, inspect and stop a second server with ``citynet neo4j``; stopping is clean and frees the port."""
    data_dir, port = tmp_path / "neo4j-cli", free_port()
    runner = CliRunner()
    try:
        started = runner.invoke(cli, ["neo4j", "start", "--data", str(data_dir), "--port", str(port),
                                      "--password", "cli-test-password", "--heap", "512m",
                                      "--jvm-option=-XX:TieredStopAtLevel=1"])
        assert started.exit_code == 0, started.output
        uri = f"bolt://127.0.0.1:{port}"
        assert uri in started.output
        assert f"citynet load -w WS --store neo4j --uri {uri}" in started.output

        status = runner.invoke(cli, ["neo4j", "status", "--data", str(data_dir)])
        assert status.exit_code == 0 and "running" in status.output and uri in status.output
        server = Neo4jServer.from_state(data_dir)
        with neo4j.GraphDatabase.driver(uri, auth=("neo4j", "cli-test-password")) as driver:
            driver.verify_connectivity()

        # a start of the running server with other options: refused, naming them (they were ignored silently)
        other = free_port()
        code, out, err = _citynet("neo4j", "start", "--data", data_dir, "--port", other,
                                  "--password", "another-password", "--heap", "512M")
        assert code == 2 and out == "" and err.splitlines()[0] == (
            f"error: Neo4j already runs on data folder {data_dir} (pid {server.pid}, port {port}): "
            f"--port {other}, --password not applied (a running server keeps its options)")
        assert f"citynet neo4j stop --data {data_dir}" in err and f"--uri {uri}" in err
        code, out, err = _citynet("neo4j", "start", "--data", data_dir, "--port", port)  # the same: its usage
        assert code == 0 and f"already runs on data folder {data_dir} (pid {server.pid}, port {port})" in out
        with neo4j.GraphDatabase.driver(uri, auth=("neo4j", "cli-test-password")) as driver:
            driver.verify_connectivity()  # (the password is still the first one)

        stopped = runner.invoke(cli, ["neo4j", "stop", "--data", str(data_dir)])
        assert stopped.exit_code == 0, stopped.output
        assert not server.is_running()
        assert port_is_free(port)
        state = json.loads((data_dir / STATE_FILE_NAME).read_text())
        assert state["pid"] is None and state["password"] == "cli-test-password"  # kept for the next start
        assert "citynet-neo4j: stopped" in (data_dir / "citynet-neo4j.log").read_text()  # shutdown hook ran

        status = runner.invoke(cli, ["neo4j", "status", "--data", str(data_dir)])
        assert status.exit_code == 1 and "not running" in status.output

        # started again without --port: the port of the last start (it took 7687 when free, else any port)
        code, out, err = _citynet("neo4j", "start", "--data", data_dir, "--jvm-option=-XX:TieredStopAtLevel=1")
        assert code == 0, err
        assert f"bolt URI : {uri}" in out and "note:" not in err
        with neo4j.GraphDatabase.driver(uri, auth=("neo4j", "cli-test-password")) as driver:
            driver.verify_connectivity()
        assert _citynet("neo4j", "stop", "--data", data_dir)[0] == 0
    finally:
        Neo4jServer(data_dir).stop()


def _citynet(*args) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``citynet ARGS`` as a user runs it (one message, no traceback)."""
    from tests.cli import call

    code, out, err = call(*args)
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("last_port_busy", [False, True])
def test_cli_start_takes_the_port_of_the_last_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    last_port_busy: bool) -> None:
    """Without --port, a restart takes the port of the last start (in the state file) while it is free; when
    something else holds it now, another port, with a note. (The server itself is not started here.)"""
    last = free_port()
    (tmp_path / STATE_FILE_NAME).write_text(json.dumps({"pid": None, "port": last, "password": "kept-password"}))
    chosen: list[int | None] = []

    def fake_start(self, timeout=120):
        chosen.append(self.port)
        self._port = self._port or free_port()
        return self

    monkeypatch.setattr(Neo4jServer, "start", fake_start)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if last_port_busy:
            sock.bind(("127.0.0.1", last))
            sock.listen()
        code, out, err = _citynet("neo4j", "start", "--data", tmp_path)
    assert code == 0, err
    if last_port_busy:
        assert chosen and chosen[0] != last
        assert f"note: port {last} of the last start is in use now" in err and "[store] uri" in err
    else:
        assert chosen == [last] and f"bolt URI : bolt://127.0.0.1:{last}" in out and "note:" not in err


# --- clear errors, no server needed ----------------------------------------------------------------


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(StoreError, match=f"port {port} .* in use") as caught:
            Neo4jServer(tmp_path, port=port, password="long-enough-password").start()
    assert "--port" in (caught.value.fix or "")


def test_cli_setting_without_equals_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["neo4j", "start", "--data", str(tmp_path), "--setting", "db.transaction.timeout"])
    assert result.exit_code == 2
    assert "is not KEY=VALUE" in result.output and "Traceback" not in result.output
    assert not (tmp_path / STATE_FILE_NAME).exists()


def test_short_password_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="at least 8 characters"):
        Neo4jServer(tmp_path, password="short").start()


def test_from_state_without_a_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no Neo4j server was started") as caught:
        Neo4jServer.from_state(tmp_path)
    assert "citynet neo4j start" in (caught.value.fix or "")


def test_missing_java_17_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java_25 = tmp_path / "jdk-25"
    (java_25 / "bin").mkdir(parents=True)
    (java_25 / "bin" / "java").write_text("#!/bin/sh\necho 'openjdk version \"25\"' >&2\n")
    (java_25 / "bin" / "java").chmod(0o755)
    (java_25 / "release").write_text('JAVA_VERSION="25"\n')
    monkeypatch.setenv("JAVA_HOME", str(java_25))
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(server_module, "JVM_ROOT", tmp_path / "no-jvms")
    server_module.find_java.cache_clear()
    try:
        with pytest.raises(StoreError, match="Java 17 is missing") as caught:
            server_module.find_java()
        assert "JAVA_HOME" in (caught.value.fix or "")
    finally:
        server_module.find_java.cache_clear()


def test_missing_maven_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("MAVEN_HOME", raising=False)
    monkeypatch.delenv("M2_HOME", raising=False)
    with pytest.raises(StoreError, match="Maven is missing") as caught:
        find_maven()
    assert "apt-get install maven" in (caught.value.fix or "")


def test_every_subcommand_has_help_with_an_example() -> None:
    for sub in ("install", "start", "stop", "status"):
        result = CliRunner().invoke(cli, ["neo4j", sub, "--help"])
        assert result.exit_code == 0, result.output
        assert f"citynet neo4j {sub}" in result.output


def test_docker_compose_runs_neo4j_5_26_with_plugins_healthcheck_and_volume() -> None:
    root = Path(__file__).resolve().parent.parent
    compose = (root / "docker-compose.yml").read_text()
    for expected in ("  neo4j:\n", "image: neo4j:5.26-community",
                     'NEO4J_AUTH: "${NEO4J_USER:-neo4j}/${NEO4J_PASSWORD',
                     """NEO4J_PLUGINS: '["apoc","graph-data-science"]'""",
                     ":7474", ":7687", "neo4j-data:/data", "healthcheck:"):
        assert expected in compose
    env_example = (root / ".env.example").read_text()
    assert "NEO4J_USER=neo4j" in env_example and "NEO4J_PASSWORD=" in env_example


def test_a_tool_output_is_streamed_and_its_time_limit_kept(tmp_path: Path) -> None:
    """``neo4j-admin``'s runner (``_run_streamed``): each line reaches the callback as the tool writes it
    (the first before the tool ends), a tool over its time limit is killed and reported as such (no exit
    code), and a callback that raises leaves no tool running."""
    import sys
    import time

    from citynet.neo4j_server import _run_streamed

    writer = "import sys, time\nprint('one', flush=True)\ntime.sleep(0.5)\nprint('two ∆', flush=True)\n"
    seen: list[tuple[str, float]] = []
    t0 = time.monotonic()
    code, out = _run_streamed([sys.executable, "-c", writer], tmp_path, {}, 30,
                              lambda line: seen.append((line, time.monotonic() - t0)))
    assert code == 0 and out == "one\ntwo ∆\n" and [line for line, _ in seen] == ["one", "two ∆"]
    assert seen[1][1] - seen[0][1] >= 0.4  # the first line came before the tool wrote the second
    code, _ = _run_streamed([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, {}, 0.5, None)
    assert code is None

    def stop(line: str) -> None:
        raise KeyboardInterrupt

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _run_streamed([sys.executable, "-c", writer + "time.sleep(30)\n"], tmp_path, {}, 60, stop)
    assert time.monotonic() - t0 < 20  # killed, not waited for


@pytest.mark.parametrize(("args", "words"), [(["--page-cache", "banana"], "--page-cache 'banana' is not a size"),
                                             (["--heap", "lots"], "--heap 'lots' is not a size"),
                                             (["--password", "abc"], "at least 8 characters")])
def test_start_options_that_java_or_neo4j_would_refuse_are_one_message(tmp_path: Path, capsys, args, words) -> None:
    """``--page-cache banana`` and ``--heap lots`` were Java's own exception text (or "Could not create the Java
    Virtual Machine"), exit 4, and a short password was refused after "starting Neo4j…": each is now checked
    before anything starts — one message, exit 2, nothing created."""
    from tests.cli import invoke

    code, _, err = invoke(capsys, "neo4j", "start", "--data", tmp_path / "neo", *args)
    assert code == 2 and err.count("error:") == 1 and words in err, err
    assert not (tmp_path / "neo").exists()
