"""Export a panel to Parquet, CSV, Stata ``.dta`` (version 118, labelled) or an Excel workbook.

The city-year panel is joined with ``canonical/covariates.parquet`` when it exists (left join on
``city_code`` and ``year``; a covariate whose name clashes with a panel column gets the suffix
``_cov``). Stata files carry a variable label for every column (``metrics.labels``: seed symbol and
Chinese description, covariates: their original header) and a data label naming the panel and the
network filter.

Every panel gets the cities' names: ``city_name`` after ``city_code`` (city-year), ``city_a_name`` and
``city_b_name`` (dyad-year), from ``canonical/cities.parquet`` or the city set. Stata files also get the
city ``tier`` and ``region`` (city-year) as coded integers, and every coded variable — tier, region,
the 0/1 policy dummies ``low_carbon``/``carbon_trading``, ``same_province`` — carries value labels
(``metrics.labels.VALUE_LABELS``). Variable labels of covariates come from the same label table as the
report ("pgdp 人均GDP（元）"); a covariate the table does not know keeps its name as label.

An Excel workbook (``.xlsx``, openpyxl) holds the panel on one sheet and each column's label (the Stata
variable label) on a sheet ``variables``; a panel beyond Excel's 1,048,575 rows is refused (a dyad-year panel
of many years can be).

Stata conversions: names are made valid and ≤ 32 characters (``metrics.labels.stata_name``; the
label keeps the original name if it had to change); nullable integers with missing values become
doubles with Stata missing (``.``); booleans become bytes (0/1); strings stay strings (UTF-8, which
version 118 supports); whole numbers beyond 2**53 (codes: a double would round them) become strings, with a
warning (:func:`long_integers`; an Excel sheet the same beyond 15 digits). Integer covariates are joined as
nullable integers, so that a city-year without covariates does not make them floats in CSV and Parquet.
"""

from __future__ import annotations

import datetime
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from citynet.metrics.labels import REGIONS, STATA_LABEL_MAX, TIERS, VALUE_LABELS, label, stata_name
from citynet.metrics.pipeline import read_panel

from citynet.csvfile import write_csv
from citynet.errors import UserError

PANEL_NAMES = ("city-year", "dyad-year", "network-year")
#: the creation time written into .dta and .xlsx files: fixed, so that the same panel gives the same bytes
#: (a file's own modification time still tells when it was written)
FILE_TIME = datetime.datetime(2000, 1, 1)
FORMATS = ("parquet", "csv", "dta", "xlsx")
EXCEL_MAX_ROWS = 1_048_576  # rows of an Excel sheet (the header included): Excel's specification


def covariate_renames(covariate_columns, panel_columns) -> dict[str, str]:
    """``{name: name_cov}`` for the covariates named like a column of the panel they join (``green_patents``
    from a yearbook beside citynet's own): the panel's column keeps its name, the covariate is ``<name>_cov``
    in every command that joins them (export, fit, map)."""
    taken = set(panel_columns)
    return {c: f"{c}_cov" for c in covariate_columns if c in taken and c not in ("city_code", "year")}


def panel_frame(ws, panel: str, covariates: bool = True) -> pd.DataFrame:
    """The panel ``panel`` (``city-year`` | ``dyad-year`` | ``network-year``) of the workspace,
    with covariates joined for ``city-year``; ``attrs["citynet"]`` holds the file metadata."""
    if panel not in PANEL_NAMES:
        raise UserError(f"unknown panel {panel!r}", fix=f"use one of {', '.join(PANEL_NAMES)}")
    path = ws.require(ws.panel(panel), "metrics")
    df = read_panel(path)
    attrs = dict(df.attrs)
    cov_path = ws.table("covariates")
    if covariates and panel == "city-year" and cov_path.exists():
        cov = pd.read_parquet(cov_path)
        headers = covariate_headers(cov_path)
        cov["city_code"] = cov["city_code"].astype(str)
        cov["year"] = cov["year"].astype(df["year"].dtype)
        clash = covariate_renames(cov.columns, df.columns)
        cov = cov.rename(columns=clash)
        for c in cov.columns.drop(["city_code", "year"]):
            if cov[c].dtype.kind in "iu":  # integers stay integers where a city-year has no covariates: the join
                # made them floats (17-digit codes rounded in CSV and Parquet, a 0/1 dummy written 1.0)
                cov[c] = cov[c].astype("UInt64" if cov[c].dtype.kind == "u" else "Int64")
        df = df.merge(cov, on=["city_code", "year"], how="left", validate="one_to_one")
        attrs.setdefault("citynet", {})
        if attrs["citynet"] is not None:
            attrs["citynet"] = {**attrs["citynet"], "covariates": [c for c in cov.columns if c not in ("city_code", "year")]}
        if headers:  # a renamed covariate's label is the header of its file (GDP_亿元: "GDP (亿元)")
            attrs["covariate_headers"] = {clash.get(c, c): h for c, h in headers.items()}
    df = _with_names(ws, df)
    df.attrs = attrs
    return df


