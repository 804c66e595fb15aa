"""Public-transport door-to-door times from GTFS timetables (round planner)."""

from __future__ import annotations

import itertools
import math
import shutil
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from territory import Settings
from territory.ingest import import_file
from territory.io.gtfs import read_gtfs, reference_weekday, stops_layer
from territory.rounds.geo import travel_time_matrix
from territory.rounds.model import Plan
from territory.rounds.transit import (
    TRANSIT,
    TRANSIT_LINKS,
    TransitNetwork,
    load_transit_network,
    transit_links,
    transit_network,
    transit_time_matrix,
)
from territory.rounds.week import load_teams, plan_week
from territory.store import Workspace

CTS = Path(__file__).parents[3] / "shared" / "data" / "real" / "gtfs_cts_strasbourg_67"
TODAY = date(2026, 5, 4)  # a Monday: the reference weekday is Tuesday 5 May 2026
TUESDAY = date(2026, 5, 5)
WALK = 1.3 / 75  # minutes per straight-line metre: detour 1.3 at 4.5 km/h (75 m/min)

# Lambert-93 positions (metres). Line 1 runs A → B → C only (every 10 min, 4 min a hop);
# line 2 runs D → E (every 20 min, 6 min); D is 200 m from C (a walking transfer).
X0, Y0 = 700_000.0, 6_600_000.0
STOPS = {
    "A": (X0, Y0),
    "B": (X0 + 2000, Y0),
    "C": (X0 + 4000, Y0),
    "D": (X0 + 4000, Y0 + 200),
    "E": (X0 + 4000, Y0 + 3200),
}
P = (X0, Y0 - 400)  # 400 m from A only
Q = (X0 + 4000, Y0 - 400)  # 400 m from C (and 600 m from D)
R = (X0 + 4000, Y0 + 3600)  # 400 m from E only
FAR = (X0 - 20_000, Y0)  # no stop within 800 m


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def write_feed(path: Path, *, with_stop_times: bool = True) -> Path:
    """A small GTFS zip with known ride times and headways (see the module constants)."""
    to_wgs84 = Transformer.from_crs(2154, 4326, always_xy=True)
    stops = ["stop_id,stop_name,stop_lat,stop_lon"]
    for stop_id, (x, y) in STOPS.items():
        lon, lat = to_wgs84.transform(x, y)
        stops.append(f"{stop_id},Arrêt {stop_id},{lat:.9f},{lon:.9f}")
    trips = ["route_id,service_id,trip_id"]
    times = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]

    def trip(trip_id: str, route: str, service: str, start: int, hops: list[tuple[str, int]]):
        trips.append(f"{route},{service},{trip_id}")
        rows, at = [], start
        for k, (stop, ride) in enumerate(hops, start=1):
            rows.append(f"{trip_id},{_clock(at)},{_clock(at)},{stop},{k}")
            at += ride
        times.extend(reversed(rows))  # file order reversed: stop_sequence gives the order

    for k, start in enumerate(range(9 * 60, 19 * 60, 10)):  # 60 departures in 9 h-19 h
        trip(f"L1-{k}", "1", "WEEK", start, [("A", 4), ("B", 4), ("C", 0)])
    for k, start in enumerate(range(9 * 60 + 5, 19 * 60, 20)):  # 30 departures
        trip(f"L2-{k}", "2", "WEEK", start, [("D", 6), ("E", 0)])
    # Outside the window or the day: neither their ride times nor their departures count.
    trip("L1-early", "1", "WEEK", 7 * 60, [("A", 10), ("B", 10), ("C", 0)])
    trip("L1-late", "1", "WEEK", 19 * 60, [("A", 10), ("B", 10), ("C", 0)])
    trip("L1-sat", "1", "SAT", 10 * 60, [("A", 1), ("B", 1), ("C", 0)])
    files = {
        "stops.txt": "\n".join(stops) + "\n",
        "routes.txt": "route_id,route_short_name,route_type\n1,1,3\n2,2,3\n",
        "trips.txt": "\n".join(trips) + "\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\n"
        "WEEK,1,1,1,1,1,0,0,20260101,20261231\n"
        "SAT,0,0,0,0,0,1,0,20260101,20261231\n",
    }
    if with_stop_times:
        files["stop_times.txt"] = "\n".join(times) + "\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


@pytest.fixture(scope="module")
def feed_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_feed(tmp_path_factory.mktemp("gtfs") / "reseau.zip")


@pytest.fixture(scope="module")
def network(feed_zip: Path) -> TransitNetwork:
    feed, _ = read_gtfs(feed_zip)
    return transit_network(transit_links(feed, TUESDAY), stops_layer(feed, day=TUESDAY))


