"""AppTest of the app on the server (issue #24): same pages, same figures as the file.

The demo workspace is moved onto a fresh PostgreSQL database (``territory db import``'s
code) and the app runs with ``TERRITORY_DATABASE_URL`` set: the home page lists the
server's workspaces, and its figures and the map are those of the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from conftest import map_args
from streamlit.testing.v1 import AppTest

from territory._pgimport import import_file
from territory.ui import loaders
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def run(workspace: str, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = workspace
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def on_server(
    demo_workspace: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    report = import_file(demo_workspace, pg_database, name="demo")
    assert report.ok
    monkeypatch.setenv("TERRITORY_DATABASE_URL", pg_database)
    loaders.settings.clear()  # the settings are read once per process
    yield "demo"
    monkeypatch.delenv("TERRITORY_DATABASE_URL", raising=False)
    loaders.settings.clear()


def test_the_home_page_lists_the_server_and_gives_the_files_figures(
    demo_workspace: Path, on_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = run(on_server)
    choice = server.selectbox(key=Keys.W_WORKSPACE_CHOICE)
    assert choice.options == ["demo"] and choice.value == "demo"
    figures = {m.label: m.value for m in server.metric}
    monkeypatch.delenv("TERRITORY_DATABASE_URL")
    loaders.settings.clear()
    on_file = run(str(demo_workspace))
    assert figures == {m.label: m.value for m in on_file.metric}
    assert int(figures["Communes"]) >= 30


def test_the_map_on_the_server_is_the_files_map(demo_workspace: Path, on_server: str) -> None:
    server = map_args(run(on_server, "app_pages/carte.py"))
    assert "postgresql" not in json.dumps(server)  # no server address in the page
    loaders.settings.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TERRITORY_DATABASE_URL")
        on_file = map_args(run(str(demo_workspace), "app_pages/carte.py"))
    assert server.keys() == on_file.keys()
    assert server == on_file


def test_a_purge_from_the_page_on_the_server_keeps_the_recent_contacts(
    on_server: str, pg_database: str
) -> None:
    from territory.privacy.raw import retention_cutoff
    from territory.store import Workspace

    cutoff = retention_cutoff(date.today(), 12)
    ws = Workspace.open(on_server)
    kept = ws.query("SELECT count(*) AS n FROM contacts WHERE date >= ?", (cutoff.isoformat(),))
    at = run(on_server, "app_pages/donnees.py")
    at.number_input(key=Keys.W_PURGE_MONTHS).set_value(12)
    at.checkbox(key=Keys.W_PURGE_CONFIRM).check()
    next(b for b in at.button if b.label == "Purger").click()
    at.run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success if s.value.startswith("Purge faite")]
    assert Workspace.open(on_server).layers()["contacts"].count == int(kept["n"].iloc[0]) > 0
