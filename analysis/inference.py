"""Inference beyond the sandwich: wild cluster bootstrap, randomization inference, Conley standard errors.

Wild cluster bootstrap (WCR11, restricted, Cameron, Gelbach & Miller 2008), computed by the
"fast and wild" algebra of Roodman, MacKinnon, Nielsen & Webb (2019): for H0 ``β_j = r`` the
restricted residuals ``ũ(r) = M_{X₋ⱼ}(y − r x_j)``; with ``c = (X'X)⁻¹e_j``, the cluster scores
``s_g = c'X_g'ũ_g`` and ``A = M (X'X)⁻¹ S`` (``M_g = c'X_g'X_g``, ``S = [X_h'ũ_h]``) every draw ``v``
(Rademacher, Webb or Mammen weights per cluster) gives ``β*_j − r = s'v`` and the bootstrap cluster
scores ``diag(s)v − Av``, so ``t*`` for B draws is two G×B matrix products — no refit. The p-value is
``mean(|t*| > |t|)`` (two-sided, symmetric; strict as wildboottest and fwildclusterboot), the confidence interval the set of ``r`` not rejected at
level α (test inversion by bisection, the same draws for every ``r``; boottest's method). Fixed
effects nested in the cluster variable are absorbed by demeaning (which commutes with the
cluster-level weights); other fixed effects enter as dummies. With ``2^G ≤ reps`` Rademacher draws
are enumerated (exact). A hand-written bootstrap because pyfixest's ``wildboottest`` only tests
``β = 0`` (no intervals) and builds one-hot FE designs; tests check the p-values against it.

Randomization inference (Fisher; Young 2019): the coefficient of the treatment is recomputed for
``reps`` reassignments of the treatment *paths* across units (a city gets another city's whole
0/1 history, so staggered adoption keeps its timing structure); p = (#{|b*| ≥ |b|} + 1)/(reps + 1)
(the ``randomization-c`` statistic). Vectorised: the permuted treatment columns are demeaned by the
fixed effects in one pyfixest ``demean`` call and partialled on the other regressors (FWL).

Conley (1999) standard errors: ``V = (X̃'X̃)⁻¹ Σ_i Σ_j K(d_ij) x̃_i û_i û_j x̃_j' (X̃'X̃)⁻¹`` with X̃, û
the FE-demeaned regressors and residuals, ``K = 1{d ≤ cutoff}`` (uniform) or ``1 − d/cutoff``
(Bartlett), pairs only within the same year; the panel version adds, within a city, Bartlett-weighted
serial terms ``(1 − l/(L+1))`` up to lag L (Hsiang 2010; Fetzer's conleyreg). No small-sample factor
(Conley's estimator); normal reference distribution. Distances: haversine between the cities' centroids
(Earth radius 6371.0088 km), pairs at ``d ≤ cutoff`` (inclusive), each observation paired with itself.
The Bartlett kernel against statsmodels' Newey–West ``cov_hac``: cities one degree apart on the equator, in
the rows' order, with a cutoff of L + 1 degrees (tests/test_designs_inference.py).
Against fixest 0.14.2's ``vcov_conley`` (uniform kernel only; tests/test_conley_fixest.py, equal to 1e-15):
citynet's ``conley:C`` = ``vcov_conley(cutoff = C·6376/6371.0088, distance = "spherical", ssc = ssc(K.adj =
FALSE))`` on one period — fixest's haversine takes R = 6376 km, its default ``"triangular"`` distance is an
equirectangular approximation, and by default it multiplies V by n/(n − K) with K counting every FE level
(×1.056 on the SEs of a 337-city, 10-year two-way FE panel) and uses t(n − K) p-values. On a panel fixest sums
over every pair within the cutoff whatever the years (a city's rows of all years are pairs at distance 0);
citynet over the pairs of one year, as Conley–Hsiang (``conley_meat`` without ``time`` is fixest's sum).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult

from citynet.errors import AnalysisError, UserError
from citynet.progress import report

FIXEST_EARTH_RADIUS_KM = 6376.0  # fixest's haversine (vcov_related.cpp dist_km: 12752·asin(…)); citynet's is 6371.0088


# ------------------------------------------------------------------------------------- design
def _design(df: pd.DataFrame, formula: str, cluster: str | None, extra: Sequence[str] = ()) -> dict[str, Any]:
    """Estimation sample and the pieces of ``y ~ x1 + x2 | fe1 + fe2`` (plain columns only)."""
    from citynet.analysis.estimators import _terms, split_formula, with_interaction
    from citynet.analysis.formula import prepare

    data, fml = prepare(df, formula, extra=[c for c in [cluster, *extra] if c])
    parts = split_formula(fml)
    if parts["endog"]:
        raise AnalysisError("wild bootstrap, randomization inference and Conley SEs are for OLS models",
                            fix="drop the IV part of the formula (or use vcov = cluster:VAR for 2SLS)")
    terms = list(dict.fromkeys(_terms(parts["rhs"])))  # x + x: one regressor, as the fit takes it
    for fe in parts["fe"]:  # province_code^year: the pairs' column
        data = with_interaction(data, fe)
    if parts["depvar"] not in data.columns:
        raise AnalysisError(f"the dependent variable {parts['depvar']} is an expression; wild bootstrap, "
                            "randomization inference and Conley SEs take panel columns",
                            fix="use a column the panel has or derives (ln_X = ln(1+X), l1_X, f1_X), or derive it "
                                "in a SPEC ([panel_options] derive = {name = \"expr\"})")
    bad = [t for t in terms if t not in data.columns]
    if bad:  # C(region), i(year, d), log(x): formulaic builds them inside pyfixest, the bootstraps take columns
        groups = [m.group(1) for t in bad if (m := re.fullmatch(r"(?:C|i)\(\s*(\w+)\s*\)", t))]
        raise AnalysisError(
            f"wild bootstrap, randomization inference and Conley SEs take panel columns as regressors: "
            f"{', '.join(bad)} {'is an expression' if len(bad) == 1 else 'are expressions'}",
            fix=(f"absorb {', '.join(groups)} as {'a fixed effect' if len(groups) == 1 else 'fixed effects'} after '|' "
                 f"(… | city_code + year + {groups[0]}), or " if groups else "")
                + "use columns the panel has or derives (ln_X = ln(1+X), l1_X, f1_X), or derive them in a SPEC "
                  "([panel_options] derive = {name = \"expr\"})")
    cols = list(dict.fromkeys([parts["depvar"], *terms, *parts["fe"], *([cluster] if cluster else []), *extra]))
    d = data[cols].dropna()
    num = d[[parts["depvar"], *terms]].to_numpy(float)
    d = d[np.isfinite(num).all(axis=1)]
    if parts["fe"]:  # the fit's sample: fixest drops the singletons (their clusters would count in G and draws)
        from citynet.analysis.estimators import drop_singletons

        d, _ = drop_singletons(d, parts["fe"])
    d = d.reset_index(drop=True)
    return {"data": d, "depvar": parts["depvar"], "terms": terms, "fe": parts["fe"], "formula": fml}


def _group_demean(M: np.ndarray, groups: np.ndarray) -> np.ndarray:
    codes, _ = pd.factorize(pd.Series(groups).astype(str))
    sums = np.zeros((codes.max() + 1, M.shape[1]))
    np.add.at(sums, codes, M)
    return M - (sums / np.bincount(codes)[:, None])[codes]


def _absorb(d: pd.DataFrame, depvar: str, cols: list[str], fe: list[str],
            cluster: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(y, X, names): the first FE nested in ``cluster`` demeaned away, the other FE as dummies
    (drop-first); an intercept when no FE is absorbed."""
    from citynet.analysis.estimators import constant_within

    nested = [f for f in fe if cluster and cluster in constant_within(d, [cluster], [f])]
    absorbed = nested[:1]
    mats = [d[cols].to_numpy(float)]
    names = list(cols)
    for f in fe:
        if f in absorbed:
            continue
        dm = pd.get_dummies(d[f].astype(str), prefix=f, drop_first=True, dtype=float)
        mats.append(dm.to_numpy())
        names += list(dm.columns)
    X = np.concatenate(mats, axis=1)
    y = d[[depvar]].to_numpy(float)
    if absorbed:
        g = d[absorbed[0]].to_numpy()
        X, y = _group_demean(X, g), _group_demean(y, g)
    else:
        X = np.concatenate([X, np.ones((len(d), 1))], axis=1)
        names.append("Intercept")
    keep = _independent_dummies(X, len(cols))
    return y[:, 0], X[:, keep], [names[j] for j in keep]


