"""AppTest of the Contacts page: preview, column mapping, report, filtered protected map."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import map_text
from streamlit.testing.v1 import AppTest

from territory import ValidationError
from territory.store import Workspace
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def contacts_page(workspace: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    at.run()
    at.switch_page("app_pages/contacts.py")
    return at.run()


def map_script(at: AppTest) -> str:
    return map_text(at)


def published_counts(script: str) -> list[int]:
    return [int(c) for c in re.findall(r'"count":(\d+)', script)]


@pytest.fixture
def team_file(demo_workspace: Path) -> bytes:
    """A team's export whose date column has a name no synonym knows ("Quand")."""
    communes = Workspace.open(demo_workspace).read_layer("communes")
    point = communes.to_crs(2154).geometry.iloc[0].representative_point()
    x, y = point.x, point.y
    lines = ["Quand;X;Y;Statut;Identifiant"]
    lines += [f"0{1 + i % 9}/03/2026 17:30;{x:.0f};{y:.0f};invisible;J-{i}" for i in range(30)]
    lines += ["31/02/2026 10:00;700000;6600000;premier;J-99"]  # impossible date
    return ("\n".join(lines) + "\n").encode("cp1252")


def test_filtered_map_shows_only_protected_counts(demo_workspace: Path, settings) -> None:
    at = contacts_page(demo_workspace)
    assert not at.exception, at.exception
    unfiltered = published_counts(map_script(at))
    assert unfiltered and all(c == 0 or c >= settings.k for c in unfiltered)
    at.selectbox(key=Keys.W_CONTACTS_FILTER).set_value("statut").run()
    values = at.selectbox(key=f"{Keys.W_CONTACTS_VALUE}_statut")
    assert "hors radars" in values.options
    values.set_value("hors radars").run()
    assert not at.exception, at.exception
    script = map_script(at)
    filtered = published_counts(script)
    assert filtered and all(c == 0 or c >= settings.k for c in filtered)
    assert filtered != unfiltered
    assert '"longitude"' not in script and "J-" not in script


def test_upload_preview_mapping_and_report(
    demo_workspace: Path, tmp_path: Path, team_file: bytes
) -> None:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    before = Workspace.open(path).layers()["contacts"].count
    at = contacts_page(path)
    at.file_uploader(key=Keys.W_CONTACTS_FILE).set_value(("export.csv", team_file, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    preview = at.dataframe[0].value
    assert list(preview.columns) == ["Quand", "X", "Y", "Statut", "Identifiant"]
    # x/y, status and key recognised; the date is not: the user maps it
    assert at.selectbox(key=f"{Keys.W_CONTACTS_FIELD}_x").value == "X"
    assert at.selectbox(key=f"{Keys.W_CONTACTS_FIELD}_personne").value == "Identifiant"
    at.selectbox(key=f"{Keys.W_CONTACTS_FIELD}_date").set_value("Quand")
    at.button[0].click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Lues"] == "31" and metrics["Acceptées"] == "30"
    assert metrics["Refusées"] == "1" and metrics["En attente"] == "0"
    assert Workspace.open(path).layers()["contacts"].count == before + 30
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Lignes refusées, avec le motif"]
    notes = "\n".join(m.value for m in at.markdown)
    # the note points to the download, not to the temporary copy deleted after the import
    assert "1 ligne(s) refusée(s) à télécharger ci-dessous" in notes
    assert "territory-import-" not in notes


def test_an_unreadable_upload_is_a_french_error(demo_workspace: Path) -> None:
    at = contacts_page(demo_workspace)
    at.file_uploader(key=Keys.W_CONTACTS_FILE).set_value(("vide.csv", b"", "text/csv"))
    at.run()
    assert not at.exception
    assert "Fichier illisible" in at.error[0].value and "vide" in at.error[0].value


def test_a_workbook_of_several_sheets_asks_which_one(
    demo_workspace: Path, tmp_path: Path, team_file: bytes
) -> None:
    """#19: no sheet has a known date column: the page asks; the chosen sheet is imported."""
    from samples import xlsx

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    before = Workspace.open(path).layers()["contacts"].count
    rows = [line.split(";") for line in team_file.decode("cp1252").splitlines()]
    book = xlsx({"Notes": [["relu le 3 mars"]], "Mars": rows})
    at = contacts_page(path)
    at.file_uploader(key=Keys.W_CONTACTS_FILE).set_value(("export.xlsx", book, "application"))
    at.run()
    assert not at.exception, at.exception
    assert any("« Notes », « Mars »" in w.value for w in at.warning)
    assert at.selectbox(key=Keys.W_CONTACTS_SHEET).options == ["Notes", "Mars"]
    at.selectbox(key=Keys.W_CONTACTS_SHEET).set_value("Mars").run()
    assert list(at.dataframe[0].value.columns) == ["Quand", "X", "Y", "Statut", "Identifiant"]
    at.selectbox(key=f"{Keys.W_CONTACTS_FIELD}_date").set_value("Quand")
    at.button[0].click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Lues"] == "31" and metrics["Acceptées"] == "30"
    assert Workspace.open(path).layers()["contacts"].count == before + 30
    notes = " ".join(m.value for m in at.markdown)
    assert "feuille « Mars » lue ; feuille ignorée : « Notes »" in notes


def test_hot_spots_of_the_filtered_density_or_one_line_saying_why(
    demo_workspace: Path, settings
) -> None:
    """Issue #23: the « Points chauds » overlay follows the filter (its quarter's values)."""
    from territory.views import breakdown_choices, hot_spots_layer

    at = contacts_page(demo_workspace)
    at.toggle(key=Keys.W_HOTSPOTS).set_value(True).run()
    assert not at.exception, at.exception
    assert '"classe":"point chaud"' in map_script(at)  # the unfiltered density's
    quarters = breakdown_choices(Workspace.open(demo_workspace), settings=settings)["periode"]
    at.selectbox(key=Keys.W_CONTACTS_FILTER).set_value("periode").run()
    seen = {"drawn": 0, "said": 0}
    for quarter in quarters:
        at.selectbox(key=f"{Keys.W_CONTACTS_VALUE}_periode").set_value(quarter).run()
        assert not at.exception, at.exception
        script = map_script(at)
        said = any("Points chauds indisponibles" in c.value for c in at.caption)
        try:
            expected = hot_spots_layer(
                Workspace.open(demo_workspace),
                settings=settings,
                breakdown=("periode", quarter),
            ).frame
        except ValidationError:  # too few zones: the page says so and draws none
            assert said and '"classe":' not in script, quarter
            seen["said"] += 1
            continue
        assert not said, quarter
        hot = expected[expected["classe"] == "point chaud"]
        for zone in hot["zone"]:  # the quarter's own hot spots, not the whole map's
            assert f'"zone":"{zone}"' in script, (quarter, zone)
        counts = published_counts(script)
        assert counts and all(c == 0 or c >= settings.k for c in counts)
        seen["drawn"] += 1
    assert seen["drawn"] >= 1, seen
