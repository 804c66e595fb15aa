"""Field outputs of a weekly plan: calendars, CSV, map layers, the week at a glance.

* one calendar (.ics, RFC 5545 through ``icalendar``) per team (:func:`write_ics`,
  :func:`ics_calendars`) whose events keep one UID per visit across the week's versions
  (:func:`visit_uids`), and a CSV of the visits (:func:`write_csv`);
* the rounds as lines and numbered stops for the map (:func:`route_layer`) and the week
  at a glance, one row per day and one column per team (:func:`week_grid`).

All read a stored :class:`~territory.rounds.week.WeekPlan`. The printable field sheets
(HTML and PDF, A4) are in :mod:`territory.rounds.sheets`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from territory._fr import french_csv
from territory.roads import RoadNetwork, load_network
from territory.rounds.week import TEAMS, TIMEZONE, WeekPlan, week_monday
from territory.store import Workspace
from territory.vocab import WEEKDAYS_FR, team_colour

__all__ = [
    "EDITOR_COLUMNS",
    "PLAN_CSV_HEADERS",
    "ROUTE_COLUMNS",
    "date_of",
    "day_label",
    "editor_table",
    "ics_calendars",
    "route_layer",
    "routes_digest",
    "team_colours",
    "visit_choices",
    "visit_uids",
    "week_grid",
    "write_csv",
    "write_ics",
    "zone_of",
]


def day_label(moment: date) -> str:
    """``"lundi 30/11"``."""
    return f"{WEEKDAYS_FR[moment.weekday()]} {moment:%d/%m}"


def week_grid(plan: WeekPlan) -> pd.DataFrame:
    """The week at a glance: one row per day, one column per team, the visits in order.

    A cell reads ``"14:30 Parc de la mairie · 15:20 Gare"``.
    """
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


EDITOR_COLUMNS = (
    *("team", "jour", "debut", "fin", "place_name", "kind", "zone_name", "code_zone"),
    *("pourquoi", "locked"),
)
"""The columns of the visits as the « Tournées » page's editor shows them."""


def editor_table(plan: WeekPlan) -> pd.DataFrame:
    """The plan's visits as the editor shows them: day, start and end as text, zone by name.

    A zone reads by its name (the QPV's, else the commune's), its code in a column beside;
    the index is the visits' (an edited row is found again by it).
    """
    zones = [zone_of(row) for row in plan.visits.itertuples(index=False)]
    view = plan.visits.assign(
        jour=plan.visits["start"].map(day_label),
        debut=plan.visits["start"].map(lambda t: f"{t:%H:%M}"),
        fin=plan.visits["end"].map(lambda t: f"{t:%H:%M}"),
        zone_name=[name for name, _ in zones],
        code_zone=[code for _, code in zones],
    )
    return view[list(EDITOR_COLUMNS)]


def visit_choices(plan: WeekPlan) -> dict[Any, str]:
    """Each visit by its index: ``"team — lundi 30/11 14:30 — place (zone)"``."""
    return {
        index: f"{v.team} — {day_label(v.start)} {v.start:%H:%M} — {v.place_name} ({zone_of(v)[0]})"
        for index, v in zip(plan.visits.index, plan.visits.itertuples(index=False), strict=True)
    }


def visit_uids(plan: WeekPlan) -> pd.Series:
    """The calendar UID of each visit (indexed like ``plan.visits``), the same in every version.

    A stored visit has no id of its own: a version is a new set of rows. What identifies a
    visit in its week is its **team**, its **place** and its **rank** among that team's
    visits to that place that week (by start time: 1 for the first, 2 for the second…).
    The UID is ``<week>-<team>-<place>-<rank>-<key>@territory``: the readable part with
    team and place folded, and ``key`` the first 10 hex of the SHA-256 of the exact week,
    team, place id and rank, so that two teams or places whose folded names meet still
    get distinct UIDs. The plan version is never part of it.

    So a visit moved in time (by the lead's edit, or by a re-optimisation that keeps its
    place for that team) keeps its UID and its event is updated, not duplicated. When a
    team's second visit to a place is removed, the first keeps rank 1; when the first is
    removed, the second takes rank 1 (its event is moved to the remaining visit's time)
    and rank 2 is cancelled: the calendar ends with the same events as the plan either
    way. UIDs are distinct within a week, hence within each team's calendar.
    """
    visits = plan.visits
    if visits.empty:
        return pd.Series([], index=visits.index, dtype=object)
    order = visits.assign(_row=range(len(visits))).sort_values(["start", "end", "_row"])
    rank = order.groupby(["team", "place"], sort=False).cumcount() + 1
    uids = {
        index: _uid(plan.week, str(order.at[index, "team"]), str(order.at[index, "place"]), n)
        for index, n in rank.items()
    }
    return pd.Series([uids[i] for i in visits.index], index=visits.index, dtype=object)


def _uid(week: str, team: str, place: str, rank: int) -> str:
    key = hashlib.sha256("\x1f".join([week, team, place, str(rank)]).encode()).hexdigest()
    return f"{week}-{_slug(team)}-{_slug(place, 'lieu')}-{rank}-{key[:10]}@territory"


