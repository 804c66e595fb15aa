"""Weekly plans in the workspace: teams, places, saved versions and field outputs.

:mod:`territory.rounds.solver` is the optimiser; this module is what the page and the CLI
call around it:

* **teams** (``teams`` table) and **places** (``places`` layer) stored in the workspace,
  read from a team's CSV / JSON file, or — for places — suggested from the partners and
  the transit hubs (:func:`territory.rounds.solver.suggest_places`) when none are stored;
* the **value** of a visit: the place's priority × its zone's priority score (the
  "Où et quand" ranking) × the protected contact yield of the slot (the territory's
  weekday × 2 h profile, :func:`territory.analysis.slots.contact_profile`), so that only protected
  figures drive the plan;
* **versions**: every saved plan is a new version of its ISO week, with when, who and
  what changed (``plans`` and ``plan_visits`` tables); locked visits are kept when a
  week is re-optimised;
* **field outputs**: one calendar (.ics, RFC 5545 through ``icalendar``) per team and a
  CSV of the visits.

Weeks are ISO weeks written ``2026-W49``; times are local (Europe/Paris).
"""

from __future__ import annotations

import dataclasses
import getpass
import hmac
import json
import re
import unicodedata
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape as html_escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from territory._errors import InputFileError, ValidationError
from territory.hours import windows_from_opening_hours
from territory.io.gtfs import TransitNetwork, load_transit_network
from territory.io.report import ImportReport
from territory.rounds.solver import (
    ACCESS_MINUTES,
    SPEED_KMH,
    TRANSIT,
    TRANSIT_ACCESS_M,
    TRANSIT_MAX_WAIT,
    TRANSIT_TRANSFER_M,
    Plan,
    Team,
    Visit,
    plan_rounds,
    suggest_places,
)
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import KINDS, MODES, WEEKDAYS_FR

TEAMS = "teams"
PLACES = "places"
PLANS = "plans"
VISITS = "plan_visits"
TIMEZONE = ZoneInfo("Europe/Paris")
SLOT_MINUTES = 120
FIRST_SLOT = 8 * 60
TEAM_COLUMNS = ["nom", "mode", "taille", "base_lon", "base_lat", "disponibilites"]
TEAM_COLUMNS += ["max_tournees", "max_heures"]
"""Columns of a teams file and of the ``teams`` table (``disponibilites``: OSM
``opening_hours``, e.g. ``Mo-Fr 09:00-12:30,14:00-18:00``)."""
DEFAULT_AVAILABILITY = "Mo-Fr 09:30-12:30,14:00-18:30"


@dataclass(frozen=True)
class WeekPlan:
    """A plan of one ISO week, as stored: its visits with place names and dates."""

    week: str
    version: int
    visits: pd.DataFrame
    notes: tuple[str, ...]
    objective: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``{"week", "version", "objective", "visits": [...], "notes"}`` with
        ISO datetimes (local time, with offset)."""
        visits = [
            {
                "team": row.team,
                "place": row.place,
                "place_name": row.place_name,
                "kind": row.kind,
                "zone": row.zone,
                "start": row.start.isoformat(),
                "end": row.end.isoformat(),
                "locked": bool(row.locked),
                "value": round(float(row.value), 3),
                "pourquoi": str(getattr(row, "pourquoi", "") or ""),
            }
            for row in self.visits.itertuples(index=False)
        ]
        return {
            "week": self.week,
            "version": self.version,
            "objective": round(self.objective, 3),
            "visits": visits,
            "notes": list(self.notes),
        }


def week_monday(week: str) -> date:
    """Monday of an ISO week written ``2026-W49``."""
    match = re.fullmatch(r"(\d{4})-W(\d{1,2})", week.strip())
    if not match:
        raise ValidationError(f"semaine invalide « {week} » (attendu AAAA-Wnn, ex. 2026-W49)")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValidationError(f"semaine invalide « {week} » : {exc}") from exc


# ---------------------------------------------------------------------------- teams
def read_teams(path: Path) -> pd.DataFrame:
    """A teams file (CSV ``;`` or ``,``, or JSON list) as a checked :data:`TEAM_COLUMNS` table.

    Every problem is listed at once (:class:`~territory.ValidationError`).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"fichier d'équipes introuvable : {path}")
    try:
        if path.suffix.lower() == ".json":
            table = pd.DataFrame(json.loads(path.read_text(encoding="utf-8-sig")))
        else:
            table = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputFileError(f"{path.name} illisible : {exc}") from exc
    return _checked_teams(table, path.name)


def save_teams(ws: Workspace, teams: pd.DataFrame) -> None:
    """Store the teams (replacing the previous ones)."""
    ws.write_table(TEAMS, _checked_teams(teams, TEAMS), source="équipes", vintage="", licence="")


def load_teams(ws: Workspace, *, week: date | None = None) -> list[Team]:
    """The stored teams as :class:`~territory.rounds.solver.Team` (availability of ``week``)."""
    if not ws.has(TEAMS):
        raise ValidationError(
            "aucune équipe dans l'espace de travail : donnez un fichier (--teams FICHIER)"
        )
    return teams_from_table(ws.read_table(TEAMS), week=week)


