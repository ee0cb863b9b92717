"""2SLS with several endogenous regressors, the first-stage table and weak-instrument statistics.

Model ``y = X₁β₁ + X₂β₂ + FE + u`` with K endogenous ``X₂`` instrumented by L ≥ K excluded instruments
``Z``. The fixed effects are absorbed first (pyfixest's alternating projections demean y, X₁, X₂ and
Z; by Frisch–Waugh–Lovell this gives exactly the 2SLS of the dummy-variable model), then
linearmodels' ``IV2SLS`` estimates ``β = (X'P_W X)⁻¹X'P_W y`` with ``W = [X₁, Z]`` — linearmodels
because pyfixest's IV takes a single endogenous regressor and linearmodels is a maintained,
Stata-checked IV implementation. Clustered (CRV1) and HC1 covariances are rescaled to the fixest
small-sample convention: ``G/(G−1)·(N−1)/(N−k)`` (cluster) or ``N/(N−k)`` (HC1), k = slopes + levels
of fixed effects not nested in the cluster variable.

Diagnostics (Stock & Yogo 2005; Kleibergen & Paap 2006; Sanderson & Windmeijer 2016):

- per endogenous regressor: the first-stage regression on all instruments, the partial F of the
  excluded instruments (Wald/L with the model's vcov) and Shea's partial R²;
- Cragg–Donald Wald F ``= (N−L−k₁)/L · λ_min((X̃₂'M_Z̃X̃₂)⁻¹ X̃₂'P_Z̃X̃₂)`` (X̃₂, Z̃ partialled of X₁ and
  the FE; ivreg2's ``cdf``), valid under i.i.d. errors; fixest's ``fitstat(, "cd")`` uses the same
  λ_min with ``(N − K − L − 1)/L`` (FE and exogenous regressors not counted);
- Kleibergen–Paap rk Wald statistic and F (robust/cluster; :func:`citynet.analysis.estimators.kleibergen_paap_rk`);
- Stock–Yogo critical values are tabulated for i.i.d. errors only; with clustered errors compare the
  KP F with them as a rule of thumb (Baum, Schaffer & Stillman 2007).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult
from citynet.analysis.tables import Table
from citynet.metrics.labels import term_label as _label
from scipy import stats

from citynet.errors import AnalysisError


@dataclass
class IVResult:
    result: FitResult
    first_stages: list[FitResult]
    diagnostics: dict[str, float]
    notes: list[str] = field(default_factory=list)


def _demean(d: pd.DataFrame, cols: list[str], fe: list[str]) -> np.ndarray:
    M = d[cols].to_numpy(float)
    if not fe:
        return M - M.mean(axis=0, keepdims=True)
    from pyfixest.core.demean import demean

    flist = np.column_stack([pd.factorize(d[f].astype(str))[0] for f in fe]).astype(np.uint64)
    out, ok = demean(np.ascontiguousarray(M), flist, np.ones(len(d)), tol=1e-12, maxiter=100_000)
    if not ok:
        raise AnalysisError("absorbing the fixed effects did not converge", fix="use fewer or coarser fixed effects")
    return out


def _fe_dof(d: pd.DataFrame, fe: list[str], cluster: str | None) -> int:
    """FE levels counted in k (fixest's ``k_fixef = 'nonnested'``): every level less the redundant ones,
    an FE nested in the cluster variable counting as one."""
    from citynet.analysis.estimators import constant_within

    def nested(f: str) -> bool:
        return cluster is not None and cluster in constant_within(d, [cluster], [f])

    return sum(1 if nested(f) else int(d[f].nunique()) for f in fe) - (len(fe) - 1)


def _parse_vcov(vcov: Any, d: pd.DataFrame) -> tuple[str, str | None]:
    v = "cluster:city_code" if vcov is None and "city_code" in d.columns else (vcov or "hc1")
    v = str(v)
    if v.lower().startswith("cluster:"):
        cluster = v.split(":", 1)[1].strip()
        if "+" in cluster:  # linearmodels' two-way clusters lack fixest's small-sample factor and PSD fix
            raise AnalysisError(f"kind iv clusters by one variable, not two ({cluster})",
                                fix="cluster by one (an interaction A^B is one), or, with one endogenous regressor, "
                                    "fit the model as kind fit with model = \"2sls\" (fit --model 2sls), which takes "
                                    "two-way clusters as fixest does")
        return "cluster", cluster
    if v.lower() in ("hc1", "robust", "hetero"):
        return "hc1", None
    if v.lower() in ("iid", "unadjusted"):
        return "iid", None
    raise AnalysisError(f"vcov {v!r} is not available for kind iv", fix="use cluster:VAR, hc1 or iid")


def iv2sls(panel: pd.DataFrame, y: str, endog: Sequence[str], instruments: Sequence[str],
           exog: Sequence[str] = (), *, fe: str | Sequence[str] = "city_code + year", vcov: Any = None,
           name: str | None = None) -> IVResult:
    """2SLS of ``y`` on ``exog`` and K ``endog`` instrumented by ``instruments`` with absorbed ``fe``
    (module docstring)."""
    from citynet.analysis.estimators import (
        drop_singletons,
        kleibergen_paap_rk,
        missing_rows,
        second_stage_r2,
        singletons_note,
    )
    from citynet.analysis.formula import prepare
    from linearmodels.iv import IV2SLS

    endog, instruments, exog = list(endog), list(instruments), list(exog)
    fe_l = [f.strip() for f in re.split(r"\+", fe) if f.strip() and f.strip() not in ("0", "none")] \
        if isinstance(fe, str) else list(fe)
    if not endog or not instruments:
        raise AnalysisError("kind iv needs endog = [...] and instruments = [...]",
                            fix="e.g. endog = [\"l1_collab_degree\"], instruments = [\"l2_collab_degree\"]")
    if len(instruments) < len(endog):
        raise AnalysisError(f"{len(endog)} endogenous regressors but only {len(instruments)} instruments",
                            fix="add instruments (order condition L ≥ K)")
    kind, cluster = _parse_vcov(vcov, panel)
    if cluster:
        from citynet.analysis.estimators import with_interaction

        panel = with_interaction(panel, cluster)  # city_code^year: one cluster per pair
    allv = [y, *exog, *endog, *instruments]
    data, _ = prepare(panel, f"{y} ~ {' + '.join([*exog, *endog, *instruments])}",
                      extra=[*fe_l, *([cluster] if cluster else [])])
    d = data[list(dict.fromkeys([*allv, *fe_l, *([cluster] if cluster else [])]))]
    missing, missing_note = missing_rows(d, d.columns)  # said, as fixest says it (the rows were dropped silently)
    d, n_singletons = drop_singletons(d[~missing], fe_l)  # as fixest's feols: its N and small-sample factor
    d = d.reset_index(drop=True)
    n = len(d)
    M = _demean(d, allv, fe_l)
    cols = dict(zip(allv, M.T, strict=True))
    Y = pd.Series(cols[y], name=y)
    X1 = pd.DataFrame({c: cols[c] for c in exog}) if exog else None
    X2 = pd.DataFrame({c: cols[c] for c in endog})
    # an instrument the fixed effects absorb, with enough others left: left out with a note, as fixest leaves it
    # out ("The instrument 'z' has been removed because of collinearity") and fit --model 2sls does
    absorbed_z = [c for c in instruments if np.allclose(cols[c], 0)]
    absorbed_note = None
    if absorbed_z and len(instruments) - len(absorbed_z) >= len(endog):
        instruments = [c for c in instruments if c not in absorbed_z]
        absorbed_note = (f"The instrument{'s' if len(absorbed_z) > 1 else ''} {', '.join(map(_label, absorbed_z))} "
                         f"(not varying once the fixed effects are absorbed) left out, as fixest leaves "
                         f"{'them' if len(absorbed_z) > 1 else 'it'} out.")
    Z = pd.DataFrame({c: cols[c] for c in instruments})
    for c in [*exog, *endog, *instruments]:
        if np.allclose(cols[c], 0):
            raise AnalysisError(f"{c!r} does not vary once the fixed effects are absorbed",
                                fix="drop it or use other fixed effects")
    k_fe = _fe_dof(d, fe_l, cluster) if fe_l else 1
    k = len(exog) + len(endog) + k_fe
    if kind == "cluster":
        clusters = pd.Series(pd.factorize(d[cluster].astype(str))[0], name="cl")
        fit = IV2SLS(Y, X1, X2, Z).fit(cov_type="clustered", clusters=clusters, debiased=False)
        G = int(clusters.nunique())
        scale = G / (G - 1) * (n - 1) / (n - k)
        df_t: float | None = G - 1
    elif kind == "hc1":
        fit = IV2SLS(Y, X1, X2, Z).fit(cov_type="robust", debiased=False)
        scale, df_t = n / (n - k), n - k
    else:
        fit = IV2SLS(Y, X1, X2, Z).fit(cov_type="unadjusted", debiased=False)
        scale, df_t = n / (n - k), n - k
    V = fit.cov.to_numpy() * scale
    names = [*exog, *endog]
    params = fit.params.reindex(names)
    se = pd.Series(np.sqrt(np.diag(fit.cov.reindex(index=names, columns=names).to_numpy()) * scale), index=names)
    label = f"cluster:{cluster}" if kind == "cluster" else kind
    # --- weak-instrument diagnostics on the partialled matrices
    W = M[:, 1:1 + len(exog)]
    X2m = X2.to_numpy()
    Zm = Z.to_numpy()
    if W.shape[1]:
        X2m = X2m - W @ np.linalg.lstsq(W, X2m, rcond=None)[0]
        Zm = Zm - W @ np.linalg.lstsq(W, Zm, rcond=None)[0]
    L, K = Zm.shape[1], X2m.shape[1]
    PzX = Zm @ np.linalg.lstsq(Zm, X2m, rcond=None)[0]
    MzX = X2m - PzX
    res_dof = n - L - len(exog) - (_fe_dof(d, fe_l, None) if fe_l else 1)
    eig = np.linalg.eigvals(np.linalg.solve(MzX.T @ MzX, X2m.T @ PzX)).real
    cd_f = float(eig.min() * res_dof / L)
    cl_arr = d[cluster].to_numpy() if kind == "cluster" else None
    k_fs = L + len(exog) + k_fe  # the first stage's k, as in its small-sample factor
    kp_scale = {"cluster": scale * (n - k) / (n - k_fs) if kind == "cluster" else 0.0,
                "hc1": n / (n - k_fs), "iid": n / res_dof}[kind]
    kp, kp_df = kleibergen_paap_rk(X2m, Zm, vcov={"cluster": "cluster", "hc1": "hetero", "iid": "iid"}[kind],
                                   clusters=cl_arr, scale=kp_scale)
    diag: dict[str, float] = {"cragg_donald_F": cd_f, "kp_rk_wald": kp, "kp_rk_pvalue": float(stats.chi2.sf(kp, kp_df)),
                              "kp_rk_f": kp / L, "n_endog": float(K), "n_instruments": float(L)}
    # --- first stages (one column per endogenous regressor)
    firsts = []
    for j, e in enumerate(endog):
        fs = IV2SLS(pd.Series(X2[e].to_numpy(), name=e), pd.DataFrame(np.column_stack([Z.to_numpy(), W]) if W.shape[1]
                                                                        else Z.to_numpy(),
                                                                        columns=[*instruments, *exog]), None, None)
        fs = fs.fit(cov_type="clustered", clusters=clusters, debiased=False) if kind == "cluster" else \
            fs.fit(cov_type="robust" if kind == "hc1" else "unadjusted", debiased=False)
        Vf = fs.cov.to_numpy() * (scale * (n - k) / (n - k_fs))
        bz = fs.params[instruments].to_numpy()
        Vz = Vf[:L, :L]
        pf_ = float(bz @ np.linalg.solve(Vz, bz) / L)
        # Shea partial R²: squared correlation of x̃_j with its projection, both partialled of the other endog
        others = [i for i in range(K) if i != j]
        xj, xh = X2m[:, j], PzX[:, j]
        if others:
            xo, xho = X2m[:, others], PzX[:, others]
            xj = xj - xo @ np.linalg.lstsq(xo, xj, rcond=None)[0]
            xh = xh - xho @ np.linalg.lstsq(xho, xh, rcond=None)[0]
        shea = float((xj @ xh) ** 2 / ((xj @ xj) * (xh @ xh)))
        sev = np.sqrt(np.diag(Vf))
        firsts.append(FitResult(
            depvar=e, params=fs.params, se=pd.Series(sev, index=fs.params.index), nobs=n, model="first_stage",
            fixed_effects=fe_l, vcov=label, df_resid=df_t, name=f"First stage: {e}",
            stats={"partial_F": pf_, "shea_partial_r2": shea,
                   "partial_r2": float(1 - ((X2m[:, j] - PzX[:, j]) ** 2).sum() / (X2m[:, j] ** 2).sum())},
        ))
        diag[f"partial_F:{e}"] = pf_
        diag[f"shea_r2:{e}"] = shea
    exog_m = [] if X1 is None else [X1.to_numpy()]
    r2, adj_r2, r2_within = second_stage_r2(Y.to_numpy(), np.column_stack([*exog_m, X2.to_numpy()]),
                                            np.column_stack([Z.to_numpy(), *exog_m]), params[names].to_numpy(),
                                            d[y].to_numpy(float), len(names) + (_fe_dof(d, fe_l, None) if fe_l else 1))
    stats_ = {k_: v for k_, v in diag.items() if ":" not in k_}
    stats_.update({k_: float(v) for k_, v in (("n_missing", missing.sum()), ("n_singletons", n_singletons),
                                               ("n_clusters", G if kind == "cluster" else 0)) if v})
    res = FitResult(depvar=y, params=params, se=se, nobs=n, model="2sls", r2=r2, adj_r2=adj_r2, r2_within=r2_within,
                    fixed_effects=fe_l, vcov=label, df_resid=df_t, stats=stats_, name=name or "2SLS",
                    notes=[f"2SLS, endogenous: {', '.join(map(_label, endog))}; excluded instruments: "
                           f"{', '.join(map(_label, instruments))}.",
                           *([absorbed_note] if absorbed_note else []),
                           *([missing_note] if missing_note else []),
                           *([singletons_note(n_singletons)] if n_singletons else [])],
                    raw={"linearmodels": fit, "vcov": pd.DataFrame(V, index=fit.params.index, columns=fit.params.index)})
    return IVResult(result=res, first_stages=firsts, diagnostics=diag)


def first_stage_table(iv: IVResult, *, labels: dict[str, str] | None = None, title: str | None = None,
                      digits: int = 3) -> Table:
    """First stages side by side (coefficients of the instruments and exogenous regressors), then rows
    partial F, Shea partial R², and the joint Cragg–Donald and Kleibergen–Paap statistics."""
    from citynet.analysis.tables import regression_table

    t = regression_table(iv.first_stages, labels=labels, stats=["partial_F", "shea_partial_r2"], digits=digits,
                         title=title)
    t.rows = [r if r[0] not in ("partial_F", "shea_partial_r2") else
              [{"partial_F": "Partial F (excluded instruments)", "shea_partial_r2": "Shea partial R²"}[r[0]], *r[1:]]
              for r in t.rows]
    ncol = len(iv.first_stages)
    d = iv.diagnostics
    t.rows.append(["Cragg–Donald Wald F"] + [f"{d['cragg_donald_F']:.{digits}f}"] + [""] * (ncol - 1))
    t.rows.append(["Kleibergen–Paap rk Wald F"] + [f"{d['kp_rk_f']:.{digits}f}"] + [""] * (ncol - 1))
    t.rows.append(["Kleibergen–Paap rk LM-Wald p"] + [f"{d['kp_rk_pvalue']:.{digits}f}"] + [""] * (ncol - 1))
    t.notes.append("Cragg–Donald F assumes i.i.d. errors; compare the Kleibergen–Paap F with the Stock–Yogo critical "
                   "values as a rule of thumb under clustering.")
    return t
