"""Build ``bench/data/address_eval_independent.csv``: real addresses whose city label comes from their source.

    python -m bench.address_eval_build REGISTRY UNIVERSITIES [--per-city K] [--out PATH]

``REGISTRY`` is a git clone of ``github.com/zhaoboy9692/add_corporate_information_daily_of_china``
(public business-registration records, 2019-07 to 2019-10, one Python-literal record per line). The
builder reads every ``*-data.txt`` file of ``HEAD`` with ``git show`` and keeps enterprises (unified
social credit code beginning with ``91``; sole traders, whose address is often a home, are dropped).
``UNIVERSITIES`` is a git clone of ``github.com/whr810012/uni-soket-ai``: ``util/universityList.js``
holds map-service records of universities and colleges (address, province, city, area); every record
with a postal address is kept, labelled by its ``city`` field matched by exact name to a prefecture
(``build_universities``).

The **label** is the source's own ``AreaCode`` (``'4111\\t411103'``: prefecture and county code), kept
only when its prefecture (first four digits) is that of the registering authority, which positions 3–8
of the unified social credit code carry (GB 32100-2015; 99 % of the enterprises agree). It is
mapped to the fixed city set through the code tables only — ``etl.cities.historical_units`` (the code as
it was in 2019, followed through later changes) or, for authority codes that are not in GB/T 2260
(``440399`` 前海, ``520199`` 双龙航空港), the prefecture code ``XXXX00`` through ``city_set().unit_to_city``.
A row is kept only when that city agrees with the source's ``City`` field (a prefecture name compared
with the gazetteer's name). Authorities directly under a province (``XX0000``), province-administered
county-level units (仙桃, 济源: no city of the set) and disagreements are dropped and counted, and so are
rows whose address begins (after an optional province) with the full name of *another* prefecture
(贵州省黔西南州兴义市… registered by 黔西县 of 毕节): there the source contradicts itself. citynet's
address parser is never run here.

**Categories** come from the text and the gazetteer's names only (never from a parser's output):

``full``              starts with the province (full or short name) then the prefecture (full, short or
                      ``X州``), or with a municipality (北京市…): the patent-style address
``province_county``   province, then the county-level unit, no prefecture (贵州省仁怀市…)
``province_other``    province, then neither (广东省前海…)
``prefecture_first``  starts with the prefecture, no province (深圳市南山区…)
``district_only``     starts with the district (name ending in 区), no province or prefecture
``bare_county``       starts with a county or county-level city (庆安县…, 井冈山市…)
``former_name``       names its county-level unit by a name no longer in use (黔西县, abolished 2021)
``other``             none of these at the start (a town, a zone, a street)
``traditional``       OpenCC ``s2t`` copies of every fourth row of the others, made by ``bench.address_eval``

Registry rows are chosen deterministically: within each category, rows are ordered by the SHA-1 of the address
and at most ``K`` rows per labelled city are kept (so Shenzhen, a third of the source, does not
dominate), with duplicates of an address dropped. Only the address, the source's codes and city name,
the label, the category and the source line are written — no names, people or credit codes.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
from citynet.etl.cities import MUNICIPALITIES, city_set, gazetteer, historical_units, short_name

OUT = Path(__file__).parent / "data" / "address_eval_independent.csv"
REPO = "https://github.com/zhaoboy9692/add_corporate_information_daily_of_china"
REPO_UNI = "https://github.com/whr810012/uni-soket-ai"


def read_source(mirror: Path) -> pd.DataFrame:
    """Every record of the mirror's ``HEAD`` (file, line, address, area code, city, province, credit code)."""
    git = ["git", "--git-dir", str(mirror)] if (mirror / "HEAD").exists() else ["git", "-C", str(mirror)]
    names = subprocess.run(git + ["ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True,
                           check=True).stdout.split("\n")  # fmt: skip
    rows = []
    for name in sorted(n for n in names if n.endswith("-data.txt")):
        got = subprocess.run(git + ["show", f"HEAD:{name}"], capture_output=True)
        if got.returncode:  # a file whose blob the snapshot lacks
            continue
        for i, line in enumerate(got.stdout.decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            d = ast.literal_eval(line)
            rows.append((name, i, d.get("Address") or "", d.get("AreaCode") or "", d.get("City") or "",
                         d.get("Province") or "", d.get("CreditCode") or ""))  # fmt: skip
    return pd.DataFrame(rows, columns=["source_file", "line", "address", "area", "source_city", "source_province",
                                       "credit"])  # fmt: skip


def label_of(code: str, hist: pd.DataFrame, u2c: dict) -> str | None:
    """City-set code of a 2019 authority code, through the code tables only (None when not one city)."""
    rows = hist[(hist["code"] == code) & (hist["start"].astype(int) <= 2019)]
    rows = rows[(rows["end"] == "") | (rows["end"].replace("", "9999").astype(int) >= 2019)]
    if len(rows):
        cities = set().union(*rows["cities"])
        return next(iter(cities)) if len(cities) == 1 else None
    if code.endswith("0000"):
        return None
    return u2c.get(code[:4] + "00")


def _unit_forms(name: str) -> set[str]:
    """A county-level name and its common written forms: 务川仡佬族苗族自治县 → 务川县, 务川; 仁怀市 → 仁怀."""
    forms = {name}
    if name.endswith("自治县"):
        stem = short_name(name[:-1] + "州")  # the ethnic stems are those of 自治州
        forms |= {stem + "县", stem}
    elif name[-1] in "县市区旗" and len(name) >= 3:
        forms.add(name[:-1])
    return {f for f in forms if len(f) >= 2}


def names_of(hist: pd.DataFrame) -> tuple[dict, dict, dict, dict]:
    """Province names, prefecture names by city code, county-level forms by 2019 code, former names by city."""
    g = gazetteer()
    prov = {}
    for code, name in g.loc[g["rank"] == "province", ["code", "name"]].itertuples(index=False):
        prov[code[:2]] = {name, short_name(name)}
    pref: dict[str, set] = {}
    for code, name in g.loc[g["rank"] == "prefecture", ["code", "name"]].itertuples(index=False):
        if name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        s = short_name(name)
        pref.setdefault(code, set()).update({name, s} | ({s + "州"} if name.endswith("自治州") else set()))
    for code, name in MUNICIPALITIES.items():
        pref[code] = {name}
    unit: dict[str, set] = {}
    in_use = set(hist.loc[hist["status"] == "在用", "name"])
    former: dict[str, set] = {}
    for r in hist[hist["level"] == "县级"].itertuples(index=False):
        if int(r.start) <= 2019 and (r.end == "" or int(r.end) >= 2019):
            unit.setdefault(r.code, set()).update(_unit_forms(r.name))
        if r.status != "在用" and r.name not in in_use and len(r.name) >= 3:
            for c in r.cities:
                former.setdefault(c, set()).add(r.name)
    return prov, pref, unit, former


def category(addr: str, code: str, city: str, prov: dict, pref: dict, unit: dict, former: dict) -> str:
    """Category of one address by its beginning and the gazetteer's names (see the module docstring)."""
    units = sorted(unit.get(code, set()), key=len, reverse=True)
    if any(f in addr for f in former.get(city, ())):
        return "former_name"
    prefs = sorted(pref.get(city, set()), key=len, reverse=True)
    provs = sorted(prov.get(code[:2], set()), key=len, reverse=True)
    if city in MUNICIPALITIES and addr.startswith(MUNICIPALITIES[city]):
        return "full"
    for p in provs:
        if addr.startswith(p):
            rest = addr[len(p):]
            if any(rest.startswith(c) for c in prefs):
                return "full"
            if any(rest.startswith(u) for u in units if u[-1] in "县市区旗"):
                return "province_county"
            return "province_other"
    if any(addr.startswith(c) for c in prefs):
        return "prefecture_first"
    for u in units:
        if u[-1] in "县市区旗" and addr.startswith(u):
            return "district_only" if u.endswith("区") else "bare_county"
    return "other"


def leading_other_prefecture(addr: str, city: str, pref: dict, prov: dict) -> bool:
    """True when the address begins (after an optional province) with the full name of another prefecture."""
    lead = [p for names in prov.values() for p in names if addr.startswith(p)]
    rest = addr[max(map(len, lead), default=0):]
    return any(rest.startswith(n) for c, names in pref.items() if c != city for n in names if n[-1] in "市州盟区")


def build(mirror: Path, per_city: int) -> tuple[pd.DataFrame, Counter]:
    src = read_source(mirror)
    counts: Counter = Counter(records=len(src))
    src = src[src["credit"].str.startswith("91")].copy()
    counts["enterprises (credit code 91…)"] = len(src)
    src["address"] = src["address"].str.replace(r"\s+", "", regex=True)
    src["area_code"] = src["area"].str.split("\t").str[-1].str.strip()
    src = src[src["area_code"].str.fullmatch(r"\d{6}") & (src["address"].str.len() >= 4)]
    counts["with a 6-digit area code and an address"] = len(src)
    same = src["area_code"].str[:4] == src["credit"].str[2:6]
    counts["dropped: area code and credit-code authority in different prefectures"] = int((~same).sum())
    src = src[same]
    hist = historical_units()
    u2c = city_set().unit_to_city
    labels = {c: label_of(c, hist, u2c) for c in src["area_code"].unique()}
    src["city_code"] = src["area_code"].map(labels)
    counts["dropped: code gives no single city (province authority, 仙桃…)"] = int(src["city_code"].isna().sum())
    src = src[src["city_code"].notna()]
    g = gazetteer()
    pref_name = dict(g.loc[g["rank"] == "prefecture", ["code", "name"]].itertuples(index=False)) | MUNICIPALITIES
    agree = src["city_code"].map(pref_name) == src["source_city"]
    counts["dropped: source City field disagrees with the code"] = int((~agree).sum())
    src = src[agree]
    src = src.drop_duplicates("address")
    counts["distinct addresses kept as candidates"] = len(src)
    prov, pref, unit, former = names_of(hist)
    conflict = [leading_other_prefecture(a, c, pref, prov) for a, c in zip(src["address"], src["city_code"], strict=True)]
    counts["dropped: the address begins with another prefecture's name (label conflict)"] = int(sum(conflict))
    src = src[~pd.Series(conflict, index=src.index)]
    src["category"] = [category(a, c, t, prov, pref, unit, former)
                       for a, c, t in zip(src["address"], src["area_code"], src["city_code"], strict=True)]  # fmt: skip
    counts.update({f"candidates: {k}": v for k, v in src["category"].value_counts().items()})
    src["h"] = src["address"].map(lambda a: hashlib.sha1(a.encode("utf-8")).hexdigest())
    src = src.sort_values(["category", "h"])
    out = src.groupby(["category", "city_code"], sort=False).head(per_city)
    out = out.sort_values(["category", "h"]).assign(
        source="registry", source_ref=out["source_file"] + ":" + out["line"].astype(str)
    )
    return out[COLUMNS].reset_index(drop=True), counts


COLUMNS = ["address", "city_code", "category", "source", "area_code", "source_city", "source_province", "source_ref"]


def read_universities(mirror: Path) -> pd.DataFrame:
    """The Baidu-map records of ``util/universityList.js`` (name, address, province, city, area, uid)."""
    import json

    git = ["git", "--git-dir", str(mirror)] if (mirror / "HEAD").exists() else ["git", "-C", str(mirror)]
    text = subprocess.run(git + ["show", "HEAD:util/universityList.js"], capture_output=True, check=True).stdout
    text = text.decode("utf-8")
    return pd.DataFrame(json.loads(text[text.index("[") : text.rindex("]") + 1]))


def build_universities(mirror: Path) -> tuple[pd.DataFrame, Counter]:
    """Universities and colleges: the address as the map service gives it, labelled by its ``city``."""
    src = read_universities(mirror)
    counts: Counter = Counter(records=len(src))
    src["address"] = src["address"].fillna("").astype(str).str.replace(r"\s+", "", regex=True)
    src = src[~src["address"].str.contains(r"https?:|www\.|\.com|\.cn", regex=True) & (src["address"].str.len() >= 4)]
    counts["with a postal address (not empty, not a web address)"] = len(src)
    g = gazetteer()
    by_name = {n: c for c, n in g.loc[g["rank"] == "prefecture", ["code", "name"]].itertuples(index=False)}
    by_name |= {n: c for c, n in MUNICIPALITIES.items()}
    u2c = city_set().unit_to_city
    src["city_code"] = src["city"].map(lambda n: u2c.get(by_name.get(n, "")) or (by_name.get(n) if by_name.get(n) in MUNICIPALITIES else None))
    counts["dropped: city not a prefecture of the city set"] = int(src["city_code"].isna().sum())
    src = src[src["city_code"].notna()]
    county = g[g["rank"] == "county"]
    area_code = {}
    for code, name in county[["code", "name"]].itertuples(index=False):
        area_code[(u2c.get(code), name)] = code
    src["area_code"] = [area_code.get((c, a), "") for c, a in zip(src["city_code"], src["area"], strict=True)]
    src = src.drop_duplicates("address")
    counts["distinct addresses"] = len(src)
    hist = historical_units()
    prov, pref, unit, former = names_of(hist)
    for code, name in county[["code", "name"]].itertuples(index=False):  # today's units (the map is recent)
        unit.setdefault(code, set()).update(_unit_forms(name))
    conflict = [leading_other_prefecture(a, c, pref, prov) for a, c in zip(src["address"], src["city_code"], strict=True)]
    counts["dropped: the address begins with another prefecture's name (label conflict)"] = int(sum(conflict))
    src = src[~pd.Series(conflict, index=src.index)]
    src["category"] = [category(a, ac or c, c, prov, pref, unit, former)
                       for a, ac, c in zip(src["address"], src["area_code"], src["city_code"], strict=True)]  # fmt: skip
    counts.update({f"kept: {k}": v for k, v in src["category"].value_counts().items()})
    out = src.assign(source="universities", source_city=src["city"], source_province=src["province"],
                     source_ref="uid " + src["uid"].astype(str))  # fmt: skip
    out["h"] = out["address"].map(lambda a: hashlib.sha1(a.encode("utf-8")).hexdigest())
    return out.sort_values(["category", "h"])[COLUMNS].reset_index(drop=True), counts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.address_eval_build", description=__doc__.split("\n\n")[0])
    ap.add_argument("registry", type=Path, help=f"a git clone (or bare git directory) of {REPO}")
    ap.add_argument("universities", type=Path, help=f"a git clone (or bare git directory) of {REPO_UNI}")
    ap.add_argument("--per-city", type=int, default=15, help="registry rows per category and labelled city (default 15)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    reg, c_reg = build(args.registry, args.per_city)
    uni, c_uni = build_universities(args.universities)
    out = pd.concat([reg, uni], ignore_index=True)
    out.to_csv(args.out, index=False, encoding="utf-8")
    for name, counts in (("registry", c_reg), ("universities", c_uni)):
        for k, v in counts.items():
            print(f"{name}: {k}: {v:,}")
    print(f"written {len(out):,} rows to {args.out}:", out.groupby(["source", "category"]).size().to_dict())


if __name__ == "__main__":
    main()
