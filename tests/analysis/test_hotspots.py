"""Hot spots on the protected partition: Gi* and local Moran, permutations, seed, FDR."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from territory.analysis.hotspots import (
    CLASSES_FR,
    COLD,
    HOT,
    HOTSPOT_COLUMNS,
    ISLAND,
    NOT_SIGNIFICANT,
    hot_spots,
)
from territory.crs import GRID_CRS
from territory.grid import cell_polygons
from territory.store import Workspace
from territory.views import density_layer, hot_spots_layer

E0, N0 = 3_700_000, 2_800_000


def grid(values: np.ndarray, *, status: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """A square field of published 200 m cells (row i, column j) with these counts."""
    side = values.shape[0]
    cells = [(i, j) for i in range(side) for j in range(side)]
    ids = [f"CRS3035RES200mN{N0 + 200 * i}E{E0 + 200 * j}" for i, j in cells]
    counts = pd.array(values.ravel().astype(int), dtype="Int64")
    frame = gpd.GeoDataFrame(
        {"zone": ids, "level": "200m", "count": counts},
        geometry=cell_polygons(pd.Series(ids)).to_numpy(),
        crs=GRID_CRS,
    )
    if status is not None:
        frame["status"] = status.ravel()
        frame.loc[frame["status"] != "publié", "count"] = pd.NA
    return frame


def random_field(side: int, seed: int) -> np.ndarray:
    """Independent published counts: Poisson(60) rounded to 5, at least 15."""
    rng = np.random.default_rng(seed)
    return np.maximum(15, np.round(rng.poisson(60, (side, side)) / 5) * 5)


@pytest.mark.parametrize("method", ["gi", "moran"])
def test_a_planted_cluster_is_found_and_only_there(method: str) -> None:
    values = random_field(30, 1)
    values[10:15, 10:15] += 120  # a 1 km block of high density
    result = hot_spots(grid(values), method=method)
    frame = result.frame
    assert list(frame.columns) == [*HOTSPOT_COLUMNS, "geometry"]
    assert set(frame["classe"]) <= set(CLASSES_FR)
    rows = np.repeat(np.arange(30), 30)
    columns = np.tile(np.arange(30), 30)
    inside = (rows >= 10) & (rows < 15) & (columns >= 10) & (columns < 15)
    near = (rows >= 9) & (rows < 16) & (columns >= 9) & (columns < 16)
    hot = (frame["classe"] == HOT).to_numpy()
    assert hot[inside].sum() >= 20  # most of the 25 cells
    assert not hot[~near].any()  # nothing far from the block
    assert (frame.loc[hot, "q"] < 0.05).all() and (frame.loc[hot, "z"] > 0).all()
    assert (frame["q"] >= frame["p"] - 1e-12).all()  # BH never lowers a p-value


@pytest.mark.parametrize("method", ["gi", "moran"])
def test_a_random_field_gives_about_alpha_n_raw_and_none_after_fdr(method: str) -> None:
    values = random_field(40, 7)
    result = hot_spots(grid(values), method=method)
    n = len(result.frame)
    raw = result.parameters["significant_raw"]
    assert 0.4 * 0.05 * n <= raw <= 1.6 * 0.05 * n, raw
    assert result.parameters["significant_fdr"] <= 2
    assert (result.frame["classe"] == NOT_SIGNIFICANT).sum() >= n - 2


def test_same_seed_same_result_and_another_seed_other_p_values() -> None:
    values = random_field(20, 3)
    values[5:9, 5:9] += 100
    layer = grid(values)
    first = hot_spots(layer, seed=11).frame
    again = hot_spots(layer, seed=11).frame
    other = hot_spots(layer, seed=12).frame
    pd.testing.assert_frame_equal(first.drop(columns="geometry"), again.drop(columns="geometry"))
    assert not np.array_equal(first["p"].to_numpy(), other["p"].to_numpy())
    np.testing.assert_array_equal(first["z"].to_numpy(), other["z"].to_numpy())  # analytic


def test_hidden_cells_are_excluded_never_imputed() -> None:
    """A hidden zone is left out: the result is that of the layer without it."""
    values = random_field(20, 5)
    values[4:8, 4:8] += 100
    status = np.full(values.shape, "publié", dtype=object)
    status[5, 5] = "sous le seuil"  # in the cluster
    status[12, 3] = "secret"
    layer = grid(values, status=status)
    hidden_ids = set(layer.loc[layer["status"] != "publié", "zone"])
    result = hot_spots(layer)
    assert not hidden_ids & set(result.frame["zone"])
    assert result.parameters["zones_hidden_excluded"] == 2
    without = hot_spots(layer[layer["status"] == "publié"].drop(columns="status"))
    pd.testing.assert_frame_equal(
        result.frame.drop(columns="geometry").reset_index(drop=True),
        without.frame.drop(columns="geometry").reset_index(drop=True),
    )
    # the neighbours of the hidden cell count one fewer: its weight is not imputed
    by_zone = result.frame.set_index("zone")["voisins"]
    beside = f"CRS3035RES200mN{N0 + 200 * 5}E{E0 + 200 * 6}"
    assert by_zone[beside] == 7


def test_islands_and_commune_rests_are_said_not_analysed() -> None:
    values = random_field(10, 2)
    layer = grid(values)
    far = grid(np.array([[40]]))  # its id is rewritten below
    far["zone"] = "CRS3035RES200mN2900000E3800000"
    far["geometry"] = cell_polygons(pd.Series(["CRS3035RES200mN2900000E3800000"])).to_numpy()
    rest = layer.iloc[[0]].assign(zone="75056", level="commune")
    result = hot_spots(pd.concat([layer, far, rest], ignore_index=True))
    island = result.frame.set_index("zone").loc["CRS3035RES200mN2900000E3800000"]
    assert island["classe"] == ISLAND and np.isnan(island["p"]) and np.isnan(island["q"])
    assert "75056" not in set(result.frame["zone"])
    assert result.parameters["zones_commune_excluded"] == 1 and result.parameters["islands"] == 1


def test_bad_parameters_are_refused_in_french() -> None:
    layer = grid(random_field(5, 0))
    for kwargs in ({"method": "arcgis"}, {"alpha": 1.5}, {"permutations": 10}, {"band_m": 0}):
        with pytest.raises(ValueError, match=r"[a-zé]"):
            hot_spots(layer, **kwargs)  # type: ignore[arg-type]


def test_demo_hot_spots_read_only_published_zones(demo_workspace: Path, settings) -> None:
    ws = Workspace.open(demo_workspace)
    result = hot_spots_layer(ws, settings=settings, permutations=199)
    density = density_layer(ws, settings=settings)
    frame = result.frame
    assert len(frame) > 20 and frame.crs == density.crs
    published = density.dropna(subset=["count"]).set_index("zone")["count"]
    assert frame["zone"].isin(published.index).all()
    assert (frame["count"].to_numpy() == published.reindex(frame["zone"]).to_numpy()).all()
    assert (frame["count"] >= settings.k).all() and (frame["count"] % settings.rounding == 0).all()
    assert set(frame["level"]) <= {"200m", "1km"}
    assert result.parameters["k"] == settings.k and result.parameters["seed"] == 20261207
    assert {HOT, COLD} & set(frame["classe"]) or (frame["classe"] == NOT_SIGNIFICANT).any()


@pytest.mark.filterwarnings(
    "ignore:The alternative hypothesis:DeprecationWarning",
    "ignore:`row_stack` alias is deprecated:DeprecationWarning",  # inside esda 2.9
)
def test_statistics_match_pysal_esda() -> None:
    """Gi*'s z and local Moran's I are esda's; the permutation p-values agree closely."""
    esda = pytest.importorskip("esda", reason="esda is a test dependency (pyproject [test])")
    libpysal = pytest.importorskip("libpysal", reason="libpysal is a test dependency")
    from territory.analysis.hotspots import _band_neighbours, local_gi_star, local_moran

    values = random_field(25, 9).ravel().astype(float)
    values[:40] += 40
    xy = np.array([(200.0 * j, 200.0 * i) for i in range(25) for j in range(25)])
    neighbours = _band_neighbours(xy, 300)
    w = libpysal.weights.W(
        {i: [int(j) for j in a] for i, a in enumerate(neighbours)}, silence_warnings=True
    )
    w.transform = "B"
    g = esda.G_Local(values, w, transform="B", star=1.0, permutations=999, seed=1)
    z, p = local_gi_star(values, neighbours, rng=np.random.default_rng(1))
    np.testing.assert_allclose(z, g.Zs, atol=1e-9)
    assert np.corrcoef(p, np.minimum(1, 2 * g.p_sim))[0, 1] > 0.97
    w.transform = "R"
    m = esda.Moran_Local(values, w, permutations=999, seed=1)
    zm, pm, lag = local_moran(values, neighbours, rng=np.random.default_rng(1))
    deviation = values - values.mean()
    own = deviation * lag / ((deviation**2).sum() / (len(values) - 1))
    np.testing.assert_allclose(own, m.Is, rtol=1e-9)
    assert np.corrcoef(zm, m.z_sim)[0, 1] > 0.97
    assert np.corrcoef(pm, np.minimum(1, 2 * m.p_sim))[0, 1] > 0.95