def _independent_dummies(X: np.ndarray, n_regressors: int, tol: float = 1e-9) -> list[int]:
    """The columns of ``X`` to keep: every regressor (the first ``n_regressors``) and each dummy not in the span
    of the columns before it. Dummies of a fixed effect constant within the absorbed one are collinear with it
    (``city_code + province_code^year``: one province's year dummies sum to its indicator, which the city
    demeaning removes); kept, they made ``X'X`` near-singular and the bootstrap's β wrong, silently. A QR
    without pivoting keeps the order: ``|R_jj|`` small against column j's norm means j is in the span of the
    columns before it (as fixest drops the later of collinear variables)."""
    if X.shape[1] <= n_regressors:
        return list(range(X.shape[1]))
    r = np.abs(np.diag(np.linalg.qr(X, mode="r")))
    norms = np.linalg.norm(X, axis=0)
    independent = r > tol * np.where(norms > 0, norms, 1.0)
    return [j for j in range(X.shape[1]) if j < n_regressors or independent[j]]


def _weights(kind: str, G: int, reps: int, seed: int | None) -> tuple[np.ndarray, bool]:
    """G×B matrix of cluster weights; Rademacher enumerated when 2^G ≤ reps."""
    if kind == "rademacher" and reps >= 2**G:
        grid = ((np.arange(2**G)[None, :] >> np.arange(G)[:, None]) & 1).astype(float)
        return 2 * grid - 1, True
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice([-1.0, 1.0], size=(G, reps)), False
    if kind == "webb":
        vals = np.array([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])
        return rng.choice(vals, size=(G, reps)), False
    if kind == "mammen":
        s5 = np.sqrt(5)
        p = (s5 + 1) / (2 * s5)
        return np.where(rng.random((G, reps)) < p, -(s5 - 1) / 2, (s5 + 1) / 2), False
    if kind == "normal":
        return rng.standard_normal((G, reps)), False
    raise AnalysisError(f"unknown bootstrap weights {kind!r}", fix="use rademacher, webb, mammen or normal")


