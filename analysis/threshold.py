"""Hansen (1999) panel threshold regression: single and double thresholds, bootstrap tests of the
number of thresholds, likelihood-ratio confidence intervals, and the LR plot.

Model (balanced panel, city fixed effects removed by the within transform)::

    y_it = μ_i + β₁'x_it·1{q_it ≤ γ₁} + β₂'x_it·1{γ₁ < q_it ≤ γ₂} + β₃'x_it·1{q_it > γ₂} + δ'z_it + e_it

- γ̂ minimises the within SSR S(γ) over a grid of ``grid`` quantiles of q, each regime keeping at least
  ``trim`` of the observations (Stata ``xthreg``'s defaults: 300 points, 1%).
- Threshold test: ``F₁ = (S₀ − S₁(γ̂))/σ̂₁²`` (σ̂₁² = S₁/(n(T−1))); the p-value by Hansen's bootstrap:
  regressors fixed, the T-vectors of within residuals of the null model resampled across cities,
  ``y* = fitted₀ + e*``, F recomputed ``reps`` times (p = share of F* ≥ F). Likewise
  ``F₂ = (S₁ − S₂)/σ̂₂²`` under the single-threshold null (γ₂ searched with γ₁ fixed, then γ₁ refined
  given γ₂ — Bai 1997, as Hansen 1999 §3.2; the bootstrap uses the unrefined sequential search).
- Confidence set for a threshold: ``{γ : LR(γ) ≤ −2 ln(1 − √(1 − α))}`` (7.35 at 95%) with
  ``LR(γ) = (S(γ) − S(γ̂))/σ̂²`` (Hansen 2000, Theorem 2).
- Slopes by regime: FE OLS with the estimated thresholds, clustered by city (pyfixest).

Fast: S(γ) on the whole grid for all bootstrap draws at once — for each γ the within design X_γ is
fixed, so ``S_b(γ) = ‖y*_b‖² − r_b'(X_γ'X_γ)⁻¹r_b`` with ``R = X_γ'Y*`` for the n×B matrix Y*.
Hand-written because no maintained Python package implements it; the tests compare with a brute-force
grid of pyfixest fits and with planted thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult
from citynet.analysis.tables import Table

from citynet.errors import AnalysisError
from citynet.progress import report


def lr_critical(level: float = 0.95) -> float:
    """Hansen's (2000) asymptotic critical value of the LR statistic: −2 ln(1 − √level)."""
    return float(-2 * np.log(1 - np.sqrt(level)))


@dataclass
class ThresholdResult:
    tests: pd.DataFrame  # model, F, pvalue, crit10, crit5, crit1, reps
    thresholds: pd.DataFrame  # name, estimate, ci_low, ci_high
    result: FitResult  # regime slopes with the chosen number of thresholds
    lr: dict[str, pd.DataFrame] = field(default_factory=dict)  # gamma, LR for th1 (single), th2, th1 refined
    notes: list[str] = field(default_factory=list)


