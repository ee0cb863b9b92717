"""Covariate rows keyed by the code of an abolished prefecture (etl/covariates.py, docs/methods.md reason table).

By hand: 巢湖市 (341400, a prefecture 1999–2011) was abolished in 2011 and its counties went to 合肥 (居巢区 →
县级巢湖市, 庐江县), 芜湖 (无为县) and 马鞍山 (和县, 含山县); its predecessor 巢湖地区 (342600, 1981–1999) covers
the same area. A split prefecture's values belong to no one city: the row is quarantined, and the reason
says so instead of "matches no city". 999999 is no code at all and stays `unknown_city`.
"""

from __future__ import annotations

import pandas as pd
from citynet.etl.covariates import load_covariates
from citynet.etl.quarantine import Quarantine


def test_a_split_prefecture_code_is_quarantined_saying_what_became_of_it(tmp_path):
    f = tmp_path / "gdp.csv"
    f.write_text("city_code,year,gdp\n341400,2010,1\n340100,2010,2\n342600,1995,3\n999999,2010,4\n341422,2010,5\n",
                 encoding="utf-8")
    q = Quarantine()
    table, rep = load_covariates(f, q)
    assert table["city_code"].tolist() == ["340100"] and (rep["rows_read"], rep["rows_loaded"]) == (5, 1)
    rej = pd.concat(q.frames).sort_values("source_row")
    assert rej["source_row"].tolist() == [2, 4, 5, 6]
    assert rej["reason_code"].tolist() == ["abolished_city", "abolished_city", "unknown_city", "abolished_city"]
    reasons = rej["reason"].tolist()
    assert reasons[0].endswith("341400 is 巢湖市, abolished in 2011; its area is now split among 合肥市, 芜湖市, 马鞍山市")
    assert reasons[1].endswith("342600 is 巢湖地区, abolished in 1999; its area is now split among 合肥市, 芜湖市, 马鞍山市")
    assert "matches no city" not in reasons[0] and reasons[2].endswith(": 999999")
    assert reasons[3].endswith("341422 is 无为县, abolished in 2011; its area is now in 芜湖市")
    assert q.counts() == {str(f): {"abolished_city": 3, "unknown_city": 1}}


def test_a_file_keyed_only_by_the_abolished_code_says_what_became_of_it(tmp_path):
    import pytest

    from citynet.errors import DataError

    f = tmp_path / "chaohu.csv"
    f.write_text("city_code,year,gdp\n341400,2009,1\n341400,2010,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="341400 is 巢湖市, abolished in 2011; its area is now split among 合肥市, 芜湖市, 马鞍山市"):
        load_covariates(f, Quarantine())
