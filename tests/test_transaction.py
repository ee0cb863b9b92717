"""The workspace changes as one transaction (citynet/transaction.py).

The kill test runs ``citynet ingest`` of a second corpus over a workspace holding a first one, and
SIGKILLs the process right after its Nth file event of the publication (CITYNET_FAULT=kill:N), for every
N until the command completes; after each kill the workspace must be exactly the first corpus or exactly
the second (every published file, the manifest, nothing else) and readers must accept it. A full disk
(CITYNET_FAULT=enospc:N) is one message, exit 1, and the same guarantee. Readers refuse a workspace whose
files were changed after the manifest was written, with the fix."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.fuzz_ingest import HEADERS, base_rows, to_csv
from citynet import transaction
from tests.cli import invoke


def _export(path: Path, seed: int, n: int) -> Path:
    rows = base_rows(random.Random(seed), n)
    rows.append(["", "20150101", "", "某公司", "", "H01M8/04", "H01M8/04", "", "发明公开", "", ""])  # quarantined
    path.write_bytes(b"\xef\xbb\xbf" + to_csv(HEADERS, rows).encode("utf-8"))
    return path


def _snapshot(ws: Path) -> dict[str, str]:
    """Every file of the workspace except the lock, with its hash."""
    out = {}
    for d, _, files in os.walk(ws):
        for f in files:
            p = Path(d) / f
            rel = str(p.relative_to(ws))
            if rel == ".citynet/lock":
                continue
            data = p.read_bytes()
            if rel == "reports/ingest.json":  # its "generated" time differs between two runs
                data = json.dumps({k: v for k, v in json.loads(data).items() if k != "generated"}).encode()
            if rel == "canonical/manifest.json":  # the load's digests: the files' mtimes differ between runs
                data = json.dumps(_without_mtimes(json.loads(data)), sort_keys=True).encode()
            out[rel] = hashlib.sha256(data).hexdigest()
    return out


def _ingest_cmd(ws: Path, export: Path) -> list[str]:
    return [sys.executable, "-m", "citynet", "-q", "ingest", "-w", str(ws), str(export)]


def _cli(capsys, *args) -> tuple[int, str]:
    code, _, err = invoke(capsys, *args)
    return code, err


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpora")
    a, b = _export(base / "a.csv", 1, 8), _export(base / "b.csv", 2, 11)
    ws_a = base / "ws_a"
    subprocess.run(_ingest_cmd(ws_a, a), check=True)
    ws_b = base / "ws_b"
    shutil.copytree(ws_a, ws_b)
    subprocess.run(_ingest_cmd(ws_b, b), check=True)
    snap_a, snap_b = _snapshot(ws_a), _snapshot(ws_b)
    strip = {k: v for k, v in snap_a.items() if k != ".citynet/manifest.json"}
    assert strip != {k: v for k, v in snap_b.items() if k != ".citynet/manifest.json"}
    return base, a, b, ws_a, snap_a, snap_b


def _without_mtimes(value):
    if isinstance(value, dict):
        return {k: _without_mtimes(v) for k, v in value.items() if k != "mtime_ns"}
    return value


def _same_state(snap: dict, ref: dict) -> bool:
    """Equal up to the manifest's id/time (the manifest itself is compared by its files)."""
    def files(s):
        return {k: v for k, v in s.items() if k != ".citynet/manifest.json"}
    return files(snap) == files(ref)


