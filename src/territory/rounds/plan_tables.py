"""The saved weeks' two tables, and what is read of one week: its versions (:class:`WeekPlan`).

``plans`` holds one row per saved version of a week, ``plan_visits`` the visits of each
version (:mod:`territory.rounds.week` writes and reads them). A week is planned per
programme territory: its versions are those of one ``territory`` (the name of the
territory planned, :data:`~territory._layout.WHOLE` for the whole workspace), so that
the chefs d'équipe of two territories plan the same week each on their own, and the
server's policies give each the rows of their territories only
(:mod:`territory.access.rls`: a table with a ``territory`` column is scoped by it). Both are
:data:`territory._layout.PLAN_TABLES`: appending a version leaves the workspace's
``data_version`` unchanged, so that a week edited every few seconds does not empty the
app's other caches (:mod:`territory.cachekeys`). Every read here takes only the week's
rows (a week edited all day has hundreds of versions, the table thousands of rows).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from territory._layout import WHOLE
from territory.rounds.naming import with_zone_names
from territory.store import Workspace

__all__ = [
    "PLANS",
    "VISITS",
    "WeekPlan",
    "latest_version",
    "load_plan",
    "of_week",
    "plan_history",
    "plan_territory",
    "plan_versions",
    "session_territory",
    "week_teams",
]

PLANS = "plans"
VISITS = "plan_visits"


def plan_territory(territory: str | None) -> str:
    """The ``territory`` a plan of ``territory`` is stored under (None: the whole workspace)."""
    from territory.territories import is_whole

    return WHOLE if territory is None or is_whole(territory) else territory


def of_week(week: str, territory: str | None = None) -> str:
    """The SQL filter on a plan table's ``week`` and ``territory`` (quoted: text from a page)."""

    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    return f"week = {quoted(week)} AND territory = {quoted(plan_territory(territory))}"


def latest_version(ws: Workspace, week: str, territory: str | None = None) -> int | None:
    """The last saved version of ``week`` (None: never planned), read from the store now.

    One small query, made at every rerun of the « Tournées » page: the versions themselves
    are cached by their number (never rewritten), this number never is.
    """
    if not ws.has(PLANS):
        return None
    found = ws.read_table(PLANS, columns=["version"], where=of_week(week, territory))
    return None if found.empty else int(found["version"].max())


def plan_history(ws: Workspace, week: str, territory: str | None = None) -> pd.DataFrame:
    """Versions of ``week``: ``version``, ``created``, ``author``, ``change``, ``objective``."""
    if not ws.has(PLANS):
        return pd.DataFrame(columns=["version", "created", "author", "change", "objective"])
    history = ws.read_table(PLANS, where=of_week(week, territory)).sort_values("version")
    return history[["version", "created", "author", "change", "objective"]].reset_index(drop=True)


def week_teams(
    ws: Workspace, week: str, *, through: int, territory: str | None = None
) -> list[str]:
    """The teams of ``week``'s versions up to ``through``, sorted: who gets a calendar.

    The teams of :func:`territory.rounds.outputs.ics_calendars` of version ``through``
    (its teams, and those whose visits an earlier version had: their cancellations),
    without writing the calendars.
    """
    if not ws.has(VISITS):
        return []
    # one row per team and version (a week may have hundreds of versions of tens of visits)
    rows = ws.read_table(
        VISITS,
        columns=["team"],
        where=f"fid IN (SELECT min(fid) FROM {VISITS} WHERE {of_week(week, territory)} "
        f"AND version <= {int(through)} GROUP BY team)",
    )
    return sorted(set(rows["team"].dropna().astype(str)))


