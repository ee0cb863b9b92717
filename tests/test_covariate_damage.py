"""A covariate cell holding a NUL character (byte 00 of a CSV, ``_x0000_`` of an .xlsx cell, a Stata strL's) is
damage, as in a patent export (docs/reliability.md "Damaged exports"): the record is quarantined as
``nul_character``, field ``(record)``, its text shown with ``\\x00``, at the row a spreadsheet shows; the other rows
load, rows read = loaded + quarantined (docs/configuration.md §3, docs/methods.md §1.7). Before, it loaded: a code
``320100\\x00`` as 南京, a value ``1\\x002`` as missing (counted only among cells that are not numbers), a year
``20\\x0015`` as ``bad_year``. Every expected row below is worked out by hand from the file as written."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from citynet.etl.covariates import load_covariates
from citynet.etl.normalize import app_number_check_digit
from citynet.etl.quarantine import Quarantine

from citynet.errors import DataError
from tests.cli import invoke

REASON = "the record contains a NUL character (shown as \\x00)"
# rows as a spreadsheet numbers them: header 1, 320100 on 2, the blank line 3, 320500 on 4, 330100 on 5, 110000 on 6
CSV_LINES = ["city_code,year,gdp", "320100\x00,2015,1.5", "", "320500,2015,2\x005", "330100,2015,3.5",
             "110000,20\x0015,4.5"]
WANT_QUARANTINE = [  # (row, field, reason_code, raw_text): the record's line, NUL shown as \x00
    (2, "(record)", "nul_character", "320100\\x00,2015,1.5"),
    (4, "(record)", "nul_character", "320500,2015,2\\x005"),
    (6, "(record)", "nul_character", "110000,20\\x0015,4.5"),
]


def _quarantined(q: Quarantine) -> list[tuple]:
    t = q.table()
    return [(int(r), f, c, x) for r, f, c, x in zip(t["source_row"], t["field"], t["reason_code"], t["raw_text"],
                                                   strict=True)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_nul_in_a_csv_cell_is_quarantined_as_in_an_export(tmp_path, encoding):
    path = tmp_path / "cov.csv"
    path.write_bytes(("\r\n".join(CSV_LINES) + "\r\n").encode(encoding))
    q = Quarantine()
    table, report = load_covariates(path, q)
    assert table.to_dict("records") == [{"city_code": "330100", "year": 2015, "gdp": 3.5}]
    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"]) == (4, 1, 3)
    assert _quarantined(q) == WANT_QUARANTINE
    assert set(q.table()["reason"]) == {REASON}
    assert report["not_numbers"] == {}  # the value with a NUL is not left missing among the loaded rows


def _xlsx_with(tmp_path: Path, rows: list[list]) -> Path:
    """An .xlsx of ``rows`` whose text ``ZZZ`` is written ``_x0000_`` (how Office XML stores the character 00)."""
    from openpyxl import Workbook

    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    plain = io.BytesIO()
    wb.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename).replace(b"ZZZ", b"_x0000_"))
    path = tmp_path / "cov.xlsx"
    path.write_bytes(out.getvalue())
    return path


def test_nul_in_a_workbook_cell_is_quarantined(tmp_path):
    path = _xlsx_with(tmp_path, [["城市", "年份", "gdp"], ["南京ZZZ", 2015, 1.5], ["苏州", 2015, "2ZZZ5"],
                                 ["杭州", 2015, 3.5]])
    q = Quarantine()
    table, report = load_covariates(path, q)
    assert table.to_dict("records") == [{"city_code": "330100", "year": 2015, "gdp": 3.5}]
    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"]) == (3, 1, 2)
    # a workbook's record is shown as its cells joined by a tab (as an HTML table's: etl/readers.py read_xls)
    assert _quarantined(q) == [(2, "(record)", "nul_character", "南京\\x00\t2015\t1.5"),
                               (3, "(record)", "nul_character", "苏州\t2015\t2\\x005")]


def test_nul_in_a_stata_strl_is_quarantined(tmp_path):
    path = tmp_path / "cov.dta"
    pd.DataFrame({"city": ["南京\x00x", "苏州"], "year": [2015, 2016], "gdp": [1.5, 2.5]}).to_stata(
        path, write_index=False, version=118, convert_strl=["city"])
    q = Quarantine()
    table, report = load_covariates(path, q)
    assert table.to_dict("records") == [{"city_code": "320500", "year": 2016, "gdp": 2.5}]
    assert _quarantined(q) == [(2, "(record)", "nul_character", "南京\\x00x\t2015\t1.5")]
    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"]) == (2, 1, 1)


def test_a_file_whose_every_record_holds_a_nul_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "cov.csv"
    path.write_bytes(b"city_code,year,gdp\n320100,2015,1\x00\n320500,2015,\x002\n")
    with pytest.raises(DataError) as exc:
        load_covariates(path, Quarantine())
    assert str(exc.value).endswith("no row of the covariate file could be loaded (2 nul_character; "
                                   "e.g. row 2: '320100,2015,1\\\\x00')")
    assert "NUL" in exc.value.fix and "separator" not in exc.value.fix


def test_the_cli_quarantines_the_nul_record(tmp_path, capsys):
    export = tmp_path / "export.csv"
    digits = "201510000001"
    with open(export, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["申请号", "申请日", "授权公告日", "申请人", "申请人地址", "主分类号", "分类号", "国省代码", "专利类型",
                    "引证专利", "公开（公告）号"])
        w.writerow([f"CN{digits}.{app_number_check_digit(digits)}", "20150312", "0", "南京南瑞科技有限公司",
                    "210000江苏省南京市玄武区中山路1号", "H01M8/04", "H01M8/04", "江苏(32)", "发明公开", "", ""])
    cov = tmp_path / "cov.csv"
    cov.write_bytes("\n".join(CSV_LINES).encode("utf-8") + b"\n")
    ws = tmp_path / "ws"
    code, _, err = invoke(capsys, "-q", "ingest", "-w", ws, export, "--covariates", cov)
    assert code == 0, err
    q = pd.read_csv(ws / "quarantine" / "covariates__cov.csv", dtype=str, keep_default_na=False,
                    encoding="utf-8-sig")
    assert [tuple(r) for r in q[["source_row", "field", "reason_code", "raw_text"]].itertuples(index=False)] == [
        (str(r), f, c, x) for r, f, c, x in WANT_QUARANTINE]
    assert b"\x00" not in (ws / "quarantine" / "covariates__cov.csv").read_bytes()
    assert pd.read_parquet(ws / "canonical" / "covariates.parquet").to_dict("records") == [
        {"city_code": "330100", "year": 2015, "gdp": 3.5}]


def test_nul_in_an_html_table_named_xls_is_quarantined(tmp_path):
    """An HTML table named .xls (§2.5): lxml, as the HTML standard has it, turned the byte 00 into U+FFFD, so
    '320100\\x00' loaded as 南京 (its first 6 digits) and '1\\x002' was left missing — now the record is
    quarantined as nul_character, as in a CSV."""
    page = ("<html><head><meta charset='utf-8'></head><body><table>"
            "<tr><th>city_code</th><th>year</th><th>gdp</th></tr>"
            "<tr><td>320100\x00</td><td>2015</td><td>1.5</td></tr>"
            "<tr><td>320500</td><td>2015</td><td>1\x002</td></tr>"
            "<tr><td>330100</td><td>2015</td><td>3.5</td></tr></table></body></html>")
    path = tmp_path / "cov.xls"
    path.write_bytes(page.encode("utf-8"))
    q = Quarantine()
    table, report = load_covariates(path, q)
    assert table.to_dict("records") == [{"city_code": "330100", "year": 2015, "gdp": 3.5}]
    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"]) == (3, 1, 2)
    assert _quarantined(q) == [(2, "(record)", "nul_character", "320100\\x00\t2015\t1.5"),
                               (3, "(record)", "nul_character", "320500\t2015\t1\\x002")]
    # the reader is the patent exports' too (etl/readers.py read_xls): the same records set apart there
    from citynet.etl.readers import read_xls

    assert [(row, code) for row, _, code in read_xls(path).malformed] == [(2, "nul_character"), (3, "nul_character")]
