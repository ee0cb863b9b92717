"""Normalisation of the fields of a raw patent record: names, application numbers, dates, IPC symbols.

Every function here has a scalar form (documented rule) and, where it runs on millions of rows,
a vectorised form over a pandas Series of strings (``*_series``).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    """``normalize_name`` over a Series (object dtype, None where empty), vectorised: see
    :func:`normalize_names_arrow`."""
    out = normalize_names_arrow(to_arrow(names)).to_numpy(zero_copy_only=False).astype(object)
    return pd.Series(out, index=names.index, dtype=object).where(pd.notna(out), None)


def normalize_names_arrow(arr: pa.Array) -> pa.Array:
    """:func:`normalize_name` over an Arrow array of strings (large_string, null where None).

    Values made of ASCII and of characters that Unicode normalisation, case mapping and Python's ``\\s``
    all leave alone (CJK ideographs, most CJK punctuation: :func:`_stable_class`) take the rule in
    Arrow compute (RE2): NFKC is the identity on them, and without lookarounds the "white space next
    to a non-ASCII character" rule is two replacements (a run after one, a run before one). Every
    other value (full-width forms, accented letters, exotic white space) runs the Python rule, once
    per distinct value. Same result as ``normalize_name`` value by value."""
    arr = pc.cast(arr, pa.large_string()) if arr.type != pa.large_string() else arr
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    slow = pc.fill_null(pc.match_substring_regex(arr, f"[^\\x00-\\x0a\\x0c-\\x1b\\x20-\\x7f{_stable_class()}]"), False)
    # the values the rule changes at all: a bracket, white space, a lower-case letter, trailing punctuation
    touched = pc.and_(pc.fill_null(pc.match_substring_regex(arr, r"[【】〔〕\[\] \t\n\r\f.;,、a-z]"), False),
                      pc.invert(slow))
    s = arr
    if pc.any(touched).as_py():
        idx = pa.array(np.flatnonzero(touched.to_numpy(zero_copy_only=False)))
        t = arr.take(idx)
        for a, b in (("【", "("), ("】", ")"), ("〔", "("), ("〕", ")"), ("[", "("), ("]", ")")):
            t = pc.replace_substring(t, a, b)
        t = pc.replace_substring_regex(t, r"([^\x00-\x7f])[ \t\n\r\f]+", r"\1")
        t = pc.replace_substring_regex(t, r"[ \t\n\r\f]+([^\x00-\x7f])", r"\1")
        t = pc.replace_substring_regex(t, r"[ \t\n\r\f]+", " ")
        t = pc.ascii_upper(pc.utf8_trim(t, " "))
        t = pc.replace_substring_regex(t, "[.;,；，、 ]+$", "")
        s = pc.replace_with_mask(s, touched, t)
    if pc.any(slow).as_py():
        idx = np.flatnonzero(slow.to_numpy(zero_copy_only=False))
        vals = arr.take(pa.array(idx)).to_pylist()
        done = {v: normalize_name(v) for v in dict.fromkeys(vals)}
        s = pc.replace_with_mask(s, slow, pa.array([done[v] for v in vals], type=pa.large_string()))
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.large_string()), s)


@functools.cache
def _stable_class() -> str:
    """The body of an RE2 character class: non-ASCII characters that NFKC leaves as they are, whatever
    their neighbours (no decomposition, combining class 0), without case, not white space for Python,
    from the blocks Chinese records use (general and CJK punctuation, CJK ideographs, half- and
    full-width forms). A string of ASCII and these characters is its own NFKC form."""
    blocks = ((0x2000, 0x2070), (0x3000, 0x3040), (0x3400, 0x4DC0), (0x4E00, 0xA000), (0xFF00, 0xFFF0))
    ok = [c for lo, hi in blocks for c in range(lo, hi)
          if (ch := chr(c)) and unicodedata.normalize("NFKC", ch) == ch and not unicodedata.decomposition(ch)
          and unicodedata.combining(ch) == 0 and ch.upper() == ch and ch.lower() == ch and not ch.isspace()
          and unicodedata.category(ch) not in ("Cn", "Cs", "Mn", "Mc", "Me")]
    return _class_body(ok)


def _class_body(codes: list[int]) -> str:
    """The body of an RE2 character class of the (ascending) code points ``codes``, as ranges."""
    ranges, start, prev = [], codes[0], codes[0]
    for c in codes[1:] + [-1]:
        if c != prev + 1:
            ranges.append(_class_range(start, prev))
            start = c
        prev = c
    return "".join(ranges)


def _class_range(lo: int, hi: int) -> str:
    return f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}"


@functools.cache
def _py_runs(cls: str) -> tuple[tuple[int, int], ...]:
    """The runs ``[lo, hi)`` of code points that Python's ``re`` class ``cls`` (``\\w``, ``\\s``) matches
    (Unicode for ``str`` patterns: CJK ideographs are word characters), found by ``re`` itself."""
    every = "".join(map(chr, range(0x110000)))
    return tuple((m.start(), m.end()) for m in re.finditer(cls + "+", every))


@functools.cache
def py_re_class(cls: str) -> str:
    """Python's ``re`` class ``cls`` (``\\w``, ``\\s``) as the body of an RE2 character class (RE2's ``\\w``,
    ``\\s`` and ``\\b`` are ASCII only). Surrogates (not in UTF-8, not in these classes) are left out."""
    return "".join(_class_range(a, b - 1) for lo, hi in _py_runs(cls)
                   for a, b in ((lo, min(hi, 0xD800)), (max(lo, 0xE000), hi)) if a < b)


# --- Arrow string helpers ----------------------------------------------------------------------
# The hot paths below run in Arrow compute kernels (RE2 regular expressions, C++ string functions)
# over millions of values; Python touches only the rare non-ASCII values (for NFKC).


def to_arrow(raw: pd.Series) -> pa.Array:
    """A Series of strings (any dtype, missing allowed) as an Arrow large_string array."""
    if isinstance(raw.dtype, pd.ArrowDtype) or str(raw.dtype).startswith("string"):
        arr = pa.array(raw.array)  # zero-copy for Arrow-backed strings
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
        return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    values = raw.to_numpy(dtype=object)
    try:
        return pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed objects: keep the strings only
        return pa.array([v if isinstance(v, str) else None for v in values], type=pa.large_string())


@functools.cache
def _py_whitespace() -> str:
    """The characters Python's ``str.strip()`` removes (``str.isspace``: those of ``re``'s ``\\s``), computed once."""
    return "".join(chr(c) for lo, hi in _py_runs(r"\s") for c in range(lo, hi))


def per_distinct(arr: pa.Array, fn):
    """``fn(arr)`` computed on the distinct values of ``arr`` only, then spread back to every position.

    For element-wise rules (each output value depends on its input value alone) over fields that repeat
    a lot — dates, classification symbols, patent types: a batch of 100,000 records has a few thousand
    distinct dates and a few hundred distinct IPC symbols, so the regular expressions run on those
    instead of on every record. ``fn`` returns an Arrow array, a numpy array or a tuple of them; nulls are
    a value of their own (``fn`` sees them as the input had them). Same result as ``fn(arr)``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    indices = enc.indices
    out = fn(enc.dictionary)
    positions = None

    def spread(x):
        nonlocal positions
        if isinstance(x, (pa.Array, pa.ChunkedArray)):
            return x.take(indices)
        if positions is None:
            positions = indices.to_numpy(zero_copy_only=False)
        return np.asarray(x)[positions]

    return tuple(spread(x) for x in out) if isinstance(out, tuple) else spread(out)


