"""Sensitivity of an event study to violations of parallel trends (Rambachan & Roth 2023): fixed-length
confidence intervals (FLCI) under the smoothness restriction Δ^SD(M), as a figure over M.

Event-study coefficients β̂ = (β̂_pre, β̂_post) ~ N(τ + δ, Σ), τ_pre = 0, reference period −1 normalised
to 0; δ is the bias from non-parallel trends. Δ^SD(M) = {δ : |(δ_{t+1} − δ_t) − (δ_t − δ_{t−1})| ≤ M}
(the trend may change slope by at most M per period; M = 0 allows exactly linear trends). Target
θ = l'τ_post (default: the first post period). The FLCI (Armstrong & Kolesár 2018; RR §4.1) uses an
affine estimator θ̂ = w'β̂ with w_post = l and w orthogonal to linear trends; its worst-case bias over
Δ^SD(M) is ``b̄ = M · max_{δ∈Δ^SD(1)} w'δ`` (a linear program, scipy ``linprog``) and the interval is
``θ̂ ± σ_w·cv_α(b̄/σ_w)``, σ_w = √(w'Σw), cv_α(t) the 1−α quantile of |N(t, 1)|; w_pre minimises the
half-length (Nelder–Mead over the null space of the trend constraint). At M = 0 this is the minimum-
variance unbiased estimator under linear trends (tested against its closed form).

Not implemented: the relative-magnitude restriction Δ^RM(M̄) and RR's conditional/hybrid (ARP) tests,
which need the HonestDiD R package as a reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

from citynet.errors import AnalysisError


def cv_abs_normal(t: float, alpha: float = 0.05) -> float:
    """The 1−α quantile of |N(t, 1)|."""
    t = abs(t)
    f = lambda c: stats.norm.cdf(c - t) - stats.norm.cdf(-c - t) - (1 - alpha)  # noqa: E731
    return float(optimize.brentq(f, 0, t + 10))


@dataclass
class HonestResult:
    table: pd.DataFrame  # M, estimate, ci_low, ci_high, half_length, max_bias
    original: tuple[float, float, float]  # conventional estimate, ci_low, ci_high
    pre: list[int]
    post: list[int]


def _sd_max_bias(w: np.ndarray, periods: np.ndarray) -> float:
    """max w'δ over δ ∈ Δ^SD(1) (δ_ref = 0 at period −1; the slope pinned by δ at the first pre period,
    which w ignores because w is orthogonal to linear trends)."""
    full = np.sort(np.concatenate([periods, [-1]]))
    n = len(full)
    idx = {p: i for i, p in enumerate(full)}
    rows = []
    for i in range(1, n - 1):
        r = np.zeros(n)
        r[i - 1], r[i], r[i + 1] = 1.0, -2.0, 1.0
        rows.append(r)
    A = np.array(rows)
    c = np.zeros(n)
    for p, wp in zip(periods, w, strict=True):
        c[idx[p]] = wp
    bounds = [(None, None)] * n
    bounds[idx[-1]] = (0.0, 0.0)
    first = idx[full[0]] if full[0] != -1 else idx[full[1]]
    bounds[first] = (0.0, 0.0)
    res = optimize.linprog(-c, A_ub=np.vstack([A, -A]), b_ub=np.ones(2 * len(A)), bounds=bounds, method="highs")
    if res.status != 0:
        raise AnalysisError("the smoothness bound could not be computed", fix="check the event-study periods")
    return float(-res.fun)


def flci_sd(beta: np.ndarray, sigma: np.ndarray, periods: Sequence[int], M: float, *,
            l_post: np.ndarray | None = None, alpha: float = 0.05) -> dict[str, float]:
    """FLCI for θ = l'τ_post under Δ^SD(M) (module docstring). ``periods`` relative times of ``beta``
    (the reference −1 excluded), pre periods negative."""
    periods = np.asarray(periods, int)
    pre = periods < 0
    post = ~pre
    if pre.sum() < 1:
        raise AnalysisError("the smoothness bounds need at least one pre-period coefficient besides the reference",
                            fix="estimate the event study with leads ≥ 2")
    lp = np.zeros(post.sum()) if l_post is None else np.asarray(l_post, float)
    if l_post is None:
        lp[0] = 1.0
    trend = periods + 1.0  # linear trends through δ_{-1} = 0
    a = trend[pre]
    c0 = float(lp @ trend[post])
    # v_pre = v0 + N z with a'v_pre = −c0
    v0 = -c0 * a / (a @ a)
    N = np.linalg.svd(a[None, :])[2][1:].T if len(a) > 1 else np.zeros((1, 0))

    def w_of(z: np.ndarray) -> np.ndarray:
        w = np.zeros(len(periods))
        w[pre] = v0 + (N @ z if N.shape[1] else 0.0)
        w[post] = lp
        return w

    def half(z: np.ndarray) -> float:
        w = w_of(z)
        s = float(np.sqrt(w @ sigma @ w))
        b = M * _sd_max_bias(w, periods) if M > 0 else 0.0
        return s * cv_abs_normal(b / s, alpha)

    z = np.zeros(N.shape[1])
    if N.shape[1]:
        # start at the M = 0 optimum (minimum variance under the trend constraint)
        S = sigma
        Spp, Spq = S[np.ix_(pre, pre)], S[np.ix_(pre, post)]
        z = np.linalg.lstsq(N.T @ Spp @ N, -N.T @ (Spp @ v0 + Spq @ lp), rcond=None)[0]
        if M > 0:
            z = optimize.minimize(half, z, method="Nelder-Mead",
                                  options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 1500}).x
    w = w_of(z)
    est = float(w @ beta)
    h = half(z)
    return {"M": float(M), "estimate": est, "ci_low": est - h, "ci_high": est + h, "half_length": h,
            "max_bias": float(M * _sd_max_bias(w, periods)) if M > 0 else 0.0}


def honest_sd(beta: np.ndarray, sigma: np.ndarray, periods: Sequence[int], Ms: Sequence[float], *,
              l_post: np.ndarray | None = None, alpha: float = 0.05) -> HonestResult:
    """FLCIs over a grid of M, and the conventional interval of θ = l'β_post."""
    periods = np.asarray(periods, int)
    post = periods >= 0
    lp = np.zeros(post.sum()) if l_post is None else np.asarray(l_post, float)
    if l_post is None:
        lp[0] = 1.0
    lw = np.zeros(len(periods))
    lw[post] = lp
    est = float(lw @ beta)
    se = float(np.sqrt(lw @ sigma @ lw))
    z = stats.norm.ppf(1 - alpha / 2)
    tab = pd.DataFrame([flci_sd(beta, sigma, periods, m, l_post=l_post, alpha=alpha) for m in Ms])
    return HonestResult(table=tab, original=(est, est - z * se, est + z * se), pre=[int(p) for p in periods[~post]],
                        post=[int(p) for p in periods[post]])


