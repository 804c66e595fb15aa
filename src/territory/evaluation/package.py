"""The evaluation package: every published layer in one GeoPackage that QGIS opens styled.

:func:`export_package` builds on the shareable export
(:func:`territory.export.shareable_layers`: published values only, no contact table) and
adds what a geographer needs to cite and map it:

- every spatial layer in **Lambert-93** (``EPSG:2154``) by default, or the CRS asked for;
- **QGIS styles** in the ``layer_styles`` table (the table QGIS and GDAL read and write),
  one default QML per spatial layer in the app's colours (:mod:`.styles`), so that each
  layer opens styled (``styleSLD`` stays empty: QGIS applies the QML and reads no SLD
  beside one; an SLD would serve other clients only, GeoServer for one, and would be a
  second rendering of each style to keep in step);
- **metadata** in the GeoPackage metadata extension (``gpkg_metadata`` and
  ``gpkg_metadata_reference``): per layer, a QGIS metadata document (``md_standard_uri``
  ``http://mrcc.com/qgis.dtd``, the form QGIS itself stores in a GeoPackage, shown in the
  layer's properties: title, abstract, source and vintage as history, licence, CRS,
  parameters, software version and parameters hash as keywords and history); for the
  whole file, the « Méthodes » document (``text/markdown``) and the parameters in force
  (``application/json``) with their SHA-256 hash;
- a Frictionless **Data Package** descriptor, ``datapackage.json`` (resources, fields,
  licences, sources), and ``methodes.md``, written **beside** the ``.gpkg`` (fixed names:
  one package per folder), or, when ``out`` ends in ``.zip``, inside a zip with the
  GeoPackage (the app's download).

The same workspace, parameters and ``today`` give the same bytes: every date written is
``today`` (``gpkg_contents.last_change`` through GDAL's ``OGR_CURRENT_DATE`` and set again
after writing, the styles' ``update_time``, the metadata references' ``timestamp``, the
zip entries' dates).

Adding a layer (as the hot spots and the accessibility are, :mod:`.analyses`): append a
:class:`PackageLayer` to
:data:`EXTRA_LAYERS`, e.g. in this module::

    HOTSPOTS = PackageLayer(
        name="hot_spots",
        title="Points chauds (Gi*, protégés)",
        description="…",
        source="territory (esda), contacts protégés",
        build=lambda ws, *, settings, territories: hot_spot_layer(ws, settings=settings),
        style=lambda gdf: categorized_style("classe", [...], geometry="polygon"),
        parameters=lambda settings: {"permutations": 999, "graine": 12345},
    )
    EXTRA_LAYERS = (HOTSPOTS,)

``build`` returns published values only (a GeoDataFrame in any CRS, reprojected here, or
None when the workspace cannot make it); its ``parameters`` join the layer's metadata and
the package's parameters hash. The tests scan every table, extras included, for contact
keys and values under k.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pyproj.exceptions

from territory import __version__
from territory._errors import ValidationError
from territory.evaluation import analyses
from territory.evaluation import styles as st
from territory.evaluation.methods import methods_markdown, methods_parameters
from territory.export import (
    LAYERS_TABLE,
    METADATA,
    PUBLIC_LAYERS,
    PUBLIC_TABLES,
    QUARTERS,
    SHAREABLE_SENTENCE,
    TERRITORIES,
    Layers,
    shareable_layers,
    write_fresh,
)
from territory.map.styles import (
    CONTACT_COLOURS,
    DENSITY_BREAKS,
    DENSITY_LEVEL_COLOURS,
    GAP_COLOUR,
    NO_DATA_COLOUR,
    NO_TRANSIT_DATA_COLOUR,
    PARTNER_COLOURS,
    QPV_COLOUR,
    SCORE_COLOURS,
    STOP_COLOUR,
    UNKNOWN_HOURS_COLOUR,
)
from territory.settings import Settings
from territory.store import Workspace
from territory.views import DENSITY
from territory.vocab import PARTNER_TYPES, TRANSIT_GAP, TRANSIT_NO_DATA, TRANSIT_UNKNOWN_HOURS

__all__ = [
    "DEFAULT_CRS",
    "EXTRA_LAYERS",
    "METHODS_FILE",
    "PACKAGE_DESCRIPTOR",
    "PackageLayer",
    "PackageReport",
    "export_package",
    "package_bytes",
    "package_styles",
]

DEFAULT_CRS = "EPSG:2154"
"""Lambert-93, the CRS French geographers expect."""
PACKAGE_DESCRIPTOR = "datapackage.json"
METHODS_FILE = "methodes.md"
STYLES_TABLE = "layer_styles"
QGIS_METADATA_URI = "http://mrcc.com/qgis.dtd"
MARKDOWN_URI = "https://spec.commonmark.org/"
PARAMETERS_URI = "urn:territory:parametres"
_QGIS_VERSION = "3.22.16-Białowieża"
GPKG_VERSION = "1.3"
"""GeoPackage 1.3: read without warning by the GDAL of QGIS 3.22 (Debian 12) and later."""
UNSTATED_LICENCE = "non précisée par la source (voir la source)"
_GPKG_MEDIATYPE = "application/geopackage+sqlite3"


class LayerBuilder(Protocol):
    """Builds one extra layer of published values (None: the workspace cannot)."""

    def __call__(
        self, ws: Workspace, *, settings: Settings, territories: tuple[str, ...]
    ) -> gpd.GeoDataFrame | None: ...


def _no_parameters(settings: Settings) -> Mapping[str, object]:
    return {}


@dataclass(frozen=True)
class PackageLayer:
    """A layer that another module adds to the package (see the module docstring).

    Attributes
    ----------
    name
        Table name in the GeoPackage (lowercase ASCII, ``_``).
    title, description
        French; shown by QGIS (``gpkg_contents`` and the layer's metadata).
    source
        Where its values come from (French).
    build
        Returns the layer's published values, or None.
    style
        Its QGIS style (QML) for the built frame.
    parameters
        Its parameters (seed, permutations, modes…), JSON-serialisable.
    licence
        Licence of the layer (default: the package's, Licence Ouverte 2.0).
    """

    name: str
    title: str
    description: str
    source: str
    build: LayerBuilder
    style: Callable[[gpd.GeoDataFrame], str]
    parameters: Callable[[Settings], Mapping[str, object]] = field(default=_no_parameters)
    licence: str = "Licence Ouverte 2.0 (Etalab)"


EXTRA_LAYERS: tuple[PackageLayer, ...] = (
    PackageLayer(
        name="points_chauds",
        title="Points chauds de la densité de contacts (Gi*, protégée)",
        description=(
            "Gi* sur les zones publiées de la densité protégée : z, p par permutations "
            "conditionnelles (graine fixe), q de Benjamini-Hochberg, classe"
        ),
        source="territory, densité protégée des contacts (valeurs publiées seulement)",
        build=analyses.hot_spots_build,
        style=analyses.hot_spots_style,
        parameters=analyses.hot_spots_parameters,
    ),
    PackageLayer(
        name="acces_partenaires",
        title="Accessibilité aux partenaires par commune (E2SFCA)",
        description=(
            "Partenaires accessibles pour 1 000 personnes de la demande, par mode "
            "(marche, transports en commun, voiture, vélo) ; 0 et sans_partenaire : aucun "
            "partenaire à portée"
        ),
        source="territory, partenaires et population de l'espace de travail (aucun contact)",
        build=analyses.access_build,
        style=analyses.access_style,
        parameters=analyses.access_parameters,
    ),
)
"""Layers added after the shareable ones, in order: hot spots, accessibility."""

PACKAGE_LICENCE = "Licence Ouverte 2.0 (Etalab)"
"""Licence of the values territory derives (layers from public sources keep theirs)."""

_LICENCE_IDS = {
    # the licences of the official sources (io/sources.py): an identifier and the text
    PACKAGE_LICENCE: ("etalab-2.0", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"),
    "Licence Ouverte 1.0 (Etalab)": (
        "etalab-1.0",
        "https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf",
    ),
    "ODbL 1.0": ("ODbL-1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
    "Licence Mobilités": (
        "other-open",
        "https://wiki.lafabriquedesmobilites.fr/wiki/Licence_Mobilit%C3%A9s",
    ),
    "CC BY": ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
}


@dataclass(frozen=True)
class PackageReport:
    """What :func:`export_package` wrote.

    Attributes
    ----------
    path
        The ``.gpkg`` (or ``.zip``) written.
    layers
        Each layer or table of the GeoPackage with its rows, in writing order.
    crs
        The CRS of its spatial layers (``EPSG:…``).
    parameters_hash
        SHA-256 of the parameters in force (canonical JSON).
    files
        Every file written (the GeoPackage, ``datapackage.json``, ``methodes.md``; one zip).
    territories, notes
        As in :class:`territory.export.ShareReport`.
    """

    path: Path
    layers: dict[str, int]
    crs: str
    parameters_hash: str
    files: tuple[Path, ...]
    territories: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_text(self) -> str:
        """One French line: the file, its CRS and its layers."""
        scope = ", ".join(f"« {t} »" for t in self.territories) or "tout l'espace de travail"
        return (
            f"Paquet d'évaluation écrit : {self.path} ({scope}, {self.crs}), valeurs publiées "
            f"seulement — {len(self.layers)} couches et tables, styles QGIS, métadonnées, "
            f"{PACKAGE_DESCRIPTOR} et {METHODS_FILE} ; empreinte des paramètres "
            f"{self.parameters_hash[:12]}"
        )


# ------------------------------------------------------------------------------ styles
def _density_style(gdf: gpd.GeoDataFrame) -> str:
    edges = [0.0, *map(float, DENSITY_BREAKS), 1e12]
    texts = [f"moins de {DENSITY_BREAKS[0]}"]
    texts += [f"{lo} à {hi}" for lo, hi in itertools.pairwise(DENSITY_BREAKS)]
    texts += [f"{DENSITY_BREAKS[-1]} ou plus"]
    classes = [
        (lo, hi, colour, f"{text} contacts par km²")
        for lo, hi, colour, text in zip(edges[:-1], edges[1:], CONTACT_COLOURS, texts, strict=True)
    ]
    return st.graduated_style('"count" / "area_km2"', classes, geometry="polygon")


def _score_style(gdf: gpd.GeoDataFrame) -> str:
    classes = [
        (20.0 * i, 20.0 * (i + 1), colour, f"score de {20 * i} à {20 * (i + 1)}")
        for i, colour in enumerate(SCORE_COLOURS)
    ]
    return st.graduated_style("score", classes, geometry="polygon")


def _communes_style(gdf: gpd.GeoDataFrame) -> str:
    if "densite" not in gdf:
        return st.single_style(st.fill_symbol(NO_DATA_COLOUR), geometry="polygon")
    labels: dict[int, str] = {}
    if "densite_libelle" in gdf:
        pairs = gdf[["densite", "densite_libelle"]].dropna().drop_duplicates("densite")
        labels = {
            int(a): str(b) for a, b in zip(pairs["densite"], pairs["densite_libelle"], strict=False)
        }
    categories = [
        (level, st.fill_symbol(colour), labels.get(level, f"niveau {level}"))
        for level, colour in enumerate(DENSITY_LEVEL_COLOURS, start=1)
    ]
    return st.categorized_style("densite", categories, geometry="polygon")


def _partners_style(gdf: gpd.GeoDataFrame) -> str:
    categories = [
        (code, st.marker_symbol(colour), PARTNER_TYPES.get(code, code))
        for code, colour in PARTNER_COLOURS.items()
    ]
    return st.categorized_style("type", categories, geometry="point")


def _gaps_style(gdf: gpd.GeoDataFrame) -> str:
    categories = [
        (TRANSIT_GAP, st.hatch_symbol(GAP_COLOUR), "zone blanche (hachurée)"),
        (TRANSIT_UNKNOWN_HOURS, st.fill_symbol(UNKNOWN_HOURS_COLOUR), TRANSIT_UNKNOWN_HOURS),
        (TRANSIT_NO_DATA, st.fill_symbol(NO_TRANSIT_DATA_COLOUR), TRANSIT_NO_DATA),
    ]
    return st.categorized_style("etat", categories, geometry="polygon")


_STYLES: dict[str, Callable[[gpd.GeoDataFrame], str]] = {
    "communes": _communes_style,
    "qpv": lambda gdf: st.single_style(st.outline_symbol(QPV_COLOUR), geometry="polygon"),
    "partners": _partners_style,
    "stops": lambda gdf: st.single_style(
        st.marker_symbol(STOP_COLOUR, size=1.6, outline="#ffffff"), geometry="point"
    ),
    "service_gaps": _gaps_style,
    DENSITY: _density_style,
    QUARTERS: _density_style,
    "indicators_communes": _score_style,
    "indicators_qpv": _score_style,
    TERRITORIES: lambda gdf: st.single_style(
        st.outline_symbol("#212121", width=0.8, dashed=True), geometry="polygon"
    ),
}


def package_styles() -> dict[str, Callable[[gpd.GeoDataFrame], str]]:
    """The QML builder of every styled layer, the extra layers' included."""
    return {**_STYLES, **{extra.name: extra.style for extra in EXTRA_LAYERS}}


# --------------------------------------------------------------------------- the package
def _checked_crs(crs: str) -> str:
    """``EPSG:…`` of a CRS given as text; a French error otherwise."""
    try:
        code = pyproj.CRS.from_user_input(crs).to_epsg()
    except pyproj.exceptions.CRSError:
        code = None
    if code is None:
        raise ValidationError(
            f"système de coordonnées « {crs} » inconnu : donnez un code EPSG, par exemple "
            f"{DEFAULT_CRS} (Lambert-93) ou EPSG:4326"
        )
    return f"EPSG:{code}"


def export_package(
    ws: Workspace,
    out: str | Path,
    *,
    settings: Settings,
    crs: str = DEFAULT_CRS,
    territories: Sequence[str] | None = None,
    today: date | None = None,
) -> PackageReport:
    """Write the evaluation package of the workspace: published values, styled, documented.

    Parameters
    ----------
    ws
        The workspace (only read).
    out
        ``….gpkg`` (``datapackage.json`` and ``methodes.md`` are written beside it) or
        ``….zip`` (the three files inside). Replaced when it exists; written beside,
        then moved in place: a failed export leaves nothing.
    settings
        The disclosure parameters (k, rounding) and the travel model.
    crs
        CRS of the spatial layers (default Lambert-93).
    territories
        Programme territories to export (together); None or empty: the whole workspace.
    today
        The date written everywhere (default: today); the same date, workspace and
        parameters give the same bytes.

    Returns
    -------
    PackageReport

    Raises
    ------
    ValidationError
        Another extension, the workspace's own path, an unknown CRS or territory.

    Examples
    --------
    >>> from territory import Settings
    >>> from territory.store import Workspace
    >>> import tempfile, pathlib, sqlite3
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ws = Workspace.create(pathlib.Path(d) / "w.gpkg", name="Essai")
    ...     report = export_package(ws, pathlib.Path(d) / "eval.gpkg", settings=Settings())
    ...     sorted(p.name for p in report.files), report.crs
    (['datapackage.json', 'eval.gpkg', 'methodes.md'], 'EPSG:2154')
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".gpkg", ".zip"):
        raise ValidationError(
            f"le paquet d'évaluation est un GeoPackage (.gpkg) ou une archive (.zip), "
            f"reçu « {out.name} »"
        )
    if out.resolve() == ws.path.resolve():
        raise ValidationError(
            "le paquet ne peut pas remplacer l'espace de travail : choisissez un autre nom"
        )
    crs = _checked_crs(crs)
    day = today or date.today()
    layers, names, notes = shareable_layers(
        ws, settings=settings, territories=territories, today=day
    )
    extras = _extra_layers(ws, settings, names, layers)
    parameters = {
        **methods_parameters(ws, settings=settings, territories=names),
        "scr": crs,
        "territoires": list(names),
        "couches_ajoutees": {e.name: dict(e.parameters(settings)) for e in extras},
        "logiciel": f"territory {__version__}",
    }
    canonical = json.dumps(parameters, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    _reproject(layers, crs)
    _complete_tables(layers, extras, crs, digest, canonical)
    methods = methods_markdown(ws, settings=settings, territories=names)
    layer_table = layers[LAYERS_TABLE][0]
    about = {str(r["couche"]): r for r in layer_table.to_dict("records")}
    stamp = f"{day.isoformat()}T00:00:00.000Z"

    def finish(con: sqlite3.Connection) -> None:
        con.execute("UPDATE gpkg_contents SET last_change = ?", (stamp,))
        _write_styles(con, layers, stamp)
        _write_metadata(con, layers, about, crs, digest, canonical, methods, stamp, ws.name)

    with tempfile.TemporaryDirectory(prefix="territory-paquet-", dir=_folder(out)) as work:
        gpkg = Path(work) / (out.stem + ".gpkg")
        with _gdal_date(stamp):
            write_fresh(gpkg, layers, finish=finish, version=GPKG_VERSION)
        descriptor = _datapackage(layers, about, gpkg.name, ws.name, day, digest, crs)
        side = {
            PACKAGE_DESCRIPTOR: json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n",
            METHODS_FILE: methods,
        }
        if suffix == ".zip":
            partial = Path(work) / out.name
            _zip(partial, gpkg, side, day)
            partial.replace(out)
            files: tuple[Path, ...] = (out,)
        else:
            for name, text in side.items():
                (Path(work) / name).write_text(text, encoding="utf-8")
            files = (out, out.with_name(PACKAGE_DESCRIPTOR), out.with_name(METHODS_FILE))
            for name, target in zip((gpkg.name, *side), files, strict=True):
                (Path(work) / name).replace(target)
    return PackageReport(
        path=out,
        layers={name: len(frame) for name, (frame, _) in layers.items()},
        crs=crs,
        parameters_hash=digest,
        files=files,
        territories=names,
        notes=tuple(notes),
    )


def package_bytes(
    ws: Workspace,
    *,
    settings: Settings,
    crs: str = DEFAULT_CRS,
    territories: Sequence[str] | None = None,
) -> bytes:
    """The package as one zip (GeoPackage, ``datapackage.json``, ``methodes.md``): a download."""
    with tempfile.TemporaryDirectory(prefix="territory-paquet-") as folder:
        path = Path(folder) / "evaluation.zip"
        export_package(ws, path, settings=settings, crs=crs, territories=territories)
        return path.read_bytes()


def _folder(out: Path) -> Path:
    """The output's folder, created (a French error when it cannot be)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"impossible d'écrire {out} : {exc.strerror or exc}") from exc
    return out.parent


@contextlib.contextmanager
def _gdal_date(stamp: str) -> Iterator[None]:
    """GDAL's ``OGR_CURRENT_DATE`` set while writing (``gpkg_contents.last_change``)."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def _extra_layers(
    ws: Workspace, settings: Settings, names: tuple[str, ...], layers: Layers
) -> list[PackageLayer]:
    """Build :data:`EXTRA_LAYERS` into ``layers``; returns those written."""
    written = []
    for extra in EXTRA_LAYERS:
        if extra.name in layers:
            raise ValueError(f"extra layer {extra.name!r} is already a layer of the package")
        gdf = extra.build(ws, settings=settings, territories=names)
        if gdf is not None and len(gdf):
            layers[extra.name] = (gdf, extra.description)
            written.append(extra)
    return written


def _reproject(layers: Layers, crs: str) -> None:
    for name, (frame, text) in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            layers[name] = (_to_crs(frame, crs), text)


def _to_crs(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """``frame.to_crs(crs)``, each geometry object transformed once.

    The density per quarter repeats each zone's drawing in every quarter (the same
    objects: 79,160 rows, 15,832 drawings on a département); a geometry transforms to the
    same coordinates wherever it stands, so the distinct ones are enough.
    """
    values = frame.geometry.to_numpy()
    ids = np.fromiter((id(g) for g in values), dtype=np.int64, count=len(values))
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    if len(first) == len(values):
        return frame.to_crs(crs)
    distinct = gpd.GeoSeries(values[first], crs=frame.crs).to_crs(crs).to_numpy()
    column = frame.geometry.name
    moved = gpd.GeoSeries(distinct[inverse], index=frame.index, crs=crs, name=column)
    out = pd.DataFrame(frame, copy=True)
    out[column] = moved
    return gpd.GeoDataFrame(out, geometry=column, crs=crs)


def _complete_tables(
    layers: Layers, extras: list[PackageLayer], crs: str, digest: str, canonical: str
) -> None:
    """The metadata and layer tables: the CRS, the extras, the parameters; last in order."""
    table, text = layers.pop(LAYERS_TABLE)
    meta, meta_text = layers.pop(METADATA)
    table = table.copy()
    table.loc[table["scr"] != "", "scr"] = crs
    public = table["couche"].isin([*PUBLIC_LAYERS, *PUBLIC_TABLES])
    unstated = table["licence"].fillna("").eq("")
    table.loc[unstated & public, "licence"] = UNSTATED_LICENCE
    table.loc[unstated & ~public, "licence"] = PACKAGE_LICENCE
    rows = [
        {
            "couche": e.name,
            "titre": e.title,
            "description": e.description,
            "source": e.source,
            "millesime": "",
            "licence": e.licence,
            "scr": crs,
            "lignes": len(layers[e.name][0]),
        }
        for e in extras
    ]
    if rows:
        own = table[table["couche"] == LAYERS_TABLE]
        table = pd.concat([table[table["couche"] != LAYERS_TABLE], pd.DataFrame(rows), own])
    table = table.reset_index(drop=True)
    table.loc[table["couche"] == LAYERS_TABLE, "lignes"] = len(table)
    extra_rows = pd.DataFrame(
        [
            ("scr", crs),
            ("parametres", canonical),
            ("empreinte_parametres", f"sha256:{digest}"),
        ],
        columns=["parametre", "valeur"],
    )
    meta = pd.concat([meta, extra_rows], ignore_index=True)
    layers[METADATA] = (meta, meta_text)
    layers[LAYERS_TABLE] = (table, text)


def _write_styles(con: sqlite3.Connection, layers: Layers, stamp: str) -> None:
    """``layer_styles``, QGIS's own schema, one default style per styled spatial layer."""
    con.execute(
        f"CREATE TABLE {STYLES_TABLE} ("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), "
        "f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), "
        "styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, "
        "description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"
    )
    styles = package_styles()
    columns = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    for name, (frame, _) in layers.items():
        if not isinstance(frame, gpd.GeoDataFrame) or name not in styles:
            continue
        con.execute(
            f"INSERT INTO {STYLES_TABLE} (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
            "owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'territory', "
            "NULL, ?)",
            (
                name,
                columns[name],
                name,
                styles[name](frame),
                "Style de territory (couleurs de l'app)",
                stamp,
            ),
        )
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
        "last_change) VALUES (?, 'attributes', ?, ?, ?)",
        (STYLES_TABLE, "Styles QGIS", "Styles QGIS par défaut de chaque couche.", stamp),
    )


