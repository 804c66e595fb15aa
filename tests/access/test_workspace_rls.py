"""The workspaces' tables behind row-level security, reached as the app role (issue #24).

A server with two programmes (the demo workspace as ``demo``, a second copy as ``autre``),
accounts of every role, each territory resolved to its communes. Through the app role with
each user's session — plain SQL, the store's ``ServerWorkspace`` the pages open, the views
the pages call and the command line — each user sees exactly their territories; a forged
or ended session sees nothing; the owner's connection is never the app's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
from access_server import Server, init_server

from territory import _pg
from territory._errors import ValidationError, WorkspaceError
from territory._pgimport import import_file, protect_server
from territory.access import accounts as acc
from territory.access.identity import Role
from territory.access.rls import PERSON_LEVEL, SCOPES, scope_of, set_territory_communes
from territory.settings import Settings
from territory.store import ServerWorkspace, Workspace, session_address
from territory.territories import list_territories, resolve

PASSWORD = "correct horse battery"
OPERATOR = "operateur@serveur.fr"
ARDOISE = "Agglomération de l'Ardoise"
CHENAIE = "Val de la Chênaie"
USERS: dict[str, tuple[Role, str, str | None]] = {
    "ardoise": (Role.CHEF_EQUIPE, "demo", ARDOISE),
    "chenaie": (Role.CHEF_EQUIPE, "demo", CHENAIE),
    "comite": (Role.COMITE, "demo", None),
    "comite_ardoise": (Role.COMITE, "demo", ARDOISE),
    "geo": (Role.GEOGRAPHE, "autre", None),
    "admin": (Role.ADMIN, "*", None),
}


SEEDED = "2026-W09"
"""The week planned on each territory and on the whole workspace by the fixture."""


@dataclass(frozen=True)
class Programmes:
    """The server, each user's session token, the communes of each territory."""

    server: Server
    tokens: dict[str, str]
    communes: dict[str, set[str]]  # territory → its communes (demo)


@pytest.fixture(scope="module")
def programmes(pg_module_database: str, demo_workspace: Path) -> Iterator[Programmes]:
    server = init_server(pg_module_database)
    for name in ("demo", "autre"):
        assert import_file(demo_workspace, server.owner, name=name).ok
    demo = Workspace.open_file(demo_workspace)
    communes = {t.name: set(resolve(demo, t.name)) for t in list_territories(demo)}
    with _pg.connect(server.owner, autocommit=True) as owner:
        for name in ("demo", "autre"):
            for territory, codes in communes.items():
                set_territory_communes(owner, name, territory, codes)
        for user, (role, ws, territory) in USERS.items():
            acc.add_account(owner, f"{user}@prog.fr", by=OPERATOR, password=PASSWORD)
            email = f"{user}@prog.fr"
            acc.grant(owner, email, role, by=OPERATOR, workspace=ws, territory=territory)
    with _pg.connect(server.login, autocommit=True) as login:
        tokens = {u: acc.login_local(login, f"{u}@prog.fr", PASSWORD).token for u in USERS}
    seed_teams_and_plans(Workspace.open(f"{server.owner}#demo"))
    yield Programmes(server, tokens, communes)


def a_plan(ws: Workspace, team: str, start: int = 600) -> tuple[Any, Any]:
    """A one-visit plan of ``team`` on the first candidate place, and the places."""
    from territory.rounds.model import Plan, Visit
    from territory.rounds.week import candidate_places

    places = candidate_places(ws)
    visit = Visit(team, str(places["id"].iloc[0]), 1, start, start + 60, value=1.0)
    return Plan((visit,), (), 1.0, (), {}), places


def seed_teams_and_plans(owner: Workspace) -> None:
    """As the operator: a team per territory (its sector), one without; a week on each."""
    from territory.rounds.teams import TEAMS, save_teams
    from territory.rounds.week import save_plan

    teams = owner.read_table(TEAMS)
    teams["secteur"] = [ARDOISE, CHENAIE, ""][: len(teams)]
    save_teams(owner, teams)
    names = owner.read_table(TEAMS).set_index("territory")["nom"]
    for territory in (ARDOISE, CHENAIE, None):
        plan, places = a_plan(owner, str(names[territory or ""]))
        save_plan(owner, SEEDED, plan, places, change="semaine (opérateur)", territory=territory)


