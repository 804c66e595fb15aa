"""Filosofi 200 m cells: the INSEE layout (written here) and the project's real renamed extract."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from territory import InputFileError, Settings, ValidationError
from territory.analysis.need import FILOSOFI_TABLE
from territory.analysis.priority import zone_indicators
from territory.crs import GRID_CRS
from territory.grid import cell_ids, cell_polygons, parent_ids
from territory.ingest import import_file
from territory.io.filosofi import read_filosofi
from territory.store import Workspace
from tests.conftest import shared_file

HEADER = "Idcar_200m;I_est_200;Idcar_1km;Ind;Men;Men_pauv;Ind_snv;Ind_11_17;Ind_18_24;Ind_25_39"
ROWS = [
    "CRS3035RES200mN2890000E3775400;0;CRS3035RES1000mN2890000E3775000;120;50;10;2.1e6;9;14;30",
    "CRS3035RES200mN2890200E3775400;1;CRS3035RES1000mN2890000E3775000;8,5;4;1;1e5;1;2;1",
    "CRS3035RES1000mN2890000E3775000;0;x;100;40;5;1;1;1;1",  # a 1 km id
    "CRS3035RES200mN2890000E3775400;0;x;120;50;10;1;1;1;1",  # the first cell again
    "CRS3035RES200mN2890400E3775400;0;x;n.d.;5;1;1;1;1;1",  # no population
    "CRS3035RES200mN2890050E3775400;0;x;5;5;1;1;1;1;1",  # not on the 200 m grid
]


def test_official_layout_is_read_with_its_refusals_and_notes(tmp_path: Path) -> None:
    path = tmp_path / "Filosofi2017_carreaux_200m_met.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    cells, report = read_filosofi(path)
    assert (report.read, report.accepted, report.refused) == (6, 2, 4)
    reasons = [r.reason for r in report.refusals]
    assert sum("invalide" in r for r in reasons) == 2 and any("en double" in r for r in reasons)
    assert any("Ind) illisible" in r for r in reasons)
    assert cells["ind"].tolist() == [120.0, 8.5] and cells["ind_1824"].tolist() == [14.0, 2.0]
    assert cells["imputed"].tolist() == [0, 1]
    notes = " ".join(report.notes)
    assert "18-24 ans (Ind_18_24)" in notes and "Men_pauv / Men" in notes
    # a cell outside the given extent is not read, and it is said
    cells, report = read_filosofi(path, within=(3775000.0, 2890000.0, 3776000.0, 2890100.0))
    assert report.read == 4 and any("2 carreau(x) hors de l'emprise" in n for n in report.notes)


def test_geopackage_in_the_official_layout(tmp_path: Path) -> None:
    ids = pd.Series(["CRS3035RES200mN2890000E3775400", "CRS3035RES200mN2890200E3775400"])
    gdf = gpd.GeoDataFrame(
        {
            "Idcar_200m": ids,
            "Ind": [120.0, 30.0],
            "Men": [50.0, 12.0],
            "Men_pauv": [10.0, 0.0],
            "Ind_18_24": [14.0, 3.0],
        },
        geometry=cell_polygons(ids).to_crs("EPSG:2154").to_numpy(),
        crs="EPSG:2154",
    )
    path = tmp_path / "Filosofi2019_carreaux_200m.gpkg"
    pyogrio.write_dataframe(gdf, path, layer="carreaux", driver="GPKG")
    cells, report = read_filosofi(path)
    assert report.accepted == 2 and cells["cell"].tolist() == ids.tolist()


def test_a_file_without_cell_ids_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("code;pop\n14118;3\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="Idcar_200m et Ind"):
        read_filosofi(path)


def test_real_derived_extract_joins_the_product_grid_on_the_mel(
    tmp_path: Path, settings: Settings
) -> None:
    grid = shared_file("filosofi2017_200m_mel_derived_lb93.gpkg")
    mel = shared_file("communes_mel_adminexpress32_lb93.gpkg")
    # Its ids are the product's: the lower-left corner of each polygon, in EPSG:3035
    raw = pyogrio.read_dataframe(grid).to_crs(GRID_CRS)
    corners = raw.geometry.bounds
    ours = cell_ids(corners["minx"].to_numpy() + 1, corners["miny"].to_numpy() + 1)
    assert np.mean(ours == raw["id"].to_numpy()) > 0.99

    ws = Workspace.create(tmp_path / "mel.gpkg", name="MEL")
    import_file(ws, "communes", mel, settings=settings, vintage="ADMIN EXPRESS 3.2")
    report = import_file(ws, "filosofi", grid, settings=settings)
    assert report.accepted == 9096 and report.refused == 0
    notes = " ".join(report.notes)
    assert "num_people lu comme Ind" in notes and "pas de tranche d'âge" in notes
    assert ws.layers()[FILOSOFI_TABLE].vintage == "Filosofi 2017"

    cells = zone_indicators(ws, settings=settings, kind="cell")
    # a 1 km zone holds the people of its 25 cells of 200 m (no areal estimate)
    per_km = raw.groupby(parent_ids(raw["id"]))["num_people"].sum()
    for parent in per_km.sort_values().index[[-1, len(per_km) // 2]]:
        assert cells.values.loc[parent, "population"] == pytest.approx(per_km[parent])
    # the communes around the MEL reach beyond the extract: estimated there, and said
    assert any("hors de l'emprise de la grille Filosofi" in n for n in cells.notes)
    assert "taux_pauvrete" in cells.components
    assert any("Filosofi 2017" in n for n in cells.notes)
    assert "population_cible" not in cells.components  # no age band in this extract
    communes = zone_indicators(ws, settings=settings, kind="commune")
    lille = communes.values.loc["59350"]
    assert lille["population"] > 200_000  # the commune's own legal population, not the cells
    assert 0.1 < lille["taux_pauvrete"] < 0.5


def test_a_grid_of_another_territory_is_refused_saying_so(
    tmp_path: Path, settings: Settings
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="test")
    communes = gpd.GeoDataFrame(
        {"code": ["14118"], "nom": ["Caen"]},
        geometry=[shapely.box(450_000, 6_900_000, 455_000, 6_905_000)],
        crs="EPSG:2154",
    )
    ws.write_layer("communes", communes, source="test", vintage="2024")
    path = tmp_path / "Filosofi2017_carreaux_200m_met.csv"
    path.write_text("\n".join([HEADER, *ROWS[:2]]) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="aucun carreau dans l'emprise"):
        import_file(ws, "filosofi", path, settings=settings)
    assert not ws.has(FILOSOFI_TABLE)
