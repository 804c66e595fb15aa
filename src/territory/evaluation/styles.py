"""QGIS styles (QML) of the evaluation package's layers, in the app's colours.

Each function returns one QML document (QGIS's own style format, the ``styleQML`` column
of the ``layer_styles`` table that QGIS and GDAL know): QGIS applies it when the layer is
opened, so the geographer sees the map's classes without rebuilding them. Colours and
classes are those of :mod:`territory.map.styles` (the app's legend), so that the package
and the map read alike.

The QML is the subset QGIS 3.22 (Debian 12) and later read: ``renderer-v2`` of type
``singleSymbol``, ``categorizedSymbol`` or ``graduatedSymbol``, symbols whose layer
properties are ``<Option type="Map">`` entries. The test suite opens every styled layer
in QGIS itself (``tests/test_evaluation_qgis.py``) and checks the renderer it reads.

Examples
--------
>>> qml = graduated_style("count", [(0, 5, "#ffffb2", "moins de 5")], geometry="polygon")
>>> 'type="graduatedSymbol"' in qml and 'attr="count"' in qml
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from xml.sax.saxutils import quoteattr

__all__ = [
    "Geometry",
    "categorized_style",
    "fill_symbol",
    "graduated_style",
    "hatch_symbol",
    "line_symbol",
    "marker_symbol",
    "outline_symbol",
    "renderer_type",
    "single_style",
]

Geometry = Literal["point", "line", "polygon"]
"""The geometry kind a style draws (QGIS's ``layerGeometryType`` 0, 1, 2)."""

_GEOMETRY_TYPE = {"point": 0, "line": 1, "polygon": 2}
_HEADER = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_QGIS_VERSION = "3.22.16-Białowieża"
_RENDERER = 'forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1"'


def _rgba(colour: str, alpha: int = 255) -> str:
    """``"#d81b60"`` → ``"216,27,96,255"`` (QGIS's colour spelling)."""
    text = colour.lstrip("#")
    red, green, blue = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return f"{red},{green},{blue},{alpha}"


def _options(values: dict[str, str]) -> str:
    items = "".join(
        f'<Option name={quoteattr(k)} type="QString" value={quoteattr(v)}/>'
        for k, v in values.items()
    )
    return f'<Option type="Map">{items}</Option>'


def _symbol(kind: str, name: str, layers: Sequence[str]) -> str:
    return (
        f'<symbol type="{kind}" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
        f'force_rhr="0">{"".join(layers)}</symbol>'
    )


def _layer(cls: str, values: dict[str, str], inner: str = "") -> str:
    return f'<layer class="{cls}" enabled="1" locked="0" pass="0">{_options(values)}{inner}</layer>'


def fill_symbol(colour: str, *, outline: str = "#ffffff", width: float = 0.2) -> str:
    """A filled polygon symbol's layers (as XML): flat colour, thin outline."""
    return _layer(
        "SimpleFill",
        {
            "color": _rgba(colour),
            "outline_color": _rgba(outline),
            "outline_style": "solid",
            "outline_width": str(width),
            "outline_width_unit": "MM",
            "style": "solid",
        },
    )


def outline_symbol(colour: str, *, width: float = 0.6, dashed: bool = False) -> str:
    """A polygon drawn as its outline only (QPV, territories)."""
    return _layer(
        "SimpleFill",
        {
            "color": _rgba(colour, 0),
            "outline_color": _rgba(colour),
            "outline_style": "dash" if dashed else "solid",
            "outline_width": str(width),
            "outline_width_unit": "MM",
            "style": "no",
        },
    )


def hatch_symbol(colour: str, *, angle: float = 45.0, spacing: float = 2.0) -> str:
    """Polygon hatching (the transit gaps), with an outline of the same colour."""
    line = _symbol(
        "line",
        "@0@0",
        [
            _layer(
                "SimpleLine",
                {"line_color": _rgba(colour), "line_width": "0.3", "line_width_unit": "MM"},
            )
        ],
    )
    hatch = _layer(
        "LinePatternFill",
        {
            "angle": str(angle),
            "color": _rgba(colour),
            "distance": str(spacing),
            "distance_unit": "MM",
            "line_width": "0.3",
            "line_width_unit": "MM",
        },
        line,
    )
    return hatch + outline_symbol(colour, width=0.3)


def line_symbol(colour: str, *, width: float = 0.5) -> str:
    """A line symbol's layers."""
    return _layer(
        "SimpleLine",
        {"line_color": _rgba(colour), "line_width": str(width), "line_width_unit": "MM"},
    )


def marker_symbol(colour: str, *, size: float = 2.4, outline: str = "#212121") -> str:
    """A round point marker."""
    return _layer(
        "SimpleMarker",
        {
            "name": "circle",
            "color": _rgba(colour),
            "outline_color": _rgba(outline),
            "outline_width": "0.2",
            "outline_width_unit": "MM",
            "size": str(size),
            "size_unit": "MM",
        },
    )


def _kind(geometry: Geometry) -> str:
    return {"point": "marker", "line": "line", "polygon": "fill"}[geometry]


def _document(renderer: str, geometry: Geometry) -> str:
    return (
        f'{_HEADER}<qgis version="{_QGIS_VERSION}" styleCategories="Symbology">'
        f"{renderer}<layerGeometryType>{_GEOMETRY_TYPE[geometry]}</layerGeometryType></qgis>\n"
    )


def single_style(symbol: str, *, geometry: Geometry) -> str:
    """One symbol for every feature (``symbol``: the layers of :func:`fill_symbol` & co)."""
    symbols = _symbol(_kind(geometry), "0", [symbol])
    renderer = f'<renderer-v2 type="singleSymbol" {_RENDERER}><symbols>{symbols}</symbols>'
    return _document(renderer + "</renderer-v2>", geometry)


def categorized_style(
    attribute: str,
    categories: Sequence[tuple[str | int, str, str]],
    *,
    geometry: Geometry,
) -> str:
    """One symbol per value of ``attribute``: ``categories`` are (value, symbol, label).

    ``symbol`` is the layers of :func:`fill_symbol`, :func:`hatch_symbol` & co.
    """
    rows, symbols = [], []
    for i, (value, symbol, label) in enumerate(categories):
        rows.append(
            f'<category value={quoteattr(str(value))} symbol="{i}" '
            f'label={quoteattr(label)} render="true"/>'
        )
        symbols.append(_symbol(_kind(geometry), str(i), [symbol]))
    renderer = (
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attribute)} {_RENDERER}>'
        f"<categories>{''.join(rows)}</categories><symbols>{''.join(symbols)}</symbols>"
        "</renderer-v2>"
    )
    return _document(renderer, geometry)


