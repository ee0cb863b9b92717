"""One table of variable labels for every panel column: seed symbol, Chinese and English description.

The seed symbols are the variable names of the source papers: ``DC``/``BC`` (Sun & Yang), ``gtr``/
``ex_gt``/``in_gt`` (Sun), ``Diff`` (paper 000). The Stata export writes ``"<symbol> <中文说明>"`` as the
variable label; the report and the regression tables reuse the same table (``label(column)``,
``term_label(name)``, ``LABELS[column].en``), so a variable is described the same way everywhere —
covariates (人均GDP …) and derived names included: ``ln_x`` is "ln <x>", ``l1_x`` is "<x> (t−1)",
``W_x`` is "W·<x>".

Coded variables carry Stata value labels (:data:`VALUE_LABELS`): the city tier and region, and the 0/1
policy and pair dummies.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

STATA_NAME_MAX = 32
STATA_LABEL_MAX = 80


@dataclass(frozen=True)
class Label:
    symbol: str  # seed symbol ("" when the papers have none)
    zh: str  # Chinese description
    en: str  # English description

    @property
    def stata(self) -> str:
        text = f"{self.symbol} {self.zh}" if self.symbol else self.zh
        return text[:STATA_LABEL_MAX]


_L = Label
LABELS: dict[str, Label] = {
    # keys
    "city_code": _L("", "城市代码（GB/T 2260）", "city code (GB/T 2260, prefecture level)"),
    "city_a": _L("", "城市A代码（city_a < city_b）", "first city of the pair (city_a < city_b)"),
    "city_b": _L("", "城市B代码", "second city of the pair"),
    "year": _L("", "年份", "year"),
    "network": _L("", "网络类型（collab/transfer/citation）", "network (collab, transfer, citation)"),
    # city-year: the contract columns
    "green_patents": _L("gpatent", "专利数（网络筛选条件下，至少一位申请人在本市）",
                        "filtered patents with an applicant in the city"),  # (a panel's own: column_label)
    "collab_patents": _L("rsi", "与其他城市联合申请的专利数", "patents co-applied with at least one other city"),
    "collab_partners": _L("Cn", "合作伙伴城市数（广延边际）", "distinct partner cities (extensive margin)"),
    "collab_intensity": _L("intensive", "每个伙伴城市的平均合作次数（集约边际）",
                           "sum of collaboration edge weights / partner cities (intensive margin)"),
    "collab_degree": _L("DC", "合作网络度数中心度", "collaboration degree centrality, partners / (N-1)"),
    "collab_betweenness": _L("BC", "合作网络中介中心度（无向，除以(N-1)(N-2)/2）",
                             "collaboration betweenness, undirected, / ((N-1)(N-2)/2)"),
    "partners_continuing": _L("Xn", "持续合作伙伴城市数（t-1年亦合作）", "partners in t that were partners in t-1"),
    "partners_new": _L("Zn", "新增合作伙伴城市数", "partners in t that were not partners in t-1"),
    "partners_exited": _L("Tn", "退出合作伙伴城市数（t-1年合作、t年未合作）", "partners in t-1 that are not partners in t"),
    "transfers_out": _L("gtr", "向其他城市转让的专利数", "patent rights transferred to another city"),
    "transfers_in": _L("gtr_in", "从其他城市受让的专利数", "patent rights received from another city"),
    "transfers_local": _L("gtr_local", "本市内部转让的专利数", "transfers within the city"),
    "transfers_other": _L("gtr_other", "与其他城市之间的转让数（转出+转入）", "transfers with other cities (out + in)"),
    "transfer_partners_out": _L("ex_gt", "技术转移目的地城市数（广延边际）", "distinct destination cities of transfers"),
    "transfer_intensity_out": _L("in_gt", "每个目的地城市的平均转让数（集约边际）",
                                 "transfers out / destination cities"),
    "transfer_outdegree": _L("dc_out", "转移网络出度中心度", "transfer out-degree centrality, destinations / (N-1)"),
    "transfer_indegree": _L("dc_in", "转移网络入度中心度", "transfer in-degree centrality, origins / (N-1)"),
    "transfer_betweenness": _L("bc", "转移网络中介中心度（有向，除以(N-1)(N-2)）",
                               "transfer betweenness, directed, / ((N-1)(N-2))"),
    "collab_patents_intraprov": _L("rsi_ip", "与省内其他城市联合申请的专利数",
                                   "patents co-applied with another city of the same province"),
    "transfers_intraprov": _L("gtr_ip", "与省内其他城市之间的转让数", "transfers with cities of the same province (out + in)"),
    "citations_made": _L("Diff_b", "后向引用数（本市专利引用的文献）", "references listed by the city's patents"),
    "citations_received": _L("Diff_f", "前向被引数（本市专利被引用）", "citations received by the city's patents"),
    "citations_foreign": _L("Diff_x", "引用国外专利数", "references of the city's patents to foreign patents"),
    # city-year: extra centralities
    "collab_strength": _L("", "合作网络强度（边权之和）", "collaboration strength, sum of edge weights"),
    "collab_betweenness_w": _L("BC_w", "合作网络加权中介中心度（边长=1/权重）",
                               "weighted collaboration betweenness, length 1/w, / ((N-1)(N-2)/2)"),
    "collab_eigenvector": _L("EC", "合作网络特征向量中心度（最大连通分量，最大值=1）",
                             "collaboration eigenvector centrality (giant component, max 1)"),
    "collab_eigenvector_w": _L("EC_w", "合作网络加权特征向量中心度（最大连通分量）",
                               "weighted collaboration eigenvector centrality (giant component, max 1)"),
    "collab_harmonic": _L("HC", "合作网络调和接近中心度", "collaboration harmonic closeness, mean of 1/d over N-1"),
    "collab_harmonic_w": _L("HC_w", "合作网络加权调和接近中心度（边长=1/权重）",
                            "weighted harmonic closeness, length 1/w, mean over N-1"),
    "collab_pagerank": _L("PR", "合作网络PageRank（加权，阻尼0.85）", "collaboration PageRank, weighted, damping 0.85"),
    "collab_clustering": _L("CC", "合作网络局部聚类系数", "collaboration local clustering coefficient"),
    "collab_coreness": _L("kcore", "合作网络k核数", "collaboration coreness (k-core index)"),
    "collab_constraint": _L("constraint", "合作网络Burt结构洞约束系数（加权）", "Burt's constraint, weighted"),
    "collab_community": _L("community", "合作网络Leiden社区编号（1=最大社区）",
                           "Leiden community label (1 = largest community)"),
    "transfer_partners_in": _L("", "技术转移来源城市数", "distinct origin cities of transfers"),
    "transfer_betweenness_w": _L("bc_w", "转移网络加权中介中心度（边长=1/权重）",
                                 "weighted transfer betweenness, length 1/w, / ((N-1)(N-2))"),
    "transfer_pagerank": _L("PR_gt", "转移网络PageRank（有向加权，阻尼0.85）", "transfer PageRank, directed, weighted"),
    "citation_indegree": _L("", "知识来源城市数/(N-1)（本市引用的城市）",
                            "cities whose patents the city cites / (N-1)"),
    "citation_outdegree": _L("", "知识使用城市数/(N-1)（引用本市的城市）",
                             "cities that cite the city's patents / (N-1)"),
    # city-year: collaboration by the kinds of the partners (metrics.partner_kinds; 产 firm, 学 university,
    # 研 institute, 政 government)
    "copat_firm_univ": _L("产学", "产学联合申请专利数（企业–高校）", "co-applied patents with a firm–university pair"),
    "copat_firm_inst": _L("产研", "产研联合申请专利数（企业–科研机构）", "co-applied patents with a firm–institute pair"),
    "copat_univ_inst": _L("学研", "学研联合申请专利数（高校–科研机构）",
                          "co-applied patents with a university–institute pair"),
    "copat_firm_firm": _L("产产", "企业间联合申请专利数", "co-applied patents with a firm–firm pair"),
    "copat_gov": _L("政", "有政府机构参与的联合申请专利数", "co-applied patents with a government body in a pair"),
    "partners_firm_univ": _L("", "产学合作伙伴数（申请人）", "distinct partner applicants in firm–university pairs"),
    "partners_firm_inst": _L("", "产研合作伙伴数（申请人）", "distinct partner applicants in firm–institute pairs"),
    "partners_univ_inst": _L("", "学研合作伙伴数（申请人）", "distinct partner applicants in university–institute pairs"),
    "partners_firm_firm": _L("", "企业间合作伙伴数（申请人）", "distinct partner applicants in firm–firm pairs"),
    "partners_gov": _L("", "与政府机构合作的伙伴数（申请人）", "distinct partner applicants in pairs with government"),
    # province-year policy synergy (citynet ingest --policies), joined to the city-year panel
    "zts": _L("zts", "政策主体协同度（每项政策的平均发文主体数）", "mean number of issuing bodies per policy"),
    "gjs": _L("gjs", "政策工具协同度（每项政策的平均工具类别数，1–3）",
              "mean number of Rothwell tool classes per policy (1-3)"),
    "rps": _L("rps", "政策协同度（zts×gjs）", "policy synergy, zts × gjs"),
    "n_policies": _L("", "政策文件数", "policy documents of the province and year"),
    # city attributes (etl.cities) and covariates (canonical/covariates.parquet)
    "city_name": _L("", "城市名称", "city name"),
    "province_code": _L("", "省份代码", "province code"),
    "province_zh": _L("", "省份名称", "province"),
    "tier": _L("", "城市等级（1直辖市 2副省级 3省会 4地级市）", "city tier"),
    "region": _L("", "区域（1东部 2中部 3西部 4东北）", "region"),
    "gdp_per_capita": _L("pgdp", "人均GDP（元）", "GDP per capita"),
    "gdp": _L("gdp", "地区生产总值", "GDP"),
    "population": _L("pop", "年末人口（万人）", "population"),
    "industry_share": _L("ind", "第二产业占GDP比重", "industry share"),
    "rd_intensity": _L("rd", "研发投入强度（R&D经费/GDP，%）", "R&D intensity"),
    "fdi": _L("fdi", "实际利用外资", "FDI"),
    "low_carbon": _L("DID", "低碳城市试点（1=试点当年及以后）", "low-carbon pilot"),
    "carbon_trading": _L("", "碳排放权交易试点（1=试点当年及以后）", "carbon-trading pilot"),
    "tier_high": _L("", "高等级城市（直辖市、副省级、省会=1）",
                    "high-tier city (1 = municipality, sub-provincial city or provincial capital)"),
    # dyad-year
    "city_a_name": _L("", "城市A名称", "name of city_a"),
    "city_b_name": _L("", "城市B名称", "name of city_b"),
    "collab": _L("rsi_ij", "两市联合申请专利数", "patents co-applied by the two cities"),
    "transfer_ab": _L("gtr_ab", "A市向B市转让的专利数", "transfers from city_a to city_b"),
    "transfer_ba": _L("gtr_ba", "B市向A市转让的专利数", "transfers from city_b to city_a"),
    "citations_ab": _L("cite_ab", "B市专利引用A市专利数（A→B知识流）", "knowledge flow a→b: citations by b's patents of a's"),
    "citations_ba": _L("cite_ba", "A市专利引用B市专利数（B→A知识流）", "knowledge flow b→a: citations by a's patents of b's"),
    "distance_km": _L("dist", "两市球面距离（公里）", "great-circle distance, km (haversine)"),
    "log_distance": _L("ln_dist", "两市距离的自然对数", "natural log of distance_km"),
    "same_province": _L("", "是否同省（1=是）", "1 when both cities are in the same province"),
    # network-year
    "nodes": _L("", "有连边的城市数", "cities with at least one edge"),
    "edges": _L("", "连边数（城市对）", "edges (city pairs; ordered for directed networks)"),
    "total_weight": _L("", "边权总和", "sum of edge weights"),
    "density": _L("", "网络密度（以城市集为分母）", "edges / possible edges over the city set"),
    "components": _L("", "连通分量数（不含孤立城市）", "connected components with two cities or more"),
    "giant_share": _L("", "最大连通分量城市占比", "share of the city set in the largest component"),
    "clustering": _L("", "全局聚类系数（传递性）", "global clustering (transitivity)"),
    "mean_degree": _L("", "平均度（以城市集为分母）", "mean degree over the city set"),
    "communities": _L("", "Leiden社区数（不含孤立城市）", "Leiden communities (isolates excluded)"),
    "modularity": _L("Q", "Leiden划分的模块度", "modularity of the Leiden partition"),
}


# Short names for regression tables (the papers' symbols where they have one, else a short English name).
TABLE_NAMES: dict[str, str] = {
    "green_patents": "green patents", "gdp_per_capita": "GDP per capita", "gdp": "GDP", "population": "population",
    "industry_share": "Industry share", "rd_intensity": "R&D intensity", "fdi": "FDI", "low_carbon": "Low-carbon pilot",
    "carbon_trading": "Carbon-trading pilot", "tier_high": "City tier", "collab_intensity": "intensive",
    "collab_partners": "extensive", "distance_km": "distance", "same_province": "Same province",
    "diff": "Diff", "rho": "ρ (W·y)", "lambda": "λ (W·u)", "sigma_u": "σ_u", "sigma_e": "σ_e",
    "partners_firm_univ": "partners 产-学", "partners_firm_inst": "partners 产-研",
    "partners_univ_inst": "partners 学-研", "partners_firm_firm": "partners 产-产", "partners_gov": "partners 政-*",
}

# Stata value labels of coded variables: column -> {code: label}
TIERS = ("municipality", "sub_provincial", "provincial_capital", "prefecture")
REGIONS = ("east", "central", "west", "northeast")
VALUE_LABELS: dict[str, dict[int, str]] = {
    "tier": {1: "直辖市 municipality", 2: "副省级城市 sub-provincial", 3: "省会城市 provincial capital",
             4: "地级市 prefecture"},
    "region": {1: "东部 east", 2: "中部 central", 3: "西部 west", 4: "东北 northeast"},
    "low_carbon": {0: "非试点 not a pilot", 1: "试点 pilot"},
    "carbon_trading": {0: "非试点 not a pilot", 1: "试点 pilot"},
    "same_province": {0: "不同省 different provinces", 1: "同省 same province"},
    "tier_high": {0: "其他 other", 1: "高等级 high tier"},
}


_REGIME = re.compile(r"^(?P<x>[^·]+)·I\((?P<cond>[^()]+)\)$")
_REGIME_VAR = re.compile(r"(?<![0-9.])[A-Za-z_][A-Za-z0-9_.]*")


def term_label(name: str) -> str:
    """Printed name of a model term or variable: ``l1_ln_gdp_per_capita`` → "ln GDP per capita (t−1)",
    ``l1_collab_degree`` → "DC (t−1)", ``ln_population`` → "ln population", ``W_x`` → "W·<x>"; unknown names
    are returned unchanged. A threshold regime term ``x·I(q≤c)`` is labelled part by part:
    ``l1_collab_degree·I(l1_ln_gdp_per_capita≤11.56)`` → "DC (t−1)·I(ln GDP per capita (t−1) ≤ 11.56)"."""
    n = str(name)
    regime = _REGIME.match(n)
    if regime:
        cond = _REGIME_VAR.sub(lambda v: f" {term_label(v.group(0))} ", regime["cond"])
        cond = " ".join(cond.replace("≤", " ≤ ").replace(">", " > ").replace("<", " < ").split())
        return f"{term_label(regime['x'])}·I({cond})"
    for pre in ("l1_", "L1_", "lag1_", "L."):
        if n.startswith(pre) and len(n) > len(pre):
            return f"{term_label(n[len(pre):])} (t−1)"
    for pre in ("W_", "w_", "W."):
        if n.startswith(pre) and len(n) > len(pre):
            return f"W·{term_label(n[len(pre):])}"
    if n.startswith("ln_") and len(n) > 3:
        inner = term_label(n[3:])
        return f"ln {inner}" if inner != n[3:] or n[3:] in LABELS or n[3:] in TABLE_NAMES else n
    if n.endswith("_w") and n[:-2] in (*LABELS, *TABLE_NAMES):
        return f"{term_label(n[:-2])} (winsorised)"
    if n in TABLE_NAMES:
        return TABLE_NAMES[n]
    lab = LABELS.get(n)
    if lab and lab.symbol:
        return lab.symbol
    return n


# the patents ``green_patents`` counts are those of the panel's network filter (``graph/network_filter.py``)
GREEN_ZH = {"wipo": ("绿色", "WIPO绿色清单"), "y02": ("低碳", "CPC Y02/Y04S"), "all": ("", "不限技术领域")}
KIND_ZH = {"invention": "发明", "utility": "实用新型", "design": "外观设计", "all": ""}


def column_label(column: str, flt: dict | None = None) -> Label | None:
    """The label of ``column`` in a panel of the network filter ``flt`` (the ``filter`` of the panel's metadata):
    ``LABELS[column]``, except ``green_patents``, which counts the filter's patents — "绿色专利数" of a panel of
    every technology (``all.all.all``) was not what the column holds. ``invention.wipo.all``: "绿色发明专利数
    （WIPO绿色清单；至少一位申请人在本市）"; ``all.all.all``: "专利数（不限技术领域；至少一位申请人在本市）";
    ``invention.y02.granted.grantyear``: "低碳授权发明专利数（CPC Y02/Y04S；…）". Without a filter: the generic label."""
    lab = LABELS.get(column)
    if column != "green_patents" or not flt or lab is None:
        return lab
    green, source = GREEN_ZH.get(str(flt.get("green")), ("", f"green = {flt.get('green')}"))
    kind = KIND_ZH.get(str(flt.get("kind")), "")
    granted = "授权" if flt.get("granted_only") or flt.get("year_basis") == "grant" else ""
    return Label(lab.symbol, f"{green}{granted}{kind}专利数（{source}；至少一位申请人在本市）", lab.en)


def label(column: str, flt: dict | None = None) -> str:
    """Stata-style label of a column (``"DC 合作网络度数中心度"``) in a panel of the filter ``flt``
    (:func:`column_label`); the column name when unknown."""
    lab = column_label(column, flt)
    return lab.stata if lab else column[:STATA_LABEL_MAX]


@functools.cache
def _stata_reserved() -> frozenset[str]:
    """The words pandas' Stata writer renames (Stata's reserved words and a few more)."""
    from pandas.io.stata import StataParser

    return frozenset(StataParser().RESERVED_WORDS)


def stata_name(name: str, taken: set[str] | None = None) -> str:
    """A valid Stata 118 variable name: letters, digits, ``_``; not starting with a digit; not a reserved word
    (``float``, ``_b``, ``str5``: ``_`` before it, as pandas' writer would do — after the labels were keyed by
    the name, which lost them); ≤ 32 characters."""
    out = re.sub(r"[^\w]", "_", str(name), flags=re.UNICODE)
    if not out or out[0].isdigit() or out in _stata_reserved() or re.fullmatch(r"str\d+", out):
        out = "_" + out
    out = out[:STATA_NAME_MAX]
    taken = taken if taken is not None else set()
    base, k = out, 1
    while out in taken:
        suffix = f"_{k}"
        out = base[: STATA_NAME_MAX - len(suffix)] + suffix
        k += 1
    taken.add(out)
    return out
