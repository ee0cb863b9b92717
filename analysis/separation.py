"""Separation in Poisson regression: observations whose fitted mean goes to zero (an estimate at ±∞).

The maximum-likelihood estimates of a Poisson model (PPML) do not exist when a linear combination
of the regressors and fixed effects ``z = Aγ`` satisfies

    z_i = 0 where y_i > 0,   z_i ≥ 0 where y_i = 0, with at least one z_i > 0

(Correia, Guimarães & Zylkin 2021, *Verifying the existence of maximum likelihood estimates for
generalized linear models*, arXiv:1903.01633, Prop. 1). The observations with ``z_i > 0`` are
*separated*: dropping them leaves the other estimates unchanged and makes them exist.
``fixest::fepois`` drops only the simplest case, fixed-effect groups whose outcome is all zero
(``drop_separated`` in ``estimators``); ``ppmlhdfe`` also runs the iterative rectifier (IR) below.

``separated_ir`` is that IR algorithm with the constraint ``z = 0`` on ``y > 0`` imposed exactly
(``γ = Nφ`` with ``N`` a basis of the null space of the ``y > 0`` rows of ``A``) instead of by
ppmlhdfe's weights ``K = N₀/ε²`` ("method of weighting"), which squares the condition number:

    u ← 1[y = 0];  repeat:  φ = argmin ‖u − A₀Nφ‖²,  z = A₀Nφ (|z| < ε → 0);
                   stop if z ≥ 0;  else u ← max(z, 0)

Worked example (ppmlhdfe's separation primer, "sep(ir)"): ``y = (0, 1, 0, 0, 1)`` with fixed effects
``id1 = (1, 1, 2, 2, 2)`` and ``id2 = (1, 1, 1, 2, 2)`` has no all-zero group, yet the third
observation is separated by ``z = 1[id1 = 2] − 1[id2 = 2] = (0, 0, 1, 0, 0)``.

The dense null-space basis needs the ``p × p`` cross-product of the design, so the check runs when
the design has at most ``MAX_COLUMNS`` columns (fixed-effect levels plus regressors): city-year
panels, not the origin-year × destination-year gravity design (there the fixed-effect check runs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

MAX_COLUMNS = 3000
IR_TOL = 1e-5  # ppmlhdfe's default tolerance on z
IR_MAXITER = 1000


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


def separated_ir(y: np.ndarray, A: sp.spmatrix | np.ndarray, tol: float = IR_TOL,
                 maxiter: int = IR_MAXITER) -> np.ndarray | None:
    """Boolean mask of the separated observations (module docstring), or None when the design is too
    wide for the dense check (more than ``MAX_COLUMNS`` columns)."""
    y = np.asarray(y, dtype=float)
    A = sp.csr_matrix(A)
    zero = y == 0
    out = np.zeros(len(y), dtype=bool)
    if not zero.any():
        return out
    if A.shape[1] > MAX_COLUMNS:
        return None
    A1 = A[~zero]
    m = (A1.T @ A1).toarray()
    scale = np.sqrt(np.maximum(np.diag(m), 0.0))
    scale[scale == 0] = 1.0
    evals, evecs = np.linalg.eigh(m / np.outer(scale, scale))  # scaled: columns of very different size
    null = evecs[:, evals <= max(evals.max(initial=0.0), 1.0) * 1e-11] / scale[:, None]
    if null.shape[1] == 0:
        return out
    null /= np.abs(null).max(axis=0)
    rowscale = float(abs(A).max())
    B = np.asarray(A[zero] @ null)
    B[np.abs(B) < 1e-9 * rowscale] = 0.0  # rounding of an exact zero, not a direction
    keep = np.abs(B).max(axis=0) > 0
    B = B[:, keep]
    if B.shape[1] == 0:
        return out
    u = np.ones(B.shape[0])
    for _ in range(maxiter):
        phi = np.linalg.lstsq(B, u, rcond=None)[0]
        z = B @ phi
        z[np.abs(z) < tol] = 0.0
        if (z >= 0).all():
            # the certificate must vanish on y > 0 (it does by construction, unless the null space
            # picked up a nearly-collinear direction rather than an exact one): then report nothing
            on_pos = np.asarray(A1 @ (null[:, keep] @ phi)).ravel()
            if z.max(initial=0.0) > 0 and np.abs(on_pos).max(initial=0.0) <= 1e-8 * z.max():
                out[np.flatnonzero(zero)[z > 0]] = True
            return out
        u = np.maximum(z, 0.0)
    return out  # not converged in maxiter: report nothing rather than a guess


def ir_design(df: pd.DataFrame, rhs: str, fe_groups: Sequence[np.ndarray]) -> sp.csr_matrix | None:
    """The design of ``separated_ir`` for a formula's right-hand side (formulaic, as pyfixest), or None
    when the right-hand side cannot be expanded outside pyfixest (e.g. its ``i()`` syntax)."""
    from formulaic import model_matrix

    terms = [t.strip() for t in rhs.split("+") if t.strip() not in ("", "0", "1")]
    if not terms:
        return design(df, [], fe_groups)
    try:
        X = model_matrix("0 + " + " + ".join(terms), df, na_action="ignore")
    except Exception:
        return None
    Xd = np.asarray(X, dtype=float)
    if Xd.shape[0] != len(df) or not np.isfinite(Xd).all():
        return None
    base = design(df.iloc[:, :0], [], fe_groups)
    return sp.hstack([base, sp.csr_matrix(Xd)], format="csr")
