"""Weekly round planner: which places, which days, which slots, in which order.

Outreach teams plan rounds through **places and time slots** (a park after school, a
station at 17 h, a market morning), not through customers at fixed addresses. This
module turns candidate places, teams and a value per place × day × slot into a weekly
plan with OR-Tools' vehicle routing solver.

Two layers, as in ``spopt`` (``from_cost_matrix`` / ``from_geodataframe``):

* :func:`plan_from_matrix` is the numeric core: places, teams, travel times in minutes
  (one matrix per mode or per team) and a value array. No geometry, no CRS.
* :func:`plan_rounds` is the geo adapter: it reads a places layer, checks its CRS,
  projects to Lambert-93 (EPSG:2154), builds travel times from straight-line distances
  (:func:`travel_time_matrix`) or, for public transport, from a timetable network
  (:func:`transit_time_matrix`), and delegates.

The model
---------
* **One vehicle per team for the whole week**; the clock counts minutes from Monday 0:00.
  Each availability window is a round from the base and back: between two windows the
  route passes through two *separator* nodes at the base, fixed at the close of one window
  and the opening of the next, and a closing separator may only lead to the next opening
  one. No visit can fall outside a window, and a lunch break at the base splits a day in
  two rounds.
* One **node per place, day and slot** where the place can be visited: the visit must
  *start* inside the slot and fit, whole, in a presence window of the place (consecutive
  slots of equal value share one node). All the nodes of one place and day form a
  disjunction of cardinality 1: **a place is visited at most once a day** (and, with
  ``max_visits_per_place``, a weekly disjunction caps its visits).
* **Value**: skipping any node costs the top value *C*; the arcs leaving a node cost
  *C* − its value (plus its visit and travel minutes, a tie-breaker a million times
  smaller), so a visit gains exactly its value and insertion tries the best visits first.
* **Coverage** ("visit this zone this week"): the best slot of each place and day of the
  zone gets a copy in the same per-day disjunction; the copies of a zone form a
  disjunction whose penalty outweighs every value of the plan.
* **Weekly limits** are vehicle capacities, checked exactly by the solver's filters:
  field work (visits and travel, waiting excluded) in a dimension without slack, and the
  number of rounds in a dimension that counts the arcs leaving the base to a visit.
* **Locked visits** are mandatory nodes fixed to their team and start time; the rest of
  the plan is re-optimised around them.
* **Search**: above ``max_candidates`` nodes, the best nodes by value per minute are
  kept (and the best few of every zone to cover). A greedy plan (coverage first, then
  value per minute, each visit at its cheapest feasible position) starts a guided local
  search that runs until ``time_limit``.
* **Times** of the final rounds are recomputed from the visiting order: earliest
  return, then latest departure (the least waiting).

Anything the plan cannot satisfy (a place no team can reach in its windows, a zone whose
coverage does not fit in the hours, a locked visit that contradicts another) ends up in
``Plan.notes`` in French; the planner never raises for an infeasible week. Malformed
inputs (a negative duration, a matrix of the wrong shape) raise
:class:`~territory.ValidationError` listing every problem.

Times are minutes since midnight (``1050`` is 17:30); days are weekdays, ``0`` = Monday.

Travel times
------------
Walking, cycling and driving times are straight-line distances × :data:`DETOUR_FACTOR`
at a speed per mode (:data:`SPEED_KMH`) plus a fixed access time (:data:`ACCESS_MINUTES`).
Public-transport times come from the GTFS timetables when the workspace has them
(:func:`transit_time_matrix` on a :class:`~territory.io.gtfs.TransitNetwork`, built at
the GTFS import for the reference Tuesday, 9 h–19 h): walk to a stop, wait half the
headway, ride, change, walk, never slower than walking. Without timetables, public
transport is a speed plus a fixed access and waiting time, bounded by walking.

Examples
--------
>>> places = [
...     Place("p1", "Parc des Sports", "parc", zone="QN03001M", duration=60),
...     Place("p2", "Gare", "gare", duration=30),
... ]
>>> team = Team("Équipe Nord", "marche", availability={0: ((14 * 60, 18 * 60),)})
>>> travel = {"marche": [[0, 12, 30], [12, 0, 15], [10, 30, 0]]}  # p1, p2, base
>>> plan = plan_from_matrix(places, [team], travel, days=(0,), time_limit=0.5)
>>> [(v.place, hhmm(v.start), hhmm(v.end)) for v in plan.visits]
[('p1', '14:10', '15:10'), ('p2', '15:22', '15:52')]
>>> plan.objective
2.0
"""

from __future__ import annotations

import itertools
import math
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike

from territory._errors import CRSError, ValidationError
from territory.crs import METRIC_CRS
from territory.hours import windows_from_opening_hours
from territory.io.gtfs import TransitNetwork
from territory.vocab import KINDS, MODES, WEEKDAYS_FR

if TYPE_CHECKING:  # scipy is imported when transit times are computed (the map needs none)
    from scipy import sparse

__all__ = [
    "ACCESS_MINUTES",
    "DETOUR_FACTOR",
    "SPEED_KMH",
    "TRANSIT",
    "TRANSIT_ACCESS_M",
    "TRANSIT_MAX_WAIT",
    "TRANSIT_TRANSFER_M",
    "Place",
    "Plan",
    "Round",
    "Team",
    "Visit",
    "hhmm",
    "places_from_frame",
    "plan_from_matrix",
    "plan_rounds",
    "suggest_places",
    "transit_time_matrix",
    "travel_time_matrix",
]

DETOUR_FACTOR = 1.3
"""Network distance / straight-line distance. 1.3 is the usual urban-rural average for
France's road and path networks (between about 1.2 on grids and 1.4 in hilly areas)."""

SPEED_KMH: Mapping[str, float] = {
    "marche": 4.5,  # walking with a small group, crossings included
    "vélo": 15.0,  # city cycling, stops included
    "voiture": 40.0,  # urban and peri-urban average, lights and congestion included
    "transports en commun": 15.0,  # effective in-vehicle speed of buses and trams
}
"""Door-to-door speed of each mode on the network distance (km/h)."""

ACCESS_MINUTES: Mapping[str, float] = {
    "marche": 0.0,
    "vélo": 2.0,  # unlock and lock
    "voiture": 5.0,  # park and walk to the spot
    "transports en commun": 10.0,  # walk to the stop and average wait
}
"""Fixed time added to every non-zero trip, by mode (minutes). Public transport never
takes longer than walking the same trip: short hops are walked."""

TRANSIT = "transports en commun"
"""The mode whose times come from the GTFS timetables when a network is given."""

TRANSIT_ACCESS_M = 800.0
"""Straight-line distance walked to or from a stop (m): about 10 min on foot with the
detour, the usual catchment of a bus stop."""

TRANSIT_TRANSFER_M = 300.0
"""Straight-line distance walked between two stops to change lines (m)."""

TRANSIT_MAX_WAIT = 30.0
"""Cap on the boarding wait (half the headway), in minutes: on a line with fewer than
one bus an hour a team times its trip on the timetable rather than waits at random."""

DAY_MINUTES = 24 * 60
_UNREACHABLE = 10 * DAY_MINUTES  # transit of a forbidden arc: beyond any time window
_VALUE_SCALE = 1_000_000  # integer cost of the most valuable visit in the solver
_COVERAGE_KEEP = 10  # nodes kept per zone to cover when candidates are capped

Windows = Mapping[int, Sequence[tuple[int, int]]]
"""Time windows per weekday: ``{0: ((540, 720), (840, 1080))}`` = Monday 9-12 and 14-18."""

_Windows = dict[int, tuple[tuple[int, int], ...]]
_Interval = tuple[int, int]  # inclusive range of start times (minutes)


def _normal_windows(windows: Windows) -> _Windows:
    return {
        int(day): tuple(sorted((int(a), int(b)) for a, b in spans))
        for day, spans in sorted(windows.items())
    }


@dataclass(frozen=True)
class Place:
    """A candidate place of a round (lieu d'aller-vers).

    Attributes
    ----------
    id
        Identifier, unique among the candidate places.
    name
        Name shown to the team (``"Parc de la Mairie"``).
    kind
        One of :data:`KINDS`.
    zone
        Code of the zone the place belongs to (QPV code, INSEE commune code…), used by the
        coverage rules; empty when none.
    x, y
        Coordinates, informative for :func:`plan_from_matrix` (travel times come from the
        matrix); :func:`plan_rounds` reads them from the layer's geometry.
    windows
        Presence windows per weekday (minutes since midnight): the whole visit must fit in
        one of them. ``None`` means "any time"; a weekday missing from the mapping means
        "absent that day" (a market held on Tuesdays only).
    duration
        Length of a visit (minutes).
    priority
        Value of a visit when :func:`plan_from_matrix` gets no value array.
    """

    id: str
    name: str
    kind: str
    zone: str = ""
    x: float | None = None
    y: float | None = None
    windows: Windows | None = None
    duration: int = 45
    priority: float = 1.0

    def __post_init__(self) -> None:
        if self.windows is not None:
            object.__setattr__(self, "windows", _normal_windows(self.windows))


def _default_availability() -> _Windows:
    return {day: ((9 * 60, 18 * 60),) for day in range(5)}


