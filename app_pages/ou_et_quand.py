"""Où et quand: zones ranked by a transparent priority score, with reasons and slots."""

import streamlit as st
from streamlit_folium import st_folium

from territory.analysis.indicators import ZONE_KIND_LABELS
from territory.analysis.priority import GROUP_LABELS, GROUPS, Weights, rank_zones, save_weights
from territory.map.build import RETURNED_OBJECTS, legend_html, zone_from_click
from territory.ui.common import (
    base_url_path,
    cached_indicators,
    cached_saved_weights,
    cached_score_map,
    cached_when,
    current_territory,
    demo_banner,
    ranking_downloads,
    settings,
    slot_heatmap,
    workspace_or_stop,
    zone_card,
    zone_indicator_table,
)
from territory.ui.state import Keys

ws = workspace_or_stop()
demo_banner(ws)
st.title("Où et quand aller ?")
territory = current_territory(ws)
key = (str(ws.path), ws.version, settings().k, territory)
kind = (
    st.segmented_control(
        "Zones",
        list(ZONE_KIND_LABELS),
        format_func=ZONE_KIND_LABELS.get,
        default="commune",
        key=Keys.W_PRIORITY_KIND,
    )
    or "commune"
)

saved = cached_saved_weights(str(ws.path), ws.version, territory)
with st.sidebar:
    st.markdown("**Poids du score de priorité**")
    chosen = {
        g: st.slider(
            GROUP_LABELS[g],
            0.0,
            3.0,
            float(getattr(saved, g)),
            0.5,
            key=f"{Keys.W_PRIORITY_WEIGHT}_{g}",
        )
        for g in GROUPS
    }
    if st.button("Enregistrer ces poids", icon=":material/save:", key=Keys.W_PRIORITY_SAVE):
        save_weights(ws, Weights(**chosen), territory=territory)
        st.toast("Poids enregistrés pour ce territoire.")

indicators = cached_indicators(*key, kind)
ranking = rank_zones(indicators, Weights(**chosen))
for note in ranking.notes:
    st.caption(f"ℹ️ {note}")

st.subheader("Zones classées")
columns = ["rang", "nom", "code", "score", *GROUPS, "pourquoi"]
st.dataframe(
    ranking.table[columns],
    hide_index=True,
    width="stretch",
    height=320,
    column_config={
        "score": st.column_config.ProgressColumn(
            "Score", min_value=0, max_value=100, format="%.0f"
        ),
        **{g: st.column_config.NumberColumn(GROUP_LABELS[g], format="%.0f") for g in GROUPS},
        "pourquoi": st.column_config.TextColumn("Pourquoi", width="large"),
    },
)
ranking_downloads(ranking)

names = dict(zip(ranking.table["code"], ranking.table["nom"], strict=True))
zone_key = f"{Keys.W_PRIORITY_ZONE}_{kind}"
fmap, drawn = cached_score_map(*key, kind, tuple(chosen.values()), base_url_path())
left, right = st.columns([3, 1])
with left:
    clicked = zone_from_click(
        st_folium(fmap, key=f"score_map_{kind}", height=480, use_container_width=True,
                  returned_objects=list(RETURNED_OBJECTS))
    )  # fmt: skip
    if clicked and clicked[0] == "scores" and clicked[1] in names:
        st.session_state[zone_key] = clicked[1]  # the card below follows the click
with right:
    st.html(legend_html(drawn, k=key[2]))

st.subheader("Fiche d'une zone")
zone = st.selectbox(
    "Zone",
    list(names),
    format_func=lambda c: f"{names[c]} ({c})",
    key=zone_key,
)
open_types = {
    "": "Tous les créneaux",
    "ML": "Mission locale ouverte",
    "FT": "France Travail ouvert",
}
open_type = st.radio(
    "Créneaux",
    list(open_types),
    format_func=open_types.get,
    horizontal=True,
    key=Keys.W_PRIORITY_OPEN,
)
result = cached_when(*key, kind, zone, open_type or None)
left, right = st.columns(2)
with left:
    zone_card(ranking, zone)
with right:
    st.markdown(f"**Créneaux recommandés** — semaine du {result.week_start:%d/%m/%Y}")
    for phrase in result.slots["phrase"] if len(result.slots) else ["aucun créneau retenu"]:
        st.markdown(f"- {phrase}")
    for note in result.notes:
        st.caption(f"ℹ️ {note}")
slot_heatmap(result.profile)
with st.expander("Indicateurs de la zone (unités, sources)", icon=":material/table:"):
    zone_indicator_table(ranking, zone)