def as_mask(arr) -> np.ndarray:
    """A boolean Arrow array as a numpy mask (null: False)."""
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)


def strip_arrow(arr: pa.Array) -> pa.Array:
    """``str.strip()`` of every value of an Arrow string array (the same characters as Python's)."""
    return pc.utf8_trim(arr, characters=_py_whitespace())


def to_series(arr: pa.Array, index: pd.Index | None = None) -> pd.Series:
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=index)


def fold(arr: pa.Array) -> pa.Array:
    """NFKC (full width → half width), then upper case and trimmed. NFKC runs (in Python) only on the
    values with a character it may change: outside ASCII and the stable class of :func:`_stable_class`
    (so not on dates written with 年月日, nor on most Chinese text)."""
    idx = np.flatnonzero(pc.invert(pc.fill_null(pc.string_is_ascii(arr), True)).to_numpy(zero_copy_only=False))
    if len(idx):  # of the non-ASCII values, those with a character NFKC may change
        unstable = pc.match_substring_regex(arr.take(pa.array(idx)), f"[^\\x00-\\x7f{_stable_class()}]")
        idx = idx[unstable.to_numpy(zero_copy_only=False)]
    if len(idx):
        fixed = [unicodedata.normalize("NFKC", v) for v in arr.take(pa.array(idx)).to_pylist()]
        values = arr.to_pylist() if len(idx) > len(arr) // 4 else None
        if values is not None:
            for i, v in zip(idx, fixed, strict=True):
                values[i] = v
            arr = pa.array(values, type=pa.large_string())
        else:
            mask = np.zeros(len(arr), dtype=bool)
            mask[idx] = True
            arr = pc.replace_with_mask(arr, pa.array(mask), pa.array(fixed, type=pa.large_string()))
    return pc.utf8_trim_whitespace(pc.utf8_upper(arr))


