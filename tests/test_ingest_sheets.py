"""The sheets after the first of a patent workbook, through ``citynet ingest`` on hand-made workbooks: a sheet of
transfer records is read as transfers (it was left out without a word), a sheet of patent records with another
header stops the ingest, and any other sheet that holds something is named in a warning with its header."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from tests.cli import invoke
from tests.test_etl_ingest import BAD, GOOD, HEADERS, TITLE

TRANSFER_HEADERS = ["申请号", "转让人", "受让人", "生效日", "受让人地址"]
TRANSFERS = [
    [GOOD[1][0], "苏州绿能有限公司", "杭州新能科技有限公司", "20190101", "310000浙江省杭州市西湖区文三路1号"],
    [GOOD[0][0], "南京南瑞科技有限公司", "", "20190301", ""],  # no assignee: quarantined
    [GOOD[2][0], "张伟", "南京南瑞科技有限公司", "2019-05-06", ""],
]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _workbook(path, sheets: dict[str, list[list]]):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        sheet = wb.create_sheet(name)
        for r in rows:
            sheet.append(r)
    wb.save(path)
    return path


def _report(ws) -> dict:
    return json.loads((ws / "reports" / "ingest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("title", [False, True])
def test_a_sheet_of_transfer_records_is_read_as_transfers(tmp_path, capsys, title):
    """A patent workbook with the search's transfer records on a second sheet (below a title, too), a notes sheet
    and an empty one: the transfers are those of the same records given as a CSV with --transfers (compared
    with pandas), the sheet has its own line in the report (read = loaded + quarantined) and its quarantine rows
    its name and spreadsheet rows; the notes sheet is named with its header; the empty one is not mentioned."""
    top = TITLE if title else []
    book = _workbook(tmp_path / "export.xlsx", {
        "专利": [HEADERS, *GOOD, BAD[0]],
        "转让记录": [*top, TRANSFER_HEADERS, *TRANSFERS],
        "检索式": [["检索式"], ["AP=(南京) AND AD=[20150101 to 20161231]"]],
        "Sheet3": [],
    })
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", book)
    assert code == 0, err
    csv = tmp_path / "transfers.csv"
    pd.DataFrame(TRANSFERS, columns=TRANSFER_HEADERS).to_csv(csv, index=False)
    patents = tmp_path / "patents.xlsx"
    _workbook(patents, {"专利": [HEADERS, *GOOD, BAD[0]]})
    code, _, err_csv = invoke(capsys, "ingest", "-w", tmp_path / "ws_csv", patents, "--transfers", csv)
    assert code == 0, err_csv

    got = pd.read_parquet(tmp_path / "ws" / "canonical" / "transfers.parquet")
    want = pd.read_parquet(tmp_path / "ws_csv" / "canonical" / "transfers.parquet")
    assert len(got) == 2  # the hand-made records with an assignee
    pd.testing.assert_frame_equal(got, want)
    label = f"{book} (sheet 转让记录)"
    entry = next(f for f in _report(tmp_path / "ws")["files"] if f["file"] == label)
    assert (entry["kind"], entry["sheet"], entry["workbook"]) == ("transfers", "转让记录", str(book))
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (3, 2, 1) and entry["balanced"]
    header_row = len(top) + 1
    q = pd.read_csv(tmp_path / "ws" / "quarantine" / "transfers__export.csv", dtype=str)
    assert q[["source_file", "source_row", "reason_code"]].values.tolist() == [[label, str(header_row + 2),
                                                                                 "no_assignee"]]
    line = _one_line(err)
    assert "export.xlsx: sheet '转让记录' read as transfer records (its header names the transfer fields)" in line, line
    assert ("warning: export.xlsx: sheet '检索式' was not read (1 row below its header on row 1: 检索式): its header "
            "names neither the patent nor the transfer fields. If it holds records, save it as a file of its own") \
        in line, line
    assert "Sheet3" not in line
    patents_entry = _report(tmp_path / "ws")["files"][0]
    assert patents_entry["sheets_not_read"] == [{"sheet": "检索式", "header": ["检索式"], "header_row": 1, "rows": 1}]


def test_an_old_xls_workbook_with_a_transfer_sheet(tmp_path, capsys):
    """The same in an old .xls workbook (BIFF8, written by xlwt)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in (("专利", [HEADERS, *GOOD]), ("转让", [TRANSFER_HEADERS, *TRANSFERS])):
        sheet = book.add_sheet(name)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                sheet.write(i, j, value)
    path = tmp_path / "export.xls"
    book.save(str(path))
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 0, err
    assert len(pd.read_parquet(tmp_path / "ws" / "canonical" / "transfers.parquet")) == 2
    entry = _report(tmp_path / "ws")["files"][1]
    assert (entry["file"], entry["rows_read"], entry["rows_quarantined"]) == (f"{path} (sheet 转让)", 3, 1)