def ics_calendars(plan: WeekPlan, *, earlier: Sequence[WeekPlan] = ()) -> dict[str, bytes]:
    """One calendar (.ics bytes) per team of ``plan``: ``{team: bytes}``, teams sorted.

    Every visit is one event with its UID from :func:`visit_uids`, ``SEQUENCE`` the plan
    version and ``DTSTAMP`` the version's time (:attr:`WeekPlan.created`, now when
    unsaved), so that importing a newer version's file updates the events already in a
    calendar app instead of adding copies. Times are local, ``DTSTART;TZID=Europe/Paris``,
    with the ``VTIMEZONE`` in the file.

    ``earlier`` are the week's older versions (:func:`territory.rounds.week.plan_versions`;
    only those of lower version count): a visit present in one of them and absent from
    ``plan`` is written as a ``STATUS:CANCELLED`` event with its UID, the same higher
    ``SEQUENCE`` and its last known time and place, so that importing the new file
    removes it. A team with only cancelled visits still gets its calendar.
    """
    from icalendar import Calendar

    uids = visit_uids(plan)
    current = plan.visits.assign(ics_uid=uids)
    removed: dict[str, Any] = {}
    for old in sorted(earlier, key=lambda p: p.version):
        if old.week != plan.week or old.version >= plan.version:
            continue
        removed.update(zip(visit_uids(old), old.visits.itertuples(index=False), strict=True))
    for uid in set(uids):
        removed.pop(uid, None)
    stamp = (plan.created or datetime.now(TIMEZONE)).astimezone(UTC)
    monday = week_monday(plan.week)
    teams = sorted({*map(str, current["team"]), *(str(r.team) for r in removed.values())})
    calendars = {}
    for team in teams or [""]:
        calendar = Calendar()
        calendar.add("prodid", "-//territory//aller-vers//FR")
        calendar.add("version", "2.0")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", f"Tournées {team} — {plan.week}")
        calendar.add("x-wr-timezone", "Europe/Paris")
        for row in current[current["team"] == team].itertuples(index=False):
            calendar.add_component(_event(row, row.ics_uid, plan.version, stamp))
        for uid in sorted(u for u, r in removed.items() if str(r.team) == team):
            calendar.add_component(_event(removed[uid], uid, plan.version, stamp, cancelled=True))
        calendar.add_missing_timezones(
            first_date=date(monday.year - 1, 1, 1), last_date=date(monday.year + 2, 1, 1)
        )
        calendars[team] = calendar.to_ical()
    return calendars


def _event(row: Any, uid: str, sequence: int, stamp: datetime, *, cancelled: bool = False) -> Any:
    """One VEVENT of a visit (French summary and description); cancelled when removed."""
    from icalendar import Event

    event = Event()
    event.add("uid", uid)
    event.add("sequence", int(sequence))
    event.add("dtstamp", stamp)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    zone, code = zone_of(row)
    event.add("summary", f"Aller-vers : {row.place_name}" + (f" ({zone})" if zone else ""))
    event.add("dtstart", row.start.astimezone(TIMEZONE))
    event.add("dtend", row.end.astimezone(TIMEZONE))
    event.add("location", f"{row.place_name}, {zone or '—'} ({row.kind})")
    event.add("geo", (float(row.lat), float(row.lon)))
    event.add(
        "description",
        f"Équipe {row.team} — zone {zone or '—'}"
        + (f" (code {code})" if code else "")
        + (" — visite verrouillée" if row.locked and not cancelled else "")
        + (f" — visite annulée (version {sequence})" if cancelled else ""),
    )
    return event


def write_ics(plan: WeekPlan, out: Path, *, earlier: Sequence[WeekPlan] = ()) -> list[Path]:
    """Write :func:`ics_calendars`: ``out`` itself for one team, else ``<stem>-<team>.ics``.

    Pass the week's older versions as ``earlier`` so that the visits they had and ``plan``
    no longer has are cancelled in the calendars.
    """
    out = Path(out)
    calendars = ics_calendars(plan, earlier=earlier)
    written = []
    for team, content in calendars.items():
        target = out if len(calendars) <= 1 else out.with_name(f"{out.stem}-{_slug(team)}.ics")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(target)
    return written


PLAN_CSV_HEADERS = {
    "team": "Équipe",
    "jour": "Jour",
    "debut": "Début",
    "fin": "Fin",
    "place_name": "Lieu",
    "kind": "Type de lieu",
    "zone_name": "Zone",
    "code_zone": "Code zone",
    "zone": "Code commune",
    "lon": "Longitude",
    "lat": "Latitude",
    "locked": "Verrouillée",
    "pourquoi": "Pourquoi",
}
"""The plan CSV's columns, in order, and their French headers."""


