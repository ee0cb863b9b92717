"""The applicant-name rules as they were written in plain Python before session 17 (``etl.classify.
applicant_kind`` with pandas ``str.contains`` on object strings, ``etl.harmonize.harmonize_key`` one name at a
time), kept verbatim as the outside reference of the vectorised rules (``tests/test_name_rules.py``): the
outputs of an ingest must not change. Python's ``re`` semantics (Unicode ``\\b`` and ``\\s``, ``$`` before a
final newline, the look-behind ``(?<!科)``) are the point of the comparison. Do not "fix" these."""

from __future__ import annotations

import re

import pandas as pd

_UNIVERSITY = r"大学|(?<!科)学院|学校|高等专科|UNIVERSITY|UNIVERSITAT|UNIVERSITE|COLLEGE|SCHOOL"
_INSTITUTE = r"研究院|研究所|研究中心|科学院|实验室|设计院|院所|INSTITUT|LABORATOR|ACADEMY|研究总院|工程中心"
_GOVERNMENT = r"人民政府|管理局|委员会|局$|部$|厅$|管理处|管理站|监测站|推广站|服务中心|GOVERNMENT|MINISTRY"
_FIRM = (
    r"公司|集团|厂$|工厂|企业|合作社|商行|事务所|株式会社|有限会社|GMBH|\bINC\b|\bCORP|\bLTD|\bCO\b|\bAG$|\bLLC|"
    r"S\.A|\bSE$|\bB\.V|\bN\.V|\bPLC|\bKK\b|\bAB$|\bOY\b|\bSPA\b|\bSAS\b|COMPANY|INDUSTRIES|TECHNOLOG"
)
_PERSON_CJK = r"^[\u4e00-\u9fff·]{2,4}$"


def applicant_kind(names: pd.Series) -> pd.Series:
    s = names.astype(object).fillna("")  # object strings: Python's re (as the ingest passed them)
    kind = pd.Series("other", index=names.index, dtype="object")
    firm = s.str.contains(_FIRM, regex=True)
    inst = s.str.contains(_INSTITUTE, regex=True)
    univ = s.str.contains(_UNIVERSITY, regex=True)
    gov = s.str.contains(_GOVERNMENT, regex=True)
    person = s.str.fullmatch(_PERSON_CJK).fillna(False)
    kind[person] = "individual"
    kind[gov] = "government"
    kind[firm] = "firm"
    kind[inst & ~firm] = "institute"
    kind[univ & ~(firm & ~s.str.contains("大学|UNIVERSITY", regex=True))] = "university"
    return kind


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


def _has_division(stem: str) -> bool:
    from citynet.etl.address import automaton

    for end, (length, place) in automaton(False).iter(stem):
        start = end - length + 1
        if place.readings and not place.weak and (start == 0 or (stem[start - 1] == "(" and stem[end + 1 : end + 2] == ")")):
            return True
    return False


def harmonize_key(name: str, renamings: dict[str, str] | None = None) -> tuple[str, str]:
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
    from citynet.etl.harmonize import _renamings

    ren = _renamings()
    keyed = [harmonize_key(n, ren) if k != "individual" else (n, "identity")
             for n, k in zip(names, kinds, strict=True)]
    return pd.DataFrame({"key": [k for k, _ in keyed], "rule": [r for _, r in keyed]},
                        index=pd.Index(names.to_numpy(dtype=object), name="name"))
