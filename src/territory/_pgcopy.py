"""``COPY`` on the server engine, in and out, at the speed of the server (issue #24).

* **Out** (:func:`copy_out`): ``COPY … TO STDOUT`` sends one message per row. Read through
  psycopg's ``Copy`` iterator, each row cost about 2 µs of Python (a generator, a wait, a
  ``memoryview``): 2.3 s of client CPU for the million contacts the map's first display
  reads. Here the rows already received are taken from libpq in a tight loop of C calls
  into one growing buffer, and the socket is waited for (the GIL released) only when
  libpq has none left: 0.5 s. Keeping the rows' ``memoryview`` objects instead of their
  bytes cost as much again in the garbage collector (a million tracked objects).
* **In** (:func:`copy_in`): a frame whose columns are all text, integers, floats or
  booleans is written as CSV by Arrow's C++ writer (every value quoted, a missing value
  unquoted and empty: ``COPY``'s CSV format then keeps empty texts apart from NULLs) and
  sent in blocks of 1 MB, instead of row by row through psycopg's writer (2.9 s of client
  CPU for a million 12-column rows; Arrow: a few tenths). Other frames (dates, timestamps,
  bytes) keep the row writer of :func:`territory._pgstore.copy_rows`.
* **Counts per group, once per batch** (:class:`PendingCounts`): the statement triggers of
  :func:`build_counts` group the transition table of every ``COPY``
  and upsert the count table (half of the server's time for a million contacts in ten
  statements). An appender that says so for its transaction
  (:data:`COUNTS_SETTING`, ``set_config(…, true)``) counts the rows it sent from the very
  Arrow columns written, and adds the sums to the count table in one statement before the
  commit; a rollback takes both away. A count table whose trigger function predates the
  setting keeps counting by trigger (:func:`defers_counts`).
"""

from __future__ import annotations

import selectors
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from territory import _pgrls
from territory._layout import GROUP_COUNTS, _columns, _counts_table

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "COUNTS_SETTING",
    "PendingCounts",
    "arrow_frame",
    "build_counts",
    "column_type",
    "copy_in",
    "copy_out",
    "copy_rows",
    "defers_counts",
]

COUNTS_SETTING = "territory.counts_added_by"
"""Transaction setting: the table whose inserted rows' counts the writer adds itself."""
_STAGING = "territory_staging"  # a user's rows, before the policies check them
_BLOCK = 1 << 20  # bytes sent per write of a COPY FROM STDIN
_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
}


# ------------------------------------------------------------------ out
def copy_out(raw: psycopg.Connection[Any], sql: str) -> bytearray:
    """Everything ``sql`` (a ``COPY … TO STDOUT``) sends, in one buffer.

    Runs in the connection's current transaction; a server error is raised as psycopg's
    error of its SQLSTATE (the caller's session turns it into one French line).
    """
    from psycopg import errors, pq

    pgconn = raw.pgconn
    with selectors.DefaultSelector() as selector:
        selector.register(pgconn.socket, selectors.EVENT_READ)
        pgconn.send_query(sql.encode())
        if pgconn.flush():  # nonblocking: the query has not all left yet (libpq's recipe)
            selector.modify(pgconn.socket, selectors.EVENT_READ | selectors.EVENT_WRITE)
            while pgconn.flush():
                if any(events & selectors.EVENT_READ for _, events in selector.select()):
                    pgconn.consume_input()
            selector.modify(pgconn.socket, selectors.EVENT_READ)
        result = _result(pgconn, selector)
        if result is None or result.status != pq.ExecStatus.COPY_OUT:
            _drain(pgconn, selector)
            if result is not None and result.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(result)
            raise errors.ProgrammingError("COPY … TO STDOUT attendu")
        data = bytearray()
        read = pgconn.get_copy_data
        while True:
            size, row = read(1)  # 1: never blocks (the GIL is held while it runs)
            if size > 0:
                data += row
            elif size == 0:  # nothing received yet: wait for the socket, GIL released
                selector.select()
                pgconn.consume_input()
            else:  # -1: the end (-2, an error, is raised by psycopg)
                break
        final = _result(pgconn, selector)
        _drain(pgconn, selector)
        if final is None or final.status != pq.ExecStatus.COMMAND_OK:
            if final is not None and final.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(final)
            raise errors.ProgrammingError("fin de COPY inattendue")
    return data