def teams_from_table(table: pd.DataFrame, *, week: date | None = None) -> list[Team]:
    """:class:`~territory.rounds.solver.Team` objects from a :data:`TEAM_COLUMNS` table."""
    teams = []
    for row in _checked_teams(table, TEAMS).itertuples(index=False):
        windows = windows_from_opening_hours(str(row.disponibilites), week=week)
        teams.append(
            Team(
                name=str(row.nom),
                mode=str(row.mode),
                size=int(row.taille),
                base=(float(row.base_lon), float(row.base_lat)),
                availability=windows if windows is not None else {},
                max_rounds=None if pd.isna(row.max_tournees) else int(row.max_tournees),
                max_hours=None if pd.isna(row.max_heures) else float(row.max_heures),
            )
        )
    return teams


def _checked_teams(table: pd.DataFrame, source: str) -> pd.DataFrame:
    problems = []
    missing = [c for c in ("nom", "mode", "base_lon", "base_lat") if c not in table.columns]
    if missing:
        raise ValidationError(f"{source} : colonne(s) manquante(s) : {', '.join(missing)}")
    out = table.reindex(columns=TEAM_COLUMNS).copy()
    out["nom"] = out["nom"].astype(str).str.strip()
    out["mode"] = out["mode"].astype(str).str.strip().str.lower()
    out["disponibilites"] = out["disponibilites"].fillna(DEFAULT_AVAILABILITY).astype(str)
    out["taille"] = pd.to_numeric(out["taille"], errors="coerce").fillna(2).astype("int64")
    for column in ("base_lon", "base_lat", "max_tournees", "max_heures"):
        text = out[column].astype(str).str.replace(",", ".", regex=False)
        out[column] = pd.to_numeric(text.where(out[column].notna()), errors="coerce")
    for line, row in enumerate(out.itertuples(index=False), start=2):
        if row.mode not in MODES:
            problems.append(f"ligne {line} : mode « {row.mode} » inconnu ({', '.join(MODES)})")
        if not (-5.6 <= row.base_lon <= 10 and 41 <= row.base_lat <= 51.5):
            problems.append(f"ligne {line} : base ({row.base_lon}, {row.base_lat}) hors France")
        if windows_from_opening_hours(row.disponibilites) is None:
            problems.append(f"ligne {line} : disponibilités illisibles « {row.disponibilites} »")
    if out["nom"].duplicated().any():
        problems.append(f"équipes en double : {', '.join(out.loc[out['nom'].duplicated(), 'nom'])}")
    if out.empty:
        problems.append(f"{source} : aucune équipe")
    if problems:
        raise ValidationError(problems)
    return out


# --------------------------------------------------------------------------- places
PLACE_SYNONYMS = {
    "nom": ["name", "lieu", "libelle"],
    "type": ["kind", "categorie", "type_lieu"],
    "horaires": ["opening_hours", "presence", "heures"],
    "duree": ["duree_min", "duration"],
    "priorite": ["priority", "poids"],
    "longitude": ["lon", "lng", "x_wgs84"],
    "latitude": ["lat", "y_wgs84"],
}


def read_places(
    path: Path, *, communes: gpd.GeoDataFrame, crs: str | None = None
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """A team's places (GeoJSON / GeoPackage, or CSV / XLSX with longitude and latitude).

    Columns (French or English names): ``nom``, ``type`` (one of
    :data:`territory.rounds.solver.KINDS`), optional ``horaires`` (OSM opening_hours: when a
    team can find people there), ``duree`` (minutes, default 45), ``priorite`` (default 1).
    A place with an unknown type, no position or outside every commune is refused with
    the reason; unreadable hours are dropped (any time) with a fix line. The ``zone`` is
    the commune under the place.
    """
    from territory.io._validate import find_columns, read_tabular, read_vector

    path = Path(path)
    report = ImportReport(kind="places", source=path.name)
    if path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xls", ".ods"):
        table = read_tabular(path, markers=["nom", "name", "lieu"])
        found = find_columns(table.columns, PLACE_SYNONYMS)
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
        kind = str(row[found["type"]]).strip().lower()
        hours = str(row.get(found.get("horaires", ""), "") or "").strip()
        if kind not in KINDS:
            report.refuse(line, f"type « {kind} » inconnu (attendu : {', '.join(KINDS)})")
        elif not isinstance(row.geometry, BaseGeometry) or row.geometry.is_empty:
            report.refuse(line, "position manquante ou illisible")
        elif pd.isna(zone.get(index)):
            report.refuse(line, "hors du territoire (aucune commune)")
        else:
            if hours and windows_from_opening_hours(hours) is None:
                report.fix(f"ligne {line} : horaires « {hours} » illisibles → à toute heure")
                hours = ""
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
                    "source": f"lieux importés ({path.name})",
                    "geometry": row.geometry,
                }
            )
    columns = ["id", "nom", "type", "zone", "duree", "priorite", "horaires", "source", "geometry"]
    places = gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=4326)
    return places, report.check()


