"""AppTest of the « Méthodes » page: the methods document with this workspace's parameters."""

from __future__ import annotations

import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from territory.analysis.priority import Weights, save_weights
from territory.store import Workspace
from territory.ui.methodes import METHODS_INTRO
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "app_pages/methodes.py"


def open_page(workspace: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    at.run()
    at.switch_page(PAGE)
    return at.run()


def page_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_page_says_how_every_figure_is_made(demo_workspace: Path) -> None:
    at = open_page(demo_workspace)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Méthodes"]
    assert METHODS_INTRO in [c.value for c in at.caption]
    text = page_text(at)
    for section in (
        "## Protection des données",
        "## Indicateurs",
        "## Score de priorité",
        "## Créneaux",
        "## Planification des tournées",
        "## Modèle de déplacement",
    ):
        assert section in text, section
    assert "**Seuil k** : 11 personnes" in text and "multiple de 5" in text
    assert "Contacts pour 1 000 habitants" in text and "`contacts_pour_1000`" not in text
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    assert set(buttons) == {"Méthodes (.md)"}


def test_page_follows_the_workspace_s_saved_weights(demo_workspace: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copie.gpkg"
    shutil.copy(demo_workspace, copy)
    save_weights(Workspace.open(copy), Weights(need=4.0, coverage=1.0, access=0.0, mobility=2.0))
    at = open_page(copy)
    assert not at.exception, at.exception
    assert "| 4 | 1 | 0 | 2 |" in page_text(at)
