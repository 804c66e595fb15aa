"""Priority score: a transparent, weighted sum of normalised zone indicators.

The score answers "where do we go first?" for a set of zones (communes, QPV or 1 km
cells). Each **component** is one indicator of :mod:`territory.analysis.indicators`, turned into
a number in [0, 1] where 1 means "more of a priority":

========================== =========== =================================================
component                  group       direction
========================== =========== =================================================
``population``             need        more inhabitants → higher (only without age data)
``population_cible``       need        more young people → higher (only with age data:
                                       census 15-29, or Filosofi 18-24, see ``analysis.need``)
``taux_pauvrete``          need        more poor households → higher (only with Filosofi)
``contacts_pour_1000``     coverage    fewer protected contacts per inhabitant → higher
``tendance_contacts``      coverage    falling contacts → higher
``distance_<type>``        access      farther from the nearest partner of the type → higher
``distance_partenaire_ouvert`` access  farther from a partner open at the moment → higher
``departs_heure``          mobility    fewer departures near the zone at the moment → higher
``barriere_mobilite``      mobility    higher barrier index → higher
========================== =========== =================================================

**Normalisation** (``normalisation=``): ``"rang"`` (default) replaces each value by its
percentile rank among the zones, ``(rank - 1) / (n - 1)`` with average ranks for ties:
robust to the very skewed distributions of population and distances, and a component
weighs the same whatever its unit. ``"minmax"`` scales ``(x - min) / (max - min)``
instead (0.5 when every zone has the same value). A value that is missing for a zone
(a contact count under the secret, a rate whose denominator is under k) counts as 0.5,
neutral. One exception: a contact count published as "< k" enters the coverage rate as
k / 2 contacts (a bound the page shows anyway), so that a zone with very few contacts
is not taken for an average one.

**Score**: each of the four groups (``need``, ``coverage``, ``access``, ``mobility``)
receives its user weight, split evenly among its available components; the score is the
weighted sum divided by the sum of the weights of the groups that have at least one
component, times 100. A group with no data (no contacts, no partners, no GTFS) is left
out, said so in :attr:`ZoneIndicators.notes`, and the other weights still work.

**Ranking** is by score, ties broken by zone code (stable). The **reasons** ("pourquoi")
name, per zone, the components that add the most to its score, with their figures.

Only protected contact counts are used (:func:`territory.analysis.indicators.protected_contacts`):
the score and the reasons are functions of what the page could show anyway.

Examples
--------
>>> import geopandas as gpd, shapely
>>> zones = gpd.GeoDataFrame(
...     {"code": ["A", "B", "C"], "nom": ["Alpha", "Bêta", "Gamma"],
...      "population": [2400, 800, 5000]},
...     geometry=[shapely.box(x, 0, x + 1000, 1000) for x in (0, 3000, 6000)],
...     crs=METRIC_CRS)
>>> ind = build_indicators(zones, kind="commune", settings=Settings())
>>> ranking = rank_zones(ind, Weights(need=1, coverage=0, access=0, mobility=0))
>>> ranking.table["code"].tolist()
['C', 'A', 'B']
>>> ranking.table["pourquoi"].iloc[0]
'5\u202f000 habitants'
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from territory._errors import ValidationError, WorkspaceError
from territory._fr import format_distance, format_distances, format_durations, format_number
from territory.analysis.access import (
    departures_per_day,
    departures_per_hour,
    mobility_barrier,
    partner_distance,
    rural_zones,
    served_stop_distance,
    travel_time,
)
from territory.analysis.indicators import (
    COVERAGE_MONTHS,
    PARTNER_PHRASES,
    ContactWindows,
    contact_rate,
    contact_trend,
    default_windows,
    protected_contacts_many,
)
from territory.analysis.need import NeedData, load_need_data, zone_need
from territory.analysis.transit_coverage import STATE_PHRASES, zone_transit_states
from territory.analysis.zones import ZoneKind, load_zones, zone_centres
from territory.crs import METRIC_CRS
from territory.privacy.protect import BELOW_K, PUBLISHED
from territory.roads import model_note, travel_model_for
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import WHOLE_WORKSPACE, is_whole, resolve
from territory.travel import TravelModel
from territory.vocab import PARTNER_TYPES, TRANSIT_TIMED, WEEKDAYS_FR

__all__ = [
    "COMPONENTS_DOC",
    "DEFAULT_ACCESS_TYPES",
    "GROUPS",
    "GROUP_LABELS",
    "Ranking",
    "Weights",
    "ZoneIndicators",
    "build_indicators",
    "default_moment",
    "load_stop_hours",
    "load_weights",
    "priorities",
    "rank_zones",
    "save_weights",
    "zone_indicators",
    "zone_indicators_many",
]

Group = Literal["need", "coverage", "access", "mobility"]
GROUPS: tuple[Group, ...] = ("need", "coverage", "access", "mobility")
GROUP_LABELS: dict[str, str] = {
    "need": "Besoin",
    "coverage": "Couverture",
    "access": "Accès aux partenaires",
    "mobility": "Mobilité",
}
DEFAULT_ACCESS_TYPES: tuple[str, ...] = ("ML", "FT")
"""Partner types whose distance is a component (mission locale, France Travail)."""
DEFAULT_WEEKDAY = 1
"""Tuesday, the GTFS reference weekday."""
DEFAULT_HOUR = 17
"""17 h: school is out and most partners are still open."""
Normalisation = Literal["rang", "minmax"]
STOP_HOURS_TABLE = "stop_hours"
"""Workspace table of departures per stop, weekday and hour.

