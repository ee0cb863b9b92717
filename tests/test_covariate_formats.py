"""Covariate files in the formats docs/configuration.md §3 names besides CSV and .xlsx: the HTML table that some
yearbook tools and databases save as ``.xls`` (§2.5) and Stata ``.dta``. Every expected row and value below is
worked out by hand from the file as written (rows as Excel shows the page: every ``<tr>`` is a row)."""

from __future__ import annotations

import pandas as pd
from citynet.etl.covariates import load_covariates
from citynet.etl.quarantine import Quarantine

# row 1 a title across the table, row 2 the header, row 4 an empty row (no record, but a row of the sheet),
# row 5 one cell more than the header (§2.5: malformed_row), row 7 a city of no city set (unknown_city)
PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>
<table border="1">
<tr><td colspan="3">2016年中国城市统计年鉴</td></tr>
<tr><th>城市</th><th>年份</th><th>GDP</th></tr>
<tr><td>南京</td><td>2015</td><td>1.5</td></tr>
<tr><td></td><td></td><td></td></tr>
<tr><td>苏州</td><td>2015</td><td>2.5</td><td>注</td></tr>
<tr><td>杭州市</td><td>2015</td><td>3.5</td></tr>
<tr><td>火星市</td><td>2015</td><td>4</td></tr>
</table></body></html>"""


def test_an_html_table_named_xls_keeps_its_rows_and_quarantines_a_row_of_another_width(tmp_path):
    """Before: the row of four cells refused the whole file ('1 rows have another number of cells than the
    header', exit 3), and without it the rows after the empty row were numbered one too low (火星市 on row 6)."""
    path = tmp_path / "年鉴.xls"
    path.write_bytes(PAGE.encode("gb18030"))
    q = Quarantine()
    table, report = load_covariates(path, q)
    assert table.to_dict("records") == [{"city_code": "320100", "year": 2015, "GDP": 1.5},
                                        {"city_code": "330100", "year": 2015, "GDP": 3.5}]
    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"]) == (4, 2, 2)
    assert report["header_row"] == 2
    t = q.table()
    assert list(zip(t["source_row"].astype(int), t["field"], t["reason_code"], strict=True)) == [
        (5, "(record)", "malformed_row"), (7, "城市", "unknown_city")]
    assert t["raw_text"].iloc[0] == "苏州\t2015\t2.5\t注"


def test_an_html_table_whose_every_row_has_another_width_is_refused_with_the_count(tmp_path):
    path = tmp_path / "c.xls"
    path.write_bytes(b"<html><body><table><tr><th>city_code</th><th>year</th><th>gdp</th></tr>"
                     b"<tr><td>320100</td><td>2015</td><td>1</td><td>x</td></tr>"
                     b"<tr><td>320500</td><td>2015</td></tr></table></body></html>")
    import pytest

    from citynet.errors import DataError

    with pytest.raises(DataError) as exc:
        load_covariates(path, Quarantine())
    assert "no row of the covariate file could be loaded (2 malformed_row; e.g. row 2: " in str(exc.value)
    assert "the header has 3 fields" in str(exc.value)


def test_a_stata_file_written_by_pyreadstat(tmp_path):
    """A .dta written by pyreadstat (not pandas, whose reader citynet uses): a numeric code and year, an
    observation of missing values only (an empty row: empty_row, row 3), a code of no city (row 4)."""
    import pyreadstat

    frame = pd.DataFrame({"城市代码": [320100.0, float("nan"), 999999.0, 330100.0],
                          "年份": [2015.0, float("nan"), 2015.0, 2016.0],
                          "GDP": ["1,234.5", "", "7", "19.7%"]})
    path = tmp_path / "c.dta"
    pyreadstat.write_dta(frame, str(path), version=14)
    q = Quarantine()
    table, report = load_covariates(path, q)
    assert table.to_dict("records") == [{"city_code": "320100", "year": 2015, "GDP": 1234.5},
                                        {"city_code": "330100", "year": 2016, "GDP": 19.7}]
    t = q.table()
    assert list(zip(t["source_row"].astype(int), t["field"], t["reason_code"], strict=True)) == [
        (3, "(record)", "empty_row"), (4, "城市代码", "unknown_city")]
    assert report["percent"] == {"GDP": {"cells": 1, "examples": ["19.7%"]}}


def test_a_column_of_blank_cells_is_left_out_in_every_format(tmp_path):
    """§3: 'A column with no numeric value at all is left out, named in dropped_columns'. A column 备注 of blank
    cells was left out of a CSV (its cells are '') but kept, all missing, from an .xlsx (empty cells) and a .dta
    (a numeric variable of missing values): the same table gave another panel by its format."""
    import pyreadstat
    from openpyxl import Workbook

    (tmp_path / "c.csv").write_text("城市,年份,gdp,备注\n南京,2015,1,\n苏州,2015,2,\n", encoding="utf-8")
    wb = Workbook()
    for r in (["城市", "年份", "gdp", "备注"], ["南京", 2015, 1, None], ["苏州", 2015, 2, None]):
        wb.active.append(r)
    wb.save(tmp_path / "c.xlsx")
    pyreadstat.write_dta(pd.DataFrame({"城市": ["南京", "苏州"], "年份": [2015.0, 2015.0], "gdp": [1.0, 2.0],
                                       "备注": [float("nan")] * 2}), str(tmp_path / "c.dta"), version=14)
    for name in ("c.csv", "c.xlsx", "c.dta"):
        table, report = load_covariates(tmp_path / name, Quarantine())
        assert table.to_dict("records") == [{"city_code": "320100", "year": 2015, "gdp": 1},
                                            {"city_code": "320500", "year": 2015, "gdp": 2}], name
        assert (report["columns"], report["dropped_columns"]) == (["gdp"], ["备注"]), name
