"""The "Accueil" page's widgets: the workspace choice and the territory's key figures."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from territory import Settings
from territory._fr import format_number
from territory.ui.state import Keys

__all__ = ["OTHER", "key_figures", "known_workspaces", "workspace_picker"]

OTHER = "Autre fichier…"
"""The workspace choice that asks for a path."""


def known_workspaces(current: str, folder: str = "workspaces") -> list[str]:
    """The current workspace first, then the ``.gpkg`` files of ``folder``."""
    found = sorted(str(p) for p in Path(folder).glob("*.gpkg"))
    return list(dict.fromkeys([current, *found])) if current else found


def workspace_picker() -> str:
    """The workspace chosen (a known file or a typed path), kept in the session."""
    choices = [*known_workspaces(st.session_state[Keys.WORKSPACE]), OTHER]
    picked = st.selectbox(
        "Espace de travail",
        choices,
        key=Keys.W_WORKSPACE_CHOICE,
        help="Un fichier unique (.gpkg) qui contient les couches du territoire ; "
        "QGIS l'ouvre directement.",
    )
    if picked == OTHER:
        picked = st.text_input("Chemin du fichier .gpkg", key=Keys.W_WORKSPACE)
    st.session_state[Keys.WORKSPACE] = picked
    return str(picked)


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
