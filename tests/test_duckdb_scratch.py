"""The ingest's DuckDB steps (etl/duckdb_scratch.py): each step an empty catalog of its own, one database
instance per thread, a failed step leaving the next one usable."""

from __future__ import annotations

import threading

import duckdb
import pytest
from citynet.etl.duckdb_scratch import scratch


def _tables(con) -> list[str]:
    return [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]


def _own_tables(con) -> list[str]:
    return [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                                  "OR temporary ORDER BY 1").fetchall()]


def test_a_step_sees_no_table_of_an_earlier_or_enclosing_step():
    with scratch("512MB", 1) as outer:
        outer.execute("CREATE TABLE t AS SELECT 1 AS x")
        outer.execute("CREATE TEMP TABLE u AS SELECT 2 AS y")
        with scratch("256MB", 1) as inner:  # a step inside a step (applicant ids inside a corpus step)
            assert _own_tables(inner) == []
            inner.execute("CREATE TABLE t AS SELECT 3 AS x")  # its own t, not the outer step's
            assert inner.sql("SELECT x FROM t").fetchall() == [(3,)]
        assert outer.sql("SELECT x FROM t").fetchall() == [(1,)]  # the inner step's end took only its own
    with scratch() as later:
        assert _own_tables(later) == [] and _tables(later) == []


def test_a_cursor_reads_the_catalog_its_connection_writes_when_told():
    with scratch() as con:
        con.execute("CREATE TABLE t AS SELECT 7 AS x")
        reader = con.cursor()
        reader.execute('USE "{}"'.format(con.sql("SELECT current_database()").fetchall()[0][0]))
        assert reader.sql("SELECT x FROM t").fetchall() == [(7,)]
        reader.close()


def test_steps_of_two_threads_have_their_own_instance_and_limit():
    seen = {}

    def step(name: str, limit: str) -> None:
        with scratch(limit, 1) as con:
            seen[name] = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
            barrier.wait()  # both steps open at once
            seen[name + " after"] = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=step, args=("a", "300MB")), threading.Thread(target=step, args=("b", "600MB"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["a"] == seen["a after"] != seen["b"] == seen["b after"]


def test_a_failed_step_leaves_the_next_one_usable():
    with pytest.raises(duckdb.Error), scratch() as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        con.execute("SELECT * FROM no_such_table")
    with scratch() as con:
        assert _tables(con) == []
        assert con.sql("SELECT 42").fetchall() == [(42,)]
