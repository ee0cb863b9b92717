"""Shared fixtures: one real Neo4j 5.26 server for the whole test session.

- ``neo4j_server`` (session): a started :class:`citynet.neo4j_server.Neo4jServer`; use ``.uri``,
  ``.auth`` (``("neo4j", password)``), ``.user``, ``.password`` or ``.driver()``.
- ``neo4j_clean`` (function): the same server, emptied first: no nodes, relationships,
  constraints or indexes (other than Neo4j's two built-in token-lookup indexes).
- ``hand_store`` (module, both engines): ``tests/test_graph_store.hand_tables`` loaded once per test module,
  opened read-only, for tests that only read; a test that writes or needs a store of its own loads its own
  (with ``neo4j_clean``) in a module without ``hand_store``: ``neo4j_clean`` would empty the shared one.

When the server cannot be built or started, every test that uses it fails with the reason and the
end of the server log; such tests are never skipped. Tests that use these fixtures get the
``neo4j`` marker automatically (``pytest -m "not neo4j"`` leaves them out on purpose).
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator

import pytest

from citynet.neo4j_server import FAST_STARTUP_JVM_OPTIONS, Neo4jServer

NEO4J_FIXTURES = {"neo4j_server", "neo4j_clean"}
TEST_TRANSACTION_TIMEOUT = "10m"
"""A runaway query in a test fails instead of hanging the session (a ``settings`` pass-through)."""


#: The test files that take longest (CI's durations, session 37: setup + calls, each about 1–4 min), longest
#: first. ``make test`` hands whole files to its two workers in collection order (``--dist loadfile
#: --no-loadscope-reorder``), so these start first and the short files fill in behind them: the two workers end
#: together. (xdist's default order, most tests first, started these one-test files last, one worker running
#: a two-minute file while the other had nothing left.) A file missing here only runs later; none is skipped.
LONGEST_FIRST = ("test_fuzz_ingest.py", "test_cypher_harness.py", "test_chain_montecarlo.py",
                 "test_demo_transaction.py", "test_neo4j_import.py", "test_transaction.py",
                 "test_determinism_chain.py", "test_fuzz_analysis.py", "test_cypher_compat.py",
                 "test_ingest_stream.py", "test_load_prepare.py", "test_designs_inference.py", "test_cli_state.py",
                 "test_demo.py", "test_neo4j_server.py", "test_analysis_estimators.py", "test_spatial_contiguity.py",
                 "test_spatial_weights_moran.py", "test_export.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if NEO4J_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.neo4j)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's own order is kept


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jServer]:
    """One Neo4j server for the session, in a temporary folder; stopped at the end (also on interrupts)."""
    from citynet.errors import UserError

    server = Neo4jServer(tmp_path_factory.mktemp("neo4j"), password="citynet-test-password",
                         stop_with_parent=True, jvm_options=FAST_STARTUP_JVM_OPTIONS,
                         settings={"db.transaction.timeout": TEST_TRANSACTION_TIMEOUT})
    atexit.register(server.stop)
    try:
        server.install()
        server.start(timeout=300)  # generous: the 2-core CI machine may be busy
    except UserError as err:
        server.stop()
        pytest.fail(f"the test Neo4j server could not start: {err.message}\nfix: {err.fix}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        atexit.unregister(server.stop)


@pytest.fixture
def neo4j_clean(neo4j_server: Neo4jServer) -> Iterator[Neo4jServer]:
    """The session's server with an empty database: no data, no constraints, no (non-lookup) indexes."""
    neo4j_server.reset_database()
    yield neo4j_server


@pytest.fixture(scope="module", params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def hand_store(request, tmp_path_factory: pytest.TempPathFactory):
    """hand_tables in a store of each engine, loaded once for the test module and then opened read-only (the
    engine refuses a write, so no test can change what the next one reads). Neo4j's database is emptied first."""
    from citynet.graph.store import open_store

    from tests.test_graph_store import _workspace, hand_tables, load_tables

    server = None
    if request.param == "neo4j":
        server = request.getfixturevalue("neo4j_server")
        server.reset_database()
    folder = tmp_path_factory.mktemp(f"hand_store_{request.param}")
    ws = _workspace(folder / "ws", request.param, server)
    with open_store(ws) as s:
        load_tables(s, hand_tables(), folder / "canonical")
        loaded = s.counts()
    with open_store(ws, read_only=True) as s:
        yield s
        assert s.counts() == loaded, "the module's hand_store changed under it (a test used neo4j_clean?)"
