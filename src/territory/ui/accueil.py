"""The "Accueil" page's widgets: the workspace choice and the territory's key figures."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from territory import Settings, WorkspaceError
from territory._fr import format_number
from territory.store import server_name, server_workspaces, workspace_in, workspaces_in
from territory.ui.loaders import settings
from territory.ui.login import may_open
from territory.ui.state import Keys

__all__ = ["demo_target", "key_figures", "known_workspaces", "workspace_picker"]


def demo_target(picked: str) -> str:
    """Where the home page suggests building the demo: the chosen file if allowed."""
    folder = settings().workspaces_dir
    try:
        workspace_in(folder, picked)
    except WorkspaceError:
        return str(Path(folder) / "demo.gpkg")
    return picked


def known_workspaces(current: str, folder: str | Path) -> list[str]:
    """The current workspace first (when inside ``folder``), then the ``.gpkg`` of ``folder``.

    Only files that :func:`territory.store.workspace_in` accepts: the app offers no other
    file of the server, and no free path to type.
    """
    on_server = settings().auth and settings().database_url
    mine_only = settings().app_database_url if on_server else ""  # the app role's
    if (server := server_workspaces(mine_only)) is not None:  # the server's workspaces
        names = [name for name, _ in server if not mine_only or may_open(name)]
        mine = server_name(current) if current else ""
        return list(dict.fromkeys([mine, *names])) if mine in names else names
    found = [str(p) for p in workspaces_in(folder)]
    try:
        workspace_in(folder, current)
    except WorkspaceError:
        return found
    return list(dict.fromkeys([current, *found])) if current else found


def workspace_picker() -> str:
    """The workspace chosen among :func:`known_workspaces`, kept in the session.

    A session's workspace outside the folder (``TERRITORY_WORKSPACE`` elsewhere) is not
    offered: it stays chosen until another is picked, and opening it gives the French
    refusal of :func:`territory.ui.common.open_workspace`.
    """
    folder = settings().workspaces_dir
    current = str(st.session_state[Keys.WORKSPACE] or "")
    choices = known_workspaces(current, folder)
    if settings().database_url:
        return _server_picker(current, choices)
    if not choices:
        st.info(
            f"Aucun espace de travail dans le dossier « {folder} » (réglage "
            "TERRITORY_WORKSPACES_DIR) : l'application n'ouvre que les fichiers .gpkg de ce "
            "dossier."
        )
        return current
    if current not in choices:
        return current
    picked = st.selectbox(
        "Espace de travail",
        choices,
        index=choices.index(current),
        format_func=lambda p: _shown(p, folder),
        key=Keys.W_WORKSPACE_CHOICE,
        help=f"Les fichiers .gpkg du dossier « {folder} » : chacun contient les couches "
        "d'un territoire ; QGIS l'ouvre directement.",
    )
    st.session_state[Keys.WORKSPACE] = picked
    return str(picked)


def _server_picker(current: str, choices: list[str]) -> str:
    """The choice among the server's workspaces (``TERRITORY_DATABASE_URL``)."""
    if not choices:
        st.info(
            "Aucun espace de travail sur le serveur : « territory db import ESPACE.gpkg » "
            "y copie un fichier."
        )
        return current
    mine = server_name(current) if current else ""
    picked = st.selectbox(
        "Espace de travail",
        choices,
        index=choices.index(mine) if mine in choices else 0,
        key=Keys.W_WORKSPACE_CHOICE,
        help="Les espaces de travail du serveur partagé (PostgreSQL + PostGIS).",
    )
    st.session_state[Keys.WORKSPACE] = picked
    return str(picked)


def _shown(path: str, folder: str | Path) -> str:
    """The file's path inside the folder (never the server's absolute path)."""
    try:
        return str(Path(path).resolve().relative_to(Path(folder).resolve()))
    except ValueError:
        return Path(path).name


def key_figures(figures: dict[str, object], *, settings: Settings) -> None:
    """Communes, QPV, population, partners, stops and protected contacts, as metrics."""
    population = figures["population"]
    cols = st.columns(6)
    cols[0].metric("Communes", format_number(figures["communes"]))  # type: ignore[arg-type]
    cols[1].metric("QPV", figures["qpv"])  # type: ignore[arg-type]
    cols[2].metric(
        "Population",
        "—" if population is None else format_number(population),  # type: ignore[arg-type]
    )
    cols[3].metric("Partenaires", figures["partners"])  # type: ignore[arg-type]
    cols[4].metric("Arrêts de transport", figures["stops"])  # type: ignore[arg-type]
    cols[5].metric(
        "Contacts (protégés)",
        str(figures["contacts"]),
        help=f"Total arrondi à {settings.rounding} ; jamais de nombre entre 1 et {settings.k - 1}.",
    )
