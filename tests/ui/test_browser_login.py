"""Real browser: the server's local login in Chromium, a team lead's pages, logout."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_server import init_server

from bench._browser import CHROMIUM_ARGS, chromium_path
from territory import _pg
from territory.access import accounts as acc
from territory.access import audit
from territory.access.identity import Role
from territory.store import Workspace

CHROMIUM = chromium_path()
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.browser


def test_a_team_lead_logs_in_sees_their_pages_and_logs_out(
    pg_database: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from bench._browser import ROOT, streamlit_server

    if CHROMIUM is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    server = init_server(pg_database)
    with _pg.connect(server.owner, autocommit=True) as owner:
        acc.add_account(owner, "lea@prog.fr", by="operateur", password=PASSWORD)
        acc.grant(owner, "lea@prog.fr", Role.CHEF_EQUIPE, by="operateur", workspace="nord")
    Workspace.create(tmp_path / "nord.gpkg", name="Nord")
    env = {
        "TERRITORY_AUTH": "local",
        "TERRITORY_APP_DATABASE_URL": server.app,
        "TERRITORY_LOGIN_DATABASE_URL": server.login,
        "TERRITORY_WORKSPACES_DIR": str(tmp_path),
        "TERRITORY_WORKSPACE": str(tmp_path / "nord.gpkg"),
    }
    with streamlit_server(ROOT / "app.py", env=env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("heading", name="Connexion").wait_for(timeout=90_000)
        assert page.get_by_role("link", name="Carte").count() == 0  # no page before login
        page.get_by_label("Adresse e-mail").fill("lea@prog.fr")
        page.get_by_label("Mot de passe").fill("pas le bon")
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_text(acc.BAD_LOGIN).wait_for(timeout=30_000)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_text("Connecté·e : lea@prog.fr").wait_for(timeout=60_000)
        page.get_by_text("Planifier l'aller-vers").wait_for(timeout=60_000)  # the home page
        links = {
            name: page.get_by_role("link", name=name).count()
            for name in ("Tournées", "Données", "Comparer", "Administration")
        }
        page.get_by_role("button", name="Se déconnecter").click()
        page.get_by_role("heading", name="Connexion").wait_for(timeout=60_000)
        after = page.get_by_role("link", name="Tournées").count()  # no page kept
        browser.close()
    assert links["Tournées"] and links["Données"]
    assert not links["Comparer"] and not links["Administration"]
    assert after == 0
    with _pg.connect(server.owner) as owner:
        actions = [e.action for e in audit.entries(owner, who="lea@prog.fr")]
    assert actions == ["logout", "login", "login_failed"]
