"""Travel on an OpenStreetMap road network (issue #20, item 4).

A small ``.osm`` extract written here (:mod:`tests.roads_osm`): streets every 200 m, a
river that only one bridge crosses, a footway shortcut, a one-way street, a motorway, a
private lane. Its import, its refusals, the times by mode, the fallback to the straight
line, and a demo week planned and drawn on a network.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from territory import Settings
from territory._errors import InputFileError
from territory.cli import main
from territory.crs import METRIC_CRS
from territory.ingest import import_file
from territory.roads import MAX_SNAP_M, ROAD_LAYER, load_network, model_note, travel_model_for
from territory.store import Workspace
from territory.travel import TravelModel
from tests.io.test_corpus import differences, snapshot
from tests.roads_osm import grid_osm, lonlat, town_osm, write_osm

WALK_M_PER_MIN = 4.5 * 1000 / 60
CAR_30_M_PER_MIN = 30 * 1000 / 60


def _metric(*points: tuple[float, float]) -> np.ndarray:
    """Lambert-93 coordinates of town points given in metres from the town's origin."""
    lon_lat = [lonlat(x, y) for x, y in points]
    series = gpd.GeoSeries(gpd.points_from_xy(*zip(*lon_lat, strict=True)), crs=4326)
    metric = series.to_crs(METRIC_CRS)
    return np.column_stack([metric.x, metric.y])


def _town_communes() -> gpd.GeoDataFrame:
    """A commune around the town, and one 20 km away that the network does not reach."""
    town = box(*lonlat(-300, -300), *lonlat(1100, 900))
    far = box(*lonlat(20_000, 0), *lonlat(22_000, 2000))
    return gpd.GeoDataFrame(
        {"code": ["03001", "03002"], "nom": ["Ville", "Loin"]}, geometry=[town, far], crs=4326
    )


@pytest.fixture
def town(tmp_path: Path, settings: Settings) -> tuple[Workspace, object]:
    """A workspace with two communes and the town's network imported."""
    ws = Workspace.create(tmp_path / "town.gpkg", name="Ville")
    ws.write_layer("communes", _town_communes(), source="test", vintage="2026")
    report = import_file(ws, "reseau", town_osm(tmp_path / "ville.osm"), settings=settings)
    return ws, report


def test_import_report_counts_ways_kept_and_dropped(town) -> None:
    ws, report = town
    assert (report.read, report.accepted, report.refused) == (21, 19, 2)
    reasons = {r.reason for r in report.refusals}
    assert reasons == {
        "pas une voie (sans étiquette highway)",
        "fermée à la marche, au vélo et à la voiture",
    }
    text = "\n".join(report.notes)
    assert "le réseau couvre 1 commune(s) sur 2 entièrement et 0 en partie" in text
    assert "emprise : longitude 3,33" in text
    edges = ws.read_layer(ROAD_LAYER)
    assert str(edges.crs) == "EPSG:4326" and ws.layers()[ROAD_LAYER].count == len(edges)
    by_class = edges.groupby("highway")[["marche", "velo", "voiture"]].all()
    assert by_class.loc["motorway"].tolist() == [False, False, True]
    assert by_class.loc["footway"].tolist() == [True, False, False]
    assert edges["sens_unique"].sum() == 4  # the four blocks of the one-way Rue Nord
    assert set(edges.loc[edges["sens_unique"], "nom"]) == {"Rue Nord"}
    assert edges.loc[edges["highway"] == "tertiary", "vitesse_kmh"].tolist() == [30.0]
    assert edges.loc[edges["highway"] == "motorway", "vitesse_kmh"].tolist() == [110.0]
    assert f"{len(edges)} tronçon(s) entre carrefours" in text
    assert report.batch is not None


