"""The only code that reads or writes the stored contacts and their raw counts.

The ``contacts`` table holds pseudonymised person-level rows (see ``privacy.md``), and
its count table (``territory_counts_contacts``) their raw counts per cell and commune.
Every SQL query on them, every read of their rows or counts, the purge, the one contact
writer (:func:`contact_writer`, :func:`append_contacts`) and the deletes
(:func:`delete_contacts`, :func:`delete_batches`) live here, so that an audit of what can
leave the store reads one module. What this module returns is **raw**: it is handed to
:mod:`territory.privacy.protect` (directly, or through :mod:`territory.privacy.published`)
and never shown. Each stored contact carries the id of its import batch
(:data:`BATCH_COLUMN`, see :mod:`territory.batches`; NULL: stored before batches).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Essai")
>>> has_contacts(ws), latest_date(ws)
(False, None)
>>> rows = pd.DataFrame({"cell": ["c1", "c1"], "commune": ["01001", "01001"],
...     "date": ["2026-03-02", "2026-04-10"], "hour": [9, 15], "statut": ["x", "y"],
...     "tranche_age": "", "sexe": "", "partenaire": "", "personne": "",
...     "fingerprint": ["a", "b"]})
>>> append_contacts(ws, rows, source="test", vintage="", licence="")
2
>>> contact_cell_counts(ws)["n"].tolist(), latest_date(ws)
([2], datetime.date(2026, 4, 10))
>>> delete_contacts(ws, ["a"]), counts_per_commune(ws).tolist()
(1, [1])
"""

from __future__ import annotations

import calendar
import contextlib
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from territory import batches
from territory._errors import ValidationError
from territory.store import TableAppender, Workspace

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "BATCH_COLUMN",
    "CONTACTS",
    "PART_SQL",
    "STORED_COLUMNS",
    "append_contacts",
    "contact_cell_counts",
    "contact_writer",
    "count_by_cell",
    "counts_per_commune",
    "date_span",
    "delete_batches",
    "delete_contacts",
    "has_contacts",
    "has_rows_before_batches",
    "latest_date",
    "people_per_month",
    "profile_counts",
    "purge",
    "recode_communes",
    "retention_cutoff",
    "stored_batches",
    "stored_fingerprints",
    "window_cell_counts",
]

CONTACTS = "contacts"
"""The workspace table of the pseudonymised contacts."""
STORED_COLUMNS = [
    "cell",
    "commune",
    "date",
    "hour",
    "statut",
    "tranche_age",
    "sexe",
    "partenaire",
    "personne",
    "fingerprint",
]
"""The columns of a stored contact (no location finer than the 200 m cell, no free text)."""
BATCH_COLUMN = "lot"
"""Stored beside :data:`STORED_COLUMNS` by the writer: the id of the row's import batch."""
PART_SQL = {
    "periode": "substr(date, 1, 4) || '-T' || ((CAST(substr(date, 6, 2) AS INTEGER) + 2) / 3)",
    "statut": "statut",
    "tranche_age": "tranche_age",
    "sexe": "sexe",
}
"""SQL of the part of each contact for each filter of the density map."""

_SCHEMA = pd.DataFrame(
    {
        c: pd.Series(dtype="int64" if c in ("hour", BATCH_COLUMN) else "str")
        for c in [*STORED_COLUMNS, BATCH_COLUMN]
    }
)
_BOUND_AT_ONCE = 900  # SQL parameters per statement (SQLite allows 999 at least)


def has_contacts(ws: Workspace) -> bool:
    """Whether the workspace holds a contact table (empty or not)."""
    return ws.has(CONTACTS)


def date_span(ws: Workspace) -> tuple[date, date] | None:
    """First and last contact date (None without contacts)."""
    if not has_contacts(ws):
        return None
    span = ws.query(f"SELECT min(date) AS first, max(date) AS last FROM {CONTACTS}")
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    if not (isinstance(first, str) and isinstance(last, str)):
        return None
    return date.fromisoformat(first), date.fromisoformat(last)


def latest_date(ws: Workspace) -> date | None:
    """Date of the latest stored contact (None without contacts)."""
    if not has_contacts(ws):
        return None
    last = ws.query(f"SELECT max(date) AS d FROM {CONTACTS}")["d"].iloc[0]
    if last is None or pd.isna(last):
        return None
    return date.fromisoformat(str(last))


