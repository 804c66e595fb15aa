"""Candidate places generated for any territory, and their coverage of the priority zones.

No team file and no OpenStreetMap extract is needed for a first plan:

* :func:`qpv_places`: one point inside each QPV (its centroid when inside, else its
  representative point), a « quartier prioritaire (cœur de QPV) »;
* :func:`centre_places`: each commune's centre (its representative point), a
  « centre-bourg » (a mairie imported from OpenStreetMap replaces it, see
  :func:`territory.rounds.week.candidate_places`);
* :func:`transit_places`: the stations and interchanges of the GTFS stops (train or
  metro, or a GTFS station where three lines or more meet: « gare / pôle d'échanges »),
  and in each commune its busiest bus stop when it has at least ``min_departures``
  departures a day (« arrêt de bus »), never every bus stop.

:func:`merge_places` puts the team's own places (imported, from OpenStreetMap, created
on the map) and the places generated from the current layers together: the team's win
on the same spot, and :func:`sources_note` says how many came from where.

:func:`place_coverage` counts, for each priority zone (every QPV, every commune holding
one, every rural commune), its candidate places by kind; :func:`coverage_notes` says
which zones have none.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint

from territory.crs import METRIC_CRS, STORAGE_CRS

__all__ = [
    "CENTRE",
    "COLUMNS",
    "GENERATED",
    "QPV_CORE",
    "QPV_PRIORITY",
    "SAME_SPOT",
    "STATION",
    "STOP",
    "centre_places",
    "coverage_notes",
    "is_generated",
    "merge_places",
    "place_coverage",
    "prefer_mairies",
    "qpv_places",
    "sources_note",
    "transit_places",
]

QPV_CORE = "quartier prioritaire (cœur de QPV)"
CENTRE = "centre-bourg"
STATION = "gare / pôle d'échanges"
STOP = "arrêt de bus"
COLUMNS = ["id", "nom", "type", "zone", "duree", "priorite", "horaires", "source"]
"""Columns of a candidate places layer (plus its point geometry)."""
_HUB_LINES = 3  # a GTFS station where this many lines meet is an interchange
QPV_PRIORITY = 1.5
"""Priority of a QPV's heart: the neighbourhoods the programmes are paid to walk."""
GENERATED = {
    "partenaire-": "partenaire(s)",
    "arret-": "arrêt(s) ou gare(s)",
    "qpv-": "cœur(s) de QPV",
    "centre-": "centre(s)-bourg(s)",
}
"""Id prefix of each kind of generated place → its French plural, for the notes."""
SAME_SPOT = 30.0
"""Metres: a generated place this close to one of the team's gives way to it."""


def _layer(rows: list[dict[str, Any]], geometries: list[Any], crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, columns=COLUMNS, geometry=geometries, crs=crs)


def _zones(points: gpd.GeoSeries, communes: gpd.GeoDataFrame | None) -> list[str]:
    """The code of the commune under each point ("" outside every commune)."""
    if communes is None or not len(points):
        return [""] * len(points)
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points.reset_index(drop=True)),
        communes[["code", "geometry"]].to_crs(points.crs),
        predicate="within",
        how="left",
    )["code"]
    return ["" if pd.isna(c) else str(c) for c in joined.groupby(level=0).first().sort_index()]


def qpv_places(
    qpv: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame | None = None,
    *,
    metric_crs: str = METRIC_CRS,
) -> gpd.GeoDataFrame:
    """One « cœur de QPV » place inside each QPV of the latest generation.

    The point is the QPV's centroid when it falls inside the polygon, else its
    representative point (always inside); its ``zone`` is the commune under it.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> qpv = gpd.GeoDataFrame({"code": ["QN01401M"], "nom": ["Grâce de Dieu"],
    ...                         "generation": [2024]},
    ...                        geometry=[box(-0.36, 49.16, -0.35, 49.17)], crs=4326)
    >>> qpv_places(qpv)[["id", "nom", "type"]].to_dict("records")[0]["type"]
    'quartier prioritaire (cœur de QPV)'
    """
    if qpv is None or not len(qpv):
        return _layer([], [], STORAGE_CRS)
    if "generation" in qpv:
        generation = pd.to_numeric(qpv["generation"], errors="coerce")
        if generation.notna().any():
            qpv = qpv[generation == generation.max()]
    shapes = qpv[~(qpv.geometry.isna() | qpv.geometry.is_empty)].to_crs(metric_crs)
    points = []
    for polygon in shapes.geometry:
        centroid = polygon.centroid
        points.append(centroid if polygon.contains(centroid) else polygon.representative_point())
    located = gpd.GeoSeries(points, crs=metric_crs)
    zones = _zones(located, communes)
    rows = [
        {
            "id": f"qpv-{code}",
            "nom": f"Cœur du QPV {nom}".strip(),
            "type": QPV_CORE,
            "zone": zone,
            "duree": 60.0,
            "priorite": QPV_PRIORITY,
            "horaires": "",
            "source": f"généré : point intérieur du QPV {code}",
        }
        for code, nom, zone in zip(
            shapes["code"].astype(str), shapes.get("nom", "").astype(str), zones, strict=True
        )
    ]
    return _layer(rows, points, metric_crs).to_crs(STORAGE_CRS)


