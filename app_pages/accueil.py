"""Home page: choose the workspace, see the territory at a glance, go to the pages."""

from pathlib import Path

import streamlit as st

from territory import TerritoryError
from territory.store import Workspace
from territory.ui.common import (
    cached_info,
    cached_summary,
    demo_banner,
    known_workspaces,
    settings,
    territory_selector,
)
from territory.ui.state import Keys
from territory.views import layers_table

st.title("Planifier l'aller-vers")
st.caption(
    "Où et quand aller à la rencontre des jeunes et des personnes que plus aucun guichet ne voit."
)

OTHER = "Autre fichier…"
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

try:
    ws = Workspace.open(Path(picked))
    territory = territory_selector(ws)
    figures = cached_summary(str(ws.path), ws.version, settings().k, territory)
except TerritoryError as exc:
    st.error(f"Impossible d'ouvrir l'espace de travail : {exc}")
    st.markdown("Pour créer le territoire fictif de démonstration :")
    st.code(
        f".venv/bin/territory demo --workspace {picked or 'workspaces/demo.gpkg'}", language="bash"
    )
    st.stop()

demo_banner(ws)
st.subheader(" — ".join(str(n) for n in (figures["name"], figures["territory"]) if n))
population = figures["population"]
cols = st.columns(6)
cols[0].metric("Communes", f"{figures['communes']:,}".replace(",", "\u202f"))
cols[1].metric("QPV", figures["qpv"])
cols[2].metric(
    "Population", "—" if population is None else f"{population:,}".replace(",", "\u202f")
)
cols[3].metric("Partenaires", figures["partners"])
cols[4].metric("Arrêts de transport", figures["stops"])
cols[5].metric(
    "Contacts (protégés)",
    str(figures["contacts"]),
    help=f"Total arrondi à {settings().rounding} ; jamais de nombre entre 1 et {settings().k - 1}.",
)

st.page_link("app_pages/carte.py", label="Ouvrir la carte du territoire", icon=":material/map:")
st.page_link(
    "app_pages/donnees.py",
    label="Importer des données, définir des territoires",
    icon=":material/database:",
)

with st.expander("Couches de l'espace de travail : sources et millésimes"):
    layers = cached_info(str(ws.path), ws.version, settings().k)["layers"]
    st.dataframe(layers_table(layers), hide_index=True, width="stretch")
