"""One immutable settings object, overridable with ``TERRITORY_…`` environment variables.

Settings are passed explicitly (never read from a module global) because one Streamlit
server serves every user of a deployment.

Examples
--------
>>> from territory import Settings
>>> Settings().k
11
>>> Settings(k=4)
Traceback (most recent call last):
...
territory._errors.ValidationError: k (seuil de diffusion) doit valoir au moins 5, reçu 4
>>> Settings(auth="local")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
territory._errors.ValidationError: auth=local demande le serveur : TERRITORY_APP_DATABASE_URL ...
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from territory._errors import ValidationError

MIN_K = 5
MIN_ROUNDING = 5
AUTH_MODES = ("", "local", "oidc")


def _default_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "territory"


def _flag(raw: str) -> bool:
    text = raw.strip().lower()
    if text in {"1", "true", "yes", "on", "oui", "vrai"}:
        return True
    if text in {"", "0", "false", "no", "off", "non", "faux"}:
        return False
    raise ValueError(raw)


@dataclass(frozen=True)
class Settings:
    """Parameters of the disclosure control, the map and the outside world.

    Attributes
    ----------
    k
        Disclosure threshold: a value made by fewer than ``k`` distinct people is never
        shown (French norm for person data: 11; never below 5).
    rounding
        Published counts, once perturbed, are rounded to a multiple of this number
        (never below 5: with the perturbation, the protection of ``privacy.md``).
    retention_months
        Contacts older than this are purged by ``territory purge``.
    secret_path
        File holding the HMAC secret that pseudonymises person keys; kept outside
        the workspace on purpose.
    stop_buffer_m
        Walking distance to a served stop (metres) below which an area is not a
        "zone blanche" (computed only where an imported GTFS feed with timetables
        covers the commune; see :mod:`territory.analysis.transit_coverage`).
    http_timeout_s, user_agent, cache_dir
        Network settings for fetching official data.
    base_url_path
        Streamlit ``server.baseUrlPath``, prefixed to the locally served Leaflet assets
        (the app reads Streamlit's own option when this is empty).
    workspace
        The workspace file the app opens first; the app refuses it (one French line) when
        it is not inside ``workspaces_dir``.
    workspaces_dir
        The only folder whose ``.gpkg`` files the app lists and opens
        (:func:`territory.store.workspace_in`): whoever reaches the app cannot open another
        file of the server. Relative to the working directory. The command line is not
        bound by it (its user already has the file system).
    data_inclusion_token
        API token of data·inclusion, for ``territory fetch`` (partners); empty: skipped.
    database_url
        ``postgresql://user:password@host:port/database`` of the shared server (PostgreSQL +
        PostGIS, issue #24); empty: the embedded GeoPackage files of ``workspaces_dir``.
        Never printed (it holds a password). It holds the workspaces (one schema each,
        :mod:`territory._pgstore`), reached as the role of this URL — the operator's, the
        tables' owner — except in a user's session (``auth`` in the app,
        ``session_token`` on the command line: the app role of ``app_database_url``); the
        app may be given the app role's URL here. The command line's ``territory users``
        commands use it too, as the access schema's owner (or as the app role with a
        session token).
    app_database_url
        ``postgresql://territory_app:…@host/base``: the app's connection for the accounts,
        grants, sessions and audit log, as the access schema's app role under row-level
        security (:mod:`territory.access.schema`), and for the workspaces' tables on a
        server with accounts: the pages, and the command line with ``session_token``, reach
        them as this role in the user's session (:mod:`territory._pgrls`), never as the
        owner of ``database_url``. Never printed.
    oidc_issuer
        The OpenID Connect provider's issuer URL (ProConnect:
        ``https://auth.agentconnect.gouv.fr/api/v2``); empty: no OpenID Connect login.
        With it, the login needs the four next ones (:mod:`territory.access.oidc`).
    oidc_client_id, oidc_client_secret
        The app's credentials at the provider (the secret never printed).
    oidc_redirect_uri
        The app's public URL followed by ``/oauth2callback``, as registered.
    oidc_cookie_secret
        Signs the identity cookie: 32 random characters at least (never printed).
    oidc_scopes, oidc_prompt, oidc_token_auth, oidc_timeout_s
        The scopes asked (ProConnect's by default), the ``prompt`` sent (``login``; empty:
        none), the token endpoint's client authentication, the timeout of the app's own
        calls to the provider (discovery, userinfo, keys).
    auth
        How people log in to the server: ``local`` (accounts with passwords,
        :mod:`territory.access.accounts`), ``oidc`` (OpenID Connect through ``st.login``) or
        empty (the laptop app: no login, every page).
    login_database_url
        ``postgresql://territory_login:…@host/base``: the login role's connection, used only
        to check passwords and open sessions (a user's session on the app role can open
        none). Never printed.
    session_token
        A session opened by ``territory users login`` (``TERRITORY_SESSION_TOKEN``): the
        command line acts as that account on the app role, under row-level security — the
        ``users`` commands and every command opening a workspace of the server.
        Never printed.
    debug
        Show Python tracebacks in the command line instead of one French line.
    detour_factor, walk_kmh, bike_kmh, car_kmh, transit_kmh
        The travel model (:class:`territory.travel.TravelModel`): network distance /
        straight-line distance, and the door-to-door speed of each mode (km/h).
    bike_access_min, car_access_min, transit_access_min
        Minutes added to every trip by bike (unlock, lock), car (park, walk to the spot)
        and public transport (walk to the stop, average wait).
    """

    k: int = 11
    rounding: int = 5
    retention_months: int = 24
    secret_path: Path = field(default_factory=lambda: _default_config_dir() / "secret.key")
    stop_buffer_m: float = 500.0
    http_timeout_s: float = 30.0
    user_agent: str = "territory/0.1 (outil de planification aller-vers)"
    cache_dir: Path = field(default_factory=lambda: Path("data/boundaries/cache"))
    base_url_path: str = ""
    workspace: Path = Path("workspaces/demo.gpkg")
    workspaces_dir: Path = Path("workspaces")
    data_inclusion_token: str = field(default="", repr=False)
    database_url: str = field(default="", repr=False)
    app_database_url: str = field(default="", repr=False)
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_redirect_uri: str = ""
    oidc_cookie_secret: str = field(default="", repr=False)
    oidc_scopes: str = "openid email given_name usual_name siret"
    oidc_prompt: str = "login"
    oidc_token_auth: str = "client_secret_post"
    oidc_timeout_s: float = 10.0
    auth: str = ""
    login_database_url: str = field(default="", repr=False)
    session_token: str = field(default="", repr=False)
    debug: bool = False
    detour_factor: float = 1.3
    walk_kmh: float = 4.5
    bike_kmh: float = 15.0
    car_kmh: float = 40.0
    transit_kmh: float = 15.0
    bike_access_min: float = 2.0
    car_access_min: float = 5.0
    transit_access_min: float = 10.0

    def __post_init__(self) -> None:
        problems = []
        if self.k < MIN_K:
            problems.append(f"k (seuil de diffusion) doit valoir au moins {MIN_K}, reçu {self.k}")
        if self.rounding < MIN_ROUNDING:
            problems.append(
                f"rounding (arrondi) doit valoir au moins {MIN_ROUNDING}, reçu {self.rounding}"
            )
        if self.retention_months < 1:
            problems.append(
                f"retention_months doit valoir au moins 1, reçu {self.retention_months}"
            )
        if not str(self.workspaces_dir).strip():
            problems.append("workspaces_dir (dossier des espaces de travail) ne peut être vide")
        if self.auth not in AUTH_MODES:
            problems.append(
                f"auth (connexion au serveur) doit valoir local, oidc ou rien, reçu {self.auth!r}"
            )
        elif self.auth and not (self.app_database_url and self.login_database_url):
            problems.append(
                f"auth={self.auth} demande le serveur : TERRITORY_APP_DATABASE_URL (rôle de "
                "l'application) et TERRITORY_LOGIN_DATABASE_URL (rôle de connexion)"
            )
        if self.auth == "oidc" and not self.oidc_issuer:
            problems.append(
                "auth=oidc demande le fournisseur d'identité : TERRITORY_OIDC_ISSUER (et ses "
                "TERRITORY_OIDC_*)"
            )
        if problems:
            raise ValidationError(problems)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``TERRITORY_<FIELD>`` variables (e.g. ``TERRITORY_K=15``).

        Built once per distinct set of those variables (the object is frozen): the app
        asks at every rerun, a dozen times, under twenty sessions.
        """
        env = os.environ if environ is None else environ
        ours = tuple(sorted((k, v) for k, v in env.items() if k.startswith("TERRITORY_")))
        return _settings_of(ours)


@functools.lru_cache(maxsize=32)
def _settings_of(variables: tuple[tuple[str, str], ...]) -> Settings:
    """:meth:`Settings.from_env` of the ``TERRITORY_*`` ``variables`` (a failure is not kept)."""
    env = dict(variables)
    defaults = Settings()
    values: dict[str, object] = {}
    for f in dataclasses.fields(Settings):
        raw = env.get(f"TERRITORY_{f.name.upper()}")
        if raw is None:
            continue
        kind = type(getattr(defaults, f.name))
        try:
            if kind is bool:
                values[f.name] = _flag(raw)
            else:
                values[f.name] = Path(raw) if kind is type(Path()) else kind(raw)
        except ValueError as exc:
            raise ValidationError(
                f"TERRITORY_{f.name.upper()}={raw!r} n'est pas un(e) {kind.__name__} valide"
            ) from exc
    return Settings(**values)  # type: ignore[arg-type]
