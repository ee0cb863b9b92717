"""Normalisation of the fields of a raw patent record: names, application numbers, dates, IPC symbols.

Every function here has a scalar form (documented rule) and, where it runs on millions of rows,
a vectorised form over a pandas Series of strings (``*_series``).
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "｛": "(", "｝": ")"})
_WS_RE = re.compile(r"\s+")
_WS_NEAR_CJK_RE = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")


def normalize_name(name: str | None) -> str | None:
    """Canonical applicant name.

    Rule: Unicode NFKC (full-width letters, digits and brackets become half-width: ``（`` → ``(``),
    every kind of bracket becomes ``( )``, white space next to a Chinese character is removed and
    other runs of white space become one space, Latin letters are upper-cased, and trailing
    punctuation ``.;,；，、`` is dropped.
    ``"南京 南瑞集团（公司）"`` → ``"南京南瑞集团(公司)"``; ``"ｓｏｎｙ  corp."`` → ``"SONY CORP"``.
    Returns None for an empty result.
    """
    if name is None:
        return None
    s = unicodedata.normalize("NFKC", str(name)).translate(_BRACKETS)
    s = _WS_RE.sub(" ", _WS_NEAR_CJK_RE.sub("", s)).strip().upper().rstrip(".;,；，、 ")
    return s or None


def normalize_name_series(names: pd.Series) -> pd.Series:
    """``normalize_name`` over a Series, computed once per distinct value."""
    uniques = pd.unique(names.dropna())
    mapping = {u: normalize_name(u) for u in uniques}
    return names.map(mapping)


# --- application numbers -------------------------------------------------------------------------
_APPNO_WEIGHTS_12 = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_APPNO_WEIGHTS_8 = (2, 3, 4, 5, 6, 7, 8, 9)
_APPNO_RE = r"^(?:CN|ZL)?(\d{12}|\d{8})(?:\.?([0-9X]))?$"


def app_number_check_digit(digits: str) -> str:
    """CNIPA check digit: Σ wᵢ·dᵢ mod 11 with weights 2…9,2…5 (12 digits) or 2…9 (8 digits); 10 → ``X``.

    Source: CNIPA, 专利申请号标准 (ZC 0006-2003), §5.
    """
    weights = _APPNO_WEIGHTS_12 if len(digits) == 12 else _APPNO_WEIGHTS_8
    r = sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11
    return "X" if r == 10 else str(r)


def normalize_app_numbers(raw: pd.Series) -> pd.DataFrame:
    """Normalise application numbers to ``CN<digits>.<check>``.

    Accepts ``CN201510123456.7``, ``201510123456.7``, ``2015101234567``, ``ZL…``, full-width digits,
    stray spaces and lower case, the 12-digit format (since 2003) and the 8-digit one (before).
    A missing check digit is computed. Returns columns ``patent_id`` (null when invalid) and
    ``error`` (``missing``, ``malformed`` or ``check_digit``; null when valid).
    """
    s = _ascii_upper(raw).str.replace(r"[\s\-]", "", regex=True)
    parts = s.str.extract(_APPNO_RE)
    digits, check = parts[0], parts[1]
    out = pd.DataFrame({"patent_id": pd.Series(None, index=raw.index, dtype="object"), "error": None})
    out.loc[s.isna() | (s == ""), "error"] = "missing"
    ok = digits.notna()
    out.loc[~ok & out["error"].isna(), "error"] = "malformed"
    uniq = pd.unique(digits[ok])
    expected = pd.Series({d: app_number_check_digit(d) for d in uniq}, dtype="object")
    exp = digits[ok].map(expected)
    given = check[ok]
    bad = given.notna() & (given != exp)
    out.loc[bad[bad].index, "error"] = "check_digit"
    good = ok & ~bad.reindex(raw.index, fill_value=False)
    out.loc[good, "patent_id"] = "CN" + digits[good] + "." + exp[good[good].index]
    return out


def _ascii_upper(raw: pd.Series) -> pd.Series:
    """NFKC (full width → half width) and upper case, on distinct values."""
    return raw.map(_nfkc_map(raw)).str.upper().str.strip()


def _nfkc_map(raw: pd.Series) -> dict:
    return {u: unicodedata.normalize("NFKC", u) for u in pd.unique(raw.dropna())}


# --- dates ---------------------------------------------------------------------------------------
def parse_dates(raw: pd.Series) -> pd.Series:
    """Parse ``20150312``, ``2015-03-12``, ``2015.03.12``, ``2015/3/12``, ``2015年3月12日`` (and
    those followed by a time) to ``datetime64``; anything else is NaT. Empty and ``0`` are NaT too
    (callers tell "absent" from "unparseable" by the raw value).
    """
    s = _ascii_upper(raw).str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
    s = s.str.replace(r"^(\d{4}-\d{1,2}-\d{1,2})(?:[ T].*)?$", r"\1", regex=True)
    compact = s.str.fullmatch(r"\d{8}").fillna(False)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]")
    out[compact] = pd.to_datetime(s[compact], format="%Y%m%d", errors="coerce")
    dashed = s.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}").fillna(False)
    out[dashed] = pd.to_datetime(s[dashed], format="%Y-%m-%d", errors="coerce")
    return out


def is_blank(raw: pd.Series) -> pd.Series:
    """True where a raw field is empty, white space, ``0`` or a vendor placeholder (``-``, ``无``)."""
    s = raw.fillna("").astype(str).str.strip()
    return s.isin(["", "0", "-", "--", "无", "NULL", "null", "NaN", "nan", "None"])


# --- IPC / CPC symbols --------------------------------------------------------------------------
IPC_RE = r"^([A-HY]\d{2}[A-Z])\s*0*(\d{1,4})\s*/\s*(\d{1,6})(?:\s*\(\d{4}\.\d{2}\))?$"
LOCARNO_RE = r"^\d{2}-\d{2}$"


def split_list(raw: pd.Series, sep: str = r"[;；,，|]") -> pd.Series:
    """Split a delimited field into lists of stripped, non-empty items (``[]`` for empty)."""
    s = raw.fillna("").astype(str).str.strip()
    parts = s.str.split(sep, regex=True)
    return parts.map(lambda xs: [x.strip() for x in xs if x and x.strip()])


def normalize_ipc_symbols(symbols: pd.Series) -> pd.DataFrame:
    """Normalise IPC/CPC symbols to ``H01M 8/04`` form (subclass, space, main group, ``/``, subgroup).

    ``H01M8/04`` → ``H01M 8/04``; ``ｈ01ｍ 0008/04`` → ``H01M 8/04``; a version suffix
    ``(2006.01)`` is dropped. Returns ``symbol`` (null when malformed) and ``valid``.
    """
    s = _ascii_upper(symbols).str.replace(r"\s+", " ", regex=True)
    parts = s.str.extract(IPC_RE)
    valid = parts[0].notna()
    symbol = (parts[0] + " " + parts[1] + "/" + parts[2]).where(valid)
    return pd.DataFrame({"symbol": symbol, "valid": valid})
