"""Zone indicators: the registry, need (population) and coverage (protected contacts).

Zones are QPV, communes or 1 km cells (EPSG:3035 grid, see :mod:`territory.grid`) given
as a GeoDataFrame in any declared CRS, with a unique ``code`` column. Every indicator
returns a :class:`pandas.Series` on the same index, named after :data:`INDICATORS`,
which documents its French label, unit, source layers and method; the vintage of a
source is that of its workspace layer (:func:`indicator_sources`). Zones and their
centres are in :mod:`territory.analysis.zones`; distances, travel times (the one travel
model, :class:`territory.travel.TravelModel`) and transit service in
:mod:`territory.analysis.access`.

Contact figures come only out of :mod:`territory.privacy.published`:
:func:`protected_contacts` hands it the zones (and how a 200 m cell is attributed to
them) and gets back counts already through :func:`territory.privacy.protect.protect`,
the zones as parts. Rates are then computed from protected counts only, and never when
their denominator is under k (``privacy.md`` rule 5). Contact windows are whole
calendar months (:func:`contact_windows`), a fixed, coarse choice (rule 4).

Examples
--------
>>> import geopandas as gpd, shapely
>>> from territory.crs import METRIC_CRS
>>> zones = gpd.GeoDataFrame(
...     {"code": ["A", "B"], "population": [2400, 150]},
...     geometry=[shapely.box(700_000, 6_600_000, 701_000, 6_601_000),
...               shapely.box(705_000, 6_600_000, 706_000, 6_601_000)], crs=METRIC_CRS)
>>> population(zones).tolist()
[2400.0, 150.0]
>>> contact_rate(pd.Series([15], dtype="Int64"), population(zones).iloc[:1], k=11).tolist()
[6.25]
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from territory._errors import ValidationError
from territory._fr import MONTHS_FR, format_distance, format_short
from territory.analysis.access import (
    BARRIER_FAR_M,
)
from territory.analysis.zones import (
    ZoneKind,
    grid_coords,
    metric_geometries,
    zone_centres,
    zones_of_cells,
)
from territory.privacy import published
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import PARTNER_TYPES

__all__ = [
    "AGE_COLUMN",
    "COVERAGE_MONTHS",
    "HORS_RADARS",
    "INDICATORS",
    "PARTNER_PHRASES",
    "ContactWindows",
    "Indicator",
    "contact_rate",
    "contact_trend",
    "contact_windows",
    "default_windows",
    "hors_radars_share",
    "indicator_registry",
    "indicator_sources",
    "population",
    "protected_contacts",
    "protected_contacts_many",
    "target_population",
]

COVERAGE_MONTHS = 3
"""Length (calendar months) of the two contact windows compared by the trend."""
AGE_COLUMN = "population_16_29"
"""Zone column holding the 16-29 population when the zones carry it (see :mod:`.need`)."""
HORS_RADARS = "hors radars"
"""Contact status counted by :func:`hors_radars_share` (see ``vocab.STATUSES``)."""


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


@lru_cache(maxsize=8)
def indicator_registry(settings: Settings | None = None) -> dict[str, Indicator]:
    """Every indicator by name: French label, unit, method and source layers.

    The method texts state the parameters of ``settings`` (stop radius, speeds, detour):
    the defaults when None.
    """
    params = settings or Settings()
    stop_buffer = format_distance(params.stop_buffer_m)
    base = [
        Indicator(
            "population",
            "Population",
            "habitants",
            "population légale des communes (INSEE, via geo.api.gouv.fr) ; pour les QPV et "
            "les carreaux : somme des carreaux Filosofi quand ils sont importés, sinon "
            "population communale répartie au prorata de la surface (estimation)",
            ("communes", "filosofi_cells"),
        ),
        Indicator(
            "population_cible",
            "Population cible (jeunes)",
            "habitants",
            "jeunes de 15 à 29 ans du recensement (INSEE, base infracommunale, millésime RP) "
            "par commune, répartis au prorata de la surface pour les QPV et carreaux ; pour "
            "les carreaux et QPV, 18-24 ans des carreaux Filosofi quand ils sont importés "
            "(Filosofi ne publie ni 15-29 ni 15-24 ans) ; sinon la population totale, faute "
            "de données par âge",
            ("population_age", "filosofi_cells", "communes"),
        ),
        Indicator(
            "taux_pauvrete",
            "Taux de pauvreté",
            "part (0-1)",
            "ménages pauvres / ménages des carreaux Filosofi (INSEE) dont le centre est dans "
            "la zone (Men_pauv / Men ; part pondérée par la population pour un extrait qui ne "
            "donne que la part)",
            ("filosofi_cells",),
        ),
        Indicator(
            "contacts_recents",
            f"Contacts des {COVERAGE_MONTHS} derniers mois (protégés)",
            "contacts (arrondis, secret statistique)",
            "journal des contacts, protégé par le contrôle de la diffusion (seuil de k "
            "personnes, secret secondaire, bruit et arrondi) avec les zones pour parties",
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
            "proche ouvert au moment choisi (horaires d'ouverture OpenStreetMap, jours fériés)",
            ("partners",),
        ),
        Indicator(
            "departs_heure",
            f"Départs par heure à moins de {stop_buffer}",
            "départs / heure",
            "passages à l'arrêt le mieux desservi situé dans la zone ou à moins de "
            f"{stop_buffer}, "
            "pendant l'heure choisie, semaine de référence du GTFS (calendriers, jours "
            "particuliers et horaires de passage)",
            ("stops", "stop_hours"),
        ),
        Indicator(
            "departs_jour",
            f"Départs par jour à moins de {stop_buffer}",
            "départs / jour",
            "passages à l'arrêt le mieux desservi dans la zone ou à moins de "
            f"{stop_buffer}, jour de "
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
            f"moyenne de trois parts : aucun départ à moins de {stop_buffer} à l'heure "
            "choisie (0/1), "
            f"distance à l'arrêt desservi le plus proche (0 à {stop_buffer}, "
            f"1 à {BARRIER_FAR_M:g} m "
            "et au-delà), zone rurale (0/1)",
            ("stops", "stop_hours", "communes"),
        ),
    ]
    per_type = []
    detour = format_short(params.detour_factor)
    for code, label in PARTNER_TYPES.items():
        per_type += [
            Indicator(
                f"distance_{code}",
                f"Distance : {label.lower()} la plus proche",
                "m",
                "distance à vol d'oiseau (Lambert-93) du centre de la zone au partenaire de "
                f"ce type le plus proche (typologie data·inclusion : {label.lower()})",
                ("partners",),
            ),
            Indicator(
                f"temps_pied_{code}",
                f"Temps à pied : {label.lower()}",
                "min",
                f"distance × {detour} à {format_short(params.walk_kmh)} km/h "
                "(modèle de déplacement des tournées ; TERRITORY_WALK_KMH, "
                "TERRITORY_DETOUR_FACTOR)",
                ("partners",),
            ),
            Indicator(
                f"temps_voiture_{code}",
                f"Temps en voiture : {label.lower()}",
                "min",
                f"distance × {detour} à {format_short(params.car_kmh)} km/h, plus "
                f"{format_short(params.car_access_min)} min pour stationner (modèle de "
                "déplacement des tournées ; TERRITORY_CAR_KMH, TERRITORY_CAR_ACCESS_MIN, "
                "TERRITORY_DETOUR_FACTOR)",
                ("partners",),
            ),
        ]
    return {i.name: i for i in [*base, *per_type]}


INDICATORS: dict[str, Indicator] = indicator_registry()
"""The registry at the default settings (names, labels, units); method texts that follow the
settings in use come from :func:`indicator_registry`."""

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


def indicator_sources(ws: Workspace, *, settings: Settings | None = None) -> pd.DataFrame:
    """Every indicator with its label, unit, method, source layers and their vintages.

    Parameters
    ----------
    ws
        The workspace whose layer vintages date the indicators.
    settings
        Whose parameters the method texts state (the defaults when None).

    Returns
    -------
    pandas.DataFrame
        Indexed by indicator name: ``libelle``, ``unite``, ``source``, ``couches``,
        ``millesime`` (``"couche : millésime"`` for each present layer, ``", "``-joined).
    """
    layers = ws.layers()
    rows = []
    for ind in indicator_registry(settings).values():
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
    >>> from territory.crs import METRIC_CRS
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
    zg = metric_geometries(zones, "zones")
    cg = metric_geometries(communes, "communes")
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

    The zone-column rule alone: the priority score chooses among the official sources
    (census ages, Filosofi cells) with :func:`territory.analysis.need.zone_need`.

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


def _months_fr(first: date, last: date) -> str:
    a, b = MONTHS_FR[first.month - 1], MONTHS_FR[last.month - 1]
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
    >>> [d.isoformat() for d in contact_windows(date(2026, 11, 1)).recent]  # a 30-day month
    ['2026-09-01', '2026-11-30']
    """
    if months < 1:
        raise ValidationError(f"months doit valoir au moins 1, reçu {months}")
    month = pd.Period(last, freq="M")
    end = month.end_time.date()
    start = (month - (months - 1)).start_time.date()
    prev_end = start - timedelta(days=1)
    prev_start = (month - (2 * months - 1)).start_time.date()
    return ContactWindows(recent=(start, end), previous=(prev_start, prev_end), months=months)


