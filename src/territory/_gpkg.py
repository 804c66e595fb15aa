"""GeoPackage tables copied and put back: SQL on a connection the store opened.

:class:`territory.store.Workspace` keeps a copy of a table before an import writes it and
puts it back on an undo (:meth:`~territory.store.Workspace.copy_table`,
:meth:`~territory.store.Workspace.restore_tables`); the SQL of a GeoPackage table, its
spatial index (an R-tree kept by triggers that call GDAL's functions, which SQLite alone
does not have) and its registration tables lives here, with :func:`read_features`, which
reads a layer through Python's ``sqlite3`` (its note says why not through GDAL). Nothing
here opens the file but :class:`Connection` and :func:`write_dataframe` /
:func:`read_arrow`, which keep GDAL's SQLite and Python's from having one file open at
the same time in this process (:class:`Sides`).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pyogrio.raw
import shapely

from territory._errors import WorkspaceError

__all__ = [
    "INDEX_COPY",
    "Connection",
    "Sides",
    "column_info",
    "column_types",
    "copy_table",
    "drop_registered",
    "exists",
    "read_arrow",
    "read_features",
    "restore_table",
    "write_dataframe",
]

INDEX_COPY = "__index"
"""Suffix of the copy of a table's spatial index entries."""
_REGISTRATION = (  # GeoPackage tables that register a table by its name
    "gpkg_contents",
    "gpkg_geometry_columns",
    "gpkg_ogr_contents",
    "gpkg_extensions",
    "gpkg_data_columns",
    "gpkg_metadata_reference",
)


def column_types(con: sqlite3.Connection, name: str) -> dict[str, str]:
    """The declared type of each column of ``name``."""
    return {str(r[1]): str(r[2]) for r in con.execute(f'PRAGMA table_info("{name}")')}


def column_info(con: sqlite3.Connection, name: str) -> list[list[Any]]:
    """``[name, declared type, part of the primary key]`` of each column of ``name``."""
    return [[str(r[1]), str(r[2]), int(r[5])] for r in con.execute(f'PRAGMA table_info("{name}")')]


def exists(con: sqlite3.Connection, name: str) -> bool:
    """Whether the file holds a table named ``name``."""
    return (
        con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        is not None
    )


def _row(con: sqlite3.Connection, table: str, name: str) -> dict[str, Any] | None:
    """The row of a registration table (``table_name`` = ``name``) as a dict, if any."""
    if not exists(con, table):
        return None
    cursor = con.execute(f"SELECT * FROM {table} WHERE lower(table_name) = lower(?)", (name,))
    found = cursor.fetchone()
    return (
        None if found is None else dict(zip([d[0] for d in cursor.description], found, strict=True))
    )


def _spatial_index(con: sqlite3.Connection, name: str) -> str | None:
    """The R-tree table of the GeoPackage layer ``name`` (None: no spatial index)."""
    geometry = _row(con, "gpkg_geometry_columns", name)
    if geometry is None:
        return None
    index = f"rtree_{name}_{geometry['column_name']}"
    return index if exists(con, index) else None


def copy_table(con: sqlite3.Connection, name: str, copy: str) -> dict[str, Any]:
    """Copy table ``name`` as ``copy``: its rows (same columns and types), index and registration.

    Returns what :func:`restore_table` needs, as plain JSON data.
    """
    columns = column_info(con, name)
    if not columns:
        raise WorkspaceError(f"la table « {name} » est absente du fichier")
    names = ", ".join(f'"{c}"' for c, _, _ in columns)
    con.execute(f'DROP TABLE IF EXISTS "{copy}"')
    con.execute(f'DROP TABLE IF EXISTS "{copy}{INDEX_COPY}"')
    definitions = ", ".join(f'"{c}" {t}' for c, t, _ in columns)
    con.execute(f'CREATE TABLE "{copy}" ({definitions})')
    con.execute(f'INSERT INTO "{copy}" ({names}) SELECT {names} FROM "{name}"')
    index = _spatial_index(con, name)
    if index is not None:
        con.execute(
            f'CREATE TABLE "{copy}{INDEX_COPY}" '
            "(id INTEGER, minx REAL, maxx REAL, miny REAL, maxy REAL)"
        )
        con.execute(
            f'INSERT INTO "{copy}{INDEX_COPY}" SELECT id, minx, maxx, miny, maxy FROM "{index}"'
        )
    return {
        "name": name,
        "copy": copy,
        "columns": columns,
        "index": index is not None,
        "contents": _row(con, "gpkg_contents", name),
        "geometry": _row(con, "gpkg_geometry_columns", name),
    }


