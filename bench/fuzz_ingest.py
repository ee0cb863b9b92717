"""Fuzz the ingest: mutated CSV and XLSX exports through ``citynet ingest``, each case checked.

Every case must either load with exact row accounting — rows read equal the records an independent
splitter counts, every loaded patent's and every quarantined row's ``source_row`` is the spreadsheet row
that holds it — or be refused with one short message and a documented exit code (2 or 3). A traceback,
another exit code, an exception escaping the CLI, a long message or a wrong row number is a failure;
failures are shrunk (records removed while the failure stays) and written as regression fixtures.

    python -m bench.fuzz_ingest --seed 1 --count 2000 [--keep tests/fixtures/fuzz]

``--others`` runs the other inputs of ``ingest`` instead (families ``transfers`` and ``covariates``): a valid
export plus a mutated ``--transfers`` or ``--covariates`` file (damaged, blank, repeated records; bad, impossible
and out-of-range dates; missing assignors and assignees; names with spaces or full-width brackets; assignees
that include the assignor; years as 2015.0, 2015年 or full width; codes as text; unknown cities; repeated
city-years; a former name; titles above the header; GB18030, UTF-8 with or without BOM, UTF-16). Covariate files
also come as .xlsx, as the HTML table some yearbook tools save as .xls and as Stata .dta (written by pyreadstat);
keyed by code, by name or by both (a code and a name of two cities: city_key_conflict; the name column first or
second); with NUL bytes, split or merged prefectures (abolished_city; 巢湖市 after 2011 a county of 合肥), the
headers of §3's tables (adcode, 地级市, ＹＥＡＲ, 'GDP (亿元)' → GDP_亿元, log → log_), a text column or an empty
one (left out); or as a wide yearbook table (a column per year, one variable named after the file; a unit
column makes it none). Each is judged against an oracle written from docs/methods.md §1.1, §1.3, §1.7 and
docs/configuration.md §2.5, §3: rows read = loaded + quarantined = the records written, every record the oracle
rejects quarantined at its row with its field and reason, and the transfers (patent, date, assignor, assignee)
or city-year values that load.

The CI sample is ``tests/test_fuzz_ingest.py`` (a fixed seed and a few hundred cases).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HEADERS = ["申请号", "申请日", "授权公告日", "申请人", "申请人地址", "主分类号", "分类号", "国省代码", "专利类型",
           "引证专利", "公开（公告）号"]
CITIES = [("南京南瑞科技有限公司", "210000江苏省南京市玄武区中山路1号", "江苏(32)"),
          ("苏州绿能有限公司", "215300江苏省昆山市玉山镇", "江苏(32)"),
          ("杭州新能科技有限公司", "310000浙江省杭州市西湖区文三路1号", "浙江(33)"),
          ("北京清源电力有限公司", "100000北京市海淀区中关村大街1号", "北京(11)")]
FAMILIES = ["byte_flip", "truncate", "stray_quote", "stray_comma", "stray_newline", "stray_nul", "huge_field",
            "gb18030", "utf16", "latin1_field", "bom", "no_bom", "dup_header", "empty_header", "extra_column",
            "missing_column", "cr", "crlf", "fullwidth", "many_columns", "impossible_date", "reserved_headers",
            "no_loadable_row", "blank_lines", "title"]
XLSX_FAMILIES = ["dup_header", "empty_header", "extra_column", "missing_column", "huge_field", "fullwidth",
                 "many_columns", "impossible_date", "reserved_headers", "no_loadable_row", "byte_flip", "truncate"]
# the HTML tables some databases save as .xls: the header and cell families (a page damaged byte by byte has
# no one right reading: browsers, lxml and html.parser recover it differently)
XLS_FAMILIES = ["dup_header", "empty_header", "extra_column", "missing_column", "huge_field", "fullwidth",
                "many_columns", "impossible_date", "reserved_headers", "no_loadable_row", "markup"]
MAX_MESSAGE = 2_000  # characters of a refusal (message + fix)


def _check_digit(digits: str) -> str:
    from citynet.etl.normalize import app_number_check_digit

    return app_number_check_digit(digits)


def base_rows(rng: random.Random, n: int) -> list[list[str]]:
    rows = []
    for i in range(n):
        year = rng.randint(2008, 2019)
        digits = f"{year}1{rng.randint(0, 9_999_999):07d}"
        name, addr, prov = rng.choice(CITIES)
        other = rng.choice(CITIES)[0]
        applicants = name if rng.random() < 0.5 or other == name else f"{name};{other}"
        rows.append([f"CN{digits}.{_check_digit(digits)}", f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
                     "", applicants, addr, "H01M8/04", "H01M8/04;F03D1/06", prov, "发明公开", "", f"CN1{i:08d}A"])
    return rows


def to_csv(header, rows, newline="\r\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


@dataclass
class Case:
    family: str
    suffix: str  # ".csv" or ".xlsx"
    data: bytes
    #: the application number of a record that must not load (impossible_date: its date is none)
    rejected: str = ""
    #: the families ``transfers`` and ``covariates``: the other input's file name, bytes and the oracle's verdict
    #: on its records (:func:`transfer_oracle`, :func:`covariate_oracle`)
    other: tuple[str, bytes, dict] | None = None


def mutate(rng: random.Random, family: str, suffix: str = ".csv") -> Case:
    """One mutated export of the family ``family``."""
    rows = base_rows(rng, rng.randint(1, 12))
    header = list(HEADERS)
    enc, newline, bom = "utf-8", "\r\n", True
    pick = rng.randrange(len(rows))
    rejected = ""
    if family == "huge_field":
        rows[pick][rng.choice([3, 4, 9])] = "长" * rng.choice([131_073, 200_000, 1_000_000 // 3])
    elif family == "fullwidth":
        rows[pick] = [v.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}) for v in rows[pick]]
    elif family == "impossible_date":
        rows[pick][1] = rng.choice(["20150230", "19000101", "20991231", "2015-13-45", "0", "99999999", "2015/02/29"])
        if sum(r[0] == rows[pick][0] for r in rows) == 1:
            rejected = rows[pick][0]
    elif family == "dup_header":
        header[rng.randrange(len(header))] = rng.choice(header)
    elif family == "empty_header":
        header[rng.randrange(len(header))] = ""
    elif family == "extra_column":
        header.append("备注")
        for r in rows:
            r.append("x")
        if rng.random() < 0.5:
            rows[pick].append("y")
    elif family == "missing_column":
        k = rng.randrange(len(header))
        del header[k]
        for r in rows:
            del r[k]
    elif family == "many_columns":
        extra = rng.choice([1_000, 5_000])
        header += [f"列{i}" for i in range(extra)]
        for r in rows:
            r += [""] * extra
        if rng.random() < 0.5:
            del rows[pick][-1]
    elif family == "reserved_headers":
        for name in rng.sample(["source_row", "reason_code", "_source_file", "_row", "raw_text", "field", "reason"], 3):
            header.append(name)
            for r in rows:
                r.append(str(rng.randint(0, 9)))
        rows[pick][0] = ""  # one quarantined row carries those columns
    elif family == "no_loadable_row":
        for r in rows:
            r[0] = rng.choice(["", "garbage", "CN123"])
    if suffix == ".xlsx":
        return Case(family, suffix, _xlsx(rng, family, header, rows), rejected)
    if suffix == ".xls":
        return Case(family, suffix, _html_table(rng, family, header, rows), rejected)
    if family in ("gb18030", "utf16"):
        enc = {"gb18030": "gb18030", "utf16": "utf-16"}[family]
        bom = False
    elif family == "no_bom":
        bom = False
    elif family == "cr":
        newline = "\r"
    elif family == "crlf":
        newline = "\r\n" if rng.random() < 0.5 else "\n"
    elif family == "title":  # the title's lines end as the records' do: CR LF, LF, or CR alone (Excel for Mac)
        newline = rng.choice(["\r\n", "\n", "\r"])
    text = to_csv(header, rows, newline)
    data = (b"\xef\xbb\xbf" if bom and enc == "utf-8" else b"") + text.encode(enc)
    if family == "bom":
        data = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]) + data
    elif family == "latin1_field":
        data = data.replace(rows[pick][4].encode(), "Café Straße".encode("latin-1"), 1)
    elif family == "title":  # a database's title, search query or empty lines above the header
        above = rng.sample(["incoPat 专利数据导出", "检索式: AP=(南京) AND AD=[20150101 to 20161231]", "", "共 12 条记录",
                            "导出时间,2016-12-31"], rng.randint(1, 3))
        mark = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
        data = mark + "".join(line + newline for line in above).encode(enc) + data[len(mark):]
    elif family == "blank_lines":
        lines = data.split(b"\n")
        k = rng.randrange(1, len(lines))
        lines[k:k] = [b"", b"\r"][: rng.randint(1, 2)]
        data = b"\n".join(lines)
    elif family in ("byte_flip", "truncate", "stray_quote", "stray_comma", "stray_newline", "stray_nul"):
        data = _byte_mutation(rng, family, data)
    return Case(family, suffix, data, rejected)


def _byte_mutation(rng: random.Random, family: str, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(b))
        if family == "byte_flip":
            b[pos] ^= 1 << rng.randrange(8)
        elif family == "truncate":
            del b[rng.randrange(1, len(b)):]
            break
        else:
            b[pos:pos] = {"stray_quote": b'"', "stray_comma": b",", "stray_newline": b"\n", "stray_nul": b"\x00"}[family]
    return bytes(b)


def _html_table(rng: random.Random, family: str, header, rows) -> bytes:
    """The records as an HTML page named .xls, as CNKI-style databases write their "Excel" export: a
    ``<meta charset>`` (UTF-8 or GB2312), the header in ``<th>``; ``markup``: cells indented over lines,
    ``<br>`` between applicants, ``&nbsp;``, a comment and an empty row between records."""
    import html

    enc = rng.choice(["utf-8", "gb2312"])
    markup = family == "markup"

    def cell(v: str, tag: str) -> str:
        text = html.escape(v)
        if markup:
            text = f"\n   {text.replace(';', ';<br>')}&nbsp;"
        return f"<{tag}>{text}</{tag}>"

    body = []
    for r in rows:
        body.append("<tr>" + "".join(cell(v, "td") for v in r) + "</tr>")
        if markup and rng.random() < 0.3:
            body.append("<!-- 分页 --><tr>" + "<td></td>" * len(r) + "</tr>")
    page = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={enc}"></head><body>'
            f'<table border="1"><tr>{"".join(cell(h, "th") for h in header)}</tr>{"".join(body)}</table></body></html>')
    return page.encode("gb18030" if enc == "gb2312" else enc)


def _xlsx(rng: random.Random, family: str, header, rows) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append([h if h else None for h in header])
    for r in rows:
        ws.append([v[:32_767] for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if family in ("byte_flip", "truncate"):
        data = _byte_mutation(rng, family, data)
    return data


# --- checking ---------------------------------------------------------------------------------------


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _sheet_records(path: Path) -> dict[int, list[str]] | None:
    """Spreadsheet row → cell texts of the first sheet, read from its own XML part alone (``zipfile`` checks
    the part's CRC; ``ElementTree``; shared strings if the workbook has them): the oracle for a workbook whose
    other parts (``docProps/core.xml``, ``[Content_Types].xml``) are damaged, which openpyxl refuses whole
    while the records are intact. None when the sheet's own part is damaged."""
    import xml.etree.ElementTree as ET
    import zipfile

    def text(node) -> str:
        return "".join(t.text or "" for t in node.iter(f"{_SHEET_NS}t"))

    try:
        with zipfile.ZipFile(path) as z:
            sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
            shared = ([text(si) for si in ET.fromstring(z.read("xl/sharedStrings.xml"))]
                      if "xl/sharedStrings.xml" in z.namelist() else [])
        out = {}
        for row in sheet.iter(f"{_SHEET_NS}row"):
            values = []
            for c in row.iter(f"{_SHEET_NS}c"):
                v = c.find(f"{_SHEET_NS}v")
                kind = c.get("t")
                values.append(text(c) if kind == "inlineStr" else shared[int(v.text)] if kind == "s"
                              else "" if v is None else v.text or "")
            if int(row.get("r")) > 1 and any(values):
                out[int(row.get("r"))] = values
        return out
    except Exception:  # noqa: BLE001 - a damaged sheet part: zip, CRC, XML or index errors alike
        return None


def _html_records(path: Path) -> dict[int, list[str]]:
    """Table row → cell texts of the page's largest table, by the standard library's ``html.parser`` (not
    lxml, which the reader uses): rows after the first with any non-blank cell."""
    from html.parser import HTMLParser

    data = path.read_bytes()
    enc = "gb18030" if b"charset=gb2312" in data[:512] else "utf-8"

    class Tables(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.tables: list[list[list[str]]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag, attrs) -> None:
            if tag == "table":
                self.tables.append([])
            elif tag == "tr" and self.tables:
                self.tables[-1].append([])
            elif tag in ("td", "th"):
                self.cell = []
            elif tag == "br" and self.cell is not None:
                self.cell.append("\n")

        def handle_endtag(self, tag) -> None:
            if tag in ("td", "th") and self.cell is not None and self.tables and self.tables[-1]:
                self.tables[-1][-1].append(" ".join("".join(self.cell).replace("\xa0", " ").split()))
                self.cell = None

        def handle_data(self, data) -> None:
            if self.cell is not None:
                self.cell.append(data)

    parser = Tables()
    parser.feed(data.decode(enc))
    rows = max(parser.tables, key=len) if parser.tables else []
    return {i: r for i, r in enumerate(rows, start=1) if i > 1 and any(v.strip() for v in r)}


def expected_records(path: Path) -> dict[int, list[str]] | None:
    """Spreadsheet row → record, by an independent split (Python csv on the decoded text; openpyxl; the
    standard library's HTML parser)."""
    if path.suffix == ".xls":
        return _html_records(path)
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True)
        except Exception:  # noqa: BLE001 - any corrupt workbook
            return _sheet_records(path)
        out = {}
        for i, row in enumerate(wb.active.iter_rows(values_only=True), start=1):
            if i > 1 and any(v not in (None, "") for v in row):
                out[i] = ["" if v is None else str(v) for v in row]
        return out
    data = path.read_bytes()
    for enc in ("utf-8-sig", "utf-16", "gb18030") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("utf-8", errors="surrogateescape")
    text = text.lstrip("\ufeff")
    csv.field_size_limit(2**31 - 1)
    delim = max([",", "\t", ";"], key=text.split("\n", 1)[0].count)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    # the header: the first line naming the application number (a title may stand above it), else line 1
    first = next((k for k, rec in enumerate(records[:30]) if HEADERS[0] in rec), 0)
    if first:
        delim = max([",", "\t", ";"], key=text.splitlines()[first].count)
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    return {k + 1: rec for k, rec in enumerate(records) if k > first and rec}


@dataclass
class Outcome:
    ok: bool
    kind: str  # "loaded", "refused", or the failure
    detail: str = ""


def run_case(case: Case, folder: Path) -> Outcome:
    """Ingest ``case`` in-process through the CLI entry point and judge the outcome."""
    from bench.in_process import run_citynet

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / f"export{case.suffix}"
    path.write_bytes(case.data)
    ws = folder / "ws"
    extra = []
    if case.other is not None:
        other = folder / case.other[0]
        other.write_bytes(case.other[1])
        extra = ["--transfers" if case.family == "transfers" else "--covariates", str(other)]
    code, text, escaped = run_citynet(["-q", "ingest", "-w", str(ws), str(path), *extra])
    if escaped is not None:
        return Outcome(False, "exception", f"{type(escaped).__name__}: {escaped}"[:500])
    if "Traceback" in text or "Exception ignored" in text:
        return Outcome(False, "traceback", text[-800:])
    if case.other is not None:
        if code in (2, 3) and (not text.startswith("error:") or len(text) > MAX_MESSAGE):
            return Outcome(False, "long_or_odd_message", text[:800])
        return _check_other(case, other, ws, code, text)
    if code in (2, 3):
        if not text.startswith("error:") or len(text) > MAX_MESSAGE or len(text.strip().splitlines()) > 12:
            return Outcome(False, "long_or_odd_message", text[:800])
        return Outcome(True, "refused", text.strip().splitlines()[0][:200])
    if code != 0:
        return Outcome(False, f"exit_{code}", text[-800:])
    return _check_loaded(path, ws, case.rejected)


def _check_loaded(path: Path, ws: Path, rejected: str = "") -> Outcome:
    import pandas as pd

    report = json.loads((ws / "reports" / "ingest.json").read_text(encoding="utf-8"))
    f = report["files"][0]
    if f["rows_read"] != f["rows_loaded"] + f["rows_quarantined"]:
        return Outcome(False, "accounting", json.dumps(f))
    expected = expected_records(path)
    if expected is None:
        return Outcome(False, "loaded_unreadable", "")
    if f["rows_read"] != len(expected):
        return Outcome(False, "rows_read", f"report {f['rows_read']}, independent split {len(expected)}")
    patents = pd.read_parquet(ws / "canonical" / "patents.parquet", columns=["patent_id", "source_row"])
    for pid, row in zip(patents["patent_id"], patents["source_row"], strict=True):
        rec = expected.get(int(row))
        digits = "".join(ch for ch in pid if ch.isdigit())
        if rec is None or not any(digits[:8] in "".join(c for c in v.translate(
                {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}) if c.isdigit()) for v in rec):
            return Outcome(False, "wrong_row", f"patent {pid} at row {row}: {str(rec)[:200]}")
    if rejected and rejected in set(patents["patent_id"]):  # 20150230 loaded as 2015-03-02
        return Outcome(False, "loaded_impossible_date", f"patent {rejected} loaded")
    qrows = []
    for q in sorted((ws / "quarantine").glob("*.csv")):
        qt = pd.read_csv(q, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        qrows += [int(r) for r in qt["source_row"]]
    if sorted(set(qrows) | set(patents["source_row"].astype(int))) != sorted(expected) or \
            len(qrows) != f["rows_quarantined"]:
        return Outcome(False, "wrong_row", f"rows seen {sorted(set(qrows))[:10]}…, expected {sorted(expected)[:10]}…")
    return Outcome(True, "loaded")


# --- the other inputs of ingest: transfer files and covariate files ----------------------------------
#
# Each case is a valid small patent export plus a mutated transfers file (``--transfers``) or covariates file
# (``--covariates``). The verdict on every record is the oracle's, written from the rules of docs/methods.md §1.1,
# §1.3, §1.7 and docs/configuration.md §2.2, §3 (not from citynet's code): which records load (transfers: patent,
# date, assignor, assignee; covariates: the city-year values) and which are quarantined, at which row and field,
# for which reason.

OTHER_FAMILIES = ["transfers", "covariates"]
# (name as written, its normal form by §1.1: NFKC, brackets → ( ), white space next to a CJK character removed)
TRANSFER_NAMES = [("南京南瑞科技有限公司", "南京南瑞科技有限公司"), ("南京 南瑞科技有限公司", "南京南瑞科技有限公司"),
                  ("苏州绿能有限公司", "苏州绿能有限公司"), ("苏州绿能有限公司（昆山）", "苏州绿能有限公司(昆山)"),
                  ("苏州绿能有限公司(昆山)", "苏州绿能有限公司(昆山)"), ("杭州新能科技有限公司", "杭州新能科技有限公司"),
                  ("杭州 新能 科技有限公司", "杭州新能科技有限公司"), ("北京清源电力有限公司", "北京清源电力有限公司"),
                  ("ＡＢＣ能源有限公司", "ABC能源有限公司"), ("清华大学", "清华大学"), ("东南大学", "东南大学")]
TRANSFER_HEADER = ["申请号", "转让人", "受让人", "生效日", "受让人地址"]
_BLANK_MARKS = {"", "0", "-", "--", "无", "NULL", "NAN", "NONE", "N/A"}  # §1.1 dates: blank
# covariates: city code, names (today's), and a former name with the years it was the name (§3, §1.4a)
COV_CITIES = [("320100", ["南京市", "南京"]), ("320500", ["苏州市", "苏州"]), ("330100", ["杭州市", "杭州"]),
              ("110000", ["北京市", "北京"]), ("420100", ["武汉市", "武汉"]), ("510100", ["成都市", "成都"])]
COV_FORMER = ("420600", "襄樊市", (2001, 2009))  # 襄樊 → 襄阳 (renamed 2010)


def _oracle_check_digit(digits: str) -> str:
    """ZC 0006-2003 §5 (docs/methods.md §1.1): Σ w_k d_k mod 11, weights 2…9,2…5; 10 → X."""
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5][: len(digits)]
    c = sum(a * int(d) for a, d in zip(w, digits, strict=True)) % 11
    return "X" if c == 10 else str(c)


def _oracle_app_number(text: str) -> tuple[str | None, str | None]:
    """(patent_id, None) or (None, reason code): §1.1's forms, full-width and spaces folded."""
    import unicodedata

    t = unicodedata.normalize("NFKC", text).upper().replace(" ", "").replace("-", "")
    if not t:
        return None, "missing_app_number"
    m = re.fullmatch(r"(?:CN|ZL)?(\d{12}|\d{8})(?:\.?([\dX]))?", t)
    if not m:  # a number in scientific notation (Excel rounded it) has its own code
        sci = re.fullmatch(r"\d(?:\.\d+)?E\+?\d+", t)
        return None, "app_number_scientific" if sci else "bad_app_number"
    digits, check = m.groups()
    if check is not None and check != _oracle_check_digit(digits):
        return None, "app_number_check_digit"
    return f"CN{digits}.{_oracle_check_digit(digits)}", None


def _oracle_date(text: str):
    """§1.1's date forms → (date, None) or (None, reason code): missing_transfer_date, bad_date, impossible_date."""
    import datetime as dt
    import unicodedata

    t = unicodedata.normalize("NFKC", text).strip()
    if t.upper() in _BLANK_MARKS:
        return None, "missing_transfer_date"
    t = re.sub(r"^(\d{4}[-./]\d{1,2}[-./]\d{1,2})[ T].*$", r"\1", t)  # a time after the date is ignored
    serial = re.fullmatch(r"(\d{5})(?:\.0+)?", t)  # a spreadsheet's day number, 1900 system, 20000-73050
    if serial and 20_000 <= int(serial[1]) <= 73_050:
        day = dt.date(1899, 12, 30) + dt.timedelta(days=int(serial[1]))
        return (day, None) if dt.date(1985, 1, 1) <= day <= dt.date.today() else (None, "impossible_date")
    m = (re.fullmatch(r"(\d{4})(\d{2})(\d{2})", t) or re.fullmatch(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})", t)
         or re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", t))
    try:
        day = dt.date(*map(int, m.groups())) if m else None
    except ValueError:
        day = None
    if day is None:
        return None, "bad_date"
    if not dt.date(1985, 1, 1) <= day <= dt.date.today():
        return None, "impossible_date"
    return day, None


def _oracle_names(text: str) -> list[str]:
    """The names of a 转让人/受让人 cell, split on ; ； , ， | ｜ 、 and line breaks, each in its normal form
    (the names written here are those of ``TRANSFER_NAMES``)."""
    normal = dict(TRANSFER_NAMES)
    return [normal.get(n.strip(), n.strip()) for n in re.split(r"[;；,，|｜、\n]", text) if n.strip()]


def transfer_oracle(records: list[tuple[int, list[str]]]) -> dict:
    """The verdict of docs/methods.md §1.3 and §1.7 on transfer ``records`` ((row, cells) in file order): checks
    in order (application number, assignor, assignee, date) then duplicates of (patent, date, from, to), from
    the first assignor to the first assignee that is no assignor. Returns {"rejected": {row: (code, field)},
    "loaded": {(patent, date, from, to)}}; a record whose field count is not the header's is malformed_row."""
    rejected, loaded = {}, {}
    for row, cells in records:
        if len(cells) != len(TRANSFER_HEADER):
            rejected[row] = ("malformed_row", None)
            continue
        if not any(c.strip() for c in cells):
            rejected[row] = ("empty_row", "(record)")
            continue
        pid, err = _oracle_app_number(cells[0])
        if err:
            rejected[row] = (err, "app_number")
            continue
        froms, tos = _oracle_names(cells[1]), _oracle_names(cells[2])
        if not froms:
            rejected[row] = ("no_assignor", "assignor")
            continue
        if not tos:
            rejected[row] = ("no_assignee", "assignee")
            continue
        day, err = _oracle_date(cells[3])
        if err:
            rejected[row] = (err, "date")
            continue
        key = (pid, day.isoformat(), froms[0], next((n for n in tos if n not in froms), tos[0]))
        if key in loaded.values():
            rejected[row] = ("duplicate", "(record)")
        else:
            loaded[row] = key
    return {"rejected": rejected, "loaded": set(loaded.values()), "n": len(records)}


def _encode_lines(rng: random.Random, header: list[str], rows: list[list[str]], title: list[str], enc: str,
                  blank_after: set[int]) -> tuple[bytes, list[int]]:
    """The CSV of ``header`` and ``rows`` with ``title`` lines above and a blank line after the records in
    ``blank_after``; returns the bytes and each record's row as a spreadsheet numbers it (every line counts)."""
    newline = rng.choice(["\r\n", "\n"])
    lines = [*title, to_csv(header, [], newline).rstrip("\r\n")]
    rows_at = []
    for i, r in enumerate(rows):
        lines.append(to_csv(r, [], newline).rstrip("\r\n"))
        rows_at.append(len(lines))
        if i in blank_after:
            lines.append("")
    text = newline.join(lines) + newline
    bom = {"utf-8-sig": b"\xef\xbb\xbf", "utf-16": b""}.get(enc, b"")
    return bom + text.encode("utf-8" if enc == "utf-8-sig" else enc), rows_at


def _other_file(rng: random.Random, header: list[str], rows: list[list[str]], title: list[str],
                blank_after: set[int], numbers: bool = False,
                fmt: str | None = None) -> tuple[str, bytes, list[int], list[list[str]]]:
    """A CSV (three times in four) or a workbook of ``header`` and ``rows`` (``fmt``: ``csv``, ``xlsx``, ``xls``
    — an HTML table, :func:`_html_other` — or ``dta``, :func:`_dta_other`): (suffix, bytes, each record's row, the
    records as written). In a workbook a blank line is an empty row, a record keeps the header's width (a cell
    beyond it is no damaged record there) and, with ``numbers``, plain numbers are number cells (2015, 1447.5)."""
    fmt = fmt or ("csv" if rng.random() < 0.75 else "xlsx")
    if fmt == "csv":
        data, at = _encode_lines(rng, header, rows, title, _other_encoding(rng), blank_after)
        return ".csv", data, at, rows
    if fmt == "xls":
        return _html_other(rng, header, rows, title, blank_after)
    if fmt == "dta":
        return _dta_other(rng, header, rows, blank_after)
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    rows = [r[: len(header)] for r in rows]
    for line in title:
        ws.append([line or None])
    ws.append(header)
    at = []

    def cell(v: str):
        if numbers and re.fullmatch(r"\d+(\.\d+)?", v) and not re.fullmatch(r"\d{6}", v) and rng.random() < 0.5:
            return float(v) if "." in v else int(v)
        return v or None

    records = []
    for i, r in enumerate(rows):
        ws.append([cell(v) for v in r])
        at.append(ws.max_row)
        records.append(r)
        if i in blank_after:  # an empty row between records: a record of blank fields (docs/methods.md §1.7)
            ws.append([None])
            at.append(at[-1] + 1)
            records.append([""] * len(header))
    while records and not any(v.strip() for v in records[-1]):  # empty rows after the last: no rows of the sheet
        records.pop()
        at.pop()
    buf = io.BytesIO()
    wb.save(buf)
    return ".xlsx", buf.getvalue(), at, records


def _html_other(rng: random.Random, header: list[str], rows: list[list[str]], title: list[str],
                blank_after: set[int]) -> tuple[str, bytes, list[int], list[list[str]]]:
    """The rows as the HTML table some databases and yearbook tools save as .xls (§2.5): a ``<meta charset>``
    (UTF-8 or GB2312), a title line as a row of one cell across the table, the header in ``<th>``, an empty row as
    a row of empty cells; every ``<tr>`` is a row as Excel shows the page. An empty row is no record (§2.5 does not
    say; the export fuzz and the reader take it so), a record keeps its cells (one more than the header: a
    malformed_row, §2.5)."""
    import html

    enc = rng.choice(["utf-8", "gb2312"])
    trs = [f'<tr><td colspan="{len(header)}">{html.escape(line)}</td></tr>' for line in title]
    trs.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    at, records = [], []
    for i, r in enumerate(rows):
        trs.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>")
        at.append(len(trs))
        records.append(r)
        if i in blank_after:  # a row of the sheet, but no record (etl/readers.py read_html_table, as an export's)
            trs.append("<tr>" + "<td></td>" * len(header) + "</tr>")
    page = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={enc}"></head><body>'
            f'<table border="1">\n' + "\n".join(trs) + "\n</table></body></html>")
    return ".xls", page.encode("gb18030" if enc == "gb2312" else enc), at, records


