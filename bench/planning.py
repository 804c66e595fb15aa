"""Benchmark of the weekly round planner: a plan within budget against a long search.

For each size (60, 120 and 240 candidate places; 3 teams; Monday to Friday) a synthetic,
clearly fictional territory is built (:func:`synthetic_week`): an agglomeration with
8 QPV and about 20 rural communes around it, places of every kind with realistic presence
windows (market mornings, evenings at the foot of buildings, partners' office hours),
values per place × day × 2-hour slot, three teams (on foot, by public transport, by car)
with split availability, weekly hour and round caps, and coverage of every QPV and of a
few rural communes.

Measured, in the same run:

* **plan**: :func:`~territory.rounds.solver.plan_from_matrix` with the interactive budget
  (10 s wall time, model building included);
* **long**: the same call with a 5-minute budget (30 s in quick mode) and, in the full
  run, a second 5-minute search on every candidate node (no candidate selection); the
  best objective of the run is the reference;
* ``p{n}_objective_share`` = plan objective / best objective (goal ≥ 0.95 at 60 places),
  ``p{n}_gap_pct`` the gap in percent, ``p{n}_time_ratio`` = long time / plan time.

A **département-wide programme** (:func:`departement_week`, issue #20): 300 fictional
communes over 100 × 100 km, 4 car teams each in its sector (a quarter of the
département), 180 candidate places, a quarter of the communes to cover this week and
every commune capped at one visit (monthly rural rounds). ``dep_…`` keys: the week in
:data:`DEP_BUDGET_S` (goal ≤ 15 s, within 5 % of the long search), then the same week
planned again from that plan (``previous``, nothing changed): ``dep_kept_share``, the
share of its visits that keep place, weekday and hour (goal ≥ 0.8). The long search gets
every candidate node (``max_candidates=None``): with the default cap, it found the 15-s
plan again and hid what the cap lost.

Run it with ``python -m bench.planning [--quick]``.

Every comparison has a key containing ``ratio``.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from territory.rounds.geo import travel_time_matrix
from territory.rounds.model import Place, Team
from territory.rounds.recurrence import kept_visits
from territory.rounds.solver import plan_from_matrix

SIZES = (60, 120, 240)
BUDGET_S = 10.0
DEP_PLACES = 180
DEP_BUDGET_S = 15.0
LONG_S_FULL = 300.0
LONG_S_QUICK = 30.0
_MARGIN_S = 0.25  # interpreter overhead around the solver's own time limit

_SLOTS = 7  # 2-hour slots from 08:00 to 22:00
_ALL_DAYS = tuple(range(7))
_WEEKDAYS = (0, 1, 2, 3, 4)

# Kind: (presence windows as (days, start, end) rules, visit minutes, yield by slot 8-22 h)
_KINDS: dict[str, tuple[list[tuple[Sequence[int], int, int]], int, list[float]]] = {
    "parc": ([(_ALL_DAYS, 600, 1200)], 45, [0.0, 0.4, 0.5, 0.8, 1.0, 0.6, 0.0]),
    "gare": ([(_ALL_DAYS, 390, 1290)], 30, [0.6, 0.3, 0.4, 0.5, 1.0, 0.7, 0.3]),
    "centre commercial": (
        [((0, 1, 2, 3, 4, 5), 570, 1200)],
        45,
        [0.0, 0.4, 0.6, 0.7, 1.0, 0.5, 0.0],
    ),
    "marché": ([], 60, [1.0, 0.8, 0.2, 0.0, 0.0, 0.0, 0.0]),  # days drawn per place
    "city stade": ([(_ALL_DAYS, 840, 1260)], 45, [0.0, 0.0, 0.0, 0.6, 1.0, 0.9, 0.5]),
    "pied d'immeuble": ([(_ALL_DAYS, 960, 1260)], 40, [0.0, 0.0, 0.0, 0.0, 1.0, 0.9, 0.6]),
    "place de village": (
        [(_ALL_DAYS, 540, 720), (_ALL_DAYS, 960, 1140)],
        30,
        [0.5, 0.7, 0.2, 0.3, 1.0, 0.3, 0.0],
    ),
    "local partenaire": (
        [(_WEEKDAYS, 540, 720), (_WEEKDAYS, 840, 1050)],
        45,
        [0.6, 0.8, 0.3, 0.7, 0.5, 0.0, 0.0],
    ),
    "événement": ([], 60, [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]),  # one day drawn per place
}
_URBAN = ["parc", "gare", "centre commercial", "marché", "city stade", "pied d'immeuble",
          "local partenaire", "événement"]  # fmt: skip
_URBAN_WEIGHTS = [0.16, 0.06, 0.08, 0.08, 0.14, 0.3, 0.12, 0.06]
_RURAL = ["place de village", "marché", "city stade", "local partenaire"]
_RURAL_WEIGHTS = [0.5, 0.15, 0.2, 0.15]
_DAY_FACTOR = np.array([0.9, 0.9, 1.3, 0.9, 1.0])  # Wednesday afternoons: no school


@dataclass(frozen=True)
class Week:
    """A synthetic planning instance, ready for :func:`plan_from_matrix`."""

    places: list[Place]
    teams: list[Team]
    travel: dict[str, npt.NDArray[np.float64]]
    value: npt.NDArray[np.float64]
    required_zones: frozenset[str]
    zone_caps: dict[str, int] | None = None


def synthetic_week(n_places: int, *, seed: int = 0) -> Week:
    """A fictional agglomeration and its rural belt with ``n_places`` candidate places.

    Examples
    --------
    >>> week = synthetic_week(20)
    >>> len(week.places), week.value.shape, sorted(week.travel)
    (20, (20, 5, 7), ['marche', 'transports en commun', 'voiture'])
    """
    rng = np.random.default_rng(seed)
    qpv = rng.uniform(-3500, 3500, size=(8, 2))
    angles = rng.uniform(0, 2 * np.pi, size=20)
    radii = rng.uniform(8000, 22000, size=20)
    villages = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
    places: list[Place] = []
    xy = []
    value = np.zeros((n_places, 5, _SLOTS))
    for i in range(n_places):
        urban = rng.random() < 0.7
        if urban:
            kind = str(rng.choice(_URBAN, p=_URBAN_WEIGHTS))
            q = int(rng.integers(8))
            point = qpv[q] + rng.normal(0, 600, size=2)
            zone = f"QN099{q + 1:02d}M"
        else:
            kind = str(rng.choice(_RURAL, p=_RURAL_WEIGHTS))
            c = int(rng.integers(20))
            point = villages[c] + rng.normal(0, 300, size=2)
            zone = f"99{c + 100:03d}"
        rules, duration, profile = _KINDS[kind]
        if kind == "marché":
            market_days = rng.choice(6, size=int(rng.integers(1, 3)), replace=False)
            rules = [(tuple(int(d) for d in market_days), 480, 780)]
        elif kind == "événement":
            rules = [((int(rng.integers(5)),), 840, 1080)]
        windows: dict[int, list[tuple[int, int]]] = {}
        for days, a, b in rules:
            for d in days:
                windows.setdefault(d, []).append((a, b))
        priority = float(np.round(rng.uniform(0.5, 3.0), 2))
        places.append(
            Place(
                f"L{i + 1:03d}",
                f"{kind.capitalize()} {i + 1}",
                kind,
                zone=zone,
                x=float(point[0]),
                y=float(point[1]),
                windows={d: tuple(w) for d, w in windows.items()},
                duration=duration,
                priority=priority,
            )
        )
        xy.append(point)
        noise = rng.uniform(0.8, 1.2, size=(5, _SLOTS))
        value[i] = np.round(priority * np.array(profile)[None, :] * _DAY_FACTOR[:, None] * noise, 3)
    teams = [
        Team(
            "Équipe Centre",
            "marche",
            size=2,
            base=(0.0, 0.0),
            availability=dict.fromkeys(range(5), ((13 * 60 + 30, 20 * 60),)),
            max_hours=24,
        ),
        Team(
            "Équipe Quartiers",
            "transports en commun",
            size=3,
            base=(1500.0, -1000.0),
            availability=dict.fromkeys(range(5), ((10 * 60, 12 * 60 + 30), (14 * 60, 19 * 60))),
            max_hours=26,
            max_rounds=8,
        ),
        Team(
            "Équipe Rurale",
            "voiture",
            size=2,
            base=(6000.0, 3000.0),
            availability=dict.fromkeys(range(5), ((9 * 60, 17 * 60),)),
            max_hours=30,
        ),
    ]
    points = np.vstack([np.array(xy), np.array([t.base for t in teams], dtype=np.float64)])
    travel = {t.mode: travel_time_matrix(points, t.mode) for t in teams}
    rural_zones = sorted({p.zone for p in places if not p.zone.startswith("QN")})
    due = rng.choice(len(rural_zones), size=min(3, len(rural_zones)), replace=False)
    required = {p.zone for p in places if p.zone.startswith("QN")}
    required |= {rural_zones[int(i)] for i in due}
    return Week(places, teams, travel, value, frozenset(required))


def departement_week(n_places: int = DEP_PLACES, *, seed: int = 0) -> Week:
    """A fictional rural département: 300 communes, 4 car teams with sectors.

    Examples
    --------
    >>> week = departement_week(40)
    >>> len(week.places), len(week.teams), all(t.sector for t in week.teams)
    (40, 4, True)
    """
    rng = np.random.default_rng(seed)
    communes = rng.uniform(0, 100_000, size=(300, 2))
    codes = [f"99{c:03d}" for c in range(300)]
    quarter = (communes[:, 0] >= 50_000).astype(int) + 2 * (communes[:, 1] >= 50_000)
    towns = rng.choice(300, size=40, replace=False)  # bourgs with several places
    places: list[Place] = []
    xy = []
    value = np.zeros((n_places, 5, _SLOTS))
    for i in range(n_places):
        c = int(towns[rng.integers(40)]) if rng.random() < 0.6 else int(rng.integers(300))
        kind = str(rng.choice(_RURAL, p=_RURAL_WEIGHTS))
        rules, duration, profile = _KINDS[kind]
        if kind == "marché":
            rules = [((int(rng.integers(5)),), 480, 780)]
        windows: dict[int, list[tuple[int, int]]] = {}
        for days, a, b in rules:
            for d in days:
                windows.setdefault(d, []).append((a, b))
        priority = float(np.round(rng.uniform(0.5, 3.0), 2))
        point = communes[c] + rng.normal(0, 400, size=2)
        places.append(
            Place(
                f"D{i + 1:03d}",
                f"{kind.capitalize()} {i + 1}",
                kind,
                zone=codes[c],
                x=float(point[0]),
                y=float(point[1]),
                windows={d: tuple(w) for d, w in windows.items()},
                duration=duration,
                priority=priority,
            )
        )
        xy.append(point)
        noise = rng.uniform(0.8, 1.2, size=(5, _SLOTS))
        value[i] = np.round(priority * np.array(profile)[None, :] * _DAY_FACTOR[:, None] * noise, 3)
    teams = []
    for q in range(4):
        members = frozenset(code for code, k in zip(codes, quarter, strict=True) if k == q)
        centre = (25_000.0 + 50_000.0 * (q % 2), 25_000.0 + 50_000.0 * (q // 2))
        teams.append(
            Team(
                f"Secteur {q + 1}",
                "voiture",
                size=2,
                base=centre,
                availability=dict.fromkeys(
                    range(5), ((9 * 60, 12 * 60 + 30), (13 * 60 + 30, 17 * 60))
                ),
                max_hours=28,
                sector=members,
            )
        )
    points = np.vstack([np.array(xy), np.array([t.base for t in teams], dtype=np.float64)])
    travel = {"voiture": travel_time_matrix(points, "voiture")}
    with_places = sorted({p.zone for p in places})
    required = frozenset(z for k, z in enumerate(with_places) if k % 4 == 0)
    return Week(places, teams, travel, value, required, dict.fromkeys(with_places, 1))


def departement_benchmark(
    *,
    n_places: int = DEP_PLACES,
    budget_s: float = DEP_BUDGET_S,
    long_s: float = LONG_S_FULL,
    seed: int = 0,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The département-wide week within ``budget_s``, against ``long_s`` on every node.

    Returns ``dep_time_s``, ``dep_objective``, ``dep_long_objective``,
    ``dep_objective_share`` (goal ≥ 0.95), ``dep_gap_pct``, ``dep_time_ratio``, visits,
    missed zones, and ``dep_kept_share`` (the week planned again from the first plan,
    nothing changed: share of its visits that keep place, weekday and hour, goal ≥ 0.8).
    """
    week = departement_week(n_places, seed=seed)

    def plan(limit: float, **options: Any) -> Any:
        return plan_from_matrix(
            week.places,
            week.teams,
            week.travel,
            value=week.value,
            required_zones=week.required_zones,
            zone_caps=week.zone_caps,
            time_limit=limit,
            **options,
        )

    say(f"Département : {n_places} lieux, 4 équipes à secteur, en {budget_s:.0f} s…")
    first = plan(budget_s - _MARGIN_S)
    say(f"Département : recherche longue de {long_s:.0f} s sur tous les nœuds…")
    long = plan(long_s, max_candidates=None)
    say("Département : la même semaine replanifiée depuis le premier plan…")
    again = plan(budget_s - _MARGIN_S, previous=first.visits)
    best = max(first.objective, long.objective)
    share = first.objective / best if best > 0 else 1.0
    kept = kept_visits(first.visits, again.visits)
    return {
        "dep_places": n_places,
        "dep_candidates": int(first.stats["candidates"]),
        "dep_time_s": float(first.stats["time_s"]),
        "dep_objective": round(first.objective, 3),
        "dep_visits": len(first.visits),
        "dep_missed_zones": int(first.stats["missed_zones"]),
        "dep_long_time_s": float(long.stats["time_s"]),
        "dep_long_objective": round(long.objective, 3),
        "dep_long_missed_zones": int(long.stats["missed_zones"]),
        "dep_objective_share": round(share, 4),
        "dep_gap_pct": round(100 * (1 - share), 2),
        "dep_time_ratio": round(float(long.stats["time_s"]) / max(first.stats["time_s"], 1e-9), 1),
        "dep_again_time_s": float(again.stats["time_s"]),
        "dep_again_visits": len(again.visits),
        "dep_kept_share": round(kept / len(again.visits), 4) if again.visits else 1.0,
    }


