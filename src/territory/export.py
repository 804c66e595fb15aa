"""Export layers to GeoJSON, GeoPackage or CSV, and the shareable GeoPackage.

Contacts are never exported row by row: the ``density`` layer is the protected
aggregate of :func:`territory.views.density_layer` (an integer ``count`` ≥ k, or no
number where suppressed).

The workspace file holds pseudonymised contacts: it is personal data and is never
handed over. :func:`export_shareable` writes the file that may be (an evaluation team,
a partner, a funder): a new GeoPackage of published values only — public layers, the
protected density, the protected indicators and rankings, the programme territories with
their protected totals, and a metadata table (``privacy.md``, "The workspace file
itself").
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyogrio.errors

from territory import __version__
from territory._errors import ValidationError, plain_reason
from territory._fr import french_csv
from territory.analysis.indicators import indicator_sources
from territory.analysis.priority import (
    GROUP_LABELS,
    GROUPS,
    Ranking,
    default_moment,
    load_weights,
    rank_zones,
    zone_indicators_many,
)
from territory.analysis.zones import ZoneKind
from territory.crs import STORAGE_CRS
from territory.hours import format_hours_fr
from territory.privacy.published import published_months
from territory.privacy.raw import CONTACTS, has_contacts
from territory.settings import Settings
from territory.store import LayerInfo, Workspace
from territory.territories import (
    WHOLE_WORKSPACE,
    Territory,
    get_territory,
    list_territories,
    resolve,
)
from territory.views import (
    DENSITY,
    LAYER_LABELS,
    density_layer,
    density_parts,
    summaries_and_outlines,
    territory_layers,
)

__all__ = [
    "CSV_DECIMALS",
    "CSV_HEADERS",
    "FORMATS",
    "NOT_SHARED",
    "PUBLIC_LAYERS",
    "PUBLIC_TABLES",
    "SHAREABLE_SENTENCE",
    "Layers",
    "ShareReport",
    "disclosure_method",
    "export_layer",
    "export_ranking",
    "export_shareable",
    "exportable_layers",
    "layer_csv",
    "ranking_csv",
    "ranking_layer",
    "shareable_bytes",
    "shareable_layers",
    "write_fresh",
]

FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".csv": "CSV"}

CSV_HEADERS: dict[str, str] = {
    # communes, QPV, partners, stops, service gaps, places (the workspace's layers)
    "code": "Code",
    "nom": "Nom",
    "population": "Population",
    "epci": "EPCI (SIREN)",
    "departement": "Département",
    "densite": "Niveau de densité (INSEE)",
    "densite_libelle": "Densité (INSEE)",
    "generation": "Génération",
    "communes": "Communes (codes INSEE)",
    "type": "Type",
    "type_libelle": "Type (libellé)",
    "adresse": "Adresse",
    "code_insee": "Code INSEE",
    "horaires": "Horaires (OSM)",
    "horaires_fr": "Horaires",
    "telephone": "Téléphone",
    "statut": "Statut",
    "stop_id": "Identifiant de l'arrêt",
    "departs_jour": "Départs par jour",
    "reseau": "Réseau de transport",
    "etat": "État de la desserte",
    "lignes": "Lignes",
    "station": "Station (GTFS)",
    "ferre": "Desservi par train ou métro",
    "id": "Identifiant",
    "identifiant": "Identifiant (fichier source)",
    "duree": "Durée (min)",
    "priorite": "Priorité",
    "source": "Source",
    "longitude": "Longitude",
    "latitude": "Latitude",
    # the protected density
    "zone": "Zone",
    "level": "Niveau de la zone",
    "commune": "Commune (code INSEE)",
    "count": "Contacts (protégés)",
    "label": "Libellé",
    "area_km2": "Surface (km²)",
    # the ranking
    "rang": "Rang",
    "score": "Score de priorité (0-100)",
    **{g: f"Score {GROUP_LABELS[g].lower()} (0-100)" for g in GROUPS},
    "pourquoi": "Pourquoi",
}
"""French headers of the CSV exports, by column name; other columns keep their name.