def _dta_other(rng: random.Random, header: list[str], rows: list[list[str]],
               blank_after: set[int]) -> tuple[str, bytes, list[int], list[list[str]]]:
    """The rows as a Stata .dta written by pyreadstat (Stata 14 or 15 format; not pandas, whose reader citynet
    uses): one observation per record (an empty row: an observation of blank cells), the header's width; a column
    whose every cell is a plain number is, three times in four, a numeric (double) variable, else str. An
    observation is row k + 1 (the header is row 1, §5)."""
    import pandas as pd
    import pyreadstat

    records = []
    for i, r in enumerate(rows):
        records.append(r[: len(header)])
        if i in blank_after:
            records.append([""] * len(header))
    cols = {}
    for j, h in enumerate(header):
        cells = [r[j] for r in records]
        plain = all(re.fullmatch(r"\d+(\.\d+)?", c) or c == "" for c in cells)
        cols[h] = [float(c) if c else float("nan") for c in cells] if plain and rng.random() < 0.75 else cells
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.dta"
        pyreadstat.write_dta(pd.DataFrame(cols), str(path), version=rng.choice([14, 15]))
        data = path.read_bytes()
    return ".dta", data, [k + 2 for k in range(len(records))], records


def _other_encoding(rng: random.Random) -> str:
    return rng.choice(["utf-8-sig", "utf-8", "gb18030", "utf-16"])