def restore_table(con: sqlite3.Connection, saved: dict[str, Any]) -> None:
    """Give table ``saved["name"]`` the rows, columns and registration of its copy.

    Runs inside the caller's transaction. The table's triggers (spatial index, GDAL's
    feature count) are set aside while its rows are replaced, the spatial index entries
    are copied back rather than computed (SQLite alone cannot read a geometry), then the
    triggers come back.
    """
    name, copy = str(saved["name"]), str(saved["copy"])
    live = column_info(con, name)
    if not live or not exists(con, copy):
        missing = name if not live else f"la copie de « {name} »"
        raise WorkspaceError(f"{missing} absente du fichier : restauration impossible")
    wanted = {c: t for c, t, _ in saved["columns"]}
    if [c for c, _, pk in live if pk] != [c for c, _, pk in saved["columns"] if pk]:
        raise WorkspaceError(f"la clé de « {name} » a changé : restauration impossible")
    triggers = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (name,)
    ).fetchall()
    for trigger, _ in triggers:
        con.execute(f'DROP TRIGGER "{trigger}"')
    for column, declared, pk in live:
        if not pk and wanted.get(column, "").upper() != declared.upper():
            con.execute(f'ALTER TABLE "{name}" DROP COLUMN "{column}"')
    present = column_types(con, name)
    for column, declared, _ in saved["columns"]:
        if column not in present:
            con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {declared}')
    names = ", ".join(f'"{c}"' for c in wanted)
    con.execute(f'DELETE FROM "{name}"')
    con.execute(f'INSERT INTO "{name}" ({names}) SELECT {names} FROM "{copy}"')
    index = _spatial_index(con, name)
    if index is not None:
        con.execute(f'DELETE FROM "{index}"')
        if saved["index"]:
            entries = f'"{copy}{INDEX_COPY}"'
            con.execute(f'INSERT INTO "{index}" SELECT id, minx, maxx, miny, maxy FROM {entries}')
    for _, sql in triggers:
        con.execute(sql)
    if exists(con, "gpkg_ogr_contents"):
        con.execute(
            "UPDATE gpkg_ogr_contents SET feature_count = "
            f'(SELECT count(*) FROM "{name}") WHERE lower(table_name) = lower(?)',
            (name,),
        )
    for table in ("contents", "geometry"):
        row = saved[table]
        if row:
            fields = [k for k in row if k != "table_name"]
            con.execute(
                f"UPDATE gpkg_{'contents' if table == 'contents' else 'geometry_columns'} SET "
                + ", ".join(f'"{k}" = ?' for k in fields)
                + " WHERE lower(table_name) = lower(?)",
                (*(row[k] for k in fields), name),
            )


def drop_registered(con: sqlite3.Connection, name: str) -> None:
    """Drop table ``name``, its spatial index and its GeoPackage registration (as GDAL does)."""
    index = _spatial_index(con, name)
    if index is not None:
        con.execute(f'DROP TABLE "{index}"')
    con.execute(f'DROP TABLE IF EXISTS "{name}"')
    for table in _REGISTRATION:
        if exists(con, table):
            con.execute(f"DELETE FROM {table} WHERE lower(table_name) = lower(?)", (name,))


_INTEGERS = {"INTEGER": "int64", "INT": "int64", "BIGINT": "int64", "MEDIUMINT": "int32"}
_INTEGERS |= {"SMALLINT": "int16", "TINYINT": "int16"}
_FLOATS = {"REAL": "float64", "DOUBLE": "float64", "FLOAT": "float32"}
_ENVELOPE = (0, 32, 48, 48, 64)  # bytes of the envelope by its indicator (flags bits 1-3)


