"""Three-stage least squares for a system of equations (paper 002), with two-way fixed effects.

Estimator (Zellner & Theil 1962), for equations ``y_j = X_j β_j + e_j`` (j = 1..m) on a common
sample of n rows, instruments Z = every exogenous variable of the system (the union of the
right-hand-side variables that are not a dependent variable of some equation, plus a constant
when there are no fixed effects), ``P = Z(Z'Z)⁻¹Z'``, ``X̂_j = P X_j``:

1. 2SLS per equation: ``b_j = (X̂_j'X_j)⁻¹ X̂_j'y_j``; residuals ``e_j``.
2. ``Σ̂_jk = e_j'e_k / n`` (``debiased=True``: ``/ √((n−k_j)(n−k_k))``).
3. GLS on the stacked system: ``β = [X̂'(Σ̂⁻¹⊗I)X̂]⁻¹ X̂'(Σ̂⁻¹⊗I)y``.

Covariance (``vcov="unadjusted"``, Stata ``reg3``): ``[X̂'(Σ̂⁻¹⊗I)X̂]⁻¹`` with the step-2 Σ̂;
``vcov="robust"``: the sandwich ``A⁻¹ B A⁻¹`` with ``A = X̂'(Σ̂⁻¹⊗I)X̂`` and ``B = Σ_i s_i s_i'``,
``s_i = Σ_j X̂_ij' (Σ̂⁻¹ e_i)_j``; ``"cluster:VAR"``: the same with scores summed within clusters.
These are the conventions of ``linearmodels.system.IV3SLS(method="gls")`` with
``debiased=False``, against which the tests check coefficients and standard errors to 1e-6;
inference uses the normal distribution.

Fixed effects: every variable (dependent, regressors, instruments) is within-transformed by the
fixed effects (alternating projections; exact for unbalanced panels) on the common sample, and
the constant is dropped. The FE levels are not counted in any degrees-of-freedom correction
(as with ``reg3`` on demeaned data). Reported R² is the within R² when there are fixed effects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.estimators import _terms
from citynet.analysis.formula import prepare
from citynet.analysis.results import FitResult

from citynet.errors import AnalysisError


@dataclass
class SystemResult:
    """One FitResult per equation, plus the system's Σ̂ and joint covariance."""

    equations: dict[str, FitResult]
    sigma: pd.DataFrame
    vcov: pd.DataFrame
    nobs: int
    instruments: list[str] = field(default_factory=list)

    @property
    def results(self) -> list[FitResult]:
        return list(self.equations.values())

    def __iter__(self):
        return iter(self.results)

    def __getitem__(self, k: str) -> FitResult:
        return self.equations[k]


def _demean(mat: np.ndarray, fe_codes: list[np.ndarray]) -> np.ndarray:
    if not fe_codes:
        return mat
    from pyfixest.estimation import demean

    flist = np.column_stack(fe_codes).astype(np.uint64)
    out, ok = demean(np.ascontiguousarray(mat, dtype=float), flist, np.ones(len(mat)), tol=1e-12, maxiter=100_000)
    if not ok:
        raise AnalysisError("3SLS: the fixed-effects demeaning did not converge", fix="check the FE variables")
    return out


def _check_order_condition(specs: list[tuple[str, str, list[str]]], deps: list[str], inst: list[str],
                           equations: dict[str, str]) -> None:
    """The order condition (Wooldridge 2010, §9.2.2): an equation with k endogenous regressors (dependent variables
    of other equations) needs at least k instruments it does not include itself; without them its 2SLS has no
    variation to use (numpy: "Singular matrix")."""
    for key, dep, xs in specs:
        endogenous = [x for x in xs if x in deps]
        excluded = [z for z in inst if z not in xs and z != dep]
        if len(endogenous) > len(excluded):
            raise AnalysisError(
                f"3SLS equation {key} ({equations[key]}) is not identified: {len(endogenous)} endogenous "
                f"regressor{'s' if len(endogenous) > 1 else ''} ({', '.join(endogenous)}) and {len(excluded)} "
                f"exogenous variable{'s' if len(excluded) != 1 else ''} of the system it leaves out"
                + (f" ({', '.join(excluded)})" if excluded else "") + "; the order condition needs at least as many",
                fix="give another equation an exogenous regressor that this one leaves out (each equation of a "
                    "simultaneous system needs its own excluded variable), or pass instruments")


