"""Stable weeks: the previous plan a week starts from, what it kept, the month's weeks.

Practitioners want fixed days and hours, so that young people know when to find the
team: a week is planned from the previous plan (the last version of the same week when
it is re-optimised, else the last week planned), whose visits the solver prefers to keep
(:mod:`territory.rounds.solver`, ``previous``). :func:`kept_visits` measures the result:
a visit is *kept* when the previous plan had the same place on the same weekday, starting
within :data:`~territory.rounds._candidates.STABLE_MINUTES` minutes.

Monthly rules count over the month of a week: the month holding its Thursday (the ISO
rule: a week belongs to the month, and the year, of its Thursday).

Examples
--------
>>> from territory.rounds.model import Visit
>>> before = [Visit("A", "p1", 0, 600, 645), Visit("A", "p2", 2, 900, 945)]
>>> after = [Visit("B", "p1", 0, 620, 665), Visit("A", "p2", 3, 900, 945)]
>>> kept_visits(before, after)
1
>>> earlier_weeks_in_month("2026-W49")  # Thursday 3 December: the first of December
[]
>>> earlier_weeks_in_month("2026-W51")
['2026-W50', '2026-W49']
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime, timedelta

import pandas as pd

from territory._errors import ValidationError
from territory.rounds._candidates import STABLE_MINUTES
from territory.rounds.model import Visit

__all__ = [
    "STABLE_MINUTES",
    "earlier_weeks",
    "earlier_weeks_in_month",
    "iso_week",
    "kept_visits",
    "monthly_caps",
    "previous_plan",
    "visits_from_table",
]

PREVIOUS_WEEKS = 4
"""How far back (weeks) :func:`previous_plan` looks for the last week planned."""

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


def earlier_weeks_in_month(week: str) -> list[str]:
    """The weeks before ``week`` in its month (by their Thursdays), the nearest first."""
    thursday = _thursday(week)
    weeks = []
    day = thursday - timedelta(weeks=1)
    while day.month == thursday.month:
        weeks.append(iso_week(day))
        day -= timedelta(weeks=1)
    return weeks


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


def monthly_caps(
    week: str, monthly: Collection[str], load: Loader
) -> tuple[dict[str, int], set[str]]:
    """Weekly visit caps of the ``monthly`` zones, and those already visited this month.

    A monthly zone gets at most one visit a week, none when the last version of an
    earlier week of the month (:func:`earlier_weeks_in_month`) visited it.
    """
    monthly = set(monthly)
    seen: set[str] = set()
    for earlier in earlier_weeks_in_month(week) if monthly else []:
        found = load(earlier)
        if found is not None and "zone" in found[1]:
            seen |= set(found[1]["zone"].astype(str)) & monthly
    return {zone: 0 if zone in seen else 1 for zone in monthly}, seen
