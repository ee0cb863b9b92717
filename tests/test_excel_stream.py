"""An .xlsx export read in batches (etl/excel_stream.py): every cell the text ``pandas.read_excel(dtype=str,
keep_default_na=False)`` gives it (the reference: pandas' own reader of the whole sheet), whatever the batch
size; the rows below the header, the header's names and the spreadsheet row numbers as the whole-sheet reader
has them; and Python's memory bounded by a batch, not by the sheet."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest
from citynet.etl.excel_stream import excel_batches
from citynet.etl.readers import stream_table, unique_headers
from openpyxl import Workbook

AWKWARD = [
    ["申请号", "申请人", "申请人", None, 2015, "日期", "值"],  # a repeated name, an empty one, a number
    ["CN1", "甲公司", "乙", "x", 1.0, dt.date(2015, 3, 12), 3.25],
    [None, None, None, None, None, None, None],  # an empty row in the middle: kept, as read_excel keeps it
    ["CN2", True, "  空格 ", 12345678901234567890, 2.5, dt.datetime(2016, 1, 2, 3, 4, 5), dt.time(10, 30)],
    ["CN3", "=1+1", "#N/A", -0.0, 1e20, "2015-01-01", None],
    ["CN4", 0.1, 1e-7, float(2**53 + 1), "0012", dt.date(1900, 1, 1), False],
]


def _workbook(path: Path, rows: list[list], top: int = 0, left: int = 0) -> Path:
    wb = Workbook()
    ws = wb.active
    for _ in range(top):
        ws.append([])
    for row in rows:
        ws.append([None] * left + row)
    wb.save(path)
    return path


def _reference(path: Path, header_row: int) -> pd.DataFrame:
    """pandas' whole-sheet reading, as citynet's readers name the columns."""
    frame = pd.read_excel(path, dtype=str, engine="calamine", keep_default_na=False, header=header_row - 1)
    frame = frame.fillna("").astype(str)
    frame.columns = unique_headers([("" if str(c).startswith("Unnamed: ") else str(c)) for c in frame.columns])
    return frame


@pytest.mark.parametrize(("top", "left"), [(0, 0), (2, 0), (0, 2), (1, 1)])
@pytest.mark.parametrize("batch_rows", [1, 2, 3, 100_000])
def test_batches_hold_the_cells_read_excel_reads(tmp_path, top, left, batch_rows):
    path = _workbook(tmp_path / "x.xlsx", AWKWARD, top, left)
    want = _reference(path, top + 1)
    header, batches = excel_batches(path, top + 1, batch_rows)
    frames = list(batches())
    assert all(len(f) <= batch_rows for f in frames)
    got = pd.concat(frames, ignore_index=True)
    assert header == list(want.columns)
    assert got["_row"].tolist() == list(range(top + 2, top + 2 + len(want)))  # spreadsheet rows
    pd.testing.assert_frame_equal(got.drop(columns="_row"), want, check_dtype=False)
    assert got.loc[0, "2015"] == "1" and got.loc[2, "申请人"] == "True" and got.loc[0, "日期"] == "2015-03-12 00:00:00"
    again = pd.concat(list(batches()), ignore_index=True)  # a second reading (the workbook parsed again)
    pd.testing.assert_frame_equal(again, got)


def test_the_header_below_a_title_and_the_stream_of_the_ingest(tmp_path):
    path = _workbook(tmp_path / "titled.xlsx", [["某数据库导出 2024-05-01"], *AWKWARD])
    raw = stream_table(path, header_row=2, batch_rows=2)
    assert raw.encoding == "xlsx" and raw.header == list(_reference(path, 2).columns)
    got = pd.concat(list(raw.batches()), ignore_index=True)
    pd.testing.assert_frame_equal(got.drop(columns="_row"), _reference(path, 2), check_dtype=False)
    assert got["_row"].iloc[0] == 3


def test_a_sheet_without_records_goes_to_the_whole_sheet_reader(tmp_path):
    path = _workbook(tmp_path / "head.xlsx", [AWKWARD[0]])
    assert excel_batches(path, 1, 10) is None


def _peak(path: Path) -> int:
    tracemalloc.start()
    try:
        for frame in stream_table(path, batch_rows=500).batches():
            del frame
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_python_memory_is_bounded_by_a_batch(tmp_path):
    """The whole-sheet reader holds every cell as a Python object (its peak doubles with the rows); the
    stream holds a batch: four times the rows, about the same Python peak."""
    row = ["CN{:09d}", "某某科技有限公司", "江苏省南京市玄武区中山路{}号", 2015, "一种装置及其方法"]

    def rows(n):
        return [["申请号", "申请人", "地址", "年份", "名称"]] + [
            [row[0].format(i), row[1], row[2].format(i), row[3], row[4]] for i in range(n)]

    small = _peak(_workbook(tmp_path / "s.xlsx", rows(2_000)))
    large = _peak(_workbook(tmp_path / "l.xlsx", rows(8_000)))
    assert large < 1.5 * small, (small, large)


def _counting(monkeypatch) -> dict:
    """python-calamine's opens and sheet parses, counted (readers and pandas' calamine engine go through it)."""
    import collections

    import python_calamine

    counts = collections.Counter()
    real = python_calamine.CalamineWorkbook

    class Book:
        def __init__(self, book):
            self._book = book

        def __getattr__(self, name):
            return getattr(self._book, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._book.close()

        def get_sheet_by_index(self, i):
            counts[self._book.sheet_names[i]] += 1
            return self._book.get_sheet_by_index(i)

        def get_sheet_by_name(self, name):
            counts[name] += 1
            return self._book.get_sheet_by_name(name)

    class Opener:
        @staticmethod
        def from_path(path, *args, **kwargs):
            counts["(opens)"] += 1
            return Book(real.from_path(path, *args, **kwargs))

    def load_workbook(path, *args, **kwargs):
        counts["(opens)"] += 1
        return Book(python_calamine.load_workbook.__wrapped__(path, *args, **kwargs))

    load_workbook.__wrapped__ = python_calamine.load_workbook
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Opener)
    monkeypatch.setattr(python_calamine, "load_workbook", load_workbook)
    return counts


def test_a_workbook_of_several_sheets_is_parsed_once_for_its_records(tmp_path, monkeypatch, capsys):
    """An ingest of a patent workbook with a transfer sheet parsed its first sheet three times (the survey of the
    other sheets, their same-header check, the records) and the transfer sheet three times: now the first sheet
    once, the transfer sheet twice (its first rows in the survey, its records), the workbook opened twice; the
    tables are those of the same workbook read by pandas' own reader (its sheets as CSV files)."""
    from tests.cli import invoke
    from tests.test_etl_ingest import BAD, GOOD, HEADERS
    from tests.test_ingest_sheets import TRANSFER_HEADERS, TRANSFERS
    from tests.test_ingest_sheets import _workbook as sheets_workbook

    book = sheets_workbook(tmp_path / "export.xlsx", {"专利": [HEADERS, *GOOD, BAD[0]],
                                                      "转让记录": [TRANSFER_HEADERS, *TRANSFERS]})
    as_csv = {}
    for name in ("专利", "转让记录"):
        as_csv[name] = tmp_path / f"{name}.csv"
        pd.read_excel(book, sheet_name=name, dtype=str, keep_default_na=False).to_csv(as_csv[name], index=False)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "csv", as_csv["专利"], "--transfers", as_csv["转让记录"])
    assert code == 0, err
    counts = _counting(monkeypatch)
    code, _, err = invoke(capsys, "ingest", "-w", tmp_path / "ws", book)
    assert code == 0, err
    assert dict(counts) == {"专利": 1, "转让记录": 2, "(opens)": 2}, counts
    for table in ("patents", "transfers", "applicants"):
        got = pd.read_parquet(tmp_path / "ws" / "canonical" / f"{table}.parquet")
        want = pd.read_parquet(tmp_path / "csv" / "canonical" / f"{table}.parquet")
        pd.testing.assert_frame_equal(got.drop(columns=["source_file"], errors="ignore"),
                                      want.drop(columns=["source_file"], errors="ignore"))