def test_queen_weights_join_cells_and_the_km_squares_they_touch() -> None:
    cells = grid(random_field(5, 4))  # 1 km of 200 m cells, south-west corner at (E0, N0)
    km = gpd.GeoDataFrame(
        {
            "zone": [f"CRS3035RES1000mN{N0}E{E0 + 1000}", f"CRS3035RES1000mN{N0}E{E0 + 3000}"],
            "level": "1km",
            "count": pd.array([100, 100], dtype="Int64"),
        },
        geometry=cell_polygons(
            pd.Series([f"CRS3035RES1000mN{N0}E{E0 + 1000}", f"CRS3035RES1000mN{N0}E{E0 + 3000}"])
        ).to_numpy(),
        crs=GRID_CRS,
    )
    layer = pd.concat([cells, km], ignore_index=True).to_crs("EPSG:4326")  # as the map's
    result = hot_spots(layer)
    neighbours = result.frame.set_index("zone")["voisins"]
    assert neighbours[f"CRS3035RES1000mN{N0}E{E0 + 1000}"] == 5  # the east column of cells
    assert neighbours[f"CRS3035RES200mN{N0}E{E0}"] == 3
    assert (
        result.frame.set_index("zone").loc[f"CRS3035RES1000mN{N0}E{E0 + 3000}", "classe"] == ISLAND
    )
    assert result.frame.set_index("zone")["valeur"].iloc[-1] == 100.0  # per km²
    band = hot_spots(layer, weights="distance", band_m=700)
    # centre to centre: 600 m and twice 632 m; 721 m for the two corner cells
    assert band.frame.set_index("zone")["voisins"][f"CRS3035RES1000mN{N0}E{E0 + 1000}"] == 3
    assert band.parameters["band_m"] == 700.0 and result.parameters["band_m"] is None


