"""Callaway & Sant'Anna (2021) with covariates: doubly robust, outcome regression and IPW ATT(g,t),
multiplier bootstrap with uniform bands, and ``aggte``'s simple / dynamic / group / calendar aggregations.

For every cohort g and year t (balanced panel; units treated in the first year dropped, as ``did``):
a 2×2 comparison of cohort g with the control units (``never``: never treated; ``notyet``: never or
not yet treated by max(t, base)) between the base year (g−1 after treatment; t−1 before it with the
``varying`` base, g−1 with ``universal``) and t, on ΔY_i = Y_it − Y_i,base and the covariates of the
earlier of the two years (with an intercept; the base year except for ``universal`` pre-periods), as
``did``. The 2×2 estimators are those of ``DRDID`` that ``did::att_gt`` calls:

- ``reg`` (``reg_did_panel``, Heckman, Ichimura & Todd 1997): ATT = mean_{D=1}(ΔY − X'β̂₀), β̂₀ the OLS
  of ΔY on X among controls;
- ``ipw`` (``std_ipw_did_panel``, Abadie 2005 with normalised weights): logit p̂(X);
  ATT = Σ D ΔY / Σ D − Σ w₀ΔY / Σ w₀, w₀ = p̂(1−D)/(1−p̂);
- ``dr`` (``drdid_panel``, Sant'Anna & Zhao 2020): ATT = Σ D(ΔY − X'β̂₀)/Σ D − Σ w₀(ΔY − X'β̂₀)/Σ w₀,
  controls with p̂ ≥ 0.995 trimmed (DRDID's ``trim.level``).

Each comes with its influence function (including the estimation effect of p̂ and β̂₀, DRDID's
formulas), rescaled by n/n_gt to the whole panel. Standard errors: analytic ``√(Σψ²)/n``, or the
multiplier bootstrap of ``did::mboot`` — ``√n · mean(v·ψ)`` with Rademacher v per unit (per cluster),
SE = IQR/(z.75 − z.25)/√n, and the uniform band's critical value the (1−α) quantile of
max_k |b_k/σ_k| (a sup-t band over all ATT(g,t), or over event times for ``dynamic``).

Aggregations (``did::aggte``), weights p_g = share of units in cohort g, with the influence function of
the estimated weights (``wif``) where they are estimated:
``simple`` Σ p_g ATT(g,t) over t ≥ g; ``dynamic`` θ(e) = Σ_g p_g ATT(g,g+e) / Σ p_g, overall = mean θ(e≥0);
``group`` θ(g) = mean_{t≥g} ATT(g,t), overall Σ p_g θ(g)/Σ p_g; ``calendar`` θ(t) = Σ_{g≤t} p_g ATT(g,t)/Σ p_g,
overall = mean θ(t). One knowing difference from ``did`` 2.1.2: the SE of the ``group`` overall effect.
Its weight influence function ``wif`` should use the indicators 1{G = g_k} of the cohorts g_k; did's
``compute.aggte`` passes the (g,t) rows' group vector and indexes it with 1..#cohorts, so every indicator
is that of the first cohort (0.4 % smaller SE on ``mpdta``). citynet uses the cohorts; the test
reproduces did's number by making the same substitution. Under the ``universal`` base citynet omits
the reference cells ATT(g, g−1) ≡ 0 that did lists. Written here (not ``analysis/did.py``) for covariates; hand-written because no
maintained Python package implements DR/IPW/OR CS with did's inference (csdid is unmaintained).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from citynet.errors import AnalysisError

METHODS = ("dr", "reg", "ipw")


@dataclass
class CSCovResult:
    att_gt: pd.DataFrame  # group, time, att, se, ci_low, ci_high (uniform band), n_units
    aggregates: dict[str, pd.DataFrame]  # per aggregation: rows (e / g / t / overall) with att, se, band
    crit: float  # uniform critical value of the att_gt band
    inf: np.ndarray = field(repr=False)  # n × (g,t) influence functions
    method: str = "dr"
    n_units: int = 0
    notes: list[str] = field(default_factory=list)  # how the treatment was read (analysis/treatment.py)


# -------------------------------------------------------------------------------- 2×2 estimators
def _logit(D: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logit by Newton: fitted p̂ and (X'diag(w p̂(1−p̂))X)⁻¹ (glm's vcov)."""
    b = np.zeros(X.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(X @ b)))
        g = X.T @ (w * (D - p))
        H = (X * (w * p * (1 - p))[:, None]).T @ X
        step = np.linalg.solve(H, g)
        b = b + step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = 1 / (1 + np.exp(-(X @ b)))
    H = (X * (w * p * (1 - p))[:, None]).T @ X
    return p, np.linalg.inv(H)


