"""The folium map of a territory: layers in, ``folium.Map`` out (no Streamlit here).

:func:`territory_map` draws the workspace layers (:class:`MapLayers`) on one Leaflet map
that works **offline**: the page loads only the Leaflet files served by Streamlit
(``{asset_base}/leaflet/leaflet.js`` and ``leaflet.css``) and references no other URL
unless the caller asks for an online basemap. :func:`legend_html` gives the matching
legend as plain HTML, and :func:`zone_from_click` reads a clicked zone back from what
``streamlit_folium.st_folium`` returns.

Design notes (measured at département scale, see the tests for the contract):

* **No CDN, no jQuery.** ``folium.Map`` pulls Leaflet, jQuery, Bootstrap, Font Awesome
  and awesome-markers from CDNs through its *class* attributes ``default_js`` /
  ``default_css``; they are replaced on the map *instance* only. Nothing used here needs
  jQuery: ``folium.Popup``, ``folium.Icon``, ``folium.plugins``, branca colormaps and
  ``GeoJson(embed=False)`` would (they are not used); popups and tooltips are bound in
  Leaflet directly.
* **One Leaflet layer per map layer**, not one object per feature. Each layer is a
  :class:`_GeoJsonLayer`: a ``folium.map.Layer`` whose script is
  ``L.geoJson(<collection>, {style, pointToLayer, pane…})``. Styles, tooltips and
  popups are small JavaScript functions written once per layer that read the feature
  properties, so nothing is repeated per feature (``folium.GeoJson(style_function=…)``
  writes one ``case`` per feature and ``properties.style`` one style object per
  feature; both are larger).
* **Data once per page**: each layer draws a :class:`_Collection`, a variable of the page
  written before the layers, serialised once when the map is built (``st_folium``
  renders the map twice per rerun and only copies the text). The QPV fill and outline
  draw the same collection; the density's "rest of the commune" zones take the shapes
  of the communes' collection (referenced by index, the id being the commune code).
* **Data as JSON, beside the script**: a collection's data is a
  ``<script type="application/json">`` element of the page's HTML, read with
  ``JSON.parse``; the script holds only code. ``st_folium``'s regular expressions and
  ``dedent`` run over the script on every rerun, and the browser parses a script as
  JavaScript, slower than JSON: with 1.7 MB of data in the script, they cost 0.15 s of
  server time and 0.1 s in Chromium at département scale.
* **Small geometry**: communes are simplified with ``shapely.coverage_simplify`` (shared
  borders stay shared: no gaps), other polygons with a topology-preserving simplify;
  every coordinate is rounded to ``precision`` decimals (5 ≈ 1 m); only the properties
  the map needs are kept.
* **Integer geometry** (:class:`_CompactCollection`): coordinates travel as integers in
  units of the rounding, each the change from the previous point, and polygons as a
  topology (TopoJSON-like arcs): a border shared by two communes is sent once and drawn
  by both from the same points. About 3 times smaller than GeoJSON for the communes.
  Layers mixing points and lines (rounds and their visits) stay plain GeoJSON.
* **Grid squares as rows**: 200 m and 1 km density zones whose geometry is their id's
  square are sent as three integers each and rebuilt in the browser (id and corners, from
  a polynomial fitted to PROJ, checked ≤ 0.1 m on every corner; see :class:`_CompactGrid`):
  about 25 times smaller than GeoJSON. Anything else is sent as GeoJSON.
* **Clicks**: every clickable feature carries ``layer`` (added in the browser, to save
  bytes) and its identifier (``code``, or ``zone`` for the contact density), so that
  ``st_folium(..., returned_objects=["last_active_drawing"])`` returns it and
  :func:`zone_from_click` reads it.
* **One canvas** (:class:`_Canvas`): the polygon, line and circle layers all draw on
  one shared ``L.canvas()`` renderer (as SVG paths, the ~23,000 shapes of a département
  took 7.7 s to build and 17 s to paint in headless Chromium; on the canvas, 2 s for
  both: see BENCHMARKS.md). Leaflet hit-tests the shapes of a canvas itself, so hover,
  tooltips and clicks work on every layer (a canvas per pane would take the mouse from
  the panes beneath); zones blanches and QPV outlines are drawn non-interactive, so
  that they never hide a commune, a QPV or a density zone from the mouse. Drawing
  order: communes, QPV (light fill), contact density (1 km and commune zones beneath
  200 m cells), zones blanches, QPV outlines, stops, then partners and the rounds'
  places and routes, kept when the layer control switches a layer off and on. Hatches
  are canvas patterns. The few point layers on top (partners, places, routes) stay
  SVG, in a pane that lets the mouse through to the canvas elsewhere.
* **A canvas layer is one shape** (``territoryCanvas.layer``, :data:`_SHAPES_JS`): the
  ~16,000 density squares, 1,550 communes, 1,360 rests of communes and 2,665 stops of a
  département are a few objects of the canvas, not one ``L.Polygon`` or
  ``L.CircleMarker`` each (Leaflet spent about 2 s on the squares alone, building,
  projecting and hit-testing them): projected into typed arrays, coverages drawn in runs
  of one style, the feature under the mouse found in buckets; tooltips, hover outline
  and clicks still work per feature.
* **The view is set first, at once**: ``fitBounds`` without animation before any layer,
  so that Leaflet projects and draws every shape once (fitted after the layers, with its
  zoom animation, everything was projected and drawn twice).
* **Privacy**: the density layer receives only ``zone``, ``level``, ``count``, ``label``
  and ``area_km2`` (and the colour class derived from them), whatever else the frame
  holds; a shown count between 1 and k-1 is refused (fail closed).

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> communes = gpd.GeoDataFrame(
...     {"code": ["59350"], "nom": ["Lille"], "population": [236_710], "densite": [1],
...      "densite_libelle": ["Grands centres urbains"]},
...     geometry=[box(3.0, 50.6, 3.1, 50.7)], crs="EPSG:4326")
>>> m = territory_map(MapLayers(communes=communes))
>>> html = m.get_root().render()
>>> "/app/static/leaflet/leaflet.js" in html, "cdn.jsdelivr" in html
(True, False)
>>> zone_from_click({"last_active_drawing": {"properties": {"layer": "communes", "code": "59350"}}})
('communes', '59350')
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import folium.map
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure
from folium.elements import ElementAddToElement
from folium.template import Template
from folium.utilities import JsCode
from pyproj import Transformer

from territory._errors import CRSError, ValidationError
from territory.vocab import KINDS

__all__ = [
    "CLICKABLE_LAYERS",
    "DENSITY_BREAKS",
    "DENSITY_COLUMNS",
    "RETURNED_OBJECTS",
    "MapLayers",
    "legend_html",
    "territory_map",
    "zone_from_click",
]

# --- names (French, shown in the layer control and the legend) -------------------------
NAME_COMMUNES = "Communes (grille de densité)"
NAME_QPV = "QPV"
NAME_DENSITY = "Densité de contacts (protégée)"
NAME_PARTNERS = "Partenaires"
NAME_STOPS = "Arrêts de transport"


def _name_gaps(stop_buffer_m: float) -> str:
    return f"Zones blanches (> {_fr_number(stop_buffer_m)} m d'un arrêt desservi)"


# --- identifiers carried by clickable features (``properties.layer``) ------------------
LAYER_COMMUNES = "communes"
LAYER_QPV = "qpv"
LAYER_DENSITY = "density"
LAYER_PARTNERS = "partners"
LAYER_STOPS = "stops"
LAYER_SCORES = "scores"
CLICKABLE_LAYERS = (
    LAYER_COMMUNES,
    LAYER_QPV,
    LAYER_DENSITY,
    LAYER_PARTNERS,
    LAYER_STOPS,
    LAYER_SCORES,
)
NAME_SCORES = "Score de priorité"
NAME_ROUTES = "Tournées"
ROUTE_COLOURS = ("#c62828", "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")
NAME_PLACES = "Lieux d'aller-vers"
PLACE_COLOURS = (*ROUTE_COLOURS, "#5d4037", "#ad1457", "#455a64")
"""One colour per kind of place (:data:`territory.rounds.solver.KINDS`, in that order)."""
"""One colour per team, in the order of the teams' names."""
SCORE_COLOURS = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")
"""Priority score 0-20, 20-40, 40-60, 60-80, 80-100: light (low) → dark (high)."""
"""Values of ``properties.layer`` that :func:`zone_from_click` may return."""

RETURNED_OBJECTS = ("last_active_drawing",)
"""What to pass to ``st_folium(returned_objects=…)``: reruns on feature clicks only."""

DENSITY_COLUMNS = ("zone", "level", "count", "label", "area_km2")
"""The only columns of the contact density that reach the browser."""

# --- palettes ---------------------------------------------------------------------------
# INSEE density grid, level 1 (large urban centres) → 7 (very scattered rural): dark → light.
DENSITY_LEVEL_COLOURS = (
    "#0c2c84",
    "#225ea8",
    "#1d91c0",
    "#41b6c4",
    "#7fcdbb",
    "#c7e9b4",
    "#edf8b1",
)
NO_DATA_COLOUR = "#d9d9d9"

QPV_COLOUR = "#d81b60"  # 2024 generation: bold magenta outline
QPV_2015_COLOUR = "#6a1b9a"  # 2015 generation (comparison): dashed purple outline

# Contacts per km² (protected counts / area): fixed classes, comparable between maps.
DENSITY_BREAKS = (5, 25, 100, 500, 2000)
CONTACT_COLOURS = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
SECRET_GREY = "#bdbdbd"

PARTNER_COLOURS = {  # data·inclusion typology codes used by territory.io.partners
    "ML": "#e69f00",
    "FT": "#0072b2",
    "CS": "#009e73",
    "E2C": "#cc79a7",
    "PREVENTION": "#d55e00",
    "PIJ_BIJ": "#56b4e9",
    "FRANCE_SERVICES": "#f0e442",
    "AUTRE": "#7f7f7f",
}
STOP_COLOUR = "#3949ab"
STOP_IDLE_COLOUR = "#9e9e9e"
GAP_COLOUR = "#37474f"

LEVEL_NAMES_FR = {"200m": "carreau 200 m", "1km": "carreau 1 km", "commune": "reste de la commune"}

FRANCE_CENTRE = (46.6, 2.4)
_MIN_EXTENT_DEG = 0.02  # a single point is shown with ~1 km around it, never at zoom ∞

# Drawing order of the layers (low first), kept when the layer control adds one again.
_STACK = {
    "communes": 0,  # and the priority scores
    "qpv_fill": 1,
    "density": 2,
    "gaps": 3,
    "qpv_line": 4,
    "stops": 5,
    "partners": 6,
    "routes": 7,
    "places": 7,
}
_SVG_LAYERS = frozenset({"partners", "routes", "places"})
"""Layers drawn as SVG, in :data:`_POINTS_PANE`; every other one on the shared canvas."""
# Leaflet's overlay pane (the canvas) is at z-index 400, markers at 600, tooltips at 650.
_POINTS_PANE = "territory-points"
_RENDERER = JsCode("territoryCanvas.renderer")
"""The map's one canvas renderer (created by :class:`_Canvas`)."""


@dataclass(frozen=True, eq=False)
class MapLayers:
    """The layers drawn by :func:`territory_map`; each may be None or empty.

    Every frame is in EPSG:4326 with the workspace schemas (see ``ARCHITECTURE.md``).
    ``density`` is the protected contact density (``zone``, ``level``, ``count``,
    ``label``, ``area_km2``); any other column it holds is ignored. ``partners`` may
    carry ``horaires_fr`` (French rendering of ``horaires``); partners without a
    position ("à géocoder") are not drawn and are counted by :attr:`pending_partners`.
    ``scores`` (the "Où et quand" page) are ranked zones (``code``, ``nom``, ``rang``,
    ``score`` 0-100, ``pourquoi``), drawn as a choropleth of the priority score.
    ``routes`` (the "Tournées" page) are rounds as lines (``team``, ``label``) and their
    stops as points (``team``, ``label``, ``ordre``), one colour per team. ``places`` are
    the candidate places of the rounds (``nom``, ``type``, optional ``horaires``), one
    colour per kind.
    Equality is identity (frames have no meaningful ``==``).
    """

    communes: gpd.GeoDataFrame | None = None
    qpv: gpd.GeoDataFrame | None = None
    partners: gpd.GeoDataFrame | None = None
    stops: gpd.GeoDataFrame | None = None
    service_gaps: gpd.GeoDataFrame | None = None
    density: gpd.GeoDataFrame | None = None
    scores: gpd.GeoDataFrame | None = None
    routes: gpd.GeoDataFrame | None = None
    places: gpd.GeoDataFrame | None = None

    @property
    def pending_partners(self) -> int:
        """Partners without a position (not drawn on the map)."""
        if _is_empty(self.partners):
            return 0
        geometry = _geometry_array(self.partners, "partners")
        return int((shapely.is_missing(geometry) | shapely.is_empty(geometry)).sum())


