"""Byte-order marks on Chinese CSV exports, through ``citynet ingest`` on hand-made files: GBK text behind a UTF-8
byte-order mark (a tool that prefixed the mark to a GBK export) was refused as an 'unrecognised header layout' with
the header shown as escaped bytes; it is read as GB18030 after the mark, the tables those of the same records in
UTF-8. A UTF-8 export with a bad byte stays UTF-8 (its record quarantined), and GB18030's own mark still reads."""

from __future__ import annotations

import codecs
import json

import pandas as pd
import pytest

from tests.cli import invoke
from tests.test_etl_ingest import GOOD, HEADERS

TABLES = ("patents", "applicants", "patent_applicants")


def _text(rows, blank: bool = False) -> str:
    lines = [",".join(r) for r in [HEADERS, *rows]]
    if blank:
        lines.insert(2, "")  # a blank line: the careful reader
    return "\r\n".join(lines) + "\r\n"


def _tables(ws) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(ws / "canonical" / f"{t}.parquet").drop(columns=["source_file"], errors="ignore")
            for t in TABLES}


def _entry(ws) -> dict:
    return json.loads((ws / "reports" / "ingest.json").read_text(encoding="utf-8"))["files"][0]


@pytest.mark.parametrize("blank", [False, True])
def test_gbk_behind_a_utf8_byte_order_mark(tmp_path, capsys, blank):
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(_text(GOOD, blank).encode("utf-8"))
    gbk = tmp_path / "gbk_bom.csv"
    gbk.write_bytes(codecs.BOM_UTF8 + _text(GOOD, blank).encode("gbk"))
    for path in (utf8, gbk):
        code, _, err = invoke(capsys, "ingest", "-w", tmp_path / path.stem, path)
        assert code == 0, err
    for t, want in _tables(tmp_path / "utf8").items():
        pd.testing.assert_frame_equal(_tables(tmp_path / "gbk_bom")[t], want, obj=t)
    entry = _entry(tmp_path / "gbk_bom")
    assert entry["encoding"] == "gb18030-utf8bom" and entry["rows_read"] == entry["rows_loaded"] == len(GOOD)
    assert pd.read_parquet(tmp_path / "gbk_bom" / "canonical" / "patents.parquet")["patent_id"].notna().all()


def test_a_utf8_export_with_a_bad_byte_stays_utf8(tmp_path, capsys):
    """One record with a byte that is not UTF-8 (a damaged copy) in a UTF-8 export with its mark: still read as
    UTF-8, that record quarantined (bad_encoding), the others loaded — never the whole file as GB18030."""
    data = codecs.BOM_UTF8 + _text(GOOD).encode("utf-8")
    at = data.index(GOOD[2][3].encode("utf-8"))  # 张伟: its record's applicant
    path = tmp_path / "bad_byte.csv"
    path.write_bytes(data[:at] + b"\xff" + data[at:])
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 0, err
    entry = _entry(tmp_path / "ws")
    assert entry["encoding"] == "utf-8-sig"
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (len(GOOD), len(GOOD) - 1, 1)
    q = pd.read_csv(tmp_path / "ws" / "quarantine" / "patents__bad_byte.csv", dtype=str)
    assert q[["source_row", "reason_code"]].values.tolist() == [["4", "bad_encoding"]]


def test_gb18030s_own_byte_order_mark(tmp_path, capsys):
    path = tmp_path / "gb_bom.csv"
    path.write_bytes("\ufeff".encode("gb18030") + _text(GOOD).encode("gbk"))
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 0, err
    assert _entry(tmp_path / "ws")["rows_loaded"] == len(GOOD)