def did_2x2(dy: np.ndarray, D: np.ndarray, X: np.ndarray, method: str = "dr",
            w: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """ATT and its influence function (length n) for one 2×2 panel comparison (module docstring);
    ``X`` includes the intercept; ``w`` unit weights (DRDID's ``i.weights``, normalised to mean 1)."""
    n = len(dy)
    w = np.ones(n) if w is None else w / w.mean()
    if method in ("reg", "dr"):
        c = D == 0
        Xc = X[c] * np.sqrt(w[c])[:, None]
        beta = np.linalg.lstsq(Xc, dy[c] * np.sqrt(w[c]), rcond=None)[0]
        out = X @ beta
        wols = w * (1 - D)
        XpX_inv = np.linalg.inv((X * wols[:, None]).T @ X / n)
        lin_ols = (wols * (dy - out))[:, None] * X @ XpX_inv
    if method in ("ipw", "dr"):
        ps, Vps = _logit(D.astype(float), X, w)
        ps = np.minimum(ps, 1 - 1e-6)
        lin_ps = (w * (D - ps))[:, None] * X @ (Vps * n)
    if method == "reg":
        wt = w * D
        eta_t = np.mean(wt * dy) / np.mean(wt)
        eta_c = np.mean(wt * out) / np.mean(wt)
        inf_t = (wt * dy - wt * eta_t) / np.mean(wt)
        inf_c1 = wt * out - wt * eta_c
        M1 = np.mean(wt[:, None] * X, axis=0)
        inf_c = (inf_c1 + lin_ols @ M1) / np.mean(wt)
        return float(eta_t - eta_c), inf_t - inf_c
    if method == "ipw":
        trim = np.where(D == 0, ps < 0.995, True)
        wt = trim * w * D
        wc = trim * w * ps * (1 - D) / (1 - ps)
        eta_t = np.mean(wt * dy) / np.mean(wt)
        eta_c = np.mean(wc * dy) / np.mean(wc)
        inf_t = (wt * dy - wt * eta_t) / np.mean(wt)
        M2 = np.mean((wc * (dy - eta_c))[:, None] * X, axis=0)
        inf_c = (wc * dy - wc * eta_c + lin_ps @ M2) / np.mean(wc)
        return float(eta_t - eta_c), inf_t - inf_c
    if method == "dr":
        trim = np.where(D == 0, ps < 0.995, True)
        wt = trim * w * D
        wc = trim * w * ps * (1 - D) / (1 - ps)
        r = dy - out
        eta_t = np.mean(wt * r) / np.mean(wt)
        eta_c = np.mean(wc * r) / np.mean(wc)
        M1 = np.mean(wt[:, None] * X, axis=0)
        inf_t = (wt * r - wt * eta_t - lin_ols @ M1) / np.mean(wt)
        M2 = np.mean((wc * (r - eta_c))[:, None] * X, axis=0)
        M3 = np.mean(wc[:, None] * X, axis=0)
        inf_c = (wc * r - wc * eta_c + lin_ps @ M2 - lin_ols @ M3) / np.mean(wc)
        return float(eta_t - eta_c), inf_t - inf_c
    raise AnalysisError(f"unknown CS method {method!r}", fix=f"use one of {', '.join(METHODS)}")


# ------------------------------------------------------------------------------- bootstrap
def multiplier_bootstrap(inf: np.ndarray, reps: int = 999, seed: int | None = 0, level: float = 0.95,
                         clusters: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """did's ``mboot``: bootstrap SEs (IQR / (z.75 − z.25) / √n) and the sup-t critical value."""
    inf = np.atleast_2d(inf.T).T
    n = inf.shape[0]
    rng = np.random.default_rng(seed)
    if clusters is not None:  # did: cluster means of ψ, √G scaling
        codes, _ = pd.factorize(pd.Series(clusters))
        G = codes.max() + 1
        sums = np.zeros((G, inf.shape[1]))
        np.add.at(sums, codes, inf)
        psi_g = sums / np.bincount(codes)[:, None]
        v = rng.choice([-1.0, 1.0], size=(reps, G))
        bres = np.sqrt(G) * (v @ psi_g) / G
    else:
        v = rng.choice([-1.0, 1.0], size=(reps, n))
        bres = np.sqrt(n) * (v @ inf) / n
    q75, q25 = np.quantile(bres, 0.75, axis=0, method="inverted_cdf"), np.quantile(bres, 0.25, axis=0,
                                                                                    method="inverted_cdf")
    sig = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    ok = sig > np.sqrt(np.finfo(float).eps) * 10
    se = np.full(inf.shape[1], np.nan)
    se[ok] = sig[ok] / np.sqrt(n)
    if ok.any():
        bT = np.max(np.abs(bres[:, ok] / sig[ok]), axis=1)
        crit = float(np.quantile(bT, level, method="inverted_cdf"))
    else:
        crit = float(stats.norm.ppf(1 - (1 - level) / 2))
    return se, crit


# -------------------------------------------------------------------------------- att_gt
def att_gt_covariates(panel: pd.DataFrame, y: str, covariates: Sequence[str] = (), *, treat: str | None = "low_carbon",
                      cohort: str | None = None, method: str = "dr", control: str = "never", base: str = "varying",
                      unit: str = "city_code", time: str = "year", bootstrap: bool = True, reps: int = 999,
                      seed: int | None = 0, level: float = 0.95, cluster: str | None = None) -> CSCovResult:
    """ATT(g,t) with covariates and the four aggregations (module docstring)."""
    from citynet.analysis.formula import prepare
    from citynet.analysis.treatment import first_treated

    if method not in METHODS:
        raise AnalysisError(f"unknown CS method {method!r}", fix=f"use method = one of {', '.join(METHODS)}")
    if control not in ("never", "notyet"):
        raise AnalysisError(f"CS control = {control!r}", fix="use control = \"never\" or \"notyet\"")
    covariates = list(covariates)
    data, _ = prepare(panel, f"{y} ~ {' + '.join(covariates) or '1'}", extra=[unit, time])
    g, treat_notes = first_treated(data, treat, cohort, unit, time)
    from citynet.analysis.estimators import missing_rows

    cols = [unit, time, y, "_g", *covariates, *([cluster] if cluster else [])]
    d = data.assign(_g=g.fillna(0.0))[cols]
    missing, missing_note = missing_rows(d, cols)
    d = d[~missing]
    years = np.sort(d[time].unique())
    T = len(years)
    full = d.groupby(unit)[time].transform("nunique") == T
    gaps = int(d.loc[~full, unit].nunique())
    d = d[full & ~d.duplicated([unit, time])]
    first = int(d.loc[d["_g"] == years[0], unit].nunique())
    d = d[d["_g"] != years[0]]  # treated in the first period: no pre-period
    # said, as did::att_gt says them ("Dropped N units that were already treated in the first period"); the three
    # were left out without a word
    left = [*([missing_note] if missing_note else []),
            *([f"{gaps:,} cities not observed (with every variable) in all {T} years dropped (a balanced panel, as "
               "did::att_gt balances it)."] if gaps else []),
            *([f"{first:,} cities already treated in the first year ({int(years[0])}) dropped: no pre-period (as "
               "did::att_gt)."] if first else [])]
    d = d.sort_values([unit, time])
    units = pd.Index(d[unit].unique())
    n = len(units)
    Y = d.pivot(index=unit, columns=time, values=y).loc[units].to_numpy(float)
    Gu = d.groupby(unit)["_g"].first().loc[units].to_numpy(float)
    Xs = {c: d.pivot(index=unit, columns=time, values=c).loc[units].to_numpy(float) for c in covariates}
    groups = np.sort(np.unique(Gu[Gu > 0]))
    if len(groups) == 0:
        raise AnalysisError("no treated cohort after the first year", fix="check treat/cohort and the sample years")
    if control == "never" and not (Gu == 0).any():
        raise AnalysisError("no never-treated units for control = \"never\"", fix="use control = \"notyet\"")
    rows, infs = [], []
    yidx = {int(t): i for i, t in enumerate(years)}
    for gg in groups:
        for ti, t in enumerate(years):
            if ti == 0 and base != "universal":
                continue
            post = t >= gg
            b = int(gg - 1) if (post or base == "universal") else int(years[ti - 1])
            if b not in yidx or (not post and base == "universal" and t == gg - 1):
                continue
            bi = yidx[b]
            xi = min(bi, ti)  # covariates of the earlier of the two years (did's panel2cs2)
            if control == "never":
                ctrl = Gu == 0
            else:
                ctrl = (Gu == 0) | (Gu > max(t, b))
            treated = Gu == gg
            sub = treated | ctrl
            if treated.sum() == 0 or ctrl.sum() == 0:
                continue
            dy = Y[sub, ti] - Y[sub, bi]
            X = np.column_stack([np.ones(sub.sum())] + [Xs[c][sub, xi] for c in covariates])
            att, psi = did_2x2(dy, treated[sub].astype(float), X, method)
            full_psi = np.zeros(n)
            full_psi[sub] = n / sub.sum() * psi
            rows.append({"group": int(gg), "time": int(t), "att": att, "n_units": int(sub.sum())})
            infs.append(full_psi)
    inf = np.column_stack(infs)
    tab = pd.DataFrame(rows)
    cl = d.groupby(unit)[cluster].first().loc[units].to_numpy() if cluster else None
    se_an = np.sqrt((inf**2).sum(axis=0)) / n
    if bootstrap:
        se, crit = multiplier_bootstrap(inf, reps, seed, level, cl)
    else:
        se, crit = se_an, float(stats.norm.ppf(1 - (1 - level) / 2))
    tab["se"] = se
    tab["se_analytic"] = se_an
    tab["ci_low"] = tab["att"] - crit * tab["se"]
    tab["ci_high"] = tab["att"] + crit * tab["se"]
    pg_group = {int(gg): float(np.mean(Gu == gg)) for gg in groups}
    aggs = _aggregate(tab, inf, Gu, pg_group, n, bootstrap, reps, seed, level, cl)
    return CSCovResult(att_gt=tab, aggregates=aggs, crit=crit, inf=inf, method=method, n_units=n,
                       notes=[*treat_notes, *left])


def _wif(keep: np.ndarray, pgg: np.ndarray, Gu: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Influence function of the estimated weights p_g/Σp_g (did's ``wif``)."""
    s = pgg[keep].sum()
    ind = np.column_stack([(Gu == group[k]).astype(float) - pgg[k] for k in keep])  # n × |keep|
    if1 = ind / s
    if2 = ind.sum(axis=1)[:, None] * (pgg[keep] / s**2)[None, :]
    return if1 - if2


def _aggregate(tab: pd.DataFrame, inf: np.ndarray, Gu: np.ndarray, pg: dict[int, float], n: int, bootstrap: bool,
               reps: int, seed: int | None, level: float, cl) -> dict[str, pd.DataFrame]:
    att = tab["att"].to_numpy()
    group = tab["group"].to_numpy(float)
    t = tab["time"].to_numpy(float)
    pgg = np.array([pg[int(x)] for x in group])

    def se_of(psi: np.ndarray) -> tuple[np.ndarray, float]:
        psi = np.atleast_2d(psi.T).T
        if bootstrap:
            return multiplier_bootstrap(psi, reps, seed, level, cl)
        return np.sqrt((psi**2).sum(axis=0)) / n, float(stats.norm.ppf(1 - (1 - level) / 2))

    def agg_if(keep: np.ndarray, wts: np.ndarray, wif: np.ndarray | None, att_v=att, inf_m=inf) -> np.ndarray:
        psi = inf_m[:, keep] @ wts
        if wif is not None:
            psi = psi + wif @ att_v[keep]
        return psi

    out: dict[str, pd.DataFrame] = {}
    # simple
    keep = np.flatnonzero(group <= t)
    w = pgg[keep] / pgg[keep].sum()
    psi = agg_if(keep, w, _wif(keep, pgg, Gu, group))
    se, _ = se_of(psi)
    out["simple"] = pd.DataFrame([{"term": "ATT", "att": float(att[keep] @ w), "se": float(se[0])}])
    # dynamic
    e = t - group
    es = np.sort(np.unique(e))
    th, psis = [], []
    for ev in es:
        k = np.flatnonzero(e == ev)
        w = pgg[k] / pgg[k].sum()
        th.append(float(att[k] @ w))
        psis.append(agg_if(k, w, _wif(k, pgg, Gu, group)))
    P = np.column_stack(psis)
    se, crit = se_of(P)
    dyn = pd.DataFrame({"term": [f"e={int(v)}" for v in es], "event_time": es.astype(int), "att": th, "se": se})
    dyn["ci_low"], dyn["ci_high"] = dyn["att"] - crit * dyn["se"], dyn["att"] + crit * dyn["se"]
    pos = es >= 0
    psi_o = P[:, pos].mean(axis=1)
    se_o, _ = se_of(psi_o)
    dyn = pd.concat([dyn, pd.DataFrame([{"term": "overall", "att": float(np.mean(np.array(th)[pos])),
                                         "se": float(se_o[0])}])], ignore_index=True)
    dyn.attrs["crit"] = crit
    out["dynamic"] = dyn
    # group
    glist = np.array(sorted(pg))
    thg, psig = [], []
    for gg in glist:
        k = np.flatnonzero((group == gg) & (t >= gg))
        w = np.full(len(k), 1 / len(k))
        thg.append(float(att[k] @ w))
        psig.append(agg_if(k, w, None))
    Pg = np.column_stack(psig)
    se, crit_g = se_of(Pg)
    pgl = np.array([pg[int(gg)] for gg in glist])
    wg = pgl / pgl.sum()
    psi_o = Pg @ wg + _wif(np.arange(len(glist)), pgl, Gu, glist) @ np.array(thg)
    se_o, _ = se_of(psi_o)
    grp = pd.DataFrame({"term": [f"g={int(gg)}" for gg in glist], "att": thg, "se": se})
    grp["ci_low"], grp["ci_high"] = grp["att"] - crit_g * grp["se"], grp["att"] + crit_g * grp["se"]
    out["group"] = pd.concat([grp, pd.DataFrame([{"term": "overall", "att": float(np.array(thg) @ wg),
                                                  "se": float(se_o[0])}])], ignore_index=True)
    # calendar
    tl = np.sort(np.unique(t[t >= group.min()]))
    tht, psit = [], []
    for tt in tl:
        k = np.flatnonzero((t == tt) & (group <= tt))
        if len(k) == 0:
            continue
        w = pgg[k] / pgg[k].sum()
        tht.append((tt, float(att[k] @ w)))
        psit.append(agg_if(k, w, _wif(k, pgg, Gu, group)))
    Pt = np.column_stack(psit)
    se, crit_t = se_of(Pt)
    cal = pd.DataFrame({"term": [f"t={int(a)}" for a, _ in tht], "att": [b for _, b in tht], "se": se})
    cal["ci_low"], cal["ci_high"] = cal["att"] - crit_t * cal["se"], cal["att"] + crit_t * cal["se"]
    se_o, _ = se_of(Pt.mean(axis=1))
    out["calendar"] = pd.concat([cal, pd.DataFrame([{"term": "overall", "att": float(cal["att"].mean()),
                                                     "se": float(se_o[0])}])], ignore_index=True)
    return out