@dataclass(frozen=True)
class Team:
    """An outreach team.

    Attributes
    ----------
    name
        Name, unique among the teams (``"Équipe Nord"``).
    mode
        One of :data:`MODES`.
    size
        Number of people; informative (field sheet): the value of a visit does not depend
        on it.
    base
        Coordinates of the base every round leaves from and returns to, in the CRS given to
        :func:`plan_rounds` (``base_crs``); unused by :func:`plan_from_matrix`.
    availability
        Time windows per weekday (minutes since midnight). Each window is a separate round
        from the base and back (a lunch break at the base splits a day in two rounds).
        Default: Monday to Friday, 9:00-18:00.
    max_rounds
        Most rounds in the week (``None``: no limit).
    max_hours
        Most hours of field work in the week: travel and visits, waiting excluded
        (``None``: no limit beyond the availability windows).
    """

    name: str
    mode: str
    size: int = 2
    base: tuple[float, float] | None = None
    availability: Windows = field(default_factory=_default_availability)
    max_rounds: int | None = None
    max_hours: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "availability", _normal_windows(self.availability))


@dataclass(frozen=True)
class Visit:
    """One visit of a plan; also the way to lock a visit before re-optimising.

    Attributes
    ----------
    team
        Team name.
    place
        Place id.
    day
        Weekday (0 = Monday).
    start, end
        Start and end of the visit (minutes since midnight).
    locked
        A locked visit stays where it is when the plan is re-optimised.
    value
        Value of the visit (set by the planner).
    travel
        Travel time from the previous stop or from the base (minutes, set by the planner).
    """

    team: str
    place: str
    day: int
    start: int
    end: int
    locked: bool = False
    value: float = 0.0
    travel: int = 0


@dataclass(frozen=True)
class Round:
    """One round: a team leaves its base, makes its visits in order and comes back.

    Attributes
    ----------
    team
        Team name.
    day
        Weekday (0 = Monday).
    depart, back
        Departure from and return to the base (minutes since midnight).
    places
        Place ids in visiting order.
    travel
        Total travel time of the round, return included (minutes).
    work
        Field work of the round: travel and visits, waiting excluded (minutes).
    """

    team: str
    day: int
    depart: int
    back: int
    places: tuple[str, ...]
    travel: int
    work: int


@dataclass(frozen=True)
class Plan:
    """A weekly plan.

    Attributes
    ----------
    visits
        Visits sorted by team, day and start.
    rounds
        Rounds with at least one visit, sorted the same way.
    objective
        Sum of the values of the visits (priority-weighted expected contacts).
    notes
        What could not be met, in French, one sentence each.
    stats
        Solver figures: ``status``, ``time_s``, ``candidates`` (solver nodes), ``rounds``
        (vehicles), ``visits``, ``covered_zones``, ``missed_zones``…
    """

    visits: tuple[Visit, ...]
    rounds: tuple[Round, ...]
    objective: float
    notes: tuple[str, ...]
    stats: Mapping[str, float | int | str]

    def work_hours(self, team: str) -> float:
        """Hours of field work (travel and visits) planned for ``team``."""
        return sum(r.work for r in self.rounds if r.team == team) / 60

    def to_frame(self) -> pd.DataFrame:
        """The visits as a table (one row per visit, columns named after :class:`Visit`)."""
        columns = [f for f in Visit.__dataclass_fields__]
        return pd.DataFrame([asdict(v) for v in self.visits], columns=columns)


def hhmm(minutes: int) -> str:
    """``1050`` → ``"17:30"``.

    Examples
    --------
    >>> hhmm(9 * 60 + 5)
    '09:05'
    """
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _hhmm_fr(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d}"


def _hours_fr(minutes: float) -> str:
    return f"{minutes / 60:.1f}".replace(".", ",") + " h"


# --------------------------------------------------------------------------------------
# Input checks


def _check_windows(windows: Windows, label: str, problems: list[str]) -> None:
    for day, spans in windows.items():
        if not 0 <= day <= 6:
            problems.append(f"{label} : jour {day} invalide (0 = lundi … 6 = dimanche)")
        for a, b in spans:
            if not 0 <= a < b <= DAY_MINUTES:
                problems.append(
                    f"{label} : créneau {a}-{b} invalide (minutes depuis minuit, "
                    "début < fin ≤ 1440)"
                )


def _check_places(places: Sequence[Place], problems: list[str]) -> None:
    seen: set[str] = set()
    for place in places:
        label = f"lieu « {place.name or place.id} »"
        if not place.id:
            problems.append(f"{label} : identifiant vide")
        elif place.id in seen:
            problems.append(f"{label} : identifiant {place.id!r} en double")
        seen.add(place.id)
        if place.kind not in KINDS:
            problems.append(f"{label} : type {place.kind!r} inconnu (attendu : {', '.join(KINDS)})")
        if not 1 <= place.duration <= DAY_MINUTES:
            problems.append(f"{label} : durée de visite {place.duration} min invalide")
        if not (math.isfinite(place.priority) and place.priority >= 0):
            problems.append(f"{label} : priorité {place.priority} invalide (nombre ≥ 0)")
        if place.windows is not None:
            _check_windows(place.windows, label, problems)


def _check_teams(teams: Sequence[Team], problems: list[str]) -> None:
    if not teams:
        problems.append("aucune équipe : ajoutez au moins une équipe")
    seen: set[str] = set()
    for team in teams:
        label = f"équipe « {team.name} »"
        if not team.name:
            problems.append("une équipe n'a pas de nom")
        elif team.name in seen:
            problems.append(f"{label} : nom en double")
        seen.add(team.name)
        if team.mode not in MODES:
            problems.append(f"{label} : mode {team.mode!r} inconnu (attendu : {', '.join(MODES)})")
        if team.size < 1:
            problems.append(f"{label} : effectif {team.size} invalide")
        if team.max_rounds is not None and team.max_rounds < 0:
            problems.append(f"{label} : nombre maximal de tournées négatif")
        if team.max_hours is not None and not (
            math.isfinite(team.max_hours) and team.max_hours >= 0
        ):
            problems.append(f"{label} : plafond d'heures {team.max_hours} invalide")
        _check_windows(team.availability, label, problems)
        for day, spans in team.availability.items():
            if any(b > c for (_, b), (c, _) in itertools.pairwise(sorted(spans))):
                problems.append(f"{label} : créneaux qui se chevauchent le {_day_fr(day)}")


