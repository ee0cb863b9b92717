"""Normalisation and classification rules on hand-worked values."""

import pandas as pd
import pytest
from citynet.etl.classify import GreenMatcher, applicant_kind, classify_green, classify_y02, patent_kind
from citynet.etl.headers import PATENT_FIELDS, PATENT_ONE_OF, PATENT_REQUIRED, resolve_columns
from citynet.etl.normalize import (
    app_number_check_digit,
    normalize_app_numbers,
    normalize_ipc_symbols,
    normalize_name,
    parse_dates,
)

from citynet.errors import DataError


def with_check(digits: str) -> str:
    return f"CN{digits}.{app_number_check_digit(digits)}"


def test_check_digit_hand_worked():
    # 2015 1 0123456: Σ w·d = 2·2+3·0+4·1+5·5+6·1+7·0+8·1+9·2+2·3+3·4+4·5+5·6 = 133; 133 mod 11 = 1
    assert app_number_check_digit("201510123456") == "1"
    # remainder 10 is written X
    digits = next(f"20151{n:07d}" for n in range(10_000) if app_number_check_digit(f"20151{n:07d}") == "X")
    assert normalize_app_numbers(pd.Series([f"CN{digits}.X"]))["patent_id"][0] == f"CN{digits}.X"


def test_app_number_variants():
    good = with_check("201510123456")
    raw = pd.Series([good, "201510123456", " cn２０１５１０１２３４５６.1 ", "ZL201510123456.1", None, "abc", "CN201510123456.3"])
    out = normalize_app_numbers(raw)
    assert out["patent_id"][:4].tolist() == [good] * 4
    assert out["error"].tolist()[4:] == ["missing", "malformed", "check_digit"]


def test_dates_in_every_export_format():
    raw = pd.Series(["20150312", "2015-03-12", "2015.03.12", "2015/3/12", "2015年3月12日", "2015-03-12 00:00:00"])
    assert (parse_dates(raw) == pd.Timestamp("2015-03-12")).all()
    assert parse_dates(pd.Series(["0", "", "20151345", "12/03/2015"])).isna().all()


def test_a_day_past_the_months_end_is_no_date():
    """Arrow's strptime rolled these over (2015-02-30 loaded as 2015-03-02, 2015-02-29 as 03-01). Gregorian
    leap years by hand: 2012 and 2000 (divisible by 400) have 29 February, 2015, 1900 and 2100 (by 100, not 400)
    do not; April has 30 days."""
    bad = ["2015-02-29", "2015-02-30", "20150230", "2015/2/30", "2015.02.29", "2015年2月30日", "2015-04-31",
           "2015-02-30 00:00:00", "1900-02-29", "2100-02-29", "20150431"]
    assert parse_dates(pd.Series(bad)).isna().all()
    good = ["2012-02-29", "20000229", "2015-04-30", "2015/2/28", "2015年12月31日", "2015-01-31 12:00:00"]
    assert parse_dates(pd.Series(good)).tolist() == [pd.Timestamp(t) for t in (
        "2012-02-29", "2000-02-29", "2015-04-30", "2015-02-28", "2015-12-31", "2015-01-31")]


def test_ipc_symbols_normalised_with_a_space():
    out = normalize_ipc_symbols(pd.Series(["H01M8/04", "ｈ01ｍ 0008/04", "H01M 8/04 (2006.01)", "H01M/0X", "13-03"]))
    assert out["symbol"][:3].tolist() == ["H01M 8/04"] * 3
    assert out["valid"].tolist() == [True, True, True, False, False]


@pytest.mark.parametrize(
    "symbol,green",
    [
        ("H01L 31/04", True),  # in H01L 31/000-078
        ("H01L 31/0735", True),
        ("H01L 31/18", False),  # 31/18 = 31/180 > 31/078: outside the range
        ("C10L 5/48", True),  # range end
        ("C10L 5/483", True),  # descendant of the range end
        ("C10L 5/49", False),
        ("F03D 1/06", True),  # whole subclass F03D
        ("A01N 30/00", True),  # main-group range A01N 25-65
        ("A01N 66/00", False),
        ("G06F 17/30", False),
    ],
)
def test_green_inventory_ranges(symbol, green):
    assert bool(GreenMatcher().topics(symbol)) is green


def test_green_topics_and_y02():
    g = classify_green(pd.Series([["H01M 8/04", "A01B 1/00"], [], ["G06F 17/30"]]))
    assert g["green"].tolist() == [True, False, False]
    assert g["green_topics"][0] == ["alternative_energy_production"]
    assert classify_y02(pd.Series([["Y02E 10/50"], ["Y04S 10/12"], ["H01M 8/04"], []])).tolist() == [True, True, False, False]