# --- application numbers -------------------------------------------------------------------------
_APPNO_WEIGHTS_12 = np.array([2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5])
_APPNO_WEIGHTS_8 = np.array([2, 3, 4, 5, 6, 7, 8, 9])
_APPNO_RE = r"^(?:CN|ZL)?(?P<digits>\d{12}|\d{8})(?:\.?(?P<check>[0-9X]))?[A-WYZ]?$"  # Lens: CN 201510123456 A


def app_number_check_digit(digits: str) -> str:
    """CNIPA check digit: Σ wᵢ·dᵢ mod 11 with weights 2…9,2…5 (12 digits) or 2…9 (8 digits); 10 → ``X``.

    Source: CNIPA, 专利申请号标准 (ZC 0006-2003), §5.
    """
    weights = _APPNO_WEIGHTS_12 if len(digits) == 12 else _APPNO_WEIGHTS_8
    r = int(np.dot(weights, [int(d) for d in digits])) % 11
    return "X" if r == 10 else str(r)


def _check_digits(digits: pa.Array) -> np.ndarray:
    """Vectorised ``app_number_check_digit`` over an array of 8- or 12-digit strings (others: '');
    the digits are read from the Arrow buffer as a matrix (no Python string per value)."""
    out = np.full(len(digits), "", dtype=object)
    for idx, res in _check_residues(digits).values():
        out[idx] = np.where(res == 10, "X", res.astype(str))
    return out


