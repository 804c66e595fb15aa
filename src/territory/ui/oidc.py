"""The login gate (issue #24): OpenID Connect through ``st.login``, ProConnect-compatible.

:func:`territory.ui.login.gate` calls :func:`login_gate` before the navigation when
``TERRITORY_AUTH=oidc``, then maps the identity to its account (the server's grants).
Without ``TERRITORY_OIDC_ISSUER`` the gate does nothing. With it, a visitor who is not
logged in sees only the login page; a logged-in one gets an
:class:`~territory.access.identity.Identity` built from the ID token's claims and the
provider's **userinfo** answer (fetched once per login with the access token that
``expose_tokens`` exposes), kept in ``st.session_state[IDENTITY]`` for the pages (the
sidebar shows the name and SIRET beside the account's logout button).

``serve.py`` is the server's entry point: it hands the ``[auth]`` secrets built from the
environment to ``st.App`` (:func:`auth_secrets_from_environment`) and wraps Streamlit's
login routes in :class:`LoginOutcomeMiddleware`, so that a refused or failed login comes
back to the app as ``?connexion=…`` and is told in one French line (Streamlit itself
only logs it and shows the page again).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import streamlit as st

from territory._errors import ValidationError
from territory.access.identity import Identity
from territory.access.oidc import (
    LoginError,
    OidcConfig,
    ProviderMetadata,
    ProviderUnreachableError,
    config_from_environment,
    discover,
    fetch_userinfo,
    identity_from,
    streamlit_auth_secrets,
)

__all__ = [
    "IDENTITY",
    "OUTCOMES",
    "LoginOutcomeMiddleware",
    "auth_secrets_from_environment",
    "current_identity",
    "lengthen_state_and_nonce",
    "login_gate",
    "organisation_label",
]

IDENTITY = "login_identity"
"""Session-state key of the logged-in :class:`Identity` (absent: nobody, or no login)."""
LOGGING_OUT = "login_logging_out"
"""Session-state key set by :func:`logout`, until the browser has left for ``/auth/logout``."""

OUTCOME_PARAM = "connexion"
OUTCOMES = {
    "refusee": "Connexion refusée par le fournisseur d'identité : réessayez, ou demandez "
    "l'accès à l'administrateur du serveur.",
    "echec": "La connexion n'a pas abouti (réponse du fournisseur d'identité invalide ou "
    "expirée) : réessayez.",
    "injoignable": "Le fournisseur d'identité est injoignable : réessayez dans quelques minutes.",
}
"""The one French line for each way a login can come back without an identity."""

_METADATA_TTL_S = 300.0
_metadata_cache: dict[str, tuple[float, ProviderMetadata]] = {}
_IDENTITIES_MAX = 5000
_identities: OrderedDict[str, Identity] = OrderedDict()
_lock = threading.Lock()


def auth_secrets_from_environment(env: Mapping[str, str]) -> dict[str, Any] | None:
    """The ``[auth]`` secrets for ``st.App``, or None when no provider is configured.

    A wrong configuration stops the server at start-up with one French line on stderr and
    exit code 2 (never a traceback, never a server open to everyone by mistake).
    """
    try:
        config = config_from_environment(env)
    except ValidationError as exc:
        print(f"territory : connexion OpenID Connect mal configurée : {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None
    return None if config is None else streamlit_auth_secrets(config)


STATE_LENGTH = 43
"""Characters of the ``state`` and ``nonce`` of a login (and of a logout's ``state``).

ProConnect refuses values shorter than 32 characters; Authlib, under ``st.login``, makes
a 30-character state and a 20-character nonce. 43 URL-safe characters: 256 bits.
"""


def lengthen_state_and_nonce() -> None:
    """Make every authorization request's ``state`` and ``nonce`` :data:`STATE_LENGTH` long.

    Called once by ``serve.py``, before the server answers: wraps Authlib's Starlette
    client (which Streamlit's login route uses) so that it draws both values with
    :data:`STATE_LENGTH` characters; everything else (their storage in the session, their
    checks at the callback) stays Authlib's. Idempotent.
    """
    import warnings

    from authlib.common.security import generate_token

    with warnings.catch_warnings():  # Authlib's notice about its own httpx integration
        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.starlette_client import StarletteOAuth2App

    original = StarletteOAuth2App.create_authorization_url
    if getattr(original, "territory_long_state", False):
        return

    async def create_authorization_url(
        self: Any, redirect_uri: str | None = None, **kwargs: Any
    ) -> Any:
        kwargs.setdefault("state", generate_token(STATE_LENGTH))
        kwargs.setdefault("nonce", generate_token(STATE_LENGTH))
        return await original(self, redirect_uri, **kwargs)

    create_authorization_url.territory_long_state = True  # type: ignore[attr-defined]
    StarletteOAuth2App.create_authorization_url = create_authorization_url


def _config() -> OidcConfig | None:
    """The provider of this server's environment (a wrong one: one French line, stop)."""
    try:
        return config_from_environment(os.environ)
    except ValidationError as exc:
        st.error(f"Connexion mal configurée sur ce serveur : {exc}")
        st.stop()


def _streamlit_has_auth() -> bool:
    """Whether Streamlit received an ``[auth]`` section (``serve.py`` started the app)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # Streamlit's "no secrets at all"
        return False


def _metadata(config: OidcConfig) -> ProviderMetadata:
    """The provider's discovery document, kept five minutes (a failure is not kept)."""
    now = time.monotonic()
    with _lock:
        cached = _metadata_cache.get(config.issuer)
    if cached and now - cached[0] < _METADATA_TTL_S:
        return cached[1]
    metadata = discover(config)
    with _lock:
        _metadata_cache[config.issuer] = (now, metadata)
    return metadata


def current_identity() -> Identity | None:
    """The identity this session logged in with, or None (nobody, or no login configured)."""
    found = st.session_state.get(IDENTITY)
    return found if isinstance(found, Identity) else None


def organisation_label(organisation: str) -> str:
    """``SIRET 130 025 265 00013`` for a SIRET, the text itself otherwise.

    Examples
    --------
    >>> organisation_label("13002526500013")
    'SIRET 130 025 265 00013'
    >>> organisation_label("Mission locale de Vichy")
    'Mission locale de Vichy'
    """
    if len(organisation) == 14 and organisation.isdigit():
        o = organisation
        return f"SIRET {o[:3]} {o[3:6]} {o[6:9]} {o[9:]}"
    return organisation


def login_gate(*, sidebar: bool = True) -> Identity | None:
    """Let only logged-in people past (when a provider is configured); their identity.

    Returns None when no provider is configured. Otherwise either returns the identity of
    a logged-in person (and, with ``sidebar``, shows who they are and the logout button in
    the sidebar) or shows the login page, or one French line saying why there is no
    identity, and stops the script. :func:`territory.ui.login.gate` calls it with
    ``TERRITORY_AUTH=oidc``, then maps the identity to its account.
    """
    config = _config()
    if config is None:
        return None
    if not _streamlit_has_auth():
        st.error(
            "La connexion ProConnect est configurée (TERRITORY_OIDC_ISSUER) mais l'application "
            "n'a pas été lancée par serve.py : lancez « streamlit run serve.py »."
        )
        st.stop()
    outcome = st.query_params.get(OUTCOME_PARAM)
    if not st.user.to_dict().get("is_logged_in"):
        st.session_state.pop(IDENTITY, None)
        if st.session_state.get(LOGGING_OUT):
            st.write("Déconnexion en cours…")
            logout()  # the redirect again: the run that sent it may have been cut short
        _login_page(config, outcome)
        st.stop()
    identity = _identity(config)
    st.session_state[IDENTITY] = identity
    if sidebar:
        _sidebar(identity)
    return identity


def _login_page(config: OidcConfig, outcome: str | None) -> None:
    """The page of someone not logged in: why the last try failed, the login button."""
    st.title("territory — connexion")
    st.write("Connectez-vous avec votre compte professionnel pour planifier l'aller-vers.")
    try:
        _metadata(config)
    except ProviderUnreachableError as exc:  # said before anyone clicks; says it all
        st.error(f"Connexion impossible : {exc}.")
        if st.button("Réessayer"):
            st.query_params.clear()
            st.rerun()
        return
    if outcome in OUTCOMES:
        st.error(OUTCOMES[outcome])
    if st.button("Se connecter avec ProConnect", type="primary"):
        st.query_params.clear()
        st.login()


def _claims() -> dict[str, Any]:
    """The ID token's claims Streamlit kept in ``st.user`` (without its own keys)."""
    own = {"is_logged_in", "tokens", "origin", "provider"}
    return {k: v for k, v in st.user.to_dict().items() if k not in own}


def _identity(config: OidcConfig) -> Identity:
    """The logged-in person: the userinfo step once per login, then kept in memory."""
    tokens = st.user.tokens.to_dict()
    access = tokens.get("access", "")
    claims = _claims()
    key = hashlib.sha256(f"{claims.get('sub', '')}\0{access}".encode()).hexdigest()
    with _lock:
        known = _identities.get(key)
    if known is not None:
        return known
    try:
        metadata = _metadata(config)
        userinfo = fetch_userinfo(config, metadata, access)
        identity = identity_from(claims, userinfo, issuer=metadata.issuer)
    except LoginError as exc:
        st.error(f"Connexion impossible : {exc}.")
        if st.button("Se reconnecter", type="primary"):
            st.login()
        if st.button("Se déconnecter"):
            logout()
        st.stop()
    except ProviderUnreachableError as exc:
        st.error(f"Connexion impossible : {exc}.")
        if st.button("Réessayer"):
            st.rerun()
        if st.button("Se déconnecter"):
            logout()
        st.stop()
    with _lock:
        _identities[key] = identity
        while len(_identities) > _IDENTITIES_MAX:
            _identities.popitem(last=False)
    return identity


def _sidebar(identity: Identity) -> None:
    """Who is logged in, and the logout button."""
    with st.sidebar:
        st.markdown(f"**{identity.name or identity.email}**")
        details = [identity.email]
        if identity.organisation:
            details.append(organisation_label(identity.organisation))
        st.caption(" · ".join(details))
        if st.button("Se déconnecter", icon=":material/logout:"):
            logout()


def logout() -> NoReturn:
    """Log out through the provider's end-session page, and end this run.

    ``st.logout`` forgets the user and asks the browser to go to ``/auth/logout`` (which
    deletes the identity cookie, then leaves for the provider) with a message that
    Streamlit drops if another run starts before it reached the browser: a
    ``st.rerun()``, a click, a map component reporting its bounds. This run therefore
    ends here, and the session remembers the request, so that :func:`login_gate` sends
    the redirect again on any later run until the browser has left.
    """
    st.session_state.pop(IDENTITY, None)
    st.session_state[LOGGING_OUT] = True
    st.logout()
    st.stop()


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_USER_COOKIE = "_streamlit_user="


class LoginOutcomeMiddleware:
    """ASGI middleware telling the app how a login came back (``?connexion=…``).

    Streamlit's ``/oauth2callback`` answers every failure (the provider's ``error=…``, a
    token exchange that fails) with a plain redirect home, and ``/auth/login`` answers an
    unreachable provider with an English « Authentication error » page. This wraps both
    routes without changing what they do: a callback that carried ``error`` goes home with
    ``?connexion=refusee``, one that carried a ``code`` but set no identity cookie with
    ``?connexion=echec``, and a login route that fails (HTTP ≥ 400) becomes a redirect home
    with ``?connexion=injoignable``. A logout's return (no ``code``, no ``error``) is left
    as it is.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, relocating the answers of the two login routes."""
        path = str(scope.get("path", ""))
        routes = ("/oauth2callback", "/auth/login", "/auth/logout")
        if scope.get("type") != "http" or not path.endswith(routes):
            await self.app(scope, receive, send)
            return
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        login_route = path.endswith("/auth/login")
        logout_route = path.endswith("/auth/logout")
        replaced = closed = False

        async def watch(message: Message) -> None:
            nonlocal replaced, closed
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                status = int(message["status"])
                if login_route and status >= 400:
                    replaced = True
                    home = path[: -len("auth/login")] or "/"
                    message = {
                        "type": "http.response.start",
                        "status": 302,
                        "headers": [
                            (b"location", _with_outcome(home, "injoignable").encode("latin-1")),
                            (b"content-length", b"0"),
                        ],
                    }
                elif logout_route and status in {302, 303, 307}:
                    message = {**message, "headers": _with_logout_state(headers)}
                elif not login_route and status in {302, 303, 307}:
                    outcome = _callback_outcome(query, headers)
                    if outcome:
                        message = {**message, "headers": _relocated(headers, outcome)}
            elif message["type"] == "http.response.body" and replaced:
                if closed:
                    return  # the original body of the replaced answer: dropped
                closed = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, watch)


def _callback_outcome(query: Mapping[str, list[str]], headers: list[tuple[bytes, bytes]]) -> str:
    """``refusee``, ``echec`` or ``""`` (a login that worked, or a logout's return)."""
    if "error" in query:
        return "refusee"
    if "code" not in query:
        return ""
    for name, value in headers:
        text = value.decode("latin-1")
        kept = "max-age=0" not in text.lower() and not text.startswith(_USER_COOKIE + '""')
        if name.lower() == b"set-cookie" and text.startswith(_USER_COOKIE) and kept:
            return ""
    return "echec"


def _with_logout_state(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A redirect to the provider's logout with a random ``state`` (ProConnect requires it).

    Streamlit sends ``id_token_hint``, ``client_id`` and ``post_logout_redirect_uri`` only.
    The ``state`` comes back to ``/oauth2callback``, where Streamlit finds no login for it
    and goes home: nothing to check there, a logout's return changes nothing.
    """
    from authlib.common.security import generate_token

    out = []
    for name, value in headers:
        url = value.decode("latin-1")
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if name.lower() == b"location" and parts.netloc and "state" not in query:
            query["state"] = [generate_token(STATE_LENGTH)]
            url = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
        out.append((name, url.encode("latin-1")))
    return out


def _relocated(headers: list[tuple[bytes, bytes]], outcome: str) -> list[tuple[bytes, bytes]]:
    """``headers`` with the ``location`` carrying ``?connexion=outcome``."""
    return [
        (name, _with_outcome(value.decode("latin-1"), outcome).encode("latin-1"))
        if name.lower() == b"location"
        else (name, value)
        for name, value in headers
    ]


def _with_outcome(url: str, outcome: str) -> str:
    """``url`` with ``connexion=outcome`` in its query."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query[OUTCOME_PARAM] = [outcome]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
