"""City-year covariates (GDP, population, policy dummies, …) keyed by city code or Chinese city name.

Keys are matched to the city set by 6-digit code (a county-level or older code is mapped through
the crosswalk) or by name, with or without the suffix 市 (南京市, 南京), historical names included
(襄樊 → 襄阳). Rows whose key matches no city are quarantined; a file whose keys match nothing
stops with the keys it tried, and so does a file none of whose rows loads.

A wide table — a yearbook download with one row per city and one column per year (``城市, 2014, 2015年, …``)
and no other column — is one variable named after the file (``人均GDP（元）.xlsx`` → ``人均GDP_元``), read as one
row per city and year (the report's ``wide``; its rows are the city-year cells, quarantined with the city's line).

Values are read as a spreadsheet user writes them: full-width digits, thousands separators
(``86,578``) and years written ``2006年`` are numbers; so are a share written ``19.7%`` (read as 19.7, the
number in percent as the column's other cells usually are: the report and ``ingest`` name the column) and a
number followed by a yearbook's footnote mark (``103,796*``, ``5.2#``: the mark dropped, and counted). A cell that is still not a number (and not a
missing-value mark such as ``—`` or ``NA``) is left missing and counted in the report, never dropped
silently; so is a column without any number, which is left out.

Column names are made names that a formula can hold (:func:`formula_name`: ``GDP (亿元)`` → ``GDP_亿元``,
``gdp-pc`` → ``gdp_pc``, ``2006年人口`` → ``v2006年人口``, ``log`` → ``log_``; ``人均GDP`` stays), so that one name serves in
formulas, SPEC files, ``map --var`` and Stata exports; the mapping is in the report (``renamed``) and
printed by ``ingest``, and a formula may also write the header in backquotes (```GDP (亿元)```).
"""

from __future__ import annotations

import functools
import keyword
import re
import unicodedata
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from citynet.etl.cities import HISTORICAL_NAMES, city_set
from citynet.etl.formula_words import FORMULA_FUNCTIONS
from citynet.etl.headers import header_key
from citynet.etl.quarantine import Quarantine
from citynet.etl.readers import peek_rows, sheet_note

from citynet.errors import DataError

CODE_HEADERS = ("city_code", "citycode", "code", "adcode", "城市代码", "行政区划代码", "城市编码", "地区代码", "区划代码",
                "代码", "id")
NAME_HEADERS = ("city", "city_name", "城市", "城市名称", "地区", "城市名", "地级市", "所属城市", "名称", "name", "name_zh")
YEAR_HEADERS = ("year", "年份", "年度", "统计年度", "年")


#: Parquet schema metadata key of ``canonical/covariates.parquet``: JSON {formula name: the file's header}
COVARIATE_HEADERS = b"citynet_covariate_headers"
#: cells that mean "no value" in statistical yearbooks and Stata exports (after NFKC, lower case)
MISSING_MARKS = frozenset({"", ".", "na", "n/a", "n.a.", "nan", "null", "none", "-", "--", "—", "——", "…", "...",
                           "……", "/", "无",
                           # pandas' own marks of a missing value (lower case), which its CSV reader applied
                           "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan", "<na>"})
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


_PERCENT = re.compile(r"([+-]?[\d.,]+)\s*%")  # 19.7%: the number as written, in percent
_NOTE_MARK = re.compile(r"([+-]?[\d.,]+)\s*[*#†‡△▲]+")  # 103,796*: a yearbook's footnote mark after the number


class Numbers(NamedTuple):
    """A column read as numbers: the values, the cells that were not numbers (left missing), the cells written
    with '%' (read as the number before it) and those with a footnote mark after the number (mark dropped)."""

    values: pd.Series
    bad: pd.Series
    percent: pd.Series
    marked: pd.Series


def to_numbers(col: pd.Series) -> Numbers:
    """``col`` as numbers (``pd.to_numeric``; text cells first NFKC-normalised, stripped and freed of
    thousands separators, a '%' after the number and a footnote mark such as '*'), with the masks of
    :class:`Numbers`."""
    num = pd.to_numeric(col, errors="coerce")
    none = pd.Series(False, index=col.index)
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return _finite(Numbers(num, none, none, none))
    retry = num.isna() & col.notna()
    if not retry.any():
        return _finite(Numbers(num, retry, none, none))
    text = col[retry].astype(str).str.normalize("NFKC").str.strip()
    percent = text.str.fullmatch(_PERCENT.pattern)
    marked = text.str.fullmatch(_NOTE_MARK.pattern)
    text = text.where(~percent, text.str.replace(_PERCENT, r"\1", regex=True))
    text = text.where(~marked, text.str.replace(_NOTE_MARK, r"\1", regex=True))
    text = text.where(~text.str.fullmatch(_THOUSANDS.pattern), text.str.replace(",", "", regex=False))
    fixed = pd.to_numeric(text, errors="coerce")
    num.loc[fixed.index] = fixed
    bad, pct, mark = none.copy(), none.copy(), none.copy()
    bad.loc[text.index] = fixed.isna() & ~text.str.lower().isin(MISSING_MARKS)
    pct.loc[text.index] = percent & fixed.notna()
    mark.loc[text.index] = marked & fixed.notna()
    return _finite(Numbers(num, bad, pct, mark))


