"""One results object for every estimator, so that tables, JSON and the report treat all models alike.

Estimators (FE OLS, PPML, 2SLS, 3SLS equations, DID, spatial Durbin, gravity, …) return a
``FitResult``; ``analysis.tables`` lays several of them side by side in the papers' layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class FitResult:
    """Coefficients, standard errors and the facts a paper's table reports about one model."""

    depvar: str
    params: pd.Series
    se: pd.Series
    nobs: int
    model: str = "ols"  # ols, ppml, 2sls, 3sls, sdm, did, event_study, ...
    pvalues: pd.Series | None = None
    r2: float | None = None
    adj_r2: float | None = None
    r2_within: float | None = None
    fixed_effects: list[str] = field(default_factory=list)
    vcov: str = "iid"  # iid, hc1, cluster:<var>, ...
    df_resid: float | None = None  # None: normal reference distribution
    stats: dict[str, float] = field(default_factory=dict)  # rho, KP rk F, log-likelihood, ...
    name: str | None = None  # column title in a table
    notes: list[str] = field(default_factory=list)
    raw: Any = None  # the underlying library object, when there is one

    def __post_init__(self) -> None:
        self.params = pd.Series(self.params, dtype=float)
        self.se = pd.Series(self.se, dtype=float).reindex(self.params.index)
        if self.pvalues is None:
            t = self.params / self.se
            if self.df_resid:
                p = 2 * stats.t.sf(np.abs(t), self.df_resid)
            else:
                p = 2 * stats.norm.sf(np.abs(t))
            self.pvalues = pd.Series(p, index=self.params.index)
        else:
            self.pvalues = pd.Series(self.pvalues, dtype=float).reindex(self.params.index)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = 1 - (1 - level) / 2
        crit = stats.t.ppf(q, self.df_resid) if self.df_resid else stats.norm.ppf(q)
        return pd.DataFrame(
            {"ci_low": self.params - crit * self.se, "ci_high": self.params + crit * self.se},
            index=self.params.index,
        )

    def to_json(self) -> dict[str, Any]:
        """The object printed by ``citynet fit --json``, plus model facts."""
        ci = self.conf_int()
        coefs = {
            name: {
                "coef": float(self.params[name]),
                "se": float(self.se[name]),
                "ci_low": float(ci.loc[name, "ci_low"]),
                "ci_high": float(ci.loc[name, "ci_high"]),
                "pvalue": float(self.pvalues[name]),
            }
            for name in self.params.index
        }
        out: dict[str, Any] = {"nobs": int(self.nobs), "coefficients": coefs}
        out.update(
            {
                "model": self.model,
                "depvar": self.depvar,
                "fixed_effects": list(self.fixed_effects),
                "vcov": self.vcov,
                "r2": self.r2,
                "adj_r2": self.adj_r2,
                "stats": {k: float(v) for k, v in self.stats.items()},
                "notes": list(self.notes),  # what the table notes say: drops, retries, warnings
            }
        )
        return out
