"""Workbooks formatted by hand, through ``citynet ingest`` on hand-made files: merged cells that span records
(Excel shows the value on every row, the file keeps it in the first cell only: the other records were read
without it, quarantined or loaded without a word) stop with the ranges, columns and rows; merges within a row
(a title, a note) change nothing."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd

from tests.cli import invoke
from tests.test_etl_ingest import GOOD, HEADERS


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_merged_cells_across_records_stop_with_the_ranges_and_rows(tmp_path, capsys):
    """申请日 merged over the records of rows 4-5 and 申请人地址 over rows 3-5: rows 4 and 5 would have been read
    without their date (quarantined) and address (loaded, the applicant located by other means)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [HEADERS, *GOOD]:
        ws.append(row)
    ws.merge_cells("B4:B5")
    ws.merge_cells("E3:E5")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 3, err
    line = _one_line(err)
    assert (f"error: {path}: merged cells span records (B4:B5, E3:E5; columns 申请日, 申请人地址): Excel shows a merged "
            "value on every row of the range but keeps it in the first cell only, so rows 4, 5 would be read without "
            "it") in line, line
    assert "fix: in Excel select the sheet, unmerge" in line
    assert not (tmp_path / "ws" / "canonical").exists()


def test_an_old_xls_with_merged_records_stops_too(tmp_path, capsys):
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("专利")
    for j, h in enumerate(HEADERS):
        sheet.write(0, j, h)
    for i, row in enumerate(GOOD, start=1):
        for j, v in enumerate(row):
            if not (j == 3 and i in (1, 2)):
                sheet.write(i, j, v)
    sheet.write_merge(1, 2, 3, 3, GOOD[0][3])  # 申请人 of rows 2-3
    path = tmp_path / "merged.xls"
    book.save(str(path))
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 3, err
    assert "merged cells span records (D2:D3; columns 申请人)" in _one_line(err) and "so row 3 would" in _one_line(err)


def test_merges_within_a_row_are_left_alone(tmp_path, capsys):
    """A title merged across the columns above the header and a source note merged across them below the records:
    the records are those pandas reads from the header row, the note's row quarantined (read = loaded +
    quarantined)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["incoPat 专利数据导出"])
    ws.merge_cells("A1:K1")
    for row in [HEADERS, *GOOD]:
        ws.append(row)
    ws.append(["数据来源：incoPat"])
    ws.merge_cells(f"A{ws.max_row}:K{ws.max_row}")
    path = tmp_path / "title.xlsx"
    wb.save(path)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 0, err
    want = pd.read_excel(path, header=1, dtype=str)
    entry = json.loads((tmp_path / "ws" / "reports" / "ingest.json").read_text(encoding="utf-8"))["files"][0]
    assert entry["rows_read"] == len(want) == len(GOOD) + 1
    assert (entry["rows_loaded"], entry["rows_quarantined"]) == (len(GOOD), 1)
    got = pd.read_parquet(tmp_path / "ws" / "canonical" / "patents.parquet")
    assert sorted(got["pub_number"]) == sorted(want["公开（公告）号"].dropna())


def test_merged_cells_across_the_records_of_a_transfer_sheet_stop_too(tmp_path, capsys):
    """A patent workbook's sheet of transfer records (read as transfers) with 受让人地址 merged over two records: the
    second was loaded without its assignee's address (located by other means) without a word."""
    from tests.test_ingest_sheets import TRANSFER_HEADERS, TRANSFERS

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "专利"
    for row in [HEADERS, *GOOD]:
        ws.append(row)
    tr = wb.create_sheet("转让记录")
    rows = [list(TRANSFERS[0]), list(TRANSFERS[2])]
    rows[1][4] = None
    for row in [TRANSFER_HEADERS, *rows]:
        tr.append(row)
    tr.merge_cells("E2:E3")
    path = tmp_path / "export.xlsx"
    wb.save(path)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 3, err
    assert (f"error: {path} (sheet 转让记录): merged cells span records (E2:E3; columns 受让人地址): Excel shows a "
            "merged value on every row of the range but keeps it in the first cell only, so row 3 would be read "
            "without it") in _one_line(err), err


