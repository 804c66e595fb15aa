"""Real browser: the Carte page read at a glance, at 1400×1000 and on a 1366×768 laptop.

Offline (every request outside the app refused): the layer control folded in a corner,
names of the communes at the territory's zoom without piles, the transit layers off but
one click away, stops thinned at the territory's zoom, and the view kept when the
basemap is switched. Screenshots in ``tests/artifacts/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bench._browser import CHROMIUM_ARGS, chromium_path

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = chromium_path()
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

pytestmark = pytest.mark.browser

MAP_JS = "Object.values(window).find(v => v instanceof L.Map)"
CENTRE_JS = f"() => {{ const c = {MAP_JS}.getCenter(); return [c.lat, c.lng]; }}"
# Boxes of the label elements shown, in the frame's pixels.
LABELS_JS = """() => Array.from(document.querySelectorAll('.territory-label')).map(e => {
    const r = e.getBoundingClientRect();
    return {text: e.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
})"""
# The stops layer's shape: features, and how many the thinning hides at this zoom.
STOPS_JS = """() => {
    const shapes = Object.values(territoryCanvas.renderer._layers)
        .filter(l => l._data && l._data.circles && l._hidden);
    return shapes.map(s => ({n: s._data.n, hidden: s._hidden.reduce((a, b) => a + b, 0)}));
}"""


def _offline_page(browser: Any, app_url: str, width: int, height: int) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})

    def block_outside(route: Any) -> None:  # as in the field: nothing outside the app
        if route.request.url.startswith(app_url):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", block_outside)
    return page


def _map_frame(page: Any) -> Any:
    frame = page.wait_for_selector(MAP_FRAME, state="attached", timeout=90_000).content_frame()
    assert frame is not None
    frame.wait_for_selector(".leaflet-overlay-pane canvas", timeout=60_000)
    return frame


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


@pytest.mark.parametrize(("width", "height"), [(1400, 1000), (1366, 768)])
def test_the_map_reads_at_a_glance(app_url: str, width: int, height: int) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = _offline_page(browser, app_url, width, height)
        page.goto(f"{app_url}/carte", wait_until="domcontentloaded")
        frame = _map_frame(page)
        frame.wait_for_selector(".territory-label", timeout=30_000)
        page.wait_for_timeout(500)
        map_box = frame.locator(".leaflet-container").bounding_box()
        control = frame.locator(".leaflet-control-layers")
        folded = control.bounding_box()
        zoom = frame.evaluate(f"() => {MAP_JS}.getZoom()")
        labels = frame.evaluate(LABELS_JS)
        overlays = frame.locator(".leaflet-control-layers-overlays label")
        checked = {
            overlays.nth(i).inner_text().strip(): overlays.nth(i).locator("input").is_checked()
            for i in range(overlays.count())
        }
        stops_off = frame.evaluate(STOPS_JS)
        page.screenshot(path=str(ARTIFACTS / f"carte_{width}x{height}.png"))
        # the transit layers one click away: open the control, tick the stops
        control.hover()
        frame.get_by_role("checkbox", name="Arrêts de transport").check()
        frame.get_by_role("checkbox", name="Zones blanches", exact=False).check()
        page.wait_for_timeout(500)
        opened = control.bounding_box()
        stops_on = frame.evaluate(STOPS_JS)
        page.screenshot(path=str(ARTIFACTS / f"carte_{width}x{height}_transport.png"))
        # zoomed in on the largest town: more names, still no pile
        frame.evaluate(f"() => {MAP_JS}.setZoom(13, {{animate: false}})")
        page.mouse.move(5, 5)  # off the control: it folds again
        page.wait_for_timeout(800)
        zoomed = frame.evaluate(LABELS_JS)
        page.screenshot(path=str(ARTIFACTS / f"carte_{width}x{height}_zoom13.png"))
        browser.close()
    assert map_box is not None and folded is not None and opened is not None
    # the folded control is a small corner button of the map: under 1 % of its area
    share = folded["width"] * folded["height"] / (map_box["width"] * map_box["height"])
    assert share < 0.01, f"the layer control covers {share:.1%} of the map"
    assert folded["x"] + folded["width"] > map_box["x"] + map_box["width"] * 0.85
    assert folded["y"] < map_box["y"] + map_box["height"] * 0.15
    assert opened["height"] > folded["height"] * 3  # it does open, on demand
    # the story first: QPV, communes by density class, protected density on; transit off
    assert checked["QPV"] and checked["Communes (grille de densité)"], checked
    assert checked["Densité de contacts (protégée)"], checked
    assert not checked["Arrêts de transport"], checked
    assert not [name for name, on in checked.items() if name.startswith("Zones blanches") and on]
    assert stops_off == []  # switched off: not on the canvas
    # names at the territory's zoom: the demo's two towns of 10,000 inhabitants or more
    texts = [label["text"] for label in labels]
    assert {"Ardoise-la-Ville", "Tivecourt-sur-Ardoise"} <= set(texts), (zoom, texts)
    assert len(zoomed) > len(labels), (len(zoomed), len(labels))
    for shown in (labels, zoomed):
        assert len({label["text"] for label in shown}) == len(shown)
        for i, a in enumerate(shown):
            assert not any(_overlap(a, b) for b in shown[i + 1 :]), a
    # stops thinned at the territory's zoom (the demo's lines pile up in the town centres)
    assert len(stops_on) == 1 and stops_on[0]["hidden"] > stops_on[0]["n"] / 3, stops_on


def test_switching_the_basemap_keeps_the_view(app_url: str) -> None:
    """Zoomed in, then OpenStreetMap switched on: the new map opens where the user was."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = _offline_page(browser, app_url, 1366, 768)
        page.goto(f"{app_url}/carte", wait_until="domcontentloaded")
        frame = _map_frame(page)
        fitted = frame.evaluate(f"() => {MAP_JS}.getZoom()")
        frame.evaluate(
            f"() => {{ const m = {MAP_JS}; const c = m.getCenter();"
            " m.setView([c.lat + 0.01, c.lng - 0.02], 13, {animate: false}); }"
        )
        page.wait_for_timeout(300)
        before = frame.evaluate(
            f"() => {{ const c = {MAP_JS}.getCenter(); return [c.lat, c.lng]; }}"
        )
        page.get_by_text("Fond de carte OpenStreetMap (internet)").click()
        page.wait_for_function(
            """(sel) => { const f = document.querySelector(sel), w = f && f.contentWindow;
                return w && w.L && w.document.querySelector(".leaflet-tile-pane .leaflet-layer");
            }""",
            arg=MAP_FRAME,
            timeout=90_000,
        )
        frame = _map_frame(page)
        after = [*frame.evaluate(CENTRE_JS), frame.evaluate(f"() => {MAP_JS}.getZoom()")]
        page.screenshot(path=str(ARTIFACTS / "carte_fond_osm_vue_gardee.png"))
        browser.close()
    assert fitted < 13
    assert after[2] == 13, after
    assert abs(after[0] - before[0]) < 1e-3 and abs(after[1] - before[1]) < 1e-3, (before, after)


# A point of the map (frame pixels, on a grid) where the mouse meets the canvas, the
# topmost shape hit there is a QPV's and a density zone is drawn beneath it: every
# interactive shape hit, first to last.
QPV_OVER_DENSITY_JS = """() => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    const size = map.getSize(), box = map.getContainer().getBoundingClientRect();
    for (let y = 40; y < size.y - 40; y += 3) {
        for (let x = 40; x < size.x - 60; x += 3) {
            const seen = document.elementFromPoint(box.left + x, box.top + y);
            if (seen !== territoryCanvas.renderer._container) { continue; }
            const point = map.containerPointToLayerPoint([x, y]), hits = [];
            for (let o = territoryCanvas.renderer._drawFirst; o; o = o.next) {
                if (o.layer.options.interactive && o.layer._containsPoint(point)) {
                    hits.push(Object.assign({}, o.layer.feature.properties));
                }
            }
            const top = hits[hits.length - 1];
            if (top && top.layer === "qpv" && hits.some(h => h.layer === "density")) {
                return {x: box.left + x, y: box.top + y, qpv: top};
            }
        }
    }
    return null;
}"""


def test_a_click_on_a_qpv_with_the_density_on_gives_the_qpv(app_url: str) -> None:
    """The density is drawn over the QPV's inside; a click on its outline gives the QPV."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = _offline_page(browser, app_url, 1400, 1000)
        page.goto(f"{app_url}/carte", wait_until="domcontentloaded")
        frame = _map_frame(page)
        page.get_by_text("Cliquez sur une commune").wait_for(timeout=30_000)
        frame.evaluate(f"() => {MAP_JS}.setZoom(14, {{animate: false}})")  # the town centre
        page.wait_for_timeout(500)
        on = frame.get_by_label("Densité de contacts (protégée)").is_checked()
        offset = page.locator(MAP_FRAME).bounding_box()
        found = frame.evaluate(QPV_OVER_DENSITY_JS)
        assert offset is not None and found is not None, "no QPV outline over the density"
        x, y = offset["x"] + found["x"], offset["y"] + found["y"]
        page.mouse.move(x, y)
        page.mouse.move(x + 1, y)
        tip = frame.locator(".leaflet-tooltip").inner_text(timeout=10_000)
        page.mouse.click(x + 1, y)
        page.get_by_role("heading", name=f"QPV {found['qpv']['nom']}").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "carte_clic_qpv_densite.png"))
        browser.close()
    assert on
    assert tip.startswith(f"{found['qpv']['nom']}\nQPV {found['qpv']['code']}"), tip


def test_a_click_inside_a_qpv_gives_the_cell_then_the_qpv_card(
    app_url: str, demo_workspace: Path, settings: Any
) -> None:
    """Inside a QPV the density cell answers; its card leads to the QPV's, with figures."""
    from playwright.sync_api import sync_playwright

    from territory.store import Workspace
    from territory.views import map_layers

    layers = map_layers(Workspace.open(demo_workspace), settings=settings)
    cells = layers.density[layers.density["level"] == "200m"].dropna(subset=["count"])
    centres = cells.geometry.representative_point()
    partners = layers.partners.to_crs(2154).geometry.union_all()
    far = centres.to_crs(2154).distance(partners) > 150  # no partner marker over the cell
    inside = centres.within(layers.qpv.union_all()) & far
    point = centres[inside].iloc[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = _offline_page(browser, app_url, 1400, 1000)
        page.goto(f"{app_url}/carte", wait_until="domcontentloaded")
        frame = _map_frame(page)
        page.get_by_text("Cliquez sur une commune").wait_for(timeout=30_000)
        frame.evaluate(f"() => {MAP_JS}.setView([{point.y}, {point.x}], 15, {{animate: false}})")
        page.wait_for_timeout(500)
        xy = frame.evaluate(
            f"() => {{ const p = {MAP_JS}.latLngToContainerPoint([{point.y}, {point.x}]);"
            " return [p.x, p.y]; }"
        )
        box = page.locator(MAP_FRAME).bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
        page.get_by_role("heading", name="Carreau de 200 m").wait_for(timeout=60_000)
        choice = page.get_by_role("button", name="QPV : ")
        name = choice.inner_text().removeprefix("QPV : ").strip()
        choice.click()
        page.get_by_role("heading", name=f"QPV {name}").wait_for(timeout=60_000)
        page.get_by_text("Partenaires à moins de 1 km").wait_for(timeout=30_000)
        page.wait_for_timeout(1_000)
        card = page.locator('[data-testid="stTable"]').first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "carte_clic_carreau_puis_qpv.png"), full_page=True)
        browser.close()
    assert "Population (estimée)" in card and "Contacts publiés" in card
    assert "Communes" in card and not re.search(r"\b\d{5}\b", card.split("Code")[0])
