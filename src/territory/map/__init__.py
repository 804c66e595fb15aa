"""The folium map: layers in, ``folium.Map`` out (no Streamlit here).

What the folder holds:

* :mod:`~territory.map.model`: :class:`MapLayers`, the layers drawn (plain data, no folium);
* :mod:`~territory.map.build`: :func:`territory_map`, :func:`zone_from_click`,
  :data:`RETURNED_OBJECTS`, :data:`CLICKABLE_LAYERS` (and the design notes of the page);
* :mod:`~territory.map.legend`: :func:`legend_html`;
* :mod:`~territory.map.layers`: one builder per layer kind;
* :mod:`~territory.map.elements`: the folium elements (layers, collections, canvas…);
* :mod:`~territory.map.encode` and :mod:`~territory.map.squares`: the compact data of
  the page (integer geometry, shared arcs, grid squares);
* :mod:`~territory.map.prepare`: checking and simplifying the frames;
* :mod:`~territory.map.styles`: names, colours, drawing order;
* :mod:`~territory.map.scripts` and ``js/``: the page's JavaScript (package data).

It may import only the ground floor (``territory.vocab``, ``_fr``, ``crs``, ``grid``,
``_errors``, ``settings``), never ``analysis/``, ``io/`` or ``rounds/``. The public names
are loaded on first use (PEP 562): importing the package does not import folium.

Examples
--------
>>> from territory.map import MapLayers, zone_from_click
>>> zone_from_click({"last_active_drawing": {"properties": {"layer": "qpv", "code": "QN1"}}})
('qpv', 'QN1')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from territory.map.build import territory_map, zone_from_click
    from territory.map.legend import legend_html
    from territory.map.model import MapLayers
    from territory.map.styles import CLICKABLE_LAYERS, RETURNED_OBJECTS

__all__ = [
    "CLICKABLE_LAYERS",
    "RETURNED_OBJECTS",
    "MapLayers",
    "legend_html",
    "territory_map",
    "zone_from_click",
]

_HOMES = {
    "CLICKABLE_LAYERS": "territory.map.styles",
    "RETURNED_OBJECTS": "territory.map.styles",
    "MapLayers": "territory.map.model",
    "legend_html": "territory.map.legend",
    "territory_map": "territory.map.build",
    "zone_from_click": "territory.map.build",
}


def __getattr__(name: str) -> Any:
    """The public names, imported from their module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