def mutate_transfers(rng: random.Random) -> Case:
    """A valid export and a transfers CSV of its patents with 1–4 damaged records (the kinds below), maybe
    blank lines, a title above the header, a repeated record; GB18030, UTF-8 (BOM or not) or UTF-16."""
    patents = base_rows(rng, rng.randint(2, 5))
    export = b"\xef\xbb\xbf" + to_csv(HEADERS, patents).encode()
    rows = []
    for _ in range(rng.randint(2, 8)):
        pid = rng.choice(patents)[0]
        app = rng.choice([pid, pid[2:], pid.replace(".", ""), pid[:-2], pid.translate(
            {c: c + 0xFEE0 for c in range(0x30, 0x3A)})])
        y, m, d = rng.randint(2009, 2022), rng.randint(1, 12), rng.randint(1, 28)
        date = rng.choice([f"{y}{m:02d}{d:02d}", f"{y}-{m:02d}-{d:02d}", f"{y}.{m:02d}.{d:02d}", f"{y}/{m}/{d}",
                           f"{y}年{m}月{d}日"])
        a, b = rng.sample([n for n, _ in TRANSFER_NAMES], 2)
        rows.append([app, a, b, date, rng.choice(["", "南京市玄武区中山路1号", "江苏省苏州市"])])
    kinds = ["no_app", "bad_app", "check", "no_assignor", "no_assignee", "no_date", "bad_date", "impossible_day",
             "out_of_range", "share", "self", "list", "dup", "extra_field", "spaces", "time", "serial", "app_forms",
             "blank_record", "lead_separator"]
    for _ in range(rng.randint(1, 4)):
        k, r = rng.choice(kinds), rng.choice(rows)
        if k == "no_app":
            r[0] = rng.choice(["", " "])
        elif k == "bad_app":
            r[0] = rng.choice(["CN123", "garbage", "2.01511E+11", "CN2015101234567890"])
        elif k == "check":
            digits = re.sub(r"\D", "", unicodedata_nfkc(r[0]))[:12].ljust(12, "1")
            r[0] = f"CN{digits}.{'X' if _oracle_check_digit(digits) != 'X' else '0'}"
        elif k == "no_assignor":
            r[1] = rng.choice(["", " ", ";"])
        elif k == "no_assignee":
            r[2] = rng.choice(["", " ", "；"])
        elif k == "no_date":
            r[3] = rng.choice(["", "-", "无", "0"])
        elif k == "bad_date":
            r[3] = rng.choice(["2015-13-45", "abc", "2015-00-10", "201503", "15/3/2015"])
        elif k == "impossible_day":
            r[3] = rng.choice(["20150230", "2015/02/29", "2019-04-31", "2016年2月30日", "2018.06.31"])
        elif k == "out_of_range":
            r[3] = rng.choice(["19800101", "1984-12-31", "20991231", "2100-01-01"])
        elif k == "share":  # the owner keeps a share and brings in another: 甲 → 乙
            r[2] = f"{r[1]};{r[2]}"
        elif k == "self":  # a change of name recorded as a transfer: 甲 → 甲
            r[2] = r[1]
        elif k == "list":
            r[1] = f"{r[1]}、{rng.choice(TRANSFER_NAMES)[0]}"
        elif k == "dup":
            rows.append(list(r))
        elif k == "extra_field":
            r.append("多余")
        elif k == "time":  # a date cell as a spreadsheet shows it
            r[3] = f"{y}-{m:02d}-{d:02d} 00:00:00"
        elif k == "serial":  # a date column formatted "General": the day number (42075 = 2015-03-12)
            r[3] = rng.choice(["42075", "42075.0", "40000", "19999", "73051"])
        elif k == "app_forms":  # lower case, spaces, a hyphen (§1.1)
            digits = re.sub(r"\D", "", unicodedata_nfkc(r[0]))[:12].ljust(12, "1")
            r[0] = rng.choice([f"cn{digits}", f"CN {digits[:4]} {digits[4:]}", f"ZL{digits}.{_oracle_check_digit(digits)}",
                               f"{digits[:4]}-{digits[4:]}"])
        elif k == "blank_record":  # a line of separators only: a record of blank fields (empty_row)
            rows.append([""] * len(TRANSFER_HEADER))
        elif k == "lead_separator":  # an assignee list that starts with its separator: the first name is the next
            r[2] = f";{r[2]}"
        elif k == "spaces":  # a name written with spaces or full-width brackets, the same applicant
            r[1] = rng.choice(["南京 南瑞科技有限公司", "杭州 新能 科技有限公司", "苏州绿能有限公司（昆山）"])
    title = rng.choice([[], [], ["专利权转移记录"], ["专利权转移记录", "检索式: 转让 AND 南京", ""]])
    blank_after = {i for i in range(len(rows) - 1) if rng.random() < 0.15}
    suffix, data, at, rows = _other_file(rng, TRANSFER_HEADER, rows, title, blank_after)
    oracle = transfer_oracle(list(zip(at, rows, strict=True)))
    return Case("transfers", ".csv", export, other=(f"transfers{suffix}", data, oracle))


