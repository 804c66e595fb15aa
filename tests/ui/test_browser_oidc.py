"""OpenID Connect login end to end: Chromium, ``streamlit run serve.py``, a ProConnect-like IdP.

The app is served as in production (``serve.py``: ``st.App`` with the ``[auth]`` secrets
built from ``TERRITORY_OIDC_*``); the provider is ``oidc-provider-mock`` on 127.0.0.1 made
ProConnect-like (``tests/proconnect_mock.py``): its ID token carries only the subject, so
the name and the SIRET the page shows can only come from the userinfo step (a signed JWT).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bench._browser import CHROMIUM_ARGS, chromium_path
from territory import Settings

CHROMIUM = chromium_path()
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [
    pytest.mark.browser,
    # the mock provider is written with authlib.jose, which Authlib deprecates
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning"),
]

# ProConnect refuses any other parameter of the authorization request (its documentation,
# « Implémentation technique »); PKCE's two only when its discovery document offers S256
PROCONNECT_AUTHORIZE_PARAMS = {
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "claims",
    "state",
    "nonce",
    "prompt",
    "idp_hint",
    "code_challenge",
    "code_challenge_method",
}

LEA = {
    "email": "Lea.Martin@mission-locale-vichy.fr",
    "given_name": "Léa",
    "usual_name": "Martin",
    "siret": "13002526500013",
    "organizational_unit": "Antenne de Cusset",
}


@pytest.fixture(scope="module")
def login_app(demo_workspace: Path, settings: Settings, pg_module_database: str) -> Iterator[str]:
    """The app behind the ProConnect-like provider, Léa's account granted: its URL."""
    from access_server import init_server
    from proconnect_mock import free_port, proconnect_like_provider

    from bench._browser import ROOT, streamlit_server
    from territory import _pg
    from territory.access import accounts
    from territory.access.identity import Role

    if CHROMIUM is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    server = init_server(pg_module_database)
    with _pg.connect(server.owner, autocommit=True) as owner:  # no password: OIDC only
        accounts.add_account(owner, LEA["email"], by="operateur")
        accounts.grant(owner, LEA["email"], Role.CHEF_EQUIPE, by="operateur", workspace="*")
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/oauth2callback"
    users = [("lea-martin", LEA), ("sans-courriel", {"given_name": "Sam", "siret": "1" * 14})]
    with proconnect_like_provider(users, redirect_uris=[redirect]) as provider:
        env = {
            "TERRITORY_WORKSPACES_DIR": str(demo_workspace.parent),
            "TERRITORY_WORKSPACE": str(demo_workspace),
            "TERRITORY_SECRET_PATH": str(settings.secret_path),
            **provider.oidc_env(redirect, app_url=server.app, login_url=server.login),
        }
        with streamlit_server(ROOT / "serve.py", env=env, port=port) as url:
            yield url


def _authorize(page: Any, subject: str) -> None:
    """On the provider's form: log in as ``subject``."""
    page.get_by_placeholder("sub").wait_for(timeout=60_000)
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()


