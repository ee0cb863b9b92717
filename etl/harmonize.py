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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from citynet.etl.applicants import applicant_ids
from citynet.etl.normalize import as_mask

RENAMINGS_FILE = os.path.join(os.path.dirname(__file__), "data", "applicant_renamings.csv")
RULES = ("identity", "renamed", "legal_form", "brackets", "punctuation")

# The rules as RE2 patterns (Arrow compute), matching exactly where Python's ``re`` matched them as first
# written (tests/name_rules_reference.py): ``{s}`` is Python's ``\s`` (Unicode white space; RE2's is ASCII),
# and a trailing form ends in ``(\n?)$``, put back by the replacement ``\1``, because Python's ``$`` also
# matches before a final newline (then kept, and stripped with the white space after the form).
_CN_FORM = r"(?:\((?:有限合伙|普通合伙)\)|(?:\(股份\))?(?:股份有限公司|有限责任公司|有限公司|股份公司|公司))(\n?)$"
_LATIN_FORMS = (
    (r"[{s},.]*(?:CO\.?,?[{s}]*LTD\.?|COMPANY[{s}]+LIMITED|CO\.?,?[{s}]*LIMITED|LIMITED|LTD\.?)(\n?)$", "LTD"),
    (r"[{s},.]*(?:CORPORATION|CORP\.?)(\n?)$", "CORP"),
    (r"[{s},.]*(?:INCORPORATED|INC\.?)(\n?)$", "INC"),
    (r"[{s},.]*L\.?L\.?C\.?(\n?)$", "LLC"),
)
_BRACKETS = r"[()]"
_LATIN_PUNCT = r"[{s}.,;:'\"&\-/]+"
_CJK = r"[\x{3400}-\x{9fff}]"


def _renamings() -> dict[str, str]:
    from citynet.etl.normalize import normalize_name

    table = pd.read_csv(RENAMINGS_FILE, dtype=str)
    return {normalize_name(o): normalize_name(n) for o, n in zip(table["old_name"], table["new_name"], strict=True)}


def _re2(pattern: str) -> str:
    from citynet.etl.normalize import py_re_class

    return pattern.format(s=py_re_class(r"\s"))


def has_division(stems: pa.Array) -> np.ndarray:
    """Whether each stem begins with an administrative division (南京南瑞…) or has one in brackets
    (联想(北京)…): a place name of the address lexicon (``etl.address``) with readings and not weak (a short
    district name alone is not a division), equal to the stem's first characters or to the whole text
    between a ``(`` and the next ``)``. Place names hold no brackets, so these are all the places the
    address automaton finds at the start or between brackets. Arrow compute: a slice per place-name
    length and a split at the brackets, each looked up in the set of place names."""
    from citynet.etl.address import lexicon

    strong = [text for text, place in lexicon(False).items() if place.readings and not place.weak]
    places = pa.array(strong, pa.large_string())
    hit = np.zeros(len(stems), dtype=bool)
    if not len(stems) or not strong:
        return hit
    for length in sorted({len(t) for t in strong}):
        hit |= as_mask(pc.is_in(pc.utf8_slice_codeunits(stems, 0, length), value_set=places))
    parts = pc.split_pattern(stems, "(")  # the text after each "(" up to the next "(" …
    owner = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
    later = np.arange(len(owner)) - parts.offsets.to_numpy()[owner] > 0
    closed = pc.split_pattern(pc.list_flatten(parts).filter(pa.array(later)), ")", max_splits=1)
    shut = as_mask(pc.equal(pc.list_value_length(closed), 2))  # … then up to its ")", if any
    inside = pc.list_element(closed.filter(pa.array(shut)), 0)
    hit[owner[later][shut][as_mask(pc.is_in(inside, value_set=places))]] = True
    return hit


def harmonize_key(name: str, renamings: dict[str, str] | None = None) -> tuple[str, str]:
    """``(key, rule)`` of one normalised organisation name (rules H1–H4 of the module docstring):
    :func:`name_keys_arrow` of one name.

    ``苏宁云商集团股份有限公司`` with ``renamings=_renamings()`` → ``("苏宁易购集团股份有限公司", "renamed")``
    (no division: its form stays); ``联想(北京)有限公司`` → ``("联想北京", "legal_form")``;
    ``SONY CORPORATION`` → ``("SONYCORP", "legal_form")``. ``renamings`` None: no renaming.
    """
    key, rule = name_keys_arrow(pa.array([name], pa.large_string()), np.zeros(1, dtype=bool), renamings or {})
    return key[0].as_py(), RULES[rule[0]]


def name_keys(names: pd.Series, kinds: pd.Series) -> pd.DataFrame:
    """``key`` and ``rule`` of each distinct name (H1–H4; an individual keeps its name, ``identity``):
    a function of the name and its kind alone, so ``ingest --append`` keeps them for the names seen
    before. ``kinds``: aligned with ``names``. Index: name. The rule runs in Arrow compute
    (:func:`name_keys_arrow`)."""
    from citynet.etl.normalize import to_arrow

    key, rule = name_keys_arrow(to_arrow(names), (kinds == "individual").to_numpy(dtype=bool))
    return pd.DataFrame({"key": key.to_numpy(zero_copy_only=False).astype(object),
                         "rule": np.array(RULES, dtype=object)[rule]},
                        index=pd.Index(names.to_numpy(dtype=object), name="name"))


