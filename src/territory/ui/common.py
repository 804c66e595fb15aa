"""What every page shares.

The workspace (or a way home), the demo banner, the territory choice, the URL prefix and the
one-shot success message after a rerun.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from territory import TerritoryError
from territory._errors import WorkspaceError
from territory._fr import french_csv
from territory.cachekeys import DataKey
from territory.cachekeys import data_key as key_of
from territory.store import Workspace, server_name, session_address, workspace_in
from territory.territories import WHOLE_WORKSPACE
from territory.ui.loaders import cached_territory_names, settings
from territory.ui.login import ACCESS, downloaded, may_open, session_token
from territory.ui.state import Keys

__all__ = [
    "HOME",
    "base_url_path",
    "current_territory",
    "data_key",
    "demo_banner",
    "flash",
    "lazy_panel",
    "open_workspace",
    "show_flash",
    "table_download",
    "territory_selector",
    "workspace_or_stop",
]

HOME = "app_pages/accueil.py"


def open_workspace(path: str | Path) -> Workspace:
    """Open ``path`` if it is a workspace of ``Settings.workspaces_dir``; the app's only door.

    On a server with accounts (``TERRITORY_AUTH`` and the workspaces on the server), the
    workspace of that name, reached as the app role in the user's session: the database
    filters every row by the user's territories (:mod:`territory._pgrls`); the pages then
    reopen it by its ``ws.key``, that same session's address, never the owner's.

    Raises :class:`~territory.WorkspaceError` (one French line) for a file outside the
    folder (:func:`territory.store.workspace_in`), missing or damaged.
    """
    if settings().auth and settings().database_url:  # the server with accounts: as the app
        # role, in the user's session (TERRITORY_DATABASE_URL only says where they are)
        name = server_name(path)
        if not may_open(name):
            raise WorkspaceError(
                f"vous n'avez aucun droit sur l'espace de travail {name} : "
                "demandez-le à un administrateur"
            )
        return Workspace.open(session_address(settings().app_database_url, name, session_token()))
    if settings().database_url:  # a workspace of the server, by its name (no accounts)
        return Workspace.open(server_name(path))
    workspace_in(settings().workspaces_dir, path)
    if not may_open(Path(path).stem):  # on a server: a workspace the user's grants reach
        raise WorkspaceError(
            f"vous n'avez aucun droit sur l'espace de travail {Path(path).stem} : "
            "demandez-le à un administrateur"
        )
    return Workspace.open(path)  # as given: its messages name no resolved server path


def workspace_or_stop() -> Workspace:
    """The selected workspace, or a French message with a link home and ``st.stop()``."""
    path = st.session_state.get(Keys.WORKSPACE)
    if not path:
        st.info("Aucun espace de travail choisi.")
        st.page_link(HOME, label="Choisir un espace de travail", icon=":material/home:")
        st.stop()
    try:
        ws = open_workspace(path)
        ws.version  # noqa: B018 - reads the file: a damaged one fails here, not later
    except TerritoryError as exc:
        st.error(f"Impossible d'ouvrir l'espace de travail : {exc}")
        st.page_link(HOME, label="Choisir ou créer un espace de travail", icon=":material/home:")
        st.stop()
    return ws


def data_key(ws: Workspace) -> DataKey:
    """The key of the shared caches for this session's reads of ``ws`` (:mod:`territory.cachekeys`).

    Its data version is read now, and the scope from the user's grants as read again at
    this rerun (:func:`territory.ui.login.gate`): the laptop app's reader sees everything.
    """
    return key_of(ws, st.session_state.get(ACCESS))


def demo_banner(ws: Workspace) -> None:
    """A visible banner on every page that shows the fictional demo territory."""
    if "fictif" in ws.name.lower():
        st.warning(
            f"**{ws.name}** : territoire **fictif** de démonstration — communes, QPV, "
            "partenaires et contacts sont inventés.",
            icon=":material/science:",
        )


def current_territory(ws: Workspace) -> str | None:
    """The territory chosen on the home page, or None (whole workspace).

    A name the workspace does not define (another workspace was chosen, the territory
    was deleted) falls back to the whole workspace.
    """
    name = st.session_state.get(Keys.TERRITORY)
    if name is not None and name not in cached_territory_names(data_key(ws)):
        st.session_state[Keys.TERRITORY] = name = None
    return name


def territory_selector(ws: Workspace) -> str | None:
    """The "Territoire" selectbox (only when territories are defined); returns the choice."""
    names = cached_territory_names(data_key(ws))
    current = current_territory(ws)
    if not names:
        return None
    options = [WHOLE_WORKSPACE, *names]
    picked = st.selectbox(
        "Territoire",
        options,
        index=options.index(current or WHOLE_WORKSPACE),
        key=Keys.W_TERRITORY,
        help="Territoires du programme définis sur la page Données ; "
        "la carte et les chiffres s'y limitent.",
    )
    chosen = None if picked == WHOLE_WORKSPACE else picked
    if chosen != current:
        st.session_state[Keys.SELECTED_ZONE] = None  # a clicked zone may be outside it
    st.session_state[Keys.TERRITORY] = chosen
    return chosen


def base_url_path() -> str:
    """The app's URL prefix ("" or "/prefix"), for the locally served Leaflet files.

    ``Settings.base_url_path`` (``TERRITORY_BASE_URL_PATH``) when set, else Streamlit's
    ``server.baseUrlPath``.
    """
    configured = settings().base_url_path or st.get_option("server.baseUrlPath") or ""
    prefix = configured.strip("/")
    return f"/{prefix}" if prefix else ""


def flash(message: str, *, reset: Mapping[str, object] | None = None, rerun: bool = True) -> None:
    """Rerun the page now and show ``message`` once at :func:`show_flash`.

    ``reset`` gives widget keys and the value they start from on that rerun (a form that
    succeeded starts empty again; one that failed keeps what the user typed). Values are
    set, not deleted: a deleted key would leave the browser showing the old text.
    ``rerun`` false: from a widget's callback, which runs before the page's run anyway.
    """
    st.session_state[Keys.FLASH] = (message, dict(reset or {}))
    if rerun:
        st.rerun()


def lazy_panel(label: str, *, icon: str, key: str) -> Any:
    """An expander whose content runs only while it is open: the expander, or None closed.

    Streamlit runs a plain expander's content at every rerun, open or not; this one reruns
    the page when opened or closed (``on_change="rerun"``), and the caller fills it only
    when open (``ui.state.LAZY_PANELS`` lists the keys).
    """
    panel = st.expander(label, icon=icon, key=key, on_change="rerun")
    return panel if panel.open else None


def show_flash() -> None:
    """Show (once) the message left by :func:`flash`; call it before the widgets.

    At the top of the page, and as a toast: a button low on the page reran it, and the
    browser keeps the scroll position.
    """
    flashed = st.session_state.get(Keys.FLASH)
    if flashed:
        message, reset = flashed
        st.session_state[Keys.FLASH] = None
        for key, value in reset.items():
            st.session_state[key] = value
        st.success(message, icon=":material/check_circle:")
        st.toast(message, icon=":material/check_circle:")  # seen wherever the page is scrolled


def table_download(
    label: str,
    table: pd.DataFrame,
    *,
    file_name: str,
    key: str,
    workspace: str | None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """A button that downloads ``table`` as a French CSV (``;``, decimal comma, BOM).

    On the server, the click is a line of the audit log (``workspace``, the file's name).

    Streamlit's own table download is switched off (``client.disableDataExport``): its
    ``,``-separated CSV opens in one column in a French spreadsheet. ``headers`` renames
    columns (:func:`~territory._fr.french_csv`).
    """
    st.download_button(
        label,
        downloaded(
            lambda: french_csv(table, headers=headers), workspace=workspace, target=file_name
        ),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
        on_click="ignore",
    )
