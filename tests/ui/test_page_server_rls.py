"""AppTest of the pages on a server with accounts: each user sees their territories (#24).

The demo workspace is on the server with the access schema; the app runs with
``TERRITORY_AUTH=local`` and knows no owner's URL at all (``TERRITORY_DATABASE_URL`` is the
app role's too): each user's pages read the workspace as the app role in their session,
so the database gives the home page's protected figures of their territory only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from access_server import Server, init_server
from streamlit.testing.v1 import AppTest

from territory import _pg
from territory._pgimport import import_file
from territory.access import accounts as acc
from territory.access.identity import Role
from territory.access.rls import set_territory_communes
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import list_territories, resolve
from territory.ui import loaders
from territory.ui.state import Keys
from territory.views import summary

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PASSWORD = "correct horse battery"
ARDOISE = "Agglomération de l'Ardoise"
CHENAIE = "Val de la Chênaie"
USERS = {
    "ardoise@prog.fr": (Role.CHEF_EQUIPE, ARDOISE),
    "chenaie@prog.fr": (Role.CHEF_EQUIPE, CHENAIE),
    "comite@prog.fr": (Role.COMITE, None),
}


@pytest.fixture
def accounts_server(
    demo_workspace: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    server = init_server(pg_database)
    assert import_file(demo_workspace, server.owner, name="demo").ok
    demo = Workspace.open_file(demo_workspace)
    with _pg.connect(server.owner, autocommit=True) as owner:
        for t in list_territories(demo):
            set_territory_communes(owner, "demo", t.name, resolve(demo, t.name))
        for email, (role, territory) in USERS.items():
            acc.add_account(owner, email, by="operateur@serveur.fr", password=PASSWORD)
            acc.grant(
                owner, email, role, by="operateur@serveur.fr", workspace="demo", territory=territory
            )
    monkeypatch.setenv("TERRITORY_AUTH", "local")
    monkeypatch.setenv("TERRITORY_DATABASE_URL", server.app)  # no owner in the app
    monkeypatch.setenv("TERRITORY_APP_DATABASE_URL", server.app)
    monkeypatch.setenv("TERRITORY_LOGIN_DATABASE_URL", server.login)
    loaders.settings.clear()
    yield server
    loaders.settings.clear()


def home_as(email: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = "demo"
    at.run()
    at.text_input(key="widget_login_email").input(email)
    at.text_input(key="widget_login_password").input(PASSWORD)
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_each_user_s_home_page_gives_their_territory_s_protected_figures(
    accounts_server: Server,
) -> None:
    owner = Workspace.open(f"{accounts_server.owner}#demo")
    shown = {}
    for email, (_role, territory) in USERS.items():
        at = home_as(email)
        assert at.selectbox(key=Keys.W_WORKSPACE_CHOICE).options == ["demo"]
        figures = {m.label: m.value for m in at.metric}
        expected = summary(owner, settings=Settings(), territory=territory)
        assert figures["Contacts (protégés)"] == str(expected["contacts"]), email
        shown[email] = figures["Contacts (protégés)"]
    whole = summary(owner, settings=Settings())["contacts"]
    assert shown["comite@prog.fr"] == str(whole)
    assert len(set(shown.values())) == 3  # three scopes, three figures


def test_a_chef_s_tournees_page_and_downloads_show_their_territory_s_week_only(
    accounts_server: Server,
) -> None:
    """Issue #24: the week of each territory is its own; a chef sees and exports hers."""
    from territory.cachekeys import data_key
    from territory.rounds.model import Plan, Visit
    from territory.rounds.teams import TEAMS, save_teams
    from territory.rounds.week import candidate_places, load_plan, save_plan
    from territory.store import session_address

    owner = Workspace.open(f"{accounts_server.owner}#demo")
    teams = owner.read_table(TEAMS)
    teams["secteur"] = [ARDOISE, CHENAIE, ""][: len(teams)]
    save_teams(owner, teams)  # as the operator: a team per territory, one of the whole
    names = owner.read_table(TEAMS).set_index("territory")["nom"]
    places = candidate_places(owner)
    week, monday = "2026-W49", "2026-11-30"
    for territory in (ARDOISE, CHENAIE, None):
        visit = Visit(str(names[territory or ""]), str(places["id"].iloc[0]), 1, 600, 660, 1.0)
        plan = Plan((visit,), (), 1.0, (), {})
        save_plan(owner, week, plan, places, change="semaine", territory=territory)
    at = home_as("ardoise@prog.fr")
    at.switch_page("app_pages/tournees.py")
    at.run()
    at.date_input(key=Keys.W_PLAN_WEEK).set_value(date.fromisoformat(monday)).run()
    assert not at.exception, at.exception
    choice = at.selectbox(key=Keys.W_PLAN_TERRITORY)
    assert choice.options == [ARDOISE] and choice.value == ARDOISE  # never the whole
    assert any(h.value == "Version 1 — 1 visite(s)" for h in at.subheader)
    assert at.selectbox(key=Keys.W_PLAN_TEAM).options == [names[ARDOISE]]  # her calendars
    # the downloads of her session: her territory's visits only
    with _pg.connect(accounts_server.login, autocommit=True) as login:
        token = acc.login_local(login, "ardoise@prog.fr", PASSWORD).token
    mine = Workspace.open(session_address(accounts_server.app, "demo", token))
    saved = load_plan(mine, week, territory=ARDOISE)
    assert saved is not None and load_plan(mine, week) is None
    csv, calendars = loaders.plan_files(data_key(mine, None), saved)
    assert names[ARDOISE] in csv.decode() and names[CHENAIE] not in csv.decode()
    assert set(calendars) == {names[ARDOISE]}

    # her edits, saved by the button's callback in her session, then carried over after
    # the operator saved the week meanwhile: each a version of hers, each in the audit log
    from territory.access import audit
    from territory.rounds.week import save_edited

    def edit(version: int) -> None:  # the visit's lock toggled
        locked = bool(
            load_plan(owner, week, version=version, territory=ARDOISE).visits["locked"][0]
        )
        at.session_state[f"{Keys.W_PLAN_EDIT}_{week}_{version}"] = {
            "edited_rows": {0: {"locked": not locked}},
            "added_rows": [],
            "deleted_rows": [],
        }
        at.run()
        at.button(key=Keys.W_PLAN_SAVE).click().run()
        assert not at.exception, at.exception

    edit(1)
    assert "Version 2 enregistrée." in [s.value for s in at.success], [e.value for e in at.error]
    latest = load_plan(owner, week, territory=ARDOISE)
    assert latest is not None and latest.version == 2
    other = latest.visits.assign(  # the operator adds the same visit the next day
        start=latest.visits["start"] + timedelta(days=1),
        end=latest.visits["end"] + timedelta(days=1),
    )
    both = pd.concat([latest.visits, other], ignore_index=True)
    save_edited(owner, week, both, change="ajout", base_version=2, territory=ARDOISE)
    edit(2)  # made on version 2, the week is at 3: kept, carried over on request
    assert any("Modifications non enregistrées" in e.value for e in at.error)
    at.button(key=Keys.W_PLAN_REPLAY).click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Version 4 enregistrée : vos modif") for s in at.success), [
        e.value for e in [*at.error, *at.success]
    ]
    assert load_plan(owner, week, territory=ARDOISE).version == 4
    with _pg.connect(accounts_server.owner) as con:
        lines = audit.entries(con, who="ardoise@prog.fr", action="plan_change")
    assert [(e.target, e.details["version"], e.details["change"]) for e in lines] == [
        (week, 4, "modifications reprises"),
        (week, 2, "modifications"),
    ]
    assert {e.details["territoire"] for e in lines} == {ARDOISE}


