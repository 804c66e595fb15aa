"""The saved weeks' two tables, and what is read of one week: its versions, its last one.

``plans`` holds one row per saved version of a week, ``plan_visits`` the visits of each
version (:mod:`territory.rounds.week` writes and reads them). Both are
:data:`territory._layout.PLAN_TABLES`: appending a version leaves the workspace's
``data_version`` unchanged, so that a week edited every few seconds does not empty the
app's other caches (:mod:`territory.cachekeys`). Every read here takes only the week's
rows (a week edited all day has hundreds of versions, the table thousands of rows).
"""

from __future__ import annotations

import pandas as pd

from territory.store import Workspace

__all__ = ["PLANS", "VISITS", "latest_version", "of_week", "plan_history", "week_teams"]

PLANS = "plans"
VISITS = "plan_visits"


def of_week(week: str) -> str:
    """The SQL filter on a plan table's ``week`` (quoted: a week is text from a page)."""
    quoted = week.replace("'", "''")
    return f"week = '{quoted}'"


def latest_version(ws: Workspace, week: str) -> int | None:
    """The last saved version of ``week`` (None: never planned), read from the store now.

    One small query, made at every rerun of the « Tournées » page: the versions themselves
    are cached by their number (never rewritten), this number never is.
    """
    if not ws.has(PLANS):
        return None
    found = ws.read_table(PLANS, columns=["version"], where=of_week(week))
    return None if found.empty else int(found["version"].max())


def plan_history(ws: Workspace, week: str) -> pd.DataFrame:
    """Versions of ``week``: ``version``, ``created``, ``author``, ``change``, ``objective``."""
    if not ws.has(PLANS):
        return pd.DataFrame(columns=["version", "created", "author", "change", "objective"])
    history = ws.read_table(PLANS, where=of_week(week)).sort_values("version")
    return history[["version", "created", "author", "change", "objective"]].reset_index(drop=True)


def week_teams(ws: Workspace, week: str, *, through: int) -> list[str]:
    """The teams of ``week``'s versions up to ``through``, sorted: who gets a calendar.

    The teams of :func:`territory.rounds.outputs.ics_calendars` of version ``through``
    (its teams, and those whose visits an earlier version had: their cancellations),
    without writing the calendars.
    """
    if not ws.has(VISITS):
        return []
    rows = ws.read_table(
        VISITS, columns=["team"], where=f"{of_week(week)} AND version <= {through}"
    )
    return sorted(set(rows["team"].dropna().astype(str)))