def centre_places(communes: gpd.GeoDataFrame, *, metric_crs: str = METRIC_CRS) -> gpd.GeoDataFrame:
    """One « centre-bourg » place per commune, at its representative point.

    A commune's representative point is inside it, near its middle; without an address
    base of points of interest it stands for the chef-lieu. Import the mairies from
    OpenStreetMap (``amenity=townhall``) to put the centre where it is.
    """
    if communes is None or not len(communes):
        return _layer([], [], STORAGE_CRS)
    shapes = communes[~(communes.geometry.isna() | communes.geometry.is_empty)]
    shapes = shapes.to_crs(metric_crs)
    points = list(shapes.geometry.representative_point())
    names = shapes["nom"].astype(str) if "nom" in shapes else shapes["code"].astype(str)
    rows = [
        {
            "id": f"centre-{code}",
            "nom": f"Centre-bourg – {nom}",
            "type": CENTRE,
            "zone": str(code),
            "duree": 45.0,
            "priorite": 1.0,
            "horaires": "",
            "source": "généré : centre de la commune (point représentatif)",
        }
        for code, nom in zip(shapes["code"].astype(str), names, strict=True)
    ]
    return _layer(rows, points, metric_crs).to_crs(STORAGE_CRS)


def transit_places(
    stops: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame | None = None,
    *,
    min_departures: int = 40,
    merge_distance: float = 150.0,
    metric_crs: str = METRIC_CRS,
) -> gpd.GeoDataFrame:
    """Stations and interchanges, and each commune's busiest bus stop.

    Stops are grouped into hubs: by their GTFS station (``station`` column) when they
    have one, else by name within ``merge_distance`` metres. A hub is a « gare / pôle
    d'échanges » when a train or metro serves it (``ferre``) or when it is a GTFS
    station where at least three lines meet; priority ``1 + log10(departures /
    min_departures)``, from 1 to 2. Of the other hubs, each commune keeps its busiest one
    with at least ``min_departures`` departures a day, an « arrêt de bus » of priority 1:
    a place where people pass, no better than a QPV's heart (without ``communes``, every
    such hub).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> stops = gpd.GeoDataFrame(
    ...     {"stop_id": ["1", "2", "3"], "nom": ["Gare", "Gare", "Mairie"],
    ...      "departs_jour": [120, 80, 12], "ferre": [True, False, False]},
    ...     geometry=[Point(3.42, 46.12), Point(3.4205, 46.1201), Point(3.43, 46.13)],
    ...     crs="EPSG:4326")
    >>> transit_places(stops)[["nom", "type", "priorite"]].to_dict("records")
    [{'nom': 'Gare', 'type': "gare / pôle d'échanges", 'priorite': 1.7}]
    """
    if stops is None or not len(stops):
        return _layer([], [], STORAGE_CRS)
    projected = stops[~(stops.geometry.isna() | stops.geometry.is_empty)].to_crs(metric_crs)
    hubs = _hubs(projected, merge_distance)
    if not hubs:
        return _layer([], [], STORAGE_CRS)
    zones = _zones(gpd.GeoSeries([h["geometry"] for h in hubs], crs=metric_crs), communes)
    busiest: dict[str, int] = {}
    for k, hub in enumerate(hubs):
        hub["zone"] = zones[k]
        station = hub["rail"] or (hub["station"] and len(hub["lines"]) >= _HUB_LINES)
        hub["kind"] = STATION if station else STOP
        if not station and hub["departs"] >= min_departures:
            key = hub["zone"] if communes is not None else f"#{k}"
            if key not in busiest or hub["departs"] > hubs[busiest[key]]["departs"]:
                busiest[key] = k
    kept = [k for k, hub in enumerate(hubs) if hub["kind"] == STATION or k in set(busiest.values())]
    rows, geometries = [], []
    for k in kept:
        hub = hubs[k]
        ratio = hub["departs"] / max(min_departures, 1)
        busy = max(1.0, 1 + math.log10(ratio)) if ratio > 0 else 1.0
        lines = f", lignes {', '.join(sorted(hub['lines']))}" if hub["lines"] else ""
        rows.append(
            {
                "id": f"arret-{hub['stop_id']}",
                "nom": hub["nom"],
                "type": hub["kind"],
                "zone": hub["zone"],
                "duree": 30.0,
                "priorite": round(min(busy, 2.0), 2) if hub["kind"] == STATION else 1.0,
                "horaires": "",
                "source": f"arrêt de transport ({hub['departs']} départs/jour{lines})",
            }
        )
        geometries.append(hub["geometry"])
    return _layer(rows, geometries, metric_crs).to_crs(STORAGE_CRS)


