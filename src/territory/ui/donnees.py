"""The "Données" page's widgets: imports, official data, batches, territories, sharing.

The import form, the official data download, the batch log with its undo form, the
programme territories (table, definition, deletion), and the downloads of the shareable
file and of the evaluation package (the same published values, styled for QGIS, with
their metadata and the « Méthodes » document) with what may and may not be shared.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import streamlit as st

from territory import Settings, SheetChoiceError, TerritoryError
from territory.batches import batches_table, counts_text, list_batches
from territory.crs import METRIC_CRS
from territory.evaluation import package_bytes
from territory.export import shareable_bytes
from territory.fetch import fetch_territory
from territory.ingest import purge_old_contacts, undo_batch
from territory.store import Workspace
from territory.territories import choices, define_territory, delete_territory, territories_table
from territory.ui.common import data_key, flash
from territory.ui.loaders import cached_territory_names
from territory.ui.login import audited, downloaded
from territory.ui.state import Keys
from territory.ui.uploads import (
    APP_AUTHOR,
    ONLINE_GEOCODING_LABEL,
    ONLINE_GEOCODING_WARNING,
    import_contacts_upload,
    import_kinds,
    import_label,
    import_upload,
    show_contacts_import,
    show_import_report,
)

__all__ = [
    "DEFINE_EMPTY",
    "REPLACE_PARTNERS_LABEL",
    "SHARING_RULE",
    "batches_section",
    "fetch_form",
    "import_form",
    "share_section",
    "shareable_name",
    "territories_section",
]

DEFINE_EMPTY = {
    Keys.W_DEFINE_NAME: "",
    Keys.W_DEFINE_EPCI: [],
    Keys.W_DEFINE_COMMUNES: [],
    Keys.W_DEFINE_QPV: [],
}
"""The territory form's widgets, empty again after a territory is saved."""
SHARING_RULE = (
    "Le fichier de l'espace de travail (.gpkg) contient des contacts pseudonymisés : c'est "
    "une donnée personnelle, **il ne se partage pas**. Le fichier **partageable** ne contient "
    "que des valeurs publiées (protégées par le secret statistique) : il peut être remis à "
    "une équipe d'évaluation, un partenaire ou un financeur."
)
"""What may be shared and what may not, in French (the "Données" page says it)."""


REPLACE_PARTNERS_LABEL = (
    "Partenaires : remplacer tous les partenaires enregistrés (sinon, le fichier ajoute "
    "et met à jour)"
)
"""The explicit choice to replace the stored partners (a new file adds and updates)."""


@dataclass(frozen=True)
class _Upload:
    """A submitted import: the file and the form's choices (kept while a sheet is picked)."""

    name: str
    data: bytes
    kind: str
    vintage: str
    licence: str
    crs: str
    online: bool
    replace: bool
    sheets: tuple[str, ...] = ()
    network: str = ""