@contextlib.contextmanager
def app_session(programmes: Programmes, token: str) -> Iterator[Any]:
    """A transaction of the app role in the session ``token`` (``SET LOCAL``)."""
    with _pg.connect(programmes.server.app) as con, con.transaction():
        acc.apply_session(con, token)
        yield con


def tables(programmes: Programmes, schema: str) -> dict[str, list[str]]:
    with _pg.connect(programmes.server.owner) as con:
        rows = con.execute(
            "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_schema = %s GROUP BY table_name",
            (schema,),
        ).fetchall()
    return {str(t): list(c) for t, c in rows}


def expected_rows(programmes: Programmes, user: str, table: str, columns: list[str]) -> int:
    """The rows ``user`` must see in ``demo.table``, counted as the owner (no policy)."""
    _role, ws, territory = USERS[user]
    on_demo = ws in ("demo", "*")
    workspace_wide = on_demo and territory is None
    mine = programmes.communes.get(territory or "", set())
    email = f"{user}@prog.fr"
    scope = scope_of(table, columns)
    sql, params = f'SELECT count(*) FROM demo."{table}"', ()
    if scope == "opérateur" or not on_demo:
        return 0
    if workspace_wide and scope != "opérateur":
        pass
    elif scope == "commune":
        sql += " WHERE commune = ANY(%s)"
        params = (sorted(mine),)
    elif scope == "personne":
        sql += " WHERE personne IN (SELECT personne FROM demo.contacts WHERE commune = ANY(%s))"
        params = (sorted(mine),)
    elif scope == "territoire":
        column = "name" if table == "territories" else "territory"
        sql += f" WHERE {column} = %s"
        params = (territory,)
    elif scope == "auteur":
        sql += " WHERE author = %s"
        params = (email,)
    elif scope == "métadonnées":
        sql += " WHERE name <> ALL(%s)"
        params = (list(PERSON_LEVEL),)
    with _pg.connect(programmes.server.owner) as con:
        return int(con.execute(sql, params).fetchone()[0])


def test_every_table_of_both_programmes_is_protected(programmes: Programmes) -> None:
    for schema in ("demo", "autre"):
        found = tables(programmes, schema)
        with _pg.connect(programmes.server.owner) as con:
            secured = dict(
                con.execute(
                    "SELECT c.relname, c.relrowsecurity FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind = 'r'",
                    (schema,),
                ).fetchall()
            )
        assert set(secured) == set(found)
        assert all(secured.values()), [t for t, on in secured.items() if not on]
    scopes = {t: scope_of(t, c) for t, c in tables(programmes, "demo").items()}
    assert scopes["contacts"] == scopes["territory_counts_contacts"] == "commune"
    assert scopes["parcours"] == "personne" and scopes["territory_batches"] == "auteur"
    assert scopes["territories"] == scopes["programmes"] == "territoire"
    assert scopes["plans"] == scopes["plan_visits"] == scopes["teams"] == "territoire"
    assert scopes["communes"] == scopes["stops"] == "espace"
    assert scopes["territory_layers"] == "métadonnées"
    assert scopes["territory_before_2_communes"] == "opérateur"
    assert set(scopes.values()) <= set(SCOPES)
    # idempotent: the operator runs it again (territory db init) and nothing changes
    again = protect_server(programmes.server.owner)
    assert again["demo"] == scopes


