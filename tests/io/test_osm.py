"""OpenStreetMap extracts as candidate places: .osm XML, OSM GeoJSON, Overpass JSON.

The extracts are written here, small and synthetic (no OSM extract is available
offline), on the communes of a tiny territory of two squares.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from territory import InputFileError
from territory.io.osm import is_osm_file, osm_kind, places_from_osm, read_osm


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["14118", "14327"], "nom": ["Caen", "Hérouville-Saint-Clair"]},
        geometry=[box(-0.42, 49.15, -0.34, 49.20), box(-0.34, 49.19, -0.30, 49.23)],
        crs=4326,
    )


OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
 <node id="1" lat="49.1800" lon="-0.3700">
  <tag k="leisure" v="park"/><tag k="name" v="Parc de la Colline aux Oiseaux"/>
  <tag k="opening_hours" v="Mo-Su 08:00-20:00"/>
 </node>
 <node id="2" lat="49.1810" lon="-0.3710"/>
 <node id="3" lat="49.1820" lon="-0.3710"/>
 <node id="4" lat="49.1820" lon="-0.3690"/>
 <node id="5" lat="49.1805" lon="-0.3705"><tag k="amenity" v="bench"/></node>
 <node id="6" lat="49.2100" lon="-0.3200">
  <tag k="amenity" v="townhall"/><tag k="name" v="Mairie d'Hérouville"/>
 </node>
 <node id="7" lat="48.0000" lon="2.0000"><tag k="shop" v="mall"/><tag k="name" v="Ailleurs"/></node>
 <node id="8" lat="49.1750" lon="-0.4000">
  <tag k="amenity" v="school"/><tag k="name" v="École Jean Moulin"/>
 </node>
 <node id="9" lat="49.1760" lon="-0.4010">
  <tag k="amenity" v="school"/><tag k="isced:level" v="3"/><tag k="name" v="Lycée Malherbe"/>
 </node>
 <node id="10" lat="49.1770" lon="-0.3600">
  <tag k="railway" v="station"/><tag k="name" v="Caen"/><tag k="public_transport" v="station"/>
 </node>
 <node id="11" lat="49.1600" lon="-0.3900"/>
 <node id="12" lat="49.1600" lon="-0.3850"/>
 <way id="20">
  <nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="2"/>
  <tag k="leisure" v="pitch"/><tag k="sport" v="multi"/>
 </way>
 <way id="21"><nd ref="11"/><nd ref="12"/></way>
 <relation id="30"><member type="way" ref="20" role="outer"/>
  <tag k="type" v="multipolygon"/><tag k="amenity" v="marketplace"/>
 </relation>
</osm>
"""


def test_tags_give_french_kinds_or_a_reason() -> None:
    assert osm_kind({"shop": "mall"}) == ("centre commercial", "")
    assert osm_kind({"amenity": "youth_centre"}) == ("maison de quartier / jeunesse", "")
    assert osm_kind({"public_transport": "station"}) == ("gare / pôle d'échanges", "")
    assert osm_kind({"highway": "pedestrian", "area": "yes"}) == ("place publique", "")
    assert osm_kind({"highway": "pedestrian"})[0] is None  # a pedestrian street, not a square
    assert osm_kind({"place": "square"}) == ("place publique", "")
    assert osm_kind({"amenity": "townhall"}) == ("centre-bourg", "")
    assert osm_kind({"leisure": "pitch", "sport": "soccer"}) == ("terrain de sport", "")
    assert osm_kind({"amenity": "bench"}) == (None, "étiquettes non retenues (amenity=bench)")