def test_a_km_zone_spreads_its_contacts_over_the_cells_it_counts() -> None:
    """Nine of its 25 cells are zones of their own: the square counts 0.64 km²."""
    cells = grid(random_field(3, 8))
    km_id = f"CRS3035RES1000mN{N0}E{E0}"
    km = gpd.GeoDataFrame(
        {"zone": [km_id], "level": "1km", "count": pd.array([100], dtype="Int64")},
        geometry=cell_polygons(pd.Series([km_id])).to_numpy(),
        crs=GRID_CRS,
    )
    result = hot_spots(pd.concat([cells, km], ignore_index=True))
    values = result.frame.set_index("zone")["valeur"]
    assert values[km_id] == pytest.approx(100 / 0.64)
    assert values[f"CRS3035RES200mN{N0}E{E0}"] == pytest.approx(cells["count"].iloc[0] / 0.04)
    assert result.frame.set_index("zone")["voisins"][km_id] == 9  # inside its square


@settings_(max_examples=15, deadline=None)
@given(
    people=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 6)),
        min_size=20,
        max_size=400,
    ),
    seed=st.integers(0, 2**16),
)
def test_hot_spots_of_random_contacts_read_only_published_zones(people, seed) -> None:
    """Random contact sets through the real protection: only published grid zones come out."""
    from territory import Settings
    from territory.privacy.protect import protect_density

    rng = np.random.default_rng(seed)
    rows = [
        {
            "cell": f"CRS3035RES200mN{N0 + 200 * i}E{E0 + 200 * j}",
            "commune": "00001" if j < 3 else "00002",
            "person": person,
            "n": n,
            "key": int(rng.integers(0, 256)),
        }
        for person, (i, j, n) in enumerate(people)
    ]
    density = protect_density(pd.DataFrame(rows), settings=Settings())
    grid_zone = density["level"] != "commune"
    geometry = np.full(len(density), None, dtype=object)
    geometry[grid_zone.to_numpy()] = cell_polygons(density.loc[grid_zone, "zone"]).to_numpy()
    geometry[~grid_zone.to_numpy()] = shapely.box(E0, N0, E0 + 1200, N0 + 1200)
    layer = gpd.GeoDataFrame(density, geometry=geometry, crs=GRID_CRS)
    result = hot_spots(layer, permutations=99)
    published = layer[(layer["status"] == "publié") & grid_zone]
    assert set(result.frame["zone"]) == set(published["zone"])
    counts = published.set_index("zone")["count"]
    assert (
        result.frame["count"].to_numpy() == counts.reindex(result.frame["zone"]).to_numpy()
    ).all()
    assert (result.frame["count"] >= 11).all()


def test_demo_hot_spots_of_one_quarter(demo_workspace: Path, settings) -> None:
    from territory.views import breakdown_choices

    ws = Workspace.open(demo_workspace)
    quarter = breakdown_choices(ws, settings=settings)["periode"][-1]
    result = hot_spots_layer(ws, settings=settings, breakdown=("periode", quarter))
    density = density_layer(ws, settings=settings, breakdown=("periode", quarter))
    published = density.dropna(subset=["count"]).set_index("zone")["count"]
    assert result.parameters["breakdown"] == f"periode={quarter}"
    assert result.frame["zone"].isin(published.index).all()
    assert (
        result.frame["count"].to_numpy() == published.reindex(result.frame["zone"]).to_numpy()
    ).all()
