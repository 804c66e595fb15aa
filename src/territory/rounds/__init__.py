"""The weekly rounds of the outreach teams: which places, which days, which slots, in which order.

Modules, from the ground up:

* :mod:`~territory.rounds.model`: places, teams, visits, rounds, plans, time windows and
  the checks of the planner's inputs (no geometry, no solver);
* :mod:`~territory.rounds.solver`: :func:`~territory.rounds.solver.plan_from_matrix`, the
  numeric core on travel-time matrices and a value array (OR-Tools); its candidate
  visit nodes are built by the private :mod:`~territory.rounds._candidates`;
* :mod:`~territory.rounds.transit`: door-to-door public-transport times from the GTFS
  timetables (the frequency-based network stored at the GTFS import, its graph);
* :mod:`~territory.rounds.places`: candidate places generated for any territory (a point
  inside each QPV, each commune's centre, stations and each commune's busiest bus stop)
  and the coverage of the priority zones by candidate places;
* :mod:`~territory.rounds.geo`: :func:`~territory.rounds.geo.plan_rounds`, the geo adapter
  (checks the CRS, works in :data:`territory.crs.METRIC_CRS`, builds the travel times
  with the one travel model, :class:`territory.travel.TravelModel`, and delegates), the
  places of a table and the places suggested from partners and transit hubs;
* :mod:`~territory.rounds.value`: what a visit is worth (priority × protected contact
  yield of the slot), why, which zones are due in a week and which are visited monthly;
* :mod:`~territory.rounds.sectors`: a team's sector (a programme territory, an EPCI or
  INSEE codes) as communes, the places of the plan's territory;
* :mod:`~territory.rounds.recurrence`: stable weeks: the previous plan a week starts
  from, the visits it kept, the weeks of a month (monthly caps);
* :mod:`~territory.rounds.week`: the workspace side: teams (with sectors), stored places,
  :func:`~territory.rounds.week.plan_week`, saved versions, locks and moves, history;
* :mod:`~territory.rounds.outputs`: calendars (.ics), CSV, map layers and the week at a
  glance;
* :mod:`~territory.rounds.sheets`: the field sheets (HTML, and PDF on A4 through
  WeasyPrint) with the legs between stops;
* :mod:`~territory.rounds.feedback`: what a visit gave, recorded as anonymised contacts.

Imports: the ground floor (``territory._errors``, ``_fr``, ``crs``, ``hours``, ``grid``,
``settings``, ``store``, ``territories``, ``travel``, ``vocab``), ``territory.io`` (GTFS
feeds, import reports), ``territory.privacy`` (the one contact writer and fingerprint scheme, for
feedback) and ``territory.analysis`` (priorities and the protected contact
profile, in :mod:`~territory.rounds.value`); never ``territory.map`` nor ``territory.ui``.
Inside the folder, each module imports only those listed above it (``outputs`` reads the
stored plans of ``week``; ``sheets`` reads ``outputs``, ``week``, ``geo`` and
``transit``).
"""

__all__ = [
    "feedback",
    "geo",
    "model",
    "outputs",
    "places",
    "recurrence",
    "sectors",
    "sheets",
    "solver",
    "transit",
    "value",
    "week",
]