def from_event_study(coefs: pd.DataFrame, vcov: pd.DataFrame, Ms: Sequence[float], **kw) -> HonestResult:
    """From an event study's ``coefficients()`` (rel_time, term) and the covariance of its terms."""
    c = coefs[coefs["se"] > 0].sort_values("rel_time")
    terms = list(c["term"])
    return honest_sd(c["coef"].to_numpy(float), vcov.loc[terms, terms].to_numpy(float), c["rel_time"].to_numpy(int),
                     Ms, **kw)


def honest_plot(res: HonestResult, path: str | Path, *, title: str | None = None) -> Path:
    """Conventional CI and the FLCIs over M (RR's sensitivity plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = res.table
    fig, ax = plt.subplots(figsize=(6.5, 4), dpi=120)
    est, lo, hi = res.original
    step = (t["M"].max() - t["M"].min()) / max(len(t) - 1, 1) if len(t) > 1 else 1.0
    ax.errorbar([t["M"].min() - step], [est], yerr=[[est - lo], [hi - est]], fmt="s", color="#c00000", capsize=3,
                label="conventional")
    ax.errorbar(t["M"], t["estimate"], yerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]], fmt="o",
                color="#1f4e79", capsize=3, label="FLCI, Δ^SD(M)")
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("M (maximal change in the slope of the trend per period)")
    ax.set_ylabel("effect")
    ax.set_title(title or "Sensitivity to non-parallel trends (Rambachan–Roth)")
    ax.legend(fontsize=8)
    from citynet.analysis.figures import save_figure

    return save_figure(fig, path)