def _hubs(stops: gpd.GeoDataFrame, merge_distance: float) -> list[dict[str, Any]]:
    """Stops merged into hubs: by GTFS station, else same name within ``merge_distance``."""
    n = len(stops)
    names = stops["nom"].fillna("").astype(str).str.strip().to_numpy()
    departures = pd.to_numeric(stops["departs_jour"], errors="coerce").fillna(0).to_numpy()
    station = stops.get("station", pd.Series("", index=stops.index)).fillna("").astype(str)
    rail = stops.get("ferre", pd.Series(False, index=stops.index)).fillna(False).astype(bool)
    lines = stops.get("lignes", pd.Series("", index=stops.index)).fillna("").astype(str)
    # plain arrays: one pandas lookup per stop was most of the candidate places' time
    stations, rails, served_by = station.to_numpy(), rail.to_numpy(), lines.to_numpy()
    ids = stops["stop_id"].to_numpy()
    geometry = np.asarray(stops.geometry.to_numpy(), dtype=object)
    groups: list[list[int]] = []
    by_station: dict[str, list[int]] = {}
    loose: dict[str, list[int]] = {}
    for i in range(n):
        key = stations[i].strip()
        if key and key.lower() != "nan":
            by_station.setdefault(key, []).append(i)
        elif names[i]:
            loose.setdefault(names[i], []).append(i)
    groups.extend(by_station.values())
    for members in loose.values():
        left = np.asarray(members)
        while len(left):
            near = shapely.distance(geometry[left], geometry[left[0]]) <= merge_distance
            groups.append([int(i) for i in left[near]])
            left = left[~near]
    hubs = []
    for members in groups:
        served = {x.strip() for i in members for x in served_by[i].split(",") if x.strip()}
        hubs.append(
            {
                "stop_id": str(ids[members[0]]),
                "nom": Counter(names[i] for i in members if names[i]).most_common(1)[0][0]
                if any(names[i] for i in members)
                else str(ids[members[0]]),
                "departs": int(sum(departures[i] for i in members)),
                "rail": bool(rails[members].any()),
                "station": bool(stations[members[0]].strip()),
                "lines": served,
                "geometry": MultiPoint(list(geometry[members])).centroid,
            }
        )
    return hubs


