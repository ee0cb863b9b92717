"""The whole command-line chain twice, as a user runs it, gives the same outputs to the last digit.

The project's rule: the same inputs give the same outputs whatever the hash seed, thread count or run
order. Two workspaces from the same small synthetic export, each chain in its own processes:

- A: ``PYTHONHASHSEED=0``, ``[ingest] workers = 1``, one BLAS thread; the default filter's panels first;
- B: ``PYTHONHASHSEED=1``, ``[ingest] workers = 2``; another filter's panels first.

Then ``load`` → ``metrics`` (two filters) → ``export`` (every format) → ``map`` → ``report``. The panels,
exports and maps must be byte-identical, the reports identical but for their time stamps and workspace.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

OTHER = "all.all.all"  # every patent: a denser collaboration network than the default filter's


def _citynet(env: dict, *args) -> None:
    res = subprocess.run([sys.executable, "-m", "citynet", "-q", *map(str, args)], env=env, capture_output=True,
                         text=True)
    assert res.returncode == 0, (args, res.stderr[-2000:])


def _chain(root: Path, raw: Path, hash_seed: str, workers: int, other_first: bool, env_extra: dict) -> Path:
    ws = root / "ws"
    ws.mkdir(parents=True)
    (ws / "citynet.toml").write_text(f"[ingest]\nworkers = {workers}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, **env_extra}
    out = root / "out"
    out.mkdir()
    _citynet(env, "ingest", "-w", ws, raw / "patents.csv", "--transfers", raw / "transfers.csv",
             "--covariates", raw / "covariates.csv")
    _citynet(env, "load", "-w", ws)
    runs = [[], ["--network", OTHER]]
    for extra in (runs[::-1] if other_first else runs):
        _citynet(env, "metrics", "-w", ws, *extra)
    for panel, fmt in (("city-year", "csv"), ("city-year", "dta"), ("city-year", "xlsx"), ("dyad-year", "dta")):
        _citynet(env, "export", "-w", ws, "--panel", panel, "--out", out / f"{panel}.{fmt}")
    _citynet(env, "map", "-w", ws, "--network", OTHER, "--var", "collab_eigenvector_w", "--out", out / "var.png")
    _citynet(env, "map", "-w", ws, "--network", OTHER, "--edges", "collab", "--out", out / "edges.png")
    _citynet(env, "report", "-w", ws, "--network", OTHER, "--permutations", "19", "--out", out / "report.html")
    return ws


def _report_text(path: Path, ws: Path) -> str:
    """The report without what names the run: its time stamps and the workspace's folder."""
    text = path.read_text(encoding="utf-8").replace(str(ws), "WS").replace(ws.name, "WS")
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", "TIME", text)


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    root = tmp_path_factory.mktemp("determinism_chain")
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    _citynet(env, "synth", root / "s", "--patents", 1000, "--seed", 11)
    raw = root / "s" / "raw"
    a = _chain(root / "a", raw, "0", 1, False, {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    b = _chain(root / "b", raw, "1", 2, True, {})
    return a, b


def _files(ws: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes() for p in sorted(ws.rglob(pattern))}


def test_the_canonical_tables_and_panels_are_byte_identical(chains):
    a, b = chains
    for pattern in ("canonical/*.parquet", "metrics/**/*.parquet"):
        fa, fb = _files(a, pattern), _files(b, pattern)
        assert fa and fa.keys() == fb.keys()
        assert [k for k in fa if fa[k] != fb[k]] == []


def test_the_exports_and_maps_are_byte_identical(chains):
    a, b = (ws.parent / "out" for ws in chains)
    fa, fb = _files(a, "*.*"), _files(b, "*.*")
    fa.pop("report.html"), fb.pop("report.html")
    assert len(fa) == 6 and fa.keys() == fb.keys()
    assert [k for k in fa if fa[k] != fb[k]] == []


def test_the_reports_are_identical_but_for_their_time_stamps(chains):
    a, b = chains
    assert _report_text(a.parent / "out" / "report.html", a) == _report_text(b.parent / "out" / "report.html", b)
