"""What ``citynet ingest`` says about the files it wrote and the rows it set apart, checked through the command
line on hand-made exports (expected values from the rows written here, or read back with pandas)."""

from __future__ import annotations

import json

import pandas as pd

from tests.cli import invoke
from tests.test_etl_ingest import BAD, GOOD, write_csv


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_last_line_names_quarantine_files_only_when_rows_were_quarantined(tmp_path, capsys):
    """A clean export: no quarantine file is written, and the last line says so (it named quarantine/, a folder
    that did not exist). An export with bad rows: the line names the file written and the rows set apart."""
    clean = write_csv(tmp_path / "clean.csv", GOOD)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", clean)
    assert code == 0, err
    assert not (tmp_path / "ws" / "quarantine").exists()
    assert "; no row quarantined" in _one_line(err), err
    assert "quarantine/" not in err

    mixed = write_csv(tmp_path / "mixed.csv", GOOD + BAD)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws2", mixed)
    assert code == 0, err
    written = tmp_path / "ws2" / "quarantine" / "patents__mixed.csv"
    assert len(pd.read_csv(written, dtype=str)) == len(BAD)
    assert f"; {len(BAD)} rows quarantined, with the reason of each: {written}" in _one_line(err), err
    report = json.loads((tmp_path / "ws2" / "reports" / "ingest.json").read_text(encoding="utf-8"))
    assert report["quarantine_files"] == ["quarantine/patents__mixed.csv"]