Spreadsheets show these; GeoJSON and GeoPackage keep the short names (QGIS, scripts).
"""
CSV_DECIMALS: dict[str, int] = {
    "longitude": 6,
    "latitude": 6,
    "area_km2": 2,
    "score": 1,
    **dict.fromkeys(GROUPS, 1),
}
"""Decimals of the CSV exports' number columns (others: :data:`territory._fr.CSV_DECIMALS`)."""


def exportable_layers(ws: Workspace) -> list[str]:
    """Names that :func:`export_layer` accepts for this workspace."""
    names = [n for n, meta in ws.layers().items() if meta.spatial]
    return [*names, DENSITY] if has_contacts(ws) else names


def export_layer(
    ws: Workspace,
    name: str,
    out: str | Path,
    *,
    settings: Settings,
    breakdown: tuple[str, str] | None = None,
) -> int:
    """Write layer ``name`` to ``out``; returns the number of features written.

    ``breakdown`` (a filter of :data:`territory.views.BREAKDOWNS` and its value) applies
    to the ``density`` layer only, protected exactly as the map shows it.
    """
    out = Path(out)
    driver = FORMATS.get(out.suffix.lower())
    if driver is None:
        raise ValidationError(
            f"extension « {out.suffix} » non prise en charge (attendu : {', '.join(FORMATS)})"
        )
    if name == CONTACTS:
        raise ValidationError(
            "les contacts ne s'exportent que protégés : exportez la couche « density »"
        )
    if name not in exportable_layers(ws):
        raise ValidationError(
            f"couche « {name} » absente "
            f"(disponibles : {', '.join(exportable_layers(ws)) or 'aucune'})"
        )
    if breakdown is not None and name != DENSITY:
        raise ValidationError(f"--filter ne s'applique qu'à la couche « {DENSITY} »")
    gdf = (
        density_layer(ws, settings=settings, breakdown=breakdown)
        if name == DENSITY
        else ws.read_layer(name)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    if driver == "CSV":
        layer_csv(gdf, out)
    else:
        pyogrio.write_dataframe(gdf, out, layer=name, driver=driver)
    return len(gdf)


def layer_csv(gdf: gpd.GeoDataFrame, out: str | Path | None = None) -> bytes:
    """A layer as a French CSV (:func:`territory._fr.french_csv`): :data:`CSV_HEADERS`.

    Attributes, plus longitude and latitude (6 decimals) for point layers, and opening
    hours in French beside their OSM spelling; returns the bytes, written to ``out`` when
    given.
    """
    table = _table(gdf)
    if "horaires" in table:
        at = table.columns.get_loc("horaires")
        french = table["horaires"].fillna("").astype(str).map(format_hours_fr)
        table.insert(int(at), "horaires_fr", french)
    return french_csv(table, out, headers=CSV_HEADERS, decimals=CSV_DECIMALS)


def _table(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Attributes, plus lon/lat for point layers (polygons stay in GeoJSON/GPKG)."""
    table = pd.DataFrame(gdf.drop(columns="geometry"))
    present = gdf.geometry.notna() & ~gdf.geometry.is_empty
    if present.any() and gdf.geometry[present].geom_type.eq("Point").all():
        table["longitude"] = gdf.geometry.x.where(present).round(6)
        table["latitude"] = gdf.geometry.y.where(present).round(6)
    return table


def ranking_layer(ranking: Ranking) -> gpd.GeoDataFrame:
    """The ranked zones with their score, group scores and reasons (EPSG:4326).

    One row per zone, best first: ``rang``, ``code``, ``nom``, ``score`` (0-100), one
    column per weight group, ``pourquoi``, and the zone's geometry. Contact figures in
    the reasons are the protected ones of :mod:`territory.analysis.indicators`.
    """
    table = ranking.table.drop(columns=["raisons"], errors="ignore")
    zones = ranking.indicators.zones
    geometry = zones.geometry.reindex(table["code"].to_numpy()).to_numpy()
    return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geometry, crs=zones.crs)


def ranking_csv(ranking: Ranking, out: str | Path | None = None) -> bytes:
    """:func:`ranking_layer` without its geometry as a French CSV; returns the bytes.

    Scores with one decimal, French headers (:data:`CSV_HEADERS`), zone codes as text.
    """
    table = pd.DataFrame(ranking_layer(ranking).drop(columns="geometry"))
    return french_csv(table, out, headers=CSV_HEADERS, decimals=CSV_DECIMALS)


def export_ranking(ranking: Ranking, out: str | Path) -> int:
    """Write :func:`ranking_layer` to ``out`` (GeoJSON, GPKG or CSV by extension)."""
    out = Path(out)
    driver = FORMATS.get(out.suffix.lower())
    if driver is None:
        raise ValidationError(
            f"extension « {out.suffix} » non prise en charge (attendu : {', '.join(FORMATS)})"
        )
    gdf = ranking_layer(ranking)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    if driver == "CSV":
        ranking_csv(ranking, out)
    else:
        pyogrio.write_dataframe(gdf, out, layer="priorites", driver=driver)
    return len(gdf)


# -------------------------------------------------------------------- shareable export
SHAREABLE_SUFFIX = ".gpkg"
PUBLIC_LAYERS = ("communes", "qpv", "partners", "stops", "service_gaps")
"""Spatial layers copied as they are: official or public sources (``views.territory_layers``)."""
PUBLIC_TABLES = ("commune_table", "density_classes", "stop_hours", "transit_links")
"""Attribute tables copied as they are: the COG, the INSEE density grid, the GTFS timetable."""
NOT_SHARED = {
    "contacts": "journal des contacts pseudonymisés (donnée personnelle)",
    "territory_counts_*": "effectifs bruts des contacts (tenus par le stockage)",
    "teams": "équipes (bases, disponibilités : organisation interne)",
    "places": "lieux des tournées (organisation interne)",
    "plans": "versions des plans (auteurs, notes)",
    "plan_visits": "visites planifiées (organisation interne)",
    "territories": "remplacée par la couche « territories » des totaux protégés",
}
"""Workspace tables never copied, and why.

Any table outside :data:`PUBLIC_LAYERS` and :data:`PUBLIC_TABLES` is left out too (import
batches, address bases, tables to come): the shareable file is an allowlist, not the
workspace minus a blocklist.
"""
RULES_VERSION = "2"
"""The version of the disclosure rules (``privacy.md``) the published values follow."""
SHAREABLE_SENTENCE = (
    "Ce fichier ne contient que des valeurs publiées, protégées par les règles de diffusion "
    "de territory : aucun contact, aucune donnée individuelle. Il peut être partagé (équipe "
    "d'évaluation, partenaire, financeur)."
)
"""The French sentence of the ``shareable_metadata`` table."""
METADATA = "shareable_metadata"
LAYERS_TABLE = "shareable_layers"
QUARTERS = "density_quarters"
METHODS = "indicator_methods"
TERRITORIES = "territories"
_ZONE_KINDS: tuple[ZoneKind, ...] = ("commune", "qpv")
_INDICATORS = {"commune": "indicators_communes", "qpv": "indicators_qpv"}
_TITLES = {
    **LAYER_LABELS,
    "stop_hours": "Départs par arrêt, jour et heure (GTFS)",
    "transit_links": "Réseau de transport cadencé (GTFS)",
    QUARTERS: "Densité de contacts par trimestre (protégée)",
    "indicators_communes": "Indicateurs et priorités des communes (protégés)",
    "indicators_qpv": "Indicateurs et priorités des QPV (protégés)",
    METHODS: "Méthodes des indicateurs",
    TERRITORIES: "Territoires du programme et leurs totaux protégés",
    METADATA: "Métadonnées du fichier partageable",
    LAYERS_TABLE: "Couches du fichier partageable",
}
_READING = (
    "count : contacts protégés (publiés à partir de k, arrondis) ou vide quand la valeur "
    "n'est pas publiée (label : « < k » ou « secret ») ; zones : carreaux INSEE de 200 m "
    "ou de 1 km, ou reste de la commune."
)
_DESCRIPTIONS = {
    **dict.fromkeys(PUBLIC_LAYERS, "Couche publique, telle que dans l'espace de travail."),
    **dict.fromkeys(PUBLIC_TABLES, "Table publique, telle que dans l'espace de travail."),
    DENSITY: f"Densité de contacts protégée, comme la carte la montre. {_READING}",
    QUARTERS: (
        "Densité protégée par trimestre civil (colonne periode), comme le filtre de la "
        f"carte : les zones de la couche density. {_READING}"
    ),
    **dict.fromkeys(
        _INDICATORS.values(),
        "Classement par score de priorité (rang, score 0-100, scores des groupes, pourquoi) "
        "et indicateurs de chaque zone, comme la page « Où et quand » : contacts protégés "
        "(vides quand non publiés), taux calculés sur les valeurs publiées ; méthodes dans "
        "la table indicator_methods.",
    ),
    METHODS: (
        "Chaque indicateur des couches indicators_* : libellé, unité, méthode, couches "
        "sources et leurs millésimes."
    ),
    TERRITORIES: (
        "Chaque territoire (ou tout l'espace de travail) : contour, communes, QPV, "
        "partenaires et arrêts, population, total de contacts protégé (vide quand il n'est "
        "pas publié : voir contacts_libelle)."
    ),
    METADATA: f"Paramètres de diffusion et provenance de ce fichier. {SHAREABLE_SENTENCE}",
    LAYERS_TABLE: (
        "Chaque couche ou table de ce fichier : titre, description, source, millésime, "
        "licence, système de coordonnées, nombre de lignes."
    ),
}
_CLIPPED = " Restreinte aux territoires exportés."

Layers = dict[str, tuple[pd.DataFrame, str]]
"""Layers to write: name → (frame, description), in writing order."""


@dataclass(frozen=True)
class ShareReport:
    """What :func:`export_shareable` wrote.

    Attributes
    ----------
    path
        The shareable GeoPackage.
    layers
        Each layer or table written, with its number of rows, in writing order.
    territories
        The programme territories exported (empty: the whole workspace).
    notes
        French notes: what was left out because the workspace does not hold it.
    """

    path: Path
    layers: dict[str, int]
    territories: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_text(self) -> str:
        """One French line: the file, its scope and its layers."""
        scope = ", ".join(f"« {t} »" for t in self.territories) or "tout l'espace de travail"
        written = ", ".join(f"{name} ({n})" for name, n in self.layers.items())
        return (
            f"Fichier partageable écrit : {self.path} ({scope}), valeurs publiées "
            f"seulement — {len(self.layers)} couches et tables : {written}"
        )


def disclosure_method(settings: Settings) -> str:
    """The disclosure rules of every published value, in French, with their parameters."""
    return (
        f"aucune valeur publiée pour moins de k = {settings.k} personnes distinctes ; "
        "carreaux de 200 m sous le seuil regroupés dans leur carreau de 1 km puis dans le "
        "reste de la commune avant toute suppression (une seule partition protégée pour "
        "toutes les sorties infra-communales) ; secret secondaire (aucune valeur masquée "
        "ne se retrouve par addition ou soustraction) ; perturbation par clé de cellule "
        "(méthode de l'ONS, recensement 2021 : bruit de -5 à +5 tiré d'une table fixe par "
        "les clés aléatoires des enregistrements, le même pour les mêmes enregistrements) "
        f"puis arrondi au multiple de {settings.rounding} ; taux jamais calculés sur un "
        f"dénominateur sous k (règles de diffusion, version {RULES_VERSION})"
    )


def export_shareable(
    ws: Workspace,
    out: str | Path,
    *,
    settings: Settings,
    territories: Sequence[str] | None = None,
    today: date | None = None,
) -> ShareReport:
    """Write a new GeoPackage that holds only published values: it may be shared.

    The workspace file holds pseudonymised contacts (personal data): it is never handed
    over. This file is written afresh, layer by layer, from what the app publishes — not
    a copy of the workspace with tables deleted, whose freed pages could remain:

    - the public layers of :data:`PUBLIC_LAYERS` and tables of :data:`PUBLIC_TABLES`
      that the workspace holds, as they are (with ``territories``: clipped as
      :func:`territory.views.territory_layers` clips them, and the rows of the tables
      about their communes and stops);
    - ``density``: the protected density of :func:`territory.views.density_layer`, as the
      map shows it, and ``density_quarters``: the same for each calendar quarter (column
      ``periode``), as the map's quarter filter shows it;
    - ``indicators_communes`` and ``indicators_qpv``: the ranking of
      :func:`territory.analysis.priority.rank_zones` with the territory's saved weights
      (:func:`ranking_layer`) beside the indicators it is computed from (protected
      contact counts, rates, distances, service), one block per territory (column
      ``territoire``), as the "Où et quand" page shows them; ``indicator_methods``: the
      label, unit, method and source vintages of every indicator;
    - ``territories``: each programme territory (the whole workspace first when no
      territory is given) with its outline, its public figures and its protected contact
      total (:func:`territory.views.summary`);
    - ``shareable_metadata`` (``parametre``, ``valeur``): :data:`SHAREABLE_SENTENCE`, the
      workspace's name (never its path), the export date, the rules' version, k, the
      rounding and the method (:func:`disclosure_method`), the months of the contacts,
      the indicators' weights, windows and moment; ``shareable_layers``: each layer's
      title, description, source, vintage, licence, CRS and rows. Titles and
      descriptions are also in ``gpkg_contents``, where QGIS shows them.

    Nothing else (:data:`NOT_SHARED`): no contact row, pseudonym, fingerprint, record key
    or raw count, no import batch, team or plan, no trigger of the workspace. The months
    said about the contacts are the first and last of
    :func:`territory.privacy.published.published_months` (months of at least k people),
    never the vintage text stored with the contact table nor its update time. Empty
    layers are not written (a territory without QPV has no ``indicators_qpv``).

    Parameters
    ----------
    ws
        The workspace (only read).
    out
        The new ``.gpkg`` file (replaced when it exists; never the workspace itself). It
        is written beside, then moved in place: a failed export leaves nothing.
    settings
        Gives ``k`` and ``rounding``.
    territories
        Programme territories to export (together); None or empty: the whole workspace.
    today
        The export date of the metadata (default: today).

    Returns
    -------
    ShareReport
        The layers written, with their rows.

    Raises
    ------
    ValidationError
        Not a ``.gpkg`` path, the workspace's own path, or an unknown territory.
    """
    out = Path(out)
    if out.suffix.lower() != SHAREABLE_SUFFIX:
        raise ValidationError(
            f"le fichier partageable est un GeoPackage : extension « {SHAREABLE_SUFFIX} » "
            f"attendue, reçu « {out.name} »"
        )
    if out.resolve() == ws.path.resolve():
        raise ValidationError(
            "le fichier partageable ne peut pas remplacer l'espace de travail : "
            "choisissez un autre nom"
        )
    layers, names, notes = shareable_layers(
        ws, settings=settings, territories=territories, today=today
    )
    write_fresh(out, layers)
    return ShareReport(
        path=out,
        layers={name: len(frame) for name, (frame, _) in layers.items()},
        territories=names,
        notes=tuple(notes),
    )


def shareable_layers(
    ws: Workspace,
    *,
    settings: Settings,
    territories: Sequence[str] | None = None,
    today: date | None = None,
) -> tuple[Layers, tuple[str, ...], list[str]]:
    """The layers of :func:`export_shareable`, not written: (layers, territories, notes).

    :mod:`territory.evaluation` builds its package on them.
    """
    names = tuple(dict.fromkeys(territories or ()))
    for name in names:
        get_territory(ws, name)  # a French error naming the defined territories
    scopes: list[str | None] = list(names) or [None]
    scope = set().union(*(resolve(ws, n) for n in names)) if names else None
    stored = ws.layers()
    layers: Layers = {}
    notes: list[str] = []

    _public_layers(ws, scope, layers)
    months = published_months(ws, settings=settings) if has_contacts(ws) else []
    contact_months = f"{months[0]} → {months[-1]}" if months else ""
    if months:
        _density_layers(ws, scopes, settings, layers)
    elif has_contacts(ws):
        notes.append(f"aucun mois de contacts d'au moins {settings.k} personnes : pas de densité")
    else:
        notes.append("aucun contact importé : pas de densité")
    about: list[tuple[str, str]] = []
    if ws.has("communes"):
        # the indicators' moment follows ``today`` (a workspace without a GTFS reference
        # day): the same date, data and parameters give the same package
        at = default_moment(ws, today=today)
        about = _indicator_layers(ws, scopes, settings, layers, notes, at)
        layers[TERRITORIES] = (_territories_layer(ws, names, settings), _DESCRIPTIONS[TERRITORIES])
    else:
        notes.append("aucune commune : ni indicateurs ni territoires")
    vintages = {name: meta.vintage for name, meta in stored.items()}
    vintages[CONTACTS] = contact_months  # months of k people, never the stored text
    _method_table(ws, settings, vintages, layers)
    metadata = [
        ("avertissement", SHAREABLE_SENTENCE),
        ("espace_de_travail", ws.name),
        ("territoires", " ; ".join(names) or WHOLE_WORKSPACE),
        ("date_export", (today or date.today()).isoformat()),
        ("regles_diffusion", f"version {RULES_VERSION} (privacy.md)"),
        ("seuil_k", str(settings.k)),
        ("arrondi", str(settings.rounding)),
        ("methode", disclosure_method(settings)),
        ("mois_contacts", contact_months or "aucun mois publié"),
        *about,
        ("logiciel", f"territory {__version__}"),
    ]
    layers[METADATA] = (
        pd.DataFrame(metadata, columns=["parametre", "valeur"]),
        _DESCRIPTIONS[METADATA],
    )
    layers[LAYERS_TABLE] = (
        _layers_table(layers, stored, vintages, settings),
        _DESCRIPTIONS[LAYERS_TABLE],
    )
    return layers, names, notes


def shareable_bytes(
    ws: Workspace, *, settings: Settings, territories: Sequence[str] | None = None
) -> bytes:
    """The file of :func:`export_shareable` as bytes (a download), via a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="territory-partage-") as folder:
        path = Path(folder) / f"partageable{SHAREABLE_SUFFIX}"
        export_shareable(ws, path, settings=settings, territories=territories)
        return path.read_bytes()


def _public_layers(ws: Workspace, scope: set[str] | None, layers: Layers) -> None:
    """The public layers and tables; with ``scope`` (communes), what concerns them only."""
    if scope is None:
        spatial = {n: ws.read_layer(n) if ws.has(n) else None for n in PUBLIC_LAYERS}
    else:
        spatial = territory_layers(ws, scope)
    clipped = "" if scope is None else _CLIPPED
    for name in PUBLIC_LAYERS:
        gdf = spatial.get(name)
        if gdf is not None and len(gdf):
            layers[name] = (gdf, _DESCRIPTIONS[name] + clipped)
    stops = set(layers["stops"][0]["stop_id"]) if "stops" in layers else set()
    for name in PUBLIC_TABLES:
        if not ws.has(name):
            continue
        table = ws.read_table(name)
        if scope is not None:
            if "code" in table:  # a table of communes
                table = table[table["code"].isin(scope)]
            elif "stop_id" in table:
                table = table[table["stop_id"].isin(stops)]
            elif "from_stop" in table:
                table = table[table["from_stop"].isin(stops) | table["to_stop"].isin(stops)]
        if len(table):
            layers[name] = (table.reset_index(drop=True), _DESCRIPTIONS[name] + clipped)


def _density_layers(
    ws: Workspace, scopes: list[str | None], settings: Settings, layers: Layers
) -> None:
    """``density`` and ``density_quarters``: the map's protected density, as it shows it."""

    def union(views: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
        # Protection runs over the whole workspace: a zone shows the same value in the
        # view of every territory, so the union of their views is one partition.
        zones = pd.concat(views, ignore_index=True).drop_duplicates("zone", ignore_index=True)
        return gpd.GeoDataFrame(zones, geometry="geometry", crs=STORAGE_CRS)

    drawn = [density_layer(ws, settings=settings, territory=t) for t in scopes]
    density = union(drawn)
    if len(density):
        layers[DENSITY] = (density, _DESCRIPTIONS[DENSITY])
    per_scope = [  # each quarter takes the drawings of the unfiltered zones: same partition
        density_parts(ws, "periode", settings=settings, territory=t, unfiltered=d)
        for t, d in zip(scopes, drawn, strict=True)
    ]
    quarters = [
        union([parts[quarter] for parts in per_scope]).assign(periode=quarter)
        for quarter in per_scope[0]
    ]
    quarters = [q for q in quarters if len(q)]
    if quarters:
        every = pd.concat(quarters, ignore_index=True)
        layers[QUARTERS] = (
            gpd.GeoDataFrame(every, geometry="geometry", crs=STORAGE_CRS),
            _DESCRIPTIONS[QUARTERS],
        )


def _indicator_layers(
    ws: Workspace,
    scopes: list[str | None],
    settings: Settings,
    layers: Layers,
    notes: list[str],
    at: datetime,
) -> list[tuple[str, str]]:
    """The ranked zone indicators of each territory; returns their metadata rows."""
    kinds = [kind for kind in _ZONE_KINDS if kind == "commune" or ws.has("qpv")]
    blocks: dict[ZoneKind, list[gpd.GeoDataFrame]] = {kind: [] for kind in kinds}
    said: dict[ZoneKind, dict[str, None]] = {kind: {} for kind in kinds}
    about: list[tuple[str, str]] = []
    for territory in scopes:
        label = territory or WHOLE_WORKSPACE
        weights = load_weights(ws, territory=territory)
        found = zone_indicators_many(ws, settings=settings, kinds=kinds, territory=territory, at=at)
        for kind, ind in found.items():
            try:
                ranking = rank_zones(ind, weights)
            except ValidationError as exc:
                notes.append(f"{label} ({kind}) : pas de classement, {exc}")
                continue
            said[kind].update(dict.fromkeys(f"{label} : {n}" for n in ranking.notes))
            if not ranking.table.empty:
                blocks[kind].append(_indicator_block(ranking, label))
        first = found["commune"]
        about.append((f"poids_priorite : {label}", json.dumps(weights.to_dict())))
        if first.windows is not None:
            about.append((f"fenetres_contacts : {label}", first.windows.label_fr))
        if first.at is not None:
            moment = first.at.isoformat(timespec="minutes")
            about.append((f"moment_indicateurs : {label}", moment))
    for kind, parts in blocks.items():
        if parts:
            frame = gpd.GeoDataFrame(
                pd.concat(parts, ignore_index=True), geometry="geometry", crs=STORAGE_CRS
            )
            text = _DESCRIPTIONS[_INDICATORS[kind]]
            if said[kind]:
                text += " Notes : " + " ; ".join(said[kind]) + "."
            layers[_INDICATORS[kind]] = (frame, text)
    return about


def _indicator_block(ranking: Ranking, territory: str) -> gpd.GeoDataFrame:
    """The ranking of one territory beside the indicator values of its zones."""
    ranked = ranking_layer(ranking)
    values = ranking.indicators.values.drop(columns="nom").reindex(ranked["code"].to_numpy())
    table = pd.concat([ranked.drop(columns="geometry"), values.reset_index(drop=True)], axis=1)
    table.insert(0, "territoire", territory)
    return gpd.GeoDataFrame(table, geometry=ranked.geometry.to_numpy(), crs=ranked.crs)


def _territories_layer(
    ws: Workspace, names: tuple[str, ...], settings: Settings
) -> gpd.GeoDataFrame:
    """Each territory (the whole workspace first when none is named) and its totals."""
    chosen: list[str | None] = list(names) or [None, *(t.name for t in list_territories(ws))]
    rows, outlines = [], []
    found = summaries_and_outlines(ws, settings=settings, territories=chosen)
    for name, (figures, outline) in zip(chosen, found, strict=True):
        defined = None if name is None else get_territory(ws, name)
        outlines.append(outline if figures["communes"] else None)
        label = str(figures["contacts"])
        rows.append(
            {
                "territoire": name or WHOLE_WORKSPACE,
                "definition": "toutes les communes" if defined is None else defined.description,
                "codes": "" if defined is None else _definition(defined),
                "nb_communes": figures["communes"],
                "nb_qpv": figures["qpv"],
                "nb_partenaires": figures["partners"],
                "nb_arrets": figures["stops"],
                "population": figures["population"],
                "contacts": _published_number(label),
                "contacts_libelle": label,
            }
        )
    table = pd.DataFrame(rows).astype({"population": "Int64", "contacts": "Int64"})
    return gpd.GeoDataFrame(table, geometry=outlines, crs=STORAGE_CRS)


def _definition(territory: Territory) -> str:
    """The codes of a territory's definition, e.g. ``"EPCI : 200000001; QPV : QN01"``."""
    kinds = (("communes", "communes"), ("epci", "EPCI"), ("qpv", "QPV"))
    return "; ".join(
        f"{label} : {', '.join(territory.codes(kind))}"
        for kind, label in kinds
        if territory.codes(kind)
    )


def _published_number(label: str) -> int | None:
    """The number of a protected label (``"1 234"``); None for « < k » or « secret »."""
    digits = "".join(label.split())  # thousands separators are (narrow) spaces
    return int(digits) if digits.isdigit() else None


def _method_table(
    ws: Workspace, settings: Settings, vintages: dict[str, str], layers: Layers
) -> None:
    """``indicator_methods``, when indicators were written; contact vintage in months."""
    if not any(name in layers for name in _INDICATORS.values()):
        return
    table = indicator_sources(ws, settings=settings).reset_index(names="indicateur")
    table["millesime"] = [
        ", ".join(f"{n} : {vintages[n]}" for n in str(used).split(", ") if vintages.get(n))
        for used in table["couches"]
    ]
    layers[METHODS] = (table, _DESCRIPTIONS[METHODS])


def _layers_table(
    layers: Layers, stored: dict[str, LayerInfo], vintages: dict[str, str], settings: Settings
) -> pd.DataFrame:
    """One row per layer or table of the shareable file, this one last."""
    protected = f"contacts de l'équipe, protégés (k = {settings.k}, arrondi {settings.rounding})"
    derived = {
        DENSITY: protected,
        QUARTERS: protected,
        **dict.fromkeys(_INDICATORS.values(), f"indicateurs de territory ; {protected}"),
        METHODS: "territory (registre des indicateurs)",
        TERRITORIES: f"territoires du programme ; {protected}",
        METADATA: "territory",
        LAYERS_TABLE: "territory",
    }
    from_contacts = {DENSITY, QUARTERS, *_INDICATORS.values()}
    every = [*layers.items(), (LAYERS_TABLE, (None, _DESCRIPTIONS[LAYERS_TABLE]))]
    rows = []
    for name, (frame, description) in every:
        public = name not in derived and name in stored
        if name in from_contacts:
            vintage = f"contacts : {vintages[CONTACTS]}"
        elif public or name == TERRITORIES:
            vintage = vintages.get(name, "")
        else:
            vintage = ""
        rows.append(
            {
                "couche": name,
                "titre": _TITLES.get(name, name),
                "description": description,
                "source": stored[name].source if public else derived[name],
                "millesime": vintage,
                "licence": stored[name].licence if public else "",
                "scr": STORAGE_CRS if isinstance(frame, gpd.GeoDataFrame) else "",
                "lignes": len(every) if frame is None else len(frame),
            }
        )
    return pd.DataFrame(rows)


def write_fresh(
    out: Path,
    layers: Layers,
    *,
    finish: Callable[[sqlite3.Connection], None] | None = None,
    version: str | None = None,
) -> None:
    """Write every layer into a new file beside ``out``, compact it, then move it in place.

    ``version`` is the GeoPackage version to write (GDAL's default when None: 1.4, which
    GDAL before 3.7 reads with a warning). ``finish`` runs on the written file (one
    sqlite3 connection, committed after it) before it is compacted. A folder that cannot
    be written is a French :class:`ValidationError`,
    and nothing is left behind.
    """
    partial = out.with_name(f".{out.stem}.en-cours{SHAREABLE_SUFFIX}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
    except OSError as exc:
        raise ValidationError(f"impossible d'écrire {out} : {exc.strerror or exc}") from exc
    try:
        for i, (name, (frame, description)) in enumerate(layers.items()):
            pyogrio.write_dataframe(
                frame.reset_index(drop=True),
                partial,
                layer=name,
                driver="GPKG",
                layer_options={"IDENTIFIER": _TITLES.get(name, name), "DESCRIPTION": description},
                dataset_options={"VERSION": version} if version and i == 0 else None,
                use_arrow=True,  # a third faster than row by row on a département
            )
        with contextlib.closing(sqlite3.connect(partial)) as con:
            if finish is not None:
                finish(con)
                con.commit()
            # No free page: the file holds its layers and nothing else. GDAL's writes
            # leave none (a département's package: 17,023 pages, none free), and a VACUUM
            # that only rewrites every page in another order cost 0.7-1.2 s of it.
            if con.execute("PRAGMA freelist_count").fetchone()[0]:
                con.execute("VACUUM")
        partial.replace(out)
    except (OSError, pyogrio.errors.DataSourceError) as exc:
        partial.unlink(missing_ok=True)
        raise ValidationError(f"impossible d'écrire {out} : {plain_reason(exc)}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
