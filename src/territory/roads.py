"""Travel on an OpenStreetMap road and path network: times and drawn routes by mode.

The workspace's ``road_edges`` layer (``territory import reseau FICHIER.osm`` or
``territory fetch --reseau``; read by :mod:`territory.io.roads`) becomes one graph per
mode as a ``scipy.sparse`` matrix whose weights are minutes:

* **walking and cycling**: every edge open to the mode, both ways, at the travel model's
  speed of the mode (4,5 and 15 km/h by default: crossings and stops included);
* **car**: the edges open to cars, one-way streets in their direction only, each at its
  own speed (``vitesse_kmh``: ``maxspeed`` capped by the class's typical speed,
  :data:`territory.io.roads.CAR_KMH`), plus the model's access time (parking).

A trip from point *a* to point *b* is: a straight leg from *a* to the nearest node of the
mode's largest connected part of the network (``cKDTree``), the shortest path on the graph
(``scipy.sparse.csgraph.dijkstra``), a straight leg from the network to *b*, each straight
leg at the model's speed of the mode, plus the model's fixed access time. The pair falls
back to the straight-line model (distance × detour / speed + access,
:class:`territory.travel.TravelModel`) when a point is more than :data:`MAX_SNAP_M` from the
mode's network or when the path is longer than :data:`MAX_MINUTES` (2 h on foot or by
bike, 4 h by car); these pairs are
counted (:attr:`NetworkTimes.fallback`). Without a network, every time is the straight-line
model's, exactly as before.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import LineString
>>> edges = gpd.GeoDataFrame(
...     {"u": [1, 2], "v": [2, 3], "longueur_m": [1000.0, 1000.0], "highway": ["residential"] * 2,
...      "marche": [True, True], "velo": [True, True], "voiture": [True, True],
...      "sens_unique": [False, False], "vitesse_kmh": [30.0, 30.0]},
...     geometry=[LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (1000, 1000)])],
...     crs="EPSG:2154")
>>> network = RoadNetwork.from_edges(edges)
>>> times = network.times([[0, 0], [1000, 1000]], "marche", speed_kmh=6.0)
>>> times.minutes.round(1).tolist(), times.fallback
([[0.0, 20.0], [20.0, 0.0]], 0)
>>> round(network.route((0, 0), (1000, 1000), "marche").length)
2000
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from territory._errors import ValidationError
from territory.crs import METRIC_CRS

if TYPE_CHECKING:
    import geopandas as gpd

    from territory.settings import Settings
    from territory.store import Workspace
    from territory.travel import TravelModel

__all__ = [
    "MAX_MINUTES",
    "MAX_SNAP_M",
    "NETWORK_MODES",
    "ROAD_LAYER",
    "NetworkTimes",
    "ReachChunk",
    "RoadNetwork",
    "load_network",
    "model_note",
    "travel_model_for",
]

ROAD_LAYER = "road_edges"
"""The workspace layer of the road and path network (:mod:`territory.io.roads` columns)."""
MAX_SNAP_M = 500.0
"""A point farther than this (metres) from the mode's network is timed in a straight line."""
MAX_MINUTES = {"marche": 120.0, "vélo": 120.0, "voiture": 240.0}
"""Paths longer than this (minutes, by mode) are not searched: the pair is timed in a
straight line. Two hours on foot (9 km) or by bike (30 km) is more than any round's leg, and
the bound keeps the search local: a walking matrix over a département takes a second."""
NETWORK_MODES = {"marche": "marche", "vélo": "velo", "voiture": "voiture"}
"""Modes timed on the network, and the column of the edges open to each."""
SIMPLIFY_M = 5.0
"""Tolerance of drawn routes (metres): the map's payload stays small."""
_CHUNK = 32  # sources per Dijkstra call: rows of (sources × nodes) floats in memory


@dataclass(frozen=True)
class NetworkTimes:
    """Minutes between points on the network, and how many pairs were not on it.

    Attributes
    ----------
    minutes
        ``(n, n)`` minutes (moving time: no fixed access time), NaN where the pair falls
        back to the straight line.
    fallback
        Ordered pairs of distinct points timed in a straight line (far from the network or
        unreachable).
    """

    minutes: npt.NDArray[np.float64]
    fallback: int


@dataclass(frozen=True)
class ReachChunk:
    """The pairs of a chunk of searches (:meth:`RoadNetwork.reach_chunks`).

    Attributes
    ----------
    origins
        Each pair's origin position.
    targets
        The chunk's targets, each with a run of pairs (possibly empty), in this order.
    counts
        The number of pairs of each target's run.
    stops
        Where each target's run ends (the runs' cumulative counts).
    minutes
        Each pair's moving minutes.
    """

    origins: npt.NDArray[np.int64]
    targets: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]
    minutes: npt.NDArray[np.float64]

    def pair_targets(self) -> npt.NDArray[np.int64]:
        """Each pair's target position."""
        return np.repeat(self.targets, self.counts)


