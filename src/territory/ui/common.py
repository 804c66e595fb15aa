"""Workspace opening, cached loaders, the territory choice, imports and the demo banner.

Every cached loader is keyed on the workspace file, its version (bumped by every write,
territory definitions included), ``k`` and the programme territory (``None`` for the
whole workspace).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import folium
import pandas as pd
import streamlit as st

from territory import Settings, TerritoryError
from territory.ingest import KINDS, import_file
from territory.maps import MapLayers, territory_map
from territory.report import ImportReport
from territory.store import Workspace
from territory.territories import WHOLE_WORKSPACE, list_territories
from territory.ui.state import Keys, init_session_state
from territory.views import info, map_layers, summary

HOME = "pages/accueil.py"
IMPORT_LABELS = {
    "communes": "Contours des communes (GeoJSON, GeoPackage, Shapefile)",
    "communes-table": "Table des communes du COG (CSV, XLSX)",
    "density": "Grille communale de densité INSEE (CSV, XLSX)",
    "qpv": "Quartiers prioritaires, QPV 2024 ou 2015 (GeoJSON, GeoPackage, Shapefile)",
    "partners": "Partenaires (CSV, XLSX, liste France services)",
    "gtfs": "Réseau de transport en commun (GTFS, .zip)",
    "contacts": "Contacts de l'équipe (CSV, XLSX : anonymisés dès l'import)",
}
"""French label of each import kind, in the order of the form."""


@st.cache_resource
def settings() -> Settings:
    """Settings read once from the environment."""
    return Settings.from_env()


def workspace_or_stop() -> Workspace:
    """The selected workspace, or a French message with a link home and ``st.stop()``."""
    # A deep link opened first after the server starts runs the page without app.py
    # (Streamlit's pages/ directory fallback): initialise the state here too.
    init_session_state()
    path = st.session_state.get(Keys.WORKSPACE)
    if not path:
        st.info("Aucun espace de travail choisi.")
        st.page_link(HOME, label="Choisir un espace de travail", icon=":material/home:")
        st.stop()
    try:
        ws = Workspace.open(Path(path))
        ws.version  # noqa: B018 - reads the file: a damaged one fails here, not later
    except TerritoryError as exc:
        st.error(f"Impossible d'ouvrir l'espace de travail : {exc}")
        st.page_link(HOME, label="Choisir ou créer un espace de travail", icon=":material/home:")
        st.stop()
    return ws


def demo_banner(ws: Workspace) -> None:
    """A visible banner on every page that shows the fictional demo territory."""
    if "fictif" in ws.name.lower():
        st.warning(
            f"**{ws.name}** : territoire **fictif** de démonstration — communes, QPV, "
            "partenaires et contacts sont inventés.",
            icon=":material/science:",
        )


@st.cache_data(max_entries=16, show_spinner="Chargement des couches…")
def cached_summary(
    path: str, version: int, k: int, territory: str | None = None
) -> dict[str, object]:
    """Home-page figures, keyed on the workspace file, its version, k and the territory."""
    return summary(Workspace.open(path), settings=settings(), territory=territory)


@st.cache_data(max_entries=16)
def cached_territory_names(path: str, version: int) -> list[str]:
    """Names of the programme territories defined in the workspace."""
    return [t.name for t in list_territories(Workspace.open(path))]


def current_territory(ws: Workspace) -> str | None:
    """The territory chosen on the home page, or None (whole workspace).

    A name the workspace does not define (another workspace was chosen, the territory
    was deleted) falls back to the whole workspace.
    """
    name = st.session_state.get(Keys.TERRITORY)
    if name is not None and name not in cached_territory_names(str(ws.path), ws.version):
        st.session_state[Keys.TERRITORY] = name = None
    return name


def territory_selector(ws: Workspace) -> str | None:
    """The "Territoire" selectbox (only when territories are defined); returns the choice."""
    names = cached_territory_names(str(ws.path), ws.version)
    current = current_territory(ws)
    if not names:
        return None
    options = [WHOLE_WORKSPACE, *names]
    picked = st.selectbox(
        "Territoire",
        options,
        index=options.index(current or WHOLE_WORKSPACE),
        key=Keys.W_TERRITORY,
        help="Territoires du programme définis sur la page Données ; "
        "la carte et les chiffres s'y limitent.",
    )
    chosen = None if picked == WHOLE_WORKSPACE else picked
    if chosen != current:
        st.session_state[Keys.SELECTED_ZONE] = None  # a clicked zone may be outside it
    st.session_state[Keys.TERRITORY] = chosen
    return chosen


@st.cache_data(max_entries=16)
def cached_info(path: str, version: int, k: int) -> dict[str, object]:
    """Layers with their sources and vintages (:func:`territory.views.info`)."""
    return info(Workspace.open(path), settings=settings())


def known_workspaces(current: str, folder: str = "workspaces") -> list[str]:
    """The current workspace first, then the ``.gpkg`` files of ``folder``."""
    found = sorted(str(p) for p in Path(folder).glob("*.gpkg"))
    return list(dict.fromkeys([current, *found])) if current else found


@st.cache_data(max_entries=8, show_spinner="Chargement des couches…")
def cached_layers(path: str, version: int, k: int, territory: str | None = None) -> MapLayers:
    """Map layers (contact density already protected), keyed like :func:`cached_summary`."""
    return map_layers(Workspace.open(path), settings=settings(), territory=territory)


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def cached_map(
    path: str,
    version: int,
    k: int,
    basemap: bool,
    base_url: str,
    territory: str | None = None,
) -> folium.Map:
    """The folium map, built once per workspace version, territory and option set."""
    layers = cached_layers(path, version, k, territory)
    return territory_map(
        layers,
        asset_base=f"{base_url}/app/static",
        basemap="osm" if basemap else None,
        k=k,
        stop_buffer_m=settings().stop_buffer_m,
    )


def base_url_path() -> str:
    """``server.baseUrlPath`` as a prefix ("" or "/prefix")."""
    prefix = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{prefix}" if prefix else ""


def flash(message: str, *, clear: tuple[str, ...] = ()) -> None:
    """Rerun the page now and show ``message`` once at :func:`show_flash`.

    ``clear`` names widget keys to reset on that rerun (a form that succeeded starts
    empty again; one that failed keeps what the user typed).
    """
    st.session_state[Keys.FLASH] = (message, clear)
    st.rerun()


def show_flash() -> None:
    """Show (once) the message left by :func:`flash`; call it before the widgets."""
    flashed = st.session_state.get(Keys.FLASH)
    if flashed:
        message, clear = flashed
        st.session_state[Keys.FLASH] = None
        for key in clear:
            st.session_state.pop(key, None)
        st.success(message, icon=":material/check_circle:")


def import_label(kind: str) -> str:
    """French label of an import kind (:data:`IMPORT_LABELS`, else the kind itself)."""
    return IMPORT_LABELS.get(kind, kind)


def import_kinds() -> list[str]:
    """Import kinds the importer knows, in the order of :data:`IMPORT_LABELS`."""
    return sorted(
        KINDS,
        key=lambda kind: (
            list(IMPORT_LABELS).index(kind) if kind in IMPORT_LABELS else len(IMPORT_LABELS)
        ),
    )


def import_upload(
    ws: Workspace,
    kind: str,
    filename: str,
    data: bytes,
    *,
    settings: Settings,
    vintage: str = "",
    licence: str = "",
    crs: str | None = None,
) -> ImportReport:
    """Import an uploaded file: write it to a temporary folder, then :func:`import_file`.

    Parameters
    ----------
    ws
        The workspace to import into.
    kind
        One of :data:`territory.ingest.KINDS`.
    filename
        The uploaded file's name: its extension tells the reader the format, and it
        is recorded as the layer's source. Any folder part is dropped.
    data
        The file's content.
    settings, vintage, licence, crs
        Passed to :func:`territory.ingest.import_file` (``crs`` for files that declare
        none).

    Returns
    -------
    ImportReport
        The importer's report. A :class:`~territory.TerritoryError` (unreadable file,
        wrong kind, missing prerequisite) propagates: the page shows it in French.
    """
    name = Path(filename.replace("\\", "/")).name or "fichier"
    with tempfile.TemporaryDirectory(prefix="territory-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return import_file(
            ws,
            kind,
            path,
            settings=settings,
            vintage=vintage.strip(),
            licence=licence.strip(),
            crs=(crs or "").strip() or None,
        )


def show_import_report(report: ImportReport) -> None:
    """The import report in French: counts as metrics, refusals in a table, fixes, notes."""
    label = IMPORT_LABELS.get(report.kind, report.kind)
    message = f"Import terminé : {report.source} ({label})."
    if report.refused:
        st.warning(f"{message} {report.refused} ligne(s) refusée(s) : voir le détail.")
    else:
        st.success(message)
    figures = [
        ("Lues", report.read),
        ("Acceptées", report.accepted),
        ("dont corrigées", report.fixed),
        ("Refusées", report.refused),
        ("En attente", report.pending),
    ]
    for column, (title, value) in zip(st.columns(len(figures)), figures, strict=True):
        column.metric(title, f"{value:,}".replace(",", "\u202f"))
    if report.refusals:
        st.markdown("**Lignes refusées**")
        refusals = [{"Ligne": str(r.row), "Motif": r.reason} for r in report.refusals]
        st.dataframe(pd.DataFrame(refusals), hide_index=True, use_container_width=True)
    if report.fixes:
        st.markdown("**Corrections**\n\n" + "\n".join(f"- {fix}" for fix in report.fixes))
    if report.notes:
        st.markdown("**À savoir**\n\n" + "\n".join(f"- {note}" for note in report.notes))
