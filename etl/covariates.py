"""City-year covariates (GDP, population, policy dummies, …) keyed by city code or Chinese city name.

Keys are matched to the city set by 6-digit code (a county-level or older code is mapped through
the crosswalk) or by name, with or without the suffix 市 (南京市, 南京), historical names included
(襄樊 → 襄阳). Rows whose key matches no city are quarantined; a file whose keys match nothing
stops with the keys it tried.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from citynet.etl.cities import HISTORICAL_NAMES, city_set
from citynet.etl.headers import header_key
from citynet.etl.quarantine import Quarantine

from citynet.errors import DataError

CODE_HEADERS = ("city_code", "citycode", "code", "adcode", "城市代码", "行政区划代码", "城市编码", "id")
NAME_HEADERS = ("city", "city_name", "城市", "城市名称", "地区", "城市名", "name")
YEAR_HEADERS = ("year", "年份", "年度", "年")


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    keys = {header_key(c): c for c in columns}
    return next((keys[header_key(c)] for c in candidates if header_key(c) in keys), None)


def read_any(path: Path) -> pd.DataFrame:
    """CSV (UTF-8/GB18030), XLSX or Stata .dta, every column as read."""
    suffix = path.suffix.lower()
    if suffix == ".dta":
        return pd.read_stata(path)
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, engine="openpyxl")
    from citynet.etl.readers import detect_encoding

    return pd.read_csv(path, encoding=detect_encoding(path), dtype={c: str for c in CODE_HEADERS})


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


def load_covariates(path: Path, quarantine: Quarantine) -> tuple[pd.DataFrame, dict]:
    """Covariates with ``city_code`` and ``year`` first; returns the table and a coverage report."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such covariate file", fix="check the path given to --covariates")
    try:
        raw = read_any(path)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - pandas/openpyxl/pyreadstat raise many kinds for a damaged file
        raise DataError(f"{path}: cannot read the covariate file ({type(exc).__name__}: {str(exc)[:200]})",
                        fix="save it again as UTF-8 CSV, .xlsx or Stata .dta with a header row "
                            "(city code or name, year, variables)") from exc
    columns = [str(c) for c in raw.columns]
    raw.columns = columns
    code_col, name_col, year_col = _find(columns, CODE_HEADERS), _find(columns, NAME_HEADERS), _find(columns, YEAR_HEADERS)
    if year_col is None or (code_col is None and name_col is None):
        raise DataError(
            f"{path}: covariates need a year column and a city column (code or name); headers found: {', '.join(columns)}",
            fix=f"name them e.g. 'city_code' or '城市', and 'year' (accepted: {', '.join(CODE_HEADERS + NAME_HEADERS)})",
        )
    city = match_city_keys(raw[code_col] if code_col else None, raw[name_col] if name_col else None)
    year = pd.to_numeric(raw[year_col], errors="coerce")
    tagged = raw.astype(str).assign(_source_file=str(path), _row=range(2, len(raw) + 2))
    if city.notna().sum() == 0:
        tried = pd.unique(raw[code_col if code_col else name_col].astype(str))[:10]
        raise DataError(
            f"{path}: no row's city key matches a city of the city set (tried column "
            f"{code_col or name_col!r}, keys such as {', '.join(map(str, tried))})",
            fix="use 6-digit city codes (320100) or Chinese city names (南京市 or 南京)",
        )
    bad_city = city.isna()
    quarantine.add(tagged[bad_city], "unknown_city", code_col or name_col, raw.loc[bad_city, code_col or name_col])
    bad_year = ~bad_city & year.isna()
    quarantine.add(tagged[bad_year], "bad_year", year_col, raw.loc[bad_year, year_col])
    ok = ~bad_city & ~bad_year
    dup = ok & pd.DataFrame({"c": city, "y": year}).duplicated(keep="first")
    quarantine.add(tagged[dup], "duplicate", year_col, "city and year already given on an earlier row")
    ok &= ~dup
    data = raw[ok].drop(columns=[c for c in (code_col, name_col, year_col) if c])
    numeric = data.apply(pd.to_numeric, errors="coerce")
    numeric = numeric.loc[:, numeric.notna().any() | data.isna().all()]
    table = pd.concat([city[ok].rename("city_code"), year[ok].astype("int16").rename("year"), numeric], axis=1)
    table = table.sort_values(["city_code", "year"])
    report = {
        "file": str(path),
        "rows_read": int(len(raw)),
        "rows_loaded": int(ok.sum()),
        "rows_quarantined": int((~ok).sum()),
        "cities_matched": int(table["city_code"].nunique()),
        "cities_in_city_set": len(city_set()),
        "unmatched_keys": sorted(map(str, pd.unique(raw.loc[bad_city, code_col or name_col])))[:50],
        "columns": [c for c in table.columns if c not in ("city_code", "year")],
    }
    return table.reset_index(drop=True), report