def name_keys_arrow(names: pa.Array, person: np.ndarray,
                    renamings: dict[str, str] | None = None) -> tuple[pa.Array, np.ndarray]:
    """Key (large_string) and rule (positions in ``RULES``, int8) of each name of an Arrow string array
    without nulls; ``person``: the individuals (their key is the name, ``identity``). ``renamings``: H1's
    table (default: ``etl/data/applicant_renamings.csv``). Each rule H1–H4 is a few Arrow kernels (RE2
    replacements, comparisons, lengths in characters) over the names it applies to: H2's Chinese forms
    over the names with a CJK character (those that lose one are looked up by :func:`has_division`),
    the Latin forms and H4 over the others; the first rule that changes a key names it, as one name at a
    time would."""
    from citynet.etl.normalize import strip_arrow

    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    names = names.cast(pa.large_string())
    rule_of = np.zeros(len(names), dtype=np.int8)
    firms = np.flatnonzero(~np.asarray(person, dtype=bool))
    key = names.take(pa.array(firms))
    rule = np.zeros(len(key), dtype=np.int8)
    ren = _renamings() if renamings is None else renamings
    if ren:  # H1
        at = pc.index_in(key, value_set=pa.array(list(ren), pa.large_string()))
        rule[as_mask(pc.is_valid(at))] = RULES.index("renamed")
        key = pc.coalesce(pa.array(list(ren.values()), pa.large_string()).take(at), key)

    def update(current, where, new, code):  # the key becomes ``new`` where ``where``; the rule, if none yet
        rule[where & (rule == 0)] = RULES.index(code)
        return pc.replace_with_mask(current, pa.array(where), new.filter(pa.array(where)))

    cjk = as_mask(pc.match_substring_regex(key, _CJK))
    han, latin = np.flatnonzero(cjk), np.flatnonzero(~cjk)
    sub = key.take(pa.array(han))  # H2, Chinese forms: dropped when the stem has a division
    stripped = strip_arrow(pc.replace_substring_regex(sub, _CN_FORM, r"\1"))
    cut = as_mask(pc.not_equal(stripped, sub)) & (_length(stripped) >= 2)
    cut[cut] = has_division(stripped.filter(pa.array(cut)))
    key = update(key, _spread(han, cut, len(key)), _spread_values(han, stripped, key), "legal_form")

    sub = key.take(pa.array(latin))  # H2, Latin forms: the first one found becomes its class
    done = np.zeros(len(sub), dtype=bool)
    formed = sub
    for pattern, cls in _LATIN_FORMS:
        stripped = strip_arrow(pc.replace_substring_regex(sub, _re2(pattern), r"\1"))
        now = ~done & as_mask(pc.not_equal(stripped, sub)) & (_length(stripped) >= 2)
        form = pc.binary_join_element_wise(stripped, pa.scalar(cls, pa.large_string()),
                                           pa.scalar(" ", pa.large_string()))
        formed = pc.if_else(pa.array(now), form, formed)
        done |= now
    changed = done & as_mask(pc.not_equal(formed, sub))
    rule[latin[changed & (rule[latin] == 0)]] = RULES.index("legal_form")
    key = pc.replace_with_mask(key, pa.array(_spread(latin, done, len(key))), formed.filter(pa.array(done)))

    unbracketed = pc.replace_substring_regex(key, _BRACKETS, "")  # H3
    key = update(key, as_mask(pc.not_equal(unbracketed, key)) & (_length(unbracketed) >= 2),
                 unbracketed, "brackets")

    sub = key.take(pa.array(latin))  # H4 (Latin names only)
    squeezed = pc.replace_substring_regex(sub, _re2(_LATIN_PUNCT), "")
    now = as_mask(pc.not_equal(squeezed, sub)) & (_length(squeezed) >= 4)
    key = update(key, _spread(latin, now, len(key)), _spread_values(latin, squeezed, key), "punctuation")

    rule_of[firms] = rule
    return pc.replace_with_mask(names, pa.array(~np.asarray(person, dtype=bool)), key), rule_of


def _length(arr) -> np.ndarray:
    """Lengths in characters (code points, as Python's ``len``; null: 0)."""
    return pc.fill_null(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)


def _spread(at: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """A mask of ``n`` positions: ``mask`` (over the positions ``at``) put back in place."""
    out = np.zeros(n, dtype=bool)
    out[at[mask]] = True
    return out


def _spread_values(at: np.ndarray, values: pa.Array, like: pa.Array) -> pa.Array:
    """``like`` with ``values`` (over the positions ``at``) put back in place."""
    mask = np.zeros(len(like), dtype=bool)
    mask[at] = True
    return pc.replace_with_mask(like, pa.array(mask), values)


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
