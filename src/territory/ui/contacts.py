"""The "Contacts" page's widgets: the export's upload and the density's one filter.

The upload shows a preview and the column mapping, then imports.
"""

from __future__ import annotations

import streamlit as st

from territory import Settings, SheetChoiceError, TerritoryError
from territory.io.contacts import FIELD_LABELS
from territory.store import Workspace
from territory.ui.login import audited
from territory.ui.state import Keys
from territory.ui.uploads import (
    ONLINE_GEOCODING_LABEL,
    ONLINE_GEOCODING_WARNING,
    import_contacts_upload,
    preview_upload,
    show_contacts_import,
    upload_sheets,
)
from territory.views import BREAKDOWNS

__all__ = ["NONE", "contacts_upload", "density_filter"]

NONE = "—"
"""The "no column" and "no filter" choice."""


def contacts_upload(ws: Workspace, *, settings: Settings) -> None:
    """Upload an export, preview it, map its columns, then import and anonymise it."""
    upload = st.file_uploader(
        "Fichier CSV, XLSX ou ODS", type=["csv", "txt", "xlsx", "ods"], key=Keys.W_CONTACTS_FILE
    )
    if upload is None:
        return
    sheet = None
    try:
        sheets = upload_sheets(upload.name, upload.getvalue())
        if len(sheets) > 1:  # None: the only sheet with a date column, named in the report
            sheet = st.selectbox(
                "Feuille à importer", sheets, index=None, key=Keys.W_CONTACTS_SHEET,
                placeholder="la feuille des contacts, reconnue à sa colonne de date",
            )  # fmt: skip
        preview = preview_upload(upload.name, upload.getvalue(), sheet=sheet)
    except SheetChoiceError as exc:
        st.warning(str(exc))
        st.stop()
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
        online = st.checkbox(ONLINE_GEOCODING_LABEL, key=Keys.W_CONTACTS_ONLINE)
        st.caption(ONLINE_GEOCODING_WARNING)
        submitted = st.form_submit_button("Importer et anonymiser", icon=":material/upload:")
    if submitted:
        try:
            with st.spinner("Import et anonymisation…"):
                done = import_contacts_upload(
                    ws, upload.name, upload.getvalue(), settings=settings, mapping=mapping,
                    geocode_online=online, sheet=sheet,
                )  # fmt: skip
        except TerritoryError as exc:
            st.error(f"Import impossible : {exc}")
        else:
            show_contacts_import(done, upload.name, workspace=ws.path.stem)
            audited("import", workspace=ws.path.stem, target=upload.name)


def density_filter(choices: dict[str, list[str]]) -> tuple[str, str] | None:
    """One filter of the density (:data:`territory.views.BREAKDOWNS`) and its value.

    Stops the page with a message when a filter is chosen but no contact is stored.
    """
    left, right = st.columns(2)
    by = left.selectbox(
        "Filtre",
        [NONE, *BREAKDOWNS],
        format_func=lambda b: BREAKDOWNS.get(b, "Aucun"),
        key=Keys.W_CONTACTS_FILTER,
        help="Un seul filtre à la fois, sur des périodes fixes (trimestres) : deux vues ne "
        "peuvent jamais être soustraites pour isoler quelques personnes.",
    )
    if by == NONE:
        return None
    values = choices.get(str(by), [])
    if not values:
        st.info("Aucun contact enregistré : importez d'abord un export.")
        st.stop()
    value = right.selectbox("Valeur", values, key=f"{Keys.W_CONTACTS_VALUE}_{by}")
    return (str(by), str(value))
