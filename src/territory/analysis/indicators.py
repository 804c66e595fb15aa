"""Zone indicators: pure functions returning a Series aligned on the zones' index.

Zones are QPV, communes or 1 km cells (EPSG:3035 grid, see :mod:`territory.grid`) given
as a GeoDataFrame in any declared CRS, with a unique ``code`` column. Every indicator
returns a :class:`pandas.Series` on the same index, named after :data:`INDICATORS`,
which documents its French label, unit, source layers and method; the vintage of a
source is that of its workspace layer (:func:`indicator_sources`).

Distances are measured in Lambert-93 (EPSG:2154) from the **centre** of each zone (its
centroid, or a point on its surface when the centroid falls outside it), as the crow
flies; travel times multiply them by :data:`DETOUR_FACTOR` and divide by a constant
speed (:data:`WALK_KMH`, :data:`CAR_KMH`). Public-transport service counts stop events
(a bus passing at a stop) of the GTFS feed, per weekday and clock hour of a reference
week (:func:`stop_hours_table`): calendar, calendar_dates and stop_times are honoured by
:mod:`territory.io.gtfs`.

Contact figures come only out of :func:`territory.privacy.protect.protect`:
:func:`protected_contacts` counts contacts per zone privately and hands the counts, with
the zones as parts, to the gate. Rates are then computed from protected counts only, and
never when their denominator is under k (``privacy.md`` rule 5). Contact windows are
whole calendar months (:func:`contact_windows`), a fixed, coarse choice (rule 4).

Examples
--------
>>> import geopandas as gpd, shapely
>>> zones = gpd.GeoDataFrame(
...     {"code": ["A", "B"], "population": [2400, 150]},
...     geometry=[shapely.box(700_000, 6_600_000, 701_000, 6_601_000),
...               shapely.box(705_000, 6_600_000, 706_000, 6_601_000)], crs=METRIC_CRS)
>>> partners = gpd.GeoDataFrame(
...     {"type": ["ML"], "horaires": ["Mo-Fr 09:00-17:00"]},
...     geometry=[shapely.Point(700_500, 6_609_500)], crs=METRIC_CRS)
>>> partner_distance(zones, partners, types=["ML"]).round().tolist()
[9000.0, 10296.0]
>>> travel_time(pd.Series([9000.0]), mode="car").round(1).tolist()
[14.0]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer

from territory._errors import CRSError, ValidationError
from territory.crs import METRIC_CRS
from territory.grid import GRID_CRS, cell_ids, parse_ids
from territory.hours import is_open
from territory.io.gtfs import GtfsFeed, departures_by_hour
from territory.privacy.protect import protect
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import PARTNER_TYPES

__all__ = [
    "AGE_COLUMN",
    "BARRIER_FAR_M",
    "CAR_KMH",
    "COVERAGE_MONTHS",
    "DETOUR_FACTOR",
    "HORS_RADARS",
    "INDICATORS",
    "PARTNER_PHRASES",
    "STOP_RADIUS_M",
    "WALK_KMH",
    "ZONE_KINDS",
    "ZONE_KIND_LABELS",
    "ContactWindows",
    "Indicator",
    "ZoneKind",
    "cells_in_zones",
    "contact_rate",
    "contact_trend",
    "contact_windows",
    "default_windows",
    "departures_per_day",
    "departures_per_hour",
    "hors_radars_share",
    "indicator_sources",
    "mobility_barrier",
    "nearest_partner",
    "open_partners",
    "partner_distance",
    "population",
    "protected_contacts",
    "protected_contacts_many",
    "rural_zones",
    "served_stop_distance",
    "stop_hours_table",
    "target_population",
    "travel_time",
    "zone_centres",
]

ZoneKind = Literal["commune", "qpv", "cell"]
ZONE_KINDS: tuple[ZoneKind, ...] = ("commune", "qpv", "cell")
ZONE_KIND_LABELS: dict[str, str] = {
    "commune": "Communes",
    "qpv": "Quartiers prioritaires (QPV)",
    "cell": "Carreaux de 1 km",
}

WALK_KMH = 4.5
"""Walking speed used for travel times (km/h)."""
CAR_KMH = 50.0
"""Average car speed used for travel times (km/h)."""
DETOUR_FACTOR = 1.3
"""Network distance / straight-line distance, applied to walking and car times alike."""
STOP_RADIUS_M = 500.0
"""Walking distance (m) within which a stop serves a zone."""
BARRIER_FAR_M = 5_000.0
"""Distance to a served stop (m) at which the barrier index's distance part saturates."""
COVERAGE_MONTHS = 3
"""Length (calendar months) of the two contact windows compared by the trend."""
AGE_COLUMN = "population_16_29"
"""Zone column holding the 16-29 population when age data exists (e.g. from Filosofi)."""
HORS_RADARS = "hors radars"
"""Contact status counted by :func:`hors_radars_share` (see ``contacts.STATUSES``)."""
"""French weekday names, 0 = Monday."""
REST = "__hors_zones__"
"""Index of the part that holds the contacts of the scope outside every zone."""

