"""A read-only workspace (a shared data folder mounted read-only, ``chmod -R a-w ws``): the commands that only
read work (``query``, ``fit --formula``, ``export``/``report``/``fit SPEC`` with ``--out`` elsewhere), every other
one is one message with exit 2 and the fix (docs/reliability.md, "A read-only workspace"), never a traceback,
and the workspace's bytes are the same afterwards.

The tests run as root, whom permissions do not stop, so the workspace is made read-only by real file-system
conditions that stop root too: the immutable flag (``chattr -R +i``: EPERM) in-process, and a read-only bind
mount in a private mount namespace (``unshare -m``: EROFS) for a command run as a subprocess. As another user,
``chmod -R a-w`` (EACCES) does it. The expected numbers come from the workspace's Parquet files (pandas)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cli import exit_code, invoke

SPEC = Path(__file__).resolve().parents[1] / "examples" / "p004_did.toml"
FORMULA = ("--formula", "ln_green_patents ~ collab_degree | city_code + year")


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ro") / "demo"
    assert exit_code("-q", "demo", root, "--patents", "1000", "--seed", "3") == 0
    return root


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def read_only(root: Path):
    """``root`` read-only for this process: immutable as root (permissions do not stop root), else ``a-w``."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "-R", "+i", str(root)], capture_output=True, text=True)
        if done.returncode:
            subprocess.run(["chattr", "-R", "-i", str(root)], capture_output=True)
            pytest.fail(f"chattr +i failed on {root} (a file system without the immutable flag?): {done.stderr}")
        undo = ["chattr", "-R", "-i", str(root)]
    else:
        subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
        undo = ["chmod", "-R", "u+w", str(root)]
    try:
        yield
    finally:
        subprocess.run(undo, check=True)


def _reads(capsys, ws: Path, cities: int, city_years: int) -> None:
    """The read commands work: query counts the store's cities, fit --formula reads the panel."""
    code, text, err = invoke(capsys, "query", "-w", ws, "--format", "json", "MATCH (c:City) RETURN count(c) AS n")
    assert code == 0, err
    assert json.loads(text) == [{"n": cities}]
    code, text, err = invoke(capsys, "fit", "-w", ws, *FORMULA, "--json")
    assert code == 0, err
    assert json.loads(text)["nobs"] == city_years


def test_a_read_only_workspace_is_read_and_every_write_is_one_message(ws, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    cities = len(pd.read_parquet(ws / "canonical" / "cities.parquet"))
    city_year = pd.read_parquet(ws / "metrics" / "city_year.parquet")
    before = _digest(ws)
    with read_only(ws):
        # reading: the embedded store opens read-only; fit and export read the panels
        _reads(capsys, ws, cities, len(city_year))
        code, _, err = invoke(capsys, "export", "-w", ws, "--panel", "city-year", "--out", out / "cy.csv")
        assert code == 0, err
        assert len(pd.read_csv(out / "cy.csv")) == len(city_year)
        code, _, err = invoke(capsys, "fit", "-w", ws, SPEC, "--out", out / "tables")
        assert code == 0, err
        assert (out / "tables" / "p004_table3.md").exists()
        # writing into the workspace: one message, exit 2, and what to do
        cases = {
            ("report",): "fix: write it elsewhere: --out DIR/report.html",
            ("fit", SPEC): "fix: write them elsewhere: --out DIR",
            ("export", "--panel", "city-year", "--out", ws / "cy.csv"): "cannot write export file",
            ("map", "--var", "collab_degree"): "choose a writable --out",
            ("metrics",): "copy it to a folder you can write (cp -r WS ~/WS)",
            ("load",): "copy it to a folder you can write (cp -r WS ~/WS)",
            ("query", "--write", "MATCH (c:City) RETURN count(c) AS n"): "copy it to a folder you can write",
            ("run",): "copy it to a folder you can write",
            ("ingest", ws / "raw" / "patents.csv", "--append"): "cannot write in the workspace",
        }
        for args, text in cases.items():
            code, _, err = invoke(capsys, args[0], "-w", ws, *args[1:])
            assert code == 2, (args, err)
            assert text in err and err.count("error:") == 1, (args, err)
    assert _digest(ws) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="a bind mount needs root; as another user chmod a-w is the same test")
def test_a_read_only_mount_as_root(ws, tmp_path):
    """The workspace bind-mounted read-only (EROFS, which stops root too) for one subprocess each."""
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'

    def run(*args) -> subprocess.CompletedProcess:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(ws),
                               sys.executable, "-m", "citynet", *map(str, args)], capture_output=True, text=True,
                              timeout=600)

    got = run("query", "-w", ws, "--format", "json", "MATCH (c:City) RETURN count(c) AS n")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == [{"n": len(pd.read_parquet(ws / "canonical" / "cities.parquet"))}]
    for args, text in ((("metrics", "-w", ws), "Read-only file system"),
                       (("report", "-w", ws), "read-only file system on"),
                       (("run", "-w", ws), "Read-only file system")):
        got = run(*args)
        assert got.returncode == 2 and text in got.stderr, (args, got.stderr)
        assert "Traceback" not in got.stderr and got.stderr.count("error:") == 1, (args, got.stderr)


def test_a_read_only_workspace_whose_store_is_neo4j(tmp_path, capsys, neo4j_clean):
    """The store is the server's, not the workspace's: reading works as with the embedded store (query from the
    server, fit from the panels); ``metrics`` is refused before any work — it used to write the filter's city
    projections into the server and only then fail to publish the panels; ``load`` writes only the server, so it
    works, and the workspace's bytes stay the same. Expected counts: the canonical Parquet files (pandas) and the
    server's own count of projection edges (a Cypher query through the driver)."""
    from bench.canonical_synth import synth_tables, write_tables

    ws = tmp_path / "ws"
    write_tables(synth_tables(200, seed=2, years=(2010, 2011), n_cities=10), ws / "canonical")
    s = neo4j_clean
    (ws / "citynet.toml").write_text(f'[store]\nbackend = "neo4j"\nuri = "{s.uri}"\nuser = "{s.user}"\n'
                                     f'password = "{s.password}"\n', encoding="utf-8")
    assert exit_code("-q", "load", "-w", ws) == 0
    assert exit_code("-q", "metrics", "-w", ws) == 0

    def y02_edges() -> int:
        with s.driver() as d:
            return d.execute_query("MATCH ()-[r:COLLABORATED]->() WHERE r.network STARTS WITH 'invention.y02' "
                                   "RETURN count(r) AS n").records[0]["n"]

    cities = len(pd.read_parquet(ws / "canonical" / "cities.parquet"))
    city_year = pd.read_parquet(ws / "metrics" / "city_year.parquet")
    before = _digest(ws)
    with read_only(ws):
        _reads(capsys, ws, cities, len(city_year))
        code, _, err = invoke(capsys, "metrics", "-w", ws, "--green", "y02")
        assert code == 2 and err.count("error:") == 1, err
        assert "cannot write in the workspace" in err and "copy it to a folder you can write (cp -r WS ~/WS)" in err
        assert y02_edges() == 0  # refused before it wrote anything into the server
        code, _, err = invoke(capsys, "-q", "load", "-w", ws)
        assert code == 0, err
    assert _digest(ws) == before
