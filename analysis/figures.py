"""PNG figures (matplotlib, Agg backend): event study with 95% CI, placebo distribution.

Every figure is drawn with Noto Sans SC (``analysis.fonts``: installed with citynet, registered with
matplotlib directly), so Chinese labels and minus signs render on any machine. (The Moran scatter is
drawn by ``analysis.spatial``; maps of China by ``analysis.maps``.)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from citynet.analysis.fonts import use_cjk_font  # noqa: E402

use_cjk_font()


def event_study_plot(es, path: str | Path, title: str | None = None, ylabel: str | None = None) -> Path:
    """Coefficients by period relative to treatment with 95% CI; reference period at 0; dashed lines at 0."""
    c = es.coefficients()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.axvline(es.ref + 0.5, color="grey", lw=0.8, ls=":")
    ax.errorbar(c["rel_time"], c["coef"], yerr=[c["coef"] - c["ci_low"], c["ci_high"] - c["coef"]],
                fmt="o-", color="#1f4e79", ecolor="#6c8ebf", capsize=3, lw=1.2, ms=4)
    ax.set_xticks(c["rel_time"])
    ax.set_xticklabels(c["term"], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("period relative to treatment (reference: pre_1)")
    from citynet.metrics.labels import term_label

    ax.set_ylabel(ylabel or f"effect on {term_label(es.result.depvar)}")
    ax.set_title(title or "Event study (95% CI)")
    return save_figure(fig, path)


def placebo_plot(pl, path: str | Path, title: str | None = None) -> Path:
    """Histogram and kernel density of the placebo estimates against the real estimate."""
    from citynet.analysis.tables import fmt_number
    from scipy.stats import gaussian_kde

    d = pl.draws
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.hist(d, bins=40, density=True, color="#9dc3e6", edgecolor="white", label=f"placebo estimates (N={len(d)})")
    if len(d) > 2 and np.std(d) > 0:
        xs = np.linspace(min(d.min(), pl.estimate), max(d.max(), pl.estimate), 300)
        ax.plot(xs, gaussian_kde(d)(xs), color="#1f4e79", lw=1.2)
    ax.axvline(pl.estimate, color="#c00000", lw=1.5, ls="--", label=f"real estimate {fmt_number(pl.estimate)}")
    from citynet.analysis.tables import fmt_p
    from citynet.metrics.labels import term_label

    ax.set_xlabel(f"coefficient of {term_label(pl.term)}")
    ax.set_ylabel("density")
    p = fmt_p(pl.pvalue)
    ax.set_title(title or f"Placebo test (p {p if p.startswith('<') else '= ' + p})")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def save_figure(fig, path: str | Path) -> Path:
    """Lay out, write the PNG (creating its folder) and free the figure."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
