"""The fixed city set: prefecture-level units of mainland China, from the gazetteer shipped in ``cpca``.

The gazetteer (GB/T 2260 codes with coordinates, vintage about 2018) is turned into one fixed set of
cities for a whole panel: the four municipalities under their province code (``110000``), every
prefecture-level unit (codes ``xxyy00``), and a crosswalk that folds renamed or merged units into the
unit that exists today (莱芜 → 济南 2019, 襄樊 → 襄阳 2010, 巢湖 split 2011, …).

County-level units directly administered by a province (仙桃, 济源, Hainan's counties, Xinjiang's
corps cities) are not prefecture-level; they are not in the city set, and applicants located there are
recorded as ``province_only`` unless the crosswalk names a prefecture for them (定州 → 保定,
辛集 → 石家庄).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import pandas as pd

MUNICIPALITIES = {"110000": "北京市", "120000": "天津市", "310000": "上海市", "500000": "重庆市"}
EXCLUDED_PROVINCES = {"71", "81", "82"}  # Taiwan, Hong Kong, Macao: outside the mainland city set

PROVINCIAL_CAPITALS = {
    "130100", "140100", "150100", "210100", "220100", "230100", "320100", "330100", "340100", "350100",
    "360100", "370100", "410100", "420100", "430100", "440100", "450100", "460100", "510100", "520100",
    "530100", "540100", "610100", "620100", "630100", "640100", "650100",
}
SUB_PROVINCIAL = {
    "230100", "220100", "210100", "210200", "370100", "370200", "320100", "330100", "330200", "350200",
    "420100", "440100", "440300", "510100", "610100",
}
REGION_BY_PROVINCE = {
    **dict.fromkeys(["11", "12", "13", "31", "32", "33", "35", "37", "44", "46"], "east"),
    **dict.fromkeys(["14", "34", "36", "41", "42", "43"], "central"),
    **dict.fromkeys(["15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"], "west"),
    **dict.fromkeys(["21", "22", "23"], "northeast"),
}

# Units of the gazetteer (or of older exports) that belong to another prefecture of the fixed set.
# old code -> (new code, year of the change, note)
CROSSWALK_CODES: dict[str, tuple[str, int, str]] = {
    "371200": ("370100", 2019, "莱芜市 merged into 济南市 (2019)"),
    "371202": ("370100", 2019, "莱城区 (莱芜) now in 济南市"),
    "371203": ("370100", 2019, "钢城区 (莱芜) now in 济南市"),
    "341400": ("340100", 2011, "巢湖市 (prefecture) abolished 2011; its seat went to 合肥市"),
    "139001": ("130600", 0, "定州市 (directly administered) counted with 保定市"),
    "139002": ("130100", 0, "辛集市 (directly administered) counted with 石家庄市"),
}
# Historical names that no longer appear in the gazetteer -> code of today's unit.
HISTORICAL_NAMES: dict[str, str] = {
    "襄樊市": "420600",
    "襄樊": "420600",
    "莱芜市": "370100",
    "莱芜": "370100",
    "巢湖市": "340100",
    "思茅市": "530800",  # renamed 普洱市 2007
    "思茅": "530800",
    "巢湖地区": "340100",
    "无为县": "340200",  # 巢湖 split 2011: 无为 to 芜湖
    "和县": "340500",  # 巢湖 split 2011: 和县, 含山 to 马鞍山
    "含山县": "340500",
    "庐江县": "340100",
    "居巢区": "340100",
    "通什市": "469001",
    "北碚": "500000",
}


def gazetteer_path() -> str:
    """``cpca``'s ``resources/adcodes.csv``, found without importing cpca (its import builds its matcher:
    0.3–0.7 s that every command reading the city set paid)."""
    import importlib.util

    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("cpca (the gazetteer citynet's city set comes from) is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "resources", "adcodes.csv")


@functools.cache
def gazetteer() -> pd.DataFrame:
    """All units of the ``cpca`` gazetteer: ``code`` (6 digits), ``name``, ``lon``, ``lat``, ``rank``."""
    raw = pd.read_csv(gazetteer_path(), dtype=str)
    g = pd.DataFrame(
        {
            "code": raw["adcode"].str[:6],
            "name": raw["name"].str.strip(),
            "lon": pd.to_numeric(raw["longitude"], errors="coerce"),
            "lat": pd.to_numeric(raw["latitude"], errors="coerce"),
        }
    )
    g["rank"] = "county"
    g.loc[g["code"].str.endswith("00"), "rank"] = "prefecture"
    g.loc[g["code"].str.endswith("0000"), "rank"] = "province"
    g = g[~g["code"].str[:2].isin(EXCLUDED_PROVINCES)]
    return g.drop_duplicates("code").sort_values("code").reset_index(drop=True)


def short_name(name: str) -> str:
    """Drop the administrative suffix: 南京市 → 南京, 内蒙古自治区 → 内蒙古, 延边朝鲜族自治州 → 延边."""
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市", "地区", "盟"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    if name.endswith("自治州"):
        stem = name[: -len("自治州")]
        stripped = True
        while stripped:
            stripped = False
            for ethnic in sorted(_ETHNIC, key=len, reverse=True):
                for tail in (ethnic + "族", ethnic):
                    if stem.endswith(tail) and len(stem) - len(tail) >= 2:
                        stem, stripped = stem[: -len(tail)], True
                        break
                if stripped:
                    break
        return stem
    return name


_ETHNIC = (
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克",
    "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔",
    "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯",
    "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)


@dataclass(frozen=True)
class CitySet:
    cities: pd.DataFrame  # one row per city of the fixed set (canonical table `cities`)
    unit_to_city: dict[str, str]  # any gazetteer code (province excluded) -> city_code, where defined

    @property
    def codes(self) -> list[str]:
        return self.cities["city_code"].tolist()

    def __len__(self) -> int:
        return len(self.cities)


def _tier(code: str) -> str:
    if code in MUNICIPALITIES:
        return "municipality"
    if code in SUB_PROVINCIAL:
        return "sub_provincial"
    if code in PROVINCIAL_CAPITALS:
        return "provincial_capital"
    return "prefecture"


@functools.cache
def city_set() -> CitySet:
    """The fixed set of prefecture-level cities with coordinates, tier and region."""
    g = gazetteer()
    prov = g[g["rank"] == "province"].set_index("code")
    pref = g[(g["rank"] == "prefecture") & g["lon"].notna()]
    pref = pref[~pref["code"].str[:2].isin([c[:2] for c in MUNICIPALITIES])]
    pref = pref[~pref["code"].isin(CROSSWALK_CODES)]
    rows = []
    for code, name in MUNICIPALITIES.items():
        p = prov.loc[code]
        rows.append((code, name, float(p["lon"]), float(p["lat"])))
    rows += list(pref[["code", "name", "lon", "lat"]].itertuples(index=False, name=None))
    cities = pd.DataFrame(rows, columns=["city_code", "name_zh", "lon", "lat"])
    cities["province_code"] = cities["city_code"].str[:2] + "0000"
    cities["province_zh"] = cities["province_code"].map(prov["name"])
    cities["tier"] = cities["city_code"].map(_tier)
    cities["region"] = cities["city_code"].str[:2].map(REGION_BY_PROVINCE)
    cities["short_name"] = cities["name_zh"].map(short_name)
    cities = cities.sort_values("city_code").reset_index(drop=True)
    cities = cities[
        ["city_code", "name_zh", "short_name", "province_code", "province_zh", "lon", "lat", "tier", "region"]
    ]

    codes = set(cities["city_code"])
    unit_to_city: dict[str, str] = {}
    for code in g.loc[g["rank"] != "province", "code"]:
        if code in CROSSWALK_CODES:
            unit_to_city[code] = CROSSWALK_CODES[code][0]
        elif code[:2] + "0000" in MUNICIPALITIES:
            unit_to_city[code] = code[:2] + "0000"
        elif code[:4] + "00" in codes:
            unit_to_city[code] = code[:4] + "00"
        elif code[:4] + "00" in CROSSWALK_CODES:
            unit_to_city[code] = CROSSWALK_CODES[code[:4] + "00"][0]
    for code in MUNICIPALITIES:
        unit_to_city[code] = code
    return CitySet(cities=cities, unit_to_city=unit_to_city)


EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(lon1, lat1, lon2, lat2):
    """Great-circle distance in km: ``2R·asin(√(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))``, R = 6371.0088.

    Works element-wise on NumPy arrays; this one formula serves synth, metrics and analysis so that
    the planted distance decay and the estimated one use the same distances.
    """
    import numpy as np

    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(x, dtype=float)) for x in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def distance_matrix_km(cities: pd.DataFrame | None = None):
    """N×N haversine distances between the cities of the city set, in ``city_code`` order."""
    import numpy as np

    c = city_set().cities if cities is None else cities
    lon, lat = c["lon"].to_numpy(), c["lat"].to_numpy()
    return haversine_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :]) * (1 - np.eye(len(c)))


# --- forty years of county-level history ---------------------------------------------------------------
HISTORY_FILE = os.path.join(os.path.dirname(__file__), "data", "areacodes_history.csv")
# 伊犁哈萨克自治州 contains 塔城地区 and 阿勒泰地区 (a prefecture inside an autonomous prefecture): its
# name is consistent with all three cities; alone it means its own seat (伊宁, 654000).
NESTED_PREFECTURES: dict[str, tuple[str, ...]] = {"伊犁哈萨克自治州": ("654000", "654200", "654300")}
NESTED_DEFAULT: dict[str, str] = {"伊犁哈萨克自治州": "654000"}


@functools.cache
def area_history() -> pd.DataFrame:
    """Every province-, prefecture- and county-level code since 1981 (``etl/data/areacodes_history.csv``).

    Columns: ``code``, ``province``, ``parent`` (the prefecture's name when the record was in use, or
    ``直辖``), ``name``, ``level`` (省级/地级/县级), ``status`` (在用 in use, 弃用 abolished, 变更 changed),
    ``start``, ``end`` (years; the record is in use from ``start`` to ``end`` exclusive) and ``new``
    (the codes that took over its area, ``;``-separated). Source: yescallop/areacodes (CC0), compiled
    from the Ministry of Civil Affairs' yearly code tables and change notices; see PROVENANCE.md.
    """
    raw = pd.read_csv(HISTORY_FILE, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    raw.columns = ["code", "province", "parent", "name", "level", "status", "start", "end", "new"]
    return raw


def _city_of_code(code: str) -> str | None:
    cs = city_set()
    codes = _city_codes()
    if code in cs.unit_to_city:
        return cs.unit_to_city[code]
    if code[:2] + "0000" in MUNICIPALITIES:
        return code[:2] + "0000"
    if code[:4] + "00" in codes:
        return code[:4] + "00"
    if code[:4] + "00" in CROSSWALK_CODES:
        return CROSSWALK_CODES[code[:4] + "00"][0]
    return None


def abolished_code_notes(codes) -> dict[str, str]:
    """For each 6-digit code that is no unit in use but a former one of the history (§1.4a, ``historical_units``):
    what became of it, for a message — ``341400`` → ``341400 is 巢湖市, abolished in 2011; its area is now split
    among 合肥市, 芜湖市, 马鞍山市``. Codes in use, or unknown to the history, are left out."""
    h = historical_units()
    h = h[h["code"].isin(set(codes))]
    names = city_set().cities.set_index("city_code")["name_zh"].to_dict()
    out: dict[str, str] = {}
    for code, recs in h.groupby("code", sort=True):
        last = recs.sort_values("start").iloc[-1]
        cities = [names[c] for c in last["cities"] if c in names]
        if (recs["status"] == "在用").any() or not cities:
            continue
        what = "abolished" if last["status"] == "弃用" else "replaced"
        where = (f"its area is now split among {', '.join(cities)}" if len(cities) > 1
                 else f"its area is now in {cities[0]}")
        out[code] = f"{code} is {last['name']}, {what} in {last['end']}; {where}"
    return out


@functools.cache
def _city_codes() -> frozenset[str]:
    return frozenset(city_set().codes)


@functools.cache
def historical_units() -> pd.DataFrame:
    """Every prefecture- and county-level record since 1981 with the cities of today's set it lies in.

    Rule: a record in use maps to its own prefecture (``_city_of_code``); an abolished or changed
    record follows its ``new`` codes (撤县设市 萧山县 → 萧山市 → 萧山区 → 杭州; 柳州地区忻城县 → 来宾市忻城县 →
    来宾) to the records in use today; a prefecture-level record without ``new`` codes (a 地区 turned
    into a 地级市, 柳州地区) takes the cities of its former counties. A record whose area went to
    several cities (a split) keeps them all. Directly administered county-level units give ``None``
    (province only). Columns: ``code``, ``name``, ``level``, ``status``, ``start``, ``end``,
    ``province_code``, ``cities`` (tuple of city codes and/or None).
    """
    h = area_history()
    recs = list(h.itertuples(index=False))
    latest = {r.code: r for r in sorted(recs, key=lambda r: (r.code, r.start))}

    def new_codes(rec) -> list[str]:
        return [t.split("[")[0].strip() for t in rec.new.split(";") if t.strip()]

    memo: dict[str, frozenset[str]] = {}

    def targets(code: str, depth: int = 0) -> frozenset[str]:
        if code in memo:
            return memo[code]
        rec = latest.get(code)
        if rec is None or depth > 12:
            return frozenset()
        if rec.status == "在用":
            out = frozenset([code])
        else:
            out = frozenset().union(*[targets(c, depth + 1) if c != code else {code} for c in new_codes(rec)])
        memo[code] = out
        return out

    def record_targets(rec) -> frozenset[str]:
        if rec.status == "在用":
            return frozenset([rec.code])
        return frozenset().union(*[targets(c) for c in new_codes(rec)])

    kids: dict[tuple[str, str], list] = {}
    for rec in recs:
        if rec.level == "县级":
            kids.setdefault((rec.province, rec.parent), []).append(rec)
    rows = []
    for rec in recs:
        if rec.level == "省级":
            continue
        tg = record_targets(rec)
        cities = {_city_of_code(c) for c in tg}
        if rec.level == "地级" and (not tg or cities == {None}):
            for kid in kids.get((rec.province, rec.name), []):
                cities |= {_city_of_code(c) for c in record_targets(kid)}
            if len(cities) > 1:
                cities.discard(None)
        if rec.name in NESTED_PREFECTURES:
            cities |= set(NESTED_PREFECTURES[rec.name])
        if not cities:
            continue
        rows.append((rec.code, rec.name, rec.level, rec.status, rec.start, rec.end, rec.code[:2] + "0000",
                     tuple(sorted(cities, key=lambda c: c or ""))))
    return pd.DataFrame(rows, columns=["code", "name", "level", "status", "start", "end", "province_code", "cities"])


def _year_span(start: str, end: str) -> tuple[int, int]:
    """A record's years ``[start, end)`` as numbers (``end`` blank: in use, 9999)."""
    return int(start or 0), int(end or 9999)