def add_places(ws: Workspace, places: gpd.GeoDataFrame, *, source: str) -> int:
    """Add places to the workspace's candidates (the suggestions first, when none stored);
    a place with the same ``id`` as a stored one replaces it. Returns the count stored."""
    current = candidate_places(ws) if ws.has(PLACES) or _has_suggestions(ws) else None
    if current is not None:
        current = current[~current["id"].astype(str).isin(set(places["id"].astype(str)))]
        places = pd.concat([current, places.to_crs(current.crs)], ignore_index=True)
    ws.write_layer(PLACES, gpd.GeoDataFrame(places, crs=4326), source=source, vintage="")
    return len(places)


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
    name, kind, hours = name.strip(), kind.strip().lower(), hours.strip()
    if not name:
        problems.append("nom manquant")
    if kind not in KINDS:
        problems.append(f"type « {kind} » inconnu (attendu : {', '.join(KINDS)})")
    if hours and windows_from_opening_hours(hours) is None:
        problems.append(
            f"présence « {hours} » illisible (syntaxe OSM, ex. « We 14:00-18:00; Sa 10:00-12:00 »)"
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
    """Remove places by ``id`` from the stored candidates; returns how many are left.

    Visits already planned keep their place name; a locked visit of a removed place is
    reported (not planned) when the week is re-optimised.
    """
    if not ws.has(PLACES):
        raise ValidationError("aucun lieu enregistré : les lieux suggérés ne se retirent pas")
    places = ws.read_layer(PLACES)
    known = set(places["id"].astype(str))
    unknown = sorted(set(map(str, ids)) - known)
    if unknown:
        raise ValidationError(f"lieu(x) inconnu(s) : {', '.join(unknown)}")
    kept = places[~places["id"].astype(str).isin(set(map(str, ids)))]
    ws.write_layer(PLACES, kept, source="lieux (retraits sur la page Tournées)", vintage="")
    return len(kept)


def _has_suggestions(ws: Workspace) -> bool:
    return ws.has("partners") or ws.has("stops")


def _number(value: object, default: float) -> float:
    number = pd.to_numeric(str(value).replace(",", "."), errors="coerce")
    return default if pd.isna(number) else float(number)


def candidate_places(ws: Workspace) -> gpd.GeoDataFrame:
    """The stored places, else places suggested from partners and transit hubs (EPSG:4326)."""
    if ws.has(PLACES):
        return ws.read_layer(PLACES)
    partners = ws.read_layer("partners") if ws.has("partners") else None
    if partners is not None:
        partners = partners[partners.geometry.notna()]
    stops = ws.read_layer("stops") if ws.has("stops") else None
    zones = ws.read_layer("communes", columns=["code"]) if ws.has("communes") else None
    places = suggest_places(partners, stops, zones=zones)
    if places.empty:
        raise ValidationError(
            "aucun lieu : importez des lieux, des partenaires ou un réseau de transport"
        )
    return places.to_crs(4326)


def place_values(
    ws: Workspace,
    places: gpd.GeoDataFrame,
    *,
    settings: Settings,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    slots: int = 6,
    ranking: pd.DataFrame | None = None,
) -> np.ndarray:
    """Value of a visit per place × day × 2-hour slot (from 8 h).

    ``priorite`` × (0.5 + the zone's priority score / 100) × the slot's relative yield in
    the territory's **protected** weekday × 2 h profile (0.5 where a slot is suppressed or
    no contact is stored). Zones are communes (the ``zone`` column of the places);
    ``ranking`` is :func:`commune_ranking`, computed when not given.
    """
    if ranking is None:
        ranking = commune_ranking(ws, settings=settings)
    factor = place_factor(places, ranking)
    return factor[:, None, None] * slot_yield(ws, settings=settings, days=days, slots=slots)


def commune_ranking(ws: Workspace, *, settings: Settings) -> pd.DataFrame:
    """The communes' priority rank and score (index ``code``; empty without communes)."""
    from territory.analysis.priority import priorities

    if not ws.has("communes"):
        return pd.DataFrame({"rang": [], "score": []}, index=pd.Index([], name="code"))
    table = priorities(ws, settings=settings).table
    return table.set_index("code")[["rang", "score"]]


def place_factor(places: gpd.GeoDataFrame, ranking: pd.DataFrame) -> np.ndarray:
    """``priorite`` × (0.5 + the zone's score / 100): a visit's value before the slot."""
    priority = pd.to_numeric(places.get("priorite", 1.0), errors="coerce")
    priority = pd.Series(priority, index=places.index).fillna(1.0).to_numpy(dtype=float)
    zone = places.get("zone", pd.Series("", index=places.index)).astype(str)
    score = zone.map(ranking["score"]).fillna(50.0).to_numpy(dtype=float)
    return priority * (0.5 + score / 100)


def slot_yield(
    ws: Workspace,
    *,
    settings: Settings,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    slots: int = 6,
) -> np.ndarray:
    """Relative yield of each day × 2-hour slot, from 0.2 to 1, in the territory's
    protected weekday profile (0.5 where a slot is suppressed or nothing is stored)."""
    from territory.analysis.slots import contact_profile

    yield_ = np.full((len(days), slots), 0.5)
    if ws.has("contacts"):
        profile = contact_profile(ws, settings=settings).table
        counts = pd.to_numeric(profile["contacts"], errors="coerce")
        top = counts.max()
        for day_pos, day in enumerate(days):
            for slot in range(slots):
                start = (FIRST_SLOT + slot * SLOT_MINUTES) // 60
                match = counts[(profile["jour"] == day) & (profile["debut"] == start)]
                if len(match) and pd.notna(match.iloc[0]) and top:
                    yield_[day_pos, slot] = 0.2 + 0.8 * float(match.iloc[0]) / float(top)
    return yield_


def place_reasons(
    places: gpd.GeoDataFrame,
    ranking: pd.DataFrame,
    *,
    weekly: Collection[str] = (),
    due: Collection[str] = (),
) -> pd.Series:
    """Why each place is worth a visit, in French: its zone's coverage rule (``weekly``:
    communes with a QPV; ``due``: other zones to cover this week), the zone's priority
    rank and score, and the place's own priority when it is not 1.

    Examples
    --------
    >>> places = gpd.GeoDataFrame({"zone": ["14118", "14200"], "priorite": [1, 2]},
    ...                           geometry=[None, None])
    >>> ranking = pd.DataFrame({"rang": [1, 2], "score": [81.4, 40.0]},
    ...                        index=pd.Index(["14118", "14200"], name="code"))
    >>> for reason in place_reasons(places, ranking, weekly={"14118"}):
    ...     print(reason)
    commune avec QPV : chaque semaine · commune n° 1 sur 2 (score 81)
    commune n° 2 sur 2 (score 40) · priorité du lieu × 2
    """
    weekly, due = set(weekly), set(due)
    zones = places.get("zone", pd.Series("", index=places.index)).astype(str)
    priority = pd.to_numeric(places.get("priorite", 1.0), errors="coerce")
    priority = pd.Series(priority, index=places.index).fillna(1.0)
    reasons = []
    for zone, weight in zip(zones, priority, strict=True):
        parts = []
        if zone in weekly:
            parts.append("commune avec QPV : chaque semaine")
        elif zone in due:
            parts.append("zone à couvrir cette semaine (tour mensuel des communes rurales)")
        if zone in ranking.index:
            rank, score = ranking.at[zone, "rang"], ranking.at[zone, "score"]
            parts.append(f"commune n° {int(rank)} sur {len(ranking)} (score {score:.0f})")
        if weight != 1:
            parts.append(f"priorité du lieu × {_fr_number(float(weight))}")
        reasons.append(" · ".join(parts))
    return pd.Series(reasons, index=places.index, dtype=str)


def _fr_number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _slot_reason(slot_yield: float) -> str:
    if slot_yield >= 0.7:
        return "créneau fort (beaucoup de contacts à cette heure)"
    if slot_yield < 0.45:
        return "créneau calme (peu de contacts à cette heure)"
    return ""


# ------------------------------------------------------------------------- coverage
def coverage_zones(ws: Workspace, monday: date, *, rural_every_weeks: int = 4) -> list[str]:
    """Zones (commune codes) to visit during the week of ``monday``.

    The default rules of a lead: every commune holding a QPV **every week**, and every
    rural commune (INSEE density level 5 to 7) **once a month**: the rural communes are
    split, by code, into ``rural_every_weeks`` groups and the ISO week number picks the
    group whose turn it is.
    """
    if not ws.has("communes"):
        return []
    communes = ws.read_table("communes", columns=["code", "densite"])
    with_qpv = communes_with_qpv(ws)
    rural = sorted(communes.loc[pd.to_numeric(communes["densite"], errors="coerce") >= 5, "code"])
    turn = monday.isocalendar().week % rural_every_weeks
    due = [code for i, code in enumerate(rural) if i % rural_every_weeks == turn]
    return sorted(with_qpv & set(communes["code"])) + [c for c in due if c not in with_qpv]


def communes_with_qpv(ws: Workspace) -> set[str]:
    """Codes of the communes that hold (part of) a QPV."""
    found: set[str] = set()
    if ws.has("qpv"):
        for text in ws.read_table("qpv", columns=["communes"])["communes"].fillna(""):
            found |= {c.strip() for c in str(text).split(",") if c.strip()}
    return found


# ---------------------------------------------------------------------------- plans
def plan_week(
    ws: Workspace,
    week: str,
    *,
    settings: Settings,
    teams: Sequence[Team] | None = None,
    required_zones: Sequence[str] | None = None,
    keep_locked: bool = True,
    time_limit: float = 5.0,
) -> tuple[Plan, gpd.GeoDataFrame]:
    """Optimise the rounds of ``week`` (the visits locked in its last version stay).

    ``required_zones`` default to :func:`coverage_zones`; zones without any candidate
    place are left out with a note. Teams moving by public transport get door-to-door
    times from the GTFS timetables stored at import when there are some
    (:func:`territory.io.gtfs.load_transit_network`), else an average speed; a note
    says which (:func:`transit_model_note`). Returns the plan and the candidate places.
    """
    monday = week_monday(week)
    teams = list(teams) if teams is not None else load_teams(ws, week=monday)
    places = candidate_places(ws)
    if "id" not in places:
        places = places.assign(id=[f"L{i + 1:03d}" for i in range(len(places))])
    locked: list[Visit] = []
    if keep_locked and (last := load_plan(ws, week)) is not None:
        rows = last.visits[last.visits["locked"]]
        locked = [
            Visit(r.team, r.place, r.start.weekday(), _minutes(r.start), _minutes(r.end), True)
            for r in rows.itertuples(index=False)
        ]
    notes: list[str] = []
    if required_zones is None:
        required_zones = coverage_zones(ws, monday)
        placed = set(places.get("zone", pd.Series(dtype=str)).astype(str))
        unplaced = [z for z in required_zones if z not in placed]
        if unplaced:
            notes.append(
                f"{len(unplaced)} commune(s) à couvrir sans lieu candidat : "
                f"{', '.join(unplaced[:8])}{' …' if len(unplaced) > 8 else ''} (ajoutez des lieux)"
            )
        required_zones = [z for z in required_zones if z in placed]
    ranking = commune_ranking(ws, settings=settings)
    places = places.assign(
        pourquoi=place_reasons(
            places, ranking, weekly=communes_with_qpv(ws), due=set(required_zones)
        ),
        valeur_lieu=place_factor(places, ranking),
    )
    transit = None
    if any(team.mode == TRANSIT for team in teams):
        transit = load_transit_network(ws)
        notes.append(transit_model_note(transit, has_stops=ws.has("stops")))
    plan = plan_rounds(
        places,
        teams,
        value=place_values(ws, places, settings=settings, ranking=ranking),
        week=monday,
        base_crs="EPSG:4326",
        transit=transit,
        first_slot=FIRST_SLOT,
        slot_minutes=SLOT_MINUTES,
        required_zones=required_zones,
        locked=locked,
        time_limit=time_limit,
    )
    if notes:
        plan = dataclasses.replace(plan, notes=(*notes, *plan.notes))
    return plan, places


def transit_model_note(transit: TransitNetwork | None, *, has_stops: bool = False) -> str:
    """The French note saying how public-transport times were computed.

    Examples
    --------
    >>> print(transit_model_note(None))
    Aucun horaire GTFS : temps en transports en commun estimés à 15 km/h de moyenne plus 10 min d'accès et d'attente.
    """  # noqa: E501
    if transit is None:
        fallback = (
            f"temps en transports en commun estimés à {SPEED_KMH[TRANSIT]:g} km/h de moyenne "
            f"plus {ACCESS_MINUTES[TRANSIT]:g} min d'accès et d'attente."
        )
        if has_stops:
            return (
                "Aucun horaire GTFS exploitable dans l'espace de travail (réimportez le flux "
                f"GTFS avec ses stop_times pour des temps réels) : {fallback}"
            )
        return f"Aucun horaire GTFS : {fallback}"
    day = (
        f"du {WEEKDAYS_FR[transit.day.weekday()]} {transit.day:%d/%m/%Y}"
        if transit.day is not None
        else "du jour de référence"
    )
    h0, h1 = transit.hours
    return (
        f"Temps en transports en commun calculés sur les horaires GTFS {day}, {h0} h–{h1} h : "
        f"marche jusqu'à un arrêt à moins de {TRANSIT_ACCESS_M:g} m, attente de la moitié de "
        f"l'intervalle entre deux passages ({TRANSIT_MAX_WAIT:g} min au plus), "
        f"correspondances à pied jusqu'à {TRANSIT_TRANSFER_M:g} m ; jamais plus long qu'à "
        "pied."
    )


def save_plan(
    ws: Workspace,
    week: str,
    plan: Plan,
    places: gpd.GeoDataFrame,
    *,
    change: str,
    author: str | None = None,
) -> WeekPlan:
    """Store ``plan`` as the next version of ``week`` (who, when, what changed)."""
    monday = week_monday(week)
    previous = load_plan(ws, week)
    version = 1 + (previous.version if previous is not None else 0)
    visits = _visit_table(plan.visits, places, monday).assign(week=week, version=version)
    stored = visits.assign(
        start=visits["start"].map(datetime.isoformat), end=visits["end"].map(datetime.isoformat)
    )
    ws.write_table(VISITS, stored, source="planificateur", vintage=week, licence="", append=True)
    meta = pd.DataFrame(
        {
            "week": [week],
            "version": [version],
            "created": [datetime.now(TIMEZONE).isoformat(timespec="seconds")],
            "author": [author or _user()],
            "change": [change],
            "objective": [float(plan.objective)],
            "notes": [json.dumps(list(plan.notes), ensure_ascii=False)],
        }
    )
    ws.write_table(PLANS, meta, source="planificateur", vintage=week, licence="", append=True)
    return WeekPlan(
        week, version, visits.drop(columns=["week", "version"]), plan.notes, float(plan.objective)
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


def save_edited(ws: Workspace, week: str, visits: pd.DataFrame, *, change: str) -> WeekPlan:
    """Store an edited plan (visits locked, moved or deleted) as the next version.

    ``visits`` is :attr:`WeekPlan.visits` after the lead's changes; a visit whose
    ``locked`` is true stays where it is when the week is re-optimised (:func:`plan_week`).
    """
    previous = load_plan(ws, week)
    if previous is None:
        raise ValidationError(f"aucun plan enregistré pour {week} : optimisez d'abord")
    version = previous.version + 1
    stored = visits.assign(
        week=week,
        version=version,
        start=visits["start"].map(datetime.isoformat),
        end=visits["end"].map(datetime.isoformat),
        locked=visits["locked"].astype(bool),
    )
    ws.write_table(VISITS, stored, source="planificateur", vintage=week, licence="", append=True)
    value = float(visits["value"].sum())
    meta = pd.DataFrame(
        {
            "week": [week],
            "version": [version],
            "created": [datetime.now(TIMEZONE).isoformat(timespec="seconds")],
            "author": [_user()],
            "change": [change],
            "objective": [value],
            "notes": [json.dumps(list(previous.notes), ensure_ascii=False)],
        }
    )
    ws.write_table(PLANS, meta, source="planificateur", vintage=week, licence="", append=True)
    return WeekPlan(week, version, visits.reset_index(drop=True), previous.notes, value)


def load_plan(ws: Workspace, week: str, *, version: int | None = None) -> WeekPlan | None:
    """The last (or a given) saved version of ``week``; None when never planned."""
    if not ws.has(PLANS):
        return None
    history = ws.read_table(PLANS)
    history = history[history["week"] == week]
    if version is not None:
        history = history[history["version"] == version]
    if history.empty:
        return None
    meta = history.sort_values("version").iloc[-1]
    visits = ws.read_table(VISITS)
    visits = visits[(visits["week"] == week) & (visits["version"] == meta["version"])]
    visits = visits.drop(columns=["week", "version"]).reset_index(drop=True)
    for column in ("start", "end"):
        visits[column] = visits[column].map(datetime.fromisoformat)
    visits["locked"] = visits["locked"].astype(bool)
    if "pourquoi" not in visits:  # saved before the reasons were stored
        visits["pourquoi"] = ""
    visits["pourquoi"] = visits["pourquoi"].fillna("").astype(str)
    return WeekPlan(
        week,
        int(meta["version"]),
        visits,
        tuple(json.loads(meta["notes"])),
        float(meta["objective"]),
    )


def plan_history(ws: Workspace, week: str) -> pd.DataFrame:
    """Versions of ``week``: ``version``, ``created``, ``author``, ``change``, ``objective``."""
    if not ws.has(PLANS):
        return pd.DataFrame(columns=["version", "created", "author", "change", "objective"])
    history = ws.read_table(PLANS)
    history = history[history["week"] == week].sort_values("version")
    return history[["version", "created", "author", "change", "objective"]].reset_index(drop=True)


# -------------------------------------------------------------------------- feedback
FEEDBACK_MAX = 500
"""Most contacts of one category recorded for one visit."""


def record_feedback(
    ws: Workspace,
    week: str,
    visit: pd.Series,
    counts: dict[str, int],
    *,
    settings: Settings,
) -> int:
    """Record what a visit gave: numbers of contacts by status, aggregated, no names.

    The numbers become anonymised contact rows at the place's 200 m cell, on the visit's
    date and starting hour, with the status and nothing else (age band and sex « non
    renseigné », no person key), appended to the ``contacts`` table: from there every
    figure goes through :mod:`territory.privacy.protect` like any imported contact, and the
    retention purge applies. Recording the same visit again replaces its numbers.
    Returns the number of contacts now recorded for the visit.
    """
    from territory.grid import cell_ids_from_lonlat
    from territory.io.contacts import STORED_COLUMNS, load_secret
    from territory.vocab import STATUSES, UNKNOWN

    unknown = [s for s in counts if s not in STATUSES]
    wrong = [f"{s} : {n}" for s, n in counts.items() if not 0 <= int(n) <= FEEDBACK_MAX]
    if unknown or wrong:
        raise ValidationError(
            [f"statut inconnu : {s}" for s in unknown]
            + [f"nombre invalide (0 à {FEEDBACK_MAX}) : {w}" for w in wrong]
        )
    secret = load_secret(settings)
    start = visit["start"]
    key = f"{week}|{visit['team']}|{visit['place']}|{start.isoformat()}"

    def prints(status: str, n: int) -> list[str]:
        return [_keyed(secret, f"retour|{key}|{status}|{i}") for i in range(n)]

    if ws.has("contacts"):  # replace what was recorded before for this visit
        old = [f for status in STATUSES for f in prints(status, FEEDBACK_MAX)]
        for chunk in range(0, len(old), 900):
            part = old[chunk : chunk + 900]
            ws.delete_rows("contacts", f"fingerprint IN ({','.join('?' * len(part))})", tuple(part))
    cell = str(cell_ids_from_lonlat(np.array([visit["lon"]]), np.array([visit["lat"]]))[0])
    commune = _commune_at(ws, float(visit["lon"]), float(visit["lat"]))
    if commune is None:
        raise ValidationError(f"le lieu « {visit['place_name']} » n'est dans aucune commune")
    rows = [
        {
            "cell": cell,
            "commune": commune,
            "date": start.date().isoformat(),
            "hour": int(start.hour),
            "statut": status,
            "tranche_age": UNKNOWN,
            "sexe": UNKNOWN,
            "partenaire": "",
            "personne": "",
            "fingerprint": fingerprint,
        }
        for status, n in counts.items()
        for fingerprint in prints(status, int(n))
    ]
    if rows:
        table = pd.DataFrame(rows, columns=STORED_COLUMNS).astype({"hour": "int64"})
        ws.write_table(
            "contacts",
            table,
            source="retours de tournée",
            vintage=week,
            licence="données de l'équipe (agrégées)",
            append=True,
        )
    return len(rows)


def _commune_at(ws: Workspace, lon: float, lat: float) -> str | None:
    """INSEE code of the commune under a point (None outside every commune)."""
    import shapely

    communes = ws.read_layer("communes", columns=["code"])
    hit = communes[communes.geometry.intersects(shapely.Point(lon, lat))]
    return None if hit.empty else str(hit["code"].iloc[0])


def _keyed(secret: bytes, text: str) -> str:
    """16 hex characters of HMAC-SHA256: the fingerprint of a contact from feedback."""
    return hmac.digest(secret, text.encode("utf-8"), "sha256")[:8].hex()


# --------------------------------------------------------------------------- outputs
def day_label(moment: date) -> str:
    """``"lundi 30/11"``."""
    return f"{WEEKDAYS_FR[moment.weekday()]} {moment:%d/%m}"


def week_grid(plan: WeekPlan) -> pd.DataFrame:
    """The week at a glance: one row per day, one column per team, the visits in order
    (``"14:30 Parc de la mairie · 15:20 Gare"``)."""
    visits = plan.visits.sort_values(["team", "start"])
    days = visits["start"].map(day_label)
    lines = visits["start"].map(lambda t: f"{t:%H:%M}") + " " + visits["place_name"]
    grid = (
        pd.DataFrame({"jour": days, "equipe": visits["team"], "visite": lines})
        .groupby(["jour", "equipe"], sort=False)["visite"]
        .agg(" · ".join)
        .unstack("equipe")
        .fillna("")
    )
    order = visits.assign(jour=days).groupby("jour")["start"].min().sort_values().index
    return grid.reindex(order)


def write_ics(plan: WeekPlan, out: Path) -> list[Path]:
    """One calendar per team: ``out`` itself for one team, else ``<stem>-<team>.ics``."""
    from icalendar import Calendar, Event

    out = Path(out)
    teams = sorted(plan.visits["team"].unique())
    written = []
    for team in teams or [""]:
        calendar = Calendar()
        calendar.add("prodid", "-//territory//aller-vers//FR")
        calendar.add("version", "2.0")
        calendar.add("x-wr-calname", f"Tournées {team} — {plan.week}")
        for row in plan.visits[plan.visits["team"] == team].itertuples(index=False):
            event = Event()
            event.add("uid", f"{plan.week}-{plan.version}-{_slug(team)}-{row.place}@territory")
            event.add("summary", f"Aller-vers : {row.place_name}")
            event.add("dtstart", row.start)
            event.add("dtend", row.end)
            event.add("dtstamp", datetime.now(TIMEZONE))
            event.add("location", f"{row.place_name} ({row.kind})")
            event.add("geo", (float(row.lat), float(row.lon)))
            event.add(
                "description",
                f"Équipe {team} — zone {row.zone or '—'}"
                + (" — visite verrouillée" if row.locked else ""),
            )
            calendar.add_component(event)
        target = out if len(teams) <= 1 else out.with_name(f"{out.stem}-{_slug(team)}.ics")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(calendar.to_ical())
        written.append(target)
    return written


def write_csv(plan: WeekPlan, out: Path) -> Path:
    """The visits as CSV (``;``, UTF-8 with BOM for spreadsheets), in French columns."""
    table = plan.visits.assign(
        jour=plan.visits["start"].map(lambda t: f"{t:%d/%m/%Y}"),
        debut=plan.visits["start"].map(lambda t: f"{t:%H:%M}"),
        fin=plan.visits["end"].map(lambda t: f"{t:%H:%M}"),
    )
    columns = {
        "team": "equipe",
        "jour": "jour",
        "debut": "debut",
        "fin": "fin",
        "place_name": "lieu",
        "kind": "type",
        "zone": "zone",
        "lon": "longitude",
        "lat": "latitude",
        "locked": "verrouillee",
        "pourquoi": "pourquoi",
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    table[list(columns)].rename(columns=columns).to_csv(
        out, sep=";", index=False, encoding="utf-8-sig"
    )
    return Path(out)


def route_layer(plan: WeekPlan, ws: Workspace, *, day: date | None = None) -> gpd.GeoDataFrame:
    """The rounds as lines (base → stops → base) and their stops as numbered points
    (EPSG:4326): ``team``, ``label`` (French), ``ordre`` (stop number, 0 for a line)."""
    import shapely

    teams = ws.read_table(TEAMS).set_index("nom") if ws.has(TEAMS) else pd.DataFrame()
    visits = plan.visits.sort_values(["team", "start"])
    if day is not None:
        visits = visits[visits["start"].map(date_of) == day]
    features: list[dict[str, Any]] = []
    for (team, _), rows in visits.groupby([visits["team"], visits["start"].map(date_of)]):
        points = [shapely.Point(x, y) for x, y in zip(rows["lon"], rows["lat"], strict=True)]
        base = []
        if team in teams.index:
            base = [shapely.Point(teams.at[team, "base_lon"], teams.at[team, "base_lat"])]
        first = rows["start"].iloc[0]
        features.append(
            {
                "team": team,
                "ordre": 0,
                "geometry": shapely.LineString([*base, *points, *base])
                if len(base + points) >= 2
                else points[0],
                "label": f"{day_label(first)} : {len(rows)} visite(s)",
            }
        )
        for n, (row, point) in enumerate(zip(rows.itertuples(), points, strict=True), start=1):
            features.append(
                {
                    "team": team,
                    "ordre": n,
                    "geometry": point,
                    "label": f"{n}. {row.start:%H:%M}–{row.end:%H:%M} {row.place_name}",
                }
            )
    columns = ["team", "ordre", "label", "geometry"]
    return gpd.GeoDataFrame(features, columns=columns, geometry="geometry", crs=4326)


def write_sheet(plan: WeekPlan, ws: Workspace, out: Path, *, nearby_m: float = 1_000) -> Path:
    """A printable field sheet (self-contained HTML, no URL): one page per team and day.

    Each page has the round drawn from the base (an inline SVG, Lambert-93), the stops in
    order with their times, and the partners within ``nearby_m`` of a stop with their
    opening hours (in French) and phone. Print it from the browser (one day per page).
    """
    teams = ws.read_table(TEAMS).set_index("nom") if ws.has(TEAMS) else pd.DataFrame()
    partners = ws.read_layer("partners") if ws.has("partners") else None
    if partners is not None:
        partners = partners[partners.geometry.notna()].to_crs(2154)
    pages = []
    visits = plan.visits.sort_values(["team", "start"])
    for (team, _), rows in visits.groupby([visits["team"], visits["start"].map(date_of)]):
        stops = gpd.GeoSeries(
            gpd.points_from_xy(rows["lon"], rows["lat"]), crs=4326, index=rows.index
        ).to_crs(2154)
        base = None
        if team in teams.index:
            base = (
                gpd.GeoSeries(
                    gpd.points_from_xy([teams.at[team, "base_lon"]], [teams.at[team, "base_lat"]]),
                    crs=4326,
                )
                .to_crs(2154)
                .iloc[0]
            )
        items = []
        for row, point in zip(rows.itertuples(), stops, strict=True):
            near = _nearby(partners, point, nearby_m)
            items.append(
                f"<li><b>{row.start:%H:%M}–{row.end:%H:%M} · {_esc(row.place_name)}</b> "
                f"({_esc(row.kind)}{', verrouillée' if row.locked else ''})"
                f"{_why(getattr(row, 'pourquoi', ''))}{near}</li>"
            )
        title = f"{_esc(team)} — {day_label(rows['start'].iloc[0])} ({plan.week})"
        pages.append(
            f"<section><h1>{title}</h1>{_round_svg(base, list(stops))}"
            f"<ol>{''.join(items)}</ol></section>"
        )
    html = (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        f"<title>Feuilles de route {plan.week}</title><style>{_SHEET_CSS}</style></head>"
        f"<body>{''.join(pages) or '<p>Aucune visite.</p>'}</body></html>"
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(html, encoding="utf-8")
    return Path(out)


_SHEET_CSS = (
    "body{font-family:sans-serif;margin:1cm}section{page-break-after:always}"
    "h1{font-size:16pt}li{margin:.4em 0}ul{font-size:10pt;color:#444}"
    "svg{border:1px solid #ccc;margin:.5em 0}"
)


def date_of(moment: datetime) -> date:
    """The calendar day of a visit."""
    return moment.date()


def _nearby(partners: gpd.GeoDataFrame | None, point: Any, radius: float) -> str:
    """Partners within ``radius`` metres: name, type, hours (French), phone."""
    from territory.hours import format_hours_fr

    if partners is None or partners.empty:
        return ""
    distance = partners.geometry.distance(point)
    close = partners[distance <= radius].assign(d=distance).sort_values("d").head(3)
    if close.empty:
        return ""

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    lines = [
        f"<li>{_esc(r.nom)} ({_esc(text(r.type_libelle) or text(r.type))}, {r.d:.0f} m) — "
        f"{_esc(format_hours_fr(text(r.horaires)) or 'horaires inconnus')}"
        f"{' — ' + _esc(r.telephone) if text(r.telephone) else ''}</li>"
        for r in close.itertuples()
    ]
    return f"<ul>{''.join(lines)}</ul>"


def _round_svg(base: Any, stops: list[Any], size: int = 320) -> str:
    """The round as an inline SVG: base (square), stops numbered in order, the path."""
    points = [p for p in [base, *stops, base] if p is not None]
    xs, ys = [p.x for p in points], [p.y for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 200.0)
    scale, pad = (size - 40) / span, 20

    def xy(p: Any) -> tuple[float, float]:
        return pad + (p.x - min(xs)) * scale, size - pad - (p.y - min(ys)) * scale

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, points))
    marks = [
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='9' fill='#c62828'/>"
        f"<text x='{x:.1f}' y='{y + 4:.1f}' font-size='10' fill='#fff' "
        f"text-anchor='middle'>{n}</text>"
        for n, (x, y) in enumerate(map(xy, stops), start=1)
    ]
    if base is not None:
        bx, by = xy(base)
        marks.insert(0, f"<rect x='{bx - 6:.1f}' y='{by - 6:.1f}' width='12' height='12'/>")
    side = f"{span / 1000:.1f}".replace(".", ",")
    scale_bar = f"<text x='{pad}' y='{size - 4}' font-size='9'>côté : {side} km</text>"
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}'>"
        f"<polyline points='{path}' fill='none' stroke='#555' stroke-dasharray='4 3'/>"
        f"{''.join(marks)}{scale_bar}</svg>"
    )


