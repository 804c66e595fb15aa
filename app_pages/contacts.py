"""Contacts page: import a team's export, then see its protected density.

The import shows a preview, the column mapping and the report; the density shows one filter
at a time (a quarter or a category).
"""

import streamlit as st

from territory.map import RETURNED_OBJECTS
from territory.ui.carte import hotspots_toggle
from territory.ui.common import (
    base_url_path,
    current_territory,
    data_key,
    demo_banner,
    workspace_or_stop,
)
from territory.ui.contacts import contacts_upload, density_filter
from territory.ui.loaders import (
    cached_breakdown_choices,
    cached_legend,
    cached_map,
    hotspots_unavailable,
    settings,
)
from territory.ui.login import may
from territory.ui.mapview import show_map

ws = workspace_or_stop()
demo_banner(ws)
st.title("Contacts de l'équipe")
k = settings().k
st.caption(
    "Les contacts sont anonymisés dès l'import : carreau de 200 m, date et heure, "
    "identifiant chiffré. Aucun chiffre entre 1 et "
    f"{k - 1} n'est jamais affiché ni exporté."
)

if may("import", workspace=ws.path.stem):
    st.subheader("Importer un export de contacts")
    contacts_upload(ws, settings=settings())

st.subheader("Densité protégée")
key = (data_key(ws), k)
breakdown = density_filter(cached_breakdown_choices(key[0]))
territory = current_territory(ws)
hotspots = hotspots_toggle()  # on the filtered density too: that quarter's or category's


@st.fragment
def density_map() -> None:
    """The protected density for the chosen filter (panning reruns only this fragment)."""
    if hotspots and (reason := hotspots_unavailable(*key, territory, breakdown)):
        st.caption(reason)
    rendered = cached_map(
        *key, False, base_url_path(), territory, breakdown, contacts_only=True, hotspots=hotspots
    )
    show_map(
        rendered,
        key="contacts_map",
        height=560,
        returned_objects=RETURNED_OBJECTS,
    )
    st.html(cached_legend(*key, territory, breakdown, contacts_only=True, hotspots=hotspots))


density_map()