def _travel_for(
    team: Team, travel: Mapping[str, ArrayLike], size: int, problems: list[str]
) -> tuple[str, npt.NDArray[np.float64]] | None:
    key = team.name if team.name in travel else team.mode
    if key not in travel:
        problems.append(
            f"équipe « {team.name} » : aucune matrice de temps de trajet "
            f"(clé {team.mode!r} ou {team.name!r} attendue)"
        )
        return None
    try:
        matrix = np.asarray(travel[key], dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(f"matrice de temps {key!r} : valeurs non numériques")
        return None
    if matrix.shape != (size, size):
        problems.append(
            f"matrice de temps {key!r} : forme {matrix.shape}, attendu ({size}, {size}) "
            "(les lieux puis la base de chaque équipe)"
        )
        return None
    if (matrix < 0).any():
        problems.append(f"matrice de temps {key!r} : temps négatifs")
        return None
    return key, matrix


def _value_array(
    value: ArrayLike | None,
    places: Sequence[Place],
    days: Sequence[int],
    first_slot: int,
    slot_minutes: int,
    problems: list[str],
) -> tuple[npt.NDArray[np.float64], list[tuple[int, int]]] | None:
    n = len(places)
    if value is None:
        priorities = np.array([p.priority for p in places], dtype=np.float64)
        return np.broadcast_to(priorities[:, None, None], (n, len(days), 1)), [(0, DAY_MINUTES)]
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append("valeurs des visites non numériques")
        return None
    if array.ndim == 1 and array.shape == (n,):
        return np.broadcast_to(array[:, None, None], (n, len(days), 1)), [(0, DAY_MINUTES)]
    if array.ndim != 3 or array.shape[:2] != (n, len(days)):
        problems.append(
            f"valeurs des visites : forme {array.shape}, attendu ({n},) ou "
            f"({n}, {len(days)}, nombre de créneaux)"
        )
        return None
    if not np.isfinite(array).all() or (array < 0).any():
        problems.append("valeurs des visites : nombres finis ≥ 0 attendus")
        return None
    slots = [
        (first_slot + s * slot_minutes, first_slot + (s + 1) * slot_minutes)
        for s in range(array.shape[2])
    ]
    if slot_minutes < 1 or first_slot < 0 or (slots and slots[-1][1] > DAY_MINUTES):
        problems.append(
            f"créneaux : {array.shape[2]} créneaux de {slot_minutes} min à partir de "
            f"{hhmm(max(first_slot, 0))} dépassent minuit"
        )
        return None
    return array, slots


# --------------------------------------------------------------------------------------
# Interval helpers (inclusive ranges of start times)


def _intersect(a: Sequence[_Interval], b: Sequence[_Interval]) -> list[_Interval]:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo <= hi:
                out.append((lo, hi))
    return _union(out)


def _union(spans: Iterable[_Interval]) -> list[_Interval]:
    out: list[_Interval] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _starts(windows: Sequence[tuple[int, int]], duration: int) -> list[_Interval]:
    """Start times at which a visit of ``duration`` fits in one of ``windows``."""
    return _union((a, b - duration) for a, b in windows if b - duration >= a)


def _at_or_after(domain: Sequence[_Interval], t: int) -> int | None:
    for lo, hi in domain:
        if t <= hi:
            return max(lo, t)
    return None


def _at_or_before(domain: Sequence[_Interval], t: int) -> int | None:
    for lo, hi in reversed(domain):
        if t >= lo:
            return min(hi, t)
    return None


# --------------------------------------------------------------------------------------
# The numeric core


@dataclass(frozen=True)
class _Vehicle:
    team: int
    day: int  # index in ``days``
    open: int
    close: int


@dataclass
class _Node:
    place: int
    day: int  # index in ``days``
    value: float
    domain: list[_Interval]
    vehicles: list[int]
    duration: int
    lock: Visit | None = None
    copy_of: int | None = None  # coverage copy of this node


def plan_from_matrix(
    places: Sequence[Place],
    teams: Sequence[Team],
    travel: Mapping[str, ArrayLike],
    *,
    value: ArrayLike | None = None,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    first_slot: int = 8 * 60,
    slot_minutes: int = 120,
    required_zones: Collection[str] = (),
    max_visits_per_place: int | None = None,
    max_candidates: int | None = 400,
    locked: Sequence[Visit] = (),
    time_limit: float = 5.0,
) -> Plan:
    """Plan a week of rounds on travel-time matrices (the numeric core).

    Parameters
    ----------
    places
        Candidate places.
    teams
        Teams; each available window of each planned day is one possible round.
    travel
        Travel times in minutes, keyed by team name or by mode (a team uses its own name's
        matrix when there is one, else its mode's). Rows and columns are the places in
        order, then the base of each team in the order of ``teams``: shape
        ``(len(places) + len(teams),) * 2``. ``nan`` or ``inf`` mark unreachable pairs.
    value
        Value of a visit (e.g. priority score × protected expected contacts), shape
        ``(len(places),)`` (any time) or ``(len(places), len(days), n_slots)``: slot ``s``
        holds the visits that *start* in ``[first_slot + s * slot_minutes, first_slot +
        (s + 1) * slot_minutes)``. Zero means "not worth a visit" (a place of a zone to
        cover may still be visited for coverage). Default: each place's
        ``priority``, any time.
    days
        Weekdays to plan (0 = Monday), aligned with the second axis of ``value``.
    first_slot, slot_minutes
        Start of the first slot and length of the slots (minutes).
    required_zones
        Zones to cover at least once in the planned days (each QPV every week; a rural
        commune whose monthly visit falls this week). Coverage outweighs any value; a zone
        that cannot be covered gets a note.
    max_visits_per_place
        Most visits of one place in the week (a place is never visited twice a day).
    max_candidates
        Most visit nodes (place × day × slot) given to the solver. Beyond, the nodes of
        best value per minute (visit and access from the nearest base) are kept, with the
        best few of every zone to cover; the solver's memory and model time grow with the
        square of the nodes. ``None`` keeps every node.
    locked
        Visits that must stay: same team, place, day and times. The rest of the plan is
        re-optimised around them. A locked visit that contradicts the team's windows, a
        travel time or another locked visit is dropped with a note.
    time_limit
        Wall time in seconds, model building included; the search gets what is left
        (at least 0.1 s).

    Returns
    -------
    Plan
        The visits, rounds and objective, with notes in French for whatever could not be
        met. Infeasible weeks give a partial plan and notes, never an exception.

    Raises
    ------
    ValidationError
        When the inputs are malformed (unknown kind or mode, duplicate ids, a matrix or a
        value array of the wrong shape, negative times…), listing every problem.

    Notes
    -----
    Visits respect the team's window (departure from and return to the base included),
    the place's presence window (the whole visit), travel times between consecutive
    stops, the weekly limits and "at most once a day per place". The objective counts
    each visit's value once; among plans of equal value, the one with the fewest minutes
    of travel is preferred. The model is described in the module's docstring.

    Examples
    --------
    Two places, one team on Monday afternoon; the park only counts after 16:00:

    >>> places = [Place("a", "Parc", "parc", duration=60), Place("b", "Gare", "gare")]
    >>> team = Team("Équipe", "vélo", availability={0: ((14 * 60, 19 * 60),)})
    >>> travel = {"vélo": [[0, 5, 5], [5, 0, 5], [5, 5, 0]]}
    >>> value = [[[0.0, 0.0, 0.0, 0.0, 3.0, 0.0]], [[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]]
    >>> plan = plan_from_matrix(places, [team], travel, value=value, days=(0,),
    ...                         time_limit=0.5)
    >>> [(v.place, hhmm(v.start)) for v in plan.visits], plan.objective
    ([('b', '15:10'), ('a', '16:00')], 4.0)
    """
    started = time.perf_counter()
    problems: list[str] = []
    _check_places(places, problems)
    _check_teams(teams, problems)
    days = [int(d) for d in days]
    if not days or len(set(days)) != len(days) or not all(0 <= d <= 6 for d in days):
        problems.append(f"jours {days} invalides : des jours distincts de 0 (lundi) à 6")
    if time_limit <= 0:
        problems.append("durée de recherche : un nombre de secondes > 0")
    if max_visits_per_place is not None and max_visits_per_place < 0:
        problems.append("nombre maximal de visites par lieu négatif")
    if max_candidates is not None and max_candidates < 1:
        problems.append("nombre maximal de nœuds candidats : au moins 1")
    size = len(places) + len(teams)
    matrices: dict[str, npt.NDArray[np.float64]] = {}
    team_key: list[str] = []
    for team in teams:
        found = _travel_for(team, travel, size, problems)
        if found is not None:
            matrices[found[0]] = found[1]
            team_key.append(found[0])
    values = _value_array(value, places, days, first_slot, slot_minutes, problems)
    if problems:
        raise ValidationError(problems)
    assert values is not None
    builder = _Builder(
        places,
        teams,
        matrices,
        team_key,
        values[0],
        values[1],
        days,
        required_zones=set(required_zones),
        max_visits_per_place=max_visits_per_place,
        max_candidates=max_candidates,
    )
    builder.add_locks(locked)
    builder.add_candidates()
    return builder.solve(time_limit=time_limit, started=started)


class _Builder:
    """Candidate nodes, locks and notes, then the OR-Tools model and its solution."""

    def __init__(
        self,
        places: Sequence[Place],
        teams: Sequence[Team],
        matrices: Mapping[str, npt.NDArray[np.float64]],
        team_key: Sequence[str],
        values: npt.NDArray[np.float64],
        slots: Sequence[tuple[int, int]],
        days: Sequence[int],
        *,
        required_zones: set[str],
        max_visits_per_place: int | None,
        max_candidates: int | None,
    ) -> None:
        self.places = places
        self.teams = teams
        self.days = list(days)
        self.values = values
        self.slots = slots
        self.required = required_zones
        self.max_visits = max_visits_per_place
        self.max_candidates = max_candidates
        self.notes: list[str] = []
        self.index = {p.id: i for i, p in enumerate(places)}
        n = len(places)
        # Travel minutes per team, rounded up; unreachable pairs become _UNREACHABLE.
        self.keys = sorted(set(team_key))
        self.key_of_team = [self.keys.index(k) for k in team_key]
        self.minutes = []
        for key in self.keys:
            m = matrices[key]
            rounded = np.where(np.isfinite(m), np.ceil(m - 1e-9), _UNREACHABLE)
            self.minutes.append(np.minimum(rounded, _UNREACHABLE).astype(np.int64))
        self.base = [n + k for k in range(len(teams))]
        self.vehicles: list[_Vehicle] = []
        for k, team in enumerate(teams):
            available = False
            for d, weekday in enumerate(self.days):
                for a, b in team.availability.get(weekday, ()):
                    self.vehicles.append(_Vehicle(k, d, a, b))
                    available = True
            if not available:
                self.notes.append(
                    f"Équipe « {team.name} » : aucune disponibilité les jours planifiés."
                )
        self.nodes: list[_Node] = []
        self.locked_days: set[tuple[int, int]] = set()  # (place, day) pairs with a lock
        self.lock_count: dict[int, int] = defaultdict(int)
        self.covered_by_locks: set[str] = set()

    # -- helpers ------------------------------------------------------------------------

    def travel(self, team: int, i: int, j: int) -> int:
        return int(self.minutes[self.key_of_team[team]][i, j])

    def place_label(self, i: int) -> str:
        place = self.places[i]
        return f"« {place.name} » ({place.kind})"

    def vehicle_range(self, v: int, place: int, duration: int) -> _Interval | None:
        """Start times at ``place`` that fit in vehicle ``v``'s window, trips included."""
        veh = self.vehicles[v]
        base = self.base[veh.team]
        t_in, t_out = self.travel(veh.team, base, place), self.travel(veh.team, place, base)
        if t_in >= _UNREACHABLE or t_out >= _UNREACHABLE:
            return None
        lo, hi = veh.open + t_in, veh.close - duration - t_out
        return (lo, hi) if lo <= hi else None

    def place_windows(self, i: int, d: int) -> list[tuple[int, int]]:
        windows = self.places[i].windows
        if windows is None:
            return [(0, DAY_MINUTES)]
        return list(windows.get(self.days[d], ()))

    def slot_value(self, i: int, d: int, start: int) -> float:
        for s, (a, b) in enumerate(self.slots):
            if a <= start < b:
                return float(self.values[i, d, s])
        return 0.0

    # -- locks ---------------------------------------------------------------------------

    def add_locks(self, locked: Sequence[Visit]) -> None:
        team_index = {t.name: k for k, t in enumerate(self.teams)}
        by_vehicle: dict[int, list[tuple[Visit, int]]] = defaultdict(list)
        ordered = sorted(locked, key=lambda v: (v.team, v.day, v.start))
        for position, lock in enumerate(ordered):
            later = [
                (u, self.index[u.place])
                for u in ordered[position + 1 :]
                if u.team == lock.team
                and u.day == lock.day
                and u.place in self.index
                and 0 <= u.start < u.end <= DAY_MINUTES
            ]
            place = self.index.get(lock.place)
            label = f"« {self.places[place].name} »" if place is not None else repr(lock.place)
            what = f"La visite verrouillée {label} ({lock.team}, {_day_fr(lock.day)} "
            what += f"{_hhmm_fr(lock.start)})"
            k = team_index.get(lock.team)
            if place is None or k is None:
                missing = "lieu" if place is None else "équipe"
                self.notes.append(f"{what} est abandonnée : {missing} inconnu(e).")
                continue
            if lock.day not in self.days:
                self.notes.append(f"{what} est abandonnée : ce jour n'est pas planifié.")
                continue
            if not 0 <= lock.start < lock.end <= DAY_MINUTES:
                self.notes.append(f"{what} est abandonnée : horaires invalides.")
                continue
            d = self.days.index(lock.day)
            duration = lock.end - lock.start
            if (place, d) in self.locked_days:
                self.notes.append(
                    f"{what} est abandonnée : le lieu a déjà une visite verrouillée ce jour-là."
                )
                continue
            # The window must hold the visit; the trips are checked by ``_fits`` on the
            # whole sequence of locks (a lock may follow another, not the base).
            candidates = [
                v
                for v, veh in enumerate(self.vehicles)
                if veh.team == k
                and veh.day == d
                and veh.open <= lock.start
                and lock.start + duration <= veh.close
                and self._reachable(v, place)
            ]
            chosen = next(
                (v for v in candidates if self._fits(v, by_vehicle[v], lock, later)), None
            )
            if chosen is None:
                reason = (
                    "elle ne tient pas avec les autres visites verrouillées (trajets compris)"
                    if candidates
                    else "elle sort des disponibilités de l'équipe (trajets depuis et vers "
                    "la base compris)"
                )
                self.notes.append(f"{what} est abandonnée : {reason}.")
                continue
            windows = self.place_windows(place, d)
            if not any(a <= lock.start and lock.end <= b for a, b in windows):
                self.notes.append(
                    f"{what} est conservée hors des horaires de présence du lieu "
                    f"{self.place_label(place)}."
                )
            by_vehicle[chosen].append((lock, place))
            by_vehicle[chosen].sort(key=lambda item: item[0].start)
            self.locked_days.add((place, d))
            self.lock_count[place] += 1
            self.covered_by_locks.add(self.places[place].zone)
            self.nodes.append(
                _Node(
                    place,
                    d,
                    self.slot_value(place, d, lock.start),
                    [(lock.start, lock.start)],
                    [chosen],
                    duration,
                    lock=lock,
                )
            )

    def _reachable(self, v: int, place: int) -> bool:
        """Whether vehicle ``v``'s team can travel from its base to ``place`` and back."""
        team, base = self.vehicles[v].team, self.base[self.vehicles[v].team]
        return max(self.travel(team, base, place), self.travel(team, place, base)) < _UNREACHABLE

    def _fits(
        self,
        v: int,
        kept: list[tuple[Visit, int]],
        lock: Visit,
        later: Sequence[tuple[Visit, int]] = (),
    ) -> bool:
        """Whether ``lock`` fits in vehicle ``v`` after the locks ``kept`` there.

        The locks still to come on the same day (``later``) are tried with it first: a
        lock may be followed by another one instead of the trip back to the base.
        """
        veh = self.vehicles[v]
        place = self.index[lock.place]
        following = [(u, p) for u, p in later if veh.open <= u.start and u.end <= veh.close]
        return self._sequence_fits(veh, [*kept, (lock, place), *following]) or (
            bool(following) and self._sequence_fits(veh, [*kept, (lock, place)])
        )

    def _sequence_fits(self, veh: _Vehicle, visits: list[tuple[Visit, int]]) -> bool:
        """Whether the visits, in time order, fit in the window with every trip."""
        here, free = self.base[veh.team], veh.open
        for visit, p in sorted(visits, key=lambda item: item[0].start):
            if free + self.travel(veh.team, here, p) > visit.start:
                return False
            here, free = p, visit.end
        return free + self.travel(veh.team, here, self.base[veh.team]) <= veh.close

    # -- candidates ----------------------------------------------------------------------

    def add_candidates(self) -> None:
        for i, place in enumerate(self.places):
            if self.max_visits is not None and self.lock_count[i] >= self.max_visits:
                continue
            present = reachable = False
            # A place of a zone to cover may be visited for coverage alone (value 0).
            to_cover = place.zone in self.required and place.zone not in self.covered_by_locks
            any_value = to_cover
            for d in range(len(self.days)):
                if (i, d) in self.locked_days:
                    continue
                starts = _starts(self.place_windows(i, d), place.duration)
                present = present or bool(starts)
                ranges: dict[int, _Interval] = {}
                for v, veh in enumerate(self.vehicles):
                    if veh.day != d:
                        continue
                    r = self.vehicle_range(v, i, place.duration)
                    if r is not None:
                        ranges[v] = r
                reachable = reachable or bool(ranges)
                runs: list[_Node] = []
                last_slot = -2
                for s, (a, b) in enumerate(self.slots):
                    v_s = float(self.values[i, d, s])
                    if v_s <= 0 and not to_cover:
                        continue
                    any_value = True
                    domain = _intersect(starts, [(a, b - 1)])
                    allowed = [v for v, r in ranges.items() if _intersect(domain, [r])]
                    if not allowed:
                        continue
                    domain = _intersect(domain, _union(ranges[v] for v in allowed))
                    if runs and last_slot == s - 1 and runs[-1].value == v_s:
                        # Same value as the previous slot: one node for both.
                        runs[-1].domain = _union([*runs[-1].domain, *domain])
                        runs[-1].vehicles = sorted({*runs[-1].vehicles, *allowed})
                    else:
                        runs.append(_Node(i, d, v_s, domain, allowed, place.duration))
                    last_slot = s
                self.nodes.extend(runs)
            has_nodes = any(node.place == i and node.lock is None for node in self.nodes)
            if not has_nodes and any_value:
                if not present:
                    why = "il n'est présent aucun des jours planifiés (horaires trop courts)"
                elif not reachable:
                    why = "aucune équipe ne peut l'atteindre et revenir à sa base dans ses créneaux"
                else:
                    why = "ses horaires de présence ne croisent les créneaux utiles d'aucune équipe"
                self.notes.append(f"Lieu {self.place_label(i)} : jamais visitable, {why}.")
        self._select()
        # Coverage copies (best slot of each place and day) for the required zones not
        # already covered by a locked visit.
        self.zone_copies: dict[str, list[int]] = defaultdict(list)
        best_of: dict[tuple[int, int], int] = {}
        for n, node in enumerate(self.nodes):
            zone = self.places[node.place].zone
            if node.lock is None and zone in self.required and zone not in self.covered_by_locks:
                key = (node.place, node.day)
                if key not in best_of or node.value > self.nodes[best_of[key]].value:
                    best_of[key] = n
        for n in best_of.values():
            node = self.nodes[n]
            self.zone_copies[self.places[node.place].zone].append(len(self.nodes))
            self.nodes.append(
                _Node(
                    node.place,
                    node.day,
                    node.value,
                    node.domain,
                    node.vehicles,
                    node.duration,
                    copy_of=n,
                )
            )

    def _score(self, n: int) -> float:
        """Value per minute of a visit node: the visit and the trip from the nearest base."""
        node = self.nodes[n]
        access = min(
            self.travel(self.vehicles[v].team, self.base[self.vehicles[v].team], node.place)
            for v in node.vehicles
        )
        return node.value / (node.duration + access)

    def _select(self) -> None:
        """Keep the ``max_candidates`` visit nodes of best value per minute."""
        free = [n for n, node in enumerate(self.nodes) if node.lock is None]
        if self.max_candidates is None or len(free) <= self.max_candidates:
            return

        ranked = sorted(free, key=self._score, reverse=True)
        kept = set(ranked[: self.max_candidates])
        per_zone: dict[str, int] = defaultdict(int)
        for n in ranked:  # the best nodes of every zone to cover, whatever their rank
            zone = self.places[self.nodes[n].place].zone
            if zone in self.required and per_zone[zone] < _COVERAGE_KEEP:
                kept.add(n)
                per_zone[zone] += 1
        self.nodes = [
            node for n, node in enumerate(self.nodes) if node.lock is not None or n in kept
        ]

    # -- model ---------------------------------------------------------------------------

    def solve(self, *, time_limit: float, started: float) -> Plan:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2

        stats: dict[str, float | int | str] = {
            "candidates": sum(1 for n in self.nodes if n.copy_of is None and n.lock is None),
            "coverage_copies": sum(1 for n in self.nodes if n.copy_of is not None),
            "rounds_possible": len(self.vehicles),
        }
        if not self.vehicles or not self.nodes:
            return self._plan([], stats | {"status": "vide"}, started)
        n_teams = len(self.teams)
        # Solver nodes: team bases, then separators (back at the base at the close of a
        # window, leaving it at the opening of the next), then visits.
        chains: list[list[int]] = [[] for _ in self.teams]  # windows of each team, in order
        for v in sorted(
            range(len(self.vehicles)),
            key=lambda v: (self.days[self.vehicles[v].day], self.vehicles[v].open),
        ):
            chains[self.vehicles[v].team].append(v)
        separators: list[tuple[int, int, bool]] = []  # (team, window, is_close)
        for k, chain in enumerate(chains):
            for previous, following in itertools.pairwise(chain):
                separators.append((k, previous, True))
                separators.append((k, following, False))
        first = n_teams + len(separators)
        size = first + len(self.nodes)
        location = np.array(
            self.base
            + [self.base[k] for k, _, _ in separators]
            + [node.place for node in self.nodes],
            dtype=np.int64,
        )
        service = np.zeros(size, dtype=np.int64)
        service[first:] = [node.duration for node in self.nodes]
        manager = pywrapcp.RoutingIndexManager(
            size, n_teams, list(range(n_teams)), list(range(n_teams))
        )
        routing = pywrapcp.RoutingModel(manager)
        # Transit of arc i -> j: duration of the visit at i, then travel i -> j. A closing
        # separator leads only to the next opening one: no visit outside the windows.
        evaluators: list[int] = []
        costs: list[int] = []
        transits: list[npt.NDArray[np.int64]] = []
        for minutes in self.minutes:
            transit = minutes[np.ix_(location, location)] + service[:, None]
            for s, (_, _, is_close) in enumerate(separators):
                if is_close:
                    transit[n_teams + s, :] = _UNREACHABLE
                    transit[n_teams + s, n_teams + s + 1] = 0
            np.minimum(transit, _UNREACHABLE, out=transit)
            evaluators.append(routing.RegisterTransitMatrix(transit.tolist()))
            transits.append(transit)
        per_team = [evaluators[self.key_of_team[k]] for k in range(n_teams)]
        week = 7 * DAY_MINUTES
        routing.AddDimensionWithVehicleTransits(per_team, week, week, False, "temps")
        clock = routing.GetDimensionOrDie("temps")
        for k, chain in enumerate(chains):
            start, end = clock.CumulVar(routing.Start(k)), clock.CumulVar(routing.End(k))
            if chain:
                start.SetValue(self._week_time(chain[0], close=False))
                end.SetValue(self._week_time(chain[-1], close=True))
            else:
                start.SetValue(0)
                end.SetValue(0)
        for s, (k, v, is_close) in enumerate(separators):
            index = manager.NodeToIndex(n_teams + s)
            clock.CumulVar(index).SetValue(self._week_time(v, close=is_close))
            routing.SetAllowedVehiclesForIndex([k], index)
        # Value: skipping any visit node costs the top value C; the arcs leaving a node
        # cost C - value (+ minutes of visit and travel as a tie-breaker), so a visit gains
        # its value and the insertion heuristics try the most valuable visits first.
        # Coverage copies leave at cost 0 and are skipped at cost value (same gain).
        top = max((node.value for node in self.nodes), default=0.0) or 1.0
        scale = _VALUE_SCALE / top
        offsets = np.zeros(size, dtype=np.int64)
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        weekly: dict[int, list[int]] = defaultdict(list)
        for n, node in enumerate(self.nodes):
            index = manager.NodeToIndex(first + n)
            offset = self.days[node.day] * DAY_MINUTES
            cumul = clock.CumulVar(index)
            cumul.SetRange(offset + node.domain[0][0], offset + node.domain[-1][1])
            for (_, hi), (lo, _) in itertools.pairwise(node.domain):
                cumul.RemoveInterval(offset + hi + 1, offset + lo - 1)
            teams = sorted({self.vehicles[v].team for v in node.vehicles})
            routing.SetAllowedVehiclesForIndex(teams, index)
            if node.lock is not None:
                continue
            gain = round(node.value * scale)
            if node.copy_of is None:
                offsets[first + n] = _VALUE_SCALE - gain
                routing.AddDisjunction([index], _VALUE_SCALE)
            else:
                routing.AddDisjunction([index], max(gain, 1))
            groups[node.place, node.day].append(index)
            weekly[node.place].append(index)
        for transit in transits:
            cost = transit + offsets[:, None]
            costs.append(routing.RegisterTransitMatrix(cost.tolist()))
        del transits
        for k in range(n_teams):
            routing.SetArcCostEvaluatorOfVehicle(costs[self.key_of_team[k]], k)
        for indices in groups.values():
            if len(indices) > 1:
                routing.AddDisjunction(indices, 0, 1)
        if self.max_visits is not None:
            for place, indices in weekly.items():
                left = self.max_visits - self.lock_count[place]
                days_open = {self.nodes[manager.IndexToNode(i) - first].day for i in indices}
                if left < len(days_open):
                    routing.AddDisjunction(indices, 0, left)
        coverage_penalty = _VALUE_SCALE * (len(groups) + 1)
        for copies in self.zone_copies.values():
            routing.AddDisjunction(
                [manager.NodeToIndex(first + n) for n in copies], coverage_penalty, 1
            )
        hours, rounds = self._weekly_limits(routing, per_team, chains, separators, first, size)
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = (
            routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
        )
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        params.time_limit.FromMilliseconds(max(100, round(time_limit * 1000)))
        routing.CloseModelWithParameters(params)  # before reading routes, which would close it
        # Start from a greedy plan (coverage first, then value per minute): the solver's
        # own insertion heuristics ignore the weekly caps and the zones to cover.
        greedy = self._greedy(hours, rounds)
        stats["greedy_objective"] = round(
            sum(self.nodes[n].value for r in greedy.values() for n in r), 3
        )
        initial_routes: list[list[int]] = [[] for _ in self.teams]
        for k, chain in enumerate(chains):
            for position, v in enumerate(chain):
                if position:
                    s = separators.index((k, chain[position - 1], True))
                    initial_routes[k] += [n_teams + s, n_teams + s + 1]
                initial_routes[k] += [first + n for n in greedy.get(v, [])]
        initial = routing.ReadAssignmentFromRoutes(initial_routes, True)
        build = time.perf_counter() - started
        stats["build_s"] = round(build, 3)
        params.time_limit.FromMilliseconds(max(100, round((time_limit - build) * 1000)))
        if initial is not None:
            solution = routing.SolveFromAssignmentWithParameters(initial, params)
        else:  # not expected: the greedy plan follows the same rules
            solution = routing.SolveWithParameters(params)
        stats["status"] = _STATUS.get(routing.status(), str(routing.status()))
        if solution is None:  # not expected: keep the greedy plan
            self.notes.append(
                "L'optimisation n'a pas abouti dans le temps imparti : le plan proposé est "
                "une première approche, relancez avec plus de temps."
            )
            fallback = [self._schedule(v, sequence) for v, sequence in greedy.items() if sequence]
            return self._plan([r for r in fallback if r is not None], stats, started)
        routes = []
        for k, chain in enumerate(chains):
            if not chain:
                continue
            by_window: dict[int, list[int]] = defaultdict(list)
            window = chain[0]
            index = solution.Value(routing.NextVar(routing.Start(k)))
            while not routing.IsEnd(index):
                node = manager.IndexToNode(index)
                if node < first:
                    window = separators[node - n_teams][1]
                else:
                    by_window[window].append(node - first)
                index = solution.Value(routing.NextVar(index))
            for v, sequence in by_window.items():
                route = self._schedule(v, sequence)
                if route is None:  # not expected: the solver's sequence was feasible
                    self.notes.append(
                        f"Tournée de « {self.teams[k].name} » le "
                        f"{_day_fr(self.days[self.vehicles[v].day])} écartée : horaires "
                        "incohérents (erreur interne, signalez-la)."
                    )
                    continue
                routes.append(route)
        stats["cost"] = int(solution.ObjectiveValue())
        return self._plan(routes, stats, started)

    def _greedy(self, hours: list[int], rounds: list[int]) -> dict[int, list[int]]:
        """Visit nodes per window: locks, then one visit per zone to cover, then the
        nodes of best value per minute, each at its cheapest feasible position."""
        routes: dict[int, list[int]] = defaultdict(list)
        used: set[tuple[int, int]] = set()
        count: dict[int, int] = defaultdict(int)
        work = [0] * len(self.teams)
        for n, node in enumerate(self.nodes):
            if node.lock is not None:
                routes[node.vehicles[0]].append(n)
                used.add((node.place, node.day))
        for v, route in routes.items():
            route.sort(key=lambda n: self.nodes[n].domain[0][0])
            work[self.vehicles[v].team] += self._route_work(v, route)
        active = [sum(1 for v in routes if self.vehicles[v].team == k) for k in range(len(work))]

        def insert(n: int) -> bool:
            node = self.nodes[n]
            if (node.place, node.day) in used:
                return False
            if self.max_visits is not None and (
                count[node.place] + self.lock_count[node.place] >= self.max_visits
            ):
                return False
            best: tuple[int, int, int] | None = None  # (added work, window, position)
            for v in node.vehicles:
                k = self.vehicles[v].team
                route = routes.get(v, [])
                if not route and active[k] >= rounds[k]:
                    continue
                before = self._route_work(v, route) if route else 0
                for position in range(len(route) + 1):
                    trial = [*route[:position], n, *route[position:]]
                    after = self._route_work(v, trial)
                    if after < 0 or work[k] + after - before > hours[k]:
                        continue
                    if best is None or after - before < best[0]:
                        best = (after - before, v, position)
            if best is None:
                return False
            added, v, position = best
            k = self.vehicles[v].team
            if not routes.get(v):
                active[k] += 1
            routes[v].insert(position, n)
            work[k] += added
            used.add((node.place, node.day))
            count[node.place] += 1
            return True

        for copies in self.zone_copies.values():
            for n in sorted(copies, key=self._score, reverse=True):
                if insert(n):
                    break
        originals = [
            n
            for n, node in enumerate(self.nodes)
            if node.lock is None and node.copy_of is None and node.value > 0
        ]
        for n in sorted(originals, key=self._score, reverse=True):
            insert(n)
        return routes

    def _route_work(self, v: int, route: list[int]) -> int:
        """Field work of a window's route in this order, or -1 if its times do not fit."""
        veh = self.vehicles[v]
        here, free, work = self.base[veh.team], veh.open, 0
        for n in route:
            node = self.nodes[n]
            leg = self.travel(veh.team, here, node.place)
            start = _at_or_after(node.domain, free + leg)
            if start is None:
                return -1
            free = start + node.duration
            work += leg + node.duration
            here = node.place
        back = self.travel(veh.team, here, self.base[veh.team])
        return work + back if free + back <= veh.close else -1

    def _week_time(self, v: int, *, close: bool) -> int:
        window = self.vehicles[v]
        return self.days[window.day] * DAY_MINUTES + (window.close if close else window.open)

    def _schedule(
        self, v: int, sequence: list[int]
    ) -> tuple[int, int, int, list[tuple[int, int]]] | None:
        """Compact times of a round: earliest end, then latest departure (least waiting)."""
        veh = self.vehicles[v]
        base = self.base[veh.team]
        places = [self.nodes[n].place for n in sequence]
        legs = [
            self.travel(veh.team, a, b) for a, b in zip([base, *places[:-1]], places, strict=True)
        ]
        earliest, free = [], veh.open
        for n, leg in zip(sequence, legs, strict=True):
            start = _at_or_after(self.nodes[n].domain, free + leg)
            if start is None:
                return None
            earliest.append(start)
            free = start + self.nodes[n].duration
        back = free + self.travel(veh.team, places[-1], base)
        if back > veh.close:
            return None
        starts = earliest[:]
        for k in range(len(sequence) - 2, -1, -1):
            latest = starts[k + 1] - self.nodes[sequence[k]].duration - legs[k + 1]
            later = _at_or_before(self.nodes[sequence[k]].domain, latest)
            starts[k] = earliest[k] if later is None else max(later, earliest[k])
        depart = starts[0] - legs[0]
        return v, depart, back, list(zip(sequence, starts, strict=True))

    def _weekly_limits(
        self,
        routing: Any,
        evaluators: list[int],
        chains: list[list[int]],
        separators: list[tuple[int, int, bool]],
        first: int,
        size: int,
    ) -> tuple[list[int], list[int]]:
        """Per-team caps on field-work minutes and rounds, as vehicle capacities."""
        lock_routes = self._lock_routes()
        hours, rounds = [], []
        for k, team in enumerate(self.teams):
            mine = [r for r in lock_routes if self.vehicles[r[0]].team == k]
            limit = 7 * DAY_MINUTES
            if team.max_hours is not None:
                limit = math.floor(team.max_hours * 60 + 1e-9)
                locked_work = sum(self._work(r) for r in mine)
                if locked_work > limit:
                    self.notes.append(
                        f"Équipe « {team.name} » : les visites verrouillées demandent "
                        f"{_hours_fr(locked_work)} de terrain, au-delà du plafond de "
                        f"{_hours_fr(limit)}."
                    )
                    limit = locked_work
            hours.append(limit)
            count = len(chains[k])
            if team.max_rounds is not None and team.max_rounds < len(chains[k]):
                count = team.max_rounds
                if len(mine) > count:
                    self.notes.append(
                        f"Équipe « {team.name} » : les visites verrouillées occupent "
                        f"{len(mine)} tournées, au-delà du maximum de {count}."
                    )
                    count = len(mine)
            rounds.append(count)
        if any(h < 7 * DAY_MINUTES for h in hours):
            # Field work: visits and travel, waiting excluded (no slack).
            routing.AddDimensionWithVehicleTransitAndCapacity(evaluators, 0, hours, True, "travail")
        if any(r < len(chain) for r, chain in zip(rounds, chains, strict=True)):
            # A round starts on every arc from an opening (the vehicle start or an opening
            # separator) to a visit.
            n_teams = len(self.teams)
            counting = np.zeros((size, size), dtype=np.int64)
            openings = list(range(n_teams)) + [
                n_teams + s for s, (_, _, is_close) in enumerate(separators) if not is_close
            ]
            counting[np.ix_(openings, range(first, size))] = 1
            index = routing.RegisterTransitMatrix(counting.tolist())
            del counting
            routing.AddDimensionWithVehicleCapacity(index, 0, rounds, True, "tournées")
        return hours, rounds

    def _lock_routes(self) -> list[tuple[int, int, int, list[tuple[int, int]]]]:
        """Routes made of the locked visits alone (vehicle, depart, back, stops)."""
        by_vehicle: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for n, node in enumerate(self.nodes):
            if node.lock is not None:
                by_vehicle[node.vehicles[0]].append((n, node.domain[0][0]))
        routes = []
        for v, stops in sorted(by_vehicle.items()):
            stops.sort(key=lambda s: s[1])
            veh = self.vehicles[v]
            base = self.base[veh.team]
            first, last = self.nodes[stops[0][0]], self.nodes[stops[-1][0]]
            depart = stops[0][1] - self.travel(veh.team, base, first.place)
            back = stops[-1][1] + last.duration + self.travel(veh.team, last.place, base)
            routes.append((v, depart, back, stops))
        return routes

    def _work(self, route: tuple[int, int, int, list[tuple[int, int]]]) -> int:
        v, _, _, stops = route
        team = self.vehicles[v].team
        here, total = self.base[team], 0
        for n, _start in stops:
            node = self.nodes[n]
            total += self.travel(team, here, node.place) + node.duration
            here = node.place
        return total + self.travel(team, here, self.base[team])

    # -- result --------------------------------------------------------------------------

    def _plan(
        self,
        routes: list[tuple[int, int, int, list[tuple[int, int]]]],
        stats: dict[str, float | int | str],
        started: float,
    ) -> Plan:
        visits: list[Visit] = []
        rounds: list[Round] = []
        covered: set[str] = set()
        for v, depart, back, stops in routes:
            veh = self.vehicles[v]
            team = self.teams[veh.team]
            weekday = self.days[veh.day]
            here, travel_total = self.base[veh.team], 0
            for n, start in stops:
                node = self.nodes[n]
                leg = self.travel(veh.team, here, node.place)
                travel_total += leg
                visits.append(
                    Visit(
                        team.name,
                        self.places[node.place].id,
                        weekday,
                        start,
                        start + node.duration,
                        locked=node.lock is not None,
                        value=node.value,
                        travel=leg,
                    )
                )
                covered.add(self.places[node.place].zone)
                here = node.place
            travel_total += self.travel(veh.team, here, self.base[veh.team])
            rounds.append(
                Round(
                    team.name,
                    weekday,
                    depart,
                    back,
                    tuple(self.places[self.nodes[n].place].id for n, _ in stops),
                    travel_total,
                    self._work((v, depart, back, stops)),
                )
            )
        order = {t.name: k for k, t in enumerate(self.teams)}
        visits.sort(key=lambda x: (order[x.team], self.days.index(x.day), x.start))
        rounds.sort(key=lambda x: (order[x.team], self.days.index(x.day), x.depart))
        missed = sorted(z for z in self.required if z not in covered)
        for zone in missed:
            self.notes.append(self._coverage_note(zone))
        stats |= {
            "visits": len(visits),
            "rounds": len(rounds),
            "covered_zones": len(self.required) - len(missed),
            "missed_zones": len(missed),
            "time_s": round(time.perf_counter() - started, 3),
        }
        stats.setdefault("status", "vide")
        objective = float(sum(v.value for v in visits))
        return Plan(tuple(visits), tuple(rounds), objective, tuple(self.notes), stats)

    def _coverage_note(self, zone: str) -> str:
        head = f"Zone {zone} (à couvrir cette semaine) : non couverte, "
        if not any(p.zone == zone for p in self.places):
            return head + "aucun lieu candidat dans cette zone."
        if not self.zone_copies.get(zone):
            return head + "aucun de ses lieux n'est visitable par les équipes disponibles."
        return head + (
            "le temps des équipes ne suffit pas (créneaux, plafonds d'heures ou de tournées, "
            "autres zones obligatoires)."
        )


_STATUS = {
    0: "non résolu",
    1: "succès",
    2: "succès partiel",
    3: "échec",
    4: "échec (temps écoulé)",
    5: "invalide",
    6: "infaisable",
    7: "optimal",
}


def _day_fr(weekday: int) -> str:
    return WEEKDAYS_FR[weekday] if 0 <= weekday <= 6 else f"jour {weekday}"


# --------------------------------------------------------------------------------------
# Geo adapter


def travel_time_matrix(
    xy: ArrayLike,
    mode: str,
    *,
    detour: float = DETOUR_FACTOR,
    speeds: Mapping[str, float] = SPEED_KMH,
    access: Mapping[str, float] = ACCESS_MINUTES,
) -> npt.NDArray[np.float64]:
    """Travel minutes between points from straight-line distances in metres.

    ``minutes = access[mode] + distance × detour / speed``; 0 between identical points;
    public transport is never slower than walking.

    Parameters
    ----------
    xy
        Projected coordinates in metres, shape ``(n, 2)`` (Lambert-93 in mainland France).
    mode
        One of :data:`MODES`.
    detour
        Network distance / straight-line distance.
    speeds, access
        Speed (km/h) and fixed access time (minutes) by mode.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` minutes.

    Examples
    --------
    >>> travel_time_matrix([[0, 0], [3000, 4000]], "marche").round(1).tolist()
    [[0.0, 86.7], [86.7, 0.0]]
    >>> travel_time_matrix([[0, 0], [3000, 4000]], "transports en commun").round(1).tolist()
    [[0.0, 36.0], [36.0, 0.0]]
    """
    if mode not in MODES:
        raise ValidationError(f"mode {mode!r} inconnu (attendu : {', '.join(MODES)})")
    points = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    distance = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    network_km = distance * detour / 1000

    def minutes(name: str) -> npt.NDArray[np.float64]:
        return np.where(distance > 0, access[name] + network_km / speeds[name] * 60, 0.0)

    result = minutes(mode)
    if mode == "transports en commun":
        result = np.minimum(result, minutes("marche"))
    return result


def transit_time_matrix(
    xy: ArrayLike,
    network: TransitNetwork,
    *,
    detour: float = DETOUR_FACTOR,
    walk_kmh: float = SPEED_KMH["marche"],
    access_m: float = TRANSIT_ACCESS_M,
    transfer_m: float = TRANSIT_TRANSFER_M,
    max_wait: float = TRANSIT_MAX_WAIT,
) -> npt.NDArray[np.float64]:
    """Door-to-door public-transport minutes between points, from a timetable network.

    A trip walks to a stop within ``access_m``, waits for a route (half the headway of
    that route at that stop, at most ``max_wait``), rides, may change (walking to a stop
    within ``transfer_m``, or staying at the stop, then a new wait) and walks from the
    last stop to its destination; walking the whole way is always an option. Walking
    times are ``distance × detour / walk_kmh``. The times are **not** symmetric: headways
    and ride times depend on the direction.

    The graph has a node per origin point, per destination point, per stop and per
    (route, stop) pair: walking arcs from an origin to its stops, from stops to a
    destination and between nearby stops; *ride* arcs along each route between
    (route, stop) nodes; *alight* arcs from a (route, stop) node to its stop (0 min); and
    *board* arcs from a stop to the (route, next stop) node of each hop leaving it, worth
    the wait plus the ride, so that the wait is the one of the route in that direction
    even when the feed has no ``direction_id``. Shortest paths from every origin come from
    :func:`scipy.sparse.csgraph.dijkstra`.

    Parameters
    ----------
    xy
        Points, shape ``(n, 2)``, in metres in the CRS of ``network`` (Lambert-93).
    network
        Hops, headways and stop positions (:func:`territory.io.gtfs.transit_network`).
    detour, walk_kmh
        Walking detour factor and speed.
    access_m
        Straight-line distance walked to or from a stop (metres).
    transfer_m
        Straight-line distance walked between two stops to change (metres).
    max_wait
        Cap on the boarding wait (minutes): below one bus every hour, a team looks up
        the timetable rather than waits at random.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` minutes, row = from, column = to; 0 on the diagonal.

    Examples
    --------
    One route, stops 1 km apart, a bus every 10 min taking 3 min; points 100 m from each
    stop: walk 1.7 min, wait 5, ride 3, walk 1.7.

    >>> from territory.io.gtfs import TransitNetwork
    >>> network = TransitNetwork(
    ...     stop_xy=np.array([[0.0, 0.0], [1000.0, 0.0]]), route=np.array([0]),
    ...     origin=np.array([0]), target=np.array([1]), minutes=np.array([3.0]),
    ...     departs=np.array([60]))
    >>> transit_time_matrix([[0, 100], [1000, 100]], network).round(1).tolist()
    [[0.0, 11.5], [17.3, 0.0]]
    """
    from scipy.sparse.csgraph import dijkstra

    points = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(points)
    per_metre = detour / (walk_kmh * 1000 / 60)
    walking = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)) * per_metre
    if n == 0 or len(network.route) == 0:
        return walking
    graph = _transit_graph(
        points,
        network,
        per_metre=per_metre,
        access_m=access_m,
        transfer_m=transfer_m,
        max_wait=max_wait,
    )
    result = np.empty((n, n))
    for start in range(0, n, 256):  # bounded memory: 256 rows of the full node range
        rows = np.arange(start, min(start + 256, n))
        result[rows] = dijkstra(graph, directed=True, indices=rows)[:, n : 2 * n]
    result = np.minimum(result, walking)
    np.fill_diagonal(result, 0.0)
    return result


