"""Benchmarks of the map page, ours against the naive way, measured in the same run.

``territory bench`` builds synthetic territories with the demo generator and measures:

* **payload**: bytes the map component sends to the browser;
* **rerun**: server time of a page rerun that does not change the map (Streamlit's
  ``AppTest`` runs the real page: caches, ``st_folium`` serialisation and all);
* **first paint**: from navigation to the first vector shape drawn by Leaflet in
  headless Chromium (needs the ``test`` extra and Debian's ``chromium``).

The naive way is what a first prototype does: a page that reads the raw layers and
draws each with ``folium.GeoJson`` on every rerun, with no cache and no simplification.
Every comparison has a key containing ``ratio`` (naive / ours: ≥ 1 means ours is better).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from territory._browser import CHROMIUM_ARGS, ROOT, chromium_path, streamlit_server
from territory.settings import Settings

NAIVE_PAGE = textwrap.dedent('''
    """The naive map page: raw layers, folium.GeoJson each, rebuilt on every rerun."""
    import folium
    import pyogrio
    import streamlit as st
    from streamlit_folium import st_folium

    m = folium.Map(location=[46.5, 2.5], zoom_start=10)
    for path, name in {layers!r}:
        folium.GeoJson(pyogrio.read_dataframe(path, layer=name), name=name).add_to(m)
    folium.LayerControl().add_to(m)
    st_folium(m, key="naive", height=620)
''')


def map_page_benchmark(
    workspace: Path, *, settings: Settings, repeats: int = 5, browser: bool = True
) -> dict[str, Any]:
    """Payload, rerun time and first paint of the map page, ours and naive, on ``workspace``."""
    from territory.store import Workspace
    from territory.views import density_layer

    ws = Workspace.open(workspace)
    names = [n for n in ("communes", "qpv", "partners", "stops", "service_gaps") if ws.has(n)]
    with tempfile.TemporaryDirectory(prefix="territory-bench-") as tmp:
        # The naive page draws the same layers, the protected density included, as they are.
        density = Path(tmp) / "density.gpkg"
        density_layer(ws, settings=settings).to_file(density, layer="density")
        layers = [(str(workspace), n) for n in names] + [(str(density), "density")]
        naive_page = Path(tmp) / "naive.py"
        naive_page.write_text(NAIVE_PAGE.format(layers=layers))
        ours = _apptest_rerun(ROOT / "app.py", workspace, repeats=repeats, page="pages/carte.py")
        naive = _apptest_rerun(naive_page, workspace, repeats=repeats)
    result: dict[str, Any] = {
        "payload_bytes": ours["payload"],
        "payload_bytes_naive": naive["payload"],
        "payload_ratio": naive["payload"] / ours["payload"],
        "cold_run_s": ours["cold"],
        "cold_run_s_naive": naive["cold"],
        "rerun_s": ours["rerun"],
        "rerun_s_naive": naive["rerun"],
        "rerun_ratio": naive["rerun"] / ours["rerun"],
    }
    if browser:
        result.update(_first_paint(workspace, settings=settings))
    return result


def _apptest_rerun(
    script: Path, workspace: Path, *, repeats: int, page: str | None = None
) -> dict[str, float]:
    """Cold run, then the median of ``repeats`` reruns that leave the map unchanged."""
    from streamlit.testing.v1 import AppTest

    from territory.ui.state import Keys

    at = AppTest.from_file(str(script), default_timeout=600)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    start = time.perf_counter()
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    cold = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    if at.exception:
        raise RuntimeError(f"{script.name}: {at.exception[0].message}")
    element = next(
        e for e in at.main.get("component_instance") if "streamlit_folium" in e.proto.component_name
    )
    return {
        "cold": cold,
        "rerun": statistics.median(times),
        "payload": len(element.proto.json_args.encode()),
    }


def _first_paint(workspace: Path, *, settings: Settings, repeats: int = 3) -> dict[str, Any]:
    """Median time to the first Leaflet shape, and Streamlit's own floor on this machine.

    The floor is the first paint of a one-line Streamlit app (a title) measured the same
    way: what no page of any Streamlit app can beat here.
    """
    chromium = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"first_paint_note": "playwright absent (pip install -e '.[test]')"}
    if chromium is None:
        return {"first_paint_note": "chromium absent (apt-get install chromium)"}
    env = {
        "TERRITORY_WORKSPACE": str(workspace),
        "TERRITORY_SECRET_PATH": str(settings.secret_path),
    }

    def shapes(page: Any) -> None:
        frame = page.wait_for_selector(
            'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=120_000
        ).content_frame()
        frame.wait_for_selector(".leaflet-container path.leaflet-interactive", timeout=120_000)

    with tempfile.TemporaryDirectory(prefix="territory-floor-") as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text('import streamlit as st\nst.title("floor")\n')
        with streamlit_server(hello, env=env) as url, sync_playwright() as p:
            floor = _paint_times(
                p,
                chromium,
                f"{url}/",
                lambda page: page.wait_for_selector("h1", timeout=120_000),
                repeats,
            )

    def navigate(page: Any) -> float:
        page.get_by_text("Contacts (protégés)").wait_for(timeout=120_000)
        start = time.perf_counter()
        page.get_by_role("link", name="Carte").first.click()
        shapes(page)
        return time.perf_counter() - start

    with streamlit_server(ROOT / "app.py", env=env) as url, sync_playwright() as p:
        ours = _paint_times(p, chromium, f"{url}/carte", shapes, repeats)
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        clicks = []
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/", wait_until="commit")
            clicks.append(navigate(page))
            page.close()
        browser.close()
    return {
        "first_paint_s": ours,
        "first_paint_streamlit_floor_s": floor,
        "first_paint_above_floor_s": ours - floor,
        "navigation_to_map_s": statistics.median(clicks),
    }


def _paint_times(
    p: Any, chromium: Path, url: str, ready: Callable[[Any], Any], repeats: int
) -> float:
    browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    times = []
    for i in range(repeats + 1):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        ready(page)
        if i:  # the first visit warms the server's caches
            times.append(time.perf_counter() - start)
        page.close()
    browser.close()
    return statistics.median(times)


def run(
    *, quick: bool, settings: Settings, out_dir: Path, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Build the benchmark territories and measure them; write ``bench.json`` in ``out_dir``."""
    from territory.demo import build_demo_workspace

    scales = ["demo"] if quick else ["demo", "departement"]
    results: dict[str, Any] = {"machine": _machine(), "quick": quick, "territories": {}}
    with tempfile.TemporaryDirectory(prefix="territory-bench-") as tmp:
        for scale in scales:
            path = Path(tmp) / f"{scale}.gpkg"
            say(f"Construction du territoire « {scale} »…")
            start = time.perf_counter()
            build_demo_workspace(path, settings=settings, scale=scale)
            build = time.perf_counter() - start
            say(f"Mesure de la page carte « {scale} »…")
            figures = map_page_benchmark(
                path, settings=settings, repeats=3 if quick else 5, browser=True
            )
            results["territories"][scale] = {"build_s": build, **figures}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return results


