"""Composite indices: the entropy-weight method and principal components.

Entropy weights (the form of METHODS.md / paper 004's "熵值法", pooled over years by default): for
indicator j and observation (i, t) — m = n·T rows when pooled —

    x'_ij = (x_ij − min_j)/(max_j − min_j)      (positive indicator)
    x'_ij = (max_j − x_ij)/(max_j − min_j)      (negative indicator: reversed min–max)
    p_ij  = x'_ij / Σ_i x'_ij,   e_j = −(1/ln m) Σ_i p_ij ln p_ij  (0·ln 0 = 0)
    w_j   = (1 − e_j) / Σ_j (1 − e_j),   index_i = Σ_j w_j x'_ij

(``shift`` adds a small constant to x' before the entropy step — 0.0001 or 0.01 in parts of the
literature — to avoid log(0); the default 0 uses the 0·ln 0 = 0 convention instead.) With
``pooled=False`` the normalisation and weights are computed within each group of ``by`` (year by year).

PCA index: indicators standardised (z-scores, sample s.d.), eigen-decomposition of their correlation
matrix; components kept by ``n_components`` (an integer, ``'kaiser'`` = eigenvalue > 1, or a cumulative
variance share in (0, 1)); each component's sign is set so that its score correlates positively with
the mean of the standardised inputs; the index is the variance-share-weighted sum of the kept scores,
``F = Σ_k (λ_k / Σ_kept λ) F_k`` (the usual composite of the applied literature).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class CompositeIndex:
    """An index (aligned with the input rows) and the weights of its indicators; unpacks as
    ``index, weights``."""

    index: pd.Series
    weights: pd.Series | pd.DataFrame
    details: dict = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        return iter((self.index, self.weights))


def _minmax(x: pd.DataFrame, negative: set[str]) -> pd.DataFrame:
    lo, hi = x.min(), x.max()
    rng = hi - lo
    const = rng.index[rng == 0].tolist()
    if const:
        raise ValueError(f"indicators without variation cannot be min–max normalised: {const}")
    out = (x - lo) / rng
    for c in negative:
        out[c] = (hi[c] - x[c]) / rng[c]
    return out


def _entropy(xn: pd.DataFrame, shift: float) -> tuple[pd.Series, pd.Series]:
    v = xn.to_numpy(float) + shift
    m = v.shape[0]
    if m < 2:
        raise ValueError("the entropy method needs at least two observations")
    p = v / v.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    e = -plogp.sum(axis=0) / np.log(m)
    d = 1 - e
    w = d / d.sum()
    return pd.Series(e, index=xn.columns), pd.Series(w, index=xn.columns)


def entropy_weight_index(
    df: pd.DataFrame,
    columns: Sequence[str],
    negative: Sequence[str] = (),
    pooled: bool = True,
    by: str = "year",
    *,
    shift: float = 0.0,
) -> CompositeIndex:
    """Entropy-weight composite index of ``columns`` (formulas in the module docstring).

    Returns a :class:`CompositeIndex`: ``index`` (Series on ``df.index``), ``weights`` (Series over
    ``columns`` when pooled; a DataFrame by ``by`` × column otherwise), and ``details`` with the entropies
    and the normalised indicators. Rows with a missing indicator are an error (say which).
    """
    columns = list(columns)
    negative_set = set(negative)
    unknown = negative_set - set(columns)
    if unknown:
        raise ValueError(f"negative indicators not among columns: {sorted(unknown)}")
    x = df[columns].astype(float)
    if x.isna().any().any():
        raise ValueError(f"missing values in indicators: {x.isna().sum()[x.isna().sum() > 0].to_dict()}")
    if pooled:
        xn = _minmax(x, negative_set)
        e, w = _entropy(xn, shift)
        idx = xn @ w
        return CompositeIndex(idx.rename("entropy_index"), w.rename("weight"),
                              {"entropy": e, "normalised": xn, "pooled": True})
    parts, weights, ents = [], {}, {}
    norm = []
    for g, sub in x.groupby(df[by], sort=True):
        xn = _minmax(sub, negative_set)
        e, w = _entropy(xn, shift)
        parts.append(xn @ w)
        norm.append(xn)
        weights[g], ents[g] = w, e
    idx = pd.concat(parts).reindex(df.index)
    return CompositeIndex(idx.rename("entropy_index"), pd.DataFrame(weights).T.rename_axis(by),
                          {"entropy": pd.DataFrame(ents).T.rename_axis(by),
                           "normalised": pd.concat(norm).reindex(df.index), "pooled": False})


def pca_index(
    df: pd.DataFrame,
    columns: Sequence[str],
    n_components: int | float | str = 1,
    *,
    negative: Sequence[str] = (),
) -> CompositeIndex:
    """Principal-component composite index of ``columns`` (module docstring).

    ``negative`` indicators are multiplied by −1 before standardising. Returns ``index``; ``weights`` =
    the implied weight of each standardised indicator in the index (Σ_k share_k · loading_jk); ``details``:
    ``eigenvalues``, ``explained_variance_ratio``, ``loadings`` (eigenvectors, sign-aligned), ``scores``,
    ``n_components``.
    """
    columns = list(columns)
    x = df[columns].astype(float).copy()
    if x.isna().any().any():
        raise ValueError(f"missing values in indicators: {x.isna().sum()[x.isna().sum() > 0].to_dict()}")
    for c in negative:
        x[c] = -x[c]
    sd = x.std(ddof=1)
    if (sd == 0).any():
        raise ValueError(f"indicators without variation: {sd.index[sd == 0].tolist()}")
    z = (x - x.mean()) / sd
    corr = np.corrcoef(z.to_numpy().T) if len(columns) > 1 else np.ones((1, 1))
    lam, vec = np.linalg.eigh(corr)
    order = np.argsort(lam)[::-1]
    lam, vec = lam[order], vec[:, order]
    ratio = lam / lam.sum()
    if isinstance(n_components, str):
        if n_components != "kaiser":
            raise ValueError("n_components: an integer, 'kaiser' or a variance share in (0, 1)")
        k = max(int((lam > 1).sum()), 1)
    elif isinstance(n_components, float) and 0 < n_components < 1:
        k = int(np.searchsorted(np.cumsum(ratio), n_components - 1e-12) + 1)
    else:
        k = int(n_components)
    if not 1 <= k <= len(columns):
        raise ValueError(f"n_components must be between 1 and {len(columns)}")
    zm = z.to_numpy()
    scores = zm @ vec[:, :k]
    mean_z = zm.mean(axis=1)
    for j in range(k):
        if np.cov(scores[:, j], mean_z)[0, 1] < 0:
            scores[:, j] *= -1
            vec[:, j] *= -1
    share = lam[:k] / lam[:k].sum()
    idx = pd.Series(scores @ share, index=df.index, name="pca_index")
    weights = pd.Series(vec[:, :k] @ share, index=columns, name="weight")
    pcs = [f"PC{j + 1}" for j in range(k)]
    return CompositeIndex(idx, weights, {
        "eigenvalues": pd.Series(lam, index=[f"PC{j + 1}" for j in range(len(lam))]),
        "explained_variance_ratio": pd.Series(ratio, index=[f"PC{j + 1}" for j in range(len(lam))]),
        "loadings": pd.DataFrame(vec[:, :k], index=columns, columns=pcs),
        "scores": pd.DataFrame(scores, index=df.index, columns=pcs),
        "n_components": k,
    })
