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

Relative magnitudes Δ^RM(M̄) (RR §2.4.1): the post-period violations may change from one period to the
next by at most M̄ times the largest pre-period change, ``|δ_{t+1} − δ_t| ≤ M̄ · max_{s<0} |δ_{s+1} − δ_s|``
for t ≥ −1 (reference −1, δ_{−1} = 0; the pre-period changes include δ_{−1} − δ_{−2}). :func:`rm_bounds`
gives the *identified set* of θ under Δ^RM(M̄) at δ_pre = β̂_pre (RR's Lemma 2.1 set
``{l'(β_post − δ_post) : δ ∈ Δ, δ_pre = β_pre}``): with m = max_s |β̂_{s+1} − β̂_s| over the pre periods,
``θ ∈ [l'β̂_post − M̄·m·R, l'β̂_post + M̄·m·R]`` with ``R = max {l'δ_post : |δ_{t+1} − δ_t| ≤ 1, δ_{−1} = 0}
= Σ_t |Σ_{u ≥ t} l_u|`` (write δ as the cumulated changes; the box maximum takes each change at ±1) — for
the first post period R = 1, for the average of T̄ post periods R = (T̄+1)/2; and the breakdown
M̄ = |l'β̂_post|/(m·R) at which the set first contains 0. These are bounds at the point estimate, without sampling uncertainty.

RR's confidence sets for Δ^RM (conditional and least-favourable hybrid ARP tests over the union of
polyhedra) are in :mod:`citynet.analysis.honest_rm`. Not implemented: the ARP tests for Δ^SD (the FLCI
above is RR's recommendation for Δ^SD).
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
    # HiGHS' presolve can end in "Solve error" (status 4) on this small bounded LP (scipy 1.17: an event study of
    # collab_degree, w_pre = (−1.7e-4, 2.5e-4, 1.00003)); the same LP without presolve, or by interior point, solves
    for options in ({}, {"presolve": False}):
        res = optimize.linprog(-c, A_ub=np.vstack([A, -A]), b_ub=np.ones(2 * len(A)), bounds=bounds, method="highs",
                               options=options)
        if res.status == 0:
            return float(-res.fun)
    res = optimize.linprog(-c, A_ub=np.vstack([A, -A]), b_ub=np.ones(2 * len(A)), bounds=bounds, method="highs-ipm")
    if res.status != 0:
        raise AnalysisError(f"the smoothness bound (a linear program over the event-study periods {list(periods)}) "
                            f"could not be computed: {res.message}",
                            fix="estimate the event study with other leads and lags")
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


def rm_bounds(beta: np.ndarray, periods: Sequence[int], Mbars: Sequence[float], *,
              l_post: np.ndarray | None = None) -> pd.DataFrame:
    """Identified set of θ = l'τ_post under Δ^RM(M̄) at δ_pre = β̂_pre for each M̄ (module docstring):
    columns ``Mbar, estimate, lb, ub, max_pre_change``; ``attrs["breakdown"]`` = the smallest M̄ whose set
    contains 0 (inf when the pre periods show no change). ``periods``: consecutive relative times of
    ``beta`` without the reference −1, at least one pre period."""
    periods = np.asarray(periods, int)
    beta = np.asarray(beta, float)
    pre, post = periods < 0, periods >= 0
    if pre.sum() < 1 or post.sum() < 1:
        raise AnalysisError("the relative-magnitude bounds need pre-period (besides −1) and post-period coefficients",
                            fix="estimate the event study with leads ≥ 2 and lags ≥ 0")
    full = np.sort(np.concatenate([periods, [-1]]))
    if np.any(np.diff(full) != 1):
        raise AnalysisError(f"the event-study periods {list(periods)} are not consecutive",
                            fix="the relative-magnitude restriction compares consecutive periods: use all leads and lags")
    lp = np.zeros(post.sum()) if l_post is None else np.asarray(l_post, float)
    if l_post is None:
        lp[0] = 1.0
    b_pre = np.concatenate([beta[pre][np.argsort(periods[pre])], [0.0]])  # ..., β_{-2}, δ_{-1} = 0
    m = float(np.max(np.abs(np.diff(b_pre))))
    order = np.argsort(periods[post])
    bp, lpo = beta[post][order], lp[order]
    est = float(lpo @ bp)
    # max and min of l'δ_post over |δ_{t+1} − δ_t| ≤ 1, δ_{-1} = 0: in the changes c (δ = cumsum c),
    # l'δ = Σ_t c_t Σ_{u ≥ t} l_u, so the maximum is Σ_t |Σ_{u ≥ t} l_u| (and the minimum its negative)
    tail = np.cumsum(lpo[::-1])[::-1]
    reach = float(np.abs(tail).sum())
    rows = [{"Mbar": float(mb), "estimate": est, "lb": est - mb * m * reach, "ub": est + mb * m * reach,
             "max_pre_change": m} for mb in Mbars]
    out = pd.DataFrame(rows)
    out.attrs["breakdown"] = abs(est) / (m * reach) if m * reach > 0 else float("inf")
    return out


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


def rm_plot(bounds: pd.DataFrame, original: tuple[float, float, float], path: str | Path, *,
            title: str | None = None) -> Path:
    """The conventional CI, the Δ^RM(M̄) identified sets and (columns ``ci_lb``/``ci_ub``, when present) the
    Rambachan–Roth confidence sets over M̄ (HonestDiD's sensitivity plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4), dpi=120)
    est, lo, hi = original
    mb = bounds["Mbar"].to_numpy(float)
    step = (mb.max() - mb.min()) / max(len(mb) - 1, 1) if len(mb) > 1 else 1.0
    ax.errorbar([mb.min() - step], [est], yerr=[[est - lo], [hi - est]], fmt="s", color="#c00000", capsize=3,
                label="conventional 95% CI")
    if "ci_lb" in bounds:
        ok = bounds["ci_lb"].notna().to_numpy()
        ax.vlines(mb[ok] + step * 0.12, bounds["ci_lb"][ok], bounds["ci_ub"][ok], color="#7f7f7f", lw=1.5,
                  label=r"95% confidence set, $\Delta^{RM}(\bar{M})$")
        ax.hlines(np.r_[bounds["ci_lb"][ok], bounds["ci_ub"][ok]], np.r_[mb[ok], mb[ok]] + step * 0.06,
                  np.r_[mb[ok], mb[ok]] + step * 0.18, color="#7f7f7f", lw=1.5)
    ax.vlines(mb, bounds["lb"], bounds["ub"], color="#1f4e79", lw=3, label=r"identified set, $\Delta^{RM}(\bar{M})$")
    ax.plot(mb, bounds["estimate"], "o", color="#1f4e79")
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(np.r_[mb.min() - step, mb], ["original"] + [f"{x:g}" for x in mb])
    ax.set_xlabel("M̄ (post-period changes relative to the largest pre-period change)")
    ax.set_ylabel("effect")
    ax.set_title(title or "Relative magnitudes (Rambachan–Roth)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    from citynet.analysis.figures import save_figure

    return save_figure(fig, path)
