"""Benchmark of the contact export turned into stored rows and protected density.

Time and peak memory at several sizes, ours against the naive way, measured in the same
run. Ours is the whole import (``import_file``: read, anonymise, snap to the 200 m grid,
store in a workspace), then the density computed from the store as the map does (the
counts per cell kept by the store, ``protect_density``). The naive way is the geopandas
one: read the whole CSV, make points, build the polygons of every 200 m cell of the
territory's bounding box and ``sjoin`` the points in them (and in the communes), store the
joined rows with ``to_sql``, then count. Each measurement runs in its own spawned process,
so that peak memories do not mix: the peak resident memory above what the process held
when the clock started (Linux resets the high-water mark then; elsewhere ``ru_maxrss``
above the setup's own peak).

Every comparison has a key containing ``ratio`` (naive / ours: ≥ 1 means ours is better).
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._common import in_subprocess, peak_mb, reset_peak
from territory.settings import Settings

__all__ = [
    "CONTACT_SIZES_FULL",
    "CONTACT_SIZES_QUICK",
    "MAX_NAIVE_CELLS",
    "NAIVE_TIME_CAP_S",
    "contacts_benchmark",
    "contacts_table",
]

CONTACT_SIZES_QUICK = (10_000, 100_000)
"""Contact counts measured by the quick run."""
CONTACT_SIZES_FULL = (10_000, 100_000, 1_000_000)
"""Contact counts measured by the full run."""
NAIVE_TIME_CAP_S = 300.0
"""Longest wait for the naive way; beyond, the cap is its lower bound."""
MAX_NAIVE_CELLS = 3_000_000  # beyond, the naive grid is restricted to the communes' boxes


def contacts_benchmark(
    sizes: tuple[int, ...],
    *,
    settings: Settings,
    communes: int = 1_550,
    naive_cap_s: float = NAIVE_TIME_CAP_S,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Contact export → protected density, ours and naive, at each size in ``sizes``.

    Keys per size ``n``: ``contacts_{n}_s`` / ``_s_naive`` / ``_ratio`` (naive / ours),
    ``contacts_{n}_import_s`` and ``_density_s`` (ours split: the import, then the
    protected density read from the store),
    ``contacts_{n}_cpu_s`` / ``_cpu_s_naive`` / ``_cpu_ratio`` (processor time, all threads),
    ``contacts_{n}_peak_mb`` / ``_peak_mb_naive`` / ``_peak_ratio``, ``contacts_{n}_cells``
    (200 m cells counted, ours) and, when the naive way hit ``naive_cap_s``,
    ``contacts_{n}_naive_capped`` (its time is then a lower bound and its memory the peak
    reached so far is unknown: NaN), ``contacts_{n}_stored`` (and ``_stored_naive``):
    rows each way stored. Between consecutive sizes, ``contacts_growth_{n}_s``
    (and ``_s_naive``): time at ``n`` over time at the previous size.
    """
    from territory.demo import DemoScale, write_demo_sources

    secret = secrets.token_bytes(32)
    result: dict[str, Any] = {"contacts_sizes": list(sizes), "contacts_communes": communes}
    with tempfile.TemporaryDirectory(prefix="territory-bench-contacts-") as tmp:
        for n in sizes:
            say(f"Contacts : génération de {n:,} lignes ({communes} communes)…")
            folder = Path(tmp) / str(n)
            sources = write_demo_sources(folder, scale=DemoScale(communes=communes, contacts=n))
            args = (str(sources.contacts), str(sources.communes), secret, settings)
            say(f"Contacts : mesure de {n:,} lignes, nous…")
            ours = in_subprocess(_measure_ours, args, timeout=None)
            assert ours is not None  # no timeout
            say(f"Contacts : mesure de {n:,} lignes, manière naïve…")
            naive = in_subprocess(_measure_naive, args, timeout=naive_cap_s)
            if naive is None:
                naive = {"s": naive_cap_s, "peak_mb": float("nan"), "zones": -1}
                result[f"contacts_{n}_naive_capped"] = True
            result[f"contacts_{n}_s"] = ours["s"]
            result[f"contacts_{n}_import_s"] = ours["import_s"]
            result[f"contacts_{n}_density_s"] = ours["density_s"]
            result[f"contacts_{n}_s_naive"] = naive["s"]
            result[f"contacts_{n}_ratio"] = naive["s"] / ours["s"]
            # CPU time (all threads): what the machine's other load changes least.
            result[f"contacts_{n}_cpu_s"] = ours["cpu_s"]
            result[f"contacts_{n}_cpu_s_naive"] = naive.get("cpu_s", float("nan"))
            result[f"contacts_{n}_cpu_ratio"] = naive.get("cpu_s", float("nan")) / ours["cpu_s"]
            result[f"contacts_{n}_peak_mb"] = ours["peak_mb"]
            result[f"contacts_{n}_peak_mb_naive"] = naive["peak_mb"]
            # Under 1 MB, ours did not rise above the setup's own peak: no ratio.
            result[f"contacts_{n}_peak_ratio"] = (
                naive["peak_mb"] / ours["peak_mb"] if ours["peak_mb"] >= 1 else float("nan")
            )
            result[f"contacts_{n}_cells"] = ours["cells"]
            result[f"contacts_{n}_zones"] = ours["zones"]
            result[f"contacts_{n}_zones_naive"] = naive["zones"]
            result[f"contacts_{n}_stored"] = ours["stored"]
            if "stored" in naive:
                result[f"contacts_{n}_stored_naive"] = naive["stored"]
            if "grid_cells" in naive:
                result[f"contacts_{n}_naive_grid_cells"] = naive["grid_cells"]
    for previous, n in itertools.pairwise(sizes):
        for suffix in ("s", "s_naive"):
            result[f"contacts_growth_{n}_{suffix}"] = (
                result[f"contacts_{n}_{suffix}"] / result[f"contacts_{previous}_{suffix}"]
            )
    return result


