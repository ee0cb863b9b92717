"""The gazetteer with history (``etl.cities.historical_units``, from yescallop/areacodes): hand-checked
changes of 1981–2021 map to today's city of the fixed set."""

import pytest
from citynet.etl.cities import area_history, historical_units


@pytest.mark.parametrize(
    ("name", "code", "cities"),
    [
        ("萧山县", "330121", ("330100",)),  # 撤县设市 1987 → 萧山市 → 撤市设区 2001 → 杭州
        ("萧山市", "330181", ("330100",)),
        ("富阳市", "330183", ("330100",)),  # 1994–2014
        ("绍兴县", "330621", ("330600",)),  # → 柯桥区 2013
        ("番禺市", "440181", ("440100",)),
        ("大丰市", "320982", ("320900",)),
        ("忻城县", "452231", ("451300",)),  # 柳州地区 to 2002, then 来宾市
        ("柳州地区", "452200", ("450200", "451300")),  # a 地区 split between two cities
        ("巢湖地区", "342600", ("340100", "340200", "340500")),  # 2011 split: 合肥, 芜湖, 马鞍山
        ("思茅地区", "532700", ("530800",)),  # → 思茅市 2003 → 普洱市 2007
        ("莱芜市", "371200", ("370100",)),  # merged into 济南 2019
    ],
)
def test_former_units_map_to_todays_city(name, code, cities):
    h = historical_units()
    row = h[(h["name"] == name) & (h["code"] == code)]
    assert len(row) == 1 and row["cities"].iloc[0] == cities


def test_history_covers_1981_onwards_and_every_level():
    raw = area_history()
    assert raw["start"].astype(int).min() == 1981
    assert set(raw["level"]) == {"省级", "地级", "县级"}
    assert len(raw) > 6000
