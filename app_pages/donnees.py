"""Data page: layers with sources and vintages, imports with their reports, territories, sharing."""

from datetime import date

import streamlit as st

from territory.ui.common import demo_banner, show_flash, workspace_or_stop
from territory.ui.donnees import (
    batches_section,
    fetch_form,
    import_form,
    purge_section,
    share_section,
    territories_section,
)
from territory.ui.loaders import cached_info, settings
from territory.ui.login import may
from territory.views import layers_table

ws = workspace_or_stop()
demo_banner(ws)
st.title("Données du territoire")
show_flash()

st.subheader("Couches de l'espace de travail")
layers_box = st.container()  # filled at the end: an import below changes the layers

if may("import", workspace=ws.path.stem):  # a team lead's; the others see the layers
    st.subheader("Importer un fichier")
    import_form(ws, settings=settings())
    fetch_form(ws, settings=settings())

    st.subheader("Lots d'import")
    st.caption(
        "Chaque import, retour de tournée, purge et annulation, du plus récent au plus ancien "
        "(heure de Paris). Annuler un lot efface ses contacts, ou remet les couches comme "
        "avant lui."
    )
    batches_section(ws)

    st.subheader("Territoires du programme")
    st.caption("Des communes, EPCI ou QPV ; l'accueil et la carte peuvent s'y limiter.")
    territories_section(ws)

if may("purge", workspace=ws.path.stem):  # an admin's on the server; anyone's on a laptop
    st.subheader("Purger les contacts anciens")
    st.caption(
        f"Conservation : {settings().retention_months} mois par défaut "
        "(TERRITORY_RETENTION_MONTHS). La purge est inscrite dans les lots d'import."
    )
    purge_section(ws, settings=settings(), today=date.today())

if may("export_package", workspace=ws.path.stem):
    st.subheader("Partager")
    share_section(ws, settings=settings())

with layers_box:
    layers = cached_info(ws.key, ws.version, settings().k)["layers"]
    st.dataframe(layers_table(layers), hide_index=True, width="stretch")
