"""The map component without a shared folium object: rendered once, shown by any session.

``streamlit_folium.st_folium`` renders the ``folium.Map`` it is given on every call and,
doing so, changes it: every element is renamed (``map_div``, ``feature_group_div_1``…)
and the map's figure gets new children. A map kept in ``st.cache_resource`` is shared by
every session of the server, each running in its own thread: every render changed what
the cache held, and two sessions rendering it at once raced (``OrderedDict mutated
during iteration``, ``tests/ui/test_sessions.py``).

So a map is rendered once, by its builder, while nobody else holds it: :func:`render_map`
turns it into a :class:`RenderedMap`, the strings ``st_folium`` sends to the browser,
immutable and safe to cache and share; :func:`show_map` sends them with the page's key,
height and returned objects, as ``st_folium`` would. A rerun renders nothing: the
cached call and the component took 0.003 s instead of 0.027 s on the demo, 0.013 s
instead of 0.06 s on a département-size demo (1,550 communes, 300,000 contacts).

:func:`render_map` runs the steps of ``st_folium`` (streamlit-folium 0.27, pinned in
``pyproject.toml``) through that package's own helpers, and :func:`show_map` calls its
component with the same arguments: ``tests/ui/test_sessions.py`` checks that what it
sends is exactly what ``st_folium`` sends for the same map.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import streamlit as st

__all__ = ["RenderedMap", "render_map", "show_map"]

Bounds = tuple[tuple[float | None, float | None], tuple[float | None, float | None]]


@dataclass(frozen=True)
class RenderedMap:
    """A folium map as ``st_folium`` sends it to the browser (strings only: immutable).

    Attributes
    ----------
    html, header, script
        The map's HTML (its data as JSON elements), the header (styles) and the Leaflet
        script, with ``st_folium``'s standard names (``map_div``…).
    map_id
        The map's element id in the component.
    css_links, js_links
        Style sheets and scripts the component loads (the locally served Leaflet).
    bounds
        ``((south, west), (north, east))`` of what is drawn (``None`` when empty).
    zoom
        The map's initial zoom.
    """

    html: str
    header: str
    script: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    bounds: Bounds
    zoom: float | None


def render_map(fmap: folium.Map) -> RenderedMap:
    """Render a map that nobody else holds (the render changes it) once and for all.

    Parameters
    ----------
    fmap
        A map just built, e.g. by :func:`territory.map.build.territory_map`; it must not be
        used afterwards.

    Returns
    -------
    RenderedMap
        What ``st_folium(fmap, …)`` would send, whatever its key, size or returned objects.
    """
    from streamlit_folium import _get_header, _get_html, _get_map_string, get_full_id

    fmap.get_root().render()  # the steps of st_folium, in its order
    fmap.render()
    html = _get_html(fmap)
    header = _get_header(fmap)
    script = _get_map_string(fmap)
    css_links: list[str] = []
    js_links: list[str] = []
    for element in _walk(fmap):
        if _is_colormap(element):
            js_links[:0] = [
                "https://d3js.org/d3.v4.min.js",
                "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js",
            ]
        css_links.extend(href for _, href in getattr(element, "default_css", []))
        js_links.extend(src for _, src in getattr(element, "default_js", []))
    zoom = fmap.options.get("zoom")
    try:
        (south, west), (north, east) = fmap.get_bounds()
    except AttributeError:
        south = west = north = east = None
    return RenderedMap(
        html=html,
        header=header,
        script=script,
        map_id=get_full_id(fmap),
        css_links=tuple(dict.fromkeys(css_links)),
        js_links=tuple(dict.fromkeys(js_links)),
        bounds=((south, west), (north, east)),
        zoom=zoom if isinstance(zoom, int | float) else None,
    )


def show_map(
    rendered: RenderedMap,
    *,
    key: str,
    height: int,
    returned_objects: Sequence[str],
) -> dict[str, Any] | None:
    """Show a rendered map as ``st_folium`` does, without rendering the map again.

    As ``st_folium(map, key=…, height=…, use_container_width=True, returned_objects=…)``.

    Returns
    -------
    dict or None
        What the browser returned (the entries of ``returned_objects``), as ``st_folium``.
    """
    from streamlit_folium import _component_func, generate_js_hash

    (south, west), (north, east) = rendered.bounds
    defaults: dict[str, Any] = {
        "last_clicked": None,
        "last_object_clicked": None,
        "last_object_clicked_count": None,
        "last_object_clicked_tooltip": None,
        "last_object_clicked_popup": None,
        "all_drawings": None,
        "last_active_drawing": None,
        "bounds": {
            "_southWest": {"lat": south, "lng": west},
            "_northEast": {"lat": north, "lng": east},
        },
        "zoom": rendered.zoom,
        "last_circle_radius": None,
        "last_circle_polygon": None,
        "selected_layers": None,
        "selected_tags": None,
        "last_geocoder_result": None,
    }
    returned = list(returned_objects)
    hash_key = generate_js_hash(rendered.script, key, False)

    def changed() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    value: dict[str, Any] | None = _component_func(
        script=rendered.script,
        header=rendered.header,
        html=rendered.html,
        id=rendered.map_id,
        key=hash_key,
        height=height,
        width=None,
        returned_objects=returned,
        default={name: v for name, v in defaults.items() if name in returned},
        zoom=None,
        center=None,
        feature_group=None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(rendered.css_links),
        js_links=list(rendered.js_links),
        on_change=changed,
        wrap_longitude=False,
    )
    return value


def _walk(element: Any) -> Iterator[Any]:
    """The colormaps and script-loading elements of a map, as ``st_folium`` walks them."""
    import folium.elements

    if _is_colormap(element):
        yield element
    if isinstance(element, folium.elements.JSCSSMixin):
        yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def _is_colormap(element: Any) -> bool:
    import branca.colormap

    return isinstance(element, branca.colormap.ColorMap)
