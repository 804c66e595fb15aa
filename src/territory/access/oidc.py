"""OpenID Connect login (ProConnect-compatible): configuration, userinfo step, identity.

Streamlit's ``st.login`` runs the authorization-code flow (state, nonce, PKCE, ID token
checked by Authlib) and keeps the ID token's claims in ``st.user``. ProConnect puts almost
nothing in its ID token: the e-mail, the names and the organisation's SIRET come from its
**userinfo endpoint**, answered as a signed JWT. This module holds everything of the login
that is not Streamlit:

* :func:`config_from_settings` checks the ``oidc_*`` settings (``TERRITORY_OIDC_*``:
  secrets never in a file of the repository) and :func:`streamlit_auth_secrets` turns
  them into the ``[auth]`` section that ``serve.py`` hands to ``st.App(secrets=...)``;
* :func:`discover` reads the provider's discovery document (French error when it is
  unreachable);
* :func:`fetch_userinfo` calls the userinfo endpoint with the access token that
  ``expose_tokens = ["access"]`` lets the app read, and verifies a JWT answer against the
  provider's keys;
* :func:`identity_from` builds the :class:`~territory.access.identity.Identity` from the
  ID token's claims and the userinfo claims (``sub`` must be the same in both).

Examples
--------
>>> who = identity_from(
...     {"iss": "https://auth.agentconnect.gouv.fr/api/v2", "sub": "b6c7"},
...     {"sub": "b6c7", "email": "Lea.Martin@Mission-Locale.fr", "given_name": "Léa",
...      "usual_name": "Martin", "siret": "130 025 265 00013"},
... )
>>> who.name, who.organisation, who.email
('Léa Martin', '13002526500013', 'lea.martin@mission-locale.fr')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from territory._errors import NetworkError, TerritoryError, ValidationError
from territory.access.identity import Identity
from territory.settings import Settings

__all__ = [
    "PROCONNECT_SCOPES",
    "LoginError",
    "OidcConfig",
    "ProviderMetadata",
    "ProviderUnreachableError",
    "check_provider",
    "config_from_environment",
    "config_from_settings",
    "discover",
    "fetch_userinfo",
    "identity_from",
    "streamlit_auth_secrets",
]

PROCONNECT_SCOPES = "openid email given_name usual_name siret"
"""The scopes asked by default: ProConnect names its scopes after the claims they release."""

ENV_PREFIX = "TERRITORY_OIDC_"
MIN_COOKIE_SECRET = 32
CALLBACK_PATH = "/oauth2callback"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_USER_AGENT = "territory/0.1 (connexion OpenID Connect)"


class LoginError(TerritoryError):
    """The login cannot give an identity: refused, expired or inconsistent (French)."""


class ProviderUnreachableError(NetworkError):
    """The identity provider did not answer, or not as an OpenID Connect provider."""


@dataclass(frozen=True)
class OidcConfig:
    """One OpenID Connect provider, as the server's environment describes it.

    Attributes
    ----------
    issuer
        The provider's issuer URL (``https://auth.agentconnect.gouv.fr/api/v2`` for
        ProConnect); its discovery document is ``issuer/.well-known/openid-configuration``.
    client_id, client_secret
        The credentials the provider gave when the app was registered.
    redirect_uri
        The app's public URL followed by ``/oauth2callback`` (Streamlit's callback route),
        exactly as registered at the provider.
    cookie_secret
        Signs the identity cookie (at least 32 characters, random).
    scopes
        Space-separated scopes; ProConnect-style by default.
    prompt
        The ``prompt`` parameter of the authorization request (``login``: the provider asks
        again after a logout, which matters on a shared laptop); empty: none sent.
    token_auth
        How the client authenticates at the token endpoint (``client_secret_post`` or
        ``client_secret_basic``).
    timeout_s
        Timeout of the app's own calls to the provider (discovery, userinfo, keys).
    """

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    cookie_secret: str = field(repr=False)
    scopes: str = PROCONNECT_SCOPES
    prompt: str = "login"
    token_auth: str = "client_secret_post"
    timeout_s: float = 10.0

    @property
    def metadata_url(self) -> str:
        """The provider's discovery document."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def _secure_url(url: str) -> bool:
    """Whether ``url`` is https, or http on this machine (tests, a local provider)."""
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.netloc:
        return True
    return parsed.scheme == "http" and (parsed.hostname or "") in _LOCAL_HOSTS


