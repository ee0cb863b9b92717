"""The applicant facts in Arrow compute (session 17): ``applicant_kind``, ``name_keys``/``harmonize_key`` and
``has_division`` against the plain-Python rules they replace (``tests/name_rules_reference.py``, the code of
session 16 kept verbatim: the ingest's outputs must not change), on a few thousand varied names, and against
hand-worked values for the names where RE2 and Python's ``re`` part ways (Unicode ``\\b``, ``$`` before a final
newline, the look-behind of ``(?<!科)学院``, Unicode white space)."""

import random
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from citynet.etl.address import lexicon
from citynet.etl.classify import applicant_kind
from citynet.etl.harmonize import _renamings, harmonize_key, has_division, name_keys
from citynet.etl.normalize import normalize_name, py_re_class

from tests import name_rules_reference as ref


@pytest.mark.parametrize("cls", [r"\w", r"\s"])
def test_python_classes_in_re2_match_what_python_matches(cls):
    """Every code point (surrogates aside: not in UTF-8): RE2 with the class body matches it exactly when
    Python's ``re`` matches it with the class."""
    codes = np.r_[0:0xD800, 0xE000:0x110000]
    chars = pa.array([chr(c) for c in codes], pa.large_string())
    got = pc.match_substring_regex(chars, f"^[{py_re_class(cls)}]$").to_numpy(zero_copy_only=False)
    want = np.array([re.fullmatch(cls, chr(c)) is not None for c in codes])
    assert (got == want).all(), [hex(c) for c in codes[got != want][:10]]
    assert got.sum() > (100_000 if cls == r"\w" else 20)  # CJK ideographs are word characters


# name pieces: real places of the address lexicon (strong, weak, foreign), stems, industries, forms
def _places():
    lex = lexicon(False)
    strong = sorted(t for t, p in lex.items() if p.readings and not p.weak)
    weak = sorted(t for t, p in lex.items() if p.weak)
    foreign = sorted(t for t, p in lex.items() if not p.readings)
    return strong, weak, foreign


STEMS = ["南瑞", "华为", "腾讯", "晶科", "海尔", "格力", "中兴", "比亚迪", "京东方", "升宏", "TCL", "科", "学院", "院所"]
INDUSTRIES = ["", "科技", "电子", "信息技术", "生物医药", "新能源", "集团", "机械", "医疗器械", "环保"]
CN_FORMS = ["", "", "有限公司", "股份有限公司", "有限责任公司", "股份公司", "公司", "(股份)有限公司", "(有限合伙)",
            "(普通合伙)", "集团有限公司", "厂", "工厂", "研究院", "研究所", "大学", "学院", "科学院", "职业技术学院",
            "管理局", "人民政府", "局", "部", "厅", "实验室", "研究院有限公司", "大学出版社有限公司", "服务中心",
            "合作社", "株式会社", "科学院大学", "学校", "高等专科学校", "设计院"]
LATIN = ["SONY", "SIEMENS", "A.B.C.", "MAX-PLANCK", "O'REILLY", "AT&T", "3M", "BASF", "KORGAL", "ACME", "X",
         "HUAWEI TECHNOLOGIES", "SAMSUNG ELECTRONICS", "CO", "INC", "AB", "SE", "BIG_CO", "ÉCOLE", "ΑΒΓ"]
LATIN_FORMS = ["", " CORP", " CORP.", " CORPORATION", " INC", " INC.", " INCORPORATED", ", INC.", " CO., LTD",
               " CO LTD", " CO.,LTD.", " COMPANY LIMITED", " CO. LIMITED", " LIMITED", " LTD", " LTD.", " L.L.C.",
               " LLC", "LLC", " GMBH", " AG", " SE", " AB", " OY", " KK", " S.A.", " SPA", " SAS", " B.V.", " N.V.",
               " PLC", " UNIVERSITY", " INSTITUTE OF TECHNOLOGY", " COLLEGE", " LABORATORIES", " TECHNOLOGIES",
               " GOVERNMENT", " MINISTRY", " ACADEMY", " UNIVERSITAT", " SCHOOL", "  CO.,\u3000LTD", " CO.,\xa0LTD"]
