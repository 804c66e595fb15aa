"""The density's grid squares as rows of integers, rebuilt in the browser with a lon/lat fit."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from territory.map.encode import _js, _script_safe
from territory.map.prepare import _geometry_array
from territory.map.scripts import snippet

__all__ = ["_RANKS", "_CompactGrid", "_grid_squares"]

# Drawing order of the density levels: coarse zones beneath 200 m cells.
_RANKS = {"commune": 0, "1km": 1, "200m": 2}
_GRID_SIZES = {"200m": 200, "1km": 1000}
_GRID_UNIT = 200  # metres: every 200 m and 1 km corner is a multiple of it
_GRID_ID = re.compile(r"^CRS3035RES(200|1000)mN(\d+)E(\d+)$")
_FIT_DEGREES = range(3, 10)
_MAX_FIT_ERROR_M = 0.1
"""Largest distance between a corner computed in the browser and PROJ's."""
_MAX_SHIFT_M = 1.0
"""Largest distance between a given square's corner and its id's (else sent as is)."""
_TO_LONLAT = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
_M_PER_DEGREE = 111_195.0  # mean Earth radius × π / 180


@dataclass(frozen=True)
class _LonLatFit:
    """``lon, lat = f(E, N)``: a polynomial of EPSG:3035 metres, on an extent.

    With ``x = (E - e0) / scale`` and ``y = (N - n0) / scale``, ``lon`` is the sum of
    ``lon_terms[t] * x**i * y**j`` over ``t`` enumerating ``i`` in ``0..degree`` then
    ``j`` in ``0..degree - i`` (same for ``lat``). Fitted by least squares on the
    corners to draw and checked on each of them against PROJ.
    """

    e0: float
    n0: float
    scale: float
    degree: int
    lon_terms: tuple[float, ...]
    lat_terms: tuple[float, ...]
    error_m: float

    @staticmethod
    def fitted(east: np.ndarray, north: np.ndarray) -> _LonLatFit | None:
        """The lowest degree within :data:`_MAX_FIT_ERROR_M` on every given point."""
        if not len(east):
            return None
        lon, lat = _TO_LONLAT.transform(east, north)
        e0 = (float(east.min()) + float(east.max())) / 2
        n0 = (float(north.min()) + float(north.max())) / 2
        scale = max(float(east.max() - east.min()), float(north.max() - north.min()), 2.0) / 2
        x, y = (east - e0) / scale, (north - n0) / scale
        for degree in _FIT_DEGREES:
            terms = _monomials(x, y, degree)
            lon_terms = np.linalg.lstsq(terms, lon, rcond=None)[0]
            lat_terms = np.linalg.lstsq(terms, lat, rcond=None)[0]
            error = _distance_m(terms @ lon_terms, terms @ lat_terms, lon, lat).max()
            if error <= _MAX_FIT_ERROR_M:
                return _LonLatFit(
                    e0,
                    n0,
                    scale,
                    degree,
                    tuple(float(c) for c in lon_terms),
                    tuple(float(c) for c in lat_terms),
                    float(error),
                )
        return None

    def lonlat(self, east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Longitudes and latitudes of EPSG:3035 points (what the browser computes)."""
        terms = _monomials(
            (east - self.e0) / self.scale, (north - self.n0) / self.scale, self.degree
        )
        return terms @ np.array(self.lon_terms), terms @ np.array(self.lat_terms)


def _monomials(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return np.stack(
        [x**i * y**j for i in range(degree + 1) for j in range(degree + 1 - i)], axis=-1
    )


def _distance_m(lon: np.ndarray, lat: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Distance in metres between nearby points (local flat approximation, < 0.5 %)."""
    cos = np.cos(np.radians(lat2))
    return cast("np.ndarray", np.hypot((lon - lon2) * cos, lat - lat2) * _M_PER_DEGREE)


@dataclass(frozen=True)
class _GridSquares:
    """Which density rows are plain grid squares, their lower-left corner and the fit."""

    mask: np.ndarray  # rows sent as compact squares
    east: np.ndarray  # metres (EPSG:3035), meaningful where mask
    north: np.ndarray
    geometry: np.ndarray  # the given geometries (for the bounds)
    fit: _LonLatFit | None


def _grid_squares(gdf: gpd.GeoDataFrame) -> _GridSquares:
    """Rows whose geometry is exactly (≤ 1 m) their id's square, drawable from the id.

    A 200 m or 1 km zone id names its square (``CRS3035RES200mN{north}E{east}``): the
    browser can rebuild the id and the corners from ``east`` and ``north``, provided the
    id is written the one way the browser writes it, the geometry given is that square,
    and a polynomial reproduces PROJ within :data:`_MAX_FIT_ERROR_M` on every corner.
    Any other row is sent as GeoJSON, as is.
    """
    geometry = _geometry_array(gdf, "density")
    n = len(gdf)
    empty = np.zeros(n, dtype=bool)
    zero = np.zeros(n, dtype=np.int64)
    parts = gdf["zone"].astype("string").str.extract(_GRID_ID.pattern)
    level = gdf["level"].astype("string")
    size = level.map(_GRID_SIZES).astype("Float64").fillna(0).to_numpy(dtype=np.int64)
    candidate = (
        parts[0].notna().to_numpy()
        & (parts[0].astype("Float64").fillna(-1).to_numpy(dtype=np.int64) == size)
        & np.isin(shapely.get_type_id(geometry), (3,))
        & (shapely.get_num_coordinates(geometry) == 5)
    )
    if not candidate.any():
        return _GridSquares(empty, zero, zero, geometry, None)
    east = zero.copy()
    north = zero.copy()
    east[candidate] = parts.loc[candidate, 2].astype("int64").to_numpy()
    north[candidate] = parts.loc[candidate, 1].astype("int64").to_numpy()
    rebuilt = np.char.add(
        np.char.add(
            np.char.add(np.char.add("CRS3035RES", size.astype(str)), "mN"), north.astype(str)
        ),
        np.char.add("E", east.astype(str)),
    )
    candidate &= (east % _GRID_UNIT == 0) & (north % _GRID_UNIT == 0) & (east > 0) & (north > 0)
    candidate &= rebuilt == gdf["zone"].astype(str).to_numpy()
    if not candidate.any():
        return _GridSquares(empty, zero, zero, geometry, None)
    # Corners in the order of shapely.box: (E+s, N), (E+s, N+s), (E, N+s), (E, N).
    e, nn, s = east[candidate], north[candidate], size[candidate]
    corner_e = np.stack([e + s, e + s, e, e], axis=1).astype(float)
    corner_n = np.stack([nn, nn + s, nn + s, nn], axis=1).astype(float)
    lon, lat = _TO_LONLAT.transform(corner_e, corner_n)
    given = shapely.get_coordinates(geometry[candidate]).reshape(-1, 5, 2)[:, :4]
    # Each expected corner has a given vertex within 1 m, and each given vertex too
    # (whatever the ring's start and direction).
    gap = _distance_m(given[:, None, :, 0], given[:, None, :, 1], lon[:, :, None], lat[:, :, None])
    matches = (gap.min(axis=2).max(axis=1) <= _MAX_SHIFT_M) & (
        gap.min(axis=1).max(axis=1) <= _MAX_SHIFT_M
    )
    candidate[np.flatnonzero(candidate)[~matches]] = False
    if not candidate.any():
        return _GridSquares(empty, zero, zero, geometry, None)
    corners = np.unique(
        np.concatenate(
            [corner_e[matches].reshape(-1, 1), corner_n[matches].reshape(-1, 1)], axis=1
        ),
        axis=0,
    )
    fit = _LonLatFit.fitted(corners[:, 0], corners[:, 1])
    if fit is None:  # the extent is too large for a polynomial: send coordinates
        return _GridSquares(empty, zero, zero, geometry, None)
    return _GridSquares(candidate, east, north, geometry, fit)


@dataclass(frozen=True)
class _CompactGrid:
    """The density layer as a small JavaScript program that returns its GeoJSON.

    Instead of a GeoJSON polygon each (≈ 300 bytes), grid squares travel as three
    integers: the index of their properties in a table of distinct property sets
    (level, count, label, area, class: a few hundred at most, counts being rounded;
    written as objects, so that every value sent reads ``"count":25``), and
    the change in ``east / 200`` and ``north / 200`` from the previous square (rows
    sorted by level, north, east: mostly ``…,0,1,…``). The browser rebuilds each id
    (``CRS3035RES200mN…E…``, exactly as given) and the four corners with the polynomial
    of :class:`_LonLatFit` (coefficients sent once); neighbours share their corners
    exactly. A "rest of the commune" zone drawn as its commune travels as two integers,
    the index of its properties and the change in the index of its commune in the
    communes' collection (``refs``, sorted by commune): the program is then a function
    of that collection, and the zone takes the commune's code as id and its shape (the
    one the communes layer draws). Other zones are plain GeoJSON features, sorted by
    level, coarse zones first (a stable sort: the order of the plain GeoJSON is kept).

    The program returns a FeatureCollection of those features (what ``L.geoJson``
    draws) with a foreign member ``squares`` (null without rows): ``n`` squares, their
    ``table`` index (``kind``), ``east`` and ``north`` (units of 200 m), the ``lonlat``
    of their four corners (8 numbers each) and ``feature(i)``, square ``i`` as a GeoJSON
    feature. The squares are drawn by one canvas shape, above the features
    (``territoryCanvas.layer``, see :class:`_Canvas`), not as one polygon each; the
    plain zones are anomalies (:func:`views.density_layer` gives only squares and
    communes), so a plain 200 m zone under a 1 km square is not a case that occurs.
    :meth:`features` lists the features in that drawing order, squares last.
    """

    explicit: str  # features, comma-separated
    table: list[dict[str, Any]]  # {level, count, label, area_km2, classe}
    rows: list[int]  # [table index, Δeast, Δnorth] per square, flat
    fit: _LonLatFit | None
    refs: list[int] = field(default_factory=list)  # [table index, Δcommune] per zone, flat

    @staticmethod
    def encode(
        *,
        explicit: str,
        squares: list[dict[str, Any]],
        east: np.ndarray,
        north: np.ndarray,
        fit: _LonLatFit | None,
        rests: Sequence[dict[str, Any]] = (),
        communes: np.ndarray | None = None,
    ) -> _CompactGrid:
        table: dict[tuple[Any, ...], int] = {}

        def indices(zones: Sequence[dict[str, Any]]) -> np.ndarray:
            keys = [tuple(p[k] for k in _TABLE_KEYS) for p in zones]
            return np.array([table.setdefault(key, len(table)) for key in keys], dtype=np.int64)

        def entries() -> list[dict[str, Any]]:
            return [dict(zip(_TABLE_KEYS, key, strict=True)) for key in table]

        refs: list[int] = []
        if len(rests):
            assert communes is not None
            order = np.argsort(communes, kind="stable")
            at = np.asarray(communes, dtype=np.int64)[order]
            refs = (
                np.stack([indices(rests)[order], np.diff(at, prepend=0)], axis=1).ravel().tolist()
            )
        index = indices(squares)
        if not squares:
            return _CompactGrid(explicit, entries(), [], None, refs)
        e, n = east // _GRID_UNIT, north // _GRID_UNIT
        ranks = np.array([_RANKS[p["level"]] for p in squares])
        order = np.lexsort((e, n, ranks))
        e, n = e[order], n[order]
        de = np.diff(e, prepend=0)
        dn = np.diff(n, prepend=0)
        rows = np.stack([index[order], de, dn], axis=1).ravel()
        return _CompactGrid(explicit, entries(), rows.tolist(), fit, refs)

    def parts(self) -> tuple[str, str]:
        """The data (JSON) and the expression (of ``D``: the data) of the FeatureCollection.

        With ``refs``, the expression is that of a function of the communes'
        FeatureCollection that returns it.
        """
        if not self.rows and not self.refs:
            text = '{"type":"FeatureCollection","features":[' + self.explicit + "]}"
            return _script_safe(text), "D"
        fit = None
        if self.rows:
            assert self.fit is not None
            fit = {
                "o": [self.fit.e0, self.fit.n0, self.fit.scale],
                "d": self.fit.degree,
                "x": list(self.fit.lon_terms),
                "y": list(self.fit.lat_terms),
            }
        data = (
            f'{{"X":{_script_safe("[" + self.explicit + "]")},"P":{_js(self.table)},'
            f'"G":{_js(fit)},"R":{_js(self.rows)},"K":{_js(self.refs)}}}'
        )
        code = snippet("squares.js.j2", "program", bool(self.refs))
        return data, code

    def sent_properties(self) -> list[dict[str, Any]]:
        """Every distinct property set the page holds (for the privacy check)."""
        plain = [f["properties"] for f in json.loads("[" + self.explicit + "]")]
        return plain + self.table

    def features(self, shared: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The features the browser builds (same arithmetic, in Python), in drawing order.

        Plain zones and rests of communes, then the squares (``feature(i)`` of the program);
        ``shared`` are the communes' features when the zones reference them.
        """
        features = list(json.loads("[" + self.explicit + "]"))
        commune = 0
        for r in range(0, len(self.refs), 2):
            assert shared is not None
            commune += self.refs[r + 1]
            shape = shared[commune]
            features.append(
                {
                    "type": "Feature",
                    "properties": {"zone": shape["properties"]["code"], **self.table[self.refs[r]]},
                    "geometry": shape["geometry"],
                }
            )
        features.sort(key=lambda f: _RANKS.get(f["properties"].get("level") or "", 0))
        if self.rows:
            assert self.fit is not None
            rows = np.asarray(self.rows, dtype=np.int64).reshape(-1, 3)
            east = np.cumsum(rows[:, 1]) * _GRID_UNIT
            north = np.cumsum(rows[:, 2]) * _GRID_UNIT
            size = np.array([_GRID_SIZES[self.table[i]["level"]] for i in rows[:, 0]])
            corner_e = np.stack([east + size, east + size, east, east], axis=1)
            corner_n = np.stack([north, north + size, north + size, north], axis=1)
            lon, lat = self.fit.lonlat(corner_e.astype(float), corner_n.astype(float))
            for r, (i, e, n, s) in enumerate(zip(rows[:, 0], east, north, size, strict=True)):
                ring = [[float(lon[r, c]), float(lat[r, c])] for c in (0, 1, 2, 3, 0)]
                features.append(
                    {
                        "type": "Feature",
                        "properties": {"zone": f"CRS3035RES{s}mN{n}E{e}", **self.table[i]},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                )
        return features


_TABLE_KEYS = ("level", "count", "label", "area_km2", "classe")
"""The properties of a density zone besides its id, in the order the page gives them."""
