"""Workspace opening, cached loaders, the territory choice, imports and the demo banner.

Every cached loader is keyed on the workspace file, its version (bumped by every write,
territory definitions included), ``k`` and the programme territory (``None`` for the
whole workspace).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import folium
import pandas as pd
import streamlit as st

from territory import Settings, TerritoryError
from territory.analysis.indicators import INDICATORS, ZoneKind
from territory.analysis.priority import (
    Ranking,
    Weights,
    ZoneIndicators,
    load_weights,
    rank_zones,
    zone_indicators,
)
from territory.analysis.slots import Profile, WhenResult, when
from territory.export import ranking_layer
from territory.ingest import KINDS, import_file
from territory.io.contacts import ContactsPreview, preview_contacts, side_file_paths
from territory.io.report import ImportReport
from territory.map.build import MapLayers, legend_html, territory_map
from territory.store import Workspace
from territory.territories import WHOLE_WORKSPACE, list_territories
from territory.ui.state import Keys
from territory.views import breakdown_choices, info, map_layers, summary
from territory.vocab import WEEKDAYS_FR

HOME = "app_pages/accueil.py"
IMPORT_LABELS = {
    "communes": "Contours des communes (GeoJSON, GeoPackage, Shapefile)",
    "communes-table": "Table des communes du COG (CSV, XLSX)",
    "density": "Grille communale de densité INSEE (CSV, XLSX)",
    "qpv": "Quartiers prioritaires, QPV 2024 ou 2015 (GeoJSON, GeoPackage, Shapefile)",
    "partners": "Partenaires (CSV, XLSX, liste France services)",
    "gtfs": "Réseau de transport en commun (GTFS, .zip)",
    "contacts": "Contacts de l'équipe (CSV, XLSX : anonymisés dès l'import)",
    "places": "Lieux d'aller-vers des tournées (CSV, XLSX, GeoJSON)",
}
"""French label of each import kind, in the order of the form."""


@st.cache_resource
def settings() -> Settings:
    """Settings read once from the environment."""
    return Settings.from_env()


def workspace_or_stop() -> Workspace:
    """The selected workspace, or a French message with a link home and ``st.stop()``."""
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
def cached_breakdown_choices(path: str, version: int) -> dict[str, list[str]]:
    """The density filters' values (:func:`territory.views.breakdown_choices`)."""
    return breakdown_choices(Workspace.open(path))


@st.cache_data(max_entries=16)
def cached_info(path: str, version: int, k: int) -> dict[str, object]:
    """Layers with their sources and vintages (:func:`territory.views.info`)."""
    return info(Workspace.open(path), settings=settings())


def known_workspaces(current: str, folder: str = "workspaces") -> list[str]:
    """The current workspace first, then the ``.gpkg`` files of ``folder``."""
    found = sorted(str(p) for p in Path(folder).glob("*.gpkg"))
    return list(dict.fromkeys([current, *found])) if current else found


@st.cache_data(max_entries=8, show_spinner="Chargement des couches…")
def cached_layers(
    path: str,
    version: int,
    k: int,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
) -> MapLayers:
    """Map layers (contact density already protected), keyed like :func:`cached_summary`
    and on the density's filter (:data:`territory.views.BREAKDOWNS`, None: unfiltered)."""
    return map_layers(
        Workspace.open(path), settings=settings(), territory=territory, breakdown=breakdown
    )


@st.cache_data(max_entries=8)
def cached_legend(path: str, version: int, k: int, territory: str | None = None) -> str:
    """The Carte page's legend (:func:`territory.map.build.legend_html`), keyed like
    :func:`cached_layers`: made once, not unpickled from the layers' cache on each run."""
    layers = cached_layers(path, version, k, territory)
    return legend_html(layers, k=k, stop_buffer_m=settings().stop_buffer_m)


