"""Fuzz the ingest: mutated CSV and XLSX exports through ``citynet ingest``, each case checked.

Every case must either load with exact row accounting — rows read equal the records an independent
splitter counts, every loaded patent's and every quarantined row's ``source_row`` is the spreadsheet row
that holds it — or be refused with one short message and a documented exit code (2 or 3). A traceback,
another exit code, an exception escaping the CLI, a long message or a wrong row number is a failure;
failures are shrunk (records removed while the failure stays) and written as regression fixtures.

    python -m bench.fuzz_ingest --seed 1 --count 2000 [--keep tests/fixtures/fuzz]

``--others`` runs the other inputs of ``ingest`` instead (families ``transfers`` and ``covariates``): a valid
export plus a mutated ``--transfers`` or ``--covariates`` CSV (damaged, blank, repeated records; bad, impossible
and out-of-range dates; missing assignors and assignees; names with spaces or full-width brackets; assignees
that include the assignor; years as 2015.0, 2015年 or full width; codes as text; unknown cities; repeated
city-years; a former name; titles above the header; GB18030, UTF-8 with or without BOM, UTF-16), each judged
against an oracle written from docs/methods.md §1.1, §1.3, §1.7 and docs/configuration.md §3: rows read =
loaded + quarantined = the records written, every record the oracle rejects quarantined at its row with its
field and reason, and the transfers (patent, date, assignor, assignee) or city-year values that load.

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
                blank_after: set[int], numbers: bool = False) -> tuple[str, bytes, list[int], list[list[str]]]:
    """A CSV (three times in four) or a workbook of ``header`` and ``rows``: (suffix, bytes, each record's row,
    the records as written). In a workbook a blank line is an empty row, a record keeps the header's width (a cell
    beyond it is no damaged record there) and, with ``numbers``, plain numbers are number cells (2015, 1447.5)."""
    if rng.random() < 0.75:
        data, at = _encode_lines(rng, header, rows, title, _other_encoding(rng), blank_after)
        return ".csv", data, at, rows
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


def covariate_oracle(key: str, records: list[tuple[int, list[str]]], width: int) -> dict:
    """The verdict of docs/configuration.md §3 and docs/methods.md §1.7 on covariate ``records`` ((row, [key,
    year, GDP, 人口]) in file order): a record of another field count → malformed_row, a row of blank cells →
    empty_row, a key that names no city → unknown_city (the key column), a year not whole → bad_year (the year
    column), a repeated city-year → duplicate (the year column; the first row's values kept). Returns
    {"rejected": {row: (code, field)}, "values": {(code, year): (GDP, 人口)}}."""
    names = {n: code for code, ns in COV_CITIES for n in ns}
    counties = {"320583": "320500", "昆山市": "320500"}  # 昆山市, a county-level city of 苏州 (§3: its city's row)
    rejected, kept = {}, []
    for row, cells in records:
        if len(cells) != width:
            rejected[row] = ("malformed_row", None)
            continue
        if not any(c.strip() for c in cells):
            rejected[row] = ("empty_row", "(record)")
            continue
        k = unicodedata_nfkc(cells[0]).strip()
        county = k in counties
        if key == "code":
            six = k[:6] if re.fullmatch(r"\d{6}(?:\.0+)?", k) else None
            code = counties.get(six) or (six if six in {c for c, _ in COV_CITIES} | {COV_FORMER[0]} else None)
        else:
            code = counties.get(k) or names.get(k)
        year = _oracle_year(cells[1])
        # a former name of one city is that city's name (襄樊市 → 襄阳); without a year it is a bad year, not an
        # unknown city (the generator writes it only with a year of its own, or one made no year)
        if k == COV_FORMER[1] and (year is None or COV_FORMER[2][0] <= year <= COV_FORMER[2][1]):
            code = COV_FORMER[0]
        if code is None:
            rejected[row] = ("unknown_city", "key")
        elif year is None:
            rejected[row] = ("bad_year", "year")
        else:
            kept.append((county, row, (code, year), tuple(_oracle_number(v) for v in cells[2:4])))
    values = {}
    for _, row, cy, v in sorted(kept, key=lambda t: t[0]):  # a city's own row first, then the file's order
        if cy in values:
            rejected[row] = ("duplicate", "year")
        else:
            values[cy] = v
    return {"rejected": rejected, "values": values, "n": len(records)}


def _oracle_number(text: str) -> float:
    """§3: a number as a spreadsheet user writes it: full width, thousands separators, 19.7% (19.7), a
    footnote mark after it (103,796* → 103796)."""
    t = unicodedata_nfkc(text).strip().removesuffix("%").rstrip("*#")
    return float(t.replace(",", ""))


def mutate_covariates(rng: random.Random) -> Case:
    """A valid export and a covariates CSV (city code or name, year, GDP, 人口) with 1–4 mutations: years written
    2015.0, 2015年 or full width, or not at all; codes as text; unknown cities; repeated city-years; a former name;
    thousands separators; an extra field; blank lines; a title above the header; GB18030, UTF-8 (BOM or not) or
    UTF-16."""
    export = b"\xef\xbb\xbf" + to_csv(HEADERS, base_rows(rng, 3)).encode()
    key = rng.choice(["code", "name"])
    header = [rng.choice(["city_code", "城市代码", "代码"] if key == "code" else ["城市", "city", "城市名称"]),
              rng.choice(["年份", "year", "年"]), "GDP", "人口"]
    cells = rng.sample([(c, y) for c, _ in COV_CITIES for y in range(2010, 2020)], rng.randint(3, 10))
    rows = []
    for code, y in cells:
        k = code if key == "code" else rng.choice(dict(COV_CITIES)[code])
        rows.append([k, str(y), f"{rng.randint(100, 99_999)}.{rng.randint(0, 9)}", str(rng.randint(50, 2_000))])
    kinds = ["year_float", "year_nian", "year_fullwidth", "bad_year", "unknown", "dup", "former", "thousands",
             "extra_field", "code_text", "county", "percent", "footnote", "code_float"]
    for _ in range(rng.randint(1, 4)):
        k, r = rng.choice(kinds), rng.choice(rows)
        if k == "year_float":
            r[1] = f"{r[1]}.0" if r[1].isdigit() else r[1]
        elif k == "year_nian":
            r[1] = f"{r[1]}年" if r[1].isdigit() else r[1]
        elif k == "year_fullwidth":
            r[1] = r[1].translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})
        elif k == "bad_year":
            r[1] = rng.choice(["", "abc", "2015.5", "二〇一五", "20x5"])
        elif k == "unknown":
            r[0] = rng.choice(["999999", "000000"] if key == "code" else ["火星市", "Atlantis", "江苏省"])
        elif k == "dup":  # the same city-year again, with other values
            rows.append([r[0], r[1], str(rng.randint(1, 9)), r[3]])
        elif k == "former":
            rows.append([COV_FORMER[0] if key == "code" else COV_FORMER[1], str(rng.randint(*COV_FORMER[2])),
                         "1234.5", "567"])
        elif k == "thousands":
            r[2] = f"{rng.randint(1, 99)},{rng.randint(0, 999):03d}"
        elif k == "extra_field":
            r.append("注")
        elif k == "county":  # a county-level unit's row: its city's, unless the city's own row gives the year (§3)
            rows.insert(rng.randint(0, len(rows)), ["320583" if key == "code" else "昆山市", r[1], "7.5", "8"])
        elif k == "percent" and re.fullmatch(r"[\d.,]+", r[2]):  # 19.7% is 19.7
            r[2] = f"{r[2]}%"
        elif k == "footnote" and re.fullmatch(r"[\d.,]+", r[2]):  # a yearbook's footnote mark after it is dropped
            r[2] = f"{r[2]}{rng.choice(['*', '#'])}"
        elif k == "code_float" and key == "code":  # a code saved as a number with its decimals: the first 6 digits
            r[0] = f"{r[0]}.0" if r[0].isdigit() else r[0]
        elif k == "code_text" and key == "code":
            r[0] = rng.choice([f" {r[0]}", f"{r[0]} "])
    title = rng.choice([[], [], ["2016年中国城市统计年鉴"], ["地级市面板", "单位：亿元，万人", ""]])
    blank_after = {i for i in range(len(rows) - 1) if rng.random() < 0.2}
    suffix, data, at, rows = _other_file(rng, header, rows, title, blank_after, numbers=True)
    oracle = covariate_oracle(key, list(zip(at, rows, strict=True)), len(header))
    oracle["fields"] = {"key": header[0], "year": header[1]}
    return Case("covariates", ".csv", export, other=(f"covariates{suffix}", data, oracle))


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
    seen = {}
    for q in sorted((ws / "quarantine").glob("*.csv")):
        qt = pd.read_csv(q, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for _, r in qt[qt["source_file"] == str(other)].iterrows():
            seen[int(r["source_row"])] = (r["reason_code"], r["field"])
    fields = oracle.get("fields", {})
    for row, (reason, field) in oracle["rejected"].items():
        got = seen.get(row)
        want_field = fields.get(field, field)
        if got is None or got[0] != reason or (field is not None and got[1] != want_field):
            return Outcome(False, "wrong_quarantine", f"row {row}: oracle {reason}/{want_field}, quarantine {got}")
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
        got = {(str(k), int(y)): (float(g), float(p)) for k, y, g, p in zip(c["city_code"], c["year"], c["GDP"],
                                                                              c["人口"], strict=True)}
        if got.keys() != oracle["values"].keys() or any(abs(got[k][i] - v[i]) > 1e-9 * max(1, abs(v[i]))
                                                        for k, v in oracle["values"].items() for i in (0, 1)):
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
