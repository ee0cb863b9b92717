"""A killed ``citynet demo`` leaves the previous state usable (citynet/demo.py through citynet/transaction.py).

A first demo (seed 1) makes workspace A; a second demo (seed 2) over a copy of A is SIGKILLed right after
its Nth file event (CITYNET_FAULT=kill:N) — the events are listed once by a full run with
CITYNET_FAULT=log:FILE, and the kills aim at the first and the last event of every stage's
publication (synth, ingest, load, both panel folders). After each kill every published unit of the
workspace is exactly A's or exactly B's (never a mix), readers accept it, and the store either answers or
refuses with the safe fix (`citynet load`), after which it answers again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from citynet import transaction
from tests.cli import invoke

DEMO = ("import sys; from citynet.demo import run_demo; "
        "run_demo(sys.argv[1], patents=1000, seed=int(sys.argv[2]), specs=[])")


def _demo(ws: Path, seed: int, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CITYNET_FAULT": fault} if fault else {k: v for k, v in os.environ.items()
                                                                  if k != "CITYNET_FAULT"}
    return subprocess.run([sys.executable, "-c", DEMO, str(ws), str(seed)], env=env, capture_output=True,
                          text=True, timeout=600)


def _digest(path: Path) -> str:
    if not path.is_file():
        return "missing"
    data = path.read_bytes()
    if path.name in ("ingest.json", "manifest.json"):  # the run's time and the staged files' mtimes differ
        data = json.dumps(_timeless(json.loads(data)), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def _timeless(value):
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in ("mtime_ns", "generated")}
    return value


def _units(ws: Path) -> dict[str, dict[str, str]]:
    """Per published unit, the digest of each of its files as it is on disk now."""
    return {unit: {rel: _digest(ws / rel) for rel in entry["files"]}
            for unit, entry in transaction.read_manifest(ws)["units"].items()}


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    ws_a = base / "a"
    proc = _demo(ws_a, 1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ws = base / "run"  # every second demo runs at this one path (the files record their source's path)
    shutil.copytree(ws_a, ws)
    log = base / "events.log"
    proc = _demo(ws, 2, f"log:{log}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [line.split("\t", 1) for line in log.read_text(encoding="utf-8").splitlines()]
    return ws_a, ws, _units(ws_a), _units(ws), [(int(n), what) for n, what in events]


def _targets(events: list[tuple[int, str]]) -> list[int]:
    """First and last event of each publication (a publication ends at 'delete journal'), and the
    load's start."""
    out, group = set(), []
    for n, what in events:
        group.append(n)
        if what in ("delete journal", "load started"):
            out |= {group[0], group[-1]}
            group = []
    return sorted(out)


def test_killed_demo_leaves_the_previous_state_usable(demos, tmp_path, capsys):
    ws_a, ws, units_a, units_b, events = demos
    assert any(w == "load started" for _, w in events)
    stages = {"synth", "ingest", "panels:metrics"}
    assert stages <= set(units_b)
    targets = _targets(events)
    assert len(targets) >= 8
    seen = {}
    for n in targets:
        shutil.rmtree(ws)
        shutil.copytree(ws_a, ws)
        proc = _demo(ws, 2, f"kill:{n}")
        assert proc.returncode == -signal.SIGKILL, (n, proc.returncode, proc.stderr[-2000:])
        transaction.recover(ws)  # what the next command does first
        transaction.verify_workspace(ws)  # readers accept it
        now = _units(ws)
        for unit, files in now.items():
            which = "A" if files == units_a.get(unit) else "B" if files == units_b.get(unit) else "mixed"
            assert which != "mixed", (n, unit)
            seen.setdefault(unit, set()).add(which)
        assert not (ws / ".citynet" / "journal.json").exists()
        # panels readable from the CLI
        code, _, err = invoke(capsys, "-q", "export", "-w", str(ws), "--panel", "city-year", "--format", "csv",
                              "--out", str(tmp_path / f"cy{n}.csv"))
        assert code == 0, (n, err)
        # the store answers, or refuses with the safe fix; after that fix it answers
        q = ["-q", "query", "-w", str(ws), "MATCH (p:Patent) RETURN count(p) AS n", "--format", "json"]
        code, out, err = invoke(capsys, *q)
        if code != 0:
            assert code == 4 and "citynet load" in err and "--rebuild" not in err, (n, err)
            code, _, err = invoke(capsys, "-q", "load", "-w", str(ws))
            assert code == 0, (n, err)
            code, out, err = invoke(capsys, *q)
        assert code == 0, (n, err)
        assert json.loads(out)[0]["n"] > 0
    for unit in stages:  # kills landed before and after each stage's switch
        assert seen[unit] == {"A", "B"}, (unit, seen[unit])


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path, capsys):
    """`citynet demo mystudy` (a study's workspace) replaced its citynet.toml and canonical tables with synthetic
    ones: now one message, exit 2 (README: usage), nothing touched. A missing or empty folder, and one holding
    only the template citynet.toml, are accepted (an earlier demo: test_killed_demo_leaves_the_previous_state_usable)."""
    from citynet.cli import main
    from citynet.commands.init import TEMPLATE

    study = tmp_path / "mystudy"
    (study / "canonical").mkdir(parents=True)
    (study / "citynet.toml").write_text('[columns]\napp_number = "申请号码"\n', encoding="utf-8")
    (study / "canonical" / "patents.parquet").write_bytes(b"PAR1 mine")
    before = {p: p.read_bytes() for p in study.rglob("*") if p.is_file()}
    with pytest.raises(SystemExit) as ex:
        main(["demo", str(study), "--patents", "1000"])
    err = capsys.readouterr().err
    assert ex.value.code == 2 and "is not empty and is not a demo workspace" in err and "Traceback" not in err, err
    assert {p: p.read_bytes() for p in study.rglob("*") if p.is_file()} == before
    from citynet.demo import refuse_foreign_folder

    (tmp_path / "empty").mkdir()
    (tmp_path / "template").mkdir()
    (tmp_path / "template" / "citynet.toml").write_text(TEMPLATE, encoding="utf-8")
    for ok in ("new", "empty", "template"):
        refuse_foreign_folder(tmp_path / ok)