class WildBootstrap:
    """WCR11 for one coefficient; ``pvalue(r)`` and ``ci(level)`` reuse one set of draws."""

    def __init__(self, X: np.ndarray, y: np.ndarray, j: int, clusters: np.ndarray, v: np.ndarray):
        self.X, self.y, self.j = X, y, j
        codes, _ = pd.factorize(pd.Series(clusters))
        self.codes, self.G = codes, int(codes.max() + 1)
        self.v = v
        XtX_inv = np.linalg.inv(X.T @ X)
        self.XtX_inv = XtX_inv
        self.beta = XtX_inv @ (X.T @ y)
        self.c = XtX_inv[:, j]
        others = np.delete(np.arange(X.shape[1]), j)
        Xo = X[:, others]
        proj = np.linalg.lstsq(Xo, np.column_stack([y, X[:, j]]), rcond=None)[0]
        res = np.column_stack([y, X[:, j]]) - Xo @ proj
        self.u0, self.m = res[:, 0], res[:, 1]  # ũ(r) = u0 − r m
        k = X.shape[1]
        # M_g = c'X_g'X_g (G×k)
        Xc = X @ self.c
        Mg = np.zeros((self.G, k))
        np.add.at(Mg, codes, Xc[:, None] * X)
        self.MB = Mg @ XtX_inv  # G×k
        # original CRV0 se of β_j (constant factors cancel in p-values)
        u = y - X @ self.beta
        sg = np.bincount(codes, Xc * u, minlength=self.G)
        self.se0 = float(np.sqrt(sg @ sg))

    def _parts(self, r: float) -> tuple[np.ndarray, np.ndarray]:
        ut = self.u0 - r * self.m
        X = self.X
        S = np.zeros((self.G, X.shape[1]))
        np.add.at(S, self.codes, X * ut[:, None])  # rows X_h'ũ_h
        s = S @ self.c
        A = self.MB @ S.T  # G×G
        return s, A

    def tstats(self, r: float) -> tuple[float, np.ndarray]:
        s, A = self._parts(r)
        num = s @ self.v
        scores = s[:, None] * self.v - A @ self.v
        den = np.sqrt((scores * scores).sum(axis=0))
        t0 = (self.beta[self.j] - r) / self.se0
        return float(t0), num / den

    def pvalue(self, r: float = 0.0) -> float:
        t0, tb = self.tstats(r)
        return float(np.mean(np.abs(tb) > abs(t0) * (1 + 1e-9)))

    def ci(self, level: float = 0.95, tol: float = 1e-6, progress=None) -> tuple[float, float]:
        """Test-inversion interval; ``progress(k)`` is called after the k-th end (1, 2) is found."""
        alpha = 1 - level
        b, se = float(self.beta[self.j]), self.se0 * np.sqrt(self.G / max(self.G - 1, 1))

        def side(sign: float) -> float:
            inner = b
            step = max(se, 1e-12)
            outer = b + sign * step
            for _ in range(60):
                if self.pvalue(outer) < alpha:
                    break
                inner, outer = outer, b + sign * (abs(outer - b) * 2)
            else:
                return sign * np.inf
            for _ in range(100):
                mid = (inner + outer) / 2
                if self.pvalue(mid) < alpha:
                    outer = mid
                else:
                    inner = mid
                if abs(outer - inner) <= tol * se:
                    break
            return (inner + outer) / 2

        lo = side(-1.0)
        if progress is not None:
            progress(1)
        hi = side(1.0)
        if progress is not None:
            progress(2)
        return lo, hi