def _setup(communes_path: str) -> Any:
    """What both ways need before the clock starts: libraries and communes, loaded."""
    import geopandas as gpd

    import territory.grid
    import territory.ingest
    import territory.io.contacts
    import territory.privacy.protect
    import territory.views  # noqa: F401

    return gpd.read_file(communes_path)


def _measure_ours(
    contacts_path: str, communes_path: str, secret: bytes, settings: Settings
) -> dict[str, Any]:
    """Ours, the whole path: the CSV imported into a workspace, then the protected density.

    The workspace (with its communes) and the secret are made before the clock starts;
    then ``import_file`` reads, anonymises and stores the contacts (refused rows written
    beside the file), and the density is computed from the store as the map does.
    """
    import dataclasses

    from territory.ingest import import_file
    from territory.privacy.published import density as published_density
    from territory.privacy.raw import contact_cell_counts
    from territory.store import Workspace

    communes = _setup(communes_path)
    with tempfile.TemporaryDirectory(prefix="territory-bench-ours-") as tmp:
        settings = dataclasses.replace(settings, secret_path=Path(tmp) / "secret.key")
        settings.secret_path.write_bytes(secret)
        ws = Workspace.create(Path(tmp) / "ours.gpkg", name="bench")
        ws.write_layer("communes", communes, source="bench", vintage="")
        base = reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        report = import_file(ws, "contacts", contacts_path, settings=settings)
        imported = time.perf_counter()
        density = published_density(ws, settings=settings)
        end, cpu = time.perf_counter(), time.process_time() - cpu
        counts = contact_cell_counts(ws)
        stored = ws.layers()["contacts"].count
    return {
        "s": end - start,
        "import_s": imported - start,
        "density_s": end - imported,
        "cpu_s": cpu,
        "peak_mb": peak_mb() - base,
        "cells": int(counts["cell"].nunique()),
        "zones": len(density),
        "stored": stored,
        "accepted": report.accepted,
    }