def unicodedata_nfkc(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text)


def _oracle_year(text: str) -> int | None:
    """§3: a whole year written 2006, 2006.0, 2006年 or in full-width digits."""
    t = unicodedata_nfkc(text).strip().removesuffix("年")
    try:
        y = float(t)
    except ValueError:
        return None
    return int(y) if y == int(y) and 1000 <= y <= 9999 else None


def _oracle_code(text: str) -> tuple[str | None, bool]:
    """§3: a code key's city (the first 6 digits; a county-level unit's code is its city's) and whether it is a
    county's; (None, False) for a code of no city of ``COV_CITIES``, (ABOLISHED, False) for a former unit's."""
    k = unicodedata_nfkc(text).strip()
    six = k[:6] if re.fullmatch(r"\d{6}(?:\.0+)?", k) else None
    if six in COV_COUNTIES:
        return COV_COUNTIES[six], True
    if six in COV_ABOLISHED:
        return ABOLISHED, False
    return (six if six in {c for c, _ in COV_CITIES} | {COV_FORMER[0]} else None), False


def _oracle_name(text: str, year: int | None) -> tuple[str | None, bool]:
    """§3: a name key's city (南京市 or 南京; a county-level city's name is its city's; a former name of a city in
    the years it was the name: 襄樊市 2001–2009 is 襄阳), and whether it is a county's. Without a year a former name
    is taken for its city (the generator writes one only with a year of its own, or one made no year: bad_year)."""
    k = re.sub(r"\s+", "", unicodedata_nfkc(text))
    if k in COV_COUNTIES:
        return COV_COUNTIES[k], True
    if k in COV_ABOLISHED_NAMES:  # (the generator writes them with a year of theirs: NAME_YEARS)
        last, later = COV_ABOLISHED_NAMES[k]
        return (ABOLISHED, False) if year is None or year <= last else (later, later is not None)
    if k == COV_FORMER[1] and (year is None or COV_FORMER[2][0] <= year <= COV_FORMER[2][1]):
        return COV_FORMER[0], False
    return {n: code for code, ns in COV_CITIES for n in ns}.get(k), False


