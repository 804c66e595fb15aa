"""The INSEE / INSPIRE grid in EPSG:3035: cell ids, parents and polygons.

A cell id names the lower-left corner of the cell in metres, e.g.
``CRS3035RES200mN2890000E3775400``: the same ids as the INSEE Filosofi files, so
protected counts can be joined to Filosofi without any re-projection.

Examples
--------
>>> str(cell_ids([3775432.0], [2890123.0])[0])
'CRS3035RES200mN2890000E3775400'
>>> str(parent_ids(["CRS3035RES200mN2890000E3775400"])[0])
'CRS3035RES1000mN2890000E3775000'
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import Transformer

from territory._errors import ValidationError
from territory.crs import GRID_CRS

RESOLUTIONS = (200, 1000)
_ID_NAMED = r"^CRS3035RES(?P<resolution>\d+)mN(?P<north>\d+)E(?P<east>\d+)$"
_TO_GRID = Transformer.from_crs("EPSG:4326", GRID_CRS, always_xy=True)


def cell_ids(x: npt.ArrayLike, y: npt.ArrayLike, *, resolution: int = 200) -> npt.NDArray[np.str_]:
    """Ids of the cells holding points given in EPSG:3035 metres."""
    _check_resolution(resolution)
    east = (np.floor(np.asarray(x, dtype=float) / resolution) * resolution).astype(np.int64)
    north = (np.floor(np.asarray(y, dtype=float) / resolution) * resolution).astype(np.int64)
    prefix = f"CRS3035RES{resolution}mN"
    return np.char.add(np.char.add(np.char.add(prefix, north.astype(str)), "E"), east.astype(str))


def cell_ids_from_lonlat(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, resolution: int = 200
) -> npt.NDArray[np.str_]:
    """Ids of the cells holding WGS84 points."""
    x, y = _TO_GRID.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return cell_ids(x, y, resolution=resolution)


def parse_ids(ids: Sequence[str] | pd.Series) -> pd.DataFrame:
    """Resolution, north and east (metres) of each id; raises on a malformed id.

    Examples
    --------
    >>> parse_ids(["CRS3035RES200mN2890000E3760200"]).to_dict("records")
    [{'resolution': 200, 'north': 2890000, 'east': 3760200}]
    """
    text = pa.array(pd.Series(list(ids), dtype=object), type=pa.string(), from_pandas=True)
    parts = pc.extract_regex(text, _ID_NAMED)  # Arrow: no Python loop over the ids
    bad = np.asarray(parts.is_null(), dtype=bool)
    if bad.any():
        examples = ", ".join(repr(i) for i in pd.Series(list(ids))[bad].head(3))
        raise ValidationError(f"identifiants de carreau INSEE invalides : {examples}")
    return pd.DataFrame(
        {
            name: pc.cast(parts.field(name), pa.int64()).to_numpy(zero_copy_only=False)
            for name in ("resolution", "north", "east")
        }
    )


def parent_ids(ids: Sequence[str] | pd.Series, *, resolution: int = 1000) -> npt.NDArray[np.str_]:
    """Ids of the coarser cells (default 1 km) that contain the given cells."""
    parsed = parse_ids(ids)
    if (parsed["resolution"] > resolution).any():
        raise ValidationError(
            f"un carreau plus grand que {resolution} m n'a pas de parent à cette résolution"
        )
    return cell_ids(parsed["east"].to_numpy(), parsed["north"].to_numpy(), resolution=resolution)


def child_ids(ids: Sequence[str] | pd.Series, *, resolution: int = 200) -> npt.NDArray[np.str_]:
    """Ids of the finer cells (default 200 m) of each cell, cell after cell.

    Examples
    --------
    >>> kids = child_ids(["CRS3035RES1000mN2890000E3760000"])
    >>> len(kids), str(kids[0]), str(kids[-1])
    (25, 'CRS3035RES200mN2890000E3760000', 'CRS3035RES200mN2890800E3760800')
    """
    _check_resolution(resolution)
    parsed = parse_ids(ids)
    size = int(parsed["resolution"].max()) if len(parsed) else resolution
    steps = np.arange(0, size, resolution)
    per = (parsed["resolution"].to_numpy() // resolution) ** 2
    if (per != len(steps) ** 2).any():
        raise ValidationError("child_ids : carreaux de tailles différentes")
    north, east = np.meshgrid(steps, steps, indexing="ij")
    x = (parsed["east"].to_numpy()[:, None] + east.ravel()[None, :]).ravel()
    y = (parsed["north"].to_numpy()[:, None] + north.ravel()[None, :]).ravel()
    return cell_ids(x, y, resolution=resolution)


def cell_polygons(ids: Sequence[str] | pd.Series) -> gpd.GeoSeries:
    """Square polygons (EPSG:3035) of the given cell ids, in the same order."""
    parsed = parse_ids(ids)
    east = parsed["east"].to_numpy(dtype=float)
    north = parsed["north"].to_numpy(dtype=float)
    size = parsed["resolution"].to_numpy(dtype=float)
    boxes = shapely.box(east, north, east + size, north + size)
    index = ids.index if isinstance(ids, pd.Series) else None
    return gpd.GeoSeries(boxes, crs=GRID_CRS, index=index)


def _check_resolution(resolution: int) -> None:
    if resolution not in RESOLUTIONS:
        raise ValidationError(
            f"résolution de carreau {resolution} m non prise en charge ({RESOLUTIONS})"
        )
