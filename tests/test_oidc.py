"""OpenID Connect login without a browser: configuration, the userinfo step, the identity.

The provider is the ProConnect-like ``oidc-provider-mock`` of ``proconnect_mock.py`` on
127.0.0.1: the authorization-code flow is driven with ``requests`` (the form posted as a
browser would), then :func:`discover` and :func:`fetch_userinfo` talk to it for real.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import responses

from territory._errors import ValidationError
from territory.access.oidc import (
    LoginError,
    OidcConfig,
    ProviderUnreachableError,
    config_from_environment,
    discover,
    fetch_userinfo,
    identity_from,
    streamlit_auth_secrets,
)

pytestmark = [
    # the mock provider is written with authlib.jose, which Authlib deprecates
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::authlib.deprecate.AuthlibDeprecationWarning"),
]

REDIRECT = "http://127.0.0.1:8501/oauth2callback"
LEA = {
    "email": "Lea.Martin@mission-locale-vichy.fr",
    "given_name": "Léa",
    "usual_name": "Martin",
    "siret": "13002526500013",
}
COOKIE = "0123456789abcdef" * 4


def env(**overrides: str) -> dict[str, str]:
    base = {
        "TERRITORY_OIDC_ISSUER": "https://auth.agentconnect.gouv.fr/api/v2",
        "TERRITORY_OIDC_CLIENT_ID": "territory-dest1",
        "TERRITORY_OIDC_CLIENT_SECRET": "tres-secret-client",
        "TERRITORY_OIDC_REDIRECT_URI": "https://territory.dest1.fr/oauth2callback",
        "TERRITORY_OIDC_COOKIE_SECRET": COOKIE,
    }
    return {**base, **{f"TERRITORY_OIDC_{k.upper()}": v for k, v in overrides.items()}}


# --- configuration -------------------------------------------------------------------------


def test_no_issuer_means_no_login() -> None:
    assert config_from_environment({}) is None
    assert config_from_environment({"TERRITORY_OIDC_CLIENT_ID": "x"}) is None


def test_a_complete_environment_gives_streamlit_its_auth_section() -> None:
    config = config_from_environment(env())
    assert config is not None
    assert "tres-secret-client" not in repr(config) and COOKIE not in repr(config)
    auth = streamlit_auth_secrets(config)["auth"]
    assert auth["server_metadata_url"] == (
        "https://auth.agentconnect.gouv.fr/api/v2/.well-known/openid-configuration"
    )
    assert auth["client_id"] == "territory-dest1"
    assert auth["client_secret"] == "tres-secret-client"
    assert auth["cookie_secret"] == COOKIE
    assert auth["redirect_uri"] == "https://territory.dest1.fr/oauth2callback"
    assert auth["expose_tokens"] == ["access"]
    assert auth["client_kwargs"] == {
        "scope": "openid email given_name usual_name siret",
        "token_endpoint_auth_method": "client_secret_post",
        "prompt": "login",
    }


def test_every_configuration_problem_is_listed_in_french_without_the_secrets() -> None:
    with pytest.raises(ValidationError) as caught:
        config_from_environment(
            env(
                issuer="http://idp.example.fr",
                client_secret="",
                redirect_uri="https://territory.dest1.fr/",
                cookie_secret="court-et-secret",
                scopes="email siret",
                token_auth="private_key_jwt",
                timeout_s="-1",
            )
        )
    message = str(caught.value)
    assert len(caught.value.problems) == 7
    for part in (
        "TERRITORY_OIDC_ISSUER doit être une adresse https",
        "TERRITORY_OIDC_CLIENT_SECRET manquant",
        "suivie de /oauth2callback",
        "COOKIE_SECRET trop court (15 caractères",
        "« openid »",
        "client_secret_post ou client_secret_basic",
        "nombre de secondes positif",
    ):
        assert part in message
    assert "court-et-secret" not in message


def test_the_login_settings_are_settings_fields() -> None:
    from territory import Settings

    settings = Settings.from_env(env(scopes="openid email profile", timeout_s="4"))
    assert settings.oidc_issuer == "https://auth.agentconnect.gouv.fr/api/v2"
    assert "tres-secret-client" not in repr(settings) and COOKIE not in repr(settings)
    with pytest.raises(ValidationError, match="TERRITORY_OIDC_TIMEOUT_S='dix'"):
        Settings.from_env(env(timeout_s="dix"))
    config = config_from_environment(env(scopes="openid email profile", timeout_s="4"))
    assert config is not None and (config.scopes, config.timeout_s) == ("openid email profile", 4)


def test_an_empty_prompt_is_not_sent_and_http_is_allowed_on_this_machine_only() -> None:
    config = config_from_environment(
        env(issuer="http://127.0.0.1:9000", redirect_uri=REDIRECT, prompt="")
    )
    assert config is not None
    assert "prompt" not in streamlit_auth_secrets(config)["auth"]["client_kwargs"]


def test_a_wrong_configuration_stops_serve_py_with_one_line_and_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from territory.ui.oidc import auth_secrets_from_environment

    assert auth_secrets_from_environment({}) is None
    with pytest.raises(SystemExit) as stopped:
        auth_secrets_from_environment(env(client_id=""))
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TERRITORY_OIDC_CLIENT_ID manquant" in err
    assert "Traceback" not in err


def test_streamlit_run_serve_py_refuses_a_wrong_configuration_in_one_line() -> None:
    import subprocess
    import sys
    from pathlib import Path

    from proconnect_mock import free_port

    root = Path(__file__).resolve().parents[1]
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "serve.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(free_port()),
        ],
        cwd=root,
        env={**os.environ, **env(client_secret="", cookie_secret="pas-assez-long")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 2
    expected = (
        "territory : connexion OpenID Connect mal configurée : TERRITORY_OIDC_CLIENT_SECRET "
        "manquant ; TERRITORY_OIDC_COOKIE_SECRET trop court (14 caractères, au moins 32 : "
        "openssl rand -hex 32)"
    )
    assert started.stderr.splitlines() == [expected]
    assert "pas-assez-long" not in started.stdout + started.stderr


# --- identity ------------------------------------------------------------------------------


ISS = "https://auth.agentconnect.gouv.fr/api/v2"


def test_the_identity_takes_the_userinfo_claims() -> None:
    who = identity_from({"iss": ISS, "sub": "b6c7", "acr": "eidas1"}, {"sub": "b6c7", **LEA})
    assert who.subject == "b6c7"
    assert who.email == "lea.martin@mission-locale-vichy.fr"
    assert who.name == "Léa Martin"
    assert who.organisation == "13002526500013"
    assert who.provider == ISS


def test_a_userinfo_of_another_subject_is_refused() -> None:
    with pytest.raises(LoginError, match="autre personne"):
        identity_from({"iss": ISS, "sub": "b6c7"}, {"sub": "zzzz", **LEA})


def test_no_email_no_identity() -> None:
    with pytest.raises(LoginError, match="adresse e-mail"):
        identity_from({"iss": ISS, "sub": "b6c7"}, {"sub": "b6c7", "given_name": "Léa"})
    with pytest.raises(LoginError, match="sans identifiant"):
        identity_from({"iss": ISS}, LEA)


def test_other_providers_names_and_organisation_fall_back() -> None:
    who = identity_from(
        {"iss": "https://keycloak.dest1.fr/realms/dest1", "sub": "42", "name": "Léa M."},
        {"email": "lea@dest1.fr", "organizational_unit": "Hub de Lens"},
    )
    assert (who.name, who.organisation) == ("Léa M.", "Hub de Lens")
    who = identity_from(
        {"sub": "42"},
        {"email": "lea@dest1.fr", "given_name": "Léa", "family_name": "Martin"},
        issuer="https://idp.example.fr",
    )
    assert (who.name, who.organisation, who.provider) == (
        "Léa Martin",
        "",
        "https://idp.example.fr",
    )


# --- against the ProConnect-like provider --------------------------------------------------


def _login(issuer: str, client_id: str, client_secret: str, subject: str) -> dict[str, Any]:
    """The authorization-code flow driven as a browser would: the tokens."""
    token = _token_answer(issuer, client_id, client_secret, subject)
    assert token.status_code == 200, token.text
    return dict(token.json())


def _token_answer(
    issuer: str, client_id: str, client_secret: str, subject: str
) -> requests.Response:
    """The authorization-code flow driven as a browser would: the token endpoint's answer."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid email given_name usual_name siret",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    url = f"{issuer}/oauth2/authorize?{urlencode(query)}"
    assert requests.get(url, timeout=10).status_code == 200
    back = requests.post(url, data={"sub": subject}, allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    return requests.post(
        f"{issuer}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=10,
    )


@pytest.fixture(params=[True, False], ids=["userinfo-jwt", "userinfo-json"])
def provider(request: pytest.FixtureRequest) -> Iterator[tuple[OidcConfig, Any]]:
    from proconnect_mock import proconnect_like_provider

    with proconnect_like_provider(
        [("lea-martin", LEA)], redirect_uris=[REDIRECT], signed_userinfo=request.param
    ) as running:
        config = config_from_environment(running.oidc_env(REDIRECT))
        assert config is not None
        yield config, running


def test_the_userinfo_step_gives_what_the_id_token_does_not(
    provider: tuple[OidcConfig, Any],
) -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    config, running = provider
    token = _login(running.issuer, running.client_id, running.client_secret, "lea-martin")
    metadata = discover(config)
    assert metadata.userinfo_endpoint == f"{running.issuer}/userinfo"
    keys = KeySet.import_key_set(requests.get(metadata.jwks_uri, timeout=10).json())
    claims = dict(jwt.decode(token["id_token"], keys).claims)
    assert "email" not in claims and "siret" not in claims  # ProConnect: only the subject
    userinfo = fetch_userinfo(config, metadata, token["access_token"])
    assert userinfo["siret"] == "13002526500013"
    who = identity_from(claims, userinfo, issuer=metadata.issuer)
    assert (who.subject, who.email, who.name, who.organisation, who.provider) == (
        "lea-martin",
        "lea.martin@mission-locale-vichy.fr",
        "Léa Martin",
        "13002526500013",
        running.issuer,
    )


def test_an_unknown_access_token_asks_to_log_in_again(provider: tuple[OidcConfig, Any]) -> None:
    config, _ = provider
    with pytest.raises(LoginError, match="reconnectez-vous"):
        fetch_userinfo(config, discover(config), "jeton-inconnu")
    with pytest.raises(LoginError, match="jeton d'accès"):
        fetch_userinfo(config, discover(config), "")


def test_a_wrong_client_secret_is_refused_by_the_provider(
    provider: tuple[OidcConfig, Any],
) -> None:
    _, running = provider
    refused = _token_answer(running.issuer, running.client_id, "pas-le-bon-secret", "lea-martin")
    assert refused.status_code in {400, 401}
    assert refused.json()["error"] == "invalid_client"


def test_an_unreachable_provider_is_one_french_sentence() -> None:
    from proconnect_mock import free_port

    config = config_from_environment(
        env(issuer=f"http://127.0.0.1:{free_port()}", redirect_uri=REDIRECT, timeout_s="2")
    )
    assert config is not None
    with pytest.raises(ProviderUnreachableError) as caught:
        discover(config)
    assert str(caught.value).startswith("le fournisseur d'identité 127.0.0.1 est injoignable")
    assert caught.value.host == "127.0.0.1"


ISSUER = "https://idp.example.fr"
CONFIG = OidcConfig(ISSUER, "territory", "secret", "https://app.example.fr/oauth2callback", COOKIE)


@responses.activate
def test_a_discovery_document_of_another_issuer_or_no_provider_is_refused() -> None:
    url = f"{ISSUER}/.well-known/openid-configuration"
    responses.get(url, json={"issuer": "https://evil.example", "userinfo_endpoint": "x"})
    with pytest.raises(ProviderUnreachableError, match="se présente comme"):
        discover(CONFIG)
    responses.replace(responses.GET, url, body="<html>maintenance</html>")
    with pytest.raises(ProviderUnreachableError, match="document de découverte"):
        discover(CONFIG)
    responses.replace(responses.GET, url, status=503)
    with pytest.raises(ProviderUnreachableError, match="HTTP 503"):
        discover(CONFIG)


def _signed(claims: dict[str, Any], key: Any) -> str:
    from joserfc import jwt

    return str(jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key))


