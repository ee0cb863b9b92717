"""Classification of patents and applicants: WIPO green (with topics), CPC Y02/Y04S, patent kind, applicant kind.

Green: the WIPO IPC Green Inventory as transcribed in ``etl/data/ipc_green_inventory_codes_only.csv``
(see ``etl/data/PROVENANCE.md``), matched with the prefix semantics of its source:

- ``F03D`` / ``G21`` (class or subclass): every symbol that starts with it;
- ``F03D 13/20`` (group): same subclass and main group, subgroup digits starting with ``20``;
- ``C10L 5/40-48`` (subgroup range): subgroups compared as decimal fractions, so ``5/40``…``5/48``
  and their longer descendants (``5/483``) are in; ``H01L 31/000-078`` contains ``31/04`` and
  ``31/0735`` but not ``31/18`` (= 31/180 > 31/078);
- ``A01N 25-65`` (main-group range): main groups 25 to 65 inclusive, every subgroup.

A user may replace the inventory with their own CSV of the same columns (``green_inventory=`` path).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_DATA = resources.files("citynet.etl") / "data"


def _read_data_csv(name: str) -> pd.DataFrame:
    with resources.as_file(_DATA / name) as path:
        return pd.read_csv(path, dtype=str)


@functools.cache
def green_inventory(path: str | None = None) -> pd.DataFrame:
    """The inventory patterns with their topic (one row per pattern)."""
    codes = pd.read_csv(path, dtype=str) if path else _read_data_csv("ipc_green_inventory_codes_only.csv")
    if "topic" not in codes.columns:
        topics = _read_data_csv("ipc_green_inventory_topics.csv")[["seq", "topic"]]
        codes = codes.merge(topics, on="seq", how="left")
    codes["topic"] = codes["topic"].fillna("unassigned")
    return codes


def _pad(sub: str, width: int = 6) -> str:
    return (sub + "0" * width)[:width]


class GreenMatcher:
    """Matches normalised IPC symbols (``H01M 8/04``) against the inventory; results cached per symbol."""

    def __init__(self, inventory: pd.DataFrame | None = None):
        inv = green_inventory() if inventory is None else inventory
        self._by_prefix: dict[str, list[tuple]] = {}
        for row in inv.itertuples(index=False):
            subclass = str(row.subclass).strip()
            kind = row.pattern_type
            entry = (kind, row.main_group_from, row.main_group_to, row.subgroup_from, row.subgroup_to, row.topic)
            self._by_prefix.setdefault(subclass, []).append(entry)
        self._cache: dict[str, tuple[str, ...]] = {}

    def topics(self, symbol: str) -> tuple[str, ...]:
        """Topics of every inventory pattern the symbol falls in (empty: not green)."""
        hit = self._cache.get(symbol)
        if hit is not None:
            return hit
        m = re.match(r"^([A-HY]\d{2}[A-Z]) (\d+)/(\d+)$", symbol)
        found: list[str] = []
        if m:
            subclass, main, sub = m.group(1), int(m.group(2)), m.group(3)
            for key in (subclass[:3], subclass):
                for kind, mg_from, mg_to, sg_from, sg_to, topic in self._by_prefix.get(key, ()):
                    if self._matches(kind, key, subclass, main, sub, mg_from, mg_to, sg_from, sg_to):
                        found.append(topic)
        result = tuple(dict.fromkeys(found))
        self._cache[symbol] = result
        return result

    @staticmethod
    def _matches(kind, key, subclass, main, sub, mg_from, mg_to, sg_from, sg_to) -> bool:
        if kind == "subclass_or_class":
            return subclass.startswith(key)
        if key != subclass:
            return False
        if kind == "group":
            return main == int(mg_from) and sub.startswith(sg_from)
        if kind == "main_group":
            return main == int(mg_from)
        if kind == "main_group_range":
            return int(mg_from) <= main <= int(mg_to)
        if kind == "subgroup_range":
            if main != int(mg_from):
                return False
            head = _pad(sub[: len(sg_to)], len(sg_to))
            return _pad(sub) >= _pad(sg_from) and head <= sg_to
        return False


def classify_green_items(symbols: pd.Series, n_rows: int, matcher: GreenMatcher | None = None) -> pd.DataFrame:
    """``green`` and ``green_topics`` (sorted distinct topics) per record, from normalised IPC symbols
    indexed by record position (see ``etl.normalize.explode_items``); the matcher runs once per
    distinct symbol.
    """
    from citynet.etl.normalize import lists_by_row

    matcher = matcher or GreenMatcher()
    topic_of = {s: matcher.topics(s) for s in pd.unique(symbols)}
    topics = symbols.map(topic_of).explode().dropna()
    pairs = pd.DataFrame({"pos": topics.index.to_numpy(), "topic": topics.to_numpy()}).drop_duplicates()
    pairs = pairs.sort_values(["pos", "topic"], kind="stable")
    lists = lists_by_row(pd.Series(pairs["topic"].to_numpy(), index=pairs["pos"].to_numpy()), n_rows)
    return pd.DataFrame({"green": lists.list.len().to_numpy() > 0, "green_topics": lists})


def classify_green_arrow(rows, symbols, n_rows: int, matcher: GreenMatcher | None = None):
    """:func:`classify_green_items` on (record position, symbol) pairs given as a numpy array and an
    Arrow array: ``green`` (numpy bool) and ``green_topics`` (Arrow ``list<string>``, sorted distinct
    topics). The matcher runs once per distinct symbol (and caches across batches); the pairs are
    exploded, de-duplicated and sorted with numpy."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from citynet.etl.normalize import lists_from_items

    matcher = matcher or GreenMatcher()
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        empty = lists_from_items(rows, pa.array([], pa.large_string()), n_rows)
        return np.zeros(n_rows, dtype=bool), empty
    enc = pc.dictionary_encode(symbols)
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    found = [matcher.topics(sym) for sym in enc.dictionary.to_pylist()]
    names = sorted({t for ts in found for t in ts})
    code_of = {t: i for i, t in enumerate(names)}
    ulen = np.array([len(ts) for ts in found], dtype=np.int64)
    ustart = np.concatenate([[0], np.cumsum(ulen)[:-1]]).astype(np.int64)
    flat = np.array([code_of[t] for ts in found for t in ts], dtype=np.int64)
    item_len = ulen[codes]
    total = int(item_len.sum())
    if total == 0:
        empty = lists_from_items(np.zeros(0, dtype=np.int64), pa.array([], pa.large_string()), n_rows)
        return np.zeros(n_rows, dtype=bool), empty
    # for each (item, k-th topic of its symbol): the topic's code
    item_starts = np.repeat(ustart[codes] - (np.cumsum(item_len) - item_len), item_len)
    topic = flat[item_starts + np.arange(total)]
    pos = np.repeat(rows, item_len)
    key = np.unique(pos * (len(names) + 1) + topic)  # distinct (position, topic), sorted by both
    pos, topic = key // (len(names) + 1), key % (len(names) + 1)
    lists = lists_from_items(pos, pa.array(names, pa.large_string()).take(pa.array(topic)), n_rows)
    green = np.zeros(n_rows, dtype=bool)
    green[pos] = True
    return green, lists