def _measure_naive(
    contacts_path: str, communes_path: str, secret: bytes, settings: Settings
) -> dict[str, Any]:
    """The geopandas way: whole file, points, every cell polygon of the bbox, sjoin, count.

    Like ours, it stores its rows (cell, commune, date and categories: no coordinates,
    no hashing) in a SQLite file, with ``DataFrame.to_sql``.
    """
    import sqlite3

    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from territory.crs import GRID_CRS
    from territory.grid import cell_ids, cell_polygons
    from territory.privacy.protect import protect_density

    communes = _setup(communes_path)
    with tempfile.TemporaryDirectory(prefix="territory-bench-naive-") as tmp:
        base = reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        table = pd.read_csv(contacts_path, sep=";", decimal=",", encoding="utf-8-sig")
        table = table.dropna(subset=["longitude", "latitude"])
        points = gpd.GeoDataFrame(
            table,
            geometry=gpd.points_from_xy(table["longitude"], table["latitude"]),
            crs="EPSG:4326",
        )
        points = gpd.sjoin(points, communes[["code", "geometry"]], predicate="within")
        points = points[~points.index.duplicated()].drop(columns="index_right")
        points = points.rename(columns={"code": "commune"}).to_crs(GRID_CRS)
        # Every 200 m cell of the territory's bounding box, as polygons.
        boxes = [communes.to_crs(GRID_CRS).total_bounds]
        if _cells_in(boxes[0]) > MAX_NAIVE_CELLS:  # absurd: the communes' own boxes only
            boxes = list(communes.to_crs(GRID_CRS).bounds.to_numpy())
        parts = []
        for x0, y0, x1, y1 in boxes:
            xs = np.arange(np.floor(x0 / 200) * 200, x1, 200)
            ys = np.arange(np.floor(y0 / 200) * 200, y1, 200)
            gx, gy = np.meshgrid(xs, ys)
            parts.append(cell_ids(gx.ravel(), gy.ravel()))
        ids = pd.unique(np.concatenate(parts))
        cells = gpd.GeoDataFrame(
            {"cell": ids}, geometry=cell_polygons(ids).to_numpy(), crs=GRID_CRS
        )
        joined = gpd.sjoin(points, cells, predicate="within")
        kept = ["cell", "commune", "date_contact", "statut", "tranche_age", "sexe"]
        kept += ["partenaire_orientation", "id_personne"]
        with contextlib.closing(sqlite3.connect(Path(tmp) / "naive.sqlite")) as con:
            joined[kept].to_sql("contacts", con, index=False)
            con.commit()
        records = pd.DataFrame(
            {
                "cell": joined["cell"].to_numpy(),
                "commune": joined["commune"].to_numpy(),
                "person": pd.factorize(joined["id_personne"].fillna("").astype(str))[0],
                "n": 1,
                "key": 0,
            }
        )
        density = protect_density(records, settings=settings)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "s": seconds,
        "cpu_s": cpu,
        "peak_mb": peak_mb() - base,
        "zones": len(density),
        "grid_cells": len(ids),
        "stored": len(joined),
    }


def _cells_in(bounds: Any) -> float:
    x0, y0, x1, y1 = bounds
    return float((x1 - x0) / 200 + 1) * float((y1 - y0) / 200 + 1)


def contacts_table(c: dict[str, Any]) -> list[str]:
    """The lines of the Markdown table of :func:`contacts_benchmark`'s figures."""
    lines = [
        f"Contacts → densité protégée ({c['contacts_communes']} communes)",
        "",
        "| lignes | mesure | nous | naïf | ratio |",
        "|---:|---|---:|---:|---:|",
    ]
    for n in c["contacts_sizes"]:
        bound = "≥ " if c.get(f"contacts_{n}_naive_capped") else ""
        lines.append(
            f"| {n:,} | temps (s) | {c[f'contacts_{n}_s']:.2f} | "
            f"{bound}{c[f'contacts_{n}_s_naive']:.2f} | {bound}{c[f'contacts_{n}_ratio']:.1f}× |"
        )
        if f"contacts_{n}_cpu_s" in c:
            lines.append(
                f"| {n:,} | temps processeur (s) | {c[f'contacts_{n}_cpu_s']:.2f} | "
                f"{bound}{c[f'contacts_{n}_cpu_s_naive']:.2f} | "
                f"{bound}{c[f'contacts_{n}_cpu_ratio']:.1f}× |"
            )
        lines.append(
            f"| {n:,} | mémoire max (Mo) | {c[f'contacts_{n}_peak_mb']:.0f} | "
            f"{c[f'contacts_{n}_peak_mb_naive']:.0f} | {c[f'contacts_{n}_peak_ratio']:.1f}× |"
        )
        if f"contacts_growth_{n}_s" in c:
            lines.append(
                f"| {n:,} | croissance du temps (× / taille précédente) | "
                f"{c[f'contacts_growth_{n}_s']:.1f}× | "
                f"{bound}{c[f'contacts_growth_{n}_s_naive']:.1f}× | — |"
            )
    return [line.replace(",", " ") for line in lines]
