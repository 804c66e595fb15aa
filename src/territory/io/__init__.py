"""Readers of official and team files, each returning frames and an import report.

``boundaries`` (communes, QPV, density grid), ``cog`` (commune tables, old → current codes),
``partners`` (team lists, data·inclusion, France services), ``contacts`` (team contact
exports, anonymised at the door), ``gtfs`` (transit feeds: stops, departures, zones
blanches), ``geocoding`` (the online BAN), ``ban`` (a département's BAN addresses file),
``addresses`` (free-text addresses normalised and geocoded locally against the BAN, no
network), ``school_calendar`` (the Ministry's school calendar, checked against the shipped
one), ``sources`` (the catalogue of official sources), and the plumbing they share:
``_http`` (every network call), ``_validate`` (tabular and vector reading, column finding),
``_sheets`` (which sheet of a workbook is read), ``_quotes`` (CSV rows with an unclosed
quote), ``_dates`` (French dates and hours), ``report``
(:class:`~territory.io.report.ImportReport`).

May import the ground floor (``territory._errors``, ``settings``, ``vocab``, ``crs``,
``hours``, ``calendar``, ``grid``, ``store``) and ``territory.privacy`` (the contact reader
pseudonymises at the door). Nothing here writes to a workspace: :mod:`territory.ingest` does.
"""

__all__ = [
    "addresses",
    "ban",
    "boundaries",
    "cog",
    "contacts",
    "geocoding",
    "gtfs",
    "partners",
    "report",
    "school_calendar",
    "sources",
]