@responses.activate
def test_a_userinfo_jwt_is_trusted_only_when_signed_by_the_provider_for_this_app() -> None:
    from joserfc.jwk import KeySet, RSAKey

    from territory.access.oidc import ProviderMetadata

    good = RSAKey.generate_key(2048, parameters={"kid": "pc-1"}, private=True)
    evil = RSAKey.generate_key(2048, parameters={"kid": "pc-1"}, private=True)
    metadata = ProviderMetadata(ISSUER, f"{ISSUER}/userinfo", f"{ISSUER}/jwks")
    responses.get(f"{ISSUER}/jwks", json=KeySet([good]).as_dict(private=False))
    claims = {"sub": "b6c7", "iss": ISSUER, "aud": "territory", **LEA}

    def answer(token: str) -> None:
        responses.upsert(
            responses.GET, f"{ISSUER}/userinfo", body=token, content_type="application/jwt"
        )

    answer(_signed(claims, good))
    assert fetch_userinfo(CONFIG, metadata, "at")["usual_name"] == "Martin"
    answer(_signed(claims, evil))
    with pytest.raises(LoginError, match="signature"):
        fetch_userinfo(CONFIG, metadata, "at")
    answer(_signed({**claims, "aud": "une-autre-application"}, good))
    with pytest.raises(LoginError, match="autre application"):
        fetch_userinfo(CONFIG, metadata, "at")
    answer(_signed({**claims, "iss": "https://evil.example"}, good))
    with pytest.raises(LoginError, match="autre émetteur"):
        fetch_userinfo(CONFIG, metadata, "at")