def walk(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.dist(a, b) * WALK


def times(network: TransitNetwork, *points: tuple[float, float]) -> np.ndarray:
    return transit_time_matrix(np.array(points), network)


def test_links_are_median_rides_and_departures_in_the_window(feed_zip: Path) -> None:
    feed, _ = read_gtfs(feed_zip)
    links = transit_links(feed, TUESDAY)
    assert links.to_dict("records") == [
        {"route_id": "1", "from_stop": "A", "to_stop": "B", "minutes": 4.0, "departs": 60},
        {"route_id": "1", "from_stop": "B", "to_stop": "C", "minutes": 4.0, "departs": 60},
        {"route_id": "2", "from_stop": "D", "to_stop": "E", "minutes": 6.0, "departs": 30},
    ]
    saturday = transit_links(feed, date(2026, 5, 9))
    assert saturday[["from_stop", "to_stop", "minutes", "departs"]].values.tolist() == [
        ["A", "B", 1.0, 1],
        ["B", "C", 1.0, 1],
    ]


def test_without_stop_sequence_file_order_is_used(tmp_path: Path) -> None:
    path = write_feed(tmp_path / "reseau.zip")
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name).decode() for name in archive.namelist()}
    rows = files["stop_times.txt"].splitlines()
    # Drop the stop_sequence column: the reversed file order now reads C → B → A,
    # which goes back in time and is left out.
    files["stop_times.txt"] = "\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    feed, _ = read_gtfs(path)
    assert feed.stop_times["stop_sequence"].isna().all()
    assert transit_links(feed, TUESDAY).empty


def test_access_wait_ride_egress(network: TransitNetwork) -> None:
    minutes = times(network, P, Q)
    # walk 400 m to A, wait half of 10 min, ride 4 + 4 min, walk 400 m from C
    assert minutes[0, 1] == pytest.approx(400 * WALK + 5 + 8 + 400 * WALK, abs=1e-3)
    assert minutes[0, 1] < walk(P, Q)


def test_transfer_walks_to_the_other_line_and_waits_again(network: TransitNetwork) -> None:
    minutes = times(network, P, R)
    expected = 400 * WALK + 5 + 8 + 200 * WALK + 10 + 6 + 400 * WALK
    assert minutes[0, 1] == pytest.approx(expected, abs=1e-3)


def test_times_are_not_symmetric(network: TransitNetwork) -> None:
    minutes = times(network, P, Q, R)
    # Line 1 runs A → C only and line 2 D → E only: going back means walking.
    assert minutes[1, 0] == pytest.approx(walk(Q, P), abs=1e-6)
    assert minutes[2, 0] == pytest.approx(walk(R, P), abs=1e-6)
    assert minutes[1, 0] - minutes[0, 1] > 40


def test_far_from_any_stop_equals_walking(network: TransitNetwork) -> None:
    points = (P, Q, R, FAR)
    minutes = times(network, *points)
    walking = np.array([[walk(a, b) for b in points] for a in points])
    np.testing.assert_allclose(minutes[3], walking[3], atol=1e-6)
    np.testing.assert_allclose(minutes[:, 3], walking[:, 3], atol=1e-6)
    assert (minutes <= walking + 1e-9).all() and (np.diag(minutes) == 0).all()


def test_wait_is_capped_and_short_hops_are_walked() -> None:
    network = TransitNetwork(
        stop_xy=np.array([[0.0, 0.0], [10_000.0, 0.0]]),
        route=np.array([0]),
        origin=np.array([0]),
        target=np.array([1]),
        minutes=np.array([12.0]),
        departs=np.array([2]),  # one bus every 5 hours: the wait is capped at 30 min
    )
    minutes = transit_time_matrix([[0, 0], [10_000, 0], [0, 300]], network)
    assert minutes[0, 1] == pytest.approx(30 + 12)
    assert minutes[0, 2] == pytest.approx(300 * WALK)  # 300 m: walked, no bus
    assert minutes[2, 1] == pytest.approx(300 * WALK + 30 + 12)


def test_gtfs_import_stores_the_network(feed_zip: Path, tmp_path: Path, settings: Settings) -> None:
    ws = Workspace.create(tmp_path / "ws.gpkg", name="Essai")
    import_file(ws, "gtfs", feed_zip, settings=settings, today=TODAY)
    info = ws.layers()[TRANSIT_LINKS]
    assert info.count == 3 and info.vintage == TUESDAY.isoformat()
    stored = load_transit_network(ws)
    assert stored is not None and stored.day == TUESDAY and stored.hours == (9, 19)
    np.testing.assert_allclose(times(stored, P, Q, R), times(_network_of(feed_zip), P, Q, R))
    # Another network without timetables leaves this one's links as they are …
    untimed = write_feed(tmp_path / "sans-horaires.zip", with_stop_times=False)
    report = import_file(ws, "gtfs", untimed, settings=settings, today=TODAY)
    assert any("aucun horaire GTFS exploitable le mardi 05/05/2026" in n for n in report.notes)
    assert ws.layers()[TRANSIT_LINKS].count == 3 and load_transit_network(ws) is not None
    # … and re-imported as the same network, the feed without timetables replaces them.
    import_file(ws, "gtfs", untimed, settings=settings, today=TODAY, network="reseau")
    assert ws.layers()[TRANSIT_LINKS].count == 0 and load_transit_network(ws) is None


