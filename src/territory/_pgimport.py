"""A workspace file moved onto the server without loss: ``territory db import`` (issue #24).

:func:`import_file` copies every table of a GeoPackage workspace (layers, attribute
tables, the batch log, the copies kept for undos) into a new schema, with ``COPY`` and in
one transaction, then compares each table between the file and the server: number of
rows and a digest of the rows (:func:`checksum`), and the counts per
group. Any difference, or any error, drops the schema: nothing half-made stays on the
server. :func:`init_server` checks PostGIS and creates what the server needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory import _gpkg, _pg, _pgcopy, _pgstore
from territory._errors import WorkspaceError
from territory._layout import _META, _META_COLUMNS, _PROPS, GROUP_COUNTS, _counts_table
from territory.batches import BATCHES, ensure_log
from territory.store import ServerWorkspace, Workspace

__all__ = [
    "ImportReport",
    "TableCheck",
    "checksum",
    "import_file",
    "init_server",
    "list_workspaces",
]

_SKIPPED = re.compile(r"^(gpkg_|rtree_|sqlite_|territory_counts_|territory_migrations$)")
_KEPT_PROPERTIES = ("schema_version",)  # the server's own
_CHUNK = 50_000


@dataclass(frozen=True)
class TableCheck:
    """One table compared between the file and the server."""

    name: str
    file_rows: int
    server_rows: int
    file_sum: str
    server_sum: str

    @property
    def ok(self) -> bool:
        return self.file_rows == self.server_rows and self.file_sum == self.server_sum


@dataclass
class ImportReport:
    """What :func:`import_file` copied and compared."""

    file: str
    schema: str
    name: str
    tables: list[TableCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    def lines(self) -> list[str]:
        """The report in French, one line per table."""
        out = [f"Import de {self.file} vers « {self.schema} » ({self.name}) :"]
        for t in self.tables:
            mark = "identique" if t.ok else "DIFFÉRENT"
            rows = f"{t.file_rows} ligne(s)"
            if t.file_rows != t.server_rows:
                rows += f" dans le fichier, {t.server_rows} sur le serveur"
            out.append(f"  {t.name} : {rows}, somme {t.server_sum[:12]} — {mark}")
        verdict = "sans perte" if self.ok else "avec des différences : annulé"
        out.append(f"{len(self.tables)} table(s) comparée(s) : import {verdict}.")
        return out


def init_server(url: str) -> str:
    """Check the server and PostGIS (created when the role may), return their versions."""
    import psycopg

    with contextlib.closing(_pg.connect(url, autocommit=True)) as con:
        try:
            con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise WorkspaceError(
                "PostGIS absent de la base et impossible à installer avec ce rôle "
                f"({_pgstore.reason(exc)}) : « CREATE EXTENSION postgis » en administrateur"
            ) from exc
        row = con.execute("SELECT current_setting('server_version'), postgis_lib_version()")
        server, postgis = row.fetchone() or ("?", "?")
    return f"PostgreSQL {server}, PostGIS {postgis}"


def protect_server(url: str) -> dict[str, dict[str, str]]:
    """Row-level security on every workspace of the server (schema → table → scope).

    Each workspace's pending schema steps are applied first (the operator's connection:
    a user's session applies none, :func:`territory._pgrls.check_version`), so that
    ``territory db init`` after an upgrade is all the operator runs. Idempotent; no
    policy on a server without the access schema (``territory users init``).
    """
    found = {}
    for schema, _ in _pgstore.workspace_schemas(url):
        ws = ServerWorkspace(url, schema)
        ws.migrate()
        with ws.session(what=BATCHES) as con:
            ensure_log(con)  # the batch log a user's import writes to
        found[schema] = ws.protect()
    return found


def list_workspaces(url: str) -> list[tuple[str, str]]:
    """``(schema, display name)`` of the workspaces on the server."""
    return _pgstore.workspace_schemas(url)


def import_file(path: str | Path, url: str, *, name: str | None = None) -> ImportReport:
    """Copy the workspace file ``path`` into a new schema (``name``, else the file's stem).

    Raises :class:`WorkspaceError` (and leaves no schema) when the schema exists, a value
    is refused, or any table differs after the copy; the report says which.
    """
    source = Workspace.open_file(path)
    schema = _pgstore.schema_name(name or Path(path).stem)
    target = ServerWorkspace.create_on(url, schema, name=source.name, overwrite=False)
    report = ImportReport(Path(path).name, schema, source.name)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{source.path}?mode=ro", uri=True)) as db:
            tables = [
                str(r[0])
                for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
                if not _SKIPPED.match(str(r[0]))
            ]
            with target.session(what=schema) as con:
                for table in tables:
                    if table in (_META, _PROPS):
                        _copy_bookkeeping(db, con, table)
                    else:
                        _copy_table(db, con, schema, table)
            if BATCHES not in tables:  # the batch log a user's import writes to
                with target.session(what=BATCHES) as con:
                    ensure_log(con)
            target.protect()  # the tables copied as they are: their policies now
            for table in tables:
                report.tables.append(_compare(db, target, table))
        for table in GROUP_COUNTS:
            if source.has(table):
                report.tables.append(_compare_counts(source, target, table))
    except BaseException:
        _drop_schema(url, schema)
        raise
    if not report.ok:
        _drop_schema(url, schema)
    return report


def _drop_schema(url: str, schema: str) -> None:
    with contextlib.closing(_pg.connect(url, autocommit=True)) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _copy_bookkeeping(db: sqlite3.Connection, con: _pgstore.Connection, table: str) -> None:
    """The metadata rows (in their order) and the properties of the file, as they are."""
    if table == _META:
        columns = ", ".join(_META_COLUMNS)
        rows = db.execute(f"SELECT {columns} FROM {_META} ORDER BY fid").fetchall()
        con.execute(f"DELETE FROM {_META}")
        con.executemany(
            f"INSERT INTO {_META} ({columns}) VALUES ({', '.join('?' * len(_META_COLUMNS))})",
            rows,
        )
        return
    rows = db.execute(f"SELECT key, value FROM {_PROPS}").fetchall()
    kept = ", ".join(f"'{k}'" for k in _KEPT_PROPERTIES)
    con.execute(f"DELETE FROM {_PROPS} WHERE key NOT IN ({kept})")
    con.executemany(
        f"INSERT INTO {_PROPS} (key, value) VALUES (?, ?)",
        [r for r in rows if r[0] not in _KEPT_PROPERTIES],
    )


def _server_column(declared: str) -> str:
    kind = re.sub(r"\(.*", "", declared).strip().upper()
    if kind in ("INTEGER", "INT", "BIGINT", "MEDIUMINT", "SMALLINT", "TINYINT"):
        return "bigint"
    if kind in ("REAL", "DOUBLE", "FLOAT", "NUMERIC"):
        return "double precision"
    if kind == "BOOLEAN":
        return "boolean"
    if kind == "BLOB":
        return "bytea"
    return "text"  # TEXT, DATE, DATETIME and the rest: read back as the file stores them


_GEOMETRY_TYPES = {"GEOMETRY", "POINT", "LINESTRING", "POLYGON", "GEOMETRYCOLLECTION"}
_GEOMETRY_TYPES |= {f"MULTI{t}" for t in ("POINT", "LINESTRING", "POLYGON")}


def _geometry_column(db: sqlite3.Connection, table: str) -> str | None:
    """The table's geometry column: registered, or declared so (a layer's undo copy)."""
    if _gpkg.exists(db, "gpkg_geometry_columns"):
        row = db.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?)",
            (table,),
        ).fetchone()
        if row is not None:
            return str(row[0])
    declared = [c for c, t, _ in _gpkg.column_info(db, table) if t.upper() in _GEOMETRY_TYPES]
    return declared[0] if declared else None


def _copy_table(db: sqlite3.Connection, con: _pgstore.Connection, schema: str, table: str) -> None:
    """One table: same columns (the geometry as ``geom``), rows through ``COPY``."""
    info = _gpkg.column_info(db, table)
    geometry = _geometry_column(db, table)
    keys = [c for c, _, pk in info if pk]
    definitions = []
    for column, declared, pk in info:
        if column == geometry:
            definitions.append(f"{_pgstore.GEOMETRY} geometry(Geometry, 4326)")
        elif pk and len(keys) == 1 and _server_column(declared) == "bigint":
            definitions.append(f'"{column}" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')
        else:
            definitions.append(f'"{column}" {_server_column(declared)}')
    con.execute(f'CREATE TABLE "{table}" ({", ".join(definitions)})')
    _pgstore.unsampled(con, table, [c for c, _, _ in info])
    names = [_pgstore.GEOMETRY if c == geometry else c for c, _, _ in info]
    at = names.index(_pgstore.GEOMETRY) if geometry else -1
    quoted = ", ".join(f'"{c}"' for c in names)
    order = f' ORDER BY "{keys[0]}"' if keys else ""
    cursor = db.execute(f'SELECT * FROM "{table}"{order}')
    with con.raw.cursor() as out, out.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        while rows := cursor.fetchmany(_CHUNK):
            if at >= 0:
                hexes = _ewkb([r[at] for r in rows])
                rows = [(*r[:at], h, *r[at + 1 :]) for r, h in zip(rows, hexes, strict=True)]
            for row in rows:
                copy.write_row(row)
    if geometry:
        con.execute(f'CREATE INDEX "{table}_geom_gist" ON "{table}" USING gist (geom)')
    if len(keys) == 1 and _server_column(info[[c for c, _, _ in info].index(keys[0])][1]) == (
        "bigint"
    ):
        con.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{keys[0]}'), "
            f'(SELECT COALESCE(max("{keys[0]}"), 0) + 1 FROM "{table}"), false)'
        )
    if table in GROUP_COUNTS:
        _pgcopy.build_counts(con, schema, table)


def _ewkb(blobs: list[Any]) -> list[str | None]:
    """GeoPackage geometry blobs as EWKB hex in EPSG:4326 (None stays None)."""
    geoms = shapely.set_srid(_gpkg._geometries(tuple(blobs)), 4326)
    return list(shapely.to_wkb(geoms, hex=True, include_srid=True))


def _compare(db: sqlite3.Connection, target: ServerWorkspace, table: str) -> TableCheck:
    """Rows and digest of ``table`` in the file and on the server (geometries as WKB)."""
    geometry = _geometry_column(db, table)
    info = _gpkg.column_info(db, table)
    plain = [c for c, _, _ in info if c != geometry]
    cols = ", ".join(f'"{c}"' for c in plain) or "1 AS one"
    keys = [c for c, _, pk in info if pk]
    order = f' ORDER BY "{keys[0]}"' if keys else ""
    mine = pd.read_sql_query(f'SELECT {cols} FROM "{table}"{order}', db)
    theirs = target.query(f'SELECT {cols} FROM "{table}"{order}')
    if geometry and keys:
        blobs = [r[0] for r in db.execute(f'SELECT "{geometry}" FROM "{table}"{order}')]
        mine["geometry"] = _wkb_texts(_gpkg._geometries(tuple(blobs)))
        wkb = target.query(f'SELECT ST_AsBinary(geom) AS g FROM "{table}"{order}')["g"]
        theirs["geometry"] = _wkb_texts(
            shapely.from_wkb(np.array([None if v is None else bytes(v) for v in wkb], object))
        )
    return TableCheck(table, len(mine), len(theirs), checksum(mine), checksum(theirs))


def _wkb_texts(geoms: Any) -> list[str | None]:
    return list(shapely.to_wkb(np.asarray(geoms), hex=True))


def _compare_counts(source: Workspace, target: ServerWorkspace, table: str) -> TableCheck:
    mine, theirs = source.group_counts(table), target.group_counts(table)
    return TableCheck(
        _counts_table(table),
        len(mine),
        len(theirs),
        checksum(mine),
        checksum(theirs),
    )


def checksum(frame: pd.DataFrame) -> str:
    """A digest of a table's rows, whatever their order and the engine that read them.

    Each row is written as text (columns by name; a missing value, an integral float as
    the integer, a boolean as 0/1, a geometry as its WKB), and the sorted rows hashed.
    """
    columns = sorted(str(c) for c in frame.columns)
    texts = [_texts(frame[c]) for c in columns]
    rows = sorted("\x1f".join(r) for r in zip(*texts, strict=True)) if columns else []
    digest = hashlib.sha256("\x1f".join(columns).encode())
    for row in rows:
        digest.update(row.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def _texts(column: pd.Series) -> list[str]:
    if isinstance(column.dtype, gpd.array.GeometryDtype):
        wkb = shapely.to_wkb(np.asarray(column.values), hex=True)
        return ["\\N" if v is None else str(v) for v in wkb]
    return [_text(v) for v in column.to_numpy(dtype=object)]


def _text(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "\\N"
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if value != value:
            return "\\N"
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)
