"""Addresses of applicants → prefecture-level city of the fixed city set (step 1 of locating applicants).

``parse_addresses`` reads a CNIPA-style address (``210008 江苏省南京市鼓楼区中山北路8号``) together with the
``国省代码`` field of the same record (``江苏(32)``, ``日本(JP)``) and returns the city, the province, whether
the address is foreign, a status and the text that decided. It runs once per distinct (address, hint)
pair and maps the answers back, so 10 million records with a few million distinct addresses cost the
distinct addresses only.

How an address is read — each rule is applied in this order, and each is tested in
``tests/test_address.py``:

R1  Normalisation. Unicode NFKC (full-width digits and letters become ASCII), white space removed.
R2  Hint. The ``国省代码`` field is parsed by ``parse_country_province``: a mainland province code (11–65)
    becomes a province constraint; a foreign country, Hong Kong (81/HK), Macao (82/MO) or Taiwan
    (71/TW) makes the address ``foreign`` whatever its text says; ``CN`` alone constrains nothing.
R3  Postal code. A leading six-digit postal code gives a province constraint only (``etl.postal``:
    the first two digits), never a city. When the hint gives a province, the postal code is ignored.
R4  Foreign text. An address without Chinese characters that contains Latin letters is foreign, unless
    it names China (``CHINA``, ``P.R.C``), in which case it is Chinese but unlocated (status ``none``).
    An address that begins (after the postal code and an optional ``中国``) with a foreign country
    (日本, 美国, 德国, 大韩民国, …) or a Japanese prefecture (东京都, 大阪府, …) is foreign. 香港, 澳门 and
    台湾 (also ``中国台湾``) at the start are foreign too, with country HK, MO, TW: they are outside the
    mainland city set (``etl.cities.EXCLUDED_PROVINCES``), and counting their applicants as foreign is
    what the literature on inter-city flows within the mainland does.
R5  Place names. One Aho–Corasick automaton (``pyahocorasick``) holds every name of the gazetteer:
    provinces, prefectures and county-level units by full name (江苏省, 南京市, 昆山市, 玄武区), provinces
    and prefectures by short name (江苏, 南京, 内蒙古, 延边), autonomous prefectures as ``X州`` (延边州,
    海南州), short names of county-level cities, districts and counties (昆山, 柯桥, 鄞州; *weak*, R10),
    every former name since 1981 from ``etl.cities.historical_units`` (萧山市, 富阳市, 绍兴县, 柳州地区,
    襄樊 → today's city) and ``HISTORICAL_NAMES``. Every match is a candidate; a match inside a longer
    one is dropped (南京 in 南京市, 杭州 in 杭州湾). Text in traditional characters is read after OpenCC's
    t2s conversion (廣東省東莞市 → 广东省东莞市).
R6  Guards. A short name (no administrative suffix) immediately followed by 路/街/道/巷/弄/桥/胡同/大道/
    大街 (optionally 东/西/南/北/中 or a numeral between; 桥头/桥镇 is a town) is a street (上海路, 北京东路);
    followed by 拉面/宿舍/花园/大厦/酒店/饭店/宾馆/商务/餐厅 … it names a business or a building (兰州拉面,
    三亚宿舍, 新上海花园); unless another place name consistent with it follows at once (石家庄桥西区,
    台州路桥). A full name ending in 市 followed by 场 is a market (中山市场).
R7  Scores and order. Each candidate scores 2 if it starts at a boundary (start of the text, after an
    administrative suffix 省市区县州盟旗镇乡村, or right after another candidate) + 1 with an
    administrative suffix. Overlapping candidates go to the better score, then the longer, then the
    earlier (八里镇江苏扬州: 江苏 starts after 镇 and beats 镇江). Candidates at a boundary are read left
    to right, then the others (海宁皮革城北区: 海宁 before 城北区 inside 皮革城). Each narrows a set of
    hypotheses (province, city); one compatible with none is ignored, so the earliest consistent unit
    wins (上海 in ``南京市鼓楼区上海路``; 深圳 in ``北京市海淀区深圳大厦``). The hint and postal province
    are the first evidence. Reading stops as soon as one city is left. A name that contains other
    prefectures (伊犁哈萨克自治州 ⊃ 塔城地区, 阿勒泰地区) is consistent with each of them; alone it means
    its own seat.
R8  Prefecture of a county-level unit. County-level cities and districts map to their prefecture
    through ``city_set().unit_to_city`` (昆山市 → 苏州 320500, 海淀区 → 北京 110000, 莱城区 → 济南).
    Directly administered county-level units that are not in the city set (仙桃, 济源, Hainan's counties)
    give their province only (status ``province_only``).
R9  Ambiguous districts. A name shared by several units (鼓楼区: 南京, 徐州, 福州, 开封; 朝阳区: 北京,
    长春; 市中区, 城关区, …) is one match with several readings. It is used only when the other evidence
    (postal code, hint, province or city in the text) leaves one reading; otherwise the status is
    ``ambiguous``, with the province when all remaining readings share one. It is never guessed.
R10 Weak names. Short names of county-level units (昆山, 柯桥, 萧山) are read at the very start of an
    address (a bare county-level city: 义乌国际商贸城 → 金华) or when a province is already known;
    short names that are ordinary words (城关, 新华, 和平, 东方 …: ``SKIPPED_*``) and the generic
    城区, 郊区, 矿区, 东区, 西区 are not read at all.
R11 Two readings of one name. 海南 is the province (460000) and 海南藏族自治州 (632500, Qinghai); 吉林 is the
    province and 吉林市. Both readings are kept (R7) until other evidence decides (海南 after 青海 or
    with postal code 81xxxx → 海南州; 海南海口 → 海口). Left undecided, the province reading is taken:
    status ``province_only``.
R12 Postal code against text. If the text names a city that contradicts the postal-code province
    (and there is no hint), the text wins: postal codes are often mistyped, place names rarely.

Statuses: ``city`` (city_code set), ``ambiguous`` (several cities remain), ``province_only`` (province
known, city not), ``foreign``, ``none`` (nothing usable). ``matched`` is the decisive text: the place
names that narrowed the hypotheses, joined by ``|``, preceded by ``postal`` or ``hint`` when that
evidence constrained the reading; or the foreign marker (``日本``, ``hint``, ``latin``).

Speed: ``parse_addresses`` reads each distinct (address, hint) pair once, in three tiers: *keys* —
every chain of gazetteer names (province? prefecture? unit?, full or short), found by walking a trie
of them over the UTF-8 bytes of all addresses at once in numpy (``_KeyTrie``), with
the decisions of all keys shipped with the package (``KEYS_FILE``, ``python -m
citynet.etl.address_keys``; read as met and cached on disk when they do not match these rules,
``_KeyTable``); *prefixes* shared by many addresses (``PREFIX_LEVELS``); and the whole reading
(``parse_address``) for the rest. All tiers give identical answers (``tests/test_address.py``,
``tests/test_address_keys.py``). What every process needs — the lexicon and its automaton, the key
table and the trie — is built once and loaded by later processes from ``$CITYNET_CACHE``
(``_SetupCache``, named by the digest of the files it is built from).
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from citynet.etl.cities import (
    HISTORICAL_NAMES,
    HISTORY_FILE,
    MUNICIPALITIES,
    NESTED_DEFAULT,
    NESTED_PREFECTURES,
    city_set,
    gazetteer,
    historical_units,
    short_name,
)
from citynet.etl.postal import PROVINCE_BY_POSTAL_PREFIX

STATUSES = ("city", "ambiguous", "province_only", "foreign", "none")

# --- foreign countries and regions -------------------------------------------------------------------
# Chinese name (as it begins an address or a 国省代码 field) -> ISO 3166-1 alpha-2.
FOREIGN_COUNTRIES: dict[str, str] = {
    "日本": "JP", "美国": "US", "美利坚合众国": "US", "德国": "DE", "德意志联邦共和国": "DE", "韩国": "KR",
    "大韩民国": "KR", "法国": "FR", "法兰西": "FR", "英国": "GB", "大不列颠": "GB", "瑞士": "CH", "瑞典": "SE",
    "荷兰": "NL", "意大利": "IT", "加拿大": "CA", "澳大利亚": "AU", "新加坡": "SG", "芬兰": "FI", "丹麦": "DK",
    "以色列": "IL", "印度": "IN", "俄罗斯": "RU", "比利时": "BE", "奥地利": "AT", "西班牙": "ES", "挪威": "NO",
    "爱尔兰": "IE", "卢森堡": "LU", "新西兰": "NZ", "巴西": "BR", "墨西哥": "MX", "沙特阿拉伯": "SA",
    "马来西亚": "MY", "泰国": "TH", "越南": "VN", "印度尼西亚": "ID", "菲律宾": "PH", "南非": "ZA",
    "土耳其": "TR", "波兰": "PL", "捷克": "CZ", "匈牙利": "HU", "葡萄牙": "PT", "希腊": "GR", "乌克兰": "UA",
    "阿联酋": "AE", "阿拉伯联合酋长国": "AE", "开曼群岛": "KY", "英属维尔京群岛": "VG", "维尔京群岛": "VG",
    "百慕大": "BM", "列支敦士登": "LI", "摩纳哥": "MC", "塞浦路斯": "CY", "巴巴多斯": "BB", "萨摩亚": "WS",
    "冰岛": "IS", "智利": "CL", "阿根廷": "AR", "伊朗": "IR", "巴基斯坦": "PK", "埃及": "EG", "朝鲜": "KP",
    "蒙古国": "MN", "哈萨克斯坦": "KZ", "斯洛文尼亚": "SI", "罗马尼亚": "RO", "保加利亚": "BG",
    "台湾": "TW", "中国台湾": "TW", "台湾省": "TW", "香港": "HK", "中国香港": "HK", "香港特别行政区": "HK",
    "澳门": "MO", "中国澳门": "MO", "澳门特别行政区": "MO",
}  # fmt: skip
# Foreign places that begin addresses without their country (Japanese prefectures, US states, Seoul).
FOREIGN_PLACES: dict[str, str] = {
    "东京都": "JP", "大阪府": "JP", "京都府": "JP", "北海道": "JP", "神奈川县": "JP", "爱知县": "JP",
    "兵库县": "JP", "埼玉县": "JP", "千叶县": "JP", "静冈县": "JP", "福冈县": "JP", "茨城县": "JP",
    "长野县": "JP", "广岛县": "JP", "滋贺县": "JP", "三重县": "JP", "岐阜县": "JP", "京畿道": "KR",
    "首尔": "KR", "首尔特别市": "KR", "加利福尼亚州": "US", "加州": "US", "纽约州": "US", "特拉华州": "US",
    "华盛顿州": "US", "德克萨斯州": "US", "马萨诸塞州": "US",
}  # fmt: skip
ISO_NON_MAINLAND = {"71": "TW", "81": "HK", "82": "MO"}
UNKNOWN_FOREIGN = "XX"  # ISO 3166 user-assigned code: foreign, country not known

# --- guards --------------------------------------------------------------------------------------------
_STREET_AFTER = re.compile(r"(?:[东西南北中]|[一二三四五六七八九十]+)?(?:大道|大街|胡同|路|街|道|巷|弄|桥(?![头镇乡村]))")
# A short name followed by one of these words names a business or a building, not a place (兰州拉面,
# 三亚宿舍, 新上海花园, 北京大厦 in 深圳); the 市场 guard is the same idea for full names ending in 市.
_NOT_PLACE_AFTER = re.compile(r"拉面|宿舍|花园|大厦|酒店|饭店|宾馆|商务|大酒店|菜馆|餐厅|小吃|风味")
# Characters that end an administrative unit: a name right after one of them starts at a boundary.
_UNIT_END = frozenset("省市区县州盟旗镇乡村")
# Compound words that contain a place name but are another place, or none (杭州湾新区 is in 宁波).
COMPOUNDS: dict[str, str | None] = {"杭州湾新区": "330200", "杭州湾": None}
# Generic two-character county names that occur inside ordinary words (开发区东区, 主城区).
SKIPPED_COUNTY_NAMES = frozenset({"城区", "郊区", "矿区", "东区", "西区", "市辖区", "县"})
# Short names of districts and counties that are ordinary words (城关镇, 新华书店, 和平路, 开发区): not read.
SKIPPED_DISTRICT_SHORT = frozenset(
    {"城关", "新城", "市中", "城中", "城东", "城西", "城南", "城北", "新区", "开发", "高新", "郊区", "矿区", "中区",
     "和平", "新华", "解放", "红旗", "向阳", "前进", "胜利", "光明", "长安", "新兴", "兴隆", "太平", "青山", "白云",
     "铁西", "铁东", "河东", "河西", "江北", "江南", "江东", "海港", "港口", "港北", "港南", "新市", "东山", "西山",
     "南山", "北山", "中山", "金山", "东城", "西城", "南城", "北城", "东风", "建设", "工农", "人民", "团结", "文化",
     "北塔", "平安", "永和", "安定", "大通", "清河", "东河", "西湖", "东湖", "南湖", "北湖", "万年", "万全", "大同",
     "东安", "西安", "新安", "长宁", "定远", "白沙", "城厢", "红星", "钢城", "花山", "凤凰", "大兴", "双桥", "临江",
     "龙泉", "新北", "宝山", "普陀", "长寿", "海城", "新民", "大安", "东方"}
)  # fmt: skip
# Short names of county-level cities that are ordinary words or street names elsewhere (东方红, 安宁医院,
# 天长地久, 高密度, 龙口路 …): not read (R10).
SKIPPED_COUNTY_SHORT = frozenset(
    {"东方", "安宁", "大安", "永安", "长乐", "开平", "龙井", "和龙", "海城", "凤城", "东港", "临江", "集安",
     "北安", "合作", "兴平", "华阴", "文昌", "万宁", "琼海", "东兴", "合山", "新民", "灯塔", "三河", "安国",
     "新乐", "凭祥", "福泉", "兴义", "开远", "栖霞", "海阳", "阳春", "四会", "赤水", "高州", "兴化", "赤壁",
     "洪湖", "高密", "龙口", "蓬莱", "五常", "宁安", "榆树", "磐石", "敦化", "大石桥", "兴城", "武安", "安陆",
     "河津", "孝义", "古交", "沙河", "南宫", "明光", "天长", "宁国", "长葛", "永城", "卫辉", "汝州", "舞钢",
     "义马", "灵宝", "巩义", "登封", "新郑", "新密", "孟州", "沁阳", "韶山", "吉首", "冷水江", "资兴", "洪江",
     "津市", "临湘", "汨罗", "浏阳", "醴陵", "湘乡", "耒阳", "常宁", "武冈", "沅江", "涟源", "乐平", "瑞金",
     "井冈山", "贵溪", "德兴", "共青城", "庐山", "丰城", "樟树", "高安", "瑞昌", "南康", "福安", "福鼎",
     "永春", "漳平", "邵武", "武夷山", "建瓯", "龙海", "晋江", "石狮", "南安", "长寿", "华蓥", "万源",
     "隆昌", "阆中", "西昌", "康定", "马尔康", "清镇", "仁怀", "凯里", "都匀", "安顺", "宣威",
     "平果", "靖西", "桂平", "北流", "岑溪", "东莞", "普宁", "英德", "连州", "乐昌", "南雄", "台山", "恩平",
     "鹤山", "兴宁", "陆丰", "罗定", "廉江", "雷州", "吴川", "化州", "信宜"}
)  # fmt: skip


# --- lexicon ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """One automaton entry: the text, its readings ((province_code, city_code | None), …) and flags."""

    text: str
    readings: tuple[tuple[str, str | None], ...]
    short: bool  # no administrative suffix: the street guard applies (R6)
    weak: bool  # read only when a province is already known (R10)
    foreign: str | None = None  # ISO code when this is a foreign country or place (R4)


def _add(lex: dict, text: str, readings, short: bool, weak: bool = False) -> None:
    if not text or text in SKIPPED_COUNTY_NAMES:
        return
    old = lex.get(text)
    if old is None:
        lex[text] = Place(text, tuple(dict.fromkeys(readings)), short, weak)
    elif weak and not old.weak:
        return  # a weak short name never adds a reading to a strong name
    else:  # the same text names several units: keep every reading (R9, R11)
        merged = tuple(dict.fromkeys(old.readings + tuple(readings)))
        lex[text] = Place(text, merged, old.short and short, old.weak and weak)


_COUNTY_SUFFIXES = ("自治县", "自治旗", "新区", "区", "县", "市", "旗", "特区", "林区")


def _add_short(lex: dict, name: str, readings) -> None:
    """A weak short name of a district or county (柯桥区 → 柯桥; 长阳土家族自治县 → 长阳)."""
    for suffix in _COUNTY_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        return
    if suffix == "自治县" or suffix == "自治旗":
        stem = short_name(stem + "自治州")
    if len(stem) < 2 or stem in SKIPPED_COUNTY_SHORT or stem in SKIPPED_DISTRICT_SHORT or stem in SKIPPED_COUNTY_NAMES:
        return
    if any(c is None for _, c in readings) and len(readings) == 1:
        pass  # a directly administered unit: province only, still a reading
    _add(lex, stem, readings, short=True, weak=True)


def _rows(frame: pd.DataFrame, *cols: str):
    """The rows of ``frame[cols]`` as tuples, through plain lists (iterating Arrow-backed columns row by
    row is slow)."""
    return zip(*(frame[c].tolist() for c in cols), strict=True)


@functools.cache
def lexicon(for_names: bool = False) -> dict[str, Place]:
    """Every place name the parser knows, with its readings.

    ``for_names=True`` is the lexicon of the name step (``etl.locate``): provinces and prefectures by
    full and short name, county-level cities by full name only, no districts or counties. The
    address lexicon is loaded from the setup cache when it is there (``_SetupCache``).
    """
    if not for_names and _SetupCache.load_lexicon():
        return _SETUP_LOADED["lexicon"]
    return _build_lexicon(for_names)


# what ``_SetupCache.load_lexicon`` read: the address lexicon, its automaton and its pattern prefixes
_SETUP_LOADED: dict = {}


def _build_lexicon(for_names: bool) -> dict[str, Place]:
    """``lexicon`` built from the gazetteer, the history table and the lists above."""
    cs = city_set()
    u2c = cs.unit_to_city
    g = gazetteer()
    lex: dict[str, Place] = {}
    for code, name in _rows(g[g["rank"] == "province"], "code", "name"):
        reading = [(code, code)] if code in MUNICIPALITIES else [(code, None)]
        _add(lex, name, reading, short=False)
        sn = short_name(name)
        if sn != name:
            _add(lex, sn, reading, short=True)
    for code, name in _rows(g[g["rank"] == "prefecture"], "code", "name"):
        city = u2c.get(code)
        if city is None or name in ("市辖区", "县") or "直辖" in name:
            continue
        prov = code[:2] + "0000"
        _add(lex, name, [(prov, city)], short=False)
        sn = short_name(name)
        if sn != name:
            _add(lex, sn, [(prov, city)], short=True)
        if name.endswith("自治州"):
            _add(lex, sn + "州", [(prov, city)], short=False)
    for code, name in _rows(g[g["rank"] == "county"], "code", "name"):
        prov = code[:2] + "0000"
        city = u2c.get(code)  # None: directly administered county-level unit (R8)
        is_city = name.endswith("市")
        if for_names and not is_city:
            continue
        _add(lex, name, [(prov, city)], short=False)
        if is_city and not for_names and len(name) >= 3:
            sn = name[:-1]
            if sn not in SKIPPED_COUNTY_SHORT:
                _add(lex, sn, [(prov, city)], short=True, weak=True)
    for name, code in HISTORICAL_NAMES.items():
        prov = code[:2] + "0000"
        city = code if code in set(cs.codes) else u2c.get(code)
        if for_names and name.endswith(("县", "区")):
            continue
        _add(lex, name, [(prov, city)], short=not name.endswith(("市", "县", "区", "地区")))
    # former and later names of every unit since 1981 (撤县设市, 撤市设区, 地区 → 地级市, splits)
    current = set(g["name"])
    hist = historical_units()
    for name, prov, cities, level in _rows(hist, "name", "province_code", "cities", "level"):
        if name in current and name not in NESTED_PREFECTURES:
            continue  # today's meaning of a name wins over a former one
        if name in SKIPPED_COUNTY_NAMES or (len(name) <= 2 and name.endswith("区")) or "直辖" in name:
            continue  # generic names of former units (新区, 郊区, 城区) are words today
        if for_names and (level == "县级" and not name.endswith("市")):
            continue
        readings = [(prov, c) for c in cities]
        if name in NESTED_PREFECTURES:
            lex[name] = Place(name, tuple(dict.fromkeys(readings)), False, False)
        else:
            _add(lex, name, readings, short=False)
    if not for_names:
        # short names of districts and counties (柯桥, 鄞州, 从化, 萧山, 绍兴县 → no: 绍兴 is a city)
        units = list(_rows(g[g["rank"] == "county"], "code", "name"))
        for code, name in units:
            _add_short(lex, name, [(code[:2] + "0000", u2c.get(code))])
        for name, prov, cities, level in _rows(hist, "name", "province_code", "cities", "level"):
            if level == "县级":
                _add_short(lex, name, [(prov, c) for c in cities])
        for text, code in COMPOUNDS.items():
            lex[text] = Place(text, ((code[:2] + "0000", code),) if code else (), False, False)
    for text, iso in {**FOREIGN_COUNTRIES, **FOREIGN_PLACES}.items():
        if text not in lex:
            lex[text] = Place(text, (), short=False, weak=False, foreign=iso)
    return lex


@functools.cache
def automaton(for_names: bool = False):
    """The pyahocorasick automaton over ``lexicon(for_names)`` (values: ``(length, Place)``)."""
    import ahocorasick

    lex = lexicon(for_names)
    if not for_names and "automaton" in _SETUP_LOADED:
        return _SETUP_LOADED["automaton"]
    a = ahocorasick.Automaton()
    for text, place in lex.items():
        a.add_word(text, (len(text), place))
    a.make_automaton()
    return a


# --- the 国省代码 field ------------------------------------------------------------------------------
_PROVINCE_BY_NAME: dict[str, str] = {}
_HINT_CODE_RE = re.compile(r"(?<![0-9A-Za-z])(\d{2}|\d{6}|[A-Za-z]{2})(?![0-9A-Za-z])")


def _province_names() -> dict[str, str]:
    if not _PROVINCE_BY_NAME:
        g = gazetteer()
        for code, name in _rows(g[g["rank"] == "province"], "code", "name"):
            _PROVINCE_BY_NAME[name] = code
            _PROVINCE_BY_NAME[short_name(name)] = code
    return _PROVINCE_BY_NAME


def country_province_of(value: object) -> tuple[str | None, str | None]:
    """(province_code, country) of one ``国省代码`` value.

    Rule: a two-digit mainland code (``32``, ``江苏(32)``, ``江苏;32``) or a six-digit province code
    gives the province and country ``CN``; 71/81/82 give TW/HK/MO (no province); two Latin letters give
    that country (``日本(JP)``; ``CN`` alone gives country CN without province); otherwise the Chinese
    name of a province or country is looked up. Empty or unreadable values give (None, None).
    """
    if value is None or (isinstance(value, float) and value != value):
        return None, None
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if not s:
        return None, None
    provinces = {k[:2] for k in PROVINCE_BY_POSTAL_PREFIX.values()}
    for m in _HINT_CODE_RE.finditer(s):
        tok = m.group(1)
        if tok.isdigit():
            two = tok[:2]
            if len(tok) == 6 and not tok.endswith("0000"):
                continue
            if two in ISO_NON_MAINLAND:
                return None, ISO_NON_MAINLAND[two]
            if two in provinces:
                return two + "0000", "CN"
        else:
            iso = tok.upper()
            if iso == "CN":
                continue  # CN32 or 中国(CN): keep looking for a province
            return None, iso
    names = _province_names()
    for text in sorted(FOREIGN_COUNTRIES, key=len, reverse=True):
        if s.startswith(text):
            return None, FOREIGN_COUNTRIES[text]
    stripped = s.removeprefix("中国")
    for text in sorted(names, key=len, reverse=True):
        if stripped.startswith(text):
            return names[text], "CN"
    if s.upper().startswith(("CN", "中国")):
        return None, "CN"
    return None, None


def parse_country_province(values: pd.Series) -> pd.DataFrame:
    """``国省代码`` values → DataFrame[``province_code``, ``country``] (index of ``values``), per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = [country_province_of(u) for u in uniques]
    prov = pd.array([p for p, _ in parsed] + [None], dtype="object")
    ctry = pd.array([c for _, c in parsed] + [None], dtype="object")
    return pd.DataFrame({"province_code": prov[codes], "country": ctry[codes]}, index=values.index)