def test_login_shows_the_userinfo_identity_then_logout_closes_the_app(login_app: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(login_app, wait_until="domcontentloaded")
        # nobody logged in: the login page only, no navigation to the data
        page.get_by_text("territory — connexion").wait_for(timeout=90_000)
        assert page.get_by_role("link", name="Carte").count() == 0
        page.get_by_role("button", name="Se connecter avec ProConnect").click()
        page.get_by_placeholder("sub").wait_for(timeout=60_000)
        # the authorization request as ProConnect accepts it: its parameters only, state
        # and nonce of 32 characters at least
        asked = parse_qs(urlsplit(page.url).query)
        assert set(asked) <= PROCONNECT_AUTHORIZE_PARAMS, set(asked) - PROCONNECT_AUTHORIZE_PARAMS
        assert len(asked["state"][0]) >= 32 and len(asked["nonce"][0]) >= 32
        assert asked["scope"] == ["openid email given_name usual_name siret"]
        _authorize(page, "lea-martin")
        # back in the app, logged in: the name and SIRET came from the userinfo JWT
        page.get_by_text("Léa Martin").wait_for(timeout=90_000)
        page.get_by_text("SIRET 130 025 265 00013").wait_for(timeout=30_000)
        page.get_by_text("lea.martin@mission-locale-vichy.fr").wait_for(timeout=30_000)
        page.get_by_text("Planifier l'aller-vers").wait_for(timeout=90_000)
        assert page.get_by_role("link", name="Carte").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "login-connecte.png"))
        # the logged-in app is the whole app: the map page draws its layers
        page.get_by_role("link", name="Carte").first.click()
        frame = page.wait_for_selector(
            'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=90_000
        ).content_frame()
        assert frame is not None
        frame.wait_for_selector(".leaflet-overlay-pane canvas", timeout=60_000)
        page.get_by_text("SIRET 130 025 265 00013").wait_for(timeout=30_000)
        # a second tab of the same browser is logged in too (the identity cookie)
        other = context.new_page()
        other.goto(login_app, wait_until="domcontentloaded")
        other.get_by_text("SIRET 130 025 265 00013").wait_for(timeout=90_000)
        other.close()
        # logout: through the provider's end-session page, back to the login page
        page.get_by_role("button", name="Se déconnecter").click()
        page.get_by_role("button", name="End session").wait_for(timeout=90_000)
        logout = parse_qs(urlsplit(page.url).query)
        assert len(logout["state"][0]) >= 32  # ProConnect requires a logout state
        assert logout["id_token_hint"] and logout["post_logout_redirect_uri"]
        page.get_by_role("button", name="End session").click()
        page.get_by_text("territory — connexion").wait_for(timeout=90_000)
        assert page.get_by_text("Léa Martin").count() == 0
        assert not [c for c in page.context.cookies() if c["name"] == "_streamlit_user"]
        page.reload(wait_until="domcontentloaded")
        page.get_by_role("button", name="Se connecter avec ProConnect").wait_for(timeout=90_000)
        assert page.get_by_text("Léa Martin").count() == 0
        browser.close()


