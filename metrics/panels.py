"""The three panels (city-year, dyad-year, network-year) from two tables: yearly city edges and city-year counts.

Pure functions — no store, no files — so that they can be tested on hand-made tables and fed by the
store (``graph.store.GraphStore.city_edges`` / ``city_year_counts``) or by the pandas reference
(``graph.reference``) alike.

Inputs
------
``edges``: ``network`` (``collab`` | ``transfer`` | ``citation``), ``year``, ``src``, ``dst``,
``weight`` — collab once per unordered pair (either order is accepted), transfer ``src`` = assignor's
city → ``dst`` = assignee's city, citation ``src`` = cited patent's city → ``dst`` = citing patent's
city (knowledge flows from the cited to the citing city). Rows with the same key are summed;
``src == dst`` rows are ignored (local activity is in the counts).

``counts``: ``city_code``, ``year`` and the count columns of ``COUNT_COLUMNS`` (only non-zero rows
need to be present).

``cities``: the city set (``etl.cities.city_set().cities``), in ``city_code`` order. N = its length is
the denominator of every normalisation.

Conventions
-----------
- Balanced panels: every city (pair) of the city set × every year of ``years``; counts and
  centralities of isolated cities are 0 (not missing), except Burt's constraint (NaN: undefined
  without contacts) and the churn of the first panel year (``<NA>``: year t−1 is unobserved).
- The filter (``NetworkFilter.key``) that produced the panels is file-level metadata
  (``DataFrame.attrs["citynet"]``), not a column; see ``metrics.pipeline``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from citynet.etl.cities import distance_matrix_km
from citynet.metrics import measures as M

NETWORKS = ("collab", "transfer", "citation")
DIRECTED = {"collab": False, "transfer": True, "citation": True}

COUNT_COLUMNS = (
    "green_patents", "collab_patents", "collab_patents_intraprov", "transfers_out", "transfers_in",
    "transfers_local", "transfers_other", "transfers_intraprov", "citations_made", "citations_received",
    "citations_foreign",
)
CHURN_COLUMNS = ("partners_continuing", "partners_new", "partners_exited")

# The contract columns, in contract order, then the documented extras.
CITY_YEAR_CONTRACT = (
    "city_code", "year", "green_patents", "collab_patents", "collab_partners", "collab_intensity",
    "collab_degree", "collab_betweenness", "partners_continuing", "partners_new", "partners_exited",
    "transfers_out", "transfers_in", "transfers_local", "transfers_other", "transfer_partners_out",
    "transfer_intensity_out", "transfer_outdegree", "transfer_indegree", "transfer_betweenness",
    "collab_patents_intraprov", "transfers_intraprov", "citations_made", "citations_received",
    "citations_foreign",
)
CITY_YEAR_EXTRA = (
    "collab_strength", "collab_betweenness_w", "collab_eigenvector", "collab_eigenvector_w",
    "collab_harmonic", "collab_harmonic_w", "collab_pagerank", "collab_clustering", "collab_coreness",
    "collab_constraint", "collab_community", "transfer_partners_in", "transfer_betweenness_w",
    "transfer_pagerank", "citation_indegree", "citation_outdegree",
)
CITY_YEAR_COLUMNS = CITY_YEAR_CONTRACT + CITY_YEAR_EXTRA
DYAD_YEAR_COLUMNS = (
    "city_a", "city_b", "year", "collab", "transfer_ab", "transfer_ba", "citations_ab", "citations_ba",
    "distance_km", "log_distance", "same_province",
)
NETWORK_YEAR_COLUMNS = (
    "network", "year", "nodes", "edges", "total_weight", "density", "components", "giant_share",
    "clustering", "mean_degree", "communities", "modularity",
)
INT_COLUMNS = COUNT_COLUMNS + ("collab_partners", "collab_strength", "transfer_partners_out",
                               "transfer_partners_in", "collab_coreness", "collab_community")


@dataclass
class Panels:
    city_year: pd.DataFrame
    dyad_year: pd.DataFrame
    network_year: pd.DataFrame


class CityIndex:
    """City codes ↔ positions 0..N−1 (``city_code`` order) and province of each position."""

    def __init__(self, cities: pd.DataFrame):
        c = cities.sort_values("city_code").reset_index(drop=True)
        self.codes = c["city_code"].astype(str).to_numpy()
        self.province = c["province_code"].astype(str).to_numpy()
        self.cities = c
        self.n = len(c)

    def positions(self, codes: pd.Series, what: str) -> np.ndarray:
        """Positions of ``codes`` in the city set (hash lookup); unknown codes are a ``DataError``."""
        import pyarrow as pa
        import pyarrow.compute as pc

        codes = pd.Series(codes).astype(str)
        arr = pa.Array.from_pandas(codes)
        if arr.type != pa.string():
            arr = arr.cast(pa.string())
        hit = pc.index_in(arr, value_set=pa.array(self.codes.astype(object), pa.string()))  # Arrow hash join
        pos = hit.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        if (pos < 0).any():
            from citynet.errors import DataError

            unknown = sorted(set(codes[pos < 0]))[:10]
            raise DataError(f"{what}: city codes outside the city set: {', '.join(unknown)}",
                            fix="rebuild the store from canonical tables located with the current city set")
        return pos.astype(np.int64)


class _Prepared:
    """Edges as integer arrays sorted by (network, year, a, b), duplicates summed, self-loops and
    non-positive weights dropped, collab as ``a < b``; graphs and Leiden partitions are built once per
    (network, year) and shared by the three panels."""

    def __init__(self, edges: pd.DataFrame | None, idx: CityIndex):
        self.idx, self.n = idx, idx.n
        n = np.int64(idx.n)
        if edges is None or len(edges) == 0:
            net = year = a = b = w = np.zeros(0, dtype=np.int64)
        else:
            net = pd.Categorical(edges["network"].astype(str), categories=list(NETWORKS)).codes.astype(np.int64)
            if (net < 0).any():
                bad = sorted(set(edges["network"].astype(str)) - set(NETWORKS))
                raise ValueError(f"unknown network(s) in city edges: {bad}")
            a = idx.positions(edges["src"], "city edges")
            b = idx.positions(edges["dst"], "city edges")
            year = edges["year"].to_numpy().astype(np.int64)
            w = edges["weight"].to_numpy().astype(np.int64)
            und = net == NETWORKS.index("collab")
            a, b = np.where(und, np.minimum(a, b), a), np.where(und, np.maximum(a, b), b)
            keep = (a != b) & (w > 0)
            net, year, a, b, w = net[keep], year[keep], a[keep], b[keep], w[keep]
        y0 = int(year.min()) if len(year) else 0
        span = np.int64(int(year.max()) - y0 + 1 if len(year) else 1)
        key = ((net * span + (year - y0)) * n + a) * n + b
        order = np.argsort(key, kind="stable")
        key, w = key[order], w[order]
        uniq, first = np.unique(key, return_index=True)
        self.w = np.add.reduceat(w, first) if len(w) else w
        self.b = uniq % n
        self.a = (uniq // n) % n
        group = uniq // (n * n)
        self.net = group // span
        self.year = group % span + y0
        gkeys, gstart = np.unique(group, return_index=True)
        gend = np.r_[gstart[1:], len(group)].astype(np.int64)[:len(gkeys)]  # (no edge: no group)
        self._slices = {(NETWORKS[int(g // span)], int(g % span + y0)): slice(int(s0), int(s1))
                        for g, s0, s1 in zip(gkeys, gstart, gend, strict=True)}
        self._graphs: dict[tuple[str, int], object] = {}
        self._leiden: dict[int, tuple[np.ndarray, float]] = {}

    def select(self, network: str | None = None, years=None):
        """``(net, year, a, b, w)`` arrays, optionally of one network and of some years."""
        m = np.ones(len(self.w), dtype=bool)
        if network is not None:
            m &= self.net == NETWORKS.index(network)
        if years is not None:
            m &= np.isin(self.year, np.asarray(list(years), dtype=np.int64))
        return self.net[m], self.year[m], self.a[m], self.b[m], self.w[m]

    def graph(self, network: str, year: int):
        k = (network, int(year))
        if k not in self._graphs:
            sl = self._slices.get(k, slice(0, 0))
            self._graphs[k] = M.build_graph(self.n, self.a[sl], self.b[sl], self.w[sl], DIRECTED[network])
        return self._graphs[k]

    def leiden(self, year: int) -> tuple[np.ndarray, float]:
        if year not in self._leiden:
            self._leiden[year] = M.leiden(self.graph("collab", year))
        return self._leiden[year]


def _take_codes(codes: np.ndarray, positions: np.ndarray) -> pd.Series:
    """``codes[positions]`` as a pandas ``str`` column, built in Arrow (no Python string objects)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.take(pa.array(codes, pa.large_string()), pa.array(positions))
    try:
        return pd.Series(pd.arrays.ArrowStringArray(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    except TypeError:  # pandas < 3
        return pd.Series(codes[positions])


def _bincount(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``out[index[k]] += values[k]`` for integer values (exact below 2**53), much faster than ``np.add.at``."""
    return np.rint(np.bincount(index, weights=values.astype(np.float64), minlength=size)).astype(np.int64)


def _scatter(n_years: int, n: int, yi: np.ndarray, ci: np.ndarray, values: np.ndarray, dtype) -> np.ndarray:
    return _bincount(yi * n + ci, values, n_years * n).astype(dtype)


def partner_churn(e: _Prepared, n: int, years: list[int], first_year: int) -> dict[str, np.ndarray]:
    """Partner churn of the collaboration network, vectorised over cities and years.

    For city i and year t with partner sets ``P_t(i)``: continuing ``X = |P_t ∩ P_{t−1}|``, new
    ``Z = |P_t \\ P_{t−1}|``, exited ``T = |P_{t−1} \\ P_t|`` (Sun & Yang's Xn, Zn, Tn; so
    ``Cn_t = X + Z`` and ``Cn_{t−1} = X + T``). For ``t == first_year`` (t−1 before the panel, so
    unobserved) all three are ``<NA>``. ``e`` must hold the collab edges of t−1 for every other t.
    Returns arrays of length ``len(years) * n`` in (year, city) order, ``pd.NA`` as a masked Int64.
    """
    _, yv, a, b, _ = e.select("collab")
    # both directions: (year, city, partner)
    y2, i2, j2 = np.r_[yv, yv], np.r_[a, b], np.r_[b, a]
    nn = np.int64(n) * n
    key = y2.astype(np.int64) * nn + i2 * n + j2
    prev_key = (y2.astype(np.int64) + 1) * nn + i2 * n + j2  # edge of year t−1 keyed as year t
    cont = np.isin(key, prev_key)  # partner in t that was a partner in t−1
    exited_flag = ~np.isin(prev_key, key)  # partner in t−1 (keyed at t) that is not a partner in t
    ypos = {int(y): k for k, y in enumerate(years)}
    out = {}
    n_years = len(years)
    lut_years = np.array(years, dtype=np.int64)

    def count(flag, year_of_row):
        keep = flag & np.isin(year_of_row, lut_years)
        yi = np.searchsorted(lut_years, year_of_row[keep])
        return _scatter(n_years, n, yi, i2[keep], np.ones(keep.sum(), dtype=np.int64), np.int64)

    partners = count(np.ones(len(key), bool), y2)
    out["partners_continuing"] = count(cont, y2)
    out["partners_new"] = partners - out["partners_continuing"]
    out["partners_exited"] = count(exited_flag, y2 + 1)
    mask = np.zeros(n_years * n, dtype=bool)
    if first_year in ypos:
        mask[ypos[first_year] * n:(ypos[first_year] + 1) * n] = True
    for k in years:
        if k < first_year:
            mask[ypos[k] * n:(ypos[k] + 1) * n] = True
    return {k: pd.arrays.IntegerArray(v, mask.copy()) for k, v in out.items()}


def city_year_panel(edges: pd.DataFrame, counts: pd.DataFrame | None, cities: pd.DataFrame, years,
                    first_year: int | None = None, *, _clean: _Prepared | None = None,
                    progress=None) -> pd.DataFrame:
    """The city-year panel: one row per city of the city set and year of ``years``.

    Parameters
    ----------
    edges, counts, cities : see the module docstring. ``edges`` may hold other years (e.g. t−1).
    years : the panel years (rows are produced for exactly these).
    first_year : the first year of the whole panel (default ``min(years)``); churn is ``<NA>`` there.
        A refresh of later years passes the existing panel's first year so that a refreshed year gets
        the same churn as in a full run.

    Columns (N = ``len(cities)``; every network over all N cities):

    - counts from ``counts`` (``COUNT_COLUMNS``), 0 when absent;
    - ``collab_partners`` = degree k_i of the collaboration graph; ``collab_strength`` = Σ_j w_ij;
      ``collab_intensity`` = strength / partners (0 when none); ``collab_degree`` = k_i/(N−1);
    - ``collab_betweenness`` = undirected unweighted betweenness / ((N−1)(N−2)/2); ``_w``: lengths 1/w;
    - ``partners_continuing/new/exited``: see ``partner_churn``;
    - ``transfer_partners_out`` / ``_in`` = distinct destinations / origins; ``transfer_intensity_out``
      = out-strength / destinations (0 when none); ``transfer_outdegree``/``indegree`` = those / (N−1);
      ``transfer_betweenness`` = directed unweighted / ((N−1)(N−2)), ``_w``: lengths 1/w;
      ``transfer_pagerank``: weighted, along assignor → assignee;
    - ``collab_eigenvector`` (``_w`` weighted), ``collab_harmonic`` (``_w``: lengths 1/w),
      ``collab_pagerank`` (weighted), ``collab_clustering``, ``collab_coreness``, ``collab_constraint``
      (weighted; NaN for isolates), ``collab_community`` (Leiden, weighted; 0 for isolates): see
      ``metrics.measures``;
    - ``citation_indegree`` = cities whose patents the city cites / (N−1) (knowledge sources);
      ``citation_outdegree`` = cities citing the city / (N−1).
    """
    idx = CityIndex(cities)
    n = idx.n
    years = sorted(int(y) for y in years)
    first_year = min(years) if first_year is None else int(first_year)
    e = _clean if _clean is not None else _Prepared(edges, idx)
    ny = len(years)
    rows = ny * n
    data: dict[str, object] = {
        "city_code": np.tile(idx.codes, ny),
        "year": np.repeat(np.array(years, dtype=np.int16), n),
    }
    # counts
    cnt = {c: np.zeros(rows, dtype=np.int64) for c in COUNT_COLUMNS}
    if counts is not None and len(counts):
        cy = counts[counts["year"].astype(int).isin(years)]
        if len(cy):
            ci = idx.positions(cy["city_code"], "city-year counts")
            yi = np.searchsorted(np.array(years), cy["year"].astype(int).to_numpy())
            for c in COUNT_COLUMNS:
                if c in cy.columns:
                    vals = cy[c].fillna(0).to_numpy().astype(np.int64)
                    cnt[c] += _bincount(yi * n + ci, vals, rows)
    f = {}
    # collaboration (undirected)
    keys = ("collab_partners", "collab_strength", "collab_degree", "collab_betweenness", "collab_betweenness_w",
            "collab_eigenvector", "collab_eigenvector_w", "collab_harmonic", "collab_harmonic_w",
            "collab_pagerank", "collab_clustering", "collab_coreness", "collab_constraint", "collab_community",
            "transfer_partners_out", "transfer_partners_in", "transfer_strength_out", "transfer_outdegree",
            "transfer_indegree", "transfer_betweenness", "transfer_betweenness_w", "transfer_pagerank",
            "citation_indegree", "citation_outdegree")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for y in years:
        g = e.graph("collab", y)
        parts["collab_partners"].append(np.asarray(g.degree(), dtype=np.int64))
        parts["collab_strength"].append(np.asarray(g.strength(weights="weight"), dtype=float).round().astype(np.int64))
        parts["collab_degree"].append(M.degree_centrality(g))
        parts["collab_betweenness"].append(M.betweenness(g))
        parts["collab_betweenness_w"].append(M.betweenness(g, weighted=True))
        parts["collab_eigenvector"].append(M.eigenvector(g))
        parts["collab_eigenvector_w"].append(M.eigenvector(g, weighted=True))
        parts["collab_harmonic"].append(M.harmonic_closeness(g))
        parts["collab_harmonic_w"].append(M.harmonic_closeness(g, weighted=True))
        parts["collab_pagerank"].append(M.pagerank(g))
        parts["collab_clustering"].append(M.clustering(g))
        parts["collab_coreness"].append(M.coreness(g).astype(np.int64))
        parts["collab_constraint"].append(M.constraint(g))
        parts["collab_community"].append(e.leiden(y)[0])
        t = e.graph("transfer", y)
        parts["transfer_partners_out"].append(np.asarray(t.degree(mode="out"), dtype=np.int64))
        parts["transfer_partners_in"].append(np.asarray(t.degree(mode="in"), dtype=np.int64))
        parts["transfer_strength_out"].append(np.asarray(t.strength(mode="out", weights="weight"), dtype=float))
        parts["transfer_outdegree"].append(M.degree_centrality(t, "out"))
        parts["transfer_indegree"].append(M.degree_centrality(t, "in"))
        parts["transfer_betweenness"].append(M.betweenness(t))
        parts["transfer_betweenness_w"].append(M.betweenness(t, weighted=True))
        parts["transfer_pagerank"].append(M.pagerank(t))
        q = e.graph("citation", y)
        parts["citation_indegree"].append(M.degree_centrality(q, "in"))
        parts["citation_outdegree"].append(M.degree_centrality(q, "out"))
        if progress is not None:  # city-years whose network measures are done
            progress(len(parts["citation_outdegree"]) * n)
    for k, v in parts.items():
        f[k] = np.concatenate(v) if v else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["collab_intensity"] = np.where(f["collab_partners"] > 0, f["collab_strength"] / np.maximum(f["collab_partners"], 1), 0.0)
        f["transfer_intensity_out"] = np.where(f["transfer_partners_out"] > 0,
                                               f["transfer_strength_out"] / np.maximum(f["transfer_partners_out"], 1), 0.0)
    churn = partner_churn(e, n, years, first_year)
    data.update(cnt)
    data.update(f)
    data.update(churn)
    out = pd.DataFrame({c: data[c] for c in CITY_YEAR_COLUMNS})
    return out


def dyad_year_panel(edges: pd.DataFrame, cities: pd.DataFrame, years, *, _clean: _Prepared | None = None) -> pd.DataFrame:
    """The dyad-year panel: every unordered pair ``city_a < city_b`` of the city set × every year.

    ``collab`` = joint patents of the pair; ``transfer_ab`` = transfers a → b, ``transfer_ba`` = b → a;
    ``citations_ab`` = knowledge flow a → b (citations by b's patents of a's patents), ``citations_ba``
    the reverse; zeros included. ``distance_km``: haversine great-circle distance
    (``etl.cities.distance_matrix_km``, R = 6371.0088 km); ``log_distance = ln(distance_km)``;
    ``same_province``: 1 when both cities share ``province_code`` (int8).

    Rows are built by index arithmetic: pair (i, j), i < j, has position
    ``k = i(2N − i − 1)/2 + (j − i − 1)`` in ``numpy.triu_indices(N, 1)`` order; row = year × P + k.
    """
    idx = CityIndex(cities)
    n = idx.n
    years = sorted(int(y) for y in years)
    ny = len(years)
    ia, ib = np.triu_indices(n, 1)
    p = len(ia)
    e = _clean if _clean is not None else _Prepared(edges, idx)
    net_id, ey, a, b, w = e.select(years=years)
    yi = np.searchsorted(np.array(years), ey)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    k = lo * (2 * n - lo - 1) // 2 + (hi - lo - 1)
    row = yi.astype(np.int64) * p + k
    net = np.asarray(NETWORKS, dtype=object)[net_id]
    cols = {}
    for name, sel in (
        ("collab", net == "collab"),
        ("transfer_ab", (net == "transfer") & (a < b)),
        ("transfer_ba", (net == "transfer") & (a > b)),
        ("citations_ab", (net == "citation") & (a < b)),
        ("citations_ba", (net == "citation") & (a > b)),
    ):
        cols[name] = _bincount(row[sel], w[sel], ny * p)
    dist = distance_matrix_km(idx.cities)[ia, ib]
    same = (idx.province[ia] == idx.province[ib]).astype(np.int8)
    out = pd.DataFrame({
        "city_a": _take_codes(idx.codes, np.tile(ia, ny)),
        "city_b": _take_codes(idx.codes, np.tile(ib, ny)),
        "year": np.repeat(np.array(years, dtype=np.int16), p),
        **cols,
        "distance_km": np.tile(dist, ny),
        "log_distance": np.tile(np.log(dist), ny),
        "same_province": np.tile(same, ny),
    })
    return out


def network_year_panel(edges: pd.DataFrame, cities: pd.DataFrame, years, *, _clean: _Prepared | None = None) -> pd.DataFrame:
    """Per network and year: ``metrics.measures.graph_summary`` over the N cities, plus ``communities``
    and ``modularity`` of the weighted Leiden partition for ``collab`` (NaN for directed networks)."""
    idx = CityIndex(cities)
    years = sorted(int(y) for y in years)
    e = _clean if _clean is not None else _Prepared(edges, idx)
    rows = []
    for net in NETWORKS:
        for y in years:
            s = M.graph_summary(e.graph(net, y))
            if net == "collab":
                labels, q = e.leiden(y)
                s["communities"], s["modularity"] = int(labels.max()), q
            else:
                s["communities"], s["modularity"] = pd.NA, np.nan
            rows.append({"network": net, "year": y, **s})
    out = pd.DataFrame(rows, columns=list(NETWORK_YEAR_COLUMNS))
    out["year"] = out["year"].astype(np.int16)
    out["communities"] = out["communities"].astype("Int64")
    return out


def compute_panels(edges: pd.DataFrame, counts: pd.DataFrame | None, cities: pd.DataFrame, years,
                   first_year: int | None = None, progress=None) -> Panels:
    """All three panels for ``years`` (see ``city_year_panel``, ``dyad_year_panel``, ``network_year_panel``).
    ``progress(city_years_done)`` is called after each year's network measures."""
    idx = CityIndex(cities)
    clean = _Prepared(edges, idx)
    return Panels(
        city_year=city_year_panel(edges, counts, cities, years, first_year, _clean=clean, progress=progress),
        dyad_year=dyad_year_panel(edges, cities, years, _clean=clean),
        network_year=network_year_panel(edges, cities, years, _clean=clean),
    )