# ----------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------
def territory_map(
    layers: MapLayers,
    *,
    asset_base: str = "/app/static",
    basemap: str | None = None,
    k: int = 11,
    precision: int = 5,
    tolerance: float = 0.0002,
    stop_buffer_m: float = 500.0,
    legend: bool = False,
) -> folium.Map:
    """Draw the territory on an offline Leaflet map.

    Parameters
    ----------
    layers
        The layers to draw; None or empty layers are left out (and not listed in the
        layer control).
    asset_base
        URL path under which ``leaflet/leaflet.js`` and ``leaflet/leaflet.css`` are
        served: ``"/app/static"`` with Streamlit static serving, prefixed with
        ``server.baseUrlPath`` when one is set (``"/prefix/app/static"``).
    basemap
        None (default: grey background, no network), ``"osm"`` (OpenStreetMap) or
        ``"ign"`` (Plan IGN v2, Géoplateforme): online tiles as a switchable layer,
        never needed by anything else.
    k
        Disclosure threshold: the density layer may not show a count in 1..k-1, and
        suppressed zones without a label read ``"< k"``.
    precision
        Decimals kept in coordinates; they travel as integers in these units. At 5,
        a point moves by 0.6 m at most (at 46-51° N): under a pixel up to zoom 17
        (0.8 m per pixel), where the map can go no further than 19.
    tolerance
        Simplification tolerance in degrees (0 keeps every vertex). Communes are
        simplified as a coverage (Visvalingam-Whyatt: details of an area up to about
        tolerance² go), so neighbours keep their shared border, and the density's "rest
        of the commune" zones use the same shapes; other polygons with Douglas-Peucker
        (a border moves by the tolerance at most), QPV and density zones sent as given
        with a quarter of it. The default 0.0002° (22 m north-south, 15 m east-west)
        removes details of about 20 m: under a pixel up to zoom 12 (26 m per pixel, a
        25 km wide view; a département fits at about zoom 9), 1-2 pixels at zoom 13,
        3-4 at zoom 14 (street level). On the département demo no commune border moves
        by more than 5 m. Borders are drawn for context; the density squares are exact
        (see :class:`_LonLatFit`).
    stop_buffer_m
        Walking distance that defines the zones blanches (``Settings.stop_buffer_m``),
        used in the layer name.
    legend
        Also draw :func:`legend_html` inside the map (bottom left), e.g. for an exported
        HTML file; a Streamlit page shows it beside the map instead.

    Returns
    -------
    folium.Map
        Feature groups "Communes (grille de densité)", "QPV", "Densité de contacts
        (protégée)", "Zones blanches (…)", "Arrêts de transport", "Partenaires" and a
        layer control; fitted to the communes (else to whatever is drawn, else France).

    Raises
    ------
    ValidationError
        A layer lacks an identifying column, ``basemap`` is unknown, or the density
        layer shows a count under k.
    CRSError
        A layer without CRS whose coordinates cannot be longitudes/latitudes.
    """
    problems: list[str] = []
    if basemap not in (None, "osm", "ign"):
        problems.append(f"fond de carte inconnu : {basemap!r} (choisir None, 'osm' ou 'ign')")
    if not 0 <= precision <= 9:
        problems.append(f"precision doit être entre 0 et 9 décimales, reçu {precision}")
    if tolerance < 0:
        problems.append(f"tolerance doit être positive ou nulle, reçu {tolerance}")
    if problems:
        raise ValidationError(problems)

    m = folium.Map(location=FRANCE_CENTRE, zoom_start=6, tiles=None)
    # Without tiles Leaflet has no zoom limit (fitting a point would zoom to infinity);
    # fractional zoom fits the territory snugly (tiles, if any, need whole levels).
    m.options.update(minZoom=3, maxZoom=19, zoomSnap=0.25 if basemap is None else 1)
    base = asset_base.rstrip("/")
    # Instance attributes: the class lists (CDN URLs) stay untouched for other users.
    m.default_js = [("leaflet", f"{base}/leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", f"{base}/leaflet/leaflet.css")]

    # The pane does not take the mouse: only the SVG shapes in it do (Leaflet's CSS), so
    # the canvas beneath gets every other mouse event.
    folium.map.CustomPane(_POINTS_PANE, z_index=450, pointer_events=False).add_to(m)
    _Canvas().add_to(m)
    _MetricScale().add_to(m)

    if basemap is not None:
        _basemap(basemap).add_to(m)

    communes, shapes = _communes_layers(layers.communes, precision, tolerance)
    groups = [
        (NAME_COMMUNES, LAYER_COMMUNES, lambda: communes),
        (
            NAME_SCORES,
            LAYER_SCORES,
            lambda: _score_layers(layers.scores, precision, tolerance),
        ),
        (NAME_QPV, LAYER_QPV, lambda: _qpv_layers(layers.qpv, precision, tolerance)),
        (
            NAME_DENSITY,
            LAYER_DENSITY,
            lambda: _density_layers(layers.density, precision, tolerance, k, shapes),
        ),
        (
            _name_gaps(stop_buffer_m),
            "gaps",
            lambda: _gap_layers(layers.service_gaps, precision, tolerance),
        ),
        (NAME_STOPS, LAYER_STOPS, lambda: _stop_layers(layers.stops, precision)),
        (NAME_ROUTES, "routes", lambda: _route_layers(layers.routes, precision)),
        (NAME_PLACES, "places", lambda: _place_layers(layers.places, precision)),
        (NAME_PARTNERS, LAYER_PARTNERS, lambda: _partner_layers(layers.partners, precision)),
    ]
    built = {key: (name, parts) for name, key, build in groups if (parts := build())}
    # The view first, at once (no zoom animation): fitted after the layers, or animated
    # (Leaflet's default), it made Leaflet project and draw every shape of the page
    # twice, once at the view of folium.Map and again when the animation ended.
    drawn = [p for _, parts in built.values() for p in parts]
    bounds = _bounds_of(built[LAYER_COMMUNES][1] if LAYER_COMMUNES in built else drawn)
    if bounds is not None:
        (south, west), (north, east) = bounds
        m.location = [(south + north) / 2, (west + east) / 2]
        fit = folium.map.FitBounds([[south, west], [north, east]])
        fit.options["animate"] = False
        fit.add_to(m)
    # The data (each collection once, before the layers that draw it), then the layers,
    # one feature group each.
    _Decoder().add_to(m)
    added: set[int] = set()
    for _, parts in built.values():
        for part in parts:
            for data in (part.data.needs, part.data):
                if data is not None and id(data) not in added:
                    added.add(id(data))
                    data.add_to(m)
    for name, parts in built.values():
        group = _FeatureGroup(name=name, overlay=True, control=True, show=True)
        for part in parts:
            part.add_to(group)
        group.add_to(m)

    if legend:
        _Legend(legend_html(layers, k=k, stop_buffer_m=stop_buffer_m)).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def legend_html(layers: MapLayers, *, k: int = 11, stop_buffer_m: float = 500.0) -> str:
    """A compact French legend of the layers present, as self-contained HTML.

    Inline styles only (no stylesheet, no URL): usable with ``st.html``, with
    ``st.markdown(..., unsafe_allow_html=True)`` or inside the map. Labels come from the
    data (density classes from ``densite_libelle``, partner types from ``type_libelle``).

    Parameters
    ----------
    layers
        The layers given to :func:`territory_map`.
    k
        Disclosure threshold, explained next to the hatched swatch.
    stop_buffer_m
        Walking distance that defines the zones blanches.

    Returns
    -------
    str
        One ``<div>``; says "Aucune couche à afficher." when every layer is empty.
    """
    sections: list[str] = []
    if not _is_empty(layers.communes):
        labels = _level_labels(layers.communes)
        levels = pd.to_numeric(_column(layers.communes, "densite"), errors="coerce")
        rows = [_row(_swatch(_level_colour(level)), label) for level, label in labels.items()]
        if levels.isna().any():
            rows.append(_row(_swatch(NO_DATA_COLOUR), "classe de densité non renseignée"))
        sections.append(_section(NAME_COMMUNES, rows))
    if not _is_empty(layers.scores):
        rows = [
            _row(_swatch(colour), f"score de {20 * i} à {20 * (i + 1)}")
            for i, colour in enumerate(SCORE_COLOURS)
        ]
        rows.append(_note("Somme pondérée des indicateurs ; survolez une zone pour ses raisons."))
        sections.append(_section(NAME_SCORES, rows))
    if not _is_empty(layers.routes):
        teams = sorted(_column(layers.routes, "team").dropna().astype(str).unique())
        rows = [
            _row(_dot(ROUTE_COLOURS[i % len(ROUTE_COLOURS)], 7), team)
            for i, team in enumerate(teams)
        ]
        rows.append(_note("Pointillés : trajets depuis la base ; points : visites, dans l'ordre."))
        sections.append(_section(NAME_ROUTES, rows))
    if not _is_empty(layers.places):
        kinds = set(_column(layers.places, "type").dropna().astype(str))
        rows = [_row(_dot(_place_colour(kind), 7), kind) for kind in KINDS if kind in kinds]
        rows.append(_note("Cliquez sur la carte pour placer un nouveau lieu."))
        sections.append(_section(NAME_PLACES, rows))
    if not _is_empty(layers.qpv):
        is_2015 = _column(layers.qpv, "generation").astype(str) == "2015"
        rows = []
        if not is_2015.all():
            rows.append(
                _row(
                    _outline(QPV_COLOUR, dashed=False),
                    "quartier prioritaire (QPV)" + (", génération 2024" if is_2015.any() else ""),
                )
            )
        if is_2015.any():
            rows.append(
                _row(_outline(QPV_2015_COLOUR, dashed=True), "QPV génération 2015 (comparaison)")
            )
        sections.append(_section(NAME_QPV, rows))
    if not _is_empty(layers.density):
        rows = [
            _row(_swatch(colour), f"{text} contacts par km²")
            for colour, text in zip(CONTACT_COLOURS, _class_texts(), strict=True)
        ]
        rows.append(
            _row(
                _hatch(SECRET_GREY, "#757575"),
                f"« < {k} » — moins de {k} contacts : non affiché (secret statistique)",
            )
        )
        if (_column(layers.density, "label").astype(str) == "secret").any():
            rows.append(
                _row(
                    _hatch(SECRET_GREY, "#757575"),
                    "« secret » — masqué pour qu'un petit effectif ne puisse pas "
                    "être retrouvé par différence",
                )
            )
        rows.append(
            _note(
                f"Carreaux de 200 m ; sous {k} contacts, regroupés en carreaux de "
                "1 km puis en reste de la commune. Aucun contact n'est placé "
                "individuellement."
            )
        )
        sections.append(_section(NAME_DENSITY, rows))
    if not _is_empty(layers.service_gaps):
        sections.append(
            _section(
                _name_gaps(stop_buffer_m),
                [
                    _row(
                        _hatch("transparent", GAP_COLOUR),
                        f"à plus de {_fr_number(stop_buffer_m)} m à pied d'un arrêt desservi",
                    )
                ],
            )
        )
    if not _is_empty(layers.stops):
        sections.append(
            _section(
                NAME_STOPS,
                [
                    _row(
                        _dot(STOP_COLOUR, 5) + _dot(STOP_COLOUR, 9),
                        "arrêt desservi (taille selon le nombre de départs par jour)",
                    ),
                    _row(
                        _dot(STOP_IDLE_COLOUR, 4),
                        "aucun départ le jour de référence, ou non renseigné",
                    ),
                ],
            )
        )
    if not _is_empty(layers.partners):
        types = _partner_types(layers.partners)
        rows = [
            _row(_dot(_partner_colour(code), 7, border="#212121"), label)
            for code, label in types.items()
        ]
        pending = layers.pending_partners
        if pending:
            rows.append(
                _note(
                    f"{_fr_number(pending)} partenaire{'s' if pending > 1 else ''} "
                    f"à géocoder, non placé{'s' if pending > 1 else ''} sur la carte."
                )
            )
        sections.append(_section(NAME_PARTNERS, rows))
    if not sections:
        sections.append(_note("Aucune couche à afficher."))
    return (
        '<div class="territory-legende" style="font:13px/1.35 system-ui,-apple-system,'
        'Segoe UI,Roboto,sans-serif;color:#212121">' + "".join(sections) + "</div>"
    )


