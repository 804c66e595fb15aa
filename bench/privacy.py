"""Benchmark of the protection step (privacy v2): ours against the tree before it.

Measured on a workspace with 1 M contacts (the département-scale demo), each figure in a
freshly spawned Python process (imports done, nothing cached), for this checkout and for
a previous commit checked out beside it (``git worktree``), in the same run:

* **density with one filter**: :func:`territory.privacy.published.density_by` on the
  status filter (every value), from the file — budget: within 1.5× of the previous tree;
* **when, per zone**: :func:`territory.analysis.slots.when` on ``zones`` communes in one
  process (the CLI's work for each); the first zone, which reads the contacts and
  protects the territory's profile, and the median of the others — budget 0.5 s per
  zone. Since issue #20 (a zone's profile shrunk towards its commune, EPCI and
  territory, each protected) also the CPU time of the others (``when_next_cpu_s``),
  which a machine shared with other processes inflates less than the wall time.

Keys containing ``ratio`` are previous / ours (≥ 1: ours is faster).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PREVIOUS = "db88916"  # the last commit before privacy v2's protection step
DENSITY_BUDGET_RATIO = 1.5
WHEN_BUDGET_S = 0.5

_PROBE = """
import json, sys, time
from pathlib import Path
from territory import Settings
from territory.store import Workspace
from territory.privacy import published
from territory.analysis.slots import when
path, secret, zones = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
settings = Settings(secret_path=Path(secret))
ws = Workspace.open(path)
start = time.perf_counter()
published.density_by(ws, "statut", parts=None, settings=settings)
density = time.perf_counter() - start
times, cpu = [], []
for code in zones:
    t, c = time.perf_counter(), time.process_time()
    when(ws, code, settings=settings)
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
print(json.dumps({"density_by_s": density, "when_s": times, "when_cpu_s": cpu}))
"""


def privacy_benchmark(
    workspace: Path,
    *,
    secret: Path,
    zones: int = 5,
    previous: str | None = PREVIOUS,
    repeats: int = 3,
) -> dict[str, Any]:
    """Figures of this module's docstring; ``previous=None`` measures ours only."""
    import sqlite3

    with sqlite3.connect(f"file:{workspace}?mode=ro", uri=True) as con:
        codes = [
            r[0]
            for r in con.execute(
                "SELECT commune FROM contacts GROUP BY commune ORDER BY count(*) DESC LIMIT ?",
                (zones,),
            )
        ]
    checkout = Path(__file__).resolve().parents[1]
    out: dict[str, Any] = {"contacts": _count(workspace), "zones": len(codes)}
    trees = {"ours": checkout / "src"}
    with tempfile.TemporaryDirectory(prefix="territory-bench-previous-") as tmp:
        before = Path(tmp) / "tree"
        if previous is not None:
            added = subprocess.run(
                ["git", "-C", str(checkout), "worktree", "add", "--detach", str(before), previous],
                check=False,
                capture_output=True,
            )
            if added.returncode == 0:
                trees["previous"] = before / "src"
            else:  # a shallow clone, or no git: ours only
                out["previous_missing"] = previous
                previous = None
        try:
            for name, src in trees.items():
                runs = [
                    _probe(src, workspace, secret, codes, copy=Path(tmp)) for _ in range(repeats)
                ]
                out[f"{name}_density_by_s"] = statistics.median(r["density_by_s"] for r in runs)
                out[f"{name}_when_first_s"] = statistics.median(r["when_s"][0] for r in runs)
                out[f"{name}_when_next_s"] = statistics.median(
                    statistics.median(r["when_s"][1:]) for r in runs
                )
                if all("when_cpu_s" in r for r in runs):  # trees before issue #20 item 5
                    out[f"{name}_when_next_cpu_s"] = statistics.median(
                        statistics.median(r["when_cpu_s"][1:]) for r in runs
                    )
        finally:
            if previous is not None:
                subprocess.run(
                    ["git", "-C", str(checkout), "worktree", "remove", "--force", str(before)],
                    check=False,
                    capture_output=True,
                )
    if "previous_density_by_s" in out:
        out["density_by_ratio"] = out["previous_density_by_s"] / out["ours_density_by_s"]
        out["density_by_met"] = out["ours_density_by_s"] <= (
            DENSITY_BUDGET_RATIO * out["previous_density_by_s"]
        )
        out["when_ratio"] = out["previous_when_next_s"] / out["ours_when_next_s"]
    out["when_met"] = out["ours_when_next_s"] <= WHEN_BUDGET_S
    return out


def table(figures: dict[str, Any]) -> str:
    """A short French summary of :func:`privacy_benchmark`."""
    lines = [f"Protection des contacts ({figures['contacts']:,} contacts, nous / arbre d'avant)"]
    for key, label in (
        ("density_by_s", "densité filtrée, à froid (s)"),
        ("when_first_s", "« quand », première zone (s)"),
        ("when_next_s", "« quand », zones suivantes (s)"),
        ("when_next_cpu_s", "« quand », zones suivantes, temps CPU (s)"),
    ):
        before = figures.get(f"previous_{key}")
        ours = figures.get(f"ours_{key}")
        if ours is None:
            continue
        shown = "—" if before is None else f"{before:.2f}"
        lines.append(f"  {label} : {ours:.2f} / {shown}")
    return "\n".join(lines)


def _probe(src: Path, workspace: Path, secret: Path, codes: list[str], *, copy: Path) -> Any:
    """One cold process on a copy of the workspace (a tree may migrate the file it reads)."""
    import shutil

    private = copy / f"w-{src.parent.name}.gpkg"
    shutil.copyfile(workspace, private)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(private), str(secret), ",".join(codes)],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _count(workspace: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{workspace}?mode=ro", uri=True) as con:
        return int(con.execute("SELECT count(*) FROM contacts").fetchone()[0])


if __name__ == "__main__":
    print(json.dumps(privacy_benchmark(Path(sys.argv[1]), secret=Path(sys.argv[2])), indent=2))
