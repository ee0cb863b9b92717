"""Covariate rows keyed by former prefectures and by county-level units (etl/covariates.py resolve_city_keys,
etl/cities.py prefecture_successors; docs/methods.md reason table, docs/configuration.md §3).

Every expected value is worked by hand from the published history of China's administrative divisions (the
国务院 approvals, as listed in the Ministry of Civil Affairs' yearly code tables 行政区划代码):

- 思茅地区 532700 → 地级思茅市 530800 (国务院 2003: 撤销思茅地区，设立地级思茅市) → renamed 普洱市 530800
  (国务院 2007: 思茅市更名为普洱市). The whole 地区 became the one city, nothing else joined it: a yearbook row
  keyed 532700 (or 思茅地区, 思茅市) holds 普洱's own data.
- 铜仁地区 522200 → 铜仁市 520600 and 毕节地区 522400 → 毕节市 520500 (国务院 2011: 撤地设市); 吐鲁番地区
  652100 → 吐鲁番市 650400 (2015); 哈密地区 652200 → 哈密市 650500 (2016); 廊坊地区 132800 → 廊坊市 131000 (1988);
  哲里木盟 152300 → 通辽市 150500 (1999): the same kind of upgrade.
- 襄樊市 420600 → 襄阳市 (国务院 2010: 更名), the code kept: a former name of the city.
- 巢湖市 341400 (地级 1999–2011) split in 2011 among 合肥 (居巢区 → 县级巢湖市 340181, 庐江县), 芜湖 (无为县) and
  马鞍山 (和县, 含山县) (国务院 2011): its values are no one city's. From 2011 the name 巢湖市 is the county-level city
  340181 of 合肥.
- 莱芜市 371200 merged into 济南市 in 2019 (国务院 2019: 撤销莱芜市，将其所辖区域划归济南市管辖), and 南通地区 322500
  merged with 南通市 320600 in 1983 (江苏 市管县, 国务院 1983): today's city was made of the former unit *and*
  another one, so the former unit's values are not the city's.
- 昆山市 320583 is a county-level city of 苏州 (撤县设市 1989): its figures are a county's, as by its code.
"""

from __future__ import annotations

import pandas as pd
import pytest
from citynet.etl.cities import prefecture_successors
from citynet.etl.covariates import load_covariates
from citynet.etl.quarantine import Quarantine


def test_the_rule_on_hand_checked_renames_upgrades_splits_and_merges():
    s = prefecture_successors()
    assert {c: s.get(c) for c in ("532700", "522200", "522400", "652100", "652200", "132800", "152300")} == {
        "532700": "530800", "522200": "520600", "522400": "520500", "652100": "650400", "652200": "650500",
        "132800": "131000", "152300": "150500"}
    # a split (巢湖市, 巢湖地区), a merge (莱芜, 1983 南通地区, 宁波地区), a code still in use (420600 襄阳): none
    assert not {"341400", "342600", "371200", "322500", "332200", "420600"} & set(s)


def _load(tmp_path, text, name="gdp.csv"):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    q = Quarantine()
    table, rep = load_covariates(f, q)
    rej = pd.concat(q.frames).sort_values("source_row") if q.frames else pd.DataFrame(
        columns=["source_file", "source_row", "field", "reason_code", "reason"])
    return f, table, rep, rej


def test_a_former_prefecture_code_of_one_city_loads_as_that_city_and_is_counted(tmp_path):
    f, table, rep, rej = _load(tmp_path, "city_code,year,gdp\n532700,2002,10\n532700,2005,12\n532700,2006,13\n"
                                         "522200,2010,20\n530100,2005,99\n")
    assert table.set_index(["city_code", "year"])["gdp"].to_dict() == {
        ("520600", 2010): 20, ("530100", 2005): 99, ("530800", 2002): 10, ("530800", 2005): 12, ("530800", 2006): 13}
    assert rep["former_keys"] == {"rows": 4, "loaded_as": ["522200 铜仁地区 → 520600 铜仁市",
                                                           "532700 思茅地区 → 530800 普洱市"]}
    assert (rep["rows_read"], rep["rows_loaded"], rep["rows_quarantined"]) == (5, 5, 0) and rej.empty
    assert "county_keys" not in rep


def test_former_names_of_one_city_load_as_it_and_are_counted(tmp_path):
    _, table, rep, _ = _load(tmp_path, "城市,年份,gdp\n思茅地区,2001,1\n思茅市,2005,2\n普洱市,2008,3\n襄樊市,2009,4\n"
                                       "襄阳市,2011,5\n")
    assert table.set_index(["city_code", "year"])["gdp"].to_dict() == {
        ("420600", 2009): 4, ("420600", 2011): 5, ("530800", 2001): 1, ("530800", 2005): 2, ("530800", 2008): 3}
    assert rep["former_keys"] == {"rows": 3, "loaded_as": ["532700 思茅地区 → 530800 普洱市", "思茅市 → 530800 普洱市",
                                                           "襄樊市 → 420600 襄阳市"]}