EXACT_INTEGERS = 2**53  # beyond it a float64 (a Stata double, Parquet's double, Excel's number) skips whole numbers


def whole_number_beyond(text: pd.Series, limit: int) -> int | None:
    """The largest magnitude among ``text`` (strings) when every one is a whole number written with digits
    (``[+-]?\\d+``) and one is beyond ``limit`` in magnitude; else None. The test both ingest (a covariate code
    beyond :data:`EXACT_INTEGERS`: :func:`long_integers`) and the exports (``metrics.export.long_integers``:
    beyond a Stata double's or an Excel number's digits) make of a text column; only values with as many digits as
    ``limit`` are converted to integers."""
    if not len(text) or not text.str.fullmatch(r"[+-]?\d+").all():
        return None
    digits = text.str.lstrip("+-").str.lstrip("0")
    long = text[digits.str.len() >= len(str(limit))]
    top = max((abs(int(t)) for t in long), default=0)
    return top if top > limit else None


def long_integers(col: pd.Series, values: pd.Series) -> pd.Series | None:
    """For a column whose cells are whole numbers written as digits, some beyond :data:`EXACT_INTEGERS` (a code of
    17 or 20 digits, not a quantity: :func:`whole_number_beyond`): the cells as text, NFKC-normalised and stripped,
    missing where ``values`` (:func:`to_numbers`) is; else None. As a number such a column came out rounded
    (12345678901234567 as 12345678901234568, and 20 digits as 1.2345678901234567e19) in the canonical table and in
    every export. Cells that are already numbers (an Excel number cell, a Stata variable) hold no more digits than
    their float: they stay numbers."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return None
    there = values.notna()
    if not there.any():
        return None
    text = col[there].map(lambda v: v if isinstance(v, str) else None)
    if text.isna().any():  # a number cell among them (a workbook): as written it is a float already
        return None
    text = text.astype(str).str.normalize("NFKC").str.strip()
    if whole_number_beyond(text, EXACT_INTEGERS) is None:
        return None
    return text.reindex(col.index).astype(object).where(there, None)


def _finite(n: Numbers) -> Numbers:
    """Infinite values (cells ``inf``, ``-Infinity``, ``1e400``, a spreadsheet's ±inf) are not numbers a
    regression or a Stata file can hold: left missing and counted with the cells that are not numbers."""
    values = pd.to_numeric(n.values, errors="coerce")
    inf = pd.Series(np.isinf(values.to_numpy(dtype="float64", na_value=np.nan)), index=values.index)
    if not inf.any():
        return n
    return Numbers(values.mask(inf), n.bad | inf, n.percent & ~inf, n.marked & ~inf)


def formula_name(header: str) -> str:
    """The name of covariate column ``header`` in formulas, SPEC files and exports: ``header`` itself when
    it is a Python identifier (``gdp``, ``人均GDP``); else NFKC-normalised, every run of characters that
    an identifier cannot hold made one ``_`` (``GDP (亿元)`` → ``GDP_亿元``, ``gdp-pc`` → ``gdp_pc``,
    ``R&D`` → ``R_D``), ``v`` put before a leading digit (``2006年人口`` → ``v2006年人口``) and ``_`` after a
    Python keyword or a formula function (``class`` → ``class_``, ``log`` → ``log_``, ``C`` → ``C_``:
    ``etl/formula_words.py``)."""
    header = str(header)
    if header.isidentifier() and not _reserved(header):
        return header
    text = unicodedata.normalize("NFKC", header)
    kept = "".join(c if c == "_" or (c.isalnum() and ("a" + c).isidentifier()) else " " for c in text)
    name = "_".join(kept.split()) or "v"
    if not name.isidentifier():  # a leading digit
        name = "v" + name
    return name + "_" if _reserved(name) else name


def _reserved(name: str) -> bool:
    return keyword.iskeyword(name) or name in FORMULA_FUNCTIONS


def formula_names_of(source, headers: list[str]) -> dict[str, str]:
    """``{header: formula name}`` of the data columns ``headers`` whose name changes; two headers that
    would get one name (``GDP(亿元)`` and ``GDP (亿元)``), or a name of a key column, stop (exit 3)."""
    names = {h: formula_name(h) for h in headers}
    seen: dict[str, str] = {}
    for h, n in names.items():
        other = seen.setdefault(n, h)
        if other != h or n in ("city_code", "year"):
            clash = f"columns {other!r} and {h!r}" if other != h else f"column {h!r} and the key column {n!r}"
            raise DataError(f"{source}: {clash} would both be called {n} in formulas",
                            fix="rename one of them in the file (names: docs/configuration.md §3)")
    return {h: n for h, n in names.items() if n != h}


def to_years(col: pd.Series) -> pd.Series:
    """Whole years (``2006``, ``2006.0``, ``2006年``, full-width digits); anything else is missing."""
    text = col.astype(str).str.normalize("NFKC").str.strip().str.removesuffix("年")
    year = pd.to_numeric(col, errors="coerce").where(lambda y: y.notna(), pd.to_numeric(text, errors="coerce"))
    return year.where((year % 1 == 0) & year.between(1000, 9999))


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    keys = {header_key(c): c for c in columns}
    return next((keys[header_key(c)] for c in candidates if header_key(c) in keys), None)


def read_any(path: Path, header_row: int = 1) -> pd.DataFrame:
    """CSV (UTF-8/GB18030), XLSX, XLS (an old workbook, or an HTML table: ``readers.read_xls``) or Stata
    .dta, every column as read; the header on row ``header_row`` (a yearbook table below its title)."""
    from citynet.etl.readers import check_content

    suffix = path.suffix.lower()
    check_content(path)
    if suffix == ".dta":
        return pd.read_stata(path)
    if suffix in (".xlsx", ".xlsm"):
        return _checked_sheet(path, header_row)
    if suffix == ".xls":
        return _read_xls(path, header_row)
    from citynet.etl.readers import detect_encoding

    # every cell as written (to_numbers reads the numbers): the quarantine then shows a rejected row's cells
    # as the file has them (pandas' own parse wrote 99999 as 99999.0 and n/a as nan)
    enc = detect_encoding(path)
    # index_col=False: when the first record has one field more than the header, pandas otherwise takes the first
    # column for the index and shifts every column left (the years read as city codes: the file refused whole);
    # the record is malformed (``load_covariates`` sets it apart), never cut to the header's width
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False, skiprows=header_row - 1,
                            index_col=False)
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise pd.errors.ParserError("a record has more fields than the header")
    if nul_rows(frame).any():  # a NUL byte in a cell: the record is set apart as in an export (nul_character)
        raise pd.errors.ParserError("a field holds a NUL character")
    frame.attrs["rows"] = _csv_rows(path, enc, header_row, frame)
    return frame


def nul_rows(frame: pd.DataFrame) -> pd.Series:
    """The rows of ``frame`` with a text cell holding a NUL character (``\\x00``: a CSV's byte 00, an .xlsx cell's
    ``_x0000_``, a Stata strL's): damage, never data (``nul_character``, docs/configuration.md §3)."""
    nul = pd.Series(False, index=frame.index)
    for k in range(frame.shape[1]):
        col = frame.iloc[:, k]
        try:  # (.str of an object column: a cell that is not text gives na)
            nul |= col.str.contains("\x00", regex=False, na=False).astype(bool)
        except AttributeError:  # a column of numbers or dates: no text cell
            continue
    return nul


def _csv_rows(path: Path, enc: str, header_row: int, frame: pd.DataFrame) -> list[int] | None:
    """The spreadsheet row of each record of ``frame`` (a CSV read with its blank lines skipped): the rows a
    spreadsheet shows count blank lines (docs/reliability.md), so ``frame``'s records are found, in order, among
    those of the file read with its blank lines kept (a blank line there is a row of empty cells that ``frame``
    does not have). None when they cannot be matched (then the rows are counted from the header)."""
    every = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False, skiprows=header_row - 1,
                        skip_blank_lines=False, index_col=False)
    if len(every) == len(frame) or list(every.columns) != list(frame.columns):
        return None
    wanted = list(frame.itertuples(index=False, name=None))
    rows, k = [], 0
    for i, rec in enumerate(every.itertuples(index=False, name=None)):
        if k < len(wanted) and rec == wanted[k]:
            rows.append(header_row + 1 + i)
            k += 1
    return rows if k == len(wanted) else None


def header_row(path: Path) -> int | None:
    """The row of a covariate table's header: the first of the file's first 30 rows that names a year and a
    city column — row 1, or a row below a title (a yearbook download's name, its unit, an empty row); None
    when none does; 1 for a Stata file (its variables are its header)."""
    if path.suffix.lower() == ".dta":
        return 1
    from citynet.etl.headers import first_row_naming

    def names_city_and_years(names: list[str]) -> bool:
        city = _find(names, CODE_HEADERS) or _find(names, NAME_HEADERS)
        return bool(city and (_find(names, YEAR_HEADERS) or year_columns(names, [city])))

    return first_row_naming(peek_rows(path), names_city_and_years)


WIDE_YEARS = (1949, 2100)  # the headers of a wide table's year columns: 2015, 2015年, 2015.0


def year_columns(columns: list[str], keys: list[str]) -> list[str] | None:
    """The year columns of a wide table (a yearbook download: one row per city, one column per year), when every
    column but the city keys is a year (one year is a one-year download); else None."""
    others = [c for c in columns if c not in keys]
    years = to_years(pd.Series(others, dtype=object)) if others else pd.Series([], dtype=float)
    if not others or years.isna().any() or not years.between(*WIDE_YEARS).all():
        return None
    return others


def _long(raw: pd.DataFrame, rows: pd.Series, keys: list[str], years: list[str], variable: str):
    """A wide table as one row per city and year (the file's row order, then its years' order): the frame, each
    row's line in the file, and the name of its year column."""
    year_col = "year" if "year" not in keys else "year_"
    long = raw.assign(_line=rows.to_numpy(), _order=range(len(raw))).melt(
        id_vars=[*keys, "_line", "_order"], value_vars=years, var_name=year_col, value_name=variable)
    long["_col"] = long[year_col].map({y: k for k, y in enumerate(years)})
    long = long.sort_values(["_order", "_col"], kind="stable").reset_index(drop=True)
    return long.drop(columns=["_line", "_order", "_col"]), long["_line"], year_col


def _checked_sheet(path: Path, header_row: int) -> pd.DataFrame:
    """A workbook's first sheet with its cells' types, after ``readers.check_first_sheet``: a table split over
    sheets (one per year) is never read half, and merged cells that span its rows (a city name merged over its
    years) stop with the fix."""
    from citynet.etl.readers import check_first_sheet

    frame = pd.read_excel(path, engine="calamine", header=header_row - 1)
    check_first_sheet(path, header_row, [str(c) for c in frame.columns])
    return frame


def _read_xls(path: Path, header_row: int = 1) -> pd.DataFrame:
    """An old workbook with its cells' types (as an .xlsx); an HTML table as text (``readers.read_html_table``),
    each record with its row as Excel shows the page (``attrs["rows"]``: an empty row between records is no record
    but counts) and the rows it set apart (``attrs["malformed"]``: another number of cells than the header,
    quarantined as ``malformed_row`` as in an export, docs/configuration.md §2.5)."""
    from citynet.etl.readers import OLE_MAGIC, read_xls

    with open(path, "rb") as fh:
        if fh.read(4) == OLE_MAGIC:
            return _checked_sheet(path, header_row)
    table = read_xls(path, header_row)
    frame = table.frame.drop(columns="_row")
    frame.attrs["rows"] = table.frame["_row"].astype(int).tolist()
    frame.attrs["malformed"] = list(table.malformed)
    return frame


def city_name_index() -> dict[str, str]:
    """Every accepted spelling of a city's name → city_code."""
    c = city_set().cities
    index: dict[str, str] = {}
    for code, name, short in c[["city_code", "name_zh", "short_name"]].itertuples(index=False):
        for key in (name, short, name.removesuffix("市")):
            index.setdefault(key, code)
    for name, code in HISTORICAL_NAMES.items():
        index.setdefault(name, code)
    return index


def match_city_keys(codes: pd.Series | None, names: pd.Series | None) -> pd.Series:
    """city_code for each row from a code column and/or a name column (code first)."""
    cs = city_set()
    out = pd.Series(None, index=(codes if codes is not None else names).index, dtype="object")
    if codes is not None:
        c = codes.astype(str).str.extract(r"(\d{6})")[0]
        out = c.map(lambda x: cs.unit_to_city.get(x) if isinstance(x, str) else None)
    if names is not None:
        idx = city_name_index()
        n = names.astype(str).str.strip().str.replace(r"\s+", "", regex=True)
        out = out.fillna(n.map(idx)).fillna(n.str.removesuffix("市").map(idx))
    return out


def _code_verdict(code: str) -> tuple[str | None, str, str | None]:
    """(city, kind, note) of one 6-digit covariate key: kind ``city`` (a city's own code, or a code the crosswalk
    folds into one: 139001 定州), ``successor`` (a former prefecture that is one city as a whole:
    ``cities.prefecture_successors``), ``county`` (a district's, county's or county-level city's code, read as its
    city's), ``abolished`` (a former unit whose values are no city's: a split, a merge, a former county; note: what
    became of it) or ``unknown``."""
    from citynet.etl.cities import (
        CROSSWALK_CODES,
        abolished_code_notes,
        former_prefecture_codes,
        historical_units,
        prefecture_merges,
        prefecture_successors,
    )

    cs = city_set()
    names = _city_names()
    if code in names:
        return code, "city", None
    if code in prefecture_successors():
        x = prefecture_successors()[code]
        h = historical_units()
        return x, "successor", f"{code} {h.loc[h['code'] == code, 'name'].iloc[-1]} → {x} {names[x]}"
    note = abolished_code_notes([code]).get(code)
    if code in former_prefecture_codes():  # 371200 莱芜 (merged into 济南 2019): the crosswalk's city is not its
        merged = prefecture_merges().get(code)
        if note and merged:
            h = historical_units().drop_duplicates("code", keep="last").set_index("code")["name"]
            x = next(c for c in historical_units().set_index("code").loc[[code], "cities"].iloc[-1])
            note += (f"; a merge: today's {names[x]} also holds the area of "
                     + ", ".join(f"{m} {h.get(m, '')}".strip() for m in merged) + " of those years, so its values are "
                     "not the city's")
        return None, ("abolished" if note else "unknown"), note
    city = cs.unit_to_city.get(code)
    if city is None:  # a code newer than the gazetteer (370116 莱芜区, 2019): its one city of the history
        h = historical_units()
        now = h.loc[(h["code"] == code) & (h["status"] == "在用"), "cities"]
        city = now.iloc[0][0] if len(now) and len(now.iloc[0]) == 1 and now.iloc[0][0] in names else None
    if city is not None:
        return city, ("city" if code in CROSSWALK_CODES or code.endswith("00") else "county"), None
    return None, ("abolished" if note else "unknown"), note


def resolve_city_keys(codes: pd.Series | None, names: pd.Series | None, years: pd.Series) -> pd.DataFrame:
    """Each covariate row's city and how its key was read (``load_covariates``): columns ``city``, ``kind``
    (:func:`_code_verdict`), ``note`` and ``via`` (``code`` or ``name``: the key that decided).

    A code is read by :func:`_code_verdict`; when it decides nothing (no code, or unknown) the name is: today's
    city names first (南京市, 南京), then the unit the name stood for in the row's year
    (``cities.unit_of_name``: 巢湖市 in 2005 is the split prefecture 341400, in 2015 the county-level city 340181;
    昆山市 is 320583), read as that code. A former name of a city loaded (襄樊市 → 420600) is a ``successor``."""
    index = (codes if codes is not None else names).index
    out = pd.DataFrame({"city": None, "kind": "unknown", "note": None, "via": None}, index=index, dtype=object)
    if codes is not None:
        c = codes.astype(str).str.extract(r"(\d{6})")[0]
        verdicts = {k: _code_verdict(k) for k in c.dropna().unique()}
        has = c.notna()
        for i, col in enumerate(("city", "kind", "note")):
            out.loc[has, col] = c[has].map(lambda k, i=i: verdicts[k][i])
        out.loc[has & (out["kind"] != "unknown"), "via"] = "code"
    if names is not None:
        from citynet.etl.cities import unit_of_name

        todo = out["kind"] == "unknown"
        n = names.astype(str).str.strip().str.replace(r"\s+", "", regex=True)
        idx = {k: v for k, v in city_name_index().items() if k not in HISTORICAL_NAMES}
        today = n.map(idx).fillna(n.str.removesuffix("市").map(idx))
        cities = _city_names()
        found = todo & today.notna()
        out.loc[found, "city"], out.loc[found, "kind"], out.loc[found, "via"] = today[found], "city", "name"
        rest = todo & today.isna() & n.ne("")
        keys = pd.Series(list(zip(n[rest], years[rest].where(years[rest].notna(), None), strict=True)),
                         index=out.index[rest], dtype=object)
        seen: dict[tuple, tuple] = {}
        for key in dict.fromkeys(keys):
            if (unit := unit_of_name(*key)) is None:
                continue
            city, kind, note = _code_verdict(unit[0])
            if kind == "city" and not unit[1]:  # a former name of the city: 襄樊市, 思茅市
                kind, note = "successor", f"{key[0]} → {city} {cities[city]}"
            if kind != "unknown":
                seen[key] = (city, kind, note, "name")
        hit = keys[keys.map(lambda k: k in seen).astype(bool)]
        for j, col in enumerate(("city", "kind", "note", "via")):
            out.loc[hit.index, col] = hit.map(lambda k, j=j: seen[k][j])
    return out


@functools.cache
def _city_names() -> dict[str, str]:
    """city_code → its Chinese name (南京市), for the messages."""
    return city_set().cities.set_index("city_code")["name_zh"].to_dict()


def _keys_missing(path: Path, columns: list[str], among_rows: int = 0) -> DataError:
    """The one message of a covariate table without a city or a year column (``among_rows``: no row of the file's
    first rows names both; the widest of them is shown)."""
    where = f" (no row among the first {among_rows} names both)" if among_rows else ""
    return DataError(
        f"{path}: covariates need a year column and a city column (code or name){where}; headers found: "
        f"{', '.join(columns)}" + sheet_note(path),
        fix=f"name them e.g. 'city_code' or '城市', and 'year' (accepted: {', '.join(CODE_HEADERS + NAME_HEADERS)}; "
            f"{', '.join(YEAR_HEADERS)}); or a wide table: the city column and one column per year (2014, 2015年 …) "
            "and nothing else, one file per variable (named after the file)",
    )


def _duplicate_details(tagged: pd.DataFrame, rows: pd.Series, city: pd.Series, year: pd.Series, ok: pd.Series,
                       dup: pd.Series, columns: list[str]) -> pd.Series:
    """Per repeated (city, year) row: the row it repeats, and the values that differ from that row's (the kept
    row's values are used; a conflict is said, not hidden as a plain repeat)."""
    key = pd.DataFrame({"c": city, "y": year, "row": rows.to_numpy()}, index=tagged.index)
    first = key[ok & ~dup].reset_index().rename(columns={"index": "kept", "row": "kept_row"})
    pairs = key[dup].reset_index().merge(first, on=["c", "y"], how="left").set_index("index")
    mine = tagged.loc[pairs.index, columns].to_numpy()
    kept = tagged.loc[pairs["kept"].to_numpy(), columns].to_numpy()
    details = []
    for row, a, b in zip(pairs["kept_row"], mine, kept, strict=True):
        other = [f"{c} {y!r} kept, {x!r} here" for c, x, y in zip(columns, a, b, strict=True) if x != y]
        text = f"city and year already given on row {int(row)}"
        details.append(text + (f", with other values: {'; '.join(other[:3])}" + (
            f" and {len(other) - 3} more" if len(other) > 3 else "") if other else " (the same values)"))
    return pd.Series(details, index=pairs.index, dtype=object).reindex(tagged[dup].index)


def load_covariates(path: Path, quarantine: Quarantine) -> tuple[pd.DataFrame, dict]:
    """Covariates with ``city_code`` and ``year`` first; returns the table and a coverage report."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such covariate file", fix="check the path given to --covariates")
    from citynet.etl.readers import check_content

    check_content(path)  # a workbook or Stata file named .csv: what it is, before any row is peeked
    try:
        first = header_row(path)
        if first is None:  # no row names the keys: the message names the likeliest header (the widest first row)
            rows = peek_rows(path)
            widest = max(rows, key=lambda r: sum(bool(str(c).strip()) for c in r), default=[])
            raise _keys_missing(path, [str(c) for c in widest if str(c).strip()], among_rows=len(rows))
        malformed: list = []
        if path.suffix.lower() in (".dta", ".xlsx", ".xlsm", ".xls"):
            raw = read_any(path, first)
            malformed = raw.attrs.pop("malformed", [])  # an HTML table's rows of another width (§2.5)
        else:
            try:
                raw = read_any(path, first)
            except (pd.errors.ParserError, UnicodeDecodeError, DataError):  # a damaged row: set apart, not the file
                raw, malformed = _read_damaged_csv(path, first)  # (a file mostly undecodable is still refused)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - pandas/openpyxl/pyreadstat raise many kinds for a damaged file
        raise DataError(f"{path}: cannot read the covariate file ({type(exc).__name__}: {str(exc)[:200]})",
                        fix="save it again as UTF-8 CSV, .xlsx or Stata .dta with a header row "
                            "(city code or name, year, variables)") from exc
    from citynet.etl.readers import sheets_not_read

    unread = sheets_not_read(path)  # a workbook's other sheets: read only the first, and say so
    return covariate_table(raw, quarantine, path, header_row=first, unread=unread,
                           row_numbers=raw.attrs.pop("rows", None), malformed=malformed)


def _read_damaged_csv(path: Path, header_row: int) -> tuple[pd.DataFrame, list]:
    """A covariate CSV that pandas cannot read whole (a record with more fields than the header, a stray quote,
    bytes not valid in its encoding: ``detect_encoding``'s strict sample refuses them), read as an export is (``etl.readers.read_csv``): the records it cannot
    split or decode set apart with their rows (then a record with fewer fields is set apart too, as in an export),
    each record numbered as a spreadsheet shows it."""
    from citynet.etl.readers import read_csv

    table = read_csv(path, "auto", header_row)
    raw = table.frame.drop(columns="_row").astype(str)
    raw.attrs["rows"] = table.frame["_row"].astype(int).tolist()
    return raw, table.malformed


_DAMAGE_FIXES = {  # the fix when every record of a covariate file was set apart, by the commonest reason
    "malformed_row": "save it again with as many fields on every row as in the header (a separator after the last "
                     "field makes one more)",
    "nul_character": "remove the NUL characters (shown as \\x00) from the file, or export it again from the program "
                     "that made it",
    "bad_encoding": "save it again as UTF-8 (or GB18030) CSV, or as .xlsx",
    "overlong_field": "correct the fields of over 131,072 characters (a quote left open runs on to the file's end)",
}


def covariate_table(raw: pd.DataFrame, quarantine: Quarantine, path: Path | str, header_row: int = 1,
                    first_row: int | None = None, unread: list | None = None,
                    row_numbers=None, malformed: list | None = None) -> tuple[pd.DataFrame, dict]:
    """:func:`load_covariates` on a table already read (``raw``, its header on row ``header_row`` of ``path``):
    the key columns found, each row keyed (:func:`resolve_city_keys`), every rejected row put in ``quarantine``
    under ``path`` (a file, or a label for a DataFrame: ``analysis.panel.key_covariates``), the values read as
    numbers; the table and the report. ``first_row``: the number ``raw``'s first row has in the quarantine and the
    messages (default the line below the header); ``row_numbers``: each row's own number instead (a CSV with
    blank lines: :func:`_csv_rows`); ``malformed``: records the reader set apart, ``(row, raw text, reason
    code)``, quarantined and counted."""
    first = header_row
    columns = [str(c) for c in raw.columns]
    raw.columns = columns
    code_col, name_col, year_col = _find(columns, CODE_HEADERS), _find(columns, NAME_HEADERS), _find(columns, YEAR_HEADERS)
    start = first + 1 if first_row is None else first_row
    rows = pd.Series(range(start, len(raw) + start) if row_numbers is None else row_numbers,
                     index=raw.index)  # each row's line in the file
    malformed = list(malformed or [])
    nul = nul_rows(raw)
    if nul.any():  # a cell holding a NUL character (a workbook's _x0000_, a Stata strL): set apart as in a CSV
        from citynet.etl.readers import SHOW_LIMIT, _safe_text

        malformed += [(int(row), _safe_text("\t".join("" if pd.isna(v) else str(v) for v in rec))[:SHOW_LIMIT],
                       "nul_character") for row, rec in zip(rows[nul], raw[nul].itertuples(index=False, name=None),
                                                            strict=True)]
        raw, rows = raw[~nul], rows[~nul]
    quarantine.add_malformed(str(path), malformed)
    keys = [c for c in (code_col, name_col) if c]
    wide = year_columns(columns, keys) if year_col is None and keys else None
    if wide:  # one column per year: one variable, named after the file (人均GDP（元）.xlsx → 人均GDP_元)
        raw, rows, year_col = _long(raw, rows, keys, wide, Path(path).stem)
        columns = [str(c) for c in raw.columns]
    if year_col is None or (code_col is None and name_col is None):
        raise _keys_missing(path, columns)
    year = to_years(raw[year_col])
    keyed = resolve_city_keys(raw[code_col] if code_col else None, raw[name_col] if name_col else None, year)
    city = keyed["city"].where(keyed["city"].notna(), None)
    tagged = raw.astype(str).assign(_source_file=str(path), _row=rows.to_numpy())
    abolished = keyed["kind"] == "abolished"  # 341400 巢湖 (split 2011), 巢湖市 in 2005: what became of it (§1.4a)
    if not len(raw) and malformed:  # every record set apart (a separator after each record's last field, often)
        counts = pd.Series([code for _, _, code in malformed]).value_counts()
        first_bad = min(malformed, key=lambda m: m[0])
        raise DataError(
            f"{path}: no row of the covariate file could be loaded ("
            + ", ".join(f"{n:,} {code}" for code, n in counts.items())
            + f"; e.g. row {first_bad[0]}: {first_bad[1][:80]!r}"
            + (f", the header has {len(columns)} fields)" if first_bad[2] == "malformed_row" else ")"),
            fix=_DAMAGE_FIXES.get(counts.index[0], _DAMAGE_FIXES["malformed_row"]))
    if city.notna().sum() == 0:
        tried = pd.unique(raw[code_col if code_col else name_col].astype(str))[:10]
        former = list(dict.fromkeys(keyed.loc[abolished, "note"]))[:3]
        raise DataError(
            f"{path}: no row's city key matches a city of the city set (tried column "
            f"{code_col or name_col!r}, keys such as {', '.join(map(str, tried))})"
            + (f"; {'; '.join(former)}" if former else ""),
            fix="use 6-digit city codes (320100) or Chinese city names (南京市 or 南京)",
        )
    # a row of blank cells (a workbook's empty row between records, a CSV line of separators only) is an
    # empty_row, as in an export (docs/methods.md §1.7), not a city key that matches nothing
    empty = raw.apply(lambda c: c.isna() | c.astype(str).str.strip().eq("")).all(axis=1)
    quarantine.add(tagged[empty], "empty_row", "(record)")
    bad_city = city.isna()
    for via, col in (("code", code_col), ("name", name_col)):
        rows_of = abolished & (keyed["via"] == via)
        quarantine.add(tagged[rows_of], "abolished_city", col, keyed.loc[rows_of, "note"])
    unknown = bad_city & ~abolished & ~empty
    quarantine.add(tagged[unknown], "unknown_city", code_col or name_col, raw.loc[unknown, code_col or name_col])
    conflict = pd.Series(False, index=raw.index)
    if code_col and name_col:  # 320100 beside 北京市: which is meant is unknown (columns sorted apart?); it loaded by code
        by_code = keyed["city"].where(keyed["via"] == "code")
        named = resolve_city_keys(None, raw[name_col], year)
        by_name = named["city"]
        # 340100 beside 巢湖市 of 2008 (a code column filled from a crosswalk): the name is a split prefecture's
        former = ~bad_city & by_code.notna() & (named["kind"] == "abolished")
        conflict = ~bad_city & by_code.notna() & ((by_name.notna() & (by_code != by_name)) | former)
        said = by_name.where(~former, "a former unit: " + named["note"].astype(str))
        quarantine.add(tagged[conflict], "city_key_conflict", name_col,
                       raw.loc[conflict, code_col].astype(str) + " is " + by_code[conflict].map(_city_names()) + ", "
                       + raw.loc[conflict, name_col].astype(str) + " is " + said[conflict])
        bad_city = bad_city | conflict
        # 320500 beside 昆山市: the code's city, the name a county of it: the row may hold the county's figures
        keyed.loc[~bad_city & (keyed["kind"] == "city") & (named["kind"] == "county") & (by_name == by_code),
                  ["kind", "via"]] = ["county", "name"]
    bad_year = ~bad_city & year.isna()
    quarantine.add(tagged[bad_year], "bad_year", year_col, raw.loc[bad_year, year_col])
    ok = ~bad_city & ~bad_year
    # a city-year given by the city's own row and by a county's (南京市 and 玄武区, 320100 and 320102): the city's row
    # is kept wherever it stands; otherwise the first row
    county_last = pd.DataFrame({"c": city, "y": year, "k": keyed["kind"] == "county"})[ok].sort_values("k", kind="stable")
    dup = ok & county_last[["c", "y"]].duplicated(keep="first").reindex(raw.index, fill_value=False)
    quarantine.add(tagged[dup], "duplicate", year_col, _duplicate_details(tagged, rows, city, year, ok, dup,
                                                                        [c for c in raw.columns
                                                                         if c not in (*keys, year_col)]))
    ok &= ~dup
    if not ok.any():
        reasons = ", ".join(f"{n:,} {r}" for r, n in (("empty_row", empty.sum()),
                                                      ("unknown_city", (unknown & ~conflict).sum()),
                                                      ("abolished_city", abolished.sum()),
                                                      ("city_key_conflict", conflict.sum()), ("bad_year", bad_year.sum()),
                                                      ("duplicate", dup.sum())) if n)
        shown = raw.loc[bad_year, year_col].astype(str).head(3).tolist()
        raise DataError(f"{path}: no row of the covariate file could be loaded ({reasons}"
                        + (f"; years such as {', '.join(map(repr, shown))}" if shown else "") + ")",
                        fix="write years as whole numbers (2006) in one column, one row per city and year")
    keys = [c for c in (code_col, name_col, year_col) if c]
    data = raw[ok].drop(columns=keys)
    renamed = formula_names_of(path, list(data.columns))
    data = data.rename(columns=renamed)
    converted = {c: to_numbers(data[c]) for c in data.columns}
    numeric = pd.DataFrame({c: n.values for c, n in converted.items()}, index=data.index)
    as_text = {c: t for c in data.columns if (t := long_integers(data[c], converted[c].values)) is not None}
    for c, text in as_text.items():  # a code: every digit as written, never a rounded number
        numeric[c] = text
    keep = numeric.notna().any()  # a column without any number (text, or blank cells only: any format) is left out
    numeric = numeric.loc[:, keep]

    def cells(mask_of) -> dict:
        """Per kept column: how many cells ``mask_of(numbers)`` marks, and up to 3 of them as written."""
        return {c: {"cells": int(mask_of(n).sum()), "examples": data.loc[mask_of(n), c].astype(str).unique()[:3].tolist()}
                for c, n in converted.items() if keep[c] and mask_of(n).any()}

    not_numbers = cells(lambda n: n.bad)
    county = ok & (keyed["kind"] == "county")
    successor = ok & (keyed["kind"] == "successor")
    key_of = pd.Series(None, index=raw.index, dtype=object)  # the key that was read: 320583, or 昆山市
    for via, col in (("code", code_col), ("name", name_col)):
        if col:
            key_of = key_of.mask(keyed["via"] == via, raw[col].astype(str).astype(object))
    table = pd.concat([city[ok].rename("city_code"), year[ok].astype("int16").rename("year"), numeric], axis=1)
    table = table.sort_values(["city_code", "year"])
    report = {
        "file": str(path),
        "rows_read": int(len(raw)) + len(malformed),
        "rows_loaded": int(ok.sum()),
        "rows_quarantined": int((~ok).sum()) + len(malformed),
        "cities_matched": int(table["city_code"].nunique()),
        "cities_in_city_set": len(city_set()),
        "unmatched_keys": sorted(map(str, pd.unique(raw.loc[bad_city & ~empty, code_col or name_col])))[:50],
        "key_columns": [c for c in (code_col, name_col) if c],  # the city key columns read (code first)
        "columns": [c for c in table.columns if c not in ("city_code", "year")],
        "renamed": renamed,  # header → its name in formulas (headers that are not identifiers)
        "not_numbers": not_numbers,  # column → cells left missing that held text, and up to 3 of them
        "percent": cells(lambda n: n.percent),  # column → cells written 19.7%, read as 19.7
        "footnote_marks": cells(lambda n: n.marked),  # column → cells written 103,796*, read as 103796
        "dropped_columns": [c for c in data.columns if not keep[c]],  # no numeric value at all
        # column → whole numbers beyond a float's exact range (a code): kept as text, with the longest's digits
        "kept_as_text": {c: {"digits": int(t.str.lstrip("+-").str.len().max()), "examples": t.dropna().unique()[:3].tolist()}
                         for c, t in as_text.items() if keep[c]},
        **({"header_row": first} if first > 1 else {}),  # a table below its title
        # rows keyed by a district's or county's code (320102, 320583), loaded as their city's: said by ingest
        **({"county_keys": {"rows": int(county.sum()), "examples": sorted({(str(k), str(c)) for k, c in zip(
            key_of[county], city[county], strict=True)})[:3]}} if county.any() else {}),
        # rows keyed by a former prefecture's code or a former name of one city (532700 思茅地区 → 530800 普洱市)
        **({"former_keys": {"rows": int(successor.sum()), "loaded_as": sorted(set(keyed.loc[successor, "note"]))}}
           if successor.any() else {}),
        **({"sheets_not_read": unread} if unread else {}),  # a workbook's sheets after the first that hold something
        **({"wide": {"variable": renamed.get(Path(path).stem, Path(path).stem), "years": [int(float(y)) for y in
                                                                                         to_years(pd.Series(wide))]}}
           if wide else {}),  # one column per year, read as one variable named after the file
    }
    return table.reset_index(drop=True), report
