"""Global and local Moran's I per year, and the Moran scatter plot.

Global (Moran 1950; Cliff & Ord 1981; Anselin 1988):
``I = (n/S0) · z'Wz / z'z``, ``z = x − x̄``, ``S0 = Σ_ij w_ij``; ``E[I] = −1/(n−1)``;
variance under normality ``V_N = (n²S1 − nS2 + 3S0²)/((n²−1)S0²) − E[I]²`` and under randomisation
``V_R = [n((n²−3n+3)S1 − nS2 + 3S0²) − b2((n²−n)S1 − 2nS2 + 6S0²)] / ((n−1)(n−2)(n−3)S0²) − E[I]²``,
``S1 = ½Σ(w_ij+w_ji)²``, ``S2 = Σ_i(w_i. + w_.i)²``, ``b2 = n Σz⁴/(Σz²)²``; two-sided normal p-values;
and a permutation p-value (pseudo p = (larger + 1)/(R + 1), the esda convention).

Local (Anselin 1995), the esda convention: ``z`` standardised with the population s.d.,
``I_i = (n−1) z_i Σ_j w_ij z_j / Σ z²``; quadrants 1 HH, 2 LH, 3 LL, 4 HL; conditional permutation
pseudo p-values (cities' own value fixed, the others permuted).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from citynet.progress import report

from .panel import align_panel
from .weights import SpatialWeights

QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


def _wsums(w: np.ndarray) -> tuple[float, float, float]:
    s0 = w.sum()
    s1 = 0.5 * ((w + w.T) ** 2).sum()
    s2 = ((w.sum(axis=1) + w.sum(axis=0)) ** 2).sum()
    return float(s0), float(s1), float(s2)


def moran_global(x: np.ndarray, w: SpatialWeights | np.ndarray, *, permutations: int = 999,
                 seed: int | None = 0) -> dict[str, float]:
    """Global Moran's I of one cross-section ``x`` (length n, W's order): I, EI, VI_norm, z_norm, p_norm,
    VI_rand, z_rand, p_rand, and (when ``permutations``) p_sim, EI_sim, z_sim."""
    W = w.matrix if isinstance(w, SpatialWeights) else np.asarray(w, float)
    x = np.asarray(x, float)
    n = len(x)
    z = x - x.mean()
    zz = z @ z
    if not zz > 0:  # no variation (a year every city has 0): I is undefined — NaN, not numpy's 0/0 warnings
        nan = float("nan")
        return {"I": nan, "EI": -1.0 / (n - 1), "VI_norm": nan, "z_norm": nan, "p_norm": nan, "VI_rand": nan,
                "z_rand": nan, "p_rand": nan, "n": n, **({"p_sim": nan, "EI_sim": nan, "z_sim": nan}
                                                           if permutations else {})}
    s0, s1, s2 = _wsums(W)
    i_stat = n / s0 * (z @ W @ z) / zz
    ei = -1.0 / (n - 1)
    v_norm = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n - 1) * (n + 1) * s0 * s0) - ei * ei
    b2 = (z**4).sum() / n / (zz / n) ** 2
    a_ = n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0)
    b_ = b2 * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0)
    v_rand = (a_ - b_) / ((n - 1) * (n - 2) * (n - 3) * s0 * s0) - ei * ei
    zn = (i_stat - ei) / np.sqrt(v_norm)
    zr = (i_stat - ei) / np.sqrt(v_rand)
    out = {
        "I": float(i_stat), "EI": ei, "VI_norm": float(v_norm), "z_norm": float(zn),
        "p_norm": float(2 * stats.norm.sf(abs(zn))), "VI_rand": float(v_rand), "z_rand": float(zr),
        "p_rand": float(2 * stats.norm.sf(abs(zr))), "n": n,
    }
    if permutations:
        rng = np.random.default_rng(seed)
        zp = np.array([rng.permutation(z) for _ in range(permutations)])  # (R, n)
        sim = n / s0 * ((zp @ W.T) * zp).sum(axis=1) / zz
        larger = int((sim >= i_stat).sum())
        larger = min(larger, permutations - larger)
        out.update({
            "p_sim": (larger + 1.0) / (permutations + 1.0),
            "EI_sim": float(sim.mean()),
            "z_sim": float((i_stat - sim.mean()) / sim.std()),
        })
    return out


def moran_local(x: np.ndarray, w: SpatialWeights | np.ndarray, *, permutations: int = 999,
                seed: int | None = 0) -> pd.DataFrame:
    """Local Moran's I_i (LISA) with quadrant, analytic total-randomisation moments (Sokal et al. 1998,
    as esda's ``EI``/``VI``) and conditional-permutation pseudo p-values; rows in W's order."""
    W = w.matrix if isinstance(w, SpatialWeights) else np.asarray(w, float)
    x = np.asarray(x, float)
    n = len(x)
    if not x.std() > 0:  # no variation: every I_i undefined, and no quadrant (NaN compared would say LL)
        nan = np.full(n, np.nan)
        cols = {"z": nan, "lag_z": nan, "Is": nan, "quadrant": nan, "EI": nan, "VI": nan, "quadrant_label": None}
        return pd.DataFrame({**cols, **({"p_sim": nan} if permutations else {})})
    z = (x - x.mean()) / x.std()
    den = z @ z
    zl = W @ z
    is_ = (n - 1) * z * zl / den
    q = np.where(z > 0, np.where(zl > 0, 1, 4), np.where(zl > 0, 2, 3))
    m2 = den / n
    wi = W.sum(axis=1)
    wi2 = (W * W).sum(axis=1)
    b2 = (z**4).sum() / n / m2**2
    n1 = n - 1
    ei = -wi / n1
    vi = wi2 * (n - b2) / n1 + (wi**2 - wi2) * (2 * b2 - n) / (n1 * (n - 2)) - ei**2
    df = pd.DataFrame({"z": z, "lag_z": zl, "Is": is_, "quadrant": q, "EI": ei, "VI": vi})
    df["quadrant_label"] = df["quadrant"].map(QUADRANTS)
    if permutations:
        rng = np.random.default_rng(seed)
        p = np.empty(n)
        idx = np.arange(n)
        stage = f"local Moran's I permutations ({permutations:,} per city): cities"
        for i in range(n):
            if i % 10 == 0:
                report(stage, i, n)
            others = np.delete(idx, i)
            zo = z[others]
            wo = W[i, others]
            perm = rng.permuted(np.broadcast_to(zo, (permutations, n - 1)), axis=1)
            sim = (n - 1) * z[i] * (perm @ wo) / den
            larger = int((sim >= is_[i]).sum())
            larger = min(larger, permutations - larger)
            p[i] = (larger + 1.0) / (permutations + 1.0)
        report(stage, n, n)
        df["p_sim"] = p
    return df


def moran_by_year(panel: pd.DataFrame, var: str, w: SpatialWeights, *, id_col: str = "city_code",
                  time_col: str = "year", years: Sequence | None = None, permutations: int = 999,
                  seed: int | None = 0) -> pd.DataFrame:
    """Global Moran's I of ``var`` for each year of a balanced panel (one row per year, the columns of
    :func:`moran_global`); W is restricted to the panel's cities when it covers more."""
    ap = align_panel(panel, [var], w, id_col=id_col, time_col=time_col, years=years)
    rows = []
    stage, total = f"Moran's I permutations ({var}): draws", permutations * len(ap.years)
    if permutations:
        report(stage, 0, total)
    for t, yr in enumerate(ap.years):
        r = moran_global(ap[var][t], ap.w, permutations=permutations, seed=None if seed is None else seed + t)
        rows.append({"year": yr, **r})
        if permutations:
            report(stage, permutations * (t + 1), total)
    return pd.DataFrame(rows).set_index("year")


