"""Outreach teams: read from a team lead's file, checked, stored, and made into solver teams.

A team has a name, a mode (walking, bike, public transport, car), a size, a base (longitude,
latitude), weekly availability (OSM ``opening_hours``, or French as teams write it:
« du lundi au vendredi de 9h à 17h », :func:`territory.hours.read_hours`), optional caps
(rounds, hours a week) and a ``secteur`` (:mod:`territory.rounds.sectors`). Public holidays
close a team unless its availability says ``PH``.

The ``teams`` table also holds each team's ``territory`` (:func:`team_territories`): on
the server, a chef d'équipe reads and saves the teams of their territories only
(:mod:`territory.access.rls` scopes a table with a ``territory`` column by it).
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pandas as pd

from territory._errors import InputFileError, NetworkError, ValidationError, plain_reason
from territory.hours import format_hours_fr, read_hours, windows_from_opening_hours
from territory.io.report import ImportReport
from territory.rounds.model import Team, hhmm
from territory.rounds.sectors import check_sectors, resolve_sector
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import MODES, WEEKDAYS, WEEKDAYS_FR, team_mode

__all__ = [
    "DEFAULT_AVAILABILITY",
    "GRID_SLOTS",
    "HOURS_FR_COLUMN",
    "TEAMS",
    "TEAM_COLUMNS",
    "TEAM_SYNONYMS",
    "grid_from_hours",
    "hours_from_grid",
    "load_teams",
    "place_bases",
    "read_teams",
    "save_teams",
    "team_territories",
    "teams_from_table",
    "with_bases",
    "with_hours",
    "with_hours_fr",
]

TEAMS = "teams"
TEAM_COLUMNS = ["nom", "mode", "taille", "base_lon", "base_lat", "disponibilites"]
TEAM_COLUMNS += ["max_tournees", "max_heures", "secteur"]
"""Columns of a teams file and of the ``teams`` table (``disponibilites``: OSM
``opening_hours``, e.g. ``Mo-Fr 09:00-12:30,14:00-18:00``; ``secteur``: a programme
territory, an EPCI or INSEE codes, :mod:`territory.rounds.sectors`; empty: anywhere)."""
DEFAULT_AVAILABILITY = "Mo-Fr 09:30-12:30,14:00-18:30"
HOURS_FR_COLUMN = "Disponibilités (en clair)"
"""Read-only column of :func:`with_hours_fr`: each team's availability in French."""
TEAM_SYNONYMS = {
    "nom": ["equipe", "nom_de_l_equipe", "nom_equipe", "nom_de_equipe", "name", "team"],
    "mode": [
        "mode_de_deplacement",
        "moyen_de_deplacement",
        "deplacement",
        "mode_de_transport",
        "transport",
    ],
    "taille": ["effectif", "nombre_de_personnes", "nb_de_personnes", "nb_personnes", "size"],
    "base_lon": ["base_longitude", "longitude_de_la_base", "longitude_base", "longitude", "lon"],
    "base_lat": ["base_latitude", "latitude_de_la_base", "latitude_base", "latitude", "lat"],
    "disponibilites": ["disponibilite", "horaires", "creneaux", "horaires_de_l_equipe"],
    "max_tournees": ["tournees_max", "nombre_max_de_tournees", "nb_max_de_tournees"],
    "max_heures": ["heures_max", "nombre_max_d_heures", "heures_par_semaine"],
    "secteur": ["sector", "secteur_d_intervention", "territoire_de_l_equipe"],
    "adresse_base": ["adresse_de_la_base", "base", "adresse_de_depart", "adresse"],
}
"""Header synonyms of a teams file (compared without case, accents, spaces or signs)."""


