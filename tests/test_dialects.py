"""Export dialects: each vendor's header row (fixtures written from the vendor's field list) is recognised,
named in reports/ingest.json, and its records load; an unknown layout still gets the clear message."""

import json
from pathlib import Path

import pandas as pd
import pytest
from citynet.etl.headers import PATENT_FIELDS, PATENT_REQUIRED, detect_dialect, header_key, resolve_columns
from citynet.etl.pipeline import ingest

from citynet.errors import DataError
from citynet.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "dialects"
LOADABLE = ["cnipa", "incopat", "patsnap_zh", "patsnap_en", "wanfang", "cnki", "soopat", "lens"]


def test_cnki_detailed_text_export_gives_the_tables_of_its_csv(tmp_path):
    """CNKI's "detailed" text export (blocks of ``Key-标签: value`` lines, a blank line between records), in
    GB18030, written here from the CNKI fixture's records, with a line break in an abstract and a block that
    starts without a tag: the CNKI CSV's tables; the broken block quarantined at its line (read = loaded +
    quarantined). It was read as a CSV whose header was 'SrcDatabase-来源库: 中国专利'."""
    import csv

    with open(FIXTURES / "cnki.csv", encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    blocks = ["\n".join(f"{h}: {v}" for h, v in zip(header, r, strict=True)) for r in rows]
    blocks[0] = blocks[0].replace("Summary-摘要: 本发明", "Summary-摘要: 本发明\n涉及燃料电池")
    broken = "燃料电池 (a record pasted without its tags)\nApplyNum-申请号: CN201510999999.1"
    lines_before_broken = sum(b.count("\n") + 2 for b in blocks)
    text = "\n\n".join([*blocks, broken]).replace("\n", "\r\n") + "\r\n"
    (tmp_path / "cnki.txt").write_bytes(text.encode("gb18030"))
    ws_csv, ws_txt = (Workspace.open(tmp_path / n, create=True) for n in ("csv", "txt"))
    ingest(ws_csv, [FIXTURES / "cnki.csv"])
    f = ingest(ws_txt, [tmp_path / "cnki.txt"])["files"][0]
    assert (f["dialect"], f["rows_read"], f["rows_loaded"], f["rows_quarantined"]) == ("cnki", 3, 2, 1)
    assert f["encoding"] == "cnki tagged (gb18030)"
    q = pd.read_csv(ws_txt.quarantine / "patents__cnki.csv", dtype=str)
    assert q["reason_code"].tolist() == ["malformed_row"] and q["source_row"].tolist() == [str(lines_before_broken + 1)]
    for name in ("patents", "applicants", "patent_applicants"):
        a = pd.read_parquet(ws_csv.canonical / f"{name}.parquet")
        b = pd.read_parquet(ws_txt.canonical / f"{name}.parquet")
        cols = [c for c in a.columns if c not in ("source_file", "source_row")]
        pd.testing.assert_frame_equal(a[cols], b[cols])


def test_header_key_drops_cnki_english_key():
    assert header_key("Title-题名") == "题名"
    assert header_key("公开（公告）号") == "公开(公告)号"
    assert header_key("Application Number") == "applicationnumber"


@pytest.mark.parametrize("dialect", LOADABLE)
def test_each_dialect_recognised_and_loaded(tmp_path, dialect):
    ws = Workspace.open(tmp_path / "ws", create=True)
    report = ingest(ws, [FIXTURES / f"{dialect}.csv"])
    f = report["files"][0]
    assert f["dialect"] == dialect
    assert f["rows_read"] == 2 and f["rows_loaded"] == 2, f
    saved = json.loads((ws.reports / "ingest.json").read_text(encoding="utf-8"))
    assert saved["files"][0]["dialect"] == dialect
    p = pd.read_parquet(ws.canonical / "patents.parquet").sort_values("patent_id")
    assert p["ipc_main"].tolist() == ["H01M 8/04", "F03D 1/06"]
    assert list(p["ipc"].iloc[0]) == ["H01M 8/04", "H04L 9/06"]
    if dialect != "lens":  # Lens exports carry no applicant address
        apps = pd.read_parquet(ws.canonical / "applicants.parquet").set_index("name")
        assert apps.loc["苏州绿能有限公司", "city_code"] == "320500"


def test_google_patents_csv_recognised_with_one_clear_message(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    with pytest.raises(DataError) as e:
        ingest(ws, [FIXTURES / "google_patents.csv"])
    assert "Google Patents CSV" in str(e.value) and "application number" in str(e.value)


def test_unknown_layout_is_generic_and_still_explained():
    headers = ["No", "Date", "Who", "Class"]
    assert detect_dialect(headers) == "generic"
    with pytest.raises(DataError) as e:
        resolve_columns(headers, PATENT_FIELDS, PATENT_REQUIRED, source="x.csv")
    assert "unrecognised header layout" in str(e.value)