def three_sls(
    panel: pd.DataFrame,
    equations: dict[str, str] | Sequence[str],
    fe: str | Sequence[str] | None = "city_code + year",
    instruments: Sequence[str] | None = None,
    vcov: str = "unadjusted",
    debiased: bool = False,
    names: Sequence[str] | None = None,
) -> SystemResult:
    """3SLS of a system of ``y ~ x1 + x2`` formulas (see the module docstring for the estimator).

    ``fe``: "city_code + year", "city_code", None. ``instruments``: override the default set
    (all exogenous variables of the system).
    """
    if not isinstance(equations, dict):
        equations = {f"eq{i + 1}": e for i, e in enumerate(equations)}
    fe_list = [f.strip() for f in (fe.split("+") if isinstance(fe, str) else (fe or [])) if f.strip() not in ("", "none")]
    df = panel
    specs = []
    for key, fml in equations.items():
        if "|" in fml:
            raise AnalysisError(f"3SLS equation {key}: write 'y ~ x1 + x2' (fixed effects go in fe=)",
                                fix="pass fe='city_code + year'")
        df, fml2 = prepare(df, fml, extra=fe_list)
        dep, rhs = (s.strip() for s in fml2.split("~", 1))
        specs.append((key, dep, _terms(rhs)))
    deps = [s[1] for s in specs]
    exog = []
    for _, _, xs in specs:
        exog += [x for x in xs if x not in deps and x not in exog]
    if instruments is not None:
        df, _ = prepare(df, "0 ~ " + " + ".join(instruments))
        inst = list(instruments)
    else:
        inst = exog
    _check_order_condition(specs, deps, inst, equations)
    allvars = list(dict.fromkeys(deps + [x for _, _, xs in specs for x in xs] + inst))
    for v in allvars:
        if not re.fullmatch(r"\w+", v):
            raise AnalysisError(f"3SLS: term {v!r} must be a column name", fix="create the column first")
    from citynet.analysis.estimators import missing_rows

    missing, missing_note = missing_rows(df, allvars + fe_list)  # said: the rows were left out without a word
    sub = df[allvars + fe_list][~missing]
    n = len(sub)
    if n == 0:
        raise AnalysisError("3SLS: no row has every variable of the system", fix="check lags and missing values")
    const = not fe_list
    fe_codes = [pd.factorize(sub[f])[0] for f in fe_list]
    mat = _demean(sub[allvars].to_numpy(dtype=float), fe_codes)
    col = {v: i for i, v in enumerate(allvars)}
    Z = mat[:, [col[v] for v in inst]]
    if const:
        Z = np.column_stack([np.ones(n), Z])
    zz_inv_zt = np.linalg.pinv(Z.T @ Z) @ Z.T
    ys, Xs, Xh, xnames = [], [], [], []
    for key, dep, xs in specs:
        X = mat[:, [col[x] for x in xs]]
        nm = list(xs)
        if const:
            X = np.column_stack([np.ones(n), X])
            nm = ["Intercept", *nm]
        rank = np.linalg.matrix_rank(X)
        if rank < X.shape[1]:
            absorbed = [x for x in xs if fe_list and not np.abs(mat[:, col[x]]).max(initial=0.0)
                        > 1e-9 * max(1.0, float(np.abs(sub[x].to_numpy(dtype=float)).max(initial=0.0)))]
            if absorbed:  # tier_high beside city effects: constant within every city, its demeaned column zero
                raise AnalysisError(
                    f"3SLS equation {key}: {', '.join(absorbed)} {'does' if len(absorbed) == 1 else 'do'} not vary "
                    f"within {' + '.join(fe_list)}: the fixed effects absorb {'it' if len(absorbed) == 1 else 'them'} "
                    f"(singular design among {', '.join(nm)})",
                    fix=f"drop {', '.join(absorbed)} from equation {key}, or write fe = \"none\"")
            raise AnalysisError(f"3SLS equation {key}: singular design among {', '.join(nm)}",
                                fix="drop collinear or FE-absorbed regressors")
        ys.append(mat[:, col[dep]])
        Xs.append(X)
        Xh.append(Z @ (zz_inv_zt @ X))
        xnames.append(nm)
    m = len(specs)
    # step 1-2: equation-by-equation 2SLS residuals and Σ
    E = np.column_stack([y - X @ np.linalg.solve(xh.T @ X, xh.T @ y) for y, X, xh in zip(ys, Xs, Xh, strict=True)])
    ks = np.array([X.shape[1] for X in Xs])
    sigma = E.T @ E / n
    if debiased:
        sigma = E.T @ E / np.sqrt(np.outer(n - ks, n - ks))
    si = np.linalg.inv(sigma)
    # step 3: GLS
    offs = np.concatenate([[0], np.cumsum(ks)])
    K = offs[-1]
    A = np.zeros((K, K))
    b = np.zeros(K)
    for i in range(m):
        for j in range(m):
            A[offs[i]:offs[i + 1], offs[j]:offs[j + 1]] = si[i, j] * (Xh[i].T @ Xh[j])
            b[offs[i]:offs[i + 1]] += si[i, j] * (Xh[i].T @ ys[j])
    beta = np.linalg.solve(A, b)
    Ainv = np.linalg.inv(A)
    resid = np.column_stack([ys[i] - Xs[i] @ beta[offs[i]:offs[i + 1]] for i in range(m)])
    if vcov == "unadjusted":
        V = Ainv
        vlabel = "unadjusted"
    else:
        # scores s_i (n × K): X̂_ij' (Σ⁻¹ e_i)_j
        w = resid @ si  # n × m
        S = np.column_stack([Xh[j] * w[:, [j]] for j in range(m)])
        if vcov == "robust" or vcov == "hc0":
            B = S.T @ S
            vlabel = "robust"
        elif vcov.startswith("cluster:"):
            cv = vcov.split(":", 1)[1]
            codes = pd.factorize(df.loc[sub.index, cv])[0]
            G = codes.max() + 1
            sg = np.zeros((G, K))
            np.add.at(sg, codes, S)
            B = sg.T @ sg
            vlabel = vcov
        else:
            raise AnalysisError(f"3SLS vcov {vcov!r} unknown", fix="use unadjusted, robust or cluster:VAR")
        V = Ainv @ B @ Ainv
    names_all = [f"{specs[i][0]}:{v}" for i in range(m) for v in xnames[i]]
    vdf = pd.DataFrame(V, index=names_all, columns=names_all)
    eqs: dict[str, FitResult] = {}
    for i, (key, dep, _) in enumerate(specs):
        sl = slice(offs[i], offs[i + 1])
        y = ys[i]
        tss = float(((y - y.mean()) ** 2).sum()) if const else float(y @ y)
        r2 = 1 - float(resid[:, i] @ resid[:, i]) / tss if tss > 0 else np.nan
        k_eff = ks[i] - (1 if const else 0)
        adj = 1 - (1 - r2) * (n - 1) / (n - k_eff - 1) if np.isfinite(r2) else None
        eqs[key] = FitResult(
            depvar=dep, params=pd.Series(beta[sl], index=xnames[i]),
            se=pd.Series(np.sqrt(np.diag(V)[sl]), index=xnames[i]), nobs=n, model="3sls",
            r2=None if fe_list else r2, adj_r2=adj, r2_within=r2 if fe_list else None,
            fixed_effects=fe_list, vcov=vlabel, df_resid=None,
            stats={"n_equations": float(m), "sigma_ii": float(sigma[i, i])},
            name=(names[i] if names else key),
            notes=["3SLS (Zellner & Theil 1962); instruments: " + ", ".join(inst), *([missing_note] if missing_note else [])],
        )
    return SystemResult(equations=eqs, sigma=pd.DataFrame(sigma, index=list(equations), columns=list(equations)),
                        vcov=vdf, nobs=n, instruments=inst)


