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
