"""Benchmark of network travel times against the straight-line model (issue #20, item 4).

A clearly fictional département-sized road network (:func:`synthetic_network`): streets
every :data:`STEP_M` metres over :data:`SIDE_KM` × :data:`SIDE_KM` km (about 100,000
intersections and 200,000 edges, the size of a French département's simplified OSM network
of roads, tracks and paths), one street in three one-way, one in five closed to cars
(paths), faster roads every 5 km. :data:`PLACES` candidate places and 4 team bases at
random, clustered around ten towns. Measured, in the same run:

* ``network_build_s``: the network from its edges layer and the three mode graphs (done once
  per workspace version, then cached);
* ``network_{mode}_s``: the ``(n, n)`` matrix of :meth:`territory.travel.TravelModel.matrix`
  on the network (walking, cycling, driving), and ``straight_s`` the same matrix in a
  straight line; ``network_{mode}_ratio`` = network time / straight-line time;
* ``network_{mode}_fallback``: pairs timed in a straight line (longer than
  :data:`territory.roads.MAX_MINUTES`, or a point far from the network).

Run it with ``python -m bench.roads``.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.crs import METRIC_CRS
from territory.roads import RoadNetwork
from territory.travel import TravelModel

SIDE_KM = 80.0
STEP_M = 250.0
PLACES = 300
BASES = 4
MODES = ("marche", "vélo", "voiture")


def synthetic_network(side_km: float = SIDE_KM, step_m: float = STEP_M) -> gpd.GeoDataFrame:
    """A street grid in Lambert-93 with the edges layer's columns (fictional)."""
    k = int(side_km * 1000 // step_m) + 1
    x0, y0 = 700_000.0, 6_500_000.0
    ids = np.arange(k * k, dtype=np.int64).reshape(k, k)
    xs = x0 + step_m * np.arange(k)
    ys = y0 + step_m * np.arange(k)
    rows = np.repeat(np.arange(k), k - 1)
    cols = np.tile(np.arange(k - 1), k)
    horizontal = (ids[rows, cols], ids[rows, cols + 1], xs[cols], ys[rows], xs[cols + 1], ys[rows])
    vertical = (ids[cols, rows], ids[cols + 1, rows], xs[rows], ys[cols], xs[rows], ys[cols + 1])
    u = np.concatenate([horizontal[0], vertical[0]])
    v = np.concatenate([horizontal[1], vertical[1]])
    start = np.column_stack([np.r_[horizontal[2], vertical[2]], np.r_[horizontal[3], vertical[3]]])
    end = np.column_stack([np.r_[horizontal[4], vertical[4]], np.r_[horizontal[5], vertical[5]]])
    line = np.r_[rows, rows]  # the street (row or column) each edge belongs to
    fast = line % 20 == 0  # a faster road every 5 km
    path = (line % 5 == 2) & ~fast
    one_way = (line % 3 == 1) & ~fast & ~path
    geometry = shapely.linestrings(np.stack([start, end], axis=1))
    frame = pd.DataFrame(
        {
            "u": u,
            "v": v,
            "longueur_m": np.full(len(u), step_m),
            "highway": np.where(fast, "secondary", np.where(path, "path", "residential")),
            "nom": "",
            "marche": True,
            "velo": True,
            "voiture": ~path,
            "sens_unique": one_way,
            "vitesse_kmh": np.where(fast, 55.0, 30.0),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=METRIC_CRS)


def with_culs_de_sac(
    edges: gpd.GeoDataFrame, count: int, *, seed: int = 0
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """``edges`` with ``count`` culs-de-sac, and the coordinates of their nodes.

    Each hangs off a random node of the grid: a lane of one to four two-way edges inside
    the block, one in three forked at its second node; every tenth is one way only (out of
    the strongly connected graph: the searches never see it).
    """
    rng = np.random.default_rng(seed)
    first = shapely.get_coordinates(shapely.get_point(edges.geometry.to_numpy(), 0))
    where = dict(zip(edges["u"].tolist(), map(tuple, first.tolist()), strict=True))
    grid = np.array(sorted(where))
    rows: list[dict[str, Any]] = []
    points: list[tuple[float, float]] = []
    next_id = int(edges[["u", "v"]].to_numpy().max()) + 1
    for k in range(count):
        start = int(rng.choice(grid))
        at = np.array(where[start])
        direction = rng.choice([-1.0, 1.0], size=2) * rng.uniform(25.0, 45.0, size=2)
        lane = [(start, at)]
        for _ in range(int(rng.integers(1, 5))):
            at = at + direction * rng.uniform(0.6, 1.0)  # edges of unequal lengths
            lane.append((next_id, at))
            next_id += 1
        if k % 3 == 0 and len(lane) > 2:  # a fork at the lane's second node
            lane_fork = [lane[1], (next_id, lane[1][1] + direction * [1.0, -1.0])]
            next_id += 1
        else:
            lane_fork = []
        for (a, xa), (b, xb) in [*itertools.pairwise(lane), *itertools.pairwise(lane_fork)]:
            rows.append(
                {
                    "u": a,
                    "v": b,
                    "longueur_m": float(np.hypot(*(xb - xa))) * 1.07,
                    "highway": "residential",
                    "nom": "",
                    "marche": True,
                    "velo": True,
                    "voiture": True,
                    "sens_unique": k % 10 == 9,
                    "vitesse_kmh": 30.0,
                    "geometry": shapely.LineString([xa, xb]),
                }
            )
            points.append(tuple(xb))
    lanes = gpd.GeoDataFrame(rows, geometry="geometry", crs=edges.crs)
    both = gpd.GeoDataFrame(pd.concat([edges, lanes], ignore_index=True), crs=edges.crs)
    return both, np.array(points)


def synthetic_points(network: gpd.GeoDataFrame, n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` points clustered around ten towns of the network's extent (metres)."""
    rng = np.random.default_rng(seed)
    west, south, east, north = network.total_bounds
    towns = rng.uniform([west, south], [east, north], size=(10, 2))
    points = towns[rng.integers(0, 10, n)] + rng.normal(0, 3000, size=(n, 2))
    return np.clip(points, [west, south], [east, north])


def roads_benchmark(
    *, side_km: float = SIDE_KM, step_m: float = STEP_M, places: int = PLACES, repeats: int = 3
) -> dict[str, Any]:
    """Network matrices against the straight-line matrix, best of ``repeats`` runs each."""
    edges = synthetic_network(side_km, step_m)
    xy = synthetic_points(edges, places + BASES)
    model = TravelModel()
    start = time.perf_counter()
    network = RoadNetwork.from_edges(edges)
    for mode in MODES:
        network.times(xy[:2], mode, speed_kmh=model.speed(mode))  # builds the mode's graph
    result: dict[str, Any] = {
        "network_edges": network.edges,
        "network_nodes": len(network.xy),
        "network_points": len(xy),
        "network_build_s": time.perf_counter() - start,
    }
    straight = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.matrix(xy, "voiture")
        straight.append(time.perf_counter() - start)
    result["straight_s"] = min(straight)
    on_network = model.with_network(network)
    for mode in MODES:
        runs, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            _, fallback = on_network.matrix_and_fallback(xy, mode)
            runs.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        result[f"network_{mode}_s"] = min(runs)
        # CPU time too: on a shared machine the wall time says more about the neighbours
        result[f"network_{mode}_cpu_s"] = min(cpu)
        result[f"network_{mode}_fallback"] = fallback
        result[f"network_{mode}_ratio"] = min(runs) / max(result["straight_s"], 1e-9)
    return result


def table(result: dict[str, Any]) -> str:
    """A Markdown table of the figures (in French, like the other benchmark tables)."""
    pairs = result["network_points"] * (result["network_points"] - 1)
    edges = f"{result['network_edges']:,}".replace(",", "\u202f")
    nodes = f"{result['network_nodes']:,}".replace(",", "\u202f")
    lines = [
        (
            f"Réseau fictif de {edges} tronçons et {nodes} nœuds, "
            f"{result['network_points']} points ; construction des graphes : "
            f"{result['network_build_s']:.1f} s"
        ),
        "",
        (
            "| mode | matrice sur le réseau (s) | dont CPU (s) | ligne droite (s) | ratio | "
            "paires en ligne droite |"
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {mode} | {result[f'network_{mode}_s']:.2f} | "
        f"{result[f'network_{mode}_cpu_s']:.2f} | {result['straight_s']:.4f} | "
        f"{result[f'network_{mode}_ratio']:.0f}× | "
        f"{result[f'network_{mode}_fallback']} / {pairs} |"
        for mode in MODES
    )
    return "\n".join(lines)


if __name__ == "__main__":
    figures = roads_benchmark()
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    print(table(figures))