@pytest.mark.parametrize(("top", "left"), [(0, 0), (2, 0), (0, 2), (1, 1)])
def test_the_surveys_first_rows_are_those_read_excel_reads(tmp_path, top, left):
    """peek_rows of a workbook of several sheets comes from the survey (calamine's values of its first rows):
    the cell texts of pandas.read_excel(header=None, dtype=str) of the same rows, awkward cells included."""
    from citynet.etl.readers import other_sheets, peek_rows

    path = _workbook(tmp_path / "x.xlsx", AWKWARD, top, left)
    wb = __import__("openpyxl").load_workbook(path)
    wb.create_sheet("notes").append(["备注"])
    wb.save(path)
    assert [s.name for s in other_sheets(path)] == ["notes"]
    for rows in (1, 3, 30):
        want = pd.read_excel(path, dtype=str, engine="calamine", keep_default_na=False, header=None, nrows=rows)
        assert peek_rows(path, rows=rows) == want.fillna("").astype(str).to_numpy().tolist(), rows
    raw = stream_table(path, header_row=top + 1, batch_rows=2)  # the survey's parse of the first sheet
    got = pd.concat(list(raw.batches()), ignore_index=True)
    pd.testing.assert_frame_equal(got.drop(columns="_row"), _reference(path, top + 1), check_dtype=False)