def wild_cluster_bootstrap(df: pd.DataFrame, formula: str, param: str, *, cluster: str = "city_code",
                           reps: int = 999, weights: str = "rademacher", seed: int | None = 0, level: float = 0.95,
                           ci: bool = True) -> dict[str, float]:
    """Restricted wild cluster bootstrap (WCR11) of H0 ``param = 0``: p-value and, with ``ci``, the
    test-inversion confidence interval (module docstring). Returns ``coef``, ``pvalue``, ``ci_low``,
    ``ci_high``, ``reps`` (draws used), ``enumerated`` (1 if all 2^G Rademacher draws), ``clusters``."""
    des = _design(df, formula, cluster)
    d = des["data"]
    if param not in des["terms"]:
        raise AnalysisError(f"bootstrap param {param!r} is not a regressor of {formula!r}",
                            fix=f"use one of {', '.join(des['terms'])}")
    y, X, names = _absorb(d, des["depvar"], des["terms"], des["fe"], cluster)
    cl = d[cluster].to_numpy()
    G = int(pd.Series(cl).nunique())
    if G < 2:
        raise AnalysisError(f"the wild cluster bootstrap needs at least 2 clusters of {cluster!r}",
                            fix="cluster by a variable with more groups")
    v, enumerated = _weights(weights, G, reps, seed)
    # progress: the p-value and each end of the interval are one pass over all B draws (bisection inside)
    stage, steps = f"wild cluster bootstrap ({v.shape[1]:,} draws): p-value{', CI' if ci else ''}", 3 if ci else 1
    report(stage, 0, steps)
    try:
        wb = WildBootstrap(X, y, names.index(param), cl, v)
    except np.linalg.LinAlgError as exc:
        raise AnalysisError(f"the wild cluster bootstrap of {formula!r} found its regressors collinear (with each "
                            "other or with the fixed effects' dummies), so the restricted fit has no unique solution",
                            fix="drop the regressors the fit's table shows as dropped or constant, then bootstrap "
                                "again") from exc
    out = {"coef": float(wb.beta[wb.j]), "pvalue": wb.pvalue(0.0), "reps": float(v.shape[1]),
           "enumerated": float(enumerated), "clusters": float(G)}
    report(stage, 1, steps)
    if ci:
        lo, hi = wb.ci(level, progress=lambda k: report(stage, 1 + k, steps))
        out.update({"ci_low": lo, "ci_high": hi})
    return out


