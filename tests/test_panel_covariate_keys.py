"""The Python API's covariate join (``analysis.panel.assemble_panel`` → ``key_covariates``) keys rows as
``citynet ingest --covariates`` does (``etl.covariates.load_covariates``), and every row it does not load is in
its ``Coverage`` with the reason — none is dropped silently.

Expected values are worked by hand from the history of China's administrative divisions, the cases of
tests/test_covariate_successors.py (the 国务院 approvals, as the Ministry of Civil Affairs' code tables list them):
思茅地区 532700 became 地级思茅市 530800 in 2003, renamed 普洱市 in 2007 (one city as a whole: loaded as 530800);
地级巢湖市 341400 was split in 2011 among 合肥, 芜湖 and 马鞍山 (its values of 2008 are no one city's: not loaded),
and from 2011 巢湖市 is the county-level city 340181 of 合肥 (a county key of 合肥); 昆山市 320583 is a county-level
city of 苏州 (a county key of 320500); 莱芜市 371200 was merged into 济南 in 2019 (not loaded); 襄樊市 was renamed
襄阳市 in 2010, the code 420600 kept.

Before, the API matched keys with ``match_city_keys``: 巢湖市 of 2008 loaded as 合肥's 2008 values, 巢湖市 of 2015
took 合肥's place over 合肥市's own row of 2015 (dropped without a word, as was any repeated city-year), 思茅地区,
532700 and 昆山市 matched nothing, and 320583 loaded as 苏州 without the county note.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.panel import assemble_panel, key_covariates

from citynet.errors import DataError
from tests.cli import invoke


def _metrics(codes, years) -> pd.DataFrame:
    return pd.DataFrame({"city_code": np.repeat(codes, len(years)), "year": np.tile(years, len(codes)),
                         "green_patents": np.arange(len(codes) * len(years))})


def _gdp(panel: pd.DataFrame) -> dict:
    g = panel.set_index(["city_code", "year"])["gdp"]
    return {k: v for k, v in g.items() if pd.notna(v)}


def test_names_of_the_row_year_former_prefectures_county_keys_and_repeats():
    """A DataFrame keyed by names: 巢湖市 of 2008 is the split prefecture (not loaded, abolished_city); 巢湖市 of
    2015 is 合肥's county-level city, and 合肥市's own row of 2015 wins although it stands below (the county row:
    duplicate); 思茅地区 is 普洱 (former key); 昆山市 is 苏州's (county key); 合肥市 2016 given twice keeps the
    first (duplicate, named); 不存在市 is unknown_city; a row without a year is bad_year. Rows read 9 = 4 loaded +
    5 reported."""
    metrics = _metrics(["320500", "340100", "530800"], [2008, 2015, 2016])
    cov = pd.DataFrame({"城市": ["巢湖市", "巢湖市", "合肥市", "思茅地区", "昆山市", "合肥市", "合肥市", "不存在市", "合肥市"],
                        "年份": [2008, 2015, 2015, 2008, 2016, 2016, 2016, 2008, None],
                        "gdp": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]})
    panel, rep = assemble_panel(metrics, cov, policies=False)
    # by hand: 合肥 2015 = 3 (its own row), 合肥 2016 = 6 (the first of two), 普洱 2008 = 4, 苏州 2016 = 5 (昆山市)
    assert _gdp(panel) == {("320500", 2016): 5.0, ("340100", 2015): 3.0, ("340100", 2016): 6.0,
                           ("530800", 2008): 4.0}
    assert panel["green_patents"].tolist() == list(range(9)) and len(panel) == 9  # the panel's rows, untouched
    assert (rep.covariate_rows, rep.matched_rows) == (9, 4)
    assert rep.quarantined_by_reason == {"abolished_city": 1, "bad_year": 1, "duplicate": 2, "unknown_city": 1}
    q = rep.quarantine
    assert q["source_row"].tolist() == [0, 1, 6, 7, 8]  # .iloc positions of the DataFrame
    assert q["reason_code"].tolist() == ["abolished_city", "duplicate", "duplicate", "unknown_city", "bad_year"]
    assert q["field"].tolist() == ["城市", "年份", "年份", "城市", "年份"]
    assert q["reason"][0].endswith("341400 is 巢湖市, abolished in 2011; its area is now split among 合肥市, 芜湖市, 马鞍山市")
    assert q["reason"][1].endswith("city and year already given on row 2, with other values: gdp '3.0' kept, '2.0' here")
    assert q["reason"][2].endswith("city and year already given on row 5, with other values: gdp '6.0' kept, '7.0' here")
    assert rep.unmatched_keys == ["不存在市", "巢湖市"]
    assert rep.county_keys == {"rows": 1, "examples": [("昆山市", "320500")]}
    assert rep.former_keys == {"rows": 1, "loaded_as": ["532700 思茅地区 → 530800 普洱市"]}
    assert (rep.panel_rows, rep.panel_rows_without_covariates) == (9, 5)
    text = str(rep)
    for said in ("4/9 rows loaded (key: 城市), 5 not loaded: abolished_city 1, bad_year 1, duplicate 2, unknown_city 1",
                 "iloc 0 (城市): abolished_city", "split among 合肥市, 芜湖市, 马鞍山市", "iloc 6 (年份): duplicate",
                 "county keys: 1 row was keyed by the code or name of a district, county or county-level city loaded "
                 "as their city's values (昆山市 → 320500)",
                 "former keys: 1 row was keyed by former codes or names loaded as their successor city: 532700 思茅地区 → "
                 "530800 普洱市", "unmatched keys: 不存在市, 巢湖市"):
        assert said in text, (said, text)
    assert cov["城市"].tolist()[0] == "巢湖市" and list(cov.columns) == ["城市", "年份", "gdp"]  # the input untouched


def test_codes_of_a_file_former_county_split_and_merge(tmp_path):
    """A CSV keyed by codes: 532700 (思茅地区) loads as 530800 普洱; 320583 (昆山) as 苏州 with the county note,
    except in 2010 where 苏州's own row 320500 (below it) wins; 341400 (巢湖, split) and 371200 (莱芜, merged)
    are abolished_city with what became of them. Rows are the file's lines (header on line 1)."""
    f = tmp_path / "gdp.csv"
    f.write_text("city_code,year,gdp\n532700,2005,10\n320583,2005,20\n341400,2008,30\n320583,2010,21\n320500,2010,40\n"
                 "371200,2015,50\n", encoding="utf-8")
    panel, rep = assemble_panel(_metrics(["320500", "340100", "530800"], [2005, 2008, 2010]), f, policies=False)
    assert _gdp(panel) == {("320500", 2005): 20, ("320500", 2010): 40, ("530800", 2005): 10}
    assert (rep.covariate_rows, rep.matched_rows, rep.source, rep.key_column) == (6, 3, str(f), "city_code")
    assert rep.quarantined_by_reason == {"abolished_city": 2, "duplicate": 1}
    q = rep.quarantine
    assert q["source_row"].tolist() == [4, 5, 7] and (q["source_file"] == str(f)).all()
    assert q["reason_code"].tolist() == ["abolished_city", "duplicate", "abolished_city"]
    assert q["reason"][0].endswith("341400 is 巢湖市, abolished in 2011; its area is now split among 合肥市, 芜湖市, 马鞍山市")
    assert q["reason"][1].endswith("city and year already given on row 6, with other values: gdp '40' kept, '21' here")
    assert "371200 is 莱芜市, abolished in 2018; its area is now in 济南市; a merge" in q["reason"][2]
    assert rep.unmatched_keys == ["341400", "371200"]
    assert rep.county_keys == {"rows": 1, "examples": [("320583", "320500")]}
    assert rep.former_keys == {"rows": 1, "loaded_as": ["532700 思茅地区 → 530800 普洱市"]}
    assert rep.cities_without_covariates == ["340100"]
    assert "row 4 (city_code): abolished_city" in str(rep) and "row 5 (year): duplicate" in str(rep)