@responses.activate
def test_a_userinfo_jwt_signed_with_the_client_secret_is_checked_with_it() -> None:
    from joserfc import jwt
    from joserfc.jwk import OctKey

    from territory.access.oidc import ProviderMetadata

    config = OidcConfig(ISSUER, "territory", "secret-du-client-assez-long", REDIRECT, COOKIE)
    metadata = ProviderMetadata(ISSUER, f"{ISSUER}/userinfo", f"{ISSUER}/jwks")
    claims = {"sub": "b6c7", "iss": ISSUER, "aud": "territory", **LEA}
    for secret, works in (("secret-du-client-assez-long", True), ("un-autre-secret-long", False)):
        token = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret))
        responses.upsert(
            responses.GET, f"{ISSUER}/userinfo", body=token, content_type="application/jwt"
        )
        if works:
            assert fetch_userinfo(config, metadata, "at")["siret"] == "13002526500013"
        else:
            with pytest.raises(LoginError, match="signature"):
                fetch_userinfo(config, metadata, "at")


# --- the callback's outcome ----------------------------------------------------------------


def _through_middleware(
    path: str, query: str, status: int, headers: list[tuple[bytes, bytes]]
) -> list[dict[str, Any]]:
    """What the browser receives from Streamlit's answer, through the middleware."""
    from territory.ui.oidc import LoginOutcomeMiddleware

    async def streamlit(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"Authentication error"})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "path": path, "query_string": query.encode()}
    asyncio.run(LoginOutcomeMiddleware(streamlit)(scope, receive, send))
    return sent


