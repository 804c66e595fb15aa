"""Import user and official files into a workspace: one entry point, one report each.

``import_file(ws, kind, path)`` reads the file with the reader of its kind, stores
what was accepted and returns the :class:`~territory.io.report.ImportReport`. The demo
territory goes through exactly these functions.

When a commune attribute table (kind ``communes-table``, stored as the table
``commune_table``) is present, every commune code that enters the workspace is
brought to its COG vintage, whatever the import order: communes (renamed, merged
communes dissolved, population and EPCI filled), QPV links, partner ``code_insee``
and contact communes. Each translation is listed in the import's report.

Every import is a batch of the workspace's log (:mod:`territory.batches`): its author,
time, file name and counts are recorded, and :func:`undo_batch` undoes it (the contacts
of the batch deleted, or the layers it wrote put back as they were).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import sqlite3
import tempfile
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from territory import batches
from territory._errors import NetworkError, TerritoryError, ValidationError, WorkspaceError
from territory.analysis.need import AGE_IRIS_TABLE, AGE_TABLE, FILOSOFI_TABLE
from territory.analysis.priority import STOP_HOURS_TABLE
from territory.crs import GRID_CRS
from territory.ingest_roads import import_roads
from territory.ingest_transit import import_gtfs, refresh_transit_areas
from territory.io import addresses, ban, boundaries, cog, contacts, filosofi, geocoding, partners
from territory.io import parcours as parcours_file
from territory.io import population as census
from territory.io._sheets import is_spreadsheet
from territory.io._validate import normalise_name
from territory.io.report import ImportReport
from territory.privacy import parcours as parcours_rows
from territory.privacy import raw
from territory.privacy.pseudonyms import Occurrences, load_secret
from territory.privacy.published import count_before
from territory.roads import ROAD_LAYER
from territory.rounds import transit
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import (
    IMPORT_KINDS,
)

__all__ = [
    "COMMUNE_TABLE",
    "KINDS",
    "PARTNER_REACH_M",
    "SHEET_KINDS",
    "WRITES",
    "import_file",
    "purge_old_contacts",
    "undo_batch",
]

KINDS = IMPORT_KINDS
"""The kinds of file :func:`import_file` reads (:data:`territory.vocab.IMPORT_KINDS`)."""
COMMUNE_TABLE = "commune_table"
"""Workspace table holding the commune attribute table (COG vintage in its metadata)."""
_COMMUNES_VINTAGE = "communes_vintage"  # vintage given for the commune boundaries themselves
WRITES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # the transit areas are cut along the communes: recomputed with them
    "communes": (("communes", "service_gaps"), (_COMMUNES_VINTAGE,)),
    "communes-table": ((COMMUNE_TABLE, "communes", "qpv", "partners", "service_gaps"), ()),
    "density": (("density_classes", "communes"), ()),
    "qpv": (("qpv",), ()),
    "partners": (("partners",), ()),
    # rounds.transit keeps the hours of its links in "gtfs_transit_hours"
    "gtfs": (
        ("stops", STOP_HOURS_TABLE, transit.TRANSIT_LINKS, "service_gaps"),
        ("gtfs_reference_day", "gtfs_transit_hours"),
    ),
    "places": (("places",), ()),  # rounds.week.PLACES
    "parcours": ((parcours_rows.PARCOURS,), ()),
    "ban": ((ban.TABLE,), ()),
    "population": ((AGE_TABLE, AGE_IRIS_TABLE), ()),
    "filosofi": ((FILOSOFI_TABLE,), ()),
    "reseau": ((ROAD_LAYER,), ()),
}
"""Tables and properties each layer import may write: kept as they were, to undo it.