def _check_residues(digits: pa.Array) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per width (12, 8): positions of the values of that many digits and Σ wᵢ·dᵢ mod 11 of each."""
    digits = pc.cast(digits, pa.large_string()) if digits.type != pa.large_string() else digits
    if isinstance(digits, pa.ChunkedArray):
        digits = digits.combine_chunks()
    lengths = pc.fill_null(pc.binary_length(digits), 0).to_numpy(zero_copy_only=False)
    out = {}
    for width, weights in ((12, _APPNO_WEIGHTS_12), (8, _APPNO_WEIGHTS_8)):
        idx = np.flatnonzero(lengths == width)
        if not len(idx):
            continue
        sub = digits.take(pa.array(idx))
        offsets = np.frombuffer(sub.buffers()[1], dtype=np.int64, count=len(sub) + 1, offset=sub.offset * 8)
        data = np.frombuffer(sub.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
        matrix = data.reshape(-1, width).astype(np.int64) - 48
        out[width] = (idx, (matrix @ weights) % 11)
    return out


def normalize_app_numbers(raw: pd.Series) -> pd.DataFrame:
    """Normalise application numbers to ``CN<digits>.<check>``.

    Accepts ``CN201510123456.7``, ``201510123456.7``, ``2015101234567``, ``ZL…``, full-width digits,
    stray spaces and lower case, the 12-digit format (since 2003) and the 8-digit one (before).
    A missing check digit is computed. Returns columns ``patent_id`` (null when invalid) and
    ``error`` (``missing``, ``malformed`` or ``check_digit``; null when valid).
    """
    pid, error = app_numbers_arrow(to_arrow(raw))
    return pd.DataFrame({"patent_id": pid.to_numpy(zero_copy_only=False), "error": error}, index=raw.index)


_CHECK_CHARS = pa.array(list("0123456789X"), pa.large_string())


SCIENTIFIC_NUMBER = r"^\s*\+?[0-9]+(?:\.[0-9]+)?[eE]\+?[0-9]+\s*$"
"""A number as Excel shows a long one in a General cell (``2.01511E+11``): saved so, its digits are lost."""


def in_scientific_notation(values: pa.Array | pd.Series) -> np.ndarray:
    """Which values are a number in scientific notation (:data:`SCIENTIFIC_NUMBER`): an application
    number that Excel rounded when the file was saved, not a mistyped one.

    >>> in_scientific_notation(pa.array(["2.01511E+11", "CN201510000001.2", "2E11", None])).tolist()
    [True, False, True, False]
    """
    arr = pa.array(values.astype(object), from_pandas=True) if isinstance(values, pd.Series) else values
    if arr.type != pa.large_string():
        arr = pc.cast(arr, pa.large_string())
    return np.asarray(pc.fill_null(pc.match_substring_regex(arr, SCIENTIFIC_NUMBER), False), dtype=bool)


def app_numbers_arrow(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """:func:`normalize_app_numbers` on an Arrow array: ``patent_id`` (large_string, null when invalid)
    and ``error`` (object array: ``missing``, ``malformed``, ``check_digit`` or None).

    The two forms most exports print — ``CN201510123456.7`` and ``201510123456.7`` — are recognised on
    the bytes (numpy), without the regular expressions: for them the rule's folding and clean-up change
    nothing and its pattern takes the 12 digits and the check digit as printed. Every other value takes
    the rule in full (:func:`_app_numbers`)."""
    arr = pc.cast(arr, pa.large_string()) if arr.type != pa.large_string() else arr
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    lengths = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
    fast_idx, fast_pid, fast_ok = [], [], []
    for width, prefix in ((16, b"CN"), (14, b"")):
        idx = np.flatnonzero(lengths == width)
        if not len(idx):
            continue
        sub = arr.take(pa.array(idx))
        offsets = np.frombuffer(sub.buffers()[1], dtype=np.int64, count=len(sub) + 1, offset=sub.offset * 8)
        m = np.frombuffer(sub.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(-1, width)
        p = len(prefix)
        digits = m[:, p:p + 12]
        check = m[:, p + 13]
        shape = ((digits >= 48) & (digits <= 57)).all(axis=1) & (m[:, p + 12] == 46) \
            & (((check >= 48) & (check <= 57)) | (check == 88))
        for k, byte in enumerate(prefix):
            shape &= m[:, k] == byte
        if not shape.any():
            continue
        residue = ((digits.astype(np.int64) - 48) @ _APPNO_WEIGHTS_12) % 11
        ok = np.where(check == 88, 10, check.astype(np.int64) - 48) == residue
        sel = np.flatnonzero(shape)
        values = sub.take(pa.array(sel))
        if prefix:
            fast_pid.append(values)
        else:
            cn = pa.scalar("CN", pa.large_string())
            fast_pid.append(pc.binary_join_element_wise(cn, values, pa.scalar("", pa.large_string())))
        fast_idx.append(idx[sel])
        fast_ok.append(ok[sel])
    if not fast_idx:
        return _app_numbers(arr)
    fast = np.concatenate(fast_idx)
    ok = np.concatenate(fast_ok)
    is_fast = np.zeros(n, dtype=bool)
    is_fast[fast] = True
    rest = np.flatnonzero(~is_fast)
    slow_pid, slow_error = _app_numbers(arr.take(pa.array(rest, type=pa.int64())))
    error = np.full(n, None, dtype=object)
    error[rest] = slow_error
    error[fast[~ok]] = "check_digit"
    pool = pa.concat_arrays([slow_pid, *fast_pid])  # the slow values, then the fast ones in ``fast`` order
    where = np.empty(n, dtype=np.int64)
    where[rest] = np.arange(len(rest))
    where[fast] = len(rest) + np.arange(len(fast))
    valid = np.ones(n, dtype=bool)
    valid[fast[~ok]] = False
    pid = pool.take(pa.array(where, mask=~valid))
    return pid, error


def _app_numbers(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The whole rule of :func:`app_numbers_arrow` (folding, clean-up, pattern, check digit)."""
    s = pc.replace_substring_regex(fold(arr), r"[\s\-]", "")
    parts = pc.extract_regex(s, _APPNO_RE)
    matched = parts.is_valid().to_numpy(zero_copy_only=False)
    digits = pc.if_else(parts.is_valid(), pc.struct_field(parts, "digits"), "")
    given = pc.fill_null(pc.struct_field(parts, "check"), "")
    residue = np.full(len(arr), -1, dtype=np.int64)
    for idx, res in _check_residues(digits).values():
        residue[idx] = res
    expected = pc.take(_CHECK_CHARS, pa.array(np.where(residue < 0, 0, residue)))
    blank = pc.fill_null(pc.equal(s, ""), True).to_numpy(zero_copy_only=False)
    given_np = pc.not_equal(given, "").to_numpy(zero_copy_only=False)
    differs = pc.not_equal(pc.cast(given, pa.large_string()), expected).to_numpy(zero_copy_only=False)
    bad_check = matched & given_np & differs
    error = np.full(len(arr), None, dtype=object)
    error[blank] = "missing"
    error[~blank & ~matched] = "malformed"
    error[bad_check] = "check_digit"
    ok = matched & ~bad_check
    joined = pc.binary_join_element_wise(pa.scalar("CN", pa.large_string()), pc.cast(digits, pa.large_string()),
                                         pa.scalar(".", pa.large_string()), expected, pa.scalar("", pa.large_string()))
    pid = pc.if_else(pa.array(ok), joined, pa.scalar(None, pa.large_string()))
    return pid, error


