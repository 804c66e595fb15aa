"""Partner lists and opening hours (OSM syntax, France services weekday columns)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import shapely
from conftest import shared_file

from territory._errors import InputFileError, ValidationError
from territory.hours import format_hours_fr, is_open, normalize_hours
from territory.io.partners import PARTNER_COLUMNS, read_partners, weekday_columns_to_osm
from territory.io.report import ImportReport
from territory.vocab import PARTNER_TYPES

COLUMNS = [*PARTNER_COLUMNS, "geometry"]


# --------------------------------------------------------------------------- hours


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {f"h_{d}": "09:00 - 12:00 / 14:00 - 17:00" for d in ("lundi", "mardi", "mercredi")}
            | {"h_jeudi": "09:00 - 12:00 / 14:00 - 17:00", "h_vendredi": "09:00 - 12:00"},
            "Mo-Th 09:00-12:00,14:00-17:00; Fr 09:00-12:00",
        ),
        (  # same hours on non-consecutive days are grouped
            {"h_lundi": "09:00 - 12:00", "h_mardi": "14:00 - 17:00", "h_mercredi": "09:00 - 12:00"},
            "Mo,We 09:00-12:00; Tu 14:00-17:00",
        ),
        (  # "00:00 - 00:00" is an empty first slot; touching ranges merge; odd spacing
            {"h_lundi": "00:00 - 00:00 / 09:00 - 12:00", "h_mardi": "09:00-13:30 /13:30 -  17:00"},
            "Mo 09:00-12:00; Tu 09:00-17:00",
        ),
        ({"h_lundi": "Fermé", "h_mardi": "", "h_samedi": "9h-12h"}, "Sa 09:00-12:00"),
        ({"h_lundi": "sur rendez-vous"}, 'Mo unknown "sur rendez-vous"'),
        ({"h_lundi": "09:00 - 12:00 sur RDV"}, 'Mo 09:00-12:00 "sur RDV"'),
        ({"lundi": "8h30 à 12h", "dimanche": "10:00 - 12:00"}, "Mo 08:30-12:00; Su 10:00-12:00"),
        ({"h_lundi": None, "h_mardi": float("nan")}, ""),
        ({"h_lundi": "Fermé"}, "closed"),
    ],
)
def test_weekday_columns_to_osm(row: dict[str, object], expected: str) -> None:
    osm = weekday_columns_to_osm(row)  # type: ignore[arg-type]
    assert osm == expected
    if osm:
        normalize_hours(osm)  # always valid OSM syntax


def test_normalize_hours() -> None:
    assert normalize_hours(" mo-fr 9:00-12:00 ; PH off ") == "Mo-Fr 09:00-12:00; PH closed"
    assert normalize_hours("Mo 09:00-12:00; Tu 09:00-12:00") == "Mo-Tu 09:00-12:00"
    assert normalize_hours("") == ""
    with pytest.raises(ValidationError, match="opening_hours"):
        normalize_hours("Lundi 9h-12h")


@pytest.mark.parametrize(
    ("osm", "expected"),
    [
        (
            "Mo-Fr 08:30-12:30,13:30-17:00; PH off",
            "lun.–ven. 8h30–12h30, 13h30–17h ; fermé les jours fériés",
        ),
        ("Mo-Sa 09:00-12:00; Su off", "lun.–sam. 9h–12h ; dim. fermé"),
        ('Mo unknown "sur rendez-vous"', "lun. sur rendez-vous"),
        ("24/7", "ouvert 24 h/24, 7 j/7"),
        ("Jul-Aug Mo-Fr 09:00-12:00", "en juil.–août : lun.–ven. 9h–12h"),
        ("Tu-Fr 14:00-19:00; Aug closed", "mar.–ven. 14h–19h ; en août : fermé"),
        ("Mo-Fr 09:00-12:00; Dec 24 off", "Mo-Fr 09:00-12:00; Dec 24 off"),  # fallback: raw string
        ("n'importe quoi", "n'importe quoi"),
        ("", "horaires non renseignés"),
    ],
)
def test_format_hours_fr(osm: str, expected: str) -> None:
    assert format_hours_fr(osm) == expected


def test_is_open() -> None:
    hours = "Mo-Fr 08:30-12:30,13:30-17:00; PH off"
    assert is_open(hours, datetime(2024, 5, 2, 10, 0)) is True
    assert is_open(hours, datetime(2024, 5, 2, 13, 0)) is False
    assert is_open(hours, datetime(2024, 5, 1, 10, 0)) is False  # 1 May, public holiday
    assert is_open(hours, datetime(2024, 5, 2, 8, 0, tzinfo=UTC)) is True  # 10:00 Paris
    assert is_open('Mo unknown "sur rendez-vous"', datetime(2024, 5, 6, 10, 0)) is None
    assert is_open("", datetime(2024, 5, 2, 10, 0)) is None
    assert is_open("Lundi 9h-12h", datetime(2024, 5, 2, 10, 0)) is None


# --------------------------------------------------------------------------- files


def _check_layer(gdf: object, report: ImportReport) -> None:
    assert list(gdf.columns) == COLUMNS  # type: ignore[attr-defined]
    assert gdf.crs == "EPSG:4326"  # type: ignore[attr-defined]
    assert report.read == report.accepted + report.refused + report.pending
    assert len(gdf) == report.accepted + report.pending  # type: ignore[arg-type]


@pytest.mark.real_data
def test_real_france_services() -> None:
    gdf, report = read_partners(shared_file("france_services_20240801.geojson"))
    _check_layer(gdf, report)
    assert (report.read, report.accepted, report.refused, report.pending) == (223, 223, 0, 0)
    assert report.fixed == 3  # the three "00:00 - 00:00" placeholders
    assert set(gdf["type"]) == {"FRANCE_SERVICES"}
    assert set(gdf["type_libelle"]) == {"France services"}
    assert set(gdf["statut"]) == {"fourni"}
    assert gdf["code_insee"].str.fullmatch(r"\d{5}").all()
    assert gdf.geom_type.eq("Point").all()
    hours = gdf.set_index("nom")["horaires"]
    assert hours["France services Caen Pierre Heuzé"] == "Mo-Fr 09:00-12:00,13:00-18:00"
    assert hours["France services de Béthune"] == "Mo-We,Fr 09:00-12:30,14:00-17:00; Th 09:00-19:00"
    assert hours["France services de Les Monts d’Aunay"] == "Mo-Fr 09:00-17:00"
    assert (
        hours["France services La Poste de Strasbourg Lizé"]
        == "Mo,We 09:00-12:00; Tu,Th-Fr 09:00-12:00,14:00-17:00"
    )
    assert (gdf["horaires"] == "").sum() == 5  # every weekday cell empty
    assert all(normalize_hours(h) == h for h in gdf["horaires"])
    caen = gdf.loc[gdf["nom"] == "France services Caen Pierre Heuzé"].iloc[0]
    assert caen["adresse"] == "15 Place Champlain, 14000 Caen"
    assert caen["telephone"] == "02 31 94 65 94"
    assert caen.geometry.equals(shapely.Point(-0.34742, 49.19772))


TEAM_CSV = (
    "nom;typologie;adresse;code_postal;commune;code_insee;latitude;longitude;"
    "horaires_accueil;telephone\n"
    "Mission locale Caen;ML;10 rue Neuve;14000;Caen;14118;49,1829;-0,3707;"
    "Mo-Fr 08:30-12:30; PH off;02 31 00 00 00\n"
    "Centre social Ain;Centre social;1 place du Marché;1000;Bourg-en-Bresse;1053;;;;"
    "474000000\n"
    "Prévention Lisieux;PREVENTION;;;Lisieux;14366;0,2256;49,1463;Lundi 9h-12h;\n"
    "Maison des jeunes;MAISON_QUARTIER;2 rue Haute;14000;Caen;14118;12,5;45,0;;\n"
    ";ML;3 rue Basse;14000;Caen;14118;49,18;-0,37;;\n"
    "PIJ sans adresse;PIJ_BIJ;;;;;;;;\n"
    "E2C Hérouville;E2C;5 av. du Haut;14200;Hérouville-Saint-Clair;14327;49,2;-0,33;"
    "Mo-Fr 09:00-17:00;\n"
    ";;;;;;;;;\n"
)


def _team_file(tmp_path: Path, *, encoding: str) -> Path:
    # The hours column holds a ";" inside a quoted field on line 2.
    text = TEAM_CSV.replace("Mo-Fr 08:30-12:30; PH off", '"Mo-Fr 08:30-12:30; PH off"')
    path = tmp_path / "partenaires.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_team_csv_french_conventions(tmp_path: Path, encoding: str) -> None:
    gdf, report = read_partners(_team_file(tmp_path, encoding=encoding))
    _check_layer(gdf, report)
    assert (report.read, report.accepted, report.pending, report.refused) == (7, 3, 1, 3)
    rows = gdf.set_index("nom")
    ml = rows.loc["Mission locale Caen"]
    assert ml["type"] == "ML" and ml["type_libelle"] == "Mission locale"
    assert ml["horaires"] == "Mo-Fr 08:30-12:30; PH closed"
    assert ml["adresse"] == "10 rue Neuve, 14000 Caen"
    assert ml.geometry.equals(shapely.Point(-0.3707, 49.1829))
    pending = rows.loc["Centre social Ain"]
    assert pending["statut"] == "à géocoder" and pending.geometry is None
    assert pending["type"] == "CS"  # French label accepted as the code
    assert pending["code_insee"] == "01053" and pending["adresse"].endswith("01000 Bourg-en-Bresse")
    assert pending["telephone"] == "0474000000"
    swapped = rows.loc["Prévention Lisieux"]
    assert swapped.geometry.equals(shapely.Point(0.2256, 49.1463))
    assert swapped["horaires"] == "Mo 09:00-12:00"  # « Lundi 9h-12h » read, and said
    assert rows.loc["E2C Hérouville", "type_libelle"] == "École de la 2e chance"
    assert "Maison des jeunes" not in rows.index
    text = report.to_text()
    assert "inversées" in text and "zéros à gauche" in text
    assert "horaires écrits en français convertis en horaires OSM (ligne 4)" in text
    assert "1 ligne(s) vide(s) ignorée(s)" in report.notes
    reasons = {r.row: r.reason for r in report.refusals}
    assert "hors de France" in reasons[5]
    assert "nom" in reasons[6]
    assert "ni coordonnées" in reasons[7]


def test_english_synonyms_comma_separator_and_unknown_type(tmp_path: Path) -> None:
    path = tmp_path / "partners.csv"
    path.write_text(
        "name,type,address,lat,lng,opening_hours,phone,citycode\n"
        'Youth hub,MAISON_QUARTIER,"1 rue A, Caen",49.18,-0.37,Mo-Fr 10:00-18:00,,14118\n'
        "Agence,FT,2 rue B,49.19,-0.36,,,\n",
        encoding="utf-8",
    )
    gdf, report = read_partners(path)
    _check_layer(gdf, report)
    assert list(gdf["type"]) == ["AUTRE", "FT"]
    assert list(gdf["type_libelle"]) == [PARTNER_TYPES["AUTRE"], "France Travail"]
    assert any("MAISON_QUARTIER" in n and "ligne 2" in n for n in report.notes)
    assert gdf.loc[0, "adresse"] == "1 rue A, Caen"


def test_geojson_team_file_and_given_report(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"nom": "CS Nord", "typologie": "CS", "code_insee": 1053},
            "geometry": {"type": "Point", "coordinates": [5.22, 46.2]},
        },
        {
            "type": "Feature",
            "properties": {
                "nom": "ML Sud",
                "typologie": "ML",
                "adresse": "1 rue C",
                "code_insee": 14118,
            },
            "geometry": None,
        },
    ]
    path = tmp_path / "partenaires.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    given = ImportReport(kind="partenaires", source="saisie équipe")
    gdf, report = read_partners(path, report=given)
    assert report is given
    _check_layer(gdf, report)
    assert list(gdf["code_insee"]) == ["01053", "14118"]
    assert list(gdf["statut"]) == ["fourni", "à géocoder"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("contacts.csv", "date;tranche_age;sexe\n2024-01-01;16-17;F\n", "colonnes trouvées : date"),
        ("noms.csv", "nom;commentaire\nA;b\n", "latitude et longitude"),
        ("partenaires.xlsx", "PK", "tableur lisible"),
        ("partenaires.shp", "x", "format attendu"),
    ],
)
def test_wrong_kind_of_file(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError, match=message):
        read_partners(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="introuvable"):
        read_partners(tmp_path / "absent.csv")


def test_workbook_of_partners(tmp_path: Path) -> None:
    """A partner list kept in a spreadsheet (XLSX), French decimal commas included."""
    from samples import xlsx as _xlsx

    rows = [
        ["nom", "typologie", "adresse", "code_insee", "latitude", "longitude", "horaires"],
        [
            "Mission locale de Caen",
            "ML",
            "1 rue X, 14000 Caen",
            "14118",
            "49,1829",
            "-0,3707",
            "Mo-Fr 09:00-12:00",
        ],
        ["Centre social", "CS", "2 rue Y, 14000 Caen", "14118", "", "", ""],
    ]
    path = tmp_path / "partenaires.xlsx"
    path.write_bytes(_xlsx({"Partenaires": rows}))
    gdf, report = read_partners(path)
    assert (report.read, report.accepted, report.pending) == (2, 1, 1)
    assert gdf.geometry.iloc[0].y == pytest.approx(49.1829)
    assert gdf["horaires"].iloc[0] == "Mo-Fr 09:00-12:00"
