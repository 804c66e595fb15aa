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
>>> has_contacts(ws)
False
>>> rows = pd.DataFrame({"cell": ["c1", "c1"], "commune": ["01001", "01001"],
...     "date": ["2026-03-02", "2026-04-10"], "hour": [9, 15], "statut": ["x", "y"],
...     "tranche_age": "", "sexe": "", "partenaire": "", "personne": "",
...     "fingerprint": ["a", "b"]})
>>> append_contacts(ws, rows, source="test", vintage="", licence="")
2
>>> contact_cell_counts(ws)["n"].tolist(), contact_frame(ws)["key"].between(0, 255).all()
([2], np.True_)
>>> delete_contacts(ws, ["a"]), contact_cell_counts(ws)["n"].tolist()
(1, [1])
"""

from __future__ import annotations

import calendar
import contextlib
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from territory import batches
from territory._errors import ValidationError
from territory.privacy.parcours import purge_parcours
from territory.privacy.protect import KEY_RANGE
from territory.store import TableAppender, Workspace
from territory.vocab import PARTNER_TYPES

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "BATCH_COLUMN",
    "CONTACTS",
    "STORED_COLUMNS",
    "ContactAppender",
    "append_contacts",
    "contact_cell_counts",
    "contact_frame",
    "contact_writer",
    "delete_batches",
    "delete_contacts",
    "has_contacts",
    "has_rows_before_batches",
    "migrate",
    "purge",
    "recode_communes",
    "retention_cutoff",
    "stored_batches",
    "stored_fingerprints",
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
    "cle",
]
"""The columns of a stored contact (no location finer than the 200 m cell, no free text).

``cle`` is the contact's record key, drawn at random in ``[0, KEY_RANGE)`` when it is
written (:func:`contact_writer`): the cell-key perturbation of
:mod:`territory.privacy.protect` reads it, nothing shows it."""
BATCH_COLUMN = "lot"
"""Stored beside :data:`STORED_COLUMNS` by the writer: the id of the row's import batch."""

_SCHEMA = pd.DataFrame(
    {
        c: pd.Series(dtype="int64" if c in ("hour", "cle", BATCH_COLUMN) else "str")
        for c in [*STORED_COLUMNS, BATCH_COLUMN]
    }
)
_BOUND_AT_ONCE = 900  # SQL parameters per statement (SQLite allows 999 at least)


def has_contacts(ws: Workspace) -> bool:
    """Whether the workspace holds a contact table (empty or not)."""
    return ws.has(CONTACTS)


def contact_cell_counts(ws: Workspace, *, communes: Collection[str] | None = None) -> pd.DataFrame:
    """Raw numbers of contacts per (cell, commune), read from the store's count table.

    ``communes`` keeps only the contacts of those communes. Raw: for checks of the
    store; the published figures count people (:func:`contact_frame`).
    """
    if not has_contacts(ws):
        return pd.DataFrame({"cell": [], "commune": [], "n": []})
    counts = ws.group_counts(CONTACTS)
    if communes is not None:
        counts = counts[counts["commune"].isin(set(communes))].reset_index(drop=True)
    return counts


def stored_fingerprints(ws: Workspace) -> pd.Index:
    """Fingerprints of the contacts already stored (unique, hashed once for lookups)."""
    if not has_contacts(ws):
        return pd.Index([], dtype=object)
    stored = ws.read_table(CONTACTS, columns=["fingerprint"])["fingerprint"]
    return pd.Index(stored.to_numpy(dtype=object, na_value=""), dtype=object).unique()


@contextlib.contextmanager
def contact_writer(
    ws: Workspace, *, source: str, licence: str, vintage: str = "", lot: int | None = None
) -> Iterator[ContactAppender]:
    """The one way contacts are written: append anonymised rows in one transaction.

    Yields an appender on the contact table (created with :data:`STORED_COLUMNS` and
    :data:`BATCH_COLUMN` when missing): ``append`` rows of :data:`STORED_COLUMNS` but
    ``cle`` chunk by chunk (each row gets a fresh random record key, and ``lot``, the id
    of the import batch; None only outside any batch), ``discard`` what was appended, set
    ``vintage``; everything is committed when the block ends, or nothing if it raises. A
    table stored before batches gets the column first (its rows: NULL); one stored before
    record keys is migrated (:func:`migrate`).
    """
    migrate(ws)
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
        yield ContactAppender(table)
    if ws.get_property(_RULES) != _RULES_VERSION:  # a new table: its rows follow the rules
        ws.set_property(_RULES, _RULES_VERSION)


