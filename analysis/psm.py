"""PSM-DID with k nearest neighbours, a caliper, with or without replacement, and the balance table.

1. Propensity score: logit of "ever treated" on the cities' covariate means over the pre-treatment
   years (before the first cohort), by statsmodels.
2. Matching on the logit of the score (Rosenbaum & Rubin 1985): each treated city takes its ``k``
   nearest control cities with ``|logit(p_i) − logit(p_j)| ≤ caliper`` (caliper in standard deviations
   of the logit score, Austin 2011 recommends 0.2; or absolute with ``caliper_sd = false``).
   With replacement a control may serve several treated cities (each treated city's neighbours
   found independently; ties by city code); without replacement the treated cities are matched
   greedily from the highest score down and a used control leaves the pool (psmatch2's order, ties by code).
3. DID on the matched sample: ``y_it = β·D_it + controls + city FE + year FE``, clustered by city;
   with ``weighted = true`` the observations carry the matching weights (treated 1, control Σ 1/k_i over
   the treated cities it serves — the ATT weights of psmatch2/MatchIt).
4. Balance (psmatch2's ``pstest`` layout): means of treated and (weighted) controls before and after
   matching, standardised bias ``100(x̄_t − x̄_c)/√((s_t² + s_c²)/2)`` (the denominator from the
   unmatched samples, as pstest), its reduction, and the t-test of equal means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult
from citynet.analysis.tables import Table
from scipy import stats

from citynet.errors import AnalysisError


@dataclass
class PSMResult:
    result: FitResult
    balance: pd.DataFrame  # per covariate: before/after means, %bias, %reduction, t, p
    matches: pd.DataFrame  # treated, control, distance (one row per pair)
    weights: pd.Series  # matching weight per city (0 = unmatched)
    pscore: pd.Series


def match(logit: pd.Series, treated: pd.Series, *, k: int = 1, caliper: float | None = None,
          replace: bool = True) -> pd.DataFrame:
    """Nearest-neighbour pairs on ``logit`` (indexed by unit): columns treated, control, distance."""
    t_units = sorted(treated.index[treated == 1], key=str)
    c_units = np.array(sorted(treated.index[treated == 0], key=str), dtype=object)
    c_vals = logit[c_units].to_numpy(float)
    rows = []
    if replace:
        for u in t_units:
            dist = np.abs(c_vals - logit[u])
            order = np.lexsort((np.arange(len(dist)), dist))[:k]
            rows += [(u, c_units[j], float(dist[j])) for j in order if caliper is None or dist[j] <= caliper]
    else:
        avail = np.ones(len(c_units), bool)
        for u in sorted(t_units, key=lambda v: (-logit[v], str(v))):
            dist = np.where(avail, np.abs(c_vals - logit[u]), np.inf)
            order = np.lexsort((np.arange(len(dist)), dist))[:k]
            for j in order:
                if np.isfinite(dist[j]) and (caliper is None or dist[j] <= caliper):
                    rows.append((u, c_units[j], float(dist[j])))
                    avail[j] = False
    return pd.DataFrame(rows, columns=["treated", "control", "distance"])


def _balance(X: pd.DataFrame, d: pd.Series, w: pd.Series) -> pd.DataFrame:
    Xt, Xc = X[d == 1], X[d == 0]
    sd = np.sqrt((Xt.var() + Xc.var()) / 2)
    wt = w[d == 1]
    wc = w[d == 0]
    mt_a = (Xt.mul(wt, axis=0).sum() / wt.sum())
    mc_a = (Xc.mul(wc, axis=0).sum() / wc.sum())
    rows = {}
    for c in X.columns:
        t_b, p_b = stats.ttest_ind(Xt[c], Xc[c])
        # matched: weighted regression of x on the treatment dummy (pstest's t after matching)
        keep = w > 0
        xv, dv, wv = X.loc[keep, c].to_numpy(), d[keep].to_numpy(float), w[keep].to_numpy(float)
        Xm = np.column_stack([np.ones(len(xv)), dv])
        sw = np.sqrt(wv)
        beta, *_ = np.linalg.lstsq(Xm * sw[:, None], xv * sw, rcond=None)
        e = (xv - Xm @ beta) * sw
        dof = max(wv.sum() - 2, 1)
        V = (e @ e / dof) * np.linalg.inv((Xm * wv[:, None]).T @ Xm)
        t_a = beta[1] / np.sqrt(V[1, 1])
        p_a = 2 * stats.t.sf(abs(t_a), dof)
        bb = 100 * (Xt[c].mean() - Xc[c].mean()) / sd[c]
        ba = 100 * (mt_a[c] - mc_a[c]) / sd[c]
        rows[c] = {"mean_treated_unmatched": Xt[c].mean(), "mean_control_unmatched": Xc[c].mean(),
                   "bias_unmatched": bb, "t_unmatched": t_b, "p_unmatched": p_b,
                   "mean_treated_matched": mt_a[c], "mean_control_matched": mc_a[c], "bias_matched": ba,
                   "bias_reduction_pct": 100 * (1 - abs(ba) / abs(bb)) if bb != 0 else np.nan,
                   "t_matched": t_a, "p_matched": p_a}
    return pd.DataFrame(rows).T


def psm_did(panel: pd.DataFrame, y: str, covariates: Sequence[str], treat: str = "low_carbon",
            controls: Sequence[str] | None = None, *, k: int = 1, caliper: float | None = None,
            caliper_sd: bool = True, replace: bool = True, weighted: bool = False, cohort: str | None = None,
            unit: str = "city_code", time: str = "year", fe: str = "city_code + year", vcov: Any = None,
            name: str | None = None) -> PSMResult:
    """PSM-DID (module docstring)."""
    import statsmodels.api as sm
    from citynet.analysis.estimators import check_numeric, fit
    from citynet.analysis.formula import prepare
    from citynet.analysis.treatment import first_treated

    covariates = list(covariates)
    if k < 1:
        raise AnalysisError(f"PSM k = {k}", fix="use k = 1 or more neighbours")
    df, _ = prepare(panel, f"{y} ~ {' + '.join([treat, *covariates, *(controls or [])])}", extra=[unit, time])
    check_numeric(df, covariates, "PSM covariate")
    g, treat_notes = first_treated(df, treat, cohort, unit, time)
    df = df.assign(_g=g)
    first = float(np.nanmin(g)) if g.notna().any() else np.inf
    pre = df[df[time] < first]
    if pre.empty:
        raise AnalysisError(f"no year before the first treatment ({first:g}) to match on",
                            fix="include pre-treatment years in the sample")
    X = pre.groupby(unit)[covariates].mean()
    d = df.groupby(unit)["_g"].first().notna().astype(int).reindex(X.index)
    ok = X.notna().all(axis=1)
    X, d = X[ok], d[ok]
    if d.nunique() < 2:
        raise AnalysisError("PSM needs treated and untreated cities with pre-period covariates",
                            fix="check treat and the sample years")
    try:
        lm = sm.Logit(d.astype(float), sm.add_constant(X, has_constant="add")).fit(disp=0, maxiter=500)
    except Exception as exc:
        raise AnalysisError(f"PSM: the logit failed ({exc})", fix="use fewer or less collinear covariates") from exc
    p = pd.Series(np.clip(lm.predict(sm.add_constant(X, has_constant="add")), 1e-12, 1 - 1e-12), index=X.index)
    logit = np.log(p / (1 - p))
    cal = None if caliper is None else (caliper * float(logit.std()) if caliper_sd else float(caliper))
    pairs = match(logit, d, k=k, caliper=cal, replace=replace)
    if pairs.empty:
        raise AnalysisError("PSM: no treated city has a control within the caliper",
                            fix="widen caliper (in SDs of the logit score) or use more neighbours")
    kk = pairs.groupby("treated")["control"].transform("size")
    wc = (1 / kk).groupby(pairs["control"]).sum()
    w = pd.Series(0.0, index=X.index)
    w[pairs["treated"].unique()] = 1.0
    w[wc.index] = wc.to_numpy()
    bal = _balance(X, d, w)
    keep = w[w > 0]
    sub = df[df[unit].isin(keep.index)].drop(columns="_g").copy()
    from citynet.analysis.did import did_controls

    ctl, absorbed = did_controls(sub, covariates, controls, unit, fe)
    fml = f"{y} ~ {' + '.join([treat, *ctl])}" + (f" | {fe}" if fe and fe != "none" else "")
    if weighted:
        sub["_w"] = sub[unit].map(keep).astype(float)
        import warnings

        import pyfixest as pf
        from citynet.analysis.pyfixest_order import pin


        pin()  # fixed effects in formula order, whatever the hash seed
        from citynet.analysis.estimators import parse_vcov, to_result
        vcov_arg, label = parse_vcov(vcov, sub)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = pf.feols(fml, sub, vcov=vcov_arg, weights="_w")
        res = to_result(f, model="ols", vcov_label=label, fe=[s.strip() for s in fe.split("+")] if fe else [],
                        name=name or "PSM-DID", depvar=y)
    else:
        res = fit(sub, fml, vcov=vcov, name=name or "PSM-DID")
    res.notes += absorbed + treat_notes
    n_t = int(pairs["treated"].nunique())
    res.stats.update({"n_treated_matched": float(n_t), "n_treated": float((d == 1).sum()),
                      "n_controls_used": float(pairs["control"].nunique()), "k": float(k)})
    res.notes.append(f"PSM-DID: logit score on pre-{first:g} means of {', '.join(covariates)}; {k} nearest "
                     f"neighbour(s) {'with' if replace else 'without'} replacement"
                     + (f", caliper {cal:.4f} on the logit score" if cal is not None else "")
                     + f"; {n_t} of {int((d == 1).sum())} treated cities matched"
                     + ("; matching weights" if weighted else "") + ".")
    return PSMResult(result=res, balance=bal, matches=pairs, weights=w, pscore=p)


def balance_table(res: PSMResult, *, labels: dict[str, str] | None = None, digits: int = 3) -> Table:
    """psmatch2 ``pstest`` layout: Variable | Sample | Mean treated | Mean control | %bias | %reduct |bias| | t | p."""
    labels = labels or {}
    rows = []
    for v, r in res.balance.iterrows():
        rows.append([labels.get(v, v), "Unmatched", f"{r.mean_treated_unmatched:.{digits}f}",
                     f"{r.mean_control_unmatched:.{digits}f}", f"{r.bias_unmatched:.1f}", "",
                     f"{r.t_unmatched:.2f}", f"{r.p_unmatched:.3f}"])
        rows.append(["", "Matched", f"{r.mean_treated_matched:.{digits}f}", f"{r.mean_control_matched:.{digits}f}",
                     f"{r.bias_matched:.1f}", f"{r.bias_reduction_pct:.1f}", f"{r.t_matched:.2f}",
                     f"{r.p_matched:.3f}"])
    return Table(header=["Variable", "Sample", "Mean treated", "Mean control", "%bias", "%reduct |bias|", "t", "p>|t|"],
                 rows=rows, title="Balance before and after matching", n_coef_rows=len(rows),
                 notes=["%bias: standardised difference (pooled SD of the unmatched samples); t-test after matching "
                        "with matching weights."])
