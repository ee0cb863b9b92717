"""Applicant harmonisation (``etl.harmonize``): hand-worked merges, the guards, and the ingest hook."""

import csv
import hashlib

import pandas as pd
from citynet.etl.harmonize import harmonize_key, harmonize_names
from citynet.etl.normalize import app_number_check_digit, normalize_name
from citynet.etl.pipeline import ingest

from citynet.workspace import Workspace


def names(*raw: str) -> pd.Series:
    return pd.Series([normalize_name(x) for x in raw])


def test_rules_hand_worked():
    assert harmonize_key("南京南瑞科技股份有限公司") == ("南京南瑞科技", "legal_form")
    assert harmonize_key("联想(北京)有限公司") == ("联想北京", "legal_form")
    assert harmonize_key("浙江大学") == ("浙江大学", "identity")
    assert harmonize_key("SONY CORPORATION") == ("SONYCORP", "legal_form")
    assert harmonize_key("SONY CORP")[0] == "SONYCORP"
    assert harmonize_key("A.B.C. INDUSTRIES") == ("ABCINDUSTRIES", "punctuation")
    # no administrative division: the stem is not unique, nothing is dropped
    assert harmonize_key("升宏医疗器械股份有限公司") == ("升宏医疗器械股份有限公司", "identity")


def test_variants_merge_and_keep_every_name():
    t = harmonize_names(names(
        "南京南瑞科技有限公司", "南京南瑞科技有限公司", "南京南瑞科技股份有限公司",
        "苏宁云商集团股份有限公司", "苏宁易购集团股份有限公司", "SONY CORP.", "Sony Corporation",
    ))  # fmt: skip
    by = t.set_index("name")
    assert by.loc["南京南瑞科技股份有限公司", "applicant_id"] == by.loc["南京南瑞科技有限公司", "applicant_id"]
    # the representative (most records) keeps the id it always had: A + SHA-1 of the name
    assert by.loc["南京南瑞科技有限公司", "applicant_id"] == "A" + hashlib.sha1("南京南瑞科技有限公司".encode()).hexdigest()[:16]
    assert by.loc["南京南瑞科技股份有限公司", "rule"] == "legal_form"
    assert by.loc["苏宁云商集团股份有限公司", "applicant_id"] == by.loc["苏宁易购集团股份有限公司", "applicant_id"]
    assert by.loc["苏宁易购集团股份有限公司", "representative"] == "苏宁易购集团股份有限公司"  # the current name
    assert by.loc["苏宁云商集团股份有限公司", "rule"] == "renamed"
    assert by.loc["SONY CORP", "applicant_id"] == by.loc["SONY CORPORATION", "applicant_id"]
    assert len(t) == 6 and t["applicant_id"].nunique() == 3


def test_guards_keep_different_organisations_apart():
    t = harmonize_names(names("中国石油化工集团公司", "中国石油化工股份有限公司", "张伟", "张伟", "华为技术有限公司",
                              "HUAWEI TECHNOLOGIES CO LTD", "北京大学", "北京大学出版社", "KORGAL AG",
                              "KORGAL CORPORATION", "升宏医疗器械有限公司", "升宏医疗器械股份有限公司"))
    assert t["applicant_id"].nunique() == len(t)  # nothing merged
    assert (t["rule"] == "identity").all()


def test_ingest_uses_one_id_and_writes_the_names_table(tmp_path):
    def appno(serial):
        d = f"20151{serial:07d}"
        return f"CN{d}.{app_number_check_digit(d)}"

    path = tmp_path / "export.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["申请号", "申请日", "申请人", "申请人地址", "分类号"])
        w.writerow([appno(1), "20150312", "南京南瑞科技有限公司", "江苏省南京市鼓楼区中山北路8号", "H01M8/04"])
        w.writerow([appno(2), "20150312", "南京南瑞科技股份有限公司", "", "H01M8/04"])
        w.writerow([appno(3), "20150312", "南京南瑞科技（股份）有限公司;南京南瑞科技有限公司", "", "H01M8/04"])
    ws = Workspace.open(tmp_path / "ws", create=True)
    report = ingest(ws, [path])
    apps = pd.read_parquet(ws.canonical / "applicants.parquet")
    assert len(apps) == 1 and apps["city_code"].iloc[0] == "320100"  # located by the variant's address
    names_t = pd.read_parquet(ws.canonical / "applicant_names.parquet")
    assert sorted(names_t["name"]) == sorted(["南京南瑞科技(股份)有限公司", "南京南瑞科技有限公司", "南京南瑞科技股份有限公司"])
    assert names_t["applicant_id"].nunique() == 1
    pa_ = pd.read_parquet(ws.canonical / "patent_applicants.parquet")
    assert len(pa_) == 3 and pa_["city_code"].eq("320100").all()  # one link per patent and firm
    assert report["applicants"]["harmonised"]["names_merged"] == 2
    assert report["addresses"]["by_status"]["city"] == 1


