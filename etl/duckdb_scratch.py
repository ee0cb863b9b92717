"""DuckDB connections for the ingest's corpus steps, each with an empty catalog of its own, from one
database instance per thread.

A new in-memory DuckDB database costs about 30 ms (its catalog of built-in functions is built each time);
a small ingest opened five, a sixth of its time, and the test suite runs about a thousand ingests. An
in-memory catalog attached to an existing instance costs about 3 ms. So each thread keeps one instance
and every step gets a new connection (``cursor``) whose default catalog is a freshly attached in-memory
database, detached — its tables freed — when the step ends, as closing a database of its own did:

- a step sees no table of an earlier step (``CREATE TABLE`` goes to its own catalog; temporary tables and
  registered views belong to its connection);
- steps that run at once run in different threads, so on different instances, each within the memory
  limit its step sets (``SET memory_limit``, ``threads`` and ``preserve_insertion_order`` are settings of
  the instance: every step sets them before its first query);
- spills go to the instance's temporary folder, removed with the instance (at the thread's or the
  process's end).

If cleaning up a step fails, the thread's instance is closed and the next step starts a new one.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from citynet.sqltext import sql_string

_LOCAL = threading.local()
_STEPS = itertools.count(1)


class _Instance:
    """One thread's DuckDB database and its temporary folder."""

    def __init__(self) -> None:
        import duckdb

        self.tmp = tempfile.TemporaryDirectory(prefix="citynet-duckdb-")
        self.db = duckdb.connect(":memory:")
        self.db.execute(f"SET temp_directory = {sql_string(self.tmp.name)}")

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            self.tmp.cleanup()


def _instance() -> _Instance:
    inst = getattr(_LOCAL, "instance", None)
    if inst is None:
        inst = _LOCAL.instance = _Instance()
    return inst


@contextmanager
def scratch(memory_limit: str | None = None, threads: int | None = None,
            preserve_insertion_order: bool = True) -> Iterator:
    """A DuckDB connection with an empty default catalog for one step (module docstring); ``memory_limit``
    (a DuckDB size, e.g. ``"2GB"``) and ``threads`` as given, else the instance's current ones.

    >>> with scratch("1GB", 1) as con:
    ...     con.execute("CREATE TABLE t AS SELECT 1 AS x").fetchall()
    ...     con.sql("SELECT x FROM t").fetchall()
    [(1,)]
    [(1,)]
    >>> with scratch() as con:  # the next step: a catalog of its own
    ...     con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'").fetchall()
    [(0,)]
    """
    inst = _instance()
    name = f"step_{next(_STEPS)}"
    con = inst.db.cursor()
    try:
        con.execute(f"ATTACH ':memory:' AS {name}")
        con.execute(f"USE {name}")
        if memory_limit is not None:
            con.execute(f"SET memory_limit = {sql_string(memory_limit)}")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET preserve_insertion_order = {'true' if preserve_insertion_order else 'false'}")
        yield con
    finally:
        try:
            con.execute("USE memory")
            con.execute(f"DETACH DATABASE IF EXISTS {name}")
            con.close()
        except Exception:  # a connection left unusable: start the next step on a new instance
            _LOCAL.instance = None
            inst.close()