def zone_from_click(returned: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The (layer, code) of the feature last clicked on the map, if any.

    Parameters
    ----------
    returned
        What ``st_folium`` returns (its ``last_active_drawing`` is the clicked GeoJSON
        feature; pass ``returned_objects=RETURNED_OBJECTS`` to rerun on clicks only).

    Returns
    -------
    tuple of str or None
        ``(layer, code)`` with ``layer`` in :data:`CLICKABLE_LAYERS`: commune INSEE code,
        QPV code, density ``zone`` (cell id or commune code), partner row label, stop
        id. None when nothing identifiable was clicked.

    Examples
    --------
    >>> zone_from_click({"last_active_drawing": {"type": "Feature", "properties":
    ...     {"layer": "density", "zone": "CRS3035RES200mN2960000E3780000"}}})
    ('density', 'CRS3035RES200mN2960000E3780000')
    >>> zone_from_click(None) is None
    True
    """
    if not isinstance(returned, Mapping):
        return None
    feature = returned.get("last_active_drawing")
    if not isinstance(feature, Mapping):
        return None
    properties = feature.get("properties")
    if not isinstance(properties, Mapping):
        return None
    layer = properties.get("layer")
    code = properties.get("zone") if layer == LAYER_DENSITY else properties.get("code")
    if layer not in CLICKABLE_LAYERS or code is None or code == "":
        return None
    return str(layer), str(code)


# ----------------------------------------------------------------------------------------
# Leaflet elements
# ----------------------------------------------------------------------------------------
class _GeoJsonLayer(folium.map.Layer):
    """One map layer as a single ``L.geoJson`` of a :class:`_Collection` of the page.

    Parameters
    ----------
    data
        The collection drawn (several layers may draw the same one).
    bounds
        ``[[south, west], [north, east]]`` of the features.
    options
        ``L.geoJson`` options (``JsCode`` values are written as JavaScript).
    rank
        Drawing order (:data:`_STACK`): kept by ``territoryCanvas.stack`` (:class:`_Canvas`).
    bind
        A JavaScript function expression called with the layer once created (binds
        tooltips, popups, hover).

    A layer of the shared canvas (``renderer`` in ``options``) is made by
    ``territoryCanvas.layer``: an ``L.geoJson`` group holding one shape of its features
    and, if the collection has grid squares (``squares``, see :class:`_CompactGrid`),
    one of them, above; an SVG layer is a plain ``L.geoJson``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ "territoryCanvas.layer" if this.on_canvas else "L.geoJson"
            }}({{ this.data.get_name() }}, {{ this.options|tojavascript }});
        {%- if this.bind %}
        ({{ this.bind }})({{ this.get_name() }});
        {%- endif %}
        territoryCanvas.stack({{ this.get_name() }}, {{ this.rank }});
        {%- if this.show %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: _Collection,
        bounds: list[list[float]],
        *,
        options: dict[str, Any],
        rank: int,
        bind: str | None = None,
        count: int = 0,
    ) -> None:
        super().__init__(overlay=True, control=False, show=True)
        self._name = "GeoJsonLayer"
        self.data = data
        self.bounds = bounds
        self.options = options
        self.rank = rank
        self.bind = bind
        self.count = count
        self.on_canvas = "renderer" in options
        self._script_key = ""

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Like ``Layer.render``, but the script goes into the page as plain text.

        The ``addTo`` call is part of the script, written with the names of this render
        (see :class:`_FeatureGroup`).
        """
        if self._parent is None:
            raise TypeError("a map layer renders only inside a feature group or a map")
        self._script_key = _render_as_text(self, self._script_key, kwargs)

    @property
    def payload(self) -> str:
        """The JavaScript expression of the collection drawn (for tests and debugging)."""
        return self.data.payload

    @property
    def features(self) -> list[dict[str, Any]]:
        """The features the browser builds (decoded again in Python)."""
        return self.data.features()

    def _get_self_bounds(self) -> list[list[float | None]]:
        return [list(self.bounds[0]), list(self.bounds[1])]


class _Collection(folium.MacroElement):
    """The features of one or more layers: one JavaScript variable of the page.

    Collections are children of the map added before the layers, so that two layers can
    draw the same features (QPV fill and outline) and a collection can be a function of
    another one (``needs``): the density's "rest of the commune" zones take their shapes
    from the communes. The text is made once, when the map is built: ``st_folium``
    renders the map twice per rerun and only copies it.

    Parameters
    ----------
    encoded
        :class:`_PlainCollection`, :class:`_CompactCollection` or :class:`_CompactGrid`.
    needs
        The collection ``encoded`` is a function of, if any.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (D) { return {{ this.code }}; })(territoryData(
            "{{ this.data_id }}"))
        {%- if this.needs %}({{ this.needs.get_name() }}){% endif %};
        {% endmacro %}
        """
    )

    def __init__(self, encoded: _Encoded, *, needs: _Collection | None = None) -> None:
        super().__init__()
        self._name = "Collection"
        self.encoded = encoded
        self.needs = needs
        self.payload, self.code = encoded.parts()
        # The data's element id, from its content: without "_", which st_folium would take
        # for the end of a folium name and rename.
        digest = hashlib.blake2b(self.payload.encode(), digest_size=8).hexdigest()
        self.data_id = f"territory-data-{digest}"
        self._script_key = ""

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """The data into the page's HTML as JSON, the script that reads it as plain text.

        Outside the script, the data is not lexed by st_folium's passes over the script
        (regular expressions, dedent) nor parsed as JavaScript by the browser: JSON.parse
        reads it faster.
        """
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("a map element renders only inside a folium Figure")
        figure.html.add_child(
            _Text(f'<script type="application/json" id="{self.data_id}">{self.payload}</script>'),
            name=self.data_id,
        )
        self._script_key = _render_as_text(self, self._script_key, kwargs)

    def features(self) -> list[dict[str, Any]]:
        """The features the browser builds (decoded again in Python)."""
        return self.encoded.features(None if self.needs is None else self.needs.features())


def _render_as_text(element: folium.MacroElement, key: str, kwargs: dict[str, Any]) -> str:
    """Put the element's script into the page as plain text; returns its new key.

    ``MacroElement.render`` wraps every script in a new Jinja template: megabytes of
    data would be lexed again on each render (≈ 0.6 s at département scale).
    """
    figure = element.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("a map element renders only inside a folium Figure")
    script = element._template.module.__dict__["script"]
    # A map rendered again under new names (st_folium) must not keep the old copy.
    figure.script._children.pop(key, None)
    key = element.get_name()
    figure.script.add_child(_Text(str(script(element, kwargs))), name=key)
    for child in element._children.values():
        child.render(**kwargs)
    return key


def _drop_stale_additions(layer: folium.map.Layer) -> None:
    """Forget the ``addTo`` statement of a previous render before ``Layer.render``.

    ``Layer.render`` adds a child ``<name>.addTo(<parent>)`` keyed by the names of that
    render. ``st_folium`` renames every element (``map_div``, ``feature_group_div_1``…)
    when it renders a map, so the *second* render of the same map object (a cached map,
    a rerun, another session) would keep the first statement, with names that no longer
    exist: a ``ReferenceError`` and a blank map. Plain folium layers have this problem.
    """
    for name in [n for n, c in layer._children.items() if isinstance(c, ElementAddToElement)]:
        del layer._children[name]


class _FeatureGroup(folium.FeatureGroup):
    """``folium.FeatureGroup`` that can be rendered again (see :func:`_drop_stale_additions`)."""

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        _drop_stale_additions(self)
        super().render(**kwargs)


class _TileLayer(folium.TileLayer):
    """``folium.TileLayer`` that can be rendered again (see :func:`_drop_stale_additions`)."""

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        _drop_stale_additions(self)
        super().render(**kwargs)


class _Text(Element):
    """Text rendered as is (no template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _Canvas(folium.MacroElement):
    """``territoryCanvas``: the one canvas renderer of the map and what goes with it.

    Leaflet gives each pane its own renderer; a canvas per pane would take the mouse from
    every pane beneath it. The polygon, line and circle layers therefore all draw on this
    one canvas (``renderer: territoryCanvas.renderer``; all but the few points on top,
    :data:`_SVG_LAYERS`) and Leaflet hit-tests every shape of it itself: hover,
    tooltips, popups and clicks work on all the layers; shapes drawn with
    ``interactive: false`` are skipped. On one canvas the drawing order is the
    order in which shapes are added, so ``territoryCanvas.stack(layer, rank)`` keeps the
    order of :data:`_STACK`: whenever a layer is added (again, by the layer control) and
    thus drawn last, the layers of higher rank on the map are brought back in front, in
    order. ``territoryCanvas.secret`` and ``territoryCanvas.gaps`` are the hatches of the
    suppressed zones and of the zones blanches: ``CanvasPattern`` objects used as
    ``fillColor`` (the canvas renderer sets ``ctx.fillStyle`` to it), drawn like the
    legend's swatches (:func:`_hatch`). ``territoryCanvas.layer(data, options)`` makes a
    layer of the canvas: its features (and grid squares) as shapes (:data:`_SHAPES_JS`).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var territoryCanvas = (function (map) {
            // A tile of lines at 45 degrees ("/" or, mirrored, "\\"), size / sqrt(2) px
            // apart, over an optional background; the tiles join into continuous lines.
            var hatch = function (size, background, colour, width, mirrored) {
                var tile = document.createElement("canvas");
                tile.width = tile.height = size;
                var ctx = tile.getContext("2d");
                if (background) { ctx.fillStyle = background; ctx.fillRect(0, 0, size, size); }
                if (mirrored) { ctx.setTransform(-1, 0, 0, 1, size, 0); }
                ctx.strokeStyle = colour;
                ctx.lineWidth = width;
                ctx.beginPath();
                for (var k = -1; k <= 1; k++) {
                    ctx.moveTo(k * size, size);
                    ctx.lineTo((k + 1) * size, 0);
                }
                ctx.stroke();
                return ctx.createPattern(tile, "repeat");
            };
            var stacked = [];
            {{ this.shapes_js }}
            return {
                renderer: L.canvas(),
                Shapes: Shapes,
                layer: layer,
                secret: hatch(8, {{ this.secret_fill|tojson }}, {{ this.secret_line|tojson }},
                              2, false),
                gaps: hatch(11, null, {{ this.gap_line|tojson }}, 1.5, true),
                stack: function (layer, rank) {
                    stacked.push({rank: rank, layer: layer});
                    stacked.sort(function (a, b) { return a.rank - b.rank; });
                    layer.on("add", function () {
                        stacked.forEach(function (s) {
                            if (s.rank > rank && map.hasLayer(s.layer)) { s.layer.bringToFront(); }
                        });
                    });
                }
            };
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "Canvas"
        self.shapes_js = _SHAPES_JS
        self.secret_fill = _rgba(SECRET_GREY, 0.55)
        self.secret_line = "#757575"
        self.gap_line = _rgba(GAP_COLOUR, 0.6)


_SHAPES_JS = """// Features of a canvas layer as one shape: see _SHAPES_JS in maps.py.
var Shapes = L.Path.extend({
    initialize: function (data, options) {
        L.setOptions(this, options);
        this._data = data;
        this._at = -1;  // the feature under the mouse at the last hit test
        this._shown = -1;  // the feature of the last "mouseover"
        this._lit = -1;  // the highlighted feature
        var base = data.circles ? L.CircleMarker.prototype.options : L.Polygon.prototype.options;
        var paints = [], keys = [], fills = [], group = new Int32Array(data.n), i;
        var cache = data.table ? [] : null;  // squares: one style per property set
        for (i = 0; i < data.n; i++) {
            var t = cache ? data.kind[i] : -1;
            if (cache && cache[t] !== undefined) { group[i] = cache[t]; continue; }
            var o = L.extend({}, base, {fillRule: data.fillRule || "evenodd"},
                             options.style(data.feature(i, true)));
            if (fills.indexOf(o.fillColor) < 0) { fills.push(o.fillColor); }
            var key = [fills.indexOf(o.fillColor), o.fillOpacity, o.fill, o.color, o.weight,
                       o.opacity, o.stroke, o.dashArray, o.radius].join("|");
            group[i] = keys.indexOf(key);
            if (group[i] < 0) {
                group[i] = keys.push(key) - 1;
                paints.push(this._paint(o));
            }
            if (cache) { cache[t] = group[i]; }
        }
        // Drawing order: a coverage by level (the data's order), then style; a run is
        // one style of one level. Anything else feature by feature, in order.
        var n = data.n, run = -1;
        this._sequence = new Int32Array(n);
        this._runs = [];  // [first, end, paint] in this._sequence
        if (data.sorted) {
            var sort = new Float64Array(n);
            for (i = 0; i < n; i++) {
                sort[i] = ((data.level ? data.level[i] : 0) * paints.length + group[i]) * n + i;
            }
            sort.sort();
            for (i = 0; i < n; i++) {
                this._sequence[i] = sort[i] % n;
                if (Math.floor(sort[i] / n) !== run) {
                    run = Math.floor(sort[i] / n);
                    this._runs.push(i, i, run % paints.length);
                }
                this._runs[this._runs.length - 2] = i + 1;
            }
        } else {
            for (i = 0; i < n; i++) {
                this._sequence[i] = i;
                this._runs.push(i, i + 1, group[i]);
            }
        }
        this._paints = paints;
        this._group = group;  // paint of each feature
        this.on("mousemove", function (e) {
            if (this._at >= 0 && this._at !== this._shown) {
                this.fire("mouseout", e, true);
                this.fire("mouseover", e, true);
            }
        });
        this.on("mouseover", function () { this._shown = this._at; });
        this.on("mouseout", function () { this._shown = -1; });
    },
    // What the canvas renderer's _fillStroke reads, for a style.
    _paint: function (style) {
        var paint = {options: style};
        L.Canvas.prototype._updateDashArray(paint);
        return paint;
    },
    _project: function () {
        var map = this._map, crs = map.options.crs, d = this._data, m = this._m, i, j;
        var points = d.lonlat.length / 2;
        if (!m) {
            m = this._m = new Float64Array(2 * points);
            var ll = d.lonlat, P = crs.projection;
            if (P === L.Projection.SphericalMercator) {  // P.project, without an object a point
                var rad = Math.PI / 180, max = P.MAX_LATITUDE;
                for (i = 0; i < 2 * points; i += 2) {
                    var sin = Math.sin(Math.max(Math.min(max, ll[i + 1]), -max) * rad);
                    m[i] = P.R * ll[i] * rad;
                    m[i + 1] = P.R * Math.log((1 + sin) / (1 - sin)) / 2;
                }
            } else {
                for (i = 0; i < 2 * points; i += 2) {
                    var q = P.project(L.latLng(ll[i + 1], ll[i]));
                    m[i] = q.x;
                    m[i + 1] = q.y;
                }
            }
        }
        // Projected metres to pixels of the map's layer: an affine map (L.Transformation).
        var scale = crs.scale(map.getZoom()), origin = map.getPixelOrigin();
        var p0 = crs.transformation.transform(L.point(0, 0), scale);
        var p1 = crs.transformation.transform(L.point(1, 1), scale);
        var a = this._affine = [p0.x - origin.x, p0.y - origin.y, p1.x - p0.x, p1.y - p0.y];
        var px = this._px = this._px || new Float64Array(2 * points);
        for (i = 0; i < 2 * points; i += 2) {  // rounded like map.latLngToLayerPoint
            px[i] = Math.round(p0.x + a[2] * m[i]) - origin.x;
            px[i + 1] = Math.round(p0.y + a[3] * m[i + 1]) - origin.y;
        }
        // Pixel box of each feature, with room for its outline (and radius).
        var box = this._box = this._box || new Float64Array(4 * d.n);
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (i = 0; i < d.n; i++) {
            var o = this._paints[this._group[i]].options;
            var pad = (o.stroke ? o.weight / 2 : 0) + 1 + (d.circles ? o.radius : 0);
            var bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
            for (j = 2 * d.start[d.first[i]]; j < 2 * d.start[d.first[i + 1]]; j += 2) {
                bx0 = Math.min(bx0, px[j]); bx1 = Math.max(bx1, px[j]);
                by0 = Math.min(by0, px[j + 1]); by1 = Math.max(by1, px[j + 1]);
            }
            box[4 * i] = bx0 - pad; box[4 * i + 1] = by0 - pad;
            box[4 * i + 2] = bx1 + pad; box[4 * i + 3] = by1 + pad;
            x0 = Math.min(x0, box[4 * i]); x1 = Math.max(x1, box[4 * i + 2]);
            y0 = Math.min(y0, box[4 * i + 1]); y1 = Math.max(y1, box[4 * i + 3]);
        }
        this._pxBounds = x0 <= x1 ? L.bounds([x0, y0], [x1, y1]) : null;
    },
    _update: function () {
        if (this._map) { this._updatePath(); }
    },
    onRemove: function (map) {  // switched off: no feature stays hovered or outlined
        this._at = this._shown = this._lit = -1;
        L.Path.prototype.onRemove.call(this, map);
    },
    // Whether feature i (its pixel box) meets `bounds`.
    _meets: function (i, bounds) {
        var b = this._box, k = 4 * i;
        return b[k + 2] >= bounds.min.x && b[k] <= bounds.max.x
            && b[k + 3] >= bounds.min.y && b[k + 1] <= bounds.max.y;
    },
    // Feature i as subpaths, each ring closed by a line back to its first point:
    // closePath() takes time in the size of the whole path in Chromium (16,000
    // squares: 1 s). A circle as L.circleMarker draws it.
    _trace: function (ctx, i) {
        var d = this._data, px = this._px, r, k, end;
        if (d.circles) {
            k = 2 * d.start[d.first[i]];
            var radius = Math.max(Math.round(this._paints[this._group[i]].options.radius), 1);
            ctx.moveTo(px[k] + radius, px[k + 1]);
            ctx.arc(px[k], px[k + 1], radius, 0, Math.PI * 2, false);
            return;
        }
        for (r = d.first[i]; r < d.first[i + 1]; r++) {
            k = 2 * d.start[r];
            end = 2 * d.start[r + 1];
            ctx.moveTo(px[k], px[k + 1]);
            for (var j = k + 2; j < end; j += 2) { ctx.lineTo(px[j], px[j + 1]); }
            ctx.lineTo(px[k], px[k + 1]);
        }
    },
    _updatePath: function () {
        var renderer = this._renderer;
        if (!renderer._drawing || !this._px) { return; }
        var ctx = renderer._ctx, bounds = renderer._redrawBounds || renderer._bounds;
        var runs = this._runs, order = this._sequence, r, j, drawn;
        var skip = this._litPaint && this._litPaint.options.fill ? this._lit : -1;
        for (r = 0; r < runs.length; r += 3) {
            drawn = false;
            for (j = runs[r]; j < runs[r + 1]; j++) {
                if (order[j] !== skip && this._meets(order[j], bounds)) {
                    if (!drawn) { ctx.beginPath(); }
                    this._trace(ctx, order[j]);
                    drawn = true;
                }
            }
            if (drawn) { renderer._fillStroke(ctx, this._paints[runs[r + 2]]); }
        }
        if (this._lit >= 0 && this._meets(this._lit, bounds)) {
            ctx.beginPath();
            this._trace(ctx, this._lit);
            renderer._fillStroke(ctx, this._litPaint);
        }
    },
    _containsPoint: function (p) {
        if (!this._pxBounds || !this._pxBounds.contains(p)) { return false; }
        var i = this._find(p);
        if (i >= 0 && i !== this._at) {
            this.feature = this._data.feature(i);
            if (this.options.onEachFeature) { this.options.onEachFeature(this.feature, this); }
        }
        this._at = i;
        return i >= 0;
    },
    // The feature (topmost: last in the data) under the pixel p, or -1.
    _find: function (p) {
        var b = this._buckets || this._bucket(), a = this._affine, d = this._data;
        var x = (p.x - a[0]) / a[2], y = (p.y - a[1]) / a[3];  // metres
        var reach = d.circles ? b.radius / Math.abs(a[2]) : 0;  // pixels to metres
        var cell = function (v, v0) { return Math.floor((v - v0) / b.size); };
        var best = -1, cx, cy, l;
        for (cy = cell(y - reach, b.y0); cy <= cell(y + reach, b.y0); cy++) {
            for (cx = cell(x - reach, b.x0); cx <= cell(x + reach, b.x0); cx++) {
                var list = b.cells.get(cy * b.nx + cx) || [];
                for (l = list.length - 1; l >= 0 && list[l] > best; l--) {
                    if (d.circles ? this._onCircle(list[l], p) : this._inside(list[l], x, y)) {
                        best = list[l];
                    }
                }
            }
        }
        return best;
    },
    // Whether pixel p is on circle i (with its outline, as L.circleMarker hit-tests).
    _onCircle: function (i, p) {
        var o = this._paints[this._group[i]].options, k = 2 * this._data.start[this._data.first[i]];
        var dx = p.x - this._px[k], dy = p.y - this._px[k + 1];
        var reach = o.radius + (o.stroke ? o.weight / 2 : 0);
        return dx * dx + dy * dy <= reach * reach;
    },
    // Whether the point (x, y) in metres is inside feature i ("evenodd" over its rings).
    _inside: function (i, x, y) {
        var d = this._data, m = this._m, inside = false, r, j, k, end;
        for (r = d.first[i]; r < d.first[i + 1]; r++) {
            k = 2 * d.start[r];
            end = 2 * d.start[r + 1];
            for (j = k; j < end; j += 2) {
                var ax = m[j], ay = m[j + 1], b = j + 2 < end ? j + 2 : k;
                var bx = m[b], by = m[b + 1];
                if ((ay > y) !== (by > y) && x < (bx - ax) * (y - ay) / (by - ay) + ax) {
                    inside = !inside;
                }
            }
        }
        return inside;
    },
    // Features by cell of a grid in metres (about one feature per cell on average).
    _bucket: function () {
        var m = this._m, d = this._data, n = d.n, box = new Float64Array(4 * n), i, j, c;
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, radius = 0;
        for (i = 0; i < n; i++) {
            box[4 * i] = box[4 * i + 1] = Infinity;
            box[4 * i + 2] = box[4 * i + 3] = -Infinity;
            for (j = 2 * d.start[d.first[i]]; j < 2 * d.start[d.first[i + 1]]; j += 2) {
                box[4 * i] = Math.min(box[4 * i], m[j]);
                box[4 * i + 1] = Math.min(box[4 * i + 1], m[j + 1]);
                box[4 * i + 2] = Math.max(box[4 * i + 2], m[j]);
                box[4 * i + 3] = Math.max(box[4 * i + 3], m[j + 1]);
            }
            x0 = Math.min(x0, box[4 * i]); y0 = Math.min(y0, box[4 * i + 1]);
            x1 = Math.max(x1, box[4 * i + 2]); y1 = Math.max(y1, box[4 * i + 3]);
            var o = this._paints[this._group[i]].options;
            if (d.circles) { radius = Math.max(radius, o.radius + (o.stroke ? o.weight / 2 : 0)); }
        }
        var size = Math.sqrt((x1 - x0) * (y1 - y0) / n) || (x1 - x0) || 1;
        var b = {size: size, x0: x0, y0: y0, nx: Math.floor((x1 - x0) / size) + 1,
                 cells: new Map(), radius: radius};
        for (i = 0; i < n; i++) {
            if (!(box[4 * i] <= box[4 * i + 2])) { continue; }  // no point
            var cx0 = Math.floor((box[4 * i] - x0) / size);
            var cx1 = Math.floor((box[4 * i + 2] - x0) / size);
            var cy0 = Math.floor((box[4 * i + 1] - y0) / size);
            var cy1 = Math.floor((box[4 * i + 3] - y0) / size);
            for (var cy = cy0; cy <= cy1; cy++) {
                for (c = cx0; c <= cx1; c++) {
                    var list = b.cells.get(cy * b.nx + c);
                    if (list) { list.push(i); } else { b.cells.set(cy * b.nx + c, [i]); }
                }
            }
        }
        return (this._buckets = b);
    },
    // Restyle the feature under the mouse with `style` (null: no feature restyled): an
    // outline drawn above the layer, or, when the style changes the fill, the feature
    // drawn again in that style above the others (its usual drawing left out).
    highlight: function (style) {
        var before = this._lit;
        this._lit = style ? this._shown : -1;
        this._litPaint = null;
        if (style && this._lit >= 0) {
            var own = this._paints[this._group[this._lit]].options;
            var fill = "fillOpacity" in style || "fillColor" in style;
            this._litPaint = this._paint(L.extend({}, own, style, fill ? {} : {fill: false}));
        }
        this._redrawFeature(before);
        this._redrawFeature(this._lit);
        return this;
    },
    // Ask the renderer to redraw around feature i (what it reads of a layer: a box).
    _redrawFeature: function (i) {
        if (i < 0 || !this._map || !this._box) { return; }
        var b = this._box, k = 4 * i;
        this._renderer._requestRedraw({_pxBounds: L.bounds([b[k], b[k + 1]], [b[k + 2], b[k + 3]]),
                                       options: {weight: 3}});
    },
    toGeoJSON: function () { return this.feature; },
    getBounds: function () {
        var ll = this._data.lonlat, bounds = L.latLngBounds([]);
        for (var i = 0; i < ll.length; i += 2) { bounds.extend([ll[i + 1], ll[i]]); }
        return bounds;
    }
});
// The grid squares of a density layer (the "squares" of its collection, see
// _CompactGrid) as a source of Shapes: one ring of four corners each.
var fromSquares = function (squares) {
    var n = squares.n, first = new Int32Array(n + 1), start = new Int32Array(n + 1);
    var level = new Int32Array(n), i;
    for (i = 0; i <= n; i++) { first[i] = i; start[i] = 4 * i; }
    for (i = 1; i < n; i++) {
        var t = squares.table;
        level[i] = level[i - 1] + (t[squares.kind[i]].level !== t[squares.kind[i - 1]].level);
    }
    // Squares of a level never overlap; "nonzero" fills a duplicate only once.
    return {n: n, lonlat: squares.lonlat, first: first, start: start, level: level,
            sorted: true, fillRule: "nonzero", table: squares.table, kind: squares.kind,
            feature: function (i, bare) {
                return bare ? {properties: squares.table[squares.kind[i]]} : squares.feature(i);
            }};
};
// Features as a source of Shapes (`sorted`: they never overlap), or null when they are
// not all (multi)polygons, or all points drawn as circles.
var fromFeatures = function (features, circles, sorted) {
    var rings = 0, points = 0, i, g, p, r;
    var parts = function (g) {
        return g.type === "Polygon" ? [g.coordinates]
            : (g.type === "MultiPolygon" ? g.coordinates : null);
    };
    for (i = 0; i < features.length; i++) {
        g = features[i].geometry;
        if (circles) {
            if (!g || g.type !== "Point") { return null; }
            rings++;
            points++;
            continue;
        }
        var polygons = g && parts(g);
        if (!polygons) { return null; }
        for (p = 0; p < polygons.length; p++) {
            for (r = 0; r < polygons[p].length; r++) {
                rings++;
                points += polygons[p][r].length - 1;  // rings are closed: one point less
            }
        }
    }
    var first = new Int32Array(features.length + 1), start = new Int32Array(rings + 1);
    var lonlat = new Float64Array(2 * points), at = 0, ring = 0;
    for (i = 0; i < features.length; i++) {
        first[i] = ring;
        g = features[i].geometry;
        var list = circles ? [[[g.coordinates, g.coordinates]]] : parts(g);  // a closed ring
        for (p = 0; p < list.length; p++) {
            for (r = 0; r < list[p].length; r++) {
                start[ring++] = at / 2;
                var c = list[p][r];
                for (var k = 0; k < c.length - 1; k++) {
                    lonlat[at++] = c[k][0];
                    lonlat[at++] = c[k][1];
                }
            }
        }
    }
    first[features.length] = ring;
    start[ring] = at / 2;
    return {n: features.length, lonlat: lonlat, first: first, start: start,
            circles: circles, sorted: sorted,
            feature: function (i) { return features[i]; }};
};
// A canvas layer: an L.geoJson group holding one shape of its features (or, when they
// cannot be one shape, the features as Leaflet objects) and one of its grid squares.
var layer = function (data, options) {
    var group = L.geoJson(null, options), features = data.features;
    var source = features.length
        ? fromFeatures(features, !!options.pointToLayer, !!options.coverage) : null;
    if (source) {
        group.addLayer(new Shapes(source, group.options));
    } else if (features.length) {
        group.addData(data);
    }
    if (data.squares) { group.addLayer(new Shapes(fromSquares(data.squares), group.options)); }
    return group;
};
"""
"""The JavaScript of ``territoryCanvas.Shapes`` and ``.layer`` (in :class:`_Canvas`).

The features of a canvas layer as ONE shape of the canvas instead of one Leaflet
object each: Leaflet builds, projects and hit-tests thousands of polygons and circles
slowly (the ~16,000 grid squares of a département took 2 s; its 1,550 communes, 1,360
rests of communes and 2,665 stops ~0.5 s more, with as much again in garbage).

* Data (a "source", see fromFeatures and fromSquares): n features, the longitude and
  latitude of their points in one typed array, the points of each ring (``start``,
  rings not closed) and the rings of each feature (``first``); a point feature is a
  circle of the radius its style gives, in pixels, as L.circleMarker draws it.
* Drawing: points projected once in metres, then scaled at each zoom (rounded to
  pixels as Leaflet does); each style given by the layer's own style function. A
  coverage (features that never overlap, ``sorted``) is filled and stroked in runs of
  one style, level by level (the data's order), holes by the "evenodd" rule; other
  features are drawn one by one in their order, as Leaflet draws them. Features off
  the part of the canvas being drawn are skipped.
* Mouse: the feature under a point is found in buckets (built at the first hit test)
  and tested exactly (point in rings, "evenodd": holes are not hits; circles by
  distance). The shape then stands for that feature: ``feature`` and ``toGeoJSON()``
  (what tooltips and st_folium read) are the feature's, tagged by the layer's
  onEachFeature; when the mouse passes to another feature, "mouseout" then
  "mouseover" are fired again, so that tooltips show the new feature;
  ``highlight(style)`` restyles the feature under the mouse (null: no longer).
"""


def _rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` and an opacity as a CSS ``rgba()`` colour."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


class _MetricScale(folium.MacroElement):
    """Scale bar in metres and kilometres only (folium's also shows miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


class _Legend(folium.MacroElement):
    """The legend as a Leaflet control (bottom left)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "leaflet-control");
                div.style.cssText = "background:rgba(255,255,255,.92);padding:6px 9px;"
                    + "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);"
                    + "max-height:45vh;overflow:auto;max-width:22rem";
                div.innerHTML = {{ this.content }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, content: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.content = _js(content)


def _basemap(kind: str) -> folium.TileLayer:
    if kind == "ign":
        return _TileLayer(
            tiles=(
                "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&FORMAT=image/png"
                "&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
            ),
            attr="Plan IGN v2 © IGN – Géoplateforme",
            name="Fond de carte Plan IGN (en ligne)",
            overlay=True,
            control=True,
            max_zoom=19,
        )
    return _TileLayer(
        "OpenStreetMap", name="Fond de carte OpenStreetMap (en ligne)", overlay=True, control=True
    )


# ----------------------------------------------------------------------------------------
# JavaScript shared by the layers (written once per layer, never per feature)
# ----------------------------------------------------------------------------------------
_JS_HELPERS = r"""
    var esc = function (v) {
        return v === null || v === undefined ? "" : String(v).replace(/[&<>"']/g,
            function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                   "'": "&#39;"}[c]; });
    };
    var num = function (v) {
        return String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
    };
    // A DOM node (what st_folium reads); line breaks doubled with "\n" so that its
    // text (last_object_clicked_tooltip / _popup) keeps one line per row.
    var box = function (h) {
        var d = document.createElement("div");
        d.innerHTML = h.replace(/<br>/g, "<br>\n");
        return d;
    };
"""


def _hover(weight: float, colour: str) -> str:
    """Outline the feature under the mouse; a shape of many features
    (``territoryCanvas.Shapes``) outlines the one under the mouse."""
    # No bringToFront: on the shared canvas it would draw the shape above every layer.
    return f"""var HOVER = {{weight: {weight}, color: "{colour}"}};
    layer.on("mouseover", function (e) {{
        if (e.layer.highlight) {{ e.layer.highlight(HOVER); }} else {{ e.layer.setStyle(HOVER); }}
    }});
    layer.on("mouseout", function (e) {{
        if (e.layer.highlight) {{ e.layer.highlight(null); }} else {{ layer.resetStyle(e.layer); }}
    }});"""


def _tag(layer: str) -> JsCode:
    return JsCode(f'function (feature) {{ feature.properties.layer = "{layer}"; }}')


# ----------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Shapes:
    """The communes as the communes layer draws them, for the density to reuse."""

    data: _Collection
    index: dict[str, int]  # commune code → feature index in ``data``
    given: np.ndarray  # the geometry each feature was drawn from (before simplification)


def _communes_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> tuple[list[_GeoJsonLayer], _Shapes | None]:
    if _is_empty(gdf):
        return [], None
    assert gdf is not None
    gdf = _checked(gdf, "communes", required=("code",))
    geometry, keep = _prepared(
        gdf, "communes", precision=precision, tolerance=tolerance, coverage=True
    )
    if not keep.any():
        return [], None
    rows = gdf.loc[keep]
    levels = pd.to_numeric(_column(rows, "densite"), errors="coerce").astype("Int64")
    props = _records(
        {
            "code": _text(rows["code"]),
            "nom": _text(_column(rows, "nom")),
            "population": _ints(_column(rows, "population")),
            "densite": _ints(levels),
        }
    )
    labels = {str(level): label for level, label in _level_labels(gdf).items()}
    colours = {str(i + 1): c for i, c in enumerate(DENSITY_LEVEL_COLOURS)}
    style = JsCode(
        f"""(function () {{
        var C = {_js(colours)};
        return function (f) {{
            return {{fillColor: C[f.properties.densite] || "{NO_DATA_COLOUR}", fillOpacity: 0.75,
                     color: "#ffffff", weight: 0.6, opacity: 0.9}};
        }};
    }})()"""
    )
    tooltip = f"""var LABELS = {_js(labels)};
    layer.bindTooltip(function (l) {{
        var p = l.feature.properties;
        var level = p.densite === null || p.densite === undefined ? "non renseignée"
            : (LABELS[p.densite] || ("niveau " + p.densite));
        return box("<b>" + esc(p.nom) + "</b> (" + esc(p.code) + ")<br>Population : "
            + (p.population === null || p.population === undefined ? "non renseignée"
               : num(p.population))
            + "<br>Densité : " + esc(level));
    }}, {{sticky: true}});"""
    layers = _choropleth(
        props, geometry, precision, style=style, tooltip=tooltip, tag=LAYER_COMMUNES, coverage=True
    )
    codes = {p["code"]: i for i, p in enumerate(props) if p["code"] is not None}
    return layers, _Shapes(layers[0].data, codes, _geometry_array(gdf, "communes")[keep])


def _choropleth(
    props: list[dict[str, Any]],
    geometry: np.ndarray,
    precision: int,
    *,
    style: JsCode,
    tooltip: str,
    tag: str,
    coverage: bool,
) -> list[_GeoJsonLayer]:
    """Zones filling the communes' pane, with a tooltip, a hover outline and a click tag;
    ``coverage``: they never overlap (drawn in runs of one style)."""
    bind = f"""function (layer) {{
    {_JS_HELPERS}
    {tooltip}
    {_hover(2, "#212121")}
}}"""
    return [
        _layer(
            props,
            geometry,
            stack="communes",
            precision=precision,
            options={"style": style, "on_each_feature": _tag(tag), "coverage": coverage},
            bind=bind,
        )
    ]


def _score_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "scores", required=("code", "score"))
    geometry, keep = _prepared(
        gdf, "scores", precision=precision, tolerance=tolerance, coverage=False
    )
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    score = pd.to_numeric(rows["score"], errors="coerce")
    props = _records(
        {
            "code": _text(rows["code"]),
            "nom": _text(_column(rows, "nom")),
            "rang": _ints(_column(rows, "rang")),
            "score": [None if pd.isna(v) else round(float(v), 1) for v in score],
            "pourquoi": _text(_column(rows, "pourquoi")),
        }
    )
    style = JsCode(
        f"""(function () {{
        var C = {_js(list(SCORE_COLOURS))};
        return function (f) {{
            var s = f.properties.score;
            var fill = s === null || s === undefined ? "{NO_DATA_COLOUR}"
                : C[Math.min(4, Math.floor(s / 20))];
            return {{fillColor: fill, fillOpacity: 0.8, color: "#ffffff", weight: 0.6}};
        }};
    }})()"""
    )
    tooltip = """layer.bindTooltip(function (l) {
        var p = l.feature.properties;
        return box("<b>" + esc(p.rang) + ". " + esc(p.nom) + "</b> — score "
            + esc(p.score === null || p.score === undefined ? "—" : Math.round(p.score))
            + "<br>" + esc(p.pourquoi));
    }, {sticky: true});"""
    # Simplified one by one: neighbours may overlap a little, so drawn one by one.
    return _choropleth(
        props, geometry, precision, style=style, tooltip=tooltip, tag=LAYER_SCORES, coverage=False
    )


def _qpv_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "qpv", required=("code",))
    geometry, keep = _prepared(
        gdf, "qpv", precision=precision, tolerance=tolerance / 4, coverage=False
    )
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    generation = _column(rows, "generation")
    numeric = pd.to_numeric(generation, errors="coerce")
    generation_out = [
        int(n) if pd.notna(n) else (None if pd.isna(g) else str(g))
        for n, g in zip(numeric, generation, strict=True)
    ]
    props = _records(
        {
            "code": _text(rows["code"]),
            "nom": _text(_column(rows, "nom")),
            "generation": generation_out,
        }
    )
    fill_style = JsCode(f"""function () {{
        return {{stroke: false, fillColor: "{QPV_COLOUR}", fillOpacity: 0.1}};
    }}""")
    bind = f"""function (layer) {{
    {_JS_HELPERS}
    layer.bindTooltip(function (l) {{
        var p = l.feature.properties;
        return box("<b>" + esc(p.nom) + "</b><br>QPV " + esc(p.code)
            + (p.generation === null || p.generation === undefined ? ""
               : " — génération " + esc(p.generation)));
    }}, {{sticky: true}});
    var HOVER = {{fillOpacity: 0.25}};
    layer.on("mouseover", function (e) {{
        if (e.layer.highlight) {{ e.layer.highlight(HOVER); }} else {{ e.layer.setStyle(HOVER); }}
    }});
    layer.on("mouseout", function (e) {{
        if (e.layer.highlight) {{ e.layer.highlight(null); }} else {{ layer.resetStyle(e.layer); }}
    }});
}}"""
    fill = _layer(
        props,
        geometry,
        stack="qpv_fill",
        precision=precision,
        options={"style": fill_style, "on_each_feature": _tag(LAYER_QPV)},
        bind=bind,
    )
    # Outline on top of the density and the zones blanches, never catching the mouse:
    # the same features, drawn a second time.
    line_style = JsCode(f"""function (f) {{
        return String(f.properties.generation) === "2015"
            ? {{color: "{QPV_2015_COLOUR}", weight: 2, dashArray: "6 4", fill: false}}
            : {{color: "{QPV_COLOUR}", weight: 3, fill: false}};
    }}""")
    outline = _GeoJsonLayer(
        fill.data,
        fill.bounds,
        options={"renderer": _RENDERER, "style": line_style, "interactive": False},
        rank=_STACK["qpv_line"],
        count=fill.count,
    )
    return [fill, outline]


def _density_layers(
    gdf: gpd.GeoDataFrame | None,
    precision: int,
    tolerance: float,
    k: int,
    shapes: _Shapes | None,
) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "density", required=DENSITY_COLUMNS)
    # Privacy: from here on only the protected columns exist.
    gdf = gdf[[*DENSITY_COLUMNS, gdf.geometry.name]]
    counts = pd.to_numeric(gdf["count"], errors="coerce").astype("Int64")
    labels = gdf["label"].astype("object")
    _check_protected(counts, labels, k)

    # Grid squares whose geometry is their id's square travel as compact rows, and "rest
    # of the commune" zones drawn as their commune as references to the communes' shapes
    # (see _CompactGrid); the others (anything unexpected) as GeoJSON.
    grid = _grid_squares(gdf)
    commune = _commune_shapes(gdf, shapes)
    plain = ~grid.mask & (commune < 0)
    geometry, keep = _prepared(
        gdf.loc[plain],
        "density",
        precision=precision,
        tolerance=tolerance / 4,
        coverage=False,
    )
    kept = ~plain
    kept[np.flatnonzero(plain)[keep]] = True
    if not kept.any():
        return []
    props = _density_props(gdf.loc[kept], counts.loc[kept], k)
    sent_as = np.where(grid.mask, "square", np.where(commune >= 0, "commune", "plain"))[kept]
    explicit = [p for p, c in zip(props, sent_as, strict=True) if c == "plain"]
    explicit_order = np.argsort([_RANKS.get(p["level"] or "", 0) for p in explicit], kind="stable")
    explicit = [explicit[i] for i in explicit_order]
    geometry = geometry[explicit_order]
    encoded = _CompactGrid.encode(
        explicit=_features_text(explicit, geometry, precision) if explicit else "",
        squares=[p for p, c in zip(props, sent_as, strict=True) if c == "square"],
        east=grid.east[grid.mask],
        north=grid.north[grid.mask],
        fit=grid.fit,
        rests=[p for p, c in zip(props, sent_as, strict=True) if c == "commune"],
        communes=commune[commune >= 0],
    )
    # Fail closed on what is actually sent: every count and label of the page.
    sent = encoded.sent_properties()
    _check_protected(
        pd.Series([p["count"] for p in sent], dtype="Int64"),
        pd.Series([p["label"] for p in sent], dtype="object"),
        k,
    )
    bounds = _box(np.concatenate([geometry, grid.geometry[~plain]]))
    style = JsCode(
        f"""(function () {{
        var P = {_js(list(CONTACT_COLOURS))};
        return function (f) {{
            var p = f.properties;
            // What is left of a commune is drawn light and dashed: it is spread over
            // the whole commune, and the commune's density class must stay readable.
            // Its outline is 1 px: at 1.5 px, rasterising the dashes without a GPU (a
            // remote desktop, headless Chromium) took 0.07-0.1 s more at each redraw
            // of a département (every pan and zoom).
            var rest = p.level === "commune";
            if (p.count === null || p.count === undefined) {{
                return {{fillColor: territoryCanvas.secret,
                         fillOpacity: rest ? 0.45 : 1, color: "#9e9e9e",
                         weight: rest ? 1 : 0.5, opacity: 0.9, dashArray: rest ? "4 3" : null}};
            }}
            var fill = P[p.classe === null || p.classe === undefined ? 0 : p.classe];
            return {{fillColor: fill, fillOpacity: rest ? 0.3 : 0.8,
                     color: rest ? fill : "#ffffff", weight: rest ? 1 : 0.4, opacity: 0.9,
                     dashArray: rest ? "4 3" : null}};
        }};
    }})()"""
    )
    bind = f"""function (layer) {{
    {_JS_HELPERS}
    var LEVELS = {_js(LEVEL_NAMES_FR)};
    layer.bindTooltip(function (l) {{
        var p = l.feature.properties;
        var suppressed = p.count === null || p.count === undefined;
        var text = "<b>" + esc(p.label) + " contacts</b><br>" + esc(LEVELS[p.level] || p.level);
        if (suppressed) {{
            text += "<br>non affiché (secret statistique)";
        }} else if (p.area_km2) {{
            var d = p.count / p.area_km2;
            text += "<br>soit " + (d >= 10 ? num(d) : d.toFixed(1).replace(".", ","))
                + " contacts par km²";
        }}
        return box(text);
    }}, {{sticky: true}});
    {_hover(1.5, "#212121")}
}}"""
    data = _Collection(encoded, needs=shapes.data if encoded.refs and shapes else None)
    return [
        _GeoJsonLayer(
            data,
            bounds,
            options={
                "renderer": _RENDERER,
                "style": style,
                "on_each_feature": _tag(LAYER_DENSITY),
                "coverage": True,
            },
            rank=_STACK["density"],
            bind=bind,
            count=len(props),
        )
    ]


def _commune_shapes(gdf: gpd.GeoDataFrame, shapes: _Shapes | None) -> np.ndarray:
    """Index in the communes' collection of each "rest of the commune" zone that is
    drawn as its commune (its geometry is the one the communes layer was given), else -1.

    Such a zone (what :func:`territory.views.density_layer` gives) is sent as a
    reference: it takes the commune's simplified shape, so that its outline is the
    commune's and not a second, finer copy of it.
    """
    out = np.full(len(gdf), -1, dtype=np.int64)
    if shapes is None:
        return out
    index = np.array([-1 if z is None else shapes.index.get(z, -1) for z in _text(gdf["zone"])])
    level = gdf["level"].astype("string").fillna("").to_numpy(dtype=object)
    candidate = (level == "commune") & (index >= 0)
    geometry = _geometry_array(gdf, "density")[candidate]
    same = shapely.equals_exact(geometry, shapes.given[index[candidate]], tolerance=1e-9)
    out[np.flatnonzero(candidate)[same]] = index[candidate][same]
    return out


def _density_props(rows: pd.DataFrame, counts: pd.Series, k: int) -> list[dict[str, Any]]:
    """The properties of each density zone, as the browser receives them."""
    area = pd.to_numeric(rows["area_km2"], errors="coerce")
    shown = counts.notna().to_numpy()
    label_out = [
        str(lab) if pd.notna(lab) and str(lab).strip() else (_fr_number(int(c)) if s else f"< {k}")
        for lab, c, s in zip(rows["label"], counts, shown, strict=True)
    ]
    return _records(
        {
            "zone": _text(rows["zone"]),
            "level": _text(rows["level"]),
            "count": _ints(counts),
            "label": label_out,
            "area_km2": [None if pd.isna(a) else round(float(a), 4) for a in area],
            "classe": _ints(pd.Series(_density_classes(counts, area), dtype="Int64")),
        }
    )


# --- compact grid squares ----------------------------------------------------------------
# Drawing order of the density levels: coarse zones beneath 200 m cells.
_RANKS = {"commune": 0, "1km": 1, "200m": 2}
_GRID_SIZES = {"200m": 200, "1km": 1000}
_GRID_UNIT = 200  # metres: every 200 m and 1 km corner is a multiple of it
_GRID_ID = re.compile(r"^CRS3035RES(200|1000)mN(\d+)E(\d+)$")
_FIT_DEGREES = range(3, 10)
_MAX_FIT_ERROR_M = 0.1
"""Largest distance between a corner computed in the browser and PROJ's."""
_MAX_SHIFT_M = 1.0
"""Largest distance between a given square's corner and its id's (else sent as is)."""
_TO_LONLAT = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
_M_PER_DEGREE = 111_195.0  # mean Earth radius × π / 180


@dataclass(frozen=True)
class _LonLatFit:
    """``lon, lat = f(E, N)``: a polynomial of EPSG:3035 metres, on an extent.

    With ``x = (E - e0) / scale`` and ``y = (N - n0) / scale``, ``lon`` is the sum of
    ``lon_terms[t] * x**i * y**j`` over ``t`` enumerating ``i`` in ``0..degree`` then
    ``j`` in ``0..degree - i`` (same for ``lat``). Fitted by least squares on the
    corners to draw and checked on each of them against PROJ.
    """

    e0: float
    n0: float
    scale: float
    degree: int
    lon_terms: tuple[float, ...]
    lat_terms: tuple[float, ...]
    error_m: float

    @staticmethod
    def fitted(east: np.ndarray, north: np.ndarray) -> _LonLatFit | None:
        """The lowest degree within :data:`_MAX_FIT_ERROR_M` on every given point."""
        if not len(east):
            return None
        lon, lat = _TO_LONLAT.transform(east, north)
        e0 = (float(east.min()) + float(east.max())) / 2
        n0 = (float(north.min()) + float(north.max())) / 2
        scale = max(float(east.max() - east.min()), float(north.max() - north.min()), 2.0) / 2
        x, y = (east - e0) / scale, (north - n0) / scale
        for degree in _FIT_DEGREES:
            terms = _monomials(x, y, degree)
            lon_terms = np.linalg.lstsq(terms, lon, rcond=None)[0]
            lat_terms = np.linalg.lstsq(terms, lat, rcond=None)[0]
            error = _distance_m(terms @ lon_terms, terms @ lat_terms, lon, lat).max()
            if error <= _MAX_FIT_ERROR_M:
                return _LonLatFit(
                    e0,
                    n0,
                    scale,
                    degree,
                    tuple(float(c) for c in lon_terms),
                    tuple(float(c) for c in lat_terms),
                    float(error),
                )
        return None

    def lonlat(self, east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Longitudes and latitudes of EPSG:3035 points (what the browser computes)."""
        terms = _monomials(
            (east - self.e0) / self.scale, (north - self.n0) / self.scale, self.degree
        )
        return terms @ np.array(self.lon_terms), terms @ np.array(self.lat_terms)


def _monomials(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return np.stack(
        [x**i * y**j for i in range(degree + 1) for j in range(degree + 1 - i)], axis=-1
    )


def _distance_m(lon: np.ndarray, lat: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Distance in metres between nearby points (local flat approximation, < 0.5 %)."""
    cos = np.cos(np.radians(lat2))
    return np.hypot((lon - lon2) * cos, lat - lat2) * _M_PER_DEGREE


@dataclass(frozen=True)
class _GridSquares:
    """Which density rows are plain grid squares, their lower-left corner and the fit."""

    mask: np.ndarray  # rows sent as compact squares
    east: np.ndarray  # metres (EPSG:3035), meaningful where mask
    north: np.ndarray
    geometry: np.ndarray  # the given geometries (for the bounds)
    fit: _LonLatFit | None


def _grid_squares(gdf: gpd.GeoDataFrame) -> _GridSquares:
    """Rows whose geometry is exactly (≤ 1 m) their id's square, drawable from the id.

    A 200 m or 1 km zone id names its square (``CRS3035RES200mN{north}E{east}``): the
    browser can rebuild the id and the corners from ``east`` and ``north``, provided the
    id is written the one way the browser writes it, the geometry given is that square,
    and a polynomial reproduces PROJ within :data:`_MAX_FIT_ERROR_M` on every corner.
    Any other row is sent as GeoJSON, as is.
    """
    geometry = _geometry_array(gdf, "density")
    n = len(gdf)
    empty = np.zeros(n, dtype=bool)
    zero = np.zeros(n, dtype=np.int64)
    parts = gdf["zone"].astype("string").str.extract(_GRID_ID.pattern)
    level = gdf["level"].astype("string")
    size = level.map(_GRID_SIZES).astype("Float64").fillna(0).to_numpy(dtype=np.int64)
    candidate = (
        parts[0].notna().to_numpy()
        & (parts[0].astype("Float64").fillna(-1).to_numpy(dtype=np.int64) == size)
        & np.isin(shapely.get_type_id(geometry), (3,))
        & (shapely.get_num_coordinates(geometry) == 5)
    )
    if not candidate.any():
        return _GridSquares(empty, zero, zero, geometry, None)
    east = zero.copy()
    north = zero.copy()
    east[candidate] = parts.loc[candidate, 2].astype("int64").to_numpy()
    north[candidate] = parts.loc[candidate, 1].astype("int64").to_numpy()
    rebuilt = np.char.add(
        np.char.add(
            np.char.add(np.char.add("CRS3035RES", size.astype(str)), "mN"), north.astype(str)
        ),
        np.char.add("E", east.astype(str)),
    )
    candidate &= (east % _GRID_UNIT == 0) & (north % _GRID_UNIT == 0) & (east > 0) & (north > 0)
    candidate &= rebuilt == gdf["zone"].astype(str).to_numpy()
    if not candidate.any():
        return _GridSquares(empty, zero, zero, geometry, None)
    # Corners in the order of shapely.box: (E+s, N), (E+s, N+s), (E, N+s), (E, N).
    e, nn, s = east[candidate], north[candidate], size[candidate]
    corner_e = np.stack([e + s, e + s, e, e], axis=1).astype(float)
    corner_n = np.stack([nn, nn + s, nn + s, nn], axis=1).astype(float)
    lon, lat = _TO_LONLAT.transform(corner_e, corner_n)
    given = shapely.get_coordinates(geometry[candidate]).reshape(-1, 5, 2)[:, :4]
    # Each expected corner has a given vertex within 1 m, and each given vertex too
    # (whatever the ring's start and direction).
    gap = _distance_m(given[:, None, :, 0], given[:, None, :, 1], lon[:, :, None], lat[:, :, None])
    matches = (gap.min(axis=2).max(axis=1) <= _MAX_SHIFT_M) & (
        gap.min(axis=1).max(axis=1) <= _MAX_SHIFT_M
    )
    candidate[np.flatnonzero(candidate)[~matches]] = False
    if not candidate.any():
        return _GridSquares(empty, zero, zero, geometry, None)
    corners = np.unique(
        np.concatenate(
            [corner_e[matches].reshape(-1, 1), corner_n[matches].reshape(-1, 1)], axis=1
        ),
        axis=0,
    )
    fit = _LonLatFit.fitted(corners[:, 0], corners[:, 1])
    if fit is None:  # the extent is too large for a polynomial: send coordinates
        return _GridSquares(empty, zero, zero, geometry, None)
    return _GridSquares(candidate, east, north, geometry, fit)


@dataclass(frozen=True)
class _CompactGrid:
    """The density layer as a small JavaScript program that returns its GeoJSON.

    Instead of a GeoJSON polygon each (≈ 300 bytes), grid squares travel as three
    integers: the index of their properties in a table of distinct property sets
    (level, count, label, area, class: a few hundred at most, counts being rounded;
    written as objects, so that every value sent reads ``"count":25``), and
    the change in ``east / 200`` and ``north / 200`` from the previous square (rows
    sorted by level, north, east: mostly ``…,0,1,…``). The browser rebuilds each id
    (``CRS3035RES200mN…E…``, exactly as given) and the four corners with the polynomial
    of :class:`_LonLatFit` (coefficients sent once); neighbours share their corners
    exactly. A "rest of the commune" zone drawn as its commune travels as two integers,
    the index of its properties and the change in the index of its commune in the
    communes' collection (``refs``, sorted by commune): the program is then a function
    of that collection, and the zone takes the commune's code as id and its shape (the
    one the communes layer draws). Other zones are plain GeoJSON features, sorted by
    level, coarse zones first (a stable sort: the order of the plain GeoJSON is kept).

    The program returns a FeatureCollection of those features (what ``L.geoJson``
    draws) with a foreign member ``squares`` (null without rows): ``n`` squares, their
    ``table`` index (``kind``), ``east`` and ``north`` (units of 200 m), the ``lonlat``
    of their four corners (8 numbers each) and ``feature(i)``, square ``i`` as a GeoJSON
    feature. The squares are drawn by one canvas shape, above the features
    (``territoryCanvas.layer``, see :class:`_Canvas`), not as one polygon each; the
    plain zones are anomalies (:func:`views.density_layer` gives only squares and
    communes), so a plain 200 m zone under a 1 km square is not a case that occurs.
    :meth:`features` lists the features in that drawing order, squares last.
    """

    explicit: str  # features, comma-separated
    table: list[dict[str, Any]]  # {level, count, label, area_km2, classe}
    rows: list[int]  # [table index, Δeast, Δnorth] per square, flat
    fit: _LonLatFit | None
    refs: list[int] = field(default_factory=list)  # [table index, Δcommune] per zone, flat

    @staticmethod
    def encode(
        *,
        explicit: str,
        squares: list[dict[str, Any]],
        east: np.ndarray,
        north: np.ndarray,
        fit: _LonLatFit | None,
        rests: Sequence[dict[str, Any]] = (),
        communes: np.ndarray | None = None,
    ) -> _CompactGrid:
        table: dict[tuple[Any, ...], int] = {}

        def indices(zones: Sequence[dict[str, Any]]) -> np.ndarray:
            keys = [tuple(p[k] for k in _TABLE_KEYS) for p in zones]
            return np.array([table.setdefault(key, len(table)) for key in keys], dtype=np.int64)

        def entries() -> list[dict[str, Any]]:
            return [dict(zip(_TABLE_KEYS, key, strict=True)) for key in table]

        refs: list[int] = []
        if len(rests):
            assert communes is not None
            order = np.argsort(communes, kind="stable")
            at = np.asarray(communes, dtype=np.int64)[order]
            refs = (
                np.stack([indices(rests)[order], np.diff(at, prepend=0)], axis=1).ravel().tolist()
            )
        index = indices(squares)
        if not squares:
            return _CompactGrid(explicit, entries(), [], None, refs)
        e, n = east // _GRID_UNIT, north // _GRID_UNIT
        ranks = np.array([_RANKS[p["level"]] for p in squares])
        order = np.lexsort((e, n, ranks))
        e, n = e[order], n[order]
        de = np.diff(e, prepend=0)
        dn = np.diff(n, prepend=0)
        rows = np.stack([index[order], de, dn], axis=1).ravel()
        return _CompactGrid(explicit, entries(), rows.tolist(), fit, refs)

    def parts(self) -> tuple[str, str]:
        """The data (JSON) and the expression (of ``D``: the data) of the FeatureCollection,
        or of a function of the communes' FeatureCollection that returns it (``refs``)."""
        if not self.rows and not self.refs:
            text = '{"type":"FeatureCollection","features":[' + self.explicit + "]}"
            return _script_safe(text), "D"
        fit = None
        if self.rows:
            assert self.fit is not None
            fit = {
                "o": [self.fit.e0, self.fit.n0, self.fit.scale],
                "d": self.fit.degree,
                "x": list(self.fit.lon_terms),
                "y": list(self.fit.lat_terms),
            }
        data = (
            f'{{"X":{_script_safe("[" + self.explicit + "]")},"P":{_js(self.table)},'
            f'"G":{_js(fit)},"R":{_js(self.rows)},"K":{_js(self.refs)}}}'
        )
        code = (
            ("(function (C) {\n" if self.refs else "(function () {\n")
            + "var X = D.X, P = D.P, G = D.G, R = D.R, K = D.K;\n"
            + _COMPACT_GRID_JS
            + ("})" if self.refs else "})()")
        )
        return data, code

    def sent_properties(self) -> list[dict[str, Any]]:
        """Every distinct property set the page holds (for the privacy check)."""
        plain = [f["properties"] for f in json.loads("[" + self.explicit + "]")]
        return plain + self.table

    def features(self, shared: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The features the browser builds (same arithmetic, in Python), in drawing
        order: plain zones and rests of communes, then the squares (``feature(i)`` of
        the program); ``shared`` are the communes' features when the zones reference
        them."""
        features = list(json.loads("[" + self.explicit + "]"))
        commune = 0
        for r in range(0, len(self.refs), 2):
            assert shared is not None
            commune += self.refs[r + 1]
            shape = shared[commune]
            features.append(
                {
                    "type": "Feature",
                    "properties": {"zone": shape["properties"]["code"], **self.table[self.refs[r]]},
                    "geometry": shape["geometry"],
                }
            )
        features.sort(key=lambda f: _RANKS.get(f["properties"].get("level") or "", 0))
        if self.rows:
            assert self.fit is not None
            rows = np.asarray(self.rows, dtype=np.int64).reshape(-1, 3)
            east = np.cumsum(rows[:, 1]) * _GRID_UNIT
            north = np.cumsum(rows[:, 2]) * _GRID_UNIT
            size = np.array([_GRID_SIZES[self.table[i]["level"]] for i in rows[:, 0]])
            corner_e = np.stack([east + size, east + size, east, east], axis=1)
            corner_n = np.stack([north, north + size, north + size, north], axis=1)
            lon, lat = self.fit.lonlat(corner_e.astype(float), corner_n.astype(float))
            for r, (i, e, n, s) in enumerate(zip(rows[:, 0], east, north, size, strict=True)):
                ring = [[float(lon[r, c]), float(lat[r, c])] for c in (0, 1, 2, 3, 0)]
                features.append(
                    {
                        "type": "Feature",
                        "properties": {"zone": f"CRS3035RES{s}mN{n}E{e}", **self.table[i]},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                )
        return features


_TABLE_KEYS = ("level", "count", "label", "area_km2", "classe")
"""The properties of a density zone besides its id, in the order the page gives them."""

# Mirrors _CompactGrid.features; ES5 like the rest of the page.
_COMPACT_GRID_JS = """var SIZES = {"200m": 200, "1km": 1000}, RANKS = {"1km": 1, "200m": 2};
var powers = [new Float64Array(G ? G.d + 1 : 0), new Float64Array(G ? G.d + 1 : 0)];
// Longitude and latitude of the EPSG:3035 point (e, n), written at out[at], out[at + 1].
var corner = function (e, n, out, at) {
    var x = (e - G.o[0]) / G.o[2], y = (n - G.o[1]) / G.o[2], px = powers[0], py = powers[1];
    var lon = 0, lat = 0, t = 0, i, j, m;
    px[0] = py[0] = 1;
    for (i = 1; i <= G.d; i++) { px[i] = px[i - 1] * x; py[i] = py[i - 1] * y; }
    for (i = 0; i <= G.d; i++) {
        for (j = 0; i + j <= G.d; j++, t++) {
            m = px[i] * py[j];
            lon += G.x[t] * m;
            lat += G.y[t] * m;
        }
    }
    out[at] = lon;
    out[at + 1] = lat;
};
var zone = function (id, entry) {
    var p = {zone: id};
    for (var key in entry) { p[key] = entry[key]; }
    return p;
};
var features = X, e = 0, n = 0, c = 0, r, f, i;
for (r = 0; r < K.length; r += 2) {
    c += K[r + 1];
    f = C.features[c];
    features.push({type: "Feature", properties: zone(f.properties.code, P[K[r]]),
        geometry: f.geometry});
}
var rank = function (f) { return RANKS[f.properties.level] || 0; };
features.sort(function (f, g) { return rank(f) - rank(g); });
var count = R.length / 3, kind = new Int32Array(count), east = new Int32Array(count),
    north = new Int32Array(count), lonlat = new Float64Array(8 * count);
for (i = 0; i < count; i++) {
    var s = SIZES[P[R[3 * i]].level];
    kind[i] = R[3 * i];
    east[i] = e += R[3 * i + 1];
    north[i] = n += R[3 * i + 2];
    // Corners (E + s, N), (E + s, N + s), (E, N + s), (E, N): counter-clockwise.
    corner(e * 200 + s, n * 200, lonlat, 8 * i);
    corner(e * 200 + s, n * 200 + s, lonlat, 8 * i + 2);
    corner(e * 200, n * 200 + s, lonlat, 8 * i + 4);
    corner(e * 200, n * 200, lonlat, 8 * i + 6);
}
var feature = function (i) {
    var s = SIZES[P[kind[i]].level], E = east[i] * 200, N = north[i] * 200, ring = [];
    for (var k = 0; k <= 8; k += 2) {  // closed: the first corner again
        ring.push([lonlat[8 * i + k % 8], lonlat[8 * i + k % 8 + 1]]);
    }
    return {type: "Feature", properties: zone("CRS3035RES" + s + "mN" + N + "E" + E, P[kind[i]]),
        geometry: {type: "Polygon", coordinates: [ring]}};
};
return {type: "FeatureCollection", features: features, squares: count ? {n: count, table: P,
    kind: kind, east: east, north: north, lonlat: lonlat, feature: feature} : null};
"""


# --- compact collections ------------------------------------------------------------------
_KIND_POINTS, _KIND_LINES, _KIND_POLYGONS = 1, 2, 3
_KINDS = {0: _KIND_POINTS, 1: _KIND_LINES, 5: _KIND_LINES, 3: _KIND_POLYGONS, 6: _KIND_POLYGONS}
"""Shapely type id → kind of a compact collection (any other type: plain GeoJSON)."""


@dataclass(frozen=True)
class _PlainCollection:
    """A FeatureCollection sent as GeoJSON text: the fallback of every compact encoding."""

    text: str  # already safe inside <script>

    def parts(self) -> tuple[str, str]:
        """The data (JSON, safe in ``<script>``) and the JavaScript expression of the
        FeatureCollection made from it (``D``), see :class:`_Collection`."""
        return self.text, "D"

    def features(self, shared: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The features, parsed back."""
        return list(json.loads(self.text)["features"])


@dataclass(frozen=True)
class _CompactCollection:
    """A FeatureCollection whose geometry travels as integers, rebuilt in the browser.

    * **Integer coordinates**: units of ``10**-precision`` degrees (the rounding
      :func:`_prepared` already made, so nothing moves), each written as the change from
      the previous point of the collection: ``-41,17`` instead of ``[2.41236,48.80127]``.
    * **Polygons as a topology**, as in TopoJSON: rings are cut into arcs where their
      neighbours change, each arc is sent once and rings list their arcs (``~i``: arc
      ``i`` backwards). The border of two communes is one arc: drawn twice from the same
      points, it cannot open, and it costs half.

    Properties stay one object per feature, as in GeoJSON: the names cost about a
    fifth of the département page (0.3 MB), but every value sent can still be read in
    the page's text as ``"name":value`` (the page tests read counts and codes so).
    Only a collection of one kind (points, lines or polygons) is compact; any other
    (a geometry collection, points mixed with lines) is sent as :class:`_PlainCollection`.
    The browser's decoder is :data:`_COMPACT_JS`; :meth:`features` mirrors it.
    """

    scale: int  # coordinates are integers / scale
    kind: int  # _KIND_POINTS, _KIND_LINES or _KIND_POLYGONS
    props: list[dict[str, Any]]  # per feature
    arcs: list[list[int]]  # polygons: [Δx, Δy, Δx, Δy…] per arc
    geometries: list[Any]  # per feature: [Δx, Δy] | [Δx, Δy…] | rings of arc references

    @staticmethod
    def encode(
        props: list[dict[str, Any]], geometry: np.ndarray, precision: int
    ) -> _CompactCollection | None:
        """The compact form of the features, or None when they are of mixed kinds."""
        kinds = {_KINDS.get(int(t)) for t in np.unique(shapely.get_type_id(geometry))}
        if len(kinds) != 1 or None in kinds:
            return None
        (kind,) = kinds
        assert kind is not None
        scale = 10**precision
        if kind == _KIND_POINTS:
            xy = _quantized(shapely.get_coordinates(geometry), scale)
            return _CompactCollection(scale, kind, props, [], _deltas(xy).tolist())
        if kind == _KIND_LINES:
            parts, owner = shapely.get_parts(geometry, return_index=True)
            xy = _quantized(shapely.get_coordinates(parts), scale)
            lines = _split(_deltas(xy), shapely.get_num_coordinates(parts))
            by_geometry: list[list[list[int]]] = [[] for _ in geometry]
            for line, owner_of in zip(lines, owner, strict=True):
                by_geometry[owner_of].append(line)
            multi = shapely.get_type_id(geometry) == 5
            geometries = [p if multi[g] else p[0] for g, p in enumerate(by_geometry)]
            return _CompactCollection(scale, kind, props, [], geometries)
        arcs, geometries = _topology(geometry, scale)
        return _CompactCollection(scale, kind, props, arcs, geometries)

    def parts(self) -> tuple[str, str]:
        """The data (JSON) and the expression of the FeatureCollection (``D``: the data)."""
        data = {"s": self.scale, "k": self.kind, "p": self.props, "a": self.arcs}
        return _js({**data, "g": self.geometries}), "territoryCompact(D)"

    def features(self, shared: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The features the browser builds (same arithmetic as :data:`_COMPACT_JS`)."""
        cursor = [0, 0]

        def points(flat: list[int]) -> list[list[float]]:
            out = []
            for i in range(0, len(flat), 2):
                cursor[0] += flat[i]
                cursor[1] += flat[i + 1]
                out.append([cursor[0] / self.scale, cursor[1] / self.scale])
            return out

        arcs = [points(a) for a in self.arcs]

        def ring(refs: list[int]) -> list[list[float]]:
            out: list[list[float]] = []
            for i, r in enumerate(refs):
                arc = arcs[~r][::-1] if r < 0 else arcs[r]
                out += arc[1:] if i else arc
            return out

        def geometry(g: Any) -> dict[str, Any]:
            if self.kind == _KIND_POINTS:
                return {"type": "Point", "coordinates": points(g)[0]}
            if self.kind == _KIND_LINES:
                if isinstance(g[0], int):
                    return {"type": "LineString", "coordinates": points(g)}
                return {"type": "MultiLineString", "coordinates": [points(line) for line in g]}
            if isinstance(g[0][0], int):
                return {"type": "Polygon", "coordinates": [ring(r) for r in g]}
            return {"type": "MultiPolygon", "coordinates": [[ring(r) for r in p] for p in g]}

        return [
            {"type": "Feature", "properties": dict(p), "geometry": geometry(g)}
            for p, g in zip(self.props, self.geometries, strict=True)
        ]


def _quantized(xy: np.ndarray, scale: int) -> np.ndarray:
    return np.rint(np.asarray(xy, dtype=float) * scale).astype(np.int64)


def _deltas(xy: np.ndarray) -> np.ndarray:
    """Each point as the change from the previous one (the first from 0, 0)."""
    return np.diff(xy, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))


def _split(deltas: np.ndarray, sizes: np.ndarray) -> list[list[int]]:
    """Flat ``[Δx, Δy, …]`` lists of consecutive runs of ``sizes`` points."""
    return [d.ravel().tolist() for d in np.split(deltas, np.cumsum(sizes)[:-1])]


def _topology(geometry: np.ndarray, scale: int) -> tuple[list[list[int]], list[Any]]:
    """Polygons as arcs (each sent once) and rings of arc references, per feature.

    A point of a ring is a junction where the ring's neighbours change: it has more than
    one pair of (unordered) neighbours over all the rings it is on. Rings are cut at
    their junctions; a ring without any (an island, an enclave and the hole it fills) is
    one closed arc starting at its smallest point, so that both sides find it. An arc
    already met, in either direction, is referenced instead of sent again: the rings of
    a coverage share their borders exactly (``coverage_simplify``, then rounding to the
    same grid), so every shared border is found.
    """
    parts, part_owner = shapely.get_parts(geometry, return_index=True)
    rings, ring_owner = shapely.get_rings(parts, return_index=True)
    xy = _quantized(shapely.get_coordinates(rings), scale)
    opened = []
    for ring in np.split(xy, np.cumsum(shapely.get_num_coordinates(rings))[:-1]):
        ring = ring[np.r_[True, (ring[1:] != ring[:-1]).any(axis=1)]]  # rounding can merge
        opened.append(ring[:-1] if len(ring) > 1 and (ring[-1] == ring[0]).all() else ring)
    sizes = np.array([len(r) for r in opened])
    starts = np.cumsum(sizes) - sizes
    points = np.concatenate(opened)
    ids = _row_ids(points)
    first = np.repeat(starts, sizes)
    size = np.repeat(sizes, sizes)
    position = np.arange(len(points)) - first
    before = ids[first + (position - 1) % size]
    after = ids[first + (position + 1) % size]
    pairs = np.stack([ids, np.minimum(before, after), np.maximum(before, after)], axis=1)
    distinct = pairs[np.unique(_row_ids(pairs), return_index=True)[1]]
    junction = (np.bincount(distinct[:, 0], minlength=len(points)) > 1)[ids]

    arcs: list[np.ndarray] = []
    known: dict[bytes, int] = {}

    def reference(arc: np.ndarray) -> int:
        key = arc.tobytes()
        if key in known:
            return known[key]
        backwards = arc[::-1].tobytes()
        if backwards in known:
            return ~known[backwards]
        known[key] = len(arcs)
        arcs.append(arc)
        return known[key]

    refs: list[list[int]] = []
    for ring, start in zip(opened, starts, strict=True):
        cuts = np.flatnonzero(junction[start : start + len(ring)])
        if not len(cuts):
            cuts = np.array([int(np.argmin(ids[start : start + len(ring)]))])
        rolled = np.roll(ring, -int(cuts[0]), axis=0)
        closed = np.vstack([rolled, rolled[:1]])
        ends = [*(cuts[1:] - cuts[0]), len(ring)]
        refs.append(
            [reference(closed[a : b + 1]) for a, b in zip(cuts - cuts[0], ends, strict=True)]
        )

    sent = _split(_deltas(np.concatenate(arcs)), np.array([len(a) for a in arcs]))
    by_part: list[list[list[int]]] = [[] for _ in parts]
    for r, part in enumerate(ring_owner):
        by_part[part].append(refs[r])
    polygons: list[list[list[list[int]]]] = [[] for _ in geometry]
    for p, owner in enumerate(part_owner):
        polygons[owner].append(by_part[p])
    multi = shapely.get_type_id(geometry) == 6
    return sent, [polygons[g] if multi[g] else polygons[g][0] for g in range(len(geometry))]


def _row_ids(rows: np.ndarray) -> np.ndarray:
    """The rank of each row of an integer array among its distinct rows (lexicographic)."""
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    ids = np.empty(len(rows), dtype=np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


_COMPACT_JS = """// The data of a collection, JSON in an element of the page (see _Collection).
var territoryData = function (id) {
    return JSON.parse(document.getElementById(id).textContent);
};
var territoryCompact = function (d) {
    // Mirrors _CompactCollection.features (maps.py); ES5 like the rest of the page.
    var x = 0, y = 0;
    var points = function (flat) {
        var out = [];
        for (var i = 0; i < flat.length; i += 2) {
            x += flat[i];
            y += flat[i + 1];
            out.push([x / d.s, y / d.s]);
        }
        return out;
    };
    var arcs = d.a.map(function (a) { return points(a); });
    var ring = function (refs) {
        var out = [], i, j;
        // An arc after the first starts where the previous one ends: its first point is left out.
        for (i = 0; i < refs.length; i++) {
            var arc = arcs[refs[i] < 0 ? ~refs[i] : refs[i]], last = arc.length - 1;
            for (j = i ? 1 : 0; j <= last; j++) { out.push(arc[refs[i] < 0 ? last - j : j]); }
        }
        return out;
    };
    var rings = function (polygon) { return polygon.map(function (r) { return ring(r); }); };
    var geometry = function (g) {
        if (d.k === 1) { return {type: "Point", coordinates: points(g)[0]}; }
        if (d.k === 2) {
            return typeof g[0] === "number" ? {type: "LineString", coordinates: points(g)}
                : {type: "MultiLineString", coordinates: g.map(function (l) { return points(l); })};
        }
        return typeof g[0][0] === "number" ? {type: "Polygon", coordinates: rings(g)}
            : {type: "MultiPolygon", coordinates: g.map(function (p) { return rings(p); })};
    };
    return {type: "FeatureCollection", features: d.g.map(function (g, f) {
        return {type: "Feature", properties: d.p[f], geometry: geometry(g)};
    })};
};"""


_Encoded = _PlainCollection | _CompactCollection | _CompactGrid
"""What a :class:`_Collection` holds."""


class _Decoder(folium.MacroElement):
    """The browser's decoder of :class:`_CompactCollection` (written once per page)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.code }}
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "Decoder"
        self.code = _COMPACT_JS


def _gap_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "service_gaps", required=())
    geometry, keep = _prepared(
        gdf, "service_gaps", precision=precision, tolerance=tolerance, coverage=False
    )
    if not keep.any():
        return []
    props: list[dict[str, Any]] = [{} for _ in range(int(keep.sum()))]
    style = JsCode(f"""function () {{
        return {{fillColor: territoryCanvas.gaps, fillOpacity: 1,
                 color: "{GAP_COLOUR}", weight: 1, opacity: 0.7, dashArray: "4 3"}};
    }}""")
    return [
        _layer(
            props,
            geometry,
            stack="gaps",
            precision=precision,
            options={"style": style, "interactive": False},
        )
    ]


def _stop_layers(gdf: gpd.GeoDataFrame | None, precision: int) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "stops", required=("stop_id",))
    geometry, keep = _prepared(gdf, "stops", precision=precision, tolerance=0, coverage=False)
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    departures = pd.to_numeric(_column(rows, "departs_jour"), errors="coerce").astype("Int64")
    top = departures.max()
    top = 1 if pd.isna(top) or top < 1 else int(top)
    props = _records(
        {
            "code": _text(rows["stop_id"]),
            "nom": _text(_column(rows, "nom")),
            "departs_jour": _ints(departures),
            "lignes": _text(_column(rows, "lignes")),
        }
    )
    style = JsCode(f"""function (f) {{
        var d = f.properties.departs_jour;
        if (!d || d <= 0) {{
            return {{radius: 2.5, fillColor: "{STOP_IDLE_COLOUR}", fillOpacity: 0.8,
                     color: "#ffffff", weight: 0.5}};
        }}
        return {{radius: 3 + 7 * Math.sqrt(Math.min(d, {top}) / {top}), fillColor: "{STOP_COLOUR}",
                 fillOpacity: 0.85, color: "#ffffff", weight: 0.8}};
    }}""")
    bind = f"""function (layer) {{
    {_JS_HELPERS}
    layer.bindTooltip(function (l) {{
        var p = l.feature.properties, d = p.departs_jour;
        var service = d === null || d === undefined ? "départs non renseignés"
            : (d === 0 ? "aucun départ le jour de référence"
               : num(d) + " départ" + (d > 1 ? "s" : "") + " par jour");
        return box("<b>" + esc(p.nom || p.code) + "</b><br>" + service
            + (p.lignes ? "<br>Lignes : " + esc(p.lignes) : ""));
    }});
}}"""
    return [
        _layer(
            props,
            geometry,
            stack="stops",
            precision=precision,
            bind=bind,
            options={
                "style": style,
                "point_to_layer": _circle("stops"),
                "on_each_feature": _tag(LAYER_STOPS),
            },
        )
    ]


def _route_layers(gdf: gpd.GeoDataFrame | None, precision: int) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "routes", required=("team", "label"))
    geometry, keep = _prepared(gdf, "routes", precision=precision, tolerance=0, coverage=False)
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    teams = sorted(rows["team"].astype(str).unique())
    colours = {team: ROUTE_COLOURS[i % len(ROUTE_COLOURS)] for i, team in enumerate(teams)}
    props = _records(
        {
            "team": _text(rows["team"]),
            "label": _text(rows["label"]),
            "ordre": _ints(_column(rows, "ordre")),
            "colour": [colours[str(t)] for t in rows["team"]],
        }
    )
    style = JsCode("""function (f) {
        var c = f.properties.colour;
        return f.geometry.type === "Point"
            ? {radius: 7, fillColor: c, fillOpacity: 0.95, color: "#ffffff", weight: 1.5}
            : {color: c, weight: 3, opacity: 0.8, dashArray: "6 4"};
    }""")
    bind = f"""function (layer) {{
    {_JS_HELPERS}
    layer.bindTooltip(function (l) {{
        var p = l.feature.properties;
        return box("<b>" + esc(p.team) + "</b><br>" + esc(p.label));
    }}, {{sticky: true}});
}}"""
    return [
        _layer(
            props,
            geometry,
            stack="routes",
            precision=precision,
            bind=bind,
            options={"style": style, "point_to_layer": _circle("routes")},
        )
    ]


def _place_layers(gdf: gpd.GeoDataFrame | None, precision: int) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "places", required=("nom", "type"))
    geometry, keep = _prepared(gdf, "places", precision=precision, tolerance=0, coverage=False)
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    props = _records(
        {
            "nom": _text(rows["nom"]),
            "type": _text(rows["type"]),
            "horaires": _text(_column(rows, "horaires")),
            "colour": [_place_colour(str(kind)) for kind in rows["type"]],
        }
    )
    style = JsCode("""function (f) {
        return {radius: 6, fillColor: f.properties.colour, fillOpacity: 0.9,
                color: "#ffffff", weight: 1.5};
    }""")
    bind = f"""function (layer) {{
    {_JS_HELPERS}
    layer.bindTooltip(function (l) {{
        var p = l.feature.properties;
        return box("<b>" + esc(p.nom) + "</b><br>" + esc(p.type)
            + (p.horaires ? "<br>" + esc(p.horaires) : ""));
    }});
}}"""
    return [
        _layer(
            props,
            geometry,
            stack="places",
            precision=precision,
            bind=bind,
            options={"style": style, "point_to_layer": _circle("places")},
        )
    ]


def _place_colour(kind: str) -> str:
    return PLACE_COLOURS[KINDS.index(kind) % len(PLACE_COLOURS)] if kind in KINDS else "#757575"


def _partner_layers(gdf: gpd.GeoDataFrame | None, precision: int) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "partners", required=())
    geometry, keep = _prepared(gdf, "partners", precision=precision, tolerance=0, coverage=False)
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    hours_fr = _text(_column(rows, "horaires_fr"))
    hours_osm = _text(_column(rows, "horaires"))
    hours = [fr if fr else osm for fr, osm in zip(hours_fr, hours_osm, strict=True)]
    props = _records(
        {
            "code": [str(i) for i in rows.index],
            "nom": _text(_column(rows, "nom")),
            "type": _text(_column(rows, "type")),
            "type_libelle": _text(_column(rows, "type_libelle")),
            "adresse": _text(_column(rows, "adresse")),
            "horaires": hours,
            "telephone": _text(_column(rows, "telephone")),
        }
    )
    style = JsCode(
        f"""(function () {{
        var C = {_js(PARTNER_COLOURS)};
        return function (f) {{
            return {{radius: 7, fillColor: C[f.properties.type] || C.AUTRE, fillOpacity: 0.95,
                     color: "#212121", weight: 1.5}};
        }};
    }})()"""
    )
    bind = f"""function (layer) {{
    {_JS_HELPERS}
    var line = function (label, v) {{
        return v ? "<br>" + label + esc(v).replace(/ ; |\\n/g, "<br>") : "";
    }};
    layer.bindTooltip(function (l) {{
        var p = l.feature.properties;
        return box("<b>" + esc(p.nom) + "</b>"
            + (p.type_libelle ? "<br>" + esc(p.type_libelle) : ""));
    }});
    layer.bindPopup(function (l) {{
        var p = l.feature.properties;
        return box("<b>" + esc(p.nom) + "</b>" + (p.type_libelle ? "<br><i>" + esc(p.type_libelle)
            + "</i>" : "") + line("", p.adresse) + line("<b>Horaires</b><br>", p.horaires)
            + line("Tél. : ", p.telephone));
    }}, {{maxWidth: 320}});
}}"""
    return [
        _layer(
            props,
            geometry,
            stack="partners",
            precision=precision,
            bind=bind,
            options={
                "style": style,
                "point_to_layer": _circle("partners"),
                "on_each_feature": _tag(LAYER_PARTNERS),
            },
        )
    ]


