"""Workbooks with several sheets (issue #19): the sheet read, the sheets ignored, the choice.

And the French headers of the partner, place and team files, each guess noted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from samples import HEADER, ROWS, xlsx

from territory import InputFileError, SheetChoiceError, ValidationError
from territory.ingest import import_file
from territory.io._sheets import pick_sheet, sheet_names
from territory.io._validate import header_test
from territory.io.contacts import preview_contacts, read_contacts
from territory.io.partners import read_partners
from territory.rounds.week import read_places, read_teams
from territory.store import Workspace

SECRET = b"0" * 32
NOTES = [["Réunion du 3 mars", "à relire"], ["Penser aux horaires d'été"]]
LEGEND = [["Code", "Signification"], ["ML", "Mission locale"]]
PARTNERS = [
    ["Nom de la structure", "Catégorie", "Adresse postale", "Ville", "Tél.", "N°"],
    ["Mission locale", "ML", "1 rue X, 14000 Caen", "Caen", "231234567", "P-01"],
    ["Centre social Est", "CS", "2 rue Y, 14000 Caen", "Caen", "02 31 00 00 00", "P-02"],
]
CONTACTS = [HEADER.split(";"), *(row.split(";") for row in ROWS)]


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["00001", "00002"]},
        geometry=[shapely.box(2.70, 46.40, 2.76, 46.50), shapely.box(2.76, 46.40, 2.80, 46.50)],
        crs=4326,
    )


def book(tmp_path: Path, sheets: dict[str, list[list[str]]], name: str = "f.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(xlsx(sheets))
    return path


# ----------------------------------------------------------------------- the rules


def test_one_sheet_with_the_header_is_read_and_the_others_named(tmp_path: Path) -> None:
    path = book(tmp_path, {"Notes": NOTES, "Partenaires": PARTNERS, "Vide": [], "Légende": LEGEND})
    pick = pick_sheet(path, is_header=header_test(["nom de la structure"]))
    assert (pick.name, pick.ignored) == ("Partenaires", ("Notes", "Légende"))
    assert pick.note() == (
        "feuille « Partenaires » lue ; feuilles ignorées : « Notes », « Légende »"
    )
    assert sheet_names(path) == ["Notes", "Partenaires", "Légende"]  # the empty one skipped


def test_several_candidate_sheets_are_refused_with_their_names(tmp_path: Path) -> None:
    path = book(tmp_path, {"2025": PARTNERS, "2026": PARTNERS, "Notes": NOTES})
    with pytest.raises(SheetChoiceError) as error:
        pick_sheet(path, is_header=header_test(["nom de la structure"]))
    assert error.value.sheets == ("2025", "2026", "Notes")
    assert "« 2025 », « 2026 », « Notes »" in str(error.value)
    assert "--feuille" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(SheetChoiceError, match="aucune feuille"):
        pick_sheet(path, is_header=header_test(["date_contact"]))


def test_the_chosen_sheet_is_read_and_an_unknown_one_refused(tmp_path: Path) -> None:
    path = book(tmp_path, {"2025": PARTNERS, "2026": PARTNERS[:2], "Vide": []})
    pick = pick_sheet(path, " 2026", is_header=header_test(["x"]))
    assert (pick.name, pick.ignored, pick.chosen) == ("2026", ("2025",), True)
    with pytest.raises(SheetChoiceError, match=r"pas de feuille « Vide ».*« 2025 », « 2026 »"):
        pick_sheet(path, "Vide", is_header=header_test(["x"]))


def test_a_workbook_of_empty_sheets_or_a_damaged_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="toutes les feuilles du classeur sont vides"):
        pick_sheet(book(tmp_path, {"A": [], "B": [[""]]}), is_header=header_test(["x"]))
    bad = tmp_path / "cassé.xlsx"
    bad.write_bytes(xlsx({"A": PARTNERS})[:300])
    with pytest.raises(InputFileError, match="tableur lisible"):
        pick_sheet(bad, is_header=header_test(["x"]))


# ----------------------------------------------------------------------- the readers


def test_partners_sheet_is_picked_and_french_headers_noted(tmp_path: Path) -> None:
    path = book(tmp_path, {"Notes": NOTES, "Partenaires": PARTNERS, "Légende": LEGEND})
    gdf, report = read_partners(path)
    assert (report.read, report.pending) == (2, 2)
    assert "feuille « Partenaires » lue ; feuilles ignorées : « Notes », « Légende »" in (
        report.notes
    )
    for column, canonical in (
        ("Nom de la structure", "nom"),
        ("Catégorie", "type"),
        ("Adresse postale", "adresse"),
        ("Ville", "commune"),
        ("Tél.", "telephone"),
        ("N°", "identifiant"),
    ):
        assert f"colonne « {column} » lue comme « {canonical} »" in report.notes
    assert list(gdf["identifiant"]) == ["P-01", "P-02"]
    assert list(gdf["type"]) == ["ML", "CS"]
    assert list(gdf["telephone"]) == ["0231234567", "02 31 00 00 00"]


def test_partners_french_csv_with_hours_and_type_of_structure(tmp_path: Path) -> None:
    path = tmp_path / "partenaires.csv"
    path.write_text(
        "Structure;Type de structure;Latitude;Longitude;Horaires d'ouverture;Téléphone\n"
        "PIJ de Vire;PIJ;48,84;-0,89;Mo-Fr 09:00-12:00;0231000000\n",
        encoding="cp1252",
    )
    gdf, report = read_partners(path)
    assert report.accepted == 1 and gdf["horaires"].iloc[0] == "Mo-Fr 09:00-12:00"
    assert gdf["type"].iloc[0] == "PIJ_BIJ" and gdf["nom"].iloc[0] == "PIJ de Vire"
    assert "colonne « Horaires d'ouverture » lue comme « horaires »" in report.notes


def test_partners_sheet_chosen_or_refused(tmp_path: Path) -> None:
    path = book(tmp_path, {"2025": PARTNERS[:2], "2026": PARTNERS})
    with pytest.raises(SheetChoiceError):
        read_partners(path)
    _gdf, report = read_partners(path, sheet="2025")
    assert report.read == 1 and "feuille « 2025 » lue ; feuille ignorée : « 2026 »" in report.notes


def test_contacts_sheet_is_picked_like_the_csv(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    path = book(tmp_path, {"Légende": LEGEND, "Contacts": CONTACTS, "Notes": NOTES})
    result = read_contacts(path, communes=communes, secret=SECRET)
    assert (result.report.read, result.report.accepted) == (len(ROWS), 5)
    assert result.report.notes[0] == (
        "feuille « Contacts » lue ; feuilles ignorées : « Légende », « Notes »"
    )
    assert list(preview_contacts(path).rows.columns) == HEADER.split(";")
    two = book(tmp_path, {"Janvier": CONTACTS[:3], "Février": CONTACTS}, "deux.xlsx")
    with pytest.raises(SheetChoiceError, match="« Janvier », « Février »"):
        read_contacts(two, communes=communes, secret=SECRET)
    chosen = read_contacts(two, communes=communes, secret=SECRET, sheet="Janvier")
    assert chosen.report.read == 2
    assert preview_contacts(two, sheet="Janvier").found["date"] == "date_contact"


def test_title_rows_above_a_sheet_header_are_skipped_and_lines_keep_their_number(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    titles = [["Export SI Mission locale - extraction du 01/03/2026"], [], ["Caen, Calvados"]]
    path = book(tmp_path, {"Contacts": [*titles, *CONTACTS]})
    result = read_contacts(path, communes=communes, secret=SECRET)
    assert (result.report.read, result.report.accepted) == (len(ROWS), 5)
    assert "en-tête à la ligne 4" in result.report.notes[0]
    reasons = {r.row: r.reason for r in result.report.refusals}
    assert "date" in reasons[5 + len(titles)]  # 31/02/2026: its line in the sheet
    assert list(preview_contacts(path).rows.columns) == HEADER.split(";")


def test_places_french_headers_in_a_workbook(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    rows = [
        ["Nom du lieu", "Type de lieu", "Longitude", "Latitude", "Durée (min)", "Priorité"],
        ["City stade", "parc", "2,73", "46,45", "30", "2"],
        ["Gare routière", "gare", "2,78", "46,45", "", ""],
        ["Ailleurs", "parc", "3,50", "46,45", "", ""],
    ]
    path = book(tmp_path, {"Consignes": NOTES, "Lieux": rows})
    places, report = read_places(path, communes=communes)
    assert (report.read, report.accepted, report.refused) == (3, 2, 1)
    assert list(places["nom"]) == ["City stade", "Gare routière"]
    assert list(places["duree"]) == [30, 45] and list(places["priorite"]) == [2, 1]
    assert "feuille « Lieux » lue ; feuille ignorée : « Consignes »" in report.notes
    assert "colonne « Nom du lieu » lue comme « nom »" in report.notes
    assert "colonne « Durée (min) » lue comme « duree »" in report.notes
    with pytest.raises(SheetChoiceError):
        read_places(book(tmp_path, {"A": rows, "B": rows}, "ab.xlsx"), communes=communes)


def test_teams_french_headers_in_a_workbook(tmp_path: Path) -> None:
    from territory.io.report import ImportReport

    header = ["Équipe", "Mode de déplacement", "Effectif", "Longitude de la base"]
    rows = [
        [*header, "Latitude de la base", "Disponibilités"],
        ["Nord", "marche", "3", "2,75", "46,45", "Mo-Fr 14:00-18:00"],
        ["Sud", "vélo", "", "2,76", "46,44", ""],
    ]
    path = book(tmp_path, {"Équipes": rows, "Notes": NOTES})
    report = ImportReport(kind="teams", source=path.name)
    teams = read_teams(path, report=report)
    assert list(teams["nom"]) == ["Nord", "Sud"] and list(teams["taille"]) == [3, 2]
    assert teams["base_lon"].tolist() == [2.75, 2.76]
    assert teams["disponibilites"].iloc[0] == "Mo-Fr 14:00-18:00"
    assert teams["disponibilites"].iloc[1] == "Mo-Fr 09:30-12:30,14:00-18:30"  # the default
    assert "feuille « Équipes » lue ; feuille ignorée : « Notes »" in report.notes
    assert "colonne « Mode de déplacement » lue comme « mode »" in report.notes
    csv = tmp_path / "equipes.csv"
    csv.write_text("Équipe;Mode;Adresse de départ\nNord;marche;1 rue X\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="équipe « Nord » : base introuvable à l'adresse"):
        read_teams(csv)


def test_import_file_threads_the_sheet_and_refuses_it_for_a_csv(
    demo_workspace: Path, tmp_path: Path, settings: object
) -> None:
    ws_path = tmp_path / "ws.gpkg"
    shutil.copyfile(demo_workspace, ws_path)
    ws = Workspace.open(ws_path)
    communes = ws.read_layer("communes").to_crs(4326)
    point = communes.geometry.iloc[0].representative_point()
    rows = [
        ["Lieu", "Type", "Longitude", "Latitude"],
        ["Marché", "marché", f"{point.x:.6f}", f"{point.y:.6f}"],
    ]
    path = book(tmp_path, {"Brouillon": rows, "Définitif": rows})
    with pytest.raises(SheetChoiceError):
        import_file(ws, "places", path, settings=settings)
    report = import_file(ws, "places", path, settings=settings, sheet="Définitif")
    assert report.accepted == 1
    assert "feuille « Définitif » lue ; feuille ignorée : « Brouillon »" in report.notes
    with pytest.raises(ValidationError, match="n'est pas un classeur"):
        import_file(ws, "places", tmp_path / "lieux.csv", settings=settings, sheet="A")
