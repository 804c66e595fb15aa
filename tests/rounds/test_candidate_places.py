"""Candidate places on any territory: QPV cores, commune centres, stations, OSM, coverage.

Issue #20 item 1: rounds visited only partner offices. These tests check that the
places generated without any team file are typed right and inside their zone, that an
OSM extract adds typed points of interest (fetched from Overpass or imported), that every
priority zone is covered or named in the plan's notes, and — on the real communes and
QPV of Calvados — that a plan reaches a priority commune that has no partner.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import requests
import responses
from conftest import shared_file
from shapely.geometry import Point, Polygon, box

from territory import Settings
from territory._errors import NetworkError
from territory.fetch import OFFLINE_PLACES, fetch_places
from territory.ingest import import_file
from territory.io.sources import SOURCES
from territory.rounds.model import Team
from territory.rounds.places import (
    CENTRE,
    QPV_CORE,
    STATION,
    STOP,
    coverage_notes,
    place_coverage,
    qpv_places,
    transit_places,
)
from territory.rounds.value import coverage_zones
from territory.rounds.week import candidate_places, coverage, plan_week, remove_places
from territory.store import Workspace
from territory.vocab import KINDS

WEEK = "2026-W10"


# --------------------------------------------------------------------------- generated
def test_a_qpv_core_is_inside_its_qpv_even_when_its_centroid_is_not() -> None:
    # A U-shaped QPV (two blocks joined at the bottom): its centroid is in the gap.
    u_shape = Polygon(
        [(0, 0), (0.03, 0), (0.03, 0.02), (0.02, 0.02), (0.02, 0.005), (0.01, 0.005),
         (0.01, 0.02), (0, 0.02)]
    )  # fmt: skip
    square = box(0.05, 0, 0.06, 0.01)
    qpv = gpd.GeoDataFrame(
        {"code": ["QN01401M", "QN01402M", "QP014001"], "nom": ["U", "Carré", "Ancien"],
         "generation": [2024, 2024, 2015]},
        geometry=[u_shape, square, square.buffer(0.01)],
        crs=4326,
    )  # fmt: skip
    communes = gpd.GeoDataFrame(
        {"code": ["14118"], "nom": ["Caen"]}, geometry=[box(-1, -1, 1, 1)], crs=4326
    )
    assert not u_shape.contains(u_shape.centroid)
    cores = qpv_places(qpv, communes)
    assert list(cores["id"]) == ["qpv-QN01401M", "qpv-QN01402M"]  # the latest generation
    assert set(cores["type"]) == {QPV_CORE} and set(cores["zone"]) == {"14118"}
    assert u_shape.contains(cores.geometry.iloc[0])
    assert cores.geometry.iloc[1].distance(square.centroid) < 1e-6  # its centroid, inside


def _stops() -> gpd.GeoDataFrame:
    """Two communes: a train station, a GTFS station of 3 lines, a 1-line station, buses."""
    return gpd.GeoDataFrame(
        {
            "stop_id": ["T1", "P1", "P2", "Q1", "B1", "B2", "B3", "C1"],
            "nom": ["Gare SNCF", "Pôle", "Pôle", "Quai", "Église", "Mairie", "Stade", "Bourg"],
            "departs_jour": [60, 100, 90, 300, 80, 120, 20, 45],
            "lignes": ["TER", "1, 2", "3", "4", "5", "5, 6", "6", "7"],
            "station": ["", "S1", "S1", "S2", "", "", "", ""],
            "ferre": [True, False, False, False, False, False, False, False],
        },
        geometry=[
            Point(0.001, 0.001),
            Point(0.005, 0.005),
            Point(0.0055, 0.005),
            Point(0.007, 0.001),
            Point(0.008, 0.008),
            Point(0.009, 0.002),
            Point(0.002, 0.009),
            Point(0.025, 0.005),
        ],
        crs=4326,
    )


def test_stations_are_stations_and_only_the_busiest_bus_stop_of_a_commune_is_kept() -> None:
    communes = gpd.GeoDataFrame(
        {"code": ["00001", "00002"], "nom": ["Ville", "Bourg"]},
        geometry=[box(0, 0, 0.02, 0.02), box(0.02, 0, 0.04, 0.02)],
        crs=4326,
    )
    found = transit_places(_stops(), communes).set_index("id")
    assert found["type"].to_dict() == {
        "arret-T1": STATION,  # a train stops there
        "arret-P1": STATION,  # a GTFS station where three lines meet (merged with P2)
        "arret-Q1": STOP,  # the busiest bus stop of 00001: its station has one line
        "arret-C1": STOP,  # the only stop of 00002 with 40 departures or more
    }
    assert (
        found.loc["arret-P1", "source"] == "arrêt de transport (190 départs/jour, lignes 1, 2, 3)"
    )
    assert found["zone"].to_dict() == {
        "arret-T1": "00001",
        "arret-P1": "00001",
        "arret-Q1": "00001",
        "arret-C1": "00002",
    }
    # Without communes every stop with 40 departures is kept, typed a bus stop.
    loose = transit_places(_stops())
    assert set(loose.loc[~loose["id"].isin(["arret-T1", "arret-P1"]), "type"]) == {STOP}
    assert len(loose) == 6  # not B3 (20 departures)


def test_the_gtfs_stops_layer_tells_stations_and_trains(tmp_path: Path) -> None:
    from territory.io.gtfs import read_gtfs, stops_layer

    files = {
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        "ST,Gare,49.17,-0.35,1,\nQ1,Gare quai 1,49.17,-0.35,0,ST\nB1,Bourg,49.2,-0.3,0,\n",
        "routes.txt": "route_id,route_short_name,route_type\nTER,TER,2\nBUS,12,3\n",
        "trips.txt": "route_id,service_id,trip_id\nTER,W,t1\nBUS,W,t2\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "t1,08:00:00,08:00:00,Q1,1\nt2,09:00:00,09:00:00,B1,1\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nW,1,1,1,1,1,0,0,20260101,20261231\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    feed, _ = read_gtfs(tmp_path)
    layer = stops_layer(feed, day=date(2026, 3, 3)).set_index("stop_id")
    assert layer["station"].to_dict() == {"Q1": "ST", "B1": ""}
    assert layer["ferre"].to_dict() == {"Q1": True, "B1": False}


# --------------------------------------------------------------------------- workspace
@pytest.fixture
def ws(demo_workspace: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    return Workspace.open(path)


def test_the_demo_places_are_typed_right_and_cover_every_priority_zone(ws: Workspace) -> None:
    places = candidate_places(ws)
    assert set(places["type"]) <= set(KINDS)
    assert {CENTRE, QPV_CORE, STATION, STOP, "local partenaire"} <= set(places["type"])
    stations = places[places["type"] == STATION]
    assert len(stations) >= 1 and stations["source"].str.contains("lignes").all()
    # the demo's bus stops are not « gare » any more, and not every one is a candidate:
    # the busiest of each commune, with 40 departures a day or more
    bus = places[places["type"] == STOP]
    departures = bus["source"].str.extract(r"\((\d+) départs")[0].astype(int)
    assert bus["zone"].is_unique and (departures >= 40).all()
    assert len(bus) < len(ws.read_layer("stops")) / 5
    table = coverage(ws)
    assert set(table["genre"]) == {"QPV", "commune"}
    assert (table["lieux"] >= 1).all()
    assert (table.loc[table["genre"] == "QPV", "types"].str.contains(QPV_CORE, regex=False)).all()


def test_a_zone_without_any_place_is_named_in_the_plan_notes(
    ws: Workspace, settings: Settings
) -> None:
    places = candidate_places(ws)
    qpv = ws.read_layer("qpv")
    code = str(qpv["code"].iloc[0])
    inside = places.to_crs(2154).within(qpv.to_crs(2154).geometry.iloc[0].buffer(50))
    communes = ws.read_layer("communes", columns=["code", "nom", "densite"])
    table = place_coverage(places[~inside.to_numpy()], communes=communes, qpv=qpv)
    row = table.set_index("zone").loc[code]
    assert row["lieux"] == 0 and row["types"] == ""
    note = f"zone {row['nom']} (QPV {code}) : aucun lieu candidat (ni partenaire, ni QPV, "
    assert coverage_notes(table)[0] == note + "ni point d'intérêt)"
    # In a plan: a rural commune whose every place was removed is named in its notes.
    rural = coverage_zones(ws, date(2026, 3, 2))[-1]
    remove_places(ws, places.loc[places["zone"].astype(str) == rural, "id"])
    plan, _ = plan_week(ws, WEEK, settings=settings, time_limit=1.0)
    name = communes.set_index("code").at[rural, "nom"]
    assert f"zone {name} (commune {rural}) : aucun lieu candidat" in " ".join(plan.notes)


OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
 <node id="1" lat="{lat}" lon="{lon}">
  <tag k="amenity" v="townhall"/><tag k="name" v="Mairie"/>
 </node>
 <node id="2" lat="{lat2}" lon="{lon2}"><tag k="leisure" v="park"/><tag k="name" v="Parc"/></node>
 <node id="3" lat="{lat2}" lon="{lon2}"><tag k="amenity" v="bench"/></node>
 <node id="4" lat="10.0" lon="10.0"><tag k="leisure" v="park"/></node>
</osm>
"""