# ------------------------------------------------------------------------ randomization inference
def randomization_inference(df: pd.DataFrame, formula: str, param: str, *, unit: str = "city_code",
                            time: str = "year", reps: int = 999, seed: int | None = 0,
                            chunk: int = 250) -> dict[str, float]:
    """Fisher randomization p-value of ``param`` (the treatment) by permuting whole treatment paths across
    ``unit``s (module docstring): ``coef``, ``pvalue``, ``pvalue_se`` (binomial), ``reps``."""
    from pyfixest.core.demean import demean as pf_demean

    des = _design(df, formula, None, extra=[unit, time])
    d = des["data"]
    if param not in des["terms"]:
        raise AnalysisError(f"randomization param {param!r} is not a regressor of {formula!r}",
                            fix=f"use one of {', '.join(des['terms'])}")
    others = [t for t in des["terms"] if t != param]
    fe = des["fe"]
    units = d[unit].astype(str).to_numpy()
    codes, uniq = pd.factorize(units)
    paths = d.assign(_u=codes).pivot_table(index="_u", columns=time, values=param, aggfunc="first")
    tcodes = d[time].map({t: i for i, t in enumerate(paths.columns)}).to_numpy()
    P = paths.to_numpy(float)

    def demean(M: np.ndarray) -> np.ndarray:
        if not fe:
            return M - M.mean(axis=0, keepdims=True)
        flist = np.column_stack([pd.factorize(d[f].astype(str))[0] for f in fe]).astype(np.uint64)
        out, _ = pf_demean(np.ascontiguousarray(M, dtype=float), flist, np.ones(len(d)), tol=1e-10, maxiter=10_000)
        return out

    base = demean(d[[des["depvar"], param, *others]].to_numpy(float))
    yt, xt, W = base[:, 0], base[:, 1], base[:, 2:]

    def partial(M: np.ndarray) -> np.ndarray:
        if W.shape[1] == 0:
            return M
        return M - W @ np.linalg.lstsq(W, M, rcond=None)[0]

    yp = partial(yt[:, None])[:, 0]
    xp = partial(xt[:, None])[:, 0]
    b0 = float(xp @ yp / (xp @ xp))
    rng = np.random.default_rng(seed)
    n_units = len(uniq)
    perms = np.array([rng.permutation(n_units) for _ in range(reps)])
    bs = np.empty(reps)
    report("randomization inference draws", 0, reps)
    for s in range(0, reps, chunk):
        pb = perms[s:s + chunk]
        D = P[pb[:, codes], tcodes].T  # n × chunk: unit i gets the path of unit perm[i]
        if np.isnan(D).any():
            raise AnalysisError("randomization inference needs every unit's treatment in every year of the sample",
                                fix="balance the panel (sample years) or drop units with gaps")
        Dp = partial(demean(D))
        bs[s:s + chunk] = (Dp * yp[:, None]).sum(axis=0) / (Dp * Dp).sum(axis=0)
        report("randomization inference draws", min(s + chunk, reps), reps)
    extreme = int((np.abs(bs) >= abs(b0) - 1e-12 * max(1.0, abs(b0))).sum())
    p = (extreme + 1) / (reps + 1)
    return {"coef": b0, "pvalue": p, "pvalue_se": float(np.sqrt(p * (1 - p) / reps)), "reps": float(reps)}


