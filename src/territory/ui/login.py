"""Who is using the app: the login gate before any page, the pages a user sees, action checks.

With no ``TERRITORY_AUTH`` (the laptop app) there is no login and every page but
« Administration » is shown, as before. With ``TERRITORY_AUTH=local`` the server's local
accounts log in here (:func:`territory.access.accounts.login_local`, through the login
role's connection) before any page; with ``TERRITORY_AUTH=oidc`` the OpenID Connect login
(``st.login``) gives an :class:`~territory.access.identity.Identity`, mapped to its account by
:func:`session_from_identity`.

The session's token stays in ``st.session_state``; at every rerun the user's grants are read
again on the app role (:func:`territory.access.accounts.current_access`), so a revoked grant,
a disabled account or an ended session takes effect at once. Pages ask :func:`may` before
each action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from territory import _pg
from territory._errors import TerritoryError
from territory.access import accounts, audit
from territory.access.identity import Identity
from territory.access.permissions import PAGES, Access
from territory.settings import Settings
from territory.ui.oidc import current_identity, organisation_label
from territory.ui.oidc import login_gate as oidc_login_gate
from territory.ui.oidc import logout as oidc_logout

__all__ = [
    "ACCESS",
    "LAPTOP_PAGES",
    "LOGIN_TITLE",
    "TOKEN",
    "audited",
    "downloaded",
    "gate",
    "may",
    "may_open",
    "recorder",
    "session_connection",
    "session_from_identity",
    "session_token",
    "shows",
]

LOGIN_TITLE = "Connexion"
OIDC_WITHOUT_ACCOUNTS = (
    "TERRITORY_OIDC_ISSUER demande TERRITORY_AUTH=oidc : les personnes connectées par le "
    "fournisseur d'identité n'entrent qu'avec un compte du serveur (territory users add)."
)
LAPTOP_PAGES = tuple(p for p in PAGES if p != "Administration")
"""The pages of the laptop app (no server, no accounts)."""

TOKEN = "access_session_token"
ACCESS = "access_user"
W_LOGIN_FORM = "widget_login_form"
W_LOGIN_EMAIL = "widget_login_email"
W_LOGIN_PASSWORD = "widget_login_password"
W_LOGOUT = "widget_logout"


def _settings() -> Settings:
    return Settings.from_env()  # not cached: the mode and URLs are read as deployed


def gate() -> Access | None:
    """The logged-in user (``None``: the laptop app); otherwise the login page and a stop."""
    settings = _settings()
    if settings.oidc_issuer and settings.auth != "oidc":
        # a provider open to every agent (ProConnect) without the accounts' grants would
        # let anyone in: the provider is only used with the server's accounts
        st.error(OIDC_WITHOUT_ACCOUNTS)
        st.stop()
    if not settings.auth:
        return None
    # OpenID Connect: the provider's login first (its page, and a stop until it is done)
    identity = oidc_login_gate(sidebar=False) if settings.auth == "oidc" else None
    token = st.session_state.get(TOKEN)
    if token:
        try:
            with _pg.connect(settings.app_database_url, autocommit=True) as con:
                access = accounts.current_access(con, token)
        except TerritoryError as exc:
            st.error(f"Serveur indisponible : {exc}")
            st.stop()
        if access is not None:
            st.session_state[ACCESS] = access
            _logout_button(settings, access)
            return access
        st.session_state.pop(TOKEN, None)
        st.session_state.pop(ACCESS, None)
        if identity is None:
            st.info("Votre session a pris fin : reconnectez-vous.")
    if identity is not None:  # logged in at the provider: open the account's session
        login: Callable[[], None] = lambda: _oidc_account(identity)  # noqa: E731
    else:
        login = lambda: _local_login(settings)  # noqa: E731
    # the login as the only page: no other page is listed, nor kept from a previous session
    st.navigation(
        [st.Page(login, title=LOGIN_TITLE, icon=":material/login:", url_path="connexion")],
        position="hidden",
    ).run()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def may(action: str, *, workspace: str | None = None, territory: str | None = None) -> bool:
    """Whether the user may do ``action`` in ``workspace`` (always on the laptop app)."""
    access = st.session_state.get(ACCESS)
    if not _settings().auth:
        return True
    return access is not None and access.may(action, workspace=workspace, territory=territory)


def recorder(
    action: str,
    *,
    workspace: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> Callable[[], None]:
    """A function that writes ``action`` to the server's audit log (nothing on a laptop).

    The session is captured now, so the function may run later, outside the page's run
    (a download built on click).
    """
    settings, token = _settings(), st.session_state.get(TOKEN)
    if not settings.auth or not token:
        return lambda: None

    def write() -> None:
        con = _pg.connect(settings.app_database_url)
        try:
            accounts.apply_session(con, token)
            audit.record(con, "", action, workspace=workspace, target=target, details=details)
            con.commit()
        finally:
            con.close()

    return write


def audited(
    action: str,
    *,
    workspace: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write ``action`` to the server's audit log now (nothing on the laptop app)."""
    recorder(action, workspace=workspace, target=target, details=details)()


