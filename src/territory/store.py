"""The workspace: one GeoPackage file that holds a territory's layers and tables.

This module is the only code that reads or writes it, so that a PostgreSQL/PostGIS
backend can later sit behind the same interface. A GeoPackage is SQLite: a single
file a team keeps on one laptop and that QGIS opens directly.

Spatial layers are stored in EPSG:4326. Every layer and table has a row in
``territory_layers`` (source, vintage, licence, source CRS, count, update time), and
every write bumps ``version``, which caches use as their key. The tables of
:data:`GROUP_COUNTS` also keep their number of rows per group in a count table, so that
reading those counts does not scan them (:meth:`Workspace.group_counts`).

Examples
--------
>>> import tempfile, geopandas as gpd, shapely
>>> path = Path(tempfile.mkdtemp()) / "w.gpkg"
>>> ws = Workspace.create(path, name="Essai")
>>> gdf = gpd.GeoDataFrame({"code": ["00001"]}, geometry=[shapely.Point(2.5, 46.5)], crs=4326)
>>> ws.write_layer("communes", gdf, source="test", vintage="2026")
>>> ws.layers()["communes"].count
1
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from territory import _gpkg, _pg, _pgrls, _pgstore
from territory._errors import WorkspaceError, plain_reason
from territory._layout import (
    _ADDED,
    _META,
    _META_COLUMNS,
    _PROPS,
    _STAMP,
    DATA_VERSION,
    GROUP_COUNTS,
    PLAN_TABLES,
    SCHEMA_VERSION,
    LayerInfo,
    _add_counts,
    _build_counts,
    _columns,
    _count_triggers,
    _counts_in_place,
    _counts_table,
    _create_added,
    _kind,
    _meta_row,
    _now,
    keep_data_version,
    migrate_with,
)
from territory.crs import STORAGE_CRS

DATABASE_URL_SETTING = "TERRITORY_DATABASE_URL"
APP_DATABASE_URL_SETTING = "TERRITORY_APP_DATABASE_URL"
SESSION_TOKEN_SETTING = "TERRITORY_SESSION_TOKEN"


class Workspace:
    """A territory's workspace file. Use :meth:`create` or :meth:`open`."""

    writes_here: int = 0
    """How many writes were made through this object (others' writes are not counted)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(cls, path: str | Path, *, name: str, overwrite: bool = False) -> Workspace:
        """Create an empty workspace named ``name`` (the territory's display name).

        A file, or a schema on the server (:func:`server_target`): the server's address
        ``postgresql://…#schema``, or any path when ``TERRITORY_DATABASE_URL`` is set.
        """
        if (server := server_target(path)) is not None:
            return cast(
                Workspace, ServerWorkspace.create_on(*server, name=name, overwrite=overwrite)
            )
        path = Path(path)
        if path.exists():
            if not overwrite:
                raise WorkspaceError(f"l'espace de travail {path} existe déjà")
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Writing a first attribute table through GDAL makes a valid GeoPackage
        # (application id, gpkg_* tables) that QGIS recognises.
        meta = pd.DataFrame({c: pd.Series(dtype="str") for c in _META_COLUMNS}).astype(
            {"count": "int64", "spatial": "int64"}
        )
        _gpkg.write_dataframe(meta, path, layer=_META, driver="GPKG")
        with contextlib.closing(sqlite3.connect(path, factory=_gpkg.Connection)) as con, con:
            con.execute(f"CREATE TABLE {_PROPS} (key TEXT PRIMARY KEY, value TEXT)")
            con.executemany(
                f"INSERT INTO {_PROPS} VALUES (?, ?)",
                [
                    ("name", name),
                    ("schema_version", "1"),
                    ("created", _now()),
                    ("version", "0"),
                ],
            )
        ws = cls(path)
        ws.migrate()
        return ws

    @classmethod
    def open(cls, path: str | Path) -> Workspace:
        """Open an existing workspace, with a French message if it is missing or damaged.

        A file, or a schema on the server (as :meth:`create`); pending
        :data:`MIGRATIONS` are applied.
        """
        if (server := server_target(path)) is not None:
            return cast(Workspace, ServerWorkspace.open_on(*server))
        return cls.open_file(path)

    @classmethod
    def open_file(cls, path: str | Path) -> Workspace:
        """Open the workspace file ``path``, whatever ``TERRITORY_DATABASE_URL`` says."""
        path = Path(path)
        if not path.exists():
            raise WorkspaceError(
                f"espace de travail introuvable : {path} "
                "(créez-le avec « territory demo --workspace CHEMIN » ou importez un territoire)"
            )
        if path.is_dir() or path.stat().st_size == 0:
            raise WorkspaceError(f"{path} est vide ou n'est pas un fichier d'espace de travail")
        try:
            with contextlib.closing(_read_only(path)) as con:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
                if _PROPS not in tables or _META not in tables:
                    raise WorkspaceError(
                        f"{path} n'est pas un espace de travail territory "
                        "(fichier SQLite/GeoPackage sans les tables attendues)"
                    )
                con.execute(f"SELECT count(*) FROM {_META}").fetchone()
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(
                f"{path.name} est endommagé ou n'est pas un GeoPackage : {plain_reason(exc)}"
            ) from exc
        ws = cls(path)
        ws.migrate()
        return ws

    def migrate(self) -> None:
        """Apply the :data:`MIGRATIONS` this workspace has not had yet (none: nothing written)."""
        with contextlib.closing(_read_only(self.path)) as con:
            row = con.execute(f"SELECT value FROM {_PROPS} WHERE key = 'schema_version'").fetchone()
        if row is not None and int(row[0]) == SCHEMA_VERSION:
            return
        with _transaction(self.path, what="migration") as con:

            def columns(name: str) -> set[str]:
                rows = con.execute("SELECT name FROM pragma_table_info(?)", (name,)).fetchall()
                return {str(r[0]) for r in rows}

            migrate_with(con, self.label, columns)

    @property
    def key(self) -> str:
        """What tells this workspace from any other: the cache key of what is read from it."""
        return str(self.path)

    @property
    def label(self) -> str:
        """The workspace as messages name it (a file's name, never its folder)."""
        return self.path.name

    @property
    def changed_ns(self) -> int:
        """When the file was last changed by anyone (GDAL, QGIS): part of cache keys."""
        return self.path.stat().st_mtime_ns

    def columns(self, name: str) -> list[str]:
        """The columns of the stored table ``name``, in order (none when it is missing)."""
        with self._connect() as con:
            return list(_gpkg.column_types(con, name))

    def table_names(self) -> list[str]:
        """Every table of the workspace, registered or not (copies, the batch log)."""
        with self._connect() as con:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return sorted(str(r[0]) for r in rows)

    # --------------------------------------------------------------- properties
    @property
    def name(self) -> str:
        """Display name of the territory."""
        return self.get_property("name") or self.path.stem

    @property
    def version(self) -> int:
        """Counter bumped by every write: the key of every cache over this workspace."""
        return int(self.get_property("version") or 0)

    @property
    def data_version(self) -> int:
        """:attr:`version` at the last write outside the saved weeks (:data:`PLAN_TABLES`).

        The key of the caches of everything but the weeks' plans: a plan saved leaves it
        unchanged. Read fresh, like :attr:`version` (never cached).
        """
        value = self.get_property(DATA_VERSION)
        return int(value) if value is not None else self.version

    def get_property(self, key: str) -> str | None:
        """A workspace-level property (``name``, ``created``, ``version``…)."""
        with self._connect() as con:
            row = con.execute(f"SELECT value FROM {_PROPS} WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_property(self, key: str, value: str) -> None:
        """Set a workspace-level property."""
        with self._connect() as con:
            con.execute(f"INSERT OR REPLACE INTO {_PROPS} VALUES (?, ?)", (key, value))
            self._bump(con)

    # ------------------------------------------------------------------ layers
    def layers(self) -> dict[str, LayerInfo]:
        """Every stored layer and table with its metadata, in insertion order."""
        with self._connect() as con:
            rows = con.execute(
                f"SELECT {', '.join(_META_COLUMNS)} FROM {_META} ORDER BY fid"
            ).fetchall()
        return {r[0]: LayerInfo(*_meta_row(r)) for r in rows}

    def has(self, name: str) -> bool:
        """Whether a layer or table of this name is stored."""
        return name in self.layers()

    def writable_communes(self) -> frozenset[str] | None:
        """The communes this workspace lets its user write rows of; None: any (the file).

        On the server, in a user's session: the communes of their ``chef_equipe`` or
        ``admin`` grants (None with a workspace-wide one), what the policies let through.
        """
        return None

    def write_layer(
        self,
        name: str,
        gdf: gpd.GeoDataFrame,
        *,
        source: str,
        vintage: str,
        licence: str = "",
        source_crs: str | None = None,
    ) -> None:
        """Replace the spatial layer ``name`` with ``gdf`` (reprojected to EPSG:4326)."""
        if gdf.crs is None:
            raise WorkspaceError(f"la couche {name} n'a pas de système de coordonnées")
        src_crs = source_crs or gdf.crs.to_string()
        out = gdf.to_crs(STORAGE_CRS) if not gdf.crs.equals(STORAGE_CRS) else gdf
        _gpkg.write_dataframe(
            out.reset_index(drop=True), self.path, layer=name, driver="GPKG", promote_to_multi=None
        )
        self._keep_counts(name)
        self._record(name, len(out), True, STORAGE_CRS, source, vintage, licence, src_crs)

    def write_table(
        self,
        name: str,
        df: pd.DataFrame,
        *,
        source: str,
        vintage: str,
        licence: str = "",
        append: bool = False,
    ) -> None:
        """Write (or append to) the attribute table ``name`` (no geometry).

        Appending goes through :meth:`appending` (one transaction, multi-row inserts)
        when every column is text, integer, float or boolean; an object column must then
        hold str, int, float or None.
        """
        if append and self.has(name):
            if len(df) and _appendable(df):
                with self.appending(
                    name, schema=df.iloc[:0], source=source, vintage=vintage, licence=licence
                ) as table:
                    table.append(df)
                return
            if len(df):
                _gpkg.write_dataframe(
                    df.reset_index(drop=True), self.path, layer=name, driver="GPKG", append=True
                )
            count = self._row_count(name)
        else:
            _gpkg.write_dataframe(df.reset_index(drop=True), self.path, layer=name, driver="GPKG")
            count = len(df)
        self._keep_counts(name)
        self._record(name, count, False, None, source, vintage, licence, None)

    @contextlib.contextmanager
    def appending(
        self,
        name: str,
        *,
        schema: pd.DataFrame,
        source: str,
        vintage: str = "",
        licence: str = "",
        constant: Mapping[str, Any] | None = None,
    ) -> Iterator[TableAppender]:
        """Append rows to the attribute table ``name``, chunk by chunk, in one transaction.

        The table is created from ``schema`` (an empty frame: its columns and dtypes)
        when missing. Everything appended is committed when the block ends, or rolled
        back if it raises; then the table's metadata row is updated (``vintage`` and
        ``source`` may be changed on the appender inside the block). Memory holds one
        chunk at a time. ``constant`` gives columns the same value in every appended row
        (a batch id).

        Examples
        --------
        >>> import tempfile
        >>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Essai")
        >>> schema = pd.DataFrame({"code": pd.Series(dtype=str), "n": pd.Series(dtype="int64")})
        >>> with ws.appending("t", schema=schema, source="test") as table:
        ...     table.append(pd.DataFrame({"code": ["a", "b"], "n": [1, 2]}))
        ...     table.append(pd.DataFrame({"code": ["c"], "n": [3]}))
        >>> ws.layers()["t"].count
        3
        """
        table = self._appender(name, schema, constant)
        try:
            yield table
            table.commit()
        except BaseException:
            table.rollback()
            raise
        self._record(
            name,
            self._row_count(name),
            False,
            None,
            table.source or source,
            table.vintage or vintage,
            licence,
            None,
        )

    def append_rows(
        self,
        tables: Mapping[str, pd.DataFrame],
        *,
        source: str,
        vintage: str,
        licence: str = "",
        check: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        """Append rows to several attribute tables in one immediate transaction.

        ``check`` runs first, in that transaction: what it reads cannot change before the
        rows are written (another writer, even in another process, waits for the
        commit), and an exception it raises writes nothing. "Read the last number, write
        the next one" is so one step. A missing table is first created empty through
        GDAL from the frame's columns and dtypes. Not for the tables of
        :data:`GROUP_COUNTS`; every column must be text, integer, float or boolean.
        """
        for name, df in tables.items():
            bad = [str(c) for c in df.columns if _kind(df[c]) is None]
            if name in GROUP_COUNTS or bad:
                why = ", ".join(bad) or "table comptée par groupe"
                raise WorkspaceError(f"« {name} » : ajout impossible ({why})")
            with self._connect() as con:
                missing = not _gpkg.exists(con, name)
            if missing:  # GDAL creates it, so that it is a proper GeoPackage table
                empty = df.iloc[:0].reset_index(drop=True)
                _gpkg.write_dataframe(empty, self.path, layer=name, driver="GPKG")
        with _transaction(self.path, what=", ".join(tables)) as con:
            if check is not None:
                check(con)
            for name, df in tables.items():
                if len(df):
                    _insert(con, f'"{name}"', df)
                count = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
                _record_in(con, (count, 0, None, source, vintage, licence, None, _now(), name))
                _stamp(con, name)
            self._bump(con, plans_only=set(tables) <= PLAN_TABLES)

    def read_layer(self, name: str, *, columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """A stored spatial layer, in EPSG:4326, read in one transaction.

        Read through ``sqlite3``, as every other read and write of this module, not
        through GDAL (:func:`territory._gpkg.read_features` says why): a read while
        another thread writes the file then waits for its commit or reads before it.
        """
        self._require(name)
        with self._connect() as con:
            con.execute("BEGIN")  # one snapshot for the registration and the rows
            return _gpkg.read_features(con, name, columns)

    def read_table(
        self, name: str, *, columns: list[str] | None = None, where: str | None = None
    ) -> pd.DataFrame:
        """A stored attribute table, optionally a column subset and an SQL ``where`` filter."""
        self._require(name)
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = f'SELECT {cols} FROM "{name}"' + (f" WHERE {where}" if where else "")
        with self._connect() as con:
            df = pd.read_sql_query(sql, con)
        return df.drop(columns=["fid"], errors="ignore")

    def read_arrow(
        self, name: str, *, columns: list[str], where: str | None = None
    ) -> tuple[pa.Table, np.ndarray]:
        """Columns of the attribute table ``name`` as an Arrow table, and the rows' fids.

        Read through GDAL's Arrow stream (several times faster than rows through
        ``sqlite3``); ``where`` is an SQL filter on the table's columns.
        """
        self._require(name)
        _, table = _gpkg.read_arrow(
            self.path,
            layer=name,
            columns=columns,
            where=where,
            read_geometry=False,
            return_fids=True,
        )
        fid = next(c for c in table.column_names if c not in columns)
        return table.select(columns), table.column(fid).to_numpy()

    def update_rows(self, name: str, assignments: str, where: str, params: tuple[Any, ...]) -> int:
        """``UPDATE name SET assignments WHERE where`` in one transaction; rows changed."""
        self._require(name)
        with _transaction(self.path, what=name) as con:
            sql = f'UPDATE "{name}" SET {assignments} WHERE {where}'
            changed = con.execute(sql, params).rowcount
            if changed:
                self._bump(con)
        return int(changed)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
        """Run a read-only SQL query (aggregations over tables stay in SQLite)."""
        with contextlib.closing(_read_only(self.path)) as con:
            return pd.read_sql_query(sql, con, params=params)

    def group_counts(self, name: str) -> pd.DataFrame:
        """Rows of the table ``name`` per group of its :data:`GROUP_COUNTS` columns.

        The same frame as ``SELECT columns, count(*) AS n FROM name GROUP BY columns
        ORDER BY columns``, read from the count table kept with the table (one row per
        group instead of a scan of every row) when it is in place, else counted from
        the table.

        Examples
        --------
        >>> import tempfile
        >>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Essai")
        >>> rows = pd.DataFrame({"cell": ["a", "b", "a"], "commune": ["1", "1", "1"]})
        >>> ws.write_table("contacts", rows, source="test", vintage="")
        >>> ws.group_counts("contacts")
          cell commune  n
        0    a       1  2
        1    b       1  1
        """
        self._require(name)
        keys = _columns(GROUP_COUNTS[name])
        counts = _counts_table(name)
        with contextlib.closing(_read_only(self.path)) as con:
            con.execute("BEGIN")  # one snapshot for the check and the read
            if _counts_in_place(con, name):
                sql = f'SELECT {keys}, n FROM "{counts}" ORDER BY {keys}'
            else:
                sql = f'SELECT {keys}, count(*) AS n FROM "{name}" GROUP BY {keys} ORDER BY {keys}'
            return pd.read_sql_query(sql, con)

    def delete_rows(
        self,
        name: str,
        where: str,
        params: tuple[Any, ...] = (),
        *,
        then: Callable[[sqlite3.Connection, int], None] | None = None,
    ) -> int:
        """Delete the rows of table ``name`` matching ``where``; returns how many.

        The counts of a :data:`GROUP_COUNTS` table are lowered once per group (its delete
        trigger, once per row, is set aside meanwhile), in the same transaction. ``then``
        runs in that transaction too, with the connection and the number of rows deleted
        (the batch log records what was deleted): if it raises, nothing is deleted.
        """
        self._require(name)
        with _transaction(self.path, what=name) as con:
            trigger = None  # the SQL of the delete trigger set aside
            if name in GROUP_COUNTS and _counts_in_place(con, name):
                delete, keys = _count_triggers(name)[1], _columns(GROUP_COUNTS[name])
                (trigger,) = con.execute(
                    "SELECT sql FROM sqlite_master WHERE name = ?", (delete,)
                ).fetchone()
                con.execute(f'DROP TRIGGER "{delete}"')
                _create_added(con, name)
                con.execute(
                    f"INSERT INTO temp.{_ADDED} "
                    f'SELECT {keys}, -count(*) FROM "{name}" WHERE {where} GROUP BY {keys}',
                    params,
                )
            n = con.execute(f'DELETE FROM "{name}" WHERE {where}', params).rowcount
            if trigger is not None:
                _add_counts(con, name)
                con.execute(trigger)
            con.execute(
                f'UPDATE {_META} SET count = (SELECT count(*) FROM "{name}"), updated = ? '
                "WHERE name = ?",
                (_now(), name),
            )
            if then is not None:
                then(con, int(n))
            self._bump(con)
            _stamp(con, name)
        return int(n)

    @contextlib.contextmanager
    def transaction(self, *, what: str) -> Iterator[sqlite3.Connection]:
        """A connection in one immediate transaction, committed at the end of the block.

        For the workspace's own bookkeeping tables (the batch log): an error rolls back
        everything done in the block (SQLite errors become a French
        :class:`~territory.WorkspaceError` naming ``what``). The workspace's version is
        bumped with the commit.
        """
        with _transaction(self.path, what=what) as con:
            yield con
            self._bump(con)

    def stamps(self) -> dict[str, int]:
        """The workspace version at which each table was last written through the store.

        Set by every write of this module (a table replaced, appended to, deleted from or
        restored), so that a later change of a table can be told from its state right
        after an import. Writes by other programs (GDAL, QGIS) leave no stamp.
        """
        with self._connect() as con:
            rows = con.execute(
                f"SELECT key, value FROM {_PROPS} WHERE key LIKE ?", (f"{_STAMP}%",)
            ).fetchall()
        return {str(k)[len(_STAMP) :]: int(v) for k, v in rows}

    def add_column(self, name: str, column: str, sql_type: str, fill: str | None = None) -> bool:
        """Add ``column`` to table ``name`` when it lacks it (earlier files); whether added.

        Rows already stored get NULL, or the SQL expression ``fill`` (one transaction).
        """
        self._require(name)
        with _transaction(self.path, what=name) as con:
            if column in _gpkg.column_types(con, name):
                return False
            con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {sql_type}')
            if fill is not None:
                con.execute(f'UPDATE "{name}" SET "{column}" = {fill}')
            self._bump(con)
        return True

    # ------------------------------------------------------------ table copies
    def copy_table(self, name: str, copy: str) -> dict[str, Any] | None:
        """Keep a copy of table ``name`` under ``copy``: what :meth:`restore_tables` needs.

        The copy holds the rows (with their ``fid``), the entries of the spatial index and
        the table's registration (GeoPackage contents, geometry column, the metadata row of
        ``territory_layers``), returned as plain JSON data. None when ``name`` is not
        stored. The copy is an unregistered table: GDAL and QGIS do not list it.
        """
        if not self.has(name):
            return None
        with _transaction(self.path, what=name) as con:
            saved = _gpkg.copy_table(con, name, copy)
            meta = con.execute(
                f"SELECT {', '.join(_META_COLUMNS)} FROM {_META} WHERE name = ?", (name,)
            ).fetchone()
        return {**saved, "meta": None if meta is None else list(meta)}

    def restore_tables(
        self,
        saved: Iterable[dict[str, Any]],
        *,
        absent: Iterable[str] = (),
        properties: Mapping[str, str | None] | None = None,
        stamps: Mapping[str, int | None] | None = None,
        then: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        """Put back tables copied by :meth:`copy_table`, in one transaction.

        Each table of ``saved`` gets its copied rows, spatial index entries, columns and
        registration back; each table of ``absent`` (not stored before) is dropped with its
        registration; each of ``properties`` is set back (None: removed). The tables get
        the write stamps of ``stamps`` back (the state they are in again; None: none), or
        new ones. ``then`` runs in the same transaction (the batch log). Any error leaves
        the file as it was.
        """
        saved, absent = list(saved), list(absent)
        with _transaction(self.path, what="restauration") as con:
            for table in saved:
                _gpkg.restore_table(con, table)
                if table["meta"] is not None:  # its source, vintage, count, update time
                    values = dict(zip(_META_COLUMNS, table["meta"], strict=True))
                    name = values.pop("name")
                    assignments = ", ".join(f"{c} = ?" for c in values)
                    con.execute(
                        f"UPDATE {_META} SET {assignments} WHERE name = ?", (*values.values(), name)
                    )
            for name in absent:
                _gpkg.drop_registered(con, name)
                con.execute(f"DELETE FROM {_META} WHERE name = ?", (name,))
            for key, value in (properties or {}).items():
                if value is None:
                    con.execute(f"DELETE FROM {_PROPS} WHERE key = ?", (key,))
                else:
                    con.execute(f"INSERT OR REPLACE INTO {_PROPS} VALUES (?, ?)", (key, value))
            if then is not None:
                then(con)
            self._bump(con)
            for name in [*(table["name"] for table in saved), *absent]:
                if stamps is None or name not in stamps:
                    _stamp(con, name)
                elif stamps[name] is None:
                    con.execute(f"DELETE FROM {_PROPS} WHERE key = ?", (f"{_STAMP}{name}",))
                else:
                    con.execute(
                        f"INSERT OR REPLACE INTO {_PROPS} VALUES (?, ?)",
                        (f"{_STAMP}{name}", str(stamps[name])),
                    )

    def drop_copies(self, copies: Iterable[str]) -> None:
        """Drop copies made by :meth:`copy_table`, with their index entries (missing: skipped)."""
        with _transaction(self.path, what="copies") as con:
            for copy in copies:
                con.execute(f'DROP TABLE IF EXISTS "{copy}"')
                con.execute(f'DROP TABLE IF EXISTS "{copy}{_gpkg.INDEX_COPY}"')

    @property
    def compacts_later(self) -> bool:
        """Whether :meth:`compact` leaves the space to the operator's scheduled maintenance.

        False on the file, and on the server with the operator's connection: it is
        reclaimed at once. True in a user's session on the server, where ``VACUUM FULL``
        (the table owner's) is the nightly ``vacuumdb --full`` of ``deploy/systemd``.
        """
        return False

    def compact(self) -> None:
        """Rebuild the file without its free pages (``VACUUM``): nothing deleted stays in it.

        Deleted rows are already overwritten with zeros (``secure_delete``, set by every
        connection of the store whatever the platform's SQLite default); this also drops the
        pages that other writers (GDAL) freed, and shrinks the file.
        """
        try:
            with contextlib.closing(_open(self.path, isolation_level=None)) as con:
                con.execute(_SECURE_DELETE)
                con.execute("VACUUM")
        except sqlite3.Error as exc:
            raise WorkspaceError(
                f"compactage de {self.path.name} impossible : {plain_reason(exc)}"
            ) from exc

    # ----------------------------------------------------------------- private
    def _appender(
        self, name: str, schema: pd.DataFrame, constant: Mapping[str, Any] | None
    ) -> TableAppender:
        return TableAppender(self, name, schema, constant=constant)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            con = _open(self.path)
        except sqlite3.Error as exc:  # pragma: no cover - depends on the filesystem
            raise WorkspaceError(
                f"impossible d'ouvrir {self.path.name} : {plain_reason(exc)}"
            ) from exc
        try:
            with con:
                yield con
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{self.path.name} est endommagé : {plain_reason(exc)}") from exc
        finally:
            con.close()

    def _keep_counts(self, name: str) -> None:
        """Build the count table of ``name`` (:data:`GROUP_COUNTS`) if it is not in place.

        Called after every write through GDAL: replacing a table drops its triggers.
        """
        if name not in GROUP_COUNTS:
            return
        with _transaction(self.path, what=name) as con:
            if not _counts_in_place(con, name):
                _build_counts(con, name)

    def _require(self, name: str) -> None:
        if not self.has(name):
            raise WorkspaceError(
                f"la couche « {name} » n'existe pas dans {self.label} "
                f"(couches présentes : {', '.join(self.layers()) or 'aucune'})"
            )

    def _row_count(self, name: str) -> int:
        with self._connect() as con:
            return int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])

    def _record(
        self,
        name: str,
        count: int,
        spatial: bool,
        crs: str | None,
        source: str,
        vintage: str,
        licence: str,
        source_crs: str | None,
    ) -> None:
        values = (count, int(spatial), crs, source, vintage, licence, source_crs, _now(), name)
        with self._connect() as con:
            _record_in(con, values)
            self._bump(con)
            _stamp(con, name)

    def _bump(self, con: sqlite3.Connection, *, plans_only: bool = False) -> None:
        self.writes_here += 1
        keep_data_version(con, plans_only=plans_only, bumped=False)
        con.execute(f"UPDATE {_PROPS} SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")
        keep_data_version(con, plans_only=plans_only, bumped=True)


class TableAppender:
    """Rows appended to one attribute table in one transaction: see :meth:`Workspace.appending`.

    Rows go in through multi-row ``INSERT`` statements (a few hundred rows each) on one
    connection. GDAL's feature-count triggers, which would run one ``UPDATE`` per row
    inserted or deleted (:meth:`delete`), are dropped for the transaction and
    re-created, with the count set once, before the commit (as GDAL's own bulk writes
    do): the file stays a valid GeoPackage and, the whole being one transaction, a
    failure or a crash leaves it as it was before. No ``PRAGMA`` that trades safety for
    speed is used.

    A table of :data:`GROUP_COUNTS` gets the same treatment: its insert trigger is set
    aside, the rows of each appended frame are counted per group (from the codes of a
    categorical column, without hashing its values), those counts are summed in memory
    (one row per group), and they are added to the count table once, before the commit.
    """

    def __init__(
        self,
        ws: Workspace,
        name: str,
        schema: pd.DataFrame,
        *,
        constant: Mapping[str, Any] | None = None,
    ) -> None:
        self.ws, self.name, self.schema = ws, name, schema
        self.constant = dict(constant or {})
        self.vintage = ""
        self.source = ""
        self._con: sqlite3.Connection | None = None
        self._triggers: list[tuple[str, str]] = []
        self._keys = GROUP_COUNTS.get(name)
        self._sizes: list[pd.DataFrame] = []  # rows appended per group, frame by frame

    def append(self, df: pd.DataFrame) -> None:
        """Insert the rows of ``df`` (its columns must be columns of the table)."""
        if not len(df):
            return
        if self.constant:
            df = df.assign(**self.constant)
        con = self._begin()
        sizes = None if self._keys is None else _group_sizes(df, self._keys, table=self.name)
        try:
            _insert(con, f'"{self.name}"', df)
        except sqlite3.Error as exc:
            raise WorkspaceError(
                f"écriture de « {self.name} » impossible : {plain_reason(exc)}"
            ) from exc
        if sizes is not None:
            self._sizes.append(sizes)
            if len(self._sizes) >= _SUMMED_EVERY:  # memory: about one row per group
                self._sizes = [_sum_sizes(self._sizes, sizes.columns[:-1])]

    def delete(self, where: str, params: tuple[Any, ...] = ()) -> int:
        """Delete the table's rows matching ``where`` in the same transaction; how many.

        What is deleted and what is appended are committed, or rolled back, together: a
        table whose rows are replaced part by part (a département's addresses) never
        holds half of an import. Not for the tables of :data:`GROUP_COUNTS`, whose
        counts :meth:`Workspace.delete_rows` keeps.
        """
        if self._keys is not None:
            raise WorkspaceError(f"« {self.name} » : supprimez ses lignes avec delete_rows")
        con = self._begin()
        try:
            return int(con.execute(f'DELETE FROM "{self.name}" WHERE {where}', params).rowcount)
        except sqlite3.Error as exc:
            raise WorkspaceError(
                f"écriture de « {self.name} » impossible : {plain_reason(exc)}"
            ) from exc

    def discard(self) -> None:
        """Forget every row appended so far (the transaction goes on)."""
        if self._con is not None:
            self._con.execute("ROLLBACK TO appending")
            self._sizes.clear()

    def commit(self) -> None:
        """Make the appended rows permanent (the table is created even without rows)."""
        con = self._begin()
        try:
            con.execute("RELEASE appending")
            if any(name.startswith(_FEATURE_COUNTS) for name, _ in self._triggers):
                con.execute(
                    "UPDATE gpkg_ogr_contents SET feature_count = "
                    f'(SELECT count(*) FROM "{self.name}") WHERE lower(table_name) = lower(?)',
                    (self.name,),
                )
            if self._keys is not None:
                if self._sizes:
                    _insert(con, f"temp.{_ADDED}", _sum_sizes(self._sizes, self._keys))
                _add_counts(con, self.name)
            for _, sql in self._triggers:
                con.execute(sql)
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise WorkspaceError(
                f"écriture de « {self.name} » impossible : {plain_reason(exc)}"
            ) from exc
        finally:
            self._close()

    def rollback(self) -> None:
        """Undo everything appended (the triggers come back with the rollback)."""
        if self._con is not None:
            with contextlib.suppress(sqlite3.Error):
                self._con.execute("ROLLBACK")
            self._close()

    def _begin(self) -> sqlite3.Connection:
        if self._con is not None:
            return self._con
        if not self._exists():  # GDAL creates it, so that it is a proper GeoPackage table
            _gpkg.write_dataframe(
                self.schema.iloc[:0].reset_index(drop=True),
                self.ws.path,
                layer=self.name,
                driver="GPKG",
            )
        con = _open(self.ws.path, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            if self._keys is not None:
                if not _counts_in_place(con, self.name):
                    _build_counts(con, self.name)
                _create_added(con, self.name)
            self._triggers = con.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
                "AND (name LIKE ? OR name LIKE ? OR name = ?)",
                (
                    self.name,
                    f"{_FEATURE_COUNTS[0]}%",
                    f"{_FEATURE_COUNTS[1]}%",
                    _count_triggers(self.name)[0],
                ),
            ).fetchall()
            for trigger, _ in self._triggers:
                con.execute(f'DROP TRIGGER "{trigger}"')
            con.execute("SAVEPOINT appending")
        except sqlite3.Error as exc:
            con.close()
            raise WorkspaceError(
                f"écriture de « {self.name} » impossible : {plain_reason(exc)}"
            ) from exc
        self._con = con
        return con

    def _exists(self) -> bool:
        with contextlib.closing(_open(self.ws.path)) as con:
            row = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.name,)
            ).fetchone()
        return row is not None

    def _close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


_SECURE_DELETE = "PRAGMA secure_delete = ON"  # deleted content overwritten, on every platform
_SUMMED_EVERY = 8  # frames of counts per group kept before they are summed into one
_ROWS_PER_INSERT = 250  # rows per INSERT statement: fewer statements, same bindings
# GDAL's triggers, one UPDATE per row inserted or deleted
_FEATURE_COUNTS = ("trigger_insert_feature_count_", "trigger_delete_feature_count_")


def _insert(con: sqlite3.Connection, table: str, df: pd.DataFrame) -> None:
    """Insert the rows of ``df`` into ``table`` (a quoted name) with multi-row statements."""
    columns = [str(c) for c in df.columns]
    width = len(columns)
    values = np.empty((len(df), width), dtype=object)
    for j, column in enumerate(columns):
        values[:, j] = _sql_values(df[column])
    flat = values.ravel().tolist()
    limit = con.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(_ROWS_PER_INSERT, limit // width))
    names = ", ".join(f'"{c}"' for c in columns)
    one = "(" + ", ".join("?" * width) + ")"

    def insert(rows: int) -> str:
        return f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * rows)

    full = len(df) // per * per
    step = per * width
    if full:
        con.executemany(insert(per), (flat[i : i + step] for i in range(0, full * width, step)))
    if full < len(df):
        con.execute(insert(len(df) - full), flat[full * width :])


def _group_sizes(df: pd.DataFrame, keys: tuple[str, ...], *, table: str) -> pd.DataFrame:
    """Rows of ``df`` per distinct combination of the ``keys`` columns (``n``).

    A categorical column is grouped on its codes (its categories are distinct); any
    other column must hold text or missing values, grouped like SQLite groups them
    (two numbers equal in Python, ``1`` and ``1.0``, are different texts in SQLite).
    """
    codes, values = [], []
    for key in keys:
        column = df[key]
        if isinstance(column.dtype, pd.CategoricalDtype):
            code = column.cat.codes.to_numpy().astype(np.intp)
            unique = np.array([*column.cat.categories, None], dtype=object)
            code[code < 0] = len(unique) - 1  # missing values
        else:
            if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
                raise WorkspaceError(
                    f"écriture de « {table} » impossible : la colonne « {key} » "
                    "doit contenir du texte"
                )
            code, unique = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=False)
            unique = np.asarray(unique, dtype=object)
        codes.append(code)
        values.append(unique)
    shape = tuple(len(v) for v in values)
    group, inverse = np.unique(np.ravel_multi_index(codes, shape), return_inverse=True)
    where = np.unravel_index(group, shape)
    sizes = {key: v[w] for key, v, w in zip(keys, values, where, strict=True)}
    return pd.DataFrame({**sizes, "n": np.bincount(inverse.ravel(), minlength=len(group))})


def _sum_sizes(sizes: list[pd.DataFrame], keys: Iterable[str]) -> pd.DataFrame:
    """The frames of :func:`_group_sizes` as one, one row per group (``None`` a group)."""
    if len(sizes) == 1:
        return sizes[0]
    every = pd.concat(sizes, ignore_index=True)
    summed = every.groupby(list(keys), dropna=False, sort=False)["n"].sum()
    return summed.reset_index()


@contextlib.contextmanager
def _transaction(path: Path, *, what: str) -> Iterator[sqlite3.Connection]:
    """A connection in an immediate transaction, committed at the end (rolled back on error)."""
    con = _open(path, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise WorkspaceError(f"écriture de « {what} » impossible : {plain_reason(exc)}") from exc
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def _open(path: Path, **kwargs: Any) -> sqlite3.Connection:
    """A connection to the file with ``secure_delete`` on, holding it from GDAL's SQLite.

    :class:`territory._gpkg.Connection`: while it is open no GDAL call of this module
    opens the file (two copies of SQLite in one process do not see each other's locks).
    """
    con = sqlite3.connect(path, factory=_gpkg.Connection, **kwargs)
    try:
        con.execute(_SECURE_DELETE)
    except BaseException:
        con.close()
        raise
    return con


def _read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to the file (:func:`_open`'s guard, no ``secure_delete``)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, factory=_gpkg.Connection)


def _record_in(con: sqlite3.Connection, values: tuple[Any, ...]) -> None:
    """Update (or add) a table's row of the metadata table; ``name`` is the last value."""
    updated = con.execute(
        f"UPDATE {_META} SET count=?, spatial=?, crs=?, source=?, vintage=?, licence=?, "
        "source_crs=?, updated=? WHERE name=?",
        values,
    ).rowcount
    if not updated:
        con.execute(
            f"INSERT INTO {_META} (count, spatial, crs, source, vintage, licence, "
            "source_crs, updated, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )


# ------------------------------------------------------------ stamps and table copies


def _stamp(con: sqlite3.Connection, name: str) -> None:
    """Record that table ``name`` was written at the current version (:meth:`Workspace.stamps`)."""
    con.execute(
        f"INSERT OR REPLACE INTO {_PROPS} (key, value) "
        f"SELECT ?, value FROM {_PROPS} WHERE key = 'version'",
        (f"{_STAMP}{name}",),
    )


def _appendable(df: pd.DataFrame) -> bool:
    """Whether every column of ``df`` can be bound as it is by :class:`TableAppender`."""
    return all(_kind(df[c]) is not None for c in df.columns)


def _sql_values(column: pd.Series) -> np.ndarray:
    """The column as Python objects SQLite binds: str, int, float, None for missing.

    An object column is passed as it is: its missing values must be None or NaN
    (SQLite stores a NaN as NULL).
    """
    kind = _kind(column)
    if kind is None:
        raise WorkspaceError(f"colonne « {column.name} » : type {column.dtype} non pris en charge")
    if kind == "integer":
        return cast("np.ndarray", column.to_numpy().astype(np.int64).astype(object))
    if column.dtype.kind == "O":  # None and NaN are bound as NULL as they are
        return cast("np.ndarray", column.to_numpy(copy=False))
    return cast("np.ndarray", column.to_numpy(dtype=object, na_value=None))


def server_target(target: str | Path) -> tuple[str, str, str | None] | None:
    """The server URL, schema and session token of a workspace on the server; None for a file.

    ``target`` is an address ``postgresql://…/database#schema`` (``;session=…``: a user's,
    :mod:`territory._pgrls`), or — when ``TERRITORY_DATABASE_URL`` is set — any name or
    path, whose stem names the schema (``workspaces/demo.gpkg``: ``demo``). With
    ``TERRITORY_SESSION_TOKEN`` (the command line run as a user), a name opens the schema
    as the app role (``TERRITORY_APP_DATABASE_URL``) in that session, never as the owner.
    """
    text = str(target)
    if text.startswith(("postgresql:/", "postgres:/")) and "://" not in text:  # a Path's form
        text = text.replace(":/", "://", 1)
    if _pg.is_server_url(text):
        return _pgstore.split_address(text)
    if token := os.environ.get(SESSION_TOKEN_SETTING, ""):  # a user's session: the app role
        url = os.environ.get(APP_DATABASE_URL_SETTING) or os.environ.get(DATABASE_URL_SETTING)
        if not url:
            raise WorkspaceError(
                f"{SESSION_TOKEN_SETTING} demande le serveur : {APP_DATABASE_URL_SETTING} "
                "(rôle de l'application)"
            )
        return url, _pgstore.schema_name(Path(text).stem), token
    if not os.environ.get(DATABASE_URL_SETTING):
        return None
    return os.environ[DATABASE_URL_SETTING], _pgstore.schema_name(Path(text).stem), None


def server_workspaces(url: str = "") -> list[tuple[str, str]] | None:
    """``(name, display name)`` of the server's workspaces; None when files are used.

    The server is ``url`` (the app role's, on a server with accounts), else
    ``TERRITORY_DATABASE_URL``; each name opens with :meth:`Workspace.open`.
    """
    url = url or os.environ.get(DATABASE_URL_SETTING, "")
    return _pgstore.workspace_schemas(url) if url else None


def session_address(url: str, target: str | Path, token: str) -> str:
    """The address of workspace ``target`` at ``url`` (the app role's) in session ``token``.

    :meth:`Workspace.open` of it reaches the schema as the app role, every transaction in
    that user's session, under row-level security (:mod:`territory._pgrls`).
    """
    return _pgrls.with_session(url, server_name(target), token)


def server_name(target: str | Path) -> str:
    """The name on the server of the workspace ``target`` (a name, or a file's path)."""
    return _pgstore.schema_name(Path(str(target)).stem)


# ------------------------------------------------------------------ the server
class ServerWorkspace(_pgstore.ServerMethods, Workspace):
    """A workspace stored as one schema of a PostgreSQL + PostGIS server.

    The methods are :class:`territory._pgstore.ServerMethods`'; see that module.
    """

    def __init__(self, url: str, schema: str, token: str | None = None) -> None:
        self.url, self.schema, self.token = url, schema, token
        self.path = Path(schema)

    def _appender(
        self, name: str, schema: pd.DataFrame, constant: Mapping[str, Any] | None
    ) -> TableAppender:
        return ServerAppender(self, name, schema, constant=constant)


class ServerAppender(_pgstore.AppenderMethods, TableAppender):
    """:class:`TableAppender` on the server (``COPY``).

    The methods are :class:`territory._pgstore.AppenderMethods`'.
    """

    ws: ServerWorkspace


# ------------------------------------------------------------------ the app's folder
WORKSPACES_DIR_SETTING = "TERRITORY_WORKSPACES_DIR"


def workspace_in(folder: str | Path, path: str | Path) -> Path:
    """``path`` resolved, when it names a ``.gpkg`` file inside ``folder``; else refused.

    The app opens only these (``Settings.workspaces_dir``). A relative ``path`` is read from
    the working directory, as ``Settings.workspace`` (``workspaces/demo.gpkg``) is. Refused,
    with one French line (:class:`WorkspaceError`) that names the file and the folder,
    never their server path: a path with ``..``, another extension, and a path whose resolved form (symbolic
    links followed) is not under the resolved folder. The file need not exist yet (opening
    it says so).

    Examples
    --------
    >>> workspace_in("workspaces", "workspaces/../secret.gpkg")
    Traceback (most recent call last):
    ...
    territory._errors.WorkspaceError: chemin refusé (« .. ») : choisissez un fichier .gpkg du dossier des espaces de travail « workspaces »
    """  # noqa: E501
    given = Path(path)
    where = f"du dossier des espaces de travail « {Path(folder).resolve().name} »"
    if ".." in given.parts:
        raise WorkspaceError(f"chemin refusé (« .. ») : choisissez un fichier .gpkg {where}")
    if given.suffix.lower() != ".gpkg":
        raise WorkspaceError(f"« {given.name} » n'est pas un fichier .gpkg {where}")
    root = Path(folder).resolve()
    resolved = given.resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise WorkspaceError(
            f"« {given.name} » est hors {where} : l'application n'ouvre que les fichiers "
            f".gpkg de ce dossier (réglage {WORKSPACES_DIR_SETTING})"
        )
    return resolved


def workspaces_in(folder: str | Path) -> list[Path]:
    """The ``.gpkg`` files directly in ``folder`` that :func:`workspace_in` accepts, sorted."""
    base = Path(folder)
    if not base.is_dir():
        return []
    found = []
    for candidate in sorted(base.glob("*.gpkg")):
        with contextlib.suppress(WorkspaceError, OSError):
            workspace_in(base, candidate)
            if candidate.is_file():
                found.append(candidate)
    return found