def people_per_month(ws: Workspace) -> pd.Series:
    """Raw number of distinct people per month (``"2026-03"``), in month order.

    A person is a pseudonym; a contact without one counts as one person. Empty without
    contacts.
    """
    if not has_contacts(ws):
        return pd.Series([], dtype="int64")
    columns = set(ws.query(f"SELECT name FROM pragma_table_info('{CONTACTS}')")["name"])
    person = (
        "count(DISTINCT CASE WHEN coalesce(personne, '') != '' THEN personne "
        "ELSE 'row:' || rowid END)"
        if "personne" in columns
        else "count(*)"  # no person key stored: every contact is a person
    )
    counts = ws.query(
        f"SELECT substr(date, 1, 7) AS month, {person} AS n FROM {CONTACTS} "
        "GROUP BY month ORDER BY month"
    )
    return counts.set_index("month")["n"].astype("int64")


def contact_cell_counts(
    ws: Workspace,
    *,
    by: str | None = None,
    communes: Collection[str] | None = None,
) -> pd.DataFrame:
    """Raw counts per (cell, commune[, part]) — private input of the protection step.

    ``by`` (a key of :data:`PART_SQL`) adds a ``part`` column: the quarter or the
    category of the counted contacts. ``communes`` keeps only the contacts of those
    communes (a territory), before any protection.
    """
    part = ""
    if by is not None:
        if by not in PART_SQL:
            raise ValidationError(f"filtre inconnu : {by} (attendu : {', '.join(PART_SQL)})")
        part = f", {PART_SQL[by]} AS part"
    if not has_contacts(ws):
        return pd.DataFrame({"cell": [], "commune": [], **({"part": []} if by else {}), "n": []})
    if by is None:  # kept per (cell, commune) by the store: no scan of every contact
        counts = ws.group_counts(CONTACTS)
    else:
        counts = ws.query(
            f"SELECT cell, commune{part}, count(*) AS n FROM {CONTACTS} "
            "GROUP BY cell, commune, part"
        )
    if communes is not None:
        counts = counts[counts["commune"].isin(set(communes))].reset_index(drop=True)
    return counts


def counts_per_commune(ws: Workspace) -> pd.Series:
    """Raw contact counts per commune (only totals of them are protected)."""
    if not has_contacts(ws):
        return pd.Series([], dtype="int64")
    counts = ws.query(f"SELECT commune, count(*) AS n FROM {CONTACTS} GROUP BY commune")
    return counts.set_index("commune")["n"].astype("int64")


def window_cell_counts(
    ws: Workspace, *, recent: tuple[date, date], previous: tuple[date, date], status: str
) -> pd.DataFrame:
    """Raw counts per (cell, commune, window and status group ``k``, ``n``).

    ``k`` is 0 for recent contacts of ``status``, 1 for the other recent ones, 2 for
    the previous window (which must end the day before ``recent`` starts).
    """
    (r0, r1), (p0, _) = recent, previous
    return ws.query(
        "SELECT cell, commune, "
        "CASE WHEN date >= ? THEN (CASE WHEN statut = ? THEN 0 ELSE 1 END) ELSE 2 END AS k, "
        f"count(*) AS n FROM {CONTACTS} WHERE date >= ? AND date <= ? "
        "GROUP BY cell, commune, k",
        (r0.isoformat(), status, p0.isoformat(), r1.isoformat()),
    )


def profile_counts(
    ws: Workspace, period: tuple[date, date], *, cells: Collection[str] | None = None
) -> pd.DataFrame:
    """Raw counts per (commune, ``jour`` (0 = Monday), ``hour``) over ``period``.

    ``cells`` keeps only the contacts of those 200 m cells (an empty collection: none).
    """
    if cells is not None and not cells:
        return pd.DataFrame(
            {"commune": pd.Series(dtype=object), "dow": pd.Series(dtype="int64"),
             "hour": pd.Series(dtype="int64"), "n": pd.Series(dtype="int64"),
             "jour": pd.Series(dtype="int64")}
        )  # fmt: skip
    where = ""
    params: tuple[str, ...] = ()
    if cells is not None:
        where = f" AND cell IN ({', '.join('?' * len(cells))})"
        params = tuple(cells)
    sql = (
        "SELECT commune, CAST(strftime('%w', date) AS INTEGER) AS dow, hour, count(*) AS n "
        f"FROM {CONTACTS} WHERE date >= ? AND date <= ?{where} GROUP BY commune, dow, hour"
    )
    raw = ws.query(sql, (period[0].isoformat(), period[1].isoformat(), *params))
    raw["jour"] = (raw["dow"] + 6) % 7  # SQLite: 0 = Sunday
    return raw