def read_teams(
    path: Path,
    *,
    sheet: str | None = None,
    report: ImportReport | None = None,
    ws: Workspace | None = None,
    settings: Settings | None = None,
    online: bool = False,
) -> pd.DataFrame:
    """A teams file (CSV ``;`` or ``,``, XLSX / ODS, or JSON list) as a checked table.

    Headers may be French (« Équipe », « Mode de déplacement », « Effectif »,
    « Longitude de la base », « Disponibilités »…, see :data:`TEAM_SYNONYMS`); each
    header read under another name is noted in ``report``, and so is the sheet read
    (``sheet``, else the only one, or the only one with a team name column). Every
    problem is listed at once (:class:`~territory.ValidationError`). A base given by its
    address (« Adresse de la base », « Base »…) is placed by :func:`place_bases` (``ws``,
    ``settings``, ``online``). Returns the :data:`TEAM_COLUMNS` table.
    """
    from territory.io._quotes import refuse_unclosed_quotes
    from territory.io._sheets import is_spreadsheet, pick_sheet, read_sheet
    from territory.io._validate import find_columns, header_test, note_guessed

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"fichier d'équipes introuvable : {path}")
    try:
        if path.suffix.lower() == ".json":
            table = pd.DataFrame(json.loads(path.read_text(encoding="utf-8-sig")))
        elif is_spreadsheet(path):
            pick = pick_sheet(path, sheet, is_header=header_test(["nom", *TEAM_SYNONYMS["nom"]]))
            if report is not None:
                report.note(pick.note())
            table = read_sheet(path, pick)
            table = table.mask(table.apply(lambda column: column.str.strip() == ""))
        else:
            text = path.read_text(encoding="utf-8-sig")
            sep = max((";", ",", "\t"), key=text.split("\n", 1)[0].count)
            refuse_unclosed_quotes(text, sep, name=path.name)
            table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputFileError(f"{path.name} illisible : {plain_reason(exc)}") from exc
    found = find_columns(map(str, table.columns), TEAM_SYNONYMS)
    if report is not None:
        note_guessed(found, report)
    table = table.rename(columns={column: name for name, column in found.items()})
    if "adresse_base" in table.columns:
        table = place_bases(table, ws=ws, settings=settings, online=online, report=report)
    return _checked_teams(table, path.name, report=report)


def place_bases(
    table: pd.DataFrame,
    *,
    ws: Workspace | None = None,
    settings: Settings | None = None,
    online: bool = False,
    report: ImportReport | None = None,
) -> pd.DataFrame:
    """Fill the ``base_lon``/``base_lat`` of teams given by ``adresse_base`` only.

    A team's base is a public office (no privacy issue). Its address is looked up in the
    BAN imported into ``ws`` (no network), then, only when ``online`` (the user's
    opt-in) and ``settings`` are given, with the online BAN
    (:func:`territory.io.geocoding.geocode_addresses`). Coordinates already given win
    over the address. A base that cannot be placed is refused, naming the team and why
    (:class:`~territory.ValidationError`, every team at once).
    """
    from territory.io import addresses, ban, geocoding

    out = table.copy()
    for column in ("base_lon", "base_lat"):  # a CSV's text columns take floats too
        out[column] = out[column].astype(object) if column in out.columns else None
    text = out["adresse_base"].astype(object).fillna("").astype(str).str.strip()
    wanted = (out["base_lon"].isna() | out["base_lat"].isna()) & (text != "")
    if not wanted.any():
        return out
    reasons: dict[object, str] = {}
    pending = out.index[wanted]
    frame = pd.DataFrame({"adresse": text[pending], "code_insee": ""}, index=pending)
    if ws is not None and ws.has(ban.TABLE):
        columns = ["numero", "rep", "voie", "code_postal", "code_insee", "lon", "lat"]
        stored = ws.read_table(ban.TABLE, columns=columns).fillna({"rep": "", "code_postal": ""})
        communes = {}
        if ws.has("communes"):
            names = ws.read_table("communes", columns=["code", "nom"]).dropna()
            communes = dict(zip(names["code"].astype(str), names["nom"].astype(str), strict=True))
        found, _ = addresses.geocode_locally(
            frame, addresses.BanIndex.build(stored), communes=communes
        )
        pending = _fill(out, found, "BAN importée", reasons, report)
    else:
        reasons.update(dict.fromkeys(pending, "pas de BAN importée dans l'espace de travail"))
    if len(pending) and online and settings is not None:
        try:
            found, _ = geocoding.geocode_addresses(frame.loc[pending], settings=settings)
        except NetworkError as exc:
            reasons.update(dict.fromkeys(pending, f"BAN en ligne injoignable ({exc})"))
        else:
            pending = _fill(out, found, "BAN en ligne", reasons, report)
    elif len(pending):
        for label in pending:
            reasons[label] += " ; géocodage en ligne non demandé"
    if len(pending):
        names = out["nom"] if "nom" in out.columns else pd.Series("", index=out.index)
        raise ValidationError(
            [
                f"équipe « {names[label]} » : base introuvable à l'adresse « {text[label]} » "
                f"({reasons[label]}) ; donnez base_lon et base_lat ou placez-la sur la carte"
                for label in pending
            ]
        )
    return out