def contact_layers(
    path: str,
    version: int,
    k: int,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
) -> MapLayers:
    """Communes, QPV and the (filtered) protected density: the Contacts page's map."""
    layers = cached_layers(path, version, k, territory, breakdown)
    return dataclasses.replace(layers, partners=None, stops=None, service_gaps=None)


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def cached_map(
    path: str,
    version: int,
    k: int,
    basemap: bool,
    base_url: str,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
    contacts_only: bool = False,
) -> folium.Map:
    """The folium map, built once per workspace version, territory, filter and option set.

    ``contacts_only`` draws only :func:`contact_layers` (the Contacts page).
    """
    layers = (
        contact_layers(path, version, k, territory, breakdown)
        if contacts_only
        else cached_layers(path, version, k, territory, breakdown)
    )
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


def flash(message: str, *, reset: Mapping[str, object] | None = None) -> None:
    """Rerun the page now and show ``message`` once at :func:`show_flash`.

    ``reset`` gives widget keys and the value they start from on that rerun (a form that
    succeeded starts empty again; one that failed keeps what the user typed). Values are
    set, not deleted: a deleted key would leave the browser showing the old text.
    """
    st.session_state[Keys.FLASH] = (message, dict(reset or {}))
    st.rerun()


def show_flash() -> None:
    """Show (once) the message left by :func:`flash`; call it before the widgets."""
    flashed = st.session_state.get(Keys.FLASH)
    if flashed:
        message, reset = flashed
        st.session_state[Keys.FLASH] = None
        for key, value in reset.items():
            st.session_state[key] = value
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
    with _uploaded(filename, data) as path:
        return import_file(
            ws,
            kind,
            path,
            settings=settings,
            vintage=vintage.strip(),
            licence=licence.strip(),
            crs=(crs or "").strip() or None,
        )


@dataclass(frozen=True)
class ContactsImport:
    """An uploaded contact export, imported: the report and the rows kept out of the store.

    ``refused`` and ``pending`` are the CSV files the importer wrote beside the upload
    (refused rows with their reason, rows waiting for geocoding): person-level data,
    offered for download to the user who uploaded them, never stored.
    """

    report: ImportReport
    refused: bytes | None
    pending: bytes | None


def preview_upload(filename: str, data: bytes) -> ContactsPreview:
    """The first rows and the detected columns of an uploaded contact export."""
    with _uploaded(filename, data) as path:
        return preview_contacts(path)


def import_contacts_upload(
    ws: Workspace,
    filename: str,
    data: bytes,
    *,
    settings: Settings,
    mapping: dict[str, str] | None = None,
) -> ContactsImport:
    """Import an uploaded contact export with an explicit column ``mapping``.

    The refused and pending rows written beside the temporary copy are read back
    before it is deleted (see :class:`ContactsImport`).
    """
    with _uploaded(filename, data) as path:
        report = import_file(ws, "contacts", path, settings=settings, mapping=mapping)
        side = side_file_paths(path)

        def read(target: Path | None) -> bytes | None:
            return target.read_bytes() if target is not None and target.exists() else None

        return ContactsImport(report, read(side.refused), read(side.pending))


def show_contacts_import(done: ContactsImport, filename: str) -> None:
    """The report of a contact import, and its refused / pending rows to download."""
    show_import_report(done.report)
    stem = Path(filename).stem
    for data, label, suffix in (
        (done.refused, "Lignes refusées, avec le motif", "refus"),
        (done.pending, "Lignes à géocoder", "a_geocoder"),
    ):
        if data:
            st.download_button(
                label,
                data,
                file_name=f"{stem}.{suffix}.csv",
                mime="text/csv",
                icon=":material/download:",
            )


