"""Three-step mediation (Baron & Kenny 1986; 温忠麟等 2004), as in the journal issue's tables.

Steps, each a FE panel regression with the same controls and fixed effects:

1. ``Y = c·X + controls + FE``  (total effect c)
2. ``M = a·X + controls + FE``  (X moves the mediator)
3. ``Y = c'·X + b·M + controls + FE``  (direct effect c', mediator effect b)

Indirect effect ``a·b`` (= c − c' exactly in OLS on one sample), share mediated ``a·b/c``.
Sobel (1982) test: ``z = a·b / √(b²s_a² + a²s_b²)`` with the steps' (clustered) standard errors;
bootstrap: B cluster (pairs) resamples of whole cities, a·b re-estimated in each; percentile and
bias-corrected (Efron 1987) intervals — the bootstrap does not assume a·b normal (MacKinnon, Lockwood &
Williams 2004). Fast: city FE are nested in the city clusters, so the within-city transform is done
once and each draw sums per-city cross-products (a resampled city keeps its own FE; year FE as
dummies) — the same numbers as refitting the FE model on the resampled panel with duplicated cities
relabelled.

Identifying assumptions (Imai, Keele & Tingley 2010; 江艇 2022): a·b is a causal indirect effect only
under *sequential ignorability* — X as good as random given controls and FE, **and** M as good as
random given X, controls and FE (no unobserved M–Y confounder, no post-treatment confounder caused
by X). Step 3 conditions on a post-treatment variable; if M is endogenous, c' and b are biased even
with a randomised X. The three steps show that the data are *consistent* with the channel, not that
the channel is identified; report them as a mechanism check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from citynet.analysis.results import FitResult
from citynet.analysis.tables import Table, regression_table
from scipy import stats

from citynet.errors import AnalysisError


@dataclass
class MediationResult:
    steps: list[FitResult]  # total (Y on X), a-path (M on X), direct (Y on X and M)
    effects: dict[str, float]  # a, b, c, c_prime, indirect, share, sobel_z, sobel_p, boot_*
    draws: np.ndarray | None
    notes: list[str] = field(default_factory=list)  # the rows left out of the one sample of the three steps


def resolve_chain(m: dict[str, Any]) -> tuple[str, str, str]:
    """``chain = [X, M, Y]`` or ``paths = [[X, M], [M, Y]]`` (or keys x, m, y) → (X, M, Y); a chain that
    does not connect is an error naming the key."""
    if "paths" in m:
        p = m["paths"]
        if not (isinstance(p, list) and len(p) == 2 and all(isinstance(e, list) and len(e) == 2 for e in p)):
            raise AnalysisError(f"mediation paths = {p!r} must be two links [[X, M], [M, Y]]",
                                fix="write paths = [[\"low_carbon\", \"rd_intensity\"], [\"rd_intensity\", \"y\"]]")
        (x, m1), (m2, y) = p
        if m1 != m2:
            raise AnalysisError(f"mediation paths do not connect: the first link ends at {m1!r}, the second starts "
                                f"at {m2!r}", fix=f"make the second link start where the first ends: [[{x!r}, {m1!r}], "
                                                  f"[{m1!r}, {y!r}]]")
        chain = [x, m1, y]
    elif "chain" in m:
        chain = list(m["chain"])
    else:
        chain = [m.get("x"), m.get("m"), m.get("y")]
    if len(chain) != 3 or any(not isinstance(c, str) or not c for c in chain):
        raise AnalysisError(f"mediation chain {chain!r} must name three variables X → M → Y",
                            fix="write chain = [\"low_carbon\", \"rd_intensity\", \"ln_green_patents\"]")
    if len(set(chain)) != 3:
        raise AnalysisError(f"mediation chain {chain!r} does not connect three distinct variables",
                            fix="the treatment, the mediator and the outcome must be different columns")
    return chain[0], chain[1], chain[2]


def mediation(panel: pd.DataFrame, x: str, m: str, y: str, controls: Sequence[str] = (), *,
              fe: str = "city_code + year", vcov: Any = None, cluster: str = "city_code", reps: int = 500,
              seed: int | None = 0, level: float = 0.95) -> MediationResult:
    """Three-step mediation of ``x → m → y`` (module docstring)."""
    from citynet.analysis.estimators import fit
    from citynet.analysis.formula import prepare

    controls = list(controls)
    ctl = "".join(f" + {c}" for c in controls)
    fes = f" | {fe}" if fe and fe != "none" else ""
    data, _ = prepare(panel, f"{y} ~ {x} + {m}{ctl}", extra=[cluster])
    fe_l = [f.strip() for f in fe.split("+")] if fes else []
    keep = list(dict.fromkeys([y, x, m, *controls, *fe_l, cluster]))
    from citynet.analysis.estimators import missing_rows

    missing, missing_note = missing_rows(data, keep)  # said: the rows were left out without a word
    d = data[keep][~missing].reset_index(drop=True)  # one sample for the three steps (c = c' + ab)
    for v in (x, m):
        if d[v].nunique() < 2:
            raise AnalysisError(f"mediation variable {v!r} does not vary in the sample", fix="check the chain and sample")
    vc = vcov if vcov is not None else f"cluster:{cluster}"
    s1 = fit(d, f"{y} ~ {x}{ctl}{fes}", vcov=vc, name=f"(1) {y}")
    s2 = fit(d, f"{m} ~ {x}{ctl}{fes}", vcov=vc, name=f"(2) {m}")
    s3 = fit(d, f"{y} ~ {x} + {m}{ctl}{fes}", vcov=vc, name=f"(3) {y}")
    a, sa = float(s2.params[x]), float(s2.se[x])
    b, sb = float(s3.params[m]), float(s3.se[m])
    c, cp = float(s1.params[x]), float(s3.params[x])
    ab = a * b
    sob_se = float(np.sqrt(b * b * sa * sa + a * a * sb * sb))
    z = ab / sob_se
    eff: dict[str, float] = {"a": a, "b": b, "c": c, "c_prime": cp, "indirect": ab,
                             "share": ab / c if c != 0 else np.nan, "sobel_se": sob_se, "sobel_z": z,
                             "sobel_p": float(2 * stats.norm.sf(abs(z)))}
    draws = None
    if reps:
        draws = bootstrap_indirect(d, x, m, y, controls, fe_l, cluster, reps=reps, seed=seed)
        alpha = 1 - level
        lo, hi = np.percentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        z0 = stats.norm.ppf(np.clip(np.mean(draws < ab), 1e-12, 1 - 1e-12))
        qs = stats.norm.cdf(2 * z0 + stats.norm.ppf([alpha / 2, 1 - alpha / 2]))
        blo, bhi = np.percentile(draws, 100 * qs)
        eff.update({"boot_se": float(draws.std(ddof=1)), "boot_ci_low": float(lo), "boot_ci_high": float(hi),
                    "boot_bc_low": float(blo), "boot_bc_high": float(bhi), "boot_reps": float(reps)})
    for s in (s2, s3):  # one sample: the same rows left out and the same singletons; the table says them once
        s.notes = [n for n in s.notes if n not in s1.notes]
    return MediationResult(steps=[s1, s2, s3], effects=eff, draws=draws, notes=[missing_note] if missing_note else [])


def bootstrap_indirect(d: pd.DataFrame, x: str, m: str, y: str, controls: list[str], fe: list[str], cluster: str,
                       *, reps: int = 500, seed: int | None = 0) -> np.ndarray:
    """``reps`` cluster-bootstrap draws of a·b (whole clusters resampled with replacement)."""
    ya, Xa, _ = _absorb_all(d, m, [x, *controls], fe, cluster)
    yb, Xb, _ = _absorb_all(d, y, [x, m, *controls], fe, cluster)
    codes, _ = pd.factorize(d[cluster].astype(str))
    G = codes.max() + 1

    def per_cluster(X: np.ndarray, yv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        XX = np.zeros((G, X.shape[1], X.shape[1]))
        np.add.at(XX, codes, X[:, :, None] * X[:, None, :])
        Xy = np.zeros((G, X.shape[1]))
        np.add.at(Xy, codes, X * yv[:, None])
        return XX, Xy

    XXa, Xya = per_cluster(Xa, ya)
    XXb, Xyb = per_cluster(Xb, yb)
    rng = np.random.default_rng(seed)
    W = np.stack([np.bincount(rng.integers(0, G, G), minlength=G) for _ in range(reps)]).astype(float)  # B×G
    A = np.einsum("bg,gij->bij", W, XXa)
    ra = np.einsum("bg,gi->bi", W, Xya)
    B_ = np.einsum("bg,gij->bij", W, XXb)
    rb = np.einsum("bg,gi->bi", W, Xyb)
    ca = _solve(A, ra)[:, 0]
    cb = _solve(B_, rb)[:, 1]
    return ca * cb


def _solve(A: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Batched least-squares solve (pinv where a resample leaves a dummy without rows)."""
    out = np.empty_like(r)
    for i in range(len(A)):
        try:
            out[i] = np.linalg.solve(A[i], r[i])
        except np.linalg.LinAlgError:
            out[i] = np.linalg.pinv(A[i]) @ r[i]
    return out