def graduated_style(
    expression: str,
    classes: Sequence[tuple[float, float, str, str]],
    *,
    geometry: Geometry,
) -> str:
    """Classes of a field or QGIS expression: ``classes`` are (lower, upper, colour, label)."""
    rows, symbols = [], []
    for i, (lower, upper, colour, label) in enumerate(classes):
        rows.append(
            f'<range lower="{lower:.6f}" upper="{upper:.6f}" symbol="{i}" '
            f'label={quoteattr(label)} render="true"/>'
        )
        symbols.append(_symbol(_kind(geometry), str(i), [fill_symbol(colour)]))
    renderer = (
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(expression)} '
        f'graduatedMethod="GraduatedColor" {_RENDERER}>'
        f"<ranges>{''.join(rows)}</ranges><symbols>{''.join(symbols)}</symbols>"
        '<mode name="manual"/></renderer-v2>'
    )
    return _document(renderer, geometry)


def renderer_type(qml: str) -> str:
    """The renderer a QML document declares (what QGIS reports once it has read it).

    >>> renderer_type(single_style(marker_symbol("#000000"), geometry="point"))
    'singleSymbol'
    """
    start = qml.index('<renderer-v2 type="') + len('<renderer-v2 type="')
    return qml[start : qml.index('"', start)]