def config_from_environment(env: Mapping[str, str]) -> OidcConfig | None:
    """The provider of ``TERRITORY_OIDC_*`` variables (``env``), or None when not set.

    :func:`config_from_settings` on ``Settings.from_env(env)``.

    Examples
    --------
    >>> config_from_environment({}) is None
    True
    >>> config_from_environment({"TERRITORY_OIDC_ISSUER": "http://idp.example.fr"})
    Traceback (most recent call last):
    ...
    territory._errors.ValidationError: TERRITORY_OIDC_ISSUER doit être une adresse https (http seulement sur cette machine) ; TERRITORY_OIDC_CLIENT_ID manquant ; TERRITORY_OIDC_CLIENT_SECRET manquant ; TERRITORY_OIDC_REDIRECT_URI manquant ; TERRITORY_OIDC_COOKIE_SECRET manquant
    """  # noqa: E501
    return config_from_settings(Settings.from_env(dict(env)))


def config_from_settings(settings: Settings) -> OidcConfig | None:
    """The provider of ``settings.oidc_*``, or None when ``oidc_issuer`` is empty.

    ``TERRITORY_OIDC_ISSUER`` switches the login on; the client id and secret, the redirect
    URI and the cookie secret are then required.

    Raises
    ------
    ValidationError
        Every problem found, in French (a missing secret, an http URL on the internet…);
        the values of secrets are never repeated.
    """
    issuer = settings.oidc_issuer.strip()
    if not issuer:
        return None
    problems = []
    if not _secure_url(issuer):
        problems.append(
            f"{ENV_PREFIX}ISSUER doit être une adresse https (http seulement sur cette machine)"
        )
    values = {
        "CLIENT_ID": settings.oidc_client_id.strip(),
        "CLIENT_SECRET": settings.oidc_client_secret.strip(),
        "REDIRECT_URI": settings.oidc_redirect_uri.strip(),
        "COOKIE_SECRET": settings.oidc_cookie_secret.strip(),
    }
    problems += [f"{ENV_PREFIX}{name} manquant" for name, value in values.items() if not value]
    redirect = values["REDIRECT_URI"]
    if redirect and not (_secure_url(redirect) and redirect.endswith(CALLBACK_PATH)):
        problems.append(
            f"{ENV_PREFIX}REDIRECT_URI doit être l'adresse publique de l'application suivie "
            f"de {CALLBACK_PATH} (https, ou http sur cette machine)"
        )
    secret = values["COOKIE_SECRET"]
    if secret and len(secret) < MIN_COOKIE_SECRET:
        problems.append(
            f"{ENV_PREFIX}COOKIE_SECRET trop court ({len(secret)} caractères, au moins "
            f"{MIN_COOKIE_SECRET} : openssl rand -hex 32)"
        )
    scopes = " ".join(settings.oidc_scopes.split()) or PROCONNECT_SCOPES
    if "openid" not in scopes.split():
        problems.append(f"{ENV_PREFIX}SCOPES doit contenir « openid »")
    token_auth = settings.oidc_token_auth.strip() or "client_secret_post"
    if token_auth not in {"client_secret_post", "client_secret_basic"}:
        problems.append(
            f"{ENV_PREFIX}TOKEN_AUTH doit valoir client_secret_post ou client_secret_basic"
        )
    if settings.oidc_timeout_s <= 0:
        problems.append(f"{ENV_PREFIX}TIMEOUT_S doit être un nombre de secondes positif")
    if problems:
        raise ValidationError(problems)
    return OidcConfig(
        issuer=issuer,
        client_id=values["CLIENT_ID"],
        client_secret=values["CLIENT_SECRET"],
        redirect_uri=redirect,
        cookie_secret=secret,
        scopes=scopes,
        prompt=settings.oidc_prompt.strip(),
        token_auth=token_auth,
        timeout_s=settings.oidc_timeout_s,
    )