@functools.cache
def _former_prefectures() -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Former prefecture-level code with one city X of today's set → (X, the other prefecture-level codes whose
    records held X while it was in use); a code of several cities (a split) is left out."""
    h = historical_units()
    pref = h[h["level"] == "地级"]
    spans = [_year_span(s, e) for s, e in zip(pref["start"], pref["end"], strict=True)]
    pref = pref.assign(s=[a for a, _ in spans], e=[b for _, b in spans])
    gone = pref[pref["code"].isin(former_prefecture_codes())]
    out: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    for code, recs in gone.groupby("code", sort=True):
        cities = set().union(*recs["cities"])
        if len(cities) != 1 or None in cities or next(iter(cities)) not in _city_codes():
            continue
        x = next(iter(cities))
        s, e = recs["s"].min(), recs["e"].max()
        other = pref[(pref["code"] != code) & pref["cities"].map(lambda t, x=x: x in t) & (pref["s"] < e) & (pref["e"] > s)]
        out[code] = (x, tuple(sorted(set(other["code"]))))
    return out


def prefecture_successors() -> dict[str, str]:
    """Former prefecture-level codes that are one city of today's set as a whole (a rename or an upgrade with a
    new code): ``532700`` 思茅地区 → ``530800`` 普洱市 (地区 → 地级思茅市 2003, renamed 普洱 2007).

    Rule, on :func:`historical_units`: the code has no record in use and is not a city's code; its records'
    ``cities`` are one city X; and no other prefecture-level record whose ``cities`` hold X was in use in any
    year the code was (else X was made of it *and* another unit: a merge, 莱芜 → 济南 2019, or a 1983 地市合并
    such as 南通地区 → 南通市: :func:`prefecture_merges`; a split, 巢湖, has several cities). Counties moved
    between prefectures that stay in use are not seen (the ordinary boundary changes of any code in use)."""
    return {code: x for code, (x, other) in _former_prefectures().items() if not other}


def prefecture_merges() -> dict[str, tuple[str, ...]]:
    """Former prefecture-level codes of one city today that was also made of other prefecture-level units in
    their years (:func:`prefecture_successors`): ``322500`` 南通地区 → (``320600`` 南通市,) (地市合并 1983);
    ``371200`` 莱芜市 → (``370100`` 济南市, ``372400`` 德州地区)."""
    return {code: other for code, (_, other) in _former_prefectures().items() if other}


@functools.cache
def former_prefecture_codes() -> frozenset[str]:
    """Prefecture-level codes of the history (§1.4a) with no record in use that are no city of the set."""
    h = historical_units()
    inuse = set(h.loc[h["status"] == "在用", "code"]) | _city_codes()
    return frozenset(h.loc[(h["level"] == "地级") & ~h["code"].isin(inuse), "code"])


@functools.cache
def _records_by_name() -> dict[str, list[tuple[str, str, int, int, bool]]]:
    """Unit name → its records ``(code, level, start, end, in use)``: every record's full name, and a
    prefecture-level record's short name (思茅地区 → 思茅)."""
    out: dict[str, list] = {}
    for r in historical_units().itertuples(index=False):
        rec = (r.code, r.level, *_year_span(r.start, r.end), r.status == "在用")
        keys = {r.name} | ({short_name(r.name)} if r.level == "地级" else set())
        for key in keys:
            out.setdefault(key, []).append(rec)
    return out


def unit_of_name(name: str, year: float | None = None) -> tuple[str, bool] | None:
    """The code a unit's name stood for in ``year``, and whether that record is still in use: ``巢湖市`` in 2005 →
    (``341400``, False), the prefecture; in 2015 → (``340181``, True), the county-level city of 合肥. Records in use
    in the year first (a prefecture's over a county-level unit's), then the records in use today, then the last
    to end; two codes at the same step are no answer (鼓楼区). Today's city names are not looked up here."""
    recs = _records_by_name().get(name)
    if not recs:
        return None
    steps = []
    if year is not None and year == year:
        at = [r for r in recs if r[2] <= year < r[3]]
        steps += [[r for r in at if r[1] == "地级"], at]
    last = max(r[3] for r in recs)
    steps += [[r for r in recs if r[4]], [r for r in recs if r[3] == last]]
    for step in steps:
        codes = {r[0] for r in step}
        if len(codes) == 1:
            return next(iter(codes)), any(r[4] for r in step)
        if len(codes) > 1:
            return None
    return None
