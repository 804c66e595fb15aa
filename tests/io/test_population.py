"""INSEE census population by age: IRIS and commune files in the official layouts.

Every file is written here, small, in INSEE's layout (``;`` CSV, or a workbook with title
rows above the variable codes); nothing is copied from a real file.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from territory import InputFileError, Settings
from territory.analysis.need import AGE_IRIS_TABLE, AGE_TABLE
from territory.ingest import COMMUNE_TABLE, import_file
from territory.io.cog import normalise_table
from territory.io.population import read_population
from territory.store import Workspace
from tests.samples import xlsx

# base-ic-evol-struct-pop-2021 (IRIS): the 2021 columns, and 2015 ones the vintage must skip
IRIS_HEADER = "IRIS;REG;DEP;COM;LIBCOM;LIBIRIS;TYP_IRIS;P21_POP;P21_POP1529;P21_POP1524;P15_POP1529"
IRIS_ROWS = [
    "141180101;28;14;14118;Caen;Centre;H;2504,5;812,25;401;700",
    "141180102;28;14;14118;Caen;Chemin Vert;H;3100;650;300;640",
    "143270000;28;14;14327;Hérouville-Saint-Clair;Hérouville;Z;23400;6100;3000;6000",
    "ABC;28;14;ABC;Nulle part;?;H;10;5;2;1",  # invalid code
    "141180102;28;14;14118;Caen;Chemin Vert;H;3100;650;300;640",  # same IRIS again
    "142570000;28;14;14257;Évrecy;Évrecy;Z;2050;s;120;300",  # 15-29 not a number
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_iris_file_is_summed_into_communes_with_its_refusals_and_vintage(tmp_path: Path) -> None:
    tables, report = read_population(write(tmp_path / "base-ic.csv", [IRIS_HEADER, *IRIS_ROWS]))
    assert (report.read, report.accepted, report.refused) == (6, 3, 3)
    reasons = {r.row: r.reason for r in report.refusals}
    assert "code invalide" in reasons[5] and "en double" in reasons[6]
    assert "P21_POP1529 illisible" in reasons[7]
    assert tables.vintage == "RP 2021"
    by_code = tables.communes.set_index("code")
    assert by_code.loc["14118", "pop_1529"] == pytest.approx(812.25 + 650)
    assert by_code.loc["14327", "pop_1524"] == 3000
    assert sorted(by_code.index) == ["14118", "14327"]
    assert tables.iris is not None and len(tables.iris) == 3
    text = report.to_text()
    assert "millésime RP 2021" in text and "15-29 ans = P21_POP1529" in text
    assert "NEET1524" in text  # says that no NEET figure was read, and why


def test_commune_workbook_with_title_rows_builds_15_29_from_the_diplomes_bands(
    tmp_path: Path,
) -> None:
    header = [
        "CODGEO",
        "LIBGEO",
        "P20_POP",
        "P20_POP1517",
        "P20_POP1824",
        "P20_POP2529",
        "P20_NEET1524",
    ]
    rows = [
        ["Diplômes - Formation en 2020"],
        ["Recensement de la population 2020, exploitation principale"],
        [],
        [
            "Code géographique",
            "Libellé",
            "Population",
            "15-17 ans",
            "18-24 ans",
            "25-29 ans",
            "NEET",
        ],
        header,
        ["14118", "Caen", "108000", "3000", "19000", "8000", "2100"],
        ["1001", "L'Abergement", "800", "30", "50", "40", "6"],  # lost its leading zero
    ]
    path = tmp_path / "base-cc-diplomes-formation-2020.xlsx"
    path.write_bytes(xlsx({"Présentation": [["Documentation"]], "COM": rows}))
    tables, report = read_population(path)
    assert tables.vintage == "RP 2020" and report.accepted == 2 and report.fixed == 1
    caen = tables.communes.set_index("code").loc["14118"]
    assert caen["pop_1529"] == 30000 and caen["pop_1524"] == 22000 and caen["neet_1524"] == 2100
    assert "01001" in set(tables.communes["code"]) and tables.iris is None
    assert "P20_POP1517 + P20_POP1824 + P20_POP2529" in " ".join(report.notes)
    assert any("feuille « COM » lue" in n for n in report.notes)


def test_a_file_without_age_bands_is_refused_naming_its_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", ["CODGEO;LIBGEO;P21_POP", "14118;Caen;108000"])
    with pytest.raises(InputFileError, match="aucune tranche 15-29"):
        read_population(path)
    path = write(tmp_path / "u.csv", ["code;nom", "14118;Caen"])
    with pytest.raises(InputFileError, match="colonnes trouvées : code, nom"):
        read_population(path)


@pytest.fixture
def calvados(tmp_path: Path) -> Workspace:
    """Three communes and a COG table where 14002 became 14150."""
    ws = Workspace.create(tmp_path / "w.gpkg", name="test")
    communes = gpd.GeoDataFrame(
        {
            "code": ["14118", "14327", "14150"],
            "nom": ["Caen", "Hérouville", "Ranville"],
            "population": [108000, 23400, 2000],
        },
        geometry=[
            shapely.box(x, 6_900_000, x + 5000, 6_905_000) for x in (450_000, 455_000, 460_000)
        ],
        crs="EPSG:2154",
    )
    ws.write_layer("communes", communes, source="test", vintage="2024")
    table = pd.DataFrame(
        {
            "code": ["14118", "14327", "14150", "14257"],
            "nom": ["Caen", "H", "R", "Évrecy"],
            "anciens_codes": ["", "", "14002", ""],
        }
    )
    ws.write_table(COMMUNE_TABLE, normalise_table(table), source="cog.csv", vintage="COG 2026")
    return ws


def test_import_translates_old_codes_refuses_unknown_communes_and_stores_the_vintage(
    calvados: Workspace, tmp_path: Path, settings: Settings
) -> None:
    lines = [
        IRIS_HEADER,
        *IRIS_ROWS[:3],
        "140020000;28;14;14002;Ancienne;A;Z;900;150;70;140",
        "990010000;28;99;99001;Inconnue;I;Z;500;90;40;80",
    ]
    report = import_file(
        calvados, "population", write(tmp_path / "p.csv", lines), settings=settings
    )
    assert (report.read, report.accepted, report.refused) == (5, 4, 1)
    assert report.refusals[0].reason == "commune 99001 inconnue du COG 2026"
    assert any("14002 → 14150" in f for f in report.fixes)
    assert any("3 des 3 communes importées ont leur population par âge" in n for n in report.notes)
    info = calvados.layers()[AGE_TABLE]
    assert (info.vintage, info.source) == ("RP 2021", "p.csv")
    stored = calvados.read_table(AGE_TABLE).set_index("code")
    assert stored.loc["14150", "pop_1529"] == 150 and "99001" not in stored.index
    assert len(calvados.read_table(AGE_IRIS_TABLE)) == 4
    # A commune-level file replaces the IRIS figures, which would otherwise contradict it
    commune = write(tmp_path / "c.csv", ["CODGEO;P21_POP;P21_POP1529", "14118;108000;30000"])
    again = import_file(calvados, "population", commune, settings=settings, vintage="RP 2021")
    assert any("1 des 3 communes" in n and "14150" in n for n in again.notes)
    assert len(calvados.read_table(AGE_IRIS_TABLE)) == 0


def test_iris_workbook_whose_label_row_says_iris_above_the_codes(tmp_path: Path) -> None:
    rows = [
        ["Évolution et structure de la population en 2021"],
        [],
        ["IRIS", "Commune ou ARM", "Population", "Pop 15-29 ans"],
        ["IRIS", "COM", "P21_POP", "P21_POP1529"],
        ["751010101", "75101", "1200.5", "300.25"],  # a Paris arrondissement: commune 75056
        ["751020101", "75102", "800", "200"],
    ]
    path = tmp_path / "base-ic-evol-struct-pop-2021.xlsx"
    path.write_bytes(xlsx({"IRIS": rows}))
    tables, report = read_population(path)
    assert report.accepted == 2 and tables.vintage == "RP 2021"
    assert tables.communes.set_index("code").loc["75056", "pop_1529"] == pytest.approx(500.25)
    assert any("arrondissement municipal" in f for f in report.fixes)