_TO_METRIC_FROM_GRID = Transformer.from_crs(GRID_CRS, METRIC_CRS, always_xy=True)


@dataclass(frozen=True)
class Indicator:
    """What an indicator measures, for the page, the exports and the reasons.

    Attributes
    ----------
    name
        Column / Series name.
    label_fr
        Short French label.
    unit
        Unit in French (``habitants``, ``m``, ``min``, ``part (0-1)``…).
    source
        French description of the source data and method.
    layers
        Workspace layers it is computed from (their vintages date it).
    """

    name: str
    label_fr: str
    unit: str
    source: str
    layers: tuple[str, ...]


def _registry() -> dict[str, Indicator]:
    base = [
        Indicator(
            "population",
            "Population",
            "habitants",
            "population légale des communes (INSEE, via geo.api.gouv.fr) ; pour les QPV et "
            "les carreaux sans population propre : population communale répartie au prorata "
            "de la surface (estimation)",
            ("communes",),
        ),
        Indicator(
            "population_cible",
            "Population cible (16-29 ans)",
            "habitants",
            f"colonne {AGE_COLUMN} quand la zone en dispose (données par âge) ; sinon la "
            "population totale, faute de données par âge",
            ("communes",),
        ),
        Indicator(
            "contacts_recents",
            f"Contacts des {COVERAGE_MONTHS} derniers mois (protégés)",
            "contacts (arrondis, secret statistique)",
            "journal des contacts, protégé par privacy.protect (seuil k, secret secondaire, "
            "arrondi) avec les zones pour parties",
            ("contacts",),
        ),
        Indicator(
            "contacts_precedents",
            f"Contacts des {COVERAGE_MONTHS} mois précédents (protégés)",
            "contacts (arrondis, secret statistique)",
            "journal des contacts, protégé comme ci-dessus",
            ("contacts",),
        ),
        Indicator(
            "contacts_pour_1000",
            f"Contacts pour 1 000 habitants ({COVERAGE_MONTHS} derniers mois)",
            "contacts pour 1 000 habitants",
            "contacts protégés / population × 1 000 ; non calculé si la population est "
            "sous k ou le nombre de contacts non publié",
            ("contacts", "communes"),
        ),
        Indicator(
            "tendance_contacts",
            "Évolution des contacts",
            "variation relative (-1 à +∞)",
            f"(contacts des {COVERAGE_MONTHS} derniers mois − contacts des {COVERAGE_MONTHS} "
            "précédents) / contacts précédents, sur comptes protégés ; non calculée si le "
            "dénominateur est sous k",
            ("contacts",),
        ),
        Indicator(
            "hors_radars_part",
            "Part des contacts « hors radars »",
            "part (0-1)",
            f"contacts « hors radars » / contacts, {COVERAGE_MONTHS} derniers mois, sur "
            "comptes protégés ; publiée seulement si les deux parties le sont",
            ("contacts",),
        ),
        Indicator(
            "distance_partenaire_ouvert",
            "Distance au partenaire ouvert le plus proche",
            "m",
            "distance à vol d'oiseau (Lambert-93) du centre de la zone au partenaire le plus "
            "proche ouvert au moment choisi (horaires OSM opening_hours, jours fériés)",
            ("partners",),
        ),
        Indicator(
            "departs_heure",
            "Départs par heure à moins de 500 m",
            "départs / heure",
            "passages à l'arrêt le mieux desservi situé dans la zone ou à moins de 500 m, "
            "pendant l'heure choisie, semaine de référence du GTFS (calendar, calendar_dates, "
            "stop_times)",
            ("stops", "stop_hours"),
        ),
        Indicator(
            "departs_jour",
            "Départs par jour à moins de 500 m",
            "départs / jour",
            "passages à l'arrêt le mieux desservi dans la zone ou à moins de 500 m, jour de "
            "référence du GTFS (utilisé quand la desserte par heure n'est pas disponible)",
            ("stops",),
        ),
        Indicator(
            "distance_arret_desservi",
            "Distance à l'arrêt desservi le plus proche",
            "m",
            "distance à vol d'oiseau (Lambert-93) du centre de la zone à l'arrêt le plus proche "
            "ayant au moins un départ à l'heure choisie (ou dans la journée)",
            ("stops", "stop_hours"),
        ),
        Indicator(
            "rural",
            "Zone rurale",
            "oui / non",
            "classe de la grille communale de densité (INSEE) de la commune sous le centre "
            "de la zone, lue dans son libellé (« rural », « bourgs ruraux », « peu dense »)",
            ("communes",),
        ),
        Indicator(
            "barriere_mobilite",
            "Indice de barrière de mobilité",
            "indice (0-1)",
            "moyenne de trois parts : aucun départ à moins de 500 m à l'heure choisie (0/1), "
            f"distance à l'arrêt desservi le plus proche (0 à 500 m, 1 à {BARRIER_FAR_M:g} m "
            "et au-delà), zone rurale (0/1)",
            ("stops", "stop_hours", "communes"),
        ),
    ]
    per_type = []
    for code, label in PARTNER_TYPES.items():
        per_type += [
            Indicator(
                f"distance_{code}",
                f"Distance : {label.lower()} la plus proche",
                "m",
                "distance à vol d'oiseau (Lambert-93) du centre de la zone au partenaire de "
                f"ce type le plus proche (type data·inclusion « {code} »)",
                ("partners",),
            ),
            Indicator(
                f"temps_pied_{code}",
                f"Temps à pied : {label.lower()}",
                "min",
                f"distance × {DETOUR_FACTOR} à {WALK_KMH} km/h",
                ("partners",),
            ),
            Indicator(
                f"temps_voiture_{code}",
                f"Temps en voiture : {label.lower()}",
                "min",
                f"distance × {DETOUR_FACTOR} à {CAR_KMH:g} km/h",
                ("partners",),
            ),
        ]
    return {i.name: i for i in [*base, *per_type]}