def test_an_osm_extract_adds_places_and_its_mairie_replaces_the_generated_centre(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    communes = ws.read_layer("communes").to_crs(4326)
    a = communes.geometry.iloc[3].representative_point()
    b = communes.geometry.iloc[4].representative_point()
    code = str(communes["code"].iloc[3])
    path = tmp_path / "extrait.osm"
    path.write_text(
        # the park 230 m from its commune's generated centre (on it, it would replace it)
        OSM.format(lat=a.y + 1e-4, lon=a.x, lat2=b.y, lon2=b.x + 3e-3),
        encoding="utf-8",
    )
    before = candidate_places(ws)
    assert f"centre-{code}" in set(before["id"])
    report = import_file(ws, "places", path, settings=settings)
    assert (report.read, report.accepted, report.refused) == (4, 2, 2)
    after = candidate_places(ws).set_index("id")
    assert after.loc["osm-node-1", "type"] == CENTRE and after.loc["osm-node-1", "zone"] == code
    assert after.loc["osm-node-2", "type"] == "parc"
    assert f"centre-{code}" not in after.index  # the mairie is the centre now
    assert len(after) == len(before) + 1
    # imported again: the same places are updated, not doubled
    import_file(ws, "places", path, settings=settings)
    assert len(candidate_places(ws)) == len(after)


def _overpass_answer(ws: Workspace) -> dict[str, object]:
    point = ws.read_layer("communes").to_crs(4326).geometry.iloc[2].representative_point()
    return {
        "version": 0.6,
        "elements": [
            {
                "type": "node",
                "id": 11,
                "lat": point.y,
                "lon": point.x,
                "tags": {"amenity": "marketplace", "name": "Marché"},
            },
            {
                "type": "way",
                "id": 12,
                "center": {"lat": point.y + 2e-4, "lon": point.x},
                "tags": {"shop": "mall", "name": "Centre commercial"},
            },
        ],
    }


def test_fetch_places_asks_overpass_once_and_reads_the_cache_offline(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, cache_dir=tmp_path / "cache")
    with responses.RequestsMock() as mock:
        mock.get(SOURCES["osm_places"].url, json=_overpass_answer(ws))
        report = fetch_places(ws, settings=settings)
        query = mock.calls[0].request.url
    assert "out+center+tags" in query or "out%20center%20tags" in query
    assert (report.read, report.accepted) == (2, 2)
    kinds = candidate_places(ws).set_index("id")["type"]
    assert kinds["osm-node-11"] == "marché" and kinds["osm-way-12"] == "centre commercial"
    assert any("OpenStreetMap" in note for note in report.notes)
    with responses.RequestsMock():  # no answer registered: any request would fail
        again = fetch_places(ws, settings=settings)
    assert again.accepted == 2


def test_fetch_places_offline_says_to_import_an_extract(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    settings = dataclasses.replace(settings, cache_dir=tmp_path / "cache")
    with responses.RequestsMock() as mock:
        mock.get(SOURCES["osm_places"].url, body=requests.ConnectionError("pas de réseau"))
        with pytest.raises(NetworkError) as caught:
            fetch_places(ws, settings=settings)
    assert str(caught.value) == OFFLINE_PLACES
    assert "territory import places" in OFFLINE_PLACES


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def calvados(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Workspace:
    """Calvados: real communes (COG 2026 table), density grid, QPV 2024, France services."""
    files = [
        ("communes", shared_file("communes-14-calvados.geojson")),
        ("communes-table", shared_file("communes_cog2026_pop_epci.csv")),
        ("density", shared_file("grille_densite_7_niveaux_communes.csv")),
        ("qpv", shared_file("qpv_2024_with_codes_wgs84.geojson")),
        ("partners", shared_file("france_services_20240801.geojson")),
    ]
    ws = Workspace.create(tmp_path_factory.mktemp("calvados") / "calvados.gpkg", name="Calvados")
    for kind, path in files:
        import_file(ws, kind, path, settings=settings, geocode=False)
    return ws


@pytest.mark.real_data
def test_every_qpv_of_caen_la_mer_has_a_candidate(calvados: Workspace) -> None:
    communes = calvados.read_table("communes", columns=["code", "epci"])
    caen_la_mer = set(communes.loc[communes["epci"] == "200065597", "code"])
    qpv = calvados.read_table("qpv", columns=["code", "communes"])
    mine = qpv[qpv["communes"].map(lambda text: bool(set(text.split(", ")) & caen_la_mer))]
    assert len(mine) >= 6  # Caen, Caen / Ifs, Caen / Fleury, Hérouville…
    table = coverage(calvados).set_index("zone")
    assert (table.loc[mine["code"], "lieux"] >= 1).all()
    assert table.loc[mine["code"], "types"].str.contains(QPV_CORE, regex=False).all()
    places = candidate_places(calvados)
    assert len(places[places["type"] == CENTRE]) == len(communes)


@pytest.mark.real_data
def test_a_plan_visits_a_priority_commune_that_has_no_partner(
    calvados: Workspace, settings: Settings
) -> None:
    monday = date(2026, 3, 2)
    places = candidate_places(calvados)
    partners = set(places.loc[places["type"] == "local partenaire", "zone"])
    due = [z for z in coverage_zones(calvados, monday) if z not in partners]
    communes = calvados.read_layer("communes").set_index("code")
    rural = [z for z in due if communes.at[z, "densite"] >= 5]
    assert rural, "no rural commune due this week without a partner"
    target = rural[0]
    centre = communes.geometry.to_crs(2154)[target].representative_point()
    base = gpd.GeoSeries([Point(centre.x + 2000, centre.y)], crs=2154).to_crs(4326).iloc[0]
    team = Team(
        "Équipe rurale",
        "voiture",
        base=(base.x, base.y),
        availability=dict.fromkeys(range(5), ((9 * 60, 17 * 60),)),
    )
    plan, planned = plan_week(
        calvados, WEEK, settings=settings, teams=[team], required_zones=[target], time_limit=2.0
    )
    zones = planned.set_index("id")["zone"]
    visited = {zones[v.place] for v in plan.visits}
    assert target in visited
    kinds = pd.Series([planned.set_index("id").at[v.place, "type"] for v in plan.visits])
    assert (kinds != "local partenaire").any()


def test_places_stored_with_an_older_kind_are_read_with_today_s(ws: Workspace) -> None:
    places = candidate_places(ws)
    old = places.assign(type=places["type"].replace({STATION: "gare", STOP: "arrêt"}))
    ws.write_layer("places", old, source="test", vintage="")
    again = candidate_places(ws)
    assert list(again["type"]) == list(places["type"])
    assert set(again["type"]) <= set(KINDS)


def test_a_stored_places_layer_does_not_mask_places_generated_later(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    """The team's places are kept and win on their spot; new layers' places are added.

    The demo stores the team's places (a city stade in each QPV, a park, a market). A new
    partner and a new QPV imported afterwards give their candidates, a team's square on a
    QPV's generated heart replaces it, and the plan's notes say where each came from.
    """
    from territory.demo.sources import write_demo_sources

    assert ws.has("places")
    sources = write_demo_sources(tmp_path / "sources")
    partners = sources.partners.read_text(encoding="utf-8-sig").splitlines()
    first = partners[1].split(";")
    first[0], first[6] = "Maison des jeunes Nouvelle", first[6][:-2] + "00"
    sources.partners.write_text("\n".join([*partners, ";".join(first)]) + "\n", encoding="utf-8")
    qpv = gpd.read_file(sources.qpv)
    added = qpv.iloc[[0]].assign(code_qp="QN00099M", lib_qp="Les Jonquilles – Fictif")
    added["geometry"] = added.to_crs(2154).translate(0, -1500).to_crs(4326)
    pd.concat([qpv, added]).to_file(tmp_path / "qpv.geojson", driver="GeoJSON")
    core = ws.read_layer("qpv").set_index("code").loc["QN00001M"].geometry
    heart = qpv_places(ws.read_layer("qpv")).set_index("id").loc["qpv-QN00001M"].geometry
    assert core.contains(heart)
    square = tmp_path / "lieux.csv"
    square.write_text(
        f"Nom;Type;Longitude;Latitude\nSquare du Cœur;parc;{heart.x + 5e-5:.6f};{heart.y:.6f}\n",
        encoding="utf-8",
    )
    before = candidate_places(ws)
    for kind, path in (("partners", sources.partners), ("qpv", tmp_path / "qpv.geojson")):
        assert import_file(ws, kind, path, settings=settings).accepted
    assert import_file(ws, "places", square, settings=settings).accepted == 1
    after = candidate_places(ws).set_index("id")
    names = set(after["nom"])
    assert "Maison des jeunes Nouvelle" in names  # a partner imported after the places
    assert "qpv-QN00099M" in after.index  # a QPV imported after the places
    assert "qpv-QN00001M" not in after.index and "Square du Cœur" in names  # on its spot
    assert set(before.loc[before["id"].str.startswith("lieu-"), "id"]) <= set(after.index)
    assert len(after) == len(before) + 2  # + partner + QPV heart, square for a heart
    plan, _ = plan_week(ws, WEEK, settings=settings, time_limit=1.0)
    note = next(n for n in plan.notes if n.startswith("Lieux candidats"))
    assert "7 de l'équipe" in note and "4 cœur(s) de QPV" in note  # 5 QPV, 1 square
    assert "1 généré(s) au même endroit qu'un lieu de l'équipe" in note
