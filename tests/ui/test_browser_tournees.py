"""Real browser: two sessions edit one week on the "Tournées" page, no edit is lost.

How issue #19 item 5 is checked: "two browser sessions editing the same week". Two
browser contexts (two people, each with the app open) work on the same version; the
first saves, the second's save is refused on screen with what the first changed, then
carried over: the newest version holds both edits.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench._browser import CHROMIUM_ARGS, ROOT, chromium_path, streamlit_server
from territory.rounds.week import load_plan, plan_history, plan_week, save_plan
from territory.store import Workspace

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = chromium_path()
KEY = ["team", "place", "start", "end", "locked"]

pytestmark = pytest.mark.browser


def _shown_week() -> str:
    """The week the page opens on: next Monday's."""
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


@pytest.fixture(scope="module")
def served(demo_workspace: Path, settings, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The app on a copy of the demo workspace whose shown week has a plan (version 1)."""
    if CHROMIUM is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    path = tmp_path_factory.mktemp("tournees") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    week = _shown_week()
    plan, places = plan_week(ws, week, settings=settings, time_limit=2)
    save_plan(ws, week, plan, places, change="optimisation", author="test")
    env = {"TERRITORY_WORKSPACE": str(path), "TERRITORY_SECRET_PATH": str(settings.secret_path)}
    with streamlit_server(ROOT / "app.py", env=env) as url:
        yield url, path


def _settled(page) -> None:
    """Wait until the page's script has run to its end (no stale elements left)."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
    )


def _editor(page):
    """The visits editor, found by its first columns' headers.

    The wide grid draws only the columns in view: « Pourquoi », right of the zone's, may
    be out of it.
    """
    return (
        page.locator('[data-testid="stDataFrame"]').filter(has_text="Début").filter(has_text="Lieu")
    )


def _delete_row(page, row: int) -> None:
    """Select a row of the visits editor by its row marker and delete it (Delete key).

    The grid is a canvas: the marker is clicked by its offset in the editor's box, and the
    selection is read back from the grid's accessible table (``aria-selected`` on its
    rows) before deleting, so that a click that landed on another row while the page was
    still moving is retried instead of deleting the wrong visit.
    """
    editor = _editor(page)
    selected = editor.locator('tr[role="row"][aria-selected="true"]')
    wanted = editor.locator(f'tr[role="row"][aria-rowindex="{row + 2}"][aria-selected="true"]')
    for _ in range(5):
        editor.scroll_into_view_if_needed()
        box = editor.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 15, box["y"] + 35 * (row + 1) + 17)
        try:
            wanted.wait_for(state="attached", timeout=3_000)  # the accessible table is hidden
        except PlaywrightTimeout:
            if selected.count():  # another row got selected: clear it and click again
                page.keyboard.press("Escape")
            continue
        if selected.count() == 1:
            break
    else:
        raise AssertionError(f"row {row} of the visits editor could not be selected")
    page.keyboard.press("Delete")
    page.wait_for_timeout(1000)  # the editor sends the edit, which reruns the page
    _settled(page)


def _records(visits: pd.DataFrame) -> list[dict]:
    return visits[KEY].sort_values(["team", "start"]).to_dict("records")


def test_two_browser_sessions_on_one_week_lose_no_edit(served) -> None:
    from playwright.sync_api import sync_playwright

    url, path = served
    ws, week = Workspace.open(path), _shown_week()
    first = load_plan(ws, week)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        a, b = (
            browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            for _ in range(2)
        )
        for page in (a, b):  # both open version 1
            page.goto(f"{url}/tournees", wait_until="domcontentloaded")
            page.get_by_text("Version 1 —").wait_for(timeout=90_000)
            _settled(page)

        editor = _editor(a)
        editor.hover()  # its toolbar shows
        buttons = a.locator('[data-testid="stElementContainer"]', has=editor).locator(
            '[data-testid="stElementToolbarButton"] button'
        )
        buttons.first.wait_for(timeout=10_000)
        toolbar = [b.get_attribute("aria-label") for b in buttons.all()]
        _delete_row(a, 0)
        a.get_by_role("button", name="Enregistrer les modifications").click()
        a.get_by_text("Version 2 enregistrée.").first.wait_for(timeout=60_000)

        _delete_row(b, 2)
        b.get_by_role("button", name="Enregistrer les modifications").click()
        refusal = b.get_by_text("Modifications non enregistrées : la semaine a été modifiée")
        refusal.wait_for(timeout=60_000)
        _settled(b)
        refusal.scroll_into_view_if_needed()
        b.screenshot(path=str(ARTIFACTS / "tournees_refus.png"))
        refused = refusal.inner_text()
        assert load_plan(ws, week).version == 2  # nothing written for B

        b.get_by_role("button", name="Reprendre mes modifications sur la dernière version").click()
        b.get_by_text("Version 3 enregistrée : vos modifications reprises").first.wait_for(
            timeout=120_000  # the replay saves, then the page redraws the week's route map
        )
        _settled(b)
        b.screenshot(path=str(ARTIFACTS / "tournees_repris.png"))
        browser.close()
    # the table's own download (English CSV) is switched off: .streamlit/config.toml
    assert "Search" in toolbar and "Download as CSV" not in toolbar, toolbar
    assert "(version 2 par application à " in refused and "1 visite retirée" in refused
    latest = load_plan(ws, week)
    expected = first.visits.drop(index=first.visits.index[[0, 2]])
    assert latest.version == 3 and _records(latest.visits) == _records(expected)
    assert plan_history(ws, week)["version"].tolist() == [1, 2, 3]