PAPER002_VARIANTS: dict[str, tuple[list[str], list[str]]] = {
    # variant: (transfer-side outcomes, collaboration-side outcomes)
    "base": (["transfers_out"], ["collab_patents"]),
    "transfer_margins": (["transfer_partners_out", "transfer_intensity_out"], ["collab_patents"]),
    "collab_margins": (["transfers_out"], ["collab_partners", "collab_intensity"]),
    "local": (["transfers_local"], ["collab_patents"]),
    "other": (["transfers_other"], ["collab_patents"]),
}


def paper002_system(panel: pd.DataFrame, variant: str = "base", controls_gtr: Sequence[str] = (),
                    controls_rsi: Sequence[str] = (), fe: str | None = "city_code + year",
                    **kw: Any) -> list[SystemResult]:
    """The two-equation system of paper 002 and its mechanism variants, one system per margin:

    ``ln gtr_it = a0 + α ln rsi_i,t−1 + λ X_i,t−1 [+ a_i + v_t] + e`` and
    ``ln rsi_it = b0 + β ln gtr_i,t−1 + γ W_i,t−1 [+ m_i + n_t] + e`` (ln = ln(1+·); controls lagged
    one year). ``variant``: ``base`` (transfers_out, collab_patents), ``transfer_margins``
    (destination cities ex_gt and transfers per destination in_gt), ``collab_margins``
    (partners and intensity), ``local`` / ``other`` (same-city / other-city transfers).
    """
    if variant not in PAPER002_VARIANTS:
        raise AnalysisError(f"unknown 002 variant {variant!r}", fix=f"use one of {', '.join(PAPER002_VARIANTS)}")
    g_side, r_side = PAPER002_VARIANTS[variant]
    out = []
    for g in g_side:
        for r in r_side:
            cg = " + ".join(f"l1_{c}" for c in controls_gtr)
            cr = " + ".join(f"l1_{c}" for c in controls_rsi)
            eqs = {
                f"ln_{g}": f"ln_{g} ~ l1_ln_{r}" + (f" + {cg}" if cg else ""),
                f"ln_{r}": f"ln_{r} ~ l1_ln_{g}" + (f" + {cr}" if cr else ""),
            }
            out.append(three_sls(panel, eqs, fe=fe, **kw))
    return out