def test_walking_takes_the_footway_and_cars_cannot(town, settings: Settings) -> None:
    ws, _ = town
    model = travel_model_for(ws, settings)
    xy = _metric((0, 0), (200, 200))
    walk = model.matrix(xy, "marche")[0, 1]
    car = model.matrix(xy, "voiture")[0, 1]
    assert walk == pytest.approx(200 * math.sqrt(2) / WALK_M_PER_MIN, rel=0.01)
    # By the streets: 400 m at 30 km/h, plus the model's 5 minutes to park.
    assert car == pytest.approx(400 / CAR_30_M_PER_MIN + 5, rel=0.01)
    line = model.network.route(xy[0], xy[1], "voiture")
    assert line.length == pytest.approx(400, rel=0.01)


def test_cars_follow_the_one_way_street(town, settings: Settings) -> None:
    ws, _ = town
    model = travel_model_for(ws, settings).with_network(load_network(ws))
    xy = _metric((800, 600), (0, 600))
    car = model.matrix(xy, "voiture") - 5  # the access time
    walk = model.matrix(xy, "marche")
    assert car[1, 0] == pytest.approx(800 / CAR_30_M_PER_MIN, rel=0.01)  # eastbound: direct
    assert car[0, 1] == pytest.approx(1200 / CAR_30_M_PER_MIN, rel=0.01)  # westbound: around
    assert walk[0, 1] == pytest.approx(walk[1, 0]) == pytest.approx(800 / WALK_M_PER_MIN, rel=0.01)
    back = model.network.route(xy[0], xy[1], "voiture")
    assert back.length == pytest.approx(1200, rel=0.01)


def test_the_bridge_detour_makes_the_river_crossing_longer(town, settings: Settings) -> None:
    ws, _ = town
    network_model = travel_model_for(ws, settings)
    straight_model = TravelModel.from_settings(settings)
    xy = _metric((0, 200), (0, 400))  # 200 m apart, across the river
    on_network = network_model.matrix(xy, "marche")[0, 1]
    straight = straight_model.matrix(xy, "marche")[0, 1]
    assert straight == pytest.approx(200 * 1.3 / WALK_M_PER_MIN, rel=0.01)
    # 800 m along the quay, the bridge, 800 m back: the private lane is closed.
    assert on_network == pytest.approx(1800 / WALK_M_PER_MIN, rel=0.01)
    assert on_network > 6 * straight
    route = network_model.network.route(xy[0], xy[1], "marche")
    assert route.length == pytest.approx(1800, rel=0.01)
    assert shapely.Point(xy[0]).distance(route) < 1 and shapely.Point(xy[1]).distance(route) < 1


def test_points_far_from_the_network_fall_back_and_are_counted(town, settings) -> None:
    ws, _ = town
    model = travel_model_for(ws, settings)
    xy = _metric((0, 0), (800, 0), (400, 3000), (0, 400))  # the third is 2.4 km north
    matrix, fallback = model.matrix_and_fallback(xy, "marche")
    assert fallback == 6  # the far point to and from the three others
    straight = TravelModel.from_settings(settings).matrix(xy, "marche")
    assert matrix[2] == pytest.approx(straight[2])
    assert matrix[:, 2] == pytest.approx(straight[:, 2])
    assert matrix[0, 1] == pytest.approx(800 / WALK_M_PER_MIN, rel=0.01)
    # A point 100 m off the network adds its straight leg, and is not a fallback.
    near = _metric((0, 0), (900, 0))
    times, lost = model.matrix_and_fallback(near, "marche")
    assert lost == 0 and times[0, 1] == pytest.approx(900 / WALK_M_PER_MIN, rel=0.01)
    assert MAX_SNAP_M == 500


def test_cars_take_the_motorway_and_walkers_cannot(town, settings: Settings) -> None:
    ws, _ = town
    model = travel_model_for(ws, settings)
    xy = _metric((0, 0), (800, 0))
    walk = model.matrix(xy, "marche")[0, 1]
    car = model.matrix(xy, "voiture")[0, 1] - 5
    assert walk == pytest.approx(800 / WALK_M_PER_MIN, rel=0.01)
    # Ramp, motorway, ramp: 1,200 m at 110 km/h beat 800 m of street at 30 km/h.
    assert car == pytest.approx(1200 / (110 * 1000 / 60), rel=0.01)
    assert model.network.route(xy[0], xy[1], "voiture").length == pytest.approx(1200, rel=0.01)
    assert model.network.route(xy[0], xy[1], "marche").length == pytest.approx(800, rel=0.01)