def table(results: dict[str, Any]) -> str:
    """A Markdown table of the figures (ours, naive, ratio)."""
    lines = ["| territoire | mesure | nous | naïf | ratio |", "|---|---|---:|---:|---:|"]
    for scale, f in results["territories"].items():
        lines.append(
            f"| {scale} | charge utile (Mo) | {f['payload_bytes'] / 1e6:.2f} | "
            f"{f['payload_bytes_naive'] / 1e6:.2f} | {f['payload_ratio']:.1f}× |"
        )
        lines.append(
            f"| {scale} | réexécution sans changement (s) | {f['rerun_s']:.3f} | "
            f"{f['rerun_s_naive']:.3f} | {f['rerun_ratio']:.1f}× |"
        )
        lines.append(
            f"| {scale} | premier affichage (s) | "
            f"{f.get('first_paint_s', float('nan')):.2f} | — | — |"
        )
        lines.append(
            f"| {scale} | depuis l'accueil, clic → carte (s) | "
            f"{f.get('navigation_to_map_s', float('nan')):.2f} | — | — |"
        )
        lines.append(
            f"| {scale} | dont plancher Streamlit (s) | "
            f"{f.get('first_paint_streamlit_floor_s', float('nan')):.2f} | — | — |"
        )
        lines.append(f"| {scale} | construction (s) | {f['build_s']:.1f} | — | — |")
    return "\n".join(lines)


def _machine() -> dict[str, Any]:
    import platform

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