def downloaded(
    data: bytes | str | Callable[[], bytes | str],
    *,
    workspace: str | None,
    target: str,
    action: str = "download",
) -> Callable[[], bytes | str]:
    """``data`` for a download button, the click written to the audit log first (server).

    The button calls the result only when clicked (Streamlit's deferred data), so the log
    says who took which file, not who saw the button; ``data`` itself may be deferred.
    """
    done = recorder(action, workspace=workspace, target=target)

    def serve() -> bytes | str:
        done()
        return data() if callable(data) else data

    return serve


def session_token() -> str:
    """The user's session token (empty on the laptop app, or before the login)."""
    return str(st.session_state.get(TOKEN) or "")


def may_open(workspace: str) -> bool:
    """Whether the user's grants reach the workspace named ``workspace`` (always on a laptop)."""
    access = st.session_state.get(ACCESS)
    if not _settings().auth:
        return True
    return access is not None and access.may_open(workspace)


def scoped_territories(workspace: str) -> tuple[str, ...] | None:
    """The territories of ``workspace`` the user is scoped to (None: all; always on a laptop)."""
    access: Access | None = st.session_state.get(ACCESS)
    if not _settings().auth or access is None:
        return None
    return access.territories(workspace)


def shows(page: str) -> bool:
    """Whether the navigation lists ``page`` (its title) for this user: links check it."""
    access = st.session_state.get(ACCESS)
    if not _settings().auth:
        return page in LAPTOP_PAGES
    return access is not None and page in access.pages()


@contextmanager
def session_connection() -> Iterator[Any]:
    """A transaction on the app role in the user's session (committed at the end)."""
    settings = _settings()
    con = _pg.connect(settings.app_database_url)
    try:
        accounts.apply_session(con, st.session_state.get(TOKEN, ""))
        yield con
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()


def session_from_identity(identity: Identity) -> None:
    """Open the session of an OpenID Connect identity (raises a French refusal)."""
    settings = _settings()
    with _pg.connect(settings.login_database_url, autocommit=True) as con:
        session = accounts.login_identity(con, identity)
    st.session_state[TOKEN] = session.token
    st.session_state[ACCESS] = session.access


def _local_login(settings: Settings) -> None:
    st.title(LOGIN_TITLE)
    st.caption("Connectez-vous avec le compte que l'administration du programme vous a ouvert.")
    with st.form(W_LOGIN_FORM):
        email = st.text_input("Adresse e-mail", key=W_LOGIN_EMAIL)
        password = st.text_input("Mot de passe", type="password", key=W_LOGIN_PASSWORD)
        sent = st.form_submit_button("Se connecter", type="primary")
    if not sent:
        return
    if not email.strip() or not password:
        st.error("Indiquez votre adresse e-mail et votre mot de passe.")
        return
    try:
        with _pg.connect(settings.login_database_url, autocommit=True) as con:
            session = accounts.login_local(con, email, password)
    except TerritoryError as exc:
        st.error(str(exc))
        return
    st.session_state[TOKEN] = session.token
    st.session_state[ACCESS] = session.access
    st.rerun()


def _oidc_account(identity: Identity) -> None:
    """The provider's identity (userinfo step done) mapped to its account, or refused."""
    st.title(LOGIN_TITLE)
    try:
        session_from_identity(identity)
    except TerritoryError as exc:
        st.error(str(exc))
        if st.button("Se déconnecter"):
            oidc_logout()
        return
    st.rerun()


def _logout_button(settings: Settings, access: Access) -> None:
    with st.sidebar:
        identity = current_identity()  # OpenID Connect: the name and SIRET from userinfo
        if identity is not None and identity.name:
            st.markdown(f"**{identity.name}**")
        if identity is not None and identity.organisation:
            st.caption(organisation_label(identity.organisation))
        st.caption(f"Connecté·e : {access.email}")
        if st.button("Se déconnecter", key=W_LOGOUT):
            try:
                with _pg.connect(settings.app_database_url, autocommit=True) as con:
                    accounts.end_session(con, st.session_state.get(TOKEN, ""))
            except TerritoryError:
                pass  # the token is dropped below either way
            st.session_state.pop(TOKEN, None)
            st.session_state.pop(ACCESS, None)
            if settings.auth == "oidc":
                oidc_logout()  # never st.rerun() after st.logout(): its redirect would be lost
            st.rerun()
