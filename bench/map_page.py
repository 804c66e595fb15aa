"""Benchmarks of the map page, ours against the naive way, measured in the same run.

``territory bench`` builds synthetic territories with the demo generator and measures:

* **payload**: bytes the map component sends to the browser;
* **rerun**: server time of a page rerun that does not change the map (Streamlit's
  ``AppTest`` runs the real page: caches, ``st_folium`` serialisation and all);
* **first paint**: from navigation to the first vector shape drawn by Leaflet in
  headless Chromium (needs the ``test`` extra and Debian's ``chromium``), ours and the
  naive page's in the same run. The naive page loads Leaflet and folium's other assets
  from CDNs, which an offline machine cannot reach (the map would never start): the
  browser is given Leaflet from ``static/`` for the CDN's Leaflet URLs and an empty answer
  for every other outside asset (jQuery, Bootstrap, fonts), at once. That spares the naive
  page every download, so its time is a lower bound, and the ratio favours it. Its wait is
  capped (:data:`NAIVE_PAINT_CAP_S`): a capped time is a lower bound too
  (``first_paint_naive_capped``);
* **smoothness**: the loaded map panned and zoomed with Chromium's mouse, frame by frame
  (:mod:`bench.smoothness`): the longest frame while dragging, the time to the
  redrawn map after a drag and after a wheel notch, the longest frame of a zoom; ours and
  the naive page's (which returns nothing to the server, so that a pan does not rerun
  it: that favours it);
* **package**: :mod:`bench.package`, the evaluation package of the demo and the
  département (budget 10 s);
* **contacts**, **priorities** and **planner**: :mod:`bench.contacts` (a contact export
  turned into stored rows and protected density, at several sizes), :mod:`bench.priorities`
  (indicators and ranking, cold and when only the weights change) and
  :mod:`bench.planning` (the 10-s plan against the best plan of a longer search, and the
  département-wide week in 15 s against a search on every node).

The naive way is what a first prototype does: a page that reads the raw layers and
draws each with ``folium.GeoJson`` on every rerun, with no cache and no simplification.

:func:`run` measures every section and :func:`table` shows them: ``territory bench``.

Every comparison has a key containing ``ratio`` (naive / ours: ≥ 1 means ours is better).
Scaling: the full run measures the map at three sizes of synthetic territory (the demo,
the département and the region of :class:`territory.demo.DemoScale`); ``scaling`` holds
each figure's growth from one size to the next (``map_growth_region_payload``: payload of
the region over the département's, and ``_naive`` for the naive page's).
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import statistics
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import access_roads as bench_access_roads
from bench import compare as bench_compare
from bench import copil as bench_copil
from bench import hotspots as bench_hotspots
from bench import package as bench_package
from bench import pgstore as bench_pgstore
from bench import planning as bench_planning
from bench import priorities as bench_priorities
from bench import privacy as bench_privacy
from bench import roads as bench_roads
from bench import week as bench_week
from bench._browser import CHROMIUM_ARGS, ROOT, chromium_path, streamlit_server
from bench._common import in_subprocess as _in_subprocess
from bench._common import machine
from bench.contacts import (
    CONTACT_SIZES_FULL,
    CONTACT_SIZES_QUICK,
    contacts_benchmark,
    contacts_table,
)
from bench.smoothness import FIGURES, gestures
from territory.settings import Settings

_LARGER_SCALES = ("departement", "region")
"""Scales measured by the full run after the demo (the demo generator's scale option)."""
_NAIVE_RERUNS = {"demo": 5, "departement": 2, "region": 1}
"""Reruns of the naive page per scale in the full run: one takes about 19 s at
département scale and a minute at the regional one (ours: 5 at every scale)."""
NAIVE_PAINT_CAP_S = 180.0
"""Longest wait for the naive page's first paint; beyond, the cap is its lower bound."""
_MAP_GROWTH = {
    "payload": "payload_bytes",
    "rerun": "rerun_s",
    "first_paint": "first_paint_s",
}

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
    st_folium(m, key="naive", height=620, returned_objects=[])
''')


def map_page_benchmark(
    workspace: Path,
    *,
    settings: Settings,
    repeats: int = 5,
    naive_repeats: int | None = None,
    browser: bool = True,
    naive_paint: bool = True,
    paint_repeats: int = 5,
    naive_paint_repeats: int = 1,
    naive_paint_cap_s: float = NAIVE_PAINT_CAP_S,
) -> dict[str, Any]:
    """Payload, rerun time and first paint of the map page, ours and naive, on ``workspace``.

    Parameters
    ----------
    workspace
        The workspace to show.
    settings
        Gives the secret (the density's protection).
    repeats, naive_repeats
        Reruns of our page and of the naive one (``repeats`` when omitted); medians kept.
    browser
        Also measure the first paint in headless Chromium (skipped with a note when
        Chromium or Playwright is absent).
    naive_paint
        With ``browser``, the naive page's first paint too.
    paint_repeats, naive_paint_repeats
        Page loads measured, ours (after a warm-up load that fills the caches) and the
        naive page's (after a warm-up load when more than one is asked: the naive page
        has no cache to warm, only its imports).
    naive_paint_cap_s
        Longest wait for one naive load; past it, the naive time is the cap and
        ``first_paint_naive_capped`` is set.
    """
    from territory.store import Workspace
    from territory.views import density_layer

    ws = Workspace.open(workspace)
    names = [n for n in ("communes", "qpv", "partners", "stops", "service_gaps") if ws.has(n)]
    counts = ws.layers()
    result: dict[str, Any] = {
        "communes": counts["communes"].count if "communes" in counts else 0,
        "qpv": counts["qpv"].count if "qpv" in counts else 0,
    }
    with tempfile.TemporaryDirectory(prefix="territory-bench-") as tmp:
        # The naive page draws the same layers, the protected density included, as they are.
        density = Path(tmp) / "density.gpkg"
        density_layer(ws, settings=settings).to_file(density, layer="density")
        layers = [(str(workspace), n) for n in names] + [(str(density), "density")]
        naive_page = Path(tmp) / "naive.py"
        naive_page.write_text(NAIVE_PAGE.format(layers=layers))
        ours = _apptest_rerun(
            ROOT / "app.py", workspace, repeats=repeats, page="app_pages/carte.py"
        )
        naive = _apptest_rerun(
            naive_page, workspace, repeats=repeats if naive_repeats is None else naive_repeats
        )
        # In a fresh process: this one now holds the AppTest runs' caches, and its garbage
        # collections slowed the browser driver by 0.2-0.3 s a load.
        paint = (
            _in_subprocess(
                functools.partial(
                    _first_paint,
                    workspace,
                    settings=settings,
                    repeats=paint_repeats,
                    naive_page=naive_page if naive_paint else None,
                    naive_repeats=naive_paint_repeats,
                    naive_cap_s=naive_paint_cap_s,
                ),
                (),
                timeout=None,
            )
            if browser
            else {}
        )
    result.update(
        {
            "payload_bytes": ours["payload"],
            "payload_bytes_naive": naive["payload"],
            "payload_ratio": naive["payload"] / ours["payload"],
            "cold_run_s": ours["cold"],
            "cold_run_s_naive": naive["cold"],
            "rerun_s": ours["rerun"],
            "rerun_s_naive": naive["rerun"],
            "rerun_ratio": naive["rerun"] / ours["rerun"],
        }
    )
    result.update(paint or {})  # None only past a timeout, and there is none
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


def _first_paint(
    workspace: Path,
    *,
    settings: Settings,
    repeats: int = 3,
    naive_page: Path | None = None,
    naive_repeats: int = 1,
    naive_cap_s: float = NAIVE_PAINT_CAP_S,
    gesture_repeats: int = 2,
) -> dict[str, Any]:
    """Median time to the first Leaflet shape, ours and naive, and Streamlit's own floor.

    The floor is the first paint of a one-line Streamlit app (a title) measured the same
    way: what no page of any Streamlit app can beat here. ``naive_page`` (a Streamlit
    script) is measured in the same run when given, with folium's CDN assets served by
    :func:`_offline_cdn`, each load waited for at most ``naive_cap_s``.

    Then the map is panned and zoomed (:mod:`bench.smoothness`) on one more
    load: ours ``gesture_repeats`` times each way, the naive page's once (when its first
    paint was not capped), each of its gestures waited for at most ``naive_cap_s``.
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
        "TERRITORY_WORKSPACES_DIR": str(Path(workspace).parent),
        "TERRITORY_SECRET_PATH": str(settings.secret_path),
    }

    with tempfile.TemporaryDirectory(prefix="territory-floor-") as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text('import streamlit as st\nst.title("floor")\n')
        with streamlit_server(hello, env=env) as url, sync_playwright() as p:
            floor, _ = _paint_times(
                p,
                chromium,
                f"{url}/",
                lambda page, timeout_ms: page.wait_for_selector("h1", timeout=timeout_ms),
                repeats,
            )

    def navigate(page: Any) -> float:
        page.get_by_text("Contacts (protégés)").wait_for(timeout=120_000)
        start = time.perf_counter()
        page.get_by_role("link", name="Carte").first.click()
        _leaflet_shape(page, 120_000)
        return time.perf_counter() - start

    with streamlit_server(ROOT / "app.py", env=env) as url, sync_playwright() as p:
        ours, _ = _paint_times(p, chromium, f"{url}/carte", _leaflet_shape, repeats)
        smooth = _smoothness(p, chromium, f"{url}/carte", repeats=gesture_repeats)
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        clicks = []
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/", wait_until="commit")
            clicks.append(navigate(page))
            page.close()
        browser.close()
    result: dict[str, Any] = {
        "first_paint_s": ours,
        "first_paint_streamlit_floor_s": floor,
        "first_paint_above_floor_s": ours - floor,
        "navigation_to_map_s": statistics.median(clicks),
        **smooth,
    }
    if naive_page is not None:
        with streamlit_server(naive_page, env=env) as url, sync_playwright() as p:
            naive, capped = _paint_times(
                p,
                chromium,
                f"{url}/",
                _leaflet_shape,
                naive_repeats,
                warm_up=naive_repeats > 1,
                cap_s=naive_cap_s,
                offline_cdn=True,
            )
            if not capped:  # a page that never painted in time cannot be panned either
                naive_smooth = _smoothness(
                    p, chromium, f"{url}/", repeats=1, offline_cdn=True, timeout_s=naive_cap_s
                )
        result["first_paint_s_naive"] = naive
        result["first_paint_ratio"] = naive / ours
        if capped:
            result["first_paint_naive_capped"] = True
        else:
            for name in FIGURES:
                result[f"{name}_naive"] = naive_smooth[name]
                result[name.removesuffix("_s") + "_ratio"] = naive_smooth[name] / smooth[name]
            if naive_smooth.get("gestures_capped"):
                result["gestures_naive_capped"] = True
    return result


def _leaflet_shape(page: Any, timeout_ms: float) -> Any:
    """Wait for the map component's frame, then for its first interactive vector shape.

    Returns the frame (a Playwright ``Frame``).
    """
    start = time.perf_counter()
    frame = page.wait_for_selector(
        'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=timeout_ms
    ).content_frame()
    left = max(1.0, timeout_ms - 1000 * (time.perf_counter() - start))
    frame.wait_for_selector(".leaflet-container path.leaflet-interactive", timeout=left)
    return frame


def _smoothness(
    p: Any,
    chromium: Path,
    url: str,
    *,
    repeats: int,
    offline_cdn: bool = False,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Pan and zoom figures (:func:`bench.smoothness.gestures`) on a new load of ``url``.

    ``timeout_s`` bounds the load and each gesture; ``offline_cdn`` as in :func:`_paint_times`.
    """
    browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        if offline_cdn:
            page.route(_OUTSIDE, _offline_cdn)
        page.goto(url, wait_until="commit", timeout=1000 * timeout_s)
        frame = _leaflet_shape(page, 1000 * timeout_s)
        return gestures(page, frame, repeats=repeats, timeout_s=timeout_s)
    finally:
        browser.close()


def _paint_times(
    p: Any,
    chromium: Path,
    url: str,
    ready: Callable[[Any, float], Any],
    repeats: int,
    *,
    warm_up: bool = True,
    cap_s: float | None = None,
    offline_cdn: bool = False,
) -> tuple[float, bool]:
    """Median time from opening ``url`` in a new tab until ``ready`` returns, and if capped.

    A first load warms the server's caches when ``warm_up``. With ``cap_s``, a load that
    takes longer stops the measure: the result is then ``(cap_s, True)``, a lower bound;
    without, a load longer than 120 s is an error. ``offline_cdn``: outside URLs are
    answered by :func:`_offline_cdn`.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    limit = 120.0 if cap_s is None else cap_s
    browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    times = []
    try:
        for i in range(repeats + warm_up):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            if offline_cdn:
                page.route(_OUTSIDE, _offline_cdn)
            start = time.perf_counter()
            try:
                page.goto(url, wait_until="commit", timeout=1000 * limit)
                ready(page, max(1.0, 1000 * (limit - (time.perf_counter() - start))))
                # Read before the tab closes (30-50 ms with the département map), which
                # is not part of the user's wait.
                elapsed = time.perf_counter() - start
            except PlaywrightTimeout:
                if cap_s is None:
                    raise
                return cap_s, True
            finally:
                page.close()
            if i or not warm_up:
                times.append(elapsed)
    finally:
        browser.close()
    return statistics.median(times), False


_OUTSIDE = re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])")
"""Every URL that is not the local Streamlit server."""
_LEAFLET_FILES = {f.name: f for f in (ROOT / "static" / "leaflet").rglob("*") if f.is_file()}


def _offline_cdn(route: Any) -> None:
    """Leaflet's CDN files from ``static/leaflet``; an empty answer for any other outside URL."""
    url = route.request.url
    name = url.split("?")[0].rsplit("/", 1)[-1]
    if "leaflet" in url and "awesome" not in url and name in _LEAFLET_FILES:
        route.fulfill(path=_LEAFLET_FILES[name])
    else:
        kind = {"js": "text/javascript", "css": "text/css"}.get(name.rsplit(".", 1)[-1])
        route.fulfill(status=200, body="", content_type=kind or "application/octet-stream")


def run(
    *, quick: bool, settings: Settings, out_dir: Path, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Build the benchmark territories and measure everything; write ``bench.json``.

    Sections: ``territories`` (the map page at each scale), ``contacts``, ``priorities``
    (indicators and ranking, at each scale), ``planner`` (the 10-s plan against a long
    search), ``roads`` (travel-time matrices on a département's road network against the
    straight line, :mod:`bench.roads`), ``hotspots`` (Gi* on 10,000 cells against esda,
    E2SFCA 35,000 × 5,000 against a dense matrix, :mod:`bench.hotspots`), ``access_roads``
    (E2SFCA 35,000 × 5,000 along a département's road network against the way before,
    :mod:`bench.access_roads`; 500 partners and no comparison when quick) and ``scaling``
    (:func:`map_growth`). Quick mode: the
    demo scale, contacts up to 100 k rows, the planner at 60 places against a 30-s search
    (about 4 minutes). Full: demo, département and regional scales (the naive page rerun 5,
    2 and 1 times, its first paint measured once beyond the demo, capped at
    :data:`NAIVE_PAINT_CAP_S`; the naive indicators without the 1 km cells at the
    département, none at the region), contacts up to 1 M rows, the planner at 60 / 120 / 240
    places against 5-minute searches (33 minutes on a quiet 2-core machine, 16 of them for
    the planner's searches).
    """
    from territory.demo import build_demo_workspace

    scales = ["demo"] if quick else ["demo", *_LARGER_SCALES]
    results: dict[str, Any] = {
        "machine": machine(),
        "quick": quick,
        "territories": {},
        "priorities": {},
        "privacy": {},
        "package": {},
    }
    with tempfile.TemporaryDirectory(prefix="territory-bench-") as tmp:
        for scale in scales:
            path = Path(tmp) / f"{scale}.gpkg"
            say(f"Construction du territoire « {scale} »…")
            start = time.perf_counter()
            build_demo_workspace(path, settings=settings, scale=scale)
            build = time.perf_counter() - start
            say(f"Mesure de la page carte « {scale} », nous et la manière naïve…")
            figures = map_page_benchmark(
                path,
                settings=settings,
                repeats=3 if quick else 5,
                naive_repeats=3 if quick else _NAIVE_RERUNS[scale],
                browser=True,
                naive_paint_repeats=3 if scale == "demo" else 1,
            )
            results["territories"][scale] = {"build_s": build, **figures}
            say(f"Indicateurs et classement « {scale} »…")
            if scale in ("demo", "departement"):
                say(f"Protection des contacts « {scale} », contre l'arbre d'avant…")
                results["privacy"][scale] = bench_privacy.privacy_benchmark(
                    path, secret=settings.secret_path, repeats=1 if quick else 3
                )
            results["priorities"][scale] = bench_priorities.priorities_benchmark(
                settings=settings,
                workspace=path,
                repeats=3,
                # the naive 1 km cells take a quarter of an hour at département scale, the
                # naive communes and QPV 9 minutes at the regional one: ours only there
                naive=scale != "region",
                naive_kinds=bench_priorities.KINDS if scale == "demo" else ("commune", "qpv"),
                say=say,
            )
            if scale in ("demo", "departement"):
                say(f"Paquet d'évaluation « {scale} »…")
                results["package"][scale] = bench_package.package_benchmark(
                    path, secret=settings.secret_path
                )
            if scale == "departement":
                say("Comparaison de 12 pôles (comité de pilotage)…")
                results["compare"] = bench_compare.compare_benchmark(
                    path, secret=settings.secret_path, repeats=3 if quick else 5
                )
                say("Comité de pilotage : page Comparer, dossier PDF et XLSX des 12 pôles…")
                results["copil"] = bench_copil.pack_benchmark(
                    path, secret=settings.secret_path, repeats=3 if quick else 5
                )
                # last on this workspace: it stores a programme territory and teams
                results["week"] = bench_week.week_benchmark(
                    path,
                    secret=settings.secret_path,
                    long_s=bench_planning.LONG_S_QUICK if quick else bench_planning.LONG_S_FULL,
                    say=say,
                )
        start = time.perf_counter()
        real = real_extracts_workspace(Path(tmp) / "reel.gpkg", settings=settings)
        if real is not None:
            build = time.perf_counter() - start
            say("Mesure de la page carte sur les extraits réels (six départements)…")
            figures = map_page_benchmark(
                real, settings=settings, repeats=3, browser=not quick, naive_paint=False
            )
            results["territories"][REAL_SCALE] = {"build_s": build, **figures}
    results["scaling"] = map_growth(results["territories"], scales)
    results["contacts"] = contacts_benchmark(
        CONTACT_SIZES_QUICK if quick else CONTACT_SIZES_FULL,
        settings=settings,
        communes=300 if quick else 1_550,
        say=say,
    )
    results["planner"] = bench_planning.planning_benchmark(
        sizes=(60,) if quick else bench_planning.SIZES,
        long_s=bench_planning.LONG_S_QUICK if quick else bench_planning.LONG_S_FULL,
        all_candidates=False,
        say=say,
    )
    results["planner"] |= bench_planning.departement_benchmark(
        long_s=bench_planning.LONG_S_QUICK if quick else bench_planning.LONG_S_FULL, say=say
    )
    say("Temps de trajet sur un réseau routier de département, contre la ligne droite…")
    results["roads"] = bench_roads.roads_benchmark(repeats=1 if quick else 3)
    say("Points chauds (Gi*, Moran local) et accessibilité E2SFCA, contre esda et une matrice…")
    results["hotspots"] = bench_hotspots.hotspots_benchmark(repeats=1 if quick else 3)
    say("Accessibilité E2SFCA le long d'un réseau routier de département…")
    results["access_roads"] = bench_access_roads.access_roads_benchmark(
        partners=500 if quick else bench_access_roads.PARTNERS, naive=not quick
    )
    say("Moteurs : fichier GeoPackage et serveur PostgreSQL + PostGIS, côte à côte…")
    results["engines"] = bench_pgstore.engines_benchmark(
        settings=settings,
        rows=100_000 if quick else 1_000_000,
        map_scale=None if quick else "departement",
        say=say,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return results


def map_growth(territories: dict[str, Any], scales: list[str]) -> dict[str, float]:
    """Growth of each map figure from one scale to the next, ours and naive.

    Keys ``map_growth_{scale}_{figure}`` (and ``_naive``): the figure at ``scale`` over the
    figure at the scale before it in ``scales``, for ``payload``, ``rerun`` and
    ``first_paint``, and ``map_growth_{scale}_communes`` for the size itself. Figures
    missing at either scale (no browser) are left out.

    Examples
    --------
    >>> small = {"communes": 40, "payload_bytes": 80_000, "payload_bytes_naive": 600_000}
    >>> large = {"communes": 1550, "payload_bytes": 1_600_000, "payload_bytes_naive": 19e6}
    >>> growth = map_growth({"demo": small, "departement": large}, ["demo", "departement"])
    >>> growth["map_growth_departement_payload"], growth["map_growth_departement_communes"]
    (20.0, 38.75)
    """
    growth: dict[str, float] = {}
    for before, scale in itertools.pairwise(scales):
        a, b = territories[before], territories[scale]
        if a.get("communes") and b.get("communes"):
            growth[f"map_growth_{scale}_communes"] = b["communes"] / a["communes"]
        for name, key in _MAP_GROWTH.items():
            for suffix in ("", "_naive"):
                if a.get(key + suffix) and b.get(key + suffix):
                    growth[f"map_growth_{scale}_{name}{suffix}"] = b[key + suffix] / a[key + suffix]
    return growth


REAL_SCALE = "reel-6-departements"
"""The real-extract territory: six départements' communes (3,115 after the COG's mergers)."""
REAL_DATA = ROOT.parent / "shared" / "data" / "real"


def real_extracts_workspace(
    path: Path, *, settings: Settings, real: Path = REAL_DATA
) -> Path | None:
    """A workspace of the real extracts of ``../shared`` (None when they are absent).

    The communes of six départements (Calvados, Maine-et-Loire, Nord, Pas-de-Calais,
    Bas-Rhin, Haut-Rhin: real borders, far more vertices than the generator's), the COG
    table and the France services list; no contacts, QPV codes or timetables in these
    extracts.
    """
    from territory.ingest import import_file
    from territory.store import Workspace

    communes = sorted(real.glob("communes-*.geojson"))
    if len(communes) < 6:
        return None
    ws = Workspace.create(path, name="Six départements (extraits réels)", overwrite=True)
    for i, file in enumerate(communes):
        import_file(ws, "communes", file, settings=settings, add=i > 0)
    import_file(ws, "communes-table", real / "communes_cog2026_pop_epci.csv", settings=settings)
    services = real / "france_services_20240801.geojson"
    import_file(ws, "partners", services, settings=settings, geocode=False)
    return path


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
        if "first_paint_s_naive" in f:
            bound = "≥ " if f.get("first_paint_naive_capped") else ""
            lines.append(
                f"| {scale} | premier affichage (s) | {f['first_paint_s']:.2f} | "
                f"{bound}{f['first_paint_s_naive']:.2f} | {bound}{f['first_paint_ratio']:.1f}× |"
            )
        else:
            lines.append(
                f"| {scale} | premier affichage (s) | "
                f"{f.get('first_paint_s', float('nan')):.2f} | — | — |"
            )
        for name, label in _GESTURE_LABELS.items():
            if name in f:
                naive = f.get(f"{name}_naive")
                bound = "≥ " if f.get("gestures_naive_capped") else ""
                lines.append(
                    f"| {scale} | {label} (s) | {f[name]:.3f} | "
                    + (
                        "— | — |"
                        if naive is None
                        else f"{bound}{naive:.3f} | "
                        f"{bound}{f[name.removesuffix('_s') + '_ratio']:.1f}× |"
                    )
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
        growth = results.get("scaling", {})
        if f"map_growth_{scale}_communes" in growth:
            lines.append(
                f"| {scale} | taille (× communes / échelle précédente) | "
                f"{growth[f'map_growth_{scale}_communes']:.1f}× | — | — |"
            )
        for name, label in (
            ("payload", "charge utile"),
            ("rerun", "réexécution"),
            ("first_paint", "premier affichage"),
        ):
            ours = growth.get(f"map_growth_{scale}_{name}")
            if ours is not None:
                naive = growth.get(f"map_growth_{scale}_{name}_naive")
                capped = name == "first_paint" and f.get("first_paint_naive_capped")
                shown = "—" if naive is None else f"{'≥ ' if capped else ''}{naive:.1f}×"
                lines.append(
                    f"| {scale} | croissance {label} (× / échelle précédente) | "
                    f"{ours:.1f}× | {shown} | — |"
                )
    if "contacts" in results:
        lines += ["", *contacts_table(results["contacts"])]
    if "engines" in results:
        lines += ["", *bench_pgstore.engines_table(results["engines"])]
    if results.get("priorities"):
        for scale, figures in results["priorities"].items():
            lines += ["", f"[{scale}] " + bench_priorities.table(figures)]
    for scale, figures in results.get("privacy", {}).items():
        lines += ["", f"[{scale}] " + bench_privacy.table(figures)]
    for scale, figures in results.get("package", {}).items():
        lines += ["", f"[{scale}] " + bench_package.table(figures)]
    if "planner" in results:
        lines += ["", "Planificateur de tournées", "", bench_planning.table(results["planner"])]
    if "compare" in results:
        lines += ["", "Comité de pilotage : comparer", "", bench_compare.table(results["compare"])]
    if "week" in results:
        lines += [
            "",
            "Semaine départementale de bout en bout",
            "",
            bench_week.table(results["week"]),
        ]
    if "copil" in results:
        lines += [
            "",
            "Comité de pilotage : 12 territoires (page Comparer, dossier PDF, XLSX)",
            "",
            bench_copil.table(results["copil"]),
        ]
    if "roads" in results:
        lines += [
            "",
            "Temps de trajet sur le réseau routier",
            "",
            bench_roads.table(results["roads"]),
        ]
    if "hotspots" in results:
        lines += [
            "",
            "Points chauds et accessibilité aux partenaires",
            "",
            bench_hotspots.table(results["hotspots"]),
        ]
    if "access_roads" in results:
        lines += ["", bench_access_roads.table(results["access_roads"])]
    return "\n".join(lines)


_GESTURE_LABELS = dict(
    zip(
        FIGURES,
        (
            "déplacement : image la plus longue",
            "déplacement : carte redessinée",
            "zoom (molette) : carte redessinée",
            "zoom (molette) : image la plus longue",
        ),
        strict=True,
    )
)
