"""Teams as a team lead writes them: French modes, availability in French, base by address."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import responses
from ban_sample import COMMUNES_14, write_ban

from territory import Settings, ValidationError
from territory.cli import EXIT_OK, main
from territory.hours import read_hours, windows_from_opening_hours
from territory.io.geocoding import BAN_CSV_URL
from territory.io.report import ImportReport
from territory.rounds.teams import (
    GRID_SLOTS,
    HOURS_FR_COLUMN,
    grid_from_hours,
    hours_from_grid,
    read_teams,
    save_teams,
    teams_from_table,
    with_hours_fr,
)
from territory.store import Workspace
from territory.vocab import WEEKDAYS_FR


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(
        "\n".join(["Équipe;Mode de déplacement;base_lon;base_lat;Disponibilités", *rows])
    )
    return path


def test_french_spellings_of_the_modes_are_read_and_noted(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "equipes.csv",
        [
            "A;À pied;2.35;48.85;du lundi au vendredi de 9h30 à 12h30",
            "B;Velo;2.35;48.85;",
            "C;Transports en commun;2.35;48.85;Mo-Fr 09:00-17:00",
            "D;voiture;2.35;48.85;",
        ],
    )
    report = ImportReport(kind="teams", source=path.name)
    table = read_teams(path, report=report)
    assert table["mode"].tolist() == ["marche", "vélo", "transports en commun", "voiture"]
    assert table["disponibilites"].iloc[0] == "Mo-Fr 09:30-12:30"
    assert "mode « À pied » lu comme « marche »" in report.notes
    assert "mode « Velo » lu comme « vélo »" in report.notes
    assert not any("voiture" in note for note in report.notes)  # already the stored word
    assert [t.mode for t in teams_from_table(table)] == table["mode"].tolist()


def test_an_unknown_mode_is_refused_with_the_line_and_the_choices(tmp_path: Path) -> None:
    path = _write(tmp_path / "equipes.csv", ["A;trottinette;2.35;48.85;", "B;à pied;2.35;48.85;"])
    with pytest.raises(ValidationError) as error:
        read_teams(path)
    assert "ligne 2 : mode « trottinette » inconnu" in str(error.value)
    assert "ligne 3" not in str(error.value)


def test_availability_is_shown_in_french_next_to_the_editable_column() -> None:
    table = pd.DataFrame(
        {
            "nom": ["A", "B", "C", "D"],
            "disponibilites": [
                "Mo-Fr 09:30-12:30",
                "du lundi au vendredi de 14h à 18h",
                None,
                "le matin",
            ],
            "secteur": ["", "", "", ""],
        }
    )
    shown = with_hours_fr(table)
    assert shown.columns.tolist() == ["nom", "disponibilites", HOURS_FR_COLUMN, "secteur"]
    plain = shown[HOURS_FR_COLUMN].tolist()
    assert plain[0] == "lun.–ven. 9h30–12h30"
    assert plain[1] == "lun.–ven. 14h–18h"
    assert plain[2].startswith("lun.–ven. 9h30–12h30") and plain[2].endswith("(par défaut)")
    assert plain[3] == "illisible : le matin"
    assert table.columns.tolist() == ["nom", "disponibilites", "secteur"]  # input untouched


@pytest.fixture
def ban_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Three Calvados communes and the BAN sample imported (no network)."""
    monkeypatch.setenv("TERRITORY_SECRET_PATH", str(tmp_path / "secret.key"))
    monkeypatch.setenv("TERRITORY_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "calvados.gpkg"
    args = ["import", "communes", str(COMMUNES_14), "--workspace", str(path)]
    assert main([*args, "--create", "Calvados"]) == EXIT_OK
    ban = write_ban(tmp_path / "adresses-14.csv.gz")
    assert main(["import", "ban", str(ban), "--workspace", str(path)]) == EXIT_OK
    return Workspace.open(path)


def _bases(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["Équipe;Mode;Adresse de la base", *rows]), encoding="utf-8")
    return path


def test_a_base_given_by_its_address_is_placed_with_the_imported_ban(
    ban_workspace: Workspace, tmp_path: Path
) -> None:
    path = _bases(tmp_path / "equipes.csv", ["Centre;à pied;10 rue de Bayeux 14000 Caen"])
    report = ImportReport(kind="teams", source=path.name)
    table = read_teams(path, report=report, ws=ban_workspace)
    assert table.loc[0, ["base_lon", "base_lat"]].tolist() == pytest.approx([-0.3781, 49.1862])
    assert "1 base(s) d'équipe placée(s) par leur adresse (BAN importée)" in report.notes