def write_csv(plan: WeekPlan, out: Path) -> Path:
    """The visits as a French CSV (:func:`territory._fr.french_csv`), French headers.

    Coordinates keep 6 decimals (about 10 cm); ``Verrouillée`` reads ``oui`` / ``non``. A
    zone reads by its name (« Zone »: the QPV's, else the commune's), its code beside it
    for geographers (« Code zone », « Code commune »).
    """
    zones = [zone_of(row) for row in plan.visits.itertuples(index=False)]
    table = plan.visits.assign(
        zone_name=[name for name, _ in zones],
        code_zone=[code for _, code in zones],
        jour=plan.visits["start"].map(lambda t: f"{t:%d/%m/%Y}"),
        debut=plan.visits["start"].map(lambda t: f"{t:%H:%M}"),
        fin=plan.visits["end"].map(lambda t: f"{t:%H:%M}"),
        locked=plan.visits["locked"].astype(bool),
    )
    french_csv(
        table[list(PLAN_CSV_HEADERS)],
        out,
        headers=PLAN_CSV_HEADERS,
        decimals={"lon": 6, "lat": 6},
    )
    return Path(out)


def route_layer(plan: WeekPlan, ws: Workspace, *, day: date | None = None) -> gpd.GeoDataFrame:
    """The rounds as lines (base → stops → base) and their stops as numbered points.

    In EPSG:4326, with ``team``, ``label`` (French), ``ordre`` (stop number, 0 for a line)
    and ``colour``: the team's colour of :func:`team_colours` (the same on the day's map,
    the week's and the field sheets).
    When the workspace has a road network (:mod:`territory.roads`), the lines of walking,
    cycling and driving teams follow it (simplified to 5 m); straight lines otherwise.
    """
    import shapely

    teams = ws.read_table(TEAMS).set_index("nom") if ws.has(TEAMS) else pd.DataFrame()
    network = load_network(ws)
    colours = team_colours(plan, ws)
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
        mode = str(teams.at[team, "mode"]) if team in teams.index and "mode" in teams else ""
        stops = [*base, *points, *base]
        features.append(
            {
                "team": team,
                "ordre": 0,
                "geometry": (
                    _along(network, stops, mode)
                    if network is not None and network.serves(mode)
                    else shapely.LineString(stops)
                )
                if len(base + points) >= 2
                else points[0],
                "label": f"{day_label(first)} : {len(rows)} visite(s)",
                "colour": colours[str(team)],
            }
        )
        for n, (row, point) in enumerate(zip(rows.itertuples(), points, strict=True), start=1):
            features.append(
                {
                    "team": team,
                    "ordre": n,
                    "geometry": point,
                    "label": f"{n}. {row.start:%H:%M}–{row.end:%H:%M} {row.place_name}",
                    "colour": colours[str(team)],
                }
            )
    columns = ["team", "ordre", "label", "colour", "geometry"]
    return gpd.GeoDataFrame(features, columns=columns, geometry="geometry", crs=4326)


ROUTE_COLUMNS = ("team", "start", "end", "lon", "lat", "place_name")
"""What :func:`route_layer` draws of a plan's visits (a lock changes none of them)."""


def routes_digest(plan: WeekPlan) -> str:
    """A digest of what :func:`route_layer` reads of ``plan``: equal digests, equal routes.

    With the workspace's teams and road network (its data version), the key of a drawn
    week: a version that only locked or unlocked visits draws the same map.
    """
    visits = plan.visits.reindex(columns=list(ROUTE_COLUMNS))
    text = visits.sort_values(["team", "start"]).to_csv(index=False)
    return hashlib.sha256(f"{plan.week}\n{text}".encode()).hexdigest()


def team_colours(plan: WeekPlan, ws: Workspace) -> dict[str, str]:
    """Each team's colour (:func:`territory.vocab.team_colour`) among all the plan's teams."""
    names = set(ws.read_table(TEAMS)["nom"].astype(str)) if ws.has(TEAMS) else set()
    names |= set(plan.visits["team"].astype(str))
    return {name: team_colour(name, names) for name in names}


def _along(network: RoadNetwork, stops: list[Any], mode: str) -> Any:
    """The line through ``stops`` (EPSG:4326 points) along the network's paths of ``mode``."""
    import shapely

    metric = gpd.GeoSeries(stops, crs=4326).to_crs(network.crs)
    xy = list(zip(metric.x, metric.y, strict=True))
    lines = network.routes(list(pairwise(xy)), mode)
    coords = [c for line in lines for c in shapely.get_coordinates(line)]
    drawn = gpd.GeoSeries([shapely.LineString(coords)], crs=network.crs).to_crs(4326)
    return drawn.iloc[0]


def zone_of(row: Any) -> tuple[str, str]:
    """A visit's zone by name and its code (its commune's code when the plan has no name)."""
    name = getattr(row, "zone_name", None)
    code = getattr(row, "code_zone", None)
    commune = str(getattr(row, "zone", "") or "")
    name = str(name) if isinstance(name, str) and name else commune
    return name, str(code) if isinstance(code, str) and code else commune


def date_of(moment: datetime) -> date:
    """The calendar day of a visit."""
    return moment.date()


def _slug(text: str, empty: str = "equipe") -> str:
    """``"Équipe Caen"`` → ``"equipe-caen"`` (accents folded, for file names and UIDs)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or empty
