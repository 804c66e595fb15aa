"""Weekly plans in the workspace: teams, places, the week's optimisation and its versions.

:mod:`territory.rounds.geo` is the planner; this module is what the page and the CLI
call around it:

* **teams** (``teams`` table) and **places** (``places`` layer) stored in the workspace,
  read from a team's CSV / JSON file, or — for places — suggested from the partners and
  the transit hubs (:func:`territory.rounds.geo.suggest_places`) when none are stored;
  each team has a ``secteur`` (:mod:`territory.rounds.sectors`; empty: anywhere);
* :func:`plan_week`: the week's rounds on a programme territory (or the whole
  workspace), valued by :mod:`territory.rounds.value`, with the zones to cover, the
  teams' sectors, the locked visits of the last version, the previous plan to keep
  (:mod:`territory.rounds.recurrence`), the monthly communes already visited this month,
  and the travel model of the settings (:class:`territory.travel.TravelModel`; public
  transport from the GTFS timetables, :mod:`territory.rounds.transit`);
* **versions**: every saved plan is a new version of its ISO week, with when, who and
  what changed (``plans`` and ``plan_visits`` tables); visits moved by the lead are
  locked, and locked visits are kept when a week is re-optimised. An edit is saved on the
  version it was made on (:func:`save_edited` ``base_version``): when the week was saved
  meanwhile it is refused with what changed (two editors never overwrite each other);
  no version without change, nor an emptied one unless confirmed, is saved; a move
  outside the team's availability or the place's hours is refused (there are no
  "forced" visits: the solver could not keep them); :func:`restore_version` saves an
  earlier version again.

Field outputs are in :mod:`territory.rounds.outputs`, feedback in
:mod:`territory.rounds.feedback`. Weeks are ISO weeks written ``2026-W49``; times are
local (Europe/Paris).
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from territory._errors import EditConflictError, ValidationError
from territory.calendar import departement_of, week_calendar
from territory.crs import STORAGE_CRS
from territory.hours import read_hours, windows_from_opening_hours
from territory.io.report import ImportReport
from territory.roads import NETWORK_MODES, model_note, travel_model_for
from territory.rounds.geo import plan_rounds, suggest_places
from territory.rounds.model import Plan, Team, Visit, hhmm
from territory.rounds.naming import commune_names, named_codes, with_place_zones
from territory.rounds.places import (
    COLUMNS,
    coverage_notes,
    is_generated,
    merge_places,
    place_coverage,
    sources_note,
)
from territory.rounds.plan_tables import (
    PLANS,
    VISITS,
    WeekPlan,
    latest_version,
    load_plan,
    plan_history,
    plan_territory,
    plan_versions,
    session_territory,
)
from territory.rounds.recurrence import kept_visits, monthly_turn, previous_plan
from territory.rounds.sectors import territory_places, territory_zones
from territory.rounds.solver import STABILITY
from territory.rounds.teams import (
    DEFAULT_AVAILABILITY,
    TEAM_COLUMNS,
    TEAMS,
    load_teams,
    read_teams,
    save_teams,
    teams_from_table,
)
from territory.rounds.transit import TRANSIT, load_transit_network, transit_model_note
from territory.rounds.value import (
    FIRST_SLOT,
    SLOT_MINUTES,
    commune_ranking,
    communes_with_qpv,
    coverage_zones,
    monthly_zones,
    place_factor,
    place_reasons,
    place_values,
    rule_notes,
    visit_reason,
    zone_yields,
)
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import is_whole, resolve
from territory.vocab import KINDS, WEEKDAYS_FR, place_kind

__all__ = [
    "DEFAULT_AVAILABILITY",
    "PLACES",
    "PLACE_SYNONYMS",
    "PLANS",
    "TEAMS",
    "TEAM_COLUMNS",
    "TIMEZONE",
    "VISITS",
    "WeekPlan",
    "add_places",
    "candidate_places",
    "check_visit_times",
    "coverage",
    "latest_version",
    "load_plan",
    "load_teams",
    "move_visit",
    "new_place",
    "plan_history",
    "plan_versions",
    "plan_week",
    "read_places",
    "read_teams",
    "remove_places",
    "replay_edit",
    "restore_version",
    "save_edited",
    "save_plan",
    "save_teams",
    "session_territory",
    "teams_from_table",
    "visit_changes",
    "week_monday",
]

PLACES = "places"
_REMOVED = "places_removed"  # workspace property: generated places removed by hand
TIMEZONE = ZoneInfo("Europe/Paris")
OUTSIDE_SECTOR_SHARE = 0.5
"""Share of its value a visit outside the team's sector keeps when such visits are allowed."""


def week_monday(week: str) -> date:
    """Monday of an ISO week written ``2026-W49``."""
    match = re.fullmatch(r"(\d{4})-W(\d{1,2})", week.strip())
    if not match:
        raise ValidationError(f"semaine invalide « {week} » (attendu AAAA-Wnn, ex. 2026-W49)")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValidationError(f"semaine invalide « {week} » : {exc}") from exc


