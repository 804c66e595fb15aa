"""AppTest of the home page (the app.py frame)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def run_home(workspace: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[Keys.WORKSPACE] = workspace
    return at.run()


def test_home_shows_the_demo_summary_and_banner(demo_workspace: Path) -> None:
    at = run_home(str(demo_workspace))
    assert not at.exception
    assert any("fictif" in w.value for w in at.warning)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Communes"]) >= 30
    assert int(metrics["QPV"]) >= 3
    contacts = metrics["Contacts (protégés)"].replace("\u202f", "")
    assert contacts.isdigit() and int(contacts) % 5 == 0 and int(contacts) >= 11


def test_missing_workspace_gives_a_french_message(tmp_path: Path) -> None:
    at = run_home(str(tmp_path / "absent.gpkg"))
    assert not at.exception
    assert "introuvable" in at.error[0].value
    assert "territory demo" in at.code[0].value


def test_corrupted_workspace_gives_a_french_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"\x00garbage" * 50)
    at = run_home(str(bad))
    assert not at.exception
    assert "Impossible d'ouvrir" in at.error[0].value


# --- only the workspaces of TERRITORY_WORKSPACES_DIR (issue #19, item 8) -------------------
# conftest's ``workspaces_dir`` points the app at pytest's temporary root: ``tmp_path`` and
# the demo workspace are inside it; ``outside`` is a folder of the system's temporary space.


@pytest.fixture
def outside(demo_workspace: Path) -> Iterator[Path]:
    """A real workspace outside the app's folder."""
    with tempfile.TemporaryDirectory(prefix="territory-outside-") as folder:
        path = Path(folder) / "ailleurs.gpkg"
        shutil.copyfile(demo_workspace, path)
        yield path


def test_a_workspace_outside_the_folder_is_refused_in_french(outside: Path) -> None:
    at = run_home(str(outside))
    assert not at.exception
    message = at.error[0].value
    assert "hors du dossier des espaces de travail" in message and "ailleurs.gpkg" in message
    assert str(outside.parent) not in message  # the server's path is not shown
    assert not at.metric  # nothing of it was read


def test_a_path_with_dot_dot_is_refused(demo_workspace: Path) -> None:
    sneaky = demo_workspace.parent / ".." / demo_workspace.parent.name / demo_workspace.name
    at = run_home(str(sneaky))
    assert not at.exception
    assert "chemin refusé (« .. »)" in at.error[0].value and not at.metric


def test_a_symbolic_link_out_of_the_folder_is_refused(outside: Path, tmp_path: Path) -> None:
    link = tmp_path / "lien.gpkg"
    link.symlink_to(outside)
    at = run_home(str(link))
    assert not at.exception
    assert "hors du dossier" in at.error[0].value and not at.metric


def test_other_pages_refuse_a_workspace_outside_the_folder(outside: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[Keys.WORKSPACE] = str(outside)
    at.run()
    at.switch_page("app_pages/carte.py")
    at.run()
    assert not at.exception
    assert "hors du dossier" in at.error[0].value


def test_the_picker_lists_the_files_of_the_folder_only(demo_workspace: Path) -> None:
    at = run_home(str(demo_workspace))
    picker = at.selectbox(key=Keys.W_WORKSPACE_CHOICE)
    assert picker.options and all(o.endswith(".gpkg") for o in picker.options)
    assert not any(o.startswith("/") for o in picker.options)  # relative to the folder
    assert not at.text_input  # no free path to type
