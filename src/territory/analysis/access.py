"""Access: distances to partners, travel times, transit service and mobility barriers.

Pure functions returning a :class:`pandas.Series` aligned on the zones' index (see
:mod:`territory.analysis.zones` for zones and their centres). Distances are measured in
Lambert-93 from the centre of each zone, as the crow flies; travel times are those of
the one travel model (:class:`territory.travel.TravelModel`, the same as the rounds').
Public-transport service counts stop events (a bus passing at a stop) per weekday and
clock hour of the GTFS reference week, as stored by the GTFS import
(:func:`territory.analysis.priority.load_stop_hours`). The walking distance within which
a stop serves a zone is ``Settings.stop_buffer_m`` (``TERRITORY_STOP_BUFFER_M``).

Examples
--------
>>> import geopandas as gpd, shapely
>>> zones = gpd.GeoDataFrame(
...     {"code": ["A", "B"]},
...     geometry=[shapely.box(700_000, 6_600_000, 701_000, 6_601_000),
...               shapely.box(705_000, 6_600_000, 706_000, 6_601_000)], crs=METRIC_CRS)
>>> partners = gpd.GeoDataFrame(
...     {"type": ["ML"], "horaires": ["Mo-Fr 09:00-17:00"]},
...     geometry=[shapely.Point(700_500, 6_609_500)], crs=METRIC_CRS)
>>> partner_distance(zones, partners, types=["ML"]).round().tolist()
[9000.0, 10296.0]
>>> travel_time(pd.Series([10_000.0]), mode="car").round(1).tolist()
[24.5]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from datetime import datetime
from typing import Literal, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from territory._errors import ValidationError
from territory.analysis.zones import metric_geometries, nearest, points, zone_centres
from territory.crs import METRIC_CRS  # noqa: F401  (the doctests use it)
from territory.hours import is_open
from territory.settings import Settings
from territory.travel import TravelModel

__all__ = [
    "BARRIER_FAR_M",
    "TRAVEL_MODES",
    "departures_per_day",
    "departures_per_hour",
    "mobility_barrier",
    "nearest_partner",
    "open_partners",
    "partner_distance",
    "rural_labels",
    "rural_zones",
    "served_stop_distance",
    "travel_time",
]

BARRIER_FAR_M = 5_000.0
"""Distance to a served stop (m) at which the barrier index's distance part saturates."""
TRAVEL_MODES: dict[str, str] = {"walk": "marche", "car": "voiture"}
"""The modes of :func:`travel_time` and their names in :data:`territory.vocab.MODES`."""
_DEFAULT_STOP_BUFFER_M = Settings.stop_buffer_m  # the setting's default, for direct calls


# ------------------------------------------------------------------------------ partners


def open_partners(partners: pd.DataFrame, when: datetime) -> pd.Series:
    """Whether each partner is open at ``when`` (unknown or empty hours count as closed).

    Examples
    --------
    >>> p = pd.DataFrame({"horaires": ["Mo-Fr 09:00-17:00", "", "Sa 09:00-12:00"]})
    >>> open_partners(p, datetime(2026, 11, 3, 10)).tolist()
    [True, False, False]
    """
    hours = partners["horaires"].fillna("").astype(str) if "horaires" in partners else None
    if hours is None:
        return pd.Series(False, index=partners.index, name="ouvert")
    cache: dict[str, bool] = {}
    values = []
    for text in hours:
        if text not in cache:
            cache[text] = is_open(text, when) is True
        values.append(cache[text])
    return pd.Series(values, index=partners.index, name="ouvert", dtype=bool)


