"""Import user and official files into a workspace: one entry point, one report each.

``import_file(ws, kind, path)`` reads the file with the reader of its kind, stores
what was accepted and returns the :class:`~territory.report.ImportReport`. The demo
territory goes through exactly these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from territory import boundaries, contacts, mobility, partners
from territory._errors import ValidationError, WorkspaceError
from territory.report import ImportReport
from territory.settings import Settings
from territory.store import Workspace

KINDS = ("communes", "density", "qpv", "partners", "gtfs", "contacts")


def import_file(
    ws: Workspace,
    kind: str,
    path: str | Path,
    *,
    settings: Settings,
    crs: str | None = None,
    vintage: str = "",
    licence: str = "",
    mapping: Mapping[str, str] | None = None,
    today: date | None = None,
) -> ImportReport:
    """Read ``path`` as ``kind`` (one of :data:`KINDS`), store it in ``ws`` and report."""
    importers: dict[str, Callable[..., ImportReport]] = {
        "communes": _communes,
        "density": _density,
        "qpv": _qpv,
        "partners": _partners,
        "gtfs": _gtfs,
        "contacts": _contacts,
    }
    if kind not in importers:
        raise ValidationError(f"type d'import inconnu « {kind} » (attendu : {', '.join(KINDS)})")
    return importers[kind](
        ws,
        Path(path),
        settings=settings,
        crs=crs,
        vintage=vintage,
        licence=licence,
        mapping=mapping,
        today=today,
    )


def _communes(
    ws: Workspace, path: Path, *, crs: str | None, vintage: str, licence: str, **_: object
) -> ImportReport:
    communes, report = boundaries.read_communes(path, crs=crs)
    if ws.has("density_classes"):  # density imported first: join it now
        communes = boundaries.with_density(communes, ws.read_table("density_classes"), report)
    ws.write_layer(
        "communes",
        communes,
        source=path.name,
        vintage=vintage,
        licence=licence,
        source_crs=_crs_name(communes),
    )
    return report


def _density(ws: Workspace, path: Path, *, vintage: str, licence: str, **_: object) -> ImportReport:
    classes, report = boundaries.read_density_classes(path)
    ws.write_table("density_classes", classes, source=path.name, vintage=vintage, licence=licence)
    if ws.has("communes"):
        info = ws.layers()["communes"]
        communes = boundaries.with_density(ws.read_layer("communes"), classes, report)
        ws.write_layer(
            "communes",
            communes,
            source=info.source,
            vintage=info.vintage,
            licence=info.licence,
            source_crs=info.source_crs,
        )
    return report


def _qpv(
    ws: Workspace, path: Path, *, crs: str | None, vintage: str, licence: str, **_: object
) -> ImportReport:
    communes = ws.read_layer("communes") if ws.has("communes") else None
    qpv, report = boundaries.read_qpv(path, communes=communes, crs=crs)
    if ws.has("qpv"):  # keep the other generation (2015 and 2024 live side by side)
        kept = ws.read_layer("qpv")
        kept = kept[~kept["generation"].isin(qpv["generation"].dropna().unique())]
        qpv = gpd.GeoDataFrame(
            pd.concat([kept, qpv.to_crs(kept.crs)], ignore_index=True), crs=kept.crs
        )
    ws.write_layer(
        "qpv", qpv, source=path.name, vintage=vintage, licence=licence, source_crs=_crs_name(qpv)
    )
    return report


def _partners(
    ws: Workspace, path: Path, *, vintage: str, licence: str, **_: object
) -> ImportReport:
    layer, report = partners.read_partners(path)
    ws.write_layer("partners", layer, source=path.name, vintage=vintage, licence=licence)
    return report


def _gtfs(
    ws: Workspace,
    path: Path,
    *,
    settings: Settings,
    vintage: str,
    licence: str,
    today: date | None,
    **_: object,
) -> ImportReport:
    feed, report = mobility.read_gtfs(path)
    day = mobility.reference_weekday(feed, today=today or date.today())
    stops = mobility.stops_layer(feed, day=day)
    ws.write_layer(
        "stops", stops, source=path.name, vintage=vintage or day.isoformat(), licence=licence
    )
    ws.set_property("gtfs_reference_day", day.isoformat())
    if ws.has("communes"):
        area = ws.read_layer("communes", columns=["code"])
        gaps = mobility.service_gaps(area, stops, buffer_m=settings.stop_buffer_m)
        ws.write_layer(
            "service_gaps",
            gaps,
            source=f"calculé depuis {path.name}",
            vintage=day.isoformat(),
            licence=licence,
        )
    else:
        report.note("zones blanches non calculées : importez d'abord les communes")
    return report


def _contacts(
    ws: Workspace, path: Path, *, settings: Settings, mapping: Mapping[str, str] | None, **_: object
) -> ImportReport:
    if not ws.has("communes"):
        raise WorkspaceError(
            "importez d'abord les communes : chaque contact est rattaché à sa commune"
        )
    result = contacts.read_contacts(
        path,
        communes=ws.read_layer("communes", columns=["code"]),
        secret=contacts.load_secret(settings),
        mapping=mapping,
    )
    rows = result.rows
    if ws.has("contacts"):
        known = set(ws.read_table("contacts", columns=["fingerprint"])["fingerprint"])
        fresh = ~rows["fingerprint"].isin(known)
        if (~fresh).any():
            result.report.note(
                f"{int((~fresh).sum())} contact(s) déjà présents (import précédent) : non ajoutés"
            )
        rows = rows[fresh]
    ws.write_table(
        "contacts",
        rows,
        source=path.name,
        vintage=_period(result.rows),
        licence="données de l'équipe (pseudonymisées)",
        append=True,
    )
    return result.report


def _period(rows: pd.DataFrame) -> str:
    return f"{rows['date'].min()} → {rows['date'].max()}" if len(rows) else ""


def _crs_name(gdf: gpd.GeoDataFrame) -> str | None:
    return None if gdf.crs is None else gdf.crs.to_string()
