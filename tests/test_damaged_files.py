"""Damaged workspace files are one message from every reader (citynet/transaction.py ``check_parquet``).

A panel (``metrics/…``) or a canonical table that is truncated, not Parquet at all, or has a damaged page
— in a workspace with its manifest (the hashes catch it) and in one without (a workspace written by
hand or by an older citynet: the footer, and for the panels and small tables every page, is read
first) — makes ``fit``, ``report``, ``map``, ``export`` and ``metrics --years`` print one message naming
the file and the command that writes it again, exit 3 (bad input data), never a pyarrow traceback.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fuzz_ingest import HEADERS, base_rows, to_csv
from tests.cli import invoke

KEY = "invention.wipo.all"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    base = tmp_path_factory.mktemp("damaged")
    export = base / "patents.csv"
    export.write_bytes(to_csv(HEADERS, base_rows(random.Random(7), 60)).encode("utf-8"))
    cov = base / "covariates.csv"
    cov.write_text("city_code,year,gdp\n" + "".join(f"{c},{y},{1 + (y % 7)}\n" for c in
                                                   ("320100", "320500", "330100", "110000")
                                                   for y in range(2008, 2020)), encoding="utf-8")
    ws = base / "ws"
    for args in (["ingest", "-w", ws, export, "--covariates", cov], ["load", "-w", ws], ["metrics", "-w", ws]):
        proc = subprocess.run([sys.executable, "-m", "citynet", "-q", *map(str, args)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    return ws


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _garbage(data: bytes) -> bytes:
    return b"this is not a parquet file\n" * 3


def _page(data: bytes) -> bytes:  # the header magic and the footer intact, the first pages damaged
    b = bytearray(data)
    for i in range(8, len(b) // 3, 3):
        b[i] ^= 0x5A
    return bytes(b)


DAMAGE = {"truncated": _truncate, "garbage": _garbage, "damaged page": _page}
TARGETS = {  # what is damaged → the command that writes it again
    "panel": (["metrics/city_year.parquet", f"metrics/{KEY}/city_year.parquet"], "citynet metrics"),
    "covariates": (["canonical/covariates.parquet"], "citynet ingest"),
    "cities": (["canonical/cities.parquet"], "citynet ingest"),
}


def _readers(ws: Path, out: Path) -> dict[str, list]:
    return {
        "fit": ["fit", "-w", ws, "--formula", "green_patents ~ collab_degree | city_code + year"],
        "report": ["report", "-w", ws, "--permutations", "0", "--out", out / "r.html"],
        "map": ["map", "-w", ws, "--var", "collab_degree", "--year", "2015", "--out", out / "m.png"],
        "export": ["export", "-w", ws, "--panel", "city-year", "--format", "csv", "--out", out / "x.csv"],
        "metrics": ["metrics", "-w", ws, "--years", "2012-2013"],
    }


@pytest.mark.parametrize("manifest", [True, False], ids=["with manifest", "without manifest"])
@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("target", list(TARGETS))
def test_every_reader_names_the_damaged_file(workspace, tmp_path, capsys, target, damage, manifest):
    ws = tmp_path / "ws"
    shutil.copytree(workspace, ws)
    if not manifest:
        (ws / ".citynet" / "manifest.json").unlink()
    files, producer = TARGETS[target]
    for rel in files:
        p = ws / rel
        p.write_bytes(DAMAGE[damage](p.read_bytes()))
    for reader, args in _readers(ws, tmp_path).items():
        code, out, err = invoke(capsys, *args)  # invoke() fails on any traceback
        lines = err.strip().splitlines()
        assert code == 3, (reader, code, err)
        assert len(lines) == 2 and lines[0].startswith("error:") and lines[1].strip().startswith("fix:"), (reader, err)
        assert any(str(ws / rel) in lines[0] for rel in files), (reader, err)
        assert producer in lines[1], (reader, err)
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "r.html").exists()  # nothing half-written


@pytest.mark.parametrize("fmt", ["csv", "parquet", "dta"])
def test_full_disk_during_export_is_one_message_and_no_file(workspace, tmp_path, capsys, monkeypatch, fmt):
    out = tmp_path / f"panel.{fmt}"
    out.write_bytes(b"an earlier export")
    from citynet import transaction

    monkeypatch.setattr(transaction, "_events", 0)  # the count of one process's file events
    monkeypatch.setenv("CITYNET_FAULT", "enospc:1")  # the disk refuses the export's write
    code, _, err = invoke(capsys, "export", "-w", workspace, "--panel", "city-year", "--format", fmt, "--out", out)
    assert code == 1 and "no space left" in err and str(out) in err and len(err.strip().splitlines()) == 2, err
    assert out.read_bytes() == b"an earlier export" and sorted(tmp_path.iterdir()) == [out]  # nothing half-written
