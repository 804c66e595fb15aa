"""Shared fixtures: settings with a temporary secret, the demo workspace (built once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from territory import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session", autouse=True)
def workspaces_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The app's workspace folder (``TERRITORY_WORKSPACES_DIR``): pytest's temporary root.

    The app opens only the workspaces of this folder; the page tests and the served app
    (which inherits the environment) open workspaces under ``tmp_path``, all inside it.
    Set once for the session, before any page reads the (cached) settings.
    """
    root = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TERRITORY_WORKSPACES_DIR", str(root))
        yield root


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Default settings whose HMAC secret lives in a temporary folder."""
    return Settings(secret_path=tmp_path_factory.mktemp("secret") / "secret.key")


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Path:
    """The demo workspace, built once per test session through the real importers."""
    from territory.demo import build_demo_workspace

    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    build_demo_workspace(path, settings=settings)
    return path


@pytest.fixture(scope="module")
def app_url(demo_workspace: Path, settings: Settings) -> Iterator[str]:
    """``streamlit run app.py`` on a free port, on the demo workspace; stopped at the end."""
    from bench._browser import ROOT as CHECKOUT
    from bench._browser import chromium_path, streamlit_server

    if chromium_path() is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    env = {
        "TERRITORY_WORKSPACE": str(demo_workspace),
        "TERRITORY_SECRET_PATH": str(settings.secret_path),
    }
    with streamlit_server(CHECKOUT / "app.py", env=env) as url:
        yield url


def shared_file(name: str) -> Path:
    """A real open-data extract from ../shared, or skip the test with the reason."""
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"../shared/data/real/{name} absent : extraits réels non disponibles")
    return path


def demo_copy_without_territories(demo_workspace: Path, folder: Path) -> Path:
    """A private copy of the demo workspace without its two demo territories."""
    import shutil

    from territory.store import Workspace
    from territory.territories import delete_territory, list_territories

    path = folder / "demo-copy.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    for defined in list_territories(ws):
        delete_territory(ws, defined.name)
    return path


def map_element(at: Any) -> Any:
    """The one ``st_folium`` component a page rendered in an ``AppTest`` (asserts one)."""
    elements = [
        e for e in at.main.get("component_instance") if "streamlit_folium" in e.proto.component_name
    ]
    assert len(elements) == 1
    return elements[0]


def map_args(at: Any) -> dict[str, Any]:
    """The arguments the page sent to the map component (``script``, ``js_links``…)."""
    import json

    return json.loads(map_element(at).proto.json_args)


def map_text(at: Any) -> str:
    """The map's data (JSON elements of its ``html``), then its ``script``."""
    args = map_args(at)
    return str(args["html"] + args["script"])