def count_by_cell(contacts: pd.DataFrame) -> pd.DataFrame:
    """Raw counts per (cell, commune) of contact rows in memory (input of ``protect_density``)."""
    return (
        contacts.groupby(["cell", "commune"], as_index=False).size().rename(columns={"size": "n"})
    )


def stored_fingerprints(ws: Workspace) -> pd.Index:
    """Fingerprints of the contacts already stored (unique, hashed once for lookups)."""
    if not has_contacts(ws):
        return pd.Index([], dtype=object)
    stored = ws.read_table(CONTACTS, columns=["fingerprint"])["fingerprint"]
    return pd.Index(stored.to_numpy(dtype=object, na_value=""), dtype=object).unique()


@contextlib.contextmanager
def contact_writer(
    ws: Workspace, *, source: str, licence: str, vintage: str = "", lot: int | None = None
) -> Iterator[TableAppender]:
    """The one way contacts are written: append anonymised rows in one transaction.

    Yields the appender of :meth:`territory.store.Workspace.appending` on the contact
    table (created with :data:`STORED_COLUMNS` and :data:`BATCH_COLUMN` when missing):
    ``append`` rows of :data:`STORED_COLUMNS` chunk by chunk (each gets ``lot``, the id
    of the import batch; None only outside any batch), ``discard`` what was appended, set
    ``vintage``; everything is committed when the block ends, or nothing if it raises. A
    table stored before batches gets the column first (its rows: NULL).
    """
    if has_contacts(ws):
        ws.add_column(CONTACTS, BATCH_COLUMN, "INTEGER")
    with ws.appending(
        CONTACTS,
        schema=_SCHEMA,
        source=source,
        vintage=vintage,
        licence=licence,
        constant={BATCH_COLUMN: lot},
    ) as table:
        yield table


def append_contacts(
    ws: Workspace,
    rows: pd.DataFrame,
    *,
    source: str,
    vintage: str,
    licence: str,
    lot: int | None = None,
) -> int:
    """Append anonymised contact rows (:data:`STORED_COLUMNS`) of batch ``lot``; how many."""
    missing = [c for c in STORED_COLUMNS if c not in rows]
    if missing:
        raise ValidationError(f"contacts sans colonne(s) : {', '.join(missing)}")
    with contact_writer(ws, source=source, vintage=vintage, licence=licence, lot=lot) as table:
        table.append(rows[STORED_COLUMNS].astype({"hour": "int64"}).reset_index(drop=True))
    return len(rows)


def delete_contacts(ws: Workspace, fingerprints: Iterable[str]) -> int:
    """Delete the stored contacts with these fingerprints; returns how many were deleted."""
    if not has_contacts(ws):
        return 0
    prints = list(dict.fromkeys(fingerprints))
    deleted = 0
    for start in range(0, len(prints), _BOUND_AT_ONCE):
        part = tuple(prints[start : start + _BOUND_AT_ONCE])
        deleted += ws.delete_rows(CONTACTS, f"fingerprint IN ({','.join('?' * len(part))})", part)
    return deleted


def stored_batches(ws: Workspace, fingerprints: Iterable[str]) -> tuple[set[int], list[str]]:
    """Batches holding contacts with these fingerprints, and those stored before batches.

    Returns the batch ids, and the fingerprints found on rows without one (stored before
    batches existed): together, what :func:`delete_batches` deletes to replace them.
    """
    if not has_contacts(ws):
        return set(), []
    prints = list(dict.fromkeys(fingerprints))
    lot = BATCH_COLUMN if _has_batch_column(ws) else "NULL"
    lots: set[int] = set()
    before: list[str] = []
    for start in range(0, len(prints), _BOUND_AT_ONCE):
        part = tuple(prints[start : start + _BOUND_AT_ONCE])
        found = ws.query(
            f"SELECT {lot} AS lot, fingerprint FROM {CONTACTS} "
            f"WHERE fingerprint IN ({','.join('?' * len(part))})",
            part,
        )
        held = found["lot"].notna()
        lots.update(int(v) for v in found.loc[held, "lot"])
        before += [str(f) for f in found.loc[~held, "fingerprint"]]
    return lots, before


