"""Communes, QPV and density classes from the official schemas (real extracts when present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import shared_file

from territory import CRSError, InputFileError
from territory.io.boundaries import read_communes, read_density_classes, read_qpv


def test_geo_api_minimal_schema_real_calvados() -> None:
    communes, report = read_communes(shared_file("communes-14-calvados.geojson"))
    assert report.read == report.accepted + report.refused == 537
    caen = communes.set_index("code").loc["14118"]
    assert caen["nom"] == "Caen"
    assert any("population" in n for n in report.notes)


def test_admin_express_schema_real_mel_in_lambert93() -> None:
    communes, report = read_communes(shared_file("communes_mel_adminexpress32_lb93.gpkg"))
    assert report.accepted == 121
    lille = communes.set_index("code").loc["59350"]
    assert lille["epci"] == "200093201" and lille["population"] > 200_000
    assert communes.crs.to_epsg() == 2154


def test_qpv_2015_names_are_linked_to_insee_codes() -> None:
    communes, _ = read_communes(shared_file("communes_mel_adminexpress32_lb93.gpkg"))
    qpv, report = read_qpv(shared_file("qpv_2015_mel_lb93.gpkg"), communes=communes)
    assert report.accepted == 26
    links = qpv.set_index("code")["communes"]
    # "Lille, Faches-Thumesnil, Loos,  Lezennes" (irregular spaces) → four INSEE codes
    assert set(links["QP059074"].split(", ")) == {"59350", "59220", "59360", "59346"}
    assert (qpv["generation"] == 2015).all()


def test_qpv_2024_schema_with_several_communes(tmp_path: Path) -> None:
    feature = {
        "type": "Feature",
        "properties": {"code_qp": "QN01301M", "lib_qp": "Test", "insee_com": "13055, 13070"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[5.3, 43.3], [5.31, 43.3], [5.31, 43.31], [5.3, 43.3]]],
        },
    }
    path = tmp_path / "qpv.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    qpv, _ = read_qpv(path)
    assert qpv.iloc[0]["communes"] == "13055, 13070" and qpv.iloc[0]["generation"] == 2024


def test_lambert93_labelled_as_degrees_is_refused_with_a_guess(tmp_path: Path) -> None:
    feature = {
        "type": "Feature",
        "properties": {"code": "59350", "nom": "Lille"},
        "geometry": {"type": "Point", "coordinates": [704000.0, 7059000.0]},
    }
    path = tmp_path / "lb93.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(CRSError, match="EPSG:2154"):
        read_communes(path)


def test_wrong_kind_names_expected_and_found_columns(tmp_path: Path) -> None:
    feature = {
        "type": "Feature",
        "properties": {"foo": 1, "bar": 2},
        "geometry": {"type": "Point", "coordinates": [2.3, 48.8]},
    }
    path = tmp_path / "x.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(InputFileError, match=r"colonnes attendues code, nom.*trouvées : foo, bar"):
        read_communes(path)


def test_density_labels_come_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "densite.csv"
    path.write_text(
        "Grille communale de densité 2025\n\nCODGEO;LIBGEO;DENS;LIBDENS\n"
        "1001;L'Abergement;6;Rural à habitat dispersé\n14118;Caen;1;Grands centres urbains\n"
        "XX;?;;\n",
        encoding="utf-8",
    )
    classes, report = read_density_classes(path)
    assert classes.set_index("code").loc["01001", "densite_libelle"] == "Rural à habitat dispersé"
    assert (report.accepted, report.fixed, report.refused) == (2, 1, 1)


def test_corrupted_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(InputFileError, match=r"illisible|lisible"):
        read_communes(path)


def test_insee_workbook_density_sheet_and_seven_levels(tmp_path: Path) -> None:
    """The INSEE layout: documentation sheet first, header on row 5, DENS (3) and DENS7."""
    from samples import density_xlsx

    path = tmp_path / "fichier_diffusion_2025.xlsx"
    path.write_bytes(density_xlsx())
    classes, report = read_density_classes(path)
    assert report.accepted == len(classes) > 0
    assert classes["densite"].max() > 3  # the 7-level grid, not the 3-level DENS
    assert classes["densite_libelle"].str.len().gt(0).all()


def test_swapped_lat_lon_is_refused_with_a_guess(tmp_path: Path) -> None:
    feature = {
        "type": "Feature",
        "properties": {"code": "14118", "nom": "Caen"},
        "geometry": {"type": "Point", "coordinates": [49.18, -0.37]},
    }
    path = tmp_path / "swapped.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(CRSError, match="inversées"):
        read_communes(path)


def test_zipped_shapefile_in_lambert93(tmp_path: Path) -> None:
    import zipfile

    communes, _ = read_communes(shared_file("communes-14-calvados.geojson"))
    folder = tmp_path / "shp"
    folder.mkdir()
    admin_express = communes.head(20).rename(columns={"code": "INSEE_COM", "nom": "NOM"})
    admin_express[["INSEE_COM", "NOM", "geometry"]].to_crs(2154).to_file(folder / "communes.shp")
    archive = tmp_path / "communes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    again, report = read_communes(archive)
    assert report.accepted == 20 and again.crs.to_epsg() == 2154
