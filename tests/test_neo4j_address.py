"""Where the Neo4j store is: a wrong address or database is one message naming it, with the fix, and comes
promptly (no driver text, no traceback). The expected texts are the messages themselves; the servers that
are not Neo4j are tiny socket servers of the test."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from citynet.graph.neo4j_store import check_address

from citynet.errors import EXIT_STORE, EXIT_USAGE, StoreError
from tests.cli import invoke
from tests.test_query_cli import make_ws


class TinyServer:
    """A TCP server on 127.0.0.1 that answers every connection with ``answer`` (None: says nothing and keeps
    the connection open) and then closes it."""

    def __init__(self, answer: bytes | None):
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        if self.answer is None:
            self.held.append(conn)
            return
        try:
            conn.recv(64)
            conn.sendall(self.answer)
        except OSError:
            pass
        conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for conn in self.held:
            conn.close()
        self.sock.close()


HTTP_ANSWER = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>bad request</html>"


def test_a_port_that_answers_no_bolt_is_one_prompt_message(tmp_path, capsys):
    """An HTTP server on the port (``python -m http.server``): the driver waited 60 s for its handshake, then
    printed its own text; now the address is named at once."""
    make_ws(tmp_path)
    with TinyServer(HTTP_ANSWER) as server:
        started = time.monotonic()
        code, out, err = invoke(capsys, "query", "-w", tmp_path, "--store", "neo4j", "--uri",
                                f"bolt://127.0.0.1:{server.port}", "--password", "whatever-password", "RETURN 1")
        took = time.monotonic() - started
    assert code == EXIT_STORE and out == ""
    lines = err.splitlines()
    assert lines[0] == (f"error: 127.0.0.1:{server.port} is not a Neo4j Bolt port: it answered b'HTTP' to the "
                        "Bolt handshake (an HTTP server, or another program)")
    assert lines[1].startswith("  fix: give the Bolt port of Neo4j (7687") and len(lines) == 2
    assert took < 5


def test_a_port_that_closes_or_says_nothing():
    with TinyServer(b"") as server, pytest.raises(StoreError) as caught:  # closes without a word
        check_address(f"bolt://127.0.0.1:{server.port}")
    assert caught.value.message == (f"127.0.0.1:{server.port} is not a Neo4j Bolt port: it closed the connection "
                                    "to the Bolt handshake (an HTTP server, or another program)")
    with TinyServer(None) as server:  # accepts and waits (python -m http.server waits for a line)
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            check_address(f"neo4j://127.0.0.1:{server.port}", timeout=0.5)
        assert time.monotonic() - started < 3
    assert caught.value.message == (f"127.0.0.1:{server.port} accepts connections but gave no Bolt answer within "
                                    "0.5 s: no Neo4j Bolt port listens there (or the server is too busy to answer)")
    with TinyServer(bytes.fromhex("00000405")) as server:  # a Bolt server's answer (version 5.4)
        check_address(f"bolt://127.0.0.1:{server.port}")


# a self-signed certificate of the test's TLS server (openssl req -x509 -newkey ec … -days 36500 -subj /CN=localhost)
TLS_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgx+cCZhlqWbygoV5M
wiYi1dk0azxi6w5tdKt/865fp+uhRANCAASZNiBqYvpEfgJNBPPzcPqozPc01/rM
kFevFBFwl3sEKKEqSDbFFB2yW/5/NUC0ztXvl6/+dY65UkOxntq9S7Md
-----END PRIVATE KEY-----
"""
TLS_CERT = """-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUUpve28xmqfQI6kJtr4E88rwuHJMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNzA3MDY1NloYDzIxMjYxMTEz
MDcwNjU2WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASZNiBqYvpEfgJNBPPzcPqozPc01/rMkFevFBFwl3sEKKEqSDbFFB2y
W/5/NUC0ztXvl6/+dY65UkOxntq9S7Mdo1MwUTAdBgNVHQ4EFgQUvLLqc11Uo2oF
mX6ToQj4BDkODcAwHwYDVR0jBBgwFoAUvLLqc11Uo2oFmX6ToQj4BDkODcAwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAk19Qd/KoZ5/fI2d4uKx1r
o7+O5XosZIV97nqjUfUEOAIhAOPfLLC2/KhITm6MV3IosmIxkWorV6hqz72IVmv2
Aq5r
-----END CERTIFICATE-----
"""


class TlsServer(TinyServer):
    """:class:`TinyServer` inside TLS (the self-signed certificate above)."""

    def __init__(self, answer: bytes | None, folder):
        import ssl

        (folder / "key.pem").write_text(TLS_KEY)
        (folder / "cert.pem").write_text(TLS_CERT)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        super().__init__(answer)

    def _answer(self, raw: socket.socket) -> None:
        try:
            raw.settimeout(5)
            conn = self.context.wrap_socket(raw, server_side=True)
            conn.recv(64)
            conn.sendall(self.answer)
            conn.close()
        except OSError:
            raw.close()