def _xls(path: Path, rows: list[list], top: int = 0, left: int = 0) -> Path:
    """An old Excel workbook (BIFF8, by xlwt) of ``rows`` (dates, times and date-times with their number formats,
    a formula without a cached value) and a second sheet of notes."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("专利")
    styles = {dt.datetime: "YYYY-MM-DD hh:mm:ss", dt.date: "YYYY-MM-DD", dt.time: "hh:mm"}
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str) and v.startswith("="):
                v = xlwt.Formula(v[1:])
            style = next((xlwt.easyxf(num_format_str=f) for t, f in styles.items() if isinstance(v, t)), None)
            sheet.write(i + top, j + left, v, *([style] if style else []))
    book.add_sheet("notes").write(0, 0, "备注")
    book.save(str(path))
    return path


XLS_AWKWARD = [*AWKWARD[:5], ["CN4", 0.1, 1e-7, float(2**53 + 1), "0012", dt.date(1900, 3, 1), False],
               ["CN5", 123456789012345678, "2015.0", 1.5e-300, "  ", dt.datetime(2015, 3, 12), 42]]


@pytest.mark.parametrize(("top", "left"), [(0, 0), (2, 0), (0, 2), (1, 1)])
@pytest.mark.parametrize("batch_rows", [1, 4, 100_000])
def test_an_old_xls_workbook_is_streamed_with_the_cells_read_excel_reads(tmp_path, monkeypatch, top, left, batch_rows):
    """An .xls export was read whole (pandas, every cell a Python object); it is streamed as an .xlsx is: every cell
    the text pandas.read_excel(dtype=str) gives it, with the calamine engine (citynet's reader before) and with xlrd
    (pandas' default for .xls), whatever the batch size; the spreadsheet rows as the whole-sheet reader numbers
    them. The whole-sheet reader is not called."""
    import warnings

    import citynet.etl.readers as readers

    path = _xls(tmp_path / "x.xls", XLS_AWKWARD, top, left)
    want = _reference(path, top + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xlrd's deprecation
        by_xlrd = pd.read_excel(path, dtype=str, engine="xlrd", keep_default_na=False, header=top)
    by_xlrd.columns = want.columns
    pd.testing.assert_frame_equal(by_xlrd.fillna("").astype(str), want)
    monkeypatch.setattr(readers, "read_table", lambda *a, **k: pytest.fail("the whole-sheet reader was called"))
    raw = stream_table(path, header_row=top + 1, batch_rows=batch_rows)
    frames = list(raw.batches())
    assert raw.encoding == "xls" and raw.header == list(want.columns)
    assert all(len(f) <= batch_rows for f in frames)
    got = pd.concat(frames, ignore_index=True)
    assert got["_row"].tolist() == list(range(top + 2, top + 2 + len(want)))
    pd.testing.assert_frame_equal(got.drop(columns="_row"), want, check_dtype=False)
    assert got.loc[0, "日期"] == "2015-03-12 00:00:00" and got.loc[5, "申请人"] == "123456789012345680"
