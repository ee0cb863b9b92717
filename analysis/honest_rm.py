"""Confidence sets for an event-study effect under relative magnitudes, Δ^RM(M̄) (Rambachan & Roth 2023,
§2.4.1 and §5.3), by the conditional and hybrid moment-inequality tests of Andrews, Roth & Pakes (2023, ARP).

Event-study coefficients β̂ = (β̂_pre, β̂_post) ~ N(β, Σ), β = (0, τ_post) + δ, the reference period (−1
here, RR's 0) normalised to 0. Δ^RM(M̄): every post-period change of the trend is at most M̄ times the
largest pre-period change, ``|δ_{t+1} − δ_t| ≤ M̄ · max_{s ≤ 0} |δ_s − δ_{s−1}|``. Δ^RM is a union of
polyhedra Δ_{s,±} = {δ : A_{s,±} δ ≤ 0}, one for each pre-period change s that is the largest and its sign;
a value θ̄ of θ = l'τ_post is in the confidence set when one of them does not reject it (RR Lemma 2.2):

* the moments are the rows of A_{s,±} that involve post-period coefficients (HonestDiD's default
  ``postPeriodMomentsOnly``); with Γ invertible and first row l', ``A_post Γ⁻¹ = (a₁, X)``, the test of θ̄ is
  the test of ``E[y − X ν] ≤ 0`` for some nuisance ν, with y = A β̂ − a₁ θ̄ ~ N(·, A Σ A');
* statistic ``η̂ = min_ν max_i (y_i − X_i ν)/σ_i`` (a linear program); its dual is
  ``max γ'y  s.t. γ ≥ 0, σ'γ = 1, X'γ = 0``, whose maximiser γ̂ is a vertex of a fixed polytope;
* conditional test (ARP §3): given the optimal vertex γ̂ and ``s = y − Σγ̂ η̂ / (γ̂'Σγ̂)``, η̂ is normal with
  variance γ̂'Σγ̂ truncated to [v_lo, v_up], the values of c for which γ̂ stays optimal:
  ``v_lo = max_{γ: γ'b < 1} γ's/(1 − γ'b)``, ``v_up = min_{γ: γ'b > 1} γ's/(1 − γ'b)``, b = Σγ̂/(γ̂'Σγ̂),
  over the vertices γ; reject when η̂/σ_B exceeds ``max(0, q_{1−α})`` of that truncated normal;
* hybrid "LF" (RR's default "C-LF"): first reject if η̂ exceeds the 1−κ quantile of η under the least
  favourable null (y ~ N(0, AΣA'), simulated, κ = α/10), then the conditional test at size (α−κ)/(1−κ)
  with v_up capped at that critical value.

The dual polytope has at most ``C(m, k+1)`` vertices (m moments, k = post periods − 1 nuisances), so they are
enumerated once for each (s, ±) and every test over the grid of θ̄ is a matrix product — exact where
HonestDiD solves a linear program per θ̄ and bisects for v_lo, v_up (the same quantities to its 1e-6
tolerance). Defaults follow HonestDiD's ``createSensitivityResults_relativeMagnitudes``: 1,000 grid points
on ±20 standard errors of l'β̂_post around 0, 1,000 draws for the least-favourable critical value, the
confidence set reported as [min, max] of the accepted grid points. With one post period there is no
nuisance and, as in HonestDiD's ``.testInIdentifiedSet_LF_Hybrid``, the LF step does not cap v_up.

Reference: ``tests/references/honestdid.R`` runs the authors' HonestDiD 0.2.8 on HonestDiD's README example
(Medicaid expansion), its BCdata and a one-post-period case; ``tests/test_honest_rm_references.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
from scipy import stats

from citynet.errors import AnalysisError

MAX_VERTEX_SUBSETS = 200_000


def rm_constraints(n_pre: int, n_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """Rows of A_{s,±} (Δ_{s,±} = {δ : A δ ≤ 0}) over (δ_pre, δ_post), the reference period dropped.

    First differences D δ̃ of δ̃ = (δ_pre, 0, δ_post); the change at pre period s (−(n_pre−1) ≤ s ≤ 0, 0 the
    change into the reference period) bounds every pre change by 1 × and every post change by M̄ ×
    itself: ``±(D δ̃)_t ≤ c_t · (sign)(δ̃_s − δ̃_{s−1})``; rows that vanish are dropped (as HonestDiD's
    ``.create_A_RM``)."""
    n = n_pre + n_post
    diff = np.zeros((n, n + 1))
    diff[np.arange(n), np.arange(n)] = -1.0
    diff[np.arange(n), np.arange(n) + 1] = 1.0
    v = np.zeros(n + 1)
    v[n_pre + s - 1], v[n_pre + s] = -1.0, 1.0
    if not positive:
        v = -v
    bound = np.vstack([np.tile(v, (n_pre, 1)), np.tile(mbar * v, (n_post, 1))])
    a = np.vstack([diff - bound, -diff - bound])
    a = a[(a * a).sum(axis=1) > 1e-10]
    return np.delete(a, n_pre, axis=1)


def _gamma(l_vec: np.ndarray) -> np.ndarray:
    """Invertible Γ with first row l': l, then the unit vectors that the left-to-right pivots of [l I] keep
    (HonestDiD's ``.construct_Gamma`` by reduced row echelon form)."""
    rows = [l_vec]
    for e in np.eye(len(l_vec)):
        if np.linalg.matrix_rank(np.vstack(rows + [e])) > len(rows):
            rows.append(e)
        if len(rows) == len(l_vec):
            break
    return np.vstack(rows)


def dual_vertices(sd: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Vertices of {γ ≥ 0 : σ'γ = 1, X'γ = 0}: the basic solutions on supports of size k+1 (rows = vertices)."""
    m, k = x.shape
    if comb(m, k + 1) > MAX_VERTEX_SUBSETS:
        raise AnalysisError(f"the Δ^RM confidence set with {k + 1} post periods has too many moment combinations "
                            f"({comb(m, k + 1):,} supports to enumerate)",
                            fix="estimate the event study with at most 10 post periods (`lags` ≤ 9)")
    w = np.column_stack([sd, x]).T  # (k+1) × m
    e1 = np.zeros(k + 1)
    e1[0] = 1.0
    found: dict[tuple, np.ndarray] = {}
    for support in combinations(range(m), k + 1):
        sub = w[:, support]
        if abs(np.linalg.det(sub)) < 1e-12 * max(1.0, np.abs(sub).max() ** (k + 1)):
            continue
        lam = np.linalg.solve(sub, e1)
        if np.all(lam >= -1e-12):
            g = np.zeros(m)
            g[list(support)] = np.clip(lam, 0.0, None)
            found.setdefault(tuple(np.round(g, 12)), g)
    if not found:
        raise AnalysisError("the moment inequalities of Δ^RM have no dual vertex (degenerate covariance)",
                            fix="check the event-study covariance matrix")
    return np.vstack([found[key] for key in sorted(found)])


def _accept_grid(y0: np.ndarray, a1: np.ndarray, x: np.ndarray, sigma: np.ndarray, theta: np.ndarray,
                 alpha: float, hybrid: str, kappa: float, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Acceptance (bool per θ̄) of the conditional / LF-hybrid test of E[y0 − a1 θ̄ − X ν] ≤ 0."""
    sd = np.sqrt(np.diag(sigma))
    verts = dual_vertices(sd, x)
    y = y0[None, :] - theta[:, None] * a1[None, :]
    vals = y @ verts.T  # θ × vertices
    best = np.argmax(vals, axis=1)
    eta = vals[np.arange(len(theta)), best]
    size = alpha
    cap = np.inf
    if hybrid == "LF":
        draws = rng.multivariate_normal(np.zeros(len(sd)), sigma, size=n_draws, method="eigh")
        cap = float(np.quantile((draws @ verts.T).max(axis=1), 1 - kappa))
        size = (alpha - kappa) / (1 - kappa)
    s_cov = verts @ sigma @ verts.T  # γ_i'Σγ_j
    var_b = s_cov[best, best]
    degenerate = np.abs(var_b) < np.finfo(float).eps
    var_safe = np.where(degenerate, 1.0, var_b)
    b = s_cov[best, :] / var_safe[:, None]  # γ'b for every θ̄ (rows) and vertex γ (columns)
    gs = vals - b * eta[:, None]  # γ's
    den = 1.0 - b
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = gs / den
    vlo = np.where(den > 1e-10, ratio, -np.inf).max(axis=1)
    vup = np.where(den < -1e-10, ratio, np.inf).min(axis=1)
    if hybrid == "LF" and x.shape[1] > 0:
        vup = np.minimum(vup, cap)
    sigma_b = np.sqrt(var_safe)
    z, zlo, zup = eta / sigma_b, vlo / sigma_b, vup / sigma_b
    # HonestDiD accepts when the statistic falls outside its own truncation interval (a numerical corner) in
    # the nuisance case; its no-nuisance test has no such check
    inside = (zlo <= z) & (z <= zup) if x.shape[1] > 0 else zlo < zup
    cv = np.zeros(len(theta))
    if inside.any():
        cv[inside] = stats.truncnorm.ppf(1 - size, zlo[inside], zup[inside])
    reject = inside & (z > np.maximum(0.0, cv))
    reject = np.where(degenerate, eta > 0, reject)
    if hybrid == "LF":
        reject |= eta > cap
    return ~reject


def rm_confidence_sets(beta: np.ndarray, sigma: np.ndarray, n_pre: int, n_post: int, mbars: Sequence[float], *,
                       l_vec: np.ndarray | None = None, alpha: float = 0.05, method: str = "C-LF",
                       grid_points: int = 1000, grid_lb: float | None = None, grid_ub: float | None = None,
                       n_draws: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Confidence sets for θ = l'τ_post under Δ^RM(M̄), one row per M̄: ``Mbar, lb, ub, method``.

    ``beta``/``sigma``: n_pre pre-period then n_post post-period coefficients in time order, the reference
    period omitted (RR's layout). ``method``: "C-LF" (hybrid, HonestDiD's default) or "Conditional".
    ``lb``/``ub`` are NaN when no grid point is accepted; a set reaching the grid's end is not closed there
    (``attrs["open"]`` lists those M̄).

    Example (HonestDiD README, Medicaid expansion, first post year): M̄ = 0.5 gives about [0.024, 0.067].
    """
    beta = np.asarray(beta, float)
    sigma = np.asarray(sigma, float)
    if method not in ("C-LF", "Conditional"):
        raise AnalysisError(f"unknown Δ^RM method {method!r}", fix='use "C-LF" or "Conditional"')
    if n_pre < 1 or n_post < 1 or len(beta) != n_pre + n_post or sigma.shape != (len(beta), len(beta)):
        raise AnalysisError("the Δ^RM confidence set needs n_pre ≥ 1 pre and n_post ≥ 1 post coefficients with "
                            "a matching covariance matrix", fix="estimate the event study with leads ≥ 2")
    lv = np.zeros(n_post) if l_vec is None else np.asarray(l_vec, float)
    if l_vec is None:
        lv[0] = 1.0
    sd_theta = float(np.sqrt(lv @ sigma[n_pre:, n_pre:] @ lv))
    lo = -20 * sd_theta if grid_lb is None else grid_lb
    hi = 20 * sd_theta if grid_ub is None else grid_ub
    theta = np.linspace(lo, hi, grid_points)
    gam_inv = np.linalg.inv(_gamma(lv))
    hybrid = "LF" if method == "C-LF" else "ARP"
    rows, open_at = [], []
    for mbar in mbars:
        accept = np.zeros(grid_points, dtype=bool)
        for s in range(-(n_pre - 1), 1):
            for positive in (True, False):
                a = rm_constraints(n_pre, n_post, float(mbar), s, positive)
                a = a[np.any(a[:, n_pre:] != 0, axis=1)]  # post-period moments only
                ag = a[:, n_pre:] @ gam_inv
                rng = np.random.default_rng(seed)
                accept |= _accept_grid(a @ beta, ag[:, 0], ag[:, 1:], a @ sigma @ a.T, theta, alpha, hybrid,
                                       alpha / 10, n_draws, rng)
        hit = theta[accept]
        if accept[0] or accept[-1]:
            open_at.append(float(mbar))
        rows.append({"Mbar": float(mbar), "lb": float(hit.min()) if len(hit) else np.nan,
                     "ub": float(hit.max()) if len(hit) else np.nan, "method": method})
    out = pd.DataFrame(rows)
    out.attrs["open"] = open_at
    return out
