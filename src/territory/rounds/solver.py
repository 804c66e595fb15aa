"""The numeric core of the weekly round planner: :func:`plan_from_matrix` on OR-Tools.

Outreach teams plan rounds through **places and time slots** (a park after school, a
station at 17 h, a market morning), not through customers at fixed addresses. This
module turns candidate places, teams, travel times in minutes (one matrix per mode or
per team) and a value per place × day × slot into a weekly plan with OR-Tools' vehicle
routing solver. No geometry, no CRS: :func:`territory.rounds.geo.plan_rounds` is the geo
adapter that builds the travel times from a places layer and delegates here.

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
  slots of equal value share one node). All the nodes of one site (a place, or the
  places of one name in one zone: the stops of a station on several lines) and day form
  a disjunction of cardinality 1: **a place is visited at most once a day** (unless its
  :attr:`~territory.rounds.model.Place.per_day` asks for more: its nodes are repeated and
  the disjunction's cardinality follows); with ``max_visits_per_place`` a weekly
  disjunction caps its visits, and with ``zone_caps`` one caps the visits of a zone (a
  monthly rural commune: once a week at most, none when already visited this month).
* **Sectors**: a team is offered only the nodes of its sector's zones (allowed vehicles);
  with ``outside_sector`` the other nodes are offered too, their arcs costing the share
  of the value they lose (team-specific arc costs).
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
* **Stability**: each visit of the ``previous`` plan gets a *stable* node (same place,
  day and team, a start within 30 minutes of the previous one) in the place's per-day
  disjunction, worth a bonus on top of its value; the greedy start keeps them first, so
  a week with nothing changed comes out like the last one, and a change (a lock, a new
  place) moves only the visits that are worth moving.
* **Search**: above ``max_candidates`` nodes, the best nodes by value per minute are
  kept (and the best few of every zone to cover). The week splits into **independent
  parts** (``decompose``): teams are in one part when a node may be visited by both or
  when their nodes share a rule (a site's once-a-day rule, a zone's weekly cap, a zone
  to cover); with sectors, each team is usually a part of its own. Each part is one
  OR-Tools model (the same costs, scaled by the top value of the whole week, so the
  objective is the same sum), searched in turn for its share (by nodes) of the time left:
  a first plan by OR-Tools' path cheapest arc (:data:`FIRST_SOLUTION`), then a
  guided local search until the part's deadline. A greedy plan (coverage first, then
  value per minute, each visit at its cheapest feasible position) is kept instead when
  it costs less in the model (a week with nothing changed: the kept visits), and starts
  the search when the part has locked visits. Measured on the
  département week (``bench/week.py``, 4 sectored teams, about 1,450 candidate nodes, at
  load 5 on 2 cores): 5 s reach 98.7 % of the best search's value (48.6 of 49.2); the
  whole week as one model spent its 5 s building the model (2,757 nodes) and kept the
  greedy plan (81 %). At load 9-10 the parts' first plans do not finish either and the
  greedy plan is kept.
* **Times** of the final rounds are recomputed from the visiting order: earliest
  return, then latest departure (the least waiting).

Anything the plan cannot satisfy (a place no team can reach in its windows, a zone whose
coverage does not fit in the hours, a locked visit that contradicts another) ends up in
``Plan.notes`` in French; the planner never raises for an infeasible week. Malformed
inputs (a negative duration, a matrix of the wrong shape) raise
:class:`~territory.ValidationError` listing every problem.

Times are minutes since midnight (``1050`` is 17:30); days are weekdays, ``0`` = Monday
(:mod:`territory.rounds.model`).

Examples
--------
>>> from territory.rounds.model import Place, Team, hhmm
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
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from territory._errors import ValidationError
from territory.rounds._candidates import UNREACHABLE, Candidates, at_or_after, at_or_before
from territory.rounds.model import (
    DAY_MINUTES,
    Place,
    Plan,
    Round,
    Team,
    Visit,
    _check_places,
    _check_teams,
    _day_fr,
    _hours_fr,
    hhmm,
)

__all__ = ["PARALLEL", "STABILITY", "plan_from_matrix"]

STABILITY = 2.0
"""Default bonus of a kept visit, as a share of a mean visit's value. Measured on the real
programmes (``tests/rounds/test_real_programmes.py``): with 0.5, Calvados's second week kept
78 % of its weekly visits, the search trading kept visits for slightly better ones; with 2,
88 %, and what changes is what must (a lock, a new place, the monthly turn)."""

PARALLEL = 1
"""Threads that search the independent parts of a week at once (``workers``' default).
One: OR-Tools 9.10's Python search holds the GIL, so a second thread only waits (on the
département week, a part's model took 2.3 s to build beside another's search, 0.2 s
alone), and the machines have 2 cores."""

FIRST_SOLUTION = "PATH_CHEAPEST_ARC"
"""OR-Tools' first solution strategy of each part's search (a ``FirstSolutionStrategy`` name).
Measured on the département week (``bench/week.py``'s plan, 5 s, 2026-12-07): at load 5,
49.1-49.2 (the local cheapest insertion: 48.6-49.2; a 300-s search as one model: 49.2); at
load 9, 41.5 where the local cheapest insertion did not finish in time (the greedy plan,
39.8, kept); the greedy plan as the start: 42.5 at load 5, its basin held the search."""

_VALUE_SCALE = 1_000_000  # integer cost of the most valuable visit in the solver


@dataclass(frozen=True)
class _Job:
    """A part of the week to solve: its teams, its nodes and its greedy start."""

    teams: list[int]
    nodes: list[int]
    greedy: dict[int, list[int]]  # window -> nodes, in order


@dataclass(frozen=True)
class _Result:
    """A solved part: its rounds, the solver's status and cost, notes, model time."""

    routes: list[tuple[int, int, int, list[tuple[int, int]]]]
    status: str
    cost: int
    notes: list[str]
    build_s: float
    timed_out: bool = True  # a search ended by the time limit (or no search)


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
# The numeric core


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
    zone_caps: Mapping[str, int] | None = None,
    outside_sector: float | None = None,
    previous: Sequence[Visit] = (),
    stability: float = STABILITY,
    time_limit: float = 5.0,
    decompose: bool = True,
    workers: int | None = None,
    solution_limit: int | None = None,
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
    zone_caps
        Most visits in the week per zone (locked ones included): ``1`` for a monthly
        commune due this week, ``0`` for one already visited this month.
    outside_sector
        ``None``: a team never visits a place outside its sector
        (:attr:`~territory.rounds.model.Team.sector`). A share in ``[0, 1)``: it may,
        such a visit counting for that share of its value (a note lists them).
    previous
        Visits of the previous plan (last version of the week, or the last week planned):
        keeping one (same place, day and team, start within 30 min) earns a bonus.
    stability
        The bonus of a kept visit, as a share of the mean value of the candidate nodes
        (0: no preference for the previous plan).
    time_limit
        Wall time in seconds, model building included; the search gets what is left
        (at least 0.1 s).
    decompose
        Solve the independent parts of the week apart (teams sharing no node, site or
        zone rule; see the module's docstring); ``False``: the whole week as one model
        (the same objective; for comparisons).
    workers
        Threads that search the parts at once (default :data:`PARALLEL`).
    solution_limit
        Stop each part's search after this many solutions rather than on time: the same
        inputs then give the same plan on any machine (reproducible runs,
        :mod:`territory.runs`). ``time_limit`` stays a safety cap, shared by the parts
        in turn; a search it stops is bounded by time again (``stats["stopped_by"]``).

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
    if solution_limit is not None and solution_limit < 1:
        problems.append("nombre de solutions de la recherche : au moins 1")
    if max_visits_per_place is not None and max_visits_per_place < 0:
        problems.append("nombre maximal de visites par lieu négatif")
    if max_candidates is not None and max_candidates < 1:
        problems.append("nombre maximal de nœuds candidats : au moins 1")
    if outside_sector is not None and not 0 <= outside_sector < 1:
        problems.append(f"part de valeur hors secteur {outside_sector} : entre 0 et 1 (exclu)")
    if not (math.isfinite(stability) and stability >= 0):
        problems.append(f"poids de stabilité {stability} : un nombre ≥ 0")
    if any(cap < 0 for cap in (zone_caps or {}).values()):
        problems.append("plafond de visites d'une zone négatif")
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
        zone_caps=zone_caps,
        outside_weight=outside_sector,
    )
    builder.add_locks(locked)
    builder.add_candidates(previous, stability)
    return builder.solve(
        time_limit=time_limit,
        started=started,
        decompose=decompose,
        workers=workers,
        solution_limit=solution_limit,
    )


class _Builder(Candidates):
    """The OR-Tools model of the candidate nodes, its search and the resulting plan."""

    solution_limit: int | None = None  # set by :meth:`solve`

    # -- model ---------------------------------------------------------------------------

    def solve(
        self,
        *,
        time_limit: float,
        started: float,
        decompose: bool = True,
        workers: int | None = None,
        solution_limit: int | None = None,
    ) -> Plan:
        self.solution_limit = solution_limit
        stats: dict[str, float | int | str] = {
            "candidates": sum(1 for n in self.nodes if n.copy_of is None and n.lock is None),
            "coverage_copies": sum(1 for n in self.nodes if n.copy_of is not None),
            "rounds_possible": len(self.vehicles),
            "stable_offered": self.stable_offered,
        }
        if not self.vehicles or not self.nodes:
            return self._plan([], stats | {"status": "vide"}, started)
        chains: list[list[int]] = [[] for _ in self.teams]  # windows of each team, in order
        for v in sorted(
            range(len(self.vehicles)),
            key=lambda v: (self.days[self.vehicles[v].day], self.vehicles[v].open),
        ):
            chains[self.vehicles[v].team].append(v)
        hours, rounds = self._limits(chains)
        # Start from a greedy plan (coverage first, then value per minute): the solver's
        # own insertion heuristics ignore the weekly caps and the zones to cover. Parts
        # share nothing, so the greedy plan of the whole week, cut to a part's teams, is
        # that part's greedy plan; each part keeps the better of the two orders.
        greedies = [self._greedy(hours, rounds, kept_first=first) for first in (True, False)]
        everything = (list(range(len(self.teams))), list(range(len(self.nodes))))
        parts = self.parts() if decompose else [everything]
        jobs: list[_Job] = []
        for teams, nodes in parts:
            mine = set(teams)
            options = [
                {v: r for v, r in greedy.items() if self.vehicles[v].team in mine}
                for greedy in greedies
            ]
            jobs.append(_Job(teams, nodes, max(options, key=self._greedy_rank)))
        start = [n for job in jobs for route in job.greedy.values() for n in route]
        stats["greedy_objective"] = round(sum(self.nodes[n].value for n in start), 3)
        stats["greedy_kept"] = sum(self.nodes[n].bonus > 0 for n in start)
        stats["parts"] = len(jobs)
        # One scale for every part: the same costs as in a model of the whole week.
        top = max((node.value + node.bonus for node in self.nodes), default=0.0) or 1.0
        results = self._run_parts(
            jobs, chains, hours, rounds, _VALUE_SCALE / top, started + time_limit, workers
        )
        routes: list[tuple[int, int, int, list[tuple[int, int]]]] = []
        statuses: list[str] = []
        cost = 0
        for result in results:
            routes += result.routes
            self.notes += result.notes
            cost += result.cost
            if result.status not in statuses:
                statuses.append(result.status)
        stats["build_s"] = round(max(result.build_s for result in results), 3)
        timed_out = self.solution_limit is None or any(r.timed_out for r in results)
        stats["stopped_by"] = "temps" if timed_out else "solutions"
        stats["status"] = " ; ".join(statuses)
        stats["cost"] = cost
        return self._plan(routes, stats, started)

    def parts(self) -> list[tuple[list[int], list[int]]]:
        """Independent sub-problems: ``(teams, nodes)``, by smallest team.

        Two teams are in one part when a node may be visited by both, or when their nodes
        share a rule: the once-a-day rule of a site (and so the weekly cap of a place),
        the weekly cap of a zone, the coverage of a zone. With sectors (disjoint, or
        nearly) each part is a team or a few; with soft sectors, one part. A team without
        nodes is in no part (it has nothing to plan).
        """
        parent = list(range(len(self.teams)))

        def root(k: int) -> int:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        held: dict[tuple[str, int | str], int] = {}  # a rule -> a team of its nodes
        node_team: list[int] = []
        for node in self.nodes:
            teams = sorted({self.vehicles[v].team for v in node.vehicles})
            zone = self.places[node.place].zone
            rules: list[tuple[str, int | str]] = [("site", self.site[node.place])]
            if zone in self.zone_caps or zone in self.zone_copies:
                rules.append(("zone", zone))
            teams += [held.setdefault(rule, teams[0]) for rule in rules]
            for k in teams[1:]:
                parent[root(k)] = root(teams[0])
            node_team.append(teams[0])
        members: dict[int, tuple[list[int], list[int]]] = {}
        for k in range(len(self.teams)):
            members.setdefault(root(k), ([], []))[0].append(k)
        for n, k in enumerate(node_team):
            members[root(k)][1].append(n)
        return sorted(
            ((teams, nodes) for teams, nodes in members.values() if nodes),
            key=lambda part: part[0][0],
        )

    def _run_parts(
        self,
        jobs: list[_Job],
        chains: list[list[int]],
        hours: list[int],
        rounds: list[int],
        scale: float,
        deadline: float,
        workers: int | None,
    ) -> list[_Result]:
        """Solve the parts in ``workers`` threads (OR-Tools' search releases the GIL).

        The parts are dealt to the threads, largest first, to the least loaded; each
        thread solves its parts one after the other, each until its share (by nodes) of
        the thread's time left.
        """
        count = max(1, min(len(jobs), workers or PARALLEL))
        lanes: list[list[int]] = [[] for _ in range(count)]
        load = [0] * count
        for j in sorted(range(len(jobs)), key=lambda j: -len(jobs[j].nodes)):
            lane = load.index(min(load))
            lanes[lane].append(j)
            load[lane] += len(jobs[j].nodes)
        results: list[_Result | None] = [None] * len(jobs)

        def run(lane: list[int]) -> None:
            left = sum(len(jobs[j].nodes) for j in lane)
            for j in lane:
                now = time.perf_counter()
                until = now + (deadline - now) * len(jobs[j].nodes) / max(left, 1)
                if self.solution_limit is not None:  # the time limit is a safety cap
                    until = deadline
                results[j] = self._solve_part(jobs[j], chains, hours, rounds, scale, until)
                left -= len(jobs[j].nodes)

        if count == 1:
            run(lanes[0])
        else:
            with ThreadPoolExecutor(count) as pool:
                list(pool.map(run, lanes))  # re-raises a thread's exception
        return [result for result in results if result is not None]

    def _solve_part(
        self,
        job: _Job,
        chains: list[list[int]],
        hours: list[int],
        rounds: list[int],
        scale: float,
        deadline: float,
    ) -> _Result:
        """The OR-Tools model of one part (its teams, its nodes), searched until ``deadline``."""
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2

        part_started = time.perf_counter()
        teams, nodes = job.teams, [self.nodes[n] for n in job.nodes]
        local = {n: i for i, n in enumerate(job.nodes)}
        notes: list[str] = []
        n_teams = len(teams)
        # Solver nodes: team bases, then separators (back at the base at the close of a
        # window, leaving it at the opening of the next), then visits. Vehicle j is
        # team teams[j].
        my_chains = [chains[k] for k in teams]
        separators: list[tuple[int, int, bool]] = []  # (vehicle, window, is_close)
        for j, chain in enumerate(my_chains):
            for previous, following in itertools.pairwise(chain):
                separators.append((j, previous, True))
                separators.append((j, following, False))
        first = n_teams + len(separators)
        size = first + len(nodes)
        location = np.array(
            [self.base[k] for k in teams]
            + [self.base[teams[j]] for j, _, _ in separators]
            + [node.place for node in nodes],
            dtype=np.int64,
        )
        service = np.zeros(size, dtype=np.int64)
        service[first:] = [node.duration for node in nodes]
        manager = pywrapcp.RoutingIndexManager(
            size, n_teams, list(range(n_teams)), list(range(n_teams))
        )
        routing = pywrapcp.RoutingModel(manager)
        # Transit of arc i -> j: duration of the visit at i, then travel i -> j. A closing
        # separator leads only to the next opening one: no visit outside the windows.
        evaluators: dict[int, int] = {}
        transits: dict[int, npt.NDArray[np.int64]] = {}
        for key in sorted({self.key_of_team[k] for k in teams}):
            transit = self.minutes[key][np.ix_(location, location)] + service[:, None]
            for s, (_, _, is_close) in enumerate(separators):
                if is_close:
                    transit[n_teams + s, :] = UNREACHABLE
                    transit[n_teams + s, n_teams + s + 1] = 0
            np.minimum(transit, UNREACHABLE, out=transit)
            evaluators[key] = routing.RegisterTransitMatrix(transit.tolist())
            transits[key] = transit
        per_team = [evaluators[self.key_of_team[k]] for k in teams]
        week = 7 * DAY_MINUTES
        routing.AddDimensionWithVehicleTransits(per_team, week, week, False, "temps")
        clock = routing.GetDimensionOrDie("temps")
        for j, chain in enumerate(my_chains):
            start, end = clock.CumulVar(routing.Start(j)), clock.CumulVar(routing.End(j))
            if chain:
                start.SetValue(self._week_time(chain[0], close=False))
                end.SetValue(self._week_time(chain[-1], close=True))
            else:
                start.SetValue(0)
                end.SetValue(0)
        for s, (j, v, is_close) in enumerate(separators):
            index = manager.NodeToIndex(n_teams + s)
            clock.CumulVar(index).SetValue(self._week_time(v, close=is_close))
            routing.SetAllowedVehiclesForIndex([j], index)
        # Value: skipping any visit node costs the top value C; the arcs leaving a node
        # cost C - value (+ minutes of visit and travel as a tie-breaker), so a visit gains
        # its value and the insertion heuristics try the most valuable visits first.
        # Coverage copies leave at cost 0 and are skipped at cost value (same gain).
        vehicle_of = {k: j for j, k in enumerate(teams)}
        offsets = np.zeros(size, dtype=np.int64)
        # Soft sectors: leaving a node outside team k's sector costs k the value it loses.
        outside = np.zeros((n_teams, size), dtype=np.int64)
        in_sector = self.in_sector[teams]
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        weekly: dict[int, list[int]] = defaultdict(list)
        zones: dict[str, list[int]] = defaultdict(list)
        zone_locks: dict[str, int] = defaultdict(int)
        for n, node in enumerate(nodes):
            index = manager.NodeToIndex(first + n)
            offset = self.days[node.day] * DAY_MINUTES
            cumul = clock.CumulVar(index)
            cumul.SetRange(offset + node.domain[0][0], offset + node.domain[-1][1])
            for (_, hi), (lo, _) in itertools.pairwise(node.domain):
                cumul.RemoveInterval(offset + hi + 1, offset + lo - 1)
            allowed = sorted({vehicle_of[self.vehicles[v].team] for v in node.vehicles})
            routing.SetAllowedVehiclesForIndex(allowed, index)
            if node.lock is not None:
                zone_locks[self.places[node.place].zone] += 1
                continue
            gain = round((node.value + node.bonus) * scale)
            if node.copy_of is None:
                offsets[first + n] = _VALUE_SCALE - gain
                routing.AddDisjunction([index], _VALUE_SCALE)
            else:
                routing.AddDisjunction([index], max(gain, 1))
            if self.outside_weight is not None:
                lost = round(gain * (1 - self.outside_weight))
                outside[~in_sector[:, node.place], first + n] = lost
            groups[self.site[node.place], node.day].append(index)
            weekly[node.place].append(index)
            zones[self.places[node.place].zone].append(index)
        if outside.any():  # one cost matrix per team
            for j, k in enumerate(teams):
                cost = transits[self.key_of_team[k]] + (offsets + outside[j])[:, None]
                routing.SetArcCostEvaluatorOfVehicle(
                    routing.RegisterTransitMatrix(cost.tolist()), j
                )
        else:
            costs = {
                key: routing.RegisterTransitMatrix((transit + offsets[:, None]).tolist())
                for key, transit in transits.items()
            }
            for j, k in enumerate(teams):
                routing.SetArcCostEvaluatorOfVehicle(costs[self.key_of_team[k]], j)
        del transits
        per_site: dict[int, int] = defaultdict(int)
        for i, candidate in enumerate(self.places):
            per_site[self.site[i]] = max(per_site[self.site[i]], candidate.per_day)
        for (site, _), indices in groups.items():
            per_day = per_site[site]
            if len(indices) > per_day:
                routing.AddDisjunction(indices, 0, per_day)
        for zone, cap in self.zone_caps.items():
            left = cap - zone_locks[zone]
            if 0 < left < len(zones.get(zone, ())):
                routing.AddDisjunction(zones[zone], 0, left)
        if self.max_visits is not None:
            for place, indices in weekly.items():
                left = self.max_visits - self.lock_count[place]
                days_open = {nodes[manager.IndexToNode(i) - first].day for i in indices}
                if left < len(days_open):
                    routing.AddDisjunction(indices, 0, left)
        coverage_penalty = _VALUE_SCALE * (len(groups) + 1)
        for copies in self.zone_copies.values():
            mine = [manager.NodeToIndex(first + local[n]) for n in copies if n in local]
            if mine:
                routing.AddDisjunction(mine, coverage_penalty, 1)
        self._add_limits(
            routing,
            per_team,
            [hours[k] for k in teams],
            [rounds[k] for k in teams],
            my_chains,
            separators,
            first,
            size,
        )
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = (
            routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
        )
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        params.time_limit.FromMilliseconds(100)
        # Closed with the parallel insertion, searched from FIRST_SOLUTION: closed with
        # the local cheapest insertion, OR-Tools 9.10 took 3 to 6 s to insert on a part of
        # the département week and ran out of time (no plan); closed this way, under a
        # second.
        routing.CloseModelWithParameters(params)  # before reading routes, which would close it
        params.first_solution_strategy = getattr(
            routing_enums_pb2.FirstSolutionStrategy, FIRST_SOLUTION
        )
        if self.solution_limit is not None:
            params.solution_limit = self.solution_limit
        build = time.perf_counter() - part_started
        timed_out: list[bool] = []

        def search(start: Any = None) -> tuple[int, dict[int, list[int]]] | None:
            """The search until ``deadline``: cost and visits by window, None if none."""
            remaining = deadline - time.perf_counter()
            params.time_limit.FromMilliseconds(max(100, round(remaining * 1000)))
            if start is None:
                solution = routing.SolveWithParameters(params)
            else:
                solution = routing.SolveFromAssignmentWithParameters(start, params)
            timed_out.append(time.perf_counter() >= deadline - 0.01)
            status.append(_STATUS.get(routing.status(), str(routing.status())))
            if solution is None:
                return None
            by_window: dict[int, list[int]] = defaultdict(list)
            for j, chain in enumerate(my_chains):
                window = chain[0] if chain else -1
                index = solution.Value(routing.NextVar(routing.Start(j)))
                while not routing.IsEnd(index):
                    node = manager.IndexToNode(index)
                    if node < first:
                        window = separators[node - n_teams][1]
                    else:
                        by_window[window].append(job.nodes[node - first])
                    index = solution.Value(routing.NextVar(index))
            return int(solution.ObjectiveValue()), by_window

        # The search starts from the solver's own first plan, not from the greedy plan: a
        # guided local search from the greedy plan stays in its basin (measured on the
        # département week: 13.7 for the town's team after 30 s, against 15.2 from the
        # local cheapest insertion in 1 s). The greedy plan stays when it costs less
        # (stability: a week with nothing changed, whose kept visits the greedy plan
        # places first); with locked visits (fixed times the solver's first plans do not
        # place), the search starts from it.
        status: list[str] = []
        found: list[tuple[int, dict[int, list[int]]]] = []
        initial_routes: list[list[int]] = [[] for _ in teams]
        for j, chain in enumerate(my_chains):
            for position, v in enumerate(chain):
                if position:
                    s = separators.index((j, chain[position - 1], True))
                    initial_routes[j] += [n_teams + s, n_teams + s + 1]
                initial_routes[j] += [first + local[n] for n in job.greedy.get(v, [])]
        if any(node.lock is not None for node in nodes):
            # The greedy plan starts the search (read as an assignment of this model; the
            # solver refuses it for several teams at once: then its own first plan).
            initial = routing.ReadAssignmentFromRoutes(initial_routes, True)
            found += filter(None, [search(initial)])
        else:
            # The search from the solver's first plan, then the greedy plan if it costs
            # less (counted here: read into the model before the search, it would seed the
            # first plan; after, the model refuses it).
            found += filter(None, [search()])
            greedy_routes = [[manager.NodeToIndex(i) for i in r] for r in initial_routes]
            greedy_cost = _cost(routing, greedy_routes)
            if not found or greedy_cost < found[0][0]:
                found = [(greedy_cost, job.greedy)]
        if not found:  # not expected: keep the greedy plan
            notes.append(
                "L'optimisation n'a pas abouti dans le temps imparti : le plan proposé est "
                "une première approche, relancez avec plus de temps."
            )
            found = [(0, job.greedy)]
        cost, by_window = found[0]
        routes = []
        for v, sequence in by_window.items():
            if not sequence:
                continue
            route = self._schedule(v, sequence)
            if route is None:  # not expected: the solver's sequence was feasible
                notes.append(
                    f"Tournée de « {self.teams[self.vehicles[v].team].name} » le "
                    f"{_day_fr(self.days[self.vehicles[v].day])} écartée : horaires "
                    "incohérents (erreur interne, signalez-la)."
                )
                continue
            routes.append(route)
        ended_on_time = any(timed_out) or not timed_out
        return _Result(routes, " ; ".join(status) or "vide", cost, notes, build, ended_on_time)

    def _greedy_rank(self, routes: dict[int, list[int]]) -> tuple[int, float]:
        """A greedy plan's worth: the zones it covers, then its value with the bonuses."""
        placed = {n for route in routes.values() for n in route}
        covered = sum(1 for copies in self.zone_copies.values() if placed.intersection(copies))
        return covered, sum(self.nodes[n].value + self.nodes[n].bonus for n in placed)

    def _greedy(
        self, hours: list[int], rounds: list[int], *, kept_first: bool = False
    ) -> dict[int, list[int]]:
        """Visit nodes per window, in the order they are placed.

        Locks, then one visit per zone to cover (a kept visit first), then the kept visits
        of the previous plan, then the nodes of best value per minute, each at its cheapest
        feasible position, in the team's sector only. ``kept_first``: the kept visits of
        the previous plan before the zones to cover (each as its zone's coverage copy when
        it has one), so that new visits fit around the week that was, not the reverse.
        """
        routes: dict[int, list[int]] = defaultdict(list)
        used: dict[tuple[int, int], int] = defaultdict(int)
        count: dict[int, int] = defaultdict(int)
        in_zone: dict[str, int] = defaultdict(int)
        work = [0] * len(self.teams)
        for n, node in enumerate(self.nodes):
            if node.lock is not None:
                routes[node.vehicles[0]].append(n)
                used[self.site[node.place], node.day] += 1
                in_zone[self.places[node.place].zone] += 1
        for v, route in routes.items():
            route.sort(key=lambda n: self.nodes[n].domain[0][0])
            work[self.vehicles[v].team] += self._route_work(v, route)
        active = [sum(1 for v in routes if self.vehicles[v].team == k) for k in range(len(work))]

        def insert(n: int) -> bool:
            node = self.nodes[n]
            zone = self.places[node.place].zone
            if used[self.site[node.place], node.day] >= self.places[node.place].per_day:
                return False
            if self.max_visits is not None and (
                count[node.place] + self.lock_count[node.place] >= self.max_visits
            ):
                return False
            if zone in self.zone_caps and in_zone[zone] >= self.zone_caps[zone]:
                return False
            best: tuple[int, int, int] | None = None  # (added work, window, position)
            for v in node.vehicles:
                k = self.vehicles[v].team
                if not self.in_sector[k, node.place]:
                    continue
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
            used[self.site[node.place], node.day] += 1
            count[node.place] += 1
            in_zone[zone] += 1
            return True

        covered: set[str] = set()
        if kept_first:
            copy_of = {node.copy_of: c for c, node in enumerate(self.nodes) if node.bonus}
            stable = [n for n, node in enumerate(self.nodes) if node.bonus and node.copy_of is None]
            for n in sorted(stable, key=lambda n: self.nodes[n].domain[0][0]):
                zone = self.places[self.nodes[n].place].zone
                copy = copy_of.get(n)
                if copy is not None and zone not in covered and insert(copy):
                    covered.add(zone)
                else:
                    insert(n)
        # Zones a kept visit can cover first, then the zones left to cover (coverage
        # outweighs stability), then the other kept visits: a week with nothing changed
        # starts as the previous one.
        left = []
        for zone, copies in self.zone_copies.items():
            if zone in covered:
                continue
            kept = sorted((n for n in copies if self.nodes[n].bonus), key=self._score)
            if not any(insert(n) for n in reversed(kept)):
                left.append(copies)
        for copies in left:
            for n in sorted(copies, key=self._score, reverse=True):
                if insert(n):
                    break
        kept = [n for n, node in enumerate(self.nodes) if node.bonus and node.copy_of is None]
        for n in sorted(kept, key=self._score, reverse=True):
            insert(n)
        originals = [
            n
            for n, node in enumerate(self.nodes)
            if node.lock is None and node.copy_of is None and node.value > 0 and not node.bonus
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
            start = at_or_after(node.domain, free + leg)
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
            start = at_or_after(self.nodes[n].domain, free + leg)
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
            later = at_or_before(self.nodes[sequence[k]].domain, latest)
            starts[k] = earliest[k] if later is None else max(later, earliest[k])
        depart = starts[0] - legs[0]
        return v, depart, back, list(zip(sequence, starts, strict=True))

    def _limits(self, chains: list[list[int]]) -> tuple[list[int], list[int]]:
        """Per-team caps on field-work minutes and rounds (locked visits included)."""
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
        return hours, rounds

    @staticmethod
    def _add_limits(
        routing: Any,
        evaluators: list[int],
        hours: list[int],
        rounds: list[int],
        chains: list[list[int]],
        separators: list[tuple[int, int, bool]],
        first: int,
        size: int,
    ) -> None:
        """The weekly caps of a part's vehicles as capacities of two dimensions."""
        if any(h < 7 * DAY_MINUTES for h in hours):
            # Field work: visits and travel, waiting excluded (no slack).
            routing.AddDimensionWithVehicleTransitAndCapacity(evaluators, 0, hours, True, "travail")
        if any(r < len(chain) for r, chain in zip(rounds, chains, strict=True)):
            # A round starts on every arc from an opening (the vehicle start or an opening
            # separator) to a visit.
            n_teams = len(chains)
            counting = np.zeros((size, size), dtype=np.int64)
            openings = list(range(n_teams)) + [
                n_teams + s for s, (_, _, is_close) in enumerate(separators) if not is_close
            ]
            counting[np.ix_(openings, range(first, size))] = 1
            index = routing.RegisterTransitMatrix(counting.tolist())
            del counting
            routing.AddDimensionWithVehicleCapacity(index, 0, rounds, True, "tournées")

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
        kept = 0
        outside: list[str] = []
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
                kept += node.bonus > 0
                if not self.in_sector[veh.team, node.place]:
                    outside.append(f"{self.place_label(node.place)} par « {team.name} »")
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
        if outside:
            more = f" et {len(outside) - 5} autre(s)" if len(outside) > 5 else ""
            self.notes.append(
                f"{len(outside)} visite(s) hors du secteur de l'équipe (autorisées) : "
                f"{', '.join(outside[:5])}{more}."
            )
        stats |= {
            "stable_kept": kept,
            "outside_sector": len(outside),
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
        name = next((p.zone_name for p in self.places if p.zone == zone and p.zone_name), "")
        head = f"Zone {name} ({zone}, à couvrir" if name else f"Zone {zone} (à couvrir"
        head += " cette semaine) : non couverte, "
        if not any(p.zone == zone for p in self.places):
            return head + "aucun lieu candidat dans cette zone."
        if not self.zone_copies.get(zone):
            return head + "aucun de ses lieux n'est visitable par les équipes disponibles."
        return head + (
            "le temps des équipes ne suffit pas (créneaux, plafonds d'heures ou de tournées, "
            "autres zones obligatoires)."
        )


def _cost(routing: Any, routes: list[list[int]]) -> int:
    """The model's cost of ``routes`` (solver indices of each vehicle, ends excluded).

    Arc costs, then the penalty of every disjunction none of whose nodes is visited (all
    the penalised disjunctions of the model have cardinality 1), as the solver counts.
    """
    served: set[int] = set()
    total = 0
    for vehicle, route in enumerate(routes):
        path = [routing.Start(vehicle), *route, routing.End(vehicle)]
        pairs = itertools.pairwise(path)
        total += sum(routing.GetArcCostForVehicle(a, b, vehicle) for a, b in pairs)
        for index in route:
            served.update(routing.GetDisjunctionIndices(index))
    for d in range(routing.GetNumberOfDisjunctions()):
        if d not in served:
            total += routing.GetDisjunctionPenalty(d)
    return int(total)


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