def test_without_a_network_the_model_is_the_straight_line(tmp_path: Path, settings) -> None:
    ws = Workspace.create(tmp_path / "empty.gpkg", name="Vide")
    model = travel_model_for(ws, settings)
    assert model.network is None and model == TravelModel.from_settings(settings)
    assert model_note(model) == "temps en ligne droite × 1,3 (pas de réseau routier importé)"
    xy = _metric((0, 200), (0, 400))
    assert model.matrix_and_fallback(xy, "marche")[1] == 0


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("casse.osm", '<osm version="0.6"><node id="1" lat="4', "illisible"),
        ("gpx.osm", '<gpx version="1.1"><trk/></gpx>', "n'est pas un extrait OpenStreetMap"),
        ("vide.osm", "", "illisible"),
        ("riviere.osm", None, "aucune voie utilisable"),
        ("extrait.osm.pbf", "\x00\x01binary", "convertissez-le en .osm"),
    ],
)
def test_a_broken_file_is_refused_and_the_workspace_unchanged(
    town, tmp_path: Path, settings: Settings, name: str, content: str | None, expected: str
) -> None:
    ws, _ = town
    before = snapshot(ws.path)
    path = tmp_path / name
    if content is None:
        write_osm(path, [([(0, 0), (500, 0)], {"waterway": "river"})])
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError, match=expected) as caught:
        import_file(ws, "reseau", path, settings=settings)
    assert "\n" not in str(caught.value)
    assert differences(before, snapshot(ws.path)) == []
    assert len(ws.read_layer(ROAD_LAYER)) == 31


