"""The synthetic applicant population: names, kinds, true cities, sizes, addresses and noisy spellings.

Every applicant has one true city (foreign firms: none). Sizes are heavy-tailed,
``w ~ 1 + Pareto(1.2)`` (universities and institutes ×8), and an applicant is drawn for a patent of
city i with probability ``w_k / Σ_{l in city i} w_l`` within its pool (organisations, individuals),
independently of the year and of the policy, so which applicants the ETL fails to locate is
independent of ``low_carbon``.

Names carry their city most of the time (苏州瑞博科技有限公司, 南京理工大学,
中国科学院大连能源研究所); the rest (firms without a place in the name, 华东理工大学-style
universities) are large and therefore often first applicants, whose address locates them.
Deliberate hard cases (``hard_case``): ``county_city_only`` (address names only 昆山市 → 苏州),
``unique_district`` (address names only a district unique in China), ``street_other_city``
(南京市鼓楼区上海路…), ``historical`` (襄樊市 before 2010, 莱芜市 before 2019, 巢湖市 before 2011),
``other_city_in_name`` (北京瑞博科技(苏州)有限公司 located in 苏州), ``no_city_in_name``,
``no_postcode``.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from citynet.etl.cities import city_set, gazetteer, short_name
from citynet.etl.normalize import normalize_name
from citynet.etl.postal import postal_prefixes_of
from citynet.synth import vocab

KIND_FIRM, KIND_UNIVERSITY, KIND_INSTITUTE, KIND_INDIVIDUAL, KIND_FOREIGN = range(5)
KIND_NAMES = {0: "firm", 1: "university", 2: "institute", 3: "individual", 4: "firm"}
# (city code, old name, last year the old name is used, districts used by its applicants or None for all)
HISTORICAL = [
    ("420600", "襄樊市", 2009, None, 1.0),
    ("370100", "莱芜市", 2018, ["莱城区", "钢城区"], 0.08),
    ("340100", "巢湖市", 2010, ["居巢区"], 0.05),
]


@dataclass
class Population:
    name: np.ndarray  # clean display name (object)
    noisy: np.ndarray  # a noisy spelling with the same normalised key
    key: np.ndarray  # normalize_name(name)
    city: np.ndarray  # city index (int32), -1 foreign
    kind: np.ndarray  # int8 KIND_*
    weight: np.ndarray  # float64 size
    addr_new: np.ndarray  # address (object)
    addr_old: np.ndarray  # address under a historical name ("" if none)
    old_until: np.ndarray  # last year addr_old is used (0: never)
    guosheng: np.ndarray  # 国省代码, e.g. 江苏(32) or 日本(JP)
    hard_case: np.ndarray  # tag (object), "" for ordinary applicants

    def __len__(self) -> int:
        return len(self.name)


@functools.cache
def place_names() -> frozenset[str]:
    """Every place name (full and short, 2+ characters) of the gazetteer and the historical names."""
    g = gazetteer()
    names = set(g["name"]) | {short_name(n) for n in g["name"]} | {n.removesuffix("市") for n in g["name"]}
    names |= {"襄樊", "莱芜", "巢湖", "思茅"}
    return frozenset(n for n in names if len(n) >= 2)


def _has_place(s: str) -> bool:
    places = place_names()
    return any(s[i : i + n] in places for n in (2, 3, 4) for i in range(len(s) - n + 1))


@functools.cache
def _geo():
    """Per city: districts, county-level cities, unique districts (from the gazetteer)."""
    cs = city_set()
    g = gazetteer()
    county = g[(g["rank"] == "county") & (g["name"] != "市辖区") & g["lon"].notna()]
    counts = g["name"].value_counts()
    districts: dict[str, list[str]] = {}
    county_cities: dict[str, list[str]] = {}
    unique: dict[str, list[str]] = {}
    for code, name in county[["code", "name"]].itertuples(index=False):
        city = cs.unit_to_city.get(code)
        if city is None or code[:4] == "3712":  # 莱芜's districts are used by the historical case only
            continue
        districts.setdefault(city, []).append(name)
        if name.endswith("市"):
            county_cities.setdefault(city, []).append(name)
        elif counts[name] == 1 and name.endswith(("区", "县")) and len(name) >= 3 and not _has_place(name[:-1]):
            unique.setdefault(city, []).append(name)
    return districts, county_cities, unique


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def _choice(rng: np.random.Generator, items, n: int, p=None) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    arr[:] = list(items)
    return arr[rng.choice(len(items), n, p=p)]


_CHARS = np.array(vocab.FIRM_CHARS, dtype=object)


def _mids(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[str]:
    """Random 2–4 character name parts that contain no place name (redrawn until they do not)."""
    lens = rng.integers(lo, hi + 1, n)
    idx = rng.integers(0, len(_CHARS), (n, hi))
    out = ["".join(_CHARS[idx[k, : lens[k]]]) for k in range(n)]
    bad = [k for k, s in enumerate(out) if _has_place_cached(s)]
    while bad:
        for k in bad:
            out[k] = "".join(_CHARS[rng.integers(0, len(_CHARS), int(lens[k]))])
        bad = [k for k in bad if _has_place_cached(out[k])]
    return out


@functools.lru_cache(maxsize=1_000_000)
def _has_place_cached(s: str) -> bool:
    return _has_place(s)


def noisy_spelling(name: str, r: float, k: float) -> str:
    """A spelling that ``normalize_name`` maps to the same key (``r``, ``k`` uniform on [0, 1)): stray or
    full-width spaces, full-width Latin letters and brackets, other letter case, doubled spaces."""
    if name.isascii():
        if r < 0.35:
            return name.lower()
        if r < 0.7:
            return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in name)
        return name.replace(" ", "  ") + " "
    if r < 0.55 and len(name) > 2:
        cut = 1 + int(k * (len(name) - 2))
        return name[:cut] + " " + name[cut:]
    if r < 0.8:
        return " " + name + "\u3000"
    return name.replace("(", "（").replace(")", "）") if "(" in name else name + " "


def _org_names(rng, kind, prefix, short, n_city_shorts, tags) -> list[str]:
    n = len(kind)
    ind = _choice(rng, vocab.INDUSTRY, n)
    suf = _choice(rng, vocab.FIRM_SUFFIX, n, vocab.FIRM_SUFFIX_P)
    mid = _mids(rng, n, 2, 3)
    mid4 = _mids(rng, n, 2, 4)
    other = _choice(rng, n_city_shorts, n)
    uw = _choice(rng, vocab.UNI_WORDS, n)
    ur = _choice(rng, vocab.UNI_REGIONS, n)
    uni_tail = np.where(rng.random(n) < 0.6, "大学", "学院")
    field = _choice(rng, vocab.INSTITUTE_FIELDS, n)
    cas = rng.random(n) < 0.5
    out = []
    for k in range(n):
        t = tags[k]
        if kind[k] == KIND_FIRM:
            if t == "other_city_in_name":
                o = other[k] if other[k] != short[k] else "北京"
                out.append(f"{o}{mid[k]}{ind[k]}({short[k]}){suf[k]}")
            elif t == "no_city_in_name":
                out.append(f"{mid4[k]}{ind[k]}{suf[k]}")
            else:
                out.append(f"{prefix[k]}{mid[k]}{ind[k]}{suf[k]}")
        elif kind[k] == KIND_UNIVERSITY:
            out.append(f"{ur[k]}{uw[k]}大学" if t == "no_city_in_name" else f"{prefix[k]}{uw[k]}{uni_tail[k]}")
        else:
            out.append(f"中国科学院{prefix[k]}{field[k]}研究所" if cas[k] else f"{prefix[k]}{field[k]}研究院")
    return out


def _person_names(rng, n) -> list[str]:
    sur = _choice(rng, vocab.SURNAMES, n)
    g1 = _choice(rng, vocab.GIVEN, n)
    g2 = _choice(rng, vocab.GIVEN, n)
    two = rng.random(n) < 0.7
    return [f"{sur[k]}{g1[k]}{g2[k]}" if two[k] else f"{sur[k]}{g1[k]}" for k in range(n)]


def _foreign_names(rng, forms) -> list[str]:
    n = len(forms)
    syl = np.array(vocab.FOREIGN_SYLLABLES, dtype=object)
    jp = np.array(vocab.JP_CHARS, dtype=object)
    ls, lj = rng.integers(2, 4, n), rng.integers(2, 5, n)
    si, ji = rng.integers(0, len(syl), (n, 3)), rng.integers(0, len(jp), (n, 4))
    out = []
    for k in range(n):
        pattern = vocab.FOREIGN_FORMS[forms[k]][0]
        if pattern.startswith("株式会社"):
            out.append(pattern.format("".join(jp[ji[k, : lj[k]]])))
        else:
            out.append(pattern.format("".join(syl[si[k, : ls[k]]]).capitalize()))
    return out


def build_population(n_patents: int, slots: np.ndarray, seed: int) -> Population:
    """Applicants for a run of ``n_patents`` patents; ``slots[i]`` ∝ expected patents of city i."""
    rng = np.random.default_rng([seed, 5])
    cities = city_set().cities
    codes = cities["city_code"].to_numpy()
    shorts = cities["short_name"].to_numpy()
    n_city = len(codes)
    share = slots**0.9 / (slots**0.9).sum()
    n_org = int(0.05 * n_patents) + 400
    n_ind = int(0.035 * n_patents) + 200
    n_for = int(0.002 * n_patents) + 30
    org_city = np.concatenate([np.repeat(np.arange(n_city), 2), rng.choice(n_city, n_org, p=share)])
    ind_city = np.concatenate([np.arange(n_city), rng.choice(n_city, n_ind, p=share)])
    n_org, n_ind = len(org_city), len(ind_city)
    org_kind = rng.choice([KIND_FIRM, KIND_UNIVERSITY, KIND_INSTITUTE], n_org, p=[0.93, 0.03, 0.04]).astype(np.int8)

    # historical applicants and name tags
    code_to_hist = {h[0]: i for i, h in enumerate(HISTORICAL)}
    hist_of_city = np.array([code_to_hist.get(c, -1) for c in codes])
    hist_p = np.array([HISTORICAL[h][4] if h >= 0 else 0.0 for h in hist_of_city])
    org_hist = np.where(rng.random(n_org) < hist_p[org_city], hist_of_city[org_city], -1)
    ind_hist = np.where(
        np.array([HISTORICAL[h][3] is None if h >= 0 else False for h in hist_of_city])[ind_city],
        hist_of_city[ind_city],
        -1,
    )
    r = rng.random(n_org)
    tags = np.full(n_org, "", dtype=object)
    tags[org_hist >= 0] = "historical"
    firm = org_kind == KIND_FIRM
    tags[firm & (r < 0.005)] = "other_city_in_name"
    tags[firm & (r >= 0.005) & (r < 0.155) & (org_hist < 0)] = "no_city_in_name"
    tags[(org_kind == KIND_UNIVERSITY) & (r < 0.35) & (org_hist < 0)] = "no_city_in_name"
    prefix = np.array(
        [HISTORICAL[h][1].removesuffix("市") if h >= 0 and HISTORICAL[h][3] is not None else shorts[c]
         for c, h in zip(org_city, org_hist, strict=True)],
        dtype=object,
    )
    short = shorts[org_city]
    org_names = _org_names(rng, org_kind, prefix, short, shorts, tags)
    for_form_w = np.array([f[4] for f in vocab.FOREIGN_FORMS])
    for_form = rng.choice(len(vocab.FOREIGN_FORMS), n_for, p=for_form_w / for_form_w.sum())
    names = np.array(org_names + _person_names(rng, n_ind) + _foreign_names(rng, for_form), dtype=object)
    places = place_names()
    key = np.array([normalize_name(s) for s in names], dtype=object)
    is_person = np.zeros(len(names), dtype=bool)
    is_person[n_org : n_org + n_ind] = True
    for rnd in range(200):  # names must be unique (after normalisation); no person is called like a place
        dup = pd.Series(key).duplicated(keep="first").to_numpy().copy()
        dup |= is_person & np.array([s in places for s in names])
        if not dup.any():
            break
        idx = np.flatnonzero(dup)
        o, i, f = idx[idx < n_org], idx[(idx >= n_org) & (idx < n_org + n_ind)], idx[idx >= n_org + n_ind]
        if len(o):
            if rnd >= 3:  # few combinations left for universities and institutes of this city: longer names
                tags[o[tags[o] == "no_city_in_name"]] = ""
                prefix[o] = [p + m for p, m in zip(prefix[o], _mids(rng, len(o), 2, 2), strict=True)]
            names[o] = _org_names(rng, org_kind[o], prefix[o], short[o], shorts, tags[o])
        if len(i):
            names[i] = _person_names(rng, len(i))
        if len(f):
            names[f] = _foreign_names(rng, for_form[f - n_org - n_ind])
        key[idx] = [normalize_name(s) for s in names[idx]]
    hard = list(tags) + ["historical" if h >= 0 else "" for h in ind_hist] + ["foreign"] * n_for
    hist_tag = list(org_hist) + list(ind_hist) + [-1] * n_for

    n = len(names)
    city = np.concatenate([org_city, ind_city, np.full(n_for, -1)]).astype(np.int32)
    kind = np.concatenate([org_kind, np.full(n_ind, KIND_INDIVIDUAL), np.full(n_for, KIND_FOREIGN)]).astype(np.int8)
    weight = 1.0 + rng.pareto(1.2, n)
    weight = np.minimum(weight, 3000.0)
    weight[(kind == KIND_UNIVERSITY) | (kind == KIND_INSTITUTE)] *= 8.0
    weight[np.array([t == "no_city_in_name" for t in hard])] *= 3.0  # larger firms: more often first applicants

    addr_new, addr_old, old_until, guosheng, hard = _addresses(city, hist_tag, for_form, hard, rng)
    rr, kk = rng.random(n), rng.random(n)
    noisy = [noisy_spelling(s, rr[j], kk[j]) for j, s in enumerate(names)]
    noisy = np.array([v if normalize_name(v) == k else s for v, k, s in zip(noisy, key, names, strict=True)], dtype=object)
    return Population(
        name=names,
        noisy=noisy,
        key=key,
        city=city,
        kind=kind,
        weight=weight,
        addr_new=addr_new,
        addr_old=addr_old,
        old_until=old_until,
        guosheng=guosheng,
        hard_case=np.array(hard, dtype=object),
    )


def _province_tag(prov_code: str, prov_name: str) -> str:
    return f"{short_name(prov_name)}({prov_code[:2]})"


def _addresses(city, hist_tag, for_form, hard, rng):
    cities = city_set().cities
    codes = cities["city_code"].to_numpy()
    names = cities["name_zh"].to_numpy()
    provs = cities["province_zh"].to_numpy()
    prov_codes = cities["province_code"].to_numpy()
    shorts = cities["short_name"].to_numpy()
    districts, county_cities, unique = _geo()
    n = len(city)
    addr_new = np.empty(n, dtype=object)
    addr_old = np.full(n, "", dtype=object)
    old_until = np.zeros(n, dtype=np.int16)
    gs = np.empty(n, dtype=object)
    hard = list(hard)
    tags = [_province_tag(pc, pv) for pc, pv in zip(prov_codes, provs, strict=True)]
    prefixes = [postal_prefixes_of(pc) or ["10"] for pc in prov_codes]
    u = rng.random((n, 8))
    number = rng.integers(1, 999, n)
    wide = rng.random(n) < 0.03
    fi = 0
    for k in range(n):
        ci = city[k]
        uk = u[k]
        if ci < 0:
            form = vocab.FOREIGN_FORMS[for_form[fi]]
            fi += 1
            road = ("中央大街", "第一大道", "工业园区", "科学路")[int(uk[0] * 4)]
            addr_new[k] = f"{form[3]}{road}{number[k]}号"
            gs[k] = form[2]
            continue
        code = codes[ci]
        gs[k] = tags[ci]
        muni = code.endswith("0000")
        prov = "" if muni else provs[ci]
        pre = prefixes[ci]
        postal = f"{pre[int(uk[0] * len(pre))]}{int(uk[1] * 100):02d}00"
        dlist = districts.get(code) or [""]
        district = dlist[int(uk[2] * len(dlist))]
        street = vocab.STREETS[int(uk[3] * len(vocab.STREETS))]
        num = str(number[k])
        if wide[k]:
            num = "".join(chr(ord(ch) + 0xFEE0) for ch in num)  # full-width digits
        tail = f"{num}{vocab.ADDRESS_TAILS[int(uk[4] * len(vocab.ADDRESS_TAILS))]}"
        h = hist_tag[k]
        r = uk[5]
        body = f"{prov}{names[ci]}{district}{street}{tail}"
        if h >= 0:
            code_h, old, last, dl, _ = HISTORICAL[h]
            district = dl[int(uk[2] * len(dl))] if dl else district
            if code_h == "340100":  # 巢湖 (prefecture until 2011) → 巢湖市, a county-level city of 合肥
                body = f"{prov}{names[ci]}巢湖市{street}{tail}"
            else:
                body = f"{prov}{names[ci]}{district}{street}{tail}"
            addr_old[k] = f"{postal}{prov}{old}{district}{street}{tail}"
            old_until[k] = last
            hard[k] = "historical"
        elif r < 0.12:
            body = f"{names[ci]}{district}{street}{tail}"
        elif r < 0.20 and county_cities.get(code):
            cl = county_cities[code]
            body = f"{prov if uk[6] < 0.5 else ''}{cl[int(uk[7] * len(cl))]}{street}{tail}"
            hard[k] = hard[k] or "county_city_only"
        elif r < 0.24 and unique.get(code):
            ul = unique[code]
            body = f"{ul[int(uk[7] * len(ul))]}{street}{tail}"
            hard[k] = hard[k] or "unique_district"
        elif r < 0.28 and not muni:
            other = shorts[int(uk[7] * len(shorts))]
            if other != shorts[ci]:
                body = f"{prov}{names[ci]}{district}{other}路{tail}"
                hard[k] = hard[k] or "street_other_city"
        if uk[6] < 0.08 and h < 0 and not hard[k]:
            addr_new[k] = body
            hard[k] = "no_postcode"
        else:
            addr_new[k] = f"{postal}{body}"
    return addr_new, addr_old, old_until, gs, hard


class Sampler:
    """Weighted draw of an applicant of a given city from a sub-population (vectorised)."""

    def __init__(self, members: np.ndarray, city: np.ndarray, weight: np.ndarray, n_city: int):
        order = np.lexsort((members, city[members]))
        self.ids = members[order]
        c = city[self.ids]
        cum = np.concatenate([[0.0], np.cumsum(weight[self.ids])])
        self.cum = cum[1:]
        starts = np.searchsorted(c, np.arange(n_city), "left")
        ends = np.searchsorted(c, np.arange(n_city), "right")
        self.lo, self.hi, self.ends, self.empty = cum[starts], cum[ends], ends, ends == starts

    def draw(self, rng: np.random.Generator, cities: np.ndarray) -> np.ndarray:
        """One applicant id per entry of ``cities`` (-1 where the city has no member)."""
        cities = np.asarray(cities)
        u = rng.random(len(cities))
        target = self.lo[cities] + u * (self.hi[cities] - self.lo[cities])
        k = np.searchsorted(self.cum, target, side="right")
        k = np.minimum(k, np.maximum(self.ends[cities] - 1, 0))
        out = self.ids[k]
        out[self.empty[cities]] = -1
        return out


def population_frame(pop: Population) -> pd.DataFrame:
    """The population as a table (for tests and inspection)."""
    codes = city_set().cities["city_code"].to_numpy()
    return pd.DataFrame(
        {
            "name": pop.name,
            "key": pop.key,
            "city_code": np.where(pop.city >= 0, codes[np.maximum(pop.city, 0)], None),
            "kind": pd.Series(pop.kind).map(KIND_NAMES),
            "hard_case": pop.hard_case,
        }
    )


def nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)
