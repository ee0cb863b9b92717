"""Rambachan–Roth confidence sets under relative magnitudes Δ^RM(M̄) against the authors' HonestDiD.

Reference numbers: ``tests/references/honestdid.R`` (HonestDiD 0.2.8's R files, lpSolveAPI, TruncatedNormal)
→ ``tests/references/honestdid.json``; the cases are HonestDiD's README example (TWFE event study of the
Medicaid expansion, five pre and two post periods; first-year and average effect), a one-post-period
version of it (HonestDiD's no-nuisance path) and the package's ``BCdata_EventStudy`` (four post periods).

* ``Conditional`` (no simulation): the same grid points are accepted, so the sets are equal.
* ``C-LF`` simulates the least-favourable critical value (1,000 draws); R's generator cannot be matched,
  so citynet's set must lie within the spread of HonestDiD's own seeds, widened by two grid steps.
* The identified sets equal HonestDiD's ``.compute_IDset_DeltaRM``.
* At HonestDiD's default grid the README's printed C-LF sets (three significant digits) are reproduced
  to two grid steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from citynet.analysis.honest import rm_bounds
from citynet.analysis.honest_rm import rm_confidence_sets, rm_constraints

from citynet.errors import AnalysisError

REF = json.loads((Path(__file__).parent / "references" / "honestdid.json").read_text())
CASES = {c["name"]: c for c in REF["cases"]}


def _inputs(case):
    return (np.asarray(case["betahat"], float), np.asarray(case["sigma"], float).reshape(len(case["betahat"]), -1),
            case["npre"], case["npost"], np.atleast_1d(np.asarray(case["l_vec"], float)))


def _step(case, grid_points):
    b, v, npre, _, lv = _inputs(case)
    sd = float(np.sqrt(lv @ v[npre:, npre:] @ lv))
    return 40 * sd / (grid_points - 1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_conditional_sets_equal_honestdid(name):
    case = CASES[name]
    b, v, npre, npost, lv = _inputs(case)
    ref = case["conditional"]
    got = rm_confidence_sets(b, v, npre, npost, ref["Mbar"], l_vec=lv, method="Conditional",
                             grid_points=case["grid_points"])
    np.testing.assert_allclose(got["lb"], ref["lb"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["ub"], ref["ub"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_identified_sets_equal_honestdid(name):
    case = CASES[name]
    b, _, npre, npost, lv = _inputs(case)
    ref = case["conditional"]
    periods = list(range(-npre - 1, -1)) + list(range(npost))
    got = rm_bounds(b, periods, ref["Mbar"], l_post=lv)
    np.testing.assert_allclose(got["lb"], ref["id_lb"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["ub"], ref["id_ub"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_lf_hybrid_sets_within_honestdid_seed_spread(name):
    case = CASES[name]
    b, v, npre, npost, lv = _inputs(case)
    runs = case["c_lf"]
    mbar = np.atleast_1d(runs[0]["Mbar"]).tolist()
    got = rm_confidence_sets(b, v, npre, npost, mbar, l_vec=lv, method="C-LF", grid_points=case["grid_points"])
    tol = 2 * _step(case, case["grid_points"]) + 1e-12
    for key in ("lb", "ub"):
        ref = np.array([r[key] for r in runs], float).reshape(len(runs), -1)
        lo, hi = ref.min(axis=0) - tol, ref.max(axis=0) + tol
        assert np.all((got[key] >= lo) & (got[key] <= hi)), (key, got[key].tolist(), ref.tolist())


def test_readme_example_at_the_default_grid():
    case = CASES["ehec_first"]
    b, v, npre, npost, lv = _inputs(case)
    readme = REF["readme_ehec_first"]
    got = rm_confidence_sets(b, v, npre, npost, readme["Mbar"], l_vec=lv)
    tol = 2 * _step(case, 1000)
    np.testing.assert_allclose(got["lb"], readme["lb"], rtol=0, atol=tol)
    np.testing.assert_allclose(got["ub"], readme["ub"], rtol=0, atol=tol)


def test_constraint_rows_hand_worked():
    """One pre and one post period, s = 0, positive: δ_{−1} = δ_pre (RR's t = −1), δ_0 = 0 dropped, δ_1 post.
    Changes: c_0 = 0 − δ_pre, c_1 = δ_post − 0; the largest pre change is c_0 (> 0 branch):
    |c_0| ≤ c_0 leaves −2c_0 ≤ 0 (c_0 − c_0 ≤ 0 vanishes), and |c_1| ≤ M̄ c_0 gives ±c_1 − 2c_0 ≤ 0;
    over (δ_pre, δ_post): 2δ_pre + δ_post ≤ 0, 2δ_pre ≤ 0, 2δ_pre − δ_post ≤ 0."""
    a = rm_constraints(1, 1, 2.0, 0, True)
    expect = {(2.0, 1.0), (2.0, 0.0), (2.0, -1.0)}
    assert {tuple(r) for r in a} == expect


def test_coverage_when_the_restriction_holds():
    """Simulated coverage of θ = τ_0 under a DGP in Δ^RM(1): pre-trend changes up to 0.1, post changes 0.08."""
    rng = np.random.default_rng(12345)
    npre, npost = 3, 2
    delta = np.array([0.1, 0.05, 0.1, 0.08, 0.16])  # δ_{−4}, δ_{−3}, δ_{−2}, δ_0, δ_1 (δ_{−1} = 0)
    tau = np.array([0.5, 0.5])
    beta = delta + np.r_[np.zeros(npre), tau]
    sigma = 0.05 ** 2 * (0.5 * np.eye(5) + 0.5)
    covered = 0
    draws = 100
    for _ in range(draws):
        bh = rng.multivariate_normal(beta, sigma)
        cs = rm_confidence_sets(bh, sigma, npre, npost, [1.0], method="Conditional", grid_points=200,
                                grid_lb=-1.0, grid_ub=2.0)
        covered += cs["lb"][0] <= tau[0] <= cs["ub"][0]
    assert covered >= 90  # nominal 95%; P(Binomial(100, .95) < 90) ≈ 0.03


def test_bad_input_is_one_message():
    with pytest.raises(AnalysisError, match="method"):
        rm_confidence_sets(np.zeros(3), np.eye(3), 2, 1, [1.0], method="FLCI")
    with pytest.raises(AnalysisError, match="too many"):
        rm_confidence_sets(np.zeros(14), np.eye(14), 2, 12, [1.0], method="Conditional", grid_points=3)