# ------------------------------------------------------------------------------------ Conley
def conley_meat(H: np.ndarray, lon: np.ndarray, lat: np.ndarray, cutoff_km: float, *,
                time: np.ndarray | None = None, unit: np.ndarray | None = None, lag: int = 0,
                kernel: str = "uniform") -> np.ndarray:
    """``Σ_ij K(d_ij) h_i h_j'`` over pairs in the same period (all pairs when ``time`` is None: fixest's
    ``vcov_conley`` meat on a panel), plus the Bartlett-weighted serial pairs of the same ``unit`` up to ``lag``
    periods apart. ``H``: n×k scores; ``K = 1{d ≤ cutoff}`` (uniform) or ``max(0, 1 − d/cutoff)`` (Bartlett)."""
    from citynet.etl.cities import haversine_km

    H = np.asarray(H, float)
    n, k = H.shape
    tt = np.zeros(n, dtype=int) if time is None else pd.factorize(pd.Series(time))[0]
    meat = np.zeros((k, k))
    for t in np.unique(tt):
        idx = np.flatnonzero(tt == t)
        d = haversine_km(lon[idx, None], lat[idx, None], lon[None, idx], lat[None, idx])
        if kernel == "uniform":
            K = (d <= cutoff_km).astype(float)
        elif kernel == "bartlett":
            K = np.clip(1 - d / cutoff_km, 0, None)
        else:
            raise AnalysisError(f"unknown Conley kernel {kernel!r}", fix="use uniform or bartlett")
        Ht = H[idx]
        meat += Ht.T @ K @ Ht
    if lag and unit is not None and time is not None:
        frame = pd.DataFrame({"u": np.asarray(unit).astype(str), "t": np.asarray(time), "i": np.arange(n)})
        key = frame.set_index(["u", "t"])["i"]
        for lg in range(1, lag + 1):
            wgt = 1 - lg / (lag + 1)
            nxt = frame.assign(t=frame["t"] + lg).set_index(["u", "t"]).index
            j = key.reindex(nxt).to_numpy()
            ok = ~np.isnan(j)
            a, b = H[ok], H[j[ok].astype(int)]
            cross = a.T @ b
            meat += wgt * (cross + cross.T)
    return meat


def conley(df: pd.DataFrame, formula: str, cutoff_km: float, *, lag: int = 0, kernel: str = "uniform",
           name: str | None = None, cities: pd.DataFrame | None = None) -> FitResult:
    """OLS (FE absorbed by pyfixest) with Conley spatial-HAC standard errors (module docstring):
    ``V = (X̃'X̃)⁻¹ Σ_t Σ_{i,j in year t} K(d_ij) x̃_i û_i û_j x̃_j' (X̃'X̃)⁻¹``; ``lag`` > 0: the panel version with
    serial correlation within a city up to ``lag`` years. fixest's ``vcov_conley`` on one year at the mapped
    settings (spherical, ``ssc(K.adj = FALSE)``, cutoff ×6376/6371.0088) gives the same numbers. Data without a
    ``year`` column must hold each city once (a cross-section); a panel without it, or ``lag`` without it, is
    refused (:func:`_refuse_conley_without_year`)."""
    from citynet.analysis.estimators import fit

    if cutoff_km <= 0:
        raise AnalysisError(f"Conley cutoff {cutoff_km} km must be positive", fix="write e.g. vcov = \"conley:200\"")
    r = fit(df, formula, vcov="hc1", name=name)
    f = r.raw
    data = f._data
    if "city_code" not in data.columns:
        raise AnalysisError("Conley standard errors need city_code in the panel (for coordinates)",
                            fix="use the city-year panel")
    if cities is None:
        from citynet.etl.cities import city_set

        cities = city_set().cities
    c = cities.assign(city_code=cities["city_code"].astype(str)).set_index("city_code")
    codes = data["city_code"].astype(str)
    time = data["year"].to_numpy() if "year" in data.columns else None
    if time is None:
        _refuse_conley_without_year(codes, lag)
    miss = sorted(set(codes) - set(c.index))
    if miss:
        raise AnalysisError(f"{len(miss)} cities have no coordinates: {miss[:5]}", fix="use the city set's codes")
    lon = c.loc[codes, "lon"].to_numpy(float)
    lat = c.loc[codes, "lat"].to_numpy(float)
    X = np.asarray(f._X, float)
    u = np.asarray(f._u_hat, float).ravel()
    bread = np.linalg.inv(X.T @ X)
    meat = conley_meat(X * u[:, None], lon, lat, cutoff_km, time=time, unit=codes.to_numpy(), lag=lag, kernel=kernel)
    V = bread @ meat @ bread
    se = pd.Series(np.sqrt(np.clip(np.diag(V), 0, None)), index=r.params.index)
    label = f"conley:{cutoff_km:g}km" + (f",lag{lag}" if lag else "")
    out = FitResult(depvar=r.depvar, params=r.params, se=se, nobs=r.nobs, model=r.model, r2=r.r2, adj_r2=r.adj_r2,
                    r2_within=r.r2_within, fixed_effects=r.fixed_effects, vcov=label, df_resid=None,
                    stats=dict(r.stats), name=name,
                    notes=[f"Conley (1999) standard errors, {kernel} kernel, cutoff {cutoff_km:g} km"
                           + (f", serial correlation within city up to {lag} years (Bartlett)" if lag else "")
                           + "; normal p-values.", *r.notes],  # the fit's: rows left out, singletons, warnings
                    raw=f)
    return out


