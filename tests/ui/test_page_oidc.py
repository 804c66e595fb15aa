"""AppTest of the login gate: what a visitor sees before any identity (issue #24)."""

from __future__ import annotations

from pathlib import Path

import pytest
from proconnect_mock import NO_SERVER
from streamlit.testing.v1 import AppTest

from territory.access.oidc import config_from_environment, streamlit_auth_secrets
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def oidc_env(monkeypatch: pytest.MonkeyPatch, issuer: str) -> dict[str, str]:
    env = {
        "TERRITORY_AUTH": "oidc",
        "TERRITORY_APP_DATABASE_URL": NO_SERVER,
        "TERRITORY_LOGIN_DATABASE_URL": NO_SERVER,
        "TERRITORY_OIDC_ISSUER": issuer,
        "TERRITORY_OIDC_CLIENT_ID": "territory",
        "TERRITORY_OIDC_CLIENT_SECRET": "secret-du-client",
        "TERRITORY_OIDC_REDIRECT_URI": "http://127.0.0.1:8501/oauth2callback",
        "TERRITORY_OIDC_COOKIE_SECRET": "0123456789abcdef" * 4,
        "TERRITORY_OIDC_TIMEOUT_S": "2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def run(demo_workspace: Path, *, auth: bool, env: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[Keys.WORKSPACE] = str(demo_workspace)
    if auth:
        config = config_from_environment(env)
        assert config is not None
        at.secrets["auth"] = streamlit_auth_secrets(config)["auth"]
    return at.run()


def test_an_unreachable_provider_is_one_french_line_and_nothing_of_the_app(
    demo_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proconnect_mock import free_port

    env = oidc_env(monkeypatch, f"http://127.0.0.1:{free_port()}")
    at = run(demo_workspace, auth=True, env=env)
    assert not at.exception
    expected = (
        "Connexion impossible : le fournisseur d'identité 127.0.0.1 est injoignable : "
        "réessayez dans quelques minutes, ou prévenez l'administrateur du serveur."
    )
    assert [e.value for e in at.error] == [expected]
    assert [b.label for b in at.button] == ["Réessayer"]
    assert not at.metric  # the home page's figures stay behind the login


# the mock provider is written with authlib.jose, which Authlib deprecates
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning")
@pytest.mark.parametrize(
    ("outcome", "line"),
    [
        ("refusee", "Connexion refusée par le fournisseur d'identité"),
        ("echec", "La connexion n'a pas abouti"),
        ("injoignable", "Le fournisseur d'identité est injoignable"),
    ],
)
def test_the_outcome_of_a_login_is_told_once_beside_the_button(
    demo_workspace: Path, monkeypatch: pytest.MonkeyPatch, outcome: str, line: str
) -> None:
    from proconnect_mock import proconnect_like_provider

    redirect = "http://127.0.0.1:8501/oauth2callback"
    with proconnect_like_provider([], redirect_uris=[redirect]) as provider:
        env = {**provider.oidc_env(redirect), "TERRITORY_OIDC_TIMEOUT_S": "5"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        at = AppTest.from_file(APP, default_timeout=60)
        config = config_from_environment(env)
        assert config is not None
        at.secrets["auth"] = streamlit_auth_secrets(config)["auth"]
        at.query_params["connexion"] = outcome
        at.run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith(line)
    assert [b.label for b in at.button] == ["Se connecter avec ProConnect"]
    assert not at.metric


def test_an_unreachable_provider_says_only_that(
    demo_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proconnect_mock import free_port

    env = oidc_env(monkeypatch, f"http://127.0.0.1:{free_port()}")
    at = AppTest.from_file(APP, default_timeout=60)
    config = config_from_environment(env)
    assert config is not None
    at.secrets["auth"] = streamlit_auth_secrets(config)["auth"]
    at.query_params["connexion"] = "refusee"
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "injoignable" in at.error[0].value


def test_a_configured_login_without_serve_py_refuses_to_open_the_app(
    demo_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = oidc_env(monkeypatch, "https://auth.agentconnect.gouv.fr/api/v2")
    at = run(demo_workspace, auth=False, env=env)
    assert not at.exception
    assert len(at.error) == 1 and "streamlit run serve.py" in at.error[0].value
    assert not at.metric


def test_a_wrong_configuration_is_one_french_line(
    demo_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = oidc_env(monkeypatch, "https://auth.agentconnect.gouv.fr/api/v2")
    monkeypatch.setenv("TERRITORY_OIDC_COOKIE_SECRET", "zq9-fuite")
    at = run(demo_workspace, auth=False, env=env)
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("Connexion mal configurée sur ce serveur : ")
    assert "COOKIE_SECRET trop court (9 caractères" in at.error[0].value
    assert "zq9-fuite" not in at.error[0].value
