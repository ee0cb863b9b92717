"""Address → city rules of ``etl.address`` (R1–R12) on hand-worked records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.etl.address import country_province_of, parse_address, parse_addresses, parse_country_province


def city(address: str, hint: str | None = None) -> str | None:
    prov, country = country_province_of(hint)
    return parse_address(address, prov, country)[0]


def status(address: str, hint: str | None = None) -> str:
    prov, country = country_province_of(hint)
    return parse_address(address, prov, country)[3]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("江苏省南京市玄武区中山路1号", "320100"),  # full names
        ("江苏南京鼓楼区", "320100"),  # short names
        ("南京市玄武区", "320100"),  # prefecture without province
        ("玄武区珠江路88号", "320100"),  # a district that exists in one city only
        ("北京市海淀区中关村大街1号", "110000"),  # municipality: province code
        ("上海浦东新区张江路", "310000"),
        ("内蒙古自治区呼和浩特市新城区", "150100"),
        ("广西壮族自治区南宁市", "450100"),
        ("延边朝鲜族自治州延吉市", "222400"),
        ("延边州延吉市", "222400"),  # autonomous prefecture as X州
        ("石家庄桥西区", "130100"),  # a chain of place names is not a street (桥)
    ],
)
def test_full_and_short_names(address: str, expected: str) -> None:
    assert city(address) == expected


def test_county_level_cities_map_to_their_prefecture() -> None:
    assert city("江苏省昆山市玉山镇") == "320500"  # 昆山 → 苏州
    assert city("昆山市花桥镇") == "320500"
    assert city("浙江省义乌市") == "330700"  # 义乌 → 金华
    assert city("江苏昆山开发区", None) == "320500"  # short county-level city name, province known (R10)
    assert city("昆山开发区") == "320500"  # …and at the start of an address without any (issue 13)
    assert status("开发区昆山路") == "none"  # …but not inside the text without province evidence


def test_historical_names() -> None:
    assert city("山东省莱芜市莱城区") == "370100"  # 莱芜 → 济南 (2019)
    assert city("湖北省襄樊市樊城区") == "420600"  # 襄樊 → 襄阳 (2010)
    assert city("安徽省巢湖市") == "340100"


def test_street_names_are_not_places() -> None:
    # R6: a short name followed by a street word, and R7: a later inconsistent name never overrides
    assert city("南京市鼓楼区上海路5号") == "320100"
    assert city("南京市玄武区北京东路41号") == "320100"
    assert city("210008 中山北路8号") is None  # 中山 (广东) is a street here
    assert status("上海路18号") == "none"
    assert status("北京东路1号") == "none"
    assert status("南京大街") == "none"
    assert city("杭州市西湖区中山北路") == "330100"
    assert city("广东省中山市石岐区") == "442000"  # a real 中山
    assert status("中山市场") == "none"  # market, not 中山市
    assert status("香港路8号") == "none"  # 香港路 (武汉) is a street, not Hong Kong


def test_later_inconsistent_place_never_overrides() -> None:
    assert city("北京市海淀区深圳大厦") == "110000"
    assert city("江苏省南京市上海大厦") == "320100"


def test_postal_code_is_a_province_constraint_only() -> None:
    res = parse_address("210000 中华路1号")
    assert res[0] is None and res[1] == "320000" and res[3] == "province_only"
    # postal prefix disambiguates 鼓楼区 between 福建 (35) and 江苏 (21/22)…
    assert city("350001 鼓楼区五四路") == "350100"
    # …but 江苏 has two 鼓楼区 (南京, 徐州): still ambiguous
    res = parse_address("210000 鼓楼区中山路")
    assert res[0] is None and res[3] == "ambiguous" and res[1] == "320000"
    # more evidence decides
    assert city("221000 徐州鼓楼区") == "320300"
    assert city("鼓楼区中山北路", "江苏(32)") is None


def test_ambiguous_districts_are_not_guessed() -> None:
    assert status("鼓楼区中山北路") == "ambiguous"
    assert status("朝阳区建国路") == "ambiguous"  # 北京 or 长春
    assert city("北京市朝阳区建国路") == "110000"
    assert city("长春市朝阳区") == "220100"
    assert city("朝阳区建国路", "北京(11)") == "110000"
    assert city("朝阳区", "吉林(22)") == "220100"
    assert status("市中区") == "ambiguous"
    assert city("山东省济南市市中区") == "370100"


def test_text_beats_a_contradicting_postal_code_but_not_the_hint() -> None:
    assert city("100000 南京市鼓楼区") == "320100"  # R12
    assert status("南京市鼓楼区", "上海(31)") == "province_only"


def test_hainan_province_and_hainan_prefecture() -> None:
    assert city("海南省海口市龙华区") == "460100"
    assert city("海南海口") == "460100"
    assert city("青海省海南州共和县") == "632500"
    assert city("海南藏族自治州共和县") == "632500"
    assert city("813000 海南州") == "632500"
    res = parse_address("海南")
    assert res[3] == "province_only" and res[1] == "460000"


def test_directly_administered_county_is_province_only() -> None:
    res = parse_address("湖北省仙桃市")
    assert res[0] is None and res[1] == "420000" and res[3] == "province_only"
    res = parse_address("河南省济源市")
    assert res[0] is None and res[1] == "410000"


@pytest.mark.parametrize(
    ("address", "hint", "country"),
    [
        ("日本国东京都港区芝浦1-1-1", None, "JP"),
        ("日本大阪府门真市", None, "JP"),
        ("东京都千代田区", None, "JP"),
        ("美国加利福尼亚州", None, "US"),
        ("德国慕尼黑", None, "DE"),
        ("大韩民国京畿道", None, "KR"),
        ("中国台湾新竹市", None, "TW"),
        ("香港九龙", None, "HK"),
        ("1 Infinite Loop, Cupertino, CA", None, "XX"),
        ("江苏省苏州市", "日本(JP)", "JP"),  # the hint says foreign
    ],
)
def test_foreign(address: str, hint: str | None, country: str) -> None:
    prov, ctry = country_province_of(hint)
    res = parse_address(address, prov, ctry)
    assert res[3] == "foreign" and res[2] == country and res[0] is None


def test_latin_address_in_china_is_not_foreign() -> None:
    assert parse_address("No. 1 Road, Beijing, P.R. China")[3] == "none"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("江苏(32)", ("320000", "CN")),
        ("32", ("320000", "CN")),
        ("江苏;32", ("320000", "CN")),
        ("320000", ("320000", "CN")),
        ("江苏", ("320000", "CN")),
        ("日本(JP)", (None, "JP")),
        ("JP", (None, "JP")),
        ("美国", (None, "US")),
        ("台湾(71)", (None, "TW")),
        ("香港(HK)", (None, "HK")),
        ("CN", (None, "CN")),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_country_province(value, expected) -> None:
    assert country_province_of(value) == expected


def test_vectorised_parse_keeps_index_and_order() -> None:
    addrs = pd.Series(["鼓楼区", "南京市", None, "鼓楼区", "日本国"], index=[10, 11, 12, 13, 14])
    hints = pd.Series(["福建(35)", None, None, None, ""], index=[10, 11, 12, 13, 14])
    out = parse_addresses(addrs, hints)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert list(out.columns[:5]) == ["city_code", "province_code", "foreign", "status", "matched"]
    assert out["city_code"].tolist()[:2] == ["350100", "320100"]
    assert out["status"].tolist() == ["city", "city", "none", "ambiguous", "foreign"]
    assert out["foreign"].tolist() == [False, False, False, False, True]
    hp = parse_country_province(pd.Series(["江苏(32)", "日本(JP)", None]))
    assert hp["province_code"].tolist()[:1] == ["320000"] and hp["country"].tolist()[:2] == ["CN", "JP"]


def test_parse_addresses_empty() -> None:
    out = parse_addresses(pd.Series([], dtype="object"))
    assert len(out) == 0 and "city_code" in out.columns


def test_prefix_path_equals_whole_address_reading(monkeypatch) -> None:
    """The vectorised prefix path gives exactly what ``parse_address`` gives, address by address (the
    prefix tier on however few rows the keys leave, ``_PREFIX_MIN_ROWS``)."""
    import citynet.etl.address as A

    monkeypatch.setattr(A, "_PREFIX_MIN_ROWS", 1)
    addrs = [
        "210008 江苏省南京市鼓楼区中山北路8号", "江苏省南京市鼓楼区上海路", "南京市玄武区北京东路41号",
        "210000 鼓楼区中山路", "350001 鼓楼区", "江苏南京鼓楼区", "江苏南京路8号", "江苏省南京市场",
        "北京市海淀区中关村", "北京东路1号", "上海路18号", "石家庄桥西区", "石家庄路", "100000 南京市鼓楼区",
        "内蒙古自治区呼和浩特市新城区", "新疆维吾尔自治区乌鲁木齐市天山区", "海南省海口市", "青海省海南州共和县",
        "中国江苏省苏州市", "中华人民共和国北京市", "  ２１００００ 江苏省南京市", "江苏昆山开发区", "昆山开发区",
        "山东省莱芜市莱城区", "湖北省仙桃市", "日本国东京都", "Tokyo Japan", "朝阳区建国路", "吉林省吉林市船营区",
        "广东省中山市石岐区", "中山市场", "江苏省南京市玄武区珠江路88号", "江苏省南京市玄武区珠江路99号",
    ]  # fmt: skip
    hints = [None, "江苏(32)", "", "日本(JP)", "北京(11)"]
    a = pd.Series([x for x in addrs for _ in hints])
    h = pd.Series([y for _ in addrs for y in hints])
    out = parse_addresses(a, h)
    for i, (x, y) in enumerate(zip(a, h, strict=True)):
        expected = parse_address(x, *country_province_of(y))
        got = tuple(out.iloc[i][["city_code", "province_code", "country", "status", "matched"]])
        assert got == expected, (x, y)


# --- issue 13: real addresses that first-match rules got wrong -------------------------------------------
@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("义乌国际商贸城A区", "330700"),  # a bare county-level city resolves to its prefecture
        ("昆山开发区前进路", "320500"),
        ("乐清柳市镇", "330300"),
        ("海宁皮革城北区", "330400"),  # 嘉兴, not 城北区 of 西宁 inside 皮革城
        ("瑞安安阳街道", "330300"),  # 温州, not 安阳
        ("萧山市城厢镇临安大厦门口", "330100"),  # a former county-level city; not 厦门
        ("富阳市富春街道", "330100"),
        ("余杭市临平镇", "330100"),
        ("上虞市百官镇", "330600"),
        ("大丰市大中镇", "320900"),
        ("增城市荔城镇", "440100"),
        ("番禺市市桥镇", "440100"),
        ("绍兴县柯桥镇", "330600"),
        ("柯桥金昌商务大厦", "330600"),  # district short name; not 金昌
        ("广东省从化", "440100"),
        ("台州路桥自动化设备市场", "331000"),  # a chain of names is not a street
        ("温州桥头镇", "330300"),
        ("八里镇江苏扬州", "321000"),  # 江苏 starts after 镇 and beats 镇江
        ("伊犁哈萨克自治州塔城地区塔城市", "654200"),  # a prefecture inside an autonomous prefecture
        ("伊犁哈萨克自治州伊宁市", "654000"),
        ("柳州地区忻城县", "451300"),  # 柳州地区 (to 2002) split: 忻城 went to 来宾
        ("廣東省東莞市長安鎮", "441900"),  # traditional characters
        ("杭州湾新区滨海二路", "330200"),  # 杭州湾新区 is in 宁波
        ("浙江省杭州市萧山区兰州拉面馆", "330100"),
    ],
)
def test_issue13_real_address_patterns(address: str, expected: str) -> None:
    assert city(address) == expected


@pytest.mark.parametrize("address", ["兰州拉面馆", "新上海花园", "三亚宿舍", "开发区上海路南现代路西", "北京大厦"])
def test_names_inside_words_are_not_places(address: str) -> None:
    assert city(address) is None


def test_ambiguity_is_reported_never_guessed() -> None:
    res = parse_address("鼓楼区中山路")  # 南京, 徐州, 福州, 开封 …
    assert res[0] is None and res[3] == "ambiguous"
    out = parse_addresses(pd.Series(["鼓楼区中山路", "江苏省南京市鼓楼区"]))
    assert out["status"].tolist() == ["ambiguous", "city"]


def test_key_cache_on_disk_changes_no_answer(tmp_path, monkeypatch) -> None:
    """The key decisions cached on disk ($CITYNET_CACHE) give the same answers as reading the keys
    (the path taken when the shipped decisions do not match the rules: here, no shipped file)."""
    from citynet.etl import address as A

    addrs = pd.Series(["江苏省南京市鼓楼区中山北路8号", "浙江义乌国际商贸城", "河北邯郸高新区", "河北邯郸市丛台区",
                       "上海市闸北区江场路", "江苏南京路8号", "柯桥金昌商务大厦", "广东省中山市场"])  # fmt: skip
    monkeypatch.setenv("CITYNET_CACHE", str(tmp_path))
    monkeypatch.setattr(A, "KEYS_FILE", str(tmp_path / "absent.parquet"))
    monkeypatch.setattr(A, "_KEY_TABLE", [])
    cold = A.parse_addresses(addrs)
    assert list(tmp_path.glob("address-keys-*.pkl"))
    monkeypatch.setattr(A, "_KEY_TABLE", [])  # a new process: the table is loaded from disk
    warm = A.parse_addresses(addrs)
    assert cold.equals(warm)
    for i, a in enumerate(addrs):
        assert tuple(warm.iloc[i][["city_code", "province_code", "country", "status", "matched"]]) == parse_address(a)


def test_key_walk_on_bytes_equals_whole_address_reading() -> None:
    """The key tier walks the UTF-8 bytes of the addresses (``_key_start``, ``_utf8_char``, the trie):
    characters of every width, leading white space, postal codes (ASCII or full-width digits) and
    中国, text ending inside or right after a key, nulls and empty strings give exactly what
    ``parse_address`` gives."""
    addrs = [
        "\t 中国江苏南京", "中国 江苏南京", "中华人民共和国江苏省南京市场", "中国中国江苏省", "中国", "中", "江", "",
        "𠀀江苏省南京市", "é江苏省南京市", "江苏省南京市𠀀路", "江苏南京𠀀", "江苏南京路8号", "江苏南京é", "江苏省南京市",
        "江苏省南京", "浙江义乌", "浙江省杭州市萧山区𠀀", "广东省中山市场", "北京市", "北京路", "100080 北京市海淀区",
        "中国江苏", "中华", "２１０００８江苏省南京市", "21000８ 江苏南京", "2100081江苏省南京市", "210008", "２１００",
        "\u3000江苏省南京市", "\u00a0210008 南京市", "\u3000\t２１０００８，中国江苏昆山", "0江苏", "1江苏省南京市", "中华人民共和国中国江苏省南京市",
        "中国中华人民共和国江苏", "中国中国江苏省南京市", ", 中国",
    ]  # fmt: skip
    a = pd.Series([None, *addrs, None])  # nulls: no key, no city
    out = parse_addresses(a)
    assert out["status"].iloc[[0, -1]].tolist() == ["none", "none"]
    for i, x in enumerate(addrs, start=1):
        assert tuple(out.iloc[i][["city_code", "province_code", "country", "status", "matched"]]) == parse_address(x), x
    # the general walk (characters of any width) gives the same as the three-byte one
    from citynet.etl.address import _key_trie

    trie = _key_trie()
    assert trie.three_bytes  # every key character is CJK
    try:
        trie.three_bytes = False
        assert parse_addresses(a).equals(out)
    finally:
        trie.three_bytes = True
    # leading separators are cut before the keys (the whole reading keeps them, so its matched text differs)
    sep = pd.Series(["，江苏省南京市鼓楼区", "：中国江苏省南京市", "；；江苏昆山开发区", ";江苏省", ", 南京市"])
    assert parse_addresses(sep)["city_code"].tolist() == ["320100", "320100", "320500", None, "320100"]


def test_walk_finds_each_rows_longest_key_within_its_end() -> None:
    """``_walk`` gives each row the longest key its text begins with, counted in Python over every
    prefix of the text against the list of keys, also where a row ends inside a key that the next
    row's bytes continue (the walk goes on past a row's end and falls back to a shorter key), at the
    end of the buffer, and in each way of reading (three-byte characters or any, with or without the
    pair step)."""
    import random

    import pyarrow as pa
    from citynet.etl.address import _candidate_keys, _key_table, _utf8_bounds, _walk

    table = _key_table()
    keys = pa.concat_arrays([_candidate_keys()[k] for k in table.lengths]).to_pylist()
    number = {k: i for i, k in enumerate(keys)}
    rng = random.Random(5)
    texts = ["江苏省", "南京市鼓楼区", "江", "苏", "", "江苏省南京", "市", "中国江苏", "é江苏", "江苏𠀀", "江苏省南京市"]
    for _ in range(400):
        k = rng.choice(keys)
        cut = rng.randint(0, len(k))
        texts += [k[:cut], k[cut:] + rng.choice(["", "路8号", "市", "区", "开发区", "x", "𠀀"])]
    texts.append(rng.choice([k for k in keys if len(k) >= 8]))  # a long key at the very end of the buffer
    arr = pa.array(texts, pa.large_string())
    data, start, end = _utf8_bounds(arr)
    want = [max((number[t[:i]] for i in range(1, len(t) + 1) if t[:i] in number), key=lambda g: len(keys[g]), default=-1)
            for t in texts]  # fmt: skip
    want_end = [s + len(keys[g].encode()) for s, g in zip(start.tolist(), want, strict=True) if g >= 0]
    trie = table.trie
    modes = trie.three_bytes, trie.pairs
    try:
        for three, pairs in ((True, True), (False, True), (True, False), (False, False)):
            trie.three_bytes, trie.pairs = three, pairs
            best, best_end = _walk(trie, data, start, end)
            assert best.tolist() == want, (three, pairs)
            assert best_end[best >= 0].tolist() == want_end
    finally:
        trie.three_bytes, trie.pairs = modes


def test_utf8_bounds_of_sliced_and_narrow_arrays() -> None:
    """Byte bounds and characters read from Arrow's buffers: offsets of a sliced array, 32-bit offsets,
    nulls."""
    import pyarrow as pa
    from citynet.etl.address import _utf8_bounds, _utf8_char

    values = ["ab", "江苏", None, "é𠀀x", ""]
    for arr in (pa.array(values, pa.string()), pa.array(values, pa.large_string()), pa.array(["z", *values]).slice(1)):
        data, start, end = _utf8_bounds(arr)
        got = [bytes(data[s:e]).decode("utf-8") for s, e in zip(start, end, strict=True)]
        assert got == [v or "" for v in values]
        first = np.flatnonzero(end > start)
        chars, width = _utf8_char(data, start[first])
        assert chars.tolist() == [int.from_bytes(values[i][0].encode("utf-8"), "big") for i in first]
        assert width.tolist() == [len(values[i][0].encode("utf-8")) for i in first]
        assert len(set(chars.tolist())) == len(first)


def test_prefix_tier_in_python_equals_arrow(monkeypatch) -> None:
    """``_fast_cities`` on few rows (grouped in Python) and on many (Arrow) give the same answers."""
    import pyarrow as pa
    from citynet.etl import address as A

    words = ["萧山市北干街道1号", "萧山市北干街道2号", "廣東省東莞市長安鎮1", "廣東省東莞市長安鎮2", "鼓楼区中山路1号",
             "鼓楼区中山路2号", "江苏省南京市", "浙江省杭州市萧山区", "浙江省杭州市萧山区", "富阳市银湖街道"] * 3  # fmt: skip
    body = pa.array(words, pa.large_string())
    cons = np.array([0, 0, 0, 0, 1, 1, 0, 0, 0, 0] * 3, dtype="int64")
    constraints = [(None, ""), ("350000", "postal|")]
    got = {}
    for limit in (0, 10**6):
        monkeypatch.setattr(A, "_PREFIX_PY_ROWS", limit)
        for share in (1, 2):
            got[limit, share] = [x.tolist() for x in A._fast_cities(body, cons, constraints, min_share=share)]
    assert got[0, 1] == got[10**6, 1] and got[0, 2] == got[10**6, 2]
    assert sum(c is not None for c in got[0, 2][0]) >= 6  # the tier decides some of them


def test_chunks_change_no_answer(monkeypatch) -> None:
    """Many distinct pairs are read in chunks (``_CHUNK``): the answers, index and types are those of one
    pass, with and without hints, with repeated addresses and with a null."""
    from citynet.etl import address as A

    addrs = ["210008 江苏省南京市鼓楼区中山北路8号", "鼓楼区中山路", "江苏南京路8号", "朝阳区建国路", "萧山市北干街道1号",
             "廣東省東莞市長安鎮", "日本国东京都", "昆山开发区", "江苏省南京市场", None, "北京市海淀区中关村"] * 3  # fmt: skip
    a = pd.Series(addrs, index=range(100, 100 + len(addrs)), dtype=object)
    h = pd.Series(["", "福建(35)", None, "北京(11)"] * 8 + ["江苏(32)"], index=a.index)
    whole = [parse_addresses(a), parse_addresses(a, h), parse_addresses(a.iloc[:11])]
    monkeypatch.setattr(A, "_CHUNK", 4)
    chunked = [parse_addresses(a), parse_addresses(a, h), parse_addresses(a.iloc[:11])]
    for w, c in zip(whole, chunked, strict=True):
        pd.testing.assert_frame_equal(w, c)


def test_rows_read_as_they_are_change_no_answer(monkeypatch) -> None:
    """When a sample of the addresses is all distinct the rows are read as they are (``_looks_distinct``):
    repeats outside the sample (read once per row by the keys, once by the whole reading) give the
    answers of the distinct pairs, with and without hints."""
    from citynet.etl import address as A

    addrs = ["210008 江苏省南京市鼓楼区中山北路8号", "朝阳区开发区广州大道506号", "朝阳区开发区广州大道506号", "江苏南京路8号",
             "萧山市北干街道1号", "江苏南京路8号", "廣東省東莞市長安鎮", "日本国东京都", "吉林吉林开发区长江路592号",
             "吉林吉林开发区长江路592号", "北京市海淀区中关村", "昆山开发区"]  # fmt: skip
    a = pd.Series(addrs, index=range(50, 50 + len(addrs)), dtype=object)
    h = pd.Series(["", "福建(35)", None, "北京(11)"] * 3, index=a.index)
    whole = [parse_addresses(a), parse_addresses(a, h)]  # 12 rows: below 2 * _SAMPLE, distinct pairs
    monkeypatch.setattr(A, "_SAMPLE", 4)  # rows 0, 3, 7, 11 sampled: distinct
    monkeypatch.setattr(A, "_SAMPLE_SCALE", 0)
    assert A._looks_distinct(A._as_arrow(a))
    for w, c in zip(whole, [parse_addresses(a), parse_addresses(a, h)], strict=True):
        pd.testing.assert_frame_equal(w, c)


def test_looks_distinct_tolerates_a_few_frequent_addresses() -> None:
    """The sample (``_looks_distinct``) lets a few very frequent addresses through (rows read as they
    are), not input where every address repeats, nor one where frequent addresses are a large share."""
    from citynet.etl import address as A

    n = 40_000
    rng = np.random.default_rng(0)
    distinct = pd.Series([f"江苏省南京市鼓楼区{i}号" for i in range(n)], dtype=object)
    frequent = distinct.copy()
    at = rng.choice(n, 600, replace=False)  # 1.5 % of the rows: five addresses
    frequent.iloc[at] = [f"日本国东京都{i % 5}" for i in range(len(at))]
    twice = pd.Series(np.repeat(distinct.to_numpy()[: n // 2], 2)).sample(frac=1, random_state=1)
    heavy = distinct.copy()
    heavy.iloc[rng.choice(n, n // 5, replace=False)] = "日本国东京都"  # 20 % of the rows: one address
    got = [A._looks_distinct(A._as_arrow(s)) for s in (distinct, frequent, twice, heavy)]
    assert got == [True, True, False, False]


def test_tail_check_skips_only_rows_the_regex_cannot_match() -> None:
    """The key tier runs the street/business regex after a short name only where the next character is in
    ``_TAIL_SHORT_FIRST``: every character that can begin a match is there (every CJK character and
    ASCII, followed by each street or business word and each of those characters, checked with Python's
    ``re``, which reads this pattern as RE2 does)."""
    import re

    from citynet.etl.address import _NOT_PLACE_AFTER, _TAIL_SHORT_FIRST, _TAIL_SHORT_RE, _chars_of

    rx = re.compile(_TAIL_SHORT_RE)
    first = set(_TAIL_SHORT_FIRST.tolist())
    words = ["大道", "大街", "胡同", "路", "街", "道", "巷", "弄", "桥", "桥东", *_NOT_PLACE_AFTER.pattern.split("|")]
    tails = ["", *words, *map(chr, range(0x4E00, 0x4E10))]
    for code in [*range(0x20, 0x7F), *range(0x3000, 0xA000)]:
        c = chr(code)
        if int(_chars_of(c)[0]) in first:
            continue
        assert not any(rx.match(c + t) for t in tails), c


def test_tail_check_in_python_equals_arrows_regex() -> None:
    """``_tail_short`` (Python's ``re`` on the first four characters after a key, decoded from at most 16
    bytes) answers as RE2 does with ``_TAIL_SHORT_RE`` on the same four characters (Arrow's
    ``match_substring_regex``, what the key tier ran before): random texts of street and business
    words, directions, numerals, 头镇乡村, newlines, ASCII, two- and four-byte characters."""
    import random

    import pyarrow as pa
    import pyarrow.compute as pc
    from citynet.etl.address import _TAIL_SHORT_RE, _tail_short

    rng = random.Random(7)
    parts = ["大道", "大街", "胡同", "路", "街", "道", "巷", "弄", "桥", "拉面", "大酒店", "风味", "东", "西", "中", "一",
             "二", "十", "头", "镇", "乡", "村", "大", "胡", "\n", "\r", " ", "a", "1", "é", "😀", "江", "场"]  # fmt: skip
    texts = ["".join(rng.choice(parts) for _ in range(rng.randint(0, 6))) for _ in range(20000)]
    texts += ["", "桥", "桥\n", "一二三四路", "一二三路", "东一路", "😀😀😀😀路"]
    raw = "".join(texts).encode("utf-8")
    size = np.array([len(t.encode("utf-8")) for t in texts])
    pos = np.concatenate(([0], np.cumsum(size)[:-1]))
    data = np.frombuffer(raw, dtype=np.uint8)
    got = _tail_short(data, pos, pos + size)
    heads = pa.array([t[:4] for t in texts], pa.large_string())
    want = pc.match_substring_regex(heads, _TAIL_SHORT_RE).to_numpy(zero_copy_only=False)
    assert got.tolist() == want.tolist()
    assert want.any() and not want.all()


def test_postal_code_fast_read_equals_character_reading() -> None:
    """``_postal_codes`` reads six ASCII digits in one two-dimensional step and the rest character by
    character (``_postal_chars``, or ``_postal_chars_py`` for a few rows): on random strings of ASCII
    and full-width digits, letters, CJK and spaces, all give the character-by-character answer for every row."""
    import random

    import pyarrow as pa
    from citynet.etl.address import (
        _POSTAL_PROVINCE,
        _postal_chars,
        _postal_chars_py,
        _postal_codes,
        _utf8_bounds,
    )

    rng = random.Random(5)
    alphabet = ["1", "2", "0", "9", "１", "０", "９", "a", " ", "江", "Ｚ"]
    rows = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(4000)]
    rows += ["210008", "2100081", "210008１", "２１０００８", "210008 江苏", "21000８江苏", "21000", ""]
    data, start, end = _utf8_bounds(pa.array(rows, pa.large_string()))
    new_start, provs, codes = _postal_codes(data, start, end)
    ok, q, d0, d1 = _postal_chars(data, start.copy(), end)
    for got, want in zip(_postal_chars_py(data, start.copy(), end), (ok, q, d0, d1), strict=True):
        assert np.array_equal(got, want)  # the few rows' reading in Python
    ok &= start < end
    assert np.array_equal(new_start, np.where(ok, q, start))
    assert np.array_equal(codes >= 0, ok)
    got = [provs[c] if c >= 0 else None for c in codes.tolist()]
    want = [_POSTAL_PROVINCE[a * 10 + b] if k else None for a, b, k in zip(d0.tolist(), d1.tolist(), ok.tolist(), strict=True)]
    assert got == want
