"""Field sheets of a weekly plan: one A4 page per team and day, in HTML and in PDF.

A sheet is what a team takes on its round: the round drawn from the base (inline SVG,
Lambert-93), a summary of the day (departure, return, distance and time on the move,
waiting), then one table row per step — leaving the base, each visit with the leg that
reaches it (estimated distance, travel minutes, mode), the arrival, the waiting before the
visit starts, the partners near the stop with their opening hours in French — and the
return to the base.

* :func:`round_legs`: the legs of every visit, recomputed as the planner computed them;
* :func:`sheet_html`: the sheets as one self-contained HTML document (no URL), with the
  CSS for print: A4 pages, one team and day per page, a running header with the
  workspace, week, team and day on every page (also on the second page of a long day),
  page numbers, the table head repeated and no row cut across two pages;
* :func:`sheet_pdf`: that same HTML rendered by WeasyPrint (one source for both);
* :func:`write_sheet`: either file, by the suffix of its name (``.pdf`` or ``.html``).

The stored plan keeps the visits, not the trips. The legs come from the one travel model
the planner uses (:func:`territory.rounds.geo.travel_time_matrix` with
:class:`territory.travel.TravelModel` of the settings; for public transport the GTFS
timetables stored at import, :func:`territory.rounds.transit.transit_time_matrix`), with
the team's current mode and base, rounded up to the minute as the solver rounds them. A
browser prints the HTML too, but only WeasyPrint repeats the running header (CSS margin
boxes with ``string()``), so the PDF is the file to print.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from html import escape as html_escape
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from territory._fr import format_distance, format_duration, format_number, format_short
from territory.crs import METRIC_CRS
from territory.hours import format_hours_fr
from territory.roads import RoadNetwork, model_note, travel_model_for
from territory.rounds.geo import travel_time_matrix
from territory.rounds.model import Team
from territory.rounds.outputs import date_of, day_label, team_colours
from territory.rounds.transit import (
    TRANSIT,
    TransitNetwork,
    load_transit_network,
    transit_model_note,
    transit_time_matrix,
)
from territory.rounds.week import TEAMS, WeekPlan, teams_from_table, week_monday
from territory.settings import Settings
from territory.store import Workspace
from territory.travel import TravelModel
from territory.vocab import TEAM_COLOURS

__all__ = ["LEG_COLUMNS", "round_legs", "sheet_html", "sheet_pdf", "write_sheet"]

LEG_COLUMNS = [
    "round",
    "mode",
    "depart_at",
    "leg_m",
    "leg_min",
    "arrival",
    "wait_min",
    "back_m",
    "back_min",
    "back_at",
]
"""Columns of :func:`round_legs`.