INDICATORS: dict[str, Indicator] = _registry()
"""Every indicator by name: French label, unit, source and source layers."""

PARTNER_PHRASES: dict[str, str] = {
    "ML": "mission locale",
    "FT": "France Travail",
    "CS": "centre social",
    "E2C": "école de la 2e chance",
    "PREVENTION": "équipe de prévention spécialisée",
    "PIJ_BIJ": "point information jeunesse",
    "FRANCE_SERVICES": "France services",
    "AUTRE": "partenaire",
}
"""Partner type → French noun used in sentences (lower case except proper names)."""


def indicator_sources(ws: Workspace) -> pd.DataFrame:
    """Every indicator with its label, unit, method, source layers and their vintages.

    Parameters
    ----------
    ws
        The workspace whose layer vintages date the indicators.

    Returns
    -------
    pandas.DataFrame
        Indexed by indicator name: ``libelle``, ``unite``, ``source``, ``couches``,
        ``millesime`` (``"couche : millésime"`` for each present layer, ``", "``-joined).
    """
    layers = ws.layers()
    rows = []
    for ind in INDICATORS.values():
        vintages = [f"{n} : {layers[n].vintage}" for n in ind.layers if n in layers]
        rows.append(
            {
                "name": ind.name,
                "libelle": ind.label_fr,
                "unite": ind.unit,
                "source": ind.source,
                "couches": ", ".join(ind.layers),
                "millesime": ", ".join(vintages),
            }
        )
    return pd.DataFrame(rows).set_index("name")


# ------------------------------------------------------------------------------ geometry