@pytest.mark.parametrize("user", list(USERS))
def test_each_user_reads_exactly_their_rows_of_every_table(
    programmes: Programmes, user: str
) -> None:
    found = tables(programmes, "demo")
    seen, wanted = {}, {}
    for table, columns in sorted(found.items()):
        wanted[table] = expected_rows(programmes, user, table, columns)
        try:
            with app_session(programmes, programmes.tokens[user]) as con:
                assert con.execute("SELECT current_user").fetchone() == ("territory_app",)
                seen[table] = con.execute(f'SELECT count(*) FROM demo."{table}"').fetchone()[0]
        except psycopg.errors.InsufficientPrivilege:
            seen[table] = 0  # no privilege at all: the operator's copies
            assert scope_of(table, columns) == "opérateur"
    assert seen == wanted
    _role, ws, territory = USERS[user]
    if territory is not None:  # the test would prove nothing on an empty territory
        for table in ("contacts", "plans", "plan_visits", "teams"):
            whole = expected_rows(programmes, "comite", table, found[table])
            assert 0 < wanted[table] < whole, table
    if ws == "autre":
        assert not any(seen.values())


def test_the_second_programme_is_another_schema_with_its_own_grants(
    programmes: Programmes,
) -> None:
    with app_session(programmes, programmes.tokens["geo"]) as con:
        autre = con.execute("SELECT count(*) FROM autre.contacts").fetchone()[0]
        demo = con.execute("SELECT count(*) FROM demo.communes").fetchone()[0]
    with app_session(programmes, programmes.tokens["comite"]) as con:
        assert con.execute("SELECT count(*) FROM autre.communes").fetchone()[0] == 0
    assert autre == expected_rows(programmes, "comite", "contacts", []) and demo == 0


@pytest.mark.parametrize("token", ["", "forgé", "expired"])
def test_a_forged_or_ended_session_reads_nothing(programmes: Programmes, token: str) -> None:
    if token == "expired":  # a real session, ended (logout) before it is used
        with _pg.connect(programmes.server.login, autocommit=True) as login:
            token = acc.login_local(login, "ardoise@prog.fr", PASSWORD).token
        with _pg.connect(programmes.server.app, autocommit=True) as app:
            acc.end_session(app, token)
    for table, columns in tables(programmes, "demo").items():
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            with app_session(programmes, token) as con:
                count = con.execute(f'SELECT count(*) FROM demo."{table}"').fetchone()[0]
            assert count == 0, table
            continue
        assert scope_of(table, columns) == "opérateur"
    with pytest.raises(WorkspaceError, match="session expirée ou sans droit"):
        Workspace.open(session_address(programmes.server.app, "demo", token))


def test_the_store_opens_a_user_s_workspace_as_the_app_role_only(
    programmes: Programmes,
) -> None:
    app, owner = programmes.server.app, programmes.server.owner
    ws = Workspace.open(session_address(app, "demo", programmes.tokens["ardoise"]))
    assert isinstance(ws, ServerWorkspace) and ws.token == programmes.tokens["ardoise"]
    assert ws.query("SELECT current_user AS u")["u"].tolist() == ["territory_app"]
    assert ws.query("SELECT current_setting('territory.session') AS s")["s"][0] == ws.token
    assert (
        set(ws.read_table("contacts", columns=["commune"])["commune"])
        <= (programmes.communes[ARDOISE])
    )
    assert "contacts" in ws.layers() and ws.has("parcours")  # metadata rows hidden, tables not
    assert ws.key != Workspace.open(session_address(app, "demo", programmes.tokens["chenaie"])).key
    with pytest.raises(WorkspaceError, match="connexion refusée : le rôle"):
        Workspace.open(session_address(owner, "demo", programmes.tokens["ardoise"]))


def test_the_views_of_the_pages_show_only_the_user_s_territory(
    programmes: Programmes, settings: Settings
) -> None:
    from territory.views import info, summary

    owner = Workspace.open(f"{programmes.server.owner}#demo")
    users = {
        u: Workspace.open(session_address(programmes.server.app, "demo", programmes.tokens[u]))
        for u in ("ardoise", "chenaie", "comite")
    }
    whole = summary(owner, settings=settings)
    assert summary(users["comite"], settings=settings)["contacts"] == whole["contacts"]
    for user, territory in (("ardoise", ARDOISE), ("chenaie", CHENAIE)):
        theirs = summary(owner, settings=settings, territory=territory)
        mine = summary(users[user], settings=settings)
        # the same records, so the same published value (cell-key method)
        assert mine["contacts"] == theirs["contacts"] != whole["contacts"]
        described = info(users[user], settings=settings)
        assert "contacts" not in described["layers"]
        assert described["workspace"].endswith("#demo;session=***")  # no token, no password
        assert programmes.tokens[user] not in str(described)
    assert [t.name for t in list_territories(users["ardoise"])] == [ARDOISE]


