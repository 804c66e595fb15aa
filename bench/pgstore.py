"""Benchmark of the two storage engines side by side: the file and the server (issue #24).

* **Bulk load**: a million stored contacts (the demo's rows, repeated) appended through
  ``Workspace.appending`` — the step an import ends with — into a GeoPackage file and into
  a PostgreSQL schema (``COPY``, the counts per group kept by the statement triggers), in
  chunks of 100,000 rows, one transaction. Budget on the server: 10 s.
* **Map view**: the map page (AppTest, as :func:`bench.map_page.map_page_benchmark`
  measures it) on the département-scale demo, from the file and from the same workspace
  moved onto the server (``territory db import``'s code): cold run and median rerun.

The server is ``TERRITORY_BENCH_DATABASE_URL`` (else ``TERRITORY_TEST_DATABASE_URL``), a
role allowed to create databases: each run works in a database of its own, dropped after.
Without a server the section says so and measures nothing.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from territory.settings import Settings

__all__ = ["BULK_BUDGET_S", "engines_benchmark", "engines_table"]

BULK_BUDGET_S = 10.0
"""Issue #24's budget for a million contacts loaded into PostGIS."""
_CHUNK = 100_000


def engines_benchmark(
    *,
    settings: Settings,
    rows: int = 1_000_000,
    map_scale: str | None = "departement",
    repeats: int = 3,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Bulk load and map view, file against server (keys ``*_file`` / ``*_server``)."""
    admin = os.environ.get("TERRITORY_BENCH_DATABASE_URL") or os.environ.get(
        "TERRITORY_TEST_DATABASE_URL", ""
    )
    if not admin:
        return {"skipped": "aucun serveur PostgreSQL (TERRITORY_BENCH_DATABASE_URL)"}
    from territory.demo import build_demo_workspace

    out: dict[str, Any] = {"rows": rows}
    with tempfile.TemporaryDirectory(prefix="territory-bench-pg-") as tmp, _database(admin) as url:
        demo = Path(tmp) / "demo.gpkg"
        build_demo_workspace(demo, settings=settings)
        say(f"Chargement de {rows:,} contacts : fichier puis serveur…".replace(",", " "))
        out |= _bulk(demo, Path(tmp) / "bulk.gpkg", url, rows)
        if map_scale:
            say(f"Carte « {map_scale} » : fichier puis serveur…")
            path = Path(tmp) / f"{map_scale}.gpkg"
            build_demo_workspace(path, settings=settings, scale=map_scale)
            out |= _map_view(path, url, settings=settings, repeats=repeats)
            out["map_scale"] = map_scale
    return out


@contextlib.contextmanager
def _database(admin: str) -> Iterator[str]:
    """A fresh database with PostGIS on the server of ``admin``, dropped at the end."""
    from territory import _pg, _pgstore

    name = f"territory_bench_{uuid.uuid4().hex[:8]}"
    with contextlib.closing(_pg.connect(admin, autocommit=True)) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        with contextlib.closing(_pg.connect(url, autocommit=True)) as con:
            con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        yield url
    finally:
        _pgstore.close_idle(url)
        with contextlib.closing(_pg.connect(admin, autocommit=True)) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _bulk(demo: Path, file: Path, url: str, rows: int) -> dict[str, Any]:
    from territory.store import Workspace

    stored = Workspace.open(demo).read_table("contacts")
    frame = pd.concat([stored] * -(-rows // len(stored)), ignore_index=True).iloc[:rows]
    result: dict[str, Any] = {"columns": len(frame.columns)}
    for engine, target in (("file", str(file)), ("server", f"{url}#bulk")):
        ws = Workspace.create(target, name="bulk")
        ws.write_table("contacts", frame.iloc[:0], source="bench", vintage="")
        server = url if engine == "server" else None
        start, cpu = time.perf_counter(), _cpu_s(server)
        with ws.appending("contacts", schema=frame.iloc[:0], source="bench") as table:
            for at in range(0, rows, _CHUNK):
                table.append(frame.iloc[at : at + _CHUNK])
        result[f"bulk_s_{engine}"] = time.perf_counter() - start
        result[f"bulk_cpu_s_{engine}"] = _cpu_s(server) - cpu
        counts = ws.group_counts("contacts")
        result[f"bulk_rows_{engine}"] = int(counts["n"].sum())
    result["bulk_within_budget"] = result["bulk_s_server"] <= BULK_BUDGET_S
    return result


def _map_view(path: Path, url: str, *, settings: Settings, repeats: int) -> dict[str, Any]:
    """Cold run and median rerun of the map page, from the file then from the server.

    Each engine is measured in a fresh spawned process: nothing read by the other (or by
    the import) is in its caches.
    """
    from bench._common import in_subprocess
    from territory._pgimport import import_file

    del settings  # the page reads its own (TERRITORY_… of the environment)
    report = import_file(path, url, name="carte")
    if not report.ok:
        raise RuntimeError("import du territoire sur le serveur : des tables diffèrent")
    result: dict[str, Any] = {}
    for engine, workspace, server in (("file", str(path), None), ("server", "carte", url)):
        figures = in_subprocess(_page_times, (workspace, server, repeats), timeout=None) or {}
        result[f"map_cold_s_{engine}"] = figures["cold"]
        result[f"map_cold_cpu_s_{engine}"] = figures["cold_cpu"]
        result[f"map_rerun_s_{engine}"] = figures["rerun"]
    return result


def _page_times(workspace: str, server: str | None, repeats: int) -> dict[str, float]:
    """The map page's cold run (wall and CPU) and median rerun.

    ``server``: ``TERRITORY_DATABASE_URL``; else the file, whose folder is made the app's
    folder of workspaces (the app opens no file outside it: measured without it, the page
    stopped on its refusal and drew no map). The page must draw its map without an error.
    """
    from streamlit.testing.v1 import AppTest

    from bench._browser import ROOT
    from territory.ui.state import Keys

    folder = None if server else str(Path(workspace).parent)
    with (
        _environment("TERRITORY_DATABASE_URL", server),
        _environment("TERRITORY_WORKSPACES_DIR", folder),
    ):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.session_state[Keys.WORKSPACE] = workspace
        start, cpu = time.perf_counter(), _cpu_s(server)
        at.run()
        at.switch_page("app_pages/carte.py")
        at.run()
        cold, cold_cpu = time.perf_counter() - start, _cpu_s(server) - cpu
        drawn = [
            e
            for e in at.main.get("component_instance")
            if "streamlit_folium" in e.proto.component_name
        ]
        if at.error or at.exception or not drawn:
            raise RuntimeError(f"carte : pas de carte ({[e.value for e in at.error]})")
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"carte : {at.exception[0].message}")
    return {"cold": cold, "cold_cpu": cold_cpu, "rerun": statistics.median(times)}


def _cpu_s(server: str | None) -> float:
    """CPU seconds of this process, plus the server's processes serving ``server``' database.

    The server's share is read from ``/proc`` (the server on this machine): the backends
    connected to the database now (the app's pool keeps its connections open).
    """
    total = time.process_time()
    if not server or not Path("/proc").is_dir():
        return total
    from territory import _pg

    database = server.rsplit("/", 1)[1].split("?")[0]
    with contextlib.closing(_pg.connect(server, autocommit=True)) as con:
        pids = con.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    tick = os.sysconf("SC_CLK_TCK")
    for (pid,) in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextlib.contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    before = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def engines_table(e: dict[str, Any]) -> list[str]:
    """Lines of the text report."""
    if "skipped" in e:
        return [f"Moteurs fichier / serveur : non mesurés ({e['skipped']})"]
    held = "tenu" if e["bulk_within_budget"] else "DÉPASSÉ"
    bulk = (
        f"Chargement de {e['rows']:,} contacts ({e['columns']} colonnes) : fichier "
        f"{e['bulk_s_file']:.1f} s, serveur (COPY) {e['bulk_s_server']:.1f} s "
        f"(budget {BULK_BUDGET_S:.0f} s : {held})"
    )
    lines = [bulk]
    if "bulk_cpu_s_server" in e:
        lines.append(
            f"  temps CPU : fichier {e['bulk_cpu_s_file']:.1f} s, serveur "
            f"{e['bulk_cpu_s_server']:.1f} s (client et processus du serveur)"
        )
    if "map_scale" in e:
        lines.append(
            f"Carte « {e['map_scale']} » : premier affichage fichier {e['map_cold_s_file']:.1f} s, "
            f"serveur {e['map_cold_s_server']:.1f} s ; réaffichage fichier "
            f"{e['map_rerun_s_file']:.2f} s, serveur {e['map_rerun_s_server']:.2f} s"
        )
        if "map_cold_cpu_s_server" in e:
            lines.append(
                f"  temps CPU du premier affichage : fichier {e['map_cold_cpu_s_file']:.1f} s, "
                f"serveur {e['map_cold_cpu_s_server']:.1f} s (client et processus du serveur)"
            )
    return [line.replace(",", " ") for line in lines]
