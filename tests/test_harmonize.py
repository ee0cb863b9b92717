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
