"""Separation in Poisson regression: observations whose fitted mean goes to zero (an estimate at ±∞).

The maximum-likelihood estimates of a Poisson model (PPML) do not exist when a linear combination
of the regressors and fixed effects ``z = Aγ`` satisfies

    z_i = 0 where y_i > 0,   z_i ≥ 0 where y_i = 0, with at least one z_i > 0

(Correia, Guimarães & Zylkin 2021, *Verifying the existence of maximum likelihood estimates for
generalized linear models*, arXiv:1903.01633, Prop. 1). The observations with ``z_i > 0`` are
*separated*: dropping them leaves the other estimates unchanged and makes them exist.
``fixest::fepois`` drops only the simplest case, fixed-effect groups whose outcome is all zero
(``drop_separated`` in ``estimators``); ``ppmlhdfe`` also finds combinations (simplex, iterative rectifier).

``separated`` finds them as the solution of one linear programme over the sparse design
``A = [fixed-effect dummies | regressors]`` (Clarkson & Jennrich 1991 solve the same problem by a
simplex method for the regressors; here the fixed effects are ordinary sparse columns, so
combinations of fixed effects and regressors are found as well, which is what ppmlhdfe's iterative
rectifier adds):

    max Σ_i s_i   over γ (free) and s (0 ≤ s_i ≤ 1, one per y_i = 0)
    subject to    A₁γ = 0   (the rows with y > 0)
                  s_i ≤ (A₀γ)_i   (the rows with y = 0, so A₀γ ≥ 0)

Certificates form a convex cone, so a certificate with the largest support exists and, scaled up,
gives ``s_i = 1`` on every separated row and 0 elsewhere: the optimum marks them all at once. Solved by
HiGHS (``scipy.optimize.linprog``), deterministic; the certificate is checked before it is used.

Worked example (ppmlhdfe's separation primer, "sep(ir)"): ``y = (0, 1, 0, 0, 1)`` with fixed effects
``id1 = (1, 1, 2, 2, 2)`` and ``id2 = (1, 1, 1, 2, 2)`` has no all-zero group, yet the third
observation is separated by ``z = 1[id1 = 2] − 1[id2 = 2] = (0, 0, 1, 0, 0)``.

The programme has one row per observation and one column per fixed-effect level and regressor; it
runs on designs of at most ``MAX_ROWS`` rows (city-year panels and the gravity panel once the
all-zero groups are gone); above that only the fixed-effect check runs, and a note says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

MAX_ROWS = 2_000_000


def design(df: pd.DataFrame, regressors: Sequence[str], fe_groups: Sequence[np.ndarray]) -> sp.csr_matrix:
    """``A = [fixed-effect dummies | regressors]`` (an intercept instead of dummies without fixed
    effects), sparse, one row per observation."""
    n = len(df)
    blocks = []
    if fe_groups:
        for g in fe_groups:
            blocks.append(sp.csr_matrix((np.ones(n), (np.arange(n), g)), shape=(n, int(g.max()) + 1)))
    else:
        blocks.append(sp.csr_matrix(np.ones((n, 1))))
    if regressors:
        blocks.append(sp.csr_matrix(df[list(regressors)].to_numpy(dtype=float)))
    return sp.hstack(blocks, format="csr")


def separated(y: np.ndarray, A: sp.spmatrix | np.ndarray) -> np.ndarray | None:
    """Boolean mask of the separated observations (module docstring), or None when the design has
    more than ``MAX_ROWS`` rows or the programme did not solve."""
    from scipy.optimize import linprog

    y = np.asarray(y, dtype=float)
    A = sp.csr_matrix(A, dtype=float)
    zero = y == 0
    out = np.zeros(len(y), dtype=bool)
    if not zero.any() or zero.all():
        return out
    if len(y) > MAX_ROWS:
        return None
    colscale = np.sqrt(np.asarray(A.multiply(A).sum(axis=0)).ravel())
    colscale[colscale == 0] = 1.0
    A = A @ sp.diags(1.0 / colscale)  # γ in units of each column's norm: the programme is well scaled
    A0, A1 = A[zero], A[~zero]
    p, n0 = A.shape[1], int(zero.sum())
    res = linprog(np.r_[np.zeros(p), -np.ones(n0)],
                  A_ub=sp.hstack([-A0, sp.identity(n0)], format="csr"), b_ub=np.zeros(n0),
                  A_eq=sp.hstack([A1, sp.csr_matrix((A1.shape[0], n0))], format="csr"), b_eq=np.zeros(A1.shape[0]),
                  bounds=[(None, None)] * p + [(0.0, 1.0)] * n0, method="highs")
    if res.status != 0:
        return None
    s = res.x[p:]
    if not (s > 0.5).any():
        return out
    z = A @ res.x[:p]
    z0, z1 = z[zero], z[~zero]
    # the certificate: 0 on y > 0 and ≥ 0 on y = 0, to the solver's tolerance relative to its size
    if np.abs(z1).max(initial=0.0) > 1e-6 * z0.max() or z0.min() < -1e-6 * z0.max():
        return None
    out[np.flatnonzero(zero)[s > 0.5]] = True
    return out


def rhs_frame(df: pd.DataFrame, rhs: str) -> pd.DataFrame | None:
    """The regressors of a formula's right-hand side as pyfixest forms them (formulaic, with pyfixest's ``i()`` and
    ``log``), one named column each, or None when the right-hand side cannot be expanded here. (Until session 35
    ``i()`` was not known here: a PPML with an ``i()`` term was checked by fixed-effect groups only.)"""
    from formulaic import model_matrix
    from pyfixest.estimation.formula.factor_interaction import factor_interaction
    from pyfixest.estimation.formula.utils import log

    terms = [t.strip() for t in rhs.split("+") if t.strip() not in ("", "0", "1")]
    if not terms:
        return pd.DataFrame(index=df.index)
    try:
        X = model_matrix("0 + " + " + ".join(terms), df, na_action="ignore",
                         context={"np": np, "i": factor_interaction, "log": log})
    except Exception:
        return None
    X = pd.DataFrame(np.asarray(X, dtype=float), columns=[str(c) for c in X.columns])
    return X if len(X) == len(df) else None


def rhs_design(df: pd.DataFrame, rhs: str, fe_groups: Sequence[np.ndarray]) -> sp.csr_matrix | None:
    """The design of ``separated`` for a formula's right-hand side (:func:`rhs_frame`), or None when the
    right-hand side cannot be expanded or is not finite."""
    X = rhs_frame(df, rhs)
    if X is None:
        return None
    Xd = X.to_numpy()
    if not np.isfinite(Xd).all():
        return None
    base = design(df.iloc[:, :0], [], fe_groups)
    return sp.hstack([base, sp.csr_matrix(Xd)], format="csr") if Xd.shape[1] else base


def left_constant(before: pd.DataFrame, after: pd.DataFrame, rhs: str) -> list[str]:
    """The regressors (a column, a level of ``i()``) that vary in ``before`` and are constant, or absent (a level
    with no row left), in ``after``: those whose coefficient the dropped separated rows made infinite."""
    X0, X1 = rhs_frame(before, rhs), rhs_frame(after, rhs)
    if X0 is None or X1 is None:
        return []
    return [c for c in X0.columns if X0[c].nunique() > 1 and (c not in X1.columns or X1[c].nunique() <= 1)]