def import_form(ws: Workspace, *, settings: Settings) -> None:
    """Import a file of any kind, with its vintage, licence and CRS; show the report.

    A workbook with several sheets that could be the table is refused by the importer
    with their names: the file is then kept in the session (not on disk) until the user
    picks the sheet in « Feuille à importer » and imports it, or submits another file.
    """
    with st.form(Keys.W_IMPORT_FORM, clear_on_submit=True):
        upload = st.file_uploader("Fichier", key=Keys.W_IMPORT_FILE)
        kind = st.selectbox(
            "Type de données", import_kinds(), format_func=import_label, key=Keys.W_IMPORT_KIND
        )
        left, middle, right = st.columns(3)
        vintage = left.text_input("Millésime (facultatif)", key=Keys.W_IMPORT_VINTAGE)
        licence = middle.text_input("Licence (facultatif)", key=Keys.W_IMPORT_LICENCE)
        crs = right.text_input(
            "Système de coordonnées (facultatif)",
            key=Keys.W_IMPORT_CRS,
            placeholder=METRIC_CRS,
            help="Seulement pour un fichier géographique qui n'en déclare pas.",
        )
        online = st.checkbox(ONLINE_GEOCODING_LABEL, key=Keys.W_IMPORT_ONLINE)
        st.caption(ONLINE_GEOCODING_WARNING)
        replace = st.checkbox(REPLACE_PARTNERS_LABEL, key=Keys.W_IMPORT_REPLACE)
        network = st.text_input(
            "Réseau de transport (GTFS, facultatif)",
            key=Keys.W_IMPORT_NETWORK,
            help="Nom du réseau du flux (ex. CTS, Fluo 67) ; par défaut l'exploitant du flux. "
            "Réimporter un réseau remplace ses seuls arrêts, les autres réseaux sont gardés.",
        )
        imported = st.form_submit_button("Importer", icon=":material/upload:")
    if imported and upload is None:
        st.warning("Choisissez d'abord un fichier à importer.")
    elif imported and upload is not None:
        st.session_state[Keys.IMPORT_WAITING] = None
        submitted = _Upload(
            upload.name,
            upload.getvalue(),
            str(kind),
            vintage,
            licence,
            crs,
            online,
            replace,
            network=network,
        )
        _import(ws, submitted, settings=settings, sheet=None)
    waiting: _Upload | None = st.session_state.get(Keys.IMPORT_WAITING)
    if waiting is not None:
        with st.form(Keys.W_IMPORT_SHEET + "_form"):
            sheet = st.selectbox(
                f"Feuille à importer ({waiting.name})", waiting.sheets, key=Keys.W_IMPORT_SHEET
            )
            chosen = st.form_submit_button("Importer cette feuille", icon=":material/upload:")
        if chosen and sheet is not None:
            st.session_state[Keys.IMPORT_WAITING] = None
            _import(ws, waiting, settings=settings, sheet=str(sheet))


def _import(ws: Workspace, upload: _Upload, *, settings: Settings, sheet: str | None) -> None:
    """Import ``upload`` (its ``sheet``) and show the report, or keep it for a sheet choice."""
    try:
        with st.spinner("Import en cours…"):
            if upload.kind == "contacts":  # refused rows are offered for download, never stored
                done = import_contacts_upload(
                    ws, upload.name, upload.data, settings=settings,
                    geocode_online=upload.online, sheet=sheet,
                )  # fmt: skip
                show_contacts_import(done, upload.name, workspace=ws.path.stem)
                audited("import", workspace=ws.path.stem, target=upload.name)
            else:
                report = import_upload(
                    ws, upload.kind, upload.name, upload.data, settings=settings,
                    vintage=upload.vintage, licence=upload.licence, crs=upload.crs,
                    replace=upload.replace and upload.kind == "partners", sheet=sheet,
                    network=(upload.network.strip() or None) if upload.kind == "gtfs" else None,
                )  # fmt: skip
                show_import_report(report)
                audited("import", workspace=ws.path.stem, target=upload.name)
    except SheetChoiceError as exc:
        st.session_state[Keys.IMPORT_WAITING] = dataclasses.replace(upload, sheets=exc.sheets)
        st.warning(f"{exc}")
    except TerritoryError as exc:
        st.error(f"Import impossible : {exc}")


def fetch_form(ws: Workspace, *, settings: Settings) -> None:
    """Download and import a département's official data (internet), in an expander."""
    with st.expander(
        "Télécharger les données officielles (internet)", icon=":material/cloud_download:"
    ):
        with st.form(Keys.W_FETCH_FORM):
            dep = st.text_input("Département", key=Keys.W_FETCH_DEP, placeholder="14")
            epci = st.text_input(
                "EPCI (SIREN, facultatif)",
                key=Keys.W_FETCH_EPCI,
                help="Plusieurs codes séparés par des virgules.",
            )
            fetch = st.form_submit_button("Télécharger et importer", icon=":material/download:")
        if not fetch:
            return
        with st.status("Téléchargement des sources officielles…", expanded=True) as status:
            try:
                reports = fetch_territory(
                    ws,
                    departement=dep.strip().upper(),
                    settings=settings,
                    epci=[c.strip() for c in epci.split(",") if c.strip()],
                    progress=status.write,
                )
            except TerritoryError as exc:
                status.update(label="Téléchargement impossible", state="error")
                st.error(str(exc))
            else:
                status.update(label="Données téléchargées et importées", state="complete")
                for report in reports:
                    show_import_report(report)


