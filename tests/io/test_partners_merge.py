"""A second partner file adds and updates (or replaces on demand); unknown hours never open."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from samples import two_communes_workspace

from territory import Settings
from territory.analysis.access import open_partners
from territory.analysis.slots import partner_slots
from territory.cli import main
from territory.hours import is_open, open_during
from territory.ingest import import_file
from territory.store import Workspace

TUESDAY_17 = datetime(2026, 3, 3, 17, 0)
HEADER = "id;nom;typologie;adresse;latitude;longitude;horaires_accueil;telephone\n"
FIRST = HEADER + (
    "ml-1;Mission locale;ML;1 rue A;46,45;2,72;Mo-Fr 09:00-18:00;0231000001\n"
    ";Centre social Étoile;CS;2 place B;46,46;2,73;;0231000002\n"
    ";Point jeunes;PIJ_BIJ;3 rue C;46,47;2,74;Tu 14:00-18:00;\n"
)
SECOND = HEADER + (
    "ml-1;Mission locale (antenne);ML;1 rue A;46,45;2,72;Mo-Fr 09:00-12:00;0231000001\n"
    ";CENTRE SOCIAL ETOILE;CS;2, place B;46,46;2,73;Mo 09:00-12:00;0231999999\n"
    ";Agence France Travail;FT;4 rue D;46,48;2,75;n'importe quoi;\n"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(secret_path=tmp_path / "secret" / "key")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return two_communes_workspace(tmp_path / "w.gpkg")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_second_partner_file_adds_and_updates(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    import_file(ws, "partners", write(tmp_path / "a.csv", FIRST), settings=settings)
    report = import_file(ws, "partners", write(tmp_path / "b.csv", SECOND), settings=settings)
    assert (
        "partenaires : 1 ajouté(s), 2 mis à jour, 1 conservé(s) de l'import précédent "
        "(absents de ce fichier)" in report.notes
    )
    stored = ws.read_layer("partners").set_index("nom")
    assert sorted(stored.index) == [
        "Agence France Travail", "CENTRE SOCIAL ETOILE", "Mission locale (antenne)", "Point jeunes"
    ]  # fmt: skip
    assert stored.loc["Mission locale (antenne)", "horaires"] == "Mo-Fr 09:00-12:00"
    assert stored.loc["Mission locale (antenne)", "identifiant"] == "ml-1"
    assert stored.loc["CENTRE SOCIAL ETOILE", "telephone"] == "0231999999"
    assert stored.loc["Point jeunes", "horaires"] == "Tu 14:00-18:00"  # kept as it was
    assert ws.layers()["partners"].source == "a.csv, b.csv"


def test_replace_keeps_only_the_new_file(ws: Workspace, tmp_path: Path, settings: Settings) -> None:
    import_file(ws, "partners", write(tmp_path / "a.csv", FIRST), settings=settings)
    report = import_file(
        ws, "partners", write(tmp_path / "b.csv", SECOND), settings=settings, replace=True
    )
    assert any("partenaires remplacés" in n and "3 de l'import" in n for n in report.notes)
    assert len(ws.read_layer("partners")) == 3
    assert "Point jeunes" not in set(ws.read_layer("partners")["nom"])


def test_cli_remplacer(ws: Workspace, tmp_path: Path, settings: Settings) -> None:
    first, second = write(tmp_path / "a.csv", FIRST), write(tmp_path / "b.csv", SECOND)
    args = ["import", "partners", "--workspace", str(ws.path)]
    assert main([*args, str(first)]) == 0
    assert main([*args, str(second)]) == 0
    assert len(ws.read_layer("partners")) == 4
    assert main([*args, str(second), "--remplacer"]) == 0
    assert len(ws.read_layer("partners")) == 3


@pytest.mark.parametrize("hours", ["", "   ", "n'importe quoi", "Lundi 9h-12h"])
def test_unknown_hours_are_never_open(hours: str) -> None:
    assert is_open(hours, TUESDAY_17) is not True
    assert open_during(hours, TUESDAY_17, TUESDAY_17.replace(hour=18)) is not True
    partners = pd.DataFrame({"horaires": [hours, "Tu 16:00-18:00"]})
    assert open_partners(partners, TUESDAY_17).tolist() == [False, True]
    slots = partner_slots(partners, week_start=TUESDAY_17.date(), hours=(8, 18))
    assert not slots.loc[0].any() and slots.loc[1].any()


def test_partners_with_dropped_hours_are_stored_as_unknown_and_never_open(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    report = import_file(ws, "partners", write(tmp_path / "b.csv", SECOND), settings=settings)
    assert (
        "1 partenaire(s) aux horaires inconnus (non renseignés ou illisibles) : jamais comptés "
        "comme ouverts" in report.notes
    )
    stored = ws.read_layer("partners").set_index("nom")
    # kept as written, never open
    assert stored.loc["Agence France Travail", "horaires"] == 'unknown "n\'importe quoi"'
    assert not open_partners(stored, TUESDAY_17)["Agence France Travail"]
