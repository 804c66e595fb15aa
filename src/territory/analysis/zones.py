"""Zones: their centres, the 1 km grid over a territory, loading them, attributing cells.

Zones are QPV, communes or 1 km cells (EPSG:3035 grid, see :mod:`territory.grid`) given
as a GeoDataFrame in any declared CRS, with a unique ``code`` column. Distances are
measured in Lambert-93 (:data:`territory.crs.METRIC_CRS`) from the **centre** of each
zone (its centroid, or a point on its surface when the centroid falls outside it).

Examples
--------
>>> import geopandas as gpd, shapely
>>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=METRIC_CRS)
>>> zone_centres(z).iloc[0].wkt
'POINT (5 5)'
"""

from __future__ import annotations

import math
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer

from territory._errors import CRSError, ValidationError, WorkspaceError
from territory.crs import GRID_CRS, METRIC_CRS
from territory.grid import cell_ids, parse_ids
from territory.store import Workspace
from territory.territories import is_whole, resolve

__all__ = [
    "ZONE_KINDS",
    "ZONE_KIND_LABELS",
    "ZoneKind",
    "cell_zones",
    "cells_in_zones",
    "grid_coords",
    "load_zones",
    "metric_geometries",
    "nearest",
    "points",
    "zone_centres",
    "zones_of_cells",
]

ZoneKind = Literal["commune", "qpv", "cell"]
ZONE_KINDS: tuple[ZoneKind, ...] = ("commune", "qpv", "cell")
ZONE_KIND_LABELS: dict[str, str] = {
    "commune": "Communes",
    "qpv": "Quartiers prioritaires (QPV)",
    "cell": "Carreaux de 1 km",
}

_TO_METRIC_FROM_GRID = Transformer.from_crs(GRID_CRS, METRIC_CRS, always_xy=True)

# ------------------------------------------------------------------------------ geometry


