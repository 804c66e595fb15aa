"""The batch log: every import, round feedback, purge and undo of a workspace.

Each import is a **batch** (``privacy.md``): who made it (the OS user, or the name given),
when (ISO 8601 in UTC, shown in Paris time), the file's base name (never its folder), the
counts of its report, and its state: running, active, undone (when, by which undo entry)
or replaced (by which later batch). Purges and undos are logged in the same table, so that
one list tells what happened to the workspace's data.

Undoing a batch:

* **contacts and round feedback** (:data:`ROW_KINDS`): every stored contact carries the id
  of its batch (column ``lot``); the rows are deleted by
  :func:`territory.privacy.raw.delete_batches`, which calls :func:`log_undo` inside its
  own transaction, then compacts the file;
* **layers** (communes, QPV, partners, GTFS…): :func:`begin` keeps a copy of every table
  the import is about to write (:meth:`territory.store.Workspace.copy_table`) and
  :func:`finish` drops the copies kept by the previous import of those tables, so that
  one previous state per table is kept. :func:`undo_layers` puts that copy back when the
  batch is still the latest import of each of its tables and nothing changed them since;
  otherwise :func:`why_not_undoable` says why in French.

The table ``territory_batches``: ``id`` (from 1, never reused), ``kind`` (an import kind,
``feedback``, ``purge`` or ``undo``), ``author``, ``time`` (UTC), ``file``, ``counts``
(JSON), ``state`` (``running``, ``active``, ``undone``, ``replaced``, ``done`` for purges
and undos), ``undone_at`` (UTC), ``undone_by`` (the undo entry, or the replacing batch),
``target`` (an undo's batch), ``blocked`` (why it cannot be undone, French) and ``backup``
(JSON: the copies a layer batch keeps).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from territory.store import Workspace
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Essai")
>>> batch = begin(ws, "contacts", file="equipe.csv", author="camille")
>>> finish(ws, batch, counts={"read": 3, "accepted": 3}).state
'active'
>>> [(b.id, b.kind, b.author, b.file) for b in list_batches(ws)]
[(1, 'contacts', 'camille', 'equipe.csv')]
"""

from __future__ import annotations

import contextlib
import getpass
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from territory._errors import TerritoryError, ValidationError
from territory._fr import format_number
from territory.store import Workspace

__all__ = [
    "BATCHES",
    "FEEDBACK",
    "KIND_LABELS",
    "PURGE",
    "ROW_KINDS",
    "UNDO",
    "Batch",
    "abort",
    "author_name",
    "batches_table",
    "begin",
    "counts_text",
    "ensure_log",
    "finish",
    "get_batch",
    "list_batches",
    "log_purge",
    "log_undo",
    "mark_replaced",
    "settle",
    "state_text",
    "undo_layers",
    "why_not_undoable",
]

