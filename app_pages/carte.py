"""Map page: QPV, communes by density class, protected contact density, partners, transit."""

import streamlit as st
from streamlit_folium import st_folium

from territory.map.build import RETURNED_OBJECTS, zone_from_click
from territory.territories import WHOLE_WORKSPACE
from territory.ui.common import (
    base_url_path,
    cached_layers,
    cached_legend,
    cached_map,
    current_territory,
    demo_banner,
    settings,
    workspace_or_stop,
)
from territory.ui.state import Keys
from territory.views import zone_details

ws = workspace_or_stop()
demo_banner(ws)
st.title("Carte du territoire")
k = settings().k
territory = current_territory(ws)
key = (str(ws.path), ws.version, k)
st.caption(f"Territoire : **{territory or WHOLE_WORKSPACE}**")

with st.sidebar:
    basemap = st.toggle(
        "Fond de carte OpenStreetMap (internet)",
        value=st.session_state[Keys.BASEMAP],
        key=Keys.W_BASEMAP,
        help="Sans internet, la carte reste lisible sur fond gris.",
    )
    st.session_state[Keys.BASEMAP] = basemap


@st.fragment
def map_and_panel() -> None:
    """The map and the figures of the clicked zone (a click reruns only this fragment)."""
    left, right = st.columns([3, 1])
    with right:
        panel = st.container()  # the clicked zone's figures, once the map has answered
        # The legend goes out before the map: sent with it, its element's script (loaded
        # on first use) held the map back by about 0.3 s.
        st.html(cached_legend(*key, territory))
    with left:
        fmap = cached_map(*key, basemap, base_url_path(), territory)
        returned = st_folium(
            fmap,
            key="territory_map",
            height=620,
            use_container_width=True,
            returned_objects=list(RETURNED_OBJECTS),
        )
    with panel:
        clicked = zone_from_click(returned)
        if clicked:
            st.session_state[Keys.SELECTED_ZONE] = clicked
        selected = st.session_state[Keys.SELECTED_ZONE]
        if selected:
            details = zone_details(cached_layers(*key, territory), *selected, k=k)
            st.subheader(details["title"])
            st.table(details["rows"])
        else:
            st.info("Cliquez sur une commune, un QPV ou un carreau pour voir ses chiffres.")


map_and_panel()