def _network_of(feed_zip: Path) -> TransitNetwork:
    feed, _ = read_gtfs(feed_zip)
    day = reference_weekday(feed, today=TODAY)
    return transit_network(transit_links(feed, day), stops_layer(feed, day=day))


def _plan_legs(team_name: str, plan: Plan, places: pd.DataFrame) -> list[tuple[int, int, int]]:
    """(from, to, planned travel minutes) of every leg of the team's rounds from the base."""
    index = {str(p): i for i, p in enumerate(places["id"])}
    base = len(places)
    legs = []
    for round_ in (r for r in plan.rounds if r.team == team_name):
        travel = {
            v.place: v.travel for v in plan.visits if v.team == team_name and v.day == round_.day
        }
        stops = [base, *(index[p] for p in round_.places)]
        for (a, b), place in zip(itertools.pairwise(stops), round_.places, strict=True):
            legs.append((a, b, travel[place]))
    return legs


def test_demo_plan_uses_the_timetables(
    demo_workspace: Path, tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    week = "2026-W49"
    team = next(t for t in load_teams(ws) if t.mode == TRANSIT)
    plan, places = plan_week(ws, week, settings=settings, teams=[team], time_limit=2)
    assert any("horaires GTFS du mardi" in n and "9 h–19 h" in n for n in plan.notes)
    projected = places.to_crs(2154)
    base = gpd.GeoSeries.from_xy([team.base[0]], [team.base[1]], crs=4326).to_crs(2154)
    xy = np.c_[np.r_[projected.geometry.x, base.x], np.r_[projected.geometry.y, base.y]]
    network = load_transit_network(ws)
    assert network is not None
    gtfs = np.ceil(transit_time_matrix(xy, network) - 1e-9)
    speed = np.ceil(travel_time_matrix(xy, TRANSIT) - 1e-9)
    legs = _plan_legs(team.name, plan, places)
    assert len(legs) >= 3
    assert all(minutes == gtfs[a, b] for a, b, minutes in legs)
    assert any(minutes != speed[a, b] for a, b, minutes in legs)

    # Without timetables the planner says it fell back on the average speed.
    ws.delete_rows(TRANSIT_LINKS, "1 = 1")
    plan, _ = plan_week(ws, week, settings=settings, teams=[team], time_limit=1)
    assert any(
        n.startswith("Aucun horaire GTFS exploitable") and "15 km/h" in n for n in plan.notes
    )


@pytest.mark.real_data
@pytest.mark.skipif(not CTS.is_dir(), reason="extraits réels ../shared/data/real absents")
def test_real_cts_feed_without_stop_times_falls_back(tmp_path: Path, settings: Settings) -> None:
    ws = Workspace.create(tmp_path / "cts.gpkg", name="CTS")
    report = import_file(ws, "gtfs", CTS, settings=settings, today=date(2026, 11, 22))
    assert any("aucun horaire GTFS exploitable le mardi" in n for n in report.notes)
    assert load_transit_network(ws) is None


@pytest.mark.real_data
def test_real_cts_network_times_are_plausible() -> None:
    if not CTS.is_dir():
        pytest.skip("extraits réels ../shared/data/real absents")
    if not (CTS / "stop_times.txt").exists():
        pytest.skip("stop_times.txt absent de l'extrait CTS (trop gros pour l'instantané)")
    feed, _ = read_gtfs(CTS)
    day = reference_weekday(feed, today=date(2026, 11, 22))
    links = transit_links(feed, day)
    network = transit_network(links, stops_layer(feed, day=day))
    assert len(links) > 500
    hop_m = np.hypot(*(network.stop_xy[network.origin] - network.stop_xy[network.target]).T)
    speed_kmh = hop_m / np.maximum(network.minutes, 0.5) * 60 / 1000
    assert 8 < np.median(speed_kmh) < 40  # buses and trams in a city
    assert np.median(network.headway) < 30  # a city network in the daytime
    # Along the busiest route: the times between its stops beat walking beyond 2 km and
    # never imply more than 60 km/h.
    busiest = np.bincount(network.route, weights=network.departs).argmax()
    on_route = network.route == busiest
    points = network.stop_xy[np.unique(np.r_[network.origin[on_route], network.target[on_route]])]
    minutes = transit_time_matrix(points, network)
    distance = np.hypot(*(points[:, None] - points[None]).transpose(2, 0, 1))
    far = distance > 2000
    assert (minutes[far] < distance[far] * WALK).mean() > 0.8
    assert (minutes[far] > distance[far] / 1000).all()  # slower than 60 km/h
