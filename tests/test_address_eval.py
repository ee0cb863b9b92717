"""The location evaluation on the independent labelled set (``bench/data/address_eval_independent.csv``:
real addresses whose city label comes from their source — an official area code, a map service's
city field — see ``bench/data/PROVENANCE.md``) stays above floors set below the measured figures.

Measured (2026-12-03, ``python -m bench.address_eval``): all 4,203 rows precision 1.0000, recall
0.9921; ``full`` (province + prefecture, the patent-style address) 1.0000 / 1.0000; cpca on the same
rows 0.9877 / 0.8420. The floors are the issue's targets (precision ≥ 99.5 %, recall ≥ 99 %) overall
and on ``full``, 99 % precision on every category, and recall floors under the measured figures
(one address moves ``province_other``, n = 48, by two points; ``other`` holds street-only
addresses that name no unit, 0.66 measured).
"""

from __future__ import annotations

import pytest

from bench.address_eval import evaluate, score

RECALL_FLOORS = {
    "full": 0.99, "prefecture_first": 0.99, "province_county": 0.97, "province_other": 0.75,
    "bare_county": 0.98, "district_only": 0.8, "former_name": 0.97, "other": 0.6, "traditional": 0.97,
}  # fmt: skip


@pytest.fixture(scope="module")
def evaluated():
    return evaluate("independent")


def test_overall_precision_and_recall_meet_the_targets(evaluated) -> None:
    ours = score(evaluated["ours"], evaluated["truth"])
    assert ours["precision"] >= 0.995 and ours["recall"] >= 0.99, ours
    theirs = score(evaluated["cpca"], evaluated["truth"])
    assert ours["precision"] >= theirs["precision"] and ours["recall"] >= theirs["recall"], (ours, theirs)


@pytest.mark.parametrize("category", sorted(RECALL_FLOORS))
def test_every_category_above_its_floor(evaluated, category) -> None:
    sub = evaluated[evaluated["category"] == category]
    assert len(sub), category
    ours = score(sub["ours"], sub["truth"])
    assert ours["precision"] >= 0.99, ours
    assert ours["recall"] >= RECALL_FLOORS[category], ours
