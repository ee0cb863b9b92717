"""Covariates that are codes of 16 to 20 digits (whole numbers beyond the 2**53 a float holds exactly): ingest
keeps them as text, and every export keeps every digit (a Stata .dta and an Excel sheet as text, with a warning);
never a rounded number without a word. Expected values are the cells of the hand-made covariate file as pandas
reads them as text, or Python integers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.graph.network_filter import NetworkFilter
from citynet.metrics.pipeline import TableStore, run_metrics

from citynet.workspace import Workspace
from tests.cli import invoke
from tests.test_etl_ingest import GOOD, write_csv

BJ, TJ, SH, NJ = "110000", "120000", "310000", "320100"
CODES = ["城市", "年份", "gdp", "code20", "code17", "code16", "small"]
ROWS = [  # code17 has a blank cell; code16 is below 2**53 = 9007199254740992 (a float holds it exactly)
    ["北京市", "2010", "1.5", "12345678901234567891", "12345678901234567", "1000000000000001", "7"],
    ["北京市", "2011", "2.5", "98765432109876543210", "", "9007199254740991", "8"],
    ["上海市", "2011", "3.5", "00000000000000000012", "99999999999999999", "1234567890123456", "9"],
]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _codes_csv(path):
    pd.DataFrame(ROWS, columns=CODES).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _panel(ws: Workspace) -> None:
    """A city-year panel of four cities and two years (hand-made network, citynet's own metrics)."""
    e = pd.DataFrame([("collab", 2010, BJ, TJ, 2), ("collab", 2011, BJ, SH, 1), ("transfer", 2011, SH, NJ, 4)],
                     columns=["network", "year", "src", "dst", "weight"])
    c = pd.DataFrame({"city_code": [BJ, SH, NJ], "year": [2011, 2011, 2010], "green_patents": [7, 3, 1]})
    run_metrics(ws, NetworkFilter(), store=TableStore(e, c))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """A workspace ingested from a hand-made export and covariate file through the command line, with a panel."""
    import contextlib
    import io

    from tests.cli import exit_code

    tmp = tmp_path_factory.mktemp("codes")
    cov = _codes_csv(tmp / "codes.csv")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = exit_code("ingest", "-w", tmp / "ws", write_csv(tmp / "export.csv", GOOD), "--covariates", cov)
    assert code == 0, err.getvalue()
    ws = Workspace.open(tmp / "ws")
    _panel(ws)
    return ws, cov, err.getvalue()


def _expected(cov) -> pd.DataFrame:
    """The covariate file's cells as written (pandas, every cell text), keyed by city code and year."""
    raw = pd.read_csv(cov, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw["city_code"] = raw["城市"].map({"北京市": BJ, "上海市": SH})
    raw["year"] = raw["年份"].astype(int)
    return raw.set_index(["city_code", "year"])


def test_ingest_keeps_codes_beyond_a_floats_digits_as_text_and_says_so(ingested):
    ws, cov, err = ingested
    got = pd.read_parquet(ws.table("covariates")).set_index(["city_code", "year"])
    want = _expected(cov)
    for col in ("code20", "code17"):
        assert got[col].map(lambda v: None if pd.isna(v) else v).to_dict() == \
            want[col].replace("", None).to_dict(), col  # the digits as written, leading zeros included
    # below 2**53 a column of whole numbers stays a number, exactly; a decimal one too
    assert got["code16"].dtype == np.int64
    assert got["code16"].tolist() == [int(v) for v in want["code16"]]
    assert got["gdp"].tolist() == [float(v) for v in want["gdp"]]
    assert got["small"].tolist() == [int(v) for v in want["small"]]
    line = _one_line(err)
    assert ("codes.csv: whole numbers beyond the 15–16 digits a floating-point number holds exactly were kept as "
            "text, every digit as written (codes, not quantities): code20 (up to 20 digits") in line, line
    assert "code17 (up to 17 digits" in line and "code16" not in line.split("kept as text")[1].split(".")[0]


@pytest.mark.parametrize("fmt", ["dta", "csv", "parquet", "xlsx"])
def test_every_export_keeps_every_digit(ingested, tmp_path, capsys, fmt):
    """The .dta (it had code20 as a double: 1.2345678901234568e19) and the Excel sheet hold the codes as text
    and warn; CSV and Parquet hold them as the file wrote them, without a warning."""
    ws, cov, _ = ingested
    out = tmp_path / f"cy.{fmt}"
    code, _, err = invoke(capsys, "export", "-w", ws.root, "--panel", "city-year", "--out", out)
    assert code == 0, err
    read = {"dta": lambda p: pd.read_stata(p), "parquet": pd.read_parquet,
            "csv": lambda p: pd.read_csv(p, dtype=str, keep_default_na=False),
            "xlsx": lambda p: pd.read_excel(p, sheet_name="panel", dtype=str, keep_default_na=False,
                                            engine="openpyxl")}[fmt]
    got = read(out)
    got["city_code"] = got["city_code"].astype(str)
    got = got.set_index(["city_code", got["year"].astype(int)])
    want = _expected(cov)
    for col in ("code20", "code17"):
        cells = got.loc[want.index, col].map(lambda v: "" if pd.isna(v) else str(v))
        assert cells.to_dict() == want[col].to_dict(), (fmt, col)
        assert set(got.drop(index=want.index)[col].map(lambda v: "" if pd.isna(v) else v)) == {""}  # no covariates
    # code16 is a number where a number holds it: a double in Stata (2**53 - 1 included), text in Excel (16 digits)
    cells = got.loc[want.index, "code16"].map(lambda v: "" if pd.isna(v) else str(int(v) if isinstance(v, float) else v))
    assert cells.to_dict() == want["code16"].to_dict(), fmt
    line = _one_line(err)
    if fmt == "dta":
        assert got["code16"].dtype == np.float64
        assert ("warning: code20 (20 digits), code17 (17 digits): written as text in the .dta (str variables), every "
                "digit kept — a Stata number is a double") in line, line
    elif fmt == "xlsx":
        assert ("warning: code20 (20 digits), code17 (17 digits), code16 (16 digits): written as text in the workbook "
                "(text cells), every digit kept — Excel keeps 15 digits of a number") in line, line
    else:
        assert "warning" not in line, line


def test_integer_codes_of_an_earlier_ingest_are_exact_in_every_export(tmp_path, capsys):
    """A covariates table with 17-digit codes as int64 and 20-digit ones as uint64 (what an ingest before this
    change wrote), joined to a panel with city-years that have no covariates: the join made them floats, so
    CSV and Parquet had 12345678901234568 for 12345678901234567; the .dta had doubles. Now CSV and Parquet hold
    the integers and the .dta text, with a warning."""
    ws = Workspace.open(tmp_path / "ws", create=True)
    _panel(ws)
    ws.canonical.mkdir(parents=True, exist_ok=True)
    c17 = [12345678901234567, 99999999999999999]
    c20 = [12345678901234567891, 18446744073709551615]
    pd.DataFrame({"city_code": [BJ, SH], "year": np.array([2011, 2011], dtype="int16"),
                  "c17": np.array(c17, dtype=np.int64), "c20": np.array(c20, dtype=np.uint64)}
                 ).to_parquet(ws.table("covariates"))
    for fmt in ("csv", "parquet", "dta"):
        out = tmp_path / f"cy.{fmt}"
        code, _, err = invoke(capsys, "export", "-w", ws.root, "--panel", "city-year", "--out", out)
        assert code == 0, err
        if fmt == "csv":
            got = pd.read_csv(out, dtype=str, keep_default_na=False)
        elif fmt == "parquet":
            got = pd.read_parquet(out)
        else:
            got = pd.read_stata(out)
        got = got.set_index(got["city_code"].astype(str) + "/" + got["year"].astype(int).astype(str))
        assert len(got) > 2  # city-years without covariates: the join's missing values
        for col, want in (("c17", c17), ("c20", c20)):
            cells = [got.loc[f"{city}/2011", col] for city in (BJ, SH)]
            assert [int(v) for v in cells] == want, (fmt, col, cells)
            assert [str(v) for v in cells] == [str(v) for v in want], (fmt, col, cells)  # no ".0", no exponent
        if fmt == "dta":
            assert "warning: c17 (17 digits), c20 (20 digits): written as text in the .dta" in _one_line(err), err
        else:
            assert "warning" not in err


@pytest.mark.parametrize(("cells", "limit", "want"), [
    (["9007199254740992", "7"], 2**53, None),  # 2**53 itself: a float holds it
    (["9007199254740993", "7"], 2**53, 2**53 + 1),
    (["-9007199254740993"], 2**53, 2**53 + 1),
    (["+00000000000000000012"], 2**53, None),  # leading zeros are no digits of the value
    (["12345678901234567", "1.5"], 2**53, None),  # not every cell a whole number
    (["1000000000000000"], 10**15 - 1, 10**15),
    (["999999999999999"], 10**15 - 1, None),
])
def test_one_test_of_long_whole_numbers_for_ingest_and_export(cells, limit, want):
    """The test ingest (a covariate code kept as text) and the exports (a column written as text) make of a
    text column is one function; expected values are Python integers."""
    from citynet.etl.covariates import EXACT_INTEGERS, long_integers, whole_number_beyond
    from citynet.metrics.export import long_integers as export_long_integers

    text = pd.Series(cells, dtype=object)
    assert whole_number_beyond(text, limit) == want
    assert export_long_integers(pd.DataFrame({"c": text}), limit) == ({} if want is None else {"c": len(str(want))})
    if limit == EXACT_INTEGERS:
        kept = long_integers(text, pd.to_numeric(text, errors="coerce"))
        assert (kept is None) == (want is None)