def _metric(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> npt.NDArray[np.object_]:
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


def _points(
    gdf: gpd.GeoDataFrame, what: str
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Metric points and the mask of rows that have one (partners may await geocoding)."""
    geoms = _metric(gdf, what)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return geoms, ok


def zone_centres(zones: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Centre of each zone in Lambert-93: its centroid, or a point on its surface when the
    centroid falls outside (a crescent-shaped commune).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs=METRIC_CRS)
    >>> zone_centres(z).iloc[0].wkt
    'POINT (5 5)'
    """
    geoms = _metric(zones, "zones")
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all():  # points: their own centre
        return gpd.GeoSeries(geoms, index=zones.index, crs=METRIC_CRS)
    centroid = shapely.centroid(geoms)
    inside = shapely.covers(geoms, centroid)
    centre = np.where(inside, centroid, shapely.point_on_surface(geoms))
    return gpd.GeoSeries(centre, index=zones.index, crs=METRIC_CRS)


def _nearest(
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


# ---------------------------------------------------------------------------- population


def population(
    zones: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame | None = None,
    *,
    method: Literal["intersection", "centre"] = "intersection",
) -> pd.Series:
    """Inhabitants of each zone.

    The zones' own ``population`` column when they have one (communes, or cells joined
    to Filosofi); otherwise an estimate from the ``communes``, whose population is taken
    as spread evenly over their area (which underrates dense neighbourhoods such as
    QPV): with ``method="intersection"``, summed over each zone's intersection with
    them (exact areal weighting); with ``method="centre"``, the density of the commune
    under the zone's centre times the zone's area (about ten times faster on a 1 km
    grid, and as good as the even-spread assumption itself away from boundaries).

    Parameters
    ----------
    zones
        Zones with a CRS.
    communes
        Communes with ``population`` and a CRS, needed when ``zones`` has no
        ``population`` column.
    method
        ``"intersection"`` or ``"centre"`` (see above).

    Returns
    -------
    pandas.Series
        ``Float64`` inhabitants named ``population``; ``attrs["estimee"]`` tells whether
        the areal estimate was used.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> communes = gpd.GeoDataFrame({"population": [1000]},
    ...     geometry=[shapely.box(0, 0, 2000, 1000)], crs=METRIC_CRS)
    >>> zones = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 500, 1000)], crs=METRIC_CRS)
    >>> population(zones, communes).tolist(), population(zones, communes, method="centre").tolist()
    ([250.0], [250.0])
    """
    if "population" in zones:
        out = pd.to_numeric(zones["population"], errors="coerce").astype("Float64")
        out = out.rename("population")
        out.attrs["estimee"] = False
        return out
    if communes is None:
        raise ValidationError(
            "population : les zones n'ont pas de colonne « population » ; passez les "
            "communes (avec leur population) pour l'estimer à la surface"
        )
    zg = _metric(zones, "zones")
    cg = _metric(communes, "communes")
    pop = pd.to_numeric(communes["population"], errors="coerce").fillna(0).to_numpy(float)
    if method == "centre":
        centres = np.asarray(zone_centres(zones).to_numpy(), dtype=object)
        pi, ci = shapely.STRtree(cg).query(centres, predicate="within")
        first = ~pd.Series(pi).duplicated().to_numpy()
        density = np.zeros(len(zg))
        with np.errstate(divide="ignore", invalid="ignore"):
            per_m2 = np.where(shapely.area(cg) > 0, pop / shapely.area(cg), 0.0)
        density[pi[first]] = per_m2[ci[first]]
        out = pd.Series(density * shapely.area(zg), index=zones.index, dtype="Float64")
        out = out.rename("population")
        out.attrs["estimee"] = True
        return out
    if method != "intersection":
        raise ValidationError(f"méthode « {method} » inconnue (attendu : intersection, centre)")
    zi, ci = shapely.STRtree(cg).query(zg, predicate="intersects")
    shapely.prepare(cg)
    inside = shapely.contains(cg[ci], zg[zi])
    area = shapely.area(zg[zi]).astype(float)
    cut = ~inside
    if cut.any():
        area[cut] = shapely.area(shapely.intersection(zg[zi[cut]], cg[ci[cut]]))
    commune_area = shapely.area(cg)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(commune_area[ci] > 0, area / commune_area[ci], 0.0)
    values = np.bincount(zi, weights=pop[ci] * share, minlength=len(zg))
    out = pd.Series(values, index=zones.index, name="population", dtype="Float64")
    out.attrs["estimee"] = True
    return out


def target_population(zones: gpd.GeoDataFrame, population: pd.Series) -> pd.Series:
    """The 16-29 population where the zones hold it (:data:`AGE_COLUMN`), else ``population``.

    ``attrs["par_age"]`` says which one was used (the page and the reasons say so).

    Examples
    --------
    >>> import geopandas as gpd
    >>> z = gpd.GeoDataFrame({"population_16_29": [300]}, geometry=[None])
    >>> s = target_population(z, pd.Series([2000.0]))
    >>> s.tolist(), s.attrs["par_age"]
    ([300.0], True)
    """
    if AGE_COLUMN in zones:
        out = pd.to_numeric(zones[AGE_COLUMN], errors="coerce").astype("Float64")
        by_age = True
    else:
        out = population.astype("Float64").copy()
        by_age = False
    out = out.rename("population_cible")
    out.index = zones.index
    out.attrs["par_age"] = by_age
    return out


# ------------------------------------------------------------------------------ contacts


@dataclass(frozen=True)
class ContactWindows:
    """Two consecutive windows of whole calendar months (inclusive ISO dates).

    Attributes
    ----------
    recent, previous
        ``(first day, last day)`` of the recent window and of the one before it.
    months
        Length of each window in months.
    """

    recent: tuple[date, date]
    previous: tuple[date, date]
    months: int

    @property
    def label_fr(self) -> str:
        """French description, e.g. ``"août à octobre 2026 (contre mai à juillet 2026)"``."""
        return f"{_months_fr(*self.recent)} (contre {_months_fr(*self.previous)})"


_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def _months_fr(first: date, last: date) -> str:
    a, b = _MONTHS_FR[first.month - 1], _MONTHS_FR[last.month - 1]
    if first.year == last.year:
        return f"{a} à {b} {last.year}" if a != b else f"{b} {last.year}"
    return f"{a} {first.year} à {b} {last.year}"


def contact_windows(last: date, *, months: int = COVERAGE_MONTHS) -> ContactWindows:
    """The ``months`` calendar months ending with the month of ``last``, and those before.

    Windows are whole months so that two choices of ``last`` never differ by a few days
    of contacts (``privacy.md`` rule 4).

    Examples
    --------
    >>> w = contact_windows(date(2026, 10, 17))
    >>> [d.isoformat() for d in (*w.recent, *w.previous)]
    ['2026-08-01', '2026-10-31', '2026-05-01', '2026-07-31']
    >>> w.label_fr
    'août à octobre 2026 (contre mai à juillet 2026)'
    """
    if months < 1:
        raise ValidationError(f"months doit valoir au moins 1, reçu {months}")
    end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    start = (pd.Timestamp(end) - pd.DateOffset(months=months) + pd.Timedelta(days=1)).date()
    prev_end = start - timedelta(days=1)
    prev_start = (pd.Timestamp(start) - pd.DateOffset(months=months)).date()
    return ContactWindows(recent=(start, end), previous=(prev_start, prev_end), months=months)


def _raw_contact_cells(ws: Workspace, windows: ContactWindows) -> pd.DataFrame:
    """Raw counts per (cell, commune, window, status group) — private, never returned.

    ``k`` is 0 for recent "hors radars", 1 for recent others, 2 for the previous window.
    """
    (r0, r1), (p0, _) = windows.recent, windows.previous
    return ws.query(
        "SELECT cell, commune, "
        "CASE WHEN date >= ? THEN (CASE WHEN statut = ? THEN 0 ELSE 1 END) ELSE 2 END AS k, "
        "count(*) AS n FROM contacts WHERE date >= ? AND date <= ? "
        "GROUP BY cell, commune, k",
        (r0.isoformat(), HORS_RADARS, p0.isoformat(), r1.isoformat()),
    )


def _grid_coords(
    cells: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Resolution, east and north (m) of grid ids: a fast path for well-formed ids (as
    stored by the importer), :func:`territory.grid.parse_ids` (with its error) otherwise."""
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
    return _cells_in_zones(_grid_coords(np.asarray(cells, dtype=object)), zones, kind)


def _cells_in_zones(
    coords: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
    zones: gpd.GeoDataFrame,
    kind: ZoneKind,
) -> npt.NDArray[np.object_]:
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
    pi, zi = shapely.STRtree(_metric(zones, "zones")).query(points, predicate="within")
    first = ~pd.Series(pi).duplicated().to_numpy()
    out[pi[first]] = codes[zi[first]]
    return out


def protected_contacts_many(
    ws: Workspace,
    zone_sets: Mapping[ZoneKind, gpd.GeoDataFrame],
    *,
    settings: Settings,
    windows: ContactWindows | None = None,
    communes: Collection[str] | None = None,
) -> dict[ZoneKind, pd.DataFrame]:
    """:func:`protected_contacts` for several zone sets, reading the contacts once."""
    if windows is None:
        windows = default_windows(ws)
    raw = _raw_contact_cells(ws, windows) if windows is not None else None
    if raw is not None and communes is not None:
        raw = raw[raw["commune"].isin(set(communes))]
    cells = np.asarray(raw["cell"].unique(), dtype=object) if raw is not None else None
    coords = _grid_coords(cells) if cells is not None and set(zone_sets) - {"commune"} else None
    out: dict[ZoneKind, pd.DataFrame] = {}
    for kind, zones in zone_sets.items():
        owner = None
        if raw is not None and kind != "commune":
            assert cells is not None and coords is not None
            owner = pd.Series(_cells_in_zones(coords, zones, kind), index=cells)
        out[kind] = _protect_zones(raw, owner, zones, kind, settings)
    return out


def protected_contacts(
    ws: Workspace,
    zones: gpd.GeoDataFrame,
    *,
    kind: ZoneKind,
    settings: Settings,
    windows: ContactWindows | None = None,
    communes: Collection[str] | None = None,
) -> pd.DataFrame:
    """Protected contact counts per zone, and the rates built from them.

    Contacts are counted per zone privately — communes by the contact's commune, 1 km
    cells by the parent of the contact's 200 m cell, QPV by the 200 m cell whose centre
    lies inside — then each count goes through :func:`territory.privacy.protect.protect` with the
    zones as parts and the contacts of the scope outside every zone as one more part
    (so that the total of the scope cannot be used to recover a hidden zone).

    Parameters
    ----------
    ws
        The workspace (its ``contacts`` table).
    zones
        Zones with a unique ``code``: INSEE codes (``kind="commune"``), 1 km cell ids
        (``"cell"``) or polygons (``"qpv"``).
    kind
        How contacts are attributed to zones (see above).
    settings
        Gives ``k`` and ``rounding``.
    windows
        The two windows compared; by default the :data:`COVERAGE_MONTHS` months ending
        with the month of the latest contact, and those before.
    communes
        Scope: only contacts of these communes are counted (a programme territory).

    Returns
    -------
    pandas.DataFrame
        Aligned on ``zones.index``: ``contacts_recents`` and ``contacts_precedents``
        (``Int64``, NA when suppressed) with their ``…_libelle`` and ``…_statut``, and
        ``hors_radars_part`` (``Float64``). All NA when the workspace holds no contact.
    """
    return protected_contacts_many(
        ws, {kind: zones}, settings=settings, windows=windows, communes=communes
    )[kind]


def default_windows(ws: Workspace) -> ContactWindows | None:
    """Windows ending with the month of the latest stored contact (None without contacts)."""
    if not ws.has("contacts"):
        return None
    last = ws.query("SELECT max(date) AS d FROM contacts")["d"].iloc[0]
    if last is None or pd.isna(last):
        return None
    return contact_windows(date.fromisoformat(str(last)))


def _protect_zones(
    raw: pd.DataFrame | None,
    owner: pd.Series | None,
    zones: gpd.GeoDataFrame,
    kind: ZoneKind,
    settings: Settings,
) -> pd.DataFrame:
    codes = zones["code"].astype(str)
    if codes.duplicated().any():
        dup = ", ".join(codes[codes.duplicated()].unique()[:3])
        raise ValidationError(f"zones : codes en double ({dup}) ; chaque zone doit être unique")
    out = pd.DataFrame(index=zones.index)
    if raw is None:
        for name in ("contacts_recents", "contacts_precedents"):
            out[name] = pd.array([pd.NA] * len(zones), dtype="Int64")
            out[f"{name}_libelle"] = "aucun contact importé"
            out[f"{name}_statut"] = "absent"
        out["hors_radars_part"] = pd.array([pd.NA] * len(zones), dtype="Float64")
        return out
    if owner is None:
        known = set(codes)
        zone = raw["commune"].where(raw["commune"].isin(known), REST).to_numpy(dtype=object)
    else:
        zone = owner.reindex(raw["cell"]).fillna(REST).to_numpy(dtype=object)
    table = (
        pd.DataFrame({"zone": zone, "k": raw["k"].to_numpy(), "n": raw["n"].to_numpy()})
        .groupby(["zone", "k"])["n"]
        .sum()
        .unstack("k")
        .reindex(columns=[0, 1, 2])
        .reindex([*codes, REST])
        .fillna(0)
        .astype("int64")
    )
    parts = {
        "contacts_recents": table[0] + table[1],
        "contacts_precedents": table[2],
        "hors_radars": table[0],
        "autres": table[1],
    }
    shown: dict[str, pd.DataFrame] = {
        name: protect(series, settings=settings).table.iloc[:-1].set_axis(zones.index)
        for name, series in parts.items()
    }
    for name in ("contacts_recents", "contacts_precedents"):
        out[name] = shown[name]["count"]
        out[f"{name}_libelle"] = shown[name]["label"]
        out[f"{name}_statut"] = shown[name]["status"]
    out["hors_radars_part"] = hors_radars_share(
        shown["hors_radars"]["count"], shown["autres"]["count"], k=settings.k
    )
    return out


def contact_rate(
    contacts: pd.Series, population: pd.Series, *, k: int, per: float = 1_000.0
) -> pd.Series:
    """Protected contacts per ``per`` inhabitants; NA when the population is under ``k``
    or the count is not published.

    Parameters
    ----------
    contacts
        Protected counts (``Int64``, NA when suppressed), e.g. ``contacts_recents``.
    population
        Inhabitants, on the same index.
    k
        Disclosure threshold: no rate on a denominator under k.
    per
        Rate base (1,000 inhabitants).

    Examples
    --------
    >>> contact_rate(pd.Series([15, 0, pd.NA, 20], dtype="Int64"),
    ...              pd.Series([3000, 5000, 800, 8]), k=11).tolist()
    [5.0, 0.0, <NA>, <NA>]
    """
    num = pd.to_numeric(contacts, errors="coerce").astype("Float64")
    den = pd.to_numeric(population, errors="coerce").astype("Float64")
    rate = (num / den * per).where(den >= k)
    return rate.astype("Float64").rename("contacts_pour_1000")


def contact_trend(recent: pd.Series, previous: pd.Series, *, k: int) -> pd.Series:
    """Relative change of protected contacts between two windows; NA when the previous
    count is under ``k`` or either count is not published.

    Examples
    --------
    >>> contact_trend(pd.Series([15, 40, 20, 0], dtype="Int64"),
    ...               pd.Series([30, 20, pd.NA, 0], dtype="Int64"), k=11).tolist()
    [-0.5, 1.0, <NA>, <NA>]
    """
    r = pd.to_numeric(recent, errors="coerce").astype("Float64")
    p = pd.to_numeric(previous, errors="coerce").astype("Float64")
    trend = ((r - p) / p).where(p >= k)
    return trend.astype("Float64").rename("tendance_contacts")


def hors_radars_share(hors: pd.Series, others: pd.Series, *, k: int) -> pd.Series:
    """Share of "hors radars" contacts, from protected counts; NA unless both parts are
    published (or zero) and their sum reaches ``k``.

    Requiring both parts keeps the share from revealing a small complementary count.

    Examples
    --------
    >>> hors_radars_share(pd.Series([15, 15, pd.NA], dtype="Int64"),
    ...                   pd.Series([45, 0, 30], dtype="Int64"), k=11).tolist()
    [0.25, 1.0, <NA>]
    """
    h = pd.to_numeric(hors, errors="coerce").astype("Float64")
    o = pd.to_numeric(others, errors="coerce").astype("Float64")
    total = h + o
    share = (h / total).where(total >= k)
    return share.astype("Float64").rename("hors_radars_part")


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
    geoms, ok = _points(partners, "partenaires")
    if types is not None:
        ok &= partners["type"].astype(str).isin(set(types)).to_numpy()
    if open_at is not None and ok.any():
        ok &= open_partners(partners, open_at).to_numpy()
    centres = np.asarray(zone_centres(zones).to_numpy(), dtype=object)
    dist, _ = _nearest(centres, geoms[ok])
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
    geoms, ok = _points(partners, "partenaires")
    if types is not None:
        ok &= partners["type"].astype(str).isin(set(types)).to_numpy()
    centres = np.asarray(zone_centres(zones).to_numpy(), dtype=object)
    _, which = _nearest(centres, geoms[ok])
    labels = np.asarray(partners.index[ok], dtype=object)
    values = np.full(len(which), None, dtype=object)
    found = which >= 0
    values[found] = labels[which[found]]
    return pd.Series(values, index=zones.index, dtype=object, name="partenaire_proche")


def travel_time(distance_m: pd.Series, *, mode: Literal["walk", "car"]) -> pd.Series:
    """Travel time in minutes: distance × :data:`DETOUR_FACTOR` at :data:`WALK_KMH` or
    :data:`CAR_KMH`.

    Examples
    --------
    >>> travel_time(pd.Series([4500.0]), mode="walk").round(1).tolist()
    [78.0]
    """
    if mode not in ("walk", "car"):
        raise ValidationError(f"mode de déplacement inconnu « {mode} » (attendu : walk, car)")
    speed = WALK_KMH if mode == "walk" else CAR_KMH
    minutes = pd.to_numeric(distance_m, errors="coerce").astype("Float64") * DETOUR_FACTOR
    return (minutes / 1000.0 / speed * 60.0).rename(f"temps_{mode}")


# ---------------------------------------------------------------------------- transit


def stop_hours_table(feed: GtfsFeed, *, week_start: date) -> pd.DataFrame:
    """Departures per stop, weekday and clock hour over the week starting ``week_start``.

    Parameters
    ----------
    feed
        A GTFS feed with a schedule (:attr:`territory.io.gtfs.GtfsFeed.has_schedule`).
    week_start
        First day of the reference week (snapped back to its Monday). Each of its seven
        days is counted with its own calendar (public holidays included).

    Returns
    -------
    pandas.DataFrame
        ``stop_id`` (str), ``weekday`` (0 = Monday), ``hour`` (0-23), ``departs`` (int),
        only rows with at least one departure.
    """
    monday = week_start - timedelta(days=week_start.weekday())
    frames = []
    for offset in range(7):
        grid = departures_by_hour(feed, monday + timedelta(days=offset))
        values = grid.to_numpy()
        stop_pos, hour = np.nonzero(values)
        frames.append(
            pd.DataFrame(
                {
                    "stop_id": grid.index.to_numpy(dtype=object)[stop_pos],
                    "weekday": offset,
                    "hour": hour,
                    "departs": values[stop_pos, hour],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"stop_id": "str", "weekday": "int64", "hour": "int64", "departs": "int64"})


def _stops_near(
    zones: gpd.GeoDataFrame, stops: gpd.GeoDataFrame, radius_m: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(zone position, stop position) pairs: stops inside a zone or within ``radius_m``."""
    zg = _metric(zones, "zones")
    sg, ok = _points(stops, "arrêts")
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
    return by_stop.reindex(stops["stop_id"].astype(str)).fillna(0).to_numpy(float)


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
    radius_m: float = STOP_RADIUS_M,
) -> pd.Series:
    """Departures during ``[hour, hour + 1)`` on ``weekday`` at the best-served stop inside
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
        :func:`stop_hours_table` of the feed.
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
    zones: gpd.GeoDataFrame, stops: gpd.GeoDataFrame, *, radius_m: float = STOP_RADIUS_M
) -> pd.Series:
    """Departures on the GTFS reference day (``departs_jour``) at the best-served stop inside
    each zone or within ``radius_m``; NA when the feed gave no departures.

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
    """Distance (m) from each zone's centre to the nearest stop served at ``weekday`` and
    ``hour`` (with ``stop_hours``), or served during the reference day (``departs_jour``
    > 0), or any stop when departures are unknown.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=METRIC_CRS)
    >>> s = gpd.GeoDataFrame({"stop_id": ["a", "b"], "departs_jour": [0, 12]},
    ...     geometry=[shapely.Point(50, 150), shapely.Point(50, 1050)], crs=METRIC_CRS)
    >>> served_stop_distance(z, s).tolist()
    [1000.0]
    """
    sg, ok = _points(stops, "arrêts")
    if stop_hours is not None:
        if weekday is None or hour is None:
            raise ValidationError("served_stop_distance : weekday et hour requis avec stop_hours")
        _check_moment(weekday, hour)
        ok &= _per_stop(stops, stop_hours, weekday, hour) > 0
    elif "departs_jour" in stops and stops["departs_jour"].notna().any():
        ok &= pd.to_numeric(stops["departs_jour"], errors="coerce").fillna(0).to_numpy() > 0
    centres = np.asarray(zone_centres(zones).to_numpy(), dtype=object)
    dist, _ = _nearest(centres, sg[ok])
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
    cg = _metric(communes, "communes")
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
    radius_m: float = STOP_RADIUS_M,
    far_m: float = BARRIER_FAR_M,
) -> pd.Series:
    """Mobility-barrier index in [0, 1]: the mean of its known parts among

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
