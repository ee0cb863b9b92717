"""Chinese postal codes → province: the first two digits of a six-digit code (邮政编码) name a province.

Only the province is read from a postal code: finer prefixes do not follow prefecture boundaries
reliably, so a postal code disambiguates (鼓楼区 with ``21xxxx`` is in Jiangsu) but never locates
a city on its own. Source: the national postal-code plan (China Post, 邮政编码区划), first two digits.
"""

from __future__ import annotations

import re

PROVINCE_BY_POSTAL_PREFIX: dict[str, str] = {
    "10": "110000", "20": "310000", "30": "120000", "40": "500000",
    "01": "150000", "02": "150000",
    "03": "140000", "04": "140000",
    "05": "130000", "06": "130000", "07": "130000",
    "11": "210000", "12": "210000",
    "13": "220000",
    "15": "230000", "16": "230000",
    "21": "320000", "22": "320000",
    "23": "340000", "24": "340000",
    "25": "370000", "26": "370000", "27": "370000",
    "31": "330000", "32": "330000",
    "33": "360000", "34": "360000",
    "35": "350000", "36": "350000",
    "41": "430000", "42": "430000",
    "43": "420000", "44": "420000",
    "45": "410000", "46": "410000", "47": "410000",
    "51": "440000", "52": "440000",
    "53": "450000", "54": "450000",
    "55": "520000", "56": "520000",
    "57": "460000",
    "61": "510000", "62": "510000", "63": "510000", "64": "510000",
    "65": "530000", "66": "530000", "67": "530000",
    "71": "610000", "72": "610000",
    "73": "620000", "74": "620000",
    "75": "640000",
    "81": "630000",
    "83": "650000", "84": "650000",
    "85": "540000", "86": "540000",
}  # fmt: skip

POSTAL_PREFIX_RE = re.compile(r"^\s*(\d{6})(?!\d)")


def postal_prefixes_of(province_code: str) -> list[str]:
    """The two-digit postal prefixes of a province (``320000`` → ``['21', '22']``)."""
    return [p for p, code in PROVINCE_BY_POSTAL_PREFIX.items() if code == province_code]


def province_of_postal(code: str | None) -> str | None:
    """Province code of a six-digit postal code, or None when the prefix is not a mainland province."""
    if not code or len(code) < 2:
        return None
    return PROVINCE_BY_POSTAL_PREFIX.get(code[:2])