def planning_benchmark(
    *,
    sizes: Sequence[int] = SIZES,
    budget_s: float = BUDGET_S,
    long_s: float = LONG_S_FULL,
    all_candidates: bool = True,
    seed: int = 0,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Plan within ``budget_s`` and with ``long_s`` for each size; compare objectives.

    The plan gets ``budget_s`` minus a small margin (the time limit covers model building
    and search; Python's own overhead comes on top). The long search runs the same planner
    with ``long_s``; with ``all_candidates`` a second long search also gives the solver
    every candidate node (``max_candidates=None``), to check that the candidate selection
    does not lose the best plans. The reference is the best objective of the run.

    Returns
    -------
    dict
        Per size ``n``: ``p{n}_time_s``, ``p{n}_objective``, ``p{n}_long_time_s``,
        ``p{n}_long_objective`` (and ``p{n}_long_all_…``), ``p{n}_best_objective``,
        ``p{n}_objective_share`` (plan / best, goal ≥ 0.95), ``p{n}_gap_pct``,
        ``p{n}_time_ratio`` (long time / plan time), visits, candidate nodes and missed
        coverage of every plan.
    """
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "budget_s": budget_s,
        "long_s": long_s,
        "sizes": list(sizes),
    }
    # (label, time limit, options): the planner's defaults, then every candidate node.
    runs: list[tuple[str, float, dict[str, Any]]] = [
        ("", budget_s - _MARGIN_S, {}),
        ("long_", long_s, {}),
    ]
    if all_candidates:
        runs.append(("long_all_", long_s, {"max_candidates": None}))
    for n in sizes:
        week = synthetic_week(n, seed=seed)
        objectives = []
        for label, limit, options in runs:
            say(f"Planification de {n} lieux en {limit:.0f} s ({label or 'plan'})…")
            plan = plan_from_matrix(
                week.places,
                week.teams,
                week.travel,
                value=week.value,
                required_zones=week.required_zones,
                time_limit=limit,
                **options,
            )
            objectives.append(plan.objective)
            result[f"p{n}_{label}time_s"] = float(plan.stats["time_s"])
            result[f"p{n}_{label}objective"] = round(plan.objective, 3)
            result[f"p{n}_{label}visits"] = len(plan.visits)
            result[f"p{n}_{label}candidates"] = int(plan.stats["candidates"])
            result[f"p{n}_{label}missed_zones"] = int(plan.stats["missed_zones"])
            result[f"p{n}_{label}build_s"] = float(plan.stats.get("build_s", 0.0))
        best = max(objectives)
        ratio = objectives[0] / best if best > 0 else 1.0
        result[f"p{n}_best_objective"] = round(best, 3)
        result[f"p{n}_objective_share"] = round(ratio, 4)
        result[f"p{n}_gap_pct"] = round(100 * (1 - ratio), 2)
        result[f"p{n}_time_ratio"] = round(
            result[f"p{n}_long_time_s"] / max(result[f"p{n}_time_s"], 1e-9), 1
        )
    return result


def run(
    *, quick: bool, out_dir: Path | None = None, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """The planner benchmark, in full or quick mode.

    Quick mode shortens the long searches to 30 s and skips the all-candidates search of
    the synthetic sizes (about 3 minutes; the full run about 38). Both add the
    département-wide week (:func:`departement_benchmark`), as ``territory bench`` does.

    Writes ``bench_planning.json`` in ``out_dir`` when given.
    """
    long_s = LONG_S_QUICK if quick else LONG_S_FULL
    result = planning_benchmark(long_s=long_s, all_candidates=not quick, say=say)
    result |= departement_benchmark(long_s=long_s, say=say)
    result["quick"] = quick
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "bench_planning.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


def table(result: dict[str, Any]) -> str:
    """A Markdown table of the figures (in French, like the other benchmark tables)."""
    long = f"{result['long_s']:.0f} s"
    lines = [
        (
            f"| lieux | nœuds | plan : temps (s) | plan : objectif | {long} : objectif | "
            f"{long}, tous nœuds : objectif | écart au meilleur | zones manquées |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in result["sizes"]:
        every = result.get(f"p{n}_long_all_objective")
        lines.append(
            f"| {n} | {result[f'p{n}_candidates']} | {result[f'p{n}_time_s']:.1f} | "
            f"{result[f'p{n}_objective']:.1f} | {result[f'p{n}_long_objective']:.1f} | "
            f"{'—' if every is None else f'{every:.1f}'} | {result[f'p{n}_gap_pct']:.1f} % | "
            f"{result[f'p{n}_missed_zones']} |"
        )
    if "dep_time_s" in result:
        lines += [
            "",
            (
                f"| département | nœuds | plan : temps (s) | plan : objectif | {long} : objectif | "
                "écart | zones manquées | replanifiée : visites gardées |"
            ),
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            (
                f"| {result['dep_places']} lieux, 4 secteurs | {result['dep_candidates']} | "
                f"{result['dep_time_s']:.1f} | {result['dep_objective']:.1f} | "
                f"{result['dep_long_objective']:.1f} | {result['dep_gap_pct']:.1f} % | "
                f"{result['dep_missed_zones']} | {100 * result['dep_kept_share']:.0f} % |"
            ),
        ]
    return "\n".join(lines).replace(".", ",")


if __name__ == "__main__":  # pragma: no cover
    import sys

    figures = run(quick="--quick" in sys.argv)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    print(table(figures))
