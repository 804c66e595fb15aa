"""COG vintages: commune attribute tables, old → current codes, merged communes dissolved.

The real tests read the 2018 Calvados contours (``code, nom`` only) and the COG 2026
table from ``../shared/data/real`` at run time; the synthetic ones pin the rules.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import shared_file

from territory import InputFileError, Settings
from territory.ingest import COMMUNE_TABLE, import_file
from territory.io.cog import (
    TABLE_COLUMNS,
    CodeTranslation,
    apply_commune_table,
    guess_vintage,
    read_commune_table,
    translate_code_lists,
    translate_codes,
    translation_table,
)
from territory.io.report import ImportReport
from territory.store import Workspace

CALVADOS = "communes-14-calvados.geojson"
COG2026 = "communes_cog2026_pop_epci.csv"
# The 13 Calvados codes of 2018 that no longer exist in COG 2026, and their commune.
CALVADOS_TRANSLATIONS = [
    ("14002", "14150"),
    ("14011", "14581"),
    ("14013", "14150"),
    ("14185", "14514"),
    ("14294", "14554"),
    ("14300", "14743"),
    ("14307", "14713"),
    ("14339", "14538"),
    ("14505", "14150"),
    ("14604", "14126"),
    ("14623", "14408"),
    ("14691", "14538"),
    ("14703", "14150"),
]


def _import(ws: Workspace, settings: Settings, *steps: tuple[str, Path]) -> list[ImportReport]:
    return [import_file(ws, kind, path, settings=settings) for kind, path in steps]


def _workspace(tmp_path: Path, name: str = "w") -> Workspace:
    return Workspace.create(tmp_path / f"{name}.gpkg", name="Essai")


def _write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """A minimal one-sheet XLSX (no spreadsheet writer is installed): numbers and text."""
    ns = "http://schemas.openxmlformats.org"
    rel = f"{ns}/officeDocument/2006/relationships"

    def cell(ref: str, value: object) -> str:
        if isinstance(value, int | float):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    sheet = "".join(
        f'<row r="{i}">'
        + "".join(cell(f"{chr(65 + j)}{i}", v) for j, v in enumerate(row) if v != "")
        + "</row>"
        for i, row in enumerate(rows, 1)
    )
    kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    files = {
        "[Content_Types].xml": f'<Types xmlns="{ns}/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{kinds}.worksheet+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{ns}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": f'<workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{rel}">'
        '<sheets><sheet name="COM" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{ns}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{ns}/spreadsheetml/2006/main">'
        f"<sheetData>{sheet}</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def _square(x: float, y: float, size: float = 0.01) -> shapely.Polygon:
    return shapely.box(x, y, x + size, y + size)


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def calvados_import(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> tuple[Workspace, ImportReport]:
    """2018 Calvados communes first, then the COG 2026 table (translated on import)."""
    communes, table = shared_file(CALVADOS), shared_file(COG2026)
    ws = _workspace(tmp_path_factory.mktemp("calvados"))
    _import(ws, settings, ("communes", communes))
    (report,) = _import(ws, settings, ("communes-table", table))
    return ws, report


@pytest.fixture
def calvados(calvados_import: tuple[Workspace, ImportReport]) -> Workspace:
    """The workspace of :func:`calvados_import` (read only)."""
    return calvados_import[0]


@pytest.mark.real_data
def test_real_calvados_codes_translated_and_merged_communes_dissolved(
    calvados_import: tuple[Workspace, ImportReport],
) -> None:
    calvados, table_report = calvados_import
    report = table_report.to_dict()
    assert report["read"] == report["accepted"] + report["refused"] == 3116
    assert report["fixes"] == [f"{old} → {new} (fusion)" for old, new in CALVADOS_TRANSLATIONS]
    communes = calvados.read_layer("communes")
    # 537 features of 2018: 12 merged into a commune already in the file (14011 only
    # changed its code, to 14581 Aurseulles), so 525 communes of COG 2026 remain.
    assert len(communes) == 525 == communes["code"].nunique()
    assert not set(communes["code"]) & {old for old, _ in CALVADOS_TRANSLATIONS}
    assert any("537 entités → 525 communes" in n for n in report["notes"])
    cesny = communes.set_index("code").loc["14150"]
    assert cesny["nom"] == "Cesny-les-Sources"  # the current COG name replaces 2018's
    assert cesny.geometry.geom_type in ("Polygon", "MultiPolygon")
    # 14666 Sannerville was re-established (split from 2018's Saline, now 14712 Troarn):
    # no shape for it in 2018, which the report says
    assert any("sans contour" in n and "14666 Sannerville" in n for n in report["notes"])
    assert len(getattr(cesny.geometry, "geoms", [cesny.geometry])) == 1  # one shape, no slivers


@pytest.mark.real_data
def test_real_calvados_population_and_epci_from_the_table(calvados: Workspace) -> None:
    communes = calvados.read_layer("communes").set_index("code")
    caen = communes.loc["14118"]
    assert (caen["nom"], int(caen["population"]), caen["epci"]) == ("Caen", 109_400, "200065597")
    assert (communes["epci"] == "200066728").sum() == 22  # CC Vallées de l'Orne et de l'Odon
    assert communes["population"].notna().all()
    info = calvados.layers()
    assert info[COMMUNE_TABLE].vintage == "COG 2026"  # guessed from the file name
    assert info[COMMUNE_TABLE].count == 3116
    assert info["communes"].vintage == "COG 2026"


@pytest.mark.real_data
def test_real_import_order_does_not_matter(
    calvados: Workspace, tmp_path: Path, settings: Settings
) -> None:
    ws = _workspace(tmp_path)
    table_report, communes_report = _import(
        ws, settings, ("communes-table", shared_file(COG2026)), ("communes", shared_file(CALVADOS))
    )
    assert not table_report.fixes and any("aucune commune" in n for n in table_report.notes)
    translations = [f for f in communes_report.fixes if "→" in f]
    assert translations == [f"{o} → {n} (fusion)" for o, n in CALVADOS_TRANSLATIONS]
    assert communes_report.read == communes_report.accepted + communes_report.refused == 537
    assert not any("pas de population" in n for n in communes_report.notes)
    first, second = calvados.read_layer("communes"), ws.read_layer("communes")
    columns = ["code", "nom", "population", "epci", "departement"]
    pd.testing.assert_frame_equal(first[columns], second[columns])
    assert first.geometry.geom_equals_exact(second.geometry, tolerance=1e-9).all()
    assert ws.layers()["communes"].vintage == "COG 2026"


@pytest.mark.real_data
def test_real_qpv_link_with_an_old_code_is_translated_in_both_orders(
    tmp_path: Path, settings: Settings
) -> None:
    # A QPV in the official 2024 schema whose link still holds 2018 codes. The codes are
    # real; the QPV itself is fictional (no official 2024 attributes are available).
    qpv = tmp_path / "qpv.geojson"
    gpd.GeoDataFrame(
        {"code_qp": ["QN01499Z"], "lib_qp": ["Quartier fictif"], "insee_com": ["14505, 14150"]},
        geometry=[_square(-0.42, 48.98)],
        crs=4326,
    ).to_file(qpv)
    table, communes = shared_file(COG2026), shared_file(CALVADOS)

    before = _workspace(tmp_path, "before")
    reports = _import(
        before, settings, ("communes", communes), ("qpv", qpv), ("communes-table", table)
    )
    assert "QPV QN01499Z : commune 14505 → 14150 (fusion)" in reports[-1].fixes
    after = _workspace(tmp_path, "after")
    reports = _import(
        after, settings, ("communes-table", table), ("communes", communes), ("qpv", qpv)
    )
    assert reports[-1].fixes[-1] == "QPV QN01499Z : commune 14505 → 14150 (fusion)"
    assert reports[-1].read == reports[-1].accepted == 1
    for ws in (before, after):
        assert ws.read_layer("qpv")["communes"].tolist() == ["14150"]  # merged: listed once


@pytest.mark.real_data
def test_real_partner_code_insee_translated(tmp_path: Path, settings: Settings) -> None:
    # France services d'Orée d'Anjou carries 49069 (2024); Orée d'Anjou is 49126 in COG 2026.
    sites, table = shared_file("france_services_20240801.geojson"), shared_file(COG2026)
    ws = _workspace(tmp_path)
    _, report = _import(ws, settings, ("communes-table", table), ("partners", sites))
    assert "code INSEE 49069 → 49126 (fusion) : 1 partenaire(s)" in report.fixes
    assert report.read == report.accepted + report.refused + report.pending
    codes = ws.read_layer("partners").set_index("nom")["code_insee"]
    assert codes["France services Orée d'Anjou"] == "49126"
    assert "49069" not in set(codes)

    reverse = _workspace(tmp_path, "reverse")
    _, report = _import(reverse, settings, ("partners", sites), ("communes-table", table))
    assert "code INSEE 49069 → 49126 (fusion) : 1 partenaire(s)" in report.fixes
    assert "49069" not in set(reverse.read_layer("partners")["code_insee"])


@pytest.mark.real_data
def test_real_contacts_in_a_merged_commune_move_to_the_current_code(
    tmp_path: Path, settings: Settings
) -> None:
    communes, table = shared_file(CALVADOS), shared_file(COG2026)
    old = gpd.read_file(communes).set_index("code").loc["14505"].geometry.representative_point()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "date_contact;longitude;latitude;statut;tranche_age;sexe\n"
        f"03/02/2026 14:35;{old.x:.6f};{old.y:.6f};premier contact;18-21;F\n",
        encoding="utf-8",
    )
    ws = _workspace(tmp_path)
    _import(ws, settings, ("communes", communes), ("contacts", contacts))
    assert ws.read_table("contacts")["commune"].tolist() == ["14505"]
    (report,) = _import(ws, settings, ("communes-table", table))
    assert ws.read_table("contacts")["commune"].tolist() == ["14150"]
    assert ws.layers()["contacts"].count == 1
    assert any("1 contact(s) rattaché(s)" in n and "14505 → 14150" in n for n in report.notes)


@pytest.mark.real_data
def test_real_table_reader() -> None:
    table, report = read_commune_table(shared_file(COG2026))
    assert list(table.columns) == TABLE_COLUMNS
    assert report.read == report.accepted == len(table) == 3116 and report.refused == 0
    assert str(table["population"].dtype) == "Int64"
    translation = translation_table(table)
    assert translation.mapping["14505"] == "14150" and "14150" in translation.merged
    assert not translation.ambiguous


# --------------------------------------------------------------------------- synthetic
TABLE = pd.DataFrame(
    {
        "code": ["00010", "00020", "00030"],
        "nom": ["Nouvelle", "Stable", "Rétablie"],
        "population": pd.array([300, 50, 10], dtype="Int64"),
        "epci": ["200000001", "200000001", pd.NA],
        "epci_nom": ["CC Fictive", "CC Fictive", pd.NA],
        "departement": ["00", "00", "00"],
        # 00030 was merged into 00010 then re-established: it is still current.
        "anciens_codes": ["00011|00012|00030", "", "00099"],
    }
)


def test_translation_rules() -> None:
    translation = translation_table(TABLE)
    assert dict(translation.mapping) == {"00011": "00010", "00012": "00010", "00099": "00030"}
    assert translation.merged == {"00010"}
    codes = pd.Series(["00012", None, "00020", "00011", "00030", "00099"], index=list("abcdef"))
    translated, pairs = translate_codes(codes, translation)
    assert translated.index.tolist() == list("abcdef")
    assert translated.tolist() == ["00010", pd.NA, "00020", "00010", "00030", "00030"]
    assert pairs == [("00011", "00010"), ("00012", "00010"), ("00099", "00030")]
    assert translation.describe("00011", "00010") == "00011 → 00010 (fusion)"
    assert translation.describe("00099", "00030") == "00099 → 00030 (ancien code)"
    # a plain mapping works too: chains are followed, a cycle leaves its codes unchanged
    chained, pairs = translate_codes(
        pd.Series(["a", "x"]), {"a": "b", "b": "c", "x": "y", "y": "x"}
    )
    assert chained.tolist() == ["c", "x"] and pairs == [("a", "c")]
    # a former code claimed by two current communes is ambiguous: left as is
    split = translation_table(
        pd.DataFrame({"code": ["00001", "00002"], "anciens_codes": ["00009", ["00009"]]})
    )
    assert split.ambiguous == {"00009": ("00001", "00002")} and not split.mapping
    links, pairs = translate_code_lists(pd.Series(["00011, 00010, 00020", None, ""]), TABLE)
    assert links.tolist() == ["00010, 00020", pd.NA, ""] and pairs == [("00011", "00010")]


def test_dissolve_fills_attributes_and_is_idempotent() -> None:
    communes = gpd.GeoDataFrame(
        {
            "code": ["00011", "00010", "00012", "00020", "00077"],
            "nom": ["Ancienne A", "Nouvelle", "Ancienne B", "Stable (ancien nom)", "Hors table"],
            "population": pd.array([pd.NA] * 5, dtype="Int64"),
            "epci": [pd.NA] * 5,
            "departement": ["00"] * 5,
            "densite": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
            "densite_libelle": ["a", "b", "c", "d", "e"],
        },
        geometry=[_square(x, 46.0) for x in (2.0, 2.01, 2.02, 3.0, 4.0)],
        crs=4326,
    )
    report = ImportReport(kind="communes-table", source="t.csv")
    out = apply_commune_table(communes, TABLE, report)
    assert out["code"].tolist() == ["00010", "00020", "00077"]
    merged = out.set_index("code").loc["00010"]
    assert merged.geometry.equals(
        _square(2.0, 46.0).union(_square(2.01, 46.0)).union(_square(2.02, 46.0))
    )
    assert (merged["nom"], merged["population"], merged["epci"]) == ("Nouvelle", 300, "200000001")
    assert merged["densite"] == 2  # the surviving commune's row represents the group
    assert report.fixes == ["00011 → 00010 (fusion)", "00012 → 00010 (fusion)"]
    assert any("00020 Stable (ancien nom) → Stable" in n for n in report.notes)
    assert any("1 commune(s) absente(s)" in n and "00077" in n for n in report.notes)
    assert list(out.columns) == [*communes.columns]
    again = ImportReport(kind="communes-table", source="t.csv")
    assert apply_commune_table(out, TABLE, again).equals(out) and not again.fixes


def test_french_csv_with_insee_names_and_title_lines(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    rows = [
        "Populations légales 2023 ; millésime COG 2025",
        "",
        "CODGEO;LIBGEO;PMUN;EPCI;LIBEPCI;DEP",
        "1001;L'Abergement-Clémenciat;\u00a0 1\u00a0166 ;200069193;CC de la Dombes;1",
        "2A004;Ajaccio;73 720,0;242010056;CA du Pays Ajaccien;2A",
        "97101;Les Abymes;;ZZZZZZZZZ;;",
        "1ABC;Code faux;12;200069193;CC;01",
        "01001;Doublon;12;200069193;CC;01",
        ";;;;;",
        "01002;L'Abergement-de-Varey;xx;12;?;01",
    ]
    path.write_bytes("\r\n".join(rows).encode("cp1252"))
    table, report = read_commune_table(path)
    assert report.read == report.accepted + report.refused == 6  # the blank line is not read
    assert (report.accepted, report.refused) == (4, 2)
    assert {(r.row, r.reason) for r in report.refusals} == {
        (7, "code INSEE invalide (1ABC)"),
        (8, "code INSEE 01001 en double"),
    }
    assert report.fixes == ["1 code(s) INSEE complété(s) d'un zéro initial"]
    rows_by_code = table.set_index("code")
    assert rows_by_code.loc["01001", "population"] == 1166
    assert rows_by_code.loc["01001", "nom"] == "L'Abergement-Clémenciat"
    assert rows_by_code.loc["01001", "departement"] == "01"
    assert rows_by_code.loc["2A004", "population"] == 73720
    assert pd.isna(rows_by_code.loc["97101", "epci"])  # ZZZZZZZZZ: no EPCI
    assert rows_by_code.loc["97101", "departement"] == "971"  # derived from the code
    assert pd.isna(rows_by_code.loc["01002", "population"])
    assert pd.isna(rows_by_code.loc["01002", "epci"])
    notes = " | ".join(report.notes)
    assert "1 population(s) illisible(s)" in notes and "1 code(s) EPCI illisible(s)" in notes
    assert "1 ligne(s) vide(s)" in notes


def test_xlsx_with_numeric_cells_and_a_title_row(tmp_path: Path) -> None:
    path = _write_xlsx(
        tmp_path / "table-appartenance-geo-communes-2026.xlsx",
        [
            ["Table d'appartenance géographique des communes au 1er janvier 2026"],
            [],
            ["CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "PMUN"],
            [1001, "L'Abergement-Clémenciat", 200069193, "CC de la Dombes", 1, 859],
            ["2A004", "Ajaccio", "242010056", "CA du Pays Ajaccien", "2A", 73720.0],
            ["", "Sans code", "", "", "", 5],
        ],
    )
    table, report = read_commune_table(path)
    assert report.read == report.accepted + report.refused == 3
    assert [(r.row, r.reason) for r in report.refusals] == [(6, "code INSEE manquant")]
    rows = table.set_index("code")
    assert rows.loc["01001", ["population", "epci", "departement"]].tolist() == [
        859,
        "200069193",
        "01",
    ]
    assert rows.loc["2A004", "population"] == 73720
    assert any("anciensCodes absente" in n for n in report.notes)


def test_insee_cog_file_delegated_communes_become_former_codes(tmp_path: Path) -> None:
    path = tmp_path / "v_commune_2026.csv"
    path.write_text(
        "TYPECOM,COM,REG,DEP,LIBELLE,COMPARENT\n"
        "COM,14150,28,14,Cesny-les-Sources,\n"
        "COMD,14150,28,14,Cesny-Bois-Halbout,14150\n"
        "COMD,14505,28,14,Placy,14150\n"
        "COMA,14703,28,14,Le Mesnil-Villement,14150\n"
        "COMD,14999,28,14,Orpheline,14000\n"
        "ARM,75101,11,75,Paris 1er Arrondissement,75056\n",
        encoding="utf-8",
    )
    assert guess_vintage(path.name) == "COG 2026"
    table, report = read_commune_table(path)
    assert report.read == report.accepted + report.refused == 6
    assert table["code"].tolist() == ["14150"]
    assert table.loc[0, "anciens_codes"] == "14505|14703"
    assert [r.row for r in report.refusals] == [6, 7]
    assert "ARM" in report.refusals[1].reason
    assert translation_table(table).mapping == {"14505": "14150", "14703": "14150"}


@pytest.mark.parametrize(
    ("content", "missing"),
    [
        ("CODGEO;LIBGEO;DENS;LIBDENS\n01001;Ablon;4;Rural\n", "population, codeEpci"),
        ("nom;adresse;latitude\nMission locale;1 rue X;49.1\n", "code"),
    ],
)
def test_wrong_kind_names_expected_and_found_columns(
    tmp_path: Path, content: str, missing: str
) -> None:
    path = tmp_path / "autre.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError) as error:
        read_commune_table(path)
    message = str(error.value)
    assert "ne ressemble pas à un fichier « table communale" in message
    assert f"colonnes attendues {missing}" in message
    assert "colonnes trouvées : " + content.split("\n")[0].replace(";", ", ") in message


def test_unknown_vintage_is_noted_and_reimport_is_idempotent(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "table.csv"
    TABLE.to_csv(path, index=False, sep=";")
    communes = tmp_path / "communes.geojson"
    gpd.GeoDataFrame(
        {"code": ["00011", "00010"], "nom": ["A", "B"]},
        geometry=[_square(2.0, 46.0), _square(2.01, 46.0)],
        crs=4326,
    ).to_file(communes)
    ws = _workspace(tmp_path)
    _, first = _import(ws, settings, ("communes", communes), ("communes-table", path))
    assert ws.layers()[COMMUNE_TABLE].vintage == "COG ?"
    assert any("précisez --vintage" in n for n in first.notes)
    assert first.fixes == ["00011 → 00010 (fusion)"]
    again = import_file(ws, "communes-table", path, settings=settings, vintage="COG 2026")
    assert not again.fixes
    assert ws.layers()[COMMUNE_TABLE].vintage == "COG 2026"
    assert ws.layers()["communes"].vintage == "COG 2026"
    assert ws.read_layer("communes")["code"].tolist() == ["00010"]


def test_code_translation_is_a_plain_value() -> None:
    translation = CodeTranslation(mapping={"1": "2"})
    assert translation.label("1", "2") == "ancien code"
    assert translate_codes(pd.Series([], dtype="string"), translation)[1] == []