def classify_green(ipc_lists: pd.Series, matcher: GreenMatcher | None = None) -> pd.DataFrame:
    """``classify_green_items`` for a Series of symbol lists."""
    flat = ipc_lists.reset_index(drop=True).explode().dropna()
    out = classify_green_items(flat, len(ipc_lists), matcher)
    out.index = ipc_lists.index
    return out


def classify_y02_items(symbols: pd.Series, n_rows: int) -> pd.Series:
    """True for records with a CPC symbol in Y02 (climate-change mitigation/adaptation) or Y04S (smart grids)."""
    hit = symbols.astype(str).str.startswith(("Y02", "Y04S"))
    return hit.groupby(level=0).any().reindex(range(n_rows), fill_value=False).astype(bool)


def classify_y02(cpc_lists: pd.Series) -> pd.Series:
    """``classify_y02_items`` for a Series of symbol lists."""
    flat = cpc_lists.reset_index(drop=True).explode().dropna()
    out = classify_y02_items(flat, len(cpc_lists))
    out.index = cpc_lists.index
    return out


_KIND_WORDS = {
    "invention": ("发明",),
    "utility": ("实用新型", "实用"),
    "design": ("外观设计", "外观"),
}


def patent_kind(type_field: pd.Series, patent_id: pd.Series) -> pd.Series:
    """invention / utility / design from 专利类型 (发明公开, 发明授权, 发明申请, 实用新型, 外观设计),
    else from the type digit of the application number (1, 8 → invention; 2, 9 → utility; 3 → design).
    The rule is :func:`patent_kind_arrow`; this is its pandas face (missing → None)."""

    def arrow(s: pd.Series) -> pa.Array:
        return pa.array(s.fillna("").astype(str).to_numpy(dtype=object), type=pa.large_string())

    kind = patent_kind_arrow(arrow(type_field), arrow(patent_id))
    return pd.Series(kind.to_numpy(zero_copy_only=False), index=type_field.index, dtype="object")


_KIND_DIGITS = {"1": "invention", "8": "invention", "2": "utility", "9": "utility", "3": "design"}


def patent_kind_arrow(type_field: pa.Array, patent_id: pa.Array) -> pa.Array:
    """:func:`patent_kind` on Arrow string arrays (no nulls; "" where absent) → large_string, null where
    neither the label nor the number tells. The first kind whose words the label contains wins, in the
    order of ``_KIND_WORDS``; the type digit is the 7th character of a 16-character id, else the 5th."""
    from citynet.etl.normalize import per_distinct

    kind = per_distinct(type_field, _kind_by_label)  # a handful of distinct labels
    long = pc.fill_null(pc.equal(pc.utf8_length(patent_id), 16), False)
    digit = pc.if_else(long, pc.utf8_slice_codeunits(patent_id, 6, 7), pc.utf8_slice_codeunits(patent_id, 4, 5))
    keys = pa.array(list(_KIND_DIGITS), type=pa.large_string())
    by_digit = pa.array(list(_KIND_DIGITS.values()), type=pa.large_string()).take(pc.index_in(digit, value_set=keys))
    return pc.coalesce(kind, by_digit)