def _transit_graph(
    points: npt.NDArray[np.float64],
    network: TransitNetwork,
    *,
    per_metre: float,
    access_m: float,
    transfer_m: float,
    max_wait: float,
) -> sparse.csr_array:
    """The weighted directed graph of :func:`transit_time_matrix` (minutes).

    Nodes: origins ``[0, n)``, destinations ``[n, 2n)``, stops ``[2n, 2n + s)``, then
    one node per (route, stop) pair. Every (row, column) pair is set at most once.
    """
    from scipy import sparse
    from scipy.spatial import cKDTree

    n, s = len(points), len(network.stop_xy)
    hops = len(network.route)
    pairs, inverse = np.unique(
        np.r_[network.route * s + network.origin, network.route * s + network.target],
        return_inverse=True,
    )
    on_board_from, on_board_to = inverse[:hops] + 2 * n + s, inverse[hops:] + 2 * n + s
    stop_node = 2 * n + np.arange(s)
    wait = np.minimum(network.headway / 2, max_wait)
    stops = cKDTree(network.stop_xy)
    near = stops.sparse_distance_matrix(cKDTree(points), access_m, output_type="ndarray")
    changes = stops.query_pairs(transfer_m, output_type="ndarray")
    change_m = np.hypot(*(network.stop_xy[changes[:, 0]] - network.stop_xy[changes[:, 1]]).T)
    arcs = [
        (near["j"], stop_node[near["i"]], near["v"] * per_metre),  # walk to a stop
        (stop_node[near["i"]], n + near["j"], near["v"] * per_metre),  # walk from a stop
        (stop_node[changes[:, 0]], stop_node[changes[:, 1]], change_m * per_metre),
        (stop_node[changes[:, 1]], stop_node[changes[:, 0]], change_m * per_metre),
        (stop_node[network.origin], on_board_to, wait + network.minutes),  # board and ride
        (on_board_from, on_board_to, network.minutes),  # stay on board
        (2 * n + s + np.arange(len(pairs)), stop_node[pairs % s], np.zeros(len(pairs))),
    ]
    row, column, minutes = (np.concatenate(part) for part in zip(*arcs, strict=True))
    size = 2 * n + s + len(pairs)
    # Explicit zeros stay arcs in a CSR graph (alighting costs nothing).
    return sparse.csr_array((minutes, (row, column)), shape=(size, size))


