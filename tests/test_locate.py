"""Applicant location steps of ``etl.locate`` (L1–L7) on hand-worked records."""

from __future__ import annotations

import pandas as pd
from citynet.etl.address import place_in_name
from citynet.etl.locate import foreign_by_name, locate_applicants


def run(
    rows: list[tuple[str, str, str]], addresses: list[tuple[str, str | None, str | None]]
) -> pd.DataFrame:
    app = pd.DataFrame(rows, columns=["applicant_id", "name", "kind"])
    fa = pd.DataFrame(addresses, columns=["applicant_id", "address", "province_hint"])
    return locate_applicants(app, fa).set_index("applicant_id")


def test_address_step_majority_city_and_tie_break() -> None:
    out = run(
        [("a", "甲公司", "firm"), ("b", "乙公司", "firm")],
        [
            ("a", "江苏省苏州市", None), ("a", "江苏省南京市", None), ("a", "江苏省苏州市工业园区", None),
            ("b", "江苏省苏州市", None), ("b", "江苏省南京市", None),  # tie: smallest code (南京 320100)
        ],
    )  # fmt: skip
    assert out.loc["a", "city_code"] == "320500" and out.loc["a", "located_by"] == "address"
    assert out.loc["b", "city_code"] == "320100"
    assert out.loc["a", "country"] == "CN" and out.loc["a", "province_code"] == "320000"


def test_tie_break_does_not_depend_on_input_order() -> None:
    rows = [("b", "乙公司", "firm")]
    one = run(rows, [("b", "江苏省苏州市", None), ("b", "江苏省南京市", None)])
    two = run(rows, [("b", "江苏省南京市", None), ("b", "江苏省苏州市", None)])
    assert one.loc["b", "city_code"] == two.loc["b", "city_code"] == "320100"


def test_address_uses_the_hint_and_postal_code() -> None:
    out = run(
        [("a", "甲公司", "firm"), ("b", "乙公司", "firm"), ("c", "丙公司", "firm")],
        [("a", "鼓楼区五四路", "福建(35)"), ("b", "350001 鼓楼区", None), ("c", "鼓楼区中山路", "江苏(32)")],
    )
    assert out.loc["a", "city_code"] == "350100"
    assert out.loc["b", "city_code"] == "350100"
    # 江苏 has two 鼓楼区: not guessed, the province is kept
    assert out.loc["c", "city_code"] is None
    assert out.loc["c", "located_by"] == "province_only" and out.loc["c", "province_code"] == "320000"


def test_corpus_step_same_name_other_id() -> None:
    out = run(
        [("a1", "南瑞集团有限公司", "firm"), ("a2", "南瑞集团有限公司", "firm"), ("p2", "王伟", "individual"),
         ("p1", "王伟", "individual")],
        [("a1", "江苏省南京市江宁区", None), ("p1", "北京市海淀区", None)],
    )  # fmt: skip
    assert out.loc["a2", "city_code"] == "320100" and out.loc["a2", "located_by"] == "corpus"
    # a personal name is shared by many people: no corpus step for individuals
    assert out.loc["p2", "located_by"] == "unresolved" and out.loc["p2", "city_code"] is None


def test_name_step_for_organisations_only() -> None:
    out = run(
        [("o", "南京南瑞继保电气有限公司", "firm"), ("i", "南京南瑞", "individual"),
         ("g", "国网江苏省电力有限公司南京供电分公司", "firm"), ("k", "昆山市工业技术研究院", "institute")],
        [],
    )  # fmt: skip
    assert out.loc["o", "city_code"] == "320100" and out.loc["o", "located_by"] == "name"
    assert out.loc["i", "located_by"] == "unresolved"  # individuals are never located by name
    assert out.loc["g", "city_code"] == "320100"  # province first, refined by a consistent city
    assert out.loc["k", "city_code"] == "320500"  # county-level city by full name → prefecture


def test_name_step_guards() -> None:
    assert place_in_name("中山大学")[0] is None  # 中山大学 is in 广州, not 中山
    assert place_in_name("阿里巴巴集团控股有限公司") == (None, None, None)
    assert place_in_name("鼓楼医院")[0] is None  # districts alone are not read in names
    assert place_in_name("北京东路商贸有限公司")[0] is None  # street guard
    # the applicant's own province evidence constrains the name
    assert place_in_name("南京某某科技有限公司", "440000")[0] is None