A table an import changes without being listed here makes its batch one that cannot be
undone (:func:`territory.batches.finish`). Contacts are not copied: their batch is undone
by deleting its rows.
"""


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
    geocode: bool = True,
    geocode_online: bool = False,
    add: bool = False,
    replace: bool = False,
    author: str | None = None,
    sheet: str | None = None,
    network: str | None = None,
) -> ImportReport:
    """Read ``path`` as ``kind`` (one of :data:`KINDS`), store it in ``ws`` and report.

    With ``geocode`` (the default), rows given by their address only are geocoded:
    partners (public addresses) against the BAN imported into the workspace (kind
    ``ban``), then with the online BAN (network, cached); contacts (people's addresses)
    against the imported BAN only, on this machine, unless ``geocode_online`` (an
    explicit opt-in for this import): then the addresses not found locally are sent to
    the online BAN, and its answers are never cached on disk. ``geocode=False`` keeps
    them all « à géocoder » (the demo, tests). Communes replace the stored ones unless
    ``add``: then they join them (a territory over several départements, one file each);
    a commune already stored is replaced by the file's. Partners join the stored ones:
    a partner of the file with a stored partner's id, or name and address, updates it
    (« mis à jour »), the others are added, and stored partners absent from the file are
    kept; with ``replace``, the file's partners replace them all.

    A GTFS feed is one transit network named ``network`` (default: its agencies'
    names, or the file name; :mod:`territory.io.gtfs_networks`): it adds its stops,
    hours and links, or replaces those of the network of that name, and the
    ``service_gaps`` layer is recomputed over every network
    (:mod:`territory.analysis.transit_coverage`).

    ``sheet`` names the sheet to read in a workbook (contacts, partners, places, commune
    table, density grid); without it, a workbook with several candidate sheets is
    refused with their names (:class:`territory.io._sheets.SheetChoiceError`). The
    report names the sheet read.

    The import is recorded as a batch (:mod:`territory.batches`) by ``author`` (default:
    the OS user), with the file's base name and the report's counts; the report's
    ``batch`` is its id. An import that fails leaves no batch, and the layers it had
    begun to write are put back.
    """
    importers: dict[str, Callable[..., ImportReport]] = {
        "communes": _communes,
        "communes-table": _communes_table,
        "density": _density,
        "qpv": _qpv,
        "partners": _partners,
        "gtfs": import_gtfs,
        "contacts": _contacts,
        "parcours": _parcours,
        "places": _places,
        "ban": _ban,
        "population": _population,
        "filosofi": _filosofi,
        "reseau": import_roads,
    }
    if kind not in importers:
        raise ValidationError(f"type d'import inconnu « {kind} » (attendu : {', '.join(KINDS)})")
    if sheet is not None and (kind not in SHEET_KINDS or not is_spreadsheet(Path(path))):
        raise ValidationError(
            f"feuille « {sheet} » demandée, mais {Path(path).name} n'est pas un classeur "
            f"(.xlsx, .ods) d'un type qui en a ({', '.join(SHEET_KINDS)})"
        )
    tables, properties = WRITES.get(kind, ((), ()))
    batch = batches.begin(
        ws, kind, file=Path(path).name, author=author, tables=tables, properties=properties
    )
    try:
        report = importers[kind](
            ws,
            Path(path),
            settings=settings,
            crs=crs,
            vintage=vintage,
            licence=licence,
            mapping=mapping,
            today=today,
            geocode=geocode,
            geocode_online=geocode_online,
            add=add,
            replace=replace,
            lot=batch.id,
            sheet=sheet,
            **({"network": network} if kind == "gtfs" else {}),
        )
        if report.accepted == 0 and report.pending == 0 and kind in _REPLACING:
            raise ValidationError(_nothing_accepted(report, Path(path).name, kind))
    except BaseException:
        with contextlib.suppress(TerritoryError, sqlite3.Error):  # the import's error matters
            batches.abort(ws, batch)
        raise
    report.batch = batch.id
    counts = {
        key: getattr(report, key)
        for key in ("read", "accepted", "fixed", "refused", "pending", "already")
    }
    batches.finish(ws, batch, counts=counts)
    return report


SHEET_KINDS = (
    *("communes-table", "density", "partners", "contacts", "parcours", "places"),
    "population",
)
"""Import kinds read from workbooks too (their ``sheet`` can be chosen)."""
_REPLACING = (
    *("communes", "communes-table", "density", "qpv", "partners", "gtfs", "places", "ban"),
    *("population", "filosofi", "reseau", "parcours"),
)
"""Layer kinds whose import writes its tables: one that accepts (or keeps pending) nothing
is refused whole, its tables put back."""


def _nothing_accepted(report: ImportReport, file: str, kind: str) -> str:
    """The French line of an import that accepted no row (its tables are put back)."""
    reasons = "; ".join(list(dict.fromkeys(r.reason for r in report.refusals))[:3])
    why = f" — {reasons}" if reasons else ""
    return (
        f"{file} : aucune ligne acceptée ({report.read} lue(s), {report.refused} refusée(s))"
        f"{why} ; import « {kind} » annulé, l'espace de travail est inchangé"
    )


def undo_batch(ws: Workspace, batch_id: int, *, author: str | None = None) -> batches.Batch:
    """Undo the batch ``batch_id``; returns the undo's own entry of the log.

    A batch of contacts or round feedback: its rows are deleted in one transaction with
    the log's update, then the file is compacted (nothing of them stays in it). A layer
    batch: the tables it wrote are put back as they were before it, when it is still the
    latest import of each of them. Anything that prevents it raises a French
    :class:`~territory.ValidationError`, and a failure leaves the workspace as it was.
    """
    batch = batches.get_batch(ws, batch_id)
    reason = batches.why_not_undoable(ws, batch)
    if reason:
        raise ValidationError(f"lot {batch.id} : {reason}")
    if batch.kind not in batches.ROW_KINDS:
        return batches.get_batch(ws, batches.undo_layers(ws, batch, author=author))
    entries: list[int] = []

    def log(con: sqlite3.Connection, deleted: int) -> None:
        entries.append(batches.log_undo(con, batch, author=author, counts={"deleted": deleted}))

    raw.delete_batches(ws, [batch.id], then=log)
    return batches.get_batch(ws, entries[0])


def purge_old_contacts(
    ws: Workspace,
    *,
    settings: Settings,
    today: date,
    older_than_months: int | None = None,
    author: str | None = None,
) -> tuple[str, date]:
    """Delete the contacts older than the retention (``settings.retention_months``).

    Returns the protected number of contacts deleted (``count_before``, never the raw
    one) and the cutoff day; pathways go by the same rule (``raw.purge``). The CLI and
    the « Données » page both call this.
    """
    months = settings.retention_months if older_than_months is None else older_than_months
    cutoff = raw.retention_cutoff(today, months)
    label = count_before(ws, cutoff, settings=settings)  # protected, like every count
    raw.purge(ws, older_than_months=months, today=today, author=author, published=label)
    return label, cutoff


def _communes(
    ws: Workspace,
    path: Path,
    *,
    settings: Settings,
    crs: str | None,
    vintage: str,
    licence: str,
    add: bool = False,
    **_: object,
) -> ImportReport:
    communes, report = boundaries.read_communes(path, crs=crs)
    source = path.name
    ws.set_property(_COMMUNES_VINTAGE, vintage)
    stored = _commune_table(ws)
    if stored is not None:  # table imported first: translate and complete now
        table, cog_vintage = stored
        communes = cog.apply_commune_table(communes, table, report)
        _drop_population_note(communes, report)
        vintage = _codes_vintage(vintage, cog_vintage)
    if ws.has("density_classes"):  # density imported first: join it now
        communes = boundaries.with_density(communes, ws.read_table("density_classes"), report)
    if add and ws.has("communes"):
        stored_communes = ws.read_layer("communes")
        kept = stored_communes[~stored_communes["code"].isin(set(communes["code"]))]
        report.note(
            f"{len(communes)} commune(s) ajoutée(s) aux {len(kept)} déjà importée(s) "
            f"({len(stored_communes) - len(kept)} remplacée(s))"
        )
        communes = pd.concat([kept, communes.to_crs(kept.crs)], ignore_index=True)
        source = f"{ws.layers()['communes'].source}, {path.name}"
    ws.write_layer(
        "communes",
        communes,
        source=source,
        vintage=vintage,
        licence=licence,
        source_crs=_crs_name(communes),
    )
    refresh_transit_areas(ws, settings=settings, report=report)
    return report


def _density(
    ws: Workspace,
    path: Path,
    *,
    vintage: str,
    licence: str,
    sheet: str | None = None,
    **_: object,
) -> ImportReport:
    classes, report = boundaries.read_density_classes(path, sheet=sheet)
    ws.write_table("density_classes", classes, source=path.name, vintage=vintage, licence=licence)
    if ws.has("communes"):
        communes = boundaries.with_density(ws.read_layer("communes"), classes, report)
        _rewrite(ws, "communes", communes)
    return report


def _population(
    ws: Workspace, path: Path, *, vintage: str, licence: str, sheet: str | None = None, **_: object
) -> ImportReport:
    """Census population by age (IRIS or commune) in current codes; unknown communes refused."""
    tables, report = census.read_population(path, sheet=sheet)
    ages, iris = tables.communes, tables.iris
    stored = _commune_table(ws)
    if stored is not None:
        table, cog_vintage = stored
        translation = cog.translation_table(table)
        ages["code"], pairs = cog.translate_codes(ages["code"], translation)
        for old, new in pairs:
            report.fix(f"commune {translation.describe(old, new)}")
        if iris is not None:
            iris["code"] = cog.translate_codes(iris["code"], translation)[0]
        ages = ages.groupby("code", sort=True)[census.COLUMNS].sum(min_count=1).reset_index()
        unknown = ~ages["code"].isin(set(table["code"]))
        rows = iris["code"].value_counts() if iris is not None else None
        for code in ages.loc[unknown, "code"]:
            n = 1 if rows is None else int(rows.get(code, 1))
            report.accepted -= n
            for _row in range(n):
                report.refuse(str(code), f"commune {code} inconnue du {cog_vintage}")
        ages = ages[~unknown]
        if iris is not None:
            iris = iris[iris["code"].isin(set(ages["code"]))]
    else:
        report.note("aucune table communale (COG) importée : codes des communes non vérifiés")
    report.check()
    if ws.has("communes"):
        codes = set(ws.read_table("communes", columns=["code"])["code"].astype(str))
        missing = sorted(codes - set(ages["code"]))
        report.note(
            f"{len(codes) - len(missing)} des {len(codes)} communes importées ont leur population "
            f"par âge{f' ; sans : {_listed(missing)}' if missing else ''}"
        )
    vintage = vintage or tables.vintage
    ws.write_table(AGE_TABLE, ages, source=path.name, vintage=vintage, licence=licence)
    if iris is not None:
        ws.write_table(AGE_IRIS_TABLE, iris, source=path.name, vintage=vintage, licence=licence)
    elif ws.has(AGE_IRIS_TABLE):  # IRIS figures of an earlier file would contradict these
        ws.delete_rows(AGE_IRIS_TABLE, "1 = 1")
    return report


def _filosofi(
    ws: Workspace, path: Path, *, vintage: str, licence: str, **_: object
) -> ImportReport:
    """Filosofi 200 m cells within the imported communes' extent (all without communes)."""
    within = None
    if ws.has("communes"):
        xmin, ymin, xmax, ymax = ws.read_layer("communes").to_crs(GRID_CRS).total_bounds
        within = (xmin - 200, ymin - 200, xmax, ymax)  # a cell is named by its corner
    cells, report = filosofi.read_filosofi(path, within=within)
    if within is not None and report.read == 0:
        raise ValidationError(
            f"{path.name} : aucun carreau dans l'emprise des communes importées (le fichier "
            "couvre un autre territoire) ; import « filosofi » annulé"
        )
    if within is None:
        report.note("aucune commune importée : tous les carreaux du fichier sont gardés")
    if not vintage:
        vintage = filosofi.filosofi_vintage(path.name) or "Filosofi ?"
        report.note(f"millésime « {vintage} » déduit du nom du fichier (précisez --vintage sinon)")
    ws.write_table(FILOSOFI_TABLE, cells, source=path.name, vintage=vintage, licence=licence)
    return report


def _listed(codes: list[str], most: int = 10) -> str:
    return ", ".join(codes[:most]) + (
        f" et {len(codes) - most} autre(s)" if len(codes) > most else ""
    )


def _qpv(
    ws: Workspace,
    path: Path,
    *,
    crs: str | None,
    vintage: str,
    licence: str,
    mapping: Mapping[str, str] | None = None,
    **_: object,
) -> ImportReport:
    """QPV of the territory: those of the file in the stored communes, whole; others left out.

    A file that leaves no QPV to store (every row refused or out of the territory) is
    refused as a whole: the QPV layer stays as it was (the batch puts it back).
    """
    if not ws.has("communes"):
        raise WorkspaceError(
            "importez d'abord les communes : seuls les QPV du territoire sont importés"
        )
    communes = ws.read_layer("communes")
    qpv, report = boundaries.read_qpv(path, communes=communes, crs=crs, mapping=mapping)
    inside = boundaries.in_communes(qpv, communes)
    outside = qpv[~inside]
    if len(outside):
        for code in outside["code"]:
            report.refuse(str(code), "hors du territoire (aucune commune importée ne le contient)")
        report.accepted -= len(outside)
        report.note(f"{len(outside)} QPV hors du territoire, non importés")
        qpv = qpv[inside.to_numpy()].reset_index(drop=True)
    report.check()
    if qpv.empty:
        reasons = sorted({r.reason for r in report.refusals})
        raise ValidationError(
            f"{path.name} : aucun QPV à importer ({report.read} lu(s), {report.refused} "
            f"refusé(s) : {' ; '.join(reasons[:3]) or 'fichier vide'}"
            f"{' ; …' if len(reasons) > 3 else ''}). Les QPV déjà importés sont inchangés."
        )
    stored = _commune_table(ws)
    if stored is not None:
        qpv = _translate_qpv(qpv, cog.translation_table(stored[0]), report)[0]
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
    ws: Workspace,
    path: Path,
    *,
    settings: Settings,
    vintage: str,
    licence: str,
    geocode: bool = False,
    replace: bool = False,
    sheet: str | None = None,
    **_: object,
) -> ImportReport:
    """Partners of the file added to those stored (or replacing them with ``replace``)."""
    layer, report = partners.read_partners(path, sheet=sheet)
    stored = _commune_table(ws)
    if stored is not None:
        layer = _translate_partners(layer, cog.translation_table(stored[0]), report)[0]
    if geocode:
        layer = _geocode_partners(layer, report, settings=settings, ws=ws)
    if ws.has("communes"):
        layer = _near_territory(layer, ws.read_layer("communes", columns=["code"]), report)
    source = path.name
    if ws.has("partners") and replace:
        before = len(ws.read_table("partners", columns=["nom"]))
        report.note(
            f"partenaires remplacés : {len(layer)} partenaire(s) de ce fichier, {before} "
            "de l'import précédent retiré(s)"
        )
    elif ws.has("partners"):
        layer, counts = _merge_partners(ws.read_layer("partners"), layer)
        report.note(
            f"partenaires : {counts['added']} ajouté(s), {counts['updated']} mis à jour, "
            f"{counts['kept']} conservé(s) de l'import précédent (absents de ce fichier)"
        )
        source = f"{ws.layers()['partners'].source}, {path.name}"
    ws.write_layer("partners", layer, source=source, vintage=vintage, licence=licence)
    return report