def test_a_chef_writes_inside_their_territories_only(programmes: Programmes) -> None:
    ardoise = Workspace.open(
        session_address(programmes.server.app, "demo", programmes.tokens["ardoise"])
    )
    comite = Workspace.open(
        session_address(programmes.server.app, "demo", programmes.tokens["comite"])
    )
    mine = min(programmes.communes[ARDOISE])
    theirs = min(programmes.communes[CHENAIE])
    rows = ardoise.read_table("contacts").head(2).reset_index(drop=True)
    rows["fingerprint"] = ["essai-rls-1", "essai-rls-2"]
    before = comite.group_counts("contacts")["n"].sum()
    version = ardoise.version
    with ardoise.appending("contacts", schema=rows.iloc[:0], source="test") as table:
        table.append(rows.assign(commune=mine))
    assert comite.group_counts("contacts")["n"].sum() == before + 2  # the counts' trigger
    assert ardoise.version > version
    with (
        pytest.raises(WorkspaceError, match="ligne hors de vos territoires"),
        ardoise.appending("contacts", schema=rows.iloc[:0], source="test") as table,
    ):
        table.append(rows.assign(commune=theirs))
    with (
        pytest.raises(WorkspaceError, match="ligne hors de vos territoires"),
        comite.appending("contacts", schema=rows.iloc[:0], source="test") as table,
    ):
        table.append(rows.assign(commune=mine))  # the committee reads, never writes
    assert comite.group_counts("contacts")["n"].sum() == before + 2
    essai = "fingerprint LIKE 'essai-rls-%'"
    with pytest.raises(WorkspaceError, match="ligne hors de vos territoires"):
        comite.delete_rows("contacts", essai)  # reads them, writes nothing of the workspace
    chenaie = Workspace.open(
        session_address(programmes.server.app, "demo", programmes.tokens["chenaie"])
    )
    assert chenaie.delete_rows("contacts", essai) == 0  # another territory's: not even seen
    assert ardoise.delete_rows("contacts", essai) == 2
    assert comite.group_counts("contacts")["n"].sum() == before
    with pytest.raises(WorkspaceError, match="opérateur du serveur"):
        ardoise.write_layer("communes", ardoise.read_layer("communes"), source="t", vintage="")