def test_an_admin_s_purge_from_the_donnees_page_finishes_in_their_session(
    accounts_server: Server,
) -> None:
    """The rows go at once; the space is the operator's nightly ``vacuumdb --full``."""
    import shutil
    import subprocess

    from territory.privacy.raw import retention_cutoff

    with _pg.connect(accounts_server.owner, autocommit=True) as con:
        acc.add_account(con, "admin@prog.fr", by="operateur@serveur.fr", password=PASSWORD)
        acc.grant(con, "admin@prog.fr", Role.ADMIN, by="operateur@serveur.fr")  # every one

    def filenode() -> int:  # a VACUUM FULL rewrites the table into a new file
        with _pg.connect(accounts_server.owner) as con:
            return int(con.execute("SELECT pg_relation_filenode('demo.contacts')").fetchone()[0])

    owner = Workspace.open(f"{accounts_server.owner}#demo")
    cutoff = retention_cutoff(date.today(), 12).isoformat()
    kept = int(owner.query("SELECT count(*) AS n FROM contacts WHERE date >= ?", (cutoff,))["n"][0])
    assert 0 < kept < owner.layers()["contacts"].count
    before = filenode()
    at = home_as("admin@prog.fr")
    at.switch_page("app_pages/donnees.py")
    at.run()
    at.number_input(key=Keys.W_PURGE_MONTHS).set_value(12)
    at.checkbox(key=Keys.W_PURGE_CONFIRM).check()
    next(b for b in at.button if b.label == "Purger").click()
    at.run()
    assert not at.exception, at.exception
    assert not [e.value for e in at.error]
    done = [s.value for s in at.success if s.value.startswith("Purge faite")]
    assert done and "maintenance planifiée de l'opérateur" in done[0], done
    assert owner.query("SELECT count(*) AS n FROM contacts")["n"][0] == kept
    assert filenode() == before  # no VACUUM FULL in the admin's session (not the owner)
    vacuumdb = shutil.which("vacuumdb")
    if vacuumdb is None:
        pytest.skip("vacuumdb absent : compactage de l'opérateur non essayé")
    # what deploy/systemd/territory-compact.service runs each night (there as postgres)
    subprocess.run(
        [vacuumdb, "--full", "--table=demo.contacts", f"--dbname={accounts_server.owner}"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert filenode() != before
