"""Row-level security on a workspace's tables: a user reads and writes their territories only.

A workspace on the server is one PostgreSQL schema (its name is the workspace's name in the
grants). :func:`install_policies` puts four policies on any of its tables that has a
commune column (contacts, plans, feedback…): the app role reads the rows of the communes
its session's grants cover, and writes them only with a ``chef_equipe`` or ``admin``
grant. The grants are checked by ``SECURITY DEFINER`` functions of the access schema from
the session token of the transaction, so the app role can neither read another user's
grants nor forge a session (see :mod:`territory.access.schema`).

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

__all__ = ["install_policies", "set_territory_communes", "territory_communes"]


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

    target = sql.Identifier(schema, table)
    column = sql.Identifier(commune_column)
    role = sql.Identifier(app_role)
    ws = sql.Literal(schema)
    scope = "((SELECT {s}.sees_all({ws}, {w})) OR {col} IN (SELECT {s}.communes_in({ws}, {w})))"
    read, write = (
        sql.SQL(scope).format(s=sql.Identifier(SCHEMA), ws=ws, col=column, w=sql.SQL(w))
        for w in ("false", "true")
    )
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
        ("territory_insert", "INSERT", None, write),
        ("territory_update", "UPDATE", write, write),
        ("territory_delete", "DELETE", write, None),
    ):
        statements.append(
            sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(sql.Identifier(name), target)
        )
        text = sql.SQL("CREATE POLICY {} ON {} FOR {} TO {}").format(
            sql.Identifier(name), target, sql.SQL(command), role
        )
        if using is not None:
            text = sql.SQL("{} USING {}").format(text, using)
        if check is not None:
            text = sql.SQL("{} WITH CHECK {}").format(text, check)
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