def _qgis_metadata(name: str, row: Mapping[str, object], crs: str, digest: str, parent: str) -> str:
    """A layer's metadata in QGIS's own XML (read by QGIS from ``gpkg_metadata``)."""
    keywords = ["territory", "aller-vers", "valeurs publiées", f"sha256:{digest}"]
    history = [
        f"Source : {row.get('source') or 'territory'}",
        f"Millésime : {row.get('millesime') or 'sans objet'}",
        f"Système de coordonnées : {crs if row.get('scr') else 'table sans géométrie'}",
        f"Logiciel : territory {__version__}",
        f"Empreinte des paramètres : sha256:{digest}",
    ]
    licence = str(row.get("licence") or PACKAGE_LICENCE)
    parts = [
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>",
        f'<qgis version="{_QGIS_VERSION}">',
        f"<identifier>{escape(name)}</identifier>",
        f"<parentidentifier>{escape(parent)}</parentidentifier>",
        "<language>FRE</language>",
        "<type>dataset</type>",
        f"<title>{escape(str(row.get('titre') or name))}</title>",
        f"<abstract>{escape(str(row.get('description') or ''))}</abstract>",
        '<keywords vocabulary="territory">'
        + "".join(f"<keyword>{escape(k)}</keyword>" for k in keywords)
        + "</keywords>",
        "<links/>",
        *(f"<history>{escape(h)}</history>" for h in history),
        "<dates/>",
        "<fees></fees>",
        f"<rights>{escape(SHAREABLE_SENTENCE)}</rights>",
        f"<license>{escape(licence)}</license>",
        "<encoding>UTF-8</encoding>",
        f"<crs><spatialrefsys><authid>{crs}</authid></spatialrefsys></crs>"
        if row.get("scr")
        else "<crs/>",
        "</qgis>",
    ]
    return "\n".join(parts) + "\n"


