"""AppTest of the « Comparer » page: territories side by side, only published values."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from territory.programme import (
    Target,
    compare,
    define_programme,
    delete_programme,
    list_programmes,
    load_programme,
)
from territory.store import Workspace
from territory.territories import list_territories
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")
NAME = "Programme d'essai"


@pytest.fixture(scope="module")
def programme_workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo with a programme of our own over two territories, two targets."""
    path = tmp_path_factory.mktemp("comparer") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    names = [t.name for t in list_territories(ws)][:2]
    define_programme(
        ws,
        NAME,
        territories=names,
        start=date(2025, 1, 1),
        end=date(2026, 12, 31),
        targets=(
            Target(names[0], "entrée en parcours", "2026", 2000),
            Target(names[1], "contact", "2026", 200),
        ),
    )
    return path


def comparer_page(workspace: Path, programme: str | None = NAME) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    if programme:  # the demo has a programme of its own
        at.session_state[Keys.W_COMPARE_PROGRAMME] = programme
    at.run()
    at.switch_page("app_pages/comparer.py")
    return at.run()


def people_values(at: AppTest) -> list[str]:
    """The counts of people the page shows: metrics, funnel, zones, exits, maps.

    Metrics that are not rates; the small maps' people per commune. (The rounds table
    counts visits and hours, the sources table holds vintages; the maps' table also holds
    commune codes, inhabitants and rates.)
    """
    values = [str(m.value) for m in at.metric if not str(m.value).endswith("‰")]
    for frame in at.dataframe:
        table = frame.value
        if "Code" in table.columns:  # the maps' values: only their people
            values += [str(v) for v in table["Jeunes rencontrés"]]
        elif not {"Visites prévues", "Millésime"} & set(table.columns):
            table = table.drop(columns=["Territoire", "Étape"], errors="ignore")
            values += [str(v) for v in table.to_numpy().ravel()]
    return values


def test_territories_side_by_side_with_targets_and_denominators(
    programme_workspace: Path, settings
) -> None:
    at = comparer_page(programme_workspace)
    assert not at.exception, at.exception
    assert at.selectbox(key=Keys.W_COMPARE_PROGRAMME).value == NAME
    territories = list(load_programme(Workspace.open(programme_workspace), NAME).territories)
    funnel = at.dataframe[0].value
    assert list(funnel.columns) == ["Étape", *territories]
    expected = compare(
        Workspace.open(programme_workspace), NAME, period="programme", settings=settings
    )
    for territory in territories:  # the page shows compare's published texts, nothing else
        mine = expected.funnel[expected.funnel["Territoire"] == territory]
        cells = funnel[territory].to_list()
        assert [c.split(" (")[0] for c in cells] == mine["Affiché"].to_list()
    labels = [m.label for m in at.metric]
    assert "Entrées en parcours en 2026 — cible : 2\u202f000" in labels  # the step's title
    captions = " ".join(c.value for c in at.caption)
    assert "dénominateur : **" in captions  # each rate card names its denominator
    assert "Atteinte estimée" in captions


def test_no_value_under_k_is_shown(programme_workspace: Path, settings) -> None:
    at = comparer_page(programme_workspace)
    values = people_values(at)
    assert len(values) > 20
    for value in values:
        for number in re.findall(r"\d[\d\u202f]*", value.split(" (")[0]):
            n = int(number.replace("\u202f", ""))
            assert n == 0 or n >= settings.k or value.startswith("<"), value


def test_the_period_choice_reruns_the_comparison(programme_workspace: Path) -> None:
    at = comparer_page(programme_workspace)
    period = at.selectbox(key=Keys.W_COMPARE_PERIOD)
    assert period.options[:3] == ["Tout le programme", "Année 2025", "Année 2026"]
    period.set_value("2026-T1").run()
    assert not at.exception, at.exception
    assert at.selectbox(key=Keys.W_COMPARE_PERIOD).value == "2026-T1"
    assert at.dataframe[0].value.shape[0] == 5  # the five funnel steps


def test_the_demo_programme_is_offered(programme_workspace: Path) -> None:
    at = comparer_page(programme_workspace, programme=None)
    assert not at.exception, at.exception
    programmes = at.selectbox(key=Keys.W_COMPARE_PROGRAMME).options
    assert NAME in programmes and len(programmes) >= 2


def test_without_a_programme_a_french_way_to_define_one(demo_workspace: Path, tmp_path) -> None:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    for programme in list_programmes(ws):
        delete_programme(ws, programme.name)
    at = comparer_page(path, programme=None)
    assert not at.exception, at.exception
    assert "Aucun programme" in at.info[0].value
    assert "territory programme define" in at.code[0].value