# --- one address --------------------------------------------------------------------------------------
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_CHINA_LATIN_RE = re.compile(r"\bCHINA\b|P\.?\s?R\.?\s?C\b|PEOPLE'?S REPUBLIC", re.IGNORECASE)
_POSTAL_RE = re.compile(r"^[\s,，:：;；]*(\d{6})(?!\d)[\s,，:：;；]*")
_WS_RE = re.compile(r"\s+")
_CHINA_PREFIXES = ("中华人民共和国", "中国")

Result = tuple  # (city_code, province_code, country, status, matched)


@functools.cache
def _t2s():
    """OpenCC's traditional → simplified converter (``opencc-python-reimplemented``, Apache-2.0) and the
    set of characters it changes (so that simplified text is never passed through it)."""
    import opencc

    conv = opencc.OpenCC("t2s")
    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
    changed: set[str] = set()
    simplified: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            trad, _, simp = line.rstrip("\n").partition("\t")
            simplified.update(simp.split())
            if len(trad) == 1 and simp and simp.split()[0] != trad:
                changed.add(trad)
    return conv, frozenset(changed - simplified)  # 乾 (乾县) is also a simplified character: not a trigger


def to_simplified(s: str) -> str:
    """Traditional characters → simplified (廣東省東莞市 → 广东省东莞市), with OpenCC's phrase tables (t2s)."""
    conv, changed = _t2s()
    if changed.isdisjoint(s):
        return s
    return conv.convert(s)


def _is_street(s: str, end: int) -> bool:
    return _STREET_AFTER.match(s, end) is not None


def parse_address(
    address: object, hint_province: str | None = None, hint_country: str | None = None
) -> Result:
    """Read one address (rules R1–R12 of the module docstring).

    Returns ``(city_code, province_code, country, status, matched)``.
    """
    if hint_country is not None and hint_country not in ("CN",):
        return None, None, hint_country, "foreign", "hint"
    if address is None or (isinstance(address, float) and address != address):
        s = ""
    else:
        s = to_simplified(unicodedata.normalize("NFKC", str(address)))
    if not _CJK_RE.search(s) and _LATIN_RE.search(s):
        if _CHINA_LATIN_RE.search(s):
            return None, hint_province, "CN", "province_only" if hint_province else "none", "latin"
        return None, None, UNKNOWN_FOREIGN, "foreign", "latin"
    postal_prov = None
    m = _POSTAL_RE.match(s)
    if m:
        postal = m.group(1)
        postal_prov = PROVINCE_BY_POSTAL_PREFIX.get(postal[:2])
        s = s[m.end() :]
    s = _WS_RE.sub("", s)
    for p in _CHINA_PREFIXES:
        if s.startswith(p):
            s = s[len(p) :]
            break
    if hint_province is not None:
        res = _read(s, hint_province, "hint")
    elif postal_prov is not None:
        res = _read(s, postal_prov, "postal")
        if res[3] != "city" and res[5]:  # R12: the text names a city the postal code contradicts
            alt = _read(s, None, "")
            if alt[3] == "city":
                res = alt
    else:
        res = _read(s, None, "")
    return res[:5]


# R6 for organisation names: place names inside well-known words or names that are not their seat.
_NAME_FALSE_HIT = re.compile(
    r"中山(?:大学|医院|医科|公园|纪念)|阿里(?:巴巴|云|健康|妈妈)|大理石|三明治|普洱茶|安康(?:医|保|养)"
)



def _narrow(hyps, readings) -> list:
    """Readings consistent with the hypotheses so far: same province, and same city where both name one."""
    if hyps is None:
        return list(readings)
    new = []
    for hp, hc in hyps:
        for rp, rc in readings:
            if hp == rp and (hc is None or rc is None or hc == rc):
                m = (hp, hc or rc)
                if m not in new:
                    new.append(m)
    return new

def _candidates(s: str, names: bool) -> tuple[list, str | None]:
    """Place-name matches of ``s`` that survive the guards, in the order they are read, and a foreign marker.

    Every match of the automaton is a candidate (overlapping ones too). A match inside a longer one
    is dropped (南京 in 南京市, 杭州 in 杭州湾). Guards drop a short name that is a street (R6) or a
    business (兰州拉面, 三亚宿舍, 新上海花园) unless another place name follows at once, and 市场.
    Each survivor is scored: 2 if it starts at a boundary (start of the text, after an administrative
    suffix 省市区县州盟旗镇乡村, or right after another place name) + 1 if it carries an administrative
    suffix. Partial overlaps go to the better score, then the longer, then the earlier match
    (八里镇江苏扬州: 江苏 starts after 镇 and beats 镇江). The survivors are read left to right, those
    at a boundary first (海宁皮革城北区: 海宁, not 城北区 inside 皮革城). Returns
    ``([(score, start, end, place), …], (foreign ISO, text) or None, ends of the guarded matches)``.
    """
    found = [(end - length + 1, end, place) for end, (length, place) in automaton(names).iter(s)]
    if not found:
        return [], None, set()
    # a match inside a longer one (another span that contains it): by start, longest first, a match is
    # inside another exactly when an earlier one reaches as far (one sweep, not every pair)
    if len(found) > 1:
        inside = [False] * len(found)
        reach = -1
        for i in sorted(range(len(found)), key=lambda i: (found[i][0], -found[i][1])):
            inside[i] = reach >= found[i][1]
            reach = max(reach, found[i][1])
        inner = [m for m, x in zip(found, inside, strict=True) if not x]
    else:
        inner = found
    by_start: dict[int, list] = {}
    for m in inner:
        by_start.setdefault(m[0], []).append(m[2])
    kept = []
    for st, en, place in inner:
        # a chain of place names (石家庄桥西区, 台州路桥) is not a street; a weak short name only chains
        # when it is consistent with this one (上海路南…: 路南 of 唐山 does not make 上海路 a place)
        nxts = by_start.get(en + 1)
        chained = nxts is not None and any(not nxt.weak or _narrow(list(place.readings), nxt.readings) for nxt in nxts)
        if place.foreign is not None:
            if st == 0 and not names and (chained or not _is_street(s, en + 1)):
                return [], (place.foreign, place.text), set()
            continue
        if not chained:
            if place.short and (_is_street(s, en + 1) or _NOT_PLACE_AFTER.match(s, en + 1)):
                continue
            if place.text[-1] == "市" and s.startswith("场", en + 1):
                continue
        if names and _NAME_FALSE_HIT.match(s, st):
            continue
        kept.append((st, en, place))
    ends = {en for _, en, _ in kept}
    scored = [
        (2 * (st == 0 or s[st - 1] in _UNIT_END or (st - 1) in ends) + (not place.short), st, en, place)
        for st, en, place in kept
    ]
    if len(scored) < 2:
        return scored, None, ends
    taken: list = []
    for c in sorted(scored, key=lambda c: (-c[0], -(c[2] - c[1]), c[1])):
        if all(c[2] < t[1] or c[1] > t[2] for t in taken):
            taken.append(c)
    taken.sort(key=lambda c: (c[0] < 2, c[1]))
    return taken, None, ends


