"""Policy files (etl/policy_docs.py): implausible years and unknown tool classes are quarantined, not loaded.

Hand-made rows: 1815 is before 1949 (no provincial policy of the People's Republic is older); next year is in the
future; 1949 and this year are the bounds and load. 供给型；其他 names a known class beside an unknown one: it
loaded as supply alone (gjs 1 instead of what the coder meant), now it is quarantined naming '其他'.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from citynet.etl.policy_docs import read_policy_docs, unknown_tools


def test_years_outside_1949_to_this_year_and_unknown_tool_classes_are_quarantined(tmp_path):
    now = date.today().year
    f = tmp_path / "p.csv"
    pd.DataFrame({
        "省份": ["广东省", "广东省", "广东省", "广东省", "江苏", "江苏", "江苏", "浙江"],
        "年份": ["1815", str(now + 1), "1949", str(now), "2015", "2015", "2015.0", "2016"],
        "发文机构": ["科技厅", "科技厅", "科技厅", "科技厅", "科技厅;财政厅", "科技厅", "科技厅", "科技厅"],
        "政策工具": ["供给型", "供给型", "供给型", "需求型", "供给型；其他", "supply, demand", "foo/bar", "环境型"],
    }).to_csv(f, index=False)
    loaded, quarantined, n = read_policy_docs(f)
    assert n == 8 and len(loaded) + len(quarantined) == 8
    assert loaded["source_row"].tolist() == [4, 5, 7, 9]
    assert loaded["year"].tolist() == [1949, now, 2015, 2016]
    q = quarantined.set_index("source_row")
    assert q["reason_code"].to_dict() == {2: "year_out_of_range", 3: "year_out_of_range", 6: "unknown_tool_class",
                                          8: "no_tool_class"}
    assert q.loc[2, "reason"] == f"year before 1949 or after {now}: 1815"
    assert q.loc[6, "reason"].endswith(": '其他' (beside supply)") and q.loc[6, "field"] == "政策工具"
    assert q.loc[8, "reason"].endswith("none found in the text: 'foo', 'bar'")
    assert unknown_tools("供给型、 需求型") == [] and unknown_tools("Supply;其他") == ["其他"]
