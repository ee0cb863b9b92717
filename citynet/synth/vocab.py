"""Word pools of the generator: name parts, streets, titles, classification symbols, foreign references.

Green IPC symbols are concrete symbols picked inside the WIPO IPC Green Inventory patterns
(``etl/data/ipc_green_inventory_codes_only.csv``; ranges such as ``C10L 5/40-48`` give ``C10L5/40``,
``C10L5/44`` …), and every symbol of both pools is checked with the ETL's own matcher
(``etl.classify.GreenMatcher``), so "green" in the files means exactly what ``metrics`` counts.
"""

from __future__ import annotations

import functools

import numpy as np

from citynet.etl.classify import GreenMatcher, green_inventory

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁"
    "婷雪琳晨欣怡佳悦博文睿轩泽晗昊然子涵梓萱一诺思远嘉豪俊杰志强建国永红海燕晓东春梅立新振华"
    "卫东国庆爱民德胜秋菊月娥春生金凤宝林长青永胜"
)
FIRM_CHARS = list("华瑞博恒盛达康鑫宏丰诚信联创智维亿升辉美凯卓普益正佳祥星蓝晶锐峰启航宇腾巨力拓迅嘉欣昊隆旭睿")
INDUSTRY = [
    "科技", "电子", "新能源", "环保", "机械", "材料", "化工", "电气", "生物", "信息技术", "智能装备", "光电",
    "汽车部件", "能源", "电力设备", "建材", "医疗器械", "精密", "节能", "通信",
]  # fmt: skip
FIRM_SUFFIX = ["有限公司", "股份有限公司", "集团有限公司", "有限责任公司"]
FIRM_SUFFIX_P = [0.72, 0.17, 0.05, 0.06]
UNI_WORDS = ["理工", "科技", "工业", "师范", "农业", "医科", "交通", "石油", "电力", "林业", "财经", "海洋", "工程", "化工"]
UNI_REGIONS = ["华东", "华南", "华北", "西南", "西北", "东北", "中南", "东南", "华中"]
INSTITUTE_FIELDS = [
    "能源", "化学物理", "过程工程", "电工", "生态环境", "材料", "光学精密机械", "工程热物理", "环境科学", "新材料",
    "节能技术", "电力科学", "农业科学", "水利", "冶金",
]  # fmt: skip
FOREIGN_SYLLABLES = ["kor", "ma", "tec", "vel", "stron", "ax", "ion", "lum", "en", "tra", "dyn", "ove", "sie", "rix", "nor",
                     "gal", "ber", "ton", "mer", "ca", "li", "sol", "vo", "zen", "ar"]  # fmt: skip
FOREIGN_FORMS = [  # (pattern, country, 国省代码, address head, weight)
    ("{} GmbH", "DE", "德国(DE)", "德国慕尼黑市", 0.2),
    ("{} AG", "DE", "德国(DE)", "德国斯图加特市", 0.05),
    ("{} Inc.", "US", "美国(US)", "美国加利福尼亚州圣何塞市", 0.25),
    ("{} Corporation", "US", "美国(US)", "美国纽约州", 0.1),
    ("株式会社{}", "JP", "日本(JP)", "日本国东京都港区", 0.3),
    ("{} Co. Ltd.", "KR", "韩国(KR)", "韩国京畿道", 0.1),
]
JP_CHARS = list("東芝日立電機製作精工化学光産業村田富士通豊田")
STREETS = ["中山路", "人民路", "解放路", "建设路", "长江路", "黄河路", "和平路", "胜利路", "新华路", "文化路", "科技路",
           "创业路", "学府路", "工业大道", "高新大道", "东环路", "西湖路", "滨江大道", "金桥路", "光明街"]  # fmt: skip
ADDRESS_TAILS = ["号", "号科技园", "号创新大厦", "号产业园", "号研发楼", "号院"]
TITLE_HEADS = ["一种", "一种新型", "一种高效", "一种智能", "一种低成本"]
GREEN_OBJECTS = [
    "燃料电池双极板", "光伏组件", "风力发电机叶片", "锂离子电池正极材料", "生物质颗粒燃料", "污水处理装置", "太阳能集热器",
    "电动汽车充电系统", "储能变流器", "垃圾焚烧炉", "余热回收装置", "地源热泵系统", "烟气脱硫装置", "沼气发酵罐",
]  # fmt: skip
OTHER_OBJECTS = [
    "数据处理方法", "图像识别装置", "无线通信终端", "轴承座", "阀门执行机构", "食品包装机", "混凝土搅拌设备", "注塑模具",
    "医用导管", "显示面板", "机器人手臂", "服装裁剪装置", "电路板检测设备", "中药组合物",
]  # fmt: skip
TITLE_TAILS = ["", "及其制备方法", "的控制方法", "及系统", "的制造方法"]
DESIGN_OBJECTS = ["包装盒", "台灯", "手机壳", "水杯", "椅子", "音箱", "充电器", "茶具", "手表", "电动车"]
LOCARNO = ["01-01", "02-02", "03-01", "06-01", "07-02", "08-05", "09-01", "10-04", "11-02", "12-08", "13-03",
           "14-02", "14-03", "15-09", "23-04", "24-01", "26-05", "28-03"]  # fmt: skip
