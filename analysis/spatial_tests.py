"""The table of spatial specification tests of paper 001's robustness section, as one spec kind.

Rows (each: statistic, degrees of freedom, χ² p-value):

- LM-lag, robust LM-lag, LM-error, robust LM-error of the non-spatial FE panel model (Anselin, Bera,
  Florax & Yoon 1996; panel forms of Elhorst 2014 §3.5; computed by
  :func:`citynet.analysis.spatial.lm_tests`);
- LR of the spatial Durbin model against the spatial lag model (H0 θ = 0, df k) and against the
  spatial error model (H0 θ = −ρβ, df k): ``LR = 2(ℓ_SDM − ℓ_restricted)``, and the Wald tests of the
  same restrictions (:func:`citynet.analysis.spatial.fit_sdm`);
- optionally the LR test of year fixed effects in the SDM with city FE (``LR = 2(ℓ_twoway − ℓ_city)``,
  df T−1; :func:`citynet.analysis.spatial.lr_time_effects`).

The decision rule of Elhorst (2014): if the (robust) LM tests reject the non-spatial model, estimate
the SDM; keep it if both LR (Wald) tests reject SAR and SEM.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from citynet.analysis.tables import Table, stars

LM_LABELS = {"LM_lag": "LM-lag", "robust_LM_lag": "Robust LM-lag", "LM_error": "LM-error",
             "robust_LM_error": "Robust LM-error"}


def spatial_tests(panel: pd.DataFrame, y: str, x: Sequence[str], w, *, fe: str = "city", lr: bool = True,
                  wald: bool = True, time_effects: bool = False, correction: str = "leeyu",
                  years: Sequence | None = None) -> pd.DataFrame:
    """LM and LR (and Wald) tests of one model, long format: ``test``, ``stat``, ``df``, ``pvalue``.

    ``fe``: ``city`` or ``twoway`` for the SDM; the LM tests use the same within transform.
    """
    from citynet.analysis import spatial as S

    x = list(x)
    rows = []
    lm = S.lm_tests(panel, y, x, w, fe=fe, years=years)
    for k in ("LM_lag", "robust_LM_lag", "LM_error", "robust_LM_error"):
        rows.append({"test": LM_LABELS[k], "stat": float(lm.loc[k, "stat"]), "df": 1,
                     "pvalue": float(lm.loc[k, "pvalue"])})
    if lr or wald:
        res = S.fit_sdm(panel, y, x, w, fe=fe, effects_draws=0, tests=True, correction=correction, years=years)
        if lr:
            for name, lab in (("SDM vs SAR (theta = 0)", "LR: SDM vs SAR"), ("SDM vs SEM (theta = -rho*beta)",
                                                                             "LR: SDM vs SEM")):
                r = res.lr_tests.loc[name]
                rows.append({"test": lab, "stat": float(r["stat"]), "df": int(r["df"]), "pvalue": float(r["pvalue"])})
        if wald:
            for name, lab in (("theta = 0", "Wald: SDM vs SAR"), ("theta + rho*beta = 0", "Wald: SDM vs SEM")):
                r = res.wald_tests.loc[name]
                rows.append({"test": lab, "stat": float(r["stat"]), "df": int(r["df"]), "pvalue": float(r["pvalue"])})
    if time_effects:
        t = S.lr_time_effects(panel, y, x, w, years=years)
        rows.append({"test": "LR: year FE (two-way vs city FE)", "stat": float(t["stat"]), "df": int(t["df"]),
                     "pvalue": float(t["pvalue"])})
    return pd.DataFrame(rows)


def spatial_test_table(tests: pd.DataFrame, *, title: str | None = None, digits: int = 3,
               notes: Sequence[str] = ()) -> Table:
    """The papers' layout: one row per test — statistic (with stars), df, p-value."""
    rows = [[r.test, f"{r.stat:.{digits}f}{stars(r.pvalue)}", str(int(r.df)), f"{r.pvalue:.{digits}f}"]
            for r in tests.itertuples()]
    return Table(header=["Test", "Statistic", "df", "p-value"], rows=rows, title=title,
                 notes=[*notes, "*** p<0.01, ** p<0.05, * p<0.10 (χ² reference distribution)."],
                 n_coef_rows=len(rows))
