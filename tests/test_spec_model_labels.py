"""Messages name an unnamed SPEC model by its position ("model 2"), not "model None" (analysis/designs.py:
model_label, analysis/spec.py). The expected texts are written by hand from the specs below."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from citynet.analysis.designs import model_label
from citynet.analysis.spec import run_spec
from citynet.etl.cities import city_set

from citynet.errors import AnalysisError
from citynet.workspace import Workspace


def _workspace(tmp_path):
    codes = city_set().cities["city_code"].tolist()[:40]
    rng = np.random.default_rng(0)
    rows = [pd.DataFrame({"city_code": codes, "year": t, "x": rng.normal(size=len(codes)),
                          "y": rng.normal(size=len(codes))}) for t in (2010, 2011, 2012)]
    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.metrics.mkdir()
    pd.concat(rows).to_parquet(ws.panel("city-year"), index=False)
    return ws


GOOD = {"formula": "y ~ x | city_code + year"}


@pytest.mark.parametrize("spec, words", [
    # the second model has no name and no formula
    ({"models": [{"name": "base", **GOOD}, {"kind": "fit"}]}, "model 2 has no formula"),
    # an unknown kind, third of three
    ({"models": [GOOD, GOOD, {"kind": "dd"}]}, "model 3: unknown kind 'dd'"),
    # a key the kind does not read, first model, second table of two
    ({"tables": [{"name": "a", "models": [GOOD]}, {"name": "b", "models": [{**GOOD, "fe": "year"}]}]},
     "model 1 of table 'b' (kind 'fit'): fe = \"year\" is not read"),
    # a named model keeps its name
    ({"models": [{"name": "base", "kind": "fit"}]}, "model 'base' has no formula"),
])
def test_an_unnamed_model_is_named_by_its_position(tmp_path, spec, words):
    ws = _workspace(tmp_path)
    with pytest.raises(AnalysisError) as e:
        run_spec(spec, ws)
    assert words in str(e.value) and "None" not in str(e.value)


def test_model_label_without_position_names_the_kind():
    assert model_label({"kind": "did"}) == "the did model"
    assert model_label({"name": "m1", "_position": 2}) == "model 'm1'"
    assert model_label({"_position": 2, "_table": "t"}) == "model 2 of table 't'"
