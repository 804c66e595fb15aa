"""Benchmark of the hot spots and of the accessibility to partners (issue #23, item 3).

Budgets: Gi* with 999 permutations on 10,000 protected cells ≤ 3 s; E2SFCA for 35,000
communes × 5,000 partners ≤ 10 s. Measured, in the same run, against the naive way:

* ``gi_s``: :func:`territory.analysis.hotspots.hot_spots` end to end (weights from the
  squares, Gi*, 999 conditional permutations, refinement at the floor, Benjamini-Hochberg)
  on a clearly fictional square of :data:`CELLS` published 200 m cells (counts rounded to
  5, two planted clusters); ``moran_s`` the same with local Moran; ``gi_esda_s`` PySAL
  esda 2.9's ``G_Local`` (star, 999 permutations, its ``crand`` without numba: numba is not
  a dependency) on the same weights, when esda is installed (a test dependency);
* ``e2sfca_s``: :func:`territory.analysis.accessibility.accessibility` (driving, 30-minute
  catchment, Luo & Qi's steps) for :data:`ZONES` zones × :data:`PARTNERS` partners
  scattered over a France-sized square (1,000 km: one commune every 28 km², the
  mainland's density; partners around 500 towns) — a KD-tree's sparse catchments;
  ``e2sfca_dense_s`` the naive way: every zone × partner time of a dense matrix (by
  blocks of 2,000 zones, so that the 1.4 GB matrix never sits in memory at once), the
  same two steps, and the largest gap between both results.

Run it with ``python -m bench.hotspots``.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.analysis.accessibility import PER, accessibility, decay_weights
from territory.analysis.hotspots import _queen_neighbours, hot_spots
from territory.crs import GRID_CRS, METRIC_CRS
from territory.grid import cell_polygons
from territory.travel import TravelModel

CELLS = 10_000
ZONES = 35_000
PARTNERS = 5_000
CATCHMENT_MIN = 30.0
MODE = "voiture"
_BLOCK = 2_000


def synthetic_cells(n: int = CELLS, *, seed: int = 0) -> gpd.GeoDataFrame:
    """A square of ``n`` published 200 m cells (fictional), two clusters planted."""
    side = int(np.ceil(np.sqrt(n)))
    rng = np.random.default_rng(seed)
    i, j = np.divmod(np.arange(side * side)[:n], side)
    ids = [
        f"CRS3035RES200mN{2_800_000 + 200 * a}E{3_700_000 + 200 * b}"
        for a, b in zip(i, j, strict=True)
    ]
    counts = np.maximum(15, np.round(rng.poisson(40, n) / 5) * 5)
    for ci, cj in ((side // 4, side // 4), (3 * side // 4, side // 2)):
        near = (np.abs(i - ci) < 4) & (np.abs(j - cj) < 4)
        counts[near] += 150
    return gpd.GeoDataFrame(
        {"zone": ids, "level": "200m", "count": pd.array(counts.astype(int), dtype="Int64")},
        geometry=cell_polygons(pd.Series(ids)).to_numpy(),
        crs=GRID_CRS,
    )


def synthetic_zones_partners(
    zones: int = ZONES, partners: int = PARTNERS, *, seed: int = 0
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.Series]:
    """Zone centres, partners (clustered around 500 towns) and populations (fictional)."""
    rng = np.random.default_rng(seed)
    x0, y0, side = 100_000.0, 6_100_000.0, 1_000_000.0
    zone_xy = rng.uniform([x0, y0], [x0 + side, y0 + side], size=(zones, 2))
    towns = rng.uniform([x0, y0], [x0 + side, y0 + side], size=(500, 2))
    partner_xy = towns[rng.integers(0, 500, partners)] + rng.normal(0, 15_000, (partners, 2))
    zone_frame = gpd.GeoDataFrame(
        geometry=shapely.points(zone_xy), crs=METRIC_CRS, index=pd.RangeIndex(zones)
    )
    partner_frame = gpd.GeoDataFrame(
        {"type": np.full(partners, "ML")}, geometry=shapely.points(partner_xy), crs=METRIC_CRS
    )
    population = pd.Series(rng.lognormal(6.5, 1.2, zones).round(), index=zone_frame.index)
    return zone_frame, partner_frame, population


def _best(repeats: int, run: Any) -> tuple[float, Any]:
    """The fastest of ``repeats`` runs of ``run()`` (seconds) and its last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def _dense_e2sfca(
    zones: gpd.GeoDataFrame, partners: gpd.GeoDataFrame, population: pd.Series
) -> np.ndarray:
    """The naive E2SFCA: every zone × partner time, block by block of zones."""
    model = TravelModel()
    zone_xy = shapely.get_coordinates(zones.geometry.to_numpy())
    partner_xy = shapely.get_coordinates(partners.geometry.to_numpy())
    people = population.to_numpy(dtype=float)
    reached = np.zeros(len(partner_xy))
    blocks = range(0, len(zone_xy), _BLOCK)
    for start in blocks:
        block = zone_xy[start : start + _BLOCK]
        distance = np.hypot(*(block[:, None, :] - partner_xy[None, :, :]).transpose(2, 0, 1))
        weight = decay_weights(
            model.minutes(distance, MODE), catchment_min=CATCHMENT_MIN, decay="stepped"
        )
        reached += weight.T @ people[start : start + _BLOCK]
    ratio = np.where(reached > 0, 1.0 / np.where(reached > 0, reached, 1.0), 0.0)
    access = np.empty(len(zone_xy))
    for start in blocks:
        block = zone_xy[start : start + _BLOCK]
        distance = np.hypot(*(block[:, None, :] - partner_xy[None, :, :]).transpose(2, 0, 1))
        weight = decay_weights(
            model.minutes(distance, MODE), catchment_min=CATCHMENT_MIN, decay="stepped"
        )
        access[start : start + _BLOCK] = weight @ ratio * PER
    return access