def prefer_mairies(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop a commune's generated centre when another « centre-bourg » (its mairie) is known.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> layer = gpd.GeoDataFrame(
    ...     {"id": ["centre-14118", "osm-node-1", "centre-14327"], "type": [CENTRE] * 3,
    ...      "zone": ["14118", "14118", "14327"]}, geometry=[Point(0, 0)] * 3, crs=4326)
    >>> list(prefer_mairies(layer)["id"])
    ['osm-node-1', 'centre-14327']
    """
    if not len(places) or "type" not in places:
        return places
    ids = places["id"].astype(str)
    generated = ids.str.startswith("centre-")
    centre = places["type"].astype(str) == CENTRE
    known = set(places.loc[centre & ~generated, "zone"].astype(str))
    drop = generated & places["zone"].astype(str).isin(known)
    return places[~drop].reset_index(drop=True)


# --------------------------------------------------------------------------- coverage
def place_coverage(
    places: gpd.GeoDataFrame,
    *,
    communes: gpd.GeoDataFrame | None = None,
    qpv: gpd.GeoDataFrame | None = None,
    zones: Collection[str] | None = None,
    metric_crs: str = METRIC_CRS,
) -> pd.DataFrame:
    """Candidate places of each priority zone, by kind.

    A QPV (latest generation) counts the places inside its polygon (50 m around it, for
    a place drawn on its edge); a commune counts the places whose ``zone`` is its code.
    The priority communes are ``zones`` (default: every commune with a QPV and every
    rural one, INSEE density level 5 to 7).

    Returns
    -------
    pandas.DataFrame
        One row per zone: ``zone`` (code), ``nom``, ``genre`` (``QPV`` or ``commune``),
        ``lieux`` (count), ``types`` (French, e.g. « 2 parc, 1 centre-bourg »),
        ``partenaires`` (count of partner premises among them).
    """
    rows: list[dict[str, Any]] = []
    kinds = places["type"].astype(str) if len(places) else pd.Series(dtype=str)

    def describe(selected: pd.Series) -> tuple[int, str, int]:
        counts = kinds[selected].value_counts()
        text = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        return int(selected.sum()), text, int(counts.get("local partenaire", 0))

    if qpv is not None and len(qpv):
        if "generation" in qpv:
            generation = pd.to_numeric(qpv["generation"], errors="coerce")
            if generation.notna().any():
                qpv = qpv[generation == generation.max()]
        shapes = qpv.to_crs(metric_crs)
        points = places.to_crs(metric_crs).geometry if len(places) else gpd.GeoSeries()
        for row in shapes.itertuples():
            inside = (
                points.within(row.geometry.buffer(50)) if len(places) else pd.Series(dtype=bool)
            )
            n, text, partners = describe(pd.Series(inside.to_numpy(), index=kinds.index))
            rows.append(
                {
                    "zone": str(row.code),
                    "nom": str(getattr(row, "nom", "")),
                    "genre": "QPV",
                    "lieux": n,
                    "types": text,
                    "partenaires": partners,
                }
            )
    if communes is not None and len(communes):
        if zones is None:
            level = pd.to_numeric(
                communes["densite"]
                if "densite" in communes
                else pd.Series(pd.NA, index=communes.index),
                errors="coerce",
            )
            with_qpv: set[str] = set()
            if qpv is not None and "communes" in qpv:
                for text in qpv["communes"].fillna(""):
                    with_qpv |= {c.strip() for c in str(text).split(",") if c.strip()}
            codes = communes["code"].astype(str)
            zones = [c for c, lv in zip(codes, level, strict=True) if c in with_qpv or lv >= 5]
        names = dict(zip(communes["code"].astype(str), communes.get("nom", ""), strict=True))
        place_zone = places["zone"].fillna("").astype(str) if len(places) else pd.Series()
        for code in zones:
            n, text, partners = describe(pd.Series(place_zone == code, index=kinds.index))
            rows.append(
                {
                    "zone": code,
                    "nom": str(names.get(code, "")),
                    "genre": "commune",
                    "lieux": n,
                    "types": text,
                    "partenaires": partners,
                }
            )
    columns = ["zone", "nom", "genre", "lieux", "types", "partenaires"]
    return pd.DataFrame(rows, columns=columns)


def coverage_notes(coverage: pd.DataFrame, *, limit: int = 12) -> list[str]:
    """« zone X : aucun lieu candidat (…) » for each priority zone without a place.

    Examples
    --------
    >>> table = pd.DataFrame({"zone": ["QN01401M", "14118"], "nom": ["Heuzé", "Caen"],
    ...                       "genre": ["QPV", "commune"], "lieux": [0, 3]})
    >>> print(*coverage_notes(table))
    zone Heuzé (QPV QN01401M) : aucun lieu candidat (ni partenaire, ni QPV, ni point d'intérêt)
    """
    empty = coverage[coverage["lieux"] == 0]
    notes = [
        f"zone {row.nom} ({row.genre} {row.zone}) : aucun lieu candidat "
        "(ni partenaire, ni QPV, ni point d'intérêt)"
        for row in empty.head(limit).itertuples()
    ]
    if len(empty) > limit:
        notes.append(
            f"… et {len(empty) - limit} autre(s) zone(s) prioritaire(s) sans lieu candidat"
        )
    return notes


# ------------------------------------------------------------------------ own + generated
def is_generated(ids: pd.Series) -> pd.Series:
    """Whether each place id is one of a generated place (:data:`GENERATED` prefixes)."""
    text = ids.astype(str)
    return text.str.startswith(tuple(GENERATED))


def merge_places(
    own: gpd.GeoDataFrame,
    generated: gpd.GeoDataFrame,
    *,
    removed: Collection[str] = (),
    metric_crs: str = METRIC_CRS,
) -> gpd.GeoDataFrame:
    """The team's places and the generated ones, in EPSG:4326 (generated first).

    A generated place is left out when its id was removed by hand (``removed``), when
    one of the team's places has its id, or lies within :data:`SAME_SPOT` metres of it:
    the team's place, which it knows, wins. A mairie among the team's places replaces
    its commune's generated centre (:func:`prefer_mairies`). What was left out is
    counted in the result's ``attrs["places"]`` for :func:`sources_note`.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> own = gpd.GeoDataFrame({"id": ["import-l-2"], "type": ["parc"], "zone": ["1"]},
    ...                        geometry=[Point(2.0, 46.0)], crs=4326)
    >>> generated = gpd.GeoDataFrame(
    ...     {"id": ["qpv-Q1", "centre-1", "arret-7"], "type": [QPV_CORE, CENTRE, STOP],
    ...      "zone": ["1"] * 3},
    ...     geometry=[Point(2.0001, 46.0), Point(2.01, 46.0), Point(2.02, 46.0)], crs=4326)
    >>> merged = merge_places(own, generated, removed=["arret-7"])
    >>> list(merged["id"]), merged.attrs["places"]["same_spot"]
    (['centre-1', 'import-l-2'], 1)
    """
    own = own.to_crs(STORAGE_CRS)
    generated = generated.to_crs(STORAGE_CRS)
    removed_here = generated["id"].astype(str).isin({str(i) for i in removed})
    generated = generated[~removed_here]
    same_id = generated["id"].astype(str).isin(set(own["id"].astype(str)))
    near = pd.Series(False, index=generated.index)
    if len(own) and len(generated):
        mine = own[~(own.geometry.isna() | own.geometry.is_empty)].to_crs(metric_crs)
        theirs = generated.to_crs(metric_crs)
        close = gpd.sjoin_nearest(
            theirs[["geometry"]], mine[["geometry"]], max_distance=SAME_SPOT, how="inner"
        )
        near = pd.Series(generated.index.isin(close.index), index=generated.index)
    kept = generated[~(same_id | near)]
    merged = pd.concat([kept, own], ignore_index=True) if len(own) else kept
    merged = prefer_mairies(gpd.GeoDataFrame(merged, geometry="geometry", crs=STORAGE_CRS))
    merged = merged.reset_index(drop=True)
    merged.attrs["places"] = {
        "removed": int(removed_here.sum()),
        "same_spot": int((same_id | near).sum()),
        "mairies": len(kept) + len(own) - len(merged),
    }
    return merged


def sources_note(places: gpd.GeoDataFrame) -> str:
    """Where the candidate places come from, in French (one line, for the plan's notes).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> layer = gpd.GeoDataFrame({"id": ["qpv-Q1", "centre-1", "osm-node-4"]},
    ...                          geometry=[Point(2, 46)] * 3, crs=4326)
    >>> layer.attrs["places"] = {"removed": 1, "same_spot": 2, "mairies": 0}
    >>> print(sources_note(layer))  # doctest: +NORMALIZE_WHITESPACE
    Lieux candidats : 1 de l'équipe (importés, OpenStreetMap ou créés sur la carte) et 2
    générés des couches actuelles (1 cœur(s) de QPV, 1 centre(s)-bourg(s)) ; écartés : 2
    généré(s) au même endroit qu'un lieu de l'équipe, 1 retiré(s) à la main.
    """
    ids = places["id"].astype(str) if len(places) else pd.Series(dtype=str)
    generated = is_generated(ids)
    kinds = [
        f"{int(ids.str.startswith(prefix).sum())} {label}"
        for prefix, label in GENERATED.items()
        if ids.str.startswith(prefix).any()
    ]
    text = (
        f"Lieux candidats : {int((~generated).sum())} de l'équipe (importés, OpenStreetMap "
        f"ou créés sur la carte) et {int(generated.sum())} générés des couches actuelles"
        + (f" ({', '.join(kinds)})" if kinds else "")
    )
    counts = places.attrs.get("places", {})
    left = [
        f"{n} {what}"
        for n, what in (
            (counts.get("same_spot", 0), "généré(s) au même endroit qu'un lieu de l'équipe"),
            (counts.get("mairies", 0), "centre(s)-bourg(s) remplacé(s) par la mairie"),
            (counts.get("removed", 0), "retiré(s) à la main"),
        )
        if n
    ]
    return text + (f" ; écartés : {', '.join(left)}." if left else ".")
