"""CNIPA application numbers (12-digit format, in use since 2003) and their check digit.

``CN`` + year (4 digits) + type digit (1 invention, 2 utility model, 3 design; 8/9 for PCT entries)
+ 7-digit serial + ``.`` + check digit. The check digit is ``c = Σ_k w_k·d_k mod 11`` over the 12
digits with weights ``w = (2,3,4,5,6,7,8,9,2,3,4,5)``; ``c = 10`` is written ``X``
(CNIPA, 专利申请号标准 ZC 0006-2003). Independent of the ETL's validator on purpose.
"""

from __future__ import annotations

import numpy as np

WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
TYPE_DIGIT = {"invention": 1, "utility": 2, "design": 3}
_CHECK_CHARS = np.array(list("0123456789X"), dtype=object)


def check_digit(digits: str) -> str:
    """Check digit of a 12-digit application number body (``"201510123456"`` → ``"1"``)."""
    if len(digits) != 12 or not digits.isdigit():
        raise ValueError(f"expected 12 digits, got {digits!r}")
    r = sum(w * int(d) for w, d in zip(WEIGHTS, digits, strict=True)) % 11
    return "X" if r == 10 else str(r)


def is_valid(app_number: str) -> bool:
    """True for ``CN``/``ZL``-prefixed or bare ``YYYYTNNNNNNN.C`` numbers (spaces ignored) with the right check digit."""
    s = "".join(app_number.split()).upper().removeprefix("CN").removeprefix("ZL")
    body, _, check = s.partition(".")
    return len(body) == 12 and body.isdigit() and len(check) == 1 and check_digit(body) == check


def bodies(year: np.ndarray, type_digit: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """The 12-digit bodies as int64: ``year·10⁸ + type·10⁷ + serial``."""
    return (
        np.asarray(year, dtype=np.int64) * 100_000_000
        + np.asarray(type_digit, dtype=np.int64) * 10_000_000
        + np.asarray(serial, dtype=np.int64)
    )


def check_digits(body: np.ndarray) -> np.ndarray:
    """Vectorised check digits (object array of ``"0"``…``"9"``, ``"X"``) of int64 12-digit bodies."""
    b = np.asarray(body, dtype=np.int64).copy()
    total = np.zeros(b.shape, dtype=np.int64)
    for w in reversed(WEIGHTS):  # least significant digit first
        total += w * (b % 10)
        b //= 10
    return _CHECK_CHARS[total % 11]


def format_numbers(year: np.ndarray, type_digit: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """``CN201510123456.1``-style numbers (object array)."""
    body = bodies(year, type_digit, serial)
    return "CN" + body.astype(str).astype(object) + "." + check_digits(body)
