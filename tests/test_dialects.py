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
