"""The "Carte" page's widgets: the basemap switch and the clicked zone's figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from territory.map.build import zone_from_click
from territory.ui.loaders import cached_layers
from territory.ui.state import Keys
from territory.views import zone_details

__all__ = ["basemap_toggle", "zone_panel"]


def basemap_toggle() -> bool:
    """The OpenStreetMap background switch, in the sidebar (kept across pages)."""
    with st.sidebar:
        basemap = st.toggle(
            "Fond de carte OpenStreetMap (internet)",
            value=st.session_state[Keys.BASEMAP],
            key=Keys.W_BASEMAP,
            help="Sans internet, la carte reste lisible sur fond gris.",
        )
    st.session_state[Keys.BASEMAP] = basemap
    return basemap


def zone_panel(
    returned: Mapping[str, Any] | None,
    *,
    path: str,
    version: int,
    k: int,
    territory: str | None,
    map_token: str = "",
) -> None:
    """The figures of the zone last clicked on the map shown (kept until another click).

    ``map_token`` names the map shown (its options: basemap, territory…): a new map (the
    basemap switched) has nothing selected, so the card of a zone clicked on another map
    is not kept beside it.
    """
    clicked = zone_from_click(returned)
    if clicked:
        st.session_state[Keys.SELECTED_ZONE] = clicked
        st.session_state[Keys.SELECTED_MAP] = map_token
    elif st.session_state.get(Keys.SELECTED_MAP) != map_token:
        st.session_state[Keys.SELECTED_ZONE] = None
    selected = st.session_state[Keys.SELECTED_ZONE]
    if selected:
        details = zone_details(cached_layers(path, version, k, territory), *selected, k=k)
        st.subheader(details["title"])
        st.table(details["rows"])
    else:
        st.info("Cliquez sur une commune, un QPV ou un carreau pour voir ses chiffres.")