def normalize_pub_numbers(raw: pd.Series) -> pd.Series:
    """``cn 104123456 a`` → ``CN104123456A``: NFKC, upper case, no spaces (object Series, None if empty)."""
    out = pub_numbers_arrow(to_arrow(raw)).to_numpy(zero_copy_only=False).astype(object)
    return pd.Series(out, index=raw.index, dtype=object)


def pub_numbers_arrow(arr: pa.Array) -> pa.Array:
    """:func:`normalize_pub_numbers` on an Arrow array (null where empty)."""
    s = pc.replace_substring_regex(fold(arr), r"\s+", "")
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, s.type), s)


# --- dates ---------------------------------------------------------------------------------------
def parse_dates(raw: pd.Series) -> pd.Series:
    """Parse ``20150312``, ``2015-03-12``, ``2015.03.12``, ``2015/3/12``, ``2015年3月12日`` (and
    those followed by a time), and a spreadsheet's day number ``42076`` (:func:`_excel_serials`), to
    ``datetime64[s]``; anything else is NaT. Empty and ``0`` are NaT too
    (callers tell "absent" from "unparseable" with ``is_blank``). The rule is :func:`parse_dates_arrow`.
    """
    out = parse_dates_arrow(to_arrow(raw))
    return pd.Series(out.to_numpy(zero_copy_only=False), index=raw.index, dtype="datetime64[s]")


def parse_dates_arrow(raw: pa.Array, folded: bool = False) -> pa.Array:
    """:func:`parse_dates` on an Arrow string array (``folded``: already through :func:`fold`) →
    ``timestamp[s]``, null where not a date."""
    s = raw if folded else fold(raw)
    s = pc.replace_substring_regex(s, r"[年月/.]", "-")
    s = pc.replace_substring_regex(s, r"日", "")
    s = pc.replace_substring_regex(s, r"^(\d{4}-\d{1,2}-\d{1,2})[ T].*$", r"\1")
    dashed = pc.strptime(s, format="%Y-%m-%d", unit="s", error_is_null=True)
    compact = pc.strptime(s, format="%Y%m%d", unit="s", error_is_null=True)
    ok8 = pc.fill_null(pc.match_substring_regex(s, r"^\d{8}$"), False)
    okd = pc.fill_null(pc.match_substring_regex(s, r"^\d{4}-\d{1,2}-\d{1,2}$"), False)
    dates = pc.if_else(ok8, compact, pc.if_else(okd, dashed, pa.scalar(None, pa.timestamp("s"))))
    # Arrow's strptime rolls a day past the month's end over (2015-02-30 → 2015-03-02, 2015-02-29 → 03-01):
    # a date whose day of month is not the one written is no date
    written = pc.if_else(ok8, pc.utf8_slice_codeunits(s, 6), pc.replace_substring_regex(s, r"^.*-", ""))
    written = pc.cast(pc.if_else(pc.or_(ok8, okd), written, "0"), pa.int64())
    dates = pc.if_else(pc.fill_null(pc.equal(pc.day(dates), written), False), dates, pa.scalar(None, pa.timestamp("s")))
    return pc.if_else(pc.is_null(dates), _excel_serials(s), dates)


EXCEL_SERIALS = (20_000, 73_050)  # Excel's day numbers of 1954-10-03 and 2099-12-31 (five digits: no other date form)


def _excel_serials(s: pa.Array) -> pa.Array:
    """A date cell that a spreadsheet holds as its day number (a date column formatted "General": ``42076`` or
    ``42076.0``) → the date it stands for, in Excel's 1900 system (day 25569 = 1970-01-01; days before 1900-03-01
    are not in the range); null elsewhere."""
    digits = pc.extract_regex(s, r"^(?P<day>\d{5})(?:[.-]0+)?$")  # (parse_dates_arrow turned '.' into '-')
    day = pc.cast(pc.struct_field(digits, "day"), pa.int64())
    ok = pc.and_kleene(pc.greater_equal(day, EXCEL_SERIALS[0]), pc.less_equal(day, EXCEL_SERIALS[1]))
    seconds = pc.multiply(pc.subtract(day, 25_569), 86_400)
    return pc.if_else(pc.fill_null(ok, False), pc.cast(seconds, pa.timestamp("s")), pa.scalar(None, pa.timestamp("s")))