_COLUMNS = {"id", "nom", "type", "zone", "duree", "priorite", "horaires"}


def places_from_frame(
    places: pd.DataFrame, *, week: date | None = None, default_duration: int = 45
) -> list[Place]:
    """Places from a table or layer (columns in French, as in the workspace).

    Columns: ``nom``, ``type`` (one of :data:`KINDS`), optional ``id`` (default: the
    index), ``zone``, ``duree`` (minutes), ``priorite`` and ``horaires`` (OSM
    ``opening_hours``, read for ``week`` by :func:`windows_from_opening_hours`; empty means
    any time). Coordinates are taken from a point geometry when there is one.

    Examples
    --------
    >>> frame = pd.DataFrame({"nom": ["Marché"], "type": ["marché"],
    ...                       "horaires": ["Tu 08:00-12:30"]})
    >>> places_from_frame(frame)[0].windows
    {1: ((480, 750),)}
    """
    missing = [c for c in ("nom", "type") if c not in places.columns]
    if missing:
        raise ValidationError(f"lieux : colonne(s) {', '.join(missing)} manquante(s)")
    geometry = places.geometry if isinstance(places, gpd.GeoDataFrame) else None
    result = []
    for position, (label, row) in enumerate(places.iterrows()):
        x = y = None
        if geometry is not None:
            shape = geometry.iloc[position]
            if shape is not None and not shape.is_empty:
                point = shape if shape.geom_type == "Point" else shape.representative_point()
                x, y = float(point.x), float(point.y)
        hours = _cell(row, "horaires")
        result.append(
            Place(
                id=_cell(row, "id") or str(label),
                name=_cell(row, "nom"),
                kind=_cell(row, "type"),
                zone=_cell(row, "zone"),
                x=x,
                y=y,
                windows=windows_from_opening_hours(hours, week=week) if hours else None,
                duration=int(_number(row, "duree", default_duration)),
                priority=float(_number(row, "priorite", 1.0)),
            )
        )
    return result