def test_a_table_of_no_city_stops_with_what_became_of_its_units():
    """Every row a former unit (巢湖市 of 2008) or unknown: nothing would join, so it stops (as ingest does) with
    the keys tried and what became of 巢湖."""
    cov = pd.DataFrame({"城市": ["巢湖市", "Atlantis"], "年份": [2008, 2008], "gdp": [1.0, 2.0]})
    with pytest.raises(DataError) as e:
        key_covariates(cov)
    assert "巢湖市" in e.value.message and "Atlantis" in e.value.message
    assert "341400 is 巢湖市, abolished in 2011" in e.value.message


YEARBOOK = """2002—2016年 部分地级市主要经济指标
单位：亿元、万人
城市,年份,地区生产总值（亿元）,年末总人口（万人）,第二产业比重,备注
合肥市,2015,"5,660.27",717.7,53.4%,
巢湖市,2008,368.1*,461.2,40.1%,
巢湖市,2015,"1,000",80.0,50.0%,
思茅地区,2002,70.2,242.1,20.5%,
普洱市,2010,260.1,254.3,30.2%,
昆山市,2015,"3,080.01",165.0,53.8%,初步核算
南京市,2015,"9,720.77",653.4,40.3%,
南京,2015,"9,720.77",653.4,40.3%,
鼓楼区,2015,1.0,1.0,1.0%,
襄樊市,2009,"1,201",590.0,55.0%,
合肥市,—,"1,000",1,1%,
苏州市,2014,"14,504.07",1061.6,48.6%,
"""


