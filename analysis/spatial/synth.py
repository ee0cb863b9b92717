"""Synthetic spatial Durbin panels with planted parameters (for tests and demonstrations)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .weights import SpatialWeights


def simulate_sdm_panel(
    w: SpatialWeights,
    T: int,  # noqa: N803
    beta: Sequence[float],
    theta: Sequence[float],
    rho: float,
    *,
    sigma: float = 1.0,
    city_sd: float = 1.0,
    year_sd: float = 0.0,
    x_city_corr: float = 0.5,
    seed: int = 0,
    years_from: int = 2006,
) -> pd.DataFrame:
    """Draw ``y_t = (I − ρW)^{-1}(X_t β + W X_t θ + η + α_t ι + ε_t)``, ε ~ N(0, σ²), η ~ N(0, city_sd²),
    α_t ~ N(0, year_sd²); regressors ``x1..xk`` correlated with η (so pooled OLS would be biased).
    Returns a long city-year panel (city_code, year, y, x1..xk)."""
    rng = np.random.default_rng(seed)
    n, k = w.n, len(beta)
    W = w.matrix
    eta = rng.normal(0, city_sd, n)
    alpha = rng.normal(0, year_sd, T)
    Ai = np.linalg.inv(np.eye(n) - rho * W)
    rows = []
    for t in range(T):
        X = rng.normal(size=(n, k)) + x_city_corr * eta[:, None]
        mu = X @ np.asarray(beta) + W @ X @ np.asarray(theta) + eta + alpha[t] + rng.normal(0, sigma, n)
        yv = Ai @ mu
        df = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(k)])
        df.insert(0, "y", yv)
        df.insert(0, "year", years_from + t)
        df.insert(0, "city_code", w.codes)
        rows.append(df)
    return pd.concat(rows, ignore_index=True)
