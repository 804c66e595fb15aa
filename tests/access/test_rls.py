"""Row-level security as the app role: a user reads and writes their territories only.

Plain SQL on the app role's own connection, the way any page, export or command reaches
the data: the scope comes from the session token of the transaction, never from anything
the app role can write.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from access_server import Server

from territory import _pg
from territory.access import accounts as acc
from territory.access import audit
from territory.access.identity import Role
from territory.access.rls import install_policies, set_territory_communes, territory_communes

PASSWORD = "correct horse battery"
OPERATOR = "operateur@serveur.fr"
SAMBRE = ["59001", "59002"]
AVESNOIS = ["59010"]


@pytest.fixture
def tokens(server: Server) -> dict[str, str]:
    """Two workspaces (schemas) shaped like the contacts, five users, their sessions."""
    with _pg.connect(server.owner, autocommit=True) as owner:
        for ws in ("nord", "sud"):
            owner.execute(f"CREATE SCHEMA {ws}")
            owner.execute(
                f"CREATE TABLE {ws}.contacts (id serial PRIMARY KEY, commune text NOT NULL, "
                "cell text, status text)"
            )
            install_policies(owner, ws, "contacts")
            install_policies(owner, ws, "contacts")  # idempotent
        rows = [(c, f"CRS3035RES200mN{c}", "nouveau") for c in SAMBRE * 3 + AVESNOIS * 2]
        with owner.cursor() as cur:
            cur.executemany(
                "INSERT INTO nord.contacts (commune, cell, status) VALUES (%s, %s, %s)", rows
            )
            cur.execute("INSERT INTO sud.contacts (commune) VALUES ('13001')")
        set_territory_communes(owner, "nord", "Sambre", SAMBRE)
        set_territory_communes(owner, "nord", "Avesnois", AVESNOIS)
        users = {
            "sambre": (Role.CHEF_EQUIPE, "nord", "Sambre"),
            "avesnois": (Role.CHEF_EQUIPE, "nord", "Avesnois"),
            "comite": (Role.COMITE, "nord", None),
            "geo": (Role.GEOGRAPHE, "sud", None),
            "admin": (Role.ADMIN, "*", None),
        }
        for name, (role, ws, territory) in users.items():
            acc.add_account(owner, f"{name}@prog.fr", by=OPERATOR, password=PASSWORD)
            acc.grant(
                owner, f"{name}@prog.fr", role, by=OPERATOR, workspace=ws, territory=territory
            )
    with _pg.connect(server.login, autocommit=True) as login:
        return {n: acc.login_local(login, f"{n}@prog.fr", PASSWORD).token for n in users}


def rows_seen(
    app: Any, token: str | None, sql: str = "SELECT commune FROM nord.contacts"
) -> list[str]:
    with app.transaction():
        if token is not None:
            acc.apply_session(app, token)
        return sorted(r[0] for r in app.execute(sql))


def test_each_user_reads_exactly_their_territories(server: Server, tokens: dict[str, str]) -> None:
    with _pg.connect(server.app, autocommit=True) as app:
        assert app.execute("SELECT current_user").fetchone() == ("territory_app",)
        assert rows_seen(app, tokens["sambre"]) == sorted(SAMBRE * 3)
        assert rows_seen(app, tokens["avesnois"]) == AVESNOIS * 2
        assert len(rows_seen(app, tokens["comite"])) == 8
        assert rows_seen(app, tokens["geo"]) == []
        assert rows_seen(app, tokens["geo"], "SELECT commune FROM sud.contacts") == ["13001"]
        assert len(rows_seen(app, tokens["admin"])) == 8
        assert rows_seen(app, None) == []  # no session: nothing
        # counts and aggregates go through the same policies
        with app.transaction():
            acc.apply_session(app, tokens["sambre"])
            assert app.execute(
                "SELECT count(*) FROM nord.contacts WHERE commune = '59010'"
            ).fetchone() == (0,)
        # the setting lasts one transaction only (SET LOCAL)
        assert rows_seen(app, None) == []


def test_the_setting_cannot_be_forged(server: Server, tokens: dict[str, str]) -> None:
    with _pg.connect(server.owner) as owner:
        (admin_id,) = owner.execute(
            "SELECT id FROM territory_access.accounts WHERE email = 'admin@prog.fr'"
        ).fetchone()
    with _pg.connect(server.app, autocommit=True) as app:
        for forged in (str(admin_id), "admin@prog.fr", tokens["admin"][:-1] + "x", "' OR true --"):
            assert rows_seen(app, forged) == [], forged
        # the app role reads neither sessions nor password hashes, and cannot grant itself
        for sql in (
            "SELECT * FROM territory_access.sessions",
            "SELECT password_hash FROM territory_access.accounts",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
                acc.apply_session(app, tokens["sambre"])
                app.execute(sql)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
            acc.apply_session(app, tokens["sambre"])
            app.execute(
                "INSERT INTO territory_access.grants (account_id, role) "
                "SELECT territory_access.current_account(), 'admin'"
            )
        with app.transaction():
            acc.apply_session(app, tokens["sambre"])
            assert app.execute("SELECT count(*) FROM territory_access.accounts").fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):  # nor open a session
                app.execute(
                    "INSERT INTO territory_access.sessions (token_hash, account_id, expires_at) "
                    "VALUES ('\\x00', 1, now() + interval '1 day')"
                )
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
            app.execute("SET ROLE territory_test")
        assert rows_seen(app, tokens["sambre"]) == sorted(SAMBRE * 3)


def test_writes_stay_inside_the_territory_and_the_role(
    server: Server, tokens: dict[str, str]
) -> None:
    with _pg.connect(server.app, autocommit=True) as app:
        with app.transaction():
            acc.apply_session(app, tokens["sambre"])
            app.execute("INSERT INTO nord.contacts (commune) VALUES ('59001')")
            assert app.execute("DELETE FROM nord.contacts WHERE commune = '59010'").rowcount == 0
            assert (
                app.execute(
                    "UPDATE nord.contacts SET status = 'vu' WHERE commune = '59010'"
                ).rowcount
                == 0
            )
        for token, commune in ((tokens["sambre"], "59010"), (tokens["comite"], "59001")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
                acc.apply_session(app, token)  # another territory; a role that may not write
                app.execute("INSERT INTO nord.contacts (commune) VALUES (%s)", (commune,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
            acc.apply_session(app, tokens["sambre"])  # moving a row out of the territory
            app.execute("UPDATE nord.contacts SET commune = '59010' WHERE commune = '59001'")
        with app.transaction():
            acc.apply_session(app, tokens["admin"])  # the purge
            assert app.execute("DELETE FROM nord.contacts WHERE commune = '59010'").rowcount == 2


def test_the_scope_follows_the_territory_s_communes_and_the_grants(
    server: Server, tokens: dict[str, str]
) -> None:
    with _pg.connect(server.owner, autocommit=True) as owner:
        assert set_territory_communes(owner, "nord", "Sambre", ["59001"]) == 1
        assert territory_communes(owner, "nord", "Sambre") == {"59001"}
    with _pg.connect(server.app, autocommit=True) as app:
        assert rows_seen(app, tokens["sambre"]) == ["59001"] * 3
    with _pg.connect(server.owner, autocommit=True) as owner:
        acc.revoke(
            owner,
            "sambre@prog.fr",
            "chef_equipe",
            by=OPERATOR,
            workspace="nord",
            territory="Sambre",
        )
    with _pg.connect(server.app, autocommit=True) as app:
        assert rows_seen(app, tokens["sambre"]) == []
        assert acc.current_access(app, tokens["sambre"]).grants == ()  # type: ignore[union-attr]


def test_the_audit_log_is_append_only_and_names_the_session_s_user(
    server: Server, tokens: dict[str, str]
) -> None:
    with _pg.connect(server.app, autocommit=True) as app:
        with app.transaction():
            acc.apply_session(app, tokens["sambre"])
            audit.record(app, "admin@prog.fr", "import", workspace="nord", target="contacts.csv")
        for sql in (
            "UPDATE territory_access.audit SET who = 'x'",
            "DELETE FROM territory_access.audit",
            "TRUNCATE territory_access.audit",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
                acc.apply_session(app, tokens["admin"])
                app.execute(sql)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
            audit.record(app, "admin@prog.fr", "purge")  # no session: refused
        with app.transaction():
            acc.apply_session(app, tokens["sambre"])
            assert audit.entries(app) == []  # only admins read the log
        with app.transaction():
            acc.apply_session(app, tokens["admin"])
            (last,) = audit.entries(app, action="import")
    assert (last.who, last.workspace, last.target) == ("sambre@prog.fr", "nord", "contacts.csv")
    with _pg.connect(server.owner, autocommit=True) as owner:  # the owner neither
        for sql in (
            "UPDATE territory_access.audit SET who = 'x'",
            "TRUNCATE territory_access.audit",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="ajout seulement"):
                owner.execute(sql)


def test_an_admin_session_manages_accounts_through_the_app_role(
    server: Server, tokens: dict[str, str]
) -> None:
    with _pg.connect(server.app, autocommit=True) as app:
        with app.transaction():
            acc.apply_session(app, tokens["admin"])
            acc.add_account(app, "nouveau@prog.fr", by="ignored", password=PASSWORD)
            acc.grant(app, "nouveau@prog.fr", "geographe", by="ignored", workspace="sud")
            listed = {a.email: a for a in acc.accounts(app)}
        assert listed["nouveau@prog.fr"].grants[0].role is Role.GEOGRAPHE
        assert len(listed) == 6
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
            acc.apply_session(app, tokens["comite"])
            acc.grant(app, "comite@prog.fr", "admin", by="comite@prog.fr")
        with app.transaction():
            acc.apply_session(app, tokens["admin"])
            whos = {e.who for e in audit.entries(app, action="role_change")}
    assert "ignored" not in whos and "admin@prog.fr" in whos


def test_the_scope_is_computed_once_per_statement(server: Server, tokens: dict[str, str]) -> None:
    with _pg.connect(server.app, autocommit=True) as app, app.transaction():
        acc.apply_session(app, tokens["sambre"])
        plan = "\n".join(r[0] for r in app.execute("EXPLAIN SELECT * FROM nord.contacts"))
    assert plan.count("InitPlan") == 1, plan  # sees_all, once
    assert "hashed SubPlan" in plan, plan  # the communes, hashed once
