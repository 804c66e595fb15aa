"""The workspace file: layers with metadata, versions, and damaged files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from territory import WorkspaceError
from territory.store import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "w.gpkg", name="Essai")


def test_layers_keep_their_metadata_and_are_stored_in_wgs84(ws: Workspace) -> None:
    gdf = gpd.GeoDataFrame({"code": ["00001"]}, geometry=[shapely.Point(700000, 6600000)], crs=2154)
    ws.write_layer("communes", gdf, source="a.gpkg", vintage="COG 2026", licence="Licence Ouverte")
    info = ws.layers()["communes"]
    assert (info.count, info.crs, info.source_crs, info.vintage) == (
        1,
        "EPSG:4326",
        "EPSG:2154",
        "COG 2026",
    )
    back = ws.read_layer("communes")
    assert back.crs.to_epsg() == 4326
    assert back.geometry.iloc[0].x == pytest.approx(3.0, abs=1e-6)


def test_every_write_bumps_the_version(ws: Workspace) -> None:
    v0 = ws.version
    ws.write_table("t", pd.DataFrame({"a": [1, 2]}), source="x", vintage="")
    ws.write_table("t", pd.DataFrame({"a": [3]}), source="x", vintage="", append=True)
    assert ws.version > v0 + 1
    assert ws.layers()["t"].count == 3
    assert ws.delete_rows("t", "a >= ?", (2,)) == 2
    assert ws.layers()["t"].count == 1


def test_qgis_sees_a_geopackage(ws: Workspace) -> None:
    gdf = gpd.GeoDataFrame({"code": ["00001"]}, geometry=[shapely.Point(2, 46)], crs=4326)
    ws.write_layer("partners", gdf, source="s", vintage="v")
    names = [n for n, _ in pyogrio.list_layers(ws.path)]
    assert "partners" in names
    with sqlite3.connect(ws.path) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # "GPKG"


@pytest.mark.parametrize("content", [None, b"", b"not a database at all" * 100])
def test_missing_empty_or_corrupted_workspace_gives_a_french_message(
    tmp_path: Path, content
) -> None:
    path = tmp_path / "bad.gpkg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WorkspaceError, match=r"espace de travail|endommagé|vide"):
        Workspace.open(path)


def test_another_sqlite_file_is_not_a_workspace(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE x (a)")
    with pytest.raises(WorkspaceError, match="n'est pas un espace de travail"):
        Workspace.open(path)


def test_unknown_layer_lists_what_exists(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="n'existe pas"):
        ws.read_layer("qpv")