def _refuse_conley_without_year(codes: pd.Series, lag: int) -> None:
    """Data without a ``year`` column: a cross-section (each city once) takes every pair within the cutoff, as
    fixest; a city on several rows (a panel whose year column is missing or named otherwise) would make every pair
    of any two years a pair (a city's own rows at distance 0: clustering by city folded in), and serial lags need
    the years — one message (exit 5) instead of that other estimator."""
    counts = codes.value_counts()
    if lag:
        raise AnalysisError(f"Conley standard errors with serial lags (lag {lag}) need the years, and the data have no "
                            "year column", fix="fit on the city-year panel (it has year), or drop the lag (conley:KM)")
    if len(counts) and counts.max() > 1:
        raise AnalysisError(
            f"Conley standard errors: the data hold {len(codes):,} rows of {len(counts):,} cities (a panel: up to "
            f"{int(counts.max())} rows per city) and no year column, so the pairs within the cutoff would be taken "
            "across every year, a city's own rows of other years included — not Conley's pairs within a year",
            fix="keep the panel's year column, named year (the city-year panel has it), or give one row per city "
                "(a cross-section: one year's rows)")


def parse_inference(spec: str) -> tuple[str, dict[str, Any]]:
    """``wild:999[:webb]`` / ``ri:999`` / ``conley:KM[:LAG]`` → (kind, options)."""
    kind, _, rest = str(spec).strip().partition(":")
    args = [a for a in rest.split(":") if a]
    kind = kind.lower()
    try:
        if kind == "wild":
            return "wild", {"reps": int(args[0]) if args else 999, "weights": args[1] if len(args) > 1 else "rademacher"}
        if kind == "ri":
            return "ri", {"reps": int(args[0]) if args else 999}
        if kind == "conley":
            return "conley", {"cutoff_km": float(args[0].removesuffix("km")), "lag": int(args[1]) if len(args) > 1 else 0}
    except (ValueError, IndexError) as exc:
        raise AnalysisError(f"cannot read inference {spec!r}",
                            fix="write wild:999, wild:999:webb, ri:999, conley:200 or conley:200:2") from exc
    raise AnalysisError(f"unknown inference {spec!r}", fix="use wild:REPS, ri:REPS or conley:KM[:LAG]")


