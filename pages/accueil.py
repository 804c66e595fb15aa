"""Home page: choose the workspace, see the territory at a glance, go to the pages."""

from pathlib import Path

import streamlit as st

from territory import TerritoryError
from territory.store import Workspace
from territory.ui.common import cached_summary, demo_banner, settings
from territory.ui.state import Keys, init_session_state

init_session_state()
st.title("Planifier l'aller-vers")
st.caption(
    "Où et quand aller à la rencontre des jeunes et des personnes que plus aucun guichet ne voit."
)

path = st.text_input(
    "Espace de travail (fichier .gpkg)",
    value=st.session_state[Keys.WORKSPACE],
    key=Keys.W_WORKSPACE,
    help="Un fichier unique qui contient les couches du territoire ; QGIS l'ouvre directement.",
)
st.session_state[Keys.WORKSPACE] = path

try:
    ws = Workspace.open(Path(path))
    figures = cached_summary(str(ws.path), ws.version, settings().k)
except TerritoryError as exc:
    st.error(f"Impossible d'ouvrir l'espace de travail : {exc}")
    st.markdown("Pour créer le territoire fictif de démonstration :")
    st.code(f".venv/bin/territory demo --workspace {path}", language="bash")
    st.stop()

demo_banner(ws)
st.subheader(str(figures["name"]))
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

st.page_link("pages/carte.py", label="Ouvrir la carte du territoire", icon=":material/map:")