def _kind_by_label(type_field: pa.Array) -> pa.Array:
    """The kind each label names (null where none): the first kind whose words it contains."""
    kind = pa.nulls(len(type_field), pa.large_string())
    for name, words in reversed(list(_KIND_WORDS.items())):  # the first kind in the table is applied last: it wins
        hit = pc.fill_null(pc.match_substring_regex(type_field, "|".join(words)), False)
        kind = pc.if_else(hit, pa.scalar(name, pa.large_string()), kind)
    return kind


# The keyword rules, as RE2 patterns (Arrow compute) that match exactly where Python's ``re`` matched the
# rules as first written (tests/name_rules_reference.py): ``\b`` before a keyword is "the start or a
# character that is not a word character" ({nw}), where Python's word characters (``str`` patterns) include
# CJK ideographs, so 华为INC has no boundary before INC (RE2's ``\b`` is ASCII: it would have one); ``\b`` after
# one is "a non-word character or the end" ({we}); ``$`` is ``\n?$`` (Python's ``$`` also matches before a final
# newline); ``(?<!科)学院`` (RE2 has no look-behind) is ``(?:^|[^科])学院``: 学院 at the start or after another
# character.
_UNIVERSITY = r"大学|(?:^|[^科])学院|学校|高等专科|UNIVERSITY|UNIVERSITAT|UNIVERSITE|COLLEGE|SCHOOL"
_INSTITUTE = r"研究院|研究所|研究中心|科学院|实验室|设计院|院所|INSTITUT|LABORATOR|ACADEMY|研究总院|工程中心"
_GOVERNMENT = r"人民政府|管理局|委员会|局\n?$|部\n?$|厅\n?$|管理处|管理站|监测站|推广站|服务中心|GOVERNMENT|MINISTRY"
_FIRM = r"公司|集团|厂\n?$|工厂|企业|合作社|商行|事务所|株式会社|有限会社|GMBH|S\.A|COMPANY|INDUSTRIES|TECHNOLOG"
# … and the firm words with a word boundary (\bINC\b, \bCORP, \bAG$ …), after one {nw} (RE2 is slow with many)
_FIRM_WORD = r"{nw}(?:(?:INC|CO|KK|OY|SPA|SAS){we}|CORP|LTD|LLC|B\.V|N\.V|PLC|(?:AG|SE|AB)\n?$)"
_PERSON_CJK = r"^[\x{4e00}-\x{9fff}·]{2,4}$"
KINDS = ("other", "individual", "government", "firm", "institute", "university")


@functools.cache
def _firm_word_pattern() -> str:
    from citynet.etl.normalize import py_re_class

    word = py_re_class(r"\w")
    return _FIRM_WORD.format(nw=f"(?:^|[^{word}])", we=f"(?:[^{word}]|$)")


def applicant_kind(names: pd.Series) -> pd.Series:
    """firm, university, institute, government, individual or other, by keywords in the normalised name.

    Precedence: a name with 大学/UNIVERSITY is a university (even with 有限公司: university-run
    firms are filed under the university's name rarely, and 大学 is the stronger signal); otherwise a
    firm word (公司, 集团, 厂, GmbH, Inc. …) makes a firm (研究院有限公司 is a firm); otherwise
    学院/学校 → university (学院 not after 科: 中国科学院 is an institute), 研究院/研究所/科学院/实验室 →
    institute, 人民政府/…局 → government; a name of two to four Chinese characters with none of these
    words is an individual; the rest ``other``. Missing names are ``other``. The rule runs in Arrow
    compute: :func:`applicant_kind_codes`."""
    from citynet.etl.normalize import to_arrow

    codes = applicant_kind_codes(to_arrow(names))
    return pd.Series(np.array(KINDS, dtype=object)[codes], index=names.index, dtype="object")


def applicant_kind_codes(names: pa.Array) -> np.ndarray:
    """:func:`applicant_kind` of an Arrow string array, as positions in ``KINDS`` (int8): seven RE2 keyword
    matches per name, combined with numpy in the order of precedence."""
    s = pc.fill_null(names, "")

    def has(pattern: str) -> np.ndarray:
        return pc.match_substring_regex(s, pattern).to_numpy(zero_copy_only=False)

    firm = has(_FIRM) | has(_firm_word_pattern())
    inst, univ, gov = has(_INSTITUTE), has(_UNIVERSITY), has(_GOVERNMENT)
    kind = np.where(has(_PERSON_CJK), 1, 0).astype(np.int8)
    kind[gov] = 2
    kind[firm] = 3
    kind[inst & ~firm] = 4
    kind[univ & ~(firm & ~has("大学|UNIVERSITY"))] = 5
    return kind


def green_inventory_path() -> Path:
    with resources.as_file(_DATA / "ipc_green_inventory_codes_only.csv") as p:
        return Path(p)
