"""Real browser: the "Données" page's shareable file downloads, built when it is clicked."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from bench._browser import CHROMIUM_ARGS, chromium_path

CHROMIUM = chromium_path()

pytestmark = pytest.mark.browser


def test_the_shareable_file_downloads_with_published_layers_only(
    app_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_text("Planifier l'aller-vers").wait_for(timeout=90_000)
        page.get_by_role("link", name="Données").first.click()
        page.get_by_text("il ne se partage pas").wait_for(timeout=90_000)
        button = page.get_by_role("button", name="Fichier partageable (.gpkg)")
        with page.expect_download(timeout=120_000) as info:
            button.click()
        download = info.value
        name = download.suggested_filename
        path = tmp_path / name
        download.save_as(path)
        browser.close()
    assert name.endswith("-partageable.gpkg")
    layers = {str(layer) for layer, _ in pyogrio.list_layers(path)}
    assert {"communes", "density", "indicators_communes", "shareable_metadata"} <= layers
    assert not any("contact" in layer for layer in layers)


def test_the_evaluation_package_downloads_as_a_zip_for_qgis(app_url: str, tmp_path: Path) -> None:
    import zipfile

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(app_url, wait_until="domcontentloaded")
        page.get_by_text("Planifier l'aller-vers").wait_for(timeout=90_000)
        page.get_by_role("link", name="Données").first.click()
        page.get_by_text("il ne se partage pas").wait_for(timeout=90_000)
        button = page.get_by_role("button", name="Paquet d'évaluation (.zip)")
        with page.expect_download(timeout=180_000) as info:
            button.click()
        download = info.value
        name = download.suggested_filename
        path = tmp_path / name
        download.save_as(path)
        browser.close()
    assert name.endswith("-evaluation.zip")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["evaluation.gpkg", "datapackage.json", "methodes.md"]
        archive.extractall(tmp_path / "paquet")
    gpkg = tmp_path / "paquet" / "evaluation.gpkg"
    layers = {str(layer) for layer, _ in pyogrio.list_layers(gpkg)}
    assert {"communes", "density", "indicators_communes", "layer_styles"} <= layers
    assert not any("contact" in layer for layer in layers)
    assert pyogrio.read_info(gpkg, layer="density")["crs"] == "EPSG:2154"