def test_kill_at_every_file_event_leaves_a_complete_state(corpora, tmp_path, capsys):
    base, a, b, ws_a, snap_a, snap_b = corpora
    outcomes = []
    for n in range(1, 200):
        ws = tmp_path / f"ws{n}"
        shutil.copytree(ws_a, ws)
        proc = subprocess.run(_ingest_cmd(ws, b), env={**os.environ, "CITYNET_FAULT": f"kill:{n}"},
                              capture_output=True, text=True)
        if proc.returncode == 0:
            assert _same_state(_snapshot(ws), snap_b)
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        # a reader (load's check) recovers and accepts the workspace; it is exactly A or exactly B
        transaction.verify_path(ws, ws / "canonical" / "cities.parquet")
        transaction.verify_workspace(ws)
        snap = _snapshot(ws)
        state = "A" if _same_state(snap, snap_a) else "B" if _same_state(snap, snap_b) else "mixed"
        outcomes.append(state)
        assert state != "mixed", (n, sorted(set(snap) ^ set(snap_b)))
        assert not any(k.startswith(".citynet/staging/") or k == ".citynet/journal.json" for k in snap)
        if n % 5 == 0:  # and the command re-run completes
            code, err = _cli(capsys, "-q", "ingest", "-w", str(ws), str(b))
            assert code == 0, err
            assert _same_state(_snapshot(ws), snap_b)
    assert len(outcomes) >= 10 and "A" in outcomes and "B" in outcomes  # kills before and after the switch


@pytest.mark.parametrize("n", [1, 3, 9, 12, 15])
def test_full_disk_is_one_message(corpora, tmp_path, capsys, monkeypatch, n):
    base, a, b, ws_a, snap_a, snap_b = corpora
    ws = tmp_path / "ws"
    shutil.copytree(ws_a, ws)
    monkeypatch.setenv("CITYNET_FAULT", f"enospc:{n}")
    monkeypatch.setattr(transaction, "_events", 0)
    code, err = _cli(capsys, "-q", "ingest", "-w", str(ws), str(b))
    if code == 0:
        return  # fewer events than n
    assert code == 1 and "no space left" in err and "fix:" in err and len(err.strip().splitlines()) == 2
    monkeypatch.delenv("CITYNET_FAULT")
    transaction.verify_workspace(ws)
    snap = _snapshot(ws)
    assert _same_state(snap, snap_a) or _same_state(snap, snap_b)
    assert not (ws / ".citynet" / "staging").exists() or not any((ws / ".citynet" / "staging").iterdir())


def test_readers_refuse_parts_that_do_not_belong_together(corpora, tmp_path, capsys):
    base, a, b, ws_a, snap_a, snap_b = corpora
    ws = tmp_path / "ws"
    shutil.copytree(ws_a, ws)
    # the scenario of the issue: an old table beside new ones
    other = tmp_path / "other"
    shutil.copytree(ws_a, other)
    assert _cli(capsys, "-q", "ingest", "-w", str(other), str(b))[0] == 0
    shutil.copy(other / "canonical" / "patents.parquet", ws / "canonical" / "patents.parquet")
    code, err = _cli(capsys, "load", "-w", str(ws))
    assert code == 3 and "patents.parquet" in err and "citynet ingest" in err and len(err.strip().splitlines()) == 2
    # a truncated covariates-like damage: one message naming the file
    (ws / "canonical" / "patents.parquet").write_bytes(b"PAR1")
    code, err = _cli(capsys, "load", "-w", str(ws))
    assert code == 3 and "patents.parquet" in err
    # a missing canonical file
    shutil.copytree(ws_a, tmp_path / "ws2")
    (tmp_path / "ws2" / "canonical" / "citations.parquet").unlink()
    code, err = _cli(capsys, "load", "-w", str(tmp_path / "ws2"))
    assert code == 3 and "citations.parquet" in err and "missing" in err


def test_manifest_records_hashes_command_time(corpora):
    base, a, b, ws_a, snap_a, snap_b = corpora
    m = json.loads((ws_a / ".citynet" / "manifest.json").read_text(encoding="utf-8"))
    entry = m["units"]["ingest"]
    assert "ingest" in entry["command"] and entry["time"].endswith("Z")
    for rel, f in entry["files"].items():
        assert hashlib.sha256((ws_a / rel).read_bytes()).hexdigest() == f["sha256"]
    assert {"canonical/patents.parquet", "reports/ingest.json"} <= set(entry["files"])
    assert any(r.startswith("quarantine/") for r in entry["files"])
    assert pd.read_parquet(ws_a / "canonical" / "patents.parquet").shape[0] == 8