def read_features(
    con: sqlite3.Connection, name: str, columns: list[str] | None = None
) -> gpd.GeoDataFrame:
    """The GeoPackage layer ``name`` as GDAL reads it (same columns, dtypes, CRS, row order).

    Read in the caller's transaction through Python's ``sqlite3``, not GDAL: GDAL's
    wheel carries its own copy of SQLite, and two copies of SQLite in one process do not
    see each other's locks (POSIX locks belong to the process). A GDAL read while
    another thread of the process writes the file through ``sqlite3`` then takes the
    writer's journal for the leftover of a crash and fails (« attempt to write a
    readonly database ») or reads a half-written file. Geometries are the blobs' WKB
    (after their GeoPackage header); integer and boolean columns with nulls become
    floats, as GDAL's reader gives them.
    """
    geometry = _row(con, "gpkg_geometry_columns", name)
    if geometry is None:
        raise WorkspaceError(f"« {name} » n'est pas une couche géographique")
    geom = str(geometry["column_name"])
    declared = {c: t for c, t, pk in column_info(con, name) if not pk and c != geom}
    wanted = [c for c in declared if columns is None or c in columns]  # the layer's order
    names = ", ".join(f'"{c}"' for c in [*wanted, geom])
    rows = con.execute(f'SELECT {names} FROM "{name}" ORDER BY rowid').fetchall()
    values = list(zip(*rows, strict=True)) if rows else [()] * (len(wanted) + 1)
    data = {c: _column(v, declared[c]) for c, v in zip(wanted, values, strict=False)}
    return gpd.GeoDataFrame(
        data, geometry=_geometries(values[-1]), crs=_crs(con, geometry["srs_id"])
    )


def _column(values: tuple[Any, ...], declared: str) -> Any:
    """One column's values as the dtype GDAL's reader gives its declared type."""
    kind = re.sub(r"\(.*", "", declared).strip().upper()
    nulls = any(v is None for v in values)
    if kind in _INTEGERS or kind == "BOOLEAN":
        if nulls:
            return np.array(values, dtype="float64")
        return np.array(values, dtype="bool" if kind == "BOOLEAN" else _INTEGERS[kind])
    if kind in _FLOATS:
        return np.array(values, dtype=_FLOATS[kind])
    if kind in ("DATE", "DATETIME"):
        return _datetimes(values)
    if kind == "BLOB":
        return pd.Series(values, dtype="object")
    return pd.Series(list(values), dtype=None if nulls or not values else "str")


def _datetimes(values: tuple[Any, ...]) -> pd.Series:
    """ISO 8601 texts as milliseconds, in UTC when they carry an offset (as GDAL reads them)."""
    texts = pd.Series(values, dtype="object")
    try:
        stamps = pd.to_datetime(texts, format="ISO8601")
    except ValueError:  # offsets that differ from row to row
        stamps = pd.to_datetime(texts, format="ISO8601", utc=True)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        return stamps.dt.tz_convert("UTC").astype("datetime64[ms, UTC]")
    return stamps.astype("datetime64[ms]")


def _geometries(blobs: tuple[Any, ...]) -> np.ndarray:
    """Shapely geometries of GeoPackage geometry blobs (None stays None)."""
    wkb: list[bytes | None] = []
    for blob in blobs:
        if blob is None:
            wkb.append(None)
            continue
        start = 8 + _ENVELOPE[(blob[3] >> 1) & 7]
        wkb.append(bytes(blob[start:]))
    return np.asarray(shapely.from_wkb(np.array(wkb, dtype="object")))


def _crs(con: sqlite3.Connection, srs_id: Any) -> str | None:
    """The layer's CRS: ``EPSG:n`` or the WKT of its ``gpkg_spatial_ref_sys`` row."""
    found = con.execute(
        "SELECT organization, organization_coordsys_id, definition "
        "FROM gpkg_spatial_ref_sys WHERE srs_id = ?",
        (srs_id,),
    ).fetchone()
    if found is None or str(found[0]).upper() == "NONE":
        return None
    if str(found[0]).upper() == "EPSG":
        return f"EPSG:{found[1]}"
    return str(found[2])