def _cities(ws) -> pd.DataFrame:
    p = ws.table("cities")
    if p.exists():
        c = pd.read_parquet(p)
    else:
        from citynet.etl.cities import city_set

        c = city_set().cities
    c = c.copy()
    c["city_code"] = c["city_code"].astype(str)
    return c.drop_duplicates("city_code").set_index("city_code")


def _with_names(ws, df: pd.DataFrame) -> pd.DataFrame:
    """``city_name`` after ``city_code``; ``city_a_name``/``city_b_name`` after the pair's codes."""
    if not ({"city_code", "city_a", "city_b"} & set(df.columns)):
        return df
    names = _cities(ws)["name_zh"].astype(str)
    df = df.copy()
    for code_col, name_col in (("city_code", "city_name"), ("city_a", "city_a_name"), ("city_b", "city_b_name")):
        if code_col in df.columns and name_col not in df.columns:
            pos = list(df.columns).index(code_col) + 1
            df.insert(pos, name_col, df[code_col].astype(str).map(names).astype(object))
    return df


def with_codes(ws, df: pd.DataFrame) -> pd.DataFrame:
    """City-year frame with ``tier`` and ``region`` as coded integers (1 = municipality …, 1 = east …)."""
    if "city_code" not in df.columns or "tier" in df.columns:
        return df
    c = _cities(ws)
    df = df.copy()
    pos = list(df.columns).index("city_name") + 1 if "city_name" in df.columns else 1
    code = df["city_code"].astype(str)
    tier = code.map(c["tier"]).map({t: i + 1 for i, t in enumerate(TIERS)}) if "tier" in c.columns else None
    region = code.map(c["region"]).map({r: i + 1 for i, r in enumerate(REGIONS)}) if "region" in c.columns else None
    if region is not None:
        df.insert(pos, "region", region.astype("float64") if region.isna().any() else region.astype(np.int8))
    if tier is not None:
        df.insert(pos, "tier", tier.astype("float64") if tier.isna().any() else tier.astype(np.int8))
    return df


def value_labels_for(df: pd.DataFrame) -> dict[str, dict[int, str]]:
    """Value labels of the coded columns present in ``df`` whose values are all labelled codes."""
    out = {}
    for col, labels in VALUE_LABELS.items():
        if col in df.columns and pd.api.types.is_numeric_dtype(df[col]):
            vals = pd.to_numeric(df[col], errors="coerce").dropna().unique()
            if all(float(v).is_integer() and int(v) in labels for v in vals):
                out[col] = labels
    return out


def data_label(df: pd.DataFrame, panel: str) -> str:
    meta = (df.attrs or {}).get("citynet") or {}
    net = meta.get("network", "?")
    years = f"{meta.get('first_year')}-{meta.get('last_year')}" if meta.get("first_year") else ""
    return f"citynet {panel} {years} network={net}"[:STATA_LABEL_MAX]


def covariate_headers(path: Path) -> dict[str, str]:
    """{column: the header of the covariate file it came from} of the columns ingest renamed
    (``etl.covariates.formula_name``), from the schema metadata of ``canonical/covariates.parquet``."""
    import json

    import pyarrow.parquet as pq
    from citynet.etl.covariates import COVARIATE_HEADERS

    raw = (pq.read_schema(path).metadata or {}).get(COVARIATE_HEADERS)
    return json.loads(raw) if raw else {}


EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number (Excel's specifications and limits)


def long_integers(df: pd.DataFrame, limit: int) -> dict[str, int]:
    """``{column: digits of its longest value}`` of the columns of whole numbers with a value beyond ``limit`` in
    magnitude: integer columns, and text columns whose every value is a whole number written with digits (the
    codes that ingest keeps as text, ``etl.covariates.long_integers``; the test is
    ``etl.covariates.whole_number_beyond``, ingest's)."""
    from citynet.etl.covariates import whole_number_beyond

    out = {}
    for col in df.columns:
        s = df[col].dropna()
        if not len(s):
            continue
        if pd.api.types.is_integer_dtype(s.dtype):
            top = max(abs(int(s.min())), abs(int(s.max())))
            top = top if top > limit else None
        elif pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            if not isinstance(s.iloc[0], str) or not s.iloc[0].lstrip("+-").isdecimal():
                continue  # not every value a whole number (a dyad-year panel's city names: millions of cells)
            text = s.map(lambda v: v if isinstance(v, str) else None)
            if text.isna().any():
                continue
            top = whole_number_beyond(text.astype(str), limit)
        else:
            continue
        if top is not None:
            out[str(col)] = len(str(top))
    return out


def as_text_note(columns: dict[str, int], where: str, why: str) -> str:
    """The warning of an export that writes whole numbers as text (never a rounded number without a word)."""
    cols = ", ".join(f"{c} ({d} digits)" for c, d in columns.items())
    return f"{cols}: written as text in {where}, every digit kept — {why}"


def to_stata_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """A copy of ``df`` that Stata 118 accepts, and the variable labels keyed by the new names (a renamed
    covariate: the header of its file, ``df.attrs["covariate_headers"]``). Whole numbers beyond
    :data:`etl.covariates.EXACT_INTEGERS` (codes) become text (``str``): a Stata number is a double, which would
    round them; the frame's ``attrs["as_text"]`` names those columns (Stata names) with their digits."""
    from citynet.etl.covariates import EXACT_INTEGERS

    headers = df.attrs.get("covariate_headers") or {}
    flt = ((df.attrs.get("citynet") or {}).get("filter")) or None
    long = long_integers(df, EXACT_INTEGERS)
    out = {}
    labels = {}
    as_text = {}
    taken: set[str] = set()
    for col in df.columns:
        name = stata_name(col, taken)
        s = df[col]
        if str(col) in long:
            as_text[name] = long[str(col)]
            s = s.astype(object).map(lambda v: "" if pd.isna(v) else str(v))
        elif isinstance(s.dtype, pd.BooleanDtype) or s.dtype == bool:
            s = s.astype("float64") if s.isna().any() else s.astype(np.int8)
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(s.dtype):
            s = s.astype("float64") if s.isna().any() else s.astype(s.dtype.numpy_dtype)
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_float_dtype(s.dtype):
            s = s.astype("float64")
        elif pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            s = s.astype(object).where(s.notna(), "")
        if s.dtype.kind in "iu" and len(s) and (s.max() > 2_147_483_620 or s.min() < -2_147_483_647):
            s = s.astype("float64")  # exact: within EXACT_INTEGERS (beyond it the column is text, above)
        elif s.dtype in (np.int64, np.uint32, np.uint64):
            s = s.astype(np.int32)
        out[name] = s.to_numpy() if not isinstance(s, pd.Series) else s.reset_index(drop=True)
        text = headers[col][:STATA_LABEL_MAX] if col in headers else label(str(col), flt)
        if name != str(col) and text == str(col)[:STATA_LABEL_MAX]:
            text = str(col)[:STATA_LABEL_MAX]
        labels[name] = text
    frame = pd.DataFrame(out)
    frame.attrs["as_text"] = as_text
    return frame, labels


def write_dta(df: pd.DataFrame, path: Path, data_label_text: str = "", warn=None) -> Path:
    """Write ``df`` as Stata 118 with variable labels and value labels from ``metrics.labels`` and a data label;
    ``warn(text)`` is told of the columns of long whole numbers written as text (:func:`to_stata_frame`)."""
    frame, labels = to_stata_frame(df)
    if frame.attrs["as_text"] and warn is not None:
        warn(as_text_note(frame.attrs["as_text"], "the .dta (str variables)", "a Stata number is a double, which "
                          "holds whole numbers of 15–16 digits exactly and rounds longer ones (so would destring)"))
    frame.attrs = {}
    renamed = dict(zip(df.columns, frame.columns, strict=True))
    vlabels = {renamed[c]: v for c, v in value_labels_for(df).items()}
    frame.to_stata(path, version=118, write_index=False, variable_labels=labels, time_stamp=FILE_TIME,
                   data_label=data_label_text[:STATA_LABEL_MAX] or None, value_labels=vlabels or None)
    return Path(path)


def write_xlsx(df: pd.DataFrame, path: Path, data_label_text: str = "", warn=None) -> Path:
    """Write ``df`` as an Excel workbook: the sheet ``panel`` (one row per observation, the column names as
    header, codes kept as text) and the sheet ``variables`` (each column's label, as the Stata labels, and
    the data label). openpyxl's write-only mode; a panel beyond Excel's 1,048,575 data rows is refused. Whole
    numbers of more than :data:`EXCEL_DIGITS` digits are text cells (Excel would round them), said to ``warn``."""
    from openpyxl import Workbook

    if len(df) + 1 > EXCEL_MAX_ROWS:
        raise UserError(f"the panel has {len(df):,} rows; an Excel sheet holds {EXCEL_MAX_ROWS - 1:,}",
                        fix="export it as --format csv, dta or parquet (or restrict it first in Stata or pandas)")
    headers = df.attrs.get("covariate_headers") or {}
    long = long_integers(df, 10**EXCEL_DIGITS - 1)
    if long and warn is not None:
        warn(as_text_note(long, "the workbook (text cells)", f"Excel keeps {EXCEL_DIGITS} digits of a number and "
                          "shows the others as zeros"))
    open(path, "wb").close()  # a folder that takes no file refuses now, not after the rows are written
    book = Workbook(write_only=True)
    try:
        _fill_xlsx(book, df, headers, long, data_label_text)
        _save_stamped(book, path)
    except BaseException:
        _discard_sheets(book)
        raise
    return Path(path)


def _discard_sheets(book) -> None:
    """Close a write-only workbook's sheet writers that a failed save left open: the garbage collector closed
    them later and lxml's complaint ('Exception ignored in: <generator object WorksheetWriter.get_stream>', a
    traceback) followed the one error message (``export --out /proc/x.xlsx``, bench/fuzz_cli.py seed 37)."""
    import contextlib

    for sheet in getattr(book, "_sheets", []):
        for gen in (getattr(sheet, "_rows", None), getattr(getattr(sheet, "_writer", None), "xf", None)):
            if gen is not None:
                with contextlib.suppress(Exception):
                    gen.close()


def _fill_xlsx(book, df: pd.DataFrame, headers: dict, long, data_label_text: str) -> None:
    """The sheets ``panel`` and ``variables`` of :func:`write_xlsx`."""
    sheet = book.create_sheet("panel")
    sheet.append([str(c) for c in df.columns])
    columns = []
    for col in df.columns:  # plain Python values per column: None for missing, numbers as numbers
        s = df[col]
        if str(col) in long:
            values = [None if pd.isna(v) else str(v) for v in s.astype(object)]
        elif pd.api.types.is_bool_dtype(s.dtype):
            values = [None if v is pd.NA or v is None else bool(v) for v in s.astype(object)]
        elif pd.api.types.is_integer_dtype(s.dtype):  # as integers (through a float, 17 digits were rounded)
            values = [None if pd.isna(v) else int(v) for v in s.astype(object)]
        elif pd.api.types.is_numeric_dtype(s.dtype):
            f = s.astype("float64").to_numpy()
            integral = pd.api.types.is_integer_dtype(s.dtype)
            values = [None if np.isnan(v) else (int(v) if integral else float(v)) for v in f]
        else:
            values = [None if pd.isna(v) else str(v) for v in s.astype(object)]
        columns.append(values)
    from citynet.progress import report

    step = 50_000
    for k, row in enumerate(zip(*columns, strict=True)):
        if k % step == 0:
            report("writing the Excel sheet", k, len(df))
        sheet.append(row)
    report("writing the Excel sheet", len(df), len(df))
    about = book.create_sheet("variables")
    about.append(["variable", "label"])
    for col in df.columns:
        about.append([str(col), headers.get(col) or label(str(col), ((df.attrs.get("citynet") or {}).get("filter")))])
    if data_label_text:
        about.append([])
        about.append(["data", data_label_text])


class _StampedZip(zipfile.ZipFile):
    """A ZipFile whose every member carries ``FILE_TIME`` (``ZipFile`` stamps a member with the clock, or
    with the modification time of the file it copies: openpyxl's write-only sheets)."""

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=FILE_TIME.timetuple()[:6])
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16  # what ZipFile.writestr gives a member named by a string
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        import shutil

        big = os.path.getsize(filename) * 1.05 > zipfile.ZIP64_LIMIT  # as ZipFile.write decides it
        with open(filename, "rb") as src, self.open(self._info(arcname or Path(filename).name), "w",
                                                     force_zip64=big) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def _save_stamped(book, path: Path) -> None:
    """``book.save(path)`` with ``FILE_TIME`` as the workbook's created and modified times and as every zip
    member's time (openpyxl's ``save_workbook`` stamps them with the clock): the same panel gives the same
    bytes."""
    from openpyxl.writer.excel import ExcelWriter

    book.properties.created = book.properties.modified = FILE_TIME
    ExcelWriter(book, _StampedZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()


def export_panel(ws, panel: str, fmt: str | None, out: Path, covariates: bool = True, bom: bool = True,
                 warn=None) -> Path:
    """Write panel ``panel`` of workspace ``ws`` to ``out`` in ``fmt`` (inferred from the suffix when None);
    a CSV is UTF-8 with a byte order mark unless ``bom`` is false (``citynet.csvfile``: Excel opens a UTF-8
    file without it in the system's code page, GBK on a Chinese Windows, 城市 garbled). ``warn(text)``: what
    the file holds otherwise than the panel does (long whole numbers as text in a .dta or .xlsx)."""
    out = Path(out)
    by_suffix = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".dta": "dta",
                 ".xlsx": "xlsx"}.get(out.suffix.lower())
    if fmt is None:
        fmt = by_suffix
        if fmt is None:
            raise UserError(f"cannot tell the format of {out}", fix="pass --format parquet|csv|dta|xlsx")
    elif by_suffix is not None and by_suffix != fmt:  # a CSV named .dta: Stata's `use` would refuse it
        raise UserError(f"--format {fmt} but {out.name} is named for {by_suffix}",
                        fix=f"name the file {out.stem}.{fmt}, or drop --format (the suffix chooses it)")
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    df = panel_frame(ws, panel, covariates=covariates)
    out.parent.mkdir(parents=True, exist_ok=True)
    from citynet.transaction import _event, disk_error

    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")  # written whole, then renamed: never half a file
    try:
        if fmt == "parquet":
            from citynet.metrics.pipeline import write_panel

            write_panel(df, tmp, (df.attrs or {}).get("citynet") or {})
        elif fmt == "csv":
            write_csv(df, tmp, bom=bom)
        elif fmt == "xlsx":
            write_xlsx(df, tmp, data_label(df, panel), warn=warn)
        else:
            write_dta(with_codes(ws, df) if panel == "city-year" else df, tmp, data_label(df, panel), warn=warn)
        _event(f"write {tmp}")
        os.replace(tmp, out)
    except OSError as exc:  # a full disk or an unwritable folder: one message, no partial file
        tmp.unlink(missing_ok=True)
        raise disk_error(exc, out) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out
