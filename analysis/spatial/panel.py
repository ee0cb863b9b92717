"""Aligning a city-year panel to the order of a weight matrix, and the fixed-effects transforms.

Spatial panel estimators need a balanced panel: every city of W in every year, no missing values in
the model's variables. :func:`align_panel` returns the variables as arrays of shape (T, N) — one row
per year, cities in W's order — or raises an error naming the missing city-years.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .weights import SpatialWeights


class UnbalancedPanelError(ValueError):
    """The panel is not balanced over the cities of W and the years (or has missing values)."""


@dataclass
class AlignedPanel:
    """Variables of a balanced panel as (T, N) arrays, cities in ``w.codes`` order."""

    data: dict[str, np.ndarray]
    years: list
    w: SpatialWeights
    notes: list[str]

    @property
    def T(self) -> int:  # noqa: N802
        return len(self.years)

    @property
    def N(self) -> int:  # noqa: N802
        return self.w.n

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]


def align_panel(
    panel: pd.DataFrame,
    columns: Sequence[str],
    w: SpatialWeights,
    *,
    id_col: str = "city_code",
    time_col: str = "year",
    years: Sequence | None = None,
    subset_w: bool = True,
) -> AlignedPanel:
    """Reshape ``panel[columns]`` to (T, N) arrays in W's city order.

    ``subset_w``: when the panel covers only some of W's cities (a 278-city sample against the full
    city set), restrict W to them (re-standardised from the raw weights) and record it in ``notes``;
    otherwise such cities count as missing. Cities of the panel absent from W are an error. Any missing
    (city, year) or missing value of a column raises :class:`UnbalancedPanelError` naming them.
    """
    columns = list(dict.fromkeys(columns))
    absent = [c for c in [id_col, time_col, *columns] if c not in panel.columns]
    if absent:
        raise KeyError(f"columns not in the panel: {absent}")
    p = panel[[id_col, time_col, *columns]].copy()
    p[id_col] = p[id_col].astype(str)
    if years is not None:
        p = p[p[time_col].isin(list(years))]
    if p.duplicated([id_col, time_col]).any():
        dup = p.loc[p.duplicated([id_col, time_col], keep=False), [id_col, time_col]].head(10)
        raise ValueError(f"duplicate city-years in the panel: {dup.to_records(index=False).tolist()}")
    notes: list[str] = []
    cities = set(p[id_col])
    not_in_w = sorted(cities - set(w.codes))
    if not_in_w:
        raise KeyError(f"{len(not_in_w)} cities of the panel are not in the weight matrix: {not_in_w[:10]}")
    if subset_w and len(cities) < w.n:
        kept = [c for c in w.codes if c in cities]
        notes.append(f"W restricted to the {len(kept)} panel cities (of {w.n}) and re-standardised")
        w = w.subset(kept)
    yrs = sorted(p[time_col].unique()) if years is None else list(years)
    full = pd.MultiIndex.from_product([yrs, w.codes], names=[time_col, id_col])
    q = p.set_index([time_col, id_col]).reindex(full)
    bad = q[columns].isna().any(axis=1)
    if bad.any():
        miss = q.index[bad]
        by_year = pd.Series(miss.get_level_values(0)).value_counts().sort_index()
        by_col = q.loc[bad, columns].isna().sum()
        raise UnbalancedPanelError(
            f"the spatial panel must be balanced: {int(bad.sum())} of {len(q)} city-years are missing or "
            f"have missing values (by year: {by_year.to_dict()}; by column: "
            f"{by_col[by_col > 0].to_dict()}); first: {list(miss[:10])}"
        )
    data = {c: q[c].to_numpy(float).reshape(len(yrs), w.n) for c in columns}
    return AlignedPanel(data=data, years=yrs, w=w, notes=notes)


def demean(a: np.ndarray, fe: str) -> np.ndarray:
    """Within transform of a (T, N[, k]) array: ``city`` subtracts the city means over time, ``time``
    the year means over cities, ``twoway`` both (``x_it − x̄_i − x̄_t + x̄``), ``none`` nothing."""
    a = np.asarray(a, float)
    if fe == "none":
        return a.copy()
    if fe == "city":
        return a - a.mean(axis=0, keepdims=True)
    if fe == "time":
        return a - a.mean(axis=1, keepdims=True)
    if fe == "twoway":
        return a - a.mean(axis=0, keepdims=True) - a.mean(axis=1, keepdims=True) + a.mean(axis=(0, 1), keepdims=True)
    raise ValueError(f"fe must be none, city, time or twoway, got {fe!r}")


def helmert_complement(n: int) -> np.ndarray:
    """An n×(n−1) matrix F with orthonormal columns orthogonal to ι (``F F' = I − ιι'/n``): the
    transformation of Lee & Yu (2010) that removes time effects."""
    f = np.zeros((n, n - 1))
    for j in range(1, n):
        f[:j, j - 1] = 1.0
        f[j, j - 1] = -j
        f[:, j - 1] /= np.sqrt(j * (j + 1))
    return f
