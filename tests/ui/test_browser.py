"""Real browser: the map page in headless Debian Chromium, offline, with its layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench._browser import CHROMIUM_ARGS, chromium_path

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = chromium_path()

pytestmark = pytest.mark.browser


def test_map_page_renders_offline_with_its_layers(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})

        def block_outside(route) -> None:  # the machine is offline: prove we need nothing outside
            if route.request.url.startswith(app_url):
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        page.route("**/*", block_outside)
        # as a new user: the home page first, then the "Carte" entry of the navigation
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_text("Planifier l'aller-vers").wait_for(timeout=90_000)
        page.get_by_text("Contacts (protégés)").wait_for(timeout=90_000)
        page.screenshot(path=str(ARTIFACTS / "accueil.png"))
        page.get_by_role("link", name="Carte").first.click()
        frame_el = page.wait_for_selector(
            'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=90_000
        )
        frame = frame_el.content_frame()
        assert frame is not None
        frame.wait_for_selector(".leaflet-container", timeout=60_000)
        frame.wait_for_selector(".leaflet-overlay-pane canvas", timeout=60_000)
        # polygons and circles on the one canvas (one shape per layer, each drawing many
        # features: counted here); partners as SVG paths
        shapes = frame.evaluate(
            "() => Object.values(territoryCanvas.renderer._layers)"
            ".reduce((n, l) => n + (l._data ? l._data.n : 1), 0)"
        )
        paths = frame.locator(".leaflet-container path.leaflet-interactive").count()
        controls = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "carte.png"), full_page=False)
        html = frame.content()
        browser.close()
    assert shapes > 50, f"only {shapes} features drawn on the canvas"
    assert paths > 5, f"only {paths} partners drawn"
    assert any("QPV" in c for c in controls) and any("Partenaires" in c for c in controls)
    assert "fingerprint" not in html and "personne" not in html
    assert not [u for u in external if "leaflet" in u or "jquery" in u], external


def test_a_deep_link_to_the_map_works_on_a_fresh_server(app_url: str) -> None:
    """Opening /carte first (a bookmark) runs it inside app.py.

    The French navigation, the page title and the wide layout, the workspace found and the
    map drawn.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{app_url}/carte", wait_until="domcontentloaded")
        frame = page.wait_for_selector(
            'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=90_000
        ).content_frame()
        assert frame is not None
        frame.wait_for_selector(".leaflet-container path.leaflet-interactive", timeout=60_000)
        navigation = page.locator('[data-testid="stSidebarNav"]').inner_text()
        title = page.title()
        map_width = page.locator('iframe[title="streamlit_folium.st_folium"]').bounding_box()
        browser.close()
    # A pages/ folder would list the file names (app, carte, ou et quand…) instead.
    assert "Où et quand" in navigation and "ou et quand" not in navigation, navigation
    assert title == "territory — aller-vers", title  # app.py's page config
    # The wide layout (centred, the map is about 510 px wide)
    assert map_width is not None and map_width["width"] > 600, map_width


# The first point (frame pixels, on a grid) where the mouse meets the canvas (no control
# above it) and the topmost shape Leaflet hit-tests there is of the given layer (and, if
# given, of one of the given density levels): what a click or a hover there reaches. Each
# canvas layer is a shape that stands for the feature last hit-tested (the grid squares:
# a shape with a table of property sets).
FIND_JS = """([kind, levels]) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    const size = map.getSize(), box = map.getContainer().getBoundingClientRect();
    const top = (point) => {
        let hit = null;
        for (let o = territoryCanvas.renderer._drawFirst; o; o = o.next) {
            if (o.layer.options.interactive && o.layer._containsPoint(point)) { hit = o.layer; }
        }
        return hit;
    };
    for (let y = 60; y < size.y - 60; y += 12) {
        for (let x = 60; x < size.x - 60; x += 12) {
            const seen = document.elementFromPoint(box.left + x, box.top + y);
            if (seen !== territoryCanvas.renderer._container) { continue; }
            const hit = top(map.containerPointToLayerPoint([x, y]));
            const p = hit && hit.feature.properties;
            if (p && p.layer === kind && (!levels || levels.includes(p.level))) {
                return {x: box.left + x, y: box.top + y, properties: p,
                        square: !!hit._data.table};
            }
        }
    }
    return null;
}"""


def test_hover_and_click_reach_the_canvas_layers(app_url: str) -> None:
    """With a real mouse: tooltips of zones and squares, a commune's click, squares back.

    Hovering a density zone shows its tooltip, hovering a grid square (one canvas shape for
    all squares) shows that square's values, a click on a commune reaches the page, which
    shows the commune's figures, and the squares come back when the density layer is
    switched on again.
    """
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{app_url}/carte", wait_until="domcontentloaded")
        frame_el = page.wait_for_selector(
            'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=90_000
        )
        frame = frame_el.content_frame()
        assert frame is not None
        frame.wait_for_selector(".leaflet-overlay-pane canvas", timeout=60_000)
        page.get_by_text("Cliquez sur une commune").wait_for(timeout=30_000)
        frame_el.scroll_into_view_if_needed()
        offset = frame_el.bounding_box()
        assert offset is not None

        def on_page(found: dict) -> tuple[float, float]:
            return offset["x"] + found["x"], offset["y"] + found["y"]

        zone = frame.evaluate(FIND_JS, ["density", None])
        assert zone is not None, "no density zone on top anywhere on the map"
        x, y = on_page(zone)
        page.mouse.move(x, y)
        page.mouse.move(x + 1, y + 1)
        tip = frame.locator(".leaflet-tooltip").inner_text(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "carte_survol.png"))
        page.mouse.move(offset["x"] + 5, offset["y"] + 5)  # off the shapes
        frame.locator(".leaflet-tooltip").wait_for(state="detached", timeout=10_000)
        square = frame.evaluate(FIND_JS, ["density", ["200m", "1km"]])
        assert square is not None and square["square"], "no grid square on top anywhere"
        x, y = on_page(square)
        page.mouse.move(x, y)
        page.mouse.move(x + 1, y + 1)
        square_tip = frame.locator(".leaflet-tooltip").inner_text(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "carte_survol_carreau.png"))
        density = frame.get_by_role("checkbox", name="Densité de contacts (protégée)")
        commune = frame.evaluate(FIND_JS, ["communes", None])
        if commune is None:  # the demo's density covers every commune: switch it off
            frame.locator(".leaflet-control-layers").hover()  # the folded control opens
            density.uncheck()
            commune = frame.evaluate(FIND_JS, ["communes", None])
        assert commune is not None, "no commune on top anywhere on the map"
        page.mouse.click(*on_page(commune))
        name = commune["properties"]["nom"]
        title = f"{name} ({commune['properties']['code']})"
        page.get_by_role("heading", name=title).wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "carte_clic_commune.png"))
        frame.locator(".leaflet-control-layers").hover()
        density.check()  # the squares come back, above the communes
        again = frame.evaluate(FIND_JS, ["density", ["200m", "1km"]])
        browser.close()
    assert f"{zone['properties']['label']} contacts" in tip
    p = square["properties"]
    level = {"200m": "carreau 200 m", "1km": "carreau 1 km"}[p["level"]]
    assert square_tip.startswith(f"{p['label']} contacts\n{level}\n"), square_tip
    if p["count"] is None:
        assert square_tip.endswith("non affiché (secret statistique)")
    else:
        assert "contacts par km²" in square_tip
    assert again is not None and again["square"]