def _location(sent: list[dict[str, Any]]) -> str:
    return dict(sent[0]["headers"])[b"location"].decode()


def test_a_refused_or_failed_callback_comes_home_with_its_outcome() -> None:
    home = [(b"location", b"/")]
    sent = _through_middleware("/oauth2callback", "error=access_denied&state=s", 302, home)
    assert _location(sent) == "/?connexion=refusee"
    cleared = [*home, (b"set-cookie", b'_streamlit_user=""; Max-Age=0; Path=/')]
    sent = _through_middleware("/oauth2callback", "code=c&state=s", 302, cleared)
    assert _location(sent) == "/?connexion=echec"
    logged = [*home, (b"set-cookie", b"_streamlit_user=2|1:0|abc; HttpOnly; Max-Age=2592000")]
    assert _location(_through_middleware("/oauth2callback", "code=c", 302, logged)) == "/"
    # a logout's return (no code, no error) is left alone
    assert _location(_through_middleware("/oauth2callback", "state=s", 302, home)) == "/"


def test_a_login_route_that_fails_becomes_a_redirect_home() -> None:
    sent = _through_middleware("/app/auth/login", "provider=t", 400, [])
    assert sent[0]["status"] == 302
    assert _location(sent) == "/app/?connexion=injoignable"
    assert [m["body"] for m in sent[1:]] == [b""]
    ok = _through_middleware("/auth/login", "provider=t", 302, [(b"location", b"https://idp")])
    assert _location(ok) == "https://idp" and ok[1]["body"] == b"Authentication error"


