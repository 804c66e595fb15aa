"""GTFS reading, departures per stop and day, zones blanches."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from territory._errors import CRSError, InputFileError, ValidationError
from territory.io.gtfs import (
    GtfsFeed,
    active_services,
    departures_by_hour,
    departures_per_stop,
    read_gtfs,
    reference_weekday,
    service_gaps,
    stops_layer,
)

REAL = Path(__file__).parents[3] / "shared" / "data" / "real"
CTS = REAL / "gtfs_cts_strasbourg_67"

# Tuesday 5 May 2026; Friday 1 May 2026 is a public holiday (WEEK removed, EXTRA added).
TUESDAY, MONDAY, MAY_DAY, SATURDAY = (
    date(2026, 5, 5),
    date(2026, 5, 4),
    date(2026, 5, 1),
    date(2026, 5, 2),
)

FILES = {
    # BOM, CRLF and a padded header on purpose; S3 is never served; STN is a station;
    # BAD has no coordinates, FAR is out of bounds.
    "stops.txt": "\ufeffstop_id, stop_name ,stop_lat,stop_lon,location_type\r\n"
    "S1,Gare,48.5800,7.7500,0\r\n"
    'S2,"Place, centre",48.5850,7.7550,\r\n'
    "S3,Hameau,48.6200,7.8500,0\r\n"
    "STN,Pôle gare,48.5801,7.7501,1\r\n"
    "BAD,Sans position,,,0\r\n"
    "FAR,Ailleurs,95.0,7.0,0\r\n",
    "routes.txt": "route_id,route_short_name,route_long_name,route_type\n"
    "R1,1,Ligne un,3\n"
    "R2,,Navette,3\n",
    "trips.txt": "route_id,service_id,trip_id\n"
    "R1,WEEK,T1\n"
    "R1,WEEK,T2\n"
    "R2,SAT,T3\n"
    "R1,WEEK,T4\n"
    "R2,EXTRA,T5\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "T1,08:00:00,08:00:00,S1,1\n"
    "T1,08:10:00,08:10:00,S2,2\n"
    "T2,17:00:00,17:00:00,S1,1\n"
    "T2,17:10:00,17:10:00,S2,2\n"
    "T3,10:00:00,10:00:00,S2,1\n"
    "T4,23:50:00,23:50:00,S1,1\n"
    "T4,24:30:00,24:30:00,S2,2\n"
    "T5,12:00:00,12:00:00,S1,1\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    "start_date,end_date\n"
    "WEEK,1,1,1,1,1,0,0,20260101,20261231\n"
    "SAT,0,0,0,0,0,1,0,20260101,20261231\n",
    "calendar_dates.txt": "service_id,date,exception_type\nWEEK,20260501,2\nEXTRA,20260501,1\n",
}


def write_feed(folder: Path, files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (FILES if files is None else files).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def feed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_feed(tmp_path_factory.mktemp("gtfs") / "feed")


@pytest.fixture(scope="module")
def feed(feed_dir: Path) -> GtfsFeed:
    return read_gtfs(feed_dir)[0]


def test_read_folder_counts_and_refusals(feed_dir: Path) -> None:
    feed, report = read_gtfs(feed_dir)
    assert list(feed.stops["stop_id"]) == ["S1", "S2", "S3"]
    assert feed.stops.loc[1, "stop_name"] == "Place, centre"
    assert (report.read, report.accepted, report.refused, report.pending) == (5, 3, 2, 0)
    reasons = " ".join(r.reason for r in report.refusals)
    assert "BAD" in reasons and "FAR" in reasons
    assert any("station" in n for n in feed.notes)
    assert feed.has_schedule
    assert str(feed.stop_times["departure_s"].dtype) == "Int32"
    assert feed.stop_times["departure_s"].max() == 24 * 3600 + 30 * 60


def test_zip_with_subfolder_equals_folder(tmp_path: Path, feed: GtfsFeed) -> None:
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in FILES.items():
            zf.writestr(f"gtfs/{name}", text)
    zipped, report = read_gtfs(archive)
    report.check()
    pd.testing.assert_frame_equal(zipped.stops, feed.stops)
    pd.testing.assert_series_equal(
        departures_per_stop(zipped, TUESDAY), departures_per_stop(feed, TUESDAY)
    )


def test_active_services_calendar_and_exceptions(feed: GtfsFeed) -> None:
    assert active_services(feed, TUESDAY) == {"WEEK"}
    assert active_services(feed, SATURDAY) == {"SAT"}
    assert active_services(feed, MAY_DAY) == {"EXTRA"}
    assert active_services(feed, date(2027, 1, 5)) == set()  # after end_date


def test_departures_after_midnight_count_on_next_day(feed: GtfsFeed) -> None:
    tuesday = departures_per_stop(feed, TUESDAY)
    assert tuesday.to_dict() == {"S1": 3, "S2": 3, "S3": 0}  # S2 gets Monday's 24:30
    assert tuesday.dtype == "int64" and tuesday.index.name == "stop_id"
    assert departures_per_stop(feed, MONDAY).to_dict() == {"S1": 3, "S2": 2, "S3": 0}
    # 1 May: WEEK removed, EXTRA added; Thursday's 24:30 trip still reaches S2.
    assert departures_per_stop(feed, MAY_DAY).to_dict() == {"S1": 1, "S2": 1, "S3": 0}
    # Saturday after the holiday: no spill-over from the removed Friday service.
    assert departures_per_stop(feed, SATURDAY).to_dict() == {"S1": 0, "S2": 1, "S3": 0}


def test_hour_window_and_by_hour(feed: GtfsFeed) -> None:
    assert departures_per_stop(feed, TUESDAY, hours=(0, 1)).to_dict() == {"S1": 0, "S2": 1, "S3": 0}
    assert departures_per_stop(feed, TUESDAY, hours=(8, 9)).to_dict() == {"S1": 1, "S2": 1, "S3": 0}
    with pytest.raises(ValidationError):
        departures_per_stop(feed, TUESDAY, hours=(9, 8))
    grid = departures_by_hour(feed, TUESDAY)
    assert list(grid.columns) == list(range(24))
    assert grid.loc["S2", 0] == 1 and grid.loc["S1", 23] == 1
    assert grid.sum(axis=1).to_dict() == departures_per_stop(feed, TUESDAY).to_dict()


def test_stops_layer(feed: GtfsFeed) -> None:
    layer = stops_layer(feed, day=TUESDAY)
    columns = ["stop_id", "nom", "departs_jour", "lignes", "station", "ferre", "geometry"]
    assert list(layer.columns) == columns
    assert not layer["ferre"].any()  # buses only (route_type 3)
    assert layer.crs == "EPSG:4326"
    assert str(layer["departs_jour"].dtype) == "Int64"
    assert layer.set_index("stop_id")["lignes"].to_dict() == {
        "S1": "1, Navette",
        "S2": "1, Navette",
        "S3": "",
    }
    assert layer.geometry.iloc[0].equals(shapely.Point(7.75, 48.58))


def test_missing_stop_times_keeps_stops(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if k != "stop_times.txt"}
    feed, report = read_gtfs(write_feed(tmp_path / "nost", files))
    assert len(feed.stops) == 3 and not feed.has_schedule
    assert any(n.startswith("stop_times.txt absent ou vide") for n in report.notes)
    layer = stops_layer(feed, day=TUESDAY)
    assert layer["departs_jour"].isna().all() and (layer["lignes"] == "").all()
    with pytest.raises(ValidationError, match=r"stop_times\.txt"):
        departures_per_stop(feed, TUESDAY)


def test_only_stops(tmp_path: Path) -> None:
    feed, report = read_gtfs(write_feed(tmp_path / "min", {"stops.txt": FILES["stops.txt"]}))
    assert len(feed.stops) == 3
    assert any("routes.txt absent" in n for n in report.notes)
    assert any("calendar.txt et calendar_dates.txt absents" in n for n in report.notes)
    assert reference_weekday(feed, today=date(2026, 4, 29)) == TUESDAY


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"routes.txt": FILES["routes.txt"]}, "stops.txt attendu"),
        ({"stops.txt": "stop_id,stop_name\nS1,Gare\n"}, "stop_lat"),
    ],
)
def test_not_a_feed(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        read_gtfs(write_feed(tmp_path / "bad", files))


def test_not_a_zip(tmp_path: Path) -> None:
    fake = tmp_path / "feed.zip"
    fake.write_text("not a zip")
    with pytest.raises(InputFileError, match="archive GTFS"):
        read_gtfs(fake)
    with pytest.raises(InputFileError, match="introuvable"):
        read_gtfs(tmp_path / "absent.zip")


def test_reference_weekday(tmp_path: Path, feed: GtfsFeed) -> None:
    assert reference_weekday(feed, today=date(2026, 4, 29)) == TUESDAY
    assert reference_weekday(feed, today=TUESDAY) == TUESDAY
    assert reference_weekday(feed, today=date(2025, 6, 1)) == date(2026, 1, 6)
    assert reference_weekday(feed, today=date(2027, 3, 1)) == date(2026, 12, 29)
    files = dict(FILES)
    files["calendar_dates.txt"] += "WEEK,20260505,2\n"  # a Tuesday without service
    holiday = read_gtfs(write_feed(tmp_path / "holiday", files))[0]
    assert reference_weekday(holiday, today=date(2026, 4, 29)) == date(2026, 5, 12)


def _lonlat_offset(lon: float, lat: float, east_m: float) -> shapely.Point:
    point = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(2154).iloc[0]
    moved = shapely.Point(point.x + east_m, point.y)
    return gpd.GeoSeries([moved], crs=2154).to_crs(4326).iloc[0]


def test_service_gaps_geometry(feed: GtfsFeed) -> None:
    area = gpd.GeoDataFrame(geometry=[shapely.box(7.70, 48.55, 7.90, 48.65)], crs=4326)
    layer = stops_layer(feed, day=TUESDAY)
    gaps = service_gaps(area, layer)
    assert len(gaps) == 1 and gaps.crs == "EPSG:4326"
    assert gaps["label"].iloc[0] == "Zone blanche : aucun arrêt desservi à moins de 500 m"
    gap = gaps.geometry.iloc[0]
    assert not gap.contains(_lonlat_offset(7.75, 48.58, 300))  # next to served S1
    assert gap.contains(_lonlat_offset(7.85, 48.62, 100))  # next to S3, never served
    assert gap.contains(shapely.Point(7.89, 48.56))  # far from every stop
    exploded = service_gaps(area, layer, explode=True)
    assert (exploded.geom_type == "Polygon").all()
    assert exploded.to_crs(2154).area.sum() == pytest.approx(gaps.to_crs(2154).area.sum())


def test_service_gaps_unknown_departures_are_no_zone_blanche(feed: GtfsFeed) -> None:
    layer = (
        stops_layer(feed, day=TUESDAY).assign(departs_jour=pd.NA).astype({"departs_jour": "Int64"})
    )
    area = shapely.box(7.70, 48.55, 7.90, 48.65)
    gaps = service_gaps(area, layer, buffer_m=400)
    assert gaps["etat"].tolist() == ["horaires de transport inconnus"]
    assert "zone blanche" not in gaps["label"].iloc[0].lower().replace("ni zones blanches", "")
    assert gaps.geometry.iloc[0].contains(_lonlat_offset(7.75, 48.58, 100))  # not « desservi »


def test_service_gaps_fully_served_and_bad_crs(feed: GtfsFeed) -> None:
    layer = stops_layer(feed, day=TUESDAY)
    tiny = shapely.Point(7.75, 48.58).buffer(0.001)
    assert len(service_gaps(tiny, layer)) == 0
    with pytest.raises(CRSError):
        service_gaps(gpd.GeoDataFrame(geometry=[tiny]), layer)
    with pytest.raises(CRSError):
        service_gaps(shapely.box(1e6, 6e6, 1.1e6, 6.1e6), layer)


@pytest.mark.real_data
@pytest.mark.skipif(not CTS.is_dir(), reason="extraits réels ../shared/data/real absents")
def test_real_cts_feed_without_stop_times() -> None:
    feed, report = read_gtfs(CTS)
    assert report.read == report.accepted == 1361 and report.refused == 0
    assert len(feed.routes) == 50 and len(feed.trips) == 37441
    assert not feed.has_schedule
    assert any(n.startswith("stop_times.txt absent ou vide") for n in feed.notes)
    day = reference_weekday(feed, today=date(2026, 11, 22))
    assert day.weekday() == 1 and date(2026, 7, 8) <= day <= date(2027, 1, 4)
    assert active_services(feed, day)
    layer = stops_layer(feed, day=day)
    assert len(layer) == 1361 and layer["departs_jour"].isna().all()
    centre = shapely.box(7.70, 48.55, 7.80, 48.60)  # Strasbourg centre: dense network
    gaps = service_gaps(centre, layer)  # no timetable: no zone blanche, hours unknown
    assert gaps["etat"].tolist() == ["horaires de transport inconnus"]


def test_untimed_stop_events_and_padded_ids(tmp_path: Path) -> None:
    files = dict(FILES)
    files["stop_times.txt"] = (
        "trip_id,departure_time,stop_id\n"
        "T1,08:00:00,S1\n"
        "T1,,S3\n"  # intermediate stop without a time (non-timepoint)
        "T1 , 08:20:00 , S2\n"
        "T2,later,S1\n"  # unreadable time
    )
    files["agency.txt"] = ""
    feed, report = read_gtfs(write_feed(tmp_path / "untimed", files))
    assert any("sans heure de départ" in n for n in report.notes)
    assert any("illisible" in n for n in report.notes)
    assert any("agency.txt vide" in n for n in report.notes)
    assert departures_per_stop(feed, TUESDAY).to_dict() == {"S1": 2, "S2": 1, "S3": 1}
    assert departures_per_stop(feed, TUESDAY, hours=(8, 9)).to_dict() == {"S1": 1, "S2": 1, "S3": 0}
