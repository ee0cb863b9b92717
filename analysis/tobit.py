"""Random-effects panel Tobit (paper 002's robustness), left-censored at a point the user sets.

Model: ``y*_it = x_it'β + u_i + e_it``, ``u_i ~ N(0, σ_u²)``, ``e_it ~ N(0, σ_e²)``, observed
``y_it = max(c, y*_it)``. The likelihood of a city integrates u out::

    L_i = ∫ Π_t [Φ((c − x_it'β − u)/σ_e)]^{1{y_it ≤ c}} [φ((y_it − x_it'β − u)/σ_e)/σ_e]^{1{y_it > c}} φ(u/σ_u)/σ_u du

by *adaptive* Gauss–Hermite quadrature (Liu & Pierce 1994; Stata ``xttobit``'s default): nodes centred
at each city's posterior mode of u and scaled by its curvature (Newton steps, vectorised over cities),
so that few nodes suffice even for long T (exact for uncensored data). β, ln σ_u, ln σ_e by BFGS
(scipy); standard errors from the numerical Hessian (statsmodels' ``approx_hess3``) — or a cluster
sandwich — with σ's by the delta method.

Marginal effects (average over the sample, u = 0 as Stata's ``margins, predict(e0)``/``ystar``):
on the latent index ``∂E[y*]/∂x = β``; on the censored outcome ``E[max(c, y)] = c + (m − c)Φ(z) + σ_e φ(z)``,
``z = (m − c)/σ_e``: ``∂/∂x_k = β_k Φ(z)``; on the probability of being uncensored ``β_k φ(z)/σ_e``;
delta-method standard errors.

Fixed-effects variants: Honoré's (1992) trimmed LAD/LS estimator is consistent for β with fixed T
(Stata's ``pantob``); the correlated random effects of Mundlak (1978)/Chamberlain (city means of x as
regressors, option ``mundlak``) relax the RE independence assumption. A Tobit with city dummies is not
offered: with fixed T its estimates are inconsistent (incidental parameters; Greene 2004 finds σ_e
biased downward and the marginal effects biased even where β is nearly unbiased).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult
from scipy import optimize, special, stats

from citynet.errors import AnalysisError

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


@dataclass
class TobitResult:
    result: FitResult  # β, sigma_u, sigma_e
    marginal: FitResult  # AME on E[max(c, y)] (u = 0)
    marginal_uncensored: FitResult  # AME on P(y > c)
    loglik: float
    censored: int


def _log_ndtr(z: np.ndarray) -> np.ndarray:
    return special.log_ndtr(z)


def _mills(z: np.ndarray) -> np.ndarray:
    """φ(z)/Φ(z), stable for very negative z."""
    return np.exp(-0.5 * z * z - _LOG_SQRT_2PI - special.log_ndtr(z))


class _RETobit:
    def __init__(self, y: np.ndarray, X: np.ndarray, groups: np.ndarray, c: float, nodes: int = 12):
        self.y, self.X, self.c = y, X, c
        self.g, _ = pd.factorize(pd.Series(groups))
        self.G = int(self.g.max() + 1)
        self.cens = y <= c
        z, w = np.polynomial.hermite.hermgauss(nodes)
        self.z, self.logw = z, np.log(w) + z * z

    def _terms(self, m: np.ndarray, u: np.ndarray, se: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per observation: log f, d/du log f, d²/du² log f at random effect ``u`` (per row)."""
        cens = self.cens
        r = np.where(cens, (self.c - m - u) / se, (self.y - m - u) / se)
        lf = np.where(cens, _log_ndtr(r), -0.5 * r * r - _LOG_SQRT_2PI - np.log(se))
        lam = _mills(np.where(cens, r, 0.0))
        d1 = np.where(cens, -lam / se, r / se)
        d2 = np.where(cens, -lam * (r + lam) / se**2, -1.0 / se**2)
        return lf, d1, d2

    def loglik_i(self, theta: np.ndarray) -> np.ndarray:
        k = self.X.shape[1]
        b, su, se = theta[:k], np.exp(theta[k]), np.exp(theta[k + 1])
        m = self.X @ b
        g, G = self.g, self.G
        a = np.zeros(G)
        for _ in range(30):  # Newton for each city's posterior mode of u
            _, d1, d2 = self._terms(m, a[g], se)
            h1 = np.bincount(g, d1, G) - a / su**2
            h2 = np.bincount(g, d2, G) - 1 / su**2
            step = h1 / h2
            a = a - step
            if np.max(np.abs(step)) < 1e-10:
                break
        _, _, d2 = self._terms(m, a[g], se)
        s = 1 / np.sqrt(-(np.bincount(g, d2, G) - 1 / su**2))
        acc = np.empty((len(self.z), G))
        for j, zj in enumerate(self.z):
            u = a + np.sqrt(2) * s * zj
            lf, _, _ = self._terms(m, u[g], se)
            prior = -0.5 * (u / su) ** 2 - _LOG_SQRT_2PI - np.log(su)
            acc[j] = self.logw[j] + np.bincount(g, lf, G) + prior
        return special.logsumexp(acc, axis=0) + np.log(np.sqrt(2) * s)

    def negll(self, theta: np.ndarray) -> float:
        v = -float(self.loglik_i(theta).sum())
        return v if np.isfinite(v) else 1e300