def streamlit_auth_secrets(config: OidcConfig) -> dict[str, Any]:
    """The ``[auth]`` section of Streamlit's secrets for ``config`` (default provider).

    ``expose_tokens = ["access"]`` puts the access token in ``st.user.tokens`` for the
    userinfo step; the client keyword arguments carry the scopes, the prompt and the token
    endpoint's authentication method to Authlib.

    Examples
    --------
    >>> cfg = OidcConfig("https://idp.example.fr", "territory", "s", "https://app.example.fr"
    ...                  "/oauth2callback", "c" * 32)
    >>> auth = streamlit_auth_secrets(cfg)["auth"]
    >>> auth["server_metadata_url"], auth["expose_tokens"], auth["client_kwargs"]["scope"]
    ('https://idp.example.fr/.well-known/openid-configuration', ['access'], 'openid email given_name usual_name siret')
    """  # noqa: E501
    client_kwargs: dict[str, Any] = {
        "scope": config.scopes,
        "token_endpoint_auth_method": config.token_auth,
    }
    if config.prompt:
        client_kwargs["prompt"] = config.prompt
    return {
        "auth": {
            "redirect_uri": config.redirect_uri,
            "cookie_secret": config.cookie_secret,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "server_metadata_url": config.metadata_url,
            "expose_tokens": ["access"],
            "client_kwargs": client_kwargs,
        }
    }


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of a provider's discovery document the app uses."""

    issuer: str
    userinfo_endpoint: str
    jwks_uri: str = ""
    end_session_endpoint: str = ""


def _host(url: str) -> str:
    return urlparse(url).hostname or url


