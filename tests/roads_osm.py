"""Small OpenStreetMap XML extracts written by the tests, in the real ``.osm`` format.

:func:`town_osm` is a street grid cut by a river that only one bridge crosses, with a
footway shortcut, a one-way street, a motorway, a private lane and the river itself;
:func:`grid_osm` covers a bounding box with a street grid (the demo territory's network).
Coordinates are metres east and north of an origin, turned into longitude / latitude.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

ORIGIN = (3.33, 46.56)
"""Longitude and latitude of the point (0 m, 0 m) of :func:`town_osm`."""
M_PER_DEG_LAT = 111_320.0

Way = tuple[Sequence[tuple[float, float]], dict[str, str]]


def lonlat(x: float, y: float, origin: tuple[float, float] = ORIGIN) -> tuple[float, float]:
    """Longitude and latitude of the point ``x`` m east, ``y`` m north of ``origin``."""
    lon0, lat0 = origin
    return (
        lon0 + x / (M_PER_DEG_LAT * math.cos(math.radians(lat0))),
        lat0 + y / M_PER_DEG_LAT,
    )


def write_osm(path: Path, ways: Sequence[Way], *, origin: tuple[float, float] = ORIGIN) -> Path:
    """Write ``ways`` (points in metres, tags) as OSM XML; shared points are shared nodes."""
    nodes: dict[tuple[float, float], int] = {}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
    body = []
    for number, (points, tags) in enumerate(ways, start=1):
        refs = []
        for point in points:
            key = (round(point[0], 3), round(point[1], 3))
            if key not in nodes:
                nodes[key] = 1000 + len(nodes)
            refs.append(nodes[key])
        body.append(
            f'<way id="{number}" version="1">'
            + "".join(f'<nd ref="{r}"/>' for r in refs)
            + "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
            + "</way>"
        )
    for (x, y), ident in nodes.items():
        lon, lat = lonlat(x, y, origin)
        lines.append(f'<node id="{ident}" lat="{lat:.8f}" lon="{lon:.8f}" version="1"/>')
    path.write_text("\n".join([*lines, *body, "</osm>"]), encoding="utf-8")
    return path


def town_ways() -> list[Way]:
    """The town of :func:`town_osm`: streets every 200 m, a river between y=200 and y=400.

    * south bank: streets y=0 and y=200, x from 0 to 800, cross streets every 200 m;
    * north bank: streets y=400 and y=600 (y=600 one-way eastbound), cross streets;
    * the only crossing: a bridge at x=800 (tertiary, 30 km/h);
    * a footway from (0, 0) to (200, 200) (283 m instead of 400 m by the streets);
    * a motorway at y=-200 from x=0 to x=800, linked to the streets at both ends;
    * a private lane from (400, 200) to (400, 400) across the river (closed to all);
    * the river, a waterway without ``highway``.
    """
    xs = (0, 200, 400, 600, 800)
    ways: list[Way] = [
        ([(x, 0) for x in xs], {"highway": "residential", "name": "Rue du Sud"}),
        ([(x, 200) for x in xs], {"highway": "residential", "name": "Quai Sud"}),
        ([(x, 400) for x in xs], {"highway": "residential", "name": "Quai Nord"}),
        ([(x, 600) for x in xs], {"highway": "residential", "oneway": "yes", "name": "Rue Nord"}),
    ]
    for x in xs:
        ways.append(([(x, 0), (x, 200)], {"highway": "residential"}))
        ways.append(([(x, 400), (x, 600)], {"highway": "residential"}))
    ways += [
        ([(800, 200), (800, 400)], {"highway": "tertiary", "bridge": "yes", "maxspeed": "30"}),
        ([(0, 0), (200, 200)], {"highway": "footway"}),
        ([(0, -200), (800, -200)], {"highway": "motorway", "maxspeed": "130"}),
        ([(0, 0), (0, -200)], {"highway": "motorway_link"}),
        ([(800, -200), (800, 0)], {"highway": "motorway_link"}),
        ([(400, 200), (400, 400)], {"highway": "service", "access": "private"}),
        ([(-100, 300), (900, 300)], {"waterway": "river", "name": "La Rivière"}),
    ]
    return ways


def town_osm(path: Path) -> Path:
    """Write the town of :func:`town_ways` to ``path``."""
    return write_osm(path, town_ways())


def grid_osm(
    path: Path, bounds: Sequence[float], *, step: float = 400.0, margin: float = 1000.0
) -> Path:
    """A residential street grid every ``step`` metres over ``bounds`` (west, south, east, north).

    Every other east-west street is one-way, to make the car graph directed.
    """
    west, south, east, north = bounds
    origin = (west, south)
    width = (east - west) * M_PER_DEG_LAT * math.cos(math.radians(south)) + 2 * margin
    height = (north - south) * M_PER_DEG_LAT + 2 * margin
    xs = [-margin + step * k for k in range(int(width // step) + 1)]
    ys = [-margin + step * k for k in range(int(height // step) + 1)]
    ways: list[Way] = []
    for row, y in enumerate(ys):
        tags = {"highway": "residential"}
        if row % 2:
            tags["oneway"] = "yes"
        ways.append(([(x, y) for x in xs], tags))
    ways += [([(x, y) for y in ys], {"highway": "tertiary"}) for x in xs]
    return write_osm(path, ways, origin=origin)