@dataclass(frozen=True)
class WeekPlan:
    """A plan of one ISO week, as stored: its visits with place names and dates.

    ``created`` is when the version was saved (local time; None for a plan built in
    memory and never saved): the calendars stamp their events with it. ``territory``: the
    programme territory planned (:data:`~territory._layout.WHOLE`: the whole workspace);
    a week has its versions per territory (:mod:`territory.rounds.plan_tables`).
    """

    week: str
    version: int
    visits: pd.DataFrame
    notes: tuple[str, ...]
    objective: float
    created: datetime | None = None
    territory: str = WHOLE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``{"week", "version", "objective", "visits": [...], "notes"}``.

        Datetimes are ISO (local time, with offset).
        """
        visits = [
            {
                "team": row.team,
                "place": row.place,
                "place_name": row.place_name,
                "kind": row.kind,
                "zone": row.zone,
                "zone_name": str(getattr(row, "zone_name", "") or ""),
                "code_zone": str(getattr(row, "code_zone", "") or ""),
                "start": row.start.isoformat(),
                "end": row.end.isoformat(),
                "locked": bool(row.locked),
                "value": round(float(row.value), 3),
                "pourquoi": str(getattr(row, "pourquoi", "") or ""),
            }
            for row in self.visits.itertuples(index=False)
        ]
        return {
            "week": self.week,
            "version": self.version,
            "objective": round(self.objective, 3),
            "visits": visits,
            "notes": list(self.notes),
        }


def load_plan(
    ws: Workspace, week: str, *, version: int | None = None, territory: str | None = None
) -> WeekPlan | None:
    """The last (or a given) saved version of ``week`` on ``territory``; None when never planned.

    ``territory``: the programme territory planned (None: the whole workspace).
    """
    if not ws.has(PLANS):
        return None
    week_of = of_week(week, territory)  # one version's rows only: a week may have hundreds
    last = f"(SELECT max(version) FROM {PLANS} WHERE {week_of})"
    which = last if version is None else str(int(version))
    history = ws.read_table(PLANS, where=f"{week_of} AND version = {which}")
    if history.empty:
        return None
    meta = history.sort_values("version").iloc[-1]
    where = f"{week_of} AND version = {int(meta['version'])}"
    found = _week_plan(meta, ws.read_table(VISITS, where=where))
    return dataclasses.replace(found, visits=with_zone_names(ws, found.visits))


def plan_versions(
    ws: Workspace, week: str, *, before: int | None = None, territory: str | None = None
) -> list[WeekPlan]:
    """Every saved version of ``week`` on ``territory``, oldest first (those before ``before``).

    The calendars read them to cancel the visits that a newer version removed
    (:func:`territory.rounds.outputs.write_ics`).
    """
    if not ws.has(PLANS):
        return []
    history = ws.read_table(PLANS, where=of_week(week, territory)).sort_values("version")
    if before is not None:
        history = history[history["version"] < before]
    if history.empty:
        return []
    visits = ws.read_table(VISITS, where=of_week(week, territory))
    plans = [_week_plan(meta, visits) for _, meta in history.iterrows()]
    return [dataclasses.replace(p, visits=with_zone_names(ws, p.visits)) for p in plans]


def _week_plan(meta: pd.Series, visits: pd.DataFrame) -> WeekPlan:
    """One stored version: its ``plans`` row and the ``plan_visits`` rows (any week)."""
    week = str(meta["week"])
    visits = visits[(visits["week"] == week) & (visits["version"] == meta["version"])]
    visits = visits.drop(columns=["week", "version", "territory"], errors="ignore")
    visits = visits.reset_index(drop=True)
    for column in ("start", "end"):
        visits[column] = visits[column].map(datetime.fromisoformat)
    visits["locked"] = visits["locked"].astype(bool)
    if "pourquoi" not in visits:  # saved before the reasons were stored
        visits["pourquoi"] = ""
    visits["pourquoi"] = visits["pourquoi"].fillna("").astype(str)
    created = meta.get("created")
    return WeekPlan(
        week,
        int(meta["version"]),
        visits,
        tuple(json.loads(meta["notes"])),
        float(meta["objective"]),
        datetime.fromisoformat(created) if isinstance(created, str) and created else None,
        str(meta.get("territory") or WHOLE),
    )


def session_territory(ws: Workspace, territory: str | None) -> str | None:
    """The territory a command plans when none is given: a scoped session's only one.

    On the server, a session of a user scoped to one territory (a chef d'équipe of one
    territory) plans and reads that territory's weeks; otherwise, and on a file, the
    whole workspace (None) unless ``territory`` says which. A chef of several territories
    names one: the whole workspace is not theirs to write (« ligne hors de vos
    territoires »).
    """
    if territory is not None or getattr(ws, "token", None) is None:
        return territory
    if ws.writable_communes() is None:  # a workspace-wide grant
        return None
    from territory.territories import list_territories

    names = [t.name for t in list_territories(ws)]
    return names[0] if len(names) == 1 else None