def partner_distance(
    zones: gpd.GeoDataFrame,
    partners: gpd.GeoDataFrame,
    *,
    types: Collection[str] | None = None,
    open_at: datetime | None = None,
) -> pd.Series:
    """Straight-line distance (m, Lambert-93) from each zone's centre to the nearest partner.

    Parameters
    ----------
    zones
        Zones with a CRS.
    partners
        Partner points with ``type`` and ``horaires``; rows without a position (still to
        geocode) are ignored.
    types
        Partner type codes to consider (all when omitted).
    open_at
        Keep only partners open at this local time (:func:`open_partners`).

    Returns
    -------
    pandas.Series
        ``Float64`` metres, NA when no partner qualifies.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=METRIC_CRS)
    >>> p = gpd.GeoDataFrame({"type": ["ML", "CS"], "horaires": ["Mo 09:00-12:00", ""]},
    ...     geometry=[shapely.Point(5, 105), shapely.Point(5, 25)], crs=METRIC_CRS)
    >>> partner_distance(z, p).tolist(), partner_distance(z, p, types=["ML"]).tolist()
    ([20.0], [100.0])
    >>> partner_distance(z, p, open_at=datetime(2026, 11, 3, 10)).tolist()
    [<NA>]
    """
    geoms, ok = points(partners, "partenaires")
    if types is not None:
        ok &= partners["type"].astype(str).isin(set(types)).to_numpy()
    if open_at is not None and ok.any():
        ok &= open_partners(partners, open_at).to_numpy()
    centres = np.asarray(zone_centres(zones).to_numpy(), dtype=object)
    dist, _ = nearest(centres, geoms[ok])
    out = pd.Series(dist, index=zones.index, dtype="Float64")
    return out.where(np.isfinite(dist)).rename(
        "distance_partenaire_ouvert" if open_at is not None else _distance_name(types)
    )


def _distance_name(types: Collection[str] | None) -> str:
    if types is not None and len(types) == 1:
        return f"distance_{next(iter(types))}"
    return "distance_partenaire"


def nearest_partner(
    zones: gpd.GeoDataFrame, partners: gpd.GeoDataFrame, *, types: Collection[str] | None = None
) -> pd.Series:
    """Index label (in ``partners``) of the nearest qualifying partner of each zone (NA if none)."""
    geoms, ok = points(partners, "partenaires")
    if types is not None:
        ok &= partners["type"].astype(str).isin(set(types)).to_numpy()
    centres = np.asarray(zone_centres(zones).to_numpy(), dtype=object)
    _, which = nearest(centres, geoms[ok])
    labels = np.asarray(partners.index[ok], dtype=object)
    values = np.full(len(which), None, dtype=object)
    found = which >= 0
    values[found] = labels[which[found]]
    return pd.Series(values, index=zones.index, dtype=object, name="partenaire_proche")


def travel_time(
    distance_m: pd.Series,
    *,
    mode: Literal["walk", "car"],
    settings: Settings | None = None,
    model: TravelModel | None = None,
    zones: gpd.GeoDataFrame | None = None,
    partners: gpd.GeoDataFrame | None = None,
) -> pd.Series:
    """Travel time in minutes to the nearest partner, by the one travel model.

    ``walk`` and ``car`` are the ``marche`` and ``voiture`` modes of ``model`` (default:
    :class:`territory.travel.TravelModel` built from ``settings``): distance × detour
    factor at the mode's speed, plus its access time (parking) for every non-zero trip,
    the same times as the rounds. When the model has a road network
    (:mod:`territory.roads`) and ``zones`` and ``partners`` (the partners the distances
    were measured to) are given, the time is the path from each zone's centre to the
    nearest of them along the network; a zone off the network keeps the straight line.

    Examples
    --------
    >>> travel_time(pd.Series([4500.0]), mode="walk").round(1).tolist()
    [78.0]
    """
    if mode not in TRAVEL_MODES:
        raise ValidationError(f"mode de déplacement inconnu « {mode} » (attendu : walk, car)")
    model = model or TravelModel.from_settings(settings or Settings())
    distance = pd.to_numeric(distance_m, errors="coerce").astype("Float64")
    minutes = model.minutes(distance.to_numpy(dtype=float, na_value=np.nan), TRAVEL_MODES[mode])
    network = model.network
    if network is not None and zones is not None and partners is not None and len(partners):
        geoms, ok = points(partners, "partenaires")
        centres = zone_centres(zones)
        origins = np.column_stack([centres.x, centres.y])
        targets = shapely.get_coordinates(geoms[ok])
        speed = model.speed(TRAVEL_MODES[mode])
        along = network.nearest_times(origins, targets, TRAVEL_MODES[mode], speed_kmh=speed)
        access = float(model.access_minutes.get(TRAVEL_MODES[mode], 0.0))
        along = np.where(along > 0, along + access, along)
        minutes = np.where(np.isnan(along), minutes, along)
    out = pd.Series(minutes, index=distance.index, dtype="Float64", name=f"temps_{mode}")
    return out.where(distance.notna())


