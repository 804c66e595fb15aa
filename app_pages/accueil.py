"""Home page: choose the workspace, see the territory at a glance, go to the pages."""

import streamlit as st

from territory import TerritoryError
from territory.ui.accueil import demo_target, key_figures, workspace_picker
from territory.ui.common import data_key, demo_banner, open_workspace, territory_selector
from territory.ui.loaders import cached_info, cached_summary, settings
from territory.ui.login import shows
from territory.views import layers_table

st.title("Planifier l'aller-vers")
st.caption(
    "Où et quand aller à la rencontre des jeunes et des personnes que plus aucun guichet ne voit."
)

picked = workspace_picker()
try:
    ws = open_workspace(picked)
    territory = territory_selector(ws)
    figures = cached_summary(data_key(ws), settings().k, territory)
except TerritoryError as exc:
    st.error(f"Impossible d'ouvrir l'espace de travail : {exc}")
    st.markdown("Pour créer le territoire fictif de démonstration :")
    st.code(f".venv/bin/territory demo --workspace {demo_target(picked)}", language="bash")
    st.stop()

demo_banner(ws)
st.subheader(" — ".join(str(n) for n in (figures["name"], figures["territory"]) if n))
key_figures(figures, settings=settings())

if shows("Carte"):  # a link only to a page of the user's navigation
    st.page_link("app_pages/carte.py", label="Ouvrir la carte du territoire", icon=":material/map:")
if shows("Données"):
    st.page_link(
        "app_pages/donnees.py",
        label="Importer des données, définir des territoires",
        icon=":material/database:",
    )

with st.expander("Couches de l'espace de travail : sources et millésimes"):
    layers = cached_info(ws.key, ws.version, settings().k)["layers"]
    st.dataframe(layers_table(layers), hide_index=True, width="stretch")