_BLANKS = ["", "0", "-", "--", "无", "NULL", "NAN", "NONE", "N/A"]


def is_blank(raw: pd.Series) -> pd.Series:
    """True where a raw field is empty, white space, ``0`` or a vendor placeholder (``-``, ``无``)."""
    return pd.Series(is_blank_arrow(to_arrow(raw)).to_numpy(zero_copy_only=False), index=raw.index)


def is_blank_arrow(raw: pa.Array, folded: bool = False) -> pa.Array:
    """:func:`is_blank` on an Arrow string array (``folded``: already through :func:`fold`); boolean, no nulls."""
    s = raw if folded else fold(raw)
    return pc.is_in(pc.fill_null(s, ""), pa.array(_BLANKS, type=pa.large_string()))


# --- IPC / CPC / Locarno symbols -----------------------------------------------------------------
# How vendors print a classification symbol (the table of tests/test_codes.py has one row per vendor):
#   CNIPA / Wanfang   H04L9/06(2006.01)I      version in brackets, then the level letter (I core, N additional)
#   CNIPA XML, EPO    H04L 9/06 (2006.01)     WIPO ST.8 display form
#   DOCDB / PATSTAT   H04L   9/06   20060101AFI20051220BHEP   fixed-width, version date and flags
#   incoPat, Patsnap  H04L9/06 | H04L9/08     any separator ; ; , ， | newline 、 or ;; (Lens)
#   Google Patents    H04L9/0618              CPC without spaces
#   by hand           ｈ04ｌ 0009/06, *H04L9/06 (main marked), H04L9/06(主)
IPC_RE = r"^(?P<subclass>[A-HY]\d{2}[A-Z])0*(?P<main>\d{1,4})/(?P<sub>\d{1,6})$"
LOCARNO_RE = r"^\d{2}-\d{2}$"
CODE_SEP = r"[;；,，|｜\n\r、]+"
# After folding: a version (bracketed ST.8 form or the DOCDB date), then level / source letters and
# anything DOCDB appends; a main-class mark (*, 主, (主)); a label (IPC:, CPC:).
_VERSION_TAIL = (
    r"(?:\s*[(\[【〔]\s*(?:19|20)\d{2}\s*[.\-]?\s*\d{2}(?:\d{2})?\s*[)\]】〕]|\s+(?:19|20)\d{6})"
    r"\s*[A-Z]{0,4}(?:\s*\d{8}\s*[A-Z]{0,6})?\s*$"
)
_MARKS = r"^(?:IPC|CPC|主分类号?|主)\s*[:：]?\s*|^[*＊]+|[*＊]+$|[(\[]\s*主\s*[)\]]$"


def _clean_code(arr: pa.Array) -> pa.Array:
    s = fold(arr)
    s = pc.replace_substring_regex(s, _MARKS, "")
    s = pc.replace_substring_regex(s, _VERSION_TAIL, "")
    return pc.replace_substring_regex(s, r"\s+", "")


def normalize_ipc_symbols(symbols: pd.Series) -> pd.DataFrame:
    """Normalise one IPC/CPC symbol per value to ``H04L 9/06`` (subclass, space, main group, ``/``, subgroup).

    Accepts every form above: ``H04L9/06(2006.01)I`` → ``H04L 9/06``; ``ｈ04ｌ 0009/06`` → ``H04L 9/06``;
    ``H04L   9/06   20060101AFI20051220BHEP`` → ``H04L 9/06``; ``*H04L9/06`` → ``H04L 9/06``. The
    version (WIPO ST.8 ``(2006.01)``) and level letters are dropped: the canonical symbol is
    version-free, as in the WIPO green inventory and the CPC Y02 scheme. Returns ``symbol`` (None
    when malformed, e.g. ``H01M/0X`` or a Locarno ``13-03``) and ``valid``.
    """
    symbol, valid = ipc_symbols_arrow(to_arrow(symbols))
    return pd.DataFrame({"symbol": symbol.to_numpy(zero_copy_only=False), "valid": valid}, index=symbols.index)


