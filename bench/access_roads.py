"""Benchmark of E2SFCA along a road network (issue #23: 35,000 communes × 5,000 partners ≤ 10 s).

:func:`territory.analysis.accessibility.accessibility` with the travel model on the
clearly fictional département-sized network of :mod:`bench.roads` (streets every 250 m over
80 × 80 km: 103,041 intersections, 205,440 edges; one street in five closed to cars, one
in three one-way, a faster road every 5 km), driving, a 30-minute catchment (25 minutes
of road after the 5 minutes of parking), Luo & Qi's steps. :data:`ZONES` zone centres
spread over the network and :data:`PARTNERS` partners around ten towns. Measured in the
same run (wall and CPU time of this process):

* ``road_e2sfca_s``: ours — one Dijkstra search per partner node on the reversed car
  graph, cut off at the catchment (``scipy.sparse.csgraph.dijkstra(limit=…)``), chunks of
  close partner nodes each searching only the region it can reach and reading the zones
  in it (:meth:`territory.roads.RoadNetwork.reach_chunks`), the two steps taken chunk by
  chunk as the searches find the pairs (``accessibility._steps_along``: no copy of the
  millions of pairs);
* ``road_e2sfca_before_s`` (and ``_cpu_s``): the tree before this pass (c141f71), whose
  searches numbered the nodes as the network does (:func:`region_as_in_c141f71`: OSM ids
  in a real extract, rows of the grid here) instead of along a Hilbert curve, timed right
  after ours; ``road_same_minutes``: every chunk's pairs and minutes of both,
  ``np.array_equal`` (the same order too), and ``road_same_result_before``: the same
  accessibility frame;
* ``road_e2sfca_chunks_s``: the tree 99b42ad, whose chunks were read through a
  two-dimensional non-zero and gathers per target
  (:func:`reach_by_chunk_as_in_99b42ad`), then the two steps on the pairs, in the same
  run, and whether it gives the same accessibility, bit for bit
  (``road_same_result_chunks``);
* ``road_dijkstra_s``: the searches alone (the same chunks, nothing read): the method's
  floor with SciPy's Dijkstra, which holds Python's lock (no second core helps);
* ``road_e2sfca_naive_s``: the way before (each target node's search read over every
  zone, one target at a time: :func:`reach_one_target_at_a_time`), and whether both give
  the same pairs and the same accessibility, bit for bit.

Run it with ``python -m bench.access_roads [ZONES PARTNERS [LANES [osm]]]``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from bench.roads import synthetic_network, synthetic_points, with_culs_de_sac
from territory import roads
from territory._fr import format_number
from territory.analysis.accessibility import accessibility
from territory.crs import METRIC_CRS
from territory.roads import _CHUNK, _REGION_SHARE, MAX_SNAP_M, RoadNetwork
from territory.travel import TravelModel

ZONES = 35_000
PARTNERS = 5_000
CATCHMENT_MIN = 30.0
MODE = "voiture"
BUDGET_S = 10.0


def reach_one_target_at_a_time(
    network: RoadNetwork, origins: Any, targets: Any, mode: str, *, speed_kmh: float, limit: float
) -> tuple[Any, ...]:
    """:meth:`RoadNetwork.reach` as it was (tree 7d0ebaa): each target over every origin."""
    origins = np.asarray(origins, dtype=np.float64).reshape(-1, 2)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    graph = network._graph(mode, speed_kmh)
    per_minute = speed_kmh * 1000 / 60
    leg_o, node_o = network._snap(graph, origins)
    leg_t, node_t = network._snap(graph, targets)
    near_o, near_t = leg_o <= MAX_SNAP_M, leg_t <= MAX_SNAP_M
    pairs_i: list[npt.NDArray[np.int64]] = []
    pairs_j: list[npt.NDArray[np.int64]] = []
    pairs_m: list[npt.NDArray[np.float64]] = []
    if len(graph.snap_nodes) and near_o.any() and near_t.any():
        reverse = graph.matrix.T.tocsr()
        sources = np.unique(node_t[near_t])
        from_o = leg_o / per_minute
        for chunk in range(0, len(sources), _CHUNK):
            block = sources[chunk : chunk + _CHUNK]
            found = dijkstra(reverse, indices=block, limit=limit)[:, node_o]
            for offset, source in enumerate(block):
                row = from_o + found[offset]
                for target in np.flatnonzero((node_t == source) & near_t):
                    total = row + leg_t[target] / per_minute
                    hit = np.flatnonzero(near_o & (total <= limit))
                    pairs_i.append(hit.astype(np.int64))
                    pairs_j.append(np.full(len(hit), target, dtype=np.int64))
                    pairs_m.append(total[hit])
    if not pairs_i:
        none = np.empty(0, dtype=np.int64)
        return none, none.copy(), np.empty(0), near_o, near_t
    i, j, m = np.concatenate(pairs_i), np.concatenate(pairs_j), np.concatenate(pairs_m)
    return i, j, m, near_o, near_t


def reach_by_chunk_as_in_99b42ad(
    network: RoadNetwork, origins: Any, targets: Any, mode: str, *, speed_kmh: float, limit: float
) -> tuple[Any, ...]:
    """:meth:`RoadNetwork.reach` as it was in tree 99b42ad (a chunk's pairs read at once)."""
    origins = np.asarray(origins, dtype=np.float64).reshape(-1, 2)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    graph = network._graph(mode, speed_kmh)
    per_minute = speed_kmh * 1000 / 60
    leg_o, node_o = network._snap(graph, origins)
    leg_t, node_t = network._snap(graph, targets)
    near_o, near_t = leg_o <= MAX_SNAP_M, leg_t <= MAX_SNAP_M
    pairs_i: list[npt.NDArray[np.int64]] = []
    pairs_j: list[npt.NDArray[np.int64]] = []
    pairs_m: list[npt.NDArray[np.float64]] = []
    if len(graph.snap_nodes) and near_o.any() and near_t.any():
        reverse = graph.matrix.T.tocsr()
        sources = np.unique(node_t[near_t])
        kept_o = np.flatnonzero(near_o)
        from_o = (leg_o / per_minute)[kept_o]
        from_t = leg_t / per_minute
        kept_t = np.flatnonzero(near_t)
        kept_t = kept_t[np.argsort(node_t[kept_t], kind="stable")]
        row_of_t = np.searchsorted(sources, node_t[kept_t])
        for chunk in range(0, len(sources), _CHUNK):
            block = sources[chunk : chunk + _CHUNK]
            found = dijkstra(reverse, indices=block, limit=limit)[:, node_o[kept_o]]
            found = from_o + found
            rows, cols = np.nonzero(found <= limit)
            starts = np.searchsorted(rows, np.arange(len(block) + 1))
            lo, hi = np.searchsorted(row_of_t, [chunk, chunk + len(block)])
            mine, row = kept_t[lo:hi], row_of_t[lo:hi] - chunk
            sizes = starts[row + 1] - starts[row]
            if not sizes.sum():
                continue
            first = np.repeat(starts[row] - np.cumsum(sizes) + sizes, sizes)
            at = first + np.arange(int(sizes.sum()))
            target = np.repeat(mine, sizes)
            total = found[rows[at], cols[at]] + from_t[target]
            hit = total <= limit
            pairs_i.append(kept_o[cols[at][hit]].astype(np.int64))
            pairs_j.append(target[hit].astype(np.int64))
            pairs_m.append(total[hit])
    if not pairs_i:
        none = np.empty(0, dtype=np.int64)
        return none, none.copy(), np.empty(0), near_o, near_t
    i, j, m = np.concatenate(pairs_i), np.concatenate(pairs_j), np.concatenate(pairs_m)
    return i, j, m, near_o, near_t


def region_as_in_c141f71(graph: Any) -> Callable[..., tuple[csr_matrix, Any]]:
    """``roads._region`` as in tree c141f71 on ``graph``: its nodes in their own numbering.

    The reversed graph is made once here (the tree before kept it in its graph); the
    whole graph's numbering is the identity (the tree before skipped two gathers of the
    zones there: nothing at these sizes).
    """
    reverse = graph.matrix.T.tocsr()
    reverse.indices = reverse.indices.astype(np.int32, copy=False)
    reverse.indptr = reverse.indptr.astype(np.int32, copy=False)
    xy = graph.xy

    def region(_: Any, sources: Any, radius: float, **__: Any) -> tuple[csr_matrix, Any]:
        low = xy[sources].min(axis=0) - radius
        high = xy[sources].max(axis=0) + radius
        inside = (xy[:, 0] >= low[0]) & (xy[:, 0] <= high[0])
        inside &= (xy[:, 1] >= low[1]) & (xy[:, 1] <= high[1])
        nodes = np.flatnonzero(inside)
        if not np.isfinite(radius) or len(nodes) > _REGION_SHARE * len(xy):
            return reverse, np.arange(len(xy))
        local = np.full(len(xy), -1, dtype=np.int64)
        local[nodes] = np.arange(len(nodes))
        first = reverse.indptr[nodes].astype(np.int64)
        count = reverse.indptr[nodes + 1] - first
        edges = np.repeat(first - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
        column = local[reverse.indices[edges]]
        keep = column >= 0
        kept = np.zeros(len(edges) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept[1:])
        indptr = kept[np.concatenate([[0], np.cumsum(count)])].astype(np.int32)
        matrix = csr_matrix(
            (reverse.data[edges[keep]], column[keep].astype(np.int32), indptr),
            shape=(len(nodes), len(nodes)),
        )
        return matrix, local

    return region


@contextlib.contextmanager
def tree_before(graph: Any) -> Iterator[None]:
    """The searches as in tree c141f71: its regions (:func:`region_as_in_c141f71`), every node."""
    with (
        mock.patch.object(roads, "_region", region_as_in_c141f71(graph)),
        mock.patch.object(graph, "dead_ends", None),
    ):
        yield


def same_chunks(
    network: RoadNetwork, zone_xy: Any, partner_xy: Any, *, speed_kmh: float, limit: float
) -> bool:
    """Whether ours and the tree before (c141f71) give every chunk's pairs and minutes.

    Both streams of :meth:`RoadNetwork.reach_chunks` read in step: the same origins,
    targets, counts and minutes, ``np.array_equal`` with their dtypes.
    """
    graph = network._graph(MODE, speed_kmh)
    _, _, _, ours = network.reach_chunks(
        zone_xy, partner_xy, MODE, speed_kmh=speed_kmh, limit=limit
    )
    with tree_before(graph):
        _, _, _, chunks = network.reach_chunks(
            zone_xy, partner_xy, MODE, speed_kmh=speed_kmh, limit=limit
        )
        before = list(chunks)  # searched while the tree before's regions are in place
    count = 0
    for a, b in zip(ours, before, strict=True):
        count += 1
        for name in ("origins", "targets", "counts", "stops", "minutes"):
            x, y = getattr(a, name), getattr(b, name)
            if x.dtype != y.dtype or not np.array_equal(x, y):
                return False
    return count == len(before) > 0


def _frames(
    network_edges: gpd.GeoDataFrame, zones: int, partners: int
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    west, south, east, north = network_edges.total_bounds
    zone_xy = rng.uniform([west, south], [east, north], size=(zones, 2))
    partner_xy = synthetic_points(network_edges, partners, seed=3)
    zone_frame = gpd.GeoDataFrame(geometry=shapely.points(zone_xy), crs=METRIC_CRS)
    partner_frame = gpd.GeoDataFrame(
        {"type": np.full(partners, "ML")}, geometry=shapely.points(partner_xy), crs=METRIC_CRS
    )
    population = pd.Series(rng.lognormal(6.5, 1.2, zones).round(), index=zone_frame.index)
    return zone_frame, partner_frame, population


def _general_way() -> Any:
    """The pairs through ``RoadNetwork.reach``, then the two steps on them (not chunk by chunk)."""
    return mock.patch("territory.analysis.accessibility._steps_along", return_value=None)


def _timed(run: Any) -> tuple[float, float, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - start, time.process_time() - cpu, result


def access_roads_benchmark(
    *,
    zones: int = ZONES,
    partners: int = PARTNERS,
    naive: bool = True,
    lanes: int = 0,
    osm_ids: bool = False,
) -> dict[str, Any]:
    """The figures of this module's docstring.

    ``lanes`` adds that many culs-de-sac to the grid (:func:`bench.roads.with_culs_de_sac`)
    and ``osm_ids`` numbers its nodes at random, as OSM ids are numbered with no regard
    to place: a variant nearer a real extract, measured by hand (the budget's figures are
    those of the plain grid).
    """
    edges = synthetic_network()
    if lanes:
        edges, _ = with_culs_de_sac(edges, lanes, seed=5)
    if osm_ids:
        ids = np.unique(edges[["u", "v"]].to_numpy())
        shuffled = np.random.default_rng(6).permutation(len(ids))
        for end in ("u", "v"):
            edges[end] = shuffled[np.searchsorted(ids, edges[end].to_numpy())]
    network = RoadNetwork.from_edges(edges)
    base = TravelModel()
    model = base.with_network(network)
    speed = model.speed(MODE)
    network.times(np.zeros((1, 2)), MODE, speed_kmh=speed)  # the car graph, built once
    zone_frame, partner_frame, population = _frames(edges, zones, partners)
    graph = network._graph(MODE, speed)
    result: dict[str, Any] = {
        "road_lanes": lanes,
        "road_osm_ids": osm_ids,
        "road_dead_end_nodes": 0
        if graph.dead_ends is None
        else int((graph.dead_ends.root >= 0).sum()),
        "road_zones": zones,
        "road_partners": partners,
        "road_nodes": len(network.xy),
        "road_edges": network.edges,
    }

    def ours() -> Any:
        return accessibility(
            zone_frame,
            partner_frame,
            demand=population,
            mode=MODE,
            model=model,
            catchment_min=CATCHMENT_MIN,
        )

    wall, cpu, found = _timed(ours)
    result |= {"road_e2sfca_s": wall, "road_e2sfca_cpu_s": cpu}
    with tree_before(graph):
        wall, cpu, before = _timed(ours)
    result |= {"road_e2sfca_before_s": wall, "road_e2sfca_before_cpu_s": cpu}
    result["road_same_result_before"] = bool(found.frame.equals(before.frame))
    limit = CATCHMENT_MIN - base.access_minutes[MODE]
    zone_xy = shapely.get_coordinates(zone_frame.geometry.to_numpy())
    partner_xy = shapely.get_coordinates(partner_frame.geometry.to_numpy())
    result["road_same_minutes"] = same_chunks(
        network, zone_xy, partner_xy, speed_kmh=speed, limit=limit
    )
    result["road_pairs"] = int(found.frame["partenaires_accessibles"].sum())
    result["road_met"] = wall <= BUDGET_S
    reverse = graph.matrix.T.tocsr()
    _, node_t = network._snap(graph, partner_xy)
    sources = np.unique(node_t)

    def searches() -> None:
        for chunk in range(0, len(sources), _CHUNK):
            dijkstra(reverse, indices=sources[chunk : chunk + _CHUNK], limit=limit)

    wall, cpu, _ = _timed(searches)
    result |= {"road_dijkstra_s": wall, "road_dijkstra_cpu_s": cpu, "road_searches": len(sources)}
    chunks = mock.patch.object(
        RoadNetwork,
        "reach",
        lambda self, *a, **k: reach_by_chunk_as_in_99b42ad(self, *a, **k),
    )
    with chunks, _general_way():
        wall, cpu, before = _timed(ours)
    result |= {"road_e2sfca_chunks_s": wall, "road_e2sfca_chunks_cpu_s": cpu}
    result["road_same_result_chunks"] = bool(found.frame.equals(before.frame))
    if naive:
        slow = mock.patch.object(
            RoadNetwork,
            "reach",
            lambda self, *a, **k: reach_one_target_at_a_time(self, *a, **k),
        )
        with slow, _general_way():
            wall, cpu, before = _timed(ours)
        result |= {"road_e2sfca_naive_s": wall, "road_e2sfca_naive_cpu_s": cpu}
        result["road_same_result"] = bool(found.frame.equals(before.frame))
        result["road_e2sfca_ratio"] = wall / max(result["road_e2sfca_s"], 1e-9)
    return result


def table(result: dict[str, Any]) -> str:
    """A short French summary (like the other benchmark tables)."""
    met = "tenu" if result["road_met"] else "DÉPASSÉ"
    zones, partners = format_number(result["road_zones"]), format_number(result["road_partners"])
    lines = [
        (
            f"E2SFCA sur le réseau routier ({zones} zones × {partners} partenaires, "
            f"{format_number(result['road_nodes'])} nœuds"
            + (
                f", {format_number(result['road_lanes'])} impasses "
                f"({format_number(result['road_dead_end_nodes'])} nœuds)"
                if result.get("road_lanes")
                else ""
            )
            + (", identifiants dans le désordre d'OSM" if result.get("road_osm_ids") else "")
            + ")"
        ),
        (
            f"  nous : {result['road_e2sfca_s']:.2f} s (CPU {result['road_e2sfca_cpu_s']:.2f} s, "
            f"budget {BUDGET_S:.0f} s, {met}) ; {format_number(result['road_pairs'])} paires"
        ),
        (
            f"  recherches de Dijkstra seules : {result['road_dijkstra_s']:.2f} s "
            f"(CPU {result['road_dijkstra_cpu_s']:.2f} s, {result['road_searches']} recherches)"
        ),
    ]
    lines.append(
        f"  arbre d'avant (c141f71) : {result['road_e2sfca_before_s']:.2f} s "
        f"(CPU {result['road_e2sfca_before_cpu_s']:.2f} s) ; mêmes minutes : "
        f"{'oui' if result['road_same_minutes'] else 'NON'}, mêmes résultats : "
        f"{'oui' if result['road_same_result_before'] else 'NON'}"
    )
    lines.append(
        f"  arbre précédent (99b42ad) : {result['road_e2sfca_chunks_s']:.2f} s "
        f"(CPU {result['road_e2sfca_chunks_cpu_s']:.2f} s) ; mêmes résultats : "
        f"{'oui' if result['road_same_result_chunks'] else 'NON'}"
    )
    if "road_e2sfca_naive_s" in result:
        lines.append(
            f"  avant (une cible à la fois) : {result['road_e2sfca_naive_s']:.2f} s "
            f"(CPU {result['road_e2sfca_naive_cpu_s']:.2f} s) ; mêmes résultats : "
            f"{'oui' if result['road_same_result'] else 'NON'}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    zones = int(sys.argv[1]) if len(sys.argv) > 1 else ZONES
    partners = int(sys.argv[2]) if len(sys.argv) > 2 else PARTNERS
    lanes = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    figures = access_roads_benchmark(
        zones=zones, partners=partners, lanes=lanes, osm_ids="osm" in sys.argv[4:]
    )
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    print(table(figures))