def test_a_base_not_found_is_refused_naming_the_team_unless_online_is_chosen(
    ban_workspace: Workspace, tmp_path: Path
) -> None:
    path = _bases(
        tmp_path / "equipes.csv",
        ["Centre;à pied;10 rue de Bayeux 14000 Caen", "Nord;vélo;7 allée Inconnue 14000 Caen"],
    )
    with pytest.raises(ValidationError) as error:
        read_teams(path, ws=ban_workspace)
    message = str(error.value)
    assert (
        "équipe « Nord » : base introuvable à l'adresse « 7 allée Inconnue 14000 Caen »" in message
    )
    assert "géocodage en ligne non demandé" in message and "Centre" not in message


@responses.activate
def test_with_the_opt_in_the_online_ban_places_what_the_local_one_does_not(
    ban_workspace: Workspace, tmp_path: Path
) -> None:
    responses.post(
        BAN_CSV_URL,
        body="id,adresse,code_insee,latitude,longitude,result_label,result_score\n"
        "0,7 allée Inconnue 14000 Caen,,49.19,-0.365,7 Allée Inconnue 14000 Caen,0.8\n",
    )
    path = _bases(
        tmp_path / "equipes.csv",
        ["Centre;à pied;10 rue de Bayeux 14000 Caen", "Nord;vélo;7 allée Inconnue 14000 Caen"],
    )
    table = read_teams(
        path, ws=ban_workspace, settings=Settings(cache_dir=tmp_path / "cache"), online=True
    )
    assert table["base_lon"].tolist() == pytest.approx([-0.3781, -0.365])
    assert len(responses.calls) == 1  # only the address the imported BAN did not place
    assert b"Inconnue" in responses.calls[0].request.body
    assert b"Bayeux" not in responses.calls[0].request.body


def test_coordinates_given_win_over_the_address_and_need_no_ban(tmp_path: Path) -> None:
    path = tmp_path / "equipes.csv"
    path.write_text("nom;mode;base_lon;base_lat;Base\nA;voiture;-0.36;49.18;nulle part\n")
    assert read_teams(path)["base_lon"].tolist() == [-0.36]
    path.write_text("nom;mode;base_lon;base_lat;Base\nA;voiture;;;1 place Saint-Pierre Caen\n")
    with pytest.raises(ValidationError, match="pas de BAN importée"):
        read_teams(path)


def test_the_editor_table_saves_a_base_typed_as_an_address(ban_workspace: Workspace) -> None:
    edited = pd.DataFrame(
        {
            "nom": ["Centre"],
            "mode": ["marche"],
            "adresse_base": ["1 place Saint-Pierre 14000 Caen"],
            "base_lon": [None],
            "base_lat": [None],
            HOURS_FR_COLUMN: ["(calculé)"],
        }
    )
    save_teams(ban_workspace, edited)
    stored = ban_workspace.read_table("teams")
    assert stored[["base_lon", "base_lat"]].iloc[0].tolist() == pytest.approx([-0.3632, 49.1838])
    assert "adresse_base" not in stored.columns and HOURS_FR_COLUMN not in stored.columns


@pytest.mark.parametrize(
    "hours",
    [
        "Mo-Fr 09:00-12:30,14:00-18:00",
        "Mo,We,Fr 14:00-21:00; Sa 09:00-12:30",
        "du lundi au jeudi de 9h à 12h30, vendredi de 18h à 21h",
    ],
)
def test_the_weekly_grid_says_what_it_can_and_back(hours: str) -> None:
    grid = grid_from_hours(hours)
    assert grid is not None and grid.index.tolist()[0] == "lundi"
    again = hours_from_grid(grid)
    assert windows_from_opening_hours(again) == windows_from_opening_hours(read_hours(hours)[0])


def test_hours_the_grid_cannot_say_are_not_forced_into_it() -> None:
    assert grid_from_hours("Mo-Fr 09:30-12:30") is None
    assert grid_from_hours("sur rendez-vous") is None
    assert grid_from_hours("") is None


def test_a_ticked_grid_becomes_grouped_osm_hours() -> None:
    grid = pd.DataFrame(False, index=list(WEEKDAYS_FR), columns=list(GRID_SLOTS))
    grid.loc[["lundi", "mardi", "mercredi"], "matin (9h-12h30)"] = True
    grid.loc["samedi", ["après-midi (14h-18h)", "soirée (18h-21h)"]] = True
    assert hours_from_grid(grid) == "Mo-We 09:00-12:30; Sa 14:00-21:00"
    assert hours_from_grid(grid & False) == ""
