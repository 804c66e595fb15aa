"""The geo adapter of the round planner: places layers, travel times, suggestions.

* :func:`plan_rounds` reads a places layer, checks its CRS, projects places and team
  bases to a metric CRS (:data:`territory.crs.METRIC_CRS`), builds the travel times of
  each team's mode and delegates to :func:`territory.rounds.solver.plan_from_matrix`.
* :func:`travel_time_matrix`: walking, cycling and driving times from straight-line
  distances with the one travel model (:class:`territory.travel.TravelModel`: detour
  factor, speed and access time per mode, all in :class:`~territory.Settings`).
  Public-transport times come from the GTFS timetables when the workspace has them
  (:func:`territory.rounds.transit.transit_time_matrix`): walk to a stop, wait half the
  headway, ride, change, walk, never slower than walking. Without timetables, public
  transport is a speed plus a fixed access and waiting time, bounded by walking.
* :func:`places_from_frame` reads :class:`~territory.rounds.model.Place` objects from a
  table; :func:`suggest_places` proposes candidate places from the partners, the stations
  and busy stops, the QPV and the communes of a workspace
  (:mod:`territory.rounds.places`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from territory._errors import CRSError, ValidationError
from territory.crs import METRIC_CRS, STORAGE_CRS
from territory.hours import windows_from_opening_hours
from territory.rounds.model import Place, Plan, Team, Visit
from territory.rounds.solver import STABILITY, plan_from_matrix
from territory.rounds.transit import TRANSIT, TransitNetwork, transit_time_matrix
from territory.travel import TravelModel
from territory.vocab import MODES, place_kind

__all__ = ["places_from_frame", "plan_rounds", "suggest_places", "travel_time_matrix"]


def travel_time_matrix(
    xy: ArrayLike, mode: str, *, travel_model: TravelModel | None = None
) -> npt.NDArray[np.float64]:
    """Travel minutes between points from straight-line distances in metres.

    ``minutes = access + distance × detour / speed`` of ``mode`` in the travel model; 0
    between identical points; public transport is never slower than walking. When the
    model has a road network (:meth:`territory.travel.TravelModel.with_network`), walking,
    cycling and driving follow it (:mod:`territory.roads`).

    Parameters
    ----------
    xy
        Projected coordinates in metres, shape ``(n, 2)`` (Lambert-93 in mainland France).
    mode
        One of :data:`territory.vocab.MODES`.
    travel_model
        Detour factor, speeds and access times
        (``TravelModel.from_settings(settings)``; default: :class:`TravelModel` ``()``,
        the defaults of :class:`~territory.Settings`).

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` minutes.

    Examples
    --------
    >>> travel_time_matrix([[0, 0], [3000, 4000]], "marche").round(1).tolist()
    [[0.0, 86.7], [86.7, 0.0]]
    >>> travel_time_matrix([[0, 0], [3000, 4000]], "transports en commun").round(1).tolist()
    [[0.0, 36.0], [36.0, 0.0]]
    """
    if mode not in MODES:
        raise ValidationError(f"mode {mode!r} inconnu (attendu : {', '.join(MODES)})")
    model = travel_model if travel_model is not None else TravelModel()
    result = model.matrix(xy, mode)
    if mode == TRANSIT:
        result = np.minimum(result, model.matrix(xy, "marche"))
    return result


def places_from_frame(
    places: pd.DataFrame, *, week: date | None = None, default_duration: int = 45
) -> list[Place]:
    """Places from a table or layer (columns in French, as in the workspace).

    Columns: ``nom``, ``type`` (one of :data:`territory.vocab.KINDS`, or a spelling of
    :data:`territory.vocab.KIND_SPELLINGS`, e.g. ``gare``), optional ``id``
    (default: the index), ``zone``, ``duree`` (minutes), ``priorite`` and ``horaires``
    (OSM ``opening_hours``, read for ``week`` by
    :func:`~territory.hours.windows_from_opening_hours`; empty means any time) and
    ``visites_par_jour`` (most visits a day, default 1), ``nom_commune`` (the name of
    ``zone``, for the notes).
    Coordinates are taken from a point geometry when there is one.

    Examples
    --------
    >>> frame = pd.DataFrame({"nom": ["Marché"], "type": ["marché"],
    ...                       "horaires": ["Tu 08:00-12:30"]})
    >>> places_from_frame(frame)[0].windows
    {1: ((480, 750),)}
    """
    missing = [c for c in ("nom", "type") if c not in places.columns]
    if missing:
        raise ValidationError(f"lieux : colonne(s) {', '.join(missing)} manquante(s)")
    geometry = places.geometry if isinstance(places, gpd.GeoDataFrame) else None
    result = []
    for position, (label, row) in enumerate(places.iterrows()):
        x = y = None
        if geometry is not None:
            shape = geometry.iloc[position]
            if shape is not None and not shape.is_empty:
                point = shape if shape.geom_type == "Point" else shape.representative_point()
                x, y = float(point.x), float(point.y)
        hours = _cell(row, "horaires")
        result.append(
            Place(
                id=_cell(row, "id") or str(label),
                name=_cell(row, "nom"),
                kind=place_kind(_cell(row, "type")) or _cell(row, "type"),
                zone=_cell(row, "zone"),
                x=x,
                y=y,
                windows=windows_from_opening_hours(hours, week=week) if hours else None,
                duration=int(_number(row, "duree", default_duration)),
                priority=float(_number(row, "priorite", 1.0)),
                per_day=int(_number(row, "visites_par_jour", 1)),
                zone_name=_cell(row, "nom_commune"),
            )
        )
    return result


def _cell(row: pd.Series, column: str) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def _number(row: pd.Series, column: str, default: float) -> float:
    text = _cell(row, column).replace(",", ".")
    try:
        return float(text) if text else default
    except ValueError:
        raise ValidationError(
            f"lieu « {_cell(row, 'nom')} » : {column} {text!r} n'est pas un nombre"
        ) from None


def plan_rounds(
    places: gpd.GeoDataFrame,
    teams: Sequence[Team],
    *,
    value: ArrayLike | None = None,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    week: date | None = None,
    base_crs: Any = None,
    metric_crs: str = METRIC_CRS,
    travel_model: TravelModel | None = None,
    travel: Mapping[str, ArrayLike] | None = None,
    transit: TransitNetwork | None = None,
    first_slot: int = 8 * 60,
    slot_minutes: int = 120,
    required_zones: Collection[str] = (),
    max_visits_per_place: int | None = None,
    max_candidates: int | None = 400,
    locked: Sequence[Visit] = (),
    zone_caps: Mapping[str, int] | None = None,
    outside_sector: float | None = None,
    previous: Sequence[Visit] = (),
    stability: float = STABILITY,
    time_limit: float = 5.0,
    decompose: bool = True,
    solution_limit: int | None = None,
) -> Plan:
    """Plan a week of rounds on a places layer (the geo adapter).

    Checks the layer's CRS, projects places and team bases to ``metric_crs``, builds the
    travel times of each team mode and calls
    :func:`~territory.rounds.solver.plan_from_matrix`. Times come, in this order, from
    ``travel`` (matrices given by the caller), from the timetables of ``transit`` for
    public transport (:func:`~territory.rounds.transit.transit_time_matrix`), else from
    :func:`travel_time_matrix` (straight-line distance × detour / speed + access time, the
    ``travel_model``).

    Parameters
    ----------
    places
        Places layer in any CRS, columns read by :func:`places_from_frame` (``nom``,
        ``type``, optional ``id``, ``zone``, ``duree``, ``priorite``, ``horaires``).
    teams
        Teams; every team needs a ``base``.
    value, days, first_slot, slot_minutes, required_zones, max_visits_per_place, \
max_candidates, locked, zone_caps, outside_sector, previous, stability, time_limit, \
decompose, solution_limit
        As in :func:`~territory.rounds.solver.plan_from_matrix`.
    week
        Monday of the planned week: opening hours are read on its dates (public holidays).
    base_crs
        CRS of the team bases (default: the layer's CRS).
    metric_crs
        Projected CRS in metres for distances: Lambert-93 in mainland France, the local
        UTM CRS overseas (``"EPSG:2975"`` in La Réunion).
    travel_model
        Detour factor, speeds and access times by mode, for walking too in the transit
        times (``TravelModel.from_settings(settings)``; default: the defaults of
        :class:`~territory.Settings`).
    travel
        Precomputed travel minutes keyed by mode or team name, used as they are (rows and
        columns: the places in layer order, then the base of each team), as in
        :func:`~territory.rounds.solver.plan_from_matrix`.
    transit
        A timetable network (:func:`territory.rounds.transit.load_transit_network`) in
        ``metric_crs``: the teams moving by public transport get door-to-door times from
        it instead of an average speed.

    Returns
    -------
    Plan

    Raises
    ------
    CRSError
        When the layer has no CRS, or ``transit`` is in another CRS than ``metric_crs``.
    ValidationError
        When a place has no geometry, a team no base, or
        :func:`~territory.rounds.solver.plan_from_matrix` refuses the inputs.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> layer = gpd.GeoDataFrame(
    ...     {"nom": ["Parc", "Gare"], "type": ["parc", "gare"], "zone": ["QN03001M", ""]},
    ...     geometry=[Point(2.3522, 48.8566), Point(2.3600, 48.8600)], crs="EPSG:4326")
    >>> team = Team("Équipe", "marche", base=(2.3550, 48.8580),
    ...             availability={2: ((14 * 60, 17 * 60),)})
    >>> plan = plan_rounds(layer, [team], days=(2,), required_zones={"QN03001M"},
    ...                    time_limit=0.5)
    >>> sorted(v.place for v in plan.visits), plan.notes
    (['0', '1'], ())
    """
    if places.crs is None:
        raise CRSError(
            "la couche des lieux ne déclare pas de système de coordonnées : "
            "utilisez set_crs (EPSG:4326 pour des longitudes/latitudes)"
        )
    if transit is not None and transit.crs != metric_crs:
        raise CRSError(
            f"réseau de transport en {transit.crs} mais distances en {metric_crs} : "
            f"construisez le réseau avec metric_crs={metric_crs!r}"
        )
    problems = []
    empty = places.geometry.isna() | places.geometry.is_empty
    if empty.any():
        rows = ", ".join(str(i) for i in places.index[empty][:10])
        problems.append(f"lieux sans géométrie (à géocoder) : {rows}")
    problems += [f"équipe « {t.name} » : base manquante" for t in teams if t.base is None]
    if problems:
        raise ValidationError(problems)
    projected = places.to_crs(metric_crs)
    candidates = places_from_frame(projected, week=week)
    bases = gpd.GeoSeries.from_xy(
        [t.base[0] for t in teams if t.base is not None],
        [t.base[1] for t in teams if t.base is not None],
        crs=base_crs if base_crs is not None else places.crs,
    ).to_crs(metric_crs)
    xy = np.column_stack(
        [
            np.array([p.x for p in candidates] + list(bases.x), dtype=np.float64),
            np.array([p.y for p in candidates] + list(bases.y), dtype=np.float64),
        ]
    )
    model = travel_model if travel_model is not None else TravelModel()
    if model.network is not None and model.network.crs != metric_crs:
        model = model.with_network(None)  # a network in another CRS: straight lines
    given = dict(travel or {})
    matrices: dict[str, ArrayLike] = {}
    for mode in {t.mode for t in teams if t.name not in given} - set(given):
        if mode == TRANSIT and transit is not None:
            matrices[mode] = transit_time_matrix(xy, transit, travel_model=model)
        elif mode in MODES:
            matrices[mode] = travel_time_matrix(xy, mode, travel_model=model)
    return plan_from_matrix(
        candidates,
        teams,
        {**matrices, **given},
        value=value,
        days=days,
        first_slot=first_slot,
        slot_minutes=slot_minutes,
        required_zones=required_zones,
        max_visits_per_place=max_visits_per_place,
        max_candidates=max_candidates,
        locked=locked,
        zone_caps=zone_caps,
        outside_sector=outside_sector,
        previous=previous,
        stability=stability,
        time_limit=time_limit,
        decompose=decompose,
        solution_limit=solution_limit,
    )


# --------------------------------------------------------------------------------------
# Place suggestions


def suggest_places(
    partners: gpd.GeoDataFrame | None = None,
    stops: gpd.GeoDataFrame | None = None,
    *,
    zones: gpd.GeoDataFrame | None = None,
    zone_column: str = "code",
    qpv: gpd.GeoDataFrame | None = None,
    communes: gpd.GeoDataFrame | None = None,
    min_departures: int = 40,
    merge_distance: float = 150.0,
    metric_crs: str = METRIC_CRS,
) -> gpd.GeoDataFrame:
    """Candidate places of a workspace: partners, transit hubs, QPV cores, commune centres.

    * Each geocoded partner becomes a ``local partenaire`` with its opening hours; a
      partner whose hours are unknown or unreadable is left out (« horaires inconnus »:
      a visit there could find it closed, and an empty value would mean any time).
    * Stations and interchanges become « gare / pôle d'échanges », and each commune's
      busiest bus stop (``min_departures`` a day at least) an « arrêt de bus »
      (:func:`territory.rounds.places.transit_places`; stops of one GTFS station, or of
      the same name within ``merge_distance`` metres, are one hub).
    * With ``qpv``: a point inside each QPV (:func:`~territory.rounds.places.qpv_places`);
      with ``communes``: each commune's centre
      (:func:`~territory.rounds.places.centre_places`).

    Parameters
    ----------
    partners
        Partners layer (``nom``, ``type``, ``type_libelle``, ``horaires``), any CRS.
    stops
        Stops layer (``stop_id``, ``nom``, ``departs_jour``, optional ``lignes``,
        ``station``, ``ferre``), any CRS.
    zones
        Optional polygons (QPV, communes) whose ``zone_column`` fills the ``zone`` column
        (default: ``communes``).
    qpv, communes
        QPV and communes layers: the generated places.
    min_departures
        Busy bus stop threshold (departures a day).
    merge_distance
        Stops of the same name closer than this (metres) are one hub.
    metric_crs
        Projected CRS for distances and merges.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``id``, ``nom``, ``type``, ``zone``, ``duree``, ``priorite``,
        ``horaires``, ``source``, ready for :func:`plan_rounds`.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> stops = gpd.GeoDataFrame(
    ...     {"stop_id": ["1", "2", "3"], "nom": ["Gare", "Gare", "Mairie"],
    ...      "departs_jour": [120, 80, 12]},
    ...     geometry=[Point(3.42, 46.12), Point(3.4205, 46.1201), Point(3.43, 46.13)],
    ...     crs="EPSG:4326")
    >>> suggest_places(stops=stops)[["nom", "type", "priorite"]].to_dict("records")
    [{'nom': 'Gare', 'type': 'arrêt de bus', 'priorite': 1.0}]
    """
    from territory.rounds.places import COLUMNS, centre_places, qpv_places, transit_places

    rows: list[dict[str, Any]] = []
    geometries: list[Any] = []
    if partners is not None and len(partners):
        if partners.crs is None:
            raise CRSError("la couche des partenaires ne déclare pas de système de coordonnées")
        located = partners[~(partners.geometry.isna() | partners.geometry.is_empty)]
        located = located.to_crs(metric_crs)
        for position, (label, row) in enumerate(located.iterrows()):
            if windows_from_opening_hours(_cell(row, "horaires")) is None:
                continue  # hours unknown or unreadable: never a place open at any time
            kind = _cell(row, "type_libelle") or _cell(row, "type")
            rows.append(
                {
                    "id": f"partenaire-{label}",
                    "nom": _cell(row, "nom"),
                    "type": "local partenaire",
                    "zone": "",
                    "duree": 45,
                    "priorite": 1.0,
                    "horaires": _cell(row, "horaires"),
                    "source": f"partenaire ({kind})" if kind else "partenaire",
                }
            )
            geometries.append(located.geometry.iloc[position])
    parts = [gpd.GeoDataFrame(rows, columns=COLUMNS, geometry=geometries, crs=metric_crs)]
    if stops is not None and len(stops):
        if stops.crs is None:
            raise CRSError("la couche des arrêts ne déclare pas de système de coordonnées")
        parts.append(
            transit_places(
                stops,
                communes,
                min_departures=min_departures,
                merge_distance=merge_distance,
                metric_crs=metric_crs,
            )
        )
    if qpv is not None and len(qpv):
        parts.append(qpv_places(qpv, communes, metric_crs=metric_crs))
    if communes is not None and len(communes):
        parts.append(centre_places(communes, metric_crs=metric_crs))
    result = pd.concat([p.to_crs(metric_crs) for p in parts], ignore_index=True)
    result = gpd.GeoDataFrame(result, geometry="geometry", crs=metric_crs)
    zones = zones if zones is not None else communes
    if zones is not None and len(result):
        joined = gpd.sjoin(
            result,
            zones[[zone_column, "geometry"]].to_crs(metric_crs),
            how="left",
            predicate="within",
        )
        joined = joined[~joined.index.duplicated(keep="first")]
        found = joined[zone_column].fillna("").astype(str).to_numpy()
        result["zone"] = np.where(found != "", found, result["zone"].fillna("").astype(str))
    result = result.to_crs(STORAGE_CRS).reset_index(drop=True)
    # Stored to 6 decimals, as the visits of a plan are: the field sheets time the same legs.
    return result.set_geometry(shapely.set_precision(result.geometry.array, 1e-6))