def _cell(row: pd.Series, column: str) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def _number(row: pd.Series, column: str, default: float) -> float:
    text = _cell(row, column).replace(",", ".")
    try:
        return float(text) if text else default
    except ValueError:
        raise ValidationError(
            f"lieu « {_cell(row, 'nom')} » : {column} {text!r} n'est pas un nombre"
        ) from None


def plan_rounds(
    places: gpd.GeoDataFrame,
    teams: Sequence[Team],
    *,
    value: ArrayLike | None = None,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    week: date | None = None,
    base_crs: Any = None,
    metric_crs: str = METRIC_CRS,
    detour: float = DETOUR_FACTOR,
    speeds: Mapping[str, float] = SPEED_KMH,
    travel: Mapping[str, ArrayLike] | None = None,
    transit: TransitNetwork | None = None,
    first_slot: int = 8 * 60,
    slot_minutes: int = 120,
    required_zones: Collection[str] = (),
    max_visits_per_place: int | None = None,
    max_candidates: int | None = 400,
    locked: Sequence[Visit] = (),
    time_limit: float = 5.0,
) -> Plan:
    """Plan a week of rounds on a places layer (the geo adapter).

    Checks the layer's CRS, projects places and team bases to ``metric_crs``, builds the
    travel times of each team mode and calls :func:`plan_from_matrix`. Times come, in
    this order, from ``travel`` (matrices given by the caller), from the timetables of
    ``transit`` for public transport (:func:`transit_time_matrix`), else from
    :func:`travel_time_matrix` (straight-line distance × ``detour`` / speed + access time).

    Parameters
    ----------
    places
        Places layer in any CRS, columns read by :func:`places_from_frame` (``nom``,
        ``type``, optional ``id``, ``zone``, ``duree``, ``priorite``, ``horaires``).
    teams
        Teams; every team needs a ``base``.
    value, days, first_slot, slot_minutes, required_zones, max_visits_per_place, \
max_candidates, locked, time_limit
        As in :func:`plan_from_matrix`.
    week
        Monday of the planned week: opening hours are read on its dates (public holidays).
    base_crs
        CRS of the team bases (default: the layer's CRS).
    metric_crs
        Projected CRS in metres for distances: Lambert-93 in mainland France, the local
        UTM CRS overseas (``"EPSG:2975"`` in La Réunion).
    detour, speeds
        Network detour factor and speeds by mode (:data:`DETOUR_FACTOR`,
        :data:`SPEED_KMH`).
    travel
        Precomputed travel minutes keyed by mode or team name, used as they are (rows and
        columns: the places in layer order, then the base of each team), as in
        :func:`plan_from_matrix`.
    transit
        A timetable network (:func:`territory.io.gtfs.load_transit_network`) in
        ``metric_crs``: the teams moving by public transport get door-to-door times from
        it instead of an average speed.

    Returns
    -------
    Plan

    Raises
    ------
    CRSError
        When the layer has no CRS, or ``transit`` is in another CRS than ``metric_crs``.
    ValidationError
        When a place has no geometry, a team no base, or :func:`plan_from_matrix` refuses
        the inputs.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> layer = gpd.GeoDataFrame(
    ...     {"nom": ["Parc", "Gare"], "type": ["parc", "gare"], "zone": ["QN03001M", ""]},
    ...     geometry=[Point(2.3522, 48.8566), Point(2.3600, 48.8600)], crs="EPSG:4326")
    >>> team = Team("Équipe", "marche", base=(2.3550, 48.8580),
    ...             availability={2: ((14 * 60, 17 * 60),)})
    >>> plan = plan_rounds(layer, [team], days=(2,), required_zones={"QN03001M"},
    ...                    time_limit=0.5)
    >>> sorted(v.place for v in plan.visits), plan.notes
    (['0', '1'], ())
    """
    if places.crs is None:
        raise CRSError(
            "la couche des lieux ne déclare pas de système de coordonnées : "
            "utilisez set_crs (EPSG:4326 pour des longitudes/latitudes)"
        )
    if transit is not None and transit.crs != metric_crs:
        raise CRSError(
            f"réseau de transport en {transit.crs} mais distances en {metric_crs} : "
            f"construisez le réseau avec metric_crs={metric_crs!r}"
        )
    problems = []
    empty = places.geometry.isna() | places.geometry.is_empty
    if empty.any():
        rows = ", ".join(str(i) for i in places.index[empty][:10])
        problems.append(f"lieux sans géométrie (à géocoder) : {rows}")
    problems += [f"équipe « {t.name} » : base manquante" for t in teams if t.base is None]
    if problems:
        raise ValidationError(problems)
    projected = places.to_crs(metric_crs)
    candidates = places_from_frame(projected, week=week)
    bases = gpd.GeoSeries.from_xy(
        [t.base[0] for t in teams if t.base is not None],
        [t.base[1] for t in teams if t.base is not None],
        crs=base_crs if base_crs is not None else places.crs,
    ).to_crs(metric_crs)
    xy = np.column_stack(
        [
            np.array([p.x for p in candidates] + list(bases.x), dtype=np.float64),
            np.array([p.y for p in candidates] + list(bases.y), dtype=np.float64),
        ]
    )
    given = dict(travel or {})
    matrices: dict[str, ArrayLike] = {}
    for mode in {t.mode for t in teams if t.name not in given} - set(given):
        if mode == TRANSIT and transit is not None:
            matrices[mode] = transit_time_matrix(
                xy, transit, detour=detour, walk_kmh=speeds["marche"]
            )
        elif mode in MODES:
            matrices[mode] = travel_time_matrix(xy, mode, detour=detour, speeds=speeds)
    return plan_from_matrix(
        candidates,
        teams,
        {**matrices, **given},
        value=value,
        days=days,
        first_slot=first_slot,
        slot_minutes=slot_minutes,
        required_zones=required_zones,
        max_visits_per_place=max_visits_per_place,
        max_candidates=max_candidates,
        locked=locked,
        time_limit=time_limit,
    )