def _absorb_all(d: pd.DataFrame, dep: str, cols: list[str], fe: list[str], cluster: str):
    from citynet.analysis.inference import _absorb

    return _absorb(d, dep, cols, fe, cluster)


def mediation_table(res: MediationResult, *, labels: dict[str, str] | None = None, title: str | None = None,
                    digits: int = 3) -> Table:
    """Columns (1) Y on X, (2) M on X, (3) Y on X and M; rows below: indirect effect a·b, Sobel z (p),
    bootstrap percentile and bias-corrected intervals, share mediated."""
    t = regression_table(res.steps, labels=labels, title=title, digits=digits)
    e = res.effects
    n = len(res.steps)

    def row(label: str, val: str) -> list[str]:
        return [label] + [""] * (n - 1) + [val]

    extra = [row("Indirect effect a·b", f"{e['indirect']:.{digits}f}"),
             row("Sobel z", f"{e['sobel_z']:.{digits}f} (p {_p(e['sobel_p'])})")]
    if "boot_ci_low" in e:
        extra += [row(f"Bootstrap 95% CI ({int(e['boot_reps'])} draws)",
                      f"[{e['boot_ci_low']:.{digits}f}, {e['boot_ci_high']:.{digits}f}]"),
                  row("Bias-corrected 95% CI", f"[{e['boot_bc_low']:.{digits}f}, {e['boot_bc_high']:.{digits}f}]")]
    extra.append(row("Share mediated a·b/c", f"{e['share']:.{digits}f}"))
    t.rows = t.rows[:t.n_coef_rows] + t.rows[t.n_coef_rows:] + extra
    t.notes += res.notes
    t.notes.append("Mediation: a·b identifies an indirect effect only under sequential ignorability "
                   "(no unobserved mediator–outcome confounding); see docs/methods.md.")
    return t


def _p(p: float) -> str:
    from citynet.analysis.tables import fmt_p

    shown = fmt_p(p)
    return shown if shown.startswith("<") else f"= {shown}"