def _esc(text: object) -> str:
    return html_escape(str(text), quote=True)


# --------------------------------------------------------------------------- private
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
                "lon": round(float(points[v.place].x), 6),
                "lat": round(float(points[v.place].y), 6),
                "start": start,
                "end": start + timedelta(minutes=v.end - v.start),
                "locked": bool(v.locked),
                "value": float(v.value),
                "pourquoi": _visit_reason(by_id.loc[v.place], v.value),
            }
        )
    columns = ["team", "place", "place_name", "kind", "zone", "lon", "lat", "start", "end"]
    return pd.DataFrame(rows, columns=[*columns, "locked", "value", "pourquoi"])


def _why(reason: str) -> str:
    return f"<br><small>Pourquoi : {_esc(reason)}</small>" if reason else ""


def _visit_reason(place: pd.Series, value: float) -> str:
    """The place's reasons (:func:`place_reasons`) and what the slot adds."""
    reasons = [str(place.get("pourquoi", "") or "")]
    factor = pd.to_numeric(place.get("valeur_lieu"), errors="coerce")
    if pd.notna(factor) and factor > 0:
        reasons.append(_slot_reason(value / float(factor)))
    return " · ".join(r for r in reasons if r)


def _minutes(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _slug(text: str) -> str:
    """``"Équipe Caen"`` → ``"equipe-caen"`` (accents folded, for file names)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "equipe"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "territory"


__all__ = [
    "TEAM_COLUMNS",
    "WeekPlan",
    "add_places",
    "candidate_places",
    "commune_ranking",
    "communes_with_qpv",
    "coverage_zones",
    "day_label",
    "load_plan",
    "load_teams",
    "move_visit",
    "new_place",
    "place_factor",
    "place_reasons",
    "place_values",
    "plan_history",
    "plan_week",
    "read_places",
    "read_teams",
    "record_feedback",
    "remove_places",
    "route_layer",
    "save_edited",
    "save_plan",
    "save_teams",
    "slot_yield",
    "teams_from_table",
    "transit_model_note",
    "week_grid",
    "week_monday",
    "write_csv",
    "write_ics",
    "write_sheet",
]
