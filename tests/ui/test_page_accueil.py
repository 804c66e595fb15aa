"""AppTest of the home page (the app.py frame)."""

from __future__ import annotations

from pathlib import Path

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