def protected_contacts_many(
    ws: Workspace,
    zone_sets: Mapping[ZoneKind, gpd.GeoDataFrame],
    *,
    settings: Settings,
    windows: ContactWindows | None = None,
    communes: Collection[str] | None = None,
) -> dict[ZoneKind, pd.DataFrame]:
    """:func:`protected_contacts` for several zone sets, reading the contacts once."""
    for zones in zone_sets.values():
        codes = zones["code"].astype(str)
        if codes.duplicated().any():
            dup = ", ".join(codes[codes.duplicated()].unique()[:3])
            raise ValidationError(f"zones : codes en double ({dup}) ; chaque zone doit être unique")
    if windows is None:
        windows = default_windows(ws, settings=settings)
    if windows is None:
        return {kind: _absent(zones) for kind, zones in zone_sets.items()}

    def attribute(cells: npt.NDArray[np.object_]) -> dict[ZoneKind, npt.NDArray[np.object_] | None]:
        coords = grid_coords(cells) if set(zone_sets) - {"commune"} else None
        return {
            kind: None
            if kind == "commune" or coords is None
            else zones_of_cells(coords, zones, kind)
            for kind, zones in zone_sets.items()
        }

    shown = published.zone_window_counts(
        ws,
        {kind: zones["code"].astype(str).tolist() for kind, zones in zone_sets.items()},
        attribute,
        recent=windows.recent,
        previous=windows.previous,
        status=HORS_RADARS,
        settings=settings,
        communes=communes,
    )
    return {kind: _zone_table(shown[kind], zones, settings) for kind, zones in zone_sets.items()}


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


