"""The GTFS import: one feed is one named network, then the transit areas over all of them.

Stops, departures per stop and hour, and the planner's stop-to-stop links are stored network
by network (:mod:`territory.io.gtfs_networks`); the ``service_gaps`` layer (zones blanches,
« horaires de transport inconnus », « pas de données de transport ») is recomputed over
every stored network (:mod:`territory.analysis.transit_coverage`), and again whenever the
communes it is cut along are imported (:func:`refresh_transit_areas`). Called by
:func:`territory.ingest.import_file`.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from territory.analysis import transit_coverage
from territory.analysis.priority import STOP_HOURS_TABLE
from territory.io import gtfs as mobility
from territory.io import gtfs_networks as networks
from territory.io.report import ImportReport
from territory.rounds import transit
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import (
    LEGACY_NETWORK,
    TRANSIT_NO_DATA,
    TRANSIT_TIMED,
    TRANSIT_UNKNOWN_HOURS,
    WEEKDAYS_FR,
)

__all__ = ["import_gtfs", "refresh_transit_areas", "save_stop_hours", "save_transit_areas"]


def import_gtfs(
    ws: Workspace,
    path: Path,
    *,
    settings: Settings,
    vintage: str,
    licence: str,
    today: date | None,
    network: str | None = None,
    **_: object,
) -> ImportReport:
    """Import one GTFS feed as its network: stops, hours, links, then the transit areas."""
    feed, report = mobility.read_gtfs(path)
    name = networks.network_name(feed, path, network)
    feed = networks.with_network(feed, name)
    day = mobility.reference_weekday(feed, today=today or date.today())
    stops = mobility.stops_layer(feed, day=day)
    added, replaced = networks.replace_network_rows(
        ws,
        "stops",
        stops,
        name,
        source=path.name,
        vintage=vintage or day.isoformat(),
        licence=licence,
    )
    report.note(
        f"réseau {name} : {added} arrêt(s) "
        + (f"remplacent les {replaced} arrêt(s) de l'import précédent" if replaced else "ajoutés")
    )
    if feed.has_schedule or not ws.get_property("gtfs_reference_day"):
        # A feed without timetables does not move the reference day of those with some.
        ws.set_property("gtfs_reference_day", day.isoformat())
    # Departures per stop, weekday and hour of the reference week (Où et quand page).
    if not save_stop_hours(ws, feed, today=today or date.today(), network=name):
        report.note(
            f"réseau {name} sans horaires (stop_times ou calendar absents) : départs par arrêt "
            "inconnus, ses arrêts ne sont pas comptés comme desservis et aucune zone blanche "
            "n'est calculée d'après lui (« horaires de transport inconnus »)"
        )
    # Stop-to-stop hops and headways of the reference day (round planner).
    if not transit.save_transit_links(ws, feed, day=day, network=name):
        h0, h1 = transit.TRANSIT_HOURS
        report.note(
            f"aucun horaire GTFS exploitable le {WEEKDAYS_FR[day.weekday()]} "
            f"{day:%d/%m/%Y} entre {h0} h et {h1} h : les temps en transports en commun des "
            "tournées seront estimés à vitesse moyenne"
        )
    if ws.has("communes"):
        save_transit_areas(
            ws,
            settings=settings,
            source=f"calculé depuis {path.name} et les autres réseaux importés",
            vintage=day.isoformat(),
            licence=licence,
            report=report,
        )
    else:
        report.note("zones blanches non calculées : importez d'abord les communes")
    return report


def refresh_transit_areas(ws: Workspace, *, settings: Settings, report: ImportReport) -> None:
    """Recompute the ``service_gaps`` layer after the communes changed (when stops are stored).

    Called by the imports that write the communes (boundaries, commune table): the
    transit areas are cut along the communes, so they follow them in the same import
    (and its undo puts both back).
    """
    if not ws.has("stops") or not ws.has("communes"):
        return
    info = ws.layers().get("service_gaps")
    save_transit_areas(
        ws,
        settings=settings,
        source="calculé depuis les réseaux importés, sur les communes actuelles",
        vintage=ws.get_property("gtfs_reference_day") or (info.vintage if info else ""),
        licence=info.licence if info else "",
        report=report,
    )


def save_transit_areas(
    ws: Workspace,
    *,
    settings: Settings,
    source: str,
    vintage: str,
    licence: str,
    report: ImportReport,
) -> None:
    """Recompute the ``service_gaps`` layer over every stored network; say what it holds."""
    communes = ws.read_layer("communes", columns=["code"])
    stops = ws.read_layer("stops")
    states = transit_coverage.commune_transit_states(communes, stops)["etat"]
    areas = transit_coverage.transit_areas(communes, stops, buffer_m=settings.stop_buffer_m)
    ws.write_layer("service_gaps", areas, source=source, vintage=vintage, licence=licence)
    counts = states.value_counts()
    parts = [
        f"{int(counts.get(state, 0))} commune(s) {what}"
        for state, what in (
            (TRANSIT_TIMED, "couverte(s) par un réseau avec horaires (zones blanches calculées)"),
            (TRANSIT_UNKNOWN_HOURS, "en « horaires de transport inconnus »"),
            (TRANSIT_NO_DATA, "en « pas de données de transport » (hors de tout réseau importé)"),
        )
        if counts.get(state, 0)
    ]
    report.note("couverture des réseaux : " + " ; ".join(parts))


def save_stop_hours(
    ws: Workspace, feed: mobility.GtfsFeed, *, today: date, network: str = LEGACY_NETWORK
) -> int:
    """Store departures per stop, weekday and hour of the feed's reference week.

    The week is the one of :func:`territory.io.gtfs.reference_weekday` (a normal
    Tuesday close to ``today``), so it matches the ``departs_jour`` of the stops layer.
    Called by the GTFS import; returns the number of rows written. The rows of
    ``network`` replace its previous ones, other networks' are kept; a feed without a
    schedule leaves none (its departures per hour are unknown). Read back by
    :func:`territory.analysis.priority.load_stop_hours`.
    """
    if feed.has_schedule:
        day = mobility.reference_weekday(feed, today=today)
        table = mobility.stop_hours_table(feed, week_start=day)
        monday = day - timedelta(days=day.weekday())
        vintage = f"semaine du {monday.isoformat()}"
    else:
        table = pd.DataFrame(
            {c: pd.Series(dtype="str" if c == "stop_id" else "int64") for c in _HOUR_COLUMNS}
        )
        stored = ws.layers().get(STOP_HOURS_TABLE)
        vintage = stored.vintage if stored is not None else ""
    networks.replace_network_rows(
        ws,
        STOP_HOURS_TABLE,
        table,
        network,
        source="GTFS (départs par arrêt, jour et heure)",
        vintage=vintage,
    )
    return len(table)


_HOUR_COLUMNS = ("stop_id", "weekday", "hour", "departs")
