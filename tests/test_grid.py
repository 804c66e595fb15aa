"""INSEE grid ids in EPSG:3035."""

import pytest
from conftest import shared_file

from territory import ValidationError
from territory.grid import cell_ids, cell_ids_from_lonlat, cell_polygons, parent_ids, parse_ids


def test_ids_name_the_lower_left_corner() -> None:
    ids = cell_ids([3775432.0, 3775399.9], [2890123.0, 2890000.0])
    assert list(ids) == ["CRS3035RES200mN2890000E3775400", "CRS3035RES200mN2890000E3775200"]


def test_parent_and_polygon() -> None:
    cell = "CRS3035RES200mN2890200E3775400"
    assert parent_ids([cell])[0] == "CRS3035RES1000mN2890000E3775000"
    square = cell_polygons([cell]).iloc[0]
    assert square.bounds == (3775400.0, 2890200.0, 3775600.0, 2890400.0)


def test_ids_match_the_real_filosofi_grid() -> None:
    """Snapping the centre of real INSEE cells (stored in Lambert-93) gives their own ids."""
    import pyogrio

    cells = pyogrio.read_dataframe(
        shared_file("filosofi2017_200m_mel_derived_lb93.gpkg"), columns=["id"], max_features=500
    )
    centres = cells.geometry.centroid.to_crs(4326)
    ids = cell_ids_from_lonlat(centres.x.to_numpy(), centres.y.to_numpy())
    assert list(ids) == cells["id"].tolist()


def test_malformed_ids_are_refused() -> None:
    with pytest.raises(ValidationError):
        parse_ids(["CRS3035RES200mN12E"])