def test_the_command_line_in_a_user_s_session_reads_their_territories_only(
    programmes: Programmes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from territory.cli import main

    def territories(user: str) -> tuple[int, Any, str]:
        monkeypatch.setenv("TERRITORY_DATABASE_URL", programmes.server.owner)  # beside it
        monkeypatch.setenv("TERRITORY_APP_DATABASE_URL", programmes.server.app)
        monkeypatch.setenv("TERRITORY_SESSION_TOKEN", programmes.tokens.get(user, user))
        code = main(["territory", "list", "--workspace", "demo", "--json"])
        out, err = capsys.readouterr()
        return code, json.loads(out) if code == 0 else None, err

    code, found, _ = territories("ardoise")
    assert code == 0 and [t["name"] for t in found] == [ARDOISE]
    assert set(found[0]["resolved"]) == programmes.communes[ARDOISE]
    code, found, _ = territories("comite")
    assert code == 0 and len(found) == len(programmes.communes) == 4
    code, found, err = territories("forgé")
    assert code == 2 and "session expirée ou sans droit" in err and "Traceback" not in err


def test_plan_edits_of_a_chef_go_through_the_policies_and_keep_their_version_check(
    programmes: Programmes,
) -> None:
    from territory._errors import EditConflictError
    from territory.rounds.week import load_plan, save_plan

    owner = Workspace.open(f"{programmes.server.owner}#demo")
    week = "2026-W10"
    plan, places = a_plan(owner, "Équipe A")
    save_plan(owner, week, plan, places, change="première version (opérateur)", territory=ARDOISE)
    users = {
        u: Workspace.open(session_address(programmes.server.app, "demo", programmes.tokens[u]))
        for u in ("ardoise", "chenaie", "comite")
    }
    moved, _ = a_plan(owner, "Équipe A", 660)
    saved = save_plan(
        users["ardoise"], week, moved, places, change="déplacée", base_version=1, territory=ARDOISE
    )
    assert saved.version == 2 and load_plan(users["comite"], week, territory=ARDOISE).version == 2
    with pytest.raises(EditConflictError):  # a second editor of version 1: refused
        save_plan(
            users["ardoise"], week, plan, places, change="aussi", base_version=1, territory=ARDOISE
        )
    later, _ = a_plan(owner, "Équipe A", 720)
    with pytest.raises(WorkspaceError, match="ligne hors de vos territoires"):
        save_plan(
            users["comite"], week, later, places, change="comité", base_version=2, territory=ARDOISE
        )
    assert load_plan(owner, week, territory=ARDOISE).version == 2
    assert load_plan(owner, week, territory=ARDOISE).visits["start"].iloc[0].hour == 11


def test_a_chef_reads_and_writes_the_plans_and_teams_of_their_territory_only(
    programmes: Programmes,
) -> None:
    """Plans, their visits and teams by territory (#24): read and written, store and SQL."""
    from territory.rounds.teams import TEAMS, load_teams, save_teams
    from territory.rounds.week import load_plan, restore_version, save_plan, session_territory

    owner = Workspace.open(f"{programmes.server.owner}#demo")
    users = {
        u: Workspace.open(session_address(programmes.server.app, "demo", programmes.tokens[u]))
        for u in USERS
        if u != "geo"  # another programme's: refused on this one
    }
    ardoise = users["ardoise"]
    assert load_plan(ardoise, SEEDED, territory=ARDOISE) is not None
    for other in (CHENAIE, None):  # Chênaie's week, the whole workspace's: not even seen
        assert load_plan(ardoise, SEEDED, territory=other) is None
        assert load_plan(users["comite"], SEEDED, territory=other) is not None
    assert load_plan(users["comite_ardoise"], SEEDED, territory=CHENAIE) is None
    for table in ("plans", "plan_visits", "teams"):  # another programme's géographe
        with app_session(programmes, programmes.tokens["geo"]) as con:
            assert con.execute(f"SELECT count(*) FROM demo.{table}").fetchone() == (0,)
    stored = owner.read_table(TEAMS)
    assert {t.name for t in load_teams(ardoise)} == set(
        stored.loc[stored["territory"] == ARDOISE, "nom"]
    )
    # plain SQL as the app role: zero rows of another territory, none written there
    for table in ("plans", "plan_visits", "teams"):
        with app_session(programmes, programmes.tokens["ardoise"]) as con:
            assert con.execute(
                f"SELECT count(*) FROM demo.{table} WHERE territory <> %s", (ARDOISE,)
            ).fetchone() == (0,)
            assert con.execute(f"SELECT count(*) FROM demo.{table}").fetchone()[0] > 0
            assert con.execute(f"UPDATE demo.{table} SET territory = territory").rowcount > 0
        with app_session(programmes, programmes.tokens["ardoise"]) as con:
            assert con.execute(
                f"UPDATE demo.{table} SET territory = territory WHERE territory = %s", (CHENAIE,)
            ).rowcount == 0  # fmt: skip
            assert con.execute(
                f"DELETE FROM demo.{table} WHERE territory <> %s", (ARDOISE,)
            ).rowcount == 0  # fmt: skip
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
            app_session(programmes, programmes.tokens["ardoise"]) as con,
        ):
            con.execute(f"UPDATE demo.{table} SET territory = %s", (CHENAIE,))
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
            app_session(programmes, programmes.tokens["ardoise"]) as con,
        ):
            con.execute(
                f"INSERT INTO demo.{table} (territory) SELECT %s FROM demo.{table} LIMIT 1",
                (CHENAIE,),
            )
    # the store: a week of Chênaie or of the whole workspace is refused, in French
    plan, places = a_plan(owner, "Équipe A")
    for territory in (CHENAIE, None):
        with pytest.raises(WorkspaceError, match="ligne hors de vos territoires"):
            save_plan(ardoise, "2026-W11", plan, places, change="essai", territory=territory)
    # each chef plans the same week on their own territory, no conflict between them
    for user, territory in (("ardoise", ARDOISE), ("chenaie", CHENAIE)):
        done = save_plan(users[user], "2026-W11", plan, places, change="sa semaine",
                         territory=territory)  # fmt: skip
        assert (done.version, done.territory) == (1, territory)
    assert session_territory(ardoise, None) == ARDOISE  # the CLI's default for her
    assert session_territory(users["comite"], None) is None
    with pytest.raises(ValidationError, match=f"aucun plan enregistré pour {SEEDED}"):
        restore_version(ardoise, SEEDED, 1, territory=CHENAIE)  # not hers: unseen
    # teams: a chef saves her territory's teams only; the others stay
    before = owner.read_table(TEAMS).sort_values("nom").reset_index(drop=True)
    mine = ardoise.read_table(TEAMS)
    assert set(mine["territory"]) == {ARDOISE}
    added = pd.concat([mine, mine.assign(nom="Équipe nouvelle", secteur="")], ignore_index=True)
    save_teams(ardoise, added.drop(columns=["territory"]), territory=ARDOISE)
    after = owner.read_table(TEAMS)
    assert set(after["nom"]) == {*before["nom"], "Équipe nouvelle"}
    assert after.set_index("nom").loc["Équipe nouvelle", "territory"] == ARDOISE
    others = after[after["territory"] != ARDOISE].sort_values("nom").reset_index(drop=True)
    pd.testing.assert_frame_equal(others, before[before["territory"] != ARDOISE].reset_index(
        drop=True))  # fmt: skip
    theirs = pd.concat([mine, mine.assign(nom="Équipe volée", secteur="")], ignore_index=True)
    with pytest.raises(WorkspaceError, match="ligne hors de vos territoires"):
        save_teams(ardoise, theirs.drop(columns=["territory"]), territory=CHENAIE)
    with pytest.raises(ValidationError, match=f"secteur « {CHENAIE} » inconnu"):  # unseen
        save_teams(ardoise, theirs.assign(secteur=CHENAIE).drop(columns=["territory"]))
    assert set(owner.read_table(TEAMS)["nom"]) == set(after["nom"])  # nothing written
    save_teams(ardoise, mine.drop(columns=["territory"]), territory=ARDOISE)  # as it was


