"""Spatial panel models with fixed effects by maximum likelihood: SDM, SAR, SEM; LM, LR and Wald tests;
LeSage–Pace effects.

Model (Elhorst 2014, ch. 3; LeSage & Pace 2009, ch. 2)::

    SDM  y_t = ρ W y_t + X_t β + W X_t θ + η + α_t ι + ε_t,   ε_t ~ N(0, σ² I_N),  t = 1..T
    SAR  θ = 0;          SEM  y_t = X_t β + η + α_t ι + u_t,  u_t = λ W u_t + ε_t

Fixed effects. ``fe='city'`` removes η by the within transform (city means over time); ``fe='twoway'``
also removes the year effects α_t. The spatial lags Wy and WX are formed from the raw data first and
then transformed, so that the transformed model is exactly the transform of the structural one.

Likelihood and the Lee–Yu correction (``correction='leeyu'``, default). We use the *transformation
approach* of Lee & Yu (2010, J. Econometrics 154: 165–185): the within transform over time is the
orthonormal ``F_T`` (T−1 effective periods); with year effects also the orthonormal ``F_N`` with
``F_N F_N' = I − ιι'/N``, under which ``F_N'(I − ρW) = (I_{N−1} − ρ W*) F_N'`` with ``W* = F_N' W F_N``
(needs W row-standardised, ``Wι = ι``), and ``|I − ρW*| = |I − ρW| / (1 − ρ)``. The log-likelihood is

    ℓ = −(n*(T−1)/2) ln(2πσ²) + (T−1) [ln|I − ρW| − 1{twoway} ln(1 − ρ)] − SSR/(2σ²),
    n* = N (city FE) or N − 1 (two-way FE),

with SSR the sum of squared within-transformed residuals (equal to the transformed one, F is
orthonormal). For city FE this gives the same ρ and β as the direct approach (Elhorst 2003, what spreg's
``Panel_FE_Lag`` does) and ``σ² = SSR/(N(T−1))``, the direct ``SSR/(NT)`` times T/(T−1) — the correction
of Lee & Yu (2010) and Elhorst (2014, §3.4). For two-way FE it also removes the O(1/N) bias of ρ, β of the
direct approach: this is the estimator of Stata's ``xsmle, fe type(both, leeyu)`` (Belotti, Hughes &
Piano Mortari 2017), *not* the analytic first-order bias correction ``θ_c = θ − B/T − C/N`` of Lee–Yu's
direct approach (which ``xsmle``'s plain ``type(both)`` does not apply either). ``correction='none'``:
the direct approach (``NT`` observations, full log-determinant) for comparison with spreg.

Estimation: ρ maximises the concentrated log-likelihood (β(ρ) = b0 − ρ b1 by OLS of the transformed y and
Wy on the transformed [X, WX]); log|I − ρW| from the eigenvalues of W (real when W is similar to a
symmetric matrix). Variance: inverse of the analytic information matrix in (β, θ, ρ, σ²), Lee & Yu
(2010) / Elhorst (2014, eq. 3.9): with Z = [X, WX] transformed, G = W* (I − ρW*)^{-1}, H = (I ⊗ G) Z δ,

    I_δδ = Z'Z/σ², I_δρ = Z'H/σ², I_ρρ = (T−1) tr(GG + G'G) + H'H/σ², I_ρσ² = (T−1) tr(G)/σ²,
    I_σ²σ² = n*(T−1)/(2σ⁴).

(``vcov='hessian'``: the observed Hessian instead, checked against a numerical Hessian in the tests.)

Effects (LeSage & Pace 2009, §2.7): ``S_k(W) = (I − ρW)^{-1}(I β_k + W θ_k)``; direct = tr(S_k)/N,
total = ι'S_k ι/N, indirect = total − direct. With eigenvalues ω of W: tr(S_k) = β_k Σ 1/(1−ρω) +
θ_k Σ ω/(1−ρω); total = (β_k + θ_k)/(1 − ρ) for row-standardised W. Standard errors: the s.d. over R
draws of (β, θ, ρ) from N(estimate, V) (draws with ρ outside the stationary interval are redrawn); the
reported point effect is the one at the ML estimate, the simulated mean is kept in ``raw``.

LM tests (Anselin et al. 1996; panel forms of Elhorst 2014, §3.5/Debarsy & Ertur 2010) on the residuals
e of OLS of the within-transformed y on X, σ² = e'e/(NT), T_W = tr(W'W + WW):
``LM_lag = (e'Wy/σ²)²/J``, ``LM_err = (e'We/σ²)²/(T·T_W)``, ``J = [(WXb)'M(WXb) + T·T_W σ²]/σ²``,
robust ``RLM_lag = (e'Wy/σ² − e'We/σ²)²/(J − T·T_W)``,
``RLM_err = (e'We/σ² − (T·T_W/J) e'Wy/σ²)² / (T·T_W (1 − T·T_W/J))``; each χ²(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult
from scipy import optimize, stats

from .panel import AlignedPanel, align_panel, demean, helmert_complement
from .weights import SpatialWeights

FE_NAMES = {"none": [], "city": ["city"], "time": ["year"], "twoway": ["city", "year"]}


# ---------------------------------------------------------------------------- data preparation
@dataclass
class _Core:
    """Transformed data of one spatial panel model: arrays (T, m[, p])."""

    y: np.ndarray
    wy: np.ndarray
    z: np.ndarray  # (T, m, p)
    wz: np.ndarray | None  # W applied to z (transformed), for the SEM
    wc: np.ndarray  # W in the transformed coordinates (m×m)
    t_eff: int
    n_eff: int
    logdet_shift: bool  # subtract ln(1 − ρ) (two-way, Lee–Yu)
    w: SpatialWeights
    names: list[str]
    y_level: np.ndarray  # (T, N) untransformed y
    ytilde: np.ndarray  # transformed y (for R²)
    T: int
    N: int

    def logdet(self, rho: float) -> float:
        ld = self.w.logdet(rho)
        if self.logdet_shift:
            ld -= np.log(1.0 - rho)
        return self.t_eff * ld


def _prepare(ap: AlignedPanel, y: str, x: Sequence[str], wx: Sequence[str], fe: str, correction: str) -> _Core:
    if fe not in ("city", "twoway"):
        raise ValueError(f"fe must be 'city' or 'twoway', got {fe!r}")
    if correction not in ("leeyu", "none"):
        raise ValueError(f"correction must be 'leeyu' or 'none', got {correction!r}")
    w = ap.w
    W = w.matrix
    T, N = ap.T, ap.N
    if T < 2:
        raise ValueError("a fixed-effects spatial panel needs at least two years")
    if fe == "twoway" and correction == "leeyu" and not np.allclose(W.sum(axis=1), 1.0):
        raise ValueError("the Lee–Yu transformation with year effects needs a row-standardised W")
    yv = ap[y]
    X = np.stack([ap[c] for c in x], axis=2) if x else np.zeros((T, N, 0))
    WX = np.stack([ap[c] @ W.T for c in wx], axis=2) if wx else np.zeros((T, N, 0))
    Z = np.concatenate([X, WX], axis=2)
    names = [*x, *[f"W*{c}" for c in wx]]
    wy = yv @ W.T
    tr_fe = "city" if (fe == "twoway" and correction == "leeyu") else fe
    yt, wyt, zt = demean(yv, tr_fe), demean(wy, tr_fe), demean(Z, tr_fe)
    wz = W @ zt
    wc = W
    n_eff = N
    shift = False
    ytilde = demean(yv, fe)
    if fe == "twoway" and correction == "leeyu":
        F = helmert_complement(N)
        yt, wyt = yt @ F, wyt @ F
        zt = F.T @ zt
        wz = F.T @ wz
        wc = F.T @ W @ F
        n_eff, shift = N - 1, True
    elif fe == "twoway":
        wz = demean(wz, "twoway")
    t_eff = T - 1 if correction == "leeyu" else T
    if correction == "none":
        n_eff = N
    if np.linalg.matrix_rank(zt.reshape(-1, zt.shape[2])) < zt.shape[2] if zt.shape[2] else False:
        raise ValueError(f"regressors are collinear after the fixed-effects transform: {names}")
    return _Core(yt, wyt, zt, wz, wc, t_eff, n_eff, shift, w, names, yv, ytilde, T, N)


# ---------------------------------------------------------------------------- ML estimators
@dataclass
class _MLFit:
    kind: str  # sdm, sar, sem
    coef: np.ndarray
    names: list[str]
    rho: float  # ρ (SDM/SAR) or λ (SEM)
    sigma2: float
    loglik: float
    vcov: np.ndarray  # (p+1)×(p+1): coefficients then ρ/λ
    resid: np.ndarray  # (T, m)
    core: _Core


def _bounded_max(f, lo: float, hi: float) -> float:
    eps = 1e-7
    res = optimize.minimize_scalar(lambda r: -f(r), bounds=(lo + eps, hi - eps), method="bounded",
                                   options={"xatol": 1e-11, "maxiter": 2000})
    # guard against a local optimum on a flat likelihood: compare with a grid
    grid = np.linspace(lo + eps, hi - eps, 81)
    vals = np.array([f(g) for g in grid])
    if vals.max() > f(res.x) + 1e-8:
        j = int(vals.argmax())
        res = optimize.minimize_scalar(lambda r: -f(r), bounds=(grid[max(j - 1, 0)], grid[min(j + 1, 80)]),
                                       method="bounded", options={"xatol": 1e-11, "maxiter": 2000})
    return float(res.x)


def _fit_lag(core: _Core, vcov: str = "information") -> _MLFit:
    """SDM (Z = [X, WX]) or SAR (Z = X) by concentrated ML; ``vcov``: inverse of the expected information
    (``'information'``, as spreg and Elhorst 2014) or of the observed Hessian (``'hessian'``:
    −∂²ℓ/∂ρ² = (T−1) tr(GG) + (Wy)'(Wy)/σ², −∂²ℓ/∂δ∂ρ = Z'Wy/σ², −∂²ℓ/∂ρ∂σ² = (Wy)'e/σ⁴)."""
    if vcov not in ("information", "hessian"):
        raise ValueError(f"vcov must be 'information' or 'hessian', got {vcov!r}")
    y, wy = core.y.ravel(), core.wy.ravel()
    p = core.z.shape[2]
    Z = core.z.reshape(-1, p)
    nt = core.n_eff * core.t_eff
    if p:
        zz = Z.T @ Z
        b0 = np.linalg.solve(zz, Z.T @ y)
        b1 = np.linalg.solve(zz, Z.T @ wy)
        e0, e1 = y - Z @ b0, wy - Z @ b1
    else:
        zz = np.zeros((0, 0))
        b0 = b1 = np.zeros(0)
        e0, e1 = y, wy
    a, b, c = e0 @ e0, e0 @ e1, e1 @ e1

    def conc(r: float) -> float:
        ssr = a - 2 * r * b + r * r * c
        return -nt / 2 * (np.log(2 * np.pi * ssr / nt) + 1) + core.logdet(r)

    lo, hi = core.w.rho_bounds()
    rho = _bounded_max(conc, lo, hi)
    delta = b0 - rho * b1
    e = e0 - rho * e1
    sig2 = float(e @ e / nt)
    ll = conc(rho)
    # information matrix
    m = core.wc.shape[0]
    A = np.eye(m) - rho * core.wc
    G = np.linalg.solve(A.T, core.wc.T).T  # W A^{-1}
    zd = core.z @ delta  # (T, m)
    H = (zd @ G.T).ravel()
    info = np.zeros((p + 2, p + 2))
    info[:p, :p] = zz / sig2
    info[:p, p] = info[p, :p] = Z.T @ H / sig2
    info[p, p] = core.t_eff * (np.trace(G @ G) + np.sum(G * G)) + H @ H / sig2
    info[p, p + 1] = info[p + 1, p] = core.t_eff * np.trace(G) / sig2
    info[p + 1, p + 1] = nt / (2 * sig2**2)
    if vcov == "hessian":
        info[:p, p] = info[p, :p] = Z.T @ wy / sig2
        info[p, p] = core.t_eff * np.trace(G @ G) + wy @ wy / sig2
        info[p, p + 1] = info[p + 1, p] = wy @ e / sig2**2
    V = np.linalg.inv(info)[: p + 1, : p + 1]
    kind = "sdm" if any(n.startswith("W*") for n in core.names) else "sar"
    return _MLFit(kind, delta, list(core.names), rho, sig2, ll, V, e.reshape(core.y.shape), core)


def _fit_sem(core: _Core) -> _MLFit:
    """SEM by ML concentrated in λ: β(λ) by OLS of (I−λW)y on (I−λW)X (Elhorst 2003; Anselin 1988)."""
    y, wy = core.y.ravel(), core.wy.ravel()
    p = core.z.shape[2]
    Z = core.z.reshape(-1, p)
    WZ = core.wz.reshape(-1, p)
    nt = core.n_eff * core.t_eff

    def parts(lam: float):
        ys = y - lam * wy
        xs = Z - lam * WZ
        bb = np.linalg.lstsq(xs, ys, rcond=None)[0] if p else np.zeros(0)
        e = ys - xs @ bb
        return bb, e, xs

    # cross-products, so that each evaluation of the concentrated likelihood costs O(k³), not O(NTk²)
    zz, zwz, wzwz = Z.T @ Z, Z.T @ WZ, WZ.T @ WZ
    zy, zwy, wzy, wzwy = Z.T @ y, Z.T @ wy, WZ.T @ y, WZ.T @ wy
    yy, ywy, wywy = y @ y, y @ wy, wy @ wy

    def conc(lam: float) -> float:
        xx = zz - lam * (zwz + zwz.T) + lam * lam * wzwz
        xy = zy - lam * (zwy + wzy) + lam * lam * wzwy
        ssr = yy - 2 * lam * ywy + lam * lam * wywy
        if p:
            ssr -= xy @ np.linalg.solve(xx, xy)
        return -nt / 2 * (np.log(2 * np.pi * ssr / nt) + 1) + core.logdet(lam)

    lo, hi = core.w.rho_bounds()
    lam = _bounded_max(conc, lo, hi)
    beta, e, xs = parts(lam)
    sig2 = float(e @ e / nt)
    m = core.wc.shape[0]
    B = np.linalg.solve((np.eye(m) - lam * core.wc).T, core.wc.T).T
    v2 = np.array([[core.t_eff * (np.trace(B @ B) + np.sum(B * B)), core.t_eff * np.trace(B) / sig2],
                   [core.t_eff * np.trace(B) / sig2, nt / (2 * sig2**2)]])
    V = np.zeros((p + 1, p + 1))
    if p:
        V[:p, :p] = sig2 * np.linalg.inv(xs.T @ xs)
    V[p, p] = np.linalg.inv(v2)[0, 0]
    ll = -nt / 2 * (np.log(2 * np.pi * sig2) + 1) + core.logdet(lam)
    return _MLFit("sem", beta, list(core.names), lam, sig2, ll, V, e.reshape(core.y.shape), core)


# ---------------------------------------------------------------------------- effects
def _effect_traces(rho: float, w: SpatialWeights) -> tuple[float, float]:
    """(tr((I−ρW)^{-1}), tr((I−ρW)^{-1}W)) from the eigenvalues."""
    ev = w.eigenvalues()
    d = 1.0 - rho * ev
    return float(np.sum(1.0 / d).real), float(np.sum(ev / d).real)


def _dense_traces(rho: float, W: np.ndarray) -> tuple[float, float, float, float]:
    n = W.shape[0]
    Ai = np.linalg.inv(np.eye(n) - rho * W)
    AiW = Ai @ W
    return float(np.trace(Ai)), float(np.trace(AiW)), float(Ai.sum()), float(AiW.sum())


def effects_dense(beta: np.ndarray, theta: np.ndarray, rho: float, W: np.ndarray) -> pd.DataFrame:
    """Reference computation of LeSage–Pace effects with the explicit inverse: for each k,
    ``S_k = (I−ρW)^{-1}(β_k I + θ_k W)``, direct = mean diagonal, total = mean row sum."""
    n = W.shape[0]
    Ai = np.linalg.inv(np.eye(n) - rho * W)
    rows = []
    for b, t in zip(np.atleast_1d(beta), np.atleast_1d(theta), strict=True):
        S = Ai @ (b * np.eye(n) + t * W)
        d, tot = np.trace(S) / n, S.sum() / n
        rows.append((d, tot - d, tot))
    return pd.DataFrame(rows, columns=["direct", "indirect", "total"])


def lesage_pace_effects(beta: np.ndarray, theta: np.ndarray, rho: float, w: SpatialWeights,
                        names: Sequence[str] | None = None) -> pd.DataFrame:
    """Direct, indirect and total effects (LeSage & Pace 2009, eqs. 2.46–2.48) for each regressor.

    Uses the eigenvalues of W (exact up to rounding); the total effect is (β+θ)/(1−ρ) when W is
    row-standardised, else ``ι'(I−ρW)^{-1}(β I + θ W)ι / N`` by a linear solve. ``theta`` may be zeros (SAR).
    """
    beta, theta = np.atleast_1d(np.asarray(beta, float)), np.atleast_1d(np.asarray(theta, float))
    n = w.n
    tr_a, tr_aw = _effect_traces(rho, w)
    if w.row_standardised:
        tot_a, tot_aw = n / (1 - rho), n / (1 - rho)
    else:
        A = np.eye(n) - rho * w.matrix
        one = np.ones(n)
        s1 = np.linalg.solve(A, one)
        s2 = np.linalg.solve(A, w.matrix @ one)
        tot_a, tot_aw = float(s1.sum()), float(s2.sum())
    direct = (beta * tr_a + theta * tr_aw) / n
    total = (beta * tot_a + theta * tot_aw) / n
    return pd.DataFrame({"direct": direct, "indirect": total - direct, "total": total},
                        index=list(names) if names is not None else None)


def simulate_effects(beta: np.ndarray, theta: np.ndarray, rho: float, vcov: np.ndarray, w: SpatialWeights,
                     *, draws: int = 1000, seed: int | None = 0) -> np.ndarray:
    """R draws of the effects: (β, θ, ρ) ~ N(estimate, V) (V ordered β, θ, ρ; θ may be empty for a SAR).
    Returns an array (R, k, 3) of direct, indirect, total. Draws with ρ outside W's stationary interval
    are redrawn. When the eigenvalues are complex and do not reproduce the dense traces at the
    estimate to 1e-8, the traces are computed densely for each draw."""
    rng = np.random.default_rng(seed)
    k = len(beta)
    has_theta = len(theta) > 0
    mean = np.concatenate([beta, theta, [rho]])
    lo, hi = w.rho_bounds()
    out = np.empty((draws, k, 3))
    dense = False
    if not w.real_eigenvalues:
        ref = _dense_traces(rho, w.matrix)[:2]
        dense = not np.allclose(_effect_traces(rho, w), ref, rtol=1e-8, atol=0)
    n = w.n
    filled = 0
    while filled < draws:
        cand = rng.multivariate_normal(mean, vcov, size=draws - filled, method="eigh")
        cand = cand[(cand[:, -1] > lo) & (cand[:, -1] < hi)]
        for row in cand:
            b = row[:k]
            t = row[k: 2 * k] if has_theta else np.zeros(k)
            r = row[-1]
            if dense:
                tr_a, tr_aw, s_a, s_aw = _dense_traces(r, w.matrix)
            else:
                tr_a, tr_aw = _effect_traces(r, w)
                if w.row_standardised:
                    s_a = s_aw = n / (1 - r)
                else:
                    _, _, s_a, s_aw = _dense_traces(r, w.matrix)
            d = (b * tr_a + t * tr_aw) / n
            tot = (b * s_a + t * s_aw) / n
            out[filled, :, 0], out[filled, :, 1], out[filled, :, 2] = d, tot - d, tot
            filled += 1
    return out


# ---------------------------------------------------------------------------- public results
@dataclass
class SDMResult:
    """A spatial panel fit: ``coef`` (β, θ = ``W*x``, ``rho``), ``effects`` (direct/indirect/total FitResults),
    ``effects_table`` (long: variable, effect, estimate, se, pvalue, sim_mean, ci_low, ci_high),
    ``lr_tests``/``wald_tests`` (SDM vs SAR and SEM), ``lm_tests`` when requested."""

    coef: FitResult
    effects: dict[str, FitResult]
    effects_table: pd.DataFrame
    lr_tests: pd.DataFrame | None
    wald_tests: pd.DataFrame | None
    rho: float
    sigma2: float
    loglik: float
    vcov: pd.DataFrame
    w: SpatialWeights
    years: list
    fe: str
    correction: str
    notes: list[str] = field(default_factory=list)
    restricted: dict[str, FitResult] = field(default_factory=dict)  # the SAR and SEM fits behind the LR tests
    draws: np.ndarray | None = None

    def table(self) -> list[FitResult]:
        """The columns of the papers' SDM table: coefficients, then direct, indirect, total effects."""
        return [self.coef, self.effects["direct"], self.effects["indirect"], self.effects["total"]]


def _r2(core: _Core, resid: np.ndarray) -> tuple[float, float]:
    """(within R² = 1 − SSR/Σỹ², squared correlation of ỹ and its fitted value ỹ − e)."""
    yt = core.y.ravel()
    e = resid.ravel()
    tss = float(((yt - yt.mean()) ** 2).sum())
    fitted = yt - e
    r2w = 1 - float(e @ e) / tss if tss > 0 else np.nan
    c = np.corrcoef(yt, fitted)[0, 1] if np.std(fitted) > 0 else np.nan
    return r2w, float(c * c)


def _fit_to_result(f: _MLFit, depvar: str, fe: str, correction: str, years: list, notes: list[str],
                   name: str | None = None) -> FitResult:
    par_name = "lambda" if f.kind == "sem" else "rho"
    idx = [*f.names, par_name]
    params = pd.Series(np.concatenate([f.coef, [f.rho]]), index=idx)
    se = pd.Series(np.sqrt(np.diag(f.vcov)), index=idx)
    r2w, r2c = _r2(f.core, f.resid)
    st = {
        par_name: f.rho, "sigma2": f.sigma2, "loglik": f.loglik,
        "aic": -2 * f.loglik + 2 * (len(idx) + 1), "n_cities": f.core.N, "n_years": f.core.T,
        "r2_corr": r2c,
    }
    return FitResult(
        depvar=depvar, params=params, se=se, nobs=f.core.N * f.core.T, model=f.kind, r2=r2c, r2_within=r2w,
        fixed_effects=FE_NAMES[fe], vcov="ml_information", stats=st, name=name or f.kind.upper(),
        notes=[*notes, f"fixed effects: {fe}; Lee–Yu correction: {correction}; W: {f.core.w.kind}"],
        raw={"vcov": pd.DataFrame(f.vcov, index=idx, columns=idx), "fit": f},
    )


def _prep_panel(panel: pd.DataFrame, y: str, x: Sequence[str], w: SpatialWeights, id_col: str, time_col: str,
                years: Sequence | None) -> AlignedPanel:
    return align_panel(panel, [y, *x], w, id_col=id_col, time_col=time_col, years=years)


def fit_sar(panel: pd.DataFrame, y: str, x: list[str], w: SpatialWeights, *, fe: str = "city",
            correction: str = "leeyu", vcov: str = "information", id_col: str = "city_code",
            time_col: str = "year", years: Sequence | None = None) -> FitResult:
    """Spatial lag (SAR) panel model ``y = ρWy + Xβ + FE + ε`` by ML (see module docstring)."""
    ap = _prep_panel(panel, y, x, w, id_col, time_col, years)
    core = _prepare(ap, y, x, [], fe, correction)
    return _fit_to_result(_fit_lag(core, vcov), y, fe, correction, ap.years, ap.notes)


def fit_sem(panel: pd.DataFrame, y: str, x: list[str], w: SpatialWeights, *, fe: str = "city",
            correction: str = "leeyu", id_col: str = "city_code", time_col: str = "year",
            years: Sequence | None = None) -> FitResult:
    """Spatial error (SEM) panel model ``y = Xβ + FE + u, u = λWu + ε`` by ML (see module docstring)."""
    ap = _prep_panel(panel, y, x, w, id_col, time_col, years)
    core = _prepare(ap, y, x, [], fe, correction)
    return _fit_to_result(_fit_sem(core), y, fe, correction, ap.years, ap.notes)


def _wald(stat_vec: np.ndarray, jac: np.ndarray, V: np.ndarray) -> tuple[float, int, float]:
    cov = jac @ V @ jac.T
    s = float(stat_vec @ np.linalg.solve(cov, stat_vec))
    df = len(stat_vec)
    return s, df, float(stats.chi2.sf(s, df))


def fit_sdm(
    panel: pd.DataFrame,
    y: str,
    x: list[str],
    w: SpatialWeights,
    fe: str = "city",
    lag_x: bool = True,
    effects_draws: int = 1000,
    seed: int | None = 0,
    *,
    wx: list[str] | None = None,
    correction: str = "leeyu",
    vcov: str = "information",
    tests: bool = True,
    id_col: str = "city_code",
    time_col: str = "year",
    years: Sequence | None = None,
) -> SDMResult:
    """Spatial Durbin panel model with city (``fe='city'``) or city and year (``'twoway'``) fixed effects.

    ``y_it = ρ Σ_j w_ij y_jt + x_it'β + Σ_j w_ij x_jt'θ + η_i (+ α_t) + ε_it`` by ML with the Lee–Yu (2010)
    transformation approach (module docstring); ``lag_x=False`` (or ``wx=[]``) gives the SAR model;
    ``wx`` lags only some regressors. Effects by LeSage & Pace (2009) with ``effects_draws`` simulated
    draws (``seed``). ``vcov``: ``'information'`` (expected information, default) or ``'hessian'``
    (observed). ``tests``: LR of SDM against SAR (θ = 0, df k) and SEM (θ = −ρβ, df k), and the Wald
    tests of the same restrictions. The panel must be balanced over W's cities (W is restricted to the
    panel's cities when it covers more).
    """
    x = list(x)
    wx = (list(x) if lag_x else []) if wx is None else list(wx)
    unknown = [c for c in wx if c not in x]
    if unknown:
        raise ValueError(f"wx must be a subset of x: {unknown}")
    ap = _prep_panel(panel, y, x, w, id_col, time_col, years)
    notes = list(ap.notes)
    core = _prepare(ap, y, x, wx, fe, correction)
    f = _fit_lag(core, vcov)
    coef = _fit_to_result(f, y, fe, correction, ap.years, notes, name="SDM" if wx else "SAR")
    k = len(x)
    beta = f.coef[:k]
    theta = np.zeros(k)
    pos = {c: i for i, c in enumerate(x)}
    for j, c in enumerate(wx):
        theta[pos[c]] = f.coef[k + j]
    # V for (β, θ_full, ρ): θ of unlagged variables fixed at 0
    p = len(f.coef)
    sel = list(range(k)) + [k + j for j in range(len(wx))] + [p]
    Vfull = np.zeros((2 * k + 1, 2 * k + 1))
    tgt = list(range(k)) + [k + pos[c] for c in wx] + [2 * k]
    Vfull[np.ix_(tgt, tgt)] = f.vcov[np.ix_(sel, sel)]
    point = lesage_pace_effects(beta, theta, f.rho, ap.w, names=x)
    draws = None
    effects: dict[str, FitResult] = {}
    rows = []
    if effects_draws:
        draws = simulate_effects(beta, theta, f.rho, Vfull, ap.w, draws=effects_draws, seed=seed)
    for e_i, eff in enumerate(["direct", "indirect", "total"]):
        est = point[eff]
        if draws is not None:
            sd = pd.Series(draws[:, :, e_i].std(axis=0, ddof=1), index=x)
            sim_mean = draws[:, :, e_i].mean(axis=0)
            lo_q, hi_q = np.percentile(draws[:, :, e_i], [2.5, 97.5], axis=0)
        else:
            sd = pd.Series(np.nan, index=x)
            sim_mean = lo_q = hi_q = np.full(k, np.nan)
        effects[eff] = FitResult(
            depvar=y, params=est, se=sd, nobs=coef.nobs, model=f"{coef.model}_{eff}_effect",
            r2=coef.r2, r2_within=coef.r2_within, fixed_effects=coef.fixed_effects, vcov="simulated",
            stats={"rho": f.rho, "draws": float(effects_draws)}, name=eff.capitalize(),
            notes=[f"LeSage–Pace {eff} effects; SE = s.d. of {effects_draws} draws from N(θ̂, V̂), seed {seed}"],
        )
        for j, c in enumerate(x):
            rows.append({"variable": c, "effect": eff, "estimate": float(est.iloc[j]), "se": float(sd.iloc[j]),
                         "pvalue": float(effects[eff].pvalues.iloc[j]), "sim_mean": float(sim_mean[j]),
                         "ci_low": float(lo_q[j]), "ci_high": float(hi_q[j])})
    lr = wald = None
    restricted: dict[str, FitResult] = {}
    if tests and wx:
        core0 = _prepare(ap, y, x, [], fe, correction)
        sar = _fit_lag(core0, vcov)
        sem = _fit_sem(core0)
        restricted = {"sar": _fit_to_result(sar, y, fe, correction, ap.years, notes),
                      "sem": _fit_to_result(sem, y, fe, correction, ap.years, notes)}
        q = len(wx)
        lr_rows = []
        for name, r in (("SDM vs SAR (theta = 0)", sar), ("SDM vs SEM (theta = -rho*beta)", sem)):
            s = 2 * (f.loglik - r.loglik)
            lr_rows.append({"test": name, "stat": s, "df": q, "pvalue": float(stats.chi2.sf(max(s, 0.0), q)),
                            "loglik_sdm": f.loglik, "loglik_restricted": r.loglik})
        lr = pd.DataFrame(lr_rows).set_index("test")
        th = f.coef[k:]
        J0 = np.zeros((q, p + 1))
        J0[:, k:p] = np.eye(q)
        b_l = np.array([beta[pos[c]] for c in wx])
        g = th + f.rho * b_l
        J1 = np.zeros((q, p + 1))
        for j, c in enumerate(wx):
            J1[j, pos[c]] = f.rho
            J1[j, k + j] = 1.0
            J1[j, p] = b_l[j]
        w_rows = []
        for name, vec, jac in (("theta = 0", th, J0), ("theta + rho*beta = 0", g, J1)):
            s, df, pv = _wald(vec, jac, f.vcov)
            w_rows.append({"test": name, "stat": s, "df": df, "pvalue": pv})
        wald = pd.DataFrame(w_rows).set_index("test")
        coef.stats.update({"lr_sar": float(lr.iloc[0]["stat"]), "lr_sem": float(lr.iloc[1]["stat"])})
    idx = list(coef.params.index)
    return SDMResult(
        coef=coef, effects=effects, effects_table=pd.DataFrame(rows), lr_tests=lr, wald_tests=wald,
        rho=f.rho, sigma2=f.sigma2, loglik=f.loglik, vcov=pd.DataFrame(f.vcov, index=idx, columns=idx),
        w=ap.w, years=ap.years, fe=fe, correction=correction, notes=notes, restricted=restricted, draws=draws,
    )


# ---------------------------------------------------------------------------- LM tests
def lm_tests_arrays(y: np.ndarray, X: np.ndarray, W: np.ndarray, fe: str = "city") -> pd.DataFrame:
    """LM-lag, LM-error and their robust forms for a balanced panel given as arrays y (T, N), X (T, N, k).

    Residuals of OLS of the ``fe``-transformed y on the transformed X (``fe='none'``: pooled OLS with a
    constant; with T = 1 these are Anselin et al. 1996's cross-section tests, spreg's ``LM*``).
    """
    T, N = y.shape
    X = X.reshape(T, N, -1)
    Wy = y @ W.T
    yt, wyt = demean(y, fe), demean(Wy, fe)
    Xt = demean(X, fe)
    if fe == "none":
        Xt = np.concatenate([np.ones((T, N, 1)), Xt], axis=2)
    Xm = Xt.reshape(T * N, -1)
    yv = yt.ravel()
    b = np.linalg.lstsq(Xm, yv, rcond=None)[0]
    e = yv - Xm @ b
    nt = T * N
    s2 = e @ e / nt
    We = (e.reshape(T, N) @ W.T).ravel()
    WXb = demean((Xt @ b) @ W.T, fe).ravel() if fe != "none" else ((Xt @ b) @ W.T).ravel()
    MWXb = WXb - Xm @ np.linalg.lstsq(Xm, WXb, rcond=None)[0]
    tw = float(np.trace(W.T @ W + W @ W))
    ttw = T * tw
    J = (WXb @ MWXb + ttw * s2) / s2
    r_y = e @ wyt.ravel() / s2
    r_e = e @ We / s2
    out = {
        "LM_lag": r_y**2 / J,
        "LM_error": r_e**2 / ttw,
        "robust_LM_lag": (r_y - r_e) ** 2 / (J - ttw),
        "robust_LM_error": (r_e - ttw / J * r_y) ** 2 / (ttw * (1 - ttw / J)),
    }
    return pd.DataFrame({"stat": out, "df": 1, "pvalue": {k: float(stats.chi2.sf(v, 1)) for k, v in out.items()}})


def lm_tests(panel: pd.DataFrame, y: str, x: list[str], w: SpatialWeights, *, fe: str = "city",
             id_col: str = "city_code", time_col: str = "year", years: Sequence | None = None) -> pd.DataFrame:
    """LM tests of a non-spatial FE panel model against the spatial lag and spatial error alternatives
    (Anselin et al. 1996; Elhorst 2014 §3.5 panel forms); rows LM_lag, LM_error, robust_LM_lag,
    robust_LM_error with stat, df, pvalue."""
    ap = align_panel(panel, [y, *x], w, id_col=id_col, time_col=time_col, years=years)
    X = np.stack([ap[c] for c in x], axis=2)
    return lm_tests_arrays(ap[y], X, ap.w.matrix, fe=fe)


def info(res: SDMResult) -> dict[str, Any]:
    """Plain summary of a fit (for JSON): ρ, σ², log-likelihood, N, T, R², tests."""
    out: dict[str, Any] = {"rho": res.rho, "sigma2": res.sigma2, "loglik": res.loglik, "nobs": res.coef.nobs,
                           "r2": res.coef.r2, "r2_within": res.coef.r2_within, "fe": res.fe,
                           "correction": res.correction, "w": res.w.kind}
    if res.lr_tests is not None:
        out["lr_tests"] = res.lr_tests[["stat", "df", "pvalue"]].to_dict(orient="index")
    return out


def lr_time_effects(panel: pd.DataFrame, y: str, x: list[str], w: SpatialWeights, *, lag_x: bool = True,
                    id_col: str = "city_code", time_col: str = "year", years: Sequence | None = None) -> pd.Series:
    """LR test of the joint significance of year fixed effects in the SDM (SAR if ``lag_x=False``) with
    city fixed effects (Elhorst 2014, §3.4): ``LR = 2(ℓ_twoway − ℓ_city)`` ~ χ²(T−1), both log-likelihoods of
    the direct approach (``correction='none'``, NT observations) so that they are nested and comparable.
    The papers' "时间-空间固定效应检验" (two-way vs city FE)."""
    kw = dict(lag_x=lag_x, effects_draws=0, tests=False, correction="none", id_col=id_col, time_col=time_col,
              years=years)
    a = fit_sdm(panel, y, x, w, fe="city", **kw)
    b = fit_sdm(panel, y, x, w, fe="twoway", **kw)
    df = len(a.years) - 1
    s = 2 * (b.loglik - a.loglik)
    return pd.Series({"stat": s, "df": df, "pvalue": float(stats.chi2.sf(max(s, 0.0), df)),
                      "loglik_city": a.loglik, "loglik_twoway": b.loglik})