def _fill(
    out: pd.DataFrame,
    found: pd.DataFrame,
    source: str,
    reasons: dict[object, str],
    report: ImportReport | None,
) -> pd.Index:
    """Copy the placed bases of ``found`` into ``out``; the labels still unplaced."""
    done = found.index[found["reason"].isna()]
    out.loc[done, "base_lon"] = found.loc[done, "longitude"].astype(float)
    out.loc[done, "base_lat"] = found.loc[done, "latitude"].astype(float)
    if report is not None and len(done):
        report.note(f"{len(done)} base(s) d'équipe placée(s) par leur adresse ({source})")
    left = found.index[found["reason"].notna()]
    reasons.update({label: str(found.at[label, "reason"]) for label in left})
    return left


def with_hours_fr(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with :data:`HOURS_FR_COLUMN` after ``disponibilites``: the hours in French.

    French or OSM availability is shown as :func:`~territory.hours.format_hours_fr` writes
    it (« lun.–ven. 9h30–12h30, 14h–18h30 »); an empty cell as the default availability
    a saved team gets; unreadable text as « illisible : … ».

    Examples
    --------
    >>> table = pd.DataFrame({"nom": ["A"], "disponibilites": ["Mo-Fr 09:30-12:30"]})
    >>> with_hours_fr(table).iloc[0, -1]
    'lun.–ven. 9h30–12h30'
    """
    out = table.copy()
    texts = out["disponibilites"].astype(object).where(out["disponibilites"].notna(), "")
    plain = [_hours_fr(str(text)) for text in texts]
    out.insert(out.columns.get_loc("disponibilites") + 1, HOURS_FR_COLUMN, plain)
    return out


def with_hours(table: pd.DataFrame, hours: Mapping[str, str]) -> pd.DataFrame:
    """``table`` with the ``disponibilites`` of each team named in ``hours`` replaced.

    Examples
    --------
    >>> table = pd.DataFrame({"nom": ["A"], "disponibilites": ["Mo 09:00-12:00"]})
    >>> with_hours(table, {"A": "Tu 14:00-18:00", "Z": "Mo"})["disponibilites"].tolist()
    ['Tu 14:00-18:00']
    """
    out = table.copy()
    out["disponibilites"] = out["disponibilites"].astype(object)
    names = out["nom"].astype(str)
    for name, text in hours.items():
        out.loc[names == name, "disponibilites"] = text
    return out


def with_bases(table: pd.DataFrame, bases: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    """``table`` with the base of each team named in ``bases`` set to its ``(lon, lat)``.

    Names not in the table are ignored (a team renamed or removed since).

    Examples
    --------
    >>> table = pd.DataFrame({"nom": ["A", "B"], "base_lon": [1.0, 2.0], "base_lat": [45.0, 46.0]})
    >>> with_bases(table, {"B": (2.5, 46.5), "Z": (0.0, 0.0)})["base_lon"].tolist()
    [1.0, 2.5]
    """
    out = table.copy()
    names = out["nom"].astype(str)
    for name, (lon, lat) in bases.items():
        out.loc[names == name, ["base_lon", "base_lat"]] = [float(lon), float(lat)]
    return out


GRID_SLOTS = {
    "matin (9h-12h30)": (9 * 60, 12 * 60 + 30),
    "après-midi (14h-18h)": (14 * 60, 18 * 60),
    "soirée (18h-21h)": (18 * 60, 21 * 60),
}
"""Columns of the French weekly grid (:func:`hours_from_grid`): name → (start, end) minutes."""


def hours_from_grid(grid: pd.DataFrame) -> str:
    """OSM availability from a weekly grid: one row per day (lundi…dimanche), slots ticked.

    ``grid`` has the :data:`GRID_SLOTS` columns (booleans) in :data:`WEEKDAYS_FR` row
    order; days with the same slots are grouped, touching slots joined. Nothing ticked:
    ``""``.

    Examples
    --------
    >>> grid = pd.DataFrame(False, index=list(WEEKDAYS_FR), columns=list(GRID_SLOTS))
    >>> grid.iloc[0:5, 0] = grid.iloc[0:5, 1] = True
    >>> grid.iloc[2, 2] = True
    >>> hours_from_grid(grid)
    'Mo-Tu,Th-Fr 09:00-12:30,14:00-18:00; We 09:00-12:30,14:00-21:00'
    """
    spans = [_merged(grid.iloc[day].fillna(False).astype(bool)) for day in range(7)]
    rules: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day, day_spans in enumerate(spans):
        if day_spans:
            rules.setdefault(day_spans, []).append(day)
    return "; ".join(
        f"{_days_osm(days)} {','.join(f'{hhmm(a)}-{hhmm(b)}' for a, b in day_spans)}"
        for day_spans, days in rules.items()
    )


def grid_from_hours(osm: str) -> pd.DataFrame | None:
    """The weekly grid of an availability, or None when the grid cannot say it.

    Availability is read on a week without holiday; each day's hours must be exactly a
    union of :data:`GRID_SLOTS` (« Mo-Fr 09:30-12:30 » is not: None).

    Examples
    --------
    >>> grid = grid_from_hours("Mo-Fr 09:00-12:30,14:00-18:00")
    >>> grid.loc["lundi"].tolist(), grid.loc["samedi"].tolist()
    ([True, True, False], [False, False, False])
    >>> grid_from_hours("Mo-Fr 09:30-12:30") is None
    True
    """
    available, how = read_hours(osm)
    windows = windows_from_opening_hours(available) if how in ("osm", "fr") else None
    if windows is None:
        return None
    names = list(GRID_SLOTS)
    choices = list(itertools.product([False, True], repeat=len(names)))
    rows = []
    for day in range(7):
        wanted = tuple(windows.get(day, ()))
        match = [c for c in choices if _merged(pd.Series(c, index=names)) == wanted]
        if not match:
            return None
        rows.append(match[0])
    return pd.DataFrame(rows, index=list(WEEKDAYS_FR), columns=names)


def _merged(ticked: pd.Series) -> tuple[tuple[int, int], ...]:
    """The ticked slots' spans in minutes, touching ones joined."""
    spans: list[tuple[int, int]] = []
    for name, (start, end) in GRID_SLOTS.items():
        if not ticked.get(name, False):
            continue
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return tuple(spans)


def _days_osm(days: list[int]) -> str:
    """OSM weekday selector of sorted day numbers, runs as ranges (« Mo-Fr »)."""
    codes = [code for _, code, _ in WEEKDAYS]
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 2:
            parts.append(f"{codes[run[0]]}-{codes[run[-1]]}")
        else:
            parts.append(codes[run[0]])
    return ",".join(parts)


def _hours_fr(text: str) -> str:
    osm, how = read_hours(text)
    if not how:
        return f"{format_hours_fr(DEFAULT_AVAILABILITY)} (par défaut)"
    if how == "texte" or windows_from_opening_hours(osm) is None:
        return f"illisible : {text.strip()}"
    return format_hours_fr(osm)


def save_teams(
    ws: Workspace,
    teams: pd.DataFrame,
    *,
    settings: Settings | None = None,
    online: bool = False,
    territory: str | None = None,
) -> None:
    """Store the teams (replacing the previous ones); every unreadable sector is refused.

    A team without coordinates but with an ``adresse_base`` gets its base placed by
    :func:`place_bases` (imported BAN, then the online BAN if ``online``); the address
    itself is not stored. Each team gets its territory (:func:`team_territories`;
    ``territory``: the one being planned, for a team without one). In a user's session
    on the server the teams replaced are those the user may write (their territories'),
    under the policies: a team of another territory is refused (« ligne hors de vos
    territoires »), nothing written.
    """
    if "adresse_base" in teams.columns:
        teams = place_bases(teams, ws=ws, settings=settings, online=online)
    checked = _checked_teams(teams, TEAMS)
    problems = check_sectors(ws, checked["secteur"])
    if problems:
        raise ValidationError(problems)
    stored = ws.read_table(TEAMS) if ws.has(TEAMS) else None
    checked = checked.assign(territory=team_territories(ws, checked, stored, territory))
    if getattr(ws, "token", None) is None or stored is None:
        ws.write_table(TEAMS, checked, source="équipes", vintage="", licence="")
        return
    # a user's session replaces no table (DDL is the operator's): its rows, one transaction
    with ws.appending(TEAMS, schema=checked.iloc[:0], source="équipes") as table:
        table.delete("1 = 1")  # the rows the policies let this session write
        table.append(checked)


def team_territories(
    ws: Workspace, teams: pd.DataFrame, stored: pd.DataFrame | None, territory: str | None
) -> list[str]:
    """The territory of each team of ``teams``: what the server's policies scope it by.

    Its ``secteur`` when it names a programme territory; else the one it was stored with
    (``stored``: the teams table as read); else ``territory`` (the territory planned;
    None, and for a team stored before territories: :data:`~territory._layout.WHOLE`,
    the whole workspace, read on the server by workspace-wide sessions only).
    """
    from territory.rounds.plan_tables import plan_territory
    from territory.territories import list_territories

    named = {t.name for t in list_territories(ws)}
    before: dict[str, str] = {}
    if stored is not None and "territory" in stored:
        names = stored["nom"].astype(str).str.strip()
        before = dict(zip(names, stored["territory"].fillna("").astype(str), strict=True))
    default = plan_territory(territory)
    return [
        str(sector) if sector in named else before.get(str(name), default)
        for name, sector in zip(teams["nom"], teams["secteur"], strict=True)
    ]


def load_teams(ws: Workspace, *, week: date | None = None) -> list[Team]:
    """The stored teams as :class:`~territory.rounds.model.Team` (availability of ``week``).

    Each team's ``secteur`` is resolved to its communes
    (:func:`~territory.rounds.sectors.resolve_sector`); a table stored before sectors
    existed has none (the team may go anywhere).
    """
    if not ws.has(TEAMS):
        raise ValidationError(
            "aucune équipe dans l'espace de travail : donnez un fichier (--teams FICHIER)"
        )
    table = _checked_teams(ws.read_table(TEAMS), TEAMS)
    sectors = {str(r.nom): resolve_sector(ws, r.secteur) for r in table.itertuples(index=False)}
    return [
        dataclasses.replace(team, sector=sectors[team.name])
        for team in teams_from_table(table, week=week)
    ]


def teams_from_table(table: pd.DataFrame, *, week: date | None = None) -> list[Team]:
    """:class:`~territory.rounds.model.Team` objects from a :data:`TEAM_COLUMNS` table.

    With ``week``, the availability is read on its actual dates, and a team whose
    ``disponibilites`` say nothing of public holidays (no ``PH`` rule) is not available
    on them (``; PH off`` is added): no visit on a public holiday unless the team's
    hours say ``PH`` open (e.g. ``Mo-Fr 09:00-18:00; PH 10:00-16:00``).
    """
    teams = []
    for row in _checked_teams(table, TEAMS).itertuples(index=False):
        text = str(row.disponibilites)
        if week is not None and text.strip() and not _SAYS_PH.search(text):
            text = f"{text}; PH off"
        windows = windows_from_opening_hours(text, week=week)
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


_SAYS_PH = re.compile(r"\bPH\b")


def _checked_teams(
    table: pd.DataFrame, source: str, *, report: ImportReport | None = None
) -> pd.DataFrame:
    problems = []
    missing = [c for c in ("nom", "mode", "base_lon", "base_lat") if c not in table.columns]
    if missing:
        raise ValidationError(f"{source} : colonne(s) manquante(s) : {', '.join(missing)}")
    out = table.reindex(columns=TEAM_COLUMNS).copy()
    out["nom"] = out["nom"].astype(str).str.strip()
    written = out["mode"].astype(object).fillna("").astype(str).str.strip()
    modes = written.map(lambda text: team_mode(text) or text.lower())
    if report is not None:
        for text, mode in sorted(dict(zip(written, modes, strict=True)).items()):
            if text.lower() != mode:
                report.note(f"mode « {text} » lu comme « {mode} »")
    out["mode"] = modes
    out["disponibilites"] = (
        out["disponibilites"].astype(object).fillna(DEFAULT_AVAILABILITY).astype(str)
    )
    out["secteur"] = out["secteur"].astype(object).fillna("").astype(str).str.strip()
    out["taille"] = pd.to_numeric(out["taille"], errors="coerce").fillna(2).astype("int64")
    for column in ("base_lon", "base_lat", "max_tournees", "max_heures"):
        text = out[column].astype(str).str.replace(",", ".", regex=False)
        out[column] = pd.to_numeric(text.where(out[column].notna()), errors="coerce")
    for line, row in enumerate(out.itertuples(index=False), start=2):
        if row.mode not in MODES:
            problems.append(
                f"ligne {line} : mode « {row.mode} » inconnu ({', '.join(MODES)}, ou « à pied »)"
            )
        if not (-5.6 <= row.base_lon <= 10 and 41 <= row.base_lat <= 51.5):
            problems.append(f"ligne {line} : base ({row.base_lon}, {row.base_lat}) hors France")
        available, how = read_hours(row.disponibilites)
        if how == "texte" or windows_from_opening_hours(available) is None:
            problems.append(
                f"ligne {line} : disponibilités illisibles « {row.disponibilites} » (écrivez "
                "par ex. « du lundi au vendredi de 9h à 17h » ou « Mo-Fr 09:00-17:00 »)"
            )
        out.iloc[line - 2, out.columns.get_loc("disponibilites")] = available
    if out["nom"].duplicated().any():
        problems.append(f"équipes en double : {', '.join(out.loc[out['nom'].duplicated(), 'nom'])}")
    if out.empty:
        problems.append(f"{source} : aucune équipe")
    if problems:
        raise ValidationError(problems)
    return out
