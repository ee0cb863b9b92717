"""Spatial kinds of SPEC files: Moran's I per year and the SDM with its LeSage–Pace effects."""

import numpy as np
import pandas as pd
from citynet.analysis import spatial as S
from citynet.analysis.spec import run_spec
from citynet.etl.cities import city_set

from citynet.workspace import Workspace


def synthetic_workspace(tmp_path, rho=0.4, beta=1.0, theta=0.5, years=range(2010, 2016), seed=1):
    """A city-year panel whose lny follows a planted SDM on the inverse-distance W."""
    rng = np.random.default_rng(seed)
    codes = city_set().cities["city_code"].tolist()
    w = S.inverse_distance()
    n = len(codes)
    inv = np.linalg.inv(np.eye(n) - rho * w.matrix)
    eta = rng.normal(0, 0.5, n)
    rows = []
    for t in years:
        x = rng.normal(0, 1, n)
        ln_y = inv @ (x * beta + w.matrix @ x * theta + eta + rng.normal(0, 0.3, n))
        rows.append(pd.DataFrame({"city_code": codes, "year": t, "x": x, "lny": ln_y}))
    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.metrics.mkdir()
    pd.concat(rows).to_parquet(ws.panel("city-year"), index=False)
    return ws


def test_sdm_and_moran_from_a_spec(tmp_path):
    ws = synthetic_workspace(tmp_path)
    spec = {
        "spec": {"title": "spatial"},
        "tables": [
            {"name": "moran", "models": [{"name": "moran", "kind": "moran", "var": "lny", "scatter_years": [2012]}]},
            {"name": "sdm", "models": [{"name": "SDM", "kind": "sdm", "y": "lny", "x": ["x"], "effects_draws": 200}]},
        ],
    }
    out = run_spec(spec, ws)
    moran = pd.read_csv(ws.results / "moran.csv")
    assert moran["year"].tolist() == list(range(2010, 2016)) and (moran["I"] > 0).all()
    assert (ws.results / "moran_scatter_2012.png").stat().st_size > 0
    coef, direct, indirect, total = out.results["sdm"]
    assert abs(coef.params["rho"] - 0.4) < 4 * coef.se["rho"]
    assert abs(coef.params["x"] - 1.0) < 4 * coef.se["x"]
    assert abs(coef.params["W*x"] - 0.5) < 4 * coef.se["W*x"]
    # the effects equal the dense LeSage–Pace computation at the estimates
    w = S.inverse_distance()
    dense = S.effects_dense(np.array([coef.params["x"]]), np.array([coef.params["W*x"]]), coef.params["rho"], w.matrix)
    assert np.isclose(direct.params["x"], dense["direct"].iloc[0], atol=1e-8)
    assert np.isclose(total.params["x"], dense["total"].iloc[0], atol=1e-8)
    assert "moran" not in out.tables  # figures only
    assert (ws.results / "sdm.md").exists()


def test_sdm_fixed_effects_spelled_as_the_other_kinds_spell_them(tmp_path):
    """fe = "city_code + year" (the other kinds' spelling) is the two-way SDM: it was a ValueError inside the
    estimator, shown as "cannot be estimated on this sample"; another value is one message naming both spellings."""
    import pytest

    from citynet.errors import AnalysisError

    ws = synthetic_workspace(tmp_path, years=range(2010, 2013))

    def sdm(fe):
        model = {"name": "SDM", "kind": "sdm", "y": "lny", "x": ["x"], "effects_draws": 20, "fe": fe}
        return run_spec({"tables": [{"name": "sdm", "models": [model]}]}, ws).results["sdm"][0]

    twoway = sdm("twoway")
    assert sdm("city_code + year").params.equals(twoway.params)
    assert sdm("city_code").params.equals(sdm("city").params)
    with pytest.raises(AnalysisError, match="absorb city effects or city and year effects") as err:
        sdm("province_code")
    assert 'fe = "twoway"' in err.value.fix
