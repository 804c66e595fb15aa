"""Stable weeks: the previous plan a week starts from, what it kept, the monthly turn.

Practitioners want fixed days and hours, so that young people know when to find the
team: a week is planned from the previous plan (the last version of the same week when
it is re-optimised, else the last week planned), whose visits the solver prefers to keep
(:mod:`territory.rounds.solver`, ``previous``). :func:`kept_visits` measures the result:
a visit is *kept* when the previous plan had the same place on the same weekday, starting
within :data:`~territory.rounds._candidates.STABLE_MINUTES` minutes.

Monthly communes (rural, without a QPV) are visited **every four weeks, by turn**
(:func:`monthly_turn`): the rural rule of :func:`~territory.rounds.value.coverage_zones`
gives each one a turn (the ISO week number modulo :data:`TURN_WEEKS`), it is visited in
its turn's week only, and its visit starts from the one of its last turn, four weeks
before (same place, weekday and hour: « un mardi sur quatre, 14 h, place de la mairie »).
The month's communes are thus spread over its weeks, and a week with nothing changed
keeps its weekly visits and repeats the monthly ones of four weeks before.

Examples
--------
>>> from territory.rounds.model import Visit
>>> before = [Visit("A", "p1", 0, 600, 645), Visit("A", "p2", 2, 900, 945)]
>>> after = [Visit("B", "p1", 0, 620, 665), Visit("A", "p2", 3, 900, 945)]
>>> kept_visits(before, after)
1
>>> earlier_weeks("2026-W01", 2)  # across the new year
['2025-W52', '2025-W51']
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd

from territory._errors import ValidationError
from territory.rounds._candidates import STABLE_MINUTES
from territory.rounds.model import Visit

__all__ = [
    "STABLE_MINUTES",
    "TURN_WEEKS",
    "MonthlyTurn",
    "earlier_weeks",
    "iso_week",
    "kept_visits",
    "monthly_turn",
    "previous_plan",
    "visits_from_table",
]

PREVIOUS_WEEKS = 4
"""How far back (weeks) :func:`previous_plan` looks for the last week planned."""
TURN_WEEKS = 4
"""Weeks between two visits of a monthly commune (its turn comes back every four weeks)."""

Loader = Callable[[str], "tuple[int, pd.DataFrame] | None"]
"""A week's last saved version and its visits (None: never planned)."""


