"""Compact collections: features as GeoJSON text or as integers (quantised deltas, shared arcs)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import shapely

__all__ = ["_CompactCollection", "_PlainCollection", "_features_text", "_js", "_script_safe"]


# --- compact collections ------------------------------------------------------------------
_KIND_POINTS, _KIND_LINES, _KIND_POLYGONS = 1, 2, 3
_KINDS = {0: _KIND_POINTS, 1: _KIND_LINES, 5: _KIND_LINES, 3: _KIND_POLYGONS, 6: _KIND_POLYGONS}
"""Shapely type id → kind of a compact collection (any other type: plain GeoJSON)."""


@dataclass(frozen=True)
class _PlainCollection:
    """A FeatureCollection sent as GeoJSON text: the fallback of every compact encoding."""

    text: str  # already safe inside <script>

    def parts(self) -> tuple[str, str]:
        """The data and the JavaScript expression of the FeatureCollection made from it.

        The data is JSON, safe in ``<script>``; the expression reads it as ``D``, see
        :class:`_Collection`.
        """
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
    The browser's decoder is ``js/compact.js``; :meth:`features` mirrors it.
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
        """The features the browser builds (same arithmetic as ``js/compact.js``)."""
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
    return cast("np.ndarray", np.rint(np.asarray(xy, dtype=float) * scale).astype(np.int64))


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
    r"""JSON text that can sit in a ``<script>`` and in a folium (Jinja) template.

    ``<``, ``>``, ``&`` and ``'`` become ``\u`` escapes (no ``</script>`` can close the
    block); a ``{`` followed by ``{``, ``%`` or ``#`` (Jinja syntax, only ever inside a
    JSON string) becomes ``\u007b``.
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