def _result(pgconn: Any, selector: selectors.BaseSelector) -> Any:
    """The next result of the query, the socket waited for while libpq is busy."""
    while pgconn.is_busy():
        selector.select()
        pgconn.consume_input()
    return pgconn.get_result()


def _drain(pgconn: Any, selector: selectors.BaseSelector) -> None:
    while _result(pgconn, selector) is not None:
        pass


# ------------------------------------------------------------------ in
def arrow_frame(df: pd.DataFrame, kinds: list[str]) -> pa.Table | None:
    """``df`` as the Arrow columns ``COPY`` will store (``kinds``: their server types).

    None when a column is of another type, or when its values do not all convert as the
    row writer would write them (the caller then uses that writer).
    """
    columns = {}
    for name, kind in zip(df.columns, kinds, strict=True):
        target = _ARROW_TYPES.get(kind)
        if target is None:
            return None
        column = _arrow_column(df[name], target)
        if column is None:
            return None
        columns[str(name)] = column
    return pa.table(columns)


def _arrow_column(column: pd.Series, target: pa.DataType) -> pa.Array | None:
    values = column.array if isinstance(column.dtype, pd.CategoricalDtype) else column
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, OverflowError, UnicodeError):
        return None
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    if pa.types.is_dictionary(array.type):
        if not pa.types.is_string(array.type.value_type):
            return None  # categories of numbers: the row writer's str() is kept
        array = array.cast(pa.string())
    if array.type == target:
        return array
    if target == pa.string() and not pa.types.is_null(array.type):
        return None  # a text column of numbers: the row writer's str() is kept
    try:
        return array.cast(target)  # int → double, null → anything (safe casts only)
    except pa.ArrowException:
        return None


def copy_in(raw: psycopg.Connection[Any], name: str, table: pa.Table) -> None:
    """Append ``table``'s rows to table ``name`` (``COPY … FROM STDIN``, CSV)."""
    import io

    buffer = io.BytesIO()
    pacsv.write_csv(
        table,
        buffer,
        write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
    )
    data = buffer.getbuffer()
    names = ", ".join(f'"{c}"' for c in table.column_names)
    with (
        raw.cursor() as cursor,
        cursor.copy(f'COPY "{name}" ({names}) FROM STDIN (FORMAT csv)') as copy,
    ):
        for at in range(0, len(data), _BLOCK):
            copy.write(data[at : at + _BLOCK])
    del data  # the BytesIO may be freed


# ------------------------------------------------------------------ rows
def column_type(column: pd.Series) -> str:
    """The PostgreSQL type of a frame's column (text for what has no better one)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype):
        return "text"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    kind = pd.api.types.infer_dtype(column, skipna=True)
    return {
        "integer": "bigint",
        "floating": "double precision",
        "mixed-integer-float": "double precision",
        "boolean": "boolean",
        "date": "date",
        "datetime": "timestamp",
        "datetime64": "timestamp",
        "bytes": "bytea",
    }.get(kind, "text")


def _cells(column: pd.Series) -> list[Any]:
    """A column's values as COPY writes them (None for a missing value)."""
    kind = column_type(column)
    if kind == "text" and column.dtype.kind == "O":
        values = column.to_numpy(dtype=object)
        return [None if v is None or v is pd.NA or v != v else str(v) for v in values]
    numpy = isinstance(column.dtype, np.dtype)  # no missing value in these
    if numpy and kind == "boolean" and column.dtype.kind == "b":
        return cast("list[Any]", column.tolist())
    if numpy and kind == "bigint" and column.dtype.kind in "iu":
        return cast("list[Any]", column.tolist())
    missing = column.isna().to_numpy()
    values = column.to_numpy(dtype=object)
    return [None if gone else v for v, gone in zip(values, missing, strict=True)]