# --------------------------------------------------------------------------- places
PLACE_SYNONYMS = {
    "nom": ["name", "lieu", "nom_du_lieu", "nom_lieu", "libelle", "libelle_du_lieu", "intitule"],
    "type": ["kind", "categorie", "type_lieu", "type_de_lieu", "nature", "nature_du_lieu"],
    "horaires": [
        "opening_hours",
        "presence",
        "heures",
        "horaires_de_presence",
        "presence_du_public",
        "plages_horaires",
        "creneaux",
        "horaires_d_ouverture",
    ],
    "duree": ["duree_min", "duration", "duree_de_visite", "duree_visite", "temps_sur_place"],
    "priorite": ["priority", "poids", "importance"],
    "visites_par_jour": [
        "nb visites/jour",
        "nb_visites_jour",
        "nombre de visites par jour",
        "visites/jour",
        "passages par jour",
        "visits_per_day",
    ],
    "longitude": ["lon", "lng", "long", "x_wgs84", "longitude_wgs84"],
    "latitude": ["lat", "y_wgs84", "latitude_wgs84"],
}
"""Header synonyms of a places file (compared without case, accents, spaces or signs)."""
PLACE_MARKERS = ["nom", *PLACE_SYNONYMS["nom"]]
"""Headers that mark the header row (and the sheet) of a places table."""


def read_places(
    path: Path, *, communes: gpd.GeoDataFrame, crs: str | None = None, sheet: str | None = None
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """A team's places (GeoJSON / GeoPackage, or CSV / XLSX with longitude and latitude).

    Columns (French or English names): ``nom``, ``type`` (one of
    :data:`territory.vocab.KINDS`), optional ``horaires`` (OSM opening_hours: when a
    team can find people there), ``duree`` (minutes, default 45), ``priorite`` (default 1),
    ``visites_par_jour`` (« visites par jour », « nb visites/jour »: most visits a day,
    a whole number from 1 to 24, default 1). A place with an unknown type, no position,
    outside every commune or an invalid number of visits a day is refused with the
    reason; unreadable hours are dropped (any time) with a fix line. The ``zone`` is
    the commune under the place. ``sheet``: the workbook's sheet to read (None: the only
    one, or the only one with a name column; the report names it).
    """
    from territory.io._validate import find_columns, note_guessed, read_tabular, read_vector

    path = Path(path)
    report = ImportReport(kind="places", source=path.name)
    if path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xls", ".ods"):
        table = read_tabular(
            path, markers=PLACE_MARKERS, sheet=sheet, first_match=False, report=report
        )
        found = find_columns(table.columns, PLACE_SYNONYMS)
        note_guessed(found, report)
        lon = pd.to_numeric(
            table.get(found.get("longitude", ""), pd.Series(dtype=str)).str.replace(
                ",", ".", regex=False
            ),
            errors="coerce",
        )
        lat = pd.to_numeric(
            table.get(found.get("latitude", ""), pd.Series(dtype=str)).str.replace(
                ",", ".", regex=False
            ),
            errors="coerce",
        )
        if "longitude" not in found or "latitude" not in found:
            raise ValidationError(f"{path.name} : colonnes longitude et latitude attendues")
        gdf = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon, lat), crs=4326)
        gdf.loc[lon.isna() | lat.isna(), "geometry"] = None
    else:
        gdf = read_vector(path, crs=crs).to_crs(4326)
        found = find_columns(gdf.columns, PLACE_SYNONYMS)
    missing = [c for c in ("nom", "type") if c not in found]
    if missing:
        raise ValidationError(
            f"{path.name} : colonne(s) {', '.join(missing)} introuvable(s) "
            f"(colonnes lues : {', '.join(map(str, gdf.columns))})"
        )
    zone = (
        gpd.sjoin(
            gdf[[gdf.geometry.name]],
            communes[["code", "geometry"]].to_crs(4326),
            predicate="within",
            how="left",
        )["code"]
        .groupby(level=0)
        .first()
    )
    rows = []
    for index, row in gdf.iterrows():
        report.read += 1
        line = int(index) + 1 if isinstance(index, int | np.integer) else str(index)
        written = str(row[found["type"]]).strip()
        kind = place_kind(written) or ""
        hours = str(row.get(found.get("horaires", ""), "") or "").strip()
        per_day, per_day_problem = _per_day(row.get(found.get("visites_par_jour", "")))
        if not kind:
            report.refuse(line, f"type « {written} » inconnu (attendu : {', '.join(KINDS)})")
        elif not isinstance(row.geometry, BaseGeometry) or row.geometry.is_empty:
            report.refuse(line, "position manquante ou illisible")
        elif pd.isna(zone.get(index)):
            report.refuse(line, "hors du territoire (aucune commune)")
        elif per_day_problem:
            report.refuse(line, per_day_problem)
        else:
            read, how = read_hours(hours)
            if how == "fr":
                report.fix(f"ligne {line} : horaires « {hours} » lus comme « {read} »")
            if how == "texte" or (read and windows_from_opening_hours(read) is None):
                report.fix(f"ligne {line} : horaires « {hours} » illisibles → à toute heure")
                read = ""
            hours = read
            report.accept()
            rows.append(
                {
                    "id": f"import-{path.stem}-{line}",
                    "nom": str(row[found["nom"]]).strip(),
                    "type": kind,
                    "zone": str(zone[index]),
                    "horaires": hours,
                    "duree": _number(row.get(found.get("duree", ""), ""), 45),
                    "priorite": _number(row.get(found.get("priorite", ""), ""), 1.0),
                    "visites_par_jour": per_day,
                    "source": f"lieux importés ({path.name})",
                    "geometry": row.geometry,
                }
            )
    columns = ["id", "nom", "type", "zone", "duree", "priorite", "visites_par_jour", "horaires"]
    columns += ["source", "geometry"]
    places = gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=4326)
    return places, report.check()


def add_places(ws: Workspace, places: gpd.GeoDataFrame, *, source: str) -> int:
    """Add the team's places to the stored ones; returns the count of candidate places.

    A place with the same ``id`` as a stored one replaces it. Only the team's places are
    stored: the generated ones are made again from the current layers at each read
    (:func:`candidate_places`).
    """
    if ws.has(PLACES):
        current = ws.read_layer(PLACES)
        current = current[~current["id"].astype(str).isin(set(places["id"].astype(str)))]
        places = pd.concat([current, places.to_crs(current.crs)], ignore_index=True)
    ws.write_layer(PLACES, gpd.GeoDataFrame(places, crs=4326), source=source, vintage="")
    return len(candidate_places(ws))


