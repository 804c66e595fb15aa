"""Benchmark of the "Où et quand" core: indicators and ranking, ours against the naive way.

Measured on the département-scale demo (:meth:`territory.demo.DemoScale.departement`:
1,550 communes, 160 QPV, about 15,000 1 km cells, a GTFS feed of about 2,700 stops and
1 M contacts), or on any workspace given:

* **cold**: in a freshly spawned process (imports done, nothing cached), open the
  workspace, compute the indicators of the three zone kinds (communes, QPV, 1 km cells;
  contacts read once) and rank each — budget 5 s;
* **rerank**: only the weights change: :func:`territory.analysis.priority.rank_zones` on the
  indicators already computed (best of ``repeats``) — budget 0.3 s per zone kind;
* **naive**: what a first prototype does, in the same spawned-process conditions: read
  every layer with geopandas, one ``sjoin`` per contact indicator (a point per contact),
  an ``overlay`` for the populations, per-zone Python loops for every distance and for the
  stops near each zone, and a row-wise ``apply`` for scores and reasons. Its contact
  counts also go through :func:`territory.privacy.protect.protect`. A prototype has no separate
  ranking step, so its re-rank costs a full run.

Every comparison has a key containing ``ratio`` (naive / ours: ≥ 1 means ours is faster).
The GTFS hours per stop (:func:`territory.ingest_transit.save_stop_hours`) are an import-time
step, timed separately (``stop_hours_s``). The machine's load average is reported: the
figures are wall-clock times on a shared machine.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bench._common import spawnable_main
from territory.analysis.zones import ZoneKind
from territory.settings import Settings

COLD_BUDGET_S = 5.0
RERANK_BUDGET_S = 0.3
KINDS: tuple[ZoneKind, ...] = ("commune", "qpv", "cell")
MOMENT = datetime(2026, 11, 3, 17)  # Tuesday 17 h of the demo's GTFS reference week


def _ours_cold(
    workspace: str, secret: str, kinds: tuple[ZoneKind, ...] = KINDS
) -> dict[str, float]:
    """Cold run (in a spawned process): indicators of ``kinds``, then rankings."""
    import territory.analysis.priority as prio
    from territory.store import Workspace

    settings = Settings(secret_path=Path(secret))
    start = time.perf_counter()
    ws = Workspace.open(workspace)
    indicators = prio.zone_indicators_many(ws, settings=settings, kinds=kinds, at=MOMENT)
    computed = time.perf_counter()
    for ind in indicators.values():
        prio.rank_zones(ind, prio.Weights())
    end = time.perf_counter()
    out = {"indicators_s": computed - start, "total_s": end - start}
    out.update({f"zones_{k}": float(len(ind.zones)) for k, ind in indicators.items()})
    return out


def _naive_cold(
    workspace: str, secret: str, kinds: tuple[ZoneKind, ...] = KINDS
) -> dict[str, float]:
    """The naive way (in a spawned process), per zone kind."""
    settings = Settings(secret_path=Path(secret))
    timings: dict[str, float] = {}
    start = time.perf_counter()
    for kind in kinds:
        t0 = time.perf_counter()
        n = _naive_kind(Path(workspace), kind, settings)
        timings[f"{kind}_s"] = time.perf_counter() - t0
        timings[f"zones_{kind}"] = float(n)
    timings["total_s"] = time.perf_counter() - start
    return timings


def _naive_kind(workspace: Path, kind: str, settings: Settings) -> int:
    """Indicators and ranking of one zone kind, the way a first prototype writes them."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from territory.analysis.indicators import contact_windows
    from territory.analysis.zones import cell_zones
    from territory.grid import parse_ids
    from territory.hours import is_open
    from territory.privacy.protect import protect
    from territory.store import Workspace

    communes = gpd.read_file(workspace, layer="communes").to_crs(2154)
    partners = gpd.read_file(workspace, layer="partners")
    partners = partners[partners.geometry.notna()].to_crs(2154)
    stops = gpd.read_file(workspace, layer="stops").to_crs(2154)
    ws = Workspace.open(workspace)
    hours = ws.query("SELECT stop_id, weekday, hour, departs FROM stop_hours")
    contacts = ws.query("SELECT cell, commune, date, statut FROM contacts")
    if kind == "commune":
        zones = communes.copy()
    elif kind == "qpv":
        zones = gpd.read_file(workspace, layer="qpv").to_crs(2154)
        zones["population"] = (
            gpd.overlay(zones[["code", "geometry"]], communes, how="intersection")
            .assign(
                share=lambda d: (
                    d.geometry.area
                    / d["code_2"].map(communes.set_index("code").geometry.area)
                    * d["population"]
                )
            )
            .groupby("code_1")["share"]
            .sum()
            .reindex(zones["code"])
            .fillna(0)
            .to_numpy()
        )
    else:
        zones = cell_zones(communes).to_crs(2154)
        pieces = gpd.overlay(zones[["code", "geometry"]], communes, how="intersection")
        area = communes.set_index("code").geometry.area
        pieces["share"] = pieces.geometry.area / pieces["code_2"].map(area) * pieces["population"]
        zones["population"] = (
            pieces.groupby("code_1")["share"].sum().reindex(zones["code"]).fillna(0).to_numpy()
        )
    windows = contact_windows(date.fromisoformat(contacts["date"].max()))
    recent = contacts[contacts["date"] >= windows.recent[0].isoformat()]
    previous = contacts[
        (contacts["date"] >= windows.previous[0].isoformat())
        & (contacts["date"] <= windows.previous[1].isoformat())
    ]

    def per_zone(rows: pd.DataFrame) -> pd.Series:
        if kind == "commune":
            counts = rows.groupby("commune").size()
        else:  # one point per contact, then a spatial join
            parsed = parse_ids(rows["cell"])
            points = gpd.GeoDataFrame(
                geometry=gpd.points_from_xy(parsed["east"] + 100, parsed["north"] + 100),
                crs="EPSG:3035",
            ).to_crs(2154)
            joined = points.sjoin(zones[["code", "geometry"]], predicate="within")
            counts = joined.groupby("code").size()
        parts = counts.reindex(zones["code"]).fillna(0).astype("int64")
        parts.loc["reste"] = len(rows) - int(parts.sum())
        tallies = pd.DataFrame({"n": parts, "people": parts, "key": 0})  # a contact, a person
        return protect(tallies, settings=settings).table["count"].iloc[:-1]

    zones["recents"] = per_zone(recent).to_numpy()
    zones["precedents"] = per_zone(previous).to_numpy()
    zones["hors"] = per_zone(recent[recent["statut"] == "hors radars"]).to_numpy()
    zones["rate"] = [
        c / p * 1000 if pd.notna(c) and p >= settings.k else np.nan
        for c, p in zip(zones["recents"], zones["population"], strict=True)
    ]
    open_now = [is_open(h or "", MOMENT) is True for h in partners["horaires"]]
    per_stop = hours[(hours["weekday"] == MOMENT.weekday()) & (hours["hour"] == MOMENT.hour)]
    per_stop = per_stop.set_index("stop_id")["departs"]
    near = gpd.sjoin(
        gpd.GeoDataFrame(zones[["code"]], geometry=zones.buffer(500)), stops, predicate="intersects"
    )
    rows = []
    for _, zone in zones.iterrows():
        centre = zone.geometry.centroid
        row = {"code": zone["code"]}
        for t in ("ML", "FT"):
            row[f"d_{t}"] = partners[partners["type"] == t].distance(centre).min()
        row["d_open"] = partners[open_now].distance(centre).min()
        ids = near.loc[near["code"] == zone["code"], "stop_id"]
        row["departs"] = max([per_stop.get(s, 0) for s in ids], default=0)
        served = stops[stops["stop_id"].isin(per_stop.index)]
        row["d_stop"] = served.distance(centre).min()
        rows.append(row)
    table = pd.DataFrame(rows).set_index("code")
    centres = gpd.GeoDataFrame(zones[["code"]], geometry=zones.centroid)
    rural = centres.sjoin(communes[["densite_libelle", "geometry"]], predicate="within")
    table["rural"] = (
        rural.groupby("code")["densite_libelle"].first().str.contains("ural").reindex(table.index)
    )
    table["pop"] = zones.set_index("code")["population"]
    table["rate"] = zones.set_index("code")["rate"]
    comps = table[["pop", "d_ML", "d_FT", "d_open", "d_stop"]].rank(pct=True)
    comps["rate"] = 1 - table["rate"].rank(pct=True)
    comps["departs"] = 1 - table["departs"].rank(pct=True)

    def score(row: pd.Series) -> pd.Series:
        values = row.fillna(0.5)
        top = values.sort_values(ascending=False).index[:3]
        return pd.Series({"score": values.mean(), "why": " ; ".join(f"{c}" for c in top)})

    scored = comps.apply(score, axis=1).sort_values("score", ascending=False)
    return len(scored)


