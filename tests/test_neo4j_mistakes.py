"""A team's mistakes with the Neo4j store, each one message with its fix and a documented exit code (README):
an address the driver refuses, a password from a place the user forgot, a server that goes away during a
command. The server is the suite's real Neo4j (tests/conftest.py); a server that goes away is a TCP relay of
the test in front of it that cuts the connection when a marked query passes."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from citynet.errors import EXIT_USAGE
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
