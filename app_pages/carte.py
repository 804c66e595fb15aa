"""Map page: QPV, communes by density class, protected contact density, partners, transit."""

import streamlit as st

from territory.map import RETURNED_OBJECTS
from territory.territories import WHOLE_WORKSPACE
from territory.ui.carte import access_choice, basemap_toggle, hotspots_toggle, zone_panel
from territory.ui.common import (
    base_url_path,
    current_territory,
    data_key,
    demo_banner,
    workspace_or_stop,
)
from territory.ui.loaders import cached_legend, cached_map, hotspots_unavailable, settings
from territory.ui.mapview import show_map

ws = workspace_or_stop()
demo_banner(ws)
st.title("Carte du territoire")
k = settings().k
territory = current_territory(ws)
key = (data_key(ws), k)
st.caption(f"Territoire : **{territory or WHOLE_WORKSPACE}**")
basemap = basemap_toggle()
hotspots = hotspots_toggle()
access = access_choice(ws)
if hotspots and (reason := hotspots_unavailable(*key, territory, None)):
    st.caption(reason)


@st.fragment
def map_and_panel() -> None:
    """The map and the figures of the clicked zone (a click reruns only this fragment)."""
    left, right = st.columns([3, 1])
    with right:
        panel = st.container()  # the clicked zone's figures, once the map has answered
        # The legend goes out before the map: sent with it, its element's script (loaded
        # on first use) held the map back by about 0.3 s.
        st.html(cached_legend(*key, territory, hotspots=hotspots, access=access))
    with left:
        returned = show_map(
            cached_map(*key, basemap, base_url_path(), territory, hotspots=hotspots, access=access),
            key="territory_map",
            height=620,
            returned_objects=RETURNED_OBJECTS,
        )
    with panel:
        zone_panel(
            returned,
            key=key[0],
            k=k,
            territory=territory,
            map_token=repr((*key, basemap, territory, hotspots, access)),
        )


map_and_panel()
