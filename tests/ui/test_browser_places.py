"""Real browser: on the "Tournées" page, a click on the map places a new outreach place."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._browser import CHROMIUM_ARGS, ROOT, chromium_path, streamlit_server
from territory.rounds.week import candidate_places
from territory.store import Workspace

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = chromium_path()

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(demo_workspace: Path, settings, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The app on a copy of the demo workspace (the test writes a place into it)."""
    if CHROMIUM is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    path = tmp_path_factory.mktemp("places") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    env = {"TERRITORY_WORKSPACE": str(path), "TERRITORY_SECRET_PATH": str(settings.secret_path)}
    with streamlit_server(ROOT / "app.py", env=env) as url:
        yield url, path


def test_a_click_on_the_map_fills_the_position_and_adds_the_place(served) -> None:
    """Every wait is on a condition, through locators that Playwright resolves again.

    Streamlit replaces the map's iframe on reruns: a frame locator finds the current one
    each time it is used, where a frame handle would be left detached.
    """
    from playwright.sync_api import expect, sync_playwright

    url, path = served
    before = len(candidate_places(Workspace.open(path)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        expect(page.get_by_text("Planifier l'aller-vers")).to_be_visible(timeout=90_000)
        page.get_by_role("link", name="Tournées").first.click()
        page.get_by_text("Lieux d'aller-vers : voir").click()
        leaflet = page.frame_locator(MAP_FRAME).locator(".leaflet-container")
        drawn = leaflet.locator("path.leaflet-interactive").first
        expect(drawn).to_be_visible(timeout=90_000)
        box = leaflet.bounding_box(timeout=30_000)
        assert box is not None
        # the map is fitted to the communes: its centre is inside the territory
        leaflet.click(position={"x": box["width"] / 2, "y": box["height"] / 2}, timeout=30_000)
        expect(page.get_by_label("Latitude")).not_to_have_value("", timeout=30_000)
        page.get_by_label("Nom").fill("Square du test navigateur")
        page.get_by_role("button", name="Ajouter le lieu").click()
        added_text = "Square du test navigateur » ajouté"  # in the success and in a toast
        success = page.get_by_test_id("stAlertContentSuccess").get_by_text(added_text)
        expect(success).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("stToastText").get_by_text(added_text)).to_be_visible(
            timeout=10_000
        )
        expect(page.get_by_label("Nom")).to_have_value("", timeout=30_000)  # the form is reset
        expect(drawn).to_be_visible(timeout=90_000)  # the map drawn again, in its new frame
        page.screenshot(path=str(ARTIFACTS / "tournees_lieux.png"))
        browser.close()
    places = candidate_places(Workspace.open(path))
    assert len(places) == before + 1
    added = places[places["nom"] == "Square du test navigateur"].iloc[0]
    assert added["zone"] and added["type"] == "parc"