@contextmanager
def _uploaded(filename: str, data: bytes) -> Iterator[Path]:
    """The uploaded bytes as a file in a private temporary folder, deleted afterwards."""
    name = Path(filename.replace("\\", "/")).name or "fichier"
    with tempfile.TemporaryDirectory(prefix="territory-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path


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


# ------------------------------------------------------------------ "Où et quand"
@st.cache_data(max_entries=8)
def cached_saved_weights(path: str, version: int, territory: str | None) -> Weights:
    """The weights saved for the territory (defaults when none)."""
    return load_weights(Workspace.open(path), territory=territory)


@st.cache_resource(max_entries=8, show_spinner="Calcul des indicateurs…")
def cached_indicators(
    path: str, version: int, k: int, territory: str | None, kind: ZoneKind
) -> ZoneIndicators:
    """Zone indicators (the slow part); re-ranking on new weights reuses them."""
    ws = Workspace.open(path)
    return zone_indicators(ws, settings=settings(), kind=kind, territory=territory)


@st.cache_resource(max_entries=32, show_spinner="Recherche des créneaux…")
def cached_when(
    path: str,
    version: int,
    k: int,
    territory: str | None,
    kind: ZoneKind,
    zone: str,
    open_type: str | None,
) -> WhenResult:
    """Recommended slots of one zone (:func:`territory.analysis.slots.when`)."""
    return when(
        Workspace.open(path),
        zone,
        settings=settings(),
        kind=kind,
        territory=territory,
        open_type=open_type,
    )


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def cached_score_map(
    path: str,
    version: int,
    k: int,
    territory: str | None,
    kind: ZoneKind,
    weights: tuple[float, ...],
    base_url: str,
) -> tuple[folium.Map, MapLayers]:
    """The zones coloured by priority score, with the QPV and the partners (same
    component as the Carte page), and the layers drawn (for the legend)."""
    ranking = rank_zones(cached_indicators(path, version, k, territory, kind), Weights(*weights))
    base = cached_layers(path, version, k, territory)
    layers = MapLayers(scores=ranking_layer(ranking), qpv=base.qpv, partners=base.partners)
    fmap = territory_map(
        layers, asset_base=f"{base_url}/app/static", k=k, stop_buffer_m=settings().stop_buffer_m
    )
    return fmap, layers


def ranking_downloads(ranking: Ranking) -> None:
    """Download buttons for the ranking: CSV and GeoJSON (:func:`export.ranking_layer`)."""
    layer = ranking_layer(ranking)
    left, right = st.columns(2)
    left.download_button(
        "Classement (CSV)",
        pd.DataFrame(layer.drop(columns="geometry")).to_csv(index=False).encode("utf-8-sig"),
        file_name="priorites.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    right.download_button(
        "Classement (GeoJSON)",
        layer.to_json(drop_id=True).encode("utf-8"),
        file_name="priorites.geojson",
        mime="application/geo+json",
        icon=":material/map:",
    )


def zone_card(ranking: Ranking, zone: str) -> None:
    """A zone's score and the reasons of its rank, in French."""
    row = ranking.table.set_index("code").loc[zone]
    st.metric(f"{row['nom']} — rang {int(row['rang'])}", f"{row['score']:.0f} / 100")
    for reason in row["raisons"]:
        st.markdown(f"- {reason}")


def zone_indicator_table(ranking: Ranking, zone: str) -> None:
    """A zone's indicators: French label, value, unit and source."""
    values = ranking.indicators.values.loc[zone]
    lines = [
        {
            "Indicateur": meta.label_fr,
            "Valeur": _shown(values[name]),
            "Unité": meta.unit,
            "Source": meta.source,
        }
        for name, meta in INDICATORS.items()
        if name in values.index and not _missing(values[name])
    ]
    st.dataframe(pd.DataFrame(lines), hide_index=True, width="stretch")


def slot_heatmap(profile: Profile) -> None:
    """The protected weekday × 2-hour profile as a heatmap (suppressed slots left blank)."""
    table = profile.table.assign(jour_fr=profile.table["jour"].map(dict(enumerate(WEEKDAYS_FR))))
    scope = "de la zone" if profile.scope == "zone" else "du territoire (repli)"
    chart = (
        alt.Chart(table)
        .mark_rect()
        .encode(
            x=alt.X("debut:O", title="Heure de début du créneau"),
            y=alt.Y("jour_fr:N", sort=list(WEEKDAYS_FR), title=None),
            color=alt.Color("contacts:Q", title="Contacts", scale=alt.Scale(scheme="blues")),
            tooltip=[
                alt.Tooltip("creneau", title="Créneau"),
                alt.Tooltip("libelle", title="Contacts"),
            ],
        )
    )
    st.markdown(f"**Présence observée par créneau**, profil {scope} (chiffres protégés)")
    st.altair_chart(chart, width="stretch")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",").removesuffix(",00")
    return str(value)