def _partner_keys(layer: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each partner's id (``""`` when none) and its normalised name and address."""
    ids = (
        layer["identifiant"].fillna("").astype(str).str.strip()
        if "identifiant" in layer
        else pd.Series("", index=layer.index)
    )
    names = layer["nom"].fillna("").astype(str).map(normalise_name)
    where = layer["adresse"].fillna("").astype(str).map(normalise_name)
    return ids, names + "|" + where


def _merge_partners(
    stored: gpd.GeoDataFrame, layer: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """The stored partners updated and completed by ``layer`` (a new file), and the counts.

    A partner of the file with the id of a stored one, or else with its name and
    address (accents, case, spacing and punctuation ignored), updates it in place;
    the others are added; stored partners absent from the file are kept.
    """
    for column in partners.PARTNER_COLUMNS:  # a layer stored before a column existed
        if column not in stored:
            stored[column] = ""
    stored = stored.to_crs(layer.crs)[[*partners.PARTNER_COLUMNS, "geometry"]]
    stored_ids, stored_keys = _partner_keys(stored)
    new_ids, new_keys = _partner_keys(layer)
    by_id = {v: i for i, v in stored_ids.items() if v}
    by_key = {v: i for i, v in stored_keys.items()}
    target = []
    for label in layer.index:
        found = by_id.get(new_ids[label]) if new_ids[label] else None
        target.append(found if found is not None else by_key.get(new_keys[label]))
    matched = pd.Series(target, index=layer.index, dtype=object)
    updated = matched.dropna()
    columns = [*partners.PARTNER_COLUMNS, "geometry"]
    news = layer.loc[updated.index, columns].set_axis(updated.to_numpy())
    news = news[~news.index.duplicated(keep="last")]  # a partner twice in the file: the last
    out = pd.concat([stored.drop(index=news.index), news]).loc[stored.index]
    added = layer.loc[matched.isna().to_numpy(), columns]
    kept = len(stored) - updated.nunique()
    merged = gpd.GeoDataFrame(
        pd.concat([out, added], ignore_index=True), geometry="geometry", crs=layer.crs
    )
    return merged, {"added": len(added), "updated": len(updated), "kept": kept}


PARTNER_REACH_M = 10_000
_MAX_NAMED = 10  # partners named in a "still to geocode" note


def _geocode_partners(
    layer: gpd.GeoDataFrame,
    report: ImportReport,
    *,
    settings: Settings,
    ws: Workspace | None = None,
) -> gpd.GeoDataFrame:
    """Place the partners « à géocoder » with the BAN; offline, they simply stay pending.

    The BAN imported into ``ws`` is tried first, on this machine (statut « géocodé (BAN
    locale, numéro, score 1,00) »); the online BAN then places the others (« géocodé
    (BAN, score 0,87) », answers cached: partner addresses are public). A geocoded
    partner moves from pending to accepted (one fix line each way); the others stay
    pending with their reason in a note. Never raises on network trouble, never drops a
    row.
    """
    pending = layer["statut"] == partners.STATUS_PENDING
    if ws is not None and pending.any():
        layer = _geocode_partners_locally(layer, pending, report, ws)
        pending = layer["statut"] == partners.STATUS_PENDING
    n = int(pending.sum())
    if not n:
        return layer
    try:
        found, notes = geocoding.geocode_addresses(
            layer.loc[pending, ["adresse", "code_insee"]], settings=settings
        )
    except NetworkError:
        report.note(f"BAN injoignable : {n} partenaire(s) restent « à géocoder »")
        report.check()
        return layer
    done = found.index[found["reason"].isna()]
    out = layer.copy()
    if len(done):
        points = gpd.points_from_xy(found.loc[done, "longitude"], found.loc[done, "latitude"])
        geometry = out.geometry.copy()
        geometry.loc[done] = gpd.GeoSeries(points, index=done, crs=out.crs)
        out = out.set_geometry(geometry)
        out.loc[done, "statut"] = [
            f"géocodé (BAN, score {geocoding.format_score(s)})" for s in found.loc[done, "score"]
        ]
        report.pending -= len(done)
        report.accept(len(done))
        report.fix(f"{len(done)} adresse(s) géocodée(s) avec la BAN", len(done))
    for message in notes:
        report.note(message)
    left = found.index[found["reason"].notna()]
    for label in left[:_MAX_NAMED]:
        report.note(f"« {out.at[label, 'nom']} » reste à géocoder : {found.at[label, 'reason']}")
    if len(left) > _MAX_NAMED:
        report.note(f"… et {len(left) - _MAX_NAMED} autre(s) partenaire(s) à géocoder")
    report.check()
    return out


def _geocode_partners_locally(
    layer: gpd.GeoDataFrame, pending: pd.Series, report: ImportReport, ws: Workspace
) -> gpd.GeoDataFrame:
    """The partners « à géocoder » that the imported BAN places (no network)."""
    codes = layer.loc[pending, "code_insee"].fillna("").astype(str)
    index = _ban_index(ws, None if (codes == "").any() else set(codes))
    if index is None:
        return layer
    found, notes = addresses.geocode_locally(
        layer.loc[pending, ["adresse", "code_insee"]], index, citycode="code_insee",
        communes=_commune_names(ws),
    )  # fmt: skip
    for message in notes:
        report.note(message.replace("adresse(s)", "adresse(s) de partenaire"))
    done = found.index[found["reason"].isna()]
    if not len(done):
        return layer
    out = layer.copy()
    points = gpd.points_from_xy(found.loc[done, "longitude"], found.loc[done, "latitude"])
    geometry = out.geometry.copy()
    geometry.loc[done] = gpd.GeoSeries(points, index=done, crs=out.crs)
    out = out.set_geometry(geometry)
    out.loc[done, "statut"] = [
        f"géocodé (BAN locale, {kind}, score {geocoding.format_score(score)})"
        for kind, score in zip(found.loc[done, "type"], found.loc[done, "score"], strict=True)
    ]
    report.pending -= len(done)
    report.accept(len(done))
    report.fix(f"{len(done)} adresse(s) géocodée(s) avec la BAN importée (sans réseau)", len(done))
    return out


def _ban_index(ws: Workspace, codes: set[str] | None) -> addresses.BanIndex | None:
    """The imported BAN addresses of these communes (all when None), arranged; or None."""
    if not ws.has(ban.TABLE):
        return None
    where = None
    if codes is not None:
        valid = sorted(c for c in codes if re.fullmatch(r"\d{5}|2[AB]\d{3}", c))
        if not valid:
            return None
        where = "code_insee IN (" + ", ".join(f"'{c}'" for c in valid) + ")"
    columns = ["numero", "rep", "voie", "code_postal", "code_insee", "lon", "lat"]
    frame = ws.read_table(ban.TABLE, columns=columns, where=where)
    return (
        addresses.BanIndex.build(frame.fillna({"rep": "", "code_postal": ""}))
        if len(frame)
        else None
    )


def _commune_names(ws: Workspace) -> dict[str, str]:
    """INSEE code → name of the stored communes (to find commune names in addresses)."""
    if not ws.has("communes"):
        return {}
    table = ws.read_table("communes", columns=["code", "nom"]).dropna()
    return dict(zip(table["code"].astype(str), table["nom"].astype(str), strict=True))


def _near_territory(
    layer: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, report: ImportReport
) -> gpd.GeoDataFrame:
    """Keep partners within :data:`PARTNER_REACH_M` of the communes (people cross borders).

    A national list (France services) thus gives the territory's partners and its
    neighbours'; the others are refused with the reason, and partners still waiting
    for geocoding are kept.
    """
    reach = communes.to_crs(2154).union_all().buffer(PARTNER_REACH_M)
    located = layer.geometry.notna()
    inside = pd.Series(True, index=layer.index)
    inside[located] = layer.loc[located].to_crs(2154).within(reach).to_numpy()
    for name in layer.loc[~inside, "nom"]:
        report.accepted -= 1
        report.refuse(str(name), f"hors du territoire (à plus de {PARTNER_REACH_M // 1000} km)")
    report.check()
    return layer[inside]


def _contacts(
    ws: Workspace,
    path: Path,
    *,
    settings: Settings,
    mapping: Mapping[str, str] | None,
    geocode: bool = False,
    geocode_online: bool = False,
    today: date | None = None,
    lot: int | None = None,
    sheet: str | None = None,
    **_: object,
) -> ImportReport:
    """Read, anonymise and append the contacts of batch ``lot``, in one transaction.

    Contacts dated after ``today`` (default: the day of the import) or before the
    retention period (``settings.retention_months``) are refused with their reason.

    Rows already stored (same fingerprint: the same normalised rows, from an earlier
    import of the file or of another layout of it) are not added again, and the report
    says how many (``already``). Rows stored before batches existed were fingerprinted
    from the file's fields: while the workspace holds some, that earlier fingerprint is
    computed too, so that a file imported then is not doubled now. Memory holds one chunk
    of the file, and the stored fingerprints when the workspace already has contacts.
    With ``geocode``, rows given by an address only are geocoded on this machine against
    the imported BAN, and with the online BAN only if ``geocode_online``
    (:func:`_geocode_contacts`); the others stay « à géocoder », written beside the file.
    """
    if not ws.has("communes"):
        raise WorkspaceError(
            "importez d'abord les communes : chaque contact est rattaché à sa commune"
        )
    communes = ws.read_layer("communes", columns=["code"])
    if (mine := ws.writable_communes()) is not None:  # a user's session on the server: the
        # rows of their territories' communes; the others refused and reported, not written
        communes = communes[communes["code"].astype(str).isin(mine)].reset_index(drop=True)
    secret = load_secret(settings)
    day = today or date.today()
    legacy = raw.has_rows_before_batches(ws)
    layers = ws.layers()  # read before the writer's transaction, which locks the file
    before = layers[raw.CONTACTS].vintage if raw.CONTACTS in layers else ""
    with raw.contact_writer(
        ws, source=path.name, licence="données de l'équipe (pseudonymisées)", lot=lot
    ) as table:
        fresh = _FreshContacts(table, raw.stored_fingerprints(ws), k=settings.k, legacy=legacy)
        dates = (raw.retention_cutoff(day, settings.retention_months), day)
        result = contacts.read_contacts(
            path, communes=communes, secret=secret, mapping=mapping, sink=fresh, dates=dates,
            sheet=sheet,
        )  # fmt: skip
        if geocode and len(result.pending):
            result = _geocode_contacts(
                result, path, mapping=mapping, communes=communes, secret=secret,
                sink=fresh, settings=settings, dates=dates, ws=ws, online=geocode_online,
                sheet=sheet,
            )  # fmt: skip
        table.vintage = fresh.period() if fresh.people else before  # nothing new: kept
    # Refused and pending rows are person-level: written beside the team's own file
    # (which already holds them), never into the workspace.
    contacts.write_side_files(result, path)
    result.report.already = fresh.already
    if mine is not None:
        result.report.note(
            f"import limité aux {len(mine)} commune(s) de vos territoires : les contacts "
            "d'ailleurs sont refusés (« hors du territoire »)"
        )
    if fresh.already:
        result.report.note(
            f"{fresh.already} contact(s) déjà présents (import précédent) : non ajoutés"
        )
    return result.report


def _parcours(
    ws: Workspace,
    path: Path,
    *,
    settings: Settings,
    mapping: Mapping[str, str] | None,
    today: date | None = None,
    sheet: str | None = None,
    **_: object,
) -> ImportReport:
    """Read a team's parcours export, pseudonymise it and merge it into the stored rows.

    Entries dated after ``today`` or before the retention period are refused. A pathway
    already stored (same person, same entry month) is not added again (``already``); one
    whose exit changed is updated (counted in ``fixed``, said in a note). The batch keeps
    the table as it was, so undoing it puts the pathways back as they were.
    """
    day = today or date.today()
    dates = (raw.retention_cutoff(day, settings.retention_months), day)
    rows, report = parcours_file.read_parcours(
        path, secret=load_secret(settings), dates=dates, mapping=mapping, sheet=sheet
    )
    added, updated, already = parcours_rows.store_parcours(ws, rows, source=path.name)
    report.already = already
    if already:
        report.note(f"{already} parcours déjà présents (import précédent) : non ajoutés")
    if updated:
        report.note(f"{updated} parcours déjà présents mis à jour (sortie ou situation changée)")
    if not report.accepted:
        return report
    report.note(
        f"{added} parcours ajouté(s) ; les identifiants sont pseudonymisés avec le secret de "
        "l'espace de travail (comme ceux des contacts) et les dates gardées au mois"
    )
    return report


_BAN_FILES = "ban_departements"  # property: {département: [file name, vintage]} (JSON)


def _ban(ws: Workspace, path: Path, *, vintage: str, licence: str, **_: object) -> ImportReport:
    """The BAN addresses of a département: they replace that département's, keep the others.

    The file is read block by block (:func:`territory.io.ban.read_ban`); the first block
    of a département deletes its addresses of an earlier import, in the same transaction
    as the new rows, so that a failed import changes nothing. Contacts and partners
    given by an address are then geocoded against this table, on this machine.
    """
    vintage = vintage or f"fichier du {date.fromtimestamp(path.stat().st_mtime).isoformat()}"
    files: dict[str, list[str]] = json.loads(ws.get_property(_BAN_FILES) or "{}")
    replaced: dict[str, int] = {}
    added: dict[str, int] = {}

    def write(rows: pd.DataFrame) -> None:
        for dep, count in rows["departement"].value_counts(sort=False).items():
            if dep not in replaced:
                replaced[str(dep)] = table.delete("departement = ?", (str(dep),))
            added[str(dep)] = added.get(str(dep), 0) + int(count)
        table.append(rows)

    with ws.appending(
        ban.TABLE, schema=ban.empty_table(), source=path.name, licence=licence or ban.LICENCE
    ) as table:
        report = ban.read_ban(path, sink=write)
        files |= {dep: [path.name, vintage] for dep in added}
        table.vintage = ", ".join(f"{dep} : {v}" for dep, (_, v) in sorted(files.items()))
        table.source = ", ".join(dict.fromkeys(name for _, (name, _v) in sorted(files.items())))
    if added:
        ws.set_property(_BAN_FILES, json.dumps(files, ensure_ascii=False))
    for dep in sorted(added):
        report.note(
            f"département {dep} : {replaced[dep]} adresse(s) de l'import précédent remplacée(s) "
            f"par les {added[dep]} de ce fichier"
            if replaced[dep]
            else f"département {dep} : {added[dep]} adresse(s) ajoutée(s)"
        )
    if not added:
        report.note("aucune adresse acceptée : les adresses déjà importées sont inchangées")
    counts = ws.query(
        f'SELECT departement, count(*) AS n FROM "{ban.TABLE}" GROUP BY departement'
    ).set_index("departement")["n"]
    kept = [f"{dep} ({int(n)} adresse(s))" for dep, n in counts.items() if dep not in added]
    if kept:
        report.note(f"adresses des autres départements conservées : {', '.join(kept)}")
    report.note(
        f"source : {ban.ATTRIBUTION} ({licence or ban.LICENCE}) ; adresses publiques, qui "
        "servent à géocoder les contacts sur cette machine, sans réseau"
    )
    return report


def _places(
    ws: Workspace, path: Path, *, crs: str | None, sheet: str | None = None, **_: object
) -> ImportReport:
    """Candidate places of the rounds (parc, gare, marché…), added to those stored.

    A team's file (:func:`territory.rounds.week.read_places`), or an OpenStreetMap extract
    (``.osm``, OSM GeoJSON, Overpass JSON: :func:`territory.io.osm.places_from_osm`).
    """
    from territory.io import osm
    from territory.rounds import week as plans

    if not ws.has("communes"):
        raise WorkspaceError(
            "importez d'abord les communes : chaque lieu est rattaché à sa commune"
        )
    communes = ws.read_layer("communes")
    if sheet is None and osm.is_osm_file(path):
        places, report = osm.places_from_osm(path, communes=communes)
    else:
        places, report = plans.read_places(path, communes=communes, crs=crs, sheet=sheet)
    if len(places):
        total = plans.add_places(ws, places, source=path.name)
        report.note(f"{len(places)} lieu(x) ajouté(s) : {total} lieu(x) candidat(s) en tout")
    return report


def _geocode_contacts(
    result: contacts.ContactsRead,
    path: Path,
    *,
    mapping: Mapping[str, str] | None,
    communes: gpd.GeoDataFrame,
    secret: bytes,
    sink: contacts.RowSink,
    settings: Settings,
    dates: tuple[date, date],
    ws: Workspace,
    online: bool = False,
    sheet: str | None = None,
) -> contacts.ContactsRead:
    """Geocode the rows « à géocoder », then anonymise them like the others.

    People's addresses never leave the machine by default (privacy v2): they are matched
    against the BAN imported into the workspace (:func:`addresses.geocode_locally`).
    Only with ``online`` (an explicit opt-in for this import) are the addresses still
    unplaced sent to the online BAN, without its on-disk cache (``cache=False``: neither
    the request nor the answer is written anywhere). The geocoded rows get a longitude
    and latitude and go through :func:`contacts.read_contacts` again (a temporary copy,
    deleted at once): the cell, not the address, is stored. Rows not placed stay
    pending; the report moves the placed ones from pending to accepted or refused, so
    that read = accepted + refused + pending holds, and says how many were placed
    locally, online, or left pending (never which addresses).
    """
    report, pending = result.report, result.pending
    columns = contacts.preview_contacts(path, sheet=sheet).found | dict(mapping or {})
    address = columns.get("adresse")
    if address is None or address not in pending:
        return result
    n = len(pending)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    local = np.zeros(n, dtype=bool)
    index = _ban_index(ws, set(communes["code"].astype(str)))
    if index is None:
        report.note(
            "géocodage sur place impossible : aucune adresse de la BAN importée pour ces "
            "communes (territory import ban adresses-XX.csv.gz, ou territory fetch)"
        )
    else:
        found, notes = addresses.geocode_locally(
            pending[[address]], index, address=address, communes=_commune_names(ws)
        )
        for message in notes:
            report.note(message.replace("adresse(s)", "adresse(s) de contact"))
        local = found["reason"].isna().to_numpy()
        lon[local] = found["longitude"].to_numpy()[local]
        lat[local] = found["latitude"].to_numpy()[local]
    remote = np.zeros(n, dtype=bool)
    rest = ~local
    if online and rest.any():
        try:
            found, notes = geocoding.geocode_addresses(
                pending.loc[rest, [address]].assign(code_insee=""),
                settings=settings, address=address, cache=False,
            )  # fmt: skip
        except NetworkError:
            report.note(f"BAN en ligne injoignable : {int(rest.sum())} contact(s) non géocodé(s)")
        else:
            for message in notes:
                report.note(message.replace("adresse(s)", "adresse(s) de contact"))
            remote[rest] = found["reason"].isna().to_numpy()
            lon[remote] = found["longitude"].to_numpy()[remote[rest]]
            lat[remote] = found["latitude"].to_numpy()[remote[rest]]
    done = local | remote
    left = n - int(done.sum())
    report.note(
        f"géocodage des contacts : {int(local.sum())} sur cette machine (BAN importée), "
        f"{int(remote.sum())} en ligne, {left} restent « à géocoder »"
        + ("" if online or not left else " (géocodage en ligne non demandé pour cet import)")
    )
    if not done.any():
        return result
    x = columns.get("longitude", "longitude_ban")
    y = columns.get("latitude", "latitude_ban")
    placed = pending[done].assign(
        **{x: [f"{v:.6f}" for v in lon[done]], y: [f"{v:.6f}" for v in lat[done]]}
    )
    with tempfile.TemporaryDirectory(prefix="territory-geocoded-") as folder:
        copy = Path(folder) / "geocodes.csv"
        placed.to_csv(copy, sep=";", index=False, encoding="utf-8")
        again = contacts.read_contacts(
            copy, communes=communes, secret=secret,
            mapping={**columns, "longitude": x, "latitude": y}, sink=sink, dates=dates,
        )  # fmt: skip
    report.pending -= int(done.sum())
    report.accept(again.report.accepted)
    for refusal in again.report.refusals:
        report.refuse("adresse", f"{refusal.reason} (adresse géocodée)")
    for count, where in (
        (int(local.sum()), "sur cette machine (BAN importée)"),
        (int(remote.sum()), "en ligne (BAN, réponses non conservées)"),
    ):
        if count:
            report.fix(f"{count} adresse(s) de contact géocodée(s) {where}", count)
    refused = pd.concat([result.refused_rows, again.refused_rows], ignore_index=True)
    return dataclasses.replace(
        result, report=report.check(), pending=pending[~done], refused_rows=refused
    )


class _FreshContacts:
    """The sink of :func:`contacts.read_contacts`: appends the rows not stored yet.

    It also counts the distinct people of each month read, so that the layer's vintage
    names only months with at least ``k`` people (:meth:`period`). With ``legacy``, a row
    whose fingerprint of the earlier scheme is stored counts as stored too.
    """

    def __init__(
        self, table: raw.ContactAppender, known: pd.Index, *, k: int, legacy: bool = False
    ) -> None:
        self.table, self.known, self.k = table, known, k
        self.legacy = legacy
        self.occurrences = Occurrences()
        self.already = 0
        self.people: dict[str, set[str]] = {}

    def write(self, rows: pd.DataFrame) -> None:
        if len(rows):
            person = rows["personne"].astype(object).where(rows["personne"] != "", None)
            who = person.fillna("row:" + rows["fingerprint"].astype(str))
            for month, people in who.groupby(rows["date"].astype(str).str[:7]):
                self.people.setdefault(str(month), set()).update(people.unique())
        if len(self.known):
            stored = self.known.get_indexer(rows["fingerprint"].to_numpy(dtype=object)) >= 0
            if contacts.LEGACY_FINGERPRINT in rows:
                earlier = rows[contacts.LEGACY_FINGERPRINT].to_numpy(dtype=object)
                stored |= self.known.get_indexer(earlier) >= 0
            self.already += int(stored.sum())
            rows = rows[~stored]
        self.table.append(rows.drop(columns=contacts.LEGACY_FINGERPRINT, errors="ignore"))

    def discard(self) -> None:
        self.table.discard()
        self.already = 0
        self.people = {}

    def period(self) -> str:
        """First and last month of the rows read that hold ``k`` people or more: the vintage.

        ``"2025-11 → 2026-10"``; a month of fewer people is never named (it would tell
        when they were met), and without such a month the vintage says so.
        """
        months = sorted(m for m, people in self.people.items() if len(people) >= self.k)
        if not months:
            return f"mois non publiés (moins de {self.k} personnes)" if self.people else ""
        return f"{months[0]} → {months[-1]}"


def _communes_table(
    ws: Workspace,
    path: Path,
    *,
    settings: Settings,
    vintage: str,
    licence: str,
    sheet: str | None = None,
    **_: object,
) -> ImportReport:
    table, report = cog.read_commune_table(path, sheet=sheet)
    if not vintage:
        guessed = cog.guess_vintage(path.name)
        vintage = guessed or cog.UNKNOWN_VINTAGE
        report.note(
            f"millésime « {guessed} » déduit du nom du fichier (précisez --vintage sinon)"
            if guessed
            else f"millésime du COG inconnu (« {cog.UNKNOWN_VINTAGE} ») : précisez --vintage, "
            "par exemple « COG 2026 »"
        )
    ws.write_table(COMMUNE_TABLE, table, source=path.name, vintage=vintage, licence=licence)
    translation = cog.translation_table(table)
    if ws.has("communes"):
        info = ws.layers()["communes"]
        communes = cog.apply_commune_table(
            ws.read_layer("communes"), table, report, translation=translation
        )
        if ws.has("density_classes"):  # codes changed: join the density classes again
            communes = boundaries.with_density(communes, ws.read_table("density_classes"), report)
        ws.write_layer(
            "communes",
            communes,
            source=info.source,
            vintage=_codes_vintage(_communes_vintage(ws, info.vintage), vintage),
            licence=info.licence,
            source_crs=info.source_crs,
        )
        refresh_transit_areas(ws, settings=settings, report=report)
    else:
        report.note(
            "aucune commune dans l'espace de travail : leurs codes seront traduits et complétés "
            "à leur import"
        )
    if ws.has("qpv"):
        qpv, changed = _translate_qpv(ws.read_layer("qpv"), translation, report)
        if changed:
            _rewrite(ws, "qpv", qpv)
    if ws.has("partners"):
        layer, changed = _translate_partners(ws.read_layer("partners"), translation, report)
        if changed:
            _rewrite(ws, "partners", layer)
    if raw.has_contacts(ws):
        _translate_contacts(ws, translation, report)
    return report


def _rewrite(ws: Workspace, name: str, layer: gpd.GeoDataFrame) -> None:
    """Write ``layer`` back under ``name``, keeping its source, vintage and licence."""
    info = ws.layers()[name]
    ws.write_layer(
        name,
        layer,
        source=info.source,
        vintage=info.vintage,
        licence=info.licence,
        source_crs=info.source_crs,
    )


def _commune_table(ws: Workspace) -> tuple[pd.DataFrame, str] | None:
    """The stored commune table (typed as when read) and its COG vintage, if any."""
    if not ws.has(COMMUNE_TABLE):
        return None
    vintage = ws.layers()[COMMUNE_TABLE].vintage or cog.UNKNOWN_VINTAGE
    return cog.normalise_table(ws.read_table(COMMUNE_TABLE)), vintage


def _communes_vintage(ws: Workspace, stored: str) -> str:
    """Vintage of the commune boundaries themselves, without any ``(codes …)`` suffix."""
    given = ws.get_property(_COMMUNES_VINTAGE)  # set by every communes import
    return given if given is not None else re.sub(r"\s*\(codes [^)]*\)$", "", stored)


def _codes_vintage(vintage: str, cog_vintage: str) -> str:
    """Communes vintage once their codes are translated: ``"2018 (codes COG 2026)"``."""
    return f"{vintage} (codes {cog_vintage})" if vintage else cog_vintage


def _drop_population_note(communes: gpd.GeoDataFrame, report: ImportReport) -> None:
    """The "no population in this file" note is stale once the table filled it."""
    if communes["population"].notna().any():
        report.notes = [n for n in report.notes if n != boundaries.NO_POPULATION_NOTE]


def _translate_qpv(
    qpv: gpd.GeoDataFrame, translation: cog.CodeTranslation, report: ImportReport
) -> tuple[gpd.GeoDataFrame, bool]:
    """QPV ``communes`` links in current codes; one fix per translation, naming the QPV."""
    links = qpv["communes"].astype("string").fillna("")
    translated, pairs = cog.translate_code_lists(links, translation)
    if not pairs:
        return qpv, False
    members = [set(re.split(r"\s*,\s*", text)) for text in links]
    for old, new in pairs:
        hit = [str(code) for code, m in zip(qpv["code"], members, strict=True) if old in m]
        report.fix(f"QPV {', '.join(hit)} : commune {translation.describe(old, new)}", len(hit))
    out = qpv.copy()
    out["communes"] = translated
    return out, True


def _translate_partners(
    layer: gpd.GeoDataFrame, translation: cog.CodeTranslation, report: ImportReport
) -> tuple[gpd.GeoDataFrame, bool]:
    """Partner ``code_insee`` in current codes; one fix per translation with its count."""
    codes = layer["code_insee"].astype("string")
    translated, pairs = cog.translate_codes(codes, translation)
    if not pairs:
        return layer, False
    for old, new in pairs:
        n = int((codes == old).sum())
        report.fix(f"code INSEE {translation.describe(old, new)} : {n} partenaire(s)", n)
    out = layer.copy()
    out["code_insee"] = translated.fillna("").astype(str)
    return out, True


def _translate_contacts(
    ws: Workspace, translation: cog.CodeTranslation, report: ImportReport
) -> None:
    """Stored contacts attached to a former commune code move to the current one."""

    def recode(codes: pd.Series) -> pd.Series | None:
        translated, pairs = cog.translate_codes(codes, translation)
        if not pairs:
            return None
        moved = int((codes != translated).fillna(False).sum())
        report.note(
            f"{moved} contact(s) rattaché(s) à leur commune actuelle : "
            + ", ".join(translation.describe(o, n) for o, n in pairs)
        )
        return translated

    raw.recode_communes(ws, recode)


def _crs_name(gdf: gpd.GeoDataFrame) -> str | None:
    return None if gdf.crs is None else gdf.crs.to_string()