@dataclass
class _Graph:
    """A mode's graph on its largest strongly connected part, nodes numbered locally."""

    matrix: csr_matrix  # minutes between local nodes
    edge_of: dict[tuple[int, int], int]  # (local from, local to) → edge of the layer
    snap_nodes: npt.NDArray[np.int64]  # the network node of each local node
    tree: cKDTree  # over the local nodes
    xy: npt.NDArray[np.float64]  # the local nodes' coordinates (metres)
    reverse: csr_matrix  # ``matrix`` transposed (the searches from the targets), in curve order
    speed_bound: float  # metres per minute: no edge is faster, as the crow flies
    order: npt.NDArray[np.int64]  # the local node at each place along a Hilbert curve
    curve_xy: npt.NDArray[np.float64]  # ``xy[order]``
    dead_ends: _DeadEnds | None  # the trees hanging off the graph (None: there are none)


@dataclass
class RoadNetwork:
    """A road and path network in a metric CRS: nodes, edges, per-mode graphs.

    Build it with :meth:`from_edges` (a layer with :data:`territory.io.roads.COLUMNS`) or
    :func:`load_network` (the workspace's layer).
    """

    xy: npt.NDArray[np.float64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    length: npt.NDArray[np.float64]
    open_to: dict[str, npt.NDArray[np.bool_]]
    one_way: npt.NDArray[np.bool_]
    car_kmh: npt.NDArray[np.float64]
    geometry: npt.NDArray[Any]
    crs: str = METRIC_CRS
    _graphs: dict[tuple[str, float], _Graph] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def edges(self) -> int:
        """Number of edges (tronçons)."""
        return len(self.start)

    def serves(self, mode: str) -> bool:
        """Whether ``mode`` is timed on the network (walking, cycling, driving)."""
        return mode in NETWORK_MODES

    @classmethod
    def from_edges(cls, edges: gpd.GeoDataFrame, *, metric_crs: str = METRIC_CRS) -> RoadNetwork:
        """The network of an edges layer (any CRS), projected to ``metric_crs``."""
        if edges.crs is None:
            raise ValidationError("réseau routier sans système de coordonnées")
        projected = edges.to_crs(metric_crs)
        lines = projected.geometry.to_numpy()
        ids = np.concatenate([edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64)])
        unique, index = np.unique(ids, return_inverse=True)
        start, end = index[: len(edges)], index[len(edges) :]
        first = shapely.get_coordinates(shapely.get_point(lines, 0))
        last = shapely.get_coordinates(shapely.get_point(lines, -1))
        xy = np.zeros((len(unique), 2))
        xy[end] = last
        xy[start] = first
        return cls(
            xy=xy,
            start=start.astype(np.int64),
            end=end.astype(np.int64),
            length=edges["longueur_m"].to_numpy(np.float64),
            open_to={c: edges[c].to_numpy(bool) for c in NETWORK_MODES.values()},
            one_way=edges["sens_unique"].to_numpy(bool),
            car_kmh=edges["vitesse_kmh"].to_numpy(np.float64),
            geometry=lines,
            crs=metric_crs,
        )

    # ------------------------------------------------------------------ graphs
    def _graph(self, mode: str, speed_kmh: float) -> _Graph:
        key = (mode, float(speed_kmh))
        with self._lock:
            if key not in self._graphs:
                self._graphs[key] = self._build(mode, speed_kmh)
            return self._graphs[key]

    def _build(self, mode: str, speed_kmh: float) -> _Graph:
        column = NETWORK_MODES[mode]
        usable = np.flatnonzero(self.open_to[column])
        if mode == "voiture":
            minutes = self.length[usable] / (self.car_kmh[usable] * 1000 / 60)
            both = usable[~self.one_way[usable]]
            back = ~self.one_way[usable]
        else:
            minutes = self.length[usable] / (speed_kmh * 1000 / 60)
            both = usable
            back = np.ones(len(usable), dtype=bool)
        edge = np.concatenate([usable, both])
        origin = np.concatenate([self.start[usable], self.end[both]])
        target = np.concatenate([self.end[usable], self.start[both]])
        weight = np.concatenate([minutes, minutes[back]])
        # Parallel edges: keep the fastest (a sparse matrix would add them up).
        order = np.lexsort((weight, target, origin))
        origin, target, weight, edge = origin[order], target[order], weight[order], edge[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (origin[1:] != origin[:-1]) | (target[1:] != target[:-1])
        origin, target, weight, edge = origin[first], target[first], weight[first], edge[first]
        size = len(self.xy)
        # A zero-length edge would vanish from a sparse matrix: a tiny weight keeps it.
        weight = np.maximum(weight, 1e-9)
        nodes = np.unique(np.concatenate([origin, target]))
        if len(nodes):
            # The largest strongly connected part: every node of it reaches every other,
            # and a shortest path between two of them never leaves it.
            whole = csr_matrix((weight, (origin, target)), shape=(size, size))
            _, labels = connected_components(whole, directed=True, connection="strong")
            largest = np.bincount(labels[nodes]).argmax()
            nodes = nodes[labels[nodes] == largest]
        local = np.full(size, -1, dtype=np.int64)
        local[nodes] = np.arange(len(nodes))
        inside = (local[origin] >= 0) & (local[target] >= 0)
        origin, target = local[origin[inside]], local[target[inside]]
        weight, edge = weight[inside], edge[inside]
        matrix = csr_matrix((weight, (origin, target)), shape=(len(nodes), len(nodes)))
        edge_of = dict(
            zip(zip(origin.tolist(), target.tolist(), strict=True), edge.tolist(), strict=True)
        )
        xy = self.xy[nodes] if len(nodes) else np.zeros((0, 2))
        # The searches run on the reversed graph with its nodes renumbered along a Hilbert
        # curve: nodes close on the ground are close in memory (OSM ids are not), which
        # spares cache misses; Dijkstra's minutes do not depend on the numbering.
        order = _hilbert_order(xy)
        reverse = matrix.T.tocsr()[order][:, order].tocsr()
        reverse.indices = reverse.indices.astype(np.int32, copy=False)
        reverse.indptr = reverse.indptr.astype(np.int32, copy=False)
        crow = np.hypot(*(xy[origin] - xy[target]).T) if len(origin) else np.zeros(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = float(np.max(crow / weight)) if len(origin) else 0.0
        speed_bound = bound if np.isfinite(bound) else np.inf
        return _Graph(
            matrix,
            edge_of,
            nodes.astype(np.int64),
            cKDTree(xy),
            xy,
            reverse,
            speed_bound,
            order,
            xy[order],
            _DeadEnds.of(matrix),
        )

    def _snap(
        self, graph: _Graph, points: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        if not len(graph.snap_nodes):
            return np.full(len(points), np.inf), np.zeros(len(points), dtype=np.int64)
        distance, k = graph.tree.query(points)
        return np.asarray(distance, dtype=np.float64), np.asarray(k, dtype=np.int64)

    # ------------------------------------------------------------------ times
    def times(self, xy: Any, mode: str, *, speed_kmh: float) -> NetworkTimes:
        """Moving minutes between every two points of ``xy`` (metres, the network's CRS).

        Straight legs to and from the network are at ``speed_kmh``, as are walking and
        cycling edges; car edges are at their own speed. Identical points: 0.
        """
        points = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        graph = self._graph(mode, speed_kmh)
        leg, node = self._snap(graph, points)
        per_minute = speed_kmh * 1000 / 60
        near = leg <= MAX_SNAP_M
        sources = np.unique(node[near])
        path = np.full((len(points), len(points)), np.inf)
        for chunk in range(0, len(sources), _CHUNK):
            block = sources[chunk : chunk + _CHUNK]
            found = dijkstra(graph.matrix, indices=block, limit=MAX_MINUTES[mode])[:, node]
            for offset, source in enumerate(block):
                path[node == source] = found[offset]
        minutes = leg[:, None] / per_minute + path + leg[None, :] / per_minute
        minutes[~near, :] = np.inf
        minutes[:, ~near] = np.inf
        straight = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
        minutes[straight < 1.0] = 0.0  # territory.travel.SAME_PLACE_M
        lost = ~np.isfinite(minutes)
        minutes[lost] = np.nan
        return NetworkTimes(minutes, int(lost.sum()))

    def nearest_times(
        self, origins: Any, targets: Any, mode: str, *, speed_kmh: float
    ) -> npt.NDArray[np.float64]:
        """Moving minutes from each origin to its nearest target along the network.

        One search from all the targets at once (on the reversed graph, each target
        starting with its straight leg to the network); NaN where the origin is more than
        :data:`MAX_SNAP_M` from the network or no target is within :data:`MAX_MINUTES`.
        """
        origins = np.asarray(origins, dtype=np.float64).reshape(-1, 2)
        targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
        out = np.full(len(origins), np.nan)
        graph = self._graph(mode, speed_kmh)
        if not len(origins) or not len(targets) or not len(graph.snap_nodes):
            return out
        per_minute = speed_kmh * 1000 / 60
        leg_t, node_t = self._snap(graph, targets)
        near_t = leg_t <= MAX_SNAP_M
        if not near_t.any():
            return out
        size = graph.matrix.shape[0]
        reverse = graph.matrix.T.tocoo()
        # A virtual source (node ``size``) reaches each target's node after its straight leg.
        rows = np.concatenate([reverse.row, np.full(int(near_t.sum()), size)])
        cols = np.concatenate([reverse.col, node_t[near_t]])
        weights = np.concatenate([reverse.data, np.maximum(leg_t[near_t] / per_minute, 1e-9)])
        augmented = csr_matrix((weights, (rows, cols)), shape=(size + 1, size + 1))
        found = dijkstra(augmented, indices=size, limit=MAX_MINUTES[mode], min_only=True)
        leg_o, node_o = self._snap(graph, origins)
        minutes = leg_o / per_minute + found[node_o]
        keep = (leg_o <= MAX_SNAP_M) & np.isfinite(minutes)
        out[keep] = minutes[keep]
        return out

    def reach(
        self, origins: Any, targets: Any, mode: str, *, speed_kmh: float, limit: float
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.bool_],
    ]:
        """Every (origin, target) pair within ``limit`` moving minutes along the network.

        One Dijkstra search per target node on the reversed graph, cut off at ``limit``
        (chunks of :data:`_CHUNK` target nodes: a chunk's rows of minutes to every node
        stay in memory), read at the origins' nodes, plus both straight legs. Returns the
        pairs' origin and target positions and minutes, then whether each origin and each
        target is within :data:`MAX_SNAP_M` of the network (pairs with an end off it are
        not timed here: the caller keeps its straight line).

        The pairs come by target node, then target, then origin (the order of one search
        per target); a chunk's pairs are read at once (the reached origins of its rows,
        then each target's row of them), not target by target over every origin.

        The chunks gather target nodes that lie close together (:func:`_spatial_chunks`),
        and a chunk searches only the part of the graph its searches can reach
        (:func:`_region`: the nodes within ``limit`` minutes at the graph's fastest
        edge, as the crow flies) and reads only the origins in that part; every node
        reached within ``limit`` lies in it, so the minutes are those of a search over the
        whole graph, bit for bit. The chunks' pairs are then put back in the order of the
        target nodes. The searches leave out the trees hanging off the graph
        (:class:`_DeadEnds`: an origin on one reads its root's minutes plus the edges down
        to it, in Dijkstra's order) and run on nodes numbered along a Hilbert curve
        (:func:`_hilbert_order`); neither changes a minute.
        """
        near_o, near_t, rank, chunks = self.reach_chunks(
            origins, targets, mode, speed_kmh=speed_kmh, limit=limit
        )
        parts = [part for part in chunks if len(part.origins)]
        if not parts:  # no search, or no pair in reach
            none = np.empty(0, dtype=np.int64)
            return none, none.copy(), np.empty(0), near_o, near_t
        # Each target's run of pairs, put back in the order of the target nodes.
        runs = [
            (rank[part.targets], np.full(len(part.targets), k), part.stops - part.counts)
            for k, part in enumerate(parts)
        ]
        position, chunk, first = (np.concatenate(column) for column in zip(*runs, strict=True))
        counts = np.concatenate([part.counts for part in parts])
        order = np.argsort(position, kind="stable")
        runs_in_order = zip(
            chunk[order].tolist(), first[order].tolist(), counts[order].tolist(), strict=True
        )
        kept = [(c, a, a + n) for c, a, n in runs_in_order if n]
        paired = [part.pair_targets() for part in parts]
        return (
            np.concatenate([parts[k].origins[a:b] for k, a, b in kept]),
            np.concatenate([paired[k][a:b] for k, a, b in kept]),
            np.concatenate([parts[k].minutes[a:b] for k, a, b in kept]),
            near_o,
            near_t,
        )

    def reach_chunks(
        self, origins: Any, targets: Any, mode: str, *, speed_kmh: float, limit: float
    ) -> tuple[
        npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.int64], Iterator[ReachChunk]
    ]:
        """:meth:`reach`'s pairs chunk by chunk, as the searches find them.

        Returns whether each origin and each target is on the network, each target's rank
        in :meth:`reach`'s order (by node, then position; -1 off the network) and the
        chunks (:class:`ReachChunk`), searched as they are read: a caller can use each
        chunk's pairs while they are fresh, without the copies of millions of pairs
        :meth:`reach` makes to put them in order.
        """
        origins = np.asarray(origins, dtype=np.float64).reshape(-1, 2)
        targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
        graph = self._graph(mode, speed_kmh)
        per_minute = speed_kmh * 1000 / 60
        leg_o, node_o = self._snap(graph, origins)
        leg_t, node_t = self._snap(graph, targets)
        near_o, near_t = leg_o <= MAX_SNAP_M, leg_t <= MAX_SNAP_M
        kept_t = np.flatnonzero(near_t)
        kept_t = kept_t[np.argsort(node_t[kept_t], kind="stable")]  # by node, then index
        rank = np.full(len(targets), -1, dtype=np.int64)
        rank[kept_t] = np.arange(len(kept_t))
        if not (len(graph.snap_nodes) and near_o.any() and near_t.any()):
            return near_o, near_t, rank, iter(())
        return (
            near_o,
            near_t,
            rank,
            self._chunks(graph, leg_o, node_o, leg_t, node_t, kept_t, per_minute, limit),
        )

    def _chunks(
        self,
        graph: _Graph,
        leg_o: npt.NDArray[np.float64],
        node_o: npt.NDArray[np.int64],
        leg_t: npt.NDArray[np.float64],
        node_t: npt.NDArray[np.int64],
        kept_t: npt.NDArray[np.int64],
        per_minute: float,
        limit: float,
    ) -> Iterator[ReachChunk]:
        sources = np.unique(node_t[kept_t])
        kept_o = np.flatnonzero(leg_o <= MAX_SNAP_M)
        from_o = (leg_o / per_minute)[kept_o]
        from_t = leg_t / per_minute
        row_of_t = np.searchsorted(sources, node_t[kept_t])  # its source's position
        first_t = np.searchsorted(row_of_t, np.arange(len(sources) + 1))
        zone_nodes = node_o[kept_o]
        radius = limit * graph.speed_bound * (1 + 1e-6) + 1.0  # metres (margin: rounding)
        keep, whole, tails = None, None, None
        dead = graph.dead_ends
        if dead is not None:  # search the graph without its dead ends (but the sources')
            kept = dead.kept(sources)
            keep = kept[graph.order]
            whole = _part(graph, np.flatnonzero(keep))
            tails = dead.tails(zone_nodes, kept)
        for block in _spatial_chunks(graph.xy[sources], _CHUNK):
            matrix, local = _region(graph, sources[block], radius, keep=keep, whole=whole)
            found = dijkstra(matrix, indices=local[sources[block]], limit=limit)
            inside = local[zone_nodes]
            if tails is not None:  # zones on dead ends: their minutes from the tree's root
                found = tails.extend(found, local, inside)
            chosen = np.flatnonzero(inside >= 0)  # in the origins' order
            at_zones, zone_from, zone_at = inside[chosen], from_o[chosen], kept_o[chosen]
            sizes = first_t[block + 1] - first_t[block]
            count = int(sizes.sum())
            mine = kept_t[
                np.repeat(first_t[block] - np.cumsum(sizes) + sizes, sizes) + np.arange(count)
            ]
            i, _, m, per_target = _read_chunk(
                found,
                at_zones,
                zone_from,
                mine,
                np.repeat(np.arange(len(block)), sizes),
                from_t,
                limit,
            )
            yield ReachChunk(zone_at[i], mine, per_target, np.cumsum(per_target), m)

    # ------------------------------------------------------------------ routes
    def route(
        self, a: Sequence[float], b: Sequence[float], mode: str, *, speed_kmh: float = 4.5
    ) -> shapely.LineString:
        """The path from ``a`` to ``b`` (metres) along the network; a straight line off it."""
        return self.routes([(a, b)], mode, speed_kmh=speed_kmh)[0]

    def routes(
        self,
        pairs: Sequence[tuple[Sequence[float], Sequence[float]]],
        mode: str,
        *,
        speed_kmh: float = 4.5,
    ) -> list[shapely.LineString]:
        """The paths of several legs along the network (straight where the times fall back).

        Each is a LineString in the network's CRS, simplified to :data:`SIMPLIFY_M`.
        """
        if not pairs:
            return []
        graph = self._graph(mode, speed_kmh)
        ends = np.asarray([[*a, *b] for a, b in pairs], dtype=np.float64).reshape(-1, 4)
        leg_a, node_a = self._snap(graph, ends[:, :2])
        leg_b, node_b = self._snap(graph, ends[:, 2:])
        apart = np.hypot(*(ends[:, 2:] - ends[:, :2]).T) >= 1.0  # SAME_PLACE_M
        usable = (leg_a <= MAX_SNAP_M) & (leg_b <= MAX_SNAP_M) & apart
        sources = np.unique(node_a[usable])
        result: list[shapely.LineString] = [
            shapely.LineString([ends[k, :2], ends[k, 2:]]) for k in range(len(ends))
        ]
        for chunk in range(0, len(sources), _CHUNK):
            block = sources[chunk : chunk + _CHUNK]
            cost, before = dijkstra(
                graph.matrix, indices=block, limit=MAX_MINUTES[mode], return_predecessors=True
            )
            for offset, source in enumerate(block):
                for k in np.flatnonzero(usable & (node_a == source)):
                    if not np.isfinite(cost[offset, node_b[k]]):
                        continue
                    coords = self._path_coords(graph, before[offset], int(source), int(node_b[k]))
                    line = shapely.LineString([ends[k, :2], *coords, ends[k, 2:]])
                    result[k] = shapely.simplify(line, SIMPLIFY_M, preserve_topology=False)
        return result

    def _path_coords(
        self, graph: _Graph, before: npt.NDArray[np.int32], source: int, target: int
    ) -> list[npt.NDArray[np.float64]]:
        steps: list[tuple[int, int]] = []
        node = target
        while node != source:
            previous = int(before[node])
            steps.append((previous, node))
            node = previous
        if not steps:
            return [self.xy[graph.snap_nodes[source]]]
        parts = []
        for i, j in reversed(steps):
            k = graph.edge_of[(i, j)]
            coords = shapely.get_coordinates(self.geometry[k])
            parts.append(coords if self.start[k] == graph.snap_nodes[i] else coords[::-1])
        return list(np.vstack(parts))


_REGION_SHARE = 0.6
"""A chunk whose region holds more of the graph's nodes than this searches the whole graph."""


def _spatial_chunks(xy: npt.NDArray[np.float64], size: int) -> list[npt.NDArray[np.int64]]:
    """Positions of ``xy`` in chunks of at most ``size`` points lying close together.

    Sort-tile-recursive: vertical strips of whole chunks by x, each cut by y.

    Examples
    --------
    >>> xy = np.array([[0, 0], [900, 0], [0, 10], [900, 10]], dtype=float)
    >>> [c.tolist() for c in _spatial_chunks(xy, 2)]  # the west pair, then the east one
    [[0, 2], [1, 3]]
    """
    count = len(xy)
    groups = -(-count // size)
    strips = max(int(np.ceil(np.sqrt(groups))), 1)
    per_strip = -(-groups // strips) * size
    by_x = np.lexsort((xy[:, 1], xy[:, 0]))
    chunks: list[npt.NDArray[np.int64]] = []
    for first in range(0, count, per_strip):
        strip = by_x[first : first + per_strip]
        strip = strip[np.lexsort((xy[strip, 0], xy[strip, 1]))]
        chunks += [strip[k : k + size].astype(np.int64) for k in range(0, len(strip), size)]
    return chunks


def _hilbert_order(xy: npt.NDArray[np.float64], bits: int = 16) -> npt.NDArray[np.int64]:
    """The positions of ``xy`` in the order of a Hilbert curve over their bounding box.

    The box is cut into ``2**bits`` × ``2**bits`` cells, each point takes its cell's place
    along the curve (ties in their order). Consecutive places are neighbouring cells, so a
    search's wave over nearby nodes reads nearby memory.

    Examples
    --------
    >>> xy = np.array([[1, 0], [0, 0], [1, 1], [0, 1]], dtype=float)
    >>> _hilbert_order(xy, bits=1).tolist()  # (0, 0), (0, 1), (1, 1), (1, 0)
    [1, 3, 2, 0]
    """
    if not len(xy):
        return np.zeros(0, dtype=np.int64)
    side = 1 << bits
    span = np.ptp(xy, axis=0)
    span[span == 0] = 1.0
    cell = np.minimum((xy - xy.min(axis=0)) / span * side, side - 1).astype(np.int64)
    x, y = cell[:, 0].copy(), cell[:, 1].copy()
    key = np.zeros(len(xy), dtype=np.int64)
    step = side // 2
    while step:
        rx = (x & step) > 0
        ry = (y & step) > 0
        key += step * step * ((3 * rx) ^ ry)
        flip = ~ry & rx  # the quadrant's rotation (Hilbert's xy → d)
        x[flip], y[flip] = side - 1 - x[flip], side - 1 - y[flip]
        swap = ~ry
        x[swap], y[swap] = y[swap], x[swap].copy()
        step //= 2
    return np.argsort(key, kind="stable").astype(np.int64)


def _region(
    graph: _Graph,
    sources: npt.NDArray[np.int64],
    radius: float,
    *,
    keep: npt.NDArray[np.bool_] | None = None,
    whole: tuple[csr_matrix, npt.NDArray[np.int64]] | None = None,
) -> tuple[csr_matrix, npt.NDArray[np.int64]]:
    """The reversed graph around ``sources``: the nodes a search of ``radius`` metres may reach.

    The nodes in the box of the sources widened by ``radius`` (a node out of it is farther
    than ``radius`` from every source as the crow flies, so slower than the search's limit
    at the graph's fastest edge), among ``keep`` (places along the curve; all by default),
    and the edges between them, numbered in the order of the Hilbert curve
    (:attr:`_Graph.order`). Returns the part's matrix and each local node's number in it
    (-1 outside); ``whole`` (or the whole reversed graph) when the part would hold most
    of it.
    """
    low = graph.xy[sources].min(axis=0) - radius
    high = graph.xy[sources].max(axis=0) + radius
    xy = graph.curve_xy
    inside = (xy[:, 0] >= low[0]) & (xy[:, 0] <= high[0])
    inside &= (xy[:, 1] >= low[1]) & (xy[:, 1] <= high[1])
    if keep is not None:
        inside &= keep
    nodes = np.flatnonzero(inside)  # places along the curve
    if not np.isfinite(radius) or len(nodes) > _REGION_SHARE * len(xy):
        if whole is not None:
            return whole
        local = np.full(len(xy), -1, dtype=np.int64)
        local[graph.order] = np.arange(len(xy))
        return graph.reverse, local
    return _part(graph, nodes)


def _part(graph: _Graph, nodes: npt.NDArray[np.int64]) -> tuple[csr_matrix, npt.NDArray[np.int64]]:
    """The reversed graph between ``nodes`` (places along the curve, ascending), in their order.

    Returns its matrix and each local node's number in it (-1 outside).
    """
    size = len(graph.curve_xy)
    place = np.full(size, -1, dtype=np.int64)
    place[nodes] = np.arange(len(nodes))
    local = np.full(size, -1, dtype=np.int64)
    local[graph.order[nodes]] = np.arange(len(nodes))
    reverse = graph.reverse
    first = reverse.indptr[nodes].astype(np.int64)
    count = reverse.indptr[nodes + 1] - first
    edges = np.repeat(first - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
    column = place[reverse.indices[edges]]
    keep = column >= 0
    kept = np.zeros(len(edges) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    indptr = kept[np.concatenate([[0], np.cumsum(count)])].astype(np.int32)
    matrix = csr_matrix(
        (reverse.data[edges[keep]], column[keep].astype(np.int32), indptr),
        shape=(len(nodes), len(nodes)),
    )
    return matrix, local


@dataclass(frozen=True)
class _DeadEnds:
    """The trees hanging off a graph by one node (culs-de-sac, farm lanes), found once.

    A node whose only neighbour is one other node is a dead end; so is, once it is taken
    off, the next one, and so on up to the node where the tree hangs (its *root*). In a
    strongly connected graph each such edge goes both ways. No shortest path between two
    nodes outside a tree enters it (it would come back through its root, and a float sum
    only grows), and the one path from the root to a node of the tree is its shortest:
    Dijkstra's minutes at a tree's node are the root's plus the edges down to it, added
    in that order, and the minutes outside the trees those of the whole graph (the one
    fixed point of ``d(v) = min fl(d(u) + w)``). So the searches run on the graph without
    its trees, and a zone on a tree reads its root's minutes plus its path's edges.

    Attributes
    ----------
    root
        The root of each local node's tree (-1: not on a tree).
    parent
        Each tree node's neighbour towards the root (-1 elsewhere).
    depth
        The number of edges from the root (0 off the trees).
    step
        The minutes of the edge from the parent down to the node, in the direction of the
        searches on the reversed graph (the node's edge to its parent in ``matrix``).
    """

    root: npt.NDArray[np.int64]
    parent: npt.NDArray[np.int64]
    depth: npt.NDArray[np.int64]
    step: npt.NDArray[np.float64]

    @classmethod
    def of(cls, matrix: csr_matrix) -> _DeadEnds | None:
        """The trees of ``matrix`` (minutes from row to column), or None without any."""
        size = matrix.shape[0]
        edges = matrix.tocoo()
        ends = np.concatenate([edges.row, edges.col]), np.concatenate([edges.col, edges.row])
        other = ends[0] != ends[1]  # a loop is no neighbour
        pattern = csr_matrix(
            (np.ones(int(other.sum())), (ends[0][other], ends[1][other])), shape=(size, size)
        )
        pattern.sum_duplicates()  # each neighbour once, whichever way its edges go
        degree = np.diff(pattern.indptr).astype(np.int64)
        alive = np.ones(size, dtype=bool)
        parent = np.full(size, -1, dtype=np.int64)
        rounds: list[npt.NDArray[np.int64]] = []
        while True:
            leaves = np.flatnonzero(alive & (degree == 1))
            if not len(leaves) or int(alive.sum()) - len(leaves) < 1:
                break  # no more, or the whole graph is a tree: its last node stays
            first = pattern.indptr[leaves]
            count = pattern.indptr[leaves + 1] - first
            at = np.repeat(first - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
            neighbour = pattern.indices[at].astype(np.int64)
            live = alive[neighbour]
            parent[leaves] = neighbour[live]  # each leaf has one live neighbour
            alive[leaves] = False
            degree -= np.bincount(neighbour[live], minlength=size)
            rounds.append(leaves)
        if not rounds:
            return None
        root = np.full(size, -1, dtype=np.int64)
        depth = np.zeros(size, dtype=np.int64)
        for leaves in reversed(rounds):  # from the roots outwards
            up = parent[leaves]
            root[leaves] = np.where(alive[up], up, root[up])
            depth[leaves] = depth[up] + 1
        step = np.zeros(size)
        on_tree = np.flatnonzero(root >= 0)
        step[on_tree] = np.asarray(matrix[on_tree, parent[on_tree]]).ravel()
        return cls(root, parent, depth, step)

    def kept(self, sources: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """The local nodes to search from ``sources``: off the trees, or on a source's root."""
        roots = np.unique(self.root[sources][self.root[sources] >= 0])
        return (self.root < 0) | np.isin(self.root, roots)

    def tails(self, zone_nodes: npt.NDArray[np.int64], kept: npt.NDArray[np.bool_]) -> _Tails:
        """The zones on trees left out of the searches, and their paths from the root."""
        at = np.flatnonzero(~kept[zone_nodes])
        nodes = zone_nodes[at]
        longest = int(self.depth[nodes].max()) if len(nodes) else 0
        steps = np.zeros((len(nodes), longest))  # from the root down, then zeros
        node = nodes.copy()
        for k in range(longest):  # up from each zone's node, one edge at a time
            below = self.depth[nodes] - 1 - k
            going = below >= 0
            steps[going, below[going]] = self.step[node[going]]
            node[going] = self.parent[node[going]]
        return _Tails(at, self.root[nodes], steps)


@dataclass(frozen=True)
class _Tails:
    """Zones on dead ends (:class:`_DeadEnds`): positions, roots, edges from the root down."""

    at: npt.NDArray[np.int64]  # positions among the zones' nodes
    root: npt.NDArray[np.int64]  # each one's root (a local node)
    steps: npt.NDArray[np.float64]  # minutes of each edge from the root down, zero-padded

    def extend(
        self,
        found: npt.NDArray[np.float64],
        local: npt.NDArray[np.int64],
        inside: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.float64]:
        """``found`` with a column per zone whose root is searched; ``inside`` points at them.

        Each column is the root's minutes plus the path's edges added one by one, as
        Dijkstra adds them (adding the padding's 0.0 changes no float).
        """
        anchor = local[self.root]
        near = np.flatnonzero(anchor >= 0)
        if not len(near):
            return found
        minutes = found[:, anchor[near]]
        for k in range(self.steps.shape[1]):
            minutes += self.steps[near, k]
        inside[self.at[near]] = found.shape[1] + np.arange(len(near))
        return np.hstack([found, minutes])


def _read_chunk(
    found: npt.NDArray[np.float64],
    zone_nodes: npt.NDArray[np.int64],
    from_o: npt.NDArray[np.float64],
    mine: npt.NDArray[np.int64],
    row: npt.NDArray[np.int64],
    from_t: npt.NDArray[np.float64],
    limit: float,
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]
]:
    """The pairs of a chunk of searches (:meth:`RoadNetwork.reach`), in its order.

    ``found`` holds the chunk's rows of minutes to every node; ``mine`` the chunk's targets
    (by node, then index) and ``row`` the row of each. Returns the origins' positions among
    ``zone_nodes``, the targets and the minutes: by target, then origin, and the number
    of pairs of each target of ``mine``. Each sum is the one of the way before (origin's
    leg + network, then + target's leg), in that order.
    """
    width = len(zone_nodes)
    # The rows read at the origins' nodes: a C-ordered copy (``found[:, nodes]`` would be
    # Fortran-ordered, and each flat read below would copy it again).
    at_origins = found.take(zone_nodes, axis=1)
    at_origins += from_o  # origin's leg, then the network (the same sum either way round)
    flat = np.flatnonzero(at_origins <= limit)  # the target's leg only adds
    value = at_origins.ravel()[flat]
    rows = flat // width
    cols = flat - rows * width
    starts = np.searchsorted(rows, np.arange(len(found) + 1))
    sizes = starts[row + 1] - starts[row]
    total_size = int(sizes.sum())
    if not total_size:
        none = np.empty(0, dtype=np.int64)
        return none, none.copy(), np.empty(0), np.zeros(len(mine), dtype=np.int64)
    if len(row) == len(found) and (row == np.arange(len(found))).all():
        at: Any = slice(None)  # one target per search: every reached origin once, in order
    else:
        at = np.repeat(starts[row] - np.cumsum(sizes) + sizes, sizes) + np.arange(total_size)
    target = np.repeat(mine, sizes)
    total = value[at]
    total += from_t[target]
    hit = total <= limit
    hits = np.zeros(total_size + 1, dtype=np.int64)
    np.cumsum(hit, out=hits[1:])
    ends = hits[np.cumsum(sizes)]  # hits up to the end of each target's run
    return cols[at][hit], target[hit], total[hit], np.diff(ends, prepend=0)


# ---------------------------------------------------------------------- workspace
_CACHE: dict[tuple[str, str, str], RoadNetwork] = {}
_CACHE_LOCK = threading.Lock()


def load_network(ws: Workspace, *, metric_crs: str = METRIC_CRS) -> RoadNetwork | None:
    """The workspace's road network (None without a ``road_edges`` layer).

    Kept in memory while the layer is unchanged (its record and the store's write stamp):
    saving a plan does not read the network again.
    """
    layers = ws.layers()
    if ROAD_LAYER not in layers:
        return None
    info = layers[ROAD_LAYER]
    written = f"{info.count}|{info.updated}|{info.source}|{ws.stamps().get(ROAD_LAYER)}"
    key = (ws.key, written, metric_crs)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    edges = ws.read_layer(ROAD_LAYER)
    if edges.empty:
        return None
    network = RoadNetwork.from_edges(edges, metric_crs=metric_crs)
    with _CACHE_LOCK:
        for old in [k for k in _CACHE if k[0] == key[0]]:
            del _CACHE[old]
        _CACHE[key] = network
    return network


def travel_model_for(ws: Workspace, settings: Settings | None = None) -> TravelModel:
    """The travel model of ``settings``, on the workspace's road network when it has one."""
    from territory.settings import Settings
    from territory.travel import TravelModel

    model = TravelModel.from_settings(settings or Settings())
    network = load_network(ws)
    return model.with_network(network) if network is not None else model


def model_note(model: TravelModel) -> str:
    """Which travel model times the trips, in French (plan notes, page, field sheets).

    Examples
    --------
    >>> from territory.travel import TravelModel
    >>> model_note(TravelModel())
    'temps en ligne droite × 1,3 (pas de réseau routier importé)'
    """
    detour = f"{model.detour:g}".replace(".", ",")
    network = model.network
    if network is None:
        return f"temps en ligne droite × {detour} (pas de réseau routier importé)"
    count = f"{network.edges:,}".replace(",", "\u202f")
    return (
        f"temps sur le réseau OpenStreetMap importé ({count} tronçons) ; ligne droite × "
        f"{detour} à plus de {MAX_SNAP_M:.0f} m du réseau"
    )
