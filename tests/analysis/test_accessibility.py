"""Accessibility to partners: 2SFCA / E2SFCA on the one travel model."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from unittest import mock

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from territory import Settings
from territory._errors import ValidationError
from territory.analysis.accessibility import (
    PER,
    _merge_network,
    accessibility,
    catchment_pairs,
    decay_weights,
    floating_catchment,
)
from territory.crs import METRIC_CRS
from territory.store import Workspace
from territory.travel import TravelModel
from territory.views import accessibility_layer


def three_by_two(decay: str) -> pd.DataFrame:
    """Zones a (0 m), b (2 km), c (20 km); partners at 0 and 3 km; walking at 4.5 km/h."""
    zones = gpd.GeoDataFrame(
        {"code": ["a", "b", "c"]},
        geometry=[shapely.Point(0, 0), shapely.Point(2_000, 0), shapely.Point(20_000, 0)],
        crs=METRIC_CRS,
    )
    partners = gpd.GeoDataFrame(
        {"type": ["ML", "ML"], "horaires": ["Mo-Fr 09:00-17:00", "Mo 09:00-12:00"]},
        geometry=[shapely.Point(0, 0), shapely.Point(3_000, 0)],
        crs=METRIC_CRS,
    )
    result = accessibility(
        zones,
        partners,
        demand=pd.Series([100.0, 300.0, 50.0]),
        mode="marche",
        model=TravelModel(detour=1.0),
        catchment_min=30,
        decay=decay,  # type: ignore[arg-type]
    )
    return result.frame


def test_hand_computed_2sfca() -> None:
    """75 m a minute: a-p1 0 min, b-p1 26.7 min, b-p2 13.3 min, a-p2 40 min (out).

    R1 = 1 / (100 + 300), R2 = 1 / 300; A_a = R1, A_b = R1 + R2, A_c = 0.
    """
    frame = three_by_two("none")
    expected = np.array([1 / 400, 1 / 400 + 1 / 300, 0.0]) * PER
    np.testing.assert_allclose(frame["acces"], expected)
    assert frame["partenaires_accessibles"].tolist() == [1, 2, 0]
    assert frame["sans_partenaire"].tolist() == [False, False, True]


def test_hand_computed_e2sfca_with_luo_and_qi_steps() -> None:
    """Weights 1 (0-10 min), 0.68 (10-20), 0.22 (20-30).

    R1 = 1 / (100 × 1 + 300 × 0.22), R2 = 1 / (300 × 0.68);
    A_a = R1, A_b = 0.22 R1 + 0.68 R2.
    """
    frame = three_by_two("stepped")
    r1, r2 = 1 / (100 + 300 * 0.22), 1 / (300 * 0.68)
    np.testing.assert_allclose(frame["acces"], np.array([r1, 0.22 * r1 + 0.68 * r2, 0]) * PER)
    assert frame.loc[2, "acces"] == 0 and bool(frame.loc[2, "sans_partenaire"])


def test_decay_weights_are_documented_values() -> None:
    steps = decay_weights([0, 9.99, 10, 19.99, 20, 30, 30.01], catchment_min=30, decay="stepped")
    assert steps.tolist() == [1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0]
    gauss = decay_weights([0, 15, 30, 31], catchment_min=30, decay="gaussian")
    edge = math.exp(-0.5)
    assert gauss.tolist() == pytest.approx([1, (math.exp(-0.125) - edge) / (1 - edge), 0, 0])
    assert decay_weights([0, 29, 31], catchment_min=30, decay="none").tolist() == [1, 1, 0]


def test_sparse_catchments_equal_a_dense_computation_and_conserve_supply() -> None:
    rng = np.random.default_rng(3)
    zones_xy = rng.uniform(0, 30_000, (300, 2))
    partners_xy = rng.uniform(0, 30_000, (40, 2))
    demand = rng.integers(0, 2_000, 300).astype(float)
    model = TravelModel()
    i, j, minutes = catchment_pairs(
        zones_xy, partners_xy, mode="vélo", model=model, catchment_min=20
    )
    access, in_reach = floating_catchment(
        i, j, minutes, demand=demand, supply=np.ones(40), catchment_min=20, decay="gaussian"
    )
    # naive: every pair timed, dense weights
    distance = np.hypot(*(zones_xy[:, None, :] - partners_xy[None, :, :]).transpose(2, 0, 1))
    dense = decay_weights(model.minutes(distance, "vélo"), catchment_min=20, decay="gaussian")
    reached = dense.T @ demand
    ratio = np.where(reached > 0, 1 / np.where(reached > 0, reached, 1), 0)
    np.testing.assert_allclose(access, dense @ ratio * PER, rtol=1e-10)
    assert in_reach.tolist() == (model.minutes(distance, "vélo") <= 20).sum(axis=1).tolist()
    # 2SFCA hands out exactly the supply of the partners that someone can reach
    served = (reached > 0).sum()
    assert (access * demand).sum() / PER == pytest.approx(served)


def test_supply_by_weekly_opening_hours() -> None:
    zones = gpd.GeoDataFrame({"code": ["a"]}, geometry=[shapely.Point(0, 0)], crs=METRIC_CRS)
    partners = gpd.GeoDataFrame(
        {"horaires": ["Mo-Fr 09:00-17:00", "", "Mo 09:00-12:00"]},
        geometry=[shapely.Point(10, 0), shapely.Point(20, 0), shapely.Point(30, 0)],
        crs=METRIC_CRS,
    )
    result = accessibility(
        zones, partners, demand=pd.Series([1_000.0]), mode="marche", supply="hours"
    )
    # 40 h + 3 h + the median of the known (21.5 h) for the unknown one, for 1,000 people
    assert result.frame["acces"].iloc[0] == pytest.approx((40 + 3 + 21.5) / 1_000 * PER)
    assert result.parameters["partners_unknown_hours"] == 1


def test_partners_without_position_and_bad_options() -> None:
    zones = gpd.GeoDataFrame({"code": ["a"]}, geometry=[shapely.Point(0, 0)], crs=METRIC_CRS)
    partners = gpd.GeoDataFrame(
        {"type": ["ML", "ML"]}, geometry=[shapely.Point(0, 0), None], crs=METRIC_CRS
    )
    result = accessibility(zones, partners, demand=pd.Series([10.0]), mode="voiture")
    assert result.parameters["partners_without_position"] == 1
    assert result.frame["acces"].iloc[0] == pytest.approx(PER / 10)
    for kwargs in ({"mode": "fusée"}, {"decay": "linear"}, {"catchment_min": 0}):
        options = {"mode": "marche", **kwargs}
        with pytest.raises(ValidationError):
            accessibility(zones, partners, demand=pd.Series([1.0]), **options)  # type: ignore[arg-type]


def test_on_the_road_network_the_river_is_crossed_at_the_bridge(
    tmp_path: Path, settings: Settings
) -> None:
    from territory.ingest import import_file
    from territory.roads import travel_model_for
    from tests.roads_osm import town_osm
    from tests.test_roads import _metric, _town_communes

    ws = Workspace.create(tmp_path / "town.gpkg", name="Ville")
    ws.write_layer("communes", _town_communes(), source="test", vintage="2026")
    import_file(ws, "reseau", town_osm(tmp_path / "ville.osm"), settings=settings)
    network_model = travel_model_for(ws, settings)
    xy = _metric((0, 200), (0, 400), (200, 400))  # a zone across the river from two partners
    pairs = catchment_pairs(xy[:1], xy[1:], mode="marche", model=network_model, catchment_min=20)
    straight = catchment_pairs(
        xy[:1], xy[1:], mode="marche", model=TravelModel.from_settings(settings), catchment_min=20
    )
    assert len(straight[0]) == 2  # 200 m and 283 m as the crow flies
    assert len(pairs[0]) == 0  # 1.8 km by the bridge: 24 minutes
    far = catchment_pairs(xy[:1], xy[1:2], mode="marche", model=network_model, catchment_min=30)
    assert far[2].tolist() == pytest.approx(
        [network_model.matrix(xy[:2], "marche")[0, 1]], rel=0.01
    )


def test_demo_accessibility_by_commune_and_qpv(demo_workspace: Path, settings) -> None:
    ws = Workspace.open(demo_workspace)
    communes, parameters = accessibility_layer(ws, settings=settings, mode="voiture")
    assert communes.crs.to_epsg() == 4326 and communes["code"].is_unique
    assert (communes["acces"] >= 0).all() and communes["acces"].gt(0).any()
    assert (communes.loc[communes["sans_partenaire"], "acces"] == 0).all()
    assert parameters["demand"] and parameters["method"] == "E2SFCA"
    qpv, qpv_parameters = accessibility_layer(ws, settings=settings, mode="marche", kind="qpv")
    assert len(qpv) >= 3 and qpv_parameters["zones"] == "qpv"


def test_network_catchments_read_by_chunk_equal_one_target_at_a_time() -> None:
    """The chunked reading of the partners' searches gives the pairs of the way before.

    A fictional 6 × 6 km street grid (one-way streets, streets closed to cars), zones and
    partners around it (some partners on the same node, some zones and partners too far
    from any street): the same pairs in the same order with the same minutes, bit for bit,
    and the same E2SFCA, for driving and walking.
    """
    from bench.access_roads import reach_one_target_at_a_time
    from bench.roads import synthetic_network
    from territory.roads import RoadNetwork

    edges = synthetic_network(side_km=6.0, step_m=250.0)
    network = RoadNetwork.from_edges(edges)
    west, south, east, north = edges.total_bounds
    rng = np.random.default_rng(5)
    zone_xy = rng.uniform([west - 900, south - 900], [east + 900, north + 900], size=(400, 2))
    partner_xy = rng.uniform([west, south], [east, north], size=(60, 2))
    partner_xy = np.vstack([partner_xy, partner_xy[:5] + 3.0, [[east + 2_000, north]]])
    for mode, speed, limit in (("voiture", 40.0, 6.0), ("marche", 4.5, 25.0)):
        ours = network.reach(zone_xy, partner_xy, mode, speed_kmh=speed, limit=limit)
        before = reach_one_target_at_a_time(
            network, zone_xy, partner_xy, mode, speed_kmh=speed, limit=limit
        )
        assert len(ours[0]) > 1_000, mode  # enough pairs to mean something
        for a, b in zip(ours, before, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b), mode
    zones = gpd.GeoDataFrame(geometry=shapely.points(zone_xy), crs=METRIC_CRS)
    partners = gpd.GeoDataFrame(
        {"type": ["ML"] * len(partner_xy)}, geometry=shapely.points(partner_xy), crs=METRIC_CRS
    )
    demand = pd.Series(rng.integers(10, 500, len(zones)).astype(float))
    model = TravelModel().with_network(network)
    on_network = accessibility(
        zones, partners, demand=demand, mode="voiture", model=model, catchment_min=12
    )
    with mock.patch.object(
        RoadNetwork, "reach", lambda self, *a, **k: reach_one_target_at_a_time(self, *a, **k)
    ):
        slow = accessibility(
            zones, partners, demand=demand, mode="voiture", model=model, catchment_min=12
        )
    assert on_network.frame.equals(slow.frame)
    assert on_network.frame["acces"].gt(0).sum() > 100
    # Every zone and partner on the network: the straight-line search is skipped (it would
    # raise here), the pairs those of the way before (straight lines, then the network's).
    inside = (zone_xy[:, 0] > west) & (zone_xy[:, 0] < east)
    inside &= (zone_xy[:, 1] > south) & (zone_xy[:, 1] < north)
    options = {"mode": "voiture", "model": model, "catchment_min": 12.0}
    with mock.patch("territory.analysis.accessibility.cKDTree", side_effect=AssertionError):
        pairs = catchment_pairs(zone_xy[inside], partner_xy[:60], **options)
    straight = catchment_pairs(
        zone_xy[inside], partner_xy[:60], **{**options, "model": TravelModel()}
    )
    along = reach_one_target_at_a_time(
        network, zone_xy[inside], partner_xy[:60], "voiture", speed_kmh=40.0, limit=7.0
    )
    assert along[3].all() and along[4].all()
    before = _merge_network(*straight, along, 5.0)
    keep = before[2] <= 12.0
    for a, b in zip(pairs, before, strict=True):
        assert np.array_equal(a, b[keep])


def _reach_as_one_target_at_a_time(
    network: Any,
    zone_xy: Any,
    partner_xy: Any,
    mode: str,
    speed: float,
    limit: float,
    region: Any,
) -> tuple[np.ndarray, ...]:
    """``network.reach`` with ``region`` as its search region; checked, then returned.

    Bit for bit against one search per target over the whole graph.
    """
    from bench.access_roads import reach_one_target_at_a_time
    from territory import roads

    with mock.patch.object(roads, "_region", region):
        ours = network.reach(zone_xy, partner_xy, mode, speed_kmh=speed, limit=limit)
    before = reach_one_target_at_a_time(
        network, zone_xy, partner_xy, mode, speed_kmh=speed, limit=limit
    )
    assert len(ours[0]) > 2_000, mode
    for a, b in zip(ours, before, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b), mode
    return ours


def test_network_catchments_searched_by_region_equal_the_whole_graph() -> None:
    """Searches cut to the region they can reach give the pairs of whole-graph searches.

    A fictional 24 × 24 km street grid (a faster road every 5 km sets the speed bound),
    partners around towns and a few alone, zones spread over it: the chunks of close
    partner nodes search only their region (at least one chunk does, and the regions are
    much smaller than the graph), and the pairs, their order and their minutes are those
    of one search per partner over the whole graph, bit for bit, for driving and walking.
    """
    from bench.roads import synthetic_network, synthetic_points
    from territory import roads

    edges = synthetic_network(side_km=24.0, step_m=250.0)
    network = roads.RoadNetwork.from_edges(edges)
    west, south, east, north = edges.total_bounds
    rng = np.random.default_rng(8)
    zone_xy = rng.uniform([west - 600, south - 600], [east + 600, north + 600], size=(3_000, 2))
    partner_xy = np.vstack([synthetic_points(edges, 150, seed=4), partner_xy_alone(rng, edges)])
    sizes: list[tuple[int, int]] = []
    real_region = roads._region

    def region(graph: Any, sources: Any, radius: float, **options: Any) -> Any:
        matrix, local = real_region(graph, sources, radius, **options)
        sizes.append((matrix.shape[0], graph.matrix.shape[0]))
        return matrix, local

    for mode, speed, limit in (("voiture", 40.0, 7.0), ("marche", 4.5, 20.0)):
        sizes.clear()
        _reach_as_one_target_at_a_time(network, zone_xy, partner_xy, mode, speed, limit, region)
        assert min(part / whole for part, whole in sizes) < 0.5, mode


def test_steps_along_the_network_chunk_by_chunk_equal_those_on_the_pairs() -> None:
    """The two steps taken chunk by chunk give those of the pairs in order, bit for bit.

    The 24 × 24 km grid, every zone and partner on the network (the chunked way is taken,
    and checked to be), driving and walking, the three decays, several partners on one
    node: the same accessibility and partners in reach as :func:`floating_catchment` on
    :func:`catchment_pairs`.
    """
    from bench.roads import synthetic_network, synthetic_points
    from territory.analysis import accessibility as module
    from territory.roads import RoadNetwork

    edges = synthetic_network(side_km=24.0, step_m=250.0)
    network = RoadNetwork.from_edges(edges)
    west, south, east, north = edges.total_bounds
    rng = np.random.default_rng(9)
    zone_xy = rng.uniform([west, south], [east, north], size=(2_500, 2))
    partner_xy = synthetic_points(edges, 120, seed=6)
    partner_xy = np.vstack([partner_xy, partner_xy[:8] + 1.0])
    zones = gpd.GeoDataFrame(geometry=shapely.points(zone_xy), crs=METRIC_CRS)
    partners = gpd.GeoDataFrame(
        {"type": ["ML"] * len(partner_xy)}, geometry=shapely.points(partner_xy), crs=METRIC_CRS
    )
    demand = pd.Series(rng.lognormal(5, 1, len(zones)).round())
    demand[::50] = np.nan
    model = TravelModel().with_network(network)
    for mode, catchment, decay in (
        ("voiture", 12.0, "stepped"),
        ("voiture", 10.0, "gaussian"),
        ("marche", 20.0, "none"),
    ):
        options = {"mode": mode, "model": model, "catchment_min": catchment, "decay": decay}
        with mock.patch.object(module, "_steps_along", wraps=module._steps_along) as spy:
            chunked = accessibility(zones, partners, demand=demand, **options)
        assert spy.call_count == 1, mode
        along = module._steps_along(
            zone_xy,
            partner_xy,
            demand=demand.to_numpy(dtype=float),
            supply=np.ones(len(partner_xy)),
            mode=mode,
            model=model,
            catchment_min=catchment,
            decay=decay,
        )
        assert along is not None, mode
        i, j, minutes = catchment_pairs(
            zone_xy, partner_xy, mode=mode, model=model, catchment_min=catchment
        )
        access, in_reach = floating_catchment(
            i,
            j,
            minutes,
            demand=demand.to_numpy(dtype=float),
            supply=np.ones(len(partner_xy)),
            catchment_min=catchment,
            decay=decay,
        )
        assert len(i) > 1_000 and access.max() > 0, mode
        assert np.array_equal(chunked.frame["acces"].to_numpy(), access), mode
        assert np.array_equal(along[0], access) and np.array_equal(along[1], in_reach), mode
        assert np.array_equal(chunked.frame["partenaires_accessibles"].to_numpy(), in_reach)
        with mock.patch.object(module, "_steps_along", return_value=None):
            general = accessibility(zones, partners, demand=demand, **options)
        assert general.frame.equals(chunked.frame), mode


def test_searches_without_the_dead_ends_give_the_whole_graph_minutes() -> None:
    """The searches leave the culs-de-sac out, and every pair keeps its minutes, bit for bit.

    The 24 × 24 km grid (one-way streets, paths closed to cars that leave chains of
    two-edge nodes in the car graph, a faster road every 5 km) with 400 culs-de-sac, some
    forked, some one way; zones on and around the lanes' nodes, partners on the grid and
    a few on lanes (their lanes are searched): the pairs, their order and their minutes
    are those of one search per partner over the whole graph, for driving and walking,
    and the dead ends were left out of the searches.
    """
    from bench.roads import synthetic_network, synthetic_points, with_culs_de_sac
    from territory import roads

    rng = np.random.default_rng(12)
    edges, lane_xy = with_culs_de_sac(synthetic_network(side_km=24.0, step_m=250.0), 400, seed=12)
    network = roads.RoadNetwork.from_edges(edges)
    west, south, east, north = edges.total_bounds
    zone_xy = np.vstack(
        [
            lane_xy + rng.normal(0, 3, size=lane_xy.shape),
            rng.uniform([west, south], [east, north], size=(1_500, 2)),
        ]
    )
    partner_xy = np.vstack([synthetic_points(edges, 150, seed=4), lane_xy[:400:40]])
    left_out: list[int] = []
    real_region = roads._region

    def region(graph: Any, sources: Any, radius: float, **options: Any) -> Any:
        matrix, local = real_region(graph, sources, radius, **options)
        out = graph.order[~options["keep"]]  # the dead ends not searched
        assert (local[out] < 0).all() and (local[sources] >= 0).all()
        left_out.append(len(out))
        return matrix, local

    for mode, speed, limit in (("voiture", 40.0, 7.0), ("marche", 4.5, 20.0)):
        graph = network._graph(mode, speed)
        dead = graph.dead_ends
        assert dead is not None and (dead.root >= 0).sum() > 600, mode
        assert (dead.depth >= 3).any(), mode  # lanes of several edges
        left_out.clear()
        ours = _reach_as_one_target_at_a_time(network, zone_xy, partner_xy, mode, speed,
                                              limit, region)  # fmt: skip
        _, node = network._snap(graph, zone_xy[ours[0]])
        on_lanes = dead.root[node] >= 0
        assert on_lanes.sum() > 200, mode  # pairs read from the lanes' roots
        # Every chunk left the dead ends out, but the lanes of the partners on lanes.
        assert left_out and min(left_out) > 500, mode
        assert min(left_out) < (dead.root >= 0).sum(), mode


def partner_xy_alone(rng: np.random.Generator, edges: gpd.GeoDataFrame) -> np.ndarray:
    """Partners alone in the corners of the grid (each chunk's region is its own)."""
    west, south, east, north = edges.total_bounds
    corners = np.array([[west, south], [east, south], [west, north], [east, north]])
    return corners + rng.uniform(-200, 200, size=(4, 2))


def test_decay_steps_start_at_the_first_time_whose_third_reaches_them() -> None:
    """The two start times of the steps, on either side of them, for many catchments."""
    from territory.analysis.accessibility import _step_starts

    rng = np.random.default_rng(3)
    for catchment in (30.0, 20.0, 12.5, 7.0, 45.3, 1e-3, 1e5, 0.1 + 0.2, 29.999999999999996):
        first, second = _step_starts(catchment)
        around = [np.nextafter(np.nextafter(t, -1), -1) for t in (first, second)]
        times = [*around, *[np.nextafter(t, -1) for t in (first, second)], first, second]
        times += [np.nextafter(t, np.inf) for t in (first, second, catchment)]
        minutes = np.concatenate([times, rng.uniform(-1, catchment * 1.2, 20_000)])
        third = minutes / catchment * 3
        before = np.where(third >= 2, 0.22, np.where(third >= 1, 0.68, 1.0))
        before = np.where(minutes <= catchment, before, 0.0)
        ours = decay_weights(minutes, catchment_min=catchment, decay="stepped")
        assert np.array_equal(ours, before), catchment
        assert first / catchment * 3 >= 1 > np.nextafter(first, 0) / catchment * 3
        assert second / catchment * 3 >= 2 > np.nextafter(second, 0) / catchment * 3


def test_decay_steps_are_those_of_the_integer_third_bit_for_bit() -> None:
    """The stepped weights compare the third with 1 and 2 instead of truncating it."""
    catchment = 30.0
    rng = np.random.default_rng(2)
    edges = np.array([0.0, 10.0, 20.0, 30.0, np.nextafter(10.0, 0), np.nextafter(20.0, 40)])
    minutes = np.concatenate([rng.uniform(0, 35, 50_000), edges, [-1.0, np.nan, np.inf]])
    with np.errstate(invalid="ignore"):  # the way before: NaN and inf cast to an integer
        third = np.minimum((minutes / catchment * 3).astype(np.int64), 2)
    before = np.asarray((1.0, 0.68, 0.22))[np.clip(third, 0, 2)]
    before = np.where(minutes <= catchment, np.maximum(before, 0.0), 0.0)
    ours = decay_weights(minutes, catchment_min=catchment, decay="stepped")
    assert np.array_equal(ours, before)


def test_network_catchments_on_an_imported_osm_town_every_mode(
    tmp_path: Path, settings: Settings
) -> None:
    """An imported OSM town: every mode's pairs and E2SFCA those of the way before.

    A real OSM file through the importer (one-way street, footway, motorway, bridge), for
    walking, cycling and driving, bit for bit, with zones and partners off the network
    (their straight lines) and partners sharing a node.
    """
    from bench.access_roads import reach_one_target_at_a_time
    from territory.ingest import import_file
    from territory.roads import RoadNetwork, load_network
    from tests.roads_osm import town_osm
    from tests.test_roads import _metric, _town_communes

    ws = Workspace.create(tmp_path / "town.gpkg", name="Ville")
    ws.write_layer("communes", _town_communes(), source="test", vintage="2026")
    import_file(ws, "reseau", town_osm(tmp_path / "ville.osm"), settings=settings)
    network = load_network(ws)
    assert network is not None
    rng = np.random.default_rng(11)
    zone_xy = _metric(*map(tuple, rng.uniform([-1_200, -1_000], [2_000, 1_600], size=(300, 2))))
    spots = rng.uniform([-100, -250], [900, 650], size=(40, 2))
    partner_xy = _metric(*map(tuple, spots), *map(tuple, spots[:6] + 2.0), (2_500.0, 300.0))
    model = TravelModel.from_settings(settings).with_network(network)
    zones = gpd.GeoDataFrame(geometry=shapely.points(zone_xy), crs=METRIC_CRS)
    partners = gpd.GeoDataFrame(
        {"type": ["ML"] * len(partner_xy)}, geometry=shapely.points(partner_xy), crs=METRIC_CRS
    )
    demand = pd.Series(rng.integers(10, 500, len(zones)).astype(float))
    one_at_a_time = mock.patch.object(
        RoadNetwork, "reach", lambda self, *a, **k: reach_one_target_at_a_time(self, *a, **k)
    )
    for mode, limit in (("marche", 10.0), ("vélo", 4.0), ("voiture", 2.0)):
        speed = model.speed(mode)
        ours = network.reach(zone_xy, partner_xy, mode, speed_kmh=speed, limit=limit)
        before = reach_one_target_at_a_time(
            network, zone_xy, partner_xy, mode, speed_kmh=speed, limit=limit
        )
        assert len(ours[0]) > 500, mode  # enough pairs to mean something
        assert not ours[3].all() and not ours[4].all(), mode  # some ends off the network
        for a, b in zip(ours, before, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b), mode
        catchment = limit + float(model.access_minutes.get(mode, 0.0))
        options = {"demand": demand, "mode": mode, "model": model, "catchment_min": catchment}
        found = accessibility(zones, partners, **options)  # type: ignore[arg-type]
        with one_at_a_time:
            slow = accessibility(zones, partners, **options)  # type: ignore[arg-type]
        assert found.frame.equals(slow.frame), mode
        assert found.frame["acces"].gt(0).sum() > 50, mode
