"""Real browser: the « Comparer » page side by side, its charts, and the PDF pack download."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bench._browser import CHROMIUM_ARGS, chromium_path

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = chromium_path()
NAME = "Programme d'essai"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def comparer_url(demo_workspace: Path, settings, tmp_path_factory) -> Iterator[str]:
    """The app served on a copy of the demo with a programme over its two territories."""
    from bench._browser import ROOT, streamlit_server
    from territory.programme import Target, define_programme
    from territory.store import Workspace
    from territory.territories import list_territories

    if CHROMIUM is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    path = tmp_path_factory.mktemp("comparer-browser") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    names = [t.name for t in list_territories(ws)][:2]
    define_programme(
        ws,
        NAME,
        territories=names,
        start=date(2025, 1, 1),
        end=date(2026, 12, 31),
        targets=tuple(Target(n, "entrée en parcours", "2026", 300) for n in names),
    )
    env = {"TERRITORY_WORKSPACE": str(path), "TERRITORY_SECRET_PATH": str(settings.secret_path)}
    with streamlit_server(ROOT / "app.py", env=env) as url:
        yield url


def test_the_page_shows_the_territories_and_downloads_the_pack(
    comparer_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(comparer_url, wait_until="domcontentloaded")
        page.get_by_text("Planifier l'aller-vers").wait_for(timeout=90_000)
        page.get_by_role("link", name="Comparer").first.click()
        page.get_by_text("Comparer les territoires du programme").wait_for(timeout=90_000)
        page.get_by_text("Taux pour 1 000, avec leur dénominateur").wait_for(timeout=90_000)
        # the demo's own programme first; ours is picked in the drop-down
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Programme").first.click()
        page.get_by_role("option", name=NAME).click()
        page.get_by_text("en 2026 — cible : 300").first.wait_for(timeout=90_000)
        page.get_by_text("Taux pour 1 000, avec leur dénominateur").wait_for(timeout=90_000)
        # the Altair charts drawn by Vega in the browser (targets and monthly trends)
        drawn = page.locator(".vega-embed canvas, .vega-embed svg").filter(visible=True)
        drawn.first.wait_for(state="visible", timeout=90_000)
        assert drawn.count() >= 2
        body = page.inner_text("body")
        assert "Agglomération de l'Ardoise" in body and "Communes rurales" in body
        assert "en 2026 — cible : 300" in body and "Atteinte estimée" in body
        assert "dénominateur" in body and "millésime" in body.lower()
        page.screenshot(path=str(ARTIFACTS / "comparer.png"), full_page=False)
        page.get_by_text("Évolution mensuelle").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "comparer_tendances.png"), full_page=False)
        button = page.get_by_role("button", name="Dossier A4 (PDF)")
        with page.expect_download(timeout=120_000) as info:
            button.click()
        download = info.value
        name = download.suggested_filename
        path = tmp_path / name
        download.save_as(path)
        browser.close()
    assert name.startswith("copil-") and name.endswith(".pdf")
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    assert len(reader.pages) >= 3  # the synthesis, then one page per territory
    assert "Communes rurales" in reader.pages[-1].extract_text()