def _circle(stack: str) -> JsCode:
    """``pointToLayer``: a circle marker drawn where the layer's other shapes are."""
    where = f'pane: "{_POINTS_PANE}"' if stack in _SVG_LAYERS else f"renderer: {_RENDERER}"
    return JsCode(f"function (feature, latlng) {{ return L.circleMarker(latlng, {{{where}}}); }}")


def _drawn_on(stack: str) -> dict[str, Any]:
    """The option that puts a layer's shapes on the shared canvas, or in the SVG pane."""
    return {"pane": _POINTS_PANE} if stack in _SVG_LAYERS else {"renderer": _RENDERER}


def _layer(
    props: list[dict[str, Any]],
    geometry: np.ndarray,
    *,
    stack: str,
    precision: int,
    options: dict[str, Any],
    bind: str | None = None,
) -> _GeoJsonLayer:
    return _GeoJsonLayer(
        _collection(props, geometry, precision),
        _box(geometry),
        options={**_drawn_on(stack), **options},
        rank=_STACK[stack],
        bind=bind,
        count=len(props),
    )


def _collection(props: list[dict[str, Any]], geometry: np.ndarray, precision: int) -> _Collection:
    """The features as a compact collection, or as plain GeoJSON when they cannot be."""
    compact = _CompactCollection.encode(props, geometry, precision)
    if compact is not None:
        return _Collection(compact)
    features = _features_text(props, geometry, precision)
    return _Collection(
        _PlainCollection(_script_safe('{"type":"FeatureCollection","features":[' + features + "]}"))
    )