def _oracle_key(layout: str, keys: list[str], year: int | None):
    """(city, county?, reason, field) of a row's key cells by §3: ``code``, ``name``, or ``both`` (the code tried
    first, then the name; a code and a name of two cities are a ``city_key_conflict``). The field of a rejected
    key: the key column, or either key column with both (the docs do not say which)."""
    if layout in ("code", "name"):
        city, county = _oracle_code(keys[0]) if layout == "code" else _oracle_name(keys[0], year)
        return city, county, ("abolished_city" if city == ABOLISHED else None if city else "unknown_city"), "key"
    by_code, county = _oracle_code(keys[0])
    by_name, name_county = _oracle_name(keys[1], year)
    assert ABOLISHED not in (by_code, by_name)  # (a former unit beside a code or a name: not written)
    if by_code is not None:
        return by_code, county, "city_key_conflict" if by_name not in (None, by_code) else None, ("code", "name")
    return by_name, name_county, None if by_name else "unknown_city", ("code", "name")


def covariate_oracle(layout: str, records: list[tuple[int, list[str]]], width: int) -> dict:
    """The verdict of docs/configuration.md §3 and docs/methods.md §1.7 on covariate ``records`` ((row, [key(s),
    year, GDP, 人口]) in file order; ``layout``: the key columns, ``code``, ``name`` or ``both``): a record of another
    field count → malformed_row, a row of blank cells → empty_row, a key that names no city → unknown_city (the
    key column), a code and a name of two cities → city_key_conflict, a year not whole → bad_year (the year
    column), a repeated city-year → duplicate (the year column; the first row's values kept, but a city's own row
    before a county-level unit's). A row with two faults is judged by its key first. Returns {"rejected": {row:
    [(code, field)]}, "values": {(code, year): (GDP, 人口)}}."""
    nk = 2 if layout == "both" else 1
    rejected, kept = {}, []
    for row, cells in records:
        if any("\x00" in c for c in cells):  # (which of two faults of a record is named the docs do not say)
            rejected[row] = [(("nul_character", "malformed_row") if len(cells) != width else "nul_character",
                              "(record)")]
            continue
        if len(cells) != width:
            rejected[row] = [("malformed_row", None)]
            continue
        if not any(c.strip() for c in cells):
            rejected[row] = [("empty_row", "(record)")]
            continue
        year = _oracle_year(cells[nk])
        city, county, reason, field = _oracle_key(layout, cells[:nk], year)
        if reason is not None:
            rejected[row] = [(reason, field)]
        elif year is None:
            rejected[row] = [("bad_year", "year")]
        else:
            kept.append((county, row, (city, year), tuple(_oracle_number(v) for v in cells[nk + 1:nk + 3])))
    values = {}
    for _, row, cy, v in sorted(kept, key=lambda t: t[0]):  # a city's own row first, then the file's order
        if cy in values:
            rejected[row] = [("duplicate", "year")]
        else:
            values[cy] = v
    return {"rejected": rejected, "values": values, "n": len(records)}


