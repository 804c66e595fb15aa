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
  the panes beneath); zones blanches are drawn non-interactive, so that they never
  hide a commune, a QPV or a density zone from the mouse, and a QPV outline takes the
  mouse only within a few pixels of its border (``edge``): a click there answers with
  the QPV, even with the density drawn over the QPV's inside. Drawing
  order: communes, QPV (light fill), contact density (1 km and commune zones beneath
  200 m cells), zones blanches, QPV outlines, stops, then partners and the rounds'
  places and routes, kept when the layer control switches a layer off and on. Hatches
  are canvas patterns. The few point layers on top (partners, places, routes) stay
  SVG, in a pane that lets the mouse through to the canvas elsewhere.
* **A canvas layer is one shape** (``territoryCanvas.layer``, ``js/shapes.js``): the
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

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import folium.map

from territory._errors import ValidationError
from territory.map.elements import (
    _basemap,
    _Canvas,
    _Decoder,
    _FeatureGroup,
    _KeptView,
    _Legend,
    _MetricScale,
    _Part,
)
from territory.map.layers import (
    _access_layers,
    _communes_layers,
    _density_layers,
    _gap_layers,
    _hotspot_layers,
    _partner_layers,
    _place_layers,
    _qpv_layers,
    _route_layers,
    _score_layers,
    _stop_layers,
)
from territory.map.legend import legend_html
from territory.map.model import MapLayers
from territory.map.styles import (
    _MIN_EXTENT_DEG,
    _POINTS_PANE,
    CLICKABLE_LAYERS,
    FRANCE_CENTRE,
    HIDDEN_AT_FIRST,
    LAYER_COMMUNES,
    LAYER_DENSITY,
    LAYER_HOTSPOTS,
    LAYER_PARTNERS,
    LAYER_QPV,
    LAYER_SCORES,
    LAYER_STOPS,
    NAME_ACCESS,
    NAME_COMMUNES,
    NAME_DENSITY,
    NAME_HOTSPOTS,
    NAME_PARTNERS,
    NAME_PLACES,
    NAME_QPV,
    NAME_ROUTES,
    NAME_SCORES,
    NAME_STOPS,
    _name_gaps,
)

__all__ = [
    "territory_map",
    "zone_from_click",
]


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
    groups: list[tuple[str, str, Callable[[], Sequence[_Part]]]] = [
        (NAME_COMMUNES, LAYER_COMMUNES, lambda: communes),
        (
            NAME_SCORES,
            LAYER_SCORES,
            lambda: _score_layers(layers.scores, precision, tolerance),
        ),
        (NAME_ACCESS, "access", lambda: _access_layers(layers.access, precision, tolerance)),
        (NAME_QPV, LAYER_QPV, lambda: _qpv_layers(layers.qpv, precision, tolerance)),
        (
            NAME_DENSITY,
            LAYER_DENSITY,
            lambda: _density_layers(layers.density, precision, tolerance, k, shapes),
        ),
        (
            NAME_HOTSPOTS,
            LAYER_HOTSPOTS,
            lambda: _hotspot_layers(layers.hotspots, precision, tolerance),
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
        _KeptView([[south, west], [north, east]]).add_to(m)
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
    for key, (name, parts) in built.items():
        show = key not in HIDDEN_AT_FIRST
        group = _FeatureGroup(name=name, overlay=True, control=True, show=show)
        for part in parts:
            part.add_to(group)
        group.add_to(m)

    if legend:
        _Legend(legend_html(layers, k=k, stop_buffer_m=stop_buffer_m)).add_to(m)
    # Folded into a button (top right): open, the list covered a quarter of the map.
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    return m


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


def _bounds_of(parts: Sequence[_Part]) -> list[list[float]] | None:
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