def _spawned(
    fn: Callable[..., dict[str, float]],
    workspace: Path,
    secret: Path,
    kinds: tuple[ZoneKind, ...] = KINDS,
) -> Any:
    ctx = multiprocessing.get_context("spawn")
    with spawnable_main(), ctx.Pool(1) as pool:
        return pool.apply(fn, (str(workspace), str(secret), kinds))


def prepare_workspace(
    out_dir: Path, *, settings: Settings, say: Callable[[str], None] | None = None
) -> tuple[Path, float, float]:
    """Build the département demo and store its GTFS hours; returns path and both times."""
    from territory.demo import DemoScale, build_demo_workspace, write_demo_sources
    from territory.ingest_transit import save_stop_hours
    from territory.io.gtfs import read_gtfs
    from territory.store import Workspace

    say = say or (lambda _: None)
    path = out_dir / "departement.gpkg"
    start = time.perf_counter()
    say("Construction du territoire fictif départemental (environ une minute)…")
    build_demo_workspace(path, settings=settings, scale="departement", overwrite=True)
    built = time.perf_counter() - start
    # The GTFS feed depends only on the seed and the commune count: rewrite it alone.
    scale = DemoScale.departement()
    with tempfile.TemporaryDirectory(prefix="territory-bench-") as tmp:
        sources = write_demo_sources(
            Path(tmp),
            scale=DemoScale(
                communes=scale.communes, qpv=scale.qpv, partners=scale.partners, contacts=1
            ),
        )
        start = time.perf_counter()
        feed, _ = read_gtfs(sources.gtfs)
        save_stop_hours(Workspace.open(path), feed, today=date(2026, 10, 31))
        hours = time.perf_counter() - start
    return path, built, hours