``round`` numbers the rounds of a team's day (one per availability window: the team
leaves its base and comes back); ``depart_at`` is set on the first visit of a round (the
latest departure that arrives on time, as the planner times it); ``leg_m`` is the
estimated network distance (straight line × detour factor, metres) and ``leg_min`` the
travel minutes from the previous step (the base for the first visit of a round);
``arrival`` is the previous end (or departure) plus ``leg_min`` and ``wait_min`` the
minutes from arrival to the visit's start (negative: the team would arrive late, after a
hand-made move); ``back_*`` are set on the last visit of a round (the way back to the
base). Distances and minutes are NaN when the team is no longer in the teams table.
"""

_MODE_FR = {
    "marche": "à pied",
    "vélo": "à vélo",
    "voiture": "en voiture",
    "transports en commun": "en transports en commun",
}


# ---------------------------------------------------------------------------- legs
def round_legs(
    plan: WeekPlan,
    ws: Workspace,
    *,
    settings: Settings | None = None,
    transit: TransitNetwork | None = None,
) -> pd.DataFrame:
    """The travel legs of the plan's visits, as the planner timed them (:data:`LEG_COLUMNS`).

    Indexed like ``plan.visits``, in team and time order. Each team-day is split into
    rounds by the team's availability windows (the planner brings a team back to its base
    at the close of each window); every round goes base → visits → base.

    Parameters
    ----------
    plan
        A stored (or in-memory) plan.
    ws
        The workspace: the team's mode, base and availability (``teams`` table), and the
        timetables for teams moving by public transport.
    settings
        The travel model's detour factor, speeds and access times (default: the defaults
        of :class:`~territory.Settings`).
    transit
        A timetable network to use instead of the one stored in ``ws`` (read when a team
        moves by public transport and this is None).
    """
    model = travel_model_for(ws, settings)
    teams = _teams(ws, plan.week)
    visits = plan.visits.sort_values(["team", "start"])
    out = pd.DataFrame(index=visits.index, columns=LEG_COLUMNS, dtype=object)
    if visits.empty:
        return out
    if transit is None and any(t.mode == TRANSIT for t in teams.values()):
        transit = load_transit_network(ws)
    stops = _metric_xy(visits["lon"], visits["lat"])
    for (name, _), rows in visits.groupby([visits["team"], visits["start"].map(date_of)]):
        team = teams.get(str(name))
        windows = team.availability.get(rows["start"].iloc[0].weekday(), ()) if team else ()
        for number, group in enumerate(_rounds(rows, windows), start=1):
            out.loc[group.index, "round"] = number
            if team is None or team.base is None:
                continue
            xy = np.vstack([_metric_xy([team.base[0]], [team.base[1]]), stops.loc[group.index]])
            minutes, metres = _legs(xy, team.mode, model, transit)
            _fill(out, group, team.mode, minutes, metres)
    return out


def _teams(ws: Workspace, week: str) -> dict[str, Team]:
    if not ws.has(TEAMS):
        return {}
    table = ws.read_table(TEAMS)
    return {t.name: t for t in teams_from_table(table, week=week_monday(week))}


def _metric_xy(lon: Any, lat: Any) -> pd.DataFrame:
    """Lambert-93 ``x``, ``y`` of longitudes and latitudes (index of ``lon`` if any)."""
    index = lon.index if isinstance(lon, pd.Series) else None
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326, index=index).to_crs(METRIC_CRS)
    return pd.DataFrame({"x": points.x, "y": points.y}, index=points.index)


def _rounds(rows: pd.DataFrame, windows: Sequence[tuple[int, int]]) -> list[pd.DataFrame]:
    """A team-day's visits cut into rounds: one per availability window.

    A visit outside every window (the team's hours changed since) stays in the round of
    the visit before it.
    """
    keys: list[int] = []
    for row in rows.itertuples():
        start = row.start.hour * 60 + row.start.minute
        inside = [k for k, (a, b) in enumerate(windows) if a <= start < b]
        keys.append(inside[0] if inside else (keys[-1] if keys else -1))
    key = pd.Series(keys, index=rows.index)
    blocks = (key != key.shift()).cumsum()
    return [group for _, group in rows.groupby(blocks, sort=True)]


def _legs(
    xy: npt.NDArray[np.float64], mode: str, model: TravelModel, transit: TransitNetwork | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Minutes (rounded up, as the solver does) and estimated metres along base → stops → base.

    ``xy``: the base first, then the stops in order. Returns ``n + 1`` legs.
    """
    if mode == TRANSIT and transit is not None:
        matrix = transit_time_matrix(xy, transit, travel_model=model)
    else:
        matrix = travel_time_matrix(xy, mode, travel_model=model)
    order = [*range(len(xy)), 0]
    origin, target = np.array(order[:-1]), np.array(order[1:])
    minutes = np.ceil(matrix[origin, target] - 1e-9).astype(np.int64)
    straight = np.hypot(*(xy[target] - xy[origin]).T)
    if isinstance(model.network, RoadNetwork) and model.network.serves(mode):
        lines = model.network.routes(
            list(zip(xy[origin], xy[target], strict=True)), mode, speed_kmh=model.speed(mode)
        )
        return minutes, np.array([line.length for line in lines])
    return minutes, straight * model.detour


def _fill(
    out: pd.DataFrame,
    group: pd.DataFrame,
    mode: str,
    minutes: npt.NDArray[np.int64],
    metres: npt.NDArray[np.float64],
) -> None:
    first, last = group.index[0], group.index[-1]
    out.loc[group.index, "mode"] = mode
    out.at[first, "depart_at"] = group.at[first, "start"] - timedelta(minutes=int(minutes[0]))
    previous_end = out.at[first, "depart_at"]
    for k, (index, row) in enumerate(group.iterrows()):
        arrival = previous_end + timedelta(minutes=int(minutes[k]))
        out.at[index, "leg_m"] = float(metres[k])
        out.at[index, "leg_min"] = int(minutes[k])
        out.at[index, "arrival"] = arrival
        out.at[index, "wait_min"] = int((row["start"] - arrival).total_seconds() // 60)
        previous_end = row["end"]
    out.at[last, "back_m"] = float(metres[-1])
    out.at[last, "back_min"] = int(minutes[-1])
    out.at[last, "back_at"] = group.at[last, "end"] + timedelta(minutes=int(minutes[-1]))


def _legs_note(modes: set[str], model: TravelModel, transit: TransitNetwork | None) -> str:
    """« Trajets estimés : … » for the modes of a sheet (French)."""
    parts = []
    for mode in sorted(modes):
        if mode == TRANSIT:
            text = transit_model_note(transit, travel_model=model).rstrip(".")
            parts.append(text[:1].lower() + text[1:])
            continue
        access = float(model.access_minutes.get(mode, 0.0))
        extra = f" plus {format_short(access)} min d'accès" if access else ""
        parts.append(f"{_MODE_FR[mode]} à {format_short(model.speed(mode))} km/h{extra}")
    how = (
        f"{model_note(model)}, vitesses de marche et de vélo ci-après, voiture à la vitesse "
        "de chaque voie"
        if model.network is not None
        else f"distance à vol d'oiseau × {format_short(model.detour)} (détours du réseau)"
    )
    return (
        f"Trajets estimés : {how} ; {' ; '.join(parts)} ; "
        "temps arrondis à la minute supérieure, comme pour le calcul des tournées, avec la "
        "base et le mode actuels de l'équipe."
    )


def sheet_html(
    plan: WeekPlan,
    ws: Workspace,
    *,
    settings: Settings | None = None,
    nearby_m: float = 1_000,
) -> str:
    """The field sheets as one self-contained HTML document (French, print CSS for A4).

    One ``<section>`` per team and day: a title, the round drawn from the base, a summary,
    the table of steps with the legs (:func:`round_legs`) and the three partners nearest
    to each stop within ``nearby_m`` metres, then those partners once each with their
    type, opening hours in French and phone, and how the legs are estimated.
    """
    model = travel_model_for(ws, settings)
    teams = _teams(ws, plan.week)
    transit = None
    if any(t.mode == TRANSIT for t in teams.values()):
        transit = load_transit_network(ws)
    legs = round_legs(plan, ws, settings=settings, transit=transit)
    partners = ws.read_layer("partners") if ws.has("partners") else None
    if partners is not None:
        partners = partners[partners.geometry.notna()].to_crs(METRIC_CRS)
    visits = plan.visits.sort_values(["team", "start"])
    stops = _metric_xy(visits["lon"], visits["lat"]) if not visits.empty else None
    running = f"{ws.name} · semaine {plan.week} · version {plan.version}"
    colours = team_colours(plan, ws)  # each team's colour of the Tournées maps
    sections = []
    for (name, day), rows in visits.groupby([visits["team"], visits["start"].map(date_of)]):
        assert stops is not None
        team = teams.get(str(name))
        base = _metric_xy([team.base[0]], [team.base[1]]).iloc[0] if team and team.base else None
        points = stops.loc[rows.index]
        sections.append(
            _section(
                str(name),
                day,
                rows,
                legs.loc[rows.index],
                svg=_round_svg(
                    base, list(points.itertuples(index=False)), colour=colours[str(name)]
                ),
                colour=colours[str(name)],
                near=[_nearby(partners, p, nearby_m) for p in points.itertuples(index=False)],
                running=running,
                note=_legs_note({team.mode}, model, transit)
                if team
                else "Équipe absente du tableau des équipes : trajets non calculés.",
            )
        )
    body = "".join(sections) or f"<p class='meta'>{_esc(running)}</p><p>Aucune visite.</p>"
    return (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        f"<title>Feuilles de route {_esc(plan.week)}</title><style>{SHEET_CSS}</style></head>"
        f"<body>{body}</body></html>"
    )


def _section(
    team: str,
    day: date,
    rows: pd.DataFrame,
    legs: pd.DataFrame,
    *,
    svg: str,
    near: list[pd.DataFrame],
    running: str,
    note: str,
    colour: str = TEAM_COLOURS[0],
) -> str:
    """One team-day: title, running strings, map, summary, steps, partners, legs note.

    The stops' numbers and the title's mark are in the team's ``colour`` (its colour on
    the Tournées maps).
    """
    steps = []
    for n, (index, row) in enumerate(rows.iterrows(), start=1):
        leg = legs.loc[index]
        if _set(leg["depart_at"]):
            steps.append(_base_row("Départ de la base", f"départ {_hm(leg['depart_at'])}", ""))
        reason = row.get("pourquoi", "")
        why = f"<div class='why'>Pourquoi : {_esc(reason)}</div>" if _filled(reason) else ""
        close = near[n - 1]
        around = (
            "<div class='near'>À proximité : "
            + ", ".join(f"{_esc(p.nom)} ({format_number(p.d)} m)" for p in close.itertuples())
            + "</div>"
            if len(close)
            else ""
        )
        lock = ", verrouillée" if row["locked"] else ""
        zone = row.get("zone_name", "")
        lock = (f", {_esc(zone)}" if _filled(zone) else "") + lock
        steps.append(
            "<tr>"
            f"<td class='n'><span class='dot' style='background: {colour}'>{n}</span></td>"
            f"<td class='t'>{_hm(leg['arrival'])}</td>"
            f"<td class='t'><b>{row['start']:%H:%M}–{row['end']:%H:%M}</b></td>"
            f"<td><b>{_esc(row['place_name'])}</b> ({_esc(row['kind'])}{lock}){why}{around}</td>"
            f"<td>{_leg_text(leg['leg_m'], leg['leg_min'], leg['mode'])}</td>"
            f"<td class='t'>{_wait_text(leg['wait_min'])}</td>"
            "</tr>"
        )
        if _set(leg["back_at"]):
            steps.append(
                _base_row(
                    "Retour à la base",
                    f"arrivée {_hm(leg['back_at'])}",
                    _leg_text(leg["back_m"], leg["back_min"], leg["mode"]),
                    arrival=_hm(leg["back_at"]),
                )
            )
    summary = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in _summary(rows, legs))
    return (
        "<section>"
        f"<h1><span class='team' style='background: {colour}'></span>"
        f"{_esc(team)} — {day_label(day)}</h1>"
        f"<p class='meta'>{_esc(running)}</p>"
        f"<table class='top'><tr><td class='map'>{svg}</td>"
        f"<td><table class='summary'>{summary}</table></td></tr></table>"
        "<table class='steps'><colgroup><col class='c-n'><col class='c-t'><col class='c-v'>"
        "<col><col class='c-leg'><col class='c-w'></colgroup>"
        "<thead><tr><th>N°</th><th>Arrivée</th><th>Visite</th><th>Lieu</th>"
        "<th>Trajet depuis l'étape précédente</th><th>Attente</th></tr></thead>"
        f"<tbody>{''.join(steps)}</tbody></table>"
        f"{_partners(near)}"
        f"<p class='note'>{_esc(note)}</p>"
        "</section>"
    )


def _summary(rows: pd.DataFrame, legs: pd.DataFrame) -> list[tuple[str, str]]:
    """The day in figures: mode, departure, return, visits, travel, waiting."""
    known = legs["leg_min"].notna()
    moving = [*legs.loc[known, "leg_min"], *legs["back_min"].dropna()]
    metres = [*legs.loc[known, "leg_m"], *legs["back_m"].dropna()]
    waiting = sum(max(int(w), 0) for w in legs.loc[known, "wait_min"])
    visiting = sum((r.end - r.start).total_seconds() / 60 for r in rows.itertuples())
    mode = legs["mode"].dropna()
    rounds = legs["round"].nunique()
    return [
        ("Déplacement", _MODE_FR.get(str(mode.iloc[0]), str(mode.iloc[0])) if len(mode) else "—"),
        ("Départ de la base", _hm(legs["depart_at"].dropna().min()) or "—"),
        ("Retour à la base", _hm(legs["back_at"].dropna().max()) or "—"),
        ("Tournées", f"{rounds} (retour à la base entre deux)" if rounds > 1 else "1"),
        ("Visites", f"{len(rows)} ({format_duration(visiting)})"),
        (
            "Trajets",
            f"{format_distance(sum(metres))} · {_minutes(sum(moving))}" if known.any() else "—",
        ),
        ("Attente", _minutes(waiting) if known.any() else "—"),
    ]


def _base_row(label: str, when: str, leg: str, *, arrival: str = "") -> str:
    return (
        "<tr class='base'><td class='n'><span class='square'></span></td>"
        f"<td class='t'>{arrival}</td><td class='t'>{when}</td><td><b>{label}</b></td>"
        f"<td>{leg}</td><td></td></tr>"
    )


def _partners(near: list[pd.DataFrame]) -> str:
    """The partners near the day's stops, once each: type, hours (French), phone."""
    seen = [p for frame in near for p in frame.itertuples()]
    unique = {p.Index: p for p in seen}
    if not unique:
        return ""

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    lines = [
        f"<li><b>{_esc(p.nom)}</b> ({_esc(text(p.type_libelle) or text(p.type))}) — "
        f"{_esc(format_hours_fr(text(p.horaires)) or 'horaires inconnus')}"
        f"{' — ' + _esc(p.telephone) if text(p.telephone) else ''}</li>"
        for p in sorted(unique.values(), key=lambda p: str(p.nom))
    ]
    return f"<div class='partners'><h2>Partenaires à proximité</h2><ul>{''.join(lines)}</ul></div>"


def _leg_text(metres: Any, minutes: Any, mode: Any) -> str:
    if not _set(minutes):
        return "—"
    how = _MODE_FR.get(str(mode), str(mode))
    return f"{format_distance(float(metres))} · {_minutes(minutes)}<br><small>{how}</small>"


def _wait_text(minutes: Any) -> str:
    if not _set(minutes) or int(minutes) == 0:
        return "—"
    if int(minutes) < 0:
        return f"<span class='late'>retard {_minutes(-int(minutes))}</span>"
    return _minutes(minutes)


def _minutes(minutes: Any) -> str:
    """``"0 min"``, ``"14 min"``, ``"1 h 05"``."""
    return "0 min" if round(float(minutes)) == 0 else format_duration(float(minutes))


def _hm(moment: Any) -> str:
    return f"{moment:%H:%M}" if _set(moment) else ""


def _set(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _filled(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _nearby(partners: gpd.GeoDataFrame | None, point: Any, radius: float) -> pd.DataFrame:
    """The three partners nearest to ``point`` within ``radius`` metres, with ``d`` (metres)."""
    if partners is None or partners.empty:
        return pd.DataFrame()
    # assign before filtering: a Series assigned to an empty frame brings its own rows
    located = partners.assign(d=partners.distance(gpd.points_from_xy([point.x], [point.y])[0]))
    return located[located["d"] <= radius].sort_values("d").head(3)


def _round_svg(
    base: Any, stops: list[Any], size: int = 150, *, colour: str = TEAM_COLOURS[0]
) -> str:
    """The round as an inline SVG: base (square), stops numbered in the team's colour, path."""
    points = [p for p in [base, *stops, base] if p is not None]
    xs, ys = [p.x for p in points], [p.y for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 200.0)
    scale, pad = (size - 40) / span, 20

    def xy(p: Any) -> tuple[float, float]:
        return pad + (p.x - min(xs)) * scale, size - pad - (p.y - min(ys)) * scale

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, points))
    marks = [
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='8' fill='{colour}' fill-opacity='0.85'/>"
        f"<text x='{x:.1f}' y='{y + 3.5:.1f}' font-size='10' fill='#fff' "
        f"text-anchor='middle'>{n}</text>"
        for n, (x, y) in enumerate(map(xy, stops), start=1)
    ]
    if base is not None:
        bx, by = xy(base)
        marks.insert(0, f"<rect x='{bx - 6:.1f}' y='{by - 6:.1f}' width='12' height='12'/>")
    side = format_number(span / 1000, decimals=1)
    scale_bar = f"<text x='{pad}' y='{size - 4}' font-size='9'>côté : {side} km</text>"
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}' "
        f"viewBox='0 0 {size} {size}'>"
        f"<polyline points='{path}' fill='none' stroke='#555' stroke-dasharray='4 3'/>"
        f"{''.join(marks)}{scale_bar}</svg>"
    )