def test_cli_exits_2_with_one_line_on_a_broken_file(
    town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, _ = town
    broken = tmp_path / "casse.osm"
    broken.write_text("<osm><way id='1'><nd ref=", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "reseau", str(broken), "--workspace", str(ws.path)]) == 2
    out = capsys.readouterr()
    lines = [line for line in out.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "casse.osm illisible" in lines[0]
    assert "Traceback" not in out.err + out.out


def test_undo_puts_the_previous_network_back(town, tmp_path: Path, settings) -> None:
    from territory.ingest import undo_batch

    ws, _ = town
    before = ws.read_layer(ROAD_LAYER)
    small = write_osm(tmp_path / "petit.osm", [([(0, 0), (300, 0)], {"highway": "footway"})])
    assert load_network(ws).edges == len(before)
    second = import_file(ws, "reseau", small, settings=settings)
    assert len(ws.read_layer(ROAD_LAYER)) == 1 and load_network(ws).edges == 1
    assert any("remplace le réseau importé avant" in n for n in second.notes)
    undo_batch(ws, second.batch)
    assert load_network(ws).edges == len(before)  # the cached network follows the undo
    pd.testing.assert_frame_equal(
        ws.read_layer(ROAD_LAYER).drop(columns="geometry"), before.drop(columns="geometry")
    )


# ------------------------------------------------------------------ the demo week
@pytest.fixture(scope="module")
def demo_on_network(
    demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory, settings: Settings
):
    """The demo workspace with a street grid over its communes, its week planned and saved."""
    from territory.rounds.week import plan_week, save_plan

    folder = tmp_path_factory.mktemp("roads")
    path = folder / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    bounds = ws.read_layer("communes").total_bounds
    report = import_file(ws, "reseau", grid_osm(folder / "grille.osm", bounds), settings=settings)
    assert report.refused == 0
    plan, places = plan_week(ws, "2026-W49", settings=settings, time_limit=3)
    return ws, plan, save_plan(ws, "2026-W49", plan, places, change="optimisation")


def test_demo_plan_legs_take_the_network_times(demo_on_network, settings: Settings) -> None:
    from territory.rounds.sheets import round_legs

    ws, plan, saved = demo_on_network
    network = load_network(ws)
    assert network is not None
    assert any(
        n.startswith("Trajets : temps sur le réseau OpenStreetMap importé (") for n in plan.notes
    )
    model = travel_model_for(ws, settings)
    teams = ws.read_table("teams").set_index("nom")
    legs = round_legs(saved, ws, settings=settings)
    visits = saved.visits.sort_values(["team", "start"])
    checked = 0
    for (team, _), rows in visits.groupby([visits["team"], visits["start"].dt.date]):
        mode = teams.at[team, "mode"]
        if not network.serves(mode):
            continue
        lon = [teams.at[team, "base_lon"], *rows["lon"]]
        lat = [teams.at[team, "base_lat"], *rows["lat"]]
        points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(METRIC_CRS)
        xy = np.column_stack([points.x, points.y])
        matrix = model.matrix(xy, mode)
        straight = TravelModel.from_settings(settings).matrix(xy, mode)
        for k in range(1, len(rows)):
            previous, current = rows.index[k - 1], rows.index[k]
            if legs.at[previous, "round"] != legs.at[current, "round"]:
                continue
            expected = math.ceil(matrix[k, k + 1] - 1e-9)
            assert legs.at[current, "leg_min"] == expected
            if abs(matrix[k, k + 1] - straight[k, k + 1]) > 1:
                checked += 1
    assert checked >= 3  # legs whose network time differs from the straight line's


def test_demo_routes_are_drawn_along_the_network(demo_on_network, settings: Settings) -> None:
    from territory.rounds.outputs import date_of, route_layer

    ws, _, saved = demo_on_network
    network = load_network(ws)
    teams = ws.read_table("teams").set_index("nom")
    walking = [t for t in teams.index if teams.at[t, "mode"] == "marche"]
    assert walking
    team = walking[0]
    visits = saved.visits[saved.visits["team"] == team].sort_values("start")
    day = date_of(visits["start"].iloc[0])
    rows = visits[visits["start"].map(date_of) == day]
    layer = route_layer(saved, ws, day=day).to_crs(METRIC_CRS)
    line = layer[(layer["team"] == team) & (layer["ordre"] == 0)].geometry.iloc[0]
    lon = [teams.at[team, "base_lon"], *rows["lon"], teams.at[team, "base_lon"]]
    lat = [teams.at[team, "base_lat"], *rows["lat"], teams.at[team, "base_lat"]]
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(METRIC_CRS)
    xy = np.column_stack([points.x, points.y])
    speed = travel_model_for(ws, settings).speed("marche")
    times = network.times(xy, "marche", speed_kmh=speed).minutes
    along = sum(times[k, k + 1] for k in range(len(xy) - 1)) * speed * 1000 / 60
    straight = shapely.LineString(xy).length
    # The drawn round is as long as the network's paths, longer than the straight lines.
    assert line.length == pytest.approx(along, rel=0.01)
    assert line.length > straight * 1.05
    # The grid's streets run north-south and east-west (give or take the projection's
    # rotation): so do the drawn segments, but for the short straight legs from a stop to
    # its street (under half the grid's step).
    steps = np.diff(shapely.get_coordinates(line), axis=0)
    length = np.hypot(*steps.T)
    oblique = np.abs(steps).min(axis=1) > 0.02 * length
    assert (length[oblique] < 300).all()
    assert length[~oblique].sum() > 0.6 * line.length


# ------------------------------------------------------------------ fetch --reseau
def test_fetch_network_offline_says_to_import_an_extract(
    town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import requests
    import responses

    from territory.io.sources import SOURCES

    ws, _ = town
    before = snapshot(ws.path)
    monkeypatch.setenv("TERRITORY_CACHE_DIR", str(tmp_path / "cache"))
    capsys.readouterr()
    with responses.RequestsMock() as mock:
        mock.get(SOURCES["osm_roads"].url, body=requests.ConnectionError("hors ligne"))
        assert main(["fetch", "--reseau", "--workspace", str(ws.path)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err[-1] == (
        "territory : erreur : pas de connexion : importez un extrait OSM du réseau routier avec "
        "territory import reseau FICHIER.osm (par exemple osmium tags-filter extrait.osm.pbf "
        "w/highway -o reseau.osm)"
    )
    assert differences(before, snapshot(ws.path)) == []


def test_fetch_network_imports_the_overpass_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import responses

    from territory.fetch import overpass_network_query
    from territory.io.sources import SOURCES

    ws = Workspace.create(tmp_path / "ville.gpkg", name="Ville")
    ws.write_layer("communes", _town_communes(), source="test", vintage="2026")
    answer = town_osm(tmp_path / "overpass.osm").read_bytes()
    monkeypatch.setenv("TERRITORY_CACHE_DIR", str(tmp_path / "cache"))
    west, south, east, north = _town_communes().total_bounds
    with responses.RequestsMock() as mock:
        mock.get(
            SOURCES["osm_roads"].url,
            body=answer,
            match=[
                responses.matchers.query_param_matcher(
                    {"data": overpass_network_query((west, south, east, north))}
                )
            ],
        )
        assert main(["fetch", "--reseau", "--workspace", str(ws.path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["kind"], report["read"], report["accepted"]) == ("reseau", 21, 19)
    assert "source : © les contributeurs d'OpenStreetMap ; licence : ODbL" in report["notes"]
    assert ws.layers()[ROAD_LAYER].count == len(ws.read_layer(ROAD_LAYER)) > 20


# ------------------------------------------------------------------ indicators
def test_access_indicator_times_follow_the_network(town, settings: Settings) -> None:
    from territory.analysis.access import partner_distance, travel_time

    ws, _ = town
    model = travel_model_for(ws, settings)
    centre = _metric((0, 200))[0]
    zones = gpd.GeoDataFrame(
        {"code": ["Z"]},
        geometry=[box(centre[0] - 10, centre[1] - 10, centre[0] + 10, centre[1] + 10)],
        crs=METRIC_CRS,
    )
    spots = _metric((0, 400), (800, 600))  # across the river; farther, on the north bank
    partners = gpd.GeoDataFrame(
        {"type": ["ML", "ML"], "horaires": ["", ""]},
        geometry=gpd.points_from_xy(spots[:, 0], spots[:, 1]),
        crs=METRIC_CRS,
    )
    dist = partner_distance(zones, partners, types=["ML"])
    assert dist.iloc[0] == pytest.approx(200, abs=1)
    straight = travel_time(dist, mode="walk", settings=settings)
    along = travel_time(dist, mode="walk", model=model, zones=zones, partners=partners)
    assert straight.iloc[0] == pytest.approx(200 * 1.3 / WALK_M_PER_MIN, rel=0.01)
    # The partner across the river is 1,800 m away over the bridge; the other one, farther
    # in a straight line, is the nearest by the network: 800 m east, the bridge, 200 m.
    assert along.iloc[0] == pytest.approx(1200 / WALK_M_PER_MIN, rel=0.01)
    car = travel_time(dist, mode="car", model=model, zones=zones, partners=partners)
    # By car, down to the motorway and back: 800 m of streets at 30 km/h, 1,200 m at 110.
    assert car.iloc[0] == pytest.approx(800 / CAR_30_M_PER_MIN + 1200 / 1833.33 + 5, rel=0.01)
    alone = travel_time(dist, mode="walk", model=model, zones=zones, partners=partners[:1])
    assert alone.iloc[0] == pytest.approx(1800 / WALK_M_PER_MIN, rel=0.01)
    # From the partner at (800, 600) back west, cars go around the one-way street.
    assert model.network.nearest_times(
        spots[1:], _metric((0, 600)), "voiture", speed_kmh=40
    ) == pytest.approx([1200 / CAR_30_M_PER_MIN], rel=0.01)


def test_priorities_on_a_network_take_its_times(demo_on_network, settings: Settings) -> None:
    from territory.analysis.priority import zone_indicators

    ws, _, _ = demo_on_network
    on_network = zone_indicators(ws, settings=settings)
    assert any(
        n.startswith("temps de trajet vers les partenaires : temps sur le réseau OpenStreetMap")
        for n in on_network.notes
    )
    columns = [c for c in on_network.values.columns if c.startswith("temps_pied_")]
    assert columns
    distance = on_network.values[columns[0].replace("temps_pied_", "distance_")]
    walk = on_network.values[columns[0]].astype(float)
    straight = distance.astype(float) * 1.3 / WALK_M_PER_MIN
    # On a 400-m street grid the walk is longer than 1.3 × the straight line for some zones
    # and shorter for others: the straight-line model is no longer what is published.
    assert (abs(walk - straight) > 1).sum() >= 5


def test_transit_is_never_slower_than_walking_on_the_network(town, settings: Settings) -> None:
    from territory.rounds.transit import TransitNetwork, transit_time_matrix

    ws, _ = town
    model = travel_model_for(ws, settings)
    xy = _metric((0, 200), (0, 400))
    far = np.array([[0.0, 0.0], [1000.0, 0.0]])  # one bus line 50 km away: of no use here
    buses = TransitNetwork(
        stop_xy=far + 50_000,
        route=np.array([0]),
        origin=np.array([0]),
        target=np.array([1]),
        minutes=np.array([3.0]),
        departs=np.array([60]),
    )
    straight = transit_time_matrix(xy, buses, travel_model=TravelModel.from_settings(settings))
    along = transit_time_matrix(xy, buses, travel_model=model)
    assert straight[0, 1] == pytest.approx(200 * 1.3 / WALK_M_PER_MIN, rel=0.01)
    assert along[0, 1] == pytest.approx(1800 / WALK_M_PER_MIN, rel=0.01)  # over the bridge


def test_ways_cut_at_the_extract_border_keep_their_complete_parts(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "coupe.osm"
    town_osm(path)
    text = path.read_text(encoding="utf-8")
    # Remove the node at (400, 0): Rue du Sud keeps its two parts, the cross street from
    # (400, 0) to (400, 200) is left with one node and is refused.
    lon, lat = lonlat(400, 0)
    node = next(line for line in text.splitlines() if f'lat="{lat:.8f}" lon="{lon:.8f}"' in line)
    path.write_text(text.replace(node + "\n", ""), encoding="utf-8")
    ws = Workspace.create(tmp_path / "coupe.gpkg", name="Coupé")
    report = import_file(ws, "reseau", path, settings=settings)
    assert (report.read, report.accepted, report.refused, report.fixed) == (21, 18, 3, 1)
    assert "nœuds absents de l'extrait (voie coupée à sa limite)" in {
        r.reason for r in report.refusals
    }
    assert any("coupée(s) à la limite de l'extrait" in f for f in report.fixes)
    model = travel_model_for(ws, settings)
    xy = _metric((200, 0), (600, 0))  # the gap: around by the Quai Sud, 800 m
    assert model.matrix(xy, "marche")[0, 1] == pytest.approx(800 / WALK_M_PER_MIN, rel=0.01)


def test_the_donnees_page_uploads_a_network(tmp_path: Path, settings: Settings) -> None:
    from territory.batches import get_batch
    from territory.ui.uploads import import_label, import_upload

    assert import_label("reseau").startswith("Réseau routier et chemins OpenStreetMap")
    ws = Workspace.create(tmp_path / "page.gpkg", name="Page")
    data = town_osm(tmp_path / "ville.osm").read_bytes()
    report = import_upload(ws, "reseau", "ville.osm", data, settings=settings)
    assert (report.read, report.accepted) == (21, 19)
    assert ws.layers()[ROAD_LAYER].source == "ville.osm"
    assert ws.layers()[ROAD_LAYER].licence.startswith("ODbL")
    assert get_batch(ws, report.batch).label == "réseau routier (OSM)"
