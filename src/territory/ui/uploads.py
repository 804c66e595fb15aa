"""Uploaded files into the workspace, shared by the Données and Contacts pages.

Imports with their French report, contact exports previewed then imported.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from territory import Settings
from territory._fr import format_number
from territory.ingest import KINDS, import_file
from territory.io._sheets import is_spreadsheet, sheet_names
from territory.io.contacts import ContactsPreview, preview_contacts, side_file_paths
from territory.io.report import ImportReport
from territory.store import Workspace
from territory.ui.login import downloaded

__all__ = [
    "APP_AUTHOR",
    "IMPORT_LABELS",
    "ONLINE_GEOCODING_LABEL",
    "ONLINE_GEOCODING_WARNING",
    "ContactsImport",
    "import_contacts_upload",
    "import_kinds",
    "import_label",
    "import_upload",
    "preview_upload",
    "show_contacts_import",
    "show_import_report",
    "upload_sheets",
]

IMPORT_LABELS = {
    "communes": "Contours des communes (GeoJSON, GeoPackage, Shapefile)",
    "communes-table": "Table des communes du COG (CSV, XLSX)",
    "density": "Grille communale de densité INSEE (CSV, XLSX)",
    "qpv": "Quartiers prioritaires, QPV 2024 ou 2015 (GeoJSON, GeoPackage, Shapefile)",
    "partners": "Partenaires (CSV, XLSX, liste France services)",
    "gtfs": "Réseau de transport en commun (GTFS, .zip)",
    "contacts": "Contacts de l'équipe (CSV, XLSX : anonymisés dès l'import)",
    "parcours": "Parcours des jeunes : entrées, sorties et situations (CSV, XLSX : pseudonymisés)",
    "places": "Lieux d'aller-vers des tournées (CSV, XLSX, GeoJSON, extrait OpenStreetMap .osm)",
    "ban": "Adresses de la BAN d'un département (adresses-XX.csv.gz : géocodage sur place)",
    "population": "Population par âge du recensement INSEE, par IRIS ou commune (CSV, XLSX)",
    "filosofi": "Carreaux Filosofi 200 m de l'INSEE (GeoPackage, CSV)",
    "reseau": "Réseau routier et chemins OpenStreetMap (extrait .osm : temps de trajet)",
}
"""French label of each import kind, in the order of the form."""
ONLINE_GEOCODING_LABEL = "Contacts : géocoder en ligne les adresses introuvables sur place"
"""The per-import opt-in of the online BAN for contacts (unchecked by default)."""
ONLINE_GEOCODING_WARNING = (
    "⚠️ Les adresses des personnes que la BAN importée ne trouve pas seront envoyées à un "
    "service en ligne (api-adresse.data.gouv.fr) : elles quittent alors cet ordinateur. "
    "Les réponses ne sont jamais gardées. Sans cette case, ces lignes restent « à géocoder »."
)
"""What checking :data:`ONLINE_GEOCODING_LABEL` means, shown beside the box."""
APP_AUTHOR = "application"
"""The author the app records in the batch log (it has no user accounts)."""


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
    replace: bool = False,
    sheet: str | None = None,
    network: str | None = None,
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
    settings, vintage, licence, crs, replace, sheet
        Passed to :func:`territory.ingest.import_file` (``crs`` for files that declare
        none; ``replace``: partners replace the stored ones instead of adding to them;
        ``sheet``: the workbook's sheet to read; ``network``: a GTFS feed's network name).

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
            replace=replace,
            author=APP_AUTHOR,
            sheet=sheet,
            network=network,
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


def upload_sheets(filename: str, data: bytes) -> list[str]:
    """The non-empty sheets of an uploaded workbook (none for another kind of file)."""
    if not is_spreadsheet(Path(filename)):
        return []
    with _uploaded(filename, data) as path:
        return sheet_names(path)


def preview_upload(filename: str, data: bytes, *, sheet: str | None = None) -> ContactsPreview:
    """The first rows and the detected columns of an uploaded contact export."""
    with _uploaded(filename, data) as path:
        return preview_contacts(path, sheet=sheet)


def import_contacts_upload(
    ws: Workspace,
    filename: str,
    data: bytes,
    *,
    settings: Settings,
    mapping: dict[str, str] | None = None,
    geocode_online: bool = False,
    sheet: str | None = None,
) -> ContactsImport:
    """Import an uploaded contact export with an explicit column ``mapping``.

    Addresses are geocoded against the imported BAN, and online only with
    ``geocode_online`` (the page's opt-in box, :data:`ONLINE_GEOCODING_LABEL`); ``sheet``
    is the workbook's sheet to read. The
    refused and pending rows written beside the temporary copy are read back before it
    is deleted (see :class:`ContactsImport`).
    """
    with _uploaded(filename, data) as path:
        report = import_file(
            ws, "contacts", path, settings=settings, mapping=mapping,
            geocode_online=geocode_online, author=APP_AUTHOR, sheet=sheet,
        )  # fmt: skip
        side = side_file_paths(path)

        def read(target: Path | None) -> bytes | None:
            return target.read_bytes() if target is not None and target.exists() else None

        # the side files live in the temporary folder, deleted below: the page offers them
        # as downloads, so the notes point there, not to a path that no longer exists
        report.notes = [
            note.replace(f"écrite(s) dans {target}", "à télécharger ci-dessous")
            for note in report.notes
            for target in [side.refused if "refusée" in note else side.pending]
        ]
        return ContactsImport(report, read(side.refused), read(side.pending))


def show_contacts_import(done: ContactsImport, filename: str, *, workspace: str) -> None:
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
                downloaded(data, workspace=workspace, target=f"{stem}.{suffix}.csv"),
                file_name=f"{stem}.{suffix}.csv",
                mime="text/csv",
                icon=":material/download:",
            )


def show_import_report(report: ImportReport) -> None:
    """The import report in French: counts as metrics, refusals in a table, fixes, notes."""
    label = IMPORT_LABELS.get(report.kind, report.kind)
    message = f"Import terminé : {report.source} ({label})."
    if report.batch is not None:
        message += f" Lot n° {report.batch} : il s'annule plus bas, dans « Lots d'import »."
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
        column.metric(title, format_number(value))
    if report.refusals:
        st.markdown("**Lignes refusées**")
        refusals = [{"Ligne": str(r.row), "Motif": r.reason} for r in report.refusals]
        st.dataframe(pd.DataFrame(refusals), hide_index=True, use_container_width=True)
    if report.fixes:
        st.markdown("**Corrections**\n\n" + "\n".join(f"- {fix}" for fix in report.fixes))
    if report.notes:
        st.markdown("**À savoir**\n\n" + "\n".join(f"- {note}" for note in report.notes))


@contextmanager
def _uploaded(filename: str, data: bytes) -> Iterator[Path]:
    """The uploaded bytes as a file in a private temporary folder, deleted afterwards."""
    name = Path(filename.replace("\\", "/")).name or "fichier"
    with tempfile.TemporaryDirectory(prefix="territory-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path