def _esc(text: object) -> str:
    return html_escape(str(text), quote=True)


SHEET_CSS = """
@page {
  size: A4;
  margin: 16mm 12mm 14mm 12mm;
  @top-left { content: string(running); font-size: 8pt; color: #555; }
  @top-right { content: string(teamday); font-size: 9pt; font-weight: bold; }
  @bottom-left { content: "Feuilles de route — aller-vers"; font-size: 8pt; color: #777; }
  @bottom-right { content: "page " counter(page) " / " counter(pages); font-size: 8pt; }
}
html { font-family: "Liberation Sans", "DejaVu Sans", Arial, sans-serif; font-size: 9pt; }
body { margin: 0; }
@media screen { body { max-width: 186mm; margin: 1cm auto; } }
section + section { break-before: page; }
h1 { string-set: teamday content(text); font-size: 15pt; margin: 0; }
h2 { font-size: 9pt; margin: 8pt 0 2pt; }
.meta { string-set: running content(text); margin: 0 0 6pt; color: #555; font-size: 8pt; }
table { border-collapse: collapse; }
table.top { margin-bottom: 6pt; }
table.top td { vertical-align: top; padding: 0 12pt 0 0; }
td.map svg { border: 1px solid #ccc; display: block; }
table.summary th { text-align: left; padding: 1pt 10pt 1pt 0; }
table.summary td { padding: 1pt 0; }
table.steps { width: 100%; table-layout: fixed; font-size: 8.5pt; }
col.c-n { width: 8mm; }
col.c-t { width: 13mm; }
col.c-v { width: 21mm; }
col.c-leg { width: 32mm; }
col.c-w { width: 14mm; }
table.steps thead { display: table-header-group; }
table.steps th { text-align: left; font-size: 7.5pt; vertical-align: bottom;
                 border-bottom: 1.2pt solid #333; padding: 2pt 3pt; }
table.steps td { vertical-align: top; border-bottom: 0.5pt solid #bbb; padding: 1.5pt 3pt; }
table.steps tr { break-inside: avoid; page-break-inside: avoid; }
tr.base td { background: #eee; }
td.n { text-align: center; }
td.t { white-space: nowrap; }
.dot { display: inline-block; min-width: 12pt; border-radius: 6pt; background: #c62828;
       color: #fff; font-weight: bold; text-align: center; }
.team { display: inline-block; width: 10pt; height: 10pt; border-radius: 5pt;
        margin-right: 5pt; }
.square { display: inline-block; width: 8pt; height: 8pt; background: #000; }
.why, .near { font-size: 7pt; color: #444; line-height: 1.2; }
small { font-size: 7pt; color: #444; }
.partners ul { margin: 0; padding-left: 12pt; font-size: 7pt; line-height: 1.25; }
.partners li { break-inside: avoid; }
.late { color: #b00020; font-weight: bold; }
.note { font-size: 7.5pt; color: #555; margin-top: 6pt; }
"""
"""The sheets' CSS: paged media for A4 (WeasyPrint, and browsers' print) and the screen."""


# ---------------------------------------------------------------------------- files
def sheet_pdf(
    plan: WeekPlan,
    ws: Workspace,
    *,
    settings: Settings | None = None,
    nearby_m: float = 1_000,
) -> bytes:
    """The field sheets as PDF (A4): :func:`sheet_html` rendered by WeasyPrint."""
    import weasyprint

    html = sheet_html(plan, ws, settings=settings, nearby_m=nearby_m)
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def write_sheet(
    plan: WeekPlan,
    ws: Workspace,
    out: Path,
    *,
    settings: Settings | None = None,
    nearby_m: float = 1_000,
) -> Path:
    """Write the field sheets: PDF when ``out`` ends in ``.pdf``, else HTML.

    See :func:`sheet_html` for the content, :func:`sheet_pdf` for the PDF.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".pdf":
        out.write_bytes(sheet_pdf(plan, ws, settings=settings, nearby_m=nearby_m))
    else:
        out.write_text(sheet_html(plan, ws, settings=settings, nearby_m=nearby_m), "utf-8")
    return out
