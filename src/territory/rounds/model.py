"""The planner's vocabulary: places, teams, visits, rounds, plans and time windows.

Times are minutes since midnight (``1050`` is 17:30); days are weekdays, ``0`` = Monday.
A window mapping ``{0: ((540, 720), (840, 1080))}`` means Monday 9-12 and 14-18. The
checks here list every problem of the inputs in French; :func:`territory.rounds.solver.
plan_from_matrix` raises them at once as a :class:`~territory.ValidationError`.

Examples
--------
>>> Team("Équipe Nord", "vélo", availability={1: [(840, 1080), (540, 720)]}).availability
{1: ((540, 720), (840, 1080))}
>>> hhmm(17 * 60 + 30)
'17:30'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import pandas as pd

from territory._fr import format_number
from territory.vocab import KINDS, MODES, WEEKDAYS_FR, place_kind

__all__ = [
    "DAY_MINUTES",
    "Place",
    "Plan",
    "Round",
    "Team",
    "Visit",
    "Windows",
    "hhmm",
]

DAY_MINUTES = 24 * 60
"""Minutes in a day: the end of the last window of a day."""

Windows = Mapping[int, Sequence[tuple[int, int]]]
"""Time windows per weekday: ``{0: ((540, 720), (840, 1080))}`` = Monday 9-12 and 14-18."""

_Windows = dict[int, tuple[tuple[int, int], ...]]


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
        One of :data:`territory.vocab.KINDS`.
    zone
        Code of the zone the place belongs to (QPV code, INSEE commune code…), used by the
        coverage rules; empty when none.
    x, y
        Coordinates, informative for :func:`~territory.rounds.solver.plan_from_matrix`
        (travel times come from the matrix); :func:`~territory.rounds.geo.plan_rounds`
        reads them from the layer's geometry.
    windows
        Presence windows per weekday (minutes since midnight): the whole visit must fit in
        one of them. ``None`` means "any time"; a weekday missing from the mapping means
        "absent that day" (a market held on Tuesdays only).
    duration
        Length of a visit (minutes).
    priority
        Value of a visit when :func:`~territory.rounds.solver.plan_from_matrix` gets no value array.
    per_day
        Most visits of the place in one day (default 1: a place is visited at most once a
        day unless its row asks for more, e.g. a station at noon and at 17 h).
    zone_name
        The name of ``zone`` (a commune's), for the notes (empty: the code is shown).
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
    per_day: int = 1
    zone_name: str = ""

    def __post_init__(self) -> None:
        if self.windows is not None:
            object.__setattr__(self, "windows", _normal_windows(self.windows))


def _default_availability() -> _Windows:
    return dict.fromkeys(range(5), ((9 * 60, 18 * 60),))


@dataclass(frozen=True)
class Team:
    """An outreach team.

    Attributes
    ----------
    name
        Name, unique among the teams (``"Équipe Nord"``).
    mode
        One of :data:`territory.vocab.MODES`.
    size
        Number of people; informative (field sheet): the value of a visit does not depend
        on it.
    base
        Coordinates of the base every round leaves from and returns to, in the CRS given to
        :func:`~territory.rounds.geo.plan_rounds` (``base_crs``); unused by
        :func:`~territory.rounds.solver.plan_from_matrix`.
    availability
        Time windows per weekday (minutes since midnight). Each window is a separate round
        from the base and back (a lunch break at the base splits a day in two rounds).
        Default: Monday to Friday, 9:00-18:00.
    max_rounds
        Most rounds in the week (``None``: no limit).
    max_hours
        Most hours of field work in the week: travel and visits, waiting excluded
        (``None``: no limit beyond the availability windows).
    sector
        Zones (commune codes, as in :attr:`Place.zone`) of the team's sector: the team
        visits only places of these zones (``None``: no sector, every place).
    """

    name: str
    mode: str
    size: int = 2
    base: tuple[float, float] | None = None
    availability: Windows = field(default_factory=_default_availability)
    max_rounds: int | None = None
    max_hours: float | None = None
    sector: frozenset[str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "availability", _normal_windows(self.availability))
        if self.sector is not None:
            object.__setattr__(self, "sector", frozenset(map(str, self.sector)))


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
    territory
        The programme territory planned (None: the whole workspace): the week's versions
        it is saved among (:func:`territory.rounds.week.save_plan`).
    """

    visits: tuple[Visit, ...]
    rounds: tuple[Round, ...]
    objective: float
    notes: tuple[str, ...]
    stats: Mapping[str, float | int | str]
    territory: str | None = None

    def work_hours(self, team: str) -> float:
        """Hours of field work (travel and visits) planned for ``team``."""
        return sum(r.work for r in self.rounds if r.team == team) / 60

    def to_frame(self) -> pd.DataFrame:
        """The visits as a table (one row per visit, columns named after :class:`Visit`)."""
        columns = list(Visit.__dataclass_fields__)
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
    return f"{format_number(minutes / 60, decimals=1)} h"


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
        if place_kind(place.kind) is None:
            problems.append(f"{label} : type {place.kind!r} inconnu (attendu : {', '.join(KINDS)})")
        if not 1 <= place.per_day <= 24:
            problems.append(f"{label} : {place.per_day} visites par jour invalide (1 à 24)")
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


def _day_fr(weekday: int) -> str:
    return WEEKDAYS_FR[weekday] if 0 <= weekday <= 6 else f"jour {weekday}"