def iso_week(day: date) -> str:
    """``2026-W49`` for any day of that ISO week."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def _thursday(week: str) -> date:
    try:
        year, number = week.split("-W")
        return date.fromisocalendar(int(year), int(number), 4)
    except ValueError as exc:
        raise ValidationError(f"semaine invalide « {week} » (attendu AAAA-Wnn)") from exc


def earlier_weeks(week: str, count: int) -> list[str]:
    """The ``count`` ISO weeks before ``week``, the nearest first."""
    thursday = _thursday(week)
    return [iso_week(thursday - timedelta(weeks=k)) for k in range(1, count + 1)]


def visits_from_table(visits: pd.DataFrame) -> list[Visit]:
    """A stored plan's visits (``team``, ``place``, ``start``, ``end`` datetimes) as Visits."""
    out = []
    for row in visits.itertuples(index=False):
        start, end = row.start, row.end
        assert isinstance(start, datetime) and isinstance(end, datetime)
        minutes = start.hour * 60 + start.minute
        length = int((end - start).total_seconds() // 60)
        out.append(Visit(str(row.team), str(row.place), start.weekday(), minutes, minutes + length))
    return out


def kept_visits(
    previous: Sequence[Visit], visits: Sequence[Visit], *, minutes: int = STABLE_MINUTES
) -> int:
    """How many of ``visits`` keep a previous visit's place, weekday and hour (± minutes).

    Each previous visit is matched once at most (the nearest start first); the team may
    differ.
    """
    left: dict[tuple[str, int], list[int]] = {}
    for v in previous:
        left.setdefault((v.place, v.day), []).append(v.start)
    kept = 0
    for v in visits:
        starts = left.get((v.place, v.day), [])
        near = [s for s in starts if abs(s - v.start) <= minutes]
        if near:
            starts.remove(min(near, key=lambda s: abs(s - v.start)))
            kept += 1
    return kept


def previous_plan(week: str, load: Loader) -> tuple[list[Visit], str]:
    """The visits a plan of ``week`` starts from, and where they come from (French).

    The last version of ``week`` when it was planned, else the last week planned in the
    :data:`PREVIOUS_WEEKS` before (same weekdays); ``([], "")`` when there is none.
    """
    found = load(week)
    if found is not None and not found[1].empty:
        return visits_from_table(found[1]), f"la version {found[0]} de la semaine"
    for earlier in earlier_weeks(week, PREVIOUS_WEEKS):
        found = load(earlier)
        if found is not None and not found[1].empty:
            return visits_from_table(found[1]), f"la semaine {earlier}"
    return [], ""


@dataclass(frozen=True)
class MonthlyTurn:
    """The monthly communes of a week: whose turn it is, their caps, their last turn.

    Attributes
    ----------
    caps
        Most visits this week of every monthly commune: 1 for those whose turn it is and
        that were not visited since their last turn, 0 for the others.
    due
        The monthly communes whose turn it is.
    seen
        Communes whose turn it is but which a week since their last turn already visited
        (a locked or hand-added visit): no new visit this week.
    reference
        The visits of the due communes at their last turn (the week :attr:`since`): the
        planner prefers to repeat them.
    since
        ISO week of the last turn (``""`` when it was not planned).
    """

    caps: dict[str, int]
    due: frozenset[str]
    seen: frozenset[str]
    reference: list[Visit] = field(default_factory=list)
    since: str = ""

    def notes(self, label: Callable[[list[str]], str]) -> list[str]:
        """French notes of the plan; ``label`` shows a list of commune codes by name."""
        if not self.caps:
            return []
        waiting = len(self.caps) - len(self.due)
        notes = [
            (
                f"Communes visitées une fois par mois : une visite toutes les {TURN_WEEKS} "
                f"semaines, par roulement ; {len(self.due)} de tour cette semaine, {waiting} "
                "aux semaines suivantes."
            )
        ]
        if self.seen:
            codes = sorted(self.seen)
            notes.append(
                f"{len(codes)} commune(s) de tour cette semaine déjà vue(s) depuis leur "
                f"dernier tour : pas de nouvelle visite ({label(codes)})."
            )
        return notes


def monthly_turn(
    week: str, monthly: Collection[str], due: Collection[str], load: Loader
) -> MonthlyTurn:
    """The turn of the ``monthly`` communes in ``week``; ``due``: the week's zones to visit.

    A monthly commune is visited only in its turn's week (it is in ``due``, the rural
    rule's zones of the week), not again when a week since its last turn
    (:data:`TURN_WEEKS` before) visited it; its visits of that last turn are the ones to
    repeat.

    Examples
    --------
    >>> from datetime import datetime
    >>> import pandas as pd
    >>> def load(week):
    ...     if week != "2026-W45":
    ...         return None
    ...     start = datetime(2026, 11, 3, 14)
    ...     return 1, pd.DataFrame({"team": ["A"], "place": ["p1"], "zone": ["14001"],
    ...                             "start": [start], "end": [start.replace(hour=15)]})
    >>> turn = monthly_turn("2026-W49", {"14001", "14002"}, {"14001"}, load)
    >>> turn.caps, turn.since, [(v.place, v.day, v.start) for v in turn.reference]
    ({'14001': 1, '14002': 0}, '2026-W45', [('p1', 1, 840)])
    """
    monthly = set(monthly)
    turn = set(due) & monthly
    weeks = earlier_weeks(week, TURN_WEEKS)  # the nearest first: the last is the last turn
    seen: set[str] = set()
    for earlier in weeks[:-1] if turn else []:
        found = load(earlier)
        if found is not None and "zone" in found[1]:
            seen |= set(found[1]["zone"].astype(str)) & turn
    found = load(weeks[-1]) if turn else None
    reference: list[Visit] = []
    if found is not None and "zone" in found[1]:
        reference = visits_from_table(found[1][found[1]["zone"].astype(str).isin(turn)])
    return MonthlyTurn(
        caps={zone: int(zone in turn and zone not in seen) for zone in sorted(monthly)},
        due=frozenset(turn),
        seen=frozenset(seen),
        reference=reference,
        since=weeks[-1] if found is not None else "",
    )