def batches_section(ws: Workspace) -> None:
    """The batch log (imports, round feedback, purges, undos) and a form to undo a batch."""
    found = list_batches(ws)
    if not found:
        st.info("Aucun lot enregistré : chaque import en crée un.")
        return
    # No CSV of the log: its counts are raw (an import's rows, a visit's contacts), fit
    # for the screen of whoever runs the workspace, not for a file that travels.
    st.dataframe(batches_table(reversed(found)), hide_index=True, width="stretch")
    active = {
        b.id: f"Lot {b.id} — {b.label} — {b.file}".rstrip(" —")
        for b in reversed(found)
        if b.state == "active"
    }
    if not active:
        return
    with st.form(Keys.W_UNDO_FORM):
        chosen = st.selectbox(
            "Lot à annuler", list(active), format_func=active.__getitem__, key=Keys.W_UNDO_BATCH
        )
        sure = st.checkbox(
            "Je confirme l'annulation : les contacts du lot seront effacés définitivement, "
            "ou les couches qu'il a importées remises comme avant lui.",
            key=Keys.W_UNDO_CONFIRM,
        )
        undo = st.form_submit_button("Annuler ce lot", icon=":material/undo:")
    if not undo or chosen is None:
        return
    if not sure:
        st.warning("Cochez la confirmation pour annuler le lot.")
        return
    try:
        entry = undo_batch(ws, int(chosen), author=APP_AUTHOR)
    except TerritoryError as exc:
        st.error(f"Annulation impossible : {exc}")
    else:
        audited("undo", workspace=ws.path.stem, target=f"lot {chosen}")
        flash(f"Lot {chosen} annulé : {counts_text(entry)}.", reset={Keys.W_UNDO_CONFIRM: False})


def purge_section(ws: Workspace, *, settings: Settings, today: date) -> None:
    """Delete the contacts older than the retention, then say the protected number gone."""
    with st.form(Keys.W_PURGE_FORM):
        months = st.number_input(
            "Durée de conservation (mois)",
            min_value=1,
            value=settings.retention_months,
            step=1,
            key=Keys.W_PURGE_MONTHS,
        )
        sure = st.checkbox(
            "Je confirme la purge : les contacts et parcours plus anciens seront effacés "
            "définitivement (elle ne s'annule pas).",
            key=Keys.W_PURGE_CONFIRM,
        )
        purge = st.form_submit_button("Purger", icon=":material/delete_forever:")
    if not purge:
        return
    if not sure:
        st.warning("Cochez la confirmation pour purger.")
        return
    try:
        label, cutoff = purge_old_contacts(
            ws, settings=settings, today=today, older_than_months=int(months), author=APP_AUTHOR
        )
    except TerritoryError as exc:
        st.error(f"Purge impossible : {exc}")
        return
    day = f"{cutoff:%d/%m/%Y}"
    audited("purge", workspace=ws.path.stem, target=f"avant le {day}", details={"contacts": label})
    later = (
        " Ils ne sont plus lisibles ; la place qu'ils occupaient sur le serveur est récupérée "
        "par la maintenance planifiée de l'opérateur (compactage chaque nuit)."
        if ws.compacts_later
        else ""
    )
    flash(
        f"Purge faite : {label} contact(s) antérieur(s) au {day} supprimé(s) (valeur protégée)."
        + later,
        reset={Keys.W_PURGE_CONFIRM: False},
    )


