"""The audit log: who did what, when, append-only; read by admins, exported to CSV.

Rows are added with :func:`record` and never changed: the app role has no UPDATE, DELETE
or TRUNCATE on ``territory_access.audit`` and a trigger refuses them to everyone, owner
included. When the transaction carries a session (the app), the database writes the
session's e-mail in ``who`` whatever the caller says; the operator's command line names
itself (``--as``).

Examples
--------
>>> print(to_csv([Entry(1, datetime(2026, 12, 7, 6, 0, tzinfo=UTC), "a@x.fr", "login",
...                     None, None, {})]).decode("utf-8-sig"), end="")
Date (UTC);Qui;Action;Espace de travail;Cible;Détails
2026-12-07 06:00:00;a@x.fr;Connexion;;;{}
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from territory._errors import ValidationError
from territory.access.schema import AUDIT_ACTIONS, SCHEMA

__all__ = ["ACTION_LABELS", "CSV_HEADERS", "Entry", "entries", "record", "to_csv"]

ACTION_LABELS = {
    "login": "Connexion",
    "login_failed": "Connexion refusée",
    "logout": "Déconnexion",
    "import": "Import",
    "undo": "Annulation d'un lot",
    "export": "Export",
    "download": "Téléchargement",
    "plan_change": "Modification de tournée",
    "purge": "Purge",
    "role_change": "Changement de droits",
    "account_change": "Changement de compte",
}
CSV_HEADERS = ("Date (UTC)", "Qui", "Action", "Espace de travail", "Cible", "Détails")


@dataclass(frozen=True)
class Entry:
    """One line of the audit log."""

    id: int
    at: datetime
    who: str
    action: str
    workspace: str | None
    target: str | None
    details: dict[str, Any]


def record(
    con: Any,
    who: str,
    action: str,
    *,
    workspace: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one line to the audit log (in the caller's transaction, if any)."""
    if action not in AUDIT_ACTIONS:
        raise ValidationError(f"action d'audit inconnue : {action}")
    from psycopg.types.json import Jsonb

    con.execute(
        f"INSERT INTO {SCHEMA}.audit (who, action, workspace, target, details) "
        "VALUES (%s, %s, %s, %s, %s)",
        (who or "?", action, workspace, target, Jsonb(details or {})),
    )


def entries(
    con: Any,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    who: str | None = None,
    action: str | None = None,
    workspace: str | None = None,
    limit: int | None = None,
) -> list[Entry]:
    """The log's lines matching the filters, newest first (an admin's session or the owner)."""
    where, params = ["true"], []
    for clause, value in (
        ("at >= %s", since),
        ("at < %s", until),
        ("who = lower(%s)", who),
        ("action = %s", action),
        ("workspace = %s", workspace),
    ):
        if value:
            where.append(clause)
            params.append(value)
    text = (
        f"SELECT id, at, who, action, workspace, target, details FROM {SCHEMA}.audit "
        f"WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC"
    )
    if limit:
        text += f" LIMIT {int(limit)}"
    return [Entry(*row) for row in con.execute(text, params)]


def to_csv(rows: list[Entry]) -> bytes:
    """The lines as a CSV for Excel: French headers, ``;``, UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_HEADERS)
    for e in rows:
        writer.writerow(
            [
                e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                e.who,
                ACTION_LABELS.get(e.action, e.action),
                e.workspace or "",
                e.target or "",
                json.dumps(e.details, ensure_ascii=False, sort_keys=True),
            ]
        )
    return out.getvalue().encode("utf-8-sig")