def test_representatives_and_ids_follow_the_rule_on_many_names():
    """The grouping of ``harmonize_names`` (session 16: Arrow sorts and integer codes instead of pandas sorts
    of strings) against the rule of the module docstring written out in plain Python: per key, the
    representative is a renamed firm's current name, else the name on most records, then the smallest; its
    id ``A`` + SHA-1; ``identity`` for the representative and for a name alone in its key; rows by id, then
    name. Random names from a few stems and legal forms (many ties in records), individuals, a renaming."""
    import random

    from citynet.etl.classify import applicant_kind
    from citynet.etl.harmonize import _renamings, name_keys

    rng = random.Random(16)
    stems = ["南京南瑞科技", "北京华为技术", "联想(北京)", "上海电气", "浙江大学", "SONY", "KORGAL", "张伟", "李娜"]
    forms = ["", "有限公司", "股份有限公司", "公司", " CORP", " CORPORATION", " CO LTD", " INC."]
    raw = {normalize_name(rng.choice(stems) + rng.choice(forms) + rng.choice(["", "", "", "甲", "乙"]))
           for _ in range(400)} | {normalize_name("苏宁云商集团股份有限公司"), normalize_name("苏宁易购集团股份有限公司")}
    counts = pd.Series([rng.choice([1, 1, 2, 3, 5]) for _ in raw], index=pd.Index(sorted(raw), dtype=object))
    kinds = applicant_kind(pd.Series(counts.index)).set_axis(counts.index)
    keys = name_keys(pd.Series(counts.index), pd.Series(kinds.to_numpy()))
    got = harmonize_names(None, kinds=kinds, counts=counts, keys=keys)

    ren = _renamings()
    groups: dict[str, list[str]] = {}
    for n in counts.index:
        k = "\x00person\x00" + n if kinds[n] == "individual" else keys.loc[n, "key"]
        groups.setdefault(k, []).append(n)
    want = []
    for members in groups.values():
        rep = min(members, key=lambda n: (n in ren, -counts[n], n))
        aid = "A" + hashlib.sha1(rep.encode()).hexdigest()[:16]
        for n in members:
            rule = "identity" if n == rep or len(members) == 1 else keys.loc[n, "rule"]
            want.append((aid, n, rep, rule, int(counts[n])))
    want.sort()
    rows = list(zip(got["applicant_id"], got["name"], got["representative"], got["rule"], got["records"], strict=True))
    assert [(a, n, r, ru, int(c)) for a, n, r, ru, c in rows] == want
    assert len(groups) < len(counts)  # some names were merged


def test_applicant_ids_are_the_sha1_of_the_utf8_bytes():
    """The ids (computed in DuckDB) equal ``hashlib``'s SHA-1 of each name's UTF-8 bytes, in the input's
    order and index; a missing name has none."""
    from citynet.etl.applicants import applicant_ids

    names = ["南京南瑞科技有限公司", "SONY CORPORATION", "𠀋𡈽科技（深圳）有限公司", "é", "a b", "南京南瑞科技有限公司",
             None, "张三"] * 3
    series = pd.Series(names, index=[f"r{i}" for i in range(len(names))], dtype=object)
    got = applicant_ids(series)
    want = [None if n is None else "A" + hashlib.sha1(n.encode("utf-8")).hexdigest()[:16] for n in names]
    assert got.tolist() == want and list(got.index) == list(series.index)
    assert applicant_ids(pd.Series([], dtype=object)).tolist() == []
