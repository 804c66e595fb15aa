"""The counts per group kept with a table: which tables, and their SQLite tables and triggers.

:class:`territory.store.Workspace` keeps, for each table of :data:`GROUP_COUNTS`, a count
table ``territory_counts_<name>``; this module holds its SQL for the GeoPackage file
(SQLite triggers, the temporary table of :class:`territory.store.TableAppender`). The
server engine (:mod:`territory._pgstore`) keeps the same count table with PL/pgSQL
statement triggers of its own.
"""

from __future__ import annotations

import sqlite3

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