class ContactAppender:
    """A :class:`~territory.store.TableAppender` that draws each row's record key."""

    def __init__(self, table: TableAppender) -> None:
        self._table = table
        self._draw = np.random.default_rng()  # fresh OS entropy: keys are never reproducible

    @property
    def vintage(self) -> str:
        """The vintage set on the table when the block ends."""
        return self._table.vintage

    @vintage.setter
    def vintage(self, value: str) -> None:
        self._table.vintage = value

    def append(self, df: pd.DataFrame) -> None:
        """Append rows (the stored columns but ``cle``), each with a new record key."""
        keyed = df.drop(columns="cle", errors="ignore").assign(
            cle=self._draw.integers(0, KEY_RANGE, len(df), dtype=np.int64)
        )
        self._table.append(keyed)

    def discard(self) -> None:
        """Forget every row appended so far."""
        self._table.discard()


def migrate(ws: Workspace) -> None:
    """Bring an older workspace's contacts up to the current rules, once.

    Rows stored before record keys get one each (drawn by SQLite's ``random()``, seeded
    from the OS); a partner value that is not one of the partner types' labels (stored
    verbatim before closed vocabularies: a name, a phone number, a note) becomes
    « Autre partenaire », and the file is compacted so that the old text is gone.
    """
    if not has_contacts(ws) or ws.get_property(_RULES) == _RULES_VERSION:
        return
    ws.add_column(CONTACTS, "cle", "INTEGER", f"abs(random()) % {KEY_RANGE}")
    columns = set(ws.columns(CONTACTS))
    changed = 0
    if "partenaire" in columns:
        labels = ["", *PARTNER_TYPES.values()]
        marks = ", ".join("?" * len(labels))
        changed = ws.update_rows(
            CONTACTS,
            "partenaire = ?",
            f"partenaire IS NOT NULL AND partenaire NOT IN ({marks})",
            (PARTNER_TYPES["AUTRE"], *labels),
        )
    ws.set_property(_RULES, _RULES_VERSION)
    if changed:
        ws.compact()


_RULES = "contacts_rules"  # workspace property: the privacy rules the rows were brought to
_RULES_VERSION = "2"


def contact_frame(
    ws: Workspace, *, columns: Collection[str] = (), where: str | None = None
) -> pd.DataFrame:
    """Every stored contact (or those matching ``where``), compact, for the protection step.

    Columns ``cell`` and ``commune`` (categorical), ``person`` (an integer per distinct
    pseudonym; a contact without one is a person of its own), ``n`` (1) and ``key`` (the
    record key), plus ``columns`` of :data:`STORED_COLUMNS` (``date`` as a datetime, text
    as categorical; ``personne``, the pseudonym, to join the parcours rows). Raw: it never
    leaves :mod:`territory.privacy`.
    """
    extra = [c for c in columns if c not in ("cell", "commune", "cle")]
    if not has_contacts(ws):
        return pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("cell", "commune")}
            | {"person": pd.Series(dtype="int64"), "n": pd.Series(dtype="int64"),
               "key": pd.Series(dtype="int64")}
            | {c: pd.Series(dtype=object) for c in extra}
        )  # fmt: skip
    migrate(ws)
    present = set(ws.columns(CONTACTS))
    wanted = list(dict.fromkeys(["cell", "commune", "personne", "cle", *extra]))
    table, _ = ws.read_arrow(CONTACTS, columns=[c for c in wanted if c in present], where=where)
    rows = table.num_rows
    code = np.arange(rows, dtype=np.int64)  # without pseudonyms, every contact is a person
    pseudonyms = None
    if "personne" in present:
        person = table.column("personne")
        missing = pc.or_(pc.is_null(person), pc.equal(person, "")).to_numpy(zero_copy_only=False)
        codes = pc.dictionary_encode(person).combine_chunks()
        pseudonyms = _categorical_of(codes)  # encoded once, for ``person`` and ``personne``
        code = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        own = np.flatnonzero(missing)
        code[own] = len(codes.dictionary) + np.arange(len(own))  # one person per keyless row
    key = (
        pc.fill_null(table.column("cle"), 0).to_numpy().astype(np.int64)
        if "cle" in present
        else np.zeros(rows, dtype=np.int64)
    )
    out = pd.DataFrame(
        {
            "cell": _categorical(table.column("cell")),
            "commune": _categorical(table.column("commune")),
            "person": code,
            "n": np.ones(rows, dtype=np.int64),
            "key": key,
        }
    )
    for name in extra:
        if name not in present:
            out[name] = ""
        elif name == "personne" and pseudonyms is not None:
            out[name] = pseudonyms
        elif name == "date":  # ISO text → datetime64, in Arrow (ten times faster than pandas)
            out[name] = pc.cast(table.column(name), pa.timestamp("s")).to_numpy()
        elif pa.types.is_string(table.column(name).type) or pa.types.is_large_string(
            table.column(name).type
        ):
            out[name] = _categorical(table.column(name))
        else:
            out[name] = table.column(name).to_numpy()
    return out


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """A text column as a pandas categorical (codes from Arrow's dictionary encoding)."""
    return _categorical_of(pc.dictionary_encode(column).combine_chunks())