def test_a_refused_login_shows_one_french_line(login_app: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(login_app, wait_until="domcontentloaded")
        page.get_by_role("button", name="Se connecter avec ProConnect").click(timeout=90_000)
        page.get_by_role("button", name="Deny").click(timeout=60_000)
        line = page.get_by_text("Connexion refusée par le fournisseur d'identité")
        line.wait_for(timeout=90_000)
        assert line.count() == 1
        text = page.locator("section.main, [data-testid='stMain']").first.inner_text()
        assert "Traceback" not in text and "Error" not in text
        page.get_by_role("button", name="Se connecter avec ProConnect").wait_for(timeout=30_000)
        assert not [c for c in page.context.cookies() if c["name"] == "_streamlit_user"]
        browser.close()


def test_a_logout_whose_redirect_is_lost_is_sent_again_by_the_next_run(login_app: str) -> None:
    """The logout's redirect dropped on its way, as Streamlit drops it when a run starts first.

    ``st.logout`` asks the browser to leave for ``/auth/logout`` (which deletes the identity
    cookie) with one websocket message, which Streamlit discards if another run starts
    before it is sent: a click, a map component reporting its bounds, a ``st.rerun()``
    (what the logout button did, so CI lost the logout now and then). Here the message
    is dropped on purpose; the next run the user causes must send it again, and the logout
    must end at the provider with the cookie gone.
    """
    from playwright.sync_api import sync_playwright
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    dropped: list[str] = []

    def drop_the_first_redirect(route: Any) -> None:
        server = route.connect_to_server()

        def to_page(message: str | bytes) -> None:
            if isinstance(message, bytes) and not dropped:
                msg = ForwardMsg()
                msg.ParseFromString(message)
                if msg.WhichOneof("type") == "auth_redirect" and "logout" in msg.auth_redirect.url:
                    dropped.append(msg.auth_redirect.url)
                    return
            route.send(message)

        server.on_message(to_page)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.route_web_socket(re.compile(r"/_stcore/stream"), drop_the_first_redirect)
        page = context.new_page()
        page.goto(login_app, wait_until="domcontentloaded")
        page.get_by_role("button", name="Se connecter avec ProConnect").click(timeout=90_000)
        _authorize(page, "lea-martin")
        page.get_by_text("SIRET 130 025 265 00013").wait_for(timeout=90_000)
        page.get_by_role("button", name="Se déconnecter").click()
        # the redirect never reached the page: the browser stays on the app
        for _ in range(120):
            if dropped:
                break
            page.wait_for_timeout(500)
        assert dropped and dropped[0].endswith("/auth/logout")
        assert "/end_session" not in page.url
        # the user's next click reruns the page: the redirect is sent again
        page.get_by_role("link", name="Accueil").first.click(timeout=30_000)
        page.get_by_role("button", name="End session").wait_for(timeout=90_000)
        page.get_by_role("button", name="End session").click()
        page.get_by_role("button", name="Se connecter avec ProConnect").wait_for(timeout=90_000)
        assert not [c for c in context.cookies() if c["name"] == "_streamlit_user"]
        page.reload(wait_until="domcontentloaded")
        page.get_by_role("button", name="Se connecter avec ProConnect").wait_for(timeout=90_000)
        assert page.get_by_text("Léa Martin").count() == 0
        browser.close()


def test_an_identity_without_email_is_refused_with_one_french_line(login_app: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(login_app, wait_until="domcontentloaded")
        page.get_by_role("button", name="Se connecter avec ProConnect").click(timeout=90_000)
        _authorize(page, "sans-courriel")
        line = page.get_by_text("Connexion impossible : le fournisseur d'identité n'a pas transmis")
        line.wait_for(timeout=90_000)
        page.get_by_role("button", name="Se déconnecter").wait_for(timeout=30_000)
        assert page.get_by_role("link", name="Carte").count() == 0
        assert page.get_by_text("Sam").count() == 0
        browser.close()


def test_a_failed_token_exchange_then_an_unreachable_provider_are_told_in_french(
    demo_workspace: Path, settings: Settings
) -> None:
    """A failed token exchange, then a provider gone between the page and the click.

    The wrong client secret makes the provider refuse the code's exchange; each failure
    comes back as one French line.
    """
    from contextlib import ExitStack

    from playwright.sync_api import sync_playwright
    from proconnect_mock import free_port, proconnect_like_provider

    from bench._browser import ROOT, streamlit_server

    if CHROMIUM is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/oauth2callback"
    with ExitStack() as running_provider:
        provider = running_provider.enter_context(
            proconnect_like_provider([("lea-martin", LEA)], redirect_uris=[redirect])
        )
        env = {
            "TERRITORY_WORKSPACE": str(demo_workspace),
            "TERRITORY_SECRET_PATH": str(settings.secret_path),
            **provider.oidc_env(redirect),
            "TERRITORY_OIDC_CLIENT_SECRET": "pas-le-secret-enregistre",
        }
        with streamlit_server(ROOT / "serve.py", env=env, port=port) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_role("button", name="Se connecter avec ProConnect").click(timeout=90_000)
            _authorize(page, "lea-martin")
            page.get_by_text("La connexion n'a pas abouti").wait_for(timeout=90_000)
            assert page.get_by_text("Léa Martin").count() == 0
            assert not [c for c in page.context.cookies() if c["name"] == "_streamlit_user"]
            # the provider goes down while the login page is open: the click says so
            page.goto(url, wait_until="domcontentloaded")
            button = page.get_by_role("button", name="Se connecter avec ProConnect")
            button.wait_for(timeout=90_000)
            running_provider.close()
            button.click()
            line = page.get_by_text("Le fournisseur d'identité est injoignable")
            line.wait_for(timeout=90_000)
            assert "connexion=injoignable" in page.url
            assert "Authentication error" not in page.content()
            browser.close()