def test_name_with_a_province_only_is_province_only() -> None:
    out = run([("z", "浙江大学", "university")], [])
    assert out.loc["z", "located_by"] == "province_only" and out.loc["z", "province_code"] == "330000"
    assert out.loc["z", "city_code"] is None


def test_address_beats_name() -> None:
    out = run([("o", "南京某某科技有限公司", "firm")], [("o", "广东省深圳市南山区", "广东(44)")])
    assert out.loc["o", "city_code"] == "440300" and out.loc["o", "located_by"] == "address"


def test_name_must_agree_with_province_evidence() -> None:
    # the address gives 江苏 only (ambiguous 鼓楼区); the name says 南京 → consistent, located by name
    out = run([("o", "南京某某科技有限公司", "firm"), ("q", "上海某某科技有限公司", "firm")],
              [("o", "210000 鼓楼区", None), ("q", "210000 鼓楼区", None)])  # fmt: skip
    assert out.loc["o", "city_code"] == "320100" and out.loc["o", "located_by"] == "name"
    assert out.loc["q", "city_code"] is None and out.loc["q", "located_by"] == "province_only"


def test_foreign_by_address_hint_and_name() -> None:
    out = run(
        [("j", "索尼株式会社", "firm"), ("h", "某某有限公司", "firm"), ("s", "SIEMENS AG", "firm"),
         ("t", "台积电公司", "firm"), ("n", "松下电器产业株式会社", "firm")],
        [("j", "日本国东京都港区", None), ("h", "江苏省苏州市", "日本(JP)"), ("t", "中国台湾新竹市", None)],
    )  # fmt: skip
    assert out.loc["j", "located_by"] == "foreign" and out.loc["j", "country"] == "JP"
    assert out.loc["h", "located_by"] == "foreign" and out.loc["h", "country"] == "JP"
    assert out.loc["s", "located_by"] == "foreign" and out.loc["s", "country"] == "XX"
    assert out.loc["t", "located_by"] == "foreign" and out.loc["t", "country"] == "TW"
    assert out.loc["n", "located_by"] == "foreign" and out.loc["n", "country"] == "JP"  # by name
    assert out["city_code"].isna().loc[["j", "h", "s", "t", "n"]].all()


def test_foreign_by_name_rule() -> None:
    assert foreign_by_name("SONY CORP") == "XX"
    assert foreign_by_name("丰田自动车株式会社") == "JP"
    assert foreign_by_name("BASF SE") == "XX"
    assert foreign_by_name("华为技术有限公司") is None


def test_province_only_and_unresolved() -> None:
    out = run(
        [
            ("p", "甲公司", "firm"),
            ("x", "乙公司", "firm"),
            ("d", "丙公司", "firm"),
            ("u", "张三", "individual"),
        ],
        [("p", "江苏省某某镇", None), ("x", "鼓楼区", None), ("d", "湖北省仙桃市", None)],
    )
    assert out.loc["p", "located_by"] == "province_only" and out.loc["p", "province_code"] == "320000"
    assert out.loc["x", "located_by"] == "unresolved"  # ambiguous across provinces: not guessed
    assert out.loc["d", "located_by"] == "province_only" and out.loc["d", "province_code"] == "420000"
    assert out.loc["u", "located_by"] == "unresolved" and out.loc["u", "country"] is None


def test_never_the_first_applicants_city() -> None:
    # a co-applicant with no address of its own is not given the first applicant's city
    out = run([("first", "甲公司", "firm"), ("co", "乙公司", "firm")], [("first", "江苏省南京市", None)])
    assert out.loc["first", "city_code"] == "320100"
    assert out.loc["co", "city_code"] is None and out.loc["co", "located_by"] == "unresolved"


def test_output_shape() -> None:
    out = locate_applicants(
        pd.DataFrame({"applicant_id": ["b", "a"], "name": ["乙", "甲"], "kind": ["firm", "firm"]}),
        pd.DataFrame({"applicant_id": [], "address": [], "province_hint": []}),
    )
    assert list(out.columns) == ["applicant_id", "city_code", "province_code", "country", "located_by"]
    assert out["applicant_id"].tolist() == ["b", "a"]
    assert set(out["located_by"]) <= {"address", "corpus", "name", "province_only", "foreign", "unresolved"}