def test_splits_and_merges_stay_quarantined_by_code_and_by_name(tmp_path):
    f, table, rep, rej = _load(tmp_path, "city_code,城市,year,gdp\n341400,,2008,1\n,巢湖市,2008,2\n,巢湖,2009,3\n"
                                         "371200,,2015,4\n,莱芜市,2015,5\n322500,,1982,6\n341400,合肥市,2008,7\n"
                                         "340100,合肥市,2008,8\n,无为县,2005,9\n")
    assert table[["city_code", "year"]].values.tolist() == [["340100", 2008]] and table["gdp"].tolist() == [8]
    assert rep["rows_read"] == 9 == rep["rows_loaded"] + rep["rows_quarantined"] == 1 + len(rej)
    assert rej["source_row"].tolist() == [2, 3, 4, 5, 6, 7, 8, 10]
    assert rej["reason_code"].tolist() == ["abolished_city"] * 8
    assert rej["field"].tolist() == ["city_code", "城市", "城市", "city_code", "城市", "city_code", "city_code", "城市"]
    assert (rej["source_file"] == str(f)).all()
    chaohu = "341400 is 巢湖市, abolished in 2011; its area is now split among 合肥市, 芜湖市, 马鞍山市"
    reasons = rej["reason"].tolist()
    assert all(r.endswith(chaohu) for r in (reasons[0], reasons[1], reasons[2], reasons[6]))
    assert reasons[3].endswith("371200 is 莱芜市, abolished in 2018; its area is now in 济南市; a merge: today's 济南市 "
                               "also holds the area of 370100 济南市, 372400 德州地区 of those years, so its values are "
                               "not the city's")
    assert reasons[4] == reasons[3]
    assert reasons[5].endswith("322500 is 南通地区, abolished in 1983; its area is now in 南通市; a merge: today's 南通市 "
                               "also holds the area of 320600 南通市 of those years, so its values are not the city's")
    assert reasons[7].endswith("341422 is 无为县, abolished in 2011; its area is now in 芜湖市")


def test_a_county_level_name_is_read_as_its_code_and_the_citys_own_row_wins(tmp_path):
    """昆山市 by name is 320583, a county-level city: loaded as 苏州's and counted with the county codes
    (county_keys, the ingest warning) — it was quarantined as unknown_city while its code loaded with the warning.
    巢湖市 in 2015 is the county-level city 340181 of 合肥 (2011): 合肥市's own row of 2015 is kept although it
    stands below it; 鼓楼区 (南京, 福州, 徐州, 开封) is no one unit: unknown_city."""
    _, table, rep, rej = _load(tmp_path, "城市,年份,gdp\n昆山市,2010,1\n巢湖市,2015,2\n合肥市,2015,3\n鼓楼区,2015,4\n")
    assert table.set_index(["city_code", "year"])["gdp"].to_dict() == {("320500", 2010): 1, ("340100", 2015): 3}
    assert rep["county_keys"] == {"rows": 1, "examples": [("昆山市", "320500")]}
    assert rej["source_row"].tolist() == [3, 5] and rej["reason_code"].tolist() == ["duplicate", "unknown_city"]
    assert rej["reason"].iloc[0].endswith("city and year already given on row 4, with other values: gdp '3' kept, "
                                          "'2' here")


def test_ingest_says_the_rows_loaded_as_their_successor(tmp_path, capsys):
    from citynet.etl.normalize import app_number_check_digit

    from citynet.cli import main

    export = tmp_path / "p.csv"
    export.write_text(f"申请号,申请日,申请人,申请人地址,IPC分类号\nCN201510000001.{app_number_check_digit('201510000001')},"
                      "2015-01-02,甲公司,云南省普洱市思茅区,H01M10/00\n", encoding="utf-8")
    cov = tmp_path / "gdp.csv"
    cov.write_text("city_code,year,gdp\n532700,2004,1\n532700,2005,2\n532700,2006,3\n530100,2005,9\n",
                   encoding="utf-8")
    try:
        main(["ingest", "-w", str(tmp_path / "ws"), str(export), "--covariates", str(cov)])
    except SystemExit as exc:
        pytest.fail(f"ingest exited {exc.code}: {capsys.readouterr().err}")
    captured = capsys.readouterr()
    out = " ".join((captured.out + captured.err).split())
    assert ("gdp.csv: 3 rows keyed by former codes or names were loaded as their successor city: 532700 思茅地区 → "
            "530800 普洱市") in out, out


def test_a_code_beside_a_former_or_county_name_is_said(tmp_path):
    """A code column filled from a crosswalk that folds 巢湖 into 合肥 (340100 beside 巢湖市 of 2008, a prefecture
    split in 2011) is a city_key_conflict, and 合肥市's own row of 2008 is kept wherever it stands; 320500 beside
    昆山市 (a county-level city of 苏州) loads as 苏州's and is counted with the county keys."""
    f, table, rep, rej = _load(tmp_path, "city_code,城市,year,gdp\n340100,巢湖市,2008,1\n340100,合肥市,2008,2\n"
                                         "320500,昆山市,2010,3\n")
    assert table.set_index(["city_code", "year"])["gdp"].to_dict() == {("320500", 2010): 3, ("340100", 2008): 2}
    assert rej["source_row"].tolist() == [2] and rej["reason_code"].tolist() == ["city_key_conflict"]
    assert rej["field"].tolist() == ["城市"]
    assert rej["reason"].iloc[0].endswith("340100 is 合肥市, 巢湖市 is a former unit: 341400 is 巢湖市, abolished in "
                                          "2011; its area is now split among 合肥市, 芜湖市, 马鞍山市")
    assert rep["county_keys"] == {"rows": 1, "examples": [("昆山市", "320500")]}
    assert rep["rows_read"] == 3 == rep["rows_loaded"] + rep["rows_quarantined"]