# ----------------------------------------------------------------------------------------
# Data preparation
# ----------------------------------------------------------------------------------------
def _is_empty(gdf: pd.DataFrame | None) -> bool:
    return gdf is None or len(gdf) == 0


def _geometry_array(gdf: pd.DataFrame, name: str) -> np.ndarray:
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf:
        raise ValidationError(f"la couche « {name} » n'a pas de colonne de géométrie")
    return np.asarray(gdf.geometry.array, dtype=object)


def _checked(gdf: gpd.GeoDataFrame, name: str, *, required: Sequence[str]) -> gpd.GeoDataFrame:
    """The layer in EPSG:4326 with its identifying columns, or every problem at once."""
    problems = []
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf:
        problems.append(f"la couche « {name} » n'a pas de colonne de géométrie")
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        problems.append(f"la couche « {name} » n'a pas les colonnes : {', '.join(missing)}")
    if problems:
        raise ValidationError(problems)
    if gdf.crs is None:
        geometry = _geometry_array(gdf, name)
        present = geometry[~(shapely.is_missing(geometry) | shapely.is_empty(geometry))]
        if len(present):
            west, south, east, north = shapely.total_bounds(present)
            if west < -180 or east > 180 or south < -90 or north > 90:
                raise CRSError(
                    f"la couche « {name} » n'a pas de système de coordonnées et ses "
                    f"coordonnées ({west:.0f}, {south:.0f}, {east:.0f}, {north:.0f}) ne sont "
                    "pas des longitudes/latitudes : attendu EPSG:4326"
                )
    elif not (gdf.crs.to_epsg() == 4326 or gdf.crs.equals("OGC:CRS84")):
        warnings.warn(
            f"la couche « {name} » est en {gdf.crs.to_string()} : convertie en "
            "EPSG:4326 pour la carte",
            UserWarning,
            stacklevel=3,
        )
        gdf = gdf.to_crs(4326)
    return gdf