def test_the_redirect_to_the_provider_logout_gets_a_long_state() -> None:
    hint = b"https://idp.example.fr/session/end?id_token_hint=eyJ&client_id=t"
    sent = _through_middleware("/auth/logout", "", 302, [(b"location", hint)])
    query = parse_qs(urlsplit(_location(sent)).query)
    assert len(query["state"][0]) >= 32
    assert query["id_token_hint"] == ["eyJ"] and query["client_id"] == ["t"]
    # a logout without the provider's endpoint goes home as it was
    assert _location(_through_middleware("/auth/logout", "", 302, [(b"location", b"/")])) == "/"


def test_login_requests_carry_a_state_and_nonce_of_32_characters_at_least() -> None:
    from authlib.integrations.starlette_client import OAuth

    from territory.ui.oidc import lengthen_state_and_nonce

    lengthen_state_and_nonce()
    lengthen_state_and_nonce()  # idempotent
    oauth = OAuth()
    client = oauth.register(
        "essai",
        client_id="territory",
        client_secret="s",
        authorize_url="https://idp.example.fr/authorize",
        access_token_url="https://idp.example.fr/token",
        client_kwargs={"scope": "openid email"},
    )
    made = asyncio.run(client.create_authorization_url("https://app.example.fr/oauth2callback"))
    assert len(made["state"]) >= 32 and len(made["nonce"]) >= 32
    query = parse_qs(urlsplit(made["url"]).query)
    assert query["state"] == [made["state"]] and query["nonce"] == [made["nonce"]]


# --- territory oidc check ------------------------------------------------------------------


def test_oidc_check_reports_a_ready_provider(
    provider: tuple[OidcConfig, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from territory.cli import main

    _, running = provider
    with pytest.MonkeyPatch.context() as patch:
        for name, value in running.oidc_env(REDIRECT).items():
            patch.setenv(name, value)
        # the mock offers its scopes by name; ProConnect's claim-named ones are not listed
        patch.setenv("TERRITORY_OIDC_SCOPES", "openid email")
        assert main(["oidc", "check"]) == 0
    out = capsys.readouterr().out
    assert f"Fournisseur : {running.issuer} (émetteur vérifié)" in out
    assert f"Adresse de retour à déclarer : {REDIRECT}" in out
    assert "Déconnexion chez le fournisseur : " + running.issuer in out
    assert out.rstrip().endswith("Connexion OpenID Connect prête.")


def test_oidc_check_lists_every_reason_the_login_would_fail(
    provider: tuple[OidcConfig, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from territory.cli import main

    _, running = provider
    with pytest.MonkeyPatch.context() as patch:
        for name, value in running.oidc_env(REDIRECT).items():
            patch.setenv(name, value)
        patch.setenv("TERRITORY_OIDC_SCOPES", "openid email siret")
        assert main(["oidc", "check"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "la portée « siret » n'est pas proposée par le fournisseur" in err
        patch.delenv("TERRITORY_OIDC_ISSUER")
        assert main(["oidc", "check"]) == 2  # TERRITORY_AUTH=oidc without its provider
        assert "auth=oidc demande le fournisseur d'identité" in capsys.readouterr().err
        patch.delenv("TERRITORY_AUTH")
        assert main(["oidc", "check"]) == 2
        assert "TERRITORY_OIDC_ISSUER non défini" in capsys.readouterr().err


@responses.activate
def test_oidc_check_refuses_hs256_only_and_an_unaccepted_token_authentication() -> None:
    from territory.access.oidc import check_provider

    responses.get(
        f"{ISSUER}/.well-known/openid-configuration",
        json={
            "issuer": ISSUER,
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "id_token_signing_alg_values_supported": ["HS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        },
    )
    with pytest.raises(ValidationError) as caught:
        check_provider(CONFIG)
    assert len(caught.value.problems) == 3
    assert "HS256" in str(caught.value) and "jwks_uri" in str(caught.value)
    assert "n'accepte pas client_secret_post" in str(caught.value)