def wide_oracle(key: str, records: list[tuple[int, list[str]]], years: list[int]) -> dict:
    """§3's wide table (one row per city, one column per year, nothing else): the report's rows are the city-year
    cells; a cell whose city is no city of the set (in its year: a former name is the city's name only in its
    years) is an unknown_city quarantined at the city's line (the key column); a repeated city-year a duplicate
    (the city's own line first, then the file's order); every other cell loads, a cell that is not a number as
    missing."""
    rejected: dict[int, list] = {}
    kept = []
    for row, cells in records:
        for y, v in zip(years, cells[1:], strict=True):
            city, county = _oracle_code(cells[0]) if key == "code" else _oracle_name(cells[0], y)
            assert city != ABOLISHED  # (not written in a wide table)
            if city is None:
                rejected.setdefault(row, []).append(("unknown_city", "key"))
            else:
                kept.append((county, row, (city, y), (_oracle_number(v),)))
    values = {}
    for _, row, cy, v in sorted(kept, key=lambda t: t[0]):
        if cy in values:
            rejected.setdefault(row, []).append(("duplicate", None))  # the field: §3 does not say (no year column)
        else:
            values[cy] = v
    return {"rejected": rejected, "values": values, "n": len(records) * len(years)}


#: §3: the missing-value marks (left missing silently); any other text is left missing too, and counted
MISSING_MARKS_DOC = {"—", "-", "…", ".", "na", "n/a", "null", "/", "无", ""}


def _oracle_number(text: str) -> float:
    """§3: a number as a spreadsheet user writes it: full width, thousands separators, 19.7% (19.7), a
    footnote mark after it (103,796* → 103796); a cell that is still not a number is missing (NaN)."""
    t = unicodedata_nfkc(text).strip()
    if t.lower() in MISSING_MARKS_DOC:
        return float("nan")
    t = t.removesuffix("%").rstrip("*#")
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", t):
        t = t.replace(",", "")
    try:
        return float(t)
    except ValueError:
        return float("nan")


COV_COUNTIES = {"320583": "320500", "昆山市": "320500"}  # 昆山市, a county-level city of 苏州 (§3: its city's row)
ABOLISHED = "abolished"  # the verdict on a former unit's key whose values are no city's (§3, §1.7 abolished_city)
COV_ABOLISHED = {"341400", "371200"}  # 巢湖 (split 2011), 莱芜 (merged into 济南 2019): their codes in any year
#: name → (the last year it named the former unit, the city it is a county-level unit of afterwards or None): §3
#: 巢湖市 is the split prefecture 341400 in 1999–2010 and the county-level city 340181 of 合肥 from 2011; 莱芜市 the
#: prefecture 371200 until 2018 (after, the docs do not say: not written)
COV_ABOLISHED_NAMES = {"巢湖市": (2010, "340100"), "莱芜市": (2018, None)}
NAME_YEARS = {"巢湖市": (2005, 2015), "莱芜市": (2010, 2018)}
#: §3's recognised headers (NFKC, spaces removed, case-insensitive), some of each as a user writes them
COV_CODE_HEADERS = ["city_code", "城市代码", "代码", "adcode", "行政区划代码", "区划代码", "City_Code", "ＣＩＴＹ＿ＣＯＤＥ",
                    "城市 代码"]
COV_NAME_HEADERS = ["城市", "city", "城市名称", "地级市", "所属城市", "City", "城 市"]
COV_YEAR_HEADERS = ["年份", "year", "年", "年度", "统计年度", "Year", "ＹＥＡＲ", " 年份 "]
#: variables' headers and their names in formulas, from §3's table ("GDP (亿元)" → GDP_亿元, "log" → log_)
COV_VARIABLES = [[("GDP", "GDP"), ("GDP (亿元)", "GDP_亿元"), ("gdp-pc", "gdp_pc"), ("R&D", "R_D")],
                 [("人口", "人口"), ("2006年人口", "v2006年人口"), ("log", "log_"), ("C", "C_")]]
#: the formats of a covariate file (§3): CSV, .xlsx, .xls (an HTML table, §2.5) and Stata .dta
COV_FORMATS = ["csv", "csv", "csv", "csv", "xlsx", "xlsx", "xls", "xls", "dta", "dta"]
#: a wide table's file names and the variable §3 names after them (the header rules of §3's table: NFKC, runs of
#: other characters as one `_`)
WIDE_NAMES = [("人均GDP（元）", "人均GDP_元"), ("人口", "人口"), ("GDP (亿元)", "GDP_亿元")]


