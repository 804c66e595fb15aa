"""Real browser: every page of the demo reads in French (issue #21, item 4).

What only a browser shows — the sliders' values, the map's legend, names and tooltips,
the card of a clicked partner — is read from the page (icons' ligatures and the tables'
hidden grid left out: ``test_french_text.py`` reads the tables) and checked with the
rules of :func:`test_french_text.bad_words`. Screenshots in ``tests/artifacts/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_french_text import PAGES, bad_words

from bench._browser import CHROMIUM_ARGS, chromium_path

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
TEXT_JS = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll('[data-testid="stIconMaterial"], [data-testid="stDataFrame"],'
        + ' script, style, noscript').forEach(e => e.remove());
    return body.innerText;
}"""

pytestmark = pytest.mark.browser


def _page_text(page) -> str:  # type: ignore[no-untyped-def]
    text = page.evaluate(TEXT_JS)
    for frame in page.frames[1:]:
        text += "\n" + frame.evaluate(TEXT_JS)
    return text


def test_every_page_reads_in_french(app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    found: dict[str, list[str]] = {}
    lengths: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in PAGES:
            page.goto(f"{app_url}/{'' if name == 'accueil' else name}", wait_until="load")
            page.get_by_role("heading").first.wait_for(timeout=90_000)
            if name == "carte":
                frame = page.wait_for_selector(MAP_FRAME, timeout=90_000).content_frame()
                assert frame is not None
                frame.wait_for_selector(".leaflet-overlay-pane canvas", timeout=60_000)
                marker = frame.locator("path.leaflet-interactive").first
                box = marker.bounding_box()
                assert box is not None
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                frame.locator(".leaflet-tooltip").wait_for(timeout=10_000)  # a partner's
                page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.get_by_text("Aujourd’hui").first.wait_for(timeout=60_000)
            page.wait_for_timeout(2_000)  # the last elements of the run
            for summary in page.locator("details summary").all():  # expanders opened
                summary.click()
            page.wait_for_timeout(500)  # a lazy panel's content comes with a rerun: its end
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
            page.wait_for_timeout(500)
            text = _page_text(page)
            lengths[name] = len(text)
            found[name] = bad_words(text)
            page.screenshot(path=str(ARTIFACTS / f"texte_{name}.png"), full_page=True)
        browser.close()
    assert all(n > 300 for n in lengths.values()), lengths  # each page was read
    assert not any(found.values()), found