def _prepared(
    gdf: gpd.GeoDataFrame, name: str, *, precision: int, tolerance: float, coverage: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Simplified, rounded geometries of the drawable rows, and the mask of those rows."""
    geometry = _geometry_array(gdf, name)
    keep = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    geometry = geometry[keep]
    if tolerance > 0 and len(geometry):
        polygonal = np.isin(shapely.get_type_id(geometry), (3, 6))
        simplified = None
        if coverage and polygonal.all():
            try:
                simplified = shapely.coverage_simplify(geometry, tolerance)
            except shapely.errors.GEOSException:  # not a valid coverage: per polygon
                simplified = None
        if simplified is None:
            simplified = geometry.copy()
            lines_or_polygons = shapely.get_dimensions(geometry) > 0
            simplified[lines_or_polygons] = shapely.simplify(
                geometry[lines_or_polygons], tolerance, preserve_topology=True
            )
        geometry = simplified
    if len(geometry):
        # Pointwise rounding keeps shared vertices shared and is ~15 times faster than the
        # topology-safe mode; a ring made invalid by a 1 m shift still draws fine.
        geometry = shapely.set_precision(geometry, 10.0**-precision, mode="pointwise")
    drawn = ~shapely.is_empty(geometry)
    mask = keep.copy()
    mask[np.flatnonzero(keep)[~drawn]] = False
    return geometry[drawn], mask


def _box(geometry: np.ndarray) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the geometries."""
    west, south, east, north = shapely.total_bounds(geometry)
    return [[float(south), float(west)], [float(north), float(east)]]


# GEOS writes a few grid-rounded numbers with 17 digits (50.972410000000004); once
# rounded to at most 9 decimals, no coordinate needs 12 or more: those are shortened.


def _features_text(props: list[dict[str, Any]], geometry: np.ndarray, precision: int) -> str:
    """Comma-separated GeoJSON features (not yet made safe for ``<script>``)."""
    texts = shapely.to_geojson(geometry)
    fraction = re.compile(r"\.\d{" + str(precision + 1) + r",}(?:[eE][-+]?\d+)?")

    def fixed(text: str) -> str:
        # GEOS's JSON writer (grisu2) misses the shortest form of ~0.1 % of numbers and
        # writes 50.972410000000004 for 50.97241. Such a number holds a run of 0s or 9s:
        # checking for one first spares the search on nearly every geometry.
        if precision <= 6 and "0000" not in text and "9999" not in text:
            return text
        pieces, last = [], 0
        for match in fraction.finditer(text):
            start = match.start()
            while start > 0 and text[start - 1] in "-0123456789":
                start -= 1
            pieces += [text[last:start], repr(round(float(text[start : match.end()]), precision))]
            last = match.end()
        return "".join([*pieces, text[last:]])

    return ",".join(
        f'{{"type":"Feature","properties":{_json(p)},"geometry":{fixed(g)}}}'
        for p, g in zip(props, texts, strict=True)
    )


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json(value: Any) -> str:
    return _ENCODER.encode(value)


def _script_safe(text: str) -> str:
    """JSON text that can sit in a ``<script>`` and in a folium (Jinja) template.

    ``<``, ``>``, ``&`` and ``'`` become ``\\u`` escapes (no ``</script>`` can close the
    block); a ``{`` followed by ``{``, ``%`` or ``#`` (Jinja syntax, only ever inside a
    JSON string) becomes ``\\u007b``.
    """
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )
    return _JINJA_OPENING.sub(r"\\u007b", text)


