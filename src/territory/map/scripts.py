"""The JavaScript of the map, read from the package's ``js/`` folder (package data).

* ``*.js``: plain JavaScript written into the page as is: ``shapes.js``
  (``territoryCanvas.Shapes`` and ``.layer``, see :class:`territory.map.elements._Canvas`),
  ``compact.js`` (the decoder of compact collections) and ``compact_grid.js`` (the body of
  the density's program, see :class:`territory.map.squares._CompactGrid`).
* ``*.js.j2`` made of a ``script(this, kwargs)`` macro: the folium templates of the
  elements (``canvas``, ``collection``, ``decoder``, ``geojson_layer``, ``legend``,
  ``metric_scale``), each a ``folium.template.Template`` of :mod:`territory.map.elements`.
* the other ``*.js.j2``: Jinja macros of the layers' JavaScript (styles, tooltips,
  hover), one file per layer kind and ``common.js.j2``; :func:`snippet` calls one. The
  ``js`` filter writes a Python value as a JavaScript literal safe in ``<script>``.

Files are read once (cached); their whitespace is part of the page.

Examples
--------
>>> snippet("common.js.j2", "tag", "communes")
'function (feature) { feature.properties.layer = "communes"; }'
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jinja2

from territory.map.encode import _js

__all__ = ["snippet", "source"]


@functools.cache
def source(name: str) -> str:
    """The text of ``js/<name>``, read once.

    Parameters
    ----------
    name
        A file name of the ``js/`` folder, e.g. ``"shapes.js"``.

    Returns
    -------
    str
        The file's text, exactly (no newline translation).
    """
    return (resources.files(__package__) / "js" / name).read_bytes().decode("utf-8")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(source),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["js"] = _js
    env.globals["source"] = source
    return env


def snippet(template: str, macro: str, /, *args: Any, **kwargs: Any) -> str:
    """The JavaScript made by one macro of a ``js/*.js.j2`` file.

    Parameters
    ----------
    template
        The file, e.g. ``"communes.js.j2"``.
    macro
        The macro's name, e.g. ``"style"``.
    *args, **kwargs
        Its arguments (Python values; the templates write them with the ``js`` filter).

    Returns
    -------
    str
        The JavaScript text.
    """
    module = _environment().get_template(template).module
    return str(getattr(module, macro)(*args, **kwargs))