def test_merged_cells_in_a_covariate_or_transfer_workbook_stop_too(tmp_path, capsys):
    """A yearbook table with each city merged over its years' rows (城市 A2:A4, A5:A7), given with --covariates: every
    year but the first was read without its city and quarantined as an unknown city — a misleading reason. A
    --transfers workbook with 受让人地址 merged over two records: the second loaded without the address. Both now
    stop with the ranges and rows (exit 3), and nothing is written; a title merged across the header row's
    columns above the table changes nothing."""
    patents = tmp_path / "p.xlsx"
    wb = openpyxl.Workbook()
    for row in [HEADERS, *GOOD]:
        wb.active.append(row)
    wb.save(patents)
    cov = tmp_path / "cov.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["城市", "年份", "gdp"])
    for city in ("南京市", "苏州市"):
        for year, gdp in ((2015, 1.0), (2016, 2.0), (2017, 3.0)):
            ws.append([city, year, gdp])
    ws.merge_cells("A2:A4")
    ws.merge_cells("A5:A7")
    wb.save(cov)
    tr = tmp_path / "tr.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["申请号", "转让人", "受让人", "生效日", "受让人地址"])
    ws.append([GOOD[1][0], "苏州绿能有限公司", "杭州新能科技有限公司", "20190101", "浙江省杭州市西湖区"])
    ws.append([GOOD[0][0], "南京南瑞科技有限公司", "杭州新能科技有限公司", "20190101", None])
    ws.merge_cells("E2:E3")
    wb.save(tr)
    for option, path, says in (("--covariates", cov, "(A2:A4, A5:A7; columns 城市)") , ("--transfers", tr,
                                                                                        "(E2:E3; columns 受让人地址)")):
        code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", patents, option, path)
        line = _one_line(err)
        assert code == 3 and f"error: {path}: merged cells span records {says}" in line, line
        assert line.count("error:") == 1 and not (tmp_path / "ws" / "canonical").exists(), line
    titled = tmp_path / "titled.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["江苏省各市生产总值", None, None])
    ws.merge_cells("A1:C1")
    for row in (["城市", "年份", "gdp"], ["南京市", 2015, 1.0], ["苏州市", 2015, 2.0]):
        ws.append(row)
    wb.save(titled)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", patents, "--covariates", titled)
    assert code == 0, err
    got = pd.read_parquet(tmp_path / "ws" / "canonical" / "covariates.parquet")
    assert got[["city_code", "year", "gdp"]].values.tolist() == [["320100", 2015, 1.0], ["320500", 2015, 2.0]]


def _filtered(path, hide: list[int]):
    """The hand-made export with an AutoFilter on 专利类型 (Excel's filter range name included) and rows ``hide``
    hidden by it, as Excel saves a filtered sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "专利"
    for row in [HEADERS, *GOOD]:
        ws.append(row)
    ws.auto_filter.ref = f"A1:K{len(GOOD) + 1}"
    if hide:
        ws.auto_filter.add_filter_column(8, ["发明公开", "发明授权"])
    for r in hide:
        ws.row_dimensions[r].hidden = True
    wb.save(path)
    return path


def test_rows_a_filter_hides_stop_with_their_count(tmp_path, capsys):
    """The user filtered the export to invention patents in Excel and saved: the two rows the filter hides were read
    with the others without a word (the user meant the rows shown, or all: the file cannot tell)."""
    path = _filtered(tmp_path / "filtered.xlsx", [4, 5])
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 3, err
    assert (f"error: {path}: a filter hides 2 rows of sheet '专利' in Excel; citynet reads every row the file holds, so "
            "they would be read although Excel does not show them fix: to read every row: in Excel Data → Clear") \
        in _one_line(err), err


def test_a_filter_that_hides_nothing_changes_nothing(tmp_path, capsys):
    path = _filtered(tmp_path / "buttons.xlsx", [])
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", path)
    assert code == 0, err
    entry = json.loads((tmp_path / "ws" / "reports" / "ingest.json").read_text(encoding="utf-8"))["files"][0]
    assert entry["rows_read"] == entry["rows_loaded"] == len(pd.read_excel(path)) == len(GOOD)