# --------------------------------------------------------------------------------------
# Place suggestions


def suggest_places(
    partners: gpd.GeoDataFrame | None = None,
    stops: gpd.GeoDataFrame | None = None,
    *,
    zones: gpd.GeoDataFrame | None = None,
    zone_column: str = "code",
    min_departures: int = 40,
    merge_distance: float = 150.0,
    metric_crs: str = METRIC_CRS,
) -> gpd.GeoDataFrame:
    """Candidate places from the partners and transit hubs of a workspace.

    * Each geocoded partner becomes a ``local partenaire`` with its opening hours.
    * Stops with the same name within ``merge_distance`` metres are merged into one hub
      (platforms of one station); hubs with at least ``min_departures`` departures on the
      reference weekday become a ``gare`` with priority ``1 + log10(departures /
      min_departures)``, any time.

    Parameters
    ----------
    partners
        Partners layer (``nom``, ``type``, ``type_libelle``, ``horaires``), any CRS.
    stops
        Stops layer (``stop_id``, ``nom``, ``departs_jour``), any CRS.
    zones
        Optional polygons (QPV, communes) whose ``zone_column`` fills the ``zone`` column.
    min_departures
        Busy-hub threshold (departures a day).
    merge_distance
        Stops of the same name closer than this (metres) are one hub.
    metric_crs
        Projected CRS for distances and merges.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``id``, ``nom``, ``type``, ``zone``, ``duree``, ``priorite``,
        ``horaires``, ``source``, ready for :func:`plan_rounds`.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> stops = gpd.GeoDataFrame(
    ...     {"stop_id": ["1", "2", "3"], "nom": ["Gare", "Gare", "Mairie"],
    ...      "departs_jour": [120, 80, 12]},
    ...     geometry=[Point(3.42, 46.12), Point(3.4205, 46.1201), Point(3.43, 46.13)],
    ...     crs="EPSG:4326")
    >>> suggest_places(stops=stops)[["nom", "type", "priorite"]].to_dict("records")
    [{'nom': 'Gare', 'type': 'gare', 'priorite': 1.7}]
    """
    columns = ["id", "nom", "type", "zone", "duree", "priorite", "horaires", "source"]
    rows: list[dict[str, Any]] = []
    geometries: list[Any] = []
    if partners is not None and len(partners):
        if partners.crs is None:
            raise CRSError("la couche des partenaires ne déclare pas de système de coordonnées")
        located = partners[~(partners.geometry.isna() | partners.geometry.is_empty)]
        located = located.to_crs(metric_crs)
        for position, (label, row) in enumerate(located.iterrows()):
            kind = _cell(row, "type_libelle") or _cell(row, "type")
            rows.append(
                {
                    "id": f"partenaire-{label}",
                    "nom": _cell(row, "nom"),
                    "type": "local partenaire",
                    "zone": "",
                    "duree": 45,
                    "priorite": 1.0,
                    "horaires": _cell(row, "horaires"),
                    "source": f"partenaire ({kind})" if kind else "partenaire",
                }
            )
            geometries.append(located.geometry.iloc[position])
    if stops is not None and len(stops):
        if stops.crs is None:
            raise CRSError("la couche des arrêts ne déclare pas de système de coordonnées")
        projected = stops[~(stops.geometry.isna() | stops.geometry.is_empty)].to_crs(metric_crs)
        for hub in _hubs(projected, merge_distance):
            if hub["departs"] < min_departures:
                continue
            rows.append(
                {
                    "id": f"arret-{hub['stop_id']}",
                    "nom": hub["nom"],
                    "type": "gare",
                    "zone": "",
                    "duree": 30,
                    "priorite": round(1 + math.log10(hub["departs"] / max(min_departures, 1)), 2),
                    "horaires": "",
                    "source": f"arrêt de transport ({hub['departs']} départs/jour)",
                }
            )
            geometries.append(hub["geometry"])
    result = gpd.GeoDataFrame(rows, columns=columns, geometry=geometries, crs=metric_crs)
    if zones is not None and len(result):
        joined = gpd.sjoin(
            result,
            zones[[zone_column, "geometry"]].to_crs(metric_crs),
            how="left",
            predicate="within",
        )
        joined = joined[~joined.index.duplicated(keep="first")]
        result["zone"] = joined[zone_column].fillna("").astype(str).to_numpy()
    return result.to_crs("EPSG:4326").reset_index(drop=True)


def _hubs(stops: gpd.GeoDataFrame, merge_distance: float) -> list[dict[str, Any]]:
    """Stops of the same name within ``merge_distance`` of the group's first stop, merged."""
    from shapely.geometry import MultiPoint

    hubs: list[dict[str, Any]] = []
    names = stops["nom"].fillna("").astype(str).str.strip()
    departures = pd.to_numeric(stops["departs_jour"], errors="coerce").fillna(0)
    for name in dict.fromkeys(names):
        if not name:
            continue
        group = stops[names == name]
        counts = departures[names == name]
        left = list(range(len(group)))
        while left:
            anchor = group.geometry.iloc[left[0]]
            close = [i for i in left if group.geometry.iloc[i].distance(anchor) <= merge_distance]
            left = [i for i in left if i not in close]
            members = group.iloc[close]
            hubs.append(
                {
                    "stop_id": str(members["stop_id"].iloc[0]),
                    "nom": name,
                    "departs": int(counts.iloc[close].sum()),
                    "geometry": MultiPoint(list(members.geometry)).centroid,
                }
            )
    return hubs
