"""Readers of official and team files, each returning frames and an import report.

``boundaries`` (communes, QPV, density grid), ``cog`` (commune tables, old → current codes),
``partners`` (team lists, data·inclusion, France services), ``contacts`` (team contact
exports, anonymised at the door), ``gtfs`` (transit feeds: stops, departures, zones
blanches of one feed), ``gtfs_networks`` (several feeds in one workspace: one named
network each, ids prefixed, rows replaced network by network), ``geocoding`` (the online
BAN), ``ban`` (a département's BAN addresses file),
``addresses`` (free-text addresses normalised and geocoded locally against the BAN, no
network), ``population`` (INSEE census population by age, IRIS or commune), ``filosofi``
(INSEE Filosofi 200 m cells), ``osm`` (OpenStreetMap points of interest as candidate
places: ``.osm``, OSM GeoJSON, Overpass JSON), ``school_calendar`` (the Ministry's school
calendar, checked against the shipped one), ``sources`` (the catalogue of official
sources), and the plumbing they share:
``_http`` (every network call), ``_validate`` (tabular and vector reading, column finding),
``_sheets`` (which sheet of a workbook is read), ``_quotes`` (CSV rows with an unclosed
quote), ``_dates`` (French dates and hours), ``report``
(:class:`~territory.io.report.ImportReport`).

May import the ground floor (``territory._errors``, ``settings``, ``vocab``, ``crs``,
``hours``, ``calendar``, ``grid``, ``store``) and ``territory.privacy`` (the contact reader
pseudonymises at the door). Nothing here writes to a workspace (:mod:`territory.ingest` does), but
:func:`~territory.io.gtfs_networks.replace_network_rows`: one network's rows, called by
the GTFS import and :func:`territory.rounds.transit.save_transit_links`.
"""

__all__ = [
    "addresses",
    "ban",
    "boundaries",
    "cog",
    "contacts",
    "filosofi",
    "geocoding",
    "gtfs",
    "gtfs_networks",
    "osm",
    "partners",
    "population",
    "report",
    "school_calendar",
    "sources",
]