def test_the_api_keys_a_yearbook_table_as_the_ingest_canonical_covariates(tmp_path, capsys):
    """One yearbook download (GB18030, a title and a unit line above the header, thousands separators, a footnote
    mark, percents, a dash for a missing year, a text column): ``citynet ingest --covariates`` writes
    ``canonical/covariates.parquet`` and ``quarantine/covariates__yearbook.csv``; the API, given the file or the
    table a user reads with pandas, keys the same rows to the same values and reports the same rows not loaded.
    By hand: 7 of 12 rows load (南京 2015, 苏州 2014, 苏州 2015 by 昆山市, 合肥 2015, 襄阳 2009 by 襄樊市, 普洱 2002 by
    思茅地区 and 2010); 巢湖市 2008 abolished, 巢湖市 2015 (合肥's county) and 南京 repeat rows, 鼓楼区 (four cities
    have one) unknown, 合肥市 — without a year."""
    from citynet.etl.normalize import app_number_check_digit

    f = tmp_path / "yearbook.csv"
    f.write_bytes(YEARBOOK.encode("gb18030"))
    export = tmp_path / "p.csv"
    export.write_text(f"申请号,申请日,申请人,申请人地址,IPC分类号\nCN201510000001.{app_number_check_digit('201510000001')},"
                      "2015-01-02,甲公司,江苏省南京市玄武区,H01M10/00\n", encoding="utf-8")
    ws = tmp_path / "ws"
    code, _, err = invoke(capsys, "ingest", "-w", ws, export, "--covariates", f)
    assert code == 0, err
    canonical = pd.read_parquet(ws / "canonical" / "covariates.parquet")
    hand = {("320100", 2015): 9720.77, ("320500", 2014): 14504.07, ("320500", 2015): 3080.01,
            ("340100", 2015): 5660.27, ("420600", 2009): 1201.0, ("530800", 2002): 70.2, ("530800", 2010): 260.1}
    assert canonical.set_index(["city_code", "year"])["地区生产总值_亿元"].to_dict() == hand
    assert list(canonical.columns) == ["city_code", "year", "地区生产总值_亿元", "年末总人口_万人", "第二产业比重"]

    table, rep = key_covariates(f)
    pd.testing.assert_frame_equal(table, canonical.astype({"year": "int64", "city_code": object}))
    as_read = pd.read_csv(f, encoding="gb18030", skiprows=2, dtype=str, keep_default_na=False)
    table_df, rep_df = key_covariates(as_read)
    pd.testing.assert_frame_equal(table_df, canonical.astype({"year": "int64", "city_code": object}))

    quarantined = pd.read_csv(ws / "quarantine" / "covariates__yearbook.csv", encoding="utf-8-sig", dtype=str)
    cols = ["source_row", "field", "reason_code", "reason"]
    assert quarantined["source_row"].astype(int).tolist() == [5, 6, 11, 12, 14]
    assert quarantined["reason_code"].tolist() == ["abolished_city", "duplicate", "duplicate", "unknown_city",
                                                   "bad_year"]
    assert rep.quarantine[cols].astype(str).values.tolist() == quarantined[cols].values.tolist()
    # the DataFrame's rows are counted from 0 (the file's line 4 is .iloc 0): the same rows, the same reasons
    assert (rep_df.quarantine["source_row"] + 4).tolist() == [5, 6, 11, 12, 14]
    assert rep_df.quarantine["reason_code"].tolist() == quarantined["reason_code"].tolist()

    ingest_rep = json.loads((ws / "reports" / "ingest.json").read_text(encoding="utf-8"))["covariates"][0]
    for r in (rep, rep_df):
        assert (r.covariate_rows, r.matched_rows) == (ingest_rep["rows_read"], ingest_rep["rows_loaded"]) == (12, 7)
        assert r.quarantined_by_reason == {"abolished_city": 1, "bad_year": 1, "duplicate": 2, "unknown_city": 1}
        assert json.loads(json.dumps(r.county_keys)) == ingest_rep["county_keys"] == {
            "rows": 1, "examples": [["昆山市", "320500"]]}
        assert r.former_keys == ingest_rep["former_keys"] == {
            "rows": 2, "loaded_as": ["532700 思茅地区 → 530800 普洱市", "襄樊市 → 420600 襄阳市"]}
        assert r.report["dropped_columns"] == ingest_rep["dropped_columns"] == ["备注"]
        assert "columns without any number left out: 备注" in str(r)

    # the panel the API assembles from the file is the one fit assembles from canonical/covariates.parquet
    metrics = _metrics(["320100", "320500", "340100", "420600", "530800"], [2002, 2009, 2010, 2014, 2015])
    from_file, _ = assemble_panel(metrics, f)
    from_canonical, rep_c = assemble_panel(metrics, canonical)
    pd.testing.assert_frame_equal(from_file, from_canonical)
    assert rep_c.covariate_rows == rep_c.matched_rows == 7 and rep_c.quarantined_by_reason == {}
    assert from_file.set_index(["city_code", "year"])["第二产业比重"].dropna().to_dict() == {
        ("320100", 2015): 40.3, ("320500", 2014): 48.6, ("320500", 2015): 53.8, ("340100", 2015): 53.4,
        ("420600", 2009): 55.0, ("530800", 2002): 20.5, ("530800", 2010): 30.2}


def test_citynets_own_name_column_is_a_key():
    """A frame keyed by ``name_zh`` (the city set's and the exports' column: a user merging an export back) loads:
    the old API read that header, the ingest's list lacked it (南京市 320100, 苏州市 320500)."""
    cov = pd.DataFrame({"name_zh": ["南京市", "苏州市"], "year": [2015, 2015], "gdp": [1.0, 2.0]})
    panel, rep = assemble_panel(_metrics(["320100", "320500"], [2015]), cov, policies=False)
    assert _gdp(panel) == {("320100", 2015): 1.0, ("320500", 2015): 2.0}
    assert rep.matched_rows == 2 and rep.covariate_rows == 2