Y02_TAGS = ["Y02E10/50", "Y02E10/72", "Y02E60/10", "Y02E60/50", "Y02E50/10", "Y02P70/50", "Y02P20/133", "Y02W30/74",
            "Y02W10/37", "Y02T10/70", "Y02T10/7072", "Y02B30/70", "Y02A20/152", "Y02C20/40", "Y04S10/123"]  # fmt: skip
FOREIGN_REF_FORMS = [("US{}{:06d}A1", 0.35), ("US{:07d}B2", 0.15), ("JP{}{:06d}A", 0.25), ("EP{:07d}A1", 0.1),
                     ("WO{}{:06d}A1", 0.1), ("KR10{}{:07d}A", 0.05)]  # fmt: skip
NON_GREEN_SYMBOLS = [
    "G06F17/30", "G06F3/01", "G06F9/50", "G06T7/00", "G06K9/62", "H04L29/06", "H04L12/24", "H04W72/04", "H04N5/225",
    "H04B7/06", "A61K36/00", "A61K31/00", "A61B5/00", "A61M25/00", "A23L2/38", "A23L33/00", "A47J27/00",
    "B65G47/00", "B65D81/00", "B65B43/00", "F16K31/00", "F16H57/00", "F16B37/00", "B23K37/00", "B23P19/00",
    "B29C45/00", "B21D37/00", "C08L23/06", "C08K3/00", "C07D401/00", "C04B28/00", "E04B1/00", "E04G21/00",
    "E02D17/00", "G01N33/00", "G01N21/00", "G01B11/00", "G05B19/418", "G09F9/30", "H01L21/00", "H01L27/12",
    "H01L33/00", "H01R13/00", "H05K7/20", "D06F39/00", "B62D21/00", "F04D29/00", "F16L55/00", "B01J23/00",
    "C22C38/00", "A01K61/00", "A01G9/00", "B08B3/00", "G02B6/00", "H02K5/00", "H01F27/00", "H01M10/00",
]  # fmt: skip
NEAR_MISS_SYMBOLS = ["H01L31/18", "H01L31/20", "C10L5/50", "C10L5/36", "F03D80/00", "H01M4/00", "B60L3/00",
                     "F24D3/00", "C02A1/00"]  # fmt: skip
FAVOURED_GREEN = ["H01M8/04", "H01M8/10", "H02S40/00", "F24S20/00", "F03D1/06", "B60L53/00", "C02F3/28", "C02F1/00",
                  "B09B3/00", "H02J3/38", "H02J7/00", "F23G5/00", "H01L31/04", "C10L5/44", "F01K25/00"]  # fmt: skip


def _candidates(row) -> list[str]:
    sub = str(row.subclass).strip()
    kind = row.pattern_type
    if kind == "group":
        return [f"{sub}{int(row.main_group_from)}/{row.subgroup_from}"]
    if kind == "subgroup_range":
        width = len(row.subgroup_to)
        lo, hi = int(row.subgroup_from.ljust(width, "0")), int(row.subgroup_to)
        picks = sorted({lo, hi, (lo + hi) // 2})
        out = []
        for v in picks:
            s = f"{v:0{width}d}"
            while len(s) > 2 and s.endswith("0"):
                s = s[:-1]
            out.append(f"{sub}{int(row.main_group_from)}/{s}")
        return out
    if kind == "main_group_range":
        lo, hi = int(row.main_group_from), int(row.main_group_to)
        return [f"{sub}{g}/00" for g in sorted({lo, hi, (lo + hi) // 2})]
    if kind == "subclass_or_class":
        if len(sub) == 3:  # a class such as G21 or B61
            return [f"{sub}{x}1/00" for x in ("B", "C", "D")]
        return [f"{sub}1/00", f"{sub}3/02", f"{sub}10/00"]
    return []


@functools.cache
def symbol_pools() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(green, green_weights, non_green, non_green_weights)``; every symbol checked by GreenMatcher."""
    import pandas as pd

    from citynet.etl.normalize import normalize_ipc_symbols

    matcher = GreenMatcher()
    inv = green_inventory()
    cands = list(dict.fromkeys([s for row in inv.itertuples(index=False) for s in _candidates(row)] + FAVOURED_GREEN))

    every = list(dict.fromkeys(cands + NON_GREEN_SYMBOLS + NEAR_MISS_SYMBOLS))
    norm = normalize_ipc_symbols(pd.Series(every, dtype=object))["symbol"]
    green_of = {s: isinstance(n, str) and bool(matcher.topics(n)) for s, n in zip(every, norm, strict=True)}
    green = [s for s in cands if green_of[s]]
    non_green = [s for s in dict.fromkeys(NON_GREEN_SYMBOLS + NEAR_MISS_SYMBOLS) if not green_of[s]]
    gw = np.array([8.0 if s in FAVOURED_GREEN else 1.0 for s in green])
    nw = np.array([0.3 if s in NEAR_MISS_SYMBOLS else 1.0 for s in non_green])
    return np.array(green, dtype=object), gw / gw.sum(), np.array(non_green, dtype=object), nw / nw.sum()
