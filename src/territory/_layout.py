"""The workspace's layout, shared by its two engines (the file and the server).

The bookkeeping tables (``territory_layers``, ``territory_workspace``), what a layer's
metadata row holds (:class:`LayerInfo`), the numbered schema steps (:data:`MIGRATIONS`),
the tables whose rows are counted per group (:data:`GROUP_COUNTS`) and the SQL that keeps
those counts in the GeoPackage file (SQLite triggers, the temporary table of
:class:`territory.store.TableAppender`); the server engine (:mod:`territory._pgstore`)
keeps the same count tables with PL/pgSQL statement triggers of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from territory._errors import WorkspaceError

SCHEMA_VERSION = 3
"""The workspace layout this code writes: the last step of :data:`MIGRATIONS`."""
Columns = Callable[[str], set[str]]
"""A workspace table's columns (empty: no such table), as each engine reads them."""
Step = str | Callable[[Any, Columns], None]
"""One statement of a schema step: portable SQL, or a function of the connection and of
the tables' columns (a step on tables the workspace may not have yet)."""
WHOLE = ""
"""The ``territory`` of a plan or a team of the whole workspace (no programme territory)."""


def _territory_columns(con: Any, columns: Columns) -> None:
    """Step 3: the ``territory`` of the teams, of the weeks' plans and of their visits.

    The server's policies scope a table with a ``territory`` column by territory
    (:func:`territory.access.rls.scope_of`): a chef d'équipe reads and writes the plans and
    teams of their territories only. The territory a week was planned on was never
    stored, so existing rows get, in portable SQL:

    * a team: its ``secteur`` when it names a programme territory, else :data:`WHOLE`;
    * a week (every version and visit of it): the territory of the teams of all its
      visits when they share one, else :data:`WHOLE` (teams of several territories or of
      none, a week without visits). A :data:`WHOLE` row is read on the server by the
      workspace-wide sessions only (they may plan it again on a territory).
    """
    teams = columns("teams")
    if teams and "territory" not in teams:
        con.execute('ALTER TABLE "teams" ADD COLUMN "territory" TEXT')
        named = "secteur" in teams and "name" in columns("territories")
        fill = "(SELECT name FROM territories WHERE name = teams.secteur)" if named else "NULL"
        con.execute(f"UPDATE teams SET territory = coalesce({fill}, '')")
    plans, visits = columns("plans"), columns("plan_visits")
    for name, have in (("plans", plans), ("plan_visits", visits)):
        if have and "territory" not in have:
            con.execute(f'ALTER TABLE "{name}" ADD COLUMN "territory" TEXT')
    if not (plans and visits) or "territory" in plans:
        return
    by_team = "(SELECT min(t.territory) FROM teams t WHERE t.nom = plan_visits.team)"
    con.execute(f"UPDATE plan_visits SET territory = {by_team if teams else 'NULL'}")
    con.execute(
        "UPDATE plans SET territory = coalesce((SELECT min(v.territory) FROM plan_visits v "
        "WHERE v.week = plans.week GROUP BY v.week "
        "HAVING count(DISTINCT coalesce(v.territory, '')) = 1), '')"
    )
    con.execute(
        "UPDATE plan_visits SET territory = coalesce((SELECT p.territory FROM plans p "
        "WHERE p.week = plan_visits.week AND p.version = plan_visits.version), '')"
    )


MIGRATIONS: tuple[tuple[int, str, tuple[Step, ...]], ...] = (
    (
        2,
        "journal des migrations (territory_migrations)",
        (
            (
                "CREATE TABLE IF NOT EXISTS territory_migrations (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied TEXT NOT NULL)"
            ),
        ),
    ),
    (3, "territoire des équipes et des plans (teams, plans, plan_visits)", (_territory_columns,)),
)
"""Numbered schema steps after version 1 (the first layout), in portable SQL.

``Workspace.open`` and ``Workspace.create`` apply, in one transaction, the steps a
workspace has not had (its ``schema_version`` property), on the file and on the server
alike, and log each in ``territory_migrations``. A new step is appended here with the
next number, and ``SCHEMA_VERSION`` follows it.
"""
TERRITORY_TABLES = ("teams", "plans", "plan_visits")
"""The tables step 3 gives a ``territory`` column (their policies change with it)."""
PERSON_COLUMNS = frozenset({"personne", "fingerprint", "cle"})
"""Columns of person-level keys (pseudonym, fingerprint, record key: ``privacy.raw``,
``privacy.parcours``). The server's planner never samples them (statistics target 0):
``pg_statistic`` keeps sample values of a column, and neither a purge nor ``VACUUM FULL``
reaches it — a purged pseudonym stayed there, found by ``tests/privacy/test_nothing_left``."""
_META = "territory_layers"
_PROPS = "territory_workspace"
_STAMP = "written:"  # property key prefix: the version at which a table was last written
DATA_VERSION = "data_version"
"""The property holding the workspace version of the last write outside :data:`PLAN_TABLES`."""
PLAN_TABLES = frozenset({"plans", "plan_visits"})
"""The tables of the rounds' saved weeks (``territory.rounds.week.PLANS`` and ``VISITS``).

Every edit of a week appends a version to them, several times a minute when a team edits
its plans. Such a write bumps ``version`` but not ``data_version``, so that what depends
on every other table (maps, protected figures, indicators, candidate places) stays cached;
what a week shows is keyed on the week's own version numbers, which are never rewritten
in place. Any other write, a plan table's included when it is not an append of new
versions (an undo, a purge, a column added), bumps both (:func:`keep_data_version`).
"""


