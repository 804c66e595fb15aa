"""Where the imported GTFS feeds say something: coverage, zones blanches, unknown hours.

One imported feed is one **network** (column ``reseau`` of the ``stops`` layer; stops of a
workspace imported before networks had names belong to :data:`LEGACY_NETWORK`). A feed
only describes the area it serves, so a place far from its stops is not a « zone
blanche » unless the feed covers it:

* **Coverage of a network**: the communes that hold at least one of its stops, plus the
  communes whose representative point lies in the convex hull of its stops (a commune
  without a stop in the middle of an urban network is a gap of that network, not a place
  it says nothing about). Chosen over a buffered hull because a long regional line would
  otherwise claim every commune along its corridor.
* A network **has timetables** when some of its stops have known departures
  (``departs_jour`` not NA); a feed without ``stop_times``/``calendar`` gives only NA.
* Per commune, the state is :data:`TRANSIT_TIMED` (covered by a network with
  timetables: zones blanches are computed there), :data:`TRANSIT_UNKNOWN_HOURS` (covered
  only by networks without timetables: nothing can be said about service) or
  :data:`TRANSIT_NO_DATA` (covered by no imported network).

:func:`transit_areas` builds the ``service_gaps`` layer from these states (one row per
state: ``etat``, ``label``); :func:`zone_transit_states` gives the state of zones (their
centre) for the indicators, so that a distance to a stop is never read beyond coverage.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from territory._errors import CRSError, ValidationError
from territory._fr import format_distance
from territory.crs import METRIC_CRS
from territory.vocab import (
    LEGACY_NETWORK,
    NETWORK,
    TRANSIT_GAP,
    TRANSIT_NO_DATA,
    TRANSIT_TIMED,
    TRANSIT_UNKNOWN_HOURS,
)

__all__ = [
    "STATE_PHRASES",
    "commune_transit_states",
    "stop_networks",
    "transit_areas",
    "zone_transit_states",
]

_LABELS = {
    TRANSIT_NO_DATA: (
        "Pas de données de transport : aucun flux GTFS importé ne couvre ces communes"
    ),
    TRANSIT_UNKNOWN_HOURS: (
        "Horaires de transport inconnus : flux GTFS sans horaires (stop_times ou calendar "
        "absents), arrêts ni desservis ni zones blanches"
    ),
}

STATE_PHRASES = {
    TRANSIT_NO_DATA: "pas de données de transport (aucun flux GTFS importé ne couvre la zone)",
    TRANSIT_UNKNOWN_HOURS: "horaires de transport inconnus (flux GTFS sans horaires)",
}
"""Why a zone has no transit indicator (the « why this zone » of the priority score)."""


def stop_networks(stops: pd.DataFrame) -> pd.Series:
    """The network of each stop (``reseau``; :data:`LEGACY_NETWORK` when absent or empty).

    Examples
    --------
    >>> stop_networks(pd.DataFrame({"stop_id": ["a"]})).tolist()
    ['réseau importé']
    """
    if NETWORK not in stops:
        return pd.Series(LEGACY_NETWORK, index=stops.index, dtype="str", name=NETWORK)
    names = stops[NETWORK].astype("string").fillna("").str.strip()
    return names.where(names != "", LEGACY_NETWORK).astype("str").rename(NETWORK)


def _known_departures(stops: pd.DataFrame) -> pd.Series:
    if "departs_jour" not in stops:
        return pd.Series(False, index=stops.index)
    return pd.to_numeric(stops["departs_jour"], errors="coerce").notna()


def _metric(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise CRSError(f"{what} sans système de coordonnées : attendu EPSG:4326 (ou tout CRS)")
    return gdf.to_crs(METRIC_CRS)


def commune_transit_states(communes: gpd.GeoDataFrame, stops: gpd.GeoDataFrame) -> pd.DataFrame:
    """The transit state of each commune and the networks that cover it.

    Parameters
    ----------
    communes
        Commune polygons, any CRS.
    stops
        The ``stops`` layer (``reseau``, ``departs_jour``), any CRS.

    Returns
    -------
    pandas.DataFrame
        Aligned on ``communes``: ``etat`` (:data:`TRANSIT_TIMED` when a network with
        timetables covers it, else :data:`TRANSIT_UNKNOWN_HOURS` or
        :data:`TRANSIT_NO_DATA`) and ``reseaux`` (covering networks, ``", "``-joined).

    Examples
    --------
    >>> import shapely
    >>> c = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 1000),
    ...     shapely.box(1000, 0, 2000, 1000)], crs=METRIC_CRS)
    >>> s = gpd.GeoDataFrame({"reseau": ["A"], "departs_jour": [pd.NA]},
    ...     geometry=[shapely.Point(500, 500)], crs=METRIC_CRS)
    >>> commune_transit_states(c, s)["etat"].tolist()
    ['horaires de transport inconnus', 'pas de données de transport']
    """
    communes_m = _metric(communes, "couche des communes")
    geometries = np.asarray(communes_m.geometry.to_numpy(), dtype=object)
    valid = ~(shapely.is_missing(geometries) | shapely.is_empty(geometries))
    timed = np.zeros(len(communes_m), dtype=bool)
    untimed = np.zeros(len(communes_m), dtype=bool)
    names: list[list[str]] = [[] for _ in range(len(communes_m))]
    if stops is not None and len(stops) and valid.any():
        stops_m = _metric(stops, "couche des arrêts")
        networks = stop_networks(stops_m)
        known = _known_departures(stops_m).to_numpy()
        points = np.asarray(stops_m.geometry.to_numpy(), dtype=object)
        located = ~(shapely.is_missing(points) | shapely.is_empty(points))
        usable = geometries.copy()
        usable[~valid] = None
        tree = shapely.STRtree(usable)
        representative = shapely.point_on_surface(usable)
        for network in dict.fromkeys(networks):
            mine = (networks == network).to_numpy() & located
            if not mine.any():
                continue
            covered = np.zeros(len(communes_m), dtype=bool)
            _, holding = tree.query(points[mine], predicate="intersects")
            covered[holding] = True
            hull = shapely.convex_hull(shapely.MultiPoint(list(points[mine])))
            if hull.geom_type == "Polygon":
                covered |= valid & shapely.contains(hull, representative)
            if known[mine].any():
                timed |= covered
            else:
                untimed |= covered
            for i in np.flatnonzero(covered):
                names[i].append(network)
    state = np.where(
        timed, TRANSIT_TIMED, np.where(untimed, TRANSIT_UNKNOWN_HOURS, TRANSIT_NO_DATA)
    )
    return pd.DataFrame(
        {"etat": state, "reseaux": [", ".join(n) for n in names]}, index=communes.index
    )


def _union(geometries: object) -> BaseGeometry:
    parts = np.asarray(geometries, dtype=object)
    parts = parts[~(shapely.is_missing(parts) | shapely.is_empty(parts))]
    return shapely.union_all(parts) if len(parts) else shapely.GeometryCollection()


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    polygons = [
        q
        for p in shapely.get_parts(geometry)
        if p.geom_type in ("Polygon", "MultiPolygon")
        for q in shapely.get_parts(p)
    ]
    return shapely.MultiPolygon(polygons) if polygons else shapely.MultiPolygon()


def _buffers(points: np.ndarray, region: BaseGeometry, radius: float) -> BaseGeometry:
    points = points[~(shapely.is_missing(points) | shapely.is_empty(points))]
    if not len(points) or region.is_empty:
        return shapely.GeometryCollection()
    xmin, ymin, xmax, ymax = region.bounds
    box = shapely.box(xmin - radius, ymin - radius, xmax + radius, ymax + radius)
    near = points[shapely.intersects(points, box)]
    return shapely.union_all(shapely.buffer(near, radius, quad_segs=8))


def transit_areas(
    communes: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame | None,
    *,
    buffer_m: float = 500.0,
    min_departures: int = 1,
) -> gpd.GeoDataFrame:
    """The ``service_gaps`` layer: zones blanches, unknown hours and no data, by state.

    Inside communes covered by a network with timetables, the parts farther than
    ``buffer_m`` from every stop with at least ``min_departures`` departures on the
    reference day are zones blanches, except where a stop without known departures is
    within ``buffer_m`` (unknown hours). Communes covered only by networks without
    timetables are « horaires de transport inconnus », the others « pas de données de
    transport » (see the module docs).

    Parameters
    ----------
    communes
        Commune polygons, any CRS.
    stops
        The ``stops`` layer (``reseau``, ``departs_jour``); ``None`` or empty: no data.
    buffer_m
        Walking distance to a stop, in metres (``Settings.stop_buffer_m``).
    min_departures
        Departures on the reference day for a stop to be served.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``etat`` (:data:`TRANSIT_GAP`, :data:`TRANSIT_UNKNOWN_HOURS`,
        :data:`TRANSIT_NO_DATA`) and ``label`` (French); one (Multi)Polygon row per state
        present.

    Examples
    --------
    >>> import shapely
    >>> c = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 3000, 3000),
    ...     shapely.box(3000, 0, 6000, 3000)], crs=METRIC_CRS)
    >>> s = gpd.GeoDataFrame({"reseau": ["A"], "departs_jour": [30]},
    ...     geometry=[shapely.Point(500, 500)], crs=METRIC_CRS)
    >>> transit_areas(c, s)["etat"].tolist()
    ['zone blanche', 'pas de données de transport']
    """
    if buffer_m <= 0:
        raise ValidationError(f"buffer_m (distance à un arrêt) doit être positif, reçu {buffer_m}")
    empty_stops = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    stops = empty_stops if stops is None else stops
    states = commune_transit_states(communes, stops)["etat"].to_numpy()
    communes_m = _metric(communes, "couche des communes")
    geometries = np.asarray(communes_m.geometry.to_numpy(), dtype=object)
    rows: dict[str, BaseGeometry] = {}
    timed_area = _union(geometries[states == TRANSIT_TIMED])
    if not timed_area.is_empty:
        stops_m = _metric(stops, "couche des arrêts")
        points = np.asarray(stops_m.geometry.to_numpy(), dtype=object)
        departures = pd.to_numeric(stops_m["departs_jour"], errors="coerce")
        served = (departures >= min_departures).fillna(False).to_numpy(dtype=bool)
        unknown = departures.isna().to_numpy()
        gap = _polygonal(
            shapely.difference(timed_area, _buffers(points[served], timed_area, buffer_m))
        )
        near_unknown = _buffers(points[unknown], gap, buffer_m)
        rows[TRANSIT_GAP] = _polygonal(shapely.difference(gap, near_unknown))
        rows[TRANSIT_UNKNOWN_HOURS] = _polygonal(shapely.intersection(gap, near_unknown))
    untimed_area = _union(geometries[states == TRANSIT_UNKNOWN_HOURS])
    rows[TRANSIT_UNKNOWN_HOURS] = _polygonal(
        shapely.union(rows.get(TRANSIT_UNKNOWN_HOURS, shapely.MultiPolygon()), untimed_area)
    )
    rows[TRANSIT_NO_DATA] = _polygonal(_union(geometries[states == TRANSIT_NO_DATA]))
    gap_label = f"Zone blanche : aucun arrêt desservi à moins de {format_distance(buffer_m)}"
    if min_departures > 1:
        gap_label += f" (au moins {min_departures} départs dans la journée)"
    labels = {TRANSIT_GAP: gap_label, **_LABELS}
    kept = [(state, g) for state, g in rows.items() if not g.is_empty]
    return gpd.GeoDataFrame(
        {
            "etat": pd.Series([s for s, _ in kept], dtype="str"),
            "label": pd.Series([labels[s] for s, _ in kept], dtype="str"),
        },
        geometry=gpd.GeoSeries([g for _, g in kept], crs=METRIC_CRS),
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")


def zone_transit_states(
    centres: gpd.GeoSeries | gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
) -> pd.Series:
    """The transit state of each zone, read at its centre (the commune holding it).

    A centre in no commune of ``communes`` is :data:`TRANSIT_NO_DATA`: nothing says which
    feed would describe it.

    Examples
    --------
    >>> import shapely
    >>> c = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 1000)], crs=METRIC_CRS)
    >>> s = gpd.GeoDataFrame({"reseau": ["A"], "departs_jour": [4]},
    ...     geometry=[shapely.Point(500, 500)], crs=METRIC_CRS)
    >>> z = gpd.GeoSeries([shapely.Point(10, 10), shapely.Point(5000, 10)], crs=METRIC_CRS)
    >>> zone_transit_states(z, c, s).tolist()
    ['horaires connus', 'pas de données de transport']
    """
    states = commune_transit_states(communes, stops)["etat"].to_numpy()
    communes_m = _metric(communes, "couche des communes")
    points = np.asarray(_metric(gpd.GeoDataFrame(geometry=centres), "zones").geometry, dtype=object)
    out = np.full(len(points), TRANSIT_NO_DATA, dtype=object)
    tree = shapely.STRtree(np.asarray(communes_m.geometry.to_numpy(), dtype=object))
    point_index, commune_index = tree.query(points, predicate="intersects")
    # Several communes (a point on a border): the best-informed state wins.
    rank = {TRANSIT_TIMED: 2, TRANSIT_UNKNOWN_HOURS: 1, TRANSIT_NO_DATA: 0}
    for p, c in zip(point_index, commune_index, strict=True):
        if rank[states[c]] > rank[out[p]]:
            out[p] = states[c]
    return pd.Series(out, index=centres.index, dtype="str", name="etat_transport")