def new_place(
    ws: Workspace,
    *,
    name: str,
    kind: str,
    lon: float | None,
    lat: float | None,
    hours: str = "",
    duration: int = 45,
    priority: float = 1.0,
) -> gpd.GeoDataFrame:
    """One place created by hand (a click on the map), checked, with its zone.

    The zone is the commune under the point. Unlike a file import, where unreadable
    hours are dropped with a fix line, a form is corrected on the spot: every problem
    (no name, unknown kind, no position or outside the workspace's communes, unreadable
    presence hours, duration or priority out of range) raises one
    :class:`~territory.ValidationError` listing them all.
    """
    problems = []
    name, written, hours = name.strip(), kind.strip(), hours.strip()
    kind = place_kind(written) or ""
    if not name:
        problems.append("nom manquant")
    if not kind:
        problems.append(f"type « {written.lower()} » inconnu (attendu : {', '.join(KINDS)})")
    written = hours
    hours, how = read_hours(written)
    if how == "texte" or (hours and windows_from_opening_hours(hours) is None):
        problems.append(
            f"présence « {written} » illisible (ex. « mercredi 14h-18h ; samedi 10h-12h » "
            "ou « We 14:00-18:00; Sa 10:00-12:00 »)"
        )
    if not 5 <= duration <= 600:
        problems.append(f"durée de {duration} min hors de 5 à 600 min")
    if not 0 < priority <= 10:
        problems.append(f"priorité {priority} hors de ]0 ; 10]")
    zone = None
    if lon is None or lat is None or not (np.isfinite(lon) and np.isfinite(lat)):
        problems.append("position manquante : cliquez sur la carte ou saisissez-la")
    elif not ws.has("communes"):
        problems.append("aucune commune dans l'espace de travail : importez d'abord les communes")
    else:
        point = Point(lon, lat)
        communes = ws.read_layer("communes", columns=["code"]).to_crs(4326)
        under = communes[communes.contains(point)]
        if under.empty:
            problems.append(
                f"position {lat:.5f}, {lon:.5f} hors des communes de l'espace de travail"
            )
        else:
            zone = str(under["code"].iloc[0])
    if problems:
        raise ValidationError(problems)
    row = {
        "id": f"carte-{uuid.uuid4().hex[:8]}",
        "nom": name,
        "type": kind,
        "zone": zone,
        "horaires": hours,
        "duree": float(duration),
        "priorite": float(priority),
        "source": "lieu créé sur la carte",
    }
    return gpd.GeoDataFrame([row], geometry=[Point(lon, lat)], crs=4326)


def remove_places(ws: Workspace, ids: Collection[str]) -> int:
    """Remove places by ``id`` from the candidates; returns how many are left.

    A team's place leaves the stored layer; a generated one is remembered as removed
    (workspace property ``places_removed``), so that it is not generated again. Visits
    already planned keep their place name; a locked visit of a removed place is reported
    (not planned) when the week is re-optimised.
    """
    wanted = set(map(str, ids))
    unknown = sorted(wanted - set(candidate_places(ws)["id"].astype(str)))
    if unknown:
        raise ValidationError(f"lieu(x) inconnu(s) : {', '.join(unknown)}")
    generated = {i for i in wanted if is_generated(pd.Series([i])).iloc[0]}
    if generated:
        ws.set_property(_REMOVED, json.dumps(sorted(_removed(ws) | generated)))
    if ws.has(PLACES):
        places = ws.read_layer(PLACES)
        if places["id"].astype(str).isin(wanted).any():
            kept = places[~places["id"].astype(str).isin(wanted)]
            ws.write_layer(PLACES, kept, source="lieux (retraits sur la page Tournées)", vintage="")
    return len(candidate_places(ws))


def _removed(ws: Workspace) -> set[str]:
    """Ids of the generated places removed by hand."""
    return set(json.loads(ws.get_property(_REMOVED) or "[]"))