# ------------------------------------------------------------- GDAL's SQLite and Python's
GDAL, SQLITE = "gdal", "sqlite3"


class Sides:
    """Who has one file open in this process: GDAL's SQLite or Python's, never both.

    GDAL's wheel carries its own copy of SQLite. SQLite tells the connections of one
    process apart through a table of its own (POSIX locks belong to the process, not to
    a connection), which the other copy does not see: a GDAL connection opened while a
    ``sqlite3`` one writes takes its journal for the leftover of a crash, and a ``sqlite3``
    one opened while GDAL writes may roll GDAL's transaction back under it. Any number
    of connections of one side share the file; the other side waits until the last one
    closes, and a side waiting lets no new connection of the other one in (no side
    starves). A thread that already holds a side never waits (nested uses).
    """

    _all: ClassVar[dict[str, Sides]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = {GDAL: 0, SQLITE: 0}
        self._waiting = {GDAL: 0, SQLITE: 0}
        self._mine = threading.local()

    @classmethod
    def of(cls, path: Any) -> Sides:
        """The sides of the file ``path`` (a path, or a ``file:`` URI)."""
        text = str(path)
        if text.startswith("file:"):
            text = text[5:].split("?", 1)[0]
        key = os.path.realpath(text)
        with cls._lock:
            return cls._all.setdefault(key, cls())

    def acquire(self, side: str) -> None:
        """Open the file on ``side`` once the other side has closed it."""
        other = SQLITE if side == GDAL else GDAL
        held = getattr(self._mine, GDAL, 0) + getattr(self._mine, SQLITE, 0)
        with self._cond:
            if not held:
                self._waiting[side] += 1
                try:
                    while self._open[other] or (self._waiting[other] and self._open[side]):
                        self._cond.wait()
                finally:
                    self._waiting[side] -= 1
            self._open[side] += 1
        setattr(self._mine, side, getattr(self._mine, side, 0) + 1)

    def release(self, side: str) -> None:
        """Close the file on ``side``."""
        setattr(self._mine, side, getattr(self._mine, side, 0) - 1)
        with self._cond:
            self._open[side] -= 1
            self._cond.notify_all()

    @contextlib.contextmanager
    def holding(self, side: str) -> Iterator[None]:
        """The file open on ``side`` for the block."""
        self.acquire(side)
        try:
            yield
        finally:
            self.release(side)


class Connection(sqlite3.Connection):
    """A ``sqlite3`` connection that holds its file's :class:`Sides` until it is closed.

    Pass as ``factory`` to :func:`sqlite3.connect`, and close it (``contextlib.closing``).
    """

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        self._sides: Sides | None = Sides.of(database)
        self._sides.acquire(SQLITE)
        try:
            super().__init__(database, *args, **kwargs)
        except BaseException:
            self._let_go()
            raise

    def close(self) -> None:
        """Close the connection and let GDAL open the file."""
        try:
            super().close()
        finally:
            self._let_go()

    def __del__(self) -> None:  # a connection dropped unclosed still lets GDAL in
        self._let_go()

    def _let_go(self) -> None:
        sides, self._sides = self._sides, None
        if sides is not None:
            sides.release(SQLITE)


def write_dataframe(df: pd.DataFrame, path: Any, **kwargs: Any) -> None:
    """:func:`pyogrio.write_dataframe`, once no ``sqlite3`` connection has the file open."""
    with Sides.of(path).holding(GDAL):
        pyogrio.write_dataframe(df, path, **kwargs)


def read_arrow(path: Any, **kwargs: Any) -> tuple[dict[str, Any], pa.Table]:
    """:func:`pyogrio.raw.read_arrow`, once no ``sqlite3`` connection has the file open."""
    with Sides.of(path).holding(GDAL):
        meta, table = pyogrio.raw.read_arrow(path, **kwargs)
    return meta, table
