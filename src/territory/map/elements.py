"""The folium elements of the page: layers, collections, the canvas, the decoder, the legend."""

from __future__ import annotations

import hashlib
from typing import Any, cast

import folium
import folium.map
from branca.element import Element, Figure
from folium.elements import ElementAddToElement
from folium.template import Template
from folium.utilities import JsCode

from territory.map.encode import _CompactCollection, _js, _PlainCollection
from territory.map.scripts import source
from territory.map.squares import _CompactGrid
from territory.map.styles import GAP_COLOUR, SECRET_GREY, _rgba

__all__ = [
    "_RENDERER",
    "_Canvas",
    "_Collection",
    "_Decoder",
    "_FeatureGroup",
    "_GeoJsonLayer",
    "_KeptView",
    "_Labels",
    "_Legend",
    "_MetricScale",
    "_Part",
    "_basemap",
]


def _script_template(name: str) -> Template:
    """The folium template of ``js/<name>`` (see :mod:`territory.map.scripts`)."""
    return cast("Template", Template(source(name)))


_RENDERER = JsCode("territoryCanvas.renderer")
"""The map's one canvas renderer (created by :class:`_Canvas`)."""


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

    _template = _script_template("geojson_layer.js.j2")

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


class _Labels(folium.map.Layer):
    """The names of a layer's features, shown by zoom level (``territoryCanvas.labels``).

    Feature i of ``data`` is the point where the name of feature i of ``source`` (the
    layer's own collection) goes: names are not sent twice, only a point each. ``options``:
    ``kind`` (``"commune"`` or ``"qpv"``, the label's look), ``name`` (the property
    holding the name), ``field`` (the property that ranks the names, else ``rank`` for
    all) and ``tiers``: ``[threshold, zoom]`` pairs, largest threshold first, a name being
    shown from the zoom of the first threshold its rank reaches.
    In the browser (``js/labels.js``), after each zoom or move, the names of the layers
    on the map are placed largest first, and a name overlapping one already placed is
    left out: no piles. They are HTML text in a pane of their own, above the canvas and
    under the points, that never takes the mouse; no tile is needed.
    """

    _template = _script_template("labels.js.j2")

    def __init__(
        self,
        data: _Collection,
        source: _Collection,
        bounds: list[list[float]],
        options: dict[str, Any],
    ) -> None:
        super().__init__(overlay=True, control=False, show=True)
        self._name = "Labels"
        self.data = data
        self.source = source
        self.bounds = bounds
        self.options = options
        self.count = 0  # not part of what the map is fitted to
        self._script_key = ""

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """As :meth:`_GeoJsonLayer.render`: the script into the page as plain text."""
        if self._parent is None:
            raise TypeError("a map layer renders only inside a feature group or a map")
        self._script_key = _render_as_text(self, self._script_key, kwargs)


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

    _template = _script_template("collection.js.j2")

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
    order. ``territoryCanvas.secret`` (grey lines on grey) and ``territoryCanvas.gaps``
    (violet dots) are the patterns of the suppressed zones and of the zones blanches,
    never to be confused: ``CanvasPattern`` objects used as ``fillColor`` (the canvas
    renderer sets ``ctx.fillStyle`` to it), drawn like the legend's swatches
    (:func:`_hatch`, :func:`_dots`). ``territoryCanvas.layer(data, options)`` makes a
    layer of the canvas: its features (and grid squares) as shapes (``js/shapes.js``);
    ``territoryCanvas.labels`` the names of a layer (``js/labels.js``, :class:`_Labels`).
    A layer of points given ``thin`` (pixels) draws, at each zoom below ``thinUntil``, one
    point per square of that size, the one of highest ``weight`` (the stops: the most
    served); a polygon layer given ``edge`` (pixels) takes the mouse only that near its
    borders (the QPV outline).

    ``js/shapes.js`` (``territoryCanvas.Shapes`` and ``.layer``) draws the features of a
    canvas layer as ONE shape of the canvas instead of one Leaflet object each: Leaflet
    builds, projects and hit-tests thousands of polygons and circles slowly (the ~16,000
    grid squares of a département took 2 s; its 1,550 communes, 1,360 rests of communes
    and 2,665 stops ~0.5 s more, with as much again in garbage).

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

    _template = _script_template("canvas.js.j2")

    def __init__(self) -> None:
        super().__init__()
        self._name = "Canvas"
        self.shapes_js = source("shapes.js")
        self.labels_js = source("labels.js")
        self.secret_fill = _rgba(SECRET_GREY, 0.55)
        self.secret_line = "#757575"
        self.gap_line = _rgba(GAP_COLOUR, 0.6)


class _KeptView(folium.MacroElement):
    """The view the user left, kept when the same territory's map is drawn again.

    Switching the basemap (or coming back to the page) draws a new map, fitted to the
    territory: the user's zoom and centre were lost. The view is saved, on every move, in
    the browser tab's ``sessionStorage`` under the territory's bounds, and the next map
    of the same bounds opens there (right after the fit, before any layer is drawn).
    Nothing leaves the browser; a new tab opens fitted.
    """

    _template = _script_template("kept_view.js.j2")

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "KeptView"
        (south, west), (north, east) = bounds
        self.key = f"territory-view:{south:.4f},{west:.4f},{north:.4f},{east:.4f}"


class _MetricScale(folium.MacroElement):
    """Scale bar in metres and kilometres only (folium's also shows miles)."""

    _template = _script_template("metric_scale.js.j2")


class _Legend(folium.MacroElement):
    """The legend as a Leaflet control (bottom left)."""

    _template = _script_template("legend.js.j2")

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


_Part = _GeoJsonLayer | _Labels
"""What a layer builder gives: the layers of one feature group."""

_Encoded = _PlainCollection | _CompactCollection | _CompactGrid
"""What a :class:`_Collection` holds."""


class _Decoder(folium.MacroElement):
    """The browser's decoder of :class:`_CompactCollection` (written once per page)."""

    _template = _script_template("decoder.js.j2")

    def __init__(self) -> None:
        super().__init__()
        self._name = "Decoder"
        self.code = source("compact.js")