def copy_rows(con: Any, name: str, df: pd.DataFrame) -> pa.Table | None:
    """Append the rows of ``df`` to table ``name`` with ``COPY … FROM STDIN``.

    Returns the Arrow columns sent (:func:`arrow_frame`), None when the frame went through
    psycopg's row writer (dates, bytes, values of mixed types) or was empty. In a user's
    session (``con.staged``) the rows are copied into a temporary table, then inserted
    from it: ``COPY FROM`` is refused on a table with row-level security, an ``INSERT``
    passes each row through the policies.
    """
    if not len(df):
        return None
    names = ", ".join(f'"{c}"' for c in df.columns)
    target = name
    if con.staged:
        target = _STAGING
        con.execute(f'DROP TABLE IF EXISTS pg_temp."{_STAGING}"')
        con.execute(
            f'CREATE TEMP TABLE "{_STAGING}" ON COMMIT DROP AS '
            f'SELECT {names} FROM "{name}" WITH NO DATA'
        )
    table = arrow_frame(df, [column_type(df[c]) for c in df.columns])
    if table is not None:
        copy_in(con.raw, target, table)
    else:  # psycopg's C writer escapes each row (2.9 s of client CPU for 1 M × 12)
        cells = [_cells(df[c]) for c in df.columns]
        sql = f'COPY "{target}" ({names}) FROM STDIN'
        with con.raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in zip(*cells, strict=True):
                copy.write_row(row)
    if con.staged:
        con.execute(f'INSERT INTO "{name}" ({names}) SELECT {names} FROM pg_temp."{_STAGING}"')
        con.execute(f'DROP TABLE pg_temp."{_STAGING}"')
    if "fid" in df.columns:  # the identity continues after the fids given
        con.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'fid'), "
            f'(SELECT COALESCE(max(fid), 0) + 1 FROM "{name}"), false)'
        )
    return table


