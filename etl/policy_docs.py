"""Policy documents → ``canonical/policy_docs.parquet`` (one row per policy), for the policy-synergy
indices of paper 002 (``citynet ingest --policies FILE``).

Input: CSV or XLSX, one row per policy document, headers in English or Chinese:

=============  ===========================================  ==========================================
column         header names                                  content
=============  ===========================================  ==========================================
province       province, 省份, 省, 地区                        name (广东省 / 广东) or 6-digit code
city           city, 城市, 地市 (instead of province)          prefecture name or code → its province
year           year, 年份, 发文年份, 年                        issuing year
bodies         bodies, issuing_bodies, 发文机构, 发文单位,       number of issuing bodies, or their names
               发文部门, 联合发文单位                            separated by ; ； 、 , ， / or spaces
tools          tools, tool_classes, 政策工具, 工具类型          supply / demand / environment (or 供给型 /
                                                             需求型 / 环境型), several separated as above
text           text, 政策文本, 标题, 政策名称, 内容              used only when ``tools`` is empty: the
                                                             keyword dictionary below assigns classes
=============  ===========================================  ==========================================

Keyword dictionary (Rothwell & Zegveld 1985 tool classes, as coded in the Chinese policy-tool
literature; a class is assigned when any of its keywords occurs in the text) — ``TOOL_KEYWORDS``.
Rows without a province, year, body count or tool class are quarantined to
``quarantine/policy_docs.csv`` (file, row, field, reason); rows read = loaded + quarantined. So are rows of a
year before ``FIRST_YEAR`` (1949, the People's Republic: no policy of its provinces is older) or after the
current year (``year_out_of_range``: 1815 is a typing slip, not a policy), and rows whose tools cell names a
class none of supply / demand / environment beside a known one (``unknown_tool_class``, naming it: its
dropping would lower ``gjs`` without a word).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from citynet.csvfile import write_csv

TOOL_CLASSES = ("supply", "demand", "environment")
TOOL_ALIASES = {"supply": "supply", "供给": "supply", "供给型": "supply", "demand": "demand", "需求": "demand",
                "需求型": "demand", "environment": "environment", "environmental": "environment", "环境": "environment",
                "环境型": "environment"}
TOOL_KEYWORDS = {
    "supply": ("人才", "培训", "资金投入", "科技投入", "专项资金", "基础设施", "信息服务", "技术支持", "研发", "平台建设",
               "公共服务", "科技服务"),
    "demand": ("政府采购", "采购", "示范", "试点", "应用推广", "推广应用", "外包", "贸易", "消费", "市场培育"),
    "environment": ("税收", "税费", "减免", "金融", "贷款", "融资", "法规", "管理办法", "标准", "规划", "目标",
                    "知识产权", "考核", "监管"),
}
HEADERS = {
    "province": ("province", "省份", "省", "地区", "省区市"),
    "city": ("city", "城市", "地市", "市"),
    "year": ("year", "年份", "发文年份", "年"),
    "bodies": ("bodies", "issuing_bodies", "n_bodies", "发文机构", "发文单位", "发文部门", "联合发文单位", "发文主体"),
    "tools": ("tools", "tool_classes", "政策工具", "工具类型", "政策工具类型"),
    "text": ("text", "政策文本", "标题", "政策名称", "内容", "title"),
}
_SPLIT = re.compile(r"[;；、,，/\s|]+")
FIRST_YEAR = 1949  # the earliest plausible year of a provincial policy document (People's Republic)


def _columns(raw: pd.DataFrame) -> dict[str, str]:
    found = {}
    lower = {str(c).strip().lower(): c for c in raw.columns}
    for key, names in HEADERS.items():
        for n in names:
            if n.lower() in lower:
                found[key] = lower[n.lower()]
                break
    return found


def _province_lookup() -> tuple[dict[str, str], dict[str, str]]:
    from citynet.etl.cities import city_set

    c = city_set().cities
    prov: dict[str, str] = {}
    for code, name in c[["province_code", "province_zh"]].drop_duplicates().itertuples(index=False):
        if not isinstance(name, str):
            continue
        prov[code] = code
        prov[name] = code
        short = re.sub(r"(省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)$", "", name)
        prov[short] = code
    city: dict[str, str] = {}
    for code, name, short, p in c[["city_code", "name_zh", "short_name", "province_code"]].itertuples(index=False):
        for k in (code, name, short):
            if isinstance(k, str):
                city[k] = p
    return prov, city


def tool_classes(tools: str | None, text: str | None) -> list[str]:
    """Classes from the ``tools`` cell, else from the text by ``TOOL_KEYWORDS`` (sorted, unique)."""
    out = set()
    if tools and str(tools).strip():
        for part in _SPLIT.split(str(tools).strip()):
            k = TOOL_ALIASES.get(part.strip().lower()) or TOOL_ALIASES.get(part.strip())
            if k:
                out.add(k)
        return sorted(out)
    if text:
        for cls, words in TOOL_KEYWORDS.items():
            if any(w in str(text) for w in words):
                out.add(cls)
    return sorted(out)


def unknown_tools(tools: str | None) -> list[str]:
    """The parts of a ``tools`` cell that are no tool class (``TOOL_ALIASES``), in the order written."""
    if not tools or not str(tools).strip():
        return []
    parts = [p.strip() for p in _SPLIT.split(str(tools).strip()) if p.strip()]
    return [p for p in parts if not (TOOL_ALIASES.get(p.lower()) or TOOL_ALIASES.get(p))]


def count_bodies(cell: str | None) -> int | None:
    """A number, or the count of distinct names separated by ; 、 , / or spaces."""
    if cell is None or not str(cell).strip():
        return None
    s = str(cell).strip()
    if re.fullmatch(r"\d+(\.0+)?", s):
        return int(float(s))
    return len({p for p in _SPLIT.split(s) if p})


def read_policy_docs(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(loaded rows, quarantined rows, rows read) of one policy file (module docstring)."""
    from citynet.etl.readers import read_table

    path = Path(path)
    table = read_table(path)  # the exports' readers: their encodings, XLSX, XLS; a misnamed file stops
    raw = table.frame.drop(columns="_row")
    cols = _columns(raw)
    missing = [k for k in ("year", "bodies") if k not in cols]
    if "province" not in cols and "city" not in cols:
        missing.insert(0, "province (or city)")
    if "tools" not in cols and "text" not in cols:
        missing.append("tools (or text)")
    if missing:
        from citynet.errors import DataError

        raise DataError(f"{path.name}: no column for {', '.join(missing)}; columns found: {', '.join(map(str, raw.columns))}",
                        fix="name the columns province/省份, year/年份, bodies/发文机构, tools/政策工具 (or text/政策文本)",)
    prov, city = _province_lookup()
    this_year = date.today().year
    good, bad = [], []
    for row, text, reason in table.malformed:  # records the reader could not split into the header's fields
        bad.append({"source_file": str(path), "source_row": row, "field": "", "reason_code": reason,
                    "reason": "the record could not be read as fields of the header", "raw": text})
    for i, r in zip(table.frame["_row"].tolist(), raw.to_dict("records"), strict=True):
        def q(field: str, reason: str, detail: str = "", i: int = i, r: dict = r) -> None:
            bad.append({"source_file": str(path), "source_row": i, "field": field, "reason_code": reason,
                        "reason": {"unknown_province": "province or city matches no province of the city set",
                                   "bad_year": "year missing or not a number",
                                   "year_out_of_range": f"year before {FIRST_YEAR} or after {this_year}",
                                   "no_bodies": "no issuing body (count or names)",
                                   "no_tool_class": "no tool class in the tools column and none found in the text",
                                   "unknown_tool_class": "a tool class that is none of supply / demand / environment "
                                                         "(供给型 / 需求型 / 环境型)"}[reason]
                        + (f": {detail}" if detail else ""),
                        **{str(k): str(v) for k, v in r.items()}})
        key = str(r.get(cols.get("province"), "") or "").strip() if "province" in cols else ""
        pc = prov.get(key)
        if pc is None and "city" in cols:
            pc = city.get(str(r.get(cols["city"], "") or "").strip())
        if pc is None:
            q(cols.get("province", cols.get("city", "province")), "unknown_province")
            continue
        y = str(r.get(cols["year"], "") or "").strip()
        if not re.fullmatch(r"\d{4}(\.0+)?", y):
            q(cols["year"], "bad_year")
            continue
        if not FIRST_YEAR <= int(float(y)) <= this_year:
            q(cols["year"], "year_out_of_range", y)
            continue
        nb = count_bodies(r.get(cols["bodies"]))
        if not nb:
            q(cols["bodies"], "no_bodies")
            continue
        tc = tool_classes(r.get(cols["tools"]) if "tools" in cols else None, r.get(cols["text"]) if "text" in cols else None)
        odd = unknown_tools(r.get(cols["tools"])) if "tools" in cols else []
        if not tc:
            q(cols.get("tools", cols.get("text", "tools")), "no_tool_class", ", ".join(map(repr, odd)))
            continue
        if odd:  # 供给型；其他: the known class alone would load, the other dropped without a word
            q(cols["tools"], "unknown_tool_class", ", ".join(map(repr, odd)) + f" (beside {', '.join(tc)})")
            continue
        good.append({"source_file": str(path), "source_row": i, "province_code": pc, "year": int(float(y)),
                     "n_bodies": nb, **{f"tool_{c}": int(c in tc) for c in TOOL_CLASSES}, "n_tools": len(tc)})
    loaded = pd.DataFrame(good, columns=["source_file", "source_row", "province_code", "year", "n_bodies",
                                         *[f"tool_{c}" for c in TOOL_CLASSES], "n_tools"])
    quarantined = pd.DataFrame(bad)
    assert len(loaded) + len(quarantined) == table.rows_read
    return loaded, quarantined, table.rows_read


