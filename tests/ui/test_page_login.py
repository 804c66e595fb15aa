"""AppTest of the server's login (TERRITORY_AUTH=local): login, lockout, each role's pages.

The server is a real PostgreSQL database with the access schema; the app connects as the
app role and logs in through the login role, as deployed.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from access_server import Server, init_server
from streamlit.testing.v1 import AppTest

from territory import _pg
from territory.access import accounts as acc
from territory.access import audit
from territory.access.identity import Identity, Role
from territory.access.permissions import PAGES, PERMISSIONS, Access, Grant
from territory.store import Workspace
from territory.ui.loaders import settings as cached_settings
from territory.ui.login import ACCESS, LAPTOP_PAGES, LOGIN_TITLE, TOKEN
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PASSWORD = "correct horse battery"
OPERATOR = "operateur@serveur.fr"
USERS = {
    Role.CHEF_EQUIPE: ("chef@prog.fr", "nord", "Sambre"),
    Role.COMITE: ("comite@prog.fr", "nord", None),
    Role.GEOGRAPHE: ("geo@prog.fr", "nord", None),
    Role.ADMIN: ("admin@prog.fr", "*", None),
}


@pytest.fixture
def local_server(
    pg_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Server]:
    server = init_server(pg_database)
    with _pg.connect(server.owner, autocommit=True) as owner:
        for role, (email, ws, territory) in USERS.items():
            acc.add_account(owner, email, by=OPERATOR, password=PASSWORD)
            acc.grant(owner, email, role, by=OPERATOR, workspace=ws, territory=territory)
    monkeypatch.setenv("TERRITORY_AUTH", "local")
    monkeypatch.setenv("TERRITORY_APP_DATABASE_URL", server.app)
    monkeypatch.setenv("TERRITORY_LOGIN_DATABASE_URL", server.login)
    monkeypatch.setenv("TERRITORY_WORKSPACES_DIR", str(tmp_path))
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(tmp_path / "absent.gpkg"))
    cached_settings.clear()  # the app's settings are cached per process: read these
    yield server
    cached_settings.clear()


def pages(at: AppTest) -> list[str]:
    """The pages st.navigation registered (none before the login: only the main script)."""
    return [info["page_name"] for info in at._registered_pages.values() if info["page_name"]]


def log_in(at: AppTest, email: str, password: str) -> AppTest:
    at.text_input(key="widget_login_email").input(email)
    at.text_input(key="widget_login_password").input(password)
    at.button[0].click()
    return at.run()


def test_the_login_page_comes_before_any_page(local_server: Server) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [LOGIN_TITLE]
    assert pages(at) == [LOGIN_TITLE]  # the only page
    log_in(at, "chef@prog.fr", "faux mot de passe")
    assert [e.value for e in at.error] == [acc.BAD_LOGIN]
    log_in(at, "Chef@Prog.fr", PASSWORD)
    assert not at.exception, at.exception
    assert LOGIN_TITLE not in [t.value for t in at.title]
    assert acc.BAD_LOGIN not in [e.value for e in at.error]
    assert pages(at) == [
        "Accueil",
        "Carte",
        "Contacts",
        "Où et quand",
        "Tournées",
        "Données",
        "Méthodes",
    ]
    assert "Connecté·e : chef@prog.fr" in [c.value for c in at.sidebar.caption]


def test_each_role_sees_exactly_its_pages(local_server: Server) -> None:
    for role, (email, _, _) in USERS.items():
        at = AppTest.from_file(APP, default_timeout=60).run()
        log_in(at, email, PASSWORD)
        assert not at.exception, (role, at.exception)
        expected = [p for p in PAGES if p in PERMISSIONS[role][0]]
        assert pages(at) == expected, role


def test_five_failures_lock_the_login_in_french(local_server: Server) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    said = [log_in(at, "geo@prog.fr", f"essai {i}").error[0].value for i in range(acc.MAX_FAILURES)]
    assert said == [acc.BAD_LOGIN] * (acc.MAX_FAILURES - 1) + [acc.LOCKED]
    log_in(at, "geo@prog.fr", PASSWORD)
    assert [e.value for e in at.error] == [acc.LOCKED]
    assert [t.value for t in at.title] == [LOGIN_TITLE]


def test_logout_and_revocation_take_effect_at_the_next_rerun(local_server: Server) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    log_in(at, "comite@prog.fr", PASSWORD)
    assert "Comparer" in pages(at)
    with _pg.connect(local_server.owner, autocommit=True) as owner:
        acc.grant(owner, "comite@prog.fr", Role.GEOGRAPHE, by=OPERATOR, workspace="nord")
    at.run()
    assert "Carte" in pages(at)
    at.sidebar.button(key="widget_logout").click()
    at.run()
    assert [t.value for t in at.title] == [LOGIN_TITLE]
    with _pg.connect(local_server.owner) as owner:
        actions = [e.action for e in audit.entries(owner, who="comite@prog.fr")]
    assert actions == ["logout", "login"]


def test_the_laptop_app_has_no_login_and_no_administration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TERRITORY_AUTH", raising=False)
    monkeypatch.setenv("TERRITORY_WORKSPACES_DIR", str(tmp_path))
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(tmp_path / "absent.gpkg"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert pages(at) == list(LAPTOP_PAGES)
    assert LOGIN_TITLE not in [t.value for t in at.title]


def test_the_administration_page_manages_accounts_and_shows_the_log(local_server: Server) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    log_in(at, "admin@prog.fr", PASSWORD)
    at.switch_page("app_pages/administration.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Administration"]
    table = at.dataframe[0].value
    assert list(table["Adresse e-mail"]) == sorted(e for e, _, _ in USERS.values())
    assert "Chef·fe d'équipe — nord / Sambre" in set(table["Droits"])
    at.text_input(key="widget_admin_add_email").input("Nouvelle@Prog.fr")
    at.text_input(key="widget_admin_add_name").input("Nina")
    at.button(key="FormSubmitter:widget_admin_add_form-Ouvrir le compte").click().run()
    assert [s.value for s in at.success] == ["Compte ouvert : nouvelle@prog.fr"]
    at.text_input(key="widget_admin_state_email").input("geo@prog.fr")
    at.radio(key="widget_admin_state_action").set_value("Désactiver")
    at.button(key="FormSubmitter:widget_admin_state_form-Appliquer").click().run()
    assert [s.value for s in at.success] == ["Compte désactivé."]
    at.text_input(key="widget_admin_grant_email").input("nouvelle@prog.fr")
    at.selectbox(key="widget_admin_grant_role").set_value(Role.GEOGRAPHE)
    at.text_input(key="widget_admin_grant_workspace").input("nord")
    at.button(key="FormSubmitter:widget_admin_grant_form-Enregistrer").click().run()
    assert [s.value for s in at.success] == ["Rôle donné."]
    at.button(key="FormSubmitter:widget_admin_grant_form-Enregistrer").click().run()
    assert [i.value for i in at.info] == ["Rien à changer : ce droit était déjà dans cet état."]
    assert "Géographe — nord" in set(at.dataframe[0].value["Droits"])
    at.selectbox(key="widget_admin_audit_action").set_value("account_change").run()
    log = at.dataframe[1].value
    assert list(log["Qui"])[:2] == ["admin@prog.fr"] * 2
    assert list(log["Cible"])[:2] == ["geo@prog.fr", "nouvelle@prog.fr"]
    csv_button = at.get("download_button")[0].proto
    assert csv_button.label == "Journal d'audit (.csv)"


def test_a_team_lead_cannot_reach_the_administration_page(local_server: Server) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    log_in(at, "chef@prog.fr", PASSWORD)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/administration.py")  # not in the navigation
    # and the page itself refuses, should it ever be run for a lead
    page = AppTest.from_file(str(Path(APP).parent / "app_pages/administration.py"))
    page.session_state[ACCESS] = Access("chef@prog.fr", (Grant(Role.CHEF_EQUIPE, "nord"),))
    page.run()
    assert [e.value for e in page.error] == [
        "Cette page est réservée à l'administration du serveur."
    ]
    assert not page.dataframe


def communes_geojson() -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"nom": f"Commune {i}", "code": f"0000{i}", "codeEpci": "200000001"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[i, 46], [i + 1, 46], [i + 1, 47], [i, 47], [i, 46]]],
            },
        }
        for i in (1, 2)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_the_data_page_offers_each_role_its_actions_and_audits_them(
    local_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nord.gpkg"
    Workspace.create(path, name="Nord")
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(path))
    seen = {}
    for role in (Role.CHEF_EQUIPE, Role.GEOGRAPHE, Role.ADMIN):
        at = AppTest.from_file(APP, default_timeout=120).run()
        log_in(at, USERS[role][0], PASSWORD)
        assert not at.exception, (role, at.exception)  # the home page links only to its pages
        links = {link.proto.page for link in at.get("page_link")}
        assert ("carte" in links) is (role is not Role.ADMIN), links
        at.switch_page("app_pages/donnees.py").run()
        assert not at.exception, at.exception
        seen[role] = [h.value for h in at.subheader]
        if role is Role.CHEF_EQUIPE:
            at.file_uploader(key=Keys.W_IMPORT_FILE).set_value(
                ("communes.geojson", communes_geojson(), "application/geo+json")
            )
            at.selectbox(key=Keys.W_IMPORT_KIND).set_value("communes")
            at.text_input(key=Keys.W_IMPORT_VINTAGE).set_value("2026")
            next(b for b in at.button if b.label == "Importer").click()
            at.run()
            assert not at.exception, at.exception
    assert "Importer un fichier" in seen[Role.CHEF_EQUIPE]
    assert "Partager" not in seen[Role.CHEF_EQUIPE]
    assert "Partager" in seen[Role.GEOGRAPHE]
    assert "Importer un fichier" not in seen[Role.GEOGRAPHE]
    assert not {"Importer un fichier", "Partager"} & set(seen[Role.ADMIN])
    assert Workspace.open(path).layers()["communes"].count == 2
    with _pg.connect(local_server.owner) as owner:
        (line,) = audit.entries(owner, action="import")
    assert (line.who, line.workspace, line.target) == ("chef@prog.fr", "nord", "communes.geojson")


def test_an_openid_identity_is_mapped_to_its_account_by_e_mail(
    local_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the provider's side (st.login, the userinfo step) is tested end to end in
    # tests/ui/test_browser_oidc.py; here the identity it gives is mapped to its account
    monkeypatch.setenv("TERRITORY_AUTH", "oidc")
    monkeypatch.setenv("TERRITORY_OIDC_ISSUER", "https://proconnect.example")
    logged_in: list[Identity] = []
    monkeypatch.setattr("territory.ui.login.oidc_login_gate", lambda *, sidebar: logged_in[-1])
    provider = "https://proconnect.example"
    logged_in.append(Identity("pc-1", "Comite@Prog.fr", provider, name="Camille"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert pages(at) == ["Accueil", "Comparer", "Méthodes"]
    logged_in.append(Identity("pc-2", "inconnu@prog.fr", provider))
    stranger = AppTest.from_file(APP, default_timeout=60)
    stranger.run()
    refusal = (
        "Aucun compte n'est ouvert pour inconnu@prog.fr sur ce serveur : demandez à un "
        "administrateur de vous donner accès."
    )
    assert [e.value for e in stranger.error] == [refusal]
    assert pages(stranger) == [LOGIN_TITLE]
    with _pg.connect(local_server.owner) as owner:
        camille = acc.account(owner, "comite@prog.fr")
    assert camille.name == "Camille"


def test_a_workspace_outside_the_grants_does_not_open(
    local_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("nord", "sud"):
        Workspace.create(tmp_path / f"{name}.gpkg", name=name.title())
    monkeypatch.setenv("TERRITORY_WORKSPACE", str(tmp_path / "sud.gpkg"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    log_in(at, "chef@prog.fr", PASSWORD)  # a lead of « nord » only
    at.switch_page("app_pages/donnees.py").run()
    assert not at.exception, at.exception
    refusal = (
        "Impossible d'ouvrir l'espace de travail : vous n'avez aucun droit sur l'espace de "
        "travail sud : demandez-le à un administrateur"
    )
    assert [e.value for e in at.error] == [refusal]
    assert "Importer un fichier" not in [h.value for h in at.subheader]


def _download_built_later() -> None:
    from territory.ui.login import recorder

    write = recorder("download", workspace="nord", target="feuilles-2026-W50.pdf")
    write()  # what a download's data callable does when it is clicked


def test_a_download_built_on_click_is_audited_under_the_session_s_user(
    local_server: Server,
) -> None:
    with _pg.connect(local_server.login, autocommit=True) as login:
        token = acc.login_local(login, "chef@prog.fr", PASSWORD).token
    at = AppTest.from_function(_download_built_later)
    at.session_state[TOKEN] = token
    at.run()
    assert not at.exception, at.exception
    with _pg.connect(local_server.owner) as owner:
        (line,) = audit.entries(owner, action="download")
    assert (line.who, line.workspace, line.target) == (
        "chef@prog.fr",
        "nord",
        "feuilles-2026-W50.pdf",
    )


def _download_served_on_click() -> None:
    import streamlit as st

    from territory.ui.login import downloaded

    calls: list[str] = []
    serve = downloaded(lambda: calls.append("built") or b"plan", workspace="nord", target="p.csv")
    st.session_state["before"] = list(calls)  # the button shown: nothing built nor logged
    st.session_state["served"] = serve()  # what the button does when clicked
    st.session_state["after"] = list(calls)


def test_a_download_is_audited_when_taken_not_when_shown(local_server: Server) -> None:
    with _pg.connect(local_server.login, autocommit=True) as login:
        token = acc.login_local(login, "chef@prog.fr", PASSWORD).token
    at = AppTest.from_function(_download_served_on_click, default_timeout=30)
    at.session_state[TOKEN] = token
    at.run()
    assert not at.exception, at.exception
    assert (at.session_state["before"], at.session_state["after"]) == ([], ["built"])
    assert at.session_state["served"] == b"plan"
    with _pg.connect(local_server.owner) as owner:
        (line,) = audit.entries(owner, action="download")
    assert (line.who, line.workspace, line.target) == ("chef@prog.fr", "nord", "p.csv")


def test_every_download_button_of_the_app_is_audited() -> None:
    """Each ``download_button`` serves its data through ``downloaded`` (or logs on click)."""
    root = Path(APP).parent
    files = [*root.glob("app_pages/*.py"), *(root / "src/territory/ui").glob("*.py")]
    buttons, unaudited = 0, []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "download_button"
            ):
                continue
            buttons += 1
            keywords = {k.arg: k.value for k in node.keywords}
            data = node.args[1] if len(node.args) > 1 else keywords.get("data")
            served = isinstance(data, ast.Call) and getattr(data.func, "id", "") == "downloaded"
            logged = isinstance(keywords.get("on_click"), ast.Name)  # the audit log's own CSV
            if not (served or logged):
                unaudited.append(f"{path.name}:{node.lineno}")
    assert buttons >= 12, buttons  # the pages' downloads were found
    assert unaudited == []
