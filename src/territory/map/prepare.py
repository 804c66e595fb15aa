"""Checking and preparing the layers' frames: CRS, simplification, rounding, columns."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory._errors import CRSError, ValidationError

__all__ = [
    "_box",
    "_checked",
    "_column",
    "_geometry_array",
    "_ints",
    "_is_empty",
    "_level_labels",
    "_prepared",
    "_records",
    "_text",
]


def _is_empty(gdf: pd.DataFrame | None) -> bool:
    return gdf is None or len(gdf) == 0


def _geometry_array(gdf: pd.DataFrame, name: str) -> np.ndarray:
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf:
        raise ValidationError(f"la couche « {name} » n'a pas de colonne de géométrie")
    return np.asarray(gdf.geometry.array, dtype=object)


def _checked(gdf: gpd.GeoDataFrame, name: str, *, required: Sequence[str]) -> gpd.GeoDataFrame:
    """The layer in EPSG:4326 with its identifying columns, or every problem at once."""
    problems = []
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf:
        problems.append(f"la couche « {name} » n'a pas de colonne de géométrie")
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        problems.append(f"la couche « {name} » n'a pas les colonnes : {', '.join(missing)}")
    if problems:
        raise ValidationError(problems)
    if gdf.crs is None:
        geometry = _geometry_array(gdf, name)
        present = geometry[~(shapely.is_missing(geometry) | shapely.is_empty(geometry))]
        if len(present):
            west, south, east, north = shapely.total_bounds(present)
            if west < -180 or east > 180 or south < -90 or north > 90:
                raise CRSError(
                    f"la couche « {name} » n'a pas de système de coordonnées et ses "
                    f"coordonnées ({west:.0f}, {south:.0f}, {east:.0f}, {north:.0f}) ne sont "
                    "pas des longitudes/latitudes : attendu EPSG:4326"
                )
    elif not (gdf.crs.to_epsg() == 4326 or gdf.crs.equals("OGC:CRS84")):
        warnings.warn(
            f"la couche « {name} » est en {gdf.crs.to_string()} : convertie en "
            "EPSG:4326 pour la carte",
            UserWarning,
            stacklevel=3,
        )
        gdf = gdf.to_crs(4326)
    return gdf


def _prepared(
    gdf: gpd.GeoDataFrame, name: str, *, precision: int, tolerance: float, coverage: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Simplified, rounded geometries of the drawable rows, and the mask of those rows."""
    geometry = _geometry_array(gdf, name)
    keep = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    geometry = geometry[keep]
    if tolerance > 0 and len(geometry):
        polygonal = np.isin(shapely.get_type_id(geometry), (3, 6))
        simplified = None
        if coverage and polygonal.all():
            try:
                simplified = shapely.coverage_simplify(geometry, tolerance)
            except shapely.errors.GEOSException:  # not a valid coverage: per polygon
                simplified = None
        if simplified is None:
            simplified = geometry.copy()
            lines_or_polygons = shapely.get_dimensions(geometry) > 0
            simplified[lines_or_polygons] = shapely.simplify(
                geometry[lines_or_polygons], tolerance, preserve_topology=True
            )
        geometry = simplified
    if len(geometry):
        # Pointwise rounding keeps shared vertices shared and is ~15 times faster than the
        # topology-safe mode; a ring made invalid by a 1 m shift still draws fine.
        geometry = shapely.set_precision(geometry, 10.0**-precision, mode="pointwise")
    drawn = ~shapely.is_empty(geometry)
    mask = keep.copy()
    mask[np.flatnonzero(keep)[~drawn]] = False
    return geometry[drawn], mask


def _box(geometry: np.ndarray) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the geometries."""
    west, south, east, north = shapely.total_bounds(geometry)
    return [[float(south), float(west)], [float(north), float(east)]]


def _column(gdf: pd.DataFrame, name: str) -> pd.Series:
    if name in gdf.columns:
        return gdf[name]
    return pd.Series([None] * len(gdf), index=gdf.index, dtype="object")


def _text(series: pd.Series) -> list[str | None]:
    return [None if _missing(v) else str(v) for v in series.astype("object")]


def _ints(series: pd.Series | Sequence[Any]) -> list[int | None]:
    return [None if _missing(v) else int(v) for v in pd.Series(series).astype("object")]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, arrays: present
        return False


def _records(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _level_labels(communes: gpd.GeoDataFrame) -> dict[int, str]:
    """Density level → label, read from the data (most frequent label of each level)."""
    levels = pd.to_numeric(_column(communes, "densite"), errors="coerce")
    labels = _column(communes, "densite_libelle")
    frame = pd.DataFrame({"level": levels, "label": labels}).dropna(subset=["level"])
    out: dict[int, str] = {}
    for level, group in frame.groupby("level", sort=True):
        named = group["label"].dropna().astype(str)
        named = named[named.str.strip() != ""]
        out[int(level)] = named.mode().iloc[0] if len(named) else f"niveau {int(level)}"
    return out