def ingest_policy_docs(ws, files: list[Path]) -> dict:
    """Read the policy files into ``canonical/policy_docs.parquet`` (replacing it) and their rejected rows
    into ``quarantine/policy_docs.csv``; returns the row accounting per file."""
    frames, qs, report = [], [], []
    for f in files:
        loaded, quarantined, n = read_policy_docs(f)
        frames.append(loaded)
        qs.append(quarantined)
        report.append({"file": str(f), "rows_read": n, "rows_loaded": len(loaded), "rows_quarantined": len(quarantined)})
    docs = pd.concat(frames, ignore_index=True)
    if docs.empty:  # (it wrote an empty table over the earlier one: zts, gjs, rps then missing in every row)
        _nothing_loaded(files, qs)
    ws.canonical.mkdir(parents=True, exist_ok=True)
    docs.to_parquet(ws.canonical / "policy_docs.parquet", index=False)
    qpath = ws.quarantine / "policy_docs.csv"
    qall = pd.concat(qs, ignore_index=True) if any(len(x) for x in qs) else pd.DataFrame()
    if len(qall):
        qpath.parent.mkdir(parents=True, exist_ok=True)
        write_csv(qall, qpath)  # UTF-8 with BOM, as quarantine/<kind>__<file>.csv
    elif qpath.exists():
        qpath.unlink()
    return {"files": report, "policies": len(docs)}


def _nothing_loaded(files: list[Path], quarantined: list[pd.DataFrame]) -> None:
    """No row of the policy files could be loaded: one message with the reasons and the first row, exit 3, as for
    patents and covariates; the policy table of an earlier ingest is kept (it was replaced by an empty one, exit 0)."""
    from citynet.errors import DataError

    q = pd.concat([x for x in quarantined if len(x)], ignore_index=True) if any(len(x) for x in quarantined) else None
    names = ", ".join(Path(f).name for f in files)
    if q is None:
        raise DataError(f"no policy document of {names} could be loaded (no records)",
                        fix="check that the file has a header row and one row per policy document")
    counts = q["reason_code"].value_counts()
    reasons = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    r = q.iloc[0]
    raise DataError(f"no policy document of {names} could be loaded ({reasons}); first: "
                    f"{Path(str(r['source_file'])).name} row {int(r['source_row'])}: {r['reason']}",
                    fix="provinces as names (广东 / 广东省) or codes, years as whole numbers (2015; 1949 to this year), bodies as a count or "
                        "names, tools as supply / demand / environment (供给型 / 需求型 / 环境型)")
