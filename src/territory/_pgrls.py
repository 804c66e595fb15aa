"""The server engine reached as the app role, in a user's session (issue #24).

Two kinds of :class:`territory.store.ServerWorkspace` reach a workspace's schema:

* **the operator's** (``TERRITORY_DATABASE_URL``: the tables' owner): migrations,
  ``territory db init`` / ``db import``, bulk loads of reference layers, undo of layer
  batches; row-level security does not apply to the owner. Each table the store creates
  this way gets the policies of its scope at once (:func:`protect_created`, through
  :func:`territory.access.rls.protect_table`) when the server has the access schema;
* **a user's** (the app role's URL and a session token: the pages, and the command line
  with ``TERRITORY_SESSION_TOKEN``): its address is ``postgresql://…/base#schema;session=…``
  (:func:`with_session`), so that ``ws.key`` — the cache key of every page and of
  :mod:`territory.privacy.published` — is one user's session, never shared between two.
  Every transaction names that session first (``SET LOCAL`` through ``set_config(…,
  true)``, :func:`territory.access.accounts.apply_session`), and PostgreSQL filters every
  statement by the policies; :func:`check_app_role` refuses to open it as a role that owns
  the schema, is a superuser or bypasses row-level security.

**Writes of a user go through the app role under the policies**, not through a ``SECURITY
DEFINER`` writer: an import, a feedback, a plan edit, a purge is the same SQL as on the
owner's connection, and each inserted or updated row passes the policy's ``WITH CHECK``
(a ``chef_equipe`` or ``admin`` grant covering the row's commune, territory or
workspace), each deleted row its ``USING`` (a purge deletes the session's rows only). One
row outside the user's territories makes the whole transaction fail (« ligne hors de vos
territoires »). PostgreSQL refuses ``COPY FROM`` into a table with row-level security, so
a user's bulk load is copied into a temporary table first, then inserted from it in the
same transaction (:func:`copy_rows`): the policies see every row. What a user's session
cannot do is DDL (create, replace or drop a table: the operator's commands do it), and a
pending workspace migration (the operator applies it: :func:`check_version`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol

from territory._errors import WorkspaceError
from territory._layout import _PROPS, SCHEMA_VERSION


class Connection(Protocol):
    """What this module needs of :class:`territory._pgstore.Connection`.

    A protocol, never an import: the engine imports this module.
    """

    raw: Any
    staged: bool

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any: ...


SESSION_MARK = ";session="
"""Between the schema and the session token in a user's workspace address."""


def with_session(url: str, schema: str, token: str) -> str:
    """The address of ``schema`` at ``url`` (the app role's) in the session ``token``."""
    return f"{url}#{schema}{SESSION_MARK}{token}"


def split_session(fragment: str) -> tuple[str, str | None]:
    """``schema;session=TOKEN`` as the schema and the token (None: the owner's address)."""
    schema, mark, token = fragment.partition(SESSION_MARK)
    return schema, (token if mark else None)


def apply_session(raw: Any, token: str) -> None:
    """Name the session for the current transaction (the policies read it)."""
    from territory.access.accounts import apply_session as apply

    apply(raw, token)


def check_app_role(raw: Any, schema: str) -> None:
    """Refuse a user's session on a role that would not be filtered by the policies."""
    row = raw.execute(
        "SELECT current_user::text, r.rolsuper OR r.rolbypassrls, "
        "coalesce((SELECT n.nspowner = r.oid FROM pg_namespace n WHERE n.nspname = %s), false) "
        "FROM pg_roles r WHERE r.rolname = current_user",
        (schema,),
    ).fetchone()
    if row is None or row[1] or row[2]:
        who = row[0] if row else "?"
        raise WorkspaceError(
            f"connexion refusée : le rôle « {who} » possède l'espace ou ignore la sécurité "
            "par ligne ; l'application se connecte avec le rôle de l'application "
            "(TERRITORY_APP_DATABASE_URL)"
        )


def check_version(con: Connection, label: str) -> None:
    """A user's session reads the workspace's version; it migrates nothing.

    A session without any grant on the workspace (forged, expired, ended, revoked) reads
    no property at all: it is refused here, in French.
    """
    row = con.execute(f"SELECT value FROM {_PROPS} WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise WorkspaceError(
            f"{label} : session expirée ou sans droit sur cet espace de travail "
            "(reconnectez-vous ou demandez un droit à un administrateur)"
        )
    if int(row[0]) != SCHEMA_VERSION:
        raise WorkspaceError(
            f"{label} attend une migration (schéma {row[0]}, cette version écrit le "
            f"{SCHEMA_VERSION}) : l'opérateur l'applique avec « territory db init »"
        )


_IF_NOT_EXISTS = re.compile(
    r'\s*CREATE\s+(?:TABLE|(?:UNIQUE\s+)?INDEX)\s+IF\s+NOT\s+EXISTS\s+"?(\w+)"?', re.IGNORECASE
)


def already_there(con: Connection, sql: str) -> bool:
    """Whether ``sql`` is a ``CREATE … IF NOT EXISTS`` of a table or index already there.

    The callers ensure their tables that way (the batch log); PostgreSQL checks the
    privilege to create in the schema before the table's existence, so in a user's session
    it would fail for a table that exists. Such a statement is skipped there; one that
    would create something still reaches the server, which refuses it.
    """
    found = _IF_NOT_EXISTS.match(sql)
    if found is None:
        return False
    row = con.raw.execute("SELECT to_regclass(%s) IS NOT NULL", (found.group(1),)).fetchone()
    return bool(row and row[0])


def writable_communes(con: Connection, schema: str) -> frozenset[str] | None:
    """The communes the session may write rows of in ``schema`` (None: all of them)."""
    from territory.access.schema import SCHEMA

    (everywhere,) = con.execute(f"SELECT {SCHEMA}.sees_all(?, true)", (schema,)).fetchone()
    if everywhere:
        return None
    rows = con.execute(f"SELECT {SCHEMA}.communes_in(?, true)", (schema,)).fetchall()
    return frozenset(str(r[0]) for r in rows)


def protect_created(con: Connection, name: str) -> None:
    """The policies of its scope on a table the operator's connection just created.

    In the schema of the transaction's ``search_path``; nothing on a server without the
    access schema (no app role to protect from).
    """
    from territory.access.rls import has_access_schema, protect_table

    if not con.staged and has_access_schema(con.raw):
        (schema,) = con.raw.execute("SELECT current_schema()").fetchone() or ("public",)
        protect_table(con.raw, str(schema), name)


def hidden_tables(con: Connection, schema: str, listed: set[str]) -> list[str]:
    """Person-level tables of ``schema`` present but without a metadata row the session reads.

    Their rows in ``territory_layers`` hold the raw number of rows of every territory: the
    policy shows them to workspace-wide sessions only (:data:`~territory.access.rls.
    PERSON_LEVEL`); the store still knows the tables are there. Nothing on the owner's.
    """
    from territory.access.rls import PERSON_LEVEL

    if not con.staged:
        return []
    missing = [name for name in PERSON_LEVEL if name not in listed]
    if not missing:
        return []
    rows = con.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ? AND c.relname = ANY(?) AND c.relkind = 'r' "
        "AND has_table_privilege(c.oid, 'SELECT')",
        (schema, missing),
    ).fetchall()
    return sorted(str(r[0]) for r in rows)