def _write_metadata(
    con: sqlite3.Connection,
    layers: Layers,
    about: Mapping[str, Mapping[str, object]],
    crs: str,
    digest: str,
    canonical: str,
    methods: str,
    stamp: str,
    workspace: str,
) -> None:
    """The GeoPackage metadata extension: one QGIS document per layer, two for the file."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY "
        "ASC NOT NULL, md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT "
        "NULL, mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '')"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (reference_scope TEXT NOT NULL, "
        "table_name TEXT, column_name TEXT, row_id_value INTEGER, timestamp DATETIME NOT "
        "NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), md_file_id INTEGER NOT NULL, "
        "md_parent_id INTEGER, CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES "
        "gpkg_metadata(id), CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES "
        "gpkg_metadata(id))"
    )
    con.execute(  # GDAL writes it only with a spatial layer or an extension
        "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
        "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
        "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
    )
    definition = "http://www.geopackage.org/spec120/#extension_metadata"
    for table in ("gpkg_metadata", "gpkg_metadata_reference"):
        con.execute(
            "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, "
            "definition, scope) SELECT ?, NULL, 'gpkg_metadata', ?, 'read-write' WHERE NOT "
            "EXISTS (SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name "
            "= 'gpkg_metadata')",
            (table, definition, table),
        )

    def add(scope: str, uri: str, mime: str, text: str, table: str | None) -> None:
        cursor = con.execute(
            "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
            "VALUES (?, ?, ?, ?)",
            (scope, uri, mime, text),
        )
        con.execute(
            "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, column_name, "
            "row_id_value, timestamp, md_file_id, md_parent_id) VALUES (?, ?, NULL, NULL, ?, "
            "?, NULL)",
            ("geopackage" if table is None else "table", table, stamp, cursor.lastrowid),
        )

    add("dataset", MARKDOWN_URI, "text/markdown", methods, None)
    add("dataset", PARAMETERS_URI, "application/json", canonical, None)
    parent = f"territory : {workspace}"
    for name in layers:
        row = about.get(name, {})
        add(
            "dataset",
            QGIS_METADATA_URI,
            "text/xml",
            _qgis_metadata(name, row, crs, digest, parent),
            name,
        )


_FIELD_TYPES = {"i": "integer", "u": "integer", "f": "number", "b": "boolean", "M": "datetime"}


def _fields(frame: pd.DataFrame) -> list[dict[str, str]]:
    fields = []
    for column, dtype in frame.dtypes.items():
        if column == "geometry":
            fields.append({"name": "geom", "type": "geojson", "format": "default"})
            continue
        kind = _FIELD_TYPES.get(getattr(dtype, "kind", "O"), "string")
        fields.append({"name": str(column), "type": kind})
    return fields


def _datapackage(
    layers: Layers,
    about: Mapping[str, Mapping[str, object]],
    gpkg: str,
    workspace: str,
    day: date,
    digest: str,
    crs: str,
) -> dict[str, object]:
    """The Frictionless Data Package descriptor: one resource per layer, plus the methods."""
    slug = re.sub(r"[^a-z0-9]+", "-", workspace.lower()).strip("-") or "territoire"
    resources: list[dict[str, object]] = []
    for name, (frame, description) in layers.items():
        row = about.get(name, {})
        resources.append(
            {
                "name": name.replace("_", "-"),
                "path": gpkg,
                "layer": name,
                "format": "gpkg",
                "mediatype": _GPKG_MEDIATYPE,
                "title": str(row.get("titre") or name),
                "description": description,
                "sources": [{"title": str(row.get("source") or "territory")}],
                "licenses": [_licence(str(row.get("licence") or PACKAGE_LICENCE))],
                **({"crs": crs} if isinstance(frame, gpd.GeoDataFrame) else {}),
                "schema": {"fields": _fields(frame)},
            }
        )
    resources.append(
        {
            "name": "methodes",
            "path": METHODS_FILE,
            "format": "md",
            "mediatype": "text/markdown",
            "title": "Méthodes",
            "description": "Comment chaque indicateur, le score, la protection, les créneaux "
            "et la planification sont calculés, avec les paramètres en vigueur.",
        }
    )
    return {
        "profile": "data-package",
        "name": f"territory-{slug}"[:100],
        "title": f"Paquet d'évaluation — {workspace}",
        "description": SHAREABLE_SENTENCE,
        "created": f"{day.isoformat()}T00:00:00Z",
        "version": f"sha256:{digest}",
        "licenses": [_licence(PACKAGE_LICENCE)],
        "sources": [{"title": f"territory {__version__}"}],
        "keywords": ["territory", "aller-vers", crs],
        "resources": resources,
    }


def _licence(title: str) -> dict[str, str]:
    """A Data Package licence: its identifier and text when known, else « notspecified ».

    The specification wants a ``name`` or a ``path`` on every licence; a source that
    states none (or the demo's invented data) keeps its French title beside the
    Open Definition's ``notspecified``.
    """
    name, path = _LICENCE_IDS.get(title, ("notspecified", ""))
    return {"name": name, **({"path": path} if path else {}), "title": title}


def _zip(path: Path, gpkg: Path, side: Mapping[str, str], day: date) -> None:
    """A zip of the package whose bytes depend on its content only (fixed dates, order)."""
    moment = (day.year, day.month, day.day, 0, 0, 0)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entries = [(gpkg.name, gpkg.read_bytes())]
        entries += [(name, text.encode()) for name, text in side.items()]
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=moment)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