def _scan(s: str, province: str | None, evidence: str, names: bool = False) -> tuple:
    """Read the candidates of ``s`` (R5–R11 with scores): ``(hyps, matched, rejected, foreign, used)``.

    ``used``: the matches that narrowed the hypotheses, as ``(score, start, end, place)``.
    """
    hyps: list[tuple[str, str | None]] | None = [(province, None)] if province else None
    used: list = []
    rejected = False
    cands, foreign, _ends = _candidates(s, names)
    if foreign is not None:
        return None, [], False, foreign, []
    for cand in cands:
        score, st, en, place = cand
        if place.weak and hyps is None and st != 0:
            continue
        if not place.readings:
            continue
        new = _narrow(hyps, place.readings)
        if hyps is not None and not new:
            if any(rc is not None for _, rc in place.readings):
                rejected = True
            continue
        if new != hyps:
            used.append(cand)
        hyps = new
        if len(hyps) == 1 and hyps[0][1] is not None:
            break
    if hyps and len({c for _, c in hyps}) > 1:  # a name that contains other prefectures (伊犁州) alone
        for *_x, place in used:
            if place.text in NESTED_DEFAULT and all(c in NESTED_PREFECTURES[place.text] for _, c in hyps):
                hyps = [(p, c) for p, c in hyps if c == NESTED_DEFAULT[place.text]]
                break
    matched = ([evidence] if province else []) + [c[3].text for c in sorted(used, key=lambda c: c[1])]
    return hyps, matched, rejected, None, used


def _read(s: str, province: str | None, evidence: str, names: bool = False) -> tuple:
    """Core of R5–R11 on normalised text ``s`` with an optional province constraint.

    ``names=True`` reads an organisation name (``etl.locate`` step 3) with the name lexicon: no foreign
    places, no weak names, and the false hits of ``_NAME_FALSE_HIT`` skipped.
    Returns ``(city, province, country, status, matched, rejected)``.
    """
    hyps, matched, rejected, foreign, _used = _scan(s, province, evidence, names)
    if foreign is not None:
        return None, None, foreign[0], "foreign", foreign[1], False
    return _verdict(hyps, matched, rejected)


def place_in_name(name: object, province: str | None = None) -> tuple[str | None, str | None, str | None]:
    """A place name inside an organisation name (``etl.locate`` step 3): ``(city_code, province_code, matched)``.

    Same reading as addresses (R5–R11) with the name lexicon: provinces and prefectures by full and
    short name, county-level cities by full name only (昆山市), never districts or counties alone. The
    first place name wins and later ones may only narrow it (国网江苏省电力有限公司南京供电分公司 → 南京);
    ``province`` (from the applicant's addresses) constrains the reading. Well-known false hits are
    skipped (中山大学 is in 广州, 阿里巴巴 is no 阿里地区). A name with a province only (浙江大学) gives
    the province and no city.
    """
    if name is None or (isinstance(name, float) and name != name):
        return None, None, None
    s = _WS_RE.sub("", unicodedata.normalize("NFKC", str(name)))
    city, prov, _c, status, matched, _r = _read(s, province, "", names=True)
    if status == "city":
        return city, prov, matched
    if status == "province_only" and prov:
        return None, prov, matched
    if status == "ambiguous" and prov:
        return None, prov, matched
    return None, None, None


def _verdict(hyps, matched, rejected) -> tuple:
    text = "|".join(matched) if matched else None
    if not hyps:
        return None, None, None, "none", text, rejected
    cities = {c for _, c in hyps}
    provinces = {p for p, _ in hyps}
    if None not in cities and len(cities) == 1:
        city = next(iter(cities))
        return city, city[:2] + "0000", "CN", "city", text, rejected
    province_readings = {p for p, c in hyps if c is None}
    if len(province_readings) == 1:  # R11: undecided between a province and a city reading
        return None, next(iter(province_readings)), "CN", "province_only", text, rejected
    prov = next(iter(provinces)) if len(provinces) == 1 else None
    return None, prov, "CN", "ambiguous", text, rejected


# --- many addresses: the vectorised prefix path ---------------------------------------------------------
# Most addresses are decided by their first few characters (江苏省南京市…, 北京市海淀区…), and those
# prefixes repeat across millions of addresses. ``parse_addresses`` therefore cuts the distinct
# addresses to prefixes of PREFIX_LEVELS characters in Arrow (C++), reads each distinct (prefix,
# province constraint) once, and accepts the answer for every address with that prefix only when the
# prefix alone decides a city and no character beyond it could change the reading: no place name
# could start inside the prefix and run past its end, and every street guard (R6) is settled within
# it. Everything else — undecided, ambiguous, foreign, Latin, guarded — is read whole by
# ``parse_address``. Both paths give identical results (``tests/test_address.py`` checks it).
PREFIX_LEVELS = (3, 4, 7, 10, 14)
_STREET_START = frozenset("东西南北中一二三四五六七八九十大胡路街道巷弄桥")
_LEADING_SEP = re.compile(r"^[,，:：;；]+")


_PREFIXES: tuple = ()


def _pattern_prefixes() -> tuple[dict[str, frozenset[str]], int]:
    """Proper prefixes of every automaton pattern (with the characters that can follow each), and the
    longest pattern length (computed once)."""
    global _PREFIXES
    if not _PREFIXES and lexicon(False) and "prefixes" in _SETUP_LOADED:
        _PREFIXES = _SETUP_LOADED["prefixes"]
    if not _PREFIXES:
        texts = lexicon(False).keys()
        nxt: dict[str, set[str]] = {}
        for t in texts:
            for i in range(1, len(t)):
                nxt.setdefault(t[:i], set()).add(t[i])
        _PREFIXES = ({k: frozenset(v) for k, v in nxt.items()}, max(map(len, texts)))
    return _PREFIXES


@functools.lru_cache(maxsize=1 << 16)
def _prefix_city(raw: str, province: str | None) -> tuple[str, str] | None:
    """(city, matched) when the prefix ``raw`` decides a city whatever follows it, else None.

    Decided means: read by ``_scan`` with matches of the best score only (full names at boundaries,
    which nothing later can outrank), the last of them not a ``…市`` at the very end (市场), and no
    place name that starts inside the prefix and runs past its end could contain or outrank them
    (it could only outrank them if it started at a boundary itself).
    """
    t = raw if raw.isprintable() and " " not in raw else _WS_RE.sub("", raw)
    t = to_simplified(unicodedata.normalize("NFKC", t))
    if t[:1] in ",，:：;；":
        t = _LEADING_SEP.sub("", t)
    if t.startswith("中"):
        for p in _CHINA_PREFIXES:
            if t.startswith(p):
                t = t[len(p) :]
                break
    got = _decided_prefix(t, province)
    return None if got is None else got[:2]  # open_end: never a tail or danger set


def _decided_prefix(t: str, province: str | None, open_end: bool = True) -> tuple | None:
    """``(city, matched, tail, danger)`` when the text ``t`` decides a city whatever follows it, else None.

    Decided: every match that narrowed starts at a boundary (so it is read before anything later),
    and no place name starting inside ``t`` and running past its end could contain or outrank one of
    them. Guards that depend on what follows: with ``open_end`` (a prefix cut at a fixed length) a
    short name needs four more characters and a full name ending in 市 one more; otherwise ``tail``
    says which check the caller makes on the following text: ``"short"`` (street and business words),
    ``"市"`` (场) or ``""``, and ``danger``: the characters that, right after ``t``, would complete a
    longer name that could contain or outrank a deciding match (河北邯郸 + 市); the caller leaves
    those addresses to the whole reading.
    """
    hyps, matched, _rej, foreign, used = _scan(t, province, "")
    if foreign is not None or not used or not hyps or len(hyps) != 1 or hyps[0][1] is None:
        return None
    if any(sc < 2 for sc, *_r in used):
        return None
    n = len(t)
    tail = ""
    _c, _f, ends = _candidates(t, False)
    starts = {st for _sc, st, _en, _p in _c}
    for _sc, _st, en, place in used:
        rest = n - 1 - en
        if place.short and rest < 4 and (en + 1) not in starts:  # a chain (江苏南京) settles the guard
            if open_end or rest > 0:
                return None
            tail = "short"
        elif place.text[-1] == "市" and rest == 0:
            if open_end:
                return None
            tail = tail or "市"
    last_end = max(en for _sc, _st, en, _p in used)
    first_start = min(st for _sc, st, _en, _p in used)
    prefixes, longest = _PREFIXES or _pattern_prefixes()
    used_starts = [st for _sc, st, _en, _p in used]
    danger: set[str] = set()
    for q in range(max(0, n - longest + 1), n):
        if q <= last_end and t[q:] in prefixes and (
            q <= first_start or any(st >= q for st in used_starts) or t[q - 1] in _UNIT_END or (q - 1) in ends
        ):
            if open_end:
                return None  # a longer name could contain or outrank a deciding match
            danger |= prefixes[t[q:]]
    return hyps[0][1], "|".join(m for m in matched if m), tail, frozenset(danger)


# --- the key tier: decided name chains found by a trie walk ---------------------------------------------
# Most addresses begin with a chain of unit names (江苏省南京市, 江苏南京鼓楼区, 浙江义乌, 昆山市). Every
# such chain of the gazetteer (province, prefecture, county-level unit; full name, short name or
# absent) is a *key*. ``_key_hits`` walks the trie of keys (``_key_trie``) over the bytes of every
# address, one character per step for all addresses at once, and reads only the keys met (once per
# process: the decision of
# a key does not depend on the address it begins). A key decides when ``_decided_prefix`` says so; its
# tail check (a street or business word after a short name, 场 after 市) reads the bytes after the key.
_KEY_DECISIONS: dict[tuple[str, str | None], tuple | None] = {}
# the decisions of every key, made once with these rules (``python -m citynet.etl.address_keys``)
KEYS_FILE = os.path.join(os.path.dirname(__file__), "data", "address_keys.parquet")
_TAIL_SHORT_RE = (
    r"^(?:[东西南北中]|[一二三四五六七八九十]+)?(?:大道|大街|胡同|路|街|道|巷|弄|桥(?:[^头镇乡村]|$))"
    r"|^(?:拉面|宿舍|花园|大厦|酒店|饭店|宾馆|商务|大酒店|菜馆|餐厅|小吃|风味)"
)


def _county_short(name: str) -> str | None:
    for suffix in _COUNTY_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@functools.cache
def _candidate_keys() -> dict[int, pa.Array]:
    """Every chain (province? prefecture? unit?) of gazetteer names, by length (Arrow string arrays)."""
    g = gazetteer()
    prov = dict(_rows(g[g["rank"] == "province"], "code", "name"))
    pref = dict(_rows(g[g["rank"] == "prefecture"], "code", "name"))

    @functools.cache
    def forms(name: str, county: bool = False) -> tuple[str, ...]:
        """"", the name and its short name (each once; computed once per name)."""
        out = [""]
        short = (_county_short(name) if county else short_name(name)) if name else None
        for x in (name, short):
            if x and x not in out:
                out.append(x)
        return tuple(out)

    keys: set[str] = set()
    units = [(c, n) for c, n in _rows(g[g["rank"] == "county"], "code", "name")]
    units += [(c, "") for c in pref]
    for code, name in units:
        pv = prov.get(code[:2] + "0000", "")
        pf = "" if code[:2] + "0000" in MUNICIPALITIES else pref.get(code[:4] + "00", "")
        if pf in ("市辖区", "县") or "直辖" in pf:
            pf = ""
        cs = forms(name, True)
        for a in forms(pv):
            for b in forms(pf):
                keys.update(a + b + c for c in cs)
    keys.discard("")
    by_len: dict[int, list[str]] = {}
    for k in keys:
        by_len.setdefault(len(k), []).append(k)
    return {n: pa.array(sorted(v), type=pa.large_string()) for n, v in by_len.items()}


@functools.cache
def _key_prefixes() -> dict[int, tuple[pa.Array, np.ndarray, np.ndarray]]:
    """By length k: the keys of length k and the first k characters of every longer key, in one Arrow
    array (one hash lookup per length), with each entry's key number within length k (-1: not a key)
    and whether a longer key begins with it."""
    import pyarrow.compute as pc

    keys = _candidate_keys()
    out: dict[int, tuple[pa.Array, np.ndarray, np.ndarray]] = {}
    for k in range(1, max(keys) + 1):
        longer = [arr for n, arr in keys.items() if n > k]
        pre = pc.unique(pc.utf8_slice_codeunits(pa.concat_arrays(longer), 0, k)) if longer else None
        own = keys.get(k)
        parts = [a for a in (own, pre) if a is not None]
        if not parts:
            continue
        both = pc.unique(pa.concat_arrays(parts))
        gid = np.full(len(both), -1, dtype="int64")
        if own is not None:
            at = pc.index_in(own, value_set=both).to_numpy(zero_copy_only=False)
            gid[at] = np.arange(len(own))
        is_pre = np.zeros(len(both), dtype=bool)
        if pre is not None:
            is_pre[pc.index_in(pre, value_set=both).to_numpy(zero_copy_only=False)] = True
        out[k] = (both, gid, is_pre)
    return out