def _stops_near(
    zones: gpd.GeoDataFrame, stops: gpd.GeoDataFrame, radius_m: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(zone position, stop position) pairs: stops inside a zone or within ``radius_m``."""
    zg = metric_geometries(zones, "zones")
    sg, ok = points(stops, "arrêts")
    positions = np.flatnonzero(ok)
    if len(positions) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    tree = shapely.STRtree(sg[positions])
    zi, si = tree.query(zg, predicate="dwithin", distance=radius_m)
    return zi.astype(np.int64), positions[si].astype(np.int64)


def _per_stop(
    stops: gpd.GeoDataFrame, stop_hours: pd.DataFrame, weekday: int, hour: int
) -> npt.NDArray[np.float64]:
    sel = stop_hours[(stop_hours["weekday"] == weekday) & (stop_hours["hour"] == hour)]
    by_stop = sel.groupby("stop_id")["departs"].sum()
    per_stop = by_stop.reindex(stops["stop_id"].astype(str)).fillna(0)
    return cast("npt.NDArray[np.float64]", per_stop.to_numpy(float))


def _best_near(
    n_zones: int,
    pairs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    per_stop: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Max of ``per_stop`` over each zone's nearby stops (0 / -1 when none) and that stop."""
    zi, si = pairs
    best = np.zeros(n_zones)
    which = np.full(n_zones, -1, dtype=np.int64)
    if len(zi) == 0:
        return best, which
    values = per_stop[si]
    order = np.lexsort((-values, zi))  # per zone, the best stop first
    first = np.r_[True, zi[order][1:] != zi[order][:-1]]
    top = order[first]
    best[zi[top]] = values[top]
    which[zi[top]] = si[top]
    return best, which


def departures_per_hour(
    zones: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
    stop_hours: pd.DataFrame,
    *,
    weekday: int,
    hour: int,
    radius_m: float = _DEFAULT_STOP_BUFFER_M,
) -> pd.Series:
    """Departures in one hour at the best-served stop of each zone.

    Departures during ``[hour, hour + 1)`` on ``weekday``, at the best-served stop inside
    each zone or within ``radius_m`` of it.

    The best stop (not the sum over stops) is taken so that "a bus every 20 minutes" is
    true of one place: summing would count one bus once per stop it passes.

    Parameters
    ----------
    zones
        Zones with a CRS.
    stops
        The ``stops`` layer (``stop_id``, points).
    stop_hours
        Departures per stop, weekday and hour (:func:`territory.io.gtfs.stop_hours_table`).
    weekday, hour
        0 = Monday; clock hour 0-23.
    radius_m
        Walking distance to a stop.

    Returns
    -------
    pandas.Series
        ``Float64`` departures per hour (0 when no stop is near); ``attrs["arret"]`` holds
        the ``stop_id`` of the stop used per zone (None when none).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100),
    ...     shapely.box(5000, 0, 5100, 100)], crs=METRIC_CRS)
    >>> s = gpd.GeoDataFrame({"stop_id": ["a", "b"]},
    ...     geometry=[shapely.Point(300, 50), shapely.Point(50, 50)], crs=METRIC_CRS)
    >>> h = pd.DataFrame({"stop_id": ["a", "b", "a"], "weekday": [1, 1, 1],
    ...     "hour": [18, 18, 19], "departs": [3, 1, 2]})
    >>> departures_per_hour(z, s, h, weekday=1, hour=18).tolist()
    [3.0, 0.0]
    """
    _check_moment(weekday, hour)
    per_stop = _per_stop(stops, stop_hours, weekday, hour)
    best, which = _best_near(len(zones), _stops_near(zones, stops, radius_m), per_stop)
    out = pd.Series(best, index=zones.index, dtype="Float64", name="departs_heure")
    ids = stops["stop_id"].astype(str).to_numpy(dtype=object)
    out.attrs["arret"] = [ids[w] if w >= 0 else None for w in which]
    return out


def departures_per_day(
    zones: gpd.GeoDataFrame, stops: gpd.GeoDataFrame, *, radius_m: float = _DEFAULT_STOP_BUFFER_M
) -> pd.Series:
    """Departures on the GTFS reference day at the best-served stop of each zone.

    Departures (``departs_jour``) at the best-served stop inside each zone or within
    ``radius_m``; NA when the feed gave no departures.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=METRIC_CRS)
    >>> s = gpd.GeoDataFrame({"stop_id": ["a"], "departs_jour": [40]},
    ...     geometry=[shapely.Point(300, 50)], crs=METRIC_CRS)
    >>> departures_per_day(z, s).tolist()
    [40.0]
    """
    if "departs_jour" not in stops or not stops["departs_jour"].notna().any():
        return pd.Series(pd.NA, index=zones.index, dtype="Float64", name="departs_jour")
    per_stop = pd.to_numeric(stops["departs_jour"], errors="coerce").fillna(0).to_numpy(float)
    best, _ = _best_near(len(zones), _stops_near(zones, stops, radius_m), per_stop)
    return pd.Series(best, index=zones.index, dtype="Float64", name="departs_jour")


def served_stop_distance(
    zones: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
    stop_hours: pd.DataFrame | None = None,
    *,
    weekday: int | None = None,
    hour: int | None = None,
) -> pd.Series:
    """Distance (m) from each zone's centre to the nearest served stop.

    Served at ``weekday`` and ``hour`` (with ``stop_hours``), or during the reference day
    (``departs_jour`` > 0). A stop whose departures are unknown (``NA``, a feed without
    timetables) is not served; a stops layer without ``departs_jour`` counts every stop.
    NA when no stop is served; beyond the imported feeds' coverage, the caller masks the
    distance (:func:`territory.analysis.transit_coverage.zone_transit_states`).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=METRIC_CRS)
    >>> s = gpd.GeoDataFrame({"stop_id": ["a", "b"], "departs_jour": [0, 12]},
    ...     geometry=[shapely.Point(50, 150), shapely.Point(50, 1050)], crs=METRIC_CRS)
    >>> served_stop_distance(z, s).tolist()
    [1000.0]
    """
    sg, ok = points(stops, "arrêts")
    if stop_hours is not None:
        if weekday is None or hour is None:
            raise ValidationError("served_stop_distance : weekday et hour requis avec stop_hours")
        _check_moment(weekday, hour)
        ok &= _per_stop(stops, stop_hours, weekday, hour) > 0
    elif "departs_jour" in stops:  # unknown departures (NA): not a served stop
        ok &= pd.to_numeric(stops["departs_jour"], errors="coerce").fillna(0).to_numpy() > 0
    centres = np.asarray(zone_centres(zones).to_numpy(), dtype=object)
    dist, _ = nearest(centres, sg[ok])
    out = pd.Series(dist, index=zones.index, dtype="Float64")
    return out.where(np.isfinite(dist)).rename("distance_arret_desservi")


def _check_moment(weekday: int, hour: int) -> None:
    if not (0 <= weekday <= 6 and 0 <= hour <= 23):
        raise ValidationError(
            f"moment invalide (jour {weekday}, heure {hour}) : jour 0 (lundi) à 6, heure 0 à 23"
        )


def _norm_label(text: object) -> str:
    raw = "" if text is None or text is pd.NA else str(text)
    return unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().lower()


def _is_rural_label(label: object) -> bool | None:
    text = _norm_label(label)
    if not text or text == "nan":
        return None
    return "rura" in text or "peu dense" in text


def rural_labels(labels: pd.Series) -> pd.Series:
    """Whether each INSEE density label is a rural one (NA when there is no label).

    Examples
    --------
    >>> rural_labels(pd.Series(["Bourgs ruraux", "Petites villes", None])).tolist()
    [True, False, <NA>]
    """
    return pd.Series([_is_rural_label(v) for v in labels], index=labels.index, dtype="boolean")


def rural_zones(zones: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> pd.Series:
    """Whether each zone is rural, from the density label of the commune under its centre.

    The label of the INSEE density grid (``densite_libelle``) is read, never a level
    number, since public files disagree on the numbering: "Bourgs ruraux", "Rural à
    habitat dispersé / très dispersé" (7 levels) and "Peu dense / Très peu dense"
    (3-4 levels) are rural.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> c = gpd.GeoDataFrame({"densite_libelle": ["Bourgs ruraux", "Petites villes"]},
    ...     geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs=METRIC_CRS)
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(1, 1, 2, 2), shapely.box(15, 1, 16, 2)],
    ...     crs=METRIC_CRS)
    >>> rural_zones(z, c).tolist()
    [True, False]
    """
    if "densite_libelle" not in communes:
        return pd.Series(pd.NA, index=zones.index, dtype="boolean", name="rural")
    flags = np.array([_is_rural_label(v) for v in communes["densite_libelle"]], dtype=object)
    centres = np.asarray(zone_centres(zones).to_numpy(), dtype=object)
    cg = metric_geometries(communes, "communes")
    pi, ci = shapely.STRtree(cg).query(centres, predicate="within")
    values = np.full(len(zones), None, dtype=object)
    first = ~pd.Series(pi).duplicated().to_numpy()
    values[pi[first]] = flags[ci[first]]
    return pd.Series(values, index=zones.index, dtype="boolean", name="rural")


def mobility_barrier(
    departures: pd.Series,
    stop_distance: pd.Series,
    rural: pd.Series,
    *,
    radius_m: float = _DEFAULT_STOP_BUFFER_M,
    far_m: float = BARRIER_FAR_M,
) -> pd.Series:
    """Mobility-barrier index in [0, 1]: the mean of its known parts.

    Its parts:

    - no departure within ``radius_m`` at the chosen hour (1) or some (0);
    - distance to the nearest served stop: 0 up to ``radius_m``, 1 from ``far_m``,
      linear between (1 when no stop is served at all);
    - rural zone (1) or not (0).

    Examples
    --------
    >>> mobility_barrier(pd.Series([0.0, 4.0]), pd.Series([2750.0, 100.0]),
    ...                  pd.Series([True, False], dtype="boolean")).tolist()
    [0.8333333333333334, 0.0]
    """
    dep = pd.to_numeric(departures, errors="coerce").astype("Float64")
    no_service = (dep <= 0).astype("Float64")
    dist = pd.to_numeric(stop_distance, errors="coerce").astype("Float64")
    far = ((dist - radius_m) / (far_m - radius_m)).clip(0, 1).fillna(1.0)
    parts = pd.DataFrame(
        {
            "service": no_service,
            "distance": far,
            "rural": rural.astype("Float64"),
        }
    )
    return parts.mean(axis=1, skipna=True).astype("Float64").rename("barriere_mobilite")