def default_windows(ws: Workspace, *, settings: Settings) -> ContactWindows | None:
    """Windows ending with the latest published month (None when no month has k people)."""
    month = published.latest_month(ws, settings=settings)
    return None if month is None else contact_windows(month)


def _absent(zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """The contact columns of zones when the workspace holds no contact."""
    out = pd.DataFrame(index=zones.index)
    for name in ("contacts_recents", "contacts_precedents"):
        out[name] = pd.array([pd.NA] * len(zones), dtype="Int64")
        out[f"{name}_libelle"] = "aucun contact importé"
        out[f"{name}_statut"] = "absent"
    out["hors_radars_part"] = pd.array([pd.NA] * len(zones), dtype="Float64")
    return out


def _zone_table(
    shown: Mapping[str, pd.DataFrame], zones: gpd.GeoDataFrame, settings: Settings
) -> pd.DataFrame:
    """The contact columns of ``zones``, from protected counts.

    The protected parts of :func:`territory.privacy.published.zone_window_counts`, and the
    share, computed on protected counts.
    """
    parts = {name: table.set_axis(zones.index) for name, table in shown.items()}
    out = pd.DataFrame(index=zones.index)
    for name in ("contacts_recents", "contacts_precedents"):
        out[name] = parts[name]["count"]
        out[f"{name}_libelle"] = parts[name]["label"]
        out[f"{name}_statut"] = parts[name]["status"]
    out["hors_radars_part"] = hors_radars_share(
        parts["hors_radars"]["count"], parts["autres"]["count"], k=settings.k
    )
    return out


def contact_rate(
    contacts: pd.Series, population: pd.Series, *, k: int, per: float = 1_000.0
) -> pd.Series:
    """Protected contacts per ``per`` inhabitants.

    NA when the population is under ``k`` or the count is not published.

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
    """Relative change of protected contacts between two windows.

    NA when the previous count is under ``k`` or either count is not published.

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
    """Share of "hors radars" contacts, from protected counts.

    NA unless both parts are published (or zero) and their sum reaches ``k``.

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