def _per_day(value: object) -> tuple[int, str]:
    """Visits a day of a place's row, and why it is refused (``""``: read; empty: 1)."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    text = text.strip()
    if not text:
        return 1, ""
    number = pd.to_numeric(text.replace(",", "."), errors="coerce")
    if pd.isna(number) or not 1 <= number <= 24 or number != int(number):
        return 1, f"visites par jour « {text} » invalide : un nombre entier de 1 à 24 attendu"
    return int(number), ""


def _number(value: object, default: float) -> float:
    number = pd.to_numeric(str(value).replace(",", "."), errors="coerce")
    return default if pd.isna(number) else float(number)


def candidate_places(ws: Workspace) -> gpd.GeoDataFrame:
    """The team's stored places and the places generated from the current layers (EPSG:4326).

    Generated (:func:`territory.rounds.geo.suggest_places`): the partners, the stations
    and each commune's busiest bus stop, a point inside each QPV and each commune's
    centre — candidates on any territory, made again from the layers at each read, so
    that an OSM extract, a new QPV or new partners imported later are seen. The team's
    places (imported, OpenStreetMap, created on the map) are kept and win on the same
    spot; generated places removed by hand stay out
    (:func:`territory.rounds.places.merge_places`; generated rows stored by earlier
    versions are made again). ``attrs["places"]`` counts what was left out
    (:func:`~territory.rounds.places.sources_note`).
    """
    own = gpd.GeoDataFrame(columns=[*COLUMNS, "geometry"], geometry="geometry", crs=4326)
    if ws.has(PLACES):
        stored = ws.read_layer(PLACES)
        # kinds written otherwise before the vocabulary grew (« gare ») read as today's
        kinds = [(place_kind(k) or k) if isinstance(k, str) else k for k in stored["type"]]
        own = stored.assign(type=kinds)
        if "id" not in own:
            own = own.assign(id=[f"L{i + 1:03d}" for i in range(len(own))])
        own = own[~is_generated(own["id"])]
    partners = ws.read_layer("partners") if ws.has("partners") else None
    if partners is not None:
        partners = partners[partners.geometry.notna()]
    stops = ws.read_layer("stops") if ws.has("stops") else None
    communes = ws.read_layer("communes", columns=["code", "nom"]) if ws.has("communes") else None
    qpv = ws.read_layer("qpv") if ws.has("qpv") else None
    places = merge_places(
        own, suggest_places(partners, stops, qpv=qpv, communes=communes), removed=_removed(ws)
    )
    if places.empty:
        raise ValidationError(
            "aucun lieu : importez des communes, des lieux, des partenaires ou un réseau "
            "de transport"
        )
    return places


def coverage(ws: Workspace) -> pd.DataFrame:
    """The candidate places of each priority zone (:func:`~territory.rounds.places.place_coverage`).

    Every QPV of the latest generation, every commune holding one and every rural
    commune; empty without communes.
    """
    if not ws.has("communes"):
        return place_coverage(candidate_places(ws).iloc[:0])
    return place_coverage(
        candidate_places(ws),
        communes=ws.read_layer("communes", columns=["code", "nom", "densite"]),
        qpv=ws.read_layer("qpv") if ws.has("qpv") else None,
    )


# ---------------------------------------------------------------------------- plans
def plan_week(
    ws: Workspace,
    week: str,
    *,
    settings: Settings,
    teams: Sequence[Team] | None = None,
    required_zones: Sequence[str] | None = None,
    keep_locked: bool = True,
    territory: str | None = None,
    outside_sector: bool = False,
    stability: float = STABILITY,
    time_limit: float = 5.0,
    solution_limit: int | None = None,
) -> tuple[Plan, gpd.GeoDataFrame]:
    """Optimise the rounds of ``week`` (the visits locked in its last version stay).

    ``territory``: a programme territory (:mod:`territory.territories`; None: the whole
    workspace) whose places alone are candidates. Each team visits only the places of
    its sector (``outside_sector``: it may leave it, such a visit counting for
    :data:`OUTSIDE_SECTOR_SHARE` of its value); a team without sector goes anywhere (a
    note says so). The previous plan — the last version of ``week``, else the last week
    planned in the :data:`~territory.rounds.recurrence.PREVIOUS_WEEKS` before — is kept
    where nothing calls for a change (``stability``: the bonus of a kept visit, as a
    share of a mean visit's value; a note gives the share kept). A monthly commune
    (:func:`~territory.rounds.value.monthly_zones`) is visited every four weeks, in its
    turn's week only, starting from its visit of four weeks before
    (:func:`~territory.rounds.recurrence.monthly_turn`).

    The week is Monday to Friday, plus the weekend days a team's availability opens
    (a team « du mardi au samedi » gets Saturday visits).

    ``required_zones`` default to :func:`~territory.rounds.value.coverage_zones`; zones
    without any candidate place are left out with a note. Travel times follow the travel
    model of ``settings``, on the workspace's road network when one was imported
    (:func:`territory.roads.travel_model_for`; a note says which). Teams moving by public
    transport get door-to-door times from the GTFS timetables stored at import when there
    are some (:func:`territory.rounds.transit.load_transit_network`), else an average
    speed; a note says which (:func:`~territory.rounds.transit.transit_model_note`).
    Returns the plan and the places; ``time_limit``, ``solution_limit``: as in the solver.
    """
    monday = week_monday(week)
    teams = list(teams) if teams is not None else load_teams(ws, week=monday)
    places = candidate_places(ws)
    if "id" not in places:
        places = places.assign(id=[f"L{i + 1:03d}" for i in range(len(places))])
    notes: list[str] = [sources_note(places)]
    places = with_place_zones(ws, territory_places(ws, places, territory, teams, notes))
    locked: list[Visit] = []
    last = load_plan(ws, week, territory=territory)
    if keep_locked and last is not None:
        rows = last.visits[last.visits["locked"]]
        locked = [
            Visit(r.team, r.place, r.start.weekday(), _minutes(r.start), _minutes(r.end), True)
            for r in rows.itertuples(index=False)
        ]
    notes.extend(_calendar_notes(ws, monday))
    previous, since = previous_plan(week, _last_visits(ws, territory))
    scope = None if is_whole(territory) else resolve(ws, territory)
    due = coverage_zones(ws, monday, communes=scope) if required_zones is None else required_zones
    monthly = monthly_zones(ws) if scope is None else monthly_zones(ws) & scope
    turn = monthly_turn(week, monthly, due, _last_visits(ws, territory))
    notes += turn.notes(lambda codes: named_codes(codes, commune_names(ws)))
    previous, caps, seen = [*previous, *turn.reference], turn.caps, turn.seen
    if required_zones is not None:
        required_zones = [z for z in required_zones if z not in seen]
    else:
        required_zones, qpv = territory_zones(
            ws,
            territory,
            list(due),
            ws.read_layer("qpv") if ws.has("qpv") else None,
        )
        notes.extend(rule_notes(ws))
        placed = set(places.get("zone", pd.Series(dtype=str)).astype(str))
        notes += coverage_notes(
            place_coverage(
                places,
                communes=ws.read_layer("communes", columns=["code", "nom"]),
                qpv=qpv,
                zones=required_zones,
            )
        )
        required_zones = [z for z in required_zones if z in placed and z not in seen]
    ranking = commune_ranking(ws, settings=settings)
    places = places.assign(
        pourquoi=place_reasons(
            places, ranking, weekly=communes_with_qpv(ws), due=set(required_zones)
        ),
        valeur_lieu=place_factor(places, ranking),
    )
    travel_model = travel_model_for(ws, settings)
    if any(team.mode in NETWORK_MODES for team in teams):
        notes.append(f"Trajets : {model_note(travel_model)}.")
    transit = None
    if any(team.mode == TRANSIT for team in teams):
        transit = load_transit_network(ws)
        notes.append(
            transit_model_note(transit, has_stops=ws.has("stops"), travel_model=travel_model)
        )
    # Monday to Friday, and the weekend days a team's hours open (« du mardi au samedi »).
    days = sorted({0, 1, 2, 3, 4} | {d for team in teams for d in team.availability if d < 7})
    yields = zone_yields(ws, places, settings=settings, communes=scope, days=days)
    notes.append(yields.note())
    plan = plan_rounds(
        places,
        teams,
        value=place_values(
            ws, places, settings=settings, ranking=ranking, days=days, yields=yields.array
        ),
        week=monday,
        days=days,
        base_crs=STORAGE_CRS,
        travel_model=travel_model,
        transit=transit,
        first_slot=FIRST_SLOT,
        slot_minutes=SLOT_MINUTES,
        required_zones=required_zones,
        locked=locked,
        zone_caps=caps,
        outside_sector=OUTSIDE_SECTOR_SHARE if outside_sector else None,
        previous=previous,
        stability=stability,
        time_limit=time_limit,
        solution_limit=solution_limit,
    )
    stats = dict(plan.stats)
    if since or turn.since:
        kept = kept_visits(previous, plan.visits)
        stats["kept_visits"] = kept
        share = f" ({100 * kept / len(plan.visits):.0f} %)" if plan.visits else ""
        origin = [f"de {since}"] if since else []
        origin += [f"de leur dernier tour ({turn.since}) pour les communes mensuelles"] * bool(
            turn.since
        )
        notes.append(
            f"Stabilité : {kept} visite(s) sur {len(plan.visits)}{share} gardent le lieu, le "
            f"jour et l'heure (± 30 min) {' ; '.join(origin)}."
        )
    planned = dataclasses.replace(plan, notes=(*notes, *plan.notes), stats=stats)
    return dataclasses.replace(
        planned, territory=None if is_whole(territory) else territory
    ), places


def _calendar_notes(ws: Workspace, monday: date) -> list[str]:
    """The week's public and school holidays where most of the workspace's communes are."""
    codes = ws.read_table("communes", columns=["code"])["code"] if ws.has("communes") else []
    deps = pd.Series([departement_of(str(c)) for c in codes], dtype=object)
    calendar = week_calendar(monday, departement=None if deps.empty else deps.mode().iloc[0])
    notes = [n for n in calendar.notes() if not n.startswith("jour férié")]
    if calendar.public:
        days = ", ".join(
            f"{WEEKDAYS_FR[d.weekday()]} {d:%d/%m} ({n})" for d, n in calendar.public.items()
        )
        notes.append(
            f"jour(s) férié(s) : {days} ; aucune visite ce jour-là, sauf pour les équipes dont "
            "les disponibilités disent « PH »"
        )
    return notes


def save_plan(
    ws: Workspace,
    week: str,
    plan: Plan,
    places: gpd.GeoDataFrame,
    *,
    change: str,
    author: str | None = None,
    base_version: int | None = None,
    allow_empty: bool = False,
    territory: str | None = None,
) -> WeekPlan:
    """Store ``plan`` as the next version of ``week`` on ``territory`` (who, when, what changed).

    ``territory``: the programme territory planned, whose versions of the week these are
    (None: the plan's own, :attr:`~territory.rounds.model.Plan.territory`, which
    :func:`plan_week` sets; None there too: the whole workspace). Refused (French
    :class:`~territory.ValidationError`, nothing written) when the plan has no visit while
    the last version had some, unless ``allow_empty``; and, when ``base_version`` is
    given, when the week was saved again since that version. On the server, a session may
    save the plans of its territories only (« ligne hors de vos territoires »).
    """
    monday = week_monday(week)
    territory = plan.territory if territory is None else territory
    previous = load_plan(ws, week, territory=territory)
    if previous is not None:
        if base_version is not None and previous.version != base_version:
            base = load_plan(ws, week, version=base_version, territory=territory)
            if base is not None and base.version == base_version:
                raise EditConflictError(_conflict_message(ws, week, base, previous))
        _refuse_empty(previous, len(plan.visits), allow_empty)
    version = 1 + (previous.version if previous is not None else 0)
    return _store_version(
        ws,
        week,
        _visit_table(plan.visits, places, monday),
        territory=plan_territory(territory),
        version=version,
        change=change,
        author=author,
        objective=float(plan.objective),
        notes=tuple(plan.notes),
    )


def move_visit(visits: pd.DataFrame, index: Any, new_start: str) -> pd.DataFrame:
    """Move one visit to ``new_start`` (``"HH:MM"``, same day and length) and lock it there.

    The move is the lead's decision: the visit is locked so that re-optimising keeps it
    (and plans the rest around it, or says why it could not).
    """
    match = re.fullmatch(r"\s*(\d{1,2})[:h](\d{2})\s*", new_start)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError(f"heure invalide « {new_start} » (attendu HH:MM)")
    out = visits.copy()
    start, end = out.at[index, "start"], out.at[index, "end"]
    moved = start.replace(hour=int(match[1]), minute=int(match[2]))
    out.at[index, "start"], out.at[index, "end"] = moved, moved + (end - start)
    out.at[index, "locked"] = True
    return out


def save_edited(
    ws: Workspace,
    week: str,
    visits: pd.DataFrame,
    *,
    change: str,
    base_version: int,
    author: str | None = None,
    allow_empty: bool = False,
    territory: str | None = None,
) -> WeekPlan:
    """Store an edited plan (visits locked, moved or deleted) as the next version.

    ``visits`` is :attr:`WeekPlan.visits` of version ``base_version`` after the lead's
    changes; a visit whose ``locked`` is true stays where it is when the week is
    re-optimised (:func:`plan_week`). Refused, with a French
    :class:`~territory.ValidationError`:

    * when the week was saved again since ``base_version`` (optimistic concurrency: two
      editors of one week; the message says what changed meanwhile, nothing is written);
    * when nothing changed (no empty version), or when every visit was removed from a
      version that had some, unless ``allow_empty``;
    * when a moved (or added) visit falls outside its team's availability or its place's
      presence hours (:func:`check_visit_times`): a move is refused, never kept "forced".
    """
    latest = load_plan(ws, week, territory=territory)
    if latest is None:
        raise ValidationError(f"aucun plan enregistré pour {week} : optimisez d'abord")
    base = (
        latest
        if latest.version == base_version
        else load_plan(ws, week, version=base_version, territory=territory)
    )
    if base is None or base.version != base_version:
        raise ValidationError(f"version {base_version} inconnue pour {week}")
    if latest.version != base_version:
        raise EditConflictError(_conflict_message(ws, week, base, latest))
    changes = visit_changes(base.visits, visits)
    if not changes:
        raise ValidationError("aucune modification : rien à enregistrer")
    _refuse_empty(base, len(visits), allow_empty)
    moved = _moved_or_added(base.visits, visits)
    problems = check_visit_times(ws, week, visits.loc[moved])
    if problems:
        raise ValidationError(problems)
    return _store_version(
        ws,
        week,
        visits,
        territory=latest.territory,
        version=latest.version + 1,
        change=change,
        author=author,
        objective=float(visits["value"].sum()),
        notes=latest.notes,
    )


def replay_edit(
    base: pd.DataFrame, edited: pd.DataFrame, latest: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Carry an edit made on ``base`` over to ``latest`` (the week saved by someone else since).

    The lead's changes (visits removed, moved, locked or unlocked, added) are applied to
    ``latest``; visits are matched by team, place and day as in :func:`visit_changes`.
    A change to a visit that ``latest`` changed too is not applied: the other editor's
    version of that visit stays, and the change is listed, in French, in the second value.
    The result, in ``latest``'s order, is saved like any edit (:func:`save_edited` on
    ``latest``'s version, with its checks).
    """
    old, mine, theirs = _keyed(base), _keyed(edited), _keyed(latest)
    keep = dict(theirs)  # key -> (frame, index label)
    skipped: list[str] = []

    def state(rows: dict[Any, tuple[pd.DataFrame, Any]], key: Any) -> tuple[Any, Any, bool]:
        frame, index = rows[key]
        return frame.at[index, "start"], frame.at[index, "end"], bool(frame.at[index, "locked"])

    for key in old.keys() | mine.keys():
        before = state(old, key) if key in old else None
        after = state(mine, key) if key in mine else None
        if before == after:
            continue
        now = state(theirs, key) if key in theirs else None
        if now == after:  # the other editor did the same
            continue
        if now != before:
            where = mine.get(key) or old[key]
            visit = where[0].loc[where[1]]
            start = visit["start"]
            skipped.append(
                f"{visit['team']}, {visit['place_name']} ({WEEKDAYS_FR[start.weekday()]} "
                f"{start:%d/%m}) : modifiée aussi dans l'autre version, gardée comme elle"
            )
            continue
        if after is None:
            del keep[key]
        else:
            keep[key] = mine[key]

    def rank(key: Any) -> int:  # in latest's order, added visits last
        return latest.index.get_loc(theirs[key][1]) if key in theirs else len(latest)

    # consecutive visits of one frame taken in one .loc (the same rows as one .loc each:
    # a row at a time cost 6 % of the server's CPU under the load test, BENCHMARKS.md)
    runs: list[tuple[pd.DataFrame, list[Any]]] = []
    for key in sorted(keep, key=rank):
        frame, label = keep[key]
        if runs and runs[-1][0] is frame:
            runs[-1][1].append(label)
        else:
            runs.append((frame, [label]))
    rows = [frame.loc[labels] for frame, labels in runs]
    visits = pd.concat(rows, ignore_index=True) if rows else latest.iloc[:0]
    return visits, skipped


def restore_version(
    ws: Workspace,
    week: str,
    version: int,
    *,
    author: str | None = None,
    base_version: int | None = None,
    territory: str | None = None,
) -> WeekPlan:
    """Save a new version of ``week`` equal to its earlier ``version`` (history kept).

    Refused (French :class:`~territory.ValidationError`) when the version does not exist
    or when it is the same as the current one (nothing would change); and
    (:class:`~territory.EditConflictError`), when ``base_version`` is given, when the week
    was saved again since that version (the caller decided on what it showed).
    """
    latest = load_plan(ws, week, territory=territory)
    if latest is None:
        raise ValidationError(f"aucun plan enregistré pour {week}")
    if base_version is not None and latest.version != base_version:
        base = load_plan(ws, week, version=base_version, territory=territory)
        if base is not None and base.version == base_version:
            raise EditConflictError(_conflict_message(ws, week, base, latest))
    old = load_plan(ws, week, version=version, territory=territory)
    if old is None or old.version != version:
        raise ValidationError(
            f"version {version} inconnue pour {week} (versions 1 à {latest.version})"
        )
    if version == latest.version:
        raise ValidationError(f"la version {version} est déjà la version en cours de {week}")
    if not visit_changes(latest.visits, old.visits):
        raise ValidationError(
            f"la version {version} a les mêmes visites que la version en cours "
            f"({latest.version}) : rien à restaurer"
        )
    return _store_version(
        ws,
        week,
        old.visits,
        territory=latest.territory,
        version=latest.version + 1,
        change=f"restauration de la version {version}",
        author=author,
        objective=old.objective,
        notes=old.notes,
    )


def visit_changes(before: pd.DataFrame, after: pd.DataFrame) -> str:
    """What changed between two versions' visits, in French (``""`` when nothing).

    Visits are matched by team, place and day: a matched visit at another time is
    « déplacée », one whose lock changed « verrouillée » / « déverrouillée ».

    Examples: ``"3 visites déplacées, 1 ajoutée"``.
    """
    old, new = _by_key(before), _by_key(after)
    moved = sum(
        1 for k in old.keys() & new.keys() if (old[k][0], old[k][1]) != (new[k][0], new[k][1])
    )
    locked = sum(1 for k in old.keys() & new.keys() if new[k][2] and not old[k][2])
    unlocked = sum(1 for k in old.keys() & new.keys() if old[k][2] and not new[k][2])
    added, removed = len(new.keys() - old.keys()), len(old.keys() - new.keys())
    parts = [
        (moved, "déplacée", "déplacées"),
        (added, "ajoutée", "ajoutées"),
        (removed, "retirée", "retirées"),
        (locked, "verrouillée", "verrouillées"),
        (unlocked, "déverrouillée", "déverrouillées"),
    ]
    words = [f"{n} {one if n == 1 else many}" for n, one, many in parts if n]
    if words:  # the first says what: « 3 visites déplacées, 1 ajoutée »
        n, rest = words[0].split(" ", 1)
        words[0] = f"{n} visite{'' if n == '1' else 's'} {rest}"
    return ", ".join(words)


def check_visit_times(ws: Workspace, week: str, visits: pd.DataFrame) -> list[str]:
    """Why some visits fall outside their team's availability or their place's hours.

    One French line per problem (empty when every visit fits): the whole visit must fit
    in one window of the team's ``disponibilites`` and, when the place has ``horaires``,
    in one of its presence windows, on the visit's day of ``week``. A team or place no
    longer stored (or suggested: :func:`candidate_places`) is not checked on that side.
    """
    if visits.empty:
        return []
    monday = week_monday(week)
    teams = {t.name: t.availability for t in load_teams(ws, week=monday)} if ws.has(TEAMS) else {}
    hours: dict[str, str] = {}
    try:
        places = candidate_places(ws)  # stored, else suggested (with the partners' hours)
    except ValidationError:
        places = None
    if places is not None and "id" in places and "horaires" in places:
        hours = dict(
            zip(places["id"].astype(str), places["horaires"].fillna("").astype(str), strict=True)
        )
    problems = []
    for v in visits.itertuples(index=False):
        day = v.start.weekday()
        start = _minutes(v.start)
        end = start + int((v.end - v.start).total_seconds() // 60)
        what = f"{v.team}, {WEEKDAYS_FR[day]} {v.start:%d/%m} {v.start:%H:%M}–{v.end:%H:%M}"
        what += f", {v.place_name}"
        if v.team in teams and not _fits(teams[v.team].get(day, ()), start, end):
            problems.append(
                f"{what} : hors des disponibilités de l'équipe ({_spans(teams[v.team], day)})"
            )
        text = hours.get(str(v.place), "")
        windows = windows_from_opening_hours(text, week=monday) if text else None
        if windows is not None and not _fits(windows.get(day, ()), start, end):
            problems.append(
                f"{what} : hors des horaires de présence du lieu ({_spans(windows, day)})"
            )
    return problems


# --------------------------------------------------------------------------- private
def _store_version(
    ws: Workspace,
    week: str,
    visits: pd.DataFrame,
    *,
    territory: str,
    version: int,
    change: str,
    author: str | None,
    objective: float,
    notes: tuple[str, ...],
) -> WeekPlan:
    """Append one version of ``week`` on ``territory`` (its visits and ``plans`` row) and return it.

    The last version is read again in the transaction that writes (the store's
    :meth:`~territory.store.Workspace.append_rows`): a version saved by someone else
    since the caller's checks, even a few milliseconds before, is a conflict, never a
    second version ``version``.
    """

    def still_last(con: sqlite3.Connection) -> None:
        row = con.execute(
            f"SELECT version, author, change FROM {PLANS} WHERE week = ? AND territory = ? "
            "ORDER BY version DESC LIMIT 1",
            (week, territory),
        ).fetchone()
        if (0 if row is None else int(row[0])) != version - 1:
            raise EditConflictError(
                f"la semaine a été modifiée entre-temps (version {row[0]} par {row[1]}, "
                f"« {row[2]} ») : reprenez votre modification sur la dernière version"
            )

    visits = visits.reset_index(drop=True)
    if ws.has(VISITS):  # a table saved before the zones' names: the columns added
        have = set(ws.read_table(VISITS, where="0").columns)
        for column in [c for c in visits.columns if c not in have]:
            ws.add_column(VISITS, column, "TEXT")
    stored = visits.assign(
        week=week,
        version=version,
        territory=territory,
        start=visits["start"].map(datetime.isoformat).astype(str),  # str even when empty
        end=visits["end"].map(datetime.isoformat).astype(str),
        locked=visits["locked"].astype(bool),
    )
    created = datetime.now(TIMEZONE).replace(microsecond=0)
    meta = pd.DataFrame(
        {
            "week": [week],
            "version": [version],
            "territory": [territory],
            "created": [created.isoformat()],
            "author": [author or _user()],
            "change": [change],
            "objective": [float(objective)],
            "notes": [json.dumps(list(notes), ensure_ascii=False)],
        }
    )
    ws.append_rows(
        {VISITS: stored, PLANS: meta},
        source="planificateur",
        vintage=week,
        check=still_last,
    )
    return WeekPlan(week, version, visits, tuple(notes), float(objective), created, territory)


def _conflict_message(ws: Workspace, week: str, base: WeekPlan, latest: WeekPlan) -> str:
    """« la semaine a été modifiée entre-temps (version M par X à HH:MM) : … »."""
    history = plan_history(ws, week, latest.territory)
    meta = history[history["version"] == latest.version].iloc[-1]
    created = str(meta["created"] or "")
    when = f" à {datetime.fromisoformat(created):%H:%M}" if created else ""
    which = (
        f"version {latest.version}"
        if latest.version == base.version + 1
        else f"versions {base.version + 1} à {latest.version}, la dernière"
    )
    what = visit_changes(base.visits, latest.visits) or "mêmes visites"
    return (
        f"la semaine a été modifiée entre-temps ({which} par {meta['author']}{when}, "
        f"« {meta['change']} ») : {what} ; reprenez votre modification sur la dernière version"
    )


def _refuse_empty(base: WeekPlan, visits: int, allow_empty: bool) -> None:
    if not visits and not base.visits.empty and not allow_empty:
        raise ValidationError(
            f"la nouvelle version n'aurait aucune visite (la version {base.version} en a "
            f"{len(base.visits)}) : confirmez pour vider la semaine"
        )


def _by_key(visits: pd.DataFrame) -> dict[tuple[str, str, date, int], tuple[Any, Any, bool]]:
    """Visits by (team, place, day, rank that day): (start, end, locked)."""
    out: dict[tuple[str, str, date, int], tuple[Any, Any, bool]] = {}
    for v in visits.sort_values("start").itertuples(index=False):
        key = (str(v.team), str(v.place), v.start.date(), 0)
        while key in out:
            key = (*key[:3], key[3] + 1)
        out[key] = (v.start, v.end, bool(v.locked))
    return out


def _keyed(visits: pd.DataFrame) -> dict[tuple[str, str, date, int], tuple[pd.DataFrame, Any]]:
    """Visits by the keys of :func:`_by_key`: (the frame, the visit's index label)."""
    out: dict[tuple[str, str, date, int], tuple[pd.DataFrame, Any]] = {}
    for index, v in visits.sort_values("start").iterrows():
        key = (str(v["team"]), str(v["place"]), v["start"].date(), 0)
        while key in out:
            key = (*key[:3], key[3] + 1)
        out[key] = (visits, index)
    return out


def _moved_or_added(before: pd.DataFrame, after: pd.DataFrame) -> list[Any]:
    """Index labels of ``after`` whose visit is new or at another time than in ``before``."""
    old = {(str(v.team), str(v.place), v.start, v.end) for v in before.itertuples(index=False)}
    return [
        index
        for index, v in zip(after.index, after.itertuples(index=False), strict=True)
        if (str(v.team), str(v.place), v.start, v.end) not in old
    ]


def _fits(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in spans)


def _spans(windows: Any, day: int) -> str:
    spans = windows.get(day, ())
    if not spans:
        return f"aucune le {WEEKDAYS_FR[day]}"
    return ", ".join(f"{hhmm(a)}–{hhmm(b)}" for a, b in spans)


def _visit_table(visits: Sequence[Visit], places: gpd.GeoDataFrame, monday: date) -> pd.DataFrame:
    """Visits with place name, kind, zone, position and local datetimes."""
    by_id = places.set_index(places["id"].astype(str))
    points = by_id.geometry.to_crs(4326)
    rows = []
    for v in visits:
        day = monday + timedelta(days=v.day)
        start = datetime.combine(day, datetime.min.time(), TIMEZONE) + timedelta(minutes=v.start)
        rows.append(
            {
                "team": v.team,
                "place": v.place,
                "place_name": str(by_id.at[v.place, "nom"]),
                "kind": str(by_id.at[v.place, "type"]),
                "zone": str(by_id.at[v.place, "zone"]) if "zone" in by_id else "",
                "zone_name": str(by_id.at[v.place, "zone_name"]) if "zone_name" in by_id else "",
                "code_zone": str(by_id.at[v.place, "code_zone"]) if "code_zone" in by_id else "",
                "lon": round(float(points[v.place].x), 6),
                "lat": round(float(points[v.place].y), 6),
                "start": start,
                "end": start + timedelta(minutes=v.end - v.start),
                "locked": bool(v.locked),
                "value": float(v.value),
                "pourquoi": visit_reason(by_id.loc[v.place], v.value),
            }
        )
    columns = ["team", "place", "place_name", "kind", "zone", "zone_name", "code_zone", "lon"]
    columns += ["lat", "start", "end", "locked", "value", "pourquoi"]
    return pd.DataFrame(rows, columns=columns)


def _last_visits(
    ws: Workspace, territory: str | None
) -> Callable[[str], tuple[int, pd.DataFrame] | None]:
    """The last version of a week on ``territory`` and its visits (None: never planned)."""

    def load(week: str) -> tuple[int, pd.DataFrame] | None:
        found = load_plan(ws, week, territory=territory)
        return None if found is None else (found.version, found.visits)

    return load


def _minutes(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "territory"