def test_an_osm_file_is_read_kept_refused_and_clipped(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    path = tmp_path / "extrait.osm"
    path.write_text(OSM, encoding="utf-8")
    assert is_osm_file(path)
    features = read_osm(path)
    # tagged nodes, every way, tagged relations: untagged nodes are the ways' vertices
    assert list(features["osm_id"]) == [
        "node/1",
        "node/5",
        "node/6",
        "node/7",
        "node/8",
        "node/9",
        "node/10",
        "relation/30",
        "way/20",
        "way/21",
    ]
    places, report = places_from_osm(path, communes=communes)
    assert (report.read, report.accepted, report.refused) == (10, 5, 5)
    reasons = {r.row: r.reason for r in report.refusals}
    assert reasons["node/5"] == "étiquettes non retenues (amenity=bench)"
    assert reasons["node/7"] == "hors du territoire (aucune commune)"
    assert reasons["node/8"].startswith("école ou collège")
    assert reasons["way/21"] == "aucune étiquette OSM"
    assert reasons["relation/30"].startswith("géométrie absente")
    kinds = dict(zip(places["id"], places["type"], strict=True))
    assert kinds == {
        "osm-node-1": "parc",
        "osm-node-6": "centre-bourg",
        "osm-node-9": "lycée",
        "osm-node-10": "gare / pôle d'échanges",
        "osm-way-20": "city stade",
    }
    row = places.set_index("id").loc["osm-way-20"]
    assert row["zone"] == "14118" and row["nom"] == "City stade sans nom (way/20)"
    assert box(-0.3710, 49.1810, -0.3690, 49.1820).contains(row.geometry)  # inside the way
    assert places.set_index("id").loc["osm-node-6", "zone"] == "14327"
    assert places.set_index("id").loc["osm-node-1", "horaires"] == "08:00-20:00"  # every day
    assert any("licence ODbL" in note for note in report.notes)
    assert any("1 sans nom" in note for note in report.notes)


def test_osm_geojson_and_overpass_json(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    geojson = tmp_path / "export.geojson"
    geojson.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {  # overpass turbo: tags as properties, polygon
                        "type": "Feature",
                        "id": "way/99",
                        "properties": {"@id": "way/99", "amenity": "marketplace", "name": "Halles"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[-0.38, 49.17], [-0.37, 49.17], [-0.37, 49.18], [-0.38, 49.17]]
                            ],
                        },
                    },
                    {  # osmtogeojson: tags in a "tags" object
                        "type": "Feature",
                        "properties": {"id": "node/5", "tags": {"shop": "mall", "name": "CC"}},
                        "geometry": {"type": "Point", "coordinates": [-0.31, 49.21]},
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    assert is_osm_file(geojson)
    places, report = places_from_osm(geojson, communes=communes)
    assert (report.read, report.accepted) == (2, 2)
    assert list(places["type"]) == ["marché", "centre commercial"]
    assert list(places["zone"]) == ["14118", "14327"]
    overpass = tmp_path / "overpass.json"
    overpass.write_text(
        json.dumps(
            {
                "elements": [
                    {
                        "type": "node",
                        "id": 1,
                        "lat": 49.18,
                        "lon": -0.37,
                        "tags": {"leisure": "park"},
                    },
                    {
                        "type": "way",
                        "id": 2,
                        "center": {"lat": 49.17, "lon": -0.39},
                        "tags": {"leisure": "sports_centre", "name": "Gymnase"},
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    assert is_osm_file(overpass)
    places, report = places_from_osm(overpass, communes=communes)
    assert list(places["id"]) == ["osm-node-1", "osm-way-2"]
    assert list(places["type"]) == ["parc", "terrain de sport"]
    assert places["nom"].iloc[0] == "Parc sans nom (node/1)"


def test_a_team_geojson_is_not_taken_for_osm(tmp_path: Path) -> None:
    path = tmp_path / "lieux.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"nom": "Parc", "type": "parc"},
                        "geometry": {"type": "Point", "coordinates": [-0.37, 49.18]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    assert not is_osm_file(path)


def test_a_broken_osm_file_is_refused_in_french(tmp_path: Path) -> None:
    path = tmp_path / "coupé.osm"
    path.write_text(OSM[:300], encoding="utf-8")
    with pytest.raises(InputFileError, match=r"coupé\.osm illisible"):
        read_osm(path)
