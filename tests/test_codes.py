"""Classification codes as each vendor prints them → one canonical symbol (``etl.normalize``).

The strings are written from each vendor's documented display form (see ``docs/ingest.md``, section
"Classification codes"): CNIPA and Wanfang print the WIPO ST.8 version and the level letter glued to
the symbol, DOCDB/PATSTAT a fixed-width form with the version date and flags, Lens.org separates
items with ``;;``, Google Patents prints CPC without spaces, and hand-made lists use anything.
"""

import pandas as pd
import pytest
from citynet.etl.normalize import explode_codes, normalize_ipc_symbols, normalize_locarno

VENDOR_SYMBOLS = [
    ("CNIPA search system", "H04L9/06(2006.01)I", "H04L 9/06"),
    ("CNIPA gazette", "H04L 9/06 (2006.01)", "H04L 9/06"),
    ("Wanfang", "H04L9/06(2006.01)N", "H04L 9/06"),
    ("Wanfang full-width", "Ｈ０４Ｌ９／０６（２００６．０１）Ｉ", "H04L 9/06"),
    ("CNKI", "H04L9/06", "H04L 9/06"),
    ("incoPat", "H04L9/06", "H04L 9/06"),
    ("Patsnap", "H04L 9/06", "H04L 9/06"),
    ("SooPAT", "H04L9/06 (2006.01) I", "H04L 9/06"),
    ("DOCDB / PATSTAT", "H04L   9/06        20060101AFI20051220BHEP", "H04L 9/06"),
    ("EPO bracket", "H04L 9/06 [2006.01]", "H04L 9/06"),
    ("Google Patents CPC", "H04L9/0618", "H04L 9/0618"),
    ("Lens CPC", "Y02E10/50", "Y02E 10/50"),
    ("padded main group", "h04l 0009/06", "H04L 9/06"),
    ("main marked *", "*H04L9/06", "H04L 9/06"),
    ("main marked (主)", "H04L9/06(主)", "H04L 9/06"),
    ("label", "IPC: H04L9/06", "H04L 9/06"),
    ("long subgroup", "G06F 16/24578 (2019.01)", "G06F 16/24578"),
]


@pytest.mark.parametrize("vendor,raw,expected", VENDOR_SYMBOLS, ids=[v for v, _, _ in VENDOR_SYMBOLS])
def test_every_vendor_form_gives_one_symbol(vendor, raw, expected):
    out = normalize_ipc_symbols(pd.Series([raw]))
    assert out["valid"].tolist() == [True], vendor
    assert out["symbol"].tolist() == [expected]


@pytest.mark.parametrize("raw", ["H04L", "H01M/0X", "13-03", "H04L9/06(2006.01)I(2006.01)", "ZZ9/06", "H04L9/", "中文"])
def test_malformed_codes_stay_invalid(raw):
    assert normalize_ipc_symbols(pd.Series([raw]))["valid"].tolist() == [False]


LISTS = [
    ("CNIPA", "H04L9/06(2006.01)I;H04L9/08(2006.01)I", 2),
    ("Patsnap", "H04L9/06 | H04L9/08 | G06F21/60", 3),
    ("incoPat", "H04L9/06,H04L9/08", 2),
    ("Chinese semicolon", "H04L9/06；H04L9/08", 2),
    ("Lens ;;", "H04L9/06;;H04L9/08;;G06F21/60", 3),
    ("newline (XLSX cell)", "H04L9/06\nH04L9/08", 2),
    ("enumeration comma", "H04L9/06、H04L9/08", 2),
    ("white space only", "H04L9/06 H04L9/08 G06F21/60", 3),
    ("ST.8 with spaces", "H04L 9/06 (2006.01) I, H04L 9/08 (2006.01) N", 2),
]


@pytest.mark.parametrize("vendor,raw,count", LISTS, ids=[v for v, _, _ in LISTS])
def test_every_separator(vendor, raw, count):
    items = explode_codes(pd.Series([raw]))
    assert len(items) == count
    norm = normalize_ipc_symbols(pd.Series(items.to_numpy(), dtype=object))
    assert norm["valid"].all(), norm
    assert norm["symbol"].iloc[0] == "H04L 9/06"


def test_locarno_forms():
    raw = ["12-08", "12－08", "1208", "LOC(10)Cl.12-08", "(10)12-08", "2-1", "12.08", "H04L9/06", None, "123-45"]
    assert normalize_locarno(pd.Series(raw)).tolist() == [
        "12-08", "12-08", "12-08", "12-08", "12-08", "02-01", "12-08", None, None, None,
    ]