GLUE = ["", "", "", "", " ", "\u3000", "\xa0", "\n", "\t", "_", "·", "(", ")", "()", "  "]
SURNAMES = ["张", "王", "李", "欧阳", "司马", "刘", "陈"]
GIVEN = ["伟", "娜", "娜娜", "建国", "小明", "丽", "·古丽", "·安"]
ODD = ["", " ", "\n", "()", "(", ")", "公司", "有限公司", "(股份)有限公司", "A", "AB", "LTD", "CO", "INC.", "学院",
       "科学院", "学院\n", "局\n", "厂\n", "华为INC", "华为 INC", "INC华为", "华为CO", "ΑΒΓ INC", "ÉCOLE SE", "3M CO",
       "_INC", "X_LTD", "\u3000公司", "北京\n", "(北京)", "((北京))", "(北京", "北京)", "·张伟", "张伟·", "张·伟·明",
       "TCL集团股份有限公司", "苏宁云商集团股份有限公司", "青岛海尔股份有限公司", "青岛海尔股份有限公司\n",
       "南京南瑞科技有限公司\n", "SONY CORP\n", "SONY CO., LTD\n", "ACME L.L.C.\n", "KORGAL AG\n", "X SE\n"]


def _varied_names(n: int, seed: int) -> list[str]:
    strong, weak, foreign = _places()
    ren = list(_renamings()) + list(_renamings().values())
    rng = random.Random(seed)
    out = list(ODD)
    while len(out) < n:
        c = rng.random()
        place = rng.choice(rng.choice([strong, strong, weak, foreign, STEMS]))
        stem, ind = rng.choice(STEMS), rng.choice(INDUSTRIES)
        if c < 0.35:  # Chinese organisation: division first, in brackets, or none
            how = rng.randrange(4)
            body = [place + stem + ind, stem + "(" + place + ")" + ind, stem + ind + "(" + place + ")",
                    stem + ind][how]
            name = body + rng.choice(CN_FORMS)
        elif c < 0.6:  # Latin, sometimes after or before Chinese
            name = rng.choice(LATIN) + rng.choice(LATIN_FORMS)
            if rng.random() < 0.15:
                name = rng.choice([place, stem]) + rng.choice(["", " "]) + name
            if rng.random() < 0.05:
                name = name + "(" + place + ")"
        elif c < 0.8:  # individuals and near-individuals
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", "", "", "伟", "某某", "A"])
        elif c < 0.9:  # renamed firms and their neighbours
            name = rng.choice(ren) + rng.choice(["", "", "(北京)", "有限公司"])
        else:
            name = rng.choice(ODD) + rng.choice(CN_FORMS + LATIN_FORMS)
        glue = rng.choice(GLUE)
        where = rng.randrange(3)
        name = [glue + name, name + glue, name[: len(name) // 2] + glue + name[len(name) // 2 :]][where]
        out.append(name)
    return out


@pytest.mark.parametrize("normalised", [True, False])
def test_vectorised_rules_equal_the_python_rules_on_varied_names(normalised):
    """A few thousand names, raw and as the ingest normalises them (``normalize_name``: no newlines, one
    kind of white space): kind, key and rule of each equal those of the plain-Python rules."""
    raw = _varied_names(4000, seed=17)
    names = [normalize_name(x) for x in raw] if normalised else raw
    names = pd.Series(list(dict.fromkeys(x for x in names if x is not None)), dtype=object)
    want_kind = ref.applicant_kind(names)
    got_kind = applicant_kind(names)
    assert got_kind.tolist() == want_kind.tolist()
    assert got_kind.index.equals(names.index)
    want = ref.name_keys(names, want_kind)
    got = name_keys(names, got_kind)
    assert got.index.equals(want.index)
    diff = [(n, g, w) for n, g, w in zip(names, zip(got["key"], got["rule"], strict=True),
                                         zip(want["key"], want["rule"], strict=True), strict=True) if g != w]
    assert not diff, diff[:10]
    # the sample reaches every rule and every kind
    assert set(want["rule"]) == {"identity", "renamed", "legal_form", "brackets", "punctuation"}
    assert set(want_kind) == {"firm", "university", "institute", "government", "individual", "other"}


def test_each_kind_of_input_series_gives_the_same_kinds():
    names = _varied_names(600, seed=3)
    want = ref.applicant_kind(pd.Series(names, dtype=object)).tolist()
    for dtype in (object, "str", pd.StringDtype("pyarrow"), pd.ArrowDtype(pa.large_string())):
        assert applicant_kind(pd.Series(names, dtype=dtype)).tolist() == want
    assert applicant_kind(pd.Series([None, np.nan, "张伟"], dtype=object)).tolist() == ["other", "other", "individual"]


def test_has_division_equals_the_automaton_scan():
    strong, weak, foreign = _places()
    rng = random.Random(5)
    stems = ["", "(", ")", "()", "(北京", "北京)", "((北京))", "(北京)(上海)", "联想(北京)", "联想(北京市)",
             "联想(X北京)", "联想(北京X)", "联想()北京"]
    for _ in range(1500):
        place = rng.choice(rng.choice([strong, weak, foreign]))
        stem = rng.choice(STEMS)
        stems.append(rng.choice([place + stem, stem + place, stem + "(" + place + ")", stem + "(" + place + ")" + stem,
                                 "(" + place + ")" + stem, stem + "(" + place + stem + ")", stem + "((" + place + "))",
                                 place[:-1] + stem, stem + "(" + place + ")" + "(" + stem + ")"]))
    got = has_division(pa.array(stems, pa.large_string()))
    want = np.array([ref._has_division(s) for s in stems])
    assert (got == want).all(), [s for s, g, w in zip(stems, got, want, strict=True) if g != w][:10]
    assert 0.2 < want.mean() < 0.8
    assert has_division(pa.array([], pa.large_string())).shape == (0,)


# hand-worked: (name, kind, key, rule) by the rules of the docstrings of etl.classify and etl.harmonize
HAND = [
    # 科学院 is an institute word; 学院 after 科 is not a university's
    ("中国科学院大连化学物理研究所", "institute", "中国科学院大连化学物理研究所", "identity"),
    ("学院路科技有限公司", "firm", "学院路科技有限公司", "identity"),  # 学院 at the start: a university word, but a
    ("中国科学院大学", "university", "中国科学院大学", "identity"),  # firm; 大学 wins over all
    # Python's \b is Unicode: 为 is a word character, so INC right after it is no firm word
    ("华为INC", "other", "华为INC", "identity"),
    ("华为 INC", "firm", "华为 INC", "identity"),  # a Chinese name: no Latin form is dropped
    # Python's $ also matches before a final newline: 局 ends the name, 有限公司 is a trailing form; and the
    # white space that H2 strips after dropping a form is "dropped" even when no form was (a quirk kept)
    ("南京市环境保护局\n", "government", "南京市环境保护局", "legal_form"),
    ("南京南瑞科技有限公司\n", "firm", "南京南瑞科技", "legal_form"),
    # Latin forms: reduced to their class, then punctuation and spaces dropped
    ("SONY CO., LTD", "firm", "SONYLTD", "legal_form"),
    ("SIEMENS AG", "firm", "SIEMENSAG", "punctuation"),
    ("ACME L.L.C", "other", "ACMELLC", "legal_form"),  # L.L.C is no firm word (LLC is)
    ("SONY CO.,\u3000LTD", "firm", "SONYLTD", "legal_form"),  # U+3000 is white space for Python's \s
    ("LTD", "firm", "LTD", "identity"),  # the stem would be empty: kept
    # divisions: first, or alone in brackets; a weak short name (昆山) is none
    ("联想(北京)有限公司", "firm", "联想北京", "legal_form"),
    ("华为技术(深圳)有限公司", "firm", "华为技术深圳", "legal_form"),
    ("昆山华为技术有限公司", "firm", "昆山华为技术有限公司", "identity"),
    ("升宏医疗器械股份有限公司", "firm", "升宏医疗器械股份有限公司", "identity"),
    ("北京大学出版社有限公司", "university", "北京大学出版社", "legal_form"),
    # renamed: the new name, whose own form stays without a division
    ("苏宁云商集团股份有限公司", "firm", "苏宁易购集团股份有限公司", "renamed"),
    ("青岛海尔股份有限公司", "firm", "海尔智家股份有限公司", "renamed"),
    # individuals keep their name; · counts, five characters do not
    ("玛丽·安", "individual", "玛丽·安", "identity"),
    ("欧阳·娜娜", "other", "欧阳·娜娜", "identity"),
    ("", "other", "", "identity"),
    ("(股份)有限公司", "firm", "股份有限公司", "brackets"),
    # a quirk kept: H2 strips the white space at the ends after looking for a form, and counts that as a
    # change (normalised names have none there)
    ("SONY ", "other", "SONYLTD", "legal_form"),
]


def test_hand_worked_names():
    names = pd.Series([h[0] for h in HAND], dtype=object)
    kinds = applicant_kind(names)
    keys = name_keys(names, kinds)
    got = list(zip(names, kinds, keys["key"], keys["rule"], strict=True))
    assert got == HAND
    want_kinds = ref.applicant_kind(names)  # the reference agrees with the hand
    want = [(n, k, *(ref.harmonize_key(n, _renamings()) if k != "individual" else (n, "identity")))
            for n, k in zip(names, want_kinds, strict=True)]
    assert want == HAND


def test_harmonize_key_without_renamings_is_the_rule_of_one_name():
    for name in ["苏宁云商集团股份有限公司", "SONY CORPORATION", "联想(北京)有限公司", "A.B.C. INDUSTRIES", "张伟"]:
        assert harmonize_key(name) == ref.harmonize_key(name)
        assert harmonize_key(name, _renamings()) == ref.harmonize_key(name, _renamings())
    assert harmonize_key("苏宁云商集团股份有限公司") == ("苏宁云商集团股份有限公司", "identity")
