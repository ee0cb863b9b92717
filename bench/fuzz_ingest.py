"""Fuzz the ingest: mutated CSV and XLSX exports through ``citynet ingest``, each case checked.

Every case must either load with exact row accounting — rows read equal the records an independent
splitter counts, every loaded patent's and every quarantined row's ``source_row`` is the spreadsheet row
that holds it — or be refused with one short message and a documented exit code (2 or 3). A traceback,
another exit code, an exception escaping the CLI, a long message or a wrong row number is a failure;
failures are shrunk (records removed while the failure stays) and written as regression fixtures.

    python -m bench.fuzz_ingest --seed 1 --count 2000 [--keep tests/fixtures/fuzz]

The CI sample is ``tests/test_fuzz_ingest.py`` (a fixed seed and a few hundred cases).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
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
    code, text, escaped = run_citynet(["-q", "ingest", "-w", str(ws), str(path)])
    if escaped is not None:
        return Outcome(False, "exception", f"{type(escaped).__name__}: {escaped}"[:500])
    if "Traceback" in text or "Exception ignored" in text:
        return Outcome(False, "traceback", text[-800:])
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


def shrink(case: Case, failure: str, folder: Path) -> Case:
    """Remove records (lines) while the same kind of failure stays; CSV only."""
    if case.suffix != ".csv":
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


def cases(seed: int, count: int, xls: bool = False):
    """``count`` cases from ``seed``: families in turn (CSV and XLSX; ``xls``: the HTML tables named .xls),
    each with its own sub-seed."""
    rng = random.Random(seed)
    kinds = ([(f, ".xls") for f in XLS_FAMILIES] if xls else
             [(f, ".csv") for f in FAMILIES] + [(f, ".xlsx") for f in XLSX_FAMILIES])
    for i in range(count):
        fam, suffix = kinds[i % len(kinds)]
        yield i, mutate(random.Random(rng.getrandbits(64)), fam, suffix)


def fuzz(seed: int, count: int, keep: Path | None = None, progress=None, xls: bool = False) -> dict:
    """Run ``count`` cases; returns counts by outcome and the failures (shrunk and kept under ``keep``)."""
    tally: dict[str, int] = {}
    failures = []
    with tempfile.TemporaryDirectory(prefix="citynet-fuzz-") as tmp:
        work = Path(tmp) / "case"
        for i, case in cases(seed, count, xls):
            res = run_case(case, work)
            key = res.kind if res.ok else f"FAIL {res.kind}"
            tally[key] = tally.get(key, 0) + 1
            if not res.ok:
                small = shrink(case, res.kind, Path(tmp) / "shrink")
                name = f"seed{seed}_case{i}_{case.family}_{res.kind}{case.suffix}"
                if keep:
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / name).write_bytes(small.data)
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
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    seen: dict[str, int] = {}

    def progress(i: int, r: Outcome) -> None:  # a running tally on stderr, so a cut-short run still reports
        key = r.kind if r.ok else f"FAIL {r.kind}"
        seen[key] = seen.get(key, 0) + 1
        if (i + 1) % 50 == 0:
            print(f"{i + 1}/{args.count} {time.perf_counter() - t0:.0f}s {json.dumps(seen)}", file=sys.stderr, flush=True)

    res = fuzz(args.seed, args.count, args.keep, progress=progress, xls=args.xls)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(res, ensure_ascii=False, indent=2))
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