def metric_geometries(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> npt.NDArray[np.object_]:
    """Geometries in Lambert-93 as a shapely array (CRS required)."""
    if gdf.crs is None:
        raise CRSError(
            f"{what} sans système de coordonnées : déclarez-le (par ex. EPSG:4326 ou "
            f"EPSG:2154) ; les distances sont calculées en {METRIC_CRS}"
        )
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if not geoms.crs.equals(METRIC_CRS):
        geoms = geoms.to_crs(METRIC_CRS)
    return np.asarray(geoms.to_numpy(), dtype=object)


def points(
    gdf: gpd.GeoDataFrame, what: str
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Metric points and the mask of rows that have one (partners may await geocoding)."""
    geoms = metric_geometries(gdf, what)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return geoms, ok


def zone_centres(zones: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Centre of each zone in Lambert-93.

    Its centroid, or a point on its surface when the centroid falls outside (a
    crescent-shaped commune).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=METRIC_CRS)
    >>> zone_centres(z).iloc[0].wkt
    'POINT (5 5)'
    """
    geoms = metric_geometries(zones, "zones")
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all():  # points: their own centre
        return gpd.GeoSeries(geoms, index=zones.index, crs=METRIC_CRS)
    centroid = shapely.centroid(geoms)
    inside = shapely.covers(geoms, centroid)
    centre = np.where(inside, centroid, shapely.point_on_surface(geoms))
    return gpd.GeoSeries(centre, index=zones.index, crs=METRIC_CRS)


def nearest(
    origins: npt.NDArray[np.object_], targets: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Distance to, and position of, the nearest target of each origin (inf / -1 if none)."""
    dist = np.full(len(origins), np.inf)
    which = np.full(len(origins), -1, dtype=np.int64)
    if len(targets) == 0 or len(origins) == 0:
        return dist, which
    tree = shapely.STRtree(targets)
    pairs, d = tree.query_nearest(origins, return_distance=True, all_matches=False)
    dist[pairs[0]] = d
    which[pairs[0]] = pairs[1]
    return dist, which


def grid_coords(
    cells: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Resolution, east and north (m) of grid ids.

    A fast path for well-formed ids (as stored by the importer),
    :func:`territory.grid.parse_ids` (with its error) otherwise.
    """
    n = len(cells)
    fixed = _fixed_width_coords(cells)
    if fixed is not None:
        return fixed
    res, east, north = np.empty(n), np.empty(n), np.empty(n)
    try:
        for i, text in enumerate(cells):
            a = text.index("RES") + 3
            m = text.index("mN", a)
            e = text.index("E", m)
            res[i], north[i], east[i] = int(text[a:m]), int(text[m + 2 : e]), int(text[e + 1 :])
    except (ValueError, AttributeError, TypeError):
        parsed = parse_ids(pd.Series(cells, dtype=object))
        return (
            parsed["resolution"].to_numpy(float),
            parsed["east"].to_numpy(float),
            parsed["north"].to_numpy(float),
        )
    return res, east, north


_FIXED_PREFIX = "CRS3035RES200mN"
_FIXED_WIDTH = len(_FIXED_PREFIX) + 7 + 1 + 7  # north and east of 7 digits (mainland)


def _fixed_width_coords(
    cells: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """Vectorised parse of 200 m ids of the usual width (None when any id differs)."""
    if len(cells) == 0:
        return None
    try:
        lengths = set(map(len, cells))
    except TypeError:
        return None
    if lengths != {_FIXED_WIDTH}:  # a longer id would be truncated by the cast below
        return None
    text = np.asarray(cells, dtype=f"<U{_FIXED_WIDTH}")
    codes = text.view(np.uint32).reshape(len(text), _FIXED_WIDTH)
    prefix = np.frombuffer(_FIXED_PREFIX.encode("utf-32-le"), dtype=np.uint32)
    p = len(_FIXED_PREFIX)
    digits = codes[:, p:].astype(np.int64) - ord("0")
    north_d, east_d = digits[:, :7], digits[:, 8:]
    ok = (
        (codes[:, :p] == prefix).all()
        and (codes[:, p + 7] == ord("E")).all()
        and ((north_d >= 0) & (north_d <= 9)).all()
        and ((east_d >= 0) & (east_d <= 9)).all()
    )
    if not ok:
        return None
    powers = 10 ** np.arange(6, -1, -1, dtype=np.int64)
    north = (north_d @ powers).astype(float)
    east = (east_d @ powers).astype(float)
    return np.full(len(cells), 200.0), east, north


def cells_in_zones(
    cells: npt.NDArray[np.object_], zones: gpd.GeoDataFrame, *, kind: ZoneKind
) -> npt.NDArray[np.object_]:
    """Zone code of each 200 m cell id (None outside every zone).

    The rule contacts are attributed by: for 1 km cells, the parent of the 200 m cell;
    for QPV (and any other polygons), the zone holding the 200 m cell's centre. Communes
    are not handled here: a contact's commune is stored with it.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame({"code": ["CRS3035RES1000mN2890000E3775000"]}, geometry=[None])
    >>> cells_in_zones(np.array(["CRS3035RES200mN2890000E3775400",
    ...     "CRS3035RES200mN2891000E3775400"], dtype=object), z, kind="cell").tolist()
    ['CRS3035RES1000mN2890000E3775000', None]
    """
    return zones_of_cells(grid_coords(np.asarray(cells, dtype=object)), zones, kind)


def zones_of_cells(
    coords: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
    zones: gpd.GeoDataFrame,
    kind: ZoneKind,
) -> npt.NDArray[np.object_]:
    """:func:`cells_in_zones` of cells already parsed by :func:`grid_coords`.

    Parse once, attribute to several zone sets.
    """
    res, east, north = coords
    codes = zones["code"].astype(str).to_numpy(dtype=object)
    out = np.full(len(res), None, dtype=object)
    if len(res) == 0:
        return out
    if kind == "cell":
        if (res > 1000).any():
            raise ValidationError("carreaux de plus de 1 km : pas de parent à 1 km")
        parents = cell_ids(east, north, resolution=1000).astype(object)
        pos = pd.Index(codes).get_indexer(parents)
        out[pos >= 0] = codes[pos[pos >= 0]]
        return out
    x, y = _TO_METRIC_FROM_GRID.transform(east + res / 2, north + res / 2)
    points = shapely.points(x, y)
    pi, zi = shapely.STRtree(metric_geometries(zones, "zones")).query(points, predicate="within")
    first = ~pd.Series(pi).duplicated().to_numpy()
    out[pi[first]] = codes[zi[first]]
    return out


# ------------------------------------------------------------------------------ zones


def cell_zones(communes: gpd.GeoDataFrame, *, resolution: int = 1000) -> gpd.GeoDataFrame:
    """The grid cells (EPSG:3035) that overlap the communes.

    Each cell is named after the commune under its centre.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:3035 squares with ``code`` (INSEE grid id) and ``nom``.
    """
    grid = communes.to_crs(GRID_CRS)
    geoms = np.asarray(grid.geometry.to_numpy(), dtype=object)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    xs = np.arange(math.floor(xmin / resolution) * resolution, xmax, resolution)
    ys = np.arange(math.floor(ymin / resolution) * resolution, ymax, resolution)
    mesh_x, mesh_y = np.meshgrid(xs, ys)
    ex, ny = mesh_x.ravel(), mesh_y.ravel()
    boxes = shapely.box(ex, ny, ex + resolution, ny + resolution)
    tree = shapely.STRtree(geoms)
    bi, _ = tree.query(boxes, predicate="intersects")
    keep = np.unique(bi)
    # Drop squares that only touch the territory's outline.
    union = shapely.coverage_union_all(geoms) if len(geoms) else shapely.Polygon()
    shapely.prepare(union)
    overlap = shapely.intersects(union, boxes[keep]) & ~shapely.touches(union, boxes[keep])
    keep = keep[overlap]
    centres = shapely.points(ex[keep] + resolution / 2, ny[keep] + resolution / 2)
    ci, com = tree.query(centres, predicate="within")
    names = np.full(len(keep), "", dtype=object)
    first = ~pd.Series(ci).duplicated().to_numpy()
    nom = communes["nom"].astype(str).to_numpy(dtype=object) if "nom" in communes else None
    if nom is not None:
        names[ci[first]] = nom[com[first]]
    codes = cell_ids(ex[keep] + 1, ny[keep] + 1, resolution=resolution).astype(object)
    label = np.where(names != "", "Carreau 1 km – " + names.astype(str), "Carreau 1 km")
    return gpd.GeoDataFrame(
        {"code": codes, "nom": label}, geometry=boxes[keep], crs=GRID_CRS
    ).astype({"code": "str", "nom": "str"})


def load_zones(
    ws: Workspace,
    kind: ZoneKind,
    *,
    territory: str | None = None,
    communes: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """The zones of a territory: its communes, its QPV (latest generation) or 1 km cells.

    Parameters
    ----------
    ws
        The workspace.
    kind
        ``"commune"``, ``"qpv"`` or ``"cell"``.
    territory
        A defined territory (``None``: the whole workspace).
    communes
        The ``communes`` layer if already read (avoids reading it again).

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``nom`` and geometry; communes keep ``population``, ``densite`` and
        ``densite_libelle``. Raises :class:`WorkspaceError` when a layer is missing.
    """
    if kind not in ("commune", "qpv", "cell"):
        raise ValidationError(f"type de zone inconnu « {kind} » (attendu : commune, qpv, cell)")
    if communes is None:
        if not ws.has("communes"):
            raise WorkspaceError(
                "aucune commune dans l'espace de travail : importez d'abord les communes"
            )
        communes = ws.read_layer("communes")
    scope = None if is_whole(territory) else resolve(ws, territory)
    inside = communes if scope is None else communes[communes["code"].isin(scope)]
    inside = inside.reset_index(drop=True)
    if kind == "commune":
        return inside
    if kind == "cell":
        return cell_zones(inside)
    if not ws.has("qpv"):
        raise WorkspaceError("aucun QPV dans l'espace de travail : importez la couche qpv")
    qpv = ws.read_layer("qpv")
    if "generation" in qpv and qpv["generation"].notna().any():
        latest = pd.to_numeric(qpv["generation"], errors="coerce").max()
        qpv = qpv[pd.to_numeric(qpv["generation"], errors="coerce") == latest]
    if scope is not None:
        linked = (
            qpv["communes"]
            .fillna("")
            .map(lambda text: bool(scope & {c.strip() for c in str(text).split(",")}))
            .to_numpy(dtype=bool)
        )
        area = shapely.union_all(inside.geometry.to_numpy())
        centre = shapely.point_on_surface(qpv.geometry.to_numpy())
        qpv = qpv[linked | shapely.covers(area, centre)]
    return qpv.reset_index(drop=True)
