"""Workspace opening, cached loaders and the demo banner, shared by every page."""

from __future__ import annotations

from pathlib import Path

import folium
import streamlit as st

from territory import Settings, TerritoryError
from territory.maps import MapLayers, territory_map
from territory.store import Workspace
from territory.ui.state import Keys, init_session_state
from territory.views import info, map_layers, summary

HOME = "pages/accueil.py"


@st.cache_resource
def settings() -> Settings:
    """Settings read once from the environment."""
    return Settings.from_env()


def workspace_or_stop() -> Workspace:
    """The selected workspace, or a French message with a link home and ``st.stop()``."""
    # A deep link opened first after the server starts runs the page without app.py
    # (Streamlit's pages/ directory fallback): initialise the state here too.
    init_session_state()
    path = st.session_state.get(Keys.WORKSPACE)
    if not path:
        st.info("Aucun espace de travail choisi.")
        st.page_link(HOME, label="Choisir un espace de travail", icon=":material/home:")
        st.stop()
    try:
        ws = Workspace.open(Path(path))
        ws.version  # noqa: B018 - reads the file: a damaged one fails here, not later
    except TerritoryError as exc:
        st.error(f"Impossible d'ouvrir l'espace de travail : {exc}")
        st.page_link(HOME, label="Choisir ou créer un espace de travail", icon=":material/home:")
        st.stop()
    return ws


def demo_banner(ws: Workspace) -> None:
    """A visible banner on every page that shows the fictional demo territory."""
    if "fictif" in ws.name.lower():
        st.warning(
            f"**{ws.name}** : territoire **fictif** de démonstration — communes, QPV, "
            "partenaires et contacts sont inventés.",
            icon=":material/science:",
        )


@st.cache_data(max_entries=16, show_spinner="Chargement des couches…")
def cached_summary(path: str, version: int, k: int) -> dict[str, object]:
    """Home-page figures, keyed on the workspace file, its version and k."""
    return summary(Workspace.open(path), settings=settings())


@st.cache_data(max_entries=16)
def cached_info(path: str, version: int, k: int) -> dict[str, object]:
    """Layers with their sources and vintages (:func:`territory.views.info`)."""
    return info(Workspace.open(path), settings=settings())


def known_workspaces(current: str, folder: str = "workspaces") -> list[str]:
    """The current workspace first, then the ``.gpkg`` files of ``folder``."""
    found = sorted(str(p) for p in Path(folder).glob("*.gpkg"))
    return list(dict.fromkeys([current, *found])) if current else found


@st.cache_data(max_entries=8, show_spinner="Chargement des couches…")
def cached_layers(path: str, version: int, k: int) -> MapLayers:
    """Map layers (contact density already protected), keyed like :func:`cached_summary`."""
    return map_layers(Workspace.open(path), settings=settings())


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def cached_map(path: str, version: int, k: int, basemap: bool, base_url: str) -> folium.Map:
    """The folium map, built once per workspace version and option set."""
    layers = cached_layers(path, version, k)
    return territory_map(
        layers,
        asset_base=f"{base_url}/app/static",
        basemap="osm" if basemap else None,
        k=k,
        stop_buffer_m=settings().stop_buffer_m,
    )


def base_url_path() -> str:
    """``server.baseUrlPath`` as a prefix ("" or "/prefix")."""
    prefix = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{prefix}" if prefix else ""