# ------------------------------------------------------------------ counts
def build_counts(con: Any, schema: str, name: str) -> None:
    """(Re)make the count table of ``name`` from its rows, and its statement triggers."""
    keys = GROUP_COUNTS[name]
    counts = _counts_table(name)
    columns = _columns(keys)
    typed = ", ".join(f'"{k}" text' for k in keys)
    qualified = f'"{schema}"."{counts}"'
    con.execute(f'DROP TABLE IF EXISTS "{counts}"')
    con.execute(
        f'CREATE TABLE "{counts}" ({typed}, n bigint NOT NULL, '
        f"UNIQUE NULLS NOT DISTINCT ({columns}))"
    )
    _pgrls.protect_created(con, counts)
    con.execute(
        f'INSERT INTO "{counts}" ({columns}, n) '
        f'SELECT {columns}, count(*) FROM "{name}" GROUP BY {columns}'
    )
    same = " AND ".join(f'c."{k}" IS NOT DISTINCT FROM g."{k}"' for k in keys)
    body = f"""
BEGIN
  IF TG_OP = 'INSERT' AND current_setting('{COUNTS_SETTING}', true)
      = TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME THEN
    RETURN NULL;  -- the writer adds these rows' counts itself (territory._pgcopy)
  END IF;
  IF TG_OP <> 'INSERT' THEN
    UPDATE {qualified} AS c SET n = c.n - g.n
    FROM (SELECT {columns}, count(*) AS n FROM old_rows GROUP BY {columns}) AS g WHERE {same};
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO {qualified} AS c ({columns}, n)
    SELECT {columns}, count(*) FROM new_rows GROUP BY {columns}
    ON CONFLICT ({columns}) DO UPDATE SET n = c.n + excluded.n;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM {qualified} WHERE n = 0;
  END IF;
  RETURN NULL;
END"""
    function = f'"{schema}"."{counts}_keep"'
    con.raw.execute(  # no placeholders: the body is sent as it is
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $f${body}$f$"
    )
    for event, transition in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        trigger = f"{counts}_{event.lower()}"
        con.execute(f'DROP TRIGGER IF EXISTS "{trigger}" ON "{name}"')
        con.execute(
            f'CREATE TRIGGER "{trigger}" AFTER {event} ON "{name}" REFERENCING {transition} '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def defers_counts(con: Any, schema: str, counts: str) -> bool:
    """Whether the trigger function of count table ``counts`` obeys :data:`COUNTS_SETTING`."""
    row = con.execute(
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = ? AND p.proname = ?",
        (schema, f"{counts}_keep"),
    ).fetchone()
    return row is not None and COUNTS_SETTING in str(row[0])


class PendingCounts:
    """Rows sent per group of ``keys``, summed in memory, added to the count table at once."""

    _SUMMED_EVERY = 16

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self._parts: list[pa.Table] = []

    def add(self, table: pa.Table) -> None:
        """Count the rows of ``table`` (the Arrow columns sent) per group."""
        keys = list(self.keys)
        counted = (
            table.select(keys).group_by(keys, use_threads=False).aggregate([([], "count_all")])
        )  # Arrow's hash groups: a missing key is a group, as NULLS NOT DISTINCT
        self._parts.append(counted.select([*keys, "count_all"]).rename_columns([*keys, "n"]))
        if len(self._parts) >= self._SUMMED_EVERY:
            self._parts = [self._summed()]

    def clear(self) -> None:
        self._parts.clear()

    def _summed(self) -> pa.Table:
        whole = pa.concat_tables(self._parts)
        keys = list(self.keys)
        summed = whole.group_by(keys, use_threads=False).aggregate([("n", "sum")])
        return summed.select([*keys, "n_sum"]).rename_columns([*keys, "n"])

    def write(self, con: Any, counts: str) -> None:
        """Add the sums to table ``counts`` (its connection's transaction).

        The sums go in by ``COPY`` to a temporary table, then one ``UPDATE`` of the groups
        already counted and one ``INSERT`` of the others, both hash joins on the keys
        (``INSERT … ON CONFLICT`` took 2.6 s of the server for 110,000 new groups: a
        speculative insertion each). Writers of a workspace follow each other (its
        advisory lock), so nothing comes between the two.
        """
        if not self._parts:
            return
        summed = self._summed()
        self._parts.clear()
        keys = [f'"{k}"' for k in self.keys]
        typed = ", ".join(f"{k} text" for k in keys)
        con.execute(f"CREATE TEMP TABLE {_ADDED} ({typed}, n bigint) ON COMMIT DROP")
        copy_in(
            con.raw,
            _ADDED,
            summed.set_column(len(self.keys), "n", pc.cast(summed.column("n"), pa.int64())),
        )
        con.execute(f"ANALYZE {_ADDED}")  # the planner then hashes instead of sorting
        con.execute("SET LOCAL work_mem = '64MB'")  # the sums' hash table: a few MB
        # hashable and exact: a missing key matches only a missing key
        same = " AND ".join(
            f"(c.{k} IS NULL) = (a.{k} IS NULL) AND COALESCE(c.{k}, '') = COALESCE(a.{k}, '')"
            for k in keys
        )
        con.execute(f'UPDATE "{counts}" AS c SET n = c.n + a.n FROM {_ADDED} AS a WHERE {same}')
        columns = ", ".join(keys)
        con.execute(
            f'INSERT INTO "{counts}" ({columns}, n) SELECT {columns}, n FROM {_ADDED} AS a '
            f'WHERE NOT EXISTS (SELECT 1 FROM "{counts}" AS c WHERE {same})'
        )
        con.execute(f"DROP TABLE {_ADDED}")


_ADDED = "territory_added_counts"  # temporary: the sums of one appender, until the commit