def has_rows_before_batches(ws: Workspace) -> bool:
    """Whether some stored contacts have no batch id (imported before batches existed)."""
    if not has_contacts(ws):
        return False
    if not _has_batch_column(ws):
        return not ws.query(f"SELECT 1 FROM {CONTACTS} LIMIT 1").empty
    return not ws.query(f"SELECT 1 FROM {CONTACTS} WHERE {BATCH_COLUMN} IS NULL LIMIT 1").empty


def delete_batches(
    ws: Workspace,
    lots: Collection[int],
    *,
    before_batches: Collection[str] = (),
    then: Callable[[sqlite3.Connection, int], None] | None = None,
) -> int:
    """Delete whole batches of contacts in one transaction, then compact the file.

    Deletes the contacts of the batches ``lots`` and the contacts stored before batches
    whose fingerprint is in ``before_batches``; ``then`` runs in the same transaction
    with the number deleted (the batch log records the undo): if it fails, nothing is
    deleted. Nothing of the deleted rows stays in the file (``secure_delete``, then
    :meth:`~territory.store.Workspace.compact`). Returns the number deleted.
    """
    where: list[str] = []
    params: list[object] = []
    if has_contacts(ws) and lots and _has_batch_column(ws):
        where.append(f"{BATCH_COLUMN} IN ({','.join('?' * len(lots))})")
        params += [int(v) for v in lots]
    if has_contacts(ws) and before_batches:
        held = f"{BATCH_COLUMN} IS NULL AND " if _has_batch_column(ws) else ""
        where.append(f"({held}fingerprint IN ({','.join('?' * len(before_batches))}))")
        params += list(before_batches)
    if not where:
        with ws.transaction(what=CONTACTS) as con:
            if then is not None:
                then(con, 0)
        return 0
    deleted = ws.delete_rows(CONTACTS, " OR ".join(where), tuple(params), then=then)
    if deleted:
        ws.compact()
    return deleted


def _has_batch_column(ws: Workspace) -> bool:
    columns = ws.query(f"SELECT name FROM pragma_table_info('{CONTACTS}')")["name"]
    return BATCH_COLUMN in set(columns)


def recode_communes(ws: Workspace, recode: Callable[[pd.Series], pd.Series | None]) -> None:
    """Rewrite the commune of every stored contact as ``recode`` says (COG translation).

    ``recode`` receives the communes (``string`` dtype) and returns the new ones on the
    same index, or None to leave the table as it is.
    """
    if not has_contacts(ws):
        return
    rows = ws.read_table(CONTACTS)
    translated = recode(rows["commune"].astype("string"))
    if translated is None:
        return
    info = ws.layers()[CONTACTS]
    rows["commune"] = translated.astype(object).where(translated.notna(), None)
    if BATCH_COLUMN in rows:  # read as float beside NULLs: written back as integers
        rows[BATCH_COLUMN] = rows[BATCH_COLUMN].astype("Int64")
    ws.write_table(CONTACTS, rows, source=info.source, vintage=info.vintage, licence=info.licence)
    ws.compact()  # the rewritten table's old pages, freed by GDAL, leave the file


def retention_cutoff(today: date, months: int) -> date:
    """``today`` minus ``months`` months (the day clamped to the month's length)."""
    if months < 1:
        raise ValidationError(f"durée de conservation invalide : {months} mois (au moins 1)")
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        raise ValidationError(f"durée de conservation invalide : {months} mois")
    day = min(today.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def purge(ws: Workspace, *, older_than_months: int, today: date, author: str | None = None) -> int:
    """Delete the stored contacts dated before ``today`` minus ``older_than_months``.

    Returns the number of contacts deleted (0 when the workspace holds none).
    Contacts dated exactly on the cutoff day are kept. Nothing of the deleted rows stays
    in the file: the store overwrites deleted content (``secure_delete``) and the file is
    then rebuilt without its free pages (:meth:`~territory.store.Workspace.compact`).
    Every purge is logged with the batches (:func:`territory.batches.log_purge`, in the
    same transaction): when, by whom, how many rows and the cutoff's month, nothing else.
    """
    cutoff = retention_cutoff(today, older_than_months)

    def log(con: sqlite3.Connection, deleted: int) -> None:
        batches.log_purge(con, deleted=deleted, cutoff=cutoff.isoformat()[:7], author=author)

    if not has_contacts(ws):
        with ws.transaction(what=CONTACTS) as con:
            log(con, 0)
        return 0
    deleted = ws.delete_rows(CONTACTS, "date < ?", (cutoff.isoformat(),), then=log)
    if deleted:
        ws.compact()
    return deleted