def keep_data_version(con: Any, *, plans_only: bool, bumped: bool) -> None:
    """Keep :data:`DATA_VERSION` beside ``version``: both engines' write step, portable SQL.

    Called before the bump of ``version`` (``bumped`` false) and after it (true). A write
    of :data:`PLAN_TABLES` only leaves ``data_version`` where it was (a workspace written
    before the property existed gets the version before the bump); any other write sets
    it to the new version. A writer that forgets to say "plans only" so only costs a
    cache miss, never a stale figure.
    """
    if plans_only and not bumped:
        con.execute(
            f"INSERT INTO {_PROPS} (key, value) SELECT ?, value FROM {_PROPS} "
            "WHERE key = 'version' ON CONFLICT (key) DO NOTHING",
            (DATA_VERSION,),
        )
    elif not plans_only and bumped:
        con.execute(
            f"INSERT INTO {_PROPS} (key, value) SELECT ?, value FROM {_PROPS} "
            "WHERE key = 'version' ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (DATA_VERSION,),
        )


@dataclass(frozen=True)
class LayerInfo:
    """What the workspace records about one layer or table."""

    name: str
    count: int
    spatial: bool
    crs: str | None
    source: str
    vintage: str
    licence: str
    source_crs: str | None
    updated: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


GROUP_COUNTS: dict[str, tuple[str, ...]] = {"contacts": ("cell", "commune")}
"""Tables whose number of rows per group is kept up to date: name → grouping columns.

The count table ``territory_counts_<name>`` holds one row ``(columns…, n)`` per group,
equal to ``SELECT columns, count(*) AS n FROM name GROUP BY columns`` at all times:

* SQLite triggers on the table add and remove each inserted, deleted or updated row,
  whatever program writes it (this module, GDAL, QGIS…);
* :class:`TableAppender`, which appends many rows at once, sets its insert trigger aside
  for its transaction and adds the appended rows per group, once, before the commit;
* a table replaced through GDAL loses its triggers: the count table is built again
  from the table after each such write (:meth:`Workspace.write_table`).

The count table is used only while its three triggers are in place (a workspace made
before, or a table replaced by another program, is counted from the table itself);
the next append builds it.
"""
_ADDED = "territory_added"  # temporary table: rows appended per group, not counted yet
_GROUPED = "territory_grouped"  # the same, one row per group


def _counts_table(name: str) -> str:
    return f"territory_counts_{name}"


def _columns(names: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in names)


def _count_triggers(name: str) -> tuple[str, str, str]:
    """Names of the insert, delete and update triggers that keep the counts of ``name``."""
    counts = _counts_table(name)
    return f"{counts}_insert", f"{counts}_delete", f"{counts}_update"


def _counts_in_place(con: sqlite3.Connection, name: str) -> bool:
    """Whether the count table of ``name`` and its three triggers are in the file."""
    names = (_counts_table(name), *_count_triggers(name))
    (found,) = con.execute(
        f"SELECT count(*) FROM sqlite_master WHERE name IN ({', '.join('?' * len(names))})",
        names,
    ).fetchone()
    return int(found) == len(names)


def _typed_keys(con: sqlite3.Connection, name: str) -> str:
    """The grouping columns of ``name`` with their declared types (same affinity)."""
    declared = dict(con.execute("SELECT name, type FROM pragma_table_info(?)", (name,)))
    return ", ".join(f'"{k}" {declared.get(k, "")}' for k in GROUP_COUNTS[name])