Written by the GTFS import (:func:`territory.ingest_transit.save_stop_hours`), read by
:func:`load_stop_hours`."""
_WEIGHTS_KEY = "priorites.poids"
_COMMUNES_ONLY: tuple[ZoneKind, ...] = ("commune",)
_NEUTRAL = 0.5

COMPONENTS_DOC: dict[str, tuple[Group, bool, str]] = {
    "population": ("need", True, "Population"),
    "population_cible": ("need", True, "Population cible (jeunes)"),
    "taux_pauvrete": ("need", True, "Taux de pauvreté (Filosofi)"),
    "contacts_pour_1000": ("coverage", False, "Contacts pour 1 000 habitants"),
    "tendance_contacts": ("coverage", False, "Évolution des contacts"),
    "distance_partenaire_ouvert": ("access", True, "Distance au partenaire ouvert"),
    "departs_heure": (
        "mobility",
        False,
        "Départs par heure aux arrêts proches",
    ),
    "departs_jour": (
        "mobility",
        False,
        "Départs par jour aux arrêts proches",
    ),
    "barriere_mobilite": ("mobility", True, "Barrière de mobilité"),
    **{
        f"distance_{code}": ("access", True, f"Distance : {label.lower()}")
        for code, label in PARTNER_TYPES.items()
    },
}
"""Component → (group, whether a higher value means a higher priority, French label)."""


# ---------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class Weights:
    """User weights of the four component groups (non-negative, not all zero).

    Examples
    --------
    >>> Weights.parse("need=2, mobility=0.5")
    Weights(need=2.0, coverage=1.0, access=1.0, mobility=0.5)
    """

    need: float = 1.0
    coverage: float = 1.0
    access: float = 1.0
    mobility: float = 1.0

    def __post_init__(self) -> None:
        problems = [
            f"poids « {name} » invalide : {value!r} (nombre positif ou nul attendu)"
            for name, value in self.to_dict().items()
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0
        ]
        if not problems and sum(self.to_dict().values()) <= 0:
            problems.append("tous les poids sont nuls : donnez un poids positif à un groupe")
        if problems:
            raise ValidationError(problems)

    def to_dict(self) -> dict[str, float]:
        """``{"need": …, "coverage": …, "access": …, "mobility": …}``."""
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def parse(cls, text: str) -> Weights:
        """Weights from ``"need=1,coverage=2"`` (groups not named keep their default 1)."""
        values: dict[str, float] = {}
        problems = []
        for item in (p.strip() for p in text.split(",")):
            if not item:
                continue
            name, sep, raw = item.partition("=")
            name = name.strip()
            if not sep or name not in GROUPS:
                problems.append(
                    f"« {item} » : attendu groupe=poids avec groupe parmi {', '.join(GROUPS)}"
                )
                continue
            try:
                values[name] = float(raw.replace(",", "."))
            except ValueError:
                problems.append(f"« {item} » : poids non numérique")
        if problems:
            raise ValidationError(problems)
        return cls(**values)


def _weights_key(territory: str | None) -> str:
    return f"{_WEIGHTS_KEY}:{WHOLE_WORKSPACE if is_whole(territory) else territory}"


def save_weights(ws: Workspace, weights: Weights, *, territory: str | None = None) -> None:
    """Save the weights of a territory (``None``: the whole workspace) in the workspace."""
    ws.set_property(_weights_key(territory), json.dumps(weights.to_dict()))


def load_weights(ws: Workspace, *, territory: str | None = None) -> Weights:
    """The saved weights of a territory, or the defaults (all 1) when none were saved."""
    raw = ws.get_property(_weights_key(territory))
    if not raw:
        return Weights()
    try:
        values = json.loads(raw)
        return Weights(**{k: float(v) for k, v in values.items() if k in GROUPS})
    except (ValueError, TypeError, ValidationError):
        return Weights()


# ------------------------------------------------------------------------- stop hours


def load_stop_hours(
    ws: Workspace,
    *,
    weekday: int | None = None,
    hour: int | None = None,
    stop_ids: Sequence[str] | None = None,
) -> pd.DataFrame | None:
    """The stored :data:`STOP_HOURS_TABLE`, optionally one weekday, hour or set of stops.

    None when the GTFS hours were not stored (or the last feed had none).
    """
    if not ws.has(STOP_HOURS_TABLE) or ws.layers()[STOP_HOURS_TABLE].count == 0:
        return None
    where: list[str] = []
    params: list[object] = []
    for column, value in (("weekday", weekday), ("hour", hour)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(int(value))
    if stop_ids is not None:
        where.append("stop_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([str(s) for s in stop_ids]))
    table = ws.query(
        f"SELECT stop_id, weekday, hour, departs FROM {STOP_HOURS_TABLE}"
        + (f" WHERE {' AND '.join(where)}" if where else ""),
        tuple(params),
    )
    return table.astype({"stop_id": "str", "weekday": "int64", "hour": "int64", "departs": "int64"})


def default_moment(ws: Workspace | None = None, *, today: date | None = None) -> datetime:
    """Tuesday 17 h of the GTFS reference week, else of the week after ``today``."""
    stored = ws.get_property("gtfs_reference_day") if ws is not None else None
    if stored:
        day = date.fromisoformat(stored)
    else:
        base = today or date.today()
        day = base + timedelta(days=(DEFAULT_WEEKDAY - base.weekday()) % 7 or 7)
    day = day - timedelta(days=day.weekday()) + timedelta(days=DEFAULT_WEEKDAY)
    return datetime.combine(day, time(DEFAULT_HOUR))


# ------------------------------------------------------------------------- indicators


@dataclass(frozen=True)
class ZoneIndicators:
    """Indicators and normalised components of a set of zones (computed once).

    Attributes
    ----------
    kind
        ``commune``, ``qpv`` or ``cell``.
    zones
        ``code``, ``nom`` and geometry (EPSG:4326), indexed by code.
    values
        Raw indicators (protected contact counts, rates, distances…), indexed by code.
    components
        Normalised components in [0, 1] (1 = more of a priority; NaN when unknown).
    phrases
        French phrase per zone and component, with its figures (the reasons).
    groups
        Component → group, for the components present.
    notes
        What is missing or estimated, in French.
    at
        The moment (local time) of the hour-dependent indicators.
    windows
        The contact windows compared (None without contacts).
    """

    kind: ZoneKind
    zones: gpd.GeoDataFrame
    values: pd.DataFrame
    components: pd.DataFrame
    phrases: pd.DataFrame
    groups: Mapping[str, Group]
    notes: tuple[str, ...] = ()
    at: datetime | None = None
    windows: ContactWindows | None = None
    normalisation: Normalisation = "rang"


def _normalise(values: pd.Series, *, higher: bool, method: Normalisation) -> pd.Series:
    x = pd.to_numeric(values, errors="coerce").astype("float64")
    valid = x.notna()
    out = pd.Series(np.nan, index=x.index)
    n = int(valid.sum())
    if n == 0:
        return out
    if method == "rang":
        if n == 1:
            out[valid] = _NEUTRAL
        else:
            out[valid] = (x[valid].rank(method="average") - 1) / (n - 1)
    elif method == "minmax":
        lo, hi = float(x[valid].min()), float(x[valid].max())
        out[valid] = _NEUTRAL if hi == lo else (x[valid] - lo) / (hi - lo)
    else:
        raise ValidationError(f"normalisation inconnue « {method} » (attendu : rang, minmax)")
    return out if higher else 1 - out


def build_indicators(
    zones: gpd.GeoDataFrame,
    *,
    kind: ZoneKind,
    settings: Settings,
    communes: gpd.GeoDataFrame | None = None,
    partners: gpd.GeoDataFrame | None = None,
    stops: gpd.GeoDataFrame | None = None,
    stop_hours: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    windows: ContactWindows | None = None,
    at: datetime | None = None,
    access_types: Sequence[str] = DEFAULT_ACCESS_TYPES,
    normalisation: Normalisation = "rang",
    notes: Sequence[str] = (),
    need: NeedData | None = None,
    travel_model: TravelModel | None = None,
) -> ZoneIndicators:
    """Indicators, components and reasons of ``zones`` from layers already in memory.

    The numeric core under :func:`zone_indicators`: every layer is optional, and a
    missing one leaves its components out with a French note.

    Parameters
    ----------
    zones
        Zones with a unique ``code`` (and ``nom``), any CRS.
    kind
        ``commune``, ``qpv`` or ``cell`` (words of the notes).
    settings
        Gives ``k``.
    communes
        Commune layer (population for estimates, density labels).
    partners, stops
        Partner and stop layers.
    stop_hours
        :func:`load_stop_hours` (as stored by the GTFS import); without it, daily departures
        (``departs_jour``) are used.
    contacts
        :func:`territory.analysis.indicators.protected_contacts` of these zones (protected only).
    windows
        The contact windows of ``contacts`` (for the reasons).
    at
        Local time of the hour-dependent indicators (default: :func:`default_moment`).
    access_types
        Partner types whose distance is a component.
    normalisation
        ``"rang"`` or ``"minmax"`` (see the module docs).
    notes
        Notes to carry over (from loading).
    need
        Census ages and Filosofi cells (:func:`territory.analysis.need.load_need_data`);
        without them the target population is the total population, and a note says so.
    travel_model
        The travel model of the times to the nearest partner (default: that of
        ``settings``, in a straight line); on a road network
        (:func:`territory.roads.travel_model_for`) the times follow it.
    """
    if normalisation not in ("rang", "minmax"):
        raise ValidationError(
            f"normalisation inconnue « {normalisation} » (attendu : rang, minmax)"
        )
    at = at or default_moment()
    k = settings.k
    notes_out = list(notes)
    if "code" not in zones:
        raise ValidationError("zones : colonne « code » requise")
    if zones["code"].astype(str).duplicated().any():
        raise ValidationError("zones : codes en double ; chaque zone doit avoir un code unique")
    if len(zones) == 0:
        return ZoneIndicators(
            kind=kind,
            zones=gpd.GeoDataFrame(
                {"code": pd.Series(dtype="str"), "nom": pd.Series(dtype="str")},
                geometry=gpd.GeoSeries([], crs="EPSG:4326"),
                crs="EPSG:4326",
            ),
            values=pd.DataFrame({"nom": pd.Series(dtype="str")}),
            components=pd.DataFrame(index=pd.Index([], dtype="str", name="code")),
            phrases=pd.DataFrame(),
            groups={},
            notes=(*notes, f"aucune zone de type « {_KIND_NOUNS[kind]} » dans ce territoire"),
            at=at,
            windows=windows,
            normalisation=normalisation,
        )
    metric = zones.to_crs(METRIC_CRS).reset_index(drop=True)
    index = pd.Index(metric["code"].astype(str), name="code")
    names = metric["nom"].astype(str) if "nom" in metric else pd.Series(index, dtype="str")
    communes_m = communes.to_crs(METRIC_CRS) if communes is not None else None
    values = pd.DataFrame(index=metric.index)
    comps: dict[str, pd.Series] = {}
    phrases: dict[str, list[str]] = {}
    moment = f"le {WEEKDAYS_FR[at.weekday()]} à {at.hour} h"

    def add(name: str, score: pd.Series, text: list[str]) -> None:
        higher = COMPONENTS_DOC[name][1]
        comps[name] = _normalise(score, higher=higher, method=normalisation)
        phrases[name] = text

    # --- need (census ages, Filosofi cells or legal population: analysis.need)
    # Centres once: distances from a point "zone" are distances from the zone's centre.
    centres = gpd.GeoDataFrame(geometry=zone_centres(metric), crs=METRIC_CRS)
    method: Literal["intersection", "centre"] = "centre" if kind == "cell" else "intersection"
    has_cells = need is not None and need.cells is not None and len(need.cells) > 0
    if "population" not in metric and communes_m is None and not has_cells:
        notes_out.append("population inconnue (ni colonne population ni communes) : besoin ignoré")
    else:
        found = zone_need(metric, kind=kind, communes=communes_m, data=need, method=method)
        notes_out.extend(found.notes)
        values["population"] = found.population.to_numpy()
        if found.estimated:
            notes_out.append(
                f"population des {_KIND_NOUNS[kind]} estimée : population des communes "
                "répartie au prorata de la surface (sous-estime les quartiers denses)"
            )
        suffix = " (estimation)" if found.estimated else ""
        if found.target is None:  # with ages, the need is the young people, not everyone
            values["population_cible"] = found.population.to_numpy()
            add(
                "population",
                values["population"],
                [
                    f"{_int(p)} habitants{suffix}" if pd.notna(p) else "population inconnue"
                    for p in values["population"]
                ],
            )
        else:
            values["population_cible"] = found.target.to_numpy()
            notes_out.append(
                f"besoin : {found.target_source} (la population totale reste le dénominateur "
                "des taux, hors du score)"
            )
            short = found.target_source.split(" ans, ", 1)[-1]
            short = short.split(", répartie ")[0] + (
                ", estimation" if ", répartie " in short else ""
            )
            add(
                "population_cible",
                values["population_cible"],
                [
                    f"{_int(p)} {found.target_label} ({short})" if pd.notna(p) else "âges inconnus"
                    for p in values["population_cible"]
                ],
            )
        if found.poverty is not None:
            values["taux_pauvrete"] = found.poverty.to_numpy()
            add(
                "taux_pauvrete",
                values["taux_pauvrete"],
                [
                    f"{format_number(round(float(r) * 100))} % de ménages pauvres (Filosofi)"
                    if pd.notna(r)
                    else "taux de pauvreté inconnu"
                    for r in values["taux_pauvrete"]
                ],
            )
            notes_out.append(f"taux de pauvreté : {found.poverty_source}")

    # --- coverage (protected counts only)
    if contacts is None or contacts["contacts_recents_statut"].eq("absent").all():
        notes_out.append(
            "aucun contact importé : couverture (contacts, évolution) laissée hors du score"
        )
    else:
        c = contacts.reset_index(drop=True)
        for col in c.columns:
            values[col] = c[col].array
        months = windows.months if windows is not None else COVERAGE_MONTHS
        if windows is not None:
            notes_out.append(f"contacts : {windows.label_fr}")
        pop_values = (
            values["population"]
            if "population" in values
            else pd.Series(pd.NA, index=values.index, dtype="Float64")
        )
        rate = contact_rate(c["contacts_recents"], pop_values, k=k)
        values["contacts_pour_1000"] = rate.to_numpy()
        # A count published as "< k" enters the score as k / 2 (see module docs).
        below = c["contacts_recents_statut"].eq(BELOW_K)
        imputed = pd.Series(c["contacts_recents"], dtype="Float64").mask(below, k / 2)
        score_rate = contact_rate(imputed, pop_values, k=k)
        add(
            "contacts_pour_1000",
            score_rate,
            _coverage_phrases(c, values.get("population"), score_rate, months, k),
        )
        trend = contact_trend(c["contacts_recents"], c["contacts_precedents"], k=k)
        values["tendance_contacts"] = trend.to_numpy()
        if trend.notna().any():
            add("tendance_contacts", trend, [_trend_phrase(t, months) for t in trend])
        else:
            notes_out.append("évolution des contacts non calculable (comptes précédents sous k)")

    # --- access
    located = None
    if partners is None or len(partners) == 0:
        notes_out.append("aucun partenaire : accès aux partenaires laissé hors du score")
    else:
        located = partners[~(partners.geometry.isna() | partners.geometry.is_empty)]
        pending = len(partners) - len(located)
        if pending:
            notes_out.append(
                f"{pending} partenaire(s) sans position (à géocoder) ignoré(s) dans les distances"
            )
        located = located.to_crs(METRIC_CRS)
        if travel_model is not None and travel_model.network is not None:
            notes_out.append(f"temps de trajet vers les partenaires : {model_note(travel_model)}")
        present = set(located["type"].astype(str))
        for code in access_types:
            label = PARTNER_PHRASES.get(code, code)
            if code not in present:
                notes_out.append(f"aucun partenaire de type « {label} » : distance ignorée")
                continue
            dist = partner_distance(centres, located, types=[code])
            of_type = located[located["type"].astype(str) == code]
            car, walk = (
                travel_time(
                    dist,
                    mode=mode,
                    settings=settings,
                    model=travel_model,
                    zones=centres,
                    partners=of_type,
                )
                for mode in ("car", "walk")
            )
            values[f"distance_{code}"] = dist.to_numpy()
            values[f"temps_voiture_{code}"] = car.to_numpy()
            values[f"temps_pied_{code}"] = walk.to_numpy()
            add(
                f"distance_{code}",
                dist,
                [
                    f"{label} à {d} ({t} en voiture)"
                    for d, t in zip(
                        format_distances(dist.to_numpy(float, na_value=np.nan)),
                        format_durations(car.to_numpy(float, na_value=np.nan)),
                        strict=True,
                    )
                ],
            )
        open_dist = partner_distance(centres, located, open_at=at)
        values["distance_partenaire_ouvert"] = open_dist.to_numpy()
        if open_dist.notna().any():
            add(
                "distance_partenaire_ouvert",
                open_dist,
                [
                    f"partenaire ouvert le plus proche {moment} à {d}"
                    if d
                    else f"aucun partenaire ouvert {moment}"
                    for d in format_distances(open_dist.to_numpy(float, na_value=np.nan))
                ],
            )
        else:
            notes_out.append(f"aucun partenaire ouvert {moment} : distance ignorée")

    # --- mobility
    rural = rural_zones(centres, communes_m) if communes_m is not None else None
    if rural is not None:
        values["rural"] = rural.to_numpy()
    if stops is None or len(stops) == 0:
        notes_out.append("aucun flux GTFS importé : mobilité (desserte, barrières) hors du score")
    else:
        stops_m = stops.to_crs(METRIC_CRS)
        stop_names = dict(
            zip(stops_m["stop_id"].astype(str), stops_m.get("nom", stops_m["stop_id"]), strict=True)
        )
        rural_s = (
            rural if rural is not None else pd.Series(pd.NA, index=metric.index, dtype="boolean")
        )
        if rural_s.isna().all():  # said, not silently dropped from the index
            notes_out.append(
                "part « zone rurale » de la barrière de mobilité inactive : grille de densité "
                "non importée (territory import density FICHIER)"
            )
        near = format_distance(settings.stop_buffer_m)
        # Beyond the imported feeds, or with their hours unknown, no distance is read.
        state = (
            zone_transit_states(centres.geometry, communes_m, stops_m)
            if communes_m is not None
            else pd.Series(TRANSIT_TIMED, index=centres.index, dtype="str")
        )
        blind = (state != TRANSIT_TIMED).to_numpy()
        values["etat_transport"] = state.to_numpy()
        if blind.any():
            notes_out.append(
                f"{int(blind.sum())} {_KIND_NOUNS[kind]} hors des réseaux importés ou sans "
                "horaires : desserte inconnue (ni zone blanche ni desservie), hors du score"
            )
        if stop_hours is not None:
            dep = departures_per_hour(
                metric,
                stops_m,
                stop_hours,
                weekday=at.weekday(),
                hour=at.hour,
                radius_m=settings.stop_buffer_m,
            )
            served = served_stop_distance(
                centres, stops_m, stop_hours, weekday=at.weekday(), hour=at.hour
            )
            arrets = dep.attrs["arret"]
            dep = dep.mask(blind)
            values["departs_heure"] = dep.to_numpy()
            add(
                "departs_heure",
                dep,
                _blind_phrases(
                    [
                        _departures_phrase(n, stop_names.get(s or "", ""), at, near)
                        for n, s in zip(dep, arrets, strict=True)
                    ],
                    state,
                ),
            )
            when = moment
        else:
            notes_out.append(
                "desserte par heure non disponible (horaires du GTFS non stockés : réimportez "
                "le flux) : départs du jour de référence utilisés"
            )
            dep = departures_per_day(metric, stops_m, radius_m=settings.stop_buffer_m)
            dep = dep.mask(blind)
            served = served_stop_distance(centres, stops_m)
            values["departs_jour"] = dep.to_numpy()
            if dep.notna().any():
                add(
                    "departs_jour",
                    dep,
                    _blind_phrases(
                        [
                            f"{_int(n)} départs par jour à moins de {near}"
                            if n
                            else f"aucun arrêt desservi à moins de {near}"
                            for n in dep.fillna(0)
                        ],
                        state,
                    ),
                )
            when = "dans la journée"
        served = served.mask(blind)
        values["distance_arret_desservi"] = served.to_numpy()
        barrier = mobility_barrier(dep.fillna(0), served, rural_s, radius_m=settings.stop_buffer_m)
        barrier = barrier.mask(blind)
        values["barriere_mobilite"] = barrier.to_numpy()
        add(
            "barriere_mobilite",
            barrier,
            _blind_phrases(
                [
                    _barrier_phrase(d, r, when)
                    for d, r in zip(
                        format_distances(served.to_numpy(float, na_value=np.nan)),
                        rural_s.astype(object),
                        strict=True,
                    )
                ],
                state,
            ),
        )

    values.index = index
    values.insert(0, "nom", names.to_numpy())
    components = pd.DataFrame({n: s.to_numpy() for n, s in comps.items()}, index=index)
    phrase_table = pd.DataFrame(phrases, index=index, dtype=object)
    out_zones = zones.reset_index(drop=True).to_crs("EPSG:4326")
    out_zones = gpd.GeoDataFrame(
        {"code": index.to_numpy(), "nom": names.to_numpy()},
        geometry=out_zones.geometry.to_numpy(),
        index=index,
        crs="EPSG:4326",
    )
    return ZoneIndicators(
        kind=kind,
        zones=out_zones,
        values=values,
        components=components,
        phrases=phrase_table,
        groups={n: COMPONENTS_DOC[n][0] for n in comps},
        notes=tuple(dict.fromkeys(notes_out)),
        at=at,
        windows=windows,
        normalisation=normalisation,
    )


_KIND_NOUNS = {"commune": "communes", "qpv": "QPV", "cell": "carreaux"}


def _int(value: object) -> str:
    return format_number(float(value))  # type: ignore[arg-type]


def _coverage_phrases(
    c: pd.DataFrame,
    pop: pd.Series | None,
    score_rate: pd.Series,
    months: int,
    k: int,
) -> list[str]:
    low = (score_rate <= score_rate.median()).fillna(False).to_numpy()
    pops = pop.to_numpy() if pop is not None else [None] * len(c)
    out = []
    for count, label, status, p, is_low in zip(
        c["contacts_recents"],
        c["contacts_recents_libelle"],
        c["contacts_recents_statut"],
        pops,
        low,
        strict=True,
    ):
        per = f" pour {_int(p)} habitants" if p is not None and pd.notna(p) else ""
        since = f"depuis {months} mois"
        if status == BELOW_K:
            out.append(f"peu de contacts {since} (moins de {k}){per}")
        elif status != PUBLISHED:
            out.append(f"contacts {since} non publiés (secret statistique){per}")
        elif count == 0:
            out.append(f"aucun contact {since}{per}")
        elif is_low:
            out.append(f"peu de contacts {since} ({label}{per})")
        else:
            out.append(f"{label} contacts {since}{per}")
    return out


def _trend_phrase(trend: object, months: int) -> str:
    if trend is None or pd.isna(trend):
        return "évolution des contacts non publiée"
    pct = round(float(trend) * 100)  # type: ignore[arg-type]
    span = f"{months} derniers mois contre les {months} précédents"
    if pct < 0:
        return f"contacts en baisse de {-pct} % ({span})"
    if pct > 0:
        return f"contacts en hausse de {pct} % ({span})"
    return f"contacts stables ({span})"


def _departures_phrase(n: object, stop: str, at: datetime, near: str) -> str:
    day = WEEKDAYS_FR[at.weekday()]
    span = f"le {day} entre {at.hour} h et {at.hour + 1} h"
    count = 0 if n is None or pd.isna(n) else int(n)  # type: ignore[call-overload]
    if count == 0:
        return f"aucun arrêt desservi à moins de {near} {span}"
    where = f" (arrêt {stop})" if stop else ""
    return f"{count} départ{'s' if count > 1 else ''} {span}{where}"


def _blind_phrases(phrases: list[str], state: pd.Series) -> list[str]:
    """The transit phrases, with the reason where the feeds say nothing (no distance)."""
    return [STATE_PHRASES.get(str(st), p) for p, st in zip(phrases, state, strict=True)]


def _barrier_phrase(distance: str, rural: object, when: str) -> str:
    if not distance:
        text = f"aucun arrêt desservi {when}"
    else:
        text = f"arrêt desservi {when} le plus proche à {distance}"
    if rural is True:
        text += ", zone rurale"
    return text


# ------------------------------------------------------------------------ workspace glue


def zone_indicators_many(
    ws: Workspace,
    *,
    settings: Settings,
    kinds: Collection[ZoneKind] = _COMMUNES_ONLY,
    territory: str | None = None,
    at: datetime | None = None,
    access_types: Sequence[str] = DEFAULT_ACCESS_TYPES,
    normalisation: Normalisation = "rang",
) -> dict[ZoneKind, ZoneIndicators]:
    """:func:`zone_indicators` for several zone kinds, reading each layer once."""
    if not ws.has("communes"):
        raise WorkspaceError(
            "aucune commune dans l'espace de travail : importez d'abord les communes"
        )
    communes = ws.read_layer("communes")
    scope = None if is_whole(territory) else resolve(ws, territory)
    in_scope = communes if scope is None else communes[communes["code"].isin(scope)]
    partners = ws.read_layer("partners") if ws.has("partners") else None
    stops = ws.read_layer("stops") if ws.has("stops") else None
    # Partners and stops outside the territory still serve it: all are kept.
    at = at or default_moment(ws)
    stop_hours = (
        load_stop_hours(ws, weekday=at.weekday(), hour=at.hour) if stops is not None else None
    )
    zone_sets: dict[ZoneKind, gpd.GeoDataFrame] = {}
    for kind in kinds:
        zone_sets[kind] = load_zones(ws, kind, territory=territory, communes=communes)
    need = load_need_data(ws)
    travel_model = travel_model_for(ws, settings)
    contacts = None
    windows = default_windows(ws, settings=settings)
    if windows is not None:
        contacts = protected_contacts_many(
            ws, zone_sets, settings=settings, windows=windows, communes=scope
        )
    return {
        kind: build_indicators(
            zones,
            kind=kind,
            settings=settings,
            communes=in_scope if kind == "commune" else communes,
            partners=partners,
            stops=stops,
            stop_hours=stop_hours,
            contacts=None if contacts is None else contacts[kind],
            windows=windows,
            at=at,
            access_types=access_types,
            normalisation=normalisation,
            need=need,
            travel_model=travel_model,
        )
        for kind, zones in zone_sets.items()
    }


def zone_indicators(
    ws: Workspace,
    *,
    settings: Settings,
    kind: ZoneKind = "commune",
    territory: str | None = None,
    at: datetime | None = None,
    access_types: Sequence[str] = DEFAULT_ACCESS_TYPES,
    normalisation: Normalisation = "rang",
) -> ZoneIndicators:
    """Indicators and components of the zones of a territory, read from the workspace.

    Parameters
    ----------
    ws
        The workspace.
    settings
        Gives ``k`` and ``rounding`` (contacts are protected).
    kind
        ``"commune"``, ``"qpv"`` or ``"cell"`` (1 km).
    territory
        A defined territory (``None``: the whole workspace); contacts are restricted to
        its communes before protection.
    at
        Local time of the hour-dependent indicators (default :func:`default_moment`).
    access_types
        Partner types whose distance is a component.
    normalisation
        ``"rang"`` or ``"minmax"``.
    """
    return zone_indicators_many(
        ws,
        settings=settings,
        kinds=(kind,),
        territory=territory,
        at=at,
        access_types=access_types,
        normalisation=normalisation,
    )[kind]


# ---------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class Ranking:
    """Zones ranked by priority score, best first.

    Attributes
    ----------
    table
        ``rang``, ``code``, ``nom``, ``score`` (0-100), one column per group (mean of its
        components × 100, NaN when absent), ``raisons`` (list of French phrases) and
        ``pourquoi`` (the phrases joined by ``" ; "``).
    weights
        The weights used.
    notes
        French notes: missing layers, estimates, weights without effect.
    indicators
        What the ranking was computed from.
    """

    table: pd.DataFrame
    weights: Weights
    notes: tuple[str, ...]
    indicators: ZoneIndicators = field(repr=False)

    def to_text(self, *, top: int = 20) -> str:
        """French plain-text listing of the best ``top`` zones with their reasons."""
        lines = [
            f"{int(r.rang):>4}. {r.nom} ({r.code}) — score {r.score:.1f}\n      {r.pourquoi}"
            for r in self.table.head(top).itertuples(index=False)
        ]
        notes = [f"  note : {n}" for n in self.notes]
        return "\n".join([*lines, *notes])

    def records(self) -> list[dict[str, Any]]:
        """Plain-JSON zones, best first.

        Each has ``rang``, ``code``, ``name``, ``score``, ``groups``, ``components``,
        ``indicators`` and ``reasons``.
        """
        ind = self.indicators
        comps = ind.components.reindex(self.table["code"]).to_dict("records")
        values = ind.values.reindex(self.table["code"]).drop(columns="nom").to_dict("records")
        out = []
        for row, c, v in zip(self.table.itertuples(index=False), comps, values, strict=True):
            out.append(
                {
                    "rang": int(row.rang),
                    "code": str(row.code),
                    "name": str(row.nom),
                    "score": round(float(row.score), 1),
                    "groups": {g: _json(getattr(row, g)) for g in GROUPS},
                    "components": {n: _json(x, 3) for n, x in c.items()},
                    "indicators": {n: _json(x, 3) for n, x in v.items()},
                    "reasons": list(row.raisons),
                }
            )
        return out


def _json(value: object, digits: int = 1) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), digits)
    return str(value)


def rank_zones(ind: ZoneIndicators, weights: Weights, *, reasons: int = 3) -> Ranking:
    """Score and rank the zones with ``weights`` (fast: no geometry, no data access).

    Parameters
    ----------
    ind
        :func:`zone_indicators` or :func:`build_indicators`.
    weights
        Group weights.
    reasons
        At most this many phrases per zone (the components adding most to its score).

    Returns
    -------
    Ranking
        Best first; ties broken by code.
    """
    names = list(ind.components.columns)
    if len(ind.zones) == 0:
        empty = pd.DataFrame(
            columns=["rang", "code", "nom", "score", *GROUPS, "raisons", "pourquoi"]
        )
        return Ranking(table=empty, weights=weights, notes=tuple(ind.notes), indicators=ind)
    if not names:
        raise ValidationError(
            "aucune donnée pour calculer un score (ni population, ni contacts, ni partenaires, "
            "ni arrêts) : importez au moins les communes avec leur population"
        )
    w = weights.to_dict()
    notes = list(ind.notes)
    per_group = {g: sum(1 for n in names if ind.groups[n] == g) for g in GROUPS}
    present = [g for g in GROUPS if per_group[g]]
    notes.extend(
        f"poids « {GROUP_LABELS[g]} » sans effet : aucune donnée pour ce groupe"
        for g in GROUPS
        if w[g] > 0 and not per_group[g]
    )
    total = sum(w[g] for g in present)
    if total <= 0:
        raise ValidationError(
            "les groupes qui ont des données ("
            + ", ".join(GROUP_LABELS[g] for g in present)
            + ") ont tous un poids nul : donnez un poids positif à l'un d'eux"
        )
    col_w = np.array([w[ind.groups[n]] / per_group[ind.groups[n]] for n in names], dtype=float)
    raw = ind.components.to_numpy(dtype=float) if names else np.zeros((len(ind.zones), 0))
    known = ~np.isnan(raw)
    filled = np.where(known, raw, _NEUTRAL)
    score = (filled * col_w).sum(axis=1) / total * 100 if names else np.zeros(len(raw))
    codes = ind.components.index.to_numpy(dtype=object)
    order = np.lexsort((codes.astype(str), -np.round(score, 9)))
    # Reasons: the known components adding most to the score.
    contrib = np.where(known, raw * col_w, -np.inf)
    top = np.argsort(-contrib, axis=1, kind="stable")[:, :reasons]
    phrases = ind.phrases.reindex(columns=names).to_numpy(dtype=object)
    why: list[list[str]] = []
    for i in range(len(raw)):
        chosen = [j for j in top[i] if contrib[i, j] > 0]
        if not chosen and len(top[i]) and np.isfinite(contrib[i, top[i][0]]):
            chosen = [top[i][0]]
        why.append([str(phrases[i, j]) for j in chosen] or ["aucune donnée pour cette zone"])
    table = pd.DataFrame(
        {
            "rang": np.arange(1, len(order) + 1),
            "code": codes[order],
            "nom": ind.values["nom"].to_numpy(dtype=object)[order],
            "score": score[order],
        }
    )
    for g in GROUPS:
        cols = [j for j, n in enumerate(names) if ind.groups[n] == g]
        table[g] = filled[order][:, cols].mean(axis=1) * 100 if cols else np.nan
    table["raisons"] = [why[i] for i in order]
    table["pourquoi"] = [" ; ".join(why[i]) for i in order]
    return Ranking(table=table, weights=weights, notes=tuple(dict.fromkeys(notes)), indicators=ind)


def priorities(
    ws: Workspace,
    *,
    settings: Settings,
    territory: str | None = None,
    weights: Weights | None = None,
    kind: ZoneKind = "commune",
    at: datetime | None = None,
) -> Ranking:
    """The ranking of ``territory priorities``: indicators then :func:`rank_zones`.

    ``weights`` default to those saved for the territory (:func:`load_weights`).
    """
    ind = zone_indicators(ws, settings=settings, kind=kind, territory=territory, at=at)
    return rank_zones(ind, weights or load_weights(ws, territory=territory))
