"""The workspace: one GeoPackage file that holds a territory's layers and tables.

This module is the only code that reads or writes it, so that a PostgreSQL/PostGIS
backend can later sit behind the same interface. A GeoPackage is SQLite: a single
file a team keeps on one laptop and that QGIS opens directly.

Spatial layers are stored in EPSG:4326. Every layer and table has a row in
``territory_layers`` (source, vintage, licence, source CRS, count, update time), and
every write bumps ``version``, which caches use as their key.

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
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from territory._errors import WorkspaceError

STORAGE_CRS = "EPSG:4326"
SCHEMA_VERSION = 1
_META = "territory_layers"
_PROPS = "territory_workspace"


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


class Workspace:
    """A territory's workspace file. Use :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(cls, path: str | Path, *, name: str, overwrite: bool = False) -> Workspace:
        """Create an empty workspace file named ``name`` (the territory's display name)."""
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
        pyogrio.write_dataframe(meta, path, layer=_META, driver="GPKG")
        with sqlite3.connect(path) as con:
            con.execute(f"CREATE TABLE {_PROPS} (key TEXT PRIMARY KEY, value TEXT)")
            con.executemany(
                f"INSERT INTO {_PROPS} VALUES (?, ?)",
                [
                    ("name", name),
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created", _now()),
                    ("version", "0"),
                ],
            )
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> Workspace:
        """Open an existing workspace, with a French message if it is missing or damaged."""
        path = Path(path)
        if not path.exists():
            raise WorkspaceError(
                f"espace de travail introuvable : {path} "
                "(créez-le avec « territory demo --workspace CHEMIN » ou importez un territoire)"
            )
        if path.is_dir() or path.stat().st_size == 0:
            raise WorkspaceError(f"{path} est vide ou n'est pas un fichier d'espace de travail")
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
                if _PROPS not in tables or _META not in tables:
                    raise WorkspaceError(
                        f"{path} n'est pas un espace de travail territory "
                        "(fichier SQLite/GeoPackage sans les tables attendues)"
                    )
                con.execute(f"SELECT count(*) FROM {_META}").fetchone()
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(
                f"{path} est endommagé ou n'est pas un GeoPackage : {exc}"
            ) from exc
        return cls(path)

    # --------------------------------------------------------------- properties
    @property
    def name(self) -> str:
        """Display name of the territory."""
        return self.get_property("name") or self.path.stem

    @property
    def version(self) -> int:
        """Counter bumped by every write: the key of every cache over this workspace."""
        return int(self.get_property("version") or 0)

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
        pyogrio.write_dataframe(
            out.reset_index(drop=True), self.path, layer=name, driver="GPKG", promote_to_multi=None
        )
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
                pyogrio.write_dataframe(
                    df.reset_index(drop=True), self.path, layer=name, driver="GPKG", append=True
                )
            count = self._row_count(name)
        else:
            pyogrio.write_dataframe(df.reset_index(drop=True), self.path, layer=name, driver="GPKG")
            count = len(df)
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
    ) -> Iterator[TableAppender]:
        """Append rows to the attribute table ``name``, chunk by chunk, in one transaction.

        The table is created from ``schema`` (an empty frame: its columns and dtypes)
        when missing. Everything appended is committed when the block ends, or rolled
        back if it raises; then the table's metadata row is updated (``vintage`` may be
        changed on the appender inside the block). Memory holds one chunk at a time.

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
        table = TableAppender(self, name, schema)
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
            source,
            table.vintage or vintage,
            licence,
            None,
        )

    def read_layer(self, name: str, *, columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """A stored spatial layer, in EPSG:4326."""
        self._require(name)
        gdf = pyogrio.read_dataframe(self.path, layer=name, columns=columns)
        return gdf

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

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
        """Run a read-only SQL query (aggregations over tables stay in SQLite)."""
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
            return pd.read_sql_query(sql, con, params=params)

    def delete_rows(self, name: str, where: str, params: tuple[Any, ...] = ()) -> int:
        """Delete the rows of table ``name`` matching ``where``; returns how many."""
        self._require(name)
        with self._connect() as con:
            n = con.execute(f'DELETE FROM "{name}" WHERE {where}', params).rowcount
            con.execute(
                f'UPDATE {_META} SET count = (SELECT count(*) FROM "{name}"), updated = ? '
                "WHERE name = ?",
                (_now(), name),
            )
            self._bump(con)
        return int(n)

    # ----------------------------------------------------------------- private
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.path)
        except sqlite3.Error as exc:  # pragma: no cover - depends on the filesystem
            raise WorkspaceError(f"impossible d'ouvrir {self.path} : {exc}") from exc
        try:
            with con:
                yield con
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{self.path} est endommagé : {exc}") from exc
        finally:
            con.close()

    def _require(self, name: str) -> None:
        if not self.has(name):
            raise WorkspaceError(
                f"la couche « {name} » n'existe pas dans {self.path.name} "
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
            self._bump(con)

    @staticmethod
    def _bump(con: sqlite3.Connection) -> None:
        con.execute(f"UPDATE {_PROPS} SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")


class TableAppender:
    """Rows appended to one attribute table in one transaction: see :meth:`Workspace.appending`.

    Rows go in through multi-row ``INSERT`` statements (a few hundred rows each) on one
    connection. GDAL's feature-count trigger, which would run one ``UPDATE`` per row, is
    dropped for the transaction and re-created, with the count set once, before the
    commit (as GDAL's own bulk writes do): the file stays a valid GeoPackage and, the
    whole being one transaction, a failure or a crash leaves it as it was before. No
    ``PRAGMA`` that trades safety for speed is used.
    """

    def __init__(self, ws: Workspace, name: str, schema: pd.DataFrame) -> None:
        self.ws, self.name, self.schema = ws, name, schema
        self.vintage = ""
        self._con: sqlite3.Connection | None = None
        self._triggers: list[tuple[str, str]] = []

    def append(self, df: pd.DataFrame) -> None:
        """Insert the rows of ``df`` (its columns must be columns of the table)."""
        if not len(df):
            return
        con = self._begin()
        columns = [str(c) for c in df.columns]
        values = np.empty((len(df), len(columns)), dtype=object)
        for j, column in enumerate(columns):
            values[:, j] = _sql_values(df[column])
        flat = values.ravel().tolist()
        width = len(columns)
        limit = con.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(_ROWS_PER_INSERT, limit // width))
        names = ", ".join(f'"{c}"' for c in columns)
        one = "(" + ", ".join("?" * width) + ")"

        def insert(rows: int) -> str:
            return f'INSERT INTO "{self.name}" ({names}) VALUES ' + ", ".join([one] * rows)

        full = len(df) // per * per
        step = per * width
        try:
            if full:
                con.executemany(
                    insert(per), (flat[i : i + step] for i in range(0, full * width, step))
                )
            if full < len(df):
                con.execute(insert(len(df) - full), flat[full * width :])
        except sqlite3.Error as exc:
            raise WorkspaceError(f"écriture de « {self.name} » impossible : {exc}") from exc

    def discard(self) -> None:
        """Forget every row appended so far (the transaction goes on)."""
        if self._con is not None:
            self._con.execute("ROLLBACK TO appending")

    def commit(self) -> None:
        """Make the appended rows permanent (the table is created even without rows)."""
        con = self._begin()
        try:
            con.execute("RELEASE appending")
            if self._triggers:
                con.execute(
                    "UPDATE gpkg_ogr_contents SET feature_count = "
                    f'(SELECT count(*) FROM "{self.name}") WHERE lower(table_name) = lower(?)',
                    (self.name,),
                )
            for _, sql in self._triggers:
                con.execute(sql)
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise WorkspaceError(f"écriture de « {self.name} » impossible : {exc}") from exc
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
            pyogrio.write_dataframe(
                self.schema.iloc[:0].reset_index(drop=True),
                self.ws.path,
                layer=self.name,
                driver="GPKG",
            )
        con = sqlite3.connect(self.ws.path, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            self._triggers = con.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
                "AND name LIKE 'trigger_insert_feature_count_%'",
                (self.name,),
            ).fetchall()
            for trigger, _ in self._triggers:
                con.execute(f'DROP TRIGGER "{trigger}"')
            con.execute("SAVEPOINT appending")
        except sqlite3.Error as exc:
            con.close()
            raise WorkspaceError(f"écriture de « {self.name} » impossible : {exc}") from exc
        self._con = con
        return con

    def _exists(self) -> bool:
        with contextlib.closing(sqlite3.connect(self.ws.path)) as con:
            row = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.name,)
            ).fetchone()
        return row is not None

    def _close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


_ROWS_PER_INSERT = 250  # rows per INSERT statement: fewer statements, same bindings


def _appendable(df: pd.DataFrame) -> bool:
    """Whether every column of ``df`` can be bound as it is by :class:`TableAppender`."""
    return all(_kind(df[c]) is not None for c in df.columns)


def _kind(column: pd.Series) -> str | None:
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return "text"
    if not isinstance(dtype, np.dtype):
        return None
    if dtype.kind == "O":
        return "text"
    if dtype.kind in "ib" or (dtype.kind == "u" and dtype.itemsize < 8):
        return "integer"
    return "float" if dtype.kind == "f" else None


def _sql_values(column: pd.Series) -> np.ndarray:
    """The column as Python objects SQLite binds: str, int, float, None for missing.

    An object column is passed as it is: its missing values must be None or NaN
    (SQLite stores a NaN as NULL).
    """
    kind = _kind(column)
    if kind is None:
        raise WorkspaceError(f"colonne « {column.name} » : type {column.dtype} non pris en charge")
    if kind == "integer":
        return column.to_numpy().astype(np.int64).astype(object)
    if column.dtype.kind == "O":  # None and NaN are bound as NULL as they are
        return column.to_numpy(copy=False)
    return column.to_numpy(dtype=object, na_value=None)


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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
