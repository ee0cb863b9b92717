"""A disk that fills while an engine writes — DuckDB spilling the load's relations to its temporary folder —
is the one message of a full disk and exit 1, as when citynet's own writes meet ``ENOSPC``
(tests/test_transaction.py), never a traceback; and the store is left as it was (here: empty, so the next
load with room succeeds and equals a load that never failed).

The disk is really full: a 2 MB ``tmpfs`` mounted over the temporary folder in a private mount namespace
(``unshare -m``, as tests/test_readonly_workspace.py does; the tests run as root), with the load's DuckDB
memory limit low enough that it must spill there. The store's rows are compared with the canonical
tables read by pandas."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from bench.canonical_synth import synth_tables, write_tables
from tests.cli import exit_code


def test_a_full_disk_under_duckdb_is_one_message_and_the_store_is_untouched(tmp_path):
    ws = tmp_path / "ws"
    tables = synth_tables(60_000, seed=4)
    write_tables(tables, ws / "canonical")
    spill = tmp_path / "spill"
    spill.mkdir()
    (ws / "citynet.toml").write_text('[store]\nload_memory_limit = "24MB"\n')
    script = 'mount -t tmpfs -o size=2m tmpfs "$0" && TMPDIR="$0" exec "$@"'
    got = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(spill),
                          sys.executable, "-m", "citynet", "-q", "load", "-w", str(ws)],
                         capture_output=True, text=True, timeout=600)
    assert got.returncode == 1, got.stderr
    assert "Traceback" not in got.stderr and got.stderr.count("error:") == 1, got.stderr
    assert "the disk is full" in got.stderr and "fix: free disk space" in got.stderr, got.stderr
    # with room, the same load succeeds and the store holds every canonical patent
    (ws / "citynet.toml").write_text("")
    assert exit_code("-q", "load", "-w", ws) == 0
    out = subprocess.run([sys.executable, "-m", "citynet", "query", "-w", str(ws), "--format", "json",
                          "MATCH (p:Patent) RETURN count(p) AS n"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"n": int(pd.Series(tables["patents"]["patent_id"]).nunique())}]


def test_the_engines_words_for_a_full_disk_are_recognised():
    """DuckDB's words when the disk fills under its spill (the first as a 10M load met it on this project's
    machine, 2026-12-05; the second as the test above meets it), any other engine error that carries the
    system's words for ENOSPC (the form of the third is made up), and what is not one."""
    import duckdb

    from citynet.errors import EXIT_CHECK, engine_disk_full

    io = duckdb.IOException('IO Error: Could not write file "/tmp/citynet-load-g87fmb4g/duckdb_temp_19093_0_'
                            'storage_DEFAULT-1.tmp": No space left on device')
    offload = duckdb.OutOfMemoryException("Out of Memory Error: failed to offload data block of size 32.0 KiB "
                                          "(1.7 MiB/1.7 MiB used).")
    other = RuntimeError("IO exception: Cannot write to file. path: /ws/store/db.wal - Error 28: No space left on device")
    for exc in (io, offload, other):
        got = engine_disk_full(exc)
        assert got is not None and got.exit_code == EXIT_CHECK and got.message.startswith("the disk is full")
    assert engine_disk_full(duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")) is None
    assert engine_disk_full(OSError(28, "No space left on device")) is None  # (citynet's own: its message)


def test_duckdb_out_of_memory_in_an_ingest_is_one_message(tmp_path):
    """An ingest whose DuckDB limit is far below what its corpus-wide steps need: one message naming the
    settings, exit 2, no traceback (the load and the partner kinds name their own setting). It was a traceback."""
    ws = tmp_path / "ws"
    export = tmp_path / "synth"
    assert exit_code("-q", "synth", export, "--patents", "20000", "--seed", "2") == 0
    ws.mkdir()
    (ws / "citynet.toml").write_text('[ingest]\nmemory_limit = "1MB"\n')
    got = subprocess.run([sys.executable, "-m", "citynet", "-q", "ingest", "-w", str(ws),
                          str(export / "raw" / "patents.csv")], capture_output=True, text=True, timeout=600)
    assert "Traceback" not in got.stderr and got.stderr.count("error:") == 1, got.stderr
    assert got.returncode == 2 and "[ingest] memory_limit" in got.stderr, got.stderr
    assert "Possible solutions" not in got.stderr  # (DuckDB's advice about its own settings)