def test_a_chef_s_batches_are_theirs_whatever_author_the_app_passes(
    programmes: Programmes,
) -> None:
    from territory.batches import begin, finish, get_batch, list_batches

    users = {
        u: Workspace.open(session_address(programmes.server.app, "demo", programmes.tokens[u]))
        for u in ("ardoise", "chenaie", "comite")
    }
    batch = begin(users["ardoise"], "contacts", file="contacts.csv", author="application")
    done = finish(users["ardoise"], batch, counts={"read": 3, "accepted": 3})
    assert done.state == "active" and done.author == "ardoise@prog.fr"
    assert batch.id in {b.id for b in list_batches(users["comite"])}  # workspace-wide
    assert batch.id not in {b.id for b in list_batches(users["chenaie"])}
    with pytest.raises(ValidationError, match=f"lot {batch.id} inconnu"):
        get_batch(users["chenaie"], batch.id)
    owner = Workspace.open(f"{programmes.server.owner}#demo")
    assert get_batch(owner, batch.id).author == "ardoise@prog.fr"


def test_a_chef_s_contact_import_keeps_their_communes_and_reports_the_others(
    programmes: Programmes, tmp_path: Path, settings: Settings
) -> None:
    from territory.demo.sources import write_demo_sources
    from territory.ingest import import_file as ingest

    sources = write_demo_sources(tmp_path / "sources")
    ardoise = Workspace.open(
        session_address(programmes.server.app, "demo", programmes.tokens["ardoise"])
    )
    assert ardoise.writable_communes() == programmes.communes[ARDOISE]
    owner = Workspace.open(f"{programmes.server.owner}#demo")
    codes = ", ".join(f"'{c}'" for c in sorted(programmes.communes[ARDOISE]))
    assert owner.delete_rows("contacts", f"commune IN ({codes})") > 0  # imported afresh
    report = ingest(
        ardoise, "contacts", sources.contacts, settings=settings, geocode=False,
        author="application",
    )  # fmt: skip
    assert report.accepted > 0 and report.refused > 0
    assert any("commune(s) de vos territoires" in note for note in report.notes)
    written = owner.read_table("contacts", where=f"lot = {int(report.batch or 0)}")
    assert len(written) == report.accepted - report.already > 0
    assert set(written["commune"]) <= programmes.communes[ARDOISE]
    comite = Workspace.open(
        session_address(programmes.server.app, "demo", programmes.tokens["comite"])
    )
    assert comite.writable_communes() == frozenset()  # reads everything, writes nothing


