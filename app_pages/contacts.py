"""Contacts page: import a team's export (preview, column mapping, report), then the
protected density with one filter at a time (a quarter or a category)."""

import streamlit as st
from streamlit_folium import st_folium

from territory import TerritoryError
from territory.io.contacts import FIELD_LABELS
from territory.map.build import RETURNED_OBJECTS, legend_html
from territory.ui.common import (
    base_url_path,
    cached_breakdown_choices,
    cached_map,
    contact_layers,
    current_territory,
    demo_banner,
    import_contacts_upload,
    preview_upload,
    settings,
    show_contacts_import,
    workspace_or_stop,
)
from territory.ui.state import Keys
from territory.views import BREAKDOWNS

NONE = "—"
ws = workspace_or_stop()
demo_banner(ws)
st.title("Contacts de l'équipe")
k = settings().k
st.caption(
    "Les contacts sont anonymisés dès l'import : carreau de 200 m, date et heure, "
    "identifiant chiffré. Aucun chiffre entre 1 et "
    f"{k - 1} n'est jamais affiché ni exporté."
)

st.subheader("Importer un export de contacts")
upload = st.file_uploader(
    "Fichier CSV ou XLSX", type=["csv", "txt", "xlsx"], key=Keys.W_CONTACTS_FILE
)
if upload is not None:
    try:
        preview = preview_upload(upload.name, upload.getvalue())
    except TerritoryError as exc:
        st.error(f"Fichier illisible : {exc}")
        st.stop()
    st.caption("Aperçu des premières lignes (rien n'est encore enregistré).")
    st.dataframe(preview.rows, hide_index=True, width="stretch")
    with st.form(Keys.W_CONTACTS_FORM):
        st.markdown("**Colonnes** : reconnues automatiquement, modifiables.")
        columns = [NONE, *preview.rows.columns]
        mapping = {}
        for box, (field, label) in zip(st.columns(3) * 5, FIELD_LABELS.items(), strict=False):
            found = preview.found.get(field)
            choice = box.selectbox(
                label,
                columns,
                index=columns.index(found) if found in columns else 0,
                key=f"{Keys.W_CONTACTS_FIELD}_{field}",
            )
            if choice != NONE:
                mapping[field] = str(choice)
        submitted = st.form_submit_button("Importer et anonymiser", icon=":material/upload:")
    if submitted:
        try:
            with st.spinner("Import et anonymisation…"):
                done = import_contacts_upload(
                    ws, upload.name, upload.getvalue(), settings=settings(), mapping=mapping
                )
        except TerritoryError as exc:
            st.error(f"Import impossible : {exc}")
        else:
            show_contacts_import(done, upload.name)

st.subheader("Densité protégée")
choices = cached_breakdown_choices(str(ws.path), ws.version)
left, right = st.columns(2)
by = left.selectbox(
    "Filtre",
    [NONE, *BREAKDOWNS],
    format_func=lambda b: BREAKDOWNS.get(b, "Aucun"),
    key=Keys.W_CONTACTS_FILTER,
    help="Un seul filtre à la fois, sur des périodes fixes (trimestres) : deux vues ne "
    "peuvent jamais être soustraites pour isoler quelques personnes.",
)
breakdown = None
if by != NONE:
    values = choices.get(str(by), [])
    if not values:
        st.info("Aucun contact enregistré : importez d'abord un export.")
        st.stop()
    value = right.selectbox("Valeur", values, key=f"{Keys.W_CONTACTS_VALUE}_{by}")
    breakdown = (str(by), str(value))
territory = current_territory(ws)
key = (str(ws.path), ws.version, k)


@st.fragment
def density_map() -> None:
    """The protected density for the chosen filter (panning reruns only this fragment)."""
    fmap = cached_map(*key, False, base_url_path(), territory, breakdown, contacts_only=True)
    st_folium(
        fmap,
        key="contacts_map",
        height=560,
        use_container_width=True,
        returned_objects=list(RETURNED_OBJECTS),
    )
    layers = contact_layers(*key, territory, breakdown)
    st.html(legend_html(layers, k=k, stop_buffer_m=settings().stop_buffer_m))


density_map()
