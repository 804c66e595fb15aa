"""Benchmark of the whole week plan on a département-wide programme (issue #20).

:func:`territory.rounds.week.plan_week` end to end on the département demo
(:meth:`territory.demo.DemoScale.departement`: 1,550 communes, 160 QPV, 1 M contacts),
for a **programme territory** of about 300 communes (whole EPCIs around the main town,
:func:`prepare_programme`) and 4 teams, each with a sector (a quarter of the programme's
EPCIs): 3 by car, one by public transport in the town's sector (the GTFS timetables).
Every generated candidate place of the programme is a candidate (partners, stops, a point
in each QPV, each commune's centre: several hundred).

Measured in a fresh process (:func:`bench._common.in_subprocess`): the **first** call
(nothing cached: contacts, protected tables, communes read from the file) and the
**warm** call (the same week again in the same process, as a rerun of the page), each
with a breakdown per stage — the functions ``plan_week`` calls are wrapped with timers
(:func:`_timed_stages`); ``travel + model`` is :func:`~territory.rounds.geo.plan_rounds`
minus the solver's own time, ``other`` what no stage counts. Then, in the same run, the
same week solved as one model (``decompose=False``) with the same time, and the long
searches (``long_s``) on the week's independent parts and as one model:
``week_objective_share`` is the plan's objective over the best of all (goal ≥ 0.95),
``week_first_s`` the first call's wall time (goal ≤ 15 s with the solver's default 5 s).
The missed zones of each are reported: the solver covers zones first, so a plan of lower
value may be the better one by the solver's own objective.

Run it with ``python -m bench.week WORKSPACE [--long SECONDS] [--limit SECONDS]
[--no-monolithic]`` (the solver's time limit, default :data:`SOLVER_S`; without the
one-model searches) on a département demo
built by ``territory demo --scale departement``.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._common import in_subprocess

PROGRAMME = "Programme départemental (banc)"
PROGRAMME_COMMUNES = 300
WEEK = "2026-W46"
SOLVER_S = 5.0
LONG_S = 300.0

# plan_week's stages: the names it calls in territory.rounds.week, timed where it looks them up
STAGES = (
    "load_teams",
    "candidate_places",
    "territory_places",
    "with_place_zones",
    "load_plan",
    "_calendar_notes",
    "previous_plan",
    "coverage_zones",
    "resolve",
    "monthly_zones",
    "monthly_turn",
    "territory_zones",
    "rule_notes",
    "place_coverage",
    "commune_ranking",
    "place_reasons",
    "communes_with_qpv",
    "travel_model_for",
    "load_transit_network",
    "zone_yields",
    "place_values",
    "plan_rounds",
    "kept_visits",
)


def prepare_programme(path: Path, *, communes: int = PROGRAMME_COMMUNES) -> dict[str, Any]:
    """Define the programme territory and the 4 teams with sectors in the workspace.

    The programme: whole EPCIs, nearest to the most populated commune first, until
    ``communes`` communes; sectors: its EPCIs in 4 groups by angle around that commune
    (the town's own EPCI with the transit team).
    """
    import numpy as np
    import pandas as pd

    from territory.crs import METRIC_CRS, STORAGE_CRS
    from territory.rounds.week import save_teams
    from territory.store import Workspace
    from territory.territories import define_territory

    ws = Workspace.open(path)
    layer = ws.read_layer("communes").to_crs(METRIC_CRS)
    centres = layer.geometry.representative_point()
    main = layer["population"].astype(float).idxmax()
    town = centres.loc[main]
    dist = centres.distance(town)
    by_epci = (
        pd.DataFrame({"epci": layer["epci"].astype(str), "d": dist})
        .groupby("epci")["d"]
        .agg(["min", "size"])
        .sort_values("min")
    )
    chosen = by_epci.index[by_epci["size"].cumsum().shift(fill_value=0) < communes]
    define_territory(ws, PROGRAMME, epci=list(chosen), replace=True)
    inside = layer["epci"].astype(str).isin(chosen)
    members = layer[inside]
    angle = np.arctan2(centres[inside].y.to_numpy() - town.y, centres[inside].x.to_numpy() - town.x)
    epci_angle = pd.Series(angle, index=members.index).groupby(members["epci"].astype(str)).mean()
    town_epci = str(layer.at[main, "epci"])
    others = epci_angle.drop(town_epci).sort_values()
    groups = [[town_epci], *(list(g) for g in np.array_split(others.index.to_numpy(), 3))]
    groups = [g for g in groups if g]  # a small territory (the tests' demo): fewer teams
    n = len(groups)
    sectors = [
        " ".join(sorted(members.loc[members["epci"].astype(str).isin(g), "code"].astype(str)))
        for g in groups
    ]
    bases = []
    for g in groups:
        mine = members[members["epci"].astype(str).isin(g)]
        point = centres.loc[mine["population"].astype(float).idxmax()]
        lonlat = gpd_point(point, METRIC_CRS, STORAGE_CRS)
        bases.append(lonlat)
    save_teams(
        ws,
        pd.DataFrame(
            {
                "nom": ["Équipe ville", "Équipe secteur 2", "Équipe secteur 3", "Équipe secteur 4"][
                    :n
                ],
                "mode": ["transports en commun", "voiture", "voiture", "voiture"][:n],
                "taille": [2] * n,
                "base_lon": [b[0] for b in bases],
                "base_lat": [b[1] for b in bases],
                "disponibilites": [
                    "Tu-Sa 13:30-20:00",
                    "Mo-Fr 09:00-12:30,13:30-17:00",
                    "Mo-Fr 09:00-12:30,13:30-17:00",
                    "Mo-Th 09:00-17:00",
                ][:n],
                "max_tournees": [8, 5, 5, 4][:n],
                "max_heures": [28, 28, 28, 26][:n],
                "secteur": sectors,
            }
        ),
    )
    return {
        "week_communes": int(inside.sum()),
        "week_epci": len(chosen),
        "week_sector_communes": [len(s.split()) for s in sectors],
    }


def gpd_point(point: Any, source: str, target: str) -> tuple[float, float]:
    """``point`` from ``source`` to ``target`` CRS, as ``(x, y)`` rounded to 1e-6."""
    import geopandas as gpd

    p = gpd.GeoSeries([point], crs=source).to_crs(target).iloc[0]
    return round(p.x, 6), round(p.y, 6)


@contextmanager
def _timed_stages(times: dict[str, float], *, decompose: bool = True) -> Iterator[None]:
    """Wrap the stages ``plan_week`` looks up in its module with timers adding to ``times``.

    ``decompose=False``: ``plan_rounds`` searches the week as one model (the solver's
    way before issue #20's decomposition), for the monolithic reference.
    """
    from territory.rounds import week as module

    saved = {name: getattr(module, name) for name in STAGES if hasattr(module, name)}
    if not decompose:
        saved["plan_rounds"] = functools.partial(saved["plan_rounds"], decompose=False)

    def timer(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - start

        return wrapped

    for name, func in saved.items():
        setattr(module, name, timer(name, func))
    try:
        yield
    finally:
        for name, func in saved.items():
            setattr(module, name, getattr(func, "func", func))


def _one_call(ws: Any, settings: Any, limit: float, *, decompose: bool = True) -> dict[str, Any]:
    from territory.rounds.week import plan_week

    times: dict[str, float] = {}
    start = time.perf_counter()
    with _timed_stages(times, decompose=decompose):
        plan, places = plan_week(ws, WEEK, settings=settings, territory=PROGRAMME, time_limit=limit)
    total = time.perf_counter() - start
    solver = float(plan.stats.get("time_s", 0.0))
    stages = {k: round(v, 3) for k, v in sorted(times.items(), key=lambda kv: -kv[1])}
    stages["solver"] = round(solver, 3)
    stages["travel + model"] = round(times.get("plan_rounds", 0.0) - solver, 3)
    stages.pop("plan_rounds", None)
    stages["other"] = round(total - sum(times.values()), 3)
    return {
        "total_s": round(total, 3),
        "non_solver_s": round(total - solver, 3),
        "stages": stages,
        "objective": round(plan.objective, 3),
        "visits": len(plan.visits),
        "places": len(places),
        "candidates": int(plan.stats.get("candidates", 0)),
        "missed_zones": int(plan.stats.get("missed_zones", 0)),
        "parts": int(plan.stats.get("parts", 1)),
        "visit_keys": sorted((v.team, v.place, v.day, v.start) for v in plan.visits),
    }


def _measure(
    path: str, secret: str, limit: float, long_s: float, monolithic: bool
) -> dict[str, Any]:
    """In a fresh process: the first call, the warm call, then the long searches.

    With ``monolithic``, also the plan searched as one model with ``limit``, and the
    long search as one model: the reference is the best of every search.
    """
    from territory.settings import Settings
    from territory.store import Workspace

    settings = Settings(secret_path=Path(secret))
    ws = Workspace.open(path)
    first = _one_call(ws, settings, limit)
    warm = _one_call(ws, settings, limit)
    out = {"first": first, "warm": warm, "long": None, "mono": None, "long_mono": None}
    if monolithic:
        out["mono"] = _one_call(ws, settings, limit, decompose=False)
    if long_s > 0:
        out["long"] = _one_call(ws, settings, long_s)
        if monolithic:
            out["long_mono"] = _one_call(ws, settings, long_s, decompose=False)
    return out | {"load": os.getloadavg()}


def week_benchmark(
    workspace: Path,
    *,
    secret: Path,
    time_limit: float = SOLVER_S,
    long_s: float = LONG_S,
    communes: int = PROGRAMME_COMMUNES,
    monolithic: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``plan_week`` end to end on the programme: first and warm call, against a long search.

    ``workspace``: a département demo (changed: the programme and the teams are stored).
    Returns ``week_first_s``, ``week_warm_s`` (wall time, goal ≤ 15 s), their non-solver
    part, ``week_first_stages`` / ``week_warm_stages`` (seconds per stage),
    ``week_objective_share`` (plan / best of plan and long search, goal ≥ 0.95), the
    places, candidate nodes, visits, the solver's independent parts (``week_parts``), and
    the load average before and after. The long search runs on the parts (as the plan)
    and, with ``monolithic``, as one model too (``week_long_monolithic_objective``), with
    the plan of ``time_limit`` as one model (``week_monolithic_objective``, the solver
    before the decomposition): the reference is the best of all.
    """
    say("Semaine départementale de bout en bout : programme et équipes…")
    setup = prepare_programme(workspace, communes=communes)
    before = os.getloadavg()
    say(f"Semaine départementale : premier calcul, calcul chaud, puis {long_s:.0f} s…")
    measured = in_subprocess(
        _measure, (str(workspace), str(secret), time_limit, long_s, monolithic), timeout=None
    )
    assert measured is not None
    first, warm, long = measured["first"], measured["warm"], measured["long"]
    mono, long_mono = measured["mono"], measured["long_mono"]
    best = max(c["objective"] for c in (first, long, mono, long_mono) if c is not None)
    out: dict[str, Any] = {
        **setup,
        "week_time_limit_s": time_limit,
        "week_places": first["places"],
        "week_candidates": first["candidates"],
        "week_visits": first["visits"],
        "week_parts": first["parts"],
        "week_missed_zones": first["missed_zones"],
        "week_first_s": first["total_s"],
        "week_first_non_solver_s": first["non_solver_s"],
        "week_first_stages": first["stages"],
        "week_warm_s": warm["total_s"],
        "week_warm_non_solver_s": warm["non_solver_s"],
        "week_warm_stages": warm["stages"],
        "week_objective": first["objective"],
        "week_load_before": [round(x, 2) for x in before],
        "week_load_after": [round(x, 2) for x in measured["load"]],
    }
    if long is not None:
        out |= {
            "week_long_s": long_s,
            "week_long_objective": long["objective"],
            "week_long_missed_zones": long["missed_zones"],
            "week_objective_share": round(first["objective"] / best, 4) if best > 0 else 1.0,
            "week_time_ratio": round(long["total_s"] / max(first["total_s"], 1e-9), 1),
        }
    if mono is not None:
        out["week_monolithic_objective"] = mono["objective"]
        out["week_monolithic_missed_zones"] = mono["missed_zones"]
        out["week_monolithic_share"] = round(mono["objective"] / best, 4) if best > 0 else 1.0
    if long_mono is not None:
        out["week_long_monolithic_objective"] = long_mono["objective"]
        out["week_long_monolithic_missed_zones"] = long_mono["missed_zones"]
    return out


def table(result: dict[str, Any]) -> str:
    """A Markdown table of the figures (in French, like the other benchmark tables)."""
    lines = [
        "| appel | total (s) | hors solveur (s) | étapes principales (s) |",
        "|---|---:|---:|---|",
    ]
    for call, label in (("first", "premier"), ("warm", "chaud")):
        stages = result[f"week_{call}_stages"]
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(stages.items())[:6])
        lines.append(
            f"| {label} | {result[f'week_{call}_s']:.1f} | "
            f"{result[f'week_{call}_non_solver_s']:.1f} | {top} |"
        )
    if "week_objective_share" in result:
        mono = ""
        if "week_long_monolithic_objective" in result:
            mono = f", d'un seul tenant : {result['week_long_monolithic_objective']:.1f}"
        lines.append(
            f"\nobjectif ({result['week_parts']} partie(s)) : {result['week_objective']:.1f} ; "
            f"recherche de {result['week_long_s']:.0f} s par parties : "
            f"{result['week_long_objective']:.1f}{mono} "
            f"(part {100 * result['week_objective_share']:.1f} %)"
        )
    if "week_monolithic_objective" in result:
        lines.append(
            f"d'un seul tenant en {result['week_time_limit_s']:.0f} s : "
            f"{result['week_monolithic_objective']:.1f} "
            f"(part {100 * result['week_monolithic_share']:.1f} %)"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    import sys

    args = sys.argv[1:]
    long_s = float(args[args.index("--long") + 1]) if "--long" in args else LONG_S
    limit = float(args[args.index("--limit") + 1]) if "--limit" in args else SOLVER_S
    secret = Path(os.environ.get("TERRITORY_SECRET_PATH", "secret.key"))
    figures = week_benchmark(
        Path(args[0]),
        secret=secret,
        time_limit=limit,
        long_s=long_s,
        monolithic="--no-monolithic" not in args,
    )
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    print(table(figures))