def mutate_covariates(rng: random.Random) -> Case:
    """A valid export and a covariates file (city code, name or both, year, GDP, 人口) with 1–4 mutations: years
    written 2015.0, 2015年 or full width, or not at all; codes as text; unknown cities; a code and a name of two
    cities; repeated city-years; a former name; thousands separators; an extra field; blank lines; a title above
    the header; as CSV (GB18030, UTF-8 with or without BOM, UTF-16), .xlsx, an HTML table named .xls or Stata
    .dta; or a wide table (:func:`mutate_wide_covariates`), one time in five."""
    if rng.random() < 0.2:
        return mutate_wide_covariates(rng)
    export = b"\xef\xbb\xbf" + to_csv(HEADERS, base_rows(rng, 3)).encode()
    layout = rng.choice(["code", "name", "both"])
    fmt = rng.choice(COV_FORMATS)
    def heading(names: list[str]) -> str:  # (a Stata file's variables are identifiers)
        return rng.choice([h for h in names if fmt != "dta" or h.isidentifier()])

    code_h, name_h = heading(COV_CODE_HEADERS), heading(COV_NAME_HEADERS)
    keys = {"code": [code_h], "name": [name_h], "both": [code_h, name_h]}[layout]
    nk = len(keys)
    # the variables' headers and their names in formulas (§3's table; a Stata file's variables are identifiers)
    (gdp_h, gdp), (pop_h, pop) = (rng.choice([v for v in vs if fmt != "dta" or v[0].isidentifier()])
                                  for vs in COV_VARIABLES)
    header = [*keys, heading(COV_YEAR_HEADERS), gdp_h, pop_h]
    cells = rng.sample([(c, y) for c, _ in COV_CITIES for y in range(2010, 2020)], rng.randint(3, 10))
    names = dict(COV_CITIES)
    rows = []
    for code, y in cells:
        key = {"code": [code], "name": [rng.choice(names[code])], "both": [code, rng.choice(names[code])]}[layout]
        rows.append([*key, str(y), f"{rng.randint(100, 99_999)}.{rng.randint(0, 9)}", str(rng.randint(50, 2_000))])
    kinds = ["year_float", "year_nian", "year_fullwidth", "bad_year", "unknown", "dup", "former", "thousands",
             "extra_field", "code_text", "county", "percent", "footnote", "code_float", "conflict", "blank_name",
             "nul", "former_unit"]
    later = []  # rows added after the mutations (no other mutation touches them)
    for m in range(rng.randint(1, 4)):
        k, r = rng.choice(kinds), rng.choice(rows)
        if layout == "both" and m == 0 and rng.random() < 0.5:
            k = "conflict"
        if k == "nul" and fmt == "csv":  # a NUL byte in a cell: nul_character (a CSV; openpyxl refuses to write one)
            j = rng.randrange(len(r))
            pos = rng.randint(0, len(r[j]))
            r[j] = r[j][:pos] + "\x00" + r[j][pos:]
        elif k == "former_unit" and layout != "both":  # a split or merged prefecture: abolished_city (§3)
            if layout == "code":
                key = rng.choice(sorted(COV_ABOLISHED))
                y = rng.randint(2010, 2019)
            else:
                key = rng.choice(sorted(COV_ABOLISHED_NAMES))
                y = rng.randint(*NAME_YEARS[key])
            later.append([key, str(y), "321.5", "45"])
        if k == "year_float":
            r[nk] = f"{r[nk]}.0" if r[nk].isdigit() else r[nk]
        elif k == "year_nian":
            r[nk] = f"{r[nk]}年" if r[nk].isdigit() else r[nk]
        elif k == "year_fullwidth":
            r[nk] = r[nk].translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})
        elif k == "bad_year":
            r[nk] = rng.choice(["", "abc", "2015.5", "二〇一五", "20x5"])
        elif k == "unknown":
            if layout == "name":
                r[0] = rng.choice(["火星市", "Atlantis", "江苏省"])
            else:
                r[0] = rng.choice(["999999", "000000"])
                if layout == "both" and rng.random() < 0.5:  # else the name decides (§3: the code, then the name)
                    r[1] = rng.choice(["火星市", "Atlantis", "江苏省"])
        elif k == "conflict" and layout == "both":  # 320100 beside 北京市
            r[1] = rng.choice([n for c, ns in COV_CITIES if c != r[0] for n in ns])
        elif k == "blank_name" and layout == "both":  # the code alone decides
            r[1] = ""
        elif k == "dup":  # the same city-year again, with other values
            rows.append([*r[:nk + 1], str(rng.randint(1, 9)), r[nk + 2]])
        elif k == "former":
            key = {"code": [COV_FORMER[0]], "name": [COV_FORMER[1]], "both": list(COV_FORMER[:2])}[layout]
            # with both keys, a year after the rename too: the name then names nothing, the code decides
            years = (COV_FORMER[2][0], COV_FORMER[2][1] + (6 if layout == "both" else 0))
            rows.append([*key, str(rng.randint(*years)), "1234.5", "567"])
        elif k == "thousands":
            r[nk + 1] = f"{rng.randint(1, 99)},{rng.randint(0, 999):03d}"
        elif k == "extra_field":
            r.append("注")
        elif k == "county":  # a county-level unit's row: its city's, unless the city's own row gives the year (§3)
            key = {"code": ["320583"], "name": ["昆山市"], "both": ["320583", "昆山市"]}[layout]
            rows.insert(rng.randint(0, len(rows)), [*key, r[nk], "7.5", "8"])
        elif k == "percent" and re.fullmatch(r"[\d.,]+", r[nk + 1]):  # 19.7% is 19.7
            r[nk + 1] = f"{r[nk + 1]}%"
        elif k == "footnote" and re.fullmatch(r"[\d.,]+", r[nk + 1]):  # a yearbook's footnote mark is dropped
            r[nk + 1] = f"{r[nk + 1]}{rng.choice(['*', '#'])}"
        elif k == "code_float" and layout != "name":  # a code saved as a number with its decimals: 6 digits
            r[0] = f"{r[0]}.0" if r[0].isdigit() else r[0]
        elif k == "code_text" and layout != "name":
            r[0] = rng.choice([f" {r[0]}", f"{r[0]} "])
    rows += later
    # §3: a column without any number (a province's name, an empty 备注) is left out (dropped_columns)
    extra = rng.choice([[], [], [], ["省份"], ["备注"]])
    if extra:
        header = [*header, *extra]
        rows = [[*r, rng.choice(["江苏", "浙江", "广东"]) if extra == ["省份"] else ""] for r in rows]
    swap = layout == "both" and rng.random() < 0.5  # the name column before the code column (§3: the code first)
    if swap:
        header = [header[1], header[0], *header[2:]]
        rows = [[r[1], r[0], *r[2:]] for r in rows]
    title = [] if fmt == "dta" else rng.choice([[], [], ["2016年中国城市统计年鉴"], ["地级市面板", "单位：亿元，万人", ""]])
    blank_after = {i for i in range(len(rows) - 1) if rng.random() < 0.2}
    suffix, data, at, rows = _other_file(rng, header, rows, title, blank_after, numbers=True, fmt=fmt)
    records = [(row, [r[1], r[0], *r[2:]] if swap and len(r) > 1 else r) for row, r in zip(at, rows, strict=True)]
    oracle = covariate_oracle(layout, records, len(header))
    oracle.update(fields={"key": header[0], "code": code_h, "name": name_h, "year": header[nk]}, layout=layout,
                  absent=extra, columns=[gdp, pop])
    return Case("covariates", ".csv", export, other=(f"covariates{suffix}", data, oracle))


def mutate_wide_covariates(rng: random.Random) -> Case:
    """A wide table (§3: a yearbook download, the city column and one column per year, ``2014`` or ``2015年``, and
    nothing else), one variable named after the file: cities by code or name, with unknown cities, a repeated
    city, a former name over the years of its rename, a county-level city beside its city, blank cells and missing
    marks, thousands separators, 19.7% and footnote marks; a title above the header; CSV, .xlsx or an HTML table
    named .xls (a Stata file cannot name a variable 2014)."""
    export = b"\xef\xbb\xbf" + to_csv(HEADERS, base_rows(rng, 3)).encode()
    key = rng.choice(["code", "name"])
    first = rng.randint(2004, 2013)
    years = list(range(first, first + rng.randint(2, 5)))
    header = [rng.choice(["代码", "city_code"] if key == "code" else ["城市", "地区", "城市名称"]),
              *[rng.choice([str(y), f"{y}年"]) for y in years]]
    names = dict(COV_CITIES)
    rows = []
    for code, _ in rng.sample(COV_CITIES, rng.randint(2, 5)):
        rows.append([code if key == "code" else rng.choice(names[code]),
                     *[f"{rng.randint(100, 99_999)}.{rng.randint(0, 9)}" for _ in years]])
    unit = rng.random() < 0.1  # a unit column besides the years: no wide table (§3), and no year column: exit 3
    for _ in range(rng.randint(1, 4)):
        k, r = rng.choice(["unknown", "unknown", "dup", "former", "county", "blank", "mark", "thousands", "percent",
                           "footnote"]), rng.choice(rows)
        j = rng.randint(1, len(years))
        if k == "unknown":
            r[0] = rng.choice(["999999", "000000"] if key == "code" else ["火星市", "Atlantis", "江苏省"])
        elif k == "dup":
            rows.append([r[0], *[str(rng.randint(1, 9)) for _ in years]])
        elif k == "former" and (key == "code" or years[-1] <= COV_FORMER[2][1]):
            # 襄樊市 is 襄阳's name until 2009 (§3: a name is the unit it named in the row's year; whether a former
            # name of one city is read in later years too, §1.7's "former names of a city", the docs leave open:
            # written only in its years); its code is the city's in every year
            rows.append([COV_FORMER[0] if key == "code" else COV_FORMER[1], *[f"{rng.randint(1, 999)}" for _ in years]])
        elif k == "county":
            rows.insert(rng.randint(0, len(rows)), ["320583" if key == "code" else "昆山市", *["7.5" for _ in years]])
        elif k == "blank":
            r[j] = ""
        elif k == "mark":
            r[j] = rng.choice(["—", "NA", "…", "缺失"])
        elif k == "thousands":
            r[j] = f"{rng.randint(1, 99)},{rng.randint(0, 999):03d}"
        elif k == "percent" and re.fullmatch(r"[\d.]+", r[j]):
            r[j] = f"{r[j]}%"
        elif k == "footnote" and re.fullmatch(r"[\d.]+", r[j]):
            r[j] = f"{r[j]}{rng.choice(['*', '#'])}"
    if unit:
        header = [header[0], "单位", *header[1:]]
        rows = [[r[0], "元", *r[1:]] for r in rows]
    fmt = rng.choice(["csv", "csv", "xlsx", "xls"])
    title = rng.choice([[], [], ["人均地区生产总值（元）"], ["地级市 人均GDP", "单位：元", ""]])
    suffix, data, at, rows = _other_file(rng, header, rows, title, set(), numbers=True, fmt=fmt)
    stem, variable = rng.choice(WIDE_NAMES)
    oracle = ({"rejected": {}, "values": {}, "n": 0} if unit
              else wide_oracle(key, list(zip(at, rows, strict=True)), years))
    oracle.update(fields={"key": header[0]}, columns=[variable], layout="wide")
    return Case("covariates", ".csv", export, other=(f"{stem}{suffix}", data, oracle))