class _Within:
    """City-demeaned arrays of a balanced panel and the SSR machinery on precomputed cross-products.

    ``[dm(X), dm(X·1{q ≤ γa}), dm(X·1{q ≤ γb}), Z̃]`` spans the same space as the regime design, so every
    S(γ) comes from the Gram matrices of the blocks ``A_j = dm(X·1{q ≤ cand_j})`` — no n-sized work per γ.
    """

    def __init__(self, d: pd.DataFrame, y: str, x: list[str], q: str, z: list[str], unit: str, cand: np.ndarray):
        from scipy import sparse

        self.codes, _ = pd.factorize(d[unit].astype(str))
        self.G = int(self.codes.max() + 1)
        self.cnt = np.bincount(self.codes)
        n = len(d)
        self.P = sparse.csr_matrix((np.ones(n), (self.codes, np.arange(n))), shape=(self.G, n))
        self.y = self.dm(d[[y]].to_numpy(float))[:, 0]
        X = d[x].to_numpy(float)
        self.k = X.shape[1]
        self.q = d[q].to_numpy(float)
        self.cand = cand
        self.B0 = np.column_stack([self.dm(X), self.dm(d[z].to_numpy(float)) if z else np.zeros((n, 0))])
        ind = (self.q[:, None] <= cand[None, :]).astype(float)  # n × Γ
        A = (X[:, None, :] * ind[:, :, None]).reshape(n, -1)  # n × Γk, block j = X·1{q ≤ cand_j}
        self.A = self.dm(A)
        self.AA = self.A.T @ self.A
        self.AB = self.A.T @ self.B0
        self.BB = self.B0.T @ self.B0
        self.below = (self.q[:, None] <= cand[None, :]).mean(axis=0)  # share with q ≤ cand_j

    def dm(self, M: np.ndarray) -> np.ndarray:
        return M - (np.asarray(self.P @ M) / self.cnt[:, None])[self.codes]

    def block(self, j: int) -> slice:
        return slice(j * self.k, (j + 1) * self.k)

    def stats(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (Y * Y).sum(axis=0), self.A.T @ Y, self.B0.T @ Y

    def ssr(self, idx: Sequence[int], st: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        """S for the design [B0, A_j for j in idx] and every column of Y."""
        yy, AY, BY = st
        sl = [self.block(j) for j in idx]
        aa = np.block([[self.AA[a, b] for b in sl] for a in sl]) if sl else np.zeros((0, 0))
        ab = np.vstack([self.AB[a] for a in sl]) if sl else np.zeros((0, self.BB.shape[0]))
        Q = np.block([[self.BB, ab.T], [ab, aa]])
        R = np.vstack([BY, *[AY[a] for a in sl]])
        try:
            sol = np.linalg.solve(Q, R)
        except np.linalg.LinAlgError:
            sol = np.linalg.lstsq(Q, R, rcond=None)[0]
        return yy - (R * sol).sum(axis=0)

    def design(self, gammas: Sequence[float]) -> np.ndarray:
        idx = [int(np.flatnonzero(self.cand == g)[0]) for g in sorted(gammas)]
        return np.column_stack([self.B0, *[self.A[:, self.block(j)] for j in idx]])


def _grid(q: np.ndarray, grid: int, trim: float) -> np.ndarray:
    lo, hi = np.quantile(q, [trim, 1 - trim])
    cand = np.unique(np.quantile(q, np.linspace(trim, 1 - trim, grid), method="lower"))
    return cand[(cand >= lo) & (cand < hi)]


def _search(w: _Within, Y: np.ndarray, fixed: Sequence[int] = (), trim: float = 0.01,
            stage: str | None = None) -> np.ndarray:
    """S(γ_j) for every candidate j (rows) and column of Y, given the indices ``fixed`` of thresholds already
    set; ∞ where a regime would hold less than ``trim`` of the observations. With ``stage``, progress is
    reported per grid point (``citynet.progress``)."""
    st = w.stats(Y)
    S = np.full((len(w.cand), Y.shape[1]), np.inf)
    for j in range(len(w.cand)):
        if stage is not None and j % 10 == 0:
            report(stage, j, len(w.cand))
        if j in fixed:
            continue
        cuts = sorted([*fixed, j])
        shares = np.diff([0.0, *w.below[cuts], 1.0])
        if shares.min() < trim:
            continue
        S[j] = w.ssr(cuts, st)
    if stage is not None:
        report(stage, len(w.cand), len(w.cand))
    return S


def _resample(w: _Within, fitted: np.ndarray, resid: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """n×B bootstrap outcomes: fitted + the residual T-vectors of randomly drawn cities (balanced panel)."""
    T = int(w.cnt[0])
    order = np.argsort(w.codes, kind="stable")
    E = resid[order].reshape(w.G, T)
    draw = rng.integers(0, w.G, size=(reps, w.G))
    Estar = E[draw]  # B × G × T
    Y = np.empty((len(resid), reps))
    Y[order] = Estar.reshape(reps, -1).T
    return w.dm(fitted[:, None] + Y)


def panel_threshold(panel: pd.DataFrame, y: str, x: Sequence[str], q: str, controls: Sequence[str] = (), *,
                    n_thresholds: int = 2, reps: int = 300, grid: int = 300, trim: float = 0.01,
                    level: float = 0.95, unit: str = "city_code", time: str = "year", seed: int | None = 0,
                    vcov: str | None = None, name: str | None = None) -> ThresholdResult:
    """Hansen's fixed-effect panel threshold model (module docstring). ``x`` the regime-dependent regressors,
    ``q`` the threshold variable, ``controls`` regime-independent; ``n_thresholds`` 1 or 2 are estimated and
    tested; the regime slopes are reported for the number chosen by the bootstrap tests at 5% (at least 1)."""
    from citynet.analysis.estimators import fit
    from citynet.analysis.formula import prepare

    x, z = list(x), list(controls)
    if n_thresholds not in (1, 2):
        raise AnalysisError(f"n_thresholds = {n_thresholds}", fix="use 1 or 2")
    both = [v for v in dict.fromkeys(x) if v in z]
    if both:  # its regime slopes sum to the control: a singular design, which the fit named as absorbed by the FE
        raise AnalysisError(f"{', '.join(both)} is both a regime-dependent regressor (x) and a control: the control "
                            "is the sum of its regime terms, so the design is singular",
                            fix=f"list {', '.join(both)} in x or in controls, not in both")
    data, _ = prepare(panel, f"{y} ~ {' + '.join([*x, q, *z])}", extra=[unit, time])
    from citynet.analysis.estimators import check_numeric

    check_numeric(data, [y, *x, q, *z], "threshold model's variable")
    from citynet.analysis.estimators import missing_rows

    cols = list(dict.fromkeys([unit, time, y, *x, q, *z]))
    missing, missing_note = missing_rows(data, cols)
    d = data[cols][~missing]
    counts = d.groupby(unit)[time].nunique()
    T = int(d[time].nunique())
    if (counts != T).any() or d.duplicated([unit, time]).any():
        short = counts[counts != T]
        gaps = missing_note.replace(", as fixest leaves them out.", "") if missing_note else ""
        raise AnalysisError(f"the threshold model needs a balanced panel: {len(short)} cities lack some of the {T} "
                            f"years (e.g. {list(short.index[:5])})"
                            + (f", once the rows with a missing value are left out ({gaps})" if gaps else ""),
                            fix="restrict [sample] years to those every city has, or drop the incomplete cities"
                                + (" (or fill or drop the variables with missing values)" if gaps else ""))
    d = d.sort_values([unit, time]).reset_index(drop=True)
    if d[q].nunique() < 4:
        raise AnalysisError(f"threshold variable q = {q!r} has {d[q].nunique()} distinct value(s) in the sample",
                            fix="choose a threshold variable that varies (a continuous one), or widen the sample")
    cand = _grid(d[q].to_numpy(float), grid, trim)
    if len(cand) < 2:
        raise AnalysisError(f"threshold variable q = {q!r} leaves no candidate thresholds after trimming {trim:.0%}",
                            fix="use a threshold variable with more variation or a smaller trim")
    w = _Within(d, y, x, q, z, unit, cand)
    n = len(d)
    dof = n - w.G  # n(T−1)
    rng = np.random.default_rng(seed)
    Y0 = w.y[:, None]
    # --- no threshold
    D0 = w.B0
    b0 = np.linalg.lstsq(D0, w.y, rcond=None)[0]
    e0 = w.y - D0 @ b0
    S0 = float(e0 @ e0)
    # --- single threshold
    S1g = _search(w, Y0, trim=trim)
    i1 = int(np.argmin(S1g[:, 0]))
    g1, S1 = float(cand[i1]), float(S1g[i1, 0])
    s2_1 = S1 / dof
    F1 = (S0 - S1) / s2_1
    crit = lr_critical(level)
    lr1 = pd.DataFrame({"gamma": cand, "LR": (S1g[:, 0] - S1) / s2_1})
    Yb = _resample(w, w.y - e0, e0, reps, rng)
    S0b = w.ssr([], w.stats(Yb))
    S1b = _search(w, Yb, trim=trim, stage=f"threshold bootstrap, single ({reps:,} draws): grid points")
    S1b_min = S1b.min(axis=0)
    F1b = (S0b - S1b_min) / (S1b_min / dof)
    rows = [_test_row("Single threshold", F1, F1b)]
    ths = [{"threshold": "γ (single)", "estimate": g1, **_ci(lr1, crit)}]
    lrs = {"single": lr1}
    chosen = [g1]
    if n_thresholds == 2:
        S2g = _search(w, Y0, fixed=[i1], trim=trim)
        i2 = int(np.argmin(S2g[:, 0]))
        g2, S2 = float(cand[i2]), float(S2g[i2, 0])
        # refinement of γ1 given γ2 (Bai 1997)
        S1r = _search(w, Y0, fixed=[i2], trim=trim)
        ir = int(np.argmin(S1r[:, 0]))
        g1r = float(cand[ir])
        S2 = min(S2, float(S1r[ir, 0]))
        s2_2 = S2 / dof
        F2 = (S1 - S2) / s2_2
        lr2 = pd.DataFrame({"gamma": cand, "LR": (S2g[:, 0] - S2) / s2_2})
        lr1r = pd.DataFrame({"gamma": cand, "LR": (S1r[:, 0] - S2) / s2_2})
        # bootstrap under one threshold at g1
        D1 = w.design([g1])
        b1 = np.linalg.lstsq(D1, w.y, rcond=None)[0]
        e1 = w.y - D1 @ b1
        Yb2 = _resample(w, w.y - e1, e1, reps, rng)
        S1b2 = _search(w, Yb2, trim=trim, stage=f"threshold bootstrap, double ({reps:,} draws): grid points")
        j1 = np.argmin(S1b2, axis=0)
        S1b2_min = S1b2[j1, np.arange(reps)]
        S2b_min = np.empty(reps)
        stage2, done2 = f"threshold bootstrap, double ({reps:,} draws): second threshold, draws", 0
        report(stage2, 0, reps)
        for jj in np.unique(j1):
            cols = np.flatnonzero(j1 == jj)
            Sb = _search(w, Yb2[:, cols], fixed=[int(jj)], trim=trim)
            S2b_min[cols] = Sb.min(axis=0)
            done2 += len(cols)
            report(stage2, done2, reps)
        F2b = (S1b2_min - S2b_min) / (S2b_min / dof)
        rows.append(_test_row("Double threshold", F2, F2b))
        lo_, hi_ = sorted([g1r, g2])
        ths = [{"threshold": "γ1 (double, refined)", "estimate": g1r, **_ci(lr1r, crit)},
               {"threshold": "γ2 (double)", "estimate": g2, **_ci(lr2, crit)}]
        lrs.update({"double_gamma2": lr2, "double_gamma1_refined": lr1r})
        if rows[-1]["pvalue"] < 0.05:
            chosen = [lo_, hi_]
    tests = pd.DataFrame(rows)
    thr = pd.DataFrame(ths)
    # regime slopes
    cuts = sorted(chosen)
    edges = [-np.inf, *cuts, np.inf]
    cols: dict[str, np.ndarray] = {}
    names = []
    for r_i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        ind = (d[q] > lo) & (d[q] <= hi)
        lab = (f"{q}≤{hi:.4g}" if r_i == 0 else f"{q}>{lo:.4g}" if r_i == len(cuts) else f"{lo:.4g}<{q}≤{hi:.4g}")
        for c in x:
            nm = f"{c}·I({lab})"
            cols[nm] = (d[c] * ind).to_numpy(float)
            names.append(nm)
    safe = {nm: f"_thr{i}" for i, nm in enumerate(names)}
    dd = d.assign(**{safe[k]: v for k, v in cols.items()})
    r = fit(dd, f"{y} ~ {' + '.join([*safe.values(), *z])} | {unit}", vcov=vcov or f"cluster:{unit}",
            name=name or ("Double threshold" if len(cuts) == 2 else "Single threshold"))
    back = {v: k for k, v in safe.items()}
    r.params.index = [back.get(i, i) for i in r.params.index]
    r.se.index = r.params.index
    r.pvalues.index = r.params.index
    r.model = "panel_threshold"
    r.stats.update({"F_single": F1, "p_single": rows[0]["pvalue"]})
    if n_thresholds == 2:
        r.stats.update({"F_double": rows[1]["F"], "p_double": rows[1]["pvalue"]})
    from citynet.metrics.labels import term_label

    r.notes.append(f"Hansen (1999) threshold model in {term_label(q)}: thresholds {', '.join(f'{c:.4g}' for c in cuts)}; "
                   f"{reps} bootstrap draws (seed {seed}); grid {len(cand)} points, trim {trim:.0%}.")
    return ThresholdResult(tests=tests, thresholds=thr, result=r, lr=lrs)


def _test_row(model: str, F: float, Fb: np.ndarray) -> dict[str, float | str]:
    return {"model": model, "F": float(F), "pvalue": float(np.mean(Fb >= F)), "crit10": float(np.quantile(Fb, 0.90)),
            "crit5": float(np.quantile(Fb, 0.95)), "crit1": float(np.quantile(Fb, 0.99)), "reps": len(Fb)}


def _ci(lr: pd.DataFrame, crit: float) -> dict[str, float]:
    inside = lr.loc[lr["LR"] <= crit, "gamma"]
    return {"ci_low": float(inside.min()), "ci_high": float(inside.max())}


def threshold_tables(res: ThresholdResult, *, title: str | None = None, digits: int = 3) -> tuple[Table, Table]:
    """The papers' two tables: threshold-effect tests (F, bootstrap p, critical values) and threshold
    estimates with 95% confidence intervals."""
    from citynet.analysis.tables import stars

    t1 = Table(header=["Model", "F", "p-value", "BS draws", "10%", "5%", "1%"],
               rows=[[r.model, f"{r.F:.{digits}f}{stars(r.pvalue)}", f"{r.pvalue:.{digits}f}", str(int(r.reps)),
                      f"{r.crit10:.{digits}f}", f"{r.crit5:.{digits}f}", f"{r.crit1:.{digits}f}"]
                     for r in res.tests.itertuples()],
               title=title or "Threshold effect tests", n_coef_rows=len(res.tests),
               notes=["p-values and critical values from Hansen's (1999) bootstrap; *** p<0.01, ** p<0.05, * p<0.10."])
    t2 = Table(header=["Threshold", "Estimate", "95% CI"],
               rows=[[r.threshold, f"{r.estimate:.{digits}f}", f"[{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]"]
                     for r in res.thresholds.itertuples()],
               title="Threshold estimates", n_coef_rows=len(res.thresholds),
               notes=["Confidence sets by inverting the likelihood ratio (Hansen 2000): LR(γ) ≤ 7.35."])
    return t1, t2


def lr_plot(res: ThresholdResult, path: str | Path, *, level: float = 0.95, qname: str = "q") -> Path:
    """LR(γ) against γ for each threshold with the critical value as a dashed line (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(res.lr.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), dpi=120, squeeze=False)
    crit = lr_critical(level)
    titles = {"single": "Single threshold", "double_gamma2": "Double: γ2", "double_gamma1_refined": "Double: γ1 (refined)"}
    for ax, (key, lr) in zip(axes[0], panels, strict=True):
        ok = np.isfinite(lr["LR"])
        ax.plot(lr.loc[ok, "gamma"], lr.loc[ok, "LR"], color="#1f4e79", lw=1.2)
        ax.axhline(crit, color="#c00000", ls="--", lw=1, label=f"{level:.0%} critical value {crit:.2f}")
        ax.set_xlabel(f"threshold γ ({qname})")
        ax.set_ylabel("LR statistic")
        ax.set_title(titles.get(key, key))
        ax.legend(fontsize=8)
    from citynet.analysis.figures import save_figure

    return save_figure(fig, path)