BATCHES = "territory_batches"
"""The workspace table of the batch log (not a layer: GDAL and QGIS do not list it)."""
FEEDBACK, PURGE, UNDO = "feedback", "purge", "undo"
ROW_KINDS = ("contacts", FEEDBACK)
"""Batches whose contact rows carry their id: undone by deleting those rows."""
KIND_LABELS = {
    "communes": "communes",
    "communes-table": "table des communes",
    "density": "grille de densité",
    "qpv": "QPV",
    "partners": "partenaires",
    "gtfs": "transports (GTFS)",
    "contacts": "contacts",
    "parcours": "parcours",
    "places": "lieux",
    "reseau": "réseau routier (OSM)",
    FEEDBACK: "retour de tournée",
    PURGE: "purge",
    UNDO: "annulation",
}
"""French name of each kind of batch."""
_TABLE_LABELS = {"contacts": "les contacts", "commune_table": "la table des communes"}
_PARIS = ZoneInfo("Europe/Paris")
_COPY = "territory_before_{id}_{table}"  # the copy a layer batch keeps of a table
_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {BATCHES} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    time TEXT NOT NULL,
    file TEXT NOT NULL DEFAULT '',
    counts TEXT NOT NULL DEFAULT '{{}}',
    state TEXT NOT NULL,
    undone_at TEXT,
    undone_by INTEGER,
    target INTEGER,
    blocked TEXT NOT NULL DEFAULT '',
    backup TEXT
)"""
_COLUMNS = (
    "id",
    "kind",
    "author",
    "time",
    "file",
    "counts",
    "state",
    "undone_at",
    "undone_by",
    "target",
    "blocked",
    "backup",
)


@dataclass(frozen=True)
class Batch:
    """One entry of the batch log (see the module's docstring for the fields)."""

    id: int
    kind: str
    author: str
    time: str
    file: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    state: str = "running"
    undone_at: str | None = None
    undone_by: int | None = None
    target: int | None = None
    blocked: str = ""
    backup: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """The kind in French."""
        return KIND_LABELS.get(self.kind, self.kind)

    def tables(self) -> list[str]:
        """The tables a layer batch wrote (empty for the other kinds)."""
        backup = self.backup or {}
        return [*(t["name"] for t in backup.get("tables", [])), *backup.get("absent", [])]


def author_name(author: str | None = None) -> str:
    """``author`` stripped, else the OS user's login name, else « inconnu »."""
    if author and author.strip():
        return author.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "inconnu"


# ------------------------------------------------------------------ writing the log
def begin(
    ws: Workspace,
    kind: str,
    *,
    file: str = "",
    author: str | None = None,
    tables: Iterable[str] = (),
    properties: Iterable[str] = (),
) -> Batch:
    """Open a batch (state ``running``) before anything is written; returns it with its id.

    ``tables`` and ``properties`` are what a layer import is about to write: a copy of each
    stored table is kept (a table not stored yet is noted as absent) with the properties'
    values, so that :func:`undo_layers` can put them back. ``file`` says what was imported:
    a file's base name (never its folder, which may name a person), or a visit.
    """
    name = file
    with ws.transaction(what=BATCHES) as con:
        con.execute(_SCHEMA)
        cursor = con.execute(
            f"INSERT INTO {BATCHES} (kind, author, time, file, state) VALUES (?, ?, ?, ?, ?)",
            (kind, author_name(author), _now(), name, "running"),
        )
        batch_id = int(cursor.lastrowid or 0)
    batch = Batch(batch_id, kind, author_name(author), "", name)
    tables, properties = list(tables), list(properties)
    if not tables and not properties:
        return get_batch(ws, batch_id)
    saved: list[dict[str, Any]] = []
    try:
        absent = []
        for table in tables:
            copy = ws.copy_table(table, _COPY.format(id=batch_id, table=table))
            if copy is None:
                absent.append(table)
            else:
                saved.append(copy)
        backup = {
            "tables": saved,
            "absent": absent,
            "properties": {key: ws.get_property(key) for key in properties},
            "before": ws.stamps(),
        }
        _update(ws, batch_id, backup=json.dumps(backup))
    except BaseException:
        with contextlib.suppress(TerritoryError, sqlite3.Error):
            ws.drop_copies(t["copy"] for t in saved)
            _delete(ws, batch)
        raise
    return get_batch(ws, batch_id)


def finish(ws: Workspace, batch: Batch, *, counts: Mapping[str, Any], blocked: str = "") -> Batch:
    """Close a batch that succeeded: its counts, state ``active``, the older copies dropped.

    For a layer batch, the state of each table written is noted (its write stamp), the
    copies of the tables it did not write after all are dropped, and so are the copies kept
    by earlier batches of the tables it wrote: one previous state per table is kept. A
    table the import changed without declaring it (the contacts moved to their current
    commune by a COG table, for instance) makes the batch one that cannot be undone, with
    ``blocked`` saying why.
    """
    backup = batch.backup
    if backup is not None:
        stamps = ws.stamps()
        changed = {t for t, v in stamps.items() if v != backup["before"].get(t)}
        declared = set(batch.tables())
        others = sorted(changed - declared)
        if others and not blocked:
            blocked = (
                "cet import a aussi modifié "
                + ", ".join(_TABLE_LABELS.get(t, f"« {t} »") for t in others)
                + " : il ne peut pas être annulé"
            )
        # a table the import did not write after all is not its to put back
        written = changed & declared
        ws.drop_copies(t["copy"] for t in backup["tables"] if t["name"] not in written)
        backup = {
            **backup,
            "tables": [t for t in backup["tables"] if t["name"] in written],
            "absent": [t for t in backup["absent"] if t in written],
            "after": {t: stamps.get(t) for t in written},
        }
        ws.drop_copies(
            t["copy"]
            for b in list_batches(ws)
            if b.id != batch.id and b.backup
            for t in b.backup["tables"]
            if t["name"] in written
        )
    _update(
        ws,
        batch.id,
        counts=json.dumps(dict(counts), ensure_ascii=False),
        state="active",
        blocked=blocked,
        backup=None if backup is None else json.dumps(backup),
    )
    return get_batch(ws, batch.id)


def abort(ws: Workspace, batch: Batch) -> None:
    """Forget a batch that failed: put back the tables it changed, drop its copies and entry.

    The contacts of a failed import were never committed (one transaction); the tables
    of a failed layer import that changed since :func:`begin` get their copy back, and
    a table it created is dropped.
    """
    current = get_batch(ws, batch.id)
    backup = current.backup
    if backup is not None:
        stamps = ws.stamps()
        changed = {t for t in current.tables() if stamps.get(t) != backup["before"].get(t)}
        restore = [t for t in backup["tables"] if t["name"] in changed]
        absent = [t for t in backup["absent"] if t in changed and ws.has(t)]
        if restore or absent:
            before = {t: backup["before"].get(t) for t in changed}
            ws.restore_tables(
                restore, absent=absent, properties=backup["properties"], stamps=before
            )
        ws.drop_copies(t["copy"] for t in backup["tables"])
    _delete(ws, current)


def ensure_log(con: Any) -> None:
    """Create the batch log in the caller's transaction when it is not there (either engine).

    On the server, the operator's step (``territory db import`` / ``db init``): a user's
    session, as the app role, creates no table.
    """
    con.execute(_SCHEMA)


def log_purge(con: sqlite3.Connection, *, deleted: str, cutoff: str, author: str | None) -> int:
    """Record a purge inside the purge's own transaction: when, how many, the cutoff month.

    ``deleted`` is the protected label of the number of contacts deleted; ``cutoff`` is
    the first month kept (``"2024-03"``); nothing of the deleted rows is logged. Returns
    the entry's id.
    """
    counts = {"deleted": deleted, "cutoff": cutoff}
    return _log(con, PURGE, author=author, counts=counts)


def log_undo(
    con: sqlite3.Connection, batch: Batch, *, author: str | None, counts: Mapping[str, Any]
) -> int:
    """Record the undo of ``batch`` and mark it undone, inside the undo's own transaction."""
    entry = _log(con, UNDO, author=author, counts=dict(counts), target=batch.id)
    _mark(con, batch.id, state="undone", by=entry)
    return entry


def mark_replaced(con: sqlite3.Connection, batch_id: int, *, by: int) -> None:
    """Mark a batch replaced by a later one (a visit's feedback recorded again)."""
    _mark(con, batch_id, state="replaced", by=by)


def settle(con: sqlite3.Connection, batch_id: int, *, counts: Mapping[str, Any]) -> None:
    """Make a batch of rows active with its counts, inside the caller's transaction."""
    con.execute(
        f"UPDATE {BATCHES} SET state = 'active', counts = ? WHERE id = ?",
        (json.dumps(dict(counts), ensure_ascii=False), batch_id),
    )


# ------------------------------------------------------------------ reading the log
def list_batches(ws: Workspace) -> list[Batch]:
    """Every entry of the log, oldest first (empty for a workspace without one)."""
    if not _has_log(ws):
        return []
    rows = ws.query(f"SELECT {', '.join(_COLUMNS)} FROM {BATCHES} ORDER BY id")
    return [_batch(row) for row in rows.astype(object).itertuples(index=False)]


def get_batch(ws: Workspace, batch_id: int) -> Batch:
    """The entry ``batch_id``; a French error names the ids that exist."""
    found = [b for b in list_batches(ws) if b.id == batch_id]
    if not found:
        ids = [b.id for b in list_batches(ws)]
        known = f"lots 1 à {max(ids)}" if ids else "aucun lot enregistré"
        raise ValidationError(
            f"lot {batch_id} inconnu ({known} ; « territory batches list » les liste)"
        )
    return found[0]


def why_not_undoable(ws: Workspace, batch: Batch) -> str:
    """Why ``batch`` cannot be undone now, in French ("" when it can; its id not repeated)."""
    if batch.kind == PURGE:
        return "une purge ne s'annule pas : les contacts effacés ne sont plus dans le fichier"
    if batch.kind == UNDO:
        return "une annulation ne s'annule pas : importez le fichier à nouveau"
    when = _local(batch.undone_at)
    if batch.state == "undone":
        return f"déjà annulé le {when}"
    if batch.state == "replaced":
        return f"déjà remplacé par le lot {batch.undone_by} le {when}"
    if batch.state == "running":
        return "import en cours, ou interrompu : rien à annuler"
    if batch.blocked:
        return batch.blocked
    if batch.kind in ROW_KINDS or batch.backup is None:
        return ""
    stamps = ws.stamps()
    for table in batch.tables():
        later = [b for b in list_batches(ws) if b.id > batch.id and table in b.tables()]
        if later:
            return (
                f"la couche « {table} » a été importée à nouveau depuis (lot {later[0].id}) : "
                "seul le dernier import d'une couche peut être annulé (la copie d'avant ce "
                "lot n'est plus gardée)"
            )
        if stamps.get(table) != batch.backup.get("after", {}).get(table):
            return (
                f"la couche « {table} » a été modifiée depuis cet import : l'annuler "
                "effacerait ces modifications (importez à nouveau l'ancien fichier)"
            )
    return ""


def undo_layers(ws: Workspace, batch: Batch, *, author: str | None = None) -> int:
    """Put back the tables a layer batch wrote, as they were before it; returns the undo entry.

    The restore, the undo entry and the batch's new state are one transaction: if any
    fails, the workspace stays as it was. Raises a French
    :class:`~territory.ValidationError` when :func:`why_not_undoable` gives a reason.
    """
    reason = why_not_undoable(ws, batch)
    if reason:
        raise ValidationError(f"lot {batch.id} : {reason}")
    backup = batch.backup or {}
    entries: list[int] = []

    def log(con: sqlite3.Connection) -> None:
        counts = {"restored": sorted(batch.tables())}
        entries.append(log_undo(con, batch, author=author, counts=counts))

    ws.restore_tables(
        backup.get("tables", []),
        absent=[t for t in backup.get("absent", []) if ws.has(t)],
        properties=backup.get("properties", {}),
        stamps={t: backup["before"].get(t) for t in batch.tables()},
        then=log,
    )
    ws.drop_copies(t["copy"] for t in backup.get("tables", []))
    return entries[0]


# ------------------------------------------------------------------ in French
def batches_table(batches: Iterable[Batch]) -> pd.DataFrame:
    """The log as a French table: Lot, Type, Auteur, Date (Paris), Fichier, Comptes, État."""
    rows = [
        {
            "Lot": b.id,
            "Type": b.label,
            "Auteur": b.author,
            "Date": _local(b.time),
            "Fichier": b.file,
            "Comptes": counts_text(b),
            "État": state_text(b),
        }
        for b in batches
    ]
    columns = ["Lot", "Type", "Auteur", "Date", "Fichier", "Comptes", "État"]
    return pd.DataFrame(rows, columns=columns)


def counts_text(batch: Batch) -> str:
    """The batch's counts in French (``"300 lues, 290 acceptées dont 2 déjà présentes…"``)."""
    c = batch.counts
    if batch.kind == PURGE:
        deleted = c.get("deleted", "non publié")  # a protected label (older logs: a number)
        shown = deleted if isinstance(deleted, str) else "non publié"
        cutoff = c.get("cutoff", "?")
        return f"{shown} contact(s) effacé(s) (valeur protégée), antérieurs à {cutoff}"
    if batch.kind == UNDO:
        what = (
            f"{format_number(c['deleted'])} ligne(s) effacée(s)"
            if "deleted" in c
            else "rétabli : " + ", ".join(c.get("restored", []))
        )
        return f"lot {batch.target} — {what}"
    if batch.kind == FEEDBACK:
        statuses = ", ".join(f"{s} {format_number(n)}" for s, n in c.get("statuts", {}).items())
        return f"{format_number(c.get('contacts', 0))} contact(s)" + (
            f" ({statuses})" if statuses else ""
        )
    if not c:
        return ""
    parts = [f"{format_number(c.get('read', 0))} lue(s)"]
    accepted = f"{format_number(c.get('accepted', 0))} acceptée(s)"
    if c.get("already"):
        accepted += f" dont {format_number(c['already'])} déjà présente(s)"
    parts.append(accepted)
    parts += [
        f"{format_number(c[k])} {word}"
        for k, word in (
            ("fixed", "corrigée(s)"),
            ("refused", "refusée(s)"),
            ("pending", "en attente"),
        )
        if c.get(k)
    ]
    return ", ".join(parts)


def state_text(batch: Batch) -> str:
    """The batch's state in French: actif, annulé le …, remplacé par le lot …, effectué."""
    when = _local(batch.undone_at)
    return {
        "running": "en cours (ou interrompu)",
        "active": "actif",
        "undone": f"annulé le {when} (annulation n° {batch.undone_by})",
        "replaced": f"remplacé par le lot {batch.undone_by} le {when}",
        "done": "effectué",
    }.get(batch.state, batch.state)


# ------------------------------------------------------------------ private
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _local(moment: str | None) -> str:
    """A stored UTC moment as Paris time, ``"02/03/2026 11:15"`` ("" when missing)."""
    if not moment:
        return ""
    return datetime.fromisoformat(moment).astimezone(_PARIS).strftime("%d/%m/%Y %H:%M")


def _has_log(ws: Workspace) -> bool:
    return BATCHES in ws.table_names()


def _log(
    con: sqlite3.Connection,
    kind: str,
    *,
    author: str | None,
    counts: Mapping[str, Any],
    target: int | None = None,
) -> int:
    con.execute(_SCHEMA)
    cursor = con.execute(
        f"INSERT INTO {BATCHES} (kind, author, time, counts, state, target) "
        "VALUES (?, ?, ?, ?, 'done', ?)",
        (kind, author_name(author), _now(), json.dumps(dict(counts), ensure_ascii=False), target),
    )
    return int(cursor.lastrowid or 0)


def _mark(con: sqlite3.Connection, batch_id: int, *, state: str, by: int) -> None:
    con.execute(
        f"UPDATE {BATCHES} SET state = ?, undone_at = ?, undone_by = ? WHERE id = ?",
        (state, _now(), by, batch_id),
    )


def _update(ws: Workspace, batch_id: int, **values: Any) -> None:
    with ws.transaction(what=BATCHES) as con:
        con.execute(
            f"UPDATE {BATCHES} SET " + ", ".join(f"{k} = ?" for k in values) + " WHERE id = ?",
            (*values.values(), batch_id),
        )


def _delete(ws: Workspace, batch: Batch) -> None:
    with ws.transaction(what=BATCHES) as con:
        con.execute(f"DELETE FROM {BATCHES} WHERE id = ?", (batch.id,))


def _batch(row: Any) -> Batch:
    values = dict(zip(_COLUMNS, row, strict=True))

    def number(value: Any) -> int | None:
        return None if value is None or pd.isna(value) else int(value)

    def text(value: Any) -> str | None:
        return None if value is None or pd.isna(value) else str(value)

    return Batch(
        id=int(values["id"]),
        kind=str(values["kind"]),
        author=str(values["author"]),
        time=str(values["time"]),
        file=text(values["file"]) or "",
        counts=json.loads(text(values["counts"]) or "{}"),
        state=str(values["state"]),
        undone_at=text(values["undone_at"]),
        undone_by=number(values["undone_by"]),
        target=number(values["target"]),
        blocked=text(values["blocked"]) or "",
        backup=json.loads(backup) if (backup := text(values["backup"])) else None,
    )