@pytest.mark.parametrize("scheme", ["bolt+s", "bolt+ssc", "neo4j+s"])
def test_an_encrypted_address_is_checked_inside_tls(tmp_path, capsys, scheme):
    """``bolt+s://`` skipped the check: on a port that says nothing the driver waited 60 s, and on a Neo4j without
    encryption (a plain Bolt port) or an HTTP server it printed "Failed to establish encrypted connection" with
    the fix to start Neo4j. Now TLS, then the Bolt handshake inside it: a server with TLS that answers Bolt passes."""
    with TlsServer(bytes.fromhex("00000405"), tmp_path) as server:  # Bolt 5.4 inside TLS
        check_address(f"{scheme}://127.0.0.1:{server.port}")
    with TlsServer(HTTP_ANSWER, tmp_path) as server, pytest.raises(StoreError) as caught:  # HTTPS
        check_address(f"{scheme}://127.0.0.1:{server.port}")
    assert caught.value.message.endswith("is not a Neo4j Bolt port: it answered b'HTTP' to the Bolt handshake (an "
                                         "HTTP server, or another program)")
    for answer in (bytes.fromhex("00000405"), HTTP_ANSWER):  # a plain Bolt port (a Neo4j without TLS), plain HTTP
        with TinyServer(answer) as server, pytest.raises(StoreError) as caught:
            check_address(f"{scheme}://127.0.0.1:{server.port}")
        plain = scheme.split("+")[0]
        assert caught.value.message.startswith(f"127.0.0.1:{server.port} does not speak TLS ({scheme}:// is Bolt with "
                                               "encryption")
        assert caught.value.fix.startswith(f"use --uri {plain}://127.0.0.1:{server.port} for a server without "
                                           "encryption")
    make_ws(tmp_path)
    with TinyServer(None) as server:  # accepts and says nothing
        started = time.monotonic()
        code, out, err = invoke(capsys, "query", "-w", tmp_path, "--store", "neo4j", "--uri",
                                f"{scheme}://127.0.0.1:{server.port}", "--password", "whatever-password", "RETURN 1")
        took = time.monotonic() - started
    assert code == EXIT_STORE and out == "" and len(err.splitlines()) == 2
    assert err.startswith(f"error: 127.0.0.1:{server.port} accepts connections but gave no TLS answer within 5 s")
    assert took < 15


def test_an_address_without_scheme_names_bolt(tmp_path, capsys):
    make_ws(tmp_path)
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "--store", "neo4j", "--uri", "localhost:7687",
                            "--password", "whatever-password", "RETURN 1")
    assert code == EXIT_USAGE and out == ""
    assert err.splitlines() == [
        "error: 'localhost:7687' is not a Bolt address: it has no scheme (Neo4j's address is bolt://HOST:PORT)",
        "  fix: use --uri bolt://localhost:7687 (or write it so in citynet.toml [store] uri)"]


@pytest.mark.parametrize("key", ["uri", "user", "database", "password_env"])
def test_an_empty_store_setting_is_refused(tmp_path, capsys, key):
    """``[store] uri = ""`` was replaced by the default without a word (the user meant some server); with
    ``--uri`` given it went on without a word too, where citynet.toml's other mistakes (``backend = "neo4jj"``
    under ``--store embedded``) are refused whatever the options."""
    make_ws(tmp_path)
    toml = tmp_path / "citynet.toml"
    toml.write_text(toml.read_text() + f'[store]\nbackend = "neo4j"\n{key} = ""\n', encoding="utf-8")
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "--password", "whatever-password", "RETURN 1")
    assert code == EXIT_USAGE and out == ""
    assert err.splitlines()[0] == f"error: {toml} [store] {key} is empty"
    assert "remove the line (the default is" in err
    code, out, err = invoke(capsys, "load", "-w", tmp_path, "--password", "whatever-password")
    assert code == EXIT_USAGE and err.splitlines()[0] == f"error: {toml} [store] {key} is empty"
    if key in ("uri", "user"):
        value = "bolt://127.0.0.1:1" if key == "uri" else "neo4j"
        code, out, err = invoke(capsys, "query", "-w", tmp_path, f"--{key}", value, "--password", "whatever-password",
                                "RETURN 1")
        assert code == EXIT_USAGE and err.splitlines()[0] == (
            f"error: {toml} [store] {key} is empty (--{key} is given, but the line is still a mistake of the file)")


def test_an_empty_uri_option_is_refused(tmp_path, capsys):
    make_ws(tmp_path)
    code, out, err = invoke(capsys, "query", "-w", tmp_path, "--store", "neo4j", "--uri", "", "RETURN 1")
    assert code == EXIT_USAGE and err.splitlines()[0] == "error: --uri is empty"


@pytest.mark.neo4j
def test_a_database_the_server_does_not_have(tmp_path, capsys, neo4j_clean):
    """``[store] database = "other"`` on Neo4j Community (one database, neo4j): one message naming it; it was
    the server's DatabaseNotFound text after a query, or "the store is empty"."""
    make_ws(tmp_path)
    toml = tmp_path / "citynet.toml"
    toml.write_text(toml.read_text() + f'[store]\nbackend = "neo4j"\nuri = "{neo4j_clean.uri}"\n'
                                       'database = "other"\n', encoding="utf-8")
    want = [f"error: the Neo4j server at {neo4j_clean.uri} has no database 'other' (it has: neo4j); Neo4j Community "
            "Edition has one database, neo4j",
            '  fix: set [store] database = "neo4j" in citynet.toml (or remove the line: the default is neo4j), or '
            "create the database on a Neo4j Enterprise server (CREATE DATABASE)"]
    for args in (["query", "RETURN 1"], ["query", "--write", "CREATE (:X)"], ["load"]):
        code, out, err = invoke(capsys, *args[:1], "-w", tmp_path, "--password", neo4j_clean.password, *args[1:])
        assert code == EXIT_USAGE and out == "" and err.splitlines() == want, args