def fit_with_inference(df: pd.DataFrame, formula: str, inference: str, *, param: str | None = None,
                       vcov: Any = None, cluster: str = "city_code", seed: int | None = 0, name: str | None = None,
                       model: str = "ols") -> FitResult:
    """``fit`` plus one inference choice (:func:`parse_inference`). Wild bootstrap and RI add rows
    ``wild_pvalue``, ``wild_ci_low``, ``wild_ci_high`` / ``ri_pvalue`` to ``stats`` for ``param`` (default:
    the first regressor) and keep the model's analytic SEs; Conley replaces the SEs."""
    from citynet.analysis.estimators import _terms, fit, split_formula

    kind, opt = parse_inference(inference)
    if model != "ols":
        raise AnalysisError(f"inference {inference!r} is for OLS models, not {model}", fix="use model = \"ols\"")
    if split_formula(formula)["endog"]:  # y ~ x | fe | endog ~ instr: a 2SLS (it was an IndexError)
        raise AnalysisError(f"inference {inference!r} is for OLS models, and {formula!r} has an IV part (a 2SLS)",
                            fix="drop the IV part, or drop the inference: a 2SLS reports its clustered SEs and the "
                                "first-stage F (kind = \"iv\" in a SPEC adds the Kleibergen–Paap and effective F, "
                                "docs/methods.md §8)")
    if kind == "wild":
        df = _one_way_clusters(df, cluster)
    if kind == "conley":
        return conley(df, formula, opt["cutoff_km"], lag=opt["lag"], name=name)
    r = fit(df, formula, vcov=vcov if vcov is not None else f"cluster:{cluster}", name=name)
    if not param:  # the first regressor, named as the fit names it (`GDP (亿元)` → GDP_亿元, L(x, 1) → l1_x)
        from citynet.analysis.formula import rewrite_calls, unquote

        regressors = _terms(split_formula(rewrite_calls(unquote(formula)))["rhs"])
        if not regressors:
            raise AnalysisError(f"{formula!r} has no regressor for inference {inference!r} to test",
                                fix="add the regressor of interest before '|' (or name it with --param)")
        param = regressors[0]
    if kind == "wild":
        w = wild_cluster_bootstrap(df, formula, param, cluster=cluster, reps=opt["reps"], weights=opt["weights"],
                                   seed=seed)
        r.stats.update({"wild_pvalue": w["pvalue"], "wild_ci_low": w["ci_low"], "wild_ci_high": w["ci_high"]})
        # the few-clusters warning's advice is what was done: the warning says so instead of asking for it
        r.notes = [n.replace(" — use the wild cluster bootstrap (Cameron, Gelbach & Miller 2008).",
                             " — read the wild cluster bootstrap's p-value and CI, not the clustered SE (Cameron, "
                             "Gelbach & Miller 2008).") for n in r.notes]
        r.notes.append(f"Wild cluster bootstrap (WCR11, {opt['weights']}, {int(w['reps'])} draws"
                       + (", all sign vectors" if w["enumerated"] else f", seed {seed}")
                       + f", clusters {cluster}) for {param}: {_p_text(w['pvalue'], int(w['reps']))}, "
                       f"95% CI [{w['ci_low']:.3f}, {w['ci_high']:.3f}].")
    else:
        ri = randomization_inference(df, formula, param, reps=opt["reps"], seed=seed)
        r.stats["ri_pvalue"] = ri["pvalue"]
        r.notes.append(f"Randomization inference for {param}: {opt['reps']} permutations of the treatment paths "
                       f"across cities (seed {seed}), {_p_text(ri['pvalue'], int(opt['reps']))}.")
    return r


def _one_way_clusters(df: pd.DataFrame, cluster: str) -> pd.DataFrame:
    """The wild cluster bootstrap resamples one-way clusters: two-way clusters (``A+B``) are a usage error
    naming the two ways out; an interaction (``A^B``: one way, the pairs of values) gets its column."""
    if "+" in cluster:
        raise UserError(
            f"the wild cluster bootstrap (inference wild) resamples one-way clusters; the clusters {cluster!r} are "
            "two-way",
            fix=f"bootstrap one way: cluster by one variable ({cluster.split('+')[0].strip()}) or by an interaction "
                f"({cluster.replace('+', '^').replace(' ', '')}: one cluster per pair of values); or keep the two-way "
                "clusters without the bootstrap: drop inference wild and read the analytic two-way clustered SEs "
                f"(citynet fit --cluster {cluster.replace(' ', '')})")
    from citynet.analysis.estimators import with_interaction

    return with_interaction(df, cluster)


def _p_text(p: float, reps: int) -> str:
    """A resampling p-value for print: with no draw as extreme, ``p < 1/(reps+1)`` — never ``p = 0.000``."""
    from citynet.analysis.tables import fmt_p

    if p <= 0:
        return f"p < {1 / (reps + 1):.3g} (no draw as extreme of {reps:,})"
    shown = fmt_p(p)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"
