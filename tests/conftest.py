"""Shared fixtures: settings with a temporary secret, the demo workspace (built once)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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


BACKEND = os.environ.get("TERRITORY_TEST_BACKEND", "file")
"""The store's engine the tests run on: ``file`` (GeoPackage) or ``postgres`` (issue #24)."""


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """With ``TERRITORY_TEST_BACKEND=postgres``, every workspace a test makes is on the server.

    Each test then gets a fresh database (``pg_database``) as ``TERRITORY_DATABASE_URL``,
    so that ``Workspace.create(tmp_path / "w.gpkg")`` makes the schema ``w`` there, and the
    demo workspace is imported there as ``demo`` for the tests that use it. Tests that read
    the file itself are marked ``file_only`` and skipped, saying so.
    """
    if BACKEND != "postgres":
        yield "file"
        return
    if request.node.get_closest_marker("file_only"):
        pytest.skip("lit le fichier GeoPackage lui-même : moteur fichier seulement")
    url = request.getfixturevalue("pg_database")
    if "demo_workspace" in request.fixturenames:  # the demo, moved onto the server
        from territory._pgimport import import_file

        demo = request.getfixturevalue("demo_workspace")
        assert import_file(demo, url, name=demo.stem).ok
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TERRITORY_DATABASE_URL", url)
        yield "postgres"


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


@pytest.fixture(scope="session")
def pg_server() -> str:
    """URL of the test PostgreSQL server's administrator (``TERRITORY_TEST_DATABASE_URL``).

    ``scripts/test.sh`` starts Debian's PostgreSQL + PostGIS as root and sets it; without
    it the server tests skip, saying so. A template database with PostGIS is made once.
    """
    import psycopg

    url = os.environ.get("TERRITORY_TEST_DATABASE_URL", "")
    if not url:
        pytest.skip(
            "PostgreSQL absent : TERRITORY_TEST_DATABASE_URL non défini "
            "(scripts/postgres.sh en démarre un, en root)"
        )
    with psycopg.connect(url, autocommit=True) as con:
        if not con.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEMPLATE,)
        ).fetchone():
            con.execute(f'CREATE DATABASE "{PG_TEMPLATE}"')
            with psycopg.connect(_database(url, PG_TEMPLATE), autocommit=True) as tpl:
                tpl.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh database with PostGIS for one test, dropped after it: its URL."""
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture
def server(pg_database: str) -> Any:
    """A fresh database with the access schema and its two login roles (``access_server``).

    Here rather than in ``tests/access/conftest.py``: a second module named ``conftest``
    would shadow this one for every ``from conftest import …`` collected after it.
    """
    from access_server import init_server

    return init_server(pg_database)


@pytest.fixture(scope="module")
def pg_module_database(pg_server: str) -> Iterator[str]:
    """A fresh database with PostGIS for a module's tests (a served app's), dropped after."""
    with fresh_database(pg_server) as url:
        yield url


@contextmanager
def fresh_database(pg_server: str) -> Iterator[str]:
    """A new database made from the PostGIS template, dropped on the way out: its URL."""
    import psycopg

    name = f"territory_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}" TEMPLATE "{PG_TEMPLATE}"')
    try:
        yield _database(pg_server, name)
    finally:
        from territory._pgstore import close_idle

        close_idle(_database(pg_server, name))
        with psycopg.connect(pg_server, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


PG_TEMPLATE = "territory_test_template"


def _database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead."""
    return url.rsplit("/", 1)[0] + "/" + name


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