def moran_local_year(panel: pd.DataFrame, var: str, w: SpatialWeights, year, *, id_col: str = "city_code",
                     time_col: str = "year", permutations: int = 999, seed: int | None = 0) -> pd.DataFrame:
    """Local Moran (:func:`moran_local`) of ``var`` in one year, indexed by city code."""
    ap = align_panel(panel, [var], w, id_col=id_col, time_col=time_col, years=[year])
    df = moran_local(ap[var][0], ap.w, permutations=permutations, seed=seed)
    df.index = pd.Index(ap.w.codes, name=id_col)
    return df


def moran_scatter(panel: pd.DataFrame, var: str, w: SpatialWeights, year, path, *, id_col: str = "city_code",
                  time_col: str = "year", labels: pd.Series | dict | None = None, label_top: int = 0,
                  title: str | None = None) -> dict[str, float]:
    """Moran scatter plot (Anselin 1996) of ``var`` in ``year`` written to ``path`` (PNG, Agg backend).

    x = standardised value z, y = spatial lag Wz; the fitted line through the origin has slope
    ``z'Wz/z'z`` (= Moran's I for row-standardised W); quadrants labelled HH/LH/LL/HL with their counts.
    ``labels`` (city code → name) with ``label_top`` annotates the cities with the largest |I_i|.
    Returns Moran's I, its p-value and the quadrant counts.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from citynet.analysis.fonts import use_cjk_font

    use_cjk_font()
    ap = align_panel(panel, [var], w, id_col=id_col, time_col=time_col, years=[year])
    x = ap[var][0]
    g = moran_global(x, ap.w, permutations=0)
    loc = moran_local(x, ap.w, permutations=0)
    z, zl = loc["z"].to_numpy(), loc["lag_z"].to_numpy()
    slope = float(z @ zl / (z @ z))
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    ax.scatter(z, zl, s=12, alpha=0.7, color="tab:blue", edgecolor="none")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    xs = np.linspace(z.min(), z.max(), 2)
    ax.plot(xs, slope * xs, color="tab:red", lw=1.2)
    counts = loc["quadrant_label"].value_counts().to_dict()
    for lab, (hx, hy, ha, va) in {"HH": (0.98, 0.98, "right", "top"), "LH": (0.02, 0.98, "left", "top"),
                                   "LL": (0.02, 0.02, "left", "bottom"), "HL": (0.98, 0.02, "right", "bottom")}.items():
        ax.text(hx, hy, f"{lab} ({counts.get(lab, 0)})", transform=ax.transAxes, ha=ha, va=va, fontsize=10,
                fontweight="bold", color="dimgrey")
    if labels is not None and label_top:
        lab = pd.Series(labels)
        lab.index = lab.index.astype(str)
        top = np.argsort(-np.abs(loc["Is"].to_numpy()))[:label_top]
        for i in top:
            ax.annotate(str(lab.get(ap.w.codes[i], ap.w.codes[i])), (z[i], zl[i]), fontsize=7)
    ax.set_xlabel(f"{var} (standardised)")
    ax.set_ylabel(f"W · {var} (spatial lag)")
    ax.set_title(title or f"Moran scatter plot, {year}: I = {g['I']:.4f} (p = {g['p_norm']:.4f})")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return {"I": g["I"], "p_norm": g["p_norm"], "slope": slope, **{f"n_{k}": int(v) for k, v in counts.items()}}