class _KeyTable:
    """Decisions of the keys, by key number (``offset[length] + index in that length's array``).

    ``state`` 0: not read yet, 1: does not decide, 2: decides ``city`` with ``matched`` (no province
    constraint) or ``matched_p`` (with the city's own province as constraint), ``tail`` (0 none,
    1 short name, 2 市) and ``danger`` (characters after the key that send the row to the whole
    reading). The decisions of all keys ship with the package (``KEYS_FILE``, written by
    ``python -m citynet.etl.address_keys``) and are used when their digest matches these rules and
    this gazetteer; otherwise keys are read as met and cached on disk (``~/.cache/citynet``, or
    ``$CITYNET_CACHE``) so a later ingest reads none of them again.
    """

    VERSION = 1

    def __init__(self, saved: bool = True) -> None:
        keys = _candidate_keys()
        self.trie = _build_key_trie()  # built with the table: per-process setup
        self.lengths = sorted(keys, reverse=True)
        self.offset: dict[int, int] = {}
        total = 0
        for k in self.lengths:
            self.offset[k] = total
            total += len(keys[k])
        self.state = np.zeros(total, dtype=np.int8)
        self.city = np.full(total, None, dtype=object)
        self.cprov = np.full(total, "", dtype=object)
        self.matched = np.full(total, None, dtype=object)
        self.matched_p = np.full(total, None, dtype=object)
        self.tail = np.zeros(total, dtype=np.int8)
        self.danger = np.full(total, None, dtype=object)
        self.dirty = False
        self.matched_by_label: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # ``label_texts``: by key
        self.matched_by_text: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # ``label_texts``: by distinct text
        self.text_codes: dict[str, tuple] = {}  # a text column as (codes, distinct texts), when loaded so
        self._answer_columns: tuple | None = None
        self.shipped = saved and self._load_shipped()
        if saved and not self.shipped:
            self._load()
        # the province of each key's city as a number (``_key_ok`` compares numbers, not strings)
        self.cprov_n = np.array([int(p[:2]) if p else 0 for p in self.cprov.tolist()], dtype=np.int16)
        self.has_danger = pd.notna(self.danger)
        self._danger_pairs: np.ndarray | None = None
        self.danger_pairs()  # per-process setup

    @functools.cached_property
    def digest(self) -> str:
        """SHA-1 of what the decisions depend on: the keys, the lexicon, this module and the history."""
        import hashlib

        h = hashlib.sha1()
        for k in self.lengths:
            h.update(str(len(_candidate_keys()[k])).encode())
        h.update(str(len(lexicon(False))).encode())
        for src in (__file__, HISTORY_FILE):  # any change of the rules or the gazetteer: a new cache
            with open(src, "rb") as fh:
                h.update(fh.read())
        return h.hexdigest()

    def _path(self) -> str:
        root = os.environ.get("CITYNET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "citynet")
        return os.path.join(root, f"address-keys-v{self.VERSION}-{self.digest[:12]}.pkl")

    def _load_shipped(self) -> bool:
        """Load the decisions of every key shipped with the package (``KEYS_FILE``) if they were made by
        these rules and this gazetteer (same ``digest``); False otherwise (keys are then read as met)."""
        import pyarrow.parquet as pq

        try:
            t = pq.read_table(KEYS_FILE)
        except (OSError, pa.ArrowInvalid):
            return False
        meta = t.schema.metadata or {}
        if meta.get(b"digest", b"").decode() != self.digest or t.num_rows != len(self.state):
            return False
        col = {name: t.column(name).to_numpy(zero_copy_only=False) for name in t.column_names}
        self.state = col["state"].astype(np.int8)
        self.tail = col["tail"].astype(np.int8)
        for name in ("city", "matched", "matched_p"):
            setattr(self, name, col[name].astype(object))
        self.cprov = np.where(pd.notna(self.city), pd.Series(self.city).str[:2] + "0000", "").astype(object)
        self.danger = np.array([frozenset(d) if d else None for d in col["danger"].tolist()], dtype=object)
        return True

    def write_shipped(self, path: str | None = None) -> None:
        """Read every key not read yet and write all decisions to ``path`` (default ``KEYS_FILE``)."""
        import pyarrow.parquet as pq

        todo = np.flatnonzero(self.state == 0)
        if len(todo):
            words = pa.concat_arrays([_candidate_keys()[k] for k in self.lengths])
            self.read(todo, words.take(pa.array(todo)).to_pylist())
        t = pa.table(
            {
                "state": pa.array(self.state, pa.int8()),
                "city": pa.array(self.city.tolist(), pa.string()),
                "matched": pa.array(self.matched.tolist(), pa.string()),
                "matched_p": pa.array(self.matched_p.tolist(), pa.string()),
                "tail": pa.array(self.tail, pa.int8()),
                "danger": pa.array(["".join(sorted(d)) if d else None for d in self.danger.tolist()], pa.string()),
            }
        ).replace_schema_metadata({"digest": self.digest})
        pq.write_table(t, path or KEYS_FILE, compression="zstd", compression_level=19)

    def _load(self) -> None:
        import pickle

        try:
            with open(self._path(), "rb") as fh:
                saved = pickle.load(fh)
            if len(saved["state"]) == len(self.state):
                for name in ("state", "city", "cprov", "matched", "matched_p", "tail", "danger"):
                    setattr(self, name, saved[name])
        except (OSError, EOFError, pickle.UnpicklingError, KeyError, ValueError):
            pass

    def save(self) -> None:
        import pickle

        if not self.dirty or self.shipped:
            return
        path = self._path()
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                pickle.dump({n: getattr(self, n) for n in ("state", "city", "cprov", "matched", "matched_p", "tail", "danger")}, fh)
            os.replace(tmp, path)
            self.dirty = False
        except OSError:
            pass  # a cache that cannot be written costs time only

    def danger_pairs(self) -> np.ndarray:
        """``key number * 2**32 + character`` of every (key, danger character), sorted (for ``_key_ok``); the
        character as ``_utf8_char`` reads it (its UTF-8 bytes as one big-endian number)."""
        if self._danger_pairs is None:
            pairs = [
                g * _CHAR_SPAN + int.from_bytes(c.encode("utf-8"), "big")
                for g in np.flatnonzero(self.has_danger).tolist()
                for c in self.danger[g]
            ]
            self._danger_pairs = np.array(sorted(pairs) or [-1], dtype=np.int64)
        return self._danger_pairs

    def codes_of(self, name: str) -> tuple:
        """The text column ``name`` (``city``, ``cprov``, ``matched``, ``matched_p``) as (codes, distinct
        values), code -1 for None: as loaded from the setup cache, else factorised once (every key read:
        the columns no longer change)."""
        if name not in self.text_codes:
            codes, uniques = pd.factorize(pd.Series(getattr(self, name), dtype=object), use_na_sentinel=True)
            self.text_codes[name] = (codes, list(uniques))
        return self.text_codes[name]

    def answer_columns(self) -> tuple:
        """``(codes, values)`` for ``city``, ``cprov`` and ``matched``, for ``_key_answers``: key g's value is
        ``values[codes[g]]``, and key number -1 (the last code) gives None. When every key is read, the
        values are each column's distinct values (338 cities, 31 provinces, 16,879 texts): a call's
        gathers read a table of 32-bit codes and a small one of references, not three tables of 54,084
        references (``_key_answers`` on 9,680 addresses: 0.77 → 0.62 ms of a first call, medians of 12
        fresh processes); while keys are still being read, the columns themselves (codes 0…n)."""
        if self._answer_columns is None:
            if (self.state > 0).all():
                cols = []
                for name in ("city", "cprov", "matched"):
                    codes, uniques = self.codes_of(name)
                    values = np.array([*uniques, None], dtype=object)
                    codes = np.append(np.where(codes < 0, len(uniques), codes), len(uniques)).astype(np.int32)
                    cols.append((codes, values))
                self._answer_columns = tuple(cols)
            else:
                every = np.arange(len(self.state) + 1, dtype=np.int32)
                self._answer_columns = tuple((every, np.append(x, None)) for x in (self.city, self.cprov, self.matched))
        return self._answer_columns

    def label_texts(self, label: str, gids: np.ndarray) -> np.ndarray:
        """The matched text of keys ``gids`` under a province constraint with this label: ``label +
        matched_p``, or the label without its ``|`` where ``matched_p`` is None or empty; each text built
        once in the process. When every key is read (``matched_p`` no longer changes), once per distinct
        text of ``matched_p`` (5,818 for 54,083 keys; 341 for the 1,947 keys met on a first call on
        9,680 distinct addresses, 0.1 ms, where building one per key took 1 ms), shared by its keys;
        otherwise once per key. (``matched_by_text``, ``matched_by_label``: the texts and whether built.)"""
        if (self.state > 0).all():
            codes, uniques = self.codes_of("matched_p")
            if label not in self.matched_by_text:  # by distinct text; the last: None
                self.matched_by_text[label] = (np.full(len(uniques) + 1, None, dtype=object), np.zeros(len(uniques) + 1, bool))
            values, built = self.matched_by_text[label]
            code = codes.take(gids)  # -1 (None): the last
            need = np.zeros(len(built), dtype=bool)  # each new text once, without sorting
            need[code[~built[code]]] = True
            new = need.nonzero()[0]
            if len(new):
                alone = label.rstrip("|")
                values[new] = [label + uniques[u] if u < len(uniques) and uniques[u] else alone for u in new.tolist()]
                built[new] = True
            return values.take(code)
        if label not in self.matched_by_label:
            self.matched_by_label[label] = (np.full(len(self.state), None, dtype=object), np.zeros(len(self.state), bool))
        text, built = self.matched_by_label[label]
        new = gids[~built[gids]]
        if len(new):
            need = np.zeros(len(built), dtype=bool)  # each new key once, without sorting them
            need[new] = True
            new = need.nonzero()[0]
            mp = self.matched_p[new]
            some = pd.notna(mp)
            some[some] = mp[some] != ""
            got = np.full(len(new), label.rstrip("|"), dtype=object)
            got[some] = label + mp[some]
            text[new], built[new] = got, True
        return text[gids]

    def read(self, gids: np.ndarray, words: list[str]) -> None:
        for gid, word in zip(gids.tolist(), words, strict=True):
            got = _decided_prefix(word, None, open_end=False)
            if got is None:
                self.state[gid] = 1
                continue
            got_p = _decided_prefix(word, got[0][:2] + "0000", open_end=False)
            if got_p is None or got_p[0] != got[0]:
                self.state[gid] = 1
                continue
            self.state[gid] = 2
            self.city[gid], self.matched[gid], self.matched_p[gid] = got[0], got[1], got_p[1]
            self.cprov[gid] = got[0][:2] + "0000"
            self.cprov_n[gid] = int(got[0][:2])
            self.tail[gid] = {"": 0, "short": 1, "市": 2}[got[2]]
            self.danger[gid] = (got[3] | got_p[3]) or None
            self.has_danger[gid] = self.danger[gid] is not None
        self._danger_pairs = self._answer_columns = None
        self.dirty = True


_KEY_TABLE: list[_KeyTable] = []
_CONSTRAINT_LABELS = ("postal|", "hint|")  # put before the matched text of a row read under a constraint
# Arrow memory for the address step comes from the system allocator: on a fresh process, Arrow's default
# pool (mimalloc) spent 0.3–0.5 s of kernel time faulting in new memory on the first call (measured on
# 100,000 addresses, ``python -m bench.address``), the system allocator about 0.05 s; later calls cost
# the same with either.
_POOL = pa.system_memory_pool()


def _key_table() -> _KeyTable:
    """The key table of the process: loaded from the setup cache (``_SetupCache``) when it is there and
    current, else built (and then written to it when it holds the shipped decisions)."""
    if not _KEY_TABLE:
        table = _SetupCache.load()
        if table is None:
            table = _KeyTable()
            if table.shipped and (table.state > 0).all():  # every key read: nothing is written later
                _SetupCache.save(table)
        table.answer_columns()  # setup, not the first call's
        for label in _CONSTRAINT_LABELS:  # the (small) arrays of ``label_texts``: setup too
            table.label_texts(label, np.zeros(0, dtype=np.int64))
        _warm_arrow()
        _KEY_TABLE.append(table)
    return _KEY_TABLE[0]


def _warm_arrow() -> None:
    """Call once, with the key table (per-process setup), every Arrow kernel that ``parse_addresses``
    uses, on two short strings. The first call of a kernel in a process initialises it — the first
    ``utf8_is_space`` about 3 ms (Unicode tables), the first ``take`` or slice 0.1–0.4 ms
    each — which is setup, not the reading of the addresses; no answer depends on it."""
    import pyarrow.compute as pc

    text = pa.array([" 江苏省", None], pa.large_string())
    kw = {"memory_pool": _POOL}
    sample = pc.take(text, pa.array([0, 1]), **kw)
    pc.unique(sample, **kw)
    pc.value_counts(sample)
    pc.dictionary_encode(sample, **kw)
    pc.is_valid(text), pc.is_null(text)
    head = pc.utf8_slice_codeunits(text, 0, 1, **kw)
    pc.filter(text, pc.utf8_is_space(head))
    pc.subtract(pc.binary_length(text), pc.binary_length(pc.utf8_ltrim_whitespace(text)))
    pc.utf8_length(text, **kw)


class _SetupCache:
    """The built key table and trie of keys on disk, so that a process loads them instead of building
    them (about 0.5 s of CPU: the keys, their prefixes, the trie, the shipped decisions).

    One folder per ``digest`` — the SHA-1 of the files they are built from: this module,
    ``etl/cities.py``, the history table, cpca's ``adcodes.csv`` and the shipped decisions
    (``KEYS_FILE``) — under ``$CITYNET_CACHE`` (default ``~/.cache/citynet``): a change of any of them
    is a new folder, never a stale table. Only tables that hold the shipped decisions (every key read)
    are written. Numbers are ``.npy`` files read with numpy's memory mapping (the trie's records and
    character codes, 3.7 MB, are not copied); texts (cities, matched text) are dictionary-encoded. A missing, partial or unreadable
    folder means: build as before. Only speed depends on it.
    """

    VERSION = 1
    NUMBERS = ("state", "tail", "cprov_n", "has_danger", "danger_pairs", "rec", "cmap", "chars", "pair_slots", "kprev", "kbytes", "kanc")
    TEXTS = ("city", "cprov", "matched", "matched_p")

    @staticmethod
    @functools.cache
    def digest() -> str:
        import hashlib

        import ahocorasick
        from citynet.etl import cities

        h = hashlib.sha1(f"citynet-address-setup-v{_SetupCache.VERSION}".encode())
        srcs = (__file__, cities.__file__, HISTORY_FILE, cities.gazetteer_path(), KEYS_FILE, ahocorasick.__file__)
        for src in srcs:  # ahocorasick's own binary: the pickled automaton is its format
            with open(src, "rb") as fh:
                data = fh.read()
            h.update(f"{len(data)}:".encode())
            h.update(data)
        return h.hexdigest()

    @staticmethod
    def folder(digest: str) -> str:
        root = os.environ.get("CITYNET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "citynet")
        return os.path.join(root, f"address-setup-v{_SetupCache.VERSION}-{digest[:16]}")

    @classmethod
    def save(cls, table: _KeyTable) -> None:
        import json
        import pickle
        import shutil

        try:
            path = cls.folder(cls.digest())
            if os.path.isdir(path):
                return
            tmp = f"{path}.{os.getpid()}.tmp"
            os.makedirs(tmp, exist_ok=True)
            trie = table.trie
            arrays = {"state": table.state, "tail": table.tail, "cprov_n": table.cprov_n,
                      "has_danger": table.has_danger, "danger_pairs": table.danger_pairs(),
                      "rec": trie.rec, "cmap": trie.cmap, "chars": trie.chars, "pair_slots": trie.pair_slots,
                      "kprev": trie.kprev, "kbytes": trie.kbytes, "kanc": trie.kanc}  # fmt: skip
            for name, arr in arrays.items():
                np.save(os.path.join(tmp, f"{name}.npy"), np.ascontiguousarray(arr), allow_pickle=False)
            meta = {"lengths": table.lengths, "offset": table.offset, "three_bytes": trie.three_bytes,
                    "pairs": trie.pairs, "pair_mask": trie.pair_mask,
                    "pair_shift": trie.pair_shift, "texts": {}}  # fmt: skip
            for name in cls.TEXTS:
                col = getattr(table, name)
                codes, uniq = pd.factorize(pd.Series(col, dtype=object), use_na_sentinel=True)
                np.save(os.path.join(tmp, f"{name}.npy"), codes.astype(np.int32), allow_pickle=False)
                meta["texts"][name] = [str(u) for u in uniq]
            with open(os.path.join(tmp, "lexicon.pkl"), "wb") as fh:  # read by ``load_lexicon``
                pickle.dump((lexicon(False), automaton(False), _pattern_prefixes()), fh, protocol=5)
            with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as fh:
                json.dump(meta, fh, ensure_ascii=False)  # written last: a folder without it is not used
            try:
                os.rename(tmp, path)
            except OSError:  # another process was first
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass  # a cache that cannot be written costs time only

    @classmethod
    def load_lexicon(cls) -> bool:
        """Put the address lexicon, its automaton and its pattern prefixes of the cache folder in
        ``_SETUP_LOADED`` (once per process); False when the folder or the file is missing or unreadable."""
        import pickle

        if "tried" not in _SETUP_LOADED:
            _SETUP_LOADED["tried"] = True
            try:
                path = cls.folder(cls.digest())
                if os.path.exists(os.path.join(path, "meta.json")):  # a complete folder only
                    with open(os.path.join(path, "lexicon.pkl"), "rb") as fh:
                        lex, auto, prefixes = pickle.load(fh)
                    _SETUP_LOADED.update(lexicon=lex, automaton=auto, prefixes=prefixes)
            except Exception:  # noqa: BLE001 - any unreadable cache means: build (only speed depends on it)
                pass
        return "lexicon" in _SETUP_LOADED

    @classmethod
    def load(cls) -> _KeyTable | None:
        import json

        try:
            path = cls.folder(cls.digest())
            with open(os.path.join(path, "meta.json"), encoding="utf-8") as fh:
                meta = json.load(fh)
            # plain arrays on the mapped memory (``np.memmap``'s indexing goes through Python code)
            arr = {
                n: np.load(os.path.join(path, f"{n}.npy"), mmap_mode="r", allow_pickle=False).view(np.ndarray)
                for n in cls.NUMBERS
            }
            codes = {n: np.load(os.path.join(path, f"{n}.npy"), allow_pickle=False) for n in cls.TEXTS}
        except (OSError, ValueError, KeyError):
            return None
        for name in ("rec", "cmap", "pair_slots", "kprev", "kbytes", "kanc"):  # read at random by the walk: fault them in now
            _prefault(arr[name])
        table = _KeyTable.__new__(_KeyTable)
        trie = _KeyTrie.__new__(_KeyTrie)
        trie.rec, trie.cmap, trie.chars = arr["rec"], arr["cmap"], arr["chars"]
        trie.kprev, trie.kbytes, trie.kanc = arr["kprev"], arr["kbytes"], arr["kanc"]
        trie.three_bytes = meta["three_bytes"]
        trie.pair_slots, trie.pairs = arr["pair_slots"], meta["pairs"]
        trie.pair_mask, trie.pair_shift = meta["pair_mask"], meta["pair_shift"]
        table.trie = trie
        table.lengths = meta["lengths"]
        table.offset = {int(k): v for k, v in meta["offset"].items()}
        table.state, table.tail = np.array(arr["state"]), np.array(arr["tail"])  # small; ``read`` may write
        table.cprov_n, table.has_danger = np.array(arr["cprov_n"]), np.array(arr["has_danger"])
        for name in cls.TEXTS:
            values = np.array([*meta["texts"][name], None], dtype=object)
            setattr(table, name, values[codes[name]])  # code -1: None
        table.danger = None  # the characters themselves: only in ``danger_pairs``
        table._danger_pairs = np.array(arr["danger_pairs"])
        table.dirty, table.shipped = False, True
        table.matched_by_label, table.matched_by_text, table._answer_columns = {}, {}, None
        table.text_codes = {name: (codes[name], meta["texts"][name]) for name in cls.TEXTS}
        return table


def _prefault(arr: np.ndarray) -> None:
    """Read one byte of every memory page of ``arr`` (a memory-mapped array), so that the pages are
    mapped at load, in order (the kernel maps a run of neighbouring pages of a file per fault), instead
    of one fault at a time at random places during the first call of the process (the trie walk reads
    its records at random). Measured on 9,680 distinct addresses in fresh processes, with the 8 MB
    cuckoo table the walk read then: the first call's CPU time fell from 16-21 ms to 15-16 ms, the
    load's rose by less than its noise."""
    import mmap

    raw = arr.reshape(-1).view(np.uint8)
    int(raw[:: mmap.PAGESIZE].sum())


def _key_ok(table: _KeyTable, data: np.ndarray, row_end: np.ndarray, rows, gid, kend, constrained, prov) -> np.ndarray:
    """Which (row, key) hits decide: the key decides, agrees with the province constraint (``prov``:
    its first two digits as a number), and the text after it passes the tail check and completes no
    longer name. ``data``/``row_end`` are the UTF-8 bytes of the text and each row's end byte
    (``_utf8_bounds``), ``kend`` the byte after each hit's key: what follows the key is read there,
    once, for the rows that have a check to make (the three checks read the same character)."""
    ok = table.state[gid] == 2
    ok &= ~constrained | (table.cprov_n[gid] == prov)
    tail = table.tail[gid]
    danger = table.has_danger[gid]
    stop = row_end[rows]
    # nothing after the key: no 场, no street or business word, no longer name
    look = (ok & ((tail > 0) | danger) & (kend < stop)).nonzero()[0]
    if not len(look):
        return ok
    nxt = _utf8_char(data, kend[look])[0]
    t = tail[look]
    ok[look[(t == 2) & (nxt == _CHAR_CHANG)]] = False  # 市场: a market, not the city
    short = ((t == 1) & ok[look]).nonzero()[0]  # a street or business word after a short name
    if len(short):  # only where the next character can begin one (``_TAIL_SHORT_FIRST``), then the regex
        first = nxt[short]
        at = np.minimum(np.searchsorted(_TAIL_SHORT_FIRST, first), len(_TAIL_SHORT_FIRST) - 1)
        short = look[short[_TAIL_SHORT_FIRST[at] == first]]
    if len(short):
        ok[short[_tail_short(data, kend[short], stop[short])]] = False
    d = (danger[look] & ok[look]).nonzero()[0]  # the next character could complete a longer name
    if len(d):
        pair = gid[look[d]] * _CHAR_SPAN + nxt[d]
        pairs = table.danger_pairs()
        at = np.minimum(np.searchsorted(pairs, pair), len(pairs) - 1)
        ok[look[d[pairs[at] == pair]]] = False
    return ok


_CHAR_SPAN = 1 << 32  # a character read by ``_utf8_char`` takes at most four bytes
# ``_TAIL_SHORT_RE`` in Python's ``re``: the same matches as RE2's on these heads (no look-around; a
# negated class matches a newline in both, and ``$`` only follows 桥 where ``[^头镇乡村]`` would match
# the newline before which Python's ``$`` also matches; ``tests/test_address.py`` compares both)
_TAIL_SHORT_PY = re.compile(_TAIL_SHORT_RE)


def _tail_short(data: np.ndarray, pos: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Whether the first four characters from byte ``pos`` (or to ``stop``) of each row match
    ``_TAIL_SHORT_RE`` (a street or business word after a short name), for the few rows that get here
    (about 50 of 10,000 addresses): read in Python, four characters being at most 16 bytes (a
    character cut at the 16th byte is dropped by the decoding and lies past the fourth). Arrow's
    regex kernel compiled the pattern on every call: 0.1–0.2 ms for those rows."""
    raw = memoryview(data)
    match = _TAIL_SHORT_PY.match
    return np.array(
        [match(bytes(raw[a:b]).decode("utf-8", "ignore")[:4]) is not None
         for a, b in zip(pos.tolist(), np.minimum(stop, pos + 16).tolist(), strict=True)],
        dtype=bool,
    )  # fmt: skip


def _utf8_rows(data: np.ndarray, pos: np.ndarray, stop: np.ndarray) -> pa.Array:
    """Bytes ``pos`` to ``stop`` of ``data`` for each row, as a new Arrow string array."""
    size = stop - pos
    offsets = np.zeros(len(pos) + 1, dtype=np.int64)
    np.cumsum(size, out=offsets[1:])
    idx = np.repeat(pos - offsets[:-1], size) + np.arange(offsets[-1])
    buf = pa.py_buffer(data[idx].tobytes())
    return pa.LargeStringArray.from_buffers(len(pos), pa.py_buffer(offsets.tobytes()), buf)




class _KeyTrie:
    """The keys as a trie in a double array (flat numpy arrays): a node is a position; the root is 0 and
    the last position a sentinel that stands for "no child". The child of node ``v`` by character code
    ``c`` (1…K, ``chars``: the characters of the keys, sorted; 0 for any other character) is
    ``t = base(v) + c`` when the parent recorded at ``t`` is ``v``, else the sentinel. Each position
    has one record of two 32-bit numbers (``rec``: the parent, and the base when a longer key goes on
    from the node, else -1), so a step reads one record (0.7 MB in all; four numbers, with the key
    number and "more", took 1.4 MB and a first call 0.3–0.5 ms more) and carries the child's base to the next
    step. ``kanc`` gives, by position, the longest key the node's text begins with (its number in
    ``_KeyTable``, or -1): a row's longest key is read once, where its walk stopped; ``kprev`` gives
    each key the next shorter key its text begins with and ``kbytes`` its length in UTF-8 bytes
    (``_walk``). Nothing is rebuilt per call.

    When every key character takes three bytes, a character's code is read from ``cmap`` by its three
    bytes (one gather); otherwise (``three_bytes`` False) from ``chars`` by a binary search. The first
    two characters of a row are looked up in one step (``pair_slots``: every node of depth two by the
    six bytes of its two characters read as one little-endian number, a cuckoo table, ``_cuckoo``;
    ``pairs``) when every key character takes three bytes and no key is one character long: a row then
    walks one step fewer."""

    def __init__(self, parent: np.ndarray, char: np.ndarray, key: np.ndarray, more: np.ndarray) -> None:
        # every character of every key takes three bytes (CJK): a step then reads three bytes and
        # moves three, whatever is there (another width never matches an edge, and the row stops)
        self.three_bytes = bool(((char[1:-1] >= 0xE00000) & (char[1:-1] < 0xF00000)).all())
        inner = np.arange(1, len(parent) - 1, dtype=np.int64)  # not the root, not the sentinel
        self.chars = np.unique(char[inner])
        code = np.zeros(len(parent), dtype=np.int64)
        code[inner] = np.searchsorted(self.chars, char[inner]) + 1
        at, base, size = _double_array(parent[inner], code[inner], inner, len(parent) - 1)
        # by node (numbered level by level: a parent before its children): the key of the node or of its
        # nearest ancestor that is one (-1: none), and the UTF-8 length of the node's text
        width = np.select([char < 0x100, char < 0x10000, char < 0x1000000], [1, 2, 3], 4)
        width[[0, -1]] = 0
        anc, nbytes = key.copy(), width.copy()
        for _ in range(len(parent)):  # one level more per round: as many rounds as the deepest key is long
            nxt_anc, nxt_bytes = np.where(key >= 0, key, anc[parent]), width + nbytes[parent]
            nxt_bytes[0] = 0
            if np.array_equal(nxt_anc, anc) and np.array_equal(nxt_bytes, nbytes):
                break
            anc, nbytes = nxt_anc, nxt_bytes
        is_key = inner[key[inner] >= 0]
        self.kprev = np.full(int(key.max(initial=-1)) + 1, -1, dtype=np.int32)  # the next shorter key
        self.kprev[key[is_key]] = anc[parent[is_key]]
        self.kbytes = np.zeros(len(self.kprev), dtype=np.int64)  # the UTF-8 length of each key
        self.kbytes[key[is_key]] = nbytes[is_key]
        # one record of two numbers per position (8 bytes: the walk reads 0.7 MB at random), the last the
        # sentinel: the parent's position (-1: free) and the base of a node from which a longer key goes
        # on (-1 otherwise: the walk stops there; a free position too)
        rec = np.full((size + 1, 2), -1, dtype=np.int32)
        go_on = np.r_[0, inner[more[inner]]]
        rec[at[go_on], 1] = np.asarray(base)[go_on]
        rec[at[inner], 0] = at[parent[inner]]
        self.rec = rec
        # by position: the longest key the node's text begins with (``anc``; -1: none), read once per row
        self.kanc = np.full(size + 1, -1, dtype=np.int32)
        self.kanc[at] = anc[:-1]
        self.cmap = np.zeros(1 << 20, dtype=np.int16)  # three bytes E0xxxx–EFxxxx → code (0: none)
        if self.three_bytes:
            self.cmap[self.chars - 0xE00000] = np.arange(1, len(self.chars) + 1)
        depth1 = inner[parent[inner] == 0]
        depth2 = inner[(parent[inner] != 0) & (parent[parent[inner]] == 0)]
        self.pairs = self.three_bytes and not (key[depth1] >= 0).any() and bool(more[parent[depth2]].all())
        if self.pairs:
            pair = (char[parent[depth2]].astype(np.int64) << 24) | char[depth2]  # six bytes, big-endian
            pair = sum(((pair >> (8 * (5 - i))) & 0xFF) << (8 * i) for i in range(6))  # little-endian (``_walk``)
            self.pair_slots, self.pair_mask, self.pair_shift = _cuckoo(pair, at[depth2])
        else:
            self.pair_slots, self.pair_mask, self.pair_shift = np.full((1, 2), -1, dtype=np.int64), 0, 63

    def codes(self, char: np.ndarray) -> np.ndarray:
        """The code of each character ``char`` (``_utf8_char``, any width; 0: no key has it)."""
        at = np.minimum(np.searchsorted(self.chars, char), len(self.chars) - 1)
        return np.where(self.chars[at] == char, at + 1, 0)


def _double_array(parent: np.ndarray, code: np.ndarray, nodes: np.ndarray, n: int) -> tuple[np.ndarray, list[int], int]:
    """Positions of a trie's nodes in a double array (``_KeyTrie``): ``nodes`` (not the root, 0) with
    their ``parent`` and character ``code`` (≥ 1); node ``v`` gets position ``at[v]`` (the root 0), and
    every node with children a ``base`` such that ``base + code`` of each child is a position that no
    other node holds. First fit over the free positions (found through a "next free position" forest
    with path compression), parents in the order of their numbers: the same array every time.
    Returns ``(at, base, size)``: ``at`` by node number (``n`` nodes), ``base`` by node number (0 for
    a node without children), ``size`` the number of positions used."""
    order = np.lexsort((code, parent))  # by parent, then code
    par, kid, kcode = parent[order], nodes[order], code[order]
    cut = np.diff(par).nonzero()[0] + 1
    starts, stops = np.r_[0, cut].tolist(), np.r_[cut, len(par)].tolist()
    span = 2 * n + 2 * int(code.max(initial=0)) + 2  # more than first fit can reach
    nxt = list(range(span + 1))  # nxt[x] leads to the first free position ≥ x
    nxt[0] = 1  # the root's position

    def free(x: int) -> int:
        root = x
        while nxt[root] != root:
            root = nxt[root]
        while nxt[x] != root:  # path compression
            nxt[x], x = root, nxt[x]
        return root

    at = np.zeros(n, dtype=np.int64)
    base = [0] * n
    pars, kids, codes = par.tolist(), kid.tolist(), kcode.tolist()
    for a, z in zip(starts, stops, strict=True):
        cs = codes[a:z]
        c0, rest = cs[0], cs[1:]
        f = free(c0)
        while True:
            b = f - c0
            if all(free(b + c) == b + c for c in rest):
                break
            f = free(f + 1)
        for c in cs:
            nxt[b + c] = b + c + 1
        base[pars[a]] = b
        at[kids[a:z]] = [b + c for c in cs]
    return at, base, int(at.max(initial=0)) + 1


def _cuckoo(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """A static hash table of ``keys`` → ``values`` (int64, keys ≥ 0), at most a quarter full, for
    ``_cuckoo_find``: ``(slots, mask, shift)``, slot i holding (key, value) side by side (one cache line
    per probe) or (-1, -1). Cuckoo hashing: every key sits in one of its two slots (two multiplicative
    hashes, ``_FIB``), so a lookup reads at most two slots. Inserted in key order: the same table every
    time; a table twice as large if the insertions run in a cycle (not seen at a quarter full)."""
    bits = max(4, int(len(keys) * 4 - 1).bit_length())
    while True:
        mask, shift = (1 << bits) - 1, 64 - bits
        h0, h1 = (((keys * _FIB[i]) >> shift) & mask for i in (0, 1))
        slots = _cuckoo_insert(keys.tolist(), values.tolist(), h0.tolist(), h1.tolist(), mask + 1)
        if slots is not None:
            return slots, mask, shift
        bits += 1


def _cuckoo_insert(keys: list[int], values: list[int], h0: list[int], h1: list[int], size: int) -> np.ndarray | None:
    """Cuckoo insertion of every key (``_cuckoo``), or None when an insertion does not end."""
    where: dict[int, tuple[int, int]] = {k: (a, b) for k, a, b in zip(keys, h0, h1, strict=True)}
    s_key, s_value = [-1] * size, [-1] * size
    for k, v in zip(keys, values, strict=True):
        at = where[k][0]
        for _ in range(500):
            if s_key[at] == -1:
                s_key[at], s_value[at] = k, v
                break
            s_key[at], k = k, s_key[at]  # take the slot; the key that was there moves to its other slot
            s_value[at], v = v, s_value[at]
            a, b = where[k]
            at = b if at == a else a
        else:
            return None
    return np.array([s_key, s_value], dtype=np.int64).T.copy()


def _cuckoo_find(slots: np.ndarray, mask: int, shift: int, keys: np.ndarray) -> np.ndarray:
    """The value of each key in a ``_cuckoo`` table (-1: not there)."""
    slot = slots.take(((keys * _FIB[0]) >> shift) & mask, axis=0)  # (``slots[h]`` is ten times slower)
    sk = slot[:, 0]
    out = np.where(sk == keys, slot[:, 1], -1)
    # an empty first slot: no such key (a cuckoo insertion never empties a slot)
    other = (sk != keys).nonzero()[0]
    other = other[sk[other] != -1]
    if len(other):
        keys = keys[other]
        slot = slots.take(((keys * _FIB[1]) >> shift) & mask, axis=0)
        out[other] = np.where(slot[:, 0] == keys, slot[:, 1], -1)
    return out


# odd multipliers as signed 64-bit numbers: 2^64 / golden ratio (Fibonacci hashing) and another from
# SplitMix64 for the second slot
_FIB = (np.int64(0x9E3779B97F4A7C15 - (1 << 64)), np.int64(0xBF58476D1CE4E5B9 - (1 << 64)))
# by the first byte of a UTF-8 character: its width, and the shift that keeps only its own bytes of
# the three bytes read from there
_UTF8_WIDTH = np.array([1] * 0xC0 + [2] * 0x20 + [3] * 0x10 + [4] * 0x10, dtype=np.int64)
_UTF8_SHIFT = np.array([16] * 0xC0 + [8] * 0x20 + [0] * 0x20, dtype=np.int64)


def _utf8_bounds(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The UTF-8 bytes of a string array and each row's first and end byte (null rows: empty), without
    copying the text."""
    n = len(arr)
    bufs = arr.buffers()
    wide = pa.types.is_large_string(arr.type)
    off = np.frombuffer(bufs[1], dtype=np.int64 if wide else np.int32)[arr.offset : arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None and off[-1] > 0 else np.zeros(1, np.uint8)
    start, end = off[:-1], off[1:].copy()
    if arr.null_count:
        import pyarrow.compute as pc

        null = pc.is_null(arr).to_numpy(zero_copy_only=False)
        end[null] = start[null]
    return data, start, end


def _utf8_char(data: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The character starting at each byte ``pos`` of valid UTF-8 ``data`` as a number (its bytes,
    big-endian: one number per character, not its code point) and its width in bytes."""
    b0 = data[pos]
    char = (
        (b0.astype(np.int64) << 16)
        | (data.take(pos + 1, mode="clip").astype(np.int64) << 8)
        | data.take(pos + 2, mode="clip")
    ) >> _UTF8_SHIFT[b0]
    four = (b0 >= 0xF0).nonzero()[0]
    if len(four):
        char[four] = (char[four] << 8) | data.take(pos[four] + 3, mode="clip")
    return char, _UTF8_WIDTH[b0]


def _chars_of(text: str) -> np.ndarray:
    """``_utf8_char`` of each character of ``text``."""
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    pos = ((raw & 0xC0) != 0x80).nonzero()[0]
    return _utf8_char(raw, pos)[0]


_KEY_TRIM = np.unique(_chars_of("\t\n\f\r ,，:：;；"))  # leading white space (RE2's ``\\s``) and separators; sorted
_CHAR_CHANG = int(_chars_of("场")[0])  # 市场 (``_key_ok``)
# the characters that can begin a match of ``_TAIL_SHORT_RE``: a direction or numeral, the first of a
# street word (``_STREET_START``), the first of a business word (``_NOT_PLACE_AFTER``); sorted. Rows
# whose key is followed by another character cannot match it and skip the regex (``_key_ok``).
_TAIL_SHORT_FIRST = np.unique(_chars_of("".join(_STREET_START) + "".join(w[0] for w in _NOT_PLACE_AFTER.pattern.split("|"))))
_KEY_CUT = ("中华人民共和国", "中国")  # one of them, after the trim
_ZH_LE = int.from_bytes("中".encode(), "little")  # their first character's bytes as ``_eight_bytes`` reads them
_TRIM_LEAD = np.zeros(256, dtype=bool)  # first bytes of the characters trimmed
_TRIM_LEAD[[c.encode("utf-8")[0] for c in "\t\n\f\r ,，:：;；"]] = True
_NEEDS_START = _TRIM_LEAD.copy()  # … and of 中
_NEEDS_START["中".encode()[0]] = True


def _key_start(data: np.ndarray, pos: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The byte where the text that keys are looked up in begins: after leading white space and
    separators (``_KEY_TRIM``) and then one leading 中华人民共和国 or 中国. Only the rows whose first
    byte can begin one of them are looked at."""
    first = data.take(pos, mode="clip")
    rows = (_NEEDS_START[first] & (pos < end)).nonzero()[0]
    if not len(rows):
        return pos
    pos = pos.copy()
    todo = rows[_TRIM_LEAD[first[rows]]]
    lead = first[todo]
    while len(todo):
        # an ASCII first byte of ``_TRIM_LEAD`` is a character to trim (most rows: the space after a
        # postal code); the others (EF) are read whole and compared
        trim = lead < 0x80
        width = np.where(trim, 1, 3)
        wide = (~trim).nonzero()[0]
        if len(wide):
            char, width[wide] = _utf8_char(data, pos[todo[wide]])
            trim[wide] = _KEY_TRIM[np.minimum(np.searchsorted(_KEY_TRIM, char), len(_KEY_TRIM) - 1)] == char
        todo, width = todo[trim], width[trim]
        pos[todo] += width
        at = pos[todo]  # on only where another character to trim can begin
        lead = data.take(at, mode="clip")
        more = (at < end[todo]) & _TRIM_LEAD[lead]
        todo, lead = todo[more], lead[more]
    zh = rows[pos[rows] + 3 <= end[rows]]  # both begin with 中: the rows that do, first (its three bytes at once)
    zh = zh[(_eight_bytes(data, pos[zh]) & 0xFFFFFF) == _ZH_LE]
    if not len(zh):
        return pos
    cut = []
    for word in _KEY_CUT:  # both looked for at the same byte: at most one applies (中华… / 中国)
        raw = word.encode("utf-8")
        at = zh[end[zh] - pos[zh] >= len(raw)]
        for i, b in enumerate(raw[3:], 3):
            if not len(at):
                break
            at = at[data[pos[at] + i] == b]
        cut.append((at, len(raw)))
    for at, size in cut:
        pos[at] += size
    return pos


def _key_trie() -> _KeyTrie:
    """The trie of the process's key table (built by ``_build_key_trie`` or loaded, ``_SetupCache``)."""
    return _key_table().trie


@functools.cache
def _build_key_trie() -> _KeyTrie:
    """The trie of every key (``_candidate_keys``), its nodes numbered level by level."""
    import pyarrow.compute as pc

    keys = _candidate_keys()
    offset, total = {}, 0
    for k in sorted(keys, reverse=True):  # the key numbers of ``_KeyTable``
        offset[k], total = total, total + len(keys[k])
    lookup = _key_prefixes()
    parents, chars = [np.zeros(1, np.int64)], [np.zeros(1, np.int64)]
    key, more = [np.full(1, -1, np.int64)], [np.ones(1, bool)]
    base, size = {}, 1
    for k in sorted(lookup):
        both, gid_k, pre_k = lookup[k]
        base[k] = size
        if k == 1:
            parents.append(np.zeros(len(both), np.int64))
        else:
            up = pc.index_in(pc.utf8_slice_codeunits(both, 0, k - 1), value_set=lookup[k - 1][0])
            parents.append(up.to_numpy(zero_copy_only=False).astype(np.int64) + base[k - 1])
        data, start, _end = _utf8_bounds(pc.utf8_slice_codeunits(both, k - 1, k))
        chars.append(_utf8_char(data, start)[0])
        key.append(np.where(gid_k >= 0, gid_k + offset.get(k, 0), -1))
        more.append(pre_k)
        size += len(both)
    # a sentinel node last: ``key[-1]`` and ``more[-1]`` answer for "no child" (-1)
    parents.append(np.zeros(1, np.int64))
    chars.append(np.full(1, -1, np.int64))
    key.append(np.full(1, -1, np.int64))
    more.append(np.zeros(1, bool))
    return _KeyTrie(*(np.concatenate(x) for x in (parents, chars, key, more)))


def _walk(trie: _KeyTrie, data: np.ndarray, pos: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The longest key (its number; -1: none) that the text of bytes ``pos`` to ``end`` of ``data`` begins
    with, and the byte after it, for every row: all rows walk the trie (``_KeyTrie``) one character at a time, all at once in
    numpy, and a row leaves the walk where no longer key goes on. The node a row stops at names the
    longest key its path passed (``rec``'s third number), so a step neither records hits nor looks at
    the row's end: a row may walk on past its end into the next row's bytes (the text of a row is not
    copied), and a key that ends past the end of its row is replaced by the next shorter one
    (``kprev``) until it ends within. A three-byte character is read as one big-endian 32-bit number
    ending at its last byte (a view of ``data`` as overlapping four-byte windows: one gather per step
    instead of three), so no byte after the end of ``data`` is read."""
    n = len(pos)
    # the position where each row stopped (0: the root; -1: the sentinel); positions in 32-bit numbers, as
    # in ``rec``, throughout (a process's first use of each combination of number types costs numpy 5-75 µs)
    final = np.zeros(n, dtype=np.int32)
    alive = (pos < end).nonzero()[0]
    p = pos[alive]
    pairs = trie.pairs
    if pairs:  # the first two characters in one step (``_KeyTrie``): a row of fewer begins no key
        two = (end[alive] - p >= 6).nonzero()[0]
        alive, p = alive[two], p[two]
    rec = trie.rec
    node = np.zeros(len(alive), dtype=np.int32)  # the root (position 0) and its base
    base = np.full(len(alive), rec[0, 1], dtype=np.int32)
    window, last, first = None, len(data) - 4, True
    if trie.three_bytes and len(data) >= 4:  # bytes i…i+3 as a big-endian number, for every i
        window = np.ndarray(shape=(len(data) - 3,), dtype=">u4", buffer=data, strides=(1,))
    while len(alive):
        if pairs:  # the six bytes of the first two characters as one little-endian number
            chars = _eight_bytes(data, p) & 0xFFFFFFFFFFFF
            child = _cuckoo_find(trie.pair_slots, trie.pair_mask, trie.pair_shift, chars).astype(np.int32)
            got = rec.take(child, axis=0, mode="wrap")  # -1 (none): the sentinel's record, the last
            final[alive] = child
            go = (got[:, 1] >= 0).nonzero()[0]
            p = p + 6
            pairs = False
        else:
            if window is not None and not first:
                # the character at ``p`` is the three bytes of the window ending there (``p`` ≥ 3); past
                # the last window (at most the last three bytes of ``data``), the last window, whose
                # three bytes then begin no character of a row there or are past every row's end
                try:
                    char = window[p - 1]
                except IndexError:
                    char = window[np.minimum(p - 1, last)]
                code = trie.cmap.take((char & 0xFFFFFF) - 0xE00000, mode="clip")  # other widths: 0, no child
                p = p + 3
            elif trie.three_bytes:
                char = (
                    (data.take(p, mode="clip").astype(np.int64) << 16)
                    | (data.take(p + 1, mode="clip").astype(np.int64) << 8)
                    | data.take(p + 2, mode="clip")
                )
                code = trie.cmap.take(char - 0xE00000, mode="clip")
                p = p + 3
            else:
                char, width = _utf8_char(data, np.minimum(p, len(data) - 1))
                code = trie.codes(char)
                p = p + width
            child = base + code
            got = rec.take(child, axis=0, mode="clip")  # past the end: the sentinel's (free) record
            edge = got[:, 0] == node  # the child's parent is this node: an edge
            final[alive] = np.where(edge, child, node)
            go = (edge & (got[:, 1] >= 0)).nonzero()[0]  # an edge, and a longer key goes on
        alive, p, node, base = alive[go], p[go], child[go], got[go, 1]
        first = False
    best = trie.kanc.take(final, mode="wrap").astype(np.int64)
    best_end = pos + trie.kbytes.take(best, mode="wrap")  # (no key, -1: the last key's length; not used)
    # a key past the end of its row (the walk went on into the next row's bytes): the next shorter one
    over = ((best_end > end) & (best >= 0)).nonzero()[0]
    while len(over):
        best[over] = trie.kprev[best[over]]
        over = over[best[over] >= 0]
        best_end[over] = pos[over] + trie.kbytes[best[over]]
        over = over[best_end[over] > end[over]]
    return best, best_end


def _key_hits(
    data: np.ndarray,
    pos: np.ndarray,
    end: np.ndarray,
    cons: np.ndarray,
    constraints: list[tuple[str | None, str]],
    undecided: np.ndarray | None = None,
) -> tuple:
    """The rows decided by a key: ``(rows, key numbers, at, text)``, ``at`` indexing the rows read under a
    province constraint and ``text`` their matched text (the others have their key's: ``_key_answers``). Row i is the text of bytes
    ``pos[i]`` to ``end[i]`` of the UTF-8 ``data`` (``_utf8_bounds``). ``undecided`` (length of ``pos``,
    -1 everywhere), if given, receives the end byte of the longest key of each row whose longest key
    does not decide, when a prefix cut there would not decide either: the key alone does not decide
    (``state`` 1: ambiguous, a province alone…; rows without a province constraint only, which may
    decide an ambiguous name), or it decides only after a check of what follows it (``tail``,
    ``danger``: a prefix cut at the key's end is not decided, ``_decided_prefix``) and not against the
    row's constraint. ``_fast_cities`` does not read those prefixes (``_parse_distinct``).

    Every row walks the trie of keys (``_key_trie``, ``_walk``) one character at a time, all rows at once
    in numpy, on the UTF-8 bytes of the text (no copy, no per-call hash set); a row leaves the walk as
    soon as its text can no longer begin a longer key. Per row, the longest key it begins with is tried first
    (one vectorised pass over every row); only the rows whose longest key does not decide try their
    shorter keys, longest first.
    """
    n = len(pos)
    none = (*(np.zeros(0, dtype="int64"),) * 3, np.zeros(0, dtype=object))
    table = _key_table()
    trie = table.trie
    cons_prov = np.array([int(p[:2]) if p else -1 for p, _ in constraints], dtype=np.int16)
    cons_has = cons_prov >= 0
    pos = _key_start(data, pos, end)
    # the longest key each row begins with (-1: none) and the byte after it
    best, best_end = _walk(trie, data, pos, end)
    if not (best >= 0).any():
        return none
    kbytes = trie.kbytes

    def decide(rows: np.ndarray, gid: np.ndarray, kend: np.ndarray) -> np.ndarray:
        # the shipped decisions hold every key; otherwise read each key met once
        unknown = np.zeros(0, dtype=np.int64) if table.shipped else np.unique(gid[table.state[gid] == 0])
        if len(unknown):
            keys = _candidate_keys()
            words = pa.concat_arrays([keys[k] for k in table.lengths]).take(pa.array(unknown)).to_pylist()
            table.read(unknown, words)
        c = cons[rows]
        return _key_ok(table, data, end, rows, gid, kend, cons_has[c], cons_prov[c])

    # rank 0: the longest key of every row
    rows0 = (best >= 0).nonzero()[0]
    ok0 = decide(rows0, best[rows0], best_end[rows0])
    if undecided is not None:  # (see the docstring)
        u = rows0[~ok0]
        gu, cu = best[u], cons[u]
        free = ~cons_has[cu]
        undecided_u = (table.state[gu] == 1) & free  # a constraint may decide an ambiguous name
        # decides, but not with what follows it (tail or danger) and not against the constraint
        undecided_u |= (table.state[gu] == 2) & ((table.tail[gu] > 0) | table.has_danger[gu]) & (free | (table.cprov_n[gu] == cons_prov[cu]))
        u = u[undecided_u]
        undecided[u] = best_end[u]
    sel_rows, sel_gid = [rows0[ok0]], [best[rows0[ok0]]]
    failed = np.zeros(n, dtype=bool)
    failed[rows0[~ok0]] = True
    if failed.any():  # the shorter keys of the rows not decided yet: the longest one that decides wins
        # all of them in one pass (a key's decision does not depend on the row's other keys), then the
        # first that decides in each row's order, longest first; a row's keys are its longest key and
        # the chain of the next shorter ones (``_KeyTrie.kprev``)
        rows = failed.nonzero()[0]
        gid = best[rows]
        parts = []
        while len(rows):
            parts.append((rows, gid, pos[rows] + kbytes[gid]))
            gid = trie.kprev[gid].astype(np.int64)
            rows, gid = rows[gid >= 0], gid[gid >= 0]
        rows, gid, kend = (np.concatenate(x) for x in zip(*parts, strict=True))
        order = np.lexsort((-kend, rows))  # a row's keys all start where it does: longest = ends last
        rows, gid, kend = rows[order], gid[order], kend[order]
        shorter = (rows[1:] == rows[:-1]).nonzero()[0] + 1  # not the longest, tried above
        if len(shorter):
            rows, gid, kend = rows[shorter], gid[shorter], kend[shorter]
            ok = decide(rows, gid, kend).nonzero()[0]
            if len(ok):
                first = ok[np.concatenate(([True], rows[ok[1:]] != rows[ok[:-1]]))]
                sel_rows.append(rows[first])
                sel_gid.append(gid[first])
    table.save()
    r = np.concatenate(sel_rows)
    g = np.concatenate(sel_gid)
    # city and province depend on the key only, and so does the matched text of a row without a province
    # constraint (``_key_answers``); with one (which is then the key's own province, ``_key_ok``) it is
    # the constraint's label and the text matched under it, or the label alone: built once per label and
    # distinct text in the process (``_KeyTable.label_texts``), not once per row
    at_parts, text_parts = [np.zeros(0, dtype="int64")], [np.zeros(0, dtype=object)]
    c = cons[r]
    sel = cons_has[c].nonzero()[0]
    for lab in dict.fromkeys(lab for prov, lab in constraints if prov) if len(sel) else ():
        at = sel[np.array([x == lab for _p, x in constraints])[c[sel]]]
        if not len(at):
            continue
        at_parts.append(at)
        text_parts.append(table.label_texts(lab, g[at]))
    return r, g, np.concatenate(at_parts), np.concatenate(text_parts)


def _key_answers(n: int, rows: np.ndarray, hits: tuple, city: np.ndarray, province: np.ndarray, matched: np.ndarray) -> np.ndarray:
    """Write the answers of ``hits`` (``_key_hits`` on rows ``rows`` of the columns) into the object columns
    ``city``, ``province`` and ``matched`` (length ``n``; every row is written, None where no key
    decided: call it first): each column in one pass from the key numbers, then the texts of the rows
    read under a province constraint. Returns the rows decided. (Gathering per row and scattering
    touched every reference twice more.)"""
    k_rows, gid, at, text = hits
    out = rows[k_rows]
    code = np.full(n, -1, dtype="int64")
    code[out] = gid
    for col, (codes, values) in zip((city, province, matched), _key_table().answer_columns(), strict=True):
        # -1: the last code, None; ``mode`` "wrap" (the codes are in range): with "raise", ``out`` is
        # written through a buffer (numpy's documented behaviour), 0.03 ms more per column
        np.take(values, codes.take(code, mode="wrap"), out=col, mode="wrap")
    matched[out[at]] = text
    return out


def _key_cities(body: pa.Array, cons: np.ndarray, constraints: list[tuple[str | None, str]]) -> tuple:
    """City and matched text per row of ``body`` decided by a key (None where not decided)."""
    n = len(body)
    city, province, matched = np.full((3, n), None, dtype=object)
    _key_answers(n, np.arange(n), _key_hits(*_utf8_bounds(body), cons, constraints), city, province, matched)
    return city, matched


def _fast_cities(
    body: pa.Array,
    cons: np.ndarray,
    constraints: list[tuple[str | None, str]],
    min_share: int = 1,
    known: np.ndarray | None = None,
) -> tuple:
    """City and matched text per row of ``body`` decided by a prefix (None where not decided).

    ``cons`` indexes ``constraints``: (province constraint or None, label put before ``matched``).
    Only prefixes shared by at least ``min_share`` rows are read (``parse_addresses`` passes 2: a
    prefix of one row costs a reading and saves at most one, and a longer prefix of that row is not
    shared either, so the row goes to the whole reading at once). ``known``: per row, a number of
    characters whose prefixes are not read (they begin a key that does not decide, ``_key_hits``; a
    shorter or equal prefix would not decide either); the row takes part from the next level on. Which
    prefixes are read changes no answer: a row not decided here is read whole.
    """
    import pyarrow.compute as pc

    n = len(body)
    city = np.full(n, None, dtype=object)
    matched = np.full(n, None, dtype=object)
    known = np.zeros(n, dtype=np.int64) if known is None else known
    if n <= _PREFIX_PY_ROWS:
        return _fast_cities_py(body.to_pylist(), cons.tolist(), constraints, min_share, city, matched, known.tolist())
    todo = np.arange(n)
    lengths = pc.utf8_length(body, memory_pool=_POOL).to_numpy(zero_copy_only=False)
    width = len(constraints)
    later = np.zeros(0, dtype=np.int64)  # rows not read at this level (``known``): back at the next
    for k in PREFIX_LEVELS:
        if len(later):
            todo = np.sort(np.concatenate([todo, later]))
        todo = todo[lengths[todo] > k]  # a whole address is read by parse_address
        later, todo = todo[known[todo] >= k], todo[known[todo] < k]
        if not len(todo):
            if len(later):
                continue
            break
        sub = pc.take(body, pa.array(todo), memory_pool=_POOL) if len(todo) < n else body
        enc = pc.dictionary_encode(pc.utf8_slice_codeunits(sub, 0, k, memory_pool=_POOL), memory_pool=_POOL)
        key = enc.indices.to_numpy(zero_copy_only=False).astype("int64") * width + cons[todo]
        inv, uniq = pd.factorize(key)
        if min_share > 1:
            shared = np.bincount(inv, minlength=len(uniq)) >= min_share
            todo, inv = todo[shared[inv]], inv[shared[inv]]
            read = shared.nonzero()[0]
        else:
            read = np.arange(len(uniq))
        words = enc.dictionary.to_pylist()
        d_city = np.full(len(uniq), None, dtype=object)
        d_matched = np.full(len(uniq), None, dtype=object)
        d_ok = np.zeros(len(uniq), dtype=bool)
        for i, u in zip(read.tolist(), uniq[read].tolist(), strict=True):
            prov, label = constraints[u % width]
            got = _prefix_city(words[u // width], prov)
            if got is not None:
                d_ok[i] = True
                d_city[i] = got[0]
                d_matched[i] = label + got[1] if got[1] else label.rstrip("|")
        hit = d_ok[inv]
        rows = todo[hit]
        city[rows] = d_city[inv[hit]]
        matched[rows] = d_matched[inv[hit]]
        todo = todo[~hit]
    return city, matched


# the prefix tier runs when the keys leave more than this many rows (``_parse_distinct``); fewer are all
# read whole. The tier shares one reading of a prefix among the rows that begin with it, and a reading
# is made once per process (``_prefix_city``, cached): among a few dozen rows there is little to share,
# and what there is costs a first call more than it saves (9,680 distinct addresses: the keys leave 67
# rows, 9 prefixes of them were read, 0.28 ms of the first call, none decided). Which tier reads a row
# changes no answer.
_PREFIX_MIN_ROWS = 128

# up to this many rows, ``_fast_cities`` groups the prefixes in Python: five rounds of Arrow calls
# (take, slice, dictionary encoding, factorize) cost about 1 ms whatever the number of rows, which is
# most of the tier's time on the few hundred rows the keys leave in 10,000 distinct addresses
_PREFIX_PY_ROWS = 400


def _fast_cities_py(
    words: list, cons: list[int], constraints: list[tuple[str | None, str]], min_share: int, city, matched, known: list[int]
) -> tuple:
    """``_fast_cities`` on few rows, level by level as there: the rows whose first k characters (and
    constraint) are shared by at least ``min_share`` rows read that prefix once; the rows it does not
    decide go on to the next level, the others stop."""
    todo = list(range(len(words)))
    for k in PREFIX_LEVELS:
        todo = [i for i in todo if len(words[i] or "") > k]  # a whole address is read by parse_address
        if not todo:
            break
        groups: dict[tuple[str, int], list[int]] = {}
        later = [i for i in todo if known[i] >= k]  # not read at this level (``known``)
        for i in todo:
            if known[i] < k:
                groups.setdefault((words[i][:k], cons[i]), []).append(i)
        todo = later
        for (word, c), rows in groups.items():
            if len(rows) < min_share:
                continue  # not shared: straight to the whole reading
            prov, label = constraints[c]
            got = _prefix_city(word, prov)
            if got is None:
                todo.extend(rows)
                continue
            text = label + got[1] if got[1] else label.rstrip("|")
            for i in rows:
                city[i], matched[i] = got[0], text
        todo.sort()
    return city, matched


# ``parse_addresses`` reads the distinct pairs in chunks of this many: the arrays of one chunk (a few MB)
# fit in the processor's caches and are reused from the heap by the next chunk, instead of hundreds of
# MB of fresh memory on a first call (measured on 455,652 distinct addresses in fresh processes: first
# call 740-830 -> 600-670 ms CPU, 65,000 -> 45,000 page faults). Chunks change no answer: each pair
# is read on its own, and the prefix tier's sharing (``_fast_cities``) only decides which tier reads
# an address, never its answer.
_CHUNK = 1 << 17
COLUMNS = ["city_code", "province_code", "foreign", "status", "matched", "country"]
_OBJECT_COLUMNS = [c for c in COLUMNS if c != "foreign"]  # rows of ``_parse_distinct``'s object array


def _as_arrow(values: pd.Series) -> pa.Array:
    """A Series of strings (nulls allowed) as an Arrow ``large_string`` array."""
    import pyarrow.compute as pc

    try:
        arr = pa.array(values, from_pandas=True, memory_pool=_POOL)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array([None if v is None or v != v else str(v) for v in values], type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == pa.null():
        return pa.nulls(len(arr), pa.large_string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array([None if v is None else str(v) for v in arr.to_pylist()], type=pa.large_string())
    return arr if arr.type == pa.large_string() else pc.cast(arr, pa.large_string(), memory_pool=_POOL)


def _empty_frame(index: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series([], dtype="object") for c in COLUMNS}, index=index)
    out["foreign"] = out["foreign"].astype(bool)
    return out


def parse_addresses(addresses: pd.Series, province_hint: pd.Series | None = None) -> pd.DataFrame:
    """Locate many addresses (rules R1–R12).

    ``province_hint`` is the raw ``国省代码`` field of the same records (``江苏(32)``, ``日本(JP)``) or
    None. Returns a frame on the index of ``addresses`` with ``city_code`` (or None), ``province_code``
    (or None), ``foreign`` (bool), ``status`` (city, ambiguous, province_only, foreign, none),
    ``matched`` (the text that decided: place names joined by ``|``, ``postal`` or ``hint`` when that
    evidence was used, ``latin`` for Latin-script addresses) and ``country`` (``CN``, an ISO code,
    ``XX`` for foreign of unknown country, None when nothing is known).

    Work: every distinct (address, hint) pair is read once: by a key (one vectorised pass), by a
    prefix shared with other addresses (see ``PREFIX_LEVELS``), or else whole by ``parse_address``;
    when a sample shows the addresses nearly all distinct, the rows are read as they are, and a pair that
    repeats after all is read by the key tier once per row (``_looks_distinct``).
    """
    import pyarrow.compute as pc

    n = len(addresses)
    if n == 0:
        return _empty_frame(addresses.index)
    arr = _as_arrow(addresses)
    if province_hint is None:
        h_idx, h_dict = np.full(n, -1, dtype="int64"), pa.nulls(0, pa.large_string())
    else:
        hint = province_hint if province_hint.index.equals(addresses.index) else province_hint.reindex(addresses.index)
        h_enc = pc.dictionary_encode(_as_arrow(hint.astype("object")), memory_pool=_POOL)
        h_idx = h_enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype("int64")
        h_dict = h_enc.dictionary
    if n >= 2 * _SAMPLE and not arr.null_count and _looks_distinct(arr):
        inv, u_addr, uh = None, arr, h_idx  # every row read as it is (see ``_looks_distinct``)
    else:
        inv, u_addr, uh = _distinct_pairs(arr, h_idx, len(h_dict))
    h_list = h_dict.to_pylist()
    if len(u_addr) <= _CHUNK:
        obj, foreign = _parse_distinct(u_addr, uh, h_list)
    else:  # in chunks (see ``_CHUNK``)
        parts = [_parse_distinct(u_addr.slice(i, _CHUNK), uh[i : i + _CHUNK], h_list) for i in range(0, len(u_addr), _CHUNK)]
        obj = np.concatenate([part[0] for part in parts], axis=1)
        foreign = np.concatenate([part[1] for part in parts])
    if inv is not None:
        obj, foreign = obj.take(inv, axis=1), foreign[inv]
    return _frame(obj, foreign, addresses.index)


def _frame(obj: np.ndarray, foreign: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """The output frame: the five object columns (``dtype=object``: no string inference) as one block
    of the rows of ``obj``, without a copy, and ``foreign`` as a boolean block, placed directly
    (``pandas.api.internals.create_dataframe_from_blocks``, the column index a copy of one built once:
    0.03 ms on 9,680 addresses; the constructor with the column names, then inserting the flag, took
    0.5-0.6 ms, most of it building the two column indexes). The same frame as ``pd.DataFrame(obj.T, columns=_OBJECT_COLUMNS, dtype=object)``
    with the flag inserted at its place (``tests/test_address.py``); the index set, not aligned."""
    if _FROM_BLOCKS is not None:
        blocks = [(obj, _OBJECT_PLACES), (foreign.reshape(1, -1), _FOREIGN_PLACE)]
        return _FROM_BLOCKS(blocks, index=index, columns=_COLUMN_INDEX.copy())
    out = pd.DataFrame(obj.T, index=index, columns=_OBJECT_COLUMNS, dtype=object, copy=False)
    out.insert(COLUMNS.index("foreign"), "foreign", foreign)
    return out


try:  # pandas >= 3.0 (older pandas: the constructor, same frame)
    from pandas.api.internals import create_dataframe_from_blocks as _FROM_BLOCKS
except ImportError:  # pragma: no cover - depends on the installed pandas
    _FROM_BLOCKS = None
_COLUMN_INDEX = pd.Index(COLUMNS)  # copied per frame (``Index.copy``: the names are shared, not the object)
_OBJECT_PLACES = np.array([COLUMNS.index(c) for c in _OBJECT_COLUMNS])
_FOREIGN_PLACE = np.array([COLUMNS.index("foreign")])


# ``parse_addresses`` reads the rows as they are, without finding the distinct (address, hint) pairs
# first, when an evenly spaced sample of the addresses shows no broad repetition: finding the distinct
# values of 470,000 addresses (Arrow's ``dictionary_encode``) took about 160 ms of a 430 ms first call
# and drew about 150 MB of fresh memory (39,000 page faults), and in such input nearly every address
# is distinct anyway. The sample has ``max(_SAMPLE, _SAMPLE_SCALE * sqrt(n))`` addresses: input where every
# address comes k times draws about 72 (k - 1) repeated values into it (a sample of m of n rows meets
# about m² (k - 1) / 2n pairs), far more than ``_FREQUENT``; a few very frequent addresses (a fixed
# foreign address on 0.4 % of the rows) are each one repeated value, and their rows are read cheaply
# (the key tier in a few µs, the whole reading once per call). So the rows are read as they are when
# at most ``_FREQUENT`` values repeat in the sample and at most 1/16 of its addresses are repeats. A
# pair that repeats is then read by the key tier once per row and by the whole reading once per call
# (``_parse_distinct``); the answers are the same either way.
_SAMPLE = 1024
_SAMPLE_SCALE = 12
_FREQUENT = 16


def _looks_distinct(arr: pa.Array) -> bool:
    """Whether an evenly spaced sample of ``arr`` shows no broad repetition (see ``_SAMPLE``)."""
    import pyarrow.compute as pc

    n = len(arr)
    m = min(n, max(_SAMPLE, int(_SAMPLE_SCALE * n**0.5)))
    at = np.arange(m, dtype=np.float64) * ((n - 1) / (m - 1))  # ``np.linspace``'s values,
    at[-1] = n - 1  # without its Python-level checks
    sample = pc.take(arr, pa.array(at.astype("int64")), memory_pool=_POOL)
    if len(pc.unique(sample, memory_pool=_POOL)) == m:
        return True
    counts = pc.value_counts(sample, memory_pool=_POOL).field("counts").to_numpy()
    return int((counts > 1).sum()) <= _FREQUENT and int(counts.sum() - len(counts)) * 16 <= m


def _distinct_pairs(arr: pa.Array, h_idx: np.ndarray, n_hints: int) -> tuple:
    """The distinct (address, hint) pairs of the rows: ``(inv, addresses, hint index)``, ``inv`` mapping
    each row to its pair (None when the pairs are the rows in their order)."""
    import pyarrow.compute as pc

    n = len(arr)
    a_enc = pc.dictionary_encode(arr, memory_pool=_POOL)
    a_idx = a_enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype("int64")
    hw = n_hints + 1
    if n_hints == 0 and len(a_enc.dictionary) == n and not (a_idx < 0).any():
        inv, ua, uh = None, a_idx, h_idx  # all distinct, no hint: nothing to map back
    else:
        inv, pairs = pd.factorize((a_idx + 1) * hw + (h_idx + 1))
        ua, uh = pairs // hw - 1, pairs % hw - 1
        if len(pairs) == n:  # factorize numbers pairs in order of first appearance: all distinct → 0..n-1
            inv = None
    if len(a_enc.dictionary) == len(ua) and not (ua < 0).any() and (ua == np.arange(len(ua))).all():
        u_addr = a_enc.dictionary  # the pairs are the distinct addresses in their order: no copy
    elif len(a_enc.dictionary):
        u_addr = pc.take(a_enc.dictionary, pa.array(np.where(ua >= 0, ua, 0), mask=ua < 0), memory_pool=_POOL)
    else:
        u_addr = pa.nulls(len(ua), pa.large_string())
    return inv, u_addr, uh


# first bytes of the characters Arrow may count as white space (ASCII controls and space, U+0085,
# U+00A0, U+1680, U+2000–U+205F, U+3000): only rows beginning with one are handed to Arrow
_SPACE_LEAD = np.zeros(256, dtype=bool)
_SPACE_LEAD[[*range(0x21), 0xC2, 0xE1, 0xE2, 0xE3]] = True
# a postal code's first two digits (00–99) → province code (``etl.postal``)
_POSTAL_PROVINCE = [PROVINCE_BY_POSTAL_PREFIX.get(f"{v:02d}") for v in range(100)]


def _skip_space(arr: pa.Array, rows: np.ndarray, data: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``start`` moved past the leading white space of the rows whose first character is white space
    (``utf8_is_space``, trimmed by ``utf8_ltrim_whitespace``: Arrow's definition, on those rows only)."""
    import pyarrow.compute as pc

    cand = ((start < end) & _SPACE_LEAD[data.take(start, mode="clip")]).nonzero()[0]
    if not len(cand):
        return start
    text = pc.take(arr, pa.array(rows[cand]), memory_pool=_POOL)
    space = pc.utf8_is_space(pc.utf8_slice_codeunits(text, 0, 1)).to_numpy(zero_copy_only=False)
    if not space.any():
        return start
    text = pc.filter(text, pa.array(space))
    cut = pc.subtract(pc.binary_length(text), pc.binary_length(pc.utf8_ltrim_whitespace(text)))
    start = start.copy()
    start[cand[space]] += cut.to_numpy(zero_copy_only=False)
    return start


def _postal_codes(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, list, np.ndarray]:
    """A leading postal code (six digits, ASCII or full-width, then a non-digit or the end: R3) cut from
    each row's bytes: the new ``start``, the province of each distinct first two digits and each row's
    index into them (-1: no postal code)."""
    codes = np.full(len(start), -1, dtype=np.int64)
    b0 = data.take(start, mode="clip")
    cand = ((start < end) & (((b0 >= 0x30) & (b0 <= 0x39)) | (b0 == 0xEF))).nonzero()[0]
    if not len(cand):
        return start, [], codes
    q, stop = start[cand], end[cand]
    # six ASCII digits (the usual case) in one read; the others (full-width digits, mixed, short)
    # character by character (``_postal_chars``)
    # the eight bytes from each row's first as one little-endian number: its six low bytes are ASCII
    # digits when each high half is 3 and each low half plus 6 stays below 16 (no byte carries into the
    # next); a row's first two digits are then its two lowest low halves
    eight = _eight_bytes(data, q)
    fast = (q + 6 <= stop) & ((eight & _SIX_HIGH) == _SIX_THREES) & ((((eight & _SIX_LOW) + _SIX_SIXES) & _SIX_HIGH) == 0)
    ok = np.zeros(len(cand), dtype=bool)
    d0, d1 = np.zeros((2, len(cand)), dtype=np.int64)
    f = fast.nonzero()[0]
    if len(f):
        qf, sf = q[f] + 6, stop[f]
        b = data.take(qf, mode="clip")
        seventh = (qf < sf) & (  # a seventh digit, ASCII or full-width (EF BC 90–99): no postal code
            ((b >= 0x30) & (b <= 0x39))
            | ((b == 0xEF) & (data.take(qf + 1, mode="clip") == 0xBC) & (qf + 2 < sf)
               & (data.take(qf + 2, mode="clip") >= 0x90) & (data.take(qf + 2, mode="clip") <= 0x99))
        )  # fmt: skip
        ok[f], q[f] = ~seventh, qf
        d0[f], d1[f] = eight[f] & 0xF, (eight[f] >> 8) & 0xF
    slow = (~fast).nonzero()[0]
    if len(slow):
        read = _postal_chars if len(slow) > _POSTAL_PY_ROWS else _postal_chars_py
        ok[slow], q[slow], d0[slow], d1[slow] = read(data, q[slow], stop[slow])
    digits = [d0, d1]
    if not ok.any():
        return start, [], codes
    at = cand[ok]
    start = start.copy()
    start[at] = q[ok]
    first2 = digits[0][ok] * 10 + digits[1][ok]  # 0–99: numbered through a table of 100
    seen = np.zeros(100, dtype=bool)
    seen[first2] = True
    uniq = seen.nonzero()[0]
    number = np.cumsum(seen) - 1
    codes[at] = number[first2]
    return start, [_POSTAL_PROVINCE[v] for v in uniq.tolist()], codes




def _eight_bytes(data: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Bytes ``q`` to ``q + 7`` of ``data`` as one little-endian signed 64-bit number per row, of which
    ``_postal_codes`` and the walk's first step use the six low bytes and ``_key_start`` the three low
    ones (each within the row there): the rows of a view of ``data`` as overlapping eight-byte windows
    (no copy, no index array of eight numbers per row: 0.2 MB of fresh memory, 50 page faults, on 3,400 rows), a row
    that begins fewer than eight bytes before the end read from the last window and shifted (its six
    bytes are within it)."""
    n = len(data)
    if n < 8:  # the bytes past the end read as 0: never within a row
        data, n = np.concatenate((data, np.zeros(8 - n, dtype=np.uint8))), 8
    at = np.minimum(q, n - 8)
    # the windows as one-dimensional 64-bit numbers (a gather of eight-byte items: 30 against 80 µs on
    # 3,370 rows for the rows of a two-dimensional view of bytes)
    eight = np.ndarray(shape=(n - 7,), dtype="<i8", buffer=data, strides=(1,))[at]
    late = (q > at).nonzero()[0]
    if len(late):
        eight[late] >>= (q[late] - at[late]) * 8
    return eight


# ``_postal_codes``: the halves of six bytes (signed 64-bit numbers, as the rest of the step uses: a
# process's first use of each combination of number types costs numpy 5-75 µs)
_SIX_HIGH, _SIX_LOW, _SIX_THREES, _SIX_SIXES = 0xF0F0F0F0F0F0, 0x0F0F0F0F0F0F, 0x303030303030, 0x060606060606
# ``_postal_chars`` makes seven vectorised steps of about ten numpy calls each, whatever its rows: the
# few rows that begin with a digit and are no six-digit code (a street number, ``1 Infinite Loop``) are
# read in Python below this many (``_postal_chars_py``: 2 µs a row, against 0.1 ms for one row)
_POSTAL_PY_ROWS = 16


def _postal_chars(data: np.ndarray, q: np.ndarray, stop: np.ndarray) -> tuple:
    """``_postal_codes`` character by character (ASCII or full-width digits) from bytes ``q`` (each row
    ending at ``stop``): whether six digits and then no digit follow, the byte after them, and the
    first two digits."""
    ok = np.ones(len(q), dtype=bool)
    digits = []
    for i in range(7):
        b = data.take(q, mode="clip").astype(np.int64)
        value = np.where(q < stop, b - 0x30, -1)  # an ASCII digit: 0–9
        wide = (b == 0xEF).nonzero()[0]  # a full-width digit: EF BC 90–99
        if len(wide):
            qw = q[wide]
            fw = (data.take(qw + 1, mode="clip") == 0xBC) & (qw + 2 < stop[wide])
            value[wide] = np.where(fw, data.take(qw + 2, mode="clip").astype(np.int64) - 0x90, -1)
        digit = (value >= 0) & (value <= 9)
        if i == 6:
            ok &= ~digit
            break
        ok &= digit
        if i < 2:
            digits.append(value)
        q = np.where(digit, q + _UTF8_WIDTH[b & 0xFF], q)
    return ok, q, digits[0], digits[1]


def _postal_chars_py(data: np.ndarray, q: np.ndarray, stop: np.ndarray) -> tuple:
    """``_postal_chars`` one row at a time in Python, for a few rows: the same reads (a byte past the end
    of ``data`` read as its last byte) and the same answers (``tests/test_address.py``)."""
    raw, last = memoryview(data), len(data) - 1
    out = []
    for at, end in zip(q.tolist(), stop.tolist(), strict=True):
        ok, digits = True, []
        for i in range(7):
            b = raw[min(at, last)]
            value = b - 0x30 if at < end else -1
            if b == 0xEF:  # a full-width digit: EF BC 90–99
                fw = raw[min(at + 1, last)] == 0xBC and at + 2 < end
                value = raw[min(at + 2, last)] - 0x90 if fw else -1
            digit = 0 <= value <= 9
            if i == 6:
                ok = ok and not digit
                break
            ok = ok and digit
            if i < 2:
                digits.append(value)
            if digit:
                at += int(_UTF8_WIDTH[b])
        out.append((ok, at, digits[0], digits[1]))
    ok_, q_, d0, d1 = zip(*out, strict=True)
    return np.array(ok_, dtype=bool), np.array(q_, dtype=np.int64), np.array(d0, dtype=np.int64), np.array(d1, dtype=np.int64)


def _chars_before(data: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The number of UTF-8 characters of ``data`` from byte ``start`` to byte ``stop`` of each row (0 where
    ``stop`` is -1): the bytes that do not continue a character."""
    out = np.zeros(len(start), dtype=np.int64)
    at = (stop >= 0).nonzero()[0]
    if len(at):
        size = stop[at] - start[at]
        row = np.repeat(np.arange(len(at)), size)
        idx = np.repeat(start[at] - (np.cumsum(size) - size), size) + np.arange(len(row))
        out[at] = np.bincount(row, weights=(data[idx] & 0xC0) != 0x80, minlength=len(at)).astype(np.int64)
    return out


def _texts(arr: pa.Array, rows: np.ndarray) -> list:
    """Rows ``rows`` of a string array as Python strings (None for nulls), decoded from its UTF-8 bytes
    (``_utf8_bounds``): for the few dozen rows of the whole reading, 0.16 ms of a first call through
    Arrow's ``take`` and ``to_pylist`` (their first use in the process), 0.02 ms decoded here."""
    data, start, end = _utf8_bounds(arr)
    raw = memoryview(data)
    out = [str(raw[a:b], "utf-8") for a, b in zip(start[rows].tolist(), end[rows].tolist(), strict=True)]
    if arr.null_count:
        for i in np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False)[rows]).tolist():
            out[i] = None
    return out


def _parse_distinct(arr: pa.Array, h_codes: np.ndarray, h_uniq: list) -> tuple[np.ndarray, np.ndarray]:
    """``parse_addresses`` on (address, hint) pairs — distinct, or the rows as they are when they look
    distinct (``_looks_distinct``): ``arr`` the addresses, ``h_codes`` the index of each pair's hint in
    ``h_uniq`` (-1: none). Returns the object columns (``_OBJECT_COLUMNS``) as the rows of one array,
    and ``foreign``."""
    import pyarrow.compute as pc

    n = len(arr)
    parsed = [country_province_of(u) for u in h_uniq] + [(None, None)]  # [-1]: no hint
    hint_prov_u = np.array([p for p, _ in parsed], dtype=object)
    hint_ctry_u = np.array([c for _, c in parsed], dtype=object)

    obj = np.full((len(_OBJECT_COLUMNS), n), None, dtype=object)  # written in place through its rows
    city, province, status, matched, country = obj
    decided = np.zeros(n, dtype=bool)
    # the vectorised tiers: mainland (or no) hint, address present
    eligible = np.array([c in (None, "CN") for c in hint_ctry_u], dtype=bool)[h_codes]
    if arr.null_count:
        eligible &= pc.is_valid(arr).to_numpy(zero_copy_only=False)
    rows = eligible.nonzero()[0]
    if len(rows):
        # the text of each row as byte bounds into ``arr``'s data: a leading white space and a six-digit
        # postal code are cut by moving the row's first byte, nothing is copied
        data, start, end = _utf8_bounds(arr)
        start, end = start[rows], end[rows]
        start = _skip_space(arr, rows, data, start, end)
        start, pp_prov, pp_codes = _postal_codes(data, start, end)
        provinces = sorted({p for p in [*pp_prov, *hint_prov_u] if p})
        pos = {p: i for i, p in enumerate(provinces)}
        # constraint index: 0 none; 1 + i postal province i; 1 + P + i hint province i
        constraints = [(None, ""), *((p, _CONSTRAINT_LABELS[0]) for p in provinces), *((p, _CONSTRAINT_LABELS[1]) for p in provinces)]
        postal_c = np.array([1 + pos[p] if p else 0 for p in pp_prov] + [0], dtype="int64")[pp_codes]
        hint_c = np.array([1 + len(provinces) + pos[p] if p else 0 for p in hint_prov_u], dtype="int64")[
            h_codes[rows]
        ]
        cons = np.where(hint_c > 0, hint_c, postal_c)
        key_end = np.full(len(rows), -1, dtype=np.int64)  # the end of a longest key that does not decide
        out = _key_answers(n, rows, _key_hits(data, start, end, cons, constraints, key_end), city, province, matched)
        decided[out] = True
        rest_u = (~decided[rows]).nonzero()[0]
        if len(rest_u) > _PREFIX_MIN_ROWS:
            body = _utf8_rows(data, start[rest_u], end[rest_u])
            fast_city, fast_matched = _fast_cities(
                body, cons[rest_u], constraints, min_share=2, known=_chars_before(data, start[rest_u], key_end[rest_u])
            )
            got = pd.notna(fast_city).nonzero()[0]
            if len(got):
                out = rows[rest_u[got]]
                city[out] = fast_city[got]
                province[out] = np.array([c[:2] + "0000" for c in fast_city[got].tolist()], dtype=object)
                matched[out] = fast_matched[got]
                decided[out] = True
    country[decided] = "CN"
    status[decided] = "city"
    foreign = np.zeros(n, dtype=bool)
    rest = (~decided).nonzero()[0]
    if len(rest):  # one whole-address reading per remaining (distinct) pair
        words = _texts(arr, rest)
        seen: dict = {}  # a pair that repeats (rows read as they are: ``_looks_distinct``) is read once
        res = [
            seen[w, h] if (w, h) in seen else seen.setdefault((w, h), parse_address(w, *parsed[h]))
            for w, h in zip(words, h_codes[rest].tolist(), strict=True)
        ]
        for j, col in enumerate((city, province, country, status, matched)):
            col[rest] = np.array([r[j] for r in res] + [None], dtype=object)[:-1]
        foreign[rest] = np.array([r[3] == "foreign" for r in res], dtype=bool)
    return obj, foreign
