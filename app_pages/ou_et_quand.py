"""Où et quand: zones ranked by a transparent priority score, with reasons and slots."""

import streamlit as st

from territory.analysis.priority import Weights, rank_zones
from territory.map import RETURNED_OBJECTS
from territory.map.build import zone_from_click
from territory.ui.common import (
    base_url_path,
    current_territory,
    data_key,
    demo_banner,
    workspace_or_stop,
)
from territory.ui.loaders import (
    cached_indicators,
    cached_ranking_files,
    cached_saved_weights,
    cached_score_map,
    cached_when,
    settings,
)
from territory.ui.mapview import show_map
from territory.ui.ou_et_quand import (
    open_type_choice,
    ranking_downloads,
    ranking_table,
    weights_sidebar,
    zone_kind_choice,
    zone_slots,
)
from territory.ui.state import Keys

ws = workspace_or_stop()
demo_banner(ws)
st.title("Où et quand aller ?")
territory = current_territory(ws)
key = (data_key(ws), settings().k, territory)
kind = zone_kind_choice()
chosen = weights_sidebar(ws, territory, cached_saved_weights(key[0], territory))

ranking = rank_zones(cached_indicators(*key, kind), Weights(**chosen))
for note in ranking.notes:
    st.caption(f"ℹ️ {note}")

st.subheader("Zones classées")
ranking_table(ranking)
ranking_downloads(cached_ranking_files(*key, kind, tuple(chosen.values())), workspace=ws.path.stem)

names = dict(zip(ranking.table["code"], ranking.table["nom"], strict=True))
zone_key = f"{Keys.W_PRIORITY_ZONE}_{kind}"
rendered, legend = cached_score_map(*key, kind, tuple(chosen.values()), base_url_path())
left, right = st.columns([3, 1])
with left:
    returned = show_map(
        rendered, key=f"score_map_{kind}", height=480, returned_objects=RETURNED_OBJECTS
    )
    clicked = zone_from_click(returned)
    if clicked and clicked[0] == "scores" and clicked[1] in names:
        st.session_state[zone_key] = clicked[1]  # the card below follows the click
with right:
    st.html(legend)

st.subheader("Fiche d'une zone")
zone = st.selectbox(
    "Zone",
    list(names),
    format_func=lambda c: f"{names[c]} ({c})",
    key=zone_key,
)
open_type = open_type_choice()
zone_slots(ranking, zone, cached_when(*key, kind, zone, open_type), workspace=ws.path.stem)