def test_patent_kind_from_label_or_number():
    kinds = patent_kind(
        pd.Series(["发明公开", "发明授权", "实用新型", "外观设计", "", ""]),
        pd.Series([with_check("201510123456"), with_check("201510123456"), with_check("201520123456"),
                   with_check("201530123456"), with_check("201520000001"), "CN98123456.1"]),
    )
    assert kinds.tolist() == ["invention", "invention", "utility", "design", "utility", "invention"]


def test_applicant_kinds():
    names = ["南京大学", "中国科学院大连化学物理研究所", "华为技术有限公司", "张伟", "南京市环境保护局", "SONY CORP", "SIEMENS AG", "欧阳娜娜"]
    assert applicant_kind(pd.Series(names)).tolist() == [
        "university", "institute", "firm", "individual", "government", "firm", "firm", "individual"
    ]


def test_name_normalisation():
    assert normalize_name("南京 南瑞集团（公司）") == "南京南瑞集团(公司)"
    assert normalize_name("ｓｏｎｙ  corp.") == "SONY CORP"
    assert normalize_name("   ") is None


def test_unknown_header_layout_lists_headers_missing_fields_and_fix():
    with pytest.raises(DataError) as err:
        resolve_columns(["Patent No", "Filing", "Owner"], PATENT_FIELDS, PATENT_REQUIRED, PATENT_ONE_OF, source="x.csv")
    text = err.value.message + err.value.fix
    assert "Patent No" in text and "app_number" in text and "[columns]" in text


def test_header_aliases_and_mapping():
    cols = resolve_columns(["申请号", "申请日", "申请（专利权）人", "IPC分类号"], PATENT_FIELDS, PATENT_REQUIRED, PATENT_ONE_OF)
    assert cols == {"app_number": "申请号", "app_date": "申请日", "applicants": "申请（专利权）人", "ipc": "IPC分类号"}
    mapped = resolve_columns(["No", "Date", "Who", "Class"], PATENT_FIELDS, PATENT_REQUIRED, PATENT_ONE_OF,
                             mapping={"app_number": "No", "app_date": "Date", "applicants": "Who", "ipc": "Class"})
    assert mapped["applicants"] == "Who"


def test_app_numbers_of_the_common_forms_as_the_full_rule():
    """The byte-level path for ``CN`` + 12 digits + ``.`` + check and 12 digits + ``.`` + check gives, value
    by value, the ids and errors of the full rule; near misses (other lengths, letters, full-width
    digits, 8-digit numbers, a wrong check digit) as well."""
    import random

    import pyarrow as pa
    from citynet.etl.normalize import _app_numbers, app_numbers_arrow

    rnd = random.Random(12)
    values = []
    for _ in range(20_000):
        d = "".join(rnd.choice("0123456789") for _ in range(12))
        c = rnd.choice("0123456789X")
        v = rnd.choice([f"CN{d}.{c}", f"{d}.{c}", f"CN{d}.{app_number_check_digit(d)}", f"{d}.{app_number_check_digit(d)}",
                        f"ZL{d}.{c}", f"CN{d}{c}", d, f"cn{d}.{c}", f"CN{d[:8]}.{c}", f"CN {d}.{c}", f"ＣＮ{d}.{c}", ""])
        if v and rnd.random() < 0.1:
            i = rnd.randrange(len(v))
            v = v[:i] + rnd.choice("a.X-9 。") + v[i + 1:]
        values.append(v)
    arr = pa.array(values, pa.large_string())
    pid, err = app_numbers_arrow(arr)
    want_pid, want_err = _app_numbers(arr)
    assert pid.equals(want_pid)
    assert list(err) == list(want_err)
    assert pid.null_count < len(values)  # both paths were taken
    assert normalize_app_numbers(pd.Series([f"CN{with_check('201510123456')[2:]}"]))["error"][0] is None


def test_rules_computed_once_per_distinct_value_give_every_value_its_result():
    import pyarrow as pa
    from citynet.etl.normalize import per_distinct

    arr = pa.array(["b", None, "a", "b", "", None, "a"], pa.large_string())
    out, lengths = per_distinct(arr, lambda d: (pa.compute.utf8_upper(d), pa.compute.binary_length(d).to_numpy(zero_copy_only=False)))
    assert out.to_pylist() == ["B", None, "A", "B", "", None, "A"]
    assert [x if x == x else None for x in lengths.tolist()] == [1, None, 1, 1, 0, None, 1]