def territories_section(ws: Workspace) -> None:
    """The programme territories: their table, a form to define one, one to delete one."""
    table = territories_table(ws)
    if table.empty:
        st.info("Aucun territoire défini : tout l'espace de travail est étudié.")
    else:
        st.dataframe(table, hide_index=True, width="stretch")

    options = choices(ws)
    with st.form(Keys.W_DEFINE_FORM):
        name = st.text_input("Nom du nouveau territoire", key=Keys.W_DEFINE_NAME)
        picked = {
            kind: st.multiselect(
                label, list(labels), format_func=labels.__getitem__, key=key, placeholder="Choisir…"
            )
            for kind, label, labels, key in (
                ("epci", "EPCI", options.epci, Keys.W_DEFINE_EPCI),
                ("communes", "Communes", options.communes, Keys.W_DEFINE_COMMUNES),
                ("qpv", "QPV", options.qpv, Keys.W_DEFINE_QPV),
            )
        }
        if st.form_submit_button("Enregistrer le territoire", icon=":material/add_location_alt:"):
            try:
                defined = define_territory(
                    ws, name, epci=picked["epci"], communes=picked["communes"], qpv=picked["qpv"]
                )
            except TerritoryError as exc:
                st.error(f"Territoire non enregistré : {exc}")
            else:
                flash(f"Territoire « {defined.name} » enregistré.", reset=DEFINE_EMPTY)

    if names := cached_territory_names(data_key(ws)):
        with st.form(Keys.W_DELETE_FORM):
            doomed = st.selectbox("Territoire à supprimer", names, key=Keys.W_DELETE_NAME)
            if st.form_submit_button("Supprimer", icon=":material/delete:"):
                try:  # deleted meanwhile from another tab or the command line?
                    delete_territory(ws, str(doomed))
                except TerritoryError as exc:
                    st.error(f"Suppression impossible : {exc}")
                else:
                    flash(f"Territoire « {doomed} » supprimé.")


def share_section(ws: Workspace, *, settings: Settings) -> None:
    """What may be shared, and the download of the shareable file (built on click)."""
    st.info(SHARING_RULE, icon=":material/lock:")
    names = cached_territory_names(data_key(ws))
    chosen: list[str] = []
    if names:
        chosen = st.multiselect(
            "Territoires du fichier partageable",
            names,
            key=Keys.W_SHARE_TERRITORIES,
            placeholder="Tout l'espace de travail",
            help="Sans choix : tout l'espace de travail.",
        )
    path, territories = ws.key, tuple(chosen)

    def build() -> bytes:  # runs when the button is clicked, outside the page's run
        return shareable_bytes(Workspace.open(path), settings=settings, territories=territories)

    st.download_button(
        "Fichier partageable (.gpkg)",
        downloaded(build, workspace=ws.path.stem, target="fichier partageable", action="export"),
        file_name=shareable_name(ws.name, territories),
        mime="application/geopackage+sqlite3",
        on_click="ignore",
        icon=":material/share:",
        help="Couches publiques, densité protégée, indicateurs et classements, territoires "
        "et leurs totaux protégés, métadonnées : aucun contact. S'ouvre dans QGIS.",
    )

    def build_package() -> bytes:  # the same published values, for the geographers
        return package_bytes(Workspace.open(path), settings=settings, territories=territories)

    st.download_button(
        "Paquet d'évaluation (.zip)",
        downloaded(
            build_package, workspace=ws.path.stem, target="paquet d'évaluation", action="export"
        ),
        file_name=shareable_name(ws.name, territories).replace(
            "-partageable.gpkg", "-evaluation.zip"
        ),
        mime="application/zip",
        on_click="ignore",
        icon=":material/inventory_2:",
        help="Les mêmes valeurs publiées en Lambert-93, avec les styles QGIS de chaque "
        "couche, leurs métadonnées (source, millésime, licence, paramètres), "
        "datapackage.json et le document « Méthodes » : pour l'équipe d'évaluation.",
    )


def shareable_name(workspace: str, territories: tuple[str, ...] = ()) -> str:
    """The downloaded file's name: the workspace's and the territories' names, in ASCII.

    Examples
    --------
    >>> shareable_name("Vallée de l'Ardoise", ("Communes rurales",))
    'vallee-de-l-ardoise-communes-rurales-partageable.gpkg'
    """
    words = [workspace, *territories]
    text = unicodedata.normalize("NFKD", " ".join(words)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80].strip("-")
    return f"{slug or 'territoire'}-partageable.gpkg"
