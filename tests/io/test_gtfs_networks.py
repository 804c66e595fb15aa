"""Several GTFS feeds in one workspace, their coverage, feeds without timetables (issue #20).

Three square communes side by side: an urban feed has its stops in 00001, a regional feed
in 00002 (with the SAME stop and route ids, on purpose), nothing in 00003.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from territory._errors import InputFileError
from territory.analysis.priority import STOP_HOURS_TABLE, zone_indicators_many
from territory.analysis.slots import when
from territory.analysis.transit_coverage import commune_transit_states, transit_areas
from territory.cli import main
from territory.ingest import import_file
from territory.map import MapLayers, legend_html, territory_map
from territory.rounds.transit import TRANSIT_LINKS, load_transit_network
from territory.settings import Settings
from territory.store import Workspace

REAL = Path(__file__).parents[3] / "shared" / "data" / "real"
CTS = REAL / "gtfs_cts_strasbourg_67"
BAS_RHIN = REAL / "communes-67-bas-rhin.geojson"
TODAY = date(2026, 5, 1)
TUESDAY_17 = datetime(2026, 5, 5, 17)

COMMUNES = {
    "00001": shapely.box(7.70, 48.55, 7.75, 48.60),
    "00002": shapely.box(7.75, 48.55, 7.80, 48.60),
    "00003": shapely.box(7.80, 48.55, 7.85, 48.60),
}
CALENDAR = (
    "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
    "WEEK,1,1,1,1,1,0,0,20260101,20261231\n"
)


def write_feed(
    folder: Path, agency: str, stops: list[tuple[str, float, float]], *, timetables: bool = True
) -> Path:
    """A feed whose one route runs every 15 min from 7 h to 20 h through ``stops`` in order."""
    folder.mkdir(parents=True)
    files = {
        "agency.txt": f"agency_id,agency_name,agency_url,agency_timezone\nA,{agency},"
        "https://example.org,Europe/Paris\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        + "".join(f"{sid},Arrêt {sid},{lat},{lon}\n" for sid, lon, lat in stops),
        "routes.txt": "route_id,route_short_name,route_type\n1,1,3\n",
    }
    if timetables:
        trips = [f"T{k}" for k in range(52)]
        files["trips.txt"] = "route_id,service_id,trip_id\n" + "".join(
            f"1,WEEK,{t}\n" for t in trips
        )
        rows = []
        for k, trip in enumerate(trips):
            start = 7 * 3600 + k * 900
            for seq, (sid, _, _) in enumerate(stops):
                s = start + seq * 300
                clock = f"{s // 3600:02d}:{s % 3600 // 60:02d}:00"
                rows.append(f"{trip},{clock},{clock},{sid},{seq + 1}\n")
        files["stop_times.txt"] = (
            "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + "".join(rows)
        )
        files["calendar.txt"] = CALENDAR
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


URBAN = [("1", 7.720, 48.570), ("2", 7.730, 48.580)]
REGIONAL = [("1", 7.770, 48.570), ("2", 7.780, 48.580)]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "ws.gpkg", name="Essai")
    communes = gpd.GeoDataFrame(
        {
            "code": list(COMMUNES),
            "nom": ["Ville", "Bourg", "Village"],
            "population": [9000, 900, 90],
        },
        geometry=list(COMMUNES.values()),
        crs=4326,
    )
    ws.write_layer("communes", communes, source="test", vintage="")
    return ws


@pytest.fixture
def feeds(tmp_path: Path) -> dict[str, Path]:
    return {
        "urbain": write_feed(tmp_path / "urbain", "Urbain", URBAN),
        "regional": write_feed(tmp_path / "regional", "Régional", REGIONAL),
        "urbain_court": write_feed(tmp_path / "urbain_court", "Urbain", URBAN[:1]),
        "sans_horaires": write_feed(
            tmp_path / "sans_horaires", "Car", [("9", 7.825, 48.575)], timetables=False
        ),
    }


def _areas(ws: Workspace) -> dict[str, shapely.Geometry]:
    layer = ws.read_layer("service_gaps")
    return dict(zip(layer["etat"], layer.geometry, strict=True))


def _centre(code: str) -> shapely.Point:
    return COMMUNES[code].centroid


def test_two_feeds_are_two_networks(
    ws: Workspace, feeds: dict[str, Path], settings: Settings
) -> None:
    first = import_file(ws, "gtfs", feeds["urbain"], settings=settings, today=TODAY)
    assert "réseau Urbain : 2 arrêt(s) ajoutés" in first.notes
    second = import_file(ws, "gtfs", feeds["regional"], settings=settings, today=TODAY)
    assert "réseau Régional : 2 arrêt(s) ajoutés" in second.notes
    stops = ws.read_layer("stops")
    assert sorted(stops["stop_id"]) == ["Régional:1", "Régional:2", "Urbain:1", "Urbain:2"]
    assert stops.groupby("reseau").size().to_dict() == {"Régional": 2, "Urbain": 2}
    assert (stops["departs_jour"] == 52).all()
    hours = ws.read_table(STOP_HOURS_TABLE)
    assert set(hours["reseau"]) == {"Urbain", "Régional"}
    links = ws.read_table(TRANSIT_LINKS)
    # Same route id "1" in both feeds: two routes, never one.
    assert sorted(set(links["route_id"])) == ["Régional:1", "Urbain:1"]
    network = load_transit_network(ws)
    assert network is not None

    # Coverage: a zone blanche in each covered commune away from its stops, no data in 00003.
    areas = _areas(ws)
    assert set(areas) == {"zone blanche", "pas de données de transport"}
    assert areas["pas de données de transport"].contains(_centre("00003"))
    assert not areas["pas de données de transport"].intersects(shapely.Point(7.705, 48.555))
    assert areas["zone blanche"].contains(shapely.Point(7.705, 48.555))  # 00001, far corner
    assert areas["zone blanche"].contains(shapely.Point(7.795, 48.595))  # 00002, far corner
    assert not areas["zone blanche"].contains(shapely.Point(7.721, 48.571))  # next to a stop
    assert not areas["zone blanche"].intersects(COMMUNES["00003"].buffer(-0.001))
    assert any("1 commune(s) en « pas de données de transport »" in n for n in second.notes)

    # Indicators: no distance and no departure beyond coverage, the reason instead.
    ind = zone_indicators_many(ws, settings=settings, at=TUESDAY_17)["commune"]
    village = ind.values.loc["00003"]
    assert village["etat_transport"] == "pas de données de transport"
    assert pd.isna(village["distance_arret_desservi"]) and pd.isna(village["departs_heure"])
    assert pd.isna(village["barriere_mobilite"])
    assert ind.phrases.loc["00003", "barriere_mobilite"].startswith("pas de données de transport")
    assert "600 km" not in " ".join(ind.phrases.loc["00003"].dropna())
    town = ind.values.loc["00001"]
    assert town["etat_transport"] == "horaires connus" and town["departs_heure"] > 0

    # « Où et quand »: the village's slots say why transit is left out.
    notes = when(ws, "00003", settings=settings, week_start=date(2026, 5, 4)).notes
    assert any("pas de données de transport" in n for n in notes)
    assert not any(
        "desserte : pas de données" in n for n in when(ws, "00001", settings=settings).notes
    )


def test_reimport_replaces_only_its_network(
    ws: Workspace, feeds: dict[str, Path], settings: Settings
) -> None:
    import_file(ws, "gtfs", feeds["urbain"], settings=settings, today=TODAY)
    import_file(ws, "gtfs", feeds["regional"], settings=settings, today=TODAY)
    report = import_file(ws, "gtfs", feeds["urbain_court"], settings=settings, today=TODAY)
    assert "réseau Urbain : 1 arrêt(s) remplacent les 2 arrêt(s) de l'import précédent" in (
        report.notes
    )
    stops = ws.read_layer("stops")
    assert sorted(stops["stop_id"]) == ["Régional:1", "Régional:2", "Urbain:1"]
    hours = ws.read_table(STOP_HOURS_TABLE)
    assert set(hours.loc[hours["reseau"] == "Urbain", "stop_id"]) == {"Urbain:1"}
    assert set(hours.loc[hours["reseau"] == "Régional", "stop_id"]) == {"Régional:1", "Régional:2"}
    links = ws.read_table(TRANSIT_LINKS)
    assert set(links["reseau"]) == {"Régional"}  # one stop: the urban network has no hop left

    # A failed import of a network leaves every network as it was.
    broken = feeds["urbain"].parent / "casse"
    broken.mkdir()
    (broken / "stops.txt").write_text("id,lat\n1,48\n", encoding="utf-8")
    before = ws.read_layer("stops")
    with pytest.raises(InputFileError):
        import_file(ws, "gtfs", broken, settings=settings, today=TODAY, network="Urbain")
    pd.testing.assert_frame_equal(ws.read_layer("stops"), before)


def test_an_import_failing_midway_leaves_every_network_as_it_was(
    ws: Workspace, feeds: dict[str, Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(ws, "gtfs", feeds["urbain"], settings=settings, today=TODAY)
    tables = ("stops", STOP_HOURS_TABLE, TRANSIT_LINKS, "service_gaps")
    before = {
        name: ws.read_layer(name) if ws.layers()[name].spatial else ws.read_table(name)
        for name in tables
    }

    def fail(*_: object, **__: object) -> None:
        raise RuntimeError("panne simulée après l'écriture des arrêts")

    # The stops, hours and links of the new network are written before the areas fail.
    monkeypatch.setattr("territory.analysis.transit_coverage.transit_areas", fail)
    with pytest.raises(RuntimeError):
        import_file(ws, "gtfs", feeds["regional"], settings=settings, today=TODAY)
    for name in tables:
        after = ws.read_layer(name) if ws.layers()[name].spatial else ws.read_table(name)
        pd.testing.assert_frame_equal(after, before[name], check_like=True)


def test_feed_without_timetables_is_neither_served_nor_zone_blanche(
    ws: Workspace, feeds: dict[str, Path], settings: Settings
) -> None:
    import_file(ws, "gtfs", feeds["urbain"], settings=settings, today=TODAY)
    reference = ws.get_property("gtfs_reference_day")
    later = date(2026, 9, 1)  # the feed without calendar would take the Tuesday after this
    report = import_file(ws, "gtfs", feeds["sans_horaires"], settings=settings, today=later)
    assert ws.get_property("gtfs_reference_day") == reference
    assert any("réseau Car sans horaires" in n for n in report.notes)
    stops = ws.read_layer("stops").set_index("stop_id")
    assert pd.isna(stops.loc["Car:9", "departs_jour"])  # unknown, not 0
    states = commune_transit_states(ws.read_layer("communes"), ws.read_layer("stops"))
    assert states["etat"].tolist() == [
        "horaires connus",
        "pas de données de transport",
        "horaires de transport inconnus",
    ]
    areas = _areas(ws)
    assert areas["horaires de transport inconnus"].contains(_centre("00003"))
    assert not areas["zone blanche"].intersects(COMMUNES["00003"].buffer(-0.001))
    ind = zone_indicators_many(ws, settings=settings, at=TUESDAY_17)["commune"]
    assert ind.values.loc["00003", "etat_transport"] == "horaires de transport inconnus"
    assert pd.isna(ind.values.loc["00003", "distance_arret_desservi"])
    assert ind.phrases.loc["00003", "barriere_mobilite"].startswith(
        "horaires de transport inconnus"
    )

    # A feed without timetables alone: nothing served anywhere, no zone blanche at all.
    alone = transit_areas(
        ws.read_layer("communes"), ws.read_layer("stops").query("reseau == 'Car'")
    )
    assert "zone blanche" not in set(alone["etat"])

    # The map draws each state (its style reads ``etat``) and the legend names it.
    gaps = ws.read_layer("service_gaps")
    html = territory_map(MapLayers(service_gaps=gaps)).get_root().render()
    assert '"etat": "horaires de transport inconnus"' in html.replace("\\u00e9", "é") or (
        "horaires de transport inconnus" in html
    )
    legend = legend_html(MapLayers(service_gaps=gaps))
    assert "horaires de transport inconnus : flux GTFS sans horaires" in legend
    assert "zone blanche : à plus de 500 m" in legend


def test_old_workspace_stops_are_one_network(
    ws: Workspace, feeds: dict[str, Path], settings: Settings
) -> None:
    old = gpd.GeoDataFrame(
        {"stop_id": ["S1"], "nom": ["Ancien"], "departs_jour": pd.array([12], dtype="Int64")},
        geometry=[shapely.Point(7.825, 48.575)],
        crs=4326,
    )
    ws.write_layer("stops", old, source="ancien.zip", vintage="")
    import_file(ws, "gtfs", feeds["urbain"], settings=settings, today=TODAY)
    stops = ws.read_layer("stops").set_index("stop_id")
    assert stops.loc["S1", "reseau"] == "réseau importé"
    assert stops.loc["Urbain:1", "reseau"] == "Urbain"
    # Each network covers the communes of its own stops: 00002, between them, is covered by
    # neither (no stop, its centre outside each network's hull).
    states = commune_transit_states(ws.read_layer("communes"), ws.read_layer("stops"))
    assert states["etat"].tolist() == [
        "horaires connus",
        "pas de données de transport",
        "horaires connus",
    ]
    assert states["reseaux"].tolist() == ["Urbain", "", "réseau importé"]


def test_cli_names_the_network(tmp_path: Path, feeds: dict[str, Path], ws: Workspace) -> None:
    args = ["import", "gtfs", str(feeds["regional"]), "--workspace", str(ws.path)]
    assert main([*args, "--reseau", "Fluo 67"]) == 0
    assert set(Workspace.open(ws.path).read_layer("stops")["reseau"]) == {"Fluo 67"}


@pytest.mark.real_data
@pytest.mark.skipif(
    not (CTS.is_dir() and BAS_RHIN.is_file()), reason="extraits réels ../shared/data/real absents"
)
def test_real_cts_covers_strasbourg_only(tmp_path: Path, settings: Settings) -> None:
    ws = Workspace.create(tmp_path / "67.gpkg", name="Bas-Rhin")
    import_file(ws, "communes", BAS_RHIN, settings=settings)
    report = import_file(ws, "gtfs", CTS, settings=settings, today=date(2026, 11, 22))
    assert any("réseau CTS" in n and "1361 arrêt(s) ajoutés" in n for n in report.notes)
    assert any("sans horaires" in n for n in report.notes)
    communes = ws.read_layer("communes").set_index("code")
    states = commune_transit_states(communes, ws.read_layer("stops"))["etat"]
    # Strasbourg: the CTS stops, but no stop_times: hours unknown, never « desservi ».
    assert states["67482"] == "horaires de transport inconnus"
    # Far from Strasbourg: Wissembourg, Saverne, Sélestat: no data, not zones blanches.
    for code in ("67544", "67437", "67462"):
        assert states[code] == "pas de données de transport", code
    assert (states == "pas de données de transport").sum() > 400
    areas = _areas(ws)
    assert "zone blanche" not in areas
    assert areas["pas de données de transport"].contains(
        communes.loc["67544"].geometry.representative_point()
    )
    ind = zone_indicators_many(ws, settings=settings)["commune"]
    far = ind.phrases.loc["67544"].dropna()
    assert not any(" km" in p for p in far if "arrêt" in p)
    assert pd.isna(ind.values.loc["67544", "distance_arret_desservi"])


def test_transit_areas_follow_the_communes_imported_again(
    tmp_path: Path, feeds: dict[str, Path], settings: Settings
) -> None:
    """Communes of one town, both feeds, then every commune: the areas follow; undo too.

    The regional feed's stops lie in 00002, outside the communes first imported; once
    00002 and 00003 are imported, 00002 has its zone blanche away from them and 00003
    « pas de données de transport », without importing the feeds again.
    """
    from territory.ingest import undo_batch

    ws = Workspace.create(tmp_path / "ws.gpkg", name="Essai")

    def communes(codes: list[str]) -> Path:
        layer = gpd.GeoDataFrame(
            {"code": codes, "nom": [f"Commune {c}" for c in codes]},
            geometry=[COMMUNES[c] for c in codes],
            crs=4326,
        )
        path = tmp_path / f"communes-{len(codes)}.geojson"
        layer.to_file(path, driver="GeoJSON")
        return path

    import_file(ws, "communes", communes(["00001"]), settings=settings)
    for feed in ("urbain", "regional"):
        import_file(ws, "gtfs", feeds[feed], settings=settings, today=TODAY)
    first = _areas(ws)
    assert set(first) == {"zone blanche"}
    assert first["zone blanche"].contains(shapely.Point(7.705, 48.555))  # 00001
    assert not first["zone blanche"].intersects(COMMUNES["00002"].buffer(-0.001))

    again = import_file(ws, "communes", communes(list(COMMUNES)), settings=settings)
    areas = _areas(ws)
    assert set(areas) == {"zone blanche", "pas de données de transport"}
    assert areas["zone blanche"].contains(shapely.Point(7.795, 48.595))  # 00002, far corner
    assert not areas["zone blanche"].contains(shapely.Point(7.771, 48.571))  # by its stop
    assert areas["pas de données de transport"].contains(_centre("00003"))
    assert any("1 commune(s) en « pas de données de transport »" in n for n in again.notes)
    stops = ws.read_layer("stops")
    fresh = transit_areas(
        ws.read_layer("communes", columns=["code"]), stops, buffer_m=settings.stop_buffer_m
    )
    for state, shape in zip(fresh["etat"], fresh.geometry, strict=True):
        assert areas[state].symmetric_difference(shape).area < 1e-12, state
    assert ws.layers()["service_gaps"].vintage == ws.get_property("gtfs_reference_day")

    assert again.batch is not None
    undo_batch(ws, again.batch)  # the communes and their transit areas go back together
    back = _areas(ws)
    assert set(back) == {"zone blanche"}
    assert back["zone blanche"].symmetric_difference(first["zone blanche"]).area < 1e-12