def hotspots_benchmark(
    *,
    cells: int = CELLS,
    zones: int = ZONES,
    partners: int = PARTNERS,
    repeats: int = 3,
    naive: bool = True,
) -> dict[str, Any]:
    """Gi* / local Moran on ``cells`` cells and E2SFCA ``zones`` × ``partners``, and naive."""
    layer = synthetic_cells(cells)
    result: dict[str, Any] = {"cells": cells, "permutations": 999}
    result["gi_s"], gi = _best(repeats, lambda: hot_spots(layer))
    result["gi_hot"] = int((gi.frame["classe"] == "point chaud").sum())
    result["gi_significant_raw"] = gi.parameters["significant_raw"]
    result["moran_s"], _ = _best(repeats, lambda: hot_spots(layer, method="moran"))
    if naive:
        result |= _esda_gi(layer, repeats=1)
    zone_frame, partner_frame, population = synthetic_zones_partners(zones, partners)
    result |= {"zones": zones, "partners": partners, "catchment_min": CATCHMENT_MIN}
    result["e2sfca_s"], ours = _best(
        repeats,
        lambda: accessibility(
            zone_frame,
            partner_frame,
            demand=population,
            mode=MODE,
            catchment_min=CATCHMENT_MIN,
        ),
    )
    result["e2sfca_zones_without_partner"] = ours.parameters["zones_without_partner"]
    result["e2sfca_pairs"] = int(ours.frame["partenaires_accessibles"].sum())
    if naive:
        result["e2sfca_dense_s"], dense = _best(
            1, lambda: _dense_e2sfca(zone_frame, partner_frame, population)
        )
        result["e2sfca_dense_max_gap"] = float(np.abs(dense - ours.frame["acces"].to_numpy()).max())
        result["e2sfca_ratio"] = result["e2sfca_dense_s"] / max(result["e2sfca_s"], 1e-9)
    return result


def _esda_gi(layer: gpd.GeoDataFrame, *, repeats: int) -> dict[str, Any]:
    """PySAL esda's Gi* (999 permutations, seed 0) on the same queen weights."""
    try:
        import esda
        import libpysal
    except ImportError:  # a test dependency: the bench says it was not measured
        return {"gi_esda_s": None}
    squares = cell_polygons(layer["zone"]).to_numpy()
    neighbours = _queen_neighbours(squares)
    w = libpysal.weights.W(
        {i: [int(j) for j in a] for i, a in enumerate(neighbours)}, silence_warnings=True
    )
    w.transform = "B"
    y = layer["count"].to_numpy(dtype=float) / 0.04
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds, _ = _best(
            repeats,
            lambda: esda.G_Local(y, w, transform="B", star=1.0, permutations=999, seed=0),
        )
    return {"gi_esda_s": seconds}


def table(result: dict[str, Any]) -> str:
    """A Markdown table of the figures (in French, like the other benchmark tables)."""

    def seconds(key: str) -> str:
        value = result.get(key)
        return "—" if value is None else f"{value:.2f}"

    cells = f"{result['cells']:,}".replace(",", "\u202f")
    zones = f"{result['zones']:,}".replace(",", "\u202f")
    partners = f"{result['partners']:,}".replace(",", "\u202f")
    lines = [
        "| calcul | nous (s) | manière naïve (s) | budget (s) |",
        "|---|---:|---:|---:|",
        (
            f"| Gi*, {cells} carreaux, 999 permutations | {seconds('gi_s')} | "
            f"{seconds('gi_esda_s')} (esda sans numba) | 3 |"
        ),
        f"| Moran local, {cells} carreaux, 999 permutations | {seconds('moran_s')} | — | — |",
        (
            f"| E2SFCA, {zones} communes × {partners} partenaires | {seconds('e2sfca_s')} | "
            f"{seconds('e2sfca_dense_s')} (matrice dense) | 10 |"
        ),
    ]
    if "e2sfca_dense_max_gap" in result:
        lines += [
            "",
            f"Écart maximal entre E2SFCA creux et dense : {result['e2sfca_dense_max_gap']:.2e}",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    figures = hotspots_benchmark()
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    print(table(figures))