def ipc_symbols_arrow(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """:func:`normalize_ipc_symbols` on an Arrow array: the symbols (null when malformed) and ``valid``
    (computed once per distinct symbol: :func:`per_distinct`)."""
    return per_distinct(arr, _ipc_symbols)


def _ipc_symbols(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    s = _clean_code(arr)
    parts = pc.extract_regex(s, IPC_RE)
    valid = parts.is_valid()
    field = [pc.cast(pc.struct_field(parts, name), pa.large_string()) for name in ("subclass", "main", "sub")]
    space, slash = pa.scalar(" ", pa.large_string()), pa.scalar("/", pa.large_string())
    joined = pc.binary_join_element_wise(field[0], space, field[1], slash, field[2], pa.scalar("", pa.large_string()))
    symbol = pc.if_else(valid, joined, pa.scalar(None, pa.large_string()))
    return symbol, valid.to_numpy(zero_copy_only=False)


def normalize_locarno(symbols: pd.Series) -> pd.Series:
    """Locarno class of a design: ``12-08`` (class, hyphen, subclass, two digits each); None if malformed.

    Accepts ``12-08``, ``12－08``, ``12–08``, ``1208``, ``12.08``, ``2-1`` (→ ``02-01``), an edition and
    label (``LOC(10)Cl.12-08``, ``(10)12-08``) and a version tail as for IPC. Source: WIPO, Locarno
    Classification, 14th edition (two-level class-subclass numbering).
    """
    out = locarno_arrow(to_arrow(symbols))
    return pd.Series(out.to_numpy(zero_copy_only=False), index=symbols.index, dtype=object)


def locarno_arrow(arr: pa.Array) -> pa.Array:
    """:func:`normalize_locarno` on an Arrow array (null when malformed; once per distinct value)."""
    return per_distinct(arr, _locarno)


def _locarno(arr: pa.Array) -> pa.Array:
    s = fold(arr)
    s = pc.replace_substring_regex(s, r"^LOC\s*|^\(\s*\d{1,2}\s*\)\s*|CL\s*\.?\s*|^[*＊]+", "")
    s = pc.replace_substring_regex(s, r"^\(\s*\d{1,2}\s*\)\s*", "")
    s = pc.replace_substring_regex(s, r"[－–—‐/.]", "-")
    s = pc.replace_substring_regex(s, r"\s+", "")
    parts = pc.extract_regex(s, r"^(?P<cls>\d{2})-?(?P<sub>\d{2})$|^(?P<c1>\d{1,2})-(?P<s1>\d{1,2})$")
    empty = pa.scalar("", pa.large_string())
    cls = pc.binary_join_element_wise(pc.struct_field(parts, "cls"), pc.struct_field(parts, "c1"), empty)
    sub = pc.binary_join_element_wise(pc.struct_field(parts, "sub"), pc.struct_field(parts, "s1"), empty)
    dash = pa.scalar("-", pa.large_string())
    out = pc.binary_join_element_wise(pc.utf8_lpad(cls, 2, "0"), pc.utf8_lpad(sub, 2, "0"), dash)
    return pc.if_else(pc.and_(parts.is_valid(), pc.not_equal(out, "00-00")), out, pa.scalar(None, out.type))


def explode_codes(raw: pd.Series) -> pd.Series:
    """Classification symbols of a field as one Series indexed by record position (like ``explode_items``).

    Splits on any separator of ``CODE_SEP`` and also where a new symbol starts after white space
    (``H04L9/06 H04L9/08``); each item is returned as printed (``normalize_ipc_symbols`` cleans it).
    """
    rows, items = explode_codes_arrow(to_arrow(raw.reset_index(drop=True)))
    return pd.Series(items.to_numpy(zero_copy_only=False), index=rows, dtype=object)


def explode_codes_arrow(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """:func:`explode_codes` on an Arrow array: (record position of each item, the items)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    # split once per distinct field value (a batch repeats its IPC fields: 20-30 % distinct, the main
    # symbol under 1 %), then each record takes the items of its value
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    cleaned = pc.replace_substring_regex(fold(enc.dictionary), r"\s+([A-HY]\d{2}[A-Z]\s*\d)", ";\\1")
    value_rows, value_items = explode_arrow(cleaned, CODE_SEP)
    counts = np.bincount(value_rows, minlength=len(cleaned)).astype(np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int64())
    indices = enc.indices.to_numpy(zero_copy_only=False)
    per_record = pa.LargeListArray.from_arrays(offsets, value_items).take(enc.indices)
    return np.repeat(np.arange(len(arr)), counts[indices]), pc.list_flatten(per_record)


def split_list(raw: pd.Series, sep: str = r"[;；,，|]") -> pd.Series:
    """Split a delimited field into lists of stripped, non-empty items (``[]`` for empty); small inputs only."""
    items = explode_items(raw.reset_index(drop=True), sep)
    lists = [[] for _ in range(len(raw))]
    for pos, item in zip(items.index, items, strict=True):
        lists[pos].append(item)
    return pd.Series(lists, index=raw.index, dtype=object)


# the separators of a list of names or numbers in one cell: also the enumeration comma 、 and the full-width
# bar ｜ (as for classification symbols, CODE_SEP), and a line break (a cell with one applicant per line, a
# <br> of an HTML table), where the name normalisation used to join two applicants into one name
LIST_SEP = r"[;；,，|｜、\n\r]"


def explode_items(raw: pd.Series, sep: str = LIST_SEP) -> pd.Series:
    """Items of a delimited field as one Series, indexed by each item's record position (0…n−1).

    ``"H01M8/04; H01M8/10"`` gives two items with the record's position; empty items are dropped;
    order within a record is kept. Vectorised with Arrow (no Python loop over records).
    """
    rows, items = explode_arrow(text_arrow(raw), sep)
    return pd.Series(items.to_numpy(zero_copy_only=False), index=rows, dtype=object)


def blank_records(records: pd.DataFrame, among) -> np.ndarray:
    """Which records of ``among`` (a boolean mask; few rows: those without an application number) have every
    input field blank (empty or whitespace): an empty row of a workbook, or a CSV line of separators only —
    quarantined as ``empty_row``, not as a record without its number. The input fields are the ``raw:``
    copies when the records carry them, else every column not starting with ``_``."""
    among = np.asarray(among, dtype=bool)
    out = np.zeros(len(records), dtype=bool)
    rows = np.flatnonzero(among)
    if not len(rows):
        return out
    fields = [c for c in records.columns if str(c).startswith("raw:")] or \
        [c for c in records.columns if not str(c).startswith("_")]
    blank = np.ones(len(rows), dtype=bool)
    for name in fields:
        values = text_arrow(records[name].iloc[rows])
        blank &= np.asarray(pc.equal(pc.utf8_trim_whitespace(values), "")).astype(bool)
    out[rows[blank]] = True
    return out


def text_arrow(raw: pd.Series) -> pa.Array:
    """``raw.fillna("").astype(str)`` as an Arrow large_string array (zero-copy for Arrow strings)."""
    if isinstance(raw.dtype, pd.ArrowDtype) or str(raw.dtype).startswith("string"):
        return pc.fill_null(to_arrow(raw), "")
    return pa.array(raw.fillna("").astype(str).to_numpy(dtype=object), type=pa.large_string())


def explode_arrow(arr: pa.Array, sep: str) -> tuple[np.ndarray, pa.Array]:
    """Items of a delimited field: (record position of each item, the stripped non-empty items)."""
    arr = pc.fill_null(arr, "")
    parts = pc.split_pattern_regex(arr, pattern=sep)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    rows = np.repeat(np.arange(len(arr)), lengths)
    keep = pc.not_equal(flat, "")
    return rows[keep.to_numpy(zero_copy_only=False)], flat.filter(keep)


def first_pairs(rows: np.ndarray, items: pa.Array) -> np.ndarray:
    """Positions of the first occurrence of each (row, item) pair (a missing item is a value), in order."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    enc = pc.dictionary_encode(items, null_encoding="encode")
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    key = np.asarray(rows, dtype=np.int64) * (len(enc.dictionary) + 1) + codes
    return np.flatnonzero(~pd.Series(key, copy=False).duplicated().to_numpy())  # a hash table: no sort


def lists_from_items(rows: np.ndarray, items: pa.Array, n_rows: int) -> pa.Array:
    """One ``list<string>`` per position 0…n−1 from (position, item) pairs, item order kept (``[]`` if none)."""
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=n_rows) if len(rows) else np.zeros(n_rows, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype("int64")
    values = pc.cast(items, pa.large_string()).take(pa.array(order, type=pa.int64()))
    return pa.LargeListArray.from_arrays(pa.array(offsets), values).cast(pa.list_(pa.string()))


def lists_by_row(items: pd.Series, n_rows: int) -> pd.Series:
    """Inverse of ``explode_items``: an Arrow-backed list Series, one list per position 0…n−1 (``[]`` if none).

    ``items`` must be indexed by position; order within a position is kept.
    """
    values = pa.array(items.to_numpy(dtype=object), type=pa.large_string())
    return pd.Series(pd.arrays.ArrowExtensionArray(lists_from_items(items.index.to_numpy(), values, n_rows)))