_JINJA_OPENING = re.compile(r"\{(?=[{%#])")


def _js(value: Any) -> str:
    """A Python value as a JavaScript literal, safe inside ``<script>``."""
    return _script_safe(_json(value))


def _column(gdf: pd.DataFrame, name: str) -> pd.Series:
    if name in gdf.columns:
        return gdf[name]
    return pd.Series([None] * len(gdf), index=gdf.index, dtype="object")


def _text(series: pd.Series) -> list[str | None]:
    return [None if _missing(v) else str(v) for v in series.astype("object")]


def _ints(series: pd.Series | Sequence[Any]) -> list[int | None]:
    return [None if _missing(v) else int(v) for v in pd.Series(series).astype("object")]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, arrays: present
        return False


def _records(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _check_protected(counts: pd.Series, labels: pd.Series, k: int) -> None:
    """Fail closed: a density layer showing a count in 1..k-1 never reaches the browser."""
    problems = []
    low = counts.notna() & (counts >= 1) & (counts < k)
    if low.any():
        problems.append(
            f"{int(low.sum())} zone(s) de densité montrent un effectif entre 1 et "
            f"{k - 1} : la couche doit venir de privacy.protect_density()"
        )
    distinct = pd.Series(labels.dropna().astype(str).unique())
    digits = distinct.str.replace(r"[\s\u202f\u00a0]", "", regex=True)
    numeric = pd.to_numeric(digits.where(digits.str.fullmatch(r"\d+")), errors="coerce")
    low_labels = set(distinct[numeric.notna() & (numeric >= 1) & (numeric < k)])
    if low_labels:
        n = int(labels.astype(str).isin(low_labels).sum())
        problems.append(f"{n} libellé(s) de densité affichent un effectif entre 1 et {k - 1}")
    if problems:
        raise ValidationError(problems)


def _density_classes(counts: pd.Series, area: pd.Series) -> list[int | None]:
    """Class of contacts per km² (index in :data:`CONTACT_COLOURS`); None when suppressed."""
    shown = counts.notna().to_numpy()
    km2 = pd.to_numeric(area, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    number = counts.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_km2 = np.where(km2 > 0, number / km2, 0.0)
    classes = np.searchsorted(DENSITY_BREAKS, np.nan_to_num(per_km2), side="right")
    return [int(c) if s else None for c, s in zip(classes, shown, strict=True)]


def _class_texts() -> list[str]:
    edges = [_fr_number(b) for b in DENSITY_BREAKS]
    return (
        [f"moins de {edges[0]}"]
        + [f"{lo} à {hi}" for lo, hi in itertools.pairwise(edges)]
        + [f"{edges[-1]} ou plus"]
    )


def _level_labels(communes: gpd.GeoDataFrame) -> dict[int, str]:
    """Density level → label, read from the data (most frequent label of each level)."""
    levels = pd.to_numeric(_column(communes, "densite"), errors="coerce")
    labels = _column(communes, "densite_libelle")
    frame = pd.DataFrame({"level": levels, "label": labels}).dropna(subset=["level"])
    out: dict[int, str] = {}
    for level, group in frame.groupby("level", sort=True):
        named = group["label"].dropna().astype(str)
        named = named[named.str.strip() != ""]
        out[int(level)] = named.mode().iloc[0] if len(named) else f"niveau {int(level)}"
    return out


def _level_colour(level: int) -> str:
    return DENSITY_LEVEL_COLOURS[level - 1] if 1 <= level <= 7 else NO_DATA_COLOUR


def _partner_colour(code: str) -> str:
    return PARTNER_COLOURS.get(code, PARTNER_COLOURS["AUTRE"])


def _partner_types(partners: gpd.GeoDataFrame) -> dict[str, str]:
    """Type code → label of the partners present, in the palette's order."""
    codes = _column(partners, "type").fillna("AUTRE").astype(str)
    labels = _column(partners, "type_libelle")
    frame = pd.DataFrame({"code": codes, "label": labels})
    order = {code: i for i, code in enumerate(PARTNER_COLOURS)}
    out: dict[str, str] = {}
    for code in sorted(frame["code"].unique(), key=lambda c: (order.get(c, len(order)), c)):
        named = frame.loc[frame["code"] == code, "label"].dropna().astype(str)
        out[code] = named.mode().iloc[0] if len(named) else code
    return out


def _fr_number(value: float) -> str:
    """French number: narrow no-break space between thousands, decimal comma."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")


def _bounds_of(parts: list[_GeoJsonLayer]) -> list[list[float]] | None:
    boxes = [p.bounds for p in parts if p.count]
    if not boxes:
        return None
    south = min(b[0][0] for b in boxes)
    west = min(b[0][1] for b in boxes)
    north = max(b[1][0] for b in boxes)
    east = max(b[1][1] for b in boxes)
    if north - south < _MIN_EXTENT_DEG:
        middle = (north + south) / 2
        south, north = middle - _MIN_EXTENT_DEG / 2, middle + _MIN_EXTENT_DEG / 2
    if east - west < _MIN_EXTENT_DEG:
        middle = (east + west) / 2
        west, east = middle - _MIN_EXTENT_DEG / 2, middle + _MIN_EXTENT_DEG / 2
    return [[south, west], [north, east]]


# --- legend building blocks (inline styles only) ----------------------------------------
def _section(title: str, rows: list[str]) -> str:
    return f'<div style="font-weight:600;margin:8px 0 3px">{html.escape(title)}</div>' + "".join(
        rows
    )


def _row(symbol: str, text: str) -> str:
    return (
        '<div style="display:flex;align-items:center;gap:6px;margin:1px 0">'
        f'<span style="display:inline-flex;align-items:center;gap:2px;min-width:18px">'
        f"{symbol}</span><span>{html.escape(text)}</span></div>"
    )


def _note(text: str) -> str:
    return f'<div style="color:#555;font-size:12px;margin:2px 0">{html.escape(text)}</div>'


def _swatch(colour: str) -> str:
    return (
        f'<span style="display:inline-block;width:16px;height:11px;background:{colour};'
        'border:1px solid #fff;outline:1px solid #ccc"></span>'
    )


def _outline(colour: str, *, dashed: bool) -> str:
    style = "dashed" if dashed else "solid"
    width = 2 if dashed else 3
    return (
        f'<span style="display:inline-block;width:14px;height:9px;'
        f'border:{width}px {style} {colour};background:rgba(216,27,96,.1)"></span>'
    )


def _hatch(background: str, line: str) -> str:
    return (
        '<span style="display:inline-block;width:16px;height:11px;border:1px solid '
        f"{line};background:repeating-linear-gradient(45deg,{line} 0 1.5px,"
        f'{background} 1.5px 5px)"></span>'
    )


def _dot(colour: str, size: int, *, border: str = "#ffffff") -> str:
    return (
        f'<span style="display:inline-block;width:{size}px;height:{size}px;'
        f'border-radius:50%;background:{colour};border:1px solid {border}"></span>'
    )