def test_a_chef_s_plan_export_on_the_command_line_is_her_territory_s_week(
    programmes: Programmes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from territory.cli import main
    from territory.rounds.teams import TEAMS

    names = Workspace.open(f"{programmes.server.owner}#demo").read_table(TEAMS)
    team = dict(zip(names["territory"], names["nom"], strict=False))
    monkeypatch.setenv("TERRITORY_DATABASE_URL", programmes.server.owner)
    monkeypatch.setenv("TERRITORY_APP_DATABASE_URL", programmes.server.app)
    monkeypatch.setenv("TERRITORY_SESSION_TOKEN", programmes.tokens["ardoise"])
    out = tmp_path / "plan.csv"
    export = ["plan", "export", "--workspace", "demo", "--week", SEEDED]
    assert main([*export, "--out", str(out)]) == 0  # no --territory: her one territory
    text = out.read_text(encoding="utf-8-sig")
    assert team[ARDOISE] in text and team[CHENAIE] not in text and team[""] not in text
    capsys.readouterr()
    assert main([*export, "--out", str(out), "--territory", CHENAIE]) == 2
    err = capsys.readouterr().err
    assert f"aucun plan enregistré pour {SEEDED}" in err and "Traceback" not in err


def test_db_init_migrates_a_workspace_of_schema_2_and_scopes_its_rounds_by_territory(
    programmes: Programmes,
) -> None:
    """An upgrade: « territory db init » adds the territory and puts the policies back."""
    from territory.rounds.week import load_plan, save_plan

    owner = Workspace.open(f"{programmes.server.owner}#autre")
    plan, places = a_plan(owner, "Équipe A")
    save_plan(owner, "2026-W12", plan, places, change="avant la mise à jour")
    with _pg.connect(programmes.server.owner, autocommit=True) as con, con.transaction():
        for table in ("teams", "plans", "plan_visits"):  # as schema 2 left them
            con.execute(f"ALTER TABLE autre.{table} DROP COLUMN territory CASCADE")
        con.execute("DELETE FROM autre.territory_migrations WHERE version = 3")
        con.execute("UPDATE autre.territory_workspace SET value = '2' WHERE key = 'schema_version'")
    protect_server(programmes.server.owner)  # territory db init
    found = tables(programmes, "autre")
    assert all("territory" in found[t] for t in ("teams", "plans", "plan_visits"))
    with _pg.connect(programmes.server.owner) as con:
        policies = dict(
            con.execute(
                "SELECT tablename, qual FROM pg_policies WHERE schemaname = 'autre' "
                "AND policyname = 'territory_read' AND tablename IN ('plans', 'plan_visits')"
            ).fetchall()
        )
    assert len(policies) == 2 and all("territories_in" in q for q in policies.values())
    geo = Workspace.open(session_address(programmes.server.app, "autre", programmes.tokens["geo"]))
    assert load_plan(geo, "2026-W12") is not None  # a workspace-wide géographe: the week of ''