def priorities_benchmark(
    *,
    settings: Settings,
    workspace: Path | None = None,
    out_dir: Path | None = None,
    repeats: int = 3,
    naive: bool = True,
    naive_kinds: tuple[ZoneKind, ...] = KINDS,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Cold time, weights-only re-rank time and the naive way's time, with ratios.

    Parameters
    ----------
    settings
        Gives ``k``, ``rounding`` and the HMAC secret used to build the demo.
    workspace
        A workspace to measure (with a ``stop_hours`` table for hourly transit); by
        default the département demo is built in ``out_dir`` (about a minute).
    out_dir
        Where to build the demo (a temporary folder when omitted).
    repeats
        Cold runs (each in a fresh process) and re-rank repeats; the median / best is kept.
    naive
        Also measure the naive way (about 15 minutes at département scale, most of it
        for the 1 km cells).
    naive_kinds
        Zone kinds of the comparison: the naive way and a second cold run of ours on
        these kinds only (``("commune", "qpv")`` leaves out the naive 1 km cells).
    say
        Called with French progress messages.

    Returns
    -------
    dict
        ``zones`` per kind, ``cold_s`` (median), ``cold_runs_s``, ``rerank_s`` per kind
        (best), ``rerank_total_s``, budgets and whether they hold, ``naive`` timings,
        ``cold_ratio`` and ``rerank_ratio`` (naive / ours), ``load_average`` and ``cpus``.
    """
    import territory.analysis.priority as prio
    from territory.store import Workspace

    say = say or (lambda _: None)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    result: dict[str, Any] = {}
    try:
        if workspace is None:
            if out_dir is None:
                tmp = tempfile.TemporaryDirectory(prefix="territory-bench-")
                out_dir = Path(tmp.name)
            workspace, built, hours = prepare_workspace(out_dir, settings=settings, say=say)
            result["build_s"], result["stop_hours_s"] = built, hours
        workspace = Path(workspace)
        secret = settings.secret_path
        result["load_average_before"] = list(os.getloadavg())
        say("Mesure à froid (processus neuf)…")
        runs = [_spawned(_ours_cold, workspace, secret) for _ in range(max(1, repeats))]
        result["zones"] = {k: int(runs[0][f"zones_{k}"]) for k in KINDS}
        result["cold_runs_s"] = [round(r["total_s"], 3) for r in runs]
        result["cold_s"] = round(statistics.median(r["total_s"] for r in runs), 3)
        result["cold_indicators_s"] = round(statistics.median(r["indicators_s"] for r in runs), 3)
        say("Mesure du reclassement (poids seuls)…")
        ind = prio.zone_indicators_many(
            Workspace.open(workspace), settings=settings, kinds=KINDS, at=MOMENT
        )
        rerank: dict[str, float] = {}
        for kind, zones in ind.items():
            times = []
            for i in range(max(1, repeats)):
                weights = prio.Weights(need=1 + i, coverage=2, access=0.5, mobility=1)
                t0 = time.perf_counter()
                prio.rank_zones(zones, weights)
                times.append(time.perf_counter() - t0)
            rerank[kind] = round(min(times), 4)
        result["rerank_s"] = rerank
        result["rerank_total_s"] = round(sum(rerank.values()), 4)
        result["budget_cold_s"], result["budget_rerank_s"] = COLD_BUDGET_S, RERANK_BUDGET_S
        result["cold_within_budget"] = result["cold_s"] <= COLD_BUDGET_S
        result["rerank_within_budget"] = max(rerank.values()) <= RERANK_BUDGET_S
        if naive:
            say("Mesure de la manière naïve (plusieurs minutes possibles)…")
            slow = _spawned(_naive_cold, workspace, secret, naive_kinds)
            result["naive"] = {k: round(v, 3) for k, v in slow.items()}
            result["naive_kinds"] = list(naive_kinds)
            ours = result["cold_s"]
            if set(naive_kinds) != set(KINDS):
                same = [_spawned(_ours_cold, workspace, secret, naive_kinds) for _ in runs]
                ours = result["cold_same_kinds_s"] = round(
                    statistics.median(r["total_s"] for r in same), 3
                )
            result["cold_ratio"] = round(slow["total_s"] / ours, 1)
            compared = sum(rerank[k] for k in naive_kinds)
            result["rerank_ratio"] = round(slow["total_s"] / max(compared, 1e-6))
        result["load_average_after"] = list(os.getloadavg())
        result["cpus"] = os.cpu_count()
    finally:
        if tmp is not None:
            tmp.cleanup()
    return result


def table(results: dict[str, Any]) -> str:
    """A short French summary of :func:`priorities_benchmark`."""
    zones = results.get("zones", {})
    lines = [
        "Où et quand — indicateurs et classement",
        (
            f"  zones : {zones.get('commune')} communes, {zones.get('qpv')} QPV, "
            f"{zones.get('cell')} carreaux de 1 km"
        ),
        (
            f"  à froid : {results['cold_s']:.2f} s (budget {COLD_BUDGET_S:g} s ; essais "
            f"{', '.join(f'{t:.2f}' for t in results['cold_runs_s'])})"
        ),
        "  reclassement (poids seuls) : "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in results["rerank_s"].items())
        + f" (budget {RERANK_BUDGET_S * 1000:.0f} ms par type de zone)",
    ]
    if "naive" in results:
        kinds = results.get("naive_kinds", list(KINDS))
        same = results.get("cold_same_kinds_s")
        lines.append(
            f"  manière naïve ({', '.join(kinds)}) : {results['naive']['total_s']:.1f} s"
            + (f" contre {same:.2f} s pour nous sur ces zones" if same is not None else "")
            + f" ; rapports à froid ×{results['cold_ratio']}, "
            f"reclassement ×{results['rerank_ratio']}"
        )
    lines.append(f"  charge machine : {results['load_average_before']} ({results['cpus']} cœurs)")
    return "\n".join(lines)
