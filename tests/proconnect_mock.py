"""A local OpenID Connect provider that answers like ProConnect, for the login tests.

``oidc-provider-mock`` (a real Authlib provider: discovery, authorize form, token endpoint,
userinfo, end session, JWKS) made ProConnect-like, as its documentation describes the
service: scopes named after the claims they release (``given_name``, ``usual_name``,
``siret``…), an ID token that carries only the subject (and the protocol's claims), the
person's e-mail, names and organisation only at the **userinfo** endpoint, which answers
a JWT signed with the provider's keys (``application/jwt``). The client is registered
(dynamic registration) with ``client_secret_post``, so a wrong secret is refused.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

PROCONNECT_SCOPES = ("given_name", "usual_name", "siret", "organizational_unit", "uid")


NO_SERVER = "postgresql://territory_app:x@127.0.0.1:9/aucun"
"""A server URL nobody answers at: the login stops before it (the provider's side)."""


@dataclass(frozen=True)
class Provider:
    """A running mock provider and the client registered with it."""

    issuer: str
    client_id: str
    client_secret: str

    def oidc_env(
        self, redirect_uri: str, *, app_url: str = NO_SERVER, login_url: str = NO_SERVER
    ) -> dict[str, str]:
        """The environment of an app logging in with this provider (``TERRITORY_AUTH=oidc``).

        ``app_url`` and ``login_url`` are the server's app and login roles; the default,
        a server nobody answers at, serves the tests that stop before the account.
        """
        return {
            "TERRITORY_AUTH": "oidc",
            "TERRITORY_APP_DATABASE_URL": app_url,
            "TERRITORY_LOGIN_DATABASE_URL": login_url,
            "TERRITORY_OIDC_ISSUER": self.issuer,
            "TERRITORY_OIDC_CLIENT_ID": self.client_id,
            "TERRITORY_OIDC_CLIENT_SECRET": self.client_secret,
            "TERRITORY_OIDC_REDIRECT_URI": redirect_uri,
            "TERRITORY_OIDC_COOKIE_SECRET": "0123456789abcdef" * 4,
        }


def free_port() -> int:
    """A free TCP port of 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def proconnect_like_provider(
    users: Sequence[tuple[str, dict[str, Any]]],
    *,
    redirect_uris: Sequence[str],
    signed_userinfo: bool = True,
) -> Iterator[Provider]:
    """Run the provider on a free 127.0.0.1 port with ``users`` (subject, claims).

    ``signed_userinfo=False``: userinfo answered as plain JSON, as most providers do.
    """
    import flask
    import requests
    import werkzeug.serving
    from joserfc import jwt
    from joserfc.jwk import RSAKey
    from oidc_provider_mock import User
    from oidc_provider_mock import _app as mock_app

    saved_scopes = dict(mock_app._SCOPES_TO_CLAIMS)
    saved_user_info = mock_app.OpenIDCode.generate_user_info
    saved_env = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on 127.0.0.1
    for scope in PROCONNECT_SCOPES:
        mock_app._SCOPES_TO_CLAIMS[scope] = [scope]

    def id_token_claims(self: Any, user: Any, scope: str) -> dict[str, Any]:
        return {"sub": user.sub}  # ProConnect: the rest only at the userinfo endpoint

    mock_app.OpenIDCode.generate_user_info = id_token_claims  # type: ignore[method-assign]

    app = mock_app.app(
        require_client_registration=True,
        require_nonce=True,
        user_claims=[User(sub=sub, claims=claims) for sub, claims in users],
    )
    registered: dict[str, str] = {}

    @app.after_request
    def userinfo_as_signed_jwt(response: flask.Response) -> flask.Response:
        if not signed_userinfo or flask.request.path != "/userinfo" or response.status_code != 200:
            return response
        storage = flask.g.oidc_provider_mock_storage
        private = storage.jwk.as_dict(is_private=True)
        claims = {
            **json.loads(response.get_data()),
            "iss": flask.request.host_url.rstrip("/"),
            "aud": registered.get("client_id", ""),
        }
        token = jwt.encode(
            {"alg": "RS256", "kid": private.get("kid")}, claims, RSAKey.import_key(private)
        )
        return flask.Response(token, content_type="application/jwt")

    port = free_port()
    server = werkzeug.serving.make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    issuer = f"http://127.0.0.1:{port}"
    try:
        answer = requests.post(
            f"{issuer}/oauth2/clients",
            json={
                "redirect_uris": list(redirect_uris),
                "scope": "openid email " + " ".join(PROCONNECT_SCOPES),
                "token_endpoint_auth_method": "client_secret_post",
            },
            timeout=10,
        )
        answer.raise_for_status()
        registered.update(answer.json())
        yield Provider(issuer, registered["client_id"], registered["client_secret"])
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        mock_app._SCOPES_TO_CLAIMS.clear()
        mock_app._SCOPES_TO_CLAIMS.update(saved_scopes)
        mock_app.OpenIDCode.generate_user_info = saved_user_info  # type: ignore[method-assign]
        if saved_env is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = saved_env