def test_patent_records_on_another_sheet_with_another_header_stop_the_ingest(tmp_path, capsys):
    """A second sheet of patent records under another header (another database's layout): one message naming
    the sheet, its rows and header (exit 3), nothing written; they would have been left out."""
    other = ["申请号", "申请日期", "申请（专利权）人", "IPC分类号"]
    book = _workbook(tmp_path / "two.xlsx", {
        "incoPat": [HEADERS, *GOOD],
        "CNIPA": [other, [GOOD[0][0], "2015-03-12", "甲公司", "H01M8/04"], [GOOD[1][0], "2015-04-01", "乙公司", "F03D1/06"]],
    })
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", book)
    assert code == 3, err
    line = _one_line(err)
    assert (f"error: {book}: patent records on other sheets than the first, with another header: 'CNIPA' (2 rows "
            "below its header on row 1: 申请号, 申请日期, 申请（专利权）人, IPC分类号)") in line, line
    assert "fix: save each sheet as a file of its own" in line
    assert not (tmp_path / "ws" / "canonical").exists()


def test_a_workbook_given_as_patents_and_as_transfers_says_its_sheet_is_read_with_it(tmp_path, capsys):
    book = _workbook(tmp_path / "export.xlsx", {"专利": [HEADERS, *GOOD], "转让": [TRANSFER_HEADERS, *TRANSFERS]})
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", book, "--transfers", book)
    assert code == 2, err
    assert (f"error: {book} is given twice (as patents and as transfers) fix: name each file once (a sheet of "
            "transfer records in a patent workbook is read with it: give the workbook once, as a patent export)") \
        in _one_line(err), err


def test_a_covariate_workbook_names_the_sheets_it_does_not_read(tmp_path, capsys):
    """A covariate workbook with a notes sheet, another table under its own header, an empty sheet and a hidden
    one: the first sheet is read (its values as pandas reads them), the others were passed over without a word;
    now one warning names every sheet that holds something (not the empty one), and the report lists them."""
    from tests.test_etl_ingest import write_csv

    first = [["城市", "年份", "gdp"], ["北京市", 2010, 1.5], ["上海市", 2010, 2.5]]
    book = _workbook(tmp_path / "cov.xlsx", {
        "数据": first,
        "说明": [["数据来源：中国城市统计年鉴"], ["单位：亿元"]],
        "人口": [["城市名称", "2010年人口"], ["北京市", 1961], ["上海市", 2302], ["南京市", 800]],
        "Sheet4": [],
    })
    wb = openpyxl.load_workbook(book)
    wb.create_sheet("隐藏").append(["x"])
    wb["隐藏"].sheet_state = "hidden"
    wb.save(book)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", write_csv(tmp_path / "export.csv", GOOD),
                          "--covariates", book)
    assert code == 0, err
    got = pd.read_parquet(tmp_path / "ws" / "canonical" / "covariates.parquet")
    want = pd.read_excel(book, sheet_name="数据")
    assert got["gdp"].tolist() == want["gdp"].tolist()
    line = _one_line(err)
    assert ("warning: cov.xlsx: 3 sheets not read: '说明' (1 row below its header on row 1: 数据来源：中国城市统计年鉴); "
            "'人口' (3 rows below its header on row 1: 城市名称, 2010年人口); '隐藏' (hidden in Excel, 0 rows below its "
            "header on row 1: x) — citynet reads the first sheet of a covariate workbook. If another sheet holds covariates, save it "
            "as a file of its own") in line, line
    assert line.count("not read") == 1 and "Sheet4" not in line
    cov = _report(tmp_path / "ws")["covariates"][0]
    assert [s["sheet"] for s in cov["sheets_not_read"]] == ["说明", "人口", "隐藏"]
    assert cov["sheets_not_read"][1] == {"sheet": "人口", "header": ["城市名称", "2010年人口"], "header_row": 1,
                                         "rows": 3}
    assert cov["sheets_not_read"][2]["hidden"] is True


@pytest.mark.parametrize("kind", ["patents", "covariates"])
def test_a_hidden_first_sheet_is_not_read_as_the_data(tmp_path, capsys, kind):
    """A workbook whose first sheet is hidden in Excel (an older copy of the records, a template) and whose
    visible sheet holds the data the user sees (under another header): citynet read the hidden sheet — for
    covariates without a word, for patents naming the visible sheet as not read.
    Now one message naming the hidden sheet and the sheets Excel shows (exit 3), nothing written."""
    from tests.test_etl_ingest import write_csv

    if kind == "patents":
        sheets = {"旧数据": [HEADERS, GOOD[0]], "汇总": [["年份", "件数"], [2015, 2]]}
        args = [None]
    else:
        sheets = {"旧数据": [["城市", "年份", "gdp"], ["北京市", 2010, 9.9]],
                  "数据": [["城市名称", "年度", "gdp"], ["北京市", 2010, 1.5], ["上海市", 2010, 2.5]]}
        args = [write_csv(tmp_path / "export.csv", GOOD), "--covariates", None]
    book = _workbook(tmp_path / "book.xlsx", sheets)
    wb = openpyxl.load_workbook(book)
    wb["旧数据"].sheet_state = "hidden"
    wb.active = 1
    wb.save(book)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", *[book if a is None else a for a in args])
    assert code == 3, err
    visible = "'汇总'" if kind == "patents" else "'数据'"
    assert (f"error: {book}: the first sheet, '旧数据', is hidden in Excel (2 rows), and citynet reads a workbook's "
            f"first sheet; Excel shows {visible} fix: save the sheet of records as a workbook of its own") \
        in _one_line(err), err
    assert not (tmp_path / "ws" / "canonical").exists()
