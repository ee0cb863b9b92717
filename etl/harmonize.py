"""Applicant harmonisation: name variants of one organisation → one ``applicant_id``.

A documented, conservative rule set. Every rule compares *normalised* names (``etl.normalize.
normalize_name``: NFKC, brackets unified, white space and case folded), and maps a name to a
*key*; names with the same key are one applicant. The rules, in order (the first one that changes the
key names the rule that merged it):

H1 ``renamed``     a known renaming (``etl/data/applicant_renamings.csv``: old name, new name, year and
                   the public notice it comes from) maps the old name to the new one first.
H2 ``legal_form``  a trailing Chinese legal form is dropped — 股份有限公司, 有限责任公司, 有限公司,
                   股份公司, 公司, (股份)有限公司, (有限合伙) — *when the name begins with an administrative
                   division* (南京南瑞科技…) or carries one in brackets (联想(北京)…): a firm name is
                   行政区划 + 字号 + 行业 + 组织形式, and a 字号 in one industry is unique within its division
                   (企业名称登记管理规定, State Council 1991, art. 6–7), so …股份有限公司 and …有限公司 of such
                   a stem are one firm (before and after a 股改). Without a division the stem is not unique
                   and nothing is merged. A Latin form is reduced to its class — CO LTD / CO., LTD. /
                   LIMITED / LTD → LTD, CORPORATION → CORP, INCORPORATED → INC, L.L.C. → LLC — and kept, so
                   SONY CORP. = SONY CORPORATION but KORGAL AG ≠ KORGAL CORPORATION (two jurisdictions).
H3 ``brackets``    brackets are dropped, their content kept: 联想(北京)有限公司 = 联想北京有限公司.
H4 ``punctuation`` in Latin names, punctuation and spaces are dropped (SONY CORP. = SONY CORP).

Guards (why it is conservative): individuals are never merged (a personal name is shared by many
people); a key shorter than two characters (or four Latin letters) keeps the full name; 集团, a
place qualifier or any other word inside the name is never dropped, so 中国石油化工集团 and
中国石油化工股份 stay two applicants; English and Chinese names of one firm are NOT merged (no
dictionary of translations is shipped).

The id of an applicant is the id of its *representative* name — the variant on most records (ties:
the smallest name) — so an applicant with one name keeps the id it always had (``A`` + SHA-1 of the
name). ``applicant_names.parquet`` (canonical folder) keeps every original name with its
``applicant_id`` and the rule that merged it (``identity`` for the representative).
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from citynet.etl.applicants import applicant_ids

RENAMINGS_FILE = os.path.join(os.path.dirname(__file__), "data", "applicant_renamings.csv")
RULES = ("identity", "renamed", "legal_form", "brackets", "punctuation")

_CN_FORM = re.compile(r"(?:\((?:有限合伙|普通合伙)\)|(?:\(股份\))?(?:股份有限公司|有限责任公司|有限公司|股份公司|公司))$")
_LATIN_FORMS = (
    (re.compile(r"[\s,.]*(?:CO\.?,?\s*LTD\.?|COMPANY\s+LIMITED|CO\.?,?\s*LIMITED|LIMITED|LTD\.?)$"), "LTD"),
    (re.compile(r"[\s,.]*(?:CORPORATION|CORP\.?)$"), "CORP"),
    (re.compile(r"[\s,.]*(?:INCORPORATED|INC\.?)$"), "INC"),
    (re.compile(r"[\s,.]*L\.?L\.?C\.?$"), "LLC"),
)
_BRACKETS = re.compile(r"[()]")
_LATIN_PUNCT = re.compile(r"[\s.,;:'\"&\-/]+")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _renamings() -> dict[str, str]:
    from citynet.etl.normalize import normalize_name

    table = pd.read_csv(RENAMINGS_FILE, dtype=str)
    return {normalize_name(o): normalize_name(n) for o, n in zip(table["old_name"], table["new_name"], strict=True)}


def _has_division(stem: str) -> bool:
    """The stem begins with an administrative division (南京南瑞…) or has one in brackets (联想(北京)…)."""
    from citynet.etl.address import automaton

    for end, (length, place) in automaton(False).iter(stem):
        start = end - length + 1
        if place.readings and not place.weak and (start == 0 or (stem[start - 1] == "(" and stem[end + 1 : end + 2] == ")")):
            return True
    return False


def harmonize_key(name: str, renamings: dict[str, str] | None = None) -> tuple[str, str]:
    """``(key, rule)`` of one normalised organisation name (rules H1–H4 of the module docstring).

    ``苏宁云商集团股份有限公司`` → ``("苏宁易购集团", "renamed")``; ``联想(北京)有限公司`` →
    ``("联想北京", "legal_form")``; ``SONY CORPORATION`` → ``("SONYCORP", "legal_form")``.
    """
    rule = "identity"
    key = name
    if renamings and key in renamings:
        key, rule = renamings[key], "renamed"
    cjk = bool(_CJK.search(key))
    if cjk:
        stripped = _CN_FORM.sub("", key).strip()
        if stripped != key and len(stripped) >= 2 and _has_division(stripped):
            key, rule = stripped, rule if rule != "identity" else "legal_form"
    else:
        for pattern, cls in _LATIN_FORMS:
            stripped = pattern.sub("", key).strip()
            if stripped != key and len(stripped) >= 2:
                if f"{stripped} {cls}" != key:
                    rule = rule if rule != "identity" else "legal_form"
                key = f"{stripped} {cls}"
                break
    unbracketed = _BRACKETS.sub("", key)
    if unbracketed != key and len(unbracketed) >= 2:
        key, rule = unbracketed, rule if rule != "identity" else "brackets"
    if not cjk:
        squeezed = _LATIN_PUNCT.sub("", key)
        if squeezed != key and len(squeezed) >= 4:
            key, rule = squeezed, rule if rule != "identity" else "punctuation"
    return key, rule


def name_keys(names: pd.Series, kinds: pd.Series) -> pd.DataFrame:
    """``key`` and ``rule`` of each distinct name (H1–H4; an individual keeps its name, ``identity``):
    a function of the name and its kind alone, so ``ingest --append`` keeps them for the names seen
    before. ``kinds``: aligned with ``names``. Index: name."""
    ren = _renamings()
    keyed = [harmonize_key(n, ren) if k != "individual" else (n, "identity")
             for n, k in zip(names, kinds, strict=True)]
    return pd.DataFrame({"key": [k for k, _ in keyed], "rule": [r for _, r in keyed]},
                        index=pd.Index(names.to_numpy(dtype=object), name="name"))


def harmonize_names(names: pd.Series | None, kinds: pd.Series | None = None, counts: pd.Series | None = None,
                    keys: pd.DataFrame | None = None) -> pd.DataFrame:
    """Distinct normalised names → ``name``, ``applicant_id``, ``representative``, ``rule``, ``records``.

    ``names``: one entry per record mention (its counts choose the representative), or instead
    ``counts``: the mentions of each distinct name (index: name), as a streamed ingest counts them;
    ``kinds``: the applicant kind of each distinct name (``etl.classify.applicant_kind``) — individuals
    are never merged; ``keys``: :func:`name_keys` of the names, when already known. Work is per
    distinct name.
    """
    from citynet.etl.classify import applicant_kind

    if counts is None:
        counts = names.dropna().value_counts(sort=False)
    name = counts.index.to_numpy(dtype=object)
    if not len(name):
        return pd.DataFrame(columns=["name", "applicant_id", "representative", "rule", "records"])
    records = counts.to_numpy()
    at = pd.Index(name)
    kind = (applicant_kind(pd.Series(name)) if kinds is None else _aligned(kinds, at)).to_numpy(dtype=object)
    ren = _renamings()
    if keys is None:
        keys = name_keys(pd.Series(name), pd.Series(kind))
    key = np.array(_aligned(keys["key"], at), dtype=object)  # copies: changed below
    rule = np.array(_aligned(keys["rule"], at), dtype=object)
    person = kind == "individual"
    key[person] = "\x00person\x00" + name[person]
    # representative: a renamed firm's current name, else the name on most records, then the smallest (a
    # total order: names are distinct; Arrow sorts strings by their UTF-8 bytes, which is code point order)
    old = np.isin(name, np.array(list(ren), dtype=object)) if ren else np.zeros(len(name), dtype=bool)
    order = pc.sort_indices(pa.table({"key": pa.array(key, pa.string()), "old": old, "records": records,
                                      "name": pa.array(name, pa.string())}),
                            [("key", "ascending"), ("old", "ascending"), ("records", "descending"),
                             ("name", "ascending")]).to_numpy()
    group, _ = pd.factorize(key)  # one code per key
    firsts, at_first = np.unique(group[order], return_index=True)
    rep_of = np.empty(len(firsts), dtype=np.int64)
    rep_of[firsts] = order[at_first]  # each key's representative (its row)
    representative = name[rep_of[group]]
    rule[representative == name] = "identity"
    rule[np.bincount(group)[group] == 1] = "identity"
    ids = applicant_ids(pd.Series(name[rep_of])).to_numpy(dtype=object)[group]  # a representative is one key's
    out = pc.sort_indices(pa.table({"applicant_id": pa.array(ids, pa.string()), "name": pa.array(name, pa.string())}),
                          [("applicant_id", "ascending"), ("name", "ascending")]).to_numpy()
    return pd.DataFrame({"name": pd.Series(name[out], dtype=object), "applicant_id": pd.array(ids[out], dtype="str"),
                         "representative": pd.array(representative[out], dtype="str"),
                         "rule": pd.array(rule[out], dtype="str"), "records": records[out]})


def _aligned(values: pd.Series, names: pd.Index) -> pd.Series:
    """``values`` (index: name) in the order of ``names`` (NaN where missing), as ``names.map(values)``."""
    return values if values.index.equals(names) else values.reindex(names)


def write_names_table(table: pd.DataFrame, folder) -> None:
    """``applicant_names.parquet``: every original name with its ``applicant_id`` and merging rule."""
    schema = pa.schema(
        [("applicant_id", pa.string()), ("name", pa.string()), ("rule", pa.string()), ("records", pa.int64())]
    )
    t = pa.Table.from_pandas(table[["applicant_id", "name", "rule", "records"]], preserve_index=False).cast(schema)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "applicant_names.parquet")
    pq.write_table(t, path + ".tmp")
    os.replace(path + ".tmp", path)


def merge_summary(table: pd.DataFrame) -> dict:
    """What harmonisation merged: names, applicants, names merged by each rule."""
    merged = table[table["rule"] != "identity"]
    return {
        "names": int(len(table)),
        "applicants": int(table["applicant_id"].nunique()),
        "names_merged": int(len(merged)),
        "by_rule": {k: int(v) for k, v in merged["rule"].value_counts().sort_index().items()},
    }
