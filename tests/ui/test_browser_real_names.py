"""Real browser, real borders: the names of the Nord's 648 communes read without piles.

The Nord's communes (real extract of ``../shared``, with the COG's populations) served
offline on a 1366×768 laptop screen: at the département's zoom the large towns are named,
Lille first, no two names overlap; zoomed in on Lille, every commune around is named, still
without a pile. Screenshots in ``tests/artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_file

from bench._browser import CHROMIUM_ARGS, ROOT, chromium_path, streamlit_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = chromium_path()
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
MAP_JS = "Object.values(window).find(v => v instanceof L.Map)"
LABELS_JS = """() => Array.from(document.querySelectorAll('.territory-label')).map(e => {
    const r = e.getBoundingClientRect();
    return {text: e.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
})"""

pytestmark = [pytest.mark.browser, pytest.mark.real_data]


@pytest.fixture(scope="module")
def nord_url(settings, tmp_path_factory) -> Iterator[str]:
    """The app on a workspace of the Nord's real communes and the COG's populations."""
    from territory.ingest import import_file
    from territory.store import Workspace

    communes = shared_file("communes-59-nord.geojson")
    table = shared_file("communes_cog2026_pop_epci.csv")
    if CHROMIUM is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    path = tmp_path_factory.mktemp("nord") / "nord.gpkg"
    ws = Workspace.create(path, name="Nord (extrait réel)")
    import_file(ws, "communes", communes, settings=settings)
    import_file(ws, "communes-table", table, settings=settings)
    env = {"TERRITORY_WORKSPACE": str(path), "TERRITORY_SECRET_PATH": str(settings.secret_path)}
    with streamlit_server(ROOT / "app.py", env=env) as url:
        yield url


def _no_pile(labels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The pairs of names whose boxes overlap."""
    return [
        (a["text"], b["text"])
        for i, a in enumerate(labels)
        for b in labels[i + 1 :]
        if a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]
    ]


def test_real_commune_names_without_piles(nord_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(nord_url) else route.abort()
            ),
        )
        page.goto(f"{nord_url}/carte", wait_until="domcontentloaded")
        frame = page.wait_for_selector(MAP_FRAME, state="attached", timeout=120_000).content_frame()
        assert frame is not None
        frame.wait_for_selector(".territory-label", timeout=90_000)
        page.wait_for_timeout(500)
        zoom = frame.evaluate(f"() => {MAP_JS}.getZoom()")
        fitted = frame.evaluate(LABELS_JS)
        page.screenshot(path=str(ARTIFACTS / "carte_nord_1366x768.png"))
        frame.evaluate(f"() => {MAP_JS}.setView([50.63, 3.06], 12, {{animate: false}})")
        page.wait_for_timeout(800)
        lille = frame.evaluate(LABELS_JS)
        page.screenshot(path=str(ARTIFACTS / "carte_nord_lille_zoom12.png"))
        browser.close()
    names = [label["text"] for label in fitted]
    assert zoom < 10, zoom  # the whole département in view
    assert "Lille" in names and len(names) >= 8, (zoom, names)
    assert _no_pile(fitted) == []
    around = {label["text"] for label in lille}
    assert {"Lille", "Lambersart", "La Madeleine"} <= around, around
    assert len(lille) > len(fitted) / 2 and _no_pile(lille) == []