def _categorical_of(encoded: pa.DictionaryArray) -> pd.Categorical:
    """An Arrow dictionary array as a pandas categorical (null: code -1)."""
    return pd.Categorical.from_codes(
        encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64),
        categories=pd.Index(encoded.dictionary.to_pylist(), dtype=object),
    )


def append_contacts(
    ws: Workspace,
    rows: pd.DataFrame,
    *,
    source: str,
    vintage: str,
    licence: str,
    lot: int | None = None,
) -> int:
    """Append anonymised contact rows (:data:`STORED_COLUMNS` but ``cle``) of batch ``lot``."""
    given = [c for c in STORED_COLUMNS if c != "cle"]
    missing = [c for c in given if c not in rows]
    if missing:
        raise ValidationError(f"contacts sans colonne(s) : {', '.join(missing)}")
    with contact_writer(ws, source=source, vintage=vintage, licence=licence, lot=lot) as table:
        table.append(rows[given].astype({"hour": "int64"}).reset_index(drop=True))
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
    columns = ws.columns(CONTACTS)
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


def purge(
    ws: Workspace,
    *,
    older_than_months: int,
    today: date,
    author: str | None = None,
    published: str = "non publié",
) -> int:
    """Delete the stored contacts dated before ``today`` minus ``older_than_months``.

    Returns the number of contacts deleted (0 when the workspace holds none).
    Contacts dated exactly on the cutoff day are kept. Nothing of the deleted rows stays
    in the file: the store overwrites deleted content (``secure_delete``) and the file is
    then rebuilt without its free pages (:meth:`~territory.store.Workspace.compact`).
    Every purge is logged with the batches (:func:`territory.batches.log_purge`, in the
    same transaction): when, by whom, the cutoff's month and ``published``, the protected
    number of contacts deleted (:func:`territory.privacy.published.count_before`, made by
    the caller before the purge), never the raw number: a user who imports fake old
    contacts and purges them would read how many real ones went with them.
    """
    cutoff = retention_cutoff(today, older_than_months)

    def log(con: sqlite3.Connection, deleted: int) -> None:
        del deleted  # raw: not logged
        batches.log_purge(con, deleted=published, cutoff=cutoff.isoformat()[:7], author=author)

    # pathways (privacy.parcours) ended — or, still open, entered — before the cutoff's
    # month go too: the same retention applies to every person-level row
    ended = purge_parcours(ws, cutoff_month=cutoff.isoformat()[:7])
    if not has_contacts(ws):
        with ws.transaction(what=CONTACTS) as con:
            log(con, 0)
        if ended:
            ws.compact()
        return 0
    deleted = ws.delete_rows(CONTACTS, "date < ?", (cutoff.isoformat(),), then=log)
    if deleted or ended:
        ws.compact()
    return deleted