def _get(url: str, *, timeout_s: float, headers: Mapping[str, str] | None = None) -> Any:
    """``GET url`` with requests; French :class:`ProviderUnreachableError` when no answer."""
    import requests

    try:
        return requests.get(
            url,
            headers={"User-Agent": _USER_AGENT, **(headers or {})},
            timeout=timeout_s,
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        raise ProviderUnreachableError(
            f"le fournisseur d'identité {_host(url)} ne répond pas (délai de {timeout_s:g} s "
            "dépassé) : réessayez dans quelques minutes",
            host=_host(url),
        ) from exc
    except requests.RequestException as exc:
        raise ProviderUnreachableError(
            f"le fournisseur d'identité {_host(url)} est injoignable : réessayez dans "
            "quelques minutes, ou prévenez l'administrateur du serveur",
            host=_host(url),
        ) from exc


def discover(config: OidcConfig) -> ProviderMetadata:
    """The provider's discovery document (its userinfo endpoint, keys, logout).

    Raises
    ------
    ProviderUnreachableError
        No answer, an HTTP error, or an answer that is not this issuer's discovery document.
    """
    doc = _discovery_document(config)
    return ProviderMetadata(
        issuer=str(doc["issuer"]),
        userinfo_endpoint=str(doc["userinfo_endpoint"]),
        jwks_uri=str(doc.get("jwks_uri", "")),
        end_session_endpoint=str(doc.get("end_session_endpoint", "")),
    )


def check_provider(config: OidcConfig) -> list[str]:
    """What an administrator checks before opening the server: the provider, as the app sees it.

    Returns the report's lines (French). Raises :class:`ValidationError` listing every
    reason the login would fail: a requested scope the provider does not offer, ID tokens
    signed only with a shared secret (Authlib checks them with published keys), no keys, a
    token endpoint authentication the provider does not accept.

    Raises
    ------
    ProviderUnreachableError
        The provider does not answer as this issuer.
    ValidationError
        The login would fail; every reason listed.
    """
    doc = _discovery_document(config)
    problems = []
    offered = doc.get("scopes_supported")
    if isinstance(offered, list):
        problems += [
            f"la portée « {scope} » n'est pas proposée par le fournisseur "
            f"(TERRITORY_OIDC_SCOPES ; proposées : {' '.join(map(str, offered))})"
            for scope in config.scopes.split()
            if scope not in offered
        ]
    algs = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    if not [alg for alg in algs if not str(alg).startswith("HS")]:
        problems.append(
            "les jetons d'identité ne sont signés qu'avec un secret partagé (HS256) : "
            "demandez RS256 ou ES256 au fournisseur"
        )
    if not doc.get("jwks_uri"):
        problems.append("le fournisseur ne publie pas ses clés (jwks_uri)")
    methods = doc.get("token_endpoint_auth_methods_supported")
    if isinstance(methods, list) and config.token_auth not in methods:
        problems.append(
            f"le fournisseur n'accepte pas {config.token_auth} (TERRITORY_OIDC_TOKEN_AUTH ; "
            f"acceptés : {' '.join(map(str, methods))})"
        )
    if problems:
        raise ValidationError(problems)
    lines = [
        f"Fournisseur : {doc['issuer']} (émetteur vérifié)",
        f"Portées demandées : {config.scopes}",
        f"Signature des jetons : {', '.join(map(str, algs))}",
        f"Profil (userinfo) : {doc['userinfo_endpoint']}",
        f"Adresse de retour à déclarer : {config.redirect_uri}",
    ]
    if doc.get("end_session_endpoint"):
        lines.append(f"Déconnexion chez le fournisseur : {doc['end_session_endpoint']}")
    else:
        lines.append(
            "Déconnexion chez le fournisseur : non proposée (déconnexion locale seulement)"
        )
    if "S256" in (doc.get("code_challenge_methods_supported") or []):
        lines.append("PKCE (S256) : utilisé")
    return lines


def _discovery_document(config: OidcConfig) -> dict[str, Any]:
    """The provider's discovery document, checked: it names this issuer and a userinfo."""
    url = config.metadata_url
    answer = _get(url, timeout_s=config.timeout_s)
    host = _host(url)
    if answer.status_code != 200:
        raise ProviderUnreachableError(
            f"le fournisseur d'identité {host} répond par une erreur (HTTP "
            f"{answer.status_code}) : réessayez dans quelques minutes",
            host=host,
            status=answer.status_code,
        )
    try:
        doc = answer.json()
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not doc.get("userinfo_endpoint"):
        raise ProviderUnreachableError(
            f"{host} ne répond pas comme un fournisseur OpenID Connect (document de "
            "découverte sans userinfo_endpoint) : vérifiez TERRITORY_OIDC_ISSUER",
            host=host,
            status=answer.status_code,
        )
    if str(doc.get("issuer", "")).rstrip("/") != config.issuer.rstrip("/"):
        raise ProviderUnreachableError(
            f"le fournisseur {host} se présente comme « {doc.get('issuer', '')} » et non comme "
            f"« {config.issuer} » : vérifiez TERRITORY_OIDC_ISSUER",
            host=host,
            status=answer.status_code,
        )
    return doc


def fetch_userinfo(
    config: OidcConfig, metadata: ProviderMetadata, access_token: str
) -> dict[str, Any]:
    """The userinfo claims for ``access_token``: JSON, or a JWT verified with the provider's keys.

    ProConnect answers ``application/jwt`` signed with its keys (``jwks_uri``); its ``iss``
    must be the issuer and its ``aud`` the client id when present.

    Raises
    ------
    LoginError
        The token is refused (expired: log in again) or the answer cannot be trusted.
    ProviderUnreachableError
        The provider does not answer.
    """
    if not access_token:
        raise LoginError(
            "le fournisseur d'identité n'a pas transmis de jeton d'accès : reconnectez-vous"
        )
    answer = _get(
        metadata.userinfo_endpoint,
        timeout_s=config.timeout_s,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    host = _host(metadata.userinfo_endpoint)
    if answer.status_code in {400, 401, 403}:  # RFC 6750: invalid_token, invalid_request
        raise LoginError(
            f"le fournisseur d'identité refuse le jeton de cette connexion (HTTP "
            f"{answer.status_code}) : votre session a expiré, reconnectez-vous"
        )
    if answer.status_code != 200:
        raise ProviderUnreachableError(
            f"le fournisseur d'identité {host} refuse de donner votre profil (HTTP "
            f"{answer.status_code}) : réessayez dans quelques minutes",
            host=host,
            status=answer.status_code,
        )
    kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind == "application/jwt":
        claims = _verified_jwt(config, metadata, answer.text.strip())
    else:
        try:
            claims = answer.json()
        except ValueError:
            claims = None
    if not isinstance(claims, dict):
        raise LoginError(f"profil illisible renvoyé par {host} : reconnectez-vous")
    return claims


_ASYMMETRIC = ["RS256", "PS256", "ES256"]
_SYMMETRIC = ["HS256"]


def _jwt_alg(token: str) -> str:
    """The ``alg`` of a compact JWT's header ("" when unreadable)."""
    import base64

    head = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return ""
    return str(header.get("alg", "")) if isinstance(header, dict) else ""


def _verified_jwt(config: OidcConfig, metadata: ProviderMetadata, token: str) -> Any:
    """The claims of a signed userinfo JWT, checked with the provider's keys.

    RS256, PS256 or ES256: the keys the provider publishes (``jwks_uri``). HS256 (a service
    registered so at ProConnect): the client secret, as OpenID Connect Core 10.1 says.
    """
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet, OctKey

    key: Any
    if _jwt_alg(token) in _SYMMETRIC:
        key, algorithms = OctKey.import_key(config.client_secret), _SYMMETRIC
    else:
        if not metadata.jwks_uri:
            raise LoginError(
                "profil signé, mais le fournisseur ne publie pas ses clés (jwks_uri) : "
                "impossible de le vérifier"
            )
        keys = _get(metadata.jwks_uri, timeout_s=config.timeout_s)
        if keys.status_code != 200:
            raise ProviderUnreachableError(
                f"les clés du fournisseur d'identité ({_host(metadata.jwks_uri)}) sont "
                f"indisponibles (HTTP {keys.status_code}) : réessayez dans quelques minutes",
                host=_host(metadata.jwks_uri),
                status=keys.status_code,
            )
        try:
            key, algorithms = KeySet.import_key_set(keys.json()), _ASYMMETRIC
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderUnreachableError(
                f"les clés publiées par {_host(metadata.jwks_uri)} sont illisibles : "
                "prévenez l'administrateur du serveur",
                host=_host(metadata.jwks_uri),
            ) from exc
    try:
        decoded = jwt.decode(token, key, algorithms=algorithms)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise LoginError(
            "la signature du profil renvoyé par le fournisseur d'identité est invalide : "
            "reconnectez-vous"
        ) from exc
    claims = dict(decoded.claims)
    if "iss" in claims and str(claims["iss"]).rstrip("/") != metadata.issuer.rstrip("/"):
        raise LoginError("profil signé par un autre émetteur que le fournisseur configuré")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if audience is not None and config.client_id not in audiences:
        raise LoginError("profil destiné à une autre application (aud) : reconnectez-vous")
    return claims


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def identity_from(
    claims: Mapping[str, Any], userinfo: Mapping[str, Any], *, issuer: str = ""
) -> Identity:
    """The person proven by the ID token's ``claims`` and the ``userinfo`` claims.

    The userinfo ``sub`` must equal the ID token's (OpenID Connect Core, 5.3.2); its claims
    win over the ID token's. Name: ``given_name`` + ``usual_name`` (ProConnect), else
    ``family_name``, else ``name``. Organisation: the ``siret`` (digits only), else the
    ``organizational_unit``. Provider: the ID token's ``iss``, else ``issuer``.

    Raises
    ------
    LoginError
        No subject, another subject in the userinfo, or no e-mail address.
    """
    subject = _text(claims.get("sub"))
    if not subject:
        raise LoginError("jeton d'identité sans identifiant (sub) : reconnectez-vous")
    if "sub" in userinfo and _text(userinfo["sub"]) != subject:
        raise LoginError(
            "le profil renvoyé par le fournisseur d'identité est celui d'une autre personne : "
            "connexion refusée"
        )
    merged = {**claims, **userinfo}
    email = _text(merged.get("email"))
    if "@" not in email:
        raise LoginError(
            "le fournisseur d'identité n'a pas transmis d'adresse e-mail (portée « email » "
            "refusée ?) : l'accès ne peut pas vous être attribué"
        )
    first = _text(merged.get("given_name"))
    last = _text(merged.get("usual_name") or merged.get("family_name"))
    name = " ".join(part for part in (first, last) if part) or _text(merged.get("name"))
    siret = "".join(ch for ch in _text(merged.get("siret")) if ch.isdigit())
    organisation = siret or _text(merged.get("organizational_unit"))
    provider = _text(claims.get("iss")) or issuer
    if not provider:
        raise LoginError("jeton d'identité sans émetteur (iss) : reconnectez-vous")
    return Identity(
        subject=subject, email=email, provider=provider, name=name, organisation=organisation
    )