def test_two_writers_one_refusal(tmp_path):
    with transaction.write_lock(tmp_path, "citynet ingest (test)"), \
            pytest.raises(transaction.WorkspaceBusy, match="busy: citynet ingest"), \
            transaction.publish(tmp_path, "ingest", owned=["canonical"]):
        pass


def test_metrics_unit_switch_under_kill(tmp_path):
    """The panels of one filter: three files published together; kill at every event of a re-publish."""
    script = (
        "import sys; from pathlib import Path; from citynet import transaction as t\n"
        "root = Path(sys.argv[1]); tag = sys.argv[2]\n"
        "with t.publish(root, 'panels:metrics', owned=['metrics/city_year.parquet', 'metrics/dyad_year.parquet',"
        " 'metrics/network_year.parquet']) as tx:\n"
        "    for n in ('city_year', 'dyad_year', 'network_year'):\n"
        "        tx.stage(root / 'metrics' / f'{n}.parquet').write_text(tag + n)\n"
    )
    first = tmp_path / "first"
    subprocess.run([sys.executable, "-c", script, str(first), "old"], check=True)
    for n in range(1, 60):
        ws = tmp_path / f"m{n}"
        shutil.copytree(first, ws)
        proc = subprocess.run([sys.executable, "-c", script, str(ws), "new"],
                              env={**os.environ, "CITYNET_FAULT": f"kill:{n}"})
        transaction.verify(ws, "panels:metrics")
        tags = {(ws / "metrics" / f"{p}.parquet").read_text()[:3] for p in ("city_year", "dyad_year", "network_year")}
        assert len(tags) == 1, (n, tags)  # never two runs' panels side by side
        if proc.returncode == 0:
            assert tags == {"new"}
            break


@pytest.mark.parametrize("content,suffix", [(b"PK\x03\x04garbage", ".xlsx"), (b"\xff\xfe\x00garbage,,\n", ".csv"),
                                            (b"not stata", ".dta")])
def test_unreadable_covariate_file_is_one_message(corpora, tmp_path, capsys, content, suffix):
    base, a, b, ws_a, snap_a, snap_b = corpora
    ws = tmp_path / "ws"
    shutil.copytree(ws_a, ws)
    cov = tmp_path / f"cov{suffix}"
    cov.write_bytes(content)
    code, err = _cli(capsys, "-q", "ingest", "-w", str(ws), str(b), "--covariates", str(cov))
    assert code == 3 and str(cov) in err and "fix:" in err and len(err.strip().splitlines()) == 2
    assert _same_state(_snapshot(ws), snap_a)  # nothing half-written


def test_readers_hash_each_file_once_and_see_a_changed_one(corpora, tmp_path, monkeypatch):
    """The verified-digest cache: the first check hashes every file of the unit, the next hashes none
    (and reads and writes the cache once per check, not once per file), a file rewritten afterwards is
    hashed again and refused."""
    base, a, b, ws_a, snap_a, snap_b = corpora
    ws = tmp_path / "ws"
    shutil.copytree(ws_a, ws)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    hashed, reads, saves = [], [], []
    real_sha, real_read, real_save = transaction.sha256, transaction._verified_cache, transaction._save_verified
    monkeypatch.setattr(transaction, "sha256", lambda p: hashed.append(Path(p).name) or real_sha(p))
    monkeypatch.setattr(transaction, "_verified_cache", lambda r: reads.append(1) or real_read(r))
    monkeypatch.setattr(transaction, "_save_verified", lambda f, c: saves.append(1) or real_save(f, c))
    n_files = len(transaction.read_manifest(ws)["units"]["ingest"]["files"])
    transaction.verify(ws, "ingest")
    assert len(hashed) == n_files > 3 and (len(reads), len(saves)) == (1, 1)
    hashed.clear()
    transaction.verify(ws, "ingest")
    assert hashed == [] and (len(reads), len(saves)) == (2, 1)  # nothing new: the cache is not rewritten
    p = ws / "canonical" / "patents.parquet"
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, new content and modification time
    p.write_bytes(bytes(data))
    with pytest.raises(transaction.UserError, match="patents.parquet"):
        transaction.verify(ws, "ingest")
    assert hashed == ["patents.parquet"]
