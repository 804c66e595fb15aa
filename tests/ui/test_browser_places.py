"""Real browser: on the "Tournées" page, a click on the map places a new outreach place."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench._browser import CHROMIUM_ARGS, ROOT, chromium_path, streamlit_server
from territory.rounds.week import candidate_places
from territory.store import Workspace

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = chromium_path()

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
    from playwright.sync_api import sync_playwright

    url, path = served
    before = len(candidate_places(Workspace.open(path)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text("Planifier l'aller-vers").wait_for(timeout=90_000)
        page.get_by_role("link", name="Tournées").first.click()
        page.get_by_text("Lieux d'aller-vers : voir").click()
        frame = page.wait_for_selector(
            'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=90_000
        ).content_frame()
        assert frame is not None
        frame.wait_for_selector(".leaflet-container path.leaflet-interactive", timeout=60_000)
        box = frame.locator(".leaflet-container").bounding_box()
        assert box is not None
        # the map is fitted to the communes: its centre is inside the territory
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        latitude = page.get_by_label("Latitude")
        page.wait_for_function(
            "el => el.value !== ''", arg=latitude.element_handle(), timeout=30_000
        )
        page.get_by_label("Nom").fill("Square du test navigateur")
        page.get_by_role("button", name="Ajouter le lieu").click()
        added_text = "Square du test navigateur » ajouté"  # in the success and in a toast
        page.get_by_test_id("stAlertContentSuccess").get_by_text(added_text).wait_for(
            timeout=60_000
        )
        page.get_by_test_id("stToastText").get_by_text(added_text).wait_for(timeout=10_000)
        _map_drawn_again(page)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "tournees_lieux.png"))
        name_after = page.get_by_label("Nom").input_value()
        browser.close()
    assert name_after == ""  # the form starts empty again, in the browser too
    places = candidate_places(Workspace.open(path))
    assert len(places) == before + 1
    added = places[places["nom"] == "Square du test navigateur"].iloc[0]
    assert added["zone"] and added["type"] == "parc"


def _map_drawn_again(page: Any) -> None:
    """Wait for the map redrawn after the rerun (the old frame may be replaced meanwhile)."""
    from playwright.sync_api import Error as PlaywrightError

    for _ in range(3):
        frame = page.wait_for_selector(
            'iframe[title="streamlit_folium.st_folium"]', state="attached", timeout=90_000
        ).content_frame()
        assert frame is not None
        try:
            frame.wait_for_selector(".leaflet-container path.leaflet-interactive", timeout=60_000)
            return
        except PlaywrightError as error:  # the map's frame was replaced by the new map's
            if "detached" not in str(error):
                raise
    raise AssertionError("the map's frame kept being replaced")