def _build_counts(con: sqlite3.Connection, name: str) -> None:
    """(Re)make the count table of ``name`` from its rows, and its triggers.

    Runs inside the caller's transaction.
    """
    keys = GROUP_COUNTS[name]
    counts = _counts_table(name)
    columns = _columns(keys)
    con.execute(f'DROP TABLE IF EXISTS "{counts}"')
    con.execute(f'CREATE TABLE "{counts}" ({_typed_keys(con, name)}, n INTEGER NOT NULL)')
    con.execute(
        f'INSERT INTO "{counts}" ({columns}, n) '
        f'SELECT {columns}, count(*) FROM "{name}" GROUP BY {columns}'
    )
    con.execute(f'CREATE INDEX "{counts}_key" ON "{counts}" ({columns})')

    def same(row: str) -> str:  # IS: a NULL key is a group, as in GROUP BY
        return " AND ".join(f'"{k}" IS {row}."{k}"' for k in keys)

    def add(row: str) -> str:
        return (
            f'INSERT INTO "{counts}" ({columns}, n) SELECT {_columns(keys, f"{row}.")}, 0 '
            f'WHERE NOT EXISTS (SELECT 1 FROM "{counts}" WHERE {same(row)}); '
            f'UPDATE "{counts}" SET n = n + 1 WHERE {same(row)};'
        )

    def remove(row: str) -> str:
        return (
            f'UPDATE "{counts}" SET n = n - 1 WHERE {same(row)}; '
            f'DELETE FROM "{counts}" WHERE n = 0 AND {same(row)};'
        )

    insert, delete, update = _count_triggers(name)
    for trigger, event, body in (
        (insert, "INSERT", add("NEW")),
        (delete, "DELETE", remove("OLD")),
        (update, f"UPDATE OF {columns}", remove("OLD") + " " + add("NEW")),
    ):
        con.execute(f'DROP TRIGGER IF EXISTS "{trigger}"')
        con.execute(
            f'CREATE TRIGGER "{trigger}" AFTER {event} ON "{name}" FOR EACH ROW BEGIN {body} END'
        )


def _create_added(con: sqlite3.Connection, name: str) -> None:
    """The temporary table where :class:`TableAppender` keeps its counts until the commit."""
    con.execute(f"DROP TABLE IF EXISTS temp.{_ADDED}")
    con.execute(f"CREATE TEMP TABLE {_ADDED} ({_typed_keys(con, name)}, n INTEGER NOT NULL)")


def _add_counts(con: sqlite3.Connection, name: str) -> None:
    """Add the counts waiting in the temporary table (negative: rows deleted) to the count table.

    They are grouped first, in SQL: a group appended in several frames, or two values
    that the columns' declared type stores alike, is one group.
    """
    keys = GROUP_COUNTS[name]
    counts = _counts_table(name)
    columns = _columns(keys)
    same = " AND ".join(f'c."{k}" IS g."{k}"' for k in keys)
    con.execute(
        f"CREATE TEMP TABLE {_GROUPED} AS "
        f"SELECT {columns}, sum(n) AS n FROM temp.{_ADDED} GROUP BY {columns}"
    )
    con.execute(f'UPDATE "{counts}" AS c SET n = c.n + g.n FROM temp.{_GROUPED} AS g WHERE {same}')
    con.execute(
        f'INSERT INTO "{counts}" ({columns}, n) SELECT {columns}, n FROM temp.{_GROUPED} AS g '
        f'WHERE NOT EXISTS (SELECT 1 FROM "{counts}" AS c WHERE {same})'
    )
    con.execute(f'DELETE FROM "{counts}" WHERE n = 0')  # groups left without a row
    con.execute(f"DROP TABLE temp.{_GROUPED}")
    con.execute(f"DROP TABLE temp.{_ADDED}")


def _kind(column: pd.Series) -> str | None:
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return "text"
    if isinstance(dtype, pd.CategoricalDtype):  # bound as its values: text categories only
        categories = dtype.categories.dtype
        text = isinstance(categories, pd.StringDtype) or categories.kind == "O"
        return "text" if text else None
    if not isinstance(dtype, np.dtype):
        return None
    if dtype.kind == "O":
        return "text"
    if dtype.kind in "ib" or (dtype.kind == "u" and dtype.itemsize < 8):
        return "integer"
    return "float" if dtype.kind == "f" else None


_META_COLUMNS = (
    "name",
    "count",
    "spatial",
    "crs",
    "source",
    "vintage",
    "licence",
    "source_crs",
    "updated",
)


def _meta_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    name, count, spatial, crs, source, vintage, licence, source_crs, updated = row
    return (
        name,
        int(count),
        bool(spatial),
        crs,
        source or "",
        vintage or "",
        licence or "",
        source_crs,
        updated or "",
    )


def migrate_with(con: Any, label: str, columns: Columns) -> bool:
    """Apply the pending :data:`MIGRATIONS` on ``con`` (either engine, in its transaction).

    ``columns``: a table's columns as the engine reads them. Whether a step was applied.
    """
    row = con.execute(f"SELECT value FROM {_PROPS} WHERE key = 'schema_version'").fetchone()
    current = int(row[0]) if row is not None else 1
    if current > SCHEMA_VERSION:
        raise WorkspaceError(
            f"{label} a été écrit par une version plus récente de territory "
            f"(schéma {current}, celle-ci lit jusqu'au {SCHEMA_VERSION}) : mettez-la à jour"
        )
    applied = False
    for version, description, statements in MIGRATIONS:
        if version <= current:
            continue
        applied = True
        for statement in statements:
            if isinstance(statement, str):
                con.execute(statement)
            else:
                statement(con, columns)
        con.execute(
            "INSERT INTO territory_migrations (version, description, applied) VALUES (?, ?, ?)",
            (version, description, _now()),
        )
        con.execute(f"UPDATE {_PROPS} SET value = ? WHERE key = 'schema_version'", (str(version),))
    return applied


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
