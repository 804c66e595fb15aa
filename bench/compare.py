"""Benchmark of the steering committee's comparison (issue #22): 12 territories, 1 M contacts.

On the département demo (:meth:`territory.demo.DemoScale.departement`: 1,550 communes,
1 M contacts, and the demo's parcours export), :func:`prepare_programme` defines **12
territories** (the département's EPCIs dealt into 12 hubs, by size) and a programme over
them with targets per hub and year. Then, in a fresh process
(:func:`bench._common.in_subprocess`: imports done, nothing cached):

* ``compare_first_s``: :func:`territory.programme.compare` the first time (the contacts
  and parcours read from the file, every table protected, the targets' periods too), and
  ``compare_first_cpu_s`` its CPU time (less inflated by a busy machine);
* ``compare_warm_s``: the median of the same call again (a rerun of the « Comparer »
  page: the cached comparison, its tables copied) — budget :data:`WARM_BUDGET_S`, so
  that the page reruns within 1 s with its layout;
* ``compare_period_s``: another period the first time (a quarter), the contacts already
  read.

Run it with ``python -m bench.compare WORKSPACE`` on a département demo built by
``territory demo --scale departement``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench._common import in_subprocess

PROGRAMME = "Programme banc (12 pôles)"
HUBS = 12
WARM_BUDGET_S = 0.5
"""The warm comparison's budget: half of the page's 1-s rerun, the rest for its layout."""


def prepare_programme(workspace: Path, *, hubs: int = HUBS) -> list[str]:
    """Define ``hubs`` hubs (EPCIs dealt by size) and the programme; return their names."""
    from territory.programme import Target, define_programme, list_programmes
    from territory.store import Workspace
    from territory.territories import define_territory, list_territories

    ws = Workspace.open(workspace)
    names = [f"Pôle {i + 1:02d}" for i in range(hubs)]
    if any(p.name == PROGRAMME for p in list_programmes(ws)):
        return names
    communes = ws.read_table("communes", columns=["code", "epci"]).dropna()
    sizes = communes["epci"].astype(str).value_counts()
    if len(sizes) < hubs:
        raise ValueError(f"{len(sizes)} EPCI pour {hubs} pôles")
    dealt: list[list[str]] = [[] for _ in range(hubs)]
    for position, siren in enumerate(sizes.index):  # snake order: hubs of similar size
        turn, place = divmod(position, hubs)
        dealt[place if turn % 2 == 0 else hubs - 1 - place].append(str(siren))
    known = {t.name for t in list_territories(ws)}
    for name, epci in zip(names, dealt, strict=True):
        if name not in known:
            define_territory(ws, name, epci=epci)
    targets = [
        Target(name, step, year, value)
        for name in names
        for year in ("2025", "2026")
        for step, value in (("contact", 5_000), ("entrée en parcours", 1_000), ("sortie", 300))
    ]
    define_programme(
        ws, PROGRAMME, territories=names, start=date(2025, 1, 1), end=date(2026, 12, 31),
        targets=targets,
    )  # fmt: skip
    return names


def compare_benchmark(
    workspace: Path, *, secret: Path, repeats: int = 5, hubs: int = HUBS
) -> dict[str, Any]:
    """The figures of this module's docstring (the programme of ``hubs`` prepared first)."""
    prepare_programme(workspace, hubs=hubs)
    figures = in_subprocess(_measure, (str(workspace), str(secret), repeats), timeout=1800)
    if figures is None:
        raise RuntimeError("la comparaison a dépassé 30 minutes")
    figures["hubs"] = hubs
    figures["compare_warm_met"] = figures["compare_warm_s"] <= WARM_BUDGET_S
    return figures


def _measure(workspace: str, secret: str, repeats: int) -> dict[str, Any]:
    from territory import Settings
    from territory.privacy import raw
    from territory.programme import compare
    from territory.store import Workspace

    settings = Settings(secret_path=Path(secret))
    ws = Workspace.open(Path(workspace))
    contacts = int(ws.query(f"SELECT count(*) AS n FROM {raw.CONTACTS}")["n"].iloc[0])
    start, cpu = time.perf_counter(), time.process_time()
    first = compare(ws, PROGRAMME, settings=settings)
    first_s = time.perf_counter() - start
    first_cpu_s = time.process_time() - cpu  # what a busy shared machine inflates less
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        compare(ws, PROGRAMME, settings=settings)
        warm.append(time.perf_counter() - start)
    start = time.perf_counter()
    compare(ws, PROGRAMME, period="2026-T2", settings=settings)
    period_s = time.perf_counter() - start
    return {
        "contacts": contacts,
        "compare_first_s": first_s,
        "compare_first_cpu_s": first_cpu_s,
        "compare_warm_s": statistics.median(warm),
        "compare_period_s": period_s,
        "funnel_rows": len(first.funnel),
        "hidden_values": int(first.funnel["Personnes"].isna().sum()),
    }


def table(figures: dict[str, Any]) -> str:
    """French summary lines of :func:`compare_benchmark`."""
    met = "oui" if figures.get("compare_warm_met") else "non"
    return "\n".join(
        [
            f"| comparaison de {figures['hubs']} pôles, {figures['contacts']:,} contacts | "
            "valeur |".replace(",", " "),
            "|---|---|",
            (
                f"| premier calcul | {figures['compare_first_s']:.2f} s "
                f"(CPU {figures.get('compare_first_cpu_s', float('nan')):.2f} s) |"
            ),
            (
                f"| relance (page) | {figures['compare_warm_s'] * 1000:.0f} ms "
                f"(budget {WARM_BUDGET_S * 1000:.0f} ms : {met}) |"
            ),
            f"| autre période, premier calcul | {figures['compare_period_s']:.2f} s |",
        ]
    )


if __name__ == "__main__":  # pragma: no cover
    from territory import Settings

    result = compare_benchmark(Path(sys.argv[1]), secret=Settings.from_env().secret_path)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(table(result))