def _check_other(case: Case, other: Path, ws: Path, code: int, text: str) -> Outcome:
    """Judge a transfers or covariates case against its oracle (``Case.other``)."""
    import pandas as pd

    oracle = case.other[2]
    loads = bool(oracle["loaded"]) if case.family == "transfers" else bool(oracle["values"])
    if code == 3 and not loads and case.family == "covariates":  # documented: none of its rows loads (exit 3)
        return Outcome(True, "refused", text.strip().splitlines()[0][:200])
    if code != 0:
        return Outcome(False, f"exit_{code}", text[-800:])
    report = json.loads((ws / "reports" / "ingest.json").read_text(encoding="utf-8"))
    if case.family == "transfers":
        f = next(e for e in report["files"] if e["kind"] == "transfers")
    else:
        f = report["covariates"][0]
    if f["rows_read"] != f["rows_loaded"] + f["rows_quarantined"]:
        return Outcome(False, "accounting", json.dumps(f, ensure_ascii=False)[:400])
    if f["rows_read"] != oracle["n"]:
        return Outcome(False, "rows_read", f"report {f['rows_read']}, oracle {oracle['n']}")
    seen: dict[int, list[tuple[str, str]]] = {}  # row → its quarantined entries (a wide table's: one per cell)
    for q in sorted((ws / "quarantine").glob("*.csv")):
        qt = pd.read_csv(q, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for _, r in qt[qt["source_file"] == str(other)].iterrows():
            seen.setdefault(int(r["source_row"]), []).append((r["reason_code"], r["field"]))
    fields = oracle.get("fields", {})

    def field_ok(want, got: str) -> bool:  # None: not checked; a tuple: any of those columns (the docs say no more)
        # (the column as the file writes it; an HTML cell's spaces around it are not kept, §2.5)
        return want is None or got.strip() in {fields.get(w, w).strip() for w in (
            want if isinstance(want, tuple) else (want,))}

    for row, verdict in oracle["rejected"].items():
        want = verdict if isinstance(verdict, list) else [verdict]
        got = seen.get(row, [])
        left = list(want)  # each quarantined entry matched to one of the oracle's (a tuple: either reason)
        for r, f in got:
            hit = next((w for w in left if r in (w[0] if isinstance(w[0], tuple) else (w[0],)) and field_ok(w[1], f)),
                       None)
            if hit is None:
                break
            left.remove(hit)
        if left or len(got) != len(want):
            return Outcome(False, "wrong_quarantine", f"row {row}: oracle {want}, quarantine {got or None}"
                           f" (fields {fields})")
    if set(seen) != set(oracle["rejected"]):
        extra = {r: seen[r] for r in sorted(set(seen) - set(oracle["rejected"]))}
        return Outcome(False, "wrong_quarantine", f"quarantined beyond the oracle's: {extra}")
    if case.family == "transfers":
        t = pd.read_parquet(ws / "canonical" / "transfers.parquet")
        # names → applicant ids: every name as normalised (applicant_names; variants of one firm share an id)
        names = pd.read_parquet(ws / "canonical" / "applicant_names.parquet", columns=["applicant_id", "name"])
        id_of = dict(zip(names["name"], names["applicant_id"], strict=True))
        want = {(p, d, id_of.get(a, f"no id for {a}"), id_of.get(b, f"no id for {b}")) for p, d, a, b in oracle["loaded"]}
        got = {(p, str(d), a, b) for p, d, a, b in zip(t["patent_id"], t["date"], t["from_applicant_id"],
                                                          t["to_applicant_id"], strict=True)}
        if got != want:
            return Outcome(False, "wrong_transfers", f"loaded {sorted(got - want)[:3]}, missing {sorted(want - got)[:3]}")
    else:
        c = pd.read_parquet(ws / "canonical" / "covariates.parquet")
        missing = [col for col in oracle["columns"] if col not in c.columns]
        if missing:  # (a column without any number is left out, §3: the generator always writes numbers)
            return Outcome(False, "wrong_values", f"no column {missing} among {list(c.columns)}")
        got = {(str(k), int(y)): tuple(float(x) for x in xs) for k, y, *xs in zip(
            c["city_code"], c["year"], *(c[col] for col in oracle["columns"]), strict=True)}

        def differ(a: float, b: float) -> bool:  # NaN: a cell left missing
            return (a != a) != (b != b) or (a == a and abs(a - b) > 1e-9 * max(1, abs(b)))

        if set(oracle.get("absent", [])) & set(c.columns):  # a column without any number is left out (§3)
            return Outcome(False, "wrong_columns", f"{oracle['absent']} kept: {list(c.columns)}")
        if got.keys() != oracle["values"].keys() or any(differ(got[k][i], x) for k, v in oracle["values"].items()
                                                        for i, x in enumerate(v)):
            diff = {k: (got.get(k), oracle["values"].get(k)) for k in got.keys() ^ oracle["values"].keys()}
            return Outcome(False, "wrong_values", f"city-years differ {diff}"[:500] if diff else "values differ")
    return Outcome(True, "loaded")


def shrink(case: Case, failure: str, folder: Path) -> Case:
    """Remove records (lines) while the same kind of failure stays; CSV only."""
    if case.suffix != ".csv" or case.other is not None:
        return case
    lines = case.data.split(b"\n")
    i = 1
    while i < len(lines) and len(lines) > 2:
        trial = Case(case.family, case.suffix, b"\n".join(lines[:i] + lines[i + 1:]), case.rejected)
        if run_case(trial, folder).kind == failure:
            lines = lines[:i] + lines[i + 1:]
        else:
            i += 1
    return Case(case.family, case.suffix, b"\n".join(lines), case.rejected)


def cases(seed: int, count: int, xls: bool = False, others: bool = False):
    """``count`` cases from ``seed``: families in turn (CSV and XLSX; ``xls``: the HTML tables named .xls;
    ``others``: the transfer and covariate files), each with its own sub-seed."""
    rng = random.Random(seed)
    kinds = ([(f, ".xls") for f in XLS_FAMILIES] if xls else [(f, ".csv") for f in OTHER_FAMILIES] if others else
             [(f, ".csv") for f in FAMILIES] + [(f, ".xlsx") for f in XLSX_FAMILIES])
    for i in range(count):
        fam, suffix = kinds[i % len(kinds)]
        sub = random.Random(rng.getrandbits(64))
        yield i, (mutate_transfers(sub) if fam == "transfers" else mutate_covariates(sub) if fam == "covariates"
                  else mutate(sub, fam, suffix))


def fuzz(seed: int, count: int, keep: Path | None = None, progress=None, xls: bool = False,
         others: bool = False) -> dict:
    """Run ``count`` cases; returns counts by outcome and the failures (shrunk and kept under ``keep``)."""
    tally: dict[str, int] = {}
    failures = []
    with tempfile.TemporaryDirectory(prefix="citynet-fuzz-") as tmp:
        work = Path(tmp) / "case"
        for i, case in cases(seed, count, xls, others):
            res = run_case(case, work)
            key = res.kind if res.ok else f"FAIL {res.kind}"
            tally[key] = tally.get(key, 0) + 1
            if not res.ok:
                small = shrink(case, res.kind, Path(tmp) / "shrink")
                name = f"seed{seed}_case{i}_{case.family}_{res.kind}{case.suffix}"
                if keep:
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / name).write_bytes(small.data)
                    if small.other is not None:
                        (keep / f"{Path(name).stem}_{small.other[0]}").write_bytes(small.other[1])
                failures.append({"case": i, "family": case.family, "suffix": case.suffix, "failure": res.kind,
                                 "detail": res.detail[:300], "fixture": name})
            if progress:
                progress(i, res)
    return {"seed": seed, "count": count, "outcomes": tally, "failures": failures}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=1_000)
    ap.add_argument("--keep", type=Path, default=None, help="write shrunk failing cases here")
    ap.add_argument("--xls", action="store_true", help="the HTML tables named .xls instead of CSV and XLSX")
    ap.add_argument("--others", action="store_true",
                    help="the transfer and covariate files (families transfers, covariates) instead of exports")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    seen: dict[str, int] = {}

    def progress(i: int, r: Outcome) -> None:  # a running tally on stderr, so a cut-short run still reports
        key = r.kind if r.ok else f"FAIL {r.kind}"
        seen[key] = seen.get(key, 0) + 1
        if (i + 1) % 50 == 0:
            print(f"{i + 1}/{args.count} {time.perf_counter() - t0:.0f}s {json.dumps(seen)}", file=sys.stderr, flush=True)

    res = fuzz(args.seed, args.count, args.keep, progress=progress, xls=args.xls, others=args.others)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(res, ensure_ascii=False, indent=2))
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