def re_tobit(panel: pd.DataFrame, y: str, x: Sequence[str], *, left: float = 0.0, unit: str = "city_code",
             mundlak: bool = False, nodes: int = 12, vcov: str = "oim", name: str | None = None) -> TobitResult:
    """Random-effects Tobit left-censored at ``left`` (module docstring); ``vcov``: ``oim`` (inverse
    Hessian, as xttobit) or ``cluster`` (sandwich over cities)."""
    from citynet.analysis.formula import prepare
    from statsmodels.tools.numdiff import approx_fprime, approx_hess3

    x = list(x)
    data, _ = prepare(panel, f"{y} ~ {' + '.join(x)}", extra=[unit])
    from citynet.analysis.estimators import check_numeric

    check_numeric(data, [y, *x], "Tobit's variable")
    from citynet.analysis.estimators import missing_rows

    missing, missing_note = missing_rows(data, [y, *x, unit])  # said: the rows were left out without a word
    d = data[[y, *x, unit]][~missing].reset_index(drop=True)
    names = list(x)
    if mundlak:
        for c in x:
            d[f"mean_{c}"] = d.groupby(unit)[c].transform("mean")
        names += [f"mean_{c}" for c in x]
    X = np.column_stack([d[names].to_numpy(float), np.ones(len(d))])
    names = [*names, "Intercept"]
    yv = d[y].to_numpy(float)
    n_cens = int((yv <= left).sum())  # none censored: the Gaussian random-intercept model by ML
    if (yv < left - 1e-12).any():
        raise AnalysisError(f"{int((yv < left - 1e-12).sum())} values of {y} lie below the censoring point {left}",
                            fix=f"set left to the smallest value of {y} (e.g. left = {yv.min():g}) or transform y")
    if n_cens == len(yv):
        raise AnalysisError(f"every value of {y} is censored at {left}", fix="check the censoring point")
    model = _RETobit(yv, X, d[unit].to_numpy(), left, nodes)
    ols = np.linalg.lstsq(X, yv, rcond=None)[0]
    s0 = np.log(max(np.std(yv - X @ ols), 1e-3))
    start = np.concatenate([ols, [s0 - 0.5, s0 - 0.5]])
    opt = optimize.minimize(model.negll, start, method="BFGS", options={"gtol": 1e-7, "maxiter": 2000})
    if not np.isfinite(opt.fun):
        raise AnalysisError("the random-effects Tobit likelihood could not be maximised",
                            fix="rescale the regressors or check the censoring point")
    th = opt.x
    k = X.shape[1]
    H = approx_hess3(th, model.negll)
    Hinv = np.linalg.pinv(H)
    if vcov == "cluster":
        S = approx_fprime(th, model.loglik_i, centered=True)  # G × p scores
        G = S.shape[0]
        V = Hinv @ (S.T @ S) @ Hinv * G / (G - 1)
    else:
        V = Hinv
    # reparametrise ln σ → σ (delta method)
    J = np.eye(k + 2)
    J[k, k], J[k + 1, k + 1] = np.exp(th[k]), np.exp(th[k + 1])
    est = np.concatenate([th[:k], np.exp(th[k:])])
    Vs = J @ V @ J.T
    idx = [*names, "sigma_u", "sigma_e"]
    su, se_ = np.exp(th[k]), np.exp(th[k + 1])
    ll = -float(opt.fun)
    rho = su**2 / (su**2 + se_**2)
    res = FitResult(depvar=y, params=pd.Series(est, index=idx), se=pd.Series(np.sqrt(np.diag(Vs)), index=idx),
                    nobs=len(d), model="re_tobit", vcov="cluster:" + unit if vcov == "cluster" else "oim",
                    stats={"loglik": ll, "sigma_u": su, "sigma_e": se_, "rho": rho, "n_censored": float(n_cens),
                           "left": float(left), "n_groups": float(model.G)},
                    name=name or "RE Tobit",
                    notes=[f"Random-effects Tobit, left-censored at {left:g} ({n_cens} of {len(d)} observations); "
                           f"adaptive Gauss–Hermite quadrature, {nodes} nodes.", *([missing_note] if missing_note else [])],
                    raw={"vcov": V, "theta": th})

    def ame(theta: np.ndarray, kind: str) -> np.ndarray:
        b, s_e = theta[:k], np.exp(theta[k + 1])
        z = (X @ b - left) / s_e
        f = stats.norm.cdf(z) if kind == "ey" else stats.norm.pdf(z) / s_e
        return f.mean() * b[:len(x)]

    out = []
    for kind, label in (("ey", "AME on E[max(c, y)]"), ("pr", "AME on P(y > c)")):
        m_ = ame(th, kind)
        Jm = np.atleast_2d(approx_fprime(th, lambda t, kind=kind: ame(t, kind), centered=True))  # one regressor: 1-d
        Vm = Jm @ V @ Jm.T
        out.append(FitResult(depvar=y, params=pd.Series(m_, index=x), se=pd.Series(np.sqrt(np.diag(Vm)), index=x),
                             nobs=len(d), model="re_tobit_margins", vcov=res.vcov, name=label,
                             notes=["Average marginal effects at u = 0 (delta-method SEs)."]))
    return TobitResult(result=res, marginal=out[0], marginal_uncensored=out[1], loglik=ll, censored=n_cens)
