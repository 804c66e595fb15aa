"""Row-level security on a workspace's tables: a user reads and writes their territories only.

A workspace on the server is one PostgreSQL schema (its name is the workspace's name in the
grants). :func:`protect_workspace` puts policies on every table of that schema, each by its
scope (:func:`scope_of`), at ``territory db init`` / ``db import``, when the store creates a
table (:mod:`territory._pgstore`) and whenever the operator runs it again (idempotent):

* ``commune``: a table with a ``commune`` column (the contacts, their counts per cell and
  commune): the app role reads the rows of the communes its session's grants cover
  (:func:`install_policies`), and writes them only with a ``chef_equipe`` or ``admin``
  grant there;
* ``personne``: ``parcours`` (person-level pathways, no commune): a row is read when its
  pseudonym is met in a contact the session reads, written when met in a commune it may
  write (the contacts' own policies filter the sub-query);
* ``territoire``: a table naming a territory (``territories.name``, ``programmes`` and
  ``programme_targets.territory``; ``teams``, ``plans`` and ``plan_visits.territory``,
  the territory planned: a chef d'équipe of one territory neither reads nor edits the
  rounds and teams of another): the session's territories only; a row of the whole
  workspace (territory ``''``) is read and written by workspace-wide sessions only;
* ``auteur``: ``territory_batches`` (the import log: its counts are raw counts of a
  territory's import): a workspace-wide grant, or the batch's own author; any writer of
  the workspace appends, and a trigger writes the session's e-mail as the author of
  what a session appends (whatever the caller passes: the app's « application »);
* ``métadonnées``: ``territory_layers``, as ``espace`` but for the rows of the person-level
  tables (:data:`PERSON_LEVEL`: their raw number of rows in every territory), read and
  written by workspace-wide sessions only;
* ``espace``: shared reference data (communes, QPV, partners, stops, GTFS, population,
  places, the bookkeeping tables): read by every session with a grant on the
  workspace, written by its ``chef_equipe`` and ``admin`` sessions. A forged or expired
  session has no grant, so it reads nothing at all;
* ``opérateur``: ``territory_before_*`` (a layer's copy kept for an undo, done by the
  operator): no privilege for the app role.

The grants are checked by ``SECURITY DEFINER`` functions of the access schema from the
session token of the transaction, so the app role can neither read another user's grants
nor forge a session (see :mod:`territory.access.schema`). The owner of the tables (the
operator's connection: migrations, ``db import``, bulk loads) is not subject to them; the
app never connects as the owner (:mod:`territory._pgrls` checks it at each opening).

A territory is a named set of communes of a workspace (:mod:`territory.territories`); the
server keeps its resolution in ``territory_access.territory_communes``, written by
:func:`set_territory_communes` whenever a territory is defined or its communes change.

PostgreSQL evaluates the scope once per statement, not once per row: ``sees_all`` in a
scalar sub-query (an init plan), the communes as a hashed sub-plan (one hash lookup per
row; a ``= ANY(array)`` would compare each row with every commune of the array).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from territory.access.schema import APP_ROLE, SCHEMA

__all__ = [
    "PERSON_LEVEL",
    "SCOPES",
    "has_access_schema",
    "install_policies",
    "protect_table",
    "protect_workspace",
    "scope_of",
    "set_territory_communes",
    "territory_communes",
]


SCOPES = ("commune", "personne", "territoire", "auteur", "métadonnées", "espace", "opérateur")
"""How a workspace table is protected (:func:`scope_of`)."""
PERSON_TABLES = frozenset({"parcours"})
PERSON_LEVEL = ("contacts", "parcours")
"""Tables of people whose metadata row (``territory_layers``: their raw number of rows in
every territory) only a workspace-wide session reads."""
META_TABLE = "territory_layers"
AUTHOR_TABLES = frozenset({"territory_batches"})
OPERATOR_PREFIX = "territory_before_"


def scope_of(table: str, columns: Iterable[str]) -> str:
    """The scope of ``table`` (one of :data:`SCOPES`) from its name and columns.

    Examples
    --------
    >>> scope_of("contacts", ["cell", "commune", "date"])
    'commune'
    >>> scope_of("territories", ["name", "kind", "codes"])
    'territoire'
    >>> scope_of("communes", ["code", "nom", "geom"])
    'espace'
    """
    names = set(columns)
    if table.startswith(OPERATOR_PREFIX):
        return "opérateur"
    if "commune" in names:
        return "commune"
    if table in PERSON_TABLES:
        return "personne"
    if table == "territories" or "territory" in names:
        return "territoire"
    if table in AUTHOR_TABLES:
        return "auteur"
    if table == META_TABLE:
        return "métadonnées"
    return "espace"


def install_policies(
    con: Any,
    schema: str,
    table: str,
    commune_column: str = "commune",
    *,
    app_role: str = APP_ROLE,
) -> None:
    """Enable row-level security on ``schema.table`` scoped by ``commune_column``.

    Idempotent (the policies are dropped and made again). ``con`` is the table owner's
    connection. The app role gets SELECT, INSERT, UPDATE, DELETE on the table, filtered
    by the policies; the owner is not (the operator's migrations and bulk loads).
    """
    from psycopg import sql

    scope = "((SELECT {s}.sees_all({ws}, {w})) OR {col} IN (SELECT {s}.communes_in({ws}, {w})))"
    read, write = (
        sql.SQL(scope).format(
            s=sql.Identifier(SCHEMA),
            ws=sql.Literal(schema),
            col=sql.Identifier(commune_column),
            w=sql.SQL(w),
        )
        for w in ("false", "true")
    )
    _policies(con, schema, table, read, write, app_role=app_role)


def protect_table(con: Any, schema: str, table: str, *, app_role: str = APP_ROLE) -> str | None:
    """Put the policies of its scope on ``schema.table``; the scope (None: no such table).

    ``con`` is the owner's psycopg connection. Idempotent.
    """
    from psycopg import sql

    columns = [
        str(r[0])
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (schema, table),
        )
    ]
    if not columns:
        return None
    scope = scope_of(table, columns)
    target = sql.Identifier(schema, table)
    role = sql.Identifier(app_role)
    if scope == "opérateur":
        with con.transaction():
            con.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target))
            con.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(target, role))
        return scope
    if scope == "commune":
        install_policies(con, schema, table, app_role=app_role)
        return scope
    s, ws = sql.Identifier(SCHEMA), sql.Literal(schema)
    text = {
        "personne": (
            "((SELECT {s}.sees_all({ws}, {w})) OR personne IN "
            "(SELECT c.personne FROM {contacts} c WHERE c.personne IS NOT NULL{mine}))"
        ),
        "territoire": (
            "((SELECT {s}.sees_all({ws}, {w})) OR {col} IN (SELECT {s}.territories_in({ws}, {w})))"
        ),
        "auteur": "((SELECT {s}.sees_all({ws}, {w})) OR author = (SELECT {s}.current_email()))",
        "métadonnées": (
            "((SELECT {s}.on_workspace({ws}, {w})) AND "
            "((SELECT {s}.sees_all({ws}, {w})) OR name NOT IN ({people})))"
        ),
        "espace": "(SELECT {s}.on_workspace({ws}, {w}))",
    }[scope]
    column = sql.Identifier("name" if table == "territories" else "territory")
    read, write = (
        sql.SQL(text).format(
            s=s,
            ws=ws,
            w=sql.SQL(w),
            col=column,
            contacts=sql.Identifier(schema, "contacts"),
            people=sql.SQL(", ").join(sql.Literal(n) for n in PERSON_LEVEL),
            mine=sql.SQL(mine).format(s=s, ws=ws),
        )
        for w, mine in (
            ("false", ""),
            ("true", " AND c.commune IN (SELECT {s}.communes_in({ws}, true))"),
        )
    )
    if scope == "personne" and not _exists(con, schema, "contacts"):
        read, write = (
            sql.SQL("(SELECT {s}.sees_all({ws}, {w}))").format(s=s, ws=ws, w=sql.SQL(w))
            for w in ("false", "true")
        )
    insert = None
    if scope == "auteur":  # any writer of the workspace logs its own batches
        insert = sql.SQL("(SELECT {s}.on_workspace({ws}, true))").format(s=s, ws=ws)
    _policies(con, schema, table, read, write, insert=insert, app_role=app_role)
    if scope == "auteur":  # the author is the session's e-mail, not what the caller says
        con.execute(
            sql.SQL(
                "CREATE OR REPLACE TRIGGER territory_author BEFORE INSERT ON {} "
                "FOR EACH ROW EXECUTE FUNCTION {}.session_author()"
            ).format(target, s)
        )
    return scope


def protect_workspace(con: Any, schema: str, *, app_role: str = APP_ROLE) -> dict[str, str]:
    """Protect every table of the workspace ``schema`` (:func:`protect_table`); table → scope.

    A no-op (empty answer) on a server without the access schema (``territory users init``
    not run: no app role to protect from).
    """
    if not has_access_schema(con):
        return {}
    tables = [
        str(r[0])
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            (schema,),
        )
    ]
    # contacts first: the parcours' policies read it
    tables.sort(key=lambda t: t != "contacts")
    found = {}
    with con.transaction():
        for table in tables:
            scope = protect_table(con, schema, table, app_role=app_role)
            if scope is not None:
                found[table] = scope
    return found


def has_access_schema(con: Any) -> bool:
    """Whether the server has the access schema and its app role (``users init`` was run)."""
    row = con.execute(
        "SELECT to_regclass(%s) IS NOT NULL AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
        (f"{SCHEMA}.role_names", APP_ROLE),
    ).fetchone()
    return bool(row and row[0])


def _exists(con: Any, schema: str, table: str) -> bool:
    row = con.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{table}"',)).fetchone()
    return bool(row and row[0])


def _policies(
    con: Any,
    schema: str,
    table: str,
    read: Any,
    write: Any,
    *,
    insert: Any = None,
    app_role: str,
) -> None:
    """Four policies (read, insert, update, delete) for the app role, and its privileges."""
    from psycopg import sql

    target = sql.Identifier(schema, table)
    role = sql.Identifier(app_role)
    statements = [
        sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), role),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(target, role),
        sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
            sql.Identifier(schema), role
        ),
    ]
    for name, command, using, check in (
        ("territory_read", "SELECT", read, None),
        ("territory_insert", "INSERT", None, insert if insert is not None else write),
        ("territory_update", "UPDATE", write, insert if insert is not None else write),
        ("territory_delete", "DELETE", write, None),
    ):
        statements.append(
            sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(sql.Identifier(name), target)
        )
        text = sql.SQL("CREATE POLICY {} ON {} FOR {} TO {}").format(
            sql.Identifier(name), target, sql.SQL(command), role
        )
        if using is not None:
            text = sql.SQL("{} USING ({})").format(text, using)
        if check is not None:
            text = sql.SQL("{} WITH CHECK ({})").format(text, check)
        statements.append(text)
    with con.transaction():
        for statement in statements:
            con.execute(statement)


def set_territory_communes(
    con: Any, workspace: str, territory: str, communes: Iterable[str]
) -> int:
    """Replace the communes of ``territory`` in ``workspace`` (the policies' scope); their count.

    Call it with the territory's resolution (:func:`territory.territories.resolve`)
    whenever the territory is defined or its communes change. An empty set removes it.
    """
    codes = sorted({str(c) for c in communes})
    with con.transaction():
        con.execute(
            f"DELETE FROM {SCHEMA}.territory_communes WHERE workspace = %s AND territory = %s",
            (workspace, territory),
        )
        if codes:
            with con.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {SCHEMA}.territory_communes VALUES (%s, %s, %s)",
                    [(workspace, territory, code) for code in codes],
                )
    return len(codes)


def territory_communes(con: Any, workspace: str, territory: str) -> set[str]:
    """The communes the server holds for ``territory`` of ``workspace``."""
    rows = con.execute(
        f"SELECT commune FROM {SCHEMA}.territory_communes WHERE workspace = %s AND territory = %s",
        (workspace, territory),
    ).fetchall()
    return {row[0] for row in rows}
